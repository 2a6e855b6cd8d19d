/*
 * inbound.c - parsing results that come from outside: JSON and Nagios
 * lines for /api/v1/results, Alertmanager's webhook for
 * /api/v1/alertmanager. See inbound.h and docs/inbound.md.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve/inbound.h"
#include "tocsin-plugin.h"

#define NAME_MAX_LEN 200             /* a service or host name, at most */

void tocsin_inbound_free(struct tocsin_inbound *in)
{
    size_t i;

    for (i = 0; i < in->n; i++) {
        free(in->items[i].service);
        free(in->items[i].host);
        free(in->items[i].output);
    }
    free(in->items);
    memset(in, 0, sizeof(*in));
}

/* Fail with the reason in err: always -1, and `in` freed. */
static int fail(struct tocsin_inbound *in, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct tocsin_inbound *in, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    tocsin_inbound_free(in);
    return -1;
}

/* A name a service or host may have: 1..NAME_MAX_LEN bytes, no control
 * character. The configuration says which services exist. */
static int name_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > NAME_MAX_LEN)
        return 0;
    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/*
 * Append one result to `in`, copying its parts; `output` (olen bytes) gets
 * `perf` (plen bytes, may be 0) after its first line, as a plugin writes
 * it. Returns 0, or -1 when memory ran out or the list is full (err set).
 */
static int add_item(struct tocsin_inbound *in, const char *service, size_t slen,
                    const char *host, size_t hlen, int state, const char *output, size_t olen,
                    const char *perf, size_t plen, char *err, size_t errlen)
{
    struct tocsin_inbound_item *it;
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    const char *nl;

    if (in->n >= TOCSIN_INBOUND_ITEMS_MAX) {
        snprintf(err, errlen, "more than %d results in one request", TOCSIN_INBOUND_ITEMS_MAX);
        return -1;
    }
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 4;
        struct tocsin_inbound_item *grown = realloc(in->items, cap * sizeof(*grown));

        if (!grown)
            goto oom;
        in->items = grown;
        in->cap = cap;
    }
    nl = memchr(output, '\n', olen);
    if (plen) {
        size_t first = nl ? (size_t)(nl - output) : olen;

        tocsin_buf_append(&out, output, first);
        tocsin_buf_putc(&out, '|');
        tocsin_buf_append(&out, perf, plen);
        tocsin_buf_append(&out, output + first, olen - first);
    } else {
        tocsin_buf_append(&out, output, olen);
    }
    if (out.oom)
        goto oom;
    it = &in->items[in->n];
    memset(it, 0, sizeof(*it));
    it->state = state;
    it->service = strndup(service, slen);
    it->host = hlen ? strndup(host, hlen) : NULL;
    it->output = tocsin_buf_steal(&out);
    if (!it->output)
        it->output = strdup("");
    if (!it->service || (hlen && !it->host) || !it->output) {
        free(it->service);
        free(it->host);
        free(it->output);
        goto oom;
    }
    in->n++;
    return 0;
oom:
    tocsin_buf_free(&out);
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

/* A state as JSON gives it: a name (any case) or an integer 0..3.
 * Returns the state or -1. */
static int json_state(const json_t *v)
{
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);

        return n >= 0 && n <= 3 ? (int)n : -1;
    }
    if (json_is_string(v))
        return tocsin_state_parse(json_string_value(v));
    return -1;
}

/* One object of the JSON form into `in`; `where` names it in errors. */
static int json_one(const json_t *o, const char *where, struct tocsin_inbound *in, char *err,
                    size_t errlen)
{
    const json_t *svc = json_object_get(o, "service"), *st = json_object_get(o, "state");
    const json_t *out = json_object_get(o, "output"), *perf = json_object_get(o, "perfdata");
    const json_t *host = json_object_get(o, "host");
    int state;

    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s is not an object", where);
        return -1;
    }
    if (!json_is_string(svc) || !name_ok(json_string_value(svc), json_string_length(svc))) {
        snprintf(err, errlen, "%s: \"service\" must be a service's name", where);
        return -1;
    }
    if (!st) {
        snprintf(err, errlen, "%s: no \"state\" (ok, warning, critical, unknown or 0-3)",
                 where);
        return -1;
    }
    state = json_state(st);
    if (state < 0) {
        snprintf(err, errlen, "%s: \"state\" is not ok, warning, critical, unknown or 0-3",
                 where);
        return -1;
    }
    if (out && !json_is_string(out) && !json_is_null(out)) {
        snprintf(err, errlen, "%s: \"output\" must be a string", where);
        return -1;
    }
    if (perf && !json_is_string(perf) && !json_is_null(perf)) {
        snprintf(err, errlen, "%s: \"perfdata\" must be a string", where);
        return -1;
    }
    if (json_is_string(perf) && memchr(json_string_value(perf), '\n', json_string_length(perf))) {
        snprintf(err, errlen, "%s: \"perfdata\" must be one line", where);
        return -1;
    }
    if (host && !json_is_null(host) &&
        (!json_is_string(host) || !name_ok(json_string_value(host), json_string_length(host)))) {
        snprintf(err, errlen, "%s: \"host\" must be a host's name", where);
        return -1;
    }
    return add_item(in, json_string_value(svc), json_string_length(svc),
                    json_is_string(host) ? json_string_value(host) : NULL,
                    json_is_string(host) ? json_string_length(host) : 0, state,
                    json_is_string(out) ? json_string_value(out) : "",
                    json_is_string(out) ? json_string_length(out) : 0,
                    json_is_string(perf) ? json_string_value(perf) : NULL,
                    json_is_string(perf) ? json_string_length(perf) : 0, err, errlen);
}

static int parse_json(const char *body, size_t len, struct tocsin_inbound *in, char *err,
                      size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    char where[64];
    size_t i;
    int rc = 0;

    if (!root)
        return fail(in, err, errlen, "not valid JSON: %s (line %d, column %d)", jerr.text,
                    jerr.line, jerr.column);
    if (json_is_array(root)) {
        if (json_array_size(root) == 0) {
            json_decref(root);
            return fail(in, err, errlen, "an empty list of results");
        }
        for (i = 0; rc == 0 && i < json_array_size(root); i++) {
            snprintf(where, sizeof(where), "result %zu", i + 1);
            rc = json_one(json_array_get(root, i), where, in, err, errlen);
        }
    } else {
        rc = json_one(root, "the result", in, err, errlen);
    }
    json_decref(root);
    if (rc < 0)
        tocsin_inbound_free(in);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Nagios lines                                                        */
/* ------------------------------------------------------------------ */

/* The next ';'-separated field of [*p, end): sets *f and *flen, moves *p
 * past the ';'. Returns 0, or -1 when there is no ';'. */
static int field(const char **p, const char *end, const char **f, size_t *flen)
{
    const char *semi = memchr(*p, ';', (size_t)(end - *p));

    if (!semi)
        return -1;
    *f = *p;
    *flen = (size_t)(semi - *p);
    *p = semi + 1;
    return 0;
}

/* One line (without its newline) into `in`; `no` is its number. */
static int nagios_line(const char *s, size_t len, unsigned no, struct tocsin_inbound *in,
                       char *err, size_t errlen)
{
    static const char cmd[] = "PROCESS_SERVICE_CHECK_RESULT;";
    const char *p = s, *end = s + len, *host, *svc, *code;
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    size_t hlen, slen, clen, olen, i;
    int rc;

    if (len && memchr(s, '\0', len)) {
        snprintf(err, errlen, "line %u: a NUL byte", no);
        return -1;
    }
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));

        for (i = 1; close && p + i < close; i++)
            if (!isdigit((unsigned char)p[i]))
                break;
        if (!close || p + i != close || i == 1) {
            snprintf(err, errlen, "line %u: the time in brackets must be seconds since "
                     "the epoch ([1700000000])", no);
            return -1;
        }
        p = close + 1;
        while (p < end && *p == ' ')
            p++;
    }
    if ((size_t)(end - p) < sizeof(cmd) - 1 || memcmp(p, cmd, sizeof(cmd) - 1) != 0) {
        snprintf(err, errlen, "line %u: not PROCESS_SERVICE_CHECK_RESULT;HOST;SERVICE;"
                 "CODE;OUTPUT (the only command accepted)", no);
        return -1;
    }
    p += sizeof(cmd) - 1;
    if (field(&p, end, &host, &hlen) < 0 || field(&p, end, &svc, &slen) < 0 ||
        field(&p, end, &code, &clen) < 0) {
        snprintf(err, errlen, "line %u: expected HOST;SERVICE;CODE;OUTPUT after the command",
                 no);
        return -1;
    }
    if (hlen && !name_ok(host, hlen)) {
        snprintf(err, errlen, "line %u: the host is not a valid name", no);
        return -1;
    }
    if (!name_ok(svc, slen)) {
        snprintf(err, errlen, "line %u: the service is not a valid name", no);
        return -1;
    }
    if (clen != 1 || code[0] < '0' || code[0] > '3') {
        snprintf(err, errlen, "line %u: the return code must be 0, 1, 2 or 3", no);
        return -1;
    }
    /* Everything after the fourth ';' is the output, ';' included; "\n"
     * written out is a line break, as Nagios reads it. */
    olen = (size_t)(end - p);
    for (i = 0; i < olen; i++) {
        if (p[i] == '\\' && i + 1 < olen && p[i + 1] == 'n') {
            tocsin_buf_putc(&out, '\n');
            i++;
        } else if (p[i] == '\\' && i + 1 < olen && p[i + 1] == '\\') {
            tocsin_buf_putc(&out, '\\');
            i++;
        } else {
            tocsin_buf_putc(&out, p[i]);
        }
    }
    if (out.oom) {
        tocsin_buf_free(&out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = add_item(in, svc, slen, host, hlen, code[0] - '0', out.data ? out.data : "", out.len,
                  NULL, 0, err, errlen);
    tocsin_buf_free(&out);
    return rc;
}

static int parse_lines(const char *body, size_t len, struct tocsin_inbound *in, char *err,
                       size_t errlen)
{
    const char *p = body, *end = body + len;
    unsigned no = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t n = (size_t)(stop - p);
        size_t i;

        no++;
        if (n && p[n - 1] == '\r')
            n--;
        for (i = 0; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
            ;
        if (i < n && nagios_line(p + i, n - i, no, in, err, errlen) < 0) {
            tocsin_inbound_free(in);
            return -1;
        }
        p = nl ? nl + 1 : end;
    }
    if (in->n == 0)
        return fail(in, err, errlen, "no result in the request");
    return 0;
}

/* 1 when `s` starts with a Nagios line's "[DIGITS]" rather than a JSON
 * array. */
static int nagios_time(const char *s, size_t len)
{
    size_t i;

    for (i = 1; i < len && isdigit((unsigned char)s[i]); i++)
        ;
    return i > 1 && i < len && s[i] == ']';
}

int tocsin_inbound_parse_results(const char *body, size_t len, struct tocsin_inbound *in,
                                 char *err, size_t errlen)
{
    size_t i;

    memset(in, 0, sizeof(*in));
    if (len > TOCSIN_INBOUND_BODY_MAX)
        return fail(in, err, errlen, "the body is larger than %d bytes",
                    TOCSIN_INBOUND_BODY_MAX);
    for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
        ;
    if (i == len)
        return fail(in, err, errlen, "an empty body: send JSON or "
                    "PROCESS_SERVICE_CHECK_RESULT lines");
    if (body[i] == '{' || (body[i] == '[' && !nagios_time(body + i, len - i)))
        return parse_json(body, len, in, err, errlen);
    return parse_lines(body, len, in, err, errlen);
}

/* ------------------------------------------------------------------ */
/* Alertmanager                                                        */
/* ------------------------------------------------------------------ */

/* The state of a firing alert from its severity label. */
static int firing_state(const char *severity)
{
    static const char *const warning[] = { "warning", "warn", "info", "low", "minor" };
    size_t i;

    if (severity)
        for (i = 0; i < sizeof(warning) / sizeof(warning[0]); i++)
            if (strcasecmp(severity, warning[i]) == 0)
                return TOCSIN_WARNING;
    return TOCSIN_CRITICAL;
}

/* A label or annotation's string value, or NULL. */
static const char *str_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
}

static int am_one(const json_t *a, size_t no, struct tocsin_inbound *in, char *err,
                  size_t errlen)
{
    const json_t *labels = json_object_get(a, "labels");
    const json_t *ann = json_object_get(a, "annotations");
    const char *status = str_of(a, "status"), *svc, *summary, *descr, *name;
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    int state, rc;

    if (!json_is_object(a)) {
        snprintf(err, errlen, "alert %zu is not an object", no);
        return -1;
    }
    if (!json_is_object(labels)) {
        snprintf(err, errlen, "alert %zu has no labels", no);
        return -1;
    }
    if (ann && !json_is_object(ann) && !json_is_null(ann)) {
        snprintf(err, errlen, "alert %zu: annotations must be an object", no);
        return -1;
    }
    name = str_of(labels, "alertname");
    svc = str_of(labels, "service") ? str_of(labels, "service") : name;
    if (!svc) {
        snprintf(err, errlen, "alert %zu has neither a service nor an alertname label", no);
        return -1;
    }
    if (!name_ok(svc, strlen(svc))) {
        snprintf(err, errlen, "alert %zu: its service label is not a valid name", no);
        return -1;
    }
    if (!status || (strcmp(status, "firing") != 0 && strcmp(status, "resolved") != 0)) {
        snprintf(err, errlen, "alert %zu: status must be \"firing\" or \"resolved\"", no);
        return -1;
    }
    state = strcmp(status, "resolved") == 0 ? TOCSIN_OK
                                            : firing_state(str_of(labels, "severity"));
    summary = json_is_object(ann) ? str_of(ann, "summary") : NULL;
    descr = json_is_object(ann) ? str_of(ann, "description") : NULL;
    if (state == TOCSIN_OK)
        tocsin_buf_puts(&out, "resolved: ");
    tocsin_buf_puts(&out, summary ? summary : descr ? descr : name ? name : svc);
    /* A plugin's first line ends at a line break; perfdata would start at
     * '|', which an alert's text does not mean as such. */
    {
        size_t i;

        for (i = 0; i < out.len; i++)
            if (out.data[i] == '|')
                out.data[i] = '/';
    }
    if (summary && descr) {
        tocsin_buf_putc(&out, '\n');
        tocsin_buf_puts(&out, descr);
    }
    if (out.oom) {
        tocsin_buf_free(&out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = add_item(in, svc, strlen(svc), NULL, 0, state, out.data, out.len, NULL, 0, err,
                  errlen);
    tocsin_buf_free(&out);
    return rc;
}

int tocsin_inbound_parse_alertmanager(const char *body, size_t len, struct tocsin_inbound *in,
                                      char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root, *alerts, *version;
    size_t i;
    int rc = 0;

    memset(in, 0, sizeof(*in));
    if (len > TOCSIN_INBOUND_BODY_MAX)
        return fail(in, err, errlen, "the body is larger than %d bytes",
                    TOCSIN_INBOUND_BODY_MAX);
    root = json_loadb(body, len, 0, &jerr);
    if (!root)
        return fail(in, err, errlen, "not valid JSON: %s (line %d, column %d)", jerr.text,
                    jerr.line, jerr.column);
    alerts = json_object_get(root, "alerts");
    version = json_object_get(root, "version");
    if (!json_is_object(root) || !json_is_array(alerts)) {
        json_decref(root);
        return fail(in, err, errlen, "not an Alertmanager webhook payload: no \"alerts\" list");
    }
    if (version && (!json_is_string(version) || strcmp(json_string_value(version), "4") != 0)) {
        json_decref(root);
        return fail(in, err, errlen, "Alertmanager webhook version 4 is understood, not this "
                    "one");
    }
    for (i = 0; rc == 0 && i < json_array_size(alerts); i++)
        rc = am_one(json_array_get(alerts, i), i + 1, in, err, errlen);
    json_decref(root);
    if (rc < 0)
        tocsin_inbound_free(in);
    else if (in->n == 0)
        return fail(in, err, errlen, "no alert in the payload");
    return rc;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

void tocsin_inbound_silence(struct tocsin_buf *b, long long s)
{
    if (s < 0)
        s = 0;
    if (s < 60)
        tocsin_buf_printf(b, "%lld s", s);
    else if (s < 3600)
        tocsin_buf_printf(b, "%lld min %02lld s", s / 60, s % 60);
    else if (s < 86400)
        tocsin_buf_printf(b, "%lld h %02lld min", s / 3600, s % 3600 / 60);
    else
        tocsin_buf_printf(b, "%lld d %02lld h", s / 86400, s % 86400 / 3600);
}

int tocsin_inbound_allowed(char *const *patterns, size_t n, const char *service)
{
    size_t i;

    if (n == 0)
        return 1;
    for (i = 0; i < n; i++)
        if (fnmatch(patterns[i], service, 0) == 0)
            return 1;
    return 0;
}
