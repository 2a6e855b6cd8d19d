/*
 * svc-json.h - the JSON text helpers the HTTP API and the control socket
 * share. Text that came from checks or from the configuration (service
 * output, names, labels, history entries) may hold bytes that are not
 * UTF-8, which jansson refuses; here, and only here, such bytes are
 * repaired (each becomes U+FFFD), so that neither interface drops a
 * service or fails an answer because of what a check printed.
 */
#ifndef TOCSIN_SVC_JSON_H
#define TOCSIN_SVC_JSON_H

#include <stddef.h>

#include <jansson.h>

/* A JSON string of `s` with invalid UTF-8 repaired; json null for NULL.
 * New reference; NULL only when memory runs out. O(strlen(s)). */
json_t *tocsin_json_text(const char *s);

/* The same for the `len` bytes at `s` (no NUL needed). */
json_t *tocsin_json_textn(const char *s, size_t len);

/* Set `key` of `o` to `v` (the reference is taken over, also on failure);
 * a NULL `v` or a failure sets *bad. */
void tocsin_json_set(json_t *o, const char *key, json_t *v, int *bad);

/* Append `v` (taken over) to array `a`; a NULL `v` or a failure sets *bad. */
void tocsin_json_push(json_t *a, json_t *v, int *bad);

#endif
