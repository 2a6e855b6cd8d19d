/*
 * http-api.c - the JSON API under /api/v1/: /api/v1/services (filtered by
 * ?state= and ?label=, streamed a batch of services at a time so that a
 * long list never holds up the event loop for long) and
 * /api/v1/services/NAME.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "base/labels.h"
#include "serve/http-internal.h"
#include "serve/svc-json.h"
#include "lib/nagios.h"

#define MAX_LABEL_FILTERS 16
#define STREAM_BATCH 64              /* services serialised per slice of a JSON list */

static json_t *jtime(time_t t)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    json_t *j;

    if (t <= 0)
        return json_null();
    tocsin_http_rfc3339(&b, t);
    j = b.oom ? NULL : json_string(tocsin_buf_str(&b));
    tocsin_buf_free(&b);
    return j;
}

static json_t *jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Everything the API says about service `i`. NULL when memory runs out. */
static json_t *service_json(const struct tocsin_status *st, size_t i, time_t now)
{
    const struct tocsin_service_conf *s = &st->conf->services[i];
    const struct tocsin_svc_view *v = &st->views[i];
    const struct tocsin_incident *inc = st->alerting
        ? tocsin_alerting_incident(st->alerting, (uint32_t)i) : NULL;
    struct tocsin_output out;
    json_t *o = json_object(), *labels = json_object(), *perf = json_array();
    int bad = !o || !labels || !perf, parsed = 0;
    size_t k;

    memset(&out, 0, sizeof(out));
    if (v->output) {
        if (tocsin_output_parse(v->output, strlen(v->output), &out) < 0)
            bad = 1;
        else
            parsed = 1;
    }
    if (bad)
        goto out;
    tocsin_json_set(o, "name", tocsin_json_text(s->inst.name), &bad);
    tocsin_json_set(o, "host", tocsin_json_text(s->host), &bad);
    tocsin_json_set(o, "kind", json_string(s->is_group ? "group" : "service"), &bad);
    tocsin_json_set(o, "check", s->is_group ? json_null() : tocsin_json_text(s->inst.plugin_name),
                    &bad);
    tocsin_json_set(o, "state", json_string(tocsin_http_state_word(v->checked, v->state)), &bad);
    tocsin_json_set(o, "hard_state",
                    json_string(tocsin_http_state_word(v->checked, v->hard_state)), &bad);
    tocsin_json_set(o, "is_hard", json_boolean(v->checked && v->is_hard), &bad);
    tocsin_json_set(o, "attempt", json_integer(v->attempt), &bad);
    tocsin_json_set(o, "max_attempts", json_integer(s->max_attempts), &bad);
    tocsin_json_set(o, "flapping", json_boolean(v->flapping), &bad);
    tocsin_json_set(o, "last_check", v->checked ? jtime(v->last_check) : json_null(), &bad);
    tocsin_json_set(o, "last_change", v->checked ? jtime(v->last_change) : json_null(), &bad);
    tocsin_json_set(o, "output", parsed ? tocsin_json_text(out.first_line) : json_null(), &bad);
    tocsin_json_set(o, "long_output", parsed ? tocsin_json_text(out.long_output) : json_null(),
                    &bad);
    for (k = 0; parsed && k < out.nperf; k++) {
        const struct tocsin_perf *p = &out.perf[k];
        json_t *po = json_object();

        if (!po) {
            bad = 1;
            break;
        }
        tocsin_json_set(po, "label", tocsin_json_text(p->label), &bad);
        tocsin_json_set(po, "value", p->value_unknown ? json_null() : jreal(p->value), &bad);
        tocsin_json_set(po, "uom", json_string(p->uom), &bad);
        tocsin_json_set(po, "warn", tocsin_json_text(p->warn), &bad);
        tocsin_json_set(po, "crit", tocsin_json_text(p->crit), &bad);
        tocsin_json_set(po, "min", p->has_min ? jreal(p->min) : json_null(), &bad);
        tocsin_json_set(po, "max", p->has_max ? jreal(p->max) : json_null(), &bad);
        tocsin_json_push(perf, po, &bad);
    }
    tocsin_json_set(o, "perfdata", perf, &bad);
    perf = NULL;
    for (k = 0; k < s->nlabels; k++)
        tocsin_json_set(labels, s->labels[k].key, tocsin_json_text(s->labels[k].value), &bad);
    tocsin_json_set(o, "labels", labels, &bad);
    labels = NULL;
    if (inc && inc->acked) {
        json_t *a = json_object();

        if (a) {
            tocsin_json_set(a, "by", tocsin_json_text(inc->ack_author), &bad);
            tocsin_json_set(a, "text", tocsin_json_text(inc->ack_text), &bad);
        }
        tocsin_json_set(o, "acknowledged", a, &bad);
    } else {
        tocsin_json_set(o, "acknowledged", json_null(), &bad);
    }
    if (inc && inc->downtime_until > now) {
        json_t *d = json_object();

        if (d) {
            tocsin_json_set(d, "until", jtime(inc->downtime_until), &bad);
            tocsin_json_set(d, "by", tocsin_json_text(inc->downtime_author), &bad);
            tocsin_json_set(d, "text", tocsin_json_text(inc->downtime_text), &bad);
        }
        tocsin_json_set(o, "downtime", d, &bad);
    } else {
        tocsin_json_set(o, "downtime", json_null(), &bad);
    }
    tocsin_json_set(o, "incident", tocsin_json_text(inc ? inc->key : NULL), &bad);
out:
    if (parsed)
        tocsin_output_free(&out);
    json_decref(labels);
    json_decref(perf);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

struct filter {
    int states;                           /* bit per state word index; 0: any */
    char *labels[MAX_LABEL_FILTERS];      /* "key=value" (owned, once parsed) */
    int nlabels;
    int too_many;
    const char *bad_label;
};

static const char *const state_words[] = {"ok", "warning", "critical", "unknown", "pending"};

static enum MHD_Result collect_label(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct filter *f = cls;

    (void)kind;
    if (strcmp(key, "label") != 0)
        return MHD_YES;
    if (!value || !strchr(value, '=') || *value == '=') {
        f->bad_label = value ? value : "";
        return MHD_NO;
    }
    if (f->nlabels == MAX_LABEL_FILTERS) {
        f->too_many = 1;
        return MHD_NO;
    }
    f->labels[f->nlabels] = strdup(value);
    if (!f->labels[f->nlabels]) {
        f->too_many = -1;
        return MHD_NO;
    }
    f->nlabels++;
    return MHD_YES;
}

static void filter_free(struct filter *f)
{
    int k;

    for (k = 0; k < f->nlabels; k++)
        free(f->labels[k]);
    f->nlabels = 0;
}

/* Parse ?state=a,b and ?label=k=v (repeatable) into `f` (release with
 * filter_free). Returns 0, or -1 with a message for the client in `err`. */
static int parse_filter(struct MHD_Connection *c, struct filter *f, struct tocsin_buf *err)
{
    const char *states = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");

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
            f->states |= 1 << k;
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
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_label, f);
    if (f->bad_label) {
        tocsin_buf_printf(err, "label \"%.64s\" is not KEY=VALUE", f->bad_label);
        filter_free(f);
        return -1;
    }
    if (f->too_many) {
        if (f->too_many > 0)
            tocsin_buf_printf(err, "at most %d label filters", MAX_LABEL_FILTERS);
        else
            err->oom = 1;
        filter_free(f);
        return -1;
    }
    return 0;
}

static int filter_match(const struct filter *f, const struct tocsin_status *st, size_t i)
{
    const struct tocsin_service_conf *s = &st->conf->services[i];
    const struct tocsin_svc_view *v = &st->views[i];
    int k;

    if (f->states) {
        int word = v->checked ? (v->state >= TOCSIN_OK && v->state <= TOCSIN_UNKNOWN
                                 ? (int)v->state : 3) : 4;

        if (!(f->states & (1 << word)))
            return 0;
    }
    for (k = 0; k < f->nlabels; k++)
        if (!tocsin_labels_has_kv(s->labels, s->nlabels, f->labels[k]))
            return 0;
    return 1;
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
    struct filter f;
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

            if (!filter_match(&ls->f, st, i))
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

    filter_free(&ls->f);
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
