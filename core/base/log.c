/*
 * log.c - the daemon's log. See log.h.
 */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "lib/buf.h"

static const char *log_ident = "tocsind";
static int log_syslog;
static int log_level = TOCSIN_LOG_INFO;

static const char *const level_names[] = {"error", "warning", "info", "debug"};
static const int level_priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void tocsin_log_open(const char *ident, int use_syslog, int level)
{
    log_ident = ident;
    log_syslog = use_syslog;
    log_level = level;
    if (use_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void tocsin_log_set_level(int level)
{
    log_level = level;
}

int tocsin_log_enabled(int level)
{
    return level <= log_level;
}

int tocsin_log_level_parse(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return (int)i;
    return -1;
}

static void log_line(int level, const char *suffix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * Write one line, `suffix` (may be NULL) after the message. Control characters in the message are replaced so that
 * plugin output can never forge a log line.
 */
static void log_line(int level, const char *suffix, const char *fmt, va_list ap)
{
    char stamp[64];
    struct tocsin_buf line = TOCSIN_BUF_INIT;
    struct timeval tv;
    struct tm tm;
    size_t start, i;
    int saved = errno;

    if (level > log_level)
        return;
    if (level < 0)
        level = 0;
    if (level > TOCSIN_LOG_DEBUG)
        level = TOCSIN_LOG_DEBUG;

    if (!log_syslog) {
        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        tocsin_buf_printf(&line, "%s.%03ld ", stamp, (long)(tv.tv_usec / 1000));
        strftime(stamp, sizeof(stamp), "%z", &tm);
        tocsin_buf_printf(&line, "%s %s[%ld]: %s: ", stamp, log_ident,
                          (long)getpid(), level_names[level]);
    }
    start = line.len;
    tocsin_buf_vprintf(&line, fmt, ap);
    if (suffix)
        tocsin_buf_puts(&line, suffix);
    if (line.oom)
        goto out;
    for (i = start; i < line.len; i++)
        if ((unsigned char)line.data[i] < 0x20 || line.data[i] == 0x7f)
            line.data[i] = line.data[i] == '\t' ? ' ' : '?';

    if (log_syslog) {
        syslog(level_priority[level], "%s", line.data + start);
    } else {
        tocsin_buf_putc(&line, '\n');
        if (!line.oom && write(STDERR_FILENO, line.data, line.len) < 0) {
            /* Nowhere left to report a failing stderr. */
        }
    }
out:
    tocsin_buf_free(&line);
    errno = saved;
}

void tocsin_log(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(level, NULL, fmt, ap);
    va_end(ap);
}

/* One clock read per call; the line is formatted only when written. */
void tocsin_log_limited(struct tocsin_log_limit *lim, int level, const char *fmt, ...)
{
    char suffix[96];
    int64_t now;
    va_list ap;
    int saved = errno;

    if (level > log_level)
        return;
    now = tocsin_mono_us();
    if (lim->written && now - lim->last_us < lim->interval_us) {
        lim->held++;
        return;
    }
    suffix[0] = '\0';
    if (lim->held)
        snprintf(suffix, sizeof(suffix), " (%llu more like it in the last %lld s)",
                 (unsigned long long)lim->held, (long long)((now - lim->last_us) / 1000000));
    lim->written = 1;
    lim->last_us = now;
    lim->held = 0;
    errno = saved;
    va_start(ap, fmt);
    log_line(level, suffix[0] ? suffix : NULL, fmt, ap);
    va_end(ap);
}

uint64_t tocsin_log_limit_reset(struct tocsin_log_limit *lim)
{
    uint64_t held = lim->held;

    lim->written = 0;
    lim->held = 0;
    return held;
}
