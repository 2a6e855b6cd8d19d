/*
 * rule.c - splitting the one-line rules of check plugins (see rule.h).
 * The rule is copied once, subject and settings apart; subject, names and
 * values point into the copy.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rule.h"

static const char *skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Find the subject's bounds in `text`, copy subject and the rest into
 * r->buf as two strings, then split the rest into NAME=VALUE settings
 * unless the caller takes it whole. */
int tocsin_rule_parse(const char *text, const char *stop, const char **rest,
                      struct tocsin_rule *r, char *err, size_t errlen)
{
    const char *s, *subj, *after;
    size_t n_subj, n_text = strlen(text);
    char *p, *end;

    memset(r, 0, sizeof(*r));
    if (n_text > TOCSIN_RULE_MAX) {
        snprintf(err, errlen, "a rule is longer than %d characters", TOCSIN_RULE_MAX);
        return -1;
    }
    s = skip_blank(text);
    if (*s == '\'') {
        subj = s + 1;
        if (!(after = strchr(subj, '\''))) {
            snprintf(err, errlen, "\"%s\": the quote before \"%s\" is never closed",
                     text, subj);
            return -1;
        }
        n_subj = (size_t)(after - subj);
        after++;
    } else {
        subj = after = s;
        while (*after && *after != ' ' && *after != '\t' &&
               !(stop && strchr(stop, *after)))
            after++;
        n_subj = (size_t)(after - subj);
    }
    after = skip_blank(after);
    if (!(r->buf = malloc(n_text + 2))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(r->buf, subj, n_subj);
    r->buf[n_subj] = '\0';
    r->subject = r->buf;
    if (rest) {
        *rest = after;
        return 0;
    }
    p = r->buf + n_subj + 1;
    memcpy(p, after, strlen(after) + 1);
    while (*p) {
        char *eq;

        end = p;
        while (*end && *end != ' ' && *end != '\t')
            end++;
        if (*end)
            *end++ = '\0';
        if (!(eq = strchr(p, '=')) || eq == p) {
            snprintf(err, errlen, "\"%s\": \"%s\" is not NAME=VALUE", text, p);
            goto fail;
        }
        if (r->n == TOCSIN_RULE_SETTINGS) {
            snprintf(err, errlen, "\"%s\": more than %d settings", text,
                     TOCSIN_RULE_SETTINGS);
            goto fail;
        }
        *eq = '\0';
        r->name[r->n] = p;
        r->value[r->n] = eq + 1;
        r->n++;
        p = (char *)skip_blank(end);
    }
    return 0;

fail:
    tocsin_rule_free(r);
    return -1;
}

const char *tocsin_rule_get(const struct tocsin_rule *r, const char *name)
{
    size_t i;

    /* The last one given wins, as with options. */
    for (i = r->n; i-- > 0;)
        if (strcmp(r->name[i], name) == 0)
            return r->value[i];
    return NULL;
}

const char *tocsin_rule_unknown(const struct tocsin_rule *r, const char *const *known)
{
    size_t i, k;

    for (i = 0; i < r->n; i++) {
        for (k = 0; known[k] && strcmp(known[k], r->name[i]) != 0; k++)
            ;
        if (!known[k])
            return r->name[i];
    }
    return NULL;
}

int tocsin_rule_label_valid(const char *label)
{
    const unsigned char *p = (const unsigned char *)label;

    if (!*p)
        return 0;
    for (; *p; p++)
        if (*p == '=' || *p == '\'' || *p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int tocsin_rule_unit_valid(const char *unit)
{
    const unsigned char *p = (const unsigned char *)unit;

    if (strlen(unit) > 16)
        return 0;
    for (; *p; p++)
        if (isdigit(*p) || isspace(*p) || *p == ';' || *p == '=' || *p == '\'' ||
            *p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

void tocsin_rule_free(struct tocsin_rule *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}
