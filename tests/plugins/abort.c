/*
 * abort.c - a broken check plugin for tests: check() calls abort() and
 * dies of SIGABRT.
 */
#include <stdlib.h>

#include "tocsin-plugin.h"

static cfg_opt_t abort_options[] = {
    CFG_STR("x", "", CFGF_NONE),
    CFG_END()
};

static int abort_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    (void)options;
    (void)err;
    (void)errlen;
    *instance = NULL;
    return 0;
}

static void abort_check(void *instance, struct tocsin_check *chk)
{
    (void)instance;
    (void)chk;
    abort();
}

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "abort",
    .version = "0.1.0",
    .summary = "test plugin: calls abort()",
    .options = abort_options,
    .setup = abort_setup,
    .check = abort_check,
);
