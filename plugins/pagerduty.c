/*
 * pagerduty.c - a notifier that sends alerts to PagerDuty through the
 * Events API v2:
 *
 *   notifier "pagerduty" {
 *       plugin = "pagerduty"
 *       routing_key_file = "/etc/tocsin/pagerduty-key"
 *   }
 *
 * A problem, a repeat and an escalation trigger an event, an
 * acknowledgement acknowledges it and a recovery resolves it; all of one
 * incident carry the same dedup_key, derived from the alert's incident, so
 * PagerDuty keeps one incident open per problem and closes it again.
 * Grouped alerts are sent as one event each, since PagerDuty deduplicates
 * per event. The JSON is built with jansson and posted with libcurl, on
 * one handle per instance so the connection is reused. See
 * docs/notify-pagerduty.md.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tocsin-plugin.h"
#include "common/curl-client.h"

#define PD_VERSION "0.1.0"
#define PD_DEFAULT_URL "https://events.pagerduty.com/v2/enqueue"
#define PD_DEFAULT_TEMPLATE "{state} {service} on {host}: {output}"

/* Limits of the Events API v2. */
#define PD_KEY_LEN 32           /* characters of a routing key */
#define PD_SUMMARY_MAX 1024     /* bytes of payload.summary kept */
#define PD_DEDUP_MAX 255        /* characters of a dedup_key */

/* Response bytes kept to explain a refusal; the rest is dropped. */
#define PD_RESPONSE_MAX 16384

/* Characters of a receiver's explanation quoted in err. */
#define PD_SHOW_MAX 300

struct pagerduty {
    CURL *curl;                 /* reused for every event */
    struct curl_slist *headers; /* Content-Type, no Expect */
    char *url;                  /* where events go */
    char *peer;                 /* "host:port" of url, for messages */
    char *routing_key;          /* secret: tocsin_secret_free() */
    char *source;               /* payload.source override, or NULL */
    char *class_tmpl;           /* payload.class template, or NULL */
    char *summary_tmpl;         /* payload.summary template */
    int curl_ready;             /* curl_global_init() succeeded */

    /* What one request gathers; reset before each. */
    char errbuf[CURL_ERROR_SIZE];
    struct tocsin_capture resp; /* start of the response body */
};

static cfg_opt_t pagerduty_options[] = {
    CFG_STR("routing_key", "", CFGF_NONE),
    CFG_STR("routing_key_file", "", CFGF_NONE),
    CFG_STR("routing_key_env", "", CFGF_NONE),
    CFG_STR("url", PD_DEFAULT_URL, CFGF_NONE),
    CFG_STR("source", "", CFGF_NONE),
    CFG_STR("class", "", CFGF_NONE),
    CFG_STR("template", PD_DEFAULT_TEMPLATE, CFGF_NONE),
    CFG_STR("proxy", "", CFGF_NONE),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Text helpers                                                        */
/* ------------------------------------------------------------------ */

/*
 * A JSON string of at most `max` bytes of `s` (0: no limit): invalid UTF-8
 * (plugin output in Latin-1, say) becomes U+FFFD, and a cut string ends in
 * "..." without splitting a character. Returns a new reference, or NULL
 * when out of memory. O(strlen(s)).
 */
static json_t *pd_json_text(const char *s, size_t max)
{
    char *clean = tocsin_utf8_clean(s, TOCSIN_UTF8_REPLACEMENT);
    json_t *j;

    if (!clean)
        return NULL;
    j = json_stringn(clean, tocsin_utf8_cut(clean, max));
    free(clean);
    return j;
}

/* Set key of obj to the text s (see pd_json_text); with `skip_empty`, an
 * empty or NULL s sets nothing. Returns 0, or -1 when out of memory. */
static int pd_set_text(json_t *obj, const char *key, const char *s,
                       size_t max, int skip_empty)
{
    json_t *j;

    if (skip_empty && (!s || !*s))
        return 0;
    j = pd_json_text(s, max);
    if (!j)
        return -1;
    return json_object_set_new(obj, key, j);
}

/* The value of label `key`, or NULL. */
static const char *pd_label(const struct tocsin_alert *a, const char *key)
{
    size_t i;

    for (i = 0; i < a->nlabels; i++)
        if (a->labels[i].key && strcmp(a->labels[i].key, key) == 0)
            return a->labels[i].value;
    return NULL;
}

/*
 * The dedup_key of an alert, written to out (at least PD_DEDUP_MAX + 1
 * bytes): the incident itself when it fits in 255 characters, else its
 * first 238 bytes (whole characters) followed by "~" and 16 hex digits of
 * a hash of the whole incident. Alerts without an incident get
 * "HOST/SERVICE/PROBLEM_SINCE", the form the daemon uses.
 */
static void pd_dedup_key(const struct tocsin_alert *a, char *out, size_t outlen)
{
    char fallback[PD_DEDUP_MAX * 4];
    const char *inc = a->incident;
    size_t keep = 0, len;

    if (!inc || !*inc) {
        snprintf(fallback, sizeof(fallback), "%s/%s/%lld", a->host ? a->host : "",
                 a->service ? a->service : "", (long long)a->problem_since);
        inc = fallback;
    }
    if (strlen(inc) <= PD_DEDUP_MAX) {
        snprintf(out, outlen, "%s", inc);
        return;
    }
    while (inc[keep]) {
        len = tocsin_utf8_len(inc + keep, strlen(inc + keep));
        if (!len)
            len = 1;
        if (keep + len > PD_DEDUP_MAX - 17)
            break;
        keep += len;
    }
    snprintf(out, outlen, "%.*s~%016llx", (int)keep, inc,
             (unsigned long long)tocsin_fnv1a(TOCSIN_FNV1A_INIT, inc));
}

/* ------------------------------------------------------------------ */
/* The event                                                           */
/* ------------------------------------------------------------------ */

/* The event_action for an alert's kind. */
static const char *pd_action(enum tocsin_alert_kind kind)
{
    switch (kind) {
    case TOCSIN_ALERT_RECOVERY:
        return "resolve";
    case TOCSIN_ALERT_ACKNOWLEDGED:
        return "acknowledge";
    default:
        return "trigger";
    }
}

/*
 * payload.severity: the more urgent of the alert's severity (whose names
 * PagerDuty shares) and what its incident's priority reads as (the most
 * urgent priority "critical", the next "error", the third "warning", any
 * other "info"). A priority rule can so raise PagerDuty's urgency, but a
 * critical problem is never sent as less than critical.
 */
static const char *pd_severity(const struct tocsin_alert *a)
{
    int sev = (int)a->severity, by_rank;

    if (a->priority && *a->priority && a->priority_rank > 0) {
        by_rank = a->priority_rank <= 3 ? TOCSIN_SEVERITY_CRITICAL + 1 - a->priority_rank
                                        : TOCSIN_SEVERITY_INFO;
        if (by_rank > sev)
            sev = by_rank;
    }
    return tocsin_severity_name(sev);
}

/* payload.custom_details: what PagerDuty shows under the summary. */
static json_t *pd_details(const struct tocsin_alert *a)
{
    json_t *d = json_object(), *labels = json_object();
    size_t i;

    if (!d || !labels)
        goto oom;
    if (pd_set_text(d, "service", a->service, 0, 0) < 0 ||
        pd_set_text(d, "host", a->host, 0, 0) < 0 ||
        pd_set_text(d, "state", tocsin_state_name((int)a->state), 0, 0) < 0 ||
        pd_set_text(d, "previous", tocsin_state_name((int)a->previous), 0, 0) < 0 ||
        pd_set_text(d, "kind", tocsin_alert_kind_name((int)a->kind), 0, 0) < 0 ||
        pd_set_text(d, "output", a->output, 0, 0) < 0 ||
        pd_set_text(d, "long_output", a->long_output, 0, 1) < 0 ||
        pd_set_text(d, "perfdata", a->perfdata, 0, 1) < 0 ||
        pd_set_text(d, "reason", a->reason, 0, 1) < 0 ||
        pd_set_text(d, "route", a->route, 0, 1) < 0 ||
        pd_set_text(d, "priority", a->priority, 0, 1) < 0 ||
        pd_set_text(d, "assignee", a->assignee, 0, 1) < 0 ||
        json_object_set_new(d, "attempt", json_integer(a->attempt)) < 0 ||
        json_object_set_new(d, "max_attempts", json_integer(a->max_attempts)) < 0)
        goto oom;
    for (i = 0; i < a->nlabels; i++)
        if (a->labels[i].key &&
            pd_set_text(labels, a->labels[i].key, a->labels[i].value, 0, 0) < 0)
            goto oom;
    if (json_object_set_new(d, "labels", labels) < 0) {
        labels = NULL;
        goto oom;
    }
    return d;
oom:
    json_decref(labels);
    json_decref(d);
    return NULL;
}

/*
 * The Events API v2 body for one alert, as a string the caller frees
 * (NULL when out of memory). A trigger carries the payload; acknowledge
 * and resolve carry only the key, the action and the dedup_key, which is
 * all the API reads from them.
 */
static char *pd_event(const struct pagerduty *pd, const struct tocsin_alert *a,
                      const char *dedup)
{
    json_t *ev = NULL, *payload = NULL, *links = NULL;
    char *summary = NULL, *klass = NULL, *body = NULL, stamp[64];
    const char *action = pd_action(a->kind);
    const char *component, *group;

    ev = json_pack("{s:s, s:s, s:s, s:s}", "routing_key", pd->routing_key,
                   "event_action", action, "dedup_key", "", "client", "Tocsin");
    if (!ev || pd_set_text(ev, "dedup_key", dedup, 0, 0) < 0)
        goto out;
    if (strcmp(action, "trigger") == 0) {
        summary = tocsin_template_render(pd->summary_tmpl, a);
        if (!summary)
            goto out;
        if (pd->class_tmpl && !(klass = tocsin_template_render(pd->class_tmpl, a)))
            goto out;
        component = pd_label(a, "component");
        if (!component || !*component)
            component = a->service;
        group = pd_label(a, "group");
        if (!group || !*group)
            group = pd_label(a, "team");
        if (!(payload = json_object()) ||
            pd_set_text(payload, "summary", *summary ? summary : "(no summary)",
                        PD_SUMMARY_MAX, 0) < 0 ||
            pd_set_text(payload, "source", pd->source ? pd->source : a->host, 0, 0) < 0 ||
            pd_set_text(payload, "severity", pd_severity(a), 0, 0) < 0 ||
            pd_set_text(payload, "timestamp",
                        tocsin_time_rfc3339(a->since ? a->since : a->at, stamp,
                                            sizeof(stamp)),
                        0, 0) < 0 ||
            pd_set_text(payload, "component", component, 0, 1) < 0 ||
            pd_set_text(payload, "group", group, 0, 1) < 0 ||
            pd_set_text(payload, "class", klass, 0, 1) < 0 ||
            json_object_set_new(payload, "custom_details", pd_details(a)) < 0 ||
            json_object_set(ev, "payload", payload) < 0)
            goto out;
        if (a->link && *a->link) {
            json_t *link = json_object();

            if (!link || !(links = json_array()) ||
                json_array_append_new(links, link) < 0 ||
                pd_set_text(link, "href", a->link, 0, 0) < 0 ||
                pd_set_text(link, "text", a->service, 0, 0) < 0 ||
                json_object_set(ev, "links", links) < 0) {
                if (!links)
                    json_decref(link);
                goto out;
            }
        }
    }
    body = json_dumps(ev, JSON_COMPACT);
out:
    json_decref(links);
    json_decref(payload);
    json_decref(ev);
    free(summary);
    free(klass);
    return body;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

/* PagerDuty's explanation of a refusal, from its JSON answer
 * {"status":..., "message":..., "errors":[...]}: "message: error; error",
 * else the start of the body. Written to out. */
static const char *pd_explain(const struct pagerduty *pd, char *out, size_t outlen)
{
    char text[1024];
    size_t used = 0, i;
    json_t *root, *msg, *errors;

    out[0] = '\0';
    if (!pd->resp.len)
        return out;
    text[0] = '\0';
    root = json_loadb(pd->resp.data, pd->resp.len, 0, NULL);
    if (root && json_is_object(root)) {
        msg = json_object_get(root, "message");
        errors = json_object_get(root, "errors");
        if (json_is_string(msg))
            tocsin_append(text, sizeof(text), &used, "%s", json_string_value(msg));
        if (json_is_array(errors))
            for (i = 0; i < json_array_size(errors); i++) {
                json_t *e = json_array_get(errors, i);

                if (json_is_string(e))
                    tocsin_append(text, sizeof(text), &used, "%s%s",
                                  used ? (i ? "; " : ": ") : "", json_string_value(e));
            }
    }
    json_decref(root);
    if (used)
        return tocsin_show(text, used, PD_SHOW_MAX, 0, out, outlen);
    return tocsin_show(pd->resp.data, pd->resp.len, PD_SHOW_MAX, 0, out, outlen);
}

/*
 * POST one event and classify the answer: 2xx delivered; 408, 429 and 5xx
 * retry (with Retry-After stored in *alert->retry_after); other answers
 * failed; no answer (refused, timed out, reset) retry. Costs one request
 * on the instance's handle, bounded by the alert's deadline.
 */
static enum tocsin_delivery pd_post(struct pagerduty *pd, const char *body,
                                    const struct tocsin_alert *alert,
                                    char *err, size_t errlen)
{
    char why[PD_SHOW_MAX + 8];
    long left = tocsin_curl_timeout(pd->curl, &alert->deadline), status = 0;
    enum tocsin_delivery outcome;
    CURLcode rc;

    if (left <= 0) {
        snprintf(err, errlen, "no time left before the deadline to reach %s", pd->peer);
        return TOCSIN_RETRY;
    }
    rc = tocsin_curl_post(pd->curl, pd->errbuf, &pd->resp, body, &status);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "cannot deliver to %s: %s", pd->peer,
                 tocsin_curl_why(pd->errbuf, rc));
        return tocsin_curl_permanent(rc) ? TOCSIN_FAILED : TOCSIN_RETRY;
    }
    outcome = tocsin_http_outcome(status);
    if (outcome == TOCSIN_DELIVERED)
        return outcome;
    pd_explain(pd, why, sizeof(why));
    snprintf(err, errlen, "pagerduty answered %ld%s%s", status, *why ? ": " : "", why);
    if (outcome == TOCSIN_RETRY && tocsin_curl_retry_after(pd->curl) > 0)
        *alert->retry_after = tocsin_curl_retry_after(pd->curl);
    return outcome;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void pagerduty_teardown(void *instance)
{
    struct pagerduty *pd = instance;

    if (!pd)
        return;
    if (pd->curl)
        curl_easy_cleanup(pd->curl);
    curl_slist_free_all(pd->headers);
    free(pd->url);
    free(pd->peer);
    tocsin_secret_free(pd->routing_key);
    free(pd->source);
    free(pd->class_tmpl);
    free(pd->summary_tmpl);
    tocsin_capture_free(&pd->resp);
    if (pd->curl_ready)
        curl_global_cleanup();
    free(pd);
}

/* Check that url is http(s) with a host and keep its "host:port" in
 * pd->peer. Returns 0, or -1 with err. */
static int pd_parse_url(struct pagerduty *pd, char *err, size_t errlen)
{
    return tocsin_curl_open_url(pd->url, "option 'url'", PD_DEFAULT_URL, NULL,
                                &pd->peer, err, errlen);
}

/* The routing key: required, 32 letters and digits. Returns 0, or -1
 * with err (which never quotes the key). */
static int pd_routing_key(struct pagerduty *pd, cfg_t *options, char *err, size_t errlen)
{
    char why[256];
    size_t len, i;

    if (tocsin_option_secret(options, "routing_key", &pd->routing_key, why,
                             sizeof(why)) < 0) {
        snprintf(err, errlen, "routing key: %s", why);
        return -1;
    }
    if (!pd->routing_key) {
        snprintf(err, errlen, "a routing key is required: set routing_key_file, "
                 "routing_key_env or routing_key to the integration key of an "
                 "Events API v2 integration");
        return -1;
    }
    len = strlen(pd->routing_key);
    if (len != PD_KEY_LEN) {
        snprintf(err, errlen, "the routing key has %zu characters; the integration "
                 "key of an Events API v2 integration has %d", len, PD_KEY_LEN);
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = pd->routing_key[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            snprintf(err, errlen, "the routing key holds a character other than a "
                     "letter or a digit (at position %zu): is it the integration "
                     "key of an Events API v2 integration?", i + 1);
            return -1;
        }
    }
    return 0;
}

/* Options that never change go to the handle once. Returns 0, or -1. */
static int pd_setup_curl(struct pagerduty *pd, const char *proxy, char *err, size_t errlen)
{
    CURL *c = pd->curl;
    CURLcode rc;
    struct curl_slist *h;

    if (!(h = curl_slist_append(NULL, "Content-Type: application/json")))
        goto oom;
    pd->headers = h;
    if (!(h = curl_slist_append(pd->headers, "Accept: application/json")))
        goto oom;
    pd->headers = h;
    if (!(h = curl_slist_append(pd->headers, "Expect:")))
        goto oom;
    pd->headers = h;

    rc = tocsin_curl_notifier(c, pd->url, pd->headers, pd->errbuf,
                              "tocsin-pagerduty/" PD_VERSION, &pd->resp);
    /* Only the configured proxy; "" also ignores http_proxy and the like. */
    TOCSIN_CURL_SET(rc, c, CURLOPT_PROXY, proxy ? proxy : "");
    TOCSIN_CURL_SET(rc, c, CURLOPT_SSL_VERIFYPEER, 1L);
    TOCSIN_CURL_SET(rc, c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Validate the options into a struct pagerduty owned by the instance. */
static int pagerduty_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct pagerduty *pd;
    const char *url = tocsin_option_str(options, "url");
    const char *tmpl = tocsin_option_str(options, "template");
    const char *klass = tocsin_option_str(options, "class");
    const char *source = tocsin_option_str(options, "source");

    pd = calloc(1, sizeof(*pd));
    if (!pd)
        goto oom;
    pd->resp.max = PD_RESPONSE_MAX;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl could not be initialised");
        goto fail;
    }
    pd->curl_ready = 1;

    if (!(pd->url = strdup(url ? url : PD_DEFAULT_URL)))
        goto oom;
    if (pd_parse_url(pd, err, errlen) < 0)
        goto fail;
    if (!tmpl) {
        snprintf(err, errlen, "option 'template' is empty: PagerDuty needs a summary");
        goto fail;
    }
    if (tocsin_option_template(options, "template", 1, &pd->summary_tmpl, err,
                               errlen) < 0 ||
        (klass && tocsin_option_template(options, "class", 1, &pd->class_tmpl, err,
                                         errlen) < 0))
        goto fail;
    if (source && !(pd->source = strdup(source)))
        goto oom;
    if (pd_routing_key(pd, options, err, errlen) < 0)
        goto fail;
    if (!(pd->curl = curl_easy_init())) {
        snprintf(err, errlen, "libcurl could not make a handle");
        goto fail;
    }
    if (pd_setup_curl(pd, tocsin_option_str(options, "proxy"), err, errlen) < 0)
        goto fail;
    *instance = pd;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    pagerduty_teardown(pd);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Notify                                                              */
/* ------------------------------------------------------------------ */

/*
 * Send one event per alert of the message (the alert and its grouped
 * ones). Delivered when every event was; a retry stops at once (the
 * receiver is unwell or throttling) and asks for the whole message again,
 * which PagerDuty's deduplication makes harmless; a refused event is
 * reported after the others were tried. Cost: one HTTP request per alert.
 */
static enum tocsin_delivery pagerduty_notify(void *instance,
                                             const struct tocsin_alert *alert,
                                             char *err, size_t errlen)
{
    struct pagerduty *pd = instance;
    enum tocsin_delivery outcome = TOCSIN_DELIVERED, one;
    char dedup[PD_DEDUP_MAX + 1], why[1024];
    size_t n = 1 + alert->ngrouped, i, failed = 0;

    if (alert->kind == TOCSIN_ALERT_RESULT)
        return TOCSIN_DELIVERED;
    err[0] = '\0';
    for (i = 0; i < n; i++) {
        const struct tocsin_alert *a = i ? &alert->grouped[i - 1] : alert;
        char *body;

        /* The Events API has no word for flapping: a trigger would open
         * (or reopen) an incident for a notice, so none is sent. */
        if (a->kind == TOCSIN_ALERT_FLAPPING_START || a->kind == TOCSIN_ALERT_FLAPPING_STOP)
            continue;
        pd_dedup_key(a, dedup, sizeof(dedup));
        body = pd_event(pd, a, dedup);
        if (!body) {
            snprintf(why, sizeof(why), "out of memory building the event");
            one = TOCSIN_RETRY;
        } else {
            /* The message's deadline and Retry-After slot serve every event. */
            one = pd_post(pd, body, alert, why, sizeof(why));
            /* The body holds the routing key. */
            memset(body, 0, strlen(body));
            free(body);
        }
        if (one == TOCSIN_RETRY) {
            if (n > 1)
                snprintf(err, errlen, "event %zu of %zu (%s): %s", i + 1, n,
                         a->service ? a->service : "", why);
            else
                snprintf(err, errlen, "%s", why);
            outcome = TOCSIN_RETRY;
            break;
        }
        if (one == TOCSIN_FAILED) {
            if (!failed++) {
                if (n > 1)
                    snprintf(err, errlen, "event %zu of %zu (%s): %s", i + 1, n,
                             a->service ? a->service : "", why);
                else
                    snprintf(err, errlen, "%s", why);
            }
            outcome = TOCSIN_FAILED;
        }
    }
    tocsin_redact(err, errlen, pd->routing_key);
    return outcome;
}

/* Descriptions for --help; docs/notify-pagerduty.md tells more. */
static const struct tocsin_option_help pagerduty_help[] = {
    { "routing_key", "SECRET",
      "the integration key of an Events API v2 integration, inline" },
    { "routing_key_file", "FILE",
      "first line of this file is the routing key" },
    { "routing_key_env", "VARIABLE",
      "environment variable holding the routing key" },
    { "url", "URL",
      "where events go (http or https)" },
    { "source", NULL,
      "payload.source" },
    { "class", NULL,
      "payload.class, e.g. \"{label:class}\"; omitted when it renders empty" },
    { "template", "TEMPLATE",
      "payload.summary" },
    { "proxy", NULL,
      "HTTP proxy such as http://proxy.example.org:3128" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .name = "pagerduty",
    .version = PD_VERSION,
    .summary = "send alerts to PagerDuty (Events API v2, one incident per problem)",
    .options = pagerduty_options,
    .help = pagerduty_help,
    .setup = pagerduty_setup,
    .teardown = pagerduty_teardown,
    .notify = pagerduty_notify,
);
