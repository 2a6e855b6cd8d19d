/*
 * metric-history.h - every perfdata value of every service, kept in the
 * store by minute and by hour (docs/internals/metric-history.md).
 *
 * The daemon adds each value as its result is applied; the values of the
 * current minute of each series (one perfdata label of one service) are
 * summed up in memory, and the minutes that closed are written, with the
 * hourly rows rolled up from them and the rows past their retention
 * pruned, by tocsin_mhist_flush, one transaction at a time, off the path
 * of any check. What waits for the store is bounded; beyond the bound
 * minutes are dropped and counted.
 *
 * Use:
 *     struct tocsin_mhist *h = tocsin_mhist_new(store, &conf);
 *     tocsin_mhist_add(h, "web", "time", 0.25, now_s);   // per value
 *     tocsin_mhist_flush(h, now_s, 0);                   // every few s
 *     tocsin_mhist_flush(h, now_s, 1);                   // at shutdown
 *     tocsin_mhist_free(h);
 *
 * Times are Unix seconds, given by the caller (tests construct them).
 */
#ifndef TOCSIN_METRIC_HISTORY_H
#define TOCSIN_METRIC_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "alerting/store.h"

/* How often the daemon calls tocsin_mhist_flush, in seconds. */
#define TOCSIN_MHIST_FLUSH_S 2

/* Retention and bounds. */
struct tocsin_mhist_conf {
    int64_t detail_s;     /* minute rows are kept this long */
    int64_t keep_s;       /* hourly rows are kept this long */
    size_t max_pending;   /* closed minutes and rollups waiting for the
                             store at most; 0: 65,536 */
    size_t max_write;     /* rows one flush writes at most; 0: 20,000 */
    size_t prune_series;  /* series one flush prunes; 0: 64 */
};

/* Counters, for /metrics and the tests. */
struct tocsin_mhist_stats {
    size_t series;        /* series seen since the start */
    size_t pending;       /* closed minutes and rollups not yet committed */
    uint64_t written;     /* minute rows committed */
    uint64_t rollups;     /* hourly rows committed */
    uint64_t dropped;     /* minutes and rollups given up: the store
                             failed for longer than the bound holds */
    uint64_t failed_flushes; /* flushes whose commit failed */
    uint64_t pruned;      /* rows deleted past their retention */
};

struct tocsin_mhist;

/* A history writing into `st` (not owned). NULL when memory runs out. */
struct tocsin_mhist *tocsin_mhist_new(struct tocsin_store *st,
                                      const struct tocsin_mhist_conf *conf);

/* Change the retention (at a reload). */
void tocsin_mhist_set_retention(struct tocsin_mhist *h, int64_t detail_s, int64_t keep_s);

/* Release everything; what was not flushed is lost. */
void tocsin_mhist_free(struct tocsin_mhist *h);

/* Add value v of series (service, label) seen at now_s. A value of a
 * later minute than the series' open one closes that minute (it waits
 * for the next flush). Returns 0, or -1 when memory runs out (the value
 * is lost). O(1) on average. */
int tocsin_mhist_add(struct tocsin_mhist *h, const char *service, const char *label,
                     double v, int64_t now_s);

/* Close every open minute older than now_s's minute (every one, and the
 * hour of each series, when `all`: at shutdown), queue the rollups of the
 * hours that closed, and write what waits (at most max_write rows unless
 * `all`) and one pruning batch in one transaction. On a failed commit
 * what was written stays queued for the next flush. Returns 0 or -1 (the
 * commit failed). O(series + rows written). */
int tocsin_mhist_flush(struct tocsin_mhist *h, int64_t now_s, int all);

void tocsin_mhist_stats(const struct tocsin_mhist *h, struct tocsin_mhist_stats *out);

#endif
