/*
 * pgsql.c - a PostgreSQL server: reachability, connect time, connections
 * used, cache-hit ratio, deadlock and rollback rates, replication lag on a
 * standby, and an optional custom query with a numeric result:
 *
 *   check = "pgsql"
 *   host = "db1.example.org"        # or a unix socket directory
 *   user = "monitor"
 *   password_file = "/etc/tocsin/pgsql.pass"
 *   connections_warning = "80"      # % of max_connections
 *   cache_hit_critical = "90:"      # alert below 90 %
 *   query = "SELECT count(*) FROM jobs WHERE state = 'stuck'"
 *   query_critical = "10"
 *   query_mode = "value"            # or "delta", "rate" for a counter
 *   rate_unit = "minute"            # rates per second, minute or hour
 *   rollback_ratio_warning = "5"    # % of transactions rolled back
 *   min_transactions = 10           # ... when at least 10 since last check
 *
 * Everything happens without blocking past the check's deadline: the
 * connection is made with PQconnectStartParams/PQconnectPoll and poll()
 * on the socket, queries are sent with PQsendQuery and waited for the same
 * way, and the session's statement_timeout is set from the time left so
 * that the server gives up on its own if the check does.
 *
 * Figures (all from one query, server-wide):
 *   connections    client backends in pg_stat_activity / max_connections
 *                  (exact with pg_monitor; see pgsql_read_stats)
 *   cache hit      blks_hit / (blks_hit + blks_read) of pg_stat_database,
 *                  over the interval since the previous check (cumulative
 *                  on the first one)
 *   rates          deadlocks, xact_commit and xact_rollback of
 *                  pg_stat_database per rate_unit since the previous check
 *                  (hence STATEFUL); a counter that went down, or a server
 *                  that restarted, counts from 0 again (common/counter.h)
 *   rollback ratio xact_rollback / (xact_commit + xact_rollback) over the
 *                  interval, judged from min_transactions transactions
 *   lag            on a standby: 0 when everything received is replayed,
 *                  else now() - pg_last_xact_replay_timestamp()
 *
 * The password goes to libpq only as a keyword value, never inside a
 * connection string, and every message that comes from libpq or the server
 * is scrubbed of it before it is shown. A malformed conninfo is refused
 * without echoing it, since it may hold a password.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "tocsin-plugin.h"
#include "common/counter.h"

/* Room for the first line, a cleaned message, and one query. */
#define PGSQL_TEXT_MAX 1024
#define PGSQL_MSG_MAX 512
#define PGSQL_SQL_MAX 1024

/* Secrets scrubbed from messages: the password option and, from
 * conninfo, password and sslpassword. */
#define PGSQL_SECRETS 3

/* Counters of pg_stat_database, summed over every database, with the
 * moment they were read. */
struct pgsql_counters {
    double blks_hit;
    double blks_read;
    double commits;
    double rollbacks;
    double deadlocks;
    double when;                  /* CLOCK_MONOTONIC seconds */
    char started[64];             /* pg_postmaster_start_time() as text */
};

/* What one check learnt from the statistics query. */
struct pgsql_stats {
    double connections;           /* client backends */
    double max_connections;
    int standby;                  /* pg_is_in_recovery() */
    int lag_known;                /* lag is meaningful */
    double lag;                   /* seconds behind the primary */
    struct pgsql_counters now;
};

struct pgsql {
    char *conninfo;               /* libpq string, or NULL for the pieces */
    char *host;                   /* name, address or socket directory */
    char port[8];
    char *database;
    char *user;                   /* NULL: libpq's default */
    char *password;               /* secret, or NULL */
    char *secrets[PGSQL_SECRETS]; /* scrubbed from messages; owned */
    const char *sslmode;          /* one of pgsql_tls_modes */
    char *ca_file;                /* NULL: libpq's default */
    char *query;                  /* custom query, or NULL */
    char *query_label;
    enum tocsin_counter_mode query_mode; /* value, delta or rate */
    double rate_unit;             /* seconds in the unit of every rate */
    const char *rate_shown;       /* that unit in messages: "s", "min", "h" */
    long first_window_ms;         /* a first check's time between samples */
    long min_transactions;        /* below it the rollback ratio is not judged */
    int judges_counters;          /* sample twice on a first check */
    struct tocsin_thresholds connect;
    struct tocsin_thresholds connections;
    struct tocsin_thresholds cache_hit;
    struct tocsin_thresholds deadlocks;
    struct tocsin_thresholds rollbacks;
    struct tocsin_thresholds commits;
    struct tocsin_thresholds rollback_ratio;
    struct tocsin_thresholds lag;
    struct tocsin_thresholds query_th;
    struct tocsin_thresholds query_time;
    /* Kept from one check to the next. */
    struct pgsql_counters prev;
    int have_prev;
    struct tocsin_counter query_counter; /* the custom query's value */
};

static const char *const pgsql_tls_modes[] = {
    "disable", "prefer", "require", "verify-ca", "verify-full"
};

static cfg_opt_t pgsql_options[] = {
    CFG_STR("conninfo", "", CFGF_NONE),
    CFG_STR("host", "127.0.0.1", CFGF_NONE),
    CFG_INT("port", 5432, CFGF_NONE),
    CFG_STR("database", "postgres", CFGF_NONE),
    CFG_STR("user", "", CFGF_NONE),
    CFG_STR("password", "", CFGF_NONE),
    CFG_STR("password_file", "", CFGF_NONE),
    CFG_STR("password_env", "", CFGF_NONE),
    CFG_STR("sslmode", "prefer", CFGF_NONE),
    CFG_STR("ca_file", "", CFGF_NONE),
    TOCSIN_OPT_RANGE("connect_warning", "2"),
    TOCSIN_OPT_RANGE("connect_critical", "8"),
    TOCSIN_OPT_RANGE("connections_warning", "80"),
    TOCSIN_OPT_RANGE("connections_critical", "90"),
    TOCSIN_OPT_RANGE("cache_hit_warning", ""),
    TOCSIN_OPT_RANGE("cache_hit_critical", ""),
    TOCSIN_OPT_RANGE("deadlocks_warning", ""),
    TOCSIN_OPT_RANGE("deadlocks_critical", ""),
    TOCSIN_OPT_RANGE("rollbacks_warning", ""),
    TOCSIN_OPT_RANGE("rollbacks_critical", ""),
    TOCSIN_OPT_RANGE("commits_warning", ""),
    TOCSIN_OPT_RANGE("commits_critical", ""),
    TOCSIN_OPT_RANGE("rollback_ratio_warning", ""),
    TOCSIN_OPT_RANGE("rollback_ratio_critical", ""),
    CFG_INT("min_transactions", 10, CFGF_NONE),
    CFG_STR("rate_unit", "second", CFGF_NONE),
    TOCSIN_OPT_DURATION("first_window", 1000),
    TOCSIN_OPT_RANGE("replication_lag_warning", "60"),
    TOCSIN_OPT_RANGE("replication_lag_critical", "300"),
    CFG_STR("query", "", CFGF_NONE),
    TOCSIN_OPT_RANGE("query_warning", ""),
    TOCSIN_OPT_RANGE("query_critical", ""),
    CFG_STR("query_label", "query", CFGF_NONE),
    CFG_STR("query_mode", "value", CFGF_NONE),
    TOCSIN_OPT_RANGE("query_time_warning", ""),
    TOCSIN_OPT_RANGE("query_time_critical", ""),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Setup.                                                              */
/* ------------------------------------------------------------------ */

static void pgsql_teardown(void *instance)
{
    struct pgsql *p = instance;
    size_t i;

    if (!p)
        return;
    free(p->conninfo);
    free(p->host);
    free(p->database);
    free(p->user);
    tocsin_secret_free(p->password);
    for (i = 0; i < PGSQL_SECRETS; i++)
        tocsin_secret_free(p->secrets[i]);
    free(p->ca_file);
    free(p->query);
    free(p->query_label);
    free(p);
}

/* Remember `value` as a secret to scrub from messages. Returns 0 or -1. */
static int pgsql_add_secret(struct pgsql *p, const char *value)
{
    size_t i;

    if (!value || !*value)
        return 0;
    for (i = 0; i < PGSQL_SECRETS; i++) {
        if (!p->secrets[i]) {
            p->secrets[i] = strdup(value);
            return p->secrets[i] ? 0 : -1;
        }
    }
    return 0;
}

/* Validate conninfo with libpq without ever showing it (libpq's reasons
 * quote pieces of the string, which may be pieces of a password), and keep
 * the passwords it holds so that they can be scrubbed from messages. The
 * options it replaces must keep their defaults. Returns 0, or -1 with a
 * reason in err. */
static int pgsql_setup_conninfo(struct pgsql *p, cfg_t *options, char *err,
                                size_t errlen)
{
    static const char *const pieces[][2] = {
        { "host", "host" }, { "port", "port" }, { "database", "dbname" },
        { "user", "user" }, { "sslmode", "sslmode" }, { "ca_file", "sslrootcert" }
    };
    PQconninfoOption *parsed, *o;
    char *why = NULL;
    size_t i;
    int rc = -1;

    parsed = PQconninfoParse(p->conninfo, &why);
    if (!parsed) {
        if (why)
            snprintf(err, errlen, "option 'conninfo' is not a valid libpq connection "
                     "string (keyword=value pairs with libpq's keywords, or a "
                     "postgresql:// URI); it is not shown because it may hold a "
                     "password");
        else
            snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (o = parsed; o->keyword; o++) {
        if (o->val && (strcmp(o->keyword, "password") == 0 ||
                       strcmp(o->keyword, "sslpassword") == 0) &&
            pgsql_add_secret(p, o->val) < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        cfg_opt_t *opt = cfg_getopt(options, pieces[i][0]);
        int changed;

        if (!opt)
            continue;
        if (opt->type == CFGT_INT) {
            changed = cfg_opt_getnint(opt, 0) != opt->def.number;
        } else {
            const char *v = cfg_opt_getnstr(opt, 0);

            changed = strcmp(v ? v : "", opt->def.string ? opt->def.string : "") != 0;
        }
        if (changed) {
            snprintf(err, errlen, "options 'conninfo' and '%s' are alternatives: "
                     "give %s=... inside conninfo", pieces[i][0], pieces[i][1]);
            goto out;
        }
    }
    rc = 0;
out:
    if (parsed)
        PQconninfoFree(parsed);
    PQfreemem(why);
    return rc;
}

/* Validate the options into a struct pgsql owned by the instance. The
 * password is resolved here, once. */
static int pgsql_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct pgsql *p;
    const char *tls = cfg_getstr(options, "sslmode");
    long port = cfg_getint(options, "port");
    char why[256];
    size_t i;
    int oom = 0;

    p = calloc(1, sizeof(*p));
    if (!p)
        goto oom;
    p->conninfo = tocsin_option_strdup(options, "conninfo", &oom);
    p->host = tocsin_option_strdup(options, "host", &oom);
    p->database = tocsin_option_strdup(options, "database", &oom);
    p->user = tocsin_option_strdup(options, "user", &oom);
    p->ca_file = tocsin_option_strdup(options, "ca_file", &oom);
    p->query = tocsin_option_strdup(options, "query", &oom);
    p->query_label = tocsin_option_strdup(options, "query_label", &oom);
    if (oom)
        goto oom;

    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "option 'port': %ld is not a TCP port (1-65535)", port);
        goto fail;
    }
    snprintf(p->port, sizeof(p->port), "%ld", port);
    for (i = 0; i < sizeof(pgsql_tls_modes) / sizeof(pgsql_tls_modes[0]); i++)
        if (tls && strcmp(tls, pgsql_tls_modes[i]) == 0)
            p->sslmode = pgsql_tls_modes[i];
    if (!p->sslmode) {
        snprintf(err, errlen, "option 'sslmode': \"%s\" is not one of disable, prefer, "
                 "require, verify-ca, verify-full", tls ? tls : "");
        goto fail;
    }
    if (p->ca_file && access(p->ca_file, R_OK) < 0) {
        snprintf(err, errlen, "option 'ca_file': cannot read %s: %s", p->ca_file,
                 strerror(errno));
        goto fail;
    }
    if (!p->conninfo && !p->host) {
        snprintf(err, errlen, "option 'host' is empty: give a host name, an address "
                 "or a unix socket directory");
        goto fail;
    }
    if (!p->query_label) {
        snprintf(err, errlen, "option 'query_label' is empty: it names the query's "
                 "figure in the output and the performance data");
        goto fail;
    }
    if (tocsin_option_secret(options, "password", &p->password, why,
                             sizeof(why)) < 0) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    if (pgsql_add_secret(p, p->password) < 0)
        goto oom;
    if (p->conninfo && pgsql_setup_conninfo(p, options, err, errlen) < 0)
        goto fail;

    if (tocsin_option_thresholds(options, "connect_warning",
                                 "connect_critical", &p->connect,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "connections_warning",
                                 "connections_critical", &p->connections,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "cache_hit_warning",
                                 "cache_hit_critical", &p->cache_hit,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "deadlocks_warning",
                                 "deadlocks_critical", &p->deadlocks,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "rollbacks_warning",
                                 "rollbacks_critical", &p->rollbacks,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "replication_lag_warning",
                                 "replication_lag_critical", &p->lag,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "commits_warning",
                                 "commits_critical", &p->commits,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "rollback_ratio_warning",
                                 "rollback_ratio_critical", &p->rollback_ratio,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "query_warning",
                                 "query_critical", &p->query_th,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "query_time_warning",
                                 "query_time_critical", &p->query_time,
                                 err, errlen) < 0)
        goto fail;
    if (!p->query && (p->query_th.warning.set || p->query_th.critical.set)) {
        snprintf(err, errlen, "options 'query_warning' and 'query_critical' need "
                 "option 'query'");
        goto fail;
    }
    if (!p->query && (p->query_time.warning.set || p->query_time.critical.set)) {
        snprintf(err, errlen, "options 'query_time_warning' and 'query_time_critical' "
                 "need option 'query'");
        goto fail;
    }
    if (tocsin_counter_mode_parse("query_mode", cfg_getstr(options, "query_mode"),
                                  &p->query_mode, err, errlen) < 0 ||
        tocsin_counter_unit_parse("rate_unit", cfg_getstr(options, "rate_unit"),
                                  &p->rate_unit, &p->rate_shown, err, errlen) < 0)
        goto fail;
    if (!p->query && p->query_mode != TOCSIN_COUNTER_VALUE) {
        snprintf(err, errlen, "option 'query_mode' needs option 'query', whose "
                 "value is a counter");
        goto fail;
    }
    p->first_window_ms = cfg_getint(options, "first_window");
    if (p->first_window_ms < 0 || p->first_window_ms > 60000) {
        snprintf(err, errlen, "option 'first_window' must be between 0 and 60 s");
        goto fail;
    }
    p->min_transactions = cfg_getint(options, "min_transactions");
    if (p->min_transactions < 0) {
        snprintf(err, errlen, "option 'min_transactions': %ld is negative",
                 p->min_transactions);
        goto fail;
    }
    p->judges_counters = (p->query && p->query_mode != TOCSIN_COUNTER_VALUE) ||
                         p->deadlocks.warning.set || p->deadlocks.critical.set ||
                         p->rollbacks.warning.set || p->rollbacks.critical.set ||
                         p->commits.warning.set || p->commits.critical.set ||
                         p->rollback_ratio.warning.set ||
                         p->rollback_ratio.critical.set;
    *instance = p;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    pgsql_teardown(p);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Text helpers.                                                       */
/* ------------------------------------------------------------------ */

/* A copy of `msg` with every secret replaced by "***", made before
 * anything is cut so that no part of a secret survives a cut. The caller
 * frees it; NULL when memory runs out. */
static char *pgsql_scrub(const struct pgsql *p, const char *msg)
{
    size_t len = strlen(msg), o = 0, i = 0, k, slen;
    char *out = malloc(len * 3 + 1);   /* "***" for a one-byte secret */

    if (!out)
        return NULL;
    while (msg[i]) {
        slen = 0;
        for (k = 0; k < PGSQL_SECRETS && !slen; k++)
            if (p->secrets[k] && strncmp(msg + i, p->secrets[k],
                                         strlen(p->secrets[k])) == 0)
                slen = strlen(p->secrets[k]);
        if (slen) {
            memcpy(out + o, "***", 3);
            o += 3;
            i += slen;
        } else {
            out[o++] = msg[i++];
        }
    }
    out[o] = '\0';
    return out;
}

/* Copy `msg` into out (len bytes) fit for one line of output: secrets are
 * replaced by "***", libpq's "connection to server at ... failed: "
 * prefixes, "FATAL:  " and "ERROR:  " tags and indented hint lines are
 * dropped, and the remaining lines are joined with "; ". Returns out. */
static const char *pgsql_clean(const struct pgsql *p, const char *msg, char *out,
                               size_t len)
{
    char *scrubbed = pgsql_scrub(p, msg ? msg : "");
    const char *line = scrubbed, *end;
    size_t used = 0;

    out[0] = '\0';
    if (!scrubbed) {
        snprintf(out, len, "(out of memory)");
        return out;
    }
    while (*line) {
        const char *cut;
        size_t n;

        end = line + strcspn(line, "\n");
        n = (size_t)(end - line);
        if (n > 0 && line[0] != '\t' && line[0] != ' ') {
            if ((strncmp(line, "connection to server ", 21) == 0) &&
                (cut = strstr(line, " failed: ")) && cut < end) {
                cut += 9;
                n = (size_t)(end - cut);
                line = cut;
            }
            if (n >= 8 && (strncmp(line, "FATAL:  ", 8) == 0 ||
                           strncmp(line, "ERROR:  ", 8) == 0)) {
                line += 8;
                n -= 8;
            }
            while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\r'))
                n--;
            if (n > 0)
                tocsin_append(out, len, &used, "%s%.*s", used ? "; " : "",
                             (int)n, line);
        }
        line = *end ? end + 1 : end;
    }
    free(scrubbed);
    return out;
}

/* Where the check connects, for messages: "127.0.0.1:5432" or "socket
 * /run/postgresql/.s.PGSQL.5432". Returns buf. */
static const char *pgsql_target(const struct pgsql *p, PGconn *conn, char *buf,
                                size_t len)
{
    const char *host = conn ? PQhost(conn) : NULL;
    const char *port = conn ? PQport(conn) : NULL;

    if (!host || !*host)
        host = p->conninfo ? "the server named in conninfo" : p->host;
    if (!port || !*port)
        port = p->port;
    if (host[0] == '/')
        snprintf(buf, len, "socket %s/.s.PGSQL.%s", host, port);
    else if (strchr(host, ':'))
        snprintf(buf, len, "[%s]:%s", host, port);
    else
        snprintf(buf, len, "%s:%s", host, port);
    return buf;
}

/* `value` rounded to `decimals` places, for performance data that reads
 * well (0.0134 s, 98.54 %). */
static double pgsql_round(double value, int decimals)
{
    double scale = 1;

    while (decimals-- > 0)
        scale *= 10;
    return (double)(long long)(value * scale + (value < 0 ? -0.5 : 0.5)) / scale;
}

/* Monotonic clock in seconds. */
static double pgsql_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait until `fd` is ready for `events` or the check's deadline passes.
 * Returns 1 when ready, 0 at the deadline, -1 on a poll error (errno). */
static int pgsql_wait(int fd, short events, struct tocsin_check *chk)
{
    struct pollfd pfd;

    for (;;) {
        double left = tocsin_check_remaining(chk);
        int ms, n;

        if (left <= 0)
            return 0;
        ms = (int)(left * 1000);
        if (ms < 1)
            ms = 1;
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        n = poll(&pfd, 1, ms);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* libpq prints notices to stderr by default: keep them out of the way. */
static void pgsql_ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* ------------------------------------------------------------------ */
/* Connecting.                                                         */
/* ------------------------------------------------------------------ */

/* Turn a failed connection into a CRITICAL result a person can act on.
 * libpq's own text, scrubbed, goes to the long output when it says more
 * than the first line. */
static void pgsql_connect_failed(const struct pgsql *p, PGconn *conn,
                                 struct tocsin_check *chk)
{
    const char *raw = conn ? PQerrorMessage(conn) : "out of memory";
    const char *user = conn ? PQuser(conn) : NULL;
    char msg[PGSQL_MSG_MAX], target[300], head[PGSQL_TEXT_MAX];
    const char *db, *q;

    pgsql_clean(p, raw, msg, sizeof(msg));
    pgsql_target(p, conn, target, sizeof(target));
    if (!user || !*user)
        user = p->user ? p->user : "(default)";

    if (strstr(raw, "Connection refused")) {
        snprintf(head, sizeof(head), "connection refused to %s", target);
    } else if (strstr(raw, "no password supplied")) {
        snprintf(head, sizeof(head), "authentication failed for user %s: the server "
                 "asks for a password and none is configured", user);
    } else if (strstr(raw, "authentication failed for user") ||
               strstr(raw, "no pg_hba.conf entry") ||
               (strstr(raw, "role \"") && strstr(raw, "\" does not exist"))) {
        snprintf(head, sizeof(head), "authentication failed for user %s", user);
    } else if ((db = strstr(msg, "database \"")) &&
               (q = strstr(db + 10, "\" does not exist"))) {
        snprintf(head, sizeof(head), "%.*s", (int)(q + 16 - db), db);
    } else if (strstr(raw, "could not translate host name")) {
        snprintf(head, sizeof(head), "cannot resolve the host name of %s", target);
    } else if (strstr(raw, "No such file or directory") &&
               strncmp(target, "socket ", 7) == 0) {
        snprintf(head, sizeof(head), "no server listens on %s", target);
    } else if (strstr(raw, "invalid response to SSL negotiation") ||
               strstr(raw, "expected authentication request") ||
               strstr(raw, "received invalid response") ||
               strstr(raw, "unexpected message from server") ||
               strstr(raw, "invalid message") ||
               strstr(raw, "closed the connection unexpectedly") ||
               strstr(raw, "wrong version number") ||
               strstr(raw, "packet length")) {
        snprintf(head, sizeof(head), "unexpected answer from %s (is it a PostgreSQL "
                 "server?): %s", target, msg);
    } else {
        snprintf(head, sizeof(head), "cannot connect to %s: %s", target, msg);
    }
    tocsin_check_set(chk, TOCSIN_CRITICAL, "PGSQL CRITICAL - %s", head);
    if (*msg && !strstr(head, msg))
        tocsin_check_long(chk, "libpq: %s", msg);
}

/* Connect without blocking past the deadline. Returns the connection, or
 * NULL with the check's result set (a failure or a timeout). */
static PGconn *pgsql_connect(const struct pgsql *p, struct tocsin_check *chk)
{
    const char *keys[12], *values[12];
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    char target[300];
    PGconn *conn;
    int n = 0, expand = 0, ready;

    if (p->conninfo) {
        keys[n] = "dbname"; values[n++] = p->conninfo;
        expand = 1;
    } else {
        keys[n] = "host"; values[n++] = p->host;
        keys[n] = "port"; values[n++] = p->port;
        keys[n] = "dbname"; values[n++] = p->database;
        keys[n] = "sslmode"; values[n++] = p->sslmode;
        if (p->user) {
            keys[n] = "user"; values[n++] = p->user;
        }
        if (p->ca_file) {
            keys[n] = "sslrootcert"; values[n++] = p->ca_file;
        }
    }
    if (p->password) {
        keys[n] = "password"; values[n++] = p->password;
    }
    keys[n] = "fallback_application_name"; values[n++] = "tocsin";
    keys[n] = NULL; values[n] = NULL;

    conn = PQconnectStartParams(keys, values, expand);
    if (!conn || PQstatus(conn) == CONNECTION_BAD)
        goto failed;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            goto failed;
        ready = pgsql_wait(PQsocket(conn), st == PGRES_POLLING_READING
                           ? POLLIN : POLLOUT, chk);
        if (ready == 0) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "PGSQL UNKNOWN - no answer from "
                             "%s before the timeout",
                             pgsql_target(p, conn, target, sizeof(target)));
            tocsin_check_timed_out(chk);
            PQfinish(conn);
            return NULL;
        }
        if (ready < 0) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "PGSQL UNKNOWN - poll: %s",
                             strerror(errno));
            PQfinish(conn);
            return NULL;
        }
        st = PQconnectPoll(conn);
    }
    PQsetNoticeProcessor(conn, pgsql_ignore_notice, NULL);
    if (PQsetnonblocking(conn, 1) != 0)
        goto failed;
    return conn;

failed:
    pgsql_connect_failed(p, conn, chk);
    PQfinish(conn);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Queries.                                                            */
/* ------------------------------------------------------------------ */

/* Send `sql` (one or more statements) and wait for all its results until
 * the deadline. Returns the last result (the caller PQclears it; an error
 * ends the statements, so it is the last), or NULL when the connection
 * failed (PQerrorMessage says why) or, with *timed_out set, when the
 * deadline passed. At the deadline the connection is simply closed: the
 * session's statement_timeout makes the server stop on its own, whereas
 * PQcancel could block. */
static PGresult *pgsql_exec(PGconn *conn, struct tocsin_check *chk,
                            const char *sql, int *timed_out)
{
    PGresult *last = NULL, *res;
    int fd = PQsocket(conn), flushed, ready;

    *timed_out = 0;
    if (!PQsendQuery(conn, sql))
        return NULL;
    for (;;) {
        flushed = PQflush(conn);
        if (flushed < 0)
            goto fail;
        while (flushed == 0 && !PQisBusy(conn)) {
            res = PQgetResult(conn);
            if (!res) {
                const char *code = last ? PQresultErrorField(last, PG_DIAG_SQLSTATE) : NULL;

                /* 57014 query_canceled: the statement_timeout set from the
                 * time left ran out on the server just before it did here. */
                if (code && strcmp(code, "57014") == 0) {
                    *timed_out = 1;
                    goto fail;
                }
                return last;
            }
            PQclear(last);
            last = res;
        }
        ready = pgsql_wait(fd, flushed ? POLLIN | POLLOUT : POLLIN, chk);
        if (ready == 0) {
            *timed_out = 1;
            goto fail;
        }
        if (ready < 0 || !PQconsumeInput(conn))
            goto fail;
    }
fail:
    PQclear(last);
    return NULL;
}

/* The server's text for a failed result, cleaned. Returns out. */
static const char *pgsql_result_error(const struct pgsql *p, PGconn *conn,
                                      const PGresult *res, char *out, size_t len)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    if (primary)
        return pgsql_clean(p, primary, out, len);
    if (res && *PQresultErrorMessage(res))
        return pgsql_clean(p, PQresultErrorMessage(res), out, len);
    return pgsql_clean(p, PQerrorMessage(conn), out, len);
}

/* 1 when `text` is entirely a number (surrounding blanks allowed), with
 * the number in *value. */
static int pgsql_number(const char *text, double *value)
{
    char *end;

    if (!text || !*text)
        return 0;
    errno = 0;
    *value = strtod(text, &end);
    if (end == text || errno == ERANGE)
        return 0;
    while (*end == ' ' || *end == '\t' || *end == '\n')
        end++;
    return *end == '\0';
}

/* Read the server-wide figures in one round trip, with statement_timeout
 * set from the time left first. Returns 0, 1 when the query failed (the
 * reason in why), or -1 when the deadline passed. */
static int pgsql_read_stats(const struct pgsql *p, PGconn *conn,
                            struct tocsin_check *chk, struct pgsql_stats *s,
                            char *why, size_t whylen)
{
    /* Client backends are what max_connections limits; before 10 the view
     * held nothing else. A role without pg_read_all_stats (pg_monitor)
     * does not see the backend_type of other roles' sessions: those
     * connected to a database count then, which may include a few
     * autovacuum or parallel workers. Lag is 0 while everything received
     * is replayed: an idle primary sends nothing to replay. */
    static const char *const v10 =
        "SELECT (SELECT count(*) FROM pg_stat_activity"
        "        WHERE backend_type = 'client backend'"
        "           OR (backend_type IS NULL AND datid IS NOT NULL)),"
        " current_setting('max_connections'),"
        " sum(blks_hit), sum(blks_read), sum(xact_rollback), sum(deadlocks),"
        " sum(xact_commit),"
        " pg_is_in_recovery(),"
        " CASE WHEN NOT pg_is_in_recovery() THEN NULL"
        "      WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
        "      ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END,"
        " pg_postmaster_start_time()"
        " FROM pg_stat_database";
    static const char *const v9 =
        "SELECT (SELECT count(*) FROM pg_stat_activity),"
        " current_setting('max_connections'),"
        " sum(blks_hit), sum(blks_read), sum(xact_rollback), sum(deadlocks),"
        " sum(xact_commit),"
        " pg_is_in_recovery(),"
        " CASE WHEN NOT pg_is_in_recovery() THEN NULL"
        "      WHEN pg_last_xlog_receive_location() = pg_last_xlog_replay_location() THEN 0"
        "      ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END,"
        " pg_postmaster_start_time()"
        " FROM pg_stat_database";
    double *numbers[] = { &s->connections, &s->max_connections, &s->now.blks_hit,
                          &s->now.blks_read, &s->now.rollbacks, &s->now.deadlocks,
                          &s->now.commits };
    char sql[PGSQL_SQL_MAX * 2];
    long timeout_ms = (long)(tocsin_check_remaining(chk) * 1000);
    PGresult *res;
    int timed_out, i, rc = 1;

    if (timeout_ms < 1)
        timeout_ms = 1;
    snprintf(sql, sizeof(sql), "SET statement_timeout = %ld; %s", timeout_ms,
             PQserverVersion(conn) >= 100000 ? v10 : v9);
    res = pgsql_exec(conn, chk, sql, &timed_out);
    if (timed_out)
        return -1;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgsql_result_error(p, conn, res, why, whylen);
        goto out;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 10) {
        snprintf(why, whylen, "unexpected answer: %d rows of %d columns",
                 PQntuples(res), PQnfields(res));
        goto out;
    }
    for (i = 0; i < 7; i++) {
        if (!pgsql_number(PQgetvalue(res, 0, i), numbers[i])) {
            snprintf(why, whylen, "unexpected answer: column %d is \"%.40s\", not "
                     "a number", i + 1, PQgetvalue(res, 0, i));
            goto out;
        }
    }
    s->standby = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
    s->lag_known = s->standby && !PQgetisnull(res, 0, 8) &&
                   pgsql_number(PQgetvalue(res, 0, 8), &s->lag);
    if (s->lag_known && s->lag < 0)
        s->lag = 0;           /* the two clocks disagree a little */
    snprintf(s->now.started, sizeof(s->now.started), "%s", PQgetvalue(res, 0, 9));
    s->now.when = pgsql_now();
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The check.                                                          */
/* ------------------------------------------------------------------ */

/* Append ", <figure text>" to the first line, with ", warning)" or
 * ", critical)" folded into its closing parenthesis (or " (warning)"
 * added) when `state` alerts. */
static void pgsql_figure(char *line, size_t len, size_t *used,
                         enum tocsin_state state, const char *text)
{
    size_t n = strlen(text);
    const char *word = state == TOCSIN_CRITICAL ? "critical"
                     : state == TOCSIN_WARNING ? "warning" : NULL;

    if (!word)
        tocsin_append(line, len, used, ", %s", text);
    else if (n > 0 && text[n - 1] == ')')
        tocsin_append(line, len, used, ", %.*s, %s)", (int)(n - 1), text, word);
    else
        tocsin_append(line, len, used, ", %s (%s)", text, word);
}

/* A rate as the first line shows it: "0.25 deadlocks/s". */
static void pgsql_rate_text(char *buf, size_t len, double rate, const char *what,
                            const char *unit)
{
    snprintf(buf, len, rate != 0 && rate < 0.01 ? "%.2g %s/%s" : "%.2f %s/%s", rate,
             what, unit);
}

/* The custom query's figure: its value or, in delta and rate mode, the
 * change of that value (a counter) since the previous check, kept in
 * p->query_counter. Returns its state, or -1 when there is no figure yet. */
static int pgsql_query_figure(struct pgsql *p, struct tocsin_check *chk, double value,
                              int64_t at_us, char *line, size_t len, size_t *used)
{
    struct tocsin_counter_change ch;
    const char *what = p->query_mode == TOCSIN_COUNTER_RATE ? "rate" : "delta";
    enum tocsin_state state;
    char text[PGSQL_MSG_MAX];
    double figure;

    if (p->query_mode == TOCSIN_COUNTER_VALUE) {
        state = tocsin_thresholds_eval(&p->query_th, value);
        snprintf(text, sizeof(text), "%s %g", p->query_label, value);
        pgsql_figure(line, len, used, state, text);
        tocsin_check_perf(chk, p->query_label, value, "", &p->query_th, 0, 0, 0);
        return (int)state;
    }
    switch (tocsin_counter_update(&p->query_counter, value, at_us, &ch)) {
    case TOCSIN_COUNTER_FIRST:
        tocsin_check_long(chk, "query value %g; no %s yet: it starts at the next "
                          "check", value, what);
        return -1;
    case TOCSIN_COUNTER_STALLED:
        tocsin_check_long(chk, "query value %g; no time passed since the last check: "
                          "the %s starts at the next check", value, what);
        return -1;
    case TOCSIN_COUNTER_RESET:
        tocsin_check_long(chk, "query value %g went back since the last check: "
                          "counted from 0", value);
        break;
    case TOCSIN_COUNTER_INCREASE:
        break;
    }
    figure = tocsin_counter_figure(p->query_mode, &ch, p->rate_unit);
    state = tocsin_thresholds_eval(&p->query_th, figure);
    if (p->query_mode == TOCSIN_COUNTER_RATE)
        pgsql_rate_text(text, sizeof(text), figure, p->query_label, p->rate_shown);
    else
        snprintf(text, sizeof(text), "%s +%g in %.1f s", p->query_label, figure,
                 ch.seconds);
    pgsql_figure(line, len, used, state, text);
    tocsin_check_long(chk, "query value %g (+%.15g in %.3f s)", value, ch.increase,
                      ch.seconds);
    tocsin_check_perf(chk, p->query_label, figure, "", &p->query_th, 0, 0,
                      TOCSIN_PERF_MIN);
    return (int)state;
}

/* Run the custom query and add its figure and the time it took. With
 * `baseline` (the first sample of a first check in delta or rate mode)
 * only the counter's sample is kept; a failure is left to the run that
 * follows. Returns the state it earns, or -1 when the deadline passed. */
static int pgsql_custom_query(struct pgsql *p, PGconn *conn,
                              struct tocsin_check *chk, char *line, size_t len,
                              size_t *used, char *problem, size_t plen, int baseline)
{
    char msg[PGSQL_MSG_MAX], text[PGSQL_MSG_MAX];
    struct tocsin_counter_change ch;
    enum tocsin_state state = TOCSIN_OK, ts;
    PGresult *res;
    double value, took;
    int64_t t0, t1;
    int timed_out, fs;
    const char *cell;

    t0 = tocsin_counter_now_us();
    res = pgsql_exec(conn, chk, p->query, &timed_out);
    t1 = tocsin_counter_now_us();
    if (timed_out)
        return -1;
    if (baseline) {
        if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
            PQnfields(res) > 0 && !PQgetisnull(res, 0, 0) &&
            pgsql_number(PQgetvalue(res, 0, 0), &value))
            tocsin_counter_update(&p->query_counter, value, t1, &ch);
        goto out;
    }
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res && (PQresultStatus(res) == PGRES_COMMAND_OK ||
                    PQresultStatus(res) == PGRES_EMPTY_QUERY))
            snprintf(problem, plen, "query returned no result: its last statement "
                     "is not a SELECT");
        else
            snprintf(problem, plen, "query failed: %s",
                     pgsql_result_error(p, conn, res, msg, sizeof(msg)));
        state = TOCSIN_CRITICAL;
        goto out;
    }
    took = (double)(t1 - t0) / 1e6;
    ts = tocsin_thresholds_eval(&p->query_time, took);
    state = ts;
    tocsin_check_long(chk, "query took %.4f s", took);
    tocsin_check_perf(chk, "query_time", pgsql_round(took, 6), "s", &p->query_time,
                      0, 0, TOCSIN_PERF_MIN);
    if (PQntuples(res) < 1 || PQnfields(res) < 1) {
        snprintf(problem, plen, "query returned no rows");
        state = tocsin_state_worst(state, TOCSIN_WARNING);
        goto timed;
    }
    cell = PQgetvalue(res, 0, 0);
    if (PQgetisnull(res, 0, 0) || !pgsql_number(cell, &value)) {
        snprintf(problem, plen, "query returned %s%.60s%s, not a number",
                 PQgetisnull(res, 0, 0) ? "" : "\"",
                 PQgetisnull(res, 0, 0) ? "NULL" : pgsql_clean(p, cell, msg, sizeof(msg)),
                 PQgetisnull(res, 0, 0) ? "" : "\"");
        state = TOCSIN_CRITICAL;
        goto timed;
    }
    fs = pgsql_query_figure(p, chk, value, t1, line, len, used);
    if (fs >= 0)
        state = tocsin_state_worst(state, (enum tocsin_state)fs);
    /* A second column explains the figure, as check_pgsql's "Extra Info". */
    if (PQnfields(res) > 1 && !PQgetisnull(res, 0, 1))
        tocsin_check_long(chk, "%s: %s", p->query_label,
                          pgsql_clean(p, PQgetvalue(res, 0, 1), msg, sizeof(msg)));
timed:
    if (ts != TOCSIN_OK) {
        snprintf(text, sizeof(text), "query took %.3f s", took);
        pgsql_figure(line, len, used, ts, text);
    }
out:
    PQclear(res);
    return (int)state;
}

/* The rates of deadlocks, rollbacks and commits and the rollback ratio
 * since the previous check, from the counters kept in the instance. A
 * server that restarted, or counters that went down (pg_stat_reset),
 * count from 0 again. Returns the worst state they earn. */
static enum tocsin_state pgsql_rates(const struct pgsql *p, struct tocsin_check *chk,
                                     const struct pgsql_counters *now, char *line,
                                     size_t len, size_t *used)
{
    static const struct pgsql_counters zero;
    const struct pgsql_counters *base = &p->prev;
    enum tocsin_state state = TOCSIN_OK, fs;
    double span, deadlocks, rollbacks, commits, total, ratio;
    char text[PGSQL_MSG_MAX];

    if (!p->have_prev) {
        tocsin_check_long(chk, "deadlock, rollback and commit rates start at the "
                          "next check");
        return TOCSIN_OK;
    }
    span = now->when - p->prev.when;
    if (span < 0.001) {
        tocsin_check_long(chk, "no time passed since the last check: the rates "
                          "start at the next one");
        return TOCSIN_OK;
    }
    if (strcmp(p->prev.started, now->started) != 0) {
        base = &zero;
        tocsin_check_long(chk, "the server restarted since the last check: its "
                          "counters counted from 0");
    } else if (now->deadlocks < base->deadlocks || now->rollbacks < base->rollbacks ||
               now->commits < base->commits) {
        tocsin_check_long(chk, "the statistics were reset since the last check: "
                          "counted from 0");
    }
    deadlocks = tocsin_counter_increase(base->deadlocks, now->deadlocks);
    rollbacks = tocsin_counter_increase(base->rollbacks, now->rollbacks);
    commits = tocsin_counter_increase(base->commits, now->commits);
    tocsin_check_long(chk, "over the last %.3f s: %.0f deadlocks, %.0f rollbacks, "
                      "%.0f commits", span, deadlocks, rollbacks, commits);
    deadlocks = deadlocks / span * p->rate_unit;
    rollbacks = rollbacks / span * p->rate_unit;
    total = commits + tocsin_counter_increase(base->rollbacks, now->rollbacks);
    ratio = total > 0 ? 100.0 * (total - commits) / total : 0;
    commits = commits / span * p->rate_unit;

    fs = tocsin_thresholds_eval(&p->deadlocks, deadlocks);
    state = tocsin_state_worst(state, fs);
    pgsql_rate_text(text, sizeof(text), deadlocks, "deadlocks", p->rate_shown);
    pgsql_figure(line, len, used, fs, text);
    fs = tocsin_thresholds_eval(&p->rollbacks, rollbacks);
    state = tocsin_state_worst(state, fs);
    pgsql_rate_text(text, sizeof(text), rollbacks, "rollbacks", p->rate_shown);
    pgsql_figure(line, len, used, fs, text);
    fs = tocsin_thresholds_eval(&p->commits, commits);
    state = tocsin_state_worst(state, fs);
    pgsql_rate_text(text, sizeof(text), commits, "commits", p->rate_shown);
    pgsql_figure(line, len, used, fs, text);
    tocsin_check_perf(chk, "deadlocks_rate", pgsql_round(deadlocks, 4), "",
                      &p->deadlocks, 0, 0, TOCSIN_PERF_MIN);
    tocsin_check_perf(chk, "rollbacks_rate", pgsql_round(rollbacks, 4), "",
                      &p->rollbacks, 0, 0, TOCSIN_PERF_MIN);
    tocsin_check_perf(chk, "commits_rate", pgsql_round(commits, 4), "",
                      &p->commits, 0, 0, TOCSIN_PERF_MIN);

    if (total <= 0) {
        tocsin_check_long(chk, "rollback ratio: no transaction since the last check");
        return state;
    }
    ratio = pgsql_round(ratio, 2);
    tocsin_check_perf(chk, "rollback_ratio", ratio, "%", &p->rollback_ratio, 0, 100,
                      TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    if (total < (double)p->min_transactions) {
        tocsin_check_long(chk, "rollback ratio %.2f%% not judged: %.0f transactions "
                          "since the last check, min_transactions %ld", ratio, total,
                          p->min_transactions);
        return state;
    }
    fs = tocsin_thresholds_eval(&p->rollback_ratio, ratio);
    state = tocsin_state_worst(state, fs);
    snprintf(text, sizeof(text), "rollback ratio %.1f%%", ratio);
    pgsql_figure(line, len, used, fs, text);
    return state;
}

/* Connect, read the figures, run the custom query, and report. Keeps the
 * counters for the next check's rates. Costs one connection and two
 * round trips (three with a custom query). */
static void pgsql_check(void *instance, struct tocsin_check *chk)
{
    struct pgsql *p = instance;
    struct pgsql_stats s;
    enum tocsin_state state = TOCSIN_OK, fs;
    char line[PGSQL_TEXT_MAX], text[PGSQL_MSG_MAX], why[PGSQL_MSG_MAX];
    char problem[PGSQL_MSG_MAX] = "";
    size_t used = 0;
    double t0, connect_time, hit, read, pct;
    const char *version;
    PGconn *conn;
    int rc, fresh;

    memset(&s, 0, sizeof(s));
    t0 = pgsql_now();
    conn = pgsql_connect(p, chk);
    if (!conn)
        return;
    connect_time = pgsql_now() - t0;

    line[0] = '\0';
    fs = tocsin_thresholds_eval(&p->connect, connect_time);
    state = tocsin_state_worst(state, fs);
    tocsin_append(line, sizeof(line), &used, "connected to %s in %.3f s", PQdb(conn),
                 connect_time);
    if (fs != TOCSIN_OK)
        tocsin_append(line, sizeof(line), &used, " (%s)",
                     fs == TOCSIN_CRITICAL ? "critical" : "warning");
    tocsin_check_perf(chk, "connect_time", pgsql_round(connect_time, 6), "s",
                      &p->connect, 0, 0, TOCSIN_PERF_MIN);

    rc = pgsql_read_stats(p, conn, chk, &s, why, sizeof(why));
    if (rc == 0 && p->judges_counters && !p->have_prev && !p->query_counter.have) {
        /* A first check that judges counters: these are the baseline, the
         * next sample comes first_window later. */
        p->prev = s.now;
        p->have_prev = 1;
        if (p->query && p->query_mode != TOCSIN_COUNTER_VALUE &&
            pgsql_custom_query(p, conn, chk, line, sizeof(line), &used, why,
                               sizeof(why), 1) < 0)
            goto timed_out;
        tocsin_counter_wait(chk, p->first_window_ms);
        rc = pgsql_read_stats(p, conn, chk, &s, why, sizeof(why));
    }
    if (rc < 0)
        goto timed_out;
    if (rc > 0) {
        /* Reachable but not readable: say so, and keep the connect time. */
        state = tocsin_state_worst(state, TOCSIN_UNKNOWN);
        snprintf(problem, sizeof(problem),
                 "cannot read the server's statistics: %.400s", why);
        p->have_prev = 0;
        goto query;
    }
    version = PQparameterStatus(conn, "server_version");
    tocsin_check_long(chk, "PostgreSQL %s, %s", version ? version : "(version unknown)",
                      s.standby ? "standby (in recovery)" : "primary");

    /* Connections. */
    pct = s.max_connections > 0 ? 100.0 * s.connections / s.max_connections : 0;
    fs = tocsin_thresholds_eval(&p->connections, pct);
    state = tocsin_state_worst(state, fs);
    snprintf(text, sizeof(text), "%.0f/%.0f connections (%.0f%%)", s.connections,
             s.max_connections, pct);
    pgsql_figure(line, sizeof(line), &used, fs, text);
    tocsin_check_perf(chk, "connections", pgsql_round(pct, 2), "%", &p->connections,
                      0, 100, TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);

    /* Rates and the cache over the interval, when the previous counters
     * come from the same server run and none went backwards. */
    fresh = !p->have_prev || strcmp(p->prev.started, s.now.started) != 0 ||
            s.now.blks_hit < p->prev.blks_hit || s.now.blks_read < p->prev.blks_read ||
            s.now.when - p->prev.when < 0.001;
    hit = s.now.blks_hit;
    read = s.now.blks_read;
    if (!fresh && (s.now.blks_hit - p->prev.blks_hit) +
                  (s.now.blks_read - p->prev.blks_read) > 0) {
        hit = s.now.blks_hit - p->prev.blks_hit;
        read = s.now.blks_read - p->prev.blks_read;
        tocsin_check_long(chk, "cache hit over the last %.0f s: %.0f blocks from "
                          "the cache, %.0f read", s.now.when - p->prev.when, hit, read);
    } else {
        tocsin_check_long(chk, "cache hit since the statistics were reset: %.0f "
                          "blocks from the cache, %.0f read", hit, read);
    }
    if (hit + read > 0) {
        pct = 100.0 * hit / (hit + read);
        fs = tocsin_thresholds_eval(&p->cache_hit, pct);
        state = tocsin_state_worst(state, fs);
        snprintf(text, sizeof(text), "cache hit %.1f%%", pct);
        pgsql_figure(line, sizeof(line), &used, fs, text);
        tocsin_check_perf(chk, "cache_hit", pgsql_round(pct, 2), "%", &p->cache_hit,
                          0, 100, TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    }

    if (s.standby && s.lag_known) {
        fs = tocsin_thresholds_eval(&p->lag, s.lag);
        state = tocsin_state_worst(state, fs);
        snprintf(text, sizeof(text), "replication lag %.1f s", s.lag);
        pgsql_figure(line, sizeof(line), &used, fs, text);
        tocsin_check_perf(chk, "replication_lag", pgsql_round(s.lag, 3), "s", &p->lag,
                          0, 0, TOCSIN_PERF_MIN);
    } else if (s.standby) {
        tocsin_check_long(chk, "replication lag unknown: no transaction replayed "
                          "since the standby started");
    }

    state = tocsin_state_worst(state, pgsql_rates(p, chk, &s.now, line, sizeof(line),
                                                  &used));
    p->prev = s.now;
    p->have_prev = 1;

query:
    if (p->query) {
        char qproblem[PGSQL_MSG_MAX] = "";

        rc = pgsql_custom_query(p, conn, chk, line, sizeof(line), &used,
                                qproblem, sizeof(qproblem), 0);
        if (rc < 0)
            goto timed_out;
        state = tocsin_state_worst(state, (enum tocsin_state)rc);
        if (*qproblem) {
            if (*problem)
                tocsin_check_long(chk, "%s", qproblem);
            else
                snprintf(problem, sizeof(problem), "%s", qproblem);
        }
    }

    /* A problem leads the line; the figures follow. */
    if (*problem)
        tocsin_check_set(chk, state, "PGSQL %s - %s; %s", tocsin_state_name(state),
                         problem, line);
    else
        tocsin_check_set(chk, state, "PGSQL %s - %s", tocsin_state_name(state), line);
    PQfinish(conn);
    return;

timed_out:
    tocsin_check_set(chk, TOCSIN_UNKNOWN, "PGSQL UNKNOWN - %s; a query did not "
                     "finish before the timeout", line);
    tocsin_check_timed_out(chk);
    PQfinish(conn);
}

/* Descriptions for --help; docs/check-pgsql.md tells more. */
static const struct tocsin_option_help pgsql_help[] = {
    { "conninfo", NULL,
      "a libpq connection string" },
    { "host", "HOST",
      "host name or address; a path (/run/postgresql) is a unix socket directory" },
    { "port", "PORT",
      "TCP port, or the socket's number" },
    { "database", NULL,
      "database to connect to" },
    { "user", "USER",
      "role to log in as; empty: libpq's default (PGUSER, else the system user)" },
    { "password", "SECRET",
      "the role's password, inline" },
    { "password_file", "FILE",
      "read the password from the first line of this file" },
    { "password_env", "VARIABLE",
      "read the password from this environment variable" },
    { "sslmode", NULL,
      "as libpq's sslmode: disable, prefer, require, verify-ca, verify-full" },
    { "ca_file", "FILE",
      "CA certificates to verify the server with (libpq sslrootcert)" },
    { "connect_warning", NULL,
      "seconds to connect and log in (check_pgsql's defaults)" },
    { "connect_critical", NULL,
      "seconds to connect and log in (check_pgsql's defaults)" },
    { "connections_warning", NULL,
      "% of max_connections used" },
    { "connections_critical", NULL,
      "% of max_connections used" },
    { "cache_hit_warning", NULL,
      "cache-hit %; alert below with \"90:\"" },
    { "cache_hit_critical", NULL,
      "cache-hit %; alert below with \"90:\"" },
    { "deadlocks_warning", NULL,
      "deadlocks per second; \"0\" alerts on any" },
    { "deadlocks_critical", NULL,
      "deadlocks per second; \"0\" alerts on any" },
    { "rollbacks_warning", NULL,
      "rolled-back transactions per second" },
    { "rollbacks_critical", NULL,
      "rolled-back transactions per second" },
    { "replication_lag_warning", NULL,
      "seconds a standby is behind" },
    { "replication_lag_critical", NULL,
      "seconds a standby is behind" },
    { "query", NULL,
      "SQL whose first column of the first row is a number" },
    { "query_warning", NULL,
      "thresholds on that number (need query)" },
    { "query_critical", NULL,
      "thresholds on that number (need query)" },
    { "query_label", NULL,
      "the custom query's name in the output and performance data" },
    { "commits_warning", NULL,
      "on committed transactions per rate_unit since the last check" },
    { "commits_critical", NULL,
      "on committed transactions per rate_unit since the last check" },
    { "min_transactions", NULL,
      "transactions ended in the interval below which the rollback ratio is not judged" },
    TOCSIN_COUNTER_HELP,
    { "rollback_ratio_warning", NULL,
      "on rolled-back transactions as % of those ended since the last check (see min_transactions)" },
    { "rollback_ratio_critical", NULL,
      "on rolled-back transactions as % of those ended since the last check (see min_transactions)" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .flags = TOCSIN_PLUGIN_STATEFUL,
    .name = "pgsql",
    .version = "0.1.0",
    .summary = "PostgreSQL: connect time, connections, cache hit, deadlocks, "
               "commits, rollback ratio, replication lag, custom query",
    .options = pgsql_options,
    .help = pgsql_help,
    .setup = pgsql_setup,
    .teardown = pgsql_teardown,
    .check = pgsql_check,
);
