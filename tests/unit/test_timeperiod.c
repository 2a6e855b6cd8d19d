/*
 * test_timeperiod.c - time periods and local times (core/config/timeperiod.c).
 *
 * Periods are built from configuration text through libconfuse with the
 * module's own option table, so the parse callbacks are exercised too.
 * Every test runs with TZ=UTC unless it sets another zone on purpose, so
 * nothing depends on the host's zone. Instants are written as local times
 * with an explicit zone; the instants that matter around DST transitions
 * are also checked against fixed epoch values (from zdump/date).
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

#include "config/timeperiod.h"

#define CONF_FILE "test.conf"
#define MAX_PERIODS 16

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* What libconfuse reported while parsing, as "test.conf:LINE: message\n"
 * (the configuration reader adds the file the same way). */
static char parse_errors[4096];
static int first_error_line;

static void capture_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    size_t used = strlen(parse_errors);
    int line = cfg ? cfg->line : 0;
    int n;

    if (!first_error_line)
        first_error_line = line;
    n = snprintf(parse_errors + used, sizeof(parse_errors) - used, "%s:%d: ",
                 CONF_FILE, line);
    if (n < 0 || (size_t)n >= sizeof(parse_errors) - used)
        return;
    used += (size_t)n;
    vsnprintf(parse_errors + used, sizeof(parse_errors) - used, fmt, ap);
    used = strlen(parse_errors);
    snprintf(parse_errors + used, sizeof(parse_errors) - used, "\n");
}

/* The periods of one configuration text. */
static struct tocsin_timeperiod tps[MAX_PERIODS];
static size_t ntps;
static struct tocsin_buf errors = TOCSIN_BUF_INIT; /* compile and link */

static void free_periods(void)
{
    size_t i;

    for (i = 0; i < ntps; i++)
        tocsin_timeperiod_free(&tps[i]);
    ntps = 0;
    tocsin_buf_free(&errors);
    parse_errors[0] = '\0';
    first_error_line = 0;
}

/* Line (1-based) of `timeperiod "NAME"` in text, as the configuration
 * reader would record it; 0 when absent. */
static int section_line(const char *text, const char *name)
{
    char needle[128];
    const char *hit, *p;
    int line = 1;

    snprintf(needle, sizeof(needle), "timeperiod \"%s\"", name);
    hit = strstr(text, needle);
    if (!hit)
        return 0;
    for (p = text; p < hit; p++)
        if (*p == '\n')
            line++;
    return line;
}

/*
 * Parse `text`, compile every timeperiod section and link them. Returns
 * 0, -1 when libconfuse refused the text (parse_errors), -2 when compiling
 * or linking failed (errors).
 */
static int load(const char *text)
{
    cfg_opt_t opts[] = {
        CFG_SEC("timeperiod", tocsin_timeperiod_opts,
                CFGF_TITLE | CFGF_MULTI | CFGF_NO_TITLE_DUPES),
        CFG_END()
    };
    cfg_t *cfg;
    unsigned i, count;
    int rc = 0;

    free_periods();
    cfg = cfg_init(opts, CFGF_NONE);
    assert_non_null(cfg);
    cfg_set_error_function(cfg, capture_error);
    if (cfg_parse_buf(cfg, text) != CFG_SUCCESS) {
        rc = -1;
        goto out;
    }
    count = cfg_size(cfg, "timeperiod");
    assert_true(count <= MAX_PERIODS);
    for (i = 0; i < count; i++) {
        cfg_t *sec = cfg_getnsec(cfg, "timeperiod", i);

        if (tocsin_timeperiod_compile(sec, CONF_FILE,
                                      section_line(text, cfg_title(sec)),
                                      &tps[ntps], &errors) < 0)
            rc = -2;
        else
            ntps++;
    }
    if (rc == 0 && tocsin_timeperiods_link(tps, ntps, &errors) < 0)
        rc = -2;
out:
    cfg_free(cfg);
    return rc;
}

/* Load text that must be valid. */
static void load_ok(const char *text)
{
    int rc = load(text);

    if (rc != 0)
        fail_msg("configuration refused (%d): %s%s", rc, parse_errors,
                 tocsin_buf_str(&errors));
}

/* The instant of a local time with its zone ("2026-03-04 09:00 Europe/Berlin"). */
static time_t at(const char *local)
{
    char err[256];
    time_t t = 0;

    if (tocsin_local_time_parse(local, NULL, &t, err, sizeof(err)) < 0)
        fail_msg("local time \"%s\" refused: %s", local, err);
    return t;
}

static int in_period(const char *name, time_t t)
{
    long i = tocsin_timeperiod_find(tps, ntps, name);

    if (i < 0)
        fail_msg("no period \"%s\" was loaded", name);
    return tocsin_timeperiod_contains(tps, ntps, (size_t)i, t);
}

/* Assert membership of instant t (described by `what`) in period `name`. */
static void expect_at(const char *name, time_t t, int expected, const char *what)
{
    int got = in_period(name, t);

    if (got != expected)
        fail_msg("period \"%s\" at %s (epoch %lld): expected %s, got %s",
                 name, what, (long long)t, expected ? "inside" : "outside",
                 got ? "inside" : "outside");
}

/* Assert membership at a local time given with its zone. */
static void expect_local(const char *name, const char *local, int expected)
{
    expect_at(name, at(local), expected, local);
}

/* Minutes in [from, to) that lie in period `name`, sampled each minute. */
static int minutes_inside(const char *name, time_t from, time_t to)
{
    time_t t;
    int count = 0;

    for (t = from; t < to; t += 60)
        count += in_period(name, t);
    return count;
}

/* Assert that `text` (a single item on line 3) is refused at parse time
 * with a message on line 3 that contains `fragment`. */
static void expect_item_refused(const char *item, const char *fragment)
{
    char text[512];
    char where[32];

    snprintf(text, sizeof(text), "timeperiod \"bad\" {\n\n    %s\n}\n", item);
    if (load(text) != -1)
        fail_msg("item `%s`: expected a parse error, got none (compile/link "
                 "said: \"%s\")", item, tocsin_buf_str(&errors));
    snprintf(where, sizeof(where), "%s:3: ", CONF_FILE);
    if (first_error_line != 3 || strncmp(parse_errors, where, strlen(where)) != 0)
        fail_msg("item `%s`: expected the error at %s:3, got \"%s\"", item,
                 CONF_FILE, parse_errors);
    if (!strstr(parse_errors, fragment))
        fail_msg("item `%s`: expected a message containing \"%s\", got \"%s\"",
                 item, fragment, parse_errors);
}

/* Assert that compiling or linking `text` fails with a message that
 * contains `fragment`. */
static void expect_link_error(const char *text, const char *fragment)
{
    int rc = load(text);

    if (rc != -2)
        fail_msg("expected a compile or link error containing \"%s\", got "
                 "rc %d (parse errors: \"%s\")", fragment, rc, parse_errors);
    if (!strstr(tocsin_buf_str(&errors), fragment))
        fail_msg("expected an error containing \"%s\", got \"%s\"", fragment,
                 tocsin_buf_str(&errors));
}

static void expect_time(const char *text, const char *zone, long long expected)
{
    char err[256];
    time_t t = 0;

    if (tocsin_local_time_parse(text, zone, &t, err, sizeof(err)) < 0)
        fail_msg("local time \"%s\" in %s: expected epoch %lld, got error: %s",
                 text, zone ? zone : "the host's zone", expected, err);
    if ((long long)t != expected)
        fail_msg("local time \"%s\" in %s: expected epoch %lld, got %lld",
                 text, zone ? zone : "the host's zone", expected, (long long)t);
}

static void expect_time_refused(const char *text, const char *zone,
                                const char *fragment)
{
    char err[256] = "";
    time_t t = 4242;

    if (tocsin_local_time_parse(text, zone, &t, err, sizeof(err)) == 0)
        fail_msg("local time \"%s\": expected an error containing \"%s\", "
                 "got epoch %lld", text, fragment, (long long)t);
    if (!strstr(err, fragment))
        fail_msg("local time \"%s\": expected an error containing \"%s\", "
                 "got \"%s\"", text, fragment, err);
    if (t != 4242)
        fail_msg("local time \"%s\": the result was changed on error", text);
}

static void set_tz(const char *tz)
{
    if (tz)
        assert_int_equal(setenv("TZ", tz, 1), 0);
    else
        assert_int_equal(unsetenv("TZ"), 0);
    tzset();
}

static int setup(void **state)
{
    (void)state;
    set_tz("UTC");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free_periods();
    set_tz("UTC");
    return 0;
}

static const char business_hours[] =
    "timeperiod \"business-hours\" {\n"
    "    timezone = \"Europe/Berlin\"\n"
    "    weekdays = { \"mon-fri\" }\n"
    "    times = { \"09:00-17:00\" }\n"
    "}\n";

/* ------------------------------------------------------------------ */
/* Constraints                                                         */
/* ------------------------------------------------------------------ */

static void test_business_hours_weekday_edges(void **state)
{
    (void)state;
    load_ok(business_hours);
    /* Wednesday 2026-03-04, CET (UTC+1). */
    expect_local("business-hours", "2026-03-04 08:59 Europe/Berlin", 0);
    expect_local("business-hours", "2026-03-04 09:00 Europe/Berlin", 1);
    expect_local("business-hours", "2026-03-04 16:59 Europe/Berlin", 1);
    expect_local("business-hours", "2026-03-04 16:59:59 Europe/Berlin", 1);
    expect_local("business-hours", "2026-03-04 17:00 Europe/Berlin", 0);
    /* The same instants as epochs: 09:00 CET is 08:00 UTC. */
    expect_at("business-hours", 1772611200, 1, "2026-03-04 08:00 UTC");
    expect_at("business-hours", 1772611199, 0, "2026-03-04 07:59:59 UTC");
    /* Friday and Monday are weekdays too. */
    expect_local("business-hours", "2026-03-06 12:00 Europe/Berlin", 1);
    expect_local("business-hours", "2026-03-02 09:00 Europe/Berlin", 1);
}

static void test_business_hours_weekend(void **state)
{
    (void)state;
    load_ok(business_hours);
    /* Saturday 2026-03-07 and Sunday 2026-03-08. */
    expect_local("business-hours", "2026-03-07 08:59 Europe/Berlin", 0);
    expect_local("business-hours", "2026-03-07 09:00 Europe/Berlin", 0);
    expect_local("business-hours", "2026-03-07 16:59 Europe/Berlin", 0);
    expect_local("business-hours", "2026-03-07 17:00 Europe/Berlin", 0);
    expect_local("business-hours", "2026-03-08 09:00 Europe/Berlin", 0);
    expect_local("business-hours", "2026-03-08 16:59 Europe/Berlin", 0);
    /* Saturday 00:30 in Tokyo is Friday 16:30 in Berlin, and Monday
     * 00:30 in Tokyo is Sunday 16:30 in Berlin: the period's zone decides. */
    expect_local("business-hours", "2026-03-07 00:30 Asia/Tokyo", 1);
    expect_local("business-hours", "2026-03-09 00:30 Asia/Tokyo", 0);
}

static void test_weekday_range_wraps_past_sunday(void **state)
{
    (void)state;
    load_ok("timeperiod \"long-weekend\" {\n"
            "    timezone = \"UTC\"\n"
            "    weekdays = { \"fri-mon\" }\n"
            "}\n"
            "timeperiod \"weekend\" {\n"
            "    timezone = \"UTC\"\n"
            "    weekdays = { \"sat-sun\" }\n"
            "}\n");
    /* 2026-03-02 is a Monday. */
    expect_local("long-weekend", "2026-03-02 12:00 UTC", 1);
    expect_local("long-weekend", "2026-03-03 12:00 UTC", 0);
    expect_local("long-weekend", "2026-03-04 12:00 UTC", 0);
    expect_local("long-weekend", "2026-03-05 23:59 UTC", 0);
    expect_local("long-weekend", "2026-03-06 00:00 UTC", 1);
    expect_local("long-weekend", "2026-03-07 12:00 UTC", 1);
    expect_local("long-weekend", "2026-03-08 12:00 UTC", 1);
    expect_local("weekend", "2026-03-06 23:59 UTC", 0);
    expect_local("weekend", "2026-03-07 00:00 UTC", 1);
    expect_local("weekend", "2026-03-08 23:59 UTC", 1);
    expect_local("weekend", "2026-03-09 00:00 UTC", 0);
}

static void test_weekday_lists_and_full_names(void **state)
{
    (void)state;
    load_ok("timeperiod \"some-days\" {\n"
            "    timezone = \"UTC\"\n"
            "    weekdays = { \"Monday\", \"WED-thu\" }\n"
            "}\n");
    expect_local("some-days", "2026-03-02 12:00 UTC", 1); /* Mon */
    expect_local("some-days", "2026-03-03 12:00 UTC", 0); /* Tue */
    expect_local("some-days", "2026-03-04 12:00 UTC", 1); /* Wed */
    expect_local("some-days", "2026-03-05 12:00 UTC", 1); /* Thu */
    expect_local("some-days", "2026-03-06 12:00 UTC", 0); /* Fri */
    expect_local("some-days", "2026-03-08 12:00 UTC", 0); /* Sun */
}

static void test_multiple_time_ranges(void **state)
{
    (void)state;
    load_ok("timeperiod \"office\" {\n"
            "    timezone = \"Europe/Berlin\"\n"
            "    times = { \"09:00-12:30\", \"13:30-17:00\" }\n"
            "}\n");
    expect_local("office", "2026-06-15 08:59:59 Europe/Berlin", 0);
    expect_local("office", "2026-06-15 09:00 Europe/Berlin", 1);
    expect_local("office", "2026-06-15 12:29:59 Europe/Berlin", 1);
    expect_local("office", "2026-06-15 12:30 Europe/Berlin", 0);
    expect_local("office", "2026-06-15 13:29:59 Europe/Berlin", 0);
    expect_local("office", "2026-06-15 13:30 Europe/Berlin", 1);
    expect_local("office", "2026-06-15 16:59:59 Europe/Berlin", 1);
    expect_local("office", "2026-06-15 17:00 Europe/Berlin", 0);
    /* Without weekdays, every day: a Sunday too. */
    expect_local("office", "2026-06-14 10:00 Europe/Berlin", 1);
}

static void test_time_range_ending_at_midnight(void **state)
{
    (void)state;
    load_ok("timeperiod \"evening\" {\n"
            "    timezone = \"UTC\"\n"
            "    times = { \"18:00-24:00\", \"00:00-06:00\" }\n"
            "}\n");
    expect_local("evening", "2026-06-15 17:59:59 UTC", 0);
    expect_local("evening", "2026-06-15 18:00 UTC", 1);
    expect_local("evening", "2026-06-15 23:59:59 UTC", 1);
    expect_local("evening", "2026-06-16 00:00 UTC", 1);
    expect_local("evening", "2026-06-16 05:59:59 UTC", 1);
    expect_local("evening", "2026-06-16 06:00 UTC", 0);
}

static void test_days_from_start_and_from_end(void **state)
{
    (void)state;
    load_ok("timeperiod \"first-half-and-last\" {\n"
            "    timezone = \"UTC\"\n"
            "    days = { \"1-15\", \"-1\" }\n"
            "}\n"
            "timeperiod \"last-week\" {\n"
            "    timezone = \"UTC\"\n"
            "    days = { \"-7--1\" }\n"
            "}\n"
            "timeperiod \"second-half\" {\n"
            "    timezone = \"UTC\"\n"
            "    days = { \"16--1\" }\n"
            "}\n");
    expect_local("first-half-and-last", "2026-04-01 00:00 UTC", 1);
    expect_local("first-half-and-last", "2026-04-15 23:59 UTC", 1);
    expect_local("first-half-and-last", "2026-04-16 00:00 UTC", 0);
    expect_local("first-half-and-last", "2026-04-29 12:00 UTC", 0);
    expect_local("first-half-and-last", "2026-04-30 12:00 UTC", 1); /* 30 days */
    expect_local("first-half-and-last", "2026-05-30 12:00 UTC", 0); /* 31 days */
    expect_local("first-half-and-last", "2026-05-31 12:00 UTC", 1);
    expect_local("last-week", "2026-05-24 23:59 UTC", 0);
    expect_local("last-week", "2026-05-25 00:00 UTC", 1);
    expect_local("last-week", "2026-05-31 23:59 UTC", 1);
    expect_local("last-week", "2026-06-01 00:00 UTC", 0);
    expect_local("second-half", "2026-05-15 12:00 UTC", 0);
    expect_local("second-half", "2026-05-16 12:00 UTC", 1);
    expect_local("second-half", "2026-05-31 12:00 UTC", 1);
}

static void test_last_day_of_february_leap_and_common_years(void **state)
{
    (void)state;
    load_ok("timeperiod \"month-end\" {\n"
            "    timezone = \"UTC\"\n"
            "    days = { \"-1\" }\n"
            "}\n"
            "timeperiod \"day-29\" {\n"
            "    timezone = \"UTC\"\n"
            "    days = { \"29\" }\n"
            "}\n");
    /* 2024 is a leap year: February ends on the 29th. */
    expect_local("month-end", "2024-02-28 12:00 UTC", 0);
    expect_local("month-end", "2024-02-29 12:00 UTC", 1);
    expect_local("day-29", "2024-02-29 12:00 UTC", 1);
    /* 2026 is not: it ends on the 28th, and has no 29th. */
    expect_local("month-end", "2026-02-27 12:00 UTC", 0);
    expect_local("month-end", "2026-02-28 12:00 UTC", 1);
    expect_local("day-29", "2026-02-28 12:00 UTC", 0);
    expect_local("day-29", "2026-03-01 12:00 UTC", 0);
    /* 2100 is not a leap year, 2000 was. */
    expect_local("month-end", "2100-02-28 12:00 UTC", 1);
    expect_local("month-end", "2000-02-28 12:00 UTC", 0);
    expect_local("month-end", "2000-02-29 12:00 UTC", 1);
}

static void test_months_by_name_number_and_wrapping_range(void **state)
{
    (void)state;
    load_ok("timeperiod \"q1-and-dec\" {\n"
            "    timezone = \"UTC\"\n"
            "    months = { \"jan-mar\", \"dec\" }\n"
            "}\n"
            "timeperiod \"winter\" {\n"
            "    timezone = \"UTC\"\n"
            "    months = { \"nov-feb\" }\n"
            "}\n"
            "timeperiod \"june\" {\n"
            "    timezone = \"UTC\"\n"
            "    months = { \"6\" }\n"
            "}\n");
    expect_local("q1-and-dec", "2026-01-01 00:00 UTC", 1);
    expect_local("q1-and-dec", "2026-03-31 23:59 UTC", 1);
    expect_local("q1-and-dec", "2026-04-01 00:00 UTC", 0);
    expect_local("q1-and-dec", "2026-11-30 23:59 UTC", 0);
    expect_local("q1-and-dec", "2026-12-01 00:00 UTC", 1);
    expect_local("winter", "2026-10-31 12:00 UTC", 0);
    expect_local("winter", "2026-11-01 12:00 UTC", 1);
    expect_local("winter", "2026-12-31 12:00 UTC", 1);
    expect_local("winter", "2027-01-15 12:00 UTC", 1);
    expect_local("winter", "2027-02-28 12:00 UTC", 1);
    expect_local("winter", "2027-03-01 12:00 UTC", 0);
    expect_local("june", "2026-06-15 12:00 UTC", 1);
    expect_local("june", "2026-07-15 12:00 UTC", 0);
}

static void test_years_single_and_range(void **state)
{
    (void)state;
    load_ok("timeperiod \"contract\" {\n"
            "    timezone = \"UTC\"\n"
            "    years = { \"2026\", \"2028-2030\" }\n"
            "}\n");
    expect_local("contract", "2025-12-31 23:59 UTC", 0);
    expect_local("contract", "2026-01-01 00:00 UTC", 1);
    expect_local("contract", "2027-06-01 12:00 UTC", 0);
    expect_local("contract", "2028-01-01 00:00 UTC", 1);
    expect_local("contract", "2030-12-31 23:59 UTC", 1);
    expect_local("contract", "2031-01-01 00:00 UTC", 0);
}

static void test_dates_and_date_ranges(void **state)
{
    (void)state;
    load_ok("timeperiod \"holidays\" {\n"
            "    timezone = \"Europe/Berlin\"\n"
            "    dates = { \"2026-05-01\", \"2026-12-24..2027-01-01\" }\n"
            "}\n");
    expect_local("holidays", "2026-04-30 23:59 Europe/Berlin", 0);
    expect_local("holidays", "2026-05-01 00:00 Europe/Berlin", 1);
    expect_local("holidays", "2026-05-01 23:59 Europe/Berlin", 1);
    expect_local("holidays", "2026-05-02 00:00 Europe/Berlin", 0);
    expect_local("holidays", "2026-12-23 23:59 Europe/Berlin", 0);
    expect_local("holidays", "2026-12-24 00:00 Europe/Berlin", 1);
    expect_local("holidays", "2026-12-31 12:00 Europe/Berlin", 1);
    expect_local("holidays", "2027-01-01 23:59 Europe/Berlin", 1);
    expect_local("holidays", "2027-01-02 00:00 Europe/Berlin", 0);
    /* The date is Berlin's: 23:30 UTC on Apr 30 is already May 1 there. */
    expect_local("holidays", "2026-04-30 23:30 UTC", 1);
    /* Other years do not match. */
    expect_local("holidays", "2027-05-01 12:00 Europe/Berlin", 0);
}

static void test_all_constraints_must_hold(void **state)
{
    (void)state;
    load_ok("timeperiod \"payroll\" {\n"
            "    timezone = \"UTC\"\n"
            "    weekdays = { \"mon-fri\" }\n"
            "    days = { \"-3--1\" }\n"
            "    months = { \"jun\" }\n"
            "    years = { \"2026\" }\n"
            "    times = { \"10:00-11:00\" }\n"
            "}\n");
    /* June 2026: the 28th is a Sunday, the 29th a Monday, the 30th a Tuesday. */
    expect_local("payroll", "2026-06-29 10:30 UTC", 1);
    expect_local("payroll", "2026-06-30 10:30 UTC", 1);
    expect_local("payroll", "2026-06-28 10:30 UTC", 0); /* Sunday */
    expect_local("payroll", "2026-06-29 11:30 UTC", 0); /* time */
    expect_local("payroll", "2026-06-26 10:30 UTC", 0); /* day */
    expect_local("payroll", "2026-07-29 10:30 UTC", 0); /* month */
    expect_local("payroll", "2027-06-29 10:30 UTC", 0); /* year */
}

/* ------------------------------------------------------------------ */
/* Include and exclude                                                 */
/* ------------------------------------------------------------------ */

static void test_exclude_holidays_given_as_dates(void **state)
{
    (void)state;
    load_ok("timeperiod \"holidays\" {\n"
            "    timezone = \"Europe/Berlin\"\n"
            "    dates = { \"2026-12-24..2026-12-26\", \"2026-12-31\" }\n"
            "}\n"
            "timeperiod \"business-hours\" {\n"
            "    timezone = \"Europe/Berlin\"\n"
            "    weekdays = { \"mon-fri\" }\n"
            "    times = { \"09:00-17:00\" }\n"
            "    exclude = { \"holidays\" }\n"
            "}\n");
    expect_local("business-hours", "2026-12-23 10:00 Europe/Berlin", 1);
    expect_local("business-hours", "2026-12-24 10:00 Europe/Berlin", 0);
    expect_local("business-hours", "2026-12-25 10:00 Europe/Berlin", 0);
    expect_local("business-hours", "2026-12-28 10:00 Europe/Berlin", 1);
    expect_local("business-hours", "2026-12-31 10:00 Europe/Berlin", 0);
}

static void test_exclude_period_in_another_zone(void **state)
{
    (void)state;
    /* Berlin's day, minus New York's 09:00-10:00 (its own wall clock). */
    load_ok("timeperiod \"ny-standup\" {\n"
            "    timezone = \"America/New_York\"\n"
            "    times = { \"09:00-10:00\" }\n"
            "}\n"
            "timeperiod \"berlin-day\" {\n"
            "    timezone = \"Europe/Berlin\"\n"
            "    times = { \"08:00-20:00\" }\n"
            "    exclude = { \"ny-standup\" }\n"
            "}\n");
    /* 15:00 in Berlin is 09:00 in New York (January: UTC+1, UTC-5). */
    expect_local("berlin-day", "2026-01-15 14:59 Europe/Berlin", 1);
    expect_local("berlin-day", "2026-01-15 15:00 Europe/Berlin", 0);
    expect_local("berlin-day", "2026-01-15 15:59 Europe/Berlin", 0);
    expect_local("berlin-day", "2026-01-15 16:00 Europe/Berlin", 1);
    expect_at("berlin-day", 1768485600, 0, "2026-01-15 14:00 UTC");
    /* 09:30 in Berlin is 03:30 in New York: not excluded. */
    expect_local("berlin-day", "2026-01-15 09:30 Europe/Berlin", 1);
    /* In mid-March New York has moved to summer time, Berlin not yet:
     * the gap is five hours, so 14:30 in Berlin is excluded. */
    expect_local("berlin-day", "2026-03-16 14:30 Europe/Berlin", 0);
    expect_local("berlin-day", "2026-03-16 15:30 Europe/Berlin", 1);
}

static void test_include_only_is_union(void **state)
{
    (void)state;
    load_ok("timeperiod \"nights\" {\n"
            "    timezone = \"UTC\"\n"
            "    times = { \"00:00-08:00\", \"18:00-24:00\" }\n"
            "}\n"
            "timeperiod \"weekends\" {\n"
            "    timezone = \"UTC\"\n"
            "    weekdays = { \"sat-sun\" }\n"
            "}\n"
            "timeperiod \"after-hours\" {\n"
            "    include = { \"nights\", \"weekends\" }\n"
            "}\n");
    expect_local("after-hours", "2026-03-04 07:59 UTC", 1); /* Wed night */
    expect_local("after-hours", "2026-03-04 08:00 UTC", 0); /* Wed day */
    expect_local("after-hours", "2026-03-04 17:59 UTC", 0);
    expect_local("after-hours", "2026-03-04 18:00 UTC", 1);
    expect_local("after-hours", "2026-03-07 12:00 UTC", 1); /* Saturday */
    expect_local("after-hours", "2026-03-08 12:00 UTC", 1); /* Sunday */
}

static void test_include_adds_to_own_constraints(void **state)
{
    (void)state;
    load_ok("timeperiod \"extra-saturday\" {\n"
            "    timezone = \"UTC\"\n"
            "    dates = { \"2026-03-07\" }\n"
            "    times = { \"10:00-14:00\" }\n"
            "}\n"
            "timeperiod \"office\" {\n"
            "    timezone = \"UTC\"\n"
            "    weekdays = { \"mon-fri\" }\n"
            "    times = { \"09:00-17:00\" }\n"
            "    include = { \"extra-saturday\" }\n"
            "}\n");
    expect_local("office", "2026-03-06 12:00 UTC", 1);  /* own */
    expect_local("office", "2026-03-07 12:00 UTC", 1);  /* included */
    expect_local("office", "2026-03-07 15:00 UTC", 0);  /* neither */
    expect_local("office", "2026-03-14 12:00 UTC", 0);  /* another Saturday */
}

static void test_exclude_wins_over_include(void **state)
{
    (void)state;
    load_ok("timeperiod \"maintenance\" {\n"
            "    timezone = \"UTC\"\n"
            "    dates = { \"2026-03-07\" }\n"
            "}\n"
            "timeperiod \"weekends\" {\n"
            "    timezone = \"UTC\"\n"
            "    weekdays = { \"sat\", \"sun\" }\n"
            "}\n"
            "timeperiod \"quiet\" {\n"
            "    include = { \"weekends\" }\n"
            "    exclude = { \"maintenance\" }\n"
            "}\n");
    expect_local("quiet", "2026-03-07 12:00 UTC", 0);
    expect_local("quiet", "2026-03-08 12:00 UTC", 1);
    expect_local("quiet", "2026-03-09 12:00 UTC", 0);
}

static void test_empty_period_is_always(void **state)
{
    (void)state;
    load_ok("timeperiod \"always\" {\n"
            "}\n"
            "timeperiod \"zone-only\" {\n"
            "    timezone = \"Asia/Tokyo\"\n"
            "}\n"
            "timeperiod \"never\" {\n"
            "    exclude = { \"always\" }\n"
            "}\n");
    expect_at("always", 0, 1, "the epoch");
    expect_local("always", "2026-03-08 03:17 UTC", 1);
    expect_local("zone-only", "2026-03-08 03:17 UTC", 1);
    expect_local("never", "2026-03-08 03:17 UTC", 0);
}

static void test_period_without_zone_follows_host_tz(void **state)
{
    (void)state;
    load_ok("timeperiod \"host-mornings\" {\n"
            "    times = { \"09:00-12:00\" }\n"
            "}\n"
            "timeperiod \"host-mornings-empty-zone\" {\n"
            "    timezone = \"\"\n"
            "    times = { \"09:00-12:00\" }\n"
            "}\n");
    /* 2026-07-01 10:00 UTC: 10:00 on UTC hosts, 06:00 in New York. */
    set_tz("UTC");
    expect_at("host-mornings", 1782900000, 1, "10:00 with TZ=UTC");
    expect_at("host-mornings-empty-zone", 1782900000, 1, "10:00 with TZ=UTC");
    set_tz("America/New_York");
    expect_at("host-mornings", 1782900000, 0, "06:00 with TZ=America/New_York");
    expect_at("host-mornings-empty-zone", 1782900000, 0,
              "06:00 with TZ=America/New_York");
    expect_at("host-mornings", 1782900000 + 4 * 3600, 1,
              "10:00 with TZ=America/New_York");
}

static void test_cycle_is_an_error_naming_the_chain(void **state)
{
    (void)state;
    expect_link_error("timeperiod \"a\" {\n"
                      "    include = { \"b\" }\n"
                      "}\n"
                      "timeperiod \"b\" {\n"
                      "    times = { \"09:00-10:00\" }\n"
                      "    include = { \"c\" }\n"
                      "}\n"
                      "timeperiod \"c\" {\n"
                      "    exclude = { \"a\" }\n"
                      "}\n",
                      "test.conf:1: timeperiods include or exclude each other "
                      "in a cycle: \"a\" includes \"b\" (test.conf:4), which "
                      "includes \"c\" (test.conf:8), which excludes \"a\"");
}

static void test_self_exclusion_is_a_cycle(void **state)
{
    (void)state;
    expect_link_error("timeperiod \"x\" {\n"
                      "    exclude = { \"x\" }\n"
                      "}\n",
                      "test.conf:1: timeperiods include or exclude each other "
                      "in a cycle: \"x\" excludes \"x\"");
}

static void test_shared_dependency_is_not_a_cycle(void **state)
{
    (void)state;
    /* a -> b -> d and a -> c -> d: a diamond, not a cycle. */
    load_ok("timeperiod \"d\" {\n    weekdays = { \"mon\" }\n}\n"
            "timeperiod \"b\" {\n    include = { \"d\" }\n}\n"
            "timeperiod \"c\" {\n    exclude = { \"d\" }\n}\n"
            "timeperiod \"a\" {\n    include = { \"b\", \"c\" }\n}\n");
    expect_local("a", "2026-03-02 12:00 UTC", 1); /* Monday through b */
    expect_local("a", "2026-03-03 12:00 UTC", 1); /* Tuesday through c */
}

static void test_unknown_include_and_exclude_are_errors(void **state)
{
    (void)state;
    expect_link_error("timeperiod \"a\" {\n"
                      "    include = { \"nights\" }\n"
                      "}\n",
                      "test.conf:1: timeperiod \"a\": include \"nights\" is "
                      "not a defined timeperiod");
    expect_link_error("\n\ntimeperiod \"b\" {\n"
                      "    exclude = { \"holidays\" }\n"
                      "}\n",
                      "test.conf:3: timeperiod \"b\": exclude \"holidays\" is "
                      "not a defined timeperiod");
}

static void test_duplicate_names_are_an_error(void **state)
{
    (void)state;
    struct tocsin_buf errs = TOCSIN_BUF_INIT;
    struct tocsin_timeperiod two[2];

    /* libconfuse refuses duplicates within one file; across the files
     * of conf.d only linking sees both. */
    load_ok("timeperiod \"x\" {\n}\n");
    assert_int_equal(ntps, 1);
    two[0] = tps[0];
    memset(&tps[0], 0, sizeof(tps[0]));
    ntps = 0;
    load_ok("\n\ntimeperiod \"x\" {\n}\n");
    two[1] = tps[0];
    memset(&tps[0], 0, sizeof(tps[0]));
    ntps = 0;
    free(two[1].file);
    two[1].file = strdup("other.conf");
    assert_non_null(two[1].file);
    assert_int_equal(tocsin_timeperiods_link(two, 2, &errs), -1);
    if (!strstr(tocsin_buf_str(&errs), "other.conf:3: timeperiod \"x\" is "
                "defined twice (first at test.conf:1)"))
        fail_msg("expected a duplicate error, got \"%s\"", tocsin_buf_str(&errs));
    tocsin_timeperiod_free(&two[0]);
    tocsin_timeperiod_free(&two[1]);
    tocsin_buf_free(&errs);
}

static void test_period_without_name_is_a_compile_error(void **state)
{
    (void)state;
    expect_link_error("\ntimeperiod \"\" {\n"
                      "    weekdays = { \"mon\" }\n"
                      "}\n",
                      "test.conf:2: a timeperiod needs a name");
}

static void test_compile_checks_items_again(void **state)
{
    /* The same options without the parse callbacks, as if a section had
     * been built some other way: compiling still refuses bad items, at
     * the section's line. */
    cfg_opt_t plain_period[] = {
        CFG_STR("timezone", NULL, CFGF_NONE),
        CFG_STR_LIST("weekdays", NULL, CFGF_NONE),
        CFG_STR_LIST("times", NULL, CFGF_NONE),
        CFG_STR_LIST("days", NULL, CFGF_NONE),
        CFG_STR_LIST("months", NULL, CFGF_NONE),
        CFG_STR_LIST("years", NULL, CFGF_NONE),
        CFG_STR_LIST("dates", NULL, CFGF_NONE),
        CFG_STR_LIST("include", NULL, CFGF_NONE),
        CFG_STR_LIST("exclude", NULL, CFGF_NONE),
        CFG_END()
    };
    cfg_opt_t opts[] = {
        CFG_SEC("timeperiod", plain_period, CFGF_TITLE | CFGF_MULTI),
        CFG_END()
    };
    struct tocsin_timeperiod tp;
    struct tocsin_buf errs = TOCSIN_BUF_INIT;
    cfg_t *cfg;
    const char *text;

    (void)state;
    cfg = cfg_init(opts, CFGF_NONE);
    assert_non_null(cfg);
    assert_int_equal(cfg_parse_buf(cfg, "timeperiod \"p\" {\n"
                                   "    timezone = \"Mars/Olympus_Mons\"\n"
                                   "    times = { \"09:00-17:00\", \"25:00-26:00\" }\n"
                                   "    days = { \"1-15\" }\n"
                                   "}\n"), CFG_SUCCESS);
    assert_int_equal(tocsin_timeperiod_compile(cfg_getnsec(cfg, "timeperiod", 0),
                                               "other.conf", 7, &tp, &errs), -1);
    text = tocsin_buf_str(&errs);
    if (!strstr(text, "other.conf:7: timeperiod \"p\": option 'timezone': "
                "unknown time zone \"Mars/Olympus_Mons\""))
        fail_msg("expected the unknown zone at other.conf:7, got \"%s\"", text);
    if (!strstr(text, "other.conf:7: timeperiod \"p\": option 'times': "
                "\"25:00-26:00\": hours go from 00 to 23"))
        fail_msg("expected the bad time range at other.conf:7, got \"%s\"", text);
    if (strstr(text, "1-15") || strstr(text, "09:00-17:00"))
        fail_msg("valid items were reported: \"%s\"", text);
    /* Nothing is left allocated in tp. */
    assert_null(tp.name);
    assert_null(tp.zone);
    assert_null(tp.times);
    tocsin_timeperiod_free(&tp);
    tocsin_buf_free(&errs);
    cfg_free(cfg);
}

/* ------------------------------------------------------------------ */
/* Malformed items                                                     */
/* ------------------------------------------------------------------ */

static void test_malformed_weekdays(void **state)
{
    (void)state;
    expect_item_refused("weekdays = { \"mon-fry\" }", "\"fry\" is not a weekday");
    expect_item_refused("weekdays = { \"funday\" }", "\"funday\" is not a weekday");
    expect_item_refused("weekdays = { \"mon-\" }", "is not a weekday or a range");
    expect_item_refused("weekdays = { \"\" }", "is not a weekday or a range");
    expect_item_refused("weekdays = { \"mon,tue\" }", "is not a weekday");
}

static void test_malformed_times(void **state)
{
    (void)state;
    expect_item_refused("times = { \"09:00\" }", "is not a time range (use HH:MM-HH:MM");
    expect_item_refused("times = { \"9-17\" }", "is not a time range");
    expect_item_refused("times = { \"09:00-17:00 \" }", "is not a time range");
    expect_item_refused("times = { \"09:00-25:00\" }", "hours go from 00 to 23");
    expect_item_refused("times = { \"09:60-10:00\" }", "minutes from 00 to 59");
    expect_item_refused("times = { \"24:00-24:00\" }", "24:00 may only end a range");
    expect_item_refused("times = { \"09:00-09:00\" }", "is empty");
    expect_item_refused("times = { \"22:00-06:00\" }",
                        "a range over midnight is two ranges, \"22:00-24:00\" "
                        "and \"00:00-06:00\"");
}

static void test_malformed_days(void **state)
{
    (void)state;
    expect_item_refused("days = { \"0\" }", "a day of the month is 1 to 31");
    expect_item_refused("days = { \"32\" }", "a day of the month is 1 to 31");
    expect_item_refused("days = { \"-32\" }", "a day of the month is 1 to 31");
    expect_item_refused("days = { \"15-1\" }", "the range ends before it starts");
    expect_item_refused("days = { \"-1--7\" }", "the range ends before it starts");
    expect_item_refused("days = { \"-1-5\" }", "not the other way round");
    expect_item_refused("days = { \"first\" }", "is not a day of the month");
    expect_item_refused("days = { \"1-\" }", "is not a day of the month");
}

static void test_malformed_months(void **state)
{
    (void)state;
    expect_item_refused("months = { \"jan-foo\" }", "\"foo\" is not a month");
    expect_item_refused("months = { \"13\" }", "\"13\" is not a month");
    expect_item_refused("months = { \"0\" }", "\"0\" is not a month");
    expect_item_refused("months = { \"-mar\" }", "is not a month or a range");
}

static void test_malformed_years(void **state)
{
    (void)state;
    expect_item_refused("years = { \"20x6\" }", "is not a year or a range of years");
    expect_item_refused("years = { \"12345\" }", "is not a year or a range of years");
    expect_item_refused("years = { \"2030-2026\" }", "the range ends before it starts");
    expect_item_refused("years = { \"0\" }", "years start at 1");
}

static void test_malformed_dates(void **state)
{
    (void)state;
    expect_item_refused("dates = { \"2026-02-30\" }",
                        "2026-02-30 does not exist (that month has 28 days)");
    expect_item_refused("dates = { \"2026-02-29\" }",
                        "2026-02-29 does not exist (that month has 28 days)");
    expect_item_refused("dates = { \"2026-13-01\" }", "months are 01 to 12");
    expect_item_refused("dates = { \"2026-1-1\" }", "is not a date or a range of dates");
    expect_item_refused("dates = { \"2026-12-24..\" }", "is not a date");
    expect_item_refused("dates = { \"2026-12-31..2026-01-01\" }",
                        "the range ends before it starts");
}

static void test_malformed_timezones(void **state)
{
    (void)state;
    expect_item_refused("timezone = \"Mars/Olympus_Mons\"",
                        "unknown time zone \"Mars/Olympus_Mons\"");
    expect_item_refused("timezone = \"../../../etc/passwd\"",
                        "(empty, \".\" or \"..\" component)");
    expect_item_refused("timezone = \"Europe/../Europe/Berlin\"",
                        "(empty, \".\" or \"..\" component)");
    expect_item_refused("timezone = \"/usr/share/zoneinfo/UTC\"", "is a path");
    expect_item_refused("timezone = \"zone.tab\"", "is not a valid TZif zone file");
    expect_item_refused("timezone = \"Europe\"", "is not a zone file");
    expect_item_refused("timezone = \"Europe/Berlin \"", "character ' '");
}

static void test_malformed_include_exclude_and_unknown_option(void **state)
{
    (void)state;
    expect_item_refused("include = { \"\" }", "the name of a timeperiod is empty");
    expect_item_refused("exclude = { \"\" }", "the name of a timeperiod is empty");
    expect_item_refused("weekday = { \"mon\" }", "no such option 'weekday'");
}

static void test_valid_items_pass_the_parse_callbacks(void **state)
{
    (void)state;
    load_ok("timeperiod \"everything\" {\n"
            "    timezone = \"America/New_York\"\n"
            "    weekdays = { \"mon-fri\", \"sun\", \"Saturday\" }\n"
            "    times = { \"0:00-9:30\", \"09:30-24:00\" }\n"
            "    days = { \"1\", \"2-30\", \"-1\", \"-31--2\", \"16--1\" }\n"
            "    months = { \"jan-jun\", \"7\", \"AUG\", \"september-december\" }\n"
            "    years = { \"1\", \"2026-9999\" }\n"
            "    dates = { \"2024-02-29\", \"2026-01-01..2026-01-01\" }\n"
            "}\n");
    assert_int_equal(ntps, 1);
    assert_int_equal(tps[0].given, TOCSIN_TP_WEEKDAYS | TOCSIN_TP_TIMES |
                     TOCSIN_TP_DAYS | TOCSIN_TP_MONTHS | TOCSIN_TP_YEARS |
                     TOCSIN_TP_DATES);
    assert_int_equal(tps[0].weekdays, 0x7f);
    assert_int_equal(tps[0].months, 0xfff);
    assert_int_equal(tps[0].ntimes, 2);
    assert_int_equal(tps[0].ndays, 5);
    assert_string_equal(tps[0].zone_name, "America/New_York");
    assert_int_equal(tps[0].line, 1);
    assert_string_equal(tps[0].file, CONF_FILE);
}

/* ------------------------------------------------------------------ */
/* Daylight saving time                                                */
/* ------------------------------------------------------------------ */

/* One transition day of one zone, and what is known about it. */
struct dst_day {
    const char *zone;
    const char *date;         /* the local date of the transition */
    time_t transition;        /* first instant with the new offset */
    int spring;               /* clocks go forward (else back) */
    time_t next_monday_9;     /* the following Monday 09:00 local */
};

/* Load the periods a DST test uses, in zone `zone` on `date`. */
static void load_dst_periods(const struct dst_day *d)
{
    char text[2048];

    snprintf(text, sizeof(text),
             "timeperiod \"business-hours\" {\n"
             "    timezone = \"%s\"\n"
             "    weekdays = { \"mon-fri\" }\n"
             "    times = { \"09:00-17:00\" }\n"
             "}\n"
             "timeperiod \"nine-to-five\" {\n"
             "    timezone = \"%s\"\n"
             "    dates = { \"%s\" }\n"
             "    times = { \"09:00-17:00\" }\n"
             "}\n"
             "timeperiod \"two-to-three\" {\n"
             "    timezone = \"%s\"\n"
             "    dates = { \"%s\" }\n"
             "    times = { \"02:00-03:00\" }\n"
             "}\n"
             "timeperiod \"whole-day\" {\n"
             "    timezone = \"%s\"\n"
             "    dates = { \"%s\" }\n"
             "    times = { \"00:00-24:00\" }\n"
             "}\n",
             d->zone, d->zone, d->date, d->zone, d->date, d->zone, d->date);
    load_ok(text);
}

static void check_dst_day(const struct dst_day *d)
{
    time_t t = d->transition, from = t - 30 * 3600, to = t + 30 * 3600;
    int whole, two, nine;

    load_dst_periods(d);

    /* The transition day is a Sunday: no business hours around it. */
    expect_at("business-hours", t - 1, 0, "just before the transition");
    expect_at("business-hours", t, 0, "just after the transition");
    /* The next Monday opens at 09:00 local and lasts 8 real hours. */
    expect_at("business-hours", d->next_monday_9 - 1, 0, "Monday 08:59:59");
    expect_at("business-hours", d->next_monday_9, 1, "Monday 09:00");
    expect_at("business-hours", d->next_monday_9 + 8 * 3600 - 1, 1,
              "Monday 16:59:59");
    expect_at("business-hours", d->next_monday_9 + 8 * 3600, 0, "Monday 17:00");

    /* Both sides of the transition are on the transition day. */
    expect_at("whole-day", t - 1, 1, "just before the transition");
    expect_at("whole-day", t, 1, "just after the transition");
    expect_at("nine-to-five", t - 1, 0, "just before the transition");
    expect_at("nine-to-five", t, 0, "just after the transition");

    if (d->spring) {
        /* 01:59:59 is followed by 03:00:00: 02:00-03:00 never happens. */
        expect_at("two-to-three", t - 1, 0, "01:59:59, just before the jump");
        expect_at("two-to-three", t, 0, "03:00:00, just after the jump");
    } else {
        /* 02:00-02:59:59 happens in summer time, then again in winter time. */
        expect_at("two-to-three", t - 3600 - 1, 0, "01:59:59 summer time");
        expect_at("two-to-three", t - 3600, 1, "02:00 summer time");
        expect_at("two-to-three", t - 1, 1, "02:59:59 summer time");
        expect_at("two-to-three", t, 1, "02:00 winter time");
        expect_at("two-to-three", t + 3600 - 1, 1, "02:59:59 winter time");
        expect_at("two-to-three", t + 3600, 0, "03:00 winter time");
    }

    whole = minutes_inside("whole-day", from, to);
    two = minutes_inside("two-to-three", from, to);
    nine = minutes_inside("nine-to-five", from, to);
    if (whole != (d->spring ? 23 : 25) * 60)
        fail_msg("%s %s: \"00:00-24:00\" should last %d real minutes, lasted %d",
                 d->zone, d->date, (d->spring ? 23 : 25) * 60, whole);
    if (two != (d->spring ? 0 : 120))
        fail_msg("%s %s: \"02:00-03:00\" should last %d real minutes, lasted %d",
                 d->zone, d->date, d->spring ? 0 : 120, two);
    if (nine != 8 * 60)
        fail_msg("%s %s: \"09:00-17:00\" should last 480 real minutes, lasted %d",
                 d->zone, d->date, nine);
}

static void test_dst_berlin_spring_forward(void **state)
{
    /* 2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST. */
    static const struct dst_day d = {"Europe/Berlin", "2026-03-29",
                                     1774746000, 1, 1774854000};

    (void)state;
    check_dst_day(&d);
}

static void test_dst_berlin_fall_back(void **state)
{
    /* 2026-10-25 01:00 UTC: 03:00 CEST becomes 02:00 CET. */
    static const struct dst_day d = {"Europe/Berlin", "2026-10-25",
                                     1792890000, 0, 1793001600};

    (void)state;
    check_dst_day(&d);
}

static void test_dst_new_york_spring_forward(void **state)
{
    /* 2026-03-08 07:00 UTC: 02:00 EST becomes 03:00 EDT. */
    static const struct dst_day d = {"America/New_York", "2026-03-08",
                                     1772953200, 1, 1773061200};

    (void)state;
    check_dst_day(&d);
}

static void test_dst_new_york_fall_back(void **state)
{
    /* 2026-11-01 06:00 UTC: 02:00 EDT becomes 01:00 EST. New York repeats
     * 01:00-02:00, not 02:00-03:00 as Berlin does, so this day gets its
     * own checks: the repeated hour counts twice, 02:00-03:00 once. */
    (void)state;
    load_ok("timeperiod \"one-to-two\" {\n"
            "    timezone = \"America/New_York\"\n"
            "    dates = { \"2026-11-01\" }\n"
            "    times = { \"01:00-02:00\" }\n"
            "}\n"
            "timeperiod \"two-to-three\" {\n"
            "    timezone = \"America/New_York\"\n"
            "    dates = { \"2026-11-01\" }\n"
            "    times = { \"02:00-03:00\" }\n"
            "}\n"
            "timeperiod \"whole-day\" {\n"
            "    timezone = \"America/New_York\"\n"
            "    dates = { \"2026-11-01\" }\n"
            "    times = { \"00:00-24:00\" }\n"
            "}\n"
            "timeperiod \"business-hours\" {\n"
            "    timezone = \"America/New_York\"\n"
            "    weekdays = { \"mon-fri\" }\n"
            "    times = { \"09:00-17:00\" }\n"
            "}\n");
    expect_at("one-to-two", 1793512800 - 3600 - 1, 0, "00:59:59 EDT");
    expect_at("one-to-two", 1793512800 - 3600, 1, "01:00 EDT");
    expect_at("one-to-two", 1793512800 - 1, 1, "01:59:59 EDT");
    expect_at("one-to-two", 1793512800, 1, "01:00 EST");
    expect_at("one-to-two", 1793512800 + 3600 - 1, 1, "01:59:59 EST");
    expect_at("one-to-two", 1793512800 + 3600, 0, "02:00 EST");
    expect_at("two-to-three", 1793512800 - 1, 0, "01:59:59 EDT");
    expect_at("two-to-three", 1793512800, 0, "01:00 EST");
    expect_at("whole-day", 1793512800 - 1, 1, "01:59:59 EDT");
    expect_at("whole-day", 1793512800, 1, "01:00 EST");
    expect_at("business-hours", 1793512800 - 1, 0, "Sunday 01:59:59 EDT");
    expect_at("business-hours", 1793512800, 0, "Sunday 01:00 EST");
    /* Monday 2026-11-02 09:00 EST is 14:00 UTC. */
    expect_at("business-hours", 1793628000 - 1, 0, "Monday 08:59:59");
    expect_at("business-hours", 1793628000, 1, "Monday 09:00");
    expect_at("business-hours", 1793628000 + 8 * 3600 - 1, 1, "Monday 16:59:59");
    expect_at("business-hours", 1793628000 + 8 * 3600, 0, "Monday 17:00");
    assert_int_equal(minutes_inside("one-to-two", 1793512800 - 30 * 3600,
                                    1793512800 + 30 * 3600), 120);
    assert_int_equal(minutes_inside("two-to-three", 1793512800 - 30 * 3600,
                                    1793512800 + 30 * 3600), 60);
    assert_int_equal(minutes_inside("whole-day", 1793512800 - 30 * 3600,
                                    1793512800 + 30 * 3600), 25 * 60);
}

static void test_dst_new_york_nine_to_five_on_spring_day(void **state)
{
    (void)state;
    load_ok("timeperiod \"nine-to-five\" {\n"
            "    timezone = \"America/New_York\"\n"
            "    dates = { \"2026-03-08\" }\n"
            "    times = { \"09:00-17:00\" }\n"
            "}\n");
    /* 09:00 EDT is 13:00 UTC, 17:00 EDT is 21:00 UTC. */
    expect_at("nine-to-five", 1772974800 - 1, 0, "08:59:59 EDT");
    expect_at("nine-to-five", 1772974800, 1, "09:00 EDT");
    expect_at("nine-to-five", 1773003600 - 1, 1, "16:59:59 EDT");
    expect_at("nine-to-five", 1773003600, 0, "17:00 EDT");
}

/* ------------------------------------------------------------------ */
/* Local time parsing                                                  */
/* ------------------------------------------------------------------ */

static void test_parse_nonexistent_time_is_an_error(void **state)
{
    (void)state;
    expect_time_refused("2026-03-29 02:30", "Europe/Berlin",
                        "2026-03-29 02:30 does not exist in Europe/Berlin: "
                        "clocks jump from 02:00 to 03:00");
    expect_time_refused("2026-03-29 02:00", "Europe/Berlin",
                        "clocks jump from 02:00 to 03:00");
    expect_time_refused("2026-03-29 02:59:59", "Europe/Berlin",
                        "2026-03-29 02:59:59 does not exist in Europe/Berlin");
    expect_time_refused("2026-03-08 02:30", "America/New_York",
                        "2026-03-08 02:30 does not exist in America/New_York: "
                        "clocks jump from 02:00 to 03:00");
    expect_time_refused("2026-03-08 02:30 America/New_York", NULL,
                        "does not exist in America/New_York");
    /* The edges of the gap exist. */
    expect_time("2026-03-29 01:59:59", "Europe/Berlin", 1774745999);
    expect_time("2026-03-29 03:00", "Europe/Berlin", 1774746000);
    expect_time("2026-03-08 01:59:59", "America/New_York", 1772953199);
    expect_time("2026-03-08 03:00", "America/New_York", 1772953200);
}

static void test_parse_ambiguous_time_is_the_earlier_instant(void **state)
{
    (void)state;
    /* 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET). */
    expect_time("2026-10-25 02:30", "Europe/Berlin", 1792888200);
    expect_time("2026-10-25 02:00", "Europe/Berlin", 1792886400);
    expect_time("2026-10-25 02:59:59", "Europe/Berlin", 1792889999);
    expect_time("2026-10-25 03:00", "Europe/Berlin", 1792893600);
    /* 01:30 happens at 05:30 UTC (EDT) and 06:30 UTC (EST). */
    expect_time("2026-11-01 01:30", "America/New_York", 1793511000);
    expect_time("2026-11-01 02:00", "America/New_York", 1793516400);
}

static void test_parse_normal_times(void **state)
{
    (void)state;
    expect_time("2026-07-01 12:00", "America/New_York", 1782921600);
    expect_time("2026-07-01 18:00", "Europe/Berlin", 1782921600);
    expect_time("2026-07-01 10:00:30", "UTC", 1782900030);
    expect_time("2026-07-01T10:00", "UTC", 1782900000);
    expect_time("  2026-07-01 10:00  ", "UTC", 1782900000);
    expect_time("2024-02-29 00:00", "UTC", 1709164800);
    expect_time("1970-01-01 00:00", "UTC", 0);
    expect_time("1970-01-01 01:00", "Europe/Berlin", 0);
}

static void test_parse_zone_suffix_takes_precedence(void **state)
{
    (void)state;
    expect_time("2026-07-01 12:00 America/New_York", "Europe/Berlin", 1782921600);
    expect_time("2026-07-01 12:00 America/New_York", NULL, 1782921600);
    expect_time("2026-07-01 16:00:00 UTC ", "Asia/Tokyo", 1782921600);
}

static void test_parse_host_zone_honours_tz(void **state)
{
    (void)state;
    set_tz("America/New_York");
    expect_time("2026-07-01 12:00", NULL, 1782921600);
    expect_time("2026-07-01 12:00", "", 1782921600);
    expect_time_refused("2026-03-08 02:30", NULL,
                        "2026-03-08 02:30 does not exist in the local time "
                        "zone (TZ=America/New_York): clocks jump from 02:00 "
                        "to 03:00");
    set_tz("Europe/Berlin");
    expect_time("2026-07-01 18:00", NULL, 1782921600);
    set_tz("UTC");
    expect_time("2026-07-01 16:00", NULL, 1782921600);
}

static void test_parse_bad_input(void **state)
{
    (void)state;
    expect_time_refused("", "UTC", "is not a local time");
    expect_time_refused("garbage", "UTC", "is not a local time (use \"YYYY-MM-DD HH:MM\"");
    expect_time_refused("2026-3-1 10:00", "UTC", "is not a local time");
    expect_time_refused("2026-03-01", "UTC", "is not a local time");
    expect_time_refused("2026-03-01 10", "UTC", "is not a local time");
    expect_time_refused("2026-03-01 10:00:0", "UTC", "is not a local time");
    expect_time_refused("2026-03-01 10:00:00x", "UTC", "is not a local time");
    expect_time_refused("2026-03-01 10:00 Europe/Berlin extra", "UTC",
                        "is not a local time");
    expect_time_refused("2026-13-01 10:00", "UTC", "month 13 does not exist");
    expect_time_refused("2026-00-01 10:00", "UTC", "month 0 does not exist");
    expect_time_refused("2026-02-30 10:00", "UTC",
                        "2026-02-30 does not exist (that month has 28 days)");
    expect_time_refused("2026-02-29 10:00", "UTC", "that month has 28 days");
    expect_time_refused("2026-04-31 10:00", "UTC", "that month has 30 days");
    expect_time_refused("2026-03-01 24:00", "UTC", "is not a time of day");
    expect_time_refused("2026-03-01 10:60", "UTC", "is not a time of day");
    expect_time_refused("2026-03-01 10:00:60", "UTC", "is not a time of day");
    expect_time_refused("2026-03-01 10:00 Mars/Base", "UTC",
                        "unknown time zone \"Mars/Base\"");
    expect_time_refused("2026-03-01 10:00", "Mars/Base",
                        "unknown time zone \"Mars/Base\"");
    expect_time_refused("2026-03-01 10:00 ../../etc/passwd", "UTC",
                        "\"..\" component");
    expect_time_refused("2026-03-01 10:00 /etc/localtime", "UTC", "is a path");
}

/* ------------------------------------------------------------------ */
/* Zone switching and its cache                                        */
/* ------------------------------------------------------------------ */

static void test_tz_is_restored_after_evaluation(void **state)
{
    struct tm tm;
    time_t t = 1782900000; /* 2026-07-01 10:00 UTC */
    const char *tz;

    (void)state;
    load_ok("timeperiod \"berlin\" {\n"
            "    timezone = \"Europe/Berlin\"\n"
            "    times = { \"12:00-13:00\" }\n"
            "}\n");
    set_tz("Asia/Tokyo");
    expect_at("berlin", t, 1, "12:00 in Berlin");
    tz = getenv("TZ");
    if (!tz || strcmp(tz, "Asia/Tokyo") != 0)
        fail_msg("TZ should be Asia/Tokyo again, is %s", tz ? tz : "unset");
    assert_non_null(localtime_r(&t, &tm));
    if (tm.tm_gmtoff != 9 * 3600 || tm.tm_hour != 19)
        fail_msg("local time after evaluation should be Tokyo's 19:00 "
                 "(+32400), is %02d:%02d (%+ld)", tm.tm_hour, tm.tm_min,
                 (long)tm.tm_gmtoff);

    /* Parsing restores it as well, and an unset TZ stays unset. */
    set_tz(NULL);
    expect_time("2026-07-01 12:00", "Europe/Berlin", t);
    if (getenv("TZ"))
        fail_msg("TZ should be unset again, is \"%s\"", getenv("TZ"));
    expect_at("berlin", t + 86400 * 200, 0, "a January evening");
    if (getenv("TZ"))
        fail_msg("TZ should be unset again, is \"%s\"", getenv("TZ"));
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_zone_cache_avoids_switching_tz(void **state)
{
    time_t base = 1782900000; /* 2026-07-01 10:00 UTC, summer time in both */
    unsigned long before, switches;
    double start, cached, uncached;
    struct tm tm;
    char *saved;
    int i, hits = 0;

    (void)state;
    load_ok("timeperiod \"berlin\" {\n"
            "    timezone = \"Europe/Berlin\"\n"
            "    times = { \"09:00-17:00\" }\n"
            "}\n"
            "timeperiod \"new-york\" {\n"
            "    timezone = \"America/New_York\"\n"
            "    times = { \"09:00-17:00\" }\n"
            "}\n");
    set_tz("UTC");
    /* The first evaluation in each zone converts through the C library. */
    before = tocsin_timezone_switches();
    in_period("berlin", base);
    in_period("new-york", base);
    switches = tocsin_timezone_switches() - before;
    if (switches != 2)
        fail_msg("first evaluations in two zones: expected 2 TZ switches, got %lu",
                 switches);

    /* Alternating zones over a month of summer time: no switch at all. */
    before = tocsin_timezone_switches();
    start = now_seconds();
    for (i = 0; i < 20000; i++) {
        hits += in_period("berlin", base + i * 120);
        hits += in_period("new-york", base + i * 120);
    }
    cached = (now_seconds() - start) / 40000;
    switches = tocsin_timezone_switches() - before;
    if (switches != 0)
        fail_msg("40000 evaluations inside one stretch of each zone: expected "
                 "no TZ switch, got %lu", switches);
    /* 8 of 24 hours in each zone. */
    if (hits < 40000 / 3 - 500 || hits > 40000 / 3 + 500)
        fail_msg("expected about a third of the samples inside, got %d of 40000",
                 hits);

    /* Crossing Berlin's autumn transition costs one switch: the winter
     * stretch is read once, then reused. */
    before = tocsin_timezone_switches();
    in_period("berlin", 1792890000 - 1);
    in_period("berlin", 1792890000);
    in_period("berlin", 1792890000 + 3600);
    switches = tocsin_timezone_switches() - before;
    if (switches != 1)
        fail_msg("a summer and two winter instants: expected 1 TZ switch, got %lu",
                 switches);

    /* For comparison: converting the way the cache avoids, switching TZ
     * there and back for every instant. */
    start = now_seconds();
    for (i = 0; i < 2000; i++) {
        saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
        setenv("TZ", i % 2 ? "Europe/Berlin" : "America/New_York", 1);
        tzset();
        localtime_r(&base, &tm);
        if (saved)
            setenv("TZ", saved, 1);
        else
            unsetenv("TZ");
        tzset();
        free(saved);
    }
    uncached = (now_seconds() - start) / 2000;
    print_message("zone cache: %.0f ns per evaluation; switching TZ for each "
                  "would cost %.0f ns\n", cached * 1e9, uncached * 1e9);
}

/* ------------------------------------------------------------------ */
/* Runs at fixed local times (a service's `at`)                        */
/* ------------------------------------------------------------------ */

/* Minutes of "HH:MM" texts; fails the test on a bad one. */
static size_t clocks(const char *const *texts, int *out)
{
    size_t n;

    for (n = 0; texts[n]; n++)
        if (tocsin_clock_parse(texts[n], &out[n]) < 0)
            fail_msg("\"%s\" refused as a time of day", texts[n]);
    return n;
}

static void expect_next(const char *zone, const char *const *texts, time_t after,
                        long long expected)
{
    int minutes[16];
    size_t n = clocks(texts, minutes);
    time_t got = tocsin_local_next_at(zone, minutes, n, after);

    if ((long long)got != expected)
        fail_msg("next of %s after %lld in %s: expected %lld, got %lld", texts[0],
                 (long long)after, zone ? zone : "the host's zone", expected, (long long)got);
}

static void test_at_times_of_day_in_order(void **state)
{
    static const char *const three[] = {"17:00", "09:00", "13:00", NULL};

    (void)state;
    /* Unsorted as configured; the next one of the day comes first. */
    expect_next("Europe/Paris", three, at("2026-06-10 08:59 Europe/Paris"),
                (long long)at("2026-06-10 09:00 Europe/Paris"));
    expect_next("Europe/Paris", three, at("2026-06-10 09:00 Europe/Paris"),
                (long long)at("2026-06-10 13:00 Europe/Paris"));
    expect_next("Europe/Paris", three, at("2026-06-10 12:59 Europe/Paris"),
                (long long)at("2026-06-10 13:00 Europe/Paris"));
    /* After the last of the day: the first of the next day. */
    expect_next("Europe/Paris", three, at("2026-06-10 17:00 Europe/Paris"),
                (long long)at("2026-06-11 09:00 Europe/Paris"));
    /* Across the spring change: 09:00 is 07:00 UTC the day of it. */
    expect_next("Europe/Paris", three, at("2026-03-28 17:00 Europe/Paris"), 1774767600LL);
}

/* 02:30 does not exist in Paris on 2026-03-29 (02:00 -> 03:00): it runs
 * once, when the clocks jump (03:00 CEST = 01:00 UTC), then at 02:30 the
 * next day. */
static void test_at_skipped_time_runs_once_when_clocks_jump(void **state)
{
    static const char *const t0230[] = {"02:30", NULL};
    static const char *const two[] = {"02:15", "02:45", NULL};

    (void)state;
    expect_next("Europe/Paris", t0230, at("2026-03-28 12:00 Europe/Paris"), 1774746000LL);
    expect_next("Europe/Paris", t0230, 1774746000, 1774830600LL);
    /* Two listed times in the gap: one run, not two. */
    expect_next("Europe/Paris", two, at("2026-03-28 12:00 Europe/Paris"), 1774746000LL);
    expect_next("Europe/Paris", two, 1774746000,
                (long long)at("2026-03-30 02:15 Europe/Paris"));
    /* New York, 2026-03-08 (02:00 -> 03:00 EDT = 07:00 UTC). */
    expect_next("America/New_York", t0230, at("2026-03-07 23:00 America/New_York"),
                1772953200LL);
}

/* 01:30 happens twice in New York on 2026-11-01 (EDT 05:30 UTC, then EST
 * 06:30 UTC): it runs at the first only, then at 01:30 EST the next day.
 * The same for 02:30 in Paris on 2026-10-25. */
static void test_at_repeated_time_runs_once(void **state)
{
    static const char *const t0130[] = {"01:30", NULL};
    static const char *const t0230[] = {"02:30", NULL};

    (void)state;
    expect_next("America/New_York", t0130, at("2026-10-31 12:00 America/New_York"),
                1793511000LL);
    expect_next("America/New_York", t0130, 1793511000, 1793601000LL);
    /* Between the two 01:30s: the next is the next day's. */
    expect_next("America/New_York", t0130, 1793511000 + 1800, 1793601000LL);
    expect_next("Europe/Paris", t0230, at("2026-10-24 12:00 Europe/Paris"), 1792888200LL);
    expect_next("Europe/Paris", t0230, 1792888200, 1792978200LL);
}

/* Without a zone the host's (TZ) is used. */
static void test_at_host_zone_follows_tz(void **state)
{
    static const char *const nine[] = {"09:00", NULL};

    (void)state;
    set_tz("America/New_York");
    expect_next(NULL, nine, at("2026-06-10 08:00 America/New_York"),
                (long long)at("2026-06-10 09:00 America/New_York"));
    set_tz("UTC");
    expect_next("", nine, at("2026-06-10 08:00 UTC"), (long long)at("2026-06-10 09:00 UTC"));
    /* TZ is as it was. */
    assert_string_equal(getenv("TZ"), "UTC");
}

/* check_period: the next listed time inside the period. */
static void test_at_inside_a_check_period(void **state)
{
    static const char *const nine[] = {"09:00", "21:00", NULL};
    int minutes[4];
    size_t n;
    long i;

    (void)state;
    load_ok("timeperiod \"workdays\" {\n    timezone = \"Europe/Paris\"\n"
            "    weekdays = { \"mon-fri\" }\n    times = { \"08:00-18:00\" }\n}\n"
            "timeperiod \"never\" {\n    dates = { \"2001-01-01\" }\n}\n");
    n = clocks(nine, minutes);
    i = tocsin_timeperiod_find(tps, ntps, "workdays");
    /* Friday 2026-03-27 10:00: 21:00 is outside the hours, the weekend
     * outside the days: Monday 2026-03-30 09:00 CEST = 07:00 UTC (after
     * the spring change). */
    assert_int_equal(tocsin_timeperiod_next_at(tps, ntps, i, "Europe/Paris", minutes, n,
                                               at("2026-03-27 10:00 Europe/Paris"), 366),
                     1774854000);
    /* No period: the 21:00 of the same day. */
    assert_int_equal(tocsin_timeperiod_next_at(tps, ntps, -1, "Europe/Paris", minutes, n,
                                               at("2026-03-27 10:00 Europe/Paris"), 366),
                     at("2026-03-27 21:00 Europe/Paris"));
    /* A period that never holds one: none within the horizon. */
    i = tocsin_timeperiod_find(tps, ntps, "never");
    assert_int_equal(tocsin_timeperiod_next_at(tps, ntps, i, "Europe/Paris", minutes, n,
                                               at("2026-03-27 10:00 Europe/Paris"), 30),
                     -1);
}

/* defer: when a period next opens, across a weekend and DST changes. */
static void test_next_open_across_weekend_and_dst(void **state)
{
    long biz, night, never;

    (void)state;
    load_ok("timeperiod \"business-hours\" {\n    timezone = \"Europe/Berlin\"\n"
            "    weekdays = { \"mon-fri\" }\n    times = { \"09:00-17:00\" }\n}\n"
            "timeperiod \"night\" {\n    timezone = \"Europe/Berlin\"\n"
            "    times = { \"02:30-04:00\" }\n}\n"
            "timeperiod \"never\" {\n    dates = { \"2001-01-01\" }\n}\n");
    biz = tocsin_timeperiod_find(tps, ntps, "business-hours");
    night = tocsin_timeperiod_find(tps, ntps, "night");
    never = tocsin_timeperiod_find(tps, ntps, "never");
    assert_true(biz >= 0 && night >= 0 && never >= 0);
    /* Inside: at once. */
    assert_int_equal(tocsin_timeperiod_next_open(tps, ntps, (size_t)biz,
                                                 at("2026-03-27 10:00 Europe/Berlin"), 366),
                     at("2026-03-27 10:00 Europe/Berlin"));
    /* Friday evening, the spring change on Sunday: Monday 09:00 CEST,
     * 07:00 UTC. */
    assert_int_equal(tocsin_timeperiod_next_open(tps, ntps, (size_t)biz,
                                                 at("2026-03-27 18:00 Europe/Berlin"), 366),
                     1774854000);
    /* Friday evening, the autumn change on Sunday: Monday 09:00 CET,
     * 08:00 UTC. */
    assert_int_equal(tocsin_timeperiod_next_open(tps, ntps, (size_t)biz,
                                                 at("2026-10-23 18:00 Europe/Berlin"), 366),
                     1793001600);
    /* Saturday noon, seconds past the minute: Monday 09:00 exactly. */
    assert_int_equal(tocsin_timeperiod_next_open(tps, ntps, (size_t)biz,
                                                 at("2026-10-24 12:00 Europe/Berlin") + 17,
                                                 366),
                     1793001600);
    /* A period opening at 02:30 on the night the clocks skip 02:00-03:00:
     * it opens when they jump, 03:00 CEST (01:00 UTC). */
    assert_int_equal(tocsin_timeperiod_next_open(tps, ntps, (size_t)night,
                                                 at("2026-03-29 01:00 Europe/Berlin"), 366),
                     1774746000);
    /* A period that never opens again: none within the horizon. */
    assert_int_equal(tocsin_timeperiod_next_open(tps, ntps, (size_t)never,
                                                 at("2026-03-27 10:00 Europe/Berlin"), 3),
                     -1);
}

static void test_clock_parse(void **state)
{
    int m = -1;

    (void)state;
    assert_int_equal(tocsin_clock_parse("00:00", &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(tocsin_clock_parse("23:59", &m), 0);
    assert_int_equal(m, 1439);
    assert_int_equal(tocsin_clock_parse("24:00", &m), -1);
    assert_int_equal(tocsin_clock_parse("9:00", &m), -1);
    assert_int_equal(tocsin_clock_parse("09:60", &m), -1);
    assert_int_equal(tocsin_clock_parse("09:00 ", &m), -1);
    assert_int_equal(tocsin_clock_parse("", &m), -1);
    assert_int_equal(tocsin_clock_parse(NULL, &m), -1);
    assert_int_equal(m, 1439);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_business_hours_weekday_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_business_hours_weekend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weekday_range_wraps_past_sunday, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weekday_lists_and_full_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiple_time_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_range_ending_at_midnight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_days_from_start_and_from_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_day_of_february_leap_and_common_years, setup, teardown),
        cmocka_unit_test_setup_teardown(test_months_by_name_number_and_wrapping_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_years_single_and_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dates_and_date_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_constraints_must_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exclude_holidays_given_as_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exclude_period_in_another_zone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_only_is_union, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_adds_to_own_constraints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exclude_wins_over_include, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_period_is_always, setup, teardown),
        cmocka_unit_test_setup_teardown(test_period_without_zone_follows_host_tz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cycle_is_an_error_naming_the_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_exclusion_is_a_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_dependency_is_not_a_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_include_and_exclude_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_names_are_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_period_without_name_is_a_compile_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compile_checks_items_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_weekdays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_days, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_months, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_years, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_timezones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_include_exclude_and_unknown_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_items_pass_the_parse_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dst_berlin_spring_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dst_berlin_fall_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dst_new_york_spring_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dst_new_york_fall_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dst_new_york_nine_to_five_on_spring_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_nonexistent_time_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_ambiguous_time_is_the_earlier_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_normal_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_zone_suffix_takes_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_host_zone_honours_tz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tz_is_restored_after_evaluation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zone_cache_avoids_switching_tz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_times_of_day_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_skipped_time_runs_once_when_clocks_jump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_repeated_time_runs_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_host_zone_follows_tz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_inside_a_check_period, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_open_across_weekend_and_dst, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clock_parse, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
