/*
 * memory.c - used memory and swap against thresholds, from /proc/meminfo:
 *
 *   check = "memory"
 *   warning = "80"          # used %, where used = MemTotal - MemAvailable
 *   critical = "90"
 *   swap_warning = "50"     # swap used % (no default: swap is not judged)
 *   swap_critical = "80"
 *   no_swap = "ok"          # the state when swap is judged but there is none
 *   cgroup = true           # under a cgroup v2 memory limit, judge that
 *
 * Under a cgroup v2 group with memory.max set (a container), used is
 * memory.current less inactive_file of memory.stat, as docker and the
 * kubelet count it, and the limit stands for MemTotal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin-plugin.h"
#include "common/procfs.h"

struct memory {
    struct tocsin_thresholds used;  /* used % */
    struct tocsin_thresholds swap;  /* swap used % */
    int cgroup;                     /* judge a cgroup limit when there is one */
    enum tocsin_state no_swap;      /* swap judged but there is none */
};

static cfg_opt_t memory_options[] = {
    TOCSIN_OPT_RANGE("warning", "80"),
    TOCSIN_OPT_RANGE("critical", "90"),
    TOCSIN_OPT_RANGE("swap_warning", ""),
    TOCSIN_OPT_RANGE("swap_critical", ""),
    CFG_STR("no_swap", "ok", CFGF_NONE),
    CFG_BOOL("cgroup", cfg_true, CFGF_NONE),
    CFG_END()
};

/* What one check measured, in bytes. */
struct memory_figures {
    uint64_t total;      /* MemTotal, or the cgroup's memory.max */
    uint64_t available;  /* MemAvailable, or the limit less used */
    uint64_t used;
    uint64_t swap_total;
    uint64_t swap_free;
    int cgroup;          /* 1 when the figures are the cgroup's */
    char group[256];     /* that group */
};

/* Validate the options into a struct memory owned by the instance. */
static int memory_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct memory *m = calloc(1, sizeof(*m));
    int no_swap;

    if (!m) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tocsin_option_thresholds(options, "warning", "critical", &m->used,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "swap_warning", "swap_critical",
                                 &m->swap, err, errlen) < 0) {
        free(m);
        return -1;
    }
    m->cgroup = cfg_getbool(options, "cgroup") == cfg_true;
    no_swap = tocsin_state_parse(cfg_getstr(options, "no_swap"));
    if (no_swap < 0) {
        snprintf(err, errlen, "option 'no_swap': \"%s\" is not a state (ok, "
                 "warning, critical, unknown)", cfg_getstr(options, "no_swap"));
        free(m);
        return -1;
    }
    m->no_swap = (enum tocsin_state)no_swap;
    *instance = m;
    return 0;
}

static void memory_teardown(void *instance)
{
    free(instance);
}

/* The host's figures from the text of /proc/meminfo. Returns 0, or -1
 * with the missing field named in why. */
static int memory_parse_meminfo(const char *text, struct memory_figures *f,
                                char *why, size_t whylen)
{
    static const char *const need[] = { "MemTotal", "MemAvailable",
                                        "SwapTotal", "SwapFree" };
    uint64_t *slot[] = { &f->total, &f->available, &f->swap_total,
                         &f->swap_free };
    size_t i;

    for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        if (tocsin_procfs_keyed(text, need[i], slot[i]) < 0) {
            snprintf(why, whylen, "no %s in /proc/meminfo", need[i]);
            return -1;
        }
    if (f->total == 0) {
        snprintf(why, whylen, "MemTotal is 0 in /proc/meminfo");
        return -1;
    }
    if (f->available > f->total)
        f->available = f->total;
    if (f->swap_free > f->swap_total)
        f->swap_free = f->swap_total;
    f->used = f->total - f->available;
    return 0;
}

/* Gather the figures: /proc/meminfo, then the cgroup limit if one is set
 * and asked for. Returns 0, or -1 with a reason in why. */
static int memory_measure(const struct memory *m, struct memory_figures *f,
                          char *why, size_t whylen)
{
    struct tocsin_procfs_file file = { 0 };
    struct tocsin_cgroup_memory cg;
    int rc = -1, have;

    memset(f, 0, sizeof(*f));
    if (tocsin_procfs_read(TOCSIN_PROCFS_PROC, "meminfo", &file, why, whylen) < 0 ||
        memory_parse_meminfo(file.text, f, why, whylen) < 0)
        goto out;
    if (m->cgroup) {
        have = tocsin_cgroup_memory(&cg, why, whylen);
        if (have < 0)
            goto out;
        /* A limit above the host's memory is no limit. */
        if (have == 1 && cg.limit > 0 && cg.limit < f->total) {
            f->cgroup = 1;
            f->total = cg.limit;
            f->used = cg.current - cg.inactive_file;
            if (f->used > f->total)
                f->used = f->total;
            f->available = f->total - f->used;
            snprintf(f->group, sizeof(f->group), "%s", cg.path);
        }
    }
    rc = 0;
out:
    tocsin_procfs_free(&file);
    return rc;
}

/* Write `bytes` as "1.5 GiB" to buf. */
static void memory_human(uint64_t bytes, char *buf, size_t len)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)bytes;
    int i = 0;

    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, unit[i]);
}

/* Judge used % (and swap used % when swap exists) and report both with
 * the byte figures as perfdata. */
static void memory_check(void *instance, struct tocsin_check *chk)
{
    const struct memory *m = instance;
    struct memory_figures f;
    enum tocsin_state state, swap_state = TOCSIN_OK;
    char why[256], used[32], total[32], msg[512];
    double pct, swap_pct = 0;
    size_t n = 0;

    if (memory_measure(m, &f, why, sizeof(why)) < 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "MEMORY UNKNOWN - %s", why);
        return;
    }
    pct = (double)f.used * 100 / (double)f.total;
    pct = tocsin_procfs_round(pct, 1);
    state = tocsin_thresholds_eval(&m->used, pct);
    memory_human(f.used, used, sizeof(used));
    memory_human(f.total, total, sizeof(total));
    tocsin_append(msg, sizeof(msg), &n, "%.1f%% used (%s of %s", pct, used, total);
    if (f.cgroup)
        tocsin_append(msg, sizeof(msg), &n, " cgroup limit of %s)", f.group);
    else
        tocsin_append(msg, sizeof(msg), &n, ")");
    if (f.swap_total > 0) {
        swap_pct = (double)(f.swap_total - f.swap_free) * 100 / (double)f.swap_total;
        swap_pct = tocsin_procfs_round(swap_pct, 1);
        swap_state = tocsin_thresholds_eval(&m->swap, swap_pct);
        tocsin_append(msg, sizeof(msg), &n, ", swap %.1f%% used", swap_pct);
    } else {
        /* As check_swap -n: the state for no swap, when swap is judged. */
        if (m->swap.warning.set || m->swap.critical.set)
            swap_state = m->no_swap;
        tocsin_append(msg, sizeof(msg), &n, ", no swap");
    }
    state = tocsin_state_worst(state, swap_state);

    tocsin_check_perf(chk, "used_pct", pct, "%", &m->used, 0, 100,
                      TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    tocsin_check_perf(chk, "used", (double)f.used, "B", NULL, 0, (double)f.total,
                      TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    tocsin_check_perf(chk, "available", (double)f.available, "B", NULL, 0,
                      (double)f.total, TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    tocsin_check_perf(chk, f.cgroup ? "cgroup_limit" : "total", (double)f.total,
                      "B", NULL, 0, 0, TOCSIN_PERF_MIN);
    if (f.swap_total > 0) {
        tocsin_check_perf(chk, "swap_used_pct", swap_pct, "%", &m->swap, 0, 100,
                          TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
        tocsin_check_perf(chk, "swap_used", (double)(f.swap_total - f.swap_free),
                          "B", NULL, 0, (double)f.swap_total,
                          TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    }
    tocsin_check_set(chk, state, "MEMORY %s - %s", tocsin_state_name(state), msg);
}

/* Descriptions for --help; docs/check-memory.md tells more. */
static const struct tocsin_option_help memory_help[] = {
    { "warning", NULL,
      "on used %, alert above" },
    { "critical", NULL,
      "on used %, alert above" },
    { "swap_warning", NULL,
      "on swap used % (check_swap's -w 20% is swap_warning = \"80\")" },
    { "swap_critical", NULL,
      "on swap used % (check_swap's -w 20% is swap_warning = \"80\")" },
    { "no_swap", NULL,
      "the state when swap is judged but the machine has none (check_swap -n)" },
    { "cgroup", NULL,
      "judge a cgroup v2 memory limit when there is one" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "memory",
    .version = "0.1.0",
    .summary = "used memory (from MemAvailable, or a cgroup limit) and swap, in %",
    .options = memory_options,
    .help = memory_help,
    .setup = memory_setup,
    .teardown = memory_teardown,
    .check = memory_check,
);
