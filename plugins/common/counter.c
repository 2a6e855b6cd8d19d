/*
 * counter.c - increases and rates of counters sampled at each check. See
 * counter.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/counter.h"

double tocsin_counter_increase(double prev, double cur)
{
    if (cur >= prev)
        return cur - prev;
    /* Counters do not go below 0; a value that does is no count. */
    return cur < 0 ? 0 : cur;
}

enum tocsin_counter_step tocsin_counter_update(struct tocsin_counter *c, double value,
                                               int64_t at_us,
                                               struct tocsin_counter_change *out)
{
    enum tocsin_counter_step step;

    if (!c->have)
        step = TOCSIN_COUNTER_FIRST;
    else if (at_us <= c->at_us)
        step = TOCSIN_COUNTER_STALLED;
    else {
        step = value < c->value ? TOCSIN_COUNTER_RESET : TOCSIN_COUNTER_INCREASE;
        out->increase = tocsin_counter_increase(c->value, value);
        out->seconds = (double)(at_us - c->at_us) / 1e6;
    }
    c->have = 1;
    c->value = value;
    c->at_us = at_us;
    return step;
}

double tocsin_counter_rate(const struct tocsin_counter_change *change,
                           double unit_seconds)
{
    return change->increase / change->seconds * unit_seconds;
}

double tocsin_counter_figure(enum tocsin_counter_mode mode,
                             const struct tocsin_counter_change *change,
                             double unit_seconds)
{
    return mode == TOCSIN_COUNTER_RATE ? tocsin_counter_rate(change, unit_seconds)
                                       : change->increase;
}

int64_t tocsin_counter_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void tocsin_counter_wait(struct tocsin_check *chk, long ms)
{
    double left = tocsin_check_remaining(chk) * 1000 / 3;
    struct timespec ts;

    if ((double)ms > left)
        ms = (long)left;
    if (ms < 1)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int tocsin_counter_mode_parse(const char *name, const char *text,
                              enum tocsin_counter_mode *mode, char *err, size_t errlen)
{
    static const struct {
        const char *word;
        enum tocsin_counter_mode mode;
    } modes[] = {
        { "value", TOCSIN_COUNTER_VALUE },
        { "delta", TOCSIN_COUNTER_DELTA },
        { "rate", TOCSIN_COUNTER_RATE },
    };
    size_t i;

    for (i = 0; text && i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(text, modes[i].word) == 0) {
            *mode = modes[i].mode;
            return 0;
        }
    snprintf(err, errlen, "option '%s': \"%.40s\" is not one of value, delta, rate",
             name, text ? text : "");
    return -1;
}

int tocsin_counter_unit_parse(const char *name, const char *text, double *seconds,
                              const char **shown, char *err, size_t errlen)
{
    static const struct {
        const char *word, *shown;
        double seconds;
    } units[] = {
        { "second", "s", 1 },
        { "minute", "min", 60 },
        { "hour", "h", 3600 },
    };
    size_t i;

    for (i = 0; text && i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(text, units[i].word) == 0) {
            *seconds = units[i].seconds;
            *shown = units[i].shown;
            return 0;
        }
    snprintf(err, errlen, "option '%s': \"%.40s\" is not one of second, minute, hour",
             name, text ? text : "");
    return -1;
}
