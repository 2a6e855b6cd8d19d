/*
 * load.c - the 1, 5 and 15 minute load averages against thresholds, as
 * check_load reports them:
 *
 *   check = "load"
 *   warning = "15,10,5"     # one range for all three, or 1min,5min,15min
 *   critical = "30,25,20"
 *   per_cpu = true          # divide by the number of online CPUs first
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tocsin-plugin.h"

#define LOAD_FILE "/proc/loadavg"

/* Longest single range accepted inside a comma-separated list. */
#define LOAD_RANGE_MAX 64

static const char *const load_labels[3] = { "load1", "load5", "load15" };

struct load {
    struct tocsin_thresholds th[3]; /* 1, 5 and 15 minutes */
    int per_cpu;                    /* compare load per online CPU */
};

static cfg_opt_t load_options[] = {
    TOCSIN_OPT_RANGES("warning", "3.0"),
    TOCSIN_OPT_RANGES("critical", "5.0"),
    CFG_BOOL("per_cpu", cfg_false, CFGF_NONE),
    CFG_END()
};

/* Parse option `name` holding either one range, used for all three
 * averages, or three comma-separated ranges "1min,5min,15min". Writes
 * the three ranges to out[0..2]. Returns 0, or -1 with a reason in err. */
static int load_parse_ranges(const char *name, const char *text,
                             struct tocsin_range *out[3],
                             char *err, size_t errlen)
{
    char one[LOAD_RANGE_MAX], why[256];
    const char *p, *comma;
    size_t len;
    int i;

    if (!text)
        text = "";
    if (!strchr(text, ',')) {
        if (tocsin_range_parse(text, out[0], why, sizeof(why)) < 0) {
            snprintf(err, errlen, "option '%s': %s", name, why);
            return -1;
        }
        *out[1] = *out[0];
        *out[2] = *out[0];
        return 0;
    }

    p = text;
    for (i = 0; i < 3; i++) {
        comma = strchr(p, ',');
        if ((i < 2 && !comma) || (i == 2 && comma))
            goto count;
        len = comma ? (size_t)(comma - p) : strlen(p);
        if (len >= sizeof(one)) {
            snprintf(err, errlen, "option '%s': range \"%.*s\" is too long",
                     name, (int)len, p);
            return -1;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        if (tocsin_range_parse(one, out[i], why, sizeof(why)) < 0) {
            snprintf(err, errlen, "option '%s': %s", name, why);
            return -1;
        }
        p = comma ? comma + 1 : p + len;
    }
    return 0;

count:
    snprintf(err, errlen, "option '%s': \"%s\" must be one range or three "
             "comma-separated ranges for the 1, 5 and 15 minute averages "
             "(as in 15,10,5)", name, text);
    return -1;
}

/* Validate the options into a struct load owned by the instance. */
static int load_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct load *l;
    struct tocsin_range *warn[3], *crit[3];
    int i;

    l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (i = 0; i < 3; i++) {
        warn[i] = &l->th[i].warning;
        crit[i] = &l->th[i].critical;
    }
    if (load_parse_ranges("warning", cfg_getstr(options, "warning"), warn,
                          err, errlen) < 0 ||
        load_parse_ranges("critical", cfg_getstr(options, "critical"), crit,
                          err, errlen) < 0)
        goto fail;
    l->per_cpu = cfg_getbool(options, "per_cpu") == cfg_true;
    *instance = l;
    return 0;

fail:
    free(l);
    return -1;
}

static void load_teardown(void *instance)
{
    free(instance);
}

/* Read the three averages from /proc/loadavg, as printed there (two
 * decimals), so that they match uptime and check_load. Returns 0, or -1
 * with a reason in `why`. */
static int load_read(double avg[3], char *why, size_t whylen)
{
    char text[128], *p, *end;
    ssize_t n;
    int fd, e, i;

    fd = open(LOAD_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        snprintf(why, whylen, "cannot open %s: %s", LOAD_FILE, strerror(e));
        return -1;
    }
    do {
        n = read(fd, text, sizeof(text) - 1);
    } while (n < 0 && errno == EINTR);
    e = errno;
    close(fd);
    if (n < 0) {
        snprintf(why, whylen, "cannot read %s: %s", LOAD_FILE, strerror(e));
        return -1;
    }
    text[n] = '\0';
    for (i = 0, p = text; i < 3; i++, p = end) {
        errno = 0;
        avg[i] = strtod(p, &end);
        if (end == p || errno) {
            snprintf(why, whylen, "cannot parse %s: \"%.40s\"", LOAD_FILE, text);
            return -1;
        }
    }
    return 0;
}

/* Read the load averages, scale them per CPU if asked, and report the
 * worst state of the three with check_load's output and perfdata. */
static void load_check(void *instance, struct tocsin_check *chk)
{
    const struct load *l = instance;
    enum tocsin_state state = TOCSIN_OK;
    char why[160];
    double avg[3];
    long ncpu = 0;
    int i;

    if (load_read(avg, why, sizeof(why)) < 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "LOAD UNKNOWN - %s", why);
        return;
    }
    if (l->per_cpu) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        if (ncpu < 1) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN,
                             "LOAD UNKNOWN - cannot count the online CPUs "
                             "(per_cpu is set)");
            return;
        }
        /* Three decimals, as check_load -r shows them. */
        for (i = 0; i < 3; i++)
            avg[i] = (double)(long long)(avg[i] / (double)ncpu * 1000 + 0.5) / 1000;
    }

    for (i = 0; i < 3; i++) {
        state = tocsin_state_worst(state, tocsin_thresholds_eval(&l->th[i], avg[i]));
        tocsin_check_perf(chk, load_labels[i], avg[i], "", &l->th[i],
                          0, 0, TOCSIN_PERF_MIN);
    }
    if (l->per_cpu)
        tocsin_check_set(chk, state, "LOAD %s - load average per CPU "
                         "(%ld CPU%s): %.2f, %.2f, %.2f",
                         tocsin_state_name(state), ncpu, ncpu == 1 ? "" : "s",
                         avg[0], avg[1], avg[2]);
    else
        tocsin_check_set(chk, state, "LOAD %s - total load average: %.2f, %.2f, %.2f",
                         tocsin_state_name(state), avg[0], avg[1], avg[2]);
}

/* Descriptions for --help; docs/check-load.md tells more. */
static const struct tocsin_option_help load_help[] = {
    { "warning", NULL,
      "on the load averages, for WARNING: one range or 1min,5min,15min" },
    { "critical", NULL,
      "on the load averages, for CRITICAL: one range or 1min,5min,15min" },
    { "per_cpu", NULL,
      "divide each average by the number of online CPUs before comparing" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "load",
    .version = "0.1.0",
    .summary = "1, 5 and 15 minute load averages, optionally per CPU",
    .options = load_options,
    .help = load_help,
    .setup = load_setup,
    .teardown = load_teardown,
    .check = load_check,
);
