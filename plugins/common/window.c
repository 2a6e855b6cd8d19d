/*
 * window.c - sliding window of slots and histogram of values (window.h).
 */
#include <math.h>
#include <string.h>

#include "common/window.h"

void tocsin_window_init(struct tocsin_window *w, int64_t span_ms)
{
    unsigned i;

    w->slot_ms = span_ms / TOCSIN_WINDOW_SLOTS;
    if (w->slot_ms < 1)
        w->slot_ms = 1;
    w->now = INT64_MIN;
    for (i = 0; i < TOCSIN_WINDOW_SLOTS; i++)
        w->epoch[i] = -1;
}

/* Floor division, for times before 1970 too. */
static int64_t window_epoch(const struct tocsin_window *w, int64_t ms)
{
    int64_t e = ms / w->slot_ms;

    return ms % w->slot_ms < 0 ? e - 1 : e;
}

void tocsin_window_advance(struct tocsin_window *w, int64_t now_ms,
                           tocsin_window_clear_fn clear, void *ctx)
{
    int64_t e = window_epoch(w, now_ms);
    unsigned i;

    if (e > w->now)
        w->now = e;
    for (i = 0; i < TOCSIN_WINDOW_SLOTS; i++) {
        if (w->epoch[i] != -1 && w->epoch[i] <= w->now - TOCSIN_WINDOW_SLOTS) {
            clear(ctx, i);
            w->epoch[i] = -1;
        }
    }
}

int tocsin_window_slot(struct tocsin_window *w, int64_t at_ms,
                       tocsin_window_clear_fn clear, void *ctx)
{
    int64_t e = window_epoch(w, at_ms);
    unsigned s;

    if (w->now == INT64_MIN)
        w->now = e;
    if (e > w->now)
        e = w->now;
    if (e <= w->now - TOCSIN_WINDOW_SLOTS)
        return -1;
    s = (unsigned)(((e % TOCSIN_WINDOW_SLOTS) + TOCSIN_WINDOW_SLOTS) %
                   TOCSIN_WINDOW_SLOTS);
    if (w->epoch[s] != e) {
        clear(ctx, s);
        w->epoch[s] = e;
    }
    return (int)s;
}

uint64_t tocsin_window_sum(const uint32_t *counts)
{
    uint64_t sum = 0;
    unsigned i;

    for (i = 0; i < TOCSIN_WINDOW_SLOTS; i++)
        sum += counts[i];
    return sum;
}

void tocsin_vhist_clear(struct tocsin_vhist *h)
{
    memset(h, 0, sizeof(*h));
}

/* The bin of a value. */
static unsigned vhist_bin(double v)
{
    double x;

    if (!(v > 0))
        return 0;
    x = (log2(v) - TOCSIN_VHIST_MIN_LOG2) * TOCSIN_VHIST_PER_DOUBLING;
    if (x < 0)
        return 1;
    if (x >= TOCSIN_VHIST_BINS - 2)
        return TOCSIN_VHIST_BINS - 1;
    return 1 + (unsigned)x;
}

/* The value a bin stands for: the geometric middle of its bounds. */
static double vhist_value(unsigned bin)
{
    if (bin == 0)
        return 0;
    return exp2(((double)bin - 0.5) / TOCSIN_VHIST_PER_DOUBLING +
                TOCSIN_VHIST_MIN_LOG2);
}

void tocsin_vhist_add(struct tocsin_vhist *h, double v)
{
    if (isnan(v))
        v = 0;
    if (h->n == 0 || v < h->min)
        h->min = v;
    if (h->n == 0 || v > h->max)
        h->max = v;
    h->n++;
    h->sum += v;
    h->bin[vhist_bin(v)]++;
}

void tocsin_vhist_merge(struct tocsin_vhist *into, const struct tocsin_vhist *from)
{
    unsigned i;

    if (from->n == 0)
        return;
    if (into->n == 0 || from->min < into->min)
        into->min = from->min;
    if (into->n == 0 || from->max > into->max)
        into->max = from->max;
    into->n += from->n;
    into->sum += from->sum;
    for (i = 0; i < TOCSIN_VHIST_BINS; i++)
        into->bin[i] += from->bin[i];
}

double tocsin_vhist_quantile(const struct tocsin_vhist *h, double q)
{
    uint64_t rank, seen = 0;
    unsigned i;
    double v;

    if (h->n == 0)
        return 0;
    rank = (uint64_t)ceil(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    if (rank > h->n)
        rank = h->n;
    for (i = 0; i < TOCSIN_VHIST_BINS; i++) {
        seen += h->bin[i];
        if (seen >= rank)
            break;
    }
    if (i == TOCSIN_VHIST_BINS)
        i = TOCSIN_VHIST_BINS - 1;
    v = i == 0 ? h->min < 0 ? h->min : 0 : vhist_value(i);
    if (v < h->min)
        v = h->min;
    if (v > h->max)
        v = h->max;
    return v;
}
