/*
 * tocsind.c - the Tocsin daemon: load plugins and configuration, then run
 * every service on schedule in worker processes, keep each service's
 * state in the Nagios manner and hand hard state changes to notifiers.
 *
 * The core is one thread around epoll: a signalfd (SIGCHLD, SIGTERM,
 * SIGINT, SIGHUP, SIGUSR1) and one socket per worker. It never calls
 * plugin code itself.
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

#include "alerting/alerting.h"
#include "lib/buf.h"
#include "base/clock.h"
#include "config/config.h"
#include "serve/control.h"
#include "engine/group.h"
#include "serve/httpd.h"
#include "base/log.h"
#include "lib/nagios.h"
#include "config/registry.h"
#include "engine/scheduler.h"
#include "engine/service.h"
#include "serve/status.h"
#include "alerting/store.h"
#include "engine/worker.h"

#ifndef TOCSIN_SYSCONF_DIR
#define TOCSIN_SYSCONF_DIR "/etc/tocsin"
#endif

#define SIGNAL_TAG 1
#define HTTPD_TAG 2
#define OUTPUT_KEEP 8192            /* bytes of each service's last output kept */
#define HIST_BUCKETS (64 * 16)

/* Lateness: how long after its due time a check started. Log-linear
 * buckets: 16 per power of two, so percentiles are within ~6 %. */
struct hist {
    uint64_t count[HIST_BUCKETS];
    uint64_t total;
    int64_t max;
};

struct svc_rt {
    struct tocsin_svc_state st;
    int64_t due;                /* the slot the current/last run was due at */
    int64_t phase;              /* slot the next regular run is derived from */
    uint32_t seq;               /* job in flight, 0 when none */
    time_t last_change;         /* wall clock of the last hard change */
};

struct daemon {
    struct tocsin_config *conf;
    struct tocsin_registry reg;
    struct tocsin_pool pool;
    struct tocsin_sched sched;
    struct svc_rt *rt;
    struct tocsin_svc_view *views; /* what alerting sees of each service */
    struct tocsin_store *store;
    struct tocsin_alerting *alerting;
    struct tocsin_status status;  /* what the control socket and HTTP show */
    struct tocsin_control *control;
    const char *conf_path;
    int nworkers;               /* check workers to run */
    uint64_t *svc_hash;         /* per service: tocsin_config_service_hash */
    struct tocsin_httpd *httpd;   /* NULL when disabled */
    int lock_fd;
    int epfd;
    int sigfd;
    uint32_t next_seq;
    int stopping;
    uint64_t checks;            /* results since the last stats report */
    uint64_t checks_total;
    int64_t stats_since;
    struct hist lateness;
};

static int hist_bucket(int64_t v)
{
    int msb, sub;

    if (v < 16)
        return v < 0 ? 0 : (int)v;
    msb = 63 - __builtin_clzll((unsigned long long)v);
    sub = (int)((v >> (msb - 4)) & 15);
    return (msb - 3) * 16 + sub;
}

/* Smallest value of bucket `b` (inverse of hist_bucket). */
static int64_t hist_value(int b)
{
    int msb, sub;

    if (b < 16)
        return b;
    msb = b / 16 + 3;
    sub = b % 16;
    return ((int64_t)16 + sub) << (msb - 4);
}

static void hist_add(struct hist *h, int64_t v)
{
    int b = hist_bucket(v);

    if (b >= HIST_BUCKETS)
        b = HIST_BUCKETS - 1;
    h->count[b]++;
    h->total++;
    if (v > h->max)
        h->max = v;
}

static int64_t hist_percentile(const struct hist *h, double pct)
{
    uint64_t want, seen = 0;
    int b;

    if (!h->total)
        return 0;
    want = (uint64_t)((double)h->total * pct / 100.0);
    if (want >= h->total)
        want = h->total - 1;
    for (b = 0; b < HIST_BUCKETS; b++) {
        seen += h->count[b];
        if (seen > want)
            return hist_value(b);
    }
    return h->max;
}

/* Log what was done since the last report, then start a new period. */
static void report_stats(struct daemon *d, const char *why)
{
    int64_t now = tocsin_mono_us();
    double secs = (double)(now - d->stats_since) / 1e6;

    tocsin_info("stats (%s): checks=%llu seconds=%.3f rate=%.1f/s lateness_us "
                "p50=%lld p99=%lld max=%lld inflight=%u worker_restarts=%llu",
                why, (unsigned long long)d->checks, secs,
                secs > 0 ? (double)d->checks / secs : 0.0,
                (long long)hist_percentile(&d->lateness, 50),
                (long long)hist_percentile(&d->lateness, 99),
                (long long)d->lateness.max, tocsin_pool_inflight(&d->pool),
                (unsigned long long)d->pool.restarts);
    memset(&d->lateness, 0, sizeof(d->lateness));
    d->checks = 0;
    d->stats_since = now;
}

/* The first line of `text`, at most `max` bytes, into `out`. */
static void first_line(const char *text, size_t len, struct tocsin_buf *out, size_t max)
{
    const char *nl = memchr(text, '\n', len);
    size_t n = nl ? (size_t)(nl - text) : len;

    tocsin_buf_append(out, text, n > max ? max : n);
}

static void apply_result(struct daemon *d, uint32_t svc, enum tocsin_state state,
                         const char *text, size_t len);
static void save_service(struct daemon *d, uint32_t svc);

/* Keep the last output of `svc` for alerting, groups and status. */
static void keep_output(struct daemon *d, uint32_t svc, const char *text, size_t len)
{
    struct tocsin_svc_view *v = &d->views[svc];
    char *copy;

    if (len > OUTPUT_KEEP)
        len = OUTPUT_KEEP;
    if (v->output && strlen(v->output) == len && memcmp(v->output, text, len) == 0)
        return;
    copy = strndup(text, len);
    if (!copy)
        return;
    free(v->output);
    v->output = copy;
}

/* Judge again every group `svc` belongs to. */
static void update_groups(struct daemon *d, uint32_t svc)
{
    const struct tocsin_service_conf *s = &d->conf->services[svc];
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    size_t i;

    for (i = 0; i < s->ngroups; i++) {
        uint32_t g = s->groups[i];
        enum tocsin_state st;

        tocsin_buf_reset(&out);
        st = tocsin_group_eval(d->conf, g, d->views, &out);
        apply_result(d, g, st, tocsin_buf_str(&out), out.len);
    }
    tocsin_buf_free(&out);
}

/*
 * Apply one result to service `svc`: state machine, logs, alerts, and the
 * next run.
 */
static void apply_result(struct daemon *d, uint32_t svc, enum tocsin_state state,
                         const char *text, size_t len)
{
    const struct tocsin_service_conf *s = &d->conf->services[svc];
    struct svc_rt *rt = &d->rt[svc];
    struct tocsin_flap_conf flap = {s->flap_detection, s->flap_low, s->flap_high};
    struct tocsin_svc_change ch;
    struct tocsin_buf line = TOCSIN_BUF_INIT;
    int64_t now = tocsin_mono_us();

    tocsin_svc_apply(&rt->st, state, s->max_attempts, &flap, &ch);
    {
        struct tocsin_svc_view *v = &d->views[svc];

        keep_output(d, svc, text, len);
        v->state = rt->st.state;
        v->hard_state = rt->st.hard_state;
        v->is_hard = rt->st.is_hard;
        v->attempt = rt->st.attempt;
        v->flapping = rt->st.flapping;
        v->checked = 1;
        v->last_check = time(NULL);
        if (ch.hard_change || ch.first)
            v->last_change = v->last_check;
    }
    /* Most results change nothing and are logged only at debug level:
     * build the line only when it will be written. */
    if (ch.hard_change || ch.soft_problem || ch.soft_recovery || ch.first ||
        tocsin_log_enabled(TOCSIN_LOG_DEBUG))
        first_line(text, len, &line, 1024);
    if (ch.hard_change) {
        rt->last_change = time(NULL);
        tocsin_info("service '%s' on %s: %s -> %s (hard, attempt %d/%d): %s",
                    s->inst.name, s->host, tocsin_state_name(ch.old_hard),
                    tocsin_state_name(rt->st.hard_state), rt->st.attempt,
                    s->max_attempts, tocsin_buf_str(&line));
        tocsin_alerting_hard_change(d->alerting, svc, ch.old_hard, rt->last_change);
    } else if (ch.soft_problem) {
        tocsin_info("service '%s' on %s: %s (soft, attempt %d/%d): %s", s->inst.name,
                    s->host, tocsin_state_name(state), rt->st.attempt, s->max_attempts,
                    tocsin_buf_str(&line));
    } else if (ch.soft_recovery) {
        tocsin_info("service '%s' on %s: OK again before the problem became hard: %s",
                    s->inst.name, s->host, tocsin_buf_str(&line));
    } else if (ch.first) {
        rt->last_change = time(NULL);
        tocsin_info("service '%s' on %s: first result %s: %s", s->inst.name, s->host,
                    tocsin_state_name(state), tocsin_buf_str(&line));
    } else {
        tocsin_debug("service '%s': %s: %s", s->inst.name, tocsin_state_name(state),
                     tocsin_buf_str(&line));
    }
    if (ch.flap_started)
        tocsin_warn("service '%s' on %s started flapping (%.1f%% state change >= %.1f%%)",
                    s->inst.name, s->host, rt->st.flap_percent, s->flap_high);
    if (ch.flap_stopped)
        tocsin_info("service '%s' on %s stopped flapping (%.1f%% state change < %.1f%%)",
                    s->inst.name, s->host, rt->st.flap_percent, s->flap_low);
    tocsin_buf_free(&line);
    if (ch.state_changed || ch.hard_change || ch.first || ch.flap_started || ch.flap_stopped)
        save_service(d, svc);
    tocsin_alerting_result(d->alerting, svc, time(NULL));
    tocsin_control_result(d->control, svc);
    if (s->ngroups && (ch.hard_change || ch.first))
        update_groups(d, svc);
    if (s->is_group)
        return;

    rt->seq = 0;
    if (ch.use_retry) {
        tocsin_sched_set(&d->sched, svc, now + s->retry_interval_us);
    } else {
        /* Back to the service's phase, but never sooner than one interval
         * after the run just done was due: a first run brought forward by
         * max_check_spread, or a retry, must not add a run to the interval. */
        rt->phase = tocsin_sched_next(rt->phase, s->interval_us, now);
        if (rt->phase < rt->due + s->interval_us)
            rt->phase += s->interval_us;
        tocsin_sched_set(&d->sched, svc, rt->phase);
    }
}

static void on_result(void *ud, const struct tocsin_result_msg *r, const char *output,
                      size_t len)
{
    struct daemon *d = ud;
    struct svc_rt *rt;

    if (r->svc >= d->conf->nservices)
        return;
    rt = &d->rt[r->svc];
    if (rt->seq != r->seq)
        return;
    d->checks++;
    d->checks_total++;
    d->status.checks_total = d->checks_total;
    hist_add(&d->lateness, r->started_us - rt->due);
    tocsin_histogram_add(&d->status.lateness, (double)(r->started_us - rt->due) / 1e6);
    tocsin_histogram_add(&d->status.check_duration, (double)r->duration_us / 1e6);
    if (r->flags & TOCSIN_RESULT_TIMED_OUT) {
        const struct tocsin_service_conf *s = &d->conf->services[r->svc];
        struct tocsin_buf msg = TOCSIN_BUF_INIT;

        tocsin_buf_printf(&msg, "timed out after %g s", (double)s->timeout_us / 1e6);
        if (len) {
            /* Where the plugin says it was when time ran out. */
            tocsin_buf_puts(&msg, ": ");
            first_line(output, len, &msg, 1024);
        }
        apply_result(d, r->svc, s->timeout_state, tocsin_buf_str(&msg), msg.len);
        tocsin_buf_free(&msg);
        return;
    }
    apply_result(d, r->svc, (enum tocsin_state)r->state, output, len);
}

static void on_lost(void *ud, uint32_t svc, uint32_t seq, int requeue,
                    enum tocsin_state state, const char *why)
{
    struct daemon *d = ud;
    struct svc_rt *rt;

    if (svc >= d->conf->nservices)
        return;
    rt = &d->rt[svc];
    if (rt->seq != seq)
        return;
    if (requeue) {
        rt->seq = 0;
        tocsin_sched_set(&d->sched, svc, tocsin_mono_us());
        return;
    }
    d->checks++;
    d->checks_total++;
    tocsin_warn("service '%s': %s", d->conf->services[svc].inst.name, why);
    apply_result(d, svc, state, why, strlen(why));
}

static void on_delivery(void *ud, uint32_t notifier, uint32_t seq,
                        enum tocsin_delivery outcome, int64_t retry_after, const char *why)
{
    struct daemon *d = ud;

    tocsin_alerting_delivery(d->alerting, notifier, seq, outcome, retry_after,
                             *why ? why : "no reason given");
}

/* Alerting hands a message to a notifier's worker. */
static int send_to_notifier(void *ud, uint32_t notifier, uint32_t seq, const void *alerts,
                            size_t len, uint32_t count)
{
    struct daemon *d = ud;

    if (tocsin_pool_alert(&d->pool, notifier, seq, alerts, len, count) < 0)
        return -1;
    tocsin_pool_flush(&d->pool);
    return 0;
}

/* Control: run a service now. */
static void control_check_now(void *ud, uint32_t svc)
{
    struct daemon *d = ud;

    if (!d->rt[svc].seq)
        tocsin_sched_set(&d->sched, svc, tocsin_mono_us());
}

static int control_reload(void *ud, struct tocsin_buf *errors);

static struct tocsin_alerting *control_alerting(void *ud)
{
    return ((struct daemon *)ud)->alerting;
}

/* The age of the most overdue check not handed to a worker yet. */
static int64_t status_overdue(void *ud)
{
    struct daemon *d = ud;
    struct tocsin_sched_item it;
    int64_t now = tocsin_mono_us();

    if (tocsin_sched_peek(&d->sched, &it) < 0 || it.due >= now)
        return 0;
    return now - it.due;
}

static int status_workers_up(void *ud, int *total)
{
    struct daemon *d = ud;
    int i, up = 0;

    for (i = 0; i < d->pool.ncheck; i++)
        if (d->pool.workers[i].fd >= 0)
            up++;
    *total = d->pool.ncheck;
    return up;
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
static int open_state(struct daemon *d)
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
    if (tocsin_store_open(tocsin_buf_str(&path), 0, &d->store, err, sizeof(err)) < 0) {
        tocsin_error("%s", err);
        goto out;
    }
    rc = 0;
out:
    tocsin_buf_free(&path);
    return rc;
}

/* Schedule service `i`'s first run: within max_check_spread of `now`, at
 * the service's own phase (from its name), so that neither a start nor a
 * reload floods the machine. */
static void schedule_first(struct daemon *d, size_t i, int64_t now)
{
    const struct tocsin_service_conf *s = &d->conf->services[i];
    int64_t offset = tocsin_sched_spread(s->inst.name, s->interval_us);
    int64_t window = s->interval_us < d->conf->max_check_spread_us
        ? s->interval_us : d->conf->max_check_spread_us;

    if (s->is_group)
        return;
    d->rt[i].phase = now + offset - s->interval_us;
    d->rt[i].due = now + (window > 0 ? offset % window : 0);
    tocsin_sched_set(&d->sched, (uint32_t)i, d->rt[i].due);
}

/* What is kept of a service across restarts (state kind "service"). */
struct saved_service {
    uint64_t hash;              /* its definition when saved */
    struct tocsin_svc_state st;
    int64_t last_change, last_check;
    /* followed by the last output */
};

/* Save service `svc`'s state: called on state changes only, so that a
 * restart neither re-alerts nor forgets a problem (results that change
 * nothing are not written). */
static void save_service(struct daemon *d, uint32_t svc)
{
    struct tocsin_buf blob = TOCSIN_BUF_INIT;
    struct saved_service ss;
    const char *out = d->views[svc].output ? d->views[svc].output : "";

    if (!d->store)
        return;
    memset(&ss, 0, sizeof(ss));
    ss.hash = d->svc_hash[svc];
    ss.st = d->rt[svc].st;
    ss.last_change = d->views[svc].last_change;
    ss.last_check = d->views[svc].last_check;
    if (tocsin_buf_append(&blob, &ss, sizeof(ss)) == 0 &&
        tocsin_buf_append(&blob, out, strlen(out)) == 0)
        tocsin_state_put(d->store, "service", d->conf->services[svc].inst.name, blob.data,
                         blob.len);
    tocsin_buf_free(&blob);
}

static int restore_service(void *ud, const char *name, const void *blob, size_t len)
{
    struct daemon *d = ud;
    struct saved_service ss;
    long svc = tocsin_config_find_service(d->conf, name);
    struct tocsin_svc_view *v;

    if (svc < 0 || len < sizeof(ss))
        return 0;
    memcpy(&ss, blob, sizeof(ss));
    if (ss.hash != d->svc_hash[svc] || !ss.st.checked)
        return 0; /* redefined since: it starts afresh */
    d->rt[svc].st = ss.st;
    d->rt[svc].last_change = (time_t)ss.last_change;
    v = &d->views[svc];
    v->state = ss.st.state;
    v->hard_state = ss.st.hard_state;
    v->is_hard = ss.st.is_hard;
    v->attempt = ss.st.attempt;
    v->flapping = ss.st.flapping;
    v->checked = 1;
    v->last_change = (time_t)ss.last_change;
    v->last_check = (time_t)ss.last_check;
    free(v->output);
    v->output = strndup((const char *)blob + sizeof(ss), len - sizeof(ss));
    return 0;
}

/* Definition hashes of every service of d->conf. */
static int hash_services(struct daemon *d)
{
    size_t i;

    free(d->svc_hash);
    d->svc_hash = calloc(d->conf->nservices ? d->conf->nservices : 1, sizeof(uint64_t));
    if (!d->svc_hash)
        return -1;
    for (i = 0; i < d->conf->nservices; i++)
        d->svc_hash[i] = tocsin_config_service_hash(&d->conf->services[i]);
    return 0;
}

/* Start every check worker and schedule each service's first run spread
 * across its interval. */
static int daemon_start(struct daemon *d, int workers)
{
    struct tocsin_pool_events ev = {on_result, on_lost, on_delivery, d};
    struct epoll_event e;
    sigset_t set;
    int64_t now;
    size_t i;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (workers <= 0)
        workers = d->conf->workers;
    if (workers <= 0)
        workers = cpus > 1 ? (int)(2 * cpus) : 2;
    if (workers < 2)
        workers = 2;
    d->nworkers = workers;

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
    e.data.u64 = SIGNAL_TAG;
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &e) < 0)
        return -1;
    /* Processes a plugin leaves behind are reparented here and reaped. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    d->rt = calloc(d->conf->nservices ? d->conf->nservices : 1, sizeof(*d->rt));
    d->views = calloc(d->conf->nservices ? d->conf->nservices : 1, sizeof(*d->views));
    if (!d->rt || !d->views || tocsin_sched_init(&d->sched, (uint32_t)d->conf->nservices) < 0) {
        tocsin_error("out of memory for %zu services", d->conf->nservices);
        return -1;
    }
    if (open_state(d) < 0 || hash_services(d) < 0)
        return -1;
    for (i = 0; i < d->conf->nservices; i++)
        tocsin_svc_init(&d->rt[i].st);
    if (d->store) {
        tocsin_state_each(d->store, "service", restore_service, d);
    }
    d->status.conf = d->conf;
    d->status.views = d->views;
    d->status.store = d->store;
    d->status.started = time(NULL);
    d->status.overdue_us = status_overdue;
    d->status.workers_up = status_workers_up;
    d->status.ud = d;
    tocsin_histogram_init(&d->status.check_duration);
    tocsin_histogram_init(&d->status.lateness);
    {
        struct tocsin_alerting_hooks hooks = {send_to_notifier, d};
        long restored;

        d->alerting = tocsin_alerting_new(d->conf, d->store, d->views, &hooks);
        if (!d->alerting) {
            tocsin_error("out of memory for alerting");
            return -1;
        }
        d->status.alerting = d->alerting;
        restored = tocsin_alerting_restore(d->alerting);
        if (restored > 0)
            tocsin_info("restored the alerting state of %ld services", restored);
    }
    if (tocsin_pool_start(&d->pool, d->conf, workers, d->epfd, &ev) < 0)
        return -1;
    {
        struct tocsin_control_ops ops = {control_check_now, control_reload, control_alerting, d};
        char err[512];

        d->control = tocsin_control_open(d->conf->control_socket, d->epfd, &d->status, &ops,
                                         err, sizeof(err));
        if (!d->control) {
            tocsin_error("%s", err);
            return -1;
        }
        int failed;

        d->httpd = tocsin_httpd_start(d->conf->http, &d->status, d->epfd, HTTPD_TAG, &failed);
        if (failed)
            return -1;
    }
    /* Each service has a fixed phase within its interval, from its name.
     * Its first run comes within max_check_spread of the start (sooner
     * than a long interval would allow), later runs keep to the phase, so
     * neither a start nor the steady state floods the machine. */
    now = tocsin_mono_us();
    for (i = 0; i < d->conf->nservices; i++)
        schedule_first(d, i, now);
    d->stats_since = now;
    /* Parsing left a large heap behind (libconfuse builds a big table per
     * section): give the free part back before the workers are forked
     * around it. */
    malloc_trim(0);
    tocsin_info("tocsind %s started: %zu services, %zu notifiers, %d check workers",
                PACKAGE_VERSION, d->conf->nservices, d->conf->nnotifiers, workers);
    return 0;
}

static void handle_signals(struct daemon *d)
{
    struct signalfd_siginfo si;

    while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            tocsin_pool_reap(&d->pool);
            break;
        case SIGTERM:
        case SIGINT:
            tocsin_info("received %s, stopping", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            d->stopping = 1;
            break;
        case SIGHUP: {
            struct tocsin_buf errors = TOCSIN_BUF_INIT;

            tocsin_info("SIGHUP: reloading %s", d->conf_path);
            control_reload(d, &errors);
            tocsin_buf_free(&errors);
            break;
        }
        case SIGUSR1:
            report_stats(d, "SIGUSR1");
            break;
        }
    }
}

/*
 * Wait up to `timeout_us` for events. epoll_pwait2() takes the timeout
 * to the microsecond; where the kernel lacks it, epoll_wait() is used with
 * the timeout rounded up to the millisecond.
 */
static int wait_events(struct daemon *d, struct epoll_event *events, int max,
                       int64_t timeout_us)
{
    static int have_pwait2 = 1;
    struct timespec ts;
    int n;

    if (have_pwait2) {
        ts = tocsin_us_to_timespec(timeout_us);
        n = epoll_pwait2(d->epfd, events, max, &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        have_pwait2 = 0;
    }
    return epoll_wait(d->epfd, events, max, (int)((timeout_us + 999) / 1000));
}

/*
 * Re-read the configuration (SIGHUP, tocsinctl reload). A configuration
 * with an error changes nothing: the errors go to `errors` and the log.
 * Otherwise services whose definition did not change keep their state and
 * schedule (one that was running is run again at once), removed ones are
 * dropped, new and changed ones start afresh, spread like at a start. The
 * workers are replaced, since they hold the configuration they were forked
 * with; alerting state comes back from the store.
 */
static int control_reload(void *ud, struct tocsin_buf *errors)
{
    struct daemon *d = ud;
    struct tocsin_pool_events ev = {on_result, on_lost, on_delivery, d};
    struct tocsin_alerting_hooks hooks = {send_to_notifier, d};
    struct tocsin_config *old = d->conf, *conf;
    struct svc_rt *rt = NULL;
    struct tocsin_svc_view *views = NULL;
    struct tocsin_sched sched;
    size_t before = errors->len, i, kept = 0, added = 0, changed = 0, removed = 0;
    int64_t t0 = tocsin_mono_us(), now;
    uint64_t *old_hash = d->svc_hash;

    memset(&sched, 0, sizeof(sched));
    conf = tocsin_config_load(d->conf_path, &d->reg, errors);
    if (conf && tocsin_validate_setups(conf, errors) < 0)
        tocsin_buf_printf(errors, "%s:1: cannot check plugin options: %s\n", d->conf_path,
                          strerror(errno));
    if (conf && strcmp(conf->state_dir, old->state_dir) != 0)
        tocsin_buf_printf(errors, "%s:1: state_dir cannot change while tocsind runs "
                          "(restart it to move from %s to %s)\n", d->conf_path,
                          old->state_dir, conf->state_dir);
    if (!conf || errors->len != before)
        goto refuse;
    rt = calloc(conf->nservices ? conf->nservices : 1, sizeof(*rt));
    views = calloc(conf->nservices ? conf->nservices : 1, sizeof(*views));
    if (!rt || !views || tocsin_sched_init(&sched, (uint32_t)conf->nservices) < 0) {
        tocsin_buf_printf(errors, "%s:1: out of memory\n", d->conf_path);
        goto refuse;
    }
    if (strcmp(conf->control_socket, old->control_socket) != 0)
        tocsin_warn("reload: control_socket changes from %s to %s only at a restart",
                    old->control_socket, conf->control_socket);
    if (conf->http && old->http &&
        (conf->http->enabled != old->http->enabled ||
         strcmp(conf->http->listen ? conf->http->listen : "",
                old->http->listen ? old->http->listen : "") != 0 ||
         !conf->http->tls_cert != !old->http->tls_cert))
        tocsin_warn("reload: changes to the http section (listen, enabled, TLS) take "
                    "effect at a restart");

    /* From here on the new configuration is taken. */
    tocsin_pool_stop(&d->pool);
    tocsin_alerting_free(d->alerting);
    d->alerting = NULL;
    if (d->store)
        tocsin_outbox_release(d->store);
    d->conf = conf;
    d->svc_hash = NULL;
    if (hash_services(d) < 0) {
        d->conf = old;
        d->svc_hash = old_hash;
        tocsin_buf_printf(errors, "%s:1: out of memory\n", d->conf_path);
        goto restart_old;
    }
    now = tocsin_mono_us();
    for (i = 0; i < conf->nservices; i++) {
        long o = tocsin_config_find_service(old, conf->services[i].inst.name);

        tocsin_svc_init(&rt[i].st);
        if (o >= 0 && old_hash[o] == d->svc_hash[i]) {
            int64_t due = tocsin_sched_due(&d->sched, (uint32_t)o);

            rt[i] = d->rt[o];
            views[i] = d->views[o];
            d->views[o].output = NULL;
            rt[i].seq = 0;
            if (!conf->services[i].is_group)
                tocsin_sched_set(&sched, (uint32_t)i, due >= 0 ? due : now);
            kept++;
            continue;
        }
        if (o >= 0)
            changed++;
        else
            added++;
    }
    removed = old->nservices - kept - changed;
    for (i = 0; i < old->nservices; i++)
        free(d->views[i].output);
    free(d->rt);
    free(d->views);
    tocsin_sched_free(&d->sched);
    d->rt = rt;
    d->views = views;
    d->sched = sched;
    rt = NULL;
    views = NULL;
    for (i = 0; i < conf->nservices; i++)
        if (!d->rt[i].st.checked && !tocsin_sched_has(&d->sched, (uint32_t)i))
            schedule_first(d, i, now);
    free(old_hash);
    old_hash = NULL;
    tocsin_config_free(old);
    old = NULL;
restart_old:
    d->alerting = tocsin_alerting_new(d->conf, d->store, d->views, &hooks);
    if (d->alerting)
        tocsin_alerting_restore(d->alerting);
    d->status.conf = d->conf;
    d->status.views = d->views;
    d->status.alerting = d->alerting;
    tocsin_control_reset(d->control);
    if (!d->alerting || tocsin_pool_start(&d->pool, d->conf, d->nworkers, d->epfd, &ev) < 0) {
        tocsin_error("reload: cannot start the workers again; stopping");
        d->stopping = 1;
    }
    malloc_trim(0);
    if (old)
        return -1;
    tocsin_info("configuration reloaded in %.1f ms: %zu services (%zu kept, %zu new, %zu "
                "changed, %zu removed), %zu notifiers", (double)(tocsin_mono_us() - t0) / 1000,
                conf->nservices, kept, added, changed, removed, conf->nnotifiers);
    return 0;
refuse:
    tocsin_config_free(conf);
    free(rt);
    free(views);
    tocsin_sched_free(&sched);
    {
        const char *p = tocsin_buf_str(errors) + before;

        tocsin_error("reload refused, the running configuration stays:");
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);

            tocsin_error("%.*s", (int)n, p);
            p += n + (nl ? 1 : 0);
        }
    }
    return -1;
}

static int daemon_run(struct daemon *d)
{
    struct epoll_event events[128];

    while (!d->stopping) {
        struct tocsin_sched_item it;
        int64_t now = tocsin_mono_us(), wake = now + 1000000, enforce;
        int n, i, rc, full = 0;

        d->status.worker_restarts = d->pool.restarts;

        while (tocsin_sched_peek(&d->sched, &it) == 0 && it.due <= now) {
            uint32_t seq = ++d->next_seq;

            if (seq == 0)
                seq = ++d->next_seq;
            rc = tocsin_pool_submit(&d->pool, it.id, seq);
            if (rc == -2) {
                tocsin_sched_set(&d->sched, it.id, now + 10000);
                continue;
            }
            if (rc < 0) {
                full = 1;
                break;
            }
            tocsin_sched_pop(&d->sched, &it);
            d->rt[it.id].seq = seq;
            d->rt[it.id].due = it.due;
        }
        tocsin_pool_flush(&d->pool);
        enforce = tocsin_pool_enforce(&d->pool, now);
        if (enforce < wake)
            wake = enforce;
        if (!full && tocsin_sched_peek(&d->sched, &it) == 0 && it.due < wake)
            wake = it.due;
        wake = tocsin_httpd_tick(d->httpd, now, wake);
        {
            int64_t wall = tocsin_wall_ms();

            int64_t next = tocsin_alerting_next(d->alerting);

            if (wall >= next)
                next = tocsin_alerting_tick(d->alerting, wall);
            if (now + (next - wall) * 1000 < wake)
                wake = now + (next - wall) * 1000;
        }
        n = wait_events(d, events, 128, wake <= now ? 0 : wake - now);
        if (n < 0 && errno != EINTR) {
            tocsin_error("epoll_wait: %s", strerror(errno));
            return -1;
        }
        for (i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64;

            if (tag == SIGNAL_TAG)
                handle_signals(d);
            else if (tag & TOCSIN_CONTROL_TAG)
                tocsin_control_ready(d->control, (uint32_t)(tag & 0xffffffffu), events[i].events);
            else if (tag == HTTPD_TAG)
                tocsin_httpd_run(d->httpd);
            else if (tag & TOCSIN_POOL_TAG)
                tocsin_pool_ready(&d->pool, (int)(tag & 0xffffffffu), events[i].events);
        }
    }
    return 0;
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
    struct daemon d;
    struct tocsin_buf warnings = TOCSIN_BUF_INIT, errors = TOCSIN_BUF_INIT;
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
    d.epfd = d.sigfd = d.lock_fd = -1;
    tocsin_log_open("tocsind", !foreground && !test, level);
    if (tocsin_registry_init(&d.reg) < 0) {
        fprintf(stderr, "tocsind: cannot initialise the plugin loader\n");
        return 1;
    }
    if (!plugin_path)
        plugin_path = tocsin_registry_default_path();
    tocsin_registry_load_path(&d.reg, plugin_path, &warnings);

    d.conf = tocsin_config_load(conf_path, &d.reg, &errors);
    if (d.conf) {
        nerr = tocsin_validate_setups(d.conf, &errors);
        if (nerr < 0)
            tocsin_buf_printf(&errors, "%s:1: cannot check plugin options: %s\n",
                              conf_path, strerror(errno));
    }
    if (errors.len) {
        if (test || foreground)
            print_lines(stderr, "", tocsin_buf_str(&errors));
        else
            tocsin_error("configuration %s is not valid:\n%s", conf_path, tocsin_buf_str(&errors));
        if (warnings.len)
            print_lines(stderr, "warning: ", tocsin_buf_str(&warnings));
        goto out;
    }
    if (test) {
        if (warnings.len)
            print_lines(stderr, "warning: ", tocsin_buf_str(&warnings));
        printf("%s: configuration is valid: %zu services, %zu notifiers\n",
               conf_path, d.conf->nservices, d.conf->nnotifiers);
        rc = 0;
        goto out;
    }
    if (warnings.len) {
        const char *p = tocsin_buf_str(&warnings);

        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);

            tocsin_warn("%.*s", (int)n, p);
            p += n + (nl ? 1 : 0);
        }
    }
    if (!level_set)
        tocsin_log_set_level(d.conf->log_level);
    if (!foreground && daemon(0, 0) < 0) {
        tocsin_error("cannot become a daemon: %s", strerror(errno));
        goto out;
    }
    d.conf_path = conf_path;
    if (daemon_start(&d, workers) < 0)
        goto out;
    rc = daemon_run(&d) < 0 ? 1 : 0;
    report_stats(&d, "exit");
    tocsin_info("stopped after %llu checks", (unsigned long long)d.checks_total);
out:
    tocsin_control_close(d.control);
    tocsin_httpd_stop(d.httpd);
    tocsin_pool_stop(&d.pool);
    tocsin_alerting_free(d.alerting);
    tocsin_store_close(d.store);
    if (d.lock_fd >= 0)
        close(d.lock_fd);
    tocsin_sched_free(&d.sched);
    if (d.views && d.conf)
        for (size_t i = 0; i < d.conf->nservices; i++)
            free(d.views[i].output);
    free(d.views);
    free(d.rt);
    free(d.svc_hash);
    if (d.epfd >= 0)
        close(d.epfd);
    if (d.sigfd >= 0)
        close(d.sigfd);
    tocsin_config_free(d.conf);
    tocsin_registry_free(&d.reg);
    tocsin_buf_free(&warnings);
    tocsin_buf_free(&errors);
    return rc;
}
