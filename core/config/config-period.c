/*
 * config-period.c - `timeperiod` sections: each is compiled by
 * timeperiod.c, which also evaluates them; this file only collects them.
 */
#include "config/config.h"
#include "config/config-internal.h"
#include "config/timeperiod.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Time periods                                                        */
/* ------------------------------------------------------------------ */

/* Called by libconfuse when a timeperiod section ends. */
int tocsin_conf_timeperiod_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = tocsin_conf_parse->conf;
    struct tocsin_timeperiod *tp;
    size_t before = tocsin_conf_parse->errors->len;

    if (!sec)
        goto out;
    if (tocsin_conf_grow((void **)&conf->periods, conf->nperiods, &tocsin_conf_parse->periods_cap,
                         sizeof(*conf->periods)) < 0) {
        tocsin_conf_error(tocsin_conf_parse->file, cfg->line, "out of memory");
        goto out;
    }
    tp = &conf->periods[conf->nperiods];
    memset(tp, 0, sizeof(*tp));
    if (tocsin_timeperiod_compile(sec, tocsin_conf_parse->file, tocsin_conf_section_line(sec), tp,
                                  tocsin_conf_parse->errors) < 0) {
        if (tocsin_conf_parse->errors->len == before)
            tocsin_conf_error(tocsin_conf_parse->file, sec->line, "time period '%s' is not valid",
                              cfg_title(sec) ? cfg_title(sec) : "");
        else
            tocsin_conf_parse->nerrors++;
        tocsin_timeperiod_free(tp);
        goto out;
    }
    conf->nperiods++;
out:
    tocsin_conf_parse->npending = 0;
    tocsin_conf_drop_section(opt);
    return 0;
}

