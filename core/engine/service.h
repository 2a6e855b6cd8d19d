/*
 * service.h - a service's state in the Nagios manner: soft and hard states
 * with attempts, and flap detection over the last 21 results.
 *
 * Pure functions on a small struct: the daemon applies each check result
 * with tocsin_svc_apply() and acts on what it reports (a hard change is
 * what later stages - logging, notifications - act on).
 */
#ifndef TOCSIN_SERVICE_H
#define TOCSIN_SERVICE_H

#include <stdint.h>

#include "tocsin-plugin.h"

#define TOCSIN_FLAP_HISTORY 21

struct tocsin_svc_state {
    enum tocsin_state state;      /* state of the last result */
    enum tocsin_state hard_state; /* last hard state */
    int is_hard;                  /* the current state is hard */
    int attempt;                  /* 1..max_attempts */
    int checked;                  /* at least one result applied */
    unsigned char history[TOCSIN_FLAP_HISTORY]; /* ring of recent states */
    unsigned char hist_count;     /* entries used */
    unsigned char hist_next;      /* where the next one goes */
    int flapping;
    double flap_percent;          /* weighted % of state changes */
    int64_t problem_since_ms;     /* wall ms of the first non-OK result of
                                     the current problem; 0 while OK */
};

/* What one result did. */
struct tocsin_svc_change {
    int first;                    /* this was the first result */
    int state_changed;            /* differs from the previous result */
    int hard_change;              /* the hard state changed */
    enum tocsin_state old_hard;   /* hard state before (valid if hard_change) */
    int soft_problem;             /* now in a soft non-OK state */
    int soft_recovery;            /* back to OK from a soft problem */
    int flap_started;
    int flap_stopped;
    int flap_disabled;            /* with flap_stopped: flap detection was
                                     turned off, not a lower percentage */
    int use_retry;                /* check again at retry_interval */
};

struct tocsin_flap_conf {
    int enabled;
    double low;                   /* stop flapping below this % */
    double high;                  /* start flapping at or above this % */
};

/* A service before its first result: OK, hard, attempt 1. */
void tocsin_svc_init(struct tocsin_svc_state *st);

/* Apply one result: a problem becomes hard at its max_attempts-th result. */
void tocsin_svc_apply(struct tocsin_svc_state *st, enum tocsin_state result,
                      int max_attempts, const struct tocsin_flap_conf *flap,
                      struct tocsin_svc_change *change);

/*
 * Apply one result that came at wall-clock `now_ms`. With `hard_after_ms`
 * > 0 a problem becomes hard at its first result `hard_after_ms` or more
 * after its first non-OK result (st->problem_since_ms), however many
 * results that took, and `max_attempts` is not used; attempts still
 * count. A problem_since_ms of 0 (a state saved before it was kept) or
 * in the future (the clock was set back) starts the count at `now_ms`.
 */
void tocsin_svc_apply_timed(struct tocsin_svc_state *st, enum tocsin_state result,
                            int max_attempts, int64_t hard_after_ms, int64_t now_ms,
                            const struct tocsin_flap_conf *flap,
                            struct tocsin_svc_change *change);

/* When the soft problem of `st` becomes hard under `hard_after_ms`, in
 * wall ms: what the next check should not come later than. -1 when `st`
 * is not a soft problem or hard_after_ms is 0. */
int64_t tocsin_svc_hard_due_ms(const struct tocsin_svc_state *st, int64_t hard_after_ms);

/* Weighted percent state change over `n` states, oldest first: each change
 * weighs from 0.75 (oldest) to 1.25 (newest), the sum is taken over the 20
 * possible transitions of a full 21-entry history. */
double tocsin_flap_percent(const unsigned char *states, int n);

#endif
