/*
 * alerting.h - from hard state changes to notifications: incidents,
 * suppression (flapping, downtime, acknowledgement, a failed parent),
 * routing, repeats, escalations, the durable outbox and its delivery
 * through the notifier workers, and the forwarding of every result to the
 * notifiers that take them.
 *
 * The daemon owns the services' states and tells this stage what changed;
 * this stage never reaches back into checks or the scheduler.
 */
#ifndef TOCSIN_ALERTING_H
#define TOCSIN_ALERTING_H

#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "alerting/store.h"
#include "engine/svc-view.h"

/* How alerting reaches the notifier workers. */
struct tocsin_alerting_hooks {
    /* Queue a message of `count` encoded alerts for `notifier`. 0 or -1. */
    int (*send)(void *ud, uint32_t notifier, uint32_t seq, const void *alerts,
                size_t len, uint32_t count);
    void *ud;
};

/* Where an incident's notifications to one notifier stand. */
#define TOCSIN_SENT_NONE 0          /* nothing has gone out to it yet */
#define TOCSIN_SENT_OUT 1           /* the problem went out, no outcome yet
                                       (in flight, or waiting for a retry) */
#define TOCSIN_SENT_SETTLED 2       /* the problem was delivered (or refused
                                       for good): later news may follow */

/* Per-service alerting state: the open incident and the service's
 * acknowledgement and downtime. */
struct tocsin_incident {
    char *key;                      /* "HOST/SERVICE/EPOCH" while open, else NULL */
    time_t problem_since;
    enum tocsin_state state;        /* the hard problem state last judged */
    long route;                     /* first route that matched, or -1 */
    uint32_t *told;                 /* notifiers told of this incident */
    unsigned char *sent;            /* per told notifier: TOCSIN_SENT_* below
                                       (SETTLED for incidents restored from
                                       the store) */
    size_t ntold;
    int pending;                    /* a problem not told yet (suppressed) */
    enum tocsin_state told_state;   /* the problem state last told (OK:
                                       none yet); while the service flaps a
                                       worse one is still told */
    time_t first_told;              /* when the problem was first told (0:
                                       not yet): escalations count from it */
    time_t next_repeat;             /* 0: none */
    size_t esc_next;                /* next escalation step of the route */
    int acked;
    char *ack_author, *ack_text;
    time_t downtime_until;          /* 0: none */
    long priority;                  /* index into conf->priorities, judged at
                                       each hard problem state; -1: none */
    time_t ack_at;                  /* when acknowledged (0: not, or not
                                       known: saved by an older tocsind) */
    char *assignee;                 /* whom the acknowledged problem is
                                       assigned to, or NULL */
    unsigned respond_breaches;      /* the response target was missed (0/1) */
    unsigned resolve_breaches;      /* times the resolution target was
                                       missed: once per resolve_within open */
    time_t last_since;              /* problem_since of the incident closed
                                       last: a new one's key differs */
    char *downtime_author, *downtime_text;
};

struct tocsin_alerting;

/* Make the alerting stage. `views` has one entry per service and is kept
 * up to date by the caller; `store` may be NULL (then nothing is queued
 * durably: tocsind -t and tests without a state directory). */
struct tocsin_alerting *tocsin_alerting_new(const struct tocsin_config *conf,
                                            struct tocsin_store *store,
                                            const struct tocsin_svc_view *views,
                                            const struct tocsin_alerting_hooks *hooks);
void tocsin_alerting_free(struct tocsin_alerting *a);

/* Restore incidents, acknowledgements and downtimes saved by an earlier
 * run, for services that still exist. Returns how many were restored. */
long tocsin_alerting_restore(struct tocsin_alerting *a);

/* Service `svc` changed hard state from `old` to its view's hard state. */
void tocsin_alerting_hard_change(struct tocsin_alerting *a, uint32_t svc,
                                 enum tocsin_state old, time_t now);

/*
 * End the open incident of `svc` without a result to say so, because the
 * check that opened it is no longer the service's (redefined or removed
 * by a reload, or redefined while tocsind was stopped): its recovery goes
 * to every notifier the problem went out to, with `why` as the alert's
 * output and reason, and the incident's saved state goes (a downtime
 * stays). Returns 1 when an incident was closed, 0 when none was open.
 * One store transaction, O(notifiers told).
 */
int tocsin_alerting_resolve(struct tocsin_alerting *a, uint32_t svc, const char *why,
                            time_t now);

/*
 * Service `svc` started (`started` 1) or stopped flapping, `why` saying
 * how ("started flapping (23.0% state change >= 20.0%)"): a flapping-start
 * or flapping-stop notification is routed as a warning about the service,
 * unless it is in downtime. One store transaction, O(routes x labels).
 */
void tocsin_alerting_flapping(struct tocsin_alerting *a, uint32_t svc, int started,
                              const char *why, time_t now);

/* Service `svc` has a new result: forward it to the notifiers that take
 * every result. */
void tocsin_alerting_result(struct tocsin_alerting *a, uint32_t svc, time_t now);

/* A notifier worker answered message `seq` (or lost it: RETRY). */
void tocsin_alerting_delivery(struct tocsin_alerting *a, uint32_t notifier, uint32_t seq,
                              enum tocsin_delivery outcome, int64_t retry_after,
                              const char *why);

/* Time-driven work: suppressions that ended, repeats, escalations, expired
 * downtimes, and handing due outbox items to free notifiers. Returns the
 * wall-clock ms when it wants to run again. */
int64_t tocsin_alerting_tick(struct tocsin_alerting *a, int64_t now_ms);

/* The wall-clock ms when tocsin_alerting_tick wants to run next: sooner
 * than the last tick said when something was queued or answered since. */
int64_t tocsin_alerting_next(const struct tocsin_alerting *a);

/* Acknowledge the open problem of `svc` until it recovers, assigned to
 * `assignee` (NULL or "": nobody); every notifier told hears it. An
 * acknowledged problem is only assigned again (to a non-empty
 * `assignee`), which the history keeps and later notifications carry.
 * Returns 0, or -1 with the reason in err (no problem open, already
 * acknowledged without a new assignee, the store fails). */
int tocsin_alerting_ack(struct tocsin_alerting *a, uint32_t svc, const char *author,
                        const char *text, const char *assignee, char *err, size_t errlen);

/* Withdraw the acknowledgement of `svc`'s problem: repeats and
 * escalations resume. Returns 0, or -1 with the reason in err. */
int tocsin_alerting_unack(struct tocsin_alerting *a, uint32_t svc, const char *author,
                          char *err, size_t errlen);

/* Put `svc` in downtime until `until` (0: end it now). */
int tocsin_alerting_downtime(struct tocsin_alerting *a, uint32_t svc, time_t until,
                             const char *author, const char *text);

/* The alerting state of `svc`. */
const struct tocsin_incident *tocsin_alerting_incident(const struct tocsin_alerting *a,
                                                       uint32_t svc);

/* Why a problem of `svc` would not be told now (into `why`), or 0 when it
 * would be. */
int tocsin_alerting_suppressed(const struct tocsin_alerting *a, uint32_t svc, time_t now,
                               struct tocsin_buf *why);

/* Counters for status and metrics. */
struct tocsin_alerting_stats {
    uint64_t queued;                /* notifications written to the outbox */
    uint64_t suppressed;            /* problems not told (at the time) */
    uint64_t *attempts;             /* per notifier: delivery attempts */
    uint64_t *failures;             /* per notifier: attempts not delivered */
    uint64_t *fallbacks;            /* per notifier: its deliveries that ended
                                       undelivered and went to the fallback */
    uint64_t forwarded;             /* results handed to forwarders */
    uint64_t forward_dropped;       /* results replaced before being sent */
    uint64_t respond_breaches;      /* response targets missed */
    uint64_t resolve_breaches;      /* resolution targets missed (each time) */
};
const struct tocsin_alerting_stats *tocsin_alerting_stats(const struct tocsin_alerting *a);

/* Take the counters of the stage a reload replaced, so that they never go
 * back (Prometheus counters): `from`'s attempts and failures are indexed
 * by `a`'s notifiers (0 for a new one), as are its fallbacks. O(notifiers). */
void tocsin_alerting_stats_carry(struct tocsin_alerting *a,
                                 const struct tocsin_alerting_stats *from);

/* Hard changes and delivery outcomes the store could not take yet (it
 * fails: a full disk): kept in memory, in order, and written when it takes
 * them again (see docs/internals/alerting.md). 0 normally. O(1). */
size_t tocsin_alerting_unsaved(const struct tocsin_alerting *a);

#endif
