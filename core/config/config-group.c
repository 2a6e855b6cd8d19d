/*
 * config-group.c - `group` sections: a service computed from other
 * services' hard states, with members named or selected by labels (the
 * selection itself is resolved in config-resolve.c) and optional counts.
 */
#include "config/config.h"
#include "config/config-internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Groups                                                              */
/* ------------------------------------------------------------------ */

cfg_opt_t tocsin_conf_group_opts[] = {
    CFG_STR_LIST("members", NULL, CFGF_NONE),
    CFG_SEC("member_labels", tocsin_conf_label_opts, CFGF_KEYSTRVAL),
    CFG_STR("critical_at", NULL, CFGF_NONE),
    CFG_STR("warning_at", NULL, CFGF_NONE),
    CFG_INT("max_attempts", 1, CFGF_NONE),
    TOCSIN_CONF_ALERTING_OPTS,
    CFG_END()
};

/* "3" or "50%" into *c. Returns 0, or -1 when the text is neither. */
static int parse_count(const char *text, struct tocsin_count *c)
{
    char *end;

    c->n = strtod(text, &end);
    c->percent = 0;
    if (end == text || c->n < 0)
        return -1;
    if (*end == '%') {
        c->percent = 1;
        end++;
        if (c->n > 100)
            return -1;
    }
    return *end ? -1 : 0;
}

/* Called by libconfuse when a group section ends. */
int tocsin_conf_group_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_service_conf *s;
    const char *title, *ca, *wa;
    int errors = 0;

    if (!sec)
        goto out;
    s = tocsin_conf_new_service(cfg->line);
    if (!s)
        goto out;
    s->is_group = 1;
    title = cfg_title(sec);
    s->inst.line = tocsin_conf_section_line(sec);
    s->inst.file = tocsin_conf_intern(tocsin_conf_parse->file);
    s->inst.name = strdup(title ? title : "");
    if (!s->inst.file || !s->inst.name)
        goto oom;
    if (!tocsin_conf_valid_name(s->inst.name)) {
        tocsin_conf_error(tocsin_conf_parse->file, s->inst.line,
                          "group name \"%s\" is not valid: use 1 to 200 "
                          "printable characters without spaces, '/' or '\"'",
                          s->inst.name);
        errors++;
    }
    /* A group is judged when a member's hard state changes; it has no
     * schedule of its own, but keeps the fields sane for the code that
     * reads every service. */
    s->interval_us = s->retry_interval_us = 60 * 1000000LL;
    s->timeout_us = 1000000;
    s->timeout_state = TOCSIN_UNKNOWN;
    s->max_attempts = (int)cfg_getint(sec, "max_attempts");
    if (s->max_attempts < 1 || s->max_attempts > 1000) {
        tocsin_conf_error(tocsin_conf_parse->file,
                          tocsin_conf_pending_line("max_attempts")
                              ? tocsin_conf_pending_line("max_attempts")
                              : s->inst.line,
                          "max_attempts must be between 1 and 1000");
        errors++;
    }
    if (tocsin_conf_build_alerting(sec, s, "group") < 0)
        errors++;
    s->members_line = tocsin_conf_pending_line("members") ? tocsin_conf_pending_line("members")
                                                          : s->inst.line;
    if (tocsin_conf_copy_str_list(sec, "members", &s->member_names, &s->nmember_names) < 0 ||
        tocsin_conf_copy_labels(cfg_getsec(sec, "member_labels"), s->inst.name, s->inst.line,
                                &s->member_labels, &s->nmember_labels, &errors) < 0)
        goto oom;
    if (!s->nmember_names && !s->nmember_labels) {
        tocsin_conf_error(tocsin_conf_parse->file, s->inst.line,
                          "group '%s' has no members: give members = "
                          "{ \"service\", ... } or member_labels { key = \"value\" }",
                          s->inst.name);
        errors++;
    }
    ca = cfg_getstr(sec, "critical_at");
    wa = cfg_getstr(sec, "warning_at");
    s->critical_at.n = s->warning_at.n = -1;
    s->group_mode = ca || wa ? TOCSIN_GROUP_COUNT : TOCSIN_GROUP_WORST;
    if (ca && parse_count(ca, &s->critical_at) < 0) {
        tocsin_conf_error(tocsin_conf_parse->file,
                          tocsin_conf_pending_line("critical_at")
                              ? tocsin_conf_pending_line("critical_at")
                              : s->inst.line,
                          "critical_at \"%s\" is not a count (\"2\") or a "
                          "percentage (\"50%%\")",
                          ca);
        errors++;
    }
    if (wa && parse_count(wa, &s->warning_at) < 0) {
        tocsin_conf_error(tocsin_conf_parse->file,
                          tocsin_conf_pending_line("warning_at")
                              ? tocsin_conf_pending_line("warning_at")
                              : s->inst.line,
                          "warning_at \"%s\" is not a count (\"1\") or a "
                          "percentage (\"25%%\")",
                          wa);
        errors++;
    }
    if (errors || tocsin_conf_commit_service(s, "group", cfg->line) < 0)
        tocsin_conf_free_service(s);
    goto out;
oom:
    tocsin_conf_error(tocsin_conf_parse->file, cfg->line, "out of memory");
    tocsin_conf_free_service(s);
out:
    tocsin_conf_parse->npending = 0;
    tocsin_conf_drop_section(opt);
    return 0;
}

