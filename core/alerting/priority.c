/*
 * priority.c - the priority an incident is given and when its targets
 * are missed. See priority.h.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "alerting/priority.h"
#include "base/labels.h"

/* 1 when rule `r` takes an incident of `severity` about `s`. */
static int rule_matches(const struct tocsin_priority_rule *r,
                        const struct tocsin_service_conf *s, enum tocsin_severity severity)
{
    size_t i;

    if (r->severities && !(r->severities & (1u << severity)))
        return 0;
    if (!tocsin_labels_match(s->labels, s->nlabels, r->match, r->nmatch))
        return 0;
    if (!r->nservices)
        return 1;
    for (i = 0; i < r->nservices; i++)
        if (fnmatch(r->services[i], s->inst.name, 0) == 0)
            return 1;
    return 0;
}

long tocsin_priority_of(const struct tocsin_config *conf, const struct tocsin_service_conf *s,
                        enum tocsin_severity severity)
{
    long rank;
    size_t i;

    if (!conf->npriorities)
        return -1;
    if (s->priority_index >= 0 && (size_t)s->priority_index < conf->npriorities)
        return s->priority_index;
    for (i = 0; i < conf->npriority_rules; i++)
        if (conf->priority_rules[i].priority_index >= 0 &&
            rule_matches(&conf->priority_rules[i], s, severity))
            return conf->priority_rules[i].priority_index;
    switch (severity) {
    case TOCSIN_SEVERITY_CRITICAL:
        rank = tocsin_labels_has(s->labels, s->nlabels, "tier", 4, "production") ? 0 : 1;
        break;
    case TOCSIN_SEVERITY_ERROR:
    case TOCSIN_SEVERITY_WARNING:
        rank = 2;
        break;
    default:
        rank = 3;
        break;
    }
    return rank < (long)conf->npriorities ? rank : (long)conf->npriorities - 1;
}

const char *tocsin_priority_name(const struct tocsin_config *conf, long index)
{
    if (index < 0 || (size_t)index >= conf->npriorities)
        return "";
    return conf->priorities[index].name;
}

time_t tocsin_priority_respond_due(const struct tocsin_config *conf, long index,
                                   time_t first_told)
{
    int64_t ms;

    if (index < 0 || (size_t)index >= conf->npriorities || !first_told)
        return 0;
    ms = conf->priorities[index].respond_within_ms;
    return ms > 0 ? first_told + (time_t)((ms + 999) / 1000) : 0;
}

time_t tocsin_priority_resolve_due(const struct tocsin_config *conf, long index,
                                   time_t problem_since, unsigned missed)
{
    int64_t ms;

    if (index < 0 || (size_t)index >= conf->npriorities)
        return 0;
    ms = conf->priorities[index].resolve_within_ms;
    if (ms <= 0)
        return 0;
    return problem_since + (time_t)(((int64_t)missed + 1) * ((ms + 999) / 1000));
}

void tocsin_priority_format_open(long long seconds, char *buf, size_t len)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds >= 3600)
        snprintf(buf, len, "%lld h %02lld min", seconds / 3600, seconds % 3600 / 60);
    else if (seconds >= 60)
        snprintf(buf, len, "%lld min %02lld s", seconds / 60, seconds % 60);
    else
        snprintf(buf, len, "%lld s", seconds);
}
