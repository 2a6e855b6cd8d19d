/*
 * saved.h - the byte formats of what the store keeps for the core: the
 * alert of an outbox item, a service's alerting state (its incident,
 * acknowledgement and downtime) and a service's check state.
 *
 * Unlike the worker frames (engine/proto.h, two ends of one binary), these
 * bytes outlive the build that wrote them. Each blob starts with a kind
 * byte and a version byte, then explicit little-endian fields: integers as
 * u8/u16/u32/u64 (signed ones in two's complement), strings as a u32
 * length and the bytes (no NUL; NULL is saved as ""), doubles as their
 * IEEE-754 bits in a u64. Every field is bounds-checked when read. A blob
 * of another kind, an unknown version, cut short, with a length that runs
 * past its end, a value out of range or bytes left over is refused with a
 * warning naming the kind, the row and the version, and never misread.
 * See docs/internals/saved-formats.md for the layouts and the rules for changing
 * them.
 *
 * Decoding copies what it returns: a decoded record owns its strings and
 * arrays until its tocsin_saved_*_free, and does not point into the blob.
 */
#ifndef TOCSIN_SAVED_H
#define TOCSIN_SAVED_H

#include <stddef.h>
#include <stdint.h>

#include "engine/service.h"
#include "lib/buf.h"
#include "tocsin-plugin.h"

/* The first byte of a blob: what it holds. */
enum tocsin_saved_kind {
    TOCSIN_SAVED_ALERT = 'A',     /* an outbox item's alert */
    TOCSIN_SAVED_INCIDENT = 'I',  /* state kind "alerting" */
    TOCSIN_SAVED_SERVICE = 'S'    /* state kind "service" */
};

/* The versions this build writes (the second byte). Version 0 is the
 * unversioned native layout of stores of schema 1; it has no header and
 * is read only by tocsin_saved_upgrade. */
#define TOCSIN_SAVED_ALERT_VERSION 3
#define TOCSIN_SAVED_INCIDENT_VERSION 2
#define TOCSIN_SAVED_SERVICE_VERSION 2

/* The store's state kinds (tocsin_state_put) that hold saved blobs. */
#define TOCSIN_SAVED_STATE_INCIDENT "alerting"
#define TOCSIN_SAVED_STATE_SERVICE "service"

/* A decoded outbox alert. `alert` is complete except for grouped,
 * deadline and retry_after (never saved); its strings and labels belong
 * to the record. */
struct tocsin_saved_alert {
    struct tocsin_alert alert;
    int64_t deferred_until;       /* wall-clock seconds its route's defer
                                     period opens; 0: not deferred */
    char *text;                   /* owned: the strings */
    struct tocsin_label *labels;  /* owned: alert.labels */
};

/* A service's saved alerting state (struct tocsin_incident, with the
 * notifiers told by name and without their sent flags). */
struct tocsin_saved_incident {
    int64_t problem_since;
    int64_t next_repeat;          /* 0: none */
    int64_t downtime_until;       /* 0: none */
    int state;                    /* enum tocsin_state of the problem */
    int32_t route;                /* index of the route, or -1 */
    int pending;                  /* 0 or 1 */
    int acked;                    /* 0 or 1 */
    uint32_t esc_next;            /* next escalation step */
    const char *key;              /* incident key, "" when none is open */
    const char **told;            /* ntold notifier names */
    size_t ntold;
    const char *ack_author, *ack_text;
    const char *downtime_author, *downtime_text;
    int64_t ack_at;               /* when acknowledged; 0: not, or unknown
                                     (version 1) */
    uint32_t respond_breaches;    /* response targets missed (version 1: 0) */
    uint32_t resolve_breaches;    /* resolution targets missed (version 1: 0) */
    const char *assignee;         /* whom the acknowledged problem is
                                     assigned to ("": nobody, version 1) */
    char *text;                   /* owned: the strings */
};

/* A service's saved check state. */
struct tocsin_saved_service {
    uint64_t hash;                /* its definition's hash when saved */
    struct tocsin_svc_state st;
    int64_t last_change;          /* wall-clock seconds */
    int64_t last_check;
    const char *output;           /* the last plugin output */
    char *text;                   /* owned: the strings */
};

/* ------------------------------------------------------------------ */
/* Encoding: append the current version's blob to `out`. Each returns  */
/* 0, or -1 on oom or a string longer than 4 GiB (then `out` is as it  */
/* was). O(size of the record).                                        */
/* ------------------------------------------------------------------ */

/* `a`'s fields and labels (not grouped, deadline or retry_after), and
 * when it was deferred to (0: not deferred). */
int tocsin_saved_alert_encode(struct tocsin_buf *out, const struct tocsin_alert *a,
                              int64_t deferred_until);

/* `inc`'s fields; its `text` is not read (NULL strings are saved as ""). */
int tocsin_saved_incident_encode(struct tocsin_buf *out,
                                 const struct tocsin_saved_incident *inc);

/* `s`'s fields; its `text` is not read. */
int tocsin_saved_service_encode(struct tocsin_buf *out,
                                const struct tocsin_saved_service *s);

/* ------------------------------------------------------------------ */
/* Decoding a blob of the kind asked for, any version this build       */
/* knows. `what` names the row for the log ("outbox item 42",          */
/* "service 'web'"). Returns 0 with *out filled (free it with the      */
/* matching _free), or -1 after a warning; then *out needs no free.    */
/* O(len).                                                             */
/* ------------------------------------------------------------------ */

int tocsin_saved_alert_decode(const void *blob, size_t len, const char *what,
                              struct tocsin_saved_alert *out);
int tocsin_saved_incident_decode(const void *blob, size_t len, const char *what,
                                 struct tocsin_saved_incident *out);
int tocsin_saved_service_decode(const void *blob, size_t len, const char *what,
                                struct tocsin_saved_service *out);

/* Free what a decode filled in; a zeroed record is a no-op. */
void tocsin_saved_alert_free(struct tocsin_saved_alert *sa);
void tocsin_saved_incident_free(struct tocsin_saved_incident *inc);
void tocsin_saved_service_free(struct tocsin_saved_service *s);

/* ------------------------------------------------------------------ */
/* Upgrading the blobs of older stores.                                */
/* ------------------------------------------------------------------ */

/* The blob kind held by the store's state kind `state_kind`, or 0 for a
 * kind that is not one of the saved formats. */
enum tocsin_saved_kind tocsin_saved_state_kind(const char *state_kind);

/*
 * Read `blob` as version 0 of `kind` (the native struct copies written by
 * stores of schema 1, on this architecture) and append its current
 * encoding to `out`. Returns 0; 1 when the blob cannot be read as such
 * (warned, naming `what`; `out` unchanged); -1 on oom.
 */
int tocsin_saved_upgrade(enum tocsin_saved_kind kind, const void *blob, size_t len,
                         const char *what, struct tocsin_buf *out);

#endif
