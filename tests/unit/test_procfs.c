/*
 * test_procfs.c - the readers the host check plugins share
 * (plugins/common/procfs.c), on fixture files: "key value" files,
 * /proc/stat, /proc/self/cgroup, the cgroup v2 memory and CPU limits
 * under a moved root, counter rows and their comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/procfs.h"

/* The text of fixture `name` (tests/unit/fixtures), read through the
 * reader under test with the proc root moved there. Freed by the caller. */
static char *fixture(const char *name)
{
    struct tocsin_procfs_file f = { 0 };
    char why[256];

    assert_int_equal(setenv(TOCSIN_PROC_ROOT_ENV, TOCSIN_FIXTURES, 1), 0);
    if (tocsin_procfs_read(TOCSIN_PROCFS_PROC, name, &f, why, sizeof(why)) < 0)
        fail_msg("fixture %s: %s", name, why);
    unsetenv(TOCSIN_PROC_ROOT_ENV);
    return f.text;
}

static void keyed_meminfo_in_bytes(void **state)
{
    char *text = fixture("meminfo");
    uint64_t v = 0;

    (void)state;
    assert_int_equal(tocsin_procfs_keyed(text, "MemTotal", &v), 0);
    assert_true(v == 8000000ULL * 1024);
    assert_int_equal(tocsin_procfs_keyed(text, "MemAvailable", &v), 0);
    assert_true(v == 2000000ULL * 1024);
    /* No unit: taken as it is. */
    assert_int_equal(tocsin_procfs_keyed(text, "HugePages_Total", &v), 0);
    assert_true(v == 0);
    /* A prefix of a key is not the key. */
    assert_int_equal(tocsin_procfs_keyed(text, "Mem", &v), -1);
    assert_int_equal(tocsin_procfs_keyed(text, "Swap", &v), -1);
    free(text);
}

static void keyed_missing_in_truncated_meminfo(void **state)
{
    char *text = fixture("meminfo-truncated");
    uint64_t v = 0;

    (void)state;
    assert_int_equal(tocsin_procfs_keyed(text, "MemTotal", &v), 0);
    assert_int_equal(tocsin_procfs_keyed(text, "MemAvailable", &v), -1);
    assert_int_equal(tocsin_procfs_keyed(text, "SwapFree", &v), -1);
    free(text);
}

static void keyed_space_separated(void **state)
{
    char *text = fixture("cpu.stat");
    uint64_t v = 0;

    (void)state;
    assert_int_equal(tocsin_procfs_keyed(text, "usage_usec", &v), 0);
    assert_true(v == 123456789ULL);
    assert_int_equal(tocsin_procfs_keyed(text, "system_usec", &v), 0);
    assert_true(v == 23456789ULL);
    assert_int_equal(tocsin_procfs_keyed(text, "nr_throttled", &v), -1);
    free(text);
}

static void stat_total_and_per_cpu(void **state)
{
    char *text = fixture("stat"), why[128];
    struct tocsin_cpu_times total, per[4];
    size_t n = 0;

    (void)state;
    assert_int_equal(tocsin_procfs_parse_stat(text, &total, per, 4, &n, why,
                                              sizeof(why)), 0);
    assert_int_equal(n, 2);
    assert_true(total.t[TOCSIN_CPU_USER] == 1000);
    assert_true(total.t[TOCSIN_CPU_IDLE] == 8000);
    assert_true(total.t[TOCSIN_CPU_STEAL] == 30);
    assert_true(tocsin_cpu_total(&total) == 1000 + 100 + 500 + 8000 + 200 + 10 + 20 + 30);
    assert_true(per[1].t[TOCSIN_CPU_IOWAIT] == 100);
    /* Room for fewer CPUs than there are: counted, not written. */
    assert_int_equal(tocsin_procfs_parse_stat(text, &total, per, 1, &n, why,
                                              sizeof(why)), 0);
    assert_int_equal(n, 2);
    free(text);
}

static void stat_short_line_is_an_error(void **state)
{
    char *text = fixture("stat-short"), why[128];
    struct tocsin_cpu_times total;

    (void)state;
    assert_int_equal(tocsin_procfs_parse_stat(text, &total, NULL, 0, NULL, why,
                                              sizeof(why)), -1);
    assert_non_null(strstr(why, "fewer than 4 numbers"));
    assert_int_equal(tocsin_procfs_parse_stat("intr 1 2 3\n", &total, NULL, 0,
                                              NULL, why, sizeof(why)), -1);
    assert_string_equal(why, "no \"cpu\" line");
    free(text);
}

static void cgroup_path_v2_only(void **state)
{
    char *v2 = fixture("cgroup-v2"), *v1 = fixture("cgroup-v1"), path[128];

    (void)state;
    assert_int_equal(tocsin_procfs_cgroup_path(v2, path, sizeof(path)), 0);
    assert_string_equal(path, "/system.slice/app.service");
    assert_int_equal(tocsin_procfs_cgroup_path(v1, path, sizeof(path)), -1);
    assert_int_equal(tocsin_procfs_cgroup_path("0::/\n", path, sizeof(path)), 0);
    assert_string_equal(path, "/");
    free(v2);
    free(v1);
}

/* Write `text` to dir/rel, making the directories. */
static void put(const char *dir, const char *rel, const char *text)
{
    char path[1024], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A throwaway root holding proc/ and sys/, set as both roots. */
static void moved_roots(char *dir, size_t len)
{
    char proc[512], sys[512];

    snprintf(dir, len, "/tmp/test_procfs.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(proc, sizeof(proc), "%s/proc", dir);
    snprintf(sys, sizeof(sys), "%s/sys", dir);
    setenv(TOCSIN_PROC_ROOT_ENV, proc, 1);
    setenv(TOCSIN_SYS_ROOT_ENV, sys, 1);
    put(dir, "proc/self/cgroup", "0::/app\n");
}

static void cleanup_roots(const char *dir)
{
    char cmd[600];

    unsetenv(TOCSIN_PROC_ROOT_ENV);
    unsetenv(TOCSIN_SYS_ROOT_ENV);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void cgroup_memory_limit(void **state)
{
    struct tocsin_cgroup_memory mem;
    char dir[128], why[256];

    (void)state;
    moved_roots(dir, sizeof(dir));
    /* No memory.max: no limit. */
    assert_int_equal(tocsin_cgroup_memory(&mem, why, sizeof(why)), 0);
    put(dir, "sys/fs/cgroup/app/memory.max", "max\n");
    assert_int_equal(tocsin_cgroup_memory(&mem, why, sizeof(why)), 0);
    put(dir, "sys/fs/cgroup/app/memory.max", "1073741824\n");
    put(dir, "sys/fs/cgroup/app/memory.current", "805306368\n");
    put(dir, "sys/fs/cgroup/app/memory.stat", "anon 1\ninactive_file 268435456\n");
    assert_int_equal(tocsin_cgroup_memory(&mem, why, sizeof(why)), 1);
    assert_true(mem.limit == 1073741824ULL);
    assert_true(mem.current == 805306368ULL);
    assert_true(mem.inactive_file == 268435456ULL);
    assert_string_equal(mem.path, "/app");
    /* A limit that cannot be read as a number is an error, not "none". */
    put(dir, "sys/fs/cgroup/app/memory.max", "lots\n");
    assert_int_equal(tocsin_cgroup_memory(&mem, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "memory.max"));
    cleanup_roots(dir);
}

static void cgroup_cpu_quota(void **state)
{
    struct tocsin_cgroup_cpu cpu;
    char dir[128], why[256];

    (void)state;
    moved_roots(dir, sizeof(dir));
    put(dir, "sys/fs/cgroup/app/cpu.max", "max 100000\n");
    assert_int_equal(tocsin_cgroup_cpu(&cpu, why, sizeof(why)), 0);
    put(dir, "sys/fs/cgroup/app/cpu.max", "150000 100000\n");
    put(dir, "sys/fs/cgroup/app/cpu.stat", "usage_usec 5000\nuser_usec 3000\n"
        "system_usec 2000\n");
    assert_int_equal(tocsin_cgroup_cpu(&cpu, why, sizeof(why)), 1);
    assert_true(cpu.cpus > 1.49 && cpu.cpus < 1.51);
    assert_true(cpu.usage_usec == 5000 && cpu.user_usec == 3000 &&
                cpu.system_usec == 2000);
    put(dir, "sys/fs/cgroup/app/cpu.stat", "nr_periods 1\n");
    assert_int_equal(tocsin_cgroup_cpu(&cpu, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "usage_usec"));
    cleanup_roots(dir);
}

static void read_missing_file_says_which(void **state)
{
    struct tocsin_procfs_file f = { 0 };
    char why[256];

    (void)state;
    setenv(TOCSIN_PROC_ROOT_ENV, "/nonexistent-root", 1);
    assert_int_equal(tocsin_procfs_read(TOCSIN_PROCFS_PROC, "meminfo", &f, why,
                                        sizeof(why)), -1);
    assert_string_equal(why, "cannot open /nonexistent-root/meminfo: "
                        "No such file or directory");
    unsetenv(TOCSIN_PROC_ROOT_ENV);
}

static void counters_went_back(void **state)
{
    struct tocsin_counters a = { 0 }, b = { 0 };
    uint64_t *row;
    int i;

    (void)state;
    for (i = 0; i < 40; i++) { /* past the first allocation */
        char name[16];

        snprintf(name, sizeof(name), "if%d", i);
        row = tocsin_counters_add(&a, name, strlen(name));
        assert_non_null(row);
        row[0] = 100;
        row = tocsin_counters_add(&b, name, strlen(name));
        assert_non_null(row);
        row[0] = 150;
    }
    assert_int_equal(tocsin_counters_went_back(&a, &b), 0);
    b.values[39][0] = 99; /* a reset */
    assert_int_equal(tocsin_counters_went_back(&a, &b), 1);
    b.values[39][0] = 100;
    snprintf(b.names[3], sizeof(b.names[3]), "other"); /* a new interface */
    assert_int_equal(tocsin_counters_went_back(&a, &b), 1);
    tocsin_counters_clear(&b);
    assert_int_equal(tocsin_counters_went_back(&a, &b), 1);
    tocsin_counters_free(&a);
    tocsin_counters_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keyed_meminfo_in_bytes),
        cmocka_unit_test(keyed_missing_in_truncated_meminfo),
        cmocka_unit_test(keyed_space_separated),
        cmocka_unit_test(stat_total_and_per_cpu),
        cmocka_unit_test(stat_short_line_is_an_error),
        cmocka_unit_test(cgroup_path_v2_only),
        cmocka_unit_test(cgroup_memory_limit),
        cmocka_unit_test(cgroup_cpu_quota),
        cmocka_unit_test(read_missing_file_says_which),
        cmocka_unit_test(counters_went_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
