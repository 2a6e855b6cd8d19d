/*
 * ssl-expiry.c - days left before a server's TLS certificate expires, and
 * whether the certificate is trusted and issued for the name asked for:
 *
 *   check = "ssl-expiry"
 *   host = "mail.example.org"
 *   port = 587
 *   starttls = "smtp"        # none, smtp, imap, pop3, postgres
 *   warning = "30:"          # days left: alert below 30
 *   critical = "7:"          # alert below 7
 *
 * The TCP connection, the protocol's own STARTTLS exchange and the TLS
 * handshake run on a non-blocking socket and wait with poll(), never past
 * the check's deadline. Only name resolution blocks (getaddrinfo() takes
 * no timeout); the worker's deadline bounds it.
 *
 * The chain is verified by OpenSSL during the handshake with time checks
 * turned off, so that trust and expiry are judged and reported apart:
 * an expired certificate reads as "expired 3 days ago", not as a chain
 * error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tocsin-plugin.h"

/* Bytes kept of one line of a STARTTLS exchange; longer lines are cut. */
#define SSL_EXPIRY_LINE_MAX 512

/* Names of the certificate listed on a hostname mismatch. */
#define SSL_EXPIRY_NAMES_SHOWN 3

/* Room for the first line, and for one long-output detail. */
#define SSL_EXPIRY_TEXT_MAX 2048

/* PostgreSQL's SSLRequest: length 8, then the request code 80877103. */
static const unsigned char ssl_expiry_pg_request[8] = {
    0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f
};

enum ssl_expiry_starttls {
    SSL_EXPIRY_PLAIN = 0,        /* TLS from the first byte */
    SSL_EXPIRY_SMTP,
    SSL_EXPIRY_IMAP,
    SSL_EXPIRY_POP3,
    SSL_EXPIRY_POSTGRES
};

static const char *const ssl_expiry_starttls_names[] = {
    "none", "smtp", "imap", "pop3", "postgres"
};

/* How the server is named in messages, per protocol. */
static const char *const ssl_expiry_server_kind[] = {
    "", "SMTP server", "IMAP server", "POP3 server", "PostgreSQL server"
};

struct ssl_expiry {
    char *host;                  /* name or address, as configured */
    char service[8];             /* the port as text, for getaddrinfo */
    char *peer;                  /* "host:port" ("[addr]:port" for IPv6) */
    char *sni;                   /* server name sent, or NULL for none */
    char *name;                  /* the name the certificate must match */
    int name_is_ip;              /* `name` is an address literal */
    enum ssl_expiry_starttls starttls;
    int family;                  /* AF_UNSPEC, AF_INET or AF_INET6 */
    int verify;                  /* judge trust and name, not only dates */
    int verify_hostname;         /* check `name` against the certificate */
    char *trust_source;          /* how the trust store is described */
    struct tocsin_thresholds days; /* on days left */
    SSL_CTX *ctx;                /* shared by every check of the instance */
};

/* One connection, for the span of one check. */
struct ssl_expiry_conn {
    const struct ssl_expiry *se;
    struct tocsin_check *chk;
    int fd;                      /* -1 when closed */
    char addr[INET6_ADDRSTRLEN]; /* the address connected to */
    char in[4096];               /* bytes received and not yet consumed */
    size_t in_len;
    char line[SSL_EXPIRY_LINE_MAX]; /* last line read, CRLF removed */
    int timed_out;               /* the deadline passed */
};

static cfg_opt_t ssl_expiry_options[] = {
    CFG_STR("host", 0, CFGF_NONE),
    CFG_INT("port", 443, CFGF_NONE),
    CFG_STR("sni", 0, CFGF_NONE),
    CFG_STR("starttls", "none", CFGF_NONE),
    TOCSIN_OPT_RANGE("warning", "30:"),
    TOCSIN_OPT_RANGE("critical", "7:"),
    CFG_STR("ca_file", 0, CFGF_NONE),
    CFG_BOOL("verify", cfg_true, CFGF_NONE),
    CFG_BOOL("verify_hostname", cfg_true, CFGF_NONE),
    CFG_STR("ip_version", "any", CFGF_NONE),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* 1 if `text` is an IPv4 or IPv6 address literal. */
static int ssl_expiry_is_ip(const char *text)
{
    unsigned char bin[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, text, bin) == 1 ||
           inet_pton(AF_INET6, text, bin) == 1;
}

/* Copy `n` bytes of peer-supplied text into `dst` (size `len`), each
 * control byte replaced by '?', so that a greeting or a certificate field
 * cannot break the output lines. Returns dst. */
static char *ssl_expiry_clean(char *dst, size_t len, const char *src, size_t n)
{
    size_t i;

    if (len == 0)
        return dst;
    for (i = 0; i < n && i + 1 < len; i++) {
        unsigned char c = (unsigned char)src[i];

        dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    dst[i] = '\0';
    return dst;
}

/* The reason for the first error in OpenSSL's queue, in words. */
static const char *ssl_expiry_openssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();
    const char *reason;

    if (e == 0) {
        snprintf(buf, len, "no reason given by OpenSSL");
        return buf;
    }
    reason = ERR_reason_error_string(e);
    if (ERR_GET_LIB(e) == ERR_LIB_SYS)
        snprintf(buf, len, "%s", strerror(ERR_GET_REASON(e)));
    else if (reason)
        snprintf(buf, len, "%s", reason);
    else
        ERR_error_string_n(e, buf, len);
    return buf;
}

/* "85 days", "1 day", "5 hours", "12 minutes": a span of `seconds` (>= 0)
 * in its largest whole unit, rounded down. */
static const char *ssl_expiry_span(double seconds, char *buf, size_t len)
{
    long n;
    const char *unit;

    if (seconds >= 86400) {
        n = (long)(seconds / 86400);
        unit = "day";
    } else if (seconds >= 3600) {
        n = (long)(seconds / 3600);
        unit = "hour";
    } else if (seconds >= 60) {
        n = (long)(seconds / 60);
        unit = "minute";
    } else {
        snprintf(buf, len, "less than a minute");
        return buf;
    }
    snprintf(buf, len, "%ld %s%s", n, unit, n == 1 ? "" : "s");
    return buf;
}

/* An ASN1_TIME as "2026-12-01" (with_time 0) or "2026-12-01 12:00:00 UTC". */
static const char *ssl_expiry_date(const ASN1_TIME *t, int with_time,
                                   char *buf, size_t len)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(buf, len, with_time ? "%Y-%m-%d %H:%M:%S UTC" : "%Y-%m-%d",
                 &tm) == 0)
        snprintf(buf, len, "an unreadable date");
    return buf;
}

/* Seconds from now to `t` (negative when `t` is past). Returns 0, or -1
 * when the time cannot be read. */
static int ssl_expiry_seconds_until(const ASN1_TIME *t, double *seconds)
{
    int days, secs;

    if (!t || !ASN1_TIME_diff(&days, &secs, NULL, t))
        return -1;
    *seconds = (double)days * 86400.0 + (double)secs;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void ssl_expiry_teardown(void *instance)
{
    struct ssl_expiry *se = instance;

    if (!se)
        return;
    SSL_CTX_free(se->ctx);
    free(se->host);
    free(se->peer);
    free(se->sni);
    free(se->name);
    free(se->trust_source);
    free(se);
    ERR_clear_error();
}

/* Make the TLS context: the trust store (ca_file, or the system's), and
 * chain verification without time checks, since expiry is judged apart.
 * The handshake itself never stops on a verification failure: the check
 * reads the outcome afterwards. Returns 0, or -1 with err. */
static int ssl_expiry_context(struct ssl_expiry *se, const char *ca_file,
                              char *err, size_t errlen)
{
    char why[256];
    size_t len;

    ERR_clear_error();
    se->ctx = SSL_CTX_new(TLS_client_method());
    if (!se->ctx) {
        snprintf(err, errlen, "cannot create a TLS context: %s",
                 ssl_expiry_openssl_reason(why, sizeof(why)));
        return -1;
    }
    SSL_CTX_set_verify(se->ctx, SSL_VERIFY_NONE, NULL);
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(se->ctx),
                                X509_V_FLAG_NO_CHECK_TIME);
    if (ca_file && *ca_file) {
        if (SSL_CTX_load_verify_locations(se->ctx, ca_file, NULL) != 1) {
            snprintf(err, errlen, "option 'ca_file': cannot load trusted "
                     "certificates from %s: %s", ca_file,
                     ERR_peek_error() ? ssl_expiry_openssl_reason(why, sizeof(why))
                                      : strerror(errno));
            return -1;
        }
        len = strlen(ca_file) + 16;
        se->trust_source = malloc(len);
        if (se->trust_source)
            snprintf(se->trust_source, len, "ca_file %s", ca_file);
    } else {
        if (SSL_CTX_set_default_verify_paths(se->ctx) != 1) {
            snprintf(err, errlen, "cannot load the system's trusted "
                     "certificates: %s",
                     ssl_expiry_openssl_reason(why, sizeof(why)));
            return -1;
        }
        se->trust_source = strdup("the system's trust store");
    }
    if (!se->trust_source) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ERR_clear_error();
    return 0;
}

/* Validate the options into a struct ssl_expiry owned by the instance.
 * Costs one load of the trust store. */
static int ssl_expiry_setup(cfg_t *options, void **instance, char *err,
                            size_t errlen)
{
    struct ssl_expiry *se;
    const char *host = cfg_getstr(options, "host");
    const char *sni = cfg_getstr(options, "sni");
    const char *starttls = cfg_getstr(options, "starttls");
    long port = cfg_getint(options, "port");
    const char *ip_version = cfg_getstr(options, "ip_version");
    size_t i, len;

    se = calloc(1, sizeof(*se));
    if (!se)
        goto oom;
    if (!host || !*host) {
        snprintf(err, errlen, "option 'host' is required: the name or "
                 "address of the server whose certificate is checked");
        goto fail;
    }
    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "option 'port': %ld is not between 1 and 65535",
                 port);
        goto fail;
    }
    snprintf(se->service, sizeof(se->service), "%ld", port);
    for (i = 0; i < sizeof(ssl_expiry_starttls_names) /
                    sizeof(ssl_expiry_starttls_names[0]); i++)
        if (starttls && strcasecmp(starttls, ssl_expiry_starttls_names[i]) == 0)
            break;
    if (i == sizeof(ssl_expiry_starttls_names) /
             sizeof(ssl_expiry_starttls_names[0])) {
        snprintf(err, errlen, "option 'starttls': \"%s\" is not one of none, "
                 "smtp, imap, pop3, postgres", starttls ? starttls : "");
        goto fail;
    }
    se->starttls = (enum ssl_expiry_starttls)i;
    if (!ip_version || strcmp(ip_version, "any") == 0) {
        se->family = AF_UNSPEC;
    } else if (strcmp(ip_version, "4") == 0) {
        se->family = AF_INET;
    } else if (strcmp(ip_version, "6") == 0) {
        se->family = AF_INET6;
    } else {
        snprintf(err, errlen, "option 'ip_version': \"%s\" is not any, 4 or 6",
                 ip_version);
        goto fail;
    }
    if (tocsin_option_thresholds(options, "warning", "critical", &se->days,
                                 err, errlen) < 0)
        goto fail;
    se->verify = cfg_getbool(options, "verify") ? 1 : 0;
    se->verify_hostname = cfg_getbool(options, "verify_hostname") ? 1 : 0;

    if (!(se->host = strdup(host)))
        goto oom;
    len = strlen(host) + sizeof(se->service) + 4;
    if (!(se->peer = malloc(len)))
        goto oom;
    snprintf(se->peer, len, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host,
             se->service);

    /* Server name: as given; else the host when it is a name. TLS sends
     * names only, never addresses. */
    if (sni && *sni && ssl_expiry_is_ip(sni)) {
        snprintf(err, errlen, "option 'sni': \"%s\" is an address; TLS "
                 "sends only names (leave sni unset to send none)", sni);
        goto fail;
    }
    if (!sni)
        sni = ssl_expiry_is_ip(host) ? "" : host;
    if (*sni && !(se->sni = strdup(sni)))
        goto oom;
    if (!(se->name = strdup(se->sni ? se->sni : host)))
        goto oom;
    se->name_is_ip = ssl_expiry_is_ip(se->name);

    if (ssl_expiry_context(se, cfg_getstr(options, "ca_file"), err, errlen) < 0)
        goto fail;
    *instance = se;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    ssl_expiry_teardown(se);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Deadline-bounded I/O                                                */
/* ------------------------------------------------------------------ */

/* How the server is named in messages: "127.0.0.1:443", or
 * "SMTP server at 127.0.0.1:25". */
static const char *ssl_expiry_who(const struct ssl_expiry *se, char *buf,
                                  size_t len)
{
    if (se->starttls == SSL_EXPIRY_PLAIN)
        snprintf(buf, len, "%s", se->peer);
    else
        snprintf(buf, len, "%s at %s", ssl_expiry_server_kind[se->starttls],
                 se->peer);
    return buf;
}

/* Report that the deadline passed while waiting for `what`. The service's
 * timeout state then applies; the text says where it stalled. */
static void ssl_expiry_timeout(struct ssl_expiry_conn *c, const char *what)
{
    char who[512];

    c->timed_out = 1;
    tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - no answer from "
                     "%s %s before the check's timeout",
                     ssl_expiry_who(c->se, who, sizeof(who)), what);
}

/* Wait until c->fd is ready for `events`, never past the deadline.
 * Returns 1 when ready, 0 when the deadline passed, -1 on a poll error
 * (errno set). */
static int ssl_expiry_wait(struct ssl_expiry_conn *c, short events)
{
    struct pollfd p;
    double left;
    int n, ms;

    for (;;) {
        left = tocsin_check_remaining(c->chk);
        if (left <= 0)
            return 0;
        p.fd = c->fd;
        p.events = events;
        p.revents = 0;
        /* Round up, so that a wait never ends just short of the deadline. */
        ms = left * 1000 < INT_MAX ? (int)(left * 1000) : INT_MAX;
        if (ms < INT_MAX && (double)ms < left * 1000)
            ms++;
        n = poll(&p, 1, ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n > 0)
            return 1;
    }
}

/* Connect to the first address of the host that accepts, each attempt
 * bounded by the deadline. Returns 0, or -1 with the result set. */
static int ssl_expiry_connect(struct ssl_expiry_conn *c)
{
    const struct ssl_expiry *se = c->se;
    struct addrinfo hints, *res = NULL, *ai;
    int rc, e = 0, soerr;
    socklen_t elen;
    char shown[96] = "";

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = se->family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(se->host, se->service, &hints, &res);
    if (rc != 0) {
        tocsin_check_set(c->chk, TOCSIN_UNKNOWN, "SSL UNKNOWN - cannot "
                         "resolve %s%s: %s", se->host,
                         se->family == AF_INET ? " to an IPv4 address" :
                         se->family == AF_INET6 ? " to an IPv6 address" : "",
                         rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, c->addr, sizeof(c->addr),
                        NULL, 0, NI_NUMERICHOST) != 0)
            snprintf(c->addr, sizeof(c->addr), "?");
        c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
                       SOCK_CLOEXEC, ai->ai_protocol);
        if (c->fd < 0) {
            e = errno;
            continue;
        }
        if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        e = errno;
        if (e == EINPROGRESS) {
            rc = ssl_expiry_wait(c, POLLOUT);
            if (rc == 0) {
                ssl_expiry_timeout(c, "to the connection request");
                freeaddrinfo(res);
                return -1;
            }
            e = rc < 0 ? errno : 0;
            if (rc > 0) {
                elen = sizeof(soerr);
                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) < 0)
                    e = errno;
                else
                    e = soerr;
            }
            if (e == 0)
                break;
        }
        close(c->fd);
        c->fd = -1;
    }
    freeaddrinfo(res);
    if (c->fd >= 0)
        return 0;
    if (strcmp(c->addr, se->host) != 0)
        snprintf(shown, sizeof(shown), " (%s)", c->addr);
    if (e == ECONNREFUSED)
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - connection "
                         "refused to %s%s", se->peer, shown);
    else
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - cannot "
                         "connect to %s%s: %s", se->peer, shown,
                         strerror(e ? e : EIO));
    return -1;
}

/* Send all of `data` before the deadline. Returns 0, or -1 with the
 * result set (`what` names the step in messages). */
static int ssl_expiry_send(struct ssl_expiry_conn *c, const void *data,
                           size_t len, const char *what)
{
    const char *p = data;
    char who[512];
    ssize_t n;
    int rc;

    while (len > 0) {
        n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rc = ssl_expiry_wait(c, POLLOUT);
            if (rc > 0)
                continue;
            if (rc == 0) {
                ssl_expiry_timeout(c, what);
                return -1;
            }
        }
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - cannot send "
                         "to %s: %s", ssl_expiry_who(c->se, who, sizeof(who)),
                         strerror(n < 0 ? errno : EIO));
        return -1;
    }
    return 0;
}

/* Receive more bytes into c->in before the deadline. Returns 0, or -1
 * with the result set; a closed connection is reported as closed
 * `what` ("before its greeting"). */
static int ssl_expiry_receive(struct ssl_expiry_conn *c, const char *what)
{
    char who[512];
    ssize_t n;
    int rc;

    for (;;) {
        n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            return 0;
        }
        if (n == 0) {
            tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - %s "
                             "closed the connection %s",
                             ssl_expiry_who(c->se, who, sizeof(who)), what);
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            rc = ssl_expiry_wait(c, POLLIN);
            if (rc > 0)
                continue;
            if (rc == 0) {
                ssl_expiry_timeout(c, what);
                return -1;
            }
        }
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - cannot read "
                         "from %s: %s", ssl_expiry_who(c->se, who, sizeof(who)),
                         strerror(errno));
        return -1;
    }
}

/* Read one line into c->line (CR LF removed, control bytes made '?', cut
 * at SSL_EXPIRY_LINE_MAX). Returns 0, or -1 with the result set. */
static int ssl_expiry_read_line(struct ssl_expiry_conn *c, const char *what)
{
    char *nl;
    size_t take, used;

    for (;;) {
        nl = memchr(c->in, '\n', c->in_len);
        if (nl || c->in_len == sizeof(c->in))
            break;
        if (ssl_expiry_receive(c, what) < 0)
            return -1;
    }
    used = nl ? (size_t)(nl - c->in) + 1 : c->in_len;
    take = nl ? (size_t)(nl - c->in) : c->in_len;
    if (take > 0 && c->in[take - 1] == '\r')
        take--;
    ssl_expiry_clean(c->line, sizeof(c->line), c->in, take);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    return 0;
}

/* ------------------------------------------------------------------ */
/* STARTTLS, each by its protocol's own exchange                       */
/* ------------------------------------------------------------------ */

/* Set "<server> <doing>: <its line>" as CRITICAL and return -1. */
static int ssl_expiry_refused(struct ssl_expiry_conn *c, const char *doing)
{
    char who[512];

    tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - %s %s: %s",
                     ssl_expiry_who(c->se, who, sizeof(who)), doing,
                     c->line[0] ? c->line : "(an empty line)");
    return -1;
}

/* Read one SMTP reply (its continuation lines too) into c->line, the
 * last line. Returns the reply code, or -1 with the result set. */
static int ssl_expiry_smtp_reply(struct ssl_expiry_conn *c, const char *what)
{
    for (;;) {
        if (ssl_expiry_read_line(c, what) < 0)
            return -1;
        if (strlen(c->line) < 3 || c->line[0] < '1' || c->line[0] > '5' ||
            c->line[1] < '0' || c->line[1] > '9' ||
            c->line[2] < '0' || c->line[2] > '9' ||
            (c->line[3] != '\0' && c->line[3] != ' ' && c->line[3] != '-'))
            return ssl_expiry_refused(c, "answered with something that is "
                                      "not SMTP");
        if (c->line[3] != '-')
            return (c->line[0] - '0') * 100 + (c->line[1] - '0') * 10 +
                   (c->line[2] - '0');
    }
}

/* SMTP (RFC 3207): greeting, EHLO, STARTTLS, expect 220. */
static int ssl_expiry_smtp(struct ssl_expiry_conn *c)
{
    char ehlo[300], me[256];
    int code;

    code = ssl_expiry_smtp_reply(c, "before its greeting");
    if (code < 0)
        return -1;
    if (code / 100 != 2)
        return ssl_expiry_refused(c, "refused the session");
    if (gethostname(me, sizeof(me)) != 0 || !*me)
        snprintf(me, sizeof(me), "localhost");
    me[sizeof(me) - 1] = '\0';
    snprintf(ehlo, sizeof(ehlo), "EHLO %s\r\n", me);
    if (ssl_expiry_send(c, ehlo, strlen(ehlo), "to EHLO") < 0)
        return -1;
    code = ssl_expiry_smtp_reply(c, "after EHLO");
    if (code < 0)
        return -1;
    if (code != 250)
        return ssl_expiry_refused(c, "rejected EHLO");
    if (ssl_expiry_send(c, "STARTTLS\r\n", 10, "to STARTTLS") < 0)
        return -1;
    code = ssl_expiry_smtp_reply(c, "after STARTTLS");
    if (code < 0)
        return -1;
    if (code != 220)
        return ssl_expiry_refused(c, "refused STARTTLS");
    return 0;
}

/* IMAP (RFC 3501): greeting, "a1 STARTTLS", expect "a1 OK". */
static int ssl_expiry_imap(struct ssl_expiry_conn *c)
{
    if (ssl_expiry_read_line(c, "before its greeting") < 0)
        return -1;
    if (strncasecmp(c->line, "* BYE", 5) == 0)
        return ssl_expiry_refused(c, "refused the session");
    if (strncasecmp(c->line, "* OK", 4) != 0 &&
        strncasecmp(c->line, "* PREAUTH", 9) != 0)
        return ssl_expiry_refused(c, "answered with something that is not "
                                  "IMAP");
    if (ssl_expiry_send(c, "a1 STARTTLS\r\n", 13, "to STARTTLS") < 0)
        return -1;
    for (;;) {
        if (ssl_expiry_read_line(c, "after STARTTLS") < 0)
            return -1;
        if (strncmp(c->line, "* ", 2) == 0)
            continue;               /* untagged data before the answer */
        if (strncmp(c->line, "a1 ", 3) != 0)
            return ssl_expiry_refused(c, "answered STARTTLS with something "
                                      "that is not IMAP");
        if (strncasecmp(c->line + 3, "OK", 2) != 0)
            return ssl_expiry_refused(c, "refused STARTTLS");
        return 0;
    }
}

/* POP3 (RFC 2595): greeting, STLS, expect "+OK". */
static int ssl_expiry_pop3(struct ssl_expiry_conn *c)
{
    if (ssl_expiry_read_line(c, "before its greeting") < 0)
        return -1;
    if (strncmp(c->line, "-ERR", 4) == 0)
        return ssl_expiry_refused(c, "refused the session");
    if (strncmp(c->line, "+OK", 3) != 0)
        return ssl_expiry_refused(c, "answered with something that is not "
                                  "POP3");
    if (ssl_expiry_send(c, "STLS\r\n", 6, "to STLS") < 0)
        return -1;
    if (ssl_expiry_read_line(c, "after STLS") < 0)
        return -1;
    if (strncmp(c->line, "+OK", 3) != 0)
        return ssl_expiry_refused(c, "refused STLS");
    return 0;
}

/* PostgreSQL: an SSLRequest packet, answered by one byte, 'S' to go on. */
static int ssl_expiry_postgres(struct ssl_expiry_conn *c)
{
    char who[512], answer;

    if (ssl_expiry_send(c, ssl_expiry_pg_request,
                        sizeof(ssl_expiry_pg_request), "to the SSL request") < 0)
        return -1;
    if (ssl_expiry_receive(c, "after the SSL request") < 0)
        return -1;
    answer = c->in[0];
    if (answer == 'S' && c->in_len == 1) {
        c->in_len = 0;
        return 0;
    }
    ssl_expiry_who(c->se, who, sizeof(who));
    if (answer == 'N')
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - %s does not "
                         "accept TLS connections (it answered N to the SSL "
                         "request: ssl is off)", who);
    else if (answer == 'E')
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - %s answered "
                         "the SSL request with an error", who);
    else
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - %s answered "
                         "the SSL request with something that is not "
                         "PostgreSQL", who);
    return -1;
}

/* Run the configured STARTTLS exchange. Bytes the server sent past its
 * go-ahead would be taken for TLS by no one: refused, like a server
 * answering out of turn. Returns 0, or -1 with the result set. */
static int ssl_expiry_starttls(struct ssl_expiry_conn *c)
{
    char who[512];
    int rc;

    switch (c->se->starttls) {
    case SSL_EXPIRY_SMTP: rc = ssl_expiry_smtp(c); break;
    case SSL_EXPIRY_IMAP: rc = ssl_expiry_imap(c); break;
    case SSL_EXPIRY_POP3: rc = ssl_expiry_pop3(c); break;
    case SSL_EXPIRY_POSTGRES: rc = ssl_expiry_postgres(c); break;
    default: return 0;
    }
    if (rc == 0 && c->in_len > 0) {
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - %s sent "
                         "data after agreeing to start TLS, before the TLS "
                         "handshake", ssl_expiry_who(c->se, who, sizeof(who)));
        return -1;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* TLS                                                                 */
/* ------------------------------------------------------------------ */

/* 1 if the error OpenSSL raised means the peer answered with something
 * other than TLS (a plain-text service on the port). */
static int ssl_expiry_not_tls(unsigned long e)
{
    if (ERR_GET_LIB(e) != ERR_LIB_SSL)
        return 0;
    switch (ERR_GET_REASON(e)) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_UNEXPECTED_RECORD:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
        return 1;
    default:
        return 0;
    }
}

/* The TLS handshake on the connected socket, sending the server name.
 * Returns the SSL (caller frees), or NULL with the result set. */
static SSL *ssl_expiry_handshake(struct ssl_expiry_conn *c)
{
    const struct ssl_expiry *se = c->se;
    char who[512], why[256];
    unsigned long e;
    SSL *ssl;
    int rc, err, saved;

    ssl_expiry_who(se, who, sizeof(who));
    ERR_clear_error();
    ssl = SSL_new(se->ctx);
    if (!ssl || SSL_set_fd(ssl, c->fd) != 1 ||
        (se->sni && SSL_set_tlsext_host_name(ssl, se->sni) != 1)) {
        tocsin_check_set(c->chk, TOCSIN_UNKNOWN, "SSL UNKNOWN - cannot "
                         "prepare the TLS connection: %s",
                         ssl_expiry_openssl_reason(why, sizeof(why)));
        goto fail;
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        rc = SSL_connect(ssl);
        if (rc == 1)
            return ssl;
        saved = errno;
        err = SSL_get_error(ssl, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            rc = ssl_expiry_wait(c, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
            if (rc > 0)
                continue;
            if (rc == 0) {
                ssl_expiry_timeout(c, "during the TLS handshake");
                goto fail;
            }
            saved = errno;
            err = SSL_ERROR_SYSCALL;
        }
        break;
    }
    e = ERR_peek_error();
    if (err == SSL_ERROR_SYSCALL && e == 0 && saved == ECONNRESET)
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - %s reset "
                         "the connection during the TLS handshake", who);
    else if (err == SSL_ERROR_SYSCALL && e == 0 && saved != 0)
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - TLS "
                         "handshake with %s failed: %s", who, strerror(saved));
    else if ((err == SSL_ERROR_SYSCALL && e == 0) ||
             err == SSL_ERROR_ZERO_RETURN ||
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
             (ERR_GET_LIB(e) == ERR_LIB_SSL &&
              ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
#endif
             0)
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - %s closed "
                         "the connection during the TLS handshake (does it "
                         "speak TLS on port %s?)", who, se->service);
    else if (ssl_expiry_not_tls(e))
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - %s does not "
                         "speak TLS: it answered the TLS handshake with "
                         "something else (%s)", who,
                         ssl_expiry_openssl_reason(why, sizeof(why)));
    else
        tocsin_check_set(c->chk, TOCSIN_CRITICAL, "SSL CRITICAL - TLS "
                         "handshake with %s failed: %s", who,
                         ssl_expiry_openssl_reason(why, sizeof(why)));
fail:
    SSL_free(ssl);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Judging the certificate                                             */
/* ------------------------------------------------------------------ */

/* An X509 name in its own order ("O=Example, CN=example.org"), as
 * `openssl x509 -subject` shows it, into buf; control bytes made '?'. */
static const char *ssl_expiry_dn(const X509_NAME *dn, char *buf, size_t len)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *data;
    long n;

    snprintf(buf, len, "(unreadable)");
    if (!mem)
        return buf;
    if (X509_NAME_print_ex(mem, dn, 0,
                           (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) |
                           XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN) >= 0) {
        n = BIO_get_mem_data(mem, &data);
        if (n >= 0)
            ssl_expiry_clean(buf, len, data, (size_t)n);
    }
    BIO_free(mem);
    return buf;
}

/* The certificate's names: its subjectAltName DNS names and addresses,
 * or its subject CN when it has none, as "a, b, c" into buf. With
 * `shown` > 0, at most that many, then "and N more". Returns the count. */
static size_t ssl_expiry_names(X509 *cert, size_t shown, int tagged,
                               char *buf, size_t len)
{
    GENERAL_NAMES *alt;
    const GENERAL_NAME *g;
    char one[300], ip[INET6_ADDRSTRLEN];
    size_t used = 0, count = 0;
    int i, n;

    buf[0] = '\0';
    alt = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    n = alt ? sk_GENERAL_NAME_num(alt) : 0;
    for (i = 0; i < n; i++) {
        g = sk_GENERAL_NAME_value(alt, i);
        if (g->type == GEN_DNS) {
            char dns[256];

            ssl_expiry_clean(dns, sizeof(dns),
                             (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                             (size_t)ASN1_STRING_length(g->d.dNSName));
            snprintf(one, sizeof(one), "%s%s", tagged ? "DNS:" : "", dns);
        } else if (g->type == GEN_IPADD) {
            int alen = ASN1_STRING_length(g->d.iPAddress);
            const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);

            if (!inet_ntop(alen == 4 ? AF_INET : AF_INET6, a, ip, sizeof(ip)) ||
                (alen != 4 && alen != 16))
                snprintf(ip, sizeof(ip), "(bad address)");
            snprintf(one, sizeof(one), "%s%s", tagged ? "IP:" : "", ip);
        } else {
            continue;
        }
        if (shown == 0 || count < shown)
            tocsin_append(buf, len, &used, "%s%s", count ? ", " : "", one);
        count++;
    }
    GENERAL_NAMES_free(alt);
    if (count == 0) {
        X509_NAME *subject = X509_get_subject_name(cert);
        int at = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName,
                                                      -1) : -1;
        unsigned char *utf8 = NULL;
        int ulen;

        if (at >= 0 &&
            (ulen = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
                 X509_NAME_get_entry(subject, at)))) >= 0) {
            ssl_expiry_clean(one, sizeof(one), (const char *)utf8, (size_t)ulen);
            tocsin_append(buf, len, &used, "%s%s", tagged ? "CN:" : "", one);
            count++;
        }
        OPENSSL_free(utf8);
    }
    if (shown > 0 && count > shown)
        tocsin_append(buf, len, &used, " and %zu more", count - shown);
    if (count == 0)
        snprintf(buf, len, "no name");
    return count;
}

/* Describe the certificate and the connection in long output. */
static void ssl_expiry_details(const struct ssl_expiry *se, SSL *ssl,
                               X509 *cert, struct tocsin_check *chk)
{
    char text[SSL_EXPIRY_TEXT_MAX], from[64], to[64];

    tocsin_check_long(chk, "subject: %s",
                      ssl_expiry_dn(X509_get_subject_name(cert), text,
                                    sizeof(text)));
    ssl_expiry_names(cert, 0, 1, text, sizeof(text));
    tocsin_check_long(chk, "names: %s", text);
    tocsin_check_long(chk, "issuer: %s",
                      ssl_expiry_dn(X509_get_issuer_name(cert), text,
                                    sizeof(text)));
    tocsin_check_long(chk, "valid from %s to %s",
                      ssl_expiry_date(X509_get0_notBefore(cert), 1, from,
                                      sizeof(from)),
                      ssl_expiry_date(X509_get0_notAfter(cert), 1, to,
                                      sizeof(to)));
    tocsin_check_long(chk, "connection: %s, %s%s%s%s%s", SSL_get_version(ssl),
                      SSL_get_cipher_name(ssl),
                      se->starttls ? ", STARTTLS (" : "",
                      se->starttls ? ssl_expiry_starttls_names[se->starttls] : "",
                      se->starttls ? ")" : "",
                      se->sni ? "" : ", no server name sent");
    if (se->verify) {
        STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
        int i, n = chain ? sk_X509_num(chain) : 0;

        for (i = 1; i < n; i++) {
            X509 *ca = sk_X509_value(chain, i);

            tocsin_check_long(chk, "chain %d: %s, valid to %s", i,
                              ssl_expiry_dn(X509_get_subject_name(ca), text,
                                            sizeof(text)),
                              ssl_expiry_date(X509_get0_notAfter(ca), 1, to,
                                              sizeof(to)));
        }
    }
    if (!se->verify)
        tocsin_check_long(chk, "trust and name not checked (verify is off)");
    else
        tocsin_check_long(chk, "trust checked against %s%s", se->trust_source,
                          se->verify_hostname ? "" :
                          "; name not checked (verify_hostname is off)");
}

/* The CA certificates of the verified chain were checked without their
 * dates, like the leaf. Describe into buf the first one that is expired
 * or not yet valid and return 1; return 0 when all are in their validity
 * period. */
static int ssl_expiry_chain_dates(SSL *ssl, char *buf, size_t len)
{
    STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
    char dn[512], span[64], date[64];
    double left, before;
    X509 *ca;
    int i, n = chain ? sk_X509_num(chain) : 0;

    for (i = 1; i < n; i++) {
        ca = sk_X509_value(chain, i);
        if (ssl_expiry_seconds_until(X509_get0_notAfter(ca), &left) < 0 ||
            ssl_expiry_seconds_until(X509_get0_notBefore(ca), &before) < 0) {
            snprintf(buf, len, "cannot read the validity dates of CA "
                     "certificate %s",
                     ssl_expiry_dn(X509_get_subject_name(ca), dn, sizeof(dn)));
            return 1;
        }
        if (left <= 0) {
            snprintf(buf, len, "CA certificate %s expired %s ago (%s)",
                     ssl_expiry_dn(X509_get_subject_name(ca), dn, sizeof(dn)),
                     ssl_expiry_span(-left, span, sizeof(span)),
                     ssl_expiry_date(X509_get0_notAfter(ca), 0, date,
                                     sizeof(date)));
            return 1;
        }
        if (before > 0) {
            snprintf(buf, len, "CA certificate %s is not valid before %s",
                     ssl_expiry_dn(X509_get_subject_name(ca), dn, sizeof(dn)),
                     ssl_expiry_date(X509_get0_notBefore(ca), 1, date,
                                     sizeof(date)));
            return 1;
        }
    }
    return 0;
}

/* Judge the certificate: dates, trust, name, then the thresholds on days
 * left. Every problem found goes on the first line, worst first; the
 * thresholds speak only when nothing else is wrong or they alert too. */
static void ssl_expiry_judge(const struct ssl_expiry *se, SSL *ssl, X509 *cert,
                             struct tocsin_check *chk)
{
    char first[SSL_EXPIRY_TEXT_MAX], names[SSL_EXPIRY_TEXT_MAX];
    char span[64], date[64];
    enum tocsin_state state = TOCSIN_OK, by_days;
    double left, before, days;
    long long hundredths;
    size_t used = 0;
    long result;
    int match;

    if (ssl_expiry_seconds_until(X509_get0_notAfter(cert), &left) < 0 ||
        ssl_expiry_seconds_until(X509_get0_notBefore(cert), &before) < 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "SSL UNKNOWN - cannot read the "
                         "validity dates of the certificate for %s", se->host);
        return;
    }
    /* Days left, rounded down to hundredths: what perfdata shows is what
     * the thresholds judged. */
    hundredths = (long long)(left / 864.0);
    if ((double)hundredths > left / 864.0)
        hundredths--;
    days = (double)hundredths / 100.0;
    tocsin_check_perf(chk, "days", days, "", &se->days, 0, 0, 0);
    first[0] = '\0';

    if (left <= 0) {
        state = TOCSIN_CRITICAL;
        tocsin_append(first, sizeof(first), &used,
                           "certificate for %s expired %s ago (%s)", se->host,
                           ssl_expiry_span(-left, span, sizeof(span)),
                           ssl_expiry_date(X509_get0_notAfter(cert), 0, date,
                                           sizeof(date)));
    } else if (before > 0) {
        state = TOCSIN_CRITICAL;
        tocsin_append(first, sizeof(first), &used,
                           "certificate for %s is not valid before %s (in %s)",
                           se->host,
                           ssl_expiry_date(X509_get0_notBefore(cert), 1, date,
                                           sizeof(date)),
                           ssl_expiry_span(before, span, sizeof(span)));
    }
    if (se->verify) {
        result = SSL_get_verify_result(ssl);
        if (result != X509_V_OK) {
            state = TOCSIN_CRITICAL;
            tocsin_append(first, sizeof(first), &used,
                               "%scertificate for %s is not trusted: %s",
                               used ? "; " : "", se->host,
                               X509_verify_cert_error_string(result));
        } else if (ssl_expiry_chain_dates(ssl, names, sizeof(names))) {
            state = TOCSIN_CRITICAL;
            tocsin_append(first, sizeof(first), &used,
                               "%scertificate for %s is not trusted: %s",
                               used ? "; " : "", se->host, names);
        }
    }
    if (se->verify && se->verify_hostname) {
        match = se->name_is_ip ? X509_check_ip_asc(cert, se->name, 0)
                               : X509_check_host(cert, se->name, 0, 0, NULL);
        if (match != 1) {
            state = match == 0 ? TOCSIN_CRITICAL
                               : tocsin_state_worst(state, TOCSIN_UNKNOWN);
            if (match == 0) {
                ssl_expiry_names(cert, SSL_EXPIRY_NAMES_SHOWN, 0, names,
                                 sizeof(names));
                tocsin_append(first, sizeof(first), &used,
                                   "%scertificate is for %s, not %s",
                                   used ? "; " : "", names, se->name);
            } else {
                tocsin_append(first, sizeof(first), &used,
                                   "%scannot match %s against the "
                                   "certificate's names", used ? "; " : "",
                                   se->name);
            }
        }
    }
    if (left > 0) {
        by_days = tocsin_thresholds_eval(&se->days, days);
        ssl_expiry_span(left, span, sizeof(span));
        ssl_expiry_date(X509_get0_notAfter(cert), 0, date, sizeof(date));
        if (used == 0)
            tocsin_append(first, sizeof(first), &used,
                               "certificate for %s expires in %s (%s)",
                               se->host, span, date);
        else if (by_days != TOCSIN_OK)
            tocsin_append(first, sizeof(first), &used,
                               "; it expires in %s (%s)", span, date);
        state = tocsin_state_worst(state, by_days);
    }
    tocsin_check_set(chk, state, "SSL %s - %s", tocsin_state_name(state), first);
    ssl_expiry_details(se, ssl, cert, chk);
}

/* ------------------------------------------------------------------ */
/* The check                                                           */
/* ------------------------------------------------------------------ */

/* Connect, STARTTLS if configured, handshake, judge the leaf certificate.
 * Costs one connection, one handshake and a few small allocations. */
static void ssl_expiry_check(void *instance, struct tocsin_check *chk)
{
    const struct ssl_expiry *se = instance;
    struct ssl_expiry_conn c;
    struct sigaction ignore, saved;
    int restore;
    SSL *ssl = NULL;
    X509 *cert = NULL;
    char who[512];

    memset(&c, 0, sizeof(c));
    c.se = se;
    c.chk = chk;
    c.fd = -1;
    /* Standalone, a peer closing early must not kill us with SIGPIPE
     * (OpenSSL writes with write()). */
    memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    restore = sigaction(SIGPIPE, &ignore, &saved) == 0;

    if (tocsin_check_remaining(chk) <= 0) {
        c.timed_out = 1;
        tocsin_check_set(chk, TOCSIN_CRITICAL, "SSL CRITICAL - no time left "
                         "to check %s", se->peer);
        goto out;
    }
    if (ssl_expiry_connect(&c) < 0 || ssl_expiry_starttls(&c) < 0)
        goto out;
    ssl = ssl_expiry_handshake(&c);
    if (!ssl)
        goto out;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    cert = SSL_get1_peer_certificate(ssl);
#else
    cert = SSL_get_peer_certificate(ssl);
#endif
    if (!cert) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "SSL CRITICAL - %s sent no "
                         "certificate", ssl_expiry_who(se, who, sizeof(who)));
        goto out;
    }
    ssl_expiry_judge(se, ssl, cert, chk);
    /* Say goodbye without waiting for the answer. */
    (void)SSL_shutdown(ssl);

out:
    X509_free(cert);
    SSL_free(ssl);
    if (c.fd >= 0)
        close(c.fd);
    if (c.timed_out)
        tocsin_check_timed_out(chk);
    ERR_clear_error();
    if (restore)
        sigaction(SIGPIPE, &saved, NULL);
}

/* Descriptions for --help; docs/check-ssl-expiry.md tells more. */
static const struct tocsin_option_help ssl_expiry_help[] = {
    { "host", "HOST",
      "name or address of the server" },
    { "port", "PORT",
      "TCP port" },
    { "sni", NULL,
      "server name sent in the TLS handshake, and the name the certificate must "
      "match" },
    { "starttls", NULL,
      "none (TLS at once), smtp, imap, pop3, postgres" },
    { "warning", NULL,
      "on days left: WARNING below 30" },
    { "critical", NULL,
      "on days left: CRITICAL below 7" },
    { "ca_file", "FILE",
      "PEM file of the CAs to trust instead" },
    { "verify", NULL,
      "judge trust and name" },
    { "verify_hostname", NULL,
      "with verify, check the name: X509_check_host() for a name" },
    { "ip_version", NULL,
      "any, 4 (IPv4 only) or 6 (IPv6 only), as for http" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "ssl-expiry",
    .version = "0.1.0",
    .summary = "days left before a server's TLS certificate expires, its trust and its name",
    .options = ssl_expiry_options,
    .help = ssl_expiry_help,
    .setup = ssl_expiry_setup,
    .teardown = ssl_expiry_teardown,
    .check = ssl_expiry_check,
);
