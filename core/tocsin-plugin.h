/*
 * tocsin-plugin.h - the whole interface between Tocsin and its plugins.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `tocsin_plugin`, a struct tocsin_plugin built with TOCSIN_PLUGIN_DEFINE.
 * The daemon reads the descriptor and the option table; it never calls a
 * plugin function itself: setup, check, notify and teardown run in worker
 * processes, so a plugin that crashes costs one result, not the daemon.
 *
 * Build a plugin out of tree with:
 *   cc -shared -fPIC $(pkg-config --cflags --libs tocsin-plugin) -o x.so x.c
 */
#ifndef TOCSIN_PLUGIN_H
#define TOCSIN_PLUGIN_H

#include <confuse.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Raised whenever struct tocsin_plugin, a callback signature or a struct
 * a plugin reads changes incompatibly. A plugin built for another value
 * is refused at load. 2: struct tocsin_alert gained its priority and
 * room to grow (an array of alerts changed its stride). */
#define TOCSIN_PLUGIN_ABI 2

/* The name of the one symbol every plugin exports. */
#define TOCSIN_PLUGIN_SYMBOL "tocsin_plugin"

#if defined(__GNUC__)
#define TOCSIN_EXPORT __attribute__((visibility("default")))
#define TOCSIN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TOCSIN_EXPORT
#define TOCSIN_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------ */
/* States, as Nagios exit codes.                                       */
/* ------------------------------------------------------------------ */

enum tocsin_state {
    TOCSIN_OK = 0,
    TOCSIN_WARNING = 1,
    TOCSIN_CRITICAL = 2,
    TOCSIN_UNKNOWN = 3
};

/* "OK", "WARNING", "CRITICAL", "UNKNOWN"; "UNKNOWN" for anything else. */
const char *tocsin_state_name(int state);

/* Parse a state name (case-insensitive; also "0".."3"). Returns the state,
 * or -1 when the text names none. */
int tocsin_state_parse(const char *text);

/* Nagios ordering for "worst of": OK < WARNING < UNKNOWN < CRITICAL. */
enum tocsin_state tocsin_state_worst(enum tocsin_state a, enum tocsin_state b);

/* ------------------------------------------------------------------ */
/* Threshold ranges, with the Monitoring Plugins semantics:            */
/*   "10"     alert outside 0..10        "10:"   alert below 10         */
/*   "~:10"   alert above 10             "10:20" alert outside 10..20   */
/*   "@10:20" alert inside 10..20 (inclusive)                           */
/* ------------------------------------------------------------------ */

struct tocsin_range {
    double start;          /* lower bound, meaningless if start_infinite */
    double end;            /* upper bound, meaningless if end_infinite */
    unsigned char start_infinite; /* "~" given as the lower bound */
    unsigned char end_infinite;   /* no upper bound ("10:") */
    unsigned char inside;  /* "@": alert when inside the range */
    unsigned char set;     /* 0: no range, never alerts */
};

/* Parse `text` into `range`. An empty or NULL text yields an unset range.
 * Returns 0, or -1 with a reason written to err (errlen bytes). */
int tocsin_range_parse(const char *text, struct tocsin_range *range,
                       char *err, size_t errlen);

/* 1 when `value` raises an alert against `range`, 0 otherwise. */
int tocsin_range_alert(const struct tocsin_range *range, double value);

/* Write the range back in Nagios syntax ("" for an unset range).
 * Returns the length that was needed, as snprintf does. */
int tocsin_range_format(const struct tocsin_range *range, char *buf, size_t len);

/* A warning and a critical range, held against one figure. */
struct tocsin_thresholds {
    struct tocsin_range warning;
    struct tocsin_range critical;
};

/* CRITICAL if the critical range alerts, else WARNING if the warning one
 * does, else OK. */
enum tocsin_state tocsin_thresholds_eval(const struct tocsin_thresholds *th,
                                         double value);

/* ------------------------------------------------------------------ */
/* Option helpers: libconfuse options whose values the core checks     */
/* while it parses, so mistakes are reported with file and line.       */
/* ------------------------------------------------------------------ */

/* libconfuse parse callbacks provided by the core library. */
int tocsin_cfg_parse_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value,
                              void *result);
int tocsin_cfg_parse_range(cfg_t *cfg, cfg_opt_t *opt, const char *value,
                           void *result);
int tocsin_cfg_parse_ranges(cfg_t *cfg, cfg_opt_t *opt, const char *value,
                            void *result);

/* A duration ("30s", "5m", "5min", "5 minutes", "2h", "1d", "250ms", or
 * plain seconds), stored as an integer number of milliseconds. Read it with cfg_getint(). */
#define TOCSIN_OPT_DURATION(name, def) \
    CFG_INT_CB(name, def, CFGF_NONE, tocsin_cfg_parse_duration)

/* A Nagios range, stored as its text after validation. Read it with
 * cfg_getstr() and tocsin_range_parse(). */
#define TOCSIN_OPT_RANGE(name, def) \
    __CFG_STR(name, def, CFGF_NONE, 0, tocsin_cfg_parse_range)

/* One Nagios range, or several separated by commas ("15,10,5", one per
 * figure), stored as text after validation. */
#define TOCSIN_OPT_RANGES(name, def) \
    __CFG_STR(name, def, CFGF_NONE, 0, tocsin_cfg_parse_ranges)

/* Parse a duration into milliseconds. Returns 0, or -1 on bad input. */
int tocsin_duration_parse(const char *text, long *ms);

/* Parse the range held by string option `name` of `options` into *range
 * (an unset range when the option is empty). Returns 0, or -1 with
 * "option 'NAME': why" in err (errlen bytes). */
int tocsin_option_range(cfg_t *options, const char *name,
                        struct tocsin_range *range, char *err, size_t errlen);

/* Both ranges of `th`: warning from option `warning_name`, then critical
 * from option `critical_name`, as tocsin_option_range() reads them.
 * Returns 0, or -1 with the first failure's reason in err. */
int tocsin_option_thresholds(cfg_t *options, const char *warning_name,
                             const char *critical_name,
                             struct tocsin_thresholds *th, char *err,
                             size_t errlen);

/* A copy of string option `name` (the caller frees it), or NULL when the
 * option is unset or empty. Sets *oom to 1 when the copy fails, so a run
 * of calls can be checked once. */
char *tocsin_option_strdup(cfg_t *options, const char *name, int *oom);

/* String option `name`, or NULL when it is unset or empty. The string
 * belongs to `options`. */
const char *tocsin_option_str(cfg_t *options, const char *name);

/* String option `name` names a file (or is unset or empty: nothing to
 * check). Returns 0 when this process can read it, or -1 with "option
 * 'NAME': cannot read PATH: REASON" in err. Costs one access(2). */
int tocsin_option_readable(cfg_t *options, const char *name, char *err,
                           size_t errlen);

/* Message template option `name`, checked with tocsin_template_check()
 * and copied to *out for the caller to free. An empty template is refused
 * unless `may_be_empty`. Returns 0, or -1 with *out NULL and "option
 * 'NAME' must not be empty", "option 'NAME': " and tocsin_template_check()'s
 * reason, or "out of memory" in err. */
int tocsin_option_template(cfg_t *options, const char *name, int may_be_empty,
                           char **out, char *err, size_t errlen);

/* tocsin_secret() from string options `<name>`, `<name>_file` and
 * `<name>_env` (all three must be in the plugin's table). On success
 * returns 0 with *out set as tocsin_secret() sets it (NULL when none is
 * given; release with tocsin_secret_free). Returns -1 with tocsin_secret()'s
 * reason in err, left for the caller to introduce since plugins word it
 * differently; it never contains the secret. */
int tocsin_option_secret(cfg_t *options, const char *name, char **out,
                         char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* A check in progress: what a check plugin fills in.                  */
/* ------------------------------------------------------------------ */

struct tocsin_check; /* opaque; owned by the caller of check() */

/* Name of the service being checked ("" under tocsin-check). */
const char *tocsin_check_service(const struct tocsin_check *chk);

/* The absolute deadline on CLOCK_MONOTONIC. Past it the worker is killed
 * and the result is a timeout; plugins pass it to their own I/O. */
struct timespec tocsin_check_deadline(const struct tocsin_check *chk);

/* Seconds left before the deadline (never negative). */
double tocsin_check_remaining(const struct tocsin_check *chk);

/* Append printf-style text at buf[*used] (buf holds len bytes), never
 * past its end and always NUL-terminated; *used grows by what fitted. For
 * plugins assembling messages in fixed buffers. */
void tocsin_append(char *buf, size_t len, size_t *used, const char *fmt, ...)
    TOCSIN_PRINTF(4, 5);

/* Set the state and the first line of output (without performance data).
 * A later call replaces both. */
void tocsin_check_set(struct tocsin_check *chk, enum tocsin_state state,
                      const char *fmt, ...) TOCSIN_PRINTF(3, 4);

/* Raise the state to the worse of the current one and `state`. */
void tocsin_check_raise(struct tocsin_check *chk, enum tocsin_state state);

/* Current state. */
enum tocsin_state tocsin_check_state(const struct tocsin_check *chk);

/* Append one line of long output. */
void tocsin_check_long(struct tocsin_check *chk, const char *fmt, ...)
    TOCSIN_PRINTF(2, 3);

/* Flags for tocsin_check_perf(). */
#define TOCSIN_PERF_MIN 0x1  /* `min` is meaningful */
#define TOCSIN_PERF_MAX 0x2  /* `max` is meaningful */

/* Append one performance-data item: label, value, unit of measure
 * (one of "", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"),
 * optional thresholds (NULL for none), optional min/max per `flags`.
 * Labels are quoted as needed. */
void tocsin_check_perf(struct tocsin_check *chk, const char *label,
                       double value, const char *uom,
                       const struct tocsin_thresholds *th,
                       double min, double max, unsigned flags);

/* Say that the deadline passed before the check could finish. The result
 * becomes the service's timeout state (UNKNOWN unless configured
 * otherwise) with "timed out after N s"; what the plugin set as output is
 * kept for tocsin-check only. */
void tocsin_check_timed_out(struct tocsin_check *chk);

/* Hand over a complete Nagios plugin output (first line, performance
 * data, long output) and state, to be passed through byte for byte.
 * Used by plugins that wrap other plugins. */
void tocsin_check_set_raw(struct tocsin_check *chk, enum tocsin_state state,
                          const char *output, size_t len);

/* ------------------------------------------------------------------ */
/* Running an external command (no shell), bounded in time and output. */
/* ------------------------------------------------------------------ */

struct tocsin_exec_result {
    int exited;          /* 1 if the command exited normally */
    int exit_code;       /* its exit code, when exited */
    int term_signal;     /* the signal that ended it, when !exited */
    int timed_out;       /* 1 if the deadline passed and it was killed */
    int spawn_errno;     /* errno when the command could not be started */
    char *out;           /* stdout, NUL-terminated; free with tocsin_exec_free */
    size_t out_len;
    int out_truncated;   /* stdout exceeded the cap */
    char *err;           /* stderr, NUL-terminated */
    size_t err_len;
    int err_truncated;
    double duration;     /* wall-clock seconds */
};

/* Run argv[0] (searched in PATH when it has no '/') with argv, in its own
 * process group, stdin from /dev/null. Reads stdout and stderr up to `cap`
 * bytes each (the rest is drained and dropped). At `deadline`
 * (CLOCK_MONOTONIC) the whole process group is killed. Returns 0 when the
 * command ran (whatever its outcome), -1 when it could not be started
 * (spawn_errno says why). The caller frees the result. */
int tocsin_exec(char *const argv[], const struct timespec *deadline,
                size_t cap, struct tocsin_exec_result *res);

/* tocsin_exec() with `envp` ("NAME=value" strings, NULL-terminated) as the
 * command's whole environment instead of the caller's; NULL envp means the
 * caller's. A command named without '/' is still searched in the caller's
 * PATH. */
int tocsin_exec_env(char *const argv[], char *const envp[],
                    const struct timespec *deadline, size_t cap,
                    struct tocsin_exec_result *res);
void tocsin_exec_free(struct tocsin_exec_result *res);

/* Split a command line into argv the way a POSIX shell splits words:
 * whitespace separates, single quotes, double quotes and backslash
 * escapes are honoured; nothing is expanded. Returns a NULL-terminated
 * array owned by the caller (free with tocsin_argv_free), or NULL with a
 * reason in err. */
char **tocsin_argv_split(const char *line, char *err, size_t errlen);
void tocsin_argv_free(char **argv);

/* Turn the outcome of tocsin_exec() into the check's result, as Nagios
 * does for a plugin: exit codes 0..3 are the state and the output passes
 * through unchanged; any other exit code, a death by signal, a timeout or a
 * failure to start gives UNKNOWN with a message saying which (`what` names
 * the command in those messages). */
void tocsin_check_set_exec(struct tocsin_check *chk,
                           const struct tocsin_exec_result *res,
                           const char *what);

/* For the program that hosts plugins (a worker of tocsind), not for
 * plugins: from now on, tocsin_exec() in this process stores the process
 * group of the command it is running in *slot (0 while none runs), so
 * that a process watching the slot, e.g. in shared memory, can end the
 * command when the host dies. NULL stops it. A plugin that calls it takes
 * that safety net away from its own commands. */
void tocsin_exec_publish_pgid(volatile int32_t *slot);

/* ------------------------------------------------------------------ */
/* Secrets: passwords and tokens that should not sit in configuration.  */
/* ------------------------------------------------------------------ */

/* Resolve a secret given at most one way: inline `value`, the first line
 * of `file`, or the environment variable named `env` (NULL or "" for the
 * ways not used). On success returns 0 and sets *out to a copy the caller
 * releases with tocsin_secret_free (NULL when none of the three is set).
 * On failure returns -1 with a reason in err that names the file or the
 * variable but never contains the secret. A variable is read once: the
 * first read keeps its value in the process and removes it from the
 * environment (so commands started later never inherit it); later reads,
 * in this process or in one forked from it, get the kept value. */
int tocsin_secret(const char *value, const char *file, const char *env,
                  char **out, char *err, size_t errlen);

/* Overwrite and free a secret from tocsin_secret(). NULL is fine. */
void tocsin_secret_free(char *secret);

/* ------------------------------------------------------------------ */
/* Alerts: what a notifier plugin is given.                            */
/* ------------------------------------------------------------------ */

struct tocsin_label {
    const char *key;
    const char *value;
};

/* How urgent an alert is; routes choose notifiers by it. */
enum tocsin_severity {
    TOCSIN_SEVERITY_INFO = 0,
    TOCSIN_SEVERITY_WARNING = 1,
    TOCSIN_SEVERITY_ERROR = 2,
    TOCSIN_SEVERITY_CRITICAL = 3
};

/* "info", "warning", "error", "critical"; "error" for anything else. */
const char *tocsin_severity_name(int severity);

/* Parse a severity name (case-insensitive). Returns it, or -1. */
int tocsin_severity_parse(const char *text);

/* Why a notifier is being told. */
enum tocsin_alert_kind {
    TOCSIN_ALERT_PROBLEM = 0,    /* a hard problem state began or changed */
    TOCSIN_ALERT_RECOVERY = 1,   /* the service is OK again */
    TOCSIN_ALERT_REPEAT = 2,     /* still a problem after repeat_interval */
    TOCSIN_ALERT_ESCALATION = 3, /* unacknowledged past an escalation step */
    TOCSIN_ALERT_ACKNOWLEDGED = 4, /* someone took the problem on */
    TOCSIN_ALERT_RESULT = 5,     /* a check result, for notifiers that
                                    forward every result (TOCSIN_PLUGIN_RESULTS) */
    TOCSIN_ALERT_FLAPPING_START = 6, /* the service started flapping: its
                                    problems within an incident are held
                                    back unless worse than the last told */
    TOCSIN_ALERT_FLAPPING_STOP = 7   /* it stopped flapping (or flap
                                    detection was turned off) */
};
#define TOCSIN_ALERT_KIND_MAX TOCSIN_ALERT_FLAPPING_STOP

/* "problem", "recovery", "repeat", "escalation", "acknowledged", "result",
 * "flapping-start", "flapping-stop". */
const char *tocsin_alert_kind_name(int kind);

struct tocsin_alert {
    const char *service;      /* service (or group) name */
    const char *host;         /* host the service belongs to */
    enum tocsin_state state;  /* the state told of (the hard state, except
                                 for TOCSIN_ALERT_RESULT) */
    enum tocsin_state previous; /* hard state before the change */
    int attempt;              /* attempt at which the state became hard */
    int max_attempts;
    const char *output;       /* first line of plugin output */
    const char *long_output;  /* long output, may be "" */
    const char *perfdata;     /* performance data, may be "" */
    time_t since;             /* wall-clock time the state began */
    int flapping;             /* 1 while the service flaps */
    const struct tocsin_label *labels; /* nlabels entries */
    size_t nlabels;

    enum tocsin_alert_kind kind;
    enum tocsin_severity severity;
    int hard;                 /* 1 when `state` is a hard state */
    time_t problem_since;     /* when the incident began (a recovery keeps
                                 its problem's time, for its duration) */
    time_t at;                /* when this notification was raised */
    const char *incident;     /* stable key of the incident, the same for
                                 its problem, repeats, escalations and
                                 recovery: use it to deduplicate */
    const char *group_key;    /* stable key of the notification group
                                 (the name of the route that grouped it),
                                 may be "" */
    const char *route;        /* name of the route that chose the
                                 notifier, may be "" */
    const char *link;         /* a URL about the service, may be "" */
    const char *reason;       /* why it is sent now ("escalation after
                                 30m", "ack by ops: on it"), may be "" */
    const struct tocsin_alert *grouped; /* alerts that arrived within the
                                 route's group_wait and are told in the same
                                 message (ngrouped entries, this one not
                                 included), or NULL */
    size_t ngrouped;
    struct timespec deadline; /* CLOCK_MONOTONIC; past it the worker is
                                 killed and the attempt is retried later */
    long *retry_after;        /* out: when returning TOCSIN_RETRY, the
                                 seconds the receiver asked to wait
                                 (Retry-After); leave 0 for the outbox's
                                 own backoff. Never NULL. */
    const char *priority;     /* the incident's priority ("P1"), "" for
                                 results and alerts outside an incident */
    int priority_rank;        /* its rank: 1 the most urgent priority
                                 configured, 2 the next...; 0 with "" */
    const char *assignee;     /* who the acknowledged problem is assigned
                                 to (tocsinctl ack --assign), may be "" */
    void *reserved[5];        /* room to grow without an ABI change: the
                                 core zeroes it */
};

/* Expand a message template for `alert`. Placeholders in braces:
 *   {service} {host} {state} {previous} {severity} {kind} {output}
 *   {long_output} {perfdata} {attempt} {max_attempts} {incident}
 *   {group_key} {route} {link} {reason} {priority} {assignee}
 *   {since} {problem_since} {at}   local time, "2026-11-22 14:03:00 CET"
 *   {duration}                     time since problem_since, "1h 5m"
 *   {count}                        alerts in this message (1 + ngrouped)
 *   {alerts}                       one line per alert in this message:
 *                                  "CRITICAL db on host1: output" (the
 *                                  first word is {status})
 *   {status}                       "RECOVERED" for a recovery,
 *                                  "ACKNOWLEDGED" for an acknowledgement,
 *                                  else the state ("CRITICAL")
 *   {labels}                       every label: "team=dba, component=db"
 *   {label:KEY}                    the value of label KEY, or ""
 * "{{" and "}}" stand for literal braces. Returns a string the caller
 * frees, or NULL when out of memory. Unknown placeholders are kept as
 * written; tocsin_template_check() reports them at setup. */
char *tocsin_template_render(const char *tmpl, const struct tocsin_alert *alert);

/* Validate a template: returns 0, or -1 with "unknown placeholder {x}" or
 * "unclosed {" in err. */
int tocsin_template_check(const char *tmpl, char *err, size_t errlen);

/* Write a duration in seconds as "3d 2h", "1h 5m", "4m 10s", "12s". */
void tocsin_duration_format(long long seconds, char *buf, size_t len);

/* What notify() returns. */
enum tocsin_delivery {
    TOCSIN_DELIVERED = 0,  /* done */
    TOCSIN_RETRY = 1,      /* temporary failure: try again later */
    TOCSIN_FAILED = 2      /* permanent failure */
};

/* ------------------------------------------------------------------ */
/* Notifier helpers: what notifiers that talk to a receiver share.     */
/* None needs libcurl or jansson; plugins hand the results to theirs.  */
/* ------------------------------------------------------------------ */

/* What an HTTP status code means for a delivery: 2xx TOCSIN_DELIVERED;
 * 408 (request timeout), 429 (too many requests) and 5xx TOCSIN_RETRY;
 * anything else TOCSIN_FAILED, asking again would get the same answer:
 * 1xx, other 4xx, and 3xx too, since notifiers follow no redirect. */
enum tocsin_delivery tocsin_http_outcome(long status);

/* Milliseconds left before `deadline` (CLOCK_MONOTONIC), 0 once it has
 * passed: the timeout a plugin gives its own I/O, e.g. libcurl's
 * CURLOPT_TIMEOUT_MS and CURLOPT_CONNECTTIMEOUT_MS for alert->deadline.
 * Costs one clock_gettime(). */
long tocsin_ms_left(const struct timespec *deadline);

/* U+FFFD, the replacement character, in UTF-8. */
#define TOCSIN_UTF8_REPLACEMENT "\xef\xbf\xbd"

/* Length (1 to 4) of the well-formed UTF-8 sequence at the start of
 * s[0..n), or 0 when the bytes there are none: a stray continuation byte,
 * an overlong form, a surrogate, a code point past U+10FFFF, a sequence
 * cut short by n, or n = 0. */
size_t tocsin_utf8_len(const char *s, size_t n);

/* 1 when `s` is well-formed UTF-8 (what JSON text must be), else 0. NULL
 * counts as "". O(strlen(s)). */
int tocsin_utf8_valid(const char *s);

/* A copy of `s` (NULL counts as "") in which each byte that is not part of
 * a well-formed UTF-8 sequence becomes `replacement` (NULL for
 * TOCSIN_UTF8_REPLACEMENT; "?" keeps the length). The caller frees it;
 * NULL when out of memory. O(strlen(s)). */
char *tocsin_utf8_clean(const char *s, const char *replacement);

/* Cut `s` in place to at most `max` bytes when it is longer: it then ends
 * in "..." after whole characters (on well-formed UTF-8 a sequence is
 * never split). A `max` of 3 or less leaves s as it is. Returns the new
 * length. */
size_t tocsin_utf8_cut(char *s, size_t max);

/* Flags of tocsin_show(). */
#define TOCSIN_SHOW_TRIM 0x1   /* drop the spaces left at the end */

/* At most `max` bytes of s[0..n) (a receiver's answer, a command's
 * stderr) made fit for one line of a message: control characters become
 * spaces, and "..." follows when s was cut. Written to out (outlen bytes,
 * always NUL-terminated, never overrun); returns out. s may be NULL when
 * n is 0. */
const char *tocsin_show(const char *s, size_t n, size_t max, unsigned flags,
                        char *out, size_t outlen);

/* Replace each occurrence of `secret` in `text` (NUL-terminated, in a
 * buffer of `size` bytes) by "[redacted]", so that a receiver echoing a
 * token back cannot put it in a log. What no longer fits is cut off. A
 * NULL or empty secret changes nothing. O(strlen(text) per occurrence). */
void tocsin_redact(char *text, size_t size, const char *secret);

/* The start of a receiver's answer, kept to explain a refusal. Zero it
 * and set `max` before the first use; release with tocsin_capture_free. */
struct tocsin_capture {
    char *data;   /* what was kept, NUL-terminated; NULL until something was */
    size_t len;   /* bytes in data */
    size_t cap;   /* bytes allocated for data */
    size_t max;   /* bytes kept at most; the rest is read and dropped */
};

/* Append to `capture` (a struct tocsin_capture) the bytes ptr[0..size *
 * nmemb) that fit under its max, and drop the rest. Shaped as a libcurl
 * write callback: give it as CURLOPT_WRITEFUNCTION with the capture as
 * CURLOPT_WRITEDATA. Always returns size * nmemb, so the transfer goes on
 * and the connection stays usable; when memory runs short the explanation
 * loses its detail, no more. data grows to max + 1 bytes at most. */
size_t tocsin_capture_write(char *ptr, size_t size, size_t nmemb, void *capture);

/* Forget what was kept, before the next request; the memory stays. */
void tocsin_capture_reset(struct tocsin_capture *capture);

/* Release the memory; the capture (and its max) can be used again. */
void tocsin_capture_free(struct tocsin_capture *capture);

/* Where a 64-bit FNV-1a hash starts (the offset basis). */
#define TOCSIN_FNV1A_INIT 0xcbf29ce484222325ULL

/* 64-bit FNV-1a of the bytes of `s` (NULL adds nothing), continuing from
 * `h`: the same on every host and in every release, for keys that must
 * not change from one run to the next (deduplication keys, message IDs).
 * Not a defence against forgery. */
uint64_t tocsin_fnv1a(uint64_t h, const char *s);

/* `t` as RFC 3339 in UTC, "2026-11-22T13:03:00Z", written to out (21
 * bytes suffice); "1970-01-01T00:00:00Z" when t cannot be written.
 * Returns out. */
const char *tocsin_time_rfc3339(time_t t, char *out, size_t outlen);

/* Deliver one alert, as notify() does; `ctx` is the plugin's instance. */
typedef enum tocsin_delivery (*tocsin_deliver_fn)(void *ctx,
                                                  const struct tocsin_alert *alert,
                                                  char *err, size_t errlen);

/* Deliver `alert` and then each alert grouped with it, one `deliver` call
 * each, for notifiers that forward results one by one. A grouped alert is
 * passed with the deadline and the retry_after slot of `alert`, the
 * notification it travels in. The outcome is the worst: TOCSIN_RETRY when
 * any asked for a retry, else TOCSIN_FAILED when any failed, else
 * TOCSIN_DELIVERED. err gets the reason of the first that was not
 * delivered (at most 511 bytes of it), followed by " (and N more of M
 * results)" when more were not; "" when all were. */
enum tocsin_delivery tocsin_notify_each(const struct tocsin_alert *alert,
                                        tocsin_deliver_fn deliver, void *ctx,
                                        char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* The descriptor.                                                     */
/* ------------------------------------------------------------------ */

enum tocsin_plugin_kind {
    TOCSIN_PLUGIN_CHECK = 1,
    TOCSIN_PLUGIN_NOTIFIER = 2
};

/* What `tocsin-check PLUGIN --help` and `tocsin-notify PLUGIN --help` say
 * of one option of the plugin's table. */
struct tocsin_option_help {
    const char *name;      /* the option, as named in the table */
    const char *example;   /* a value as a user writes it, shown after
                              --NAME ("1h", "URL", "/var/log/x.log"); NULL
                              for one made from the type and default */
    const char *text;      /* what it does, one short line, with its unit */
};

/* The plugin keeps state in its instance from one check to the next (a
 * counter to turn into a rate, a read position in a log): every check of a
 * service then runs in the same worker. The state is lost when that worker
 * is replaced, so a plugin must cope with starting afresh. */
#define TOCSIN_PLUGIN_STATEFUL 0x1

/* A notifier that forwards every check result of every service to another
 * engine (Icinga 2, Nagios, Alertmanager): notify() also receives alerts of
 * kind TOCSIN_ALERT_RESULT. Results are not kept in the outbox: a newer
 * result of the same service replaces one not yet sent. */
#define TOCSIN_PLUGIN_RESULTS 0x2

struct tocsin_plugin {
    uint32_t abi;          /* TOCSIN_PLUGIN_ABI the plugin was built with;
                              must stay the first field in every ABI */
    uint32_t size;         /* sizeof(struct tocsin_plugin) at build time */
    uint32_t kind;         /* enum tocsin_plugin_kind */
    uint32_t flags;        /* TOCSIN_PLUGIN_* flags below */
    const char *name;      /* referenced from configuration: check = "name" */
    const char *version;   /* the plugin's own version */
    const char *summary;   /* one line, shown by tocsin-check --list */
    cfg_opt_t *options;    /* the plugin's options, ended by CFG_END();
                              section options are not allowed */

    /* Turn validated options into an instance. Returns 0, or -1 with a
     * reason in err. Runs in a worker, once per service. */
    int (*setup)(cfg_t *options, void **instance, char *err, size_t errlen);

    /* Release an instance made by setup. May be NULL. */
    void (*teardown)(void *instance);

    /* Check plugins: run one check. Must honour the deadline. */
    void (*check)(void *instance, struct tocsin_check *chk);

    /* Notifier plugins: deliver one alert before alert->deadline. On
     * failure, write a reason (never a secret) to err. TOCSIN_RETRY means
     * try again later (the outbox backs off); TOCSIN_FAILED gives up. */
    enum tocsin_delivery (*notify)(void *instance,
                                   const struct tocsin_alert *alert,
                                   char *err, size_t errlen);

    /* Optional: a description of each option for --help, in any order,
     * ended by an entry whose name is NULL. NULL when there is none (an
     * option is then listed with its type and default only). */
    const struct tocsin_option_help *help;

    void *reserved[7];     /* room to grow without an ABI change: zero */
};

/* Define the plugin's descriptor; pass designated initialisers:
 *   TOCSIN_PLUGIN_DEFINE(.kind = TOCSIN_PLUGIN_CHECK, .name = "x", ...); */
#define TOCSIN_PLUGIN_DEFINE(...) \
    TOCSIN_EXPORT const struct tocsin_plugin tocsin_plugin = { \
        .abi = TOCSIN_PLUGIN_ABI, \
        .size = sizeof(struct tocsin_plugin), \
        __VA_ARGS__ \
    }

#ifdef __cplusplus
}
#endif

#endif /* TOCSIN_PLUGIN_H */
