/*
 * registry.h - the plugins Tocsin knows: found in the plugin directories,
 * loaded with libltdl, their descriptors checked against this build's ABI.
 *
 * Loading reads the descriptor and the option table only; no plugin
 * function is ever called in the process that loads the registry's
 * owner (the core). Workers inherit the loaded modules through fork().
 */
#ifndef TOCSIN_REGISTRY_H
#define TOCSIN_REGISTRY_H

#include <ltdl.h>
#include <stddef.h>

#include "lib/buf.h"
#include "tocsin-plugin.h"

struct tocsin_plugin_entry {
    char *name;                        /* descriptor name (file base name
                                          when the file could not be loaded) */
    char *path;                        /* file it came from */
    lt_dlhandle handle;                /* NULL when the load failed */
    const struct tocsin_plugin *desc;  /* NULL when the load failed */
    char *error;                       /* why it could not be loaded, or NULL */
};

struct tocsin_registry {
    struct tocsin_plugin_entry *entries;
    size_t count;
};

/* Initialise libltdl and the registry. Returns 0 or -1. */
int tocsin_registry_init(struct tocsin_registry *reg);

/* Load every module (*.la, else *.so) in each directory of `path`
 * (colon-separated; an earlier directory wins for a given name). Problems
 * with single files are not fatal: they are kept on the entry and also
 * appended to `warnings`, one line each. A directory that cannot be read
 * is appended to `warnings` too. Returns the number of usable plugins. */
int tocsin_registry_load_path(struct tocsin_registry *reg, const char *path,
                              struct tocsin_buf *warnings);

/* Load one module file and add it. Returns the entry, or NULL with the
 * reason in `err`. */
const struct tocsin_plugin_entry *
tocsin_registry_load_file(struct tocsin_registry *reg, const char *file,
                          struct tocsin_buf *err);

/* The entry named `name` (usable or not), or NULL. O(n). */
const struct tocsin_plugin_entry *
tocsin_registry_find(const struct tocsin_registry *reg, const char *name);

/* Append the names of usable plugins of `kind` to `out`, comma-separated. */
void tocsin_registry_names(const struct tocsin_registry *reg, uint32_t kind,
                           struct tocsin_buf *out);

void tocsin_registry_free(struct tocsin_registry *reg);

/* The plugin search path to use when none is given: $TOCSIN_PLUGIN_PATH,
 * else the compiled-in plugin directory. */
const char *tocsin_registry_default_path(void);

#endif
