/*
 * status.h - what the daemon shows of itself to the control socket and the
 * HTTP endpoint: read-only views of its configuration, services, alerting
 * and figures, valid in the daemon's single thread between two events.
 */
#ifndef TOCSIN_STATUS_H
#define TOCSIN_STATUS_H

#include <stdint.h>
#include <time.h>

#include "alerting/alerting.h"
#include "base/hist.h"
#include "config/config.h"
#include "alerting/store.h"

struct tocsin_status {
    const struct tocsin_config *conf;
    const struct tocsin_svc_view *views;     /* one per service */
    const struct tocsin_alerting *alerting;
    struct tocsin_store *store;              /* may be NULL */
    time_t started;                          /* wall clock */
    uint64_t checks_total;                   /* results applied */
    uint64_t worker_restarts;
    struct tocsin_histogram check_duration;  /* how long checks ran, since
                                                the start (base/hist.h) */
    struct tocsin_histogram lateness;        /* how late checks started,
                                                since the start */
    /* How far behind the scheduler is now: the age of the most overdue
     * check not yet handed to a worker (0 when none is overdue), in us. */
    int64_t (*overdue_us)(void *ud);
    /* Check workers running, out of *total. */
    int (*workers_up)(void *ud, int *total);
    void *ud;
};

#endif
