/*
 * buf.c - growable byte buffer. See buf.h.
 */
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tocsin_buf_init(struct tocsin_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
}

void tocsin_buf_free(struct tocsin_buf *b)
{
    free(b->data);
    tocsin_buf_init(b);
}

void tocsin_buf_reset(struct tocsin_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int tocsin_buf_reserve(struct tocsin_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->oom)
        return -1;
    if (extra > (size_t)-1 / 2 - b->len - 1)
        goto fail;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p)
        goto fail;
    b->data = p;
    b->cap = cap;
    return 0;
fail:
    b->oom = 1;
    return -1;
}

int tocsin_buf_append(struct tocsin_buf *b, const void *data, size_t n)
{
    if (tocsin_buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int tocsin_buf_puts(struct tocsin_buf *b, const char *s)
{
    return tocsin_buf_append(b, s, strlen(s));
}

int tocsin_buf_putc(struct tocsin_buf *b, char c)
{
    return tocsin_buf_append(b, &c, 1);
}

int tocsin_buf_vprintf(struct tocsin_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    if (tocsin_buf_reserve(b, 64) < 0)
        return -1;
    va_copy(cp, ap);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
    va_end(cp);
    if (n < 0)
        return -1;
    if ((size_t)n >= b->cap - b->len) {
        if (tocsin_buf_reserve(b, (size_t)n) < 0)
            return -1;
        va_copy(cp, ap);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
        va_end(cp);
        if (n < 0)
            return -1;
    }
    b->len += (size_t)n;
    return 0;
}

int tocsin_buf_printf(struct tocsin_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = tocsin_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *tocsin_buf_str(const struct tocsin_buf *b)
{
    return b->data ? b->data : "";
}

char *tocsin_buf_steal(struct tocsin_buf *b)
{
    char *s;

    if (b->oom) {
        tocsin_buf_free(b);
        return NULL;
    }
    if (!b->data) {
        if (tocsin_buf_reserve(b, 0) < 0)
            return NULL;
        b->data[0] = '\0';
    }
    s = b->data;
    tocsin_buf_init(b);
    return s;
}

void tocsin_buf_consume(struct tocsin_buf *b, size_t n)
{
    if (n >= b->len) {
        tocsin_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}
