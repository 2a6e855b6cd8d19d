/*
 * http-health.c - /health: whether the daemon is healthy (the scheduler
 * not too far behind, every check worker up), as JSON with 200 or 503.
 * Answered without the bearer token, for load balancers and supervisors.
 * The same judgement heads the status page.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "serve/http-internal.h"
#include "serve/svc-json.h"

void tocsin_http_health_judge(const struct tocsin_httpd *h, struct tocsin_http_health *hl)
{
    const struct tocsin_status *st = h->status;

    memset(hl, 0, sizeof(*hl));
    hl->overdue_us = st->overdue_us ? st->overdue_us(st->ud) : 0;
    hl->up = st->workers_up ? st->workers_up(st->ud, &hl->total) : 0;
    if (hl->overdue_us > h->max_lateness_us)
        tocsin_buf_printf(&hl->reasons[hl->nreasons++],
                          "the scheduler is %.1f s behind (more than %.1f s)",
                          (double)hl->overdue_us / 1e6,
                          (double)h->max_lateness_us / 1e6);
    if (hl->up < hl->total)
        tocsin_buf_printf(&hl->reasons[hl->nreasons++], "%d of %d check workers are down",
                          hl->total - hl->up, hl->total);
    hl->ok = hl->nreasons == 0;
}

void tocsin_http_health_free(struct tocsin_http_health *hl)
{
    int i;

    for (i = 0; i < 2; i++)
        tocsin_buf_free(&hl->reasons[i]);
}

enum MHD_Result tocsin_http_serve_health(struct tocsin_httpd *h, struct MHD_Connection *c)
{
    const struct tocsin_status *st = h->status;
    struct tocsin_buf body = TOCSIN_BUF_INIT;
    struct tocsin_http_health hl;
    json_t *o = json_object(), *reasons = json_array();
    int bad = !o || !reasons, i;

    tocsin_http_health_judge(h, &hl);
    for (i = 0; i < hl.nreasons && reasons; i++)
        tocsin_json_push(reasons, tocsin_json_text(tocsin_buf_str(&hl.reasons[i])), &bad);
    if (o) {
        tocsin_json_set(o, "status", json_string(hl.ok ? "ok" : "unhealthy"), &bad);
        tocsin_json_set(o, "reasons", reasons, &bad);
        reasons = NULL;
        tocsin_json_set(o, "version", json_string(PACKAGE_VERSION), &bad);
        tocsin_json_set(o, "uptime_seconds",
                        json_integer((json_int_t)(time(NULL) - st->started)), &bad);
        tocsin_json_set(o, "checks_total", json_integer((json_int_t)st->checks_total), &bad);
        tocsin_json_set(o, "services", json_integer((json_int_t)st->conf->nservices), &bad);
        tocsin_json_set(o, "workers_up", json_integer(hl.up), &bad);
        tocsin_json_set(o, "workers_total", json_integer(hl.total), &bad);
        tocsin_json_set(o, "overdue_seconds", json_real((double)hl.overdue_us / 1e6), &bad);
        tocsin_json_set(o, "max_lateness_seconds",
                        json_real((double)h->max_lateness_us / 1e6), &bad);
    }
    json_decref(reasons);
    tocsin_http_json_body(o, bad, &body);
    tocsin_http_health_free(&hl);
    return tocsin_http_respond(c, hl.ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, CT_JSON,
                               &body, NULL, NULL);
}
