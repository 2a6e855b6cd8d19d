/*
 * promtext.c - the Prometheus text exposition format, line by line (see
 * promtext.h). Each line is one of: blank, a comment ("# HELP", "# TYPE",
 * "# EOF" or any other "# ..."), or a sample:
 *
 *   name{label="value",...} value [timestamp] [# {exemplar} value [ts]]
 *
 * Names may also be quoted inside the braces ({"my.name",label="v"}), as
 * Prometheus 3 writes names outside the classic character set.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin-plugin.h"
#include "common/promtext.h"

/* The state of one walk. */
struct promtext {
    const char *line;           /* the current line, without its end */
    size_t len;                 /* its length */
    size_t pos;                 /* where parsing is in it */
    char *scratch;              /* unescaped label values go here */
    size_t scratch_cap;
    size_t scratch_used;
    const char *family;         /* name of the last TYPE line, in the text */
    size_t family_len;
    enum tocsin_promtext_type family_type;
    struct tocsin_promtext_label labels[TOCSIN_PROMTEXT_MAX_LABELS];
    struct tocsin_promtext_error *err;
    unsigned long lineno;
};

#define PT_MALFORMED (-1)
#define PT_OOM (-2)

/* Record why line `p->lineno` is malformed, with the column (1-based)
 * where parsing stood. Returns PT_MALFORMED. */
static int pt_fail(struct promtext *p, const char *why)
{
    p->err->line = p->lineno;
    snprintf(p->err->reason, sizeof(p->err->reason), "%s (column %zu)", why,
             p->pos + 1);
    return PT_MALFORMED;
}

/* Character classes of names: 1 may start one, 2 may follow. */
#define PT_START 1
#define PT_NEXT 2
#define PT_BOTH (PT_START | PT_NEXT)
#define PT_ROW_DIGITS PT_NEXT, PT_NEXT, PT_NEXT, PT_NEXT, PT_NEXT, \
    PT_NEXT, PT_NEXT, PT_NEXT, PT_NEXT, PT_NEXT
#define PT_ROW_LETTERS PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, \
    PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, \
    PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH, \
    PT_BOTH, PT_BOTH, PT_BOTH, PT_BOTH
static const unsigned char pt_class[256] = {
    ['0'] = PT_ROW_DIGITS, [':'] = PT_BOTH,
    ['A'] = PT_ROW_LETTERS, ['_'] = PT_BOTH,
    ['a'] = PT_ROW_LETTERS,
};

static int pt_name_start(unsigned char c)
{
    return pt_class[c] & PT_START;
}

static int pt_name_char(unsigned char c)
{
    return pt_class[c] & PT_NEXT;
}

static void pt_skip_blanks(struct promtext *p)
{
    while (p->pos < p->len && (p->line[p->pos] == ' ' || p->line[p->pos] == '\t'))
        p->pos++;
}

/* A bare name at the cursor ([a-zA-Z_:][a-zA-Z0-9_:]*; `label` refuses
 * ':' at the start as label names do). Returns its length, 0 for none. */
static size_t pt_bare_name(struct promtext *p, int label)
{
    const unsigned char *line = (const unsigned char *)p->line;
    size_t start = p->pos, pos = p->pos, len = p->len;

    if (pos >= len || !pt_name_start(line[pos]) || (label && line[pos] == ':'))
        return 0;
    while (pos < len && pt_name_char(line[pos]))
        pos++;
    p->pos = pos;
    return pos - start;
}

/* A double-quoted string at the cursor (the cursor on the '"'), with the
 * escapes \\, \" and \n undone into the scratch buffer. Sets *out and
 * *out_len. Returns 0 or PT_MALFORMED. */
static int pt_quoted(struct promtext *p, const char **out, size_t *out_len)
{
    char *dst = p->scratch + p->scratch_used;
    size_t n = 0;

    p->pos++; /* the opening quote */
    while (p->pos < p->len) {
        char c = p->line[p->pos];

        if (c == '"') {
            p->pos++;
            *out = dst;
            *out_len = n;
            p->scratch_used += n;
            return 0;
        }
        if (c == '\\') {
            if (p->pos + 1 >= p->len)
                break;
            c = p->line[++p->pos];
            if (c == 'n')
                c = '\n';
            else if (c != '\\' && c != '"')
                return pt_fail(p, "unknown escape in a quoted string (only "
                               "\\\\, \\\" and \\n are allowed)");
        }
        dst[n++] = c;
        p->pos++;
    }
    return pt_fail(p, "quoted string not closed");
}

/* The label set at the cursor (on the '{'), into p->labels; a quoted
 * name without '=' becomes the metric name when none was given before
 * the brace. Returns the number of labels, or PT_MALFORMED. */
static int pt_labels(struct promtext *p, struct tocsin_promtext_sample *s)
{
    size_t n = 0;

    p->pos++; /* '{' */
    for (;;) {
        struct tocsin_promtext_label l;
        int rc;

        pt_skip_blanks(p);
        if (p->pos < p->len && p->line[p->pos] == '}') {
            p->pos++;
            return (int)n;
        }
        if (p->pos >= p->len)
            return pt_fail(p, "label set not closed");
        if (p->line[p->pos] == '"') {
            if ((rc = pt_quoted(p, &l.name, &l.name_len)) < 0)
                return rc;
            pt_skip_blanks(p);
            if (p->pos < p->len && p->line[p->pos] != '=') {
                if (s->name_len)
                    return pt_fail(p, "a second metric name in the label set");
                s->name = l.name;
                s->name_len = l.name_len;
                goto next;
            }
        } else if (!(l.name_len = pt_bare_name(p, 1))) {
            return pt_fail(p, "expected a label name");
        } else {
            l.name = p->line + p->pos - l.name_len;
        }
        pt_skip_blanks(p);
        if (p->pos >= p->len || p->line[p->pos] != '=')
            return pt_fail(p, "expected '=' after the label name");
        p->pos++;
        pt_skip_blanks(p);
        if (p->pos >= p->len || p->line[p->pos] != '"')
            return pt_fail(p, "expected a quoted label value");
        if ((rc = pt_quoted(p, &l.value, &l.value_len)) < 0)
            return rc;
        if (n == TOCSIN_PROMTEXT_MAX_LABELS)
            return pt_fail(p, "too many labels");
        p->labels[n++] = l;
next:
        pt_skip_blanks(p);
        if (p->pos < p->len && p->line[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->line[p->pos] == '}')
            continue;
        return pt_fail(p, "expected ',' or '}' in the label set");
    }
}

/* A number at the cursor up to the next blank: a float as strtod reads it
 * ("NaN", "+Inf", "-Inf", exponents). Returns 0 or PT_MALFORMED. */
static int pt_number(struct promtext *p, double *out, const char *what)
{
    char text[64], *end;
    size_t start = p->pos, n;

    while (p->pos < p->len && p->line[p->pos] != ' ' && p->line[p->pos] != '\t')
        p->pos++;
    n = p->pos - start;
    if (n == 0 || n >= sizeof(text)) {
        p->pos = start;
        return pt_fail(p, what);
    }
    /* Most values are small integers: read those without strtod. */
    if (n < 16) {
        double v = 0;
        size_t i = p->line[start] == '-' ? 1 : 0;

        while (i < n && p->line[start + i] >= '0' && p->line[start + i] <= '9')
            v = v * 10 + (p->line[start + i++] - '0');
        if (i == n && n > (p->line[start] == '-' ? 1u : 0u)) {
            *out = p->line[start] == '-' ? -v : v;
            return 0;
        }
    }
    memcpy(text, p->line + start, n);
    text[n] = '\0';
    /* strtod also reads hexadecimal and "infinity"; Prometheus's own
     * reader (Go's ParseFloat) takes those too. */
    *out = strtod(text, &end);
    if (end != text + n) {
        p->pos = start;
        return pt_fail(p, what);
    }
    return 0;
}

/* One sample line. Returns 0, PT_MALFORMED, or the callback's value. */
static int pt_sample(struct promtext *p, tocsin_promtext_sample_fn fn, void *ud)
{
    struct tocsin_promtext_sample s;
    int rc;

    memset(&s, 0, sizeof(s));
    s.line = p->lineno;
    s.labels = p->labels;
    p->scratch_used = 0;
    s.name_len = pt_bare_name(p, 0);
    s.name = p->line;
    pt_skip_blanks(p);
    if (p->pos < p->len && p->line[p->pos] == '{') {
        if ((rc = pt_labels(p, &s)) < 0)
            return rc;
        s.nlabels = (size_t)rc;
    }
    if (s.name_len == 0) {
        p->pos = 0;
        return pt_fail(p, "expected a metric name");
    }
    if (p->pos >= p->len)
        return pt_fail(p, "no value after the metric");
    if (p->line[p->pos] != ' ' && p->line[p->pos] != '\t' &&
        p->line[p->pos - 1] != ' ' && p->line[p->pos - 1] != '\t')
        return pt_fail(p, "unexpected character in the metric name");
    pt_skip_blanks(p);
    if ((rc = pt_number(p, &s.value, "the value is not a number")) < 0)
        return rc;
    pt_skip_blanks(p);
    if (p->pos < p->len && p->line[p->pos] != '#') {
        if ((rc = pt_number(p, &s.timestamp, "the timestamp is not a number")) < 0)
            return rc;
        s.has_timestamp = 1;
        pt_skip_blanks(p);
    }
    /* What follows '#' is an exemplar, which this reader ignores. */
    if (p->pos < p->len && p->line[p->pos] != '#')
        return pt_fail(p, "unexpected text after the value and timestamp");
    if (p->family && s.name_len >= p->family_len &&
        memcmp(s.name, p->family, p->family_len) == 0) {
        const char *rest = s.name + p->family_len;
        size_t rlen = s.name_len - p->family_len;

        if (rlen == 0 ||
            (rlen == 7 && memcmp(rest, "_bucket", 7) == 0) ||
            (rlen == 4 && memcmp(rest, "_sum", 4) == 0) ||
            (rlen == 6 && memcmp(rest, "_count", 6) == 0) ||
            (rlen == 6 && memcmp(rest, "_total", 6) == 0) ||
            (rlen == 8 && memcmp(rest, "_created", 8) == 0))
            s.type = p->family_type;
    }
    return fn(ud, &s);
}

/* The family type a TYPE line names, or -1. */
static int pt_type(const char *t, size_t n)
{
    static const struct {
        const char *name;
        enum tocsin_promtext_type type;
    } types[] = {
        {"counter", TOCSIN_PROMTEXT_COUNTER}, {"gauge", TOCSIN_PROMTEXT_GAUGE},
        {"histogram", TOCSIN_PROMTEXT_HISTOGRAM}, {"summary", TOCSIN_PROMTEXT_SUMMARY},
        {"untyped", TOCSIN_PROMTEXT_UNTYPED}, {"unknown", TOCSIN_PROMTEXT_UNTYPED},
        {"info", TOCSIN_PROMTEXT_OTHER}, {"stateset", TOCSIN_PROMTEXT_OTHER},
        {"gaugehistogram", TOCSIN_PROMTEXT_OTHER},
    };
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strlen(types[i].name) == n && memcmp(types[i].name, t, n) == 0)
            return (int)types[i].type;
    return -1;
}

/* A comment line. "# TYPE name type" sets the family that later samples
 * belong to; "# HELP name text" must name a metric; other comments are
 * skipped. Returns 0, 1 for "# EOF", or PT_MALFORMED. */
static int pt_comment(struct promtext *p)
{
    size_t kw, name_len;
    const char *name;
    int type;

    p->pos = 1;
    pt_skip_blanks(p);
    kw = p->pos;
    while (p->pos < p->len && p->line[p->pos] != ' ' && p->line[p->pos] != '\t')
        p->pos++;
    if (p->pos - kw == 3 && memcmp(p->line + kw, "EOF", 3) == 0) {
        pt_skip_blanks(p);
        return p->pos == p->len ? 1 : 0;
    }
    if (!((p->pos - kw == 4 && memcmp(p->line + kw, "HELP", 4) == 0) ||
          (p->pos - kw == 4 && memcmp(p->line + kw, "TYPE", 4) == 0)))
        return 0;
    pt_skip_blanks(p);
    if (p->pos < p->len && p->line[p->pos] == '"') {
        p->scratch_used = 0;
        if (pt_quoted(p, &name, &name_len) < 0)
            return PT_MALFORMED;
    } else {
        name = p->line + p->pos;
        if (!(name_len = pt_bare_name(p, 0)))
            return pt_fail(p, "expected a metric name after HELP or TYPE");
    }
    if (p->line[kw] == 'H')
        return 0; /* the help text may hold anything */
    pt_skip_blanks(p);
    kw = p->pos;
    while (p->pos < p->len && p->line[p->pos] != ' ' && p->line[p->pos] != '\t')
        p->pos++;
    if ((type = pt_type(p->line + kw, p->pos - kw)) < 0) {
        p->pos = kw;
        return pt_fail(p, "unknown metric type");
    }
    pt_skip_blanks(p);
    if (p->pos != p->len)
        return pt_fail(p, "unexpected text after the metric type");
    /* A quoted family name lives in scratch, which the next line reuses:
     * such a family is not remembered, its samples stay untyped. */
    p->family = name >= p->line && name < p->line + p->len ? name : NULL;
    p->family_len = name_len;
    p->family_type = (enum tocsin_promtext_type)type;
    return 0;
}

/* The offset of the first byte of line[0..len) that is not well-formed
 * UTF-8, or len when all is. ASCII is passed over without a call. */
static size_t pt_utf8_bad(const char *line, size_t len)
{
    size_t i = 0, n;

    while (i < len) {
        /* Eight ASCII bytes without a NUL at a time. */
        while (i + 8 <= len) {
            uint64_t w;

            memcpy(&w, line + i, 8);
            if ((w & 0x8080808080808080ULL) ||
                ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL))
                break;
            i += 8;
        }
        if (i >= len)
            break;
        if ((unsigned char)line[i] < 0x80) {
            if (line[i] == '\0')
                return i;
            i++;
            continue;
        }
        if (!(n = tocsin_utf8_len(line + i, len - i)))
            return i;
        i += n;
    }
    return len;
}

int tocsin_promtext_parse(const char *text, size_t len,
                          tocsin_promtext_sample_fn fn, void *ud,
                          struct tocsin_promtext_error *err)
{
    struct promtext p;
    size_t start = 0;
    int rc = 0;

    memset(&p, 0, sizeof(p));
    p.err = err;
    err->line = 0;
    err->reason[0] = '\0';
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len, bad;

        p.lineno++;
        p.line = text + start;
        p.len = end - start;
        p.pos = 0;
        start = end + 1;
        if (p.len && p.line[p.len - 1] == '\r')
            p.len--;
        if ((bad = pt_utf8_bad(p.line, p.len)) < p.len) {
            p.pos = bad;
            rc = pt_fail(&p, p.line[bad] ? "not valid UTF-8" : "a NUL byte");
            break;
        }
        if (p.len > p.scratch_cap) {
            size_t want = p.len < 256 ? 256 : p.len;
            char *grown = realloc(p.scratch, want);

            if (!grown) {
                rc = PT_OOM;
                snprintf(err->reason, sizeof(err->reason), "out of memory");
                err->line = p.lineno;
                break;
            }
            p.scratch = grown;
            p.scratch_cap = want;
        }
        pt_skip_blanks(&p);
        if (p.pos == p.len)
            continue;
        if (p.line[p.pos] == '#') {
            if (p.pos != 0) {
                p.line += p.pos;
                p.len -= p.pos;
            }
            rc = pt_comment(&p);
            if (rc == 1) {
                rc = 0;
                break;
            }
            if (rc)
                break;
            continue;
        }
        if (p.pos != 0)
            rc = pt_fail(&p, "a sample line must not start with a blank");
        else
            rc = pt_sample(&p, fn, ud);
        if (rc)
            break;
    }
    free(p.scratch);
    return rc;
}
