/*
 * icinga2.c - forward check results to Icinga 2 as passive results,
 * through its REST API (POST /v1/actions/process-check-result):
 *
 *   notifier "icinga" {
 *       plugin = "icinga2"
 *       url = "https://icinga.example.org:5665"
 *       user = "tocsin"
 *       password_file = "/etc/tocsin/icinga-password"
 *       ca_file = "/etc/tocsin/icinga-ca.crt"
 *   }
 *
 * The daemon hands this notifier every check result of every service
 * (TOCSIN_PLUGIN_RESULTS), and the problem and recovery alerts of the
 * routes that name it; each becomes one request for the Icinga 2 service
 * HOST!SERVICE. One libcurl handle per instance keeps its connection (and
 * TLS session) open from one result to the next.
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

#define ICINGA2_VERSION "0.1.0"
#define ICINGA2_ACTION "/v1/actions/process-check-result"

/* Bytes of an answer kept for its message; the rest is read and dropped. */
#define ICINGA2_REPLY_MAX (64 * 1024)

/* Longest text quoted from an answer in a message. */
#define ICINGA2_SHOW_MAX 200

struct icinga2 {
    CURL *curl;                   /* reused by every request */
    struct curl_slist *headers;   /* Accept and Content-Type, owned */
    char *endpoint;               /* <url>/v1/actions/process-check-result */
    char *peer;                   /* "host:port", for messages */
    char *user;                   /* API user, or NULL (client certificate) */
    char *host_tmpl;              /* template of the Icinga host name */
    char *service_tmpl;           /* template of the Icinga service name */
    char *check_source;           /* sent as check_source */
    long ttl;                     /* seconds, 0: not sent */
    int curl_ready;               /* curl_global_init() succeeded */

    /* What one request gathers; reset before each. */
    char errbuf[CURL_ERROR_SIZE];
    struct tocsin_capture reply;  /* start of the answer's body */
};

static cfg_opt_t icinga2_options[] = {
    CFG_STR("url", "https://localhost:5665", CFGF_NONE),
    TOCSIN_CURL_OPTS_BASIC,
    TOCSIN_CURL_OPTS_TLS,
    CFG_STR("host", "{host}", CFGF_NONE),
    CFG_STR("service", "{service}", CFGF_NONE),
    CFG_STR("check_source", "", CFGF_NONE),
    TOCSIN_OPT_DURATION("ttl", 0),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Performance data                                                    */
/* ------------------------------------------------------------------ */

/* Split Nagios performance data into its items ("'a b'=1s;2;3 x=5" gives
 * "'a b'=1s;2;3" and "x=5"): items are separated by blanks, and a label in
 * single quotes (a quote doubled inside) may hold blanks. Appends each
 * item as a JSON string to `array`. Returns 0, or -1 when out of memory.
 * O(n). */
static int icinga2_perf_items(const char *perf, json_t *array)
{
    const char *p = perf;

    while (*p) {
        const char *start;
        char *item;
        json_t *s;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        start = p;
        if (*p == '\'') {
            p++;
            while (*p) {
                if (*p == '\'' && p[1] == '\'') {
                    p += 2;
                } else if (*p == '\'') {
                    p++;
                    break;
                } else {
                    p++;
                }
            }
        }
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            p++;
        item = strndup(start, (size_t)(p - start));
        if (!item)
            return -1;
        s = json_string(item);
        free(item);
        if (!s || json_array_append_new(array, s) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* libcurl                                                             */
/* ------------------------------------------------------------------ */

static void icinga2_teardown(void *instance)
{
    struct icinga2 *ic = instance;

    if (!ic)
        return;
    if (ic->curl)
        curl_easy_cleanup(ic->curl);
    curl_slist_free_all(ic->headers);
    free(ic->endpoint);
    free(ic->peer);
    free(ic->user);
    free(ic->host_tmpl);
    free(ic->service_tmpl);
    free(ic->check_source);
    tocsin_capture_free(&ic->reply);
    if (ic->curl_ready)
        curl_global_cleanup();
    free(ic);
}

/* Check the URL (http or https, a host, no credentials, no query) and
 * derive the action's endpoint and "host:port" for messages. Returns 0, or
 * -1 with err. The URL is not repeated in err. */
static int icinga2_parse_url(struct icinga2 *ic, const char *url, char *err,
                             size_t errlen)
{
    CURLU *u;
    char *user = NULL, *query = NULL;
    int rc = -1;

    if (tocsin_curl_open_url(url, "option 'url'", "https://icinga.example.org:5665", &u,
                             &ic->peer, err, errlen) < 0)
        return -1;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        snprintf(err, errlen, "option 'url' must not hold credentials: give "
                 "'user' and 'password_file' instead");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
        snprintf(err, errlen, "option 'url' must not have a query: give the "
                 "API's base URL, such as https://icinga.example.org:5665");
        goto out;
    }
    if (!(ic->endpoint = tocsin_curl_url_join(u, ICINGA2_ACTION))) {
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
 * 0, or -1 with err. libcurl keeps its own copy of the password. */
static int icinga2_setup_curl(struct icinga2 *ic, cfg_t *options,
                              const char *password, char *err, size_t errlen)
{
    struct curl_slist *h;
    CURL *c = ic->curl;
    CURLcode rc;

    if (!(h = curl_slist_append(NULL, "Accept: application/json")))
        goto oom;
    ic->headers = h;
    if (!(h = curl_slist_append(ic->headers, "Content-Type: application/json")))
        goto oom;
    if (!(h = curl_slist_append(ic->headers, "Expect:")))
        goto oom;

    rc = tocsin_curl_notifier(c, ic->endpoint, ic->headers, ic->errbuf,
                              "tocsin-icinga2/" ICINGA2_VERSION, &ic->reply);
    /* No proxy from the environment: the API is reached directly. */
    TOCSIN_CURL_SET(rc, c, CURLOPT_PROXY, "");
    if (rc == CURLE_OK)
        rc = tocsin_curl_tls_apply(c, options, 1, 1);
    if (rc == CURLE_OK && ic->user)
        rc = tocsin_curl_basic(c, ic->user, password);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Validate the options into a struct icinga2 owned by the instance, with
 * a libcurl handle ready to post results. */
static int icinga2_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct icinga2 *ic;
    const char *url = tocsin_option_str(options, "url");
    const char *user = tocsin_option_str(options, "user");
    const char *source = tocsin_option_str(options, "check_source");
    const char *host = cfg_getstr(options, "host");
    const char *service = cfg_getstr(options, "service");
    long ttl_ms = cfg_getint(options, "ttl");
    char *password = NULL, why[256], hostname[256];

    ic = calloc(1, sizeof(*ic));
    if (!ic)
        goto oom;
    ic->reply.max = ICINGA2_REPLY_MAX;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl could not be initialised");
        goto fail;
    }
    ic->curl_ready = 1;
    if (icinga2_parse_url(ic, url ? url : "https://localhost:5665", err, errlen) < 0)
        goto fail;

    if (!host || !*host || !service || !*service) {
        snprintf(err, errlen, "options 'host' and 'service' must not be empty "
                 "(defaults \"{host}\" and \"{service}\")");
        goto fail;
    }
    if (tocsin_option_template(options, "host", 0, &ic->host_tmpl, err, errlen) < 0 ||
        tocsin_option_template(options, "service", 0, &ic->service_tmpl, err, errlen) < 0)
        goto fail;

    if (!source) {
        if (gethostname(hostname, sizeof(hostname) - 1) < 0)
            snprintf(hostname, sizeof(hostname), "localhost");
        hostname[sizeof(hostname) - 1] = '\0';
        source = hostname;
    }
    if (!(ic->check_source = tocsin_utf8_clean(source, "?")))
        goto oom;
    if (ttl_ms < 0) {
        snprintf(err, errlen, "option 'ttl' must not be negative");
        goto fail;
    }
    ic->ttl = (ttl_ms + 999) / 1000;

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
    if (user && !password) {
        snprintf(err, errlen, "'user' %s is given but no password (password, "
                 "password_file or password_env)", user);
        goto fail;
    }
    if (!user && !tocsin_option_str(options, "client_cert")) {
        snprintf(err, errlen, "give the API user: 'user' and 'password_file' "
                 "(or 'client_cert' and 'client_key' for an ApiUser with "
                 "client_cn)");
        goto fail;
    }
    if (user && !(ic->user = strdup(user)))
        goto oom;

    if (!(ic->curl = curl_easy_init())) {
        snprintf(err, errlen, "libcurl could not make a handle");
        goto fail;
    }
    if (icinga2_setup_curl(ic, options, password, err, errlen) < 0)
        goto fail;
    tocsin_secret_free(password);
    *instance = ic;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    tocsin_secret_free(password);
    icinga2_teardown(ic);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */
/* ------------------------------------------------------------------ */

/* The request body for one alert, as compact JSON the caller frees; NULL
 * when out of memory. `object` is "HOST!SERVICE". */
static char *icinga2_body(const struct icinga2 *ic, const struct tocsin_alert *a,
                          const char *object)
{
    const char *output = a->output ? a->output : "";
    const char *long_output = a->long_output ? a->long_output : "";
    char *text = NULL, *clean = NULL, *body = NULL;
    size_t olen = strlen(output), llen = strlen(long_output);
    json_t *root = NULL, *perf = NULL;
    json_int_t at = (json_int_t)(a->at ? a->at : time(NULL));

    /* plugin_output is the first line, then the long output. */
    if (!(text = malloc(olen + llen + 2)))
        goto out;
    memcpy(text, output, olen);
    if (llen) {
        text[olen] = '\n';
        memcpy(text + olen + 1, long_output, llen + 1);
    } else {
        text[olen] = '\0';
    }
    if (!(clean = tocsin_utf8_clean(text, "?")))
        goto out;
    root = json_pack("{s:s, s:s, s:i, s:s, s:s, s:I, s:I}",
                     "type", "Service",
                     "service", object,
                     "exit_status", (int)a->state,
                     "plugin_output", clean,
                     "check_source", ic->check_source,
                     "execution_start", at,
                     "execution_end", at);
    if (!root)
        goto out;
    if (a->perfdata && *a->perfdata) {
        free(clean);
        if (!(clean = tocsin_utf8_clean(a->perfdata, "?")) || !(perf = json_array()) ||
            icinga2_perf_items(clean, perf) < 0 ||
            json_object_set(root, "performance_data", perf) < 0)
            goto out;
    }
    if (ic->ttl > 0 && json_object_set_new(root, "ttl", json_integer(ic->ttl)) < 0)
        goto out;
    body = json_dumps(root, JSON_COMPACT);
out:
    json_decref(perf);
    json_decref(root);
    free(clean);
    free(text);
    return body;
}

/* What Icinga said in its answer: the "status" of the first result, or
 * the answer's own "status", or the raw text. Written to out. */
static const char *icinga2_status(const struct icinga2 *ic, char *out, size_t outlen)
{
    json_t *root, *results, *status = NULL;
    const char *text;

    out[0] = '\0';
    if (!ic->reply.len)
        return out;
    root = json_loadb(ic->reply.data, ic->reply.len, 0, NULL);
    results = json_object_get(root, "results");
    if (json_is_array(results) && json_array_size(results) > 0)
        status = json_object_get(json_array_get(results, 0), "status");
    if (!json_is_string(status))
        status = json_object_get(root, "status");
    if (json_is_string(status)) {
        text = json_string_value(status);
        tocsin_show(text, strlen(text), ICINGA2_SHOW_MAX, TOCSIN_SHOW_TRIM, out, outlen);
    } else {
        tocsin_show(ic->reply.data, ic->reply.len, ICINGA2_SHOW_MAX, TOCSIN_SHOW_TRIM,
                    out, outlen);
    }
    json_decref(root);
    return out;
}

/* 1 when every entry of the answer's "results" has a 2xx code (or there
 * is none to say otherwise); the first other code goes to *bad. */
static int icinga2_results_ok(const struct icinga2 *ic, long *bad)
{
    json_t *root = json_loadb(ic->reply.data, ic->reply.len, 0, NULL);
    json_t *results = json_object_get(root, "results"), *r;
    size_t i;
    int ok = 1;

    json_array_foreach(results, i, r) {
        json_t *code = json_object_get(r, "code");
        double c = json_is_number(code) ? json_number_value(code) : 200;

        if (c < 200 || c >= 300) {
            *bad = (long)c;
            ok = 0;
            break;
        }
    }
    json_decref(root);
    return ok;
}

/* Turn a transfer that failed into an outcome and a reason. */
static enum tocsin_delivery icinga2_transfer_failed(struct icinga2 *ic, CURLcode rc,
                                                    long limit_ms, char *err,
                                                    size_t errlen)
{
    const char *why = tocsin_curl_why(ic->errbuf, rc);

    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(err, errlen, "no answer from Icinga 2 at %s within %ld ms",
                 ic->peer, limit_ms);
        return TOCSIN_RETRY;
    case CURLE_COULDNT_CONNECT:
        snprintf(err, errlen, "cannot connect to Icinga 2 at %s: %s", ic->peer,
                 tocsin_curl_connect_why(ic->curl, ic->errbuf, rc));
        return TOCSIN_RETRY;
    case CURLE_PEER_FAILED_VERIFICATION:
        snprintf(err, errlen, "the TLS certificate of %s is not trusted (%s): set "
                 "'ca_file' to Icinga's CA, /var/lib/icinga2/certs/ca.crt on the "
                 "Icinga master", ic->peer, why);
        return TOCSIN_FAILED;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
        snprintf(err, errlen, "cannot use the TLS files configured for %s: %s",
                 ic->peer, why);
        return TOCSIN_FAILED;
    case CURLE_OUT_OF_MEMORY:
        snprintf(err, errlen, "out of memory");
        return TOCSIN_RETRY;
    default:
        snprintf(err, errlen, "request to Icinga 2 at %s failed: %s", ic->peer, why);
        return TOCSIN_RETRY;
    }
}

/* Post one alert's result for Icinga service `object` and judge the
 * answer. Costs one HTTP request on the kept connection. */
static enum tocsin_delivery icinga2_post(struct icinga2 *ic,
                                         const struct tocsin_alert *a,
                                         const char *object, char *err,
                                         size_t errlen)
{
    char status[ICINGA2_SHOW_MAX + 8];
    long limit_ms = tocsin_curl_timeout(ic->curl, &a->deadline), code = 0, bad = 0;
    enum tocsin_delivery outcome;
    char *body;
    CURLcode rc;

    if (limit_ms < 1) {
        snprintf(err, errlen, "no time left to reach Icinga 2 at %s", ic->peer);
        return TOCSIN_RETRY;
    }
    if (!(body = icinga2_body(ic, a, object))) {
        snprintf(err, errlen, "out of memory");
        return TOCSIN_RETRY;
    }
    rc = tocsin_curl_post(ic->curl, ic->errbuf, &ic->reply, body, &code);
    free(body);
    if (rc != CURLE_OK)
        return icinga2_transfer_failed(ic, rc, limit_ms, err, errlen);

    icinga2_status(ic, status, sizeof(status));
    outcome = tocsin_http_outcome(code);
    if (outcome == TOCSIN_DELIVERED) {
        if (icinga2_results_ok(ic, &bad))
            return TOCSIN_DELIVERED;
        snprintf(err, errlen, "Icinga 2 did not take the result for %s (%ld): %s",
                 object, bad, status);
        return TOCSIN_FAILED;
    }
    if (code == 401) {
        if (ic->user)
            snprintf(err, errlen, "Icinga 2 at %s answered 401: authentication "
                     "failed for user %s", ic->peer, ic->user);
        else
            snprintf(err, errlen, "Icinga 2 at %s answered 401: no ApiUser has "
                     "the client certificate's name as client_cn", ic->peer);
    } else if (code == 403) {
        snprintf(err, errlen, "Icinga 2 answered 403: user %s may not process "
                 "check results for %s (ApiUser permission "
                 "actions/process-check-result): %s",
                 ic->user ? ic->user : "(client certificate)", object, status);
    } else if (code == 404 && strstr(status, "No objects")) {
        /* Icinga answers the same when the user may not see the object. */
        snprintf(err, errlen, "service %s does not exist in Icinga 2 (404 No "
                 "objects found): define it there or set 'host'/'service' to "
                 "Icinga's names; if it does exist, give ApiUser %s the "
                 "permission actions/process-check-result", object,
                 ic->user ? ic->user : "(of the client certificate)");
    } else {
        if (outcome == TOCSIN_RETRY && tocsin_curl_retry_after(ic->curl) > 0)
            *a->retry_after = tocsin_curl_retry_after(ic->curl);
        snprintf(err, errlen, "Icinga 2 at %s answered %ld%s%s", ic->peer, code,
                 *status ? ": " : "", status);
    }
    return outcome;
}

/* Send one alert: render the Icinga names, then post. */
static enum tocsin_delivery icinga2_send(void *instance, const struct tocsin_alert *a,
                                         char *err, size_t errlen)
{
    struct icinga2 *ic = instance;
    char *host = tocsin_template_render(ic->host_tmpl, a);
    char *service = tocsin_template_render(ic->service_tmpl, a);
    char *object = NULL, *clean = NULL;
    enum tocsin_delivery outcome = TOCSIN_FAILED;
    size_t len;

    if (!host || !service) {
        snprintf(err, errlen, "out of memory");
        outcome = TOCSIN_RETRY;
        goto out;
    }
    if (!*host || !*service) {
        snprintf(err, errlen, "the %s name is empty for service %s: check the "
                 "'%s' template", *host ? "service" : "host", a->service,
                 *host ? "service" : "host");
        goto out;
    }
    if (strchr(host, '!')) {
        snprintf(err, errlen, "host name \"%s\" holds '!', which Icinga 2 does "
                 "not allow in host names", host);
        goto out;
    }
    len = strlen(host) + strlen(service) + 2;
    if (!(object = malloc(len))) {
        snprintf(err, errlen, "out of memory");
        outcome = TOCSIN_RETRY;
        goto out;
    }
    snprintf(object, len, "%s!%s", host, service);
    if (!(clean = tocsin_utf8_clean(object, "?"))) {
        snprintf(err, errlen, "out of memory");
        outcome = TOCSIN_RETRY;
        goto out;
    }
    outcome = icinga2_post(ic, a, clean, err, errlen);
out:
    free(clean);
    free(object);
    free(service);
    free(host);
    return outcome;
}

/* Forward the alert and each alert grouped with it, one request each.
 * The outcome is the worst: a retry if any asked for one (Icinga takes a
 * repeated result as one more check), else failed if any failed. err
 * holds the reason of the first alert that was not delivered. */
static enum tocsin_delivery icinga2_notify(void *instance,
                                           const struct tocsin_alert *alert,
                                           char *err, size_t errlen)
{
    return tocsin_notify_each(alert, icinga2_send, instance, err, errlen);
}

/* Descriptions for --help; docs/forward-icinga2.md tells more. */
static const struct tocsin_option_help icinga2_help[] = {
    { "url", "URL",
      "base URL of the API: https://host:5665, or http:// for a proxy in front of it" },
    { "user", "USER",
      "ApiUser name, for basic authentication" },
    { "password", "SECRET",
      "the password of user (or use password_file, password_env)" },
    { "password_file", "FILE",
      "the password of user, from the first line of this file" },
    { "password_env", "VARIABLE",
      "the password of user, from this environment variable" },
    { "ca_file", "FILE",
      "the CA that signed Icinga's certificate: Icinga's own CA" },
    { "client_cert", "FILE",
      "a client certificate instead of a password, for an ApiUser with client_cn" },
    { "client_key", "FILE",
      "a client certificate instead of a password, for an ApiUser with client_cn" },
    { "insecure", NULL,
      "skip certificate verification (tests only)" },
    { "host", "HOST",
      "Icinga host name" },
    { "service", NULL,
      "Icinga service name" },
    { "check_source", NULL,
      "sent as the result's check_source" },
    { "ttl", NULL,
      "the result's time to live: past it without a newer result" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .flags = TOCSIN_PLUGIN_RESULTS,
    .name = "icinga2",
    .version = ICINGA2_VERSION,
    .summary = "forward check results to Icinga 2 (REST API, process-check-result)",
    .options = icinga2_options,
    .help = icinga2_help,
    .setup = icinga2_setup,
    .teardown = icinga2_teardown,
    .notify = icinga2_notify,
);
