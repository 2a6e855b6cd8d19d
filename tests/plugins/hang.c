/*
 * hang.c - a broken check plugin for tests: check() ignores its deadline
 * and waits for ever, so only the worker's timeout ends it.
 */
#include <unistd.h>

#include "tocsin-plugin.h"

static cfg_opt_t hang_options[] = {
    CFG_STR("x", "", CFGF_NONE),
    CFG_END()
};

static int hang_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    (void)options;
    (void)err;
    (void)errlen;
    *instance = NULL;
    return 0;
}

static void hang_check(void *instance, struct tocsin_check *chk)
{
    (void)instance;
    (void)chk;
    for (;;)
        pause();
}

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "hang",
    .version = "0.1.0",
    .summary = "test plugin: never returns",
    .options = hang_options,
    .setup = hang_setup,
    .check = hang_check,
);
