/*
 * fail2ban-log.c - bans (and optionally failures found) per jail in a
 * sliding time window, read from the fail2ban log:
 *
 *   check = "fail2ban-log"
 *   log = "/var/log/fail2ban.log"
 *   jails = {"sshd", "nginx-http-auth"}   # empty: every jail seen
 *   window = 1h
 *   warning = "10"                        # bans per jail per window
 *   critical = "50"
 *
 * The plugin is stateful: it keeps the log open between checks with its
 * read offset, and the time of every event still inside the window, so
 * each check reads only what was appended since the last one. A log
 * renamed away by logrotate is read to its end through the descriptor
 * kept open, then the new file from its start; a log truncated in place
 * (copytruncate) is read again from its start. Lines carry their own
 * time (local time), so a worker that starts afresh rebuilds the window
 * from the file, up to `max_read` bytes from its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "tocsin-plugin.h"
#include "common/tailer.h"

#define F2B_DEFAULT_LOG "/var/log/fail2ban.log"
#define F2B_DEFAULT_MAX_READ (64L * 1024 * 1024)
#define F2B_MIN_MAX_READ 4096L

/* Characters of a line not understood quoted in long output. */
#define F2B_QUOTE_MAX 120

/* Jails named on the first line before "and N more". */
#define F2B_NAMED_MAX 8

/* Times of one kind of event in one jail, in ms since the epoch. */
struct f2b_times {
    int64_t *at;
    size_t n, alloc;
};

struct f2b_jail {
    char *name;                /* owned */
    struct f2b_times bans;     /* "Ban" */
    struct f2b_times found;    /* "Found" (kept only with count_found) */
    struct f2b_times restored; /* "Restore Ban": reported, not counted */
};

struct f2b {
    /* Options. */
    char *log;                 /* path of the log, owned */
    char **jails;              /* jails to report; NULL: every jail seen */
    size_t njails;
    int64_t window_ms;
    int count_found;
    struct tocsin_thresholds bans_th;
    struct tocsin_thresholds found_th;
    struct tocsin_thresholds total_th;       /* bans in all jails */
    struct tocsin_thresholds total_found_th; /* found in all jails */
    int64_t max_read;

    /* Kept between checks. */
    struct tocsin_tailer tail; /* the log, its read position */
    struct f2b_jail *jail;     /* jails seen or configured */
    size_t njail, jail_alloc;

    /* Cache for local time: the epoch of the hour last parsed. */
    char hour_key[14];         /* "YYYY-MM-DD HH" */
    int64_t hour_ms;
};

/* What one check read, for long output. */
struct f2b_read {
    uint64_t lines;
    uint64_t not_understood;
    char last_bad[F2B_QUOTE_MAX + 1]; /* the last line not understood */
    int oom;
};

/* What the tailer's line callback is given. */
struct f2b_pass {
    struct f2b *f;
    int64_t cutoff;
    struct f2b_read *rd;
};

static cfg_opt_t f2b_options[] = {
    CFG_STR("log", F2B_DEFAULT_LOG, CFGF_NONE),
    CFG_STR_LIST("jails", "{}", CFGF_NONE),
    TOCSIN_OPT_DURATION("window", 3600000),
    CFG_BOOL("count_found", cfg_false, CFGF_NONE),
    TOCSIN_OPT_RANGE("warning", "10"),
    TOCSIN_OPT_RANGE("critical", "50"),
    TOCSIN_OPT_RANGE("found_warning", ""),
    TOCSIN_OPT_RANGE("found_critical", ""),
    TOCSIN_OPT_RANGE("total_warning", ""),
    TOCSIN_OPT_RANGE("total_critical", ""),
    TOCSIN_OPT_RANGE("total_found_warning", ""),
    TOCSIN_OPT_RANGE("total_found_critical", ""),
    CFG_INT("max_read", F2B_DEFAULT_MAX_READ, CFGF_NONE),
    CFG_END()
};

static void f2b_times_free(struct f2b_times *t)
{
    free(t->at);
    t->at = NULL;
    t->n = t->alloc = 0;
}

static void f2b_teardown(void *instance)
{
    struct f2b *f = instance;
    size_t i;

    if (!f)
        return;
    tocsin_tailer_free(&f->tail);
    free(f->log);
    for (i = 0; i < f->njails; i++)
        free(f->jails[i]);
    free(f->jails);
    for (i = 0; i < f->njail; i++) {
        free(f->jail[i].name);
        f2b_times_free(&f->jail[i].bans);
        f2b_times_free(&f->jail[i].found);
        f2b_times_free(&f->jail[i].restored);
    }
    free(f->jail);
    free(f);
}

/* The jail called `name` (len bytes), added when `add` and absent.
 * Returns NULL when absent and not added, or on out of memory (then
 * *oom is set). O(number of jails). */
static struct f2b_jail *f2b_jail_get(struct f2b *f, const char *name,
                                     size_t len, int add, int *oom)
{
    struct f2b_jail *j;
    size_t i;

    for (i = 0; i < f->njail; i++)
        if (strlen(f->jail[i].name) == len &&
            memcmp(f->jail[i].name, name, len) == 0)
            return &f->jail[i];
    if (!add)
        return NULL;
    if (f->njail == f->jail_alloc) {
        size_t want = f->jail_alloc ? f->jail_alloc * 2 : 8;

        j = realloc(f->jail, want * sizeof(*j));
        if (!j) {
            *oom = 1;
            return NULL;
        }
        f->jail = j;
        f->jail_alloc = want;
    }
    j = &f->jail[f->njail];
    memset(j, 0, sizeof(*j));
    j->name = strndup(name, len);
    if (!j->name) {
        *oom = 1;
        return NULL;
    }
    f->njail++;
    return j;
}

/* Validate the options into a struct f2b owned by the instance. Jails
 * named in `jails` exist from the start, so they are reported (with 0
 * bans) before any line names them. */
static int f2b_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct f2b *f;
    const char *log = cfg_getstr(options, "log");
    unsigned i, n = cfg_size(options, "jails");
    int oom = 0;

    f = calloc(1, sizeof(*f));
    if (!f)
        goto oom;
    f->tail.fd = -1;
    if (!log || !*log) {
        snprintf(err, errlen, "option 'log' is empty: give the path of the "
                 "fail2ban log (default " F2B_DEFAULT_LOG ")");
        goto fail;
    }
    if (!(f->log = strdup(log)) || tocsin_tailer_init(&f->tail, log) < 0)
        goto oom;
    if (n > 0) {
        f->jails = calloc(n, sizeof(*f->jails));
        if (!f->jails)
            goto oom;
        for (i = 0; i < n; i++) {
            const char *s = cfg_getnstr(options, "jails", i);

            if (!s || !*s) {
                snprintf(err, errlen, "option 'jails': entry %u is empty", i + 1);
                goto fail;
            }
            if (!(f->jails[i] = strdup(s)))
                goto oom;
            f->njails++;
            if (!f2b_jail_get(f, s, strlen(s), 1, &oom) && oom)
                goto oom;
        }
    }
    f->window_ms = cfg_getint(options, "window");
    if (f->window_ms <= 0) {
        snprintf(err, errlen, "option 'window' must be longer than 0 (e.g. 1h)");
        goto fail;
    }
    f->count_found = cfg_getbool(options, "count_found") == cfg_true;
    f->max_read = cfg_getint(options, "max_read");
    if (f->max_read < F2B_MIN_MAX_READ) {
        snprintf(err, errlen, "option 'max_read' is %lld bytes; it must be at "
                 "least %ld", (long long)f->max_read, F2B_MIN_MAX_READ);
        goto fail;
    }
    if (tocsin_option_thresholds(options, "warning", "critical", &f->bans_th,
                                 err, errlen) < 0 ||
        tocsin_option_thresholds(options, "found_warning", "found_critical",
                                 &f->found_th, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "total_warning", "total_critical",
                                 &f->total_th, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "total_found_warning",
                                 "total_found_critical", &f->total_found_th,
                                 err, errlen) < 0)
        goto fail;
    *instance = f;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    f2b_teardown(f);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Parsing lines                                                       */
/* ------------------------------------------------------------------ */

/* Value of `len` decimal digits at `s`, or -1 if any is not a digit. */
static int f2b_digits(const char *s, size_t len)
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

/* Parse "YYYY-MM-DD HH:MM:SS" (optionally ",mmm") at the start of `s`
 * (len bytes), in local time, into ms since the epoch. Returns the number
 * of bytes used, or 0 when `s` does not start with such a time. The epoch
 * of each hour is computed once (mktime) and cached. */
static size_t f2b_parse_time(struct f2b *f, const char *s, size_t len,
                             int64_t *ms)
{
    int min, sec, milli = 0;
    size_t used = 19;

    if (len < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' ||
        s[13] != ':' || s[16] != ':')
        return 0;
    min = f2b_digits(s + 14, 2);
    sec = f2b_digits(s + 17, 2);
    if (min < 0 || min > 59 || sec < 0 || sec > 60)
        return 0;
    if (len >= 23 && (s[19] == ',' || s[19] == '.')) {
        milli = f2b_digits(s + 20, 3);
        if (milli < 0)
            return 0;
        used = 23;
    }
    if (memcmp(f->hour_key, s, 13) != 0) {
        struct tm tm;
        time_t t;
        int y = f2b_digits(s, 4), mo = f2b_digits(s + 5, 2),
            d = f2b_digits(s + 8, 2), h = f2b_digits(s + 11, 2);

        if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
            h < 0 || h > 23)
            return 0;
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t == (time_t)-1)
            return 0;
        memcpy(f->hour_key, s, 13);
        f->hour_key[13] = '\0';
        f->hour_ms = (int64_t)t * 1000;
    }
    *ms = f->hour_ms + (int64_t)(min * 60 + sec) * 1000 + milli;
    return used;
}

/* Append `ms` to `t`. Returns 0, or -1 on out of memory. */
static int f2b_times_add(struct f2b_times *t, int64_t ms)
{
    if (t->n == t->alloc) {
        size_t want = t->alloc ? t->alloc * 2 : 16;
        int64_t *grown = realloc(t->at, want * sizeof(*grown));

        if (!grown)
            return -1;
        t->at = grown;
        t->alloc = want;
    }
    t->at[t->n++] = ms;
    return 0;
}

/* Drop the times before `cutoff`. O(n). */
static void f2b_times_prune(struct f2b_times *t, int64_t cutoff)
{
    size_t i, kept = 0;

    for (i = 0; i < t->n; i++)
        if (t->at[i] >= cutoff)
            t->at[kept++] = t->at[i];
    t->n = kept;
}

/* Remember a line that was not understood, made printable. */
static void f2b_not_understood(struct f2b_read *rd, const char *line, size_t len)
{
    size_t i, n = len < F2B_QUOTE_MAX ? len : F2B_QUOTE_MAX;

    rd->not_understood++;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];

        rd->last_bad[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    rd->last_bad[n] = '\0';
}

/* 1 if `s` (len bytes) starts with `word`. */
static int f2b_starts(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);

    return len >= n && memcmp(s, word, n) == 0;
}

/*
 * Take in one line (without its newline). A fail2ban line is
 *   2026-11-22 10:15:02,123 fail2ban.actions [1234]: NOTICE [sshd] Ban 1.2.3.4
 * (older versions write "fail2ban.actions: WARNING [sshd] Ban ..."). Bans,
 * found failures and restored bans inside the window are recorded for
 * their jail; every other fail2ban line is understood and ignored; a line
 * that is not a fail2ban line at all is counted as not understood.
 */
static void f2b_line(struct f2b *f, const char *line, size_t len,
                     int64_t cutoff, struct f2b_read *rd)
{
    const char *p, *end, *jail, *colon;
    enum { F2B_BAN, F2B_FOUND, F2B_RESTORED } kind;
    struct f2b_times *times;
    struct f2b_jail *j;
    size_t used, jlen;
    int64_t at;
    int oom = 0;

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    end = line + len;
    if (len == 0)
        return;
    rd->lines++;
    used = f2b_parse_time(f, line, len, &at);
    if (!used || used >= len || line[used] != ' ')
        goto bad;
    p = line + used;
    while (p < end && *p == ' ')
        p++;
    if (!f2b_starts(p, (size_t)(end - p), "fail2ban"))
        goto bad;
    colon = memchr(p, ':', (size_t)(end - p));
    if (!colon)
        goto bad;
    p = colon + 1;
    /* The level: NOTICE, INFO, WARNING, ERROR... */
    while (p < end && *p == ' ')
        p++;
    while (p < end && *p != ' ')
        p++;
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p != '[')
        return;                 /* a fail2ban line about no jail */
    jail = p + 1;
    p = memchr(jail, ']', (size_t)(end - jail));
    if (!p || p == jail)
        return;
    jlen = (size_t)(p - jail);
    p++;
    while (p < end && *p == ' ')
        p++;
    if (f2b_starts(p, (size_t)(end - p), "Ban "))
        kind = F2B_BAN;
    else if (f2b_starts(p, (size_t)(end - p), "Found "))
        kind = F2B_FOUND;
    else if (f2b_starts(p, (size_t)(end - p), "Restore Ban "))
        kind = F2B_RESTORED;
    else
        return;                 /* Unban, already banned, ...: not counted */
    if ((kind == F2B_FOUND && !f->count_found) || at < cutoff)
        return;
    j = f2b_jail_get(f, jail, jlen, f->njails == 0, &oom);
    if (!j) {
        rd->oom |= oom;
        return;
    }
    times = kind == F2B_BAN ? &j->bans : kind == F2B_FOUND ? &j->found
                                                             : &j->restored;
    if (f2b_times_add(times, at) < 0)
        rd->oom = 1;
    return;
bad:
    f2b_not_understood(rd, line, len);
}

/* The tailer's line callback: one line of the log. An over-long line
 * is not a fail2ban line. */
static void f2b_take_line(void *ctx, const char *line, size_t len, int cut)
{
    struct f2b_pass *pass = ctx;

    if (cut) {
        pass->rd->lines++;
        f2b_not_understood(pass->rd, line, len);
        return;
    }
    f2b_line(pass->f, line, len, pass->cutoff, pass->rd);
}

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

/* A duration in ms as "1h", "1h30m", "45s", "250ms". */
static const char *f2b_duration(int64_t ms, char *buf, size_t len)
{
    static const struct { const char *unit; int64_t ms; } units[] = {
        { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
        { "ms", 1 },
    };
    size_t used = 0, i;

    buf[0] = '\0';
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        int64_t n = ms / units[i].ms;
        int w;

        if (n == 0)
            continue;
        ms -= n * units[i].ms;
        w = snprintf(buf + used, len - used, "%lld%s", (long long)n,
                     units[i].unit);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    return buf;
}

static int f2b_by_name(const void *a, const void *b)
{
    const struct f2b_jail *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

static const char *f2b_plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Set the result from the events inside the window: one state per jail
 * from its bans (and found failures when counted), the first line naming
 * the jails that alert, perfdata and one long output line per jail. */
static void f2b_report(struct f2b *f, struct tocsin_check *chk,
                       const struct f2b_read *rd,
                       const struct tocsin_tail_read *tr)
{
    struct f2b_jail **order = NULL;
    enum tocsin_state worst = TOCSIN_OK, *state = NULL;
    char win[64], first[2048], list[1024], label[512];
    size_t i, used = 0, lused = 0, total_bans = 0, total_found = 0, named;
    enum tocsin_state total_state;
    int sev;

    f2b_duration(f->window_ms, win, sizeof(win));
    if (f->njail > 0) {
        order = calloc(f->njail, sizeof(*order));
        state = calloc(f->njail, sizeof(*state));
        if (!order || !state) {
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "FAIL2BAN UNKNOWN - out of memory");
            goto out;
        }
    }
    for (i = 0; i < f->njail; i++)
        order[i] = &f->jail[i];
    if (f->njail > 1)
        qsort(order, f->njail, sizeof(*order), f2b_by_name);

    list[0] = '\0';
    first[0] = '\0';
    for (i = 0; i < f->njail; i++) {
        const struct f2b_jail *j = order[i];

        state[i] = tocsin_thresholds_eval(&f->bans_th, (double)j->bans.n);
        total_bans += j->bans.n;
        snprintf(label, sizeof(label), "%s bans", j->name);
        tocsin_check_perf(chk, label, (double)j->bans.n, "", &f->bans_th,
                          0, 0, TOCSIN_PERF_MIN);
        if (f->count_found) {
            state[i] = tocsin_state_worst(state[i],
                tocsin_thresholds_eval(&f->found_th, (double)j->found.n));
            total_found += j->found.n;
            snprintf(label, sizeof(label), "%s found", j->name);
            tocsin_check_perf(chk, label, (double)j->found.n, "", &f->found_th,
                              0, 0, TOCSIN_PERF_MIN);
            tocsin_append(list, sizeof(list), &lused, "%s%s %zu %s, %zu found",
                    i ? "; " : "", j->name, j->bans.n,
                    f2b_plural(j->bans.n, "ban", "bans"), j->found.n);
        } else {
            tocsin_append(list, sizeof(list), &lused, "%s%s %zu", i ? ", " : "",
                    j->name, j->bans.n);
        }
        worst = tocsin_state_worst(worst, state[i]);
        if (f->count_found)
            tocsin_check_long(chk, "%s: %s: %zu %s, %zu found %s in the last %s",
                              tocsin_state_name(state[i]), j->name, j->bans.n,
                              f2b_plural(j->bans.n, "ban", "bans"), j->found.n,
                              f2b_plural(j->found.n, "failure", "failures"), win);
        else
            tocsin_check_long(chk, "%s: %s: %zu %s in the last %s",
                              tocsin_state_name(state[i]), j->name, j->bans.n,
                              f2b_plural(j->bans.n, "ban", "bans"), win);
        if (j->restored.n)
            tocsin_check_long(chk, "%s: %zu %s restored after a fail2ban "
                              "restart (not counted as bans)", j->name,
                              j->restored.n,
                              f2b_plural(j->restored.n, "ban", "bans"));
    }

    /* The totals across jails, with their own thresholds. */
    total_state = tocsin_thresholds_eval(&f->total_th, (double)total_bans);
    tocsin_check_perf(chk, "total bans", (double)total_bans, "", &f->total_th,
                      0, 0, TOCSIN_PERF_MIN);
    if (f->count_found) {
        total_state = tocsin_state_worst(total_state,
            tocsin_thresholds_eval(&f->total_found_th, (double)total_found));
        tocsin_check_perf(chk, "total found", (double)total_found, "",
                          &f->total_found_th, 0, 0, TOCSIN_PERF_MIN);
    }
    worst = tocsin_state_worst(worst, total_state);
    if (f->count_found)
        tocsin_check_long(chk, "%s: all jails: %zu %s, %zu found %s in the "
                          "last %s", tocsin_state_name(total_state), total_bans,
                          f2b_plural(total_bans, "ban", "bans"), total_found,
                          f2b_plural(total_found, "failure", "failures"), win);
    else
        tocsin_check_long(chk, "%s: all jails: %zu %s in the last %s",
                          tocsin_state_name(total_state), total_bans,
                          f2b_plural(total_bans, "ban", "bans"), win);

    /* The first line: the total when it alerts, alerting jails by
     * severity, then the totals. */
    named = 0;
    if (total_state == TOCSIN_CRITICAL || total_state == TOCSIN_WARNING) {
        tocsin_append(first, sizeof(first), &used, "%zu %s", total_bans,
                      f2b_plural(total_bans, "ban", "bans"));
        if (f->count_found)
            tocsin_append(first, sizeof(first), &used, ", %zu found", total_found);
        tocsin_append(first, sizeof(first), &used, " in all jails (%s)",
                      total_state == TOCSIN_CRITICAL ? "critical" : "warning");
        named++;
    }
    for (sev = 0; sev < 2 && worst != TOCSIN_OK; sev++) {
        static const enum tocsin_state sevs[] = {
            TOCSIN_CRITICAL, TOCSIN_WARNING
        };

        for (i = 0; i < f->njail; i++) {
            const struct f2b_jail *j = order[i];

            if (state[i] != sevs[sev])
                continue;
            if (named == F2B_NAMED_MAX) {
                named++;
                tocsin_append(first, sizeof(first), &used, ", ...");
                continue;
            }
            if (named > F2B_NAMED_MAX)
                continue;
            tocsin_append(first, sizeof(first), &used, "%s%s %zu %s", named ? "; " : "",
                    j->name, j->bans.n, f2b_plural(j->bans.n, "ban", "bans"));
            if (f->count_found)
                tocsin_append(first, sizeof(first), &used, ", %zu found", j->found.n);
            tocsin_append(first, sizeof(first), &used, " (%s)",
                    sevs[sev] == TOCSIN_CRITICAL ? "critical" : "warning");
            named++;
        }
    }
    if (worst != TOCSIN_OK)
        tocsin_append(first, sizeof(first), &used, " in the last %s; ", win);
    tocsin_append(first, sizeof(first), &used, "%zu %s", total_bans,
            f2b_plural(total_bans, "ban", "bans"));
    if (f->count_found)
        tocsin_append(first, sizeof(first), &used, ", %zu found", total_found);
    if (worst == TOCSIN_OK)
        tocsin_append(first, sizeof(first), &used, " in the last %s", win);
    else
        tocsin_append(first, sizeof(first), &used, " in all");
    if (f->njail > 0)
        tocsin_append(first, sizeof(first), &used, " (%s)", list);
    else
        tocsin_append(first, sizeof(first), &used, " (no jail seen yet)");
    tocsin_check_set(chk, worst, "FAIL2BAN %s - %s", tocsin_state_name(worst),
                     first);

    /* What this check read. */
    tocsin_tailer_report(&f->tail, (off_t)f->max_read, tr, chk);
    tocsin_check_long(chk, "read %llu bytes, %llu %s", (unsigned long long)tr->bytes,
                      (unsigned long long)rd->lines,
                      f2b_plural(rd->lines, "line", "lines"));
    if (rd->not_understood)
        tocsin_check_long(chk, "%llu %s not understood (not fail2ban log "
                          "lines), the last: \"%s\"",
                          (unsigned long long)rd->not_understood,
                          f2b_plural(rd->not_understood, "line", "lines"),
                          rd->last_bad);
out:
    free(order);
    free(state);
}

/* Milliseconds since the epoch, wall clock: log lines carry wall time. */
static int64_t f2b_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One check: forget events older than the window, read what was appended
 * to the log since the last check (following a rotation), and report.
 * Reads at most max_read bytes; costs O(events in the window) besides.
 */
static void f2b_check(void *instance, struct tocsin_check *chk)
{
    struct f2b *f = instance;
    struct f2b_read rd;
    struct tocsin_tail_read tr;
    struct f2b_pass pass;
    int64_t cutoff = f2b_now_ms() - f->window_ms;
    char err[1024];
    size_t i;

    memset(&rd, 0, sizeof(rd));
    for (i = 0; i < f->njail; i++) {
        f2b_times_prune(&f->jail[i].bans, cutoff);
        f2b_times_prune(&f->jail[i].found, cutoff);
        f2b_times_prune(&f->jail[i].restored, cutoff);
    }
    pass.f = f;
    pass.cutoff = cutoff;
    pass.rd = &rd;
    if (tocsin_tailer_read(&f->tail, (off_t)f->max_read, chk, f2b_take_line,
                           &pass, &tr, err, sizeof(err)) < 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "FAIL2BAN UNKNOWN - %s", err);
        return;
    }
    if (rd.oom) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "FAIL2BAN UNKNOWN - out of memory "
                         "while reading %s", f->log);
        return;
    }
    f2b_report(f, chk, &rd, &tr);
    if (tr.late)
        tocsin_check_timed_out(chk);
}

/* Descriptions for --help; docs/check-fail2ban-log.md tells more. */
static const struct tocsin_option_help f2b_help[] = {
    { "log", "FILE",
      "the fail2ban log (logtarget in fail2ban.conf)" },
    { "jails", NULL,
      "jails to report" },
    { "window", NULL,
      "the sliding window events are counted in" },
    { "count_found", NULL,
      "also count Found lines (failures detected) per jail" },
    { "warning", NULL,
      "bans per jail per window: WARNING outside the range" },
    { "critical", NULL,
      "bans per jail per window: CRITICAL outside the range" },
    { "found_warning", NULL,
      "on found failures per jail per window, for WARNING (with count_found)" },
    { "found_critical", NULL,
      "on found failures per jail per window, for CRITICAL (with count_found)" },
    { "max_read", NULL,
      "bytes read at most per check; at least 4096" },
    { "total_warning", NULL,
      "bans in all jails together per window: WARNING outside the range" },
    { "total_critical", NULL,
      "bans in all jails together per window: CRITICAL outside the range" },
    { "total_found_warning", NULL,
      "found failures in all jails together per window, for WARNING (with count_found)" },
    { "total_found_critical", NULL,
      "found failures in all jails together per window, for CRITICAL (with count_found)" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .flags = TOCSIN_PLUGIN_STATEFUL,
    .name = "fail2ban-log",
    .version = "0.1.0",
    .summary = "bans per fail2ban jail in a sliding time window, from its log",
    .options = f2b_options,
    .help = f2b_help,
    .setup = f2b_setup,
    .teardown = f2b_teardown,
    .check = f2b_check,
);
