/*
 * log.c - lines of a log file or of the systemd journal that match
 * patterns, counted in a sliding time window:
 *
 *   check = "log"
 *   file = "/var/log/nginx/access.log"
 *   pattern = {"requests=^(?<client>\\S+) .*\" (?<status>\\d{3}) \\d+ (?<rt>[0-9.]+)$",
 *              "errors=\" 5\\d\\d "}
 *   count = "errors"                  # held against warning/critical
 *   warning = "10"                    # per window
 *   critical = "50"
 *   ratio = "errors/requests"         # as a percentage
 *   ratio_warning = "1"
 *   min_volume = 100                  # fewer requests: ratio not judged
 *   by = "client"                     # count per value of a named group
 *   field = "rt"                      # a number: mean, p95, p99
 *
 * The plugin is stateful: a file is followed through plugins/common/
 * tailer (read position kept, rotation by rename or copytruncate), the
 * journal through its cursor. The window holds counts per slot
 * (plugins/common/window), so memory does not depend on the volume of
 * the log. A line's time is the time stamp it starts with (ISO 8601,
 * syslog) or the nginx/Apache one in brackets, else the time it was read;
 * so a worker that starts afresh rebuilds the window from the file.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#ifdef HAVE_SD_JOURNAL
#include <systemd/sd-journal.h>
#endif

#include "tocsin-plugin.h"
#include "common/tailer.h"
#include "common/window.h"

#define LOG_DEFAULT_MAX_READ (64L * 1024 * 1024)
#define LOG_MIN_MAX_READ 4096L

/* Most patterns, longest pattern name. */
#define LOG_PATTERNS_MAX 16
#define LOG_NAME_MAX 32

/* Characters of a line quoted in long output, of a value of `by`. */
#define LOG_QUOTE_MAX 200
#define LOG_VALUE_MAX 128

/* Distinct values of `by` kept; more are counted together as "other". */
#define LOG_VALUES_MAX 10000
#define LOG_HASH_SIZE 32768            /* a power of two > 2 * LOG_VALUES_MAX */

/* Values of `by` named in output, by default and at most. */
#define LOG_TOP_DEFAULT 5
#define LOG_TOP_MAX 50

/* Backtracking allowed per match, and the JIT stack, bounding the cost of
 * a pattern that backtracks badly on a hostile line. */
#define LOG_MATCH_LIMIT 1000000
#define LOG_JIT_STACK_MAX (1024 * 1024)

/* Longest literal looked for before matching a pattern. */
#define LOG_LITERAL_MAX 64

/* "07/Dec/2026:21:01:07 +0000": the nginx/Apache time inside brackets. */
#define LOG_BRACKET_LEN 26

struct log_pattern {
    char *name;                        /* owned */
    pcre2_code *re;
    pcre2_match_data *md;
    int by_group;                      /* group number of `by`, or -1 */
    int field_group;                   /* group number of `field`, or -1 */
    uint32_t count[TOCSIN_WINDOW_SLOTS];
    int jit;                           /* compiled by the JIT */
    char literal[LOG_LITERAL_MAX];     /* bytes every match holds, in a row */
    size_t literal_len;                /* 0: none known */
    const char *hit;                   /* the first literal at or past the
                                          line in the tailer's buffer, NULL:
                                          none left; stale before `from` */
    const char *from;
    char last[LOG_QUOTE_MAX];          /* the start of the last line it
                                          matched, as read */
    size_t last_len;
    int64_t last_at;                   /* its time; 0: none yet */
};

struct log_value {
    char *name;                        /* owned, printable */
    uint32_t count[TOCSIN_WINDOW_SLOTS];
    uint64_t total;                    /* in the window, set by log_report */
};

struct log {
    /* Options. */
    struct log_pattern *pat;
    size_t npat;
    size_t count_pat;                  /* pattern held against warning/critical */
    int ratio_num, ratio_den;          /* pattern indexes, -1: no ratio */
    struct tocsin_thresholds count_th, ratio_th, by_th, mean_th, p95_th, p99_th;
    double min_volume;
    char *by, *field, *field_unit;     /* owned, NULL when not set */
    unsigned top;
    int line_time;
    int64_t window_ms;
    int64_t max_read;
    char *file;                        /* NULL with the journal */
    char *journal_unit, *journal_identifier, *journal_directory;

    /* The tailer's buffer, in which pattern literals are searched. */
    const char *block, *block_end;

    /* The slot of the last line's time, valid while the window's newest
     * epoch and that slot's epoch are unchanged. */
    int64_t slot_at, slot_now, slot_epoch;
    int slot;

    /* Kept between checks. */
    struct tocsin_tailer tail;
    char *cursor;                      /* journal cursor, owned */
    struct tocsin_window win;
    struct tocsin_vhist *hist;         /* TOCSIN_WINDOW_SLOTS, with `field` */
    struct log_value *val;
    size_t nval, val_alloc;
    int32_t *hash;                     /* LOG_HASH_SIZE indexes into val, -1: free */
    uint32_t other[TOCSIN_WINDOW_SLOTS]; /* values past LOG_VALUES_MAX */

    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;

    /* Caches of the time of a line, since consecutive lines mostly
     * share their time stamp: the epoch of the local hour last parsed
     * (key yyyymmddhh, 0: none), the bracketed time last parsed, and the
     * local year of the check's `now`. */
    int64_t hour_key, hour_ms;
    char bracket_key[LOG_BRACKET_LEN];
    int64_t bracket_ms;                /* -1: none */
    int64_t year_now;                  /* `now` of year_local, or 0 */
    int year_local;
};

/* What one check read, for long output. */
struct log_read {
    int64_t now;                       /* ms since the epoch */
    uint64_t bytes, lines, cut, old, match_errors, bad_field, entries;
    int oom;
    int late;
};

struct log_pass {
    struct log *l;
    struct log_read *rd;
};

static cfg_opt_t log_options[] = {
    CFG_STR("file", "", CFGF_NONE),
    CFG_STR("journal_unit", "", CFGF_NONE),
    CFG_STR("journal_identifier", "", CFGF_NONE),
    CFG_STR("journal_directory", "", CFGF_NONE),
    CFG_STR_LIST("pattern", "{}", CFGF_NONE),
    CFG_STR("count", "", CFGF_NONE),
    TOCSIN_OPT_DURATION("window", 3600000),
    TOCSIN_OPT_RANGE("warning", ""),
    TOCSIN_OPT_RANGE("critical", ""),
    CFG_STR("ratio", "", CFGF_NONE),
    TOCSIN_OPT_RANGE("ratio_warning", ""),
    TOCSIN_OPT_RANGE("ratio_critical", ""),
    CFG_FLOAT("min_volume", 0, CFGF_NONE),
    CFG_STR("by", "", CFGF_NONE),
    CFG_INT("top", LOG_TOP_DEFAULT, CFGF_NONE),
    TOCSIN_OPT_RANGE("by_warning", ""),
    TOCSIN_OPT_RANGE("by_critical", ""),
    CFG_STR("field", "", CFGF_NONE),
    CFG_STR("field_unit", "", CFGF_NONE),
    TOCSIN_OPT_RANGE("mean_warning", ""),
    TOCSIN_OPT_RANGE("mean_critical", ""),
    TOCSIN_OPT_RANGE("p95_warning", ""),
    TOCSIN_OPT_RANGE("p95_critical", ""),
    TOCSIN_OPT_RANGE("p99_warning", ""),
    TOCSIN_OPT_RANGE("p99_critical", ""),
    CFG_BOOL("line_time", cfg_true, CFGF_NONE),
    CFG_INT("max_read", LOG_DEFAULT_MAX_READ, CFGF_NONE),
    CFG_END()
};

static void log_teardown(void *instance)
{
    struct log *l = instance;
    size_t i;

    if (!l)
        return;
    for (i = 0; i < l->npat; i++) {
        free(l->pat[i].name);
        pcre2_match_data_free(l->pat[i].md);
        pcre2_code_free(l->pat[i].re);
    }
    free(l->pat);
    for (i = 0; i < l->nval; i++)
        free(l->val[i].name);
    free(l->val);
    free(l->hash);
    free(l->hist);
    free(l->by);
    free(l->field);
    free(l->field_unit);
    free(l->file);
    free(l->journal_unit);
    free(l->journal_identifier);
    free(l->journal_directory);
    free(l->cursor);
    tocsin_tailer_free(&l->tail);
    pcre2_match_context_free(l->mctx);
    pcre2_jit_stack_free(l->jit_stack);
    free(l);
}

/* The pattern called `name` (len bytes), or -1. */
static int log_pattern_find(const struct log *l, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < l->npat; i++)
        if (strlen(l->pat[i].name) == len && memcmp(l->pat[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* Length of the name in "NAME=REGEX" at `s`, or 0 when `s` does not start
 * with a name and '='. */
static size_t log_name_len(const char *s)
{
    size_t n = 0;

    while (n <= LOG_NAME_MAX && ((s[n] >= 'a' && s[n] <= 'z') ||
           (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
           s[n] == '_' || s[n] == '-'))
        n++;
    return n > 0 && n <= LOG_NAME_MAX && s[n] == '=' ? n : 0;
}

/*
 * The literal that starts regular expression `re`, after an optional '^',
 * into p->literal: a line that does not hold it cannot match, so it is
 * looked for with memmem before the pattern runs. Conservative: nothing
 * when the expression has an alternative ('|' anywhere), quotes with \Q,
 * or is compiled caseless or extended; the literal stops at the first
 * metacharacter, and loses its last character when a quantifier that
 * allows zero follows. ASCII printable bytes and escaped punctuation only.
 */
static void log_pattern_literal(struct log_pattern *p, const char *re)
{
    uint32_t all = 0;
    size_t n = 0;

    p->literal_len = 0;
    pcre2_pattern_info(p->re, PCRE2_INFO_ALLOPTIONS, &all);
    if ((all & (PCRE2_CASELESS | PCRE2_EXTENDED | PCRE2_EXTENDED_MORE |
                PCRE2_LITERAL)) || strchr(re, '|') || strstr(re, "\\Q"))
        return;
    if (*re == '^')
        re++;
    while (*re && n < LOG_LITERAL_MAX) {
        unsigned char c = (unsigned char)re[0];

        if (c == '\\' && re[1] && (unsigned char)re[1] < 0x7f &&
            (unsigned char)re[1] > 0x20 &&
            !((re[1] >= 'a' && re[1] <= 'z') || (re[1] >= 'A' && re[1] <= 'Z') ||
              (re[1] >= '0' && re[1] <= '9'))) {
            c = (unsigned char)re[1];
            re += 2;
        } else if (c >= 0x20 && c < 0x7f && !strchr("\\^$.|?*+()[]{}", c)) {
            re++;
        } else {
            break;
        }
        if (*re == '?' || *re == '*' || *re == '{')
            break;                     /* c may occur zero times */
        p->literal[n++] = (char)c;
        if (*re == '+')
            break;
    }
    if (n >= 2)
        p->literal_len = n;
}

/* Compile entry `idx` (0-based) of option `pattern` into l->pat[idx]. */
static int log_pattern_setup(struct log *l, unsigned idx, unsigned total,
                             const char *text, char *err, size_t errlen)
{
    struct log_pattern *p = &l->pat[idx];
    size_t nlen = log_name_len(text);
    const char *re = nlen ? text + nlen + 1 : text;
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off;
    int code;

    if (nlen)
        p->name = strndup(text, nlen);
    else if (total == 1)
        p->name = strdup("matches");
    else {
        char name[32];

        snprintf(name, sizeof(name), "pattern%u", idx + 1);
        p->name = strdup(name);
    }
    if (!p->name)
        goto oom;
    l->npat++;
    if (log_pattern_find(l, p->name, strlen(p->name)) != (int)idx) {
        snprintf(err, errlen, "option 'pattern': entry %u: the name '%s' is "
                 "given twice", idx + 1, p->name);
        return -1;
    }
    if (!*re) {
        snprintf(err, errlen, "option 'pattern': entry %u (%s): the regular "
                 "expression is empty", idx + 1, p->name);
        return -1;
    }
    /* Bytes, not characters: any byte of a line can be matched, whatever
     * its encoding. A pattern that asks for UTF-8 with (*UTF) is compiled
     * again to match lines holding invalid UTF-8 too. */
    p->re = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &code,
                          &off, NULL);
    if (p->re) {
        uint32_t all = 0;

        pcre2_pattern_info(p->re, PCRE2_INFO_ALLOPTIONS, &all);
        if (all & PCRE2_UTF) {
            pcre2_code_free(p->re);
            p->re = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                  PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
        }
    }
    if (!p->re) {
        pcre2_get_error_message(code, msg, sizeof(msg));
        snprintf(err, errlen, "option 'pattern': entry %u (%s): %s at offset "
                 "%zu of the regular expression", idx + 1, p->name,
                 (const char *)msg, (size_t)off);
        return -1;
    }
    /* Without JIT (unsupported CPU, no executable memory) the interpreter
     * matches the same lines, more slowly. */
    if (pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE) == 0) {
        size_t jit_size = 0;

        p->jit = pcre2_pattern_info(p->re, PCRE2_INFO_JITSIZE, &jit_size) == 0 &&
                 jit_size > 0;
    }
    p->md = pcre2_match_data_create_from_pattern(p->re, NULL);
    if (!p->md)
        goto oom;
    log_pattern_literal(p, re);
    p->by_group = p->field_group = -1;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* The group number called `name` in each pattern; -1 with a message in
 * err when no pattern has it. */
static int log_group_setup(struct log *l, const char *option, const char *name,
                           int by, char *err, size_t errlen)
{
    size_t i;
    int found = 0;

    for (i = 0; i < l->npat; i++) {
        int n = pcre2_substring_number_from_name(l->pat[i].re, (PCRE2_SPTR)name);

        if (n < 0)
            n = -1;
        else
            found = 1;
        if (by)
            l->pat[i].by_group = n;
        else
            l->pat[i].field_group = n;
    }
    if (!found) {
        snprintf(err, errlen, "option '%s': no pattern has a group named '%s' "
                 "(write it as (?<%s>...))", option, name, name);
        return -1;
    }
    return 0;
}

static void log_take_block(void *ctx, const char *buf, size_t len);

/* Validate the options into a struct log owned by the instance. */
static int log_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct log *l;
    unsigned i, n = cfg_size(options, "pattern");
    const char *s;
    int oom = 0, sources;
    long top;

    l = calloc(1, sizeof(*l));
    if (!l)
        goto oom;
    l->tail.fd = -1;
    l->ratio_num = l->ratio_den = -1;
    l->file = tocsin_option_strdup(options, "file", &oom);
    l->journal_unit = tocsin_option_strdup(options, "journal_unit", &oom);
    l->journal_identifier = tocsin_option_strdup(options, "journal_identifier", &oom);
    l->journal_directory = tocsin_option_strdup(options, "journal_directory", &oom);
    l->by = tocsin_option_strdup(options, "by", &oom);
    l->field = tocsin_option_strdup(options, "field", &oom);
    l->field_unit = tocsin_option_strdup(options, "field_unit", &oom);
    if (oom)
        goto oom;

    sources = (l->journal_unit || l->journal_identifier || l->journal_directory);
    if (l->file && sources) {
        snprintf(err, errlen, "options 'file' and 'journal_*' are both given: "
                 "read either a file or the journal");
        goto fail;
    }
    if (!l->file && !sources) {
        snprintf(err, errlen, "option 'file' is empty: give the log file to "
                 "read, or journal_unit / journal_identifier for the journal");
        goto fail;
    }
#ifndef HAVE_SD_JOURNAL
    if (sources) {
        snprintf(err, errlen, "this log plugin was built without libsystemd: "
                 "it cannot read the journal (journal_* options)");
        goto fail;
    }
#endif
    if (l->file && tocsin_tailer_init(&l->tail, l->file) < 0)
        goto oom;
    l->tail.block = log_take_block;
    l->slot = -1;

    if (n == 0) {
        snprintf(err, errlen, "option 'pattern' is empty: give at least one "
                 "regular expression (\"NAME=REGEX\" or \"REGEX\")");
        goto fail;
    }
    if (n > LOG_PATTERNS_MAX) {
        snprintf(err, errlen, "option 'pattern' has %u entries; at most %d",
                 n, LOG_PATTERNS_MAX);
        goto fail;
    }
    l->pat = calloc(n, sizeof(*l->pat));
    if (!l->pat)
        goto oom;
    for (i = 0; i < n; i++) {
        s = cfg_getnstr(options, "pattern", i);
        if (log_pattern_setup(l, i, n, s ? s : "", err, errlen) < 0)
            goto fail;
    }

    s = tocsin_option_str(options, "count");
    if (s) {
        int k = log_pattern_find(l, s, strlen(s));

        if (k < 0) {
            snprintf(err, errlen, "option 'count': no pattern is named '%s'", s);
            goto fail;
        }
        l->count_pat = (size_t)k;
    }
    s = tocsin_option_str(options, "ratio");
    if (s) {
        const char *slash = strchr(s, '/');

        if (!slash || strchr(slash + 1, '/')) {
            snprintf(err, errlen, "option 'ratio' is '%s': write it as "
                     "\"PATTERN/PATTERN\" (e.g. \"errors/requests\")", s);
            goto fail;
        }
        l->ratio_num = log_pattern_find(l, s, (size_t)(slash - s));
        l->ratio_den = log_pattern_find(l, slash + 1, strlen(slash + 1));
        if (l->ratio_num < 0 || l->ratio_den < 0) {
            snprintf(err, errlen, "option 'ratio': no pattern is named '%.*s'",
                     l->ratio_num < 0 ? (int)(slash - s) : (int)strlen(slash + 1),
                     l->ratio_num < 0 ? s : slash + 1);
            goto fail;
        }
        if (l->ratio_num == l->ratio_den) {
            snprintf(err, errlen, "option 'ratio': '%s' divides a pattern by itself", s);
            goto fail;
        }
    }
    l->min_volume = cfg_getfloat(options, "min_volume");
    if (!(l->min_volume >= 0) || l->min_volume > 1e15) {
        snprintf(err, errlen, "option 'min_volume' must be 0 or more");
        goto fail;
    }
    if (l->by && log_group_setup(l, "by", l->by, 1, err, errlen) < 0)
        goto fail;
    if (l->field && log_group_setup(l, "field", l->field, 0, err, errlen) < 0)
        goto fail;
    if (l->field_unit && strcmp(l->field_unit, "s") && strcmp(l->field_unit, "ms") &&
        strcmp(l->field_unit, "us") && strcmp(l->field_unit, "B")) {
        snprintf(err, errlen, "option 'field_unit' is '%s': one of s, ms, us, B "
                 "or empty", l->field_unit);
        goto fail;
    }
    top = cfg_getint(options, "top");
    if (top < 1 || top > LOG_TOP_MAX) {
        snprintf(err, errlen, "option 'top' is %ld; it must be 1 to %d", top,
                 LOG_TOP_MAX);
        goto fail;
    }
    l->top = (unsigned)top;
    l->window_ms = cfg_getint(options, "window");
    if (l->window_ms < 1000) {
        snprintf(err, errlen, "option 'window' must be 1s or longer (e.g. 1h)");
        goto fail;
    }
    l->line_time = cfg_getbool(options, "line_time") == cfg_true;
    l->max_read = cfg_getint(options, "max_read");
    if (l->max_read < LOG_MIN_MAX_READ) {
        snprintf(err, errlen, "option 'max_read' is %lld bytes; it must be at "
                 "least %ld", (long long)l->max_read, LOG_MIN_MAX_READ);
        goto fail;
    }
    if (tocsin_option_thresholds(options, "warning", "critical", &l->count_th,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "ratio_warning", "ratio_critical",
                                 &l->ratio_th, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "by_warning", "by_critical",
                                 &l->by_th, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "mean_warning", "mean_critical",
                                 &l->mean_th, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "p95_warning", "p95_critical",
                                 &l->p95_th, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "p99_warning", "p99_critical",
                                 &l->p99_th, err, errlen) < 0)
        goto fail;
    if (l->ratio_num < 0 && (l->ratio_th.warning.set || l->ratio_th.critical.set)) {
        snprintf(err, errlen, "options 'ratio_warning'/'ratio_critical' need "
                 "option 'ratio'");
        goto fail;
    }
    if (!l->by && (l->by_th.warning.set || l->by_th.critical.set)) {
        snprintf(err, errlen, "options 'by_warning'/'by_critical' need option 'by'");
        goto fail;
    }
    if (!l->field && (l->mean_th.warning.set || l->mean_th.critical.set ||
                      l->p95_th.warning.set || l->p95_th.critical.set ||
                      l->p99_th.warning.set || l->p99_th.critical.set)) {
        snprintf(err, errlen, "options 'mean_*', 'p95_*' and 'p99_*' need "
                 "option 'field'");
        goto fail;
    }

    tocsin_window_init(&l->win, l->window_ms);
    l->bracket_ms = -1;
    if (l->field && !(l->hist = calloc(TOCSIN_WINDOW_SLOTS, sizeof(*l->hist))))
        goto oom;
    if (l->by) {
        l->hash = malloc(LOG_HASH_SIZE * sizeof(*l->hash));
        if (!l->hash)
            goto oom;
        for (i = 0; i < LOG_HASH_SIZE; i++)
            l->hash[i] = -1;
    }
    l->mctx = pcre2_match_context_create(NULL);
    l->jit_stack = pcre2_jit_stack_create(32 * 1024, LOG_JIT_STACK_MAX, NULL);
    if (!l->mctx || !l->jit_stack)
        goto oom;
    pcre2_set_match_limit(l->mctx, LOG_MATCH_LIMIT);
    pcre2_jit_stack_assign(l->mctx, NULL, l->jit_stack);
    *instance = l;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    log_teardown(l);
    return -1;
}

/* ------------------------------------------------------------------ */
/* The time of a line                                                  */
/* ------------------------------------------------------------------ */

/* Value of `len` decimal digits at `s`, or -1 if any is not a digit. */
static int log_digits(const char *s, size_t len)
{
    int v = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t log_days(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Month number 1..12 of an English three-letter abbreviation, or 0. */
static int log_month(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int i;

    for (i = 0; i < 12; i++)
        if (memcmp(s, names + 3 * i, 3) == 0)
            return i + 1;
    return 0;
}

/* The epoch in ms of local time y-mo-d h:00, cached per hour. -1 when
 * mktime cannot say. */
static int64_t log_local_hour(struct log *l, int y, int mo, int d, int h)
{
    int64_t key = (((int64_t)y * 100 + mo) * 100 + d) * 100 + h;
    struct tm tm;
    time_t t;

    if (key == l->hour_key)
        return l->hour_ms;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_isdst = -1;
    t = mktime(&tm);
    if (t == (time_t)-1)
        return -1;
    l->hour_key = key;
    l->hour_ms = (int64_t)t * 1000;
    return l->hour_ms;
}

/* "HH:MM:SS" at s: the hour in *h, and the seconds past it, or -1. */
static int log_hms(const char *s, int *h)
{
    int mi, se;

    if (s[2] != ':' || s[5] != ':')
        return -1;
    *h = log_digits(s, 2);
    mi = log_digits(s + 3, 2);
    se = log_digits(s + 6, 2);
    if (*h < 0 || *h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
        return -1;
    return mi * 60 + se;
}

/*
 * The time of a line, in ms since the epoch: an ISO 8601 time at its
 * start ("2026-12-07T21:01:07.123+01:00", "2026-12-07 21:01:07,123", local
 * time without a zone), a syslog time at its start ("Dec  7 21:01:07",
 * local time, this year), or an nginx/Apache time in brackets in its
 * first 256 bytes ("[07/Dec/2026:21:01:07 +0000]"). Returns 1 and sets
 * *ms, or 0 when the line has none of them.
 */
static int log_line_time(struct log *l, const char *s, size_t len, int64_t now,
                         int64_t *ms)
{
    int y, mo, d, h, sec, milli = 0;
    int64_t base;
    size_t i;

    if (len >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ')) {
        size_t p = 19;
        int zone = 0, has_zone = 0;

        y = log_digits(s, 4);
        mo = log_digits(s + 5, 2);
        d = log_digits(s + 8, 2);
        sec = log_hms(s + 11, &h);
        if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || sec < 0)
            return 0;
        if (p < len && (s[p] == '.' || s[p] == ',')) {
            int digits = 0;

            for (p++; p < len && s[p] >= '0' && s[p] <= '9'; p++, digits++)
                if (digits < 3)
                    milli = milli * 10 + (s[p] - '0');
            for (; digits < 3; digits++)
                milli *= 10;
        }
        if (p < len && s[p] == 'Z') {
            has_zone = 1;
        } else if (p + 5 <= len && (s[p] == '+' || s[p] == '-')) {
            int zh = log_digits(s + p + 1, 2), zm;

            zm = s[p + 3] == ':' ? (p + 6 <= len ? log_digits(s + p + 4, 2) : -1)
                                 : log_digits(s + p + 3, 2);
            if (zh >= 0 && zh < 24 && zm >= 0 && zm < 60) {
                has_zone = 1;
                zone = (s[p] == '-' ? -1 : 1) * (zh * 3600 + zm * 60);
            }
        }
        if (has_zone)
            base = (log_days(y, mo, d) * 86400 + h * 3600 - zone) * 1000;
        else if ((base = log_local_hour(l, y, mo, d, h)) < 0)
            return 0;
        *ms = base + (int64_t)sec * 1000 + milli;
        return 1;
    }
    if (len >= 15 && s[3] == ' ' && (mo = log_month(s)) != 0 &&
        (s[4] == ' ' || (s[4] >= '0' && s[4] <= '9')) && s[6] == ' ') {
        d = s[4] == ' ' ? log_digits(s + 5, 1) : log_digits(s + 4, 2);
        sec = log_hms(s + 7, &h);
        if (d < 1 || d > 31 || sec < 0)
            return 0;
        if (l->year_now != now || now == 0) {
            struct tm tm;
            time_t t = (time_t)(now / 1000);

            if (!localtime_r(&t, &tm))
                return 0;
            l->year_now = now;
            l->year_local = tm.tm_year + 1900;
        }
        y = l->year_local;
        base = log_local_hour(l, y, mo, d, h);
        if (base >= 0 && base > now + 86400000)   /* December's line in January */
            base = log_local_hour(l, y - 1, mo, d, h);
        if (base < 0)
            return 0;
        *ms = base + (int64_t)sec * 1000;
        return 1;
    }
    for (i = 0; i < len && i < 256; i++) {
        const char *b, *open = memchr(s + i, '[', (len < 256 ? len : 256) - i);
        int zh, zm;

        if (!open)
            break;
        i = (size_t)(open - s);
        b = open + 1;
        if (len - i < 28 || b[2] != '/' || b[6] != '/' ||
            b[11] != ':' || b[20] != ' ' || (b[21] != '+' && b[21] != '-'))
            continue;
        if (l->bracket_ms >= 0 && memcmp(b, l->bracket_key, LOG_BRACKET_LEN) == 0) {
            *ms = l->bracket_ms;
            return 1;
        }
        d = log_digits(b, 2);
        mo = log_month(b + 3);
        y = log_digits(b + 7, 4);
        sec = log_hms(b + 12, &h);
        zh = log_digits(b + 22, 2);
        zm = log_digits(b + 24, 2);
        if (d < 1 || d > 31 || !mo || y < 1970 || sec < 0 || zh < 0 || zm < 0)
            continue;
        *ms = (log_days(y, mo, d) * 86400 + h * 3600 + sec -
               (b[21] == '-' ? -1 : 1) * (zh * 3600 + zm * 60)) * 1000;
        if (*ms >= 0) {
            memcpy(l->bracket_key, b, LOG_BRACKET_LEN);
            l->bracket_ms = *ms;
        }
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Counting lines                                                      */
/* ------------------------------------------------------------------ */

/* Zero what slot `slot` holds: the window's clear callback. */
static void log_clear_slot(void *ctx, unsigned slot)
{
    struct log *l = ctx;
    size_t i;

    for (i = 0; i < l->npat; i++)
        l->pat[i].count[slot] = 0;
    for (i = 0; i < l->nval; i++)
        l->val[i].count[slot] = 0;
    l->other[slot] = 0;
    if (l->hist)
        tocsin_vhist_clear(&l->hist[slot]);
}

/* Copy `len` bytes at `s` into `out` (room for max + 1), control and
 * non-ASCII bytes as '?', so that it is safe in output and labels. */
static void log_printable(char *out, size_t max, const char *s, size_t len)
{
    size_t i, n = len < max ? len : max;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        out[i] = c >= 0x20 && c < 0x7f && c != '\'' && c != '=' ? (char)c : '?';
    }
    out[n] = '\0';
}

/* Rebuild the hash of values. */
static void log_rehash(struct log *l)
{
    size_t i;

    for (i = 0; i < LOG_HASH_SIZE; i++)
        l->hash[i] = -1;
    for (i = 0; i < l->nval; i++) {
        size_t h = (size_t)tocsin_fnv1a(TOCSIN_FNV1A_INIT, l->val[i].name) &
                   (LOG_HASH_SIZE - 1);

        while (l->hash[h] >= 0)
            h = (h + 1) & (LOG_HASH_SIZE - 1);
        l->hash[h] = (int32_t)i;
    }
}

/* Count one line for the value `s` (len bytes) of `by` in `slot`. */
static void log_count_value(struct log *l, const char *s, size_t len,
                            unsigned slot, struct log_read *rd)
{
    char name[LOG_VALUE_MAX + 1];
    struct log_value *v;
    size_t h;

    log_printable(name, LOG_VALUE_MAX, s, len);
    h = (size_t)tocsin_fnv1a(TOCSIN_FNV1A_INIT, name) & (LOG_HASH_SIZE - 1);
    while (l->hash[h] >= 0) {
        v = &l->val[l->hash[h]];
        if (strcmp(v->name, name) == 0) {
            v->count[slot]++;
            return;
        }
        h = (h + 1) & (LOG_HASH_SIZE - 1);
    }
    if (l->nval == LOG_VALUES_MAX) {
        l->other[slot]++;
        return;
    }
    if (l->nval == l->val_alloc) {
        size_t want = l->val_alloc ? l->val_alloc * 2 : 64;

        if (want > LOG_VALUES_MAX)
            want = LOG_VALUES_MAX;
        v = realloc(l->val, want * sizeof(*v));
        if (!v) {
            rd->oom = 1;
            return;
        }
        l->val = v;
        l->val_alloc = want;
    }
    v = &l->val[l->nval];
    memset(v, 0, sizeof(*v));
    if (!(v->name = strdup(name))) {
        rd->oom = 1;
        return;
    }
    v->count[slot] = 1;
    l->hash[h] = (int32_t)l->nval++;
}

/* Drop the values no longer seen in the window, so that LOG_VALUES_MAX
 * bounds the values of one window, not of all time. O(values). */
static void log_prune_values(struct log *l)
{
    size_t i, kept = 0;

    for (i = 0; i < l->nval; i++) {
        if (tocsin_window_sum(l->val[i].count) == 0) {
            free(l->val[i].name);
            continue;
        }
        l->val[kept++] = l->val[i];
    }
    if (kept != l->nval) {
        l->nval = kept;
        log_rehash(l);
    }
}

/* Parse the number in `len` bytes at `s`. Returns 0 and sets *v, or -1. */
static int log_number(const char *s, size_t len, double *v)
{
    char buf[64], *end;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    *v = strtod(buf, &end);
    if (errno || *end || !isfinite(*v))
        return -1;
    return 0;
}

/* The window's slot for time `at`, as tocsin_window_slot gives it, without
 * its divisions when the line before had the same time. */
static int log_slot(struct log *l, int64_t at)
{
    if (l->slot >= 0 && at == l->slot_at && l->win.now == l->slot_now &&
        l->win.epoch[l->slot] == l->slot_epoch)
        return l->slot;
    l->slot = tocsin_window_slot(&l->win, at, log_clear_slot, l);
    if (l->slot >= 0) {
        l->slot_at = at;
        l->slot_now = l->win.now;
        l->slot_epoch = l->win.epoch[l->slot];
    }
    return l->slot;
}

/*
 * The first place where the `k` bytes of `lit` (k >= 2) occur in the `n`
 * bytes at `s`, or NULL. With SSE2, 16 places at a time are tested for
 * the literal's first and last bytes together and only those that have
 * both are compared (glibc's memmem compares byte by byte). O(n).
 */
static const char *log_find(const char *s, size_t n, const char *lit, size_t k)
{
    size_t i = 0;

#ifdef __SSE2__
    const __m128i first = _mm_set1_epi8(lit[0]), last = _mm_set1_epi8(lit[k - 1]);

    for (; i + k - 1 + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + k - 1));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));

        while (mask) {
            unsigned bit = (unsigned)__builtin_ctz(mask);

            if (memcmp(s + i + bit + 1, lit + 1, k - 2) == 0)
                return s + i + bit;
            mask &= mask - 1;
        }
    }
#endif
    return i < n ? memmem(s + i, n - i, lit, k) : NULL;
}

/*
 * 1 if the line (len bytes) holds the literal of pattern `p`. Inside the
 * tailer's buffer, the buffer is searched once per occurrence rather than
 * each line on its own: the first occurrence at or past a line stands for
 * every line up to it.
 */
static int log_has_literal(struct log *l, struct log_pattern *p,
                           const char *line, size_t len)
{
    uintptr_t at = (uintptr_t)line;

    if (!l->block || at < (uintptr_t)l->block ||
        at + len > (uintptr_t)l->block_end)
        return log_find(line, len, p->literal, p->literal_len) != NULL;
    if (!p->from || (uintptr_t)p->from > at || (p->hit && (uintptr_t)p->hit < at)) {
        p->from = line;
        p->hit = log_find(line, (size_t)(l->block_end - line), p->literal,
                          p->literal_len);
    }
    return p->hit && (uintptr_t)p->hit + p->literal_len <= at + len;
}

/*
 * Take one line: find its time, then match every pattern; a pattern that
 * matches counts the line in the slot of its time, and the first pattern
 * that matches with `by` (`field`) set gives the value counted (the
 * number added). A line older than the window is not matched at all.
 * Costs one match per pattern.
 */
static void log_line(struct log *l, const char *line, size_t len, int64_t at,
                     struct log_read *rd)
{
    int slot = -1, by_done = !l->by, field_done = !l->field;
    size_t i;

    while (len > 0 && line[len - 1] == '\r')
        len--;
    rd->lines++;
    slot = log_slot(l, at);
    if (slot < 0) {
        rd->old++;
        return;
    }
    for (i = 0; i < l->npat; i++) {
        struct log_pattern *p = &l->pat[i];
        PCRE2_SIZE *ov;
        int rc;

        if (p->literal_len && !log_has_literal(l, p, line, len))
            continue;
        rc = p->jit ? pcre2_jit_match(p->re, (PCRE2_SPTR)line, len, 0, 0,
                                          p->md, l->mctx)
                        : pcre2_match(p->re, (PCRE2_SPTR)line, len, 0, 0, p->md,
                                      l->mctx);

        if (rc == PCRE2_ERROR_NOMATCH)
            continue;
        if (rc < 0) {
            rd->match_errors++;
            continue;
        }
        p->count[slot]++;
        if (at >= p->last_at) {
            /* Copied as read: made printable when reported. */
            p->last_len = len < LOG_QUOTE_MAX ? len : LOG_QUOTE_MAX;
            memcpy(p->last, line, p->last_len);
            p->last_at = at;
        }
        ov = pcre2_get_ovector_pointer(p->md);
        if (!by_done && p->by_group >= 0 && p->by_group < rc &&
            ov[2 * p->by_group] != PCRE2_UNSET) {
            log_count_value(l, line + ov[2 * p->by_group],
                            ov[2 * p->by_group + 1] - ov[2 * p->by_group],
                            (unsigned)slot, rd);
            by_done = 1;
        }
        if (!field_done && p->field_group >= 0 && p->field_group < rc &&
            ov[2 * p->field_group] != PCRE2_UNSET) {
            double v;

            if (log_number(line + ov[2 * p->field_group],
                           ov[2 * p->field_group + 1] - ov[2 * p->field_group],
                           &v) == 0)
                tocsin_vhist_add(&l->hist[slot], v);
            else
                rd->bad_field++;
            field_done = 1;
        }
    }
}

/* The tailer's block callback: the literals found so far were in the
 * bytes it replaced. */
static void log_take_block(void *ctx, const char *buf, size_t len)
{
    struct log *l = ((struct log_pass *)ctx)->l;
    size_t i;

    l->block = buf;
    l->block_end = buf + len;
    for (i = 0; i < l->npat; i++)
        l->pat[i].from = NULL;
}

/* The tailer's line callback. */
static void log_take_line(void *ctx, const char *line, size_t len, int cut)
{
    struct log_pass *pass = ctx;
    struct log *l = pass->l;
    int64_t at = pass->rd->now;

    if (cut)
        pass->rd->cut++;
    if (l->line_time && !log_line_time(l, line, len, pass->rd->now, &at))
        at = pass->rd->now;
    log_line(l, line, len, at, pass->rd);
}

#ifdef HAVE_SD_JOURNAL
/*
 * Read the journal entries written since the last check (on the first,
 * those of the window), at most max_read bytes of messages; the rest waits
 * for the next check. Returns 0, or -1 with the reason in err.
 */
static int log_read_journal(struct log *l, struct tocsin_check *chk,
                            struct log_read *rd, char *err, size_t errlen)
{
    sd_journal *j = NULL;
    char match[512];
    int r, ret = -1, skip_first = 0;
    uint64_t budget = (uint64_t)l->max_read;

    if (l->journal_directory)
        r = sd_journal_open_directory(&j, l->journal_directory, 0);
    else
        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
    if (r < 0) {
        snprintf(err, errlen, "cannot open the journal%s%s: %s",
                 l->journal_directory ? " in " : "",
                 l->journal_directory ? l->journal_directory : "", strerror(-r));
        return -1;
    }
    if (l->journal_directory) {
        uint64_t bytes = 0;

        /* sd-journal skips the files it cannot open and opens an empty
         * or mistyped directory without complaint: say so rather than
         * count nothing. */
        r = sd_journal_get_usage(j, &bytes);
        if (r < 0 || bytes == 0) {
            snprintf(err, errlen, "no journal file could be read in %s (none "
                     "there, or none readable by this user)", l->journal_directory);
            goto out;
        }
    }
    if (l->journal_unit) {
        snprintf(match, sizeof(match), "_SYSTEMD_UNIT=%s%s", l->journal_unit,
                 strchr(l->journal_unit, '.') ? "" : ".service");
        if ((r = sd_journal_add_match(j, match, 0)) < 0)
            goto bad;
    }
    if (l->journal_identifier) {
        snprintf(match, sizeof(match), "SYSLOG_IDENTIFIER=%s", l->journal_identifier);
        if ((r = sd_journal_add_match(j, match, 0)) < 0)
            goto bad;
    }
    if (l->cursor && sd_journal_seek_cursor(j, l->cursor) >= 0) {
        skip_first = 1;
    } else if ((r = sd_journal_seek_realtime_usec(j,
                    (uint64_t)(rd->now - l->window_ms) * 1000)) < 0) {
        goto bad;
    }
    for (;;) {
        const void *data;
        size_t len;
        uint64_t usec;

        r = sd_journal_next(j);
        if (r < 0)
            goto bad;
        if (r == 0)
            break;
        if (skip_first) {
            skip_first = 0;
            if (sd_journal_test_cursor(j, l->cursor) > 0)
                continue;
        }
        if ((rd->entries & 255) == 0 && tocsin_check_remaining(chk) <= 0) {
            rd->late = 1;
            sd_journal_previous(j);
            break;
        }
        if (budget == 0) {
            sd_journal_previous(j);
            break;
        }
        rd->entries++;
        if (sd_journal_get_realtime_usec(j, &usec) < 0)
            usec = (uint64_t)rd->now * 1000;
        if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < 8)
            continue;
        data = (const char *)data + 8;     /* "MESSAGE=" */
        len -= 8;
        if (len > TOCSIN_TAIL_LINE_MAX) {
            len = TOCSIN_TAIL_LINE_MAX;
            rd->cut++;
        }
        rd->bytes += len;
        budget = budget > len ? budget - len : 0;
        log_line(l, data, len, (int64_t)(usec / 1000), rd);
    }
    {
        char *c = NULL;

        if (sd_journal_get_cursor(j, &c) >= 0) {
            free(l->cursor);
            l->cursor = c;
        }
    }
    ret = 0;
    goto out;
bad:
    snprintf(err, errlen, "cannot read the journal: %s", strerror(-r));
out:
    sd_journal_close(j);
    return ret;
}
#endif

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

/* A duration in ms as "1h", "1h30m", "45s". */
static const char *log_duration(int64_t ms, char *buf, size_t len)
{
    static const struct { const char *unit; int64_t ms; } units[] = {
        { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
        { "ms", 1 },
    };
    size_t used = 0, i;

    buf[0] = '\0';
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        int64_t n = ms / units[i].ms;

        if (n == 0)
            continue;
        ms -= n * units[i].ms;
        tocsin_append(buf, len, &used, "%lld%s", (long long)n, units[i].unit);
    }
    return buf;
}

static const char *log_plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static const char *log_severity(enum tocsin_state s)
{
    return s == TOCSIN_CRITICAL ? " (critical)" : s == TOCSIN_WARNING ? " (warning)" : "";
}

/* Most lines first, then by name. */
static int log_by_count(const void *a, const void *b)
{
    const struct log_value *const *x = a, *const *y = b;

    if ((*x)->total != (*y)->total)
        return (*x)->total < (*y)->total ? 1 : -1;
    return strcmp((*x)->name, (*y)->name);
}

/* Set the result from the window: counts per pattern, the ratio, the
 * values of `by`, the figures of `field`; perfdata and long output. */
static void log_report(struct log *l, struct tocsin_check *chk,
                       const struct log_read *rd,
                       const struct tocsin_tail_read *tr)
{
    enum tocsin_state worst = TOCSIN_OK, st;
    char first[2048], win[64], label[160];
    size_t used = 0, i;
    uint64_t count[LOG_PATTERNS_MAX];
    const char *unit = l->field_unit ? l->field_unit : "";

    log_duration(l->window_ms, win, sizeof(win));
    first[0] = '\0';
    for (i = 0; i < l->npat; i++) {
        count[i] = tocsin_window_sum(l->pat[i].count);
        st = i == l->count_pat ? tocsin_thresholds_eval(&l->count_th, (double)count[i])
                               : TOCSIN_OK;
        worst = tocsin_state_worst(worst, st);
        tocsin_check_perf(chk, l->pat[i].name, (double)count[i], "",
                          i == l->count_pat ? &l->count_th : NULL, 0, 0,
                          TOCSIN_PERF_MIN);
        tocsin_append(first, sizeof(first), &used, "%s%s %llu%s", i ? ", " : "",
                      l->pat[i].name, (unsigned long long)count[i],
                      log_severity(st));
    }
    tocsin_append(first, sizeof(first), &used, " in the last %s", win);

    if (l->ratio_num >= 0) {
        uint64_t num = count[l->ratio_num], den = count[l->ratio_den];
        const char *nn = l->pat[l->ratio_num].name, *dn = l->pat[l->ratio_den].name;

        snprintf(label, sizeof(label), "%s/%s", nn, dn);
        if (den == 0 || (double)den < l->min_volume) {
            tocsin_append(first, sizeof(first), &used, "; %s not judged (%llu "
                          "%s, fewer than min_volume %g)", label,
                          (unsigned long long)den, dn, l->min_volume);
            tocsin_check_long(chk, "%s: %llu of %llu lines: not judged below "
                              "min_volume (%g) or with no %s", label,
                              (unsigned long long)num, (unsigned long long)den,
                              l->min_volume, dn);
        } else {
            double pct = 100.0 * (double)num / (double)den;

            st = tocsin_thresholds_eval(&l->ratio_th, pct);
            worst = tocsin_state_worst(worst, st);
            tocsin_check_perf(chk, label, pct, "%", &l->ratio_th, 0, 100,
                              TOCSIN_PERF_MIN | TOCSIN_PERF_MAX);
            tocsin_append(first, sizeof(first), &used, "; %s %.2f%%%s", label,
                          pct, log_severity(st));
            tocsin_check_long(chk, "%s: %s: %llu of %llu lines, %.2f%%",
                              tocsin_state_name(st), label,
                              (unsigned long long)num, (unsigned long long)den, pct);
        }
    }

    if (l->by) {
        struct log_value **order = NULL;
        uint64_t other = tocsin_window_sum(l->other), max = 0;
        char list[2048];
        size_t lused = 0, shown;

        log_prune_values(l);
        if (l->nval && !(order = calloc(l->nval, sizeof(*order)))) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "LOG UNKNOWN - out of memory");
            return;
        }
        for (i = 0; i < l->nval; i++) {
            l->val[i].total = tocsin_window_sum(l->val[i].count);
            order[i] = &l->val[i];
        }
        if (l->nval > 1)
            qsort(order, l->nval, sizeof(*order), log_by_count);
        if (l->nval)
            max = order[0]->total;
        st = tocsin_thresholds_eval(&l->by_th, (double)max);
        worst = tocsin_state_worst(worst, st);
        snprintf(label, sizeof(label), "%s max", l->by);
        tocsin_check_perf(chk, label, (double)max, "", &l->by_th, 0, 0, TOCSIN_PERF_MIN);
        snprintf(label, sizeof(label), "%s values", l->by);
        tocsin_check_perf(chk, label, (double)l->nval, "", NULL, 0, 0, TOCSIN_PERF_MIN);
        if (l->nval)
            tocsin_append(first, sizeof(first), &used, "; top %s %s (%llu)%s",
                          l->by, order[0]->name, (unsigned long long)max,
                          log_severity(st));
        list[0] = '\0';
        shown = l->nval < l->top ? l->nval : l->top;
        for (i = 0; i < shown; i++) {
            enum tocsin_state vs = tocsin_thresholds_eval(&l->by_th,
                                                          (double)order[i]->total);

            tocsin_append(list, sizeof(list), &lused, "%s%s %llu%s", i ? ", " : "",
                          order[i]->name, (unsigned long long)order[i]->total,
                          log_severity(vs));
        }
        if (shown)
            tocsin_check_long(chk, "%s: top %zu %s of %zu: %s", tocsin_state_name(st),
                              shown, l->by, l->nval, list);
        else
            tocsin_check_long(chk, "OK: no %s seen in the last %s", l->by, win);
        if (other)
            tocsin_check_long(chk, "%llu lines with more than %d distinct "
                              "values of %s were counted together, not per value",
                              (unsigned long long)other, LOG_VALUES_MAX, l->by);
        free(order);
    }

    if (l->field) {
        struct tocsin_vhist *all = malloc(sizeof(*all));

        if (!all) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "LOG UNKNOWN - out of memory");
            return;
        }
        tocsin_vhist_clear(all);
        for (i = 0; i < TOCSIN_WINDOW_SLOTS; i++)
            tocsin_vhist_merge(all, &l->hist[i]);
        if (all->n == 0) {
            tocsin_append(first, sizeof(first), &used, "; no %s in the last %s",
                          l->field, win);
        } else {
            static const struct { const char *name; double q; } fig[] = {
                { "mean", 0 }, { "p95", 0.95 }, { "p99", 0.99 },
            };
            const struct tocsin_thresholds *th[] = {
                &l->mean_th, &l->p95_th, &l->p99_th
            };
            size_t k;

            tocsin_append(first, sizeof(first), &used, "; %s", l->field);
            for (k = 0; k < 3; k++) {
                double v = k == 0 ? all->sum / (double)all->n
                                  : tocsin_vhist_quantile(all, fig[k].q);

                st = tocsin_thresholds_eval(th[k], v);
                worst = tocsin_state_worst(worst, st);
                snprintf(label, sizeof(label), "%s %s", l->field, fig[k].name);
                tocsin_check_perf(chk, label, v, unit, th[k], 0, 0, 0);
                tocsin_append(first, sizeof(first), &used, " %s %.6g%s%s%s",
                              fig[k].name, v, *unit ? " " : "", unit,
                              log_severity(st));
            }
            tocsin_check_long(chk, "%s: %llu values, min %.6g, max %.6g",
                              l->field, (unsigned long long)all->n, all->min, all->max);
        }
        free(all);
    }

    tocsin_check_set(chk, worst, "LOG %s - %s", tocsin_state_name(worst), first);

    for (i = 0; i < l->npat; i++)
        if (l->pat[i].last_at && l->pat[i].last_at > rd->now - l->window_ms &&
            count[i] > 0) {
            char quote[LOG_QUOTE_MAX + 1];

            log_printable(quote, LOG_QUOTE_MAX, l->pat[i].last, l->pat[i].last_len);
            tocsin_check_long(chk, "last %s line: %s", l->pat[i].name, quote);
        }
    if (tr)
        tocsin_tailer_report(&l->tail, (off_t)l->max_read, tr, chk);
    if (l->file)
        tocsin_check_long(chk, "read %llu bytes, %llu %s from %s",
                          (unsigned long long)rd->bytes,
                          (unsigned long long)rd->lines,
                          log_plural(rd->lines, "line", "lines"), l->file);
    else
        tocsin_check_long(chk, "read %llu journal entries",
                          (unsigned long long)rd->entries);
    if (rd->old)
        tocsin_check_long(chk, "%llu %s older than the window %s not "
                          "counted", (unsigned long long)rd->old,
                          log_plural(rd->old, "line", "lines"),
                          log_plural(rd->old, "was", "were"));
    if (rd->cut)
        tocsin_check_long(chk, "%llu %s longer than %d bytes: matched on "
                          "%s start only", (unsigned long long)rd->cut,
                          log_plural(rd->cut, "line", "lines"),
                          TOCSIN_TAIL_LINE_MAX, log_plural(rd->cut, "its", "their"));
    if (rd->match_errors)
        tocsin_check_long(chk, "%llu matches failed (the pattern backtracked "
                          "past its limit): those lines were not counted",
                          (unsigned long long)rd->match_errors);
    if (rd->bad_field)
        tocsin_check_long(chk, "%llu values of %s were not numbers and were "
                          "left out", (unsigned long long)rd->bad_field, l->field);
}

/* Milliseconds since the epoch, wall clock: log lines carry wall time. */
static int64_t log_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One check: move the window to now, read what was appended to the file
 * (following a rotation) or written to the journal since the last check,
 * and report. Reads at most max_read bytes; memory is that of the window
 * (slots, values of `by`, histograms of `field`), whatever was read.
 */
static void log_check(void *instance, struct tocsin_check *chk)
{
    struct log *l = instance;
    struct log_read rd;
    struct tocsin_tail_read tr;
    struct log_pass pass;
    char err[1024];
    int late, ret;

    memset(&rd, 0, sizeof(rd));
    memset(&tr, 0, sizeof(tr));
    rd.now = log_now_ms();
    tocsin_window_advance(&l->win, rd.now, log_clear_slot, l);
    if (l->file) {
        pass.l = l;
        pass.rd = &rd;
        ret = tocsin_tailer_read(&l->tail, (off_t)l->max_read, chk, log_take_line,
                                 &pass, &tr, err, sizeof(err));
        l->block = l->block_end = NULL;     /* the tailer freed its buffer */
        if (ret < 0) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "LOG UNKNOWN - %s", err);
            return;
        }
        rd.bytes = tr.bytes;
        late = tr.late;
    } else {
#ifdef HAVE_SD_JOURNAL
        if (log_read_journal(l, chk, &rd, err, sizeof(err)) < 0) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "LOG UNKNOWN - %s", err);
            return;
        }
#endif
        late = rd.late;
    }
    if (rd.oom) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "LOG UNKNOWN - out of memory "
                         "while reading");
        return;
    }
    log_report(l, chk, &rd, l->file ? &tr : NULL);
    if (late)
        tocsin_check_timed_out(chk);
}

/* Descriptions for --help; docs/check-log.md tells more. */
static const struct tocsin_option_help log_help[] = {
    { "file", "FILE",
      "the log file to read (rotation by rename and copytruncate is followed)" },
    { "journal_unit", "UNIT",
      "read the journal instead: entries of this unit (ssh means ssh.service)" },
    { "journal_identifier", "IDENTIFIER",
      "read the journal: entries with this SYSLOG_IDENTIFIER (sshd)" },
    { "journal_directory", "DIR",
      "read the journal files in this directory instead of the system's" },
    { "pattern", "NAME=REGEX",
      "a PCRE2 pattern counted per window; repeat for more (at most 16)" },
    { "count", "NAME",
      "the pattern whose count warning and critical hold; unset: the first" },
    { "window", NULL,
      "the sliding window lines are counted in" },
    { "warning", NULL,
      "lines matched by count per window: WARNING outside the range" },
    { "critical", NULL,
      "lines matched by count per window: CRITICAL outside the range" },
    { "ratio", "NUM/DEN",
      "two pattern names: 100 x matches of the first / matches of the second" },
    { "ratio_warning", NULL,
      "the ratio, in %: WARNING outside the range" },
    { "ratio_critical", NULL,
      "the ratio, in %: CRITICAL outside the range" },
    { "min_volume", NULL,
      "matches of the ratio's denominator per window below which it is not judged" },
    { "by", "GROUP",
      "a named group: lines are counted per value of it, the busiest named" },
    { "top", NULL,
      "values of by named in long output, 1 to 50" },
    { "by_warning", NULL,
      "lines of the busiest value of by per window: WARNING outside the range" },
    { "by_critical", NULL,
      "lines of the busiest value of by per window: CRITICAL outside the range" },
    { "field", "GROUP",
      "a named group holding a number: its mean, p95 and p99 per window" },
    { "field_unit", "UNIT",
      "unit of field in perfdata: s, ms, us, B or none" },
    { "mean_warning", NULL,
      "on the mean of field per window, for WARNING" },
    { "mean_critical", NULL,
      "on the mean of field per window, for CRITICAL" },
    { "p95_warning", NULL,
      "on the 95th percentile of field per window, for WARNING" },
    { "p95_critical", NULL,
      "on the 95th percentile of field per window, for CRITICAL" },
    { "p99_warning", NULL,
      "on the 99th percentile of field per window, for WARNING" },
    { "p99_critical", NULL,
      "on the 99th percentile of field per window, for CRITICAL" },
    { "line_time", NULL,
      "take a line's time from the line (ISO 8601, syslog, nginx); false: when it was read" },
    { "max_read", NULL,
      "bytes read at most per check; at least 4096" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .flags = TOCSIN_PLUGIN_STATEFUL,
    .name = "log",
    .version = "0.1.0",
    .summary = "lines of a log file or the journal matching patterns, in a sliding window",
    .options = log_options,
    .help = log_help,
    .setup = log_setup,
    .teardown = log_teardown,
    .check = log_check,
);
