/*
 * tocsind.c - the Tocsin daemon: load plugins and configuration, then run
 * every service on schedule in worker processes, keep each service's
 * state in the Nagios manner and hand hard state changes to notifiers.
 *
 * This file holds the options, the start-up (state directory, store,
 * alerting, workers, control socket, HTTP endpoint, first runs) and the
 * shutdown; the event loop is in tocsind-loop.c, each service's state in
 * tocsind-state.c, a reload in tocsind-reload.c (see tocsind.h).
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "programs/tocsind.h"

#ifndef TOCSIN_SYSCONF_DIR
#define TOCSIN_SYSCONF_DIR "/etc/tocsin"
#endif

void tocsin_daemon_log_lines(int level, const char *text)
{
    const char *p = text;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        tocsin_log(level, "%.*s", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

/* Take the variables named by the `*_env` options of one plugin instance
 * out of the environment (see tocsin_take_secrets). */
static void take_instance_secrets(const struct tocsin_instance_conf *ic)
{
    char why[256], *value;
    const char *var, *eq;
    size_t i, len;
    unsigned k;

    for (i = 0; i < ic->nopts; i++) {
        const struct tocsin_optval *o = &ic->opts[i];

        len = strlen(o->name);
        if (o->type != CFGT_STR || len < 4 || strcmp(o->name + len - 4, "_env") != 0)
            continue;
        for (k = 0; k < o->nvalues; k++) {
            var = o->values[k].string;
            if (!var)
                continue;
            /* A list of NAME=VARIABLE entries names VARIABLE. */
            if ((eq = strchr(var, '=')))
                var = eq + 1;
            /* A variable that is not set is the plugin's setup to report. */
            if (*var && tocsin_secret(NULL, NULL, var, &value, why, sizeof(why)) == 0)
                tocsin_secret_free(value);
        }
    }
}

void tocsin_daemon_take_secrets(const struct tocsin_config *conf)
{
    size_t i;

    for (i = 0; i < conf->nservices; i++)
        take_instance_secrets(&conf->services[i].inst);
    for (i = 0; i < conf->nnotifiers; i++)
        take_instance_secrets(&conf->notifiers[i].inst);
}

/* mkdir -p: create `path` and its missing parents. Returns 0 or -1. */
static int make_dirs(const char *path, mode_t mode)
{
    char *copy = strdup(path), *p;
    int rc = -1;

    if (!copy)
        return -1;
    for (p = copy + 1; ; p++) {
        if (*p == '/' || !*p) {
            char c = *p;

            *p = '\0';
            if (mkdir(copy, mode) < 0 && errno != EEXIST)
                goto out;
            *p = c;
            if (!c)
                break;
        }
    }
    rc = 0;
out:
    free(copy);
    return rc;
}

/*
 * Open the state directory: create it if needed, take its lock (one daemon
 * per state directory) and open the store. Returns 0 or -1 (logged).
 */
static int open_state(struct tocsin_daemon *d)
{
    struct tocsin_buf path = TOCSIN_BUF_INIT;
    char err[512];
    int rc = -1;

    if (make_dirs(d->conf->state_dir, 0750) < 0) {
        tocsin_error("state directory %s: %s", d->conf->state_dir, strerror(errno));
        goto out;
    }
    tocsin_buf_printf(&path, "%s/tocsind.lock", d->conf->state_dir);
    d->lock_fd = open(tocsin_buf_str(&path), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (d->lock_fd < 0) {
        tocsin_error("%s: %s", tocsin_buf_str(&path), strerror(errno));
        goto out;
    }
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        tocsin_error("%s is in use by another tocsind (state_dir %s); give each daemon its "
                     "own state_dir", tocsin_buf_str(&path), d->conf->state_dir);
        goto out;
    }
    tocsin_buf_reset(&path);
    tocsin_buf_printf(&path, "%s/" TOCSIN_STORE_FILE, d->conf->state_dir);
    if (tocsin_store_open(tocsin_buf_str(&path),
                          d->conf->store_sync_full ? TOCSIN_STORE_SYNC_FULL : 0, &d->store,
                          err, sizeof(err)) < 0) {
        tocsin_error("%s", err);
        goto out;
    }
    rc = 0;
out:
    tocsin_buf_free(&path);
    return rc;
}

/* How many check workers to run: -w, else the configuration's, else 2
 * per CPU; never fewer than 2. */
static int count_workers(const struct tocsin_config *conf, int workers)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (workers <= 0)
        workers = conf->workers;
    if (workers <= 0)
        workers = cpus > 1 ? (int)(2 * cpus) : 2;
    if (workers < 2)
        workers = 2;
    return workers;
}

/* Block the signals the loop reads from a signalfd, and set up epoll with
 * that fd in it. Returns 0 or -1. */
static int open_loop(struct tocsin_daemon *d)
{
    struct epoll_event e;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (d->sigfd < 0 || d->epfd < 0) {
        tocsin_error("cannot set up the event loop: %s", strerror(errno));
        return -1;
    }
    memset(&e, 0, sizeof(e));
    e.events = EPOLLIN;
    e.data.u64 = TOCSIN_DAEMON_SIGNAL_TAG;
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &e) < 0)
        return -1;
    return 0;
}

/* Alerting on the services' views, with what it saved restored. Returns
 * 0 or -1 (logged). */
void tocsin_daemon_mhist_conf(const struct tocsin_config *conf, struct tocsin_mhist_conf *out)
{
    memset(out, 0, sizeof(*out));
    out->detail_s = conf->history_detail_ms / 1000;
    if (out->detail_s < 3600)
        out->detail_s = 3600;
    out->keep_s = conf->history_keep_ms / 1000;
}

/* The metric history, when there is a store and history_keep is not 0. */
static int open_metric_history(struct tocsin_daemon *d)
{
    struct tocsin_mhist_conf mc;

    if (!d->store || d->conf->history_keep_ms <= 0)
        return 0;
    tocsin_daemon_mhist_conf(d->conf, &mc);
    d->mhist = tocsin_mhist_new(d->store, &mc);
    if (!d->mhist) {
        tocsin_error("out of memory for the metric history");
        return -1;
    }
    return 0;
}

static int open_alerting(struct tocsin_daemon *d)
{
    struct tocsin_alerting_hooks hooks;
    long restored;

    tocsin_daemon_alerting_hooks(d, &hooks);
    d->alerting = tocsin_alerting_new(d->conf, d->store, d->views, &hooks);
    if (!d->alerting) {
        tocsin_error("out of memory for alerting");
        return -1;
    }
    d->status.alerting = d->alerting;
    restored = tocsin_alerting_restore(d->alerting);
    if (restored > 0)
        tocsin_info("restored the alerting state of %ld services", restored);
    tocsin_daemon_resolve_redefined(d, "the service's check was redefined while tocsind "
                                       "was stopped; it starts afresh");
    return 0;
}

/* The control socket, and the HTTP endpoint when enabled. Returns 0 or -1
 * (logged). */
static int open_serve(struct tocsin_daemon *d)
{
    struct tocsin_control_ops ops;
    struct tocsin_httpd_ops hops;
    char err[512];
    int failed;

    tocsin_daemon_control_ops(d, &ops);
    tocsin_daemon_httpd_ops(d, &hops);
    d->control = tocsin_control_open(d->conf->control_socket, d->epfd, &d->status, &ops,
                                     err, sizeof(err));
    if (!d->control) {
        tocsin_error("%s", err);
        return -1;
    }
    d->httpd = tocsin_httpd_start(d->conf->http, &d->status, &hops, d->epfd,
                                  TOCSIN_DAEMON_HTTPD_TAG, &failed);
    return failed ? -1 : 0;
}

/*
 * Start the daemon on d->conf: event loop, per-service state (restored
 * from the store), alerting, every worker, the control socket and HTTP
 * endpoint, then each service's first run spread across its interval.
 * Returns 0, or -1 (logged); main() frees what was set up either way.
 */
static int daemon_start(struct tocsin_daemon *d, int workers)
{
    struct tocsin_pool_events ev;
    size_t n = d->conf->nservices ? d->conf->nservices : 1, i;
    int64_t now;

    d->nworkers = count_workers(d->conf, workers);
    if (open_loop(d) < 0)
        return -1;
    /* Processes a plugin leaves behind are reparented here and reaped. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    d->svcs = calloc(n, sizeof(*d->svcs));
    d->views = calloc(n, sizeof(*d->views));
    if (!d->svcs || !d->views || tocsin_sched_init(&d->sched, (uint32_t)d->conf->nservices) < 0) {
        tocsin_error("out of memory for %zu services", d->conf->nservices);
        return -1;
    }
    if (open_state(d) < 0 || tocsin_daemon_hash_services(d) < 0)
        return -1;
    tocsin_daemon_restore_services(d);
    d->status.conf = d->conf;
    d->status.views = d->views;
    d->status.store = d->store;
    d->status.started = time(NULL);
    tocsin_daemon_status_hooks(d);
    tocsin_histogram_init(&d->status.check_duration);
    tocsin_histogram_init(&d->status.lateness);
    tocsin_histogram_init(&d->lateness);
    if (open_alerting(d) < 0 || open_metric_history(d) < 0)
        return -1;
    tocsin_daemon_pool_events(d, &ev);
    if (tocsin_pool_start(&d->pool, d->conf, d->nworkers, d->epfd, &ev) < 0)
        return -1;
    if (open_serve(d) < 0)
        return -1;
    /* Each service has a fixed phase within its interval, from its name.
     * Its first run comes within max_check_spread of the start (sooner
     * than a long interval would allow), later runs keep to the phase, so
     * neither a start nor the steady state floods the machine. */
    now = tocsin_mono_us();
    for (i = 0; i < d->conf->nservices; i++)
        tocsin_daemon_schedule_first(d, i, now);
    d->stats_since = now;
    /* Parsing left a large heap behind (libconfuse builds a big table per
     * section): give the free part back before the workers are forked
     * around it. */
    malloc_trim(0);
    tocsin_info("tocsind %s started: %zu services, %zu notifiers, %d check workers",
                PACKAGE_VERSION, d->conf->nservices, d->conf->nnotifiers, d->nworkers);
    return 0;
}

/* Stop and free everything daemon_start() and main() set up; safe on a
 * daemon set up only in part. */
static void daemon_free(struct tocsin_daemon *d)
{
    size_t i;

    tocsin_control_close(d->control);
    tocsin_httpd_stop(d->httpd);
    tocsin_pool_stop(&d->pool);
    if (d->mhist) {
        /* Every open minute and hour is written: a restart keeps them. */
        if (tocsin_mhist_flush(d->mhist, time(NULL), 1) < 0)
            tocsin_warn("metric history: the last minutes could not be saved");
        tocsin_mhist_free(d->mhist);
    }
    tocsin_alerting_free(d->alerting);
    tocsin_store_close(d->store);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    tocsin_sched_free(&d->sched);
    tocsin_daemon_submitted_free(d);
    if (d->views && d->conf)
        for (i = 0; i < d->conf->nservices; i++)
            free(d->views[i].output);
    free(d->views);
    free(d->svcs);
    free(d->svc_hash);
    free(d->svc_unsaved);
    if (d->epfd >= 0)
        close(d->epfd);
    if (d->sigfd >= 0)
        close(d->sigfd);
    tocsin_config_free(d->conf);
    tocsin_registry_free(&d->reg);
    tocsin_sdnotify_close(&d->sdnotify);
}

static void usage(FILE *to)
{
    fprintf(to,
            "Usage: tocsind [-c FILE] [-t] [-f] [-p PLUGIN_PATH] [-w WORKERS] [-l LEVEL]\n"
            "  -c FILE   main configuration file (default %s/tocsin.conf);\n"
            "            every *.conf in its conf.d/ directory is read too\n"
            "  -t        check the configuration, print each problem as FILE:LINE: message,\n"
            "            exit 0 when it is valid\n"
            "  -f        run in the foreground, logging to stderr\n"
            "  -p PATH   plugin directories, colon-separated (default $TOCSIN_PLUGIN_PATH\n"
            "            or %s)\n"
            "  -w N      number of check workers (default: the configuration's, or 2 per CPU)\n"
            "  -l LEVEL  log level: error, warning, info, debug\n"
            "  -V        print the version\n",
            TOCSIN_SYSCONF_DIR, tocsin_registry_default_path());
}

/* Print plugin load warnings that matter: in -t mode all of them. */
static void print_lines(FILE *to, const char *prefix, const char *text)
{
    const char *p = text;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        fprintf(to, "%s%.*s\n", prefix, (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

int main(int argc, char **argv)
{
    struct tocsin_daemon d;
    struct tocsin_buf warnings = TOCSIN_BUF_INIT, errors = TOCSIN_BUF_INIT;
    struct tocsin_buf doubts = TOCSIN_BUF_INIT; /* the configuration's warnings */
    const char *conf_path = TOCSIN_SYSCONF_DIR "/tocsin.conf";
    const char *plugin_path = NULL;
    int test = 0, foreground = 0, workers = 0, level = TOCSIN_LOG_INFO, level_set = 0;
    int opt, rc = 1, nerr;

    while ((opt = getopt(argc, argv, "c:tfp:w:l:Vh")) != -1) {
        switch (opt) {
        case 'c':
            conf_path = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'f':
            foreground = 1;
            break;
        case 'p':
            plugin_path = optarg;
            break;
        case 'w': {
            char *end;
            long v = strtol(optarg, &end, 10);

            if (*end || v < 1 || v > 1024) {
                fprintf(stderr, "tocsind: -w: \"%s\" is not a number of workers (1-1024)\n", optarg);
                return 2;
            }
            workers = (int)v;
            break;
        }
        case 'l':
            level = tocsin_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr, "tocsind: -l: \"%s\" is not one of error, warning, info, debug\n", optarg);
                return 2;
            }
            level_set = 1;
            break;
        case 'V':
            printf("tocsind %s (plugin ABI %d)\n", PACKAGE_VERSION, TOCSIN_PLUGIN_ABI);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tocsind: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    memset(&d, 0, sizeof(d));
    d.epfd = d.sigfd = d.lock_fd = d.sdnotify.fd = -1;
    tocsin_log_open("tocsind", !foreground && !test, level);
    if (tocsin_registry_init(&d.reg) < 0) {
        fprintf(stderr, "tocsind: cannot initialise the plugin loader\n");
        return 1;
    }
    if (!plugin_path)
        plugin_path = tocsin_registry_default_path();
    tocsin_registry_load_path(&d.reg, plugin_path, &warnings);

    d.conf = tocsin_config_load_warn(conf_path, &d.reg, &errors, &doubts);
    if (d.conf) {
        tocsin_daemon_take_secrets(d.conf);
        nerr = tocsin_validate_setups(d.conf, &errors);
        if (nerr < 0)
            tocsin_buf_printf(&errors, "%s:1: cannot check plugin options: %s\n",
                              conf_path, strerror(errno));
    }
    if (d.conf && !errors.len)
        tocsin_config_route_warnings(d.conf, &warnings);
    if (errors.len) {
        if (test || foreground)
            print_lines(stderr, "", tocsin_buf_str(&errors));
        else
            tocsin_error("configuration %s is not valid:\n%s", conf_path, tocsin_buf_str(&errors));
        if (warnings.len)
            print_lines(stderr, "warning: ", tocsin_buf_str(&warnings));
        if (doubts.len && (test || foreground))
            print_lines(stderr, "", tocsin_buf_str(&doubts));
        goto out;
    }
    if (test) {
        if (warnings.len)
            print_lines(stderr, "warning: ", tocsin_buf_str(&warnings));
        if (doubts.len)
            print_lines(stderr, "", tocsin_buf_str(&doubts));
        printf("%s: configuration is valid: %zu services, %zu notifiers\n",
               conf_path, d.conf->nservices, d.conf->nnotifiers);
        rc = 0;
        goto out;
    }
    tocsin_daemon_log_lines(TOCSIN_LOG_WARNING, tocsin_buf_str(&warnings));
    tocsin_daemon_log_lines(TOCSIN_LOG_WARNING, tocsin_buf_str(&doubts));
    if (!level_set)
        tocsin_log_set_level(d.conf->log_level);
    if (!foreground && daemon(0, 0) < 0) {
        tocsin_error("cannot become a daemon: %s", strerror(errno));
        goto out;
    }
    d.conf_path = conf_path;
    /* Before any worker is forked: the variables leave the environment. */
    tocsin_sdnotify_open(&d.sdnotify);
    if (daemon_start(&d, workers) < 0)
        goto out;
    tocsin_sdnotify_status(&d.sdnotify, "READY=1", "running: %zu services, %zu notifiers, "
                           "%d check workers", d.conf->nservices, d.conf->nnotifiers,
                           d.nworkers);
    rc = tocsin_daemon_run(&d) < 0 ? 1 : 0;
    if (!d.stopping)   /* the loop failed; a signal or a reload told it already */
        tocsin_sdnotify_status(&d.sdnotify, "STOPPING=1", "stopping: the event loop failed");
    tocsin_daemon_report_stats(&d, "exit");
    tocsin_info("stopped after %llu checks", (unsigned long long)d.checks_total);
out:
    daemon_free(&d);
    tocsin_buf_free(&warnings);
    tocsin_buf_free(&doubts);
    tocsin_buf_free(&errors);
    return rc;
}
