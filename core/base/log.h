/*
 * log.h - the daemon's log: stderr in the foreground, syslog otherwise.
 * Every line is written with one write(2), so lines from the core and its
 * workers never interleave.
 */
#ifndef TOCSIN_LOG_H
#define TOCSIN_LOG_H

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

#define tocsin_error(...) tocsin_log(TOCSIN_LOG_ERROR, __VA_ARGS__)
#define tocsin_warn(...) tocsin_log(TOCSIN_LOG_WARNING, __VA_ARGS__)
#define tocsin_info(...) tocsin_log(TOCSIN_LOG_INFO, __VA_ARGS__)
#define tocsin_debug(...) tocsin_log(TOCSIN_LOG_DEBUG, __VA_ARGS__)

#endif
