/*
 * test_store.c - the durable store: outbox add/due/record and every
 * outcome, backoff order, expiry, the depth counter, pruning, history,
 * state, transactions, reopening, refused files, and a kill -9 in the
 * middle of a stream of commits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/log.h"
#include "alerting/metric-history.h"
#include "alerting/saved.h"
#include "alerting/store.h"
#include "engine/proto.h"
#include "engine/service.h"
#include "saved-v0.h"

/* ------------------------------------------------------------------ */
/* Fixture: a fresh directory per test, and the store's path in it.    */
/* ------------------------------------------------------------------ */

struct fixture {
    char dir[64];
    char path[128];
    struct tocsin_store *st;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tocsin-store-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, TOCSIN_STORE_FILE);
    *state = fx;
    return 0;
}

/* Remove the directory and the files in it (the database, its -wal and
 * -shm, and whatever a test wrote). */
static int teardown(void **state)
{
    struct fixture *fx = *state;
    char file[512];
    struct dirent *de;
    DIR *d;

    tocsin_store_close(fx->st);
    d = opendir(fx->dir);
    if (d) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(file, sizeof(file), "%s/%s", fx->dir, de->d_name);
            unlink(file);
        }
        closedir(d);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Open the fixture's store; fail the test with the message otherwise. */
static struct tocsin_store *open_store(struct fixture *fx)
{
    char err[512];

    if (tocsin_store_open(fx->path, 0, &fx->st, err, sizeof(err)) != 0)
        fail_msg("opening %s: expected success, got: %s", fx->path, err);
    return fx->st;
}

static void reopen_store(struct fixture *fx)
{
    tocsin_store_close(fx->st);
    fx->st = NULL;
    open_store(fx);
}

/* Open and expect a refusal whose message holds the path and `words`. */
static void expect_refusal(struct fixture *fx, const char *words)
{
    struct tocsin_store *st = NULL;
    char err[512];

    if (tocsin_store_open(fx->path, 0, &st, err, sizeof(err)) == 0) {
        tocsin_store_close(st);
        fail_msg("opening %s: expected a refusal mentioning \"%s\", got success",
                 fx->path, words);
    }
    assert_null(st);
    if (!strstr(err, fx->path) || !strstr(err, words))
        fail_msg("expected a message with the path %s and \"%s\", got: %s",
                 fx->path, words, err);
    fprintf(stderr, "refused as expected: %s\n", err);
}

/* ------------------------------------------------------------------ */
/* Items and collectors.                                               */
/* ------------------------------------------------------------------ */

static const char payload[] = "{\"service\":\"web\",\"state\":\"CRITICAL\"}";

static struct tocsin_outbox_item item(const char *notifier, const char *service,
                                      int64_t next_ms, int64_t expires_ms)
{
    struct tocsin_outbox_item it;

    memset(&it, 0, sizeof(it));
    it.notifier = notifier;
    it.service = service;
    it.incident = "inc-1";
    it.group_key = "";
    it.kind = 1;
    it.state = 2;
    it.severity = 3;
    it.created_ms = next_ms;
    it.next_attempt_ms = next_ms;
    it.expires_ms = expires_ms;
    it.payload = payload;
    it.payload_len = sizeof(payload) - 1;
    return it;
}

static int64_t add(struct tocsin_store *st, const char *notifier,
                   const char *service, int64_t next_ms, int64_t expires_ms)
{
    struct tocsin_outbox_item it = item(notifier, service, next_ms, expires_ms);
    int64_t id = -1;

    assert_int_equal(tocsin_outbox_add(st, &it, &id), 0);
    assert_true(id > 0);
    return id;
}

/* What tocsin_outbox_due handed out, copied out of the callback. */
struct taken {
    size_t n;
    size_t refuse_after;   /* refuse (return 1) once n reaches this */
    int64_t id[64];
    int attempts[64];
    char notifier[64][32];
    struct tocsin_outbox_item first;  /* numbers of the first item */
    char first_service[32], first_incident[32], first_group[32];
    char first_payload[128];
};

static int take(void *ud, const struct tocsin_outbox_item *it)
{
    struct taken *t = ud;

    if (t->refuse_after && t->n >= t->refuse_after)
        return -1;
    if (t->n >= 64)
        return -1;
    if (t->n == 0) {
        t->first = *it;
        snprintf(t->first_service, sizeof(t->first_service), "%s", it->service);
        snprintf(t->first_incident, sizeof(t->first_incident), "%s", it->incident);
        snprintf(t->first_group, sizeof(t->first_group), "%s", it->group_key);
        snprintf(t->first_payload, sizeof(t->first_payload), "%.*s",
                 (int)it->payload_len, (const char *)it->payload);
    }
    t->id[t->n] = it->id;
    t->attempts[t->n] = it->attempts;
    snprintf(t->notifier[t->n], sizeof(t->notifier[0]), "%s", it->notifier);
    t->n++;
    return 0;
}

static struct taken due(struct tocsin_store *st, int64_t now, size_t max)
{
    struct taken t;
    int n;

    memset(&t, 0, sizeof(t));
    n = tocsin_outbox_due(st, now, max, take, &t);
    assert_int_equal(n, (int)t.n);
    return t;
}

/* The history as lines "AT SERVICE KIND TEXT", joined by '\n'. */
struct lines {
    char text[4096];
    size_t used;
    int n;
};

static int collect_line(void *ud, int64_t at_ms, const char *service,
                        const char *kind, const char *text)
{
    struct lines *l = ud;
    int w;

    w = snprintf(l->text + l->used, sizeof(l->text) - l->used,
                 "%" PRId64 " %s %s %s\n", at_ms, service, kind, text);
    if (w > 0 && (size_t)w < sizeof(l->text) - l->used)
        l->used += (size_t)w;
    l->n++;
    return 0;
}

static struct lines history(struct tocsin_store *st, const char *service,
                            int64_t since)
{
    struct lines l;
    int n;

    memset(&l, 0, sizeof(l));
    n = tocsin_history_list(st, service, since, collect_line, &l);
    assert_int_equal(n, l.n);
    return l;
}

static void expect_text(const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fail_msg("expected:\n%s\ngot:\n%s", want, got);
}

/* Run SQL on the file with SQLite directly (the test's own access). */
static void sql_on_file(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

/* The first column of the first row of `sql` on the file, as a number. */
static int64_t count_on_file(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t n = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* ------------------------------------------------------------------ */
/* Outbox.                                                             */
/* ------------------------------------------------------------------ */

static void new_store_is_empty(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct stat sb;

    assert_int_equal(stat(fx->path, &sb), 0);
    assert_int_equal(tocsin_outbox_depth(st), 0);
    assert_int_equal(tocsin_outbox_next_due(st), INT64_MAX);
    assert_int_equal(due(st, INT64_MAX / 2, 10).n, 0);
    assert_string_equal(tocsin_store_path(st), fx->path);
}

static void added_item_is_handed_out_with_every_field(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_outbox_item it = item("email", "web", 1000, 90000);
    struct taken t;
    int64_t id;

    it.incident = "web/17";
    it.group_key = "team=web";
    it.created_ms = 990;
    it.attempts = 0;
    assert_int_equal(tocsin_outbox_add(st, &it, &id), 0);
    assert_int_equal(tocsin_outbox_depth(st), 1);
    assert_int_equal(tocsin_outbox_status(st, id), TOCSIN_OUTBOX_PENDING);
    assert_int_equal(tocsin_outbox_next_due(st), 1000);

    t = due(st, 999, 10);
    assert_int_equal(t.n, 0);           /* not due before next_attempt_ms */
    t = due(st, 1000, 10);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.first.id, id);
    assert_string_equal(t.notifier[0], "email");
    assert_string_equal(t.first_service, "web");
    assert_string_equal(t.first_incident, "web/17");
    assert_string_equal(t.first_group, "team=web");
    assert_int_equal(t.first.kind, 1);
    assert_int_equal(t.first.state, 2);
    assert_int_equal(t.first.severity, 3);
    assert_int_equal(t.first.created_ms, 990);
    assert_int_equal(t.first.expires_ms, 90000);
    assert_int_equal(t.first.next_attempt_ms, 1000);
    assert_int_equal(t.first.attempts, 0);
    assert_int_equal(t.first.payload_len, sizeof(payload) - 1);
    assert_string_equal(t.first_payload, payload);
}

static void item_in_flight_is_not_handed_out_twice(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t a = add(st, "email", "web", 100, 10000);
    int64_t b = add(st, "slack", "web", 200, 10000);

    assert_int_equal(due(st, 150, 10).n, 1);          /* a */
    assert_int_equal(tocsin_outbox_next_due(st), 200); /* a is in flight */
    assert_int_equal(due(st, 150, 10).n, 0);
    assert_int_equal(due(st, 300, 10).n, 1);          /* b only */
    assert_int_equal(tocsin_outbox_next_due(st), INT64_MAX);
    assert_int_equal(tocsin_outbox_depth(st), 2);     /* in flight is pending */
    assert_int_equal(tocsin_outbox_status(st, a), TOCSIN_OUTBOX_PENDING);
    assert_int_equal(tocsin_outbox_status(st, b), TOCSIN_OUTBOX_PENDING);
}

static void due_stops_at_max_and_when_the_callback_refuses(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct taken t;
    int i;

    for (i = 0; i < 5; i++)
        add(st, "email", "web", 100 + i, 10000);
    assert_int_equal(due(st, 1000, 2).n, 2);
    memset(&t, 0, sizeof(t));
    t.refuse_after = 1;
    assert_int_equal(tocsin_outbox_due(st, 1000, 10, take, &t), 1);
    /* The refused item stays available. */
    assert_int_equal(tocsin_outbox_next_due(st), 103);
    assert_int_equal(due(st, 1000, 0).n, 0);
    assert_int_equal(due(st, 1000, 10).n, 2);
}

/* Leaves every item of notifier "sms", takes the others. */
static int take_all_but_sms(void *ud, const struct tocsin_outbox_item *it)
{
    int *n = ud;

    if (strcmp(it->notifier, "sms") == 0)
        return 1;
    (*n)++;
    return 0;
}

static void due_goes_on_past_items_the_callback_leaves(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int n = 0;

    add(st, "sms", "web", 100, 10000);
    add(st, "email", "web", 101, 10000);
    add(st, "sms", "db", 102, 10000);
    add(st, "email", "db", 103, 10000);
    assert_int_equal(tocsin_outbox_due(st, 1000, 10, take_all_but_sms, &n), 2);
    assert_int_equal(n, 2);
    /* The two left are still due, and only they. */
    assert_int_equal(due(st, 1000, 10).n, 2);
}

static void delivered_outcome_ends_the_item(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t id = add(st, "email", "web", 100, 10000);

    assert_int_equal(due(st, 100, 10).n, 1);
    assert_int_equal(tocsin_outbox_record(st, id, TOCSIN_DELIVERED, NULL, 150, 0), 0);
    assert_int_equal(tocsin_outbox_status(st, id), TOCSIN_OUTBOX_DELIVERED);
    assert_int_equal(tocsin_outbox_depth(st), 0);
    assert_int_equal(due(st, 100000, 10).n, 0);
    /* A second outcome for an ended item is refused and changes nothing. */
    assert_int_equal(tocsin_outbox_record(st, id, TOCSIN_RETRY, "x", 160, 200), -1);
    assert_int_equal(tocsin_outbox_status(st, id), TOCSIN_OUTBOX_DELIVERED);
    assert_int_equal(tocsin_outbox_depth(st), 0);
}

static void failed_outcome_ends_the_item(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t id = add(st, "sms", "db", 100, 10000);

    assert_int_equal(tocsin_outbox_record(st, id, TOCSIN_FAILED,
                                          "gateway said 400: bad number", 120, 0), 0);
    assert_int_equal(tocsin_outbox_status(st, id), TOCSIN_OUTBOX_FAILED);
    assert_int_equal(tocsin_outbox_depth(st), 0);
    assert_int_equal(tocsin_outbox_next_due(st), INT64_MAX);
}

static void retry_outcome_counts_the_attempt_and_waits(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t id = add(st, "email", "web", 100, 10000);
    struct taken t;

    assert_int_equal(due(st, 100, 10).n, 1);
    assert_int_equal(tocsin_outbox_record(st, id, TOCSIN_RETRY,
                                          "connection refused", 110, 2000), 0);
    assert_int_equal(tocsin_outbox_status(st, id), TOCSIN_OUTBOX_PENDING);
    assert_int_equal(tocsin_outbox_depth(st), 1);
    assert_int_equal(tocsin_outbox_next_due(st), 2000);
    assert_int_equal(due(st, 1999, 10).n, 0);
    t = due(st, 2000, 10);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.attempts[0], 1);
    assert_int_equal(t.first.next_attempt_ms, 2000);
}

static void retries_come_back_in_backoff_order(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t a = add(st, "email", "web", 100, 100000);
    int64_t b = add(st, "slack", "web", 100, 100000);
    int64_t c = add(st, "sms", "web", 100, 100000);
    struct taken t;

    assert_int_equal(due(st, 100, 10).n, 3);
    /* Backoffs of different lengths: the earliest retry comes first,
     * whatever the order of the items. */
    assert_int_equal(tocsin_outbox_record(st, a, TOCSIN_RETRY, "", 110, 4000), 0);
    assert_int_equal(tocsin_outbox_record(st, b, TOCSIN_RETRY, "", 110, 1000), 0);
    assert_int_equal(tocsin_outbox_record(st, c, TOCSIN_RETRY, "", 110, 2000), 0);
    assert_int_equal(tocsin_outbox_next_due(st), 1000);
    t = due(st, 5000, 10);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.id[0], b);
    assert_int_equal(t.id[1], c);
    assert_int_equal(t.id[2], a);
}

static void retry_past_expiry_expires_the_item(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t id = add(st, "email", "web", 100, 5000);

    assert_int_equal(tocsin_outbox_record(st, id, TOCSIN_RETRY, "timeout", 200, 5000), 0);
    assert_int_equal(tocsin_outbox_status(st, id), TOCSIN_OUTBOX_PENDING);
    assert_int_equal(tocsin_outbox_record(st, id, TOCSIN_RETRY, "timeout", 5000, 5001), 0);
    assert_int_equal(tocsin_outbox_status(st, id), TOCSIN_OUTBOX_EXPIRED);
    assert_int_equal(tocsin_outbox_depth(st), 0);
    assert_int_equal(due(st, 100000, 10).n, 0);
}

static void item_due_after_its_expiry_expires_unsent(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t old = add(st, "email", "web", 100, 1000);
    int64_t fresh = add(st, "email", "web", 100, 100000);
    struct taken t;
    struct lines l;

    /* The daemon was down past the first item's expiry. */
    t = due(st, 50000, 10);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.id[0], fresh);
    assert_int_equal(tocsin_outbox_status(st, old), TOCSIN_OUTBOX_EXPIRED);
    assert_int_equal(tocsin_outbox_depth(st), 1);
    l = history(st, NULL, 0);
    expect_text(l.text, "50000 web expired to email, incident inc-1: not sent "
                        "after 0 attempts\n");
}

static void outcome_for_unknown_item_or_bad_outcome_is_refused(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t id = add(st, "email", "web", 100, 10000);

    assert_int_equal(tocsin_outbox_record(st, id + 100, TOCSIN_DELIVERED, NULL, 1, 0), -1);
    assert_int_equal(tocsin_outbox_record(st, id, 7, NULL, 1, 0), -1);
    assert_int_equal(tocsin_outbox_status(st, id), TOCSIN_OUTBOX_PENDING);
    assert_int_equal(tocsin_outbox_status(st, id + 100), -1);
    assert_int_equal(tocsin_outbox_depth(st), 1);
}

static void item_without_notifier_is_refused(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_outbox_item it = item(NULL, "web", 100, 1000);
    int64_t id = 0;

    assert_int_equal(tocsin_outbox_add(st, &it, &id), -1);
    it = item("email", "web", 100, 1000);
    it.payload = NULL;
    assert_int_equal(tocsin_outbox_add(st, &it, &id), -1);
    assert_int_equal(tocsin_outbox_depth(st), 0);
    /* An empty payload is an empty payload. */
    it.payload_len = 0;
    assert_int_equal(tocsin_outbox_add(st, &it, &id), 0);
    assert_int_equal(tocsin_outbox_depth(st), 1);
}

static void depth_counter_matches_the_file(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t ids[10];
    int i;

    for (i = 0; i < 10; i++)
        ids[i] = add(st, "email", "web", 100, 10000);
    assert_int_equal(tocsin_outbox_depth(st), 10);
    assert_int_equal(tocsin_outbox_record(st, ids[0], TOCSIN_DELIVERED, NULL, 200, 0), 0);
    assert_int_equal(tocsin_outbox_record(st, ids[1], TOCSIN_FAILED, "no", 200, 0), 0);
    assert_int_equal(tocsin_outbox_record(st, ids[2], TOCSIN_RETRY, "later", 200, 300), 0);
    assert_int_equal(tocsin_outbox_record(st, ids[3], TOCSIN_RETRY, "late", 200, 20000), 0);
    assert_int_equal(tocsin_outbox_depth(st), 7);
    /* Rolled back work leaves the counter where it was. */
    assert_int_equal(tocsin_store_begin(st), 0);
    add(st, "email", "web", 100, 10000);
    assert_int_equal(tocsin_outbox_record(st, ids[4], TOCSIN_DELIVERED, NULL, 200, 0), 0);
    assert_int_equal(tocsin_outbox_depth(st), 7);
    assert_int_equal(tocsin_store_rollback(st), 0);
    assert_int_equal(tocsin_outbox_depth(st), 7);
    /* The count made at open agrees. */
    reopen_store(fx);
    assert_int_equal(tocsin_outbox_depth(fx->st), 7);
}

static void prune_drops_old_ended_items_and_their_attempts(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t delivered_old = add(st, "email", "web", 100, 10000);
    int64_t failed_old = add(st, "email", "web", 100, 10000);
    int64_t delivered_new = add(st, "email", "web", 100, 10000);
    int64_t pending = add(st, "email", "web", 100, 10000);
    struct lines l;

    assert_int_equal(tocsin_outbox_record(st, delivered_old, TOCSIN_DELIVERED, NULL, 1000, 0), 0);
    assert_int_equal(tocsin_outbox_record(st, failed_old, TOCSIN_FAILED, "no", 1500, 0), 0);
    assert_int_equal(tocsin_outbox_record(st, delivered_new, TOCSIN_DELIVERED, NULL, 3000, 0), 0);
    assert_int_equal(tocsin_outbox_record(st, pending, TOCSIN_RETRY, "busy", 1200, 9000), 0);
    assert_int_equal(tocsin_history_add(st, 1000, "web", "state", "OK -> CRITICAL"), 0);

    assert_int_equal(count_on_file(fx->path, "SELECT count(*) FROM attempt"), 4);
    assert_int_equal(tocsin_outbox_prune(st, 2000), 2);
    /* The foreign key's cascade removed their attempt rows from the file. */
    assert_int_equal(count_on_file(fx->path, "SELECT count(*) FROM attempt"), 2);
    assert_int_equal(tocsin_outbox_status(st, delivered_old), -1);
    assert_int_equal(tocsin_outbox_status(st, failed_old), -1);
    assert_int_equal(tocsin_outbox_status(st, delivered_new), TOCSIN_OUTBOX_DELIVERED);
    assert_int_equal(tocsin_outbox_status(st, pending), TOCSIN_OUTBOX_PENDING);
    assert_int_equal(tocsin_outbox_depth(st), 1);
    /* The pruned items' attempts are gone; the rest of the history stays. */
    l = history(st, NULL, 0);
    assert_int_equal(l.n, 3);
    assert_non_null(strstr(l.text, "1000 web state OK -> CRITICAL\n"));
    assert_non_null(strstr(l.text, "1200 web retry"));
    assert_non_null(strstr(l.text, "3000 web delivered"));
    assert_int_equal(tocsin_outbox_prune(st, 2000), 0);
}

/* ------------------------------------------------------------------ */
/* History.                                                            */
/* ------------------------------------------------------------------ */

static void history_merges_events_and_attempts_oldest_first(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_outbox_item it = item("email", "web", 1000, 100000);
    int64_t id;
    struct lines l;

    it.incident = "web/1";
    assert_int_equal(tocsin_history_add(st, 1000, "web", "state",
                                        "OK -> CRITICAL: HTTP 500"), 0);
    assert_int_equal(tocsin_outbox_add(st, &it, &id), 0);
    assert_int_equal(tocsin_history_add(st, 1000, "web", "queued", "email, problem"), 0);
    assert_int_equal(tocsin_history_add(st, 1500, "db", "state", "OK -> WARNING"), 0);
    assert_int_equal(tocsin_outbox_record(st, id, TOCSIN_RETRY,
                                          "421 try again later", 2000, 3000), 0);
    assert_int_equal(tocsin_outbox_record(st, id, TOCSIN_DELIVERED, "", 3000, 0), 0);
    assert_int_equal(tocsin_history_add(st, 2500, "web", "ack", "by alice"), 0);
    assert_int_equal(tocsin_history_add(st, 500, NULL, "start", "tocsind started"), 0);

    l = history(st, NULL, 0);
    expect_text(l.text,
                "500  start tocsind started\n"
                "1000 web state OK -> CRITICAL: HTTP 500\n"
                "1000 web queued email, problem\n"
                "1500 db state OK -> WARNING\n"
                "2000 web retry to email, attempt 1, incident web/1: 421 try again later\n"
                "2500 web ack by alice\n"
                "3000 web delivered to email, attempt 2, incident web/1\n");

    l = history(st, "web", 1500);
    expect_text(l.text,
                "2000 web retry to email, attempt 1, incident web/1: 421 try again later\n"
                "2500 web ack by alice\n"
                "3000 web delivered to email, attempt 2, incident web/1\n");

    l = history(st, "db", 0);
    expect_text(l.text, "1500 db state OK -> WARNING\n");
    assert_int_equal(history(st, "nosuch", 0).n, 0);
}

static void failed_and_expired_attempts_are_named_in_history(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t a = add(st, "sms", "web", 100, 10000);
    int64_t b = add(st, "pagerduty", "web", 100, 10000);
    struct lines l;

    assert_int_equal(tocsin_outbox_record(st, a, TOCSIN_FAILED, "400 bad number", 200, 0), 0);
    assert_int_equal(tocsin_outbox_record(st, b, TOCSIN_RETRY, "503", 300, 20000), 0);
    l = history(st, "web", 0);
    expect_text(l.text,
                "200 web failed to sms, attempt 1, incident inc-1: 400 bad number\n"
                "300 web expired to pagerduty, attempt 1, incident inc-1: 503\n");
}

static int stop_after_two(void *ud, int64_t at_ms, const char *service,
                          const char *kind, const char *text)
{
    int *n = ud;

    (void)at_ms, (void)service, (void)kind, (void)text;
    return ++*n >= 2;
}

static void history_listing_stops_when_asked_and_prunes(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int i, n = 0;

    for (i = 0; i < 5; i++)
        assert_int_equal(tocsin_history_add(st, 100 * i, "web", "state", "x"), 0);
    assert_int_equal(tocsin_history_list(st, NULL, 0, stop_after_two, &n), 2);
    assert_int_equal(n, 2);
    assert_int_equal(tocsin_history_add(st, 1, "web", "", "no kind"), -1);
    assert_int_equal(tocsin_history_prune(st, 250), 3);
    expect_text(history(st, NULL, 0).text, "300 web state x\n400 web state x\n");
}

/* ------------------------------------------------------------------ */
/* State.                                                              */
/* ------------------------------------------------------------------ */

struct entries {
    char text[1024];
    size_t used;
};

static int collect_entry(void *ud, const char *name, const void *blob, size_t len)
{
    struct entries *e = ud;
    int w;

    w = snprintf(e->text + e->used, sizeof(e->text) - e->used, "%s=%.*s%s;",
                 name, (int)len, blob ? (const char *)blob : "",
                 blob ? "" : "(null)");
    if (w > 0 && (size_t)w < sizeof(e->text) - e->used)
        e->used += (size_t)w;
    return 0;
}

static const char *entries(struct tocsin_store *st, const char *kind,
                           struct entries *e)
{
    memset(e, 0, sizeof(*e));
    assert_true(tocsin_state_each(st, kind, collect_entry, e) >= 0);
    return e->text;
}

static void state_put_replace_delete_and_each(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct entries e;

    assert_int_equal(tocsin_state_put(st, "service", "web", "CRIT", 4), 0);
    assert_int_equal(tocsin_state_put(st, "service", "db", "OK", 2), 0);
    assert_int_equal(tocsin_state_put(st, "ack", "web", "alice", 5), 0);
    assert_int_equal(tocsin_state_put(st, "service", "cache", NULL, 0), 0);
    expect_text(entries(st, "service", &e), "cache=(null);db=OK;web=CRIT;");
    expect_text(entries(st, "ack", &e), "web=alice;");

    assert_int_equal(tocsin_state_put(st, "service", "web", "WARN", 4), 0);
    expect_text(entries(st, "service", &e), "cache=(null);db=OK;web=WARN;");

    assert_int_equal(tocsin_state_delete(st, "service", "db"), 0);
    assert_int_equal(tocsin_state_delete(st, "service", "db"), 0);
    expect_text(entries(st, "service", &e), "cache=(null);web=WARN;");
    expect_text(entries(st, "downtime", &e), "");
    assert_int_equal(tocsin_state_put(st, NULL, "x", "y", 1), -1);

    reopen_store(fx);
    expect_text(entries(fx->st, "service", &e), "cache=(null);web=WARN;");
    expect_text(entries(fx->st, "ack", &e), "web=alice;");
}

struct blob_copy {
    unsigned char data[512];
    size_t len;
    int calls;
};

static int copy_blob(void *ud, const char *name, const void *blob, size_t len)
{
    struct blob_copy *c = ud;

    (void)name;
    c->calls++;
    c->len = len;
    if (blob && len <= sizeof(c->data))
        memcpy(c->data, blob, len);
    return 0;
}

static void state_holds_binary_blobs(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    unsigned char blob[300];
    struct blob_copy got;
    size_t i;

    for (i = 0; i < sizeof(blob); i++)
        blob[i] = (unsigned char)(i * 7); /* NUL bytes included */
    assert_int_equal(tocsin_state_put(st, "incident", "42", blob, sizeof(blob)), 0);
    memset(&got, 0, sizeof(got));
    assert_int_equal(tocsin_state_each(st, "incident", copy_blob, &got), 1);
    assert_int_equal(got.calls, 1);
    assert_int_equal(got.len, sizeof(blob));
    assert_memory_equal(got.data, blob, sizeof(blob));
}

/* ------------------------------------------------------------------ */
/* Transactions.                                                       */
/* ------------------------------------------------------------------ */

static void committed_transaction_survives_a_reopen(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t id;

    assert_int_equal(tocsin_store_begin(st), 0);
    id = add(st, "email", "web", 100, 10000);
    assert_int_equal(tocsin_history_add(st, 100, "web", "queued", "email"), 0);
    assert_int_equal(tocsin_state_put(st, "service", "web", "CRIT", 4), 0);
    assert_int_equal(tocsin_store_commit(st), 0);
    reopen_store(fx);
    assert_int_equal(tocsin_outbox_status(fx->st, id), TOCSIN_OUTBOX_PENDING);
    assert_int_equal(history(fx->st, "web", 0).n, 1);
}

static void rolled_back_transaction_leaves_nothing(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct entries e;
    int64_t id;

    assert_int_equal(tocsin_store_begin(st), 0);
    id = add(st, "email", "web", 100, 10000);
    assert_int_equal(tocsin_state_put(st, "service", "web", "CRIT", 4), 0);
    assert_int_equal(tocsin_store_rollback(st), 0);
    assert_int_equal(tocsin_outbox_status(st, id), -1);
    assert_int_equal(tocsin_outbox_depth(st), 0);
    expect_text(entries(st, "service", &e), "");
}

static void failed_call_rolls_the_whole_transaction_back(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t kept = add(st, "email", "web", 100, 10000);
    int64_t id;

    assert_int_equal(tocsin_store_begin(st), 0);
    id = add(st, "slack", "web", 100, 10000);
    assert_int_equal(tocsin_outbox_record(st, kept, TOCSIN_DELIVERED, NULL, 200, 0), 0);
    /* An outcome for an item that does not exist: a bug in the caller. */
    assert_int_equal(tocsin_outbox_record(st, id + 50, TOCSIN_DELIVERED, NULL, 200, 0), -1);
    /* Later writes in the same transaction are refused at once. */
    assert_int_equal(tocsin_history_add(st, 300, "web", "state", "x"), -1);
    assert_int_equal(tocsin_store_commit(st), -1);
    assert_int_equal(tocsin_outbox_status(st, id), -1);
    assert_int_equal(tocsin_outbox_status(st, kept), TOCSIN_OUTBOX_PENDING);
    assert_int_equal(tocsin_outbox_depth(st), 1);
    assert_int_equal(history(st, NULL, 0).n, 0);
    /* The store is usable afterwards. */
    assert_int_equal(tocsin_store_begin(st), 0);
    add(st, "slack", "web", 100, 10000);
    assert_int_equal(tocsin_store_commit(st), 0);
    assert_int_equal(tocsin_outbox_depth(st), 2);
}

static void sqlite_error_rolls_the_whole_transaction_back(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_outbox_item huge = item("email", "web", 100, 10000);
    int64_t id;

    /* Larger than SQLite's maximum blob: the bind itself fails, and
     * SQLite never reads the (absent) bytes. */
    huge.payload_len = (size_t)2 << 30;
    assert_int_equal(tocsin_store_begin(st), 0);
    id = add(st, "email", "web", 100, 10000);
    assert_int_equal(tocsin_outbox_add(st, &huge, NULL), -1);
    assert_int_equal(tocsin_store_commit(st), -1);
    assert_int_equal(tocsin_outbox_status(st, id), -1);
    assert_int_equal(tocsin_outbox_depth(st), 0);
    /* Outside a transaction the failing call is alone in its own. */
    assert_int_equal(tocsin_outbox_add(st, &huge, NULL), -1);
    id = add(st, "email", "web", 100, 10000);
    assert_int_equal(tocsin_outbox_status(st, id), TOCSIN_OUTBOX_PENDING);
}

static void transactions_do_not_nest(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);

    assert_int_equal(tocsin_store_commit(st), -1);
    assert_int_equal(tocsin_store_rollback(st), -1);
    assert_int_equal(tocsin_store_begin(st), 0);
    assert_int_equal(tocsin_store_begin(st), -1);
    assert_int_equal(tocsin_store_commit(st), 0);
}

/* ------------------------------------------------------------------ */
/* Reopening and refused files.                                        */
/* ------------------------------------------------------------------ */

static void reopen_keeps_pending_items_and_frees_those_in_flight(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t flying = add(st, "email", "web", 100, 10000);
    int64_t waiting = add(st, "slack", "web", 5000, 10000);
    int64_t done = add(st, "sms", "web", 100, 10000);
    struct taken t;

    assert_int_equal(tocsin_outbox_record(st, done, TOCSIN_DELIVERED, NULL, 150, 0), 0);
    assert_int_equal(due(st, 200, 10).n, 1);   /* flying, then the daemon dies */
    reopen_store(fx);
    assert_int_equal(tocsin_outbox_depth(fx->st), 2);
    assert_int_equal(tocsin_outbox_next_due(fx->st), 100);
    t = due(fx->st, 200, 10);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.id[0], flying);
    t = due(fx->st, 5000, 10);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.id[0], waiting);
    assert_int_equal(tocsin_outbox_status(fx->st, done), TOCSIN_OUTBOX_DELIVERED);
}

static void ids_are_never_reused(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    int64_t a = add(st, "email", "web", 100, 10000);

    assert_int_equal(tocsin_outbox_record(st, a, TOCSIN_DELIVERED, NULL, 150, 0), 0);
    assert_int_equal(tocsin_outbox_prune(st, 1000), 1);
    assert_true(add(st, "email", "web", 100, 10000) > a);
}

static void sync_full_flag_opens_and_commits(void **state)
{
    struct fixture *fx = *state;
    char err[512];

    assert_int_equal(tocsin_store_open(fx->path, TOCSIN_STORE_SYNC_FULL,
                                       &fx->st, err, sizeof(err)), 0);
    add(fx->st, "email", "web", 100, 10000);
    reopen_store(fx);
    assert_int_equal(tocsin_outbox_depth(fx->st), 1);
}

static void newer_schema_is_refused(void **state)
{
    struct fixture *fx = *state;

    open_store(fx);
    tocsin_store_close(fx->st);
    fx->st = NULL;
    sql_on_file(fx->path, "PRAGMA user_version = 99");
    expect_refusal(fx, "newer Tocsin (store schema version 99");
}

/* ------------------------------------------------------------------ */
/* Upgrading a store of schema 1.                                      */
/* ------------------------------------------------------------------ */

/* What the upgraded store holds, each blob decoded and written again in
 * its schema-1 form (saved-v0.c; the alert as the worker encoding of
 * that time, which was schema 1's payload), to compare with what schema 1
 * wrote. */
struct upgraded {
    struct tocsin_buf alert, incident, service;
    int alerts, incidents, services;
};

static int upgraded_alert(void *ud, const struct tocsin_outbox_item *it)
{
    struct upgraded *u = ud;
    struct tocsin_saved_alert sa;

    if (tocsin_saved_alert_decode(it->payload, it->payload_len, "test", &sa) < 0)
        fail_msg("outbox item %" PRId64 ": expected an upgraded alert, got %zu unreadable bytes",
                 it->id, it->payload_len);
    assert_int_equal(tocsin_test_v0_alert(&u->alert, &sa.alert), 0);
    tocsin_saved_alert_free(&sa);
    u->alerts++;
    return 0;
}

static int upgraded_incident(void *ud, const char *name, const void *blob, size_t len)
{
    struct upgraded *u = ud;
    struct tocsin_saved_incident inc;

    if (tocsin_saved_incident_decode(blob, len, name, &inc) < 0)
        fail_msg("alerting state of '%s': expected an upgraded incident", name);
    assert_int_equal(tocsin_test_v0_incident(&u->incident, &inc), 0);
    tocsin_saved_incident_free(&inc);
    u->incidents++;
    return 0;
}

static int upgraded_service(void *ud, const char *name, const void *blob, size_t len)
{
    struct upgraded *u = ud;
    struct tocsin_saved_service s;

    if (tocsin_saved_service_decode(blob, len, name, &s) < 0)
        fail_msg("service state of '%s': expected an upgraded record", name);
    assert_int_equal(tocsin_test_v0_service(&u->service, &s), 0);
    tocsin_saved_service_free(&s);
    u->services++;
    return 0;
}

static void schema_1_store_is_upgraded_with_the_same_content(void **state)
{
    static const struct tocsin_label labels[] = { { "team", "web" }, { "tier", "" } };
    static const char *told[] = { "email", "pagerduty" };
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_buf old_alert = TOCSIN_BUF_INIT, old_incident = TOCSIN_BUF_INIT;
    struct tocsin_buf old_service = TOCSIN_BUF_INIT;
    struct tocsin_alert a;
    struct tocsin_saved_incident inc;
    struct tocsin_saved_service svc;
    struct tocsin_outbox_item it;
    struct upgraded u;
    struct entries e;
    int64_t pending_id, damaged_id, delivered_id;

    memset(&a, 0, sizeof(a));
    a.service = "web";
    a.host = "web1";
    a.state = TOCSIN_CRITICAL;
    a.previous = TOCSIN_OK;
    a.attempt = 3;
    a.max_attempts = 3;
    a.output = "CRITICAL - down";
    a.long_output = "";
    a.perfdata = "time=10s";
    a.since = 1700000000;
    a.labels = labels;
    a.nlabels = 2;
    a.kind = TOCSIN_ALERT_PROBLEM;
    a.severity = TOCSIN_SEVERITY_CRITICAL;
    a.hard = 1;
    a.problem_since = 1700000000;
    a.at = 1700000060;
    a.incident = "web-1700000000";
    a.group_key = "web";
    a.route = "web";
    a.link = "https://wiki/web";
    a.reason = "";
    assert_int_equal(tocsin_test_v0_alert(&old_alert, &a), 0); /* schema 1's payload */

    memset(&inc, 0, sizeof(inc));
    inc.problem_since = 1700000000;
    inc.next_repeat = 1700003600;
    inc.state = TOCSIN_CRITICAL;
    inc.route = 0;
    inc.acked = 1;
    inc.esc_next = 2;
    inc.key = "web-1700000000";
    inc.told = told;
    inc.ntold = 2;
    inc.ack_author = "alice";
    inc.ack_text = "on it";
    inc.downtime_author = "";
    inc.downtime_text = "";
    assert_int_equal(tocsin_test_v0_incident(&old_incident, &inc), 0);

    memset(&svc, 0, sizeof(svc));
    svc.hash = 0x0123456789abcdefULL;
    tocsin_svc_init(&svc.st);
    svc.st.state = svc.st.hard_state = TOCSIN_CRITICAL;
    svc.st.is_hard = 1;
    svc.st.attempt = 3;
    svc.st.checked = 1;
    svc.st.history[0] = TOCSIN_CRITICAL;
    svc.st.hist_count = 1;
    svc.st.hist_next = 1;
    svc.st.flap_percent = 12.5;
    svc.last_change = 1700000000;
    svc.last_check = 1700000060;
    svc.output = "CRITICAL - down|time=10s";
    assert_int_equal(tocsin_test_v0_service(&old_service, &svc), 0);

    it = item("email", "web", 100, 1000000);
    it.payload = old_alert.data;
    it.payload_len = old_alert.len;
    assert_int_equal(tocsin_outbox_add(st, &it, &pending_id), 0);
    assert_int_equal(tocsin_outbox_add(st, &it, &delivered_id), 0);
    assert_int_equal(tocsin_outbox_record(st, delivered_id, TOCSIN_DELIVERED, "", 200, 0), 0);
    damaged_id = add(st, "email", "web", 100, 1000000); /* not an alert at all */
    assert_int_equal(tocsin_state_put(st, "alerting", "web", old_incident.data,
                                      old_incident.len), 0);
    assert_int_equal(tocsin_state_put(st, "alerting", "broken", "abc", 3), 0);
    assert_int_equal(tocsin_state_put(st, "service", "web", old_service.data,
                                      old_service.len), 0);
    assert_int_equal(tocsin_state_put(st, "ack", "web", "alice", 5), 0);
    tocsin_store_close(st);
    fx->st = NULL;
    sql_on_file(fx->path, "PRAGMA user_version = 1");

    st = open_store(fx);
    assert_int_equal(count_on_file(fx->path, "PRAGMA user_version"),
                     TOCSIN_STORE_SCHEMA_VERSION);
    memset(&u, 0, sizeof(u));
    assert_int_equal(tocsin_outbox_due(st, 100, 10, upgraded_alert, &u), 1);
    assert_int_equal(u.alerts, 1);
    assert_int_equal(u.alert.len, old_alert.len);
    assert_memory_equal(u.alert.data, old_alert.data, old_alert.len);
    assert_int_equal(tocsin_outbox_status(st, damaged_id), TOCSIN_OUTBOX_FAILED);
    assert_int_equal(tocsin_outbox_status(st, pending_id), TOCSIN_OUTBOX_PENDING);
    /* An ended item keeps what it had: it is never sent again. */
    assert_int_equal(count_on_file(fx->path, "SELECT length(payload) FROM outbox "
                                   "WHERE status = 0"), (int64_t)old_alert.len);

    assert_int_equal(tocsin_state_each(st, "alerting", upgraded_incident, &u), 1);
    assert_int_equal(u.incident.len, old_incident.len);
    assert_memory_equal(u.incident.data, old_incident.data, old_incident.len);
    assert_int_equal(tocsin_state_each(st, "service", upgraded_service, &u), 1);
    assert_int_equal(u.service.len, old_service.len);
    assert_memory_equal(u.service.data, old_service.data, old_service.len);
    expect_text(entries(st, "ack", &e), "web=alice;");

    /* Opened again, it is of the current schema and left as it is. */
    reopen_store(fx);
    tocsin_buf_reset(&u.incident);
    assert_int_equal(tocsin_state_each(fx->st, "alerting", upgraded_incident, &u), 1);
    assert_memory_equal(u.incident.data, old_incident.data, old_incident.len);

    tocsin_buf_free(&u.alert);
    tocsin_buf_free(&u.incident);
    tocsin_buf_free(&u.service);
    tocsin_buf_free(&old_alert);
    tocsin_buf_free(&old_incident);
    tocsin_buf_free(&old_service);
}

static void other_programs_database_is_refused(void **state)
{
    struct fixture *fx = *state;

    sql_on_file(fx->path, "CREATE TABLE notes (t TEXT)");
    expect_refusal(fx, "not a Tocsin store");
}

static void write_file(const char *path, const void *data, size_t len,
                       off_t offset)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0600);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, data, len, offset), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void garbage_file_is_refused(void **state)
{
    struct fixture *fx = *state;
    char junk[4096];

    memset(junk, 'x', sizeof(junk));
    write_file(fx->path, junk, sizeof(junk), 0);
    expect_refusal(fx, "damaged or not SQLite at all");
}

static void damaged_pages_are_refused(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    char junk[65536];
    struct stat sb;
    int i;

    /* Enough rows for many pages, then overwrite everything after the
     * first page (the header and the schema stay readable). */
    assert_int_equal(tocsin_store_begin(st), 0);
    for (i = 0; i < 2000; i++)
        assert_int_equal(tocsin_history_add(st, i, "web", "state",
                                            "a line of history text"), 0);
    assert_int_equal(tocsin_store_commit(st), 0);
    tocsin_store_close(st);
    fx->st = NULL;
    assert_int_equal(stat(fx->path, &sb), 0);
    assert_true(sb.st_size > 8 * 4096);
    memset(junk, 0xa5, sizeof(junk));
    write_file(fx->path, junk, sizeof(junk), 4096);
    expect_refusal(fx, "damaged");
}

static void missing_directory_is_refused_with_its_path(void **state)
{
    struct fixture *fx = *state;

    snprintf(fx->path, sizeof(fx->path), "%s/no/such/dir/tocsin.db", fx->dir);
    expect_refusal(fx, "cannot open or create");
}

/* Open the store in a child without root's override of file permissions
 * (as nobody when the test runs as root) and expect a refusal whose
 * message holds the path and `words`. */
static void expect_refusal_unprivileged(struct fixture *fx, const char *words)
{
    struct tocsin_store *st = NULL;
    char err[512];
    int fds[2], status;
    ssize_t r;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(2);
        if (tocsin_store_open(fx->path, 0, &st, err, sizeof(err)) == 0)
            _exit(1);
        if (write(fds[1], err, strlen(err) + 1) < 0)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    memset(err, 0, sizeof(err));
    r = read(fds[0], err, sizeof(err) - 1);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("expected opening %s to be refused, the child ended with "
                 "status 0x%x (exit 1: it opened)", fx->path, status);
    assert_true(r > 0);
    if (!strstr(err, fx->path) || !strstr(err, words))
        fail_msg("expected a message with %s and \"%s\", got: %s",
                 fx->path, words, err);
    fprintf(stderr, "refused as expected: %s\n", err);
}

static void read_only_file_is_refused(void **state)
{
    struct fixture *fx = *state;

    open_store(fx);
    tocsin_store_close(fx->st);
    fx->st = NULL;
    assert_int_equal(chmod(fx->path, 0444), 0);
    assert_int_equal(chmod(fx->dir, 0755), 0);
    expect_refusal_unprivileged(fx, "no permission to write the file");
}

static void unwritable_directory_is_refused(void **state)
{
    struct fixture *fx = *state;

    open_store(fx);
    tocsin_store_close(fx->st);
    fx->st = NULL;
    /* The file may be written, but the -wal and -shm files beside it
     * cannot be created. */
    assert_int_equal(chmod(fx->path, 0666), 0);
    assert_int_equal(chmod(fx->dir, 0555), 0);
    expect_refusal_unprivileged(fx, "no permission to write the file or its "
                                    "directory");
    assert_int_equal(chmod(fx->dir, 0700), 0);
}

/* ------------------------------------------------------------------ */
/* kill -9.                                                            */
/* ------------------------------------------------------------------ */

/* The child: add and commit items for ever, writing each committed id to
 * the pipe only after its commit returned. */
static void kill_child(const char *path, int fd)
{
    struct tocsin_store *st = NULL;
    struct tocsin_outbox_item it = item("email", "web", 100, INT64_MAX / 2);
    char err[512];
    int64_t id;

    if (tocsin_store_open(path, 0, &st, err, sizeof(err)) != 0)
        _exit(2);
    for (;;) {
        if (tocsin_store_begin(st) != 0 || tocsin_outbox_add(st, &it, &id) != 0 ||
            tocsin_store_commit(st) != 0)
            _exit(3);
        if (write(fd, &id, sizeof(id)) != (ssize_t)sizeof(id))
            _exit(4);
    }
}

static void kill_9_loses_no_committed_item(void **state)
{
    struct fixture *fx = *state;
    int64_t ids[200000], id;
    size_t n = 0, before, i;
    int fds[2], status, round;
    pid_t pid;
    ssize_t r;

    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (round = 0; round < 3; round++) {
        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            kill_child(fx->path, fds[1]);
        }
        close(fds[1]);
        before = n;
        /* Read while the child writes, so it never blocks on the pipe, and
         * kill it at a random moment between 50 and 300 ms. */
        {
            struct timespec start, now;
            long wait_ms = 50 + rand() % 250;

            clock_gettime(CLOCK_MONOTONIC, &start);
            fcntl(fds[0], F_SETFL, O_NONBLOCK);
            for (;;) {
                r = read(fds[0], &id, sizeof(id));
                if (r == (ssize_t)sizeof(id) && n < sizeof(ids) / sizeof(ids[0]))
                    ids[n++] = id;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((now.tv_sec - start.tv_sec) * 1000 +
                    (now.tv_nsec - start.tv_nsec) / 1000000 >= wait_ms)
                    break;
                if (r <= 0)
                    usleep(200);
            }
        }
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("expected the writer to die of SIGKILL, it ended with "
                     "status 0x%x", status);
        fcntl(fds[0], F_SETFL, 0);
        while ((r = read(fds[0], &id, sizeof(id))) == (ssize_t)sizeof(id))
            if (n < sizeof(ids) / sizeof(ids[0]))
                ids[n++] = id;
        close(fds[0]);
        fprintf(stderr, "writer %d: %zu commits before SIGKILL\n", round + 1,
                n - before);
    }
    if (n < 10)
        fail_msg("expected the writers to commit some items, got %zu", n);

    open_store(fx);
    for (i = 0; i < n; i++)
        if (tocsin_outbox_status(fx->st, ids[i]) != TOCSIN_OUTBOX_PENDING)
            fail_msg("item %" PRId64 " was committed before the kill; after "
                     "reopening its status is %d, expected pending (%d)",
                     ids[i], tocsin_outbox_status(fx->st, ids[i]),
                     TOCSIN_OUTBOX_PENDING);
    /* At most one commit per writer can have finished without its id
     * reaching the pipe. */
    if (tocsin_outbox_depth(fx->st) < (int64_t)n ||
        tocsin_outbox_depth(fx->st) > (int64_t)n + 3)
        fail_msg("expected %zu to %zu pending items after reopening, got %" PRId64,
                 n, n + 3, tocsin_outbox_depth(fx->st));
}

/* ------------------------------------------------------------------ */
/* Metric history.                                                     */
/* ------------------------------------------------------------------ */

/* 2026-12-01T10:00:00Z: an hour's start, so minutes and hours are plain. */
#define H0 ((int64_t)1796119200)

struct rows {
    struct tocsin_metric_row r[16];
    char label[16][16];
    int n;
};

static int collect_row(void *ud, const char *label, const struct tocsin_metric_row *r)
{
    struct rows *rows = ud;

    if (rows->n < 16) {
        snprintf(rows->label[rows->n], sizeof(rows->label[0]), "%s", label);
        rows->r[rows->n++] = *r;
    }
    return 0;
}

static struct rows list_rows(struct tocsin_store *st, const char *service, const char *label,
                             int hourly)
{
    struct rows rows;
    int truncated, n;

    memset(&rows, 0, sizeof(rows));
    n = tocsin_metric_list(st, service, label, hourly, 0, 100, &truncated, collect_row, &rows);
    assert_int_equal(n, rows.n);
    assert_false(truncated);
    return rows;
}

static struct tocsin_mhist *new_mhist(struct tocsin_store *st, size_t max_pending)
{
    struct tocsin_mhist_conf conf = {.detail_s = 2 * 86400, .keep_s = 400 * 86400,
                                     .max_pending = max_pending};
    struct tocsin_mhist *h = tocsin_mhist_new(st, &conf);

    assert_non_null(h);
    return h;
}

static void expect_row(const struct tocsin_metric_row *r, int64_t t, double min, double avg,
                       double max, int64_t count)
{
    if (r->t != t || r->min != min || r->avg != avg || r->max != max || r->count != count)
        fail_msg("expected t=%lld min=%g avg=%g max=%g count=%lld, got t=%lld min=%g avg=%g "
                 "max=%g count=%lld", (long long)t, min, avg, max, (long long)count,
                 (long long)r->t, r->min, r->avg, r->max, (long long)r->count);
}

static void minute_is_summed_up_and_written_once_closed(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_mhist *h = new_mhist(st, 0);
    struct tocsin_mhist_stats stats;
    struct rows rows;

    assert_int_equal(tocsin_mhist_add(h, "web", "time", 5, H0 + 1), 0);
    assert_int_equal(tocsin_mhist_add(h, "web", "time", 1, H0 + 10), 0);
    assert_int_equal(tocsin_mhist_add(h, "web", "time", 3, H0 + 59), 0);
    assert_int_equal(tocsin_mhist_add(h, "web", "size", 7, H0 + 20), 0);
    assert_int_equal(tocsin_mhist_flush(h, H0 + 30, 0), 0);
    assert_int_equal(list_rows(st, "web", NULL, 0).n, 0);      /* still open */
    assert_int_equal(tocsin_mhist_flush(h, H0 + 61, 0), 0);
    rows = list_rows(st, "web", "time", 0);
    assert_int_equal(rows.n, 1);
    expect_row(&rows.r[0], H0, 1, 3, 5, 3);
    assert_true(rows.r[0].last == 3);
    rows = list_rows(st, "web", NULL, 0);
    assert_int_equal(rows.n, 2);
    assert_string_equal(rows.label[0], "size");
    tocsin_mhist_stats(h, &stats);
    assert_int_equal(stats.series, 2);
    assert_int_equal(stats.written, 2);
    assert_int_equal(stats.pending, 0);
    tocsin_mhist_free(h);
}

static void value_of_a_later_minute_closes_the_open_one(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_mhist *h = new_mhist(st, 0);
    struct rows rows;

    assert_int_equal(tocsin_mhist_add(h, "web", "time", 2, H0 + 5), 0);
    assert_int_equal(tocsin_mhist_add(h, "web", "time", 4, H0 + 65), 0);
    assert_int_equal(tocsin_mhist_flush(h, H0 + 66, 0), 0);
    rows = list_rows(st, "web", "time", 0);
    assert_int_equal(rows.n, 1);
    expect_row(&rows.r[0], H0, 2, 2, 2, 1);
    /* At shutdown the open minute is written too, and merged with what
     * a restart adds to the same minute. */
    assert_int_equal(tocsin_mhist_flush(h, H0 + 70, 1), 0);
    tocsin_mhist_free(h);
    h = new_mhist(st, 0);
    assert_int_equal(tocsin_mhist_add(h, "web", "time", 10, H0 + 80), 0);
    assert_int_equal(tocsin_mhist_flush(h, H0 + 121, 0), 0);
    rows = list_rows(st, "web", "time", 0);
    assert_int_equal(rows.n, 2);
    expect_row(&rows.r[1], H0 + 60, 4, 7, 10, 2);
    tocsin_mhist_free(h);
}

static void hour_is_rolled_up_from_its_minutes_when_it_closes(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_mhist *h = new_mhist(st, 0);
    struct rows rows;

    assert_int_equal(tocsin_mhist_add(h, "db", "conn", 1, H0 + 1), 0);
    assert_int_equal(tocsin_mhist_add(h, "db", "conn", 3, H0 + 2), 0);
    assert_int_equal(tocsin_mhist_add(h, "db", "conn", 8, H0 + 1800), 0);
    assert_int_equal(tocsin_mhist_flush(h, H0 + 3000, 0), 0);
    assert_int_equal(list_rows(st, "db", "conn", 0).n, 2);
    assert_int_equal(list_rows(st, "db", "conn", 1).n, 0);    /* the hour is open */
    assert_int_equal(tocsin_mhist_flush(h, H0 + 3601, 0), 0);
    rows = list_rows(st, "db", "conn", 1);
    assert_int_equal(rows.n, 1);
    /* Weighted by count: (1 + 3 + 8) / 3, not the mean of 2 and 8. */
    expect_row(&rows.r[0], H0, 1, 4, 8, 3);
    assert_true(isnan(rows.r[0].last));
    /* A value of the next hour closes nothing more of this one. */
    assert_int_equal(tocsin_mhist_add(h, "db", "conn", 20, H0 + 3700), 0);
    assert_int_equal(tocsin_mhist_flush(h, H0 + 7201, 0), 0);
    rows = list_rows(st, "db", "conn", 1);
    assert_int_equal(rows.n, 2);
    expect_row(&rows.r[1], H0 + 3600, 20, 20, 20, 1);
    tocsin_mhist_free(h);
}

static void prune_deletes_expired_rows_a_few_series_at_a_time(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_metric_row r = {.min = 1, .avg = 1, .max = 1, .last = 1, .count = 1};
    int64_t t;

    for (t = H0; t < H0 + 3 * 3600; t += 1800) {
        r.t = t;
        assert_int_equal(tocsin_metric_put_minute(st, "a", "x", &r), 0);
        assert_int_equal(tocsin_metric_put_minute(st, "b", "x", &r), 0);
    }
    assert_int_equal(tocsin_metric_rollup(st, "a", "x", H0), 0);
    assert_int_equal(tocsin_metric_rollup(st, "a", "x", H0 + 3600), 0);
    assert_int_equal(list_rows(st, "a", "x", 1).n, 2);
    /* One series per call: a first, then b, then the round starts again. */
    assert_int_equal(tocsin_metric_prune(st, H0 + 3600, H0 + 3600, 1), 2 + 1);
    assert_int_equal(list_rows(st, "a", "x", 0).n, 4);
    assert_int_equal(list_rows(st, "b", "x", 0).n, 6);
    assert_int_equal(tocsin_metric_prune(st, H0 + 3600, H0 + 3600, 1), 2);
    assert_int_equal(list_rows(st, "b", "x", 0).n, 4);
    assert_int_equal(tocsin_metric_prune(st, H0 + 3600, H0 + 3600, 1), 0);
    assert_int_equal(tocsin_metric_prune(st, H0 + 7200, H0 + 7200, 2), 4 + 1);
    assert_int_equal(list_rows(st, "a", "x", 0).n, 2);
    assert_int_equal(list_rows(st, "a", "x", 1).n, 0);
    assert_int_equal(list_rows(st, "b", "x", 0).n, 2);
}

static void failing_store_keeps_what_waits_bounded_and_counts_drops(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_mhist *h = new_mhist(st, 3);
    struct tocsin_mhist_stats stats;
    int i;

    sql_on_file(fx->path, "CREATE TRIGGER full BEFORE INSERT ON metric_minute "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    for (i = 0; i < 5; i++)
        assert_int_equal(tocsin_mhist_add(h, "web", "time", i, H0 + 60 * i), 0);
    assert_int_equal(tocsin_mhist_flush(h, H0 + 60 * 5, 0), -1);
    tocsin_mhist_stats(h, &stats);
    assert_int_equal(stats.pending, 3);      /* 5 closed minutes, 3 kept */
    assert_int_equal(stats.dropped, 2);
    assert_int_equal(stats.failed_flushes, 1);
    assert_int_equal(stats.written, 0);
    sql_on_file(fx->path, "DROP TRIGGER full");
    assert_int_equal(tocsin_mhist_flush(h, H0 + 60 * 5, 0), 0);
    tocsin_mhist_stats(h, &stats);
    assert_int_equal(stats.pending, 0);
    assert_int_equal(stats.written, 3);
    assert_int_equal(list_rows(st, "web", "time", 0).n, 3);
    tocsin_mhist_free(h);
}

static void schema_3_store_gets_the_metric_tables(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_store *st = open_store(fx);
    struct tocsin_metric_row r = {.t = H0, .min = 1, .avg = 2, .max = 3, .last = 3, .count = 2};
    struct rows rows;

    assert_int_equal(tocsin_history_add(st, 1000, "web", "note", "before"), 0);
    tocsin_store_close(st);
    fx->st = NULL;
    sql_on_file(fx->path, "DROP TABLE metric_series; DROP TABLE metric_minute; "
                "DROP TABLE metric_hour; PRAGMA user_version = 3");
    assert_int_equal(count_on_file(fx->path, "SELECT count(*) FROM sqlite_master WHERE name "
                                   "LIKE 'metric%'"), 0);
    st = open_store(fx);
    assert_int_equal(count_on_file(fx->path, "PRAGMA user_version"), 4);
    assert_int_equal(count_on_file(fx->path, "SELECT count(*) FROM history"), 1);
    assert_int_equal(tocsin_metric_put_minute(st, "web", "time", &r), 0);
    rows = list_rows(st, "web", "time", 0);
    assert_int_equal(rows.n, 1);
    expect_row(&rows.r[0], H0, 1, 2, 3, 2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(new_store_is_empty),
        T(added_item_is_handed_out_with_every_field),
        T(item_in_flight_is_not_handed_out_twice),
        T(due_stops_at_max_and_when_the_callback_refuses),
        T(due_goes_on_past_items_the_callback_leaves),
        T(delivered_outcome_ends_the_item),
        T(failed_outcome_ends_the_item),
        T(retry_outcome_counts_the_attempt_and_waits),
        T(retries_come_back_in_backoff_order),
        T(retry_past_expiry_expires_the_item),
        T(item_due_after_its_expiry_expires_unsent),
        T(outcome_for_unknown_item_or_bad_outcome_is_refused),
        T(item_without_notifier_is_refused),
        T(depth_counter_matches_the_file),
        T(prune_drops_old_ended_items_and_their_attempts),
        T(history_merges_events_and_attempts_oldest_first),
        T(failed_and_expired_attempts_are_named_in_history),
        T(history_listing_stops_when_asked_and_prunes),
        T(state_put_replace_delete_and_each),
        T(state_holds_binary_blobs),
        T(committed_transaction_survives_a_reopen),
        T(rolled_back_transaction_leaves_nothing),
        T(failed_call_rolls_the_whole_transaction_back),
        T(sqlite_error_rolls_the_whole_transaction_back),
        T(transactions_do_not_nest),
        T(reopen_keeps_pending_items_and_frees_those_in_flight),
        T(ids_are_never_reused),
        T(sync_full_flag_opens_and_commits),
        T(newer_schema_is_refused),
        T(schema_1_store_is_upgraded_with_the_same_content),
        T(other_programs_database_is_refused),
        T(garbage_file_is_refused),
        T(damaged_pages_are_refused),
        T(missing_directory_is_refused_with_its_path),
        T(read_only_file_is_refused),
        T(unwritable_directory_is_refused),
        T(kill_9_loses_no_committed_item),
        T(minute_is_summed_up_and_written_once_closed),
        T(value_of_a_later_minute_closes_the_open_one),
        T(hour_is_rolled_up_from_its_minutes_when_it_closes),
        T(prune_deletes_expired_rows_a_few_series_at_a_time),
        T(failing_store_keeps_what_waits_bounded_and_counts_drops),
        T(schema_3_store_gets_the_metric_tables),
    };
#undef T

    /* Refusals are logged on purpose; keep them in the output, they show
     * what an operator would read. */
    tocsin_log_open("test_store", 0, TOCSIN_LOG_ERROR);
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
