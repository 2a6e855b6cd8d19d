/*
 * http-incidents.c - /api/v1/incidents and /api/v1/history: the query
 * string parsed into the query of serve/incidents.h, answered whole from
 * the store (each answer bounded in items and in rows read).
 */
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

/* Answer one of the two paths. */
static enum MHD_Result serve(struct tocsin_httpd *h, struct MHD_Connection *c, int incidents)
{
    struct tocsin_incident_query q;
    struct tocsin_buf err = TOCSIN_BUF_INIT, body = TOCSIN_BUF_INIT;
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
    if (!qp.failed && !h->status->store) {
        ret = tocsin_http_json_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                     "this daemon keeps no store (no state_dir)", NULL, NULL);
        goto out;
    }
    if (!qp.failed)
        answer = incidents
            ? tocsin_incidents_json(h->status->store, h->status->conf, &q, time(NULL), &err)
            : tocsin_history_json(h->status->store, h->status->conf, &q, &err);
    if (!answer && !err.oom) {
        ret = tocsin_http_json_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, tocsin_buf_str(&err),
                                     NULL, NULL);
        goto out;
    }
    if (!answer) {
        ret = MHD_NO;
        goto out;
    }
    tocsin_http_json_body(answer, 0, &body);
    ret = tocsin_http_respond(c, MHD_HTTP_OK, CT_JSON, &body, NULL, NULL);
out:
    tocsin_incident_query_free(&q);
    tocsin_buf_free(&err);
    tocsin_buf_free(&body);
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
