/*
 * window.h - a sliding time window cut into TOCSIN_WINDOW_SLOTS slots of
 * equal width, for counts kept per slot by the caller: an event is added
 * to the slot of its time, and a slot is cleared when its time leaves the
 * window, so memory depends on the number of slots, not of events. The
 * window covers the last TOCSIN_WINDOW_SLOTS slots up to the current one:
 * its span to within one slot (1/60 of it).
 *
 * Also a histogram of non-negative numbers in log-spaced bins (16 per
 * doubling, from about 1e-6 to 1e12), for the mean and percentiles of a
 * figure per slot: a percentile is within about 2.2 % of the exact one,
 * and never outside the smallest and largest values added.
 */
#ifndef TOCSIN_PLUGIN_WINDOW_H
#define TOCSIN_PLUGIN_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#define TOCSIN_WINDOW_SLOTS 60

/* Called when slot `slot` is reused or leaves the window: the caller zeroes
 * what it keeps for that slot. */
typedef void (*tocsin_window_clear_fn)(void *ctx, unsigned slot);

struct tocsin_window {
    int64_t slot_ms;                         /* width of one slot */
    int64_t now;                             /* epoch (time / slot_ms) of the newest slot */
    int64_t epoch[TOCSIN_WINDOW_SLOTS];      /* epoch each slot holds, -1: empty */
};

/* A window of `span_ms` (> 0). All slots empty. */
void tocsin_window_init(struct tocsin_window *w, int64_t span_ms);

/* Move the window's end to `now_ms`, clearing the slots that left it.
 * The window never moves back. O(TOCSIN_WINDOW_SLOTS). */
void tocsin_window_advance(struct tocsin_window *w, int64_t now_ms,
                           tocsin_window_clear_fn clear, void *ctx);

/* The slot an event at `at_ms` counts in, or -1 when it is older than the
 * window. An event later than the window's end counts in the newest slot.
 * A slot that held an older epoch is cleared first. O(1). */
int tocsin_window_slot(struct tocsin_window *w, int64_t at_ms,
                       tocsin_window_clear_fn clear, void *ctx);

/* Sum of counts[0..TOCSIN_WINDOW_SLOTS-1]. */
uint64_t tocsin_window_sum(const uint32_t *counts);

/* ------------------------------------------------------------------ */
/* Histogram of values                                                 */
/* ------------------------------------------------------------------ */

#define TOCSIN_VHIST_PER_DOUBLING 16
#define TOCSIN_VHIST_MIN_LOG2 (-20)
#define TOCSIN_VHIST_BINS (1 + TOCSIN_VHIST_PER_DOUBLING * 60)

struct tocsin_vhist {
    uint64_t n;                       /* values added */
    double sum;
    double min, max;                  /* meaningful when n > 0 */
    uint32_t bin[TOCSIN_VHIST_BINS];  /* bin 0: values <= 0 (and NaN) */
};

/* Empty `h`. */
void tocsin_vhist_clear(struct tocsin_vhist *h);

/* Add one value. O(1). */
void tocsin_vhist_add(struct tocsin_vhist *h, double v);

/* Add all of `from` into `into`. O(TOCSIN_VHIST_BINS). */
void tocsin_vhist_merge(struct tocsin_vhist *into, const struct tocsin_vhist *from);

/* The q-quantile (0 < q <= 1) of the values added, or 0 when none. */
double tocsin_vhist_quantile(const struct tocsin_vhist *h, double q);

#endif
