/*
 * test_alerting.c - the alerting stage (core/alerting/alerting.c) driven
 * through its API as tocsind drives it: hard changes, ticks, delivery
 * outcomes, acknowledgements and downtimes, against a configuration
 * loaded from a file and a real store, both in a throwaway directory.
 *
 * The hooks' send records every message it is handed (the notifier, the
 * sequence number and the alerts, decoded with the module's own codec),
 * so each case says exactly what goes out, to whom, in which order.
 *
 * Time: every `now` the API takes is virtual, counted from t0, half a
 * minute ahead of the wall clock. The module stamps outbox rows with the
 * wall clock (when they are queued and, on a retry, when they come due
 * again), so a row queued at once is due at every virtual tick, while
 * group_wait and retry delays are measured from the wall clock, i.e. from
 * roughly t0 - 30 s: they are five minutes here, so that the cases keep
 * their margins in a slow run (valgrind). Nothing sleeps.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "config/config.h"
#include "config/registry.h"
#include "engine/proto.h"
#include "alerting/alerting.h"
#include "alerting/store.h"

#define MAX_MSGS 64
#define AHEAD_S 30                   /* t0 is this far ahead of the wall clock */

/* ------------------------------------------------------------------ */
/* Plugins the configuration can name: their descriptors only.         */
/* ------------------------------------------------------------------ */

static cfg_opt_t no_opts[] = { CFG_END() };

static const struct tocsin_plugin fake_check = {
    .abi = TOCSIN_PLUGIN_ABI,
    .size = sizeof(struct tocsin_plugin),
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "fake",
    .version = "1",
    .summary = "a check for alerting tests",
    .options = no_opts,
};

static const struct tocsin_plugin fake_notifier = {
    .abi = TOCSIN_PLUGIN_ABI,
    .size = sizeof(struct tocsin_plugin),
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .name = "recorder",
    .version = "1",
    .summary = "a notifier for alerting tests",
    .options = no_opts,
};

/* Notifiers of every case, in this index order: a tick hands out its
 * messages in it. */
#define NOTIFIERS \
    "notifier \"email\" {\n    plugin = \"recorder\"\n" RETRY "}\n" \
    "notifier \"sms\" {\n    plugin = \"recorder\"\n" RETRY "}\n" \
    "notifier \"manager\" {\n    plugin = \"recorder\"\n" RETRY "}\n" \
    "notifier \"pager\" {\n    plugin = \"recorder\"\n    enabled = false\n" RETRY "}\n" \
    "notifier \"console\" {\n    plugin = \"recorder\"\n" RETRY "}\n"
#define RETRY "    retry_min = \"5m\"\n    retry_max = \"10m\"\n    expire = \"7d\"\n"

/* Services of every case. */
#define SERVICES \
    "service \"db\" {\n    check = \"fake\"\n    host = \"h1\"\n}\n" \
    "service \"web\" {\n    check = \"fake\"\n    host = \"h1\"\n}\n" \
    "service \"app\" {\n    check = \"fake\"\n    host = \"h1\"\n" \
    "    depends = { \"db\" }\n}\n"

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

/* One message handed to a notifier: its bytes and the alerts in them. */
struct message {
    char *notifier;
    uint32_t seq;
    uint32_t count;
    char *bytes;                     /* the alerts point into these */
    struct tocsin_alert *alerts;
    int answered;
};

struct fixture {
    char dir[64];
    char conf_path[128], confd[128], db_path[128];
    struct tocsin_config *conf;
    struct tocsin_store *st;
    struct tocsin_svc_view *views;
    struct tocsin_alerting *a;
    struct message msgs[MAX_MSGS];
    size_t nmsgs;
    size_t seen;                     /* messages already checked */
    time_t t0;
};

/* The send hook: record the message, decoding its alerts. */
static int record_send(void *ud, uint32_t notifier, uint32_t seq, const void *alerts,
                       size_t len, uint32_t count)
{
    struct fixture *fx = ud;
    struct message *m;
    const char *p;
    size_t left = len;
    uint32_t i;

    if (fx->nmsgs >= MAX_MSGS)
        fail_msg("more than %d messages sent", MAX_MSGS);
    m = &fx->msgs[fx->nmsgs++];
    memset(m, 0, sizeof(*m));
    m->notifier = strdup(fx->conf->notifiers[notifier].inst.name);
    m->seq = seq;
    m->count = count;
    m->bytes = malloc(len ? len : 1);
    m->alerts = calloc(count ? count : 1, sizeof(*m->alerts));
    assert_non_null(m->notifier);
    assert_non_null(m->bytes);
    assert_non_null(m->alerts);
    memcpy(m->bytes, alerts, len);
    p = m->bytes;
    for (i = 0; i < count; i++)
        if (tocsin_alert_decode(&p, &left, &m->alerts[i]) < 0)
            fail_msg("message %u to '%s': alert %u of %u does not decode", seq,
                     m->notifier, i + 1, count);
    if (left)
        fail_msg("message %u to '%s': %zu bytes after its %u alerts", seq, m->notifier,
                 left, count);
    return 0;
}

static void free_messages(struct fixture *fx)
{
    size_t i;
    uint32_t k;

    for (i = 0; i < fx->nmsgs; i++) {
        for (k = 0; k < fx->msgs[i].count; k++)
            free((void *)fx->msgs[i].alerts[k].labels);
        free(fx->msgs[i].alerts);
        free(fx->msgs[i].bytes);
        free(fx->msgs[i].notifier);
    }
    fx->nmsgs = fx->seen = 0;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tocsin-alerting-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->conf_path, sizeof(fx->conf_path), "%s/tocsin.conf", fx->dir);
    snprintf(fx->confd, sizeof(fx->confd), "%s/conf.d", fx->dir);
    snprintf(fx->db_path, sizeof(fx->db_path), "%s/%s", fx->dir, TOCSIN_STORE_FILE);
    if (mkdir(fx->confd, 0700) < 0) {
        rmdir(fx->dir);
        free(fx);
        return -1;
    }
    fx->t0 = time(NULL) + AHEAD_S;
    *state = fx;
    return 0;
}

/* Remove the directory and every file in it. */
static int teardown(void **state)
{
    struct fixture *fx = *state;
    char file[512];
    struct dirent *de;
    struct rlimit rl;
    DIR *d;

    /* A case that failed with its disk full (disk_full below) leaves it so. */
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_FSIZE, &rl);
    }
    tocsin_alerting_free(fx->a);
    tocsin_store_close(fx->st);
    tocsin_config_free(fx->conf);
    free(fx->views);
    free_messages(fx);
    rmdir(fx->confd);
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

/* Open the store and make the alerting stage over it (and restore). */
static void open_alerting(struct fixture *fx)
{
    struct tocsin_alerting_hooks hooks = { record_send, fx };
    char err[256];

    if (tocsin_store_open(fx->db_path, 0, &fx->st, err, sizeof(err)) < 0)
        fail_msg("opening the store: %s", err);
    fx->a = tocsin_alerting_new(fx->conf, fx->st, fx->views, &hooks);
    assert_non_null(fx->a);
}

/* The daemon stops and starts again: same configuration and store; the
 * one incident open is restored. */
static void restart_alerting(struct fixture *fx)
{
    tocsin_alerting_free(fx->a);
    tocsin_store_close(fx->st);
    fx->a = NULL;
    fx->st = NULL;
    open_alerting(fx);
    assert_int_equal(tocsin_alerting_restore(fx->a), 1);
}

/* Load the notifiers and services above plus `routes` (may be ""), make
 * every service OK and checked, and start the alerting stage. */
static void start(struct fixture *fx, const char *routes)
{
    struct tocsin_plugin_entry entries[] = {
        { .name = "fake", .path = "fake.la", .desc = &fake_check },
        { .name = "recorder", .path = "recorder.la", .desc = &fake_notifier },
    };
    struct tocsin_registry reg = { entries, 2 };
    struct tocsin_buf errors = TOCSIN_BUF_INIT;
    FILE *f;
    size_t i;

    f = fopen(fx->conf_path, "w");
    assert_non_null(f);
    assert_true(fprintf(f, "include_dir = \"conf.d\"\n%s%s%s", NOTIFIERS, SERVICES,
                        routes) > 0);
    assert_int_equal(fclose(f), 0);
    fx->conf = tocsin_config_load(fx->conf_path, &reg, &errors);
    if (!fx->conf)
        fail_msg("expected the configuration to load, got \"%s\"", tocsin_buf_str(&errors));
    tocsin_buf_free(&errors);
    fx->views = calloc(fx->conf->nservices, sizeof(*fx->views));
    assert_non_null(fx->views);
    for (i = 0; i < fx->conf->nservices; i++) {
        fx->views[i].state = fx->views[i].hard_state = TOCSIN_OK;
        fx->views[i].is_hard = 1;
        fx->views[i].attempt = 1;
        fx->views[i].checked = 1;
        fx->views[i].output = (char *)"OK - fine";
    }
    open_alerting(fx);
}

static uint32_t svc(const struct fixture *fx, const char *name)
{
    long i = tocsin_config_find_service(fx->conf, name);

    if (i < 0)
        fail_msg("no service '%s' in the test configuration", name);
    return (uint32_t)i;
}

/* Service `name` becomes hard `st` at t0 + `at` seconds. */
static void hard(struct fixture *fx, const char *name, enum tocsin_state st, time_t at)
{
    struct tocsin_svc_view *v = &fx->views[svc(fx, name)];
    enum tocsin_state old = v->hard_state;

    v->state = v->hard_state = st;
    v->last_change = v->last_check = fx->t0 + at;
    v->output = (char *)(st == TOCSIN_OK ? "OK - fine" : "CRITICAL - down");
    tocsin_alerting_hard_change(fx->a, svc(fx, name), old, fx->t0 + at);
}

/* A tick at t0 + `at` seconds. */
static void tick(struct fixture *fx, time_t at)
{
    tocsin_alerting_tick(fx->a, (int64_t)(fx->t0 + at) * 1000);
}

/* Answer every message not answered yet with `outcome`, as the notifier
 * workers would. */
static void answer(struct fixture *fx, enum tocsin_delivery outcome)
{
    size_t i;

    for (i = 0; i < fx->nmsgs; i++) {
        struct message *m = &fx->msgs[i];

        if (m->answered)
            continue;
        m->answered = 1;
        tocsin_alerting_delivery(fx->a, (uint32_t)tocsin_config_find_notifier(fx->conf,
                                 m->notifier), m->seq, outcome, 0,
                                 outcome == TOCSIN_DELIVERED ? "" : "receiver unavailable");
    }
}

/* The next message not checked yet: it must go to `notifier` and carry
 * `count` alerts. */
static const struct message *next_msg(struct fixture *fx, const char *notifier,
                                      uint32_t count, const char *what)
{
    const struct message *m;

    if (fx->seen >= fx->nmsgs)
        fail_msg("%s: expected a message to '%s', none was sent", what, notifier);
    m = &fx->msgs[fx->seen++];
    if (strcmp(m->notifier, notifier) != 0 || m->count != count)
        fail_msg("%s: expected a message of %u alert(s) to '%s', got %u to '%s' "
                 "(first: %s of %s)", what, count, notifier, m->count, m->notifier,
                 tocsin_alert_kind_name(m->alerts[0].kind), m->alerts[0].service);
    return m;
}

/* Alert `al` is `kind` about `service` in `st`. */
static void expect_alert(const struct tocsin_alert *al, enum tocsin_alert_kind kind,
                         const char *service, enum tocsin_state st, const char *what)
{
    if (al->kind != kind || strcmp(al->service, service) != 0 || al->state != st)
        fail_msg("%s: expected %s of '%s' (%s), got %s of '%s' (%s)", what,
                 tocsin_alert_kind_name(kind), service, tocsin_state_name(st),
                 tocsin_alert_kind_name(al->kind), al->service, tocsin_state_name(al->state));
}

/* The next message is one alert, `kind` about `service`, to `notifier`. */
static const struct tocsin_alert *expect_one(struct fixture *fx, const char *notifier,
                                             enum tocsin_alert_kind kind,
                                             const char *service, enum tocsin_state st,
                                             const char *what)
{
    const struct message *m = next_msg(fx, notifier, 1, what);

    expect_alert(&m->alerts[0], kind, service, st, what);
    return &m->alerts[0];
}

/* No message beyond those checked. */
static void expect_nothing(struct fixture *fx, const char *what)
{
    if (fx->seen < fx->nmsgs) {
        const struct message *m = &fx->msgs[fx->seen];

        fail_msg("%s: expected no message, got %s of '%s' to '%s'", what,
                 tocsin_alert_kind_name(m->alerts[0].kind), m->alerts[0].service,
                 m->notifier);
    }
}

static void ack(struct fixture *fx, const char *name)
{
    char err[256];

    if (tocsin_alerting_ack(fx->a, svc(fx, name), "alice", "on it", NULL, err, sizeof(err)) < 0)
        fail_msg("acknowledging '%s': expected success, got \"%s\"", name, err);
}

/* Start with `routes` (email being the notifier they give db); db fails
 * at t0 and its problem's first attempt reaches email, which answers
 * `outcome`. */
static void db_problem_answered(struct fixture *fx, const char *routes,
                                enum tocsin_delivery outcome)
{
    start(fx, routes);
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "problem");
    answer(fx, outcome);
}

/* As db_problem_answered, delivered. */
static void db_problem_delivered(struct fixture *fx, const char *routes)
{
    db_problem_answered(fx, routes, TOCSIN_DELIVERED);
}

/* Start with one route to email; db, in downtime until t0 + 100, fails
 * at t0. */
static void db_fails_in_downtime(struct fixture *fx)
{
    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    assert_int_equal(tocsin_alerting_downtime(fx->a, svc(fx, "db"), fx->t0 + 100, "bob",
                                              "maintenance"), 0);
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    assert_true(tocsin_alerting_incident(fx->a, svc(fx, "db"))->pending);
    tick(fx, 1);
}

/* ------------------------------------------------------------------ */
/* Incidents and routes                                                */
/* ------------------------------------------------------------------ */

static void alerting_hard_problem_opens_incident_and_goes_to_route_notifiers(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_incident *inc;
    const struct tocsin_alert *al;
    char key[64];

    start(fx, "route \"ops\" {\n    notifiers = { \"email\", \"sms\" }\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    inc = tocsin_alerting_incident(fx->a, svc(fx, "db"));
    snprintf(key, sizeof(key), "h1/db/%lld", (long long)fx->t0);
    assert_non_null(inc->key);
    assert_string_equal(inc->key, key);
    assert_int_equal(inc->route, 0);
    assert_int_equal(inc->state, TOCSIN_CRITICAL);
    expect_nothing(fx, "before the tick");
    tick(fx, 1);
    al = expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "problem");
    assert_string_equal(al->incident, key);
    assert_string_equal(al->route, "ops");
    assert_string_equal(al->output, "CRITICAL - down");
    assert_int_equal(al->previous, TOCSIN_OK);
    al = expect_one(fx, "sms", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "problem");
    assert_string_equal(al->incident, key);
    expect_nothing(fx, "after the problem");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 2);
    expect_nothing(fx, "a delivered problem is not sent again");
}

static void alerting_first_matching_route_wins(void **state)
{
    struct fixture *fx = *state;

    start(fx, "route \"dba\" {\n    services = { \"db*\" }\n    notifiers = { \"email\" }\n}\n"
              "route \"rest\" {\n    notifiers = { \"sms\" }\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "db by 'dba'");
    expect_nothing(fx, "'rest' matches db too, but 'dba' came first");
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "web", TOCSIN_CRITICAL, 2);
    tick(fx, 3);
    expect_one(fx, "sms", TOCSIN_ALERT_PROBLEM, "web", TOCSIN_CRITICAL, "web by 'rest'");
    expect_nothing(fx, "web");
}

static void alerting_continue_adds_later_routes(void **state)
{
    struct fixture *fx = *state;

    start(fx, "route \"dba\" {\n    services = { \"db*\" }\n    notifiers = { \"email\" }\n"
              "    continue = true\n}\n"
              "route \"rest\" {\n    notifiers = { \"sms\" }\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "db by 'dba'");
    expect_one(fx, "sms", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
               "db by 'rest' after 'dba' continues");
    expect_nothing(fx, "db");
    assert_int_equal(tocsin_alerting_incident(fx->a, svc(fx, "db"))->route, 0);
}

/* The route's period is "today" (UTC): inside it email hears, outside it
 * sms. The recovery, a day later, goes to email, told of the problem. */
static void alerting_recovery_goes_to_those_told_whatever_the_period(void **state)
{
    static const char *days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
    struct fixture *fx = *state;
    char routes[512];
    struct tm tm;

    assert_non_null(gmtime_r(&fx->t0, &tm));
    snprintf(routes, sizeof(routes),
             "timeperiod \"today\" {\n    timezone = \"UTC\"\n    weekdays = { \"%s\" }\n}\n"
             "route \"oncall\" {\n    period = \"today\"\n    notifiers = { \"email\" }\n"
             "    outside_notifiers = { \"sms\" }\n}\n", days[tm.tm_wday]);
    start(fx, routes);
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "inside the period");
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "web", TOCSIN_CRITICAL, 86400);
    hard(fx, "db", TOCSIN_OK, 86400);
    tick(fx, 86401);
    expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK,
               "the recovery, outside the period, to the one told of the problem");
    expect_one(fx, "sms", TOCSIN_ALERT_PROBLEM, "web", TOCSIN_CRITICAL,
               "a new problem outside the period");
    expect_nothing(fx, "the recovery goes to no one else");
}

/* ------------------------------------------------------------------ */
/* Repeats and escalations                                             */
/* ------------------------------------------------------------------ */

static void alerting_repeat_while_unacknowledged_stops_after_ack(void **state)
{
    struct fixture *fx = *state;

    db_problem_delivered(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n"
              "    repeat_interval = \"5m\"\n}\n");
    tick(fx, 299);
    expect_nothing(fx, "before repeat_interval");
    tick(fx, 300);
    expect_one(fx, "email", TOCSIN_ALERT_REPEAT, "db", TOCSIN_CRITICAL, "first repeat");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 450);
    expect_nothing(fx, "between repeats");
    tick(fx, 600);
    expect_one(fx, "email", TOCSIN_ALERT_REPEAT, "db", TOCSIN_CRITICAL, "second repeat");
    answer(fx, TOCSIN_DELIVERED);
    ack(fx, "db");
    tick(fx, 601);
    expect_one(fx, "email", TOCSIN_ALERT_ACKNOWLEDGED, "db", TOCSIN_CRITICAL, "the ack");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 900);
    tick(fx, 1200);
    tick(fx, 3600);
    expect_nothing(fx, "no repeat once acknowledged");
}

#define ESCALATING_ROUTE \
    "route \"ops\" {\n    notifiers = { \"email\" }\n" \
    "    escalation {\n        after = \"10m\"\n        notifiers = { \"manager\" }\n    }\n" \
    "    escalation {\n        after = \"20m\"\n        notifiers = { \"sms\" }\n    }\n}\n"

static void alerting_escalation_after_minutes_unacknowledged(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_alert *al;

    db_problem_delivered(fx, ESCALATING_ROUTE);
    tick(fx, 599);
    expect_nothing(fx, "before the first step");
    tick(fx, 600);
    al = expect_one(fx, "manager", TOCSIN_ALERT_ESCALATION, "db", TOCSIN_CRITICAL,
                    "first step after 10m");
    assert_non_null(strstr(al->reason, "unacknowledged after"));
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 1199);
    expect_nothing(fx, "the first step is told once");
    tick(fx, 1200);
    expect_one(fx, "sms", TOCSIN_ALERT_ESCALATION, "db", TOCSIN_CRITICAL,
               "second step after 20m");
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "db", TOCSIN_OK, 1300);
    tick(fx, 1301);
    expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "recovery to email");
    expect_one(fx, "sms", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "recovery to sms");
    expect_one(fx, "manager", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "recovery to manager");
    expect_nothing(fx, "recovery");
}

static void alerting_escalation_counts_from_the_first_notification(void **state)
{
    struct fixture *fx = *state;

    start(fx, ESCALATING_ROUTE);
    assert_int_equal(tocsin_alerting_downtime(fx->a, svc(fx, "db"), fx->t0 + 1500, "bob",
                                              "maintenance"), 0);
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    tick(fx, 1499);
    expect_nothing(fx, "held back by the downtime, past both steps");
    tick(fx, 1500);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
               "the downtime ended: the problem alone");
    expect_nothing(fx, "no step is overdue at the first notification");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 1500 + 599);
    expect_nothing(fx, "10 minutes after the first notification, not before");
    tick(fx, 1500 + 600);
    expect_one(fx, "manager", TOCSIN_ALERT_ESCALATION, "db", TOCSIN_CRITICAL,
               "first step 10m after the first notification");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 1500 + 1199);
    expect_nothing(fx, "second step not yet");
    tick(fx, 1500 + 1200);
    expect_one(fx, "sms", TOCSIN_ALERT_ESCALATION, "db", TOCSIN_CRITICAL,
               "second step 20m after the first notification");
}

static void alerting_escalation_stopped_by_ack(void **state)
{
    struct fixture *fx = *state;

    db_problem_delivered(fx, ESCALATING_ROUTE);
    ack(fx, "db");
    tick(fx, 2);
    expect_one(fx, "email", TOCSIN_ALERT_ACKNOWLEDGED, "db", TOCSIN_CRITICAL, "the ack");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 600);
    tick(fx, 1200);
    expect_nothing(fx, "no escalation once acknowledged");
}

static void alerting_escalation_stopped_by_recovery(void **state)
{
    struct fixture *fx = *state;

    db_problem_delivered(fx, ESCALATING_ROUTE);
    hard(fx, "db", TOCSIN_OK, 300);
    tick(fx, 301);
    expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "recovery");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 600);
    tick(fx, 1200);
    expect_nothing(fx, "no escalation after the recovery");
}

/* ------------------------------------------------------------------ */
/* Grouping and the order of what one notifier hears                   */
/* ------------------------------------------------------------------ */

static void alerting_group_wait_gathers_one_route_into_one_message(void **state)
{
    struct fixture *fx = *state;
    const struct message *m;

    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n    group_wait = \"5m\"\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_nothing(fx, "the first problem waits for its group");
    hard(fx, "web", TOCSIN_CRITICAL, 10);
    tick(fx, 11);
    tick(fx, 200);
    expect_nothing(fx, "within group_wait");
    tick(fx, 300);
    m = next_msg(fx, "email", 2, "the group");
    expect_alert(&m->alerts[0], TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "first in group");
    expect_alert(&m->alerts[1], TOCSIN_ALERT_PROBLEM, "web", TOCSIN_CRITICAL,
                 "second in group");
    assert_string_equal(m->alerts[0].group_key, "ops");
    assert_string_equal(m->alerts[1].group_key, "ops");
    expect_nothing(fx, "one message for the group");
}

/* The problem fails for the time being; the acknowledgement made
 * meanwhile waits until the retried problem is delivered. */
static void alerting_ack_waits_for_its_problem_to_reach_the_notifier(void **state)
{
    struct fixture *fx = *state;

    db_problem_answered(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n",
                        TOCSIN_RETRY);
    ack(fx, "db");
    tick(fx, 2);
    tick(fx, 10);
    expect_nothing(fx, "the ack waits while its problem waits for a retry");
    tick(fx, 400);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "the retry");
    expect_nothing(fx, "the ack does not travel with the problem still in flight");
    tick(fx, 401);
    expect_nothing(fx, "the ack waits while its problem is in flight");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 402);
    expect_one(fx, "email", TOCSIN_ALERT_ACKNOWLEDGED, "db", TOCSIN_CRITICAL,
               "the ack once the problem is delivered");
    expect_nothing(fx, "after the ack");
}

/* The problem fails for the time being and the service recovers before
 * the retry: the retry still goes out (the receiver may not have taken
 * the first attempt), and the recovery waits until it is delivered. */
static void alerting_recovery_waits_for_its_problem_retry(void **state)
{
    struct fixture *fx = *state;

    db_problem_answered(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n",
                        TOCSIN_RETRY);
    hard(fx, "db", TOCSIN_OK, 5);
    tick(fx, 6);
    tick(fx, 10);
    expect_nothing(fx, "the recovery waits while its problem waits for a retry");
    tick(fx, 400);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
               "the retry, although the incident has ended");
    tick(fx, 401);
    expect_nothing(fx, "the recovery waits while its problem is in flight");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 402);
    expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK,
               "the recovery once the problem is delivered");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 800);
    expect_nothing(fx, "after the recovery");
}

/* The recovery fails for the time being and the service fails again:
 * the new incident's problem waits until the recovery of the one before
 * it is delivered, so the receiver never reads the service as OK while it
 * is not. */
static void alerting_new_problem_waits_for_the_recovery_before_it(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_alert *al;
    char *first;

    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    al = expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "the problem");
    first = strdup(al->incident);
    assert_non_null(first);
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "db", TOCSIN_OK, 10);
    tick(fx, 11);
    expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "first attempt");
    answer(fx, TOCSIN_RETRY);
    hard(fx, "db", TOCSIN_CRITICAL, 20);
    tick(fx, 21);
    tick(fx, 30);
    expect_nothing(fx, "the new problem waits for the recovery before it");
    tick(fx, 400);
    al = expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "the retry");
    assert_string_equal(al->incident, first);
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 401);
    al = expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
                    "the new problem, after the recovery");
    assert_string_not_equal(al->incident, first);
    free(first);
}

/* A retried problem whose incident ended is still dropped when no
 * recovery follows it to that notifier: here a repeat, whose incident's
 * recovery went out already. */
static void alerting_repeat_of_an_ended_incident_is_not_sent(void **state)
{
    struct fixture *fx = *state;

    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n"
              "    repeat_interval = \"1m\"\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "the problem");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 61);
    expect_one(fx, "email", TOCSIN_ALERT_REPEAT, "db", TOCSIN_CRITICAL, "the repeat");
    answer(fx, TOCSIN_RETRY);
    hard(fx, "db", TOCSIN_OK, 70);
    tick(fx, 71);
    expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "the recovery");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 500);
    expect_nothing(fx, "the repeat's retry, after the recovery");
}

/* ------------------------------------------------------------------ */
/* Suppression                                                         */
/* ------------------------------------------------------------------ */

static void alerting_downtime_holds_problem_until_it_ends(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_alert *al;

    db_fails_in_downtime(fx);
    tick(fx, 99);
    expect_nothing(fx, "in downtime");
    tick(fx, 100);
    al = expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
                    "the downtime ended, still a problem");
    assert_string_equal(al->reason, "no longer suppressed");
    expect_nothing(fx, "after the downtime");
}

static void alerting_downtime_problem_over_before_it_ends_is_never_told(void **state)
{
    struct fixture *fx = *state;

    db_fails_in_downtime(fx);
    hard(fx, "db", TOCSIN_OK, 50);
    tick(fx, 51);
    tick(fx, 100);
    tick(fx, 200);
    expect_nothing(fx, "a problem over within the downtime");
    assert_null(tocsin_alerting_incident(fx->a, svc(fx, "db"))->key);
}

/* Service `name` starts (1) or stops flapping at t0 + `at`, as tocsind
 * tells the stage once the view says so. */
static void flapping(struct fixture *fx, const char *name, int on, time_t at)
{
    fx->views[svc(fx, name)].flapping = on;
    tocsin_alerting_flapping(fx->a, svc(fx, name), on,
                             on ? "started flapping (25.0% state change >= 20.0%)"
                                : "stopped flapping (4.0% state change < 5.0%)",
                             fx->t0 + at);
}

static void alerting_flapping_holds_back_what_receivers_know(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_alert *al;

    db_problem_delivered(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    flapping(fx, "db", 1, 5);
    tick(fx, 6);
    al = expect_one(fx, "email", TOCSIN_ALERT_FLAPPING_START, "db", TOCSIN_CRITICAL,
                    "receivers hear that the flapping started");
    assert_non_null(strstr(al->reason, "started flapping"));
    assert_true(al->flapping);
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "db", TOCSIN_OK, 10);
    tick(fx, 11);
    expect_nothing(fx, "a recovery while flapping is held back");
    hard(fx, "db", TOCSIN_CRITICAL, 20);
    tick(fx, 21);
    tick(fx, 100);
    expect_nothing(fx, "CRITICAL again, as told last, while flapping");
    assert_false(tocsin_alerting_incident(fx->a, svc(fx, "db"))->pending);
    flapping(fx, "db", 0, 200);
    tick(fx, 201);
    al = expect_one(fx, "email", TOCSIN_ALERT_FLAPPING_STOP, "db", TOCSIN_CRITICAL,
                    "receivers hear that the flapping stopped");
    assert_non_null(strstr(al->reason, "stopped flapping"));
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 300);
    expect_nothing(fx, "the problem they know of is not told again");
}

static void alerting_flapping_never_holds_a_worse_state(void **state)
{
    struct fixture *fx = *state;
    const struct message *m;

    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    hard(fx, "db", TOCSIN_WARNING, 0);
    tick(fx, 1);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_WARNING, "the warning");
    answer(fx, TOCSIN_DELIVERED);
    fx->views[svc(fx, "db")].flapping = 1;
    hard(fx, "db", TOCSIN_OK, 10);
    hard(fx, "db", TOCSIN_WARNING, 20);
    tick(fx, 21);
    expect_nothing(fx, "OK and WARNING again while flapping");
    hard(fx, "db", TOCSIN_CRITICAL, 30);
    tick(fx, 31);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
               "CRITICAL is worse than the WARNING told: told at once");
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "db", TOCSIN_OK, 40);
    tick(fx, 41);
    expect_nothing(fx, "the recovery waits for the flapping to stop");
    flapping(fx, "db", 0, 50);
    tick(fx, 51);
    m = next_msg(fx, "email", 2, "flapping stopped, then the recovery");
    expect_alert(&m->alerts[0], TOCSIN_ALERT_FLAPPING_STOP, "db", TOCSIN_OK, "first");
    expect_alert(&m->alerts[1], TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "then");
    expect_nothing(fx, "after flapping");
    assert_null(tocsin_alerting_incident(fx->a, svc(fx, "db"))->key);
}

static void alerting_flapping_tells_a_new_incident(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_alert *al;

    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    fx->views[svc(fx, "db")].flapping = 1;
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    al = expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
                    "nothing of the incident was told: its problem goes out");
    assert_non_null(strstr(al->reason, "while flapping"));
    expect_nothing(fx, "once");
}

static void alerting_flapping_notice_held_in_downtime(void **state)
{
    struct fixture *fx = *state;

    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    assert_int_equal(tocsin_alerting_downtime(fx->a, svc(fx, "db"), fx->t0 + 100, "bob",
                                              "maintenance"), 0);
    flapping(fx, "db", 1, 0);
    tick(fx, 1);
    expect_nothing(fx, "no flapping notice in a downtime");
    flapping(fx, "db", 0, 200);
    tick(fx, 201);
    expect_one(fx, "email", TOCSIN_ALERT_FLAPPING_STOP, "db", TOCSIN_OK,
               "after the downtime the stop is told");
}

static void alerting_failed_parent_holds_child_back(void **state)
{
    struct fixture *fx = *state;
    const struct message *m;

    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    hard(fx, "app", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "the parent");
    expect_nothing(fx, "the child of a failed parent");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 100);
    expect_nothing(fx, "the child, while the parent fails");
    hard(fx, "db", TOCSIN_OK, 200);
    tick(fx, 201);
    /* The tick tells the child's problem, and it travels with the
     * parent's recovery: same notifier, same route, due together. */
    m = next_msg(fx, "email", 2, "the parent recovers");
    expect_alert(&m->alerts[0], TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "the parent recovers");
    expect_alert(&m->alerts[1], TOCSIN_ALERT_PROBLEM, "app", TOCSIN_CRITICAL,
                 "the child, still a problem once the parent is OK");
    expect_nothing(fx, "after the child");
}

/* The problem waits for its group; it is over before the group goes. */
static void alerting_recovery_before_problem_went_out_sends_nothing(void **state)
{
    struct fixture *fx = *state;

    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n    group_wait = \"5m\"\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    hard(fx, "db", TOCSIN_OK, 10);
    tick(fx, 11);
    tick(fx, 300);
    tick(fx, 400);
    expect_nothing(fx, "neither the problem nor its recovery");
    assert_int_equal(tocsin_outbox_depth(fx->st), 0);
}

/* ------------------------------------------------------------------ */
/* A store that cannot commit                                          */
/* ------------------------------------------------------------------ */

/*
 * The store's disk is full (1) or has room again (0). No file of this
 * process may grow past the write-ahead log's size now (RLIMIT_FSIZE, with
 * SIGXFSZ ignored): the next commit, which appends to the log, fails, as
 * it does on a full disk. Nothing else in the case writes a file.
 */
static void disk_full(struct fixture *fx, int full)
{
    struct rlimit rl;
    struct stat sb;
    char wal[160];

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
    if (full) {
        snprintf(wal, sizeof(wal), "%s-wal", fx->db_path);
        assert_int_equal(stat(wal, &sb), 0);
        assert_true(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
        rl.rlim_cur = (rlim_t)sb.st_size;
    } else {
        rl.rlim_cur = rl.rlim_max;
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* Every alert sent since the last check, in order, is `kind` of db in the
 * state given: kinds[i], states[i], for n of them. */
static void expect_db_alerts(struct fixture *fx, const enum tocsin_alert_kind *kinds,
                             const enum tocsin_state *states, size_t n, const char *what)
{
    size_t k = 0;
    uint32_t i;

    for (; fx->seen < fx->nmsgs; fx->seen++) {
        const struct message *m = &fx->msgs[fx->seen];

        for (i = 0; i < m->count; i++, k++) {
            if (k >= n)
                fail_msg("%s: expected %zu alerts, got more: %s of '%s' to '%s'", what, n,
                         tocsin_alert_kind_name(m->alerts[i].kind), m->alerts[i].service,
                         m->notifier);
            assert_string_equal(m->notifier, "email");
            expect_alert(&m->alerts[i], kinds[k], "db", states[k], what);
        }
    }
    if (k < n)
        fail_msg("%s: expected %zu alerts in order, got %zu", what, n, k);
}

/* db fails, recovers and fails again while no commit can be made: nothing
 * goes out and memory does not run ahead of the store; once the disk has
 * room, the three changes are told in order, each once. */
static void alerting_full_disk_keeps_hard_changes_and_tells_them_in_order(void **state)
{
    static const enum tocsin_alert_kind kinds[] = {
        TOCSIN_ALERT_PROBLEM, TOCSIN_ALERT_RECOVERY, TOCSIN_ALERT_PROBLEM };
    static const enum tocsin_state states[] = { TOCSIN_CRITICAL, TOCSIN_OK, TOCSIN_CRITICAL };
    struct fixture *fx = *state;
    struct tocsin_store_health h;
    time_t t;

    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    disk_full(fx, 1);
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_nothing(fx, "nothing goes out while the problem cannot be saved");
    if (tocsin_alerting_incident(fx->a, svc(fx, "db"))->key)
        fail_msg("expected no incident in memory while the store has none, got %s",
                 tocsin_alerting_incident(fx->a, svc(fx, "db"))->key);
    tocsin_store_health(fx->st, &h);
    assert_true(h.failing);
    assert_true(h.commit_failures > 0);
    assert_true(h.failing_since_ms > 0);
    assert_true(*h.reason);
    hard(fx, "db", TOCSIN_OK, 10);
    tick(fx, 11);
    hard(fx, "db", TOCSIN_CRITICAL, 20);
    tick(fx, 25);
    expect_nothing(fx, "still nothing while the disk is full");
    assert_int_equal(tocsin_alerting_unsaved(fx->a), 3);

    disk_full(fx, 0);
    for (t = 60; t < 300; t += 5) {
        tick(fx, t);
        answer(fx, TOCSIN_DELIVERED);
    }
    expect_db_alerts(fx, kinds, states, 3, "once the disk has room again");
    assert_int_equal(tocsin_alerting_unsaved(fx->a), 0);
    if (tocsin_outbox_depth(fx->st) != 0)
        fail_msg("expected every notification delivered, got %lld pending",
                 (long long)tocsin_outbox_depth(fx->st));
    assert_non_null(tocsin_alerting_incident(fx->a, svc(fx, "db"))->key);
    tocsin_store_health(fx->st, &h);
    assert_false(h.failing);
}

/* The outcome of a delivery cannot be recorded: its item is not left in
 * flight for good, nor sent again; it is recorded once the disk has room. */
static void alerting_full_disk_records_the_outcome_later(void **state)
{
    struct fixture *fx = *state;

    start(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "problem");
    disk_full(fx, 1);
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 2);
    assert_int_equal(tocsin_outbox_depth(fx->st), 1);
    disk_full(fx, 0);
    tick(fx, 10);
    tick(fx, 20);
    expect_nothing(fx, "a delivered problem is not sent again");
    if (tocsin_outbox_depth(fx->st) != 0)
        fail_msg("expected the outcome recorded once the disk has room, got %lld item(s) "
                 "still pending (in flight)", (long long)tocsin_outbox_depth(fx->st));
    assert_int_equal(tocsin_alerting_unsaved(fx->a), 0);
}

/* An acknowledgement that cannot be saved is refused, and changes nothing. */
static void alerting_full_disk_refuses_an_acknowledgement(void **state)
{
    struct fixture *fx = *state;
    char err[256];

    db_problem_delivered(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    disk_full(fx, 1);
    if (tocsin_alerting_ack(fx->a, svc(fx, "db"), "alice", "on it", NULL, err, sizeof(err)) == 0)
        fail_msg("expected an acknowledgement that cannot be saved to be refused; it was taken");
    assert_non_null(strstr(err, "cannot be saved"));
    assert_false(tocsin_alerting_incident(fx->a, svc(fx, "db"))->acked);
    disk_full(fx, 0);
    ack(fx, "db");
    assert_true(tocsin_alerting_incident(fx->a, svc(fx, "db"))->acked);
}

/* ------------------------------------------------------------------ */
/* Restart and fallback                                                */
/* ------------------------------------------------------------------ */

static void alerting_incident_survives_restart(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_incident *inc;
    const struct tocsin_alert *al;
    char key[64];

    db_problem_delivered(fx, ESCALATING_ROUTE);
    snprintf(key, sizeof(key), "h1/db/%lld", (long long)fx->t0);

    restart_alerting(fx);
    inc = tocsin_alerting_incident(fx->a, svc(fx, "db"));
    assert_non_null(inc->key);
    assert_string_equal(inc->key, key);
    assert_int_equal(inc->route, 0);
    assert_int_equal(inc->ntold, 1);
    tick(fx, 2);
    expect_nothing(fx, "the problem is not told again after a restart");
    tick(fx, 600);
    expect_one(fx, "manager", TOCSIN_ALERT_ESCALATION, "db", TOCSIN_CRITICAL,
               "escalation after the restart");
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "db", TOCSIN_OK, 700);
    tick(fx, 701);
    al = expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK,
                    "recovery of the restored incident");
    assert_string_equal(al->incident, key);
    expect_one(fx, "manager", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK,
               "recovery to the escalation notifier");
    expect_nothing(fx, "after the recovery");
}

/* A reload redefines db's check, whose problem email was told: the
 * incident is resolved there, saying why, and the new check's problem,
 * even within the same second, is another incident. */
static void alerting_resolve_tells_those_told_and_the_next_problem_is_new(void **state)
{
    struct fixture *fx = *state;
    struct tocsin_svc_view *v;
    const struct tocsin_alert *al;
    char key[64];

    db_problem_delivered(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    snprintf(key, sizeof(key), "h1/db/%lld", (long long)fx->t0);
    /* The service starts afresh under its new check: no result yet. */
    v = &fx->views[svc(fx, "db")];
    memset(v, 0, sizeof(*v));
    assert_int_equal(tocsin_alerting_resolve(fx->a, svc(fx, "db"), "check redefined",
                                             fx->t0), 1);
    assert_null(tocsin_alerting_incident(fx->a, svc(fx, "db"))->key);
    tick(fx, 0);
    al = expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "the resolution");
    assert_string_equal(al->incident, key);
    assert_string_equal(al->output, "check redefined");
    assert_string_equal(al->reason, "check redefined");
    answer(fx, TOCSIN_DELIVERED);
    assert_int_equal(tocsin_alerting_resolve(fx->a, svc(fx, "db"), "again", fx->t0), 0);
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    al = expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
                    "the new check's problem");
    assert_string_not_equal(al->incident, key);
    assert_string_equal(al->output, "CRITICAL - down");
    expect_nothing(fx, "after the new problem");
}

static void alerting_send_resolved_false_gets_no_recovery(void **state)
{
    struct fixture *fx = *state;

    start(fx, "notifier \"quiet\" {\n    plugin = \"recorder\"\n    send_resolved = false\n"
              RETRY "}\n"
              "route \"ops\" {\n    notifiers = { \"email\", \"quiet\" }\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "problem to email");
    expect_one(fx, "quiet", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
               "problem to the notifier without recoveries");
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "db", TOCSIN_OK, 10);
    tick(fx, 11);
    expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "recovery to email");
    expect_nothing(fx, "no recovery to send_resolved = false");
}

static void alerting_disabled_notifier_goes_to_fallback(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_alert *al;

    start(fx, "route \"ops\" {\n    notifiers = { \"pager\" }\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    al = expect_one(fx, "console", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
                    "the fallback for a disabled notifier");
    assert_non_null(strstr(al->reason, "for disabled notifiers: pager"));
    expect_nothing(fx, "nothing to the disabled notifier");
}

/* ------------------------------------------------------------------ */
/* Delivery fallback                                                   */
/* ------------------------------------------------------------------ */

/* A notifier that gives up after a minute, retried every five: its first
 * retry already comes after its expiry. */
#define BRIEF_NOTIFIER \
    "notifier \"brief\" {\n    plugin = \"recorder\"\n    retry_min = \"5m\"\n" \
    "    retry_max = \"10m\"\n    expire = \"1m\"\n}\n"

/* The count of notifier `name`'s deliveries that went to the fallback. */
static uint64_t fallbacks_of(const struct fixture *fx, const char *name)
{
    long n = tocsin_config_find_notifier(fx->conf, name);

    assert_true(n >= 0);
    return tocsin_alerting_stats(fx->a)->fallbacks[n];
}

/* `al`'s reason holds `part`. */
static void expect_reason(const struct tocsin_alert *al, const char *part, const char *what)
{
    if (!al->reason || !strstr(al->reason, part))
        fail_msg("%s: expected a reason with \"%s\", got \"%s\"", what, part,
                 al->reason ? al->reason : "(none)");
}

/* The next message is db's problem to console, the fallback, telling that
 * delivery to `from` failed, with `detail`; once it is delivered nothing
 * more goes out. */
static void expect_fallback_once(struct fixture *fx, const char *from, const char *detail)
{
    const struct tocsin_alert *al;
    char part[64];

    al = expect_one(fx, "console", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
                    "the undelivered problem, to the fallback");
    snprintf(part, sizeof(part), "delivery to %s failed for ", from);
    expect_reason(al, part, "the fallback's reason");
    expect_reason(al, detail, "the fallback's reason");
    assert_string_equal(al->incident, tocsin_alerting_incident(fx->a, svc(fx, "db"))->key);
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 3);
    tick(fx, 900);
    expect_nothing(fx, "one fallback per undelivered notification, no retry after its end");
}

/* Start with one route to brief; db fails at t0. */
static void db_fails_to_brief(struct fixture *fx)
{
    start(fx, BRIEF_NOTIFIER "route \"ops\" {\n    notifiers = { \"brief\" }\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
}

static void alerting_failed_delivery_falls_back_once_and_survives_restart(void **state)
{
    struct fixture *fx = *state;

    db_problem_answered(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n",
                        TOCSIN_FAILED);
    assert_int_equal(fallbacks_of(fx, "email"), 1);
    /* The fallback row was committed with the failure: a restart keeps it. */
    tocsin_alerting_free(fx->a);
    tocsin_store_close(fx->st);
    fx->a = NULL;
    fx->st = NULL;
    open_alerting(fx);
    assert_int_equal(tocsin_alerting_restore(fx->a), 1);
    tick(fx, 2);
    expect_fallback_once(fx, "email", "(receiver unavailable); sent here instead");
}

static void alerting_retry_past_expiry_falls_back(void **state)
{
    struct fixture *fx = *state;

    db_fails_to_brief(fx);
    tick(fx, 1);
    expect_one(fx, "brief", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "problem");
    answer(fx, TOCSIN_RETRY);
    assert_int_equal(fallbacks_of(fx, "brief"), 1);
    tick(fx, 2);
    expect_fallback_once(fx, "brief", "(receiver unavailable)");
}

static void alerting_item_expired_unsent_falls_back(void **state)
{
    struct fixture *fx = *state;

    db_fails_to_brief(fx);
    /* The first tick comes after its expiry (the daemon was stopped). */
    tick(fx, 120);
    expect_nothing(fx, "an expired item is not sent to its notifier");
    assert_int_equal(fallbacks_of(fx, "brief"), 1);
    tick(fx, 121);
    expect_fallback_once(fx, "brief", "expired before another attempt");
}

static void alerting_fallback_failure_does_not_fall_back(void **state)
{
    struct fixture *fx = *state;

    start(fx, "route \"ops\" {\n    notifiers = { \"console\" }\n}\n");
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    expect_one(fx, "console", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, "problem");
    answer(fx, TOCSIN_FAILED);
    tick(fx, 2);
    tick(fx, 900);
    expect_nothing(fx, "the fallback's own failure goes nowhere else");
    assert_int_equal(fallbacks_of(fx, "console"), 0);
}

/* ------------------------------------------------------------------ */
/* Priorities and their targets                                        */
/* ------------------------------------------------------------------ */

/* A service of the production tier, and one the DBAs own. */
#define PRIORITY_SERVICES \
    "service \"shop\" {\n    check = \"fake\"\n    host = \"h1\"\n" \
    "    labels {\n        tier = \"production\"\n    }\n}\n" \
    "service \"ledger\" {\n    check = \"fake\"\n    host = \"h1\"\n" \
    "    labels {\n        team = \"dba\"\n    }\n}\n"

/* The alert about `service` in message `m` has priority `name` of rank
 * `rank`. */
static void expect_priority_in(const struct message *m, const char *service, const char *name,
                               int rank, const char *what)
{
    uint32_t i;

    for (i = 0; i < m->count; i++) {
        const struct tocsin_alert *al = &m->alerts[i];

        if (strcmp(al->service, service) != 0)
            continue;
        if (strcmp(al->priority, name) != 0 || al->priority_rank != rank)
            fail_msg("%s: expected priority \"%s\" (rank %d), got \"%s\" (rank %d)", what,
                     name, rank, al->priority, al->priority_rank);
        return;
    }
    fail_msg("%s: no alert about '%s' in the message", what, service);
}

/* The one alert of the next message, to email, has priority `name` of
 * rank `rank`. */
static void expect_priority(struct fixture *fx, enum tocsin_alert_kind kind, const char *service,
                            enum tocsin_state st, const char *name, int rank, const char *what)
{
    const struct tocsin_alert *al = expect_one(fx, "email", kind, service, st, what);

    if (strcmp(al->priority, name) != 0 || al->priority_rank != rank)
        fail_msg("%s: expected priority \"%s\" (rank %d), got \"%s\" (rank %d)", what, name,
                 rank, al->priority, al->priority_rank);
}

static void alerting_priority_by_default_from_severity_and_tier(void **state)
{
    struct fixture *fx = *state;
    const struct message *m;

    start(fx, PRIORITY_SERVICES "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    assert_int_equal(fx->conf->npriorities, 4);
    hard(fx, "shop", TOCSIN_CRITICAL, 0);
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    hard(fx, "web", TOCSIN_WARNING, 0);
    hard(fx, "ledger", TOCSIN_UNKNOWN, 0);
    tick(fx, 1);
    m = next_msg(fx, "email", 4, "four problems due together, in one message");
    expect_priority_in(m, "db", "P2", 2, "critical outside production");
    expect_priority_in(m, "web", "P3", 3, "warning");
    expect_priority_in(m, "ledger", "P3", 3, "unknown (severity error)");
    expect_priority_in(m, "shop", "P1", 1, "critical in production");
    expect_nothing(fx, "four problems");
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "web", TOCSIN_CRITICAL, 10);
    assert_int_equal(tocsin_alerting_incident(fx->a, svc(fx, "web"))->priority, 1);
    tick(fx, 11);
    expect_priority(fx, TOCSIN_ALERT_PROBLEM, "web", TOCSIN_CRITICAL, "P2", 2,
                    "worse within the incident: priority judged again");
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "web", TOCSIN_OK, 20);
    tick(fx, 21);
    expect_priority(fx, TOCSIN_ALERT_RECOVERY, "web", TOCSIN_OK, "P2", 2,
                    "the recovery keeps the incident's priority");
}

static void alerting_priority_rules_and_service_override(void **state)
{
    struct fixture *fx = *state;
    const struct message *m;

    start(fx, PRIORITY_SERVICES
              "priority \"SEV1\" {\n    respond_within = \"5m\"\n}\n"
              "priority \"SEV2\" {\n}\n"
              "priority \"SEV3\" {\n}\n"
              "priority_rule {\n    labels {\n        team = \"dba\"\n    }\n"
              "    priority = \"SEV1\"\n}\n"
              "priority_rule {\n    severity = { \"warning\" }\n    services = { \"w*\" }\n"
              "    priority = \"SEV2\"\n}\n"
              "service \"batch\" {\n    check = \"fake\"\n    host = \"h1\"\n"
              "    priority = \"SEV3\"\n    labels {\n        team = \"dba\"\n    }\n}\n"
              "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    assert_int_equal(fx->conf->npriorities, 3);
    hard(fx, "ledger", TOCSIN_WARNING, 0);
    hard(fx, "web", TOCSIN_WARNING, 0);
    hard(fx, "batch", TOCSIN_CRITICAL, 0);
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    hard(fx, "shop", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    m = next_msg(fx, "email", 5, "five problems due together, in one message");
    expect_priority_in(m, "web", "SEV2", 2, "the second rule: a warning of w*");
    expect_priority_in(m, "db", "SEV2", 2, "no rule: the default, second priority");
    expect_priority_in(m, "shop", "SEV1", 1, "no rule: the default, first in production");
    expect_priority_in(m, "ledger", "SEV1", 1, "the first rule: team dba");
    expect_priority_in(m, "batch", "SEV3", 3, "the service's own priority wins over the rule");
    expect_nothing(fx, "five problems");
}

/* P2 (the default of a critical problem outside production) must be
 * acknowledged within 30 minutes of its first notification; the route's
 * next escalation step is brought forward when it is not. */
static void alerting_response_target_missed_escalates(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_alert *al;
    const struct tocsin_incident *inc;

    db_problem_delivered(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n"
                             "    escalation {\n        after = \"1h\"\n"
                             "        notifiers = { \"manager\" }\n    }\n}\n");
    inc = tocsin_alerting_incident(fx->a, svc(fx, "db"));
    tick(fx, 1799);
    expect_nothing(fx, "within the response target");
    assert_int_equal(inc->respond_breaches, 0);
    tick(fx, 1800);
    al = expect_one(fx, "manager", TOCSIN_ALERT_ESCALATION, "db", TOCSIN_CRITICAL,
                    "the 1h step brought forward at 30m");
    assert_non_null(strstr(al->reason, "P2 db response target missed"));
    assert_string_equal(al->priority, "P2");
    assert_int_equal(inc->respond_breaches, 1);
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 3600);
    tick(fx, 7200);
    expect_nothing(fx, "the step is not told again at 1h, the target once");
    assert_int_equal(inc->respond_breaches, 1);
}

static void alerting_response_target_met_by_an_acknowledgement(void **state)
{
    struct fixture *fx = *state;

    db_problem_delivered(fx, "route \"ops\" {\n    notifiers = { \"email\" }\n}\n");
    tick(fx, 1000);
    ack(fx, "db");
    tick(fx, 1001);
    expect_one(fx, "email", TOCSIN_ALERT_ACKNOWLEDGED, "db", TOCSIN_CRITICAL, "the ack");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 1800);
    tick(fx, 3600);
    expect_nothing(fx, "acknowledged in time: nothing at 30m");
    assert_int_equal(tocsin_alerting_incident(fx->a, svc(fx, "db"))->respond_breaches, 0);
}

#define SHORT_TARGETS \
    "priority \"P1\" {\n    respond_within = \"1m\"\n    resolve_within = \"5m\"\n}\n" \
    "priority \"P2\" {\n    respond_within = \"1m\"\n    resolve_within = \"5m\"\n}\n" \
    "route \"ops\" {\n    notifiers = { \"email\" }\n}\n"

/* An acknowledged incident still missing its resolution target is told
 * again, saying for how long it is open and who took it, once per target
 * passed; the count survives a restart. */
static void alerting_resolution_target_missed_after_ack_tells_again(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_alert *al;
    const struct tocsin_incident *inc;

    db_problem_delivered(fx, SHORT_TARGETS);
    ack(fx, "db");
    tick(fx, 10);
    expect_one(fx, "email", TOCSIN_ALERT_ACKNOWLEDGED, "db", TOCSIN_CRITICAL, "the ack");
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 299);
    expect_nothing(fx, "within the resolution target");
    tick(fx, 300);
    al = expect_one(fx, "email", TOCSIN_ALERT_REPEAT, "db", TOCSIN_CRITICAL,
                    "the resolution target missed, although acknowledged");
    if (strncmp(al->reason, "P2 db open for 5 min 00 s, acknowledged by alice at ", 52) != 0)
        fail_msg("expected the reason to say how long and who took it, got \"%s\"",
                 al->reason);
    answer(fx, TOCSIN_DELIVERED);
    inc = tocsin_alerting_incident(fx->a, svc(fx, "db"));
    assert_int_equal(inc->resolve_breaches, 1);
    assert_int_equal(inc->respond_breaches, 0);

    restart_alerting(fx);
    inc = tocsin_alerting_incident(fx->a, svc(fx, "db"));
    assert_int_equal(inc->resolve_breaches, 1);
    assert_true(inc->ack_at > 0);
    tick(fx, 599);
    expect_nothing(fx, "the first breach is not told again after a restart");
    tick(fx, 600);
    al = expect_one(fx, "email", TOCSIN_ALERT_REPEAT, "db", TOCSIN_CRITICAL,
                    "the target missed a second time");
    assert_non_null(strstr(al->reason, "open for 10 min 00 s"));
    assert_int_equal(inc->resolve_breaches, 2);
}

/* Unacknowledged, the short targets are both missed: the response one
 * escalates to everyone told (the route has no step), the resolution one
 * says nobody took it. */
static void alerting_both_targets_missed_unacknowledged(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_alert *al;

    db_problem_delivered(fx, SHORT_TARGETS);
    tick(fx, 60);
    al = expect_one(fx, "email", TOCSIN_ALERT_ESCALATION, "db", TOCSIN_CRITICAL,
                    "response target missed, no step: everyone told");
    assert_non_null(strstr(al->reason, "not acknowledged within 1m"));
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 300);
    al = expect_one(fx, "email", TOCSIN_ALERT_REPEAT, "db", TOCSIN_CRITICAL,
                    "resolution target missed");
    assert_string_equal(al->reason, "P2 db open for 5 min 00 s, not acknowledged");
    expect_nothing(fx, "one notification per breach");
    assert_int_equal(tocsin_alerting_stats(fx->a)->respond_breaches, 1);
    assert_int_equal(tocsin_alerting_stats(fx->a)->resolve_breaches, 1);
    answer(fx, TOCSIN_DELIVERED);
    tick(fx, 1000);
    expect_one(fx, "email", TOCSIN_ALERT_REPEAT, "db", TOCSIN_CRITICAL,
               "a tick late by two targets tells once");
    assert_int_equal(tocsin_alerting_incident(fx->a, svc(fx, "db"))->resolve_breaches, 3);
    assert_int_equal(tocsin_alerting_stats(fx->a)->resolve_breaches, 3);
}


/* An acknowledgement may assign the problem: the acknowledgement, and
 * what is told of the incident after it, carry the assignee; a second
 * `ack --assign` assigns it again; the assignee survives a restart and
 * goes with the recovery. */
static void alerting_ack_assigns_the_problem(void **state)
{
    struct fixture *fx = *state;
    const struct tocsin_alert *al;
    const struct tocsin_incident *inc;
    char err[256];

    db_problem_delivered(fx, SHORT_TARGETS);
    assert_int_equal(tocsin_alerting_ack(fx->a, svc(fx, "db"), "alice", "on it", "bob", err,
                                         sizeof(err)), 0);
    tick(fx, 10);
    al = expect_one(fx, "email", TOCSIN_ALERT_ACKNOWLEDGED, "db", TOCSIN_CRITICAL, "the ack");
    assert_string_equal(al->assignee, "bob");
    assert_string_equal(al->reason, "acknowledged by alice, assigned to bob: on it");
    answer(fx, TOCSIN_DELIVERED);
    assert_int_equal(tocsin_alerting_ack(fx->a, svc(fx, "db"), "alice", NULL, NULL, err,
                                         sizeof(err)), -1);
    assert_non_null(strstr(err, "already acknowledged"));
    assert_int_equal(tocsin_alerting_ack(fx->a, svc(fx, "db"), "bob", NULL, "carol", err,
                                         sizeof(err)), 0);
    tick(fx, 11);
    expect_nothing(fx, "assigning again tells no one at once");
    restart_alerting(fx);
    inc = tocsin_alerting_incident(fx->a, svc(fx, "db"));
    assert_non_null(inc->assignee);
    assert_string_equal(inc->assignee, "carol");
    tick(fx, 300);
    al = expect_one(fx, "email", TOCSIN_ALERT_REPEAT, "db", TOCSIN_CRITICAL,
                    "the resolution target missed");
    assert_string_equal(al->assignee, "carol");
    assert_non_null(strstr(al->reason, ", assigned to carol"));
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "db", TOCSIN_OK, 320);
    tick(fx, 321);
    al = expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "the recovery");
    assert_string_equal(al->assignee, "carol");
    assert_null(tocsin_alerting_incident(fx->a, svc(fx, "db"))->assignee);
}

/* ------------------------------------------------------------------ */
/* defer: problems wait for a period to open                           */
/* ------------------------------------------------------------------ */

/*
 * Start with route "ops" to email, deferred to period "business-hours"
 * of zone `zone`, which holds from `open` (a whole minute) to the end of
 * that local day and never before it. Returns t0-relative seconds of
 * `open`.
 */
static time_t start_deferred(struct fixture *fx, const char *zone, time_t open,
                             const char *extra)
{
    char routes[1024], day[16], minute[8];
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    struct tm tm;

    setenv("TZ", zone, 1);
    tzset();
    assert_non_null(localtime_r(&open, &tm));
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    strftime(minute, sizeof(minute), "%H:%M", &tm);
    if (saved) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
    snprintf(routes, sizeof(routes),
             "timeperiod \"business-hours\" {\n    timezone = \"%s\"\n"
             "    dates = { \"%s\" }\n    times = { \"%s-24:00\" }\n}\n"
             "route \"ops\" {\n    notifiers = { \"email\" }\n"
             "    defer = \"business-hours\"\n%s}\n", zone, day, minute, extra);
    start(fx, routes);
    return open - fx->t0;
}

/* The first whole minute at least `ahead` seconds after t0. */
static time_t minute_after(const struct fixture *fx, time_t ahead)
{
    time_t t = fx->t0 + ahead;

    return t - t % 60 + 60;
}

/* Close the alerting stage and the store, then open and restore them as a
 * restart of the daemon would. */
static void restart(struct fixture *fx)
{
    tocsin_alerting_free(fx->a);
    tocsin_store_close(fx->st);
    fx->a = NULL;
    fx->st = NULL;
    open_alerting(fx);
    tocsin_alerting_restore(fx->a);
}

struct history_find {
    const char *kind, *part;
    int found;
};

static int history_find_cb(void *ud, int64_t at_ms, const char *service, const char *kind,
                           const char *text)
{
    struct history_find *hf = ud;

    (void)at_ms;
    (void)service;
    if (strcmp(kind, hf->kind) == 0 && strstr(text, hf->part))
        hf->found = 1;
    return 0;
}

/* The history of db has an event of `kind` whose text holds `part`. */
static void expect_history(struct fixture *fx, const char *kind, const char *part)
{
    struct history_find hf = { kind, part, 0 };

    assert_true(tocsin_history_list(fx->st, "db", 0, history_find_cb, &hf) >= 0);
    if (!hf.found)
        fail_msg("expected a '%s' event of db saying \"%s\", found none", kind, part);
}

static void alerting_defer_holds_problem_until_period_opens(void **state)
{
    struct fixture *fx = *state;
    time_t open = start_deferred(fx, "UTC", minute_after(*state, 600), "");

    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    tick(fx, open - 1);
    expect_nothing(fx, "before the defer period opens");
    expect_history(fx, "deferred", "problem CRITICAL to email deferred until");
    tick(fx, open);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
               "the problem once the period opens");
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "db", TOCSIN_OK, open + 10);
    tick(fx, open + 11);
    expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK,
               "the recovery of a problem told late");
    expect_nothing(fx, "after the recovery");
}

static void alerting_defer_problem_over_before_opening_is_dropped(void **state)
{
    struct fixture *fx = *state;
    time_t open = start_deferred(fx, "UTC", minute_after(*state, 600), "");

    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    hard(fx, "db", TOCSIN_OK, 60);
    tick(fx, 61);
    tick(fx, open);
    tick(fx, open + 60);
    expect_nothing(fx, "neither the deferred problem nor its recovery");
    assert_int_equal(tocsin_outbox_depth(fx->st), 0);
    expect_history(fx, "deferred", "dropped: the incident ended before then");
}

/* With business hours 09:00-17:00 on weekdays in `zone`, db fails at
 * `fri` (UTC, after hours on a Friday): email hears of it at `monday_9`,
 * not a second before. */
static void defer_over_weekend(struct fixture *fx, const char *zone, time_t fri,
                               time_t monday_9, const char *what)
{
    char routes[1024];

    fx->t0 = fri;
    snprintf(routes, sizeof(routes),
             "timeperiod \"business-hours\" {\n    timezone = \"%s\"\n"
             "    weekdays = { \"mon-fri\" }\n    times = { \"09:00-17:00\" }\n}\n"
             "route \"ops\" {\n    notifiers = { \"email\" }\n"
             "    defer = \"business-hours\"\n}\n", zone);
    start(fx, routes);
    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    tick(fx, 86400);
    tick(fx, monday_9 - fx->t0 - 1);
    expect_nothing(fx, "over the weekend");
    tick(fx, monday_9 - fx->t0);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL, what);
}

/* A weekend: Friday 18:00 in New York waits for Monday 09:00. */
static void alerting_defer_across_a_weekend(void **state)
{
    /* 2027-01-08 is a Friday; 18:00 EST is 23:00 UTC. */
    struct tm fri = { .tm_year = 127, .tm_mon = 0, .tm_mday = 8, .tm_hour = 23 };

    defer_over_weekend(*state, "America/New_York", timegm(&fri),
                       timegm(&fri) + 2 * 86400 + 15 * 3600, "Monday 09:00 EST");
}

/* The clocks go forward in Paris on Sunday 2027-03-28: Friday 18:00 CET
 * waits for Monday 09:00 CEST (07:00 UTC), an hour less than a weekend.
 * The host's zone is another one, so the period's own zone decides. */
static void alerting_defer_across_a_dst_change(void **state)
{
    struct tm fri = { .tm_year = 127, .tm_mon = 2, .tm_mday = 26, .tm_hour = 17 };

    setenv("TZ", "America/New_York", 1);
    tzset();
    defer_over_weekend(*state, "Europe/Paris", timegm(&fri),
                       timegm(&fri) + 2 * 86400 + 14 * 3600, "Monday 09:00 CEST");
    unsetenv("TZ");
    tzset();
}

static void alerting_defer_survives_a_restart(void **state)
{
    struct fixture *fx = *state;
    time_t open = start_deferred(fx, "UTC", minute_after(*state, 600), "");

    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    restart(fx);
    tick(fx, 2);
    tick(fx, open - 1);
    expect_nothing(fx, "a restart does not send the deferred problem");
    tick(fx, open);
    expect_one(fx, "email", TOCSIN_ALERT_PROBLEM, "db", TOCSIN_CRITICAL,
               "the problem once the period opens, after the restart");
    answer(fx, TOCSIN_DELIVERED);
    hard(fx, "db", TOCSIN_OK, open + 10);
    tick(fx, open + 11);
    expect_one(fx, "email", TOCSIN_ALERT_RECOVERY, "db", TOCSIN_OK, "its recovery");
    expect_nothing(fx, "after the recovery");
}

/* Restarted while the problem waits, the incident ends: after the
 * restart too, the receiver hears neither the problem nor the recovery. */
static void alerting_defer_dropped_after_a_restart_sends_no_recovery(void **state)
{
    struct fixture *fx = *state;
    time_t open = start_deferred(fx, "UTC", minute_after(*state, 600), "");

    hard(fx, "db", TOCSIN_CRITICAL, 0);
    tick(fx, 1);
    restart(fx);
    hard(fx, "db", TOCSIN_OK, 60);
    tick(fx, 61);
    tick(fx, open);
    tick(fx, open + 60);
    expect_nothing(fx, "neither the problem nor a recovery after the restart");
    assert_int_equal(tocsin_outbox_depth(fx->st), 0);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(alerting_hard_problem_opens_incident_and_goes_to_route_notifiers),
        CASE(alerting_first_matching_route_wins),
        CASE(alerting_continue_adds_later_routes),
        CASE(alerting_recovery_goes_to_those_told_whatever_the_period),
        CASE(alerting_repeat_while_unacknowledged_stops_after_ack),
        CASE(alerting_escalation_after_minutes_unacknowledged),
        CASE(alerting_escalation_stopped_by_ack),
        CASE(alerting_escalation_stopped_by_recovery),
        CASE(alerting_group_wait_gathers_one_route_into_one_message),
        CASE(alerting_ack_waits_for_its_problem_to_reach_the_notifier),
        CASE(alerting_recovery_waits_for_its_problem_retry),
        CASE(alerting_new_problem_waits_for_the_recovery_before_it),
        CASE(alerting_repeat_of_an_ended_incident_is_not_sent),
        CASE(alerting_downtime_holds_problem_until_it_ends),
        CASE(alerting_downtime_problem_over_before_it_ends_is_never_told),
        CASE(alerting_flapping_holds_back_what_receivers_know),
        CASE(alerting_flapping_never_holds_a_worse_state),
        CASE(alerting_flapping_tells_a_new_incident),
        CASE(alerting_flapping_notice_held_in_downtime),
        CASE(alerting_escalation_counts_from_the_first_notification),
        CASE(alerting_send_resolved_false_gets_no_recovery),
        CASE(alerting_failed_parent_holds_child_back),
        CASE(alerting_recovery_before_problem_went_out_sends_nothing),
        CASE(alerting_full_disk_keeps_hard_changes_and_tells_them_in_order),
        CASE(alerting_full_disk_records_the_outcome_later),
        CASE(alerting_full_disk_refuses_an_acknowledgement),
        CASE(alerting_incident_survives_restart),
        CASE(alerting_disabled_notifier_goes_to_fallback),
        CASE(alerting_failed_delivery_falls_back_once_and_survives_restart),
        CASE(alerting_retry_past_expiry_falls_back),
        CASE(alerting_item_expired_unsent_falls_back),
        CASE(alerting_fallback_failure_does_not_fall_back),
        CASE(alerting_resolve_tells_those_told_and_the_next_problem_is_new),
        CASE(alerting_priority_by_default_from_severity_and_tier),
        CASE(alerting_priority_rules_and_service_override),
        CASE(alerting_response_target_missed_escalates),
        CASE(alerting_response_target_met_by_an_acknowledgement),
        CASE(alerting_resolution_target_missed_after_ack_tells_again),
        CASE(alerting_both_targets_missed_unacknowledged),
        CASE(alerting_ack_assigns_the_problem),
        CASE(alerting_defer_holds_problem_until_period_opens),
        CASE(alerting_defer_problem_over_before_opening_is_dropped),
        CASE(alerting_defer_across_a_weekend),
        CASE(alerting_defer_across_a_dst_change),
        CASE(alerting_defer_survives_a_restart),
        CASE(alerting_defer_dropped_after_a_restart_sends_no_recovery),
    };

    tocsin_log_open("test_alerting", 0, TOCSIN_LOG_ERROR);
    return cmocka_run_group_tests_name("alerting", tests, NULL, NULL);
}
