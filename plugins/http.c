/*
 * http.c - an HTTP or HTTPS request through libcurl: the status code, the
 * response time, the body's size and content, redirects and TLS:
 *
 *   check = "http"
 *   url = "https://example.org/health"
 *   body_contains = "\"status\":\"ok\""
 *   expect_status = "200"
 *   warning = "1"                # response time, seconds
 *   critical = "3"
 *   json_expect = { "/db != \"down\"" }
 *   json_value = { "/queue/depth warning=100 critical=500" }
 *
 * One libcurl easy handle per service instance is made in setup and used
 * for every check, so options are applied once. Unless `keepalive` is set,
 * each check resolves, connects and shakes hands anew (no connection, DNS
 * or TLS session is kept), so the time measured is what a new client
 * sees and every check verifies the server's certificate.
 */
#include <curl/curl.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tocsin-plugin.h"
#include "common/curl-client.h"
#include "common/http-json.h"

#define HTTP_VERSION "0.1.0"

/* Defaults and bounds of the options. */
#define HTTP_MAX_BODY_DEFAULT (1024L * 1024)
#define HTTP_MAX_BODY_MAX (64L * 1024 * 1024)
#define HTTP_MAX_REDIRECTS_DEFAULT 10
#define HTTP_MAX_REDIRECTS_MAX 100

/* A body buffer grown past this is released after the check. */
#define HTTP_BUF_KEEP (64 * 1024)

/* Longest quoted text (a searched string, a reason phrase) shown. */
#define HTTP_SHOW_MAX 64

/* Room for the first line of output. */
#define HTTP_LINE_MAX 1024

/* An accepted range of status codes, inclusive. */
struct http_status_range {
    int lo;
    int hi;
};

struct http {
    CURL *curl;                    /* reused by every check */
    struct curl_slist *headers;    /* request headers, owned */
    char *url;                     /* what is requested; may hold credentials */
    char *peer;                    /* "host:port", for messages */
    char *proxy_peer;              /* the proxy's "host:port", or NULL */
    char *shown_url;               /* url without credentials, query, fragment */
    char *method;                  /* as sent */
    char *body;                    /* request body, or NULL; curl reads it in place */
    char *user;                    /* basic auth user, or NULL */
    char *contains;                /* body_contains, or NULL */
    size_t contains_len;
    char *regex_text;              /* body_regex as given, or NULL */
    regex_t regex;                 /* compiled body_regex, when regex_text */
    struct http_status_range *expect; /* accepted status codes */
    size_t n_expect;
    char *expect_shown;            /* "2xx, 3xx", for messages */
    struct tocsin_thresholds time; /* on the response time, seconds */
    struct tocsin_thresholds size; /* on the body size, bytes */
    size_t max_body;               /* body bytes read at most */
    struct http_json_rules json;   /* json_expect and json_value rules */
    int keep_body;                 /* keep the body: a match is configured */
    int keepalive;                 /* connections survive between checks */
    int curl_ready;                /* curl_global_init() succeeded */

    /* What one check gathers; reset before each request. */
    char errbuf[CURL_ERROR_SIZE];  /* libcurl's explanation of a failure */
    char reason[HTTP_SHOW_MAX + 1];/* reason phrase of the last status line */
    char *buf;                     /* body kept, NUL-terminated */
    size_t len;                    /* bytes in buf */
    size_t cap;                    /* bytes allocated for buf */
    size_t received;               /* body bytes taken (at most max_body) */
    int truncated;                 /* the body was longer than max_body */
    int oom;                       /* the body could not be stored */
};

static cfg_opt_t http_options[] = {
    CFG_STR("url", "", CFGF_NONE),
    CFG_STR("host", "", CFGF_NONE),
    CFG_INT("port", 0, CFGF_NONE),
    CFG_STR("path", "", CFGF_NONE),
    CFG_BOOL("tls", cfg_false, CFGF_NONE),
    CFG_STR("method", "GET", CFGF_NONE),
    CFG_STR_LIST("header", "{}", CFGF_NONE),
    CFG_STR("body", "", CFGF_NONE),
    CFG_STR("expect_status", "2xx,3xx", CFGF_NONE),
    CFG_STR("body_contains", "", CFGF_NONE),
    CFG_STR("body_regex", "", CFGF_NONE),
    CFG_STR_LIST("json_expect", "{}", CFGF_NONE),
    CFG_STR_LIST("json_value", "{}", CFGF_NONE),
    CFG_BOOL("follow_redirects", cfg_false, CFGF_NONE),
    CFG_INT("max_redirects", HTTP_MAX_REDIRECTS_DEFAULT, CFGF_NONE),
    TOCSIN_CURL_OPTS_TLS,
    CFG_STR("ip_version", "any", CFGF_NONE),
    CFG_BOOL("keepalive", cfg_false, CFGF_NONE),
    CFG_STR("proxy", "", CFGF_NONE),
    TOCSIN_CURL_OPTS_BASIC,
    TOCSIN_OPT_RANGE("warning", "3"),
    TOCSIN_OPT_RANGE("critical", "5"),
    TOCSIN_OPT_RANGE("size_warning", ""),
    TOCSIN_OPT_RANGE("size_critical", ""),
    CFG_INT("max_body", HTTP_MAX_BODY_DEFAULT, CFGF_NONE),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Small text helpers                                                  */
/* ------------------------------------------------------------------ */

/* `n` bytes of `s` made fit for one line of output: control characters
 * escaped, and with `quoted` also '"' and '\\' (for text shown between
 * double quotes); cut after HTTP_SHOW_MAX characters with "...".
 * Returns out. */
static const char *http_show(const char *s, size_t n, int quoted, char *out,
                             size_t outlen)
{
    size_t used = 0, i;

    out[0] = '\0';
    for (i = 0; i < n && i < HTTP_SHOW_MAX; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\n')
            tocsin_append(out, outlen, &used, "\\n");
        else if (c == '\r')
            tocsin_append(out, outlen, &used, "\\r");
        else if (c == '\t')
            tocsin_append(out, outlen, &used, "\\t");
        else if (c < 0x20 || c == 0x7f)
            tocsin_append(out, outlen, &used, "\\x%02x", c);
        else if (quoted && (c == '"' || c == '\\'))
            tocsin_append(out, outlen, &used, "\\%c", c);
        else
            tocsin_append(out, outlen, &used, "%c", c);
    }
    if (i < n)
        tocsin_append(out, outlen, &used, "...");
    return out;
}

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

/* Parse "200,204,300-399" or "2xx" into ranges. Returns 0, or -1 with a
 * reason in err. The caller frees *ranges. */
static int http_parse_status(const char *text, struct http_status_range **ranges,
                             size_t *n, char *err, size_t errlen)
{
    const char *p = text;
    struct http_status_range *r = NULL, *grown;
    size_t count = 0;

    *ranges = NULL;
    *n = 0;
    while (*p) {
        char *end;
        long lo, hi;

        while (*p == ' ' || *p == '\t')
            p++;
        if (p[0] >= '1' && p[0] <= '9' && (p[1] == 'x' || p[1] == 'X') &&
            (p[2] == 'x' || p[2] == 'X')) {
            lo = (p[0] - '0') * 100;
            hi = lo + 99;
            end = (char *)p + 3;
        } else {
            errno = 0;
            lo = strtol(p, &end, 10);
            if (end == p || errno)
                goto bad;
            hi = lo;
            if (*end == '-') {
                const char *q = end + 1;

                hi = strtol(q, &end, 10);
                if (end == q || errno)
                    goto bad;
            }
        }
        if (lo < 100 || hi > 999 || lo > hi)
            goto bad;
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end != ',' && *end != '\0')
            goto bad;
        grown = realloc(r, (count + 1) * sizeof(*r));
        if (!grown) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        r = grown;
        r[count].lo = (int)lo;
        r[count].hi = (int)hi;
        count++;
        p = *end == ',' ? end + 1 : end;
    }
    if (count == 0)
        goto bad;
    *ranges = r;
    *n = count;
    return 0;

bad:
    snprintf(err, errlen, "option 'expect_status': \"%s\" is not a list of "
             "status codes and ranges such as \"200,204,300-399\" or \"2xx\" "
             "(codes 100 to 999)", text);
fail:
    free(r);
    return -1;
}

/* The accepted codes in words: "200, 204, 3xx". Caller frees. */
static char *http_show_status(const struct http_status_range *r, size_t n)
{
    char text[HTTP_LINE_MAX];
    size_t used = 0, i;

    text[0] = '\0';
    for (i = 0; i < n; i++) {
        const char *sep = i ? ", " : "";

        if (r[i].lo == r[i].hi)
            tocsin_append(text, sizeof(text), &used, "%s%d", sep, r[i].lo);
        else if (r[i].lo % 100 == 0 && r[i].hi == r[i].lo + 99)
            tocsin_append(text, sizeof(text), &used, "%s%dxx", sep, r[i].lo / 100);
        else
            tocsin_append(text, sizeof(text), &used, "%s%d-%d", sep, r[i].lo, r[i].hi);
    }
    return strdup(text);
}

static int http_status_expected(const struct http *h, long code)
{
    size_t i;

    for (i = 0; i < h->n_expect; i++)
        if (code >= h->expect[i].lo && code <= h->expect[i].hi)
            return 1;
    return 0;
}

/* The standard reason phrase, for answers that carry none (HTTP/2). */
static const char *http_standard_reason(long code)
{
    static const struct {
        int code;
        const char *text;
    } reasons[] = {
        {100, "Continue"}, {101, "Switching Protocols"}, {200, "OK"},
        {201, "Created"}, {202, "Accepted"}, {203, "Non-Authoritative Information"},
        {204, "No Content"}, {205, "Reset Content"}, {206, "Partial Content"},
        {300, "Multiple Choices"}, {301, "Moved Permanently"}, {302, "Found"},
        {303, "See Other"}, {304, "Not Modified"}, {307, "Temporary Redirect"},
        {308, "Permanent Redirect"}, {400, "Bad Request"}, {401, "Unauthorized"},
        {402, "Payment Required"}, {403, "Forbidden"}, {404, "Not Found"},
        {405, "Method Not Allowed"}, {406, "Not Acceptable"},
        {407, "Proxy Authentication Required"}, {408, "Request Timeout"},
        {409, "Conflict"}, {410, "Gone"}, {411, "Length Required"},
        {412, "Precondition Failed"}, {413, "Content Too Large"},
        {414, "URI Too Long"}, {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"}, {417, "Expectation Failed"},
        {421, "Misdirected Request"}, {422, "Unprocessable Content"},
        {425, "Too Early"}, {426, "Upgrade Required"},
        {428, "Precondition Required"}, {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {451, "Unavailable For Legal Reasons"}, {500, "Internal Server Error"},
        {501, "Not Implemented"}, {502, "Bad Gateway"},
        {503, "Service Unavailable"}, {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"}, {507, "Insufficient Storage"},
        {511, "Network Authentication Required"},
    };
    size_t i;

    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].code == code)
            return reasons[i].text;
    return "";
}

/* ------------------------------------------------------------------ */
/* libcurl callbacks                                                   */
/* ------------------------------------------------------------------ */

/* Take body bytes: count them, keep them when a match needs them, and
 * stop the transfer once max_body bytes have come (returning less than
 * was given makes libcurl end it with CURLE_WRITE_ERROR). */
static size_t http_on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct http *h = ud;
    size_t bytes = size * nmemb;
    size_t room = h->max_body - h->received;
    size_t take = bytes < room ? bytes : room;

    if (h->keep_body && take) {
        if (h->len + take + 1 > h->cap) {
            size_t want = h->cap ? h->cap : 4096;
            char *grown;

            while (want < h->len + take + 1)
                want *= 2;
            if (want > h->max_body + 1)
                want = h->max_body + 1;
            grown = realloc(h->buf, want);
            if (!grown) {
                h->oom = 1;
                return 0;
            }
            h->buf = grown;
            h->cap = want;
        }
        memcpy(h->buf + h->len, data, take);
        h->len += take;
        h->buf[h->len] = '\0';
    }
    h->received += take;
    if (take < bytes)
        h->truncated = 1;
    return take;
}

/* Keep the reason phrase of the last status line ("HTTP/1.1 200 OK"):
 * after redirects and interim answers, that of the final answer. */
static size_t http_on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct http *h = ud;
    size_t bytes = size * nmemb, end = bytes, i = 5;

    if (bytes < 5 || memcmp(data, "HTTP/", 5) != 0)
        return bytes;
    while (i < bytes && data[i] != ' ')          /* the version */
        i++;
    while (i < bytes && data[i] == ' ')
        i++;
    while (i < bytes && data[i] >= '0' && data[i] <= '9') /* the code */
        i++;
    while (i < bytes && data[i] == ' ')
        i++;
    while (end > i && (data[end - 1] == '\n' || data[end - 1] == '\r' ||
                       data[end - 1] == ' '))
        end--;
    http_show(data + i, end - i, 0, h->reason, sizeof(h->reason));
    return bytes;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void http_teardown(void *instance)
{
    struct http *h = instance;

    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    free(h->url);
    free(h->peer);
    free(h->proxy_peer);
    free(h->shown_url);
    free(h->method);
    free(h->body);
    free(h->user);
    free(h->contains);
    if (h->regex_text)
        regfree(&h->regex);
    free(h->regex_text);
    http_json_rules_free(&h->json);
    free(h->expect);
    free(h->expect_shown);
    free(h->buf);
    if (h->curl_ready)
        curl_global_cleanup();
    free(h);
}

/* Build "http[s]://host[:port]/path" from the pieces. Caller frees. */
static char *http_build_url(const char *host, long port, const char *path, int tls)
{
    size_t len = strlen(host) + strlen(path) + 32;
    int bracket = strchr(host, ':') && host[0] != '[';
    char portbuf[16] = "", *url = malloc(len);

    if (!url)
        return NULL;
    if (port)
        snprintf(portbuf, sizeof(portbuf), ":%ld", port);
    snprintf(url, len, "%s://%s%s%s%s%s%s", tls ? "https" : "http",
             bracket ? "[" : "", host, bracket ? "]" : "", portbuf,
             path[0] == '/' ? "" : "/", path);
    return url;
}

/* Parse the URL: check its scheme, and derive "host:port" for messages
 * and the form shown in long output, without user, password, query or
 * fragment. Returns 0, or -1 with err; never puts the URL itself in err,
 * since it may carry a password. */
static int http_parse_url(struct http *h, char *err, size_t errlen)
{
    CURLU *u;
    char *shown = NULL;
    int rc = -1;

    if (tocsin_curl_open_url(h->url, "option 'url'", NULL, &u, &h->peer, err,
                             errlen) < 0)
        return -1;
    if (curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_OPTIONS, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK ||
        !(h->shown_url = strdup(shown))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    curl_free(shown);
    curl_url_cleanup(u);
    return rc;
}

/* "host:port" of the configured proxy, for messages; NULL without one.
 * Returns 0, or -1 with err (never the proxy URL, which may hold a
 * password). */
static int http_parse_proxy(struct http *h, const char *proxy, char *err,
                            size_t errlen)
{
    CURLU *u;
    CURLUcode uc;
    int rc = -1;

    if (!proxy)
        return 0;
    if (!(u = curl_url())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uc = curl_url_set(u, CURLUPART_URL, proxy,
                      CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME);
    if (uc == CURLUE_OK)
        uc = tocsin_curl_url_peer(u, &h->proxy_peer);
    if (uc == CURLUE_OUT_OF_MEMORY)
        snprintf(err, errlen, "out of memory");
    else if (uc != CURLUE_OK)
        snprintf(err, errlen, "option 'proxy' is not a proxy URL such as "
                 "http://proxy.example.org:3128");
    else
        rc = 0;
    curl_url_cleanup(u);
    return rc;
}

/* The request line's method: a token of at most 32 characters. */
static int http_valid_method(const char *m)
{
    size_t n = strlen(m);

    if (n == 0 || n > 32)
        return 0;
    return strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789!#$%&'*+-.^_`|~") == n;
}

/* Copy the header list, each "Name: value" on one line. Also reports
 * whether an Expect header was given. Returns 0, or -1 with err. */
static int http_headers(struct http *h, cfg_t *options, int *has_expect,
                        char *err, size_t errlen)
{
    unsigned i, n = cfg_size(options, "header");
    struct curl_slist *grown;

    *has_expect = 0;
    for (i = 0; i < n; i++) {
        const char *line = cfg_getnstr(options, "header", i);
        const char *colon = line ? strchr(line, ':') : NULL;

        if (!line || !colon || colon == line || strpbrk(line, "\r\n") ||
            strcspn(line, " \t") < (size_t)(colon - line)) {
            /* Not echoed: a header may carry a token. */
            snprintf(err, errlen, "option 'header': entry %u of %u is not of "
                     "the form \"Name: value\" on one line", i + 1, n);
            return -1;
        }
        if ((size_t)(colon - line) == 6 && strncasecmp(line, "Expect", 6) == 0)
            *has_expect = 1;
        grown = curl_slist_append(h->headers, line);
        if (!grown) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        h->headers = grown;
    }
    return 0;
}

/* Hand every option that does not change between checks to libcurl.
 * Returns 0, or -1 with err. */
static int http_setup_curl(struct http *h, cfg_t *options, const char *password,
                           int has_expect, char *err, size_t errlen)
{
    const char *ip = cfg_getstr(options, "ip_version");
    const char *proxy = tocsin_option_str(options, "proxy");
    CURL *c = h->curl;
    CURLcode rc = CURLE_OK;
    long ipresolve;

    if (!ip || strcmp(ip, "any") == 0) {
        ipresolve = CURL_IPRESOLVE_WHATEVER;
    } else if (strcmp(ip, "4") == 0) {
        ipresolve = CURL_IPRESOLVE_V4;
    } else if (strcmp(ip, "6") == 0) {
        ipresolve = CURL_IPRESOLVE_V6;
    } else {
        snprintf(err, errlen, "option 'ip_version': \"%s\" is not one of "
                 "\"any\", \"4\", \"6\"", ip);
        return -1;
    }

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
    SET(CURLOPT_URL, h->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, h->errbuf);
    SET(CURLOPT_WRITEFUNCTION, http_on_body);
    SET(CURLOPT_WRITEDATA, h);
    SET(CURLOPT_HEADERFUNCTION, http_on_header);
    SET(CURLOPT_HEADERDATA, h);
    SET(CURLOPT_USERAGENT, "tocsin-http/" HTTP_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_IPRESOLVE, ipresolve);
    /* A proxy only when configured: "" also ignores http_proxy and the
     * like in the environment. */
    SET(CURLOPT_PROXY, proxy ? proxy : "");
    if (cfg_getbool(options, "follow_redirects")) {
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, (long)cfg_getint(options, "max_redirects"));
    }

    if (strcasecmp(h->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (h->body) {
        SET(CURLOPT_POSTFIELDS, h->body);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(h->body));
        if (strcmp(h->method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, h->method);
    } else if (strcmp(h->method, "POST") == 0) {
        SET(CURLOPT_POSTFIELDS, "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else if (strcmp(h->method, "GET") != 0) {
        SET(CURLOPT_CUSTOMREQUEST, h->method);
    }
    /* A body without "Expect: 100-continue": no wait for an interim answer. */
    if (rc == CURLE_OK && h->body && !has_expect) {
        struct curl_slist *grown = curl_slist_append(h->headers, "Expect:");

        if (!grown)
            goto oom;
        h->headers = grown;
    }
    if (h->headers)
        SET(CURLOPT_HTTPHEADER, h->headers);

    if (rc == CURLE_OK)
        rc = tocsin_curl_tls_apply(c, options, 1, 1);
    if (rc == CURLE_OK && h->user)
        rc = tocsin_curl_basic(c, h->user, password);

    if (!h->keepalive) {
        SET(CURLOPT_FRESH_CONNECT, 1L);
        SET(CURLOPT_FORBID_REUSE, 1L);
        SET(CURLOPT_DNS_CACHE_TIMEOUT, 0L);
        SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
    }
#undef SET
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option: %s",
                 curl_easy_strerror(rc));
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Parse the `json_expect` and `json_value` rules into h->json; a rule's
 * mistake is reported with the option's name and the rule. */
static int http_setup_json(struct http *h, cfg_t *options, char *err, size_t errlen)
{
    static const char *const own[] = {"time", "size", "status", NULL};
    unsigned i, n;
    char why[768];

    n = cfg_size(options, "json_expect");
    for (i = 0; i < n; i++)
        if (http_json_add_expect(&h->json, cfg_getnstr(options, "json_expect", i),
                                 why, sizeof(why)) < 0) {
            snprintf(err, errlen, "option 'json_expect': %s", why);
            return -1;
        }
    n = cfg_size(options, "json_value");
    for (i = 0; i < n; i++)
        if (http_json_add_value(&h->json, cfg_getnstr(options, "json_value", i),
                                own, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "option 'json_value': %s", why);
            return -1;
        }
    return 0;
}

/* Validate the options into a struct http owned by the instance, with a
 * libcurl handle ready to run the request. */
static int http_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct http *h;
    const char *url = tocsin_option_str(options, "url");
    const char *host = tocsin_option_str(options, "host");
    const char *path = tocsin_option_str(options, "path");
    const char *method = cfg_getstr(options, "method");
    const char *body = tocsin_option_str(options, "body");
    const char *expect = tocsin_option_str(options, "expect_status");
    const char *contains = tocsin_option_str(options, "body_contains");
    const char *regex = tocsin_option_str(options, "body_regex");
    const char *user = tocsin_option_str(options, "user");
    long port = cfg_getint(options, "port");
    long max_body = cfg_getint(options, "max_body");
    long max_redirects = cfg_getint(options, "max_redirects");
    int tls = cfg_getbool(options, "tls") == cfg_true;
    char *password = NULL, why[256];
    int has_expect = 0, e;

    h = calloc(1, sizeof(*h));
    if (!h)
        goto oom;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl could not be initialised");
        goto fail;
    }
    h->curl_ready = 1;

    if (url) {
        if (port || path || tls) {
            snprintf(err, errlen, "give either 'url' or 'host' with 'port', "
                     "'path' and 'tls', not both");
            goto fail;
        }
        h->url = strdup(url);
    } else if (host) {
        if (port < 0 || port > 65535) {
            snprintf(err, errlen, "option 'port': %ld is not between 1 and 65535",
                     port);
            goto fail;
        }
        h->url = http_build_url(host, port, path ? path : "/", tls);
    } else {
        snprintf(err, errlen, "option 'url' (or 'host') is required");
        goto fail;
    }
    if (!h->url)
        goto oom;
    if (http_parse_url(h, err, errlen) < 0 ||
        http_parse_proxy(h, tocsin_option_str(options, "proxy"), err, errlen) < 0)
        goto fail;

    if (!method || !http_valid_method(method)) {
        snprintf(err, errlen, "option 'method': \"%s\" is not an HTTP method "
                 "such as GET, HEAD or POST", method ? method : "");
        goto fail;
    }
    if (!(h->method = strdup(method)))
        goto oom;
    if (body && !(h->body = strdup(body)))
        goto oom;
    if (strcasecmp(method, "HEAD") == 0 &&
        (body || contains || regex || cfg_size(options, "json_expect") ||
         cfg_size(options, "json_value"))) {
        snprintf(err, errlen, "method HEAD sends no body and gets none: "
                 "'body', 'body_contains', 'body_regex', 'json_expect' and "
                 "'json_value' do not apply");
        goto fail;
    }

    if (http_parse_status(expect ? expect : "2xx,3xx", &h->expect, &h->n_expect,
                          err, errlen) < 0)
        goto fail;
    if (!(h->expect_shown = http_show_status(h->expect, h->n_expect)))
        goto oom;

    if (contains) {
        if (!(h->contains = strdup(contains)))
            goto oom;
        h->contains_len = strlen(contains);
    }
    if (regex) {
        /* As check_http -r: '^' and '$' also match at line breaks. */
        e = regcomp(&h->regex, regex, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
        if (e != 0) {
            regerror(e, &h->regex, why, sizeof(why));
            snprintf(err, errlen, "option 'body_regex': \"%s\" is not a valid "
                     "extended regular expression: %s", regex, why);
            goto fail;
        }
        if (!(h->regex_text = strdup(regex))) {
            regfree(&h->regex);
            goto oom;
        }
    }
    if (http_setup_json(h, options, err, errlen) < 0)
        goto fail;
    h->keep_body = contains || regex || h->json.n_expects || h->json.n_values;

    if (max_body < 1 || max_body > HTTP_MAX_BODY_MAX) {
        snprintf(err, errlen, "option 'max_body': %ld is not between 1 and %ld "
                 "bytes", max_body, HTTP_MAX_BODY_MAX);
        goto fail;
    }
    h->max_body = (size_t)max_body;
    if (max_redirects < 0 || max_redirects > HTTP_MAX_REDIRECTS_MAX) {
        snprintf(err, errlen, "option 'max_redirects': %ld is not between 0 "
                 "and %d", max_redirects, HTTP_MAX_REDIRECTS_MAX);
        goto fail;
    }
    h->keepalive = cfg_getbool(options, "keepalive") == cfg_true;

    if (tocsin_option_thresholds(options, "warning", "critical", &h->time,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "size_warning", "size_critical",
                                 &h->size, err, errlen) < 0)
        goto fail;

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
    if (user && !(h->user = strdup(user)))
        goto oom;

    if (http_headers(h, options, &has_expect, err, errlen) < 0)
        goto fail;
    if (!(h->curl = curl_easy_init())) {
        snprintf(err, errlen, "libcurl could not make a handle");
        goto fail;
    }
    /* libcurl keeps its own copy of the password. */
    if (http_setup_curl(h, options, password, has_expect, err, errlen) < 0)
        goto fail;
    tocsin_secret_free(password);
    *instance = h;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    tocsin_secret_free(password);
    http_teardown(h);
    return -1;
}

/* ------------------------------------------------------------------ */
/* The check                                                           */
/* ------------------------------------------------------------------ */

/* "host:port" of the URL libcurl last worked on (after redirects, the
 * server that failed), else the configured one. Written to out. */
static const char *http_peer(const struct http *h, char *out, size_t outlen)
{
    char *eff = NULL, *host = NULL, *port = NULL;
    CURLU *u;

    snprintf(out, outlen, "%s", h->peer);
    if (curl_easy_getinfo(h->curl, CURLINFO_EFFECTIVE_URL, &eff) != CURLE_OK ||
        !eff || !(u = curl_url()))
        return out;
    if (curl_url_set(u, CURLUPART_URL, eff, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
        snprintf(out, outlen, "%s:%s", host, port);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

/* A URL as shown in output: without user, password, query or fragment.
 * Written to out; "" when it cannot be parsed. */
static const char *http_strip_url(const char *url, char *out, size_t outlen)
{
    CURLU *u = curl_url();
    char *shown = NULL;

    out[0] = '\0';
    if (!u)
        return out;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_QUERY, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &shown, 0) == CURLUE_OK)
        snprintf(out, outlen, "%s", shown);
    curl_free(shown);
    curl_url_cleanup(u);
    return out;
}

/* Turn a failed transfer into the result. `limit_ms` is the timeout the
 * transfer was given. */
static void http_failed(struct http *h, struct tocsin_check *chk, CURLcode rc,
                        long limit_ms)
{
    const char *why = tocsin_curl_why(h->errbuf, rc);
    char peer[512];
    curl_off_t connect_us = 0;
    long os_errno = 0;

    http_peer(h, peer, sizeof(peer));
    if (h->proxy_peer) {
        size_t used = strlen(peer);

        tocsin_append(peer, sizeof(peer), &used, " through proxy %s", h->proxy_peer);
    }
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(h->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
        tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - timed out after "
                         "%g s %s %s", (double)((limit_ms + 50) / 100) / 10,
                         connect_us ? "waiting for an answer from" : "connecting to",
                         peer);
        tocsin_check_long(chk, "%s", why);
        tocsin_check_timed_out(chk);
        return;
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED)
            tocsin_check_set(chk, TOCSIN_CRITICAL,
                             "HTTP CRITICAL - connection refused to %s", peer);
        else if (os_errno)
            tocsin_check_set(chk, TOCSIN_CRITICAL,
                             "HTTP CRITICAL - cannot connect to %s: %s", peer,
                             strerror((int)os_errno));
        else
            tocsin_check_set(chk, TOCSIN_CRITICAL,
                             "HTTP CRITICAL - cannot connect to %s: %s", peer, why);
        return;
    case CURLE_COULDNT_RESOLVE_PROXY:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - cannot resolve "
                         "the proxy %s: %s", h->proxy_peer ? h->proxy_peer : "",
                         why);
        return;
    case CURLE_COULDNT_RESOLVE_HOST:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - cannot resolve "
                         "the host of %s: %s", peer, why);
        return;
    case CURLE_PEER_FAILED_VERIFICATION:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - TLS certificate "
                         "of %s not accepted: %s", peer, why);
        return;
    case CURLE_SSL_CONNECT_ERROR:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - TLS handshake "
                         "with %s failed: %s", peer, why);
        return;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "HTTP UNKNOWN - cannot use the "
                         "TLS files configured for %s: %s", peer, why);
        return;
    case CURLE_TOO_MANY_REDIRECTS:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - more redirects "
                         "than max_redirects from %s: %s", peer, why);
        return;
    case CURLE_GOT_NOTHING:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - %s closed the "
                         "connection without an answer", peer);
        return;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - invalid HTTP "
                         "answer from %s: %s", peer, why);
        return;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - connection to %s "
                         "broken: %s", peer, why);
        return;
    case CURLE_OUT_OF_MEMORY:
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "HTTP UNKNOWN - out of memory");
        return;
    case CURLE_WRITE_ERROR:
        if (h->oom) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "HTTP UNKNOWN - out of memory "
                             "keeping the body");
            return;
        }
        break;
    default:
        break;
    }
    tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - request to %s "
                     "failed: %s", peer, why);
}

/* How a figure crossed threshold `r`, named `kind`, for the first line:
 * "over warning 0.1 s", "under critical 10 B", "outside warning 1:2". */
static const char *http_breach(const struct tocsin_range *r, const char *kind,
                               const char *unit, char *out, size_t outlen)
{
    char text[128];

    tocsin_range_format(r, text, sizeof(text));
    if (!r->inside && !r->end_infinite && (r->start_infinite || r->start == 0))
        snprintf(out, outlen, "over %s %g%s", kind, r->end, unit);
    else if (!r->inside && r->end_infinite && !r->start_infinite)
        snprintf(out, outlen, "under %s %g%s", kind, r->start, unit);
    else
        snprintf(out, outlen, "%s %s %s", r->inside ? "inside" : "outside",
                 kind, text);
    return out;
}

/* The figure's state against its thresholds; a note on the first line
 * says which threshold it crossed. */
static enum tocsin_state http_threshold(const struct tocsin_thresholds *th,
                                        double value, const char *what,
                                        const char *unit, char *line, size_t len,
                                        size_t *used)
{
    enum tocsin_state s = tocsin_thresholds_eval(th, value);
    char how[160];

    if (s == TOCSIN_CRITICAL)
        tocsin_append(line, len, used, ", %s %s", what,
                    http_breach(&th->critical, "critical", unit, how, sizeof(how)));
    else if (s == TOCSIN_WARNING)
        tocsin_append(line, len, used, ", %s %s", what,
                    http_breach(&th->warning, "warning", unit, how, sizeof(how)));
    return s;
}

/* Search the kept body for the configured string and expression. Adds
 * what failed to the problems on the first line. */
static enum tocsin_state http_match_body(const struct http *h, char *problems,
                                         size_t len, size_t *used)
{
    enum tocsin_state s = TOCSIN_OK;
    char shown[4 * HTTP_SHOW_MAX + 8];

    if (h->contains &&
        !(h->len >= h->contains_len &&
          memmem(h->buf ? h->buf : "", h->len, h->contains, h->contains_len))) {
        tocsin_append(problems, len, used, "%sbody does not contain \"%s\"",
                    *used ? "; " : "",
                    http_show(h->contains, h->contains_len, 1, shown, sizeof(shown)));
        s = TOCSIN_CRITICAL;
    }
    if (h->regex_text && regexec(&h->regex, h->buf ? h->buf : "", 0, NULL, 0) != 0) {
        tocsin_append(problems, len, used, "%sbody does not match /%s/",
                    *used ? "; " : "",
                    http_show(h->regex_text, strlen(h->regex_text), 0, shown,
                              sizeof(shown)));
        s = TOCSIN_CRITICAL;
    }
    return s;
}

/* Judge the kept body as JSON against the rules: a rule that does not
 * hold, or a body that is not JSON, is CRITICAL and goes to the problems;
 * a figure that is not a number is UNKNOWN (nothing to judge), one beyond
 * its ranges goes to the notes. `quiet` (the status already failed) keeps
 * a body that is not JSON out of the problems: an error page is expected
 * then. Returns the parsed document for the performance data (caller
 * decrefs), or NULL. */
static json_t *http_judge_json(const struct http *h, int quiet, enum tocsin_state *state,
                               char *problems, size_t plen, size_t *pused,
                               char *notes, size_t nlen, size_t *nused)
{
    char why[HTTP_SHOW_MAX + 8], shown[4 * HTTP_SHOW_MAX + 8], unit[24], bad[256];
    const struct http_json_value *v;
    const struct http_json_expect *e;
    json_t *doc;
    double d;
    size_t i;

    doc = http_json_load(h->buf, h->len, bad, sizeof(bad));
    if (!doc) {
        if (!quiet) {
            tocsin_append(problems, plen, pused, "%sbody is not JSON (%s)%s",
                          *pused ? "; " : "", bad,
                          h->truncated ? ", cut at max_body" : "");
            *state = tocsin_state_worst(*state, TOCSIN_CRITICAL);
        }
        return NULL;
    }
    for (i = 0; i < h->json.n_expects; i++) {
        e = &h->json.expects[i];
        if (http_json_expect_holds(e, doc, why, sizeof(why)))
            continue;
        tocsin_append(problems, plen, pused, "%s%s is %s (expected %s%s)",
                      *pused ? "; " : "",
                      http_show(e->pointer, strlen(e->pointer), 0, shown, sizeof(shown)),
                      why, e->negate ? "not " : "", e->want_text);
        *state = tocsin_state_worst(*state, TOCSIN_CRITICAL);
    }
    for (i = 0; i < h->json.n_values; i++) {
        v = &h->json.values[i];
        if (http_json_number(http_json_pointer(doc, v->pointer), &d, why,
                             sizeof(why)) < 0) {
            tocsin_append(problems, plen, pused, "%sno number at %s (%s)",
                          *pused ? "; " : "",
                          http_show(v->pointer, strlen(v->pointer), 0, shown,
                                    sizeof(shown)), why);
            *state = tocsin_state_worst(*state, TOCSIN_UNKNOWN);
            continue;
        }
        snprintf(unit, sizeof(unit), "%s%s", *v->unit ? " " : "", v->unit);
        *state = tocsin_state_worst(*state, http_threshold(&v->th, d, v->label, unit,
                                                           notes, nlen, nused));
    }
    return doc;
}

/* Run the request once and judge the answer: status, body, response time
 * and size. The transfer is bounded by the check's deadline; the time
 * reported is libcurl's total for this transfer (resolving, connecting,
 * TLS, request and answer, and any redirects followed). */
static void http_check(void *instance, struct tocsin_check *chk)
{
    struct http *h = instance;
    struct timespec deadline = tocsin_check_deadline(chk);
    long limit_ms = tocsin_curl_timeout(h->curl, &deadline);
    long code = 0, redirects = 0, connects = 0;
    curl_off_t total_us = 0, connect_us = 0, tls_us = 0, first_us = 0;
    char problems[HTTP_LINE_MAX], notes[HTTP_LINE_MAX], url[1024];
    char *where = NULL;
    size_t pused = 0, nused = 0;
    enum tocsin_state state = TOCSIN_OK;
    const char *reason;
    json_t *doc = NULL;
    double seconds;
    CURLcode rc;
    size_t i;

    if (limit_ms < 1) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "HTTP CRITICAL - no time left "
                         "before the check's deadline");
        tocsin_check_timed_out(chk);
        return;
    }
    h->errbuf[0] = '\0';
    h->reason[0] = '\0';
    h->len = 0;
    h->received = 0;
    h->truncated = 0;
    h->oom = 0;
    if (h->buf)
        h->buf[0] = '\0';
    rc = curl_easy_perform(h->curl);
    if (rc == CURLE_WRITE_ERROR && h->truncated && !h->oom)
        rc = CURLE_OK;
    if (rc != CURLE_OK) {
        http_failed(h, chk, rc, limit_ms);
        goto out;
    }

    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h->curl, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(h->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(h->curl, CURLINFO_APPCONNECT_TIME_T, &tls_us);
    curl_easy_getinfo(h->curl, CURLINFO_STARTTRANSFER_TIME_T, &first_us);
    curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_COUNT, &redirects);
    curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &connects);
    seconds = (double)total_us / 1e6;
    reason = h->reason[0] ? h->reason : http_standard_reason(code);

    problems[0] = notes[0] = '\0';
    if (!http_status_expected(h, code)) {
        tocsin_append(problems, sizeof(problems), &pused, "status %ld%s%s (expected %s)",
                    code, *reason ? " " : "", reason, h->expect_shown);
        if (code == 401 && h->user)
            tocsin_append(problems, sizeof(problems), &pused,
                        ": authentication failed for user %s", h->user);
        state = TOCSIN_CRITICAL;
    }
    if (h->keep_body)
        state = tocsin_state_worst(state, http_match_body(h, problems,
                                                          sizeof(problems), &pused));
    if (h->json.n_expects || h->json.n_values)
        doc = http_judge_json(h, state != TOCSIN_OK, &state, problems, sizeof(problems),
                              &pused, notes, sizeof(notes), &nused);
    state = tocsin_state_worst(state, http_threshold(&h->time, seconds, "time",
                                                     " s", notes, sizeof(notes),
                                                     &nused));
    state = tocsin_state_worst(state, http_threshold(&h->size, (double)h->received,
                                                     "size", " B", notes,
                                                     sizeof(notes), &nused));

    /* "HTTP OK - 200 OK - 1234 bytes in 0.012 s", problems first. */
    {
        char line[3 * HTTP_LINE_MAX];
        size_t used = 0;

        tocsin_append(line, sizeof(line), &used, "HTTP %s - ", tocsin_state_name(state));
        if (pused)
            tocsin_append(line, sizeof(line), &used, "%s - ", problems);
        if (!pused || strncmp(problems, "status ", 7) != 0)
            tocsin_append(line, sizeof(line), &used, "%ld%s%s - ", code,
                        *reason ? " " : "", reason);
        tocsin_append(line, sizeof(line), &used, "%zu%s bytes in %.3f s%s",
                    h->received, h->truncated ? "+" : "", seconds, notes);
        tocsin_check_set(chk, state, "%s", line);
    }

    tocsin_check_long(chk, "%s %s: %ld%s%s", h->method, h->shown_url, code,
                      *reason ? " " : "", reason);
    if (redirects > 0 &&
        curl_easy_getinfo(h->curl, CURLINFO_EFFECTIVE_URL, &where) == CURLE_OK && where)
        tocsin_check_long(chk, "followed %ld redirect%s to %s", redirects,
                          redirects == 1 ? "" : "s",
                          http_strip_url(where, url, sizeof(url)));
    where = NULL;
    if (code >= 300 && code < 400 &&
        curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_URL, &where) == CURLE_OK && where)
        tocsin_check_long(chk, "redirect to %s not followed",
                          http_strip_url(where, url, sizeof(url)));
    if (h->truncated)
        tocsin_check_long(chk, "body longer than max_body: read the first %zu bytes",
                          h->received);
    if (tls_us > 0)
        tocsin_check_long(chk, "connect %.3f s, TLS %.3f s, first byte %.3f s, "
                          "total %.3f s (%s connection)", (double)connect_us / 1e6,
                          (double)tls_us / 1e6, (double)first_us / 1e6, seconds,
                          connects > 0 ? "new" : "reused");
    else
        tocsin_check_long(chk, "connect %.3f s, first byte %.3f s, total %.3f s "
                          "(%s connection)", (double)connect_us / 1e6,
                          (double)first_us / 1e6, seconds,
                          connects > 0 ? "new" : "reused");

    tocsin_check_perf(chk, "time", seconds, "s", &h->time, 0, 0, TOCSIN_PERF_MIN);
    tocsin_check_perf(chk, "size", (double)h->received, "B", &h->size, 0, 0,
                      TOCSIN_PERF_MIN);
    tocsin_check_perf(chk, "status", (double)code, "", NULL, 0, 0, 0);
    for (i = 0; doc && i < h->json.n_values; i++) {
        const struct http_json_value *v = &h->json.values[i];
        char why[32];
        double d;

        if (http_json_number(http_json_pointer(doc, v->pointer), &d, why,
                             sizeof(why)) == 0)
            tocsin_check_perf(chk, v->label, d, v->unit, &v->th, 0, 0, 0);
    }

out:
    json_decref(doc);
    if (h->cap > HTTP_BUF_KEEP) {
        free(h->buf);
        h->buf = NULL;
        h->cap = 0;
        h->len = 0;
    }
}

/* Descriptions for --help; docs/check-http.md tells more. */
static const struct tocsin_option_help http_help[] = {
    { "url", "URL",
      "what to request: http:// or https://, with port, path and query as needed" },
    { "host", "HOST",
      "instead of url: the host name or address" },
    { "port", "PORT",
      "with host: the port" },
    { "path", NULL,
      "with host: the path (and query)" },
    { "tls", NULL,
      "with host: use HTTPS" },
    { "method", NULL,
      "the request method, sent as written: GET, HEAD, POST, PUT, DELETE, ..." },
    { "header", NULL,
      "request headers, each \"Name: value\"" },
    { "body", NULL,
      "request body, sent as is (add a Content-Type header)" },
    { "expect_status", NULL,
      "accepted status codes: a list of codes and ranges, \"200,204,300-399\"" },
    { "body_contains", NULL,
      "the body must contain this string (bytes compared as they are)" },
    { "body_regex", NULL,
      "the body must match this POSIX extended regular expression" },
    { "json_expect", NULL,
      "rules the JSON answer must satisfy" },
    { "json_value", NULL,
      "numbers of the JSON answer held against ranges" },
    { "follow_redirects", NULL,
      "follow Location and judge the final answer" },
    { "max_redirects", NULL,
      "with follow_redirects, more than this many is CRITICAL (0 to 100)" },
    { "ca_file", "FILE",
      "PEM file of the certificate authorities to trust, used instead of the "
      "system's" },
    { "client_cert", "FILE",
      "PEM client certificate, for servers that ask for one" },
    { "client_key", "FILE",
      "the private key of client_cert, when not in that file" },
    { "insecure", NULL,
      "skip certificate and host name verification (the connection is still "
      "encrypted)" },
    { "ip_version", NULL,
      "any, 4 or 6: the address family used to connect" },
    { "keepalive", NULL,
      "keep the connection open between checks (see below)" },
    { "proxy", NULL,
      "HTTP proxy to go through, http://proxy:3128" },
    { "user", "USER",
      "basic authentication user" },
    { "password", "SECRET",
      "the password of user (or use password_file, password_env)" },
    { "password_file", "FILE",
      "the password of user, from the first line of this file" },
    { "password_env", "VARIABLE",
      "the password of user, from this environment variable" },
    { "warning", NULL,
      "response time in seconds that raises WARNING" },
    { "critical", NULL,
      "response time in seconds that raises CRITICAL" },
    { "size_warning", NULL,
      "body size in bytes that raises WARNING" },
    { "size_critical", NULL,
      "body size in bytes that raises CRITICAL" },
    { "max_body", NULL,
      "body bytes read at most (1 byte to 64 MiB)" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "http",
    .version = HTTP_VERSION,
    .summary = "HTTP(S) status, response time, body content, redirects and TLS",
    .options = http_options,
    .help = http_help,
    .setup = http_setup,
    .teardown = http_teardown,
    .check = http_check,
);
