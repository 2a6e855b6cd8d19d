/*
 * file-age.c - a check plugin for Tocsin, built out of tree: is a file
 * fresh enough, and big enough? For backups, exports, heartbeat files and
 * anything else a job is supposed to rewrite on schedule.
 *
 *   service "db-backup" {
 *       check = "file-age"
 *       path = "/var/backups/db.dump"
 *       warning_age = 26h         # older than this: WARNING
 *       critical_age = 50h        # older than this: CRITICAL
 *       size_critical = "1:"      # empty: CRITICAL
 *   }
 *
 * Build it with `make` (see the Makefile beside this file); the whole
 * walk-through is docs/plugin-guide.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <tocsin-plugin.h>

/* One configured service: everything setup() validated, ready to use. */
struct file_age {
    char *path;                      /* the file watched, owned */
    struct tocsin_thresholds age;    /* on its age, in seconds */
    struct tocsin_thresholds size;   /* on its size, in bytes */
    enum tocsin_state missing;       /* the state when it does not exist */
};

/* The options, as the configuration and tocsin-check take them. The core
 * checks durations and ranges while it reads the file, so a typo is
 * reported at its line before anything runs. */
static cfg_opt_t file_age_options[] = {
    CFG_STR("path", "", CFGF_NONE),
    TOCSIN_OPT_DURATION("warning_age", 86400000),     /* 1d, in ms */
    TOCSIN_OPT_DURATION("critical_age", 172800000),   /* 2d */
    TOCSIN_OPT_RANGE("size_warning", ""),
    TOCSIN_OPT_RANGE("size_critical", ""),
    CFG_STR("missing", "critical", CFGF_NONE),
    CFG_END()
};

/* What --help says of each option. */
static const struct tocsin_option_help file_age_help[] = {
    { "path", "/var/backups/db.dump", "the file to check (an absolute path)" },
    { "warning_age", NULL, "WARNING when the file is older than this" },
    { "critical_age", NULL, "CRITICAL when the file is older than this" },
    { "size_warning", NULL, "a range on the size in bytes, for WARNING" },
    { "size_critical", NULL, "a range on the size in bytes, for CRITICAL" },
    { "missing", "critical", "the state when the file does not exist" },
    { NULL, NULL, NULL }
};

static void file_age_teardown(void *instance)
{
    struct file_age *fa = instance;

    if (!fa)
        return;
    free(fa->path);
    free(fa);
}

/* "Older than `ms` milliseconds" as a range on seconds: alert outside
 * 0..N, which for an age (never negative) means above N. 0: no limit. */
static void age_limit(struct tocsin_range *range, long ms)
{
    memset(range, 0, sizeof(*range));
    if (ms <= 0)
        return;
    range->start = 0;
    range->end = (double)ms / 1000.0;
    range->set = 1;
}

/*
 * Turn the validated options into a struct file_age owned by the caller
 * (released by file_age_teardown). Returns 0, or -1 with the reason in
 * err. Runs once per service, in a worker or under tocsind -t.
 */
static int file_age_setup(cfg_t *options, void **instance, char *err,
                          size_t errlen)
{
    struct file_age *fa = NULL;
    const char *path = cfg_getstr(options, "path");
    const char *missing = cfg_getstr(options, "missing");
    long warning_ms = cfg_getint(options, "warning_age");
    long critical_ms = cfg_getint(options, "critical_age");
    int state;

    if (!path || !*path) {
        snprintf(err, errlen, "option 'path' is required: the file to watch");
        goto fail;
    }
    if (path[0] != '/') {
        snprintf(err, errlen, "option 'path': \"%s\" is not an absolute path",
                 path);
        goto fail;
    }
    if (warning_ms > 0 && critical_ms > 0 && warning_ms > critical_ms) {
        snprintf(err, errlen, "warning_age is longer than critical_age: "
                 "a file would be CRITICAL before it is WARNING");
        goto fail;
    }
    state = tocsin_state_parse(missing ? missing : "");
    if (state < 0) {
        snprintf(err, errlen, "option 'missing': \"%s\" is not one of ok, "
                 "warning, critical, unknown", missing ? missing : "");
        goto fail;
    }

    fa = calloc(1, sizeof(*fa));
    if (!fa || !(fa->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    fa->missing = (enum tocsin_state)state;
    age_limit(&fa->age.warning, warning_ms);
    age_limit(&fa->age.critical, critical_ms);
    if (tocsin_option_thresholds(options, "size_warning", "size_critical",
                                 &fa->size, err, errlen) < 0)
        goto fail;
    *instance = fa;
    return 0;

fail:
    file_age_teardown(fa);
    return -1;
}

/*
 * Look at the file once: one stat(2), no allocation. The state is the
 * worse of what its age and its size say; both go out as performance
 * data with their thresholds, so that graphs show the limits too.
 */
static void file_age_check(void *instance, struct tocsin_check *chk)
{
    const struct file_age *fa = instance;
    enum tocsin_state by_age, by_size, state;
    char age_text[64];
    struct stat st;
    double age;

    if (stat(fa->path, &st) < 0) {
        int e = errno;

        if (e == ENOENT)
            tocsin_check_set(chk, fa->missing, "FILE-AGE %s - %s does not exist",
                             tocsin_state_name(fa->missing), fa->path);
        else
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "FILE-AGE UNKNOWN - cannot "
                             "stat %s: %s", fa->path, strerror(e));
        return;
    }

    /* A file from the future (a clock set back) counts as new. */
    age = difftime(time(NULL), st.st_mtime);
    if (age < 0)
        age = 0;
    by_age = tocsin_thresholds_eval(&fa->age, age);
    by_size = tocsin_thresholds_eval(&fa->size, (double)st.st_size);
    state = tocsin_state_worst(by_age, by_size);
    tocsin_duration_format((long long)age, age_text, sizeof(age_text));

    tocsin_check_set(chk, state, "FILE-AGE %s - %s is %s old, %lld bytes",
                     tocsin_state_name(state), fa->path, age_text,
                     (long long)st.st_size);
    tocsin_check_perf(chk, "age", age, "s", &fa->age, 0, 0, TOCSIN_PERF_MIN);
    tocsin_check_perf(chk, "size", (double)st.st_size, "B", &fa->size, 0, 0,
                      TOCSIN_PERF_MIN);
    if (by_size != TOCSIN_OK)
        tocsin_check_long(chk, "size %lld bytes is outside the %s range",
                          (long long)st.st_size,
                          by_size == TOCSIN_CRITICAL ? "critical" : "warning");
}

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "file-age",
    .version = "1.0.0",
    .summary = "age and size of a file: is the backup fresh and not empty?",
    .options = file_age_options,
    .help = file_age_help,
    .setup = file_age_setup,
    .teardown = file_age_teardown,
    .check = file_age_check,
);
