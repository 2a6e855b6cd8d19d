/*
 * worker.c - worker processes and the core's pool of them. See worker.h.
 */
#include "engine/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/check-run.h"
#include "lib/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/reaper.h"
#include "lib/nagios.h"
#include "engine/threshold.h"

#define GRACE_US 1000000              /* past a deadline before the kill */
#define NOTIFY_TIMEOUT_US 60000000    /* a notifier's time budget */
#define FLUSH_EVERY_US 2000           /* a worker holds results this long */
#define FLUSH_BYTES 65536
#define LEFTOVER_GRACE_US 200000      /* SIGTERM to SIGKILL for leftovers */
#define TAKE_BACK_US 100000           /* queued behind a job running this long */

/* ================================================================== */
/* The worker side                                                     */
/* ================================================================== */

struct worker_ctx {
    const struct tocsin_config *conf;
    enum tocsin_worker_kind kind;
    int fd;
    struct tocsin_worker_slot *slot;
    void **inst;                   /* per service or notifier, lazily set up */
    char **setup_err;              /* setup's refusal, if any */
    unsigned char *ready;
    unsigned char **held;          /* per service: what each threshold judged
                                      last (hysteresis), made at its first check */
    size_t ninst;
    struct tocsin_buf in, out, text;
    int64_t last_flush;
};

static void slot_begin(struct tocsin_worker_slot *s, uint32_t seq, int64_t now)
{
    __atomic_store_n(&s->started_us, now, __ATOMIC_RELAXED);
    __atomic_store_n(&s->seq, seq, __ATOMIC_RELAXED);
    __atomic_store_n(&s->busy, 1, __ATOMIC_RELEASE);
}

static void slot_end(struct tocsin_worker_slot *s)
{
    __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
}

/*
 * Claim job `seq` before starting it. Returns 1 when this worker is to run
 * it, 0 when the core has taken it back (the job is being run elsewhere:
 * skip it, and answer nothing). O(1), no system call.
 */
static int claim_job(struct tocsin_worker_slot *s, uint32_t seq)
{
    uint64_t seen = __atomic_load_n(&s->claim, __ATOMIC_ACQUIRE);

    while (!(seen & TOCSIN_CLAIM_CLOSED))
        if (__atomic_compare_exchange_n(&s->claim, &seen, (uint64_t)seq, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return 1;
    return 0;
}

/* Write everything in `out` (the worker's fd is blocking). */
static void worker_flush(struct worker_ctx *w)
{
    size_t off = 0;

    while (off < w->out.len) {
        ssize_t n = write(w->fd, w->out.data + off, w->out.len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(0); /* the core is gone */
        off += (size_t)n;
    }
    tocsin_buf_reset(&w->out);
    w->last_flush = tocsin_mono_us();
}

/*
 * Set up the plugin instance of entry `idx` once. Returns the instance
 * state: 0 ready, -1 refused (reason kept in setup_err[idx]).
 */
static int ensure_instance(struct worker_ctx *w, size_t idx,
                           const struct tocsin_instance_conf *ic)
{
    struct tocsin_buf err = TOCSIN_BUF_INIT;
    char reason[1024] = "";
    cfg_t *cfg;
    int rc = 0;

    if (w->ready[idx])
        return w->setup_err[idx] ? -1 : 0;
    w->ready[idx] = 1;
    if (!ic->plugin->setup)
        return 0;
    cfg = tocsin_config_plugin_cfg(ic, &err);
    if (!cfg) {
        w->setup_err[idx] = tocsin_buf_steal(&err);
        return -1;
    }
    if (ic->plugin->setup(cfg, &w->inst[idx], reason, sizeof(reason)) != 0) {
        reason[sizeof(reason) - 1] = '\0';
        w->setup_err[idx] = strdup(*reason ? reason : "setup failed");
        rc = -1;
    }
    cfg_free(cfg);
    tocsin_buf_free(&err);
    return rc;
}

static void run_check(struct worker_ctx *w, const struct tocsin_job_msg *job)
{
    const struct tocsin_service_conf *s;
    struct tocsin_result_msg r;
    struct tocsin_check chk;
    struct timespec deadline;
    int64_t start;

    if (job->svc >= w->conf->nservices)
        return;
    s = &w->conf->services[job->svc];
    memset(&r, 0, sizeof(r));
    r.svc = job->svc;
    r.seq = job->seq;
    start = tocsin_mono_us();
    r.started_us = start;
    slot_begin(w->slot, job->seq, start);
    tocsin_buf_reset(&w->text);
    if (ensure_instance(w, job->svc, &s->inst) < 0) {
        r.state = TOCSIN_UNKNOWN;
        r.flags = TOCSIN_RESULT_SETUP_FAILED;
        tocsin_buf_printf(&w->text, "check plugin '%s' refused the configuration: %s",
                          s->inst.plugin_name, w->setup_err[job->svc]);
    } else {
        deadline = tocsin_us_to_timespec(start + job->timeout_us);
        tocsin_check_init(&chk, s->inst.name, &deadline);
        s->inst.plugin->check(w->inst[job->svc], &chk);
        r.state = chk.state <= TOCSIN_UNKNOWN ? chk.state : TOCSIN_UNKNOWN;
        /* A check that returns at or past its deadline has timed out,
         * whatever it reports: the service's timeout_state applies. */
        if (chk.timed_out || tocsin_mono_us() >= start + job->timeout_us)
            r.flags |= TOCSIN_RESULT_TIMED_OUT;
        tocsin_check_render(&chk, &w->text);
        tocsin_check_release(&chk);
        if (s->nthresholds && !(r.flags & TOCSIN_RESULT_TIMED_OUT)) {
            struct tocsin_buf judged = TOCSIN_BUF_INIT;
            enum tocsin_state st = (enum tocsin_state)r.state;

            if (!w->held[job->svc] &&
                !(w->held[job->svc] = calloc(s->nthresholds, 1)))
                _exit(3);
            if (tocsin_thresholds_apply(s, &st, w->text.data ? w->text.data : "",
                                        w->text.len, &judged, w->held[job->svc]) > 0) {
                r.state = st;
                tocsin_buf_reset(&w->text);
                tocsin_buf_append(&w->text, judged.data, judged.len);
            }
            tocsin_buf_free(&judged);
        }
    }
    slot_end(w->slot);
    r.duration_us = tocsin_mono_us() - start;
    tocsin_frame_put(&w->out, TOCSIN_MSG_RESULT, &r, sizeof(r), w->text.data,
                     w->text.len > TOCSIN_OUTPUT_MAX ? TOCSIN_OUTPUT_MAX : w->text.len);
}

/*
 * Deliver one message: the first alert and those grouped with it, through
 * the notifier it is addressed to, and answer with the outcome.
 */
static void run_alert(struct worker_ctx *w, const char *payload, size_t len)
{
    const struct tocsin_notifier_conf *n;
    struct tocsin_alert_msg m;
    struct tocsin_delivery_msg d;
    struct tocsin_alert *alerts = NULL;
    const char *p;
    size_t left;
    char reason[1024] = "";
    long retry_after = 0;
    uint32_t i, decoded = 0;

    if (len < sizeof(m))
        return;
    memcpy(&m, payload, sizeof(m));
    if (m.notifier >= w->conf->nnotifiers || m.count == 0 || m.count > 10000)
        return;
    n = &w->conf->notifiers[m.notifier];
    memset(&d, 0, sizeof(d));
    d.notifier = m.notifier;
    d.seq = m.seq;
    slot_begin(w->slot, m.seq, tocsin_mono_us());
    alerts = calloc(m.count, sizeof(*alerts));
    if (!alerts) {
        d.outcome = TOCSIN_RETRY;
        snprintf(reason, sizeof(reason), "out of memory");
        goto answer;
    }
    p = payload + sizeof(m);
    left = len - sizeof(m);
    for (i = 0; i < m.count; i++, decoded++)
        if (tocsin_alert_decode(&p, &left, &alerts[i]) < 0) {
            d.outcome = TOCSIN_FAILED;
            snprintf(reason, sizeof(reason), "malformed alert message");
            goto answer;
        }
    if (ensure_instance(w, m.notifier, &n->inst) < 0) {
        d.outcome = TOCSIN_FAILED;
        snprintf(reason, sizeof(reason), "notifier plugin '%s' refused the configuration: %s",
                 n->inst.plugin_name, w->setup_err[m.notifier]);
        goto answer;
    }
    alerts[0].grouped = m.count > 1 ? &alerts[1] : NULL;
    alerts[0].ngrouped = m.count - 1;
    alerts[0].retry_after = &retry_after;
    alerts[0].deadline = tocsin_us_to_timespec(tocsin_mono_us() + n->timeout_ms * 1000);
    for (i = 1; i < m.count; i++) {
        alerts[i].retry_after = &retry_after;
        alerts[i].deadline = alerts[0].deadline;
    }
    d.outcome = n->inst.plugin->notify(w->inst[m.notifier], &alerts[0], reason, sizeof(reason));
    reason[sizeof(reason) - 1] = '\0';
    if (d.outcome > TOCSIN_FAILED)
        d.outcome = TOCSIN_FAILED;
    d.retry_after = retry_after > 0 ? retry_after : 0;
answer:
    slot_end(w->slot);
    for (i = 0; i < decoded; i++)
        free((void *)alerts[i].labels);
    free(alerts);
    tocsin_frame_put(&w->out, TOCSIN_MSG_DELIVERY, &d, sizeof(d), reason,
                     d.outcome == TOCSIN_DELIVERED ? 0 : strlen(reason));
}

/* Close every descriptor but stdio and `keep`. */
static void close_other_fds(int keep)
{
    int fd;

    if (keep > 3 && close_range(3, (unsigned)keep - 1, 0) < 0)
        for (fd = 3; fd < keep; fd++)
            close(fd);
    if (close_range((unsigned)keep + 1, ~0U, 0) < 0)
        for (fd = keep + 1; fd < 1024; fd++)
            close(fd);
}

/* The life of a worker process; never returns. */
static void worker_main(const struct tocsin_config *conf, enum tocsin_worker_kind kind,
                        int fd, struct tocsin_worker_slot *slot, pid_t core_pid,
                        long memory_mb)
{
    struct worker_ctx w;
    sigset_t none;
    size_t n;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != core_pid)
        _exit(1);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    /* A worker lives as long as its socket and the core: signals meant
     * for the daemon that reach its whole process group (timeout(1),
     * kill -TERM -PGID, killall -USR1 tocsind) must not end it. The
     * commands it starts get these back at their defaults. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    close_other_fds(fd);
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer reserves terabytes of address space up front. */
    memory_mb = 0;
#endif
    /* The core's timing matters more than any one check: under load the
     * scheduler keeps running on time and checks queue instead. */
    if (conf->worker_nice > 0)
        setpriority(PRIO_PROCESS, 0, conf->worker_nice);
    if (memory_mb > 0) {
        struct rlimit rl;

        rl.rlim_cur = rl.rlim_max = (rlim_t)memory_mb * 1024 * 1024;
        setrlimit(RLIMIT_AS, &rl);
    }

    tocsin_exec_publish_pgid(&slot->child_pgid);
    /* What a job's commands leave running comes back here, not to the
     * core or init, and ends with the job. */
    if (tocsin_reaper_become() < 0)
        _exit(3);
    memset(&w, 0, sizeof(w));
    w.conf = conf;
    w.kind = kind;
    w.fd = fd;
    w.slot = slot;
    n = kind == TOCSIN_WORKER_CHECK ? conf->nservices : conf->nnotifiers;
    w.ninst = n;
    w.inst = calloc(n ? n : 1, sizeof(*w.inst));
    w.setup_err = calloc(n ? n : 1, sizeof(*w.setup_err));
    w.ready = calloc(n ? n : 1, 1);
    w.held = calloc(n ? n : 1, sizeof(*w.held));
    if (!w.inst || !w.setup_err || !w.ready || !w.held)
        _exit(3);
    w.last_flush = tocsin_mono_us();

    for (;;) {
        size_t off = 0;
        ssize_t got;

        for (;;) {
            const char *payload;
            size_t plen;
            uint32_t type;
            long flen;

            flen = tocsin_frame_next(&w.in, off, &type, &payload, &plen);
            if (flen < 0)
                _exit(2);
            if (flen == 0)
                break;
            off += (size_t)flen;
            if (type == TOCSIN_MSG_JOB && plen >= sizeof(struct tocsin_job_msg) &&
                kind == TOCSIN_WORKER_CHECK) {
                struct tocsin_job_msg job;

                memcpy(&job, payload, sizeof(job));
                if (claim_job(slot, job.seq))
                    run_check(&w, &job);
            } else if (type == TOCSIN_MSG_RESUME) {
                __atomic_and_fetch(&slot->claim, ~TOCSIN_CLAIM_CLOSED, __ATOMIC_ACQ_REL);
            } else if (type == TOCSIN_MSG_ALERT && kind == TOCSIN_WORKER_NOTIFY) {
                run_alert(&w, payload, plen);
            }
            /* One job at a time: any child now is one it left behind. */
            (void)tocsin_reaper_end_children(NULL, NULL, LEFTOVER_GRACE_US);
            if (w.out.len >= FLUSH_BYTES ||
                tocsin_mono_us() - w.last_flush >= FLUSH_EVERY_US)
                worker_flush(&w);
        }
        tocsin_buf_consume(&w.in, off);
        if (w.out.len)
            worker_flush(&w);
        if (tocsin_buf_reserve(&w.in, 65536) < 0)
            _exit(3);
        got = read(fd, w.in.data + w.in.len, w.in.cap - w.in.len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            _exit(0);
        w.in.len += (size_t)got;
        w.in.data[w.in.len] = '\0';
    }
}

/* ================================================================== */
/* The core side                                                       */
/* ================================================================== */

static int64_t job_timeout(const struct tocsin_pool *p, const struct tocsin_worker *w,
                           uint32_t idx)
{
    if (w->kind == TOCSIN_WORKER_NOTIFY)
        return idx < p->conf->nnotifiers ? p->conf->notifiers[idx].timeout_ms * 1000
                                         : NOTIFY_TIMEOUT_US;
    return idx < p->conf->nservices ? p->conf->services[idx].timeout_us : 10000000;
}

static int ring_push(struct tocsin_worker *w, uint32_t svc, uint32_t seq)
{
    if (w->jobs_count == w->jobs_cap) {
        uint32_t cap = w->jobs_cap ? w->jobs_cap * 2 : 64, i;
        struct tocsin_job *j = malloc(cap * sizeof(*j));

        if (!j)
            return -1;
        for (i = 0; i < w->jobs_count; i++)
            j[i] = w->jobs[(w->jobs_head + i) % w->jobs_cap];
        free(w->jobs);
        w->jobs = j;
        w->jobs_cap = cap;
        w->jobs_head = 0;
    }
    w->jobs[(w->jobs_head + w->jobs_count) % w->jobs_cap] = (struct tocsin_job){svc, seq};
    w->jobs_count++;
    return 0;
}

/* Remove the job `seq` (normally the oldest). Returns 0 if it was there. */
static int ring_take(struct tocsin_worker *w, uint32_t seq, struct tocsin_job *out)
{
    uint32_t i;

    for (i = 0; i < w->jobs_count; i++) {
        uint32_t at = (w->jobs_head + i) % w->jobs_cap;

        if (w->jobs[at].seq != seq)
            continue;
        *out = w->jobs[at];
        if (i == 0) {
            w->jobs_head = (w->jobs_head + 1) % w->jobs_cap;
        } else {
            /* Out of order: close the gap. Rare (never for check workers). */
            for (; i + 1 < w->jobs_count; i++)
                w->jobs[(w->jobs_head + i) % w->jobs_cap] =
                    w->jobs[(w->jobs_head + i + 1) % w->jobs_cap];
        }
        w->jobs_count--;
        return 0;
    }
    return -1;
}

static int spawn_worker(struct tocsin_pool *p, struct tocsin_worker *w)
{
    struct epoll_event ev;
    int sv[2];
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        tocsin_error("worker %d: socketpair: %s", w->id, strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        int err = errno;

        close(sv[0]);
        close(sv[1]);
        tocsin_error("worker %d: fork: %s", w->id, strerror(err));
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        worker_main(p->conf, w->kind, sv[1], w->slot, p->core_pid,
                    p->conf->worker_memory_mb);
    }
    close(sv[1]);
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
        tocsin_error("worker %d: fcntl: %s", w->id, strerror(errno));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(sv[0]);
        return -1;
    }
    w->pid = pid;
    w->fd = sv[0];
    w->killed_for_timeout = 0;
    w->want_write = 0;
    tocsin_buf_reset(&w->in);
    tocsin_buf_reset(&w->out);
    __atomic_store_n(&w->slot->busy, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&w->slot->claim, 0, __ATOMIC_RELAXED);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = TOCSIN_POOL_TAG | (uint64_t)w->id;
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
        tocsin_error("worker %d: epoll_ctl: %s", w->id, strerror(errno));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(w->fd);
        w->fd = -1;
        w->pid = 0;
        return -1;
    }
    tocsin_debug("worker %d (%s) started as pid %ld", w->id,
                 w->kind == TOCSIN_WORKER_CHECK ? "checks" : "notifiers", (long)pid);
    return 0;
}

int tocsin_pool_start(struct tocsin_pool *p, const struct tocsin_config *conf,
                      int ncheck, int epfd, const struct tocsin_pool_events *ev)
{
    size_t bytes;
    int i;

    memset(p, 0, sizeof(*p));
    p->conf = conf;
    p->ncheck = ncheck;
    p->nworkers = ncheck + (int)conf->nnotifiers;
    p->epfd = epfd;
    p->ev = *ev;
    p->max_inflight = 256;
    p->take_back_us = TAKE_BACK_US;
    p->core_pid = getpid();
    bytes = (size_t)p->nworkers * sizeof(struct tocsin_worker_slot);
    p->slots = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p->slots == MAP_FAILED) {
        p->slots = NULL;
        tocsin_error("worker slots: mmap: %s", strerror(errno));
        return -1;
    }
    p->workers = calloc((size_t)p->nworkers, sizeof(*p->workers));
    if (!p->workers)
        return -1;
    for (i = 0; i < p->nworkers; i++) {
        struct tocsin_worker *w = &p->workers[i];

        w->id = i;
        w->fd = -1;
        w->kind = i < ncheck ? TOCSIN_WORKER_CHECK : TOCSIN_WORKER_NOTIFY;
        w->slot = &p->slots[i];
        tocsin_buf_init(&w->in);
        tocsin_buf_init(&w->out);
        /* A notifier that is not enabled gets nothing to deliver. */
        if (w->kind == TOCSIN_WORKER_NOTIFY && !conf->notifiers[i - ncheck].enabled &&
            (long)(i - ncheck) != conf->fallback_notifier)
            continue;
        if (spawn_worker(p, w) < 0)
            return -1;
    }
    return 0;
}

/*
 * Whether check worker `w` would start a job queued now without delay or
 * soon: it is up, and idle or running a job that started less than
 * take_back_us ago (and, since a job queued behind it is then taken back,
 * not running one it already gave jobs back for). O(1).
 */
static int starts_soon(const struct tocsin_pool *p, const struct tocsin_worker *w,
                       int64_t now)
{
    if (w->fd < 0 || w->killed_for_timeout || w->jobs_count >= p->max_inflight)
        return 0;
    if (w->jobs_count == 0)
        return 1;
    if (__atomic_load_n(&w->slot->claim, __ATOMIC_ACQUIRE) & TOCSIN_CLAIM_CLOSED)
        return 0;
    return !__atomic_load_n(&w->slot->busy, __ATOMIC_ACQUIRE) ||
           now - __atomic_load_n(&w->slot->started_us, __ATOMIC_RELAXED) < p->take_back_us;
}

/*
 * Pick the worker for a check that may run anywhere: an idle worker if
 * there is one, else the one with the fewest jobs among those whose
 * running job is young (pipelining keeps short checks cheap, and a job
 * that turns out long gets what is queued behind it taken back). NULL
 * when none qualifies. O(workers).
 */
static struct tocsin_worker *pick_worker(struct tocsin_pool *p)
{
    struct tocsin_worker *best = NULL;
    int64_t now = tocsin_mono_us();
    int i;

    for (i = 0; i < p->ncheck; i++) {
        struct tocsin_worker *w = &p->workers[i];

        if (!starts_soon(p, w, now))
            continue;
        if (!best || w->jobs_count < best->jobs_count)
            best = w;
        if (best->jobs_count == 0)
            break;
    }
    return best;
}

int tocsin_pool_submit(struct tocsin_pool *p, uint32_t svc, uint32_t seq)
{
    const struct tocsin_plugin *plugin = p->conf->services[svc].inst.plugin;
    struct tocsin_worker *best = NULL;
    struct tocsin_job_msg job;

    if (plugin->flags & TOCSIN_PLUGIN_STATEFUL) {
        /* Its state lives in one worker's instance: always go there. */
        best = &p->workers[svc % (uint32_t)p->ncheck];
        if (best->fd < 0 || best->killed_for_timeout || best->jobs_count >= p->max_inflight)
            return -2;
        goto queue;
    }
    best = pick_worker(p);
    if (!best)
        return -1;
queue:
    job.svc = svc;
    job.seq = seq;
    job.timeout_us = p->conf->services[svc].timeout_us;
    if (ring_push(best, svc, seq) < 0)
        return -1;
    if (tocsin_frame_put(&best->out, TOCSIN_MSG_JOB, &job, sizeof(job), NULL, 0) < 0) {
        struct tocsin_job dropped;

        ring_take(best, seq, &dropped);
        return -1;
    }
    return 0;
}

int tocsin_pool_alert(struct tocsin_pool *p, uint32_t notifier, uint32_t seq,
                      const void *alerts, size_t len, uint32_t count)
{
    struct tocsin_worker *w;
    struct tocsin_alert_msg m;

    if (notifier >= p->conf->nnotifiers)
        return -1;
    w = &p->workers[p->ncheck + (int)notifier];
    if (w->fd < 0 && w->pid == 0 && !w->respawn_at)
        return -1;
    m.notifier = notifier;
    m.seq = seq;
    m.count = count;
    if (ring_push(w, notifier, seq) < 0)
        return -1;
    if (tocsin_frame_put(&w->out, TOCSIN_MSG_ALERT, &m, sizeof(m), alerts, len) < 0) {
        struct tocsin_job dropped;

        ring_take(w, seq, &dropped);
        return -1;
    }
    return 0;
}

uint32_t tocsin_pool_notifier_inflight(const struct tocsin_pool *p, uint32_t notifier)
{
    if (notifier >= p->conf->nnotifiers)
        return 0;
    return p->workers[p->ncheck + (int)notifier].jobs_count;
}

static void set_want_write(struct tocsin_pool *p, struct tocsin_worker *w, int on)
{
    struct epoll_event ev;

    if (w->want_write == on || w->fd < 0)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
    ev.data.u64 = TOCSIN_POOL_TAG | (uint64_t)w->id;
    if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, w->fd, &ev) == 0)
        w->want_write = on;
}

static void flush_worker(struct tocsin_pool *p, struct tocsin_worker *w)
{
    size_t off = 0;

    while (off < w->out.len && w->fd >= 0) {
        ssize_t n = write(w->fd, w->out.data + off, w->out.len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break; /* EAGAIN: wait for EPOLLOUT; EPIPE: the death is seen on read */
        off += (size_t)n;
    }
    tocsin_buf_consume(&w->out, off);
    set_want_write(p, w, w->out.len > 0);
}

void tocsin_pool_flush(struct tocsin_pool *p)
{
    int i;

    for (i = 0; i < p->nworkers; i++)
        if (p->workers[i].out.len)
            flush_worker(p, &p->workers[i]);
}

/* Name of the plugin a job of worker `w` ran, for messages. */
static const char *job_plugin(const struct tocsin_pool *p, const struct tocsin_worker *w,
                              uint32_t idx)
{
    if (w->kind == TOCSIN_WORKER_CHECK)
        return idx < p->conf->nservices ? p->conf->services[idx].inst.plugin_name : "?";
    return idx < p->conf->nnotifiers ? p->conf->notifiers[idx].inst.plugin_name : "?";
}

/* End the command a dead worker left running, if any: its process group
 * outlives the worker that started it. */
static void kill_orphaned_command(struct tocsin_worker *w)
{
    int32_t pgid = __atomic_exchange_n(&w->slot->child_pgid, 0, __ATOMIC_ACQ_REL);

    if (pgid > 0)
        kill(-(pid_t)pgid, SIGKILL);
}

/* tocsin_reaper_keep_fn for the core: keep the pool's live workers. */
static int is_worker(pid_t pid, void *ud)
{
    const struct tocsin_pool *p = ud;
    int i;

    for (i = 0; i < p->nworkers; i++)
        if (p->workers[i].pid == pid)
            return 1;
    return 0;
}

/* Name of the service or notifier of a job of worker `w`, for messages. */
static const char *job_name(const struct tocsin_pool *p, const struct tocsin_worker *w,
                            uint32_t idx)
{
    if (w->kind == TOCSIN_WORKER_CHECK)
        return idx < p->conf->nservices ? p->conf->services[idx].inst.name : "?";
    return idx < p->conf->nnotifiers ? p->conf->notifiers[idx].inst.name : "?";
}

/*
 * Say that worker `w` died: which worker, the job it was running (or that
 * it was idle), and how it ended. A worker the core killed for an overrun
 * is logged as information (the overrun itself is the news); every other
 * death is a warning, since a worker is never meant to die on its own.
 */
static void log_death(const struct tocsin_pool *p, const struct tocsin_worker *w,
                      int status, int busy, uint32_t running)
{
    struct tocsin_buf how = TOCSIN_BUF_INIT, job = TOCSIN_BUF_INIT;
    char signame[32];
    uint32_t k;

    if (WIFSIGNALED(status))
        tocsin_buf_printf(&how, "killed by %s%s",
                          tocsin_signal_name(WTERMSIG(status), signame, sizeof(signame)),
                          WCOREDUMP(status) ? " (core dumped)" : "");
    else if (WIFEXITED(status))
        tocsin_buf_printf(&how, "exited with code %d", WEXITSTATUS(status));
    else
        tocsin_buf_printf(&how, "closed its socket");
    for (k = 0; busy && k < w->jobs_count; k++) {
        const struct tocsin_job *j = &w->jobs[(w->jobs_head + k) % w->jobs_cap];

        if (j->seq == running) {
            tocsin_buf_printf(&job, "running %s \"%s\" (plugin %s)",
                              w->kind == TOCSIN_WORKER_CHECK ? "check" : "notifier",
                              job_name(p, w, j->svc), job_plugin(p, w, j->svc));
            break;
        }
    }
    if (!job.len)
        tocsin_buf_printf(&job, "idle");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
        tocsin_buf_puts(&how, " (it read a malformed frame)");
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
        tocsin_buf_puts(&how, " (out of memory)");
    if (p->stopping)
        tocsin_info("%s worker %d (pid %ld) ended while the daemon stops, %s: %s",
                    w->kind == TOCSIN_WORKER_CHECK ? "check" : "notifier", w->id,
                    (long)w->pid, tocsin_buf_str(&how), tocsin_buf_str(&job));
    else if (w->killed_for_timeout)
        tocsin_info("%s worker %d (pid %ld) %s after its job overran: %s, %u job(s) queued",
                    w->kind == TOCSIN_WORKER_CHECK ? "check" : "notifier", w->id,
                    (long)w->pid, tocsin_buf_str(&how), tocsin_buf_str(&job), w->jobs_count);
    else
        tocsin_warn("%s worker %d (pid %ld) died, %s: %s, %u job(s) queued; replacing it",
                    w->kind == TOCSIN_WORKER_CHECK ? "check" : "notifier", w->id,
                    (long)w->pid, tocsin_buf_str(&how), tocsin_buf_str(&job), w->jobs_count);
    tocsin_buf_free(&how);
    tocsin_buf_free(&job);
}

/*
 * A worker is gone (its socket closed, or it was reaped). Blame the job it
 * was running, hand every other job back, and start a replacement.
 * `status` is from waitpid().
 */
static void worker_died(struct tocsin_pool *p, struct tocsin_worker *w, int status)
{
    struct tocsin_buf why = TOCSIN_BUF_INIT;
    int busy = __atomic_load_n(&w->slot->busy, __ATOMIC_ACQUIRE);
    uint32_t running = __atomic_load_n(&w->slot->seq, __ATOMIC_RELAXED);
    char signame[32];

    log_death(p, w, status, busy, running);
    if (w->fd >= 0) {
        epoll_ctl(p->epfd, EPOLL_CTL_DEL, w->fd, NULL);
        close(w->fd);
        w->fd = -1;
    }
    w->pid = 0;
    kill_orphaned_command(w);
    /* What its jobs left running was re-parented here when it died. */
    (void)tocsin_reaper_end_children(is_worker, p, 0);
    tocsin_buf_reset(&w->in);
    tocsin_buf_reset(&w->out);

    while (w->jobs_count) {
        struct tocsin_job j = w->jobs[w->jobs_head];
        int blamed = busy && j.seq == running;

        w->jobs_head = (w->jobs_head + 1) % w->jobs_cap;
        w->jobs_count--;
        tocsin_buf_reset(&why);
        if (!blamed) {
            if (w->kind == TOCSIN_WORKER_CHECK)
                p->ev.lost(p->ev.ud, j.svc, j.seq, 1, TOCSIN_UNKNOWN, "");
            else
                p->ev.delivery(p->ev.ud, j.svc, j.seq, TOCSIN_RETRY, 0, "notifier worker restarted");
            continue;
        }
        if (w->killed_for_timeout && w->kind == TOCSIN_WORKER_CHECK &&
            j.svc < p->conf->nservices)
            /* The text starts with the state it is given, as a plugin's would. */
            tocsin_buf_printf(&why, "%s - timed out after %g s",
                              tocsin_state_name(p->conf->services[j.svc].timeout_state),
                              (double)job_timeout(p, w, j.svc) / 1e6);
        else if (w->killed_for_timeout)
            tocsin_buf_printf(&why, "timed out after %g s",
                              (double)job_timeout(p, w, j.svc) / 1e6);
        else if (WIFSIGNALED(status))
            tocsin_buf_printf(&why, "plugin %s crashed: %s", job_plugin(p, w, j.svc),
                              tocsin_signal_name(WTERMSIG(status), signame, sizeof(signame)));
        else
            tocsin_buf_printf(&why, "plugin %s ended its worker with exit code %d",
                              job_plugin(p, w, j.svc), WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        if (w->kind == TOCSIN_WORKER_CHECK) {
            enum tocsin_state st = TOCSIN_UNKNOWN;

            if (w->killed_for_timeout)
                st = p->conf->services[j.svc].timeout_state;
            p->ev.lost(p->ev.ud, j.svc, j.seq, 0, st, tocsin_buf_str(&why));
        } else {
            p->ev.delivery(p->ev.ud, j.svc, j.seq, TOCSIN_RETRY, 0, tocsin_buf_str(&why));
        }
    }
    w->jobs_head = 0;
    tocsin_buf_free(&why);
    __atomic_store_n(&w->slot->busy, 0, __ATOMIC_RELAXED);
    if (p->stopping)
        return; /* the daemon is on its way out: no replacement */
    p->restarts++;
    if (spawn_worker(p, w) < 0) {
        tocsin_error("worker %d could not be replaced; trying again in a second", w->id);
        w->respawn_at = tocsin_mono_us() + 1000000;
    }
}

/* Stop worker `w` for good and account for it now: kill, reap, blame. */
static void worker_gone(struct tocsin_pool *p, struct tocsin_worker *w)
{
    int status = 0;
    pid_t pid = w->pid;

    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    worker_died(p, w, status);
}

static void handle_frames(struct tocsin_pool *p, struct tocsin_worker *w)
{
    size_t off = 0;

    for (;;) {
        const char *payload;
        size_t plen;
        uint32_t type;
        long flen;

        flen = tocsin_frame_next(&w->in, off, &type, &payload, &plen);
        if (flen == 0)
            break;
        if (flen < 0) {
            tocsin_error("worker %d sent a malformed frame; replacing it", w->id);
            tocsin_buf_consume(&w->in, off);
            worker_gone(p, w);
            return;
        }
        off += (size_t)flen;
        if (type == TOCSIN_MSG_RESULT && plen >= sizeof(struct tocsin_result_msg)) {
            struct tocsin_result_msg r;
            struct tocsin_job j;

            memcpy(&r, payload, sizeof(r));
            if (ring_take(w, r.seq, &j) == 0)
                p->ev.result(p->ev.ud, &r, payload + sizeof(r), plen - sizeof(r));
        } else if (type == TOCSIN_MSG_DELIVERY && plen >= sizeof(struct tocsin_delivery_msg)) {
            struct tocsin_delivery_msg d;
            struct tocsin_job j;
            char *why;

            memcpy(&d, payload, sizeof(d));
            why = strndup(payload + sizeof(d), plen - sizeof(d));
            if (ring_take(w, d.seq, &j) == 0)
                p->ev.delivery(p->ev.ud, d.notifier, d.seq, (enum tocsin_delivery)d.outcome,
                               d.retry_after, why ? why : "");
            free(why);
        }
    }
    tocsin_buf_consume(&w->in, off);
}

void tocsin_pool_ready(struct tocsin_pool *p, int index, uint32_t events)
{
    struct tocsin_worker *w;

    if (index < 0 || index >= p->nworkers)
        return;
    w = &p->workers[index];
    if (w->fd < 0)
        return;
    if (events & EPOLLOUT)
        flush_worker(p, w);
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        for (;;) {
            ssize_t n;

            if (tocsin_buf_reserve(&w->in, 65536) < 0)
                break;
            n = read(w->fd, w->in.data + w->in.len, w->in.cap - w->in.len - 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                break;
            if (n <= 0) {
                handle_frames(p, w);
                worker_gone(p, w);
                return;
            }
            w->in.len += (size_t)n;
            w->in.data[w->in.len] = '\0';
            if ((size_t)n < 65536)
                break;
        }
        handle_frames(p, w);
    }
}

void tocsin_pool_reap(struct tocsin_pool *p)
{
    for (;;) {
        int status, i;
        pid_t pid = waitpid(-1, &status, WNOHANG);

        if (pid <= 0)
            break;
        for (i = 0; i < p->nworkers; i++) {
            struct tocsin_worker *w = &p->workers[i];

            if (w->pid != pid)
                continue;
            /* Read whatever it wrote before dying, then account for it. */
            if (w->fd >= 0) {
                for (;;) {
                    ssize_t n;

                    if (tocsin_buf_reserve(&w->in, 65536) < 0)
                        break;
                    n = read(w->fd, w->in.data + w->in.len, w->in.cap - w->in.len - 1);
                    if (n <= 0)
                        break;
                    w->in.len += (size_t)n;
                    w->in.data[w->in.len] = '\0';
                }
                handle_frames(p, w);
            }
            if (w->pid == pid)
                worker_died(p, w, status);
            break;
        }
    }
}

/*
 * Worker `w` has been running job `running` (the oldest it holds) for
 * take_back_us: take back every job queued behind it, so that none waits
 * for a job that may last until its timeout. The worker is told to start
 * nothing it was sent before the RESUME frame queued here; the claim
 * word settles a race with a worker that is just moving on to the next
 * job (then nothing is taken: that job is already running). O(jobs held).
 */
static void take_back(struct tocsin_pool *p, struct tocsin_worker *w, uint32_t running)
{
    uint64_t expect = running;
    uint32_t k, n = w->jobs_count, none = 0;

    if (!__atomic_compare_exchange_n(&w->slot->claim, &expect,
                                     (uint64_t)running | TOCSIN_CLAIM_CLOSED, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return;
    if (tocsin_frame_put(&w->out, TOCSIN_MSG_RESUME, &none, sizeof(none), NULL, 0) < 0) {
        /* Without the frame the worker would skip every later job. */
        tocsin_error("worker %d: out of memory taking back its queued jobs; replacing it",
                     w->id);
        worker_gone(p, w);
        return;
    }
    w->jobs_count = 1;
    tocsin_debug("worker %d: took back %u job(s) queued behind a job running for %g s",
                 w->id, n - 1, (double)p->take_back_us / 1e6);
    for (k = 1; k < n; k++) {
        const struct tocsin_job *j = &w->jobs[(w->jobs_head + k) % w->jobs_cap];

        p->ev.lost(p->ev.ud, j->svc, j->seq, 1, TOCSIN_UNKNOWN, "");
    }
}

int64_t tocsin_pool_enforce(struct tocsin_pool *p, int64_t now)
{
    int64_t next = INT64_MAX;
    int i;

    for (i = 0; i < p->nworkers; i++) {
        struct tocsin_worker *w = &p->workers[i];
        uint32_t seq, k;
        int64_t started, limit = -1;

        if (w->pid <= 0 && w->fd < 0 && w->respawn_at) {
            /* A replacement failed to start (fork or socketpair): retry. */
            if (now >= w->respawn_at) {
                w->respawn_at = 0;
                if (spawn_worker(p, w) < 0)
                    w->respawn_at = now + 1000000;
            }
            if (w->respawn_at && w->respawn_at < next)
                next = w->respawn_at;
            continue;
        }
        if (w->pid <= 0 || w->killed_for_timeout ||
            !__atomic_load_n(&w->slot->busy, __ATOMIC_ACQUIRE))
            continue;
        seq = __atomic_load_n(&w->slot->seq, __ATOMIC_RELAXED);
        started = __atomic_load_n(&w->slot->started_us, __ATOMIC_RELAXED);
        if (w->kind == TOCSIN_WORKER_CHECK && w->jobs_count > 1 &&
            w->jobs[w->jobs_head].seq == seq) {
            if (now - started >= p->take_back_us)
                take_back(p, w, seq);
            else if (started + p->take_back_us < next)
                next = started + p->take_back_us;
        }
        for (k = 0; k < w->jobs_count; k++) {
            const struct tocsin_job *j = &w->jobs[(w->jobs_head + k) % w->jobs_cap];

            if (j->seq == seq) {
                limit = started + job_timeout(p, w, j->svc) + GRACE_US;
                break;
            }
        }
        if (limit < 0)
            continue;
        if (now >= limit) {
            tocsin_warn("worker %d (pid %ld) overran a deadline in plugin %s; killing it",
                        w->id, (long)w->pid, job_plugin(p, w, w->jobs[w->jobs_head].svc));
            w->killed_for_timeout = 1;
            kill(w->pid, SIGKILL);
            /* Reaped through SIGCHLD, which also blames the job. */
        } else if (limit < next) {
            next = limit;
        }
    }
    return next;
}

uint32_t tocsin_pool_inflight(const struct tocsin_pool *p)
{
    uint32_t n = 0;
    int i;

    for (i = 0; i < p->ncheck; i++)
        n += p->workers[i].jobs_count;
    return n;
}

void tocsin_pool_stop(struct tocsin_pool *p)
{
    int i;

    if (!p->workers)
        return;
    for (i = 0; i < p->nworkers; i++) {
        struct tocsin_worker *w = &p->workers[i];

        if (w->fd >= 0) {
            epoll_ctl(p->epfd, EPOLL_CTL_DEL, w->fd, NULL);
            close(w->fd); /* a worker exits when its socket closes */
        }
        w->fd = -1;
    }
    for (i = 0; i < p->nworkers; i++) {
        struct tocsin_worker *w = &p->workers[i];

        if (w->pid > 0) {
            tocsin_debug("worker %d (pid %ld) stopped", w->id, (long)w->pid);
            kill(w->pid, SIGKILL);
            while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        kill_orphaned_command(w);
        w->pid = 0;
        tocsin_buf_free(&w->in);
        tocsin_buf_free(&w->out);
        free(w->jobs);
    }
    /* End what the workers' jobs left running (re-parented here when
     * the workers died), then collect the commands just killed. */
    (void)tocsin_reaper_end_children(is_worker, p, 0);
    {
        int64_t until = tocsin_mono_us() + 200000;

        for (;;) {
            pid_t r = waitpid(-1, NULL, WNOHANG);

            if (r < 0 && errno != EINTR)
                break; /* ECHILD: nothing left */
            if (r == 0) {
                if (tocsin_mono_us() >= until)
                    break;
                usleep(1000);
            }
        }
    }
    free(p->workers);
    p->workers = NULL;
    if (p->slots)
        munmap(p->slots, (size_t)p->nworkers * sizeof(struct tocsin_worker_slot));
    p->slots = NULL;
}

/* ================================================================== */
/* Validation of plugin setups, for tocsind -t                         */
/* ================================================================== */

static void validate_in_child(const struct tocsin_config *conf, int fd)
{
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    size_t i, total = conf->nservices + conf->nnotifiers;

    for (i = 0; i < total; i++) {
        const struct tocsin_instance_conf *ic = i < conf->nservices
            ? &conf->services[i].inst : &conf->notifiers[i - conf->nservices].inst;
        struct tocsin_buf err = TOCSIN_BUF_INIT;
        char reason[1024] = "";
        void *inst = NULL;
        cfg_t *cfg;

        if (!ic->plugin || !ic->plugin->setup)
            continue;
        /* A notifier that is not enabled is not used: it may still lack
         * its endpoint. */
        if (i >= conf->nservices && !conf->notifiers[i - conf->nservices].enabled &&
            (long)(i - conf->nservices) != conf->fallback_notifier)
            continue;
        cfg = tocsin_config_plugin_cfg(ic, &err);
        if (!cfg) {
            tocsin_buf_printf(&out, "%s:%d: %s '%s': %s\n", ic->file, ic->line,
                              i < conf->nservices ? "service" : "notifier", ic->name,
                              tocsin_buf_str(&err));
        } else if (ic->plugin->setup(cfg, &inst, reason, sizeof(reason)) != 0) {
            reason[sizeof(reason) - 1] = '\0';
            tocsin_buf_printf(&out, "%s:%d: %s '%s': %s\n", ic->file, ic->line,
                              i < conf->nservices ? "service" : "notifier", ic->name,
                              *reason ? reason : "rejected by its plugin");
        } else if (ic->plugin->teardown) {
            ic->plugin->teardown(inst);
        }
        if (cfg)
            cfg_free(cfg);
        tocsin_buf_free(&err);
        /* Send as we go, so that a crash keeps what was found. */
        if (out.len) {
            if (write(fd, out.data, out.len) < 0)
                _exit(1);
            tocsin_buf_reset(&out);
        }
    }
    _exit(0);
}

int tocsin_validate_setups(const struct tocsin_config *conf, struct tocsin_buf *errors)
{
    int fds[2], status = 0, count = 0;
    char chunk[4096];
    pid_t pid;
    size_t i, before = errors->len;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        validate_in_child(conf, fds[1]);
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        tocsin_buf_append(errors, chunk, (size_t)n);
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    for (i = before; i < errors->len; i++)
        if (errors->data[i] == '\n')
            count++;
    if (WIFSIGNALED(status)) {
        char name[32];

        tocsin_buf_printf(errors, "%s:1: a plugin crashed while checking its options: %s\n",
                          conf->path, tocsin_signal_name(WTERMSIG(status), name, sizeof(name)));
        count++;
    }
    return count;
}
