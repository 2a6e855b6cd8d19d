/*
 * incidents.h - what the HTTP API (/api/v1/incidents, /api/v1/history)
 * and the control socket (`incidents`) share about incidents and the
 * history: the one query (struct tocsin_incident_query) that each
 * interface parses its request into, and the one builder of the answer
 * from the store. Every answer is bounded: at most `limit` items, and at
 * most TOCSIN_INCIDENT_SCAN_MAX rows read from the store per request, so
 * that a large store never holds up the event loop for long.
 */
#ifndef TOCSIN_INCIDENTS_H
#define TOCSIN_INCIDENTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alerting/store.h"
#include "config/config.h"
#include "lib/buf.h"
#include "serve/svc-json.h"

#define TOCSIN_INCIDENT_LIMIT_DEFAULT 500    /* items in an answer unless asked */
#define TOCSIN_INCIDENT_LIMIT_MAX 10000      /* items in an answer at most */
#define TOCSIN_INCIDENT_SCAN_MAX 20000       /* store rows read per request at most */
#define TOCSIN_INCIDENT_MAX_SERVICES 64      /* service names in one query at most */

/* What a request asks for. Every condition set must hold; a zeroed query
 * (then limit 0 is taken as the default) selects the open incidents, and
 * every event of the history. Release with tocsin_incident_query_free. */
struct tocsin_incident_query {
    enum tocsin_incident_which which;    /* incidents only; zeroed: open */
    int which_set;
    char *services[TOCSIN_INCIDENT_MAX_SERVICES]; /* any of them (owned); none: any */
    size_t nservices;
    struct tocsin_svc_filter labels;     /* only its labels are used */
    int64_t since_ms;                    /* 0: from the beginning */
    size_t limit;                        /* 0: TOCSIN_INCIDENT_LIMIT_DEFAULT */
};

/* ------------------------------------------------------------------ */
/* Parsing: each returns 0, or -1 with a message for the client in err  */
/* (err->oom set when memory ran out instead).                          */
/* ------------------------------------------------------------------ */

/* "open", "closed" or "all". */
int tocsin_incident_query_state(struct tocsin_incident_query *q, const char *word,
                                struct tocsin_buf *err);

/* One service name or a comma list of them; repeatable. */
int tocsin_incident_query_service(struct tocsin_incident_query *q, const char *list,
                                  struct tocsin_buf *err);

/* "KEY=VALUE"; repeatable, all must hold (labels of the configuration). */
int tocsin_incident_query_label(struct tocsin_incident_query *q, const char *kv,
                                struct tocsin_buf *err);

/* A duration back from now_ms ("30m", "2h", "7d") or an RFC 3339 time
 * ("2026-12-01T08:00:00Z", "2026-12-01T09:00:00+01:00", fraction allowed). */
int tocsin_incident_query_since(struct tocsin_incident_query *q, const char *text,
                                int64_t now_ms, struct tocsin_buf *err);

/* A whole number from 1 to TOCSIN_INCIDENT_LIMIT_MAX. */
int tocsin_incident_query_limit(struct tocsin_incident_query *q, const char *text,
                                struct tocsin_buf *err);

/* Release what q holds and zero it. */
void tocsin_incident_query_free(struct tocsin_incident_query *q);

/* 1 when service `name` (with the labels the configuration gives it; a
 * service no longer configured has none) is one q selects. */
int tocsin_incident_query_match(const struct tocsin_incident_query *q,
                                const struct tocsin_config *conf, const char *name);

/* ------------------------------------------------------------------ */
/* Answers                                                             */
/* ------------------------------------------------------------------ */

/*
 * {"incidents": [...], "count": N, "truncated": bool} for q, oldest start
 * first (the newest `limit` when more matched), each incident with its
 * key, service, host, labels, status, state, severity, start, end,
 * duration_seconds, acknowledged, notifications and output; times RFC
 * 3339 UTC, texts repaired. `now` gives an open incident's duration. New
 * reference; NULL when the store fails or memory runs out (err says
 * which). Cost: at most TOCSIN_INCIDENT_SCAN_MAX rows read.
 */
json_t *tocsin_incidents_json(struct tocsin_store *st, const struct tocsin_config *conf,
                              const struct tocsin_incident_query *q, time_t now,
                              struct tocsin_buf *err);

/*
 * {"events": [...], "count": N, "truncated": bool} for q: the newest
 * `limit` events of the history (state changes, notifications queued and
 * their delivery attempts, acknowledgements, downtimes, ...), newest last.
 * Same ownership and bound as tocsin_incidents_json.
 */
json_t *tocsin_history_json(struct tocsin_store *st, const struct tocsin_config *conf,
                            const struct tocsin_incident_query *q, struct tocsin_buf *err);

/* ------------------------------------------------------------------ */
/* Metric history                                                      */
/* ------------------------------------------------------------------ */

/*
 * {"service": S, "resolution": "1m" | "1h", "since": T, "series":
 * [{"label": L, "points": [{"t": EPOCH, "time": T, "min", "avg", "max",
 * "last" (minutes only), "count"}]}], "count": N, "truncated": bool}: the
 * history of `service` (of `label` only unless NULL) from since_ms on.
 * Minute points when since_ms is within the configuration's
 * history_detail of now_ms, hourly ones otherwise. At most
 * TOCSIN_INCIDENT_SCAN_MAX points. Returns a new reference, or NULL with
 * err set.
 */
json_t *tocsin_metrics_json(struct tocsin_store *st, const struct tocsin_config *conf,
                            const char *service, const char *label, int64_t since_ms,
                            int64_t now_ms, struct tocsin_buf *err);

#endif
