/*
 * http-api.c - the JSON API under /api/v1/: /api/v1/services (filtered by
 * ?state= and ?label=, streamed a batch of services at a time so that a
 * long list never holds up the event loop for long) and
 * /api/v1/services/NAME.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "serve/http-internal.h"
#include "serve/svc-json.h"

#define STREAM_BATCH 64              /* services serialised per slice of a JSON list */

/* Filling a filter from the query string: what went wrong, if anything. */
struct label_parse {
    struct tocsin_svc_filter *f;
    int too_many;                         /* 1: over the limit; -1: out of memory */
    const char *bad_label;
};

static const char *const state_words[] = {"ok", "warning", "critical", "unknown", "pending"};

static enum MHD_Result collect_label(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct label_parse *lp = cls;
    int rc;

    (void)kind;
    if (strcmp(key, "label") != 0)
        return MHD_YES;
    if (!value || !strchr(value, '=') || *value == '=') {
        lp->bad_label = value ? value : "";
        return MHD_NO;
    }
    rc = tocsin_svc_filter_add_label(lp->f, value);
    if (rc < 0) {
        lp->too_many = rc == -1 ? 1 : -1;
        return MHD_NO;
    }
    return MHD_YES;
}

/* Parse ?state=a,b and ?label=k=v (repeatable) into `f` (release with
 * tocsin_svc_filter_free). Returns 0, or -1 with a message for the client
 * in `err`. */
static int parse_filter(struct MHD_Connection *c, struct tocsin_svc_filter *f,
                        struct tocsin_buf *err)
{
    const char *states = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
    struct label_parse lp;

    memset(f, 0, sizeof(*f));
    if (states) {
        const char *p = states;

        while (*p) {
            size_t n = strcspn(p, ","), k;

            for (k = 0; k < 5; k++)
                if (strlen(state_words[k]) == n && strncasecmp(p, state_words[k], n) == 0)
                    break;
            if (k == 5) {
                tocsin_buf_printf(err, "state \"%.*s\" is not one of ok, warning, critical, "
                                  "unknown, pending", (int)(n > 64 ? 64 : n), p);
                return -1;
            }
            f->states |= 1u << k;
            p += n;
            if (*p == ',')
                p++;
        }
        if (!f->states) {
            tocsin_buf_puts(err, "state is empty; give one of ok, warning, critical, "
                            "unknown, pending");
            return -1;
        }
    }
    memset(&lp, 0, sizeof(lp));
    lp.f = f;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_label, &lp);
    if (lp.bad_label) {
        tocsin_buf_printf(err, "label \"%.64s\" is not KEY=VALUE", lp.bad_label);
        tocsin_svc_filter_free(f);
        return -1;
    }
    if (lp.too_many) {
        if (lp.too_many > 0)
            tocsin_buf_printf(err, "at most %d label filters", TOCSIN_SVC_FILTER_MAX_LABELS);
        else
            err->oom = 1;
        tocsin_svc_filter_free(f);
        return -1;
    }
    return 0;
}

/* Service `i` as the API tells it. NULL when memory runs out. */
static json_t *service_json(const struct tocsin_status *st, size_t i, time_t now)
{
    const struct tocsin_incident *inc = st->alerting
        ? tocsin_alerting_incident(st->alerting, (uint32_t)i) : NULL;

    return tocsin_svc_json(st->conf, &st->conf->services[i], &st->views[i], inc, TOCSIN_SVC_JSON_API, now);
}

/*
 * A JSON list being sent. It is serialised STREAM_BATCH services at a time,
 * as libmicrohttpd asks for more to send, so that a long list holds up the
 * event loop for a slice at a time rather than for the whole list. Each
 * object is what the daemon knew when it was serialised.
 */
struct list_stream {
    const struct tocsin_status *status;
    const struct tocsin_config *conf; /* the configuration it started with */
    struct tocsin_svc_filter f;
    time_t now;
    size_t next;                  /* next service to consider */
    size_t items;                 /* objects written so far */
    int started, done;            /* '[' written; ']' written */
    struct tocsin_buf pending;    /* serialised, not handed over yet */
    size_t off;                   /* ... of which this much was handed over */
};

static ssize_t list_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct list_stream *ls = cls;
    const struct tocsin_status *st = ls->status;
    size_t batch = 0;

    (void)pos;
    if (ls->off == ls->pending.len) {
        if (ls->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (st->conf != ls->conf)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        tocsin_buf_reset(&ls->pending);
        ls->off = 0;
        if (!ls->started) {
            tocsin_buf_putc(&ls->pending, '[');
            ls->started = 1;
        }
        while (ls->next < st->conf->nservices && batch < STREAM_BATCH) {
            size_t i = ls->next++;
            json_t *o;

            if (!tocsin_svc_filter_match(&ls->f, &st->conf->services[i], &st->views[i]))
                continue;
            o = service_json(st, i, ls->now);
            if (!o)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            if (ls->items++)
                tocsin_buf_putc(&ls->pending, ',');
            tocsin_http_json_append(o, &ls->pending);
            json_decref(o);
            batch++;
        }
        if (ls->next >= st->conf->nservices) {
            tocsin_buf_puts(&ls->pending, "]\n");
            ls->done = 1;
        }
        if (ls->pending.oom)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return tocsin_http_hand_over(&ls->pending, &ls->off, buf, max);
}

static void list_free(void *cls)
{
    struct list_stream *ls = cls;

    tocsin_svc_filter_free(&ls->f);
    tocsin_buf_free(&ls->pending);
    free(ls);
}

enum MHD_Result tocsin_http_serve_services(struct tocsin_httpd *h, struct MHD_Connection *c)
{
    struct tocsin_buf err = TOCSIN_BUF_INIT;
    struct list_stream *ls;
    struct MHD_Response *r;
    enum MHD_Result ret;

    ls = calloc(1, sizeof(*ls));
    if (!ls)
        return MHD_NO;
    if (parse_filter(c, &ls->f, &err) < 0) {
        free(ls);
        if (err.oom) {
            tocsin_buf_free(&err);
            return MHD_NO;
        }
        ret = tocsin_http_json_error(c, MHD_HTTP_BAD_REQUEST, tocsin_buf_str(&err), NULL, NULL);
        tocsin_buf_free(&err);
        return ret;
    }
    ls->status = h->status;
    ls->conf = h->status->conf;
    ls->now = time(NULL);
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, list_read, ls,
                                          list_free);
    if (!r) {
        list_free(ls);
        return MHD_NO;
    }
    return tocsin_http_queue(c, MHD_HTTP_OK, r, CT_JSON, NULL, NULL);
}

enum MHD_Result tocsin_http_serve_service(struct tocsin_httpd *h, struct MHD_Connection *c,
                                          const char *name)
{
    const struct tocsin_status *st = h->status;
    struct tocsin_buf body = TOCSIN_BUF_INIT, msg = TOCSIN_BUF_INIT;
    long i = tocsin_config_find_service(st->conf, name);
    enum MHD_Result ret;

    if (i < 0) {
        tocsin_buf_puts(&msg, "no service named \"");
        tocsin_buf_append(&msg, name, strnlen(name, 200));
        tocsin_buf_putc(&msg, '"');
        ret = tocsin_http_json_error(c, MHD_HTTP_NOT_FOUND, tocsin_buf_str(&msg), NULL, NULL);
        tocsin_buf_free(&msg);
        return ret;
    }
    tocsin_http_json_body(service_json(st, (size_t)i, time(NULL)), 0, &body);
    return tocsin_http_respond(c, MHD_HTTP_OK, CT_JSON, &body, NULL, NULL);
}
