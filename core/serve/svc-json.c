/*
 * svc-json.c - services as the HTTP API and the control socket tell them:
 * the service object in either interface's style, the selection of
 * services, and JSON text with invalid UTF-8 repaired by libtocsin's
 * tocsin_utf8_clean(). See svc-json.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/labels.h"
#include "lib/nagios.h"
#include "serve/httpd.h"
#include "serve/svc-json.h"
#include "alerting/priority.h"
#include "tocsin-plugin.h"


const char *tocsin_svc_state_word(int checked, enum tocsin_state st)
{
    static const char *const words[] = {"ok", "warning", "critical", "unknown"};

    if (!checked)
        return "pending";
    return st >= TOCSIN_OK && st <= TOCSIN_UNKNOWN ? words[st] : "unknown";
}

/*
 * Valid text (nearly all of it) costs one validation pass in jansson; only
 * text jansson refuses is copied and repaired. The repaired copy is freed
 * here.
 */
json_t *tocsin_json_textn(const char *s, size_t len)
{
    char *copy, *clean;
    json_t *j;

    if (!s)
        return json_null();
    j = json_stringn(s, len);
    if (j)
        return j;
    copy = strndup(s, len);
    clean = copy ? tocsin_utf8_clean(copy, TOCSIN_UTF8_REPLACEMENT) : NULL;
    j = clean ? json_string(clean) : NULL;
    free(clean);
    free(copy);
    return j;
}

json_t *tocsin_json_text(const char *s)
{
    return s ? tocsin_json_textn(s, strlen(s)) : json_null();
}

void tocsin_json_set(json_t *o, const char *key, json_t *v, int *bad)
{
    if (!v || !o || json_object_set_new(o, key, v) < 0) {
        if (!o)
            json_decref(v);
        *bad = 1;
    }
}

void tocsin_json_push(json_t *a, json_t *v, int *bad)
{
    if (!v || !a || json_array_append_new(a, v) < 0) {
        if (!a)
            json_decref(v);
        *bad = 1;
    }
}

/* ------------------------------------------------------------------ */
/* A service as JSON                                                   */
/* ------------------------------------------------------------------ */

/* What a style decides, field by field. */
struct svc_form {
    int lower_case;   /* state words "ok".."pending"; else "OK".."PENDING" */
    int checked_key;  /* a "checked" key, and hard_state, is_hard and the
                         times as they stand; else those are blank (pending,
                         false, null) until the first result */
    int rfc3339;      /* times as RFC 3339 text; else epoch seconds */
    int detail;       /* "check", the parsed output with long_output and
                         perfdata; else the raw first line of output */
    int nulls;        /* incident, acknowledged and downtime always there
                         (null when unset; a missing text is null); else
                         only when set, a missing text is "" */
};

static const struct svc_form svc_forms[] = {
    [TOCSIN_SVC_JSON_API] = {1, 0, 1, 1, 1},
    [TOCSIN_SVC_JSON_CONTROL] = {0, 1, 0, 0, 0},
};

static json_t *state_json(const struct svc_form *f, int checked, enum tocsin_state st)
{
    if (f->lower_case)
        return json_string(tocsin_svc_state_word(checked, st));
    return json_string(checked ? tocsin_state_name(st) : "PENDING");
}

/* A time in the style's form; null for none. New reference, NULL on oom. */
static json_t *time_json(const struct svc_form *f, time_t t)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    json_t *j;

    if (!f->rfc3339)
        return t ? json_integer((json_int_t)t) : json_null();
    if (t <= 0)
        return json_null();
    tocsin_http_rfc3339(&b, t);
    j = b.oom ? NULL : json_string(tocsin_buf_str(&b));
    tocsin_buf_free(&b);
    return j;
}

/* A text of an acknowledgement or downtime; see svc_form.nulls. */
static json_t *note_text(const struct svc_form *f, const char *s)
{
    return tocsin_json_text(s || f->nulls ? s : "");
}

static json_t *real_json(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* The perfdata of a parsed output as a JSON array. NULL on oom. */
static json_t *perf_json(const struct tocsin_output *out)
{
    json_t *perf = json_array();
    int bad = !perf;
    size_t k;

    for (k = 0; !bad && k < out->nperf; k++) {
        const struct tocsin_perf *p = &out->perf[k];
        json_t *po = json_object();

        if (!po) {
            bad = 1;
            break;
        }
        tocsin_json_set(po, "label", tocsin_json_text(p->label), &bad);
        tocsin_json_set(po, "value", p->value_unknown ? json_null() : real_json(p->value), &bad);
        tocsin_json_set(po, "uom", json_string(p->uom), &bad);
        tocsin_json_set(po, "warn", tocsin_json_text(p->warn), &bad);
        tocsin_json_set(po, "crit", tocsin_json_text(p->crit), &bad);
        tocsin_json_set(po, "min", p->has_min ? real_json(p->min) : json_null(), &bad);
        tocsin_json_set(po, "max", p->has_max ? real_json(p->max) : json_null(), &bad);
        tocsin_json_push(perf, po, &bad);
    }
    if (bad) {
        json_decref(perf);
        return NULL;
    }
    return perf;
}

/*
 * The keys are written in one order for both styles; a key only one
 * style has sits where that style has always had it. The output is
 * parsed (tocsin_output_parse) only for the API style, and freed here.
 */
json_t *tocsin_svc_json(const struct tocsin_config *conf, const struct tocsin_service_conf *s,
                        const struct tocsin_svc_view *v, const struct tocsin_incident *inc,
                        enum tocsin_svc_json_style style, time_t now)
{
    const struct svc_form *f = &svc_forms[style];
    const int known = f->checked_key || v->checked; /* hard state and times stand */
    struct tocsin_output out;
    json_t *o = json_object(), *labels = json_object();
    int bad = !o || !labels, parsed = 0;
    size_t k;

    memset(&out, 0, sizeof(out));
    if (f->detail && v->output) {
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
    if (f->detail)
        tocsin_json_set(o, "check", s->is_group ? json_null()
                                                : tocsin_json_text(s->inst.plugin_name), &bad);
    tocsin_json_set(o, "state", state_json(f, v->checked, v->state), &bad);
    tocsin_json_set(o, "hard_state", state_json(f, known, v->hard_state), &bad);
    tocsin_json_set(o, "is_hard", json_boolean(known && v->is_hard), &bad);
    tocsin_json_set(o, "attempt", json_integer(v->attempt), &bad);
    tocsin_json_set(o, "max_attempts", s->hard_after_us > 0 ? json_null()
                                                            : json_integer(s->max_attempts), &bad);
    if (s->hard_after_us > 0)
        tocsin_json_set(o, "hard_after_seconds",
                        json_real((double)s->hard_after_us / 1e6), &bad);
    tocsin_json_set(o, "flapping", json_boolean(v->flapping), &bad);
    if (f->checked_key)
        tocsin_json_set(o, "checked", json_boolean(v->checked), &bad);
    tocsin_json_set(o, "last_check", known ? time_json(f, v->last_check) : json_null(), &bad);
    tocsin_json_set(o, "last_change", known ? time_json(f, v->last_change) : json_null(), &bad);
    if (f->detail) {
        tocsin_json_set(o, "output", parsed ? tocsin_json_text(out.first_line) : json_null(),
                        &bad);
        tocsin_json_set(o, "long_output",
                        parsed ? tocsin_json_text(out.long_output) : json_null(), &bad);
        tocsin_json_set(o, "perfdata", parsed ? perf_json(&out) : json_array(), &bad);
    } else {
        const char *line = v->output ? v->output : "";
        size_t n = strcspn(line, "|\n");

        while (n && line[n - 1] == ' ')
            n--;
        tocsin_json_set(o, "output", tocsin_json_textn(line, n), &bad);
    }
    for (k = 0; k < s->nlabels; k++)
        tocsin_json_set(labels, s->labels[k].key, tocsin_json_text(s->labels[k].value), &bad);
    tocsin_json_set(o, "labels", labels, &bad);
    labels = NULL;
    if (!f->nulls && inc && inc->key)
        tocsin_json_set(o, "incident", tocsin_json_text(inc->key), &bad);
    if (inc && inc->acked) {
        json_t *a = json_object();

        if (a) {
            tocsin_json_set(a, "by", note_text(f, inc->ack_author), &bad);
            tocsin_json_set(a, "text", note_text(f, inc->ack_text), &bad);
            if (inc->assignee || f->nulls)
                tocsin_json_set(a, "assignee", tocsin_json_text(inc->assignee), &bad);
        }
        tocsin_json_set(o, "acknowledged", a, &bad);
    } else if (f->nulls) {
        tocsin_json_set(o, "acknowledged", json_null(), &bad);
    }
    if (inc && inc->downtime_until > now) {
        json_t *d = json_object();

        if (d) {
            tocsin_json_set(d, "until", time_json(f, inc->downtime_until), &bad);
            tocsin_json_set(d, "by", note_text(f, inc->downtime_author), &bad);
            tocsin_json_set(d, "text", note_text(f, inc->downtime_text), &bad);
        }
        tocsin_json_set(o, "downtime", d, &bad);
    } else if (f->nulls) {
        tocsin_json_set(o, "downtime", json_null(), &bad);
    }
    if (f->nulls)
        tocsin_json_set(o, "incident", tocsin_json_text(inc ? inc->key : NULL), &bad);
    if (inc && inc->key && inc->priority >= 0) {
        json_t *b = json_object();

        if (b) {
            tocsin_json_set(b, "response", json_integer(inc->respond_breaches), &bad);
            tocsin_json_set(b, "resolution", json_integer(inc->resolve_breaches), &bad);
        }
        tocsin_json_set(o, "priority",
                        tocsin_json_text(tocsin_priority_name(conf, inc->priority)), &bad);
        tocsin_json_set(o, "breaches", b, &bad);
    } else if (f->nulls) {
        tocsin_json_set(o, "priority", json_null(), &bad);
        tocsin_json_set(o, "breaches", json_null(), &bad);
    }
out:
    if (parsed)
        tocsin_output_free(&out);
    json_decref(labels);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ------------------------------------------------------------------ */
/* Selecting services                                                  */
/* ------------------------------------------------------------------ */

int tocsin_svc_filter_add_label(struct tocsin_svc_filter *f, const char *kv)
{
    if (f->nlabels == TOCSIN_SVC_FILTER_MAX_LABELS)
        return -1;
    f->labels[f->nlabels] = strdup(kv);
    if (!f->labels[f->nlabels])
        return -2;
    f->nlabels++;
    return 0;
}

int tocsin_svc_filter_set_name(struct tocsin_svc_filter *f, const char *name)
{
    char *copy = strdup(name);

    if (!copy)
        return -1;
    free(f->name);
    f->name = copy;
    return 0;
}

/* A state outside OK..UNKNOWN counts as UNKNOWN, as its name does. */
int tocsin_svc_filter_match(const struct tocsin_svc_filter *f,
                            const struct tocsin_service_conf *s,
                            const struct tocsin_svc_view *v)
{
    size_t k;

    if (f->name && strcmp(s->inst.name, f->name) != 0)
        return 0;
    if (f->states) {
        unsigned bit = !v->checked ? TOCSIN_SVC_PENDING
                     : v->state >= TOCSIN_OK && v->state <= TOCSIN_UNKNOWN ? (unsigned)v->state
                     : (unsigned)TOCSIN_UNKNOWN;

        if (!(f->states & (1u << bit)))
            return 0;
    }
    for (k = 0; k < f->nlabels; k++)
        if (!tocsin_labels_has_kv(s->labels, s->nlabels, f->labels[k]))
            return 0;
    return 1;
}

void tocsin_svc_filter_free(struct tocsin_svc_filter *f)
{
    size_t k;

    for (k = 0; k < f->nlabels; k++)
        free(f->labels[k]);
    free(f->name);
    memset(f, 0, sizeof(*f));
}
