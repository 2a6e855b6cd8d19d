/*
 * metric-history.c - perfdata values summed up by minute in memory and
 * written to the store in batches. See metric-history.h for the
 * interface and docs/internals/metric-history.md for the design.
 */
#include "alerting/metric-history.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hashidx.h"
#include "base/log.h"

#define DEFAULT_MAX_PENDING 65536
#define DEFAULT_MAX_WRITE 20000
#define DEFAULT_PRUNE_SERIES 64

/* One series and its open minute. */
struct series {
    char *key;            /* "SERVICE\x1fLABEL", then "SERVICE": one allocation */
    const char *service;  /* inside key's allocation */
    const char *label;    /* inside key */
    int64_t minute;       /* start of the open minute, -1: none */
    double min, max, sum, last;
    int64_t count;
    int64_t hour;         /* hour with minutes queued or written but not
                             rolled up, -1: none */
};

/* A closed minute, or the rollup of an hour (row.t), waiting for the store. */
struct pending {
    uint32_t series;
    int rollup;
    struct tocsin_metric_row row;
};

struct tocsin_mhist {
    struct tocsin_store *st;
    struct tocsin_mhist_conf conf;
    struct series *series;
    size_t nseries, cap;
    struct tocsin_hashidx ix;
    struct pending *ring; /* conf.max_pending slots */
    size_t head, npending;
    struct tocsin_mhist_stats stats;
    struct tocsin_log_limit drop_limit;
};

static const char *series_key(const void *ud, uint32_t pos)
{
    const struct tocsin_mhist *h = ud;

    return h->series[pos].key;
}

struct tocsin_mhist *tocsin_mhist_new(struct tocsin_store *st,
                                      const struct tocsin_mhist_conf *conf)
{
    struct tocsin_mhist *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->st = st;
    h->conf = *conf;
    if (!h->conf.max_pending)
        h->conf.max_pending = DEFAULT_MAX_PENDING;
    if (!h->conf.max_write)
        h->conf.max_write = DEFAULT_MAX_WRITE;
    if (!h->conf.prune_series)
        h->conf.prune_series = DEFAULT_PRUNE_SERIES;
    h->ring = calloc(h->conf.max_pending, sizeof(*h->ring));
    if (!h->ring) {
        free(h);
        return NULL;
    }
    h->drop_limit = (struct tocsin_log_limit)TOCSIN_LOG_LIMIT_INIT(60);
    tocsin_hashidx_init(&h->ix, series_key, h);
    return h;
}

void tocsin_mhist_set_retention(struct tocsin_mhist *h, int64_t detail_s, int64_t keep_s)
{
    h->conf.detail_s = detail_s;
    h->conf.keep_s = keep_s;
}

void tocsin_mhist_free(struct tocsin_mhist *h)
{
    size_t i;

    if (!h)
        return;
    for (i = 0; i < h->nseries; i++)
        free(h->series[i].key);
    free(h->series);
    free(h->ring);
    tocsin_hashidx_free(&h->ix);
    free(h);
}

/* The series (service, label), added when new; -1 when memory runs out. */
static long series_find(struct tocsin_mhist *h, const char *service, const char *label)
{
    size_t slen = strlen(service), llen = strlen(label);
    struct series *s;
    char *key;
    long pos;

    key = malloc(slen + 1 + llen + 1 + slen + 1);
    if (!key)
        return -1;
    memcpy(key, service, slen);
    key[slen] = '\x1f';
    memcpy(key + slen + 1, label, llen + 1);
    pos = tocsin_hashidx_find(&h->ix, key);
    if (pos >= 0) {
        free(key);
        return pos;
    }
    memcpy(key + slen + 1 + llen + 1, service, slen + 1);
    if (h->nseries == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        struct series *grown = realloc(h->series, cap * sizeof(*grown));

        if (!grown) {
            free(key);
            return -1;
        }
        h->series = grown;
        h->cap = cap;
    }
    s = &h->series[h->nseries];
    memset(s, 0, sizeof(*s));
    s->key = key;
    s->label = key + slen + 1;
    s->service = key + slen + 1 + llen + 1;
    s->minute = -1;
    s->hour = -1;
    if (tocsin_hashidx_add(&h->ix, key, (uint32_t)h->nseries) < 0) {
        free(key);
        return -1;
    }
    h->stats.series = ++h->nseries;
    return (long)(h->nseries - 1);
}

/* Queue p; when the queue is full p is dropped, counted, and logged at
 * most once a minute. */
static void queue(struct tocsin_mhist *h, const struct pending *p)
{
    if (h->npending == h->conf.max_pending) {
        h->stats.dropped++;
        tocsin_log_limited(&h->drop_limit, TOCSIN_LOG_WARNING,
                           "metric history: %zu minutes wait for the store, which "
                           "fails; dropping the newest (%llu dropped so far)",
                           h->npending, (unsigned long long)h->stats.dropped);
        return;
    }
    h->ring[(h->head + h->npending) % h->conf.max_pending] = *p;
    h->npending++;
}

static void queue_rollup(struct tocsin_mhist *h, uint32_t pos, int64_t hour)
{
    struct pending p;

    memset(&p, 0, sizeof(p));
    p.series = pos;
    p.rollup = 1;
    p.row.t = hour;
    queue(h, &p);
}

/* Queue the open minute of series pos, and the rollup of the hour before
 * when this minute starts a new one. */
static void close_minute(struct tocsin_mhist *h, uint32_t pos)
{
    struct series *s = &h->series[pos];
    int64_t hour = s->minute - s->minute % 3600;
    struct pending p;

    p.series = pos;
    p.rollup = 0;
    p.row.t = s->minute;
    p.row.min = s->min;
    p.row.max = s->max;
    p.row.avg = s->sum / (double)s->count;
    p.row.last = s->last;
    p.row.count = s->count;
    queue(h, &p);
    if (s->hour >= 0 && s->hour != hour)
        queue_rollup(h, pos, s->hour);
    s->hour = hour;
    s->minute = -1;
}

int tocsin_mhist_add(struct tocsin_mhist *h, const char *service, const char *label,
                     double v, int64_t now_s)
{
    int64_t minute = now_s - now_s % 60;
    struct series *s;
    long pos;

    if (!isfinite(v))
        return 0;
    pos = series_find(h, service, label);
    if (pos < 0)
        return -1;
    s = &h->series[pos];
    if (s->minute >= 0 && s->minute != minute)
        close_minute(h, (uint32_t)pos);
    if (s->minute < 0) {
        s->minute = minute;
        s->min = s->max = s->sum = s->last = v;
        s->count = 1;
        return 0;
    }
    if (v < s->min)
        s->min = v;
    if (v > s->max)
        s->max = v;
    s->sum += v;
    s->last = v;
    s->count++;
    return 0;
}

/* Close what now_s has closed (everything when `all`). O(series). */
static void close_due(struct tocsin_mhist *h, int64_t now_s, int all)
{
    int64_t minute = now_s - now_s % 60, hour = now_s - now_s % 3600;
    size_t i;

    for (i = 0; i < h->nseries; i++) {
        struct series *s = &h->series[i];

        if (s->minute >= 0 && (all || s->minute < minute))
            close_minute(h, (uint32_t)i);
        if (s->hour >= 0 && (all || s->hour < hour)) {
            queue_rollup(h, (uint32_t)i, s->hour);
            s->hour = -1;
        }
    }
}

int tocsin_mhist_flush(struct tocsin_mhist *h, int64_t now_s, int all)
{
    size_t n, i, minutes = 0, rollups = 0;
    int64_t pruned = 0;
    int rc = 0;

    close_due(h, now_s, all);
    n = h->npending;
    if (!all && n > h->conf.max_write)
        n = h->conf.max_write;
    if (tocsin_store_begin(h->st) < 0) {
        h->stats.failed_flushes++;
        return -1;
    }
    for (i = 0; i < n && rc == 0; i++) {
        const struct pending *p = &h->ring[(h->head + i) % h->conf.max_pending];
        const struct series *s = &h->series[p->series];

        if (p->rollup) {
            rc = tocsin_metric_rollup(h->st, s->service, s->label, p->row.t);
            rollups++;
        } else {
            rc = tocsin_metric_put_minute(h->st, s->service, s->label, &p->row);
            minutes++;
        }
    }
    if (rc == 0 && h->conf.detail_s > 0 && h->conf.keep_s > 0)
        pruned = tocsin_metric_prune(h->st, now_s - h->conf.detail_s, now_s - h->conf.keep_s,
                                     h->conf.prune_series);
    if (tocsin_store_commit(h->st) < 0 || rc < 0 || pruned < 0) {
        h->stats.failed_flushes++;
        h->stats.pending = h->npending;
        return -1;
    }
    h->head = (h->head + n) % h->conf.max_pending;
    h->npending -= n;
    h->stats.pending = h->npending;
    h->stats.written += minutes;
    h->stats.rollups += rollups;
    h->stats.pruned += (uint64_t)pruned;
    return 0;
}

void tocsin_mhist_stats(const struct tocsin_mhist *h, struct tocsin_mhist_stats *out)
{
    *out = h->stats;
    out->pending = h->npending;
}
