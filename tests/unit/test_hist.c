/*
 * test_hist.c - histograms of durations (core/base/hist.c): the fixed
 * bounds /metrics shows (a value on a bound counts in it, cumulative
 * counts, +Inf), the log-linear buckets and the percentiles the stats line
 * reads from them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/hist.h"

/* The cumulative count at fixed bound `i` (TOCSIN_HIST_BOUNDS: +Inf), as
 * the HTTP endpoint sums it. */
static uint64_t cumulative(const struct tocsin_histogram *h, int i)
{
    uint64_t cum = 0;
    int b;

    for (b = 0; b <= i; b++)
        cum += h->counts[b];
    return cum;
}

static void init_sets_bounds_and_empties(void **state)
{
    static const double want[TOCSIN_HIST_BOUNDS] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60
    };
    struct tocsin_histogram h;
    int i;

    (void)state;
    tocsin_histogram_init(&h);
    for (i = 0; i < TOCSIN_HIST_BOUNDS; i++)
        if (h.bounds[i] != want[i])
            fail_msg("bound %d: expected %g s, got %g s", i, want[i], h.bounds[i]);
    assert_int_equal(h.count, 0);
    assert_int_equal(cumulative(&h, TOCSIN_HIST_BOUNDS), 0);
    assert_int_equal(tocsin_histogram_percentile_us(&h, 50), 0);
    assert_int_equal(h.max_us, 0);
}

static void value_on_a_bound_counts_in_it(void **state)
{
    struct tocsin_histogram h;

    (void)state;
    tocsin_histogram_init(&h);
    tocsin_histogram_add_us(&h, 1000);      /* exactly 1 ms: le="0.001" */
    tocsin_histogram_add_us(&h, 1001);      /* just above: le="0.0025" */
    tocsin_histogram_add_us(&h, 60000000);  /* exactly 60 s: the last bound */
    assert_int_equal(h.counts[0], 1);
    assert_int_equal(h.counts[1], 1);
    assert_int_equal(h.counts[TOCSIN_HIST_BOUNDS - 1], 1);
    assert_int_equal(h.counts[TOCSIN_HIST_BOUNDS], 0);
}

static void cumulative_counts_sum_and_inf(void **state)
{
    /* One value inside each fixed bucket, +Inf included. */
    static const int64_t us[TOCSIN_HIST_BOUNDS + 1] = {
        500, 2000, 4000, 9000, 20000, 40000, 90000, 200000, 400000, 900000,
        2000000, 4000000, 9000000, 30000000, 61000000
    };
    struct tocsin_histogram h;
    double sum = 0;
    int i;

    (void)state;
    tocsin_histogram_init(&h);
    for (i = 0; i <= TOCSIN_HIST_BOUNDS; i++) {
        tocsin_histogram_add_us(&h, us[i]);
        sum += (double)us[i] / 1e6;
    }
    for (i = 0; i <= TOCSIN_HIST_BOUNDS; i++) {
        if (h.counts[i] != 1)
            fail_msg("bucket %d: expected 1 value, got %llu", i,
                     (unsigned long long)h.counts[i]);
        if (cumulative(&h, i) != (uint64_t)i + 1)
            fail_msg("cumulative count at bucket %d: expected %d, got %llu", i, i + 1,
                     (unsigned long long)cumulative(&h, i));
    }
    assert_int_equal(h.count, TOCSIN_HIST_BOUNDS + 1);
    assert_true(h.sum == sum);
    assert_int_equal(h.max_us, 61000000);
}

static void negative_value_counts_as_zero(void **state)
{
    struct tocsin_histogram h;

    (void)state;
    tocsin_histogram_init(&h);
    tocsin_histogram_add_us(&h, -250);
    assert_int_equal(h.counts[0], 1);
    assert_int_equal(h.fine[0], 1);
    assert_int_equal(h.max_us, 0);
    assert_int_equal(tocsin_histogram_percentile_us(&h, 50), 0);
}

static void fine_bucket_edges(void **state)
{
    int64_t v;

    (void)state;
    /* Below 16 us, one bucket per microsecond. */
    for (v = 0; v < 16; v++)
        assert_int_equal(tocsin_histogram_fine_bucket(v), (int)v);
    /* 16..31: still width 1; 32..63: width 2; 64..127: width 4. */
    assert_int_equal(tocsin_histogram_fine_bucket(16), 16);
    assert_int_equal(tocsin_histogram_fine_bucket(31), 31);
    assert_int_equal(tocsin_histogram_fine_bucket(32), 32);
    assert_int_equal(tocsin_histogram_fine_bucket(33), 32);
    assert_int_equal(tocsin_histogram_fine_bucket(34), 33);
    assert_int_equal(tocsin_histogram_fine_bucket(64), 48);
    assert_int_equal(tocsin_histogram_fine_bucket(67), 48);
    assert_int_equal(tocsin_histogram_fine_bucket(68), 49);
    /* Every value lies in [edge of its bucket, edge of the next), within
     * 1/16 of the lower edge. */
    for (v = 1; v < 5000000; v = v + 1 + v / 7) {
        int b = tocsin_histogram_fine_bucket(v);
        int64_t lo = tocsin_histogram_fine_value(b), hi = tocsin_histogram_fine_value(b + 1);

        if (lo > v || v >= hi)
            fail_msg("%lld us: expected in bucket %d [%lld, %lld)", (long long)v, b,
                     (long long)lo, (long long)hi);
        if ((double)(v - lo) > (double)v / 16)
            fail_msg("%lld us: lower edge %lld is more than 1/16 below", (long long)v,
                     (long long)lo);
    }
    /* The largest value still has a bucket. */
    assert_true(tocsin_histogram_fine_bucket(INT64_MAX) < TOCSIN_HIST_FINE);
}

static void percentiles_are_bucket_lower_edges(void **state)
{
    struct tocsin_histogram h;
    int64_t v;

    (void)state;
    tocsin_histogram_init(&h);
    for (v = 1; v <= 100; v++)
        tocsin_histogram_add_us(&h, v);
    /* p50: the 51st value, 51 us, is in the bucket [50, 52). */
    assert_int_equal(tocsin_histogram_percentile_us(&h, 50), 50);
    /* p99: the 100th, 100 us, in [100, 104). */
    assert_int_equal(tocsin_histogram_percentile_us(&h, 99), 100);
    assert_int_equal(tocsin_histogram_percentile_us(&h, 100), 100);
    assert_int_equal(tocsin_histogram_percentile_us(&h, 0), 1);
    assert_int_equal(h.max_us, 100);
}

static void init_empties_again(void **state)
{
    struct tocsin_histogram h;

    (void)state;
    tocsin_histogram_init(&h);
    tocsin_histogram_add_us(&h, 7000);
    tocsin_histogram_init(&h);
    assert_int_equal(h.count, 0);
    assert_int_equal(h.max_us, 0);
    assert_int_equal(cumulative(&h, TOCSIN_HIST_BOUNDS), 0);
    assert_int_equal(tocsin_histogram_percentile_us(&h, 99), 0);
    assert_true(h.bounds[0] == 0.001);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_sets_bounds_and_empties),
        cmocka_unit_test(value_on_a_bound_counts_in_it),
        cmocka_unit_test(cumulative_counts_sum_and_inf),
        cmocka_unit_test(negative_value_counts_as_zero),
        cmocka_unit_test(fine_bucket_edges),
        cmocka_unit_test(percentiles_are_bucket_lower_edges),
        cmocka_unit_test(init_empties_again),
    };

    return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
