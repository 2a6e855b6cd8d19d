/*
 * test_promtext.c - the prometheus check's exposition-format parser
 * (plugins/common/promtext.c) and expressions (plugins/common/promexpr.c)
 * without a network: every kind of line, malformed lines with their line
 * numbers, expression syntax, rates across counter resets, ratios under
 * min_volume, histogram quantiles against hand-computed values, fan-out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/promexpr.h"
#include "common/promtext.h"

/* Every sample as "name{a=v,b=w} value ts" lines, into got. */
struct dump {
    char text[4096];
    size_t used;
};

static int dump_sample(void *ud, const struct tocsin_promtext_sample *s)
{
    struct dump *d = ud;
    size_t i;

    tocsin_append(d->text, sizeof(d->text), &d->used, "%.*s{", (int)s->name_len, s->name);
    for (i = 0; i < s->nlabels; i++)
        tocsin_append(d->text, sizeof(d->text), &d->used, "%s%.*s=%.*s", i ? "," : "",
                      (int)s->labels[i].name_len, s->labels[i].name,
                      (int)s->labels[i].value_len, s->labels[i].value);
    tocsin_append(d->text, sizeof(d->text), &d->used, "} %g", s->value);
    if (s->has_timestamp)
        tocsin_append(d->text, sizeof(d->text), &d->used, " @%.0f", s->timestamp);
    tocsin_append(d->text, sizeof(d->text), &d->used, " t%d\n", (int)s->type);
    return 0;
}

static void expect_parse(const char *text, const char *expected)
{
    struct dump d = { .used = 0 };
    struct tocsin_promtext_error err;
    int rc;

    d.text[0] = '\0';
    rc = tocsin_promtext_parse(text, strlen(text), dump_sample, &d, &err);
    if (rc != 0)
        fail_msg("parsing %s: expected success, got %d at line %lu: %s", text, rc,
                 err.line, err.reason);
    if (strcmp(d.text, expected) != 0)
        fail_msg("parsing %s:\nexpected\n%s\ngot\n%s", text, expected, d.text);
}

static void expect_malformed(const char *text, size_t len, unsigned long line,
                             const char *reason)
{
    struct dump d = { .used = 0 };
    struct tocsin_promtext_error err;
    int rc = tocsin_promtext_parse(text, len ? len : strlen(text), dump_sample, &d,
                                   &err);

    if (rc != -1 || err.line != line || !strstr(err.reason, reason))
        fail_msg("parsing \"%s\": expected line %lu \"%s\", got rc %d line %lu \"%s\"",
                 text, line, reason, rc, err.line, err.reason);
}

static void parse_every_kind_of_line(void **state)
{
    (void)state;
    expect_parse("# HELP a_total Requests, with \\\\ and \\n in help\n"
                 "# TYPE a_total counter\n"
                 "a_total{code=\"200\",path=\"/x\"} 12\n"
                 "\n"
                 "   \n"
                 "# just a comment\n"
                 "a_total{code=\"500\"} 1.5e3 1700000000000\n",
                 "a_total{code=200,path=/x} 12 t1\n"
                 "a_total{code=500} 1500 @1700000000000 t1\n");
    expect_parse("g NaN\ng{} +Inf\ng -Inf\n",
                 "g{} nan t0\ng{} inf t0\ng{} -inf t0\n");
    expect_parse("m{v=\"a\\\\b\\\"c\\nd\"} 1\r\nm2 2\r\n",
                 "m{v=a\\b\"c\nd} 1 t0\nm2{} 2 t0\n");
    expect_parse("m{a=\"1\",} 3\n", "m{a=1} 3 t0\n");
    expect_parse("m { a = \"1\" , b=\"2\" } 3\n", "m{a=1,b=2} 3 t0\n");
    /* OpenMetrics: exemplars ignored, # EOF ends the text. */
    expect_parse("# TYPE h histogram\n"
                 "h_bucket{le=\"0.1\"} 4 # {trace_id=\"abc\"} 0.05 1.6e9\n"
                 "h_count 4\n# EOF\nnot read at all {\n",
                 "h_bucket{le=0.1} 4 t3\nh_count{} 4 t3\n");
    /* Prometheus 3 quoted names. */
    expect_parse("{\"my.metric\",job=\"x\"} 5\n", "my.metric{job=x} 5 t0\n");
    expect_parse("last 1", "last{} 1 t0\n");
    expect_parse("v{x=\"\xc3\xa9t\xc3\xa9\"} 1\n", "v{x=\xc3\xa9t\xc3\xa9} 1 t0\n");
}

static void parse_malformed_lines(void **state)
{
    (void)state;
    expect_malformed("ok 1\nbad{a=\"1\" 2\n", 0, 2, "expected ',' or '}'");
    expect_malformed("ok 1\n\nm{a=\"open} 1\n", 0, 3, "not closed");
    expect_malformed("m abc\n", 0, 1, "not a number");
    expect_malformed("m 1 2 3\n", 0, 1, "unexpected text");
    expect_malformed("m\n", 0, 1, "no value");
    expect_malformed("m{a=\"\\x\"} 1\n", 0, 1, "unknown escape");
    expect_malformed("# TYPE m countr\n", 0, 1, "unknown metric type");
    expect_malformed("a 1\nm{a=\"\xff\"} 1\n", 0, 2, "not valid UTF-8");
    expect_malformed("m 1\n{a=\"1\"} 2\n", 0, 2, "expected a metric name");
    expect_malformed("m{1a=\"1\"} 2\n", 0, 1, "expected a label name");
    expect_malformed("m 1\nm\0 2\n", 8, 2, "NUL");
    expect_malformed("m-x 1\n", 0, 1, "unexpected character");
}

static void parse_stops_at_callback(void **state)
{
    struct tocsin_promtext_error err;

    (void)state;
    assert_int_equal(tocsin_promtext_parse("", 0, dump_sample, NULL, &err), 0);
}

/* ---------------------------------------------------------------- */

static void expect_expr_error(const char *text, const char *reason)
{
    struct tocsin_promexpr e;
    char err[256];

    if (tocsin_promexpr_parse(text, &e, err, sizeof(err)) == 0) {
        tocsin_promexpr_free(&e);
        fail_msg("expression \"%s\": expected an error \"%s\", it was accepted", text,
                 reason);
    }
    if (!strstr(err, reason))
        fail_msg("expression \"%s\": expected \"%s\", got \"%s\"", text, reason, err);
}

static void expression_syntax(void **state)
{
    struct tocsin_promexpr e;
    char err[256];

    (void)state;
    assert_int_equal(tocsin_promexpr_parse("errors: rate(req_total{code=~\"5..\", "
                                           "job='api'}) / rate(req_total) by route,method "
                                           "min_volume 20 warning 1 critical 5",
                                           &e, err, sizeof(err)), 0);
    assert_string_equal(e.name, "errors");
    assert_int_equal(e.kind, TOCSIN_PROMEXPR_RATIO);
    assert_int_equal(e.nsel, 2);
    assert_int_equal(e.sel[0].nmatchers, 2);
    assert_int_equal(e.nby, 2);
    assert_string_equal(e.by[1], "method");
    assert_true(e.min_volume == 20);
    assert_string_equal(e.uom, "%");
    tocsin_promexpr_free(&e);

    assert_int_equal(tocsin_promexpr_parse("p99: p99(lat_seconds{job!~\"x|y\"}) "
                                           "scale 1000 unit ms warning 500",
                                           &e, err, sizeof(err)), 0);
    assert_int_equal(e.kind, TOCSIN_PROMEXPR_QUANTILE);
    assert_true(fabs(e.q - 0.99) < 1e-12);
    assert_string_equal(e.sel[0].metric, "lat_seconds_bucket");
    assert_string_equal(e.uom, "ms");
    tocsin_promexpr_free(&e);

    assert_int_equal(tocsin_promexpr_parse("hit: queue_length{job:x=\"\"} warning 80:",
                                           &e, err, sizeof(err)), -1);
    assert_int_equal(tocsin_promexpr_parse("q: job:queue_length warning 80:",
                                           &e, err, sizeof(err)), 0);
    assert_int_equal(e.kind, TOCSIN_PROMEXPR_VALUE);
    assert_true(e.th.warning.set);
    tocsin_promexpr_free(&e);

    expect_expr_error("no name", "NAME: EXPRESSION");
    expect_expr_error("x: rate(a", "expected ')'");
    expect_expr_error("x: a{b=~\"(\"}", "not a valid extended regular expression");
    expect_expr_error("x: a warning 1:0", "warning");
    expect_expr_error("x: a colour blue", "unknown word 'colour'");
    expect_expr_error("x: a min_volume 3", "min_volume applies to a ratio");
    expect_expr_error("x: quantile(1.5, h)", "between 0 and 1");
    expect_expr_error("x: a unit furlongs", "unit \"furlongs\"");
    expect_expr_error("x: a{b=\"c}", "not closed");
    expect_expr_error("x: a by", "needs a value");
}

/* ---------------------------------------------------------------- */

/* Collect `text` for expression `expr` into scrape at time `at`. */
static void collect(struct tocsin_promexpr *e, const char *text, double at,
                    struct tocsin_promexpr_scrape *sc)
{
    struct tocsin_promtext_error err;

    tocsin_promexpr_scrape_reset(sc);
    if (tocsin_promexpr_collect(e, 1, text, strlen(text), sc, &err) != 0)
        fail_msg("collecting: line %lu: %s", err.line, err.reason);
    sc->at = at;
}

/* The results of `expr` between two texts 2 s apart, as
 * "group=value(why)" joined by ' '. */
static void expect_eval(const char *expr, const char *before, const char *after,
                        const char *expected)
{
    struct tocsin_promexpr e;
    struct tocsin_promexpr_scrape a, b;
    struct tocsin_promexpr_result *r;
    size_t n, matched, i, used = 0;
    char err[256], got[1024];

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    if (tocsin_promexpr_parse(expr, &e, err, sizeof(err)) != 0)
        fail_msg("expression \"%s\": %s", expr, err);
    collect(&e, before, 10, &a);
    collect(&e, after, 12, &b);
    assert_int_equal(tocsin_promexpr_eval(&e, 0, &a, &b, &r, &n, &matched), 0);
    got[0] = '\0';
    for (i = 0; i < n; i++)
        tocsin_append(got, sizeof(got), &used, "%s%s=%g%s%s%s", i ? " " : "",
                      r[i].group, r[i].value, r[i].why ? "(" : "",
                      r[i].why ? r[i].why : "", r[i].why ? ")" : "");
    if (strcmp(got, expected) != 0)
        fail_msg("%s: expected \"%s\", got \"%s\"", expr, expected, got);
    tocsin_promexpr_results_free(r, n);
    tocsin_promexpr_scrape_free(&a);
    tocsin_promexpr_scrape_free(&b);
    tocsin_promexpr_free(&e);
}

static const char REQ_BEFORE[] =
    "req_total{code=\"200\",route=\"/a\"} 100\n"
    "req_total{code=\"500\",route=\"/a\"} 10\n"
    "req_total{code=\"200\",route=\"/b\"} 50\n"
    "req_total{code=\"404\",route=\"/b\"} 5\n";
static const char REQ_AFTER[] =
    "req_total{code=\"200\",route=\"/a\"} 180\n"
    "req_total{code=\"500\",route=\"/a\"} 30\n"
    "req_total{code=\"200\",route=\"/b\"} 52\n"
    "req_total{code=\"404\",route=\"/b\"} 5\n"
    "req_total{code=\"503\",route=\"/b\"} 1\n";

static void rates_and_matchers(void **state)
{
    (void)state;
    /* +80 +20 +2 +0 and a new series counted from 0: +1, over 2 s. */
    expect_eval("r: rate(req_total)", REQ_BEFORE, REQ_AFTER, "=51.5");
    expect_eval("r: rate(req_total{code=\"200\"})", REQ_BEFORE, REQ_AFTER, "=41");
    expect_eval("r: rate(req_total{code!=\"200\"})", REQ_BEFORE, REQ_AFTER, "=10.5");
    expect_eval("r: rate(req_total{code=~\"5..\"})", REQ_BEFORE, REQ_AFTER, "=10.5");
    expect_eval("r: rate(req_total{code!~\"[45]..\"})", REQ_BEFORE, REQ_AFTER, "=41");
    expect_eval("r: rate(req_total{code=~\"5\"})", REQ_BEFORE, REQ_AFTER, "");
    expect_eval("r: rate(req_total) by route", REQ_BEFORE, REQ_AFTER, "/a=50 /b=1.5");
    /* Patterns read without regexec ('.', ".*", '|') and with it agree. */
    expect_eval("r: rate(req_total{code=~\"5.*|40.\"})", REQ_BEFORE, REQ_AFTER,
                "=10.5");
    expect_eval("r: rate(req_total{code=~\"(5.*|40.)\"})", REQ_BEFORE, REQ_AFTER,
                "=10.5");
    expect_eval("r: rate(req_total{route=~\".*b\",code!~\"2.*\"})", REQ_BEFORE,
                REQ_AFTER, "=0.5");
    expect_eval("r: rate(req_total{route=~\"/\"})", REQ_BEFORE, REQ_AFTER, "");
    expect_eval("r: rate(req_total{route=~\"/.\",code=~\"200|503\"}) by code",
                REQ_BEFORE, REQ_AFTER, "200=41 503=0.5");
    expect_eval("r: increase(req_total) scale 0.5", REQ_BEFORE, REQ_AFTER, "=25.75");
    /* A reset: 30 -> 4 counts as 4. */
    expect_eval("r: rate(c_total)", "c_total 30\n", "c_total 4\n", "=2");
    expect_eval("g: value(temp) by room", "temp{room=\"x\"} 1\n",
                "temp{room=\"x\"} 21.5\ntemp{room=\"y\"} 19\n", "x=21.5 y=19");
}

static void ratios_and_min_volume(void **state)
{
    (void)state;
    /* 20 errors of 103 requests. */
    expect_eval("e: rate(req_total{code=~\"5..\"}) / rate(req_total)", REQ_BEFORE,
                REQ_AFTER, "=20.3883");
    expect_eval("e: ratio(req_total{code=~\"5..\"}, req_total) by route", REQ_BEFORE,
                REQ_AFTER, "/a=20 /b=33.3333");
    /* /b has 3 requests, one failed: not a 33 % error rate. */
    expect_eval("e: rate(req_total{code=~\"5..\"}) / rate(req_total) by route "
                "min_volume 20", REQ_BEFORE, REQ_AFTER,
                "/a=20 /b=nan(below min_volume)");
    expect_eval("e: rate(req_total{code=~\"5..\"}) / rate(req_total)", REQ_BEFORE,
                REQ_BEFORE, "=nan(nothing counted in the interval)");
}

static const char H_BEFORE[] =
    "# TYPE lat_seconds histogram\n"
    "lat_seconds_bucket{route=\"/a\",le=\"0.1\"} 10\n"
    "lat_seconds_bucket{route=\"/a\",le=\"0.5\"} 10\n"
    "lat_seconds_bucket{route=\"/a\",le=\"1\"} 10\n"
    "lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 10\n"
    "lat_seconds_sum{route=\"/a\"} 0.5\n"
    "lat_seconds_count{route=\"/a\"} 10\n";
/* Over the interval on /a: 60 under 0.1, 30 in (0.1, 0.5], 8 in (0.5, 1],
 * 2 above 1; on /b, 4 in (0.5, 1]. */
static const char H_AFTER[] =
    "# TYPE lat_seconds histogram\n"
    "lat_seconds_bucket{route=\"/a\",le=\"0.1\"} 70\n"
    "lat_seconds_bucket{route=\"/a\",le=\"0.5\"} 100\n"
    "lat_seconds_bucket{route=\"/a\",le=\"1\"} 108\n"
    "lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 110\n"
    "lat_seconds_bucket{route=\"/b\",le=\"0.1\"} 0\n"
    "lat_seconds_bucket{route=\"/b\",le=\"0.5\"} 0\n"
    "lat_seconds_bucket{route=\"/b\",le=\"1\"} 4\n"
    "lat_seconds_bucket{route=\"/b\",le=\"+Inf\"} 4\n";

static void quantiles(void **state)
{
    double les[] = {0.1, 0.5, 1, INFINITY}, counts[4];

    (void)state;
    /* p50: rank 50 in the first bucket, 0 + 0.1 * 50/60. */
    expect_eval("p: quantile(0.5, lat_seconds{route=\"/a\"})", H_BEFORE, H_AFTER,
                "=0.0833333");
    /* p95: rank 95 of 100 in (0.5, 1], where 90 to 98 lie: 0.5 + 0.5 * 5/8. */
    expect_eval("p: p95(lat_seconds{route=\"/a\"})", H_BEFORE, H_AFTER, "=0.8125");
    /* p99: rank 99 in the +Inf bucket: the highest finite bound. */
    expect_eval("p: p99(lat_seconds_bucket{route=\"/a\"})", H_BEFORE, H_AFTER, "=1");
    expect_eval("p: quantile(0.5, lat_seconds) by route", H_BEFORE, H_AFTER,
                "/a=0.0833333 /b=0.75");
    expect_eval("p: quantile(0.5, lat_seconds) by route min_volume 5", H_BEFORE,
                H_AFTER, "/a=0.0833333 /b=nan(below min_volume)");
    expect_eval("p: quantile(0.5, lat_seconds{route=\"/a\"})", H_BEFORE, H_BEFORE,
                "=nan(no observations in the interval)");
    expect_eval("p: quantile(0.5, lat_seconds)",
                "lat_seconds_bucket{le=\"1\"} 1\n", "lat_seconds_bucket{le=\"1\"} 3\n",
                "=nan(the histogram has no le=\"+Inf\" bucket)");

    counts[0] = 0; counts[1] = 0; counts[2] = 0; counts[3] = 0;
    assert_true(isnan(tocsin_promexpr_quantile(0.5, les, counts, 4)));
    counts[0] = 5; counts[1] = 3; counts[2] = 10; counts[3] = 10;
    /* Non-monotonic buckets are raised: 5 5 10 10; rank 7.5 in (0.5, 1]. */
    assert_true(fabs(tocsin_promexpr_quantile(0.75, les, counts, 4) - 0.75) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_every_kind_of_line),
        cmocka_unit_test(parse_malformed_lines),
        cmocka_unit_test(parse_stops_at_callback),
        cmocka_unit_test(expression_syntax),
        cmocka_unit_test(rates_and_matchers),
        cmocka_unit_test(ratios_and_min_volume),
        cmocka_unit_test(quantiles),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
