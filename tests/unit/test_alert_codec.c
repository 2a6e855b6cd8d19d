/*
 * test_alert_codec.c - alerts encoded for the notifier workers and the
 * outbox (tocsin_alert_encode/tocsin_alert_decode in core/engine/proto.c): every
 * field comes back, and bytes that are cut short or damaged are refused
 * without reading past them.
 *
 * Bytes under test are copied into an allocation of exactly their size,
 * so that a read past the end shows under valgrind and AddressSanitizer.
 * The encoding's layout is private to proto.c; where a test damages one
 * field it finds the field by comparing two encodings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "engine/proto.h"

/* Strings each encoded alert carries, in the encoder's order. */
#define NSTRINGS 12

static const struct tocsin_label sample_labels[] = {
    { "team", "dba" },
    { "component", "database" },
    { "empty", "" },
};

/* An alert with every field set to a value of its own. */
static struct tocsin_alert sample(void)
{
    struct tocsin_alert a;

    memset(&a, 0, sizeof(a));
    a.service = "db-main";
    a.host = "host1.example.org";
    a.state = TOCSIN_CRITICAL;
    a.previous = TOCSIN_WARNING;
    a.attempt = 3;
    a.max_attempts = 5;
    a.output = "PGSQL CRITICAL - connection refused";
    a.long_output = "first line\nsecond line";
    a.perfdata = "time=0.5s;1;2 'conn used'=80%";
    a.since = 1700000100;
    a.flapping = 1;
    a.labels = sample_labels;
    a.nlabels = 3;
    a.kind = TOCSIN_ALERT_ESCALATION;
    a.severity = TOCSIN_SEVERITY_ERROR;
    a.hard = 1;
    a.problem_since = 1700000000;
    a.at = 4102444800LL;        /* 2100-01-01: needs 64 bits */
    a.incident = "host1.example.org/db-main/1700000000";
    a.group_key = "dba/db-main";
    a.route = "dba";
    a.link = "https://wiki.example.org/db-main";
    a.reason = "escalation after 30m";
    a.priority = "P2";
    a.priority_rank = 2;
    a.assignee = "bob";
    return a;
}

/* Encode `a` into a new allocation of exactly its size (*len bytes). */
static char *encode(const struct tocsin_alert *a, size_t *len)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    char *copy;

    if (tocsin_alert_encode(&b, a) != 0)
        fail_msg("tocsin_alert_encode failed");
    *len = b.len;
    copy = malloc(b.len ? b.len : 1);
    assert_non_null(copy);
    memcpy(copy, b.data, b.len);
    tocsin_buf_free(&b);
    return copy;
}

static void expect_str(const char *field, const char *expected, const char *got,
                       const char *buf, size_t len)
{
    if (!got)
        fail_msg("%s: expected \"%s\", got NULL", field, expected);
    if (got < buf || got >= buf + len)
        fail_msg("%s: expected a pointer into the encoded bytes", field);
    if (strcmp(expected, got) != 0)
        fail_msg("%s: expected \"%s\", got \"%s\"", field, expected, got);
}

static void expect_num(const char *field, long long expected, long long got)
{
    if (expected != got)
        fail_msg("%s: expected %lld, got %lld", field, expected, got);
}

/* Compare decoded `got` (from buf, len bytes) with `a`; NULL strings of
 * `a` are expected back as "". */
static void expect_alert(const struct tocsin_alert *a, const struct tocsin_alert *got,
                         const char *buf, size_t len)
{
    size_t i;

#define S(f) expect_str(#f, a->f ? a->f : "", got->f, buf, len)
#define N(f) expect_num(#f, (long long)a->f, (long long)got->f)
    S(service); S(host); S(output); S(long_output); S(perfdata);
    S(incident); S(group_key); S(route); S(link); S(reason); S(priority); S(assignee);
    N(state); N(previous); N(attempt); N(max_attempts); N(since); N(flapping);
    N(kind); N(severity); N(hard); N(problem_since); N(at); N(nlabels);
    N(priority_rank);
#undef S
#undef N
    if (got->grouped || got->ngrouped || got->retry_after)
        fail_msg("expected no grouped alerts and no retry_after after decoding");
    if (a->nlabels && !got->labels)
        fail_msg("expected %zu labels, got none", a->nlabels);
    for (i = 0; i < a->nlabels; i++) {
        char what[48];

        snprintf(what, sizeof(what), "label %zu key", i);
        expect_str(what, a->labels[i].key, got->labels[i].key, buf, len);
        snprintf(what, sizeof(what), "label %zu value", i);
        expect_str(what, a->labels[i].value, got->labels[i].value, buf, len);
    }
}

/* Decode all `len` bytes of buf as one alert and compare with `a`. */
static void expect_round_trip(const struct tocsin_alert *a, const char *what)
{
    struct tocsin_alert got;
    size_t len, left;
    char *buf = encode(a, &len);
    const char *p = buf;

    left = len;
    if (tocsin_alert_decode(&p, &left, &got) != 0)
        fail_msg("%s: expected the encoding (%zu bytes) to decode, got -1", what, len);
    if (left != 0 || p != buf + len)
        fail_msg("%s: expected every byte consumed, %zu left", what, left);
    expect_alert(a, &got, buf, len);
    free((void *)got.labels);
    free(buf);
}

/* Decode `len` bytes (copied to an allocation of exactly that size) and
 * expect a refusal that leaves no labels to free. */
static void expect_refused(const char *bytes, size_t len, const char *what)
{
    struct tocsin_alert got;
    char *copy = malloc(len ? len : 1);
    const char *p;
    size_t left = len;

    assert_non_null(copy);
    memcpy(copy, bytes, len);
    p = copy;
    if (tocsin_alert_decode(&p, &left, &got) == 0) {
        free((void *)got.labels);
        free(copy);
        fail_msg("%s: expected the bytes to be refused, they decoded", what);
    }
    if (got.labels)
        fail_msg("%s: refused, but labels were left allocated", what);
    free(copy);
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */
/* ------------------------------------------------------------------ */

static void codec_round_trip_every_field(void **state)
{
    struct tocsin_alert a = sample();

    (void)state;
    expect_round_trip(&a, "an alert with every field set");
}

static void codec_round_trip_every_kind_severity_and_state(void **state)
{
    struct tocsin_alert a = sample();
    int i;

    (void)state;
    for (i = TOCSIN_ALERT_PROBLEM; i <= TOCSIN_ALERT_KIND_MAX; i++) {
        a.kind = (enum tocsin_alert_kind)i;
        expect_round_trip(&a, tocsin_alert_kind_name(i));
    }
    for (i = TOCSIN_SEVERITY_INFO; i <= TOCSIN_SEVERITY_CRITICAL; i++) {
        a.severity = (enum tocsin_severity)i;
        expect_round_trip(&a, tocsin_severity_name(i));
    }
    for (i = TOCSIN_OK; i <= TOCSIN_UNKNOWN; i++) {
        a.state = (enum tocsin_state)i;
        a.previous = (enum tocsin_state)(TOCSIN_UNKNOWN - i);
        expect_round_trip(&a, tocsin_state_name(i));
    }
}

static void codec_round_trip_empty_strings(void **state)
{
    static const struct tocsin_label empty_labels[] = { { "", "" }, { "k", "" } };
    struct tocsin_alert a;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.service = a.host = a.output = a.long_output = a.perfdata = "";
    a.incident = a.group_key = a.route = a.link = a.reason = "";
    a.priority = a.assignee = "";
    a.labels = empty_labels;
    a.nlabels = 2;
    expect_round_trip(&a, "every string empty, labels with empty keys and values");
}

/* NULL strings are sent as "", so a notifier never meets NULL. */
static void codec_null_strings_come_back_empty(void **state)
{
    struct tocsin_alert a;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.service = "svc";
    expect_round_trip(&a, "every string but the service NULL");
}

static void codec_without_labels(void **state)
{
    struct tocsin_alert a = sample(), got;
    size_t len, left;
    char *buf;
    const char *p;

    (void)state;
    a.labels = NULL;
    a.nlabels = 0;
    buf = encode(&a, &len);
    p = buf;
    left = len;
    assert_int_equal(tocsin_alert_decode(&p, &left, &got), 0);
    if (got.labels || got.nlabels)
        fail_msg("expected no labels (NULL, 0), got %p and %zu", (const void *)got.labels,
                 got.nlabels);
    expect_alert(&a, &got, buf, len);
    free(buf);
}

/* Negative and extreme numbers survive. */
static void codec_round_trip_extreme_numbers(void **state)
{
    struct tocsin_alert a = sample();

    (void)state;
    a.attempt = -1;
    a.max_attempts = 0x7fffffff;
    a.since = -86400;
    a.problem_since = 0;
    a.at = (time_t)INT64_MAX;
    expect_round_trip(&a, "negative, zero and largest values");
}

static void codec_many_labels(void **state)
{
    enum { MANY = 5000 };
    struct tocsin_label *labels = calloc(MANY, sizeof(*labels));
    char (*keys)[16] = calloc(MANY, sizeof(*keys));
    struct tocsin_alert a = sample();
    size_t i;

    (void)state;
    assert_non_null(labels);
    assert_non_null(keys);
    for (i = 0; i < MANY; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        labels[i].key = keys[i];
        labels[i].value = i % 2 ? "odd" : "";
    }
    a.labels = labels;
    a.nlabels = MANY;
    expect_round_trip(&a, "an alert with 5000 labels");
    free(keys);
    free(labels);
}

/* Alerts follow one another in a message: each decode takes its own. */
static void codec_consecutive_alerts(void **state)
{
    struct tocsin_alert a[3], got;
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    const char *p;
    size_t left, i;

    (void)state;
    for (i = 0; i < 3; i++) {
        a[i] = sample();
        a[i].attempt = (int)i + 1;
    }
    a[1].service = "web-front";
    a[1].labels = NULL;
    a[1].nlabels = 0;
    a[2].output = "";
    for (i = 0; i < 3; i++)
        assert_int_equal(tocsin_alert_encode(&b, &a[i]), 0);
    assert_int_equal(tocsin_buf_append(&b, "tail", 4), 0);
    p = b.data;
    left = b.len;
    for (i = 0; i < 3; i++) {
        if (tocsin_alert_decode(&p, &left, &got) != 0)
            fail_msg("alert %zu of 3: expected it to decode, got -1", i + 1);
        expect_alert(&a[i], &got, b.data, b.len);
        free((void *)got.labels);
    }
    if (left != 4 || memcmp(p, "tail", 4) != 0)
        fail_msg("expected the 4 bytes after the alerts untouched, got %zu left", left);
    tocsin_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Damaged input                                                       */
/* ------------------------------------------------------------------ */

/* Every prefix of a valid encoding is refused, the empty one too. */
static void codec_every_prefix_refused(void **state)
{
    struct tocsin_alert a = sample();
    size_t len, n;
    char *buf = encode(&a, &len);
    char what[96];

    (void)state;
    for (n = 0; n < len; n++) {
        snprintf(what, sizeof(what), "the first %zu of %zu bytes", n, len);
        expect_refused(buf, n, what);
    }
    free(buf);
}

/* The same for an alert without labels and with empty strings, whose
 * strings are the shortest possible. */
static void codec_every_prefix_refused_minimal(void **state)
{
    struct tocsin_alert a;
    size_t len, n;
    char *buf;
    char what[96];

    (void)state;
    memset(&a, 0, sizeof(a));
    buf = encode(&a, &len);
    for (n = 0; n < len; n++) {
        snprintf(what, sizeof(what), "the first %zu of %zu bytes (minimal)", n, len);
        expect_refused(buf, n, what);
    }
    free(buf);
}

/* Out-of-range kind, severity and states are refused. */
static void codec_out_of_range_fields_refused(void **state)
{
    struct tocsin_alert a;
    size_t len;
    char *buf;

    (void)state;
#define REFUSE(field, value) do { \
        a = sample(); \
        a.field = value; \
        buf = encode(&a, &len); \
        expect_refused(buf, len, #field " = " #value); \
        free(buf); \
    } while (0)
    REFUSE(kind, (enum tocsin_alert_kind)(TOCSIN_ALERT_KIND_MAX + 1));
    REFUSE(severity, (enum tocsin_severity)(TOCSIN_SEVERITY_CRITICAL + 1));
    REFUSE(state, (enum tocsin_state)(TOCSIN_UNKNOWN + 1));
    REFUSE(previous, (enum tocsin_state)(TOCSIN_UNKNOWN + 1));
    REFUSE(state, (enum tocsin_state)-1);
#undef REFUSE
}

/* Offset of the label count: the one 4-byte field that differs between
 * an alert with no labels and one with a single label. */
static size_t label_count_offset(void)
{
    static const struct tocsin_label one = { "", "" };
    struct tocsin_alert a;
    size_t len0, len1, i, at = (size_t)-1;
    char *b0, *b1;

    memset(&a, 0, sizeof(a));
    b0 = encode(&a, &len0);
    a.labels = &one;
    a.nlabels = 1;
    b1 = encode(&a, &len1);
    assert_true(len1 > len0);
    for (i = 0; i < len0; i++)
        if (b0[i] != b1[i]) {
            if (at != (size_t)-1 && i >= at + 4)
                fail_msg("the encodings differ in more than the label count");
            if (at == (size_t)-1)
                at = i;
        }
    free(b0);
    free(b1);
    if (at == (size_t)-1)
        fail_msg("the label count was not found in the encoding");
    return at & ~(size_t)3;
}

/* A label count larger than the labels that follow is refused, and a
 * huge one costs no huge allocation. */
static void codec_label_count_damaged(void **state)
{
    struct tocsin_alert a = sample();
    size_t len, at = label_count_offset();
    char *buf = encode(&a, &len);
    uint32_t n;

    (void)state;
    memcpy(&n, buf + at, sizeof(n));
    assert_int_equal(n, 3);
    n = 4;
    memcpy(buf + at, &n, sizeof(n));
    expect_refused(buf, len, "label count 4 with 3 labels");
    n = 0xffffffffu;
    memcpy(buf + at, &n, sizeof(n));
    expect_refused(buf, len, "label count 4294967295");
    n = 0x10000000u;
    memcpy(buf + at, &n, sizeof(n));
    expect_refused(buf, len, "label count 268435456");
    free(buf);
}

/* Where the first string (the service) begins: the fixed part is what an
 * alert of empty strings and no labels holds besides its strings, each
 * a 4-byte length and a NUL. */
static size_t first_string_offset(void)
{
    struct tocsin_alert a;
    size_t len;
    char *buf;

    memset(&a, 0, sizeof(a));
    buf = encode(&a, &len);
    free(buf);
    assert_true(len > NSTRINGS * (sizeof(uint32_t) + 1));
    return len - NSTRINGS * (sizeof(uint32_t) + 1);
}

static void codec_string_lengths_damaged(void **state)
{
    struct tocsin_alert a = sample();
    size_t len, at = first_string_offset();
    char *buf = encode(&a, &len);
    uint32_t n, good;

    (void)state;
    memcpy(&good, buf + at, sizeof(good));
    if (good != strlen(a.service) + 1)
        fail_msg("expected the service's length %zu at offset %zu, got %u",
                 strlen(a.service) + 1, at, (unsigned)good);
    n = (uint32_t)len;
    memcpy(buf + at, &n, sizeof(n));
    expect_refused(buf, len, "a string longer than the whole encoding");
    n = 0xffffffffu;
    memcpy(buf + at, &n, sizeof(n));
    expect_refused(buf, len, "a string of 4294967295 bytes");
    n = 0;
    memcpy(buf + at, &n, sizeof(n));
    expect_refused(buf, len, "a string of no bytes at all (no NUL)");
    n = good - 1;
    memcpy(buf + at, &n, sizeof(n));
    expect_refused(buf, len, "a string one byte short (no NUL at its end)");
    memcpy(buf + at, &good, sizeof(good));
    buf[at + sizeof(good) + good - 1] = 'x';
    expect_refused(buf, len, "a string whose NUL was overwritten");
    free(buf);
}

/*
 * Damage every byte in turn (flipped, then set to 0xff and to 0): each
 * result is refused or decodes to strings that lie within the bytes and
 * end there. Never a crash, never a read outside.
 */
static void codec_every_byte_damaged(void **state)
{
    static const unsigned char patterns[] = { 0x00, 0xff, 0x80 };
    struct tocsin_alert a = sample(), got;
    size_t len, i, k, decoded = 0;
    char *buf = encode(&a, &len);
    char *copy = malloc(len);

    (void)state;
    assert_non_null(copy);
    for (i = 0; i < len; i++)
        for (k = 0; k < 4; k++) {
            const char *p = copy;
            size_t left = len;

            memcpy(copy, buf, len);
            copy[i] = k < 3 ? (char)patterns[k] : (char)~buf[i];
            if (tocsin_alert_decode(&p, &left, &got) != 0)
                continue;
            decoded++;
            if (p + left != copy + len)
                fail_msg("byte %zu damaged: the position and what is left disagree", i);
            if (got.service < copy || got.assignee >= copy + len ||
                strnlen(got.assignee, (size_t)(copy + len - got.assignee)) ==
                    (size_t)(copy + len - got.assignee))
                fail_msg("byte %zu damaged: a decoded string lies outside the bytes", i);
            free((void *)got.labels);
        }
    /* Damage to the text of a string still decodes; the test must have
     * seen such cases for its checks above to mean something. */
    if (!decoded)
        fail_msg("expected some damaged copies (inside texts) to decode, none did");
    free(copy);
    free(buf);
}

#define CASE(f) cmocka_unit_test(f)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(codec_round_trip_every_field),
        CASE(codec_round_trip_every_kind_severity_and_state),
        CASE(codec_round_trip_empty_strings),
        CASE(codec_null_strings_come_back_empty),
        CASE(codec_without_labels),
        CASE(codec_round_trip_extreme_numbers),
        CASE(codec_many_labels),
        CASE(codec_consecutive_alerts),
        CASE(codec_every_prefix_refused),
        CASE(codec_every_prefix_refused_minimal),
        CASE(codec_out_of_range_fields_refused),
        CASE(codec_label_count_damaged),
        CASE(codec_string_lengths_damaged),
        CASE(codec_every_byte_damaged),
    };

    return cmocka_run_group_tests_name("alert_codec", tests, NULL, NULL);
}
