/*
 * cliopts.c - a plugin's options from a command line, shared by
 * tocsin-check and tocsin-notify.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cliopts.h"

static struct tocsin_buf cfg_errors = TOCSIN_BUF_INIT;

static void collect_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    (void)cfg;
    if (cfg_errors.len)
        tocsin_buf_puts(&cfg_errors, "; ");
    tocsin_buf_vprintf(&cfg_errors, fmt, ap);
}

/* A duration in milliseconds in the largest unit that holds it whole:
 * "1d", "1h", "5m", "30s", "250ms". */
static void format_ms(long ms, char *buf, size_t len)
{
    static const struct { long ms; const char *unit; } units[] = {
        { 86400000L, "d" }, { 3600000L, "h" }, { 60000L, "m" }, { 1000L, "s" },
    };
    size_t i;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, len, "%ld%s", ms / units[i].ms, units[i].unit);
            return;
        }
    snprintf(buf, len, "%ldms", ms);
}

static int is_range(const cfg_opt_t *o)
{
    return o->type == CFGT_STR &&
           (o->parsecb == tocsin_cfg_parse_range || o->parsecb == tocsin_cfg_parse_ranges);
}

static int is_duration(const cfg_opt_t *o)
{
    return o->type == CFGT_INT && o->parsecb == tocsin_cfg_parse_duration;
}

/* The default of `o` as a user writes it, in buf; "" when it has none. */
static const char *default_text(const cfg_opt_t *o, char *buf, size_t len)
{
    *buf = '\0';
    if (o->flags & CFGF_LIST)
        return buf;
    if (is_duration(o))
        format_ms(o->def.number, buf, len);
    else if (o->type == CFGT_STR && o->def.string)
        snprintf(buf, len, "%s", o->def.string);
    else if (o->type == CFGT_INT)
        snprintf(buf, len, "%ld", o->def.number);
    else if (o->type == CFGT_FLOAT)
        snprintf(buf, len, "%g", o->def.fpnumber);
    else if (o->type == CFGT_BOOL)
        snprintf(buf, len, "%s", o->def.boolean ? "true" : "false");
    return buf;
}

/* What follows --NAME when the plugin gives no example: a duration's
 * default (or "30s"), else the kind of value. */
static const char *value_word(const cfg_opt_t *o, const char *def)
{
    if (is_duration(o))
        return *def && strcmp(def, "0ms") != 0 ? def : "30s";
    if (is_range(o))
        return "RANGE";
    switch (o->type) {
    case CFGT_INT:
        return "N";
    case CFGT_FLOAT:
        return "NUMBER";
    case CFGT_BOOL:
        return "true|false";
    default:
        return "TEXT";
    }
}

/* What a plugin without descriptions is told of: the kind of value. */
static const char *type_text(const cfg_opt_t *o)
{
    if (is_duration(o))
        return "a duration";
    if (is_range(o))
        return "a Nagios range";
    switch (o->type) {
    case CFGT_INT:
        return "an integer";
    case CFGT_FLOAT:
        return "a number";
    case CFGT_BOOL:
        return "true or false";
    default:
        return "text";
    }
}

static const struct tocsin_option_help *help_of(const struct tocsin_plugin *p,
                                                const char *name)
{
    const struct tocsin_option_help *h;

    for (h = p->help; h && h->name; h++)
        if (strcmp(h->name, name) == 0)
            return h;
    return NULL;
}

/*
 * One line per option: "--NAME VALUE", what it does, its default in the
 * units the configuration takes ("1h", not milliseconds), and whether it
 * may be repeated. Options with '_' are also accepted with '-'.
 */
void tocsin_cli_print_options(const struct tocsin_plugin *p)
{
    const cfg_opt_t *o;

    printf("%s %s - %s\nOptions:\n", p->name, p->version ? p->version : "",
           p->summary ? p->summary : "");
    for (o = p->options; o->name; o++) {
        const struct tocsin_option_help *h = help_of(p, o->name);
        char def[128], head[160];
        int n;

        default_text(o, def, sizeof(def));
        n = snprintf(head, sizeof(head), "  --%s %s", o->name,
                     h && h->example ? h->example : value_word(o, def));
        if (n < 0)
            continue;
        fputs(head, stdout);
        if ((size_t)n < 30)
            printf("%*s", 30 - n, "");
        else
            fputs("\n                              ", stdout);
        fputs(h && h->text ? h->text : type_text(o), stdout);
        if (o->flags & CFGF_LIST)
            fputs(" (repeatable)", stdout);
        if (*def)
            printf(" [default: %s]", def);
        else if (o->type == CFGT_STR && !(o->flags & CFGF_LIST))
            fputs(" [default: none]", stdout);
        putchar('\n');
    }
}

const struct tocsin_plugin *tocsin_cli_plugin(struct tocsin_registry *reg,
                                              const char *path,
                                              const char *name, uint32_t kind,
                                              struct tocsin_buf *err)
{
    const struct tocsin_plugin_entry *e;
    const char *what = kind == TOCSIN_PLUGIN_CHECK ? "check" : "notifier";

    if (strchr(name, '/')) {
        e = tocsin_registry_load_file(reg, name, err);
        if (!e)
            return NULL;
    } else {
        e = tocsin_registry_find(reg, name);
        if (!e) {
            struct tocsin_buf names = TOCSIN_BUF_INIT;

            tocsin_registry_names(reg, kind, &names);
            tocsin_buf_printf(err, "unknown %s plugin '%s' in %s (available: %s)", what,
                              name, path, tocsin_buf_str(&names));
            tocsin_buf_free(&names);
            return NULL;
        }
        if (!e->desc) {
            tocsin_buf_printf(err, "%s plugin '%s' cannot be used: %s", what, name, e->error);
            return NULL;
        }
    }
    if (e->desc->kind != kind) {
        tocsin_buf_printf(err, "'%s' is a %s plugin, not a %s plugin", e->desc->name,
                          kind == TOCSIN_PLUGIN_CHECK ? "notifier" : "check", what);
        return NULL;
    }
    return e->desc;
}

int tocsin_cli_options(cfg_t *cfg, const struct tocsin_plugin *p, int argc,
                       char **argv, int first, tocsin_cli_extra_fn extra,
                       void *ud, struct tocsin_buf *err)
{
    struct tocsin_buf name = TOCSIN_BUF_INIT;
    unsigned char *seen = NULL;
    size_t nopts = 0, k, idx;
    int i, rc = -1;

    cfg_set_error_function(cfg, collect_error);
    for (const cfg_opt_t *o = p->options; o->name; o++)
        nopts++;
    seen = calloc(nopts + 1, 1);
    if (!seen) {
        tocsin_buf_puts(err, "out of memory");
        goto out;
    }
    for (i = first; i < argc; i++) {
        const char *arg = argv[i], *value, *eq;
        cfg_opt_t *opt;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            rc = 1;
            goto out;
        }
        if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
            tocsin_buf_printf(err, "expected --OPTION, got \"%s\"", arg);
            goto out;
        }
        arg += 2;
        eq = strchr(arg, '=');
        tocsin_buf_reset(&name);
        tocsin_buf_append(&name, arg, eq ? (size_t)(eq - arg) : strlen(arg));
        for (k = 0; k < name.len; k++)
            if (name.data[k] == '-')
                name.data[k] = '_';
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[i + 1];
        else
            value = NULL;
        opt = cfg_getopt(cfg, tocsin_buf_str(&name));
        if (!opt) {
            int taken = 0;

            if (extra && value)
                taken = extra(ud, tocsin_buf_str(&name), value, err);
            if (taken < 0)
                goto out;
            if (taken == 0) {
                tocsin_buf_printf(err, "plugin %s has no option --%s (see --help)", p->name,
                                  tocsin_buf_str(&name));
                goto out;
            }
            if (!eq)
                i++;
            continue;
        }
        if (!value) {
            tocsin_buf_printf(err, "option --%s needs a value", tocsin_buf_str(&name));
            goto out;
        }
        if (!eq)
            i++;
        idx = 0;
        for (const cfg_opt_t *o = p->options; o->name; o++, idx++)
            if (strcmp(o->name, opt->name) == 0)
                break;
        if ((opt->flags & CFGF_LIST) && !seen[idx])
            cfg_free_value(opt);
        seen[idx] = 1;
        tocsin_buf_reset(&cfg_errors);
        if (!cfg_setopt(cfg, opt, value)) {
            tocsin_buf_printf(err, "option --%s: %s", tocsin_buf_str(&name),
                              cfg_errors.len ? tocsin_buf_str(&cfg_errors) : "invalid value");
            goto out;
        }
    }
    rc = 0;
out:
    free(seen);
    tocsin_buf_free(&name);
    tocsin_buf_free(&cfg_errors);
    return rc;
}
