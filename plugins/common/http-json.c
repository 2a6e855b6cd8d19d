/*
 * http-json.c - the JSON rules of the http check (see http-json.h): the
 * parsing of `json_expect` and `json_value` rules at setup, RFC 6901
 * pointers, and the comparisons made on each answer. Nothing here does
 * input or output; the check formats what is found.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http-json.h"
#include "common/rule.h"

/* A pointer is "" or a sequence of "/token", where '~' is only followed
 * by '0' or '1'. Returns 1 if `p` is one. */
static int pointer_valid(const char *p)
{
    if (*p && *p != '/')
        return 0;
    for (; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return 0;
    return 1;
}

/* Split `text` with tocsin_rule_parse() and check that its subject is a
 * JSON pointer. With `rest`, what follows the pointer is left unsplit. */
static int take_pointer(const char *text, const char **rest, struct tocsin_rule *rule,
                        char *err, size_t errlen)
{
    if (tocsin_rule_parse(text, rest ? "=!" : NULL, rest, rule, err, errlen) < 0)
        return -1;
    if (!pointer_valid(rule->subject)) {
        snprintf(err, errlen, "\"%s\": \"%s\" is not a JSON pointer: it starts "
                 "with '/' (\"/status\", \"/checks/0/state\"), and '~' is only "
                 "written as ~0 ('~') or ~1 ('/')", text, rule->subject);
        tocsin_rule_free(rule);
        return -1;
    }
    return 0;
}

/* Parse one `json_expect` rule into a new entry of r. */
int http_json_add_expect(struct http_json_rules *r, const char *text, char *err,
                         size_t errlen)
{
    struct http_json_expect e = {0}, *grown;
    struct tocsin_rule rule;
    const char *s;
    char *value = NULL;
    size_t n;
    json_error_t jerr;

    if (take_pointer(text, &s, &rule, err, errlen) < 0)
        return -1;
    if (!(e.pointer = strdup(rule.subject)))
        goto oom;
    if ((s[0] == '=' || s[0] == '!') && s[1] == '=') {
        e.negate = s[0] == '!';
        for (s += 2; *s == ' ' || *s == '\t'; s++)
            ;
    } else {
        snprintf(err, errlen, "\"%s\": write the pointer, == or !=, and the "
                 "value: \"/status == \\\"ok\\\"\"", text);
        goto fail;
    }
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0) {
        snprintf(err, errlen, "\"%s\": no value after %s", text,
                 e.negate ? "!=" : "==");
        goto fail;
    }
    if (!(value = strndup(s, n)))
        goto oom;
    /* JSON text ("ok" in quotes, 3, true, null), else a bare string. */
    e.want = json_loads(value, JSON_DECODE_ANY, &jerr);
    if (!e.want && !(e.want = json_string(value))) {
        snprintf(err, errlen, "\"%s\": the value is not valid UTF-8", text);
        goto fail;
    }
    if (!(e.want_text = json_dumps(e.want, JSON_ENCODE_ANY | JSON_COMPACT)))
        goto oom;
    if (!(grown = realloc(r->expects, (r->n_expects + 1) * sizeof(*grown))))
        goto oom;
    r->expects = grown;
    r->expects[r->n_expects++] = e;
    free(value);
    tocsin_rule_free(&rule);
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    tocsin_rule_free(&rule);
    free(value);
    free(e.pointer);
    free(e.want_text);
    json_decref(e.want);
    return -1;
}

/* The perfdata label a pointer gives when none is named: the pointer
 * without its first '/', the other '/' as '.', "~1" and "~0" decoded;
 * "value" for the whole document. */
static char *default_label(const char *pointer)
{
    size_t n = strlen(pointer), i, o = 0;
    char *label = malloc(n + sizeof("value"));

    if (!label)
        return NULL;
    if (n == 0) {
        memcpy(label, "value", sizeof("value"));
        return label;
    }
    for (i = 1; i < n; i++) {
        if (pointer[i] == '/')
            label[o++] = '.';
        else if (pointer[i] == '~')
            label[o++] = pointer[++i] == '1' ? '/' : '~';
        else
            label[o++] = pointer[i];
    }
    label[o] = '\0';
    return label;
}

/* Parse one `json_value` rule into a new entry of r. */
int http_json_add_value(struct http_json_rules *r, const char *text,
                        const char *const *reserved, char *err, size_t errlen)
{
    static const char *const known[] = {"warning", "critical", "label", "unit", NULL};
    struct http_json_value v = {0}, *grown;
    struct tocsin_rule rule;
    const char *label, *unit, *bad;
    char why[256];
    size_t i;

    if (take_pointer(text, NULL, &rule, err, errlen) < 0)
        return -1;
    if ((bad = tocsin_rule_unknown(&rule, known))) {
        snprintf(err, errlen, "\"%s\": unknown setting \"%s\" (warning=, "
                 "critical=, label=, unit=)", text, bad);
        goto fail;
    }
    if (tocsin_range_parse(tocsin_rule_get(&rule, "warning"), &v.th.warning, why,
                           sizeof(why)) < 0 ||
        tocsin_range_parse(tocsin_rule_get(&rule, "critical"), &v.th.critical, why,
                           sizeof(why)) < 0) {
        snprintf(err, errlen, "\"%s\": %s", text, why);
        goto fail;
    }
    unit = tocsin_rule_get(&rule, "unit");
    if (unit && !tocsin_rule_unit_valid(unit)) {
        snprintf(err, errlen, "\"%s\": \"%s\" is not a performance data "
                 "unit such as s, ms, %%, B or c", text, unit);
        goto fail;
    }
    label = tocsin_rule_get(&rule, "label");
    if (!(v.pointer = strdup(rule.subject)) || !(v.unit = strdup(unit ? unit : "")) ||
        !(v.label = label ? strdup(label) : default_label(v.pointer)))
        goto oom;
    if (!tocsin_rule_label_valid(v.label)) {
        snprintf(err, errlen, "\"%s\": \"%s\" cannot be a performance data label "
                 "(no '=', quote or control character); name one with label=",
                 text, v.label);
        goto fail;
    }
    for (i = 0; i < r->n_values; i++)
        if (strcmp(r->values[i].label, v.label) == 0) {
            snprintf(err, errlen, "\"%s\": label \"%s\" is already used by \"%s\"; "
                     "name another with label=", text, v.label, r->values[i].pointer);
            goto fail;
        }
    for (i = 0; reserved && reserved[i]; i++)
        if (strcmp(reserved[i], v.label) == 0) {
            snprintf(err, errlen, "\"%s\": label \"%s\" is the check's own; name "
                     "another with label=", text, v.label);
            goto fail;
        }
    if (!(grown = realloc(r->values, (r->n_values + 1) * sizeof(*grown))))
        goto oom;
    r->values = grown;
    r->values[r->n_values++] = v;
    tocsin_rule_free(&rule);
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    tocsin_rule_free(&rule);
    free(v.pointer);
    free(v.label);
    free(v.unit);
    return -1;
}

void http_json_rules_free(struct http_json_rules *r)
{
    size_t i;

    for (i = 0; i < r->n_expects; i++) {
        free(r->expects[i].pointer);
        free(r->expects[i].want_text);
        json_decref(r->expects[i].want);
    }
    for (i = 0; i < r->n_values; i++) {
        free(r->values[i].pointer);
        free(r->values[i].label);
        free(r->values[i].unit);
    }
    free(r->expects);
    free(r->values);
    memset(r, 0, sizeof(*r));
}

json_t *http_json_load(const char *body, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body ? body : "", len, JSON_DECODE_ANY, &jerr);

    if (!doc)
        snprintf(err, errlen, "line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
    return doc;
}

/* Walk the pointer one reference token at a time. A token is decoded
 * into `key` (bounded by the pointer's length, so it always fits). */
json_t *http_json_pointer(json_t *doc, const char *pointer)
{
    size_t plen = strlen(pointer), n;
    char *key = NULL, *endp;
    const char *p = pointer;
    json_t *at = doc;
    unsigned long idx;

    if (!pointer_valid(pointer))
        return NULL;
    if (plen == 0)
        return doc;
    if (!(key = malloc(plen + 1)))
        return NULL;
    while (at && *p == '/') {
        p++;
        for (n = 0; *p && *p != '/'; p++) {
            if (*p == '~') {
                key[n++] = p[1] == '1' ? '/' : '~';
                p++;
            } else {
                key[n++] = *p;
            }
        }
        key[n] = '\0';
        if (json_is_object(at)) {
            at = json_object_get(at, key);
        } else if (json_is_array(at)) {
            /* Digits only, no leading zero; "-" (past the end) is none. */
            if (n == 0 || !isdigit((unsigned char)key[0]) || (key[0] == '0' && n > 1)) {
                at = NULL;
                break;
            }
            errno = 0;
            idx = strtoul(key, &endp, 10);
            at = (*endp || errno) ? NULL : json_array_get(at, idx);
        } else {
            at = NULL;
        }
    }
    free(key);
    return at;
}

/* What `v` is, as compact JSON cut to fit `len` ("..." when cut), or
 * "missing". */
static void describe(const json_t *v, char *out, size_t len)
{
    char *text;

    if (!v) {
        snprintf(out, len, "missing");
        return;
    }
    text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text) {
        snprintf(out, len, "%s", json_is_object(v) ? "an object" :
                 json_is_array(v) ? "an array" : "a value");
        return;
    }
    if (len > 4 && strlen(text) >= len)
        snprintf(out, len, "%.*s...", (int)(len - 4), text);
    else
        snprintf(out, len, "%s", text);
    free(text);
}

int http_json_expect_holds(const struct http_json_expect *e, json_t *doc,
                           char *why, size_t whylen)
{
    json_t *v = http_json_pointer(doc, e->pointer);
    int equal;

    if (!v)
        equal = 0;
    else if (json_is_number(v) && json_is_number(e->want))
        equal = json_number_value(v) == json_number_value(e->want);
    else
        equal = json_equal(v, e->want);
    if (equal != e->negate)
        return 1;
    describe(v, why, whylen);
    return 0;
}

int http_json_number(const json_t *v, double *out, char *why, size_t whylen)
{
    const char *s;
    char *end;
    double d;

    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v) ? 1 : 0;
        return 0;
    }
    if (json_is_string(v)) {
        s = json_string_value(v);
        errno = 0;
        d = strtod(s, &end);
        if (*s && !isspace((unsigned char)*s) && end != s && *end == '\0' &&
            errno == 0 && isfinite(d)) {
            *out = d;
            return 0;
        }
    }
    if (!v)
        snprintf(why, whylen, "missing");
    else if (json_is_string(v))
        snprintf(why, whylen, "a string that is not a number");
    else if (json_is_null(v))
        snprintf(why, whylen, "null");
    else if (json_is_object(v))
        snprintf(why, whylen, "an object");
    else
        snprintf(why, whylen, "an array");
    return -1;
}
