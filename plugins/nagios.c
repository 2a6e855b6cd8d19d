/*
 * nagios.c - run an existing Nagios / Monitoring Plugins executable
 * unchanged and pass its output and exit code through:
 *
 *   check = "nagios"
 *   command = "check_http -H example.org -w 3 -c 5"
 *
 * The command line is split like a shell would split it, but nothing is
 * expanded and no shell runs. A bare command name is looked up in PATH,
 * then in the Debian and upstream plugin directories.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tocsin-plugin.h"

/* Output kept from the command per stream, when not configured. Larger
 * than Nagios's 8 KB: the core trims after parsing. */
#define NAGIOS_OUTPUT_CAP 65536

/* Largest output_cap accepted. */
#define NAGIOS_OUTPUT_CAP_MAX (16L * 1024 * 1024)

/* Where plugins live when they are not in PATH. */
static const char *const nagios_plugin_dirs[] = {
    "/usr/lib/nagios/plugins",
    "/usr/lib/monitoring-plugins",
};

struct nagios {
    char **argv;           /* the command, argv[0] resolved when found */
    char *what;            /* how failure messages name the command */
    size_t output_cap;     /* bytes kept per stream */
};

static cfg_opt_t nagios_options[] = {
    CFG_STR("command", 0, CFGF_NONE),
    CFG_INT("output_cap", NAGIOS_OUTPUT_CAP, CFGF_NONE),
    CFG_END()
};

static void nagios_teardown(void *instance)
{
    struct nagios *n = instance;

    if (!n)
        return;
    tocsin_argv_free(n->argv);
    free(n->what);
    free(n);
}

/* If `dir`/`name` is an executable regular file, return it as a new
 * string; NULL otherwise (or when memory runs out). */
static char *nagios_try(const char *dir, size_t dirlen, const char *name)
{
    struct stat st;
    size_t len = dirlen + 1 + strlen(name) + 1;
    char *path = malloc(len);

    if (!path)
        return NULL;
    snprintf(path, len, "%.*s/%s", (int)dirlen, dir, name);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
        return path;
    free(path);
    return NULL;
}

/* Find a bare command name in PATH, then in the plugin directories.
 * Returns the absolute path (caller frees) or NULL when not found. Empty
 * PATH entries (the current directory) are skipped. */
static char *nagios_lookup(const char *name)
{
    const char *path = getenv("PATH"), *p, *colon;
    char *found;
    size_t i, len;

    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path; *p; p = *colon ? colon + 1 : colon) {
        colon = strchr(p, ':');
        if (!colon)
            colon = p + strlen(p);
        len = (size_t)(colon - p);
        if (len > 0 && (found = nagios_try(p, len, name)))
            return found;
    }
    for (i = 0; i < sizeof(nagios_plugin_dirs) / sizeof(nagios_plugin_dirs[0]); i++) {
        found = nagios_try(nagios_plugin_dirs[i], strlen(nagios_plugin_dirs[i]), name);
        if (found)
            return found;
    }
    return NULL;
}

/* Split and resolve the command into a struct nagios owned by the
 * instance. A command that cannot be found is kept as written: running
 * it then fails with a message naming where it was looked for. */
static int nagios_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct nagios *n;
    const char *command = cfg_getstr(options, "command");
    long cap = cfg_getint(options, "output_cap");
    char why[256], *resolved;
    size_t len;

    if (!command || !*command) {
        snprintf(err, errlen, "option 'command' is required");
        return -1;
    }
    if (cap < 1 || cap > NAGIOS_OUTPUT_CAP_MAX) {
        snprintf(err, errlen, "option 'output_cap': %ld is not between 1 and "
                 "%ld bytes", cap, NAGIOS_OUTPUT_CAP_MAX);
        return -1;
    }
    n = calloc(1, sizeof(*n));
    if (!n)
        goto oom;
    n->output_cap = (size_t)cap;
    n->argv = tocsin_argv_split(command, why, sizeof(why));
    if (!n->argv) {
        snprintf(err, errlen, "option 'command': %s", why);
        goto fail;
    }

    if (!strchr(n->argv[0], '/')) {
        resolved = nagios_lookup(n->argv[0]);
        if (resolved) {
            free(n->argv[0]);
            n->argv[0] = resolved;
        } else {
            len = strlen(n->argv[0]) + 128;
            if (!(n->what = malloc(len)))
                goto oom;
            snprintf(n->what, len, "%s (not found in PATH, %s or %s)",
                     n->argv[0], nagios_plugin_dirs[0], nagios_plugin_dirs[1]);
        }
    }
    if (!n->what && !(n->what = strdup(n->argv[0])))
        goto oom;
    *instance = n;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    nagios_teardown(n);
    return -1;
}

/* Run the command until the check's deadline and hand its outcome over
 * as Nagios would: exit code as state, output byte for byte. */
static void nagios_check(void *instance, struct tocsin_check *chk)
{
    const struct nagios *n = instance;
    struct tocsin_exec_result res;
    struct timespec deadline = tocsin_check_deadline(chk);

    /* A failure to start is described by res.spawn_errno, which
     * tocsin_check_set_exec() turns into the message. */
    (void)tocsin_exec(n->argv, &deadline, n->output_cap, &res);
    tocsin_check_set_exec(chk, &res, n->what);
    tocsin_exec_free(&res);
}

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "nagios",
    .version = "0.1.0",
    .summary = "run a Nagios or Monitoring Plugins executable unchanged",
    .options = nagios_options,
    .setup = nagios_setup,
    .teardown = nagios_teardown,
    .check = nagios_check,
);
