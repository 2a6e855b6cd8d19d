/*
 * nagios.c - Nagios plugin semantics: states, threshold ranges, the plugin
 * output format, performance data and exit codes. See nagios.h and
 * tocsin-plugin.h.
 */
#include "lib/nagios.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Room for any number format_number() writes. */
#define NUMBER_MAX 64

/* ------------------------------------------------------------------ */
/* States                                                              */
/* ------------------------------------------------------------------ */

static const char *const state_names[] = {
    "OK", "WARNING", "CRITICAL", "UNKNOWN"
};

const char *tocsin_state_name(int state)
{
    if (state < TOCSIN_OK || state > TOCSIN_UNKNOWN)
        return "UNKNOWN";
    return state_names[state];
}

/* Accepts the four names in any case, the short forms "warn" and "crit",
 * and the exit codes "0".."3". */
int tocsin_state_parse(const char *text)
{
    static const struct {
        const char *name;
        int state;
    } names[] = {
        {"ok", TOCSIN_OK},             {"0", TOCSIN_OK},
        {"warning", TOCSIN_WARNING},   {"warn", TOCSIN_WARNING},
        {"1", TOCSIN_WARNING},
        {"critical", TOCSIN_CRITICAL}, {"crit", TOCSIN_CRITICAL},
        {"2", TOCSIN_CRITICAL},
        {"unknown", TOCSIN_UNKNOWN},   {"3", TOCSIN_UNKNOWN},
    };
    size_t i;

    if (!text)
        return -1;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(text, names[i].name) == 0)
            return names[i].state;
    return -1;
}

/* Severity rank for "worst of": UNKNOWN sits between WARNING and
 * CRITICAL. Anything out of range counts as UNKNOWN. */
static int state_rank(enum tocsin_state s)
{
    switch (s) {
    case TOCSIN_OK:
        return 0;
    case TOCSIN_WARNING:
        return 1;
    case TOCSIN_CRITICAL:
        return 3;
    case TOCSIN_UNKNOWN:
    default:
        return 2;
    }
}

enum tocsin_state tocsin_state_worst(enum tocsin_state a, enum tocsin_state b)
{
    if (a < TOCSIN_OK || a > TOCSIN_UNKNOWN)
        a = TOCSIN_UNKNOWN;
    if (b < TOCSIN_OK || b > TOCSIN_UNKNOWN)
        b = TOCSIN_UNKNOWN;
    return state_rank(a) >= state_rank(b) ? a : b;
}

/* ------------------------------------------------------------------ */
/* Numbers                                                             */
/* ------------------------------------------------------------------ */

/*
 * Parse exactly `n` bytes at `s` as a finite double, as strtod() reads
 * it. Leading blanks, trailing garbage, NaN and infinities are refused.
 * The byte at s[n] must not continue a number (it is ':' or NUL here).
 */
static int parse_number(const char *s, size_t n, double *v)
{
    char *end;
    double d;

    if (n == 0 || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' ||
        s[0] == '\r' || s[0] == '\v' || s[0] == '\f')
        return -1;
    d = strtod(s, &end);
    if (end != s + n || !isfinite(d))
        return -1;
    *v = d;
    return 0;
}

/*
 * Write `v` into buf (NUMBER_MAX bytes) in the shortest form that keeps
 * 15 significant digits: 3 -> "3", 0.5 -> "0.5", 1234567 -> "1234567".
 * Small fractions are written without an exponent (0.00001, not 1e-05),
 * since perfdata consumers do not all read exponents; only magnitudes
 * below 1e-15 or of 1e15 and above keep one.
 */
static void format_number(double v, char *buf)
{
    const char *e;
    char *p;
    long exp10;
    int prec;

    if (v == 0)
        v = 0; /* no "-0" */
    snprintf(buf, NUMBER_MAX, "%.15g", v);
    e = strchr(buf, 'e');
    if (!e || e[1] != '-')
        return;
    exp10 = strtol(e + 1, NULL, 10);
    if (exp10 < -15)
        return;
    prec = 14 - (int)exp10;
    snprintf(buf, NUMBER_MAX, "%.*f", prec, v);
    p = buf + strlen(buf);
    while (p > buf && p[-1] == '0')
        *--p = '\0';
    if (p > buf && p[-1] == '.')
        *--p = '\0';
}

const char *tocsin_number_format(double v, char *buf, size_t len)
{
    char text[NUMBER_MAX];

    format_number(v, text);
    snprintf(buf, len, "%s", text);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Ranges                                                              */
/* ------------------------------------------------------------------ */

/* A length clipped for a %.*s conversion in an error message. */
static int clip(size_t n)
{
    return n > 1024 ? 1024 : (int)n;
}

/*
 * Parse a Monitoring Plugins range: [@][start:]end, where start is a
 * number or "~" (no lower bound) and end is a number or empty (no upper
 * bound); without ':' the start is 0. Writes a reason for a human to err
 * on failure and leaves `range` unset then.
 */
int tocsin_range_parse(const char *text, struct tocsin_range *range,
                       char *err, size_t errlen)
{
    struct tocsin_range r;
    const char *p, *colon, *end_text;
    size_t start_len, end_len;
    char a[NUMBER_MAX], b[NUMBER_MAX];

    memset(&r, 0, sizeof(r));
    memset(range, 0, sizeof(*range));
    if (err && errlen)
        err[0] = '\0';
    if (!text || !*text)
        return 0;

    p = text;
    if (*p == '@') {
        r.inside = 1;
        p++;
    }
    if (!*p) {
        if (err && errlen)
            snprintf(err, errlen, "range \"%s\": no bounds after '@'", text);
        return -1;
    }

    colon = strchr(p, ':');
    if (colon) {
        start_len = (size_t)(colon - p);
        end_text = colon + 1;
        if (start_len == 1 && p[0] == '~') {
            r.start_infinite = 1;
        } else if (start_len == 0) {
            if (err && errlen)
                snprintf(err, errlen,
                         "range \"%s\": the lower bound before ':' is missing "
                         "(write 0:N, or ~:N for none)", text);
            return -1;
        } else if (parse_number(p, start_len, &r.start) < 0) {
            if (err && errlen)
                snprintf(err, errlen, "range \"%s\": \"%.*s\" is not a number",
                         text, clip(start_len), p);
            return -1;
        }
    } else {
        end_text = p;
        r.start = 0;
    }

    end_len = strlen(end_text);
    if (end_len == 0) {
        r.end_infinite = 1;
    } else if (parse_number(end_text, end_len, &r.end) < 0) {
        if (err && errlen) {
            if (!colon && end_len == 1 && end_text[0] == '~')
                snprintf(err, errlen, "range \"%s\": '~' stands only before "
                         "':', as in ~:10", text);
            else
                snprintf(err, errlen, "range \"%s\": \"%.*s\" is not a number",
                         text, clip(end_len), end_text);
        }
        return -1;
    }

    if (!r.start_infinite && !r.end_infinite && r.start > r.end) {
        if (err && errlen) {
            format_number(r.start, a);
            format_number(r.end, b);
            snprintf(err, errlen,
                     "range \"%s\": start %s is greater than end %s",
                     text, a, b);
        }
        return -1;
    }

    r.set = 1;
    *range = r;
    return 0;
}

/* Outside mode alerts below start or above end; inside mode ("@") alerts
 * within start..end, bounds included. NaN never alerts: the caller
 * reports an undeterminable value as UNKNOWN itself. */
int tocsin_range_alert(const struct tocsin_range *range, double value)
{
    int below, above;

    if (!range || !range->set || isnan(value))
        return 0;
    below = !range->start_infinite && value < range->start;
    above = !range->end_infinite && value > range->end;
    if (range->inside)
        return !below && !above;
    return below || above;
}

/* Canonical text: the start is left out when it is 0 and an end is
 * given ("0:10" comes back as "10"). */
int tocsin_range_format(const struct tocsin_range *range, char *buf, size_t len)
{
    char text[3 * NUMBER_MAX], start[NUMBER_MAX], end[NUMBER_MAX];

    if (!range || !range->set)
        return snprintf(buf, len, "%s", "");

    end[0] = '\0';
    if (!range->end_infinite)
        format_number(range->end, end);
    if (range->start_infinite)
        snprintf(start, sizeof(start), "~:");
    else if (range->start == 0 && !range->end_infinite)
        start[0] = '\0';
    else {
        format_number(range->start, start);
        snprintf(start + strlen(start), sizeof(start) - strlen(start), ":");
    }
    snprintf(text, sizeof(text), "%s%s%s", range->inside ? "@" : "",
             start, end);
    return snprintf(buf, len, "%s", text);
}

enum tocsin_state tocsin_thresholds_eval(const struct tocsin_thresholds *th,
                                         double value)
{
    if (!th)
        return TOCSIN_OK;
    if (tocsin_range_alert(&th->critical, value))
        return TOCSIN_CRITICAL;
    if (tocsin_range_alert(&th->warning, value))
        return TOCSIN_WARNING;
    return TOCSIN_OK;
}

/* ------------------------------------------------------------------ */
/* Performance data                                                    */
/* ------------------------------------------------------------------ */

static const char *const uoms[] = {
    "", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"
};

int tocsin_uom_valid(const char *uom)
{
    size_t i;

    if (!uom)
        return 0;
    for (i = 0; i < sizeof(uoms) / sizeof(uoms[0]); i++)
        if (strcmp(uom, uoms[i]) == 0)
            return 1;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static void perf_clear(struct tocsin_perf *p)
{
    free(p->label);
    free(p->warn);
    free(p->crit);
    memset(p, 0, sizeof(*p));
}

/*
 * Fill `item` from the text after '=': value[UOM];warn;crit;min;max.
 * Modifies `spec`. Returns 0, 1 when the text is not valid perfdata, or
 * -1 on out of memory; on failure `item` holds nothing to free.
 */
static int perf_spec(char *spec, struct tocsin_perf *item)
{
    const char *f[5] = {"", "", "", "", ""};
    char *s, *semi, *end;
    size_t n = 0;
    const char *uom;

    for (s = spec;; s = semi + 1) {
        semi = strchr(s, ';');
        if (semi)
            *semi = '\0';
        if (n < 5)
            f[n++] = s;
        else if (*s)
            return 1; /* a sixth field with something in it */
        if (!semi)
            break;
    }

    if (f[0][0] == 'U') {
        item->value_unknown = 1;
        uom = f[0] + 1;
    } else {
        if (!f[0][0] || is_blank(f[0][0]))
            return 1;
        item->value = strtod(f[0], &end);
        if (end == f[0] || !isfinite(item->value))
            return 1;
        uom = end;
    }
    if (!tocsin_uom_valid(uom))
        return 1;
    snprintf(item->uom, sizeof(item->uom), "%s", uom);

    if (f[3][0]) {
        if (parse_number(f[3], strlen(f[3]), &item->min) < 0)
            return 1;
        item->has_min = 1;
    }
    if (f[4][0]) {
        if (parse_number(f[4], strlen(f[4]), &item->max) < 0)
            return 1;
        item->has_max = 1;
    }
    if (f[1][0] && !(item->warn = strdup(f[1])))
        goto oom;
    if (f[2][0] && !(item->crit = strdup(f[2])))
        goto oom;
    return 0;
oom:
    free(item->warn);
    free(item->crit);
    item->warn = item->crit = NULL;
    return -1;
}

/* Append `item` to out->perf, taking ownership. The array grows by
 * doubling (capacity: 4, then the next power of two). */
static int perf_push(struct tocsin_output *out, struct tocsin_perf *item)
{
    struct tocsin_perf *grown;
    size_t n = out->nperf, cap;

    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        cap = n ? n * 2 : 4;
        if (cap > (size_t)-1 / sizeof(*grown))
            return -1;
        grown = realloc(out->perf, cap * sizeof(*grown));
        if (!grown)
            return -1;
        out->perf = grown;
    }
    out->perf[n] = *item;
    out->nperf = n + 1;
    memset(item, 0, sizeof(*item));
    return 0;
}

/*
 * Parse one item at *pp (not blank) and move *pp past it. Returns 0 when
 * an item was appended, 1 when the item was invalid and skipped, -1 on
 * out of memory.
 */
static int perf_item(const char **pp, struct tocsin_output *out)
{
    struct tocsin_buf label = TOCSIN_BUF_INIT;
    struct tocsin_perf item;
    const char *p = *pp, *spec_start;
    char *spec = NULL;
    int rc = 1;

    memset(&item, 0, sizeof(item));
    if (*p == '\'') {
        for (p++;; p++) {
            if (!*p) {
                p = *pp; /* unterminated quote: skip one word */
                goto skip;
            }
            if (*p == '\'') {
                if (p[1] != '\'') {
                    p++;
                    break;
                }
                p++; /* '' is one quote */
            }
            tocsin_buf_putc(&label, *p);
        }
    } else {
        while (*p && *p != '=' && !is_blank(*p))
            tocsin_buf_putc(&label, *p++);
    }
    if (*p != '=')
        goto skip;

    spec_start = ++p;
    while (*p && !is_blank(*p))
        p++;
    *pp = p;
    if (label.oom)
        goto oom;
    if (label.len == 0)
        goto out;
    spec = strndup(spec_start, (size_t)(p - spec_start));
    if (!spec)
        goto oom;
    rc = perf_spec(spec, &item);
    if (rc != 0)
        goto out;
    item.label = tocsin_buf_steal(&label);
    if (!item.label)
        goto oom;
    if (perf_push(out, &item) < 0)
        goto oom;
    rc = 0;
    goto out;

skip:
    while (*p && !is_blank(*p))
        p++;
    *pp = p;
    rc = label.oom ? -1 : 1;
    goto out;
oom:
    rc = -1;
out:
    perf_clear(&item);
    tocsin_buf_free(&label);
    free(spec);
    return rc;
}

/* Items are separated by blanks. Invalid items are skipped and counted,
 * both in the return value and in out->perf_invalid. `out` must be
 * zeroed or filled by tocsin_output_parse(). O(strlen(text)). */
int tocsin_perf_parse(const char *text, struct tocsin_output *out)
{
    const char *p = text;
    int bad = 0, rc;

    if (!text)
        return 0;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        rc = perf_item(&p, out);
        if (rc < 0)
            return -1;
        if (rc > 0)
            bad++;
    }
    out->perf_invalid += (size_t)bad;
    return bad;
}

/* Quoted when empty or holding a blank, a quote, '=' or a control
 * character; control characters are written as spaces, since they would
 * break the output into lines. */
int tocsin_perf_format_label(const char *label, struct tocsin_buf *b)
{
    const unsigned char *s;
    int quote;

    if (!label)
        label = "";
    quote = label[0] == '\0';
    for (s = (const unsigned char *)label; *s; s++)
        if (*s <= ' ' || *s == '\'' || *s == '=' || *s == 0x7f)
            quote = 1;
    if (!quote)
        return tocsin_buf_puts(b, label);

    tocsin_buf_putc(b, '\'');
    for (s = (const unsigned char *)label; *s; s++) {
        if (*s == '\'')
            tocsin_buf_puts(b, "''");
        else if (*s < ' ' || *s == 0x7f)
            tocsin_buf_putc(b, ' ');
        else
            tocsin_buf_putc(b, (char)*s);
    }
    tocsin_buf_putc(b, '\'');
    return b->oom ? -1 : 0;
}

/* Numbers as format_number() writes them; warn and crit as their text;
 * the fields after the value stop at the last non-empty one. */
int tocsin_perf_format(const struct tocsin_perf *p, struct tocsin_buf *b)
{
    char num[NUMBER_MAX], min[NUMBER_MAX], max[NUMBER_MAX];
    const char *field[4];
    int i, last = -1;

    tocsin_perf_format_label(p->label, b);
    tocsin_buf_putc(b, '=');
    if (p->value_unknown) {
        tocsin_buf_putc(b, 'U');
    } else {
        format_number(p->value, num);
        tocsin_buf_puts(b, num);
    }
    tocsin_buf_puts(b, p->uom);

    min[0] = max[0] = '\0';
    if (p->has_min)
        format_number(p->min, min);
    if (p->has_max)
        format_number(p->max, max);
    field[0] = p->warn ? p->warn : "";
    field[1] = p->crit ? p->crit : "";
    field[2] = min;
    field[3] = max;
    for (i = 0; i < 4; i++)
        if (field[i][0])
            last = i;
    for (i = 0; i <= last; i++) {
        tocsin_buf_putc(b, ';');
        tocsin_buf_puts(b, field[i]);
    }
    return b->oom ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Plugin output                                                       */
/* ------------------------------------------------------------------ */

/*
 * Take the next line from *cursor (up to `end`), NUL-terminate it in
 * place and drop a '\r' before its '\n'. Returns NULL when no text is
 * left, so a final newline does not make an empty last line.
 */
static char *next_line(char **cursor, char *end)
{
    char *line = *cursor, *nl;

    if (line >= end)
        return NULL;
    nl = memchr(line, '\n', (size_t)(end - line));
    if (!nl)
        nl = end;
    *nl = '\0';
    *cursor = nl < end ? nl + 1 : end;
    if (nl > line && nl[-1] == '\r')
        nl[-1] = '\0';
    return line;
}

static char *trim(char *s)
{
    char *e;

    while (is_blank(*s))
        s++;
    e = s + strlen(s);
    while (e > s && is_blank(e[-1]))
        *--e = '\0';
    return s;
}

static void rtrim(char *s)
{
    char *e = s + strlen(s);

    while (e > s && is_blank(e[-1]))
        *--e = '\0';
}

/*
 * Split plugin output into first line, long output and perfdata, as the
 * Monitoring Plugins guidelines define it. Text after a NUL byte is
 * ignored, as it is by every C consumer of plugin output. One copy of
 * the input, one pass over it: O(len).
 */
int tocsin_output_parse(const char *text, size_t len, struct tocsin_output *out)
{
    struct tocsin_buf longb = TOCSIN_BUF_INIT;
    char *copy = NULL, *cursor, *end, *line, *bar;
    const char *nul;
    int in_perf = 0, rc = -1;

    memset(out, 0, sizeof(*out));
    if (!text)
        len = 0;
    nul = len ? memchr(text, '\0', len) : NULL;
    if (nul)
        len = (size_t)(nul - text);
    copy = malloc(len + 1);
    if (!copy)
        goto out;
    if (len)
        memcpy(copy, text, len);
    copy[len] = '\0';
    cursor = copy;
    end = copy + len;

    line = next_line(&cursor, end);
    if (!line)
        line = copy;
    bar = strchr(line, '|');
    if (bar) {
        *bar = '\0';
        if (tocsin_perf_parse(bar + 1, out) < 0)
            goto out;
    }
    out->first_line = strdup(trim(line));
    if (!out->first_line)
        goto out;

    while ((line = next_line(&cursor, end))) {
        if (in_perf) {
            if (tocsin_perf_parse(line, out) < 0)
                goto out;
            continue;
        }
        bar = strchr(line, '|');
        if (bar) {
            *bar = '\0';
            rtrim(line);
            in_perf = 1;
            if (tocsin_perf_parse(bar + 1, out) < 0)
                goto out;
            if (!*line)
                continue;
        }
        if (longb.len)
            tocsin_buf_putc(&longb, '\n');
        tocsin_buf_puts(&longb, line);
    }
    while (longb.len && longb.data[longb.len - 1] == '\n')
        longb.data[--longb.len] = '\0';
    tocsin_buf_append(&longb, "", 0); /* terminated even when empty */
    out->long_output = tocsin_buf_steal(&longb);
    if (!out->long_output)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        tocsin_output_free(out);
    tocsin_buf_free(&longb);
    free(copy);
    return rc;
}

void tocsin_output_free(struct tocsin_output *out)
{
    size_t i;

    if (!out)
        return;
    for (i = 0; i < out->nperf; i++)
        perf_clear(&out->perf[i]);
    free(out->perf);
    free(out->first_line);
    free(out->long_output);
    memset(out, 0, sizeof(*out));
}

/* ------------------------------------------------------------------ */
/* Exit codes and signals                                              */
/* ------------------------------------------------------------------ */

static const struct {
    int sig;
    const char *name;
} signal_names[] = {
    {SIGHUP, "SIGHUP"},     {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"},
    {SIGILL, "SIGILL"},     {SIGTRAP, "SIGTRAP"},     {SIGABRT, "SIGABRT"},
    {SIGBUS, "SIGBUS"},     {SIGFPE, "SIGFPE"},       {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"},   {SIGSEGV, "SIGSEGV"},     {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"},   {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"},
#ifdef SIGSTKFLT
    {SIGSTKFLT, "SIGSTKFLT"},
#endif
    {SIGCHLD, "SIGCHLD"},   {SIGCONT, "SIGCONT"},     {SIGSTOP, "SIGSTOP"},
    {SIGTSTP, "SIGTSTP"},   {SIGTTIN, "SIGTTIN"},     {SIGTTOU, "SIGTTOU"},
    {SIGURG, "SIGURG"},     {SIGXCPU, "SIGXCPU"},     {SIGXFSZ, "SIGXFSZ"},
    {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"},   {SIGWINCH, "SIGWINCH"},
#ifdef SIGIO
    {SIGIO, "SIGIO"},
#endif
#ifdef SIGPWR
    {SIGPWR, "SIGPWR"},
#endif
    {SIGSYS, "SIGSYS"},
};

/* Returns a static name, or buf holding "signal N" (buf may be NULL, then
 * a static "unknown signal" is returned). */
const char *tocsin_signal_name(int sig, char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
        if (signal_names[i].sig == sig)
            return signal_names[i].name;
    if (!buf || !len)
        return "unknown signal";
    snprintf(buf, len, "signal %d", sig);
    return buf;
}

enum tocsin_state tocsin_exit_state(int exited, int code, int signal,
                                    char *why, size_t why_len)
{
    char name[32];

    if (why && why_len)
        why[0] = '\0';
    if (exited) {
        if (code >= TOCSIN_OK && code <= TOCSIN_UNKNOWN)
            return (enum tocsin_state)code;
        if (why && why_len)
            snprintf(why, why_len,
                     "plugin exited with code %d (out of bounds)", code);
        return TOCSIN_UNKNOWN;
    }
    if (why && why_len)
        snprintf(why, why_len, "plugin killed by signal %s",
                 tocsin_signal_name(signal, name, sizeof(name)));
    return TOCSIN_UNKNOWN;
}
