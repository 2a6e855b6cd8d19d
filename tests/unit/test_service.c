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
    };

    return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
