/*
 * tocsind.h - the daemon's own state, shared by the files of tocsind and
 * by nothing else:
 *   tocsind.c         options, start-up and shutdown
 *   tocsind-loop.c    the event loop: epoll, timers, results, workers
 *   tocsind-state.c   each service's state: the one record of it, saved
 *                     and restored across restarts
 *   tocsind-reload.c  a new configuration while running
 */
#ifndef TOCSIN_TOCSIND_H
#define TOCSIN_TOCSIND_H

#include <stddef.h>
#include <stdint.h>

#include "alerting/alerting.h"
#include "alerting/metric-history.h"
#include "alerting/store.h"
#include "base/hist.h"
#include "base/sdnotify.h"
#include "config/config.h"
#include "config/registry.h"
#include "engine/scheduler.h"
#include "engine/service.h"
#include "engine/svc-view.h"
#include "engine/worker.h"
#include "lib/buf.h"
#include "serve/control.h"
#include "serve/httpd.h"
#include "serve/status.h"

/* epoll tags of the daemon's own fds; workers and the control socket tag
 * theirs with TOCSIN_POOL_TAG and TOCSIN_CONTROL_TAG. */
#define TOCSIN_DAEMON_SIGNAL_TAG 1
#define TOCSIN_DAEMON_HTTPD_TAG 2

/*
 * What the daemon keeps of a service besides its view. The view
 * (struct tocsin_svc_view, one per service in tocsin_daemon.views) is the
 * one record of a service's state - last result, hard state, attempt,
 * flapping, times, output - that the daemon writes and groups, alerting
 * and status read; this holds only what nothing else reads.
 */
struct tocsin_daemon_svc {
    int64_t due;                /* the slot the current/last run was due at */
    int64_t phase;              /* slot the next regular run is derived from */
    uint32_t seq;               /* job in flight, 0 when none */
    int forced;                 /* run now, even outside check_period */
    /* Flap detection's ring of recent states (struct tocsin_svc_state's
     * fields of the same names); all zero before the first result. */
    unsigned char history[TOCSIN_FLAP_HISTORY];
    unsigned char hist_count;
    unsigned char hist_next;
    double flap_percent;
    int64_t problem_since_ms;   /* struct tocsin_svc_state's: wall ms the
                                   current problem was first seen, or 0 */
    int64_t heard_ms;           /* passive: wall ms of the last submitted
                                   result (or of the start); 0: not yet set */
};

/* A submitted result waiting for the loop's next turn (HTTP, control). */
struct tocsin_daemon_submitted {
    char *service;              /* by name: a reload may move indices */
    int state;
    char *output;
};

struct tocsin_daemon {
    struct tocsin_config *conf;
    struct tocsin_registry reg;
    struct tocsin_pool pool;
    struct tocsin_sched sched;
    struct tocsin_svc_view *views;  /* per service: its state (see above) */
    struct tocsin_daemon_svc *svcs; /* per service: schedule, flap ring */
    uint64_t *svc_hash;             /* per service: tocsin_config_service_hash */
    unsigned char *svc_unsaved;     /* per service: its state is not saved yet
                                       (the store failed, or alerting has
                                       changes it could not save before it) */
    size_t nunsaved;                /* services flagged in svc_unsaved */
    int64_t save_retry_ms;          /* wall ms: try them again from then */
    struct tocsin_store *store;
    struct tocsin_alerting *alerting;
    struct tocsin_mhist *mhist;     /* metric history; NULL without a store
                                       or with history_keep = 0 */
    int64_t mhist_next_ms;          /* wall ms of its next flush */
    struct tocsin_status status;    /* what the control socket and HTTP show */
    struct tocsin_control *control;
    struct tocsin_httpd *httpd;     /* NULL when disabled */
    struct tocsin_sdnotify sdnotify; /* the service manager, when it listens */
    const char *conf_path;
    int nworkers;                   /* check workers to run */
    int lock_fd;
    int epfd;
    int sigfd;
    uint32_t next_seq;
    int stopping;
    uint64_t checks;                /* results since the last stats report */
    uint64_t checks_total;
    int64_t stats_since;
    struct tocsin_histogram lateness; /* since the last stats report; the
                                         status keeps the one since the start */
    struct tocsin_daemon_submitted *submitted; /* results from outside, in order */
    size_t nsubmitted, submitted_cap;
};

/* tocsind.c */

/* Log each line of `text` at `level`. */
void tocsin_daemon_log_lines(int level, const char *text);

/*
 * Read every environment variable named by an option ending in `_env` (a
 * string, or a list of VARIABLE or NAME=VARIABLE entries) of `conf`'s
 * services and notifiers once, through tocsin_secret(): the values stay in
 * this process (and the workers forked from it) and the variables leave
 * its environment, before any worker or command starts. Variables that
 * are not set are left for the plugins' setups to report. O(options).
 */
void tocsin_daemon_take_secrets(const struct tocsin_config *conf);

/* tocsind-loop.c */

/* The callbacks of the worker pool, of alerting and of the control socket
 * and status, all calling back into `d`. */
void tocsin_daemon_pool_events(struct tocsin_daemon *d, struct tocsin_pool_events *ev);
void tocsin_daemon_alerting_hooks(struct tocsin_daemon *d, struct tocsin_alerting_hooks *hooks);
void tocsin_daemon_control_ops(struct tocsin_daemon *d, struct tocsin_control_ops *ops);
void tocsin_daemon_httpd_ops(struct tocsin_daemon *d, struct tocsin_httpd_ops *ops);

/* Drop the submitted results not applied yet (at shutdown). */
void tocsin_daemon_submitted_free(struct tocsin_daemon *d);
void tocsin_daemon_status_hooks(struct tocsin_daemon *d);

/* When service `i` (with `at`) runs next after `now` (monotonic us): its
 * next listed local time inside its check_period, or a day from now
 * (warned) when none comes within a year. */
int64_t tocsin_daemon_at_due(struct tocsin_daemon *d, size_t i, int64_t now);

/* Schedule service `i`'s first run after a start or a reload. */
void tocsin_daemon_schedule_first(struct tocsin_daemon *d, size_t i, int64_t now);

/* Log the figures since the last report (`why` names the occasion), then
 * start a new period. */
void tocsin_daemon_report_stats(struct tocsin_daemon *d, const char *why);

/* Run until SIGTERM or SIGINT. Returns 0, or -1 when epoll failed. */
int tocsin_daemon_run(struct tocsin_daemon *d);

/* tocsind-state.c */

/* Service `svc`'s state machine as its view and flap ring hold it, and
 * back: what tocsin_svc_apply() works on. */
void tocsin_daemon_state_get(const struct tocsin_daemon *d, uint32_t svc,
                             struct tocsin_svc_state *st);
void tocsin_daemon_state_put(struct tocsin_daemon *d, uint32_t svc,
                             const struct tocsin_svc_state *st);

/* (Re)compute d->svc_hash for d->conf. Returns 0, or -1 out of memory
 * (d->svc_hash is then NULL). */
int tocsin_daemon_hash_services(struct tocsin_daemon *d);

/* Save service `svc`'s state in the store; restore every service's saved
 * state whose definition has not changed since. */
void tocsin_daemon_save_service(struct tocsin_daemon *d, uint32_t svc);
void tocsin_daemon_restore_services(struct tocsin_daemon *d);

/* The retention of the metric history, from the configuration (the
 * minute rows are kept an hour at least, for the hourly rollup). */
void tocsin_daemon_mhist_conf(const struct tocsin_config *conf, struct tocsin_mhist_conf *out);

/* Save the states not saved yet (see svc_unsaved), once alerting has saved
 * its own changes and at most every few seconds while the store fails. */
void tocsin_daemon_save_unsaved(struct tocsin_daemon *d, int64_t wall_ms);

/* tocsind-reload.c */

/* Re-read the configuration (SIGHUP, tocsinctl reload; `ud` is the
 * daemon). Returns 0, with a line in `notes` (and the log) for each change
 * that waits for a restart and each warning; or -1 with the reasons
 * appended to `errors`. Counters keep counting across it. */
int tocsin_daemon_reload(void *ud, struct tocsin_buf *errors, struct tocsin_buf *notes);

/* Resolve, with `why` as the alerts' output, the open incident of each
 * service whose state starts afresh (no result since its check was
 * redefined). */
void tocsin_daemon_resolve_redefined(struct tocsin_daemon *d, const char *why);

#endif
