/*
 * timeperiod.h - named time periods ("business-hours", "weekends",
 * "holidays"), each in its own time zone, and the parsing of a local
 * "YYYY-MM-DD HH:MM" into an instant.
 *
 * A period is configured as a libconfuse section whose title is its name:
 *
 *     timeperiod "business-hours" {
 *         timezone = "Europe/Berlin"
 *         weekdays = { "mon-fri" }
 *         times    = { "09:00-12:30", "13:30-17:00" }
 *         exclude  = { "holidays" }
 *     }
 *
 * Instant t lies in period P iff t lies in none of P's exclude periods,
 * and either t lies in one of P's include periods, or every constraint
 * P gives itself (weekdays, days, months, years, dates, times) holds for
 * the wall clock of t in P's zone. A constraint not given does not
 * restrict; a period with no constraint and no include is always; a
 * period with only includes is exactly their union. Included and excluded
 * periods are evaluated in their own zones.
 *
 * Daylight saving time: membership is decided on the local wall clock.
 * On the spring-forward day the skipped hour (02:00-03:00 in Berlin and
 * New York) never happens, so a period "02:00-03:00" matches nothing that
 * day; on the autumn day that hour happens twice and both are inside.
 * "09:00-17:00" is 8 real hours on every day (transitions happen at
 * night), while "00:00-24:00" lasts 23 or 25 real hours on the transition
 * days. See docs/internals/timeperiod.md.
 *
 * Lifecycle: parse each section with tocsin_timeperiod_opts, compile each
 * into an array element, link the array once, then ask
 * tocsin_timeperiod_contains() as often as needed; free each element.
 * Single-threaded: evaluation switches the process's TZ for a moment.
 */
#ifndef TOCSIN_TIMEPERIOD_H
#define TOCSIN_TIMEPERIOD_H

#include <confuse.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/buf.h"

/* Which of its own constraints a period gives (struct tocsin_timeperiod
 * member `given`). */
#define TOCSIN_TP_WEEKDAYS (1u << 0)
#define TOCSIN_TP_TIMES    (1u << 1)
#define TOCSIN_TP_DAYS     (1u << 2)
#define TOCSIN_TP_MONTHS   (1u << 3)
#define TOCSIN_TP_YEARS    (1u << 4)
#define TOCSIN_TP_DATES    (1u << 5)

/* An inclusive or half-open pair; each use says which. */
struct tocsin_tp_span {
    int first;
    int last;
};

/* A time zone shared by every period that names it, with the cache that
 * makes repeated evaluation cheap. Opaque; see timeperiod.c. */
struct tocsin_tz;

/* One compiled period. Everything it points to is owned by it. */
struct tocsin_timeperiod {
    char *name;                     /* the section title */
    char *file;                     /* where it was defined */
    int line;
    char *zone_name;                /* IANA name, or NULL for the host's zone */
    struct tocsin_tz *zone;         /* shared, counted; NULL for the host's */
    unsigned given;                 /* TOCSIN_TP_* of the constraints given */
    uint8_t weekdays;               /* bit n = tm_wday n (0 = Sunday) */
    uint16_t months;                /* bit n = month n + 1 */
    struct tocsin_tp_span *times;   /* [first, last) minutes after local
                                       midnight, 0..1440 */
    size_t ntimes;
    struct tocsin_tp_span *days;    /* inclusive days of month; a negative
                                       day counts from the end (-1 = last) */
    size_t ndays;
    struct tocsin_tp_span *years;   /* inclusive */
    size_t nyears;
    struct tocsin_tp_span *dates;   /* inclusive, as YYYYMMDD numbers */
    size_t ndates;
    char **include_names;           /* as configured */
    size_t ninclude;
    size_t *include;                /* indices into the linked array */
    char **exclude_names;
    size_t nexclude;
    size_t *exclude;
};

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

/* The options of a `timeperiod` section (CFGF_TITLE | CFGF_MULTI). Each
 * item is checked by a parse callback while the file is read, so a bad
 * item is reported with cfg_error() at its own line. */
extern cfg_opt_t tocsin_timeperiod_opts[];

/* Compile the parsed section `sec` (its title is the name), defined at
 * file:line, into *tp, which is overwritten. The zone is checked again.
 * Returns 0, or -1 with each problem appended to `errors` as
 * "FILE:LINE: message\n" and *tp left empty (freeing it is harmless).
 * Include and exclude names stay unresolved until tocsin_timeperiods_link. */
int tocsin_timeperiod_compile(cfg_t *sec, const char *file, int line,
                              struct tocsin_timeperiod *tp,
                              struct tocsin_buf *errors);

/* Resolve every include and exclude name in tps[0..n) to an index, and
 * refuse duplicate names, unknown names and cycles (a period including or
 * excluding itself through any chain, which is named in the message).
 * Returns 0, or -1 with each problem appended to `errors` as
 * "FILE:LINE: message\n". Cost: O(n^2 + n * links) name comparisons
 * (periods number in the dozens), then O(n + links) for the cycles. */
int tocsin_timeperiods_link(struct tocsin_timeperiod *tps, size_t n,
                            struct tocsin_buf *errors);

/* Index of the period named `name` in tps[0..n), or -1. O(n). */
long tocsin_timeperiod_find(const struct tocsin_timeperiod *tps, size_t n,
                            const char *name);

/* Release what tp owns (not tp itself) and leave it empty. */
void tocsin_timeperiod_free(struct tocsin_timeperiod *tp);

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */
/* ------------------------------------------------------------------ */

/* 1 if instant t lies in tps[i], else 0. tps must have been linked.
 * Cost: at most one local-time conversion per zone involved; a named
 * zone's conversion is arithmetic while t stays between the same two
 * transitions of the zone as the last time it was asked, otherwise the C
 * library converts (switching TZ and back, which reads the zone files). */
int tocsin_timeperiod_contains(const struct tocsin_timeperiod *tps, size_t n,
                               size_t i, time_t t);

/* Parse "YYYY-MM-DD HH:MM", optionally with ":SS", optionally followed by
 * a space and an IANA zone name that takes precedence over `zone`, as the
 * wall clock in that zone (NULL or "" = the host's, TZ honoured) and store
 * the instant in *out. A wall clock that does not exist (the hour skipped
 * in spring) is an error that says so; one that happens twice (the hour
 * repeated in autumn) is the EARLIER of the two instants. Returns 0, or
 * -1 with the reason in err (errlen bytes) and *out untouched. */
int tocsin_local_time_parse(const char *text, const char *zone, time_t *out,
                            char *err, size_t errlen);

/* "HH:MM" (00:00 to 23:59) into minutes after local midnight. Returns 0,
 * or -1 when `text` is not such a time. */
int tocsin_clock_parse(const char *text, int *minutes);

/*
 * The first instant later than `after` whose wall clock in `zone` (NULL
 * or "": the host's) is one of the `n` times of day `minutes` (minutes
 * after local midnight, 0..1439). Across daylight-saving changes: a time
 * that does not exist that day (skipped in spring: 02:30 in Paris on the
 * last Sunday of March) stands for the instant the clocks jump (03:00),
 * so it runs once; one that happens twice (autumn) is the earlier
 * instant only, so it runs once. Several listed times in one gap give one
 * instant. Returns -1 when n is 0 or the zone cannot be entered.
 * Cost: 4n conversions (the zone is entered once).
 */
time_t tocsin_local_next_at(const char *zone, const int *minutes, size_t n, time_t after);

/*
 * As tocsin_local_next_at(), and inside period tps[period] (period < 0:
 * any time): the first such instant later than `after`, or -1 when none
 * comes within `horizon_days` days (a period that never holds one of the
 * times). Cost: one tocsin_local_next_at() and one
 * tocsin_timeperiod_contains() per listed time tried.
 */
time_t tocsin_timeperiod_next_at(const struct tocsin_timeperiod *tps, size_t ntps,
                                 long period, const char *zone, const int *minutes,
                                 size_t n, time_t after, int horizon_days);

/*
 * When period tps[period] next holds: `after` itself when it holds then,
 * else the first whole minute after it that the period holds (across a
 * weekend, a holiday, a daylight-saving change: a period opening at an
 * hour the clocks skip opens when they jump), or -1 when it does not
 * open within `horizon_days` days. Cost: one tocsin_timeperiod_contains()
 * per minute until the opening (about 3,800 across a weekend).
 */
time_t tocsin_timeperiod_next_open(const struct tocsin_timeperiod *tps, size_t ntps,
                                   size_t period, time_t after, int horizon_days);

/* `t` as the host's local "YYYY-MM-DD HH:MM ZONE" (TZ honoured) into buf
 * of len bytes, or as seconds when it cannot be converted. Returns buf. */
const char *tocsin_local_minute(time_t t, char *buf, size_t len);

/* Check that `name` is a zone the C library will find: a relative path
 * without "." or ".." components, naming a TZif file under $TZDIR
 * (default /usr/share/zoneinfo). Returns 0, or -1 with why in err. */
int tocsin_timezone_check(const char *name, char *err, size_t errlen);

/* How often evaluation has pointed TZ at another zone since the start
 * (each switch makes the C library read a zone file, and restoring TZ
 * reads the host's again). For diagnostics and tests. */
unsigned long tocsin_timezone_switches(void);

#endif
