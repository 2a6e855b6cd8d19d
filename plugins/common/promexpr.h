/*
 * promexpr.h - the expressions of the prometheus check: a small language
 * a user writes without learning PromQL (a selector with label matchers,
 * the rate of a counter, the ratio of two rates, a histogram's quantile,
 * optionally fanned out by labels), the series one scrape gathers for
 * them, and their figures between two scrapes. See docs/check-prometheus.md
 * for the syntax. Plugins include it as "common/promexpr.h".
 */
#ifndef TOCSIN_PROMEXPR_H
#define TOCSIN_PROMEXPR_H

#include <regex.h>
#include <stddef.h>

#include "tocsin-plugin.h"
#include "common/promtext.h"

/* Labels an expression may fan out by, and matchers a selector holds. */
#define TOCSIN_PROMEXPR_MAX_BY 8
#define TOCSIN_PROMEXPR_MAX_MATCHERS 16

/* Series one scrape keeps at most for all expressions together. */
#define TOCSIN_PROMEXPR_MAX_SERIES 200000

enum tocsin_promexpr_kind {
    TOCSIN_PROMEXPR_VALUE = 0, /* the selector's sum, as it is (gauges) */
    TOCSIN_PROMEXPR_RATE,      /* increase of counters per second */
    TOCSIN_PROMEXPR_RATIO,     /* rate(first) / rate(second), in percent */
    TOCSIN_PROMEXPR_QUANTILE   /* quantile of a histogram's increase */
};

enum tocsin_promexpr_op {
    TOCSIN_PROMEXPR_EQ = 0,    /* =  */
    TOCSIN_PROMEXPR_NE,        /* != */
    TOCSIN_PROMEXPR_RE,        /* =~ (anchored, POSIX extended) */
    TOCSIN_PROMEXPR_NRE        /* !~ */
};

struct tocsin_promexpr_matcher {
    char *label;               /* label name; "__name__" is the metric */
    char *value;               /* as written, unescaped */
    size_t label_len;          /* strlen(label) */
    size_t value_len;          /* strlen(value) */
    enum tocsin_promexpr_op op;
    int is_name;               /* label is "__name__" */
    int simple;                /* =~ or !~ of literals, '.' and '.*' in
                                  '|' alternatives: matched without regexec */
    regex_t re;                /* compiled for =~ and !~ */
};

struct tocsin_promexpr_selector {
    char *metric;              /* metric name (a histogram's: with
                                  "_bucket"), or NULL for any */
    size_t metric_len;         /* strlen(metric) */
    struct tocsin_promexpr_matcher matchers[TOCSIN_PROMEXPR_MAX_MATCHERS];
    size_t nmatchers;
};

/* One parsed expression. */
struct tocsin_promexpr {
    char *name;                /* the perfdata label */
    enum tocsin_promexpr_kind kind;
    struct tocsin_promexpr_selector sel[2]; /* [1] only for a ratio */
    size_t nsel;
    double q;                  /* the quantile, 0..1 */
    char *by[TOCSIN_PROMEXPR_MAX_BY]; /* fan-out labels */
    size_t nby;
    double min_volume;         /* below it a ratio or quantile is not judged */
    struct tocsin_thresholds th;
    char uom[4];               /* perfdata unit of measure */
    double scale;              /* the figure is multiplied by it */
};

/* One series a scrape kept for an expression. */
struct tocsin_promexpr_series {
    unsigned expr;             /* index of the expression */
    unsigned sel;              /* index of its selector */
    char *key;                 /* the series' identity: its name and labels */
    char *group;               /* the values of the fan-out labels, ", " */
    double le;                 /* upper bound, for a histogram bucket */
    double value;
};

/* What one scrape gathered for a set of expressions. Zero it before use. */
struct tocsin_promexpr_scrape {
    struct tocsin_promexpr_series *series; /* sorted by expr, sel, key */
    size_t n, cap;
    double at;                 /* when it was taken, seconds (monotonic) */
    unsigned long samples;     /* samples in the text */
};

/* One figure of an expression: one per group of its fan-out. */
struct tocsin_promexpr_result {
    char *group;               /* "" without fan-out; owned by the array */
    double value;              /* scaled; NaN when not judged */
    double increase;           /* rate: the increase; ratio: the
                                  numerator's; quantile: observations */
    double volume;             /* ratio: the denominator's increase;
                                  quantile: observations; else NaN */
    const char *why;           /* NULL when judged, else why not */
};

/* ------------------------------------------------------------------ */

/* Parse one expression: "NAME: EXPR [by L1,L2] [min_volume N]
 * [warning RANGE] [critical RANGE] [unit UOM] [scale F]". Returns 0, or -1
 * with the reason in err (the expression is then freed). */
int tocsin_promexpr_parse(const char *text, struct tocsin_promexpr *e,
                          char *err, size_t errlen);

/* Release what an expression holds. */
void tocsin_promexpr_free(struct tocsin_promexpr *e);

/* 1 when the expression needs a previous scrape (all but values). */
int tocsin_promexpr_needs_rate(const struct tocsin_promexpr *e);

/* Parse text[0..len) and keep, in `scrape` (empty or reset before), the
 * series that match exprs[0..n). Returns 0; -1 for malformed text (perr
 * says where), -2 when out of memory or past TOCSIN_PROMEXPR_MAX_SERIES
 * (perr says which). O(samples x expressions) plus a sort. */
int tocsin_promexpr_collect(const struct tocsin_promexpr *exprs, size_t n,
                            const char *text, size_t len,
                            struct tocsin_promexpr_scrape *scrape,
                            struct tocsin_promtext_error *perr);

/* Empty a scrape; its memory is kept for the next one. */
void tocsin_promexpr_scrape_reset(struct tocsin_promexpr_scrape *scrape);

/* Release a scrape's memory. */
void tocsin_promexpr_scrape_free(struct tocsin_promexpr_scrape *scrape);

/* The figures of expression `index` (exprs[index] is `e`) between `prev`
 * (NULL for a value) and `cur`, one per group, sorted by group, in *out
 * (*nout entries, freed with tocsin_promexpr_results_free). *matched is
 * the number of series the current scrape held for its (last) selector:
 * 0 means nothing matched. Returns 0, or -1 when out of memory. */
int tocsin_promexpr_eval(const struct tocsin_promexpr *e, unsigned index,
                         const struct tocsin_promexpr_scrape *prev,
                         const struct tocsin_promexpr_scrape *cur,
                         struct tocsin_promexpr_result **out, size_t *nout,
                         size_t *matched);

void tocsin_promexpr_results_free(struct tocsin_promexpr_result *r, size_t n);

/* Prometheus' histogram_quantile over buckets les[0..n) (upper bounds,
 * sorted, the last +Inf) with cumulative counts[0..n): linear
 * interpolation within the bucket, the highest finite bound when the rank
 * falls in the +Inf bucket. NaN without observations or a +Inf bucket. */
double tocsin_promexpr_quantile(double q, const double *les, double *counts,
                                size_t n);

#endif
