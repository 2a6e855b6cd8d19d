/*
 * nagios.c - Nagios plugin semantics that plugins use: states and
 * threshold ranges. See tocsin-plugin.h; performance data, plugin output
 * and exit codes are in perfdata.c.
 */
#include "lib/nagios.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* States                                                              */
/* ------------------------------------------------------------------ */

static const char *const state_names[] = {
    "OK", "WARNING", "CRITICAL", "UNKNOWN"
};

const char *tocsin_state_name(int state)
{
    if (state < TOCSIN_OK || state > TOCSIN_UNKNOWN)
        return "UNKNOWN";
    return state_names[state];
}

/* Accepts the four names in any case, the short forms "warn" and "crit",
 * and the exit codes "0".."3". */
int tocsin_state_parse(const char *text)
{
    static const struct {
        const char *name;
        int state;
    } names[] = {
        {"ok", TOCSIN_OK},             {"0", TOCSIN_OK},
        {"warning", TOCSIN_WARNING},   {"warn", TOCSIN_WARNING},
        {"1", TOCSIN_WARNING},
        {"critical", TOCSIN_CRITICAL}, {"crit", TOCSIN_CRITICAL},
        {"2", TOCSIN_CRITICAL},
        {"unknown", TOCSIN_UNKNOWN},   {"3", TOCSIN_UNKNOWN},
    };
    size_t i;

    if (!text)
        return -1;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(text, names[i].name) == 0)
            return names[i].state;
    return -1;
}

/* Severity rank for "worst of": UNKNOWN sits between WARNING and
 * CRITICAL. Anything out of range counts as UNKNOWN. */
static int state_rank(enum tocsin_state s)
{
    switch (s) {
    case TOCSIN_OK:
        return 0;
    case TOCSIN_WARNING:
        return 1;
    case TOCSIN_CRITICAL:
        return 3;
    case TOCSIN_UNKNOWN:
    default:
        return 2;
    }
}

enum tocsin_state tocsin_state_worst(enum tocsin_state a, enum tocsin_state b)
{
    if (a < TOCSIN_OK || a > TOCSIN_UNKNOWN)
        a = TOCSIN_UNKNOWN;
    if (b < TOCSIN_OK || b > TOCSIN_UNKNOWN)
        b = TOCSIN_UNKNOWN;
    return state_rank(a) >= state_rank(b) ? a : b;
}

/* ------------------------------------------------------------------ */
/* Ranges                                                              */
/* ------------------------------------------------------------------ */

/* A length clipped for a %.*s conversion in an error message. */
static int clip(size_t n)
{
    return n > 1024 ? 1024 : (int)n;
}

/*
 * Parse a Monitoring Plugins range: [@][start:]end, where start is a
 * number or "~" (no lower bound) and end is a number or empty (no upper
 * bound); without ':' the start is 0. Writes a reason for a human to err
 * on failure and leaves `range` unset then.
 */
int tocsin_range_parse(const char *text, struct tocsin_range *range,
                       char *err, size_t errlen)
{
    struct tocsin_range r;
    const char *p, *colon, *end_text;
    size_t start_len, end_len;
    char a[TOCSIN_NUMBER_MAX], b[TOCSIN_NUMBER_MAX];

    memset(&r, 0, sizeof(r));
    memset(range, 0, sizeof(*range));
    if (err && errlen)
        err[0] = '\0';
    if (!text || !*text)
        return 0;

    p = text;
    if (*p == '@') {
        r.inside = 1;
        p++;
    }
    if (!*p) {
        if (err && errlen)
            snprintf(err, errlen, "range \"%s\": no bounds after '@'", text);
        return -1;
    }

    colon = strchr(p, ':');
    if (colon) {
        start_len = (size_t)(colon - p);
        end_text = colon + 1;
        if (start_len == 1 && p[0] == '~') {
            r.start_infinite = 1;
        } else if (start_len == 0) {
            if (err && errlen)
                snprintf(err, errlen,
                         "range \"%s\": the lower bound before ':' is missing "
                         "(write 0:N, or ~:N for none)", text);
            return -1;
        } else if (tocsin_number_parse(p, start_len, &r.start) < 0) {
            if (err && errlen)
                snprintf(err, errlen, "range \"%s\": \"%.*s\" is not a number",
                         text, clip(start_len), p);
            return -1;
        }
    } else {
        end_text = p;
        r.start = 0;
    }

    end_len = strlen(end_text);
    if (end_len == 0) {
        r.end_infinite = 1;
    } else if (tocsin_number_parse(end_text, end_len, &r.end) < 0) {
        if (err && errlen) {
            if (!colon && end_len == 1 && end_text[0] == '~')
                snprintf(err, errlen, "range \"%s\": '~' stands only before "
                         "':', as in ~:10", text);
            else
                snprintf(err, errlen, "range \"%s\": \"%.*s\" is not a number",
                         text, clip(end_len), end_text);
        }
        return -1;
    }

    if (!r.start_infinite && !r.end_infinite && r.start > r.end) {
        if (err && errlen) {
            tocsin_number_format(r.start, a, sizeof(a));
            tocsin_number_format(r.end, b, sizeof(b));
            snprintf(err, errlen,
                     "range \"%s\": start %s is greater than end %s",
                     text, a, b);
        }
        return -1;
    }

    r.set = 1;
    *range = r;
    return 0;
}

/* Outside mode alerts below start or above end; inside mode ("@") alerts
 * within start..end, bounds included. NaN never alerts: the caller
 * reports an undeterminable value as UNKNOWN itself. */
int tocsin_range_alert(const struct tocsin_range *range, double value)
{
    int below, above;

    if (!range || !range->set || isnan(value))
        return 0;
    below = !range->start_infinite && value < range->start;
    above = !range->end_infinite && value > range->end;
    if (range->inside)
        return !below && !above;
    return below || above;
}

/* Canonical text: the start is left out when it is 0 and an end is
 * given ("0:10" comes back as "10"). */
int tocsin_range_format(const struct tocsin_range *range, char *buf, size_t len)
{
    char text[3 * TOCSIN_NUMBER_MAX];
    char start[TOCSIN_NUMBER_MAX], end[TOCSIN_NUMBER_MAX];

    if (!range || !range->set)
        return snprintf(buf, len, "%s", "");

    end[0] = '\0';
    if (!range->end_infinite)
        tocsin_number_format(range->end, end, sizeof(end));
    if (range->start_infinite)
        snprintf(start, sizeof(start), "~:");
    else if (range->start == 0 && !range->end_infinite)
        start[0] = '\0';
    else {
        tocsin_number_format(range->start, start, sizeof(start));
        snprintf(start + strlen(start), sizeof(start) - strlen(start), ":");
    }
    snprintf(text, sizeof(text), "%s%s%s", range->inside ? "@" : "",
             start, end);
    return snprintf(buf, len, "%s", text);
}

enum tocsin_state tocsin_thresholds_eval(const struct tocsin_thresholds *th,
                                         double value)
{
    if (!th)
        return TOCSIN_OK;
    if (tocsin_range_alert(&th->critical, value))
        return TOCSIN_CRITICAL;
    if (tocsin_range_alert(&th->warning, value))
        return TOCSIN_WARNING;
    return TOCSIN_OK;
}
