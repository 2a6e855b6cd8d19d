/*
 * test_service.c - Nagios soft/hard state semantics and flap detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/service.h"

static const struct tocsin_flap_conf flap_on = {1, 5.0, 20.0};
static const struct tocsin_flap_conf flap_off = {0, 5.0, 20.0};

static void first_ok_result_is_hard_ok_without_change(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;

    (void)state;
    tocsin_svc_init(&st);
    tocsin_svc_apply(&st, TOCSIN_OK, 3, &flap_on, &ch);
    assert_true(ch.first);
    assert_false(ch.hard_change);
    assert_true(st.is_hard);
    assert_int_equal(st.hard_state, TOCSIN_OK);
    assert_false(ch.use_retry);
}

static void problem_becomes_hard_after_max_attempts(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;

    (void)state;
    tocsin_svc_init(&st);
    tocsin_svc_apply(&st, TOCSIN_OK, 3, &flap_off, &ch);

    tocsin_svc_apply(&st, TOCSIN_CRITICAL, 3, &flap_off, &ch);
    assert_true(ch.soft_problem);
    assert_false(ch.hard_change);
    assert_false(st.is_hard);
    assert_int_equal(st.attempt, 1);
    assert_true(ch.use_retry);

    tocsin_svc_apply(&st, TOCSIN_CRITICAL, 3, &flap_off, &ch);
    assert_true(ch.soft_problem);
    assert_int_equal(st.attempt, 2);

    tocsin_svc_apply(&st, TOCSIN_CRITICAL, 3, &flap_off, &ch);
    assert_true(ch.hard_change);
    assert_int_equal(ch.old_hard, TOCSIN_OK);
    assert_int_equal(st.hard_state, TOCSIN_CRITICAL);
    assert_true(st.is_hard);
    assert_int_equal(st.attempt, 3);
    assert_false(ch.use_retry); /* hard problems go back to the normal interval */

    /* Staying CRITICAL: no further change, attempt stays at max. */
    tocsin_svc_apply(&st, TOCSIN_CRITICAL, 3, &flap_off, &ch);
    assert_false(ch.hard_change);
    assert_int_equal(st.attempt, 3);
}

static void max_attempts_one_is_hard_at_once(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;

    (void)state;
    tocsin_svc_init(&st);
    tocsin_svc_apply(&st, TOCSIN_OK, 1, &flap_off, &ch);
    tocsin_svc_apply(&st, TOCSIN_WARNING, 1, &flap_off, &ch);
    assert_true(ch.hard_change);
    assert_int_equal(st.hard_state, TOCSIN_WARNING);
    assert_false(ch.use_retry);
}

static void soft_recovery_is_not_a_hard_change(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;

    (void)state;
    tocsin_svc_init(&st);
    tocsin_svc_apply(&st, TOCSIN_OK, 3, &flap_off, &ch);
    tocsin_svc_apply(&st, TOCSIN_WARNING, 3, &flap_off, &ch);
    tocsin_svc_apply(&st, TOCSIN_OK, 3, &flap_off, &ch);
    assert_true(ch.soft_recovery);
    assert_false(ch.hard_change);
    assert_int_equal(st.attempt, 1);
    assert_int_equal(st.hard_state, TOCSIN_OK);
}

static void hard_recovery_is_a_hard_change(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;
    int i;

    (void)state;
    tocsin_svc_init(&st);
    tocsin_svc_apply(&st, TOCSIN_OK, 2, &flap_off, &ch);
    for (i = 0; i < 2; i++)
        tocsin_svc_apply(&st, TOCSIN_UNKNOWN, 2, &flap_off, &ch);
    assert_int_equal(st.hard_state, TOCSIN_UNKNOWN);
    tocsin_svc_apply(&st, TOCSIN_OK, 2, &flap_off, &ch);
    assert_true(ch.hard_change);
    assert_int_equal(ch.old_hard, TOCSIN_UNKNOWN);
    assert_int_equal(st.hard_state, TOCSIN_OK);
    assert_int_equal(st.attempt, 1);
}

static void change_between_hard_problems_is_immediate(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;
    int i;

    (void)state;
    tocsin_svc_init(&st);
    for (i = 0; i < 3; i++)
        tocsin_svc_apply(&st, TOCSIN_WARNING, 3, &flap_off, &ch);
    assert_int_equal(st.hard_state, TOCSIN_WARNING);
    tocsin_svc_apply(&st, TOCSIN_CRITICAL, 3, &flap_off, &ch);
    assert_true(ch.hard_change);
    assert_int_equal(ch.old_hard, TOCSIN_WARNING);
    assert_int_equal(st.hard_state, TOCSIN_CRITICAL);
}

static void soft_state_changes_still_count_attempts(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;

    (void)state;
    tocsin_svc_init(&st);
    tocsin_svc_apply(&st, TOCSIN_WARNING, 3, &flap_off, &ch);
    tocsin_svc_apply(&st, TOCSIN_CRITICAL, 3, &flap_off, &ch);
    assert_int_equal(st.attempt, 2);
    assert_false(st.is_hard);
    tocsin_svc_apply(&st, TOCSIN_WARNING, 3, &flap_off, &ch);
    assert_true(ch.hard_change);
    assert_int_equal(st.hard_state, TOCSIN_WARNING);
}

static void flap_percent_weights_recent_changes_more(void **state)
{
    unsigned char old_change[21], new_change[21];
    int i;

    (void)state;
    memset(old_change, 0, sizeof(old_change));
    memset(new_change, 0, sizeof(new_change));
    old_change[0] = 2;   /* one change between entries 0 and 1 */
    new_change[20] = 2;  /* one change between entries 19 and 20 */
    assert_float_equal(tocsin_flap_percent(old_change, 21), 0.75 * 100 / 20, 1e-9);
    assert_float_equal(tocsin_flap_percent(new_change, 21), 1.25 * 100 / 20, 1e-9);
    /* Alternating on every result: every transition is a change. */
    for (i = 0; i < 21; i++)
        old_change[i] = (unsigned char)(i % 2 ? 2 : 0);
    assert_float_equal(tocsin_flap_percent(old_change, 21), 100.0, 1e-9);
    memset(old_change, 0, sizeof(old_change));
    assert_float_equal(tocsin_flap_percent(old_change, 21), 0.0, 1e-9);
}

static void flapping_starts_above_high_and_stops_below_low(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;
    int i, started = 0, stopped = 0;

    (void)state;
    tocsin_svc_init(&st);
    for (i = 0; i < 21; i++)
        tocsin_svc_apply(&st, TOCSIN_OK, 3, &flap_on, &ch);
    assert_false(st.flapping);
    for (i = 0; i < 6; i++) {
        tocsin_svc_apply(&st, i % 2 ? TOCSIN_OK : TOCSIN_CRITICAL, 3, &flap_on, &ch);
        started += ch.flap_started;
    }
    assert_true(st.flapping);
    assert_int_equal(started, 1);
    assert_true(st.flap_percent >= 20.0);
    /* Stable again: flapping ends once the weighted share drops below 5 %. */
    for (i = 0; i < 21 && st.flapping; i++) {
        tocsin_svc_apply(&st, TOCSIN_OK, 3, &flap_on, &ch);
        stopped += ch.flap_stopped;
    }
    assert_false(st.flapping);
    assert_int_equal(stopped, 1);
    assert_true(st.flap_percent < 5.0);
}

static void flap_detection_disabled_never_flaps(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;
    int i;

    (void)state;
    tocsin_svc_init(&st);
    for (i = 0; i < 30; i++)
        tocsin_svc_apply(&st, i % 2 ? TOCSIN_OK : TOCSIN_CRITICAL, 3, &flap_off, &ch);
    assert_false(st.flapping);
    assert_true(st.flap_percent > 50.0);
}

/* hard_after: the number of results does not matter, the time does. */
static void hard_after_counts_time_not_attempts(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;
    const int64_t t0 = 1700000000000LL, five_min = 300000;
    int i;

    (void)state;
    tocsin_svc_init(&st);
    tocsin_svc_apply_timed(&st, TOCSIN_OK, 3, five_min, t0 - 60000, &flap_off, &ch);
    assert_int_equal(st.problem_since_ms, 0);

    tocsin_svc_apply_timed(&st, TOCSIN_CRITICAL, 3, five_min, t0, &flap_off, &ch);
    assert_true(ch.soft_problem);
    assert_false(st.is_hard);
    assert_true(st.problem_since_ms == t0);
    assert_true(tocsin_svc_hard_due_ms(&st, five_min) == t0 + five_min);
    /* Ten results in the first 4:59 (max_attempts 3 would have made it
     * hard at the third): still soft, attempts counted. */
    for (i = 1; i <= 10; i++) {
        tocsin_svc_apply_timed(&st, i % 2 ? TOCSIN_WARNING : TOCSIN_CRITICAL, 3, five_min,
                               t0 + i * 29900, &flap_off, &ch);
        assert_true(ch.soft_problem);
        assert_false(ch.hard_change);
        assert_true(ch.use_retry);
    }
    assert_int_equal(st.attempt, 11);
    assert_true(st.problem_since_ms == t0); /* a change of problem state keeps it */
    /* At 5:00 exactly: hard. */
    tocsin_svc_apply_timed(&st, TOCSIN_CRITICAL, 3, five_min, t0 + five_min, &flap_off, &ch);
    assert_true(ch.hard_change);
    assert_true(st.is_hard);
    assert_int_equal(st.hard_state, TOCSIN_CRITICAL);
    assert_false(ch.use_retry);
    assert_true(tocsin_svc_hard_due_ms(&st, five_min) == -1);
    /* Recovery clears the start of the problem. */
    tocsin_svc_apply_timed(&st, TOCSIN_OK, 3, five_min, t0 + 400000, &flap_off, &ch);
    assert_true(ch.hard_change);
    assert_int_equal(st.problem_since_ms, 0);
}

/* A few slow results are enough when they span the duration; an OK in
 * between starts the count again. */
static void hard_after_restarts_after_recovery(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;
    const int64_t t0 = 1000000, d = 120000;

    (void)state;
    tocsin_svc_init(&st);
    tocsin_svc_apply_timed(&st, TOCSIN_WARNING, 5, d, t0, &flap_off, &ch);
    assert_true(ch.first);
    assert_true(ch.soft_problem);       /* never hard at the first result */
    tocsin_svc_apply_timed(&st, TOCSIN_OK, 5, d, t0 + 100000, &flap_off, &ch);
    assert_true(ch.soft_recovery);
    tocsin_svc_apply_timed(&st, TOCSIN_WARNING, 5, d, t0 + 110000, &flap_off, &ch);
    assert_true(st.problem_since_ms == t0 + 110000);
    tocsin_svc_apply_timed(&st, TOCSIN_WARNING, 5, d, t0 + 200000, &flap_off, &ch);
    assert_true(ch.soft_problem);       /* 90 s of this problem, not 200 s */
    tocsin_svc_apply_timed(&st, TOCSIN_WARNING, 5, d, t0 + 230000, &flap_off, &ch);
    assert_true(ch.hard_change);
    assert_int_equal(st.attempt, 3);
}

/* A state saved without the start of its problem, or a clock set back:
 * the count starts at the result at hand, it never makes a problem hard
 * at once. */
static void hard_after_without_a_start_counts_from_now(void **state)
{
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;
    const int64_t now = 5000000, d = 60000;

    (void)state;
    tocsin_svc_init(&st);
    tocsin_svc_apply(&st, TOCSIN_CRITICAL, 3, &flap_off, &ch);
    st.problem_since_ms = 0;
    tocsin_svc_apply_timed(&st, TOCSIN_CRITICAL, 3, d, now, &flap_off, &ch);
    assert_true(ch.soft_problem);
    assert_true(st.problem_since_ms == now);
    st.problem_since_ms = now + 3600000;        /* in the future */
    tocsin_svc_apply_timed(&st, TOCSIN_CRITICAL, 3, d, now + 1000, &flap_off, &ch);
    assert_true(ch.soft_problem);
    assert_true(st.problem_since_ms == now + 1000);
    tocsin_svc_apply_timed(&st, TOCSIN_CRITICAL, 3, d, now + 1000 + d, &flap_off, &ch);
    assert_true(ch.hard_change);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_ok_result_is_hard_ok_without_change),
        cmocka_unit_test(problem_becomes_hard_after_max_attempts),
        cmocka_unit_test(max_attempts_one_is_hard_at_once),
        cmocka_unit_test(soft_recovery_is_not_a_hard_change),
        cmocka_unit_test(hard_recovery_is_a_hard_change),
        cmocka_unit_test(change_between_hard_problems_is_immediate),
        cmocka_unit_test(soft_state_changes_still_count_attempts),
        cmocka_unit_test(flap_percent_weights_recent_changes_more),
        cmocka_unit_test(flapping_starts_above_high_and_stops_below_low),
        cmocka_unit_test(flap_detection_disabled_never_flaps),
        cmocka_unit_test(hard_after_counts_time_not_attempts),
        cmocka_unit_test(hard_after_restarts_after_recovery),
        cmocka_unit_test(hard_after_without_a_start_counts_from_now),
    };

    return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
