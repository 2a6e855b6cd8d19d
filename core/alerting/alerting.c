/*
 * alerting.c - incidents, suppression, routing, repeats, escalations and
 * the outbox. See alerting.h and docs/internals/alerting.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerting/alerting.h"
#include "lib/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "lib/nagios.h"
#include "engine/proto.h"
#include "alerting/fallback.h"
#include "alerting/priority.h"
#include "alerting/route.h"
#include "alerting/saved.h"
#include "config/timeperiod.h"

#define RESULT_SEQ 0x80000000u       /* seq bit of forwarded results */
#define FORWARD_INFLIGHT 64          /* results in flight per forwarder */
#define DISPATCH_BATCH 256           /* outbox items looked at per round */
#define GROUP_MAX 100                /* alerts in one message at most */
#define TICK_MS 1000
#define PRUNE_EVERY_MS 3600000       /* history and ended items: hourly */
#define RETRY_MIN_MS 1000            /* first retry after a failed commit */
#define RETRY_MAX_MS 30000           /* back-off doubles up to this */
#define UNSAVED_MIN 4096             /* hard changes kept unsaved at least */
#define HOLD_MS 60000                /* a replayed problem holds its service's
                                        next change until handed out, this long
                                        at most */
#define SAVE_LOG_INTERVAL_S 60       /* "cannot queue/save" at most this often */

/* An incident as it was before the open transaction changed it. */
struct undo {
    uint32_t svc;
    struct tocsin_incident inc;
};

/* A hard change the store could not take yet, kept to apply in order. */
struct unsaved_change {
    uint32_t svc;
    enum tocsin_state old, now;      /* hard state before and after */
    time_t at;
};

/* A delivery outcome the store could not record yet: its item stays in
 * flight in the store until it is. */
struct unsaved_outcome {
    int64_t id;
    int outcome;                     /* enum tocsin_delivery */
    char *reason;                    /* owned; NULL for none */
    int64_t at_ms, next_ms;
};

/* An outbox item as the fallback notifier would get it, should its
 * delivery end undelivered: a copy (owned strings and payload). */
struct fallback_src {
    int64_t id;                      /* the item */
    uint32_t from;                   /* the notifier it is for */
    int64_t created_ms, expires_ms;
    int kind, state, severity;
    char *service, *incident, *group_key;
    void *payload;
    size_t payload_len;
};

/* A message handed to a notifier's worker, waiting for its outcome. */
struct flight {
    uint32_t seq;                    /* 0 when none */
    int64_t *ids;                    /* the outbox items it carries */
    int *attempts;                   /* their attempts before this one */
    long *svcs;                      /* their services (-1: unknown) */
    int *kinds;                      /* their alert kinds */
    int *states;                     /* the states they tell of */
    char **incidents;                /* their incident keys (owned) */
    char **services;                 /* their service names (owned), for
                                        the log lines of their outcome */
    struct fallback_src *srcs;       /* their copies, for the fallback */
    size_t nids, cap;
};

/* Results waiting for a forwarder: a queue of services, each at most once. */
struct forward {
    uint32_t inflight;
    uint32_t *queue;                 /* ring of service indices */
    size_t head, count;
    unsigned char *queued;           /* per service: in the queue */
};

struct tocsin_alerting {
    const struct tocsin_config *conf;
    struct tocsin_store *store;
    const struct tocsin_svc_view *views;
    struct tocsin_alerting_hooks hooks;
    struct tocsin_incident *inc;     /* per service */
    struct flight *flights;          /* per notifier */
    struct forward *forwards;        /* per notifier */
    int64_t *group_release_ms;       /* per route: when the problems gathered
                                        for its current group go out */
    long defer_route;                /* the last defer_release() asked: route, */
    time_t defer_at, defer_until;    /* ... time, and answer */
    uint32_t next_seq;
    int64_t next_tick_ms;
    int64_t next_prune_ms;
    const char *output_instead;      /* while set: the output of the alerts
                                        built, in place of the service's last
                                        one (a resolution no result explains) */
    struct tocsin_alerting_stats stats;
    /* The open transaction: incidents to put back should it fail. */
    struct undo *undo;
    size_t nundo, undo_cap;
    uint64_t queued_at_begin, suppressed_at_begin;
    uint64_t respond_breaches_at_begin, resolve_breaches_at_begin;
    /* What the store has not taken yet, and when to try again. */
    struct unsaved_change *changes;
    size_t nchanges, changes_cap;
    struct unsaved_outcome *outcomes;
    size_t noutcomes, outcomes_cap;
    int64_t *replayed_ms;            /* per service: a change of it was
                                        applied from `changes` then */
    unsigned char *held;             /* per service, in one replay round */
    int failing;                     /* the last commit failed */
    uint64_t failures_seen;          /* the store's count at the last look */
    int64_t backoff_ms, retry_at_ms;
    struct tocsin_log_limit save_limit;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static const struct tocsin_service_conf *svc_conf(const struct tocsin_alerting *a, uint32_t svc)
{
    return &a->conf->services[svc];
}

static const char *svc_name(const struct tocsin_alerting *a, uint32_t svc)
{
    return a->conf->services[svc].inst.name;
}

static void history(struct tocsin_alerting *a, uint32_t svc, const char *kind,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Add an event to the history (when there is a store). */
static void history(struct tocsin_alerting *a, uint32_t svc, const char *kind,
                    const char *fmt, ...)
{
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    va_list ap;

    if (!a->store)
        return;
    va_start(ap, fmt);
    tocsin_buf_vprintf(&text, fmt, ap);
    va_end(ap);
    tocsin_history_add(a->store, tocsin_wall_ms(), svc_name(a, svc), kind,
                       tocsin_buf_str(&text));
    tocsin_buf_free(&text);
}

static int told_has(const struct tocsin_incident *inc, uint32_t n)
{
    size_t i;

    for (i = 0; i < inc->ntold; i++)
        if (inc->told[i] == n)
            return 1;
    return 0;
}

/* Add notifier `n` to the incident's told set (with `sent` as its sent
 * flag) unless it is there. */
static void told_add(struct tocsin_incident *inc, uint32_t n, int sent)
{
    uint32_t *t;
    unsigned char *sf;

    if (told_has(inc, n))
        return;
    t = realloc(inc->told, (inc->ntold + 1) * sizeof(*t));
    if (!t)
        return;
    inc->told = t;
    sf = realloc(inc->sent, inc->ntold + 1);
    if (!sf)
        return;
    inc->sent = sf;
    t[inc->ntold] = n;
    sf[inc->ntold] = (unsigned char)sent;
    inc->ntold++;
}

/* The notifiers of the incident that a notification of it has gone out
 * to, into out (room for ntold). Returns how many. */
static size_t told_sent(const struct tocsin_incident *inc, uint32_t *out)
{
    size_t i, n = 0;

    for (i = 0; i < inc->ntold; i++)
        if (inc->sent[i])
            out[n++] = inc->told[i];
    return n;
}

static void incident_close(struct tocsin_incident *inc)
{
    if (inc->key)
        inc->last_since = inc->problem_since;
    free(inc->key);
    free(inc->told);
    free(inc->sent);
    free(inc->ack_author);
    free(inc->ack_text);
    free(inc->assignee);
    inc->assignee = NULL;
    inc->key = NULL;
    inc->told = NULL;
    inc->sent = NULL;
    inc->ntold = 0;
    inc->pending = 0;
    inc->told_state = TOCSIN_OK;
    inc->first_told = 0;
    inc->route = -1;
    inc->next_repeat = 0;
    inc->esc_next = 0;
    inc->acked = 0;
    inc->ack_author = inc->ack_text = NULL;
    inc->priority = -1;
    inc->ack_at = 0;
    inc->respond_breaches = inc->resolve_breaches = 0;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* ------------------------------------------------------------------ */
/* Transactions: the in-memory state never runs ahead of the store     */
/* ------------------------------------------------------------------ */

/* Copy a string that may be NULL; 0, or -1 out of memory. */
static int copy_str(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return src && !*dst ? -1 : 0;
}

/* Free everything `inc` owns. */
static void incident_free(struct tocsin_incident *inc)
{
    incident_close(inc);
    free(inc->downtime_author);
    free(inc->downtime_text);
    inc->downtime_author = inc->downtime_text = NULL;
}

/* A deep copy of `src` into `dst`. Returns 0, or -1 out of memory (dst
 * then owns nothing). O(notifiers told). */
static int incident_copy(struct tocsin_incident *dst, const struct tocsin_incident *src)
{
    *dst = *src;
    dst->key = dst->ack_author = dst->ack_text = dst->assignee = NULL;
    dst->downtime_author = dst->downtime_text = NULL;
    dst->told = NULL;
    dst->sent = NULL;
    if (src->ntold) {
        dst->told = malloc(src->ntold * sizeof(*dst->told));
        dst->sent = malloc(src->ntold);
        if (!dst->told || !dst->sent)
            goto oom;
        memcpy(dst->told, src->told, src->ntold * sizeof(*dst->told));
        memcpy(dst->sent, src->sent, src->ntold);
    }
    if (copy_str(&dst->key, src->key) < 0 || copy_str(&dst->ack_author, src->ack_author) < 0 ||
        copy_str(&dst->ack_text, src->ack_text) < 0 ||
        copy_str(&dst->assignee, src->assignee) < 0 ||
        copy_str(&dst->downtime_author, src->downtime_author) < 0 ||
        copy_str(&dst->downtime_text, src->downtime_text) < 0)
        goto oom;
    return 0;
oom:
    incident_free(dst);
    return -1;
}

/* Open a transaction of the store (when there is one) for what follows. */
static void txn_begin(struct tocsin_alerting *a)
{
    if (!a->store)
        return;
    tocsin_store_begin(a->store);
    a->nundo = 0;
    a->queued_at_begin = a->stats.queued;
    a->suppressed_at_begin = a->stats.suppressed;
    a->respond_breaches_at_begin = a->stats.respond_breaches;
    a->resolve_breaches_at_begin = a->stats.resolve_breaches;
}

/*
 * Service `svc`'s incident is about to change inside the open transaction:
 * keep a copy to put back should the commit fail (once per service and
 * transaction). O(services touched) to look, O(notifiers told) to copy.
 */
static void txn_touch(struct tocsin_alerting *a, uint32_t svc)
{
    struct undo *u;
    size_t i;

    if (!a->store)
        return;
    for (i = 0; i < a->nundo; i++)
        if (a->undo[i].svc == svc)
            return;
    if (a->nundo == a->undo_cap) {
        size_t cap = a->undo_cap ? a->undo_cap * 2 : 8;

        u = realloc(a->undo, cap * sizeof(*u));
        if (!u)
            return;
        a->undo = u;
        a->undo_cap = cap;
    }
    u = &a->undo[a->nundo];
    u->svc = svc;
    if (incident_copy(&u->inc, &a->inc[svc]) == 0)
        a->nundo++;
}

/*
 * Commit the open transaction. When it fails the store has rolled back,
 * and so does memory: every incident touched goes back to its copy, the
 * counters to what they were. Returns 0 or -1.
 */
static int txn_commit(struct tocsin_alerting *a)
{
    size_t i;
    int rc;

    if (!a->store)
        return 0;
    rc = tocsin_store_commit(a->store);
    for (i = 0; i < a->nundo; i++) {
        struct tocsin_incident *inc = &a->inc[a->undo[i].svc];

        if (rc < 0) {
            incident_free(inc);
            *inc = a->undo[i].inc;
        } else {
            incident_free(&a->undo[i].inc);
        }
    }
    a->nundo = 0;
    if (rc < 0) {
        a->stats.queued = a->queued_at_begin;
        a->stats.suppressed = a->suppressed_at_begin;
        a->stats.respond_breaches = a->respond_breaches_at_begin;
        a->stats.resolve_breaches = a->resolve_breaches_at_begin;
    }
    return rc;
}

/*
 * Look at the store's health after writing: a new failure starts or
 * lengthens the back-off (RETRY_MIN_MS doubling up to RETRY_MAX_MS); a
 * store whose last commit succeeded ends it. O(1).
 */
static void settle(struct tocsin_alerting *a, int64_t now_ms)
{
    struct tocsin_store_health h;

    if (!a->store)
        return;
    tocsin_store_health(a->store, &h);
    if (h.commit_failures > a->failures_seen) {
        a->failures_seen = h.commit_failures;
        a->failing = 1;
        a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : RETRY_MIN_MS;
        if (a->backoff_ms > RETRY_MAX_MS)
            a->backoff_ms = RETRY_MAX_MS;
        a->retry_at_ms = now_ms + a->backoff_ms;
    } else if (!h.failing) {
        a->failing = 0;
        a->backoff_ms = 0;
        a->retry_at_ms = 0;
    }
}

/* 1 when the store's count of failed commits has grown past `before`. */
static int store_failed_since(const struct tocsin_alerting *a, uint64_t before)
{
    struct tocsin_store_health h;

    tocsin_store_health(a->store, &h);
    return h.commit_failures > before;
}

static uint64_t store_failures(const struct tocsin_alerting *a)
{
    struct tocsin_store_health h;

    tocsin_store_health(a->store, &h);
    return h.commit_failures;
}

/* ------------------------------------------------------------------ */
/* Persistence of incidents, acknowledgements and downtimes            */
/* ------------------------------------------------------------------ */

/*
 * Write the incident row of `svc`'s open incident (alerting/store.h): its
 * state, severity, acknowledgement and the first line of the output. One
 * store write, O(log incidents).
 */
static void incident_row_put(struct tocsin_alerting *a, uint32_t svc)
{
    const struct tocsin_incident *inc = &a->inc[svc];
    const struct tocsin_service_conf *s = svc_conf(a, svc);
    const char *out = a->views[svc].output ? a->views[svc].output : "";
    struct tocsin_incident_row r;
    char *line;

    if (!a->store || !inc->key)
        return;
    line = strndup(out, strcspn(out, "\n"));
    memset(&r, 0, sizeof(r));
    r.key = inc->key;
    r.service = s->inst.name;
    r.host = s->host;
    r.state = inc->state;
    r.severity = tocsin_route_severity(s, inc->state);
    r.start_ms = (int64_t)inc->problem_since * 1000;
    r.acked = inc->acked;
    r.ack_by = inc->ack_author;
    r.ack_text = inc->ack_text;
    r.ack_ms = tocsin_wall_ms();
    r.output = line ? line : "";
    if (tocsin_incident_put(a->store, &r) < 0)
        tocsin_log_limited(&a->save_limit, TOCSIN_LOG_ERROR,
                           "service '%s': cannot save incident %s", s->inst.name, inc->key);
    free(line);
}

/* Mark the incident row of `svc`'s open incident closed, now; called just
 * before the incident is closed in memory. */
static void incident_row_end(struct tocsin_alerting *a, uint32_t svc)
{
    if (a->store && a->inc[svc].key &&
        tocsin_incident_end(a->store, a->inc[svc].key, tocsin_wall_ms()) < 0)
        tocsin_log_limited(&a->save_limit, TOCSIN_LOG_ERROR,
                           "service '%s': cannot close incident %s", svc_name(a, svc),
                           a->inc[svc].key);
}

/*
 * Save the alerting state of `svc` (or delete it when there is none), in
 * the incident format of alerting/saved.h; the notifiers told are saved
 * by name. One store write, O(notifiers told).
 */
static void persist(struct tocsin_alerting *a, uint32_t svc)
{
    const struct tocsin_incident *inc = &a->inc[svc];
    struct tocsin_buf blob = TOCSIN_BUF_INIT;
    struct tocsin_saved_incident si;
    const char **told = NULL;
    size_t i;
    int rc = -1;

    if (!a->store)
        return;
    incident_row_put(a, svc);
    if (!inc->key && !inc->downtime_until) {
        tocsin_state_delete(a->store, TOCSIN_SAVED_STATE_INCIDENT, svc_name(a, svc));
        return;
    }
    if (inc->ntold && !(told = calloc(inc->ntold, sizeof(*told))))
        goto out;
    for (i = 0; i < inc->ntold; i++)
        told[i] = a->conf->notifiers[inc->told[i]].inst.name;
    memset(&si, 0, sizeof(si));
    si.problem_since = inc->problem_since;
    si.next_repeat = inc->next_repeat;
    si.downtime_until = inc->downtime_until;
    si.state = inc->state;
    si.route = (int32_t)inc->route;
    si.pending = inc->pending;
    si.acked = inc->acked;
    si.esc_next = (uint32_t)inc->esc_next;
    si.key = inc->key ? inc->key : "";
    si.told = told;
    si.ntold = inc->ntold;
    si.ack_author = inc->ack_author;
    si.ack_text = inc->ack_text;
    si.downtime_author = inc->downtime_author;
    si.downtime_text = inc->downtime_text;
    si.ack_at = inc->ack_at;
    si.respond_breaches = inc->respond_breaches;
    si.resolve_breaches = inc->resolve_breaches;
    si.assignee = inc->assignee;
    if (tocsin_saved_incident_encode(&blob, &si) == 0)
        rc = tocsin_state_put(a->store, TOCSIN_SAVED_STATE_INCIDENT, svc_name(a, svc),
                              blob.data, blob.len);
out:
    if (rc < 0)
        tocsin_log_limited(&a->save_limit, TOCSIN_LOG_ERROR,
                           "service '%s': cannot save its alerting state", svc_name(a, svc));
    free(told);
    tocsin_buf_free(&blob);
}

struct restore_ctx {
    struct tocsin_alerting *a;
    long restored;
};

/*
 * One saved alerting state: taken when its service still exists. A blob
 * that cannot be read is skipped (the decoder has said why); notifiers
 * and routes that are gone since are dropped. O(notifiers told).
 */
static int restore_one(void *ud, const char *name, const void *blob, size_t len)
{
    struct restore_ctx *rc = ud;
    struct tocsin_alerting *a = rc->a;
    struct tocsin_incident *inc;
    struct tocsin_saved_incident si;
    struct tocsin_buf what = TOCSIN_BUF_INIT;
    long svc = tocsin_config_find_service(a->conf, name);
    size_t i;
    int unreadable;

    if (svc < 0)
        return 0;
    tocsin_buf_printf(&what, "alerting state of service '%s'", name);
    unreadable = tocsin_saved_incident_decode(blob, len, tocsin_buf_str(&what), &si) < 0;
    tocsin_buf_free(&what);
    if (unreadable)
        return 0;
    inc = &a->inc[svc];
    incident_close(inc);
    if (*si.key) {
        inc->key = strdup(si.key);
        inc->problem_since = (time_t)si.problem_since;
        inc->state = (enum tocsin_state)si.state;
        inc->route = si.route >= 0 && (size_t)si.route < a->conf->nroutes ? si.route : -1;
        inc->pending = si.pending;
        inc->acked = si.acked;
        inc->next_repeat = (time_t)si.next_repeat;
        inc->esc_next = si.esc_next;
        /* What was told, and when first, is not kept: a problem no longer
         * pending counts as told at its start. */
        inc->told_state = si.pending ? TOCSIN_OK : inc->state;
        inc->first_told = si.pending ? 0 : inc->problem_since;
        inc->priority = tocsin_priority_of(a->conf, svc_conf(a, (uint32_t)svc),
                                           tocsin_route_severity(svc_conf(a, (uint32_t)svc),
                                                                 inc->state));
        inc->ack_at = si.acked ? (time_t)si.ack_at : 0;
        inc->respond_breaches = si.respond_breaches;
        inc->resolve_breaches = si.resolve_breaches;
    }
    for (i = 0; i < si.ntold; i++) {
        long k = tocsin_config_find_notifier(a->conf, si.told[i]);

        if (k >= 0)
            /* Whether it went out is not kept: count it as told. */
            told_add(inc, (uint32_t)k, TOCSIN_SENT_SETTLED);
    }
    inc->ack_author = strdup(si.ack_author);
    inc->ack_text = strdup(si.ack_text);
    inc->assignee = dup_or_null(si.assignee);
    inc->downtime_author = strdup(si.downtime_author);
    inc->downtime_text = strdup(si.downtime_text);
    inc->downtime_until = (time_t)si.downtime_until;
    tocsin_saved_incident_free(&si);
    rc->restored++;
    return 0;
}

/*
 * The notifiers told of a restored incident count as reached, except one
 * whose problem is still waiting in the outbox, never handed out (for its
 * defer period or its group): that one is reached only when the problem
 * goes out, so that a recovery before then tells it nothing, as it would
 * have without the restart. One store probe per notifier told.
 */
static void restore_unsent(struct tocsin_alerting *a, int64_t now_ms)
{
    size_t i, k;

    for (i = 0; i < a->conf->nservices; i++) {
        struct tocsin_incident *inc = &a->inc[i];

        for (k = 0; inc->key && k < inc->ntold; k++)
            if (tocsin_outbox_unsent_kind(a->store, a->conf->notifiers[inc->told[k]].inst.name,
                                          svc_name(a, (uint32_t)i), inc->key,
                                          TOCSIN_ALERT_PROBLEM, now_ms) == 1)
                inc->sent[k] = TOCSIN_SENT_NONE;
    }
}

long tocsin_alerting_restore(struct tocsin_alerting *a)
{
    struct restore_ctx rc = {a, 0};
    size_t i;

    if (!a->store)
        return 0;
    tocsin_state_each(a->store, TOCSIN_SAVED_STATE_INCIDENT, restore_one, &rc);
    restore_unsent(a, tocsin_wall_ms());
    /* A store upgraded from schema 2 has no row yet for what was open. */
    for (i = 0; i < a->conf->nservices; i++)
        incident_row_put(a, (uint32_t)i);
    return rc.restored;
}

/* ------------------------------------------------------------------ */
/* Building alerts                                                     */
/* ------------------------------------------------------------------ */

/* Encode the alert about `svc` into `out`: in the saved alert format of
 * alerting/saved.h when `saved` (for the outbox), else in the worker's
 * (engine/proto.h, to hand over at once). */
static int encode_alert(struct tocsin_alerting *a, uint32_t svc, enum tocsin_alert_kind kind,
                        enum tocsin_severity severity, enum tocsin_state state,
                        enum tocsin_state previous, const char *route, const char *reason,
                        time_t now, int saved, int64_t deferred_until, struct tocsin_buf *out)
{
    const struct tocsin_service_conf *s = svc_conf(a, svc);
    const struct tocsin_svc_view *v = &a->views[svc];
    const struct tocsin_incident *inc = &a->inc[svc];
    struct tocsin_output o;
    struct tocsin_buf perf = TOCSIN_BUF_INIT;
    struct tocsin_alert al;
    const char *text = a->output_instead ? a->output_instead : v->output ? v->output : "";
    size_t i;
    int rc;

    if (tocsin_output_parse(text, strlen(text), &o) < 0)
        return -1;
    for (i = 0; i < o.nperf; i++) {
        if (i)
            tocsin_buf_putc(&perf, ' ');
        tocsin_perf_format(&o.perf[i], &perf);
    }
    memset(&al, 0, sizeof(al));
    al.service = s->inst.name;
    al.host = s->host;
    al.state = state;
    al.previous = previous;
    al.attempt = v->attempt;
    al.max_attempts = s->max_attempts;
    al.output = o.first_line ? o.first_line : "";
    al.long_output = o.long_output ? o.long_output : "";
    al.perfdata = tocsin_buf_str(&perf);
    al.since = v->last_change ? v->last_change : now;
    al.flapping = v->flapping;
    al.labels = s->labels;
    al.nlabels = s->nlabels;
    al.kind = kind;
    al.severity = severity;
    al.hard = kind == TOCSIN_ALERT_RESULT ? v->is_hard : 1;
    al.problem_since = inc->key ? inc->problem_since : al.since;
    al.at = kind == TOCSIN_ALERT_RESULT && v->last_check ? v->last_check : now;
    al.incident = inc->key ? inc->key : "";
    al.group_key = route ? route : "";
    al.route = route ? route : "";
    al.link = s->link ? s->link : "";
    al.reason = reason ? reason : "";
    if (inc->key && kind != TOCSIN_ALERT_RESULT && inc->priority >= 0) {
        al.priority = tocsin_priority_name(a->conf, inc->priority);
        al.priority_rank = (int)inc->priority + 1;
    } else {
        al.priority = "";
    }
    al.assignee = inc->key && inc->assignee ? inc->assignee : "";
    rc = saved ? tocsin_saved_alert_encode(out, &al, deferred_until)
               : tocsin_alert_encode(out, &al);
    tocsin_buf_free(&perf);
    tocsin_output_free(&o);
    return rc;
}

/*
 * When a problem routed by `r` at now_ms may go out. The first problem
 * of a route opens a group that is released group_wait later; every
 * problem of that route until then joins it, due at the same instant, so
 * that dispatch finds them together and sends each notifier one message.
 */
static int64_t group_release(struct tocsin_alerting *a, const struct tocsin_route_conf *r,
                             int64_t now_ms)
{
    int64_t *release = &a->group_release_ms[r - a->conf->routes];

    if (r->group_wait_ms <= 0)
        return now_ms;
    if (*release <= now_ms)
        *release = now_ms + r->group_wait_ms;
    return *release;
}

/*
 * When a notification of `kind` that route `r` takes at `now` may go out
 * for the route's `defer`: 0 at once, else when its defer period next
 * opens. Problems, repeats and escalations wait; recoveries,
 * acknowledgements and flapping notices do not (they follow what was
 * told, by the ordering rules of dispatch). A period that does not open
 * within TOCSIN_DEFER_HORIZON_DAYS defers nothing (warned). Every
 * notifier of a route asks in turn, so the last answer is kept.
 */
static time_t defer_release(struct tocsin_alerting *a, const struct tocsin_route_conf *r,
                            enum tocsin_alert_kind kind, time_t now)
{
    long route;

    if (!r || !a->store || r->defer_index < 0 ||
        (kind != TOCSIN_ALERT_PROBLEM && kind != TOCSIN_ALERT_REPEAT &&
         kind != TOCSIN_ALERT_ESCALATION))
        return 0;
    route = (long)(r - a->conf->routes);
    if (a->defer_route != route + 1 || a->defer_at != now) {
        a->defer_route = route + 1;
        a->defer_at = now;
        a->defer_until = tocsin_route_defer_until(a->conf, r, now);
        if (a->defer_until < 0)
            tocsin_warn("route '%s': its defer period '%s' does not open within %d days: "
                        "not deferred", r->name, r->defer, TOCSIN_DEFER_HORIZON_DAYS);
    }
    return a->defer_until > 0 ? a->defer_until : 0;
}

/*
 * Item `it`, about to be queued for `nc`, waits until `until` for its
 * route's defer period: not handed out before, and its expiry counted
 * from then, not from now. Noted in the history.
 */
static void defer_item(struct tocsin_alerting *a, uint32_t svc, struct tocsin_outbox_item *it,
                       const struct tocsin_notifier_conf *nc,
                       const struct tocsin_route_conf *r, time_t until)
{
    char when[64];

    if ((int64_t)until * 1000 > it->next_attempt_ms)
        it->next_attempt_ms = (int64_t)until * 1000;
    it->expires_ms = it->next_attempt_ms + nc->expire_ms;
    history(a, svc, "deferred", "%s %s to %s deferred until %s, when '%s' opens",
            tocsin_alert_kind_name(it->kind), tocsin_state_name(it->state), nc->inst.name,
            tocsin_local_minute(until, when, sizeof(when)), r->defer);
}

/*
 * Write one notification for notifier `n` to the outbox. Returns 0 or -1.
 */
static int queue_one(struct tocsin_alerting *a, uint32_t svc, uint32_t n,
                     enum tocsin_alert_kind kind, enum tocsin_severity severity,
                     enum tocsin_state state, enum tocsin_state previous,
                     const struct tocsin_route_conf *r, const char *reason, time_t now)
{
    const struct tocsin_notifier_conf *nc = &a->conf->notifiers[n];
    struct tocsin_buf payload = TOCSIN_BUF_INIT;
    struct tocsin_outbox_item it;
    int64_t now_ms = tocsin_wall_ms(), id = 0;
    time_t until = defer_release(a, r, kind, now);
    int rc = -1;

    if (encode_alert(a, svc, kind, severity, state, previous, r ? r->name : "", reason,
                     now, a->store != NULL, (int64_t)until, &payload) < 0)
        goto out;
    if (!a->store) {
        /* No durable outbox: hand it over at once, at most once. */
        rc = a->hooks.send(a->hooks.ud, n, ++a->next_seq & ~RESULT_SEQ, payload.data,
                           payload.len, 1);
        goto out;
    }
    memset(&it, 0, sizeof(it));
    it.notifier = nc->inst.name;
    it.service = svc_name(a, svc);
    it.incident = a->inc[svc].key ? a->inc[svc].key : "";
    it.group_key = r ? r->name : "";
    it.kind = kind;
    it.state = state;
    it.severity = severity;
    it.created_ms = now_ms;
    it.expires_ms = now_ms + nc->expire_ms;
    it.next_attempt_ms = r && kind == TOCSIN_ALERT_PROBLEM ? group_release(a, r, now_ms)
                                                           : now_ms;
    it.payload = payload.data;
    it.payload_len = payload.len;
    if (until)
        defer_item(a, svc, &it, nc, r, until);
    rc = tocsin_outbox_add(a->store, &it, &id);
    if (rc == 0) {
        a->stats.queued++;
        history(a, svc, "queued", "%s %s to %s", tocsin_alert_kind_name(kind),
                tocsin_state_name(state), nc->inst.name);
    }
out:
    if (rc < 0)
        tocsin_log_limited(&a->save_limit, TOCSIN_LOG_ERROR,
                           "service '%s': cannot queue a notification for '%s'",
                           svc_name(a, svc), nc->inst.name);
    tocsin_buf_free(&payload);
    return rc;
}

/*
 * Queue an alert for every notifier in `list`. A notifier that is not
 * enabled is replaced by the fallback notifier, told once with the names
 * of those it stands in for, so that nothing routed is silently dropped.
 * Each notifier of `list` joins the incident's told set when `tell`.
 */
static void queue_all(struct tocsin_alerting *a, uint32_t svc, const uint32_t *list, size_t n,
                      enum tocsin_alert_kind kind, enum tocsin_severity severity,
                      enum tocsin_state state, enum tocsin_state previous,
                      const struct tocsin_route_conf *r, const char *reason, int tell,
                      time_t now)
{
    struct tocsin_buf disabled = TOCSIN_BUF_INIT, why = TOCSIN_BUF_INIT;
    long fb = a->conf->fallback_notifier;
    int fallback_listed = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        const struct tocsin_notifier_conf *nc = &a->conf->notifiers[list[i]];

        /* A disabled notifier counts as sent: the fallback stands in. */
        if (tell)
            told_add(&a->inc[svc], list[i], nc->enabled ? TOCSIN_SENT_NONE
                                                        : TOCSIN_SENT_SETTLED);
        if ((long)list[i] == fb && nc->enabled)
            fallback_listed = 1;
        if (!nc->enabled) {
            tocsin_buf_printf(&disabled, "%s%s", disabled.len ? ", " : "", nc->inst.name);
            continue;
        }
        queue_one(a, svc, list[i], kind, severity, state, previous, r, reason, now);
    }
    if (disabled.len && fb >= 0 && !fallback_listed && a->conf->notifiers[fb].enabled) {
        tocsin_buf_printf(&why, "%s%sfor disabled notifiers: %s", reason ? reason : "",
                          reason && *reason ? "; " : "", tocsin_buf_str(&disabled));
        queue_one(a, svc, (uint32_t)fb, kind, severity, state, previous, r,
                  tocsin_buf_str(&why), now);
    } else if (disabled.len && (fb < 0 || !a->conf->notifiers[fb].enabled)) {
        tocsin_warn("service '%s': notifiers %s are not enabled and there is no fallback "
                    "notifier: this %s is not sent to them", svc_name(a, svc),
                    tocsin_buf_str(&disabled), tocsin_alert_kind_name(kind));
    }
    tocsin_buf_free(&disabled);
    tocsin_buf_free(&why);
}

/* ------------------------------------------------------------------ */
/* Suppression and routing                                             */
/* ------------------------------------------------------------------ */

/* 1 (with why) when `svc` is in a downtime, given or scheduled, at `now`. */
static int in_downtime(const struct tocsin_alerting *a, uint32_t svc, time_t now,
                       struct tocsin_buf *why)
{
    const struct tocsin_service_conf *s = svc_conf(a, svc);

    if (a->inc[svc].downtime_until > now) {
        tocsin_buf_puts(why, "the service is in downtime");
        return 1;
    }
    if (s->downtime_period_index >= 0 &&
        tocsin_timeperiod_contains(a->conf->periods, a->conf->nperiods,
                                   (size_t)s->downtime_period_index, now)) {
        tocsin_buf_printf(why, "the service is in its scheduled downtime '%s'",
                          s->downtime_period);
        return 1;
    }
    return 0;
}

/* As tocsin_alerting_suppressed, flapping counted only when `flapping`. */
static int suppression(const struct tocsin_alerting *a, uint32_t svc, time_t now,
                       struct tocsin_buf *why, int flapping)
{
    const struct tocsin_service_conf *s = svc_conf(a, svc);
    const struct tocsin_incident *inc = &a->inc[svc];
    size_t i;

    if (flapping && a->views[svc].flapping) {
        tocsin_buf_puts(why, "the service is flapping");
        return 1;
    }
    if (in_downtime(a, svc, now, why))
        return 1;
    if (inc->acked) {
        tocsin_buf_printf(why, "the problem is acknowledged by %s",
                          inc->ack_author ? inc->ack_author : "someone");
        return 1;
    }
    for (i = 0; i < s->ndepends; i++) {
        const struct tocsin_svc_view *pv = &a->views[s->parents[i]];

        if (pv->checked && pv->hard_state != TOCSIN_OK) {
            tocsin_buf_printf(why, "it depends on '%s', which is %s",
                              svc_name(a, s->parents[i]), tocsin_state_name(pv->hard_state));
            return 1;
        }
    }
    return 0;
}

int tocsin_alerting_suppressed(const struct tocsin_alerting *a, uint32_t svc, time_t now,
                               struct tocsin_buf *why)
{
    return suppression(a, svc, now, why, 1);
}

/* 1 when hard state `state` of `svc` is worse than `told`, the state last
 * told (OK: nothing told yet), by the severities the service gives them. */
static int worse_than_told(const struct tocsin_alerting *a, uint32_t svc,
                           enum tocsin_state state, enum tocsin_state told)
{
    const struct tocsin_service_conf *s = svc_conf(a, svc);

    if (state == TOCSIN_OK)
        return 0;
    return told == TOCSIN_OK || tocsin_route_severity(s, state) > tocsin_route_severity(s, told);
}

/* Every enabled notifier that is not a pure forwarder: where alerts go
 * when no route is configured at all. */
static size_t all_notifiers(const struct tocsin_alerting *a, uint32_t *out)
{
    size_t i, n = 0;

    for (i = 0; i < a->conf->nnotifiers; i++)
        if (a->conf->notifiers[i].enabled && !a->conf->notifiers[i].forwards_results)
            out[n++] = (uint32_t)i;
    return n;
}

/*
 * Route an alert of `kind` and `sev` about `svc` and queue it: to every
 * notifier without routes, to the fallback when no route takes it, else to
 * the routes' choice. Each notifier queued joins the incident's told set
 * when `tell`. Returns the first route that matched, -1 for none, or -2
 * when memory ran out (nothing queued). O(routes x labels).
 */
static long route_and_queue(struct tocsin_alerting *a, uint32_t svc, enum tocsin_alert_kind kind,
                            enum tocsin_severity sev, enum tocsin_state state,
                            enum tocsin_state previous, const char *reason, int tell,
                            time_t now)
{
    const struct tocsin_service_conf *s = svc_conf(a, svc);
    struct tocsin_route_choice choice;
    const struct tocsin_route_conf *r;
    long first;

    if (a->conf->nroutes == 0) {
        uint32_t *list = calloc(a->conf->nnotifiers + 1, sizeof(*list));
        size_t n;

        if (!list)
            return -2;
        n = all_notifiers(a, list);
        queue_all(a, svc, list, n, kind, sev, state, previous, NULL, reason, tell, now);
        free(list);
        return -1;
    }
    if (tocsin_route_select(a->conf, svc, sev, now, &choice) < 0)
        return -2;
    if (choice.first_route < 0) {
        long fb = a->conf->fallback_notifier;

        tocsin_warn("service '%s': no route takes a %s alert; sending it to the fallback "
                    "notifier", s->inst.name, tocsin_severity_name(sev));
        if (fb >= 0) {
            uint32_t one = (uint32_t)fb;

            queue_all(a, svc, &one, 1, kind, sev, state, previous, NULL,
                      reason && *reason ? reason : "no route matched", tell, now);
        }
        tocsin_route_choice_free(&choice);
        return -1;
    }
    first = choice.first_route;
    r = &a->conf->routes[first];
    if (!choice.count)
        tocsin_info("service '%s': route '%s' names no notifier %s its period", s->inst.name,
                    r->name, tocsin_route_inside(a->conf, r, now) ? "inside" : "outside");
    queue_all(a, svc, choice.notifiers, choice.count, kind, sev, state, previous, r, reason,
              tell, now);
    tocsin_route_choice_free(&choice);
    return first;
}

/*
 * A problem or repeat of `svc` that route `r` took at `now` waits for the
 * route's defer period: its receivers are told when that opens, so the
 * next repeat and the escalation steps count from then (repeats do not
 * pile up while the period is closed, steps do not all come due at once).
 */
static void defer_timers(struct tocsin_alerting *a, uint32_t svc,
                         const struct tocsin_route_conf *r, enum tocsin_alert_kind kind,
                         time_t now)
{
    struct tocsin_incident *inc = &a->inc[svc];
    time_t until = defer_release(a, r, kind, now);

    if (!until)
        return;
    if (inc->first_told == now)
        inc->first_told = until;
    if (r->repeat_interval_ms > 0)
        inc->next_repeat = until + (time_t)((r->repeat_interval_ms + 999) / 1000);
}

/*
 * Tell the incident's problem now, unless something suppresses it (then
 * it stays pending and the tick tries again). `kind` is PROBLEM or REPEAT.
 * Flapping holds a problem back only while it is no worse than the state
 * last told: a worse one is told at once, one already told is not pending.
 */
static void tell_problem(struct tocsin_alerting *a, uint32_t svc, enum tocsin_alert_kind kind,
                         enum tocsin_state previous, const char *reason, time_t now)
{
    const struct tocsin_service_conf *s = svc_conf(a, svc);
    struct tocsin_incident *inc = &a->inc[svc];
    enum tocsin_severity sev = tocsin_route_severity(s, inc->state);
    struct tocsin_buf why = TOCSIN_BUF_INIT, worse = TOCSIN_BUF_INIT;
    long first;

    if (tocsin_alerting_suppressed(a, svc, now, &why)) {
        int flapping_only = !suppression(a, svc, now, &worse, 0);

        tocsin_buf_reset(&worse);
        if (flapping_only && kind == TOCSIN_ALERT_PROBLEM &&
            worse_than_told(a, svc, inc->state, inc->told_state)) {
            tocsin_buf_printf(&worse, "%s%s%s while flapping", reason ? reason : "",
                              reason && *reason ? "; " : "",
                              inc->told_state == TOCSIN_OK ? "told" : "worse than told");
            tocsin_info("service '%s': %s told although the service is flapping: %s",
                        s->inst.name, tocsin_state_name(inc->state),
                        inc->told_state == TOCSIN_OK ? "nothing of this incident was told yet"
                        : "it is worse than the state told last");
            reason = tocsin_buf_str(&worse);
            goto tell;
        }
        if (flapping_only && kind == TOCSIN_ALERT_PROBLEM && inc->state == inc->told_state) {
            tocsin_info("service '%s': %s not sent again: the service is flapping and its "
                        "receivers were told %s last", s->inst.name,
                        tocsin_state_name(inc->state), tocsin_state_name(inc->told_state));
            history(a, svc, "suppressed", "%s %s not sent again: the service is flapping",
                    tocsin_alert_kind_name(kind), tocsin_state_name(inc->state));
            a->stats.suppressed++;
            inc->pending = 0;
            tocsin_buf_free(&why);
            tocsin_buf_free(&worse);
            return;
        }
        if (!inc->pending || kind == TOCSIN_ALERT_PROBLEM) {
            tocsin_info("service '%s': %s not sent: %s", s->inst.name,
                        tocsin_alert_kind_name(kind), tocsin_buf_str(&why));
            history(a, svc, "suppressed", "%s %s not sent: %s", tocsin_alert_kind_name(kind),
                    tocsin_state_name(inc->state), tocsin_buf_str(&why));
            a->stats.suppressed++;
        }
        if (kind == TOCSIN_ALERT_PROBLEM)
            inc->pending = 1;
        tocsin_buf_free(&why);
        tocsin_buf_free(&worse);
        return;
    }
tell:
    tocsin_buf_free(&why);
    first = route_and_queue(a, svc, kind, sev, inc->state, previous, reason, 1, now);
    tocsin_buf_free(&worse);
    if (first == -2)
        return;
    inc->told_state = inc->state;
    if (!inc->first_told)
        inc->first_told = now;
    if (first >= 0) {
        const struct tocsin_route_conf *r = &a->conf->routes[first];

        if (kind == TOCSIN_ALERT_PROBLEM && inc->route < 0) {
            inc->route = first;
            inc->esc_next = 0;
        }
        if (r->repeat_interval_ms > 0)
            inc->next_repeat = now + (time_t)((r->repeat_interval_ms + 999) / 1000);
        defer_timers(a, svc, r, kind, now);
    }
    inc->pending = 0;
}

/*
 * Queue the recovery of the incident of `svc` for every notifier a
 * notification of it has gone out to. One whose problem is still waiting
 * in the outbox (for its group, or for a retry) gets nothing: that
 * problem is not sent either (see stale()), so it hears neither.
 */
static void queue_recovery(struct tocsin_alerting *a, uint32_t svc, enum tocsin_state previous,
                           const char *reason, time_t now)
{
    struct tocsin_incident *inc = &a->inc[svc];
    uint32_t *list = inc->ntold ? calloc(inc->ntold, sizeof(*list)) : NULL;
    size_t n = list ? told_sent(inc, list) : 0, i, kept = 0;
    struct tocsin_buf quiet = TOCSIN_BUF_INIT;

    for (i = 0; i < n; i++) {
        const struct tocsin_notifier_conf *nc = &a->conf->notifiers[list[i]];

        if (nc->send_resolved)
            list[kept++] = list[i];
        else
            tocsin_buf_printf(&quiet, "%s%s", quiet.len ? ", " : "", nc->inst.name);
    }
    if (quiet.len) {
        tocsin_info("service '%s': recovery not sent to %s (send_resolved = false)",
                    svc_name(a, svc), tocsin_buf_str(&quiet));
        history(a, svc, "suppressed", "recovery not sent to %s (send_resolved = false)",
                tocsin_buf_str(&quiet));
    }
    tocsin_buf_free(&quiet);
    if (kept)
        queue_all(a, svc, list, kept, TOCSIN_ALERT_RECOVERY,
                  tocsin_route_severity(svc_conf(a, svc), TOCSIN_OK), TOCSIN_OK, previous,
                  inc->route >= 0 ? &a->conf->routes[inc->route] : NULL, reason, 0, now);
    else if (!n && inc->ntold)
        tocsin_info("service '%s': recovered before its problem went out, so neither is "
                    "sent", svc_name(a, svc));
    else if (!n)
        tocsin_info("service '%s': recovered; nobody was told of the problem, so no "
                    "recovery is sent", svc_name(a, svc));
    free(list);
}

/*
 * Give the incident of `svc` the priority its problem state calls for
 * now, and say so in the history when it is new or changed. O(rules x
 * labels).
 */
static void judge_priority(struct tocsin_alerting *a, uint32_t svc)
{
    const struct tocsin_service_conf *s = svc_conf(a, svc);
    struct tocsin_incident *inc = &a->inc[svc];
    long p = tocsin_priority_of(a->conf, s, tocsin_route_severity(s, inc->state));
    char respond[64] = "", resolve[64] = "";

    if (p == inc->priority || p < 0) {
        inc->priority = p;
        return;
    }
    if (a->conf->priorities[p].respond_within_ms > 0)
        tocsin_duration_format(a->conf->priorities[p].respond_within_ms / 1000, respond,
                               sizeof(respond));
    if (a->conf->priorities[p].resolve_within_ms > 0)
        tocsin_duration_format(a->conf->priorities[p].resolve_within_ms / 1000, resolve,
                               sizeof(resolve));
    history(a, svc, "priority", "%s%s%s: respond within %s, resolve within %s",
            inc->priority >= 0 ? tocsin_priority_name(a->conf, inc->priority) : "",
            inc->priority >= 0 ? " -> " : "", a->conf->priorities[p].name,
            *respond ? respond : "(no target)", *resolve ? resolve : "(no target)");
    inc->priority = p;
}

/* What an incident of `svc` closing at `now` did against its targets,
 * for the history. */
static void history_targets(struct tocsin_alerting *a, uint32_t svc, time_t now)
{
    const struct tocsin_incident *inc = &a->inc[svc];
    char open[64];

    if (inc->priority < 0)
        return;
    tocsin_priority_format_open((long long)(now - inc->problem_since), open, sizeof(open));
    history(a, svc, "priority", "%s incident %s closed after %s: response target %s, "
            "resolution target missed %u time%s",
            tocsin_priority_name(a->conf, inc->priority), inc->key, open,
            inc->respond_breaches ? "missed" : "met", inc->resolve_breaches,
            inc->resolve_breaches == 1 ? "" : "s");
}

/*
 * Apply the hard change of `svc` from `old` to `now_state` at `now` in one
 * transaction: the incident opened, kept or closed, its notifications
 * queued, its state saved. Returns 0, or -1 when the store could not
 * commit it (memory is then as it was before).
 */
static int hard_change_apply(struct tocsin_alerting *a, uint32_t svc, enum tocsin_state old,
                             enum tocsin_state now_state, time_t now)
{
    const struct tocsin_svc_view *v = &a->views[svc];
    const struct tocsin_service_conf *s = svc_conf(a, svc);
    struct tocsin_incident *inc = &a->inc[svc];
    const char *out = v->output ? v->output : "";
    const char *nl = strchr(out, '\n');

    txn_begin(a);
    txn_touch(a, svc);
    history(a, svc, "state", "%s -> %s (hard): %.*s", tocsin_state_name(old),
            tocsin_state_name(now_state), (int)(nl ? nl - out : (long)strlen(out)), out);
    if (now_state != TOCSIN_OK) {
        struct tocsin_buf key = TOCSIN_BUF_INIT;

        if (!inc->key) {
            /* A new incident never takes the key of the one before it,
             * even when that ended within the same second. */
            time_t epoch = now > inc->last_since ? now : inc->last_since + 1;

            tocsin_buf_printf(&key, "%s/%s/%lld", s->host, s->inst.name, (long long)epoch);
            inc->key = tocsin_buf_steal(&key);
            inc->problem_since = now;
            inc->route = -1;
            inc->esc_next = 0;
        }
        inc->state = now_state;
        judge_priority(a, svc);
        tell_problem(a, svc, TOCSIN_ALERT_PROBLEM, old, NULL, now);
    } else if (inc->key && inc->ntold && v->flapping) {
        /* No notification while flapping, a recovery neither: it is told
         * when the flapping stops, if the service is still OK then. */
        tocsin_info("service '%s': recovery not sent: the service is flapping", s->inst.name);
        history(a, svc, "suppressed", "recovery not sent: the service is flapping");
        a->stats.suppressed++;
        inc->state = TOCSIN_OK;
        inc->pending = 0;
    } else if (inc->key) {
        queue_recovery(a, svc, old, NULL, now);
        history_targets(a, svc, now);
        incident_row_end(a, svc);
        incident_close(inc);
    }
    persist(a, svc);
    return txn_commit(a);
}

/*
 * Keep a hard change the store has not taken, to apply in order later.
 * Beyond the bound (UNSAVED_MIN, or twice the services) the changes are
 * collapsed to the newest state of each service, and a service back where
 * alerting knows it to be is dropped: the receivers hear where each
 * service ended, not each step on the way. O(1), O(changes) to collapse.
 */
static void unsaved_change_add(struct tocsin_alerting *a, uint32_t svc, enum tocsin_state old,
                               enum tocsin_state now_state, time_t at)
{
    size_t bound = a->conf->nservices * 2 > UNSAVED_MIN ? a->conf->nservices * 2 : UNSAVED_MIN;
    struct unsaved_change *c;
    size_t i, j, n = 0;

    if (a->nchanges >= bound) {
        /* The newest of each service, holding the oldest's `old`. */
        for (i = 0; i < a->nchanges; i++) {
            for (j = 0; j < n && a->changes[j].svc != a->changes[i].svc; j++)
                ;
            if (j < n) {
                a->changes[j].now = a->changes[i].now;
                a->changes[j].at = a->changes[i].at;
            } else {
                a->changes[n++] = a->changes[i];
            }
        }
        for (i = j = 0; i < n; i++)
            if (a->changes[i].old != a->changes[i].now)
                a->changes[j++] = a->changes[i];
        tocsin_warn("alerting: %zu hard changes not saved yet; kept the newest state of "
                    "each of %zu services", a->nchanges, j);
        a->nchanges = j;
    }
    if (a->nchanges == a->changes_cap) {
        size_t cap = a->changes_cap ? a->changes_cap * 2 : 64;

        c = realloc(a->changes, cap * sizeof(*c));
        if (!c) {
            tocsin_error("service '%s': out of memory: its hard change is not told",
                         svc_name(a, svc));
            return;
        }
        a->changes = c;
        a->changes_cap = cap;
    }
    c = &a->changes[a->nchanges++];
    c->svc = svc;
    c->old = old;
    c->now = now_state;
    c->at = at;
}

/*
 * 1 while a replayed problem of `svc` has not been handed to every
 * notifier it was queued for (for HOLD_MS at most): its recovery, applied
 * now, would find it not gone out and tell neither.
 */
static int replay_held(const struct tocsin_alerting *a, uint32_t svc, int64_t now_ms)
{
    const struct tocsin_incident *inc = &a->inc[svc];
    size_t i;

    if (!inc->key || !a->replayed_ms[svc] || now_ms - a->replayed_ms[svc] >= HOLD_MS)
        return 0;
    for (i = 0; i < inc->ntold; i++)
        if (inc->sent[i] == TOCSIN_SENT_NONE)
            return 1;
    return 0;
}

/*
 * Apply the kept hard changes in order, each in its own transaction; a
 * service whose replayed problem has not gone out yet keeps its later
 * changes for the next round. Returns 0, or -1 when a commit failed (the
 * rest stays for the next try). O(changes + services).
 */
static int unsaved_changes_apply(struct tocsin_alerting *a, int64_t now_ms)
{
    size_t i, kept = 0;
    int rc = 0;

    if (!a->nchanges)
        return 0;
    memset(a->held, 0, a->conf->nservices);
    for (i = 0; i < a->nchanges; i++) {
        struct unsaved_change c = a->changes[i];

        if (rc == 0 && !a->held[c.svc] && !replay_held(a, c.svc, now_ms)) {
            uint64_t before = store_failures(a);

            if (hard_change_apply(a, c.svc, c.old, c.now, c.at) == 0) {
                a->replayed_ms[c.svc] = now_ms;
                continue;
            }
            if (!store_failed_since(a, before))
                continue; /* refused for another reason (logged): not retried */
            rc = -1;
        }
        a->held[c.svc] = 1;
        a->changes[kept++] = c;
    }
    a->nchanges = kept;
    return rc;
}

/* A hard change: applied at once, unless older ones wait for the store
 * (then it waits behind them); one the store cannot take is kept. */
void tocsin_alerting_hard_change(struct tocsin_alerting *a, uint32_t svc,
                                 enum tocsin_state old, time_t now)
{
    enum tocsin_state now_state = a->views[svc].hard_state;
    uint64_t before = a->store ? store_failures(a) : 0;

    if (a->store && (a->nchanges || a->failing)) {
        unsaved_change_add(a, svc, old, now_state, now);
    } else if (hard_change_apply(a, svc, old, now_state, now) < 0 &&
               store_failed_since(a, before)) {
        unsaved_change_add(a, svc, old, now_state, now);
        settle(a, tocsin_wall_ms());
    }
    a->next_tick_ms = 0;
}

void tocsin_alerting_flapping(struct tocsin_alerting *a, uint32_t svc, int started,
                              const char *why, time_t now)
{
    enum tocsin_alert_kind kind = started ? TOCSIN_ALERT_FLAPPING_START
                                          : TOCSIN_ALERT_FLAPPING_STOP;
    struct tocsin_buf held = TOCSIN_BUF_INIT;
    const char *name = svc_name(a, svc);

    if (a->store && (a->nchanges || a->failing)) {
        tocsin_warn("service '%s': %s not sent: the store fails", name,
                    tocsin_alert_kind_name(kind));
        return;
    }
    txn_begin(a);
    txn_touch(a, svc);
    history(a, svc, "flapping", "%s", why);
    if (in_downtime(a, svc, now, &held)) {
        tocsin_info("service '%s': %s not sent: %s", name, tocsin_alert_kind_name(kind),
                    tocsin_buf_str(&held));
        history(a, svc, "suppressed", "%s not sent: %s", tocsin_alert_kind_name(kind),
                tocsin_buf_str(&held));
        a->stats.suppressed++;
    } else {
        route_and_queue(a, svc, kind, TOCSIN_SEVERITY_WARNING, a->views[svc].hard_state,
                        a->views[svc].hard_state, why, 0, now);
    }
    tocsin_buf_free(&held);
    if (txn_commit(a) < 0)
        settle(a, tocsin_wall_ms());
    a->next_tick_ms = 0;
}

int tocsin_alerting_resolve(struct tocsin_alerting *a, uint32_t svc, const char *why,
                            time_t now)
{
    struct tocsin_incident *inc = &a->inc[svc];

    if (!inc->key)
        return 0;
    if (a->store)
        tocsin_store_begin(a->store);
    tocsin_info("service '%s': incident %s resolved: %s", svc_name(a, svc), inc->key, why);
    history(a, svc, "resolved", "incident %s resolved: %s", inc->key, why);
    a->output_instead = why;
    queue_recovery(a, svc, inc->state, why, now);
    history_targets(a, svc, now);
    a->output_instead = NULL;
    incident_row_end(a, svc);
    incident_close(inc);
    persist(a, svc);
    if (a->store)
        tocsin_store_commit(a->store);
    a->next_tick_ms = 0;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Acknowledgements and downtimes                                      */
/* ------------------------------------------------------------------ */

/* Assign the acknowledged problem of `svc` to `assignee` anew, for
 * `author`. As tocsin_alerting_ack. */
static int reassign(struct tocsin_alerting *a, uint32_t svc, const char *author,
                    const char *assignee, char *err, size_t errlen)
{
    struct tocsin_incident *inc = &a->inc[svc];
    char *copy = strdup(assignee);

    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    txn_begin(a);
    txn_touch(a, svc);
    free(inc->assignee);
    inc->assignee = copy;
    history(a, svc, "ack", "assigned to %s by %s", assignee,
            author && *author ? author : "someone");
    persist(a, svc);
    if (txn_commit(a) < 0) {
        settle(a, tocsin_wall_ms());
        snprintf(err, errlen, "assigning the problem of '%s' cannot be saved (the store "
                 "fails: see /health); try again", svc_name(a, svc));
        return -1;
    }
    tocsin_info("service '%s': assigned to %s by %s", svc_name(a, svc), assignee,
                author && *author ? author : "someone");
    return 0;
}

int tocsin_alerting_ack(struct tocsin_alerting *a, uint32_t svc, const char *author,
                        const char *text, const char *assignee, char *err, size_t errlen)
{
    struct tocsin_incident *inc = &a->inc[svc];
    struct tocsin_buf reason = TOCSIN_BUF_INIT;
    time_t now = time(NULL);

    if (!inc->key) {
        snprintf(err, errlen, "service '%s' has no problem to acknowledge", svc_name(a, svc));
        return -1;
    }
    if (inc->acked && assignee && *assignee)
        return reassign(a, svc, author, assignee, err, errlen);
    if (inc->acked) {
        snprintf(err, errlen, "the problem of '%s' is already acknowledged by %s",
                 svc_name(a, svc), inc->ack_author ? inc->ack_author : "someone");
        return -1;
    }
    txn_begin(a);
    txn_touch(a, svc);
    inc->acked = 1;
    inc->ack_at = now;
    inc->ack_author = dup_or_null(author);
    inc->ack_text = dup_or_null(text);
    inc->assignee = dup_or_null(assignee);
    tocsin_buf_printf(&reason, "acknowledged by %s%s%s%s%s",
                      author && *author ? author : "someone",
                      inc->assignee ? ", assigned to " : "", inc->assignee ? inc->assignee : "",
                      text && *text ? ": " : "", text ? text : "");
    history(a, svc, "ack", "%s", tocsin_buf_str(&reason));
    if (inc->ntold)
        queue_all(a, svc, inc->told, inc->ntold, TOCSIN_ALERT_ACKNOWLEDGED,
                  tocsin_route_severity(svc_conf(a, svc), inc->state), inc->state, inc->state,
                  inc->route >= 0 ? &a->conf->routes[inc->route] : NULL,
                  tocsin_buf_str(&reason), 0, now);
    persist(a, svc);
    if (txn_commit(a) < 0) {
        settle(a, tocsin_wall_ms());
        snprintf(err, errlen, "the acknowledgement of '%s' cannot be saved (the store fails: "
                 "see /health); try again", svc_name(a, svc));
        tocsin_buf_free(&reason);
        return -1;
    }
    tocsin_info("service '%s': %s", svc_name(a, svc), tocsin_buf_str(&reason));
    tocsin_buf_free(&reason);
    a->next_tick_ms = 0;
    return 0;
}

int tocsin_alerting_unack(struct tocsin_alerting *a, uint32_t svc, const char *author,
                          char *err, size_t errlen)
{
    struct tocsin_incident *inc = &a->inc[svc];

    if (!inc->key || !inc->acked) {
        snprintf(err, errlen, "service '%s' has no acknowledged problem", svc_name(a, svc));
        return -1;
    }
    txn_begin(a);
    txn_touch(a, svc);
    inc->acked = 0;
    inc->ack_at = 0;
    free(inc->ack_author);
    free(inc->ack_text);
    free(inc->assignee);
    inc->ack_author = inc->ack_text = inc->assignee = NULL;
    history(a, svc, "ack", "acknowledgement withdrawn by %s", author && *author ? author
            : "someone");
    persist(a, svc);
    if (txn_commit(a) < 0) {
        settle(a, tocsin_wall_ms());
        snprintf(err, errlen, "withdrawing the acknowledgement of '%s' cannot be saved (the "
                 "store fails: see /health); try again", svc_name(a, svc));
        return -1;
    }
    tocsin_info("service '%s': acknowledgement withdrawn by %s", svc_name(a, svc),
                author && *author ? author : "someone");
    return 0;
}

int tocsin_alerting_downtime(struct tocsin_alerting *a, uint32_t svc, time_t until,
                             const char *author, const char *text)
{
    struct tocsin_incident *inc = &a->inc[svc];

    txn_begin(a);
    txn_touch(a, svc);
    free(inc->downtime_author);
    free(inc->downtime_text);
    inc->downtime_author = inc->downtime_text = NULL;
    if (until > time(NULL)) {
        inc->downtime_until = until;
        inc->downtime_author = dup_or_null(author);
        inc->downtime_text = dup_or_null(text);
        history(a, svc, "downtime", "in downtime until %lld by %s%s%s", (long long)until,
                author && *author ? author : "someone", text && *text ? ": " : "",
                text ? text : "");
        tocsin_info("service '%s': in downtime for %lld s", svc_name(a, svc),
                    (long long)(until - time(NULL)));
    } else {
        inc->downtime_until = 0;
        history(a, svc, "downtime", "downtime removed by %s", author && *author ? author
                : "someone");
        tocsin_info("service '%s': downtime removed", svc_name(a, svc));
    }
    persist(a, svc);
    if (txn_commit(a) < 0) {
        settle(a, tocsin_wall_ms());
        tocsin_error("service '%s': the downtime cannot be saved (the store fails)",
                     svc_name(a, svc));
        return -1;
    }
    a->next_tick_ms = 0;
    return 0;
}

int64_t tocsin_alerting_next(const struct tocsin_alerting *a)
{
    return a->next_tick_ms;
}

const struct tocsin_incident *tocsin_alerting_incident(const struct tocsin_alerting *a,
                                                       uint32_t svc)
{
    return &a->inc[svc];
}

const struct tocsin_alerting_stats *tocsin_alerting_stats(const struct tocsin_alerting *a)
{
    return &a->stats;
}

void tocsin_alerting_stats_carry(struct tocsin_alerting *a,
                                 const struct tocsin_alerting_stats *from)
{
    size_t i;

    a->stats.queued = from->queued;
    a->stats.suppressed = from->suppressed;
    a->stats.forwarded = from->forwarded;
    a->stats.forward_dropped = from->forward_dropped;
    a->stats.respond_breaches = from->respond_breaches;
    a->stats.resolve_breaches = from->resolve_breaches;
    for (i = 0; i < a->conf->nnotifiers; i++) {
        a->stats.attempts[i] = from->attempts ? from->attempts[i] : 0;
        a->stats.failures[i] = from->failures ? from->failures[i] : 0;
        a->stats.fallbacks[i] = from->fallbacks ? from->fallbacks[i] : 0;
    }
}

size_t tocsin_alerting_unsaved(const struct tocsin_alerting *a)
{
    return a->nchanges + a->noutcomes;
}

/* ------------------------------------------------------------------ */
/* Forwarding every result                                             */
/* ------------------------------------------------------------------ */

/* Send queued results to forwarder `n` while it has room. */
static void forward_drain(struct tocsin_alerting *a, uint32_t n)
{
    struct forward *f = &a->forwards[n];
    struct tocsin_buf payload = TOCSIN_BUF_INIT;
    time_t now = time(NULL);

    while (f->count && f->inflight < FORWARD_INFLIGHT) {
        uint32_t svc = f->queue[f->head];
        const struct tocsin_svc_view *v = &a->views[svc];
        const struct tocsin_service_conf *s = svc_conf(a, svc);

        f->head = (f->head + 1) % a->conf->nservices;
        f->count--;
        f->queued[svc] = 0;
        tocsin_buf_reset(&payload);
        if (encode_alert(a, svc, TOCSIN_ALERT_RESULT, tocsin_route_severity(s, v->state),
                         v->state, v->hard_state, NULL, NULL, now, 0, 0, &payload) < 0)
            continue;
        if (a->hooks.send(a->hooks.ud, n, RESULT_SEQ | (++a->next_seq & ~RESULT_SEQ),
                          payload.data, payload.len, 1) == 0) {
            f->inflight++;
            a->stats.forwarded++;
        }
    }
    tocsin_buf_free(&payload);
}

void tocsin_alerting_result(struct tocsin_alerting *a, uint32_t svc, time_t now)
{
    size_t n;

    (void)now;
    for (n = 0; n < a->conf->nnotifiers; n++) {
        struct forward *f = &a->forwards[n];

        if (!a->conf->notifiers[n].forwards_results || !a->conf->notifiers[n].enabled ||
            !f->queued)
            continue;
        if (f->queued[svc]) {
            a->stats.forward_dropped++; /* the newer result replaces it */
            continue;
        }
        f->queue[(f->head + f->count) % a->conf->nservices] = svc;
        f->count++;
        f->queued[svc] = 1;
        forward_drain(a, (uint32_t)n);
    }
}

/* ------------------------------------------------------------------ */
/* The outbox: dispatch and outcomes                                   */
/* ------------------------------------------------------------------ */

/*
 * 1 when outbox item `it` tells of an incident that has ended since it was
 * queued: a problem, repeat, escalation or acknowledgement whose service
 * has recovered (or has a newer incident) while the item waited for its
 * group or for a retry. Sent now, it would reach the receiver after the
 * recovery and open there again what is over (a PagerDuty trigger after
 * its resolve). Recoveries are never stale, and neither is a problem
 * whose recovery is still in the outbox for the same notifier: an attempt
 * of it went out (so the recovery was queued there) but did not get
 * through, and the recovery waits for it (see dispatch_item), so the
 * receiver hears both, in order. O(1), or a store probe for an item of an
 * ended incident.
 */
static int stale(const struct tocsin_alerting *a, long svc,
                 const struct tocsin_outbox_item *it)
{
    const char *open;

    if (it->kind == TOCSIN_ALERT_RECOVERY || it->kind == TOCSIN_ALERT_FLAPPING_START ||
        it->kind == TOCSIN_ALERT_FLAPPING_STOP || !it->incident || !*it->incident || svc < 0)
        return 0;
    open = a->inc[svc].key;
    if (open && strcmp(open, it->incident) == 0)
        return 0;
    /* On a failed probe (logged) it is sent: told twice beats never. */
    return it->kind != TOCSIN_ALERT_PROBLEM ||
           tocsin_outbox_pending_kind(a->store, it->notifier, it->service, it->incident, 0,
                                      TOCSIN_ALERT_RECOVERY, it->id) == 0;
}

/*
 * 1 when item `it` must wait so that its notifier hears a service's news
 * in order: a recovery while the problem of its incident is still pending
 * for the same notifier (waiting for a retry, or in flight), and a problem
 * while the recovery of an earlier incident of the service is. A failed
 * probe (logged) lets it go. O(1), or a store probe.
 */
static int waits_for_earlier(const struct tocsin_alerting *a,
                             const struct tocsin_outbox_item *it)
{
    if (!it->incident || !*it->incident)
        return 0;
    if (it->kind == TOCSIN_ALERT_RECOVERY)
        return tocsin_outbox_pending_kind(a->store, it->notifier, it->service, it->incident,
                                          0, TOCSIN_ALERT_PROBLEM, it->id) == 1;
    if (it->kind == TOCSIN_ALERT_PROBLEM)
        return tocsin_outbox_pending_kind(a->store, it->notifier, it->service, it->incident,
                                          1, TOCSIN_ALERT_RECOVERY, it->id) == 1;
    return 0;
}

/* An item of incident `incident` of service `svc` (-1: unknown) went out
 * to notifier `n`: note it in the incident, so that its recovery goes
 * there too. */
static void mark_sent(struct tocsin_alerting *a, long svc, uint32_t n, const char *incident)
{
    struct tocsin_incident *inc;
    size_t i;

    if (svc < 0)
        return;
    inc = &a->inc[svc];
    if (!inc->key || !incident || strcmp(inc->key, incident) != 0)
        return;
    for (i = 0; i < inc->ntold; i++)
        if (inc->told[i] == n && inc->sent[i] == TOCSIN_SENT_NONE)
            inc->sent[i] = TOCSIN_SENT_OUT;
}

/* ------------------------------------------------------------------ */
/* Delivery fallback                                                   */
/* ------------------------------------------------------------------ */

/* Fill `src` with a copy of item `it`. Returns 0, or -1 when memory ran
 * out (then `src` holds nothing). */
static int fallback_src_copy(struct fallback_src *src, const struct tocsin_outbox_item *it)
{
    memset(src, 0, sizeof(*src));
    src->id = it->id;
    src->created_ms = it->created_ms;
    src->expires_ms = it->expires_ms;
    src->kind = it->kind;
    src->state = it->state;
    src->severity = it->severity;
    src->service = strdup(it->service ? it->service : "");
    src->incident = strdup(it->incident ? it->incident : "");
    src->group_key = strdup(it->group_key ? it->group_key : "");
    src->payload = malloc(it->payload_len ? it->payload_len : 1);
    src->payload_len = it->payload_len;
    if (!src->service || !src->incident || !src->group_key || !src->payload) {
        free(src->service);
        free(src->incident);
        free(src->group_key);
        free(src->payload);
        memset(src, 0, sizeof(*src));
        return -1;
    }
    if (it->payload_len)
        memcpy(src->payload, it->payload, it->payload_len);
    return 0;
}

static void fallback_src_free(struct fallback_src *src)
{
    free(src->service);
    free(src->incident);
    free(src->group_key);
    free(src->payload);
    memset(src, 0, sizeof(*src));
}

/* The notifier that gets what `from` could not deliver, or -1: none is
 * configured or enabled, or `from` is the fallback itself (its own
 * failures do not fall back again, so nothing loops). */
static long fallback_for(const struct tocsin_alerting *a, uint32_t from)
{
    long fb = a->conf->fallback_notifier;

    if (fb < 0 || (long)from == fb || !a->conf->notifiers[fb].enabled)
        return -1;
    return fb;
}

/*
 * Item `src` of notifier `from` ended undelivered at now_ms (failed for
 * good, or expired), `why` being what the notifier said last: queue its
 * alert for the fallback notifier, with the reason in it, inside the
 * transaction that records the end, so that the two commit together: one
 * fallback per delivery, none lost to a kill. An item without a copy
 * (memory ran out when it was handed out) is only logged.
 * O(size of the alert).
 */
static void fallback_queue(struct tocsin_alerting *a, uint32_t from,
                           const struct fallback_src *src, const char *why, int64_t now_ms)
{
    const struct tocsin_notifier_conf *nc = &a->conf->notifiers[from], *fc;
    struct tocsin_buf payload = TOCSIN_BUF_INIT, what = TOCSIN_BUF_INIT;
    struct tocsin_outbox_item it;
    long fb = fallback_for(a, from), svc;

    if (fb < 0 || !a->store)
        return;
    fc = &a->conf->notifiers[fb];
    if (!src->payload || tocsin_buf_printf(&what, "outbox item %lld", (long long)src->id) < 0 ||
        tocsin_fallback_payload(src->payload, src->payload_len, tocsin_buf_str(&what),
                                nc->inst.name, now_ms - src->created_ms, why, &payload) < 0) {
        tocsin_error("notifier '%s': outbox item %lld of service '%s' ended undelivered and "
                     "cannot be handed to the fallback notifier '%s'", nc->inst.name,
                     (long long)src->id, src->service ? src->service : "?", fc->inst.name);
        goto out;
    }
    memset(&it, 0, sizeof(it));
    it.notifier = fc->inst.name;
    it.service = src->service;
    it.incident = src->incident;
    it.group_key = src->group_key;
    it.kind = src->kind;
    it.state = src->state;
    it.severity = src->severity;
    it.created_ms = now_ms;
    it.expires_ms = now_ms + fc->expire_ms;
    it.next_attempt_ms = now_ms;
    it.payload = payload.data;
    it.payload_len = payload.len;
    if (tocsin_outbox_add(a->store, &it, NULL) < 0)
        goto out;
    a->stats.queued++;
    a->stats.fallbacks[from]++;
    tocsin_warn("notifier '%s': %s %s of service '%s' was not delivered: sent to the fallback "
                "notifier '%s' instead", nc->inst.name, tocsin_alert_kind_name(src->kind),
                tocsin_state_name(src->state), src->service, fc->inst.name);
    svc = tocsin_config_find_service(a->conf, src->service);
    if (svc >= 0)
        history(a, (uint32_t)svc, "fallback", "%s %s not delivered to %s: queued to %s",
                tocsin_alert_kind_name(src->kind), tocsin_state_name(src->state),
                nc->inst.name, fc->inst.name);
out:
    tocsin_buf_free(&payload);
    tocsin_buf_free(&what);
}

struct dispatch {
    struct tocsin_alerting *a;
    /* per notifier, for this round: the message being assembled */
    struct tocsin_buf *msg;
    uint32_t *count;
    char **group;                    /* group key of the message's first item */
    size_t taken;
    struct fallback_src *expired;    /* items that expired in this round */
    size_t nexpired, expired_cap;
};

static int flight_add(struct flight *fl, int64_t id, int attempts, long svc,
                      const struct tocsin_outbox_item *it)
{
    if (fl->nids == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 8;
        int64_t *ids = realloc(fl->ids, cap * sizeof(*ids));
        int *at, *kinds, *states;
        long *svcs;
        char **incidents, **services;
        struct fallback_src *srcs;

        if (!ids)
            return -1;
        fl->ids = ids;
        at = realloc(fl->attempts, cap * sizeof(*at));
        if (!at)
            return -1;
        fl->attempts = at;
        svcs = realloc(fl->svcs, cap * sizeof(*svcs));
        if (!svcs)
            return -1;
        fl->svcs = svcs;
        kinds = realloc(fl->kinds, cap * sizeof(*kinds));
        if (!kinds)
            return -1;
        fl->kinds = kinds;
        states = realloc(fl->states, cap * sizeof(*states));
        if (!states)
            return -1;
        fl->states = states;
        incidents = realloc(fl->incidents, cap * sizeof(*incidents));
        if (!incidents)
            return -1;
        fl->incidents = incidents;
        services = realloc(fl->services, cap * sizeof(*services));
        if (!services)
            return -1;
        fl->services = services;
        srcs = realloc(fl->srcs, cap * sizeof(*srcs));
        if (!srcs)
            return -1;
        fl->srcs = srcs;
        fl->cap = cap;
    }
    fl->incidents[fl->nids] = strdup(it->incident ? it->incident : "");
    if (!fl->incidents[fl->nids])
        return -1;
    fl->services[fl->nids] = strdup(it->service ? it->service : "");
    if (!fl->services[fl->nids]) {
        free(fl->incidents[fl->nids]);
        return -1;
    }
    /* Without a copy (memory ran out) the item still goes; only its
     * fallback would be lost, and fallback_queue says so. */
    fallback_src_copy(&fl->srcs[fl->nids], it);
    fl->ids[fl->nids] = id;
    fl->attempts[fl->nids] = attempts;
    fl->svcs[fl->nids] = svc;
    fl->kinds[fl->nids] = it->kind;
    fl->states[fl->nids] = it->state;
    fl->nids++;
    return 0;
}

/* Empty flight `fl` (its incident and service copies freed). */
static void flight_clear(struct flight *fl)
{
    size_t i;

    for (i = 0; i < fl->nids; i++) {
        free(fl->incidents[i]);
        free(fl->services[i]);
        fallback_src_free(&fl->srcs[i]);
    }
    fl->nids = 0;
    fl->seq = 0;
}

/* The told index of notifier `n` in the open incident `key` of `svc`, or -1. */
static long told_index(const struct tocsin_alerting *a, long svc, uint32_t n, const char *key)
{
    const struct tocsin_incident *inc;
    size_t i;

    if (svc < 0 || !key)
        return -1;
    inc = &a->inc[svc];
    if (!inc->key || strcmp(inc->key, key) != 0)
        return -1;
    for (i = 0; i < inc->ntold; i++)
        if (inc->told[i] == n)
            return (long)i;
    return -1;
}

/*
 * Look at one due outbox item: take it into its notifier's message when
 * that notifier has nothing in flight and the item belongs to the group
 * being assembled (same group key, under GROUP_MAX); skip it otherwise.
 * An item for a notifier that no longer exists or is not enabled fails
 * (2); one whose incident has ended is not sent (3); one whose saved
 * alert cannot be read fails (4, the decoder has said why). The saved
 * alert is re-encoded in the worker's format. O(size of the alert).
 */
static int dispatch_item(void *ud, const struct tocsin_outbox_item *it)
{
    struct dispatch *dp = ud;
    struct tocsin_alerting *a = dp->a;
    long n = tocsin_config_find_notifier(a->conf, it->notifier), svc;
    struct tocsin_saved_alert sa;
    struct tocsin_buf what = TOCSIN_BUF_INIT;
    struct flight *fl;
    size_t before;
    int rc = 1;

    memset(&sa, 0, sizeof(sa));
    if (n < 0 || !a->conf->notifiers[n].enabled) {
        dp->taken++;
        return 2; /* handled below: fail it */
    }
    fl = &a->flights[n];
    if (fl->seq)
        return 1;
    svc = tocsin_config_find_service(a->conf, it->service);
    if (stale(a, svc, it)) {
        dp->taken++;
        return 3; /* handled below: not sent */
    }
    if (it->kind == TOCSIN_ALERT_ACKNOWLEDGED) {
        /* An acknowledgement must not overtake the problem it is about:
         * it waits while that problem has not reached this notifier. */
        long i = told_index(a, svc, (uint32_t)n, it->incident);

        if (i >= 0 && a->inc[svc].sent[i] != TOCSIN_SENT_SETTLED)
            return 1;
    }
    if (waits_for_earlier(a, it))
        return 1;
    if (dp->count[n] && (!*it->group_key || strcmp(dp->group[n], it->group_key) != 0 ||
                         dp->count[n] >= GROUP_MAX))
        return 1;
    if (tocsin_buf_printf(&what, "outbox item %lld", (long long)it->id) < 0)
        goto out;
    if (tocsin_saved_alert_decode(it->payload, it->payload_len, tocsin_buf_str(&what),
                                  &sa) < 0) {
        dp->taken++;
        rc = 4; /* handled below: fail it */
        goto out;
    }
    if (!dp->count[n]) {
        free(dp->group[n]);
        dp->group[n] = strdup(it->group_key ? it->group_key : "");
        if (!dp->group[n])
            goto out;
    }
    before = dp->msg[n].len;
    if (tocsin_alert_encode(&dp->msg[n], &sa.alert) < 0) {
        dp->msg[n].len = before; /* what was appended of it */
        goto out;
    }
    if (flight_add(fl, it->id, it->attempts, svc, it) < 0) {
        dp->msg[n].len = before;
        goto out;
    }
    dp->count[n]++;
    dp->taken++;
    rc = 0;
out:
    tocsin_saved_alert_free(&sa);
    tocsin_buf_free(&what);
    return rc;
}

/* Items taken that are not sent, each with why: a notifier that is gone
 * or disabled, an incident that has ended, a saved alert that cannot be
 * read (that one also goes to its service's history). */
struct orphans {
    struct tocsin_alerting *a;
    int64_t ids[DISPATCH_BATCH];
    const char *why[DISPATCH_BATCH];
    long unreadable_svc[DISPATCH_BATCH]; /* the service of an unreadable one, or -1 */
    char *deferred[DISPATCH_BATCH];  /* for a deferred one dropped: its history
                                        line (owned), else NULL */
    long deferred_svc[DISPATCH_BATCH];
    size_t n;
};

/*
 * The history line of stale item `it` when it had been deferred (its
 * saved alert says until when): "problem CRITICAL to email, deferred
 * until ..., dropped: ...". NULL when it was not deferred, cannot be read
 * or memory ran out. The caller owns it. O(size of the alert).
 */
static char *deferred_drop_note(const struct tocsin_outbox_item *it)
{
    struct tocsin_saved_alert sa;
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    char when[64];

    if (tocsin_saved_alert_decode(it->payload, it->payload_len, "a stale outbox item", &sa) < 0)
        return NULL;
    if (sa.deferred_until > 0)
        tocsin_buf_printf(&text, "%s %s to %s, deferred until %s, dropped: the incident ended "
                          "before then, and its recovery is not sent there either",
                          tocsin_alert_kind_name(it->kind), tocsin_state_name(it->state),
                          it->notifier,
                          tocsin_local_minute((time_t)sa.deferred_until, when, sizeof(when)));
    tocsin_saved_alert_free(&sa);
    return text.len ? tocsin_buf_steal(&text) : NULL;
}

static int dispatch_cb(void *ud, const struct tocsin_outbox_item *it)
{
    struct { struct dispatch dp; struct orphans orph; } *both = ud;
    int rc = dispatch_item(&both->dp, it);

    if (rc == 2 || rc == 3 || rc == 4) {
        if (both->orph.n >= DISPATCH_BATCH)
            return 1; /* no room to record it: leave it for the next round */
        both->orph.why[both->orph.n] = rc == 2
            ? "the notifier is no longer configured or enabled"
            : rc == 3 ? "not sent: the incident ended before it could be told"
            : "not sent: its saved alert cannot be read (damaged or of an unknown version)";
        both->orph.unreadable_svc[both->orph.n] =
            rc == 4 ? tocsin_config_find_service(both->dp.a->conf, it->service) : -1;
        both->orph.deferred[both->orph.n] = rc == 3 ? deferred_drop_note(it) : NULL;
        both->orph.deferred_svc[both->orph.n] =
            rc == 3 ? tocsin_config_find_service(both->dp.a->conf, it->service) : -1;
        both->orph.ids[both->orph.n++] = it->id;
        return 0;
    }
    return rc;
}

/* An item expired on its way out (tocsin_outbox_due_expiring): keep a
 * copy, to hand it to the fallback once the scan is over. */
static int dispatch_expired_cb(void *ud, const struct tocsin_outbox_item *it)
{
    struct dispatch *dp = ud;
    long n = tocsin_config_find_notifier(dp->a->conf, it->notifier);

    if (n < 0 || fallback_for(dp->a, (uint32_t)n) < 0)
        return 0;
    if (dp->nexpired == dp->expired_cap) {
        size_t cap = dp->expired_cap ? dp->expired_cap * 2 : 8;
        struct fallback_src *grown = realloc(dp->expired, cap * sizeof(*grown));

        if (!grown)
            goto oom;
        dp->expired = grown;
        dp->expired_cap = cap;
    }
    if (fallback_src_copy(&dp->expired[dp->nexpired], it) < 0)
        goto oom;
    dp->expired[dp->nexpired++].from = (uint32_t)n;
    return 0;
oom:
    tocsin_error("notifier '%s': outbox item %lld of service '%s' expired undelivered and, "
                 "out of memory, is not handed to the fallback notifier", it->notifier,
                 (long long)it->id, it->service);
    return 0;
}

/* Keep an outcome the store could not record, to record it later. Its
 * item stays in flight meanwhile, so it is not sent again. O(1). */
static void unsaved_outcome_add(struct tocsin_alerting *a, int64_t id, int outcome,
                                const char *reason, int64_t at_ms, int64_t next_ms)
{
    struct unsaved_outcome *o;

    if (a->noutcomes == a->outcomes_cap) {
        size_t cap = a->outcomes_cap ? a->outcomes_cap * 2 : 16;

        o = realloc(a->outcomes, cap * sizeof(*o));
        if (!o)
            goto oom;
        a->outcomes = o;
        a->outcomes_cap = cap;
    }
    o = &a->outcomes[a->noutcomes];
    o->id = id;
    o->outcome = outcome;
    o->at_ms = at_ms;
    o->next_ms = next_ms;
    if (copy_str(&o->reason, reason) < 0)
        goto oom;
    a->noutcomes++;
    return;
oom:
    tocsin_error("outbox item %lld: out of memory: its outcome is not recorded; it is sent "
                 "again after a restart", (long long)id);
}

/*
 * Record the kept outcomes, oldest first, each in a write of its own; one
 * the store refuses for another reason than a failure (logged) is dropped.
 * Returns 0, or -1 when a commit failed (the rest stays). O(outcomes).
 */
static int unsaved_outcomes_record(struct tocsin_alerting *a)
{
    size_t i, kept = 0;
    int rc = 0;

    for (i = 0; i < a->noutcomes; i++) {
        struct unsaved_outcome *o = &a->outcomes[i];
        uint64_t before = store_failures(a);

        if (rc == 0 && (tocsin_outbox_record(a->store, o->id, o->outcome, o->reason, o->at_ms,
                                             o->next_ms) == 0 ||
                        !store_failed_since(a, before))) {
            free(o->reason);
            continue;
        }
        rc = -1;
        a->outcomes[kept++] = *o;
    }
    a->noutcomes = kept;
    return rc;
}

/* Queue the fallbacks of the items that expired in this round, then
 * commit the round's transaction when `txn` (one is open). Returns 0, or
 * -1 when the commit failed: then nothing of the round happened (no
 * item taken, none expired, no fallback). */
static int dispatch_fallbacks(struct dispatch *dp, int64_t now_ms, int txn)
{
    size_t i;

    for (i = 0; i < dp->nexpired; i++)
        fallback_queue(dp->a, dp->expired[i].from, &dp->expired[i],
                       "it expired before another attempt", now_ms);
    if (txn && tocsin_store_commit(dp->a->store) < 0)
        return -1;
    return 0;
}

/* Hand due outbox items to notifiers that have nothing in flight. */
static void dispatch(struct tocsin_alerting *a, int64_t now_ms)
{
    struct { struct dispatch dp; struct orphans orph; } both;
    size_t n, i, nn = a->conf->nnotifiers;
    int txn;

    if (!a->store || !nn)
        return;
    memset(&both, 0, sizeof(both));
    both.dp.a = a;
    both.orph.a = a;
    both.dp.msg = calloc(nn, sizeof(*both.dp.msg));
    both.dp.count = calloc(nn, sizeof(*both.dp.count));
    both.dp.group = calloc(nn, sizeof(*both.dp.group));
    if (!both.dp.msg || !both.dp.count || !both.dp.group)
        goto out;
    /* One transaction: what expires and its fallbacks commit together. */
    txn = tocsin_store_begin(a->store) == 0;
    if (tocsin_outbox_due_expiring(a->store, now_ms, DISPATCH_BATCH, dispatch_cb,
                                   dispatch_expired_cb, &both) < 0 ||
        dispatch_fallbacks(&both.dp, now_ms, txn) < 0) {
        /* Nothing was taken: the items stay pending, nothing goes out. */
        for (n = 0; n < nn; n++)
            if (both.dp.count[n])
                flight_clear(&a->flights[n]);
        goto out;
    }
    if (both.orph.n) {
        uint64_t before = store_failures(a);

        tocsin_store_begin(a->store);
        for (i = 0; i < both.orph.n; i++) {
            tocsin_outbox_record(a->store, both.orph.ids[i], TOCSIN_FAILED,
                                 both.orph.why[i], now_ms, 0);
            if (both.orph.unreadable_svc[i] >= 0)
                history(a, (uint32_t)both.orph.unreadable_svc[i], "failed",
                        "outbox item %lld %s", (long long)both.orph.ids[i],
                        both.orph.why[i]);
            if (both.orph.deferred[i] && both.orph.deferred_svc[i] >= 0)
                history(a, (uint32_t)both.orph.deferred_svc[i], "deferred", "%s",
                        both.orph.deferred[i]);
        }
        if (tocsin_store_commit(a->store) < 0 && store_failed_since(a, before))
            for (i = 0; i < both.orph.n; i++)
                unsaved_outcome_add(a, both.orph.ids[i], TOCSIN_FAILED, both.orph.why[i],
                                    now_ms, 0);
    }
    for (n = 0; n < nn; n++) {
        struct flight *fl = &a->flights[n];

        if (!both.dp.count[n])
            continue;
        for (i = 0; i < fl->nids; i++)
            mark_sent(a, fl->svcs[i], (uint32_t)n, fl->incidents[i]);
        do
            fl->seq = ++a->next_seq & ~RESULT_SEQ;
        while (!fl->seq);
        a->stats.attempts[n]++;
        if (a->hooks.send(a->hooks.ud, (uint32_t)n, fl->seq, both.dp.msg[n].data,
                          both.dp.msg[n].len, both.dp.count[n]) < 0)
            tocsin_alerting_delivery(a, (uint32_t)n, fl->seq, TOCSIN_RETRY, 0,
                                     "the notifier's worker is not running");
    }
out:
    if (both.dp.msg)
        for (n = 0; n < nn; n++)
            tocsin_buf_free(&both.dp.msg[n]);
    if (both.dp.group)
        for (n = 0; n < nn; n++)
            free(both.dp.group[n]);
    for (i = 0; i < both.dp.nexpired; i++)
        fallback_src_free(&both.dp.expired[i]);
    for (i = 0; i < both.orph.n; i++)
        free(both.orph.deferred[i]);
    free(both.dp.expired);
    free(both.dp.msg);
    free(both.dp.count);
    free(both.dp.group);
}

/* The delay before retry number `attempts` + 1: doubling from retry_min up
 * to retry_max, with up to 10 % of jitter so that retries spread out. */
static int64_t backoff_ms(const struct tocsin_notifier_conf *nc, int attempts)
{
    int64_t d = nc->retry_min_ms;
    int i;

    for (i = 0; i < attempts && d < nc->retry_max_ms; i++)
        d *= 2;
    if (d > nc->retry_max_ms)
        d = nc->retry_max_ms;
    return d + (d / 10 ? random() % (d / 10) : 0);
}

/* When item `attempts` tries old is tried again after `outcome` (0 unless
 * RETRY): the back-off, or the receiver's Retry-After when longer. */
static int64_t outcome_next_ms(const struct tocsin_notifier_conf *nc, int attempts, int outcome,
                               int64_t retry_after, int64_t now_ms)
{
    int64_t next;

    if (outcome != TOCSIN_RETRY)
        return 0;
    next = now_ms + backoff_ms(nc, attempts);
    if (retry_after > 0 && now_ms + retry_after * 1000 > next)
        next = now_ms + retry_after * 1000;
    return next;
}

/* One log line for the outcome of item `i` of flight `fl` of notifier `nc`:
 * info when it was delivered, a warning when it is retried in `retry_in_ms`
 * (negative: unknown), an error when it failed for good. It names the
 * notifier, the service, the kind and state of the notification and the
 * attempt, and for a failure the plugin's reason (which never holds a
 * secret); nothing of the notifier's configuration (URLs, tokens). */
static void log_outcome(const struct tocsin_notifier_conf *nc, const struct flight *fl,
                        size_t i, enum tocsin_delivery outcome, int64_t retry_in_ms,
                        const char *why)
{
    const char *kind = tocsin_alert_kind_name(fl->kinds[i]);
    const char *state = tocsin_state_name(fl->states[i]);
    const char *service = fl->services[i];
    int attempt = fl->attempts[i] + 1;
    char in[64];

    if (outcome == TOCSIN_DELIVERED) {
        tocsin_info("notifier '%s': sent %s %s of service '%s' (attempt %d)", nc->inst.name,
                    kind, state, service, attempt);
    } else if (outcome == TOCSIN_RETRY) {
        if (retry_in_ms >= 1000)
            tocsin_duration_format((retry_in_ms + 500) / 1000, in, sizeof(in));
        else if (retry_in_ms >= 0)
            snprintf(in, sizeof(in), "%lldms", (long long)retry_in_ms);
        else
            snprintf(in, sizeof(in), "a while");
        tocsin_warn("notifier '%s': %s %s of service '%s' not delivered (attempt %d), "
                    "next try in %s: %s", nc->inst.name, kind, state, service, attempt, in,
                    why && *why ? why : "no reason given");
    } else {
        tocsin_error("notifier '%s': %s %s of service '%s' failed for good (attempt %d), "
                     "not retried: %s", nc->inst.name, kind, state, service, attempt,
                     why && *why ? why : "no reason given");
    }
}

/* 1 when the outcome `outcome` (next attempt at `next_ms`) ends the
 * delivery of `src` undelivered: failed for good, or a retry that would
 * come after its expiry (the store then expires it). */
static int ends_undelivered(const struct fallback_src *src, int outcome, int64_t next_ms)
{
    return outcome == TOCSIN_FAILED ||
           (outcome == TOCSIN_RETRY && src->payload && next_ms > src->expires_ms);
}

void tocsin_alerting_delivery(struct tocsin_alerting *a, uint32_t notifier, uint32_t seq,
                              enum tocsin_delivery outcome, int64_t retry_after,
                              const char *why)
{
    const struct tocsin_notifier_conf *nc;
    struct flight *fl;
    int64_t now_ms = tocsin_wall_ms(), *next_ms;
    uint64_t before;
    size_t i;

    if (notifier >= a->conf->nnotifiers)
        return;
    nc = &a->conf->notifiers[notifier];
    if (seq & RESULT_SEQ) {
        struct forward *f = &a->forwards[notifier];

        if (f->inflight)
            f->inflight--;
        if (outcome != TOCSIN_DELIVERED)
            tocsin_debug("notifier '%s': a forwarded result was not taken: %s",
                         nc->inst.name, why);
        forward_drain(a, notifier);
        return;
    }
    fl = &a->flights[notifier];
    if (!a->store) {
        if (outcome != TOCSIN_DELIVERED)
            tocsin_warn("notifier '%s': %s: %s", nc->inst.name, outcome == TOCSIN_RETRY
                        ? "not delivered (temporary)" : "failed", why);
        return;
    }
    if (fl->seq != seq)
        return;
    if (outcome != TOCSIN_DELIVERED)
        a->stats.failures[notifier]++;
    next_ms = calloc(fl->nids ? fl->nids : 1, sizeof(*next_ms));
    before = store_failures(a);
    tocsin_store_begin(a->store);
    for (i = 0; i < fl->nids; i++) {
        int64_t next = outcome_next_ms(nc, fl->attempts[i], outcome, retry_after, now_ms);

        if (next_ms)
            next_ms[i] = next;
        tocsin_outbox_record(a->store, fl->ids[i], outcome,
                             outcome == TOCSIN_DELIVERED ? NULL : why, now_ms, next);
        if (ends_undelivered(&fl->srcs[i], outcome, next))
            fallback_queue(a, notifier, &fl->srcs[i], why, now_ms);
    }
    if (tocsin_store_commit(a->store) < 0 && store_failed_since(a, before)) {
        /* Kept to record later; the items stay in flight until then. */
        for (i = 0; i < fl->nids; i++)
            unsaved_outcome_add(a, fl->ids[i], outcome,
                                outcome == TOCSIN_DELIVERED ? NULL : why, now_ms,
                                next_ms ? next_ms[i]
                                        : outcome_next_ms(nc, fl->attempts[i], outcome,
                                                          retry_after, now_ms));
        settle(a, now_ms);
    }
    for (i = 0; i < fl->nids; i++)
        log_outcome(nc, fl, i, outcome, next_ms ? next_ms[i] - now_ms : -1, why);
    free(next_ms);
    if (outcome != TOCSIN_RETRY)
        for (i = 0; i < fl->nids; i++) {
            long k;

            if (fl->kinds[i] != TOCSIN_ALERT_PROBLEM && fl->kinds[i] != TOCSIN_ALERT_REPEAT &&
                fl->kinds[i] != TOCSIN_ALERT_ESCALATION)
                continue;
            /* The receiver knows of the problem now: what follows it (an
             * acknowledgement) may go. */
            k = told_index(a, fl->svcs[i], notifier, fl->incidents[i]);
            if (k >= 0)
                a->inc[fl->svcs[i]].sent[k] = TOCSIN_SENT_SETTLED;
        }
    flight_clear(fl);
    a->next_tick_ms = 0;
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* A target of the incident of `svc` missed, `why`, with the incident's
 * count of both kinds so far, in the history. */
static void history_breach(struct tocsin_alerting *a, uint32_t svc, const char *why)
{
    history(a, svc, "breach", "%s (breaches: response %u, resolution %u)", why,
            a->inc[svc].respond_breaches, a->inc[svc].resolve_breaches);
}

/*
 * The response target of the incident of `svc`, missed without an
 * acknowledgement: the route's next escalation step, not due yet, goes
 * out at once (the steps after it keep their times), or, when the route
 * has none left, every notifier told hears an escalation. Counted once
 * per incident; held back (but counted) by what holds back an
 * escalation. O(notifiers told).
 */
static void check_respond(struct tocsin_alerting *a, uint32_t svc, time_t now)
{
    struct tocsin_incident *inc = &a->inc[svc];
    const struct tocsin_priority_conf *p;
    const struct tocsin_route_conf *r = inc->route >= 0 ? &a->conf->routes[inc->route] : NULL;
    time_t due = tocsin_priority_respond_due(a->conf, inc->priority, inc->first_told);
    struct tocsin_buf why = TOCSIN_BUF_INIT, held = TOCSIN_BUF_INIT;
    char within[64];

    if (!due || now < due || inc->acked || inc->respond_breaches)
        return;
    p = &a->conf->priorities[inc->priority];
    txn_touch(a, svc);
    inc->respond_breaches = 1;
    a->stats.respond_breaches++;
    tocsin_duration_format(p->respond_within_ms / 1000, within, sizeof(within));
    tocsin_buf_printf(&why, "%s %s response target missed: not acknowledged within %s",
                      p->name, svc_name(a, svc), within);
    history_breach(a, svc, tocsin_buf_str(&why));
    tocsin_info("service '%s': %s", svc_name(a, svc), tocsin_buf_str(&why));
    if (tocsin_alerting_suppressed(a, svc, now, &held)) {
        history(a, svc, "suppressed", "escalation %s not sent: %s",
                tocsin_state_name(inc->state), tocsin_buf_str(&held));
    } else if (r && inc->esc_next < r->nescalations) {
        const struct tocsin_escalation *e = &r->escalations[inc->esc_next++];

        queue_all(a, svc, e->notifiers, e->nnotifiers, TOCSIN_ALERT_ESCALATION,
                  tocsin_route_severity(svc_conf(a, svc), inc->state), inc->state, inc->state,
                  r, tocsin_buf_str(&why), 1, now);
    } else if (inc->ntold) {
        queue_all(a, svc, inc->told, inc->ntold, TOCSIN_ALERT_ESCALATION,
                  tocsin_route_severity(svc_conf(a, svc), inc->state), inc->state, inc->state,
                  r, tocsin_buf_str(&why), 0, now);
    }
    persist(a, svc);
    tocsin_buf_free(&why);
    tocsin_buf_free(&held);
}

/*
 * The resolution target of the incident of `svc`, missed (again: once
 * per resolve_within it stays open): every notifier told hears it again,
 * acknowledged or not, as a repeat whose reason says how long it is open
 * and who took it on ("P1 web-api open for 2 h 00 min, acknowledged by
 * alice at 14:05"). Only a downtime holds it back; it is counted anyway.
 */
static void check_resolve(struct tocsin_alerting *a, uint32_t svc, time_t now)
{
    struct tocsin_incident *inc = &a->inc[svc];
    const struct tocsin_priority_conf *p;
    time_t due = tocsin_priority_resolve_due(a->conf, inc->priority, inc->problem_since,
                                             inc->resolve_breaches);
    struct tocsin_buf why = TOCSIN_BUF_INIT, held = TOCSIN_BUF_INIT;
    char open[64], at[16] = "";
    int64_t within_s;
    struct tm tm;

    if (!due || now < due)
        return;
    p = &a->conf->priorities[inc->priority];
    within_s = (p->resolve_within_ms + 999) / 1000;
    txn_touch(a, svc);
    /* After a restart or a long stall every target passed counts, told once. */
    a->stats.resolve_breaches += (unsigned)((now - inc->problem_since) / within_s) -
                                 inc->resolve_breaches;
    inc->resolve_breaches = (unsigned)((now - inc->problem_since) / within_s);
    tocsin_priority_format_open((long long)(now - inc->problem_since), open, sizeof(open));
    tocsin_buf_printf(&why, "%s %s open for %s", p->name, svc_name(a, svc), open);
    if (inc->acked && inc->ack_at && localtime_r(&inc->ack_at, &tm))
        strftime(at, sizeof(at), " at %H:%M", &tm);
    if (inc->acked)
        tocsin_buf_printf(&why, ", acknowledged by %s%s%s%s",
                          inc->ack_author ? inc->ack_author : "someone", at,
                          inc->assignee ? ", assigned to " : "",
                          inc->assignee ? inc->assignee : "");
    else
        tocsin_buf_puts(&why, ", not acknowledged");
    history_breach(a, svc, tocsin_buf_str(&why));
    tocsin_info("service '%s': resolution target missed: %s", svc_name(a, svc),
                tocsin_buf_str(&why));
    if (in_downtime(a, svc, now, &held))
        history(a, svc, "suppressed", "repeat %s not sent: %s", tocsin_state_name(inc->state),
                tocsin_buf_str(&held));
    else if (now <= inc->first_told)
        /* Its problem goes out now (a route's defer held it): a reminder
         * beside it would tell nothing new. The breach is counted. */
        history(a, svc, "suppressed", "repeat %s not sent: the problem is told only now",
                tocsin_state_name(inc->state));
    else if (inc->ntold)
        queue_all(a, svc, inc->told, inc->ntold, TOCSIN_ALERT_REPEAT,
                  tocsin_route_severity(svc_conf(a, svc), inc->state), inc->state, inc->state,
                  inc->route >= 0 ? &a->conf->routes[inc->route] : NULL, tocsin_buf_str(&why),
                  0, now);
    persist(a, svc);
    tocsin_buf_free(&why);
    tocsin_buf_free(&held);
}

/* Both targets of the priority of the incident of `svc`, told already. */
static void check_targets(struct tocsin_alerting *a, uint32_t svc, time_t now)
{
    /* Nothing is due before the problem was first told: a route's defer
     * moves first_told to when its period opens. */
    if (a->inc[svc].priority < 0 || !a->inc[svc].first_told || now < a->inc[svc].first_told)
        return;
    check_respond(a, svc, now);
    check_resolve(a, svc, now);
}

/* Repeats, escalations, suppressions that ended and downtimes that expired,
 * for one service. */
static void tick_service(struct tocsin_alerting *a, uint32_t svc, time_t now)
{
    struct tocsin_incident *inc = &a->inc[svc];
    const struct tocsin_route_conf *r;
    struct tocsin_buf why = TOCSIN_BUF_INIT;

    if (inc->downtime_until && inc->downtime_until <= now) {
        txn_touch(a, svc);
        inc->downtime_until = 0;
        tocsin_info("service '%s': downtime ended", svc_name(a, svc));
        history(a, svc, "downtime", "downtime ended");
        persist(a, svc);
    }
    if (!inc->key)
        return;
    if (inc->state == TOCSIN_OK) {
        /* A recovery held back while the service flapped. */
        if (!a->views[svc].flapping) {
            txn_touch(a, svc);
            queue_recovery(a, svc, TOCSIN_CRITICAL, "the service stopped flapping", now);
            history_targets(a, svc, now);
            incident_row_end(a, svc);
            incident_close(inc);
            persist(a, svc);
        }
        return;
    }
    if (inc->pending) {
        if (!tocsin_alerting_suppressed(a, svc, now, &why)) {
            txn_touch(a, svc);
            tell_problem(a, svc, TOCSIN_ALERT_PROBLEM, TOCSIN_OK, "no longer suppressed", now);
            persist(a, svc);
        }
        tocsin_buf_free(&why);
        return;
    }
    check_targets(a, svc, now);
    if (inc->route < 0 || inc->acked)
        return;
    r = &a->conf->routes[inc->route];
    if (r->repeat_interval_ms > 0 && inc->next_repeat && now >= inc->next_repeat) {
        txn_touch(a, svc);
        tell_problem(a, svc, TOCSIN_ALERT_REPEAT, inc->state, "the problem persists", now);
        if (inc->next_repeat <= now)
            inc->next_repeat = now + (time_t)((r->repeat_interval_ms + 999) / 1000);
        persist(a, svc);
    }
    /* Steps count from the first notification, not from the problem's
     * start: a problem held back is not escalated the moment it is told. */
    while (inc->esc_next < r->nescalations && inc->first_told &&
           (int64_t)(now - inc->first_told) * 1000 >= r->escalations[inc->esc_next].after_ms) {
        const struct tocsin_escalation *e = &r->escalations[inc->esc_next];
        char after[64];

        txn_touch(a, svc);
        inc->esc_next++;
        if (tocsin_alerting_suppressed(a, svc, now, &why)) {
            tocsin_buf_reset(&why);
            continue;
        }
        tocsin_duration_format(e->after_ms / 1000, after, sizeof(after));
        tocsin_buf_printf(&why, "unacknowledged after %s", after);
        tocsin_info("service '%s': escalating: %s", svc_name(a, svc), tocsin_buf_str(&why));
        queue_all(a, svc, e->notifiers, e->nnotifiers, TOCSIN_ALERT_ESCALATION,
                  tocsin_route_severity(svc_conf(a, svc), inc->state), inc->state, inc->state,
                  r, tocsin_buf_str(&why), 1, now);
        tocsin_buf_reset(&why);
        persist(a, svc);
    }
    tocsin_buf_free(&why);
}

/*
 * While the store fails, nothing that writes is tried before the back-off
 * has passed; then what it could not take comes first (outcomes, then
 * hard changes in order), and the rest of the tick only when that worked.
 */
int64_t tocsin_alerting_tick(struct tocsin_alerting *a, int64_t now_ms)
{
    time_t now = (time_t)(now_ms / 1000);
    size_t i;

    if (a->store && a->failing && now_ms < a->retry_at_ms)
        goto schedule;
    if (a->store && (unsaved_outcomes_record(a) < 0 || unsaved_changes_apply(a, now_ms) < 0)) {
        settle(a, now_ms);
        goto schedule;
    }
    txn_begin(a);
    for (i = 0; i < a->conf->nservices; i++)
        if (a->inc[i].key || a->inc[i].downtime_until)
            tick_service(a, (uint32_t)i, now);
    if (txn_commit(a) < 0) {
        settle(a, now_ms);
        goto schedule;
    }
    dispatch(a, now_ms);
    if (a->store && now_ms >= a->next_prune_ms) {
        /* Keep `retention` of history and of ended notifications. */
        tocsin_outbox_prune(a->store, now_ms - a->conf->retention_ms);
        tocsin_history_prune(a->store, now_ms - a->conf->retention_ms);
        a->next_prune_ms = now_ms + PRUNE_EVERY_MS;
    }
    settle(a, now_ms);
schedule:
    a->next_tick_ms = now_ms + TICK_MS;
    if (a->store && a->failing) {
        if (a->retry_at_ms > a->next_tick_ms)
            a->next_tick_ms = a->retry_at_ms;
    } else if (a->store) {
        int64_t due = tocsin_outbox_next_due(a->store);

        if (due < a->next_tick_ms)
            a->next_tick_ms = due > now_ms ? due : now_ms + 10;
    }
    return a->next_tick_ms;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

struct tocsin_alerting *tocsin_alerting_new(const struct tocsin_config *conf,
                                            struct tocsin_store *store,
                                            const struct tocsin_svc_view *views,
                                            const struct tocsin_alerting_hooks *hooks)
{
    struct tocsin_alerting *a = calloc(1, sizeof(*a));
    size_t i, nn = conf->nnotifiers ? conf->nnotifiers : 1;

    if (!a)
        return NULL;
    a->conf = conf;
    a->store = store;
    a->views = views;
    a->hooks = *hooks;
    a->inc = calloc(conf->nservices ? conf->nservices : 1, sizeof(*a->inc));
    a->flights = calloc(nn, sizeof(*a->flights));
    a->forwards = calloc(nn, sizeof(*a->forwards));
    a->stats.attempts = calloc(nn, sizeof(uint64_t));
    a->stats.failures = calloc(nn, sizeof(uint64_t));
    a->stats.fallbacks = calloc(nn, sizeof(uint64_t));
    a->group_release_ms = calloc(conf->nroutes ? conf->nroutes : 1, sizeof(int64_t));
    a->replayed_ms = calloc(conf->nservices ? conf->nservices : 1, sizeof(int64_t));
    a->held = calloc(conf->nservices ? conf->nservices : 1, 1);
    a->save_limit = (struct tocsin_log_limit)TOCSIN_LOG_LIMIT_INIT(SAVE_LOG_INTERVAL_S);
    if (!a->inc || !a->flights || !a->forwards || !a->stats.attempts || !a->stats.failures ||
        !a->stats.fallbacks ||
        !a->group_release_ms || !a->replayed_ms || !a->held)
        goto fail;
    if (store)
        a->failures_seen = store_failures(a);
    for (i = 0; i < conf->nservices; i++) {
        a->inc[i].route = -1;
        a->inc[i].priority = -1;
    }
    for (i = 0; i < conf->nnotifiers; i++) {
        if (!conf->notifiers[i].forwards_results || !conf->nservices)
            continue;
        a->forwards[i].queue = calloc(conf->nservices, sizeof(uint32_t));
        a->forwards[i].queued = calloc(conf->nservices, 1);
        if (!a->forwards[i].queue || !a->forwards[i].queued)
            goto fail;
    }
    return a;
fail:
    tocsin_alerting_free(a);
    return NULL;
}

void tocsin_alerting_free(struct tocsin_alerting *a)
{
    size_t i;

    if (!a)
        return;
    if (a->inc)
        for (i = 0; i < a->conf->nservices; i++) {
            incident_close(&a->inc[i]);
            free(a->inc[i].downtime_author);
            free(a->inc[i].downtime_text);
        }
    if (a->flights)
        for (i = 0; i < a->conf->nnotifiers; i++) {
            free(a->flights[i].ids);
            flight_clear(&a->flights[i]);
            free(a->flights[i].attempts);
            free(a->flights[i].svcs);
            free(a->flights[i].kinds);
            free(a->flights[i].states);
            free(a->flights[i].incidents);
            free(a->flights[i].services);
            free(a->flights[i].srcs);
        }
    if (a->forwards)
        for (i = 0; i < a->conf->nnotifiers; i++) {
            free(a->forwards[i].queue);
            free(a->forwards[i].queued);
        }
    free(a->inc);
    free(a->flights);
    free(a->forwards);
    free(a->stats.attempts);
    free(a->stats.failures);
    free(a->stats.fallbacks);
    free(a->group_release_ms);
    if (a->nchanges || a->noutcomes)
        tocsin_warn("alerting: %zu hard changes and %zu delivery outcomes were never saved "
                    "(the store failed): the changes are not told, the notifications are sent "
                    "again", a->nchanges, a->noutcomes);
    for (i = 0; i < a->noutcomes; i++)
        free(a->outcomes[i].reason);
    free(a->outcomes);
    free(a->changes);
    free(a->undo);
    free(a->replayed_ms);
    free(a->held);
    free(a);
}
