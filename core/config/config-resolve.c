/*
 * config-resolve.c - references between sections, resolved once every file
 * is read: dependencies (and their cycles), group members by name and by
 * labels, a route's notifiers and period, scheduled downtimes, the
 * fallback notifier. A dangling name is reported where it was written.
 */
#include "config/config.h"
#include "config/config-internal.h"
#include "config/timeperiod.h"

#include <stdlib.h>
#include <string.h>

#include "base/labels.h"

/* ------------------------------------------------------------------ */
/* References between sections                                        */
/* ------------------------------------------------------------------ */

/* Resolve notifier names into indices; unknown ones are reported. */
static int resolve_notifiers(struct tocsin_config *conf, char **names, size_t n,
                             uint32_t **out, const char *file, int line, const char *owner)
{
    size_t i;
    int errors = 0;

    if (!n)
        return 0;
    *out = calloc(n, sizeof(**out));
    if (!*out) {
        tocsin_conf_error(file, line, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        long k = tocsin_config_find_notifier(conf, names[i]);

        if (k < 0) {
            tocsin_conf_error(file, line, "%s: no notifier named '%s'", owner, names[i]);
            errors++;
            continue;
        }
        (*out)[i] = (uint32_t)k;
    }
    return errors ? -1 : 0;
}

static int push_u32(uint32_t **arr, size_t *n, uint32_t v)
{
    uint32_t *p = realloc(*arr, (*n + 1) * sizeof(*p));

    if (!p)
        return -1;
    p[(*n)++] = v;
    *arr = p;
    return 0;
}

/* A parent that could not be resolved (already reported): no edge. */
#define NO_PARENT UINT32_MAX

/* Depth-first search for a dependency cycle reachable from service `i`.
 * Returns 1 with *in_cycle set to a service of the cycle (one reached
 * again while its own dependencies were being searched), or 0. */
static int depends_cycle(const struct tocsin_config *conf, size_t i, unsigned char *mark,
                         size_t *in_cycle)
{
    size_t k;

    if (mark[i] == 1) {
        *in_cycle = i;
        return 1;
    }
    if (mark[i] == 2)
        return 0;
    mark[i] = 1;
    for (k = 0; k < conf->services[i].ndepends; k++)
        if (conf->services[i].parents[k] != NO_PARENT &&
            depends_cycle(conf, conf->services[i].parents[k], mark, in_cycle))
            return 1;
    mark[i] = 2;
    return 0;
}

static long find_period(const struct tocsin_config *conf, const char *name)
{
    return tocsin_timeperiod_find(conf->periods, conf->nperiods, name);
}

/*
 * Turn the names one section uses for another into indices: dependencies,
 * group members, route notifiers and periods, scheduled downtimes, the
 * fallback notifier. Every dangling name is reported where it was written.
 */
void tocsin_conf_resolve(struct tocsin_config *conf, const char *fallback)
{
    unsigned char *mark = NULL;
    size_t i, k;

    conf->fallback_notifier = -1;
    {
        size_t before = tocsin_conf_parse->errors->len;

        if (tocsin_timeperiods_link(conf->periods, conf->nperiods, tocsin_conf_parse->errors) < 0 ||
            tocsin_conf_parse->errors->len != before)
            tocsin_conf_parse->nerrors++;
    }
    if (fallback && *fallback) {
        conf->fallback_notifier = tocsin_config_find_notifier(conf, fallback);
        if (conf->fallback_notifier < 0 && tocsin_conf_parse->fallback_line)
            tocsin_conf_error(conf->path, tocsin_conf_parse->fallback_line,
                              "fallback_notifier: no notifier "
                              "named '%s'",
                              fallback);
    }
    for (i = 0; i < conf->nservices; i++) {
        struct tocsin_service_conf *s = &conf->services[i];

        if (s->flap_detection < 0)
            s->flap_detection = conf->flap_detection;
        if (s->ndepends && !(s->parents = calloc(s->ndepends, sizeof(*s->parents))))
            goto oom;
        for (k = 0; k < s->ndepends; k++) {
            long p = tocsin_hashidx_find(&tocsin_conf_parse->service_names, s->depends[k]);

            if (p < 0) {
                tocsin_conf_error(s->inst.file, s->depends_line,
                                  "%s '%s': depends on unknown service '%s' (no service or "
                                  "group has that name)",
                                  s->is_group ? "group" : "service", s->inst.name, s->depends[k]);
                s->parents[k] = NO_PARENT;
                continue;
            }
            if ((size_t)p == i) {
                tocsin_conf_error(s->inst.file, s->depends_line, "%s '%s': depends on itself",
                                  s->is_group ? "group" : "service", s->inst.name);
                s->parents[k] = NO_PARENT;
                continue;
            }
            s->parents[k] = (uint32_t)p;
        }
        if (s->downtime_period) {
            s->downtime_period_index = (int)find_period(conf, s->downtime_period);
            if (s->downtime_period_index < 0)
                tocsin_conf_error(s->inst.file, s->downtime_period_line,
                                  "%s '%s': downtime_period: no time "
                                  "period named '%s'",
                                  s->is_group ? "group" : "service", s->inst.name,
                                  s->downtime_period);
        }
        if (s->check_period) {
            s->check_period_index = (int)find_period(conf, s->check_period);
            if (s->check_period_index < 0)
                tocsin_conf_error(s->inst.file, s->inst.line,
                                  "service '%s': check_period: no time period named '%s'",
                                  s->inst.name, s->check_period);
        }
        if (!s->is_group)
            continue;
        for (k = 0; k < s->nmember_names; k++) {
            long m = tocsin_hashidx_find(&tocsin_conf_parse->service_names, s->member_names[k]);

            if (m < 0 || (size_t)m == i || conf->services[m].is_group) {
                tocsin_conf_error(s->inst.file, s->members_line, "group '%s': member '%s' %s",
                                  s->inst.name, s->member_names[k],
                                  m < 0 ? "does not exist" : "is a group (groups hold services)");
                continue;
            }
            if (push_u32(&s->members, &s->nmembers, (uint32_t)m) < 0)
                goto oom;
        }
        if (s->nmember_labels)
            for (k = 0; k < conf->nservices; k++)
                if (!conf->services[k].is_group &&
                    tocsin_labels_match(conf->services[k].labels, conf->services[k].nlabels,
                                        s->member_labels, s->nmember_labels)) {
                    size_t j;

                    for (j = 0; j < s->nmembers && s->members[j] != k; j++)
                        ;
                    if (j == s->nmembers && push_u32(&s->members, &s->nmembers, (uint32_t)k) < 0)
                        goto oom;
                }
        if (!s->nmembers && (s->nmember_names || s->nmember_labels))
            tocsin_conf_error(s->inst.file, s->nmember_names ? s->members_line : s->inst.line,
                              "group '%s': no service matches its "
                              "members",
                              s->inst.name);
        for (k = 0; k < s->nmembers; k++)
            if (push_u32(&conf->services[s->members[k]].groups,
                         &conf->services[s->members[k]].ngroups, (uint32_t)i) < 0)
                goto oom;
    }
    if (conf->nservices) {
        mark = calloc(conf->nservices, 1);
        if (!mark)
            goto oom;
        for (i = 0; i < conf->nservices; i++) {
            size_t c = i;

            if (!mark[i] && depends_cycle(conf, i, mark, &c)) {
                tocsin_conf_error(conf->services[c].inst.file, conf->services[c].depends_line,
                                  "'%s' is part of a dependency cycle",
                                  conf->services[c].inst.name);
                break;
            }
        }
    }
    for (i = 0; i < conf->nroutes; i++) {
        struct tocsin_route_conf *r = &conf->routes[i];
        struct tocsin_buf owner = TOCSIN_BUF_INIT;

        tocsin_buf_printf(&owner, "route '%s'", r->name);
        resolve_notifiers(conf, r->during_names, r->nduring, &r->during, r->file, r->line,
                          tocsin_buf_str(&owner));
        resolve_notifiers(conf, r->outside_names, r->noutside, &r->outside, r->file, r->line,
                          tocsin_buf_str(&owner));
        for (k = 0; k < r->nescalations; k++)
            resolve_notifiers(conf, r->escalations[k].names, r->escalations[k].nnotifiers,
                              &r->escalations[k].notifiers, r->file, r->escalations[k].line,
                              tocsin_buf_str(&owner));
        if (r->period) {
            r->period_index = (int)find_period(conf, r->period);
            if (r->period_index < 0)
                tocsin_conf_error(r->file, r->line, "route '%s': no time period named '%s'",
                                  r->name, r->period);
        }
        if (r->defer) {
            r->defer_index = (int)find_period(conf, r->defer);
            if (r->defer_index < 0)
                tocsin_conf_error(r->file, r->defer_line,
                                  "route '%s': defer: no time period named '%s'", r->name,
                                  r->defer);
        }
        tocsin_buf_free(&owner);
    }
    tocsin_conf_resolve_priorities(conf);
    free(mark);
    return;
oom:
    free(mark);
    tocsin_conf_error(conf->path, 1, "out of memory");
}

