/*
 * http-json.h - the JSON rules of the http check: what a JSON answer must
 * say (`json_expect`) and which of its numbers are held against ranges
 * (`json_value`), with RFC 6901 pointers to the members. Used by
 * plugins/http.c; the rules are parsed once at setup and evaluated
 * against each answer.
 */
#ifndef TOCSIN_HTTP_JSON_H
#define TOCSIN_HTTP_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "tocsin-plugin.h"

/* "POINTER == VALUE" or "POINTER != VALUE". */
struct http_json_expect {
    char *pointer;       /* as written, "/status" */
    int negate;          /* 1 for "!=" */
    json_t *want;        /* the value compared with, owned */
    char *want_text;     /* the value as JSON text, for messages */
};

/* "POINTER [warning=RANGE] [critical=RANGE] [label=NAME] [unit=UOM]". */
struct http_json_value {
    char *pointer;
    char *label;         /* perfdata label, unique within the service */
    char *unit;          /* perfdata unit, "" for none */
    struct tocsin_thresholds th;
};

struct http_json_rules {
    struct http_json_expect *expects;
    size_t n_expects;
    struct http_json_value *values;
    size_t n_values;
};

/* Parse one `json_expect` rule and add it to `r`. Returns 0, or -1 with
 * the reason in err ("\"/a = 1\": no == or != between the pointer and the
 * value"). */
int http_json_add_expect(struct http_json_rules *r, const char *text, char *err,
                         size_t errlen);

/* Parse one `json_value` rule and add it to `r`; its label must differ
 * from the labels already there and from `reserved` (a NULL-terminated
 * list of the check's own perfdata labels). Returns 0, or -1 with the
 * reason in err. */
int http_json_add_value(struct http_json_rules *r, const char *text,
                        const char *const *reserved, char *err, size_t errlen);

/* Free what the rules own; `r` is left empty. */
void http_json_rules_free(struct http_json_rules *r);

/* Parse `len` bytes of `body` as one JSON text (any type at the top).
 * Returns a new reference, or NULL with the reason in err ("line 1
 * column 9: invalid token near 'down'"). */
json_t *http_json_load(const char *body, size_t len, char *err, size_t errlen);

/* The member or element `pointer` (RFC 6901: "" is the whole document,
 * "/a/0/b~1c" is key "b/c" of the first element of "a") designates in
 * `doc`, or NULL when there is none or the pointer is malformed. The
 * result is borrowed from doc. Cost: one step per reference token. */
json_t *http_json_pointer(json_t *doc, const char *pointer);

/* 1 when `e` holds for `doc`, 0 when not; a member that is absent differs
 * from every value. Numbers compare by value (1 equals 1.0). On 0, `why`
 * says what was found ("\"down\"", "missing"). */
int http_json_expect_holds(const struct http_json_expect *e, json_t *doc,
                           char *why, size_t whylen);

/* The number `v` stands for: a JSON number, true (1) or false (0), or a
 * string that is wholly a finite decimal number ("12.5"). Returns 0, or
 * -1 with what it is in why ("a string", "null", "missing"). */
int http_json_number(const json_t *v, double *out, char *why, size_t whylen);

#endif
