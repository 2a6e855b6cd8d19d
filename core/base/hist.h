/*
 * hist.h - a histogram of durations (how long checks ran, how late they
 * started). Each value is counted twice over: in fixed cumulative bounds
 * of 1 ms .. 60 s, the Prometheus histogram the HTTP endpoint exposes, and
 * in log-linear buckets of microseconds (16 per power of two) from which
 * percentiles are read within ~6 %, as the daemon's stats line gives them.
 */
#ifndef TOCSIN_HIST_H
#define TOCSIN_HIST_H

#include <stdint.h>

#define TOCSIN_HIST_BOUNDS 14           /* fixed bounds, +Inf besides */
#define TOCSIN_HIST_FINE (64 * 16)      /* log-linear buckets */

struct tocsin_histogram {
    double bounds[TOCSIN_HIST_BOUNDS];       /* seconds, increasing */
    uint64_t counts[TOCSIN_HIST_BOUNDS + 1]; /* per bucket, not cumulative;
                                                the last is +Inf */
    double sum;                              /* seconds */
    uint64_t count;                          /* values added */
    uint64_t fine[TOCSIN_HIST_FINE];         /* per log-linear bucket of us;
                                                negative values count as 0 */
    int64_t max_us;                          /* largest value, 0 when none
                                                was positive */
};

/* Empty `h` and set its bounds: 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms,
 * 1, 2.5, 5, 10, 60 s. Also how a histogram is emptied. */
void tocsin_histogram_init(struct tocsin_histogram *h);

/* Count one value of `us` microseconds. O(TOCSIN_HIST_BOUNDS). */
void tocsin_histogram_add_us(struct tocsin_histogram *h, int64_t us);

/* The value below which `pct` percent (0-100) of the values lie, in
 * microseconds: the lower edge of the log-linear bucket holding it (within
 * ~6 % of the true value). 0 for an empty histogram. O(TOCSIN_HIST_FINE). */
int64_t tocsin_histogram_percentile_us(const struct tocsin_histogram *h, double pct);

/* The log-linear bucket holding `us`, and the smallest value of bucket
 * `b`: exposed for tests. Values below 16 us have a bucket each; values
 * past the last bucket go in the last. */
int tocsin_histogram_fine_bucket(int64_t us);
int64_t tocsin_histogram_fine_value(int b);

#endif
