/*
 * httpd.c - the HTTP endpoint of tocsind. See httpd.h and docs/http.md.
 *
 * libmicrohttpd runs without threads of its own (MHD_USE_EPOLL): its epoll
 * descriptor sits in the daemon's epoll set, and every request is answered
 * within the MHD_run() call that read it, from struct tocsin_status. The
 * listening socket is made here rather than by libmicrohttpd, so that a
 * bad address or a port in use is reported with the system's own reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
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

#include <jansson.h>
#include <microhttpd.h>

#include "serve/httpd.h"
#include "serve/svc-json.h"
#include "base/clock.h"
#include "base/log.h"
#include "lib/nagios.h"
#include "tocsin-plugin.h"

#define DEFAULT_LISTEN "127.0.0.1:9746"
#define DEFAULT_MAX_LATENESS_MS 10000
#define PEM_MAX (1024 * 1024)        /* largest certificate or key file read */
#define CONNECTION_LIMIT 16          /* open connections at most: each may hold a whole answer */
#define CONNECTION_TIMEOUT_S 10      /* idle connections are closed after this */
#define CONNECTION_MEMORY (256 * 1024) /* per connection: request, and the send buffer */
#define MAX_LABEL_FILTERS 16
#define STREAM_BATCH 64              /* services serialised per slice of a JSON list */
#define REFRESH_S 30                 /* the status page reloads itself */

enum text_mode {
    TEXT_UTF8,   /* repair only */
    TEXT_HTML,   /* escape for HTML; control characters replaced */
    TEXT_PROM    /* escape as a Prometheus label value */
};

/*
 * Append `len` bytes of `s` in `mode`. Runs of bytes that need nothing are
 * copied in one go. O(len).
 */
static void put_text(struct tocsin_buf *b, const char *s, size_t len, enum text_mode mode)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;

    while (p < end) {
        unsigned char c = *p;
        const char *esc = NULL;
        size_t n = 1;

        if (c >= 0x80) {
            n = tocsin_utf8_len((const char *)p, (size_t)(end - p));
            if (n) {
                p += n;
                continue;
            }
            esc = TOCSIN_UTF8_REPLACEMENT;
        } else if (mode == TEXT_HTML) {
            switch (c) {
            case '&': esc = "&amp;"; break;
            case '<': esc = "&lt;"; break;
            case '>': esc = "&gt;"; break;
            case '"': esc = "&quot;"; break;
            case '\'': esc = "&#39;"; break;
            case '\t': case '\n': break;
            default:
                if (c < 0x20 || c == 0x7f)
                    esc = TOCSIN_UTF8_REPLACEMENT;
            }
        } else if (mode == TEXT_PROM) {
            switch (c) {
            case '\\': esc = "\\\\"; break;
            case '"': esc = "\\\""; break;
            case '\n': esc = "\\n"; break;
            default: break;
            }
        }
        if (!esc) {
            p++;
            continue;
        }
        tocsin_buf_append(b, run, (size_t)(p - run));
        tocsin_buf_puts(b, esc);
        p += n ? n : 1;
        run = p;
    }
    tocsin_buf_append(b, run, (size_t)(p - run));
}

void tocsin_http_utf8(struct tocsin_buf *b, const char *s, size_t len)
{
    put_text(b, s, len, TEXT_UTF8);
}

void tocsin_http_html(struct tocsin_buf *b, const char *s)
{
    put_text(b, s, strlen(s), TEXT_HTML);
}

void tocsin_http_prom_value(struct tocsin_buf *b, const char *s)
{
    put_text(b, s, strlen(s), TEXT_PROM);
}

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

void tocsin_http_prom_name(struct tocsin_buf *b, const char *s)
{
    if (!*s) {
        tocsin_buf_putc(b, '_');
        return;
    }
    if (s[0] == '_' && s[1] == '_')
        tocsin_buf_puts(b, "label");
    else if (s[0] >= '0' && s[0] <= '9')
        tocsin_buf_putc(b, '_');
    for (; *s; s++)
        tocsin_buf_putc(b, name_char(*s, 0) ? *s : '_');
}

/* Append a whole number without printf (most samples are one). */
static void put_int(struct tocsin_buf *b, int64_t v)
{
    char text[24], *p = text + sizeof(text);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    tocsin_buf_append(b, p, (size_t)(text + sizeof(text) - p));
}

void tocsin_http_prom_number(struct tocsin_buf *b, double v)
{
    char text[40];

    if (isnan(v)) {
        tocsin_buf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        tocsin_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        put_int(b, (int64_t)v);
        return;
    }
    snprintf(text, sizeof(text), "%.15g", v);
    if (strtod(text, NULL) != v)
        snprintf(text, sizeof(text), "%.17g", v);
    tocsin_buf_puts(b, text);
}

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

int tocsin_http_token_equal(const char *given, const char *want)
{
    size_t glen = strlen(given), wlen = strlen(want), i;
    volatile unsigned char diff = glen != wlen;

    for (i = 0; i < wlen; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < glen ? given[i] : 0);
    return diff == 0;
}

void tocsin_http_rfc3339(struct tocsin_buf *b, time_t t)
{
    char text[32];

    tocsin_buf_puts(b, tocsin_time_rfc3339(t, text, sizeof(text)));
}

/* ================================================================== */
/* The server                                                          */
/* ================================================================== */

struct tocsin_httpd {
    struct MHD_Daemon *mhd;
    const struct tocsin_status *status;
    char *token;                  /* copied from the configuration, or NULL */
    int64_t max_lateness_us;      /* likewise: the configuration may be replaced */
    int epfd;
    int mhd_fd;                   /* libmicrohttpd's epoll descriptor */
    int64_t due;                  /* monotonic us its own timer fires; INT64_MAX: none */
    char *cert, *key;             /* PEM, kept while the server runs */
    size_t key_len;
    struct tocsin_buf start_log;  /* libmicrohttpd's messages while starting */
    int starting;
    uint64_t requests;            /* answered, for /metrics */
};

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

/* Ask libmicrohttpd when it next needs running for its own sake. */
static void update_due(struct tocsin_httpd *h)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
        h->due = tocsin_mono_us() + (ms > 3600000ULL ? 3600000LL : (int64_t)ms) * 1000;
    else
        h->due = INT64_MAX;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls);

struct tocsin_httpd *tocsin_httpd_start(const struct tocsin_http_conf *conf,
                                        const struct tocsin_status *status,
                                        int epfd, uint64_t tag, int *failed)
{
    struct tocsin_httpd *h = NULL;
    struct MHD_OptionItem ops[10];
    const union MHD_DaemonInfo *info;
    struct epoll_event ev;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    size_t cert_len = 0;
    int fd = -1, nops = 0;

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
    h->max_lateness_us = conf->health_max_lateness_us;
    if (conf->token) {
        h->token = strdup(conf->token);
        if (!h->token) {
            tocsin_error("http: out of memory");
            goto fail;
        }
    }
    h->epfd = epfd;
    h->mhd_fd = -1;
    h->due = INT64_MAX;
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
    ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
                                          NULL};
    ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY,
                                          NULL};
    ops[nops++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    h->starting = 1;
    h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle_request, h,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
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
        MHD_stop_daemon(h->mhd);
    free(h->cert);
    if (h->key) {
        explicit_bzero(h->key, h->key_len);
        free(h->key);
    }
    tocsin_secret_free(h->token);
    tocsin_buf_free(&h->start_log);
    free(h);
}

/* ================================================================== */
/* Answers                                                             */
/* ================================================================== */

#define CT_JSON "application/json"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

/* The headers every answer carries, and one more (`hdr`, may be NULL).
 * Returns 0, or -1 when they could not be added. */
static int add_headers(struct MHD_Response *r, const char *ctype, const char *hdr,
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
static enum MHD_Result respond(struct MHD_Connection *c, unsigned code, const char *ctype,
                               struct tocsin_buf *body, const char *hdr, const char *hdr_value)
{
    static const char oom_text[] = "out of memory\n";
    struct MHD_Response *r;
    enum MHD_Result ret;
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
    if (!r)
        return MHD_NO;
    if (add_headers(r, ctype, hdr, hdr_value) < 0) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static json_t *jtime(time_t t)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;
    json_t *j;

    if (t <= 0)
        return json_null();
    tocsin_http_rfc3339(&b, t);
    j = b.oom ? NULL : json_string(tocsin_buf_str(&b));
    tocsin_buf_free(&b);
    return j;
}

static json_t *jreal(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int dump_to_buf(const char *text, size_t size, void *data)
{
    return tocsin_buf_append(data, text, size);
}

/* Serialise `v` (kept) at the end of `body`. Most values fit a small
 * buffer that jansson fills in one go; bigger ones go piece by piece.
 * Returns 0 or -1 (oom). */
static int json_append(const json_t *v, struct tocsin_buf *body)
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
static int json_body(json_t *root, int bad, struct tocsin_buf *body)
{
    int rc = -1;

    if (root && !bad && json_append(root, body) == 0)
        rc = tocsin_buf_putc(body, '\n');
    json_decref(root);
    if (rc < 0)
        body->oom = 1;
    return rc;
}

static enum MHD_Result json_error(struct MHD_Connection *c, unsigned code, const char *msg,
                                  const char *hdr, const char *hdr_value)
{
    struct tocsin_buf body = TOCSIN_BUF_INIT;
    json_t *o = json_object();
    int bad = 0;

    if (o)
        tocsin_json_set(o, "error", tocsin_json_text(msg), &bad);
    json_body(o, bad || !o, &body);
    return respond(c, code, CT_JSON, &body, hdr, hdr_value);
}

/* Lower-case state names for JSON, filters and CSS classes; "pending"
 * before a service's first result. */
static const char *state_word(int checked, enum tocsin_state st)
{
    static const char *const words[] = {"ok", "warning", "critical", "unknown"};

    if (!checked)
        return "pending";
    return st >= TOCSIN_OK && st <= TOCSIN_UNKNOWN ? words[st] : "unknown";
}

/* Display rank: critical, unknown, warning, ok, then pending. */
static int state_rank(int checked, enum tocsin_state st)
{
    if (!checked)
        return 0;
    switch (st) {
    case TOCSIN_CRITICAL: return 4;
    case TOCSIN_WARNING: return 2;
    case TOCSIN_OK: return 1;
    default: return 3;
    }
}

/* ------------------------------------------------------------------ */
/* /health                                                             */
/* ------------------------------------------------------------------ */

struct health {
    int ok;
    int64_t overdue_us;
    int up, total;
    struct tocsin_buf reasons[2];
    int nreasons;
};

static void health_judge(const struct tocsin_httpd *h, struct health *hl)
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
    hl->ok = hl->nreasons == 0;
}

static void health_free(struct health *hl)
{
    int i;

    for (i = 0; i < 2; i++)
        tocsin_buf_free(&hl->reasons[i]);
}

static enum MHD_Result serve_health(struct tocsin_httpd *h, struct MHD_Connection *c)
{
    const struct tocsin_status *st = h->status;
    struct tocsin_buf body = TOCSIN_BUF_INIT;
    struct health hl;
    json_t *o = json_object(), *reasons = json_array();
    int bad = !o || !reasons, i;

    health_judge(h, &hl);
    for (i = 0; i < hl.nreasons && reasons; i++)
        tocsin_json_push(reasons, tocsin_json_text(tocsin_buf_str(&hl.reasons[i])), &bad);
    if (o) {
        tocsin_json_set(o, "status", json_string(hl.ok ? "ok" : "unhealthy"), &bad);
        tocsin_json_set(o, "reasons", reasons, &bad);
        reasons = NULL;
        tocsin_json_set(o, "version", json_string(PACKAGE_VERSION), &bad);
        tocsin_json_set(o, "uptime_seconds", json_integer((json_int_t)(time(NULL) - st->started)), &bad);
        tocsin_json_set(o, "checks_total", json_integer((json_int_t)st->checks_total), &bad);
        tocsin_json_set(o, "services", json_integer((json_int_t)st->conf->nservices), &bad);
        tocsin_json_set(o, "workers_up", json_integer(hl.up), &bad);
        tocsin_json_set(o, "workers_total", json_integer(hl.total), &bad);
        tocsin_json_set(o, "overdue_seconds", json_real((double)hl.overdue_us / 1e6), &bad);
        tocsin_json_set(o, "max_lateness_seconds",
             json_real((double)h->max_lateness_us / 1e6), &bad);
    }
    json_decref(reasons);
    json_body(o, bad, &body);
    health_free(&hl);
    return respond(c, hl.ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, CT_JSON, &body,
                   NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* /metrics                                                            */
/* ------------------------------------------------------------------ */

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
        family(b, "tocsin_outbox_depth", "gauge",
               "Notifications in the durable outbox not delivered, failed or expired yet.");
        tocsin_buf_printf(b, "tocsin_outbox_depth %" PRId64 "\n", tocsin_outbox_depth(st->store));
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
    }
    family(b, "tocsin_http_requests_total", "counter", "HTTP requests answered.");
    tocsin_buf_printf(b, "tocsin_http_requests_total %" PRIu64 "\n", h->requests);
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
    size_t n;

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
    n = ms->pending.len - ms->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, ms->pending.data + ms->pending_off, n);
    ms->pending_off += n;
    return (ssize_t)n;
}

static void metrics_free(void *cls)
{
    struct metrics_stream *ms = cls;

    tocsin_buf_free(&ms->sets);
    tocsin_buf_free(&ms->pending);
    free(ms->off);
    free(ms);
}

static enum MHD_Result serve_metrics(struct tocsin_httpd *h, struct MHD_Connection *c)
{
    struct metrics_stream *ms = calloc(1, sizeof(*ms));
    struct MHD_Response *r;
    enum MHD_Result ret;

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
    if (add_headers(r, CT_PROM, NULL, NULL) < 0) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------------------ */
/* /api/v1/services                                                    */
/* ------------------------------------------------------------------ */

/* Everything the API says about service `i`. NULL when memory runs out. */
static json_t *service_json(const struct tocsin_status *st, size_t i, time_t now)
{
    const struct tocsin_service_conf *s = &st->conf->services[i];
    const struct tocsin_svc_view *v = &st->views[i];
    const struct tocsin_incident *inc = st->alerting
        ? tocsin_alerting_incident(st->alerting, (uint32_t)i) : NULL;
    struct tocsin_output out;
    json_t *o = json_object(), *labels = json_object(), *perf = json_array();
    int bad = !o || !labels || !perf, parsed = 0;
    size_t k;

    memset(&out, 0, sizeof(out));
    if (v->output) {
        if (tocsin_output_parse(v->output, strlen(v->output), &out) < 0)
            bad = 1;
        else
            parsed = 1;
    }
    if (bad)
        goto out;
    tocsin_json_set(o, "name", tocsin_json_text(s->inst.name), &bad);
    tocsin_json_set(o, "host", tocsin_json_text(s->host), &bad);
    tocsin_json_set(o, "kind", json_string(s->is_group ? "group" : "service"), &bad);
    tocsin_json_set(o, "check", s->is_group ? json_null() : tocsin_json_text(s->inst.plugin_name), &bad);
    tocsin_json_set(o, "state", json_string(state_word(v->checked, v->state)), &bad);
    tocsin_json_set(o, "hard_state", json_string(state_word(v->checked, v->hard_state)), &bad);
    tocsin_json_set(o, "is_hard", json_boolean(v->checked && v->is_hard), &bad);
    tocsin_json_set(o, "attempt", json_integer(v->attempt), &bad);
    tocsin_json_set(o, "max_attempts", json_integer(s->max_attempts), &bad);
    tocsin_json_set(o, "flapping", json_boolean(v->flapping), &bad);
    tocsin_json_set(o, "last_check", v->checked ? jtime(v->last_check) : json_null(), &bad);
    tocsin_json_set(o, "last_change", v->checked ? jtime(v->last_change) : json_null(), &bad);
    tocsin_json_set(o, "output", parsed ? tocsin_json_text(out.first_line) : json_null(), &bad);
    tocsin_json_set(o, "long_output", parsed ? tocsin_json_text(out.long_output) : json_null(), &bad);
    for (k = 0; parsed && k < out.nperf; k++) {
        const struct tocsin_perf *p = &out.perf[k];
        json_t *po = json_object();

        if (!po) {
            bad = 1;
            break;
        }
        tocsin_json_set(po, "label", tocsin_json_text(p->label), &bad);
        tocsin_json_set(po, "value", p->value_unknown ? json_null() : jreal(p->value), &bad);
        tocsin_json_set(po, "uom", json_string(p->uom), &bad);
        tocsin_json_set(po, "warn", tocsin_json_text(p->warn), &bad);
        tocsin_json_set(po, "crit", tocsin_json_text(p->crit), &bad);
        tocsin_json_set(po, "min", p->has_min ? jreal(p->min) : json_null(), &bad);
        tocsin_json_set(po, "max", p->has_max ? jreal(p->max) : json_null(), &bad);
        tocsin_json_push(perf, po, &bad);
    }
    tocsin_json_set(o, "perfdata", perf, &bad);
    perf = NULL;
    for (k = 0; k < s->nlabels; k++)
        tocsin_json_set(labels, s->labels[k].key, tocsin_json_text(s->labels[k].value), &bad);
    tocsin_json_set(o, "labels", labels, &bad);
    labels = NULL;
    if (inc && inc->acked) {
        json_t *a = json_object();

        if (a) {
            tocsin_json_set(a, "by", tocsin_json_text(inc->ack_author), &bad);
            tocsin_json_set(a, "text", tocsin_json_text(inc->ack_text), &bad);
        }
        tocsin_json_set(o, "acknowledged", a, &bad);
    } else {
        tocsin_json_set(o, "acknowledged", json_null(), &bad);
    }
    if (inc && inc->downtime_until > now) {
        json_t *d = json_object();

        if (d) {
            tocsin_json_set(d, "until", jtime(inc->downtime_until), &bad);
            tocsin_json_set(d, "by", tocsin_json_text(inc->downtime_author), &bad);
            tocsin_json_set(d, "text", tocsin_json_text(inc->downtime_text), &bad);
        }
        tocsin_json_set(o, "downtime", d, &bad);
    } else {
        tocsin_json_set(o, "downtime", json_null(), &bad);
    }
    tocsin_json_set(o, "incident", tocsin_json_text(inc ? inc->key : NULL), &bad);
out:
    if (parsed)
        tocsin_output_free(&out);
    json_decref(labels);
    json_decref(perf);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

struct filter {
    int states;                           /* bit per state word index; 0: any */
    char *labels[MAX_LABEL_FILTERS];      /* "key=value" (owned, once parsed) */
    int nlabels;
    int too_many;
    const char *bad_label;
};

static const char *const state_words[] = {"ok", "warning", "critical", "unknown", "pending"};

static enum MHD_Result collect_label(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct filter *f = cls;

    (void)kind;
    if (strcmp(key, "label") != 0)
        return MHD_YES;
    if (!value || !strchr(value, '=') || *value == '=') {
        f->bad_label = value ? value : "";
        return MHD_NO;
    }
    if (f->nlabels == MAX_LABEL_FILTERS) {
        f->too_many = 1;
        return MHD_NO;
    }
    f->labels[f->nlabels] = strdup(value);
    if (!f->labels[f->nlabels]) {
        f->too_many = -1;
        return MHD_NO;
    }
    f->nlabels++;
    return MHD_YES;
}

static void filter_free(struct filter *f)
{
    int k;

    for (k = 0; k < f->nlabels; k++)
        free(f->labels[k]);
    f->nlabels = 0;
}

/* Parse ?state=a,b and ?label=k=v (repeatable) into `f` (release with
 * filter_free). Returns 0, or -1 with a message for the client in `err`. */
static int parse_filter(struct MHD_Connection *c, struct filter *f, struct tocsin_buf *err)
{
    const char *states = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");

    memset(f, 0, sizeof(*f));
    if (states) {
        const char *p = states;

        while (*p) {
            size_t n = strcspn(p, ","), k;

            for (k = 0; k < 5; k++)
                if (strlen(state_words[k]) == n && strncasecmp(p, state_words[k], n) == 0)
                    break;
            if (k == 5) {
                tocsin_buf_printf(err, "state \"%.*s\" is not one of ok, warning, critical, "
                                  "unknown, pending", (int)(n > 64 ? 64 : n), p);
                return -1;
            }
            f->states |= 1 << k;
            p += n;
            if (*p == ',')
                p++;
        }
        if (!f->states) {
            tocsin_buf_puts(err, "state is empty; give one of ok, warning, critical, "
                            "unknown, pending");
            return -1;
        }
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_label, f);
    if (f->bad_label) {
        tocsin_buf_printf(err, "label \"%.64s\" is not KEY=VALUE", f->bad_label);
        filter_free(f);
        return -1;
    }
    if (f->too_many) {
        if (f->too_many > 0)
            tocsin_buf_printf(err, "at most %d label filters", MAX_LABEL_FILTERS);
        else
            err->oom = 1;
        filter_free(f);
        return -1;
    }
    return 0;
}

static int filter_match(const struct filter *f, const struct tocsin_status *st, size_t i)
{
    const struct tocsin_service_conf *s = &st->conf->services[i];
    const struct tocsin_svc_view *v = &st->views[i];
    int k;

    if (f->states) {
        int word = v->checked ? (v->state >= TOCSIN_OK && v->state <= TOCSIN_UNKNOWN
                                 ? (int)v->state : 3) : 4;

        if (!(f->states & (1 << word)))
            return 0;
    }
    for (k = 0; k < f->nlabels; k++) {
        const char *eq = strchr(f->labels[k], '=');
        size_t klen = (size_t)(eq - f->labels[k]), j;
        int found = 0;

        for (j = 0; j < s->nlabels && !found; j++)
            found = strlen(s->labels[j].key) == klen &&
                    memcmp(s->labels[j].key, f->labels[k], klen) == 0 &&
                    strcmp(s->labels[j].value, eq + 1) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

/*
 * A JSON list being sent. It is serialised STREAM_BATCH services at a time,
 * as libmicrohttpd asks for more to send, so that a long list holds up the
 * event loop for a slice at a time rather than for the whole list. Each
 * object is what the daemon knew when it was serialised.
 */
struct list_stream {
    const struct tocsin_status *status;
    const struct tocsin_config *conf; /* the configuration it started with */
    struct filter f;
    time_t now;
    size_t next;                  /* next service to consider */
    size_t items;                 /* objects written so far */
    int started, done;            /* '[' written; ']' written */
    struct tocsin_buf pending;    /* serialised, not handed over yet */
    size_t off;                   /* ... of which this much was handed over */
};

static ssize_t list_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct list_stream *ls = cls;
    const struct tocsin_status *st = ls->status;
    size_t n, batch = 0;

    (void)pos;
    if (ls->off == ls->pending.len) {
        if (ls->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (st->conf != ls->conf)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        tocsin_buf_reset(&ls->pending);
        ls->off = 0;
        if (!ls->started) {
            tocsin_buf_putc(&ls->pending, '[');
            ls->started = 1;
        }
        while (ls->next < st->conf->nservices && batch < STREAM_BATCH) {
            size_t i = ls->next++;
            json_t *o;

            if (!filter_match(&ls->f, st, i))
                continue;
            o = service_json(st, i, ls->now);
            if (!o)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            if (ls->items++)
                tocsin_buf_putc(&ls->pending, ',');
            json_append(o, &ls->pending);
            json_decref(o);
            batch++;
        }
        if (ls->next >= st->conf->nservices) {
            tocsin_buf_puts(&ls->pending, "]\n");
            ls->done = 1;
        }
        if (ls->pending.oom)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    n = ls->pending.len - ls->off;
    if (n > max)
        n = max;
    memcpy(buf, ls->pending.data + ls->off, n);
    ls->off += n;
    return (ssize_t)n;
}

static void list_free(void *cls)
{
    struct list_stream *ls = cls;

    filter_free(&ls->f);
    tocsin_buf_free(&ls->pending);
    free(ls);
}

static enum MHD_Result serve_services(struct tocsin_httpd *h, struct MHD_Connection *c)
{
    struct tocsin_buf err = TOCSIN_BUF_INIT;
    struct list_stream *ls;
    struct MHD_Response *r;
    enum MHD_Result ret;

    ls = calloc(1, sizeof(*ls));
    if (!ls)
        return MHD_NO;
    if (parse_filter(c, &ls->f, &err) < 0) {
        free(ls);
        if (err.oom) {
            tocsin_buf_free(&err);
            return MHD_NO;
        }
        ret = json_error(c, MHD_HTTP_BAD_REQUEST, tocsin_buf_str(&err), NULL, NULL);
        tocsin_buf_free(&err);
        return ret;
    }
    ls->status = h->status;
    ls->conf = h->status->conf;
    ls->now = time(NULL);
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, list_read, ls,
                                          list_free);
    if (!r) {
        list_free(ls);
        return MHD_NO;
    }
    if (add_headers(r, CT_JSON, NULL, NULL) < 0) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_service(struct tocsin_httpd *h, struct MHD_Connection *c,
                                     const char *name)
{
    const struct tocsin_status *st = h->status;
    struct tocsin_buf body = TOCSIN_BUF_INIT, msg = TOCSIN_BUF_INIT;
    long i = tocsin_config_find_service(st->conf, name);
    enum MHD_Result ret;

    if (i < 0) {
        tocsin_buf_puts(&msg, "no service named \"");
        tocsin_buf_append(&msg, name, strnlen(name, 200));
        tocsin_buf_putc(&msg, '"');
        ret = json_error(c, MHD_HTTP_NOT_FOUND, tocsin_buf_str(&msg), NULL, NULL);
        tocsin_buf_free(&msg);
        return ret;
    }
    json_body(service_json(st, (size_t)i, time(NULL)), 0, &body);
    return respond(c, MHD_HTTP_OK, CT_JSON, &body, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* The status page                                                     */
/* ------------------------------------------------------------------ */

static const char page_css[] =
    "body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:1.5em;"
    "color:#1d1d1f;background:#f6f6f7}"
    "h1{font-size:1.4em;margin:0}"
    ".meta{color:#555;margin:.2em 0 1em}"
    ".bad{color:#b52b27;font-weight:600}"
    ".counts{display:flex;flex-wrap:wrap;gap:.5em;list-style:none;padding:0;margin:0 0 1em}"
    ".counts li{padding:.35em .9em;border-radius:4px;font-weight:600}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{text-align:left;padding:.4em .6em;border-bottom:1px solid #e3e3e6;"
    "vertical-align:top}"
    "th{background:#ececef;font-weight:600}"
    "td.state{font-weight:700;white-space:nowrap}"
    "td.since{white-space:nowrap}"
    ".critical{background:#d64541;color:#fff}"
    ".warning{background:#f2b33d;color:#1d1d1f}"
    ".unknown{background:#8e5ab5;color:#fff}"
    ".ok{background:#3f9c4a;color:#fff}"
    ".pending{background:#9a9aa1;color:#fff}"
    ".out{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;"
    "word-break:break-word}"
    ".tag{display:inline-block;font-size:.8em;font-weight:600;padding:0 .45em;"
    "margin-right:.4em;border-radius:3px;background:#e6e6ea;color:#333}"
    "a{color:inherit}";

/* A duration as tocsin_duration_format() writes it: "3d 4h", "2h 5m",
 * "3m 20s", "45s". */
static void put_age(struct tocsin_buf *b, time_t secs)
{
    char text[64];

    tocsin_duration_format((long long)secs, text, sizeof(text));
    tocsin_buf_puts(b, text);
}

/* Percent-encode `s` for a URL path segment. */
static void put_url_segment(struct tocsin_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            tocsin_buf_putc(b, (char)c);
        else
            tocsin_buf_printf(b, "%%%02X", c);
    }
}

static int cmp_severity(const void *a, const void *b, void *arg)
{
    const struct tocsin_status *st = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    const struct tocsin_svc_view *vx = &st->views[x], *vy = &st->views[y];
    int rx = state_rank(vx->checked, vx->state), ry = state_rank(vy->checked, vy->state);

    if (rx != ry)
        return ry - rx;
    return strcmp(st->conf->services[x].inst.name, st->conf->services[y].inst.name);
}

/* One table row for service `i`. */
static void page_row(struct tocsin_buf *b, const struct tocsin_status *st, size_t i,
                     time_t now)
{
    const struct tocsin_service_conf *s = &st->conf->services[i];
    const struct tocsin_svc_view *v = &st->views[i];
    const struct tocsin_incident *inc = st->alerting
        ? tocsin_alerting_incident(st->alerting, (uint32_t)i) : NULL;
    const char *word = state_word(v->checked, v->state);
    const char *line = v->output ? v->output : "";
    size_t n = strcspn(line, "|\n");
    struct tocsin_buf text = TOCSIN_BUF_INIT;

    tocsin_buf_printf(b, "<tr><td class=\"state %s\">", word);
    tocsin_buf_puts(b, v->checked ? tocsin_state_name(v->state) : "PENDING");
    if (v->checked && !v->is_hard && v->state != TOCSIN_OK)
        tocsin_buf_printf(b, " <small>soft %d/%d</small>", v->attempt, s->max_attempts);
    tocsin_buf_puts(b, "</td><td><a href=\"/api/v1/services/");
    put_url_segment(b, s->inst.name);
    tocsin_buf_puts(b, "\">");
    tocsin_http_html(b, s->inst.name);
    tocsin_buf_puts(b, "</a>");
    if (s->is_group)
        tocsin_buf_puts(b, " <span class=\"tag\">group</span>");
    tocsin_buf_puts(b, "</td><td>");
    tocsin_http_html(b, s->host);
    tocsin_buf_puts(b, "</td><td class=\"since\">");
    if (v->checked && v->last_change > 0) {
        tocsin_buf_puts(b, "<time datetime=\"");
        tocsin_http_rfc3339(b, v->last_change);
        tocsin_buf_puts(b, "\">");
        put_age(b, now - v->last_change);
        tocsin_buf_puts(b, "</time>");
    } else {
        tocsin_buf_puts(b, "&ndash;");
    }
    tocsin_buf_puts(b, "</td><td class=\"out\">");
    if (v->flapping)
        tocsin_buf_puts(b, "<span class=\"tag\">flapping</span>");
    if (inc && inc->acked) {
        tocsin_buf_puts(b, "<span class=\"tag\">acknowledged by ");
        tocsin_http_html(b, inc->ack_author ? inc->ack_author : "?");
        tocsin_buf_puts(b, "</span>");
    }
    if (inc && inc->downtime_until > now) {
        tocsin_buf_puts(b, "<span class=\"tag\">downtime until ");
        tocsin_http_rfc3339(b, inc->downtime_until);
        tocsin_buf_puts(b, "</span>");
    }
    /* The first line without its perfdata, repaired and escaped. */
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
        n--;
    tocsin_http_utf8(&text, line, n);
    tocsin_http_html(b, tocsin_buf_str(&text));
    tocsin_buf_free(&text);
    tocsin_buf_puts(b, "</td></tr>\n");
}

static void build_page(struct tocsin_httpd *h, struct tocsin_buf *b)
{
    const struct tocsin_status *st = h->status;
    const struct tocsin_config *conf = st->conf;
    static const char *const words[] = {"critical", "unknown", "warning", "ok", "pending"};
    size_t counts[5] = {0, 0, 0, 0, 0}, *order, i;
    time_t now = time(NULL);
    struct health hl;
    int k;

    order = malloc((conf->nservices ? conf->nservices : 1) * sizeof(*order));
    if (!order) {
        b->oom = 1;
        return;
    }
    for (i = 0; i < conf->nservices; i++) {
        const struct tocsin_svc_view *v = &st->views[i];

        order[i] = i;
        for (k = 0; k < 5; k++)
            if (strcmp(words[k], state_word(v->checked, v->state)) == 0)
                counts[k]++;
    }
    qsort_r(order, conf->nservices, sizeof(*order), cmp_severity, (void *)st);
    health_judge(h, &hl);

    tocsin_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta http-equiv=\"refresh\" content=\"%d\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>", REFRESH_S);
    for (k = 0; k < 3; k++)
        if (counts[k])
            tocsin_buf_printf(b, "%zu %s, ", counts[k], words[k]);
    tocsin_buf_puts(b, "tocsind on ");
    tocsin_http_html(b, conf->host);
    tocsin_buf_printf(b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>tocsind on ", page_css);
    tocsin_http_html(b, conf->host);
    tocsin_buf_printf(b, "</h1>\n<p class=\"meta\">version %s &middot; up ", PACKAGE_VERSION);
    put_age(b, now - st->started);
    tocsin_buf_printf(b, " &middot; %" PRIu64 " checks &middot; %d/%d check workers &middot; "
                      "updated <time datetime=\"", st->checks_total, hl.up, hl.total);
    tocsin_http_rfc3339(b, now);
    tocsin_buf_puts(b, "\">");
    tocsin_http_rfc3339(b, now);
    tocsin_buf_printf(b, "</time> &middot; reloads every %d s</p>\n", REFRESH_S);
    for (k = 0; k < hl.nreasons; k++) {
        tocsin_buf_puts(b, "<p class=\"bad\">Unhealthy: ");
        tocsin_http_html(b, tocsin_buf_str(&hl.reasons[k]));
        tocsin_buf_puts(b, "</p>\n");
    }
    health_free(&hl);
    tocsin_buf_puts(b, "<ul class=\"counts\">\n");
    for (k = 0; k < 5; k++)
        tocsin_buf_printf(b, "<li class=\"%s\">%zu %s</li>\n", words[k], counts[k], words[k]);
    tocsin_buf_puts(b, "</ul>\n<table>\n<thead><tr><th>State</th><th>Service</th><th>Host</th>"
                    "<th>Since</th><th>Output</th></tr></thead>\n<tbody>\n");
    for (i = 0; i < conf->nservices && !b->oom; i++)
        page_row(b, st, order[i], now);
    tocsin_buf_puts(b, "</tbody>\n</table>\n</body>\n</html>\n");
    free(order);
}

static enum MHD_Result serve_page(struct tocsin_httpd *h, struct MHD_Connection *c)
{
    struct tocsin_buf body = TOCSIN_BUF_INIT;

    build_page(h, &body);
    return respond(c, MHD_HTTP_OK, CT_HTML, &body, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'");
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

static enum MHD_Result route(struct tocsin_httpd *h, struct MHD_Connection *c, const char *url,
                             const char *method)
{
    static const char prefix[] = "/api/v1/services/";
    struct tocsin_buf body = TOCSIN_BUF_INIT;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return json_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD are served",
                          MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (strcmp(url, "/health") == 0)
        return serve_health(h, c);
    if (h->token && !authorised(h, c)) {
        int given = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION) != NULL;

        return json_error(c, MHD_HTTP_UNAUTHORIZED,
                          given ? "the bearer token is not right"
                                : "a bearer token is required (Authorization: Bearer TOKEN)",
                          MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                          given ? "Bearer realm=\"tocsind\", error=\"invalid_token\""
                                : "Bearer realm=\"tocsind\"");
    }
    if (strcmp(url, "/") == 0)
        return serve_page(h, c);
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(h, c);
    if (strcmp(url, "/api/v1/services") == 0)
        return serve_services(h, c);
    if (strncmp(url, prefix, sizeof(prefix) - 1) == 0 && url[sizeof(prefix) - 1])
        return serve_service(h, c, url + sizeof(prefix) - 1);
    if (strncmp(url, "/api/", 5) == 0)
        return json_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint", NULL, NULL);
    tocsin_buf_puts(&body, "not found\n");
    return respond(c, MHD_HTTP_NOT_FOUND, CT_TEXT, &body, NULL, NULL);
}

/*
 * libmicrohttpd's request callback. It is called once when the headers are
 * in, then for each piece of a body, then once more at the end: GET and
 * HEAD are answered at that last call (so that the connection can be kept
 * alive), their bodies, if any, read and dropped. Any other method is
 * refused at once, without reading its body (the connection then closes).
 */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    static int headers_seen;
    struct tocsin_httpd *h = cls;
    int64_t t0 = tocsin_mono_us();
    enum MHD_Result ret;

    (void)version;
    (void)upload_data;
    if (!*req_cls && (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
                      strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)) {
        *req_cls = &headers_seen;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    h->requests++;
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
