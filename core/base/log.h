/*
 * log.h - the daemon's log: stderr in the foreground, syslog otherwise.
 * Every line is written with one write(2), so lines from the core and its
 * workers never interleave.
 */
#ifndef TOCSIN_LOG_H
#define TOCSIN_LOG_H

#include <stdint.h>

enum tocsin_log_level {
    TOCSIN_LOG_ERROR = 0,
    TOCSIN_LOG_WARNING = 1,
    TOCSIN_LOG_INFO = 2,
    TOCSIN_LOG_DEBUG = 3
};

/* Choose the destination and the most verbose level that is written. */
void tocsin_log_open(const char *ident, int use_syslog, int level);

/* Change the level later (e.g. from the configuration). */
void tocsin_log_set_level(int level);

/* 1 when lines of `level` are written. */
int tocsin_log_enabled(int level);

/* Parse "error", "warning", "info", "debug". Returns -1 if none. */
int tocsin_log_level_parse(const char *name);

void tocsin_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A rate limit for one kind of line that can repeat without end (a store
 * that cannot commit, say): the first line is written at once, then at most
 * one per interval, saying how many were held back since the last one.
 * Zero-initialise it with TOCSIN_LOG_LIMIT_INIT; owned by the caller.
 */
struct tocsin_log_limit {
    int64_t interval_us;            /* at most one line per this */
    int64_t last_us;                /* monotonic time of the last line written */
    int written;                    /* a line was written since the last reset */
    uint64_t held;                  /* lines not written since the last one */
};

#define TOCSIN_LOG_LIMIT_INIT(seconds) { (int64_t)(seconds) * 1000000, 0, 0, 0 }

/* Write the line unless `lim` held one back less than its interval ago;
 * a line written after some were held back ends with their count. */
void tocsin_log_limited(struct tocsin_log_limit *lim, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Start `lim` over (the condition it was about has ended): the next line is
 * written at once. Returns how many lines it held back since the last one
 * written. */
uint64_t tocsin_log_limit_reset(struct tocsin_log_limit *lim);

#define tocsin_error(...) tocsin_log(TOCSIN_LOG_ERROR, __VA_ARGS__)
#define tocsin_warn(...) tocsin_log(TOCSIN_LOG_WARNING, __VA_ARGS__)
#define tocsin_info(...) tocsin_log(TOCSIN_LOG_INFO, __VA_ARGS__)
#define tocsin_debug(...) tocsin_log(TOCSIN_LOG_DEBUG, __VA_ARGS__)

#endif
