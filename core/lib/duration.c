/*
 * duration.c - durations ("30s", "5m", "1h30m") and the libconfuse
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

static const struct {
    const char *suffix;
    double ms;
} units[] = {
    /* "ms" before "m": the longest suffix that matches wins. */
    {"ms", 1.0},
    {"s", 1000.0},
    {"m", 60.0 * 1000},
    {"h", 3600.0 * 1000},
    {"d", 86400.0 * 1000},
    {"w", 7 * 86400.0 * 1000},
};

/*
 * Parse one or more "<number><unit>" groups ("1h30m", "1.5s", "250ms");
 * a lone number without a unit means seconds. Numbers are digits with an
 * optional fraction; no sign, no blanks. The total is rounded to the
 * nearest millisecond and must not exceed 100 years (nor LONG_MAX).
 * On failure *ms is left untouched.
 */
int tocsin_duration_parse(const char *text, long *ms)
{
    const char *p = text;
    double total = 0, value, scale;
    size_t i, n;
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
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            n = strlen(units[i].suffix);
            if (strncmp(p, units[i].suffix, n) == 0)
                break;
        }
        if (i == sizeof(units) / sizeof(units[0]))
            return -1;
        p += n;
        total += value * units[i].ms;
        if (total > DURATION_MAX_MS)
            return -1;
        groups++;
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
                  "(use e.g. 30s, 5m, 2h, 1d)",
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
