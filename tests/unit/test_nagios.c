/*
 * test_nagios.c - states, threshold ranges, plugin output and perfdata
 * parsing, exit codes (core/lib/nagios.c).
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/nagios.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

#define assert_double_equal(expected, actual) do { \
        double e_ = (expected), a_ = (actual); \
        if (e_ != a_) \
            fail_msg("%s: expected %.17g, got %.17g", #actual, e_, a_); \
    } while (0)

/* Assert that `text` parses and that `value` alerts (or not) against it. */
static void expect_alert(const char *text, double value, int expected)
{
    struct tocsin_range r;
    char err[256];
    int got;

    if (tocsin_range_parse(text, &r, err, sizeof(err)) != 0)
        fail_msg("range \"%s\" should parse, got error: %s", text, err);
    got = tocsin_range_alert(&r, value);
    if (got != expected)
        fail_msg("range \"%s\", value %g: expected %s, got %s", text, value,
                 expected ? "alert" : "no alert", got ? "alert" : "no alert");
}

/* Assert that `text` is refused with exactly `message`. */
static void expect_bad_range(const char *text, const char *message)
{
    struct tocsin_range r;
    char err[256];

    if (tocsin_range_parse(text, &r, err, sizeof(err)) != -1)
        fail_msg("range \"%s\" should be refused", text);
    assert_string_equal(err, message);
    assert_int_equal(r.set, 0);
}

/* Assert that `text` parses and formats back as `canonical`. */
static void expect_format(const char *text, const char *canonical)
{
    struct tocsin_range r, again;
    char err[256], buf[128];
    int n;

    if (tocsin_range_parse(text, &r, err, sizeof(err)) != 0)
        fail_msg("range \"%s\" should parse, got error: %s", text, err);
    n = tocsin_range_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, canonical);
    assert_int_equal(n, (int)strlen(canonical));
    if (tocsin_range_parse(buf, &again, err, sizeof(err)) != 0)
        fail_msg("formatted range \"%s\" should parse, got: %s", buf, err);
    assert_int_equal(again.set, 1);
    assert_int_equal(again.inside, r.inside);
    assert_int_equal(again.start_infinite, r.start_infinite);
    assert_int_equal(again.end_infinite, r.end_infinite);
    if (!r.start_infinite)
        assert_double_equal(r.start, again.start);
    if (!r.end_infinite)
        assert_double_equal(r.end, again.end);
}

static void parse_output(const char *text, struct tocsin_output *out)
{
    assert_int_equal(tocsin_output_parse(text, strlen(text), out), 0);
}

static void expect_perf(const struct tocsin_perf *p, const char *label,
                        double value, const char *uom, const char *warn,
                        const char *crit)
{
    assert_string_equal(p->label, label);
    assert_int_equal(p->value_unknown, 0);
    assert_double_equal(value, p->value);
    assert_string_equal(p->uom, uom);
    if (warn) {
        assert_non_null(p->warn);
        assert_string_equal(p->warn, warn);
    } else {
        assert_null(p->warn);
    }
    if (crit) {
        assert_non_null(p->crit);
        assert_string_equal(p->crit, crit);
    } else {
        assert_null(p->crit);
    }
}

static void expect_min_max(const struct tocsin_perf *p, double min, double max)
{
    assert_int_equal(p->has_min, 1);
    assert_int_equal(p->has_max, 1);
    assert_double_equal(min, p->min);
    assert_double_equal(max, p->max);
}

/* Parse one perfdata string and format every item back, space-separated. */
static void expect_perf_round_trip(const char *text, const char *canonical)
{
    struct tocsin_output out;
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    size_t i;

    memset(&out, 0, sizeof(out));
    assert_int_equal(tocsin_perf_parse(text, &out), 0);
    for (i = 0; i < out.nperf; i++) {
        if (i)
            tocsin_buf_putc(&b, ' ');
        assert_int_equal(tocsin_perf_format(&out.perf[i], &b), 0);
    }
    assert_string_equal(tocsin_buf_str(&b), canonical);
    tocsin_buf_free(&b);
    tocsin_output_free(&out);
}

/* ------------------------------------------------------------------ */
/* States                                                              */
/* ------------------------------------------------------------------ */

static void state_names_are_nagios_names(void **state)
{
    (void)state;
    assert_string_equal(tocsin_state_name(TOCSIN_OK), "OK");
    assert_string_equal(tocsin_state_name(TOCSIN_WARNING), "WARNING");
    assert_string_equal(tocsin_state_name(TOCSIN_CRITICAL), "CRITICAL");
    assert_string_equal(tocsin_state_name(TOCSIN_UNKNOWN), "UNKNOWN");
}

static void state_name_out_of_range_is_unknown(void **state)
{
    (void)state;
    assert_string_equal(tocsin_state_name(4), "UNKNOWN");
    assert_string_equal(tocsin_state_name(-1), "UNKNOWN");
}

static void state_parse_names_any_case(void **state)
{
    (void)state;
    assert_int_equal(tocsin_state_parse("ok"), TOCSIN_OK);
    assert_int_equal(tocsin_state_parse("OK"), TOCSIN_OK);
    assert_int_equal(tocsin_state_parse("Warning"), TOCSIN_WARNING);
    assert_int_equal(tocsin_state_parse("CRITICAL"), TOCSIN_CRITICAL);
    assert_int_equal(tocsin_state_parse("unknown"), TOCSIN_UNKNOWN);
}

static void state_parse_short_forms(void **state)
{
    (void)state;
    assert_int_equal(tocsin_state_parse("warn"), TOCSIN_WARNING);
    assert_int_equal(tocsin_state_parse("CRIT"), TOCSIN_CRITICAL);
}

static void state_parse_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(tocsin_state_parse("0"), TOCSIN_OK);
    assert_int_equal(tocsin_state_parse("1"), TOCSIN_WARNING);
    assert_int_equal(tocsin_state_parse("2"), TOCSIN_CRITICAL);
    assert_int_equal(tocsin_state_parse("3"), TOCSIN_UNKNOWN);
}

static void state_parse_rejects_other_text(void **state)
{
    (void)state;
    assert_int_equal(tocsin_state_parse("4"), -1);
    assert_int_equal(tocsin_state_parse(""), -1);
    assert_int_equal(tocsin_state_parse("okay"), -1);
    assert_int_equal(tocsin_state_parse(" ok"), -1);
    assert_int_equal(tocsin_state_parse(NULL), -1);
}

static void state_worst_orders_unknown_below_critical(void **state)
{
    (void)state;
    assert_int_equal(tocsin_state_worst(TOCSIN_OK, TOCSIN_WARNING),
                     TOCSIN_WARNING);
    assert_int_equal(tocsin_state_worst(TOCSIN_WARNING, TOCSIN_UNKNOWN),
                     TOCSIN_UNKNOWN);
    assert_int_equal(tocsin_state_worst(TOCSIN_UNKNOWN, TOCSIN_CRITICAL),
                     TOCSIN_CRITICAL);
    assert_int_equal(tocsin_state_worst(TOCSIN_CRITICAL, TOCSIN_UNKNOWN),
                     TOCSIN_CRITICAL);
    assert_int_equal(tocsin_state_worst(TOCSIN_CRITICAL, TOCSIN_OK),
                     TOCSIN_CRITICAL);
    assert_int_equal(tocsin_state_worst(TOCSIN_OK, TOCSIN_OK), TOCSIN_OK);
}

/* ------------------------------------------------------------------ */
/* Ranges: the guidelines' table                                       */
/* ------------------------------------------------------------------ */

/* "10": alert if < 0 or > 10 */
static void range_10_below_zero_alerts(void **state)
{
    (void)state;
    expect_alert("10", -1, 1);
    expect_alert("10", -0.001, 1);
}

static void range_10_at_zero_is_ok(void **state)
{
    (void)state;
    expect_alert("10", 0, 0);
}

static void range_10_inside_is_ok(void **state)
{
    (void)state;
    expect_alert("10", 5, 0);
}

static void range_10_at_upper_bound_is_ok(void **state)
{
    (void)state;
    expect_alert("10", 10, 0);
}

static void range_10_above_alerts(void **state)
{
    (void)state;
    expect_alert("10", 10.001, 1);
    expect_alert("10", 11, 1);
}

/* "10:": alert if < 10 */
static void range_10_colon_below_alerts(void **state)
{
    (void)state;
    expect_alert("10:", 9.999, 1);
    expect_alert("10:", -5, 1);
}

static void range_10_colon_at_bound_is_ok(void **state)
{
    (void)state;
    expect_alert("10:", 10, 0);
}

static void range_10_colon_above_is_ok(void **state)
{
    (void)state;
    expect_alert("10:", 11, 0);
    expect_alert("10:", 1e300, 0);
}

/* "~:10": alert if > 10 */
static void range_tilde_10_far_below_is_ok(void **state)
{
    (void)state;
    expect_alert("~:10", -1e300, 0);
    expect_alert("~:10", -1, 0);
}

static void range_tilde_10_at_bound_is_ok(void **state)
{
    (void)state;
    expect_alert("~:10", 10, 0);
}

static void range_tilde_10_above_alerts(void **state)
{
    (void)state;
    expect_alert("~:10", 10.5, 1);
}

/* "10:20": alert if < 10 or > 20 */
static void range_10_20_below_alerts(void **state)
{
    (void)state;
    expect_alert("10:20", 9, 1);
    expect_alert("10:20", 0, 1);
}

static void range_10_20_at_lower_bound_is_ok(void **state)
{
    (void)state;
    expect_alert("10:20", 10, 0);
}

static void range_10_20_inside_is_ok(void **state)
{
    (void)state;
    expect_alert("10:20", 15, 0);
}

static void range_10_20_at_upper_bound_is_ok(void **state)
{
    (void)state;
    expect_alert("10:20", 20, 0);
}

static void range_10_20_above_alerts(void **state)
{
    (void)state;
    expect_alert("10:20", 21, 1);
}

/* "@10:20": alert if >= 10 and <= 20 */
static void range_at_10_20_below_is_ok(void **state)
{
    (void)state;
    expect_alert("@10:20", 9.99, 0);
}

static void range_at_10_20_at_lower_bound_alerts(void **state)
{
    (void)state;
    expect_alert("@10:20", 10, 1);
}

static void range_at_10_20_inside_alerts(void **state)
{
    (void)state;
    expect_alert("@10:20", 15, 1);
}

static void range_at_10_20_at_upper_bound_alerts(void **state)
{
    (void)state;
    expect_alert("@10:20", 20, 1);
}

static void range_at_10_20_above_is_ok(void **state)
{
    (void)state;
    expect_alert("@10:20", 20.01, 0);
}

/* ------------------------------------------------------------------ */
/* Ranges: other forms                                                 */
/* ------------------------------------------------------------------ */

static void range_negative_bounds(void **state)
{
    (void)state;
    expect_alert("-10:-5", -11, 1);
    expect_alert("-10:-5", -10, 0);
    expect_alert("-10:-5", -5, 0);
    expect_alert("-10:-5", -4, 1);
    expect_alert("~:-3", -3, 0);
    expect_alert("~:-3", -2, 1);
    expect_alert("@-5:5", 0, 1);
    expect_alert("@-5:5", -6, 0);
}

static void range_decimal_bounds(void **state)
{
    (void)state;
    expect_alert("0.5:1.5", 0.49, 1);
    expect_alert("0.5:1.5", 0.5, 0);
    expect_alert("0.5:1.5", 1.5, 0);
    expect_alert("0.5:1.5", 1.51, 1);
    expect_alert("3.5", 3.5, 0);
    expect_alert("3.5", 3.6, 1);
}

static void range_exponent_bounds(void **state)
{
    (void)state;
    expect_alert("1e3", 1000, 0);
    expect_alert("1e3", 1001, 1);
}

static void range_at_with_open_end(void **state)
{
    (void)state;
    expect_alert("@10:", 9, 0);
    expect_alert("@10:", 10, 1);
    expect_alert("@~:10", 10, 1);
    expect_alert("@~:10", 11, 0);
}

static void range_tilde_colon_never_alerts(void **state)
{
    (void)state;
    expect_alert("~:", -1e300, 0);
    expect_alert("~:", 1e300, 0);
}

static void range_equal_bounds(void **state)
{
    (void)state;
    expect_alert("5:5", 5, 0);
    expect_alert("5:5", 5.1, 1);
}

static void range_empty_or_null_is_unset(void **state)
{
    struct tocsin_range r;
    char err[64];

    (void)state;
    assert_int_equal(tocsin_range_parse("", &r, err, sizeof(err)), 0);
    assert_int_equal(r.set, 0);
    assert_int_equal(tocsin_range_alert(&r, -1e300), 0);
    assert_int_equal(tocsin_range_parse(NULL, &r, err, sizeof(err)), 0);
    assert_int_equal(r.set, 0);
    assert_int_equal(tocsin_range_alert(&r, 1e300), 0);
}

static void range_nan_value_never_alerts(void **state)
{
    (void)state;
    expect_alert("10", (double)NAN, 0);
    expect_alert("@~:", (double)NAN, 0);
}

static void range_start_greater_than_end_is_refused(void **state)
{
    (void)state;
    expect_bad_range("20:10",
                     "range \"20:10\": start 20 is greater than end 10");
    expect_bad_range("-10", "range \"-10\": start 0 is greater than end -10");
}

static void range_not_a_number_is_refused(void **state)
{
    (void)state;
    expect_bad_range("abc", "range \"abc\": \"abc\" is not a number");
    expect_bad_range("10:abc", "range \"10:abc\": \"abc\" is not a number");
    expect_bad_range("x:10", "range \"x:10\": \"x\" is not a number");
    expect_bad_range("10:20:30",
                     "range \"10:20:30\": \"20:30\" is not a number");
}

static void range_trailing_garbage_is_refused(void **state)
{
    (void)state;
    expect_bad_range("10x", "range \"10x\": \"10x\" is not a number");
    expect_bad_range("10 ", "range \"10 \": \"10 \" is not a number");
    expect_bad_range(" 10", "range \" 10\": \" 10\" is not a number");
}

static void range_nan_and_inf_are_refused(void **state)
{
    (void)state;
    expect_bad_range("nan", "range \"nan\": \"nan\" is not a number");
    expect_bad_range("inf", "range \"inf\": \"inf\" is not a number");
    expect_bad_range("1:infinity",
                     "range \"1:infinity\": \"infinity\" is not a number");
    expect_bad_range("1e999", "range \"1e999\": \"1e999\" is not a number");
}

static void range_missing_start_is_refused(void **state)
{
    (void)state;
    expect_bad_range(":10", "range \":10\": the lower bound before ':' is "
                     "missing (write 0:N, or ~:N for none)");
}

static void range_lone_tilde_is_refused(void **state)
{
    (void)state;
    expect_bad_range("~", "range \"~\": '~' stands only before ':', "
                     "as in ~:10");
}

static void range_lone_at_is_refused(void **state)
{
    (void)state;
    expect_bad_range("@", "range \"@\": no bounds after '@'");
}

static void range_error_fits_small_buffer(void **state)
{
    struct tocsin_range r;
    char err[8];

    (void)state;
    assert_int_equal(tocsin_range_parse("abc", &r, err, sizeof(err)), -1);
    assert_string_equal(err, "range \"");
    assert_int_equal(tocsin_range_parse("abc", &r, NULL, 0), -1);
}

static void range_format_round_trips(void **state)
{
    (void)state;
    expect_format("10", "10");
    expect_format("0:10", "10");
    expect_format("10:", "10:");
    expect_format("0:", "0:");
    expect_format("~:10", "~:10");
    expect_format("~:", "~:");
    expect_format("10:20", "10:20");
    expect_format("@10:20", "@10:20");
    expect_format("@10", "@10");
    expect_format("-10:-5", "-10:-5");
    expect_format("0.5:1.5", "0.5:1.5");
    expect_format("1e3", "1000");
    expect_format("0.00001", "0.00001");
    expect_format("1234567", "1234567");
}

static void range_format_unset_is_empty(void **state)
{
    struct tocsin_range r;
    char buf[8] = "x";

    (void)state;
    memset(&r, 0, sizeof(r));
    assert_int_equal(tocsin_range_format(&r, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
}

static void range_format_reports_needed_length(void **state)
{
    struct tocsin_range r;
    char buf[4];

    (void)state;
    assert_int_equal(tocsin_range_parse("@100:200", &r, NULL, 0), 0);
    assert_int_equal(tocsin_range_format(&r, buf, sizeof(buf)), 8);
    assert_string_equal(buf, "@10");
    assert_int_equal(tocsin_range_format(&r, NULL, 0), 8);
}

/* ------------------------------------------------------------------ */
/* Thresholds                                                          */
/* ------------------------------------------------------------------ */

static void thresholds_eval_states(void **state)
{
    struct tocsin_thresholds th;

    (void)state;
    assert_int_equal(tocsin_range_parse("80", &th.warning, NULL, 0), 0);
    assert_int_equal(tocsin_range_parse("90", &th.critical, NULL, 0), 0);
    assert_int_equal(tocsin_thresholds_eval(&th, 50), TOCSIN_OK);
    assert_int_equal(tocsin_thresholds_eval(&th, 80), TOCSIN_OK);
    assert_int_equal(tocsin_thresholds_eval(&th, 85), TOCSIN_WARNING);
    assert_int_equal(tocsin_thresholds_eval(&th, 90), TOCSIN_WARNING);
    assert_int_equal(tocsin_thresholds_eval(&th, 95), TOCSIN_CRITICAL);
    assert_int_equal(tocsin_thresholds_eval(&th, -1), TOCSIN_CRITICAL);
}

static void thresholds_critical_wins_over_warning(void **state)
{
    struct tocsin_thresholds th;

    (void)state;
    assert_int_equal(tocsin_range_parse("10:", &th.warning, NULL, 0), 0);
    assert_int_equal(tocsin_range_parse("5:", &th.critical, NULL, 0), 0);
    assert_int_equal(tocsin_thresholds_eval(&th, 7), TOCSIN_WARNING);
    assert_int_equal(tocsin_thresholds_eval(&th, 3), TOCSIN_CRITICAL);
}

static void thresholds_unset_are_ok(void **state)
{
    struct tocsin_thresholds th;

    (void)state;
    memset(&th, 0, sizeof(th));
    assert_int_equal(tocsin_thresholds_eval(&th, 1e300), TOCSIN_OK);
    assert_int_equal(tocsin_thresholds_eval(NULL, 1), TOCSIN_OK);
}

/* ------------------------------------------------------------------ */
/* Output parsing                                                      */
/* ------------------------------------------------------------------ */

static void output_single_line(void **state)
{
    struct tocsin_output out;

    (void)state;
    parse_output("PING OK - Packet loss = 0%\n", &out);
    assert_string_equal(out.first_line, "PING OK - Packet loss = 0%");
    assert_string_equal(out.long_output, "");
    assert_int_equal(out.nperf, 0);
    assert_int_equal(out.perf_invalid, 0);
    tocsin_output_free(&out);
}

static void output_single_line_without_newline(void **state)
{
    struct tocsin_output out;

    (void)state;
    parse_output("  OK - all fine  ", &out);
    assert_string_equal(out.first_line, "OK - all fine");
    assert_string_equal(out.long_output, "");
    tocsin_output_free(&out);
}

static void output_first_line_with_perfdata(void **state)
{
    struct tocsin_output out;

    (void)state;
    parse_output("PING ok - Packet loss = 0%, RTA = 0.80 ms | "
                 "percent_packet_loss=0%;20;50;0;100 rta=0.80ms\n", &out);
    assert_string_equal(out.first_line,
                        "PING ok - Packet loss = 0%, RTA = 0.80 ms");
    assert_int_equal(out.nperf, 2);
    expect_perf(&out.perf[0], "percent_packet_loss", 0, "%", "20", "50");
    expect_min_max(&out.perf[0], 0, 100);
    expect_perf(&out.perf[1], "rta", 0.80, "ms", NULL, NULL);
    assert_int_equal(out.perf[1].has_min, 0);
    assert_int_equal(out.perf[1].has_max, 0);
    tocsin_output_free(&out);
}

/* The multi-line example of the Monitoring Plugins guidelines. */
static void output_guidelines_disk_example(void **state)
{
    static const char text[] =
        "DISK OK - free space: / 3326 MB (56%); | "
        "/=2643MB;5948;5958;0;5968\n"
        "/ 15272 MB (77%);\n"
        "/boot 68 MB (69%);\n"
        "/home 69357 MB (27%);\n"
        "/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n"
        "/home=69357MB;253404;253409;0;253414 \n"
        "/var/log=818MB;970;975;0;980";
    struct tocsin_output out;

    (void)state;
    parse_output(text, &out);
    assert_string_equal(out.first_line,
                        "DISK OK - free space: / 3326 MB (56%);");
    assert_string_equal(out.long_output,
                        "/ 15272 MB (77%);\n"
                        "/boot 68 MB (69%);\n"
                        "/home 69357 MB (27%);\n"
                        "/var/log 819 MB (84%);");
    assert_int_equal(out.nperf, 4);
    assert_int_equal(out.perf_invalid, 0);
    expect_perf(&out.perf[0], "/", 2643, "MB", "5948", "5958");
    expect_min_max(&out.perf[0], 0, 5968);
    expect_perf(&out.perf[1], "/boot", 68, "MB", "88", "93");
    expect_min_max(&out.perf[1], 0, 98);
    expect_perf(&out.perf[2], "/home", 69357, "MB", "253404", "253409");
    expect_min_max(&out.perf[2], 0, 253414);
    expect_perf(&out.perf[3], "/var/log", 818, "MB", "970", "975");
    expect_min_max(&out.perf[3], 0, 980);
    tocsin_output_free(&out);
}

static void output_long_output_without_perfdata(void **state)
{
    struct tocsin_output out;

    (void)state;
    parse_output("OK - 2 items\nitem one\n\nitem two\n\n", &out);
    assert_string_equal(out.first_line, "OK - 2 items");
    assert_string_equal(out.long_output, "item one\n\nitem two");
    assert_int_equal(out.nperf, 0);
    tocsin_output_free(&out);
}

static void output_perfdata_line_without_text(void **state)
{
    struct tocsin_output out;

    (void)state;
    parse_output("OK\nline\n| a=1\nb=2\n", &out);
    assert_string_equal(out.first_line, "OK");
    assert_string_equal(out.long_output, "line");
    assert_int_equal(out.nperf, 2);
    expect_perf(&out.perf[0], "a", 1, "", NULL, NULL);
    expect_perf(&out.perf[1], "b", 2, "", NULL, NULL);
    tocsin_output_free(&out);
}

static void output_crlf_line_ends(void **state)
{
    struct tocsin_output out;

    (void)state;
    parse_output("WARNING - slow | t=3s;2;5\r\nfirst\r\nsecond | u=1\r\n"
                 "v=2\r\n", &out);
    assert_string_equal(out.first_line, "WARNING - slow");
    assert_string_equal(out.long_output, "first\nsecond");
    assert_int_equal(out.nperf, 3);
    expect_perf(&out.perf[0], "t", 3, "s", "2", "5");
    expect_perf(&out.perf[1], "u", 1, "", NULL, NULL);
    expect_perf(&out.perf[2], "v", 2, "", NULL, NULL);
    assert_int_equal(out.perf_invalid, 0);
    tocsin_output_free(&out);
}

static void output_empty(void **state)
{
    struct tocsin_output out;

    (void)state;
    assert_int_equal(tocsin_output_parse("", 0, &out), 0);
    assert_string_equal(out.first_line, "");
    assert_string_equal(out.long_output, "");
    assert_int_equal(out.nperf, 0);
    tocsin_output_free(&out);
    assert_int_equal(tocsin_output_parse(NULL, 0, &out), 0);
    assert_string_equal(out.first_line, "");
    tocsin_output_free(&out);
}

static void output_only_newlines(void **state)
{
    struct tocsin_output out;

    (void)state;
    parse_output("\n\n\n", &out);
    assert_string_equal(out.first_line, "");
    assert_string_equal(out.long_output, "");
    tocsin_output_free(&out);
}

static void output_only_perfdata(void **state)
{
    struct tocsin_output out;

    (void)state;
    parse_output("|a=1 b=2", &out);
    assert_string_equal(out.first_line, "");
    assert_string_equal(out.long_output, "");
    assert_int_equal(out.nperf, 2);
    expect_perf(&out.perf[0], "a", 1, "", NULL, NULL);
    expect_perf(&out.perf[1], "b", 2, "", NULL, NULL);
    tocsin_output_free(&out);
}

static void output_stops_at_nul_byte(void **state)
{
    static const char text[] = "OK | a=1\nmore\0hidden | b=2\n";
    struct tocsin_output out;

    (void)state;
    assert_int_equal(tocsin_output_parse(text, sizeof(text) - 1, &out), 0);
    assert_string_equal(out.first_line, "OK");
    assert_string_equal(out.long_output, "more");
    assert_int_equal(out.nperf, 1);
    tocsin_output_free(&out);
}

static void output_uses_only_len_bytes(void **state)
{
    struct tocsin_output out;

    (void)state;
    assert_int_equal(tocsin_output_parse("OK | a=1 b=2", 8, &out), 0);
    assert_string_equal(out.first_line, "OK");
    assert_int_equal(out.nperf, 1);
    expect_perf(&out.perf[0], "a", 1, "", NULL, NULL);
    tocsin_output_free(&out);
}

static void output_many_perf_items(void **state)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    struct tocsin_output out;
    int i;

    (void)state;
    tocsin_buf_puts(&b, "OK |");
    for (i = 0; i < 1000; i++)
        tocsin_buf_printf(&b, " m%d=%d", i, i);
    assert_int_equal(tocsin_output_parse(b.data, b.len, &out), 0);
    assert_int_equal(out.nperf, 1000);
    assert_string_equal(out.perf[999].label, "m999");
    assert_double_equal(999, out.perf[999].value);
    tocsin_output_free(&out);
    tocsin_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Perfdata items                                                      */
/* ------------------------------------------------------------------ */

static void perf_quoted_label_with_spaces(void **state)
{
    struct tocsin_output out;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(tocsin_perf_parse("'free space'=10GB 'a b c'=1", &out),
                     0);
    assert_int_equal(out.nperf, 2);
    expect_perf(&out.perf[0], "free space", 10, "GB", NULL, NULL);
    expect_perf(&out.perf[1], "a b c", 1, "", NULL, NULL);
    tocsin_output_free(&out);
}

static void perf_quoted_label_with_escaped_quote(void **state)
{
    struct tocsin_output out;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(tocsin_perf_parse("'it''s ok'=1 'x='''=2 ''''=3", &out),
                     0);
    assert_int_equal(out.nperf, 3);
    assert_string_equal(out.perf[0].label, "it's ok");
    assert_string_equal(out.perf[1].label, "x='");
    assert_string_equal(out.perf[2].label, "'");
    tocsin_output_free(&out);
}

static void perf_unknown_value(void **state)
{
    struct tocsin_output out;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(tocsin_perf_parse("a=U b=U;1;2 c=Ums", &out), 0);
    assert_int_equal(out.nperf, 3);
    assert_int_equal(out.perf[0].value_unknown, 1);
    assert_int_equal(out.perf[1].value_unknown, 1);
    assert_string_equal(out.perf[1].warn, "1");
    assert_string_equal(out.perf[1].crit, "2");
    assert_int_equal(out.perf[2].value_unknown, 1);
    assert_string_equal(out.perf[2].uom, "ms");
    tocsin_output_free(&out);
}

static void perf_every_uom(void **state)
{
    static const char *const uoms[] = {
        "", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"
    };
    struct tocsin_output out;
    char text[32];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(uoms) / sizeof(uoms[0]); i++) {
        memset(&out, 0, sizeof(out));
        snprintf(text, sizeof(text), "x=1.5%s;1;2", uoms[i]);
        assert_int_equal(tocsin_perf_parse(text, &out), 0);
        assert_int_equal(out.nperf, 1);
        expect_perf(&out.perf[0], "x", 1.5, uoms[i], "1", "2");
        assert_int_equal(tocsin_uom_valid(uoms[i]), 1);
        tocsin_output_free(&out);
    }
}

static void perf_uom_case_is_strict(void **state)
{
    (void)state;
    assert_int_equal(tocsin_uom_valid("kb"), 0);
    assert_int_equal(tocsin_uom_valid("mb"), 0);
    assert_int_equal(tocsin_uom_valid("S"), 0);
    assert_int_equal(tocsin_uom_valid("C"), 0);
    assert_int_equal(tocsin_uom_valid("bytes"), 0);
    assert_int_equal(tocsin_uom_valid(NULL), 0);
}

static void perf_invalid_items_are_counted_and_skipped(void **state)
{
    struct tocsin_output out;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(tocsin_perf_parse(
        "ok1=1 nolabel =5 a=1kb b=x c= d=1;2;3;x e=1;;;;;6 'unterminated=1 "
        "f=nan g=inf ok2=2", &out), 10);
    assert_int_equal(out.perf_invalid, 10);
    assert_int_equal(out.nperf, 2);
    assert_string_equal(out.perf[0].label, "ok1");
    assert_string_equal(out.perf[1].label, "ok2");
    tocsin_output_free(&out);
}

static void perf_invalid_items_counted_in_output(void **state)
{
    struct tocsin_output out;

    (void)state;
    parse_output("OK | a=1 b=2foo\nlong | c=zz d=4", &out);
    assert_int_equal(out.nperf, 2);
    assert_int_equal(out.perf_invalid, 2);
    tocsin_output_free(&out);
}

static void perf_empty_fields_allowed(void **state)
{
    struct tocsin_output out;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(tocsin_perf_parse("a=1;;5 b=2;;;;100 c=3;;;; d=4;5",
                                       &out), 0);
    assert_int_equal(out.nperf, 4);
    expect_perf(&out.perf[0], "a", 1, "", NULL, "5");
    expect_perf(&out.perf[1], "b", 2, "", NULL, NULL);
    assert_int_equal(out.perf[1].has_min, 0);
    assert_int_equal(out.perf[1].has_max, 1);
    assert_double_equal(100, out.perf[1].max);
    expect_perf(&out.perf[2], "c", 3, "", NULL, NULL);
    expect_perf(&out.perf[3], "d", 4, "", "5", NULL);
    tocsin_output_free(&out);
}

static void perf_ranges_kept_as_text(void **state)
{
    struct tocsin_output out;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(tocsin_perf_parse("a=1;@10:20;~:5", &out), 0);
    expect_perf(&out.perf[0], "a", 1, "", "@10:20", "~:5");
    tocsin_output_free(&out);
}

static void perf_negative_and_decimal_values(void **state)
{
    struct tocsin_output out;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(tocsin_perf_parse("t=-12.5;;;-40;85.25", &out), 0);
    expect_perf(&out.perf[0], "t", -12.5, "", NULL, NULL);
    expect_min_max(&out.perf[0], -40, 85.25);
    tocsin_output_free(&out);
}

static void perf_format_round_trip(void **state)
{
    (void)state;
    expect_perf_round_trip("/=2643MB;5948;5958;0;5968",
                           "/=2643MB;5948;5958;0;5968");
    expect_perf_round_trip("a=1;;5", "a=1;;5");
    expect_perf_round_trip("a=1;;;;", "a=1");
    expect_perf_round_trip("b=2;;;;100", "b=2;;;;100");
    expect_perf_round_trip("c=0.50s;1.0;2.00", "c=0.5s;1.0;2.00");
    expect_perf_round_trip("'free space'=1234567B", "'free space'=1234567B");
    expect_perf_round_trip("'it''s'=U;~:10", "'it''s'=U;~:10");
    expect_perf_round_trip("'plain'=3c", "plain=3c");
    expect_perf_round_trip("x=1e3", "x=1000");
    expect_perf_round_trip("x=0.00001", "x=0.00001");
    expect_perf_round_trip("x=-0", "x=0");
}

static void perf_format_label_quotes_when_needed(void **state)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;

    (void)state;
    tocsin_perf_format_label("plain", &b);
    tocsin_buf_putc(&b, ',');
    tocsin_perf_format_label("with space", &b);
    tocsin_buf_putc(&b, ',');
    tocsin_perf_format_label("a=b", &b);
    tocsin_buf_putc(&b, ',');
    tocsin_perf_format_label("it's", &b);
    tocsin_buf_putc(&b, ',');
    tocsin_perf_format_label("", &b);
    tocsin_buf_putc(&b, ',');
    tocsin_perf_format_label("two\nlines", &b);
    assert_string_equal(tocsin_buf_str(&b),
                        "plain,'with space','a=b','it''s','','two lines'");
    tocsin_buf_free(&b);
}

static void perf_format_numbers(void **state)
{
    struct tocsin_perf p;
    struct tocsin_buf b = TOCSIN_BUF_INIT;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.label = "n";
    p.value = 0.5;
    p.min = 3;
    p.max = 1234567;
    p.has_min = p.has_max = 1;
    assert_int_equal(tocsin_perf_format(&p, &b), 0);
    assert_string_equal(tocsin_buf_str(&b), "n=0.5;;;3;1234567");
    tocsin_buf_reset(&b);
    p.value = 0.1 + 0.2;
    p.has_min = p.has_max = 0;
    assert_int_equal(tocsin_perf_format(&p, &b), 0);
    assert_string_equal(tocsin_buf_str(&b), "n=0.3");
    tocsin_buf_reset(&b);
    p.value = 123456.789012;
    assert_int_equal(tocsin_perf_format(&p, &b), 0);
    assert_string_equal(tocsin_buf_str(&b), "n=123456.789012");
    tocsin_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Exit codes and signals                                              */
/* ------------------------------------------------------------------ */

static void exit_state_codes_0_to_3_map_to_states(void **state)
{
    char why[128] = "x";

    (void)state;
    assert_int_equal(tocsin_exit_state(1, 0, 0, why, sizeof(why)), TOCSIN_OK);
    assert_string_equal(why, "");
    assert_int_equal(tocsin_exit_state(1, 1, 0, why, sizeof(why)),
                     TOCSIN_WARNING);
    assert_string_equal(why, "");
    assert_int_equal(tocsin_exit_state(1, 2, 0, why, sizeof(why)),
                     TOCSIN_CRITICAL);
    assert_string_equal(why, "");
    assert_int_equal(tocsin_exit_state(1, 3, 0, why, sizeof(why)),
                     TOCSIN_UNKNOWN);
    assert_string_equal(why, "");
}

static void exit_state_code_4_is_unknown(void **state)
{
    char why[128];

    (void)state;
    assert_int_equal(tocsin_exit_state(1, 4, 0, why, sizeof(why)),
                     TOCSIN_UNKNOWN);
    assert_string_equal(why, "plugin exited with code 4 (out of bounds)");
}

static void exit_state_code_255_is_unknown(void **state)
{
    char why[128];

    (void)state;
    assert_int_equal(tocsin_exit_state(1, 255, 0, why, sizeof(why)),
                     TOCSIN_UNKNOWN);
    assert_string_equal(why, "plugin exited with code 255 (out of bounds)");
}

static void exit_state_signal_is_unknown(void **state)
{
    char why[128];

    (void)state;
    assert_int_equal(tocsin_exit_state(0, 0, SIGSEGV, why, sizeof(why)),
                     TOCSIN_UNKNOWN);
    assert_string_equal(why, "plugin killed by signal SIGSEGV");
    assert_int_equal(tocsin_exit_state(0, 0, SIGKILL, why, sizeof(why)),
                     TOCSIN_UNKNOWN);
    assert_string_equal(why, "plugin killed by signal SIGKILL");
}

static void exit_state_without_why_buffer(void **state)
{
    (void)state;
    assert_int_equal(tocsin_exit_state(1, 7, 0, NULL, 0), TOCSIN_UNKNOWN);
    assert_int_equal(tocsin_exit_state(1, 2, 0, NULL, 0), TOCSIN_CRITICAL);
}

static void signal_names_common(void **state)
{
    char buf[32];

    (void)state;
    assert_string_equal(tocsin_signal_name(SIGHUP, buf, sizeof(buf)),
                        "SIGHUP");
    assert_string_equal(tocsin_signal_name(SIGABRT, buf, sizeof(buf)),
                        "SIGABRT");
    assert_string_equal(tocsin_signal_name(SIGTERM, buf, sizeof(buf)),
                        "SIGTERM");
    assert_string_equal(tocsin_signal_name(SIGSYS, buf, sizeof(buf)),
                        "SIGSYS");
}

static void signal_name_unknown_number(void **state)
{
    char buf[32];

    (void)state;
    assert_string_equal(tocsin_signal_name(77, buf, sizeof(buf)),
                        "signal 77");
    assert_string_equal(tocsin_signal_name(77, NULL, 0), "unknown signal");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_names_are_nagios_names),
        cmocka_unit_test(state_name_out_of_range_is_unknown),
        cmocka_unit_test(state_parse_names_any_case),
        cmocka_unit_test(state_parse_short_forms),
        cmocka_unit_test(state_parse_exit_codes),
        cmocka_unit_test(state_parse_rejects_other_text),
        cmocka_unit_test(state_worst_orders_unknown_below_critical),

        cmocka_unit_test(range_10_below_zero_alerts),
        cmocka_unit_test(range_10_at_zero_is_ok),
        cmocka_unit_test(range_10_inside_is_ok),
        cmocka_unit_test(range_10_at_upper_bound_is_ok),
        cmocka_unit_test(range_10_above_alerts),
        cmocka_unit_test(range_10_colon_below_alerts),
        cmocka_unit_test(range_10_colon_at_bound_is_ok),
        cmocka_unit_test(range_10_colon_above_is_ok),
        cmocka_unit_test(range_tilde_10_far_below_is_ok),
        cmocka_unit_test(range_tilde_10_at_bound_is_ok),
        cmocka_unit_test(range_tilde_10_above_alerts),
        cmocka_unit_test(range_10_20_below_alerts),
        cmocka_unit_test(range_10_20_at_lower_bound_is_ok),
        cmocka_unit_test(range_10_20_inside_is_ok),
        cmocka_unit_test(range_10_20_at_upper_bound_is_ok),
        cmocka_unit_test(range_10_20_above_alerts),
        cmocka_unit_test(range_at_10_20_below_is_ok),
        cmocka_unit_test(range_at_10_20_at_lower_bound_alerts),
        cmocka_unit_test(range_at_10_20_inside_alerts),
        cmocka_unit_test(range_at_10_20_at_upper_bound_alerts),
        cmocka_unit_test(range_at_10_20_above_is_ok),

        cmocka_unit_test(range_negative_bounds),
        cmocka_unit_test(range_decimal_bounds),
        cmocka_unit_test(range_exponent_bounds),
        cmocka_unit_test(range_at_with_open_end),
        cmocka_unit_test(range_tilde_colon_never_alerts),
        cmocka_unit_test(range_equal_bounds),
        cmocka_unit_test(range_empty_or_null_is_unset),
        cmocka_unit_test(range_nan_value_never_alerts),
        cmocka_unit_test(range_start_greater_than_end_is_refused),
        cmocka_unit_test(range_not_a_number_is_refused),
        cmocka_unit_test(range_trailing_garbage_is_refused),
        cmocka_unit_test(range_nan_and_inf_are_refused),
        cmocka_unit_test(range_missing_start_is_refused),
        cmocka_unit_test(range_lone_tilde_is_refused),
        cmocka_unit_test(range_lone_at_is_refused),
        cmocka_unit_test(range_error_fits_small_buffer),
        cmocka_unit_test(range_format_round_trips),
        cmocka_unit_test(range_format_unset_is_empty),
        cmocka_unit_test(range_format_reports_needed_length),

        cmocka_unit_test(thresholds_eval_states),
        cmocka_unit_test(thresholds_critical_wins_over_warning),
        cmocka_unit_test(thresholds_unset_are_ok),

        cmocka_unit_test(output_single_line),
        cmocka_unit_test(output_single_line_without_newline),
        cmocka_unit_test(output_first_line_with_perfdata),
        cmocka_unit_test(output_guidelines_disk_example),
        cmocka_unit_test(output_long_output_without_perfdata),
        cmocka_unit_test(output_perfdata_line_without_text),
        cmocka_unit_test(output_crlf_line_ends),
        cmocka_unit_test(output_empty),
        cmocka_unit_test(output_only_newlines),
        cmocka_unit_test(output_only_perfdata),
        cmocka_unit_test(output_stops_at_nul_byte),
        cmocka_unit_test(output_uses_only_len_bytes),
        cmocka_unit_test(output_many_perf_items),

        cmocka_unit_test(perf_quoted_label_with_spaces),
        cmocka_unit_test(perf_quoted_label_with_escaped_quote),
        cmocka_unit_test(perf_unknown_value),
        cmocka_unit_test(perf_every_uom),
        cmocka_unit_test(perf_uom_case_is_strict),
        cmocka_unit_test(perf_invalid_items_are_counted_and_skipped),
        cmocka_unit_test(perf_invalid_items_counted_in_output),
        cmocka_unit_test(perf_empty_fields_allowed),
        cmocka_unit_test(perf_ranges_kept_as_text),
        cmocka_unit_test(perf_negative_and_decimal_values),
        cmocka_unit_test(perf_format_round_trip),
        cmocka_unit_test(perf_format_label_quotes_when_needed),
        cmocka_unit_test(perf_format_numbers),

        cmocka_unit_test(exit_state_codes_0_to_3_map_to_states),
        cmocka_unit_test(exit_state_code_4_is_unknown),
        cmocka_unit_test(exit_state_code_255_is_unknown),
        cmocka_unit_test(exit_state_signal_is_unknown),
        cmocka_unit_test(exit_state_without_why_buffer),
        cmocka_unit_test(signal_names_common),
        cmocka_unit_test(signal_name_unknown_number),
    };

    return cmocka_run_group_tests_name("nagios", tests, NULL, NULL);
}
