/*
 * test_nagios_cmd.c - the external command lines of the nagios-cmd
 * notifier (plugins/nagios-cmd.c, included here for its static
 * functions): escaping, and cutting to PIPE_BUF without splitting an
 * escape, a UTF-8 character or a performance data item.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugins/nagios-cmd.c"

#define NOTE NAGIOS_CMD_CUT_NOTE

/* An alert at a fixed time with the given texts. */
static struct tocsin_alert alert(int state, const char *output,
                                 const char *perfdata, const char *long_output)
{
    struct tocsin_alert a;

    memset(&a, 0, sizeof(a));
    a.state = (enum tocsin_state)state;
    a.at = 1700000000;
    a.output = output;
    a.perfdata = perfdata;
    a.long_output = long_output;
    return a;
}

/* Build the line for `a` and hold it against `expected` exactly. */
static void expect_line(const struct tocsin_alert *a, const char *expected)
{
    struct nagios_cmd_line l;

    l.len = 0;
    assert_int_equal(nagios_cmd_build(&l, a, "web1", "db"), 0);
    if (l.len != strlen(expected) || memcmp(l.text, expected, l.len) != 0)
        fail_msg("expected the line\n  %s\ngot\n  %.*s", expected, (int)l.len, l.text);
}

/* Build a line that must be cut; check it fits, ends in one newline and
 * carries the note. Returns its text without the newline (static). */
static const char *cut_line(const struct tocsin_alert *a)
{
    static struct nagios_cmd_line l;
    const char *nl;

    l.len = 0;
    assert_int_equal(nagios_cmd_build(&l, a, "web1", "db"), 0);
    if (l.len > PIPE_BUF)
        fail_msg("expected at most %d bytes, got %zu", PIPE_BUF, l.len);
    nl = memchr(l.text, '\n', l.len);
    if (nl != l.text + l.len - 1)
        fail_msg("expected one newline, at the end of the line");
    l.text[l.len - 1] = '\0';
    if (l.len - 1 < strlen(NOTE) || strcmp(l.text + l.len - 1 - strlen(NOTE), NOTE) != 0)
        fail_msg("expected the line to end with the note; it ends with \"%s\"",
                 l.text + (l.len > 60 ? l.len - 60 : 0));
    return l.text;
}

/* A string of `n` copies of `unit`, owned by the caller. */
static char *repeat(const char *unit, size_t n)
{
    size_t len = strlen(unit), i;
    char *s = malloc(len * n + 1);

    assert_non_null(s);
    for (i = 0; i < n; i++)
        memcpy(s + i * len, unit, len);
    s[len * n] = '\0';
    return s;
}

/* 1 when s is valid UTF-8. */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        size_t n = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 0;
        size_t i;

        if (n == 0)
            return 0;
        for (i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Lines that fit                                                      */
/* ------------------------------------------------------------------ */

static void line_output_only(void **state)
{
    struct tocsin_alert a = alert(2, "DB CRITICAL - down", "", "");

    (void)state;
    expect_line(&a, "[1700000000] PROCESS_SERVICE_CHECK_RESULT;web1;db;2;DB CRITICAL - down\n");
}

static void line_with_perfdata_and_long_output(void **state)
{
    struct tocsin_alert a = alert(1, "DB WARNING", "'a b'=1s;2;3  x=5", "one\ntwo");

    (void)state;
    expect_line(&a, "[1700000000] PROCESS_SERVICE_CHECK_RESULT;web1;db;1;"
                    "DB WARNING|'a b'=1s;2;3 x=5\\none\\ntwo\n");
}

static void line_escapes(void **state)
{
    struct tocsin_alert a = alert(0, "C:\\new | ok\tnow", "x=1\ny=2", "l1\r\nl2\x01");

    (void)state;
    expect_line(&a, "[1700000000] PROCESS_SERVICE_CHECK_RESULT;web1;db;0;"
                    "C:\\\\new / ok now|x=1 y=2\\nl1\\nl2 \n");
}

static void line_that_fills_pipe_buf_exactly_is_not_cut(void **state)
{
    const char *prefix = "[1700000000] PROCESS_SERVICE_CHECK_RESULT;web1;db;0;";
    char *out = repeat("o", PIPE_BUF - 1 - strlen(prefix));
    struct tocsin_alert a = alert(0, out, "", "");
    struct nagios_cmd_line l;

    (void)state;
    l.len = 0;
    assert_int_equal(nagios_cmd_build(&l, &a, "web1", "db"), 0);
    assert_int_equal(l.len, PIPE_BUF);
    assert_null(strstr(l.text, NOTE));
    free(out);
}

/* ------------------------------------------------------------------ */
/* Lines cut to fit                                                    */
/* ------------------------------------------------------------------ */

static void cut_long_output_first(void **state)
{
    char *long_output = repeat("line of long output\n", 400);
    struct tocsin_alert a = alert(2, "DB CRITICAL", "a=1 b=2", long_output);
    const char *start = "[1700000000] PROCESS_SERVICE_CHECK_RESULT;web1;db;2;"
                        "DB CRITICAL|a=1 b=2\\nline of long output\\n";
    const char *text;

    (void)state;
    text = cut_line(&a);
    if (strncmp(text, start, strlen(start)) != 0)
        fail_msg("expected the first line and perfdata kept whole; got %.120s", text);
    if (strcmp(text + strlen(text) - strlen(NOTE) - 2, "\\n" NOTE) != 0)
        fail_msg("expected the note on a line of its own");
    free(long_output);
}

static void cut_never_splits_an_escape(void **state)
{
    size_t n;

    (void)state;
    /* Each backslash becomes two bytes; whatever the length, the text
     * before the note must hold whole pairs. */
    for (n = 2000; n < 2010; n++) {
        char *long_output = repeat("\\", n * 2);
        char *out = repeat("x", n % 7);
        struct tocsin_alert a = alert(0, out, "", long_output);
        const char *text = cut_line(&a);
        size_t end = strlen(text) - strlen("\\n" NOTE), run = 0;

        if (strcmp(text + end, "\\n" NOTE) != 0)
            fail_msg("expected the note on a line of its own");
        while (run < end && text[end - 1 - run] == '\\')
            run++;
        if (run % 2)
            fail_msg("expected whole \\\\ pairs before the note, got %zu backslashes", run);
        free(long_output);
        free(out);
    }
}

static void cut_never_splits_a_character(void **state)
{
    size_t n;

    (void)state;
    for (n = 0; n < 4; n++) {
        char *pad = repeat("p", n);
        char *long_output = repeat("\xe2\x82\xac", 2000);   /* the euro sign */
        struct tocsin_alert a = alert(0, pad, "", long_output);

        if (!valid_utf8(cut_line(&a)))
            fail_msg("expected valid UTF-8 after a cut (padding %zu)", n);
        free(long_output);
        free(pad);
    }
}

static void cut_keeps_whole_perfdata_items(void **state)
{
    char perf[16 * 1024];
    size_t used = 0;
    const char *text, *items, *p;
    int i;

    (void)state;
    perf[0] = '\0';
    for (i = 0; i < 900; i++)
        tocsin_append(perf, sizeof(perf), &used, "%smetric%d=%d;1;2", i ? " " : "", i, i);
    {
        struct tocsin_alert a = alert(1, "MANY", perf, "long");

        text = cut_line(&a);
    }
    items = strchr(text, '|');
    assert_non_null(items);
    items++;
    /* Up to the note's "\n", every item is "metricN=N;1;2". */
    for (p = items; *p && *p != '\\';) {
        int a_, b_, len = 0;

        if (sscanf(p, "metric%d=%d;1;2%n", &a_, &b_, &len) != 2 || len == 0 || a_ != b_)
            fail_msg("expected whole perfdata items; found \"%.30s\"", p);
        p += len;
        if (*p == ' ')
            p++;
    }
    if (strcmp(p, "\\n" NOTE) != 0)
        fail_msg("expected the note after the items that fit, no long output; got \"%s\"", p);
}

static void cut_first_line(void **state)
{
    char *out = repeat("o", 6000);
    struct tocsin_alert a = alert(3, out, "a=1", "more");
    const char *text;

    (void)state;
    text = cut_line(&a);
    assert_null(strchr(text, '|'));
    if (strcmp(text + strlen(text) - strlen(NOTE) - 2, "o " NOTE) != 0)
        fail_msg("expected the note at the end of the cut first line");
    free(out);
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static void names_nagios_cannot_take(void **state)
{
    (void)state;
    assert_null(nagios_cmd_bad_name("web1"));
    assert_null(nagios_cmd_bad_name("disk /var (used %)"));
    assert_non_null(nagios_cmd_bad_name(""));
    assert_non_null(strstr(nagios_cmd_bad_name("a;b"), "';'"));
    assert_non_null(strstr(nagios_cmd_bad_name("a\nb"), "line break"));
    assert_non_null(nagios_cmd_bad_name("a\x7f"));
}

static void names_too_long_for_a_line(void **state)
{
    char *host = repeat("h", PIPE_BUF);
    struct tocsin_alert a = alert(0, "x", "", "");
    struct nagios_cmd_line l;

    (void)state;
    l.len = 0;
    assert_int_equal(nagios_cmd_build(&l, &a, host, "db"), -1);
    free(host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(line_output_only),
        cmocka_unit_test(line_with_perfdata_and_long_output),
        cmocka_unit_test(line_escapes),
        cmocka_unit_test(line_that_fills_pipe_buf_exactly_is_not_cut),
        cmocka_unit_test(cut_long_output_first),
        cmocka_unit_test(cut_never_splits_an_escape),
        cmocka_unit_test(cut_never_splits_a_character),
        cmocka_unit_test(cut_keeps_whole_perfdata_items),
        cmocka_unit_test(cut_first_line),
        cmocka_unit_test(names_nagios_cannot_take),
        cmocka_unit_test(names_too_long_for_a_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
