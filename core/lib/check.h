/*
 * check.h - struct tocsin_check, the result a check plugin builds.
 * Internal: plugins see it only through the functions in tocsin-plugin.h;
 * the program that runs them prepares and renders it (base/check-run.h).
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

#endif
