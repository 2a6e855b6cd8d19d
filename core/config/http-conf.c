/*
 * http-conf.c - the `http { ... }` section of the main configuration
 * file, validated into struct tocsin_http_conf. See http-conf.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/http-conf.h"
#include "tocsin-plugin.h"

#define DEFAULT_LISTEN "127.0.0.1:9746"
#define DEFAULT_MAX_LATENESS_MS 10000

enum http_opt {
    OPT_LISTEN,
    OPT_ENABLED,
    OPT_TOKEN,
    OPT_TOKEN_FILE,
    OPT_TOKEN_ENV,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_LATENESS,
    NOPTS
};

static cfg_opt_t api_token_opts[] = {
    CFG_STR("token", NULL, CFGF_NONE),
    CFG_STR("token_file", NULL, CFGF_NONE),
    CFG_STR("token_env", NULL, CFGF_NONE),
    CFG_STR_LIST("services", NULL, CFGF_NONE),
    CFG_END()
};

static cfg_opt_t http_opts[] = {
    CFG_STR("listen", DEFAULT_LISTEN, CFGF_NONE),
    CFG_BOOL("enabled", cfg_true, CFGF_NONE),
    CFG_STR("bearer_token", NULL, CFGF_NONE),
    CFG_STR("bearer_token_file", NULL, CFGF_NONE),
    CFG_STR("bearer_token_env", NULL, CFGF_NONE),
    CFG_STR("tls_cert", NULL, CFGF_NONE),
    CFG_STR("tls_key", NULL, CFGF_NONE),
    TOCSIN_OPT_DURATION("health_max_lateness", DEFAULT_MAX_LATENESS_MS),
    CFG_SEC("api_token", api_token_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_END()
};

/* The line each option was set on in the file being read (0: not set).
 * Configuration is read in one thread, one file at a time. */
static int opt_line[NOPTS];
static int listen_reported;          /* listen_cb said what was wrong */

static int opt_index(const char *name)
{
    int i;

    for (i = 0; i < NOPTS; i++)
        if (strcmp(http_opts[i].name, name) == 0)
            return i;
    return -1;
}

static int record_line_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    int i = opt_index(opt->name);

    if (i >= 0)
        opt_line[i] = cfg->line;
    return 0;
}

static int listen_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, 0);
    struct sockaddr_storage ss;
    socklen_t len;
    char err[160];

    record_line_cb(cfg, opt);
    if (tocsin_http_parse_listen(v ? v : "", &ss, &len, err, sizeof(err)) < 0) {
        cfg_error(cfg, "http: listen \"%s\": %s", v ? v : "", err);
        listen_reported = 1;
        return -1;
    }
    return 0;
}

/* A file option: the file must be readable now (by whoever runs -t). */
static int file_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, 0);
    struct stat st;
    int fd;

    record_line_cb(cfg, opt);
    if (!v || !*v)
        return 0;
    fd = open(v, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;

        cfg_error(cfg, "http: %s %s: %s", opt->name, v, strerror(err));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        cfg_error(cfg, "http: %s %s: not a regular file", opt->name, v);
        return -1;
    }
    close(fd);
    return 0;
}

static int positive_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    record_line_cb(cfg, opt);
    if (cfg_opt_getnint(opt, 0) <= 0) {
        cfg_error(cfg, "http: %s must be longer than 0", opt->name);
        return -1;
    }
    return 0;
}

cfg_opt_t *tocsin_http_conf_opts(void)
{
    int i;

    for (i = 0; i < NOPTS; i++) {
        http_opts[i].validcb = record_line_cb;
        opt_line[i] = 0;
    }
    listen_reported = 0;
    http_opts[OPT_LISTEN].validcb = listen_cb;
    http_opts[OPT_TOKEN_FILE].validcb = file_cb;
    http_opts[OPT_TLS_CERT].validcb = file_cb;
    http_opts[OPT_TLS_KEY].validcb = file_cb;
    http_opts[OPT_LATENESS].validcb = positive_cb;
    return http_opts;
}

/* The line to blame for a problem with options `a` (or `b`): where one was
 * set, else where the section ended. */
static int blame_line(cfg_t *sec, int a, int b)
{
    if (opt_line[a])
        return opt_line[a];
    if (b >= 0 && opt_line[b])
        return opt_line[b];
    return sec && sec->line ? sec->line : 1;
}

static char *dup_opt(cfg_t *sec, const char *name, int *oom)
{
    const char *v = sec ? cfg_getstr(sec, name) : NULL;
    char *copy;

    if (!v || !*v)
        return NULL;
    copy = strdup(v);
    if (!copy)
        *oom = 1;
    return copy;
}

/*
 * The `api_token` sections of `sec` into hc->api_tokens: each needs its
 * token given one way, not empty, and unlike every other token (the
 * bearer token included), since a token is all that tells them apart.
 * Problems are appended to `errors` as "FILE:LINE: message", without the
 * token. Returns 0 or -1. O(tokens^2).
 */
static int read_api_tokens(cfg_t *sec, const char *file, struct tocsin_http_conf *hc,
                           struct tocsin_buf *errors)
{
    unsigned n = cfg_size(sec, "api_token"), i, k;
    char err[256];
    int bad = 0;

    if (!n)
        return 0;
    hc->api_tokens = calloc(n, sizeof(*hc->api_tokens));
    if (!hc->api_tokens)
        goto oom;
    for (i = 0; i < n; i++) {
        cfg_t *t = cfg_getnsec(sec, "api_token", i);
        struct tocsin_api_token *at = &hc->api_tokens[hc->napi_tokens];
        int line = t->line ? t->line : (sec->line ? sec->line : 1);
        unsigned ns = cfg_size(t, "services");

        at->name = strdup(cfg_title(t) ? cfg_title(t) : "");
        if (!at->name)
            goto oom;
        hc->napi_tokens++;
        if (tocsin_secret(cfg_getstr(t, "token"), cfg_getstr(t, "token_file"),
                          cfg_getstr(t, "token_env"), &at->token, err, sizeof(err)) < 0) {
            tocsin_buf_printf(errors, "%s:%d: http: api_token '%s': %s\n", file, line,
                              at->name, err);
            bad = 1;
            continue;
        }
        if (!at->token || !*at->token) {
            tocsin_buf_printf(errors, "%s:%d: http: api_token '%s': no token given (token, "
                              "token_file or token_env)\n", file, line, at->name);
            bad = 1;
            continue;
        }
        if ((hc->token && strcmp(hc->token, at->token) == 0)) {
            tocsin_buf_printf(errors, "%s:%d: http: api_token '%s': the same token as the "
                              "bearer token\n", file, line, at->name);
            bad = 1;
        }
        for (k = 0; k + 1 < hc->napi_tokens; k++)
            if (hc->api_tokens[k].token && strcmp(hc->api_tokens[k].token, at->token) == 0) {
                tocsin_buf_printf(errors, "%s:%d: http: api_token '%s': the same token as "
                                  "api_token '%s'\n", file, line, at->name,
                                  hc->api_tokens[k].name);
                bad = 1;
            }
        if (ns) {
            at->services = calloc(ns, sizeof(*at->services));
            if (!at->services)
                goto oom;
        }
        for (k = 0; k < ns; k++) {
            const char *pat = cfg_getnstr(t, "services", k);

            if (!pat || !*pat) {
                tocsin_buf_printf(errors, "%s:%d: http: api_token '%s': an empty service "
                                  "pattern\n", file, line, at->name);
                bad = 1;
                continue;
            }
            at->services[at->nservices] = strdup(pat);
            if (!at->services[at->nservices])
                goto oom;
            at->nservices++;
        }
    }
    return bad ? -1 : 0;
oom:
    tocsin_buf_printf(errors, "%s:1: out of memory\n", file);
    return -1;
}

struct tocsin_http_conf *tocsin_http_conf_new(cfg_t *sec, const char *file,
                                              struct tocsin_buf *errors)
{
    struct tocsin_http_conf *hc = calloc(1, sizeof(*hc));
    char err[256];
    int bad = 0, oom = 0;

    if (!hc)
        goto oom;
    hc->enabled = sec ? cfg_getbool(sec, "enabled") : 1;
    hc->listen = strdup(sec && cfg_getstr(sec, "listen") ? cfg_getstr(sec, "listen")
                        : DEFAULT_LISTEN);
    if (!hc->listen)
        goto oom;
    hc->health_max_lateness_us = (sec ? cfg_getint(sec, "health_max_lateness")
                                  : DEFAULT_MAX_LATENESS_MS) * 1000;
    if (tocsin_http_parse_listen(hc->listen, &hc->addr, &hc->addrlen, err, sizeof(err)) < 0) {
        if (!listen_reported)
            tocsin_buf_printf(errors, "%s:%d: http: listen \"%s\": %s\n", file,
                              blame_line(sec, OPT_LISTEN, -1), hc->listen, err);
        bad = 1;
    }
    hc->tls_cert = dup_opt(sec, "tls_cert", &oom);
    hc->tls_key = dup_opt(sec, "tls_key", &oom);
    if (oom)
        goto oom;
    if (!hc->tls_cert != !hc->tls_key) {
        tocsin_buf_printf(errors, "%s:%d: http: tls_cert and tls_key go together "
                          "(only %s is set)\n", file,
                          blame_line(sec, OPT_TLS_CERT, OPT_TLS_KEY),
                          hc->tls_cert ? "tls_cert" : "tls_key");
        bad = 1;
    }
    if (hc->enabled && sec) {
        if (tocsin_secret(cfg_getstr(sec, "bearer_token"), cfg_getstr(sec, "bearer_token_file"),
                          cfg_getstr(sec, "bearer_token_env"), &hc->token, err,
                          sizeof(err)) < 0) {
            tocsin_buf_printf(errors, "%s:%d: http: bearer token: %s\n", file,
                              blame_line(sec, OPT_TOKEN, opt_line[OPT_TOKEN_FILE]
                                         ? OPT_TOKEN_FILE : OPT_TOKEN_ENV), err);
            bad = 1;
        } else if (hc->token && !*hc->token) {
            tocsin_buf_printf(errors, "%s:%d: http: the bearer token is empty\n", file,
                              blame_line(sec, OPT_TOKEN, opt_line[OPT_TOKEN_FILE]
                                         ? OPT_TOKEN_FILE : OPT_TOKEN_ENV));
            bad = 1;
        }
    }
    if (hc->enabled && sec && read_api_tokens(sec, file, hc, errors) < 0)
        bad = 1;
    memset(opt_line, 0, sizeof(opt_line));
    listen_reported = 0;
    if (bad) {
        tocsin_http_conf_free(hc);
        return NULL;
    }
    return hc;

oom:
    memset(opt_line, 0, sizeof(opt_line));
    tocsin_buf_printf(errors, "%s:1: out of memory\n", file);
    tocsin_http_conf_free(hc);
    return NULL;
}

void tocsin_http_conf_free(struct tocsin_http_conf *hc)
{
    size_t i, k;

    if (!hc)
        return;
    free(hc->listen);
    tocsin_secret_free(hc->token);
    for (i = 0; i < hc->napi_tokens; i++) {
        free(hc->api_tokens[i].name);
        tocsin_secret_free(hc->api_tokens[i].token);
        for (k = 0; k < hc->api_tokens[i].nservices; k++)
            free(hc->api_tokens[i].services[k]);
        free(hc->api_tokens[i].services);
    }
    free(hc->api_tokens);
    free(hc->tls_cert);
    free(hc->tls_key);
    free(hc);
}

/* The endpoint keeps the socket and TLS setup it was started with, so a
 * reload cannot change them. A string comparison at most. */
int tocsin_http_conf_restart_needed(const struct tocsin_http_conf *prev,
                                    const struct tocsin_http_conf *next,
                                    char *what, size_t len)
{
    if (!prev || !next)
        return 0;
#define SAME(f) (strcmp(next->f ? next->f : "", prev->f ? prev->f : "") == 0)
    if (next->enabled == prev->enabled && SAME(listen) && SAME(tls_cert) && SAME(tls_key))
        return 0;
    if (len)
        snprintf(what, len, "%s", next->enabled != prev->enabled ? "enabled"
                 : !SAME(listen) ? "listen" : "tls_cert, tls_key");
    return 1;
#undef SAME
}

int tocsin_http_parse_listen(const char *text, struct sockaddr_storage *addr,
                             socklen_t *len, char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port_text, *colon;
    size_t hlen;
    char *end;
    long port;

    memset(addr, 0, sizeof(*addr));
    if (text[0] == '[') {
        const char *close = strchr(text, ']');

        if (!close || close[1] != ':') {
            snprintf(err, errlen, "expected \"[IPV6-ADDRESS]:PORT\"");
            return -1;
        }
        hlen = (size_t)(close - text - 1);
        port_text = close + 2;
        if (hlen >= sizeof(host)) {
            snprintf(err, errlen, "\"%.*s\" is not an IPv6 address", (int)hlen, text + 1);
            return -1;
        }
        memcpy(host, text + 1, hlen);
        host[hlen] = '\0';
    } else {
        colon = strrchr(text, ':');
        if (!colon) {
            snprintf(err, errlen, "expected \"ADDRESS:PORT\", e.g. \"127.0.0.1:9746\"");
            return -1;
        }
        if (strchr(text, ':') != colon) {
            snprintf(err, errlen, "write an IPv6 address in brackets: \"[::1]:9746\"");
            return -1;
        }
        hlen = (size_t)(colon - text);
        port_text = colon + 1;
        if (hlen >= sizeof(host)) {
            snprintf(err, errlen, "\"%.*s\" is not an IPv4 address", (int)hlen, text);
            return -1;
        }
        memcpy(host, text, hlen);
        host[hlen] = '\0';
    }
    if (!*port_text || *port_text < '0' || *port_text > '9') {
        snprintf(err, errlen, "\"%s\" is not a port number (1-65535)", port_text);
        return -1;
    }
    errno = 0;
    port = strtol(port_text, &end, 10);
    if (errno || *end || port < 1 || port > 65535) {
        snprintf(err, errlen, "\"%s\" is not a port number (1-65535)", port_text);
        return -1;
    }
    if (text[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;

        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            snprintf(err, errlen, "\"%s\" is not an IPv6 address", host);
            return -1;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a6);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)addr;

        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
            snprintf(err, errlen, "\"%s\" is not an IPv4 address (names are not looked up)",
                     host);
            return -1;
        }
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof(*a4);
    }
    return 0;
}
