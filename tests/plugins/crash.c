/*
 * crash.c - a broken check plugin for tests: check() writes through a
 * NULL pointer and dies of SIGSEGV. Proves a crashing plugin costs one
 * result, never the daemon.
 */
#include <stddef.h>
#include <stdint.h>

#include "tocsin-plugin.h"

static cfg_opt_t crash_options[] = {
    CFG_STR("x", "", CFGF_NONE),
    CFG_END()
};

static int crash_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    (void)options;
    (void)err;
    (void)errlen;
    *instance = NULL;
    return 0;
}

/* The address is read from a volatile object at run time, so the
 * compiler can neither drop the store nor turn it into a trap instruction
 * (SIGILL). The sanitizers are kept out so that the death is a plain
 * SIGSEGV. */
static volatile uintptr_t crash_address;

#if defined(__GNUC__)
__attribute__((no_sanitize("undefined", "address")))
#endif
static void crash_check(void *instance, struct tocsin_check *chk)
{
    (void)instance;
    (void)chk;
    *(volatile int *)crash_address = 1;
}

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "crash",
    .version = "0.1.0",
    .summary = "test plugin: dies of SIGSEGV",
    .options = crash_options,
    .setup = crash_setup,
    .check = crash_check,
);
