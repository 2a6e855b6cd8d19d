/*
 * http-server.c - the HTTP endpoint's server: the listening socket, TLS
 * files, libmicrohttpd in external epoll mode, the bearer token, routing
 * of each request to its answer, connection limits, and the helpers every
 * answer uses (headers, JSON bodies, errors). See httpd.h and docs/internals/http.md.
 *
 * libmicrohttpd runs without threads of its own (MHD_USE_EPOLL): its epoll
 * descriptor sits in the daemon's epoll set, and every request is answered
 * within the MHD_run() call that read it, from struct tocsin_status. The
 * listening socket is made here rather than by libmicrohttpd, so that a
 * bad address or a port in use is reported with the system's own reason.
 * A table of the open connections beside libmicrohttpd's own gives each
 * request a deadline and closes the slowest to make room, so that slow or
 * idle clients cannot keep /health from being answered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve/http-internal.h"
#include "serve/inbound.h"
#include "serve/svc-json.h"
#include "base/clock.h"
#include "base/log.h"
#include "tocsin-plugin.h"

#define PEM_MAX (1024 * 1024)        /* largest certificate or key file read */
#define CONNECTION_LIMIT 128         /* open connections at most: each may hold a whole answer */
#define CONNECTIONS_KEPT 112         /* beyond this, the oldest still sending a request goes */
#define PER_ADDRESS_KEPT 8           /* likewise for the connections from one address */
#define PER_ADDRESS_LIMIT 16         /* libmicrohttpd's own limit for one address */
#define REQUEST_DEADLINE_US 5000000LL /* from accept (or the answer before) to a whole request */
#define EVICT_GRACE_US 1000000LL     /* a connection this young is never closed to make room */
#define CONNECTION_TIMEOUT_S 10      /* idle connections are closed after this */
#define CONNECTION_MEMORY (256 * 1024) /* per connection: request, and the send buffer */

/* One open connection, from libmicrohttpd's notice that it started to
 * the one that it closed. */
struct tocsin_http_conn {
    int fd;                      /* -1: the slot is free */
    int answering;               /* the request is in and its answer queued */
    int closing;                 /* shut down here; libmicrohttpd closes it next */
    int64_t since;               /* monotonic us: accepted, or the previous answer sent */
    int family;                  /* the peer's address: AF_INET, AF_INET6 or 0 */
    unsigned char addr[16];
};

int tocsin_http_token_equal(const char *given, const char *want)
{
    size_t glen = strlen(given), wlen = strlen(want), i;
    volatile unsigned char diff = glen != wlen;

    for (i = 0; i < wlen; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < glen ? given[i] : 0);
    return diff == 0;
}

/* libmicrohttpd's log: kept while starting (to explain a failure), then
 * logged at debug level only, since any client can provoke its messages
 * (a plain request to the TLS port, a connection dropped halfway). They
 * never contain request headers. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct tocsin_httpd *h = cls;
    struct tocsin_buf msg = TOCSIN_BUF_INIT;

    tocsin_buf_vprintf(&msg, fmt, ap);
    while (msg.len && (msg.data[msg.len - 1] == '\n' || msg.data[msg.len - 1] == ' '))
        msg.data[--msg.len] = '\0';
    if (h->starting) {
        if (h->start_log.len)
            tocsin_buf_puts(&h->start_log, h->start_log.data[h->start_log.len - 1] == '.'
                            ? " " : "; ");
        tocsin_buf_puts(&h->start_log, tocsin_buf_str(&msg));
    } else {
        tocsin_debug("http: %s", tocsin_buf_str(&msg));
    }
    tocsin_buf_free(&msg);
}

/* Read a whole PEM file (at most PEM_MAX bytes) into a new string. Returns
 * it, or NULL with the reason logged. */
static char *read_pem(const char *what, const char *path, size_t *len_out)
{
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    char chunk[4096];
    char *out = NULL;
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tocsin_error("http: %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tocsin_error("http: %s %s: %s", what, path, strerror(errno));
            goto out;
        }
        if (text.len + (size_t)n > PEM_MAX) {
            tocsin_error("http: %s %s: larger than %d bytes", what, path, PEM_MAX);
            goto out;
        }
        tocsin_buf_append(&text, chunk, (size_t)n);
    }
    if (text.oom) {
        tocsin_error("http: %s %s: out of memory", what, path);
        goto out;
    }
    if (!strstr(tocsin_buf_str(&text), "-----BEGIN ")) {
        tocsin_error("http: %s %s: not a PEM file", what, path);
        goto out;
    }
    *len_out = text.len;
    out = tocsin_buf_steal(&text);
out:
    explicit_bzero(chunk, sizeof(chunk));
    if (text.data)
        explicit_bzero(text.data, text.cap);
    tocsin_buf_free(&text);
    close(fd);
    return out;
}

/* A listening socket on `conf`'s address, or -1 with the reason logged. */
static int open_listener(const struct tocsin_http_conf *conf)
{
    int fd, one = 1;

    fd = socket(conf->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        tocsin_error("http: cannot listen on %s: %s", conf->listen, strerror(errno));
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        (conf->addr.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)) {
        tocsin_error("http: cannot listen on %s: setsockopt: %s", conf->listen,
                     strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)&conf->addr, conf->addrlen) < 0) {
        int err = errno;

        tocsin_error("http: cannot listen on %s: %s%s", conf->listen, strerror(err),
                     err == EADDRINUSE ? " (another program, or another tocsind, has "
                     "this port; choose another with http { listen = ... })" : "");
        close(fd);
        return -1;
    }
    if (listen(fd, 64) < 0) {
        tocsin_error("http: cannot listen on %s: %s", conf->listen, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------------ */
/* The connection table                                                */
/* ------------------------------------------------------------------ */

/* Is `k` still sending its request (or waiting to send the next one)?
 * Only such a connection is closed to make room, or at its deadline: one
 * being answered is left to libmicrohttpd's idle timeout. */
static int reading(const struct tocsin_http_conn *k)
{
    return k->fd >= 0 && !k->answering && !k->closing;
}

/* Is `k` open and not being closed, and from `like`'s address (any when
 * `like` is NULL)? */
static int kept(const struct tocsin_http_conn *k, const struct tocsin_http_conn *like)
{
    return k->fd >= 0 && !k->closing &&
           (!like || (k->family == like->family &&
                      memcmp(k->addr, like->addr, sizeof(k->addr)) == 0));
}

/* Close `k` for `why`: shutdown() makes libmicrohttpd read the end of the
 * stream at its next run, and close the connection itself. The first such
 * closing, then at most one a minute, is logged, with the count so far. */
static void shut(struct tocsin_httpd *h, struct tocsin_http_conn *k,
                 const char *why)
{
    char addr[INET6_ADDRSTRLEN] = "?";

    shutdown(k->fd, SHUT_RDWR);
    k->closing = 1;
    h->drops++;
    if (k->family)
        inet_ntop(k->family, k->addr, addr, sizeof(addr));
    tocsin_log_limited(&h->drop_log, TOCSIN_LOG_WARNING, "http: closed a connection "
                       "from %s: %s (%llu so far; at most one such line a minute)", addr,
                       why, (unsigned long long)h->drops);
}

/* Open connections not being closed from `like`'s address (all when
 * `like` is NULL). O(CONNECTION_LIMIT). */
static int count_kept(const struct tocsin_httpd *h, const struct tocsin_http_conn *like)
{
    int i, n = 0;

    for (i = 0; i < CONNECTION_LIMIT; i++)
        n += kept(&h->conns[i], like);
    return n;
}

/*
 * Close the connection from `like`'s address (any when `like` is NULL)
 * that has waited longest for its request, provided it has waited
 * EVICT_GRACE_US at least: a newcomer's request, already sent, is read
 * within that time even when slow clients reconnect in a burst. Returns 1
 * when one was closed; otherwise lowers *next to the time one could be.
 * O(CONNECTION_LIMIT).
 */
static int close_oldest(struct tocsin_httpd *h, const struct tocsin_http_conn *like,
                        int64_t now, int64_t *next, const char *why)
{
    struct tocsin_http_conn *best = NULL;
    int i;

    for (i = 0; i < CONNECTION_LIMIT; i++) {
        struct tocsin_http_conn *k = &h->conns[i];

        if (reading(k) && kept(k, like) && (!best || k->since < best->since))
            best = k;
    }
    if (!best)
        return 0;
    if (now - best->since < EVICT_GRACE_US) {
        if (best->since + EVICT_GRACE_US < *next)
            *next = best->since + EVICT_GRACE_US;
        return 0;
    }
    shut(h, best, why);
    return 1;
}

/*
 * Hold the table to its promises, and return the monotonic time it next
 * needs looking at (INT64_MAX: not before something happens):
 *  - a connection that has not sent its whole request within
 *    REQUEST_DEADLINE_US of being accepted (or of its previous answer), by
 *    however many bytes it trickles, is closed;
 *  - an address with more than PER_ADDRESS_KEPT connections, or a table
 *    with more than CONNECTIONS_KEPT, loses the one of them that has
 *    waited longest for its request, so that slow or idle clients can
 *    never keep a new one out.
 * O(CONNECTION_LIMIT^2) at worst, O(CONNECTION_LIMIT * open connections)
 * in general: a few microseconds per run of the server.
 */
static int64_t enforce_limits(struct tocsin_httpd *h, int64_t now)
{
    int64_t next = INT64_MAX;
    int i, j, seen;

    for (i = 0; i < CONNECTION_LIMIT; i++) {
        struct tocsin_http_conn *k = &h->conns[i];

        if (!reading(k))
            continue;
        if (now - k->since >= REQUEST_DEADLINE_US)
            shut(h, k, "no whole request within the deadline");
        else if (k->since + REQUEST_DEADLINE_US < next)
            next = k->since + REQUEST_DEADLINE_US;
    }
    for (i = 0; i < CONNECTION_LIMIT; i++) {
        struct tocsin_http_conn *k = &h->conns[i];

        if (!kept(k, NULL))
            continue;
        for (j = 0, seen = 0; j < i && !seen; j++)
            seen = kept(&h->conns[j], k);       /* that address was done already */
        while (!seen && count_kept(h, k) > PER_ADDRESS_KEPT &&
               close_oldest(h, k, now, &next, "too many connections from its address, and "
                            "it had waited longest without sending its request"))
            ;
    }
    while (count_kept(h, NULL) > CONNECTIONS_KEPT &&
           close_oldest(h, NULL, now, &next, "the connection table was full, and it had "
                        "waited longest without sending its request"))
        ;
    return next;
}

/* libmicrohttpd's notice that a connection started or closed: a new one
 * takes a slot of the table, found again from its socket context. The
 * limits are enforced after the run (update_due). O(CONNECTION_LIMIT). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct tocsin_httpd *h = cls;
    struct tocsin_http_conn *k = NULL;
    const union MHD_ConnectionInfo *fd_info, *addr_info;
    const struct sockaddr *sa;
    int i;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        k = *socket_context;
        if (k)
            k->fd = -1;
        *socket_context = NULL;
        return;
    }
    fd_info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    addr_info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    for (i = 0; i < CONNECTION_LIMIT && !k; i++)
        if (h->conns[i].fd < 0)
            k = &h->conns[i];
    if (!fd_info)
        return;
    if (!k) {
        /* Cannot happen: the table has a slot for each connection
         * libmicrohttpd takes. Refuse rather than serve one unwatched. */
        shutdown(fd_info->connect_fd, SHUT_RDWR);
        return;
    }
    memset(k, 0, sizeof(*k));
    k->fd = fd_info->connect_fd;
    k->since = tocsin_mono_us();
    sa = addr_info ? addr_info->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET) {
        k->family = AF_INET;
        memcpy(k->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6) {
        k->family = AF_INET6;
        memcpy(k->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
    *socket_context = k;
}

/* The request context of a GET or HEAD whose headers are in; a POST's is
 * its struct tocsin_http_post. */
static int headers_seen;

/* libmicrohttpd's notice that a request is over (answered, or given up):
 * the connection, if kept alive, waits for its next request from now. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct tocsin_http_conn *k = info ? info->socket_context : NULL;

    (void)cls;
    (void)toe;
    if (req_cls && *req_cls && *req_cls != &headers_seen) {
        struct tocsin_http_post *post = *req_cls;

        tocsin_buf_free(&post->body);
        free(post);
    }
    if (req_cls)
        *req_cls = NULL;
    if (!k)
        return;
    k->answering = 0;
    k->since = tocsin_mono_us();
}

/* Enforce the table's limits, then ask libmicrohttpd when it next needs
 * running for its own sake: the server is due at the sooner of that and
 * the table's next deadline. */
static void update_due(struct tocsin_httpd *h)
{
    MHD_UNSIGNED_LONG_LONG ms;
    int64_t now = tocsin_mono_us(), next = enforce_limits(h, now);

    if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
        h->due = now + (ms > 3600000ULL ? 3600000LL : (int64_t)ms) * 1000;
    else
        h->due = INT64_MAX;
    if (next < h->due)
        h->due = next;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls);

/* Copy the api_tokens of `conf` into `h`. Returns 0 or -1 (oom). */
static int copy_api_tokens(struct tocsin_httpd *h, const struct tocsin_http_conf *conf)
{
    size_t i, k;

    if (!conf->napi_tokens)
        return 0;
    h->api_tokens = calloc(conf->napi_tokens, sizeof(*h->api_tokens));
    if (!h->api_tokens)
        return -1;
    for (i = 0; i < conf->napi_tokens; i++) {
        const struct tocsin_api_token *from = &conf->api_tokens[i];
        struct tocsin_http_api_token *to = &h->api_tokens[i];

        h->napi_tokens++;
        to->name = strdup(from->name);
        to->token = strdup(from->token);
        to->services = calloc(from->nservices ? from->nservices : 1, sizeof(char *));
        if (!to->name || !to->token || !to->services)
            return -1;
        for (k = 0; k < from->nservices; k++) {
            to->services[k] = strdup(from->services[k]);
            if (!to->services[k])
                return -1;
            to->nservices++;
        }
    }
    return 0;
}

/* Free `n` api tokens at `t`, and the array. */
static void free_token_array(struct tocsin_http_api_token *t, size_t n)
{
    size_t i, k;

    for (i = 0; i < n; i++) {
        free(t[i].name);
        tocsin_secret_free(t[i].token);
        for (k = 0; k < t[i].nservices; k++)
            free(t[i].services[k]);
        free(t[i].services);
    }
    free(t);
}

/* Free the api_tokens of `h`. */
static void free_api_tokens(struct tocsin_httpd *h)
{
    free_token_array(h->api_tokens, h->napi_tokens);
    h->api_tokens = NULL;
    h->napi_tokens = 0;
}

int tocsin_httpd_update(struct tocsin_httpd *h, const struct tocsin_http_conf *conf)
{
    struct tocsin_http_api_token *old_tokens;
    size_t old_n;
    char *token = NULL;

    if (!h || !conf)
        return 0;
    if (conf->token && !(token = strdup(conf->token)))
        return -1;
    /* The api tokens are replaced whole or not at all. */
    old_tokens = h->api_tokens;
    old_n = h->napi_tokens;
    h->api_tokens = NULL;
    h->napi_tokens = 0;
    if (copy_api_tokens(h, conf) < 0) {
        free_api_tokens(h);
        h->api_tokens = old_tokens;
        h->napi_tokens = old_n;
        tocsin_secret_free(token);
        return -1;
    }
    free_token_array(old_tokens, old_n);
    tocsin_secret_free(h->token);
    h->token = token;
    h->max_lateness_us = conf->health_max_lateness_us;
    return 0;
}

struct tocsin_httpd *tocsin_httpd_start(const struct tocsin_http_conf *conf,
                                        const struct tocsin_status *status,
                                        const struct tocsin_httpd_ops *hops,
                                        int epfd, uint64_t tag, int *failed)
{
    struct tocsin_httpd *h = NULL;
    struct MHD_OptionItem ops[11];
    const union MHD_DaemonInfo *info;
    struct epoll_event ev;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    size_t cert_len = 0;
    int fd = -1, nops = 0, i;

    *failed = 0;
    if (!conf || !conf->enabled)
        return NULL;
    *failed = 1;
    h = calloc(1, sizeof(*h));
    if (!h) {
        tocsin_error("http: out of memory");
        return NULL;
    }
    h->status = status;
    if (hops)
        h->ops = *hops;
    h->drop_log = (struct tocsin_log_limit)TOCSIN_LOG_LIMIT_INIT(60);
    h->max_lateness_us = conf->health_max_lateness_us;
    if (conf->token) {
        h->token = strdup(conf->token);
        if (!h->token) {
            tocsin_error("http: out of memory");
            goto fail;
        }
    }
    if (copy_api_tokens(h, conf) < 0) {
        tocsin_error("http: out of memory");
        goto fail;
    }
    h->epfd = epfd;
    h->mhd_fd = -1;
    h->due = INT64_MAX;
    h->conns = calloc(CONNECTION_LIMIT, sizeof(*h->conns));
    if (!h->conns) {
        tocsin_error("http: out of memory");
        goto fail;
    }
    for (i = 0; i < CONNECTION_LIMIT; i++)
        h->conns[i].fd = -1;
    if (conf->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            tocsin_error("http: tls_cert is set but this libmicrohttpd was built without TLS");
            goto fail;
        }
        h->cert = read_pem("tls_cert", conf->tls_cert, &cert_len);
        h->key = h->cert ? read_pem("tls_key", conf->tls_key, &h->key_len) : NULL;
        if (!h->cert || !h->key)
            goto fail;
        flags |= MHD_USE_TLS;
        ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert};
        ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->key};
    }
    if (conf->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    fd = open_listener(conf);
    if (fd < 0)
        goto fail;
    ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
    ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT, NULL};
    ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_ADDRESS_LIMIT,
                                          NULL};
    ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
                                          NULL};
    ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY,
                                          NULL};
    ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    h->starting = 1;
    h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle_request, h,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                              MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    h->starting = 0;
    fd = -1;        /* libmicrohttpd owns it now, and closes it even when it fails */
    if (!h->mhd) {
        tocsin_error("http: cannot serve on %s: %s", conf->listen,
                     h->start_log.len ? tocsin_buf_str(&h->start_log)
                     : "libmicrohttpd refused to start");
        goto fail;
    }
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || info->epoll_fd < 0) {
        tocsin_error("http: libmicrohttpd has no epoll descriptor");
        goto fail;
    }
    h->mhd_fd = info->epoll_fd;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, h->mhd_fd, &ev) < 0) {
        tocsin_error("http: epoll_ctl: %s", strerror(errno));
        h->mhd_fd = -1;
        goto fail;
    }
    update_due(h);
    tocsin_info("http: serving %s://%s/%s", conf->tls_cert ? "https" : "http", conf->listen,
                conf->token ? " (a bearer token is required except for /health)" : "");
    *failed = 0;
    return h;

fail:
    if (fd >= 0)
        close(fd);
    tocsin_httpd_stop(h);
    return NULL;
}

void tocsin_httpd_run(struct tocsin_httpd *h)
{
    if (!h)
        return;
    MHD_run(h->mhd);
    update_due(h);
}

int64_t tocsin_httpd_tick(struct tocsin_httpd *h, int64_t now, int64_t wake)
{
    if (!h)
        return wake;
    if (now >= h->due)
        tocsin_httpd_run(h);
    return h->due < wake ? h->due : wake;
}

void tocsin_httpd_stop(struct tocsin_httpd *h)
{
    if (!h)
        return;
    if (h->mhd_fd >= 0)
        epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->mhd_fd, NULL);
    if (h->mhd)
        MHD_stop_daemon(h->mhd);     /* tells on_connection of each close: conns last */
    free(h->conns);
    free(h->cert);
    if (h->key) {
        explicit_bzero(h->key, h->key_len);
        free(h->key);
    }
    tocsin_secret_free(h->token);
    free_api_tokens(h);
    tocsin_buf_free(&h->start_log);
    free(h);
}

/* ================================================================== */
/* Answers                                                             */
/* ================================================================== */

/* The headers every answer carries, and one more (`hdr`, may be NULL).
 * Returns 0, or -1 when they could not be added. */
int tocsin_http_add_headers(struct MHD_Response *r, const char *ctype, const char *hdr,
                            const char *hdr_value)
{
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES ||
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES ||
        (hdr && MHD_add_response_header(r, hdr, hdr_value) != MHD_YES))
        return -1;
    return 0;
}

/* Send `body` (taken over, left empty) with status `code`. A body that ran
 * out of memory is answered with 500 instead. */
enum MHD_Result tocsin_http_respond(struct MHD_Connection *c, unsigned code, const char *ctype,
                                    struct tocsin_buf *body, const char *hdr, const char *hdr_value)
{
    static const char oom_text[] = "out of memory\n";
    struct MHD_Response *r;
    size_t len = body->len;
    char *data;

    data = body->oom ? NULL : tocsin_buf_steal(body);
    tocsin_buf_free(body);
    if (!data) {
        r = MHD_create_response_from_buffer(sizeof(oom_text) - 1, (void *)oom_text,
                                            MHD_RESPMEM_PERSISTENT);
        code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        ctype = CT_TEXT;
        hdr = NULL;
    } else {
        r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        if (!r)
            free(data);
    }
    return tocsin_http_queue(c, code, r, ctype, hdr, hdr_value);
}

enum MHD_Result tocsin_http_queue(struct MHD_Connection *c, unsigned code,
                                  struct MHD_Response *r, const char *ctype, const char *hdr,
                                  const char *hdr_value)
{
    enum MHD_Result ret = MHD_NO;

    if (!r)
        return MHD_NO;
    if (tocsin_http_add_headers(r, ctype, hdr, hdr_value) == 0)
        ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

ssize_t tocsin_http_hand_over(const struct tocsin_buf *pending, size_t *off, char *buf,
                              size_t max)
{
    size_t n = pending->len - *off;

    if (n > max)
        n = max;
    memcpy(buf, pending->data + *off, n);
    *off += n;
    return (ssize_t)n;
}

static int dump_to_buf(const char *text, size_t size, void *data)
{
    return tocsin_buf_append(data, text, size);
}

/* Serialise `v` (kept) at the end of `body`. Most values fit a small
 * buffer that jansson fills in one go; bigger ones go piece by piece.
 * Returns 0 or -1 (oom). */
int tocsin_http_json_append(const json_t *v, struct tocsin_buf *body)
{
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    char small[8192];
    size_t n = json_dumpb(v, small, sizeof(small), flags);

    if (n > 0 && n <= sizeof(small))
        return tocsin_buf_append(body, small, n);
    if (json_dump_callback(v, dump_to_buf, body, flags) < 0 || body->oom) {
        body->oom = 1;
        return -1;
    }
    return 0;
}

/* Serialise `root` (released) into `body`, with a newline. Returns 0 or -1
 * (oom, also when `bad` says the value is incomplete). */
int tocsin_http_json_body(json_t *root, int bad, struct tocsin_buf *body)
{
    int rc = -1;

    if (root && !bad && tocsin_http_json_append(root, body) == 0)
        rc = tocsin_buf_putc(body, '\n');
    json_decref(root);
    if (rc < 0)
        body->oom = 1;
    return rc;
}

enum MHD_Result tocsin_http_json_error(struct MHD_Connection *c, unsigned code, const char *msg,
                                       const char *hdr, const char *hdr_value)
{
    struct tocsin_buf body = TOCSIN_BUF_INIT;
    json_t *o = json_object();
    int bad = 0;

    if (o)
        tocsin_json_set(o, "error", tocsin_json_text(msg), &bad);
    tocsin_http_json_body(o, bad || !o, &body);
    return tocsin_http_respond(c, code, CT_JSON, &body, hdr, hdr_value);
}

/* ------------------------------------------------------------------ */
/* Routing                                                             */
/* ------------------------------------------------------------------ */

/* 1 when the request carries "Authorization: Bearer <the token>". */
static int authorised(const struct tocsin_httpd *h, struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);

    if (!v || strncasecmp(v, "Bearer ", 7) != 0)
        return 0;
    v += 7;
    while (*v == ' ')
        v++;
    return tocsin_http_token_equal(v, h->token);
}

/* `url` for a log line: at most 200 bytes, control characters as '?'. */
static void log_url(struct tocsin_buf *b, const char *url)
{
    size_t i;

    for (i = 0; url[i] && i < 200; i++)
        tocsin_buf_putc(b, (unsigned char)url[i] < 0x20 || url[i] == 0x7f ? '?' : url[i]);
    if (url[i])
        tocsin_buf_puts(b, "...");
}

/* 0 for a path that is not a POST endpoint; 1 for /api/v1/results, 2
 * for /api/v1/alertmanager. */
static int post_path(const char *url)
{
    if (strcmp(url, "/api/v1/results") == 0)
        return 1;
    if (strcmp(url, "/api/v1/alertmanager") == 0)
        return 2;
    return 0;
}

static enum MHD_Result route(struct tocsin_httpd *h, struct MHD_Connection *c, const char *url,
                             const char *method)
{
    static const char prefix[] = "/api/v1/services/", metrics[] = "/metrics";
    struct tocsin_buf body = TOCSIN_BUF_INIT;

    if (post_path(url))
        return tocsin_http_json_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                                      "results are submitted with POST",
                                      MHD_HTTP_HEADER_ALLOW, "POST");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return tocsin_http_json_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                                      "only GET and HEAD are served here",
                                      MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (strcmp(url, "/health") == 0)
        return tocsin_http_serve_health(h, c);
    if (h->token && !authorised(h, c)) {
        int given = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION) != NULL;

        return tocsin_http_json_error(
            c, MHD_HTTP_UNAUTHORIZED,
            given ? "the bearer token is not right"
                  : "a bearer token is required (Authorization: Bearer TOKEN)",
            MHD_HTTP_HEADER_WWW_AUTHENTICATE,
            given ? "Bearer realm=\"tocsind\", error=\"invalid_token\""
                  : "Bearer realm=\"tocsind\"");
    }
    if (strcmp(url, "/") == 0)
        return tocsin_http_serve_page(h, c);
    if (strcmp(url, "/metrics") == 0)
        return tocsin_http_serve_metrics(h, c);
    if (strcmp(url, "/api/v1/services") == 0)
        return tocsin_http_serve_services(h, c);
    if (strcmp(url, "/api/v1/incidents") == 0)
        return tocsin_http_serve_incidents(h, c);
    if (strcmp(url, "/api/v1/history") == 0)
        return tocsin_http_serve_history(h, c);
    if (strncmp(url, prefix, sizeof(prefix) - 1) == 0 && url[sizeof(prefix) - 1]) {
        const char *name = url + sizeof(prefix) - 1;
        size_t len = strlen(name);

        if (len > sizeof(metrics) - 1 &&
            strcmp(name + len - (sizeof(metrics) - 1), metrics) == 0)
            return tocsin_http_serve_service_metrics(h, c, name, len - (sizeof(metrics) - 1));
        return tocsin_http_serve_service(h, c, name);
    }
    if (strncmp(url, "/api/", 5) == 0)
        return tocsin_http_json_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint", NULL, NULL);
    tocsin_buf_puts(&body, "not found\n");
    return tocsin_http_respond(c, MHD_HTTP_NOT_FOUND, CT_TEXT, &body, NULL, NULL);
}

/*
 * libmicrohttpd's request callback. It is called once when the headers are
 * in, then for each piece of a body, then once more at the end: GET and
 * HEAD are answered at that last call (so that the connection can be kept
 * alive), their bodies, if any, read and dropped. Any other method is
 * refused at once, without reading its body (the connection then closes).
 */
/*
 * The first call for a POST to a results endpoint: refuse at once, without
 * reading the body, what its headers already condemn (a Content-Length
 * over the limit); otherwise give the request its body buffer. Returns
 * MHD_YES to go on reading, with *answered = 0.
 */
static enum MHD_Result post_begin(struct tocsin_httpd *h, struct MHD_Connection *c,
                                  void **req_cls, int *answered)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    struct tocsin_http_post *post;
    char msg[96];

    *answered = 0;
    if (cl && strtoull(cl, NULL, 10) > TOCSIN_INBOUND_BODY_MAX) {
        *answered = 1;
        h->results_refused++;
        snprintf(msg, sizeof(msg), "the body is larger than %d bytes", TOCSIN_INBOUND_BODY_MAX);
        return tocsin_http_json_error(c, 413, msg, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    post = calloc(1, sizeof(*post));
    if (!post) {
        *answered = 1;
        return tocsin_http_json_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory", NULL,
                                      NULL);
    }
    tocsin_buf_init(&post->body);
    *req_cls = post;
    return MHD_YES;
}

/* A piece of a POST's body: kept up to the limit, the rest dropped. */
static void post_piece(struct tocsin_http_post *post, const char *data, size_t n)
{
    if (post->too_large || post->body.len + n > TOCSIN_INBOUND_BODY_MAX) {
        post->too_large = 1;
        tocsin_buf_free(&post->body);
        return;
    }
    if (tocsin_buf_append(&post->body, data, n) < 0)
        post->too_large = 1;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    struct tocsin_httpd *h = cls;
    int64_t t0 = tocsin_mono_us();
    const union MHD_ConnectionInfo *info;
    int is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0 && post_path(url);
    enum MHD_Result ret;

    (void)version;
    if (!*req_cls && (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
                      strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)) {
        *req_cls = &headers_seen;
        return MHD_YES;
    }
    if (!*req_cls && is_post) {
        int answered;

        ret = post_begin(h, c, req_cls, &answered);
        if (!answered)
            return ret;
        *req_cls = &headers_seen;     /* answered: the rest is dropped */
        h->requests++;
        return ret;
    }
    if (*upload_data_size) {
        if (is_post && *req_cls && *req_cls != &headers_seen)
            post_piece(*req_cls, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    h->requests++;
    info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (info && info->socket_context)
        ((struct tocsin_http_conn *)info->socket_context)->answering = 1;
    if (is_post && *req_cls && *req_cls != &headers_seen)
        ret = tocsin_http_serve_inbound(h, c, *req_cls, post_path(url) == 2);
    else
        ret = route(h, c, url, method);
    if (tocsin_log_enabled(TOCSIN_LOG_DEBUG)) {
        struct tocsin_buf u = TOCSIN_BUF_INIT;

        log_url(&u, url);
        tocsin_debug("http: %.16s %s answered in %.2f ms", method, tocsin_buf_str(&u),
                     (double)(tocsin_mono_us() - t0) / 1e3);
        tocsin_buf_free(&u);
    }
    return ret;
}

