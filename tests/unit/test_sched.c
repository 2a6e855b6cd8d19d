/*
 * test_sched.c - the due-time heap and the scheduling arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/scheduler.h"

static void pops_in_due_order(void **state)
{
    struct tocsin_sched s;
    struct tocsin_sched_item it;
    int64_t dues[] = {50, 10, 40, 30, 20, 60, 0};
    uint32_t i;

    (void)state;
    assert_int_equal(tocsin_sched_init(&s, 7), 0);
    for (i = 0; i < 7; i++)
        tocsin_sched_set(&s, i, dues[i]);
    for (i = 0; i < 7; i++) {
        assert_int_equal(tocsin_sched_pop(&s, &it), 0);
        assert_int_equal(it.due, (int64_t)i * 10);
    }
    assert_int_equal(tocsin_sched_pop(&s, &it), -1);
    tocsin_sched_free(&s);
}

static void equal_due_times_run_in_id_order(void **state)
{
    struct tocsin_sched s;
    struct tocsin_sched_item it;
    uint32_t i;

    (void)state;
    assert_int_equal(tocsin_sched_init(&s, 5), 0);
    for (i = 5; i-- > 0;)
        tocsin_sched_set(&s, i, 100);
    for (i = 0; i < 5; i++) {
        assert_int_equal(tocsin_sched_pop(&s, &it), 0);
        assert_int_equal(it.id, i);
    }
    tocsin_sched_free(&s);
}

static void moving_an_item_reorders_the_heap(void **state)
{
    struct tocsin_sched s;
    struct tocsin_sched_item it;

    (void)state;
    assert_int_equal(tocsin_sched_init(&s, 3), 0);
    tocsin_sched_set(&s, 0, 10);
    tocsin_sched_set(&s, 1, 20);
    tocsin_sched_set(&s, 2, 30);
    tocsin_sched_set(&s, 0, 40); /* later */
    tocsin_sched_set(&s, 2, 5);  /* earlier */
    assert_int_equal(s.count, 3);
    assert_int_equal(tocsin_sched_pop(&s, &it), 0);
    assert_int_equal(it.id, 2);
    assert_int_equal(tocsin_sched_pop(&s, &it), 0);
    assert_int_equal(it.id, 1);
    assert_int_equal(tocsin_sched_pop(&s, &it), 0);
    assert_int_equal(it.id, 0);
    assert_int_equal(it.due, 40);
    tocsin_sched_free(&s);
}

static void removing_keeps_the_rest_ordered(void **state)
{
    struct tocsin_sched s;
    struct tocsin_sched_item it;
    int64_t last = -1;
    uint32_t i;

    (void)state;
    assert_int_equal(tocsin_sched_init(&s, 100), 0);
    for (i = 0; i < 100; i++)
        tocsin_sched_set(&s, i, (int64_t)((i * 7919) % 1000));
    for (i = 0; i < 100; i += 3)
        tocsin_sched_remove(&s, i);
    assert_false(tocsin_sched_has(&s, 3));
    assert_true(tocsin_sched_has(&s, 4));
    tocsin_sched_remove(&s, 3); /* not scheduled: no-op */
    assert_int_equal(s.count, 66);
    while (tocsin_sched_pop(&s, &it) == 0) {
        assert_true(it.due >= last);
        assert_true(it.id % 3 != 0);
        last = it.due;
    }
    tocsin_sched_free(&s);
}

static void random_operations_match_a_sorted_model(void **state)
{
    struct tocsin_sched s;
    struct tocsin_sched_item it;
    int64_t model[256];
    uint32_t i, round;

    (void)state;
    srand(42);
    assert_int_equal(tocsin_sched_init(&s, 256), 0);
    for (i = 0; i < 256; i++)
        model[i] = -1;
    for (round = 0; round < 20000; round++) {
        uint32_t id = (uint32_t)rand() % 256;
        int op = rand() % 3;

        if (op < 2) {
            model[id] = rand() % 100000;
            tocsin_sched_set(&s, id, model[id]);
        } else {
            model[id] = -1;
            tocsin_sched_remove(&s, id);
        }
        if (round % 100 == 0 && tocsin_sched_peek(&s, &it) == 0) {
            int64_t best = INT64_MAX;

            for (i = 0; i < 256; i++)
                if (model[i] >= 0 && model[i] < best)
                    best = model[i];
            assert_int_equal(it.due, best);
        }
    }
    tocsin_sched_free(&s);
}

static void spread_stays_inside_the_interval_and_is_stable(void **state)
{
    char name[32];
    int i, buckets[10] = {0};

    (void)state;
    for (i = 0; i < 10000; i++) {
        int64_t off;

        snprintf(name, sizeof(name), "service-%d", i);
        off = tocsin_sched_spread(name, 60000000);
        assert_true(off >= 0 && off < 60000000);
        assert_int_equal(off, tocsin_sched_spread(name, 60000000));
        buckets[off / 6000000]++;
    }
    /* 10,000 services over 10 slices of the interval: none is crowded. */
    for (i = 0; i < 10; i++) {
        assert_true(buckets[i] > 800);
        assert_true(buckets[i] < 1200);
    }
    assert_int_equal(tocsin_sched_spread("x", 0), 0);
}

static void next_run_keeps_the_phase(void **state)
{
    (void)state;
    /* On time: exactly one interval later. */
    assert_int_equal(tocsin_sched_next(1000, 60, 1010), 1060);
    /* Late by less than an interval: still the next slot. */
    assert_int_equal(tocsin_sched_next(1000, 60, 1059), 1060);
    /* Stalled for several intervals: skip to the first future slot,
     * never a burst of catch-up runs. */
    assert_int_equal(tocsin_sched_next(1000, 60, 1200), 1240);
    assert_int_equal(tocsin_sched_next(1000, 60, 1240), 1300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pops_in_due_order),
        cmocka_unit_test(equal_due_times_run_in_id_order),
        cmocka_unit_test(moving_an_item_reorders_the_heap),
        cmocka_unit_test(removing_keeps_the_rest_ordered),
        cmocka_unit_test(random_operations_match_a_sorted_model),
        cmocka_unit_test(spread_stays_inside_the_interval_and_is_stable),
        cmocka_unit_test(next_run_keeps_the_phase),
    };

    return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
