/*
 * tocsin-check.c - run one check plugin once, as a Nagios plugin: print
 * its output (first line with performance data, then long output) and
 * exit with its state, so that Nagios, Icinga or a shell can call any
 * Tocsin check.
 *
 *   tocsin-check PLUGIN [--OPTION VALUE | --OPTION=VALUE ...]
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "base/check-run.h"
#include "lib/check.h"
#include "config/cliopts.h"
#include "base/clock.h"
#include "base/reaper.h"
#include "config/registry.h"

static char timeout_message[256];

static void usage(FILE *to)
{
    fprintf(to,
            "Usage: tocsin-check [-p PLUGIN_PATH] [--timeout DURATION] PLUGIN [--OPTION VALUE ...]\n"
            "       tocsin-check --list\n"
            "       tocsin-check PLUGIN --help\n"
            "Runs one check plugin once and exits with its Nagios state (0-3).\n"
            "  -p PATH             plugin directories, colon-separated\n"
            "                      (default $TOCSIN_PLUGIN_PATH or %s)\n"
            "  --timeout DURATION  give up after this long (default 10s)\n",
            TOCSIN_PLUGIN_DIR);
}

/* Usage errors are UNKNOWN, as for any Nagios plugin. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("UNKNOWN: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    exit(TOCSIN_UNKNOWN);
}

static void on_alarm(int sig)
{
    ssize_t n;

    (void)sig;
    n = write(STDOUT_FILENO, timeout_message, strlen(timeout_message));
    (void)n;
    _exit(TOCSIN_UNKNOWN);
}

/* Our own --timeout, also accepted after the plugin's name. */
static int extra_option(void *ud, const char *name, const char *value,
                        struct tocsin_buf *err)
{
    long *timeout_ms = ud;

    if (strcmp(name, "timeout") != 0)
        return 0;
    if (tocsin_duration_parse(value, timeout_ms) < 0 || *timeout_ms <= 0) {
        tocsin_buf_printf(err, "--timeout: \"%s\" is not a duration (e.g. 10s, 1m)", value);
        return -1;
    }
    return 1;
}

int main(int argc, char **argv)
{
    struct tocsin_registry reg;
    struct tocsin_buf warnings = TOCSIN_BUF_INIT, err = TOCSIN_BUF_INIT, out = TOCSIN_BUF_INIT;
    const struct tocsin_plugin *p;
    const char *path = NULL;
    long timeout_ms = 10000;
    char reason[1024] = "";
    struct tocsin_check chk;
    struct timespec deadline;
    void *inst = NULL;
    cfg_t *cfg;
    int i, rc, state, list = 0;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (tocsin_duration_parse(argv[++i], &timeout_ms) < 0 || timeout_ms <= 0)
                die("--timeout: \"%s\" is not a duration (e.g. 10s, 1m)", argv[i]);
        } else if (strcmp(argv[i], "--list") == 0) {
            list = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return TOCSIN_UNKNOWN;
        } else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("tocsin-check %s (plugin ABI %d)\n", PACKAGE_VERSION, TOCSIN_PLUGIN_ABI);
            return TOCSIN_OK;
        } else {
            usage(stderr);
            die("unknown option %s", argv[i]);
        }
    }
    if (tocsin_registry_init(&reg) < 0)
        die("cannot initialise the plugin loader");
    if (!path)
        path = tocsin_registry_default_path();
    tocsin_registry_load_path(&reg, path, &warnings);
    if (list) {
        size_t k;

        for (k = 0; k < reg.count; k++)
            if (reg.entries[k].desc && reg.entries[k].desc->kind == TOCSIN_PLUGIN_CHECK)
                printf("%-14s %s\n", reg.entries[k].name,
                       reg.entries[k].desc->summary ? reg.entries[k].desc->summary : "");
        return TOCSIN_OK;
    }
    if (i >= argc) {
        usage(stderr);
        die("no plugin named");
    }
    p = tocsin_cli_plugin(&reg, path, argv[i], TOCSIN_PLUGIN_CHECK, &err);
    if (!p)
        die("%s", tocsin_buf_str(&err));
    cfg = cfg_init(p->options, CFGF_NONE);
    if (!cfg)
        die("out of memory");
    cfg->filename = strdup("command line");
    rc = tocsin_cli_options(cfg, p, argc, argv, i + 1, extra_option, &timeout_ms, &err);
    if (rc < 0)
        die("%s", tocsin_buf_str(&err));
    if (rc > 0) {
        tocsin_cli_print_options(p);
        state = TOCSIN_UNKNOWN;
        goto out;
    }

    snprintf(timeout_message, sizeof(timeout_message),
             "UNKNOWN: plugin %s timed out after %g s\n", p->name, (double)timeout_ms / 1000);
    signal(SIGALRM, on_alarm);
    /* The plugin gets the deadline; the alarm is the backstop one second later. */
    alarm((unsigned)((timeout_ms + 999) / 1000 + 1));

    if (p->setup && p->setup(cfg, &inst, reason, sizeof(reason)) != 0) {
        reason[sizeof(reason) - 1] = '\0';
        die("%s", *reason ? reason : "the plugin refused its options");
    }
    deadline = tocsin_us_to_timespec(tocsin_mono_us() + timeout_ms * 1000);
    tocsin_check_init(&chk, "", &deadline);
    /* What the check's commands leave running comes back here, to end
     * with the check. */
    (void)tocsin_reaper_become();
    p->check(inst, &chk);
    (void)tocsin_reaper_end_children(NULL, NULL, 200000);
    alarm(0);
    if (chk.timed_out) {
        /* Say so first; what the plugin had to say follows as long output. */
        struct tocsin_buf said = TOCSIN_BUF_INIT;

        tocsin_check_render(&chk, &said);
        tocsin_buf_printf(&out, "UNKNOWN: plugin %s timed out after %g s\n", p->name,
                          (double)timeout_ms / 1000);
        tocsin_buf_append(&out, said.data ? said.data : "", said.len);
        tocsin_buf_free(&said);
        state = TOCSIN_UNKNOWN;
    } else {
        tocsin_check_render(&chk, &out);
        state = (int)chk.state >= 0 && (int)chk.state <= 3 ? (int)chk.state : TOCSIN_UNKNOWN;
    }
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    if (!out.len || out.data[out.len - 1] != '\n')
        putchar('\n');
    fflush(stdout);

    tocsin_check_release(&chk);
    if (p->teardown)
        p->teardown(inst);
out:
    cfg_free(cfg);
    tocsin_buf_free(&out);
    tocsin_buf_free(&err);
    tocsin_buf_free(&warnings);
    tocsin_registry_free(&reg);
    return state;
}
