/*
 * exec.c - a notifier that runs a command of the user's for each message,
 * with the alert in TOCSIN_* environment variables:
 *
 *   notifier "ticket" {
 *       plugin = "exec"
 *       command = "/usr/local/bin/open-ticket --queue ops"
 *   }
 *
 * The command line is split into words like a shell would, but no shell
 * runs it: nothing is expanded, and the alert's text can never become
 * part of a command. The command gets the worker's environment without
 * any inherited TOCSIN_* variable, plus the alert's (see
 * docs/notify-exec.md). Exit status 0 means delivered, 75 (EX_TEMPFAIL)
 * try again later, anything else failed; the first line of its stderr
 * explains a failure. It is killed with its process group at the
 * alert's deadline.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1           /* environ */
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tocsin-plugin.h"

#define EXEC_DEFAULT_TEMPLATE "{alerts}"

/* The exit status that asks for a retry (sysexits.h EX_TEMPFAIL). */
#define EXEC_EXIT_TEMPFAIL 75

/* Bytes of the command's stdout and stderr kept. */
#define EXEC_OUTPUT_CAP 4096

/* Characters of the command's stderr quoted in err. */
#define EXEC_SHOW_MAX 200

/* The prefix of every variable the notifier sets. */
#define EXEC_PREFIX "TOCSIN_"

struct exec_notifier {
    char **argv;                /* from tocsin_argv_split() */
    char *tmpl;                 /* TOCSIN_MESSAGE template */
};

/* The environment of one run: the inherited entries (borrowed) and ours
 * (owned), NULL-terminated. */
struct exec_env {
    char **vars;                /* what the command gets */
    size_t n;
    size_t cap;
    char **owned;               /* the entries made here */
    size_t nowned;
};

static cfg_opt_t exec_options[] = {
    CFG_STR("command", "", CFGF_NONE),
    CFG_STR("template", EXEC_DEFAULT_TEMPLATE, CFGF_NONE),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* The environment                                                     */
/* ------------------------------------------------------------------ */

static void exec_env_free(struct exec_env *env)
{
    size_t i;

    for (i = 0; i < env->nowned; i++)
        free(env->owned[i]);
    free(env->owned);
    free(env->vars);
    memset(env, 0, sizeof(*env));
}

/* Start with the worker's environment minus every TOCSIN_* entry, with
 * room for `extra` more. Returns 0, or -1 when out of memory. */
static int exec_env_init(struct exec_env *env, size_t extra)
{
    size_t total = 0, i;

    memset(env, 0, sizeof(*env));
    for (i = 0; environ && environ[i]; i++)
        total++;
    env->cap = total + extra + 1;
    env->vars = calloc(env->cap, sizeof(*env->vars));
    env->owned = calloc(env->cap, sizeof(*env->owned));
    if (!env->vars || !env->owned)
        return -1;
    for (i = 0; i < total; i++)
        if (strncmp(environ[i], EXEC_PREFIX, sizeof(EXEC_PREFIX) - 1) != 0)
            env->vars[env->n++] = environ[i];
    return 0;
}

/* Whether one of our own entries already sets `name` (len bytes, no '='). */
static int exec_env_has(const struct exec_env *env, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < env->nowned; i++)
        if (strncmp(env->owned[i], name, len) == 0 && env->owned[i][len] == '=')
            return 1;
    return 0;
}

/* Add NAME=value, unless NAME is already one of ours (two labels whose
 * names differ only in punctuation: the first wins). Returns 0, or -1
 * when out of memory. */
static int exec_env_put(struct exec_env *env, const char *name, const char *value)
{
    size_t nlen = strlen(name), vlen = value ? strlen(value) : 0;
    char *entry;

    if (exec_env_has(env, name, nlen))
        return 0;
    if (env->n + 1 >= env->cap)
        return -1;              /* exec_env_init() counted wrong */
    entry = malloc(nlen + vlen + 2);
    if (!entry)
        return -1;
    memcpy(entry, name, nlen);
    entry[nlen] = '=';
    memcpy(entry + nlen + 1, value ? value : "", vlen);
    entry[nlen + 1 + vlen] = '\0';
    env->owned[env->nowned++] = entry;
    env->vars[env->n++] = entry;
    env->vars[env->n] = NULL;
    return 0;
}

/* Add NAME=number. */
static int exec_env_num(struct exec_env *env, const char *name, long long value)
{
    char text[32];

    snprintf(text, sizeof(text), "%lld", value);
    return exec_env_put(env, name, text);
}

/* "TOCSIN_LABEL_" and the key upper-cased, everything but letters and
 * digits turned into '_'. The caller frees; NULL when out of memory. */
static char *exec_label_name(const char *key)
{
    static const char prefix[] = EXEC_PREFIX "LABEL_";
    size_t klen = strlen(key), i;
    char *name = malloc(sizeof(prefix) + klen);

    if (!name)
        return NULL;
    memcpy(name, prefix, sizeof(prefix) - 1);
    for (i = 0; i < klen; i++) {
        char c = key[i];

        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            c = '_';
        name[sizeof(prefix) - 1 + i] = c;
    }
    name[sizeof(prefix) - 1 + klen] = '\0';
    return name;
}

/* Number of fixed variables exec_env_alert() sets (labels come on top). */
#define EXEC_FIXED_VARS 24

/*
 * The whole environment for one run, describing `a` (the first alert of
 * the message; the others are in TOCSIN_ALERTS and TOCSIN_COUNT).
 * Returns 0, or -1 when out of memory. O(environment + labels^2).
 */
static int exec_env_alert(struct exec_env *env, const struct exec_notifier *x,
                          const struct tocsin_alert *a)
{
    char *message = NULL, *alerts = NULL, *name;
    time_t from = a->problem_since ? a->problem_since : a->since;
    time_t to = a->at ? a->at : time(NULL);
    size_t i;
    int rc = -1;

    if (exec_env_init(env, EXEC_FIXED_VARS + a->nlabels) < 0)
        goto out;
    if (!(message = tocsin_template_render(x->tmpl, a)) ||
        !(alerts = tocsin_template_render("{alerts}", a)))
        goto out;
    if (exec_env_put(env, "TOCSIN_SERVICE", a->service) < 0 ||
        exec_env_put(env, "TOCSIN_HOST", a->host) < 0 ||
        exec_env_put(env, "TOCSIN_STATE", tocsin_state_name((int)a->state)) < 0 ||
        exec_env_put(env, "TOCSIN_PREVIOUS_STATE", tocsin_state_name((int)a->previous)) < 0 ||
        exec_env_put(env, "TOCSIN_SEVERITY", tocsin_severity_name((int)a->severity)) < 0 ||
        exec_env_put(env, "TOCSIN_KIND", tocsin_alert_kind_name((int)a->kind)) < 0 ||
        exec_env_put(env, "TOCSIN_OUTPUT", a->output) < 0 ||
        exec_env_put(env, "TOCSIN_LONG_OUTPUT", a->long_output) < 0 ||
        exec_env_put(env, "TOCSIN_PERFDATA", a->perfdata) < 0 ||
        exec_env_put(env, "TOCSIN_INCIDENT", a->incident) < 0 ||
        exec_env_put(env, "TOCSIN_GROUP_KEY", a->group_key) < 0 ||
        exec_env_put(env, "TOCSIN_ROUTE", a->route) < 0 ||
        exec_env_num(env, "TOCSIN_SINCE", (long long)a->since) < 0 ||
        exec_env_num(env, "TOCSIN_PROBLEM_SINCE", (long long)from) < 0 ||
        exec_env_num(env, "TOCSIN_AT", (long long)to) < 0 ||
        exec_env_num(env, "TOCSIN_DURATION", to > from ? (long long)(to - from) : 0) < 0 ||
        exec_env_num(env, "TOCSIN_ATTEMPT", a->attempt) < 0 ||
        exec_env_num(env, "TOCSIN_MAX_ATTEMPTS", a->max_attempts) < 0 ||
        exec_env_put(env, "TOCSIN_LINK", a->link) < 0 ||
        exec_env_put(env, "TOCSIN_REASON", a->reason) < 0 ||
        exec_env_num(env, "TOCSIN_COUNT", (long long)(1 + a->ngrouped)) < 0 ||
        exec_env_put(env, "TOCSIN_ALERTS", alerts) < 0 ||
        exec_env_put(env, "TOCSIN_MESSAGE", message) < 0 ||
        exec_env_put(env, "TOCSIN_FLAPPING", a->flapping ? "1" : "0") < 0)
        goto out;
    for (i = 0; i < a->nlabels; i++) {
        if (!a->labels[i].key)
            continue;
        if (!(name = exec_label_name(a->labels[i].key)))
            goto out;
        rc = exec_env_put(env, name, a->labels[i].value);
        free(name);
        if (rc < 0)
            goto out;
        rc = -1;
    }
    rc = 0;
out:
    free(message);
    free(alerts);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void exec_teardown(void *instance)
{
    struct exec_notifier *x = instance;

    if (!x)
        return;
    tocsin_argv_free(x->argv);
    free(x->tmpl);
    free(x);
}

/* Whether `cmd` can be run: an executable file at that path, or, for a
 * bare name, in a directory of PATH. Returns 0, or errno. */
static int exec_findable(const char *cmd)
{
    const char *path = getenv("PATH"), *p, *colon;
    char full[4096];
    int e = ENOENT;

    if (strchr(cmd, '/'))
        return access(cmd, X_OK) == 0 ? 0 : errno;
    for (p = path ? path : "/usr/bin:/bin"; ; p = colon + 1) {
        size_t dlen;

        colon = strchr(p, ':');
        dlen = colon ? (size_t)(colon - p) : strlen(p);
        if ((size_t)snprintf(full, sizeof(full), "%.*s/%s", (int)(dlen ? dlen : 1),
                             dlen ? p : ".", cmd) < sizeof(full)) {
            if (access(full, X_OK) == 0)
                return 0;
            if (errno == EACCES)
                e = EACCES;
        }
        if (!colon)
            break;
    }
    return e;
}

/* Validate the options into a struct exec_notifier owned by the instance. */
static int exec_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct exec_notifier *x;
    const char *command = cfg_getstr(options, "command");
    char why[256];
    int e;

    x = calloc(1, sizeof(*x));
    if (!x)
        goto oom;
    if (!command || !*command) {
        snprintf(err, errlen, "option 'command' is required: the program to run "
                 "for each message, with its arguments");
        goto fail;
    }
    if (!(x->argv = tocsin_argv_split(command, why, sizeof(why)))) {
        snprintf(err, errlen, "option 'command': %s", why);
        goto fail;
    }
    if ((e = exec_findable(x->argv[0])) != 0) {
        snprintf(err, errlen, "option 'command': %s cannot be run: %s%s", x->argv[0],
                 strerror(e), strchr(x->argv[0], '/') ? "" : " (searched in PATH)");
        goto fail;
    }
    if (tocsin_option_template(options, "template", 1, &x->tmpl, err, errlen) < 0)
        goto fail;
    *instance = x;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    exec_teardown(x);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Notify                                                              */
/* ------------------------------------------------------------------ */

/* ": " and the first line of the command's stderr, control characters
 * replaced and cut at EXEC_SHOW_MAX, or "" when it wrote nothing. */
static const char *exec_stderr_line(const struct tocsin_exec_result *res, char *out,
                                    size_t outlen)
{
    const char *s = res->err ? res->err : "";
    size_t n;

    out[0] = '\0';
    while (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
        s++;
    n = strcspn(s, "\r\n");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (!n || outlen < 3)
        return out;
    memcpy(out, ": ", 3);
    tocsin_show(s, n, EXEC_SHOW_MAX, 0, out + 2, outlen - 2);
    return out;
}

/* Seconds left before `deadline` (CLOCK_MONOTONIC), may be negative. */
static double exec_left(const struct timespec *deadline)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(deadline->tv_sec - now.tv_sec) +
           (double)(deadline->tv_nsec - now.tv_nsec) / 1e9;
}

/*
 * Run the command once for the message. The outcome: exit 0 delivered;
 * exit 75 retry; another exit status failed; killed by a signal or at the
 * deadline retry; not startable failed (retry when the system is only out
 * of processes or memory). Cost: one spawn, and an environment of the
 * worker's size plus the alert's.
 */
static enum tocsin_delivery exec_notify(void *instance, const struct tocsin_alert *alert,
                                        char *err, size_t errlen)
{
    struct exec_notifier *x = instance;
    struct tocsin_exec_result res;
    struct exec_env env;
    enum tocsin_delivery outcome;
    const char *name = x->argv[0];
    char line[EXEC_SHOW_MAX + 16];
    int rc;

    if (alert->kind == TOCSIN_ALERT_RESULT)
        return TOCSIN_DELIVERED;
    err[0] = '\0';
    if (exec_left(&alert->deadline) <= 0) {
        snprintf(err, errlen, "no time left before the deadline to run %s", name);
        return TOCSIN_RETRY;
    }
    if (exec_env_alert(&env, x, alert) < 0) {
        exec_env_free(&env);
        snprintf(err, errlen, "out of memory building the environment of %s", name);
        return TOCSIN_RETRY;
    }
    rc = tocsin_exec_env(x->argv, env.vars, &alert->deadline, EXEC_OUTPUT_CAP, &res);
    exec_env_free(&env);
    exec_stderr_line(&res, line, sizeof(line));

    if (rc < 0) {
        int e = res.spawn_errno;

        snprintf(err, errlen, "cannot run %s: %s", name, strerror(e));
        outcome = e == EAGAIN || e == ENOMEM || e == EMFILE || e == ENFILE
                  ? TOCSIN_RETRY : TOCSIN_FAILED;
    } else if (res.timed_out) {
        snprintf(err, errlen, "%s did not finish before the deadline and was "
                 "killed after %.1f s%s", name, res.duration, line);
        outcome = TOCSIN_RETRY;
    } else if (!res.exited) {
        snprintf(err, errlen, "%s was killed by signal %d (%s)%s", name,
                 res.term_signal, strsignal(res.term_signal), line);
        outcome = TOCSIN_RETRY;
    } else if (res.exit_code == 0) {
        outcome = TOCSIN_DELIVERED;
    } else if (res.exit_code == EXEC_EXIT_TEMPFAIL) {
        snprintf(err, errlen, "%s asked to retry later (exit %d)%s", name,
                 res.exit_code, line);
        outcome = TOCSIN_RETRY;
    } else {
        snprintf(err, errlen, "%s exited with status %d%s", name, res.exit_code, line);
        outcome = TOCSIN_FAILED;
    }
    tocsin_exec_free(&res);
    return outcome;
}

/* Descriptions for --help; docs/notify-exec.md tells more. */
static const struct tocsin_option_help exec_help[] = {
    { "command", "COMMAND",
      "the program and its arguments; a name without / is looked up in PATH" },
    { "template", "TEMPLATE",
      "rendered into TOCSIN_MESSAGE" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .name = "exec",
    .version = "0.1.0",
    .summary = "run a command with the alert in TOCSIN_* environment variables",
    .options = exec_options,
    .help = exec_help,
    .setup = exec_setup,
    .teardown = exec_teardown,
    .notify = exec_notify,
);
