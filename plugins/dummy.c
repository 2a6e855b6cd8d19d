/*
 * dummy.c - a check that reports a fixed state and text, optionally after
 * a delay. Used by tests and benchmarks, and to try out routing:
 *
 *   check = "dummy"
 *   state = "warning"
 *   output = "pretend the disk is filling up"
 *   perfdata = "used=91%;80;90;0;100 free=2GB"   # optional
 *   long_output = "second line"                   # optional
 *   delay = "2s"
 *
 * With perfdata or long_output set, the output is handed over as a
 * complete Nagios plugin output ("OUTPUT | PERFDATA\nLONG_OUTPUT"), byte
 * for byte, as a wrapped plugin's would be.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tocsin-plugin.h"

struct dummy {
    enum tocsin_state state;  /* reported as is */
    char *output;             /* first line of output, owned */
    char *raw;                /* whole output with perfdata / long output,
                                 or NULL; owned */
    long delay_ms;            /* wait before reporting */
};

static cfg_opt_t dummy_options[] = {
    CFG_STR("state", "ok", CFGF_NONE),
    CFG_STR("output", "dummy check", CFGF_NONE),
    CFG_STR("perfdata", "", CFGF_NONE),
    CFG_STR("long_output", "", CFGF_NONE),
    TOCSIN_OPT_DURATION("delay", 0),
    CFG_END()
};

/* Validate the options into a struct dummy owned by the instance. */
static int dummy_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct dummy *d = NULL;
    const char *state = cfg_getstr(options, "state");
    const char *output = cfg_getstr(options, "output");
    int parsed;

    parsed = tocsin_state_parse(state ? state : "");
    if (parsed < 0) {
        snprintf(err, errlen,
                 "state \"%s\" is not one of ok, warning, critical, unknown",
                 state ? state : "");
        goto fail;
    }
    d = calloc(1, sizeof(*d));
    if (!d || !(d->output = strdup(output ? output : ""))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    d->state = (enum tocsin_state)parsed;
    {
        const char *perf = cfg_getstr(options, "perfdata");
        const char *lng = cfg_getstr(options, "long_output");
        size_t need;

        if ((perf && *perf) || (lng && *lng)) {
            need = strlen(d->output) + (perf ? strlen(perf) : 0) +
                   (lng ? strlen(lng) : 0) + 8;
            d->raw = malloc(need);
            if (!d->raw) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            snprintf(d->raw, need, "%s%s%s%s%s", d->output, perf && *perf ? " | " : "",
                     perf ? perf : "", lng && *lng ? "\n" : "", lng ? lng : "");
        }
    }
    d->delay_ms = cfg_getint(options, "delay");
    if (d->delay_ms < 0)
        d->delay_ms = 0;
    *instance = d;
    return 0;

fail:
    if (d) {
        free(d->output);
        free(d->raw);
    }
    free(d);
    return -1;
}

static void dummy_teardown(void *instance)
{
    struct dummy *d = instance;

    if (d) {
        free(d->output);
        free(d->raw);
    }
    free(d);
}

/* Sleep until `wake` on CLOCK_MONOTONIC, resuming after signals. */
static void dummy_sleep_until(const struct timespec *wake)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, wake, NULL) == EINTR)
        ;
}

/* Report the configured state and text. With a delay, wait first, but
 * never past the deadline: a delay the deadline cuts short is reported
 * as a timeout so that the run is not mistaken for a normal one. Costs no
 * allocation of its own. */
static void dummy_check(void *instance, struct tocsin_check *chk)
{
    const struct dummy *d = instance;

    if (d->delay_ms > 0) {
        struct timespec wake, deadline = tocsin_check_deadline(chk);
        int cut = 0;

        clock_gettime(CLOCK_MONOTONIC, &wake);
        wake.tv_sec += d->delay_ms / 1000;
        wake.tv_nsec += (d->delay_ms % 1000) * 1000000L;
        if (wake.tv_nsec >= 1000000000L) {
            wake.tv_sec++;
            wake.tv_nsec -= 1000000000L;
        }
        if (wake.tv_sec > deadline.tv_sec ||
            (wake.tv_sec == deadline.tv_sec && wake.tv_nsec > deadline.tv_nsec)) {
            wake = deadline;
            cut = 1;
        }
        dummy_sleep_until(&wake);
        if (cut) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN,
                             "dummy check: delay of %ld ms is longer than the "
                             "check's timeout", d->delay_ms);
            tocsin_check_timed_out(chk);
            return;
        }
    }
    if (d->raw)
        tocsin_check_set_raw(chk, d->state, d->raw, strlen(d->raw));
    else
        tocsin_check_set(chk, d->state, "%s", d->output);
}

/* Descriptions for --help; docs/check-dummy.md tells more. */
static const struct tocsin_option_help dummy_help[] = {
    { "state", NULL,
      "the state reported: ok, warning, critical or unknown" },
    { "output", NULL,
      "the first line of output" },
    { "perfdata", NULL,
      "performance data passed through as written" },
    { "long_output", NULL,
      "lines of long output after the first" },
    { "delay", NULL,
      "wait this long before answering (a slow check)" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "dummy",
    .version = "0.1.0",
    .summary = "report a fixed state and text, optionally after a delay",
    .options = dummy_options,
    .help = dummy_help,
    .setup = dummy_setup,
    .teardown = dummy_teardown,
    .check = dummy_check,
);
