/*
 * test_check.c - building and rendering a check result, and turning the
 * outcome of an external plugin into one (core/lib/check.c). Exec results are
 * filled by hand; nothing is run. Also reading ranges, thresholds and
 * secrets from a plugin's options (core/lib/options.c).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/check-run.h"
#include "lib/check.h"
#include "lib/nagios.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static int check_setup(void **state)
{
    static struct tocsin_check chk;

    tocsin_check_init(&chk, "web", NULL);
    *state = &chk;
    return 0;
}

static int check_teardown(void **state)
{
    tocsin_check_release(*state);
    return 0;
}

/* Render `chk` and compare with `expected`. */
static void expect_render(const struct tocsin_check *chk, const char *expected)
{
    struct tocsin_buf out = TOCSIN_BUF_INIT;

    assert_int_equal(tocsin_check_render(chk, &out), 0);
    assert_string_equal(tocsin_buf_str(&out), expected);
    tocsin_buf_free(&out);
}

/* An exec result that exited with `code` and printed `out` / `err`. */
static struct tocsin_exec_result exited(int code, const char *out,
                                        const char *err)
{
    struct tocsin_exec_result r;

    memset(&r, 0, sizeof(r));
    r.exited = 1;
    r.exit_code = code;
    r.out = (char *)out;
    r.out_len = strlen(out);
    r.err = (char *)err;
    r.err_len = strlen(err);
    return r;
}

static void range(struct tocsin_range *r, const char *text)
{
    char err[128];

    if (tocsin_range_parse(text, r, err, sizeof(err)) != 0)
        fail_msg("range \"%s\": %s", text, err);
}

/* ------------------------------------------------------------------ */
/* Init and accessors                                                  */
/* ------------------------------------------------------------------ */

static void init_starts_unknown_without_output(void **state)
{
    struct tocsin_check *chk = *state;

    assert_int_equal(tocsin_check_state(chk), TOCSIN_UNKNOWN);
    assert_string_equal(tocsin_check_service(chk), "web");
    assert_int_equal(chk->raw, 0);
    assert_int_equal(chk->timed_out, 0);
    expect_render(chk, "UNKNOWN: no output from plugin");
}

static void init_without_service_names_empty(void **state)
{
    struct tocsin_check chk;

    (void)state;
    tocsin_check_init(&chk, NULL, NULL);
    assert_string_equal(tocsin_check_service(&chk), "");
    tocsin_check_release(&chk);
}

static void deadline_is_kept(void **state)
{
    struct tocsin_check chk;
    struct timespec now, deadline, got;
    double left;

    (void)state;
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
    deadline = now;
    deadline.tv_sec += 10;
    tocsin_check_init(&chk, "x", &deadline);
    got = tocsin_check_deadline(&chk);
    assert_int_equal(got.tv_sec, deadline.tv_sec);
    assert_int_equal(got.tv_nsec, deadline.tv_nsec);
    left = tocsin_check_remaining(&chk);
    if (left <= 9 || left > 10)
        fail_msg("expected 9 < remaining <= 10, got %g", left);
    tocsin_check_release(&chk);
}

static void remaining_never_negative(void **state)
{
    struct tocsin_check chk;
    struct timespec now;

    (void)state;
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
    now.tv_sec -= 5;
    tocsin_check_init(&chk, "x", &now);
    if (tocsin_check_remaining(&chk) != 0)
        fail_msg("expected 0, got %g", tocsin_check_remaining(&chk));
    tocsin_check_release(&chk);
}

static void no_deadline_gives_a_day(void **state)
{
    struct tocsin_check *chk = *state;
    double left = tocsin_check_remaining(chk);

    if (left < 86000 || left > 86400)
        fail_msg("expected about 86400 s, got %g", left);
}

/* ------------------------------------------------------------------ */
/* State and message                                                   */
/* ------------------------------------------------------------------ */

static void set_sets_state_and_message(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_WARNING, "load %d.%d", 4, 5);
    assert_int_equal(tocsin_check_state(chk), TOCSIN_WARNING);
    expect_render(chk, "load 4.5");
}

static void set_again_replaces_both(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_CRITICAL, "first");
    tocsin_check_set(chk, TOCSIN_OK, "second");
    assert_int_equal(tocsin_check_state(chk), TOCSIN_OK);
    expect_render(chk, "second");
}

static void set_empty_message_renders_state(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_OK, "%s", "");
    expect_render(chk, "OK: no output from plugin");
}

static void set_out_of_range_state_is_unknown(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, (enum tocsin_state)9, "odd");
    assert_int_equal(tocsin_check_state(chk), TOCSIN_UNKNOWN);
}

static void set_message_pipe_becomes_slash(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_OK, "a | b");
    tocsin_check_perf(chk, "x", 1, "", NULL, 0, 0, 0);
    expect_render(chk, "a / b | x=1");
}

static void set_message_newline_moves_rest_to_long(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_OK, "head\r\nline 1\nline 2\n");
    expect_render(chk, "head\nline 1\nline 2");
}

static void long_lines_follow_message(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_OK, "OK - 2 disks");
    tocsin_check_long(chk, "sda: %s", "fine");
    tocsin_check_long(chk, "sdb: fine | really");
    expect_render(chk, "OK - 2 disks\nsda: fine\nsdb: fine / really");
}

static void long_without_message(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_raise(chk, TOCSIN_CRITICAL);
    tocsin_check_long(chk, "detail");
    expect_render(chk, "CRITICAL: no output from plugin\ndetail");
}

static void raise_keeps_the_worst(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_OK, "x");
    tocsin_check_raise(chk, TOCSIN_WARNING);
    assert_int_equal(tocsin_check_state(chk), TOCSIN_WARNING);
    tocsin_check_raise(chk, TOCSIN_OK);
    assert_int_equal(tocsin_check_state(chk), TOCSIN_WARNING);
    tocsin_check_raise(chk, TOCSIN_UNKNOWN);
    assert_int_equal(tocsin_check_state(chk), TOCSIN_UNKNOWN);
    tocsin_check_raise(chk, TOCSIN_CRITICAL);
    assert_int_equal(tocsin_check_state(chk), TOCSIN_CRITICAL);
    tocsin_check_raise(chk, TOCSIN_UNKNOWN);
    assert_int_equal(tocsin_check_state(chk), TOCSIN_CRITICAL);
}

/* ------------------------------------------------------------------ */
/* Performance data                                                    */
/* ------------------------------------------------------------------ */

static void render_message_perf_and_long(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_OK, "OK - fine");
    tocsin_check_perf(chk, "a", 1, "", NULL, 0, 0, 0);
    tocsin_check_perf(chk, "b", 2.5, "s", NULL, 0, 0, 0);
    tocsin_check_long(chk, "more");
    expect_render(chk, "OK - fine | a=1 b=2.5s\nmore");
}

static void perf_with_thresholds_and_bounds(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_thresholds th;

    range(&th.warning, "80");
    range(&th.critical, "@90:100");
    tocsin_check_set(chk, TOCSIN_OK, "x");
    tocsin_check_perf(chk, "used", 42, "%", &th, 0, 100,
                      TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    expect_render(chk, "x | used=42%;80;@90:100;0;100");
}

static void perf_min_without_max(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_OK, "x");
    tocsin_check_perf(chk, "a", 1, "c", NULL, 0, 99, TOCSIN_PERF_MIN);
    tocsin_check_perf(chk, "b", 1, "c", NULL, 0, 99, TOCSIN_PERF_MAX);
    expect_render(chk, "x | a=1c;;;0 b=1c;;;;99");
}

static void perf_only_critical_threshold(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_thresholds th;

    memset(&th, 0, sizeof(th));
    range(&th.critical, "10:");
    tocsin_check_set(chk, TOCSIN_OK, "x");
    tocsin_check_perf(chk, "free", 50, "GB", &th, 0, 0, 0);
    expect_render(chk, "x | free=50GB;;10:");
}

static void perf_labels_are_quoted(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_OK, "x");
    tocsin_check_perf(chk, "free space", 1, "B", NULL, 0, 0, 0);
    tocsin_check_perf(chk, "it's", 2, "B", NULL, 0, 0, 0);
    tocsin_check_perf(chk, "a=b", 3, "B", NULL, 0, 0, 0);
    tocsin_check_perf(chk, "/var/log", 4, "B", NULL, 0, 0, 0);
    expect_render(chk, "x | 'free space'=1B 'it''s'=2B 'a=b'=3B /var/log=4B");
}

static void perf_nan_value_is_u(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_UNKNOWN, "x");
    tocsin_check_perf(chk, "a", (double)NAN, "ms", NULL, 0, 0, 0);
    tocsin_check_perf(chk, "b", (double)INFINITY, "", NULL, 0, 0, 0);
    expect_render(chk, "x | a=Ums b=U");
}

static void perf_invalid_uom_is_dropped(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set(chk, TOCSIN_OK, "x");
    tocsin_check_perf(chk, "a", 1, "kb", NULL, 0, 0, 0);
    tocsin_check_perf(chk, "b", 1, "seconds", NULL, 0, 0, 0);
    tocsin_check_perf(chk, "c", 1, NULL, NULL, 0, 0, 0);
    expect_render(chk, "x | a=1 b=1 c=1");
}

static void perf_without_message(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_perf(chk, "a", 1, "", NULL, 0, 0, 0);
    expect_render(chk, "UNKNOWN: no output from plugin | a=1");
}

static void rendered_output_parses_back(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    struct tocsin_output parsed;
    struct tocsin_thresholds th;

    range(&th.warning, "~:5");
    range(&th.critical, "10");
    tocsin_check_set(chk, TOCSIN_WARNING, "WARNING - it's | busy");
    tocsin_check_perf(chk, "q 'x'", 6.25, "ms", &th, 0, 0, TOCSIN_PERF_MIN);
    tocsin_check_long(chk, "line");
    assert_int_equal(tocsin_check_render(chk, &out), 0);
    assert_int_equal(tocsin_output_parse(out.data, out.len, &parsed), 0);
    assert_string_equal(parsed.first_line, "WARNING - it's / busy");
    assert_string_equal(parsed.long_output, "line");
    assert_int_equal(parsed.nperf, 1);
    assert_int_equal(parsed.perf_invalid, 0);
    assert_string_equal(parsed.perf[0].label, "q 'x'");
    assert_string_equal(parsed.perf[0].uom, "ms");
    assert_string_equal(parsed.perf[0].warn, "~:5");
    assert_string_equal(parsed.perf[0].crit, "10");
    assert_int_equal(parsed.perf[0].has_min, 1);
    assert_int_equal(parsed.perf[0].has_max, 0);
    tocsin_output_free(&parsed);
    tocsin_buf_free(&out);
}

/* ------------------------------------------------------------------ */
/* Raw output                                                          */
/* ------------------------------------------------------------------ */

static void raw_passes_through_verbatim(void **state)
{
    static const char text[] = "DISK OK | /=1MB;;;0\n  indented\tline\r\n"
                               "x | y=2\n\n";
    struct tocsin_check *chk = *state;

    tocsin_check_set_raw(chk, TOCSIN_OK, text, strlen(text));
    assert_int_equal(chk->raw, 1);
    assert_int_equal(tocsin_check_state(chk), TOCSIN_OK);
    expect_render(chk, "DISK OK | /=1MB;;;0\n  indented\tline\r\nx | y=2");
}

static void raw_ignores_structured_parts(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_perf(chk, "a", 1, "", NULL, 0, 0, 0);
    tocsin_check_long(chk, "ignored");
    tocsin_check_set_raw(chk, TOCSIN_CRITICAL, "CRIT", 4);
    expect_render(chk, "CRIT");
}

static void raw_stops_at_nul_byte(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set_raw(chk, TOCSIN_OK, "OK\0junk", 7);
    expect_render(chk, "OK");
}

static void raw_empty_renders_state(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set_raw(chk, TOCSIN_WARNING, "\n\n", 2);
    expect_render(chk, "WARNING: no output from plugin");
}

static void set_after_raw_is_structured_again(void **state)
{
    struct tocsin_check *chk = *state;

    tocsin_check_set_raw(chk, TOCSIN_OK, "raw", 3);
    tocsin_check_set(chk, TOCSIN_CRITICAL, "structured");
    assert_int_equal(chk->raw, 0);
    expect_render(chk, "structured");
}

/* ------------------------------------------------------------------ */
/* External plugins                                                    */
/* ------------------------------------------------------------------ */

static void exec_spawn_failure_is_unknown(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r;
    char expected[256];

    memset(&r, 0, sizeof(r));
    r.spawn_errno = ENOENT;
    tocsin_check_set_exec(chk, &r, "check_foo");
    assert_int_equal(tocsin_check_state(chk), TOCSIN_UNKNOWN);
    snprintf(expected, sizeof(expected), "UNKNOWN: cannot run check_foo: %s",
             strerror(ENOENT));
    expect_render(chk, expected);
}

static void exec_timeout_is_unknown_and_flagged(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r;

    memset(&r, 0, sizeof(r));
    r.timed_out = 1;
    r.term_signal = SIGKILL;
    r.out = "";
    tocsin_check_set_exec(chk, &r, "check_slow");
    assert_int_equal(tocsin_check_state(chk), TOCSIN_UNKNOWN);
    assert_int_equal(chk->timed_out, 1);
    expect_render(chk, "UNKNOWN: check_slow timed out");
}

static void exec_timeout_keeps_partial_output(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r;

    memset(&r, 0, sizeof(r));
    r.timed_out = 1;
    r.out = "step 1 done\n";
    r.out_len = strlen(r.out);
    tocsin_check_set_exec(chk, &r, "check_slow");
    expect_render(chk, "UNKNOWN: check_slow timed out\nstep 1 done");
}

static void exec_signal_is_unknown_with_output_as_long(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r;

    memset(&r, 0, sizeof(r));
    r.term_signal = SIGSEGV;
    r.out = "OK - half | a=1\nsecond\n";
    r.out_len = strlen(r.out);
    tocsin_check_set_exec(chk, &r, "check_crash");
    assert_int_equal(tocsin_check_state(chk), TOCSIN_UNKNOWN);
    assert_int_equal(chk->timed_out, 0);
    expect_render(chk, "UNKNOWN: check_crash killed by signal SIGSEGV\n"
                       "OK - half / a=1\nsecond");
}

static void exec_signal_without_output(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r;

    memset(&r, 0, sizeof(r));
    r.term_signal = SIGABRT;
    tocsin_check_set_exec(chk, &r, "check_crash");
    expect_render(chk, "UNKNOWN: check_crash killed by signal SIGABRT");
}

static void exec_codes_0_to_3_pass_output_through(void **state)
{
    static const char text[] = "DISK WARNING - /var 91% | /var=91%;90;95\n"
                               "detail | x=1\n";
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r;
    int code;

    for (code = 0; code <= 3; code++) {
        r = exited(code, text, "ignored stderr\n");
        tocsin_check_set_exec(chk, &r, "check_disk");
        assert_int_equal(tocsin_check_state(chk), code);
        expect_render(chk, "DISK WARNING - /var 91% | /var=91%;90;95\n"
                           "detail | x=1");
    }
}

static void exec_empty_stdout_says_no_output(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r = exited(2, "", "");

    tocsin_check_set_exec(chk, &r, "check_quiet");
    assert_int_equal(tocsin_check_state(chk), TOCSIN_CRITICAL);
    expect_render(chk, "(No output returned from plugin)");
}

static void exec_blank_stdout_counts_as_empty(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r = exited(0, "\n\r\n", "");

    tocsin_check_set_exec(chk, &r, "check_quiet");
    expect_render(chk, "(No output returned from plugin)");
}

static void exec_empty_stdout_uses_stderr_first_line(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r =
        exited(3, "", "\ncheck_x: cannot open /etc/x: denied  \nusage...\n");

    tocsin_check_set_exec(chk, &r, "check_x");
    assert_int_equal(tocsin_check_state(chk), TOCSIN_UNKNOWN);
    expect_render(chk, "check_x: cannot open /etc/x: denied");
}

static void exec_code_out_of_bounds_is_unknown(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r = exited(7, "something odd\nmore\n", "");

    tocsin_check_set_exec(chk, &r, "check_odd");
    assert_int_equal(tocsin_check_state(chk), TOCSIN_UNKNOWN);
    expect_render(chk, "something odd (plugin exited with code 7, out of "
                       "bounds)\nmore");
}

static void exec_code_out_of_bounds_note_precedes_perfdata(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r = exited(255, "OK - fine | a=1 b=2\n", "");
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    struct tocsin_output parsed;

    tocsin_check_set_exec(chk, &r, "check_odd");
    expect_render(chk, "OK - fine (plugin exited with code 255, out of "
                       "bounds) | a=1 b=2");
    assert_int_equal(tocsin_check_render(chk, &out), 0);
    assert_int_equal(tocsin_output_parse(out.data, out.len, &parsed), 0);
    assert_int_equal(parsed.nperf, 2);
    assert_int_equal(parsed.perf_invalid, 0);
    tocsin_output_free(&parsed);
    tocsin_buf_free(&out);
}

static void exec_code_out_of_bounds_without_output(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r = exited(4, "", "");

    tocsin_check_set_exec(chk, &r, "check_odd");
    expect_render(chk, "(No output returned from plugin) (plugin exited with "
                       "code 4, out of bounds)");
}

static void exec_truncated_output_is_noted(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r = exited(1, "WARNING - long\nline\n", "");

    r.out_truncated = 1;
    tocsin_check_set_exec(chk, &r, "check_chatty");
    assert_int_equal(tocsin_check_state(chk), TOCSIN_WARNING);
    expect_render(chk, "WARNING - long\nline\n(output truncated at 20 bytes)");
}

static void exec_stdout_stops_at_nul_byte(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r = exited(0, "", "");

    r.out = "OK\0hidden";
    r.out_len = 9;
    tocsin_check_set_exec(chk, &r, "check_nul");
    expect_render(chk, "OK");
}

static void exec_without_name_says_plugin(void **state)
{
    struct tocsin_check *chk = *state;
    struct tocsin_exec_result r;

    memset(&r, 0, sizeof(r));
    r.term_signal = SIGTERM;
    tocsin_check_set_exec(chk, &r, NULL);
    expect_render(chk, "UNKNOWN: plugin killed by signal SIGTERM");
}

/* ------------------------------------------------------------------ */
/* Options: ranges, thresholds and secrets (core/lib/options.c)            */
/* ------------------------------------------------------------------ */

/* Options as a plugin declares them, parsed from `text`. */
static cfg_t *options_from(const char *text)
{
    static cfg_opt_t opts[] = {
        CFG_STR("warning", "", CFGF_NONE),
        CFG_STR("critical", "", CFGF_NONE),
        CFG_STR("password", "", CFGF_NONE),
        CFG_STR("password_file", "", CFGF_NONE),
        CFG_STR("password_env", "", CFGF_NONE),
        CFG_END()
    };
    cfg_t *cfg = cfg_init(opts, CFGF_NONE);

    assert_non_null(cfg);
    assert_int_equal(cfg_parse_buf(cfg, text), CFG_SUCCESS);
    return cfg;
}

static void option_range_parses_the_named_option(void **state)
{
    cfg_t *cfg = options_from("warning = \"@10:20\"");
    struct tocsin_range r;
    char err[256] = "";

    (void)state;
    assert_int_equal(tocsin_option_range(cfg, "warning", &r, err, sizeof(err)), 0);
    assert_true(r.set);
    assert_true(r.inside);
    assert_true(r.start == 10 && r.end == 20);
    assert_string_equal(err, "");
    cfg_free(cfg);
}

static void option_range_empty_is_unset(void **state)
{
    cfg_t *cfg = options_from("");
    struct tocsin_range r;
    char err[256];

    (void)state;
    memset(&r, 0xff, sizeof(r));
    assert_int_equal(tocsin_option_range(cfg, "critical", &r, err, sizeof(err)), 0);
    assert_false(r.set);
    assert_false(tocsin_range_alert(&r, 1e9));
    cfg_free(cfg);
}

static void append_builds_text_in_pieces(void **state)
{
    char buf[32];
    size_t used = 0;

    (void)state;
    buf[0] = '\0';
    tocsin_append(buf, sizeof(buf), &used, "%s", "DISK OK");
    tocsin_append(buf, sizeof(buf), &used, " - %d%%", 42);
    assert_string_equal(buf, "DISK OK - 42%");
    assert_int_equal(used, strlen("DISK OK - 42%"));
}

static void append_cuts_at_the_end_of_the_buffer(void **state)
{
    char buf[8];
    size_t used = 0;

    (void)state;
    tocsin_append(buf, sizeof(buf), &used, "%s", "0123456789");
    assert_string_equal(buf, "0123456");
    assert_int_equal(used, 7);
    /* A full buffer stays as it is. */
    tocsin_append(buf, sizeof(buf), &used, "%s", "more");
    assert_string_equal(buf, "0123456");
    assert_int_equal(used, 7);
}

static void option_range_error_names_the_option(void **state)
{
    cfg_t *cfg = options_from("critical = \"abc\"");
    struct tocsin_range r;
    char err[256], why[256];

    (void)state;
    assert_int_equal(tocsin_option_range(cfg, "critical", &r, err, sizeof(err)), -1);
    assert_int_equal(tocsin_range_parse("abc", &r, why, sizeof(why)), -1);
    assert_true(strncmp(err, "option 'critical': ", 19) == 0);
    assert_string_equal(err + 19, why);
    cfg_free(cfg);
}

static void option_thresholds_reads_both(void **state)
{
    cfg_t *cfg = options_from("warning = \"10\"\ncritical = \"20\"");
    struct tocsin_thresholds th;
    char err[256];

    (void)state;
    assert_int_equal(tocsin_option_thresholds(cfg, "warning", "critical", &th,
                                              err, sizeof(err)), 0);
    assert_int_equal(tocsin_thresholds_eval(&th, 5), TOCSIN_OK);
    assert_int_equal(tocsin_thresholds_eval(&th, 15), TOCSIN_WARNING);
    assert_int_equal(tocsin_thresholds_eval(&th, 25), TOCSIN_CRITICAL);
    cfg_free(cfg);
}

static void option_thresholds_error_names_the_bad_option(void **state)
{
    cfg_t *cfg = options_from("warning = \"10\"\ncritical = \"20:10\"");
    struct tocsin_thresholds th;
    char err[256];

    (void)state;
    assert_int_equal(tocsin_option_thresholds(cfg, "warning", "critical", &th,
                                              err, sizeof(err)), -1);
    assert_true(strncmp(err, "option 'critical': ", 19) == 0);
    cfg_free(cfg);
}

static void option_thresholds_stop_at_bad_warning(void **state)
{
    cfg_t *cfg = options_from("warning = \"x\"\ncritical = \"y\"");
    struct tocsin_thresholds th;
    char err[256];

    (void)state;
    assert_int_equal(tocsin_option_thresholds(cfg, "warning", "critical", &th,
                                              err, sizeof(err)), -1);
    assert_true(strncmp(err, "option 'warning': ", 18) == 0);
    cfg_free(cfg);
}

static void option_secret_none_given_is_null(void **state)
{
    cfg_t *cfg = options_from("");
    char *secret = (char *)1;
    char err[256];

    (void)state;
    assert_int_equal(tocsin_option_secret(cfg, "password", &secret, err,
                                          sizeof(err)), 0);
    assert_null(secret);
    cfg_free(cfg);
}

static void option_secret_inline(void **state)
{
    cfg_t *cfg = options_from("password = \"s3cret\"");
    char *secret = NULL;
    char err[256];

    (void)state;
    assert_int_equal(tocsin_option_secret(cfg, "password", &secret, err,
                                          sizeof(err)), 0);
    assert_string_equal(secret, "s3cret");
    tocsin_secret_free(secret);
    cfg_free(cfg);
}

static void option_secret_from_env_option(void **state)
{
    cfg_t *cfg = options_from("password_env = \"TOCSIN_TEST_OPTION_SECRET\"");
    char *secret = NULL;
    char err[256];

    (void)state;
    assert_int_equal(setenv("TOCSIN_TEST_OPTION_SECRET", "from-env", 1), 0);
    assert_int_equal(tocsin_option_secret(cfg, "password", &secret, err,
                                          sizeof(err)), 0);
    assert_string_equal(secret, "from-env");
    tocsin_secret_free(secret);
    unsetenv("TOCSIN_TEST_OPTION_SECRET");
    cfg_free(cfg);
}

/* An environment variable is read once: kept, and gone from the
 * environment, so that commands started later cannot inherit it. */
static void secret_env_is_kept_and_removed_from_the_environment(void **state)
{
    char *secret = NULL;
    char err[256];

    (void)state;
    assert_int_equal(setenv("TOCSIN_TEST_SECRET_ONCE", "kept", 1), 0);
    assert_int_equal(tocsin_secret(NULL, NULL, "TOCSIN_TEST_SECRET_ONCE", &secret, err,
                                   sizeof(err)), 0);
    assert_string_equal(secret, "kept");
    tocsin_secret_free(secret);
    assert_null(getenv("TOCSIN_TEST_SECRET_ONCE"));
    assert_int_equal(tocsin_secret(NULL, NULL, "TOCSIN_TEST_SECRET_ONCE", &secret, err,
                                   sizeof(err)), 0);
    assert_string_equal(secret, "kept");
    tocsin_secret_free(secret);
}

static void option_strdup_copies_a_set_option(void **state)
{
    cfg_t *cfg = options_from("password = \"abc\"");
    char *copy;
    int oom = 0;

    (void)state;
    copy = tocsin_option_strdup(cfg, "password", &oom);
    assert_string_equal(copy, "abc");
    assert_int_equal(oom, 0);
    free(copy);
    cfg_free(cfg);
}

static void option_strdup_gives_null_for_an_empty_option(void **state)
{
    cfg_t *cfg = options_from("");
    int oom = 0;

    (void)state;
    assert_null(tocsin_option_strdup(cfg, "warning", &oom));
    assert_int_equal(oom, 0);
    cfg_free(cfg);
}

static void option_secret_from_file_option(void **state)
{
    char path[] = "/tmp/tocsin-test-secret-XXXXXX";
    char *secret = NULL, text[128], err[256];
    cfg_t *cfg;
    FILE *f;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("from-file\nsecond line\n", f);
    fclose(f);
    snprintf(text, sizeof(text), "password_file = \"%s\"", path);
    cfg = options_from(text);
    assert_int_equal(tocsin_option_secret(cfg, "password", &secret, err,
                                          sizeof(err)), 0);
    assert_string_equal(secret, "from-file");
    tocsin_secret_free(secret);
    cfg_free(cfg);
    unlink(path);
}

static void option_secret_error_is_secrets_reason_unwrapped(void **state)
{
    cfg_t *cfg = options_from("password = \"s3cret\"\n"
                              "password_env = \"TOCSIN_TEST_OPTION_SECRET\"");
    char *secret = NULL;
    char err[256], why[256];

    (void)state;
    assert_int_equal(tocsin_option_secret(cfg, "password", &secret, err,
                                          sizeof(err)), -1);
    assert_null(secret);
    assert_int_equal(tocsin_secret("a", NULL, "B", &secret, why, sizeof(why)), -1);
    assert_string_equal(err, why);
    assert_null(strstr(err, "s3cret"));
    cfg_free(cfg);
}

static void option_secret_name_too_long_is_an_error(void **state)
{
    cfg_t *cfg = options_from("");
    char name[200], err[256];
    char *secret = (char *)1;

    (void)state;
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_int_equal(tocsin_option_secret(cfg, name, &secret, err, sizeof(err)), -1);
    assert_null(secret);
    assert_non_null(strstr(err, "too long"));
    cfg_free(cfg);
}

#define T(name) cmocka_unit_test_setup_teardown(name, check_setup, \
                                                check_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(init_starts_unknown_without_output),
        cmocka_unit_test(init_without_service_names_empty),
        cmocka_unit_test(deadline_is_kept),
        cmocka_unit_test(remaining_never_negative),
        T(no_deadline_gives_a_day),

        T(set_sets_state_and_message),
        T(set_again_replaces_both),
        T(set_empty_message_renders_state),
        T(set_out_of_range_state_is_unknown),
        T(set_message_pipe_becomes_slash),
        T(set_message_newline_moves_rest_to_long),
        T(long_lines_follow_message),
        T(long_without_message),
        T(raise_keeps_the_worst),

        T(render_message_perf_and_long),
        T(perf_with_thresholds_and_bounds),
        T(perf_min_without_max),
        T(perf_only_critical_threshold),
        T(perf_labels_are_quoted),
        T(perf_nan_value_is_u),
        T(perf_invalid_uom_is_dropped),
        T(perf_without_message),
        T(rendered_output_parses_back),

        T(raw_passes_through_verbatim),
        T(raw_ignores_structured_parts),
        T(raw_stops_at_nul_byte),
        T(raw_empty_renders_state),
        T(set_after_raw_is_structured_again),

        T(exec_spawn_failure_is_unknown),
        T(exec_timeout_is_unknown_and_flagged),
        T(exec_timeout_keeps_partial_output),
        T(exec_signal_is_unknown_with_output_as_long),
        T(exec_signal_without_output),
        T(exec_codes_0_to_3_pass_output_through),
        T(exec_empty_stdout_says_no_output),
        T(exec_blank_stdout_counts_as_empty),
        T(exec_empty_stdout_uses_stderr_first_line),
        T(exec_code_out_of_bounds_is_unknown),
        T(exec_code_out_of_bounds_note_precedes_perfdata),
        T(exec_code_out_of_bounds_without_output),
        T(exec_truncated_output_is_noted),
        T(exec_stdout_stops_at_nul_byte),
        T(exec_without_name_says_plugin),

        cmocka_unit_test(option_range_parses_the_named_option),
        cmocka_unit_test(option_range_empty_is_unset),
        cmocka_unit_test(append_builds_text_in_pieces),
        cmocka_unit_test(append_cuts_at_the_end_of_the_buffer),
        cmocka_unit_test(option_range_error_names_the_option),
        cmocka_unit_test(option_thresholds_reads_both),
        cmocka_unit_test(option_thresholds_error_names_the_bad_option),
        cmocka_unit_test(option_thresholds_stop_at_bad_warning),
        cmocka_unit_test(option_secret_none_given_is_null),
        cmocka_unit_test(option_secret_inline),
        cmocka_unit_test(option_secret_from_env_option),
        cmocka_unit_test(secret_env_is_kept_and_removed_from_the_environment),
        cmocka_unit_test(option_strdup_copies_a_set_option),
        cmocka_unit_test(option_strdup_gives_null_for_an_empty_option),
        cmocka_unit_test(option_secret_from_file_option),
        cmocka_unit_test(option_secret_error_is_secrets_reason_unwrapped),
        cmocka_unit_test(option_secret_name_too_long_is_an_error),
    };

    return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
