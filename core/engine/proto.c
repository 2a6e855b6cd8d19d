/*
 * proto.c - frames between the core and its workers. See proto.h.
 */
#include "engine/proto.h"

#include <stdlib.h>
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

/* Fixed-size part of an encoded alert. */
struct alert_fixed {
    uint32_t kind, severity, state, previous, hard, attempt, max_attempts, flapping;
    int64_t since, problem_since, at;
    uint32_t nlabels;
    uint32_t priority_rank;
};

/* The fewest bytes one encoded label takes: two empty strings, each a
 * length and a NUL. */
#define LABEL_MIN_BYTES (2 * (sizeof(uint32_t) + 1))

/* A string with its terminating NUL, so that decoding can point at it. */
static int put_cstr(struct tocsin_buf *out, const char *s)
{
    if (!s)
        s = "";
    return tocsin_frame_put_str(out, s, strlen(s) + 1);
}

static int get_cstr(const char **p, size_t *left, const char **s)
{
    size_t len;

    if (tocsin_frame_get_str(p, left, s, &len) < 0 || len == 0 || (*s)[len - 1] != '\0')
        return -1;
    return 0;
}

int tocsin_alert_encode(struct tocsin_buf *out, const struct tocsin_alert *a)
{
    struct alert_fixed f;
    size_t i;

    memset(&f, 0, sizeof(f));
    f.kind = (uint32_t)a->kind;
    f.severity = (uint32_t)a->severity;
    f.state = (uint32_t)a->state;
    f.previous = (uint32_t)a->previous;
    f.hard = (uint32_t)a->hard;
    f.attempt = (uint32_t)a->attempt;
    f.max_attempts = (uint32_t)a->max_attempts;
    f.flapping = (uint32_t)a->flapping;
    f.since = (int64_t)a->since;
    f.problem_since = (int64_t)a->problem_since;
    f.at = (int64_t)a->at;
    f.nlabels = (uint32_t)a->nlabels;
    f.priority_rank = (uint32_t)a->priority_rank;
    if (tocsin_buf_append(out, &f, sizeof(f)) < 0 ||
        put_cstr(out, a->service) < 0 || put_cstr(out, a->host) < 0 ||
        put_cstr(out, a->output) < 0 || put_cstr(out, a->long_output) < 0 ||
        put_cstr(out, a->perfdata) < 0 || put_cstr(out, a->incident) < 0 ||
        put_cstr(out, a->group_key) < 0 || put_cstr(out, a->route) < 0 ||
        put_cstr(out, a->link) < 0 || put_cstr(out, a->reason) < 0 ||
        put_cstr(out, a->priority) < 0 || put_cstr(out, a->assignee) < 0)
        return -1;
    for (i = 0; i < a->nlabels; i++)
        if (put_cstr(out, a->labels[i].key) < 0 || put_cstr(out, a->labels[i].value) < 0)
            return -1;
    return 0;
}

int tocsin_alert_decode(const char **p, size_t *left, struct tocsin_alert *a)
{
    struct alert_fixed f;
    struct tocsin_label *labels = NULL;
    uint32_t i;

    memset(a, 0, sizeof(*a));
    if (*left < sizeof(f))
        return -1;
    memcpy(&f, *p, sizeof(f));
    *p += sizeof(f);
    *left -= sizeof(f);
    if (f.kind > TOCSIN_ALERT_KIND_MAX || f.severity > TOCSIN_SEVERITY_CRITICAL ||
        f.state > TOCSIN_UNKNOWN || f.previous > TOCSIN_UNKNOWN)
        return -1;
    a->kind = (enum tocsin_alert_kind)f.kind;
    a->severity = (enum tocsin_severity)f.severity;
    a->state = (enum tocsin_state)f.state;
    a->previous = (enum tocsin_state)f.previous;
    a->hard = (int)f.hard;
    a->attempt = (int)f.attempt;
    a->max_attempts = (int)f.max_attempts;
    a->flapping = (int)f.flapping;
    a->since = (time_t)f.since;
    a->problem_since = (time_t)f.problem_since;
    a->at = (time_t)f.at;
    a->priority_rank = (int)f.priority_rank;
    if (get_cstr(p, left, &a->service) < 0 || get_cstr(p, left, &a->host) < 0 ||
        get_cstr(p, left, &a->output) < 0 || get_cstr(p, left, &a->long_output) < 0 ||
        get_cstr(p, left, &a->perfdata) < 0 || get_cstr(p, left, &a->incident) < 0 ||
        get_cstr(p, left, &a->group_key) < 0 || get_cstr(p, left, &a->route) < 0 ||
        get_cstr(p, left, &a->link) < 0 || get_cstr(p, left, &a->reason) < 0 ||
        get_cstr(p, left, &a->priority) < 0 || get_cstr(p, left, &a->assignee) < 0)
        return -1;
    /* A count the remaining bytes cannot hold is damage: refuse it before
     * allocating for it. */
    if (f.nlabels > *left / LABEL_MIN_BYTES)
        return -1;
    if (f.nlabels) {
        labels = calloc(f.nlabels, sizeof(*labels));
        if (!labels)
            return -1;
        for (i = 0; i < f.nlabels; i++)
            if (get_cstr(p, left, &labels[i].key) < 0 ||
                get_cstr(p, left, &labels[i].value) < 0) {
                free(labels);
                return -1;
            }
    }
    a->labels = labels;
    a->nlabels = f.nlabels;
    return 0;
}
