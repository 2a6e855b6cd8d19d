/*
 * promexpr.c - the prometheus check's expressions (see promexpr.h): their
 * parsing, the series a scrape keeps for them, and their figures between
 * two scrapes with Prometheus' semantics for counter resets and
 * histogram_quantile.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/counter.h"
#include "common/promexpr.h"

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

/* A cursor over the expression's text. */
struct pe_lex {
    const char *s;
    size_t pos;
    char *err;
    size_t errlen;
};

static void pe_blanks(struct pe_lex *l)
{
    while (l->s[l->pos] == ' ' || l->s[l->pos] == '\t')
        l->pos++;
}

/* Write "REASON at column N" to err. Returns -1. */
static int pe_fail(struct pe_lex *l, const char *why)
{
    snprintf(l->err, l->errlen, "%s at column %zu", why, l->pos + 1);
    return -1;
}

/* Take `c` after blanks. Returns 1 when it was there. */
static int pe_take(struct pe_lex *l, char c)
{
    pe_blanks(l);
    if (l->s[l->pos] != c)
        return 0;
    l->pos++;
    return 1;
}

/* A name of [a-zA-Z_:][a-zA-Z0-9_:]* (no ':' with `label`), as a copy the
 * caller frees; NULL with err when there is none or memory is short. */
static char *pe_name(struct pe_lex *l, int label)
{
    size_t start;
    char *out;

    pe_blanks(l);
    start = l->pos;
    while (isalnum((unsigned char)l->s[l->pos]) || l->s[l->pos] == '_' ||
           (!label && l->s[l->pos] == ':'))
        l->pos++;
    if (l->pos == start || isdigit((unsigned char)l->s[start])) {
        l->pos = start;
        pe_fail(l, label ? "expected a label name" : "expected a metric name");
        return NULL;
    }
    if (!(out = strndup(l->s + start, l->pos - start)))
        snprintf(l->err, l->errlen, "out of memory");
    return out;
}

/* A string in double or single quotes, with \\ \" \' \n undone. */
static char *pe_string(struct pe_lex *l)
{
    char quote, *out, *d;

    pe_blanks(l);
    quote = l->s[l->pos];
    if (quote != '"' && quote != '\'') {
        pe_fail(l, "expected a quoted label value");
        return NULL;
    }
    if (!(out = d = malloc(strlen(l->s + l->pos) + 1))) {
        snprintf(l->err, l->errlen, "out of memory");
        return NULL;
    }
    l->pos++;
    while (l->s[l->pos] && l->s[l->pos] != quote) {
        char c = l->s[l->pos++];

        if (c == '\\' && l->s[l->pos]) {
            c = l->s[l->pos++];
            if (c == 'n')
                c = '\n';
        }
        *d++ = c;
    }
    if (!l->s[l->pos]) {
        free(out);
        pe_fail(l, "quoted label value not closed");
        return NULL;
    }
    l->pos++;
    *d = '\0';
    return out;
}

/* 1 when every '*' of `re` follows a '.' (".*"). */
static int pe_stars_follow_dots(const char *re)
{
    const char *star;

    for (star = strchr(re, '*'); star; star = strchr(star + 1, '*'))
        if (star == re || star[-1] != '.')
            return 0;
    return 1;
}

/* "metric{label op "value", ...}" or "{...}" alone. */
static int pe_selector(struct pe_lex *l, struct tocsin_promexpr_selector *sel)
{
    pe_blanks(l);
    if (l->s[l->pos] != '{' && !(sel->metric = pe_name(l, 0)))
        return -1;
    if (!pe_take(l, '{'))
        goto done;
    while (!pe_take(l, '}')) {
        struct tocsin_promexpr_matcher *m;
        char pattern[4096];

        if (sel->nmatchers == TOCSIN_PROMEXPR_MAX_MATCHERS)
            return pe_fail(l, "too many label matchers");
        m = &sel->matchers[sel->nmatchers];
        if (!(m->label = pe_name(l, 1)))
            return -1;
        pe_blanks(l);
        if (strncmp(l->s + l->pos, "=~", 2) == 0)
            m->op = TOCSIN_PROMEXPR_RE;
        else if (strncmp(l->s + l->pos, "!~", 2) == 0)
            m->op = TOCSIN_PROMEXPR_NRE;
        else if (strncmp(l->s + l->pos, "!=", 2) == 0)
            m->op = TOCSIN_PROMEXPR_NE;
        else if (l->s[l->pos] == '=')
            m->op = TOCSIN_PROMEXPR_EQ;
        else {
            free(m->label);
            m->label = NULL;
            return pe_fail(l, "expected =, !=, =~ or !~ after the label name");
        }
        l->pos += m->op == TOCSIN_PROMEXPR_EQ ? 1 : 2;
        if (!(m->value = pe_string(l))) {
            free(m->label);
            m->label = NULL;
            return -1;
        }
        sel->nmatchers++;
        m->label_len = strlen(m->label);
        m->value_len = strlen(m->value);
        m->is_name = strcmp(m->label, "__name__") == 0;
        m->simple = !strpbrk(m->value, "\\^$[](){}?+") &&
                    pe_stars_follow_dots(m->value);
        if (m->op == TOCSIN_PROMEXPR_RE || m->op == TOCSIN_PROMEXPR_NRE) {
            int rc;

            /* Anchored at both ends, as PromQL's matchers are. */
            if ((size_t)snprintf(pattern, sizeof(pattern), "^(%s)$", m->value) >=
                sizeof(pattern))
                return pe_fail(l, "regular expression too long");
            if ((rc = regcomp(&m->re, pattern, REG_EXTENDED | REG_NOSUB)) != 0) {
                char why[128];

                regerror(rc, &m->re, why, sizeof(why));
                m->op = TOCSIN_PROMEXPR_EQ; /* nothing compiled to free */
                snprintf(l->err, l->errlen, "label %s: \"%s\" is not a valid "
                         "extended regular expression: %s", m->label, m->value, why);
                return -1;
            }
        }
        if (!pe_take(l, ',')) {
            if (!pe_take(l, '}'))
                return pe_fail(l, "expected ',' or '}' in the label matchers");
            break;
        }
    }
done:
    sel->metric_len = sel->metric ? strlen(sel->metric) : 0;
    if (!sel->metric && sel->nmatchers == 0)
        return pe_fail(l, "a selector needs a metric name or a label matcher");
    return 0;
}

/* A selector and the ')' closing the call it is the last argument of. */
static int pe_selector_closed(struct pe_lex *l, struct tocsin_promexpr_selector *sel)
{
    if (pe_selector(l, sel) < 0)
        return -1;
    if (!pe_take(l, ')'))
        return pe_fail(l, "expected ')' after the selector");
    return 0;
}

/* The keyword at the cursor when it is `word` followed by '(' (blanks
 * allowed), which is then taken. */
static int pe_call(struct pe_lex *l, const char *word)
{
    size_t n = strlen(word), p;

    pe_blanks(l);
    if (strncmp(l->s + l->pos, word, n) != 0)
        return 0;
    p = l->pos + n;
    while (l->s[p] == ' ' || l->s[p] == '\t')
        p++;
    if (l->s[p] != '(')
        return 0;
    l->pos = p + 1;
    return 1;
}

/* A number token. */
static int pe_number(struct pe_lex *l, double *out, const char *what)
{
    char *end;

    pe_blanks(l);
    *out = strtod(l->s + l->pos, &end);
    if (end == l->s + l->pos || !isfinite(*out))
        return pe_fail(l, what);
    l->pos = (size_t)(end - l->s);
    return 0;
}

/* "pNN(" for p50, p95, p99, p999: the quantile 0.NN. */
static int pe_pcall(struct pe_lex *l, double *q)
{
    size_t p, digits;

    pe_blanks(l);
    p = l->pos + 1;
    if (l->s[l->pos] != 'p')
        return 0;
    digits = strspn(l->s + p, "0123456789");
    if (digits < 2 || digits > 4 || l->s[p + digits] != '(')
        return 0;
    *q = strtod(l->s + p, NULL) / pow(10, (double)digits);
    l->pos = p + digits + 1;
    return 1;
}

/* The expression after "NAME:", up to the options. */
static int pe_body(struct pe_lex *l, struct tocsin_promexpr *e)
{
    int pcall = 0;

    if (pe_call(l, "rate") || pe_call(l, "increase")) {
        if (pe_selector_closed(l, &e->sel[0]) < 0)
            return -1;
        e->nsel = 1;
        e->kind = TOCSIN_PROMEXPR_RATE;
        if (!pe_take(l, '/'))
            return 0;
        if (!pe_call(l, "rate") && !pe_call(l, "increase"))
            return pe_fail(l, "a ratio divides a rate(...) by another rate(...)");
        goto denominator;
    }
    if (pe_call(l, "ratio")) {
        if (pe_selector(l, &e->sel[0]) < 0)
            return -1;
        if (!pe_take(l, ','))
            return pe_fail(l, "ratio(...) takes two selectors separated by ','");
        goto denominator;
    }
    if (pe_call(l, "quantile") || pe_call(l, "histogram_quantile") ||
        (pcall = pe_pcall(l, &e->q))) {
        if (!pcall) {
            if (pe_number(l, &e->q, "expected the quantile, such as 0.99") < 0)
                return -1;
            if (!pe_take(l, ','))
                return pe_fail(l, "expected ',' after the quantile");
        }
        if (e->q < 0 || e->q > 1)
            return pe_fail(l, "the quantile must be between 0 and 1");
        if (pe_call(l, "rate") || pe_call(l, "increase")) {
            if (pe_selector_closed(l, &e->sel[0]) < 0)
                return -1;
        } else if (pe_selector(l, &e->sel[0]) < 0) {
            return -1;
        }
        e->nsel = 1;
        if (!e->sel[0].metric)
            return pe_fail(l, "a quantile needs the histogram's metric name");
        {
            size_t n = strlen(e->sel[0].metric);
            char *bucket;

            if (!(n > 7 && strcmp(e->sel[0].metric + n - 7, "_bucket") == 0)) {
                if (!(bucket = malloc(n + 8))) {
                    snprintf(l->err, l->errlen, "out of memory");
                    return -1;
                }
                memcpy(bucket, e->sel[0].metric, n);
                memcpy(bucket + n, "_bucket", 8);
                free(e->sel[0].metric);
                e->sel[0].metric = bucket;
                e->sel[0].metric_len = n + 7;
            }
        }
        if (!pe_take(l, ')'))
            return pe_fail(l, "expected ')' after the histogram");
        e->kind = TOCSIN_PROMEXPR_QUANTILE;
        return 0;
    }
    if (pe_call(l, "value") ? pe_selector_closed(l, &e->sel[0]) < 0
                             : pe_selector(l, &e->sel[0]) < 0)
        return -1;
    e->nsel = 1;
    e->kind = TOCSIN_PROMEXPR_VALUE;
    return 0;

denominator:
    if (pe_selector_closed(l, &e->sel[1]) < 0)
        return -1;
    e->nsel = 2;
    e->kind = TOCSIN_PROMEXPR_RATIO;
    return 0;
}

/* The next blank-separated word, into word (len bytes). 0 at the end. */
static size_t pe_word(struct pe_lex *l, char *word, size_t len)
{
    size_t start, n;

    pe_blanks(l);
    start = l->pos;
    while (l->s[l->pos] && l->s[l->pos] != ' ' && l->s[l->pos] != '\t')
        l->pos++;
    n = l->pos - start;
    if (n >= len)
        n = len - 1;
    memcpy(word, l->s + start, n);
    word[n] = '\0';
    return l->pos - start;
}

static int pe_uom_valid(const char *u)
{
    static const char *const uoms[] = {"", "s", "ms", "us", "%", "B", "KB", "MB",
                                       "GB", "TB", "c"};
    size_t i;

    for (i = 0; i < sizeof(uoms) / sizeof(uoms[0]); i++)
        if (strcmp(u, uoms[i]) == 0)
            return 1;
    return 0;
}

/* The options after the expression. */
static int pe_options(struct pe_lex *l, struct tocsin_promexpr *e)
{
    char word[64], value[128], why[256];
    size_t start;

    for (;;) {
        if (!pe_word(l, word, sizeof(word)))
            return 0;
        start = l->pos;
        if (!pe_word(l, value, sizeof(value))) {
            snprintf(l->err, l->errlen, "'%s' needs a value", word);
            return -1;
        }
        if (strcmp(word, "by") == 0) {
            char *p = value, *comma;

            do {
                comma = strchr(p, ',');
                if (comma)
                    *comma = '\0';
                if (!*p || e->nby == TOCSIN_PROMEXPR_MAX_BY) {
                    l->pos = start;
                    return pe_fail(l, "'by' takes up to 8 label names, "
                                      "separated by ','");
                }
                if (!(e->by[e->nby++] = strdup(p))) {
                    snprintf(l->err, l->errlen, "out of memory");
                    return -1;
                }
                p = comma ? comma + 1 : NULL;
            } while (p);
        } else if (strcmp(word, "min_volume") == 0 || strcmp(word, "scale") == 0) {
            double *dst = word[0] == 'm' ? &e->min_volume : &e->scale;
            char *end;

            *dst = strtod(value, &end);
            if (*end || end == value || !isfinite(*dst) || *dst < 0) {
                l->pos = start;
                snprintf(why, sizeof(why), "'%s' takes a number that is not negative",
                         word);
                return pe_fail(l, why);
            }
        } else if (strcmp(word, "warning") == 0 || strcmp(word, "critical") == 0) {
            struct tocsin_range *r = word[0] == 'w' ? &e->th.warning : &e->th.critical;
            char rerr[128];

            if (tocsin_range_parse(value, r, rerr, sizeof(rerr)) < 0) {
                snprintf(l->err, l->errlen, "%s: %s", word, rerr);
                return -1;
            }
        } else if (strcmp(word, "unit") == 0) {
            if (!pe_uom_valid(value)) {
                snprintf(l->err, l->errlen, "unit \"%s\" is not one of s, ms, us, "
                         "%%, B, KB, MB, GB, TB, c", value);
                return -1;
            }
            memcpy(e->uom, value, strlen(value) + 1);
        } else {
            l->pos = start - strlen(word);
            snprintf(why, sizeof(why), "unknown word '%s' (expected by, min_volume, "
                     "warning, critical, unit or scale)", word);
            return pe_fail(l, why);
        }
    }
}

int tocsin_promexpr_parse(const char *text, struct tocsin_promexpr *e,
                          char *err, size_t errlen)
{
    struct pe_lex l = { .s = text, .pos = 0, .err = err, .errlen = errlen };
    size_t start;

    memset(e, 0, sizeof(*e));
    e->scale = 1;
    pe_blanks(&l);
    start = l.pos;
    while (isalnum((unsigned char)text[l.pos]) || strchr("_.-", text[l.pos]) != NULL)
        if (!text[l.pos++])
            break;
    if (l.pos == start || text[l.pos] != ':' ||
        (text[l.pos + 1] != ' ' && text[l.pos + 1] != '\t')) {
        snprintf(err, errlen, "expected \"NAME: EXPRESSION\" (a name of letters, "
                 "digits, '_', '.' or '-', then ': ')");
        goto fail;
    }
    if (!(e->name = strndup(text + start, l.pos - start))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    l.pos++;
    if (pe_body(&l, e) < 0 || pe_options(&l, e) < 0)
        goto fail;
    if (e->kind == TOCSIN_PROMEXPR_RATIO && !e->uom[0] && e->scale == 1)
        memcpy(e->uom, "%", 2);
    else if (e->kind == TOCSIN_PROMEXPR_QUANTILE && !e->uom[0] && e->scale == 1)
        snprintf(e->uom, sizeof(e->uom), "s");
    if (e->min_volume > 0 && e->kind != TOCSIN_PROMEXPR_RATIO &&
        e->kind != TOCSIN_PROMEXPR_QUANTILE) {
        snprintf(err, errlen, "min_volume applies to a ratio or a quantile only");
        goto fail;
    }
    return 0;
fail:
    tocsin_promexpr_free(e);
    return -1;
}

void tocsin_promexpr_free(struct tocsin_promexpr *e)
{
    size_t i, j;

    for (i = 0; i < 2; i++) {
        free(e->sel[i].metric);
        for (j = 0; j < e->sel[i].nmatchers; j++) {
            struct tocsin_promexpr_matcher *m = &e->sel[i].matchers[j];

            if (m->op == TOCSIN_PROMEXPR_RE || m->op == TOCSIN_PROMEXPR_NRE)
                regfree(&m->re);
            free(m->label);
            free(m->value);
        }
    }
    for (i = 0; i < e->nby; i++)
        free(e->by[i]);
    free(e->name);
    memset(e, 0, sizeof(*e));
}

int tocsin_promexpr_needs_rate(const struct tocsin_promexpr *e)
{
    return e->kind != TOCSIN_PROMEXPR_VALUE;
}

/* ------------------------------------------------------------------ */
/* Collecting the series of one scrape                                 */
/* ------------------------------------------------------------------ */

/* Selectors whose verdict on a name is remembered while the samples of
 * one family follow one another. */
#define PE_CACHED 128

struct pe_collect {
    const struct tocsin_promexpr *exprs;
    size_t n;
    struct tocsin_promexpr_scrape *scrape;
    struct tocsin_promtext_error *perr;
    char last[256];             /* the name last judged, if it fitted */
    size_t last_len;            /* 0: none */
    unsigned char name_ok[PE_CACHED]; /* per expression x 2 + selector */
};

/* The value of label `name` on sample `s` (missing: ""). */
static const char *pe_label(const struct tocsin_promtext_sample *s, const char *name,
                            size_t n, size_t *len)
{
    size_t i;

    for (i = 0; i < s->nlabels; i++)
        if (s->labels[i].name_len == n && memcmp(s->labels[i].name, name, n) == 0) {
            *len = s->labels[i].value_len;
            return s->labels[i].value;
        }
    *len = 0;
    return "";
}

/* 1 when s[0..sn) matches all of p[0..pn), a pattern of literal bytes,
 * '.' (one UTF-8 character) and ".*" (any run). Backtracks at each ".*":
 * O(sn^k) for k of them, which patterns written by hand keep small. */
static int pe_glob(const char *p, size_t pn, const char *s, size_t sn)
{
    size_t i, step;

    while (pn) {
        if (pn >= 2 && p[0] == '.' && p[1] == '*') {
            p += 2;
            pn -= 2;
            if (!pn)
                return 1;
            /* A literal tail: compare it with the end of s. */
            if (!memchr(p, '.', pn))
                return sn >= pn && memcmp(s + sn - pn, p, pn) == 0;
            for (i = 0; i <= sn; i++)
                if (pe_glob(p, pn, s + i, sn - i))
                    return 1;
            return 0;
        }
        if (!sn)
            return 0;
        step = 1;
        if (p[0] == '.') {
            if ((step = tocsin_utf8_len(s, sn)) == 0)
                step = 1;
        } else if (p[0] != s[0]) {
            return 0;
        }
        p++;
        pn--;
        s += step;
        sn -= step;
    }
    return sn == 0;
}

/* A simple pattern (see pe_glob) with '|' alternatives, anchored. */
static int pe_simple_match(const char *re, size_t rn, const char *s, size_t sn)
{
    const char *bar;

    for (;;) {
        bar = memchr(re, '|', rn);
        if (pe_glob(re, bar ? (size_t)(bar - re) : rn, s, sn))
            return 1;
        if (!bar)
            return 0;
        rn -= (size_t)(bar + 1 - re);
        re = bar + 1;
    }
}

/* 1 when the value v[0..len) satisfies matcher m. */
static int pe_matcher_hit(const struct tocsin_promexpr_matcher *m, const char *v,
                          size_t len)
{
    char small[256], *copy;
    int hit;

    if (m->op == TOCSIN_PROMEXPR_EQ || m->op == TOCSIN_PROMEXPR_NE)
        hit = m->value_len == len && memcmp(m->value, v, len) == 0;
    else if (m->simple)
        hit = pe_simple_match(m->value, m->value_len, v, len);
    else {
        if (!(copy = len < sizeof(small) ? small : malloc(len + 1)))
            return 0;
        memcpy(copy, v, len);
        copy[len] = '\0';
        hit = regexec(&m->re, copy, 0, NULL, 0) == 0;
        if (copy != small)
            free(copy);
    }
    return hit == (m->op == TOCSIN_PROMEXPR_EQ || m->op == TOCSIN_PROMEXPR_RE);
}

/* 1 when the name of `s` suits the selector: its metric and its
 * __name__ matchers. */
static int pe_name_matches(const struct tocsin_promexpr_selector *sel,
                           const struct tocsin_promtext_sample *s)
{
    size_t i;

    if (sel->metric && (sel->metric_len != s->name_len ||
                        memcmp(sel->metric, s->name, s->name_len) != 0))
        return 0;
    for (i = 0; i < sel->nmatchers; i++)
        if (sel->matchers[i].is_name &&
            !pe_matcher_hit(&sel->matchers[i], s->name, s->name_len))
            return 0;
    return 1;
}

/* 1 when the labels of `s` satisfy the selector's other matchers. */
static int pe_labels_match(const struct tocsin_promexpr_selector *sel,
                           const struct tocsin_promtext_sample *s)
{
    const char *v;
    size_t i, len;

    for (i = 0; i < sel->nmatchers; i++) {
        if (sel->matchers[i].is_name)
            continue;
        v = pe_label(s, sel->matchers[i].label, sel->matchers[i].label_len, &len);
        if (!pe_matcher_hit(&sel->matchers[i], v, len))
            return 0;
    }
    return 1;
}

/* Append to buf (grown as needed) n bytes of s. Returns 0 or -1. */
static int pe_put(char **buf, size_t *used, size_t *cap, const char *s, size_t n)
{
    if (*used + n + 1 > *cap) {
        size_t want = *cap ? *cap * 2 : 128;
        char *grown;

        while (want < *used + n + 1)
            want *= 2;
        if (!(grown = realloc(*buf, want)))
            return -1;
        *buf = grown;
        *cap = want;
    }
    memcpy(*buf + *used, s, n);
    *used += n;
    (*buf)[*used] = '\0';
    return 0;
}

/* Keep sample `s` for selector `sel` of expression `ei`. */
static int pe_keep(struct pe_collect *c, unsigned ei, unsigned sel,
                   const struct tocsin_promtext_sample *s)
{
    const struct tocsin_promexpr *e = &c->exprs[ei];
    struct tocsin_promexpr_scrape *sc = c->scrape;
    struct tocsin_promexpr_series *se;
    char *key = NULL, *group = NULL;
    size_t kused = 0, kcap = 0, gused = 0, gcap = 0, i, len;
    const char *v;
    int fail = 0;

    if (sc->n == TOCSIN_PROMEXPR_MAX_SERIES)
        return -2;
    if (sc->n == sc->cap) {
        size_t want = sc->cap ? sc->cap * 2 : 64;
        struct tocsin_promexpr_series *grown = realloc(sc->series,
                                                       want * sizeof(*grown));

        if (!grown)
            return -2;
        sc->series = grown;
        sc->cap = want;
    }
    fail |= pe_put(&key, &kused, &kcap, s->name, s->name_len);
    for (i = 0; i < s->nlabels; i++) {
        fail |= pe_put(&key, &kused, &kcap, "\001", 1);
        fail |= pe_put(&key, &kused, &kcap, s->labels[i].name, s->labels[i].name_len);
        fail |= pe_put(&key, &kused, &kcap, "=", 1);
        fail |= pe_put(&key, &kused, &kcap, s->labels[i].value, s->labels[i].value_len);
    }
    fail |= pe_put(&group, &gused, &gcap, "", 0);
    for (i = 0; i < e->nby; i++) {
        v = pe_label(s, e->by[i], strlen(e->by[i]), &len);
        if (i)
            fail |= pe_put(&group, &gused, &gcap, ",", 1);
        fail |= pe_put(&group, &gused, &gcap, v, len);
    }
    if (fail) {
        free(key);
        free(group);
        return -2;
    }
    se = &sc->series[sc->n++];
    se->expr = ei;
    se->sel = sel;
    se->key = key;
    se->group = group;
    se->value = s->value;
    se->le = NAN;
    if (e->kind == TOCSIN_PROMEXPR_QUANTILE) {
        char text[64], *end;

        v = pe_label(s, "le", 2, &len);
        if (len == 0 || len >= sizeof(text)) {
            se->le = NAN;
        } else {
            memcpy(text, v, len);
            text[len] = '\0';
            se->le = strtod(text, &end);
            if (*end)
                se->le = NAN;
        }
    }
    return 0;
}

/* The parser's callback: keep the sample for every selector it matches. */
static int pe_on_sample(void *ud, const struct tocsin_promtext_sample *s)
{
    struct pe_collect *c = ud;
    unsigned i, j;
    int rc;

    int same;

    c->scrape->samples++;
    same = c->last_len && c->last_len == s->name_len &&
           memcmp(c->last, s->name, s->name_len) == 0;
    if (!same && c->n * 2 <= PE_CACHED) {
        for (i = 0; i < c->n; i++)
            for (j = 0; j < c->exprs[i].nsel; j++)
                c->name_ok[i * 2 + j] = (unsigned char)pe_name_matches(
                    &c->exprs[i].sel[j], s);
        c->last_len = s->name_len < sizeof(c->last) ? s->name_len : 0;
        memcpy(c->last, s->name, c->last_len);
        same = 1;
    }
    for (i = 0; i < c->n; i++)
        for (j = 0; j < c->exprs[i].nsel; j++)
            if ((same ? c->name_ok[i * 2 + j]
                      : pe_name_matches(&c->exprs[i].sel[j], s)) &&
                pe_labels_match(&c->exprs[i].sel[j], s) &&
                (rc = pe_keep(c, i, j, s)) != 0) {
                c->perr->line = s->line;
                snprintf(c->perr->reason, sizeof(c->perr->reason),
                         c->scrape->n == TOCSIN_PROMEXPR_MAX_SERIES
                             ? "more than %d matching series"
                             : "out of memory (%d)", TOCSIN_PROMEXPR_MAX_SERIES);
                return rc;
            }
    return 0;
}

static int pe_series_cmp(const void *a, const void *b)
{
    const struct tocsin_promexpr_series *x = a, *y = b;

    if (x->expr != y->expr)
        return x->expr < y->expr ? -1 : 1;
    if (x->sel != y->sel)
        return x->sel < y->sel ? -1 : 1;
    return strcmp(x->key, y->key);
}

int tocsin_promexpr_collect(const struct tocsin_promexpr *exprs, size_t n,
                            const char *text, size_t len,
                            struct tocsin_promexpr_scrape *scrape,
                            struct tocsin_promtext_error *perr)
{
    struct pe_collect c = { .exprs = exprs, .n = n, .scrape = scrape, .perr = perr };
    int rc;

    rc = tocsin_promtext_parse(text, len, pe_on_sample, &c, perr);
    if (rc == 0 && scrape->n > 1)
        qsort(scrape->series, scrape->n, sizeof(*scrape->series), pe_series_cmp);
    return rc == 0 ? 0 : rc == -1 ? -1 : -2;
}

void tocsin_promexpr_scrape_reset(struct tocsin_promexpr_scrape *scrape)
{
    size_t i;

    for (i = 0; i < scrape->n; i++) {
        free(scrape->series[i].key);
        free(scrape->series[i].group);
    }
    scrape->n = 0;
    scrape->samples = 0;
    scrape->at = 0;
}

void tocsin_promexpr_scrape_free(struct tocsin_promexpr_scrape *scrape)
{
    tocsin_promexpr_scrape_reset(scrape);
    free(scrape->series);
    memset(scrape, 0, sizeof(*scrape));
}

/* ------------------------------------------------------------------ */
/* Figures                                                             */
/* ------------------------------------------------------------------ */

struct pe_bucket {
    double le;
    double count;
};

/* One group of the fan-out while it is summed. */
struct pe_group {
    const char *group;          /* borrowed from a series of `cur` */
    double sum[2];              /* per selector: value or increase */
    size_t nseries[2];
    struct pe_bucket *b;
    size_t nb, capb;
};

double tocsin_promexpr_quantile(double q, const double *les, double *counts,
                                size_t n)
{
    double total, rank, start, prev_count;
    size_t i;

    if (n < 2 || !isinf(les[n - 1]) || les[n - 1] < 0)
        return NAN;
    /* Buckets that went down (a reset seen in some only) are raised to
     * their predecessor, as Prometheus does. */
    for (i = 1; i < n; i++)
        if (counts[i] < counts[i - 1])
            counts[i] = counts[i - 1];
    total = counts[n - 1];
    if (!(total > 0))
        return NAN;
    rank = q * total;
    for (i = 0; i < n - 1 && counts[i] < rank; i++)
        ;
    if (i == n - 1)
        return les[n - 2];
    if (i == 0 && les[0] <= 0)
        return les[0];
    start = i == 0 ? 0 : les[i - 1];
    prev_count = i == 0 ? 0 : counts[i - 1];
    if (counts[i] == prev_count)
        return les[i];
    return start + (les[i] - start) * (rank - prev_count) / (counts[i] - prev_count);
}

/* The series of expression `e`, selector `sel` in `sc`: [*lo, *hi). */
static void pe_range(const struct tocsin_promexpr_scrape *sc, unsigned e,
                     unsigned sel, size_t *lo, size_t *hi)
{
    size_t a = 0, b = sc->n;

    while (a < b) {                        /* first >= (e, sel) */
        size_t m = (a + b) / 2;
        const struct tocsin_promexpr_series *s = &sc->series[m];

        if (s->expr < e || (s->expr == e && s->sel < sel))
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    while (a < sc->n && sc->series[a].expr == e && sc->series[a].sel == sel)
        a++;
    *hi = a;
}

/* The previous value of the series `s`, or NULL when prev lacks it. */
static const struct tocsin_promexpr_series *
pe_find(const struct tocsin_promexpr_scrape *prev, size_t lo, size_t hi,
        const struct tocsin_promexpr_series *s)
{
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        int c = strcmp(prev->series[m].key, s->key);

        if (c == 0)
            return &prev->series[m];
        if (c < 0)
            lo = m + 1;
        else
            hi = m;
    }
    return NULL;
}

static struct pe_group *pe_group_get(struct pe_group **g, size_t *n, size_t *cap,
                                     const char *name)
{
    size_t i;

    for (i = 0; i < *n; i++)
        if (strcmp((*g)[i].group, name) == 0)
            return &(*g)[i];
    if (*n == *cap) {
        size_t want = *cap ? *cap * 2 : 8;
        struct pe_group *grown = realloc(*g, want * sizeof(*grown));

        if (!grown)
            return NULL;
        *g = grown;
        *cap = want;
    }
    memset(&(*g)[*n], 0, sizeof(**g));
    (*g)[*n].group = name;
    return &(*g)[(*n)++];
}

/* Add `inc` to bucket `le` of group `g`. */
static int pe_bucket_add(struct pe_group *g, double le, double inc)
{
    size_t i;

    for (i = 0; i < g->nb; i++)
        if (g->b[i].le == le) {
            g->b[i].count += inc;
            return 0;
        }
    if (g->nb == g->capb) {
        size_t want = g->capb ? g->capb * 2 : 16;
        struct pe_bucket *grown = realloc(g->b, want * sizeof(*grown));

        if (!grown)
            return -1;
        g->b = grown;
        g->capb = want;
    }
    g->b[g->nb].le = le;
    g->b[g->nb].count = inc;
    g->nb++;
    return 0;
}

static int pe_bucket_cmp(const void *a, const void *b)
{
    const struct pe_bucket *x = a, *y = b;

    return x->le < y->le ? -1 : x->le > y->le;
}

static int pe_result_cmp(const void *a, const void *b)
{
    const struct tocsin_promexpr_result *x = a, *y = b;

    return strcmp(x->group, y->group);
}

/* The figure of one group, into r (group already set). */
static int pe_figure(const struct tocsin_promexpr *e, struct pe_group *g,
                     double dt, struct tocsin_promexpr_result *r)
{
    r->value = NAN;
    r->increase = NAN;
    r->volume = NAN;
    r->why = NULL;
    switch (e->kind) {
    case TOCSIN_PROMEXPR_VALUE:
        r->value = g->sum[0] * e->scale;
        return 0;
    case TOCSIN_PROMEXPR_RATE:
        r->increase = g->sum[0];
        r->value = g->sum[0] / dt * e->scale;
        return 0;
    case TOCSIN_PROMEXPR_RATIO:
        r->increase = g->sum[0];
        r->volume = g->sum[1];
        break;
    case TOCSIN_PROMEXPR_QUANTILE: {
        double les[256], counts[256];
        size_t i;

        if (g->nb == 0 || g->nb > 256) {
            r->why = g->nb ? "more than 256 buckets" : "no buckets";
            return 0;
        }
        qsort(g->b, g->nb, sizeof(*g->b), pe_bucket_cmp);
        for (i = 0; i < g->nb; i++) {
            les[i] = g->b[i].le;
            counts[i] = g->b[i].count;
        }
        if (!isinf(les[g->nb - 1])) {
            r->why = "the histogram has no le=\"+Inf\" bucket";
            return 0;
        }
        r->volume = r->increase = counts[g->nb - 1];
        if (r->volume > 0 && r->volume >= e->min_volume)
            r->value = tocsin_promexpr_quantile(e->q, les, counts, g->nb) * e->scale;
        break;
    }
    }
    if (!(r->volume > 0))
        r->why = e->kind == TOCSIN_PROMEXPR_RATIO ? "nothing counted in the interval"
                                                   : "no observations in the interval";
    else if (r->volume < e->min_volume)
        r->why = "below min_volume";
    else if (e->kind == TOCSIN_PROMEXPR_RATIO)
        r->value = r->increase / r->volume * 100 * e->scale;
    return 0;
}

int tocsin_promexpr_eval(const struct tocsin_promexpr *e, unsigned index,
                         const struct tocsin_promexpr_scrape *prev,
                         const struct tocsin_promexpr_scrape *cur,
                         struct tocsin_promexpr_result **out, size_t *nout,
                         size_t *matched)
{
    struct pe_group *groups = NULL;
    struct tocsin_promexpr_result *r = NULL;
    size_t ngroups = 0, capg = 0, i, lo, hi, plo = 0, phi = 0;
    double dt = prev ? cur->at - prev->at : 0;
    unsigned sel;
    int rc = -1;

    *out = NULL;
    *nout = 0;
    *matched = 0;
    if (!(dt > 0))
        dt = 1e-9;
    /* The last selector (a ratio's denominator) makes the groups first. */
    for (sel = (unsigned)e->nsel; sel-- > 0;) {
        pe_range(cur, index, sel, &lo, &hi);
        if (prev)
            pe_range(prev, index, sel, &plo, &phi);
        if (sel == e->nsel - 1)
            *matched = hi - lo;
        for (i = lo; i < hi; i++) {
            const struct tocsin_promexpr_series *s = &cur->series[i], *p;
            struct pe_group *g;
            double inc = s->value;

            if (e->kind != TOCSIN_PROMEXPR_VALUE) {
                /* A series new since the previous scrape started from 0
                 * after it; one that went down was reset: what it holds
                 * now is what it counted since. */
                p = prev ? pe_find(prev, plo, phi, s) : NULL;
                if (p)
                    inc = tocsin_counter_increase(p->value, s->value);
                if (isnan(inc))
                    continue;
            }
            if (sel == e->nsel - 1)
                g = pe_group_get(&groups, &ngroups, &capg, s->group);
            else {
                size_t k;

                for (g = NULL, k = 0; k < ngroups && !g; k++)
                    if (strcmp(groups[k].group, s->group) == 0)
                        g = &groups[k];
                if (!g)
                    continue; /* a numerator with no denominator */
            }
            if (!g)
                goto out;
            if (e->kind == TOCSIN_PROMEXPR_QUANTILE) {
                if (isnan(s->le))
                    continue;
                if (pe_bucket_add(g, s->le, inc) < 0)
                    goto out;
            }
            g->sum[sel] += inc;
            g->nseries[sel]++;
        }
    }
    if (ngroups && !(r = calloc(ngroups, sizeof(*r))))
        goto out;
    for (i = 0; i < ngroups; i++) {
        if (!(r[i].group = strdup(groups[i].group)))
            goto out;
        pe_figure(e, &groups[i], dt, &r[i]);
    }
    if (ngroups > 1)
        qsort(r, ngroups, sizeof(*r), pe_result_cmp);
    *out = r;
    *nout = ngroups;
    r = NULL;
    rc = 0;
out:
    if (r)
        tocsin_promexpr_results_free(r, ngroups);
    for (i = 0; i < ngroups; i++)
        free(groups[i].b);
    free(groups);
    return rc;
}

void tocsin_promexpr_results_free(struct tocsin_promexpr_result *r, size_t n)
{
    size_t i;

    for (i = 0; r && i < n; i++)
        free(r[i].group);
    free(r);
}
