/*
 * promtext.h - a parser of the Prometheus text exposition format (and of
 * the OpenMetrics text that is a superset of it), for the prometheus
 * check: it walks a scraped body line by line and hands each sample to a
 * callback. Comments, HELP and TYPE lines, escaped label values, optional
 * timestamps, NaN and infinities, exemplars (ignored), blank lines and
 * CRLF are understood; malformed input stops the walk with the line
 * number and the reason. Built into the plugin and into its tests; plugins
 * include it as "common/promtext.h".
 */
#ifndef TOCSIN_PROMTEXT_H
#define TOCSIN_PROMTEXT_H

#include <stddef.h>

/* Labels one sample may carry at most; more is a malformed line. */
#define TOCSIN_PROMTEXT_MAX_LABELS 64

/* What a `# TYPE` line says of a metric family. */
enum tocsin_promtext_type {
    TOCSIN_PROMTEXT_UNTYPED = 0,  /* no TYPE line, "untyped" or "unknown" */
    TOCSIN_PROMTEXT_COUNTER,
    TOCSIN_PROMTEXT_GAUGE,
    TOCSIN_PROMTEXT_HISTOGRAM,
    TOCSIN_PROMTEXT_SUMMARY,
    TOCSIN_PROMTEXT_OTHER         /* info, stateset, gaugehistogram */
};

/* One label of a sample. Neither string is NUL-terminated; both point
 * into the text or into the parser's scratch memory and stay valid only
 * during the callback. The value is unescaped. */
struct tocsin_promtext_label {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* One sample, as handed to the callback (valid during the call only). */
struct tocsin_promtext_sample {
    const char *name;          /* metric name, not NUL-terminated */
    size_t name_len;
    const struct tocsin_promtext_label *labels; /* in the order written */
    size_t nlabels;
    double value;              /* NaN and +-Inf as given */
    int has_timestamp;         /* a timestamp followed the value */
    double timestamp;          /* as written (milliseconds in Prometheus
                                  text, seconds in OpenMetrics) */
    enum tocsin_promtext_type type; /* of the family last declared by TYPE,
                                  when the name is that family's */
    unsigned long line;        /* 1-based */
};

/* Called for each sample in order. Return 0 to go on, anything else to
 * stop the walk (tocsin_promtext_parse() then returns that value). */
typedef int (*tocsin_promtext_sample_fn)(void *ud,
                                         const struct tocsin_promtext_sample *s);

/* Why a walk stopped early. */
struct tocsin_promtext_error {
    unsigned long line;        /* 1-based line of the fault, 0 for none */
    char reason[160];          /* "label value not closed", ... */
};

/* Parse text[0..len) (need not be NUL-terminated), calling `fn` with
 * `ud` for each sample. Returns 0 when the whole text was read, -1 for
 * malformed input (err says where and why), -2 when out of memory, or
 * the callback's non-zero value. Memory: one scratch buffer as long as
 * the longest line, freed before returning; O(len). A line that is not
 * well-formed UTF-8 is malformed. "# EOF" ends the text. */
int tocsin_promtext_parse(const char *text, size_t len,
                          tocsin_promtext_sample_fn fn, void *ud,
                          struct tocsin_promtext_error *err);

#endif
