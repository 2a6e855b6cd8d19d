/*
 * registry.c - finding and loading plugins. See registry.h.
 */
#include "config/registry.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef TOCSIN_PLUGIN_DIR
#define TOCSIN_PLUGIN_DIR "/usr/local/lib/tocsin"
#endif

const char *tocsin_registry_default_path(void)
{
    const char *env = getenv("TOCSIN_PLUGIN_PATH");

    return env && *env ? env : TOCSIN_PLUGIN_DIR;
}

int tocsin_registry_init(struct tocsin_registry *reg)
{
    reg->entries = NULL;
    reg->count = 0;
    return lt_dlinit() == 0 ? 0 : -1;
}

const struct tocsin_plugin_entry *
tocsin_registry_find(const struct tocsin_registry *reg, const char *name)
{
    size_t i;

    for (i = 0; i < reg->count; i++)
        if (strcmp(reg->entries[i].name, name) == 0)
            return &reg->entries[i];
    return NULL;
}

void tocsin_registry_names(const struct tocsin_registry *reg, uint32_t kind,
                           struct tocsin_buf *out)
{
    size_t i;
    int first = 1;

    for (i = 0; i < reg->count; i++) {
        const struct tocsin_plugin_entry *e = &reg->entries[i];

        if (!e->desc || e->desc->kind != kind)
            continue;
        tocsin_buf_printf(out, "%s%s", first ? "" : ", ", e->name);
        first = 0;
    }
    if (first)
        tocsin_buf_puts(out, "none");
}

/* Base name of `file` without directory and extension; caller frees. */
static char *module_base(const char *file)
{
    const char *slash = strrchr(file, '/');
    const char *base = slash ? slash + 1 : file;
    const char *dot = strrchr(base, '.');

    return strndup(base, dot ? (size_t)(dot - base) : strlen(base));
}

/*
 * Check a descriptor before anything else in it is trusted: the ABI
 * number is the first field in every ABI, so it can be read safely.
 * Returns 0, or -1 with the reason in err.
 */
static int check_descriptor(const char *file, const struct tocsin_plugin *d,
                            struct tocsin_buf *err)
{
    if (d->abi != TOCSIN_PLUGIN_ABI) {
        tocsin_buf_printf(err, "%s: plugin built for plugin ABI %u, but this "
                          "Tocsin speaks plugin ABI %u; rebuild it against "
                          "this version's tocsin-plugin.h",
                          file, (unsigned)d->abi, (unsigned)TOCSIN_PLUGIN_ABI);
        return -1;
    }
    if (d->size < sizeof(struct tocsin_plugin)) {
        tocsin_buf_printf(err, "%s: descriptor is %u bytes, expected %zu: "
                          "rebuild the plugin", file, (unsigned)d->size,
                          sizeof(struct tocsin_plugin));
        return -1;
    }
    if (!d->name || !*d->name) {
        tocsin_buf_printf(err, "%s: descriptor has no name", file);
        return -1;
    }
    if (!d->options) {
        tocsin_buf_printf(err, "%s: plugin '%s' has no option table "
                          "(use a table with only CFG_END())", file, d->name);
        return -1;
    }
    if (d->kind == TOCSIN_PLUGIN_CHECK && !d->check) {
        tocsin_buf_printf(err, "%s: check plugin '%s' has no check function",
                          file, d->name);
        return -1;
    }
    if (d->kind == TOCSIN_PLUGIN_NOTIFIER && !d->notify) {
        tocsin_buf_printf(err, "%s: notifier plugin '%s' has no notify "
                          "function", file, d->name);
        return -1;
    }
    if (d->kind != TOCSIN_PLUGIN_CHECK && d->kind != TOCSIN_PLUGIN_NOTIFIER) {
        tocsin_buf_printf(err, "%s: plugin '%s' has unknown kind %u", file,
                          d->name, (unsigned)d->kind);
        return -1;
    }
    for (const cfg_opt_t *o = d->options; o->name; o++) {
        if (o->type == CFGT_SEC || o->type == CFGT_FUNC || o->type == CFGT_PTR) {
            tocsin_buf_printf(err, "%s: plugin '%s' option '%s': only string, "
                              "integer, float and boolean options are "
                              "supported", file, d->name, o->name);
            return -1;
        }
    }
    return 0;
}

/* Grow the entry array by one; returns the new zeroed entry or NULL. */
static struct tocsin_plugin_entry *add_entry(struct tocsin_registry *reg)
{
    struct tocsin_plugin_entry *p;

    p = realloc(reg->entries, (reg->count + 1) * sizeof(*p));
    if (!p)
        return NULL;
    reg->entries = p;
    p = &reg->entries[reg->count++];
    memset(p, 0, sizeof(*p));
    return p;
}

const struct tocsin_plugin_entry *
tocsin_registry_load_file(struct tocsin_registry *reg, const char *file,
                          struct tocsin_buf *err)
{
    struct tocsin_plugin_entry *e = NULL;
    const struct tocsin_plugin *desc;
    lt_dlhandle h;
    char *base = module_base(file);

    if (!base)
        goto oom;
    h = lt_dlopen(file);
    if (!h) {
        const char *why = lt_dlerror();

        tocsin_buf_printf(err, "%s: cannot load: %s", file, why ? why : "unknown error");
        goto failed;
    }
    desc = lt_dlsym(h, TOCSIN_PLUGIN_SYMBOL);
    if (!desc) {
        tocsin_buf_printf(err, "%s: not a Tocsin plugin (no '%s' symbol)",
                          file, TOCSIN_PLUGIN_SYMBOL);
        lt_dlclose(h);
        goto failed;
    }
    if (check_descriptor(file, desc, err) < 0) {
        lt_dlclose(h);
        goto failed;
    }
    if (tocsin_registry_find(reg, desc->name)) {
        /* An earlier directory already provides this plugin. */
        lt_dlclose(h);
        free(base);
        return tocsin_registry_find(reg, desc->name);
    }
    e = add_entry(reg);
    if (!e)
        goto oom_close;
    e->name = strdup(desc->name);
    e->path = strdup(file);
    if (!e->name || !e->path)
        goto oom_entry;
    e->handle = h;
    e->desc = desc;
    free(base);
    return e;

failed:
    /* Keep the failure under the file's name, so that a configuration
     * referencing it gets the precise reason. */
    if (!tocsin_registry_find(reg, base)) {
        e = add_entry(reg);
        if (e) {
            e->name = base;
            base = NULL;
            e->path = strdup(file);
            e->error = strdup(tocsin_buf_str(err));
        }
    }
    free(base);
    return NULL;

oom_entry:
    free(e->name);
    free(e->path);
    reg->count--;
oom_close:
    lt_dlclose(h);
oom:
    free(base);
    tocsin_buf_printf(err, "%s: out of memory", file);
    return NULL;
}

/* Load every module in one directory. */
static int load_dir(struct tocsin_registry *reg, const char *dir,
                    struct tocsin_buf *warnings)
{
    struct tocsin_buf path = TOCSIN_BUF_INIT, err = TOCSIN_BUF_INIT;
    struct dirent **names = NULL;
    int n, i, loaded = 0;

    n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        tocsin_buf_printf(warnings, "plugin directory %s: %s\n", dir, strerror(errno));
        return 0;
    }
    for (i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        int is_la = len > 3 && strcmp(name + len - 3, ".la") == 0;
        int is_so = len > 3 && strcmp(name + len - 3, ".so") == 0;

        if (!is_la && !is_so)
            continue;
        if (is_so) {
            /* Prefer the libtool archive when both are present. */
            int j, has_la = 0;

            for (j = 0; j < n; j++)
                if (strncmp(names[j]->d_name, name, len - 3) == 0 &&
                    strcmp(names[j]->d_name + len - 3, ".la") == 0 &&
                    names[j]->d_name[len] == '\0')
                    has_la = 1;
            if (has_la)
                continue;
        }
        tocsin_buf_reset(&path);
        tocsin_buf_printf(&path, "%s/%s", dir, name);
        tocsin_buf_reset(&err);
        if (tocsin_registry_load_file(reg, tocsin_buf_str(&path), &err))
            loaded++;
        else
            tocsin_buf_printf(warnings, "%s\n", tocsin_buf_str(&err));
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    tocsin_buf_free(&path);
    tocsin_buf_free(&err);
    return loaded;
}

int tocsin_registry_load_path(struct tocsin_registry *reg, const char *path,
                              struct tocsin_buf *warnings)
{
    char *copy = strdup(path), *p, *colon;
    int loaded = 0;

    if (!copy)
        return 0;
    for (p = copy; p; p = colon) {
        colon = strchr(p, ':');
        if (colon)
            *colon++ = '\0';
        if (*p)
            loaded += load_dir(reg, p, warnings);
    }
    free(copy);
    return loaded;
}

/*
 * Forget the plugins. Their modules stay mapped until the process exits:
 * the libraries a plugin pulls in (net-snmp, libcurl, the database
 * clients) may have registered exit handlers, and leak reports must still
 * be able to name them.
 */
void tocsin_registry_free(struct tocsin_registry *reg)
{
    size_t i;

    for (i = 0; i < reg->count; i++) {
        struct tocsin_plugin_entry *e = &reg->entries[i];

        free(e->name);
        free(e->path);
        free(e->error);
    }
    free(reg->entries);
    reg->entries = NULL;
    reg->count = 0;
}
