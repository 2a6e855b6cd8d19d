/*
 * route.c - choosing notifiers for an alert. See route.h.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "alerting/route.h"
#include "base/labels.h"
#include "config/timeperiod.h"

enum tocsin_severity tocsin_route_severity(const struct tocsin_service_conf *s,
                                           enum tocsin_state state)
{
    if ((int)state < 0 || state > TOCSIN_UNKNOWN)
        state = TOCSIN_UNKNOWN;
    return s->severity[state];
}

int tocsin_route_matches(const struct tocsin_route_conf *r,
                         const struct tocsin_service_conf *s,
                         enum tocsin_severity severity)
{
    size_t i;

    if (r->severities && !(r->severities & (1u << severity)))
        return 0;
    if (!tocsin_labels_match(s->labels, s->nlabels, r->match, r->nmatch))
        return 0;
    if (r->nservices) {
        for (i = 0; i < r->nservices; i++)
            if (fnmatch(r->services[i], s->inst.name, 0) == 0)
                break;
        if (i == r->nservices)
            return 0;
    }
    return 1;
}

int tocsin_route_inside(const struct tocsin_config *conf,
                        const struct tocsin_route_conf *r, time_t t)
{
    if (r->period_index < 0)
        return 1;
    return tocsin_timeperiod_contains(conf->periods, conf->nperiods,
                                      (size_t)r->period_index, t);
}

time_t tocsin_route_defer_until(const struct tocsin_config *conf,
                                const struct tocsin_route_conf *r, time_t t)
{
    time_t open;

    if (r->defer_index < 0)
        return 0;
    open = tocsin_timeperiod_next_open(conf->periods, conf->nperiods, (size_t)r->defer_index, t,
                                       TOCSIN_DEFER_HORIZON_DAYS);
    return open == t ? 0 : open;
}

/* Append notifier `n` chosen by route `route` unless it is there already. */
static int choose(struct tocsin_route_choice *c, uint32_t n, uint32_t route, size_t cap)
{
    size_t i;

    for (i = 0; i < c->count; i++)
        if (c->notifiers[i] == n)
            return 0;
    if (c->count >= cap)
        return -1;
    c->notifiers[c->count] = n;
    c->route_of[c->count] = route;
    c->count++;
    return 0;
}

int tocsin_route_select(const struct tocsin_config *conf, uint32_t svc,
                        enum tocsin_severity severity, time_t t,
                        struct tocsin_route_choice *choice)
{
    const struct tocsin_service_conf *s = &conf->services[svc];
    size_t i, k, cap = conf->nnotifiers ? conf->nnotifiers : 1;

    memset(choice, 0, sizeof(*choice));
    choice->first_route = -1;
    choice->notifiers = calloc(cap, sizeof(uint32_t));
    choice->route_of = calloc(cap, sizeof(uint32_t));
    if (!choice->notifiers || !choice->route_of) {
        tocsin_route_choice_free(choice);
        return -1;
    }
    for (i = 0; i < conf->nroutes; i++) {
        const struct tocsin_route_conf *r = &conf->routes[i];
        const uint32_t *list;
        size_t n;

        if (!tocsin_route_matches(r, s, severity))
            continue;
        if (choice->first_route < 0)
            choice->first_route = (long)i;
        if (tocsin_route_inside(conf, r, t)) {
            list = r->during;
            n = r->nduring;
        } else {
            list = r->outside;
            n = r->noutside;
        }
        for (k = 0; k < n; k++)
            choose(choice, list[k], (uint32_t)i, cap);
        if (!r->cont)
            break;
    }
    return 0;
}

void tocsin_route_choice_free(struct tocsin_route_choice *choice)
{
    free(choice->notifiers);
    free(choice->route_of);
    choice->notifiers = choice->route_of = NULL;
    choice->count = 0;
}
