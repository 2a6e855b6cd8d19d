/*
 * diskio.c - disk traffic per block device between two checks, from
 * /proc/diskstats: bytes and operations per second read and written, and
 * utilisation (% of the time the device had I/O in flight, iostat's
 * %util):
 *
 *   check = "diskio"
 *   device = {"sd*", "nvme*"}         # fnmatch patterns (default: all)
 *   exclude_device = {"loop*", "ram*", "zram*"}   # the default
 *   util_warning = "80"               # % busy
 *   util_critical = "95"
 *   bytes_warning = "200000000"       # bytes/s read or written
 *   ops_warning = "5000"              # operations/s read or written
 *   partitions = false                # whole devices only (the default)
 *
 * A whole device is one listed in /sys/block. Stateful, as net.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tocsin-plugin.h"
#include "common/procfs.h"

/* Counters kept per device, in this order. */
enum { DISK_READS, DISK_READ_SECTORS, DISK_WRITES, DISK_WRITE_SECTORS,
       DISK_IO_MS, DISK_FIELDS };

/* /proc/diskstats counts 512-byte sectors, whatever the device's. */
#define DISK_SECTOR 512

struct diskio {
    char **include, **exclude;       /* fnmatch patterns */
    int partitions;                  /* keep partitions too */
    struct tocsin_thresholds util;   /* % busy */
    struct tocsin_thresholds bytes;  /* read or written, bytes/s */
    struct tocsin_thresholds ops;    /* read or written, operations/s */
    long sample_ms;
    struct tocsin_counters prev, cur;
    int have_prev;
};

static cfg_opt_t diskio_options[] = {
    CFG_STR_LIST("device", "{}", CFGF_NONE),
    CFG_STR_LIST("exclude_device", "{\"loop*\", \"ram*\", \"zram*\"}", CFGF_NONE),
    CFG_BOOL("partitions", cfg_false, CFGF_NONE),
    TOCSIN_OPT_RANGE("util_warning", ""),
    TOCSIN_OPT_RANGE("util_critical", ""),
    TOCSIN_OPT_RANGE("bytes_warning", ""),
    TOCSIN_OPT_RANGE("bytes_critical", ""),
    TOCSIN_OPT_RANGE("ops_warning", ""),
    TOCSIN_OPT_RANGE("ops_critical", ""),
    TOCSIN_OPT_DURATION("sample_window", 1000),
    CFG_END()
};

static void diskio_teardown(void *instance)
{
    struct diskio *d = instance;

    if (!d)
        return;
    tocsin_procfs_strv_free(d->include);
    tocsin_procfs_strv_free(d->exclude);
    tocsin_counters_free(&d->prev);
    tocsin_counters_free(&d->cur);
    free(d);
}

/* Validate the options into a struct diskio owned by the instance. */
static int diskio_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct diskio *d = calloc(1, sizeof(*d));

    if (!d || !(d->include = tocsin_procfs_strv(options, "device")) ||
        !(d->exclude = tocsin_procfs_strv(options, "exclude_device"))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (tocsin_option_thresholds(options, "util_warning", "util_critical",
                                 &d->util, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "bytes_warning", "bytes_critical",
                                 &d->bytes, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "ops_warning", "ops_critical",
                                 &d->ops, err, errlen) < 0)
        goto fail;
    d->partitions = cfg_getbool(options, "partitions") == cfg_true;
    d->sample_ms = cfg_getint(options, "sample_window");
    if (d->sample_ms <= 0) {
        snprintf(err, errlen, "option 'sample_window' must be more than 0");
        goto fail;
    }
    *instance = d;
    return 0;

fail:
    diskio_teardown(d);
    return -1;
}

/* 1 when /sys/block/NAME exists: a whole device, not a partition. */
static int diskio_whole(const char *name)
{
    char rel[128], path[512];

    if (snprintf(rel, sizeof(rel), "block/%s", name) >= (int)sizeof(rel) ||
        tocsin_procfs_path(TOCSIN_PROCFS_SYS, rel, path, sizeof(path)) < 0)
        return 0;
    return access(path, F_OK) == 0;
}

/* Parse the text of /proc/diskstats into rows of `into`, keeping the
 * devices that the patterns (and, without partitions, /sys/block) let
 * through. Returns 0, or -1 with a reason in why. */
static int diskio_parse(const struct diskio *d, const char *text,
                        struct tocsin_counters *into, char *why, size_t whylen)
{
    const char *line = text, *p, *name;
    unsigned long long v[11];
    uint64_t *row;
    size_t len;
    char *end, copy[TOCSIN_COUNTERS_NAME];
    int k;

    for (; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        p = line;
        for (k = 0; k < 2; k++) {
            strtoul(p, &end, 10);
            if (end == p)
                goto bad;
            p = end;
        }
        while (*p == ' ')
            p++;
        name = p;
        while (*p && *p != ' ' && *p != '\n')
            p++;
        len = (size_t)(p - name);
        if (len == 0 || len >= sizeof(copy))
            goto bad;
        memcpy(copy, name, len);
        copy[len] = '\0';
        for (k = 0; k < 11; k++, p = end) {
            v[k] = strtoull(p, &end, 10);
            if (end == p)
                goto bad;
        }
        if ((d->include[0] && !tocsin_procfs_match(d->include, copy)) ||
            tocsin_procfs_match(d->exclude, copy) ||
            (!d->partitions && !diskio_whole(copy)))
            continue;
        row = tocsin_counters_add(into, copy, len);
        if (!row) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        row[DISK_READS] = v[0];
        row[DISK_READ_SECTORS] = v[2];
        row[DISK_WRITES] = v[4];
        row[DISK_WRITE_SECTORS] = v[6];
        row[DISK_IO_MS] = v[9];
    }
    return 0;

bad:
    snprintf(why, whylen, "cannot parse /proc/diskstats line \"%.40s\"", line);
    return -1;
}

/* tocsin_counters_read_fn for /proc/diskstats. */
static int diskio_read(void *ctx, struct tocsin_counters *into, char *why,
                       size_t whylen)
{
    const struct diskio *d = ctx;
    struct tocsin_procfs_file f = { 0 };
    int rc = -1;

    if (tocsin_procfs_read(TOCSIN_PROCFS_PROC, "diskstats", &f, why, whylen) < 0 ||
        diskio_parse(d, f.text, into, why, whylen) < 0)
        goto out;
    if (into->n == 0) {
        snprintf(why, whylen, "no device in %s matches", f.path);
        goto out;
    }
    rc = 0;
out:
    tocsin_procfs_free(&f);
    return rc;
}

/* Rates and utilisation per device since the previous check. */
static void diskio_check(void *instance, struct tocsin_check *chk)
{
    struct diskio *d = instance;
    enum tocsin_state state = TOCSIN_OK, s;
    char why[256], msg[1024], label[TOCSIN_COUNTERS_NAME + 32];
    double secs, rb, wb, ro, wo, util;
    const uint64_t *a, *b;
    size_t used = 0, i;
    int resampled;

    if (tocsin_counters_sample(chk, &d->prev, &d->cur, &d->have_prev,
                               d->sample_ms, diskio_read, d, &resampled, why,
                               sizeof(why)) < 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "DISKIO UNKNOWN - %s", why);
        return;
    }
    secs = (double)(d->cur.at_us - d->prev.at_us) / 1e6;
    for (i = 0; i < d->cur.n; i++) {
        a = d->prev.values[i];
        b = d->cur.values[i];
        rb = (double)(b[DISK_READ_SECTORS] - a[DISK_READ_SECTORS]) * DISK_SECTOR / secs;
        wb = (double)(b[DISK_WRITE_SECTORS] - a[DISK_WRITE_SECTORS]) * DISK_SECTOR / secs;
        ro = (double)(b[DISK_READS] - a[DISK_READS]) / secs;
        wo = (double)(b[DISK_WRITES] - a[DISK_WRITES]) / secs;
        util = (double)(b[DISK_IO_MS] - a[DISK_IO_MS]) / (secs * 10);
        if (util > 100)
            util = 100;
        rb = tocsin_procfs_round(rb, 0);
        wb = tocsin_procfs_round(wb, 0);
        ro = tocsin_procfs_round(ro, 2);
        wo = tocsin_procfs_round(wo, 2);
        util = tocsin_procfs_round(util, 1);
        s = tocsin_thresholds_eval(&d->util, util);
        s = tocsin_state_worst(s, tocsin_thresholds_eval(&d->bytes, rb));
        s = tocsin_state_worst(s, tocsin_thresholds_eval(&d->bytes, wb));
        s = tocsin_state_worst(s, tocsin_thresholds_eval(&d->ops, ro));
        s = tocsin_state_worst(s, tocsin_thresholds_eval(&d->ops, wo));
        state = tocsin_state_worst(state, s);
        tocsin_append(msg, sizeof(msg), &used, "%s%s%s: %.1f%% busy, read %.0f B/s, "
                      "write %.0f B/s", used ? "; " : "", d->cur.names[i],
                      s == TOCSIN_OK ? "" : " (alert)", util, rb, wb);
        snprintf(label, sizeof(label), "%s_util", d->cur.names[i]);
        tocsin_check_perf(chk, label, util, "%", &d->util, 0, 100,
                          TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
        snprintf(label, sizeof(label), "%s_read_bytes_per_s", d->cur.names[i]);
        tocsin_check_perf(chk, label, rb, "B", &d->bytes, 0, 0, TOCSIN_PERF_MIN);
        snprintf(label, sizeof(label), "%s_write_bytes_per_s", d->cur.names[i]);
        tocsin_check_perf(chk, label, wb, "B", &d->bytes, 0, 0, TOCSIN_PERF_MIN);
        snprintf(label, sizeof(label), "%s_read_ops_per_s", d->cur.names[i]);
        tocsin_check_perf(chk, label, ro, "", &d->ops, 0, 0, TOCSIN_PERF_MIN);
        snprintf(label, sizeof(label), "%s_write_ops_per_s", d->cur.names[i]);
        tocsin_check_perf(chk, label, wo, "", &d->ops, 0, 0, TOCSIN_PERF_MIN);
    }
    if (resampled)
        tocsin_check_long(chk, "the counters went back since the previous check "
                          "(a device added anew, a wrap, a reboot); re-sampled");
    tocsin_check_set(chk, state, "DISKIO %s - %s over %.1f s",
                     tocsin_state_name(state), msg, secs);
    tocsin_counters_swap(&d->prev, &d->cur);
}

/* Descriptions for --help; docs/check-diskio.md tells more. */
static const struct tocsin_option_help diskio_help[] = {
    { "device", NULL,
      "fnmatch patterns of the devices to report" },
    { "exclude_device", NULL,
      "patterns left out" },
    { "partitions", NULL,
      "report partitions too" },
    { "util_warning", NULL,
      "on % busy" },
    { "util_critical", NULL,
      "on % busy" },
    { "bytes_warning", NULL,
      "bytes/s read or written (each judged)" },
    { "bytes_critical", NULL,
      "bytes/s read or written (each judged)" },
    { "ops_warning", NULL,
      "operations/s read or written" },
    { "ops_critical", NULL,
      "operations/s read or written" },
    { "sample_window", NULL,
      "the first check's own window" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .flags = TOCSIN_PLUGIN_STATEFUL,
    .name = "diskio",
    .version = "0.1.0",
    .summary = "read/write bytes and operations per second and % busy per disk",
    .options = diskio_options,
    .help = diskio_help,
    .setup = diskio_setup,
    .teardown = diskio_teardown,
    .check = diskio_check,
);
