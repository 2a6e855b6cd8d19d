/*
 * svc-json.h - what the HTTP API and the control socket share about
 * services: the one builder of a service's JSON object (each interface
 * asks for its own style of it), the one selection of services
 * (struct tocsin_svc_filter) and the JSON text helpers. Text that came
 * from checks or from the configuration (service output, names, labels,
 * history entries) may hold bytes that are not UTF-8, which jansson
 * refuses; here, and only here, such bytes are repaired (each becomes
 * U+FFFD), so that neither interface drops a service or fails an answer
 * because of what a check printed.
 */
#ifndef TOCSIN_SVC_JSON_H
#define TOCSIN_SVC_JSON_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "alerting/alerting.h"
#include "config/config.h"
#include "engine/svc-view.h"

/* ------------------------------------------------------------------ */
/* JSON text                                                           */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* A service as JSON                                                   */
/* ------------------------------------------------------------------ */

/* Which interface's form of a service object to build. */
enum tocsin_svc_json_style {
    /* /api/v1/services: lower-case states ("pending" for state and
     * hard_state before the first result), RFC 3339 times, the check,
     * parsed output with long_output and perfdata, and every key always
     * present (null when there is nothing to say). */
    TOCSIN_SVC_JSON_API,
    /* The control socket (tocsinctl): upper-case states ("PENDING" for
     * state only), epoch seconds, a "checked" key, the raw first line of
     * output, and incident, acknowledged and downtime only when set. */
    TOCSIN_SVC_JSON_CONTROL
};

/* Everything `style` says about service `s` of `conf` in its current
 * state `v` with alerting state `inc` (may be NULL: none), the open
 * incident's priority and the targets it missed among it (keys
 * "priority" and "breaches"); a downtime counts while
 * it ends after `now`. Every text is repaired (tocsin_json_text). New
 * reference; NULL when memory runs out. O(output + labels + perfdata). */
json_t *tocsin_svc_json(const struct tocsin_config *conf, const struct tocsin_service_conf *s,
                        const struct tocsin_svc_view *v, const struct tocsin_incident *inc,
                        enum tocsin_svc_json_style style, time_t now);

/* ------------------------------------------------------------------ */
/* Selecting services                                                  */
/* ------------------------------------------------------------------ */

#define TOCSIN_SVC_PENDING 4           /* the state bit of a service not checked yet */
#define TOCSIN_SVC_FILTER_MAX_LABELS 16

/* Which services a request asks for. Every condition set must hold; a
 * zeroed filter selects every service. Each interface parses its own
 * request form into one; release with tocsin_svc_filter_free. */
struct tocsin_svc_filter {
    unsigned states;                   /* bit 1 << state (TOCSIN_OK..TOCSIN_UNKNOWN,
                                          TOCSIN_SVC_PENDING) per state; 0: any */
    char *labels[TOCSIN_SVC_FILTER_MAX_LABELS]; /* "KEY=VALUE", all needed (owned) */
    size_t nlabels;
    char *name;                        /* the service's name, or NULL: any (owned) */
};

/* Add label filter `kv` ("KEY=VALUE", copied). Returns 0, -1 when the
 * filter already holds TOCSIN_SVC_FILTER_MAX_LABELS, -2 when memory runs
 * out. */
int tocsin_svc_filter_add_label(struct tocsin_svc_filter *f, const char *kv);

/* Set the name `name` (copied) must have. Returns 0, or -1 when memory
 * runs out. */
int tocsin_svc_filter_set_name(struct tocsin_svc_filter *f, const char *name);

/* 1 when service `s` in state `v` is one `f` selects, else 0. Labels are
 * judged by tocsin_labels_has_kv. O(nlabels * s->nlabels). */
int tocsin_svc_filter_match(const struct tocsin_svc_filter *f,
                            const struct tocsin_service_conf *s,
                            const struct tocsin_svc_view *v);

/* Release what `f` holds and zero it (it selects everything again). */
void tocsin_svc_filter_free(struct tocsin_svc_filter *f);

/* Lower-case state names for JSON, filters and CSS classes; "pending"
 * before a service's first result. The string is static. */
const char *tocsin_svc_state_word(int checked, enum tocsin_state st);

#endif
