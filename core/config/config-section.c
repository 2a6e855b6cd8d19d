/*
 * config-section.c - what every section type shares while it is parsed:
 * the option table of service and notifier sections (the core's options
 * plus the union of every plugin's), the options set in the section being
 * parsed and their lines, reading an option or its default, turning a
 * section into a plugin instance, copying lists and labels, and the
 * shared string pool. Also the libconfuse section a worker rebuilds for a
 * plugin's setup().
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
#include "config/config-internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* ------------------------------------------------------------------ */
/* Option tables                                                       */
/* ------------------------------------------------------------------ */

/* Every option of a service or notifier section lands here as it is set. */
static int record_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    if (tocsin_conf_parse->npending < TOCSIN_CONF_MAX_PENDING) {
        tocsin_conf_parse->pending[tocsin_conf_parse->npending].name = opt->name;
        tocsin_conf_parse->pending[tocsin_conf_parse->npending].line = cfg->line;
        tocsin_conf_parse->npending++;
    }
    return 0;
}

/* The line a section starts at, as near as libconfuse lets us know: that
 * of its first option (libconfuse reports where the section ended). */
int tocsin_conf_section_line(const cfg_t *sec)
{
    int line = 0;
    size_t i;

    for (i = 0; i < tocsin_conf_parse->npending; i++)
        if (!line || tocsin_conf_parse->pending[i].line < line)
            line = tocsin_conf_parse->pending[i].line;
    return line ? line : sec->line;
}

int tocsin_conf_pending_line(const char *name)
{
    size_t i;

    for (i = tocsin_conf_parse->npending; i-- > 0;)
        if (strcmp(tocsin_conf_parse->pending[i].name, name) == 0)
            return tocsin_conf_parse->pending[i].line;
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
/* 1 when `text` is a plain number (digits with an optional fraction): a
 * duration without a unit, which Tocsin reads as seconds. */
static int duration_is_bare(const char *text)
{
    size_t digits = strspn(text, "0123456789");

    if (!digits)
        return 0;
    text += digits;
    if (*text == '.')
        text += 1 + strspn(text + 1, "0123456789");
    return *text == '\0';
}

/*
 * The core's reading of a duration: tocsin_cfg_parse_duration, and a
 * warning for a plain number above 1 given to an interval option, which
 * Nagios would read in minutes (its interval_length) where Tocsin reads
 * seconds.
 */
static int duration_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    size_t n;

    if (tocsin_cfg_parse_duration(cfg, opt, value, result) != 0)
        return -1;
    n = opt && opt->name ? strlen(opt->name) : 0;
    if (n >= 8 && strcmp(opt->name + n - 8, "interval") == 0 && duration_is_bare(value) &&
        *(long *)result > 1000)
        tocsin_conf_warn(tocsin_conf_parse->file, cfg->line,
                         "%s = %s is read as %s seconds (Nagios reads it as %s minutes); "
                         "write %ss or %smin",
                         opt->name, value, value, value, value, value);
    return 0;
}

static cfg_callback_t core_parsecb(cfg_callback_t cb)
{
    if (cb == tocsin_cfg_parse_duration)
        return duration_cb;
    return cb == tocsin_cfg_parse_range || cb == tocsin_cfg_parse_ranges ? cb : NULL;
}

cfg_opt_t *tocsin_conf_union_table(const cfg_opt_t *core, uint32_t kind,
                                   const struct tocsin_registry *reg)
{
    struct opt_table t = {NULL, 0, 0};
    static const cfg_opt_t end = CFG_END();
    size_t i;

    for (; core->name; core++) {
        cfg_opt_t o = *core;

        if (o.type != CFGT_SEC)
            o.validcb = record_cb;
        if (o.parsecb == tocsin_cfg_parse_duration)
            o.parsecb = duration_cb;
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

long tocsin_conf_get_int(cfg_t *sec, const char *name)
{
    cfg_opt_t *o = opt_of(sec, name);

    return !o ? 0 : cfg_opt_size(o) ? cfg_opt_getnint(o, 0) : o->def.number;
}

double tocsin_conf_get_float(cfg_t *sec, const char *name)
{
    cfg_opt_t *o = opt_of(sec, name);

    return !o ? 0 : cfg_opt_size(o) ? cfg_opt_getnfloat(o, 0) : o->def.fpnumber;
}

int tocsin_conf_get_bool(cfg_t *sec, const char *name)
{
    cfg_opt_t *o = opt_of(sec, name);

    return !o ? 0 : (cfg_opt_size(o) ? cfg_opt_getnbool(o, 0) : o->def.boolean) == cfg_true;
}

/* A sub-section that was given, or NULL. */
cfg_t *tocsin_conf_get_sec(cfg_t *sec, const char *name)
{
    cfg_opt_t *o = opt_of(sec, name);

    return o && cfg_opt_size(o) ? cfg_opt_getnsec(o, 0) : NULL;
}

const char *tocsin_conf_get_str(cfg_t *sec, const char *name)
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

int tocsin_conf_valid_name(const char *s)
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
    size_t before = tocsin_conf_parse->nerrors;
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
    return tocsin_conf_parse->nerrors > before ? -1 : 0;
}

int tocsin_conf_build_passive(cfg_t *sec, const cfg_opt_t *core,
                              struct tocsin_instance_conf *inst)
{
    const char *title = cfg_title(sec);
    int check_line = tocsin_conf_pending_line("check");
    int errors = 0;
    unsigned i;

    inst->line = sec->line;
    inst->file = tocsin_conf_intern(tocsin_conf_parse->file);
    inst->name = strdup(title ? title : "");
    inst->plugin_name = tocsin_conf_intern("passive");
    if (!inst->file || !inst->name || !inst->plugin_name) {
        tocsin_conf_error(tocsin_conf_parse->file, sec->line, "out of memory");
        return -1;
    }
    if (!tocsin_conf_valid_name(inst->name)) {
        tocsin_conf_error(tocsin_conf_parse->file, inst->line,
                          "service name \"%s\" is not valid: use 1 to 200 "
                          "printable characters without spaces, '/' or '\"'", inst->name);
        errors++;
    }
    if (tocsin_conf_get_str(sec, "check")) {
        tocsin_conf_error(tocsin_conf_parse->file, check_line ? check_line : inst->line,
                          "service '%s': passive = true takes no check (use "
                          "accept_passive = true to take results beside a check)",
                          inst->name);
        errors++;
    }
    for (i = 0; i < tocsin_conf_parse->npending; i++) {
        const char *name = tocsin_conf_parse->pending[i].name;

        if (is_core_opt(core, name))
            continue;
        tocsin_conf_error(tocsin_conf_parse->file, tocsin_conf_parse->pending[i].line,
                          "service '%s': option '%s' is not an option of a passive "
                          "service", inst->name, name);
        errors++;
    }
    return errors ? -1 : 0;
}

/*
 * Fill `inst` from the section just parsed: find the plugin named by
 * `key` ("check" or "plugin"), check that every option set belongs to the
 * core or to that plugin, copy the plugin's options. Returns 0, or -1 when
 * an error was reported.
 */
int tocsin_conf_build_instance(cfg_t *sec, const cfg_opt_t *core, const char *key, uint32_t kind,
                               struct tocsin_instance_conf *inst)
{
    const char *what = kind == TOCSIN_PLUGIN_CHECK ? "check" : "notifier";
    const struct tocsin_plugin_entry *e;
    const char *title = cfg_title(sec);
    const char *pname = tocsin_conf_get_str(sec, key);
    int key_line = tocsin_conf_pending_line(key);
    int errors = 0;
    unsigned i;

    inst->line = key_line ? key_line : sec->line;
    inst->file = tocsin_conf_intern(tocsin_conf_parse->file);
    inst->name = strdup(title ? title : "");
    if (!inst->file || !inst->name)
        goto oom;
    if (!tocsin_conf_valid_name(inst->name)) {
        tocsin_conf_error(tocsin_conf_parse->file, inst->line,
                          "%s name \"%s\" is not valid: use 1 to 200 "
                          "printable characters without spaces, '/' or '\"'",
                          kind == TOCSIN_PLUGIN_CHECK ? "service" : "notifier", inst->name);
        errors++;
    }
    if (!pname || !*pname) {
        tocsin_conf_error(
            tocsin_conf_parse->file, sec->line, "%s '%s': no %s plugin given (%s = \"NAME\")",
            kind == TOCSIN_PLUGIN_CHECK ? "service" : "notifier", inst->name, what, key);
        return -1;
    }
    inst->plugin_name = tocsin_conf_intern(pname);
    if (!inst->plugin_name)
        goto oom;
    e = tocsin_registry_find(tocsin_conf_parse->reg, pname);
    if (!e || (e->desc && e->desc->kind != kind)) {
        struct tocsin_buf names = TOCSIN_BUF_INIT;

        tocsin_registry_names(tocsin_conf_parse->reg, kind, &names);
        tocsin_conf_error(tocsin_conf_parse->file, inst->line,
                          "unknown %s plugin '%s' (available: %s)", what, pname,
                          tocsin_buf_str(&names));
        tocsin_buf_free(&names);
        return -1;
    }
    if (!e->desc) {
        tocsin_conf_error(tocsin_conf_parse->file, inst->line, "%s plugin '%s' cannot be used: %s",
                          what, pname, e->error ? e->error : "it failed to load");
        return -1;
    }
    inst->plugin = e->desc;

    for (i = 0; i < tocsin_conf_parse->npending; i++) {
        const char *name = tocsin_conf_parse->pending[i].name;
        const cfg_opt_t *pdef = plugin_opt(inst->plugin, name);

        if (pdef) {
            if (check_deferred(sec, pdef, tocsin_conf_parse->pending[i].line) < 0)
                errors++;
            continue;
        }
        if (is_core_opt(core, name))
            continue;
        tocsin_conf_error(tocsin_conf_parse->file, tocsin_conf_parse->pending[i].line,
                          "option '%s' is not an option of %s plugin '%s'", name, what, pname);
        errors++;
    }

    /* Only options set in the file can carry a plugin value (plugin options
     * have no default in the section's table): look at those, not at the
     * whole table, which holds every plugin's options. */
    for (i = 0; i < tocsin_conf_parse->npending; i++) {
        cfg_opt_t *opt;
        const cfg_opt_t *pdef;
        unsigned k;

        for (k = 0; k < i; k++)
            if (strcmp(tocsin_conf_parse->pending[k].name, tocsin_conf_parse->pending[i].name) == 0)
                break;
        if (k < i)
            continue; /* set twice: copied once */
        opt = cfg_getopt(sec, tocsin_conf_parse->pending[i].name);
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
    tocsin_conf_error(tocsin_conf_parse->file, sec->line, "out of memory");
    return -1;
}

void tocsin_conf_free_instance(struct tocsin_instance_conf *inst)
{
    free(inst->name);

    free_optvals(inst->opts, inst->nopts);
}


/* Make room for one more entry of `size` bytes in *arr (count used,
 * *cap allocated), growing geometrically. Returns 0 or -1 on oom. */
int tocsin_conf_grow(void **arr, size_t count, size_t *cap, size_t size)
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
int tocsin_conf_copy_str_list(cfg_t *sec, const char *name, char ***out, size_t *n)
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

void tocsin_conf_free_str_list(char **list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Copy a free-form labels section (`what` names it in errors). */
int tocsin_conf_copy_labels(cfg_t *labels, const char *owner, int line, struct tocsin_label **out,
                            size_t *n, int *errors)
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
            tocsin_conf_error(tocsin_conf_parse->file, line,
                              "%s: label name '%s' is not valid (letters, "
                              "digits and '_', not starting with a digit)",
                              owner, o->name);
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

void tocsin_conf_free_labels(struct tocsin_label *l, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free((char *)l[i].key);
        free((char *)l[i].value);
    }
    free(l);
}

/*
 * Free the section just parsed once its content is copied out. libconfuse
 * looks for an earlier section of the same title each time one starts,
 * which is quadratic in a file of many services; with each section gone
 * as soon as it ends, that search is short, the tree stays small, and
 * duplicates are found by our own index instead.
 */
void tocsin_conf_drop_section(cfg_opt_t *opt)
{
    if (cfg_opt_size(opt))
        cfg_opt_rmnsec(opt, cfg_opt_size(opt) - 1);
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

/* ------------------------------------------------------------------ */
/* Shared strings                                                      */
/* ------------------------------------------------------------------ */

static const char *pool_string_at(const void *ud, uint32_t i)
{
    return ((const struct tocsin_strpool *)ud)->strings[i];
}

/*
 * The pooled copy of `s` (NULL when memory runs out), owned by the pool of
 * the configuration being loaded, which is created on first use. O(1) on
 * average.
 */
char *tocsin_conf_intern(const char *s)
{
    struct tocsin_strpool *p = tocsin_conf_parse->conf->pool;
    long k;
    char *copy;

    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return NULL;
        tocsin_hashidx_init(&p->index, pool_string_at, p);
        tocsin_conf_parse->conf->pool = p;
    }
    k = tocsin_hashidx_find(&p->index, s);
    if (k >= 0)
        return p->strings[k];
    if (tocsin_conf_grow((void **)&p->strings, p->count, &p->cap, sizeof(char *)) < 0)
        return NULL;
    copy = strdup(s);
    if (!copy)
        return NULL;
    p->strings[p->count] = copy;
    if (tocsin_hashidx_add(&p->index, copy, (uint32_t)p->count) < 0) {
        free(copy);
        return NULL;
    }
    p->count++;
    return copy;
}

void tocsin_conf_pool_free(struct tocsin_strpool *p)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->count; i++)
        free(p->strings[i]);
    free(p->strings);
    tocsin_hashidx_free(&p->index);
    free(p);
}
