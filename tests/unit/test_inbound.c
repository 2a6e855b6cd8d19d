/*
 * test_inbound.c - the parsers of submitted results (core/serve/inbound.c):
 * the JSON form, Nagios PROCESS_SERVICE_CHECK_RESULT lines, Alertmanager's
 * webhook payload, the silence text of a missed heartbeat and the glob
 * match of a token's services.
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
#include "serve/inbound.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

typedef int (*parse_fn)(const char *, size_t, struct tocsin_inbound *, char *, size_t);

/* Parse `body` with `fn`, expecting success; the caller frees `in`. */
static void parse_ok(parse_fn fn, const char *body, struct tocsin_inbound *in)
{
    char err[512] = "";

    if (fn(body, strlen(body), in, err, sizeof(err)) != 0)
        fail_msg("expected %s to parse; it was refused: %s", body, err);
}

/* Parse `body` with `fn`, expecting a refusal whose reason contains
 * `want`; nothing may be left in the list. */
static void parse_bad(parse_fn fn, const char *body, const char *want)
{
    struct tocsin_inbound in;
    char err[512] = "";

    if (fn(body, strlen(body), &in, err, sizeof(err)) == 0) {
        fail_msg("expected %s to be refused with \"%s\"; it parsed into %zu results", body,
                 want, in.n);
    }
    if (!strstr(err, want))
        fail_msg("%s: expected a reason with \"%s\", got \"%s\"", body, want, err);
    assert_int_equal(in.n, 0);
    assert_null(in.items);
}

static void expect_item(const struct tocsin_inbound *in, size_t i, const char *service,
                        const char *host, int state, const char *output)
{
    const struct tocsin_inbound_item *it;

    if (i >= in->n)
        fail_msg("expected a result %zu for %s; there are %zu", i + 1, service, in->n);
    it = &in->items[i];
    assert_string_equal(it->service, service);
    if (host)
        assert_string_equal(it->host, host);
    else if (it->host)
        fail_msg("result %zu: expected no host, got \"%s\"", i + 1, it->host);
    if (it->state != state)
        fail_msg("result %zu (%s): expected state %d, got %d", i + 1, service, state,
                 it->state);
    assert_string_equal(it->output, output);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

static void test_json_one_result_with_perfdata(void **state)
{
    struct tocsin_inbound in;

    (void)state;
    parse_ok(tocsin_inbound_parse_results,
             "{\"service\":\"backup\",\"state\":\"ok\",\"output\":\"done in 3 s\","
             "\"perfdata\":\"time=3s;60;120\"}", &in);
    assert_int_equal(in.n, 1);
    expect_item(&in, 0, "backup", NULL, 0, "done in 3 s|time=3s;60;120");
    tocsin_inbound_free(&in);
}

static void test_json_list_states_by_name_and_number(void **state)
{
    struct tocsin_inbound in;

    (void)state;
    parse_ok(tocsin_inbound_parse_results,
             "  [{\"service\":\"a\",\"state\":\"CRITICAL\",\"output\":\"down\\nmore\","
             "\"perfdata\":\"x=1\"},"
             "{\"service\":\"b\",\"state\":1,\"host\":\"db1\"},"
             "{\"service\":\"c\",\"state\":\"3\",\"output\":null}]", &in);
    assert_int_equal(in.n, 3);
    expect_item(&in, 0, "a", NULL, 2, "down|x=1\nmore");
    expect_item(&in, 1, "b", "db1", 1, "");
    expect_item(&in, 2, "c", NULL, 3, "");
    tocsin_inbound_free(&in);
}

static void test_json_refusals_say_why(void **state)
{
    (void)state;
    parse_bad(tocsin_inbound_parse_results, "{\"service\":\"a\"", "not valid JSON");
    parse_bad(tocsin_inbound_parse_results, "{\"state\":\"ok\"}", "\"service\" must be");
    parse_bad(tocsin_inbound_parse_results, "{\"service\":\"\",\"state\":\"ok\"}",
              "\"service\" must be");
    parse_bad(tocsin_inbound_parse_results, "{\"service\":\"a\"}", "no \"state\"");
    parse_bad(tocsin_inbound_parse_results, "{\"service\":\"a\",\"state\":\"fine\"}",
              "\"state\" is not ok");
    parse_bad(tocsin_inbound_parse_results, "{\"service\":\"a\",\"state\":4}",
              "\"state\" is not ok");
    parse_bad(tocsin_inbound_parse_results, "{\"service\":\"a\",\"state\":true}",
              "\"state\" is not ok");
    parse_bad(tocsin_inbound_parse_results, "{\"service\":\"a\",\"state\":0,\"output\":5}",
              "\"output\" must be a string");
    parse_bad(tocsin_inbound_parse_results,
              "{\"service\":\"a\",\"state\":0,\"perfdata\":\"a=1\\nb=2\"}", "one line");
    parse_bad(tocsin_inbound_parse_results, "{\"service\":\"a\\u0001\",\"state\":0}",
              "\"service\" must be");
    parse_bad(tocsin_inbound_parse_results, "[]", "an empty list");
    parse_bad(tocsin_inbound_parse_results, "[{\"service\":\"a\",\"state\":0}, 7]",
              "result 2 is not an object");
    parse_bad(tocsin_inbound_parse_results,
              "{\"service\":\"a\",\"state\":0,\"service\":\"b\"}", "not valid JSON");
    parse_bad(tocsin_inbound_parse_results, "   \n ", "an empty body");
}

static void test_json_too_many_results(void **state)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    int i;

    (void)state;
    tocsin_buf_putc(&b, '[');
    for (i = 0; i <= TOCSIN_INBOUND_ITEMS_MAX; i++)
        tocsin_buf_printf(&b, "%s{\"service\":\"s\",\"state\":0}", i ? "," : "");
    tocsin_buf_putc(&b, ']');
    parse_bad(tocsin_inbound_parse_results, tocsin_buf_str(&b), "more than 1000 results");
    tocsin_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Nagios lines                                                        */
/* ------------------------------------------------------------------ */

static void test_nagios_lines_with_and_without_time(void **state)
{
    struct tocsin_inbound in;

    (void)state;
    parse_ok(tocsin_inbound_parse_results,
             "[1700000000] PROCESS_SERVICE_CHECK_RESULT;web1;backup;0;OK: done|t=3s\r\n"
             "\n"
             "PROCESS_SERVICE_CHECK_RESULT;;disk;2;CRITICAL; 95% used\\nsda1 full|u=95%\n"
             "  PROCESS_SERVICE_CHECK_RESULT;h;x;3;back\\\\slash", &in);
    assert_int_equal(in.n, 3);
    expect_item(&in, 0, "backup", "web1", 0, "OK: done|t=3s");
    expect_item(&in, 1, "disk", NULL, 2, "CRITICAL; 95% used\nsda1 full|u=95%");
    expect_item(&in, 2, "x", "h", 3, "back\\slash");
    tocsin_inbound_free(&in);
}

static void test_nagios_refusals_name_the_line(void **state)
{
    (void)state;
    parse_bad(tocsin_inbound_parse_results, "PROCESS_HOST_CHECK_RESULT;h;0;up",
              "line 1: not PROCESS_SERVICE_CHECK_RESULT");
    parse_bad(tocsin_inbound_parse_results,
              "PROCESS_SERVICE_CHECK_RESULT;h;a;0;ok\nPROCESS_SERVICE_CHECK_RESULT;h;b;4;x",
              "line 2: the return code must be 0, 1, 2 or 3");
    parse_bad(tocsin_inbound_parse_results, "PROCESS_SERVICE_CHECK_RESULT;h;a;0",
              "line 1: expected HOST;SERVICE;CODE;OUTPUT");
    parse_bad(tocsin_inbound_parse_results, "PROCESS_SERVICE_CHECK_RESULT;h;;0;x",
              "the service is not a valid name");
    parse_bad(tocsin_inbound_parse_results, "[12x] PROCESS_SERVICE_CHECK_RESULT;h;a;0;x",
              "not valid JSON");
    parse_bad(tocsin_inbound_parse_results, "[] PROCESS_SERVICE_CHECK_RESULT;h;a;0;x",
              "not valid JSON");
    parse_bad(tocsin_inbound_parse_results, "PROCESS_SERVICE_CHECK_RESULT;h;a;00;x",
              "the return code must be");
}

static void test_body_over_the_limit(void **state)
{
    char *big = malloc(TOCSIN_INBOUND_BODY_MAX + 2);
    struct tocsin_inbound in;
    char err[256] = "";

    (void)state;
    assert_non_null(big);
    memset(big, ' ', TOCSIN_INBOUND_BODY_MAX + 1);
    big[TOCSIN_INBOUND_BODY_MAX + 1] = '\0';
    assert_int_equal(tocsin_inbound_parse_results(big, TOCSIN_INBOUND_BODY_MAX + 1, &in, err,
                                                  sizeof(err)), -1);
    assert_string_equal(err, "the body is larger than 65536 bytes");
    free(big);
}

/* ------------------------------------------------------------------ */
/* Alertmanager                                                        */
/* ------------------------------------------------------------------ */

static void test_alertmanager_payload(void **state)
{
    struct tocsin_inbound in;

    (void)state;
    parse_ok(tocsin_inbound_parse_alertmanager,
             "{\"version\":\"4\",\"groupKey\":\"{}:{}\",\"status\":\"firing\","
             "\"receiver\":\"tocsin\",\"alerts\":["
             "{\"status\":\"firing\",\"labels\":{\"alertname\":\"DiskFull\","
             "\"severity\":\"critical\",\"instance\":\"db1\"},"
             "\"annotations\":{\"summary\":\"disk 95% | full\",\"description\":\"sda1\"},"
             "\"startsAt\":\"2026-01-01T00:00:00Z\",\"fingerprint\":\"abc\"},"
             "{\"status\":\"firing\",\"labels\":{\"alertname\":\"Slow\",\"service\":\"api\","
             "\"severity\":\"warning\"},\"annotations\":{\"description\":\"p99 2 s\"}},"
             "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"Gone\"},\"annotations\":{}},"
             "{\"status\":\"firing\",\"labels\":{\"alertname\":\"NoSeverity\"}}]}", &in);
    assert_int_equal(in.n, 4);
    expect_item(&in, 0, "DiskFull", NULL, 2, "disk 95% / full\nsda1");
    expect_item(&in, 1, "api", NULL, 1, "p99 2 s");
    expect_item(&in, 2, "Gone", NULL, 0, "resolved: Gone");
    expect_item(&in, 3, "NoSeverity", NULL, 2, "NoSeverity");
    tocsin_inbound_free(&in);
}

static void test_alertmanager_refusals(void **state)
{
    (void)state;
    parse_bad(tocsin_inbound_parse_alertmanager, "{\"alerts\":", "not valid JSON");
    parse_bad(tocsin_inbound_parse_alertmanager, "{\"status\":\"firing\"}", "no \"alerts\"");
    parse_bad(tocsin_inbound_parse_alertmanager, "[]", "no \"alerts\"");
    parse_bad(tocsin_inbound_parse_alertmanager, "{\"version\":\"3\",\"alerts\":[]}",
              "version 4");
    parse_bad(tocsin_inbound_parse_alertmanager, "{\"alerts\":[]}", "no alert");
    parse_bad(tocsin_inbound_parse_alertmanager,
              "{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"job\":\"x\"}}]}",
              "alert 1 has neither a service nor an alertname label");
    parse_bad(tocsin_inbound_parse_alertmanager,
              "{\"alerts\":[{\"status\":\"pending\",\"labels\":{\"alertname\":\"x\"}}]}",
              "status must be");
    parse_bad(tocsin_inbound_parse_alertmanager, "{\"alerts\":[{\"status\":\"firing\"}]}",
              "alert 1 has no labels");
}

/* ------------------------------------------------------------------ */
/* Helpers of the daemon                                               */
/* ------------------------------------------------------------------ */

static void test_silence_text(void **state)
{
    static const struct { long long s; const char *want; } cases[] = {
        { -5, "0 s" }, { 0, "0 s" }, { 2, "2 s" }, { 59, "59 s" }, { 60, "1 min 00 s" },
        { 310, "5 min 10 s" }, { 3900, "1 h 05 min" }, { 86399, "23 h 59 min" },
        { 2 * 86400 + 3 * 3600 + 59, "2 d 03 h" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tocsin_buf b = TOCSIN_BUF_INIT;

        tocsin_inbound_silence(&b, cases[i].s);
        if (strcmp(tocsin_buf_str(&b), cases[i].want) != 0)
            fail_msg("%lld s: expected \"%s\", got \"%s\"", cases[i].s, cases[i].want,
                     tocsin_buf_str(&b));
        tocsin_buf_free(&b);
    }
}

static void test_token_service_patterns(void **state)
{
    char *pats[] = { "backup*", "cron-?" };

    (void)state;
    assert_true(tocsin_inbound_allowed(pats, 2, "backup"));
    assert_true(tocsin_inbound_allowed(pats, 2, "backup-db"));
    assert_true(tocsin_inbound_allowed(pats, 2, "cron-1"));
    assert_false(tocsin_inbound_allowed(pats, 2, "cron-12"));
    assert_false(tocsin_inbound_allowed(pats, 2, "web"));
    assert_true(tocsin_inbound_allowed(NULL, 0, "anything"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_one_result_with_perfdata),
        cmocka_unit_test(test_json_list_states_by_name_and_number),
        cmocka_unit_test(test_json_refusals_say_why),
        cmocka_unit_test(test_json_too_many_results),
        cmocka_unit_test(test_nagios_lines_with_and_without_time),
        cmocka_unit_test(test_nagios_refusals_name_the_line),
        cmocka_unit_test(test_body_over_the_limit),
        cmocka_unit_test(test_alertmanager_payload),
        cmocka_unit_test(test_alertmanager_refusals),
        cmocka_unit_test(test_silence_text),
        cmocka_unit_test(test_token_service_patterns),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
