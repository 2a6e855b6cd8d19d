/*
 * procfs.h - what the host check plugins (cpu, memory, procs, uptime, net,
 * diskio) share: reading files under /proc and /sys, with their roots
 * overridable for tests, parsers for the files they read, and the cgroup
 * v2 limits of the process that checks. A libtool convenience library
 * linked into each of those plugins; the parsers work on text already read,
 * so unit tests feed them fixture files.
 */
#ifndef TOCSIN_PROCFS_H
#define TOCSIN_PROCFS_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin-plugin.h"

/* Environment variables naming another root for /proc and /sys. A test
 * hook: the plugins then read fixture files instead of the kernel's. */
#define TOCSIN_PROC_ROOT_ENV "TOCSIN_PROC_ROOT"
#define TOCSIN_SYS_ROOT_ENV "TOCSIN_SYS_ROOT"

/* Which root a path is under. */
enum tocsin_procfs_root {
    TOCSIN_PROCFS_PROC = 0, /* /proc, or $TOCSIN_PROC_ROOT */
    TOCSIN_PROCFS_SYS = 1   /* /sys, or $TOCSIN_SYS_ROOT */
};

/* A whole file read into memory. */
struct tocsin_procfs_file {
    char *text;  /* NUL-terminated contents; free with tocsin_procfs_free */
    size_t len;  /* bytes in text */
    char path[512]; /* the path read, for messages */
};

/* Write ROOT/rel ("stat", "fs/cgroup/x/memory.max") to buf (len bytes).
 * Returns 0, or -1 when it does not fit. */
int tocsin_procfs_path(enum tocsin_procfs_root root, const char *rel,
                       char *buf, size_t len);

/* Read ROOT/rel whole into file->text (it grows as needed: /proc files
 * report no size). Returns 0, or -1 with "cannot open PATH: REASON" (or
 * read, or "out of memory") in why. Costs one open and a few reads. */
int tocsin_procfs_read(enum tocsin_procfs_root root, const char *rel,
                       struct tocsin_procfs_file *file, char *why,
                       size_t whylen);

/* Release what tocsin_procfs_read() allocated; the struct can be reused. */
void tocsin_procfs_free(struct tocsin_procfs_file *file);

/* The value of `key` in a file of "key value" or "Key:   value kB" lines
 * (/proc/meminfo, memory.stat, cpu.stat). A "kB" suffix multiplies by
 * 1024. Returns 0 with *value set, or -1 when the key is missing or its
 * value is not a number. O(length of text). */
int tocsin_procfs_keyed(const char *text, const char *key, uint64_t *value);

/* CPU time in clock ticks, one "cpu" line of /proc/stat. */
enum tocsin_cpu_mode {
    TOCSIN_CPU_USER = 0, TOCSIN_CPU_NICE, TOCSIN_CPU_SYSTEM, TOCSIN_CPU_IDLE,
    TOCSIN_CPU_IOWAIT, TOCSIN_CPU_IRQ, TOCSIN_CPU_SOFTIRQ, TOCSIN_CPU_STEAL,
    TOCSIN_CPU_MODES
};

struct tocsin_cpu_times {
    uint64_t t[TOCSIN_CPU_MODES]; /* ticks per mode (guest is inside user) */
};

/* Names of the modes, as /proc/stat documents them ("user", "nice", ...). */
extern const char *const tocsin_cpu_mode_names[TOCSIN_CPU_MODES];

/* Parse /proc/stat: the aggregate "cpu" line into *total and the first
 * `max` "cpuN" lines into percpu[0..), *ncpu set to how many there were.
 * Fewer than four numbers on a line, or no "cpu" line, is an error.
 * Returns 0, or -1 with a reason in why. */
int tocsin_procfs_parse_stat(const char *text, struct tocsin_cpu_times *total,
                             struct tocsin_cpu_times *percpu, size_t max,
                             size_t *ncpu, char *why, size_t whylen);

/* Sum of all modes of `t` (the time that passed, in ticks). */
uint64_t tocsin_cpu_total(const struct tocsin_cpu_times *t);

/* The cgroup v2 path of this process from /proc/self/cgroup text (the
 * "0::PATH" line), written to buf. Returns 0, or -1 when there is none
 * (a cgroup v1 only host). */
int tocsin_procfs_cgroup_path(const char *text, char *buf, size_t len);

/* The memory limit and usage of the cgroup v2 group this process is in. */
struct tocsin_cgroup_memory {
    uint64_t limit;   /* memory.max */
    uint64_t current; /* memory.current */
    uint64_t inactive_file; /* from memory.stat */
    char path[256];   /* the group, as /proc/self/cgroup names it */
};

/* Read the memory limit of this process's cgroup v2 group. Returns 1 with
 * *mem filled when a limit is set, 0 when there is none (no cgroup v2,
 * memory.max is "max", no memory controller), -1 with a reason in why
 * when the files are there but cannot be read or parsed. */
int tocsin_cgroup_memory(struct tocsin_cgroup_memory *mem, char *why,
                         size_t whylen);

/* The CPU limit and usage of this process's cgroup v2 group. */
struct tocsin_cgroup_cpu {
    double cpus;          /* quota / period: how many CPUs the limit is */
    uint64_t usage_usec;  /* cpu.stat usage_usec */
    uint64_t user_usec;   /* cpu.stat user_usec */
    uint64_t system_usec; /* cpu.stat system_usec */
    char path[256];
};

/* As tocsin_cgroup_memory(), for cpu.max (a quota, not "max") and
 * cpu.stat. */
int tocsin_cgroup_cpu(struct tocsin_cgroup_cpu *cpu, char *why, size_t whylen);

/* Wait up to `ms` milliseconds, but no more than half of what is left
 * before the check's deadline, so that a first sample leaves time to
 * report. Returns the microseconds actually waited (measured). */
int64_t tocsin_procfs_sample_wait(struct tocsin_check *chk, long ms);

/* `v` (not negative) rounded to `decimals` (0 to 3) places, as shown. */
double tocsin_procfs_round(double v, int decimals);

/* Microseconds on CLOCK_MONOTONIC. */
int64_t tocsin_procfs_now_us(void);

/* Parse option `name`, a string list of fnmatch patterns, into a
 * NULL-terminated array the caller frees with tocsin_procfs_strv_free
 * (an empty array when the list is empty). NULL when out of memory. */
char **tocsin_procfs_strv(cfg_t *options, const char *name);
void tocsin_procfs_strv_free(char **v);

/* 1 when `name` matches one of the fnmatch patterns of `v`. */
int tocsin_procfs_match(char *const *v, const char *name);

/* Named rows of counters read at one time (/proc/net/dev interfaces,
 * /proc/diskstats devices), to turn into rates between two readings. */
#define TOCSIN_COUNTERS_NAME 64
#define TOCSIN_COUNTERS_WIDTH 8 /* counters per row at most */

struct tocsin_counters {
    char (*names)[TOCSIN_COUNTERS_NAME]; /* row names, cap entries */
    uint64_t (*values)[TOCSIN_COUNTERS_WIDTH]; /* row counters */
    size_t n;        /* rows in use */
    size_t cap;      /* rows allocated */
    int64_t at_us;   /* CLOCK_MONOTONIC when read */
};

/* Add a row; returns its counters (zeroed) to fill, or NULL when out of
 * memory. The name is cut to TOCSIN_COUNTERS_NAME - 1 bytes. */
uint64_t *tocsin_counters_add(struct tocsin_counters *c, const char *name,
                              size_t namelen);

/* Forget the rows, keeping the memory. */
void tocsin_counters_clear(struct tocsin_counters *c);

/* Release the memory. */
void tocsin_counters_free(struct tocsin_counters *c);

/* 1 when `b` cannot be compared with `a`: other rows, or a counter that
 * went back (a reset, a wrap, a reboot, an interface made anew). */
int tocsin_counters_went_back(const struct tocsin_counters *a,
                              const struct tocsin_counters *b);

/* Swap the contents of a and b (the buffers too). */
void tocsin_counters_swap(struct tocsin_counters *a, struct tocsin_counters *b);

/* Reads the counters into `into`; returns 0, or -1 with a reason in why. */
typedef int (*tocsin_counters_read_fn)(void *ctx, struct tocsin_counters *into,
                                       char *why, size_t whylen);

/* Bring *cur up to date and make *prev a reading to compare it with: read
 * into cur; when there is no previous reading (*have_prev 0), or cur
 * cannot be compared with it, keep cur as prev, wait `window_ms` (see
 * tocsin_procfs_sample_wait) and read again. Sets *resampled to 1 when a
 * previous reading was dropped because the counters went back. After a
 * success the caller computes its rates and swaps cur into prev. Returns
 * 0, or -1 with a reason in why. */
int tocsin_counters_sample(struct tocsin_check *chk, struct tocsin_counters *prev,
                           struct tocsin_counters *cur, int *have_prev,
                           long window_ms, tocsin_counters_read_fn read,
                           void *ctx, int *resampled, char *why, size_t whylen);

#endif
