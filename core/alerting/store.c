/*
 * store.c - the durable store: outbox, history and state in one SQLite
 * database. See store.h for the interface and docs/internals/store.md for the
 * schema, the durability guarantee and the invariants.
 */
#include "alerting/store.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "alerting/saved.h"
#include "base/clock.h"
#include "base/log.h"
#include "lib/buf.h"

/* The SQL below writes statuses as literals, so that SQLite can match the
 * partial indexes (a bound parameter never matches an index's WHERE). */
_Static_assert(TOCSIN_OUTBOX_DELIVERED == 0, "status literal in SQL");
_Static_assert(TOCSIN_OUTBOX_PENDING == 1, "status literal in SQL");
_Static_assert(TOCSIN_OUTBOX_FAILED == 2, "status literal in SQL");
_Static_assert(TOCSIN_OUTBOX_EXPIRED == 3, "status literal in SQL");

/* PRAGMA application_id of a Tocsin store: "Tcsn". */
#define STORE_APPLICATION_ID 0x5463736e

/* How long a statement waits for a lock held by another connection (the
 * sqlite3 shell of an administrator, say) before it fails. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* The write-ahead log is truncated to this after a checkpoint, so that a
 * burst does not leave a large file behind. */
#define STORE_WAL_LIMIT_BYTES (4 * 1024 * 1024)

/* Schema version 1. Statuses: 0 delivered, 1 pending, 2 failed,
 * 3 expired (enum tocsin_outbox_status). */
static const char schema_v1[] =
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  notifier TEXT NOT NULL,"
    "  service TEXT NOT NULL,"
    "  incident TEXT NOT NULL,"
    "  group_key TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  severity INTEGER NOT NULL,"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),"
    "  claimed INTEGER NOT NULL DEFAULT 0 CHECK (claimed IN (0, 1)),"
    "  attempts INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  next_attempt_ms INTEGER NOT NULL,"
    "  done_ms INTEGER,"
    "  payload BLOB NOT NULL"
    ");"
    "CREATE INDEX outbox_pending ON outbox (claimed, next_attempt_ms, id)"
    "  WHERE status = 1;"
    "CREATE INDEX outbox_done ON outbox (done_ms) WHERE status <> 1;"
    "CREATE INDEX outbox_service ON outbox (service);"
    "CREATE TABLE attempt ("
    "  id INTEGER PRIMARY KEY,"
    "  outbox_id INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,"
    "  at_ms INTEGER NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  outcome INTEGER NOT NULL CHECK (outcome BETWEEN 0 AND 3),"
    "  reason TEXT NOT NULL"
    ");"
    "CREATE INDEX attempt_item ON attempt (outbox_id, at_ms);"
    "CREATE INDEX attempt_time ON attempt (at_ms);"
    "CREATE TABLE history ("
    "  id INTEGER PRIMARY KEY,"
    "  at_ms INTEGER NOT NULL,"
    "  service TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  text TEXT NOT NULL"
    ");"
    "CREATE INDEX history_service ON history (service, at_ms);"
    "CREATE INDEX history_time ON history (at_ms);"
    "CREATE TABLE state ("
    "  kind TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  value BLOB NOT NULL,"
    "  PRIMARY KEY (kind, name)"
    ") WITHOUT ROWID;";

/* Added by schema version 3: one row per incident, open or closed, for
 * /api/v1/incidents and `tocsinctl incidents`; the outbox indexed by
 * incident, to count each one's notifications. */
static const char schema_v3[] =
    "CREATE TABLE IF NOT EXISTS incident ("
    "  key TEXT PRIMARY KEY,"
    "  service TEXT NOT NULL,"
    "  host TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  severity INTEGER NOT NULL,"
    "  start_ms INTEGER NOT NULL,"
    "  end_ms INTEGER,"
    "  ack_by TEXT,"
    "  ack_text TEXT,"
    "  ack_ms INTEGER,"
    "  output TEXT NOT NULL"
    ");"
    "CREATE INDEX IF NOT EXISTS incident_start ON incident (start_ms);"
    "CREATE INDEX IF NOT EXISTS outbox_incident ON outbox (incident);";

/* Added by schema version 4: metric history. A series is one perfdata
 * label of one service, named once; its values are kept per minute
 * (metric_minute) and per hour (metric_hour), keyed by series and time
 * without a rowid, so that a series' range is one B-tree range. */
static const char schema_v4[] =
    "CREATE TABLE IF NOT EXISTS metric_series ("
    "  id INTEGER PRIMARY KEY,"
    "  service TEXT NOT NULL,"
    "  label TEXT NOT NULL,"
    "  UNIQUE (service, label)"
    ");"
    "CREATE TABLE IF NOT EXISTS metric_minute ("
    "  series INTEGER NOT NULL,"
    "  t INTEGER NOT NULL,"
    "  min REAL NOT NULL,"
    "  avg REAL NOT NULL,"
    "  max REAL NOT NULL,"
    "  last REAL NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (series, t)"
    ") WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS metric_hour ("
    "  series INTEGER NOT NULL,"
    "  t INTEGER NOT NULL,"
    "  min REAL NOT NULL,"
    "  avg REAL NOT NULL,"
    "  max REAL NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (series, t)"
    ") WITHOUT ROWID;";

/* The prepared statements, kept for the life of the store. */
enum store_stmt {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_OUTBOX_ADD,
    S_OUTBOX_DUE,
    S_OUTBOX_CLAIM,
    S_OUTBOX_NEXT_DUE,
    S_OUTBOX_GET,
    S_OUTBOX_PENDING_KIND,
    S_OUTBOX_UNSENT_KIND,
    S_OUTBOX_SET,
    S_OUTBOX_COUNT,
    S_OUTBOX_RELEASE,
    S_OUTBOX_PRUNE,
    S_ATTEMPT_ADD,
    S_HISTORY_ADD,
    S_HISTORY_ALL,
    S_HISTORY_ONE,
    S_ATTEMPTS_ALL,
    S_ATTEMPTS_ONE,
    S_HISTORY_PRUNE,
    S_STATE_PUT,
    S_STATE_DELETE,
    S_STATE_EACH,
    S_HISTORY_ALL_DESC,
    S_HISTORY_ONE_DESC,
    S_ATTEMPTS_ALL_DESC,
    S_ATTEMPTS_ONE_DESC,
    S_INCIDENT_PUT,
    S_INCIDENT_END,
    S_INCIDENT_LIST,
    S_SERIES_GET,
    S_SERIES_ADD,
    S_SERIES_NEXT,
    S_MINUTE_PUT,
    S_HOUR_ROLLUP,
    S_MINUTE_PRUNE,
    S_HOUR_PRUNE,
    S_MINUTE_LIST,
    S_HOUR_LIST,
    S_COUNT
};

#define OUTBOX_COLUMNS \
    "id, notifier, service, incident, group_key, kind, state, severity, " \
    "created_ms, expires_ms, next_attempt_ms, attempts, payload"

#define ATTEMPT_COLUMNS \
    "SELECT a.at_ms, o.service, a.outcome, a.attempt, a.reason, " \
    "o.notifier, o.incident, o.attempts " \
    "FROM attempt a JOIN outbox o ON o.id = a.outbox_id WHERE a.at_ms >= ?1 "

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_OUTBOX_ADD] =
        "INSERT INTO outbox (notifier, service, incident, group_key, kind, "
        "state, severity, status, claimed, attempts, created_ms, expires_ms, "
        "next_attempt_ms, payload) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, 0, ?8, ?9, ?10, ?11, ?12)",
    [S_OUTBOX_DUE] =
        "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE status = 1 "
        "AND claimed = 0 AND next_attempt_ms <= ?1 "
        "ORDER BY next_attempt_ms, id",
    [S_OUTBOX_CLAIM] = "UPDATE outbox SET claimed = 1 WHERE id = ?1",
    [S_OUTBOX_NEXT_DUE] =
        "SELECT next_attempt_ms FROM outbox WHERE status = 1 AND claimed = 0 "
        "ORDER BY next_attempt_ms LIMIT 1",
    [S_OUTBOX_GET] =
        "SELECT status, attempts, expires_ms FROM outbox WHERE id = ?1",
    [S_OUTBOX_PENDING_KIND] =
        "SELECT 1 FROM outbox WHERE service = ?1 AND (incident = ?2) <> ?6 "
        "AND notifier = ?3 AND kind = ?4 AND status = 1 AND id <> ?5 LIMIT 1",
    [S_OUTBOX_UNSENT_KIND] =
        "SELECT 1 FROM outbox WHERE service = ?1 AND incident = ?2 AND notifier = ?3 "
        "AND kind = ?4 AND status = 1 AND attempts = 0 AND claimed = 0 "
        "AND next_attempt_ms > ?5 LIMIT 1",
    [S_OUTBOX_SET] =
        "UPDATE outbox SET status = ?2, claimed = 0, attempts = ?3, "
        "next_attempt_ms = coalesce(?4, next_attempt_ms), done_ms = ?5 "
        "WHERE id = ?1",
    [S_OUTBOX_COUNT] = "SELECT count(*) FROM outbox WHERE status = 1",
    [S_OUTBOX_RELEASE] =
        "UPDATE outbox SET claimed = 0 WHERE status = 1 AND claimed = 1",
    [S_OUTBOX_PRUNE] =
        "DELETE FROM outbox WHERE status <> 1 AND done_ms < ?1",
    [S_ATTEMPT_ADD] =
        "INSERT INTO attempt (outbox_id, at_ms, attempt, outcome, reason) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_HISTORY_ADD] =
        "INSERT INTO history (at_ms, service, kind, text) "
        "VALUES (?1, ?2, ?3, ?4)",
    [S_HISTORY_ALL] =
        "SELECT at_ms, service, kind, text FROM history WHERE at_ms >= ?1 "
        "ORDER BY at_ms, id",
    [S_HISTORY_ONE] =
        "SELECT at_ms, service, kind, text FROM history "
        "WHERE service = ?2 AND at_ms >= ?1 ORDER BY at_ms, id",
    [S_ATTEMPTS_ALL] = ATTEMPT_COLUMNS "ORDER BY a.at_ms, a.id",
    [S_ATTEMPTS_ONE] = ATTEMPT_COLUMNS "AND o.service = ?2 "
                       "ORDER BY a.at_ms, a.id",
    [S_HISTORY_PRUNE] = "DELETE FROM history WHERE at_ms < ?1",
    [S_STATE_PUT] =
        "INSERT INTO state (kind, name, value) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (kind, name) DO UPDATE SET value = excluded.value",
    [S_STATE_DELETE] = "DELETE FROM state WHERE kind = ?1 AND name = ?2",
    [S_STATE_EACH] =
        "SELECT name, value FROM state WHERE kind = ?1 ORDER BY name",
    [S_HISTORY_ALL_DESC] =
        "SELECT at_ms, service, kind, text FROM history WHERE at_ms >= ?1 "
        "ORDER BY at_ms DESC, id DESC",
    [S_HISTORY_ONE_DESC] =
        "SELECT at_ms, service, kind, text FROM history "
        "WHERE service = ?2 AND at_ms >= ?1 ORDER BY at_ms DESC, id DESC",
    [S_ATTEMPTS_ALL_DESC] = ATTEMPT_COLUMNS "ORDER BY a.at_ms DESC, a.id DESC",
    [S_ATTEMPTS_ONE_DESC] = ATTEMPT_COLUMNS "AND o.service = ?2 "
                            "ORDER BY a.at_ms DESC, a.id DESC",
    /* The acknowledgement keeps the time it was first seen; withdrawn,
     * it goes. A state of 0 (OK: a recovery held back) keeps the
     * problem state. */
    [S_INCIDENT_PUT] =
        "INSERT INTO incident (key, service, host, state, severity, start_ms, "
        "ack_by, ack_text, ack_ms, output) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
        "ON CONFLICT (key) DO UPDATE SET "
        "state = CASE WHEN excluded.state = 0 THEN state ELSE excluded.state END, "
        "severity = CASE WHEN excluded.state = 0 THEN severity "
        "ELSE excluded.severity END, "
        "ack_by = excluded.ack_by, ack_text = excluded.ack_text, "
        "ack_ms = CASE WHEN excluded.ack_ms IS NULL THEN NULL "
        "ELSE coalesce(ack_ms, excluded.ack_ms) END, "
        "output = CASE WHEN excluded.state = 0 THEN output ELSE excluded.output END",
    [S_INCIDENT_END] =
        "UPDATE incident SET end_ms = ?2 WHERE key = ?1 AND end_ms IS NULL",
    [S_INCIDENT_LIST] =
        "SELECT key, service, host, state, severity, start_ms, end_ms, ack_by, "
        "ack_text, ack_ms, output, "
        "(SELECT count(*) FROM outbox o WHERE o.incident = i.key AND o.status = 0), "
        "(SELECT count(*) FROM outbox o WHERE o.incident = i.key AND o.status = 1), "
        "(SELECT count(*) FROM outbox o WHERE o.incident = i.key "
        "AND o.status IN (2, 3)) "
        "FROM incident i WHERE (?1 = 0 OR (?1 = 1 AND end_ms IS NULL) OR "
        "(?1 = 2 AND end_ms IS NOT NULL)) AND (end_ms IS NULL OR end_ms >= ?2) "
        "AND (?3 IS NULL OR service = ?3) ORDER BY start_ms DESC, key DESC",
    [S_SERIES_GET] = "SELECT id FROM metric_series WHERE service = ?1 AND label = ?2",
    [S_SERIES_ADD] = "INSERT INTO metric_series (service, label) VALUES (?1, ?2)",
    [S_SERIES_NEXT] = "SELECT id FROM metric_series WHERE id > ?1 ORDER BY id LIMIT ?2",
    [S_MINUTE_PUT] =
        "INSERT INTO metric_minute (series, t, min, avg, max, last, count) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (series, t) DO UPDATE SET "
        "min = min(min, excluded.min), max = max(max, excluded.max), "
        "avg = (avg * count + excluded.avg * excluded.count) / (count + excluded.count), "
        "last = excluded.last, count = count + excluded.count",
    [S_HOUR_ROLLUP] =
        "INSERT INTO metric_hour (series, t, min, avg, max, count) "
        "SELECT series, ?2, min(min), sum(avg * count) / sum(count), max(max), sum(count) "
        "FROM metric_minute WHERE series = ?1 AND t >= ?2 AND t < ?2 + 3600 "
        "GROUP BY series "
        "ON CONFLICT (series, t) DO UPDATE SET min = excluded.min, avg = excluded.avg, "
        "max = excluded.max, count = excluded.count",
    [S_MINUTE_PRUNE] = "DELETE FROM metric_minute WHERE series = ?1 AND t < ?2",
    [S_HOUR_PRUNE] = "DELETE FROM metric_hour WHERE series = ?1 AND t < ?2",
    [S_MINUTE_LIST] =
        "SELECT s.label, m.t, m.min, m.avg, m.max, m.last, m.count "
        "FROM metric_series s JOIN metric_minute m ON m.series = s.id "
        "WHERE s.service = ?1 AND (?2 IS NULL OR s.label = ?2) AND m.t >= ?3 "
        "ORDER BY s.label, m.t",
    [S_HOUR_LIST] =
        "SELECT s.label, m.t, m.min, m.avg, m.max, NULL, m.count "
        "FROM metric_series s JOIN metric_hour m ON m.series = s.id "
        "WHERE s.service = ?1 AND (?2 IS NULL OR s.label = ?2) AND m.t >= ?3 "
        "ORDER BY s.label, m.t",
};

struct tocsin_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[S_COUNT];
    int in_txn;            /* a transaction is open (the caller's or a call's own) */
    int txn_failed;        /* a call failed inside it: it can only roll back */
    int64_t depth;         /* pending items, as the open transaction sees them */
    int64_t depth_at_begin; /* restored when the transaction rolls back */
    int txn_db_error;      /* SQLite failed a call of the open transaction */
    int64_t changes_at_begin; /* sqlite3_total_changes64 when it began */
    char last_error[256];  /* SQLite's message for the last call it failed */
    /* Commits that failed: see struct tocsin_store_health. */
    int failing;
    uint64_t commit_failures;
    uint64_t run_failures;     /* of the current run of failures */
    int64_t failing_since_ms;
    char reason[256];
    struct tocsin_log_limit db_limit; /* SQLite's failures, which repeat
                                         while the disk is full */
    int64_t prune_series;  /* metric series pruned last (they go round) */
};

/* At most one line a minute about SQLite's failures. */
#define STORE_LOG_INTERVAL_S 60

/* ------------------------------------------------------------------ */
/* Errors and statements.                                              */
/* ------------------------------------------------------------------ */

/* Log a failed SQLite call: what was being done and SQLite's message,
 * kept for the health report. Rate-limited: a full disk fails every
 * write, for as long as it lasts. */
static void store_db_error(struct tocsin_store *st, const char *what)
{
    snprintf(st->last_error, sizeof(st->last_error), "%s", sqlite3_errmsg(st->db));
    if (st->in_txn)
        st->txn_db_error = 1;
    tocsin_log_limited(&st->db_limit, TOCSIN_LOG_ERROR, "store %s: %s: %s", st->path, what,
                       st->last_error);
}

/* A commit (or the begin of a write) failed for SQLite's reason: count it,
 * and note when this run of failures began. */
static void commit_failed(struct tocsin_store *st)
{
    if (!st->failing) {
        st->failing = 1;
        st->failing_since_ms = tocsin_wall_ms();
        st->run_failures = 0;
    }
    st->commit_failures++;
    st->run_failures++;
    snprintf(st->reason, sizeof(st->reason), "%s",
             st->last_error[0] ? st->last_error : "unknown error");
}

/* A commit that wrote something succeeded: a run of failures, if any, is
 * over; say so once. */
static void commit_succeeded(struct tocsin_store *st)
{
    if (!st->failing)
        return;
    tocsin_log_limit_reset(&st->db_limit);
    tocsin_info("store %s: commits succeed again after %llu failure%s over %.0f s",
                st->path, (unsigned long long)st->run_failures, st->run_failures == 1 ? "" : "s",
                (double)(tocsin_wall_ms() - st->failing_since_ms) / 1000.0);
    st->failing = 0;
}

void tocsin_store_health(const struct tocsin_store *st, struct tocsin_store_health *out)
{
    out->failing = st->failing;
    out->commit_failures = st->commit_failures;
    out->failing_since_ms = st->failing ? st->failing_since_ms : 0;
    out->reason = st->failing ? st->reason : "";
}

/* Log a refused call (bad argument, wrong item). */
static void store_error(const struct tocsin_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void store_error(const struct tocsin_store *st, const char *fmt, ...)
{
    struct tocsin_buf msg = TOCSIN_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    tocsin_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    tocsin_error("store %s: %s", st->path, tocsin_buf_str(&msg));
    tocsin_buf_free(&msg);
}

/* Refuse a call (bad argument): log msg and fail the open transaction,
 * if any. Returns -1. */
static int store_refuse(struct tocsin_store *st, const char *msg)
{
    store_error(st, "%s", msg);
    if (st->in_txn)
        st->txn_failed = 1;
    return -1;
}

/* Make a statement ready for its next use and drop references to the
 * caller's strings and blobs. */
static void stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Run a statement that returns no rows (or whose rows do not matter) to
 * completion. Returns 0 or -1 (logged). */
static int stmt_run(struct tocsin_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);

    while (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        store_db_error(st, what);
        stmt_done(s);
        return -1;
    }
    stmt_done(s);
    return 0;
}

/* Run statement s with its parameters bound (bound = the OR of the bind
 * results); logs either failure once. */
static int stmt_run_bound(struct tocsin_store *st, sqlite3_stmt *s, int bound,
                          const char *what)
{
    if (bound != SQLITE_OK) {
        store_db_error(st, what);
        stmt_done(s);
        return -1;
    }
    return stmt_run(st, s, what);
}

/* Bind a blob; a zero-length blob is bound as one (SQLite would store a
 * NULL pointer as NULL). The memory must outlive the statement's use. */
static int bind_blob(sqlite3_stmt *s, int i, const void *p, size_t len)
{
    return sqlite3_bind_blob64(s, i, len ? p : "", (sqlite3_uint64)len,
                               SQLITE_STATIC);
}

static int bind_text(sqlite3_stmt *s, int i, const char *text)
{
    return sqlite3_bind_text(s, i, text ? text : "", -1, SQLITE_STATIC);
}

/* ------------------------------------------------------------------ */
/* Transactions.                                                       */
/* ------------------------------------------------------------------ */

/* Open a transaction (BEGIN IMMEDIATE: the write lock is taken at once, so
 * a commit never waits for an upgrade). */
static int txn_begin(struct tocsin_store *st)
{
    if (stmt_run(st, st->stmt[S_BEGIN], "cannot begin a transaction") < 0) {
        commit_failed(st);
        return -1;
    }
    st->in_txn = 1;
    st->txn_failed = 0;
    st->txn_db_error = 0;
    st->changes_at_begin = sqlite3_total_changes64(st->db);
    st->depth_at_begin = st->depth;
    return 0;
}

/*
 * End the open transaction: commit when asked and nothing in it failed,
 * roll back otherwise. Returns 0 when it did what was asked, -1 when a
 * commit became a rollback or the rollback failed (both logged).
 */
static int txn_end(struct tocsin_store *st, int commit)
{
    int rc = 0;

    if (commit && st->txn_failed) {
        if (st->txn_db_error)
            tocsin_log_limited(&st->db_limit, TOCSIN_LOG_ERROR, "store %s: transaction "
                               "rolled back: a call in it failed", st->path);
        else
            store_error(st, "transaction rolled back: a call in it failed");
        rc = -1;
    } else if (commit) {
        if (stmt_run(st, st->stmt[S_COMMIT], "cannot commit") == 0) {
            st->in_txn = 0;
            /* An empty transaction writes nothing: it proves nothing. */
            if (sqlite3_total_changes64(st->db) != st->changes_at_begin)
                commit_succeeded(st);
            return 0;
        }
        rc = -1;
    }
    if (st->txn_db_error)
        commit_failed(st);
    /* SQLite may already have rolled back on its own (disk full, I/O). */
    if (!sqlite3_get_autocommit(st->db) &&
        stmt_run(st, st->stmt[S_ROLLBACK], "cannot roll back") < 0)
        rc = -1;
    st->depth = st->depth_at_begin;
    st->in_txn = 0;
    st->txn_failed = 0;
    return rc;
}

/* Start a write: inside the caller's transaction (refused at once if a call
 * in it failed already), or in a transaction of its own (*own = 1). */
static int write_begin(struct tocsin_store *st, int *own)
{
    *own = 0;
    if (st->in_txn)
        return st->txn_failed ? -1 : 0;
    if (txn_begin(st) < 0)
        return -1;
    *own = 1;
    return 0;
}

/* Finish a write begun with write_begin; rc is its result (< 0: failed).
 * Returns rc, or -1 when its own transaction could not commit. */
static int64_t write_end(struct tocsin_store *st, int own, int64_t rc)
{
    if (rc < 0)
        st->txn_failed = 1;
    if (!own)
        return rc;
    if (txn_end(st, rc >= 0) < 0)
        return -1;
    return rc;
}

int tocsin_store_begin(struct tocsin_store *st)
{
    if (st->in_txn) {
        store_error(st, "a transaction is already open");
        return -1;
    }
    return txn_begin(st);
}

int tocsin_store_commit(struct tocsin_store *st)
{
    if (!st->in_txn) {
        store_error(st, "commit without a transaction");
        return -1;
    }
    return txn_end(st, 1);
}

int tocsin_store_rollback(struct tocsin_store *st)
{
    if (!st->in_txn) {
        store_error(st, "rollback without a transaction");
        return -1;
    }
    return txn_end(st, 0);
}

/* ------------------------------------------------------------------ */
/* Opening and closing.                                                */
/* ------------------------------------------------------------------ */

/* Run a PRAGMA (or any one-row query) and return its first column as an
 * integer in *val. Returns the SQLite result code. */
static int query_int(sqlite3 *db, const char *sql, int64_t *val)
{
    sqlite3_stmt *s = NULL;
    int rc;

    rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *val = sqlite3_column_int64(s, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *val = 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

/* Run a one-row query and copy its first column as text to buf. */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
    sqlite3_stmt *s = NULL;
    const unsigned char *text;
    int rc;

    buf[0] = '\0';
    rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        text = sqlite3_column_text(s, 0);
        snprintf(buf, len, "%s", text ? (const char *)text : "");
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

/* The message for a failure while reading the file for the first time. */
static void open_read_error(sqlite3 *db, int rc, const char *path,
                            char *err, size_t errlen)
{
    int primary = rc & 0xff;

    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
        snprintf(err, errlen, "%s: not a usable database, damaged or not "
                 "SQLite at all (%s); move it aside to start with an empty "
                 "store", path, sqlite3_errmsg(db));
    else if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN ||
             primary == SQLITE_PERM)
        snprintf(err, errlen, "%s: no permission to write the file or its "
                 "directory (the write-ahead log keeps %s-wal and %s-shm "
                 "beside it): %s", path, path, path, sqlite3_errmsg(db));
    else
        snprintf(err, errlen, "%s: cannot read: %s", path, sqlite3_errmsg(db));
}

/*
 * Check that the file is a Tocsin store this build can use, or empty (then
 * *fresh = 1). Writes the reason to err when it is not.
 */
static int open_check_identity(sqlite3 *db, const char *path, int *fresh,
                               int64_t *version_out, char *err, size_t errlen)
{
    int64_t app_id, version = 0, tables;
    int rc;

    *fresh = 0;
    *version_out = 0;
    rc = query_int(db, "PRAGMA application_id", &app_id);
    if (rc == SQLITE_OK)
        rc = query_int(db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK)
        rc = query_int(db, "SELECT count(*) FROM sqlite_master", &tables);
    if (rc != SQLITE_OK) {
        open_read_error(db, rc, path, err, errlen);
        return -1;
    }
    if (app_id == 0 && version == 0 && tables == 0) {
        *fresh = 1;
        return 0;
    }
    if (app_id != STORE_APPLICATION_ID) {
        snprintf(err, errlen, "%s: not a Tocsin store (a SQLite database of "
                 "another program, application id 0x%08" PRIx64 ")",
                 path, (uint64_t)app_id);
        return -1;
    }
    if (version > TOCSIN_STORE_SCHEMA_VERSION) {
        snprintf(err, errlen, "%s: written by a newer Tocsin (store schema "
                 "version %" PRId64 ", this build knows up to %d); run that "
                 "version, or move the file aside to start with an empty store",
                 path, version, TOCSIN_STORE_SCHEMA_VERSION);
        return -1;
    }
    if (version < 1) {
        snprintf(err, errlen, "%s: damaged Tocsin store (schema version %"
                 PRId64 ")", path, version);
        return -1;
    }
    *version_out = version;
    return 0;
}

/*
 * Run the statements in `sql` (taken over and freed), which open and
 * commit their own transaction; on failure roll it back and write "PATH:
 * cannot WHAT: REASON" to err. Returns 0 or -1.
 */
static int exec_schema(sqlite3 *db, const char *path, struct tocsin_buf *sql,
                       const char *what, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc;

    if (sql->oom) {
        snprintf(err, errlen, "%s: out of memory", path);
        tocsin_buf_free(sql);
        return -1;
    }
    rc = sqlite3_exec(db, tocsin_buf_str(sql), NULL, NULL, &msg);
    tocsin_buf_free(sql);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot %s: %s", path, what,
                 msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        if (!sqlite3_get_autocommit(db))
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Create the schema of a fresh file in one transaction. */
static int open_create_schema(sqlite3 *db, const char *path,
                              char *err, size_t errlen)
{
    struct tocsin_buf sql = TOCSIN_BUF_INIT;

    tocsin_buf_puts(&sql, "BEGIN IMMEDIATE;");
    tocsin_buf_puts(&sql, schema_v1);
    tocsin_buf_puts(&sql, schema_v3);
    tocsin_buf_puts(&sql, schema_v4);
    tocsin_buf_printf(&sql, "PRAGMA application_id = %d;"
                      "PRAGMA user_version = %d; COMMIT;",
                      STORE_APPLICATION_ID, TOCSIN_STORE_SCHEMA_VERSION);
    return exec_schema(db, path, &sql, "create the schema", err, errlen);
}

/* PRAGMA quick_check: every page and index entry is well-formed. */
static int open_check_integrity(sqlite3 *db, const char *path,
                                char *err, size_t errlen)
{
    char result[256], *p;
    int rc;

    rc = query_text(db, "PRAGMA quick_check(1)", result, sizeof(result));
    if (rc != SQLITE_OK) {
        open_read_error(db, rc, path, err, errlen);
        return -1;
    }
    if (strcmp(result, "ok") != 0) {
        for (p = result; *p; p++)      /* one line: "*** in database main ***\nPage 2: ..." */
            if (*p == '\n' || *p == '\r' || *p == '\t')
                *p = ' ';
        snprintf(err, errlen, "%s: damaged (integrity check: %s); move it "
                 "aside to start with an empty store", path, result);
        return -1;
    }
    return 0;
}

/*
 * Connection settings: the write-ahead log, the sync level, foreign keys.
 * journal_mode needs no transaction open and changes the file, so it comes
 * after the identity check.
 */
static int open_configure(sqlite3 *db, const char *path, unsigned flags,
                          char *err, size_t errlen)
{
    char mode[32];
    struct tocsin_buf sql = TOCSIN_BUF_INIT;
    char *msg = NULL;
    int rc;

    rc = query_text(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
    if (rc != SQLITE_OK) {
        open_read_error(db, rc, path, err, errlen);
        return -1;
    }
    if (strcmp(mode, "wal") != 0) {
        snprintf(err, errlen, "%s: cannot use a write-ahead log (journal "
                 "mode stays %s)", path, mode);
        return -1;
    }
    tocsin_buf_printf(&sql, "PRAGMA synchronous = %s;"
                      "PRAGMA foreign_keys = ON;"
                      "PRAGMA journal_size_limit = %d;",
                      (flags & TOCSIN_STORE_SYNC_FULL) ? "FULL" : "NORMAL",
                      STORE_WAL_LIMIT_BYTES);
    if (sql.oom) {
        snprintf(err, errlen, "%s: out of memory", path);
        tocsin_buf_free(&sql);
        return -1;
    }
    rc = sqlite3_exec(db, tocsin_buf_str(&sql), NULL, NULL, &msg);
    tocsin_buf_free(&sql);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot configure the connection: %s",
                 path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Prepare every statement, make what was in flight pending again, and
 * count the pending items. */
static int open_prepare(struct tocsin_store *st, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    size_t i;
    int rc;

    for (i = 0; i < S_COUNT; i++) {
        rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
                                SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "%s: damaged Tocsin store (cannot prepare "
                     "statement %zu: %s)", st->path, i, sqlite3_errmsg(st->db));
            return -1;
        }
    }
    s = st->stmt[S_OUTBOX_RELEASE];
    if (sqlite3_step(s) != SQLITE_DONE) {
        snprintf(err, errlen, "%s: cannot release items left in flight: %s",
                 st->path, sqlite3_errmsg(st->db));
        stmt_done(s);
        return -1;
    }
    stmt_done(s);
    s = st->stmt[S_OUTBOX_COUNT];
    if (sqlite3_step(s) != SQLITE_ROW) {
        snprintf(err, errlen, "%s: cannot count pending items: %s",
                 st->path, sqlite3_errmsg(st->db));
        stmt_done(s);
        return -1;
    }
    st->depth = sqlite3_column_int64(s, 0);
    stmt_done(s);
    return 0;
}

static int open_upgrade_v1(struct tocsin_store *st, char *err, size_t errlen);

/*
 * Add the tables of the schemas after `version` (3: incidents, 4: metric
 * history) to a file of schema 1 to 3, in one transaction, before the
 * statements that use them are prepared. A file of schema 2 or 3 is then
 * of the current schema; one of schema 1 becomes so once its blobs are
 * rewritten (open_upgrade_v1). O(outbox rows), for the index of schema 3.
 */
static int open_upgrade_tables(sqlite3 *db, const char *path, int64_t version,
                               char *err, size_t errlen)
{
    struct tocsin_buf sql = TOCSIN_BUF_INIT;

    tocsin_buf_puts(&sql, "BEGIN IMMEDIATE;");
    if (version < 3)
        tocsin_buf_puts(&sql, schema_v3);
    tocsin_buf_puts(&sql, schema_v4);
    if (version >= 2)
        tocsin_buf_printf(&sql, "PRAGMA user_version = %d;", TOCSIN_STORE_SCHEMA_VERSION);
    tocsin_buf_puts(&sql, "COMMIT;");
    if (exec_schema(db, path, &sql, "add the tables of schemas 3 and 4", err, errlen) < 0)
        return -1;
    if (version >= 2)
        tocsin_info("store %s: upgraded from schema %" PRId64 " to %d (%s)", path, version,
                    TOCSIN_STORE_SCHEMA_VERSION,
                    version < 3 ? "the incident and metric history tables"
                                : "the metric history tables");
    return 0;
}

/*
 * Open the store. Each step writes its own message to err; the caller
 * owns *out and frees it with tocsin_store_close. A store of schema 1 is
 * upgraded first (open_upgrade_v1).
 */
int tocsin_store_open(const char *path, unsigned flags,
                      struct tocsin_store **out, char *err, size_t errlen)
{
    struct tocsin_store *st = NULL;
    int64_t version;
    int fresh, rc, saved;

    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    if (flags & ~(unsigned)TOCSIN_STORE_SYNC_FULL) {
        snprintf(err, errlen, "%s: unknown store flags 0x%x", path, flags);
        return -1;
    }
    st = calloc(1, sizeof(*st));
    if (!st || !(st->path = strdup(path))) {
        saved = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(saved));
        goto fail;
    }
    st->db_limit = (struct tocsin_log_limit)TOCSIN_LOG_LIMIT_INIT(STORE_LOG_INTERVAL_S);
    rc = sqlite3_open_v2(path, &st->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                         SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open or create: %s (does the "
                 "directory exist, and may this user write there?)", path,
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    if (sqlite3_db_readonly(st->db, "main") == 1) {
        snprintf(err, errlen, "%s: no permission to write the file", path);
        goto fail;
    }
    if (open_check_identity(st->db, path, &fresh, &version, err, errlen) < 0 ||
        open_configure(st->db, path, flags, err, errlen) < 0)
        goto fail;
    if (fresh && open_create_schema(st->db, path, err, errlen) < 0)
        goto fail;
    if (!fresh && open_check_integrity(st->db, path, err, errlen) < 0)
        goto fail;
    if (!fresh && version < TOCSIN_STORE_SCHEMA_VERSION &&
        open_upgrade_tables(st->db, path, version, err, errlen) < 0)
        goto fail;
    if (open_prepare(st, err, errlen) < 0)
        goto fail;
    if (!fresh && version == 1 && open_upgrade_v1(st, err, errlen) < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    tocsin_store_close(st);
    return -1;
}

void tocsin_store_close(struct tocsin_store *st)
{
    size_t i;

    if (!st)
        return;
    for (i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    if (st->db && sqlite3_close(st->db) != SQLITE_OK)
        tocsin_error("store %s: cannot close: %s", st->path,
                     sqlite3_errmsg(st->db));
    free(st->path);
    free(st);
}

const char *tocsin_store_path(const struct tocsin_store *st)
{
    return st->path;
}

/* ------------------------------------------------------------------ */
/* Outbox.                                                             */
/* ------------------------------------------------------------------ */

/* Insert one item (inside a transaction); the new id to *id. */
static int outbox_insert(struct tocsin_store *st,
                         const struct tocsin_outbox_item *it, int64_t *id)
{
    sqlite3_stmt *s = st->stmt[S_OUTBOX_ADD];
    int rc;

    rc = bind_text(s, 1, it->notifier);
    rc |= bind_text(s, 2, it->service);
    rc |= bind_text(s, 3, it->incident);
    rc |= bind_text(s, 4, it->group_key);
    rc |= sqlite3_bind_int(s, 5, it->kind);
    rc |= sqlite3_bind_int(s, 6, it->state);
    rc |= sqlite3_bind_int(s, 7, it->severity);
    rc |= sqlite3_bind_int(s, 8, it->attempts);
    rc |= sqlite3_bind_int64(s, 9, it->created_ms);
    rc |= sqlite3_bind_int64(s, 10, it->expires_ms);
    rc |= sqlite3_bind_int64(s, 11, it->next_attempt_ms);
    rc |= bind_blob(s, 12, it->payload, it->payload_len);
    if (stmt_run_bound(st, s, rc, "cannot add an outbox item") < 0)
        return -1;
    if (id)
        *id = sqlite3_last_insert_rowid(st->db);
    st->depth++;
    return 0;
}

/* Add an item; O(log n). */
int tocsin_outbox_add(struct tocsin_store *st,
                      const struct tocsin_outbox_item *it, int64_t *id)
{
    int own, rc;

    if (!it->notifier || !it->service || !it->incident ||
        (!it->payload && it->payload_len > 0) || it->attempts < 0) {
        return store_refuse(st, "outbox item refused: notifier, service, incident "
                    "and payload are required");
    }
    if (write_begin(st, &own) < 0)
        return -1;
    rc = outbox_insert(st, it, id);
    return (int)write_end(st, own, rc);
}

/* Fill *it from the current row of S_OUTBOX_DUE. Returns -1 when SQLite
 * could not allocate a column. */
static int outbox_row(sqlite3_stmt *s, struct tocsin_outbox_item *it)
{
    memset(it, 0, sizeof(*it));
    it->id = sqlite3_column_int64(s, 0);
    it->notifier = (const char *)sqlite3_column_text(s, 1);
    it->service = (const char *)sqlite3_column_text(s, 2);
    it->incident = (const char *)sqlite3_column_text(s, 3);
    it->group_key = (const char *)sqlite3_column_text(s, 4);
    it->kind = sqlite3_column_int(s, 5);
    it->state = sqlite3_column_int(s, 6);
    it->severity = sqlite3_column_int(s, 7);
    it->created_ms = sqlite3_column_int64(s, 8);
    it->expires_ms = sqlite3_column_int64(s, 9);
    it->next_attempt_ms = sqlite3_column_int64(s, 10);
    it->attempts = sqlite3_column_int(s, 11);
    it->payload = sqlite3_column_blob(s, 12);
    it->payload_len = (size_t)sqlite3_column_bytes(s, 12);
    if (!it->notifier || !it->service || !it->incident || !it->group_key)
        return -1;
    return 0;
}

/* An item looked at by tocsin_outbox_due that changes: taken (in flight)
 * or expired. */
struct due_change {
    int64_t id;
    int attempts;
    int expired;
};

/* Apply the changes of one tocsin_outbox_due call: claim what was taken,
 * end what expired with an attempt row of its own (attempt 0: none made). */
static int outbox_apply_due(struct tocsin_store *st, int64_t now_ms,
                            const struct due_change *ch, size_t n)
{
    sqlite3_stmt *s;
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        if (!ch[i].expired) {
            s = st->stmt[S_OUTBOX_CLAIM];
            rc = sqlite3_bind_int64(s, 1, ch[i].id);
            if (stmt_run_bound(st, s, rc, "cannot mark an outbox item in flight") < 0)
                return -1;
            continue;
        }
        s = st->stmt[S_OUTBOX_SET];
        rc = sqlite3_bind_int64(s, 1, ch[i].id);
        rc |= sqlite3_bind_int(s, 2, TOCSIN_OUTBOX_EXPIRED);
        rc |= sqlite3_bind_int(s, 3, ch[i].attempts);
        rc |= sqlite3_bind_null(s, 4);
        rc |= sqlite3_bind_int64(s, 5, now_ms);
        if (stmt_run_bound(st, s, rc, "cannot expire an outbox item") < 0)
            return -1;
        s = st->stmt[S_ATTEMPT_ADD];
        rc = sqlite3_bind_int64(s, 1, ch[i].id);
        rc |= sqlite3_bind_int64(s, 2, now_ms);
        rc |= sqlite3_bind_int(s, 3, 0);
        rc |= sqlite3_bind_int(s, 4, TOCSIN_OUTBOX_EXPIRED);
        rc |= bind_text(s, 5, "");
        if (stmt_run_bound(st, s, rc, "cannot expire an outbox item") < 0)
            return -1;
        st->depth--;
    }
    return 0;
}

/*
 * Walk the due items in order: those past expires_ms are set aside to
 * expire, the others go to fn until it refuses one or max were taken. The
 * changes are written after the scan, since changing rows of the index
 * being scanned would leave the scan's course undefined. Returns the
 * number taken, or -1.
 */
static int outbox_hand_out(struct tocsin_store *st, int64_t now_ms,
                           size_t max, tocsin_outbox_fn fn,
                           tocsin_outbox_fn expired_fn, void *ud)
{
    sqlite3_stmt *s = st->stmt[S_OUTBOX_DUE];
    struct tocsin_outbox_item it;
    struct due_change *ch = NULL, *grown;
    size_t nch = 0, cap = 0, ntaken = 0;
    int rc = SQLITE_DONE, result = -1;

    if (sqlite3_bind_int64(s, 1, now_ms) != SQLITE_OK) {
        store_db_error(st, "cannot list due outbox items");
        goto out;
    }
    while (ntaken < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (outbox_row(s, &it) < 0) {
            store_error(st, "out of memory reading outbox item %" PRId64, it.id);
            goto out;
        }
        if (nch == cap) {
            cap = cap ? 2 * cap : 16;
            grown = realloc(ch, cap * sizeof(*ch));
            if (!grown) {
                store_error(st, "out of memory handing out outbox items");
                goto out;
            }
            ch = grown;
        }
        ch[nch].id = it.id;
        ch[nch].attempts = it.attempts;
        ch[nch].expired = it.expires_ms < now_ms;
        if (ch[nch].expired && expired_fn)
            expired_fn(ud, &it);
        if (!ch[nch].expired) {
            int verdict = fn(ud, &it);

            if (verdict < 0)
                break;
            if (verdict > 0)
                continue; /* left for a later call */
            ntaken++;
        }
        nch++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_db_error(st, "cannot list due outbox items");
        goto out;
    }
    stmt_done(s);
    if (outbox_apply_due(st, now_ms, ch, nch) < 0)
        goto out;
    result = (int)ntaken;
out:
    stmt_done(s);
    free(ch);
    return result;
}

/* Hand out what is due, expiring what is past its time on the way. */
int tocsin_outbox_release(struct tocsin_store *st)
{
    return stmt_run(st, st->stmt[S_OUTBOX_RELEASE], "cannot release items in flight");
}

int tocsin_outbox_due(struct tocsin_store *st, int64_t now_ms, size_t max,
                      tocsin_outbox_fn fn, void *ud)
{
    return tocsin_outbox_due_expiring(st, now_ms, max, fn, NULL, ud);
}

int tocsin_outbox_due_expiring(struct tocsin_store *st, int64_t now_ms, size_t max,
                               tocsin_outbox_fn fn, tocsin_outbox_fn expired_fn,
                               void *ud)
{
    int own, rc;

    if (max == 0)
        return 0;
    if (write_begin(st, &own) < 0)
        return -1;
    rc = outbox_hand_out(st, now_ms, max, fn, expired_fn, ud);
    return (int)write_end(st, own, rc);
}

/* One index probe on outbox_pending. */
int64_t tocsin_outbox_next_due(struct tocsin_store *st)
{
    sqlite3_stmt *s = st->stmt[S_OUTBOX_NEXT_DUE];
    int64_t next = INT64_MAX;
    int rc;

    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        next = sqlite3_column_int64(s, 0);
    else if (rc != SQLITE_DONE)
        store_db_error(st, "cannot find the next due outbox item");
    stmt_done(s);
    return next;
}

/* Read an item's status, attempts and expiry. Returns 1 when found, 0 when
 * there is no such item, -1 on error (logged). */
static int outbox_get(struct tocsin_store *st, int64_t id, int *status,
                      int *attempts, int64_t *expires_ms)
{
    sqlite3_stmt *s = st->stmt[S_OUTBOX_GET];
    int rc, found = -1;

    if (sqlite3_bind_int64(s, 1, id) != SQLITE_OK) {
        store_db_error(st, "cannot read an outbox item");
        goto out;
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *status = sqlite3_column_int(s, 0);
        *attempts = sqlite3_column_int(s, 1);
        *expires_ms = sqlite3_column_int64(s, 2);
        found = 1;
    } else if (rc == SQLITE_DONE) {
        found = 0;
    } else {
        store_db_error(st, "cannot read an outbox item");
    }
out:
    stmt_done(s);
    return found;
}

/* The body of tocsin_outbox_record, inside a transaction. */
static int outbox_record(struct tocsin_store *st, int64_t id, int outcome,
                         const char *reason, int64_t now_ms,
                         int64_t next_attempt_ms)
{
    sqlite3_stmt *s;
    int64_t expires_ms;
    int status, attempts, found, rc;

    found = outbox_get(st, id, &status, &attempts, &expires_ms);
    if (found < 0)
        return -1;
    if (found == 0 || status != TOCSIN_OUTBOX_PENDING) {
        store_error(st, "outcome for outbox item %" PRId64 " refused: %s",
                    id, found ? "it is no longer pending" : "no such item");
        return -1;
    }
    attempts++;
    if (outcome == TOCSIN_RETRY && next_attempt_ms > expires_ms)
        status = TOCSIN_OUTBOX_EXPIRED;
    else
        status = outcome; /* DELIVERED, FAILED, or RETRY = PENDING */

    s = st->stmt[S_OUTBOX_SET];
    rc = sqlite3_bind_int64(s, 1, id);
    rc |= sqlite3_bind_int(s, 2, status);
    rc |= sqlite3_bind_int(s, 3, attempts);
    if (status == TOCSIN_OUTBOX_PENDING) {
        rc |= sqlite3_bind_int64(s, 4, next_attempt_ms);
        rc |= sqlite3_bind_null(s, 5);
    } else {
        rc |= sqlite3_bind_null(s, 4);
        rc |= sqlite3_bind_int64(s, 5, now_ms);
    }
    if (stmt_run_bound(st, s, rc, "cannot record an outcome") < 0)
        return -1;

    s = st->stmt[S_ATTEMPT_ADD];
    rc = sqlite3_bind_int64(s, 1, id);
    rc |= sqlite3_bind_int64(s, 2, now_ms);
    rc |= sqlite3_bind_int(s, 3, attempts);
    rc |= sqlite3_bind_int(s, 4, status);
    rc |= bind_text(s, 5, reason);
    if (stmt_run_bound(st, s, rc, "cannot record an attempt") < 0)
        return -1;
    if (status != TOCSIN_OUTBOX_PENDING)
        st->depth--;
    return 0;
}

/* Record an attempt: two point updates and one insert, O(log n). */
int tocsin_outbox_record(struct tocsin_store *st, int64_t id, int outcome,
                         const char *reason, int64_t now_ms,
                         int64_t next_attempt_ms)
{
    int own, rc;

    if (outcome != TOCSIN_DELIVERED && outcome != TOCSIN_RETRY &&
        outcome != TOCSIN_FAILED) {
        store_error(st, "outcome %d for outbox item %" PRId64 " refused: not "
                    "delivered, retry or failed", outcome, id);
        if (st->in_txn)
            st->txn_failed = 1;
        return -1;
    }
    if (write_begin(st, &own) < 0)
        return -1;
    rc = outbox_record(st, id, outcome, reason, now_ms, next_attempt_ms);
    return (int)write_end(st, own, rc);
}

int tocsin_outbox_status(struct tocsin_store *st, int64_t id)
{
    int64_t expires_ms;
    int status, attempts, found;

    found = outbox_get(st, id, &status, &attempts, &expires_ms);
    if (found <= 0) {
        if (found < 0 && st->in_txn)
            st->txn_failed = 1;
        return -1;
    }
    return status;
}

/* Step statement `s`: 1 on a row, 0 at its end, -1 on an error (logged
 * with `what`). The caller resets it. */
static int step_row(struct tocsin_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    store_db_error(st, what);
    return -1;
}

/* A probe of the outbox: step_row() with its message. */
static int probe_step(struct tocsin_store *st, sqlite3_stmt *s)
{
    return step_row(st, s, "cannot look for a pending outbox item");
}

int tocsin_outbox_pending_kind(struct tocsin_store *st, const char *notifier,
                               const char *service, const char *incident, int others,
                               int kind, int64_t except_id)
{
    sqlite3_stmt *s = st->stmt[S_OUTBOX_PENDING_KIND];
    int found = -1;

    if (sqlite3_bind_text(s, 1, service, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(s, 2, incident, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(s, 3, notifier, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(s, 4, kind) != SQLITE_OK ||
        sqlite3_bind_int64(s, 5, except_id) != SQLITE_OK ||
        sqlite3_bind_int(s, 6, others != 0) != SQLITE_OK) {
        store_db_error(st, "cannot look for a pending outbox item");
        goto out;
    }
    found = probe_step(st, s);
out:
    stmt_done(s);
    return found;
}

int tocsin_outbox_unsent_kind(struct tocsin_store *st, const char *notifier,
                              const char *service, const char *incident, int kind,
                              int64_t now_ms)
{
    sqlite3_stmt *s = st->stmt[S_OUTBOX_UNSENT_KIND];
    int found = -1;

    if (sqlite3_bind_text(s, 1, service, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(s, 2, incident, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(s, 3, notifier, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(s, 4, kind) != SQLITE_OK ||
        sqlite3_bind_int64(s, 5, now_ms) != SQLITE_OK) {
        store_db_error(st, "cannot look for a pending outbox item");
        goto out;
    }
    found = probe_step(st, s);
out:
    stmt_done(s);
    return found;
}

int64_t tocsin_outbox_depth(const struct tocsin_store *st)
{
    return st->depth;
}

/* Delete ended items before a time; their attempts go by the foreign
 * key's ON DELETE CASCADE. O(k log n) for k items deleted. */
/* Run prune statement `s` for rows before older_than_ms in a write of
 * its own (or the open transaction's); `what` names the failure. Returns
 * the rows deleted, or -1. */
static int64_t prune_before(struct tocsin_store *st, sqlite3_stmt *s, int64_t older_than_ms,
                            const char *what)
{
    int64_t rc = -1;
    int own;

    if (write_begin(st, &own) < 0)
        return -1;
    if (stmt_run_bound(st, s, sqlite3_bind_int64(s, 1, older_than_ms), what) == 0)
        rc = sqlite3_changes64(st->db);
    return write_end(st, own, rc);
}

int64_t tocsin_outbox_prune(struct tocsin_store *st, int64_t older_than_ms)
{
    return prune_before(st, st->stmt[S_OUTBOX_PRUNE], older_than_ms, "cannot prune the outbox");
}

/* ------------------------------------------------------------------ */
/* History.                                                            */
/* ------------------------------------------------------------------ */

int tocsin_history_add(struct tocsin_store *st, int64_t at_ms,
                       const char *service, const char *kind,
                       const char *text)
{
    sqlite3_stmt *s = st->stmt[S_HISTORY_ADD];
    int own, rc;

    if (!kind || !*kind) {
        return store_refuse(st, "history event refused: it has no kind");
    }
    if (write_begin(st, &own) < 0)
        return -1;
    rc = sqlite3_bind_int64(s, 1, at_ms);
    rc |= bind_text(s, 2, service);
    rc |= bind_text(s, 3, kind);
    rc |= bind_text(s, 4, text);
    rc = stmt_run_bound(st, s, rc, "cannot add a history event");
    return (int)write_end(st, own, rc);
}

static const char *outcome_kind(int outcome)
{
    switch (outcome) {
    case TOCSIN_OUTBOX_DELIVERED: return "delivered";
    case TOCSIN_OUTBOX_PENDING: return "retry";
    case TOCSIN_OUTBOX_FAILED: return "failed";
    case TOCSIN_OUTBOX_EXPIRED: return "expired";
    default: return "attempt";
    }
}

/* The text of an attempt row of S_ATTEMPTS_*: "to NOTIFIER, attempt N,
 * incident I: REASON", or for an item that expired unsent "to NOTIFIER,
 * incident I: not sent after N attempts". */
static int attempt_text(sqlite3_stmt *s, struct tocsin_buf *text)
{
    const char *reason = (const char *)sqlite3_column_text(s, 4);
    const char *notifier = (const char *)sqlite3_column_text(s, 5);
    const char *incident = (const char *)sqlite3_column_text(s, 6);
    int attempt = sqlite3_column_int(s, 3);

    tocsin_buf_reset(text);
    if (!reason || !notifier || !incident)
        return -1;
    if (attempt > 0) {
        tocsin_buf_printf(text, "to %s, attempt %d, incident %s", notifier,
                          attempt, incident);
        if (*reason)
            tocsin_buf_printf(text, ": %s", reason);
    } else {
        tocsin_buf_printf(text, "to %s, incident %s: not sent after %d "
                          "attempts", notifier, incident,
                          sqlite3_column_int(s, 7));
    }
    return text->oom ? -1 : 0;
}

/* End a listing by statement `s` that gives `result` (-1: it failed, and
 * so does the transaction it was part of). */
static int list_done(struct tocsin_store *st, sqlite3_stmt *s, int result)
{
    stmt_done(s);
    if (result < 0 && st->in_txn)
        st->txn_failed = 1;
    return result;
}

/* A statement of the merge: step_row() with its message. */
static int history_step(struct tocsin_store *st, sqlite3_stmt *s)
{
    return step_row(st, s, "cannot list the history");
}

/*
 * Merge, by time, the added events and the attempts: two index range
 * scans stepped side by side, oldest first or (newest) newest first,
 * O(log n + k). Newest first is the exact reverse of oldest first.
 */
static int history_merge(struct tocsin_store *st, const char *service, int64_t since_ms,
                         int newest, tocsin_history_fn fn, void *ud)
{
    sqlite3_stmt *ev = st->stmt[newest ? (service ? S_HISTORY_ONE_DESC : S_HISTORY_ALL_DESC)
                                       : (service ? S_HISTORY_ONE : S_HISTORY_ALL)];
    sqlite3_stmt *at = st->stmt[newest ? (service ? S_ATTEMPTS_ONE_DESC : S_ATTEMPTS_ALL_DESC)
                                       : (service ? S_ATTEMPTS_ONE : S_ATTEMPTS_ALL)];
    int64_t ev_ms, at_ms_next;
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    const char *svc, *kind, *line;
    int have_ev, have_at, take_ev, rc, result = -1, count = 0;
    int64_t at_ms;

    rc = sqlite3_bind_int64(ev, 1, since_ms);
    rc |= sqlite3_bind_int64(at, 1, since_ms);
    if (service) {
        rc |= bind_text(ev, 2, service);
        rc |= bind_text(at, 2, service);
    }
    if (rc != SQLITE_OK) {
        store_db_error(st, "cannot list the history");
        goto out;
    }
    if ((have_ev = history_step(st, ev)) < 0 ||
        (have_at = history_step(st, at)) < 0)
        goto out;
    while (have_ev || have_at) {
        ev_ms = have_ev ? sqlite3_column_int64(ev, 0) : 0;
        at_ms_next = have_at ? sqlite3_column_int64(at, 0) : 0;
        take_ev = have_ev && (!have_at || (newest ? ev_ms > at_ms_next
                                                  : ev_ms <= at_ms_next));
        if (take_ev) {
            at_ms = sqlite3_column_int64(ev, 0);
            svc = (const char *)sqlite3_column_text(ev, 1);
            kind = (const char *)sqlite3_column_text(ev, 2);
            line = (const char *)sqlite3_column_text(ev, 3);
        } else {
            at_ms = sqlite3_column_int64(at, 0);
            svc = (const char *)sqlite3_column_text(at, 1);
            kind = outcome_kind(sqlite3_column_int(at, 2));
            line = attempt_text(at, &text) == 0 ? tocsin_buf_str(&text) : NULL;
        }
        if (!svc || !kind || !line) {
            store_error(st, "out of memory listing the history");
            goto out;
        }
        count++;
        if (fn(ud, at_ms, svc, kind, line) != 0)
            break;
        if (take_ev)
            have_ev = history_step(st, ev);
        else
            have_at = history_step(st, at);
        if (have_ev < 0 || have_at < 0)
            goto out;
    }
    result = count;
out:
    stmt_done(ev);
    stmt_done(at);
    tocsin_buf_free(&text);
    if (result < 0 && st->in_txn)
        st->txn_failed = 1;
    return result;
}

int tocsin_history_list(struct tocsin_store *st, const char *service,
                        int64_t since_ms, tocsin_history_fn fn, void *ud)
{
    return history_merge(st, service, since_ms, 0, fn, ud);
}

int tocsin_history_list_newest(struct tocsin_store *st, const char *service,
                               int64_t since_ms, tocsin_history_fn fn, void *ud)
{
    return history_merge(st, service, since_ms, 1, fn, ud);
}

/* ------------------------------------------------------------------ */
/* Incidents.                                                          */
/* ------------------------------------------------------------------ */

int tocsin_incident_put(struct tocsin_store *st, const struct tocsin_incident_row *r)
{
    sqlite3_stmt *s = st->stmt[S_INCIDENT_PUT];
    int rc;

    if (!r->key || !*r->key) {
        store_error(st, "incident refused: it has no key");
        return -1;
    }
    rc = bind_text(s, 1, r->key);
    rc |= bind_text(s, 2, r->service);
    rc |= bind_text(s, 3, r->host);
    rc |= sqlite3_bind_int(s, 4, r->state);
    rc |= sqlite3_bind_int(s, 5, r->severity);
    rc |= sqlite3_bind_int64(s, 6, r->start_ms);
    if (r->acked) {
        rc |= bind_text(s, 7, r->ack_by);
        rc |= bind_text(s, 8, r->ack_text);
        rc |= sqlite3_bind_int64(s, 9, r->ack_ms);
    }
    rc |= bind_text(s, 10, r->output);
    return stmt_run_bound(st, s, rc, "cannot save an incident");
}

int tocsin_incident_end(struct tocsin_store *st, const char *key, int64_t end_ms)
{
    sqlite3_stmt *s = st->stmt[S_INCIDENT_END];

    return stmt_run_bound(st, s, bind_text(s, 1, key) | sqlite3_bind_int64(s, 2, end_ms),
                          "cannot close an incident");
}

/* A text column, or "" for NULL; ok cleared when SQLite ran out of memory
 * making the text of a column that has one. */
static const char *column_text(sqlite3_stmt *s, int i, int *ok)
{
    const char *t = (const char *)sqlite3_column_text(s, i);

    if (!t && sqlite3_column_type(s, i) != SQLITE_NULL)
        *ok = 0;
    return t ? t : "";
}

int tocsin_incident_list(struct tocsin_store *st, enum tocsin_incident_which which,
                         int64_t since_ms, const char *service,
                         tocsin_incident_fn fn, void *ud)
{
    sqlite3_stmt *s = st->stmt[S_INCIDENT_LIST];
    struct tocsin_incident_row r;
    int rc, ok, count = 0, result = -1;

    rc = sqlite3_bind_int(s, 1, (int)which);
    rc |= sqlite3_bind_int64(s, 2, since_ms);
    if (service)
        rc |= bind_text(s, 3, service);
    if (rc != SQLITE_OK) {
        store_db_error(st, "cannot list the incidents");
        goto out;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ok = 1;
        memset(&r, 0, sizeof(r));
        r.key = column_text(s, 0, &ok);
        r.service = column_text(s, 1, &ok);
        r.host = column_text(s, 2, &ok);
        r.state = sqlite3_column_int(s, 3);
        r.severity = sqlite3_column_int(s, 4);
        r.start_ms = sqlite3_column_int64(s, 5);
        r.end_ms = sqlite3_column_type(s, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 6);
        r.acked = sqlite3_column_type(s, 9) != SQLITE_NULL;
        r.ack_by = column_text(s, 7, &ok);
        r.ack_text = column_text(s, 8, &ok);
        r.ack_ms = sqlite3_column_int64(s, 9);
        r.output = column_text(s, 10, &ok);
        r.sent = sqlite3_column_int64(s, 11);
        r.pending = sqlite3_column_int64(s, 12);
        r.failed = sqlite3_column_int64(s, 13);
        if (!ok) {
            store_error(st, "out of memory listing the incidents");
            goto out;
        }
        count++;
        if (fn(ud, &r) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_db_error(st, "cannot list the incidents");
        goto out;
    }
    result = count;
out:
    return list_done(st, s, result);
}

int64_t tocsin_history_prune(struct tocsin_store *st, int64_t older_than_ms)
{
    return prune_before(st, st->stmt[S_HISTORY_PRUNE], older_than_ms,
                        "cannot prune the history");
}

/* ------------------------------------------------------------------ */
/* Metric history.                                                     */
/* ------------------------------------------------------------------ */

/* The id of series (service, label) to *id, added when `create`; 0 with
 * *id = 0 when it is not there. Returns 0 or -1 (logged). */
static int metric_series_id(struct tocsin_store *st, const char *service, const char *label,
                            int create, int64_t *id)
{
    sqlite3_stmt *s = st->stmt[S_SERIES_GET];
    int rc;

    *id = 0;
    rc = bind_text(s, 1, service);
    rc |= bind_text(s, 2, label);
    if (rc != SQLITE_OK) {
        store_db_error(st, "cannot look a metric series up");
        stmt_done(s);
        return -1;
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    stmt_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_db_error(st, "cannot look a metric series up");
        return -1;
    }
    if (*id || !create)
        return 0;
    s = st->stmt[S_SERIES_ADD];
    rc = bind_text(s, 1, service);
    rc |= bind_text(s, 2, label);
    if (stmt_run_bound(st, s, rc, "cannot add a metric series") < 0)
        return -1;
    *id = sqlite3_last_insert_rowid(st->db);
    return 0;
}

int tocsin_metric_put_minute(struct tocsin_store *st, const char *service,
                             const char *label, const struct tocsin_metric_row *r)
{
    sqlite3_stmt *s = st->stmt[S_MINUTE_PUT];
    int64_t id;
    int own, rc;

    if (!service || !label || r->count <= 0) {
        return store_refuse(st, "metric minute refused: it needs a service, a label "
                            "and a count");
    }
    if (write_begin(st, &own) < 0)
        return -1;
    rc = metric_series_id(st, service, label, 1, &id);
    if (rc == 0) {
        rc = sqlite3_bind_int64(s, 1, id);
        rc |= sqlite3_bind_int64(s, 2, r->t);
        rc |= sqlite3_bind_double(s, 3, r->min);
        rc |= sqlite3_bind_double(s, 4, r->avg);
        rc |= sqlite3_bind_double(s, 5, r->max);
        rc |= sqlite3_bind_double(s, 6, r->last);
        rc |= sqlite3_bind_int64(s, 7, r->count);
        rc = stmt_run_bound(st, s, rc, "cannot write a metric minute");
    }
    return (int)write_end(st, own, rc);
}

int tocsin_metric_rollup(struct tocsin_store *st, const char *service,
                         const char *label, int64_t hour)
{
    sqlite3_stmt *s = st->stmt[S_HOUR_ROLLUP];
    int64_t id;
    int own, rc;

    if (write_begin(st, &own) < 0)
        return -1;
    rc = metric_series_id(st, service, label, 0, &id);
    if (rc == 0 && id) {
        rc = sqlite3_bind_int64(s, 1, id);
        rc |= sqlite3_bind_int64(s, 2, hour);
        rc = stmt_run_bound(st, s, rc, "cannot roll a metric hour up");
    }
    return (int)write_end(st, own, rc);
}

/* Run a prune statement (?1 series, ?2 time); the rows deleted to *n. */
static int metric_prune_one(struct tocsin_store *st, sqlite3_stmt *s, int64_t id,
                            int64_t before, int64_t *n)
{
    int rc = sqlite3_bind_int64(s, 1, id);

    rc |= sqlite3_bind_int64(s, 2, before);
    if (stmt_run_bound(st, s, rc, "cannot prune the metric history") < 0)
        return -1;
    *n += sqlite3_changes64(st->db);
    return 0;
}

int64_t tocsin_metric_prune(struct tocsin_store *st, int64_t minute_before,
                            int64_t hour_before, size_t max_series)
{
    sqlite3_stmt *s = st->stmt[S_SERIES_NEXT];
    int64_t *ids = NULL, deleted = 0, last = st->prune_series;
    size_t n = 0, i;
    int own, rc;

    if (max_series == 0)
        return 0;
    ids = calloc(max_series, sizeof(*ids));
    if (!ids) {
        store_error(st, "out of memory pruning the metric history");
        return -1;
    }
    rc = sqlite3_bind_int64(s, 1, st->prune_series);
    rc |= sqlite3_bind_int64(s, 2, (sqlite3_int64)max_series);
    if (rc != SQLITE_OK) {
        store_db_error(st, "cannot list the metric series");
        stmt_done(s);
        free(ids);
        return -1;
    }
    while (n < max_series && (rc = sqlite3_step(s)) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(s, 0);
    stmt_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_db_error(st, "cannot list the metric series");
        free(ids);
        return -1;
    }
    if (write_begin(st, &own) < 0) {
        free(ids);
        return -1;
    }
    rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        rc = metric_prune_one(st, st->stmt[S_MINUTE_PRUNE], ids[i], minute_before, &deleted);
        if (rc == 0)
            rc = metric_prune_one(st, st->stmt[S_HOUR_PRUNE], ids[i], hour_before, &deleted);
        last = ids[i];
    }
    free(ids);
    /* Fewer than asked for: the round is over, the next starts again. */
    if (rc == 0)
        st->prune_series = n < max_series ? 0 : last;
    return write_end(st, own, rc < 0 ? -1 : deleted);
}

int tocsin_metric_list(struct tocsin_store *st, const char *service, const char *label,
                       int hourly, int64_t since, size_t max_rows, int *truncated,
                       tocsin_metric_fn fn, void *ud)
{
    sqlite3_stmt *s = st->stmt[hourly ? S_HOUR_LIST : S_MINUTE_LIST];
    struct tocsin_metric_row r;
    const char *name;
    int count = 0, rc;

    *truncated = 0;
    rc = bind_text(s, 1, service);
    rc |= label ? bind_text(s, 2, label) : sqlite3_bind_null(s, 2);
    rc |= sqlite3_bind_int64(s, 3, since);
    if (rc != SQLITE_OK) {
        store_db_error(st, "cannot list the metric history");
        stmt_done(s);
        return -1;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((size_t)count >= max_rows) {
            *truncated = 1;
            break;
        }
        name = (const char *)sqlite3_column_text(s, 0);
        r.t = sqlite3_column_int64(s, 1);
        r.min = sqlite3_column_double(s, 2);
        r.avg = sqlite3_column_double(s, 3);
        r.max = sqlite3_column_double(s, 4);
        r.last = sqlite3_column_type(s, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 5);
        r.count = sqlite3_column_int64(s, 6);
        if (!name) {
            rc = SQLITE_NOMEM;
            break;
        }
        count++;
        if (fn(ud, name, &r))
            break;
    }
    stmt_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_db_error(st, "cannot list the metric history");
        return -1;
    }
    return count;
}

/* ------------------------------------------------------------------ */
/* State.                                                              */
/* ------------------------------------------------------------------ */

/* Refuse a missing kind or name (logged); marks the transaction failed. */
static int state_check_key(struct tocsin_store *st, const char *kind,
                           const char *name)
{
    if (kind && *kind && name)
        return 0;
    store_error(st, "state entry refused: it needs a kind and a name");
    if (st->in_txn)
        st->txn_failed = 1;
    return -1;
}

/* Insert or replace one entry: an upsert on the primary key, O(log n). */
int tocsin_state_put(struct tocsin_store *st, const char *kind,
                     const char *name, const void *blob, size_t len)
{
    sqlite3_stmt *s = st->stmt[S_STATE_PUT];
    int own, rc;

    if (state_check_key(st, kind, name) < 0)
        return -1;
    if (!blob && len > 0) {
        store_error(st, "state entry %s/%s refused: no data", kind, name);
        if (st->in_txn)
            st->txn_failed = 1;
        return -1;
    }
    if (write_begin(st, &own) < 0)
        return -1;
    rc = bind_text(s, 1, kind);
    rc |= bind_text(s, 2, name);
    rc |= bind_blob(s, 3, blob, len);
    rc = stmt_run_bound(st, s, rc, "cannot store a state entry");
    return (int)write_end(st, own, rc);
}

int tocsin_state_delete(struct tocsin_store *st, const char *kind,
                        const char *name)
{
    sqlite3_stmt *s = st->stmt[S_STATE_DELETE];
    int own, rc;

    if (state_check_key(st, kind, name) < 0)
        return -1;
    if (write_begin(st, &own) < 0)
        return -1;
    rc = bind_text(s, 1, kind);
    rc |= bind_text(s, 2, name);
    rc = stmt_run_bound(st, s, rc, "cannot delete a state entry");
    return (int)write_end(st, own, rc);
}

/* A range scan of the primary key, O(log n + k). */
int tocsin_state_each(struct tocsin_store *st, const char *kind,
                      tocsin_state_fn fn, void *ud)
{
    sqlite3_stmt *s = st->stmt[S_STATE_EACH];
    const char *name;
    const void *blob;
    int rc, count = 0, result = -1;

    if (state_check_key(st, kind, "") < 0)
        return -1;
    if (bind_text(s, 1, kind) != SQLITE_OK) {
        store_db_error(st, "cannot list state entries");
        goto out;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        name = (const char *)sqlite3_column_text(s, 0);
        blob = sqlite3_column_blob(s, 1);
        if (!name) {
            store_error(st, "out of memory listing state entries");
            goto out;
        }
        count++;
        if (fn(ud, name, blob, (size_t)sqlite3_column_bytes(s, 1)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        store_db_error(st, "cannot list state entries");
        goto out;
    }
    result = count;
out:
    return list_done(st, s, result);
}

/* ------------------------------------------------------------------ */
/* Upgrading a store of schema 1.                                      */
/* ------------------------------------------------------------------ */

/* One row whose blob is rewritten: an outbox item (kind NULL) or a state
 * entry, with its blob in the current format (or `bad`: unreadable). */
struct upgrade_row {
    int64_t id;
    char *kind, *name;
    struct tocsin_buf blob;
    int bad;
};

struct upgrade_rows {
    struct upgrade_row *row;
    size_t n, cap;
};

static void upgrade_rows_free(struct upgrade_rows *rows)
{
    size_t i;

    for (i = 0; i < rows->n; i++) {
        free(rows->row[i].kind);
        free(rows->row[i].name);
        tocsin_buf_free(&rows->row[i].blob);
    }
    free(rows->row);
    memset(rows, 0, sizeof(*rows));
}

/*
 * Run `sql`, whose rows are (outbox id or NULL, state kind, state name,
 * blob), and append each row to `rows` with its blob upgraded from
 * version 0 (tocsin_saved_upgrade, which warns about one it cannot read).
 * Rows are collected before any is written, so that the scan never sees
 * its own writes. Returns 0 or -1 (logged). O(rows + their bytes).
 */
static int upgrade_collect(struct tocsin_store *st, const char *sql, struct upgrade_rows *rows)
{
    struct tocsin_buf what = TOCSIN_BUF_INIT;
    sqlite3_stmt *s = NULL;
    int rc = -1, step;

    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        store_db_error(st, "cannot read the blobs to upgrade");
        goto out;
    }
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct upgrade_row *r;
        const char *kind = (const char *)sqlite3_column_text(s, 1);
        const char *name = (const char *)sqlite3_column_text(s, 2);
        const void *blob = sqlite3_column_blob(s, 3);
        size_t len = (size_t)sqlite3_column_bytes(s, 3);
        int outbox = sqlite3_column_type(s, 0) != SQLITE_NULL, up;

        if (rows->n == rows->cap) {
            size_t cap = rows->cap ? rows->cap * 2 : 16;
            struct upgrade_row *grown = realloc(rows->row, cap * sizeof(*grown));

            if (!grown)
                goto oom;
            rows->row = grown;
            rows->cap = cap;
        }
        r = &rows->row[rows->n];
        memset(r, 0, sizeof(*r));
        r->id = sqlite3_column_int64(s, 0);
        tocsin_buf_reset(&what);
        if (outbox)
            tocsin_buf_printf(&what, "outbox item %" PRId64, r->id);
        else
            tocsin_buf_printf(&what, "state entry %s/%s", kind ? kind : "",
                              name ? name : "");
        r->kind = outbox ? NULL : strdup(kind ? kind : "");
        r->name = outbox ? NULL : strdup(name ? name : "");
        rows->n++;
        if (what.oom || (!outbox && (!r->kind || !r->name)))
            goto oom;
        up = tocsin_saved_upgrade(outbox ? TOCSIN_SAVED_ALERT : tocsin_saved_state_kind(kind),
                                  blob ? blob : "", len, tocsin_buf_str(&what), &r->blob);
        if (up < 0)
            goto oom;
        r->bad = up == 1;
    }
    if (step != SQLITE_DONE) {
        store_db_error(st, "cannot read the blobs to upgrade");
        goto out;
    }
    rc = 0;
    goto out;
oom:
    store_error(st, "out of memory while upgrading the saved blobs");
out:
    sqlite3_finalize(s);
    tocsin_buf_free(&what);
    return rc;
}

/* Write one upgraded row back, or give up on it: an outbox item fails
 * (with the reason as its attempt), a state entry is deleted. Each with
 * a warning naming it. Returns 0 or -1 (logged). */
static int upgrade_write(struct tocsin_store *st, sqlite3_stmt *set_payload,
                         const struct upgrade_row *r, int64_t now_ms)
{
    if (r->kind && r->bad) {
        tocsin_warn("store %s: state entry %s/%s dropped: it cannot be upgraded",
                    st->path, r->kind, r->name);
        return tocsin_state_delete(st, r->kind, r->name);
    }
    if (r->kind)
        return tocsin_state_put(st, r->kind, r->name, r->blob.data, r->blob.len);
    if (r->bad) {
        tocsin_warn("store %s: outbox item %" PRId64 " failed: its alert cannot be upgraded",
                    st->path, r->id);
        return outbox_record(st, r->id, TOCSIN_FAILED,
                             "its saved alert could not be upgraded from schema 1",
                             now_ms, 0);
    }
    return stmt_run_bound(st, set_payload,
                          sqlite3_bind_int64(set_payload, 1, r->id) |
                          bind_blob(set_payload, 2, r->blob.data, r->blob.len),
                          "cannot rewrite an outbox payload");
}

/*
 * Schema 1 kept native struct copies; schema 2 keeps the versioned
 * formats of alerting/saved.h. Rewrite, in one transaction, the payload
 * of every outbox item not yet ended and every state entry of the kinds
 * that hold saved blobs, then set user_version to 2. A blob that cannot
 * be upgraded is given up on (upgrade_write). On any other failure the
 * transaction rolls back and the store is not opened (the message in
 * err). O(rows + their bytes), once.
 */
static int open_upgrade_v1(struct tocsin_store *st, char *err, size_t errlen)
{
    struct upgrade_rows rows = {NULL, 0, 0};
    sqlite3_stmt *set_payload = NULL;
    int64_t now_ms = tocsin_wall_ms();
    struct tocsin_buf sql = TOCSIN_BUF_INIT;
    size_t i, failed = 0, dropped = 0;
    int rc = -1;

    if (tocsin_store_begin(st) < 0)
        goto out;
    if (sqlite3_prepare_v2(st->db, "UPDATE outbox SET payload = ?2 WHERE id = ?1", -1,
                           &set_payload, NULL) != SQLITE_OK) {
        store_db_error(st, "cannot prepare the payload rewrite");
        goto out;
    }
    tocsin_buf_printf(&sql, "SELECT NULL, kind, name, value FROM state "
                      "WHERE kind IN ('%s', '%s')", TOCSIN_SAVED_STATE_INCIDENT,
                      TOCSIN_SAVED_STATE_SERVICE);
    if (sql.oom ||
        upgrade_collect(st, "SELECT id, NULL, NULL, payload FROM outbox WHERE status = 1",
                        &rows) < 0 ||
        upgrade_collect(st, tocsin_buf_str(&sql), &rows) < 0)
        goto out;
    for (i = 0; i < rows.n; i++) {
        if (upgrade_write(st, set_payload, &rows.row[i], now_ms) < 0)
            goto out;
        if (rows.row[i].bad && rows.row[i].kind)
            dropped++;
        else if (rows.row[i].bad)
            failed++;
    }
    tocsin_buf_reset(&sql);
    tocsin_buf_printf(&sql, "PRAGMA user_version = %d", TOCSIN_STORE_SCHEMA_VERSION);
    if (sql.oom || sqlite3_exec(st->db, tocsin_buf_str(&sql), NULL, NULL, NULL) != SQLITE_OK) {
        store_db_error(st, "cannot set the schema version");
        goto out;
    }
    if (tocsin_store_commit(st) < 0)
        goto out;
    tocsin_info("store %s: upgraded from schema 1 to %d (%zu blobs rewritten, %zu outbox "
                "items failed, %zu state entries dropped)", st->path,
                TOCSIN_STORE_SCHEMA_VERSION, rows.n - failed - dropped, failed, dropped);
    rc = 0;
out:
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot upgrade the store from schema 1 (see the log); "
                 "the file is as it was", st->path);
        if (st->in_txn)
            tocsin_store_rollback(st);
    }
    sqlite3_finalize(set_payload);
    tocsin_buf_free(&sql);
    upgrade_rows_free(&rows);
    return rc;
}
