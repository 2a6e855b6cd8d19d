/*
 * group.h - a group rolls the hard states of its members up into one
 * state, so that an outage of a cluster reads as one alert.
 */
#ifndef TOCSIN_GROUP_H
#define TOCSIN_GROUP_H

#include "lib/buf.h"
#include "config/config.h"
#include "engine/svc-view.h"

/*
 * The state of group `g` from its members' hard states: the worst of them,
 * or in counting mode CRITICAL when at least critical_at members are
 * CRITICAL and WARNING when at least warning_at are not OK (each a number
 * or a percentage of the members; a count is reached by one member at
 * least, so 0 and 0% mean "any"). Members without a result yet count as
 * OK. Appends the group's output to `out`: a summary and the members that
 * are not OK with the first line of their output, cut at 200 bytes on a
 * character boundary ("2 of 3 members not OK: db1 CRITICAL: refused; db2
 * UNKNOWN") and a perfdata item per state count. O(members).
 */
enum tocsin_state tocsin_group_eval(const struct tocsin_config *conf, uint32_t g,
                                    const struct tocsin_svc_view *views,
                                    struct tocsin_buf *out);

#endif
