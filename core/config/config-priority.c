/*
 * config-priority.c - `priority "NAME" { respond_within; resolve_within }`
 * sections (the priorities incidents are given, most urgent first, and
 * their targets), `priority_rule { severity; labels; services; priority }`
 * sections (which incidents get which one), the built-in P1..P4 when none
 * is defined, and the names rules and services give resolved against them.
 */
#include "config/config.h"
#include "config/config-internal.h"

#include <stdlib.h>
#include <string.h>

cfg_opt_t tocsin_conf_priority_opts[] = {
    TOCSIN_OPT_DURATION("respond_within", 0),
    TOCSIN_OPT_DURATION("resolve_within", 0),
    CFG_END()
};

cfg_opt_t tocsin_conf_priority_rule_opts[] = {
    CFG_STR_LIST("severity", NULL, CFGF_NONE),
    CFG_SEC("labels", tocsin_conf_label_opts, CFGF_KEYSTRVAL),
    CFG_STR_LIST("services", NULL, CFGF_NONE),
    CFG_STR("priority", NULL, CFGF_NONE),
    CFG_END()
};

/* The priorities a configuration without `priority` sections has. */
static const struct {
    const char *name;
    int64_t respond_within_ms, resolve_within_ms;
} builtin[] = {
    { "P1", 15 * 60000LL, 2 * 3600000LL },
    { "P2", 30 * 60000LL, 4 * 3600000LL },
    { "P3", 2 * 3600000LL, 24 * 3600000LL },
    { "P4", 8 * 3600000LL, 72 * 3600000LL },
};

#define LINE_OF(n, dflt) (tocsin_conf_pending_line(n) ? tocsin_conf_pending_line(n) : (dflt))

static void rule_free(struct tocsin_priority_rule *r)
{
    free(r->file);
    tocsin_conf_free_labels(r->match, r->nmatch);
    tocsin_conf_free_str_list(r->services, r->nservices);
    free(r->priority);
}

void tocsin_conf_free_priorities(struct tocsin_config *conf)
{
    size_t i;

    for (i = 0; i < conf->npriorities; i++) {
        free(conf->priorities[i].name);
        free(conf->priorities[i].file);
    }
    free(conf->priorities);
    for (i = 0; i < conf->npriority_rules; i++)
        rule_free(&conf->priority_rules[i]);
    free(conf->priority_rules);
    conf->priorities = NULL;
    conf->priority_rules = NULL;
    conf->npriorities = conf->npriority_rules = 0;
}

/* The index of priority `name`, or -1. O(priorities). */
static long find_priority(const struct tocsin_config *conf, const char *name)
{
    size_t i;

    for (i = 0; i < conf->npriorities; i++)
        if (strcmp(conf->priorities[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* Called by libconfuse when a priority section ends. */
int tocsin_conf_priority_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = tocsin_conf_parse->conf;
    const char *f = tocsin_conf_parse->file;
    struct tocsin_priority_conf *p;
    const char *title;
    long dup;
    int line;

    if (!sec)
        goto out;
    title = cfg_title(sec);
    line = tocsin_conf_section_line(sec);
    if (!title || !tocsin_conf_valid_name(title)) {
        tocsin_conf_error(f, line, "priority \"%s\" is not a valid name: use 1 to 200 "
                          "printable characters without spaces, '/' or '\"'",
                          title ? title : "");
        goto out;
    }
    if ((dup = find_priority(conf, title)) >= 0) {
        tocsin_conf_error(f, line, "priority '%s' is defined twice (first at %s:%d)", title,
                          conf->priorities[dup].file, conf->priorities[dup].line);
        goto out;
    }
    if (tocsin_conf_grow((void **)&conf->priorities, conf->npriorities,
                         &tocsin_conf_parse->priorities_cap, sizeof(*conf->priorities)) < 0)
        goto oom;
    p = &conf->priorities[conf->npriorities];
    memset(p, 0, sizeof(*p));
    p->line = line;
    p->respond_within_ms = tocsin_conf_get_int(sec, "respond_within");
    p->resolve_within_ms = tocsin_conf_get_int(sec, "resolve_within");
    if (p->respond_within_ms && p->resolve_within_ms &&
        p->resolve_within_ms <= p->respond_within_ms) {
        tocsin_conf_error(f, LINE_OF("resolve_within", line),
                          "priority '%s': resolve_within must be longer than respond_within",
                          title);
        goto out;
    }
    p->name = strdup(title);
    p->file = strdup(f);
    if (!p->name || !p->file) {
        free(p->name);
        free(p->file);
        goto oom;
    }
    conf->npriorities++;
    goto out;
oom:
    tocsin_conf_error(f, cfg->line, "out of memory");
out:
    tocsin_conf_parse->npending = 0;
    tocsin_conf_drop_section(opt);
    return 0;
}

/* Called by libconfuse when a priority_rule section ends. */
int tocsin_conf_priority_rule_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = tocsin_conf_parse->conf;
    const char *f = tocsin_conf_parse->file;
    struct tocsin_priority_rule *r;
    const char *prio;
    int errors = 0;
    unsigned i;

    if (!sec)
        goto out;
    if (tocsin_conf_grow((void **)&conf->priority_rules, conf->npriority_rules,
                         &tocsin_conf_parse->priority_rules_cap,
                         sizeof(*conf->priority_rules)) < 0) {
        tocsin_conf_error(f, cfg->line, "out of memory");
        goto out;
    }
    r = &conf->priority_rules[conf->npriority_rules];
    memset(r, 0, sizeof(*r));
    r->line = tocsin_conf_section_line(sec);
    r->priority_index = -1;
    if (!(r->file = strdup(f)))
        goto oom;
    for (i = 0; i < cfg_size(sec, "severity"); i++) {
        const char *v = cfg_getnstr(sec, "severity", i);
        int level = tocsin_severity_parse(v);

        if (level < 0) {
            tocsin_conf_error(f, LINE_OF("severity", r->line),
                              "priority_rule: severity \"%s\" is not one of info, warning, "
                              "error, critical", v ? v : "");
            errors++;
            continue;
        }
        r->severities |= 1u << level;
    }
    if (tocsin_conf_copy_labels(cfg_getsec(sec, "labels"), "priority_rule", r->line,
                                &r->match, &r->nmatch, &errors) < 0 ||
        tocsin_conf_copy_str_list(sec, "services", &r->services, &r->nservices) < 0)
        goto oom;
    prio = cfg_getstr(sec, "priority");
    if (!prio || !*prio) {
        tocsin_conf_error(f, r->line, "priority_rule: it needs priority = \"NAME\"");
        errors++;
    } else if (!(r->priority = strdup(prio))) {
        goto oom;
    }
    if (errors) {
        rule_free(r);
        goto out;
    }
    /* The priority is checked once every file is read: a conf.d file may
     * define the priorities another one's rule names. */
    r->line = LINE_OF("priority", r->line);
    conf->npriority_rules++;
    goto out;
oom:
    tocsin_conf_error(f, cfg->line, "out of memory");
    rule_free(r);
out:
    tocsin_conf_parse->npending = 0;
    tocsin_conf_drop_section(opt);
    return 0;
}

void tocsin_conf_resolve_priorities(struct tocsin_config *conf)
{
    size_t i;

    if (!conf->npriorities) {
        size_t n = sizeof(builtin) / sizeof(builtin[0]);

        conf->priorities = calloc(n, sizeof(*conf->priorities));
        if (!conf->priorities)
            goto oom;
        for (i = 0; i < n; i++) {
            struct tocsin_priority_conf *p = &conf->priorities[i];

            if (!(p->name = strdup(builtin[i].name)))
                goto oom;
            conf->npriorities++;
            p->respond_within_ms = builtin[i].respond_within_ms;
            p->resolve_within_ms = builtin[i].resolve_within_ms;
        }
    }
    for (i = 0; i < conf->npriority_rules; i++) {
        struct tocsin_priority_rule *r = &conf->priority_rules[i];

        r->priority_index = find_priority(conf, r->priority);
        if (r->priority_index < 0)
            tocsin_conf_error(r->file, r->line, "priority_rule: no priority named '%s'",
                              r->priority);
    }
    for (i = 0; i < conf->nservices; i++) {
        struct tocsin_service_conf *s = &conf->services[i];

        s->priority_index = s->priority ? find_priority(conf, s->priority) : -1;
        if (s->priority && s->priority_index < 0)
            tocsin_conf_error(s->inst.file, s->priority_line, "%s '%s': no priority named '%s'",
                              s->is_group ? "group" : "service", s->inst.name, s->priority);
    }
    return;
oom:
    tocsin_conf_error(conf->path, 1, "out of memory");
}
