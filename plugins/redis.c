/*
 * redis.c - a Redis server's reachability, latency and the figures
 * operators alert on, read from one PING and one INFO:
 *
 *   check = "redis"
 *   host = "127.0.0.1"          # or socket = "/run/redis/redis-server.sock"
 *   port = 6379
 *   password_file = "/etc/tocsin/redis.secret"
 *   latency_warning = "0.05"    # PING round trip, seconds
 *   memory_warning = "80"       # used_memory as % of maxmemory
 *   memory_critical = "90"
 *   clients_warning = "500"     # connected_clients
 *   hit_ratio_warning = "80:"   # % of key lookups that hit, since the
 *                               # last check: alert below 80
 *   role = "master"             # or "slave", "any"
 *   key = { "queue:emails warning=100 critical=500" }   # a list's length
 *
 * The hit ratio and the rejected connections are counted between two
 * checks, so the plugin keeps the previous check's counters (it is
 * stateful: a service always runs in the same worker). hiredis 0.14 has
 * no TLS: servers reached only through TLS cannot be checked.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "tocsin-plugin.h"
#include "common/rule.h"

/* Room for the first line, and for one line of long output. */
#define REDIS_LINE_MAX 1024

/* Server text (error replies, protocol errors) shown at most this long. */
#define REDIS_QUOTE_MAX 200

/* How the configured role is compared with the server's. */
enum redis_role {
    REDIS_ROLE_ANY = 0,
    REDIS_ROLE_MASTER,
    REDIS_ROLE_SLAVE
};

/* A key whose length is held against ranges, and what the last check
 * found of it. */
struct redis_key {
    char *name;                    /* the key, owned */
    char *label;                   /* its perfdata label, owned */
    struct tocsin_thresholds th;
    /* Filled by each check: */
    int measured;                  /* 1 when len holds this check's figure */
    double len;                    /* elements (or a string's number) */
    const char *type;              /* "list", "zset", ..., "none" */
    const char *how;               /* the command that measured it */
    char why[128];                 /* when not measured: why not */
};

/* Counters of the previous check, to turn into figures per interval. */
struct redis_counters {
    int set;                       /* 0 until a check has read INFO */
    char run_id[64];               /* changes when the server restarts */
    unsigned long long hits;       /* keyspace_hits */
    unsigned long long misses;     /* keyspace_misses */
    unsigned long long rejected;   /* rejected_connections */
};

struct redis {
    char *host;                    /* TCP host, unless socket is set; owned */
    int port;
    char *socket;                  /* unix socket path or NULL; owned */
    char *user;                    /* ACL user or NULL; owned */
    char *password;                /* from tocsin_secret(); owned, wiped */
    char endpoint[300];            /* "host:port" or the socket path */
    enum redis_role role;
    struct tocsin_thresholds latency;   /* seconds */
    struct tocsin_thresholds memory;    /* % of maxmemory */
    struct tocsin_thresholds clients;   /* connected_clients */
    struct tocsin_thresholds hit_ratio; /* % over the interval */
    struct tocsin_thresholds rejected;  /* count over the interval */
    struct redis_counters last;    /* kept from one check to the next */
    long database;                 /* SELECTed before the keys are read */
    struct redis_key *keys;        /* `key` rules, owned */
    size_t n_keys;
};

/* One "key:value" line of an INFO answer; both point into the copy. */
struct redis_field {
    const char *key;
    const char *value;
};

/* An INFO answer split into fields. */
struct redis_info {
    char *text;                    /* NUL-separated copy; owned */
    struct redis_field *fields;    /* owned */
    size_t n;
};

/* A line of text built piece by piece, cut (never overflowing) when full. */
struct redis_line {
    char text[REDIS_LINE_MAX];
    size_t len;
};

static cfg_opt_t redis_options[] = {
    CFG_STR("host", "127.0.0.1", CFGF_NONE),
    CFG_INT("port", 6379, CFGF_NONE),
    CFG_STR("socket", "", CFGF_NONE),
    CFG_STR("user", "", CFGF_NONE),
    CFG_STR("password", "", CFGF_NONE),
    CFG_STR("password_file", "", CFGF_NONE),
    CFG_STR("password_env", "", CFGF_NONE),
    CFG_STR("role", "any", CFGF_NONE),
    CFG_INT("db", 0, CFGF_NONE),
    CFG_STR_LIST("key", "{}", CFGF_NONE),
    TOCSIN_OPT_RANGE("latency_warning", ""),
    TOCSIN_OPT_RANGE("latency_critical", ""),
    TOCSIN_OPT_RANGE("memory_warning", "80"),
    TOCSIN_OPT_RANGE("memory_critical", "90"),
    TOCSIN_OPT_RANGE("clients_warning", ""),
    TOCSIN_OPT_RANGE("clients_critical", ""),
    TOCSIN_OPT_RANGE("hit_ratio_warning", ""),
    TOCSIN_OPT_RANGE("hit_ratio_critical", ""),
    TOCSIN_OPT_RANGE("rejected_warning", "0"),
    TOCSIN_OPT_RANGE("rejected_critical", ""),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void redis_line_add(struct redis_line *l, const char *fmt, ...)
    TOCSIN_PRINTF(2, 3);

/* Append to `l`, keeping whatever fits. */
static void redis_line_add(struct redis_line *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (l->len >= sizeof(l->text) - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    l->len += (size_t)n < sizeof(l->text) - l->len ? (size_t)n
                                                   : sizeof(l->text) - l->len - 1;
}

/* Copy text that came from the server into buf for display: control
 * characters become spaces, and it is cut at REDIS_QUOTE_MAX. */
static const char *redis_quote(const char *s, size_t len, char *buf, size_t buflen)
{
    size_t i, n = 0;

    if (buflen == 0)
        return "";
    if (len > REDIS_QUOTE_MAX)
        len = REDIS_QUOTE_MAX;
    for (i = 0; i < len && n + 1 < buflen; i++) {
        unsigned char c = (unsigned char)s[i];

        buf[n++] = (c < ' ' || c == 0x7f) ? ' ' : (char)c;
    }
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    return buf;
}

/* "1.2 MB": bytes in units of 1024, as Redis counts them ("64mb" in its
 * configuration is 64 * 1024 * 1024 bytes); a trailing ".0" is dropped. */
static const char *redis_size(unsigned long long bytes, char *buf, size_t len)
{
    static const char *const units[] = { "KB", "MB", "GB", "TB", "PB" };
    double v = (double)bytes;
    int u = -1;
    size_t n;

    if (bytes < 1024) {
        snprintf(buf, len, "%llu B", bytes);
        return buf;
    }
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f", v);
    n = strlen(buf);
    if (n > 2 && strcmp(buf + n - 2, ".0") == 0)
        buf[n - 2] = '\0';
    n = strlen(buf);
    snprintf(buf + n, len > n ? len - n : 0, " %s", units[u]);
    return buf;
}

/* "3 h", "2 days": a duration in seconds, roughly. */
static const char *redis_duration(unsigned long long s, char *buf, size_t len)
{
    if (s < 120)
        snprintf(buf, len, "%llu s", s);
    else if (s < 2 * 3600)
        snprintf(buf, len, "%llu min", s / 60);
    else if (s < 2 * 86400)
        snprintf(buf, len, "%llu h", s / 3600);
    else
        snprintf(buf, len, "%llu days", s / 86400);
    return buf;
}

/* The check's remaining time as a timeval for hiredis, at least 1 ms (a
 * zero timeval would mean no timeout at all). */
static struct timeval redis_timeout(const struct tocsin_check *chk)
{
    double left = tocsin_check_remaining(chk);
    struct timeval tv;

    if (left < 0.001)
        left = 0.001;
    tv.tv_sec = (time_t)left;
    tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6);
    if (tv.tv_usec >= 1000000) {
        tv.tv_sec++;
        tv.tv_usec -= 1000000;
    }
    return tv;
}

static double redis_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* INFO                                                                */
/* ------------------------------------------------------------------ */

static void redis_info_free(struct redis_info *info)
{
    free(info->text);
    free(info->fields);
    memset(info, 0, sizeof(*info));
}

/*
 * Split an INFO answer (`len` bytes) into fields: lines end with CRLF or
 * LF, "# Section" lines and blank lines are skipped, and a line without
 * ':' is ignored. A key seen twice keeps its first value. Returns 0, or
 * -1 when memory runs out. O(length of the answer).
 */
static int redis_info_parse(const char *answer, size_t len, struct redis_info *info)
{
    size_t lines = 1, i;
    char *p, *end;

    memset(info, 0, sizeof(*info));
    for (i = 0; i < len; i++)
        if (answer[i] == '\n')
            lines++;
    info->text = malloc(len + 1);
    info->fields = calloc(lines, sizeof(*info->fields));
    if (!info->text || !info->fields) {
        redis_info_free(info);
        return -1;
    }
    memcpy(info->text, answer, len);
    info->text[len] = '\0';
    p = info->text;
    end = info->text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *line = p, *colon;
        size_t llen;

        if (!nl)
            nl = end;
        *nl = '\0';
        llen = (size_t)(nl - line);
        if (llen > 0 && line[llen - 1] == '\r')
            line[--llen] = '\0';
        p = nl + 1;
        if (llen == 0 || line[0] == '#')
            continue;
        colon = memchr(line, ':', llen);
        if (!colon || colon == line)
            continue;
        *colon = '\0';
        info->fields[info->n].key = line;
        info->fields[info->n].value = colon + 1;
        info->n++;
    }
    return 0;
}

/* The value of `key`, or NULL. O(fields). */
static const char *redis_info_get(const struct redis_info *info, const char *key)
{
    size_t i;

    for (i = 0; i < info->n; i++)
        if (strcmp(info->fields[i].key, key) == 0)
            return info->fields[i].value;
    return NULL;
}

/* `key` as an unsigned integer. Returns 0, or -1 when absent or not a
 * number. */
static int redis_info_ull(const struct redis_info *info, const char *key,
                          unsigned long long *out)
{
    const char *v = redis_info_get(info, key);
    char *end;

    if (!v || !isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    *out = strtoull(v, &end, 10);
    if (errno || *end != '\0')
        return -1;
    return 0;
}

/* `key` as a signed integer. Returns 0, or -1 when absent or not one. */
static int redis_info_ll(const struct redis_info *info, const char *key,
                         long long *out)
{
    const char *v = redis_info_get(info, key);
    char *end;

    if (!v || !*v)
        return -1;
    errno = 0;
    *out = strtoll(v, &end, 10);
    if (errno || *end != '\0')
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void redis_teardown(void *instance)
{
    struct redis *r = instance;
    size_t i;

    if (!r)
        return;
    free(r->host);
    free(r->socket);
    free(r->user);
    tocsin_secret_free(r->password);
    for (i = 0; i < r->n_keys; i++) {
        free(r->keys[i].name);
        free(r->keys[i].label);
    }
    free(r->keys);
    free(r);
}

/* Parse the `key` rules, "NAME [warning=RANGE] [critical=RANGE]
 * [label=NAME]", into r->keys. The label defaults to the key's name and
 * must not be one of the check's own. */
static int redis_setup_keys(struct redis *r, cfg_t *options, char *err, size_t errlen)
{
    static const char *const known[] = {"warning", "critical", "label", NULL};
    static const char *const own[] = {"latency", "clients", "memory", "used_memory",
                                      "hit_ratio", "rejected_connections", NULL};
    unsigned n = cfg_size(options, "key"), i, j;
    struct tocsin_rule rule;
    struct redis_key *k;
    const char *text, *bad, *label;
    char why[256];

    if (n == 0)
        return 0;
    if (!(r->keys = calloc(n, sizeof(*r->keys)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        text = cfg_getnstr(options, "key", i);
        if (tocsin_rule_parse(text, NULL, NULL, &rule, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "option 'key': %s", why);
            return -1;
        }
        k = &r->keys[r->n_keys++];
        label = tocsin_rule_get(&rule, "label");
        bad = tocsin_rule_unknown(&rule, known);
        if (!bad && !*rule.subject)
            bad = "";
        if (bad || tocsin_range_parse(tocsin_rule_get(&rule, "warning"), &k->th.warning,
                                      why, sizeof(why)) < 0 ||
            tocsin_range_parse(tocsin_rule_get(&rule, "critical"), &k->th.critical,
                               why, sizeof(why)) < 0) {
            if (bad && !*bad)
                snprintf(err, errlen, "option 'key': \"%s\": no key name", text);
            else if (bad)
                snprintf(err, errlen, "option 'key': \"%s\": unknown setting \"%s\" "
                         "(warning=, critical=, label=)", text, bad);
            else
                snprintf(err, errlen, "option 'key': \"%s\": %s", text, why);
            tocsin_rule_free(&rule);
            return -1;
        }
        k->name = strdup(rule.subject);
        k->label = strdup(label ? label : rule.subject);
        tocsin_rule_free(&rule);
        if (!k->name || !k->label) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (!tocsin_rule_label_valid(k->label)) {
            snprintf(err, errlen, "option 'key': \"%s\": \"%s\" cannot be a "
                     "performance data label (no '=', quote or control character); "
                     "name one with label=", text, k->label);
            return -1;
        }
        for (j = 0; own[j]; j++)
            if (strcmp(own[j], k->label) == 0) {
                snprintf(err, errlen, "option 'key': \"%s\": label \"%s\" is the "
                         "check's own; name another with label=", text, k->label);
                return -1;
            }
        for (j = 0; j + 1 < r->n_keys; j++)
            if (strcmp(r->keys[j].label, k->label) == 0) {
                snprintf(err, errlen, "option 'key': \"%s\": label \"%s\" is already "
                         "used by key \"%s\"; name another with label=", text,
                         k->label, r->keys[j].name);
                return -1;
            }
    }
    return 0;
}

/* Validate the options into a struct redis owned by the instance. */
static int redis_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct redis *r;
    const char *role = cfg_getstr(options, "role");
    long port = cfg_getint(options, "port");
    char why[256];
    int oom = 0;

    r = calloc(1, sizeof(*r));
    if (!r)
        goto oom;
    r->host = tocsin_option_strdup(options, "host", &oom);
    r->socket = tocsin_option_strdup(options, "socket", &oom);
    r->user = tocsin_option_strdup(options, "user", &oom);
    if (oom)
        goto oom;
    if (!r->socket) {
        if (!r->host) {
            snprintf(err, errlen, "option 'host' is empty: give a host name "
                     "or address, or a unix socket with 'socket'");
            goto fail;
        }
        if (port < 1 || port > 65535) {
            snprintf(err, errlen, "option 'port': %ld is not between 1 and 65535",
                     port);
            goto fail;
        }
        r->port = (int)port;
        if (strchr(r->host, ':'))
            snprintf(r->endpoint, sizeof(r->endpoint), "[%s]:%d", r->host, r->port);
        else
            snprintf(r->endpoint, sizeof(r->endpoint), "%s:%d", r->host, r->port);
    } else {
        snprintf(r->endpoint, sizeof(r->endpoint), "%s", r->socket);
    }

    if (!role || strcasecmp(role, "any") == 0)
        r->role = REDIS_ROLE_ANY;
    else if (strcasecmp(role, "master") == 0)
        r->role = REDIS_ROLE_MASTER;
    else if (strcasecmp(role, "slave") == 0 || strcasecmp(role, "replica") == 0)
        r->role = REDIS_ROLE_SLAVE;
    else {
        snprintf(err, errlen, "option 'role': \"%s\" is not one of master, "
                 "slave, any", role);
        goto fail;
    }
    r->database = cfg_getint(options, "db");
    if (r->database < 0 || r->database > 1000000) {
        snprintf(err, errlen, "option 'db': %ld is not a database number",
                 r->database);
        goto fail;
    }
    if (redis_setup_keys(r, options, err, errlen) < 0)
        goto fail;

    if (tocsin_option_secret(options, "password", &r->password, why,
                             sizeof(why)) < 0) {
        snprintf(err, errlen, "password: %s", why);
        goto fail;
    }
    if (r->user && !r->password) {
        snprintf(err, errlen, "option 'user' needs a password (password, "
                 "password_file or password_env)");
        goto fail;
    }

    if (tocsin_option_thresholds(options, "latency_warning", "latency_critical",
                                 &r->latency, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "memory_warning", "memory_critical",
                                 &r->memory, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "clients_warning", "clients_critical",
                                 &r->clients, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "hit_ratio_warning", "hit_ratio_critical",
                                 &r->hit_ratio, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "rejected_warning", "rejected_critical",
                                 &r->rejected, err, errlen) < 0)
        goto fail;
    *instance = r;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    redis_teardown(r);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Talking to the server                                               */
/* ------------------------------------------------------------------ */

/* Connect with the check's remaining time as the timeout. On failure
 * sets the result and returns NULL; the caller frees what it returns
 * with redisFree(). */
static redisContext *redis_connect(const struct redis *r, struct tocsin_check *chk)
{
    struct timeval tv = redis_timeout(chk);
    redisContext *c;
    char quoted[REDIS_QUOTE_MAX + 1];

    if (r->socket)
        c = redisConnectUnixWithTimeout(r->socket, tv);
    else
        c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!c) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "REDIS UNKNOWN - out of memory");
        return NULL;
    }
    if (!c->err)
        return c;

    redis_quote(c->errstr, strlen(c->errstr), quoted, sizeof(quoted));
    if (strcmp(c->errstr, strerror(ECONNREFUSED)) == 0) {
        tocsin_check_set(chk, TOCSIN_CRITICAL,
                         "REDIS CRITICAL - connection refused to %s", r->endpoint);
    } else if (strcmp(c->errstr, strerror(ETIMEDOUT)) == 0 ||
               strcmp(c->errstr, strerror(EINPROGRESS)) == 0 ||
               tocsin_check_remaining(chk) <= 0) {
        tocsin_check_set(chk, TOCSIN_CRITICAL,
                         "REDIS CRITICAL - no connection to %s within the "
                         "check's timeout", r->endpoint);
        tocsin_check_timed_out(chk);
    } else {
        tocsin_check_set(chk, TOCSIN_CRITICAL,
                         "REDIS CRITICAL - cannot connect to %s: %s",
                         r->endpoint, quoted);
    }
    redisFree(c);
    return NULL;
}

/*
 * Send one command and wait for its reply, at most until the deadline.
 * `what` names the command in messages ("PING"). On an I/O or protocol
 * failure sets the result and returns NULL; the caller frees the reply.
 */
static redisReply *redis_command(const struct redis *r, redisContext *c,
                                 struct tocsin_check *chk, const char *what,
                                 int argc, const char **argv)
{
    redisReply *reply;
    char quoted[REDIS_QUOTE_MAX + 1];
    int e;

    if (redisSetTimeout(c, redis_timeout(chk)) != REDIS_OK) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "REDIS UNKNOWN - cannot set a "
                         "timeout on the connection to %s: %s", r->endpoint,
                         redis_quote(c->errstr, strlen(c->errstr), quoted,
                                     sizeof(quoted)));
        return NULL;
    }
    errno = 0;
    reply = redisCommandArgv(c, argc, argv, NULL);
    e = errno;
    if (reply)
        return reply;

    redis_quote(c->errstr, strlen(c->errstr), quoted, sizeof(quoted));
    switch (c->err) {
    case REDIS_ERR_PROTOCOL:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - malformed "
                         "answer from %s to %s: %s", r->endpoint, what, quoted);
        break;
    case REDIS_ERR_EOF:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - %s closed the "
                         "connection before answering %s", r->endpoint, what);
        break;
    case REDIS_ERR_OOM:
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "REDIS UNKNOWN - out of memory");
        break;
    case REDIS_ERR_IO:
        if (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT ||
            tocsin_check_remaining(chk) <= 0) {
            tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - no answer "
                             "from %s to %s within the check's timeout",
                             r->endpoint, what);
            tocsin_check_timed_out(chk);
            break;
        }
        /* fall through */
    default:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - %s from %s: %s",
                         what, r->endpoint, quoted);
        break;
    }
    return NULL;
}

/* 1 if the error reply `reply` starts with the code `code` ("NOAUTH"). */
static int redis_error_is(const redisReply *reply, const char *code)
{
    size_t n = strlen(code);

    return reply->len >= n && strncmp(reply->str, code, n) == 0 &&
           (reply->len == n || reply->str[n] == ' ');
}

/* The user that authenticates, as messages name it. */
static const char *redis_user(const struct redis *r)
{
    return r->user ? r->user : "default";
}

/* Turn an error reply to `what` into the result: authentication, loading
 * and the other errors each get their own message. */
static void redis_error_reply(const struct redis *r, struct tocsin_check *chk,
                              const char *what, const redisReply *reply)
{
    char quoted[REDIS_QUOTE_MAX + 1];

    redis_quote(reply->str, reply->len, quoted, sizeof(quoted));
    if (redis_error_is(reply, "NOAUTH")) {
        if (r->password)
            tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - "
                             "authentication failed for user %s: %s", redis_user(r),
                             quoted);
        else
            tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - "
                             "authentication failed for user default: %s requires "
                             "a password and none is configured", r->endpoint);
    } else if (redis_error_is(reply, "WRONGPASS") || strstr(quoted, "invalid password") ||
               strstr(quoted, "invalid username-password")) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - authentication "
                         "failed for user %s: %s", redis_user(r), quoted);
    } else if (strcmp(what, "AUTH") == 0 &&
               (strstr(quoted, "no password is set") ||
                strstr(quoted, "without any password configured"))) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - authentication "
                         "failed for user %s: a password is configured but %s "
                         "asks for none", redis_user(r), r->endpoint);
    } else if (strstr(quoted, "max number of clients reached")) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - %s rejected the "
                         "connection: max number of clients reached (maxclients)",
                         r->endpoint);
    } else if (redis_error_is(reply, "LOADING")) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - Redis is loading "
                         "the dataset in memory");
    } else if (redis_error_is(reply, "NOPERM")) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "REDIS UNKNOWN - user %s may not "
                         "run %s: %s", redis_user(r), what, quoted);
    } else if (redis_error_is(reply, "MASTERDOWN")) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - the link to the "
                         "master is down and this replica serves no stale data: %s",
                         quoted);
    } else {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - %s answered "
                         "with an error: %s", what, quoted);
    }
}

/* What a reply type is called in messages. */
static const char *redis_reply_kind(int type)
{
    switch (type) {
    case REDIS_REPLY_STRING: return "a bulk string";
    case REDIS_REPLY_ARRAY: return "an array";
    case REDIS_REPLY_INTEGER: return "an integer";
    case REDIS_REPLY_NIL: return "a nil";
    case REDIS_REPLY_STATUS: return "a status";
    case REDIS_REPLY_ERROR: return "an error";
    default: return "an unknown reply";
    }
}

/* ------------------------------------------------------------------ */
/* The check                                                           */
/* ------------------------------------------------------------------ */

/* Marker after a figure on the first line: "" when it is OK. */
static const char *redis_mark(enum tocsin_state s)
{
    switch (s) {
    case TOCSIN_WARNING: return " (WARNING)";
    case TOCSIN_CRITICAL: return " (CRITICAL)";
    case TOCSIN_UNKNOWN: return " (UNKNOWN)";
    default: return "";
    }
}

/* Round a figure that is never negative to `digits` decimals, for
 * perfdata that reads well. */
static double redis_round(double v, int digits)
{
    double f = 1;

    while (digits-- > 0)
        f *= 10;
    return (double)(unsigned long long)(v * f + 0.5) / f;
}

/*
 * Hold the lengths redis_measure_keys() found against their ranges: a key
 * beyond them, or one that could not be measured, goes on the first line
 * (all of them when there are three keys or fewer); every key has a line
 * of long output and, when measured, performance data. Returns the worst
 * state of the keys.
 */
static enum tocsin_state redis_judge_keys(const struct redis *r, struct tocsin_check *chk,
                                          struct redis_line *first)
{
    enum tocsin_state worst = TOCSIN_OK, s;
    char quoted[REDIS_QUOTE_MAX + 1];
    const struct redis_key *k;
    size_t i, fine = 0;

    for (i = 0; i < r->n_keys; i++) {
        k = &r->keys[i];
        redis_quote(k->name, strlen(k->name), quoted, sizeof(quoted));
        if (!k->measured) {
            s = TOCSIN_UNKNOWN;
            redis_line_add(first, ", key %s %s%s", quoted, k->why, redis_mark(s));
            tocsin_check_long(chk, "key %s: %s", quoted, k->why);
        } else {
            s = tocsin_thresholds_eval(&k->th, k->len);
            if (s != TOCSIN_OK || r->n_keys <= 3)
                redis_line_add(first, ", %s %g%s", quoted, k->len, redis_mark(s));
            else
                fine++;
            if (strcmp(k->type, "none") == 0)
                tocsin_check_long(chk, "key %s: absent, counted as 0", quoted);
            else if (strcmp(k->type, "string") == 0)
                tocsin_check_long(chk, "key %s: a string holding %g", quoted, k->len);
            else
                tocsin_check_long(chk, "key %s: %s of %g element%s (%s)", quoted,
                                  k->type, k->len, k->len == 1 ? "" : "s", k->how);
            tocsin_check_perf(chk, k->label, k->len, "", &k->th, 0, 0, 0);
        }
        worst = tocsin_state_worst(worst, s);
    }
    if (fine)
        redis_line_add(first, ", %zu other key%s within ranges", fine,
                       fine == 1 ? "" : "s");
    return worst;
}

/*
 * Judge a server from its INFO answer and the PING round trip, and fill
 * the result. Updates r->last with this check's counters. O(fields).
 */
static void redis_judge(struct redis *r, struct tocsin_check *chk,
                        const struct redis_info *info, double latency)
{
    struct redis_line first = { .len = 0 }, detail = { .len = 0 };
    enum tocsin_state state = TOCSIN_OK, s;
    unsigned long long clients, used, maxmemory = 0, maxclients = 0, peak, rss;
    unsigned long long hits = 0, misses = 0, rejected = 0, uptime, blocked;
    int have_stats, baseline = 0, restarted = 0;
    const char *role, *run_id, *version, *mode, *policy;
    char a[32], b[32];
    double pct;

    role = redis_info_get(info, "role");
    if (redis_info_ull(info, "connected_clients", &clients) < 0 ||
        redis_info_ull(info, "used_memory", &used) < 0 || !role) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - malformed "
                         "answer from %s to INFO: no %s field", r->endpoint,
                         !role ? "role" : redis_info_get(info, "connected_clients")
                         ? "used_memory" : "connected_clients");
        return;
    }
    (void)redis_info_ull(info, "maxmemory", &maxmemory);
    (void)redis_info_ull(info, "maxclients", &maxclients);
    have_stats = redis_info_ull(info, "keyspace_hits", &hits) == 0 &&
                 redis_info_ull(info, "keyspace_misses", &misses) == 0 &&
                 redis_info_ull(info, "rejected_connections", &rejected) == 0;
    run_id = redis_info_get(info, "run_id");
    if (!run_id)
        run_id = "";

    /* Server, for the long output. */
    version = redis_info_get(info, "redis_version");
    mode = redis_info_get(info, "redis_mode");
    if (redis_info_ull(info, "uptime_in_seconds", &uptime) == 0)
        tocsin_check_long(chk, "server: Redis %s%s%s%s, up %s",
                          version ? version : "(version not given)",
                          mode ? " (" : "", mode ? mode : "", mode ? ")" : "",
                          redis_duration(uptime, a, sizeof(a)));

    /* Latency. */
    s = tocsin_thresholds_eval(&r->latency, latency);
    state = tocsin_state_worst(state, s);
    if (latency < 0.0001)
        redis_line_add(&first, "PONG in %.2f ms%s", latency * 1000, redis_mark(s));
    else if (latency < 1)
        redis_line_add(&first, "PONG in %.1f ms%s", latency * 1000, redis_mark(s));
    else
        redis_line_add(&first, "PONG in %.2f s%s", latency, redis_mark(s));
    tocsin_check_perf(chk, "latency", redis_round(latency, 6), "s", &r->latency,
                      0, 0, TOCSIN_PERF_MIN);

    /* Clients. */
    s = tocsin_thresholds_eval(&r->clients, (double)clients);
    state = tocsin_state_worst(state, s);
    redis_line_add(&first, ", %llu client%s%s", clients, clients == 1 ? "" : "s",
                   redis_mark(s));
    tocsin_check_perf(chk, "clients", (double)clients, "", &r->clients, 0,
                      (double)maxclients,
                      TOCSIN_PERF_MIN | (maxclients ? TOCSIN_PERF_MAX : 0));
    if (redis_info_ull(info, "blocked_clients", &blocked) < 0)
        blocked = 0;
    redis_line_add(&detail, "clients: %llu connected, %llu blocked", clients, blocked);
    if (maxclients)
        redis_line_add(&detail, ", at most %llu (maxclients)", maxclients);
    tocsin_check_long(chk, "%s", detail.text);

    /* Memory. */
    detail.len = 0;
    detail.text[0] = '\0';
    redis_line_add(&detail, "memory: %s used", redis_size(used, a, sizeof(a)));
    if (redis_info_ull(info, "used_memory_peak", &peak) == 0)
        redis_line_add(&detail, ", %s at peak", redis_size(peak, a, sizeof(a)));
    if (redis_info_ull(info, "used_memory_rss", &rss) == 0)
        redis_line_add(&detail, ", %s resident", redis_size(rss, a, sizeof(a)));
    if (maxmemory > 0) {
        pct = 100.0 * (double)used / (double)maxmemory;
        s = tocsin_thresholds_eval(&r->memory, pct);
        state = tocsin_state_worst(state, s);
        redis_line_add(&first, ", memory %s of %s (%.0f%%)%s",
                       redis_size(used, a, sizeof(a)),
                       redis_size(maxmemory, b, sizeof(b)), pct, redis_mark(s));
        tocsin_check_perf(chk, "memory", redis_round(pct, 2), "%", &r->memory,
                          0, 100, TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
        redis_line_add(&detail, ", maxmemory %s", redis_size(maxmemory, a, sizeof(a)));
    } else {
        redis_line_add(&first, ", memory %s (no maxmemory set)",
                       redis_size(used, a, sizeof(a)));
        redis_line_add(&detail, ", no maxmemory set: memory thresholds not applied");
    }
    policy = redis_info_get(info, "maxmemory_policy");
    if (policy)
        redis_line_add(&detail, ", policy %s", policy);
    tocsin_check_long(chk, "%s", detail.text);
    tocsin_check_perf(chk, "used_memory", (double)used, "B", NULL, 0,
                      (double)maxmemory,
                      TOCSIN_PERF_MIN | (maxmemory ? TOCSIN_PERF_MAX : 0));

    /* Hit ratio and rejected connections, since the last check. */
    if (have_stats && r->last.set) {
        restarted = strcmp(r->last.run_id, run_id) != 0 ||
                    hits < r->last.hits || misses < r->last.misses ||
                    rejected < r->last.rejected;
        baseline = !restarted;
    }
    if (!have_stats) {
        tocsin_check_long(chk, "keyspace: no keyspace_hits, keyspace_misses or "
                          "rejected_connections in INFO");
    } else if (!baseline) {
        tocsin_check_long(chk, "keyspace: %llu hits, %llu misses since the server "
                          "started", hits, misses);
        tocsin_check_long(chk, "rejected connections: %llu since the server "
                          "started", rejected);
        tocsin_check_long(chk, "%sthe hit ratio and rejected connections are "
                          "measured between two checks: they start at the next "
                          "check", restarted ? "the server restarted or its "
                          "statistics were reset since the last check; " : "");
        tocsin_check_perf(chk, "hit_ratio", NAN, "%", &r->hit_ratio, 0, 100,
                          TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    } else {
        unsigned long long dh = hits - r->last.hits, dm = misses - r->last.misses;
        unsigned long long dr = rejected - r->last.rejected;

        if (dh + dm > 0) {
            pct = 100.0 * (double)dh / (double)(dh + dm);
            s = tocsin_thresholds_eval(&r->hit_ratio, pct);
            state = tocsin_state_worst(state, s);
            redis_line_add(&first, ", hit ratio %.0f%%%s", pct, redis_mark(s));
            tocsin_check_long(chk, "keyspace: %llu hit%s, %llu miss%s since the "
                              "last check (%.1f%%)", dh, dh == 1 ? "" : "s",
                              dm, dm == 1 ? "" : "es", pct);
            tocsin_check_perf(chk, "hit_ratio", redis_round(pct, 2), "%",
                              &r->hit_ratio, 0, 100,
                              TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
        } else {
            tocsin_check_long(chk, "keyspace: no key lookups since the last check");
            tocsin_check_perf(chk, "hit_ratio", NAN, "%", &r->hit_ratio, 0, 100,
                              TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
        }
        s = tocsin_thresholds_eval(&r->rejected, (double)dr);
        state = tocsin_state_worst(state, s);
        if (dr > 0 || s != TOCSIN_OK)
            redis_line_add(&first, ", %llu connection%s rejected since the last "
                           "check%s", dr, dr == 1 ? "" : "s", redis_mark(s));
        tocsin_check_long(chk, "rejected connections: %llu since the last check, "
                          "%llu since the server started", dr, rejected);
    }
    if (have_stats) {
        r->last.set = 1;
        snprintf(r->last.run_id, sizeof(r->last.run_id), "%s", run_id);
        r->last.hits = hits;
        r->last.misses = misses;
        r->last.rejected = rejected;
        tocsin_check_perf(chk, "rejected_connections", (double)rejected, "c",
                          NULL, 0, 0, TOCSIN_PERF_MIN);
    }

    /* Role and replication. */
    s = TOCSIN_OK;
    if ((r->role == REDIS_ROLE_MASTER && strcmp(role, "master") != 0) ||
        (r->role == REDIS_ROLE_SLAVE && strcmp(role, "slave") != 0))
        s = TOCSIN_CRITICAL;
    state = tocsin_state_worst(state, s);
    redis_line_add(&first, ", role %s", role);
    if (s != TOCSIN_OK)
        redis_line_add(&first, ", expected %s%s",
                       r->role == REDIS_ROLE_MASTER ? "master" : "slave",
                       redis_mark(s));
    if (strcmp(role, "slave") == 0) {
        const char *link = redis_info_get(info, "master_link_status");
        const char *mhost = redis_info_get(info, "master_host");
        const char *mport = redis_info_get(info, "master_port");
        long long down, io;

        detail.len = 0;
        detail.text[0] = '\0';
        redis_line_add(&detail, "replication: replica of %s:%s, link %s",
                       mhost ? mhost : "?", mport ? mport : "?", link ? link : "unknown");
        if (link && strcmp(link, "up") == 0) {
            if (redis_info_ll(info, "master_last_io_seconds_ago", &io) == 0 && io >= 0)
                redis_line_add(&detail, ", last I/O %lld s ago", io);
        } else {
            state = tocsin_state_worst(state, TOCSIN_CRITICAL);
            redis_line_add(&first, ", link to master %s:%s down",
                           mhost ? mhost : "?", mport ? mport : "?");
            if (redis_info_ll(info, "master_link_down_since_seconds", &down) == 0 &&
                down >= 0) {
                redis_line_add(&first, " for %s", redis_duration(
                                   (unsigned long long)down, a, sizeof(a)));
                redis_line_add(&detail, ", down for %lld s", down);
            } else {
                redis_line_add(&first, " since this server started");
            }
            redis_line_add(&first, "%s", redis_mark(TOCSIN_CRITICAL));
        }
        if (redis_info_get(info, "master_sync_in_progress") &&
            strcmp(redis_info_get(info, "master_sync_in_progress"), "0") != 0)
            redis_line_add(&detail, ", initial sync in progress");
        tocsin_check_long(chk, "%s", detail.text);
    } else if (strcmp(role, "master") == 0) {
        unsigned long long replicas = 0, i;
        char line_buf[REDIS_QUOTE_MAX + 1];

        (void)redis_info_ull(info, "connected_slaves", &replicas);
        tocsin_check_long(chk, "replication: master with %llu connected "
                          "replica%s", replicas, replicas == 1 ? "" : "s");
        for (i = 0; i < replicas && i < 64; i++) {
            const char *line;

            snprintf(b, sizeof(b), "slave%llu", i);
            line = redis_info_get(info, b);
            if (line)
                tocsin_check_long(chk, "replica %llu: %s", i,
                                  redis_quote(line, strlen(line), line_buf,
                                              sizeof(line_buf)));
        }
    }
    if (redis_info_get(info, "loading") &&
        strcmp(redis_info_get(info, "loading"), "0") != 0) {
        state = tocsin_state_worst(state, TOCSIN_CRITICAL);
        redis_line_add(&first, ", loading the dataset in memory%s",
                       redis_mark(TOCSIN_CRITICAL));
    }

    state = tocsin_state_worst(state, redis_judge_keys(r, chk, &first));
    tocsin_check_set(chk, state, "REDIS %s - %s", tocsin_state_name(state),
                     first.text);
}

/* The command that gives the length of a key of `type`, or NULL when
 * there is none ("none" and "string" are read otherwise). */
static const char *redis_length_command(const char *type)
{
    static const char *const map[][2] = {
        {"list", "LLEN"}, {"zset", "ZCARD"}, {"set", "SCARD"},
        {"stream", "XLEN"}, {"hash", "HLEN"},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(type, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* Store in `k` the number a string value holds, or why it holds none. */
static void redis_string_number(struct redis_key *k, const redisReply *reply)
{
    char text[64], *end;
    double d;

    if (reply->type == REDIS_REPLY_NIL) {
        /* Gone between TYPE and GET: as absent. */
        k->type = "none";
        k->len = 0;
        k->measured = 1;
        return;
    }
    if (reply->type == REDIS_REPLY_STRING && reply->len > 0 &&
        reply->len < sizeof(text)) {
        memcpy(text, reply->str, reply->len);
        text[reply->len] = '\0';
        errno = 0;
        d = strtod(text, &end);
        if (!isspace((unsigned char)text[0]) && *end == '\0' && errno == 0 &&
            isfinite(d)) {
            k->len = d;
            k->measured = 1;
            return;
        }
    }
    snprintf(k->why, sizeof(k->why), "is a string that is not a number");
}

/*
 * SELECT the configured database, then measure each key: TYPE, then the
 * command that counts its elements (LLEN, ZCARD, SCARD, XLEN, HLEN), or
 * GET for a string holding a number; an absent key counts 0. Two round
 * trips per key. Returns 0, or -1 when the server failed to answer (the
 * result is then set).
 */
static int redis_measure_keys(struct redis *r, redisContext *c, struct tocsin_check *chk)
{
    redisReply *reply;
    struct redis_key *k;
    const char *argv[2], *cmd;
    char db[24], quoted[REDIS_QUOTE_MAX + 1];
    size_t i;

    if (r->n_keys == 0)
        return 0;
    if (r->database != 0) {
        snprintf(db, sizeof(db), "%ld", r->database);
        argv[0] = "SELECT";
        argv[1] = db;
        if (!(reply = redis_command(r, c, chk, "SELECT", 2, argv)))
            return -1;
        if (reply->type == REDIS_REPLY_ERROR) {
            redis_error_reply(r, chk, "SELECT", reply);
            freeReplyObject(reply);
            return -1;
        }
        freeReplyObject(reply);
    }
    for (i = 0; i < r->n_keys; i++) {
        k = &r->keys[i];
        k->measured = 0;
        k->why[0] = '\0';
        k->how = "";
        argv[0] = "TYPE";
        argv[1] = k->name;
        if (!(reply = redis_command(r, c, chk, "TYPE", 2, argv)))
            return -1;
        if (reply->type == REDIS_REPLY_ERROR) {
            redis_error_reply(r, chk, "TYPE", reply);
            freeReplyObject(reply);
            return -1;
        }
        k->type = "?";
        if (reply->type == REDIS_REPLY_STATUS) {
            static const char *const types[] = {"none", "string", "list", "set", "zset",
                                                "hash", "stream"};
            size_t t;

            for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
                if (reply->len == strlen(types[t]) &&
                    memcmp(reply->str, types[t], reply->len) == 0)
                    k->type = types[t];
            if (strcmp(k->type, "?") == 0)
                snprintf(k->why, sizeof(k->why), "is of type %s, whose length is not "
                         "measured", redis_quote(reply->str, reply->len, quoted,
                                                 sizeof(quoted)));
        } else {
            snprintf(k->why, sizeof(k->why), "got %s from TYPE",
                     redis_reply_kind(reply->type));
        }
        freeReplyObject(reply);
        if (strcmp(k->type, "?") == 0)
            continue;
        if (strcmp(k->type, "none") == 0) {
            k->len = 0;
            k->measured = 1;
            continue;
        }
        cmd = strcmp(k->type, "string") == 0 ? "GET" : redis_length_command(k->type);
        k->how = cmd;
        argv[0] = cmd;
        if (!(reply = redis_command(r, c, chk, cmd, 2, argv)))
            return -1;
        if (reply->type == REDIS_REPLY_ERROR) {
            redis_error_reply(r, chk, cmd, reply);
            freeReplyObject(reply);
            return -1;
        }
        if (strcmp(cmd, "GET") == 0) {
            redis_string_number(k, reply);
        } else if (reply->type == REDIS_REPLY_INTEGER) {
            k->len = (double)reply->integer;
            k->measured = 1;
        } else {
            snprintf(k->why, sizeof(k->why), "got %s from %s",
                     redis_reply_kind(reply->type), cmd);
        }
        freeReplyObject(reply);
    }
    return 0;
}

/* Connect, authenticate, PING and INFO, then judge what came back. One
 * round trip per command; the deadline bounds each of them. */
static void redis_check(void *instance, struct tocsin_check *chk)
{
    struct redis *r = instance;
    redisContext *c;
    redisReply *reply = NULL;
    struct redis_info info = { 0 };
    char quoted[REDIS_QUOTE_MAX + 1];
    double t0, latency;

    c = redis_connect(r, chk);
    if (!c)
        return;

    if (r->password) {
        const char *argv[3] = { "AUTH", NULL, NULL };
        int argc = 0;

        argv[++argc] = r->user ? r->user : r->password;
        if (r->user)
            argv[++argc] = r->password;
        reply = redis_command(r, c, chk, "AUTH", argc + 1, argv);
        if (!reply)
            goto out;
        if (reply->type == REDIS_REPLY_ERROR) {
            redis_error_reply(r, chk, "AUTH", reply);
            goto out;
        }
        freeReplyObject(reply);
        reply = NULL;
    }

    {
        const char *argv[1] = { "PING" };

        t0 = redis_now();
        reply = redis_command(r, c, chk, "PING", 1, argv);
        latency = redis_now() - t0;
    }
    if (!reply)
        goto out;
    if (reply->type == REDIS_REPLY_ERROR) {
        redis_error_reply(r, chk, "PING", reply);
        goto out;
    }
    if (reply->type != REDIS_REPLY_STATUS || reply->len != 4 ||
        strncmp(reply->str, "PONG", 4) != 0) {
        if (reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_STRING)
            tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - malformed "
                             "answer from %s to PING: \"%s\" instead of PONG",
                             r->endpoint, redis_quote(reply->str, reply->len,
                                                      quoted, sizeof(quoted)));
        else
            tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - malformed "
                             "answer from %s to PING: %s instead of PONG",
                             r->endpoint, redis_reply_kind(reply->type));
        goto out;
    }
    freeReplyObject(reply);

    {
        const char *argv[1] = { "INFO" };

        reply = redis_command(r, c, chk, "INFO", 1, argv);
    }
    if (!reply)
        goto out;
    if (reply->type == REDIS_REPLY_ERROR) {
        redis_error_reply(r, chk, "INFO", reply);
        goto out;
    }
    if (reply->type != REDIS_REPLY_STRING) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "REDIS CRITICAL - malformed answer "
                         "from %s to INFO: %s instead of a bulk string",
                         r->endpoint, redis_reply_kind(reply->type));
        goto out;
    }
    if (redis_info_parse(reply->str, reply->len, &info) < 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "REDIS UNKNOWN - out of memory");
        goto out;
    }
    if (redis_measure_keys(r, c, chk) < 0)
        goto out;
    redis_judge(r, chk, &info, latency);

out:
    redis_info_free(&info);
    if (reply)
        freeReplyObject(reply);
    redisFree(c);
}

/* Descriptions for --help; docs/check-redis.md tells more. */
static const struct tocsin_option_help redis_help[] = {
    { "host", "HOST",
      "host name or address (IPv4 or IPv6). A service's own host is passed too." },
    { "port", "PORT",
      "TCP port, 1..65535" },
    { "socket", NULL,
      "path of a unix socket; when set, host and port are not used" },
    { "user", "USER",
      "ACL user (Redis 6 and later): authenticates with AUTH user password" },
    { "password", "SECRET",
      "password, inline" },
    { "password_file", "FILE",
      "first line of this file is the password" },
    { "password_env", "VARIABLE",
      "environment variable holding the password" },
    { "role", NULL,
      "expected role: master, slave (or replica), any. A mismatch is CRITICAL." },
    { "db", NULL,
      "the database number (SELECT, as redis-cli -n) the keys are read in" },
    { "key", NULL,
      "keys whose length is judged" },
    { "latency_warning", NULL,
      "on the PING round trip, in seconds (0.05 alerts above 50 ms)" },
    { "latency_critical", NULL,
      "on the PING round trip, in seconds (0.05 alerts above 50 ms)" },
    { "memory_warning", NULL,
      "on used_memory as % of maxmemory; not applied when maxmemory is 0" },
    { "memory_critical", NULL,
      "on used_memory as % of maxmemory; not applied when maxmemory is 0" },
    { "clients_warning", NULL,
      "on connected_clients (the check's own connection included)" },
    { "clients_critical", NULL,
      "on connected_clients (the check's own connection included)" },
    { "hit_ratio_warning", NULL,
      "on the hit ratio in % since the last check; use 80: to alert below 80" },
    { "hit_ratio_critical", NULL,
      "on the hit ratio in % since the last check; use 80: to alert below 80" },
    { "rejected_warning", NULL,
      "on the connections rejected since the last check: by default any new "
      "rejection is a WARNING" },
    { "rejected_critical", NULL,
      "on the connections rejected since the last check: by default any new "
      "rejection is a WARNING" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .flags = TOCSIN_PLUGIN_STATEFUL,
    .name = "redis",
    .version = "0.1.0",
    .summary = "Redis reachability, latency, clients, memory, hit ratio, replication "
               "and key lengths",
    .options = redis_options,
    .help = redis_help,
    .setup = redis_setup,
    .teardown = redis_teardown,
    .check = redis_check,
);
