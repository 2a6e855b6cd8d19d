/*
 * worker.h - the processes that run plugin code, and the pool the core
 * keeps of them.
 *
 * The core never calls a plugin function. It forks check workers and one
 * notifier worker after the configuration is loaded (they inherit it and the
 * loaded plugins), sends them jobs over a socketpair and reads results back.
 * Each worker publishes the job it is running in a shared memory slot, so
 * that when a worker dies or overruns its deadline the core knows exactly
 * which check to blame: that one gets an UNKNOWN (or its timeout state),
 * every other job the worker held is sent again elsewhere, and a new worker
 * takes the dead one's place.
 */
#ifndef TOCSIN_WORKER_H
#define TOCSIN_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/buf.h"
#include "config/config.h"
#include "engine/proto.h"

enum tocsin_worker_kind {
    TOCSIN_WORKER_CHECK = 0,
    TOCSIN_WORKER_NOTIFY = 1
};

/* What a worker publishes about its current job (shared memory). */
struct tocsin_worker_slot {
    volatile uint32_t busy;        /* 1 while a job runs */
    volatile uint32_t seq;         /* that job's number */
    volatile int64_t started_us;   /* when it started (monotonic) */
    volatile int32_t child_pgid;   /* process group of a command it runs, or 0 */
    /* The last job the worker claimed (its seq), or'ed with
     * TOCSIN_CLAIM_CLOSED once the core has taken back the jobs queued
     * behind it. The worker claims a job by compare-and-swap before it
     * starts it, so a job is either run there or taken back, never both. */
    volatile uint64_t claim;
};

/* In tocsin_worker_slot.claim: start nothing until the next RESUME frame. */
#define TOCSIN_CLAIM_CLOSED (1ULL << 32)

struct tocsin_job {
    uint32_t svc;                  /* service (or notifier) index */
    uint32_t seq;
};

struct tocsin_worker {
    enum tocsin_worker_kind kind;
    int id;                        /* index in the pool */
    pid_t pid;                     /* 0 while not running */
    int fd;                        /* core's end of the socketpair, or -1 */
    struct tocsin_buf in;          /* bytes read, not yet a whole frame */
    struct tocsin_buf out;         /* frames not yet written */
    struct tocsin_job *jobs;       /* ring of jobs in flight, oldest first */
    uint32_t jobs_head, jobs_count, jobs_cap;
    int killed_for_timeout;        /* the core killed it: the job overran */
    int want_write;                /* EPOLLOUT is registered */
    struct tocsin_worker_slot *slot;
    int64_t respawn_at;            /* when to try again after a failed start */
};

/* Callbacks into the daemon. */
struct tocsin_pool_events {
    /* A check finished; `output` (len bytes) is its Nagios output. */
    void (*result)(void *ud, const struct tocsin_result_msg *r,
                   const char *output, size_t len);
    /* A check produced no result. If `requeue`, run it again (its worker
     * died for another check's sake); else record `state` and `why`. */
    void (*lost)(void *ud, uint32_t svc, uint32_t seq, int requeue,
                 enum tocsin_state state, const char *why);
    /* A notifier answered, or was lost (outcome RETRY with a reason). */
    void (*delivery)(void *ud, uint32_t notifier, uint32_t seq,
                     enum tocsin_delivery outcome, int64_t retry_after,
                     const char *why);
    void *ud;
};

struct tocsin_pool {
    const struct tocsin_config *conf;
    struct tocsin_worker *workers; /* check workers, then the notifier worker */
    int ncheck;
    int nworkers;
    int epfd;                      /* the daemon's epoll; worker fds join it */
    struct tocsin_worker_slot *slots; /* shared mapping, one slot per worker */
    struct tocsin_pool_events ev;
    uint32_t max_inflight;         /* jobs queued per worker at most */
    int64_t take_back_us;          /* jobs queued behind a job running this
                                      long are taken back and run elsewhere */
    uint64_t restarts;             /* workers replaced after a death */
    int stopping;                  /* set when the daemon stops: a worker
                                      that ends then is not replaced */
    pid_t core_pid;
};

/* Tag of worker fds in epoll_event.data.u64: TOCSIN_POOL_TAG | index. */
#define TOCSIN_POOL_TAG (1ULL << 40)

/* Start `ncheck` check workers and a worker for each notifier that is
 * enabled (or is the fallback), so that a slow notifier holds up no other.
 * Returns 0 or -1. */
int tocsin_pool_start(struct tocsin_pool *p, const struct tocsin_config *conf,
                      int ncheck, int epfd, const struct tocsin_pool_events *ev);

/* Queue a check of service `svc` on a worker that starts it now (an idle
 * one) or soon: the least loaded worker whose running job started less
 * than take_back_us ago. Returns 0; -1 when no worker can (every one is
 * full, or running a long job: the check waits in the core, in due
 * order, until a result comes in); -2 when the one worker this service
 * must run in (a stateful plugin) is full or being replaced (try this
 * service again a little later). */
int tocsin_pool_submit(struct tocsin_pool *p, uint32_t svc, uint32_t seq);

/* Queue a message of `count` alerts (encoded one after the other by
 * tocsin_alert_encode, `len` bytes) for notifier `notifier`, which runs in
 * its own worker. Returns 0, or -1 when it cannot be queued. */
int tocsin_pool_alert(struct tocsin_pool *p, uint32_t notifier, uint32_t seq,
                      const void *alerts, size_t len, uint32_t count);

/* Messages handed to notifier `notifier` and not answered yet. */
uint32_t tocsin_pool_notifier_inflight(const struct tocsin_pool *p, uint32_t notifier);

/* Write what is queued (call after a round of submits). */
void tocsin_pool_flush(struct tocsin_pool *p);

/* A worker fd is ready (events from epoll). */
void tocsin_pool_ready(struct tocsin_pool *p, int index, uint32_t events);

/* Reap exited children (on SIGCHLD): workers are replaced, orphans that
 * were adopted are collected. */
void tocsin_pool_reap(struct tocsin_pool *p);

/* Kill workers whose running job is past its deadline plus a grace
 * period, and take back the jobs queued behind a job that has run
 * take_back_us or more: each is handed to the `lost` callback to be run
 * again (requeue), since no worker will start it. Returns the next time
 * (monotonic us) this needs calling, or INT64_MAX. */
int64_t tocsin_pool_enforce(struct tocsin_pool *p, int64_t now);

/* Jobs in flight over all check workers. */
uint32_t tocsin_pool_inflight(const struct tocsin_pool *p);

/* Stop every worker and free the pool. */
void tocsin_pool_stop(struct tocsin_pool *p);

/* Run setup() for every service and notifier in a child process and append
 * each refusal as "FILE:LINE: message\n" to `errors`. Returns the number
 * of refusals, or -1 if the child could not run. */
int tocsin_validate_setups(const struct tocsin_config *conf, struct tocsin_buf *errors);

#endif
