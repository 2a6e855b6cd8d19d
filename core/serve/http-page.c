/*
 * http-page.c - the status page at /: every service, worst first, in one
 * self-contained HTML5 page (inline CSS, no script, no external resource)
 * that reloads itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/http-internal.h"
#include "serve/svc-json.h"
#include "tocsin-plugin.h"

#define REFRESH_S 30                 /* the status page reloads itself */

/* Display rank: critical, unknown, warning, ok, then pending. */
static int state_rank(int checked, enum tocsin_state st)
{
    if (!checked)
        return 0;
    switch (st) {
    case TOCSIN_CRITICAL: return 4;
    case TOCSIN_WARNING: return 2;
    case TOCSIN_OK: return 1;
    default: return 3;
    }
}

static const char page_css[] =
    "body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:1.5em;"
    "color:#1d1d1f;background:#f6f6f7}"
    "h1{font-size:1.4em;margin:0}"
    ".meta{color:#555;margin:.2em 0 1em}"
    ".bad{color:#b52b27;font-weight:600}"
    ".counts{display:flex;flex-wrap:wrap;gap:.5em;list-style:none;padding:0;margin:0 0 1em}"
    ".counts li{padding:.35em .9em;border-radius:4px;font-weight:600}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{text-align:left;padding:.4em .6em;border-bottom:1px solid #e3e3e6;"
    "vertical-align:top}"
    "th{background:#ececef;font-weight:600}"
    "td.state{font-weight:700;white-space:nowrap}"
    "td.since{white-space:nowrap}"
    ".critical{background:#d64541;color:#fff}"
    ".warning{background:#f2b33d;color:#1d1d1f}"
    ".unknown{background:#8e5ab5;color:#fff}"
    ".ok{background:#3f9c4a;color:#fff}"
    ".pending{background:#9a9aa1;color:#fff}"
    ".out{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;"
    "word-break:break-word}"
    ".tag{display:inline-block;font-size:.8em;font-weight:600;padding:0 .45em;"
    "margin-right:.4em;border-radius:3px;background:#e6e6ea;color:#333}"
    "a{color:inherit}";

/* A duration as tocsin_duration_format() writes it: "3d 4h", "2h 5m",
 * "3m 20s", "45s". */
static void put_age(struct tocsin_buf *b, time_t secs)
{
    char text[64];

    tocsin_duration_format((long long)secs, text, sizeof(text));
    tocsin_buf_puts(b, text);
}

/* Percent-encode `s` for a URL path segment. */
static void put_url_segment(struct tocsin_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            tocsin_buf_putc(b, (char)c);
        else
            tocsin_buf_printf(b, "%%%02X", c);
    }
}

static int cmp_severity(const void *a, const void *b, void *arg)
{
    const struct tocsin_status *st = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    const struct tocsin_svc_view *vx = &st->views[x], *vy = &st->views[y];
    int rx = state_rank(vx->checked, vx->state), ry = state_rank(vy->checked, vy->state);

    if (rx != ry)
        return ry - rx;
    return strcmp(st->conf->services[x].inst.name, st->conf->services[y].inst.name);
}

/* One table row for service `i`. */
static void page_row(struct tocsin_buf *b, const struct tocsin_status *st, size_t i,
                     time_t now)
{
    const struct tocsin_service_conf *s = &st->conf->services[i];
    const struct tocsin_svc_view *v = &st->views[i];
    const struct tocsin_incident *inc = st->alerting
        ? tocsin_alerting_incident(st->alerting, (uint32_t)i) : NULL;
    const char *word = tocsin_svc_state_word(v->checked, v->state);
    const char *line = v->output ? v->output : "";
    size_t n = strcspn(line, "|\n");
    struct tocsin_buf text = TOCSIN_BUF_INIT;

    tocsin_buf_printf(b, "<tr><td class=\"state %s\">", word);
    tocsin_buf_puts(b, v->checked ? tocsin_state_name(v->state) : "PENDING");
    if (v->checked && !v->is_hard && v->state != TOCSIN_OK && s->hard_after_us > 0)
        tocsin_buf_printf(b, " <small>soft %d, hard after %g s</small>", v->attempt,
                          (double)s->hard_after_us / 1e6);
    else if (v->checked && !v->is_hard && v->state != TOCSIN_OK)
        tocsin_buf_printf(b, " <small>soft %d/%d</small>", v->attempt, s->max_attempts);
    tocsin_buf_puts(b, "</td><td><a href=\"/api/v1/services/");
    put_url_segment(b, s->inst.name);
    tocsin_buf_puts(b, "\">");
    tocsin_http_html(b, s->inst.name);
    tocsin_buf_puts(b, "</a>");
    if (s->is_group)
        tocsin_buf_puts(b, " <span class=\"tag\">group</span>");
    tocsin_buf_puts(b, "</td><td>");
    tocsin_http_html(b, s->host);
    tocsin_buf_puts(b, "</td><td class=\"since\">");
    if (v->checked && v->last_change > 0) {
        tocsin_buf_puts(b, "<time datetime=\"");
        tocsin_http_rfc3339(b, v->last_change);
        tocsin_buf_puts(b, "\">");
        put_age(b, now - v->last_change);
        tocsin_buf_puts(b, "</time>");
    } else {
        tocsin_buf_puts(b, "&ndash;");
    }
    tocsin_buf_puts(b, "</td><td class=\"out\">");
    if (v->flapping)
        tocsin_buf_puts(b, "<span class=\"tag\">flapping</span>");
    if (inc && inc->acked) {
        tocsin_buf_puts(b, "<span class=\"tag\">acknowledged by ");
        tocsin_http_html(b, inc->ack_author ? inc->ack_author : "?");
        tocsin_buf_puts(b, "</span>");
    }
    if (inc && inc->downtime_until > now) {
        tocsin_buf_puts(b, "<span class=\"tag\">downtime until ");
        tocsin_http_rfc3339(b, inc->downtime_until);
        tocsin_buf_puts(b, "</span>");
    }
    /* The first line without its perfdata, repaired and escaped. */
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
        n--;
    tocsin_http_utf8(&text, line, n);
    tocsin_http_html(b, tocsin_buf_str(&text));
    tocsin_buf_free(&text);
    tocsin_buf_puts(b, "</td></tr>\n");
}

static void build_page(struct tocsin_httpd *h, struct tocsin_buf *b)
{
    const struct tocsin_status *st = h->status;
    const struct tocsin_config *conf = st->conf;
    static const char *const words[] = {"critical", "unknown", "warning", "ok", "pending"};
    size_t counts[5] = {0, 0, 0, 0, 0}, *order, i;
    time_t now = time(NULL);
    struct tocsin_http_health hl;
    int k;

    order = malloc((conf->nservices ? conf->nservices : 1) * sizeof(*order));
    if (!order) {
        b->oom = 1;
        return;
    }
    for (i = 0; i < conf->nservices; i++) {
        const struct tocsin_svc_view *v = &st->views[i];

        order[i] = i;
        for (k = 0; k < 5; k++)
            if (strcmp(words[k], tocsin_svc_state_word(v->checked, v->state)) == 0)
                counts[k]++;
    }
    qsort_r(order, conf->nservices, sizeof(*order), cmp_severity, (void *)st);
    tocsin_http_health_judge(h, &hl);

    tocsin_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta http-equiv=\"refresh\" content=\"%d\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>", REFRESH_S);
    for (k = 0; k < 3; k++)
        if (counts[k])
            tocsin_buf_printf(b, "%zu %s, ", counts[k], words[k]);
    tocsin_buf_puts(b, "tocsind on ");
    tocsin_http_html(b, conf->host);
    tocsin_buf_printf(b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>tocsind on ", page_css);
    tocsin_http_html(b, conf->host);
    tocsin_buf_printf(b, "</h1>\n<p class=\"meta\">version %s &middot; up ", PACKAGE_VERSION);
    put_age(b, now - st->started);
    tocsin_buf_printf(b, " &middot; %" PRIu64 " checks &middot; %d/%d check workers &middot; "
                      "updated <time datetime=\"", st->checks_total, hl.up, hl.total);
    tocsin_http_rfc3339(b, now);
    tocsin_buf_puts(b, "\">");
    tocsin_http_rfc3339(b, now);
    tocsin_buf_printf(b, "</time> &middot; reloads every %d s</p>\n", REFRESH_S);
    for (k = 0; k < hl.nreasons; k++) {
        tocsin_buf_puts(b, "<p class=\"bad\">Unhealthy: ");
        tocsin_http_html(b, tocsin_buf_str(&hl.reasons[k]));
        tocsin_buf_puts(b, "</p>\n");
    }
    tocsin_http_health_free(&hl);
    tocsin_buf_puts(b, "<ul class=\"counts\">\n");
    for (k = 0; k < 5; k++)
        tocsin_buf_printf(b, "<li class=\"%s\">%zu %s</li>\n", words[k], counts[k], words[k]);
    tocsin_buf_puts(b, "</ul>\n<table>\n<thead><tr><th>State</th><th>Service</th><th>Host</th>"
                    "<th>Since</th><th>Output</th></tr></thead>\n<tbody>\n");
    for (i = 0; i < conf->nservices && !b->oom; i++)
        page_row(b, st, order[i], now);
    tocsin_buf_puts(b, "</tbody>\n</table>\n</body>\n</html>\n");
    free(order);
}

enum MHD_Result tocsin_http_serve_page(struct tocsin_httpd *h, struct MHD_Connection *c)
{
    struct tocsin_buf body = TOCSIN_BUF_INIT;

    build_page(h, &body);
    return tocsin_http_respond(c, MHD_HTTP_OK, CT_HTML, &body, "Content-Security-Policy",
                               "default-src 'none'; style-src 'unsafe-inline'");
}
