/*
 * fuzz-registry.c - the descriptor-only registry of fuzz-registry.h.
 */
#include "fuzz-registry.h"

static cfg_opt_t check_opts[] = {
    CFG_STR("state", "ok", CFGF_NONE),
    CFG_STR("output", "", CFGF_NONE),
    TOCSIN_OPT_RANGE("warning", ""),
    TOCSIN_OPT_RANGES("critical", ""),
    TOCSIN_OPT_DURATION("delay", 0),
    CFG_END()
};

static cfg_opt_t notifier_opts[] = {
    CFG_STR("template", "{status} {service}: {output}", CFGF_NONE),
    CFG_END()
};

static const struct tocsin_plugin check_plugin = {
    .abi = TOCSIN_PLUGIN_ABI,
    .size = sizeof(struct tocsin_plugin),
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "dummy",
    .version = "1",
    .summary = "a check for the fuzz harnesses",
    .options = check_opts,
};

static const struct tocsin_plugin notifier_plugin = {
    .abi = TOCSIN_PLUGIN_ABI,
    .size = sizeof(struct tocsin_plugin),
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .name = "console",
    .version = "1",
    .summary = "a notifier for the fuzz harnesses",
    .options = notifier_opts,
};

const struct tocsin_registry *tocsin_fuzz_registry(void)
{
    static struct tocsin_plugin_entry entries[] = {
        { .name = "dummy", .path = "dummy.la", .desc = &check_plugin },
        { .name = "console", .path = "console.la", .desc = &notifier_plugin },
    };
    static const struct tocsin_registry reg = { entries, 2 };

    return &reg;
}
