/*
 * hog.c - a broken check plugin for tests: check() allocates and touches
 * memory 64 MiB at a time until none is left, then, like a plugin that
 * never checks malloc(), writes through the NULL it got and crashes.
 * Under the workers' RLIMIT_AS that happens quickly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin-plugin.h"

#define HOG_STEP (64UL * 1024 * 1024)

/* The newest block; each block starts with a pointer to the one before,
 * so nothing the hog holds can be optimised away. */
static void *volatile hog_chain;

/* Read at run time, so the crash below cannot be optimised away. */
static volatile uintptr_t hog_null;

static cfg_opt_t hog_options[] = {
    CFG_STR("x", "", CFGF_NONE),
    CFG_END()
};

static int hog_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    (void)options;
    (void)err;
    (void)errlen;
    *instance = NULL;
    return 0;
}

#if defined(__GNUC__)
__attribute__((no_sanitize("undefined", "address")))
#endif
static void hog_check(void *instance, struct tocsin_check *chk)
{
    void **block;

    (void)instance;
    (void)chk;
    for (;;) {
        block = malloc(HOG_STEP);
        if (!block)
            break;
        /* Touch every page, so that the memory is really committed. */
        memset(block, 0xa5, HOG_STEP);
        block[0] = hog_chain;
        hog_chain = block;
    }
    /* Out of memory: carry on like a plugin that never checks. */
    *(volatile int *)hog_null = 1;
}

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "hog",
    .version = "0.1.0",
    .summary = "test plugin: exhausts memory",
    .options = hog_options,
    .setup = hog_setup,
    .check = hog_check,
);
