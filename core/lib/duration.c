/*
 * duration.c - durations ("30s", "5m", "1h30m", "5 minutes") and the libconfuse
 * callbacks that check durations and ranges while a file is parsed.
 * See tocsin-plugin.h.
 */
#include "tocsin-plugin.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The longest duration accepted: 100 years of 365.25 days, in ms. */
#define DURATION_MAX_MS 3155760000000.0

/* A number so large that any unit makes it overflow; stops the digit
 * loop from growing without bound on absurd input. */
#define DIGITS_MAX 1e15

/* Every unit word, each with its length in milliseconds. A unit is the
 * whole run of letters after a number, so "5ms" is milliseconds and
 * "5mm" is refused. Lower case only: "5M" could be months. */
static const struct {
    const char *word;
    double ms;
} units[] = {
    {"ms", 1.0}, {"msec", 1.0}, {"msecs", 1.0},
    {"millisecond", 1.0}, {"milliseconds", 1.0},
    {"s", 1000.0}, {"sec", 1000.0}, {"secs", 1000.0},
    {"second", 1000.0}, {"seconds", 1000.0},
    {"m", 60.0 * 1000}, {"min", 60.0 * 1000}, {"mins", 60.0 * 1000},
    {"minute", 60.0 * 1000}, {"minutes", 60.0 * 1000},
    {"h", 3600.0 * 1000}, {"hr", 3600.0 * 1000}, {"hrs", 3600.0 * 1000},
    {"hour", 3600.0 * 1000}, {"hours", 3600.0 * 1000},
    {"d", 86400.0 * 1000}, {"day", 86400.0 * 1000}, {"days", 86400.0 * 1000},
    {"w", 7 * 86400.0 * 1000}, {"week", 7 * 86400.0 * 1000},
    {"weeks", 7 * 86400.0 * 1000},
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The length in ms of the unit word of `n` letters at `p`, or -1. */
static double unit_ms(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i].word) == n && strncmp(p, units[i].word, n) == 0)
            return units[i].ms;
    return -1;
}

/*
 * Parse one or more "<number><unit>" groups ("1h30m", "1.5s", "250ms",
 * "5 minutes", "1 hour 30 min"); a lone number without a unit means
 * seconds. Numbers are digits with an optional fraction; no sign. Blanks
 * may stand between a number and its unit and between groups, never
 * before the first number or after the last unit. The total is rounded
 * to the nearest millisecond and must not exceed 100 years (nor
 * LONG_MAX). On failure *ms is left untouched. O(length).
 */
int tocsin_duration_parse(const char *text, long *ms)
{
    const char *p = text, *word;
    double total = 0, value, scale, unit;
    int groups = 0;

    if (!text || !*text)
        return -1;
    while (*p) {
        if (*p < '0' || *p > '9')
            return -1;
        value = 0;
        while (*p >= '0' && *p <= '9') {
            if (value < DIGITS_MAX)
                value = value * 10 + (*p - '0');
            p++;
        }
        if (*p == '.') {
            p++;
            if (*p < '0' || *p > '9')
                return -1;
            for (scale = 0.1; *p >= '0' && *p <= '9'; p++, scale /= 10)
                value += (*p - '0') * scale;
        }

        if (!*p && groups == 0) {
            total = value * 1000; /* plain number: seconds */
            break;
        }
        while (is_blank(*p))
            p++;
        for (word = p; *p >= 'a' && *p <= 'z'; p++)
            ;
        unit = unit_ms(word, (size_t)(p - word));
        if (unit < 0)
            return -1;
        total += value * unit;
        if (total > DURATION_MAX_MS)
            return -1;
        groups++;
        if (is_blank(*p)) {
            while (is_blank(*p))
                p++;
            if (!*p)
                return -1; /* trailing blanks */
        }
    }
    if (total > DURATION_MAX_MS || total + 0.5 >= (double)LONG_MAX)
        return -1;
    *ms = (long)(total + 0.5);
    return 0;
}

/* libconfuse parse callback for TOCSIN_OPT_DURATION (a CFGT_INT option):
 * stores milliseconds into the long int at `result`. */
int tocsin_cfg_parse_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value,
                              void *result)
{
    long ms;

    if (tocsin_duration_parse(value, &ms) < 0) {
        cfg_error(cfg, "option '%s': bad duration \"%s\" "
                  "(use e.g. 30s, 5m, 5min, \"5 minutes\", 2h, 1d)",
                  opt && opt->name ? opt->name : "?", value ? value : "");
        return -1;
    }
    *(long *)result = ms;
    return 0;
}

/* libconfuse parse callback for TOCSIN_OPT_RANGE (a CFGT_STR option).
 * libconfuse hands a `const char **` and copies the string it receives,
 * so the callback passes `value` itself back once it is a valid range. */
int tocsin_cfg_parse_range(cfg_t *cfg, cfg_opt_t *opt, const char *value,
                           void *result)
{
    struct tocsin_range range;
    char err[256];

    if (!value)
        value = "";
    if (tocsin_range_parse(value, &range, err, sizeof(err)) < 0) {
        cfg_error(cfg, "option '%s': %s",
                  opt && opt->name ? opt->name : "?", err);
        return -1;
    }
    *(const char **)result = value;
    return 0;
}

/* libconfuse parse callback for TOCSIN_OPT_RANGES: one Nagios range, or
 * several separated by commas (check_load's "15,10,5"). Like
 * tocsin_cfg_parse_range, it passes `value` back once every part is valid. */
int tocsin_cfg_parse_ranges(cfg_t *cfg, cfg_opt_t *opt, const char *value,
                            void *result)
{
    struct tocsin_range range;
    char part[128], err[256];
    const char *p;

    if (!value)
        value = "";
    for (p = value;;) {
        size_t n = strcspn(p, ",");

        if (n >= sizeof(part)) {
            cfg_error(cfg, "option '%s': range \"%.*s\" is too long",
                      opt && opt->name ? opt->name : "?", (int)n, p);
            return -1;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        if (tocsin_range_parse(part, &range, err, sizeof(err)) < 0) {
            cfg_error(cfg, "option '%s': %s", opt && opt->name ? opt->name : "?", err);
            return -1;
        }
        if (!p[n])
            break;
        p += n + 1;
    }
    *(const char **)result = value;
    return 0;
}
