/*
 * incidents.c - the incident and history query shared by the HTTP API and
 * the control socket, and the answers built from the store. See
 * incidents.h and docs/http-endpoint.md.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/labels.h"
#include "serve/incidents.h"
#include "tocsin-plugin.h"

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

int tocsin_incident_query_state(struct tocsin_incident_query *q, const char *word,
                                struct tocsin_buf *err)
{
    if (strcmp(word, "open") == 0)
        q->which = TOCSIN_INCIDENTS_OPEN;
    else if (strcmp(word, "closed") == 0)
        q->which = TOCSIN_INCIDENTS_CLOSED;
    else if (strcmp(word, "all") == 0)
        q->which = TOCSIN_INCIDENTS_ALL;
    else {
        tocsin_buf_printf(err, "state \"%.64s\" is not one of open, closed, all", word);
        return -1;
    }
    q->which_set = 1;
    return 0;
}

int tocsin_incident_query_service(struct tocsin_incident_query *q, const char *list,
                                  struct tocsin_buf *err)
{
    const char *p = list;

    if (!*list) {
        tocsin_buf_puts(err, "service is empty; give a service name");
        return -1;
    }
    while (*p) {
        size_t n = strcspn(p, ",");

        if (n == 0) {
            tocsin_buf_printf(err, "service \"%.64s\" has an empty name in its list", list);
            return -1;
        }
        if (q->nservices == TOCSIN_INCIDENT_MAX_SERVICES) {
            tocsin_buf_printf(err, "at most %d services", TOCSIN_INCIDENT_MAX_SERVICES);
            return -1;
        }
        if (!(q->services[q->nservices] = strndup(p, n))) {
            err->oom = 1;
            return -1;
        }
        q->nservices++;
        p += n;
        if (*p == ',' && !*++p) {
            tocsin_buf_printf(err, "service \"%.64s\" has an empty name in its list", list);
            return -1;
        }
    }
    return 0;
}

int tocsin_incident_query_label(struct tocsin_incident_query *q, const char *kv,
                                struct tocsin_buf *err)
{
    int rc;

    if (!strchr(kv, '=') || *kv == '=') {
        tocsin_buf_printf(err, "label \"%.64s\" is not KEY=VALUE", kv);
        return -1;
    }
    rc = tocsin_svc_filter_add_label(&q->labels, kv);
    if (rc == -1)
        tocsin_buf_printf(err, "at most %d label filters", TOCSIN_SVC_FILTER_MAX_LABELS);
    else if (rc < 0)
        err->oom = 1;
    return rc < 0 ? -1 : 0;
}

/* Two digits at p into *v; 0, or -1 when they are not digits. */
static int two_digits(const char *p, int *v)
{
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return 0;
}

/*
 * RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" (a space or a
 * lower-case t for the T, a lower-case z) into milliseconds since the
 * epoch. Returns 0, or -1 when `s` is not one.
 */
static int parse_rfc3339(const char *s, int64_t *ms)
{
    struct tm tm;
    int y1, y2, mo, d, h, mi, sec, oh, om, frac_ms = 0, scale = 100;
    const char *p = s + 19;
    time_t t;
    long off = 0;

    if (strlen(s) < 20 || two_digits(s, &y1) || two_digits(s + 2, &y2) || s[4] != '-' ||
        two_digits(s + 5, &mo) || s[7] != '-' || two_digits(s + 8, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || two_digits(s + 11, &h) ||
        s[13] != ':' || two_digits(s + 14, &mi) || s[16] != ':' || two_digits(s + 17, &sec))
        return -1;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return -1;
        for (; isdigit((unsigned char)*p); p++, scale /= 10)
            frac_ms += (*p - '0') * scale;
    }
    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        off = 0;
    } else if ((*p == '+' || *p == '-') && !two_digits(p + 1, &oh) && p[3] == ':' &&
               !two_digits(p + 4, &om) && !p[6] && oh < 24 && om < 60) {
        off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
    } else {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y1 * 100 + y2 - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (tm.tm_mday != d)            /* 31 February went on into March */
        return -1;
    *ms = ((int64_t)t - off) * 1000 + frac_ms;
    return 0;
}

int tocsin_incident_query_since(struct tocsin_incident_query *q, const char *text,
                                int64_t now_ms, struct tocsin_buf *err)
{
    long ms;

    if (parse_rfc3339(text, &q->since_ms) == 0)
        return 0;
    if (*text && tocsin_duration_parse(text, &ms) == 0 && ms >= 0) {
        q->since_ms = now_ms - ms > 0 ? now_ms - ms : 0;
        return 0;
    }
    tocsin_buf_printf(err, "since \"%.64s\" is neither a duration (30m, 2h, 7d) nor an "
                      "RFC 3339 time (2026-12-01T08:00:00Z)", text);
    return -1;
}

int tocsin_incident_query_limit(struct tocsin_incident_query *q, const char *text,
                                struct tocsin_buf *err)
{
    char *end;
    long n;

    n = strtol(text, &end, 10);
    if (!isdigit((unsigned char)*text) || *end || n < 1 || n > TOCSIN_INCIDENT_LIMIT_MAX) {
        tocsin_buf_printf(err, "limit \"%.64s\" is not a whole number from 1 to %d", text,
                          TOCSIN_INCIDENT_LIMIT_MAX);
        return -1;
    }
    q->limit = (size_t)n;
    return 0;
}

void tocsin_incident_query_free(struct tocsin_incident_query *q)
{
    size_t i;

    for (i = 0; i < q->nservices; i++)
        free(q->services[i]);
    tocsin_svc_filter_free(&q->labels);
    memset(q, 0, sizeof(*q));
}

int tocsin_incident_query_match(const struct tocsin_incident_query *q,
                                const struct tocsin_config *conf, const char *name)
{
    const struct tocsin_service_conf *s = NULL;
    long i = tocsin_config_find_service(conf, name);
    size_t k;

    if (q->nservices) {
        for (k = 0; k < q->nservices; k++)
            if (strcmp(q->services[k], name) == 0)
                break;
        if (k == q->nservices)
            return 0;
    }
    if (i >= 0)
        s = &conf->services[i];
    for (k = 0; k < q->labels.nlabels; k++)
        if (!s || !tocsin_labels_has_kv(s->labels, s->nlabels, q->labels.labels[k]))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Answers                                                             */
/* ------------------------------------------------------------------ */

/* The newest `limit` items taken, and whether more matched or the scan
 * stopped at its bound. Items are gathered newest first. */
struct gather {
    const struct tocsin_config *conf;
    const struct tocsin_incident_query *q;
    json_t *items;
    size_t limit;
    size_t rows;                  /* store rows read */
    int truncated;
    int oom;
    time_t now;
};

static json_t *time_json(int64_t ms)
{
    char buf[32];

    return json_string(tocsin_time_rfc3339((time_t)(ms / 1000), buf, sizeof(buf)));
}

/* The labels the configuration gives service `name` ({} when it is gone). */
static json_t *labels_json(const struct tocsin_config *conf, const char *name, int *bad)
{
    long i = tocsin_config_find_service(conf, name);
    json_t *o = json_object();
    size_t k;

    if (i >= 0)
        for (k = 0; k < conf->services[i].nlabels; k++)
            tocsin_json_set(o, conf->services[i].labels[k].key,
                            tocsin_json_text(conf->services[i].labels[k].value), bad);
    if (!o)
        *bad = 1;
    return o;
}

/* The service filter of the store: one service is asked of it, several
 * are matched here. */
static const char *store_service(const struct tocsin_incident_query *q)
{
    return q->nservices == 1 ? q->services[0] : NULL;
}

/* Decide whether to take one more row: 1 go on, 0 stop (truncated), and
 * whether it matches (*take). */
static int gather_row(struct gather *g, const char *service, int *take)
{
    *take = 0;
    if (g->rows++ >= TOCSIN_INCIDENT_SCAN_MAX) {
        g->truncated = 1;
        return 0;
    }
    if (!tocsin_incident_query_match(g->q, g->conf, service))
        return 1;
    if (json_array_size(g->items) >= g->limit) {
        g->truncated = 1;
        return 0;
    }
    *take = 1;
    return 1;
}

/* Keep `o` (taken over), unless it is incomplete (`bad`). Returns what a
 * store callback returns: 0 to go on, 1 to stop (out of memory). */
static int gather_push(struct gather *g, json_t *o, int bad)
{
    if (bad) {
        json_decref(o);
        g->oom = 1;
        return 1;
    }
    tocsin_json_push(g->items, o, &g->oom);
    return g->oom;
}

static int incident_one(void *ud, const struct tocsin_incident_row *r)
{
    struct gather *g = ud;
    int64_t end_ms = r->end_ms ? r->end_ms : (int64_t)g->now * 1000;
    json_t *o, *ack = NULL;
    int bad = 0, take;

    if (!gather_row(g, r->service, &take))
        return 1;
    if (!take)
        return 0;
    o = json_object();
    tocsin_json_set(o, "key", tocsin_json_text(r->key), &bad);
    tocsin_json_set(o, "service", tocsin_json_text(r->service), &bad);
    tocsin_json_set(o, "host", tocsin_json_text(r->host), &bad);
    tocsin_json_set(o, "labels", labels_json(g->conf, r->service, &bad), &bad);
    tocsin_json_set(o, "status", json_string(r->end_ms ? "closed" : "open"), &bad);
    tocsin_json_set(o, "state", json_string(tocsin_svc_state_word(1, (enum tocsin_state)r->state)),
                    &bad);
    tocsin_json_set(o, "severity", json_string(tocsin_severity_name(r->severity)), &bad);
    tocsin_json_set(o, "start", time_json(r->start_ms), &bad);
    tocsin_json_set(o, "end", r->end_ms ? time_json(r->end_ms) : json_null(), &bad);
    tocsin_json_set(o, "duration_seconds",
                    json_integer(end_ms > r->start_ms ? (end_ms - r->start_ms) / 1000 : 0),
                    &bad);
    if (r->acked) {
        ack = json_object();
        tocsin_json_set(ack, "by", *r->ack_by ? tocsin_json_text(r->ack_by) : json_null(),
                        &bad);
        tocsin_json_set(ack, "text", tocsin_json_text(r->ack_text), &bad);
        tocsin_json_set(ack, "at", time_json(r->ack_ms), &bad);
    }
    tocsin_json_set(o, "acknowledged", ack ? ack : json_null(), &bad);
    tocsin_json_set(o, "notifications",
                    json_pack("{s:I, s:I, s:I}", "sent", (json_int_t)r->sent, "pending",
                              (json_int_t)r->pending, "failed", (json_int_t)r->failed),
                    &bad);
    tocsin_json_set(o, "output", tocsin_json_text(r->output), &bad);
    return gather_push(g, o, bad);
}

static int event_one(void *ud, int64_t at_ms, const char *service, const char *kind,
                     const char *text)
{
    struct gather *g = ud;
    json_t *o;
    int bad = 0, take;

    if (!gather_row(g, service, &take))
        return 1;
    if (!take)
        return 0;
    o = json_object();
    tocsin_json_set(o, "at", time_json(at_ms), &bad);
    tocsin_json_set(o, "at_ms", json_integer((json_int_t)at_ms), &bad);
    tocsin_json_set(o, "service", tocsin_json_text(service), &bad);
    tocsin_json_set(o, "kind", tocsin_json_text(kind), &bad);
    tocsin_json_set(o, "text", tocsin_json_text(text), &bad);
    return gather_push(g, o, bad);
}

/* Reverse the gathered items (newest first) and wrap them as `name`. */
static json_t *gather_answer(struct gather *g, int listed, const char *name,
                             struct tocsin_buf *err)
{
    size_t i, n;
    json_t *out = NULL, *rev = NULL;
    int bad = 0;

    if (listed < 0) {
        tocsin_buf_puts(err, "cannot read the store (see the daemon's log)");
        goto out;
    }
    if (g->oom || !g->items || !(rev = json_array())) {
        err->oom = 1;
        goto out;
    }
    n = json_array_size(g->items);
    for (i = n; i > 0; i--)
        tocsin_json_push(rev, json_incref(json_array_get(g->items, i - 1)), &bad);
    out = json_object();
    tocsin_json_set(out, name, rev, &bad);
    tocsin_json_set(out, "count", json_integer((json_int_t)n), &bad);
    tocsin_json_set(out, "truncated", json_boolean(g->truncated), &bad);
    if (bad || !out) {
        json_decref(out);
        out = NULL;
        err->oom = 1;
    }
out:
    json_decref(g->items);
    return out;
}

json_t *tocsin_incidents_json(struct tocsin_store *st, const struct tocsin_config *conf,
                              const struct tocsin_incident_query *q, time_t now,
                              struct tocsin_buf *err)
{
    struct gather g = {conf, q, json_array(), q->limit ? q->limit
                       : TOCSIN_INCIDENT_LIMIT_DEFAULT, 0, 0, 0, now};
    int listed;

    listed = tocsin_incident_list(st, q->which_set ? q->which : TOCSIN_INCIDENTS_OPEN,
                                  q->since_ms, store_service(q), incident_one, &g);
    return gather_answer(&g, listed, "incidents", err);
}

json_t *tocsin_history_json(struct tocsin_store *st, const struct tocsin_config *conf,
                            const struct tocsin_incident_query *q, struct tocsin_buf *err)
{
    struct gather g = {conf, q, json_array(), q->limit ? q->limit
                       : TOCSIN_INCIDENT_LIMIT_DEFAULT, 0, 0, 0, 0};
    int listed;

    listed = tocsin_history_list_newest(st, store_service(q), q->since_ms, event_one, &g);
    return gather_answer(&g, listed, "events", err);
}

/* ------------------------------------------------------------------ */
/* Metric history                                                      */
/* ------------------------------------------------------------------ */

/* Building the series of tocsin_metrics_json, one point at a time. */
struct metrics_walk {
    json_t *series;               /* the array */
    json_t *points;               /* of the last label, held by series */
    char *label;                  /* the last label; owned */
    int failed;
};

static int metrics_point(void *ud, const char *label, const struct tocsin_metric_row *r)
{
    struct metrics_walk *w = ud;
    char when[40];
    json_t *p;

    if (!w->label || strcmp(w->label, label) != 0) {
        json_t *one = json_object();

        free(w->label);
        w->label = strdup(label);
        w->points = json_array();
        if (!one || !w->label || !w->points ||
            json_object_set_new(one, "label", json_string(label)) < 0 ||
            json_object_set(one, "points", w->points) < 0 ||
            json_array_append_new(w->series, one) < 0) {
            json_decref(w->points);
            w->points = NULL;
            w->failed = 1;
            return 1;
        }
        json_decref(w->points); /* held by `one` */
    }
    p = json_pack("{s:I, s:s, s:f, s:f, s:f, s:I}", "t", (json_int_t)r->t, "time",
                  tocsin_time_rfc3339((time_t)r->t, when, sizeof(when)), "min", r->min,
                  "avg", r->avg, "max", r->max, "count", (json_int_t)r->count);
    if (!p || (!isnan(r->last) && json_object_set_new(p, "last", json_real(r->last)) < 0) ||
        json_array_append_new(w->points, p) < 0) {
        w->failed = 1;
        return 1;
    }
    return 0;
}

json_t *tocsin_metrics_json(struct tocsin_store *st, const struct tocsin_config *conf,
                            const char *service, const char *label, int64_t since_ms,
                            int64_t now_ms, struct tocsin_buf *err)
{
    struct metrics_walk w;
    json_t *answer = NULL;
    char when[40];
    int hourly, truncated, n;

    memset(&w, 0, sizeof(w));
    hourly = now_ms - since_ms > conf->history_detail_ms;
    w.series = json_array();
    if (!w.series) {
        err->oom = 1;
        goto out;
    }
    n = tocsin_metric_list(st, service, label, hourly, since_ms / 1000,
                           TOCSIN_INCIDENT_SCAN_MAX, &truncated, metrics_point, &w);
    if (n < 0) {
        tocsin_buf_puts(err, "the store cannot be read (see the daemon's log)");
        goto out;
    }
    if (w.failed) {
        err->oom = 1;
        goto out;
    }
    answer = json_pack("{s:s, s:s, s:s, s:O, s:i, s:b}", "service", service, "resolution",
                       hourly ? "1h" : "1m", "since",
                       tocsin_time_rfc3339((time_t)(since_ms / 1000), when, sizeof(when)),
                       "series", w.series, "count", n, "truncated", truncated);
    if (!answer)
        err->oom = 1;
out:
    json_decref(w.series);
    free(w.label);
    return answer;
}
