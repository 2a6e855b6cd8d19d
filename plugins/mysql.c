/*
 * mysql.c - a MariaDB or MySQL server: whether it takes connections and
 * how fast, how full its connection table is, how busy it is, how many
 * slow queries it runs, how far behind its primary it is when it is a
 * replica, and the numeric result of a query of your own:
 *
 *   check = "mysql"
 *   host = "db1.example.org"           # or socket = "/run/mysqld/mysqld.sock"
 *   user = "monitor"
 *   password_file = "/etc/tocsin/mysql.pw"
 *   connections_warning = "80"         # % of max_connections
 *   replication_lag_critical = "300"   # seconds behind the primary
 *   query = "SELECT COUNT(*) FROM app.sessions"
 *   query_label = "sessions"
 *   query_warning = "100000"
 *   query_mode = "value"               # or "delta", "rate" for a counter
 *   rate_unit = "minute"               # rates per second, minute or hour
 *   deadlocks_warning = "1"            # Innodb_deadlocks per rate_unit
 *
 * Figures come from SHOW GLOBAL STATUS (Threads_connected, Threads_running,
 * Slow_queries, Innodb_deadlocks, Uptime), SHOW GLOBAL VARIABLES
 * (max_connections) and SHOW REPLICA STATUS, or SHOW SLAVE STATUS on
 * servers that predate it. The slow query and deadlock rates, and a custom
 * query in delta or rate mode, are the change of a counter between two
 * checks of the same service, so the instance keeps the last samples (the
 * plugin is stateful; see common/counter.h). A first check that judges a
 * counter samples twice, first_window apart. MariaDB Connector/C does the
 * talking; it reads no option file, so only this service's options apply.
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "tocsin-plugin.h"
#include "common/counter.h"

/* Server error codes (mysqld_error.h), named here to avoid depending on
 * which headers a given Connector/C ships. */
#define MYCHECK_ER_DBACCESS_DENIED   1044
#define MYCHECK_ER_ACCESS_DENIED     1045
#define MYCHECK_ER_BAD_DB            1049
#define MYCHECK_ER_TOO_MANY_CONN     1040
#define MYCHECK_ER_PARSE             1064
/* Client error codes (errmsg.h). */
#define MYCHECK_CR_CONNECTION_ERROR  2002
#define MYCHECK_CR_CONN_HOST_ERROR   2003
#define MYCHECK_CR_UNKNOWN_HOST      2005
#define MYCHECK_CR_SSL_CONNECTION    2026

/* Room for one part of the first line, and for the whole line. */
#define MYCHECK_PART_MAX 256
#define MYCHECK_PARTS_MAX 16
#define MYCHECK_LINE_MAX 2048

/* Where the server is, as messages name it: "127.0.0.1:3306",
 * "[::1]:3306" or "socket /run/mysqld/mysqld.sock". */
#define MYCHECK_WHERE_MAX 300

struct mycheck {
    char *host;                  /* NULL when socket is set */
    int port;
    char *socket;                /* unix socket path, or NULL */
    char *user;                  /* NULL: the connector's default */
    char *user_shown;            /* the user as messages name it */
    char *password;              /* from tocsin_secret(), or NULL */
    char *database;              /* NULL for none */
    int tls;                     /* require TLS */
    int tls_verify;              /* check the certificate and host name */
    char *ca_file;               /* CA bundle for tls_verify, or NULL */
    char *query;                 /* custom query, or NULL */
    char *query_label;           /* its perfdata label */
    enum tocsin_counter_mode query_mode; /* value, delta or rate */
    double rate_unit;            /* seconds in the unit of every rate */
    const char *rate_shown;      /* that unit in messages: "s", "min", "h" */
    long first_window_ms;        /* a first check's time between samples */
    int judges_counters;         /* a counter has ranges, or query_mode
                                    is not value: sample twice at first */
    char where[MYCHECK_WHERE_MAX];
    int library_ready;           /* counted in mycheck_instances */

    struct tocsin_thresholds connect;         /* seconds to connect */
    struct tocsin_thresholds connections;     /* % of max_connections */
    struct tocsin_thresholds threads_running;
    struct tocsin_thresholds slow_queries;    /* per rate_unit */
    struct tocsin_thresholds deadlocks;       /* per rate_unit */
    struct tocsin_thresholds replication_lag; /* seconds */
    struct tocsin_thresholds query_th;        /* the custom query's figure */
    struct tocsin_thresholds query_time;      /* seconds the query took */

    /* The last samples, kept from one check to the next. */
    struct tocsin_counter slow;  /* Slow_queries */
    struct tocsin_counter innodb_deadlocks; /* Innodb_deadlocks */
    struct tocsin_counter query_counter;    /* the custom query's value */
    int have_uptime;
    double sample_uptime;        /* Uptime, to notice a restart */
};

/* The figures one check reads from SHOW GLOBAL STATUS / VARIABLES. */
struct mycheck_status {
    int has_connected, has_running, has_slow, has_deadlocks, has_uptime, has_max;
    double connected, running, slow, deadlocks, uptime, max_connections;
    int64_t at_us;               /* CLOCK_MONOTONIC when read */
};

/* One piece of the first line, and the state it stands for. */
struct mycheck_part {
    enum tocsin_state state;
    char text[MYCHECK_PART_MAX];
};

struct mycheck_line {
    struct mycheck_part part[MYCHECK_PARTS_MAX];
    size_t n;
};

static cfg_opt_t mycheck_options[] = {
    CFG_STR("host", "127.0.0.1", CFGF_NONE),
    CFG_INT("port", 3306, CFGF_NONE),
    CFG_STR("socket", "", CFGF_NONE),
    CFG_STR("user", "", CFGF_NONE),
    CFG_STR("password", "", CFGF_NONE),
    CFG_STR("password_file", "", CFGF_NONE),
    CFG_STR("password_env", "", CFGF_NONE),
    CFG_STR("database", "", CFGF_NONE),
    CFG_BOOL("tls", cfg_false, CFGF_NONE),
    CFG_STR("ca_file", "", CFGF_NONE),
    CFG_BOOL("tls_verify", cfg_true, CFGF_NONE),
    TOCSIN_OPT_RANGE("connect_warning", ""),
    TOCSIN_OPT_RANGE("connect_critical", ""),
    TOCSIN_OPT_RANGE("connections_warning", "80"),
    TOCSIN_OPT_RANGE("connections_critical", "90"),
    TOCSIN_OPT_RANGE("threads_running_warning", ""),
    TOCSIN_OPT_RANGE("threads_running_critical", ""),
    TOCSIN_OPT_RANGE("slow_queries_warning", ""),
    TOCSIN_OPT_RANGE("slow_queries_critical", ""),
    TOCSIN_OPT_RANGE("deadlocks_warning", ""),
    TOCSIN_OPT_RANGE("deadlocks_critical", ""),
    CFG_STR("rate_unit", "second", CFGF_NONE),
    TOCSIN_OPT_DURATION("first_window", 1000),
    TOCSIN_OPT_RANGE("replication_lag_warning", "60"),
    TOCSIN_OPT_RANGE("replication_lag_critical", "300"),
    CFG_STR("query", "", CFGF_NONE),
    CFG_STR("query_label", "query", CFGF_NONE),
    TOCSIN_OPT_RANGE("query_warning", ""),
    TOCSIN_OPT_RANGE("query_critical", ""),
    CFG_STR("query_mode", "value", CFGF_NONE),
    TOCSIN_OPT_RANGE("query_time_warning", ""),
    TOCSIN_OPT_RANGE("query_time_critical", ""),
    CFG_END()
};

/* Instances alive in this process: the connector's global state is set
 * up with the first and released with the last, so that unloading the
 * plugin leaves nothing behind. Connections never outlive a check. */
static unsigned mycheck_instances;

static void mycheck_teardown(void *instance)
{
    struct mycheck *m = instance;

    if (!m)
        return;
    if (m->library_ready && --mycheck_instances == 0)
        mysql_library_end();
    free(m->host);
    free(m->socket);
    free(m->user);
    free(m->user_shown);
    tocsin_secret_free(m->password);
    free(m->database);
    free(m->ca_file);
    free(m->query);
    free(m->query_label);
    free(m);
}

/* The name the connector logs in with when `user` is not given: root
 * for root, the login name otherwise (as Connector/C chooses it). */
static char *mycheck_default_user(void)
{
    struct passwd *pw;

    if (geteuid() == 0)
        return strdup("root");
    pw = getpwuid(geteuid());
    return strdup(pw && pw->pw_name ? pw->pw_name : "unknown");
}

/* Validate the options into a struct mycheck owned by the instance. The
 * password is resolved here, so a missing password file is reported by
 * `tocsind -t` with the service's file and line. */
static int mycheck_setup(cfg_t *options, void **instance, char *err,
                         size_t errlen)
{
    struct mycheck *m;
    char why[256];
    long port = cfg_getint(options, "port");
    int oom = 0;

    m = calloc(1, sizeof(*m));
    if (!m)
        goto oom;
    if (mycheck_instances == 0 && mysql_library_init(0, NULL, NULL) != 0) {
        snprintf(err, errlen, "the MariaDB connector cannot initialise");
        goto fail;
    }
    mycheck_instances++;
    m->library_ready = 1;
    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "option 'port': %ld is not between 1 and 65535", port);
        goto fail;
    }
    m->port = (int)port;
    m->socket = tocsin_option_strdup(options, "socket", &oom);
    if (!m->socket)
        m->host = tocsin_option_strdup(options, "host", &oom);
    m->user = tocsin_option_strdup(options, "user", &oom);
    m->database = tocsin_option_strdup(options, "database", &oom);
    m->ca_file = tocsin_option_strdup(options, "ca_file", &oom);
    m->query = tocsin_option_strdup(options, "query", &oom);
    m->query_label = tocsin_option_strdup(options, "query_label", &oom);
    m->user_shown = m->user ? strdup(m->user) : mycheck_default_user();
    if (oom || !m->user_shown)
        goto oom;
    if (!m->socket && !m->host) {
        snprintf(err, errlen, "option 'host' is empty: give a host name or "
                 "address, or a unix socket with 'socket'");
        goto fail;
    }
    m->tls = cfg_getbool(options, "tls") ? 1 : 0;
    m->tls_verify = cfg_getbool(options, "tls_verify") ? 1 : 0;
    if (m->ca_file && !m->tls) {
        snprintf(err, errlen, "option 'ca_file' is only used with tls = true");
        goto fail;
    }
    if (m->ca_file && access(m->ca_file, R_OK) < 0) {
        snprintf(err, errlen, "option 'ca_file': cannot read %s: %s",
                 m->ca_file, strerror(errno));
        goto fail;
    }
    if (!m->query_label) {
        snprintf(err, errlen, "option 'query_label' is empty");
        goto fail;
    }
    if (tocsin_option_thresholds(options, "connect_warning",
                                 "connect_critical", &m->connect,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "connections_warning",
                                 "connections_critical", &m->connections,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "threads_running_warning",
                                 "threads_running_critical", &m->threads_running,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "slow_queries_warning",
                                 "slow_queries_critical", &m->slow_queries,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "replication_lag_warning",
                                 "replication_lag_critical", &m->replication_lag,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "deadlocks_warning",
                                 "deadlocks_critical", &m->deadlocks,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "query_warning",
                                 "query_critical", &m->query_th,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "query_time_warning",
                                 "query_time_critical", &m->query_time,
                                 err, errlen) < 0)
        goto fail;
    if (!m->query && (m->query_th.warning.set || m->query_th.critical.set)) {
        snprintf(err, errlen, "options 'query_warning' and 'query_critical' "
                 "need a 'query' to hold against");
        goto fail;
    }
    if (!m->query && (m->query_time.warning.set || m->query_time.critical.set)) {
        snprintf(err, errlen, "options 'query_time_warning' and "
                 "'query_time_critical' need a 'query' to time");
        goto fail;
    }
    if (tocsin_counter_mode_parse("query_mode", cfg_getstr(options, "query_mode"),
                                  &m->query_mode, err, errlen) < 0 ||
        tocsin_counter_unit_parse("rate_unit", cfg_getstr(options, "rate_unit"),
                                  &m->rate_unit, &m->rate_shown, err, errlen) < 0)
        goto fail;
    if (!m->query && m->query_mode != TOCSIN_COUNTER_VALUE) {
        snprintf(err, errlen, "option 'query_mode' needs a 'query' whose value "
                 "is a counter");
        goto fail;
    }
    m->first_window_ms = cfg_getint(options, "first_window");
    if (m->first_window_ms < 0 || m->first_window_ms > 60000) {
        snprintf(err, errlen, "option 'first_window' must be between 0 and 60 s");
        goto fail;
    }
    m->judges_counters = (m->query && m->query_mode != TOCSIN_COUNTER_VALUE) ||
                         m->slow_queries.warning.set || m->slow_queries.critical.set ||
                         m->deadlocks.warning.set || m->deadlocks.critical.set;
    if (tocsin_option_secret(options, "password", &m->password, why,
                             sizeof(why)) < 0) {
        snprintf(err, errlen, "password: %s", why);
        goto fail;
    }
    if (m->socket)
        snprintf(m->where, sizeof(m->where), "socket %s", m->socket);
    else if (strchr(m->host, ':'))
        snprintf(m->where, sizeof(m->where), "[%s]:%d", m->host, m->port);
    else
        snprintf(m->where, sizeof(m->where), "%s:%d", m->host, m->port);
    *instance = m;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    mycheck_teardown(m);
    return -1;
}

/* ------------------------------------------------------------------ */
/* The first line: parts, most severe first.                           */
/* ------------------------------------------------------------------ */

static void mycheck_add(struct mycheck_line *line, enum tocsin_state state,
                        const char *fmt, ...) TOCSIN_PRINTF(3, 4);

static void mycheck_add(struct mycheck_line *line, enum tocsin_state state,
                        const char *fmt, ...)
{
    va_list ap;

    if (line->n >= MYCHECK_PARTS_MAX)
        return;
    line->part[line->n].state = state;
    va_start(ap, fmt);
    vsnprintf(line->part[line->n].text, MYCHECK_PART_MAX, fmt, ap);
    va_end(ap);
    line->n++;
}

/* Set the check's first line from the parts: those that raised the
 * state come first (critical, unknown, warning), then the others, each
 * group in the order it was measured. */
static void mycheck_finish(struct tocsin_check *chk,
                           const struct mycheck_line *line)
{
    static const enum tocsin_state order[] = {
        TOCSIN_CRITICAL, TOCSIN_UNKNOWN, TOCSIN_WARNING, TOCSIN_OK
    };
    enum tocsin_state worst = TOCSIN_OK;
    char text[MYCHECK_LINE_MAX];
    size_t len = 0, i, k;
    int n;

    text[0] = '\0';
    for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        for (i = 0; i < line->n; i++) {
            if (line->part[i].state != order[k])
                continue;
            worst = tocsin_state_worst(worst, line->part[i].state);
            n = snprintf(text + len, sizeof(text) - len, "%s%s",
                         len ? ", " : "", line->part[i].text);
            if (n < 0 || (size_t)n >= sizeof(text) - len)
                len = sizeof(text) - 1;
            else
                len += (size_t)n;
        }
    }
    tocsin_check_set(chk, worst, "MYSQL %s - %s", tocsin_state_name(worst), text);
}

/* A figure as the first line shows it: whole numbers without decimals,
 * others with up to 6 significant digits. (No libm here: plugins do not
 * link it.) */
static void mycheck_number(char *buf, size_t len, double value)
{
    if (value > -1e15 && value < 1e15 && value == (double)(long long)value)
        snprintf(buf, len, "%.0f", value);
    else
        snprintf(buf, len, "%g", value);
}

/* Uptime in its largest whole unit: "45s", "12m", "2h", "31d". */
static void mycheck_uptime(char *buf, size_t len, double seconds)
{
    long long s = seconds > 0 && seconds < 1e15 ? (long long)seconds : 0;

    if (s < 60)
        snprintf(buf, len, "%llds", s);
    else if (s < 3600)
        snprintf(buf, len, "%lldm", s / 60);
    else if (s < 86400)
        snprintf(buf, len, "%lldh", s / 3600);
    else
        snprintf(buf, len, "%lldd", s / 86400);
}

static double mycheck_elapsed(const struct timespec *from,
                              const struct timespec *to)
{
    return (double)(to->tv_sec - from->tv_sec) +
           (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

/* Parse a whole-text number; 0 on success, -1 otherwise. Leading and
 * trailing blanks are allowed, as check_mysql_query allows them. */
static int mycheck_parse_number(const char *text, double *value)
{
    char *end;

    if (!text)
        return -1;
    errno = 0;
    *value = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(*value))
        return -1;
    while (*end == ' ' || *end == '\t' || *end == '\n')
        end++;
    return *end ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Connecting.                                                         */
/* ------------------------------------------------------------------ */

/* Seconds the connector may wait on one operation: what is left of the
 * deadline, rounded up so that a timeout in the connector means the
 * deadline has passed, and at least 1 (0 would mean no limit). */
static unsigned mycheck_timeout(const struct tocsin_check *chk)
{
    double left = tocsin_check_remaining(chk);
    unsigned s;

    if (left > 86400)
        return 86400;
    s = (unsigned)left;
    if (s < left)
        s++;
    return s < 1 ? 1 : s;
}

/* Connector/C reports the errno of a failed TCP connect wrongly (the
 * EINPROGRESS of its non-blocking connect). Connect once more, bounded
 * by the deadline, to learn why: returns that errno, ETIMEDOUT when the
 * deadline passes, or 0 when the connect works now. */
static int mycheck_probe(const struct mycheck *m, const struct tocsin_check *chk)
{
    struct addrinfo hints, *ai = NULL, *a;
    char service[16];
    int err = 0, fd, rc, soerr;
    socklen_t soerr_len;
    struct pollfd pfd;

    if (m->socket) {
        struct sockaddr_un addr;

        memset(&addr, 0, sizeof(addr));
        addr.sun_family = AF_UNIX;
        if (strlen(m->socket) >= sizeof(addr.sun_path))
            return ENAMETOOLONG;
        memcpy(addr.sun_path, m->socket, strlen(m->socket) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return errno;
        err = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? errno : 0;
        close(fd);
        return err;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%d", m->port);
    if (getaddrinfo(m->host, service, &hints, &ai) != 0)
        return 0;
    for (a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        err = 0;
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            err = errno;
            if (err == EINPROGRESS) {
                pfd.fd = fd;
                pfd.events = POLLOUT;
                do {
                    rc = poll(&pfd, 1, (int)(tocsin_check_remaining(chk) * 1000));
                } while (rc < 0 && errno == EINTR);
                soerr = 0;
                soerr_len = sizeof(soerr);
                if (rc == 0)
                    err = ETIMEDOUT;
                else if (rc < 0)
                    err = errno;
                else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len) < 0)
                    err = errno;
                else
                    err = soerr;
            }
        }
        close(fd);
        if (err == 0 || err == ETIMEDOUT)
            break;
    }
    freeaddrinfo(ai);
    return err;
}

/* Turn a failed mysql_real_connect() into the check's result. */
static void mycheck_connect_failed(const struct mycheck *m, MYSQL *db,
                                   struct tocsin_check *chk)
{
    unsigned code = mysql_errno(db);
    const char *msg = mysql_error(db);
    int err;

    if (tocsin_check_remaining(chk) <= 0) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - no answer from "
                         "%s before the timeout", m->where);
        tocsin_check_long(chk, "%s", msg);
        tocsin_check_timed_out(chk);
        return;
    }
    tocsin_check_long(chk, "%s (error %u)", msg, code);
    switch (code) {
    case MYCHECK_ER_ACCESS_DENIED:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - authentication "
                         "failed for user %s", m->user_shown);
        return;
    case MYCHECK_ER_BAD_DB:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - unknown database %s",
                         m->database ? m->database : "");
        return;
    case MYCHECK_ER_DBACCESS_DENIED:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - user %s may not "
                         "use database %s (or it does not exist)", m->user_shown,
                         m->database ? m->database : "");
        return;
    case MYCHECK_ER_TOO_MANY_CONN:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - too many "
                         "connections on %s", m->where);
        return;
    case MYCHECK_CR_UNKNOWN_HOST:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - cannot resolve "
                         "host %s", m->host ? m->host : "");
        return;
    case MYCHECK_CR_SSL_CONNECTION:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - TLS with %s "
                         "failed: %s", m->where, msg);
        return;
    case MYCHECK_CR_CONNECTION_ERROR:
    case MYCHECK_CR_CONN_HOST_ERROR:
        err = mycheck_probe(m, chk);
        if (err == ETIMEDOUT && tocsin_check_remaining(chk) <= 0) {
            tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - no answer "
                             "from %s before the timeout", m->where);
            tocsin_check_timed_out(chk);
        } else if (err == ECONNREFUSED) {
            tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - connection "
                             "refused %s %s", m->socket ? "on" : "to", m->where);
        } else if (err == ENOENT && m->socket) {
            tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - %s does not "
                             "exist (is the server running?)", m->where);
        } else if (err) {
            tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - cannot connect "
                             "to %s: %s", m->where, strerror(err));
        } else {
            tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - cannot connect "
                             "to %s: %s", m->where, msg);
        }
        return;
    default:
        if (code >= 2000 && code < 3000)
            /* The client gave up: what came back was not a server's answer. */
            tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - no valid "
                             "answer from %s (is it a MariaDB or MySQL server?): %s",
                             m->where, msg);
        else
            tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - %s refused "
                             "the connection: %s", m->where, msg);
        return;
    }
}

/* Set the connector's options: timeouts from the deadline, TLS, the
 * transport. Returns 0, or -1 when the connector refuses one. */
static int mycheck_options_set(const struct mycheck *m, MYSQL *db,
                               const struct tocsin_check *chk)
{
    unsigned timeout = mycheck_timeout(chk);
    unsigned protocol = m->socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    unsigned local_infile = 0;
    my_bool yes = 1, verify = m->tls_verify ? 1 : 0;

    if (mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout) ||
        mysql_optionsv(db, MYSQL_OPT_READ_TIMEOUT, &timeout) ||
        mysql_optionsv(db, MYSQL_OPT_WRITE_TIMEOUT, &timeout) ||
        mysql_optionsv(db, MYSQL_OPT_PROTOCOL, &protocol) ||
        mysql_optionsv(db, MYSQL_OPT_LOCAL_INFILE, &local_infile) ||
        mysql_optionsv(db, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", "tocsin"))
        return -1;
    if (m->tls) {
        if (mysql_optionsv(db, MYSQL_OPT_SSL_ENFORCE, &yes) ||
            mysql_optionsv(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify))
            return -1;
        if (m->ca_file && mysql_optionsv(db, MYSQL_OPT_SSL_CA, m->ca_file))
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reading the server.                                                 */
/* ------------------------------------------------------------------ */

/* Run `sql` and store its result. Returns the result (caller frees), or
 * NULL when the query failed or returned no result set (then
 * mysql_errno() tells which: 0 for no result set). */
static MYSQL_RES *mycheck_query(MYSQL *db, const char *sql)
{
    if (mysql_real_query(db, sql, strlen(sql)) != 0)
        return NULL;
    return mysql_store_result(db);
}

/* A failed query: a timeout when the deadline passed, else CRITICAL
 * with `what` and the server's message. */
static void mycheck_query_failed(const struct mycheck *m, MYSQL *db,
                                 struct tocsin_check *chk, const char *what)
{
    if (tocsin_check_remaining(chk) <= 0) {
        tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - %s: no answer "
                         "from %s before the timeout", what, m->where);
        tocsin_check_timed_out(chk);
        return;
    }
    tocsin_check_set(chk, TOCSIN_CRITICAL, "MYSQL CRITICAL - %s: %s", what,
                     mysql_errno(db) ? mysql_error(db) : "no result set");
}

/* Read the figures from SHOW GLOBAL STATUS and SHOW GLOBAL VARIABLES.
 * Returns 0, or -1 after setting the check's result. */
static int mycheck_read_status(const struct mycheck *m, MYSQL *db,
                               struct tocsin_check *chk,
                               struct mycheck_status *st)
{
    static const char status_sql[] =
        "SHOW GLOBAL STATUS WHERE Variable_name IN "
        "('Threads_connected', 'Threads_running', 'Slow_queries', "
        "'Innodb_deadlocks', 'Uptime')";
    static const char variables_sql[] =
        "SHOW GLOBAL VARIABLES WHERE Variable_name = 'max_connections'";
    MYSQL_RES *res;
    MYSQL_ROW row;
    double value;

    memset(st, 0, sizeof(*st));
    res = mycheck_query(db, status_sql);
    if (!res) {
        mycheck_query_failed(m, db, chk, "SHOW GLOBAL STATUS failed");
        return -1;
    }
    while (mysql_num_fields(res) >= 2 && (row = mysql_fetch_row(res))) {
        if (!row[0] || mycheck_parse_number(row[1], &value) < 0)
            continue;
        if (strcasecmp(row[0], "Threads_connected") == 0) {
            st->connected = value;
            st->has_connected = 1;
        } else if (strcasecmp(row[0], "Threads_running") == 0) {
            st->running = value;
            st->has_running = 1;
        } else if (strcasecmp(row[0], "Slow_queries") == 0) {
            st->slow = value;
            st->has_slow = 1;
        } else if (strcasecmp(row[0], "Innodb_deadlocks") == 0) {
            st->deadlocks = value;
            st->has_deadlocks = 1;
        } else if (strcasecmp(row[0], "Uptime") == 0) {
            st->uptime = value;
            st->has_uptime = 1;
        }
    }
    mysql_free_result(res);
    st->at_us = tocsin_counter_now_us();

    if (tocsin_check_remaining(chk) <= 0) {
        mycheck_query_failed(m, db, chk, "SHOW GLOBAL VARIABLES");
        return -1;
    }
    res = mycheck_query(db, variables_sql);
    if (!res) {
        mycheck_query_failed(m, db, chk, "SHOW GLOBAL VARIABLES failed");
        return -1;
    }
    while (mysql_num_fields(res) >= 2 && (row = mysql_fetch_row(res)))
        if (row[0] && strcasecmp(row[0], "max_connections") == 0 &&
            mycheck_parse_number(row[1], &st->max_connections) == 0)
            st->has_max = 1;
    mysql_free_result(res);
    return 0;
}

/* Connections and threads running: parts, perfdata, details. */
static void mycheck_report_status(const struct mycheck *m, struct tocsin_check *chk,
                                  const struct mycheck_status *st,
                                  struct mycheck_line *line)
{
    enum tocsin_state state;
    char n1[64], n2[64];
    double pct;

    if (st->has_connected && st->has_max && st->max_connections > 0) {
        /* Two decimals, for the perfdata and the thresholds alike. */
        pct = (double)(long long)(10000.0 * st->connected / st->max_connections
                                  + 0.5) / 100;
        state = tocsin_thresholds_eval(&m->connections, pct);
        mycheck_number(n1, sizeof(n1), st->connected);
        mycheck_number(n2, sizeof(n2), st->max_connections);
        mycheck_add(line, state, "%s/%s connections (%.0f%%)", n1, n2, pct);
        tocsin_check_long(chk, "Threads_connected %s of max_connections %s (%.2f%%)",
                          n1, n2, pct);
        tocsin_check_perf(chk, "connections", pct, "%", &m->connections, 0, 100,
                          TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    } else {
        tocsin_check_long(chk, "connections: the server reports no %s",
                          st->has_connected ? "max_connections" : "Threads_connected");
    }

    if (st->has_running) {
        state = tocsin_thresholds_eval(&m->threads_running, st->running);
        mycheck_number(n1, sizeof(n1), st->running);
        mycheck_add(line, state, "%s running", n1);
        tocsin_check_long(chk, "Threads_running %s", n1);
        tocsin_check_perf(chk, "threads_running", st->running, "",
                          &m->threads_running, 0, 0, TOCSIN_PERF_MIN);
    } else {
        tocsin_check_long(chk, "threads running: the server reports no Threads_running");
    }
}

/* A rate as the first line shows it: "0.25 slow queries/s". */
static void mycheck_rate_text(char *buf, size_t len, double rate)
{
    snprintf(buf, len, rate != 0 && rate < 0.01 ? "%.2g" : "%.2f", rate);
}

/* Feed the status counters to their samples without reporting: the
 * baseline of a first check. A restart (Uptime went back) makes the
 * counters count from 0 again. */
static void mycheck_keep_status(struct mycheck *m, const struct mycheck_status *st)
{
    struct tocsin_counter_change ch;

    if (st->has_uptime && m->have_uptime && st->uptime < m->sample_uptime) {
        m->slow.value = 0;
        m->innodb_deadlocks.value = 0;
    }
    if (st->has_slow)
        tocsin_counter_update(&m->slow, st->slow, st->at_us, &ch);
    if (st->has_deadlocks)
        tocsin_counter_update(&m->innodb_deadlocks, st->deadlocks, st->at_us, &ch);
    m->have_uptime = st->has_uptime;
    m->sample_uptime = st->has_uptime ? st->uptime : 0;
}

/* The rate of one status counter (`name`, e.g. Slow_queries) since the
 * previous check, against its ranges; keeps this check's sample in *c.
 * `restarted`: the server restarted since, the counter counts from 0. */
static void mycheck_report_rate(const struct mycheck *m, struct tocsin_check *chk,
                                struct tocsin_counter *c, int has, double value,
                                int64_t at_us, int restarted, const char *name,
                                const char *what, const char *label,
                                const struct tocsin_thresholds *th,
                                struct mycheck_line *line)
{
    struct tocsin_counter_change ch;
    enum tocsin_state state;
    double rate;
    char n1[64], shown[64];

    if (!has) {
        tocsin_check_long(chk, "%s: the server reports no %s", what, name);
        return;
    }
    mycheck_number(n1, sizeof(n1), value);
    if (restarted && c->have)
        c->value = 0;
    switch (tocsin_counter_update(c, value, at_us, &ch)) {
    case TOCSIN_COUNTER_FIRST:
        tocsin_check_long(chk, "%s %s; no rate yet: it starts at the next check",
                          name, n1);
        return;
    case TOCSIN_COUNTER_STALLED:
        tocsin_check_long(chk, "%s %s; no time passed since the last check: the "
                          "rate starts at the next check", name, n1);
        return;
    case TOCSIN_COUNTER_RESET:
        tocsin_check_long(chk, "%s %s went back since the last check (a restart "
                          "or FLUSH STATUS): counted from 0", name, n1);
        break;
    case TOCSIN_COUNTER_INCREASE:
        if (restarted)
            tocsin_check_long(chk, "the server restarted since the last check: "
                              "%s counted from 0", name);
        break;
    }
    rate = tocsin_counter_rate(&ch, m->rate_unit);
    state = tocsin_thresholds_eval(th, rate);
    mycheck_rate_text(shown, sizeof(shown), rate);
    mycheck_add(line, state, "%s %s/%s", shown, what, m->rate_shown);
    tocsin_check_long(chk, "%s %s; %.4g per %s (+%.0f in %.3f s)", name, n1, rate,
                      m->rate_shown, ch.increase, ch.seconds);
    tocsin_check_perf(chk, label, rate, "", th, 0, 0, TOCSIN_PERF_MIN);
}

/* The index of the first field named one of `names` (NULL-terminated),
 * or -1. */
static int mycheck_field(MYSQL_FIELD *fields, unsigned nfields,
                         const char *const *names)
{
    unsigned i;
    size_t k;

    for (i = 0; i < nfields; i++)
        for (k = 0; names[k]; k++)
            if (fields[i].name && strcasecmp(fields[i].name, names[k]) == 0)
                return (int)i;
    return -1;
}

static const char *mycheck_cell(MYSQL_ROW row, int idx)
{
    return idx >= 0 && row[idx] ? row[idx] : NULL;
}

/* Replication, where the server is a replica: threads running and the
 * lag behind the primary, per replication channel. Returns 0, or -1
 * when the connection was lost (the result is then set). */
static int mycheck_replication(const struct mycheck *m, MYSQL *db,
                               struct tocsin_check *chk, struct mycheck_line *line)
{
    static const char *const io_names[] = {
        "Replica_IO_Running", "Slave_IO_Running", NULL };
    static const char *const sql_names[] = {
        "Replica_SQL_Running", "Slave_SQL_Running", NULL };
    static const char *const lag_names[] = {
        "Seconds_Behind_Source", "Seconds_Behind_Master", NULL };
    static const char *const io_error_names[] = { "Last_IO_Error", NULL };
    static const char *const sql_error_names[] = { "Last_SQL_Error", NULL };
    static const char *const channel_names[] = {
        "Channel_Name", "Connection_name", NULL };
    static const char *const primary_names[] = {
        "Source_Host", "Master_Host", NULL };
    MYSQL_RES *res;
    MYSQL_FIELD *fields;
    MYSQL_ROW row;
    unsigned nfields, code;
    int io_i, sql_i, lag_i, ioerr_i, sqlerr_i, chan_i, prim_i, have_lag = 0;
    double lag, max_lag = 0;
    my_ulonglong nrows;

    res = mycheck_query(db, "SHOW REPLICA STATUS");
    if (!res && mysql_errno(db) == MYCHECK_ER_PARSE)
        res = mycheck_query(db, "SHOW SLAVE STATUS");
    if (!res) {
        code = mysql_errno(db);
        if (tocsin_check_remaining(chk) <= 0 || (code >= 2000 && code < 3000)) {
            mycheck_query_failed(m, db, chk, "SHOW REPLICA STATUS failed");
            return -1;
        }
        /* Most often a missing privilege (REPLICATION CLIENT, or SLAVE
         * MONITOR on MariaDB): not a fault of the server. */
        tocsin_check_long(chk, "replication: status not readable by user %s: %s",
                          m->user_shown, code ? mysql_error(db) : "no result set");
        return 0;
    }
    nrows = mysql_num_rows(res);
    if (nrows == 0) {
        tocsin_check_long(chk, "replication: not a replica");
        mysql_free_result(res);
        return 0;
    }
    fields = mysql_fetch_fields(res);
    nfields = mysql_num_fields(res);
    io_i = mycheck_field(fields, nfields, io_names);
    sql_i = mycheck_field(fields, nfields, sql_names);
    lag_i = mycheck_field(fields, nfields, lag_names);
    ioerr_i = mycheck_field(fields, nfields, io_error_names);
    sqlerr_i = mycheck_field(fields, nfields, sql_error_names);
    chan_i = mycheck_field(fields, nfields, channel_names);
    prim_i = mycheck_field(fields, nfields, primary_names);

    while ((row = mysql_fetch_row(res))) {
        const char *io = mycheck_cell(row, io_i), *sql = mycheck_cell(row, sql_i);
        const char *lag_text = mycheck_cell(row, lag_i);
        const char *chan = mycheck_cell(row, chan_i);
        const char *primary = mycheck_cell(row, prim_i);
        const char *ioerr = mycheck_cell(row, ioerr_i);
        const char *sqlerr = mycheck_cell(row, sqlerr_i);
        char name[128];

        if (chan && *chan)
            snprintf(name, sizeof(name), "replication '%s'", chan);
        else
            snprintf(name, sizeof(name), "replication");
        tocsin_check_long(chk, "%s from %s: IO thread %s, SQL thread %s, "
                          "seconds behind %s", name, primary ? primary : "?",
                          io ? io : "?", sql ? sql : "?", lag_text ? lag_text : "NULL");
        if (ioerr && *ioerr)
            tocsin_check_long(chk, "%s: last IO error: %s", name, ioerr);
        if (sqlerr && *sqlerr)
            tocsin_check_long(chk, "%s: last SQL error: %s", name, sqlerr);

        if (!io || strcasecmp(io, "Yes") != 0 || !sql || strcasecmp(sql, "Yes") != 0) {
            if (!io || strcasecmp(io, "Yes") != 0)
                mycheck_add(line, TOCSIN_CRITICAL, "%s IO thread not running (%s)",
                            name, io ? io : "unknown");
            if (!sql || strcasecmp(sql, "Yes") != 0)
                mycheck_add(line, TOCSIN_CRITICAL, "%s SQL thread not running (%s)",
                            name, sql ? sql : "unknown");
        } else if (mycheck_parse_number(lag_text, &lag) < 0) {
            mycheck_add(line, TOCSIN_CRITICAL, "%s lag unknown (seconds behind "
                        "the primary is NULL)", name);
        } else {
            mycheck_add(line, tocsin_thresholds_eval(&m->replication_lag, lag),
                        "%s lag %.0f s", name, lag);
            if (!have_lag || lag > max_lag)
                max_lag = lag;
            have_lag = 1;
        }
    }
    mysql_free_result(res);
    if (have_lag)
        tocsin_check_perf(chk, "replication_lag", max_lag, "s", &m->replication_lag,
                          0, 0, TOCSIN_PERF_MIN);
    return 0;
}

/* The custom query's figure: its value, or in delta and rate mode the
 * change of that value (a counter) since the previous check, kept in
 * m->query_counter. Part, perfdata and details. */
static void mycheck_custom_figure(struct mycheck *m, struct tocsin_check *chk,
                                  double value, int64_t at_us,
                                  struct mycheck_line *line)
{
    struct tocsin_counter_change ch;
    double figure;
    char shown[64], raw[64];

    mycheck_number(raw, sizeof(raw), value);
    if (m->query_mode == TOCSIN_COUNTER_VALUE) {
        mycheck_add(line, tocsin_thresholds_eval(&m->query_th, value), "%s %s",
                    m->query_label, raw);
        tocsin_check_perf(chk, m->query_label, value, "", &m->query_th, 0, 0, 0);
        return;
    }
    switch (tocsin_counter_update(&m->query_counter, value, at_us, &ch)) {
    case TOCSIN_COUNTER_FIRST:
        tocsin_check_long(chk, "query value %s; no %s yet: it starts at the next "
                          "check", raw, m->query_mode == TOCSIN_COUNTER_RATE ?
                          "rate" : "delta");
        return;
    case TOCSIN_COUNTER_STALLED:
        tocsin_check_long(chk, "query value %s; no time passed since the last "
                          "check: the %s starts at the next check", raw,
                          m->query_mode == TOCSIN_COUNTER_RATE ? "rate" : "delta");
        return;
    case TOCSIN_COUNTER_RESET:
        tocsin_check_long(chk, "query value %s went back since the last check: "
                          "counted from 0", raw);
        break;
    case TOCSIN_COUNTER_INCREASE:
        break;
    }
    figure = tocsin_counter_figure(m->query_mode, &ch, m->rate_unit);
    if (m->query_mode == TOCSIN_COUNTER_RATE) {
        mycheck_rate_text(shown, sizeof(shown), figure);
        mycheck_add(line, tocsin_thresholds_eval(&m->query_th, figure), "%s %s/%s",
                    m->query_label, shown, m->rate_shown);
    } else {
        mycheck_number(shown, sizeof(shown), figure);
        mycheck_add(line, tocsin_thresholds_eval(&m->query_th, figure),
                    "%s +%s in %.1f s", m->query_label, shown, ch.seconds);
    }
    tocsin_check_long(chk, "query value %s (+%.15g in %.3f s)", raw, ch.increase,
                      ch.seconds);
    tocsin_check_perf(chk, m->query_label, figure, "", &m->query_th, 0, 0,
                      TOCSIN_PERF_MIN);
}

/* The custom query: its first column of its first row, held against
 * query_warning / query_critical, and the time it took against
 * query_time_warning / query_time_critical. With `baseline` (the first
 * sample of a first check in delta or rate mode) only the counter's
 * sample is kept, and a failure is left to the run that follows. Returns
 * 0, or -1 when the deadline passed (the result is then set). */
static int mycheck_custom(struct mycheck *m, MYSQL *db, struct tocsin_check *chk,
                          struct mycheck_line *line, int baseline)
{
    struct tocsin_counter_change ch;
    MYSQL_RES *res;
    MYSQL_ROW row;
    double value, took;
    int64_t t0, t1;

    if (!baseline)
        tocsin_check_long(chk, "query: %s", m->query);
    t0 = tocsin_counter_now_us();
    res = mycheck_query(db, m->query);
    t1 = tocsin_counter_now_us();
    if (!res) {
        if (tocsin_check_remaining(chk) <= 0) {
            mycheck_query_failed(m, db, chk, "query failed");
            return -1;
        }
        if (baseline)
            return 0;
        if (mysql_errno(db))
            mycheck_add(line, TOCSIN_CRITICAL, "query failed: %s", mysql_error(db));
        else
            mycheck_add(line, TOCSIN_CRITICAL, "query returned no result set");
        return 0;
    }
    if (baseline) {
        row = mysql_num_fields(res) > 0 ? mysql_fetch_row(res) : NULL;
        if (row && mycheck_parse_number(row[0], &value) == 0)
            tocsin_counter_update(&m->query_counter, value, t1, &ch);
        goto out;
    }
    took = (double)(t1 - t0) / 1e6;
    if (took < 0.001)
        tocsin_check_long(chk, "query took %.4f s", took);
    else
        tocsin_check_long(chk, "query took %.3f s", took);
    if (tocsin_thresholds_eval(&m->query_time, took) != TOCSIN_OK)
        mycheck_add(line, tocsin_thresholds_eval(&m->query_time, took),
                    "query took %.3f s", took);
    tocsin_check_perf(chk, "query_time", took, "s", &m->query_time, 0, 0,
                      TOCSIN_PERF_MIN);
    if (mysql_num_rows(res) == 0 || mysql_num_fields(res) == 0) {
        mycheck_add(line, TOCSIN_WARNING, "query returned no rows");
        goto out;
    }
    row = mysql_fetch_row(res);
    if (!row || mycheck_parse_number(row[0], &value) < 0) {
        mycheck_add(line, TOCSIN_CRITICAL, "query returned a non-numeric value "
                    "(%.40s%s)", row && row[0] ? row[0] : "NULL",
                    row && row[0] && strlen(row[0]) > 40 ? "..." : "");
        goto out;
    }
    if (mysql_num_rows(res) > 1 || mysql_num_fields(res) > 1)
        tocsin_check_long(chk, "query returned %llu row(s) of %u column(s); the "
                          "first column of the first row counts",
                          (unsigned long long)mysql_num_rows(res),
                          mysql_num_fields(res));
    mycheck_custom_figure(m, chk, value, t1, line);
out:
    mysql_free_result(res);
    return 0;
}

/* One check: connect (timed), read the status, the replication status
 * and the custom query, and report. Every connector call is bounded by
 * the deadline through the connect, read and write timeouts. */
static void mycheck_check(void *instance, struct tocsin_check *chk)
{
    struct mycheck *m = instance;
    struct mycheck_line line;
    struct mycheck_status st;
    struct timespec t0, t1;
    const char *cipher;
    double connect_s;
    int restarted;
    char up[32];
    MYSQL *db;

    line.n = 0;
    db = mysql_init(NULL);
    if (!db) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "MYSQL UNKNOWN - out of memory");
        return;
    }
    if (mycheck_options_set(m, db, chk) < 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "MYSQL UNKNOWN - the MariaDB "
                         "connector refused an option: %s", mysql_error(db));
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!mysql_real_connect(db, m->socket ? NULL : m->host, m->user, m->password,
                            m->database, m->socket ? 0 : (unsigned)m->port,
                            m->socket, 0)) {
        mycheck_connect_failed(m, db, chk);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    connect_s = mycheck_elapsed(&t0, &t1);
    mycheck_add(&line, tocsin_thresholds_eval(&m->connect, connect_s),
                connect_s < 0.001 ? "connected in %.4f s" : "connected in %.3f s",
                connect_s);
    tocsin_check_perf(chk, "connect_time", connect_s, "s", &m->connect, 0, 0,
                      TOCSIN_PERF_MIN);
    tocsin_check_long(chk, "server %s at %s", mysql_get_server_info(db), m->where);
    cipher = mysql_get_ssl_cipher(db);
    if (cipher)
        tocsin_check_long(chk, "TLS: %s", cipher);

    if (mycheck_read_status(m, db, chk, &st) < 0)
        goto out;
    if (m->judges_counters && !m->slow.have && !m->innodb_deadlocks.have &&
        !m->query_counter.have) {
        /* A first check that judges counters: this sample is the
         * baseline, the next one comes first_window later. */
        mycheck_keep_status(m, &st);
        if (m->query && m->query_mode != TOCSIN_COUNTER_VALUE &&
            mycheck_custom(m, db, chk, &line, 1) < 0)
            goto out;
        tocsin_counter_wait(chk, m->first_window_ms);
        if (mycheck_read_status(m, db, chk, &st) < 0)
            goto out;
    }
    restarted = st.has_uptime && m->have_uptime && st.uptime < m->sample_uptime;
    m->have_uptime = st.has_uptime;
    m->sample_uptime = st.has_uptime ? st.uptime : 0;
    mycheck_report_status(m, chk, &st, &line);
    mycheck_report_rate(m, chk, &m->slow, st.has_slow, st.slow, st.at_us, restarted,
                        "Slow_queries", "slow queries", "slow_queries_rate",
                        &m->slow_queries, &line);
    mycheck_report_rate(m, chk, &m->innodb_deadlocks, st.has_deadlocks, st.deadlocks,
                        st.at_us, restarted, "Innodb_deadlocks", "deadlocks",
                        "deadlocks_rate", &m->deadlocks, &line);

    if (tocsin_check_remaining(chk) <= 0) {
        mycheck_query_failed(m, db, chk, "SHOW REPLICA STATUS");
        goto out;
    }
    if (mycheck_replication(m, db, chk, &line) < 0)
        goto out;
    if (m->query) {
        if (tocsin_check_remaining(chk) <= 0) {
            mycheck_query_failed(m, db, chk, "query");
            goto out;
        }
        if (mycheck_custom(m, db, chk, &line, 0) < 0)
            goto out;
    }
    if (st.has_uptime) {
        mycheck_uptime(up, sizeof(up), st.uptime);
        mycheck_add(&line, TOCSIN_OK, "uptime %s", up);
    }
    mycheck_finish(chk, &line);
out:
    mysql_close(db);
}

/* Descriptions for --help; docs/check-mysql.md tells more. */
static const struct tocsin_option_help mycheck_help[] = {
    { "host", "HOST",
      "Server name or address (TCP)" },
    { "port", "PORT",
      "TCP port." },
    { "socket", NULL,
      "Unix socket path; when set, host and port are not used." },
    { "user", "USER",
      "User to log in as" },
    { "password", "SECRET",
      "Password, inline." },
    { "password_file", "FILE",
      "Read the password from the first line of this file." },
    { "password_env", "VARIABLE",
      "Read the password from this environment variable." },
    { "database", NULL,
      "Database to use; the custom query runs in it." },
    { "tls", NULL,
      "Require TLS; the check fails when the server does not offer it." },
    { "ca_file", "FILE",
      "CA certificates (PEM) to verify the server with; needs tls = true." },
    { "tls_verify", NULL,
      "With TLS, verify the server's certificate and that it names host." },
    { "connect_warning", NULL,
      "On the time to connect and log in, in seconds." },
    { "connect_critical", NULL,
      "On the time to connect and log in, in seconds." },
    { "connections_warning", NULL,
      "On Threads_connected as % of max_connections." },
    { "connections_critical", NULL,
      "On Threads_connected as % of max_connections." },
    { "threads_running_warning", NULL,
      "On Threads_running." },
    { "threads_running_critical", NULL,
      "On Threads_running." },
    { "slow_queries_warning", NULL,
      "On slow queries per second since the last check." },
    { "slow_queries_critical", NULL,
      "On slow queries per second since the last check." },
    { "replication_lag_warning", NULL,
      "On seconds behind the primary, where the server is a replica." },
    { "replication_lag_critical", NULL,
      "On seconds behind the primary, where the server is a replica." },
    { "query", NULL,
      "A query whose single numeric result is checked." },
    { "query_label", NULL,
      "The name of that result on the first line and in the perfdata." },
    { "query_warning", NULL,
      "On the query's result; they need query." },
    { "query_critical", NULL,
      "On the query's result; they need query." },
    { "deadlocks_warning", NULL,
      "on InnoDB deadlocks per rate_unit since the last check; 0 alerts on any" },
    { "deadlocks_critical", NULL,
      "on InnoDB deadlocks per rate_unit since the last check; 0 alerts on any" },
    TOCSIN_COUNTER_HELP,
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .flags = TOCSIN_PLUGIN_STATEFUL,
    .name = "mysql",
    .version = "0.1.0",
    .summary = "MariaDB/MySQL: connect time, connections, slow queries, "
               "deadlocks, replication, custom query (value, delta or rate)",
    .options = mycheck_options,
    .help = mycheck_help,
    .setup = mycheck_setup,
    .teardown = mycheck_teardown,
    .check = mycheck_check,
);
