/*
 * rule.h - the one-line rules that check plugins take in string-list
 * options, "SUBJECT [NAME=VALUE ...]": a JSON pointer with its ranges in
 * the http check, a Redis key with its ranges in the redis check. The
 * subject is the first word, or text between single quotes when it holds
 * blanks; the settings follow, separated by blanks.
 */
#ifndef TOCSIN_PLUGIN_RULE_H
#define TOCSIN_PLUGIN_RULE_H

#include <stddef.h>

/* Longest rule text accepted, and most settings on one rule. */
#define TOCSIN_RULE_MAX 1024
#define TOCSIN_RULE_SETTINGS 8

struct tocsin_rule {
    char *subject;                 /* points into buf */
    size_t n;                      /* settings found */
    const char *name[TOCSIN_RULE_SETTINGS];   /* into buf: "warning" */
    const char *value[TOCSIN_RULE_SETTINGS];  /* into buf: "100" */
    char *buf;                     /* one allocation holding it all; owned */
};

/* Split `text` into `r`. `stop` lists characters that also end an
 * unquoted subject ("=!" for "/status==ok"), or is NULL; `rest`, when not
 * NULL, receives what follows the subject, unsplit, and no settings are
 * read. `what` names the rule in messages ("json_value"). Returns 0, or
 * -1 with the reason in err; r then owns nothing. */
int tocsin_rule_parse(const char *text, const char *stop, const char **rest,
                      struct tocsin_rule *r, char *err, size_t errlen);

/* The value of setting `name`, or NULL when the rule has none. */
const char *tocsin_rule_get(const struct tocsin_rule *r, const char *name);

/* The first setting whose name is not in `known` (NULL-terminated), or
 * NULL when all are known. */
const char *tocsin_rule_unknown(const struct tocsin_rule *r, const char *const *known);

/* 1 if `label` may stand as a performance data label: not empty, no '=',
 * no quote, no control character. */
int tocsin_rule_label_valid(const char *label);

/* 1 if `unit` may stand as a performance data unit: up to 16 characters,
 * none a digit, blank, ';', '=', quote or control character. */
int tocsin_rule_unit_valid(const char *unit);

/* Free what `r` owns; it is left empty. */
void tocsin_rule_free(struct tocsin_rule *r);

#endif
