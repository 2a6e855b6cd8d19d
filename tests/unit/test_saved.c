/*
 * test_saved.c - the formats the store keeps (core/alerting/saved.c):
 * alerts, incidents and service states come back with every field; blobs
 * of version 0 (the native struct copies of schema-1 stores, built here
 * by hand) are upgraded; an unknown version, a blob of another kind,
 * every truncation and a damaged length are refused without a crash.
 *
 * Bytes under test are copied into an allocation of exactly their size,
 * so that a read past the end shows under AddressSanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alerting/saved.h"
#include "lib/buf.h"
#include "saved-v0.h"

/* A string longer than any the daemon writes (64 KiB and more). */
#define LONG_LEN 70000

static char *long_string(char fill)
{
    char *s = malloc(LONG_LEN + 1);

    assert_non_null(s);
    memset(s, fill, LONG_LEN);
    s[LONG_LEN] = '\0';
    return s;
}

/* A copy of `len` bytes in an allocation of exactly that size. */
static void *exact_copy(const void *p, size_t len)
{
    void *q = malloc(len ? len : 1);

    assert_non_null(q);
    if (len)
        memcpy(q, p, len);
    return q;
}

static void assert_str(const char *got, const char *want)
{
    assert_non_null(got);
    assert_string_equal(got, want ? want : "");
}

/* ------------------------------------------------------------------ */
/* Samples                                                             */
/* ------------------------------------------------------------------ */

static const struct tocsin_label sample_labels[] = {
    { "team", "dba" },
    { "", "" },
    { "component", "database" },
};

static struct tocsin_alert sample_alert(const char *long_text)
{
    struct tocsin_alert a;

    memset(&a, 0, sizeof(a));
    a.service = "db-main";
    a.host = "db1.example.net";
    a.state = TOCSIN_CRITICAL;
    a.previous = TOCSIN_WARNING;
    a.attempt = INT32_MAX;
    a.max_attempts = INT32_MIN;
    a.output = "CRITICAL - replication lag 300s";
    a.long_output = long_text;
    a.perfdata = "lag=300s;60;120";
    a.since = (time_t)INT64_MIN;
    a.flapping = 1;
    a.labels = sample_labels;
    a.nlabels = sizeof(sample_labels) / sizeof(sample_labels[0]);
    a.kind = TOCSIN_ALERT_ESCALATION;
    a.severity = TOCSIN_SEVERITY_CRITICAL;
    a.hard = 1;
    a.problem_since = (time_t)INT64_MAX;
    a.at = 1700000000;
    a.incident = "db-main-1700000000";
    a.group_key = "";
    a.route = "databases";
    a.link = "https://wiki.example.net/db";
    a.reason = "escalation after 30m";
    a.priority = "P1";
    a.priority_rank = 1;
    a.assignee = "bob";
    return a;
}

static void assert_alert_equal(const struct tocsin_alert *got, const struct tocsin_alert *want)
{
    size_t i;

    assert_int_equal(got->kind, want->kind);
    assert_int_equal(got->severity, want->severity);
    assert_int_equal(got->state, want->state);
    assert_int_equal(got->previous, want->previous);
    assert_int_equal(got->hard, want->hard != 0);
    assert_int_equal(got->flapping, want->flapping != 0);
    assert_int_equal(got->attempt, want->attempt);
    assert_int_equal(got->max_attempts, want->max_attempts);
    assert_true((int64_t)got->since == (int64_t)want->since);
    assert_true((int64_t)got->problem_since == (int64_t)want->problem_since);
    assert_true((int64_t)got->at == (int64_t)want->at);
    assert_str(got->service, want->service);
    assert_str(got->host, want->host);
    assert_str(got->output, want->output);
    assert_str(got->long_output, want->long_output);
    assert_str(got->perfdata, want->perfdata);
    assert_str(got->incident, want->incident);
    assert_str(got->group_key, want->group_key);
    assert_str(got->route, want->route);
    assert_str(got->link, want->link);
    assert_str(got->reason, want->reason);
    assert_str(got->priority, want->priority);
    assert_int_equal(got->priority_rank, want->priority_rank);
    assert_str(got->assignee, want->assignee);
    assert_int_equal(got->nlabels, want->nlabels);
    for (i = 0; i < want->nlabels; i++) {
        assert_str(got->labels[i].key, want->labels[i].key);
        assert_str(got->labels[i].value, want->labels[i].value);
    }
}

static const char *sample_told[] = { "email", "", "pagerduty" };

static struct tocsin_saved_incident sample_incident(const char *long_text)
{
    struct tocsin_saved_incident inc;

    memset(&inc, 0, sizeof(inc));
    inc.problem_since = INT64_MIN;
    inc.next_repeat = INT64_MAX;
    inc.downtime_until = 1700003600;
    inc.state = TOCSIN_UNKNOWN;
    inc.route = INT32_MAX;
    inc.pending = 1;
    inc.acked = 1;
    inc.esc_next = UINT32_MAX;
    inc.key = "web-1700000000";
    inc.told = sample_told;
    inc.ntold = 3;
    inc.ack_author = "ops";
    inc.ack_text = long_text;
    inc.downtime_author = "";
    inc.downtime_text = "kernel upgrade";
    inc.ack_at = INT64_MAX;
    inc.respond_breaches = 1;
    inc.resolve_breaches = UINT32_MAX;
    inc.assignee = "carol";
    return inc;
}

static void assert_incident_equal(const struct tocsin_saved_incident *got,
                                  const struct tocsin_saved_incident *want)
{
    size_t i;

    assert_true(got->problem_since == want->problem_since);
    assert_true(got->next_repeat == want->next_repeat);
    assert_true(got->downtime_until == want->downtime_until);
    assert_int_equal(got->state, want->state);
    assert_int_equal(got->route, want->route);
    assert_int_equal(got->pending, want->pending != 0);
    assert_int_equal(got->acked, want->acked != 0);
    assert_int_equal(got->esc_next, want->esc_next);
    assert_str(got->key, want->key);
    assert_int_equal(got->ntold, want->ntold);
    for (i = 0; i < want->ntold; i++)
        assert_str(got->told[i], want->told[i]);
    assert_str(got->ack_author, want->ack_author);
    assert_str(got->ack_text, want->ack_text);
    assert_str(got->downtime_author, want->downtime_author);
    assert_str(got->downtime_text, want->downtime_text);
    assert_true(got->ack_at == want->ack_at);
    assert_int_equal(got->respond_breaches, want->respond_breaches);
    assert_int_equal(got->resolve_breaches, want->resolve_breaches);
    assert_str(got->assignee, want->assignee);
}

static struct tocsin_saved_service sample_service(const char *long_text)
{
    struct tocsin_saved_service s;
    size_t i;

    memset(&s, 0, sizeof(s));
    s.hash = UINT64_MAX;
    s.st.state = TOCSIN_WARNING;
    s.st.hard_state = TOCSIN_CRITICAL;
    s.st.is_hard = 1;
    s.st.attempt = INT32_MIN;
    s.st.checked = 1;
    for (i = 0; i < TOCSIN_FLAP_HISTORY; i++)
        s.st.history[i] = (unsigned char)(i % 4);
    s.st.hist_count = TOCSIN_FLAP_HISTORY;
    s.st.hist_next = TOCSIN_FLAP_HISTORY - 1;
    s.st.flapping = 1;
    s.st.flap_percent = 37.25;
    s.st.problem_since_ms = INT64_MAX;
    s.last_change = INT64_MIN;
    s.last_check = INT64_MAX;
    s.output = long_text;
    return s;
}

static void assert_service_equal(const struct tocsin_saved_service *got,
                                 const struct tocsin_saved_service *want)
{
    assert_true(got->hash == want->hash);
    assert_int_equal(got->st.state, want->st.state);
    assert_int_equal(got->st.hard_state, want->st.hard_state);
    assert_int_equal(got->st.is_hard, want->st.is_hard != 0);
    assert_int_equal(got->st.attempt, want->st.attempt);
    assert_int_equal(got->st.checked, want->st.checked != 0);
    assert_memory_equal(got->st.history, want->st.history, TOCSIN_FLAP_HISTORY);
    assert_int_equal(got->st.hist_count, want->st.hist_count);
    assert_int_equal(got->st.hist_next, want->st.hist_next);
    assert_int_equal(got->st.flapping, want->st.flapping != 0);
    assert_true(got->st.flap_percent == want->st.flap_percent);
    assert_true(got->st.problem_since_ms == want->st.problem_since_ms);
    assert_true(got->last_change == want->last_change);
    assert_true(got->last_check == want->last_check);
    assert_str(got->output, want->output);
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */
/* ------------------------------------------------------------------ */

static void alert_round_trip_every_field(void **state)
{
    char *text = long_string('x');
    struct tocsin_alert a = sample_alert(text);
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    struct tocsin_saved_alert sa;
    void *blob;

    (void)state;
    assert_int_equal(tocsin_saved_alert_encode(&b, &a, 1767600000), 0);
    assert_int_equal(((unsigned char *)b.data)[0], TOCSIN_SAVED_ALERT);
    assert_int_equal(((unsigned char *)b.data)[1], TOCSIN_SAVED_ALERT_VERSION);
    blob = exact_copy(b.data, b.len);
    assert_int_equal(tocsin_saved_alert_decode(blob, b.len, "test", &sa), 0);
    free(blob); /* the record owns its strings */
    assert_alert_equal(&sa.alert, &a);
    assert_int_equal(sa.deferred_until, 1767600000);
    tocsin_saved_alert_free(&sa);
    tocsin_buf_free(&b);
    free(text);
}

static void alert_round_trip_null_and_empty(void **state)
{
    struct tocsin_alert a;
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    struct tocsin_saved_alert sa;

    (void)state;
    memset(&a, 0, sizeof(a));    /* every string NULL, no labels, all zero */
    a.output = "";
    assert_int_equal(tocsin_saved_alert_encode(&b, &a, 0), 0);
    assert_int_equal(tocsin_saved_alert_decode(b.data, b.len, "test", &sa), 0);
    assert_alert_equal(&sa.alert, &a);
    assert_int_equal(sa.alert.nlabels, 0);
    tocsin_saved_alert_free(&sa);
    tocsin_buf_free(&b);
}

static void incident_round_trip_every_field(void **state)
{
    char *text = long_string('a');
    struct tocsin_saved_incident inc = sample_incident(text), got;
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    void *blob;

    (void)state;
    assert_int_equal(tocsin_saved_incident_encode(&b, &inc), 0);
    assert_int_equal(((unsigned char *)b.data)[0], TOCSIN_SAVED_INCIDENT);
    blob = exact_copy(b.data, b.len);
    assert_int_equal(tocsin_saved_incident_decode(blob, b.len, "test", &got), 0);
    free(blob);
    assert_incident_equal(&got, &inc);
    tocsin_saved_incident_free(&got);
    tocsin_buf_free(&b);
    free(text);
}

static void incident_round_trip_downtime_only(void **state)
{
    struct tocsin_saved_incident inc, got;
    struct tocsin_buf b = TOCSIN_BUF_INIT;

    (void)state;
    memset(&inc, 0, sizeof(inc)); /* no incident open, NULL strings */
    inc.route = -1;
    inc.downtime_until = 1;
    inc.key = "";
    assert_int_equal(tocsin_saved_incident_encode(&b, &inc), 0);
    assert_int_equal(tocsin_saved_incident_decode(b.data, b.len, "test", &got), 0);
    assert_incident_equal(&got, &inc);
    assert_int_equal(got.ntold, 0);
    tocsin_saved_incident_free(&got);
    tocsin_buf_free(&b);
}

static void service_round_trip_every_field(void **state)
{
    char *text = long_string('o');
    struct tocsin_saved_service s = sample_service(text), got;
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    void *blob;

    (void)state;
    assert_int_equal(tocsin_saved_service_encode(&b, &s), 0);
    assert_int_equal(((unsigned char *)b.data)[0], TOCSIN_SAVED_SERVICE);
    blob = exact_copy(b.data, b.len);
    assert_int_equal(tocsin_saved_service_decode(blob, b.len, "test", &got), 0);
    free(blob);
    assert_service_equal(&got, &s);
    tocsin_saved_service_free(&got);
    tocsin_buf_free(&b);
    free(text);
}

static void service_round_trip_empty_output(void **state)
{
    struct tocsin_saved_service s, got;
    struct tocsin_buf b = TOCSIN_BUF_INIT;

    (void)state;
    memset(&s, 0, sizeof(s));
    s.output = "";
    assert_int_equal(tocsin_saved_service_encode(&b, &s), 0);
    assert_int_equal(tocsin_saved_service_decode(b.data, b.len, "test", &got), 0);
    assert_service_equal(&got, &s);
    tocsin_saved_service_free(&got);
    tocsin_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Version 0: the native layouts of schema 1 (built in saved-v0.c)     */
/* ------------------------------------------------------------------ */

static void v0_alert_is_upgraded(void **state)
{
    char *text = long_string('l');
    struct tocsin_alert a = sample_alert(text);
    struct tocsin_buf old = TOCSIN_BUF_INIT, cur = TOCSIN_BUF_INIT;
    struct tocsin_saved_alert sa;
    void *blob;

    (void)state;
    a.group_key = "databases"; /* every string of a v0 alert is set */
    a.priority = a.assignee = ""; /* but not the priority, which it did not keep */
    a.priority_rank = 0;
    assert_int_equal(tocsin_test_v0_alert(&old, &a), 0);
    blob = exact_copy(old.data, old.len);
    assert_int_equal(tocsin_saved_upgrade(TOCSIN_SAVED_ALERT, blob, old.len, "test", &cur), 0);
    free(blob);
    assert_int_equal(((unsigned char *)cur.data)[1], TOCSIN_SAVED_ALERT_VERSION);
    assert_int_equal(tocsin_saved_alert_decode(cur.data, cur.len, "test", &sa), 0);
    assert_alert_equal(&sa.alert, &a);
    tocsin_saved_alert_free(&sa);
    /* A current blob is no version 0: the upgrade refuses it. */
    tocsin_buf_reset(&old);
    assert_int_equal(tocsin_saved_upgrade(TOCSIN_SAVED_ALERT, cur.data, cur.len, "test", &old),
                     1);
    assert_int_equal(old.len, 0);
    tocsin_buf_free(&old);
    tocsin_buf_free(&cur);
    free(text);
}

static void v0_incident_is_upgraded(void **state)
{
    char *text = long_string('i');
    struct tocsin_saved_incident inc = sample_incident(text), got;
    struct tocsin_buf old = TOCSIN_BUF_INIT, cur = TOCSIN_BUF_INIT;
    void *blob;

    (void)state;
    inc.route = 7;
    inc.ack_at = 0;                 /* version 0 did not keep them */
    inc.respond_breaches = inc.resolve_breaches = 0;
    inc.assignee = "";
    assert_int_equal(tocsin_test_v0_incident(&old, &inc), 0);
    blob = exact_copy(old.data, old.len);
    assert_int_equal(tocsin_saved_upgrade(TOCSIN_SAVED_INCIDENT, blob, old.len, "test", &cur),
                     0);
    free(blob);
    assert_int_equal(tocsin_saved_incident_decode(cur.data, cur.len, "test", &got), 0);
    assert_incident_equal(&got, &inc);
    tocsin_saved_incident_free(&got);
    tocsin_buf_free(&old);
    tocsin_buf_free(&cur);
    free(text);
}

static void v0_service_is_upgraded(void **state)
{
    char *text = long_string('s');
    struct tocsin_saved_service s = sample_service(text), got;
    struct tocsin_buf old = TOCSIN_BUF_INIT, cur = TOCSIN_BUF_INIT;
    void *blob;

    (void)state;
    s.st.problem_since_ms = 0;      /* version 0 did not keep it */
    assert_int_equal(tocsin_test_v0_service(&old, &s), 0);
    blob = exact_copy(old.data, old.len);
    assert_int_equal(tocsin_saved_upgrade(TOCSIN_SAVED_SERVICE, blob, old.len, "test", &cur),
                     0);
    free(blob);
    assert_int_equal(tocsin_saved_service_decode(cur.data, cur.len, "test", &got), 0);
    assert_service_equal(&got, &s);
    tocsin_saved_service_free(&got);
    tocsin_buf_free(&old);
    tocsin_buf_free(&cur);
    free(text);
}

/* A blob of version 1 (written by the builds before problem_since_ms was
 * kept): version 2's layout without its last field. It reads with the
 * start of the problem unknown (0); a version-1 blob with version 2's
 * field after it is refused for its left-over bytes. */
static void v1_service_reads_without_problem_start(void **state)
{
    struct tocsin_saved_service s = sample_service("CRITICAL - down"), got;
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    unsigned char *p;

    (void)state;
    assert_int_equal(tocsin_saved_service_encode(&b, &s), 0);
    p = (unsigned char *)b.data;
    assert_int_equal(p[1], 2);
    p[1] = 1;
    assert_int_equal(tocsin_saved_service_decode(b.data, b.len, "test", &got), -1);
    assert_int_equal(tocsin_saved_service_decode(b.data, b.len - 8, "test", &got), 0);
    s.st.problem_since_ms = 0;
    assert_service_equal(&got, &s);
    tocsin_saved_service_free(&got);
    tocsin_buf_free(&b);
}

/* A blob of version 1 (written before priorities): version 2's layout
 * without the priority, its rank and the assignee (strs of 2 and 3
 * bytes, a u8). It reads with neither; with version 2's fields after it
 * it is refused. */
static void v1_alert_reads_without_priority(void **state)
{
    struct tocsin_alert a = sample_alert("long output");
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    struct tocsin_saved_alert got;
    unsigned char *p;

    (void)state;
    assert_int_equal(tocsin_saved_alert_encode(&b, &a, 0), 0);
    p = (unsigned char *)b.data;
    assert_int_equal(p[1], 3);
    p[1] = 1;
    assert_int_equal(tocsin_saved_alert_decode(b.data, b.len, "test", &got), -1);
    /* Version 3's deferred_until (8 bytes) and version 2's fields off. */
    assert_int_equal(tocsin_saved_alert_decode(b.data, b.len - 8 - 14, "test", &got), 0);
    a.priority = a.assignee = "";
    a.priority_rank = 0;
    assert_alert_equal(&got.alert, &a);
    tocsin_saved_alert_free(&got);
    tocsin_buf_free(&b);
}

/* A priority without a rank, or a rank without a priority, is damage. */
static void alert_priority_without_rank_is_refused(void **state)
{
    struct tocsin_alert a = sample_alert("x");
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    struct tocsin_saved_alert got;

    (void)state;
    a.priority_rank = 0;
    assert_int_equal(tocsin_saved_alert_encode(&b, &a, 0), 0);
    assert_int_equal(tocsin_saved_alert_decode(b.data, b.len, "test", &got), -1);
    tocsin_buf_free(&b);
    a.priority = "";
    a.priority_rank = 2;
    assert_int_equal(tocsin_saved_alert_encode(&b, &a, 0), 0);
    assert_int_equal(tocsin_saved_alert_decode(b.data, b.len, "test", &got), -1);
    tocsin_buf_free(&b);
}

/* A blob of version 1 (written before priorities): version 2's layout
 * without ack_at, the two breach counts and the assignee (16 bytes and a
 * str of 5). It reads with them 0 and nobody assigned. */
static void v1_incident_reads_without_breaches(void **state)
{
    struct tocsin_saved_incident inc = sample_incident("on it"), got;
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    unsigned char *p;

    (void)state;
    assert_int_equal(tocsin_saved_incident_encode(&b, &inc), 0);
    p = (unsigned char *)b.data;
    assert_int_equal(p[1], 2);
    p[1] = 1;
    assert_int_equal(tocsin_saved_incident_decode(b.data, b.len, "test", &got), -1);
    assert_int_equal(tocsin_saved_incident_decode(b.data, b.len - 25, "test", &got), 0);
    inc.ack_at = 0;
    inc.respond_breaches = inc.resolve_breaches = 0;
    inc.assignee = "";
    assert_incident_equal(&got, &inc);
    tocsin_saved_incident_free(&got);
    tocsin_buf_free(&b);
}

/* An alert of version 2 (written by the builds before defer): version 3's
 * layout without its last field. It reads as not deferred; a version-2
 * blob with version 3's field after it is refused for its left-over
 * bytes. */
static void v2_alert_reads_as_not_deferred(void **state)
{
    struct tocsin_alert a = sample_alert("long output");
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    struct tocsin_saved_alert sa;
    unsigned char *p;

    (void)state;
    assert_int_equal(tocsin_saved_alert_encode(&b, &a, 1767600000), 0);
    p = (unsigned char *)b.data;
    assert_int_equal(p[1], 3);
    p[1] = 2;
    assert_int_equal(tocsin_saved_alert_decode(b.data, b.len, "test", &sa), -1);
    assert_int_equal(tocsin_saved_alert_decode(b.data, b.len - 8, "test", &sa), 0);
    assert_alert_equal(&sa.alert, &a);
    assert_int_equal(sa.deferred_until, 0);
    tocsin_saved_alert_free(&sa);
    tocsin_buf_free(&b);
}

/* A negative start of the problem is damage, not a time. */
static void service_negative_problem_start_is_refused(void **state)
{
    struct tocsin_saved_service s = sample_service("x"), got;
    struct tocsin_buf b = TOCSIN_BUF_INIT;

    (void)state;
    s.st.problem_since_ms = -5;
    assert_int_equal(tocsin_saved_service_encode(&b, &s), 0);
    assert_int_equal(tocsin_saved_service_decode(b.data, b.len, "test", &got), -1);
    tocsin_buf_free(&b);
}

static void v0_blob_cut_short_is_refused(void **state)
{
    struct tocsin_saved_incident inc = sample_incident("ack");
    struct tocsin_buf old = TOCSIN_BUF_INIT, cur = TOCSIN_BUF_INIT;
    size_t len;

    (void)state;
    inc.ack_at = 0;                 /* version 0 did not keep them */
    inc.respond_breaches = inc.resolve_breaches = 0;
    assert_int_equal(tocsin_test_v0_incident(&old, &inc), 0);
    for (len = 0; len < old.len; len++) {
        void *blob = exact_copy(old.data, len);

        if (tocsin_saved_upgrade(TOCSIN_SAVED_INCIDENT, blob, len, "test", &cur) != 1)
            fail_msg("a version 0 incident cut to %zu of %zu bytes was upgraded", len,
                     old.len);
        assert_int_equal(cur.len, 0);
        free(blob);
    }
    tocsin_buf_free(&old);
    tocsin_buf_free(&cur);
}

/* ------------------------------------------------------------------ */
/* Refusals                                                            */
/* ------------------------------------------------------------------ */

/* The three kinds, encoded from their samples, for the refusal tests. */
static void encode_kind(enum tocsin_saved_kind kind, struct tocsin_buf *b)
{
    struct tocsin_alert a = sample_alert("long output");
    struct tocsin_saved_incident inc = sample_incident("on it");
    struct tocsin_saved_service s = sample_service("OK - fine");

    switch (kind) {
    case TOCSIN_SAVED_ALERT:
        assert_int_equal(tocsin_saved_alert_encode(b, &a, 0), 0);
        break;
    case TOCSIN_SAVED_INCIDENT:
        assert_int_equal(tocsin_saved_incident_encode(b, &inc), 0);
        break;
    case TOCSIN_SAVED_SERVICE:
        assert_int_equal(tocsin_saved_service_encode(b, &s), 0);
        break;
    }
}

/* Decode `len` bytes of `p` as `kind`; 0 or -1. The record is freed. */
static int decode_kind(enum tocsin_saved_kind kind, const void *p, size_t len)
{
    union {
        struct tocsin_saved_alert a;
        struct tocsin_saved_incident i;
        struct tocsin_saved_service s;
    } rec;
    void *blob = exact_copy(p, len);
    int rc = -1;

    switch (kind) {
    case TOCSIN_SAVED_ALERT:
        rc = tocsin_saved_alert_decode(blob, len, "test", &rec.a);
        if (rc == 0)
            tocsin_saved_alert_free(&rec.a);
        break;
    case TOCSIN_SAVED_INCIDENT:
        rc = tocsin_saved_incident_decode(blob, len, "test", &rec.i);
        if (rc == 0)
            tocsin_saved_incident_free(&rec.i);
        break;
    case TOCSIN_SAVED_SERVICE:
        rc = tocsin_saved_service_decode(blob, len, "test", &rec.s);
        if (rc == 0)
            tocsin_saved_service_free(&rec.s);
        break;
    }
    free(blob);
    return rc;
}

static const enum tocsin_saved_kind all_kinds[] = {
    TOCSIN_SAVED_ALERT, TOCSIN_SAVED_INCIDENT, TOCSIN_SAVED_SERVICE
};

static void unknown_version_is_refused(void **state)
{
    size_t k;

    (void)state;
    for (k = 0; k < 3; k++) {
        struct tocsin_buf b = TOCSIN_BUF_INIT;
        unsigned char *p;

        encode_kind(all_kinds[k], &b);
        p = (unsigned char *)b.data;
        assert_int_equal(decode_kind(all_kinds[k], p, b.len), 0);
        p[1] = (unsigned char)(p[1] + 1); /* the version after this build's */
        assert_int_equal(decode_kind(all_kinds[k], p, b.len), -1);
        p[1] = 0;                         /* version 0 has no header */
        assert_int_equal(decode_kind(all_kinds[k], p, b.len), -1);
        p[1] = 0xff;
        assert_int_equal(decode_kind(all_kinds[k], p, b.len), -1);
        tocsin_buf_free(&b);
    }
}

static void other_kind_is_refused(void **state)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;

    (void)state;
    encode_kind(TOCSIN_SAVED_SERVICE, &b);
    assert_int_equal(decode_kind(TOCSIN_SAVED_ALERT, b.data, b.len), -1);
    assert_int_equal(decode_kind(TOCSIN_SAVED_INCIDENT, b.data, b.len), -1);
    tocsin_buf_free(&b);
}

static void every_truncation_is_refused(void **state)
{
    size_t k, len;

    (void)state;
    for (k = 0; k < 3; k++) {
        struct tocsin_buf b = TOCSIN_BUF_INIT;

        encode_kind(all_kinds[k], &b);
        for (len = 0; len < b.len; len++)
            if (decode_kind(all_kinds[k], b.data, len) != -1)
                fail_msg("kind '%c' cut to %zu of %zu bytes was accepted", all_kinds[k], len,
                         b.len);
        tocsin_buf_free(&b);
    }
}

static void bytes_left_over_are_refused(void **state)
{
    size_t k;

    (void)state;
    for (k = 0; k < 3; k++) {
        struct tocsin_buf b = TOCSIN_BUF_INIT;

        encode_kind(all_kinds[k], &b);
        assert_int_equal(tocsin_buf_putc(&b, 0), 0);
        assert_int_equal(decode_kind(all_kinds[k], b.data, b.len), -1);
        tocsin_buf_free(&b);
    }
}

/* Find the little-endian u32 length in front of `s` in the blob. */
static size_t length_field_of(const struct tocsin_buf *b, const char *s)
{
    size_t n = strlen(s), i;

    for (i = 4; i + n <= b->len; i++)
        if (memcmp(b->data + i, s, n) == 0) {
            const unsigned char *q = (const unsigned char *)b->data + i - 4;

            if ((q[0] | (size_t)q[1] << 8 | (size_t)q[2] << 16 | (size_t)q[3] << 24) == n)
                return i - 4;
        }
    fail_msg("no length field before '%s'", s);
    return 0;
}

static void damaged_length_is_refused(void **state)
{
    static const struct { enum tocsin_saved_kind kind; const char *field; } cases[] = {
        { TOCSIN_SAVED_ALERT, "db1.example.net" },
        { TOCSIN_SAVED_INCIDENT, "web-1700000000" },
        { TOCSIN_SAVED_SERVICE, "OK - fine" },
    };
    static const uint32_t bad[] = { 0xffffffffu, 0x80000000u, 0x01000000u };
    size_t k, j;

    (void)state;
    for (k = 0; k < 3; k++)
        for (j = 0; j < 3; j++) {
            struct tocsin_buf b = TOCSIN_BUF_INIT;
            unsigned char *q;
            size_t at;

            encode_kind(cases[k].kind, &b);
            at = length_field_of(&b, cases[k].field);
            q = (unsigned char *)b.data + at;
            q[0] = (unsigned char)bad[j];
            q[1] = (unsigned char)(bad[j] >> 8);
            q[2] = (unsigned char)(bad[j] >> 16);
            q[3] = (unsigned char)(bad[j] >> 24);
            if (decode_kind(cases[k].kind, b.data, b.len) != -1)
                fail_msg("kind '%c' with the length of '%s' set to 0x%08x was accepted",
                         cases[k].kind, cases[k].field, bad[j]);
            tocsin_buf_free(&b);
        }
}

static void state_kinds_are_named(void **state)
{
    (void)state;
    assert_int_equal(tocsin_saved_state_kind("alerting"), TOCSIN_SAVED_INCIDENT);
    assert_int_equal(tocsin_saved_state_kind("service"), TOCSIN_SAVED_SERVICE);
    assert_int_equal(tocsin_saved_state_kind("other"), 0);
    assert_int_equal(tocsin_saved_state_kind(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alert_round_trip_every_field),
        cmocka_unit_test(alert_round_trip_null_and_empty),
        cmocka_unit_test(incident_round_trip_every_field),
        cmocka_unit_test(incident_round_trip_downtime_only),
        cmocka_unit_test(service_round_trip_every_field),
        cmocka_unit_test(service_round_trip_empty_output),
        cmocka_unit_test(v0_alert_is_upgraded),
        cmocka_unit_test(v0_incident_is_upgraded),
        cmocka_unit_test(v0_service_is_upgraded),
        cmocka_unit_test(v0_blob_cut_short_is_refused),
        cmocka_unit_test(unknown_version_is_refused),
        cmocka_unit_test(v1_service_reads_without_problem_start),
        cmocka_unit_test(v1_alert_reads_without_priority),
        cmocka_unit_test(alert_priority_without_rank_is_refused),
        cmocka_unit_test(v1_incident_reads_without_breaches),
        cmocka_unit_test(v2_alert_reads_as_not_deferred),
        cmocka_unit_test(service_negative_problem_start_is_refused),
        cmocka_unit_test(other_kind_is_refused),
        cmocka_unit_test(every_truncation_is_refused),
        cmocka_unit_test(bytes_left_over_are_refused),
        cmocka_unit_test(damaged_length_is_refused),
        cmocka_unit_test(state_kinds_are_named),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
