/*
 * labels.h - matching a service's labels against the labels a selector
 * asks for (group member_labels, a route's labels, a "K=V" filter).
 */
#ifndef TOCSIN_LABELS_H
#define TOCSIN_LABELS_H

#include <stddef.h>

#include "tocsin-plugin.h"

/* 1 when `have` (nhave entries) has a label `key` (its first `keylen`
 * bytes; need not be NUL-terminated) whose value is `value`, else 0. The
 * first label with that key decides; a labels section holds each key once.
 * O(nhave). */
int tocsin_labels_has(const struct tocsin_label *have, size_t nhave,
                      const char *key, size_t keylen, const char *value);

/* 1 when `have` has the label a "KEY=VALUE" filter `kv` names, as
 * tocsin_labels_has judges; 0 as well when `kv` has no '='. O(nhave). */
int tocsin_labels_has_kv(const struct tocsin_label *have, size_t nhave, const char *kv);

/* 1 when every label of `want` (nwant entries) is among `have` with the
 * same value, as tocsin_labels_has judges; an empty `want` matches
 * anything. O(nhave * nwant). */
int tocsin_labels_match(const struct tocsin_label *have, size_t nhave,
                        const struct tocsin_label *want, size_t nwant);

#endif
