/*
 * perfdata.c - the parts of Nagios plugin semantics that the plugin
 * library and the daemon both use: numbers as performance data writes
 * them, units of measure, performance-data items, plugin output parsing,
 * exit codes and signal names. See nagios.h.
 *
 * Internal: libtocsin.so keeps these symbols local (libtocsin.map), and
 * libtocsincore compiles this file again for the daemon's own use.
 */
#include "lib/nagios.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Numbers                                                             */
/* ------------------------------------------------------------------ */

/*
 * Parse exactly `n` bytes at `s` as a finite double, as strtod() reads
 * it. Leading blanks, trailing garbage, NaN and infinities are refused.
 * The byte at s[n] must not continue a number (it is ':' or NUL here).
 */
int tocsin_number_parse(const char *s, size_t n, double *v)
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
 * Write `v` into buf (TOCSIN_NUMBER_MAX bytes) in the shortest form that
 * keeps 15 significant digits: 3 -> "3", 0.5 -> "0.5", 1234567 -> "1234567".
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
    snprintf(buf, TOCSIN_NUMBER_MAX, "%.15g", v);
    e = strchr(buf, 'e');
    if (!e || e[1] != '-')
        return;
    exp10 = strtol(e + 1, NULL, 10);
    if (exp10 < -15)
        return;
    prec = 14 - (int)exp10;
    snprintf(buf, TOCSIN_NUMBER_MAX, "%.*f", prec, v);
    p = buf + strlen(buf);
    while (p > buf && p[-1] == '0')
        *--p = '\0';
    if (p > buf && p[-1] == '.')
        *--p = '\0';
}

const char *tocsin_number_format(double v, char *buf, size_t len)
{
    char text[TOCSIN_NUMBER_MAX];

    format_number(v, text);
    snprintf(buf, len, "%s", text);
    return buf;
}

/* ------------------------------------------------------------------ */

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
        if (tocsin_number_parse(f[3], strlen(f[3]), &item->min) < 0)
            return 1;
        item->has_min = 1;
    }
    if (f[4][0]) {
        if (tocsin_number_parse(f[4], strlen(f[4]), &item->max) < 0)
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
    char num[TOCSIN_NUMBER_MAX], min[TOCSIN_NUMBER_MAX], max[TOCSIN_NUMBER_MAX];
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
