/*
 * template.c - severities, alert kinds and the message templates notifier
 * plugins fill from an alert.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/buf.h"
#include "tocsin-plugin.h"

static const char *const severity_names[] = { "info", "warning", "error", "critical" };

const char *tocsin_severity_name(int severity)
{
    if (severity < 0 || severity > TOCSIN_SEVERITY_CRITICAL)
        return "error";
    return severity_names[severity];
}

int tocsin_severity_parse(const char *text)
{
    int i;

    if (!text)
        return -1;
    for (i = 0; i <= TOCSIN_SEVERITY_CRITICAL; i++)
        if (strcasecmp(text, severity_names[i]) == 0)
            return i;
    return -1;
}

static const char *const kind_names[] = {
    "problem", "recovery", "repeat", "escalation", "acknowledged", "result",
    "flapping-start", "flapping-stop"
};

const char *tocsin_alert_kind_name(int kind)
{
    if (kind < 0 || kind > TOCSIN_ALERT_KIND_MAX)
        return "problem";
    return kind_names[kind];
}

void tocsin_duration_format(long long seconds, char *buf, size_t len)
{
    long long d, h, m, s;

    if (!buf || !len)
        return;
    if (seconds < 0)
        seconds = 0;
    d = seconds / 86400;
    h = seconds / 3600 % 24;
    m = seconds / 60 % 60;
    s = seconds % 60;
    if (d)
        snprintf(buf, len, "%lldd %lldh", d, h);
    else if (h)
        snprintf(buf, len, "%lldh %lldm", h, m);
    else if (m)
        snprintf(buf, len, "%lldm %llds", m, s);
    else
        snprintf(buf, len, "%llds", s);
}

static void put_time(struct tocsin_buf *out, time_t t)
{
    struct tm tm;
    char text[64];

    if (t <= 0 || !localtime_r(&t, &tm) ||
        !strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S %Z", &tm)) {
        tocsin_buf_puts(out, "-");
        return;
    }
    tocsin_buf_puts(out, text);
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* The word for what happened: "RECOVERED", "ACKNOWLEDGED",
 * "FLAPPINGSTART", "FLAPPINGSTOP", or the state. */
static const char *status_word(const struct tocsin_alert *a)
{
    if (a->kind == TOCSIN_ALERT_FLAPPING_START)
        return "FLAPPINGSTART";
    if (a->kind == TOCSIN_ALERT_FLAPPING_STOP)
        return "FLAPPINGSTOP";
    if (a->kind == TOCSIN_ALERT_RECOVERY)
        return "RECOVERED";
    if (a->kind == TOCSIN_ALERT_ACKNOWLEDGED)
        return "ACKNOWLEDGED";
    return tocsin_state_name((int)a->state);
}

/* One line of {alerts}: "CRITICAL db on host1: output". */
static void put_alert_line(struct tocsin_buf *out, const struct tocsin_alert *a)
{
    tocsin_buf_printf(out, "%s %s on %s: %s", status_word(a),
                      nz(a->service), nz(a->host), nz(a->output));
}

/* {labels}: "team=dba, component=db" in the alert's order. */
static void put_labels(struct tocsin_buf *out, const struct tocsin_alert *a)
{
    size_t i;

    for (i = 0; i < a->nlabels; i++)
        tocsin_buf_printf(out, "%s%s=%s", i ? ", " : "", nz(a->labels[i].key),
                          nz(a->labels[i].value));
}

/* The placeholder names, for tocsin_template_check(). */
static const char *const placeholders[] = {
    "service", "host", "state", "previous", "severity", "kind", "output",
    "long_output", "perfdata", "attempt", "max_attempts", "incident",
    "group_key", "route", "link", "reason", "priority", "assignee", "since",
    "problem_since", "at",
    "duration", "count", "alerts", "status", "labels", NULL
};

/*
 * Expand placeholder `name` (len bytes, braces excluded) into `out`.
 * Returns 0, or -1 when the name is unknown.
 */
static int expand(struct tocsin_buf *out, const char *name, size_t len,
                  const struct tocsin_alert *a)
{
    char num[64];
    size_t i;

#define IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
    if (len > 6 && memcmp(name, "label:", 6) == 0) {
        if (!a)
            return 0;
        for (i = 0; i < a->nlabels; i++)
            if (strlen(a->labels[i].key) == len - 6 &&
                memcmp(a->labels[i].key, name + 6, len - 6) == 0) {
                tocsin_buf_puts(out, nz(a->labels[i].value));
                break;
            }
        return 0;
    }
    if (!a) {
        for (i = 0; placeholders[i]; i++)
            if (strlen(placeholders[i]) == len && memcmp(placeholders[i], name, len) == 0)
                return 0;
        return -1;
    }
    if (IS("service"))
        tocsin_buf_puts(out, nz(a->service));
    else if (IS("host"))
        tocsin_buf_puts(out, nz(a->host));
    else if (IS("state"))
        tocsin_buf_puts(out, tocsin_state_name((int)a->state));
    else if (IS("status"))
        tocsin_buf_puts(out, status_word(a));
    else if (IS("labels"))
        put_labels(out, a);
    else if (IS("previous"))
        tocsin_buf_puts(out, tocsin_state_name((int)a->previous));
    else if (IS("severity"))
        tocsin_buf_puts(out, tocsin_severity_name((int)a->severity));
    else if (IS("kind"))
        tocsin_buf_puts(out, tocsin_alert_kind_name((int)a->kind));
    else if (IS("output"))
        tocsin_buf_puts(out, nz(a->output));
    else if (IS("long_output"))
        tocsin_buf_puts(out, nz(a->long_output));
    else if (IS("perfdata"))
        tocsin_buf_puts(out, nz(a->perfdata));
    else if (IS("attempt"))
        tocsin_buf_printf(out, "%d", a->attempt);
    else if (IS("max_attempts"))
        tocsin_buf_printf(out, "%d", a->max_attempts);
    else if (IS("incident"))
        tocsin_buf_puts(out, nz(a->incident));
    else if (IS("group_key"))
        tocsin_buf_puts(out, nz(a->group_key));
    else if (IS("route"))
        tocsin_buf_puts(out, nz(a->route));
    else if (IS("link"))
        tocsin_buf_puts(out, nz(a->link));
    else if (IS("reason"))
        tocsin_buf_puts(out, nz(a->reason));
    else if (IS("priority"))
        tocsin_buf_puts(out, nz(a->priority));
    else if (IS("assignee"))
        tocsin_buf_puts(out, nz(a->assignee));
    else if (IS("since"))
        put_time(out, a->since);
    else if (IS("problem_since"))
        put_time(out, a->problem_since);
    else if (IS("at"))
        put_time(out, a->at);
    else if (IS("duration")) {
        time_t from = a->problem_since ? a->problem_since : a->since;
        time_t to = a->at ? a->at : time(NULL);

        tocsin_duration_format((long long)(to - from), num, sizeof(num));
        tocsin_buf_puts(out, num);
    } else if (IS("count"))
        tocsin_buf_printf(out, "%zu", a->ngrouped + 1);
    else if (IS("alerts")) {
        put_alert_line(out, a);
        for (i = 0; i < a->ngrouped; i++) {
            tocsin_buf_puts(out, "\n");
            put_alert_line(out, &a->grouped[i]);
        }
    } else
        return -1;
    return 0;
#undef IS
}

/*
 * Walk `tmpl`, copying text and expanding placeholders into `out` (when
 * `a` is NULL, only validate). Returns 0, or -1 with the reason in err.
 */
static int walk(const char *tmpl, const struct tocsin_alert *a,
                struct tocsin_buf *out, char *err, size_t errlen)
{
    const char *p = tmpl, *close;

    while (*p) {
        if (p[0] == '{' && p[1] == '{') {
            tocsin_buf_puts(out, "{");
            p += 2;
        } else if (p[0] == '}' && p[1] == '}') {
            tocsin_buf_puts(out, "}");
            p += 2;
        } else if (*p == '{') {
            close = strchr(p + 1, '}');
            if (!close) {
                if (err)
                    snprintf(err, errlen, "unclosed '{' in template");
                return -1;
            }
            if (expand(out, p + 1, (size_t)(close - p - 1), a) < 0) {
                if (!a && err)
                    snprintf(err, errlen, "unknown placeholder {%.*s} in template",
                             (int)(close - p - 1), p + 1);
                else if (a)
                    tocsin_buf_append(out, p, (size_t)(close - p + 1));
                if (!a)
                    return -1;
            }
            p = close + 1;
        } else {
            const char *next = strpbrk(p + 1, "{}");
            size_t n = next ? (size_t)(next - p) : strlen(p);

            tocsin_buf_append(out, p, n);
            p += n;
        }
    }
    return 0;
}

char *tocsin_template_render(const char *tmpl, const struct tocsin_alert *alert)
{
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    char *s;

    if (!tmpl || !alert)
        return NULL;
    walk(tmpl, alert, &out, NULL, 0);
    s = strdup(tocsin_buf_str(&out));
    tocsin_buf_free(&out);
    return s;
}

int tocsin_template_check(const char *tmpl, char *err, size_t errlen)
{
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    int rc;

    if (!tmpl)
        return 0;
    rc = walk(tmpl, NULL, &out, err, errlen);
    tocsin_buf_free(&out);
    return rc;
}
