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

static const char *type_name(const cfg_opt_t *o)
{
    switch (o->type) {
    case CFGT_INT:
        return "integer";
    case CFGT_FLOAT:
        return "number";
    case CFGT_BOOL:
        return "true|false";
    default:
        return "text";
    }
}

void tocsin_cli_print_options(const struct tocsin_plugin *p)
{
    const cfg_opt_t *o;

    printf("%s %s - %s\nOptions:\n", p->name, p->version ? p->version : "",
           p->summary ? p->summary : "");
    for (o = p->options; o->name; o++) {
        printf("  --%s %s%s", o->name, type_name(o), (o->flags & CFGF_LIST) ? " (repeatable)" : "");
        if (o->type == CFGT_STR && !(o->flags & CFGF_LIST) && o->def.string)
            printf(" (default \"%s\")", o->def.string);
        else if (o->type == CFGT_INT && o->parsecb == tocsin_cfg_parse_duration)
            printf(" (duration, default %ldms)", o->def.number);
        else if (o->type == CFGT_INT)
            printf(" (default %ld)", o->def.number);
        else if (o->type == CFGT_BOOL)
            printf(" (default %s)", o->def.boolean ? "true" : "false");
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
