/*
 * disk.c - space and inodes used on mounted filesystems, as df and
 * check_disk count them:
 *
 *   check = "disk"
 *   path = "/var"             # one filesystem; "" checks every real mount
 *   warning = "80"            # on % of space used (alert above 80)
 *   critical = "90"
 *   inode_warning = "90"      # on % of inodes used; unset by default
 *   exclude_path = {"/var/lib/docker*"}   # fnmatch patterns
 *
 * Used % is used / (used + available to unprivileged users), like df, so
 * the blocks reserved for root count as neither. A filesystem that hangs
 * (a dead NFS server) blocks statvfs(); the worker's deadline ends it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "tocsin-plugin.h"

#define DISK_MOUNTS "/proc/self/mounts"

/* Filesystems named on the first line when several alert. */
#define DISK_NAMED_MAX 5

/* Room for one line of text about one filesystem. */
#define DISK_LINE_MAX 512

struct disk {
    char *path;                   /* one path to check, or NULL for all */
    char **exclude_type;          /* filesystem types skipped; owned */
    size_t n_exclude_type;
    char **exclude_path;          /* mount point patterns skipped; owned */
    size_t n_exclude_path;
    struct tocsin_thresholds space;  /* on % of space used */
    struct tocsin_thresholds inodes; /* on % of inodes used */
};

/* One filesystem as measured by one check run. */
struct disk_fs {
    char *mount;                  /* mount point or configured path; owned */
    dev_t dev;                    /* to recognise bind mounts */
    int error;                    /* errno of a failed stat, else 0 */
    enum tocsin_state state;      /* worst of space and inodes */
    enum tocsin_state space_state;
    enum tocsin_state inode_state;
    unsigned long long used;      /* bytes */
    unsigned long long avail;     /* bytes available to non-root */
    double used_pct;              /* exact, compared with the ranges */
    unsigned used_pct_shown;      /* rounded up, as df shows it */
    int has_inodes;               /* the filesystem reports inodes */
    double inode_pct;
    unsigned inode_pct_shown;
};

static cfg_opt_t disk_options[] = {
    CFG_STR("path", "", CFGF_NONE),
    CFG_STR_LIST("exclude_type",
                 "{proc, sysfs, devtmpfs, devpts, tmpfs, cgroup, cgroup2, "
                 "pstore, bpf, tracefs, debugfs, securityfs, configfs, "
                 "fusectl, mqueue, hugetlbfs, autofs, binfmt_misc, squashfs, "
                 "nsfs, efivarfs, rpc_pipefs, ramfs, selinuxfs, nfsd, "
                 "fuse.gvfsd-fuse, fuse.portal, fuse.lxcfs}", CFGF_NONE),
    CFG_STR_LIST("exclude_path", "{}", CFGF_NONE),
    TOCSIN_OPT_RANGE("warning", "80"),
    TOCSIN_OPT_RANGE("critical", "90"),
    TOCSIN_OPT_RANGE("inode_warning", ""),
    TOCSIN_OPT_RANGE("inode_critical", ""),
    CFG_END()
};

static void disk_free_list(char **list, size_t n)
{
    size_t i;

    if (!list)
        return;
    for (i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static void disk_teardown(void *instance)
{
    struct disk *d = instance;

    if (!d)
        return;
    free(d->path);
    disk_free_list(d->exclude_type, d->n_exclude_type);
    disk_free_list(d->exclude_path, d->n_exclude_path);
    free(d);
}

/* Copy the string list option `name` into *list / *n. Returns 0 or -1. */
static int disk_copy_list(cfg_t *options, const char *name, char ***list,
                          size_t *n)
{
    unsigned i, count = cfg_size(options, name);

    *list = NULL;
    *n = 0;
    if (count == 0)
        return 0;
    *list = calloc(count, sizeof(**list));
    if (!*list)
        return -1;
    for (i = 0; i < count; i++) {
        const char *s = cfg_getnstr(options, name, i);

        (*list)[i] = strdup(s ? s : "");
        if (!(*list)[i])
            return -1;
        (*n)++;
    }
    return 0;
}

/* Validate the options into a struct disk owned by the instance. */
static int disk_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct disk *d;
    const char *path = cfg_getstr(options, "path");

    d = calloc(1, sizeof(*d));
    if (!d)
        goto oom;
    if (path && *path && !(d->path = strdup(path)))
        goto oom;
    if (disk_copy_list(options, "exclude_type", &d->exclude_type,
                       &d->n_exclude_type) < 0 ||
        disk_copy_list(options, "exclude_path", &d->exclude_path,
                       &d->n_exclude_path) < 0)
        goto oom;
    if (tocsin_option_thresholds(options, "warning", "critical", &d->space,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "inode_warning", "inode_critical",
                                 &d->inodes, err, errlen) < 0)
        goto fail;
    *instance = d;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    disk_teardown(d);
    return -1;
}

/* 1 if a mount of `type` at `dir` is left out by the exclusions. */
static int disk_excluded(const struct disk *d, const char *type, const char *dir)
{
    size_t i;

    for (i = 0; i < d->n_exclude_type; i++)
        if (strcmp(d->exclude_type[i], type) == 0)
            return 1;
    for (i = 0; i < d->n_exclude_path; i++)
        if (fnmatch(d->exclude_path[i], dir, 0) == 0)
            return 1;
    return 0;
}

/* ceil(100 * part / whole) in integers, as df rounds; 0 for an empty whole. */
static unsigned disk_pct_up(unsigned long long part, unsigned long long whole)
{
    unsigned long long num;

    if (whole == 0)
        return 0;
    if (part > ~0ULL / 100) {          /* keep 100 * part in range */
        part >>= 7;
        whole >>= 7;
        if (whole == 0)
            return 100;
    }
    num = part * 100;
    return (unsigned)(num / whole + (num % whole != 0));
}

/* Measure one filesystem with statvfs() into `fs` and rate it. */
static void disk_measure(const struct disk *d, const char *path,
                         struct disk_fs *fs)
{
    struct statvfs sv;
    unsigned long long frsize, used_blocks;

    if (statvfs(path, &sv) < 0) {
        fs->error = errno;
        fs->state = TOCSIN_UNKNOWN;
        return;
    }
    frsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    used_blocks = sv.f_blocks >= sv.f_bfree ? sv.f_blocks - sv.f_bfree : 0;
    fs->used = used_blocks * frsize;
    fs->avail = (unsigned long long)sv.f_bavail * frsize;
    fs->used_pct = used_blocks + sv.f_bavail
        ? 100.0 * (double)used_blocks / (double)(used_blocks + sv.f_bavail) : 0;
    fs->used_pct_shown = disk_pct_up(used_blocks, used_blocks + sv.f_bavail);
    fs->space_state = tocsin_thresholds_eval(&d->space, fs->used_pct);
    fs->inode_state = TOCSIN_OK;
    if (sv.f_files > 0) {
        unsigned long long iused = sv.f_files >= sv.f_ffree
            ? sv.f_files - sv.f_ffree : 0;

        fs->has_inodes = 1;
        fs->inode_pct = 100.0 * (double)iused / (double)sv.f_files;
        fs->inode_pct_shown = disk_pct_up(iused, sv.f_files);
        fs->inode_state = tocsin_thresholds_eval(&d->inodes, fs->inode_pct);
    }
    fs->state = tocsin_state_worst(fs->space_state, fs->inode_state);
}

/* Append a filesystem to the array. Returns it, or NULL on out of memory. */
static struct disk_fs *disk_add(struct disk_fs **fs, size_t *n, size_t *alloc,
                                const char *mount)
{
    struct disk_fs *grown, *one;

    if (*n == *alloc) {
        size_t want = *alloc ? *alloc * 2 : 16;

        grown = realloc(*fs, want * sizeof(**fs));
        if (!grown)
            return NULL;
        *fs = grown;
        *alloc = want;
    }
    one = &(*fs)[*n];
    memset(one, 0, sizeof(*one));
    one->mount = strdup(mount);
    if (!one->mount)
        return NULL;
    (*n)++;
    return one;
}

/* Collect every real mounted filesystem once (bind mounts of one device
 * count once, under the first mount point listed). Returns 0, or an errno
 * value when the mount table cannot be read or memory runs out. */
static int disk_scan(const struct disk *d, struct disk_fs **fs, size_t *n,
                     size_t *alloc)
{
    struct mntent ent;
    char line[4096];
    struct stat st;
    FILE *mounts;
    size_t i;
    int e = 0, dup;

    mounts = setmntent(DISK_MOUNTS, "r");
    if (!mounts)
        return errno ? errno : EIO;
    while (getmntent_r(mounts, &ent, line, sizeof(line))) {
        struct disk_fs *one;

        if (disk_excluded(d, ent.mnt_type, ent.mnt_dir))
            continue;
        if (stat(ent.mnt_dir, &st) < 0) {
            int se = errno;

            if (!(one = disk_add(fs, n, alloc, ent.mnt_dir))) {
                e = ENOMEM;
                goto out;
            }
            one->error = se;
            one->state = TOCSIN_UNKNOWN;
            continue;
        }
        dup = 0;
        for (i = 0; i < *n && !dup; i++)
            dup = !(*fs)[i].error && (*fs)[i].dev == st.st_dev;
        if (dup)
            continue;
        if (!(one = disk_add(fs, n, alloc, ent.mnt_dir))) {
            e = ENOMEM;
            goto out;
        }
        one->dev = st.st_dev;
        disk_measure(d, ent.mnt_dir, one);
        /* Pseudo filesystems with no blocks say nothing about space. */
        if (!one->error && one->used == 0 && one->avail == 0) {
            free(one->mount);
            (*n)--;
        }
    }
out:
    endmntent(mounts);
    return e;
}

/* "12.3 GiB": a byte count in binary units, one decimal. */
static const char *disk_size(unsigned long long bytes, char *buf, size_t len)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double v = (double)bytes;
    int u = -1;

    if (bytes < 1024) {
        snprintf(buf, len, "%llu B", bytes);
        return buf;
    }
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

/* One filesystem in words: "/ 42% used (12.3 GiB of 29.4 GiB), 17.1 GiB
 * free", plus the inodes when inode thresholds are set or alert. */
static const char *disk_describe(const struct disk *d, const struct disk_fs *fs,
                                 char *buf, size_t len)
{
    char used[32], total[32], avail[32];
    int n;

    if (fs->error) {
        snprintf(buf, len, "cannot stat %s: %s", fs->mount, strerror(fs->error));
        return buf;
    }
    n = snprintf(buf, len, "%s %u%% used (%s of %s), %s free", fs->mount,
                 fs->used_pct_shown, disk_size(fs->used, used, sizeof(used)),
                 disk_size(fs->used + fs->avail, total, sizeof(total)),
                 disk_size(fs->avail, avail, sizeof(avail)));
    if (fs->has_inodes && n > 0 && (size_t)n < len &&
        (d->inodes.warning.set || d->inodes.critical.set ||
         fs->inode_state != TOCSIN_OK))
        snprintf(buf + n, len - (size_t)n, ", inodes %u%% used",
                 fs->inode_pct_shown);
    return buf;
}

/* The part of an alerting filesystem named on the first line:
 * "/var 95% used", "/var inodes 97% used" or the stat error. */
static const char *disk_brief(const struct disk_fs *fs, char *buf, size_t len)
{
    if (fs->error)
        snprintf(buf, len, "cannot stat %s: %s", fs->mount, strerror(fs->error));
    else if (fs->space_state != TOCSIN_OK && fs->inode_state != TOCSIN_OK)
        snprintf(buf, len, "%s %u%% used, inodes %u%% used", fs->mount,
                 fs->used_pct_shown, fs->inode_pct_shown);
    else if (fs->inode_state != TOCSIN_OK)
        snprintf(buf, len, "%s inodes %u%% used", fs->mount,
                 fs->inode_pct_shown);
    else
        snprintf(buf, len, "%s %u%% used", fs->mount, fs->used_pct_shown);
    return buf;
}

/* A percent range turned into megabytes of `total_mb`, for check_disk
 * style perfdata; unset unless the range is a plain upper bound ("N" or
 * "~:N"), the only kind with a single meaning in megabytes. */
static struct tocsin_range disk_range_mb(const struct tocsin_range *pct,
                                         double total_mb)
{
    struct tocsin_range mb;

    memset(&mb, 0, sizeof(mb));
    if (!pct->set || pct->inside || pct->end_infinite ||
        (!pct->start_infinite && pct->start != 0))
        return mb;
    mb.end = (double)(unsigned long long)(total_mb * pct->end / 100.0);
    mb.set = 1;
    return mb;
}

/* Performance data for one filesystem: '<mount>'=usedMB;warn;crit;0;total
 * and '<mount> inodes'=used%;warn;crit;0;100. */
static void disk_perf(struct tocsin_check *chk, const struct disk *d,
                      const struct disk_fs *fs)
{
    struct tocsin_thresholds mb;
    char label[DISK_LINE_MAX];
    double total_mb;

    if (fs->error)
        return;
    total_mb = (double)((fs->used + fs->avail) >> 20);
    mb.warning = disk_range_mb(&d->space.warning, total_mb);
    mb.critical = disk_range_mb(&d->space.critical, total_mb);
    tocsin_check_perf(chk, fs->mount, (double)(fs->used >> 20), "MB", &mb,
                      0, total_mb, TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    if (fs->has_inodes) {
        snprintf(label, sizeof(label), "%s inodes", fs->mount);
        tocsin_check_perf(chk, label,
                          (double)(long long)(fs->inode_pct * 100 + 0.5) / 100,
                          "%", &d->inodes,
                          0, 100, TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
    }
}

/* Order in which alerting filesystems are named: most severe first. */
static int disk_severity(enum tocsin_state s)
{
    switch (s) {
    case TOCSIN_CRITICAL: return 3;
    case TOCSIN_UNKNOWN: return 2;
    case TOCSIN_WARNING: return 1;
    default: return 0;
    }
}

/* Report one filesystem, or a summary of several followed by one long
 * output line each. Costs one stat() and one statvfs() per mount. */
static void disk_check(void *instance, struct tocsin_check *chk)
{
    const struct disk *d = instance;
    struct disk_fs *fs = NULL;
    size_t n = 0, alloc = 0, i, named, alerting, fullest;
    enum tocsin_state worst = TOCSIN_OK;
    char text[DISK_LINE_MAX], first[4 * DISK_LINE_MAX];
    size_t flen;
    int e, sev;

    if (d->path) {
        struct disk_fs *one = disk_add(&fs, &n, &alloc, d->path);

        if (!one) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "DISK UNKNOWN - out of memory");
            goto out;
        }
        disk_measure(d, d->path, one);
        disk_perf(chk, d, one);
        tocsin_check_set(chk, one->state, "DISK %s - %s",
                         tocsin_state_name(one->state),
                         disk_describe(d, one, text, sizeof(text)));
        goto out;
    }

    e = disk_scan(d, &fs, &n, &alloc);
    if (e) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "DISK UNKNOWN - cannot read %s: %s",
                         DISK_MOUNTS, strerror(e));
        goto out;
    }
    if (n == 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "DISK UNKNOWN - no filesystem "
                         "left to check: every mount is excluded by "
                         "exclude_type or exclude_path");
        goto out;
    }

    alerting = 0;
    fullest = 0;
    for (i = 0; i < n; i++) {
        worst = tocsin_state_worst(worst, fs[i].state);
        if (fs[i].state != TOCSIN_OK)
            alerting++;
        if (!fs[i].error && (fs[fullest].error ||
                             fs[i].used_pct > fs[fullest].used_pct))
            fullest = i;
        disk_perf(chk, d, &fs[i]);
        tocsin_check_long(chk, "%s: %s", tocsin_state_name(fs[i].state),
                          disk_describe(d, &fs[i], text, sizeof(text)));
    }

    if (n == 1) {
        tocsin_check_set(chk, worst, "DISK %s - %s", tocsin_state_name(worst),
                         disk_describe(d, &fs[0], text, sizeof(text)));
        goto out;
    }
    if (alerting == 0) {
        tocsin_check_set(chk, worst, "DISK OK - %zu filesystems, fullest: %s",
                         n, disk_brief(&fs[fullest], text, sizeof(text)));
        goto out;
    }

    /* Name the alerting filesystems, most severe first. */
    first[0] = '\0';
    flen = 0;
    named = 0;
    for (sev = 3; sev >= 1; sev--) {
        for (i = 0; i < n && named < DISK_NAMED_MAX; i++) {
            int w;

            if (disk_severity(fs[i].state) != sev)
                continue;
            w = snprintf(first + flen, sizeof(first) - flen, "%s%s",
                         named ? "; " : "", disk_brief(&fs[i], text, sizeof(text)));
            if (w > 0)
                flen += (size_t)w < sizeof(first) - flen ? (size_t)w
                                                          : sizeof(first) - flen - 1;
            named++;
        }
    }
    if (alerting > named)
        snprintf(first + flen, sizeof(first) - flen, "; %zu more",
                 alerting - named);
    tocsin_check_set(chk, worst, "DISK %s - %s", tocsin_state_name(worst), first);

out:
    for (i = 0; i < n; i++)
        free(fs[i].mount);
    free(fs);
}

/* Descriptions for --help; docs/check-disk.md tells more. */
static const struct tocsin_option_help disk_help[] = {
    { "path", NULL,
      "the mount point (or a path on it) to check" },
    { "exclude_type", NULL,
      "file system types not checked when every mount is" },
    { "exclude_path", NULL,
      "mount points not checked, as shell patterns (fnmatch): /var/lib/docker*" },
    { "warning", NULL,
      "on the % of space used" },
    { "critical", NULL,
      "on the % of space used" },
    { "inode_warning", NULL,
      "on the % of inodes used" },
    { "inode_critical", NULL,
      "on the % of inodes used" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "disk",
    .version = "0.1.0",
    .summary = "space and inodes used on mounted filesystems",
    .options = disk_options,
    .help = disk_help,
    .setup = disk_setup,
    .teardown = disk_teardown,
    .check = disk_check,
);
