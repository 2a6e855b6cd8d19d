/*
 * procfs.c - reading /proc and /sys for the host check plugins: whole
 * files under a root that tests may move, the parsers of /proc/stat and
 * of "key value" files, and the cgroup v2 limits of this process (see
 * procfs.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/procfs.h"

/* What one read of a /proc file starts with; files grow past it. */
#define PROCFS_CHUNK 4096

/* No file under /proc that a plugin reads is larger; past it, give up. */
#define PROCFS_MAX (16u * 1024 * 1024)

const char *const tocsin_cpu_mode_names[TOCSIN_CPU_MODES] = {
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"
};

int tocsin_procfs_path(enum tocsin_procfs_root root, const char *rel,
                       char *buf, size_t len)
{
    const char *base;
    int n;

    if (root == TOCSIN_PROCFS_SYS) {
        base = getenv(TOCSIN_SYS_ROOT_ENV);
        if (!base || !*base)
            base = "/sys";
    } else {
        base = getenv(TOCSIN_PROC_ROOT_ENV);
        if (!base || !*base)
            base = "/proc";
    }
    n = snprintf(buf, len, "%s/%s", base, rel);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

void tocsin_procfs_free(struct tocsin_procfs_file *file)
{
    free(file->text);
    file->text = NULL;
    file->len = 0;
}

/* Read the whole file into a buffer that doubles as it fills; the file
 * owns its text afterwards. O(size of the file). */
int tocsin_procfs_read(enum tocsin_procfs_root root, const char *rel,
                       struct tocsin_procfs_file *file, char *why,
                       size_t whylen)
{
    size_t cap = PROCFS_CHUNK, len = 0;
    char *text = NULL, *bigger;
    ssize_t n;
    int fd = -1, e, rc = -1;

    file->text = NULL;
    file->len = 0;
    if (tocsin_procfs_path(root, rel, file->path, sizeof(file->path)) < 0) {
        snprintf(why, whylen, "path too long: %s", rel);
        goto out;
    }
    fd = open(file->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        snprintf(why, whylen, "cannot open %s: %s", file->path, strerror(e));
        goto out;
    }
    text = malloc(cap);
    if (!text)
        goto oom;
    for (;;) {
        if (cap - len < 2) {
            if (cap >= PROCFS_MAX) {
                snprintf(why, whylen, "%s is larger than %u bytes", file->path,
                         PROCFS_MAX);
                goto out;
            }
            bigger = realloc(text, cap * 2);
            if (!bigger)
                goto oom;
            text = bigger;
            cap *= 2;
        }
        n = read(fd, text + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            snprintf(why, whylen, "cannot read %s: %s", file->path, strerror(e));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    text[len] = '\0';
    file->text = text;
    file->len = len;
    text = NULL;
    rc = 0;
    goto out;

oom:
    snprintf(why, whylen, "out of memory reading %s", file->path);
out:
    free(text);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* One pass over the lines; a key matches only at the start of a line and
 * when followed by ':' or blanks. */
int tocsin_procfs_keyed(const char *text, const char *key, uint64_t *value)
{
    size_t klen = strlen(key);
    const char *p = text, *q;
    unsigned long long v;
    char *end;

    while (p && *p) {
        if (strncmp(p, key, klen) == 0 &&
            (p[klen] == ':' || p[klen] == ' ' || p[klen] == '\t')) {
            q = p + klen + (p[klen] == ':');
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q < '0' || *q > '9')
                return -1;
            errno = 0;
            v = strtoull(q, &end, 10);
            if (errno)
                return -1;
            while (*end == ' ' || *end == '\t')
                end++;
            if (strncmp(end, "kB", 2) == 0) {
                if (v > UINT64_MAX / 1024)
                    return -1;
                v *= 1024;
            }
            *value = v;
            return 0;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

uint64_t tocsin_cpu_total(const struct tocsin_cpu_times *t)
{
    uint64_t sum = 0;
    int i;

    for (i = 0; i < TOCSIN_CPU_MODES; i++)
        sum += t->t[i];
    return sum;
}

/* Parse the numbers after "cpu" or "cpuN" at `p` into *t. Modes that an
 * old kernel does not print stay 0. Returns the number of values read. */
static int stat_parse_line(const char *p, struct tocsin_cpu_times *t)
{
    char *end;
    int i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < TOCSIN_CPU_MODES; i++) {
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9')
            break;
        errno = 0;
        t->t[i] = strtoull(p, &end, 10);
        if (errno)
            break;
        p = end;
    }
    return i;
}

int tocsin_procfs_parse_stat(const char *text, struct tocsin_cpu_times *total,
                             struct tocsin_cpu_times *percpu, size_t max,
                             size_t *ncpu, char *why, size_t whylen)
{
    const char *p = text;
    struct tocsin_cpu_times scratch;
    int have_total = 0;
    size_t n = 0;

    while (p && *p) {
        if (strncmp(p, "cpu", 3) == 0) {
            if (p[3] == ' ') {
                if (stat_parse_line(p + 3, total) < 4)
                    goto bad;
                have_total = 1;
            } else if (p[3] >= '0' && p[3] <= '9') {
                const char *q = p + 3;

                while (*q >= '0' && *q <= '9')
                    q++;
                if (stat_parse_line(q, n < max ? &percpu[n] : &scratch) < 4)
                    goto bad;
                n++;
            }
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!have_total) {
        snprintf(why, whylen, "no \"cpu\" line");
        return -1;
    }
    if (ncpu)
        *ncpu = n;
    return 0;

bad:
    snprintf(why, whylen, "fewer than 4 numbers on line \"%.40s\"", p);
    return -1;
}

int tocsin_procfs_cgroup_path(const char *text, char *buf, size_t len)
{
    const char *p = text, *end;
    size_t n;

    while (p && *p) {
        if (strncmp(p, "0::", 3) == 0) {
            p += 3;
            end = strchr(p, '\n');
            n = end ? (size_t)(end - p) : strlen(p);
            if (n == 0 || n >= len)
                return -1;
            memcpy(buf, p, n);
            buf[n] = '\0';
            return 0;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

/* Read file `name` of this process's cgroup v2 group into *file; `path`
 * receives the group. Returns 1 when read, 0 when the group or the file
 * does not exist (no cgroup v2, controller not enabled), -1 with a reason
 * in why on another failure. */
static int cgroup_file(const char *name, struct tocsin_procfs_file *file,
                       char *path, size_t pathlen, char *why, size_t whylen)
{
    struct tocsin_procfs_file self = { 0 };
    char rel[512];
    int n, rc = 0;

    if (tocsin_procfs_read(TOCSIN_PROCFS_PROC, "self/cgroup", &self, why,
                           whylen) < 0)
        return 0; /* no cgroups at all */
    if (tocsin_procfs_cgroup_path(self.text, path, pathlen) < 0)
        goto out;
    n = snprintf(rel, sizeof(rel), "fs/cgroup%s/%s",
                 strcmp(path, "/") == 0 ? "" : path, name);
    if (n < 0 || (size_t)n >= sizeof(rel))
        goto out;
    if (tocsin_procfs_read(TOCSIN_PROCFS_SYS, rel, file, why, whylen) < 0) {
        char full[512];

        if (tocsin_procfs_path(TOCSIN_PROCFS_SYS, rel, full, sizeof(full)) == 0 &&
            access(full, F_OK) == 0)
            rc = -1; /* there, but unreadable: say so */
        goto out;
    }
    rc = 1;
out:
    tocsin_procfs_free(&self);
    return rc;
}

/* Read limit file `name` (memory.max, cpu.max) as cgroup_file() does;
 * a limit of "max" counts as none (0, *f left empty). */
static int cgroup_limit(const char *name, struct tocsin_procfs_file *f,
                        char *path, size_t pathlen, char *why, size_t whylen)
{
    int rc = cgroup_file(name, f, path, pathlen, why, whylen);

    if (rc == 1 && strncmp(f->text, "max", 3) == 0) {
        tocsin_procfs_free(f);
        rc = 0;
    }
    return rc;
}

/* The number at the start of f's text into *v. Returns 0, or -1 with
 * "cannot parse PATH: TEXT" in why. */
static int cgroup_number(const struct tocsin_procfs_file *f, uint64_t *v,
                         char *why, size_t whylen)
{
    char *end;

    errno = 0;
    *v = strtoull(f->text, &end, 10);
    if (errno || end == f->text) {
        snprintf(why, whylen, "cannot parse %s: \"%.40s\"", f->path, f->text);
        return -1;
    }
    return 0;
}

int tocsin_cgroup_memory(struct tocsin_cgroup_memory *mem, char *why,
                         size_t whylen)
{
    struct tocsin_procfs_file f = { 0 };
    int rc;

    memset(mem, 0, sizeof(*mem));
    rc = cgroup_limit("memory.max", &f, mem->path, sizeof(mem->path), why, whylen);
    if (rc <= 0)
        goto out;
    if (cgroup_number(&f, &mem->limit, why, whylen) < 0)
        goto bad;
    tocsin_procfs_free(&f);
    rc = cgroup_file("memory.current", &f, mem->path, sizeof(mem->path), why, whylen);
    if (rc == 0)
        snprintf(why, whylen, "memory.max is set but memory.current is missing");
    if (rc <= 0 || cgroup_number(&f, &mem->current, why, whylen) < 0)
        goto bad;
    tocsin_procfs_free(&f);
    /* As docker and the kubelet do: the page cache that can be dropped at
     * once is not counted as used. */
    if (cgroup_file("memory.stat", &f, mem->path, sizeof(mem->path), why,
                    whylen) == 1 &&
        tocsin_procfs_keyed(f.text, "inactive_file", &mem->inactive_file) < 0)
        mem->inactive_file = 0;
    if (mem->inactive_file > mem->current)
        mem->inactive_file = mem->current;
    rc = 1;
    goto out;

bad:
    rc = -1;
out:
    tocsin_procfs_free(&f);
    return rc;
}

int tocsin_cgroup_cpu(struct tocsin_cgroup_cpu *cpu, char *why, size_t whylen)
{
    struct tocsin_procfs_file f = { 0 };
    unsigned long long quota, period;
    char *end;
    int rc;

    memset(cpu, 0, sizeof(*cpu));
    rc = cgroup_limit("cpu.max", &f, cpu->path, sizeof(cpu->path), why, whylen);
    if (rc <= 0)
        goto out;
    errno = 0;
    quota = strtoull(f.text, &end, 10);
    if (errno || end == f.text || *end != ' ')
        goto bad;
    period = strtoull(end + 1, &end, 10);
    if (errno || period == 0 || quota == 0)
        goto bad;
    cpu->cpus = (double)quota / (double)period;
    tocsin_procfs_free(&f);
    if (cgroup_file("cpu.stat", &f, cpu->path, sizeof(cpu->path), why,
                    whylen) <= 0 ||
        tocsin_procfs_keyed(f.text, "usage_usec", &cpu->usage_usec) < 0) {
        snprintf(why, whylen, "cpu.max is set but cpu.stat has no usage_usec");
        rc = -1;
        goto out;
    }
    if (tocsin_procfs_keyed(f.text, "user_usec", &cpu->user_usec) < 0)
        cpu->user_usec = 0;
    if (tocsin_procfs_keyed(f.text, "system_usec", &cpu->system_usec) < 0)
        cpu->system_usec = 0;
    rc = 1;
    goto out;

bad:
    snprintf(why, whylen, "cannot parse %s: \"%.40s\"", f.path, f.text);
    rc = -1;
out:
    tocsin_procfs_free(&f);
    return rc;
}

double tocsin_procfs_round(double v, int decimals)
{
    static const double scale[] = { 1, 10, 100, 1000 };
    double m = scale[decimals < 0 ? 0 : decimals > 3 ? 3 : decimals];

    return (double)(long long)(v * m + 0.5) / m;
}

int64_t tocsin_procfs_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tocsin_procfs_sample_wait(struct tocsin_check *chk, long ms)
{
    double left = tocsin_check_remaining(chk) * 1000 / 2;
    struct timespec ts;
    int64_t start = tocsin_procfs_now_us();

    if ((double)ms > left)
        ms = (long)left;
    if (ms < 1)
        ms = 1;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    return tocsin_procfs_now_us() - start;
}

char **tocsin_procfs_strv(cfg_t *options, const char *name)
{
    unsigned i, n = cfg_size(options, name);
    char **v = calloc(n + 1, sizeof(*v));

    if (!v)
        return NULL;
    for (i = 0; i < n; i++) {
        v[i] = strdup(cfg_getnstr(options, name, i));
        if (!v[i]) {
            tocsin_procfs_strv_free(v);
            return NULL;
        }
    }
    return v;
}

void tocsin_procfs_strv_free(char **v)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

int tocsin_procfs_match(char *const *v, const char *name)
{
    size_t i;

    for (i = 0; v && v[i]; i++)
        if (fnmatch(v[i], name, 0) == 0)
            return 1;
    return 0;
}

uint64_t *tocsin_counters_add(struct tocsin_counters *c, const char *name,
                              size_t namelen)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        void *names, *values;

        names = realloc(c->names, cap * sizeof(*c->names));
        if (!names)
            return NULL;
        c->names = names;
        values = realloc(c->values, cap * sizeof(*c->values));
        if (!values)
            return NULL;
        c->values = values;
        c->cap = cap;
    }
    if (namelen >= TOCSIN_COUNTERS_NAME)
        namelen = TOCSIN_COUNTERS_NAME - 1;
    memcpy(c->names[c->n], name, namelen);
    c->names[c->n][namelen] = '\0';
    memset(c->values[c->n], 0, sizeof(c->values[c->n]));
    return c->values[c->n++];
}

void tocsin_counters_clear(struct tocsin_counters *c)
{
    c->n = 0;
}

void tocsin_counters_free(struct tocsin_counters *c)
{
    free(c->names);
    free(c->values);
    memset(c, 0, sizeof(*c));
}

int tocsin_counters_went_back(const struct tocsin_counters *a,
                              const struct tocsin_counters *b)
{
    size_t i, k;

    if (a->n != b->n)
        return 1;
    for (i = 0; i < b->n; i++) {
        if (strcmp(a->names[i], b->names[i]) != 0)
            return 1;
        for (k = 0; k < TOCSIN_COUNTERS_WIDTH; k++)
            if (b->values[i][k] < a->values[i][k])
                return 1;
    }
    return 0;
}

void tocsin_counters_swap(struct tocsin_counters *a, struct tocsin_counters *b)
{
    struct tocsin_counters t = *a;

    *a = *b;
    *b = t;
}

int tocsin_counters_sample(struct tocsin_check *chk, struct tocsin_counters *prev,
                           struct tocsin_counters *cur, int *have_prev,
                           long window_ms, tocsin_counters_read_fn read,
                           void *ctx, int *resampled, char *why, size_t whylen)
{
    *resampled = 0;
    tocsin_counters_clear(cur);
    if (read(ctx, cur, why, whylen) < 0)
        return -1;
    cur->at_us = tocsin_procfs_now_us();
    if (*have_prev && !tocsin_counters_went_back(prev, cur) &&
        cur->at_us > prev->at_us)
        return 0;
    *resampled = *have_prev;
    tocsin_counters_swap(prev, cur);
    *have_prev = 1;
    tocsin_procfs_sample_wait(chk, window_ms);
    tocsin_counters_clear(cur);
    if (read(ctx, cur, why, whylen) < 0)
        return -1;
    cur->at_us = tocsin_procfs_now_us();
    if (tocsin_counters_went_back(prev, cur)) {
        tocsin_counters_swap(prev, cur);
        snprintf(why, whylen, "the counters went back during the sample "
                 "window; the next check will have a rate");
        return -1;
    }
    return 0;
}
