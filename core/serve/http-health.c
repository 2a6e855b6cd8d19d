/*
 * http-health.c - /health: whether the daemon is healthy (the scheduler
 * not too far behind, every check worker up, the store committing), as
 * JSON with 200 or 503.
 * Answered without the bearer token, for load balancers and supervisors.
 * The same judgement heads the status page.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "serve/http-internal.h"
#include "serve/svc-json.h"

/* The store's failure, if its commits fail: since when, SQLite's reason,
 * and what alerting keeps meanwhile. Adds one to *n when it writes one. */
static void store_reason(const struct tocsin_status *st, struct tocsin_buf *out, int *n)
{
    struct tocsin_store_health sh;
    size_t unsaved = st->alerting ? tocsin_alerting_unsaved(st->alerting) : 0;
    char since[32] = "";
    time_t t;
    struct tm tm;

    tocsin_store_health(st->store, &sh);
    if (!sh.failing)
        return;
    t = (time_t)(sh.failing_since_ms / 1000);
    if (localtime_r(&t, &tm))
        strftime(since, sizeof(since), "%H:%M:%S", &tm);
    tocsin_buf_printf(out, "store: cannot commit since %s: %s (%llu failed commits",
                      since, sh.reason, (unsigned long long)sh.commit_failures);
    if (unsaved)
        tocsin_buf_printf(out, "; %zu changes wait to be saved", unsaved);
    tocsin_buf_putc(out, ')');
    (*n)++;
}

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
    if (st->store)
        store_reason(st, &hl->reasons[hl->nreasons], &hl->nreasons);
    hl->ok = hl->nreasons == 0;
}

void tocsin_http_health_free(struct tocsin_http_health *hl)
{
    int i;

    for (i = 0; i < (int)(sizeof(hl->reasons) / sizeof(hl->reasons[0])); i++)
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
        if (st->store) {
            struct tocsin_store_health sh;

            tocsin_store_health(st->store, &sh);
            tocsin_json_set(o, "store_failing", json_boolean(sh.failing), &bad);
            tocsin_json_set(o, "store_commit_failures",
                            json_integer((json_int_t)sh.commit_failures), &bad);
        }
    }
    json_decref(reasons);
    tocsin_http_json_body(o, bad, &body);
    tocsin_http_health_free(&hl);
    return tocsin_http_respond(c, hl.ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, CT_JSON,
                               &body, NULL, NULL);
}
