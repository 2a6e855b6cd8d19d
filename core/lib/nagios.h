/*
 * nagios.h - Nagios plugin semantics in one place: exit codes, the plugin
 * output format and performance data. Internal to Tocsin (the range and
 * state functions plugins use are declared in tocsin-plugin.h): what is
 * declared here is local to libtocsin.so, and the daemon links its own
 * copy (perfdata.c is compiled into libtocsincore too).
 *
 * Output format (Monitoring Plugins development guidelines):
 *
 *   TEXT OUTPUT | PERFDATA          <- first line
 *   LONG TEXT LINE 1
 *   LONG TEXT LINE 2 | PERFDATA     <- perfdata may continue after the
 *   PERFDATA                           first '|' found in the long output
 *
 * Performance data: space-separated 'label'=value[UOM];[warn];[crit];[min];[max]
 * Labels may be quoted with single quotes, a quote inside written as ''.
 * Value "U" means the value could not be determined.
 */
#ifndef TOCSIN_NAGIOS_H
#define TOCSIN_NAGIOS_H

#include <stddef.h>

#include "lib/buf.h"
#include "tocsin-plugin.h"

/* Largest output Tocsin keeps from one check, as Nagios 4 does (bytes). */
#define TOCSIN_OUTPUT_MAX 8192

/* One performance-data item. */
struct tocsin_perf {
    char *label;        /* unquoted label, owned */
    double value;       /* meaningless if value_unknown */
    int value_unknown;  /* the value was "U" */
    char uom[4];        /* "", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c" */
    char *warn;         /* warning range text as given, or NULL; owned */
    char *crit;         /* critical range text as given, or NULL; owned */
    double min, max;
    int has_min, has_max;
};

/* A parsed plugin output. */
struct tocsin_output {
    char *first_line;        /* text of line 1 before '|', trimmed; owned */
    char *long_output;       /* later lines without their perfdata, '\n'-joined,
                                no trailing newline; "" if none; owned */
    struct tocsin_perf *perf; /* all perfdata items, in order; owned */
    size_t nperf;
    size_t perf_invalid;     /* items that could not be parsed (skipped) */
};

/* Parse `len` bytes of plugin output. Never fails on odd input: a missing
 * first line gives "", unparseable perfdata items are counted in
 * perf_invalid and skipped. Returns 0, or -1 only when memory runs out.
 * Free with tocsin_output_free(). O(len). */
int tocsin_output_parse(const char *text, size_t len, struct tocsin_output *out);
void tocsin_output_free(struct tocsin_output *out);

/* Parse a perfdata string (items separated by spaces) and append the items
 * to `out`. Returns the number of items that could not be parsed, or -1 on
 * out of memory. */
int tocsin_perf_parse(const char *text, struct tocsin_output *out);

/* Append one item in canonical form ('label'=value[UOM];warn;crit;min;max,
 * trailing empty fields dropped, label quoted when it holds a space, a
 * quote or an '='). Returns 0 or -1 on oom. */
int tocsin_perf_format(const struct tocsin_perf *p, struct tocsin_buf *b);

/* Room for any number tocsin_number_format() writes. */
#define TOCSIN_NUMBER_MAX 64

/* Parse exactly `n` bytes at `s` as a finite double, as strtod() reads
 * it. Leading blanks, trailing garbage, NaN and infinities are refused.
 * Returns 0, or -1 leaving *v alone. */
int tocsin_number_parse(const char *s, size_t n, double *v);

/* Write `v` into buf (len bytes) as performance data is written: up to 15
 * significant digits, no exponent between 1e-15 and 1e15 ("123456789",
 * "0.000012", "3.2"). Returns buf. */
const char *tocsin_number_format(double v, char *buf, size_t len);

/* Append `label` quoted if needed. */
int tocsin_perf_format_label(const char *label, struct tocsin_buf *b);

/* 1 if `uom` is one of the units of measure the guidelines define. */
int tocsin_uom_valid(const char *uom);

/* Map how a plugin process ended to a state. `exited`/`code`/`signal` as
 * from waitpid(). Codes 0..3 map to themselves; any other code or death by
 * a signal is UNKNOWN and `why` (why_len bytes) receives a message such as
 * "plugin exited with code 7" or "plugin killed by signal SIGSEGV";
 * otherwise `why` is set to "". */
enum tocsin_state tocsin_exit_state(int exited, int code, int signal,
                                    char *why, size_t why_len);

/* "SIGSEGV" and the like; "signal N" written to buf for unnamed ones. */
const char *tocsin_signal_name(int sig, char *buf, size_t len);

#endif
