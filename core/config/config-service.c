/*
 * config-service.c - `service` sections: their option table, the options
 * services and groups share (host, labels, severity, dependencies, flap
 * detection), adding a service or group under a name not yet taken, and
 * the fingerprint of a service's definition that a reload compares.
 */
#include "config/config.h"
#include "config/config-internal.h"
#include "config/timeperiod.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Services                                                            */
/* ------------------------------------------------------------------ */

cfg_opt_t tocsin_conf_label_opts[] = {CFG_END()};

/* 1 when every value inside `inner` (a range that alerts outside) is
 * inside `outer` too. */
static int range_within(const struct tocsin_range *inner, const struct tocsin_range *outer)
{
    if (!outer->start_infinite && (inner->start_infinite || inner->start < outer->start))
        return 0;
    if (!outer->end_infinite && (inner->end_infinite || inner->end > outer->end))
        return 0;
    return 1;
}

int tocsin_threshold_clear_check(const struct tocsin_thresholds *th,
                                 const struct tocsin_range *clear, char *why, size_t len)
{
    const struct tocsin_range *ref = th->warning.set ? &th->warning : &th->critical;
    char c[128], r[128];

    if (!clear->set)
        return 0;
    tocsin_range_format(clear, c, sizeof(c));
    tocsin_range_format(ref, r, sizeof(r));
    if (clear->inside || ref->inside || (th->critical.set && th->critical.inside)) {
        snprintf(why, len, "clear = \"%s\" cannot be used with a range that alerts "
                 "inside (@): give plain ranges", c);
        return -1;
    }
    if (!range_within(clear, ref)) {
        snprintf(why, len, "clear = \"%s\" is not inside the %s range \"%s\": a value it "
                 "lets recover would still be a problem", c,
                 th->warning.set ? "warning" : "critical", r);
        return -1;
    }
    return 0;
}

static cfg_opt_t threshold_opts[] = {
    TOCSIN_OPT_RANGE("warning", NULL),
    TOCSIN_OPT_RANGE("critical", NULL),
    TOCSIN_OPT_RANGE("clear", NULL),
    CFG_END()
};

cfg_opt_t tocsin_conf_severity_opts[] = {
    CFG_STR("ok", "info", CFGF_NONE),
    CFG_STR("warning", "warning", CFGF_NONE),
    CFG_STR("critical", "critical", CFGF_NONE),
    CFG_STR("unknown", "error", CFGF_NONE),
    CFG_END()
};

cfg_opt_t tocsin_conf_service_opts[] = {
    CFG_STR("check", NULL, CFGF_NONE),
    TOCSIN_OPT_DURATION("interval", 60000),
    TOCSIN_OPT_DURATION("retry_interval", 60000),
    CFG_INT("max_attempts", 3, CFGF_NONE),
    TOCSIN_OPT_DURATION("hard_after", 0),
    CFG_STR_LIST("at", NULL, CFGF_NONE),
    CFG_STR("timezone", NULL, CFGF_NONE),
    CFG_STR("check_period", NULL, CFGF_NONE),
    TOCSIN_OPT_DURATION("timeout", 10000),
    CFG_STR("timeout_state", "unknown", CFGF_NONE),
    CFG_SEC("threshold", threshold_opts, CFGF_MULTI | CFGF_TITLE),
    CFG_BOOL("passive", cfg_false, CFGF_NONE),
    CFG_BOOL("accept_passive", cfg_false, CFGF_NONE),
    TOCSIN_OPT_DURATION("expect_every", 0),
    TOCSIN_CONF_ALERTING_OPTS,
    CFG_END()
};

/* 1 when plugin `p` has an option `name` of its own. O(options). */
static int plugin_has_option(const struct tocsin_plugin *p, const char *name)
{
    const cfg_opt_t *o;

    for (o = p && p->options ? p->options : NULL; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return 1;
    return 0;
}

/*
 * The host a service's alerts name: display_host when given; else `host`,
 * unless the check plugin has a `host` option of its own (the target of
 * http, mysql, ...: the machine checked, not where the service belongs);
 * else the global host, this agent's.
 */
static const char *alerting_host(cfg_t *sec, const struct tocsin_service_conf *s)
{
    const char *display = tocsin_conf_get_str(sec, "display_host");
    const char *host = tocsin_conf_get_str(sec, "host");

    if (display && *display)
        return display;
    if (host && *host && !plugin_has_option(s->inst.plugin, "host"))
        return host;
    return tocsin_conf_parse->conf->host;
}

/*
 * The options services and groups share: host, labels, severity mapping,
 * dependencies, link, scheduled downtime, flap detection. Returns 0, or
 * -1 when an error was reported (or memory ran out).
 */
int tocsin_conf_build_alerting(cfg_t *sec, struct tocsin_service_conf *s, const char *what)
{
    const char *f = tocsin_conf_parse->file;
    cfg_t *sev = tocsin_conf_get_sec(sec, "severity");
    struct tocsin_buf owner = TOCSIN_BUF_INIT;
    int errors = 0, i;
    static const char *const state_keys[4] = { "ok", "warning", "critical", "unknown" };

#define LINE_OF(n) (tocsin_conf_pending_line(n) ? tocsin_conf_pending_line(n) : s->inst.line)
    tocsin_buf_printf(&owner, "%s '%s'", what, s->inst.name);
    /* Unset: the main file's flap_detection, applied once it is read. */
    s->flap_detection = tocsin_conf_pending_line("flap_detection")
                        ? tocsin_conf_get_bool(sec, "flap_detection") : -1;
    s->flap_low = tocsin_conf_get_float(sec, "flap_low");
    s->flap_high = tocsin_conf_get_float(sec, "flap_high");
    if (s->flap_low < 0 || s->flap_high > 100 || s->flap_low >= s->flap_high) {
        tocsin_conf_error(f,
                          LINE_OF(tocsin_conf_pending_line("flap_high") ? "flap_high" : "flap_low"),
                          "flap thresholds need 0 <= flap_low < flap_high <= 100 "
                          "(have %g and %g)",
                          s->flap_low, s->flap_high);
        errors++;
    }
    s->host = tocsin_conf_intern(alerting_host(sec, s));
    if (!s->host)
        goto oom;
    if (tocsin_conf_copy_labels(tocsin_conf_get_sec(sec, "labels"), tocsin_buf_str(&owner),
                                s->inst.line, &s->labels, &s->nlabels, &errors) < 0)
        goto oom;
    for (i = 0; i < 4; i++) {
        static const char *const defaults[4] = { "info", "warning", "critical", "error" };
        const char *v = sev ? cfg_getstr(sev, state_keys[i]) : defaults[i];
        int level = tocsin_severity_parse(v);

        if (level < 0) {
            tocsin_conf_error(f, sev ? sev->line : s->inst.line,
                              "%s: severity for %s \"%s\" "
                              "is not one of info, warning, error, critical",
                              tocsin_buf_str(&owner), state_keys[i], v ? v : "");
            errors++;
            level = TOCSIN_SEVERITY_ERROR;
        }
        s->severity[i == 0 ? TOCSIN_OK : i == 1 ? TOCSIN_WARNING
                    : i == 2 ? TOCSIN_CRITICAL : TOCSIN_UNKNOWN] = (enum tocsin_severity)level;
    }
    if (tocsin_conf_copy_str_list(sec, "depends", &s->depends, &s->ndepends) < 0)
        goto oom;
    s->depends_line = LINE_OF("depends");
    s->downtime_period_line = LINE_OF("downtime_period");
    if (tocsin_conf_get_str(sec, "link") && !(s->link = strdup(tocsin_conf_get_str(sec, "link"))))
        goto oom;
    s->downtime_period_index = -1;
    if (tocsin_conf_get_str(sec, "downtime_period") &&
        !(s->downtime_period = strdup(tocsin_conf_get_str(sec, "downtime_period"))))
        goto oom;
    /* Resolved once every priority is known (config-priority.c). */
    s->priority_index = -1;
    s->priority_line = LINE_OF("priority");
    if (tocsin_conf_get_str(sec, "priority") &&
        !(s->priority = strdup(tocsin_conf_get_str(sec, "priority"))))
        goto oom;
#undef LINE_OF
    tocsin_buf_free(&owner);
    return errors ? -1 : 0;
oom:
    tocsin_conf_error(f, s->inst.line, "out of memory");
    tocsin_buf_free(&owner);
    return -1;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* `at`, `timezone` and `check_period`: when a service runs besides its
 * interval. Returns the number of errors reported, or -1 out of memory. */
static int build_schedule(cfg_t *sec, struct tocsin_service_conf *s)
{
    const char *f = tocsin_conf_parse->file;
    const char *tz = tocsin_conf_get_str(sec, "timezone");
    const char *period = tocsin_conf_get_str(sec, "check_period");
    unsigned i, n = cfg_size(sec, "at");
    int errors = 0;
    size_t k;
    char err[256];

#define LINE_OF(n) (tocsin_conf_pending_line(n) ? tocsin_conf_pending_line(n) : s->inst.line)
    s->check_period_index = -1;
    if (period && !(s->check_period = strdup(period)))
        return -1;
    if (tz && *tz) {
        if (tocsin_timezone_check(tz, err, sizeof(err)) < 0) {
            tocsin_conf_error(f, LINE_OF("timezone"), "service '%s': timezone: %s",
                              s->inst.name, err);
            errors++;
        } else if (!(s->timezone = strdup(tz))) {
            return -1;
        }
    }
    if (!tocsin_conf_pending_line("at"))
        return errors;
    if (tocsin_conf_pending_line("interval")) {
        tocsin_conf_error(f, LINE_OF("at"), "service '%s': at and interval (line %d) exclude "
                          "each other: a service runs at fixed times or every interval",
                          s->inst.name, tocsin_conf_pending_line("interval"));
        errors++;
    }
    if (!n) {
        tocsin_conf_error(f, LINE_OF("at"), "service '%s': at needs at least one time of day "
                          "(\"HH:MM\")", s->inst.name);
        return errors + 1;
    }
    s->at_minutes = calloc(n, sizeof(*s->at_minutes));
    if (!s->at_minutes)
        return -1;
    for (i = 0; i < n; i++) {
        const char *v = cfg_getnstr(sec, "at", i);
        int m;

        if (tocsin_clock_parse(v, &m) < 0) {
            tocsin_conf_error(f, LINE_OF("at"), "service '%s': at: \"%s\" is not a time of "
                              "day (\"HH:MM\", 00:00 to 23:59)", s->inst.name, v ? v : "");
            errors++;
            continue;
        }
        s->at_minutes[s->nat++] = m;
    }
    qsort(s->at_minutes, s->nat, sizeof(*s->at_minutes), cmp_int);
    for (i = 0, k = 0; i < s->nat; i++)       /* "09:00" twice runs once */
        if (k == 0 || s->at_minutes[k - 1] != s->at_minutes[i])
            s->at_minutes[k++] = s->at_minutes[i];
    s->nat = k;
    /* What the phase arithmetic sees: a day between regular runs. */
    s->interval_us = 86400LL * 1000000;
#undef LINE_OF
    return errors;
}

/* Validate the core options of a service section and fill `s`. */
static int build_service_core(cfg_t *sec, struct tocsin_service_conf *s)
{
    const char *f = tocsin_conf_parse->file;
    const char *ts = tocsin_conf_get_str(sec, "timeout_state");
    int errors = 0, sched_errors;
    unsigned i;

#define LINE_OF(n) (tocsin_conf_pending_line(n) ? tocsin_conf_pending_line(n) : s->inst.line)
    s->interval_us = tocsin_conf_get_int(sec, "interval") * 1000;
    s->retry_interval_us = tocsin_conf_get_int(sec, "retry_interval") * 1000;
    s->timeout_us = tocsin_conf_get_int(sec, "timeout") * 1000;
    s->max_attempts = (int)tocsin_conf_get_int(sec, "max_attempts");
    if (s->interval_us <= 0) {
        tocsin_conf_error(f, LINE_OF("interval"), "interval must be greater than zero");
        errors++;
    }
    if (s->retry_interval_us <= 0) {
        tocsin_conf_error(f, LINE_OF("retry_interval"), "retry_interval must be greater than zero");
        errors++;
    }
    if (s->timeout_us <= 0) {
        tocsin_conf_error(f, LINE_OF("timeout"), "timeout must be greater than zero");
        errors++;
    }
    if (tocsin_conf_get_int(sec, "max_attempts") < 1 ||
        tocsin_conf_get_int(sec, "max_attempts") > 1000) {
        tocsin_conf_error(f, LINE_OF("max_attempts"), "max_attempts must be between 1 and 1000");
        errors++;
    }
    if (tocsin_conf_pending_line("hard_after")) {
        s->hard_after_us = tocsin_conf_get_int(sec, "hard_after") * 1000;
        if (tocsin_conf_pending_line("max_attempts")) {
            tocsin_conf_error(f, LINE_OF("hard_after"),
                              "service '%s': hard_after and max_attempts (line %d) exclude "
                              "each other: a problem becomes hard after a time or after "
                              "a number of checks", s->inst.name,
                              tocsin_conf_pending_line("max_attempts"));
            errors++;
        } else if (s->hard_after_us <= 0) {
            tocsin_conf_error(f, LINE_OF("hard_after"), "hard_after must be greater than zero");
            errors++;
        }
    }
    if (ts && strcasecmp(ts, "unknown") == 0) {
        s->timeout_state = TOCSIN_UNKNOWN;
    } else if (ts && strcasecmp(ts, "critical") == 0) {
        s->timeout_state = TOCSIN_CRITICAL;
    } else {
        tocsin_conf_error(f, LINE_OF("timeout_state"),
                          "timeout_state \"%s\" is not one of unknown, critical", ts ? ts : "");
        errors++;
    }
    if (cfg_size(sec, "threshold")) {
        s->thresholds = calloc(cfg_size(sec, "threshold"), sizeof(*s->thresholds));
        if (!s->thresholds)
            return -1;
    }
    for (i = 0; i < cfg_size(sec, "threshold"); i++) {
        cfg_t *t = cfg_getnsec(sec, "threshold", i);
        struct tocsin_perf_threshold *pt = &s->thresholds[s->nthresholds];
        char why[256];

        pt->label = strdup(cfg_title(t) ? cfg_title(t) : "");
        pt->line = t->line ? t->line : s->inst.line;
        if (!pt->label)
            return -1;
        s->nthresholds++;
        if (!*pt->label) {
            tocsin_conf_error(f, pt->line,
                              "service '%s': threshold needs a perfdata label "
                              "(threshold \"LABEL\" { ... })",
                              s->inst.name);
            errors++;
        } else if (tocsin_option_thresholds(t, "warning", "critical", &pt->th, why, sizeof(why)) <
                   0) {
            tocsin_conf_error(f, pt->line, "service '%s': threshold '%s': %s", s->inst.name,
                              pt->label, why);
            errors++;
        } else if (!pt->th.warning.set && !pt->th.critical.set) {
            tocsin_conf_error(f, pt->line,
                              "service '%s': threshold '%s' sets neither warning "
                              "nor critical",
                              s->inst.name, pt->label);
            errors++;
        } else if (tocsin_option_range(t, "clear", &pt->clear, why, sizeof(why)) < 0 ||
                   tocsin_threshold_clear_check(&pt->th, &pt->clear, why, sizeof(why)) < 0) {
            tocsin_conf_error(f, pt->line, "service '%s': threshold '%s': %s", s->inst.name,
                              pt->label, why);
            errors++;
        }
    }
    s->passive = tocsin_conf_get_bool(sec, "passive");
    /* A submitted result is its sender's verdict, not one try of many: a
     * passive service's problems are hard at once unless it says more. */
    if (s->passive && !tocsin_conf_pending_line("max_attempts"))
        s->max_attempts = 1;
    s->accept_passive = s->passive || tocsin_conf_get_bool(sec, "accept_passive");
    s->expect_every_us = tocsin_conf_get_int(sec, "expect_every") * 1000;
    if (s->expect_every_us < 0 || (s->expect_every_us && !s->passive)) {
        tocsin_conf_error(f, LINE_OF("expect_every"),
                          "service '%s': expect_every needs passive = true and a duration "
                          "greater than zero", s->inst.name);
        errors++;
    }
    if (s->passive) {
        static const char *const timed[] = { "at", "check_period" };
        size_t t;

        for (t = 0; t < sizeof(timed) / sizeof(timed[0]); t++)
            if (tocsin_conf_pending_line(timed[t])) {
                tocsin_conf_error(f, LINE_OF(timed[t]),
                                  "service '%s': %s does not apply to a passive service: "
                                  "nothing runs it (expect_every says when a result is due)",
                                  s->inst.name, timed[t]);
                errors++;
            }
    }
#undef LINE_OF
    sched_errors = build_schedule(sec, s);
    if (sched_errors < 0) {
        tocsin_conf_error(f, s->inst.line, "out of memory");
        return -1;
    }
    errors += sched_errors;
    if (tocsin_conf_build_alerting(sec, s, "service") < 0)
        errors++;
    return errors ? -1 : 0;
}

void tocsin_conf_free_service(struct tocsin_service_conf *s)
{
    size_t i;

    tocsin_conf_free_instance(&s->inst);
    tocsin_conf_free_labels(s->labels, s->nlabels);
    for (i = 0; i < s->nthresholds; i++)
        free(s->thresholds[i].label);
    free(s->thresholds);
    tocsin_conf_free_str_list(s->depends, s->ndepends);
    free(s->parents);
    free(s->link);
    free(s->priority);
    free(s->downtime_period);
    free(s->at_minutes);
    free(s->timezone);
    free(s->check_period);
    tocsin_conf_free_str_list(s->member_names, s->nmember_names);
    tocsin_conf_free_labels(s->member_labels, s->nmember_labels);
    free(s->members);
    free(s->groups);
}

/*
 * A zeroed entry at conf->services[nservices] for a service or group being
 * built, not counted until tocsin_conf_commit_service. NULL, with "out of
 * memory" reported at `line`, when the array cannot grow.
 */
struct tocsin_service_conf *tocsin_conf_new_service(int line)
{
    struct tocsin_config *conf = tocsin_conf_parse->conf;
    struct tocsin_service_conf *s;

    if (tocsin_conf_grow((void **)&conf->services, conf->nservices,
                         &tocsin_conf_parse->services_cap, sizeof(*conf->services)) < 0) {
        tocsin_conf_error(tocsin_conf_parse->file, line, "out of memory");
        return NULL;
    }
    s = &conf->services[conf->nservices];
    memset(s, 0, sizeof(*s));
    return s;
}

/* Called by libconfuse when a service section ends. */
int tocsin_conf_service_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_service_conf *s;

    if (!sec)
        goto out;
    s = tocsin_conf_new_service(cfg->line);
    if (!s)
        goto out;
    if (tocsin_conf_get_bool(sec, "passive")) {
        /* Its results come from outside: no check plugin runs it. */
        if (tocsin_conf_build_passive(sec, tocsin_conf_service_opts, &s->inst) < 0 ||
            build_service_core(sec, s) < 0) {
            tocsin_conf_free_service(s);
            goto out;
        }
    } else if (tocsin_conf_build_instance(sec, tocsin_conf_service_opts, "check",
                                          TOCSIN_PLUGIN_CHECK, &s->inst) < 0 ||
               build_service_core(sec, s) < 0) {
        tocsin_conf_free_service(s);
        goto out;
    }
    if (tocsin_conf_commit_service(s, "service", cfg->line) < 0)
        tocsin_conf_free_service(s);
out:
    tocsin_conf_parse->npending = 0;
    tocsin_conf_drop_section(opt);
    return 0;
}

/* Add service `s` (just built at conf->services[nservices]) to the
 * configuration unless its name is taken. Returns 0 or -1. */
int tocsin_conf_commit_service(struct tocsin_service_conf *s, const char *what, int line)
{
    struct tocsin_config *conf = tocsin_conf_parse->conf;
    long first = tocsin_hashidx_find(&tocsin_conf_parse->service_names, s->inst.name);

    if (first >= 0) {
        int same = conf->services[first].is_group == s->is_group;

        tocsin_conf_error(tocsin_conf_parse->file, s->inst.line,
                          "duplicate %s '%s' (first defined at %s:%d%s)", what, s->inst.name,
                          conf->services[first].inst.file, conf->services[first].inst.line,
                          same                             ? ""
                          : conf->services[first].is_group ? ", as a group"
                                                           : ", as a service");
        return -1;
    }
    if (tocsin_hashidx_add(&tocsin_conf_parse->service_names, s->inst.name,
                           (uint32_t)conf->nservices) < 0) {
        tocsin_conf_error(tocsin_conf_parse->file, line, "out of memory");
        return -1;
    }
    conf->nservices++;
    return 0;
}


/* ------------------------------------------------------------------ */
/* The fingerprint of a definition                                     */
/* ------------------------------------------------------------------ */

/* Where a service's fingerprint starts. Saved states carry the
 * fingerprint across restarts (tocsind compares it on restore), so it
 * keeps the value it has always had. */
#define SERVICE_HASH_SEED 1469598103934665603ULL
/* Another seed for the check hash, so that it never stands for a full one. */
#define SERVICE_CHECK_HASH_SEED 0x9e3779b97f4a7c15ULL

/*
 * FNV-1a of a NUL byte, continuing from `h`: XOR with 0, multiply by the
 * prime. tocsin_fnv1a cannot be handed a NUL, but XOR with 1 then the byte
 * 1 is the same step.
 */
static uint64_t fnv_nul(uint64_t h)
{
    return tocsin_fnv1a(h ^ 1, "\1");
}

/* FNV-1a of `len` bytes that may hold NULs (a number's representation),
 * continuing from `h`. O(len). */
static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    char one[2] = { 0, 0 };

    for (; len; len--, p++) {
        one[0] = (char)*p;
        h = *p ? tocsin_fnv1a(h, one) : fnv_nul(h);
    }
    return h;
}

/* FNV-1a of string `s` with its terminating NUL (NULL: the NUL alone), so
 * that "ab","c" and "a","bc" differ. */
static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv_nul(tocsin_fnv1a(h, s));
}

/* 1 when option `name` of `inst`'s plugin holds a Nagios range (a
 * warning or critical threshold of the plugin's own). O(options). */
static int is_range_option(const struct tocsin_instance_conf *inst, const char *name)
{
    const cfg_opt_t *o;

    if (!inst->plugin || !inst->plugin->options)
        return 0;
    for (o = inst->plugin->options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o->parsecb == tocsin_cfg_parse_range || o->parsecb == tocsin_cfg_parse_ranges;
    return 0;
}

/* The plugin options of `inst`, names and values, continuing from `h`;
 * without its range options when `ranges` is 0. O(options), or
 * O(options^2) without ranges. */
static uint64_t hash_options(uint64_t h, const struct tocsin_instance_conf *inst, int ranges)
{
    size_t i;
    unsigned j;

    for (i = 0; i < inst->nopts; i++) {
        const struct tocsin_optval *v = &inst->opts[i];

        if (!ranges && is_range_option(inst, v->name))
            continue;
        h = fnv_str(h, v->name);
        for (j = 0; j < v->nvalues; j++) {
            if (v->type == CFGT_STR)
                h = fnv_str(h, v->values[j].string);
            else if (v->type == CFGT_FLOAT)
                h = fnv(h, &v->values[j].fpnumber, sizeof(double));
            else if (v->type == CFGT_BOOL)
                h = fnv(h, &v->values[j].boolean, sizeof(int));
            else
                h = fnv(h, &v->values[j].number, sizeof(long));
        }
    }
    return h;
}

/* A group's members, by name and by label, continuing from `h`. */
static uint64_t hash_members(uint64_t h, const struct tocsin_service_conf *s)
{
    size_t i;

    for (i = 0; i < s->nmember_names; i++)
        h = fnv_str(h, s->member_names[i]);
    for (i = 0; i < s->nmember_labels; i++) {
        h = fnv_str(h, s->member_labels[i].key);
        h = fnv_str(h, s->member_labels[i].value);
    }
    return h;
}

uint64_t tocsin_config_service_hash(const struct tocsin_service_conf *s)
{
    uint64_t h = SERVICE_HASH_SEED;
    size_t i;

    h = fnv_str(h, s->inst.name);
    h = fnv_str(h, s->inst.plugin_name);
    h = hash_options(h, &s->inst, 1);
    h = fnv(h, &s->interval_us, sizeof(s->interval_us));
    h = fnv(h, &s->retry_interval_us, sizeof(s->retry_interval_us));
    h = fnv(h, &s->timeout_us, sizeof(s->timeout_us));
    h = fnv(h, &s->max_attempts, sizeof(s->max_attempts));
    h = fnv(h, &s->timeout_state, sizeof(s->timeout_state));
    h = fnv_str(h, s->host);
    for (i = 0; i < s->nlabels; i++) {
        h = fnv_str(h, s->labels[i].key);
        h = fnv_str(h, s->labels[i].value);
    }
    for (i = 0; i < s->nthresholds; i++) {
        h = fnv_str(h, s->thresholds[i].label);
        char text[128];

        tocsin_range_format(&s->thresholds[i].th.warning, text, sizeof(text));
        h = fnv_str(h, text);
        tocsin_range_format(&s->thresholds[i].th.critical, text, sizeof(text));
        h = fnv_str(h, text);
        if (s->thresholds[i].clear.set) {
            /* Only then, so that the hash of any other service is unchanged. */
            tocsin_range_format(&s->thresholds[i].clear, text, sizeof(text));
            h = fnv_str(h, text);
        }
    }
    h = fnv(h, &s->is_group, sizeof(s->is_group));
    if (s->accept_passive) {
        /* Only then, so that the hash of any other service is unchanged. */
        h = fnv(h, &s->passive, sizeof(s->passive));
        h = fnv(h, &s->expect_every_us, sizeof(s->expect_every_us));
    }
    h = hash_members(h, s);
    h = fnv(h, &s->group_mode, sizeof(s->group_mode));
    h = fnv(h, &s->critical_at.n, sizeof(double));
    h = fnv(h, &s->critical_at.percent, sizeof(int));
    h = fnv(h, &s->warning_at.n, sizeof(double));
    h = fnv(h, &s->warning_at.percent, sizeof(int));
    /* Options added since the fingerprint was fixed count only when set,
     * so that a definition without them keeps its old fingerprint. */
    if (s->hard_after_us)
        h = fnv_str(fnv(h, &s->hard_after_us, sizeof(s->hard_after_us)), "hard_after");
    if (s->nat) {
        h = fnv_str(fnv(h, s->at_minutes, s->nat * sizeof(*s->at_minutes)), "at");
        h = fnv_str(h, s->timezone);
    }
    if (s->check_period)
        h = fnv_str(fnv_str(h, "check_period"), s->check_period);
    return h;
}

uint64_t tocsin_config_service_check_hash(const struct tocsin_service_conf *s)
{
    uint64_t h = SERVICE_CHECK_HASH_SEED;

    h = fnv_str(h, s->inst.name);
    h = fnv_str(h, s->inst.plugin_name);
    h = hash_options(h, &s->inst, 0);
    h = fnv(h, &s->is_group, sizeof(s->is_group));
    return hash_members(h, s);
}
