/*
 * test_notify_util.c - the helpers notifier plugins share (core/lib/notify-util.c
 * and the option helpers of core/lib/options.c): HTTP outcomes, time left,
 * UTF-8 checking, cleaning and cutting, quoting an answer on one line,
 * redaction, the answer capture, FNV-1a, RFC 3339 times, the per-alert
 * loop of the forwarders, and string, file and template options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tocsin-plugin.h"

/* ------------------------------------------------------------------ */
/* HTTP outcome and time left                                          */
/* ------------------------------------------------------------------ */

static void http_status_outcomes(void **state)
{
    static const struct {
        long status;
        enum tocsin_delivery want;
    } cases[] = {
        { 200, TOCSIN_DELIVERED }, { 202, TOCSIN_DELIVERED }, { 204, TOCSIN_DELIVERED },
        { 299, TOCSIN_DELIVERED },
        { 408, TOCSIN_RETRY }, { 429, TOCSIN_RETRY }, { 500, TOCSIN_RETRY },
        { 502, TOCSIN_RETRY }, { 503, TOCSIN_RETRY }, { 599, TOCSIN_RETRY },
        { 0, TOCSIN_FAILED }, { 100, TOCSIN_FAILED }, { 199, TOCSIN_FAILED },
        { 301, TOCSIN_FAILED }, { 302, TOCSIN_FAILED }, { 399, TOCSIN_FAILED },
        { 400, TOCSIN_FAILED }, { 401, TOCSIN_FAILED }, { 403, TOCSIN_FAILED },
        { 404, TOCSIN_FAILED }, { 409, TOCSIN_FAILED }, { 413, TOCSIN_FAILED },
        { 428, TOCSIN_FAILED }, { 430, TOCSIN_FAILED }, { 499, TOCSIN_FAILED },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum tocsin_delivery got = tocsin_http_outcome(cases[i].status);

        if (got != cases[i].want)
            fail_msg("status %ld: expected outcome %d, got %d", cases[i].status,
                     (int)cases[i].want, (int)got);
    }
}

/* A deadline `ms` milliseconds from now (negative: in the past). */
static struct timespec deadline_in(long ms)
{
    struct timespec ts;
    long long ns;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec + (long long)ms * 1000000LL;
    ts.tv_sec = (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}

static void ms_left_counts_down_and_stops_at_zero(void **state)
{
    struct timespec d;
    long left;

    (void)state;
    d = deadline_in(5000);
    left = tocsin_ms_left(&d);
    if (left < 4000 || left > 5000)
        fail_msg("5 s ahead: expected 4000..5000 ms left, got %ld", left);
    d = deadline_in(-5000);
    left = tocsin_ms_left(&d);
    if (left != 0)
        fail_msg("5 s past: expected 0 ms left, got %ld", left);
    d = deadline_in(0);
    left = tocsin_ms_left(&d);
    if (left != 0)
        fail_msg("deadline now: expected 0 ms left, got %ld", left);
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */
/* ------------------------------------------------------------------ */

static void expect_len(const char *s, size_t n, size_t want)
{
    size_t got = tocsin_utf8_len(s, n);

    if (got != want) {
        char hex[64];
        size_t used = 0, i;

        hex[0] = '\0';
        for (i = 0; i < n && i < 8; i++)
            tocsin_append(hex, sizeof(hex), &used, "%02x ", (unsigned char)s[i]);
        fail_msg("bytes %s(n %zu): expected length %zu, got %zu", hex, n, want, got);
    }
}

static void utf8_len_of_good_and_bad_sequences(void **state)
{
    (void)state;
    expect_len("a", 1, 1);
    expect_len("\x7f", 1, 1);
    expect_len("\xc3\xa9", 2, 2);               /* é */
    expect_len("\xe2\x82\xac", 3, 3);           /* € */
    expect_len("\xf0\x9f\x94\x94", 4, 4);       /* a bell */
    expect_len("\xf4\x8f\xbf\xbf", 4, 4);       /* U+10FFFF, the last */
    expect_len("\xef\xbf\xbd", 3, 3);           /* U+FFFD */
    expect_len("\xed\x9f\xbf", 3, 3);           /* U+D7FF, before the surrogates */
    expect_len("\xee\x80\x80", 3, 3);           /* U+E000, after them */

    expect_len("\x80", 1, 0);                   /* stray continuation */
    expect_len("\xbf", 1, 0);
    expect_len("\xc0\x80", 2, 0);               /* overlong NUL */
    expect_len("\xc1\xbf", 2, 0);               /* overlong */
    expect_len("\xe0\x80\x80", 3, 0);           /* overlong */
    expect_len("\xe0\x9f\xbf", 3, 0);           /* overlong U+07FF */
    expect_len("\xf0\x8f\xbf\xbf", 4, 0);       /* overlong U+FFFF */
    expect_len("\xed\xa0\x80", 3, 0);           /* surrogate U+D800 */
    expect_len("\xed\xbf\xbf", 3, 0);           /* surrogate U+DFFF */
    expect_len("\xf4\x90\x80\x80", 4, 0);       /* U+110000 */
    expect_len("\xf5\x80\x80\x80", 4, 0);
    expect_len("\xff", 1, 0);
    expect_len("\xc3", 1, 0);                   /* cut short by n */
    expect_len("\xe2\x82\xac", 2, 0);
    expect_len("\xf0\x9f\x94\x94", 3, 0);
    expect_len("\xc3 ", 2, 0);                  /* continuation missing */
    expect_len("\xe2\x82 ", 3, 0);
    expect_len("", 0, 0);
}

/* The well-formed sequences of the Unicode standard (table 3-7), by the
 * ranges of their bytes: a second implementation to compare against. */
static size_t reference_len(const unsigned char *s, size_t n)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (s[0] == 0xe0)
        lo = 0xa0;
    else if (s[0] == 0xed)
        hi = 0x9f;
    else if (s[0] == 0xf0)
        lo = 0x90;
    else if (s[0] == 0xf4)
        hi = 0x8f;
    if (len > n || s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* Every lead byte with every second byte, and a sample of third and
 * fourth bytes around the continuation range, agree with the table. */
static void utf8_len_agrees_with_the_standard_table(void **state)
{
    static const unsigned char tails[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
                                           0x9f, 0xa0, 0xbf, 0xc0, 0xff };
    unsigned b0, b1, i, j;

    (void)state;
    for (b0 = 0; b0 < 256; b0++)
        for (b1 = 0; b1 < 256; b1++)
            for (i = 0; i < sizeof(tails); i++)
                for (j = 0; j < sizeof(tails); j++) {
                    unsigned char s[4] = { (unsigned char)b0, (unsigned char)b1,
                                           tails[i], tails[j] };
                    size_t want = reference_len(s, 4);
                    size_t got = tocsin_utf8_len((const char *)s, 4);

                    if (got != want)
                        fail_msg("bytes %02x %02x %02x %02x: expected length %zu, "
                                 "got %zu", s[0], s[1], s[2], s[3], want, got);
                }
}

static void utf8_valid_strings(void **state)
{
    (void)state;
    assert_true(tocsin_utf8_valid(""));
    assert_true(tocsin_utf8_valid(NULL));
    assert_true(tocsin_utf8_valid("plain ASCII"));
    assert_true(tocsin_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x94"));
    assert_false(tocsin_utf8_valid("caf\xe9"));              /* Latin-1 */
    assert_false(tocsin_utf8_valid("ends in \xe2\x82"));
    assert_false(tocsin_utf8_valid("\xed\xa0\x80"));
}

static void expect_clean(const char *s, const char *replacement, const char *want)
{
    char *got = tocsin_utf8_clean(s, replacement);

    if (!got)
        fail_msg("clean \"%s\": expected \"%s\", got NULL", s ? s : "(null)", want);
    if (strcmp(got, want) != 0) {
        char copy[256];

        snprintf(copy, sizeof(copy), "%s", got);
        free(got);
        fail_msg("clean \"%s\": expected \"%s\", got \"%s\"", s ? s : "(null)", want,
                 copy);
    }
    free(got);
}

static void utf8_clean_replaces_each_bad_byte(void **state)
{
    (void)state;
    expect_clean("caf\xc3\xa9 \xe2\x82\xac ok", "?", "caf\xc3\xa9 \xe2\x82\xac ok");
    expect_clean("bad \xff \xc3 \xe0\x80\x80 \xed\xa0\x80 \xf4\x90\x80\x80 end", "?",
                 "bad ? ? ??? ??? ???? end");
    expect_clean(NULL, "?", "");
    expect_clean("", NULL, "");
    expect_clean("caf\xe9!", NULL, "caf\xef\xbf\xbd!");
    expect_clean("\xff\xfe", NULL, "\xef\xbf\xbd\xef\xbf\xbd");
    expect_clean("\xff\xfe", TOCSIN_UTF8_REPLACEMENT, "\xef\xbf\xbd\xef\xbf\xbd");
    expect_clean("a\xffz", "", "az");
    expect_clean("ok \xf0\x9f\x94\x94", NULL, "ok \xf0\x9f\x94\x94");
}

static void expect_cut(const char *s, size_t max, const char *want)
{
    char buf[256];
    size_t len;

    snprintf(buf, sizeof(buf), "%s", s);
    len = tocsin_utf8_cut(buf, max);
    if (strcmp(buf, want) != 0 || len != strlen(want))
        fail_msg("cut \"%s\" to %zu: expected \"%s\" (%zu), got \"%s\" (%zu)", s, max,
                 want, strlen(want), buf, len);
}

static void utf8_cut_keeps_characters_whole(void **state)
{
    (void)state;
    expect_cut("short", 10, "short");
    expect_cut("exactly10!", 10, "exactly10!");
    expect_cut("eleven char", 10, "eleven ...");
    expect_cut("abcdef", 3, "abcdef");            /* no room for "..." */
    expect_cut("abcdef", 0, "abcdef");
    expect_cut("abcdef", 4, "a...");
    /* "é" is two bytes at 4..5: a cut at 5 would split it. */
    expect_cut("abcd\xc3\xa9" "fghij", 8, "abcd...");
    expect_cut("abcd\xc3\xa9" "fghij", 9, "abcd\xc3\xa9...");
    /* "€" is three bytes at 1..3. */
    expect_cut("a\xe2\x82\xac" "bcdef", 6, "a...");
    expect_cut("a\xe2\x82\xac" "bcdef", 7, "a\xe2\x82\xac...");
    expect_cut("\xf0\x9f\x94\x94\xf0\x9f\x94\x94", 7, "\xf0\x9f\x94\x94...");
    expect_cut("\xf0\x9f\x94\x94\xf0\x9f\x94\x94", 6, "...");
}

/* ------------------------------------------------------------------ */
/* Showing, redacting and capturing an answer                          */
/* ------------------------------------------------------------------ */

static void expect_show(const char *s, size_t max, unsigned flags, size_t outlen,
                        const char *want)
{
    char out[512];

    memset(out, 'X', sizeof(out));
    tocsin_show(s, s ? strlen(s) : 0, max, flags, out, outlen);
    if (strcmp(out, want) != 0)
        fail_msg("show \"%s\" (max %zu, flags %u, outlen %zu): expected \"%s\", got "
                 "\"%s\"", s ? s : "(null)", max, flags, outlen, want, out);
    if (out[outlen] != 'X')
        fail_msg("show \"%s\": wrote past %zu bytes", s ? s : "(null)", outlen);
}

static void show_makes_one_line(void **state)
{
    (void)state;
    expect_show("{\"error\":\"bad\"}", 200, 0, 64, "{\"error\":\"bad\"}");
    expect_show("line one\r\nline\ttwo\x7f", 200, 0, 64, "line one  line two ");
    expect_show("trailing\n\n", 200, TOCSIN_SHOW_TRIM, 64, "trailing");
    expect_show("trailing\n\n", 200, 0, 64, "trailing  ");
    expect_show("0123456789", 5, 0, 64, "01234...");
    expect_show("0123 56789", 5, TOCSIN_SHOW_TRIM, 64, "0123...");
    expect_show("0123 56789", 5, 0, 64, "0123 ...");
    expect_show("0123456789", 200, 0, 6, "01234");
    expect_show("", 200, TOCSIN_SHOW_TRIM, 64, "");
    expect_show(NULL, 200, 0, 64, "");
    expect_show("   ", 200, TOCSIN_SHOW_TRIM, 64, "");
}

static void expect_redact(const char *text, size_t size, const char *secret,
                          const char *want)
{
    char buf[128];

    memset(buf, 'X', sizeof(buf));
    snprintf(buf, size, "%s", text);
    tocsin_redact(buf, size, secret);
    if (strcmp(buf, want) != 0)
        fail_msg("redact \"%s\" in \"%s\" (%zu bytes): expected \"%s\", got \"%s\"",
                 secret ? secret : "(null)", text, size, want, buf);
    if (size < sizeof(buf) && buf[size] != 'X')
        fail_msg("redact in \"%s\": wrote past %zu bytes", text, size);
}

static void redact_hides_every_occurrence(void **state)
{
    (void)state;
    expect_redact("invalid key abcd1234", 64, "abcd1234", "invalid key [redacted]");
    expect_redact("k=tok tok tok!", 64, "tok", "k=[redacted] [redacted] [redacted]!");
    expect_redact("nothing here", 64, "abcd1234", "nothing here");
    expect_redact("nothing here", 64, NULL, "nothing here");
    expect_redact("nothing here", 64, "", "nothing here");
    /* Longer than the secret, the mark pushes the rest out of the buffer. */
    expect_redact("ab xy 0123456789", 18, "xy", "ab [redacted] 012");
    expect_redact("ab xy", 8, "xy", "ab [red");
    /* A secret that looks like the mark is not found again in it. */
    expect_redact("key: redacted", 64, "redacted", "key: [redacted]");
}

static void capture_keeps_the_start(void **state)
{
    struct tocsin_capture c;
    char chunk[100];
    size_t i;

    (void)state;
    memset(&c, 0, sizeof(c));
    c.max = 10;
    assert_int_equal(tocsin_capture_write((char *)"hello ", 1, 6, &c), 6);
    assert_int_equal(tocsin_capture_write((char *)"world, and more", 3, 5, &c), 15);
    assert_int_equal(c.len, 10);
    assert_string_equal(c.data, "hello worl");
    if (c.cap > c.max + 1)
        fail_msg("max 10: expected at most 11 bytes allocated, got %zu", c.cap);
    /* Once full, everything is taken and dropped. */
    assert_int_equal(tocsin_capture_write((char *)"x", 1, 1, &c), 1);
    assert_string_equal(c.data, "hello worl");

    tocsin_capture_reset(&c);
    assert_int_equal(c.len, 0);
    assert_string_equal(c.data, "");
    assert_int_equal(tocsin_capture_write((char *)"again", 1, 5, &c), 5);
    assert_string_equal(c.data, "again");
    tocsin_capture_free(&c);
    assert_null(c.data);
    assert_int_equal(c.len, 0);

    /* A large max grows in steps, and keeps every byte up to it. */
    c.max = 16384;
    memset(chunk, 'a', sizeof(chunk));
    for (i = 0; i < 200; i++)
        assert_int_equal(tocsin_capture_write(chunk, 1, sizeof(chunk), &c),
                         sizeof(chunk));
    assert_int_equal(c.len, 16384);
    assert_int_equal(strlen(c.data), 16384);
    tocsin_capture_free(&c);

    /* Resetting a capture that never kept anything is fine. */
    memset(&c, 0, sizeof(c));
    tocsin_capture_reset(&c);
    assert_null(c.data);
}

/* ------------------------------------------------------------------ */
/* Keys and times                                                      */
/* ------------------------------------------------------------------ */

static void fnv1a_known_values(void **state)
{
    (void)state;
    /* The published test vectors of 64-bit FNV-1a. */
    assert_true(tocsin_fnv1a(TOCSIN_FNV1A_INIT, "") == 0xcbf29ce484222325ULL);
    assert_true(tocsin_fnv1a(TOCSIN_FNV1A_INIT, "a") == 0xaf63dc4c8601ec8cULL);
    assert_true(tocsin_fnv1a(TOCSIN_FNV1A_INIT, "foobar") == 0x85944171f73967e8ULL);
    /* Hashing on continues where it stopped; NULL adds nothing. */
    assert_true(tocsin_fnv1a(tocsin_fnv1a(TOCSIN_FNV1A_INIT, "foo"), "bar") ==
                0x85944171f73967e8ULL);
    assert_true(tocsin_fnv1a(42, NULL) == 42);
}

static void rfc3339_times(void **state)
{
    char out[32];

    (void)state;
    assert_string_equal(tocsin_time_rfc3339(1700000000, out, sizeof(out)),
                        "2023-11-14T22:13:20Z");
    assert_string_equal(tocsin_time_rfc3339(0, out, sizeof(out)),
                        "1970-01-01T00:00:00Z");
    /* Too small a buffer gets the start of the fallback, terminated. */
    assert_string_equal(tocsin_time_rfc3339(1700000000, out, 5), "1970");
}

/* ------------------------------------------------------------------ */
/* One alert at a time                                                 */
/* ------------------------------------------------------------------ */

/* What the fake delivery saw and what it answers. */
struct each {
    const enum tocsin_delivery *answers;  /* one per call */
    size_t calls;
    const char *services[8];
    struct timespec deadlines[8];
    long *slots[8];
};

static enum tocsin_delivery fake_deliver(void *ctx, const struct tocsin_alert *a,
                                         char *err, size_t errlen)
{
    struct each *e = ctx;
    enum tocsin_delivery answer = e->answers[e->calls];

    e->services[e->calls] = a->service;
    e->deadlines[e->calls] = a->deadline;
    e->slots[e->calls] = a->retry_after;
    e->calls++;
    if (answer != TOCSIN_DELIVERED)
        snprintf(err, errlen, "%s: %s", a->service,
                 answer == TOCSIN_RETRY ? "busy" : "refused");
    return answer;
}

/* A message of `n` alerts (1 + n - 1 grouped), each with its own deadline
 * and retry slot, of which only the first's should be used. */
static void each_run(size_t n, const enum tocsin_delivery *answers,
                     enum tocsin_delivery want, const char *want_err)
{
    static const char *const names[] = { "db", "web", "mail", "dns" };
    struct tocsin_alert alerts[4];
    long slots[4] = { 0, 0, 0, 0 };
    struct each e;
    enum tocsin_delivery got;
    char err[256];
    size_t i;

    memset(alerts, 0, sizeof(alerts));
    memset(&e, 0, sizeof(e));
    e.answers = answers;
    for (i = 0; i < n; i++) {
        alerts[i].service = names[i];
        alerts[i].deadline.tv_sec = (time_t)(1000 + i);
        alerts[i].retry_after = &slots[i];
    }
    alerts[0].grouped = n > 1 ? &alerts[1] : NULL;
    alerts[0].ngrouped = n - 1;
    memset(err, 'X', sizeof(err));
    got = tocsin_notify_each(&alerts[0], fake_deliver, &e, err, sizeof(err));
    if (got != want || strcmp(err, want_err) != 0)
        fail_msg("%zu alerts: expected outcome %d \"%s\", got %d \"%s\"", n, (int)want,
                 want_err, (int)got, err);
    if (e.calls != n)
        fail_msg("%zu alerts: expected %zu deliveries, got %zu", n, n, e.calls);
    for (i = 0; i < n; i++) {
        if (strcmp(e.services[i], names[i]) != 0)
            fail_msg("delivery %zu: expected service %s, got %s", i, names[i],
                     e.services[i]);
        if (e.deadlines[i].tv_sec != 1000 || e.slots[i] != &slots[0])
            fail_msg("delivery %zu: expected the message's deadline and retry slot, "
                     "got deadline %lld and slot %p", i, (long long)e.deadlines[i].tv_sec,
                     (void *)e.slots[i]);
    }
}

static void each_alert_is_delivered_and_the_worst_outcome_wins(void **state)
{
    static const enum tocsin_delivery ok[] = { TOCSIN_DELIVERED, TOCSIN_DELIVERED,
                                               TOCSIN_DELIVERED, TOCSIN_DELIVERED };
    static const enum tocsin_delivery one_fails[] = { TOCSIN_DELIVERED, TOCSIN_FAILED,
                                                      TOCSIN_DELIVERED };
    static const enum tocsin_delivery fail_then_retry[] = { TOCSIN_FAILED, TOCSIN_DELIVERED,
                                                            TOCSIN_RETRY, TOCSIN_FAILED };
    static const enum tocsin_delivery retry_then_fail[] = { TOCSIN_RETRY, TOCSIN_FAILED };

    (void)state;
    each_run(1, ok, TOCSIN_DELIVERED, "");
    each_run(4, ok, TOCSIN_DELIVERED, "");
    each_run(1, retry_then_fail, TOCSIN_RETRY, "db: busy");
    each_run(3, one_fails, TOCSIN_FAILED, "web: refused");
    each_run(4, fail_then_retry, TOCSIN_RETRY,
             "db: refused (and 2 more of 4 results)");
    each_run(2, retry_then_fail, TOCSIN_RETRY, "db: busy (and 1 more of 2 results)");
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static cfg_opt_t test_opts[] = {
    CFG_STR("name", "", CFGF_NONE),
    CFG_STR("ca_file", "", CFGF_NONE),
    CFG_STR("template", "{service} is {state}", CFGF_NONE),
    CFG_STR("subject", "", CFGF_NONE),
    CFG_END()
};

/* The options of `text`, parsed against test_opts. */
static cfg_t *options(const char *text)
{
    cfg_t *cfg = cfg_init(test_opts, CFGF_NONE);

    assert_non_null(cfg);
    if (cfg_parse_buf(cfg, text) != CFG_SUCCESS)
        fail_msg("options \"%s\" do not parse", text);
    return cfg;
}

static void option_str_is_null_when_empty(void **state)
{
    cfg_t *cfg = options("name = \"db\"");

    (void)state;
    assert_string_equal(tocsin_option_str(cfg, "name"), "db");
    assert_null(tocsin_option_str(cfg, "ca_file"));
    cfg_free(cfg);
}

static void option_readable_names_the_file_and_the_reason(void **state)
{
    char err[256] = "";
    cfg_t *cfg;

    (void)state;
    cfg = options("ca_file = \"/nonexistent/ca.pem\"");
    assert_int_equal(tocsin_option_readable(cfg, "ca_file", err, sizeof(err)), -1);
    assert_string_equal(err, "option 'ca_file': cannot read /nonexistent/ca.pem: "
                             "No such file or directory");
    cfg_free(cfg);

    cfg = options("ca_file = \"/dev/null\"");
    assert_int_equal(tocsin_option_readable(cfg, "ca_file", err, sizeof(err)), 0);
    cfg_free(cfg);

    cfg = options("");
    assert_int_equal(tocsin_option_readable(cfg, "ca_file", err, sizeof(err)), 0);
    cfg_free(cfg);
}

static void option_template_is_checked_and_copied(void **state)
{
    char err[256] = "", *t = NULL;
    cfg_t *cfg;

    (void)state;
    cfg = options("");
    assert_int_equal(tocsin_option_template(cfg, "template", 0, &t, err, sizeof(err)), 0);
    assert_string_equal(t, "{service} is {state}");
    free(t);
    assert_int_equal(tocsin_option_template(cfg, "subject", 0, &t, err, sizeof(err)), -1);
    assert_null(t);
    assert_string_equal(err, "option 'subject' must not be empty");
    assert_int_equal(tocsin_option_template(cfg, "subject", 1, &t, err, sizeof(err)), 0);
    assert_string_equal(t, "");
    free(t);
    cfg_free(cfg);

    cfg = options("template = \"{service} {nope}\"");
    assert_int_equal(tocsin_option_template(cfg, "template", 1, &t, err, sizeof(err)), -1);
    assert_null(t);
    assert_string_equal(err, "option 'template': unknown placeholder {nope} in template");
    cfg_free(cfg);

    cfg = options("template = \"{service\"");
    assert_int_equal(tocsin_option_template(cfg, "template", 0, &t, err, sizeof(err)), -1);
    assert_string_equal(err, "option 'template': unclosed '{' in template");
    cfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_status_outcomes),
        cmocka_unit_test(ms_left_counts_down_and_stops_at_zero),
        cmocka_unit_test(utf8_len_of_good_and_bad_sequences),
        cmocka_unit_test(utf8_len_agrees_with_the_standard_table),
        cmocka_unit_test(utf8_valid_strings),
        cmocka_unit_test(utf8_clean_replaces_each_bad_byte),
        cmocka_unit_test(utf8_cut_keeps_characters_whole),
        cmocka_unit_test(show_makes_one_line),
        cmocka_unit_test(redact_hides_every_occurrence),
        cmocka_unit_test(capture_keeps_the_start),
        cmocka_unit_test(fnv1a_known_values),
        cmocka_unit_test(rfc3339_times),
        cmocka_unit_test(each_alert_is_delivered_and_the_worst_outcome_wins),
        cmocka_unit_test(option_str_is_null_when_empty),
        cmocka_unit_test(option_readable_names_the_file_and_the_reason),
        cmocka_unit_test(option_template_is_checked_and_copied),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
