/*
 * counter.h - a counter sampled at each check of a service, turned into
 * an increase (delta) or a rate between two samples. Shared by the check
 * plugins that judge server counters (mysql, pgsql) and by the Prometheus
 * expressions, so that a counter that went down counts the same way
 * everywhere: from 0 again, never as a negative figure.
 *
 * A plugin keeps one struct tocsin_counter per counter in its instance
 * (the plugin is TOCSIN_PLUGIN_STATEFUL). The first check of a service has
 * no previous sample; like the prometheus plugin's rate(), it takes a
 * baseline, waits first_window (tocsin_counter_wait) and samples again, so
 * that even the first result carries a rate.
 */
#ifndef TOCSIN_COUNTER_H
#define TOCSIN_COUNTER_H

#include <stdint.h>

#include "tocsin-plugin.h"

/* What the figure of a counter is: its value as read, its increase since
 * the previous check, or that increase per unit of time. */
enum tocsin_counter_mode {
    TOCSIN_COUNTER_VALUE = 0,
    TOCSIN_COUNTER_DELTA = 1,
    TOCSIN_COUNTER_RATE = 2
};

/* The previous sample of one counter. All zero: none yet. */
struct tocsin_counter {
    int have;          /* value and at_us hold a sample */
    double value;      /* the counter as read */
    int64_t at_us;     /* CLOCK_MONOTONIC microseconds when it was read */
};

/* How one sample compares with the previous one. */
enum tocsin_counter_step {
    TOCSIN_COUNTER_FIRST = 0,    /* no previous sample: this one is the baseline */
    TOCSIN_COUNTER_STALLED = 1,  /* no time passed (or the clock went back):
                                    this sample replaces the baseline */
    TOCSIN_COUNTER_INCREASE = 2, /* increase and seconds are set */
    TOCSIN_COUNTER_RESET = 3     /* the counter went down (a restart): it
                                    counted from 0, increase is its value */
};

/* The change between two samples. */
struct tocsin_counter_change {
    double increase;   /* >= 0 */
    double seconds;    /* > 0 */
};

/* The increase of a counter from `prev` to `cur`: their difference, or
 * `cur` itself when the counter went down (it was reset and counted from
 * 0 since), or 0 when that is below 0. Never negative; NaN stays NaN.
 * O(1). */
double tocsin_counter_increase(double prev, double cur);

/* Compare the sample (value read at at_us) with the one kept in *c, set
 * *out for TOCSIN_COUNTER_INCREASE and TOCSIN_COUNTER_RESET, and keep the
 * sample in *c for the next check. */
enum tocsin_counter_step tocsin_counter_update(struct tocsin_counter *c, double value,
                                               int64_t at_us,
                                               struct tocsin_counter_change *out);

/* The increase per `unit_seconds` (1 per second, 60 per minute). */
double tocsin_counter_rate(const struct tocsin_counter_change *change,
                           double unit_seconds);

/* The figure a mode gives for a change: increase or rate. */
double tocsin_counter_figure(enum tocsin_counter_mode mode,
                             const struct tocsin_counter_change *change,
                             double unit_seconds);

/* CLOCK_MONOTONIC now, in microseconds. */
int64_t tocsin_counter_now_us(void);

/* Sleep `ms` milliseconds for a first check's second sample, but never
 * more than a third of the time left before the check's deadline. */
void tocsin_counter_wait(struct tocsin_check *chk, long ms);

/* Parse a query_mode option ("value", "delta" or "rate"). Returns 0, or -1
 * with "option 'NAME': ..." in err. */
int tocsin_counter_mode_parse(const char *name, const char *text,
                              enum tocsin_counter_mode *mode, char *err, size_t errlen);

/* Parse a rate_unit option ("second", "minute" or "hour") into seconds
 * and its short name ("s", "min", "h") for messages. Returns 0, or -1 with
 * "option 'NAME': ..." in err. */
int tocsin_counter_unit_parse(const char *name, const char *text, double *seconds,
                              const char **shown, char *err, size_t errlen);

/* The --help entries of the options that the plugins judging counters
 * (mysql, pgsql) share: rates' unit, the first check's window, and their
 * custom query's mode and time. Used inside a struct tocsin_option_help
 * table. */
#define TOCSIN_COUNTER_HELP                                                              \
    { "rate_unit", NULL, "what rates are per, ranges included: second, minute or hour" }, \
    { "first_window", NULL,                                                              \
      "on the first check, the wait between two samples of the counters" },             \
    { "query_mode", NULL,                                                                \
      "what is judged of query's number: value, delta (since the last check) or rate "   \
      "(per rate_unit)" },                                                               \
    { "query_time_warning", NULL, "on the time query took, in seconds" },                \
    { "query_time_critical", NULL, "on the time query took, in seconds" }

#endif
