/*
 * threshold.c - a service's thresholds on its performance data.
 */
#include <stdio.h>
#include <string.h>

#include "lib/nagios.h"
#include "engine/threshold.h"

static const struct tocsin_perf *find_perf(const struct tocsin_output *o, const char *label)
{
    size_t i;

    for (i = 0; i < o->nperf; i++)
        if (strcmp(o->perf[i].label, label) == 0)
            return &o->perf[i];
    return NULL;
}

enum tocsin_state tocsin_threshold_hold(const struct tocsin_range *clear, double value,
                                        enum tocsin_state judged, enum tocsin_state previous)
{
    int better = (previous == TOCSIN_CRITICAL && judged != TOCSIN_CRITICAL) ||
                 (previous == TOCSIN_WARNING && judged == TOCSIN_OK);

    if (!clear->set || !better || !tocsin_range_alert(clear, value))
        return judged;
    return previous;
}

int tocsin_thresholds_apply(const struct tocsin_service_conf *s, enum tocsin_state *state,
                            const char *text, size_t len, struct tocsin_buf *out,
                            unsigned char *held)
{
    struct tocsin_output o;
    struct tocsin_buf why = TOCSIN_BUF_INIT;
    enum tocsin_state worst = *state;
    size_t i;
    int rc = 0;

    if (!s->nthresholds)
        return 0;
    if (tocsin_output_parse(text, len, &o) < 0)
        return 0;
    for (i = 0; i < s->nthresholds; i++) {
        const struct tocsin_perf_threshold *t = &s->thresholds[i];
        const struct tocsin_perf *p = find_perf(&o, t->label);
        enum tocsin_state st, judged;
        char range[128], value[64];

        if (!p || p->value_unknown) {
            tocsin_buf_printf(&why, "%sperfdata '%s' %s", why.len ? ", " : "", t->label,
                              p ? "has no value (U)" : "is missing");
            worst = tocsin_state_worst(worst, TOCSIN_UNKNOWN);
            continue;
        }
        judged = tocsin_thresholds_eval(&t->th, p->value);
        st = held ? tocsin_threshold_hold(&t->clear, p->value, judged,
                                          (enum tocsin_state)held[i]) : judged;
        if (held)
            held[i] = (unsigned char)st;
        if (st == TOCSIN_OK)
            continue;
        tocsin_number_format(p->value, value, sizeof(value));
        if (st != judged) {
            tocsin_range_format(&t->clear, range, sizeof(range));
            tocsin_buf_printf(&why, "%s%s=%s%s still %s: not back inside clear range %s",
                              why.len ? ", " : "", t->label, value, p->uom,
                              st == TOCSIN_CRITICAL ? "critical" : "warning", range);
            worst = tocsin_state_worst(worst, st);
            continue;
        }
        tocsin_range_format(st == TOCSIN_CRITICAL ? &t->th.critical : &t->th.warning,
                            range, sizeof(range));
        tocsin_buf_printf(&why, "%s%s=%s%s outside %s range %s", why.len ? ", " : "",
                          t->label, value, p->uom,
                          st == TOCSIN_CRITICAL ? "critical" : "warning", range);
        worst = tocsin_state_worst(worst, st);
    }
    if (why.len) {
        tocsin_buf_printf(out, "%s%s(%s)", o.first_line, *o.first_line ? " " : "",
                          tocsin_buf_str(&why));
        if (o.nperf) {
            tocsin_buf_puts(out, " |");
            for (i = 0; i < o.nperf; i++) {
                tocsin_buf_putc(out, ' ');
                tocsin_perf_format(&o.perf[i], out);
            }
        }
        if (o.long_output && *o.long_output) {
            tocsin_buf_putc(out, '\n');
            tocsin_buf_puts(out, o.long_output);
        }
        *state = worst;
        rc = 1;
    }
    tocsin_buf_free(&why);
    tocsin_output_free(&o);
    return rc;
}
