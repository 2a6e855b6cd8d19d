/*
 * http-incidents.c - /api/v1/incidents and /api/v1/history: the query
 * string parsed into the query of serve/incidents.h, answered whole from
 * the store (each answer bounded in items and in rows read); and
 * /api/v1/services/NAME/metrics, the metric history of one service.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/clock.h"
#include "serve/http-internal.h"
#include "serve/incidents.h"

/* Filling a query from the query string, one parameter at a time. */
struct query_parse {
    struct tocsin_incident_query *q;
    int incidents;                /* /api/v1/incidents: state= is known */
    int64_t now_ms;
    struct tocsin_buf *err;
    int failed;
};

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct query_parse *qp = cls;
    const char *v = value ? value : "";
    int rc;

    (void)kind;
    if (strcmp(key, "service") == 0)
        rc = tocsin_incident_query_service(qp->q, v, qp->err);
    else if (strcmp(key, "label") == 0)
        rc = tocsin_incident_query_label(qp->q, v, qp->err);
    else if (strcmp(key, "since") == 0)
        rc = tocsin_incident_query_since(qp->q, v, qp->now_ms, qp->err);
    else if (strcmp(key, "limit") == 0)
        rc = tocsin_incident_query_limit(qp->q, v, qp->err);
    else if (strcmp(key, "state") == 0 && qp->incidents)
        rc = tocsin_incident_query_state(qp->q, v, qp->err);
    else {
        tocsin_buf_printf(qp->err, "unknown parameter \"%.64s\"; this path takes %s", key,
                          qp->incidents ? "state, service, label, since, limit"
                                        : "service, label, since, limit");
        rc = -1;
    }
    if (rc < 0) {
        qp->failed = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

/* Answer with `answer` (released), or, when it is NULL, with err's
 * message (500), or with nothing when memory ran out. */
static enum MHD_Result answer_whole(struct MHD_Connection *c, json_t *answer,
                                    struct tocsin_buf *err)
{
    struct tocsin_buf body = TOCSIN_BUF_INIT;
    enum MHD_Result ret;

    if (!answer)
        return err->oom ? MHD_NO
                        : tocsin_http_json_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                                 tocsin_buf_str(err), NULL, NULL);
    tocsin_http_json_body(answer, 0, &body);
    ret = tocsin_http_respond(c, MHD_HTTP_OK, CT_JSON, &body, NULL, NULL);
    tocsin_buf_free(&body);
    return ret;
}

/* When the daemon has no store: answer 503 (its result to *ret) and
 * return 1; else return 0. */
static int no_store(struct tocsin_httpd *h, struct MHD_Connection *c, enum MHD_Result *ret)
{
    if (h->status->store)
        return 0;
    *ret = tocsin_http_json_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "this daemon keeps no store (no state_dir)", NULL, NULL);
    return 1;
}

/* Answer one of the two paths. */
static enum MHD_Result serve(struct tocsin_httpd *h, struct MHD_Connection *c, int incidents)
{
    struct tocsin_incident_query q;
    struct tocsin_buf err = TOCSIN_BUF_INIT;
    struct query_parse qp;
    enum MHD_Result ret;
    json_t *answer = NULL;

    memset(&q, 0, sizeof(q));
    memset(&qp, 0, sizeof(qp));
    qp.q = &q;
    qp.incidents = incidents;
    qp.now_ms = tocsin_wall_ms();
    qp.err = &err;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_param, &qp);
    if (qp.failed && !err.oom) {
        ret = tocsin_http_json_error(c, MHD_HTTP_BAD_REQUEST, tocsin_buf_str(&err), NULL, NULL);
        goto out;
    }
    if (qp.failed) {
        ret = MHD_NO;
        goto out;
    }
    if (no_store(h, c, &ret))
        goto out;
    answer = incidents
            ? tocsin_incidents_json(h->status->store, h->status->conf, &q, time(NULL), &err)
            : tocsin_history_json(h->status->store, h->status->conf, &q, &err);
    ret = answer_whole(c, answer, &err);
out:
    tocsin_incident_query_free(&q);
    tocsin_buf_free(&err);
    return ret;
}

enum MHD_Result tocsin_http_serve_incidents(struct tocsin_httpd *h, struct MHD_Connection *c)
{
    return serve(h, c, 1);
}

enum MHD_Result tocsin_http_serve_history(struct tocsin_httpd *h, struct MHD_Connection *c)
{
    return serve(h, c, 0);
}

/* The parameters of /api/v1/services/NAME/metrics. */
struct metrics_params {
    struct tocsin_incident_query q; /* only since_ms is used */
    const char *label;
    int64_t now_ms;
    struct tocsin_buf *err;
    int failed;
};

static enum MHD_Result collect_metrics_param(void *cls, enum MHD_ValueKind kind,
                                             const char *key, const char *value)
{
    struct metrics_params *mp = cls;
    const char *v = value ? value : "";

    (void)kind;
    if (strcmp(key, "since") == 0) {
        if (tocsin_incident_query_since(&mp->q, v, mp->now_ms, mp->err) == 0)
            return MHD_YES;
    } else if (strcmp(key, "label") == 0) {
        mp->label = v;
        return MHD_YES;
    } else {
        tocsin_buf_printf(mp->err, "unknown parameter \"%.64s\"; this path takes since, "
                          "label", key);
    }
    mp->failed = 1;
    return MHD_NO;
}

enum MHD_Result tocsin_http_serve_service_metrics(struct tocsin_httpd *h,
                                                  struct MHD_Connection *c,
                                                  const char *name, size_t len)
{
    struct tocsin_buf err = TOCSIN_BUF_INIT;
    struct metrics_params mp;
    enum MHD_Result ret;
    json_t *answer = NULL;
    char *service = strndup(name, len);

    memset(&mp, 0, sizeof(mp));
    mp.now_ms = tocsin_wall_ms();
    mp.err = &err;
    if (!service) {
        ret = MHD_NO;
        goto out;
    }
    if (tocsin_incident_query_since(&mp.q, "1h", mp.now_ms, &err) < 0) {
        ret = MHD_NO;
        goto out;
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_metrics_param, &mp);
    if (mp.failed && !err.oom) {
        ret = tocsin_http_json_error(c, MHD_HTTP_BAD_REQUEST, tocsin_buf_str(&err), NULL, NULL);
        goto out;
    }
    if (mp.failed) {
        ret = MHD_NO;
        goto out;
    }
    if (no_store(h, c, &ret))
        goto out;
    answer = tocsin_metrics_json(h->status->store, h->status->conf, service, mp.label,
                                 mp.q.since_ms, mp.now_ms, &err);
    ret = answer_whole(c, answer, &err);
out:
    free(service);
    tocsin_incident_query_free(&mp.q);
    tocsin_buf_free(&err);
    return ret;
}
