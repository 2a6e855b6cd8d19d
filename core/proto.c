/*
 * proto.c - frames between the core and its workers. See proto.h.
 */
#include "proto.h"

#include <string.h>

int tocsin_frame_put(struct tocsin_buf *out, uint32_t type,
                     const void *fixed, size_t fixed_len,
                     const void *tail, size_t tail_len)
{
    struct tocsin_frame_hdr h;
    size_t total = sizeof(h) + fixed_len + tail_len;

    if (total > TOCSIN_FRAME_MAX)
        return -1;
    h.len = (uint32_t)total;
    h.type = type;
    if (tocsin_buf_reserve(out, total) < 0)
        return -1;
    tocsin_buf_append(out, &h, sizeof(h));
    tocsin_buf_append(out, fixed, fixed_len);
    if (tail_len)
        tocsin_buf_append(out, tail, tail_len);
    return 0;
}

long tocsin_frame_next(const struct tocsin_buf *in, size_t off, uint32_t *type,
                       const char **payload, size_t *payload_len)
{
    struct tocsin_frame_hdr h;
    size_t left = in->len > off ? in->len - off : 0;

    if (left < sizeof(h))
        return 0;
    memcpy(&h, in->data + off, sizeof(h));
    if (h.len < sizeof(h) || h.len > TOCSIN_FRAME_MAX)
        return -1;
    if (left < h.len)
        return 0;
    *type = h.type;
    *payload = in->data + off + sizeof(h);
    *payload_len = h.len - sizeof(h);
    return (long)h.len;
}

int tocsin_frame_put_str(struct tocsin_buf *out, const char *s, size_t len)
{
    uint32_t n = (uint32_t)len;

    if (tocsin_buf_append(out, &n, sizeof(n)) < 0)
        return -1;
    return tocsin_buf_append(out, s, len);
}

int tocsin_frame_get_str(const char **p, size_t *left, const char **s, size_t *len)
{
    uint32_t n;

    if (*left < sizeof(n))
        return -1;
    memcpy(&n, *p, sizeof(n));
    if (*left - sizeof(n) < n)
        return -1;
    *s = *p + sizeof(n);
    *len = n;
    *p += sizeof(n) + n;
    *left -= sizeof(n) + n;
    return 0;
}
