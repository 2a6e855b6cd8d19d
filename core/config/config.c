/*
 * config.c - reading and validating the configuration. See config.h.
 *
 * libconfuse needs every option of a section type before it parses, but a
 * service names its plugin inside its own section. So the `service` section
 * accepts the core's options plus the union of all check plugins' options,
 * and every option records the line it was set on. When the section ends,
 * the options set are held against the named plugin's own table: an option
 * of another plugin is reported at its line, exactly as an unknown option
 * is. The same holds for `notifier` sections and notifier plugins.
 */
#include "config/config.h"
#include "config/http-conf.h"
#include "config/timeperiod.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#define MAX_PENDING 256

/* An option seen in the section being parsed, and its line. */
struct pending_opt {
    const char *name;
    int line;
};

/* The state of one tocsin_config_load() call. libconfuse callbacks carry
 * no user pointer, so it lives here for the duration of the call. */
/* Names already defined, for duplicate detection in O(1): open addressing
 * over indices into conf->services or conf->notifiers (whose first member
 * is their struct tocsin_instance_conf). */
struct tocsin_name_index {
    uint32_t *slots;               /* index + 1, or 0 when free */
    size_t cap;                    /* a power of two */
    size_t count;
};

struct parse_ctx {
    const struct tocsin_registry *reg;
    struct tocsin_buf *errors;
    size_t nerrors;
    const char *file;              /* file being parsed */
    struct tocsin_config *conf;
    struct pending_opt pending[MAX_PENDING];
    size_t npending;
    int include_dir_line;          /* 0 unless include_dir was set */
    size_t services_cap;           /* allocated entries of conf->services */
    size_t notifiers_cap;
    size_t routes_cap;
    size_t periods_cap;
    int fallback_line;             /* where fallback_notifier was set, or 0 */
    struct tocsin_name_index *service_names;
    struct tocsin_name_index *notifier_names;
};

static struct parse_ctx *ctx;

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static void add_error(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    tocsin_buf_printf(ctx->errors, "%s:%d: ", file, line);
    va_start(ap, fmt);
    tocsin_buf_vprintf(ctx->errors, fmt, ap);
    va_end(ap);
    tocsin_buf_putc(ctx->errors, '\n');
    ctx->nerrors++;
}

/*
 * libconfuse error callback. Free-form label sections (CFGF_KEYSTRVAL)
 * report each key as unknown although they accept it; those reports are
 * dropped. Everything else is kept with the file and line libconfuse
 * tracked.
 */
static void error_cb(cfg_t *cfg, const char *fmt, va_list ap)
{
    struct tocsin_buf msg = TOCSIN_BUF_INIT;
    const char *text;

    tocsin_buf_vprintf(&msg, fmt, ap);
    text = tocsin_buf_str(&msg);
    if ((cfg->flags & CFGF_KEYSTRVAL) && strncmp(text, "no such option", 14) == 0)
        goto out;
    add_error(ctx->file, cfg->line, "%s", text);
out:
    tocsin_buf_free(&msg);
}

/* ------------------------------------------------------------------ */
/* Option tables                                                       */
/* ------------------------------------------------------------------ */

/* Every option of a service or notifier section lands here as it is set. */
static int record_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    if (ctx->npending < MAX_PENDING) {
        ctx->pending[ctx->npending].name = opt->name;
        ctx->pending[ctx->npending].line = cfg->line;
        ctx->npending++;
    }
    return 0;
}

/* The line a section starts at, as near as libconfuse lets us know: that
 * of its first option (libconfuse reports where the section ended). */
static int section_line(const cfg_t *sec)
{
    int line = 0;
    size_t i;

    for (i = 0; i < ctx->npending; i++)
        if (!line || ctx->pending[i].line < line)
            line = ctx->pending[i].line;
    return line ? line : sec->line;
}

static int pending_line(const char *name)
{
    size_t i;

    for (i = ctx->npending; i-- > 0;)
        if (strcmp(ctx->pending[i].name, name) == 0)
            return ctx->pending[i].line;
    return 0;
}

static int include_dir_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    (void)opt;
    ctx->include_dir_line = cfg->line;
    return 0;
}

static int nonneg_int_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    if (cfg_opt_getnint(opt, 0) < 0) {
        cfg_error(cfg, "option '%s' must not be negative", opt->name);
        return -1;
    }
    return 0;
}

static int nice_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    long v = cfg_opt_getnint(opt, 0);

    if (v < 0 || v > 19) {
        cfg_error(cfg, "worker_nice must be between 0 and 19 (have %ld)", v);
        return -1;
    }
    return 0;
}

static int fallback_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    (void)opt;
    ctx->fallback_line = cfg->line;
    return 0;
}

static int log_level_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, 0);

    if (!v || tocsin_log_level_parse(v) < 0) {
        cfg_error(cfg, "log_level \"%s\" is not one of error, warning, info, debug",
                  v ? v : "");
        return -1;
    }
    return 0;
}

/* Grow an option array by copying entries; returns the count added. */
struct opt_table {
    cfg_opt_t *opts;
    size_t count;
    size_t cap;
};

static int table_push(struct opt_table *t, const cfg_opt_t *o)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        cfg_opt_t *p = realloc(t->opts, cap * sizeof(*p));

        if (!p)
            return -1;
        t->opts = p;
        t->cap = cap;
    }
    t->opts[t->count++] = *o;
    return 0;
}

static cfg_opt_t *table_find(struct opt_table *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->count; i++)
        if (t->opts[i].name && strcmp(t->opts[i].name, name) == 0)
            return &t->opts[i];
    return NULL;
}

/*
 * Build the option table of a service or notifier section: the core's
 * options followed by every option of every usable plugin of `kind`. An
 * option two plugins share must have the same type; a clash is logged and
 * the later plugin's option is left out. Plugin options carry no default
 * here, so that "set in the file" is simply "has a value".
 */
/* The value parser of a plugin option that may run while the core parses:
 * only the core's own (durations, ranges). A plugin's own parser is plugin
 * code, which never runs in the core; its setup() judges those values. */
static cfg_callback_t core_parsecb(cfg_callback_t cb)
{
    return cb == tocsin_cfg_parse_duration || cb == tocsin_cfg_parse_range ||
           cb == tocsin_cfg_parse_ranges ? cb : NULL;
}

static cfg_opt_t *union_table(const cfg_opt_t *core, uint32_t kind,
                              const struct tocsin_registry *reg)
{
    struct opt_table t = {NULL, 0, 0};
    static const cfg_opt_t end = CFG_END();
    size_t i;

    for (; core->name; core++) {
        cfg_opt_t o = *core;

        if (o.type != CFGT_SEC)
            o.validcb = record_cb;
        if (table_push(&t, &o) < 0)
            goto oom;
    }
    for (i = 0; i < reg->count; i++) {
        const struct tocsin_plugin *d = reg->entries[i].desc;
        const cfg_opt_t *po;

        if (!d || d->kind != kind)
            continue;
        for (po = d->options; po->name; po++) {
            cfg_opt_t *have = table_find(&t, po->name);
            cfg_opt_t o = *po;

            if (have) {
                if (have->type != po->type ||
                    (have->flags & CFGF_LIST) != (po->flags & CFGF_LIST) ||
                    (have->type != CFGT_STR && have->parsecb != core_parsecb(po->parsecb)))
                    tocsin_warn("plugin '%s': option '%s' has another type in "
                                "another plugin or in the core; it cannot be "
                                "set from configuration", d->name, po->name);
                else if (have->parsecb != core_parsecb(po->parsecb))
                    /* Text judged differently by two plugins (a range for
                     * one, free text for another): accept any text here and
                     * judge it when the section's plugin is known. */
                    have->parsecb = NULL;
                continue;
            }
            o.parsecb = core_parsecb(po->parsecb);
            o.flags = (po->flags & CFGF_LIST) | CFGF_NODEFAULT;
            o.def.number = 0;
            o.def.fpnumber = 0;
            o.def.boolean = cfg_false;
            o.def.string = NULL;
            o.def.parsed = NULL;
            o.validcb = record_cb;
            o.validcb2 = NULL;
            o.simple_value.ptr = NULL;
            if (table_push(&t, &o) < 0)
                goto oom;
        }
    }
    if (table_push(&t, &end) < 0)
        goto oom;
    return t.opts;
oom:
    free(t.opts);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Shared strings                                                      */
/* ------------------------------------------------------------------ */

/* File names, plugin names and hosts repeat across thousands of services:
 * each is kept once. An open-addressing set of owned strings. */
struct tocsin_strpool {
    char **slots;
    size_t cap;                    /* a power of two */
    size_t count;
};

static uint64_t pool_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The pooled copy of `s` (NULL when memory runs out). O(1) on average. */
static char *intern(const char *s)
{
    struct tocsin_strpool *p = ctx->conf->pool;
    size_t k;

    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return NULL;
        ctx->conf->pool = p;
    }
    if (p->count * 2 >= p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64, i;
        char **slots = calloc(cap, sizeof(char *));

        if (!slots)
            return NULL;
        for (i = 0; i < p->cap; i++)
            if (p->slots[i]) {
                k = pool_hash(p->slots[i]) & (cap - 1);
                while (slots[k])
                    k = (k + 1) & (cap - 1);
                slots[k] = p->slots[i];
            }
        free(p->slots);
        p->slots = slots;
        p->cap = cap;
    }
    k = pool_hash(s) & (p->cap - 1);
    while (p->slots[k]) {
        if (strcmp(p->slots[k], s) == 0)
            return p->slots[k];
        k = (k + 1) & (p->cap - 1);
    }
    p->slots[k] = strdup(s);
    if (p->slots[k])
        p->count++;
    return p->slots[k];
}

static void pool_free(struct tocsin_strpool *p)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->cap; i++)
        free(p->slots[i]);
    free(p->slots);
    free(p);
}

/* ------------------------------------------------------------------ */
/* Reading options with their defaults                                 */
/* ------------------------------------------------------------------ */

/*
 * Service and notifier sections are created without their defaults
 * (CFGF_DEFINIT): libconfuse checks a new section's table for duplicate
 * names pairwise, which for a table holding every plugin's options costs
 * more than the rest of the parse. These read an option's value, or the
 * default its table gives when it was not set.
 */
static cfg_opt_t *opt_of(cfg_t *sec, const char *name)
{
    return sec ? cfg_getopt(sec, name) : NULL;
}

static long get_int(cfg_t *sec, const char *name)
{
    cfg_opt_t *o = opt_of(sec, name);

    return !o ? 0 : cfg_opt_size(o) ? cfg_opt_getnint(o, 0) : o->def.number;
}

static double get_float(cfg_t *sec, const char *name)
{
    cfg_opt_t *o = opt_of(sec, name);

    return !o ? 0 : cfg_opt_size(o) ? cfg_opt_getnfloat(o, 0) : o->def.fpnumber;
}

static int get_bool(cfg_t *sec, const char *name)
{
    cfg_opt_t *o = opt_of(sec, name);

    return !o ? 0 : (cfg_opt_size(o) ? cfg_opt_getnbool(o, 0) : o->def.boolean) == cfg_true;
}

/* A sub-section that was given, or NULL. */
static cfg_t *get_sec(cfg_t *sec, const char *name)
{
    cfg_opt_t *o = opt_of(sec, name);

    return o && cfg_opt_size(o) ? cfg_opt_getnsec(o, 0) : NULL;
}

static const char *get_str(cfg_t *sec, const char *name)
{
    cfg_opt_t *o = opt_of(sec, name);

    return !o ? NULL : cfg_opt_size(o) ? cfg_opt_getnstr(o, 0) : o->def.string;
}

/* ------------------------------------------------------------------ */
/* Turning a parsed section into an instance                           */
/* ------------------------------------------------------------------ */

static const cfg_opt_t *plugin_opt(const struct tocsin_plugin *p, const char *name)
{
    const cfg_opt_t *o;

    for (o = p->options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static int is_core_opt(const cfg_opt_t *core, const char *name)
{
    for (; core->name; core++)
        if (strcmp(core->name, name) == 0)
            return 1;
    return 0;
}

static void free_optvals(struct tocsin_optval *v, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        if (v[i].type == CFGT_STR)
            for (j = 0; j < v[i].nvalues; j++)
                free(v[i].values[j].string);
        free(v[i].values);
    }
    free(v);
}

/* Copy the value(s) of one parsed option. Returns 0 or -1 on oom. */
static int copy_optval(cfg_opt_t *opt, const cfg_opt_t *pdef, struct tocsin_optval *out)
{
    unsigned j;

    out->name = pdef->name;
    out->type = opt->type;
    out->is_list = (opt->flags & CFGF_LIST) != 0;
    out->nvalues = cfg_opt_size(opt);
    out->values = calloc(out->nvalues ? out->nvalues : 1, sizeof(*out->values));
    if (!out->values)
        return -1;
    for (j = 0; j < out->nvalues; j++) {
        switch (opt->type) {
        case CFGT_INT:
            out->values[j].number = cfg_opt_getnint(opt, j);
            break;
        case CFGT_FLOAT:
            out->values[j].fpnumber = cfg_opt_getnfloat(opt, j);
            break;
        case CFGT_BOOL:
            out->values[j].boolean = cfg_opt_getnbool(opt, j) == cfg_true;
            break;
        default:
            out->values[j].string = strdup(cfg_opt_getnstr(opt, j) ? cfg_opt_getnstr(opt, j) : "");
            if (!out->values[j].string) {
                out->nvalues = j;
                return -1;
            }
            break;
        }
    }
    return 0;
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 200)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == '/' || *s == 0x7f || *s == '"')
            return 0;
    return 1;
}

/*
 * Judge the text of option `pdef` as its own plugin's table says, when the
 * section accepted it without judging (another plugin shares the name with
 * another meaning). Errors are reported at `line`. Returns 0 or -1.
 */
static int check_deferred(cfg_t *sec, const cfg_opt_t *pdef, int line)
{
    cfg_opt_t *opt = cfg_getopt(sec, pdef->name);
    cfg_callback_t cb = core_parsecb(pdef->parsecb);
    size_t before = ctx->nerrors;
    int saved = sec->line;
    unsigned j;

    if (!opt || !cb || opt->parsecb == cb || opt->type != CFGT_STR)
        return 0;
    sec->line = line;
    for (j = 0; j < cfg_opt_size(opt); j++) {
        const char *v = cfg_opt_getnstr(opt, j);
        const char *result = NULL;

        if (v && cb(sec, opt, v, &result) != 0)
            break;
    }
    sec->line = saved;
    return ctx->nerrors > before ? -1 : 0;
}

/*
 * Fill `inst` from the section just parsed: find the plugin named by
 * `key` ("check" or "plugin"), check that every option set belongs to the
 * core or to that plugin, copy the plugin's options. Returns 0, or -1 when
 * an error was reported.
 */
static int build_instance(cfg_t *sec, const cfg_opt_t *core, const char *key,
                          uint32_t kind, struct tocsin_instance_conf *inst)
{
    const char *what = kind == TOCSIN_PLUGIN_CHECK ? "check" : "notifier";
    const struct tocsin_plugin_entry *e;
    const char *title = cfg_title(sec);
    const char *pname = get_str(sec, key);
    int key_line = pending_line(key);
    int errors = 0;
    unsigned i;

    inst->line = key_line ? key_line : sec->line;
    inst->file = intern(ctx->file);
    inst->name = strdup(title ? title : "");
    if (!inst->file || !inst->name)
        goto oom;
    if (!valid_name(inst->name)) {
        add_error(ctx->file, inst->line, "%s name \"%s\" is not valid: use 1 to 200 "
                  "printable characters without spaces, '/' or '\"'",
                  kind == TOCSIN_PLUGIN_CHECK ? "service" : "notifier", inst->name);
        errors++;
    }
    if (!pname || !*pname) {
        add_error(ctx->file, sec->line, "%s '%s': no %s plugin given (%s = \"NAME\")",
                  kind == TOCSIN_PLUGIN_CHECK ? "service" : "notifier",
                  inst->name, what, key);
        return -1;
    }
    inst->plugin_name = intern(pname);
    if (!inst->plugin_name)
        goto oom;
    e = tocsin_registry_find(ctx->reg, pname);
    if (!e || (e->desc && e->desc->kind != kind)) {
        struct tocsin_buf names = TOCSIN_BUF_INIT;

        tocsin_registry_names(ctx->reg, kind, &names);
        add_error(ctx->file, inst->line, "unknown %s plugin '%s' (available: %s)",
                  what, pname, tocsin_buf_str(&names));
        tocsin_buf_free(&names);
        return -1;
    }
    if (!e->desc) {
        add_error(ctx->file, inst->line, "%s plugin '%s' cannot be used: %s",
                  what, pname, e->error ? e->error : "it failed to load");
        return -1;
    }
    inst->plugin = e->desc;

    for (i = 0; i < ctx->npending; i++) {
        const char *name = ctx->pending[i].name;
        const cfg_opt_t *pdef = plugin_opt(inst->plugin, name);

        if (pdef) {
            if (check_deferred(sec, pdef, ctx->pending[i].line) < 0)
                errors++;
            continue;
        }
        if (is_core_opt(core, name))
            continue;
        add_error(ctx->file, ctx->pending[i].line,
                  "option '%s' is not an option of %s plugin '%s'",
                  name, what, pname);
        errors++;
    }

    /* Only options set in the file can carry a plugin value (plugin options
     * have no default in the section's table): look at those, not at the
     * whole table, which holds every plugin's options. */
    for (i = 0; i < ctx->npending; i++) {
        cfg_opt_t *opt;
        const cfg_opt_t *pdef;
        unsigned k;

        for (k = 0; k < i; k++)
            if (strcmp(ctx->pending[k].name, ctx->pending[i].name) == 0)
                break;
        if (k < i)
            continue; /* set twice: copied once */
        opt = cfg_getopt(sec, ctx->pending[i].name);
        if (!opt || cfg_opt_size(opt) == 0 || opt->type == CFGT_SEC)
            continue;
        pdef = plugin_opt(inst->plugin, opt->name);
        if (!pdef || pdef->type != opt->type)
            continue;
        {
            struct tocsin_optval *v = realloc(inst->opts, (inst->nopts + 1) * sizeof(*v));

            if (!v)
                goto oom;
            inst->opts = v;
            memset(&v[inst->nopts], 0, sizeof(*v));
            inst->nopts++;
            if (copy_optval(opt, pdef, &v[inst->nopts - 1]) < 0)
                goto oom;
        }
    }
    return errors ? -1 : 0;
oom:
    add_error(ctx->file, sec->line, "out of memory");
    return -1;
}

static void free_instance(struct tocsin_instance_conf *inst)
{
    free(inst->name);

    free_optvals(inst->opts, inst->nopts);
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static const struct tocsin_instance_conf *inst_at(const void *base, size_t stride, size_t i)
{
    return (const struct tocsin_instance_conf *)((const char *)base + i * stride);
}

/*
 * Find `name` among the entries of `base` (stride bytes apart) that the
 * index knows. Returns the entry's index, or -1. O(1) on average.
 */
static long index_find(const struct tocsin_name_index *ix, const void *base, size_t stride,
                       const char *name)
{
    size_t i;

    if (!ix->cap)
        return -1;
    for (i = name_hash(name) & (ix->cap - 1); ix->slots[i]; i = (i + 1) & (ix->cap - 1))
        if (strcmp(inst_at(base, stride, ix->slots[i] - 1)->name, name) == 0)
            return (long)ix->slots[i] - 1;
    return -1;
}

/* Add entry `idx` (named `name`). Returns 0 or -1 on oom. */
static int index_add(struct tocsin_name_index *ix, const void *base, size_t stride,
                     const char *name, size_t idx)
{
    size_t i;

    if ((ix->count + 1) * 2 > ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64, k;
        uint32_t *slots = calloc(cap, sizeof(*slots));

        if (!slots)
            return -1;
        for (k = 0; k < ix->cap; k++) {
            uint32_t v = ix->slots[k];

            if (!v)
                continue;
            for (i = name_hash(inst_at(base, stride, v - 1)->name) & (cap - 1); slots[i];
                 i = (i + 1) & (cap - 1))
                ;
            slots[i] = v;
        }
        free(ix->slots);
        ix->slots = slots;
        ix->cap = cap;
    }
    for (i = name_hash(name) & (ix->cap - 1); ix->slots[i]; i = (i + 1) & (ix->cap - 1))
        ;
    ix->slots[i] = (uint32_t)idx + 1;
    ix->count++;
    return 0;
}

/* Make room for one more entry of `size` bytes in *arr (count used,
 * *cap allocated), growing geometrically. Returns 0 or -1 on oom. */
static int grow(void **arr, size_t count, size_t *cap, size_t size)
{
    void *p;
    size_t ncap;

    if (count < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    p = realloc(*arr, ncap * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Services                                                            */
/* ------------------------------------------------------------------ */

static cfg_opt_t label_opts[] = {CFG_END()};

static cfg_opt_t threshold_opts[] = {
    TOCSIN_OPT_RANGE("warning", NULL),
    TOCSIN_OPT_RANGE("critical", NULL),
    CFG_END()
};

static cfg_opt_t severity_opts[] = {
    CFG_STR("ok", "info", CFGF_NONE),
    CFG_STR("warning", "warning", CFGF_NONE),
    CFG_STR("critical", "critical", CFGF_NONE),
    CFG_STR("unknown", "error", CFGF_NONE),
    CFG_END()
};

/* Options every alerting object (service or group) has. */
#define ALERTING_OPTS \
    CFG_STR("host", NULL, CFGF_NONE), \
    CFG_SEC("labels", label_opts, CFGF_KEYSTRVAL), \
    CFG_SEC("severity", severity_opts, CFGF_NONE), \
    CFG_STR_LIST("depends", NULL, CFGF_NONE), \
    CFG_STR("link", NULL, CFGF_NONE), \
    CFG_STR("downtime_period", NULL, CFGF_NONE), \
    CFG_BOOL("flap_detection", cfg_true, CFGF_NONE), \
    CFG_FLOAT("flap_low", 5.0, CFGF_NONE), \
    CFG_FLOAT("flap_high", 20.0, CFGF_NONE)

static cfg_opt_t service_core_opts[] = {
    CFG_STR("check", NULL, CFGF_NONE),
    TOCSIN_OPT_DURATION("interval", 60000),
    TOCSIN_OPT_DURATION("retry_interval", 60000),
    CFG_INT("max_attempts", 3, CFGF_NONE),
    TOCSIN_OPT_DURATION("timeout", 10000),
    CFG_STR("timeout_state", "unknown", CFGF_NONE),
    CFG_SEC("threshold", threshold_opts, CFGF_MULTI | CFGF_TITLE),
    ALERTING_OPTS,
    CFG_END()
};

static int valid_label_key(const char *k)
{
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_'))
        return 0;
    for (k++; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
              (*k >= '0' && *k <= '9') || *k == '_'))
            return 0;
    return 1;
}

/* A copy of string list option `name` of `sec` into *out / *n. */
static int copy_str_list(cfg_t *sec, const char *name, char ***out, size_t *n)
{
    unsigned i, count = cfg_size(sec, name);

    *out = NULL;
    *n = 0;
    if (!count)
        return 0;
    *out = calloc(count, sizeof(char *));
    if (!*out)
        return -1;
    for (i = 0; i < count; i++) {
        const char *v = cfg_getnstr(sec, name, i);

        (*out)[i] = strdup(v ? v : "");
        if (!(*out)[i])
            return -1;
        (*n)++;
    }
    return 0;
}

static void free_str_list(char **list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Copy a free-form labels section (`what` names it in errors). */
static int copy_labels(cfg_t *labels, const char *owner, int line,
                       struct tocsin_label **out, size_t *n, int *errors)
{
    unsigned i;

    *out = NULL;
    *n = 0;
    if (!labels || !cfg_num(labels))
        return 0;
    *out = calloc(cfg_num(labels), sizeof(**out));
    if (!*out)
        return -1;
    for (i = 0; i < cfg_num(labels); i++) {
        cfg_opt_t *o = cfg_getnopt(labels, i);
        const char *v = cfg_opt_getnstr(o, 0);

        if (!valid_label_key(o->name)) {
            add_error(ctx->file, line, "%s: label name '%s' is not valid (letters, "
                      "digits and '_', not starting with a digit)", owner, o->name);
            (*errors)++;
            continue;
        }
        (*out)[*n].key = strdup(o->name);
        (*out)[*n].value = strdup(v ? v : "");
        (*n)++;
        if (!(*out)[*n - 1].key || !(*out)[*n - 1].value)
            return -1;
    }
    return 0;
}

static void free_labels(struct tocsin_label *l, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free((char *)l[i].key);
        free((char *)l[i].value);
    }
    free(l);
}

/*
 * The options services and groups share: host, labels, severity mapping,
 * dependencies, link, scheduled downtime, flap detection. Returns 0, or
 * -1 when an error was reported (or memory ran out).
 */
static int build_alerting(cfg_t *sec, struct tocsin_service_conf *s, const char *what)
{
    const char *f = ctx->file;
    cfg_t *sev = get_sec(sec, "severity");
    struct tocsin_buf owner = TOCSIN_BUF_INIT;
    int errors = 0, i;
    static const char *const state_keys[4] = { "ok", "warning", "critical", "unknown" };

#define LINE_OF(n) (pending_line(n) ? pending_line(n) : s->inst.line)
    tocsin_buf_printf(&owner, "%s '%s'", what, s->inst.name);
    s->flap_detection = get_bool(sec, "flap_detection");
    s->flap_low = get_float(sec, "flap_low");
    s->flap_high = get_float(sec, "flap_high");
    if (s->flap_low < 0 || s->flap_high > 100 || s->flap_low >= s->flap_high) {
        add_error(f, LINE_OF(pending_line("flap_high") ? "flap_high" : "flap_low"),
                  "flap thresholds need 0 <= flap_low < flap_high <= 100 "
                  "(have %g and %g)", s->flap_low, s->flap_high);
        errors++;
    }
    s->host = intern(get_str(sec, "host") ? get_str(sec, "host") : ctx->conf->host);
    if (!s->host)
        goto oom;
    if (copy_labels(get_sec(sec, "labels"), tocsin_buf_str(&owner), s->inst.line,
                    &s->labels, &s->nlabels, &errors) < 0)
        goto oom;
    for (i = 0; i < 4; i++) {
        static const char *const defaults[4] = { "info", "warning", "critical", "error" };
        const char *v = sev ? cfg_getstr(sev, state_keys[i]) : defaults[i];
        int level = tocsin_severity_parse(v);

        if (level < 0) {
            add_error(f, sev ? sev->line : s->inst.line, "%s: severity for %s \"%s\" "
                      "is not one of info, warning, error, critical",
                      tocsin_buf_str(&owner), state_keys[i], v ? v : "");
            errors++;
            level = TOCSIN_SEVERITY_ERROR;
        }
        s->severity[i == 0 ? TOCSIN_OK : i == 1 ? TOCSIN_WARNING
                    : i == 2 ? TOCSIN_CRITICAL : TOCSIN_UNKNOWN] = (enum tocsin_severity)level;
    }
    if (copy_str_list(sec, "depends", &s->depends, &s->ndepends) < 0)
        goto oom;
    if (get_str(sec, "link") && !(s->link = strdup(get_str(sec, "link"))))
        goto oom;
    s->downtime_period_index = -1;
    if (get_str(sec, "downtime_period") &&
        !(s->downtime_period = strdup(get_str(sec, "downtime_period"))))
        goto oom;
#undef LINE_OF
    tocsin_buf_free(&owner);
    return errors ? -1 : 0;
oom:
    add_error(f, s->inst.line, "out of memory");
    tocsin_buf_free(&owner);
    return -1;
}

/* Validate the core options of a service section and fill `s`. */
static int build_service_core(cfg_t *sec, struct tocsin_service_conf *s)
{
    const char *f = ctx->file;
    const char *ts = get_str(sec, "timeout_state");
    int errors = 0;
    unsigned i;

#define LINE_OF(n) (pending_line(n) ? pending_line(n) : s->inst.line)
    s->interval_us = get_int(sec, "interval") * 1000;
    s->retry_interval_us = get_int(sec, "retry_interval") * 1000;
    s->timeout_us = get_int(sec, "timeout") * 1000;
    s->max_attempts = (int)get_int(sec, "max_attempts");
    if (s->interval_us <= 0) {
        add_error(f, LINE_OF("interval"), "interval must be greater than zero");
        errors++;
    }
    if (s->retry_interval_us <= 0) {
        add_error(f, LINE_OF("retry_interval"), "retry_interval must be greater than zero");
        errors++;
    }
    if (s->timeout_us <= 0) {
        add_error(f, LINE_OF("timeout"), "timeout must be greater than zero");
        errors++;
    }
    if (get_int(sec, "max_attempts") < 1 || get_int(sec, "max_attempts") > 1000) {
        add_error(f, LINE_OF("max_attempts"), "max_attempts must be between 1 and 1000");
        errors++;
    }
    if (ts && strcasecmp(ts, "unknown") == 0) {
        s->timeout_state = TOCSIN_UNKNOWN;
    } else if (ts && strcasecmp(ts, "critical") == 0) {
        s->timeout_state = TOCSIN_CRITICAL;
    } else {
        add_error(f, LINE_OF("timeout_state"),
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
            add_error(f, pt->line, "service '%s': threshold needs a perfdata label "
                      "(threshold \"LABEL\" { ... })", s->inst.name);
            errors++;
        } else if (tocsin_option_thresholds(t, "warning", "critical", &pt->th, why,
                                            sizeof(why)) < 0) {
            add_error(f, pt->line, "service '%s': threshold '%s': %s", s->inst.name,
                      pt->label, why);
            errors++;
        } else if (!pt->th.warning.set && !pt->th.critical.set) {
            add_error(f, pt->line, "service '%s': threshold '%s' sets neither warning "
                      "nor critical", s->inst.name, pt->label);
            errors++;
        }
    }
#undef LINE_OF
    if (build_alerting(sec, s, "service") < 0)
        errors++;
    return errors ? -1 : 0;
}

static void free_service(struct tocsin_service_conf *s)
{
    size_t i;

    free_instance(&s->inst);
    free_labels(s->labels, s->nlabels);
    for (i = 0; i < s->nthresholds; i++)
        free(s->thresholds[i].label);
    free(s->thresholds);
    free_str_list(s->depends, s->ndepends);
    free(s->parents);
    free(s->link);
    free(s->downtime_period);
    free_str_list(s->member_names, s->nmember_names);
    free_labels(s->member_labels, s->nmember_labels);
    free(s->members);
    free(s->groups);
}

/*
 * Free the section just parsed once its content is copied out. libconfuse
 * looks for an earlier section of the same title each time one starts,
 * which is quadratic in a file of many services; with each section gone
 * as soon as it ends, that search is short, the tree stays small, and
 * duplicates are found by our own index instead.
 */
static void drop_section(cfg_opt_t *opt)
{
    if (cfg_opt_size(opt))
        cfg_opt_rmnsec(opt, cfg_opt_size(opt) - 1);
}

static int commit_service(struct tocsin_service_conf *s, const char *what, int line);

/* Called by libconfuse when a service section ends. */
static int service_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = ctx->conf;
    struct tocsin_service_conf *s;

    if (!sec)
        goto out;
    if (grow((void **)&conf->services, conf->nservices, &ctx->services_cap,
             sizeof(*conf->services)) < 0) {
        add_error(ctx->file, cfg->line, "out of memory");
        goto out;
    }
    s = &conf->services[conf->nservices];
    memset(s, 0, sizeof(*s));
    if (build_instance(sec, service_core_opts, "check", TOCSIN_PLUGIN_CHECK, &s->inst) < 0 ||
        build_service_core(sec, s) < 0) {
        free_service(s);
        goto out;
    }
    if (commit_service(s, "service", cfg->line) < 0)
        free_service(s);
out:
    ctx->npending = 0;
    drop_section(opt);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Groups                                                              */
/* ------------------------------------------------------------------ */

static cfg_opt_t group_core_opts[] = {
    CFG_STR_LIST("members", NULL, CFGF_NONE),
    CFG_SEC("member_labels", label_opts, CFGF_KEYSTRVAL),
    CFG_STR("critical_at", NULL, CFGF_NONE),
    CFG_STR("warning_at", NULL, CFGF_NONE),
    CFG_INT("max_attempts", 1, CFGF_NONE),
    ALERTING_OPTS,
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

/* Add service `s` (just built at conf->services[nservices]) to the
 * configuration unless its name is taken. Returns 0 or -1. */
static int commit_service(struct tocsin_service_conf *s, const char *what, int line)
{
    struct tocsin_config *conf = ctx->conf;
    long first = index_find(ctx->service_names, conf->services, sizeof(*s), s->inst.name);

    if (first >= 0) {
        int same = conf->services[first].is_group == s->is_group;

        add_error(ctx->file, s->inst.line, "duplicate %s '%s' (first defined at %s:%d%s)",
                  what, s->inst.name, conf->services[first].inst.file,
                  conf->services[first].inst.line,
                  same ? "" : conf->services[first].is_group ? ", as a group" : ", as a service");
        return -1;
    }
    if (index_add(ctx->service_names, conf->services, sizeof(*s), s->inst.name,
                  conf->nservices) < 0) {
        add_error(ctx->file, line, "out of memory");
        return -1;
    }
    conf->nservices++;
    return 0;
}

/* Called by libconfuse when a group section ends. */
static int group_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = ctx->conf;
    struct tocsin_service_conf *s;
    const char *title, *ca, *wa;
    int errors = 0;

    if (!sec)
        goto out;
    if (grow((void **)&conf->services, conf->nservices, &ctx->services_cap,
             sizeof(*conf->services)) < 0) {
        add_error(ctx->file, cfg->line, "out of memory");
        goto out;
    }
    s = &conf->services[conf->nservices];
    memset(s, 0, sizeof(*s));
    s->is_group = 1;
    title = cfg_title(sec);
    s->inst.line = section_line(sec);
    s->inst.file = intern(ctx->file);
    s->inst.name = strdup(title ? title : "");
    if (!s->inst.file || !s->inst.name)
        goto oom;
    if (!valid_name(s->inst.name)) {
        add_error(ctx->file, s->inst.line, "group name \"%s\" is not valid: use 1 to 200 "
                  "printable characters without spaces, '/' or '\"'", s->inst.name);
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
        add_error(ctx->file, pending_line("max_attempts") ? pending_line("max_attempts")
                  : s->inst.line, "max_attempts must be between 1 and 1000");
        errors++;
    }
    if (build_alerting(sec, s, "group") < 0)
        errors++;
    if (copy_str_list(sec, "members", &s->member_names, &s->nmember_names) < 0 ||
        copy_labels(cfg_getsec(sec, "member_labels"), s->inst.name, s->inst.line,
                    &s->member_labels, &s->nmember_labels, &errors) < 0)
        goto oom;
    if (!s->nmember_names && !s->nmember_labels) {
        add_error(ctx->file, s->inst.line, "group '%s' has no members: give members = "
                  "{ \"service\", ... } or member_labels { key = \"value\" }", s->inst.name);
        errors++;
    }
    ca = cfg_getstr(sec, "critical_at");
    wa = cfg_getstr(sec, "warning_at");
    s->critical_at.n = s->warning_at.n = -1;
    s->group_mode = ca || wa ? TOCSIN_GROUP_COUNT : TOCSIN_GROUP_WORST;
    if (ca && parse_count(ca, &s->critical_at) < 0) {
        add_error(ctx->file, pending_line("critical_at") ? pending_line("critical_at")
                  : s->inst.line, "critical_at \"%s\" is not a count (\"2\") or a "
                  "percentage (\"50%%\")", ca);
        errors++;
    }
    if (wa && parse_count(wa, &s->warning_at) < 0) {
        add_error(ctx->file, pending_line("warning_at") ? pending_line("warning_at")
                  : s->inst.line, "warning_at \"%s\" is not a count (\"1\") or a "
                  "percentage (\"25%%\")", wa);
        errors++;
    }
    if (errors || commit_service(s, "group", cfg->line) < 0)
        free_service(s);
    goto out;
oom:
    add_error(ctx->file, cfg->line, "out of memory");
    free_service(s);
out:
    ctx->npending = 0;
    drop_section(opt);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Routes                                                              */
/* ------------------------------------------------------------------ */

static cfg_opt_t escalation_opts[] = {
    TOCSIN_OPT_DURATION("after", 0),
    CFG_STR_LIST("notifiers", NULL, CFGF_NONE),
    CFG_END()
};

static cfg_opt_t route_core_opts[] = {
    CFG_STR_LIST("severity", NULL, CFGF_NONE),
    CFG_SEC("labels", label_opts, CFGF_KEYSTRVAL),
    CFG_STR_LIST("services", NULL, CFGF_NONE),
    CFG_STR("period", NULL, CFGF_NONE),
    CFG_STR_LIST("notifiers", NULL, CFGF_NONE),
    CFG_STR_LIST("outside_notifiers", NULL, CFGF_NONE),
    CFG_BOOL("continue", cfg_false, CFGF_NONE),
    TOCSIN_OPT_DURATION("repeat_interval", 0),
    TOCSIN_OPT_DURATION("group_wait", 0),
    CFG_SEC("escalation", escalation_opts, CFGF_MULTI),
    CFG_END()
};

static void free_route(struct tocsin_route_conf *r)
{
    size_t i;

    free(r->name);
    free(r->file);
    free_labels(r->match, r->nmatch);
    free_str_list(r->services, r->nservices);
    free(r->period);
    free_str_list(r->during_names, r->nduring);
    free(r->during);
    free_str_list(r->outside_names, r->noutside);
    free(r->outside);
    for (i = 0; i < r->nescalations; i++) {
        free_str_list(r->escalations[i].names, r->escalations[i].nnotifiers);
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
static int route_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = ctx->conf;
    struct tocsin_route_conf *r;
    const char *title;
    int errors = 0;
    unsigned i;

    if (!sec)
        goto out;
    if (grow((void **)&conf->routes, conf->nroutes, &ctx->routes_cap,
             sizeof(*conf->routes)) < 0) {
        add_error(ctx->file, cfg->line, "out of memory");
        goto out;
    }
    r = &conf->routes[conf->nroutes];
    memset(r, 0, sizeof(*r));
    title = cfg_title(sec);
    r->line = section_line(sec);
    r->period_index = -1;
    r->name = strdup(title ? title : "");
    r->file = strdup(ctx->file);
    if (!r->name || !r->file)
        goto oom;
    for (i = 0; i < cfg_size(sec, "severity"); i++) {
        const char *v = cfg_getnstr(sec, "severity", i);
        int level = tocsin_severity_parse(v);

        if (level < 0) {
            add_error(ctx->file, pending_line("severity") ? pending_line("severity") : r->line,
                      "route '%s': severity \"%s\" is not one of info, warning, error, "
                      "critical", r->name, v ? v : "");
            errors++;
            continue;
        }
        r->severities |= 1u << level;
    }
    if (copy_labels(cfg_getsec(sec, "labels"), r->name, r->line, &r->match, &r->nmatch,
                    &errors) < 0 ||
        copy_str_list(sec, "services", &r->services, &r->nservices) < 0 ||
        copy_str_list(sec, "notifiers", &r->during_names, &r->nduring) < 0 ||
        copy_str_list(sec, "outside_notifiers", &r->outside_names, &r->noutside) < 0)
        goto oom;
    if (cfg_getstr(sec, "period") && !(r->period = strdup(cfg_getstr(sec, "period"))))
        goto oom;
    if (r->noutside && !r->period) {
        add_error(ctx->file, pending_line("outside_notifiers") ? pending_line("outside_notifiers")
                  : r->line, "route '%s': outside_notifiers needs a period", r->name);
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
        if (copy_str_list(e, "notifiers", &esc->names, &esc->nnotifiers) < 0)
            goto oom;
        if (esc->after_ms <= 0 || !esc->nnotifiers) {
            add_error(ctx->file, esc->line, "route '%s': an escalation needs after = "
                      "DURATION (more than zero) and notifiers = { ... }", r->name);
            errors++;
        }
    }
    if (r->nescalations > 1)
        qsort(r->escalations, r->nescalations, sizeof(*r->escalations), cmp_escalation);
    if (errors) {
        free_route(r);
        goto out;
    }
    conf->nroutes++;
    goto out;
oom:
    add_error(ctx->file, cfg->line, "out of memory");
    free_route(r);
out:
    ctx->npending = 0;
    drop_section(opt);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Notifiers                                                           */
/* ------------------------------------------------------------------ */

static cfg_opt_t notifier_core_opts[] = {
    CFG_STR("plugin", NULL, CFGF_NONE),
    CFG_BOOL("enabled", cfg_true, CFGF_NONE),
    TOCSIN_OPT_DURATION("timeout", 30000),
    TOCSIN_OPT_DURATION("retry_min", 30000),
    TOCSIN_OPT_DURATION("retry_max", 900000),
    TOCSIN_OPT_DURATION("expire", 86400000),
    CFG_END()
};

static int notifier_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = ctx->conf;
    struct tocsin_notifier_conf *n;
    long first;

    if (!sec)
        goto out;
    if (grow((void **)&conf->notifiers, conf->nnotifiers, &ctx->notifiers_cap,
             sizeof(*conf->notifiers)) < 0) {
        add_error(ctx->file, cfg->line, "out of memory");
        goto out;
    }
    n = &conf->notifiers[conf->nnotifiers];
    memset(n, 0, sizeof(*n));
    if (build_instance(sec, notifier_core_opts, "plugin", TOCSIN_PLUGIN_NOTIFIER, &n->inst) < 0) {
        free_instance(&n->inst);
        goto out;
    }
    n->enabled = get_bool(sec, "enabled");
    n->timeout_ms = get_int(sec, "timeout");
    n->retry_min_ms = get_int(sec, "retry_min");
    n->retry_max_ms = get_int(sec, "retry_max");
    n->expire_ms = get_int(sec, "expire");
    n->forwards_results = (n->inst.plugin->flags & TOCSIN_PLUGIN_RESULTS) != 0;
    if (n->timeout_ms <= 0 || n->retry_min_ms <= 0 || n->retry_max_ms < n->retry_min_ms ||
        n->expire_ms <= 0) {
        add_error(ctx->file, n->inst.line, "notifier '%s': timeout, retry_min and expire must "
                  "be more than zero and retry_max at least retry_min", n->inst.name);
        free_instance(&n->inst);
        goto out;
    }
    first = index_find(ctx->notifier_names, conf->notifiers, sizeof(*n), n->inst.name);
    if (first >= 0) {
        add_error(ctx->file, n->inst.line, "duplicate notifier '%s' (first defined at %s:%d)",
                  n->inst.name, conf->notifiers[first].inst.file, conf->notifiers[first].inst.line);
        free_instance(&n->inst);
        goto out;
    }
    if (index_add(ctx->notifier_names, conf->notifiers, sizeof(*n), n->inst.name,
                  conf->nnotifiers) < 0) {
        add_error(ctx->file, cfg->line, "out of memory");
        free_instance(&n->inst);
        goto out;
    }
    conf->nnotifiers++;
out:
    ctx->npending = 0;
    drop_section(opt);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Time periods                                                        */
/* ------------------------------------------------------------------ */

/* Called by libconfuse when a timeperiod section ends. */
static int timeperiod_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = ctx->conf;
    struct tocsin_timeperiod *tp;
    size_t before = ctx->errors->len;

    if (!sec)
        goto out;
    if (grow((void **)&conf->periods, conf->nperiods, &ctx->periods_cap,
             sizeof(*conf->periods)) < 0) {
        add_error(ctx->file, cfg->line, "out of memory");
        goto out;
    }
    tp = &conf->periods[conf->nperiods];
    memset(tp, 0, sizeof(*tp));
    if (tocsin_timeperiod_compile(sec, ctx->file, section_line(sec), tp, ctx->errors) < 0) {
        if (ctx->errors->len == before)
            add_error(ctx->file, sec->line, "time period '%s' is not valid",
                      cfg_title(sec) ? cfg_title(sec) : "");
        else
            ctx->nerrors++;
        tocsin_timeperiod_free(tp);
        goto out;
    }
    conf->nperiods++;
out:
    ctx->npending = 0;
    drop_section(opt);
    return 0;
}

/* ------------------------------------------------------------------ */
/* References between sections                                        */
/* ------------------------------------------------------------------ */

/* Resolve notifier names into indices; unknown ones are reported. */
static int resolve_notifiers(struct tocsin_config *conf, char **names, size_t n,
                             uint32_t **out, const char *file, int line, const char *owner)
{
    size_t i;
    int errors = 0;

    if (!n)
        return 0;
    *out = calloc(n, sizeof(**out));
    if (!*out) {
        add_error(file, line, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        long k = tocsin_config_find_notifier(conf, names[i]);

        if (k < 0) {
            add_error(file, line, "%s: no notifier named '%s'", owner, names[i]);
            errors++;
            continue;
        }
        (*out)[i] = (uint32_t)k;
    }
    return errors ? -1 : 0;
}

/* 1 when every label of `want` is among the service's labels. */
static int labels_match(const struct tocsin_service_conf *s, const struct tocsin_label *want,
                        size_t nwant)
{
    size_t i, j;

    for (i = 0; i < nwant; i++) {
        for (j = 0; j < s->nlabels; j++)
            if (strcmp(s->labels[j].key, want[i].key) == 0 &&
                strcmp(s->labels[j].value, want[i].value) == 0)
                break;
        if (j == s->nlabels)
            return 0;
    }
    return 1;
}

static int push_u32(uint32_t **arr, size_t *n, uint32_t v)
{
    uint32_t *p = realloc(*arr, (*n + 1) * sizeof(*p));

    if (!p)
        return -1;
    p[(*n)++] = v;
    *arr = p;
    return 0;
}

/* Depth-first search for a dependency cycle through service `i`. */
static int depends_cycle(const struct tocsin_config *conf, size_t i, unsigned char *mark)
{
    size_t k;

    if (mark[i] == 1)
        return 1;
    if (mark[i] == 2)
        return 0;
    mark[i] = 1;
    for (k = 0; k < conf->services[i].ndepends; k++)
        if (depends_cycle(conf, conf->services[i].parents[k], mark))
            return 1;
    mark[i] = 2;
    return 0;
}

static long find_period(const struct tocsin_config *conf, const char *name)
{
    return tocsin_timeperiod_find(conf->periods, conf->nperiods, name);
}

/*
 * Turn the names one section uses for another into indices: dependencies,
 * group members, route notifiers and periods, scheduled downtimes, the
 * fallback notifier. Every dangling name is reported where it was written.
 */
static void resolve(struct tocsin_config *conf, const char *fallback)
{
    unsigned char *mark = NULL;
    size_t i, k;

    conf->fallback_notifier = -1;
    {
        size_t before = ctx->errors->len;

        if (tocsin_timeperiods_link(conf->periods, conf->nperiods, ctx->errors) < 0 ||
            ctx->errors->len != before)
            ctx->nerrors++;
    }
    if (fallback && *fallback) {
        conf->fallback_notifier = tocsin_config_find_notifier(conf, fallback);
        if (conf->fallback_notifier < 0 && ctx->fallback_line)
            add_error(conf->path, ctx->fallback_line, "fallback_notifier: no notifier "
                      "named '%s'", fallback);
    }
    for (i = 0; i < conf->nservices; i++) {
        struct tocsin_service_conf *s = &conf->services[i];

        if (s->ndepends && !(s->parents = calloc(s->ndepends, sizeof(*s->parents))))
            goto oom;
        for (k = 0; k < s->ndepends; k++) {
            long p = index_find(ctx->service_names, conf->services, sizeof(*s), s->depends[k]);

            if (p < 0 || (size_t)p == i) {
                add_error(s->inst.file, s->inst.line, "%s '%s': depends on '%s', %s",
                          s->is_group ? "group" : "service", s->inst.name, s->depends[k],
                          p < 0 ? "which is neither a service nor a group" : "itself");
                p = 0;
            }
            s->parents[k] = (uint32_t)p;
        }
        if (s->downtime_period) {
            s->downtime_period_index = (int)find_period(conf, s->downtime_period);
            if (s->downtime_period_index < 0)
                add_error(s->inst.file, s->inst.line, "%s '%s': downtime_period: no time "
                          "period named '%s'", s->is_group ? "group" : "service",
                          s->inst.name, s->downtime_period);
        }
        if (!s->is_group)
            continue;
        for (k = 0; k < s->nmember_names; k++) {
            long m = index_find(ctx->service_names, conf->services, sizeof(*s),
                                s->member_names[k]);

            if (m < 0 || (size_t)m == i || conf->services[m].is_group) {
                add_error(s->inst.file, s->inst.line, "group '%s': member '%s' %s",
                          s->inst.name, s->member_names[k], m < 0 ? "does not exist"
                          : "is a group (groups hold services)");
                continue;
            }
            if (push_u32(&s->members, &s->nmembers, (uint32_t)m) < 0)
                goto oom;
        }
        if (s->nmember_labels)
            for (k = 0; k < conf->nservices; k++)
                if (!conf->services[k].is_group &&
                    labels_match(&conf->services[k], s->member_labels, s->nmember_labels)) {
                    size_t j;

                    for (j = 0; j < s->nmembers && s->members[j] != k; j++)
                        ;
                    if (j == s->nmembers && push_u32(&s->members, &s->nmembers, (uint32_t)k) < 0)
                        goto oom;
                }
        if (!s->nmembers && (s->nmember_names || s->nmember_labels))
            add_error(s->inst.file, s->inst.line, "group '%s': no service matches its "
                      "members", s->inst.name);
        for (k = 0; k < s->nmembers; k++)
            if (push_u32(&conf->services[s->members[k]].groups,
                         &conf->services[s->members[k]].ngroups, (uint32_t)i) < 0)
                goto oom;
    }
    if (conf->nservices) {
        mark = calloc(conf->nservices, 1);
        if (!mark)
            goto oom;
        for (i = 0; i < conf->nservices; i++)
            if (!mark[i] && depends_cycle(conf, i, mark)) {
                add_error(conf->services[i].inst.file, conf->services[i].inst.line,
                          "'%s' is part of a dependency cycle", conf->services[i].inst.name);
                break;
            }
    }
    for (i = 0; i < conf->nroutes; i++) {
        struct tocsin_route_conf *r = &conf->routes[i];
        struct tocsin_buf owner = TOCSIN_BUF_INIT;

        tocsin_buf_printf(&owner, "route '%s'", r->name);
        resolve_notifiers(conf, r->during_names, r->nduring, &r->during, r->file, r->line,
                          tocsin_buf_str(&owner));
        resolve_notifiers(conf, r->outside_names, r->noutside, &r->outside, r->file, r->line,
                          tocsin_buf_str(&owner));
        for (k = 0; k < r->nescalations; k++)
            resolve_notifiers(conf, r->escalations[k].names, r->escalations[k].nnotifiers,
                              &r->escalations[k].notifiers, r->file, r->escalations[k].line,
                              tocsin_buf_str(&owner));
        if (r->period) {
            r->period_index = (int)find_period(conf, r->period);
            if (r->period_index < 0)
                add_error(r->file, r->line, "route '%s': no time period named '%s'",
                          r->name, r->period);
        }
        tocsin_buf_free(&owner);
    }
    free(mark);
    return;
oom:
    free(mark);
    add_error(conf->path, 1, "out of memory");
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/* Parse one file with `opts` as its top-level table. Returns the parsed
 * tree (caller frees) or NULL when the file could not be read. */
/* Read a whole stream into `out`. Returns 0 or -1 (errno set). */
static int read_all(FILE *fp, struct tocsin_buf *out)
{
    char chunk[8192];
    size_t n;

    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        if (tocsin_buf_append(out, chunk, n) < 0) {
            errno = ENOMEM;
            return -1;
        }
    return ferror(fp) ? -1 : 0;
}

/*
 * Replace '#', '//' and block comments by spaces (a block comment keeps
 * its newlines), leaving quoted strings alone. libconfuse 3.3 miscounts
 * the lines of comments (each '#' line as three, each block comment one
 * line too many), which would put every later error on the wrong line;
 * with the comments blanked, its line numbers are right. An unterminated
 * block comment is left for libconfuse to report. O(n), in place.
 */
static void blank_line_comments(char *s)
{
    char quote = 0;

    for (; *s; s++) {
        if (quote) {
            if (*s == '\\' && s[1])
                s++;
            else if (*s == quote)
                quote = 0;
        } else if (*s == '"' || *s == '\'') {
            quote = *s;
        } else if (*s == '/' && s[1] == '*') {
            char *end = strstr(s + 2, "*/");

            if (!end)
                return;
            for (; s <= end + 1; s++)
                if (*s != '\n')
                    *s = ' ';
            s--;
        } else if (*s == '#' || (*s == '/' && s[1] == '/')) {
            for (; *s && *s != '\n'; s++)
                *s = ' ';
            if (!*s)
                return;
        }
    }
}

static cfg_t *parse_file(const char *file, cfg_opt_t *opts)
{
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    struct stat st;
    size_t before;
    cfg_t *cfg;
    FILE *fp;

    ctx->file = file;
    ctx->npending = 0;
    fp = fopen(file, "r");
    if (!fp) {
        add_error(file, 1, "cannot read: %s", strerror(errno));
        return NULL;
    }
    if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
        add_error(file, 1, "cannot read: %s", S_ISDIR(st.st_mode) ? "is a directory"
                  : "not a regular file");
        fclose(fp);
        return NULL;
    }
    if (read_all(fp, &text) < 0) {
        add_error(file, 1, "cannot read: %s", strerror(errno));
        fclose(fp);
        tocsin_buf_free(&text);
        return NULL;
    }
    fclose(fp);
    if (memchr(tocsin_buf_str(&text), '\0', text.len)) {
        add_error(file, 1, "cannot read: the file contains a NUL byte");
        tocsin_buf_free(&text);
        return NULL;
    }
    blank_line_comments(text.data ? text.data : "");
    cfg = cfg_init(opts, CFGF_NONE);
    if (!cfg) {
        add_error(file, 1, "out of memory");
        tocsin_buf_free(&text);
        return NULL;
    }
    cfg_set_error_function(cfg, error_cb);
    cfg_set_validate_func(cfg, "service", service_cb);
    cfg_set_validate_func(cfg, "notifier", notifier_cb);
    cfg_set_validate_func(cfg, "group", group_cb);
    cfg_set_validate_func(cfg, "route", route_cb);
    cfg_set_validate_func(cfg, "timeperiod", timeperiod_cb);
    before = ctx->nerrors;
    if (cfg_parse_buf(cfg, tocsin_buf_str(&text)) != CFG_SUCCESS && ctx->nerrors == before)
        add_error(file, cfg->line, "syntax error");
    tocsin_buf_free(&text);
    return cfg;
}

static int conf_name_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* Parse every *.conf of the include directory, in sorted order. */
static void parse_include_dir(const char *dir, cfg_opt_t *opts)
{
    struct tocsin_buf path = TOCSIN_BUF_INIT;
    struct dirent **names = NULL;
    struct stat st;
    int n, i;

    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        int err = errno;

        /* The default conf.d may be absent; one that was asked for may not. */
        if (ctx->include_dir_line)
            add_error(ctx->conf->path, ctx->include_dir_line, "include directory %s: %s",
                      dir, S_ISDIR(st.st_mode) || err ? strerror(err) : "not a directory");
        return;
    }
    n = scandir(dir, &names, conf_name_filter, alphasort);
    if (n < 0) {
        add_error(ctx->conf->path, ctx->include_dir_line ? ctx->include_dir_line : 1,
                  "include directory %s: %s", dir, strerror(errno));
        return;
    }
    for (i = 0; i < n; i++) {
        cfg_t *cfg;

        tocsin_buf_reset(&path);
        tocsin_buf_printf(&path, "%s/%s", dir, names[i]->d_name);
        cfg = parse_file(tocsin_buf_str(&path), opts);
        if (cfg)
            cfg_free(cfg);
        free(names[i]);
    }
    free(names);
    tocsin_buf_free(&path);
}

/* The directory part of `path` ("." when none); caller frees. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

struct tocsin_config *tocsin_config_load(const char *path,
                                         const struct tocsin_registry *reg,
                                         struct tocsin_buf *errors)
{
    struct parse_ctx pc;
    struct tocsin_name_index service_names = {NULL, 0, 0}, notifier_names = {NULL, 0, 0};
    struct tocsin_config *conf = NULL;
    cfg_opt_t *service_opts = NULL, *notifier_opts = NULL;
    cfg_opt_t *group_opts = NULL, *route_opts = NULL, *period_opts = NULL;
    cfg_opt_t *main_opts = NULL, *dir_opts = NULL;
    struct tocsin_buf incdir = TOCSIN_BUF_INIT;
    char hostname[HOST_NAME_MAX + 1];
    char *base = NULL, *fallback = NULL;
    cfg_t *cfg = NULL;
    const char *inc;

    memset(&pc, 0, sizeof(pc));
    pc.reg = reg;
    pc.errors = errors;
    pc.service_names = &service_names;
    pc.notifier_names = &notifier_names;
    ctx = &pc;

    conf = calloc(1, sizeof(*conf));
    if (!conf)
        goto oom;
    pc.conf = conf;
    conf->path = strdup(path);
    if (gethostname(hostname, sizeof(hostname)) < 0)
        hostname[0] = '\0';
    hostname[sizeof(hostname) - 1] = '\0';
    conf->host = strdup(*hostname ? hostname : "localhost");
    if (!conf->path || !conf->host)
        goto oom;

    service_opts = union_table(service_core_opts, TOCSIN_PLUGIN_CHECK, reg);
    notifier_opts = union_table(notifier_core_opts, TOCSIN_PLUGIN_NOTIFIER, reg);
    group_opts = union_table(group_core_opts, 0, reg);
    route_opts = union_table(route_core_opts, 0, reg);
    period_opts = union_table(tocsin_timeperiod_opts, 0, reg);
    if (!service_opts || !notifier_opts || !group_opts || !route_opts || !period_opts)
        goto oom;
    {
        cfg_opt_t m[] = {
            CFG_STR("include_dir", "conf.d", CFGF_NONE),
            CFG_STR("host", NULL, CFGF_NONE),
            CFG_STR("state_dir", TOCSIN_STATE_DIR, CFGF_NONE),
            CFG_INT("workers", 0, CFGF_NONE),
            CFG_INT("worker_memory_limit", 1024, CFGF_NONE),
            CFG_INT("worker_nice", 5, CFGF_NONE),
            CFG_STR("log_level", "info", CFGF_NONE),
            TOCSIN_OPT_DURATION("max_check_spread", 60000),
            CFG_STR("fallback_notifier", "console", CFGF_NONE),
            CFG_STR("control_socket", TOCSIN_RUN_DIR "/tocsind.sock", CFGF_NONE),
            TOCSIN_OPT_DURATION("retention", 30LL * 86400000),
            CFG_SEC("service", service_opts, CFGF_MULTI | CFGF_TITLE | CFGF_DEFINIT),
            CFG_SEC("notifier", notifier_opts, CFGF_MULTI | CFGF_TITLE | CFGF_DEFINIT),
            CFG_SEC("group", group_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("route", route_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("timeperiod", period_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("http", tocsin_http_conf_opts(), CFGF_NONE),
            CFG_END()
        };
        cfg_opt_t d[] = {
            CFG_SEC("service", service_opts, CFGF_MULTI | CFGF_TITLE | CFGF_DEFINIT),
            CFG_SEC("notifier", notifier_opts, CFGF_MULTI | CFGF_TITLE | CFGF_DEFINIT),
            CFG_SEC("group", group_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("route", route_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("timeperiod", period_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_END()
        };

        main_opts = malloc(sizeof(m));
        dir_opts = malloc(sizeof(d));
        if (!main_opts || !dir_opts)
            goto oom;
        memcpy(main_opts, m, sizeof(m));
        memcpy(dir_opts, d, sizeof(d));
        main_opts[0].validcb = include_dir_cb;
        main_opts[3].validcb = nonneg_int_cb;
        main_opts[4].validcb = nonneg_int_cb;
        main_opts[5].validcb = nice_cb;
        main_opts[6].validcb = log_level_cb;
        main_opts[8].validcb = fallback_cb;
    }

    /* Global options first: services in the main file use `host`. The
     * main file is parsed once; services defined in it are collected by
     * the section callbacks like those of conf.d. */
    cfg = parse_file(path, main_opts);
    if (!cfg)
        goto done;
    if (cfg_getstr(cfg, "host")) {
        /* Services of the main file already took the machine's name;
         * give them the configured one unless they set their own. */
        size_t i;

        for (i = 0; i < conf->nservices; i++) {
            if (strcmp(conf->services[i].host, conf->host) == 0) {
                char *h = intern(cfg_getstr(cfg, "host"));

                if (!h)
                    goto oom;
                conf->services[i].host = h;
            }
        }
        free(conf->host);
        conf->host = strdup(cfg_getstr(cfg, "host"));
        if (!conf->host)
            goto oom;
    }
    conf->state_dir = strdup(cfg_getstr(cfg, "state_dir"));
    conf->workers = (int)cfg_getint(cfg, "workers");
    conf->worker_memory_mb = cfg_getint(cfg, "worker_memory_limit");
    conf->worker_nice = (int)cfg_getint(cfg, "worker_nice");
    conf->max_check_spread_us = cfg_getint(cfg, "max_check_spread") * 1000;
    conf->log_level = tocsin_log_level_parse(cfg_getstr(cfg, "log_level"));
    if (conf->log_level < 0)
        conf->log_level = TOCSIN_LOG_INFO;
    inc = cfg_getstr(cfg, "include_dir");
    base = dir_of(path);
    if (!conf->state_dir || !base)
        goto oom;
    if (inc && *inc == '/')
        tocsin_buf_puts(&incdir, inc);
    else
        tocsin_buf_printf(&incdir, "%s/%s", base, inc ? inc : "conf.d");
    conf->include_dir = tocsin_buf_steal(&incdir);
    if (!conf->include_dir)
        goto oom;
    {
        const char *fb = cfg_getstr(cfg, "fallback_notifier");

        fallback = strdup(fb ? fb : "");
        conf->control_socket = strdup(cfg_getstr(cfg, "control_socket"));
        conf->retention_ms = cfg_getint(cfg, "retention");
        if (!fallback || !conf->control_socket)
            goto oom;
    }
    conf->http = tocsin_http_conf_new(cfg_getsec(cfg, "http"), path, errors);
    if (!conf->http)
        pc.nerrors++;
    cfg_free(cfg);
    cfg = NULL;

    parse_include_dir(conf->include_dir, dir_opts);
    resolve(conf, fallback);
    goto done;

oom:
    tocsin_buf_printf(errors, "%s:1: out of memory\n", path);
    pc.nerrors++;
done:
    if (cfg)
        cfg_free(cfg);
    free(base);
    free(fallback);
    free(service_opts);
    free(notifier_opts);
    free(group_opts);
    free(route_opts);
    free(period_opts);
    free(main_opts);
    free(dir_opts);
    tocsin_buf_free(&incdir);
    free(notifier_names.slots);
    /* The service index outlives the load: tocsin_config_find_service. */
    if (conf && !pc.nerrors && (conf->service_index = malloc(sizeof(service_names))))
        *conf->service_index = service_names;
    else
        free(service_names.slots);
    ctx = NULL;
    if (pc.nerrors) {
        tocsin_config_free(conf);
        return NULL;
    }
    return conf;
}

void tocsin_config_free(struct tocsin_config *conf)
{
    size_t i;

    if (!conf)
        return;
    for (i = 0; i < conf->nservices; i++)
        free_service(&conf->services[i]);
    for (i = 0; i < conf->nnotifiers; i++)
        free_instance(&conf->notifiers[i].inst);
    for (i = 0; i < conf->nroutes; i++)
        free_route(&conf->routes[i]);
    free(conf->services);
    free(conf->notifiers);
    free(conf->routes);
    for (i = 0; i < conf->nperiods; i++)
        tocsin_timeperiod_free(&conf->periods[i]);
    free(conf->periods);
    free(conf->control_socket);
    pool_free(conf->pool);
    if (conf->service_index)
        free(conf->service_index->slots);
    free(conf->service_index);
    tocsin_http_conf_free(conf->http);
    free(conf->path);
    free(conf->include_dir);
    free(conf->host);
    free(conf->state_dir);
    free(conf);
}

long tocsin_config_find_notifier(const struct tocsin_config *conf, const char *name)
{
    size_t i;

    for (i = 0; i < conf->nnotifiers; i++)
        if (strcmp(conf->notifiers[i].inst.name, name) == 0)
            return (long)i;
    return -1;
}

long tocsin_config_find_service(const struct tocsin_config *conf, const char *name)
{
    size_t i;

    if (conf->service_index)
        return index_find(conf->service_index, conf->services, sizeof(*conf->services), name);
    for (i = 0; i < conf->nservices; i++)
        if (strcmp(conf->services[i].inst.name, name) == 0)
            return (long)i;
    return -1;
}

/* Error callback for the per-instance section built in workers. */
static void plugin_cfg_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    (void)cfg;
    (void)fmt;
    (void)ap;
}

cfg_t *tocsin_config_plugin_cfg(const struct tocsin_instance_conf *inst,
                                struct tocsin_buf *err)
{
    cfg_t *cfg;
    size_t i;
    unsigned j;

    cfg = cfg_init(inst->plugin->options, CFGF_NONE);
    if (!cfg) {
        tocsin_buf_puts(err, "out of memory");
        return NULL;
    }
    cfg_set_error_function(cfg, plugin_cfg_error);
    for (i = 0; i < inst->nopts; i++) {
        const struct tocsin_optval *v = &inst->opts[i];
        cfg_opt_t *opt = cfg_getopt(cfg, v->name);
        int rc = 0;

        if (!opt)
            continue;
        if (v->is_list)
            cfg_free_value(opt);
        for (j = 0; j < v->nvalues && rc == 0; j++) {
            switch (v->type) {
            case CFGT_INT:
                rc = cfg_opt_setnint(opt, v->values[j].number, j);
                break;
            case CFGT_FLOAT:
                rc = cfg_opt_setnfloat(opt, v->values[j].fpnumber, j);
                break;
            case CFGT_BOOL:
                rc = cfg_opt_setnbool(opt, v->values[j].boolean ? cfg_true : cfg_false, j);
                break;
            default:
                rc = cfg_opt_setnstr(opt, v->values[j].string, j);
                break;
            }
        }
        if (rc != 0) {
            tocsin_buf_printf(err, "cannot set option '%s'", v->name);
            cfg_free(cfg);
            return NULL;
        }
    }
    return cfg;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    while (len--) {
        h ^= *p++;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

uint64_t tocsin_config_service_hash(const struct tocsin_service_conf *s)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;
    unsigned j;

    h = fnv_str(h, s->inst.name);
    h = fnv_str(h, s->inst.plugin_name);
    for (i = 0; i < s->inst.nopts; i++) {
        const struct tocsin_optval *v = &s->inst.opts[i];

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
    }
    h = fnv(h, &s->is_group, sizeof(s->is_group));
    for (i = 0; i < s->nmember_names; i++)
        h = fnv_str(h, s->member_names[i]);
    for (i = 0; i < s->nmember_labels; i++) {
        h = fnv_str(h, s->member_labels[i].key);
        h = fnv_str(h, s->member_labels[i].value);
    }
    h = fnv(h, &s->group_mode, sizeof(s->group_mode));
    h = fnv(h, &s->critical_at.n, sizeof(double));
    h = fnv(h, &s->critical_at.percent, sizeof(int));
    h = fnv(h, &s->warning_at.n, sizeof(double));
    h = fnv(h, &s->warning_at.percent, sizeof(int));
    return h;
}
