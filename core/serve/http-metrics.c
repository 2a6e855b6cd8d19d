/*
 * http-metrics.c - /metrics: the Prometheus text exposition of the agent's
 * own figures and of every service (state, hard state, flapping, times,
 * acknowledgement, downtime, perfdata), produced a slice at a time as
 * libmicrohttpd sends it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/http-internal.h"
#include "lib/nagios.h"
#include "tocsin-plugin.h"

double tocsin_http_base_unit(double value, const char *uom, const char **base)
{
    static const struct {
        const char *uom;
        const char *base;
        double factor;
    } units[] = {
        {"s", "s", 1}, {"ms", "s", 1e-3}, {"us", "s", 1e-6},
        {"B", "B", 1}, {"KB", "B", 1024.0}, {"MB", "B", 1048576.0},
        {"GB", "B", 1073741824.0}, {"TB", "B", 1099511627776.0},
    };
    size_t i;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(uom, units[i].uom) == 0) {
            *base = units[i].base;
            return value * units[i].factor;
        }
    }
    *base = uom;
    return value;
}

/* Label names every per-service family uses itself. */
static const char *const fixed_labels[] = {"service", "host", "label", "uom", NULL};

static int label_taken(const char *name, size_t len, const struct tocsin_buf *sets,
                       const size_t *taken, size_t ntaken)
{
    size_t i;

    for (i = 0; fixed_labels[i]; i++)
        if (strlen(fixed_labels[i]) == len && memcmp(fixed_labels[i], name, len) == 0)
            return 1;
    for (i = 0; i < ntaken; i++) {
        const char *t = sets->data + taken[i];
        const char *eq = strchr(t, '=');

        if ((size_t)(eq - t) == len && memcmp(t, name, len) == 0)
            return 1;
    }
    return 0;
}

/*
 * Append service `s`'s label set (service="..",host="..",labels...) to
 * `sets`. Label names are sanitised; one that clashes with a fixed label
 * name or an earlier label gets "label_" before it until it is unique.
 * O(k^2) in the service's label count.
 */
static void append_label_set(struct tocsin_buf *sets, const struct tocsin_service_conf *s)
{
    struct tocsin_buf name = TOCSIN_BUF_INIT;
    size_t taken_local[16], *taken = taken_local, ntaken = 0, i;

    if (s->nlabels > 16) {
        taken = malloc(s->nlabels * sizeof(*taken));
        if (!taken) {
            sets->oom = 1;
            return;
        }
    }
    tocsin_buf_puts(sets, "service=\"");
    tocsin_http_prom_value(sets, s->inst.name);
    tocsin_buf_puts(sets, "\",host=\"");
    tocsin_http_prom_value(sets, s->host);
    tocsin_buf_putc(sets, '"');
    for (i = 0; i < s->nlabels && !sets->oom; i++) {
        tocsin_buf_reset(&name);
        tocsin_http_prom_name(&name, s->labels[i].key);
        while (!name.oom && label_taken(tocsin_buf_str(&name), name.len, sets, taken, ntaken)) {
            struct tocsin_buf longer = TOCSIN_BUF_INIT;

            tocsin_buf_printf(&longer, "label_%s", tocsin_buf_str(&name));
            tocsin_buf_free(&name);
            name = longer;
        }
        tocsin_buf_putc(sets, ',');
        taken[ntaken++] = sets->len;
        tocsin_buf_append(sets, tocsin_buf_str(&name), name.len);
        tocsin_buf_puts(sets, "=\"");
        tocsin_http_prom_value(sets, s->labels[i].value);
        tocsin_buf_putc(sets, '"');
    }
    if (name.oom)
        sets->oom = 1;
    tocsin_buf_free(&name);
    if (taken != taken_local)
        free(taken);
}

static void family(struct tocsin_buf *b, const char *name, const char *type, const char *help)
{
    tocsin_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void histogram(struct tocsin_buf *b, const char *name, const char *help,
                      const struct tocsin_histogram *hg)
{
    uint64_t cum = 0;
    int i;

    family(b, name, "histogram", help);
    for (i = 0; i < TOCSIN_HIST_BOUNDS; i++) {
        cum += hg->counts[i];
        tocsin_buf_printf(b, "%s_bucket{le=\"", name);
        tocsin_http_prom_number(b, hg->bounds[i]);
        tocsin_buf_printf(b, "\"} %" PRIu64 "\n", cum);
    }
    cum += hg->counts[TOCSIN_HIST_BOUNDS];
    tocsin_buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum ", name, cum, name);
    tocsin_http_prom_number(b, hg->sum);
    tocsin_buf_printf(b, "\n%s_count %" PRIu64 "\n", name, hg->count);
}

struct perf_ref {
    const struct tocsin_perf *p;
    size_t index;
};

static int cmp_perf_ref(const void *a, const void *b)
{
    const struct perf_ref *x = a, *y = b;
    int c = strcmp(x->p->label, y->p->label);

    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Append one tocsin_service_perfdata sample per perfdata item of `out`
 * (the first item of each label; "U" values are skipped). O(n log n) in
 * the item count.
 */
static void perf_samples(struct tocsin_buf *b, const char *set, size_t setlen,
                         const struct tocsin_output *out)
{
    struct perf_ref local[32], *refs = local;
    size_t i;

    if (!out->nperf)
        return;
    if (out->nperf > 32) {
        refs = malloc(out->nperf * sizeof(*refs));
        if (!refs) {
            b->oom = 1;
            return;
        }
    }
    for (i = 0; i < out->nperf; i++) {
        refs[i].p = &out->perf[i];
        refs[i].index = i;
    }
    qsort(refs, out->nperf, sizeof(*refs), cmp_perf_ref);
    for (i = 0; i < out->nperf; i++) {
        const struct tocsin_perf *p = refs[i].p;
        const char *base;
        double v;

        if (i > 0 && strcmp(p->label, refs[i - 1].p->label) == 0)
            continue;
        if (p->value_unknown)
            continue;
        v = tocsin_http_base_unit(p->value, p->uom, &base);
        tocsin_buf_puts(b, "tocsin_service_perfdata{");
        tocsin_buf_append(b, set, setlen);
        tocsin_buf_puts(b, ",label=\"");
        tocsin_http_prom_value(b, p->label);
        tocsin_buf_puts(b, "\",uom=\"");
        tocsin_http_prom_value(b, base);
        tocsin_buf_puts(b, "\"} ");
        tocsin_http_prom_number(b, v);
        tocsin_buf_putc(b, '\n');
    }
    if (refs != local)
        free(refs);
}

enum svc_value {
    V_STATE,
    V_HARD_STATE,
    V_FLAPPING,
    V_LAST_CHECK,
    V_LAST_CHANGE,
    V_ACKED,
    V_DOWNTIME
};

/* The per-service families, in the order they are sent. */
static const struct {
    const char *name;
    const char *help;
    enum svc_value what;
} svc_families[] = {
    {"tocsin_service_state", "Last result: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", V_STATE},
    {"tocsin_service_hard_state", "Hard state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
     V_HARD_STATE},
    {"tocsin_service_flapping", "1 while the service is flapping.", V_FLAPPING},
    {"tocsin_service_last_check_timestamp_seconds",
     "When the last result came, in Unix seconds.", V_LAST_CHECK},
    {"tocsin_service_last_change_timestamp_seconds",
     "When the hard state last changed, in Unix seconds.", V_LAST_CHANGE},
    {"tocsin_service_acknowledged", "1 while the service's problem is acknowledged.", V_ACKED},
    {"tocsin_service_downtime", "1 while the service is in a downtime set by hand.",
     V_DOWNTIME},
};
#define NSVC_FAMILIES (sizeof(svc_families) / sizeof(svc_families[0]))

/* Append the sample of family `fam` for service `i`, if it has one. */
static void svc_sample(struct tocsin_buf *b, const struct tocsin_status *st, size_t fam,
                       size_t i, const char *set, size_t setlen, time_t now)
{
    const struct tocsin_svc_view *v = &st->views[i];
    const struct tocsin_incident *inc = NULL;
    enum svc_value what = svc_families[fam].what;
    double x = 0;

    if (!v->checked)
        return;
    if (what == V_ACKED || what == V_DOWNTIME) {
        if (!st->alerting)
            return;
        inc = tocsin_alerting_incident(st->alerting, (uint32_t)i);
    }
    switch (what) {
    case V_STATE: x = v->state; break;
    case V_HARD_STATE: x = v->hard_state; break;
    case V_FLAPPING: x = v->flapping ? 1 : 0; break;
    case V_LAST_CHECK: x = (double)v->last_check; break;
    case V_LAST_CHANGE:
        if (v->last_change <= 0)
            return;
        x = (double)v->last_change;
        break;
    case V_ACKED: x = inc->acked ? 1 : 0; break;
    case V_DOWNTIME: x = inc->downtime_until > now ? 1 : 0; break;
    }
    tocsin_buf_puts(b, svc_families[fam].name);
    tocsin_buf_putc(b, '{');
    tocsin_buf_append(b, set, setlen);
    tocsin_buf_puts(b, "} ");
    tocsin_http_prom_number(b, x);
    tocsin_buf_putc(b, '\n');
}

/* The families about the agent itself: a few dozen lines. */
static void agent_metrics(struct tocsin_httpd *h, struct tocsin_buf *b)
{
    const struct tocsin_status *st = h->status;
    const struct tocsin_config *conf = st->conf;
    const struct tocsin_alerting_stats *as = st->alerting ? tocsin_alerting_stats(st->alerting)
                                                          : NULL;
    int up, total = 0;
    size_t i;

    family(b, "tocsin_up", "gauge", "1 while tocsind runs and answers.");
    tocsin_buf_puts(b, "tocsin_up 1\n");
    family(b, "tocsin_build_info", "gauge", "Version of tocsind and of its plugin ABI.");
    tocsin_buf_printf(b, "tocsin_build_info{version=\"%s\",plugin_abi=\"%d\"} 1\n",
                      PACKAGE_VERSION, TOCSIN_PLUGIN_ABI);
    family(b, "tocsin_start_time_seconds", "gauge", "When tocsind started, in Unix seconds.");
    tocsin_buf_printf(b, "tocsin_start_time_seconds %lld\n", (long long)st->started);
    family(b, "tocsin_services", "gauge", "Services configured, groups included.");
    tocsin_buf_printf(b, "tocsin_services %zu\n", conf->nservices);
    family(b, "tocsin_checks_total", "counter", "Check results applied since the start.");
    tocsin_buf_printf(b, "tocsin_checks_total %" PRIu64 "\n", st->checks_total);
    histogram(b, "tocsin_check_duration_seconds", "How long checks ran.", &st->check_duration);
    histogram(b, "tocsin_check_lateness_seconds",
              "How long after its due time each check started.", &st->lateness);
    family(b, "tocsin_scheduler_overdue_seconds", "gauge",
           "Age of the most overdue check not yet handed to a worker.");
    tocsin_buf_puts(b, "tocsin_scheduler_overdue_seconds ");
    tocsin_http_prom_number(b, st->overdue_us ? (double)st->overdue_us(st->ud) / 1e6 : 0);
    tocsin_buf_putc(b, '\n');
    up = st->workers_up ? st->workers_up(st->ud, &total) : 0;
    family(b, "tocsin_check_workers", "gauge", "Check worker processes configured.");
    tocsin_buf_printf(b, "tocsin_check_workers %d\n", total);
    family(b, "tocsin_check_workers_up", "gauge", "Check worker processes running.");
    tocsin_buf_printf(b, "tocsin_check_workers_up %d\n", up);
    family(b, "tocsin_worker_restarts_total", "counter",
           "Worker processes replaced after they died.");
    tocsin_buf_printf(b, "tocsin_worker_restarts_total %" PRIu64 "\n", st->worker_restarts);
    if (st->store) {
        struct tocsin_store_health sh;

        tocsin_store_health(st->store, &sh);
        family(b, "tocsin_outbox_depth", "gauge",
               "Notifications in the durable outbox not delivered, failed or expired yet.");
        tocsin_buf_printf(b, "tocsin_outbox_depth %" PRId64 "\n", tocsin_outbox_depth(st->store));
        family(b, "tocsin_store_commit_failures_total", "counter",
               "Commits of the store that failed (a full disk, an I/O error).");
        tocsin_buf_printf(b, "tocsin_store_commit_failures_total %" PRIu64 "\n",
                          sh.commit_failures);
        family(b, "tocsin_store_failing", "gauge",
               "1 while the store's commits fail (from the first failure until one succeeds).");
        tocsin_buf_printf(b, "tocsin_store_failing %d\n", sh.failing ? 1 : 0);
        family(b, "tocsin_alerting_unsaved", "gauge",
               "Hard changes and delivery outcomes kept in memory until the store takes them.");
        tocsin_buf_printf(b, "tocsin_alerting_unsaved %zu\n",
                          st->alerting ? tocsin_alerting_unsaved(st->alerting) : 0);
    }
    if (as) {
        family(b, "tocsin_notifications_queued_total", "counter",
               "Notifications written to the outbox.");
        tocsin_buf_printf(b, "tocsin_notifications_queued_total %" PRIu64 "\n", as->queued);
        family(b, "tocsin_notifications_suppressed_total", "counter",
               "Problems not told when they happened (downtime, acknowledgement, "
               "flapping, a failed parent).");
        tocsin_buf_printf(b, "tocsin_notifications_suppressed_total %" PRIu64 "\n",
                          as->suppressed);
        family(b, "tocsin_target_breaches_total", "counter",
               "Targets of incident priorities missed: response (not acknowledged in "
               "time), resolution (still open; once per resolve_within).");
        tocsin_buf_printf(b, "tocsin_target_breaches_total{target=\"response\"} %" PRIu64 "\n"
                          "tocsin_target_breaches_total{target=\"resolution\"} %" PRIu64 "\n",
                          as->respond_breaches, as->resolve_breaches);
        family(b, "tocsin_notification_attempts_total", "counter",
               "Delivery attempts, by notifier.");
        for (i = 0; i < conf->nnotifiers; i++) {
            tocsin_buf_puts(b, "tocsin_notification_attempts_total{notifier=\"");
            tocsin_http_prom_value(b, conf->notifiers[i].inst.name);
            tocsin_buf_printf(b, "\"} %" PRIu64 "\n", as->attempts ? as->attempts[i] : 0);
        }
        family(b, "tocsin_notification_failures_total", "counter",
               "Delivery attempts that did not deliver, by notifier.");
        for (i = 0; i < conf->nnotifiers; i++) {
            tocsin_buf_puts(b, "tocsin_notification_failures_total{notifier=\"");
            tocsin_http_prom_value(b, conf->notifiers[i].inst.name);
            tocsin_buf_printf(b, "\"} %" PRIu64 "\n", as->failures ? as->failures[i] : 0);
        }
        family(b, "tocsin_notifications_fallback_total", "counter",
               "Notifications that ended undelivered (failed for good or expired) and "
               "were queued to the fallback notifier instead, by the notifier that failed.");
        for (i = 0; i < conf->nnotifiers; i++) {
            tocsin_buf_puts(b, "tocsin_notifications_fallback_total{notifier=\"");
            tocsin_http_prom_value(b, conf->notifiers[i].inst.name);
            tocsin_buf_printf(b, "\"} %" PRIu64 "\n", as->fallbacks ? as->fallbacks[i] : 0);
        }
    }
    family(b, "tocsin_http_requests_total", "counter", "HTTP requests answered.");
    tocsin_buf_printf(b, "tocsin_http_requests_total %" PRIu64 "\n", h->requests);
    family(b, "tocsin_results_submitted_total", "counter",
           "Results for passive services taken over HTTP.");
    tocsin_buf_printf(b, "tocsin_results_submitted_total %" PRIu64 "\n", h->results_accepted);
    family(b, "tocsin_results_refused_total", "counter",
           "Requests submitting results that were refused (4xx).");
    tocsin_buf_printf(b, "tocsin_results_refused_total %" PRIu64 "\n", h->results_refused);
}

/*
 * A /metrics answer being sent. It is produced a slice at a time (about
 * SLICE_BYTES) as libmicrohttpd asks for more, so that a large exposition
 * holds up the event loop for a slice at a time, not for the whole of it.
 * Phases: the agent's families, then each per-service family, then
 * perfdata. Each service's label set is built once, during the first
 * per-service family, and repeated by the others. A sample is what the
 * daemon knew when its slice was produced.
 */
#define SLICE_BYTES (64 * 1024)

enum { PH_AGENT, PH_FAMILIES, PH_PERF, PH_DONE };

struct metrics_stream {
    struct tocsin_httpd *h;
    const struct tocsin_config *conf; /* the configuration it started with */
    int phase;
    size_t fam;                   /* PH_FAMILIES: which one */
    size_t next;                  /* next service */
    time_t now;
    struct tocsin_buf sets;       /* label sets built so far */
    size_t *off;                  /* nservices + 1 offsets into sets */
    struct tocsin_buf pending;    /* produced, not handed over yet */
    size_t pending_off;
};

/* Produce the next slice into ms->pending. Returns 0, or -1 on oom. */
static int metrics_slice(struct metrics_stream *ms)
{
    const struct tocsin_status *st = ms->h->status;
    size_t n = ms->conf->nservices;
    struct tocsin_buf *b = &ms->pending;

    while (ms->phase != PH_DONE && b->len < SLICE_BYTES && !b->oom && !ms->sets.oom) {
        size_t i = ms->next;

        switch (ms->phase) {
        case PH_AGENT:
            agent_metrics(ms->h, b);
            ms->phase = PH_FAMILIES;
            break;
        case PH_FAMILIES:
            if (i == 0)
                family(b, svc_families[ms->fam].name, "gauge", svc_families[ms->fam].help);
            if (i == n) {
                ms->next = 0;
                if (++ms->fam == NSVC_FAMILIES)
                    ms->phase = PH_PERF;
                break;
            }
            if (ms->fam == 0) {
                ms->off[i] = ms->sets.len;
                append_label_set(&ms->sets, &ms->conf->services[i]);
                ms->off[i + 1] = ms->sets.len;
            }
            svc_sample(b, st, ms->fam, i, ms->sets.data + ms->off[i],
                       ms->off[i + 1] - ms->off[i], ms->now);
            ms->next++;
            break;
        case PH_PERF: {
            const struct tocsin_svc_view *v;
            struct tocsin_output out;

            if (i == 0)
                family(b, "tocsin_service_perfdata", "gauge",
                       "Performance data of the last result; s, ms, us in seconds and B, KB, "
                       "MB, GB, TB in bytes (uom says which).");
            if (i == n) {
                ms->phase = PH_DONE;
                break;
            }
            ms->next++;
            v = &st->views[i];
            if (!v->checked || !v->output || !strchr(v->output, '|'))
                break;
            if (tocsin_output_parse(v->output, strlen(v->output), &out) < 0)
                return -1;
            perf_samples(b, ms->sets.data + ms->off[i], ms->off[i + 1] - ms->off[i], &out);
            tocsin_output_free(&out);
            break;
        }
        default:
            break;
        }
    }
    return b->oom || ms->sets.oom ? -1 : 0;
}

static ssize_t metrics_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct metrics_stream *ms = cls;

    (void)pos;
    if (ms->pending_off == ms->pending.len) {
        if (ms->phase == PH_DONE)
            return MHD_CONTENT_READER_END_OF_STREAM;
        /* The configuration must be the one the label sets were built for. */
        if (ms->h->status->conf != ms->conf)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        tocsin_buf_reset(&ms->pending);
        ms->pending_off = 0;
        if (metrics_slice(ms) < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return tocsin_http_hand_over(&ms->pending, &ms->pending_off, buf, max);
}

static void metrics_free(void *cls)
{
    struct metrics_stream *ms = cls;

    tocsin_buf_free(&ms->sets);
    tocsin_buf_free(&ms->pending);
    free(ms->off);
    free(ms);
}

enum MHD_Result tocsin_http_serve_metrics(struct tocsin_httpd *h, struct MHD_Connection *c)
{
    struct metrics_stream *ms = calloc(1, sizeof(*ms));
    struct MHD_Response *r;

    if (!ms)
        return MHD_NO;
    ms->h = h;
    ms->conf = h->status->conf;
    ms->now = time(NULL);
    ms->off = calloc(ms->conf->nservices + 1, sizeof(*ms->off));
    if (!ms->off) {
        metrics_free(ms);
        return MHD_NO;
    }
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SLICE_BYTES, metrics_read, ms,
                                          metrics_free);
    if (!r) {
        metrics_free(ms);
        return MHD_NO;
    }
    return tocsin_http_queue(c, MHD_HTTP_OK, r, CT_PROM, NULL, NULL);
}
