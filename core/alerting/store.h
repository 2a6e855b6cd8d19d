/*
 * store.h - the daemon's durable store: one SQLite database holding the
 * outbox of notifications, the event history and the state the core
 * serializes (services, acknowledgements, downtimes, incidents).
 *
 * Owned by the single-threaded core; nothing else in Tocsin opens the
 * database. Every write is durable against a kill of the process once the
 * transaction that holds it has committed (see docs/internals/store.md for the
 * guarantee, its cost and the schema).
 *
 * Conventions:
 *  - Functions return 0 (or a count) on success and -1 on failure. A
 *    failure is logged (tocsin_error) with the database path and SQLite's
 *    message; nothing aborts.
 *  - Times are wall-clock milliseconds since the epoch, given by the
 *    caller, so the store never reads a clock itself.
 *  - Strings and blobs handed to a callback are valid during that call
 *    only. A callback returns 0 to go on and non-zero to stop.
 *  - Outside tocsin_store_begin/commit every writing call is its own
 *    transaction. Inside, nothing is visible to a restart until commit.
 */
#ifndef TOCSIN_STORE_H
#define TOCSIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin-plugin.h"

struct tocsin_store;

/* The schema this build writes. A file with a higher version is refused;
 * one of schema 1 (native struct copies for blobs) is upgraded when
 * opened, its blobs rewritten in the formats of alerting/saved.h; one of
 * schema 1 or 2 gets the incident table of schema 3; one of schema 1 to 3
 * the metric history tables of schema 4. */
#define TOCSIN_STORE_SCHEMA_VERSION 4

/* The file name inside the state directory. */
#define TOCSIN_STORE_FILE "tocsin.db"

/* Flags for tocsin_store_open. */
enum tocsin_store_flag {
    /* fsync the write-ahead log at every commit (synchronous=FULL): durable
     * against an OS crash or power loss too, at the price of one fsync per
     * commit. Without it a commit survives a kill of the process, and an OS
     * crash can lose the last commits (never corrupt the file). */
    TOCSIN_STORE_SYNC_FULL = 1u << 0
};

/*
 * The status of an outbox item. An item is pending until an outcome or its
 * expiry ends it. Delivered and failed are the outcome that ended it (enum
 * tocsin_delivery) and pending shares its value with TOCSIN_RETRY, so an
 * attempt's outcome and an item's status are read the same way.
 */
enum tocsin_outbox_status {
    TOCSIN_OUTBOX_DELIVERED = TOCSIN_DELIVERED, /* a notifier took it */
    TOCSIN_OUTBOX_PENDING = TOCSIN_RETRY,       /* to be (re)tried */
    TOCSIN_OUTBOX_FAILED = TOCSIN_FAILED,       /* a notifier refused it for good */
    TOCSIN_OUTBOX_EXPIRED = 3                   /* not delivered before expires_ms */
};

/* One notification for one notifier. */
struct tocsin_outbox_item {
    int64_t id;              /* assigned by tocsin_outbox_add, never reused */
    const char *notifier;    /* notifier name */
    const char *service;     /* service (or group) name */
    const char *incident;    /* incident key: shared by a problem, its repeats,
                                escalations and its recovery */
    const char *group_key;   /* route grouping key; NULL is stored as "" */
    int kind;                /* problem, recovery, repeat, escalation: the
                                core's own numbering, opaque to the store */
    int state;               /* the service state the notification is about */
    int severity;            /* the route severity */
    int64_t created_ms;      /* when it was queued */
    int64_t expires_ms;      /* no attempt is made after this */
    int64_t next_attempt_ms; /* not handed out before this */
    int attempts;            /* attempts made so far (0 for a new item) */
    const void *payload;     /* the serialized alert, opaque to the store */
    size_t payload_len;
};

/* The callbacks. Return 0 to go on, non-zero to stop; tocsin_outbox_fn
 * may also return a positive value to leave the item and go on. */
typedef int (*tocsin_outbox_fn)(void *ud, const struct tocsin_outbox_item *it);
typedef int (*tocsin_history_fn)(void *ud, int64_t at_ms, const char *service,
                                 const char *kind, const char *text);
typedef int (*tocsin_state_fn)(void *ud, const char *name, const void *blob,
                               size_t len);

/* ------------------------------------------------------------------ */
/* Lifecycle.                                                          */
/* ------------------------------------------------------------------ */

/*
 * Open (creating if needed) the database at `path`: write-ahead log,
 * foreign keys, schema created or checked, integrity checked, statements
 * prepared. Items left in flight by a previous run are pending again.
 * On failure returns -1 and writes a message naming `path` to err (a
 * newer schema, a file that is not Tocsin's, corruption, no permission);
 * nothing is logged, the caller reports it.
 * Cost: reads the whole file once (integrity check) and counts pending
 * items; meant for start-up.
 */
int tocsin_store_open(const char *path, unsigned flags,
                      struct tocsin_store **out, char *err, size_t errlen);

/* Close the database; an open transaction is rolled back. NULL is a no-op. */
void tocsin_store_close(struct tocsin_store *st);

/* The path given to tocsin_store_open (owned by the store). */
const char *tocsin_store_path(const struct tocsin_store *st);

/* ------------------------------------------------------------------ */
/* Transactions: the core groups the writes of one event-loop turn.    */
/* ------------------------------------------------------------------ */

/* Start a transaction. Transactions do not nest: -1 if one is open. */
int tocsin_store_begin(struct tocsin_store *st);

/*
 * Commit the open transaction. Once it returns 0 everything written since
 * tocsin_store_begin survives a kill of the process. If any call inside
 * the transaction failed, or the commit itself fails, the whole
 * transaction is rolled back instead and -1 is returned: a transaction is
 * all or nothing. After a failed call, further writes in the same
 * transaction return -1 at once.
 */
int tocsin_store_commit(struct tocsin_store *st);

/* Discard the open transaction. Returns 0, or -1 if none is open. */
int tocsin_store_rollback(struct tocsin_store *st);

/*
 * Whether commits fail (a full disk, an I/O error): every commit, or begin
 * of a write, that SQLite fails is counted, and the store is failing from
 * the first of a run of such failures until a commit succeeds. SQLite's
 * failures are logged at most once a minute, with the count of those held
 * back, and "commits succeed again" once when the run ends.
 */
struct tocsin_store_health {
    int failing;                /* the last commit failed */
    uint64_t commit_failures;   /* commits failed since the store was opened */
    int64_t failing_since_ms;   /* wall-clock ms of the first failure of the
                                   current run (0 when not failing) */
    const char *reason;         /* SQLite's message for the last failure ("" when
                                   not failing), owned by the store */
};

/* The store's health now. O(1). */
void tocsin_store_health(const struct tocsin_store *st, struct tocsin_store_health *out);

/* ------------------------------------------------------------------ */
/* Outbox: notifications waiting for delivery.                         */
/* ------------------------------------------------------------------ */

/*
 * Queue `it` (its id field is ignored) as pending, with the attempts and
 * times it gives. The new id goes to *id when id is not NULL. The item is
 * safe from a kill once the transaction commits.
 * Cost: O(log n).
 */
int tocsin_outbox_add(struct tocsin_store *st,
                      const struct tocsin_outbox_item *it, int64_t *id);

/*
 * Hand out pending items that are due (next_attempt_ms <= now_ms) and not
 * already in flight, the longest overdue first (next_attempt_ms, then id),
 * at most `max`. An item fn accepts (returns 0) is in flight: it is not
 * handed out again until tocsin_outbox_record gives its outcome, or until
 * the store is opened again (a kill loses no item, it may send one twice).
 * An item fn leaves (positive) stays as it was and the iteration goes on;
 * one it refuses (negative) stays as it was, and the iteration stops.
 * A due item met on the way whose expires_ms is already past is not
 * handed out: it becomes expired (an event in its history) and leaves the
 * depth. (As every pending item is due by its expiry, each expired one is
 * met by some later call.) Returns the number of items taken, or -1.
 * Cost: O(log n + k) for the k items looked at.
 */
int tocsin_outbox_due(struct tocsin_store *st, int64_t now_ms, size_t max,
                      tocsin_outbox_fn fn, void *ud);

/*
 * As tocsin_outbox_due, and each item that expires on the way is first
 * given to expired_fn (NULL: none), whose return value is ignored: the
 * item expires whatever it says. expired_fn must not write to the store
 * (the scan is still open); it copies what it needs, and the caller acts
 * on it after the call, in the same transaction when it opened one, so
 * that the expiry and what follows from it commit together.
 */
int tocsin_outbox_due_expiring(struct tocsin_store *st, int64_t now_ms, size_t max,
                               tocsin_outbox_fn fn, tocsin_outbox_fn expired_fn,
                               void *ud);

/* Make every item in flight pending again (its notifier worker is gone:
 * a reload restarted the workers). Returns 0 or -1. */
int tocsin_outbox_release(struct tocsin_store *st);

/*
 * The earliest next_attempt_ms of the pending items not in flight, or
 * INT64_MAX when there is none (also after an error, which is logged).
 * Cost: O(log n).
 */
int64_t tocsin_outbox_next_due(struct tocsin_store *st);

/*
 * Record one attempt at delivering item `id` and its outcome (enum
 * tocsin_delivery): DELIVERED ends it as delivered; FAILED ends it as
 * failed; RETRY makes it pending again at next_attempt_ms, or expired when
 * next_attempt_ms > expires_ms. Every call counts one attempt and adds a
 * row to the item's history with now_ms, the outcome and `reason` (what
 * the notifier said; NULL for none; never a secret). -1 if the item does
 * not exist or is no longer pending.
 * Cost: O(log n).
 */
int tocsin_outbox_record(struct tocsin_store *st, int64_t id, int outcome,
                         const char *reason, int64_t now_ms,
                         int64_t next_attempt_ms);

/* The status of item `id` (enum tocsin_outbox_status), or -1 when there is
 * no such item (or on error, which is logged). */
int tocsin_outbox_status(struct tocsin_store *st, int64_t id);

/*
 * 1 when an item other than `except_id` for `notifier`, of `service`, of
 * `incident` (or, with `others` non-zero, of any other incident than
 * `incident`), with kind `kind`, is pending (in flight included); 0 when
 * there is none; -1 on error (logged). The strings are only read during
 * the call. Cost: O(the service's items).
 */
int tocsin_outbox_pending_kind(struct tocsin_store *st, const char *notifier,
                               const char *service, const char *incident, int others,
                               int kind, int64_t except_id);

/*
 * 1 when an item for `notifier`, of `service`, of `incident`, with kind
 * `kind`, is pending and was never handed out: no attempt, not in flight,
 * and not due before now_ms (it waits for its defer period or its group);
 * 0 when there is none; -1 on error (logged). Cost: O(the service's items).
 */
int tocsin_outbox_unsent_kind(struct tocsin_store *st, const char *notifier,
                              const char *service, const char *incident, int kind,
                              int64_t now_ms);

/* Pending items, in flight included: the outbox depth. O(1). */
int64_t tocsin_outbox_depth(const struct tocsin_store *st);

/*
 * Delete the items that ended (delivered, failed, expired) before
 * older_than_ms, with their attempts. Pending items are never deleted.
 * Returns the number of items deleted, or -1.
 */
int64_t tocsin_outbox_prune(struct tocsin_store *st, int64_t older_than_ms);

/* ------------------------------------------------------------------ */
/* History: what happened, for `tocsinctl history`.                    */
/* ------------------------------------------------------------------ */

/*
 * Add an event: `kind` is a short word ("state", "queued", "ack",
 * "downtime", ...), `text` one line for a person. `service` may be NULL
 * for an event of the daemon itself (stored as ""). Delivery attempts are
 * recorded by tocsin_outbox_record and need no event here.
 */
int tocsin_history_add(struct tocsin_store *st, int64_t at_ms,
                       const char *service, const char *kind,
                       const char *text);

/*
 * Call fn, oldest first, for each event at or after since_ms of `service`
 * (NULL: of every service): the events added with tocsin_history_add and,
 * merged in by time, every delivery attempt of the outbox with kind
 * "delivered", "retry", "failed" or "expired" and a text naming the
 * notifier, the attempt, the incident and the reason. At equal times added
 * events come first. Returns the number of events given to fn, or -1.
 * Cost: O(log n + k) for k events.
 */
int tocsin_history_list(struct tocsin_store *st, const char *service,
                        int64_t since_ms, tocsin_history_fn fn, void *ud);

/*
 * The same events as tocsin_history_list, newest first (the exact reverse
 * of its order), so that a caller that wants the last N stops after N.
 * Cost: O(log n + k) for the k events fn takes before it stops.
 */
int tocsin_history_list_newest(struct tocsin_store *st, const char *service,
                               int64_t since_ms, tocsin_history_fn fn, void *ud);

/* Delete the events added with tocsin_history_add before older_than_ms
 * (attempts go with their item, see tocsin_outbox_prune). Returns the
 * number deleted, or -1. */
int64_t tocsin_history_prune(struct tocsin_store *st, int64_t older_than_ms);

/* ------------------------------------------------------------------ */
/* Incidents: one row each, open or closed, for listing.               */
/* ------------------------------------------------------------------ */

/* One incident. tocsin_incident_put reads the fields up to output;
 * tocsin_incident_list fills them all. */
struct tocsin_incident_row {
    const char *key;          /* "HOST/SERVICE/EPOCH" */
    const char *service;
    const char *host;
    int state;                /* the problem state (enum tocsin_state); a
                                 put with 0 (OK) keeps the one stored */
    int severity;             /* enum tocsin_severity of that state */
    int64_t start_ms;         /* when the problem began */
    int64_t end_ms;           /* when it ended; 0 while open */
    int acked;                /* acknowledged: the three below are set */
    const char *ack_by, *ack_text;
    int64_t ack_ms;           /* when first seen acknowledged; a put keeps
                                 the time stored while it stays so */
    const char *output;       /* the first line when its state last changed */
    int64_t sent;             /* its notifications delivered, */
    int64_t pending;          /* waiting or in flight, */
    int64_t failed;           /* failed or expired (from the outbox) */
};

/* Which incidents tocsin_incident_list gives. */
enum tocsin_incident_which {
    TOCSIN_INCIDENTS_ALL = 0,
    TOCSIN_INCIDENTS_OPEN = 1,
    TOCSIN_INCIDENTS_CLOSED = 2
};

typedef int (*tocsin_incident_fn)(void *ud, const struct tocsin_incident_row *r);

/* Add the incident r->key, or update its state, severity, acknowledgement
 * and output. O(log n). */
int tocsin_incident_put(struct tocsin_store *st, const struct tocsin_incident_row *r);

/* Close the incident `key` at end_ms (an incident closed already, or not
 * stored, is left alone). O(log n). */
int tocsin_incident_end(struct tocsin_store *st, const char *key, int64_t end_ms);

/*
 * Call fn for each incident of `which` that was open at some moment at or
 * after since_ms (still open, or ended then or later), of `service` (NULL:
 * of every service), newest start first. Returns the number given to fn,
 * or -1. Cost: O(n log n) for n incidents of the window (sorted by start)
 * plus O(log m) per incident for its counts in the outbox; fn stops it.
 */
int tocsin_incident_list(struct tocsin_store *st, enum tocsin_incident_which which,
                         int64_t since_ms, const char *service,
                         tocsin_incident_fn fn, void *ud);

/* ------------------------------------------------------------------ */
/* Metric history: each perfdata series by minute and by hour.         */
/* ------------------------------------------------------------------ */

/* A series' values over one minute or one hour (a series is one perfdata
 * label of one service). */
struct tocsin_metric_row {
    int64_t t;                /* start of the minute or hour, Unix seconds */
    double min, avg, max;
    double last;              /* the last value of the minute; an hour
                                 keeps none (NAN) */
    int64_t count;            /* values the row sums up */
};

/* Called for each row of tocsin_metric_list; non-zero stops the walk. */
typedef int (*tocsin_metric_fn)(void *ud, const char *label,
                                const struct tocsin_metric_row *r);

/* Add the minute r->t of (service, label), created as needed. A minute
 * stored already (written before a restart) is merged with r: min and
 * max of both, the average weighted by count, r's last. O(log n). */
int tocsin_metric_put_minute(struct tocsin_store *st, const char *service,
                             const char *label, const struct tocsin_metric_row *r);

/* Write the hour starting at `hour` (a multiple of 3600) of (service,
 * label) from its minute rows, replacing an hourly row written before
 * (from fewer minutes). Nothing when the hour has no minute rows.
 * O(log n + 60). */
int tocsin_metric_rollup(struct tocsin_store *st, const char *service,
                         const char *label, int64_t hour);

/* Delete minute rows older than minute_before and hourly rows older than
 * hour_before (Unix seconds) of the next max_series series, going round
 * them all over successive calls. Returns the rows deleted, or -1.
 * O(max_series log n + rows deleted). */
int64_t tocsin_metric_prune(struct tocsin_store *st, int64_t minute_before,
                            int64_t hour_before, size_t max_series);

/* Call fn for the rows of `service` (of `label` only unless NULL) from
 * `since` on, minute rows or (hourly) hourly ones, by label then time.
 * Stops after max_rows rows (*truncated = 1). Returns the number given
 * to fn, or -1. O(log n + rows). */
int tocsin_metric_list(struct tocsin_store *st, const char *service, const char *label,
                       int hourly, int64_t since, size_t max_rows, int *truncated,
                       tocsin_metric_fn fn, void *ud);

/* ------------------------------------------------------------------ */
/* State: blobs the core serializes itself, by kind and name.          */
/* ------------------------------------------------------------------ */

/* Store `blob` as (kind, name), replacing what was there. len may be 0. */
int tocsin_state_put(struct tocsin_store *st, const char *kind,
                     const char *name, const void *blob, size_t len);

/* Delete (kind, name); deleting what is not there is not an error. */
int tocsin_state_delete(struct tocsin_store *st, const char *kind,
                        const char *name);

/* Call fn for each entry of `kind`, in name order (an empty blob is NULL
 * with len 0). Returns the number of entries given to fn, or -1. */
int tocsin_state_each(struct tocsin_store *st, const char *kind,
                      tocsin_state_fn fn, void *ud);

#endif
