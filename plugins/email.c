/*
 * email.c - a notifier that sends one mail per alert over SMTP, through
 * libcurl:
 *
 *   notifier "mail" {
 *       plugin = "email"
 *       url = "smtp://mail.example.org:587"
 *       user = "tocsin"
 *       password_file = "/etc/tocsin/smtp-password"
 *       from = "Tocsin <tocsin@example.org>"
 *       to = { "ops@example.org", "Jane Doe <jane@example.org>" }
 *   }
 *
 * The mail is text/plain in UTF-8 with the headers mail clients and filters
 * expect: Date, Message-ID, From, To, Subject (RFC 2047 encoded when it is
 * not ASCII), MIME-Version, Content-Type, Content-Transfer-Encoding (7bit,
 * or quoted-printable for non-ASCII text and long lines), Auto-Submitted
 * and X-Tocsin-* headers. Every mail of one incident carries the same
 * thread root in References, and the mail that opens the incident has that
 * root as its Message-ID, so a recovery threads under its problem.
 *
 * One libcurl handle per instance, made at setup; libcurl keeps the SMTP
 * connection open between mails (for at most EMAIL_CONN_MAXAGE seconds
 * idle) and does the dot-stuffing of the message itself.
 */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "tocsin-plugin.h"
#include "common/curl-client.h"

#define EMAIL_VERSION "0.1.0"

#define EMAIL_SUBJECT_DEFAULT "[Tocsin] {status}: {service} on {host}"
#define EMAIL_BODY_DEFAULT \
    "{status}: {service} on {host}\n" \
    "\n" \
    "{output}\n" \
    "{long_output}\n" \
    "State:     {state} (was {previous}), severity {severity}\n" \
    "Problem:   since {problem_since}, {duration}\n" \
    "Labels:    {labels}\n" \
    "Link:      {link}\n" \
    "Reason:    {reason}\n" \
    "Incident:  {incident}\n"

/* An idle SMTP connection is reused for this many seconds at most: well
 * under the five minutes servers must wait before closing one. */
#define EMAIL_CONN_MAXAGE 60L

/* Longest line of a message body sent as 7bit (RFC 5322 allows 998). */
#define EMAIL_LINE_MAX 998

/* Longest server reply or command kept for messages. */
#define EMAIL_SHOW_MAX 200

/* Characters of an RFC 2047 encoded-word: "=?UTF-8?Q?" ... "?=". */
#define EMAIL_WORD_MAX 75
#define EMAIL_WORD_OVERHEAD 12

/* The separator between alerts told in one mail. */
#define EMAIL_SEPARATOR \
    "------------------------------------------------------------------------\n"

enum email_tls {
    EMAIL_TLS_AUTO,        /* required, except off for a loopback host */
    EMAIL_TLS_REQUIRED,
    EMAIL_TLS_OPTIONAL,
    EMAIL_TLS_OFF
};

/* One address: the bare address for the envelope, the optional display
 * name for the header. */
struct email_addr {
    char *addr;            /* "jane@example.org" */
    char *name;            /* "Jane Doe", or NULL */
};

struct email {
    CURL *curl;                    /* reused for every mail */
    struct curl_slist *rcpts;      /* "<addr>" per recipient */
    char *url;                     /* as configured */
    char *peer;                    /* "host:port", for messages */
    struct email_addr from;
    struct email_addr *to;
    size_t nto;
    char *user;                    /* for messages; libcurl has its copy */
    char *subject;                 /* template */
    char *body;                    /* template */
    char *domain;                  /* right side of Message-IDs */
    unsigned long sent;            /* mails composed, for unique IDs */
    int curl_ready;                /* curl_global_init() succeeded */

    /* What one transfer gathers; reset before each. */
    char errbuf[CURL_ERROR_SIZE];
    char reply[EMAIL_SHOW_MAX + 1];   /* last reply line of the server */
    char command[EMAIL_SHOW_MAX + 1]; /* last command sent ("AUTH" for any
                                         part of the login exchange) */
    int in_auth;                   /* the login exchange is under way */
    const char *msg;               /* the message being uploaded */
    size_t msg_len;
    size_t msg_off;
};

static cfg_opt_t email_options[] = {
    CFG_STR("url", "smtp://localhost", CFGF_NONE),
    CFG_STR("starttls", "auto", CFGF_NONE),
    TOCSIN_CURL_OPTS_BASIC,
    CFG_STR("from", "", CFGF_NONE),
    CFG_STR_LIST("to", "{}", CFGF_NONE),
    CFG_STR("subject", EMAIL_SUBJECT_DEFAULT, CFGF_NONE),
    CFG_STR("template", EMAIL_BODY_DEFAULT, CFGF_NONE),
    TOCSIN_CURL_OPT_CA_FILE,
    TOCSIN_CURL_OPT_INSECURE,
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* Copy `n` bytes of server or command text into `out` (a buffer of
 * EMAIL_SHOW_MAX + 1 bytes) without its line end, control characters
 * replaced by '?'. */
static void email_keep(char *out, const char *s, size_t n)
{
    size_t i, used = 0;

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    for (i = 0; i < n && used < EMAIL_SHOW_MAX; i++) {
        unsigned char c = (unsigned char)s[i];

        out[used++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[used] = '\0';
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

/* 1 when `a` (len bytes) is an address we can put in an envelope and a
 * header as it is: local@domain in printable ASCII, without spaces or the
 * characters that would need quoting. */
static int email_valid_addr(const char *a, size_t len)
{
    const char *at = memchr(a, '@', len);
    size_t i;

    if (!at || at == a || at == a + len - 1 || memchr(at + 1, '@', len - (size_t)(at - a) - 1))
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)a[i];

        if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\\\"", c))
            return 0;
    }
    return 1;
}

/* Trim spaces around s[0..*n) in place: returns the new start. */
static const char *email_trim(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

/*
 * Parse "jane@example.org" or "Jane Doe <jane@example.org>" (the name
 * may be quoted) from option `what` into `out`, whose strings the caller
 * frees. Returns 0, or -1 with a reason in err.
 */
static int email_parse_addr(const char *text, const char *what,
                            struct email_addr *out, char *err, size_t errlen)
{
    const char *lt = strchr(text, '<'), *gt, *name = NULL, *addr = text;
    size_t nlen = 0, alen = strlen(text), i;

    out->addr = out->name = NULL;
    if (lt) {
        gt = strchr(lt, '>');
        if (!gt || gt[1 + strspn(gt + 1, " \t")] != '\0')
            goto bad;
        nlen = (size_t)(lt - text);
        name = email_trim(text, &nlen);
        if (nlen >= 2 && name[0] == '"' && name[nlen - 1] == '"') {
            name++;
            nlen -= 2;
        }
        addr = lt + 1;
        alen = (size_t)(gt - addr);
    }
    addr = email_trim(addr, &alen);
    if (!email_valid_addr(addr, alen))
        goto bad;
    for (i = 0; i < nlen; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            goto bad;
    if (!(out->addr = strndup(addr, alen)) ||
        (nlen && !(out->name = strndup(name, nlen)))) {
        free(out->addr);
        out->addr = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
bad:
    snprintf(err, errlen, "option '%s': \"%s\" is not an address such as "
             "ops@example.org or \"Ops <ops@example.org>\" (ASCII, no spaces "
             "in the address)", what, text);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Writing the message                                                 */
/* ------------------------------------------------------------------ */

/* Bytes in the UTF-8 sequence that starts with byte c (1 for anything
 * that does not start one, so bad input goes byte by byte). */
static size_t email_utf8_len(unsigned char c)
{
    if (c >= 0xf0 && c < 0xf8)
        return 4;
    if (c >= 0xe0)
        return c < 0xf0 ? 3 : 1;
    if (c >= 0xc0)
        return 2;
    return 1;
}

/*
 * Write `text` as the value of a header that already has `used`
 * characters on its line. Printable ASCII goes as it is; anything else
 * (non-ASCII, or a line past 998 characters) becomes RFC 2047
 * encoded-words ("=?UTF-8?Q?...?=") of at most 75 characters on folded
 * lines, never splitting a UTF-8 sequence. Control characters must have
 * been replaced before.
 */
static void email_put_text(FILE *f, const char *text, size_t used)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i, n = strlen(text), word = 0;
    int plain = used + n <= EMAIL_LINE_MAX && !strstr(text, "=?");

    for (i = 0; plain && i < n; i++)
        if (p[i] < 0x20 || p[i] >= 0x7f)
            plain = 0;
    if (plain) {
        fputs(text, f);
        return;
    }
    for (i = 0; i < n;) {
        size_t seq = email_utf8_len(p[i]), need = 0, k;

        if (i + seq > n)
            seq = 1;
        for (k = 0; k < seq; k++) {
            unsigned char c = p[i + k];

            need += (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == ' ' || strchr("!*+-/", c) ? 1 : 3;
        }
        if (word && word + need > EMAIL_WORD_MAX - EMAIL_WORD_OVERHEAD) {
            fputs("?=\r\n ", f);
            word = 0;
        }
        if (!word)
            fputs("=?UTF-8?Q?", f);
        for (k = 0; k < seq; k++) {
            unsigned char c = p[i + k];

            if (c == ' ')
                fputc('_', f);
            else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || strchr("!*+-/", c))
                fputc(c, f);
            else
                fprintf(f, "=%02X", c);
        }
        word += need;
        i += seq;
    }
    if (word)
        fputs("?=", f);
}

/* Replace control characters (line breaks from a template) by spaces, and
 * trim. Works in place; returns s. */
static char *email_one_line(char *s)
{
    char *p, *end;

    for (p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    for (p = s; *p == ' '; p++)
        ;
    memmove(s, p, strlen(p) + 1);
    for (end = s + strlen(s); end > s && end[-1] == ' '; end--)
        ;
    *end = '\0';
    return s;
}

/* "Name <addr>" or "addr" for a From or To header; a name that is not
 * plain ASCII becomes an encoded-word, a plain one a quoted string. */
static void email_put_addr(FILE *f, const struct email_addr *a)
{
    const char *c;
    int ascii = 1;

    if (!a->name) {
        fputs(a->addr, f);
        return;
    }
    for (c = a->name; *c; c++)
        if ((unsigned char)*c >= 0x7f)
            ascii = 0;
    if (ascii) {
        fputc('"', f);
        for (c = a->name; *c; c++) {
            if (*c == '"' || *c == '\\')
                fputc('\\', f);
            fputc(*c, f);
        }
        fputc('"', f);
    } else {
        email_put_text(f, a->name, EMAIL_LINE_MAX);
    }
    fprintf(f, " <%s>", a->addr);
}

/* RFC 5322 date of `t` in UTC, independent of the locale. */
static void email_put_date(FILE *f, time_t t)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;

    if (!gmtime_r(&t, &tm)) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    fprintf(f, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
            tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
            tm.tm_sec);
}

/* The thread root of an incident: "<tocsin.HASH@domain>". */
static void email_root_id(const struct email *e, const char *incident, char *out,
                          size_t outlen)
{
    snprintf(out, outlen, "<tocsin.%016llx%016llx@%s>",
             (unsigned long long)tocsin_fnv1a(TOCSIN_FNV1A_INIT, incident),
             (unsigned long long)tocsin_fnv1a(0x84222325cbf29ce4ULL, incident),
             e->domain);
}

/* A Message-ID no other mail has: time, process, counter and randomness. */
static void email_unique_id(struct email *e, char *out, size_t outlen)
{
    struct timespec now;
    uint32_t r = 0;

    clock_gettime(CLOCK_REALTIME, &now);
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = 0;
    snprintf(out, outlen, "<tocsin.%lld.%09ld.%ld.%lu.%08x@%s>", (long long)now.tv_sec,
             now.tv_nsec, (long)getpid(), ++e->sent, (unsigned)r, e->domain);
}

/* 1 when every line of `body` is printable ASCII (or tab) and at most
 * EMAIL_LINE_MAX bytes: it can go as 7bit. */
static int email_is_7bit(const char *body)
{
    size_t col = 0;

    for (; *body; body++) {
        unsigned char c = (unsigned char)*body;

        if (c == '\n') {
            col = 0;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c >= 0x7f || ++col > EMAIL_LINE_MAX)
            return 0;
    }
    return 1;
}

/*
 * Write `body` (lines ended by "\n", "\r\n" or "\r") with CRLF line ends,
 * as it is (`qp` 0) or quoted-printable (RFC 2045: lines of at most 76
 * characters, soft breaks "=", '=' and bytes outside printable ASCII as
 * =XX, a space or tab at the end of a line encoded).
 */
static void email_put_body(FILE *f, const char *body, int qp)
{
    const unsigned char *p = (const unsigned char *)body;
    size_t col = 0;

    while (*p) {
        unsigned char c = *p;
        int eol;

        if (c == '\r' || c == '\n') {
            fputs("\r\n", f);
            col = 0;
            p += c == '\r' && p[1] == '\n' ? 2 : 1;
            continue;
        }
        if (!qp) {
            fputc(c, f);
            p++;
            continue;
        }
        eol = p[1] == '\0' || p[1] == '\r' || p[1] == '\n';
        if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !eol)) {
            if (col + 1 > 75) {
                fputs("=\r\n", f);
                col = 0;
            }
            fputc(c, f);
            col++;
        } else {
            if (col + 3 > 75) {
                fputs("=\r\n", f);
                col = 0;
            }
            fprintf(f, "=%02X", c);
            col += 3;
        }
        p++;
    }
    if (p != (const unsigned char *)body && p[-1] != '\n' && p[-1] != '\r')
        fputs("\r\n", f);
}

/*
 * Render the body: for one alert, the template; for several, a summary
 * ("3 alerts:" and one line each) and then the template for each alert,
 * separated by a line of dashes. Returns a string the caller frees, or
 * NULL when out of memory.
 */
static char *email_render_body(const struct email *e, const struct tocsin_alert *alert)
{
    char *text = NULL, *part;
    size_t len = 0, i;
    FILE *f = open_memstream(&text, &len);
    int ok = 1;

    if (!f)
        return NULL;
    if (alert->ngrouped) {
        part = tocsin_template_render("{count} alerts:\n{alerts}\n\n", alert);
        ok = part != NULL;
        if (part)
            fputs(part, f);
        free(part);
    }
    for (i = 0; ok && i <= alert->ngrouped; i++) {
        const struct tocsin_alert *a = i ? &alert->grouped[i - 1] : alert;

        if (alert->ngrouped)
            fputs(EMAIL_SEPARATOR, f);
        part = tocsin_template_render(e->body, a);
        if (!part) {
            ok = 0;
            break;
        }
        fputs(part, f);
        if (*part && part[strlen(part) - 1] != '\n')
            fputc('\n', f);
        free(part);
    }
    if (ferror(f))
        ok = 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        free(text);
        return NULL;
    }
    return text;
}

/* An X-Tocsin-NAME header with a value that may need encoding. */
static void email_put_x(FILE *f, const char *name, const char *value)
{
    char *copy;

    if (!value || !*value || !(copy = strdup(value)))
        return;
    fprintf(f, "X-Tocsin-%s: ", name);
    email_put_text(f, email_one_line(copy), strlen(name) + 11);
    fputs("\r\n", f);
    free(copy);
}

/*
 * Compose the whole message for `alert`: headers, a blank line, the
 * body. Returns it (the caller frees it) with its length in *len, or NULL
 * when out of memory.
 */
static char *email_compose(struct email *e, const struct tocsin_alert *alert, size_t *len)
{
    char *msg = NULL, *subject = NULL, *body = NULL, *labels = NULL;
    char root[128], id[160];
    size_t i;
    FILE *f;
    int opening = alert->kind == TOCSIN_ALERT_PROBLEM && alert->previous == TOCSIN_OK;
    int qp, bad;

    *len = 0;
    subject = tocsin_template_render(e->subject, alert);
    body = email_render_body(e, alert);
    labels = tocsin_template_render("{labels}", alert);
    if (!subject || !body || !labels)
        goto out;
    email_one_line(subject);
    f = open_memstream(&msg, len);
    if (!f)
        goto out;

    email_put_date(f, alert->at > 0 ? alert->at : time(NULL));
    email_root_id(e, alert->incident && *alert->incident ? alert->incident
                  : alert->service ? alert->service : "", root, sizeof(root));
    if (opening) {
        fprintf(f, "Message-ID: %s\r\n", root);
    } else {
        email_unique_id(e, id, sizeof(id));
        fprintf(f, "Message-ID: %s\r\nIn-Reply-To: %s\r\n", id, root);
    }
    fprintf(f, "References: %s\r\n", root);
    fputs("From: ", f);
    email_put_addr(f, &e->from);
    fputs("\r\nTo: ", f);
    for (i = 0; i < e->nto; i++) {
        if (i)
            fputs(",\r\n ", f);
        email_put_addr(f, &e->to[i]);
    }
    fputs("\r\nSubject: ", f);
    if (alert->ngrouped) {
        char more[48];
        size_t n = strlen(subject);
        char *grown;

        snprintf(more, sizeof(more), " (+%zu more)", alert->ngrouped);
        grown = realloc(subject, n + strlen(more) + 1);
        if (!grown) {
            fclose(f);
            free(msg);
            msg = NULL;
            goto out;
        }
        subject = grown;
        memcpy(subject + n, more, strlen(more) + 1);
    }
    email_put_text(f, subject, 9);
    fputs("\r\nMIME-Version: 1.0\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n", f);
    qp = !email_is_7bit(body);
    fprintf(f, "Content-Transfer-Encoding: %s\r\n", qp ? "quoted-printable" : "7bit");
    fputs("Auto-Submitted: auto-generated\r\n", f);
    email_put_x(f, "Kind", tocsin_alert_kind_name((int)alert->kind));
    email_put_x(f, "State", tocsin_state_name((int)alert->state));
    email_put_x(f, "Severity", tocsin_severity_name((int)alert->severity));
    email_put_x(f, "Service", alert->service);
    email_put_x(f, "Host", alert->host);
    email_put_x(f, "Incident", alert->incident);
    email_put_x(f, "Labels", labels);
    if (alert->ngrouped)
        fprintf(f, "X-Tocsin-Count: %zu\r\n", alert->ngrouped + 1);
    fputs("\r\n", f);
    email_put_body(f, body, qp);
    bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(msg);
        msg = NULL;
    }
out:
    free(subject);
    free(body);
    free(labels);
    return msg;
}

/* ------------------------------------------------------------------ */
/* libcurl callbacks                                                   */
/* ------------------------------------------------------------------ */

/* Hand libcurl the next part of the message. */
static size_t email_on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct email *e = ud;
    size_t room = size * nmemb, left = e->msg_len - e->msg_off;
    size_t n = left < room ? left : room;

    memcpy(buf, e->msg + e->msg_off, n);
    e->msg_off += n;
    return n;
}

/*
 * See the SMTP dialogue: keep the server's last reply line and the last
 * command sent, for messages. From AUTH until the server's verdict on the
 * login, what is sent (the encoded credentials) is kept as "AUTH" only.
 * QUIT and its answer (221), sent when libcurl closes a connection after
 * a failure, are not kept: the reply that matters came before.
 */
static int email_on_debug(CURL *curl, curl_infotype type, char *data, size_t size,
                          void *ud)
{
    struct email *e = ud;

    (void)curl;
    if (type == CURLINFO_HEADER_IN && size >= 3 && data[0] >= '1' && data[0] <= '5') {
        if (strncmp(data, "221", 3) == 0)
            return 0;
        email_keep(e->reply, data, size);
        if (e->in_auth && data[0] != '3')
            e->in_auth = 0;
    } else if (type == CURLINFO_HEADER_OUT) {
        if (size >= 5 && strncasecmp(data, "AUTH ", 5) == 0)
            e->in_auth = 1;
        if (e->in_auth)
            snprintf(e->command, sizeof(e->command), "AUTH");
        else if (!(size >= 4 && strncasecmp(data, "QUIT", 4) == 0))
            email_keep(e->command, data, size);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void email_teardown(void *instance)
{
    struct email *e = instance;
    size_t i;

    if (!e)
        return;
    if (e->curl)
        curl_easy_cleanup(e->curl);
    curl_slist_free_all(e->rcpts);
    free(e->url);
    free(e->peer);
    free(e->from.addr);
    free(e->from.name);
    for (i = 0; i < e->nto; i++) {
        free(e->to[i].addr);
        free(e->to[i].name);
    }
    free(e->to);
    free(e->user);
    free(e->subject);
    free(e->body);
    free(e->domain);
    if (e->curl_ready)
        curl_global_cleanup();
    free(e);
}

/* 1 when the host of the URL is this machine. */
static int email_loopback(const char *host)
{
    return strcasecmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
}

/*
 * Check the URL: smtp:// or smtps://, a host, no credentials, query or
 * fragment. Sets e->peer ("host:port"), *smtps and *loopback. Returns 0,
 * or -1 with err.
 */
static int email_parse_url(struct email *e, int *smtps, int *loopback, char *err,
                           size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *query = NULL,
         *fragment = NULL;
    size_t len;
    int rc = -1;

    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, e->url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "smtp") != 0 && strcasecmp(scheme, "smtps") != 0)) {
        snprintf(err, errlen, "option 'url' must be an SMTP URL such as "
                 "smtp://mail.example.org:587 or smtps://mail.example.org");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(err, errlen, "option 'url' names no host");
        goto out;
    }
    /* Not echoed: a password in the URL is what is being refused. */
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        snprintf(err, errlen, "option 'url' must not hold a user or password: "
                 "use 'user' and 'password_file'");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
        snprintf(err, errlen, "option 'url' must not have a query or fragment");
        goto out;
    }
    *smtps = strcasecmp(scheme, "smtps") == 0;
    *loopback = email_loopback(host);
    len = strlen(host) + strlen(port) + 2;
    if (!(e->peer = malloc(len))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(e->peer, len, "%s:%s", host, port);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(query);
    curl_free(fragment);
    curl_url_cleanup(u);
    return rc;
}

/* The right side of Message-IDs: this host's name, reduced to letters,
 * digits, '-' and '.'. */
static char *email_domain(void)
{
    char name[256] = "";
    size_t i, n = 0;

    if (gethostname(name, sizeof(name) - 1) < 0)
        name[0] = '\0';
    for (i = 0; name[i]; i++)
        if ((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
            (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '.')
            name[n++] = name[i];
    name[n] = '\0';
    return strdup(n ? name : "localhost");
}

/* Read the recipients of option 'to' into e->to and e->rcpts. */
static int email_recipients(struct email *e, cfg_t *options, char *err, size_t errlen)
{
    unsigned i, n = cfg_size(options, "to");
    char line[512];

    if (n == 0) {
        snprintf(err, errlen, "option 'to' is required: the addresses to send to, "
                 "e.g. to = { \"ops@example.org\" }");
        return -1;
    }
    if (!(e->to = calloc(n, sizeof(*e->to)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        const char *text = cfg_getnstr(options, "to", i);
        struct curl_slist *grown;

        if (email_parse_addr(text ? text : "", "to", &e->to[i], err, errlen) < 0)
            return -1;
        e->nto++;
        snprintf(line, sizeof(line), "<%s>", e->to[i].addr);
        if (!(grown = curl_slist_append(e->rcpts, line))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        e->rcpts = grown;
    }
    return 0;
}

/* Hand every option that does not change between mails to libcurl. */
static int email_setup_curl(struct email *e, cfg_t *options, enum email_tls tls,
                            const char *password, char *err, size_t errlen)
{
    char from[512];
    CURL *c = e->curl;
    CURLcode rc = CURLE_OK;

    snprintf(from, sizeof(from), "<%s>", e->from.addr);
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
    SET(CURLOPT_URL, e->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, e->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_MAIL_FROM, from);
    SET(CURLOPT_MAIL_RCPT, e->rcpts);
    SET(CURLOPT_UPLOAD, 1L);
    SET(CURLOPT_READFUNCTION, email_on_read);
    SET(CURLOPT_READDATA, e);
    SET(CURLOPT_VERBOSE, 1L);
    SET(CURLOPT_DEBUGFUNCTION, email_on_debug);
    SET(CURLOPT_DEBUGDATA, e);
    SET(CURLOPT_MAXAGE_CONN, EMAIL_CONN_MAXAGE);
    SET(CURLOPT_USE_SSL, (long)(tls == EMAIL_TLS_REQUIRED ? CURLUSESSL_ALL
                                : tls == EMAIL_TLS_OPTIONAL ? CURLUSESSL_TRY
                                : CURLUSESSL_NONE));
    if (rc == CURLE_OK)
        rc = tocsin_curl_tls_apply(c, options, 0, 1);
    if (e->user) {
        SET(CURLOPT_USERNAME, e->user);
        SET(CURLOPT_PASSWORD, password);
    }
#undef SET
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

/* Validate the options into a struct email with a libcurl handle ready to
 * send. Nothing is sent or connected here. */
static int email_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct email *e;
    const char *url = tocsin_option_str(options, "url");
    const char *starttls = cfg_getstr(options, "starttls");
    const char *from = tocsin_option_str(options, "from");
    const char *user = tocsin_option_str(options, "user");
    char *password = NULL, why[256];
    enum email_tls tls;
    int smtps = 0, loopback = 0;

    if (!(e = calloc(1, sizeof(*e))))
        goto oom;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl could not be initialised");
        goto fail;
    }
    e->curl_ready = 1;

    if (!(e->url = strdup(url ? url : "smtp://localhost")))
        goto oom;
    if (email_parse_url(e, &smtps, &loopback, err, errlen) < 0)
        goto fail;

    if (!starttls || strcmp(starttls, "auto") == 0 || !*starttls) {
        tls = smtps ? EMAIL_TLS_REQUIRED : loopback ? EMAIL_TLS_OFF : EMAIL_TLS_REQUIRED;
    } else if (strcmp(starttls, "required") == 0) {
        tls = EMAIL_TLS_REQUIRED;
    } else if (strcmp(starttls, "optional") == 0) {
        tls = EMAIL_TLS_OPTIONAL;
    } else if (strcmp(starttls, "off") == 0) {
        tls = EMAIL_TLS_OFF;
    } else {
        snprintf(err, errlen, "option 'starttls': \"%s\" is not one of \"auto\", "
                 "\"required\", \"optional\", \"off\"", starttls);
        goto fail;
    }
    if (smtps && tls != EMAIL_TLS_REQUIRED) {
        snprintf(err, errlen, "option 'starttls': smtps:// always uses TLS; use an "
                 "smtp:// URL for a connection without it");
        goto fail;
    }

    if (!from) {
        snprintf(err, errlen, "option 'from' is required: the sender address, e.g. "
                 "from = \"Tocsin <tocsin@example.org>\"");
        goto fail;
    }
    if (email_parse_addr(from, "from", &e->from, err, errlen) < 0)
        goto fail;
    if (email_recipients(e, options, err, errlen) < 0)
        goto fail;

    if (tocsin_option_template(options, "subject", 0, &e->subject, err, errlen) < 0 ||
        tocsin_option_template(options, "template", 0, &e->body, err, errlen) < 0)
        goto fail;
    if (!(e->domain = email_domain()))
        goto oom;

    if (tocsin_curl_tls_check(options, 0, err, errlen) < 0)
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
        snprintf(err, errlen, "option 'user' needs a password (password, password_file "
                 "or password_env)");
        goto fail;
    }
    if (password && tls != EMAIL_TLS_REQUIRED && !loopback) {
        snprintf(err, errlen, "the password would cross the network unencrypted: "
                 "set starttls = \"required\" or use an smtps:// URL");
        goto fail;
    }
    if (user && !(e->user = strdup(user)))
        goto oom;

    if (!(e->curl = curl_easy_init())) {
        snprintf(err, errlen, "libcurl could not make a handle");
        goto fail;
    }
    /* libcurl keeps its own copy of the password. */
    if (email_setup_curl(e, options, tls, password, err, errlen) < 0)
        goto fail;
    tocsin_secret_free(password);
    *instance = e;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    tocsin_secret_free(password);
    email_teardown(e);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */
/* ------------------------------------------------------------------ */

/* The three-digit code of the server's last reply, or 0. */
static int email_reply_code(const struct email *e)
{
    const char *r = e->reply;

    if (r[0] >= '1' && r[0] <= '5' && r[1] >= '0' && r[1] <= '9' &&
        r[2] >= '0' && r[2] <= '9')
        return (r[0] - '0') * 100 + (r[1] - '0') * 10 + (r[2] - '0');
    return 0;
}

/* Turn a failed transfer into an outcome and a reason. `limit_ms` is the
 * time the transfer was given. */
static enum tocsin_delivery email_failed(struct email *e, CURLcode rc, long limit_ms,
                                         char *err, size_t errlen)
{
    const char *why = tocsin_curl_why(e->errbuf, rc);
    int code = email_reply_code(e);
    switch (rc) {
    case CURLE_USE_SSL_FAILED:
        snprintf(err, errlen, "%s does not offer STARTTLS, which starttls = "
                 "\"required\" asks for", e->peer);
        return TOCSIN_FAILED;
    case CURLE_PEER_FAILED_VERIFICATION:
        snprintf(err, errlen, "TLS certificate of %s not accepted: %s", e->peer, why);
        return TOCSIN_FAILED;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        snprintf(err, errlen, "cannot use the TLS files configured for %s: %s",
                 e->peer, why);
        return TOCSIN_FAILED;
    case CURLE_OPERATION_TIMEDOUT:
        if (e->command[0])
            snprintf(err, errlen, "timed out after %.1f s waiting for %s to answer %s",
                     (double)limit_ms / 1000, e->peer, e->command);
        else
            snprintf(err, errlen, "timed out after %.1f s waiting for %s to greet",
                     (double)limit_ms / 1000, e->peer);
        return TOCSIN_RETRY;
    case CURLE_COULDNT_CONNECT:
        snprintf(err, errlen, "cannot connect to %s: %s", e->peer,
                 tocsin_curl_connect_why(e->curl, e->errbuf, rc));
        return TOCSIN_RETRY;
    case CURLE_OUT_OF_MEMORY:
        snprintf(err, errlen, "out of memory");
        return TOCSIN_RETRY;
    default:
        break;
    }
    if (code >= 400) {
        if (rc == CURLE_LOGIN_DENIED || strcmp(e->command, "AUTH") == 0)
            snprintf(err, errlen, "%s refused the login of user '%s': %s", e->peer,
                     e->user ? e->user : "", e->reply);
        else if (e->command[0])
            snprintf(err, errlen, "%s answered %s to %s", e->peer, e->reply, e->command);
        else
            snprintf(err, errlen, "%s answered %s", e->peer, e->reply);
        return code >= 500 ? TOCSIN_FAILED : TOCSIN_RETRY;
    }
    if (rc == CURLE_LOGIN_DENIED) {
        snprintf(err, errlen, "%s refused the login of user '%s': %s", e->peer,
                 e->user ? e->user : "", why);
        return TOCSIN_FAILED;
    }
    snprintf(err, errlen, "sending to %s failed: %s", e->peer, why);
    return TOCSIN_RETRY;
}

/* Compose the mail for the alert (and those grouped with it) and send it
 * to every recipient in one SMTP transaction, before the deadline. The
 * mail counts as delivered when the server accepted it for all of them. */
static enum tocsin_delivery email_notify(void *instance, const struct tocsin_alert *alert,
                                         char *err, size_t errlen)
{
    struct email *e = instance;
    enum tocsin_delivery outcome = TOCSIN_DELIVERED;
    char *msg;
    size_t len;
    long left;
    CURLcode rc;

    if (alert->kind == TOCSIN_ALERT_RESULT)
        return TOCSIN_DELIVERED;
    left = tocsin_curl_timeout(e->curl, &alert->deadline);
    if (left < 1) {
        snprintf(err, errlen, "no time left before the deadline");
        return TOCSIN_RETRY;
    }
    if (!(msg = email_compose(e, alert, &len))) {
        snprintf(err, errlen, "out of memory composing the mail");
        return TOCSIN_RETRY;
    }
    e->msg = msg;
    e->msg_len = len;
    e->msg_off = 0;
    e->errbuf[0] = e->reply[0] = e->command[0] = '\0';
    e->in_auth = 0;
    rc = curl_easy_perform(e->curl);
    if (rc != CURLE_OK)
        outcome = email_failed(e, rc, left, err, errlen);
    e->msg = NULL;
    free(msg);
    return outcome;
}

/* Descriptions for --help; docs/notify-email.md tells more. */
static const struct tocsin_option_help email_help[] = {
    { "url", "URL",
      "the SMTP server: smtp://host[:port] (port 25), smtps://host[:port] (465)" },
    { "starttls", NULL,
      "required: STARTTLS or no mail" },
    { "user", "USER",
      "login for SMTP AUTH (libcurl picks the best mechanism the server offers)" },
    { "password", "SECRET",
      "the password of user (or use password_file, password_env)" },
    { "password_file", "FILE",
      "the password of user, from the first line of this file" },
    { "password_env", "VARIABLE",
      "the password of user, from this environment variable" },
    { "from", NULL,
      "sender, ops@example.org or Tocsin <tocsin@example.org>" },
    { "to", NULL,
      "list of recipients, same forms: to = { \"ops@example.org\"" },
    { "subject", "TEMPLATE",
      "template of the subject; (+N more) is added when the mail tells several "
      "alerts" },
    { "template", "TEMPLATE",
      "template of the body, for one alert" },
    { "ca_file", "FILE",
      "PEM file of the CAs trusted for the server's certificate" },
    { "insecure", NULL,
      "do not verify the server's certificate or name (testing only)" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .name = "email",
    .version = EMAIL_VERSION,
    .summary = "send a mail per alert over SMTP (STARTTLS, smtps, AUTH)",
    .options = email_options,
    .help = email_help,
    .setup = email_setup,
    .teardown = email_teardown,
    .notify = email_notify,
);
