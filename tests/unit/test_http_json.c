/*
 * test_http_json.c - the JSON rules of the http check (plugins/common/http-json.c,
 * included here for its static helpers): RFC 6901 pointers, the parsing of
 * json_expect and json_value rules with their mistakes, the comparisons
 * and the numbers read from an answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugins/common/rule.c"
#include "../../plugins/common/http-json.c"

static const char *const own_labels[] = {"time", "size", "status", NULL};

static const char doc_text[] =
    "{\"status\":\"ok\",\"db\":\"down\",\"n\":3,\"f\":1.5,\"up\":true,"
    "\"s\":\"12.5\",\"bad\":\"12x\",\"nil\":null,"
    "\"checks\":[{\"name\":\"db\",\"ms\":40},{\"name\":\"cache\",\"ms\":7}],"
    "\"a/b\":{\"m~n\":\"slash and tilde\"},\"\":\"empty key\","
    "\"long\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";

static json_t *doc_load(void)
{
    char err[256];
    json_t *doc = http_json_load(doc_text, strlen(doc_text), err, sizeof(err));

    if (!doc)
        fail_msg("test document does not parse: %s", err);
    return doc;
}

/* The JSON text of what `pointer` designates, or "(none)". */
static void expect_at(json_t *doc, const char *pointer, const char *expected)
{
    json_t *v = http_json_pointer(doc, pointer);
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    const char *got = v ? (text ? text : "(dump failed)") : "(none)";

    if (strcmp(got, expected) != 0)
        fail_msg("pointer \"%s\": expected %s, got %s", pointer, expected, got);
    free(text);
}

static void pointers(void **state)
{
    json_t *doc = doc_load();

    (void)state;
    expect_at(doc, "/status", "\"ok\"");
    expect_at(doc, "/checks/0/name", "\"db\"");
    expect_at(doc, "/checks/1/ms", "7");
    expect_at(doc, "/a~1b/m~0n", "\"slash and tilde\"");
    expect_at(doc, "/", "\"empty key\"");
    expect_at(doc, "/missing", "(none)");
    expect_at(doc, "/checks/2", "(none)");
    expect_at(doc, "/checks/-", "(none)");
    expect_at(doc, "/checks/01", "(none)");
    expect_at(doc, "/checks/x", "(none)");
    expect_at(doc, "/status/deeper", "(none)");
    expect_at(doc, "status", "(none)");
    expect_at(doc, "/a~2b", "(none)");
    assert_ptr_equal(http_json_pointer(doc, ""), doc);
    json_decref(doc);
}

/* Parse `rule` as json_expect and evaluate it on the test document. */
static void expect_rule(const char *rule, int holds, const char *why_expected)
{
    struct http_json_rules r = {0};
    char err[512], why[64] = "";
    json_t *doc = doc_load();
    int got;

    if (http_json_add_expect(&r, rule, err, sizeof(err)) < 0)
        fail_msg("rule \"%s\" refused: %s", rule, err);
    assert_int_equal(r.n_expects, 1);
    got = http_json_expect_holds(&r.expects[0], doc, why, sizeof(why));
    if (got != holds)
        fail_msg("rule \"%s\": expected %s, got %s (%s)", rule,
                 holds ? "holds" : "fails", got ? "holds" : "fails", why);
    if (!holds && strcmp(why, why_expected) != 0)
        fail_msg("rule \"%s\": expected why \"%s\", got \"%s\"", rule, why_expected, why);
    http_json_rules_free(&r);
    json_decref(doc);
}

static void expectations(void **state)
{
    (void)state;
    expect_rule("/status == \"ok\"", 1, "");
    expect_rule("/status == ok", 1, "");
    expect_rule("  /status==ok  ", 1, "");
    expect_rule("/status != \"ok\"", 0, "\"ok\"");
    expect_rule("/db != \"down\"", 0, "\"down\"");
    expect_rule("/db == up", 0, "\"down\"");
    expect_rule("/n == 3", 1, "");
    expect_rule("/n == 3.0", 1, "");
    expect_rule("/n == \"3\"", 0, "3");
    expect_rule("/f == 1.5", 1, "");
    expect_rule("/up == true", 1, "");
    expect_rule("/up == \"true\"", 0, "true");
    expect_rule("/nil == null", 1, "");
    expect_rule("/missing == ok", 0, "missing");
    expect_rule("/missing != down", 1, "");
    expect_rule("/checks/0 == {\"name\":\"db\",\"ms\":40}", 1, "");
    expect_rule("'/a~1b/m~0n' == slash and tilde", 1, "");
    expect_rule("/checks == []", 0, "[{\"name\":\"db\",\"ms\":40},{\"name\":\"cache\",\"ms\":7}]");
    /* What was found is cut to the room given for it (64 bytes here). */
    expect_rule("/long == short", 0,
                "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...");
}

/* A rule refused, with a message containing `part`. */
static void refused(int value_rule, const char *rule, const char *part)
{
    struct http_json_rules r = {0};
    char err[512] = "";
    int rc = value_rule ? http_json_add_value(&r, rule, own_labels, err, sizeof(err))
                        : http_json_add_expect(&r, rule, err, sizeof(err));

    if (rc == 0)
        fail_msg("rule \"%s\" accepted", rule);
    if (!strstr(err, part))
        fail_msg("rule \"%s\": expected a message with \"%s\", got \"%s\"", rule, part,
                 err);
    assert_int_equal(r.n_expects + r.n_values, 0);
    http_json_rules_free(&r);
}

static void bad_rules(void **state)
{
    char huge[TOCSIN_RULE_MAX + 8];

    (void)state;
    refused(0, "/status = ok", "write the pointer, == or !=");
    refused(0, "/status", "write the pointer, == or !=");
    refused(0, "/status ==   ", "no value after ==");
    refused(0, "status == ok", "is not a JSON pointer");
    refused(0, "/a~2 == ok", "is not a JSON pointer");
    refused(0, "'/open == ok", "never closed");
    refused(0, "/s == \xff\xfe", "not valid UTF-8");
    refused(1, "/n warning=abc", "warning");
    refused(1, "/n colour=red", "unknown setting \"colour\"");
    refused(1, "/n 100", "is not NAME=VALUE");
    refused(1, "/n unit=1s", "is not a performance data unit");
    refused(1, "/time", "is the check's own");
    refused(1, "/n label=a=b", "cannot be a performance data label");
    refused(1, "/it's", "cannot be a performance data label");
    memset(huge, 'a', sizeof(huge) - 1);
    huge[0] = '/';
    huge[sizeof(huge) - 1] = '\0';
    refused(1, huge, "longer than");
    refused(0, huge, "longer than");
}

static void value_rules(void **state)
{
    struct http_json_rules r = {0};
    char err[512];

    (void)state;
    assert_int_equal(http_json_add_value(&r, "/queue/depth warning=100 critical=500",
                                         own_labels, err, sizeof(err)), 0);
    assert_int_equal(http_json_add_value(&r, "/hit_pct warning=80: critical=50: unit=%",
                                         own_labels, err, sizeof(err)), 0);
    assert_int_equal(http_json_add_value(&r, "/checks/0/ms label=db_ms unit=ms",
                                         own_labels, err, sizeof(err)), 0);
    assert_int_equal(http_json_add_value(&r, "/a~1b/x~0", own_labels, err,
                                         sizeof(err)), 0);
    assert_int_equal(http_json_add_value(&r, "", own_labels, err, sizeof(err)), 0);
    assert_int_equal(r.n_values, 5);
    assert_string_equal(r.values[0].label, "queue.depth");
    assert_string_equal(r.values[0].unit, "");
    assert_int_equal(tocsin_thresholds_eval(&r.values[0].th, 99), TOCSIN_OK);
    assert_int_equal(tocsin_thresholds_eval(&r.values[0].th, 101), TOCSIN_WARNING);
    assert_int_equal(tocsin_thresholds_eval(&r.values[0].th, 501), TOCSIN_CRITICAL);
    assert_string_equal(r.values[1].unit, "%");
    assert_int_equal(tocsin_thresholds_eval(&r.values[1].th, 79), TOCSIN_WARNING);
    assert_int_equal(tocsin_thresholds_eval(&r.values[1].th, 49), TOCSIN_CRITICAL);
    assert_string_equal(r.values[2].label, "db_ms");
    assert_string_equal(r.values[3].label, "a/b.x~");
    assert_string_equal(r.values[4].label, "value");
    /* A second rule on the same label is refused and names the first. */
    assert_int_equal(http_json_add_value(&r, "/queue/depth critical=1", own_labels,
                                         err, sizeof(err)), -1);
    assert_non_null(strstr(err, "already used by \"/queue/depth\""));
    assert_int_equal(r.n_values, 5);
    http_json_rules_free(&r);
    assert_int_equal(r.n_values, 0);
}

/* The number at `pointer`, or the reason there is none. */
static void expect_number(json_t *doc, const char *pointer, int ok, double want,
                          const char *why_expected)
{
    char why[64] = "";
    double d = -1;
    int rc = http_json_number(http_json_pointer(doc, pointer), &d, why, sizeof(why));

    if ((rc == 0) != ok)
        fail_msg("pointer \"%s\": expected %s, got rc %d (%s)", pointer,
                 ok ? "a number" : "no number", rc, why);
    if (ok && d != want)
        fail_msg("pointer \"%s\": expected %g, got %g", pointer, want, d);
    if (!ok && strcmp(why, why_expected) != 0)
        fail_msg("pointer \"%s\": expected \"%s\", got \"%s\"", pointer,
                 why_expected, why);
}

static void numbers(void **state)
{
    json_t *doc = doc_load();

    (void)state;
    expect_number(doc, "/n", 1, 3, "");
    expect_number(doc, "/f", 1, 1.5, "");
    expect_number(doc, "/up", 1, 1, "");
    expect_number(doc, "/s", 1, 12.5, "");
    expect_number(doc, "/bad", 0, 0, "a string that is not a number");
    expect_number(doc, "/status", 0, 0, "a string that is not a number");
    expect_number(doc, "/nil", 0, 0, "null");
    expect_number(doc, "/checks", 0, 0, "an array");
    expect_number(doc, "/checks/0", 0, 0, "an object");
    expect_number(doc, "/missing", 0, 0, "missing");
    json_decref(doc);
}

static void loading(void **state)
{
    char err[256];
    json_t *doc;

    (void)state;
    doc = http_json_load("{\"db\": down}", 12, err, sizeof(err));
    assert_null(doc);
    assert_non_null(strstr(err, "line 1 column"));
    doc = http_json_load("", 0, err, sizeof(err));
    assert_null(doc);
    doc = http_json_load("{\"s\":\"\xff\"}", 8, err, sizeof(err));
    assert_null(doc);
    doc = http_json_load("{\"a\":1", 6, err, sizeof(err));
    assert_null(doc);
    doc = http_json_load("42", 2, err, sizeof(err));
    assert_non_null(doc);
    assert_true(json_is_integer(doc));
    json_decref(doc);
    /* Only `len` bytes count: what follows is not read. */
    doc = http_json_load("[1]garbage", 3, err, sizeof(err));
    assert_non_null(doc);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pointers),
        cmocka_unit_test(expectations),
        cmocka_unit_test(bad_rules),
        cmocka_unit_test(value_rules),
        cmocka_unit_test(numbers),
        cmocka_unit_test(loading),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
