/*
 * svc-view.h - what the stages after a check need to know of a service's
 * current state: its last result, its hard state and attempts, flapping.
 * The daemon keeps one per service up to date; groups (engine/group.h)
 * and alerting (alerting/alerting.h) read them and never write them.
 */
#ifndef TOCSIN_SVC_VIEW_H
#define TOCSIN_SVC_VIEW_H

#include <time.h>

#include "tocsin-plugin.h"

/* One service's current state. */
struct tocsin_svc_view {
    enum tocsin_state state;        /* last result */
    enum tocsin_state hard_state;
    int is_hard;
    int attempt;
    int flapping;
    int checked;                    /* has a result */
    time_t last_change;             /* wall clock of the last hard change */
    time_t last_check;              /* wall clock of the last result */
    char *output;                   /* last Nagios output (owned by the daemon) */
};

#endif
