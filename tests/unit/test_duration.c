/*
 * test_duration.c - durations and the libconfuse option callbacks
 * (core/lib/duration.c), including errors reported through a real cfg_parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tocsin-plugin.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void expect_ms(const char *text, long expected)
{
    long ms = -1;

    if (tocsin_duration_parse(text, &ms) != 0)
        fail_msg("duration \"%s\": expected %ld ms, got a parse error",
                 text, expected);
    if (ms != expected)
        fail_msg("duration \"%s\": expected %ld ms, got %ld", text,
                 expected, ms);
}

static void expect_refused(const char *text)
{
    long ms = 12345;

    if (tocsin_duration_parse(text, &ms) != -1)
        fail_msg("duration \"%s\": expected a parse error, got %ld ms",
                 text ? text : "(null)", ms);
    assert_int_equal(ms, 12345); /* left untouched */
}

/* What the error function saw during the last cfg_parse(). */
static char last_error[512];
static char last_file[256];
static int last_line;
static int error_count;

static void capture_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    snprintf(last_file, sizeof(last_file), "%s",
             cfg && cfg->filename ? cfg->filename : "");
    last_line = cfg ? cfg->line : 0;
    error_count++;
}

static cfg_opt_t test_opts[] = {
    TOCSIN_OPT_DURATION("interval", 60000),
    TOCSIN_OPT_RANGE("warning", "10"),
    TOCSIN_OPT_RANGE("critical", NULL),
    CFG_END()
};

/* A config file in a temporary directory, removed by teardown. */
struct conf {
    char path[64];
    cfg_t *cfg;
};

/* Write `text` to a new temporary file and parse it. Returns what
 * cfg_parse() returned; the cfg is kept in `c` for inspection. */
static int parse_conf(struct conf *c, const char *text)
{
    FILE *f;
    int fd;

    snprintf(c->path, sizeof(c->path), "/tmp/tocsin-test-XXXXXX");
    fd = mkstemp(c->path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);

    last_error[0] = last_file[0] = '\0';
    last_line = 0;
    error_count = 0;
    c->cfg = cfg_init(test_opts, CFGF_NONE);
    assert_non_null(c->cfg);
    cfg_set_error_function(c->cfg, capture_error);
    return cfg_parse(c->cfg, c->path);
}

static int conf_setup(void **state)
{
    struct conf *c = calloc(1, sizeof(*c));

    if (!c)
        return -1;
    *state = c;
    return 0;
}

static int conf_teardown(void **state)
{
    struct conf *c = *state;

    if (c->cfg)
        cfg_free(c->cfg);
    if (c->path[0])
        unlink(c->path);
    free(c);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Units                                                               */
/* ------------------------------------------------------------------ */

static void duration_milliseconds(void **state)
{
    (void)state;
    expect_ms("250ms", 250);
    expect_ms("0ms", 0);
}

static void duration_seconds(void **state)
{
    (void)state;
    expect_ms("30s", 30000);
}

static void duration_minutes(void **state)
{
    (void)state;
    expect_ms("5m", 300000);
}

static void duration_hours(void **state)
{
    (void)state;
    expect_ms("2h", 7200000);
}

static void duration_days(void **state)
{
    (void)state;
    expect_ms("1d", 86400000);
}

static void duration_weeks(void **state)
{
    (void)state;
    expect_ms("1w", 604800000);
}

static void duration_plain_number_is_seconds(void **state)
{
    (void)state;
    expect_ms("30", 30000);
    expect_ms("0", 0);
    expect_ms("1.5", 1500);
}

static void duration_fractions(void **state)
{
    (void)state;
    expect_ms("1.5s", 1500);
    expect_ms("0.5m", 30000);
    expect_ms("0.1s", 100);
    expect_ms("2.25h", 8100000);
}

static void duration_fraction_of_ms_rounds(void **state)
{
    (void)state;
    expect_ms("1.5ms", 2);
    expect_ms("1.4ms", 1);
}

static void duration_combinations(void **state)
{
    (void)state;
    expect_ms("1h30m", 5400000);
    expect_ms("1m30s", 90000);
    expect_ms("1d2h3m4s5ms", 93784005);
    expect_ms("1w1d", 691200000);
    expect_ms("1s500ms", 1500);
}

static void duration_hundred_years_is_the_limit(void **state)
{
    (void)state;
    expect_ms("36525d", 3155760000000L);
    expect_refused("36526d");
    expect_refused("5300w");
    expect_refused("99999999999999999999999999s");
    expect_refused("3155760000001ms");
}

/* ------------------------------------------------------------------ */
/* Rejections                                                          */
/* ------------------------------------------------------------------ */

static void duration_empty_is_refused(void **state)
{
    (void)state;
    expect_refused("");
    expect_refused(NULL);
}

static void duration_negative_is_refused(void **state)
{
    (void)state;
    expect_refused("-5s");
    expect_refused("-5");
    expect_refused("+5s");
}

static void duration_unknown_unit_is_refused(void **state)
{
    (void)state;
    expect_refused("5x");
    expect_refused("5y");
    expect_refused("5S");
    expect_refused("5M");
    expect_refused("5Min");
    expect_refused("5mm");
    expect_refused("5minx");
    expect_refused("5 mi");
    expect_refused("5 hourss");
}

static void duration_garbage_is_refused(void **state)
{
    (void)state;
    expect_refused("abc");
    expect_refused("s");
    expect_refused("ms");
    expect_refused(" 5s");
    expect_refused("5s ");
    expect_refused("5 ");
    expect_refused("5 min ");
    expect_refused("5\nmin");
    expect_refused("1e3");
    expect_refused(".5s");
    expect_refused("1.s");
    expect_refused("1..5s");
}

static void duration_number_after_unit_needs_a_unit(void **state)
{
    (void)state;
    expect_refused("1h30");
    expect_refused("1 hour 30");
    expect_refused("5 5s");
}

/* What a Nagios user types: unit words, with or without a blank. */
static void duration_unit_words(void **state)
{
    (void)state;
    expect_ms("5min", 300000);
    expect_ms("5mins", 300000);
    expect_ms("5 mins", 300000);
    expect_ms("5 minutes", 300000);
    expect_ms("1 minute", 60000);
    expect_ms("2 hours", 7200000);
    expect_ms("2hours", 7200000);
    expect_ms("1 hr", 3600000);
    expect_ms("3hrs", 10800000);
    expect_ms("30 sec", 30000);
    expect_ms("30sec", 30000);
    expect_ms("30 secs", 30000);
    expect_ms("1 second", 1000);
    expect_ms("1 day", 86400000);
    expect_ms("2days", 172800000);
    expect_ms("1 week", 604800000);
    expect_ms("250 msec", 250);
    expect_ms("5 milliseconds", 5);
    expect_ms("5 s", 5000);
    expect_ms("5\tmin", 300000);
    expect_ms("1.5 hours", 5400000);
}

static void duration_groups_with_blanks(void **state)
{
    (void)state;
    expect_ms("1m 30s", 90000);
    expect_ms("1 hour 30 minutes", 5400000);
    expect_ms("1h 30min", 5400000);
    expect_ms("1 day 2 hours", 93600000);
}

/* ------------------------------------------------------------------ */
/* libconfuse callbacks                                                */
/* ------------------------------------------------------------------ */

static void cfg_duration_callback_stores_ms(void **state)
{
    long ms = 0;
    cfg_opt_t opt = TOCSIN_OPT_DURATION("interval", 0);

    (void)state;
    assert_int_equal(tocsin_cfg_parse_duration(NULL, &opt, "90s", &ms), 0);
    assert_int_equal(ms, 90000);
}

static void cfg_range_callback_passes_value_back(void **state)
{
    const char *result = NULL;
    cfg_opt_t opt = TOCSIN_OPT_RANGE("warning", NULL);

    (void)state;
    assert_int_equal(tocsin_cfg_parse_range(NULL, &opt, "@10:20", &result), 0);
    assert_non_null(result);
    assert_string_equal(result, "@10:20");
}

static void cfg_good_file_parses(void **state)
{
    struct conf *c = *state;

    assert_int_equal(parse_conf(c, "interval = 5m\n"
                                   "warning = \"@10:20\"\n"
                                   "critical = ~:30\n"), CFG_SUCCESS);
    assert_int_equal(error_count, 0);
    assert_int_equal(cfg_getint(c->cfg, "interval"), 300000);
    assert_string_equal(cfg_getstr(c->cfg, "warning"), "@10:20");
    assert_string_equal(cfg_getstr(c->cfg, "critical"), "~:30");
}

static void cfg_defaults_apply(void **state)
{
    struct conf *c = *state;

    assert_int_equal(parse_conf(c, "# nothing set\n"), CFG_SUCCESS);
    assert_int_equal(cfg_getint(c->cfg, "interval"), 60000);
    assert_string_equal(cfg_getstr(c->cfg, "warning"), "10");
    assert_null(cfg_getstr(c->cfg, "critical"));
}

static void cfg_quoted_combined_duration(void **state)
{
    struct conf *c = *state;

    assert_int_equal(parse_conf(c, "interval = \"1h30m\"\n"), CFG_SUCCESS);
    assert_int_equal(cfg_getint(c->cfg, "interval"), 5400000);
}

static void cfg_quoted_duration_with_words(void **state)
{
    struct conf *c = *state;

    assert_int_equal(parse_conf(c, "interval = \"5 minutes\"\n"), CFG_SUCCESS);
    assert_int_equal(cfg_getint(c->cfg, "interval"), 300000);
}

static void cfg_bad_duration_reports_file_and_line(void **state)
{
    struct conf *c = *state;

    assert_int_equal(parse_conf(c, "warning = 5\n"
                                   "\n"
                                   "interval = 5x\n"), CFG_PARSE_ERROR);
    assert_int_equal(error_count, 1);
    assert_string_equal(last_error, "option 'interval': bad duration \"5x\" "
                        "(use e.g. 30s, 5m, 5min, \"5 minutes\", 2h, 1d)");
    assert_string_equal(last_file, c->path);
    assert_int_equal(last_line, 3);
}

static void cfg_negative_duration_reports_line(void **state)
{
    struct conf *c = *state;

    assert_int_equal(parse_conf(c, "interval = \"-5s\"\n"), CFG_PARSE_ERROR);
    assert_string_equal(last_error, "option 'interval': bad duration \"-5s\" "
                        "(use e.g. 30s, 5m, 5min, \"5 minutes\", 2h, 1d)");
    assert_int_equal(last_line, 1);
}

static void cfg_bad_range_reports_file_and_line(void **state)
{
    struct conf *c = *state;

    /* No '#' comment here: libconfuse 3.3 counts a '#' comment line
     * three times, which would shift the line number under test. */
    assert_int_equal(parse_conf(c, "interval = 30s\n"
                                   "\n"
                                   "warning = 10\n"
                                   "critical = \"20:10\"\n"), CFG_PARSE_ERROR);
    assert_int_equal(error_count, 1);
    assert_string_equal(last_error, "option 'critical': range \"20:10\": "
                        "start 20 is greater than end 10");
    assert_string_equal(last_file, c->path);
    assert_int_equal(last_line, 4);
}

static void cfg_range_not_a_number_reports_line(void **state)
{
    struct conf *c = *state;

    assert_int_equal(parse_conf(c, "warning = abc\n"), CFG_PARSE_ERROR);
    assert_string_equal(last_error, "option 'warning': range \"abc\": "
                        "\"abc\" is not a number");
    assert_int_equal(last_line, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duration_milliseconds),
        cmocka_unit_test(duration_seconds),
        cmocka_unit_test(duration_minutes),
        cmocka_unit_test(duration_hours),
        cmocka_unit_test(duration_days),
        cmocka_unit_test(duration_weeks),
        cmocka_unit_test(duration_plain_number_is_seconds),
        cmocka_unit_test(duration_fractions),
        cmocka_unit_test(duration_fraction_of_ms_rounds),
        cmocka_unit_test(duration_combinations),
        cmocka_unit_test(duration_hundred_years_is_the_limit),
        cmocka_unit_test(duration_empty_is_refused),
        cmocka_unit_test(duration_negative_is_refused),
        cmocka_unit_test(duration_unknown_unit_is_refused),
        cmocka_unit_test(duration_garbage_is_refused),
        cmocka_unit_test(duration_number_after_unit_needs_a_unit),
        cmocka_unit_test(duration_unit_words),
        cmocka_unit_test(duration_groups_with_blanks),
        cmocka_unit_test(cfg_duration_callback_stores_ms),
        cmocka_unit_test(cfg_range_callback_passes_value_back),
        cmocka_unit_test_setup_teardown(cfg_good_file_parses,
                                        conf_setup, conf_teardown),
        cmocka_unit_test_setup_teardown(cfg_defaults_apply,
                                        conf_setup, conf_teardown),
        cmocka_unit_test_setup_teardown(cfg_quoted_combined_duration,
                                        conf_setup, conf_teardown),
        cmocka_unit_test_setup_teardown(cfg_quoted_duration_with_words,
                                        conf_setup, conf_teardown),
        cmocka_unit_test_setup_teardown(cfg_bad_duration_reports_file_and_line,
                                        conf_setup, conf_teardown),
        cmocka_unit_test_setup_teardown(cfg_negative_duration_reports_line,
                                        conf_setup, conf_teardown),
        cmocka_unit_test_setup_teardown(cfg_bad_range_reports_file_and_line,
                                        conf_setup, conf_teardown),
        cmocka_unit_test_setup_teardown(cfg_range_not_a_number_reports_line,
                                        conf_setup, conf_teardown),
    };

    return cmocka_run_group_tests_name("duration", tests, NULL, NULL);
}
