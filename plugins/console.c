/*
 * console.c - a notifier that writes one line per alert to stderr or to
 * syslog:
 *
 *   notifier = "console"
 *   target = "syslog"         # or "stderr" (the default)
 *   facility = "local3"
 *   ident = "tocsind"
 *
 * The line reads
 *   web on db1: OK -> CRITICAL (hard, attempt 3/3): CRITICAL - ... [flapping] {team=dba}
 * On stderr it starts with the local time in ISO 8601 and goes out in a
 * single write(2), so lines from several workers never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "tocsin-plugin.h"

/* Longest line written; longer ones end in "...". One pipe buffer's
 * worth, so that a write to a pipe stays atomic. */
#define CONSOLE_LINE_MAX 4096

enum console_target {
    CONSOLE_STDERR,
    CONSOLE_SYSLOG
};

struct console {
    enum console_target target;
    int facility;          /* LOG_DAEMON and the like */
    char *ident;           /* syslog ident, owned */
};

/* A line under construction in a fixed buffer; text past the end is
 * dropped and the line marked as cut. */
struct console_line {
    char text[CONSOLE_LINE_MAX];
    size_t len;
    int cut;
};

static const struct {
    const char *name;
    int facility;
} console_facilities[] = {
    { "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "cron", LOG_CRON },
    { "daemon", LOG_DAEMON }, { "ftp", LOG_FTP }, { "kern", LOG_KERN },
    { "lpr", LOG_LPR }, { "mail", LOG_MAIL }, { "news", LOG_NEWS },
    { "syslog", LOG_SYSLOG }, { "user", LOG_USER }, { "uucp", LOG_UUCP },
    { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
    { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
    { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static cfg_opt_t console_options[] = {
    CFG_STR("target", "stderr", CFGF_NONE),
    CFG_STR("facility", "daemon", CFGF_NONE),
    CFG_STR("ident", "tocsind", CFGF_NONE),
    CFG_END()
};

static void console_teardown(void *instance)
{
    struct console *c = instance;

    if (!c)
        return;
    if (c->target == CONSOLE_SYSLOG)
        closelog();
    free(c->ident);
    free(c);
}

/* Validate the options into a struct console owned by the instance. */
static int console_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct console *c = NULL;
    const char *target = cfg_getstr(options, "target");
    const char *facility = cfg_getstr(options, "facility");
    const char *ident = cfg_getstr(options, "ident");
    size_t i;

    c = calloc(1, sizeof(*c));
    if (!c)
        goto oom;
    if (target && strcmp(target, "stderr") == 0) {
        c->target = CONSOLE_STDERR;
    } else if (target && strcmp(target, "syslog") == 0) {
        c->target = CONSOLE_SYSLOG;
    } else {
        snprintf(err, errlen, "option 'target': \"%s\" is neither \"stderr\" "
                 "nor \"syslog\"", target ? target : "");
        goto fail;
    }
    c->facility = -1;
    for (i = 0; i < sizeof(console_facilities) / sizeof(console_facilities[0]); i++)
        if (facility && strcmp(facility, console_facilities[i].name) == 0)
            c->facility = console_facilities[i].facility;
    if (c->facility < 0) {
        snprintf(err, errlen, "option 'facility': \"%s\" is not a syslog "
                 "facility (daemon, user, local0 ... local7, auth, authpriv, "
                 "cron, ftp, kern, lpr, mail, news, syslog, uucp)",
                 facility ? facility : "");
        goto fail;
    }
    if (!(c->ident = strdup(ident && *ident ? ident : "tocsind")))
        goto oom;
    *instance = c;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (c)
        c->target = CONSOLE_STDERR;     /* nothing was opened */
    console_teardown(c);
    return -1;
}

/* Append text from a plugin or the configuration, with every control
 * character (newlines, escapes, DEL) replaced by '?'. */
static void console_put(struct console_line *l, const char *s)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (l->len + 1 >= sizeof(l->text)) {
            l->cut = 1;
            return;
        }
        l->text[l->len++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    l->text[l->len] = '\0';
}

/* Append formatted text of our own making (no control characters). */
static void console_printf(struct console_line *l, const char *fmt, ...)
    TOCSIN_PRINTF(2, 3);

static void console_printf(struct console_line *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(l->text) - l->len) {
        l->len = sizeof(l->text) - 1;
        l->cut = 1;
    } else {
        l->len += (size_t)n;
    }
}

/* Build the alert's line: "[SEVERITY KIND] SERVICE on HOST: OLD -> NEW
 * (hard, attempt A/M): OUTPUT [flapping] {k=v, ...} (REASON)", KIND only
 * when it is not a problem. A cut line ends in "...". */
static void console_format(struct console_line *l, const struct tocsin_alert *a)
{
    size_t i;

    console_printf(l, "[%s%s%s] ", tocsin_severity_name((int)a->severity),
                   a->kind == TOCSIN_ALERT_PROBLEM ? "" : " ",
                   a->kind == TOCSIN_ALERT_PROBLEM ? "" : tocsin_alert_kind_name((int)a->kind));
    console_put(l, a->service);
    console_put(l, " on ");
    console_put(l, a->host);
    console_printf(l, ": %s -> %s (hard, attempt %d/%d): ",
                   tocsin_state_name(a->previous), tocsin_state_name(a->state),
                   a->attempt, a->max_attempts);
    console_put(l, a->output);
    if (a->flapping)
        console_put(l, " [flapping]");
    for (i = 0; i < a->nlabels; i++) {
        console_put(l, i ? ", " : " {");
        console_put(l, a->labels[i].key);
        console_put(l, "=");
        console_put(l, a->labels[i].value);
    }
    if (a->nlabels)
        console_put(l, "}");
    if (a->reason && *a->reason) {
        console_put(l, " (");
        console_put(l, a->reason);
        console_put(l, ")");
    }
    if (l->cut) {
        /* Leave room for "..." and the newline added by the caller. */
        if (l->len > sizeof(l->text) - 5)
            l->len = sizeof(l->text) - 5;
        memcpy(l->text + l->len, "...", 4);
        l->len += 3;
    }
}

static int console_priority(enum tocsin_state state)
{
    switch (state) {
    case TOCSIN_CRITICAL: return LOG_CRIT;
    case TOCSIN_WARNING: return LOG_WARNING;
    case TOCSIN_OK: return LOG_NOTICE;
    default: return LOG_ERR;
    }
}

/* Write one line about the alert. Costs one write(2) or syslog(3) call;
 * no allocation. */
/* Write one line about one alert. Costs one write(2) or syslog(3) call;
 * no allocation. */
static enum tocsin_delivery console_one(const struct console *c,
                                        const struct tocsin_alert *alert,
                                        char *err, size_t errlen)
{
    struct console_line line;
    struct tm tm;
    time_t now;
    ssize_t n;
    int e;

    line.len = 0;
    line.cut = 0;
    line.text[0] = '\0';

    if (c->target == CONSOLE_SYSLOG) {
        console_format(&line, alert);
        /* Set the ident each time: another instance in this process may
         * have opened the log under its own. */
        openlog(c->ident, LOG_PID, c->facility);
        syslog(LOG_MAKEPRI(c->facility, console_priority(alert->state)),
               "%s", line.text);
        return TOCSIN_DELIVERED;
    }

    now = time(NULL);
    if (localtime_r(&now, &tm)) {
        line.len = strftime(line.text, sizeof(line.text),
                            "%Y-%m-%dT%H:%M:%S%z ", &tm);
        line.text[line.len] = '\0';
    }
    console_format(&line, alert);
    line.text[line.len++] = '\n';

    n = write(STDERR_FILENO, line.text, line.len);
    if (n < 0) {
        e = errno;
        snprintf(err, errlen, "cannot write to stderr: %s", strerror(e));
        return e == EAGAIN || e == EWOULDBLOCK || e == EINTR ? TOCSIN_RETRY
                                                              : TOCSIN_FAILED;
    }
    /* A short write (a full disk) leaves part of the line out; writing the
     * rest separately could interleave, and a retry would repeat it. */
    return TOCSIN_DELIVERED;
}

/* One line per alert of the message: the alert and those grouped with it.
 * Forwarded results are not for the console. */
static enum tocsin_delivery console_notify(void *instance,
                                           const struct tocsin_alert *alert,
                                           char *err, size_t errlen)
{
    const struct console *c = instance;
    enum tocsin_delivery rc;
    size_t i;

    if (alert->kind == TOCSIN_ALERT_RESULT)
        return TOCSIN_DELIVERED;
    rc = console_one(c, alert, err, errlen);
    for (i = 0; i < alert->ngrouped && rc == TOCSIN_DELIVERED; i++)
        rc = console_one(c, &alert->grouped[i], err, errlen);
    return rc;
}

/* Descriptions for --help; docs/notify-console.md tells more. */
static const struct tocsin_option_help console_help[] = {
    { "target", NULL,
      "where lines go: stderr or syslog" },
    { "facility", NULL,
      "the syslog facility: daemon, user, local0 ... local7, ..." },
    { "ident", NULL,
      "the syslog identity lines carry" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .name = "console",
    .version = "0.1.0",
    .summary = "write one line per alert to stderr or syslog",
    .options = console_options,
    .help = console_help,
    .setup = console_setup,
    .teardown = console_teardown,
    .notify = console_notify,
);
