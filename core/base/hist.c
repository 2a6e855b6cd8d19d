/*
 * hist.c - histograms of durations: fixed Prometheus bounds and
 * log-linear buckets for percentiles. See hist.h.
 */
#include <string.h>

#include "base/hist.h"

void tocsin_histogram_init(struct tocsin_histogram *h)
{
    static const double b[TOCSIN_HIST_BOUNDS] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60
    };

    memset(h, 0, sizeof(*h));
    memcpy(h->bounds, b, sizeof(b));
}

/* Below 16 the value is its own bucket; above, the 4 bits after the most
 * significant one pick one of 16 buckets per power of two. */
int tocsin_histogram_fine_bucket(int64_t us)
{
    int msb, sub, b;

    if (us < 16)
        return us < 0 ? 0 : (int)us;
    msb = 63 - __builtin_clzll((unsigned long long)us);
    sub = (int)((us >> (msb - 4)) & 15);
    b = (msb - 3) * 16 + sub;
    return b < TOCSIN_HIST_FINE ? b : TOCSIN_HIST_FINE - 1;
}

int64_t tocsin_histogram_fine_value(int b)
{
    int msb, sub;

    if (b < 16)
        return b < 0 ? 0 : b;
    msb = b / 16 + 3;
    sub = b % 16;
    return ((int64_t)16 + sub) << (msb - 4);
}

void tocsin_histogram_add_us(struct tocsin_histogram *h, int64_t us)
{
    double seconds = (double)us / 1e6;
    int i;

    for (i = 0; i < TOCSIN_HIST_BOUNDS && seconds > h->bounds[i]; i++)
        ;
    h->counts[i]++;
    h->sum += seconds;
    h->count++;
    h->fine[tocsin_histogram_fine_bucket(us)]++;
    if (us > h->max_us)
        h->max_us = us;
}

int64_t tocsin_histogram_percentile_us(const struct tocsin_histogram *h, double pct)
{
    uint64_t want, seen = 0;
    int b;

    if (!h->count)
        return 0;
    want = (uint64_t)((double)h->count * pct / 100.0);
    if (want >= h->count)
        want = h->count - 1;
    for (b = 0; b < TOCSIN_HIST_FINE; b++) {
        seen += h->fine[b];
        if (seen > want)
            return tocsin_histogram_fine_value(b);
    }
    return h->max_us;
}
