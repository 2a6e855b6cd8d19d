/*
 * saved-v0.c - blobs of version 0 of the saved formats (the native struct
 * copies that stores of schema 1 kept), built by hand from the layouts of
 * then, for the tests of the readers and of the store's upgrade. They do
 * not use core/alerting/saved.c, so that a change there cannot change
 * what the tests expect.
 */
#include "saved-v0.h"

#include <string.h>

/* A native uint32 length and the bytes, with a NUL counted when `nul`. */
static void v0_str(struct tocsin_buf *b, const char *s, int nul)
{
    uint32_t n = (uint32_t)(strlen(s) + (nul ? 1 : 0));

    tocsin_buf_append(b, &n, sizeof(n));
    tocsin_buf_append(b, s, n);
}

/* The worker encoding of schema 1's time: a native fixed part, then
 * each string as a native uint32 length counting its NUL, and the bytes
 * with the NUL. */
int tocsin_test_v0_alert(struct tocsin_buf *b, const struct tocsin_alert *a)
{
    struct {
        uint32_t kind, severity, state, previous, hard, attempt, max_attempts, flapping;
        int64_t since, problem_since, at;
        uint32_t nlabels;
    } f;
    size_t i;

    memset(&f, 0, sizeof(f));
    f.kind = a->kind;
    f.severity = a->severity;
    f.state = a->state;
    f.previous = a->previous;
    f.hard = (uint32_t)a->hard;
    f.attempt = (uint32_t)a->attempt;
    f.max_attempts = (uint32_t)a->max_attempts;
    f.flapping = (uint32_t)a->flapping;
    f.since = a->since;
    f.problem_since = a->problem_since;
    f.at = a->at;
    f.nlabels = (uint32_t)a->nlabels;
    tocsin_buf_append(b, &f, sizeof(f));
    v0_str(b, a->service, 1);
    v0_str(b, a->host, 1);
    v0_str(b, a->output, 1);
    v0_str(b, a->long_output, 1);
    v0_str(b, a->perfdata, 1);
    v0_str(b, a->incident, 1);
    v0_str(b, a->group_key, 1);
    v0_str(b, a->route, 1);
    v0_str(b, a->link, 1);
    v0_str(b, a->reason, 1);
    for (i = 0; i < a->nlabels; i++) {
        v0_str(b, a->labels[i].key, 1);
        v0_str(b, a->labels[i].value, 1);
    }
    return b->oom ? -1 : 0;
}

/* A native fixed part, then the key, the names told and the four texts,
 * each a native uint32 length and the bytes. */
int tocsin_test_v0_incident(struct tocsin_buf *b, const struct tocsin_saved_incident *inc)
{
    struct {
        int64_t problem_since, next_repeat, downtime_until;
        int32_t state, route, pending, acked;
        uint32_t esc_next, ntold;
    } f;
    size_t i;

    memset(&f, 0, sizeof(f));
    f.problem_since = inc->problem_since;
    f.next_repeat = inc->next_repeat;
    f.downtime_until = inc->downtime_until;
    f.state = inc->state;
    f.route = inc->route;
    f.pending = inc->pending;
    f.acked = inc->acked;
    f.esc_next = inc->esc_next;
    f.ntold = (uint32_t)inc->ntold;
    tocsin_buf_append(b, &f, sizeof(f));
    v0_str(b, inc->key, 0);
    for (i = 0; i < inc->ntold; i++)
        v0_str(b, inc->told[i], 0);
    v0_str(b, inc->ack_author, 0);
    v0_str(b, inc->ack_text, 0);
    v0_str(b, inc->downtime_author, 0);
    v0_str(b, inc->downtime_text, 0);
    return b->oom ? -1 : 0;
}

/* A native copy of {hash, the service state of then, last_change,
 * last_check}, padding zeroed, then the output to the end. */
int tocsin_test_v0_service(struct tocsin_buf *b, const struct tocsin_saved_service *s)
{
    struct {
        uint64_t hash;
        struct {
            uint32_t state, hard_state;
            int32_t is_hard, attempt, checked;
            unsigned char history[21];
            unsigned char hist_count, hist_next;
            int32_t flapping;
            double flap_percent;
        } st;
        int64_t last_change, last_check;
    } f;

    memset(&f, 0, sizeof(f));
    f.hash = s->hash;
    f.st.state = s->st.state;
    f.st.hard_state = s->st.hard_state;
    f.st.is_hard = s->st.is_hard;
    f.st.attempt = s->st.attempt;
    f.st.checked = s->st.checked;
    memcpy(f.st.history, s->st.history, sizeof(f.st.history));
    f.st.hist_count = s->st.hist_count;
    f.st.hist_next = s->st.hist_next;
    f.st.flapping = s->st.flapping;
    f.st.flap_percent = s->st.flap_percent;
    f.last_change = s->last_change;
    f.last_check = s->last_check;
    tocsin_buf_append(b, &f, sizeof(f));
    tocsin_buf_append(b, s->output, strlen(s->output));
    return b->oom ? -1 : 0;
}
