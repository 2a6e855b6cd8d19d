/*
 * check.h - struct tocsin_check, the result a check plugin builds.
 * Internal: plugins see it only through the functions in tocsin-plugin.h.
 */
#ifndef TOCSIN_CHECK_H
#define TOCSIN_CHECK_H

#include <time.h>

#include "lib/buf.h"
#include "tocsin-plugin.h"

struct tocsin_check {
    const char *service;        /* borrowed */
    struct timespec deadline;   /* CLOCK_MONOTONIC */
    enum tocsin_state state;
    int raw;                    /* set_raw used: `rawtext` is the output */
    int timed_out;              /* the plugin reported its deadline passed */
    struct tocsin_buf message;  /* first line, without perfdata */
    struct tocsin_buf long_output; /* lines, each ended by '\n' */
    struct tocsin_buf perf;     /* formatted perfdata items, space-separated */
    struct tocsin_buf rawtext;  /* the output handed to set_raw */
};

/* Prepare `chk` for one run: state UNKNOWN, no output yet. */
void tocsin_check_init(struct tocsin_check *chk, const char *service,
                       const struct timespec *deadline);

/* Append the complete Nagios output to `out`: message, " | " perfdata,
 * then "\n" and the long output. A plugin that set no message yields
 * "<STATE>: no output from plugin". Returns 0 or -1 on oom. */
int tocsin_check_render(const struct tocsin_check *chk, struct tocsin_buf *out);

/* Free the buffers. */
void tocsin_check_release(struct tocsin_check *chk);

#endif
