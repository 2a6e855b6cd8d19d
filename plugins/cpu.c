/*
 * cpu.c - how busy the CPUs were between two checks of the service, from
 * /proc/stat (or, under a cgroup v2 CPU limit, from cpu.stat against
 * cpu.max):
 *
 *   check = "cpu"
 *   warning = "70"            # busy %: all time but idle and iowait
 *   critical = "90"
 *   modes = {"user", "system", "iowait", "steal"}   # perfdata per mode
 *   iowait_warning = "20"     # also user_, system_, steal_ ranges
 *   per_cpu = true            # perfdata per CPU, judged by per_cpu_*
 *   per_cpu_critical = "98"
 *
 * The plugin keeps the previous counters (TOCSIN_PLUGIN_STATEFUL): a check
 * reports the time since the previous one. The first check of a service,
 * and one after the counters went back, samples sample_window itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tocsin-plugin.h"
#include "common/procfs.h"

/* The modes that have ranges of their own: option names and modes. */
static const struct {
    const char *warning, *critical;
    enum tocsin_cpu_mode mode;
} cpu_mode_ranges[] = {
    { "user_warning", "user_critical", TOCSIN_CPU_USER },
    { "system_warning", "system_critical", TOCSIN_CPU_SYSTEM },
    { "iowait_warning", "iowait_critical", TOCSIN_CPU_IOWAIT },
    { "steal_warning", "steal_critical", TOCSIN_CPU_STEAL },
};
#define CPU_MODE_RANGES (sizeof(cpu_mode_ranges) / sizeof(cpu_mode_ranges[0]))

/* One reading of the counters. */
struct cpu_sample {
    int64_t at_us;                   /* CLOCK_MONOTONIC when read */
    struct tocsin_cpu_times total;   /* the "cpu" line */
    struct tocsin_cpu_times *percpu; /* "cpuN" lines, cap entries */
    size_t ncpu;                     /* how many were read */
    int cgroup;                      /* cg holds a limit */
    struct tocsin_cgroup_cpu cg;
};

struct cpu {
    struct tocsin_thresholds busy;
    struct tocsin_thresholds mode_th[TOCSIN_CPU_MODES]; /* unset if none */
    struct tocsin_thresholds per_cpu_th;
    unsigned modes;          /* bit per enum tocsin_cpu_mode reported */
    int per_cpu;
    int cgroup;              /* judge a cgroup limit when there is one */
    long sample_ms;          /* first sample's window */
    size_t cap;              /* entries of percpu in each sample */
    struct cpu_sample prev, cur;
    int have_prev;
};

static cfg_opt_t cpu_options[] = {
    TOCSIN_OPT_RANGE("warning", "70"),
    TOCSIN_OPT_RANGE("critical", "90"),
    CFG_STR_LIST("modes", "{user, system, iowait, steal}", CFGF_NONE),
    TOCSIN_OPT_RANGE("user_warning", ""),
    TOCSIN_OPT_RANGE("user_critical", ""),
    TOCSIN_OPT_RANGE("system_warning", ""),
    TOCSIN_OPT_RANGE("system_critical", ""),
    TOCSIN_OPT_RANGE("iowait_warning", ""),
    TOCSIN_OPT_RANGE("iowait_critical", ""),
    TOCSIN_OPT_RANGE("steal_warning", ""),
    TOCSIN_OPT_RANGE("steal_critical", ""),
    CFG_BOOL("per_cpu", cfg_false, CFGF_NONE),
    TOCSIN_OPT_RANGE("per_cpu_warning", ""),
    TOCSIN_OPT_RANGE("per_cpu_critical", ""),
    TOCSIN_OPT_DURATION("sample_window", 1000),
    CFG_BOOL("cgroup", cfg_true, CFGF_NONE),
    CFG_END()
};

static void cpu_teardown(void *instance)
{
    struct cpu *c = instance;

    if (!c)
        return;
    free(c->prev.percpu);
    free(c->cur.percpu);
    free(c);
}

/* Validate the options into a struct cpu owned by the instance; with
 * per_cpu, room for the per-CPU counters of every configured CPU. */
static int cpu_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct cpu *c = calloc(1, sizeof(*c));
    unsigned i, j, n;
    long conf;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (tocsin_option_thresholds(options, "warning", "critical", &c->busy,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "per_cpu_warning", "per_cpu_critical",
                                 &c->per_cpu_th, err, errlen) < 0)
        goto fail;
    for (i = 0; i < CPU_MODE_RANGES; i++)
        if (tocsin_option_thresholds(options, cpu_mode_ranges[i].warning,
                                     cpu_mode_ranges[i].critical,
                                     &c->mode_th[cpu_mode_ranges[i].mode],
                                     err, errlen) < 0)
            goto fail;
    n = cfg_size(options, "modes");
    for (i = 0; i < n; i++) {
        const char *name = cfg_getnstr(options, "modes", i);

        for (j = 0; j < TOCSIN_CPU_MODES; j++)
            if (strcmp(name, tocsin_cpu_mode_names[j]) == 0)
                break;
        if (j == TOCSIN_CPU_MODES) {
            snprintf(err, errlen, "option 'modes': unknown mode \"%s\" (one of "
                     "user, nice, system, idle, iowait, irq, softirq, steal)", name);
            goto fail;
        }
        c->modes |= 1u << j;
    }
    for (i = 0; i < CPU_MODE_RANGES; i++)
        if (c->mode_th[cpu_mode_ranges[i].mode].warning.set ||
            c->mode_th[cpu_mode_ranges[i].mode].critical.set)
            c->modes |= 1u << cpu_mode_ranges[i].mode;
    c->per_cpu = cfg_getbool(options, "per_cpu") == cfg_true;
    c->cgroup = cfg_getbool(options, "cgroup") == cfg_true;
    c->sample_ms = cfg_getint(options, "sample_window");
    if (c->sample_ms <= 0) {
        snprintf(err, errlen, "option 'sample_window' must be more than 0");
        goto fail;
    }
    if (c->per_cpu) {
        conf = sysconf(_SC_NPROCESSORS_CONF);
        c->cap = conf > 256 ? (size_t)conf : 256;
        c->prev.percpu = calloc(c->cap, sizeof(*c->prev.percpu));
        c->cur.percpu = calloc(c->cap, sizeof(*c->cur.percpu));
        if (!c->prev.percpu || !c->cur.percpu) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    *instance = c;
    return 0;

fail:
    cpu_teardown(c);
    return -1;
}

/* Read /proc/stat (and the cgroup's cpu.stat) into *s. Returns 0, or -1
 * with a reason in why. */
static int cpu_read(const struct cpu *c, struct cpu_sample *s, char *why,
                    size_t whylen)
{
    struct tocsin_procfs_file f = { 0 };
    char reason[192];
    int rc = -1, have;

    if (tocsin_procfs_read(TOCSIN_PROCFS_PROC, "stat", &f, why, whylen) < 0)
        goto out;
    if (tocsin_procfs_parse_stat(f.text, &s->total, s->percpu, c->cap,
                                 &s->ncpu, reason, sizeof(reason)) < 0) {
        size_t used = 0;

        tocsin_append(why, whylen, &used, "cannot parse %s: %s", f.path, reason);
        goto out;
    }
    if (s->ncpu > c->cap)
        s->ncpu = c->cap;
    s->cgroup = 0;
    if (c->cgroup) {
        have = tocsin_cgroup_cpu(&s->cg, why, whylen);
        if (have < 0)
            goto out;
        s->cgroup = have;
    }
    s->at_us = tocsin_procfs_now_us();
    rc = 0;
out:
    tocsin_procfs_free(&f);
    return rc;
}

/* 1 when a counter of `b` is below the one of `a`: the kernel restarted
 * them (a CPU went offline, a new cgroup, a counter wrapped), and a rate
 * between the two means nothing. */
static int cpu_went_back(const struct cpu_sample *a, const struct cpu_sample *b)
{
    size_t i, k;

    for (k = 0; k < TOCSIN_CPU_MODES; k++)
        if (b->total.t[k] < a->total.t[k])
            return 1;
    if (a->ncpu != b->ncpu || a->cgroup != b->cgroup)
        return 1;
    for (i = 0; i < b->ncpu; i++)
        for (k = 0; k < TOCSIN_CPU_MODES; k++)
            if (b->percpu[i].t[k] < a->percpu[i].t[k])
                return 1;
    if (b->cgroup && (b->cg.usage_usec < a->cg.usage_usec ||
                      b->cg.user_usec < a->cg.user_usec ||
                      b->cg.system_usec < a->cg.system_usec))
        return 1;
    return 0;
}

/* Busy % and % per mode between two /proc/stat lines. */
static void cpu_percent(const struct tocsin_cpu_times *a,
                        const struct tocsin_cpu_times *b, double *busy,
                        double mode[TOCSIN_CPU_MODES])
{
    uint64_t d = tocsin_cpu_total(b) - tocsin_cpu_total(a);
    int k;

    for (k = 0; k < TOCSIN_CPU_MODES; k++)
        mode[k] = d ? (double)(b->t[k] - a->t[k]) * 100 / (double)d : 0;
    *busy = d ? 100 - mode[TOCSIN_CPU_IDLE] - mode[TOCSIN_CPU_IOWAIT] : 0;
    if (*busy < 0)
        *busy = 0;
}

/* Swap the current sample into prev, keeping both buffers. */
static void cpu_keep(struct cpu *c)
{
    struct cpu_sample t = c->prev;

    c->prev = c->cur;
    c->cur = t;
    c->have_prev = 1;
}

/* Read the counters, sample a window first if there is no usable previous
 * reading, judge busy %, each mode with ranges, and each CPU with
 * per_cpu, and keep the counters for the next check. */
static void cpu_check(void *instance, struct tocsin_check *chk)
{
    struct cpu *c = instance;
    enum tocsin_state state;
    double busy, mode[TOCSIN_CPU_MODES], elapsed, v;
    char why[256], msg[512], label[32];
    const char *resampled = NULL;
    size_t n = 0, i;
    int k, first = 1;

    if (cpu_read(c, &c->cur, why, sizeof(why)) < 0)
        goto unknown;
    if (c->have_prev && cpu_went_back(&c->prev, &c->cur))
        resampled = "the counters went back since the previous check "
                    "(CPU hotplug, a new cgroup, a reboot); re-sampled";
    /* Less than a clock tick since the previous check: nothing to
     * measure yet, so sample a window as a first check does. */
    if (!c->have_prev || resampled ||
        tocsin_cpu_total(&c->cur.total) == tocsin_cpu_total(&c->prev.total)) {
        cpu_keep(c);
        tocsin_procfs_sample_wait(chk, c->sample_ms);
        if (cpu_read(c, &c->cur, why, sizeof(why)) < 0)
            goto unknown;
        if (cpu_went_back(&c->prev, &c->cur)) {
            cpu_keep(c);
            snprintf(why, sizeof(why), "the counters went back during the "
                     "sample window; the next check will have a rate");
            goto unknown;
        }
    }
    elapsed = (double)(c->cur.at_us - c->prev.at_us) / 1e6;
    cpu_percent(&c->prev.total, &c->cur.total, &busy, mode);
    if (c->cur.cgroup) {
        /* Time used by the group against the time its quota allows. */
        double allowed = elapsed * 1e6 * c->cur.cg.cpus;

        busy = (double)(c->cur.cg.usage_usec - c->prev.cg.usage_usec) * 100 / allowed;
        mode[TOCSIN_CPU_USER] = (double)(c->cur.cg.user_usec - c->prev.cg.user_usec) *
                                100 / allowed;
        mode[TOCSIN_CPU_SYSTEM] = (double)(c->cur.cg.system_usec -
                                           c->prev.cg.system_usec) * 100 / allowed;
    }
    busy = tocsin_procfs_round(busy, 1);
    state = tocsin_thresholds_eval(&c->busy, busy);
    if (c->cur.cgroup)
        tocsin_append(msg, sizeof(msg), &n, "%.1f%% of the cgroup limit of %.2f "
                      "CPUs (%s) busy", busy, c->cur.cg.cpus, c->cur.cg.path);
    else
        tocsin_append(msg, sizeof(msg), &n, "%.1f%% busy", busy);
    tocsin_check_perf(chk, c->cur.cgroup ? "cgroup_busy" : "busy", busy, "%",
                      &c->busy, 0, 100, TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);

    for (k = 0; k < TOCSIN_CPU_MODES; k++) {
        if (!(c->modes & (1u << k)))
            continue;
        v = tocsin_procfs_round(mode[k], 1);
        state = tocsin_state_worst(state, tocsin_thresholds_eval(&c->mode_th[k], v));
        tocsin_append(msg, sizeof(msg), &n, "%s%s %.1f%%", first ? " (" : ", ",
                      tocsin_cpu_mode_names[k], v);
        first = 0;
        tocsin_check_perf(chk, tocsin_cpu_mode_names[k], v, "%", &c->mode_th[k],
                          0, 100, TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    }
    if (!first)
        tocsin_append(msg, sizeof(msg), &n, ")");
    tocsin_append(msg, sizeof(msg), &n, " over %.1f s", elapsed);

    for (i = 0; c->per_cpu && i < c->cur.ncpu; i++) {
        double each, modes[TOCSIN_CPU_MODES];
        enum tocsin_state s;

        cpu_percent(&c->prev.percpu[i], &c->cur.percpu[i], &each, modes);
        each = tocsin_procfs_round(each, 1);
        s = tocsin_thresholds_eval(&c->per_cpu_th, each);
        state = tocsin_state_worst(state, s);
        if (s != TOCSIN_OK)
            tocsin_check_long(chk, "cpu%zu %s: %.1f%% busy", i,
                              tocsin_state_name(s), each);
        snprintf(label, sizeof(label), "cpu%zu_busy", i);
        tocsin_check_perf(chk, label, each, "%", &c->per_cpu_th, 0, 100,
                          TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    }
    if (resampled)
        tocsin_check_long(chk, "%s", resampled);
    tocsin_check_set(chk, state, "CPU %s - %s", tocsin_state_name(state), msg);
    cpu_keep(c);
    return;

unknown:
    tocsin_check_set(chk, TOCSIN_UNKNOWN, "CPU UNKNOWN - %s", why);
}

/* Descriptions for --help; docs/check-cpu.md tells more. */
static const struct tocsin_option_help cpu_help[] = {
    { "warning", NULL,
      "on busy %, alert above" },
    { "critical", NULL,
      "on busy %, alert above" },
    { "modes", NULL,
      "modes reported; any of user, nice, system, idle, iowait, irq, softirq, steal" },
    { "user_warning", NULL,
      "a range on user, system, iowait or steal % (the mode is then reported)" },
    { "user_critical", NULL,
      "a range on user, system, iowait or steal % (the mode is then reported)" },
    { "system_warning", NULL,
      "a range on user, system, iowait or steal % (the mode is then reported)" },
    { "system_critical", NULL,
      "a range on user, system, iowait or steal % (the mode is then reported)" },
    { "iowait_warning", NULL,
      "a range on user, system, iowait or steal % (the mode is then reported)" },
    { "iowait_critical", NULL,
      "a range on user, system, iowait or steal % (the mode is then reported)" },
    { "steal_warning", NULL,
      "a range on user, system, iowait or steal % (the mode is then reported)" },
    { "steal_critical", NULL,
      "a range on user, system, iowait or steal % (the mode is then reported)" },
    { "per_cpu", NULL,
      "also one cpuN_busy figure per CPU" },
    { "per_cpu_warning", NULL,
      "on each CPU's busy %; the CPUs that alert are named in the long output" },
    { "per_cpu_critical", NULL,
      "on each CPU's busy %; the CPUs that alert are named in the long output" },
    { "sample_window", NULL,
      "the first check's own window" },
    { "cgroup", NULL,
      "judge a cgroup v2 CPU quota when there is one" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .flags = TOCSIN_PLUGIN_STATEFUL,
    .name = "cpu",
    .version = "0.1.0",
    .summary = "CPU busy % between checks (or of a cgroup limit), per mode and per CPU",
    .options = cpu_options,
    .help = cpu_help,
    .setup = cpu_setup,
    .teardown = cpu_teardown,
    .check = cpu_check,
);
