/*
 * tailer.c - follow a rotated log file across checks (see tailer.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tailer.h"

int tocsin_tailer_init(struct tocsin_tailer *t, const char *path)
{
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    t->path = strdup(path);
    return t->path ? 0 : -1;
}

void tocsin_tailer_free(struct tocsin_tailer *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    free(t->path);
    t->path = NULL;
}

/* pread() all of `len` bytes unless the file ends first. Returns the
 * bytes read, or -1 with errno. */
static ssize_t tail_pread(int fd, char *buf, size_t len, off_t at)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, at + (off_t)got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/*
 * Hand over the complete lines of bytes [start, stop) of `fd`. With
 * `mid_line`, `start` may fall inside a line: the bytes up to the first
 * newline are skipped. With `final` (a renamed file that will not grow)
 * a last line without a newline is taken too. *in_long_line says the
 * span ended inside an over-long line. Returns the offset just past the
 * last byte consumed, or -1 with errno on a read error.
 */
static off_t tail_span(int fd, off_t start, off_t stop, int mid_line,
                       int final, const struct tocsin_check *chk,
                       tocsin_tail_block_fn block, tocsin_tail_line_fn fn, void *ctx,
                       struct tocsin_tail_read *rd, int *in_long_line)
{
    char *buf;
    size_t fill = 0;
    off_t pos = start;             /* file offset of buf[0] */
    int skipping = mid_line;
    off_t ret = -1;

    buf = malloc(TOCSIN_TAIL_LINE_MAX);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    while (pos + (off_t)fill < stop) {
        size_t want = TOCSIN_TAIL_LINE_MAX - fill, ls = 0, i;
        ssize_t n;
        char *nl;

        if (chk && tocsin_check_remaining(chk) <= 0) {
            rd->late = 1;
            break;
        }
        if ((off_t)want > stop - pos - (off_t)fill)
            want = (size_t)(stop - pos - (off_t)fill);
        n = tail_pread(fd, buf + fill, want, pos + (off_t)fill);
        if (n < 0)
            goto out;
        if (n == 0)
            break;                 /* the file is shorter than it was */
        rd->bytes += (uint64_t)n;
        i = fill;
        fill += (size_t)n;
        if (block)
            block(ctx, buf, fill);
        while (i < fill && (nl = memchr(buf + i, '\n', fill - i)) != NULL) {
            i = (size_t)(nl - buf);
            if (!skipping)
                fn(ctx, buf + ls, i - ls, 0);
            skipping = 0;
            ls = ++i;
        }
        if (ls == 0 && fill == TOCSIN_TAIL_LINE_MAX) {
            /* One line fills the buffer: hand over its start only. */
            if (!skipping) {
                rd->cut_lines++;
                fn(ctx, buf, fill, 1);
            }
            skipping = 1;
            ls = fill;
        }
        memmove(buf, buf + ls, fill - ls);
        fill -= ls;
        pos += (off_t)ls;
    }
    if (final && fill > 0 && !skipping && !rd->late) {
        if (block)
            block(ctx, buf, fill);
        fn(ctx, buf, fill, 0);
        pos += (off_t)fill;
        fill = 0;
    }
    if (skipping)
        pos += (off_t)fill;        /* inside an over-long line: go on past it */
    *in_long_line = skipping;
    ret = pos;
out:
    free(buf);
    return ret;
}

/* 1 if `at` is inside a line of `fd` (the byte before it is not a
 * newline), so that reading from there must skip to the next line. */
static int tail_mid_line(int fd, off_t at)
{
    char c;

    return at > 0 && (tail_pread(fd, &c, 1, at - 1) != 1 || c != '\n');
}

/* Remember the first bytes of the file, to recognise it later. */
static void tail_remember_head(struct tocsin_tailer *t, off_t size)
{
    size_t want = size < (off_t)TOCSIN_TAIL_HEAD ? (size_t)size : TOCSIN_TAIL_HEAD;
    ssize_t n;

    if (want <= t->head_len)
        return;
    n = tail_pread(t->fd, (char *)t->head, want, 0);
    t->head_len = n > 0 ? (size_t)n : 0;
}

/* 1 if the file no longer starts with the bytes remembered: it was
 * truncated and written again since the last read. */
static int tail_head_changed(const struct tocsin_tailer *t, off_t size)
{
    unsigned char now[TOCSIN_TAIL_HEAD];
    size_t want = t->head_len;
    ssize_t n;

    if (want == 0)
        return 0;
    if ((off_t)want > size)
        return 1;
    n = tail_pread(t->fd, (char *)now, want, 0);
    return n != (ssize_t)want || memcmp(now, t->head, want) != 0;
}

int tocsin_tailer_read(struct tocsin_tailer *t, off_t max_read,
                       const struct tocsin_check *chk, tocsin_tail_line_fn fn,
                       void *ctx, struct tocsin_tail_read *rd, char *err,
                       size_t errlen)
{
    struct stat st, old;
    off_t budget = max_read, start, got;
    int nfd, fresh, mid_line, long_line = 0, e;

    memset(rd, 0, sizeof(*rd));
    nfd = open(t->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (nfd < 0) {
        e = errno;
        snprintf(err, errlen, "cannot open %s: %s", t->path, strerror(e));
        return -1;
    }
    if (fstat(nfd, &st) < 0) {
        e = errno;
        close(nfd);
        snprintf(err, errlen, "cannot stat %s: %s", t->path, strerror(e));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(nfd);
        snprintf(err, errlen, "%s is not a regular file", t->path);
        return -1;
    }

    fresh = t->fd < 0;
    if (!fresh && (st.st_dev != t->dev || st.st_ino != t->ino)) {
        /* Renamed away: finish the old file through the descriptor kept,
         * with what the new file leaves of the budget. */
        off_t room = budget - (st.st_size < budget ? st.st_size : budget);

        rd->rotated = 1;
        if (fstat(t->fd, &old) == 0 && old.st_size > t->offset) {
            start = t->offset;
            mid_line = t->in_long_line;
            if (old.st_size - start > room) {
                rd->skipped += old.st_size - room - start;
                start = old.st_size - room;
                mid_line = tail_mid_line(t->fd, start);
            }
            if (start < old.st_size) {
                got = tail_span(t->fd, start, old.st_size, mid_line, 1, chk,
                                t->block, fn, ctx, rd, &long_line);
                if (got > start)
                    budget -= got - start;
            }
        }
        close(t->fd);
        t->fd = -1;
    }
    if (t->fd >= 0) {
        close(nfd);
        if (st.st_size < t->offset || tail_head_changed(t, st.st_size)) {
            rd->truncated = 1;
            t->offset = 0;
            t->head_len = 0;
            t->in_long_line = 0;
        }
    } else {
        t->fd = nfd;
        t->dev = st.st_dev;
        t->ino = st.st_ino;
        t->offset = 0;
        t->head_len = 0;
        t->in_long_line = 0;
    }

    start = t->offset;
    mid_line = t->in_long_line;
    if (st.st_size - start > budget) {
        if (fresh)
            rd->started_late = 1;
        else
            rd->skipped += st.st_size - budget - start;
        start = st.st_size - budget;
        mid_line = tail_mid_line(t->fd, start);
    }
    if (!rd->late) {
        got = tail_span(t->fd, start, st.st_size, mid_line, 0, chk, t->block,
                        fn, ctx, rd, &long_line);
        if (got < 0) {
            e = errno;
            snprintf(err, errlen, "cannot read %s: %s", t->path, strerror(e));
            return -1;
        }
        t->offset = got;
        t->in_long_line = long_line;
    }
    tail_remember_head(t, st.st_size);
    return 0;
}

void tocsin_tailer_report(const struct tocsin_tailer *t, off_t max_read,
                          const struct tocsin_tail_read *rd,
                          struct tocsin_check *chk)
{
    if (rd->rotated)
        tocsin_check_long(chk, "%s was rotated (renamed): read the rest of "
                          "the old file, then the new one from its start",
                          t->path);
    if (rd->truncated)
        tocsin_check_long(chk, "%s was truncated (copytruncate): read it "
                          "again from its start", t->path);
    if (rd->started_late)
        tocsin_check_long(chk, "%s is larger than max_read (%lld bytes): "
                          "read its last %lld bytes only; older events in the "
                          "window were not counted", t->path,
                          (long long)max_read, (long long)max_read);
    else if (rd->skipped > 0)
        tocsin_check_long(chk, "%lld bytes appended to %s since the last "
                          "check were skipped (more than max_read, %lld "
                          "bytes); events in them were not counted",
                          (long long)rd->skipped, t->path,
                          (long long)max_read);
}
