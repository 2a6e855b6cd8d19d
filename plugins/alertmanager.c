/*
 * alertmanager.c - forward alerts to a Prometheus Alertmanager through its
 * API (POST /api/v2/alerts), as Prometheus itself does:
 *
 *   notifier "alertmanager" {
 *       plugin = "alertmanager"
 *       url = "http://alertmanager.example.org:9093"
 *   }
 *
 * Each alert becomes a postable alert whose labels are alertname (the
 * service), instance (the host), service, severity, state and the
 * service's own labels. Alertmanager's client contract is that a client
 * keeps re-sending an alert while it fires, with endsAt in the future,
 * and sends it once more with endsAt in the past when it is resolved:
 *
 * - a problem, repeat, escalation or acknowledgement fires the alert;
 *   a recovery resolves it;
 * - with every check result (TOCSIN_PLUGIN_RESULTS), a hard non-OK result
 *   fires (so firing alerts are re-sent every check interval), and an OK
 *   result resolves an alert this instance fired.
 *
 * The instance keeps, per alert it has told Alertmanager about, whether
 * it fires and with which state and severity labels (a sorted array,
 * O(log n) per lookup): so that a change from WARNING to CRITICAL
 * resolves the WARNING alert as it fires the CRITICAL one, an OK result
 * resolves the alert that fired, and later OK results send nothing. That
 * memory starts empty in a new worker (after a reload or a crash), so the
 * first OK result of a service it has not seen resolves the alert in each
 * problem state, in case an earlier worker left one firing.
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

#define AM_VERSION "0.1.0"
#define AM_PATH "/api/v2/alerts"
#define AM_DEFAULT_URL "http://127.0.0.1:9093"

/* Bytes of an answer kept for its message; the rest is read and dropped. */
#define AM_REPLY_MAX (64 * 1024)

/* Longest text quoted from an answer in a message. */
#define AM_SHOW_MAX 200

/* An alert this instance has told Alertmanager about: its identity
 * ("alertname\ninstance\nservice"), whether it fires, and the state and
 * severity labels it last fired with. */
struct am_seen {
    char *key;
    int firing;
    enum tocsin_state state;
    enum tocsin_severity severity;
};

struct alertmanager {
    CURL *curl;                   /* reused by every request */
    struct curl_slist *headers;   /* Content-Type, owned */
    char *endpoint;               /* <url>/api/v2/alerts */
    char *peer;                   /* "host:port", for messages */
    char *user;                   /* basic auth user, or NULL */
    int bearer;                   /* a bearer token is configured */
    char *alertname_tmpl;         /* templates of the label and annotations */
    char *summary_tmpl;
    char *description_tmpl;
    long ends_after;              /* seconds; 0: endsAt not sent when firing */
    int curl_ready;               /* curl_global_init() succeeded */

    struct am_seen *seen;         /* sorted by key */
    size_t nseen;
    size_t seen_cap;

    /* What one request gathers; reset before each. */
    char errbuf[CURL_ERROR_SIZE];
    struct tocsin_capture reply;  /* start of the answer's body */
};

static cfg_opt_t am_options[] = {
    CFG_STR("url", AM_DEFAULT_URL, CFGF_NONE),
    TOCSIN_CURL_OPTS_BASIC,
    TOCSIN_CURL_OPTS_BEARER,
    TOCSIN_CURL_OPTS_TLS,
    CFG_STR("alertname", "{service}", CFGF_NONE),
    CFG_STR("summary", "{output}", CFGF_NONE),
    CFG_STR("description", "{long_output}", CFGF_NONE),
    TOCSIN_OPT_DURATION("ends_after", 3600000),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Text helpers                                                        */
/* ------------------------------------------------------------------ */

/* A JSON string holding `s`, each byte that is not part of valid UTF-8
 * replaced by '?'. NULL when out of memory. O(n). */
static json_t *am_string(const char *s)
{
    char *clean = tocsin_utf8_clean(s, "?");
    json_t *j;

    if (!clean)
        return NULL;
    j = json_string(clean);
    free(clean);
    return j;
}

/* A label name as Alertmanager accepts it ([a-zA-Z_][a-zA-Z0-9_]*): every
 * other character becomes '_', and a leading digit gets a '_' before it.
 * The caller frees it; NULL when out of memory. */
static char *am_label_name(const char *key)
{
    size_t len = strlen(key), i, j = 0;
    char *out = malloc(len + 2);

    if (!out)
        return NULL;
    if (key[0] >= '0' && key[0] <= '9')
        out[j++] = '_';
    for (i = 0; i < len; i++) {
        char c = key[i];

        out[j++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '_' ? c : '_';
    }
    out[j] = '\0';
    return out;
}

/* 1 when `link` is an absolute URL Alertmanager takes as generatorURL. */
static int am_valid_link(const char *link)
{
    CURLU *u;
    char *scheme = NULL;
    int ok;

    if (!link || !*link || !(u = curl_url()))
        return 0;
    ok = curl_url_set(u, CURLUPART_URL, link, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
         curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK;
    curl_free(scheme);
    curl_url_cleanup(u);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Alerts seen                                                         */
/* ------------------------------------------------------------------ */

/* Index of `key` in the sorted array, or where it would go (*found 0).
 * O(log n). */
static size_t am_seen_find(const struct alertmanager *am, const char *key, int *found)
{
    size_t lo = 0, hi = am->nseen;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(am->seen[mid].key, key);

        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Remember `key` as firing with this state and severity, or as not
 * firing. Returns 0, or -1 when out of memory. O(n) for a new key (the
 * array shifts); entries stay for the instance's life, one per alert
 * identity. */
static int am_seen_set(struct alertmanager *am, const char *key, int firing,
                       enum tocsin_state state, enum tocsin_severity severity)
{
    int found;
    size_t at = am_seen_find(am, key, &found);
    char *copy;

    if (!found) {
        if (am->nseen == am->seen_cap) {
            size_t cap = am->seen_cap ? am->seen_cap * 2 : 64;
            struct am_seen *grown = realloc(am->seen, cap * sizeof(*grown));

            if (!grown)
                return -1;
            am->seen = grown;
            am->seen_cap = cap;
        }
        if (!(copy = strdup(key)))
            return -1;
        memmove(am->seen + at + 1, am->seen + at, (am->nseen - at) * sizeof(*am->seen));
        am->seen[at].key = copy;
        am->nseen++;
    }
    am->seen[at].firing = firing;
    if (firing) {
        am->seen[at].state = state;
        am->seen[at].severity = severity;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void am_teardown(void *instance)
{
    struct alertmanager *am = instance;
    size_t i;

    if (!am)
        return;
    if (am->curl)
        curl_easy_cleanup(am->curl);
    curl_slist_free_all(am->headers);
    free(am->endpoint);
    free(am->peer);
    free(am->user);
    free(am->alertname_tmpl);
    free(am->summary_tmpl);
    free(am->description_tmpl);
    for (i = 0; i < am->nseen; i++)
        free(am->seen[i].key);
    free(am->seen);
    tocsin_capture_free(&am->reply);
    if (am->curl_ready)
        curl_global_cleanup();
    free(am);
}

/* Check the URL (http or https, a host, no credentials, no query) and
 * derive the endpoint and "host:port" for messages. Returns 0, or -1 with
 * err. */
static int am_parse_url(struct alertmanager *am, const char *url, char *err,
                        size_t errlen)
{
    CURLU *u;
    char *user = NULL, *query = NULL;
    int rc = -1;

    if (tocsin_curl_open_url(url, "option 'url'", AM_DEFAULT_URL, &u, &am->peer, err,
                             errlen) < 0)
        return -1;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        snprintf(err, errlen, "option 'url' must not hold credentials: give "
                 "'user' and 'password_file', or 'token_file'");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
        snprintf(err, errlen, "option 'url' must not have a query: give "
                 "Alertmanager's base URL, such as %s", AM_DEFAULT_URL);
        goto out;
    }
    if (!(am->endpoint = tocsin_curl_url_join(u, AM_PATH))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    curl_free(user);
    curl_free(query);
    curl_url_cleanup(u);
    return rc;
}

/* Give libcurl everything that does not change between requests. Returns
 * 0, or -1 with err. libcurl keeps its own copies of the secrets. */
static int am_setup_curl(struct alertmanager *am, cfg_t *options,
                         const char *password, const char *token, char *err,
                         size_t errlen)
{
    struct curl_slist *h;
    CURL *c = am->curl;
    CURLcode rc;

    if (!(h = curl_slist_append(NULL, "Content-Type: application/json")))
        goto oom;
    am->headers = h;
    if (!(h = curl_slist_append(am->headers, "Expect:")))
        goto oom;

    rc = tocsin_curl_notifier(c, am->endpoint, am->headers, am->errbuf,
                              "tocsin-alertmanager/" AM_VERSION, &am->reply);
    /* No proxy from the environment: Alertmanager is reached directly. */
    TOCSIN_CURL_SET(rc, c, CURLOPT_PROXY, "");
    if (rc == CURLE_OK)
        rc = tocsin_curl_tls_apply(c, options, 1, 1);
    if (rc == CURLE_OK && am->user) {
        rc = tocsin_curl_basic(c, am->user, password);
    } else if (token) {
        TOCSIN_CURL_SET(rc, c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        TOCSIN_CURL_SET(rc, c, CURLOPT_XOAUTH2_BEARER, token);
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Validate the options into a struct alertmanager owned by the instance,
 * with a libcurl handle ready to post alerts. */
static int am_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct alertmanager *am;
    const char *url = tocsin_option_str(options, "url");
    const char *user = tocsin_option_str(options, "user");
    long ends_after_ms = cfg_getint(options, "ends_after");
    char *password = NULL, *token = NULL, why[256];

    am = calloc(1, sizeof(*am));
    if (!am)
        goto oom;
    am->reply.max = AM_REPLY_MAX;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl could not be initialised");
        goto fail;
    }
    am->curl_ready = 1;
    if (am_parse_url(am, url ? url : AM_DEFAULT_URL, err, errlen) < 0)
        goto fail;
    if (tocsin_option_template(options, "alertname", 0, &am->alertname_tmpl, err,
                               errlen) < 0 ||
        tocsin_option_template(options, "summary", 1, &am->summary_tmpl, err, errlen) < 0 ||
        tocsin_option_template(options, "description", 1, &am->description_tmpl, err,
                               errlen) < 0)
        goto fail;
    if (ends_after_ms < 0) {
        snprintf(err, errlen, "option 'ends_after' must not be negative");
        goto fail;
    }
    am->ends_after = (ends_after_ms + 999) / 1000;

    if (tocsin_curl_tls_check(options, 1, err, errlen) < 0)
        goto fail;
    if (tocsin_option_secret(options, "password", &password, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "password: %s", why);
        goto fail;
    }
    if (tocsin_option_secret(options, "token", &token, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "token: %s", why);
        goto fail;
    }
    if (password && !user) {
        snprintf(err, errlen, "a password is given but no 'user'");
        goto fail;
    }
    if (user && token) {
        snprintf(err, errlen, "give either 'user' with a password (basic "
                 "authentication) or a token (bearer), not both");
        goto fail;
    }
    if (user && !(am->user = strdup(user)))
        goto oom;
    am->bearer = token != NULL;

    if (!(am->curl = curl_easy_init())) {
        snprintf(err, errlen, "libcurl could not make a handle");
        goto fail;
    }
    if (am_setup_curl(am, options, password, token, err, errlen) < 0)
        goto fail;
    tocsin_secret_free(password);
    tocsin_secret_free(token);
    *instance = am;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    tocsin_secret_free(password);
    tocsin_secret_free(token);
    am_teardown(am);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Building the alerts                                                 */
/* ------------------------------------------------------------------ */

/* What is posted for one Tocsin alert. */
enum am_action {
    AM_SKIP,        /* nothing: an OK result of an alert not firing, a soft
                       problem result */
    AM_FIRE,        /* the alert fires */
    AM_RESOLVE,     /* the alert that fired is resolved */
    AM_SWEEP        /* the first OK result of an alert not seen yet: the
                       alert is resolved in each problem state */
};

/* A change to the alerts seen, applied once the post is answered. */
struct am_change {
    char *key;                 /* owned */
    enum am_action action;     /* AM_FIRE: firing; else no longer firing */
    enum tocsin_state state;
    enum tocsin_severity severity;
};

/* The labels an alert of a service has in each problem state, when
 * severities follow the states as they do by default. */
static const struct {
    enum tocsin_state state;
    enum tocsin_severity severity;
} am_problem_labels[] = {
    { TOCSIN_WARNING, TOCSIN_SEVERITY_WARNING },
    { TOCSIN_CRITICAL, TOCSIN_SEVERITY_CRITICAL },
    { TOCSIN_UNKNOWN, TOCSIN_SEVERITY_ERROR },
};

/* The severity a state has by default, for an alert whose firing this
 * instance did not see. */
static enum tocsin_severity am_state_severity(enum tocsin_state state)
{
    switch (state) {
    case TOCSIN_OK: return TOCSIN_SEVERITY_INFO;
    case TOCSIN_WARNING: return TOCSIN_SEVERITY_WARNING;
    case TOCSIN_CRITICAL: return TOCSIN_SEVERITY_CRITICAL;
    default: return TOCSIN_SEVERITY_ERROR;
    }
}

/* Lower-case state name for the `state` label: "ok", "warning", ... */
static const char *am_state_label(enum tocsin_state state)
{
    switch (state) {
    case TOCSIN_OK: return "ok";
    case TOCSIN_WARNING: return "warning";
    case TOCSIN_CRITICAL: return "critical";
    default: return "unknown";
    }
}

/* Set label `name` (already a valid label name) to `value`. 0 or -1. */
static int am_set_label(json_t *labels, const char *name, const char *value)
{
    json_t *v = am_string(value);

    return v ? json_object_set_new(labels, name, v) : -1;
}

/* The labels of one alert: the service's labels (names made valid), then
 * alertname, instance, service, severity and state, which a service label
 * of the same name cannot replace. NULL when out of memory. */
static json_t *am_labels(const struct tocsin_alert *a, const char *alertname,
                         enum tocsin_state state, enum tocsin_severity severity)
{
    json_t *labels = json_object();
    size_t i;

    if (!labels)
        return NULL;
    for (i = 0; i < a->nlabels; i++) {
        char *name = am_label_name(a->labels[i].key ? a->labels[i].key : "");
        int rc = name && *name ? am_set_label(labels, name, a->labels[i].value) : 0;

        free(name);
        if (!name || rc < 0)
            goto oom;
    }
    if (am_set_label(labels, "alertname", alertname) < 0 ||
        am_set_label(labels, "instance", a->host) < 0 ||
        am_set_label(labels, "service", a->service) < 0 ||
        am_set_label(labels, "severity", tocsin_severity_name(severity)) < 0 ||
        am_set_label(labels, "state", am_state_label(state)) < 0)
        goto oom;
    return labels;
oom:
    json_decref(labels);
    return NULL;
}

/* One postable alert. `ends` is endsAt (0: not sent). NULL when out of
 * memory. */
static json_t *am_alert(const struct alertmanager *am, const struct tocsin_alert *a,
                        const char *alertname, enum tocsin_state state,
                        enum tocsin_severity severity, time_t starts, time_t ends)
{
    json_t *alert = NULL, *labels, *annotations;
    char *summary = NULL, *description = NULL, when[32];

    if (!(labels = am_labels(a, alertname, state, severity)))
        goto out;
    summary = tocsin_template_render(am->summary_tmpl, a);
    description = tocsin_template_render(am->description_tmpl, a);
    if (!summary || !description || !(annotations = json_object()))
        goto out;
    if ((*summary && json_object_set_new(annotations, "summary", am_string(summary)) < 0) ||
        (*description &&
         json_object_set_new(annotations, "description", am_string(description)) < 0) ||
        (a->reason && *a->reason &&
         json_object_set_new(annotations, "reason", am_string(a->reason)) < 0)) {
        json_decref(annotations);
        goto out;
    }
    alert = json_pack("{s:O, s:o, s:s}", "labels", labels, "annotations", annotations,
                      "startsAt", tocsin_time_rfc3339(starts, when, sizeof(when)));
    if (!alert)
        goto out;
    if (ends && json_object_set_new(alert, "endsAt",
                                    json_string(tocsin_time_rfc3339(ends, when,
                                                                    sizeof(when)))) < 0)
        goto fail;
    if (am_valid_link(a->link) &&
        json_object_set_new(alert, "generatorURL", am_string(a->link)) < 0)
        goto fail;
    goto out;
fail:
    json_decref(alert);
    alert = NULL;
out:
    json_decref(labels);
    free(summary);
    free(description);
    return alert;
}

/* Decide what one Tocsin alert becomes, and add it to `array`: a firing
 * alert, a resolved one (with the labels it fired with), both (the state
 * label changed while firing), a resolved one per problem state (a sweep),
 * or nothing. The change to remember is added to `changes` (at most one
 * entry). Returns 0, or -1 when out of memory. */
static int am_add(struct alertmanager *am, const struct tocsin_alert *a,
                  json_t *array, struct am_change *changes, size_t *nchanges)
{
    char *alertname = tocsin_template_render(am->alertname_tmpl, a);
    const char *host = a->host ? a->host : "";
    const char *service = a->service ? a->service : "";
    const struct am_seen *seen = NULL;
    char *key = NULL;
    enum am_action action;
    time_t now = time(NULL), at = a->at ? a->at : now;
    time_t starts = a->problem_since ? a->problem_since : a->since ? a->since : at;
    enum tocsin_state old_state;
    enum tocsin_severity old_severity;
    int found, firing, rc = -1;
    size_t len, idx, i;

    if (!alertname)
        goto out;
    len = strlen(alertname) + strlen(host) + strlen(service) + 3;
    if (!(key = malloc(len)))
        goto out;
    snprintf(key, len, "%s\n%s\n%s", alertname, host, service);
    idx = am_seen_find(am, key, &found);
    if (found)
        seen = &am->seen[idx];
    firing = seen && seen->firing;

    if (a->kind == TOCSIN_ALERT_RECOVERY || a->state == TOCSIN_OK) {
        if (firing)
            action = AM_RESOLVE;
        else if (seen)
            action = AM_SKIP;            /* resolved already */
        else if (a->kind == TOCSIN_ALERT_RESULT)
            action = AM_SWEEP;
        else
            action = AM_RESOLVE;         /* a recovery: `previous` says what */
    } else if (a->kind == TOCSIN_ALERT_RESULT && !a->hard && !firing) {
        action = AM_SKIP;
    } else {
        action = AM_FIRE;
    }
    if (starts > at)
        starts = at;

    switch (action) {
    case AM_SKIP:
        rc = 0;
        goto out;
    case AM_RESOLVE:
        /* Resolve the alert with the labels it fired with: the ones this
         * instance sent, else those of the state the service left. */
        old_state = firing ? seen->state : a->previous;
        old_severity = firing ? seen->severity : am_state_severity(a->previous);
        if (old_state == TOCSIN_OK) {
            rc = 0;                      /* nothing fired that could be resolved */
            goto out;
        }
        if (json_array_append_new(array, am_alert(am, a, alertname, old_state,
                                                  old_severity, starts, at)) < 0)
            goto out;
        break;
    case AM_SWEEP:
        for (i = 0; i < sizeof(am_problem_labels) / sizeof(am_problem_labels[0]); i++)
            if (json_array_append_new(array, am_alert(am, a, alertname,
                                                      am_problem_labels[i].state,
                                                      am_problem_labels[i].severity,
                                                      starts, at)) < 0)
                goto out;
        break;
    case AM_FIRE:
        if (firing && (seen->state != a->state || seen->severity != a->severity) &&
            json_array_append_new(array, am_alert(am, a, alertname, seen->state,
                                                  seen->severity, starts, at)) < 0)
            goto out;
        if (json_array_append_new(array, am_alert(am, a, alertname, a->state,
                                                  a->severity, starts,
                                                  am->ends_after ? now + am->ends_after
                                                                 : 0)) < 0)
            goto out;
        break;
    }
    changes[*nchanges].key = key;
    changes[*nchanges].action = action;
    changes[*nchanges].state = a->state;
    changes[*nchanges].severity = a->severity;
    (*nchanges)++;
    key = NULL;
    rc = 0;
out:
    free(key);
    free(alertname);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Posting                                                             */
/* ------------------------------------------------------------------ */

/* What Alertmanager said: its answer is a JSON string ("at least one label
 * pair required") or an object with "message"; else the raw text. */
static const char *am_status(const struct alertmanager *am, char *out, size_t outlen)
{
    json_t *root;
    const char *text = NULL;

    out[0] = '\0';
    if (!am->reply.len)
        return out;
    root = json_loadb(am->reply.data, am->reply.len, JSON_DECODE_ANY, NULL);
    if (json_is_string(root))
        text = json_string_value(root);
    else if (json_is_string(json_object_get(root, "message")))
        text = json_string_value(json_object_get(root, "message"));
    if (text)
        tocsin_show(text, strlen(text), AM_SHOW_MAX, TOCSIN_SHOW_TRIM, out, outlen);
    else
        tocsin_show(am->reply.data, am->reply.len, AM_SHOW_MAX, TOCSIN_SHOW_TRIM, out,
                    outlen);
    json_decref(root);
    return out;
}

/* Turn a transfer that failed into an outcome and a reason. */
static enum tocsin_delivery am_transfer_failed(struct alertmanager *am, CURLcode rc,
                                               long limit_ms, char *err, size_t errlen)
{
    const char *why = tocsin_curl_why(am->errbuf, rc);

    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(err, errlen, "no answer from Alertmanager at %s within %ld ms",
                 am->peer, limit_ms);
        return TOCSIN_RETRY;
    case CURLE_COULDNT_CONNECT:
        snprintf(err, errlen, "cannot connect to Alertmanager at %s: %s", am->peer,
                 tocsin_curl_connect_why(am->curl, am->errbuf, rc));
        return TOCSIN_RETRY;
    case CURLE_PEER_FAILED_VERIFICATION:
        snprintf(err, errlen, "the TLS certificate of %s is not trusted (%s): set "
                 "'ca_file' to the CA that signed it", am->peer, why);
        return TOCSIN_FAILED;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
        snprintf(err, errlen, "cannot use the TLS files configured for %s: %s",
                 am->peer, why);
        return TOCSIN_FAILED;
    case CURLE_OUT_OF_MEMORY:
        snprintf(err, errlen, "out of memory");
        return TOCSIN_RETRY;
    default:
        snprintf(err, errlen, "request to Alertmanager at %s failed: %s", am->peer, why);
        return TOCSIN_RETRY;
    }
}

/* Post `body` (a JSON array of alerts) and judge the answer. */
static enum tocsin_delivery am_post(struct alertmanager *am, const char *body,
                                    const struct tocsin_alert *alert, char *err,
                                    size_t errlen)
{
    char status[AM_SHOW_MAX + 8];
    long limit_ms = tocsin_curl_timeout(am->curl, &alert->deadline), code = 0;
    enum tocsin_delivery outcome;
    CURLcode rc;

    if (limit_ms < 1) {
        snprintf(err, errlen, "no time left to reach Alertmanager at %s", am->peer);
        return TOCSIN_RETRY;
    }
    rc = tocsin_curl_post(am->curl, am->errbuf, &am->reply, body, &code);
    if (rc != CURLE_OK)
        return am_transfer_failed(am, rc, limit_ms, err, errlen);

    outcome = tocsin_http_outcome(code);
    if (outcome == TOCSIN_DELIVERED)
        return outcome;
    am_status(am, status, sizeof(status));
    if (code == 401 || code == 403) {
        if (am->user)
            snprintf(err, errlen, "Alertmanager at %s answered %ld: authentication "
                     "failed for user %s", am->peer, code, am->user);
        else if (am->bearer)
            snprintf(err, errlen, "Alertmanager at %s answered %ld: the token was "
                     "refused", am->peer, code);
        else
            snprintf(err, errlen, "Alertmanager at %s answered %ld: it wants "
                     "credentials ('user' and 'password_file', or 'token_file')",
                     am->peer, code);
        return TOCSIN_FAILED;
    }
    if (code == 404) {
        snprintf(err, errlen, "no Alertmanager API v2 at %s (404%s%s): check "
                 "'url'", am->peer, *status ? ": " : "", status);
        return TOCSIN_FAILED;
    }
    snprintf(err, errlen, "Alertmanager at %s answered %ld%s%s", am->peer, code,
             *status ? ": " : "", status);
    if (outcome == TOCSIN_RETRY && tocsin_curl_retry_after(am->curl) > 0)
        *alert->retry_after = tocsin_curl_retry_after(am->curl);
    return outcome;
}

/* Post the alert and those grouped with it in one request, then remember
 * what fires and what was resolved. A firing alert is remembered even when
 * the post failed (Alertmanager may have taken it before the answer was
 * lost), so that a later OK result resolves it; a resolved one only once
 * delivered, so that the next OK result tries again. */
static enum tocsin_delivery am_notify(void *instance, const struct tocsin_alert *alert,
                                      char *err, size_t errlen)
{
    struct alertmanager *am = instance;
    enum tocsin_delivery outcome = TOCSIN_RETRY;
    struct am_change *changes = NULL;
    size_t nchanges = 0, i;
    json_t *array = json_array();
    char *body = NULL;

    err[0] = '\0';
    if (!array || !(changes = calloc(alert->ngrouped + 1, sizeof(*changes))))
        goto oom;
    for (i = 0; i <= alert->ngrouped; i++) {
        const struct tocsin_alert *a = i == 0 ? alert : &alert->grouped[i - 1];

        if (am_add(am, a, array, changes, &nchanges) < 0)
            goto oom;
    }
    if (json_array_size(array) == 0) {
        outcome = TOCSIN_DELIVERED;     /* nothing to tell Alertmanager */
        goto out;
    }
    if (!(body = json_dumps(array, JSON_COMPACT)))
        goto oom;
    outcome = am_post(am, body, alert, err, errlen);
    for (i = 0; i < nchanges; i++) {
        int firing = changes[i].action == AM_FIRE;

        /* Out of memory here costs a sweep or a late resolve, no more. */
        if (firing || outcome == TOCSIN_DELIVERED)
            am_seen_set(am, changes[i].key, firing, changes[i].state,
                        changes[i].severity);
    }
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
    outcome = TOCSIN_RETRY;
out:
    for (i = 0; i < nchanges; i++)
        free(changes[i].key);
    free(changes);
    free(body);
    json_decref(array);
    return outcome;
}

/* Descriptions for --help; docs/forward-alertmanager.md tells more. */
static const struct tocsin_option_help am_help[] = {
    { "url", "URL",
      "Alertmanager's base URL (a path prefix is kept); no credentials, no query" },
    { "user", "USER",
      "basic authentication user (Alertmanager's --web.config.file, or a proxy)" },
    { "password", "SECRET",
      "the password of user (or use password_file, password_env)" },
    { "password_file", "FILE",
      "the password of user, from the first line of this file" },
    { "password_env", "VARIABLE",
      "the password of user, from this environment variable" },
    { "token", "SECRET",
      "a bearer token instead of user and password" },
    { "token_file", "FILE",
      "the bearer token, from the first line of this file" },
    { "token_env", "VARIABLE",
      "the bearer token, from this environment variable" },
    { "ca_file", "FILE",
      "TLS: the CA to trust, a client certificate" },
    { "client_cert", "FILE",
      "TLS: the CA to trust, a client certificate" },
    { "client_key", "FILE",
      "TLS: the CA to trust, a client certificate" },
    { "insecure", NULL,
      "skip certificate verification (tests only)" },
    { "alertname", NULL,
      "the alertname label" },
    { "summary", NULL,
      "the summary annotation (left out when empty)" },
    { "description", NULL,
      "the description annotation (left out when empty)" },
    { "ends_after", NULL,
      "endsAt of a firing alert, from now; 0: not sent" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .flags = TOCSIN_PLUGIN_RESULTS,
    .name = "alertmanager",
    .version = AM_VERSION,
    .summary = "forward alerts to a Prometheus Alertmanager (API v2)",
    .options = am_options,
    .help = am_help,
    .setup = am_setup,
    .teardown = am_teardown,
    .notify = am_notify,
);
