/*
 * test_threshold.c - a service's thresholds on its plugin's performance
 * data (core/engine/threshold.c): the state they give, worst-of with the
 * plugin's own state, the output rewritten with the reason, and the
 * hysteresis of a `clear` range with its check at configuration time.
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
#include "config/config.h"
#include "engine/threshold.h"

#define MAX_THRESHOLDS 4

static struct tocsin_service_conf svc;
static struct tocsin_perf_threshold thresholds[MAX_THRESHOLDS];
static struct tocsin_buf out = TOCSIN_BUF_INIT;

static int setup(void **state)
{
    (void)state;
    memset(&svc, 0, sizeof(svc));
    memset(thresholds, 0, sizeof(thresholds));
    svc.inst.name = "svc";
    svc.thresholds = thresholds;
    tocsin_buf_reset(&out);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tocsin_buf_free(&out);
    return 0;
}

/* Hold perfdata `label` against `warning` and `critical` (NULL: none). */
static void add_threshold(char *label, const char *warning, const char *critical)
{
    struct tocsin_perf_threshold *t = &thresholds[svc.nthresholds];
    char err[128];

    assert_true(svc.nthresholds < MAX_THRESHOLDS);
    t->label = label;
    if (tocsin_range_parse(warning, &t->th.warning, err, sizeof(err)) < 0 ||
        tocsin_range_parse(critical, &t->th.critical, err, sizeof(err)) < 0)
        fail_msg("threshold on %s: a range was refused: %s", label, err);
    svc.nthresholds++;
}

/*
 * Apply the thresholds to `text` reported with `plugin_state`; expect
 * `expected_state` and, when `expected_output` is not NULL, a rewritten
 * output equal to it (return 1), else the output left as it is (return 0,
 * nothing written).
 */
static void expect_apply(const char *text, enum tocsin_state plugin_state,
                         enum tocsin_state expected_state, const char *expected_output)
{
    enum tocsin_state st = plugin_state;
    int rc;

    tocsin_buf_reset(&out);
    rc = tocsin_thresholds_apply(&svc, &st, text, strlen(text), &out, NULL);
    if (st != expected_state)
        fail_msg("\"%s\" (plugin %s): expected state %s, got %s", text,
                 tocsin_state_name(plugin_state), tocsin_state_name(expected_state),
                 tocsin_state_name(st));
    if (!expected_output) {
        if (rc != 0 || out.len)
            fail_msg("\"%s\": expected the output to stand (0, nothing written), got %d "
                     "and \"%s\"", text, rc, tocsin_buf_str(&out));
        return;
    }
    if (rc != 1)
        fail_msg("\"%s\": expected 1 (output rewritten), got %d", text, rc);
    if (strcmp(tocsin_buf_str(&out), expected_output) != 0)
        fail_msg("\"%s\": expected output\n  \"%s\"\ngot\n  \"%s\"", text, expected_output,
                 tocsin_buf_str(&out));
}

/* ------------------------------------------------------------------ */
/* One threshold                                                       */
/* ------------------------------------------------------------------ */

static void threshold_within_leaves_the_output(void **state)
{
    (void)state;
    add_threshold("users", "5", "10");
    expect_apply("USERS OK - 3 users | users=3;;;0", TOCSIN_OK, TOCSIN_OK, NULL);
    expect_apply("USERS OK - 5 users | users=5;;;0", TOCSIN_OK, TOCSIN_OK, NULL);
}

static void threshold_outside_warning(void **state)
{
    (void)state;
    add_threshold("users", "5", "10");
    expect_apply("USERS OK - 7 users | users=7;;;0", TOCSIN_OK, TOCSIN_WARNING,
                 "USERS OK - 7 users (users=7 outside warning range 5) | users=7;;;0");
}

static void threshold_outside_critical(void **state)
{
    (void)state;
    add_threshold("users", "5", "10");
    expect_apply("USERS OK - 12 users | users=12;;;0", TOCSIN_OK, TOCSIN_CRITICAL,
                 "USERS OK - 12 users (users=12 outside critical range 10) | users=12;;;0");
    /* The bound itself is within ("10" is 0..10 inclusive). */
    expect_apply("USERS OK - 10 users | users=10;;;0", TOCSIN_OK, TOCSIN_WARNING,
                 "USERS OK - 10 users (users=10 outside warning range 5) | users=10;;;0");
}

static void threshold_range_forms(void **state)
{
    (void)state;
    add_threshold("free", "20:", "@0:5");
    expect_apply("OK | free=30", TOCSIN_OK, TOCSIN_OK, NULL);
    expect_apply("OK | free=10", TOCSIN_OK, TOCSIN_WARNING,
                 "OK (free=10 outside warning range 20:) | free=10");
    expect_apply("OK | free=5", TOCSIN_OK, TOCSIN_CRITICAL,
                 "OK (free=5 outside critical range @5) | free=5");
    expect_apply("OK | free=-1", TOCSIN_OK, TOCSIN_WARNING,
                 "OK (free=-1 outside warning range 20:) | free=-1");
}

static void threshold_no_thresholds_is_zero(void **state)
{
    (void)state;
    expect_apply("OK | users=1000", TOCSIN_OK, TOCSIN_OK, NULL);
    expect_apply("CRITICAL - down | users=1000", TOCSIN_CRITICAL, TOCSIN_CRITICAL, NULL);
    expect_apply("no perfdata", TOCSIN_UNKNOWN, TOCSIN_UNKNOWN, NULL);
}

/* ------------------------------------------------------------------ */
/* Worst of the plugin's state and the thresholds'                     */
/* ------------------------------------------------------------------ */

static void threshold_never_lowers_the_plugin_state(void **state)
{
    (void)state;
    add_threshold("load1", "3", "5");
    /* Within the thresholds: the plugin's own state stands, untouched. */
    expect_apply("LOAD CRITICAL | load1=1", TOCSIN_CRITICAL, TOCSIN_CRITICAL, NULL);
    expect_apply("LOAD WARNING | load1=1", TOCSIN_WARNING, TOCSIN_WARNING, NULL);
    /* A warning figure keeps a worse plugin state, with the reason added. */
    expect_apply("LOAD CRITICAL | load1=4", TOCSIN_CRITICAL, TOCSIN_CRITICAL,
                 "LOAD CRITICAL (load1=4 outside warning range 3) | load1=4");
    expect_apply("LOAD UNKNOWN | load1=4", TOCSIN_UNKNOWN, TOCSIN_UNKNOWN,
                 "LOAD UNKNOWN (load1=4 outside warning range 3) | load1=4");
    /* A critical figure beats a plugin's WARNING and UNKNOWN. */
    expect_apply("LOAD WARNING | load1=6", TOCSIN_WARNING, TOCSIN_CRITICAL,
                 "LOAD WARNING (load1=6 outside critical range 5) | load1=6");
    expect_apply("LOAD UNKNOWN | load1=6", TOCSIN_UNKNOWN, TOCSIN_CRITICAL,
                 "LOAD UNKNOWN (load1=6 outside critical range 5) | load1=6");
}

/* ------------------------------------------------------------------ */
/* Figures that cannot be judged                                       */
/* ------------------------------------------------------------------ */

static void threshold_missing_label_is_unknown(void **state)
{
    (void)state;
    add_threshold("users", "5", "10");
    expect_apply("USERS OK | sessions=3", TOCSIN_OK, TOCSIN_UNKNOWN,
                 "USERS OK (perfdata 'users' is missing) | sessions=3");
    expect_apply("USERS OK - no perfdata at all", TOCSIN_OK, TOCSIN_UNKNOWN,
                 "USERS OK - no perfdata at all (perfdata 'users' is missing)");
    /* Labels are compared exactly. */
    expect_apply("OK | Users=3 users_total=3", TOCSIN_WARNING, TOCSIN_UNKNOWN,
                 "OK (perfdata 'users' is missing) | Users=3 users_total=3");
    /* UNKNOWN does not lower a CRITICAL plugin state. */
    expect_apply("USERS CRITICAL", TOCSIN_CRITICAL, TOCSIN_CRITICAL,
                 "USERS CRITICAL (perfdata 'users' is missing)");
}

static void threshold_value_u_is_unknown(void **state)
{
    (void)state;
    add_threshold("lag", "10", "60");
    expect_apply("REPLICATION OK | lag=U;10;60", TOCSIN_OK, TOCSIN_UNKNOWN,
                 "REPLICATION OK (perfdata 'lag' has no value (U)) | lag=U;10;60");
    expect_apply("REPLICATION OK | lag=Us", TOCSIN_OK, TOCSIN_UNKNOWN,
                 "REPLICATION OK (perfdata 'lag' has no value (U)) | lag=Us");
}

/* ------------------------------------------------------------------ */
/* Labels, units, several thresholds                                   */
/* ------------------------------------------------------------------ */

static void threshold_quoted_label_with_spaces(void **state)
{
    (void)state;
    add_threshold("free space /var", "10:", "5:");
    expect_apply("DISK OK | 'free space /var'=4GB;;;0;100 'free space /'=50GB", TOCSIN_OK,
                 TOCSIN_CRITICAL,
                 "DISK OK (free space /var=4GB outside critical range 5:) | "
                 "'free space /var'=4GB;;;0;100 'free space /'=50GB");
    /* A quote inside a quoted label is written twice. */
    setup(NULL);
    add_threshold("o'clock", "1", "2");
    expect_apply("OK | 'o''clock'=3", TOCSIN_OK, TOCSIN_CRITICAL,
                 "OK (o'clock=3 outside critical range 2) | 'o''clock'=3");
}

static void threshold_units_of_measure(void **state)
{
    (void)state;
    add_threshold("time", "~:2", "~:3");
    add_threshold("used", "80", "90");
    expect_apply("HTTP OK | time=3.2s;;;0 used=85%", TOCSIN_OK, TOCSIN_CRITICAL,
                 "HTTP OK (time=3.2s outside critical range ~:3, used=85% outside "
                 "warning range 80) | time=3.2s;;;0 used=85%");
    /* The figure is compared as the plugin reports it: no unit conversion. */
    expect_apply("HTTP OK | time=1500ms used=1%", TOCSIN_OK, TOCSIN_CRITICAL,
                 "HTTP OK (time=1500ms outside critical range ~:3) | time=1500ms used=1%");
    expect_apply("HTTP OK | time=0.25s used=12.5%", TOCSIN_OK, TOCSIN_OK, NULL);
}

/* The reason gives the figure in full, as in the perfdata, not rounded
 * to six digits. */
static void threshold_reason_keeps_every_digit(void **state)
{
    (void)state;
    add_threshold("bytes", NULL, "100000000");
    add_threshold("ratio", NULL, "0.00001");
    expect_apply("OK | bytes=123456789B ratio=0.000012", TOCSIN_OK, TOCSIN_CRITICAL,
                 "OK (bytes=123456789B outside critical range 100000000, "
                 "ratio=0.000012 outside critical range 0.00001) | "
                 "bytes=123456789B ratio=0.000012");
}

static void threshold_several_figures(void **state)
{
    (void)state;
    add_threshold("load1", "4", "8");
    add_threshold("load5", "3", "6");
    add_threshold("load15", "2", "4");
    add_threshold("procs", "100", "200");
    expect_apply("LOAD OK | load1=1 load5=3.5 load15=5 procs=50", TOCSIN_OK, TOCSIN_CRITICAL,
                 "LOAD OK (load5=3.5 outside warning range 3, load15=5 outside critical "
                 "range 4) | load1=1 load5=3.5 load15=5 procs=50");
    expect_apply("LOAD OK | load1=1 load5=1 load15=1", TOCSIN_OK, TOCSIN_UNKNOWN,
                 "LOAD OK (perfdata 'procs' is missing) | load1=1 load5=1 load15=1");
    expect_apply("LOAD OK | load1=9 load5=1 load15=1", TOCSIN_OK, TOCSIN_CRITICAL,
                 "LOAD OK (load1=9 outside critical range 8, perfdata 'procs' is missing)"
                 " | load1=9 load5=1 load15=1");
    expect_apply("LOAD OK | load1=1 load5=1 load15=1 procs=1", TOCSIN_OK, TOCSIN_OK, NULL);
}

/* ------------------------------------------------------------------ */
/* The rewritten output                                                */
/* ------------------------------------------------------------------ */

static void threshold_output_keeps_long_output(void **state)
{
    (void)state;
    add_threshold("used", "80", "90");
    expect_apply("DISK OK - / 95% used | used=95%;80;90;0;100\n"
                 "/ is ext4\n"
                 "mounted read-write\n",
                 TOCSIN_OK, TOCSIN_CRITICAL,
                 "DISK OK - / 95% used (used=95% outside critical range 90) | "
                 "used=95%;80;90;0;100\n"
                 "/ is ext4\n"
                 "mounted read-write");
}

/* Perfdata given in the long output joins the first line's. */
static void threshold_output_gathers_long_perfdata(void **state)
{
    (void)state;
    add_threshold("inodes", "80", "90");
    expect_apply("DISK OK | used=10%\n"
                 "details follow\n"
                 "more | inodes=85%\n"
                 "other=1\n",
                 TOCSIN_OK, TOCSIN_WARNING,
                 "DISK OK (inodes=85% outside warning range 80) | used=10% inodes=85% "
                 "other=1\n"
                 "details follow\n"
                 "more");
}

/* With nothing before the perfdata the reason is the whole first line. */
static void threshold_output_without_text(void **state)
{
    (void)state;
    add_threshold("users", "5", "10");
    expect_apply("| users=12", TOCSIN_OK, TOCSIN_CRITICAL,
                 "(users=12 outside critical range 10) | users=12");
    expect_apply("", TOCSIN_OK, TOCSIN_UNKNOWN, "(perfdata 'users' is missing)");
}

/* Set a clear range on the last threshold added. */
static void set_clear(const char *clear)
{
    char err[128];

    if (tocsin_range_parse(clear, &thresholds[svc.nthresholds - 1].clear, err,
                           sizeof(err)) < 0)
        fail_msg("clear \"%s\" was refused: %s", clear, err);
}

/* One check of a series: apply the thresholds to `text` with the held
 * states carried in `held`, and expect `expected` and, when not NULL, the
 * output `expected_output`. */
static void expect_series(unsigned char *held, const char *text, enum tocsin_state expected,
                          const char *expected_output)
{
    enum tocsin_state st = TOCSIN_OK;

    tocsin_buf_reset(&out);
    tocsin_thresholds_apply(&svc, &st, text, strlen(text), &out, held);
    if (st != expected)
        fail_msg("\"%s\": expected %s, got %s (output \"%s\")", text,
                 tocsin_state_name(expected), tocsin_state_name(st), tocsin_buf_str(&out));
    if (expected_output && strcmp(tocsin_buf_str(&out), expected_output) != 0)
        fail_msg("\"%s\": expected output \"%s\", got \"%s\"", text, expected_output,
                 tocsin_buf_str(&out));
}

/* The arithmetic alone: only a better state is held, only outside clear. */
static void hold_keeps_a_problem_outside_clear(void **state)
{
    struct tocsin_range clear;
    char err[128];

    (void)state;
    assert_int_equal(tocsin_range_parse("85", &clear, err, sizeof(err)), 0);
    /* Critical before, judged warning or OK, still above 85: held critical. */
    assert_int_equal(tocsin_threshold_hold(&clear, 87, TOCSIN_WARNING, TOCSIN_CRITICAL),
                     TOCSIN_CRITICAL);
    assert_int_equal(tocsin_threshold_hold(&clear, 85.5, TOCSIN_OK, TOCSIN_WARNING),
                     TOCSIN_WARNING);
    /* Back inside clear (85 itself is inside): what the ranges say. */
    assert_int_equal(tocsin_threshold_hold(&clear, 85, TOCSIN_OK, TOCSIN_CRITICAL), TOCSIN_OK);
    assert_int_equal(tocsin_threshold_hold(&clear, 84, TOCSIN_WARNING, TOCSIN_CRITICAL),
                     TOCSIN_WARNING);
    /* Worse or the same is never held back, OK before holds nothing. */
    assert_int_equal(tocsin_threshold_hold(&clear, 95, TOCSIN_CRITICAL, TOCSIN_WARNING),
                     TOCSIN_CRITICAL);
    assert_int_equal(tocsin_threshold_hold(&clear, 88, TOCSIN_OK, TOCSIN_OK), TOCSIN_OK);
    assert_int_equal(tocsin_threshold_hold(&clear, 88, TOCSIN_OK, TOCSIN_UNKNOWN), TOCSIN_OK);
    /* No clear range: no hysteresis. */
    memset(&clear, 0, sizeof(clear));
    assert_int_equal(tocsin_threshold_hold(&clear, 88, TOCSIN_OK, TOCSIN_CRITICAL), TOCSIN_OK);
}

/* A figure that crosses 90 goes CRITICAL and stays so until it is at or
 * below 80, instead of flapping around 90 (or 85). */
static void clear_stops_flapping_across_one_line(void **state)
{
    unsigned char held[MAX_THRESHOLDS] = {0};

    (void)state;
    add_threshold("used", "85", "90");
    set_clear("80");
    expect_series(held, "ok | used=70", TOCSIN_OK, NULL);
    expect_series(held, "ok | used=91", TOCSIN_CRITICAL,
                  "ok (used=91 outside critical range 90) | used=91");
    expect_series(held, "ok | used=89", TOCSIN_CRITICAL,
                  "ok (used=89 still critical: not back inside clear range 80) | used=89");
    expect_series(held, "ok | used=91", TOCSIN_CRITICAL, NULL);
    expect_series(held, "ok | used=84", TOCSIN_CRITICAL, NULL);
    expect_series(held, "ok | used=80", TOCSIN_OK, "");
    expect_series(held, "ok | used=87", TOCSIN_WARNING,
                  "ok (used=87 outside warning range 85) | used=87");
    expect_series(held, "ok | used=83", TOCSIN_WARNING,
                  "ok (used=83 still warning: not back inside clear range 80) | used=83");
    expect_series(held, "ok | used=79", TOCSIN_OK, "");
    /* Without the held states (a passive result) the ranges alone judge. */
    expect_apply("ok | used=89", TOCSIN_OK, TOCSIN_WARNING,
                 "ok (used=89 outside warning range 85) | used=89");
}

/* Each threshold holds its own figure: a critical one does not hold
 * another that never crossed. */
static void clear_is_per_threshold(void **state)
{
    unsigned char held[MAX_THRESHOLDS] = {0};

    (void)state;
    add_threshold("a", "80", "90");
    set_clear("75");
    add_threshold("b", "80", "90");
    set_clear("75");
    expect_series(held, "x | a=95 b=87", TOCSIN_CRITICAL, NULL);
    assert_int_equal(held[0], TOCSIN_CRITICAL);
    assert_int_equal(held[1], TOCSIN_WARNING);
    expect_series(held, "x | a=50 b=70", TOCSIN_OK, NULL);
    assert_int_equal(held[0], TOCSIN_OK);
    assert_int_equal(held[1], TOCSIN_OK);
}

/* A figure that went missing leaves its held state as it was. */
static void clear_survives_a_missing_figure(void **state)
{
    unsigned char held[MAX_THRESHOLDS] = {0};

    (void)state;
    add_threshold("used", NULL, "90");
    set_clear("85");
    expect_series(held, "x | used=95", TOCSIN_CRITICAL, NULL);
    expect_series(held, "x | other=1", TOCSIN_UNKNOWN, NULL);
    expect_series(held, "x | used=88", TOCSIN_CRITICAL, NULL);
}

/* What tocsind -t accepts: clear inside the warning range (the critical
 * one without warning), plain ranges only. */
static void clear_check_at_configuration(void **state)
{
    static const struct {
        const char *warning, *critical, *clear, *error;
    } cases[] = {
        {"80", "90", "75", NULL},
        {"80", "90", "80", NULL},
        {NULL, "90", "85", NULL},
        {"10:", "5:", "15:", NULL},
        {"~:80", "~:90", "~:70", NULL},
        {"80", "90", "85", "clear = \"85\" is not inside the warning range \"80\": a value "
                           "it lets recover would still be a problem"},
        {NULL, "90", "95", "clear = \"95\" is not inside the critical range \"90\": a value "
                           "it lets recover would still be a problem"},
        {"10:", "5:", "8:", "clear = \"8:\" is not inside the warning range \"10:\": a value "
                            "it lets recover would still be a problem"},
        {"80", "90", "~:70", "clear = \"~:70\" is not inside the warning range \"80\": a "
                             "value it lets recover would still be a problem"},
        {"@10:20", NULL, "12:18", "clear = \"12:18\" cannot be used with a range that "
                                  "alerts inside (@): give plain ranges"},
    };
    struct tocsin_thresholds th;
    struct tocsin_range clear;
    char err[128], why[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&th, 0, sizeof(th));
        assert_int_equal(tocsin_range_parse(cases[i].warning, &th.warning, err, sizeof(err)),
                         0);
        assert_int_equal(tocsin_range_parse(cases[i].critical, &th.critical, err,
                                            sizeof(err)), 0);
        assert_int_equal(tocsin_range_parse(cases[i].clear, &clear, err, sizeof(err)), 0);
        why[0] = '\0';
        if (tocsin_threshold_clear_check(&th, &clear, why, sizeof(why)) < 0) {
            if (!cases[i].error)
                fail_msg("case %zu: clear %s refused: %s", i, cases[i].clear, why);
            if (strcmp(why, cases[i].error) != 0)
                fail_msg("case %zu: expected \"%s\", got \"%s\"", i, cases[i].error, why);
        } else if (cases[i].error) {
            fail_msg("case %zu: expected clear %s refused (%s)", i, cases[i].clear,
                     cases[i].error);
        }
    }
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(threshold_within_leaves_the_output),
        CASE(threshold_outside_warning),
        CASE(threshold_outside_critical),
        CASE(threshold_range_forms),
        CASE(threshold_no_thresholds_is_zero),
        CASE(threshold_never_lowers_the_plugin_state),
        CASE(threshold_missing_label_is_unknown),
        CASE(threshold_value_u_is_unknown),
        CASE(threshold_quoted_label_with_spaces),
        CASE(threshold_units_of_measure),
        CASE(threshold_reason_keeps_every_digit),
        CASE(threshold_several_figures),
        CASE(threshold_output_keeps_long_output),
        CASE(threshold_output_gathers_long_perfdata),
        CASE(threshold_output_without_text),
        CASE(hold_keeps_a_problem_outside_clear),
        CASE(clear_stops_flapping_across_one_line),
        CASE(clear_is_per_threshold),
        CASE(clear_survives_a_missing_figure),
        CASE(clear_check_at_configuration),
    };

    return cmocka_run_group_tests_name("threshold", tests, NULL, NULL);
}
