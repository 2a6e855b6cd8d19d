/*
 * route.h - which notifiers hear of an alert: routes are tried in order,
 * the first that matches the alert's severity, the service's labels and
 * name wins (unless it says to continue), and gives the notifiers for the
 * time of day: those for inside its period, or those for outside it.
 */
#ifndef TOCSIN_ROUTE_H
#define TOCSIN_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"

/* The outcome of routing one alert. */
struct tocsin_route_choice {
    long first_route;             /* the first route that matched, or -1 */
    uint32_t *notifiers;          /* chosen notifiers, each once, in route order */
    uint32_t *route_of;           /* for each: the route that chose it */
    size_t count;
};

/* 1 when route `r` takes an alert of `severity` about service `s`. */
int tocsin_route_matches(const struct tocsin_route_conf *r,
                         const struct tocsin_service_conf *s,
                         enum tocsin_severity severity);

/* 1 when route `r` is inside its period at `t` (always, without one). */
int tocsin_route_inside(const struct tocsin_config *conf,
                        const struct tocsin_route_conf *r, time_t t);

/* How far ahead a closed defer period is looked at for its opening. */
#define TOCSIN_DEFER_HORIZON_DAYS 35

/*
 * When a problem that route `r` takes at `t` may go out: 0 at once (the
 * route has no `defer`, or its defer period holds at `t`), else the
 * instant that period next opens; -1 when it does not open within
 * TOCSIN_DEFER_HORIZON_DAYS. Cost: one period evaluation per minute until
 * the opening (about 3,800 across a weekend).
 */
time_t tocsin_route_defer_until(const struct tocsin_config *conf,
                                const struct tocsin_route_conf *r, time_t t);

/* Route an alert of `severity` about service `svc` at time `t` into
 * *choice (freed with tocsin_route_choice_free). Returns 0, or -1 when
 * memory ran out. O(routes x labels). */
int tocsin_route_select(const struct tocsin_config *conf, uint32_t svc,
                        enum tocsin_severity severity, time_t t,
                        struct tocsin_route_choice *choice);

void tocsin_route_choice_free(struct tocsin_route_choice *choice);

/* The severity service `s` gives hard state `state`. */
enum tocsin_severity tocsin_route_severity(const struct tocsin_service_conf *s,
                                           enum tocsin_state state);

#endif
