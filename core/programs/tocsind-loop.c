/*
 * tocsind-loop.c - the daemon's event loop: one thread around epoll. It
 * hands due services to the workers, applies their results (state, logs,
 * alerts, groups, the next run), passes notifiers' answers to alerting,
 * serves the control socket and the HTTP endpoint, and handles signals
 * (a signalfd: SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1). It never calls
 * plugin code itself.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "config/timeperiod.h"
#include "engine/group.h"
#include "engine/threshold.h"
#include "lib/nagios.h"
#include "programs/tocsind.h"
#include "serve/inbound.h"

#define OUTPUT_KEEP 8192            /* bytes of each service's last output kept */

/* The stats line reads lateness from d->lateness, which then starts over;
 * the status's histograms, which /metrics shows, keep counting. */
void tocsin_daemon_report_stats(struct tocsin_daemon *d, const char *why)
{
    int64_t now = tocsin_mono_us();
    double secs = (double)(now - d->stats_since) / 1e6;

    tocsin_info("stats (%s): checks=%llu seconds=%.3f rate=%.1f/s lateness_us "
                "p50=%lld p99=%lld max=%lld inflight=%u worker_restarts=%llu",
                why, (unsigned long long)d->checks, secs,
                secs > 0 ? (double)d->checks / secs : 0.0,
                (long long)tocsin_histogram_percentile_us(&d->lateness, 50),
                (long long)tocsin_histogram_percentile_us(&d->lateness, 99),
                (long long)d->lateness.max_us, tocsin_pool_inflight(&d->pool),
                (unsigned long long)d->pool.restarts);
    tocsin_histogram_init(&d->lateness);
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

static void apply_result(struct tocsin_daemon *d, uint32_t svc, enum tocsin_state state,
                         const char *text, size_t len, int submitted);

/* The length of the state word a Nagios first line starts with ("HTTP
 * CRITICAL - ", "CRITICAL: ", "UNKNOWN - "), blanks after it included,
 * or 0 when it starts with none. */
static size_t state_prefix_len(const char *text, size_t len)
{
    static const char *const words[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
    size_t start = 0, i, n, at;

    for (;;) {
        for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
            n = strlen(words[i]);
            if (len - start < n || memcmp(text + start, words[i], n) != 0)
                continue;
            at = start + n;
            if (at < len && text[at] == ':')
                at++;
            else if (at + 1 < len && text[at] == ' ' && text[at + 1] == '-')
                at += 2;
            else
                continue;
            while (at < len && text[at] == ' ')
                at++;
            return at;
        }
        if (start)
            return 0;
        /* One word before the state: the service's name ("HTTP"). */
        for (n = 0; n < len && text[n] >= 'A' && text[n] <= 'Z'; n++)
            ;
        if (n == 0 || n >= len || text[n] != ' ')
            return 0;
        start = n + 1;
    }
}

/*
 * The text of a result that timed out, agreeing with the state it is
 * given (`state`, the service's timeout_state), as a Nagios plugin's
 * first line would: "CRITICAL - timed out after 10 s", then what the
 * plugin said of where it was, without its own state word. A plugin's
 * own "timed out ..." stands for the daemon's (it says more).
 */
static void timeout_text(enum tocsin_state state, int64_t timeout_us, const char *output,
                         size_t len, struct tocsin_buf *out)
{
    struct tocsin_buf said = TOCSIN_BUF_INIT;
    const char *rest = "";
    size_t skip;

    if (len) {
        first_line(output, len, &said, 1024);
        skip = state_prefix_len(said.data, said.len);
        rest = tocsin_buf_str(&said) + skip;
    }
    tocsin_buf_printf(out, "%s - ", tocsin_state_name(state));
    if (strncmp(rest, "timed out", 9) == 0)
        tocsin_buf_puts(out, rest);
    else if (*rest)
        tocsin_buf_printf(out, "timed out after %g s: %s", (double)timeout_us / 1e6, rest);
    else
        tocsin_buf_printf(out, "timed out after %g s", (double)timeout_us / 1e6);
    tocsin_buf_free(&said);
}

/* Keep the last output of `svc` (at most OUTPUT_KEEP bytes) in its view;
 * an output equal to the one kept is not copied again. */
static void keep_output(struct tocsin_daemon *d, uint32_t svc, const char *text, size_t len)
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
static void update_groups(struct tocsin_daemon *d, uint32_t svc)
{
    const struct tocsin_service_conf *s = &d->conf->services[svc];
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    size_t i;

    for (i = 0; i < s->ngroups; i++) {
        uint32_t g = s->groups[i];
        enum tocsin_state st;

        tocsin_buf_reset(&out);
        st = tocsin_group_eval(d->conf, g, d->views, &out);
        apply_result(d, g, st, tocsin_buf_str(&out), out.len, 0);
    }
    tocsin_buf_free(&out);
}

/*
 * Add every perfdata value of a result to the metric history, at the
 * wall clock's second. O(output length).
 */
static void keep_metrics(struct tocsin_daemon *d, uint32_t svc, const char *text, size_t len,
                         int64_t wall_ms)
{
    struct tocsin_output o;
    size_t i;

    if (!d->mhist || !memchr(text, '|', len))
        return;
    if (tocsin_output_parse(text, len, &o) < 0)
        return;
    for (i = 0; i < o.nperf; i++)
        if (!o.perf[i].value_unknown &&
            tocsin_mhist_add(d->mhist, d->conf->services[svc].inst.name, o.perf[i].label,
                             o.perf[i].value, wall_ms / 1000) < 0)
            tocsin_warn("metric history: out of memory for service '%s'",
                           d->conf->services[svc].inst.name);
    tocsin_output_free(&o);
}

/*
 * Apply one result to service `svc`: state machine, logs, alerts, and the
 * next run. A `submitted` result (from outside) leaves the schedule of a
 * checked service alone; a passive service's next look is its heartbeat
 * deadline, if it has one.
 */
static void apply_result(struct tocsin_daemon *d, uint32_t svc, enum tocsin_state state,
                         const char *text, size_t len, int submitted)
{
    const struct tocsin_service_conf *s = &d->conf->services[svc];
    struct tocsin_daemon_svc *ds = &d->svcs[svc];
    struct tocsin_svc_view *v = &d->views[svc];
    struct tocsin_flap_conf flap = {s->flap_detection, s->flap_low, s->flap_high};
    struct tocsin_svc_state st;
    struct tocsin_svc_change ch;
    struct tocsin_buf line = TOCSIN_BUF_INIT;
    int64_t now = tocsin_mono_us(), wall_ms = tocsin_wall_ms(), hard_after_ms;
    char tries[64];

    hard_after_ms = s->hard_after_us / 1000;
    tocsin_daemon_state_get(d, svc, &st);
    tocsin_svc_apply_timed(&st, state, s->max_attempts, hard_after_ms, wall_ms, &flap, &ch);
    tocsin_daemon_state_put(d, svc, &st);
    /* How far the problem has gone towards hard: by attempts, or by time. */
    if (hard_after_ms > 0)
        snprintf(tries, sizeof(tries), "attempt %d, %.1f s of hard_after %g s", st.attempt,
                 st.problem_since_ms > 0 ? (double)(wall_ms - st.problem_since_ms) / 1000 : 0.0,
                 (double)hard_after_ms / 1000);
    else
        snprintf(tries, sizeof(tries), "attempt %d/%d", st.attempt, s->max_attempts);
    keep_output(d, svc, text, len);
    keep_metrics(d, svc, text, len, wall_ms);
    v->last_check = time(NULL);
    if (ch.hard_change || ch.first)
        v->last_change = v->last_check;
    /* Most results change nothing and are logged only at debug level:
     * build the line only when it will be written. */
    if (ch.hard_change || ch.soft_problem || ch.soft_recovery || ch.first ||
        tocsin_log_enabled(TOCSIN_LOG_DEBUG))
        first_line(text, len, &line, 1024);
    if (ch.hard_change) {
        tocsin_info("service '%s' on %s: %s -> %s (hard, %s): %s",
                    s->inst.name, s->host, tocsin_state_name(ch.old_hard),
                    tocsin_state_name(st.hard_state), tries, tocsin_buf_str(&line));
        tocsin_alerting_hard_change(d->alerting, svc, ch.old_hard, v->last_change);
    } else if (ch.soft_problem) {
        tocsin_info("service '%s' on %s: %s (soft, %s): %s", s->inst.name,
                    s->host, tocsin_state_name(state), tries, tocsin_buf_str(&line));
    } else if (ch.soft_recovery) {
        tocsin_info("service '%s' on %s: OK again before the problem became hard: %s",
                    s->inst.name, s->host, tocsin_buf_str(&line));
    } else if (ch.first) {
        tocsin_info("service '%s' on %s: first result %s: %s", s->inst.name, s->host,
                    tocsin_state_name(state), tocsin_buf_str(&line));
    } else {
        tocsin_debug("service '%s': %s: %s", s->inst.name, tocsin_state_name(state),
                     tocsin_buf_str(&line));
    }
    tocsin_buf_free(&line);
    if (ch.flap_started || ch.flap_stopped) {
        char why[128];

        if (ch.flap_started)
            snprintf(why, sizeof(why), "started flapping (%.1f%% state change >= %.1f%%)",
                     st.flap_percent, s->flap_high);
        else if (ch.flap_disabled)
            snprintf(why, sizeof(why), "is no longer flapping: flap detection turned off");
        else
            snprintf(why, sizeof(why), "stopped flapping (%.1f%% state change < %.1f%%)",
                     st.flap_percent, s->flap_low);
        tocsin_log(ch.flap_started ? TOCSIN_LOG_WARNING : TOCSIN_LOG_INFO,
                   "service '%s' on %s %s", s->inst.name, s->host, why);
        tocsin_alerting_flapping(d->alerting, svc, ch.flap_started, why, time(NULL));
    }
    /* A heartbeat counts from the last result: a restart must find its
     * time, so each submitted result of such a service is saved. */
    if (ch.state_changed || ch.hard_change || ch.first || ch.flap_started || ch.flap_stopped ||
        (submitted && s->expect_every_us))
        tocsin_daemon_save_service(d, svc);
    tocsin_alerting_result(d->alerting, svc, time(NULL));
    tocsin_control_result(d->control, svc);
    if (s->ngroups && (ch.hard_change || ch.first))
        update_groups(d, svc);
    if (s->is_group || (submitted && !s->passive))
        return;
    if (s->passive) {
        if (submitted)
            ds->heard_ms = tocsin_wall_ms();
        if (s->expect_every_us)
            tocsin_sched_set(&d->sched, svc, now + (ch.use_retry ? s->retry_interval_us
                                                                 : s->expect_every_us));
        else
            tocsin_sched_remove(&d->sched, svc);
        return;
    }

    ds->seq = 0;
    if (ch.use_retry) {
        int64_t next = now + s->retry_interval_us;
        int64_t hard_ms = tocsin_svc_hard_due_ms(&st, hard_after_ms);

        /* Under hard_after, no later than when the problem becomes hard:
         * a retry_interval longer than what is left must not delay it. */
        if (hard_ms >= 0 && now + (hard_ms - wall_ms) * 1000 < next)
            next = now + (hard_ms > wall_ms ? (hard_ms - wall_ms) * 1000 : 0);
        tocsin_sched_set(&d->sched, svc, next);
    } else if (s->nat) {
        tocsin_sched_set(&d->sched, svc, tocsin_daemon_at_due(d, svc, now));
    } else {
        /* Back to the service's phase, but never sooner than one interval
         * after the run just done was due: a first run brought forward by
         * max_check_spread, or a retry, must not add a run to the interval. */
        ds->phase = tocsin_sched_next(ds->phase, s->interval_us, now);
        if (ds->phase < ds->due + s->interval_us)
            ds->phase += s->interval_us;
        tocsin_sched_set(&d->sched, svc, ds->phase);
    }
}

/* A worker's result: counted and recorded (lateness, duration), then
 * applied. A result of a job no longer in flight is dropped. */
static void on_result(void *ud, const struct tocsin_result_msg *r, const char *output,
                      size_t len)
{
    struct tocsin_daemon *d = ud;
    struct tocsin_daemon_svc *ds;
    int64_t late;

    if (r->svc >= d->conf->nservices)
        return;
    ds = &d->svcs[r->svc];
    if (ds->seq != r->seq)
        return;
    d->checks++;
    d->checks_total++;
    d->status.checks_total = d->checks_total;
    late = r->started_us - ds->due;
    tocsin_histogram_add_us(&d->lateness, late);
    tocsin_histogram_add_us(&d->status.lateness, late);
    tocsin_histogram_add_us(&d->status.check_duration, r->duration_us);
    if (r->flags & TOCSIN_RESULT_TIMED_OUT) {
        const struct tocsin_service_conf *s = &d->conf->services[r->svc];
        struct tocsin_buf msg = TOCSIN_BUF_INIT;

        timeout_text(s->timeout_state, s->timeout_us, output, len, &msg);
        apply_result(d, r->svc, s->timeout_state, tocsin_buf_str(&msg), msg.len, 0);
        tocsin_buf_free(&msg);
        return;
    }
    apply_result(d, r->svc, (enum tocsin_state)r->state, output, len, 0);
}

/* A job that produced no result: run again (its worker died for another
 * job's sake, or it was taken back from a busy worker), or recorded as
 * `state`. */
static void on_lost(void *ud, uint32_t svc, uint32_t seq, int requeue,
                    enum tocsin_state state, const char *why)
{
    struct tocsin_daemon *d = ud;
    struct tocsin_daemon_svc *ds;

    if (svc >= d->conf->nservices)
        return;
    ds = &d->svcs[svc];
    if (ds->seq != seq)
        return;
    if (requeue) {
        /* Still due since when it was first due: it keeps its place in
         * due order, and its lateness counts from then. */
        ds->seq = 0;
        tocsin_sched_set(&d->sched, svc, ds->due);
        return;
    }
    d->checks++;
    d->checks_total++;
    tocsin_warn("service '%s': %s", d->conf->services[svc].inst.name, why);
    apply_result(d, svc, state, why, strlen(why), 0);
}

static void on_delivery(void *ud, uint32_t notifier, uint32_t seq,
                        enum tocsin_delivery outcome, int64_t retry_after, const char *why)
{
    struct tocsin_daemon *d = ud;

    tocsin_alerting_delivery(d->alerting, notifier, seq, outcome, retry_after,
                             *why ? why : "no reason given");
}

/* Alerting hands a message to a notifier's worker. */
static int send_to_notifier(void *ud, uint32_t notifier, uint32_t seq, const void *alerts,
                            size_t len, uint32_t count)
{
    struct tocsin_daemon *d = ud;

    if (tocsin_pool_alert(&d->pool, notifier, seq, alerts, len, count) < 0)
        return -1;
    tocsin_pool_flush(&d->pool);
    return 0;
}

/* Control: run a service now. */
static void control_check_now(void *ud, uint32_t svc)
{
    struct tocsin_daemon *d = ud;

    if (!d->svcs[svc].seq) {
        d->svcs[svc].forced = 1;
        tocsin_sched_set(&d->sched, svc, tocsin_mono_us());
    }
}

/* HTTP and control: a result from outside, queued for the loop's next
 * turn (apply_submitted), so that a request never changes a service's
 * state in the middle of answering. Amortised O(1). */
static int submit_result(void *ud, const char *service, int state, const char *output)
{
    struct tocsin_daemon *d = ud;
    struct tocsin_daemon_submitted *q;

    if (d->nsubmitted == d->submitted_cap) {
        size_t cap = d->submitted_cap ? d->submitted_cap * 2 : 16;

        q = realloc(d->submitted, cap * sizeof(*q));
        if (!q)
            return -1;
        d->submitted = q;
        d->submitted_cap = cap;
    }
    q = &d->submitted[d->nsubmitted];
    q->service = strdup(service);
    q->output = strdup(output);
    q->state = state;
    if (!q->service || !q->output) {
        free(q->service);
        free(q->output);
        return -1;
    }
    d->nsubmitted++;
    return 0;
}

void tocsin_daemon_submitted_free(struct tocsin_daemon *d)
{
    size_t i;

    for (i = 0; i < d->nsubmitted; i++) {
        free(d->submitted[i].service);
        free(d->submitted[i].output);
    }
    free(d->submitted);
    d->submitted = NULL;
    d->nsubmitted = d->submitted_cap = 0;
}

/*
 * Apply the results submitted since the last turn, in the order they came,
 * through the same path as a check's: the service's thresholds on their
 * perfdata, then apply_result(). A service renamed or made active by a
 * reload in between is skipped. O(results).
 */
static void apply_submitted(struct tocsin_daemon *d)
{
    struct tocsin_buf judged = TOCSIN_BUF_INIT;
    size_t i;

    for (i = 0; i < d->nsubmitted; i++) {
        struct tocsin_daemon_submitted *q = &d->submitted[i];
        long svc = tocsin_config_find_service(d->conf, q->service);
        enum tocsin_state state = (enum tocsin_state)q->state;
        const char *text = q->output;
        size_t len = strlen(q->output);

        if (svc < 0 || !d->conf->services[svc].accept_passive) {
            tocsin_warn("submitted result for service '%s' dropped: the configuration "
                        "was reloaded and it no longer takes one", q->service);
            continue;
        }
        tocsin_buf_reset(&judged);
        if (tocsin_thresholds_apply(&d->conf->services[svc], &state, text, len, &judged,
                                    NULL)) {
            text = tocsin_buf_str(&judged);
            len = judged.len;
        }
        d->checks++;
        d->checks_total++;
        d->status.checks_total = d->checks_total;
        apply_result(d, (uint32_t)svc, state, text, len, 1);
    }
    tocsin_buf_free(&judged);
    for (i = 0; i < d->nsubmitted; i++) {
        free(d->submitted[i].service);
        free(d->submitted[i].output);
    }
    d->nsubmitted = 0;
}

/*
 * A passive service's heartbeat deadline came: CRITICAL "no heartbeat for
 * 1 h 05 min" when no result has come for expect_every, counted from the
 * last one (or from the start); otherwise look again when it would be
 * due. Then apply_result() sets the next look. O(log n).
 */
static void heartbeat_due(struct tocsin_daemon *d, uint32_t svc, int64_t now)
{
    const struct tocsin_service_conf *s = &d->conf->services[svc];
    struct tocsin_daemon_svc *ds = &d->svcs[svc];
    struct tocsin_buf msg = TOCSIN_BUF_INIT;
    int64_t wall = tocsin_wall_ms(), silent_ms, left_us;

    if (!s->expect_every_us)
        return;
    if (!ds->heard_ms)
        ds->heard_ms = wall;
    silent_ms = wall - ds->heard_ms;
    left_us = s->expect_every_us - silent_ms * 1000;
    if (left_us > 1000) {
        /* Early (a reload, or the clocks drifting apart): not yet. */
        tocsin_sched_set(&d->sched, svc, now + left_us);
        return;
    }
    tocsin_buf_puts(&msg, "no heartbeat for ");
    tocsin_inbound_silence(&msg, (silent_ms + 500) / 1000);
    d->checks++;
    d->checks_total++;
    d->status.checks_total = d->checks_total;
    apply_result(d, svc, TOCSIN_CRITICAL, tocsin_buf_str(&msg), msg.len, 0);
    tocsin_buf_free(&msg);
}

static struct tocsin_alerting *control_alerting(void *ud)
{
    return ((struct tocsin_daemon *)ud)->alerting;
}

/* The age of the most overdue check not handed to a worker yet. */
static int64_t status_overdue(void *ud)
{
    struct tocsin_daemon *d = ud;
    struct tocsin_sched_item it;
    int64_t now = tocsin_mono_us();

    if (tocsin_sched_peek(&d->sched, &it) < 0 || it.due >= now)
        return 0;
    return now - it.due;
}

static int status_workers_up(void *ud, int *total)
{
    struct tocsin_daemon *d = ud;
    int i, up = 0;

    for (i = 0; i < d->pool.ncheck; i++)
        if (d->pool.workers[i].fd >= 0)
            up++;
    *total = d->pool.ncheck;
    return up;
}

void tocsin_daemon_pool_events(struct tocsin_daemon *d, struct tocsin_pool_events *ev)
{
    ev->result = on_result;
    ev->lost = on_lost;
    ev->delivery = on_delivery;
    ev->ud = d;
}

void tocsin_daemon_alerting_hooks(struct tocsin_daemon *d, struct tocsin_alerting_hooks *hooks)
{
    hooks->send = send_to_notifier;
    hooks->ud = d;
}

void tocsin_daemon_control_ops(struct tocsin_daemon *d, struct tocsin_control_ops *ops)
{
    ops->check_now = control_check_now;
    ops->reload = tocsin_daemon_reload;
    ops->alerting = control_alerting;
    ops->submit = submit_result;
    ops->ud = d;
}

void tocsin_daemon_httpd_ops(struct tocsin_daemon *d, struct tocsin_httpd_ops *ops)
{
    ops->submit = submit_result;
    ops->ud = d;
}

void tocsin_daemon_status_hooks(struct tocsin_daemon *d)
{
    d->status.overdue_us = status_overdue;
    d->status.workers_up = status_workers_up;
    d->status.ud = d;
}

/* Within max_check_spread of `now`, at the service's own phase (from its
 * name), so that neither a start nor a reload floods the machine. Groups
 * are not scheduled: their members' results judge them. */
/* A year of days: how far ahead a run inside check_period is looked for. */
#define AT_HORIZON_DAYS 366

int64_t tocsin_daemon_at_due(struct tocsin_daemon *d, size_t i, int64_t now)
{
    const struct tocsin_service_conf *s = &d->conf->services[i];
    int64_t wall_ms = tocsin_wall_ms();
    time_t next;
    struct tm tm;
    char when[32];

    next = tocsin_timeperiod_next_at(d->conf->periods, d->conf->nperiods,
                                     s->check_period ? s->check_period_index : -1,
                                     s->timezone, s->at_minutes, s->nat,
                                     (time_t)(wall_ms / 1000), AT_HORIZON_DAYS);
    if (next == (time_t)-1) {
        tocsin_warn("service '%s': none of its times (at) lies in check_period '%s' within "
                    "a year; looking again in a day", s->inst.name,
                    s->check_period ? s->check_period : "");
        return now + 86400LL * 1000000;
    }
    if (gmtime_r(&next, &tm) && strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
        tocsin_info("service '%s': next run at %s (at, %s)", s->inst.name, when,
                    s->timezone ? s->timezone : "the host's time zone");
    return now + ((int64_t)next * 1000 - wall_ms) * 1000;
}

/* Outside its check_period a due run is skipped: the service's next
 * regular run is then due (its next `at`, or one interval on its phase).
 * A run asked for by hand (tocsinctl check) is never skipped. Returns 1
 * when `id`'s run was skipped. */
static int skip_outside_period(struct tocsin_daemon *d, uint32_t id, int64_t due, int64_t now)
{
    const struct tocsin_service_conf *s = &d->conf->services[id];
    struct tocsin_daemon_svc *ds = &d->svcs[id];

    if (ds->forced || !s->check_period || s->check_period_index < 0 ||
        tocsin_timeperiod_contains(d->conf->periods, d->conf->nperiods,
                                   (size_t)s->check_period_index, time(NULL)))
        return 0;
    tocsin_debug("service '%s': outside check_period '%s', run skipped", s->inst.name,
                 s->check_period);
    if (s->nat) {
        tocsin_sched_set(&d->sched, id, tocsin_daemon_at_due(d, id, now));
        return 1;
    }
    ds->due = due;
    ds->phase = tocsin_sched_next(ds->phase, s->interval_us, now);
    if (ds->phase < due + s->interval_us)
        ds->phase += s->interval_us;
    tocsin_sched_set(&d->sched, id, ds->phase);
    return 1;
}

void tocsin_daemon_schedule_first(struct tocsin_daemon *d, size_t i, int64_t now)
{
    const struct tocsin_service_conf *s = &d->conf->services[i];
    int64_t offset = tocsin_sched_spread(s->inst.name, s->interval_us);
    int64_t window = s->interval_us < d->conf->max_check_spread_us
        ? s->interval_us : d->conf->max_check_spread_us;

    if (s->is_group)
        return;
    if (s->passive) {
        /* Not run: its deadline, if it has one, counts from its last
         * result as the saved state has it, or from now. */
        struct tocsin_daemon_svc *ds = &d->svcs[i];
        int64_t wall = tocsin_wall_ms();

        if (!ds->heard_ms)
            ds->heard_ms = d->views[i].checked && d->views[i].last_check > 0
                ? (int64_t)d->views[i].last_check * 1000 : wall;
        if (ds->heard_ms > wall)
            ds->heard_ms = wall;
        if (s->expect_every_us)
            tocsin_sched_set(&d->sched, (uint32_t)i,
                             now + s->expect_every_us - (wall - ds->heard_ms) * 1000);
        return;
    }
    if (s->nat) {
        /* Fixed times: the first run is the next of them, not spread. */
        d->svcs[i].due = tocsin_daemon_at_due(d, i, now);
        tocsin_sched_set(&d->sched, (uint32_t)i, d->svcs[i].due);
        return;
    }
    d->svcs[i].phase = now + offset - s->interval_us;
    d->svcs[i].due = now + (window > 0 ? offset % window : 0);
    tocsin_sched_set(&d->sched, (uint32_t)i, d->svcs[i].due);
}

static void handle_signals(struct tocsin_daemon *d)
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
            tocsin_sdnotify_status(&d->sdnotify, "STOPPING=1", "stopping (%s)",
                                   si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            d->stopping = 1;
            d->pool.stopping = 1;
            break;
        case SIGHUP: {
            struct tocsin_buf errors = TOCSIN_BUF_INIT, notes = TOCSIN_BUF_INIT;

            tocsin_info("SIGHUP: reloading %s", d->conf_path);
            tocsin_daemon_reload(d, &errors, &notes); /* both are logged */
            tocsin_buf_free(&errors);
            tocsin_buf_free(&notes);
            break;
        }
        case SIGUSR1:
            tocsin_daemon_report_stats(d, "SIGUSR1");
            break;
        }
    }
}

/*
 * Wait up to `timeout_us` for events. epoll_pwait2() takes the timeout
 * to the microsecond; where the kernel lacks it, epoll_wait() is used with
 * the timeout rounded up to the millisecond.
 */
static int wait_events(struct tocsin_daemon *d, struct epoll_event *events, int max,
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
 * Hand every due service to a worker, in due order, until none is due or
 * the pool is full (then returns 1: the rest waits for results). A service
 * no worker can take now (-2) is tried again in 10 ms. O(k log n) for k
 * services handed out.
 */
static int submit_due(struct tocsin_daemon *d, int64_t now)
{
    struct tocsin_sched_item it;
    int rc;

    while (tocsin_sched_peek(&d->sched, &it) == 0 && it.due <= now) {
        uint32_t seq;

        if (d->conf->services[it.id].passive) {
            tocsin_sched_pop(&d->sched, &it);
            heartbeat_due(d, it.id, now);
            continue;
        }
        if (skip_outside_period(d, it.id, it.due, now))
            continue;
        seq = ++d->next_seq;
        if (seq == 0)
            seq = ++d->next_seq;
        rc = tocsin_pool_submit(&d->pool, it.id, seq);
        if (rc == -2) {
            tocsin_sched_set(&d->sched, it.id, now + 10000);
            continue;
        }
        if (rc < 0)
            return 1;
        tocsin_sched_pop(&d->sched, &it);
        d->svcs[it.id].forced = 0;
        d->svcs[it.id].seq = seq;
        d->svcs[it.id].due = it.due;
    }
    return 0;
}

/*
 * The earliest of `wake` and what every timer wants: worker deadlines,
 * the next due service (unless the pool is full), the HTTP endpoint's
 * timers, the control socket's deadlines, the watchdog's ping and alerting's (run first when already due; its clock is the
 * wall clock in ms).
 */
static int64_t next_wake(struct tocsin_daemon *d, int64_t now, int64_t wake, int full)
{
    struct tocsin_sched_item it;
    int64_t enforce = tocsin_pool_enforce(&d->pool, now), wall, next;

    if (enforce < wake)
        wake = enforce;
    if (!full && tocsin_sched_peek(&d->sched, &it) == 0 && it.due < wake)
        wake = it.due;
    wake = tocsin_httpd_tick(d->httpd, now, wake);
    wake = tocsin_control_tick(d->control, now, wake);
    /* The watchdog is pinged from here, so that a loop that stops turning
     * stops pinging it and the service manager restarts the daemon. */
    wake = tocsin_sdnotify_tick(&d->sdnotify, now, wake);
    wall = tocsin_wall_ms();
    next = tocsin_alerting_next(d->alerting);
    if (wall >= next)
        next = tocsin_alerting_tick(d->alerting, wall);
    tocsin_daemon_save_unsaved(d, wall);
    if (d->mhist) {
        /* Closed minutes go to the store in one transaction every few
         * seconds, after alerting's; a failed commit keeps them queued. */
        if (wall >= d->mhist_next_ms) {
            tocsin_mhist_flush(d->mhist, wall / 1000, 0);
            d->mhist_next_ms = wall + TOCSIN_MHIST_FLUSH_S * 1000;
        }
        if (d->mhist_next_ms < next)
            next = d->mhist_next_ms;
    }
    if (now + (next - wall) * 1000 < wake)
        wake = now + (next - wall) * 1000;
    return wake;
}

int tocsin_daemon_run(struct tocsin_daemon *d)
{
    struct epoll_event events[128];

    while (!d->stopping) {
        int64_t now = tocsin_mono_us(), wake;
        int n, i, full;

        d->status.worker_restarts = d->pool.restarts;
        if (d->nsubmitted)
            apply_submitted(d);
        full = submit_due(d, now);
        tocsin_pool_flush(&d->pool);
        wake = next_wake(d, now, now + 1000000, full);
        n = wait_events(d, events, 128, wake <= now ? 0 : wake - now);
        if (n < 0 && errno != EINTR) {
            tocsin_error("epoll_wait: %s", strerror(errno));
            return -1;
        }
        for (i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64;

            if (tag == TOCSIN_DAEMON_SIGNAL_TAG)
                handle_signals(d);
            else if (tag & TOCSIN_CONTROL_TAG)
                tocsin_control_ready(d->control, (uint32_t)(tag & 0xffffffffu), events[i].events);
            else if (tag == TOCSIN_DAEMON_HTTPD_TAG)
                tocsin_httpd_run(d->httpd);
            else if (tag & TOCSIN_POOL_TAG)
                tocsin_pool_ready(&d->pool, (int)(tag & 0xffffffffu), events[i].events);
        }
    }
    return 0;
}
