/*
 * test_counter.c - counter samples turned into increases and rates
 * (plugins/common/counter.c): the first sample, a normal rate, a reset,
 * a delta, a clock that did not move or went back, and the option words.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/counter.h"

#define SEC 1000000LL

static void first_sample_is_a_baseline(void **state)
{
    struct tocsin_counter c = { 0 };
    struct tocsin_counter_change ch = { -1, -1 };

    (void)state;
    assert_int_equal(tocsin_counter_update(&c, 42, 10 * SEC, &ch), TOCSIN_COUNTER_FIRST);
    /* Nothing is reported, the sample is kept. */
    assert_true(ch.increase == -1 && ch.seconds == -1);
    assert_true(c.have);
    assert_true(c.value == 42);
    assert_int_equal(c.at_us, 10 * SEC);
}

static void normal_rate_per_second_and_per_minute(void **state)
{
    struct tocsin_counter c = { 0 };
    struct tocsin_counter_change ch;

    (void)state;
    tocsin_counter_update(&c, 100, 10 * SEC, &ch);
    assert_int_equal(tocsin_counter_update(&c, 130, 25 * SEC, &ch),
                     TOCSIN_COUNTER_INCREASE);
    assert_float_equal(ch.increase, 30, 1e-12);
    assert_float_equal(ch.seconds, 15, 1e-12);
    assert_float_equal(tocsin_counter_rate(&ch, 1), 2, 1e-12);
    assert_float_equal(tocsin_counter_rate(&ch, 60), 120, 1e-9);
    assert_float_equal(tocsin_counter_figure(TOCSIN_COUNTER_RATE, &ch, 60), 120, 1e-9);
    /* The next change is against the sample just given. */
    assert_int_equal(tocsin_counter_update(&c, 130, 30 * SEC, &ch),
                     TOCSIN_COUNTER_INCREASE);
    assert_float_equal(ch.increase, 0, 0);
    assert_float_equal(ch.seconds, 5, 1e-12);
}

static void reset_counts_from_zero(void **state)
{
    struct tocsin_counter c = { 0 };
    struct tocsin_counter_change ch;

    (void)state;
    tocsin_counter_update(&c, 5000, 1 * SEC, &ch);
    assert_int_equal(tocsin_counter_update(&c, 12, 3 * SEC, &ch), TOCSIN_COUNTER_RESET);
    assert_float_equal(ch.increase, 12, 0);
    assert_float_equal(tocsin_counter_rate(&ch, 1), 6, 1e-12);
    /* Back to zero exactly: no increase, never a negative one. */
    assert_int_equal(tocsin_counter_update(&c, 0, 4 * SEC, &ch), TOCSIN_COUNTER_RESET);
    assert_float_equal(ch.increase, 0, 0);
    assert_float_equal(tocsin_counter_increase(10, 3), 3, 0);
    assert_float_equal(tocsin_counter_increase(3, 10), 7, 0);
    /* A "counter" below zero is no count, and never a negative rate. */
    assert_float_equal(tocsin_counter_increase(5, -3), 0, 0);
    assert_true(tocsin_counter_increase(5, NAN) != tocsin_counter_increase(5, NAN));
}

static void delta_is_the_increase_per_check(void **state)
{
    struct tocsin_counter c = { 0 };
    struct tocsin_counter_change ch;

    (void)state;
    tocsin_counter_update(&c, 7, 0, &ch);
    assert_int_equal(tocsin_counter_update(&c, 17, 120 * SEC, &ch),
                     TOCSIN_COUNTER_INCREASE);
    assert_float_equal(tocsin_counter_figure(TOCSIN_COUNTER_DELTA, &ch, 60), 10, 0);
    assert_float_equal(tocsin_counter_figure(TOCSIN_COUNTER_DELTA, &ch, 1), 10, 0);
}

static void time_that_stood_still_or_went_back(void **state)
{
    struct tocsin_counter c = { 0 };
    struct tocsin_counter_change ch = { -1, -1 };

    (void)state;
    tocsin_counter_update(&c, 10, 50 * SEC, &ch);
    assert_int_equal(tocsin_counter_update(&c, 20, 50 * SEC, &ch),
                     TOCSIN_COUNTER_STALLED);
    assert_true(ch.increase == -1);
    /* A clock behind the baseline (a state from another boot) replaces it. */
    assert_int_equal(tocsin_counter_update(&c, 25, 40 * SEC, &ch),
                     TOCSIN_COUNTER_STALLED);
    assert_int_equal(c.at_us, 40 * SEC);
    assert_true(c.value == 25);
    assert_int_equal(tocsin_counter_update(&c, 28, 41 * SEC, &ch),
                     TOCSIN_COUNTER_INCREASE);
    assert_float_equal(ch.increase, 3, 0);
    assert_float_equal(ch.seconds, 1, 1e-12);
    /* Large monotonic clocks keep their microseconds. */
    c.at_us = INT64_MAX - 2 * SEC;
    assert_int_equal(tocsin_counter_update(&c, 29, INT64_MAX - SEC, &ch),
                     TOCSIN_COUNTER_INCREASE);
    assert_float_equal(ch.seconds, 1, 1e-6);
}

static void option_words(void **state)
{
    enum tocsin_counter_mode mode = TOCSIN_COUNTER_VALUE;
    const char *shown = NULL;
    double unit = 0;
    char err[128];

    (void)state;
    assert_int_equal(tocsin_counter_mode_parse("query_mode", "rate", &mode, err,
                                               sizeof(err)), 0);
    assert_int_equal(mode, TOCSIN_COUNTER_RATE);
    assert_int_equal(tocsin_counter_mode_parse("query_mode", "delta", &mode, err,
                                               sizeof(err)), 0);
    assert_int_equal(mode, TOCSIN_COUNTER_DELTA);
    assert_int_equal(tocsin_counter_mode_parse("query_mode", "value", &mode, err,
                                               sizeof(err)), 0);
    assert_int_equal(mode, TOCSIN_COUNTER_VALUE);
    assert_int_equal(tocsin_counter_mode_parse("query_mode", "Rate", &mode, err,
                                               sizeof(err)), -1);
    assert_string_equal(err, "option 'query_mode': \"Rate\" is not one of value, "
                        "delta, rate");
    assert_int_equal(tocsin_counter_unit_parse("rate_unit", "minute", &unit, &shown,
                                               err, sizeof(err)), 0);
    assert_float_equal(unit, 60, 0);
    assert_string_equal(shown, "min");
    assert_int_equal(tocsin_counter_unit_parse("rate_unit", "hour", &unit, &shown,
                                               err, sizeof(err)), 0);
    assert_float_equal(unit, 3600, 0);
    assert_int_equal(tocsin_counter_unit_parse("rate_unit", "fortnight", &unit, &shown,
                                               err, sizeof(err)), -1);
    assert_string_equal(err, "option 'rate_unit': \"fortnight\" is not one of second, "
                        "minute, hour");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_sample_is_a_baseline),
        cmocka_unit_test(normal_rate_per_second_and_per_minute),
        cmocka_unit_test(reset_counts_from_zero),
        cmocka_unit_test(delta_is_the_increase_per_check),
        cmocka_unit_test(time_that_stood_still_or_went_back),
        cmocka_unit_test(option_words),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
