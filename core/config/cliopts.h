/*
 * cliopts.h - a plugin's options given on a command line
 * ("--OPTION VALUE" or "--OPTION=VALUE"), for tocsin-check and
 * tocsin-notify.
 */
#ifndef TOCSIN_CLIOPTS_H
#define TOCSIN_CLIOPTS_H

#include <confuse.h>

#include "lib/buf.h"
#include "config/registry.h"
#include "tocsin-plugin.h"

/* Called for an option the plugin does not have ("-" already turned into
 * "_"). Return 1 when it was taken, 0 when it is unknown too, -1 when its
 * value is bad (with a message in err). */
typedef int (*tocsin_cli_extra_fn)(void *ud, const char *name,
                                   const char *value, struct tocsin_buf *err);

/* Find plugin `name` (or load the file, when it holds a '/') of `kind` in
 * `reg`, loaded from `path`. Returns it, or NULL with a message in err. */
const struct tocsin_plugin *tocsin_cli_plugin(struct tocsin_registry *reg,
                                              const char *path,
                                              const char *name, uint32_t kind,
                                              struct tocsin_buf *err);

/* Apply argv[first..argc) to `cfg`, made by cfg_init(p->options). A list
 * option given several times collects every value. Returns 0, 1 when
 * --help was asked for, or -1 with a message in err. */
int tocsin_cli_options(cfg_t *cfg, const struct tocsin_plugin *p, int argc,
                       char **argv, int first, tocsin_cli_extra_fn extra,
                       void *ud, struct tocsin_buf *err);

/* Print the plugin's options, one a line, with types and defaults. */
void tocsin_cli_print_options(const struct tocsin_plugin *p);

#endif
