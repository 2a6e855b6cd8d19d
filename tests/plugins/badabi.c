/*
 * badabi.c - a test plugin built for an ABI Tocsin does not speak (99):
 * its descriptor is written out by hand instead of with
 * TOCSIN_PLUGIN_DEFINE, and loading it must be refused with a message
 * naming both ABI versions.
 */
#include <stddef.h>

#include "tocsin-plugin.h"

static cfg_opt_t badabi_options[] = {
    CFG_END()
};

static int badabi_setup(cfg_t *options, void **instance, char *err,
                        size_t errlen)
{
    (void)options;
    (void)err;
    (void)errlen;
    *instance = NULL;
    return 0;
}

static void badabi_check(void *instance, struct tocsin_check *chk)
{
    (void)instance;
    tocsin_check_set(chk, TOCSIN_OK, "badabi: this should never run");
}

TOCSIN_EXPORT const struct tocsin_plugin tocsin_plugin = {
    .abi = 99,
    .size = sizeof(struct tocsin_plugin),
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "badabi",
    .version = "0.1.0",
    .summary = "test plugin: built for plugin ABI 99",
    .options = badabi_options,
    .setup = badabi_setup,
    .check = badabi_check,
};
