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

/* Apply one result. */
void tocsin_svc_apply(struct tocsin_svc_state *st, enum tocsin_state result,
                      int max_attempts, const struct tocsin_flap_conf *flap,
                      struct tocsin_svc_change *change);

/* Weighted percent state change over `n` states, oldest first: each change
 * weighs from 0.75 (oldest) to 1.25 (newest), the sum is taken over the 20
 * possible transitions of a full 21-entry history. */
double tocsin_flap_percent(const unsigned char *states, int n);

#endif
