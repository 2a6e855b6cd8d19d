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
#include "config.h"

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

#include "log.h"

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
struct name_index {
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
    struct name_index *service_names;
    struct name_index *notifier_names;
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
    const char *pname = cfg_getstr(sec, key);
    int key_line = pending_line(key);
    int errors = 0;
    unsigned i;

    inst->line = key_line ? key_line : sec->line;
    inst->file = strdup(ctx->file);
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
    inst->plugin_name = strdup(pname);
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

    for (i = 0; i < cfg_num(sec); i++) {
        cfg_opt_t *opt = cfg_getnopt(sec, i);
        const cfg_opt_t *pdef;

        if (!opt || cfg_opt_size(opt) == 0 || opt->type == CFGT_SEC)
            continue;
        pdef = plugin_opt(inst->plugin, opt->name);
        if (!pdef || pdef->type != opt->type)
            continue;
        if (is_core_opt(core, opt->name) && !pending_line(opt->name))
            continue; /* a shared core option left at its default */
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
    free(inst->file);
    free(inst->plugin_name);
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
static long index_find(const struct name_index *ix, const void *base, size_t stride,
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
static int index_add(struct name_index *ix, const void *base, size_t stride,
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

static cfg_opt_t service_core_opts[] = {
    CFG_STR("check", NULL, CFGF_NONE),
    TOCSIN_OPT_DURATION("interval", 60000),
    TOCSIN_OPT_DURATION("retry_interval", 60000),
    CFG_INT("max_attempts", 3, CFGF_NONE),
    TOCSIN_OPT_DURATION("timeout", 10000),
    CFG_STR("timeout_state", "unknown", CFGF_NONE),
    CFG_STR("host", NULL, CFGF_NONE),
    CFG_BOOL("flap_detection", cfg_true, CFGF_NONE),
    CFG_FLOAT("flap_low", 5.0, CFGF_NONE),
    CFG_FLOAT("flap_high", 20.0, CFGF_NONE),
    CFG_SEC("labels", label_opts, CFGF_KEYSTRVAL),
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

/* Validate the core options of a service section and fill `s`. */
static int build_service_core(cfg_t *sec, struct tocsin_service_conf *s)
{
    const char *f = ctx->file;
    const char *ts = cfg_getstr(sec, "timeout_state");
    cfg_t *labels = cfg_getsec(sec, "labels");
    int errors = 0;
    unsigned i;

#define LINE_OF(n) (pending_line(n) ? pending_line(n) : s->inst.line)
    s->interval_us = cfg_getint(sec, "interval") * 1000;
    s->retry_interval_us = cfg_getint(sec, "retry_interval") * 1000;
    s->timeout_us = cfg_getint(sec, "timeout") * 1000;
    s->max_attempts = (int)cfg_getint(sec, "max_attempts");
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
    if (cfg_getint(sec, "max_attempts") < 1 || cfg_getint(sec, "max_attempts") > 1000) {
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
    s->flap_detection = cfg_getbool(sec, "flap_detection") == cfg_true;
    s->flap_low = cfg_getfloat(sec, "flap_low");
    s->flap_high = cfg_getfloat(sec, "flap_high");
    if (s->flap_low < 0 || s->flap_high > 100 || s->flap_low >= s->flap_high) {
        add_error(f, LINE_OF(pending_line("flap_high") ? "flap_high" : "flap_low"),
                  "flap thresholds need 0 <= flap_low < flap_high <= 100 "
                  "(have %g and %g)", s->flap_low, s->flap_high);
        errors++;
    }
    s->host = strdup(cfg_getstr(sec, "host") ? cfg_getstr(sec, "host") : ctx->conf->host);
    if (!s->host)
        return -1;
    if (labels && cfg_num(labels)) {
        s->labels = calloc(cfg_num(labels), sizeof(*s->labels));
        if (!s->labels)
            return -1;
        for (i = 0; i < cfg_num(labels); i++) {
            cfg_opt_t *o = cfg_getnopt(labels, i);
            const char *v = cfg_opt_getnstr(o, 0);

            if (!valid_label_key(o->name)) {
                add_error(f, s->inst.line, "service '%s': label name '%s' is not "
                          "valid (letters, digits and '_', not starting with a digit)",
                          s->inst.name, o->name);
                errors++;
                continue;
            }
            s->labels[s->nlabels].key = strdup(o->name);
            s->labels[s->nlabels].value = strdup(v ? v : "");
            s->nlabels++;
            if (!s->labels[s->nlabels - 1].key || !s->labels[s->nlabels - 1].value)
                return -1;
        }
    }
#undef LINE_OF
    return errors ? -1 : 0;
}

static void free_service(struct tocsin_service_conf *s)
{
    size_t i;

    free_instance(&s->inst);
    free(s->host);
    for (i = 0; i < s->nlabels; i++) {
        free((char *)s->labels[i].key);
        free((char *)s->labels[i].value);
    }
    free(s->labels);
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

/* Called by libconfuse when a service section ends. */
static int service_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    struct tocsin_config *conf = ctx->conf;
    struct tocsin_service_conf *s;
    long first;

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
    first = index_find(ctx->service_names, conf->services, sizeof(*s), s->inst.name);
    if (first >= 0) {
        add_error(ctx->file, s->inst.line, "duplicate service '%s' (first defined at %s:%d)",
                  s->inst.name, conf->services[first].inst.file, conf->services[first].inst.line);
        free_service(s);
        goto out;
    }
    if (index_add(ctx->service_names, conf->services, sizeof(*s), s->inst.name,
                  conf->nservices) < 0) {
        add_error(ctx->file, cfg->line, "out of memory");
        free_service(s);
        goto out;
    }
    conf->nservices++;
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
    n->enabled = cfg_getbool(sec, "enabled") == cfg_true;
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
    struct name_index service_names = {NULL, 0, 0}, notifier_names = {NULL, 0, 0};
    struct tocsin_config *conf = NULL;
    cfg_opt_t *service_opts = NULL, *notifier_opts = NULL;
    cfg_opt_t *main_opts = NULL, *dir_opts = NULL;
    struct tocsin_buf incdir = TOCSIN_BUF_INIT;
    char hostname[HOST_NAME_MAX + 1];
    char *base = NULL;
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
    if (!service_opts || !notifier_opts)
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
            CFG_SEC("service", service_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("notifier", notifier_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_END()
        };
        cfg_opt_t d[] = {
            CFG_SEC("service", service_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("notifier", notifier_opts, CFGF_MULTI | CFGF_TITLE),
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
                char *h = strdup(cfg_getstr(cfg, "host"));

                if (!h)
                    goto oom;
                free(conf->services[i].host);
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
    cfg_free(cfg);
    cfg = NULL;

    parse_include_dir(conf->include_dir, dir_opts);
    goto done;

oom:
    tocsin_buf_printf(errors, "%s:1: out of memory\n", path);
    pc.nerrors++;
done:
    if (cfg)
        cfg_free(cfg);
    free(base);
    free(service_opts);
    free(notifier_opts);
    free(main_opts);
    free(dir_opts);
    tocsin_buf_free(&incdir);
    free(service_names.slots);
    free(notifier_names.slots);
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
    free(conf->services);
    free(conf->notifiers);
    free(conf->path);
    free(conf->include_dir);
    free(conf->host);
    free(conf->state_dir);
    free(conf);
}

long tocsin_config_find_service(const struct tocsin_config *conf, const char *name)
{
    size_t i;

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
