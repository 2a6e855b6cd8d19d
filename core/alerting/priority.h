/*
 * priority.h - the priority of an incident (P1..P4 by default) and the
 * targets it sets: acknowledged within respond_within, resolved within
 * resolve_within. See docs/internals/alerting.md, "Priorities".
 */
#ifndef TOCSIN_PRIORITY_H
#define TOCSIN_PRIORITY_H

#include <stddef.h>
#include <time.h>

#include "config/config.h"

/*
 * The priority of an incident of service `s` at `severity`, as an index
 * into conf->priorities (0 the most urgent), or -1 when the configuration
 * has none. The service's own `priority` wins; then the first
 * priority_rule that matches the severity, the labels and the name; else
 * the default: critical with label tier = production the first priority,
 * critical the second, error and warning the third, info the fourth (each
 * clamped to the last priority configured). O(rules x labels).
 */
long tocsin_priority_of(const struct tocsin_config *conf, const struct tocsin_service_conf *s,
                        enum tocsin_severity severity);

/* The name of priority `index`, "" for -1 (or out of range). */
const char *tocsin_priority_name(const struct tocsin_config *conf, long index);

/*
 * When the response target of an incident of priority `index`, told
 * first at `first_told`, is missed: first_told + respond_within, or 0
 * when there is no such target (no priority, no respond_within, nothing
 * told yet).
 */
time_t tocsin_priority_respond_due(const struct tocsin_config *conf, long index,
                                   time_t first_told);

/*
 * When the resolution target of an incident of priority `index` that
 * began at `problem_since` is missed for the (`missed` + 1)th time:
 * problem_since + (missed + 1) x resolve_within, or 0 when there is no
 * target. An incident open twice as long as its target has missed it
 * twice.
 */
time_t tocsin_priority_resolve_due(const struct tocsin_config *conf, long index,
                                   time_t problem_since, unsigned missed);

/* "2 h 05 min", "7 min 03 s", "12 s": how long an incident is open. */
void tocsin_priority_format_open(long long seconds, char *buf, size_t len);

#endif
