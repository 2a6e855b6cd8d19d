/*
 * hostcheck-bench.c - the CPU one check costs, measured in process: load
 * one check plugin as tocsin-check does, set it up with options from the
 * command line, run one check to warm up (a stateful plugin's first
 * sample), then N checks in a loop, and print the user + system CPU time
 * per check from getrusage() of this process and of its reaped children
 * (the commands the `nagios` plugin runs).
 *
 *   hostcheck-bench [-p PLUGIN_PATH] [-n COUNT] [-i MS] PLUGIN [--OPTION VALUE ...]
 *
 * -i sleeps MS milliseconds between checks (not counted), as a stateful
 * plugin needs time to pass between two checks to measure a rate.
 *
 * Prints one line: "PLUGIN checks=N cpu_us_per_check=X wall_us_per_check=Y
 * state=S". Driven by bench/hostchecks.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lib/buf.h"
#include "base/check-run.h"
#include "base/clock.h"
#include "config/cliopts.h"
#include "config/registry.h"

/* User + system microseconds of `who`. */
static long long cpu_us(int who)
{
    struct rusage ru;

    if (getrusage(who, &ru) < 0)
        return 0;
    return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* Run one check of `p` with instance `inst`; returns its state. */
static int run_once(const struct tocsin_plugin *p, void *inst)
{
    struct timespec deadline = tocsin_us_to_timespec(tocsin_mono_us() + 10000000);
    struct tocsin_check chk;
    int state;

    tocsin_check_init(&chk, "bench", &deadline);
    p->check(inst, &chk);
    state = (int)chk.state;
    tocsin_check_release(&chk);
    return state;
}

int main(int argc, char **argv)
{
    struct tocsin_registry reg;
    struct tocsin_buf warnings = TOCSIN_BUF_INIT, err = TOCSIN_BUF_INIT;
    const struct tocsin_plugin *p;
    const char *path = NULL;
    char reason[1024] = "";
    long long cpu0, wall0, cpu, wall;
    long count = 200, pause_ms = 0, i;
    struct timespec pause;
    void *inst = NULL;
    cfg_t *cfg = NULL;
    int a, state = 3, rc = 1;

    for (a = 1; a < argc && argv[a][0] == '-'; a++) {
        if (strcmp(argv[a], "-p") == 0 && a + 1 < argc)
            path = argv[++a];
        else if (strcmp(argv[a], "-n") == 0 && a + 1 < argc)
            count = atol(argv[++a]);
        else if (strcmp(argv[a], "-i") == 0 && a + 1 < argc)
            pause_ms = atol(argv[++a]);
        else
            break;
    }
    if (a >= argc || count < 1) {
        fprintf(stderr, "usage: hostcheck-bench [-p PATH] [-n COUNT] [-i MS] PLUGIN "
                "[--OPTION VALUE ...]\n");
        return 2;
    }
    if (tocsin_registry_init(&reg) < 0)
        return 1;
    if (!path)
        path = tocsin_registry_default_path();
    tocsin_registry_load_path(&reg, path, &warnings);
    p = tocsin_cli_plugin(&reg, path, argv[a], TOCSIN_PLUGIN_CHECK, &err);
    if (!p) {
        fprintf(stderr, "%s\n", tocsin_buf_str(&err));
        goto out;
    }
    cfg = cfg_init(p->options, CFGF_NONE);
    if (!cfg || tocsin_cli_options(cfg, p, argc, argv, a + 1, NULL, NULL, &err) != 0) {
        fprintf(stderr, "%s\n", cfg ? tocsin_buf_str(&err) : "out of memory");
        goto out;
    }
    if (p->setup && p->setup(cfg, &inst, reason, sizeof(reason)) != 0) {
        fprintf(stderr, "setup: %s\n", reason);
        goto out;
    }
    pause.tv_sec = pause_ms / 1000;
    pause.tv_nsec = (pause_ms % 1000) * 1000000L;
    run_once(p, inst);
    cpu = wall = 0;
    for (i = 0; i < count; i++) {
        if (pause_ms > 0)
            nanosleep(&pause, NULL);
        cpu0 = cpu_us(RUSAGE_SELF) + cpu_us(RUSAGE_CHILDREN);
        wall0 = tocsin_mono_us();
        state = run_once(p, inst);
        cpu += cpu_us(RUSAGE_SELF) + cpu_us(RUSAGE_CHILDREN) - cpu0;
        wall += tocsin_mono_us() - wall0;
    }
    printf("%s checks=%ld cpu_us_per_check=%.1f wall_us_per_check=%.1f state=%d\n",
           p->name, count, (double)cpu / (double)count, (double)wall / (double)count,
           state);
    if (p->teardown)
        p->teardown(inst);
    rc = 0;
out:
    if (cfg)
        cfg_free(cfg);
    tocsin_buf_free(&err);
    tocsin_buf_free(&warnings);
    tocsin_registry_free(&reg);
    return rc;
}
