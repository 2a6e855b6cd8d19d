/*
 * prometheus.c - thresholds on an application's own Prometheus metrics:
 * scrape a text-exposition endpoint over HTTP(S) through libcurl and judge
 * expressions written without PromQL (see docs/check-prometheus.md):
 *
 *   check = "prometheus"
 *   url = "http://127.0.0.1:8000/metrics"
 *   expression = {
 *     "errors: rate(http_requests_total{code=~'5..'}) / rate(http_requests_total) by route min_volume 20 warning 1 critical 5",
 *     "p99: quantile(0.99, http_request_duration_seconds) warning 0.5 critical 1",
 *     "queue: app_queue_length warning 100 critical 500"
 *   }
 *
 * Rates need the previous scrape, kept in the instance (the plugin is
 * stateful: a service's checks run in one worker). The first check, with
 * no previous scrape, takes two scrapes `first_window` apart.
 */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tocsin-plugin.h"
#include "common/curl-client.h"
#include "common/promexpr.h"

#define PROM_VERSION "0.1.0"

#define PROM_MAX_BODY_DEFAULT (16L * 1024 * 1024)
#define PROM_MAX_BODY_MAX (256L * 1024 * 1024)
#define PROM_MAX_EXPRESSIONS 64

/* Room for the first line of output. */
#define PROM_LINE_MAX 2048

struct prom {
    CURL *curl;
    struct curl_slist *headers;
    char *url;                     /* may hold credentials: never shown */
    char *peer;                    /* "host:port", for messages */
    struct tocsin_promexpr *exprs;
    size_t nexprs;
    int needs_rate;                /* some expression needs two scrapes */
    long first_window_ms;
    size_t max_body;
    int curl_ready;

    struct tocsin_promexpr_scrape scrapes[2];
    int prev;                      /* index of the previous scrape */
    int have_prev;                 /* scrapes[prev] holds one */

    /* What one transfer gathers. */
    char errbuf[CURL_ERROR_SIZE];
    char *buf;
    size_t len, cap;
    int too_big;
    int oom;
};

static cfg_opt_t prom_options[] = {
    CFG_STR("url", "", CFGF_NONE),
    CFG_STR_LIST("expression", "{}", CFGF_NONE),
    CFG_STR_LIST("header", "{}", CFGF_NONE),
    TOCSIN_CURL_OPTS_TLS,
    TOCSIN_CURL_OPTS_BASIC,
    TOCSIN_OPT_DURATION("first_window", 1000),
    CFG_INT("max_body", PROM_MAX_BODY_DEFAULT, CFGF_NONE),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

/* Keep body bytes up to max_body; past it the transfer stops. */
static size_t prom_on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct prom *h = ud;
    size_t bytes = size * nmemb;

    if (h->len + bytes > h->max_body) {
        h->too_big = 1;
        return 0;
    }
    if (h->len + bytes + 1 > h->cap) {
        size_t want = h->cap ? h->cap : 64 * 1024;
        char *grown;

        while (want < h->len + bytes + 1)
            want *= 2;
        if (!(grown = realloc(h->buf, want))) {
            h->oom = 1;
            return 0;
        }
        h->buf = grown;
        h->cap = want;
    }
    memcpy(h->buf + h->len, data, bytes);
    h->len += bytes;
    return bytes;
}

static void prom_teardown(void *instance)
{
    struct prom *h = instance;
    size_t i;

    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    free(h->url);
    free(h->peer);
    for (i = 0; i < h->nexprs; i++)
        tocsin_promexpr_free(&h->exprs[i]);
    free(h->exprs);
    tocsin_promexpr_scrape_free(&h->scrapes[0]);
    tocsin_promexpr_scrape_free(&h->scrapes[1]);
    free(h->buf);
    if (h->curl_ready)
        curl_global_cleanup();
    free(h);
}

/* Parse every expression. Returns 0, or -1 with "expression N (NAME...):
 * why" in err. */
static int prom_expressions(struct prom *h, cfg_t *options, char *err, size_t errlen)
{
    unsigned i, j, n = cfg_size(options, "expression");
    char why[256];

    if (n == 0) {
        snprintf(err, errlen, "option 'expression' is required: at least one "
                 "\"NAME: EXPRESSION [warning R] [critical R]\"");
        return -1;
    }
    if (n > PROM_MAX_EXPRESSIONS) {
        snprintf(err, errlen, "option 'expression': %u expressions, at most %d",
                 n, PROM_MAX_EXPRESSIONS);
        return -1;
    }
    if (!(h->exprs = calloc(n, sizeof(*h->exprs)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        const char *text = cfg_getnstr(options, "expression", i);

        if (tocsin_promexpr_parse(text ? text : "", &h->exprs[i], why,
                                  sizeof(why)) < 0) {
            snprintf(err, errlen, "option 'expression' %u of %u (\"%.60s%s\"): %s",
                     i + 1, n, text ? text : "",
                     text && strlen(text) > 60 ? "..." : "", why);
            return -1;
        }
        h->nexprs++;
        for (j = 0; j < i; j++)
            if (strcmp(h->exprs[j].name, h->exprs[i].name) == 0) {
                snprintf(err, errlen, "option 'expression': the name '%s' is "
                         "given twice", h->exprs[i].name);
                return -1;
            }
        if (tocsin_promexpr_needs_rate(&h->exprs[i]))
            h->needs_rate = 1;
    }
    return 0;
}

/* The request headers: "Name: value" each, plus the Accept header. */
static int prom_headers(struct prom *h, cfg_t *options, char *err, size_t errlen)
{
    unsigned i, n = cfg_size(options, "header");
    struct curl_slist *grown;

    for (i = 0; i < n; i++) {
        const char *line = cfg_getnstr(options, "header", i);
        const char *colon = line ? strchr(line, ':') : NULL;

        if (!line || !colon || colon == line || strpbrk(line, "\r\n")) {
            /* Not echoed: a header may carry a token. */
            snprintf(err, errlen, "option 'header': entry %u of %u is not of "
                     "the form \"Name: value\" on one line", i + 1, n);
            return -1;
        }
        if (!(grown = curl_slist_append(h->headers, line)))
            goto oom;
        h->headers = grown;
    }
    /* The classic text format, which every exporter speaks. */
    if (!(grown = curl_slist_append(h->headers, "Accept: text/plain;version=0.0.4;q=1,"
                                    "application/openmetrics-text;q=0.5,*/*;q=0.1")))
        goto oom;
    h->headers = grown;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Validate the options into a struct prom owned by the instance: the
 * parsed expressions and a libcurl handle ready to scrape. Returns 0, or
 * -1 with a reason in err that never holds the URL or the password. */
static int prom_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct prom *h;
    const char *url = tocsin_option_str(options, "url");
    const char *user = tocsin_option_str(options, "user");
    long max_body = cfg_getint(options, "max_body");
    char *password = NULL, why[256];
    CURLcode rc = CURLE_OK;

    if (!(h = calloc(1, sizeof(*h)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl could not be initialised");
        goto fail;
    }
    h->curl_ready = 1;
    if (!url) {
        snprintf(err, errlen, "option 'url' is required");
        goto fail;
    }
    if (tocsin_curl_open_url(url, "option 'url'", NULL, NULL, &h->peer, err, errlen) < 0 ||
        prom_expressions(h, options, err, errlen) < 0)
        goto fail;
    if (!(h->url = strdup(url))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (max_body < 1 || max_body > PROM_MAX_BODY_MAX) {
        snprintf(err, errlen, "option 'max_body': %ld is not between 1 and %ld bytes",
                 max_body, PROM_MAX_BODY_MAX);
        goto fail;
    }
    h->max_body = (size_t)max_body;
    h->first_window_ms = cfg_getint(options, "first_window");
    if (h->first_window_ms < 0 || h->first_window_ms > 60000) {
        snprintf(err, errlen, "option 'first_window' must be between 0 and 60 s");
        goto fail;
    }
    if (tocsin_curl_tls_check(options, 1, err, errlen) < 0)
        goto fail;
    if (tocsin_option_secret(options, "password", &password, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "password: %s", why);
        goto fail;
    }
    if (password && !user) {
        snprintf(err, errlen, "a password is given but no 'user'");
        goto fail;
    }
    if (prom_headers(h, options, err, errlen) < 0)
        goto fail;
    if (!(h->curl = curl_easy_init())) {
        snprintf(err, errlen, "libcurl could not make a handle");
        goto fail;
    }
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_URL, h->url);
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_NOSIGNAL, 1L);
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_WRITEFUNCTION, prom_on_body);
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_WRITEDATA, h);
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_HTTPHEADER, h->headers);
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_USERAGENT, "tocsin-prometheus/" PROM_VERSION);
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_ACCEPT_ENCODING, "");
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    TOCSIN_CURL_SET(rc, h->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (rc == CURLE_OK)
        rc = tocsin_curl_tls_apply(h->curl, options, 1, 1);
    if (rc == CURLE_OK && user)
        rc = tocsin_curl_basic(h->curl, user, password);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
        goto fail;
    }
    tocsin_secret_free(password);
    *instance = h;
    return 0;
fail:
    tocsin_secret_free(password);
    prom_teardown(h);
    return -1;
}

/* ------------------------------------------------------------------ */
/* The check                                                           */
/* ------------------------------------------------------------------ */

static double prom_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fetch the endpoint and keep what the expressions need in `scrape`.
 * Returns 0, or -1 with the check's result set. */
static int prom_scrape(struct prom *h, struct tocsin_check *chk,
                       struct tocsin_promexpr_scrape *scrape)
{
    struct timespec deadline = tocsin_check_deadline(chk);
    struct tocsin_promtext_error perr;
    long code = 0;
    CURLcode rc;
    int prc;

    tocsin_promexpr_scrape_reset(scrape);
    if (tocsin_curl_timeout(h->curl, &deadline) < 1) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "PROMETHEUS CRITICAL - no time left "
                         "before the check's deadline");
        tocsin_check_timed_out(chk);
        return -1;
    }
    h->errbuf[0] = '\0';
    h->len = 0;
    h->too_big = h->oom = 0;
    rc = curl_easy_perform(h->curl);
    scrape->at = prom_now();
    if (rc != CURLE_OK) {
        if (h->too_big)
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "PROMETHEUS UNKNOWN - the metrics "
                             "from %s are longer than max_body (%zu bytes)", h->peer,
                             h->max_body);
        else if (h->oom || rc == CURLE_OUT_OF_MEMORY)
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "PROMETHEUS UNKNOWN - out of memory");
        else if (rc == CURLE_OPERATION_TIMEDOUT) {
            tocsin_check_set(chk, TOCSIN_CRITICAL, "PROMETHEUS CRITICAL - timed out "
                             "scraping %s", h->peer);
            tocsin_check_timed_out(chk);
        } else if (rc == CURLE_COULDNT_CONNECT)
            tocsin_check_set(chk, TOCSIN_CRITICAL, "PROMETHEUS CRITICAL - cannot "
                             "connect to %s: %s", h->peer,
                             tocsin_curl_connect_why(h->curl, h->errbuf, rc));
        else
            tocsin_check_set(chk, TOCSIN_CRITICAL, "PROMETHEUS CRITICAL - scraping "
                             "%s failed: %s", h->peer, tocsin_curl_why(h->errbuf, rc));
        return -1;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code > 299) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "PROMETHEUS CRITICAL - %s answered "
                         "HTTP %ld%s", h->peer, code,
                         code == 401 ? " (authentication failed)" : "");
        return -1;
    }
    prc = tocsin_promexpr_collect(h->exprs, h->nexprs, h->buf ? h->buf : "", h->len,
                                  scrape, &perr);
    if (prc == -1) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "PROMETHEUS UNKNOWN - malformed "
                         "metrics from %s at line %lu: %s", h->peer, perr.line,
                         perr.reason);
        return -1;
    }
    if (prc != 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "PROMETHEUS UNKNOWN - metrics from %s "
                         "at line %lu: %s", h->peer, perr.line, perr.reason);
        return -1;
    }
    return 0;
}

/* Sleep until `seconds` from now, or until shortly before the deadline. */
static void prom_wait(struct tocsin_check *chk, double seconds)
{
    struct timespec ts;
    double left = tocsin_check_remaining(chk) / 3;

    if (seconds > left)
        seconds = left;
    if (seconds <= 0)
        return;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* A figure with its unit: "12.5%", "0.31 s", "42". */
static const char *prom_show(double v, const char *uom, char *out, size_t len)
{
    snprintf(out, len, "%.4g%s%s", v, uom[0] && strcmp(uom, "%") ? " " : "", uom);
    return out;
}

/* The perfdata label of one result: NAME, or NAME[GROUP]. */
static const char *prom_label(const struct tocsin_promexpr *e,
                              const struct tocsin_promexpr_result *r, char *out,
                              size_t len)
{
    if (e->nby)
        snprintf(out, len, "%s[%s]", e->name, r->group);
    else
        snprintf(out, len, "%s", e->name);
    return out;
}

/* Judge expression `i`: perfdata and long output for each of its series,
 * its part of the first line. Returns its state. */
static enum tocsin_state prom_judge(struct prom *h, unsigned i, struct tocsin_check *chk,
                                    const struct tocsin_promexpr_scrape *prev,
                                    const struct tocsin_promexpr_scrape *cur,
                                    char *line, size_t len, size_t *used)
{
    const struct tocsin_promexpr *e = &h->exprs[i];
    struct tocsin_promexpr_result *r = NULL;
    size_t n = 0, matched = 0, k, worst = 0, judged = 0;
    enum tocsin_state state = TOCSIN_OK, s;
    char label[512], fig[64], range[64];
    const char *sep = *used ? ", " : "";

    if (tocsin_promexpr_eval(e, i, prev, cur, &r, &n, &matched) < 0) {
        tocsin_append(line, len, used, "%s%s: out of memory", sep, e->name);
        return TOCSIN_UNKNOWN;
    }
    if (matched == 0 || n == 0) {
        tocsin_append(line, len, used, "%s%s: no series match", sep, e->name);
        state = TOCSIN_UNKNOWN;
        goto out;
    }
    for (k = 0; k < n; k++) {
        prom_label(e, &r[k], label, sizeof(label));
        tocsin_check_perf(chk, label, r[k].value, e->uom, &e->th, 0, 0, 0);
        if (r[k].why) {
            if (!isnan(r[k].volume))
                tocsin_check_long(chk, "%s: not judged, %s (volume %g, min_volume %g)",
                                  label, r[k].why, r[k].volume, e->min_volume);
            else
                tocsin_check_long(chk, "%s: not judged, %s", label, r[k].why);
            continue;
        }
        s = tocsin_thresholds_eval(&e->th, r[k].value);
        if (!judged || tocsin_state_worst(s, state) != state ||
            (s == state && r[k].value > r[worst].value))
            worst = k;
        state = tocsin_state_worst(state, s);
        judged++;
        prom_show(r[k].value, e->uom, fig, sizeof(fig));
        if (e->kind == TOCSIN_PROMEXPR_RATE)
            tocsin_check_long(chk, "%s: %s per second (+%g in %.3f s)", label, fig,
                              r[k].increase, cur->at - prev->at);
        else if (e->kind == TOCSIN_PROMEXPR_RATIO)
            tocsin_check_long(chk, "%s: %s (%g of %g in %.3f s)", label, fig,
                              r[k].increase, r[k].volume, cur->at - prev->at);
        else if (e->kind == TOCSIN_PROMEXPR_QUANTILE)
            tocsin_check_long(chk, "%s: %s (q %g of %g observations in %.3f s)", label,
                              fig, e->q, r[k].volume, cur->at - prev->at);
        else
            tocsin_check_long(chk, "%s: %s", label, fig);
    }
    if (!judged) {
        if (n == 1 && !isnan(r[0].volume))
            tocsin_append(line, len, used, "%s%s not judged: %s (volume %g, "
                          "min_volume %g)", sep, e->name, r[0].why, r[0].volume,
                          e->min_volume);
        else if (n == 1)
            tocsin_append(line, len, used, "%s%s not judged: %s", sep, e->name,
                          r[0].why);
        else
            tocsin_append(line, len, used, "%s%s: none of %zu series judged", sep,
                          e->name, n);
        goto out;
    }
    prom_label(e, &r[worst], label, sizeof(label));
    prom_show(r[worst].value, e->uom, fig, sizeof(fig));
    tocsin_append(line, len, used, "%s%s%s %s", sep, e->nby ? "worst " : "", label, fig);
    if (state == TOCSIN_CRITICAL || state == TOCSIN_WARNING) {
        tocsin_range_format(state == TOCSIN_CRITICAL ? &e->th.critical : &e->th.warning,
                            range, sizeof(range));
        tocsin_append(line, len, used, " (%s %s)",
                      state == TOCSIN_CRITICAL ? "critical" : "warning", range);
    }
    if (e->nby)
        tocsin_append(line, len, used, " of %zu series", n);
out:
    tocsin_promexpr_results_free(r, n);
    return state;
}

/* Scrape (twice on a first check that needs rates), judge every
 * expression, and keep the scrape for the next check. */
static void prom_check(void *instance, struct tocsin_check *chk)
{
    struct prom *h = instance;
    struct tocsin_promexpr_scrape *cur = &h->scrapes[!h->prev];
    struct tocsin_promexpr_scrape *prev = h->have_prev ? &h->scrapes[h->prev] : NULL;
    enum tocsin_state state = TOCSIN_OK;
    char line[PROM_LINE_MAX];
    size_t used = 0;
    unsigned i;

    if (prom_scrape(h, chk, cur) < 0)
        return;
    if (h->needs_rate && !prev) {
        /* No previous scrape: this one is the baseline, a second one
         * follows after first_window. */
        h->prev = !h->prev;
        h->have_prev = 1;
        prev = cur;
        cur = &h->scrapes[!h->prev];
        prom_wait(chk, (double)h->first_window_ms / 1000);
        if (prom_scrape(h, chk, cur) < 0)
            return;
    }
    line[0] = '\0';
    for (i = 0; i < h->nexprs; i++)
        state = tocsin_state_worst(state, prom_judge(h, i, chk, prev, cur, line,
                                                     sizeof(line), &used));
    tocsin_check_set(chk, state, "PROMETHEUS %s - %s", tocsin_state_name(state), line);
    tocsin_check_long(chk, "%lu samples from %s", cur->samples, h->peer);
    h->prev = !h->prev;
    h->have_prev = 1;
    if (h->cap > 4 * h->len + 64 * 1024) {
        free(h->buf);
        h->buf = NULL;
        h->cap = 0;
    }
}

/* Descriptions for --help; docs/check-prometheus.md tells more. */
static const struct tocsin_option_help prom_help[] = {
    { "url", "URL",
      "the metrics endpoint, http:// or https://" },
    { "expression", NULL,
      "one or more (at most 64) \"NAME: EXPRESSION [options]\", see below" },
    { "header", NULL,
      "request headers, each \"Name: value\" (e.g. \"Authorization: Bearer ...\")" },
    { "ca_file", "FILE",
      "TLS, as for the http check" },
    { "client_cert", "FILE",
      "TLS, as for the http check" },
    { "client_key", "FILE",
      "TLS, as for the http check" },
    { "insecure", NULL,
      "TLS, as for the http check" },
    { "user", "USER",
      "basic authentication, as for the http check" },
    { "password", "SECRET",
      "the basic authentication password of user" },
    { "password_file", "FILE",
      "the basic authentication password, from the first line of this file" },
    { "password_env", "VARIABLE",
      "the basic authentication password, from this environment variable" },
    { "first_window", NULL,
      "on a first check, the time between its two scrapes" },
    { "max_body", NULL,
      "a longer answer is UNKNOWN" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .flags = TOCSIN_PLUGIN_STATEFUL,
    .name = "prometheus",
    .version = PROM_VERSION,
    .summary = "thresholds on rates, ratios, quantiles and gauges of Prometheus metrics",
    .options = prom_options,
    .help = prom_help,
    .setup = prom_setup,
    .teardown = prom_teardown,
    .check = prom_check,
);
