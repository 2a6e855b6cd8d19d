/*
 * test_group.c - groups rolling their members' hard states up into one
 * state (core/engine/group.c): worst-of, "at least N" and "at least N %", the
 * members never checked, and the output.
 *
 * The configuration is five services db1..db5 and group "cluster" over
 * them, built by hand; each case sets the members' views.
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
#include "engine/group.h"

enum { NMEMBERS = 5, GROUP = NMEMBERS, NSERVICES };

static char *names[NSERVICES] = { "db1", "db2", "db3", "db4", "db5", "cluster" };
static struct tocsin_config conf;
static struct tocsin_service_conf services[NSERVICES];
static uint32_t members[NMEMBERS];
static struct tocsin_svc_view views[NSERVICES];
static struct tocsin_buf out = TOCSIN_BUF_INIT;

static int setup(void **state)
{
    int i;

    (void)state;
    memset(&conf, 0, sizeof(conf));
    memset(services, 0, sizeof(services));
    memset(views, 0, sizeof(views));
    for (i = 0; i < NSERVICES; i++)
        services[i].inst.name = names[i];
    for (i = 0; i < NMEMBERS; i++) {
        members[i] = (uint32_t)i;
        views[i].checked = 1;
        views[i].is_hard = 1;
        views[i].hard_state = TOCSIN_OK;
        views[i].output = "fine";
    }
    services[GROUP].is_group = 1;
    services[GROUP].members = members;
    services[GROUP].nmembers = NMEMBERS;
    services[GROUP].group_mode = TOCSIN_GROUP_WORST;
    services[GROUP].critical_at.n = -1;
    services[GROUP].warning_at.n = -1;
    conf.services = services;
    conf.nservices = NSERVICES;
    tocsin_buf_reset(&out);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tocsin_buf_free(&out);
    return 0;
}

/* Member i (0-based) is `st` with output `text`. */
static void member(int i, enum tocsin_state st, char *text)
{
    views[i].hard_state = st;
    views[i].state = st;
    views[i].output = text;
}

/* Count mode: critical at `crit` and warning at `warn` (negative: unset),
 * each a percentage when its flag says so. */
static void counting(double crit, int crit_percent, double warn, int warn_percent)
{
    services[GROUP].group_mode = TOCSIN_GROUP_COUNT;
    services[GROUP].critical_at.n = crit;
    services[GROUP].critical_at.percent = crit_percent;
    services[GROUP].warning_at.n = warn;
    services[GROUP].warning_at.percent = warn_percent;
}

/* Evaluate the group; expect `expected`, and when `output` is not NULL,
 * that output exactly. */
static void expect_group(enum tocsin_state expected, const char *output, const char *what)
{
    enum tocsin_state got;

    tocsin_buf_reset(&out);
    got = tocsin_group_eval(&conf, GROUP, views, &out);
    if (got != expected)
        fail_msg("%s: expected %s, got %s (output \"%s\")", what,
                 tocsin_state_name(expected), tocsin_state_name(got), tocsin_buf_str(&out));
    if (output && strcmp(tocsin_buf_str(&out), output) != 0)
        fail_msg("%s: expected output\n  \"%s\"\ngot\n  \"%s\"", what, output,
                 tocsin_buf_str(&out));
}

/* The output's first line, before its perfdata. */
static void expect_summary(const char *summary, const char *what)
{
    const char *o = tocsin_buf_str(&out), *bar = strstr(o, " | ");
    size_t n = bar ? (size_t)(bar - o) : strlen(o);

    if (strlen(summary) != n || strncmp(o, summary, n) != 0)
        fail_msg("%s: expected the summary \"%s\", got \"%.*s\"", what, summary, (int)n, o);
}

/* ------------------------------------------------------------------ */
/* Worst-of                                                            */
/* ------------------------------------------------------------------ */

static void group_worst_all_ok(void **state)
{
    (void)state;
    expect_group(TOCSIN_OK, "all 5 members OK | ok=5;;;0;5 warning=0;;;0;5 "
                 "critical=0;;;0;5 unknown=0;;;0;5", "every member OK");
}

static void group_worst_of_members(void **state)
{
    (void)state;
    member(1, TOCSIN_WARNING, "slow");
    expect_group(TOCSIN_WARNING, NULL, "one WARNING");
    member(3, TOCSIN_UNKNOWN, "no answer");
    expect_group(TOCSIN_UNKNOWN, NULL, "WARNING and UNKNOWN (UNKNOWN is worse)");
    member(4, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_CRITICAL, "3 of 5 members not OK: db2 WARNING: slow; db4 UNKNOWN: "
                 "no answer; db5 CRITICAL: down | ok=2;;;0;5 warning=1;;;0;5 "
                 "critical=1;;;0;5 unknown=1;;;0;5", "WARNING, UNKNOWN and CRITICAL");
}

/* The view's soft state does not count, only its hard state. */
static void group_uses_hard_states(void **state)
{
    (void)state;
    views[0].state = TOCSIN_CRITICAL;
    views[0].is_hard = 0;
    expect_group(TOCSIN_OK, NULL, "a soft CRITICAL");
}

static void group_unchecked_members_count_as_ok(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < NMEMBERS; i++) {
        views[i].checked = 0;
        views[i].hard_state = TOCSIN_CRITICAL;
        views[i].output = NULL;
    }
    expect_group(TOCSIN_OK, "all 5 members OK | ok=5;;;0;5 warning=0;;;0;5 "
                 "critical=0;;;0;5 unknown=0;;;0;5", "no member checked yet");
    counting(1, 0, 1, 0);
    expect_group(TOCSIN_OK, NULL, "counting, no member checked yet");
}

/* ------------------------------------------------------------------ */
/* Counting: absolute                                                  */
/* ------------------------------------------------------------------ */

static void group_count_critical_at_boundary(void **state)
{
    (void)state;
    counting(3, 0, -1, 0);
    member(0, TOCSIN_CRITICAL, "down");
    member(1, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_OK, NULL, "2 CRITICAL with critical_at 3 (N-1)");
    member(2, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_CRITICAL, NULL, "3 CRITICAL with critical_at 3 (exactly N)");
    member(3, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_CRITICAL, NULL, "4 CRITICAL with critical_at 3");
}

static void group_count_warning_counts_every_state_not_ok(void **state)
{
    (void)state;
    counting(3, 0, 2, 0);
    member(0, TOCSIN_WARNING, "slow");
    expect_group(TOCSIN_OK, NULL, "1 not OK with warning_at 2 (N-1)");
    member(1, TOCSIN_UNKNOWN, "no answer");
    expect_group(TOCSIN_WARNING, NULL, "WARNING and UNKNOWN with warning_at 2 (exactly N)");
    member(1, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_WARNING, NULL, "WARNING and CRITICAL with warning_at 2");
}

/* UNKNOWN members are not OK but not CRITICAL, and counting mode never
 * says more than the counts: CRITICAL members below critical_at make a
 * WARNING at most. */
static void group_count_critical_needs_critical_members(void **state)
{
    (void)state;
    counting(2, 0, 1, 0);
    member(0, TOCSIN_UNKNOWN, "no answer");
    member(1, TOCSIN_UNKNOWN, "no answer");
    member(2, TOCSIN_UNKNOWN, "no answer");
    expect_group(TOCSIN_WARNING, NULL, "3 UNKNOWN with critical_at 2");
    member(0, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_WARNING, NULL, "1 CRITICAL, 2 UNKNOWN with critical_at 2");
    member(1, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_CRITICAL, NULL, "2 CRITICAL with critical_at 2");
}

static void group_count_only_critical_at(void **state)
{
    (void)state;
    counting(2, 0, -1, 0);
    member(0, TOCSIN_CRITICAL, "down");
    member(1, TOCSIN_WARNING, "slow");
    member(2, TOCSIN_UNKNOWN, "no answer");
    expect_group(TOCSIN_OK, NULL, "without warning_at, members below critical_at");
    expect_summary("3 of 5 members not OK: db1 CRITICAL: down; db2 WARNING: slow; "
                   "db3 UNKNOWN: no answer", "the members not OK are named in OK too");
}

static void group_count_only_warning_at(void **state)
{
    int i;

    (void)state;
    counting(-1, 0, 1, 0);
    for (i = 0; i < NMEMBERS; i++)
        member(i, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_WARNING, NULL, "every member CRITICAL without critical_at");
}

/* A count of zero is reached by the first member, like any other count;
 * it never makes a group whose members are all OK a problem. */
static void group_count_zero(void **state)
{
    (void)state;
    counting(0, 0, 0, 0);
    expect_group(TOCSIN_OK, NULL, "critical_at 0, every member OK");
    member(4, TOCSIN_WARNING, "slow");
    expect_group(TOCSIN_WARNING, NULL, "critical_at 0, warning_at 0, one WARNING");
    member(4, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_CRITICAL, NULL, "critical_at 0, one CRITICAL");
    setup(NULL);
    counting(0, 1, 0, 1);
    expect_group(TOCSIN_OK, NULL, "critical_at 0%, every member OK");
    member(4, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_CRITICAL, NULL, "critical_at 0%, one CRITICAL");
}

/* ------------------------------------------------------------------ */
/* Counting: percentages                                               */
/* ------------------------------------------------------------------ */

static void group_count_percent_at_boundary(void **state)
{
    (void)state;
    counting(60, 1, 20, 1);          /* 3 of 5; 1 of 5 */
    expect_group(TOCSIN_OK, NULL, "none not OK");
    member(0, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_WARNING, NULL, "1 of 5 = 20% with warning_at 20% (exactly)");
    member(1, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_WARNING, NULL, "2 of 5 = 40% with critical_at 60% (N-1)");
    member(2, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_CRITICAL, NULL, "3 of 5 = 60% with critical_at 60% (exactly)");
}

/* A percentage that is not a whole number of members needs the next one. */
static void group_count_percent_rounds_up(void **state)
{
    (void)state;
    services[GROUP].nmembers = 3;
    counting(50, 1, 34, 1);          /* 1.5 of 3 -> 2; 1.02 of 3 -> 2 */
    member(0, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_OK, NULL, "1 of 3 (33%) with critical_at 50%, warning_at 34%");
    member(1, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_CRITICAL, NULL, "2 of 3 (67%) with critical_at 50%");
    member(1, TOCSIN_WARNING, "slow");
    expect_group(TOCSIN_WARNING, NULL, "2 of 3 not OK with warning_at 34%");
}

static void group_count_hundred_percent(void **state)
{
    int i;

    (void)state;
    counting(100, 1, -1, 0);
    for (i = 0; i < NMEMBERS - 1; i++)
        member(i, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_OK, NULL, "4 of 5 with critical_at 100%");
    member(NMEMBERS - 1, TOCSIN_CRITICAL, "down");
    expect_group(TOCSIN_CRITICAL, NULL, "5 of 5 with critical_at 100%");
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

/* Each member not OK is named with its state and the text of its first
 * line: no perfdata, no long output, no trailing blanks. */
static void group_output_names_members_not_ok(void **state)
{
    (void)state;
    member(1, TOCSIN_CRITICAL, "PGSQL CRITICAL - connection refused   | time=0s;1;2\n"
           "long output line\n");
    member(2, TOCSIN_WARNING, "replication lag 12s\nsecond line");
    member(4, TOCSIN_UNKNOWN, NULL);
    expect_group(TOCSIN_CRITICAL, "3 of 5 members not OK: db2 CRITICAL: PGSQL CRITICAL - "
                 "connection refused; db3 WARNING: replication lag 12s; db5 UNKNOWN | "
                 "ok=2;;;0;5 warning=1;;;0;5 critical=1;;;0;5 unknown=1;;;0;5",
                 "outputs with perfdata, long output and none at all");
}

/* A long member output is cut, never inside a UTF-8 character. */
static void group_output_cuts_long_member_output(void **state)
{
    char text[400], expected[400];

    (void)state;
    memset(text, 'x', 300);
    text[300] = '\0';
    member(0, TOCSIN_CRITICAL, text);
    snprintf(expected, sizeof(expected), "1 of 5 members not OK: db1 CRITICAL: %.200s", text);
    expect_group(TOCSIN_CRITICAL, NULL, "a 300-byte output");
    expect_summary(expected, "a 300-byte output is cut at 200 bytes");

    /* "é" (2 bytes) straddles byte 200: the cut goes before it. */
    memset(text, 'y', 199);
    snprintf(text + 199, sizeof(text) - 199, "\xc3\xa9 and more");
    snprintf(expected, sizeof(expected), "1 of 5 members not OK: db1 CRITICAL: %.199s", text);
    expect_group(TOCSIN_CRITICAL, NULL, "an output with a character across byte 200");
    expect_summary(expected, "the cut falls before the character");
}

static void group_perfdata_counts(void **state)
{
    (void)state;
    member(0, TOCSIN_WARNING, "a");
    member(1, TOCSIN_WARNING, "b");
    member(2, TOCSIN_CRITICAL, "c");
    views[3].checked = 0;
    views[3].hard_state = TOCSIN_UNKNOWN;
    expect_group(TOCSIN_CRITICAL, NULL, "two WARNING, one CRITICAL, one unchecked");
    if (!strstr(tocsin_buf_str(&out), " | ok=2;;;0;5 warning=2;;;0;5 critical=1;;;0;5 "
                                      "unknown=0;;;0;5"))
        fail_msg("expected perfdata ok=2 warning=2 critical=1 unknown=0 of 5, got \"%s\"",
                 tocsin_buf_str(&out));
}

/* A state out of range is counted as UNKNOWN. */
static void group_state_out_of_range_is_unknown(void **state)
{
    (void)state;
    member(2, (enum tocsin_state)7, "garbled");
    expect_group(TOCSIN_UNKNOWN, "1 of 5 members not OK: db3 UNKNOWN: garbled | "
                 "ok=4;;;0;5 warning=0;;;0;5 critical=0;;;0;5 unknown=1;;;0;5",
                 "a member whose state is 7");
}

static void group_without_members(void **state)
{
    (void)state;
    services[GROUP].nmembers = 0;
    expect_group(TOCSIN_OK, "all 0 members OK | ok=0;;;0;0 warning=0;;;0;0 "
                 "critical=0;;;0;0 unknown=0;;;0;0", "no members");
    counting(50, 1, 1, 0);
    expect_group(TOCSIN_OK, NULL, "no members, counting");
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(group_worst_all_ok),
        CASE(group_worst_of_members),
        CASE(group_uses_hard_states),
        CASE(group_unchecked_members_count_as_ok),
        CASE(group_count_critical_at_boundary),
        CASE(group_count_warning_counts_every_state_not_ok),
        CASE(group_count_critical_needs_critical_members),
        CASE(group_count_only_critical_at),
        CASE(group_count_only_warning_at),
        CASE(group_count_zero),
        CASE(group_count_percent_at_boundary),
        CASE(group_count_percent_rounds_up),
        CASE(group_count_hundred_percent),
        CASE(group_output_names_members_not_ok),
        CASE(group_output_cuts_long_member_output),
        CASE(group_perfdata_counts),
        CASE(group_state_out_of_range_is_unknown),
        CASE(group_without_members),
    };

    return cmocka_run_group_tests_name("group", tests, NULL, NULL);
}
