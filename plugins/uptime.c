/*
 * uptime.c - seconds since boot, from /proc/uptime, against ranges; by
 * default WARNING for the first 10 minutes after a reboot:
 *
 *   check = "uptime"
 *   warning = "600:"         # alert below 600 s: a recent reboot
 *   critical = ""            # e.g. "@31536000:" for over a year up
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin-plugin.h"
#include "common/procfs.h"

struct uptime {
    struct tocsin_thresholds th;
};

static cfg_opt_t uptime_options[] = {
    TOCSIN_OPT_RANGE("warning", "600:"),
    TOCSIN_OPT_RANGE("critical", ""),
    CFG_END()
};

static int uptime_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct uptime *u = calloc(1, sizeof(*u));

    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tocsin_option_thresholds(options, "warning", "critical", &u->th, err,
                                 errlen) < 0) {
        free(u);
        return -1;
    }
    *instance = u;
    return 0;
}

static void uptime_teardown(void *instance)
{
    free(instance);
}

/* Seconds since boot from the text of /proc/uptime ("12345.67 2345.6").
 * Returns 0, or -1 when it holds no non-negative number. */
static int uptime_parse(const char *text, double *seconds)
{
    char *end;

    errno = 0;
    *seconds = strtod(text, &end);
    return end == text || errno || *seconds < 0 ||
           (*end != ' ' && *end != '\n' && *end != '\0') ? -1 : 0;
}

/* Judge the seconds since boot; the output says it as "3d 2h". */
static void uptime_check(void *instance, struct tocsin_check *chk)
{
    const struct uptime *u = instance;
    struct tocsin_procfs_file f = { 0 };
    enum tocsin_state state;
    char why[256], human[64];
    double up;

    if (tocsin_procfs_read(TOCSIN_PROCFS_PROC, "uptime", &f, why, sizeof(why)) < 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "UPTIME UNKNOWN - %s", why);
        goto out;
    }
    if (uptime_parse(f.text, &up) < 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "UPTIME UNKNOWN - cannot parse %s: "
                         "\"%.40s\"", f.path, f.text);
        goto out;
    }
    up = (double)(long long)up;
    state = tocsin_thresholds_eval(&u->th, up);
    tocsin_duration_format((long long)up, human, sizeof(human));
    tocsin_check_perf(chk, "uptime", up, "s", &u->th, 0, 0, TOCSIN_PERF_MIN);
    tocsin_check_set(chk, state, "UPTIME %s - up %s (%.0f s)%s",
                     tocsin_state_name(state), human, up,
                     state != TOCSIN_OK && u->th.warning.set &&
                     tocsin_range_alert(&u->th.warning, up) && up < 86400
                         ? ", rebooted recently" : "");
out:
    tocsin_procfs_free(&f);
}

/* Descriptions for --help; docs/check-uptime.md tells more. */
static const struct tocsin_option_help uptime_help[] = {
    { "warning", NULL,
      "alert below 600 s: a recent reboot" },
    { "critical", NULL,
      "e.g. @31536000: for up more than a year (no kernel updates)" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "uptime",
    .version = "0.1.0",
    .summary = "seconds since boot; WARNING after a recent reboot",
    .options = uptime_options,
    .help = uptime_help,
    .setup = uptime_setup,
    .teardown = uptime_teardown,
    .check = uptime_check,
);
