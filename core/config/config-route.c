/*
 * config-route.c - `route` sections: which alerts (severity, labels,
 * service globs) go to which notifiers, inside and outside a time period,
 * with repeats, grouping and escalation steps. Names are resolved in
 * config-resolve.c.
 */
#include "config/config.h"
#include "config/config-internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Routes                                                              */
/* ------------------------------------------------------------------ */

static cfg_opt_t escalation_opts[] = {
    TOCSIN_OPT_DURATION("after", 0),
    CFG_STR_LIST("notifiers", NULL, CFGF_NONE),
    CFG_END()
};

cfg_opt_t tocsin_conf_route_opts[] = {
    CFG_STR_LIST("severity", NULL, CFGF_NONE),
    CFG_SEC("labels", tocsin_conf_label_opts, CFGF_KEYSTRVAL),
    CFG_STR_LIST("services", NULL, CFGF_NONE),
    CFG_STR("period", NULL, CFGF_NONE),
    CFG_STR_LIST("notifiers", NULL, CFGF_NONE),
    CFG_STR_LIST("outside_notifiers", NULL, CFGF_NONE),
    CFG_BOOL("continue", cfg_false, CFGF_NONE),
    CFG_STR("defer", NULL, CFGF_NONE),
    TOCSIN_OPT_DURATION("repeat_interval", 0),
    TOCSIN_OPT_DURATION("group_wait", 0),
    CFG_SEC("escalation", escalation_opts, CFGF_MULTI),
    CFG_END()
};

void tocsin_conf_free_route(struct tocsin_route_conf *r)
{
    size_t i;

    free(r->name);
    free(r->file);
    tocsin_conf_free_labels(r->match, r->nmatch);
    tocsin_conf_free_str_list(r->services, r->nservices);
    free(r->period);
    free(r->defer);
    tocsin_conf_free_str_list(r->during_names, r->nduring);
    free(r->during);
    tocsin_conf_free_str_list(r->outside_names, r->noutside);
    free(r->outside);
    for (i = 0; i < r->nescalations; i++) {
        tocsin_conf_free_str_list(r->escalations[i].names, r->escalations[i].nnotifiers);
        free(r->escalations[i].notifiers);
    }
    free(r->escalations);
}

static int cmp_escalation(const void *a, const void *b)
{
    const struct tocsin_escalation *x = a, *y = b;

    return x->after_ms < y->after_ms ? -1 : x->after_ms > y->after_ms;
}

/* Called by libconfuse when a route section ends. */
int tocsin_conf_route_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = tocsin_conf_parse->conf;
    struct tocsin_route_conf *r;
    const char *title;
    int errors = 0;
    unsigned i;

    if (!sec)
        goto out;
    if (tocsin_conf_grow((void **)&conf->routes, conf->nroutes, &tocsin_conf_parse->routes_cap,
                         sizeof(*conf->routes)) < 0) {
        tocsin_conf_error(tocsin_conf_parse->file, cfg->line, "out of memory");
        goto out;
    }
    r = &conf->routes[conf->nroutes];
    memset(r, 0, sizeof(*r));
    title = cfg_title(sec);
    r->line = tocsin_conf_section_line(sec);
    r->period_index = -1;
    r->defer_index = -1;
    r->name = strdup(title ? title : "");
    r->file = strdup(tocsin_conf_parse->file);
    if (!r->name || !r->file)
        goto oom;
    for (i = 0; i < cfg_size(sec, "severity"); i++) {
        const char *v = cfg_getnstr(sec, "severity", i);
        int level = tocsin_severity_parse(v);

        if (level < 0) {
            tocsin_conf_error(tocsin_conf_parse->file,
                              tocsin_conf_pending_line("severity")
                                  ? tocsin_conf_pending_line("severity")
                                  : r->line,
                              "route '%s': severity \"%s\" is not one of info, warning, error, "
                              "critical",
                              r->name, v ? v : "");
            errors++;
            continue;
        }
        r->severities |= 1u << level;
    }
    if (tocsin_conf_copy_labels(cfg_getsec(sec, "labels"), r->name, r->line, &r->match, &r->nmatch,
                                &errors) < 0 ||
        tocsin_conf_copy_str_list(sec, "services", &r->services, &r->nservices) < 0 ||
        tocsin_conf_copy_str_list(sec, "notifiers", &r->during_names, &r->nduring) < 0 ||
        tocsin_conf_copy_str_list(sec, "outside_notifiers", &r->outside_names, &r->noutside) < 0)
        goto oom;
    if (cfg_getstr(sec, "period") && !(r->period = strdup(cfg_getstr(sec, "period"))))
        goto oom;
    if (cfg_getstr(sec, "defer") && !(r->defer = strdup(cfg_getstr(sec, "defer"))))
        goto oom;
    r->defer_line = tocsin_conf_pending_line("defer") ? tocsin_conf_pending_line("defer")
                                                      : r->line;
    if (r->noutside && !r->period) {
        tocsin_conf_error(tocsin_conf_parse->file,
                          tocsin_conf_pending_line("outside_notifiers")
                              ? tocsin_conf_pending_line("outside_notifiers")
                              : r->line,
                          "route '%s': outside_notifiers needs a period", r->name);
        errors++;
    }
    r->cont = cfg_getbool(sec, "continue") == cfg_true;
    r->repeat_interval_ms = cfg_getint(sec, "repeat_interval");
    r->group_wait_ms = cfg_getint(sec, "group_wait");
    if (cfg_size(sec, "escalation")) {
        r->escalations = calloc(cfg_size(sec, "escalation"), sizeof(*r->escalations));
        if (!r->escalations)
            goto oom;
    }
    for (i = 0; i < cfg_size(sec, "escalation"); i++) {
        cfg_t *e = cfg_getnsec(sec, "escalation", i);
        struct tocsin_escalation *esc = &r->escalations[r->nescalations++];

        esc->line = e->line ? e->line : r->line;
        esc->after_ms = cfg_getint(e, "after");
        if (tocsin_conf_copy_str_list(e, "notifiers", &esc->names, &esc->nnotifiers) < 0)
            goto oom;
        if (esc->after_ms <= 0 || !esc->nnotifiers) {
            tocsin_conf_error(tocsin_conf_parse->file, esc->line,
                              "route '%s': an escalation needs after = "
                              "DURATION (more than zero) and notifiers = { ... }",
                              r->name);
            errors++;
        }
    }
    if (r->nescalations > 1)
        qsort(r->escalations, r->nescalations, sizeof(*r->escalations), cmp_escalation);
    if (errors) {
        tocsin_conf_free_route(r);
        goto out;
    }
    conf->nroutes++;
    goto out;
oom:
    tocsin_conf_error(tocsin_conf_parse->file, cfg->line, "out of memory");
    tocsin_conf_free_route(r);
out:
    tocsin_conf_parse->npending = 0;
    tocsin_conf_drop_section(opt);
    return 0;
}


/* "every alert" or "every info, warning alert" for severity bits `sev`. */
static void put_severities(struct tocsin_buf *out, unsigned sev)
{
    int i, n = 0;

    if (!sev) {
        tocsin_buf_puts(out, "every alert");
        return;
    }
    tocsin_buf_puts(out, "every ");
    for (i = TOCSIN_SEVERITY_INFO; i <= TOCSIN_SEVERITY_CRITICAL; i++)
        if (sev & (1u << i))
            tocsin_buf_printf(out, "%s%s", n++ ? ", " : "", tocsin_severity_name(i));
    tocsin_buf_puts(out, " alert");
}

size_t tocsin_config_route_warnings(const struct tocsin_config *conf, struct tocsin_buf *out)
{
    size_t i, j, n = 0;

    for (j = 1; j < conf->nroutes; j++) {
        const struct tocsin_route_conf *late = &conf->routes[j];

        for (i = 0; i < j; i++) {
            const struct tocsin_route_conf *e = &conf->routes[i];

            if (e->cont || e->nmatch || e->nservices)
                continue;
            if (e->severities && (!late->severities || (late->severities & ~e->severities)))
                continue;
            tocsin_buf_printf(out, "%s:%d: route '%s' can never match: route '%s' before it "
                              "(%s:%d) takes ", late->file, late->line, late->name, e->name,
                              e->file, e->line);
            put_severities(out, e->severities);
            tocsin_buf_puts(out, " without continue = true\n");
            n++;
            break;
        }
    }
    return n;
}
