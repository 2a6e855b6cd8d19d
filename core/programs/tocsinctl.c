/*
 * tocsinctl.c - talk to a running tocsind over its control socket, and
 * test routing without one.
 *
 *   tocsinctl [-c FILE] [-s SOCKET] COMMAND [ARGS]
 *
 * Exit status: 0 done, 1 the daemon refused or failed, 2 usage error,
 * 3 the daemon is not running or the socket may not be used.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "config/config.h"
#include "config/registry.h"
#include "alerting/priority.h"
#include "alerting/route.h"
#include "config/timeperiod.h"
#include "serve/svc-json.h"

#ifndef TOCSIN_SYSCONF_DIR
#define TOCSIN_SYSCONF_DIR "/etc/tocsin"
#endif
#ifndef TOCSIN_RUN_DIR
#define TOCSIN_RUN_DIR "/run/tocsin"
#endif

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3

static const char *conf_path = TOCSIN_SYSCONF_DIR "/tocsin.conf";
static const char *socket_path;
static const char *plugin_path;
static int conf_given;

static void usage(FILE *to)
{
    fprintf(to,
            "Usage: tocsinctl [-c FILE] [-s SOCKET] [-p PLUGIN_PATH] COMMAND [ARGS]\n"
            "Commands (against the running daemon):\n"
            "  status [--json] [--state STATE] [--label KEY=VALUE]\n"
            "  check NAME                      run a service now and print its result\n"
            "  ack NAME [-m TEXT] [--assign USER]\n"
            "                                  acknowledge a problem until it recovers\n"
            "  unack NAME                      withdraw an acknowledgement\n"
            "  downtime NAME|--label K=V (--for DURATION|--until \"YYYY-MM-DD HH:MM\") [-m TEXT]\n"
            "  downtime --remove NAME|--label K=V\n"
            "  reload                          re-read the configuration\n"
            "  history [NAME] [--since DURATION] [--json]\n"
            "  incidents [--all|--closed] [--service NAME] [--label K=V] [--since DURATION]\n"
            "            [--json]          open incidents (or all, or closed ones)\n"
            "  metrics SERVICE [LABEL] [--since DURATION] [--json]\n"
            "                              metric history (minutes, or hours past\n"
            "                              history_detail)\n"
            "  submit NAME --state STATE [-m TEXT] [--perfdata PERFDATA]\n"
            "                                  a result for a passive service\n"
            "Without a daemon:\n"
            "  route-test --service NAME --state STATE [--problem STATE]\n"
            "             --at \"YYYY-MM-DD HH:MM[ ZONE]\"\n"
            "Options:\n"
            "  -c FILE    configuration (default %s/tocsin.conf)\n"
            "  -s SOCKET  control socket (default: the configuration's control_socket)\n"
            "  -p PATH    plugin directories, for reading the configuration\n"
            "Exit status: 0 done, 1 refused or failed, 2 usage, 3 daemon not reachable.\n",
            TOCSIN_SYSCONF_DIR);
}

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
    va_list ap;

    fputs("tocsinctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

/* Load the configuration (with its plugins), or die with every problem. */
static struct tocsin_config *load_config(struct tocsin_registry *reg)
{
    struct tocsin_buf warnings = TOCSIN_BUF_INIT, errors = TOCSIN_BUF_INIT;
    struct tocsin_config *conf;

    if (tocsin_registry_init(reg) < 0)
        die(EXIT_FAILED, "cannot initialise the plugin loader");
    tocsin_registry_load_path(reg, plugin_path ? plugin_path : tocsin_registry_default_path(),
                              &warnings);
    conf = tocsin_config_load(conf_path, reg, &errors);
    if (!conf) {
        fputs(tocsin_buf_str(&errors), stderr);
        die(EXIT_USAGE, "%s is not valid", conf_path);
    }
    tocsin_buf_free(&warnings);
    tocsin_buf_free(&errors);
    return conf;
}

/*
 * The value of a top-level `control_socket = "..."` in the main
 * configuration file, found by scanning its lines (comments skipped,
 * only outside sections), or NULL when it does not set one. Reading the
 * whole configuration would need every plugin and stop at any mistake in
 * any conf.d file, which must not keep an operator from the daemon.
 */
static char *scan_control_socket(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[4096], *found = NULL;
    int depth = 0;

    if (!fp)
        return NULL;
    while (fgets(line, sizeof(line), fp)) {
        char *p = line, *q;

        for (q = p; *q; q++) {
            if (*q == '#' || (*q == '/' && q[1] == '/')) {
                *q = '\0';
                break;
            }
            if (*q == '{')
                depth++;
            else if (*q == '}' && depth > 0)
                depth--;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        if (depth > 0 || strncmp(p, "control_socket", 14) != 0)
            continue;
        p += 14;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != '=')
            continue;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '"')
            continue;
        q = strchr(p + 1, '"');
        if (!q)
            continue;
        free(found);
        found = strndup(p + 1, (size_t)(q - p - 1));
    }
    fclose(fp);
    return found;
}

/* The control socket: -s, else the control_socket of the main
 * configuration file (read once, however many requests are sent), else
 * the default path. */
static const char *find_socket(void)
{
    static char *from_conf;

    if (socket_path)
        return socket_path;
    if (from_conf)
        return from_conf;
    if (!conf_given && access(conf_path, R_OK) < 0)
        return TOCSIN_RUN_DIR "/tocsind.sock";
    if (conf_given && access(conf_path, R_OK) < 0)
        die(EXIT_USAGE, "cannot read %s: %s", conf_path, strerror(errno));
    from_conf = scan_control_socket(conf_path);
    return from_conf ? from_conf : TOCSIN_RUN_DIR "/tocsind.sock";
}

/* Send one request and read the one-line answer. Dies when the daemon
 * cannot be reached. The caller frees the answer. */
static json_t *request(json_t *req)
{
    const char *path = find_socket();
    struct sockaddr_un addr;
    struct tocsin_buf answer = TOCSIN_BUF_INIT;
    json_error_t jerr;
    json_t *res;
    char *text, chunk[8192];
    int fd;

    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr.sun_path))
        die(EXIT_USAGE, "control socket path %s is too long", path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die(EXIT_FAILED, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int e = errno;

        if (e == ENOENT || e == ECONNREFUSED)
            die(EXIT_UNREACHABLE, "tocsind is not running (nothing listens on %s)", path);
        if (e == EACCES || e == EPERM)
            die(EXIT_UNREACHABLE, "no permission to use %s: run as root or as a member of "
                "the tocsin group", path);
        die(EXIT_UNREACHABLE, "cannot connect to %s: %s", path, strerror(e));
    }
    text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text)
        die(EXIT_FAILED, "out of memory");
    tocsin_buf_puts(&answer, text);
    tocsin_buf_putc(&answer, '\n');
    free(text);
    if (send(fd, answer.data, answer.len, MSG_NOSIGNAL) != (ssize_t)answer.len) {
        int e = errno;

        /* A daemon that will not serve us may answer why and close before
         * the request is in: its answer is still there to be read. */
        if (e != EPIPE && e != ECONNRESET)
            die(EXIT_UNREACHABLE, "cannot send the request to %s: %s", path, strerror(e));
    }
    tocsin_buf_reset(&answer);
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        /* The daemon closes after its one-line answer; a reset once that
         * line is in is the end of it, not a failure. */
        if (n < 0 && errno == ECONNRESET && answer.len &&
            memchr(answer.data, '\n', answer.len))
            break;
        if (n < 0)
            die(EXIT_UNREACHABLE, "reading from %s: %s", path, strerror(errno));
        if (n == 0)
            break;
        tocsin_buf_append(&answer, chunk, (size_t)n);
    }
    close(fd);
    res = json_loads(tocsin_buf_str(&answer), 0, &jerr);
    tocsin_buf_free(&answer);
    if (!res)
        die(EXIT_FAILED, "the daemon's answer is not JSON: %s", jerr.text);
    if (!json_is_true(json_object_get(res, "ok"))) {
        const char *e = json_string_value(json_object_get(res, "error"));

        fprintf(stderr, "tocsinctl: %s\n", e ? e : "the daemon refused the request");
        exit(strstr(e ? e : "", "permission denied") ? EXIT_UNREACHABLE : EXIT_FAILED);
    }
    return res;
}

/* ------------------------------------------------------------------ */
/* status                                                              */
/* ------------------------------------------------------------------ */

static const char *state_colour(const char *state)
{
    if (strcmp(state, "OK") == 0)
        return "\033[32m";
    if (strcmp(state, "WARNING") == 0)
        return "\033[33m";
    if (strcmp(state, "CRITICAL") == 0)
        return "\033[31m";
    if (strcmp(state, "UNKNOWN") == 0)
        return "\033[35m";
    return "\033[2m";
}

static void format_age(json_int_t since, char *buf, size_t len)
{
    if (!since) {
        snprintf(buf, len, "-");
        return;
    }
    tocsin_duration_format((long long)(time(NULL) - since), buf, len);
}

static int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"state", required_argument, NULL, 's'},
        {"label", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0}
    };
    const char *state = NULL, *label = NULL;
    int json = 0, c, colour;
    json_t *req, *res, *svc;
    size_t i;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 's')
            state = optarg;
        else if (c == 'l')
            label = optarg;
        else
            return EXIT_USAGE;
    }
    if (optind < argc)
        die(EXIT_USAGE, "status: unexpected argument \"%s\"", argv[optind]);
    req = json_pack("{s:s}", "cmd", "status");
    if (state)
        json_object_set_new(req, "state", json_string(state));
    if (label)
        json_object_set_new(req, "label", json_string(label));
    res = request(req);
    if (json) {
        json_dumpf(json_object_get(res, "services"), stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(res);
        return 0;
    }
    colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") &&
             !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
    printf("%-9s %-28s %-16s %-9s %s\n", "STATE", "SERVICE", "HOST", "SINCE", "OUTPUT");
    json_array_foreach(json_object_get(res, "services"), i, svc) {
        const char *st = json_string_value(json_object_get(svc, "state"));
        char age[32], flags[64] = "";

        format_age(json_integer_value(json_object_get(svc, "last_change")), age, sizeof(age));
        if (json_is_string(json_object_get(svc, "priority"))) {
            json_t *b = json_object_get(svc, "breaches");
            json_int_t resp = json_integer_value(json_object_get(b, "response"));
            json_int_t reso = json_integer_value(json_object_get(b, "resolution"));

            snprintf(flags, sizeof(flags), " [%s%s%s]",
                     json_string_value(json_object_get(svc, "priority")),
                     resp ? ", response target missed" : "",
                     reso ? ", resolution target missed" : "");
        }
        if (json_is_string(json_object_get(json_object_get(svc, "acknowledged"), "assignee"))) {
            size_t used = strlen(flags);

            snprintf(flags + used, sizeof(flags) - used, " [ack: %s]", json_string_value(
                     json_object_get(json_object_get(svc, "acknowledged"), "assignee")));
        } else if (json_object_get(svc, "acknowledged")) {
            strncat(flags, " [ack]", sizeof(flags) - strlen(flags) - 1);
        }
        if (json_object_get(svc, "downtime"))
            strncat(flags, " [downtime]", sizeof(flags) - strlen(flags) - 1);
        if (json_is_true(json_object_get(svc, "flapping")))
            strncat(flags, " [flapping]", sizeof(flags) - strlen(flags) - 1);
        if (json_is_false(json_object_get(svc, "is_hard")) && strcmp(st, "OK") != 0)
            strncat(flags, " [soft]", sizeof(flags) - strlen(flags) - 1);
        printf("%s%-9s%s %-28s %-16s %-9s %s%s\n", colour ? state_colour(st) : "", st,
               colour ? "\033[0m" : "",
               json_string_value(json_object_get(svc, "name")),
               json_string_value(json_object_get(svc, "host")), age,
               json_string_value(json_object_get(svc, "output")), flags);
    }
    json_decref(res);
    return 0;
}

/* ------------------------------------------------------------------ */
/* check, ack, downtime, reload, history                               */
/* ------------------------------------------------------------------ */

static int cmd_check(int argc, char **argv)
{
    json_t *res, *svc;
    const char *st;

    if (argc != 2)
        die(EXIT_USAGE, "usage: tocsinctl check NAME");
    res = request(json_pack("{s:s, s:s}", "cmd", "check", "service", argv[1]));
    svc = json_object_get(res, "service");
    st = json_string_value(json_object_get(svc, "state"));
    printf("%s: %s\n", st, json_string_value(json_object_get(svc, "full_output")));
    json_decref(res);
    return 0;
}

/* -m TEXT, --label K=V, --for, --until, --remove and one NAME. */
struct target_args {
    const char *name, *label, *text, *for_, *until, *assign;
    int remove;
};

static void parse_target(int argc, char **argv, struct target_args *t, int downtime)
{
    static const struct option opts[] = {
        {"message", required_argument, NULL, 'm'},
        {"label", required_argument, NULL, 'l'},
        {"for", required_argument, NULL, 'f'},
        {"until", required_argument, NULL, 'u'},
        {"remove", no_argument, NULL, 'r'},
        {"assign", required_argument, NULL, 'a'},
        {NULL, 0, NULL, 0}
    };
    int c;

    memset(t, 0, sizeof(*t));
    optind = 0;
    while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': t->text = optarg; break;
        case 'l': t->label = optarg; break;
        case 'f': t->for_ = optarg; break;
        case 'u': t->until = optarg; break;
        case 'r': t->remove = 1; break;
        case 'a': t->assign = optarg; break;
        default: exit(EXIT_USAGE);
        }
        if (c == 'a' && (downtime || strcmp(argv[0], "ack") != 0))
            die(EXIT_USAGE, "%s: --assign is for ack", argv[0]);
        if (c == 'a' && !*optarg)
            die(EXIT_USAGE, "ack: --assign needs a name");
        if (!downtime && c != 'm' && c != 'l' && c != 'a')
            die(EXIT_USAGE, "%s: --for, --until and --remove are for downtime", argv[0]);
    }
    if (optind < argc)
        t->name = argv[optind++];
    if (optind < argc)
        die(EXIT_USAGE, "%s: unexpected argument \"%s\"", argv[0], argv[optind]);
    if (!t->name == !t->label)
        die(EXIT_USAGE, "%s: name one service, or give --label KEY=VALUE", argv[0]);
}

static json_t *target_request(const char *cmd, const struct target_args *t)
{
    json_t *req = json_pack("{s:s}", "cmd", cmd);

    if (t->name)
        json_object_set_new(req, "service", json_string(t->name));
    if (t->label)
        json_object_set_new(req, "label", json_string(t->label));
    if (t->text)
        json_object_set_new(req, "text", json_string(t->text));
    if (t->assign)
        json_object_set_new(req, "assign", json_string(t->assign));
    return req;
}

static void print_services(json_t *res, const char *what)
{
    json_t *s;
    size_t i;

    json_array_foreach(json_object_get(res, "services"), i, s)
        printf("%s: %s\n", json_string_value(s), what);
}

static int cmd_ack(int argc, char **argv, int remove)
{
    struct target_args t;
    json_t *res;

    parse_target(argc, argv, &t, 0);
    res = request(target_request(remove ? "unack" : "ack", &t));
    print_services(res, remove ? "acknowledgement withdrawn" : "acknowledged");
    json_decref(res);
    return 0;
}

static int cmd_downtime(int argc, char **argv)
{
    struct target_args t;
    json_t *req, *res;
    time_t until = 0;
    char when[64];

    parse_target(argc, argv, &t, 1);
    if (!t.remove) {
        if (!t.for_ == !t.until)
            die(EXIT_USAGE, "downtime: give --for DURATION or --until \"YYYY-MM-DD HH:MM\"");
        if (t.for_) {
            long ms;

            if (tocsin_duration_parse(t.for_, &ms) < 0 || ms <= 0)
                die(EXIT_USAGE, "downtime: --for \"%s\" is not a duration (e.g. 2h, 30m)",
                    t.for_);
            until = time(NULL) + (ms + 999) / 1000;
        } else {
            char err[256];

            if (tocsin_local_time_parse(t.until, NULL, &until, err, sizeof(err)) < 0)
                die(EXIT_USAGE, "downtime: --until: %s", err);
            if (until <= time(NULL))
                die(EXIT_USAGE, "downtime: --until %s is in the past", t.until);
        }
    }
    req = target_request("downtime", &t);
    if (t.remove)
        json_object_set_new(req, "remove", json_true());
    else
        json_object_set_new(req, "until", json_integer((json_int_t)until));
    res = request(req);
    if (t.remove) {
        print_services(res, "downtime removed");
    } else {
        struct tm tm;

        localtime_r(&until, &tm);
        strftime(when, sizeof(when), "in downtime until %Y-%m-%d %H:%M %Z", &tm);
        print_services(res, when);
    }
    json_decref(res);
    return 0;
}

static int cmd_reload(int argc, char **argv)
{
    json_t *res, *notes, *note;
    size_t i;

    (void)argv;
    if (argc != 1)
        die(EXIT_USAGE, "usage: tocsinctl reload");
    res = request(json_pack("{s:s}", "cmd", "reload"));
    printf("configuration reloaded: %lld services\n",
           (long long)json_integer_value(json_object_get(res, "services")));
    /* What waits for a restart, and warnings: the daemon says it. */
    notes = json_object_get(res, "notes");
    json_array_foreach(notes, i, note)
        if (json_is_string(note))
            printf("%s\n", json_string_value(note));
    json_decref(res);
    return 0;
}

static int cmd_history(int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}
    };
    long since_ms = 24 * 3600 * 1000L;
    int c, json = 0;
    json_t *req, *res, *ev;
    size_t i;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's') {
            if (tocsin_duration_parse(optarg, &since_ms) < 0 || since_ms <= 0)
                die(EXIT_USAGE, "history: --since \"%s\" is not a duration (e.g. 24h)", optarg);
        } else if (c == 'j') {
            json = 1;
        } else {
            return EXIT_USAGE;
        }
    }
    req = json_pack("{s:s, s:I}", "cmd", "history", "since_ms",
                    (json_int_t)((long long)time(NULL) * 1000 - since_ms));
    if (optind < argc)
        json_object_set_new(req, "service", json_string(argv[optind++]));
    if (optind < argc)
        die(EXIT_USAGE, "history: unexpected argument \"%s\"", argv[optind]);
    res = request(req);
    if (json) {
        json_dumpf(json_object_get(res, "events"), stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        json_array_foreach(json_object_get(res, "events"), i, ev) {
            time_t at = (time_t)(json_integer_value(json_object_get(ev, "at_ms")) / 1000);
            char when[32];
            struct tm tm;

            localtime_r(&at, &tm);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
            printf("%s  %-20s %-10s %s\n", when,
                   json_string_value(json_object_get(ev, "service")),
                   json_string_value(json_object_get(ev, "kind")),
                   json_string_value(json_object_get(ev, "text")));
        }
    }
    json_decref(res);
    return 0;
}

/* Add `value` to the array `key` of `req`, making it when needed. */
static void push_string(json_t *req, const char *key, const char *value)
{
    json_t *a = json_object_get(req, key);

    if (!a) {
        a = json_array();
        json_object_set_new(req, key, a);
    }
    json_array_append_new(a, json_string(value));
}

/* The incidents of the store: open ones unless --all or --closed. One line
 * each: status, state, service, start, how long, acknowledgement. */
static int cmd_incidents(int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"closed", no_argument, NULL, 'c'},
        {"service", required_argument, NULL, 's'},
        {"label", required_argument, NULL, 'l'},
        {"since", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}
    };
    const char *which = "open";
    int c, json = 0;
    json_t *req, *res, *inc, *ack;
    size_t i;

    req = json_pack("{s:s}", "cmd", "incidents");
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'a' || c == 'c') {
            if (strcmp(which, "open") != 0)
                die(EXIT_USAGE, "incidents: --all and --closed exclude each other");
            which = c == 'a' ? "all" : "closed";
        } else if (c == 's') {
            push_string(req, "service", optarg);
        } else if (c == 'l') {
            push_string(req, "label", optarg);
        } else if (c == 'S') {
            json_object_set_new(req, "since", json_string(optarg));
        } else if (c == 'j') {
            json = 1;
        } else {
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        die(EXIT_USAGE, "incidents: unexpected argument \"%s\"", argv[optind]);
    json_object_set_new(req, "state", json_string(which));
    res = request(req);
    if (json) {
        json_dumpf(json_object_get(res, "incidents"), stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(res);
        return 0;
    }
    printf("%-7s %-9s %-28s %-21s %-10s %s\n", "STATUS", "STATE", "SERVICE", "SINCE",
           "DURATION", "ACK");
    json_array_foreach(json_object_get(res, "incidents"), i, inc) {
        const char *st = json_string_value(json_object_get(inc, "state"));
        char state[16], took[32];
        size_t k;

        snprintf(state, sizeof(state), "%s", st ? st : "?");
        for (k = 0; state[k]; k++)
            state[k] = (char)toupper((unsigned char)state[k]);
        tocsin_duration_format(json_integer_value(json_object_get(inc, "duration_seconds")),
                               took, sizeof(took));
        ack = json_object_get(inc, "acknowledged");
        printf("%-7s %-9s %-28s %-21s %-10s", json_string_value(json_object_get(inc, "status")),
               state, json_string_value(json_object_get(inc, "service")),
               json_string_value(json_object_get(inc, "start")), took);
        if (json_is_object(ack)) {
            const char *by = json_string_value(json_object_get(ack, "by"));
            const char *text = json_string_value(json_object_get(ack, "text"));

            printf(" %s%s%s", by ? by : "someone", text && *text ? ": " : "",
                   text ? text : "");
        } else {
            printf(" -");
        }
        putchar('\n');
    }
    if (json_is_true(json_object_get(res, "truncated")))
        printf("(only the newest %" JSON_INTEGER_FORMAT " shown)\n",
               json_integer_value(json_object_get(res, "count")));
    json_decref(res);
    return 0;
}

/* The metric history of one service (one label of it): one line per point,
 * or the daemon's whole answer with --json. */
static int cmd_metrics(int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}
    };
    int c, json = 0;
    json_t *req, *res, *series, *p;
    size_t i, k;

    req = json_pack("{s:s}", "cmd", "metrics");
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            json_object_set_new(req, "since", json_string(optarg));
        else if (c == 'j')
            json = 1;
        else
            return EXIT_USAGE;
    }
    if (optind >= argc)
        die(EXIT_USAGE, "usage: tocsinctl metrics SERVICE [LABEL] [--since DURATION] [--json]");
    json_object_set_new(req, "service", json_string(argv[optind++]));
    if (optind < argc)
        json_object_set_new(req, "label", json_string(argv[optind++]));
    if (optind < argc)
        die(EXIT_USAGE, "metrics: unexpected argument \"%s\"", argv[optind]);
    res = request(req);
    if (json) {
        json_object_del(res, "ok");
        json_dumpf(res, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(res);
        return 0;
    }
    printf("%-20s %-20s %14s %14s %14s %8s  (%s points)\n", "LABEL", "TIME", "MIN", "AVG",
           "MAX", "COUNT", json_string_value(json_object_get(res, "resolution")));
    json_array_foreach(json_object_get(res, "series"), i, series) {
        json_array_foreach(json_object_get(series, "points"), k, p) {
            printf("%-20s %-20s %14g %14g %14g %8" JSON_INTEGER_FORMAT "\n",
                   json_string_value(json_object_get(series, "label")),
                   json_string_value(json_object_get(p, "time")),
                   json_real_value(json_object_get(p, "min")),
                   json_real_value(json_object_get(p, "avg")),
                   json_real_value(json_object_get(p, "max")),
                   json_integer_value(json_object_get(p, "count")));
        }
    }
    if (json_is_true(json_object_get(res, "truncated")))
        printf("(only the first %" JSON_INTEGER_FORMAT " points shown)\n",
               json_integer_value(json_object_get(res, "count")));
    json_decref(res);
    return 0;
}

/* A result for a passive service (or one with accept_passive): the daemon
 * applies it as it applies a check's result. */
static int cmd_submit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 's'},
        {"perfdata", required_argument, NULL, 'p'},
        {"message", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0}
    };
    const char *state = NULL, *perf = NULL, *text = "", *name = NULL;
    json_t *req, *res;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
        if (c == 's')
            state = optarg;
        else if (c == 'p')
            perf = optarg;
        else if (c == 'm')
            text = optarg;
        else
            return EXIT_USAGE;
    }
    if (optind < argc)
        name = argv[optind++];
    if (optind < argc)
        die(EXIT_USAGE, "submit: unexpected argument \"%s\"", argv[optind]);
    if (!name || !state)
        die(EXIT_USAGE, "usage: tocsinctl submit NAME --state STATE [-m TEXT] "
            "[--perfdata PERFDATA]");
    if (tocsin_state_parse(state) < 0)
        die(EXIT_USAGE, "submit: --state \"%s\" is not ok, warning, critical, unknown or 0-3",
            state);
    /* What a script hands over may hold bytes that are not UTF-8; they
     * are sent as U+FFFD, as the daemon shows a check's output. */
    req = json_pack("{s:s, s:o, s:s, s:o}", "cmd", "submit", "service",
                    tocsin_json_text(name), "state", state, "output", tocsin_json_text(text));
    if (req && perf && json_object_set_new(req, "perfdata", tocsin_json_text(perf)) < 0) {
        json_decref(req);
        req = NULL;
    }
    res = request(req);
    printf("%s: %s submitted\n", name, json_string_value(json_object_get(res, "state")));
    json_decref(res);
    return 0;
}

/* ------------------------------------------------------------------ */
/* route-test                                                          */
/* ------------------------------------------------------------------ */

/* Parse a state name for route-test; dies on anything else. */
static int parse_state_arg(const char *opt, const char *text)
{
    static const char *const names[] = {"ok", "warning", "critical", "unknown"};
    int i;

    for (i = 0; i < 4; i++)
        if (strcasecmp(text, names[i]) == 0)
            return i;
    die(EXIT_USAGE, "%s \"%s\" is not one of ok, warning, critical, unknown", opt, text);
}

/*
 * Print notifier `n` as a line of route-test's answer ("NAME", with
 * " (disabled)" when it is not enabled), unless this is a recovery and the
 * notifier does not take them: then its name goes to `quiet`.
 */
static void print_notifier(const struct tocsin_config *conf, uint32_t n, int recovery,
                           struct tocsin_buf *quiet)
{
    const struct tocsin_notifier_conf *nc = &conf->notifiers[n];

    if (recovery && !nc->send_resolved) {
        tocsin_buf_printf(quiet, "%s%s", quiet->len ? ", " : "", nc->inst.name);
        return;
    }
    printf("%s%s\n", nc->inst.name, nc->enabled ? "" : " (disabled)");
}

/* route-test's line on route `r`'s defer period at `at`, if it has one. */
static void print_deferral(const struct tocsin_config *conf, const struct tocsin_route_conf *r,
                           time_t at)
{
    char when[64];
    time_t until;

    if (!r->defer)
        return;
    until = tocsin_route_defer_until(conf, r, at);
    if (until == 0)
        printf("# not deferred: its defer period \"%s\" is open\n", r->defer);
    else if (until < 0)
        printf("# not deferred: its defer period \"%s\" does not open within %d days\n",
               r->defer, TOCSIN_DEFER_HORIZON_DAYS);
    else
        printf("# deferred until %s, when its defer period \"%s\" opens\n",
               tocsin_local_minute(until, when, sizeof(when)), r->defer);
}

/*
 * route-test: which notifiers an alert of a service in a state would go to
 * at a given time, one per line on stdout, then lines starting with "# "
 * that say why: the route that won (FILE:LINE), routes added by continue,
 * repeats and escalation steps with their times. For --state ok the
 * answer is the recovery's: every notifier told of the problem (--problem,
 * default critical, taken as told at --at), except those with
 * send_resolved = false.
 */
/* The priority an incident of `s` at `sev` opened at `at` gets, and when
 * its targets fall due, as route-test comments. */
static void print_priority(const struct tocsin_config *conf, const struct tocsin_service_conf *s,
                           enum tocsin_severity sev, time_t at)
{
    long p = tocsin_priority_of(conf, s, sev);
    time_t respond = tocsin_priority_respond_due(conf, p, at);
    time_t resolve = tocsin_priority_resolve_due(conf, p, at, 0);
    char within[64], when[64];

    if (p < 0)
        return;
    printf("# priority %s", tocsin_priority_name(conf, p));
    if (respond) {
        tocsin_duration_format(respond - at, within, sizeof(within));
        printf(": acknowledged within %s (by %s)", within,
               tocsin_local_minute(respond, when, sizeof(when)));
    }
    if (resolve) {
        tocsin_duration_format(resolve - at, within, sizeof(within));
        printf("%s resolved within %s (by %s)", respond ? "," : ":", within,
               tocsin_local_minute(resolve, when, sizeof(when)));
    }
    printf("\n");
}

static int cmd_route_test(int argc, char **argv)
{
    static const struct option opts[] = {
        {"service", required_argument, NULL, 's'},
        {"state", required_argument, NULL, 't'},
        {"problem", required_argument, NULL, 'P'},
        {"at", required_argument, NULL, 'a'},
        {NULL, 0, NULL, 0}
    };
    const char *name = NULL, *state_text = NULL, *at_text = NULL, *problem_text = NULL;
    struct tocsin_registry reg;
    struct tocsin_config *conf;
    struct tocsin_route_choice choice;
    struct tocsin_buf quiet = TOCSIN_BUF_INIT;
    enum tocsin_severity sev;
    char err[256], when[64];
    time_t at;
    long svc;
    int c, state, problem, recovery;
    size_t i, k;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            name = optarg;
        else if (c == 't')
            state_text = optarg;
        else if (c == 'P')
            problem_text = optarg;
        else if (c == 'a')
            at_text = optarg;
        else
            return EXIT_USAGE;
    }
    if (!name || !state_text || !at_text || optind < argc)
        die(EXIT_USAGE, "usage: tocsinctl route-test --service NAME --state STATE "
            "[--problem STATE] --at \"YYYY-MM-DD HH:MM\"");
    state = parse_state_arg("--state", state_text);
    recovery = state == TOCSIN_OK;
    problem = problem_text ? parse_state_arg("--problem", problem_text) : TOCSIN_CRITICAL;
    if (problem_text && !recovery)
        die(EXIT_USAGE, "--problem says which problem recovers: it goes with --state ok");
    if (problem == TOCSIN_OK)
        die(EXIT_USAGE, "--problem ok: the problem that recovers is warning, critical or "
            "unknown");
    if (tocsin_local_time_parse(at_text, NULL, &at, err, sizeof(err)) < 0)
        die(EXIT_USAGE, "--at: %s", err);
    conf = load_config(&reg);
    svc = tocsin_config_find_service(conf, name);
    if (svc < 0)
        die(EXIT_USAGE, "no service or group named '%s' in %s", name, conf_path);
    /* A recovery goes where its problem went, not where an OK would route. */
    sev = tocsin_route_severity(&conf->services[svc],
                                (enum tocsin_state)(recovery ? problem : state));
    if (conf->nroutes == 0) {
        /* Without routes every enabled notifier hears of everything. */
        for (i = 0; i < conf->nnotifiers; i++)
            if (conf->notifiers[i].enabled && !conf->notifiers[i].forwards_results)
                print_notifier(conf, (uint32_t)i, recovery, &quiet);
        printf("# no route is configured: every enabled notifier hears of everything\n");
    } else {
        const struct tocsin_route_conf *r;

        if (tocsin_route_select(conf, (uint32_t)svc, sev, at, &choice) < 0)
            die(EXIT_FAILED, "out of memory");
        if (choice.first_route < 0 && conf->fallback_notifier >= 0)
            print_notifier(conf, (uint32_t)conf->fallback_notifier, recovery, &quiet);
        for (i = 0; i < choice.count; i++)
            print_notifier(conf, choice.notifiers[i], recovery, &quiet);
        if (choice.first_route < 0) {
            fprintf(stderr, "tocsinctl: no route takes a %s alert of '%s'; it goes to the "
                    "fallback notifier\n", tocsin_severity_name(sev), name);
            tocsin_route_choice_free(&choice);
            goto told;
        }
        r = &conf->routes[choice.first_route];
        if (recovery)
            printf("# the recovery of a %s problem (severity %s) told at %s goes to the "
                   "notifiers told of it\n", tocsin_state_name(problem),
                   tocsin_severity_name(sev), tocsin_local_minute(at, when, sizeof(when)));
        printf("# route \"%s\" (%s:%d) won", r->name, r->file, r->line);
        if (r->period)
            printf(": %s its period \"%s\"",
                   tocsin_route_inside(conf, r, at) ? "inside" : "outside", r->period);
        printf("\n");
        if (!recovery)
            print_deferral(conf, r, at);
        for (i = 0; i < choice.count; i++) {
            uint32_t ro = choice.route_of[i];

            for (k = 0; k < i && choice.route_of[k] != ro; k++)
                ;
            if (k == i && (long)ro != choice.first_route)
                printf("# route \"%s\" (%s:%d) added by continue\n", conf->routes[ro].name,
                       conf->routes[ro].file, conf->routes[ro].line);
        }
        if (r->repeat_interval_ms > 0 && !recovery) {
            tocsin_duration_format(r->repeat_interval_ms / 1000, err, sizeof(err));
            printf("# repeated every %s while unacknowledged\n", err);
        }
        for (i = 0; i < r->nescalations; i++) {
            const struct tocsin_escalation *e = &r->escalations[i];

            tocsin_duration_format(e->after_ms / 1000, err, sizeof(err));
            printf("# escalation after %s, at %s if unacknowledged: ", err,
                   tocsin_local_minute(at + (time_t)(e->after_ms / 1000), when, sizeof(when)));
            for (k = 0; k < e->nnotifiers; k++)
                printf("%s%s", k ? ", " : "", conf->notifiers[e->notifiers[k]].inst.name);
            printf(recovery ? " (they get the recovery too once told)\n" : "\n");
        }
        tocsin_route_choice_free(&choice);
    }
told:
    if (quiet.len)
        printf("# no recovery to %s (send_resolved = false)\n", tocsin_buf_str(&quiet));
    if (!recovery)
        print_priority(conf, &conf->services[svc], sev, at);
    tocsin_buf_free(&quiet);
    tocsin_config_free(conf);
    tocsin_registry_free(&reg);
    return 0;
}

int main(int argc, char **argv)
{
    int c;

    while ((c = getopt(argc, argv, "+c:s:p:hV")) != -1) {
        switch (c) {
        case 'c':
            conf_path = optarg;
            conf_given = 1;
            break;
        case 's':
            socket_path = optarg;
            break;
        case 'p':
            plugin_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("tocsinctl %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    argc -= optind;
    argv += optind;
    if (strcmp(argv[0], "status") == 0)
        return cmd_status(argc, argv);
    if (strcmp(argv[0], "check") == 0)
        return cmd_check(argc, argv);
    if (strcmp(argv[0], "ack") == 0)
        return cmd_ack(argc, argv, 0);
    if (strcmp(argv[0], "unack") == 0)
        return cmd_ack(argc, argv, 1);
    if (strcmp(argv[0], "downtime") == 0)
        return cmd_downtime(argc, argv);
    if (strcmp(argv[0], "reload") == 0)
        return cmd_reload(argc, argv);
    if (strcmp(argv[0], "history") == 0)
        return cmd_history(argc, argv);
    if (strcmp(argv[0], "incidents") == 0)
        return cmd_incidents(argc, argv);
    if (strcmp(argv[0], "metrics") == 0)
        return cmd_metrics(argc, argv);
    if (strcmp(argv[0], "submit") == 0)
        return cmd_submit(argc, argv);
    if (strcmp(argv[0], "route-test") == 0)
        return cmd_route_test(argc, argv);
    usage(stderr);
    die(EXIT_USAGE, "unknown command \"%s\"", argv[0]);
}
