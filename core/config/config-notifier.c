/*
 * config-notifier.c - `notifier` sections: a notifier plugin instance with
 * its delivery timeout, retry and expiry, under a unique name.
 */
#include "config/config.h"
#include "config/config-internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Notifiers                                                           */
/* ------------------------------------------------------------------ */

cfg_opt_t tocsin_conf_notifier_opts[] = {
    CFG_STR("plugin", NULL, CFGF_NONE),
    CFG_BOOL("enabled", cfg_true, CFGF_NONE),
    CFG_BOOL("send_resolved", cfg_true, CFGF_NONE),
    TOCSIN_OPT_DURATION("timeout", 30000),
    TOCSIN_OPT_DURATION("retry_min", 30000),
    TOCSIN_OPT_DURATION("retry_max", 900000),
    TOCSIN_OPT_DURATION("expire", 86400000),
    CFG_END()
};

int tocsin_conf_notifier_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = tocsin_conf_parse->conf;
    struct tocsin_notifier_conf *n;
    long first;

    if (!sec)
        goto out;
    if (tocsin_conf_grow((void **)&conf->notifiers, conf->nnotifiers,
                         &tocsin_conf_parse->notifiers_cap, sizeof(*conf->notifiers)) < 0) {
        tocsin_conf_error(tocsin_conf_parse->file, cfg->line, "out of memory");
        goto out;
    }
    n = &conf->notifiers[conf->nnotifiers];
    memset(n, 0, sizeof(*n));
    if (tocsin_conf_build_instance(sec, tocsin_conf_notifier_opts, "plugin", TOCSIN_PLUGIN_NOTIFIER,
                                   &n->inst) < 0) {
        tocsin_conf_free_instance(&n->inst);
        goto out;
    }
    n->enabled = tocsin_conf_get_bool(sec, "enabled");
    n->send_resolved = tocsin_conf_get_bool(sec, "send_resolved");
    n->timeout_ms = tocsin_conf_get_int(sec, "timeout");
    n->retry_min_ms = tocsin_conf_get_int(sec, "retry_min");
    n->retry_max_ms = tocsin_conf_get_int(sec, "retry_max");
    n->expire_ms = tocsin_conf_get_int(sec, "expire");
    n->forwards_results = (n->inst.plugin->flags & TOCSIN_PLUGIN_RESULTS) != 0;
    if (n->timeout_ms <= 0 || n->retry_min_ms <= 0 || n->retry_max_ms < n->retry_min_ms ||
        n->expire_ms <= 0) {
        tocsin_conf_error(tocsin_conf_parse->file, n->inst.line,
                          "notifier '%s': timeout, retry_min and expire must "
                          "be more than zero and retry_max at least retry_min",
                          n->inst.name);
        tocsin_conf_free_instance(&n->inst);
        goto out;
    }
    first = tocsin_hashidx_find(&tocsin_conf_parse->notifier_names, n->inst.name);
    if (first >= 0) {
        tocsin_conf_error(tocsin_conf_parse->file, n->inst.line,
                          "duplicate notifier '%s' (first defined at %s:%d)", n->inst.name,
                          conf->notifiers[first].inst.file, conf->notifiers[first].inst.line);
        tocsin_conf_free_instance(&n->inst);
        goto out;
    }
    if (tocsin_hashidx_add(&tocsin_conf_parse->notifier_names, n->inst.name,
                           (uint32_t)conf->nnotifiers) < 0) {
        tocsin_conf_error(tocsin_conf_parse->file, cfg->line, "out of memory");
        tocsin_conf_free_instance(&n->inst);
        goto out;
    }
    conf->nnotifiers++;
out:
    tocsin_conf_parse->npending = 0;
    tocsin_conf_drop_section(opt);
    return 0;
}

