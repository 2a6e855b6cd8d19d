/*
 * test_icinga2.c - the request body of the icinga2 notifier
 * (plugins/icinga2.c, included here for its static functions), without a
 * network: performance data items, the fields sent, bytes that are not
 * UTF-8 sent as '?'.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugins/icinga2.c"

/* The items icinga2_perf_items() makes of `perf`, joined with '|'. */
static void expect_items(const char *perf, const char *expected)
{
    json_t *array = json_array(), *item;
    char got[1024];
    size_t used = 0, i;

    assert_non_null(array);
    assert_int_equal(icinga2_perf_items(perf, array), 0);
    got[0] = '\0';
    json_array_foreach(array, i, item)
        tocsin_append(got, sizeof(got), &used, "%s%s", i ? "|" : "",
                      json_string_value(item));
    if (strcmp(got, expected) != 0)
        fail_msg("perfdata \"%s\": expected items \"%s\", got \"%s\"", perf, expected, got);
    json_decref(array);
}

static void perfdata_items(void **state)
{
    (void)state;
    expect_items("", "");
    expect_items("a=1", "a=1");
    expect_items("  a=1;2;3;0;10   b=2s ", "a=1;2;3;0;10|b=2s");
    expect_items("'cache hit'=99% x=1", "'cache hit'=99%|x=1");
    expect_items("'it''s here'=1 'a b c'=2;;;0", "'it''s here'=1|'a b c'=2;;;0");
    expect_items("a=1\nb=2\tc=3", "a=1|b=2|c=3");
    expect_items("'unclosed quote=1 b=2", "'unclosed quote=1 b=2");
}

/* The body icinga2_body() makes of `a` for web1!db is `want`. */
static void expect_body(const struct icinga2 *ic, const struct tocsin_alert *a,
                        const char *want)
{
    char *body = icinga2_body(ic, a, "web1!db");

    if (!body)
        fail_msg("expected the body %s, got NULL", want);
    if (strcmp(body, want) != 0) {
        char copy[1024];

        snprintf(copy, sizeof(copy), "%s", body);
        free(body);
        fail_msg("expected the body\n  %s\ngot\n  %s", want, copy);
    }
    free(body);
}

static void body_fields(void **state)
{
    struct icinga2 ic;
    struct tocsin_alert a;

    (void)state;
    memset(&ic, 0, sizeof(ic));
    ic.check_source = "agent-1";
    memset(&a, 0, sizeof(a));
    a.state = TOCSIN_WARNING;
    a.output = "DB WARNING";
    a.long_output = "one\ntwo";
    a.perfdata = "'a b'=1s x=2";
    a.at = 1700000000;
    expect_body(&ic, &a,
        "{\"type\":\"Service\",\"service\":\"web1!db\",\"exit_status\":1,"
        "\"plugin_output\":\"DB WARNING\\none\\ntwo\",\"check_source\":\"agent-1\","
        "\"execution_start\":1700000000,\"execution_end\":1700000000,"
        "\"performance_data\":[\"'a b'=1s\",\"x=2\"]}");

    ic.ttl = 300;
    a.long_output = "";
    a.perfdata = "";
    expect_body(&ic, &a,
        "{\"type\":\"Service\",\"service\":\"web1!db\",\"exit_status\":1,"
        "\"plugin_output\":\"DB WARNING\",\"check_source\":\"agent-1\","
        "\"execution_start\":1700000000,\"execution_end\":1700000000,\"ttl\":300}");

    /* Bytes that are not UTF-8 go as '?', in the output and perfdata. */
    ic.ttl = 0;
    a.output = "caf\xe9 \xc3\xa9";
    a.perfdata = "'t\xff'=1";
    expect_body(&ic, &a,
        "{\"type\":\"Service\",\"service\":\"web1!db\",\"exit_status\":1,"
        "\"plugin_output\":\"caf? \xc3\xa9\",\"check_source\":\"agent-1\","
        "\"execution_start\":1700000000,\"execution_end\":1700000000,"
        "\"performance_data\":[\"'t?'=1\"]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(perfdata_items),
        cmocka_unit_test(body_fields),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
