/*
 * buf.h - a growable byte buffer, always NUL-terminated.
 *
 * Used wherever text is assembled (plugin output, protocol frames, log
 * lines) so that no code needs sprintf/strcat into fixed arrays. After an
 * allocation failure the buffer keeps its old content and `oom` is set;
 * every later append is a no-op, so callers can check once at the end.
 */
#ifndef TOCSIN_BUF_H
#define TOCSIN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct tocsin_buf {
    char *data;   /* NUL-terminated content, or NULL while empty and unallocated */
    size_t len;   /* bytes used, without the NUL */
    size_t cap;   /* bytes allocated */
    int oom;      /* set once an allocation failed */
};

#define TOCSIN_BUF_INIT {NULL, 0, 0, 0}

void tocsin_buf_init(struct tocsin_buf *b);
void tocsin_buf_free(struct tocsin_buf *b);

/* Forget the content but keep the allocation. */
void tocsin_buf_reset(struct tocsin_buf *b);

/* Make room for `extra` more bytes. Returns 0, or -1 (and sets oom). */
int tocsin_buf_reserve(struct tocsin_buf *b, size_t extra);

/* Append bytes / a string / formatted text. Return 0 or -1 on oom. */
int tocsin_buf_append(struct tocsin_buf *b, const void *data, size_t n);
int tocsin_buf_puts(struct tocsin_buf *b, const char *s);
int tocsin_buf_putc(struct tocsin_buf *b, char c);
int tocsin_buf_printf(struct tocsin_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int tocsin_buf_vprintf(struct tocsin_buf *b, const char *fmt, va_list ap);

/* The content as a C string ("" when empty); owned by the buffer. */
const char *tocsin_buf_str(const struct tocsin_buf *b);

/* Hand the content to the caller (who frees it) and reset the buffer.
 * Returns a string even when empty, or NULL on oom. */
char *tocsin_buf_steal(struct tocsin_buf *b);

/* Drop the first n bytes (for consumed input). */
void tocsin_buf_consume(struct tocsin_buf *b, size_t n);

#endif
