/*
 * nagios.c - run an existing Nagios / Monitoring Plugins executable
 * unchanged and pass its output and exit code through:
 *
 *   check = "nagios"
 *   command = "check_http -H example.org -w 3 -c 5"
 *
 * The command line is split like a shell would split it, but nothing is
 * expanded and no shell runs. A bare command name is looked up in PATH,
 * then in the Debian and upstream plugin directories; a command that is
 * not there, or not executable, is refused with the configuration.
 *
 * The command gets an environment of its own, never the daemon's: PATH,
 * HOME and TZ as the daemon has them, LANG=C, then the service's
 * `environment` ("NAME=value") and `environment_env` ("NAME=VARIABLE",
 * the value read once from the daemon's environment, as for a secret)
 * entries, which override those. See docs/check-nagios.md.
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

/* PATH of the command when the daemon has none. */
#define NAGIOS_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The locale of the command, unless the service sets one: plugins parse
 * the output of the tools they run, and C is the one every tool knows. */
#define NAGIOS_DEFAULT_LANG "C"

/* Variables passed from the daemon's environment when it has them. */
static const char *const nagios_passed_vars[] = { "HOME", "TZ" };

/* Where plugins live when they are not in PATH. */
static const char *const nagios_plugin_dirs[] = {
    "/usr/lib/nagios/plugins",
    "/usr/lib/monitoring-plugins",
};

struct nagios {
    char **argv;           /* the command, argv[0] resolved when found */
    char *what;            /* how failure messages name the command */
    size_t output_cap;     /* bytes kept per stream */
    char **envp;           /* the command's environment, NULL-terminated */
    size_t nenv;           /* entries in envp */
    size_t env_cap;        /* room in envp, the NULL included */
};

static cfg_opt_t nagios_options[] = {
    CFG_STR("command", 0, CFGF_NONE),
    CFG_INT("output_cap", NAGIOS_OUTPUT_CAP, CFGF_NONE),
    CFG_STR_LIST("environment", 0, CFGF_NONE),
    CFG_STR_LIST("environment_env", 0, CFGF_NONE),
    CFG_END()
};

static void nagios_teardown(void *instance)
{
    struct nagios *n = instance;
    size_t i;

    if (!n)
        return;
    tocsin_argv_free(n->argv);
    free(n->what);
    for (i = 0; i < n->nenv; i++) {
        /* Entries from environment_env may hold secrets. */
        explicit_bzero(n->envp[i], strlen(n->envp[i]));
        free(n->envp[i]);
    }
    free(n->envp);
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

/* Whether `entry` starts with a variable name (a letter or '_', then
 * letters, digits and '_') followed by '='. Returns the name's length, or
 * 0 when it does not. */
static size_t nagios_env_name(const char *entry)
{
    size_t i;

    if (!((entry[0] >= 'A' && entry[0] <= 'Z') || (entry[0] >= 'a' && entry[0] <= 'z') ||
          entry[0] == '_'))
        return 0;
    for (i = 1; entry[i] && entry[i] != '='; i++)
        if (!((entry[i] >= 'A' && entry[i] <= 'Z') || (entry[i] >= 'a' && entry[i] <= 'z') ||
              (entry[i] >= '0' && entry[i] <= '9') || entry[i] == '_'))
            return 0;
    return entry[i] == '=' ? i : 0;
}

/* Set variable `name` (namelen bytes) to `value` in the command's
 * environment, replacing an entry of that name. Returns 0, or -1 when out
 * of memory. */
static int nagios_env_set(struct nagios *n, const char *name, size_t namelen,
                          const char *value)
{
    size_t len = namelen + 1 + strlen(value) + 1, i;
    char *entry = malloc(len), **grown;

    if (!entry)
        return -1;
    snprintf(entry, len, "%.*s=%s", (int)namelen, name, value);
    for (i = 0; i < n->nenv; i++)
        if (strncmp(n->envp[i], entry, namelen + 1) == 0) {
            explicit_bzero(n->envp[i], strlen(n->envp[i]));
            free(n->envp[i]);
            n->envp[i] = entry;
            return 0;
        }
    if (n->nenv + 2 > n->env_cap) {
        size_t want = n->env_cap ? n->env_cap * 2 : 8;

        grown = realloc(n->envp, want * sizeof(*n->envp));
        if (!grown) {
            free(entry);
            return -1;
        }
        n->envp = grown;
        n->env_cap = want;
    }
    n->envp[n->nenv++] = entry;
    n->envp[n->nenv] = NULL;
    return 0;
}

/*
 * Build the command's environment (see the top of this file): the
 * defaults, then `environment`, then `environment_env`. Returns 0, or -1
 * with the option at fault in err (never a secret's value).
 */
static int nagios_env_build(struct nagios *n, cfg_t *options, char *err, size_t errlen)
{
    const char *path = getenv("PATH"), *v, *entry;
    char why[256], *secret;
    unsigned i, count;
    size_t k, namelen;
    int set;

    if (nagios_env_set(n, "PATH", 4, path && *path ? path : NAGIOS_DEFAULT_PATH) < 0 ||
        nagios_env_set(n, "LANG", 4, NAGIOS_DEFAULT_LANG) < 0)
        goto oom;
    for (k = 0; k < sizeof(nagios_passed_vars) / sizeof(nagios_passed_vars[0]); k++)
        if ((v = getenv(nagios_passed_vars[k])) &&
            nagios_env_set(n, nagios_passed_vars[k], strlen(nagios_passed_vars[k]), v) < 0)
            goto oom;

    count = cfg_size(options, "environment");
    for (i = 0; i < count; i++) {
        entry = cfg_getnstr(options, "environment", i);
        if (!(namelen = nagios_env_name(entry))) {
            snprintf(err, errlen, "option 'environment': \"%s\" is not NAME=value", entry);
            return -1;
        }
        if (nagios_env_set(n, entry, namelen, entry + namelen + 1) < 0)
            goto oom;
    }
    count = cfg_size(options, "environment_env");
    for (i = 0; i < count; i++) {
        entry = cfg_getnstr(options, "environment_env", i);
        if (!(namelen = nagios_env_name(entry)) || !entry[namelen + 1]) {
            snprintf(err, errlen, "option 'environment_env': \"%s\" is not NAME=VARIABLE",
                     entry);
            return -1;
        }
        if (tocsin_secret(NULL, NULL, entry + namelen + 1, &secret, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "option 'environment_env': %s", why);
            return -1;
        }
        set = nagios_env_set(n, entry, namelen, secret);
        tocsin_secret_free(secret);
        if (set < 0)
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Whether the command at `path` (with a '/') can be run: 0, or -1 with
 * the path and what is wrong with it (missing, a directory, not
 * executable) in `why`. */
static int nagios_runnable(const char *path, char *why, size_t whylen)
{
    struct stat st;
    int e;

    if (stat(path, &st) < 0) {
        e = errno;
        snprintf(why, whylen, "%s: %s", path, strerror(e));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s is %s, not an executable file", path,
                 S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
        return -1;
    }
    if (access(path, X_OK) < 0) {
        e = errno;
        snprintf(why, whylen, "%s is not executable: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

/* Split and resolve the command into a struct nagios owned by the
 * instance. A command that cannot be run (not found, missing, not
 * executable) is refused here, so that tocsind -t reports it with the
 * service's file and line instead of every check being UNKNOWN. */
static int nagios_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct nagios *n;
    const char *command = cfg_getstr(options, "command");
    long cap = cfg_getint(options, "output_cap");
    char why[512], *resolved;

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
        if (!resolved) {
            snprintf(err, errlen, "option 'command': %s not found in PATH, %s or %s",
                     n->argv[0], nagios_plugin_dirs[0], nagios_plugin_dirs[1]);
            goto fail;
        }
        free(n->argv[0]);
        n->argv[0] = resolved;
    } else if (nagios_runnable(n->argv[0], why, sizeof(why)) < 0) {
        snprintf(err, errlen, "option 'command': %s", why);
        goto fail;
    }
    if (!(n->what = strdup(n->argv[0])))
        goto oom;
    if (nagios_env_build(n, options, err, errlen) < 0)
        goto fail;
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
    (void)tocsin_exec_env(n->argv, n->envp, &deadline, n->output_cap, &res);
    tocsin_check_set_exec(chk, &res, n->what);
    tocsin_exec_free(&res);
}

/* Descriptions for --help; docs/check-nagios.md tells more. */
static const struct tocsin_option_help nagios_help[] = {
    { "command", "COMMAND",
      "the command line" },
    { "output_cap", NULL,
      "bytes of stdout and of stderr kept" },
    { "environment", NULL,
      "NAME=value entries added to the command's environment" },
    { "environment_env", "VARIABLE",
      "NAME=VARIABLE entries: NAME gets the value of the daemon's environment "
      "variable VARIABLE, read once as a secret is" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "nagios",
    .version = "0.1.0",
    .summary = "run a Nagios or Monitoring Plugins executable unchanged",
    .options = nagios_options,
    .help = nagios_help,
    .setup = nagios_setup,
    .teardown = nagios_teardown,
    .check = nagios_check,
);
