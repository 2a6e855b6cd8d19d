/*
 * tailer.h - follow a log file across checks: the read position kept
 * between checks, a rotation by rename (the rest of the old file is read
 * through the descriptor kept open, then the new file from its start), a
 * truncation in place (copytruncate: read again from the start), and a
 * bound on the bytes read per check. The fail2ban-log and log checks
 * share it. A file compressed away by logrotate is simply gone: what the
 * descriptor still holds is read, nothing more.
 *
 * Lines are handed to a callback one at a time, without their newline,
 * from one buffer of TOCSIN_TAIL_LINE_MAX bytes: memory does not depend
 * on the size of the file or of its lines. A longer line is handed over
 * once, cut to its first TOCSIN_TAIL_LINE_MAX bytes, and the rest of it
 * is skipped.
 */
#ifndef TOCSIN_PLUGIN_TAILER_H
#define TOCSIN_PLUGIN_TAILER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tocsin-plugin.h"

/* Longest line handed over whole. */
#define TOCSIN_TAIL_LINE_MAX 65536

/* Bytes at the start of the file remembered to recognise a file that was
 * truncated and written again before a check saw it shorter. */
#define TOCSIN_TAIL_HEAD 64

/* Takes one line (len bytes, no newline, not NUL-terminated); `cut` is 1
 * when the line was longer than TOCSIN_TAIL_LINE_MAX and this is its
 * start only. */
typedef void (*tocsin_tail_line_fn)(void *ctx, const char *line, size_t len,
                                    int cut);

/* Told of each buffer of bytes read before its lines are handed over:
 * every line handed over until the next call lies inside the `len` bytes
 * at `buf`, so that a caller may search the whole buffer at once rather
 * than line by line. */
typedef void (*tocsin_tail_block_fn)(void *ctx, const char *buf, size_t len);

/* A followed file, kept between checks. */
struct tocsin_tailer {
    char *path;                /* owned */
    int fd;                    /* the file as last opened, or -1 */
    dev_t dev;                 /* identity of the file behind fd */
    ino_t ino;
    off_t offset;              /* just past the last complete line read */
    int in_long_line;          /* offset is inside an over-long line */
    unsigned char head[TOCSIN_TAIL_HEAD]; /* first bytes of the file */
    size_t head_len;
    tocsin_tail_block_fn block; /* optional, set by the caller; gets the
                                   ctx of tocsin_tailer_read */
};

/* What one read did, for long output. */
struct tocsin_tail_read {
    uint64_t bytes;            /* bytes read */
    uint64_t cut_lines;        /* lines longer than TOCSIN_TAIL_LINE_MAX */
    int rotated;               /* the name pointed to another file */
    int truncated;             /* the same file started again */
    int started_late;          /* the first read began past the start */
    off_t skipped;             /* bytes left unread to honour max_read */
    int late;                  /* stopped at the deadline, at a line end */
};

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

/* Start following `path` (copied). Nothing is opened yet. Returns 0, or
 * -1 on out of memory. */
int tocsin_tailer_init(struct tocsin_tailer *t, const char *path);

/* Close the file and free what `t` owns. */
void tocsin_tailer_free(struct tocsin_tailer *t);

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/*
 * Hand `fn` every complete line appended since the last call, following
 * a rotation, reading at most `max_read` bytes (the newest are kept: on
 * the first call the last `max_read` bytes of the file, later the bytes
 * appended last). A last line without its newline is left for the next
 * call, except at the end of a file renamed away. With `chk`, stops at a
 * line end once its deadline has passed (rd->late). Fills *rd. Returns 0,
 * or -1 with "cannot open PATH: why", "PATH is not a regular file" or
 * "cannot read PATH: why" in err. Costs one buffer of
 * TOCSIN_TAIL_LINE_MAX bytes and the bytes read.
 */
int tocsin_tailer_read(struct tocsin_tailer *t, off_t max_read,
                       const struct tocsin_check *chk, tocsin_tail_line_fn fn,
                       void *ctx, struct tocsin_tail_read *rd, char *err,
                       size_t errlen);

/* Long output lines telling what `rd` says happened (rotation, truncation,
 * bytes skipped for max_read), as the plugins that use a tailer word it. */
void tocsin_tailer_report(const struct tocsin_tailer *t, off_t max_read,
                          const struct tocsin_tail_read *rd,
                          struct tocsin_check *chk);

#endif
