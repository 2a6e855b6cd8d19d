/*
 * webhook.c - a notifier that POSTs each message as JSON to a URL of the
 * user's choosing, for receivers of their own (a chat bridge, a ticket
 * system, a script behind a web server):
 *
 *   notifier "hook" {
 *       plugin = "webhook"
 *       url_file = "/etc/tocsin/hook-url"
 *       bearer_token_env = "HOOK_TOKEN"
 *       headers = { "X-Team: ops" }
 *   }
 *
 * One POST per message: the alert and the alerts grouped with it travel
 * together in an "alerts" array, with the labels they all share at the top
 * level. The URL is treated as a secret (many services put their token in
 * it), like the bearer token and the extra headers' values: none of them
 * reaches a message. The JSON is built with jansson and posted with
 * libcurl on one handle per instance, so the connection is reused. The
 * exact body is in docs/notify-webhook.md.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tocsin-plugin.h"
#include "common/curl-client.h"

#define WH_VERSION "0.1.0"
#define WH_FORMAT_VERSION "1"         /* "version" in the body */
#define WH_DEFAULT_TEMPLATE "{alerts}"

/* Response bytes kept to explain a refusal; the rest is dropped. */
#define WH_RESPONSE_MAX 16384

/* Characters of a receiver's answer quoted in err. */
#define WH_SHOW_MAX 200

/* Strings never shown in err: the URL, its path, the token, header values. */
#define WH_SECRETS_MAX 36

struct webhook {
    CURL *curl;                  /* reused for every message */
    struct curl_slist *headers;  /* Content-Type, Authorization, extras */
    char *url;                   /* secret: tocsin_secret_free() */
    char *peer;                  /* "host:port", for messages */
    char *tmpl;                  /* "message" template */
    char *secrets[WH_SECRETS_MAX]; /* redacted from err; each owned */
    size_t nsecrets;
    int curl_ready;              /* curl_global_init() succeeded */

    /* What one request gathers; reset before each. */
    char errbuf[CURL_ERROR_SIZE];
    struct tocsin_capture resp;  /* start of the response body */
};

static cfg_opt_t webhook_options[] = {
    CFG_STR("url", "", CFGF_NONE),
    CFG_STR("url_file", "", CFGF_NONE),
    CFG_STR("url_env", "", CFGF_NONE),
    CFG_STR("bearer_token", "", CFGF_NONE),
    CFG_STR("bearer_token_file", "", CFGF_NONE),
    CFG_STR("bearer_token_env", "", CFGF_NONE),
    CFG_STR_LIST("headers", "{}", CFGF_NONE),
    CFG_STR("template", WH_DEFAULT_TEMPLATE, CFGF_NONE),
    TOCSIN_CURL_OPT_CA_FILE,
    CFG_STR("proxy", "", CFGF_NONE),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Text helpers                                                        */
/* ------------------------------------------------------------------ */

/* A JSON string of `s` with invalid UTF-8 (plugin output in Latin-1, say)
 * replaced by U+FFFD; NULL is "". Returns a new reference, or NULL when
 * out of memory. O(strlen(s)). */
static json_t *wh_json_text(const char *s)
{
    char *clean = tocsin_utf8_clean(s, TOCSIN_UTF8_REPLACEMENT);
    json_t *j;

    if (!clean)
        return NULL;
    j = json_string(clean);
    free(clean);
    return j;
}

/* obj[key] = text s. Returns 0, or -1 when out of memory. */
static int wh_set_text(json_t *obj, const char *key, const char *s)
{
    return json_object_set_new(obj, key, wh_json_text(s));
}

/* obj[key] = t as RFC 3339 in UTC ("2026-11-22T13:03:00Z"), or null when
 * t is 0. Returns 0, or -1 when out of memory. */
static int wh_set_time(json_t *obj, const char *key, time_t t)
{
    struct tm tm;
    char text[64];

    if (t <= 0 || !gmtime_r(&t, &tm) ||
        !strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_object_set_new(obj, key, json_null());
    return json_object_set_new(obj, key, json_string(text));
}

/* obj["priority"] = the alert's priority ("P1"), or null without one;
 * obj["priority_rank"] = its rank (1 the most urgent), or null;
 * obj["assignee"] = whom the problem is assigned to, or null. Returns 0,
 * or -1 when out of memory. */
static int wh_set_priority(json_t *obj, const struct tocsin_alert *a)
{
    int has = a->priority && *a->priority;

    if (json_object_set_new(obj, "priority", has ? wh_json_text(a->priority) : json_null()) < 0)
        return -1;
    if (json_object_set_new(obj, "priority_rank",
                            has ? json_integer(a->priority_rank) : json_null()) < 0)
        return -1;
    return json_object_set_new(obj, "assignee", a->assignee && *a->assignee
                               ? wh_json_text(a->assignee) : json_null());
}

/* Remember a string that must never be shown (copied). Short strings are
 * not kept: redacting "1" would maim every message and hide nothing. */
static int wh_add_secret(struct webhook *wh, const char *s, size_t len)
{
    char *copy;

    if (len < 4 || wh->nsecrets >= WH_SECRETS_MAX)
        return 0;
    if (!(copy = strndup(s, len)))
        return -1;
    wh->secrets[wh->nsecrets++] = copy;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The body                                                            */
/* ------------------------------------------------------------------ */

/* {"key": "value", ...} of an alert's labels, or NULL when out of memory. */
static json_t *wh_labels(const struct tocsin_alert *a)
{
    json_t *labels = json_object();
    size_t i;

    if (!labels)
        return NULL;
    for (i = 0; i < a->nlabels; i++)
        if (a->labels[i].key && wh_set_text(labels, a->labels[i].key, a->labels[i].value) < 0) {
            json_decref(labels);
            return NULL;
        }
    return labels;
}

/* One element of "alerts", or NULL when out of memory. */
static json_t *wh_alert(const struct tocsin_alert *a)
{
    json_t *o = json_object();
    int resolved = a->kind == TOCSIN_ALERT_RECOVERY;

    if (!o)
        return NULL;
    if (wh_set_text(o, "status", resolved ? "resolved" : "firing") < 0 ||
        wh_set_text(o, "service", a->service) < 0 ||
        wh_set_text(o, "host", a->host) < 0 ||
        wh_set_text(o, "state", tocsin_state_name((int)a->state)) < 0 ||
        wh_set_text(o, "previous", tocsin_state_name((int)a->previous)) < 0 ||
        wh_set_text(o, "severity", tocsin_severity_name((int)a->severity)) < 0 ||
        wh_set_text(o, "kind", tocsin_alert_kind_name((int)a->kind)) < 0 ||
        wh_set_text(o, "output", a->output) < 0 ||
        wh_set_text(o, "long_output", a->long_output) < 0 ||
        wh_set_text(o, "perfdata", a->perfdata) < 0 ||
        json_object_set_new(o, "labels", wh_labels(a)) < 0 ||
        wh_set_time(o, "startsAt", a->problem_since ? a->problem_since : a->since) < 0 ||
        wh_set_time(o, "endsAt", resolved ? a->since : 0) < 0 ||
        wh_set_time(o, "at", a->at) < 0 ||
        wh_set_text(o, "incident", a->incident) < 0 ||
        wh_set_text(o, "link", a->link) < 0 ||
        wh_set_text(o, "reason", a->reason) < 0 ||
        wh_set_priority(o, a) < 0 ||
        json_object_set_new(o, "attempt", json_integer(a->attempt)) < 0 ||
        json_object_set_new(o, "max_attempts", json_integer(a->max_attempts)) < 0 ||
        json_object_set_new(o, "flapping", json_boolean(a->flapping)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The value of label `key` in `a`, or NULL. */
static const char *wh_label(const struct tocsin_alert *a, const char *key)
{
    size_t i;

    for (i = 0; i < a->nlabels; i++)
        if (a->labels[i].key && strcmp(a->labels[i].key, key) == 0)
            return a->labels[i].value ? a->labels[i].value : "";
    return NULL;
}

/* The labels every alert of the message has with the same value.
 * O(labels x alerts x labels). NULL when out of memory. */
static json_t *wh_common_labels(const struct tocsin_alert *alert)
{
    json_t *common = json_object();
    size_t i, g;

    if (!common)
        return NULL;
    for (i = 0; i < alert->nlabels; i++) {
        const char *key = alert->labels[i].key;
        const char *value = alert->labels[i].value ? alert->labels[i].value : "";
        int shared = key != NULL;

        for (g = 0; shared && g < alert->ngrouped; g++) {
            const char *other = wh_label(&alert->grouped[g], key);

            shared = other && strcmp(other, value) == 0;
        }
        if (shared && wh_set_text(common, key, value) < 0) {
            json_decref(common);
            return NULL;
        }
    }
    return common;
}

/*
 * The whole body for a message, as a string the caller frees (NULL when
 * out of memory): version, group_key, status ("resolved" only when every
 * alert is a recovery), kind and severity of the message, the rendered
 * template, common_labels and the alerts. Cost: one pass over the alerts
 * and their labels, and one JSON encoding.
 */
static char *wh_body(const struct webhook *wh, const struct tocsin_alert *alert)
{
    json_t *root = NULL, *alerts = NULL;
    char *message = NULL, *body = NULL;
    const char *group_key = alert->group_key && *alert->group_key ? alert->group_key
                                                                  : alert->incident;
    size_t n = 1 + alert->ngrouped, i, recoveries = 0;

    for (i = 0; i < n; i++)
        if ((i ? alert->grouped[i - 1].kind : alert->kind) == TOCSIN_ALERT_RECOVERY)
            recoveries++;
    if (!(message = tocsin_template_render(wh->tmpl, alert)) ||
        !(root = json_object()) || !(alerts = json_array()))
        goto out;
    if (wh_set_text(root, "version", WH_FORMAT_VERSION) < 0 ||
        wh_set_text(root, "group_key", group_key) < 0 ||
        wh_set_text(root, "status", recoveries == n ? "resolved" : "firing") < 0 ||
        wh_set_text(root, "kind", tocsin_alert_kind_name((int)alert->kind)) < 0 ||
        wh_set_text(root, "severity", tocsin_severity_name((int)alert->severity)) < 0 ||
        wh_set_priority(root, alert) < 0 ||
        json_object_set_new(root, "count", json_integer((json_int_t)n)) < 0 ||
        wh_set_text(root, "message", message) < 0 ||
        json_object_set_new(root, "common_labels", wh_common_labels(alert)) < 0)
        goto out;
    for (i = 0; i < n; i++)
        if (json_array_append_new(alerts, wh_alert(i ? &alert->grouped[i - 1] : alert)) < 0)
            goto out;
    if (json_object_set(root, "alerts", alerts) < 0)
        goto out;
    body = json_dumps(root, JSON_COMPACT);
out:
    json_decref(alerts);
    json_decref(root);
    free(message);
    return body;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

/*
 * POST body and classify the answer: 2xx delivered; 408, 429 and 5xx
 * retry (Retry-After stored in *alert->retry_after); any other answer
 * failed; no answer (refused, reset, timed out) retry. err gets the
 * status and the start of the answer, with every secret redacted.
 */
static enum tocsin_delivery wh_post(struct webhook *wh, const char *body,
                                    const struct tocsin_alert *alert,
                                    char *err, size_t errlen)
{
    char why[WH_SHOW_MAX + 8];
    long left = tocsin_curl_timeout(wh->curl, &alert->deadline), status = 0;
    enum tocsin_delivery outcome;
    CURLcode rc;

    if (left <= 0) {
        snprintf(err, errlen, "no time left before the deadline to reach %s", wh->peer);
        return TOCSIN_RETRY;
    }
    rc = tocsin_curl_post(wh->curl, wh->errbuf, &wh->resp, body, &status);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "cannot deliver to %s: %s", wh->peer,
                 tocsin_curl_why(wh->errbuf, rc));
        return tocsin_curl_permanent(rc) ? TOCSIN_FAILED : TOCSIN_RETRY;
    }
    outcome = tocsin_http_outcome(status);
    if (outcome == TOCSIN_DELIVERED)
        return outcome;
    tocsin_show(wh->resp.data, wh->resp.len, WH_SHOW_MAX, TOCSIN_SHOW_TRIM, why,
                sizeof(why));
    if (status >= 300 && status < 400) {
        snprintf(err, errlen, "webhook at %s answered %ld: redirects are not "
                 "followed, give the final address as url", wh->peer, status);
        return TOCSIN_FAILED;
    }
    snprintf(err, errlen, "webhook at %s answered %ld%s%s", wh->peer, status,
             *why ? ": " : "", why);
    if (outcome == TOCSIN_RETRY && tocsin_curl_retry_after(wh->curl) > 0)
        *alert->retry_after = tocsin_curl_retry_after(wh->curl);
    return outcome;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void webhook_teardown(void *instance)
{
    struct webhook *wh = instance;
    size_t i;

    if (!wh)
        return;
    if (wh->curl)
        curl_easy_cleanup(wh->curl);
    /* The list holds the Authorization header. */
    for (struct curl_slist *h = wh->headers; h; h = h->next)
        if (h->data)
            memset(h->data, 0, strlen(h->data));
    curl_slist_free_all(wh->headers);
    tocsin_secret_free(wh->url);
    free(wh->peer);
    free(wh->tmpl);
    for (i = 0; i < wh->nsecrets; i++)
        tocsin_secret_free(wh->secrets[i]);
    tocsin_capture_free(&wh->resp);
    if (wh->curl_ready)
        curl_global_cleanup();
    free(wh);
}

/* Check the URL (http or https, with a host) without ever quoting it, keep
 * its "host:port" for messages and its path and query as secrets.
 * Returns 0, or -1 with err. */
static int wh_parse_url(struct webhook *wh, char *err, size_t errlen)
{
    CURLU *u;
    char *path = NULL, *query = NULL, *user = NULL, *password = NULL;
    int rc = -1;

    if (tocsin_curl_open_url(wh->url, "the url", "https://example.org/hook", &u,
                             &wh->peer, err, errlen) < 0)
        return -1;
    if (wh_add_secret(wh, wh->url, strlen(wh->url)) < 0)
        goto oom;
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && path &&
        strlen(path) > 1 && wh_add_secret(wh, path, strlen(path)) < 0)
        goto oom;
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query &&
        wh_add_secret(wh, query, strlen(query)) < 0)
        goto oom;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user &&
        wh_add_secret(wh, user, strlen(user)) < 0)
        goto oom;
    if (curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK && password &&
        wh_add_secret(wh, password, strlen(password)) < 0)
        goto oom;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    curl_free(path);
    curl_free(query);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return rc;
}

/* Whether `name` (len bytes) is an HTTP header name (an RFC 9110 token). */
static int wh_header_name(const char *name, size_t len)
{
    size_t i;

    if (len == 0)
        return 0;
    for (i = 0; i < len; i++)
        if (!name[i] || !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789!#$%&'*+-.^_`|~", name[i]))
            return 0;
    return 1;
}

/* Append "Name: value" to the header list. Returns 0, or -1 (memory). */
static int wh_push_header(struct webhook *wh, const char *line)
{
    struct curl_slist *grown = curl_slist_append(wh->headers, line);

    if (!grown)
        return -1;
    wh->headers = grown;
    return 0;
}

/* The header list: Content-Type (unless given), the bearer token, the
 * configured headers. Header values count as secrets. Returns 0, or -1
 * with err; never quotes a header. */
static int wh_headers(struct webhook *wh, cfg_t *options, const char *token,
                      char *err, size_t errlen)
{
    unsigned i, n = cfg_size(options, "headers");
    int has_type = 0, has_auth = 0;
    struct curl_slist *h;

    for (i = 0; i < n; i++) {
        const char *line = cfg_getnstr(options, "headers", i);
        const char *colon = line ? strchr(line, ':') : NULL;
        const char *value;
        size_t nlen;

        if (!line || !colon || strpbrk(line, "\r\n") ||
            !wh_header_name(line, (size_t)(colon - line))) {
            snprintf(err, errlen, "option 'headers': entry %u of %u is not of the "
                     "form \"Name: value\" on one line", i + 1, n);
            return -1;
        }
        nlen = (size_t)(colon - line);
        for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
            ;
        if (!*value) {
            snprintf(err, errlen, "option 'headers': entry %u of %u (%.*s) has no value",
                     i + 1, n, (int)nlen, line);
            return -1;
        }
        if ((nlen == 14 && strncasecmp(line, "Content-Length", nlen) == 0) ||
            (nlen == 4 && strncasecmp(line, "Host", nlen) == 0) ||
            (nlen == 17 && strncasecmp(line, "Transfer-Encoding", nlen) == 0)) {
            snprintf(err, errlen, "option 'headers': %.*s is set by the notifier itself",
                     (int)nlen, line);
            return -1;
        }
        if (nlen == 12 && strncasecmp(line, "Content-Type", nlen) == 0)
            has_type = 1;
        if (nlen == 13 && strncasecmp(line, "Authorization", nlen) == 0)
            has_auth = 1;
        if (wh_add_secret(wh, value, strlen(value)) < 0)
            goto oom;
    }
    if (has_auth && token) {
        snprintf(err, errlen, "give either a bearer token or an Authorization "
                 "header in 'headers', not both");
        return -1;
    }
    if (!has_type && wh_push_header(wh, "Content-Type: application/json") < 0)
        goto oom;
    if (wh_push_header(wh, "Expect:") < 0)
        goto oom;
    if (token) {
        size_t len = strlen(token) + sizeof("Authorization: Bearer ");
        char *line;

        if (strpbrk(token, "\r\n")) {
            snprintf(err, errlen, "the bearer token holds a line break");
            return -1;
        }
        if (!(line = malloc(len)))
            goto oom;
        snprintf(line, len, "Authorization: Bearer %s", token);
        h = curl_slist_append(wh->headers, line);
        tocsin_secret_free(line);
        if (!h)
            goto oom;
        wh->headers = h;
        if (wh_add_secret(wh, token, strlen(token)) < 0)
            goto oom;
    }
    for (i = 0; i < n; i++)
        if (wh_push_header(wh, cfg_getnstr(options, "headers", i)) < 0)
            goto oom;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Options that never change go to the handle once. Returns 0, or -1. */
static int wh_setup_curl(struct webhook *wh, cfg_t *options, char *err, size_t errlen)
{
    const char *ca = tocsin_option_str(options, "ca_file");
    const char *proxy = tocsin_option_str(options, "proxy");
    CURL *c = wh->curl;
    CURLcode rc;

    if (ca && access(ca, R_OK) < 0) {
        snprintf(err, errlen, "option 'ca_file': cannot read %s", ca);
        return -1;
    }
    rc = tocsin_curl_notifier(c, wh->url, wh->headers, wh->errbuf,
                              "tocsin-webhook/" WH_VERSION, &wh->resp);
    /* Only the configured proxy; "" also ignores http_proxy and the like. */
    TOCSIN_CURL_SET(rc, c, CURLOPT_PROXY, proxy ? proxy : "");
    if (rc == CURLE_OK)
        rc = tocsin_curl_tls_apply(c, options, 0, 0);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

/* Validate the options into a struct webhook owned by the instance. */
static int webhook_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct webhook *wh;
    char *token = NULL, why[256];

    wh = calloc(1, sizeof(*wh));
    if (!wh)
        goto oom;
    wh->resp.max = WH_RESPONSE_MAX;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl could not be initialised");
        goto fail;
    }
    wh->curl_ready = 1;

    if (tocsin_option_secret(options, "url", &wh->url, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "url: %s", why);
        goto fail;
    }
    if (!wh->url) {
        snprintf(err, errlen, "a url is required: set url, url_file or url_env");
        goto fail;
    }
    if (wh_parse_url(wh, err, errlen) < 0)
        goto fail;
    if (tocsin_option_secret(options, "bearer_token", &token, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "bearer token: %s", why);
        goto fail;
    }
    if (tocsin_option_template(options, "template", 1, &wh->tmpl, err, errlen) < 0)
        goto fail;
    if (wh_headers(wh, options, token, err, errlen) < 0)
        goto fail;
    if (!(wh->curl = curl_easy_init())) {
        snprintf(err, errlen, "libcurl could not make a handle");
        goto fail;
    }
    if (wh_setup_curl(wh, options, err, errlen) < 0)
        goto fail;
    tocsin_secret_free(token);
    *instance = wh;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    tocsin_secret_free(token);
    webhook_teardown(wh);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Notify                                                              */
/* ------------------------------------------------------------------ */

/* POST the message (the alert and its grouped ones) once. */
static enum tocsin_delivery webhook_notify(void *instance,
                                           const struct tocsin_alert *alert,
                                           char *err, size_t errlen)
{
    struct webhook *wh = instance;
    enum tocsin_delivery outcome;
    char *body;
    size_t i;

    if (alert->kind == TOCSIN_ALERT_RESULT)
        return TOCSIN_DELIVERED;
    err[0] = '\0';
    body = wh_body(wh, alert);
    if (!body) {
        snprintf(err, errlen, "out of memory building the message");
        return TOCSIN_RETRY;
    }
    outcome = wh_post(wh, body, alert, err, errlen);
    free(body);
    for (i = 0; i < wh->nsecrets; i++)
        tocsin_redact(err, errlen, wh->secrets[i]);
    return outcome;
}

/* Descriptions for --help; docs/notify-webhook.md tells more. */
static const struct tocsin_option_help webhook_help[] = {
    { "url", "URL",
      "where to POST (http or https), inline" },
    { "url_file", "FILE",
      "first line of this file is the URL" },
    { "url_env", "VARIABLE",
      "environment variable holding the URL" },
    { "bearer_token", "SECRET",
      "sent as Authorization: Bearer TOKEN, inline" },
    { "bearer_token_file", "FILE",
      "first line of this file is the token" },
    { "bearer_token_env", "VARIABLE",
      "environment variable holding the token" },
    { "headers", NULL,
      "more request headers, each \"Name: value\"" },
    { "template", "TEMPLATE",
      "the message field" },
    { "ca_file", "FILE",
      "CA certificates to verify an https receiver with" },
    { "proxy", NULL,
      "HTTP proxy; without it no proxy is used, whatever the environment says" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .name = "webhook",
    .version = WH_VERSION,
    .summary = "POST alerts as JSON to a URL",
    .options = webhook_options,
    .help = webhook_help,
    .setup = webhook_setup,
    .teardown = webhook_teardown,
    .notify = webhook_notify,
);
