/*
 * test_incidents.c - the query of /api/v1/incidents, /api/v1/history and
 * `tocsinctl incidents` (core/serve/incidents.c): each parameter parsed,
 * and each bad one refused with the message the client reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "serve/incidents.h"

#define NOW_MS 1796688000000LL           /* 2026-12-08T00:00:00Z */

static struct tocsin_incident_query q;
static struct tocsin_buf err = TOCSIN_BUF_INIT;

static int setup(void **state)
{
    (void)state;
    memset(&q, 0, sizeof(q));
    tocsin_buf_reset(&err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tocsin_incident_query_free(&q);
    tocsin_buf_free(&err);
    return 0;
}

/* Expect the parse that returned `rc` to have failed with `msg`. */
static void expect_refused(int rc, const char *what, const char *msg)
{
    if (rc != -1)
        fail_msg("%s: expected a refusal \"%s\", got %d", what, msg, rc);
    if (strcmp(tocsin_buf_str(&err), msg) != 0)
        fail_msg("%s: expected \"%s\", got \"%s\"", what, msg, tocsin_buf_str(&err));
    tocsin_buf_reset(&err);
}

static void state_words(void **state)
{
    (void)state;
    assert_int_equal(tocsin_incident_query_state(&q, "closed", &err), 0);
    assert_int_equal(q.which, TOCSIN_INCIDENTS_CLOSED);
    assert_int_equal(tocsin_incident_query_state(&q, "all", &err), 0);
    assert_int_equal(q.which, TOCSIN_INCIDENTS_ALL);
    assert_int_equal(tocsin_incident_query_state(&q, "open", &err), 0);
    assert_int_equal(q.which, TOCSIN_INCIDENTS_OPEN);
    assert_int_equal(q.which_set, 1);
    expect_refused(tocsin_incident_query_state(&q, "critical", &err), "state=critical",
                   "state \"critical\" is not one of open, closed, all");
}

static void services_repeat_and_split_on_commas(void **state)
{
    (void)state;
    assert_int_equal(tocsin_incident_query_service(&q, "web", &err), 0);
    assert_int_equal(tocsin_incident_query_service(&q, "db,disk", &err), 0);
    assert_int_equal(q.nservices, 3);
    assert_string_equal(q.services[0], "web");
    assert_string_equal(q.services[1], "db");
    assert_string_equal(q.services[2], "disk");
    expect_refused(tocsin_incident_query_service(&q, "", &err), "service=",
                   "service is empty; give a service name");
    expect_refused(tocsin_incident_query_service(&q, "a,,b", &err), "service=a,,b",
                   "service \"a,,b\" has an empty name in its list");
    expect_refused(tocsin_incident_query_service(&q, "a,", &err), "service=a,",
                   "service \"a,\" has an empty name in its list");
}

static void labels_need_key_and_value(void **state)
{
    (void)state;
    assert_int_equal(tocsin_incident_query_label(&q, "team=web", &err), 0);
    assert_int_equal(tocsin_incident_query_label(&q, "tier=", &err), 0);
    assert_int_equal(q.labels.nlabels, 2);
    assert_string_equal(q.labels.labels[0], "team=web");
    expect_refused(tocsin_incident_query_label(&q, "team", &err), "label=team",
                   "label \"team\" is not KEY=VALUE");
    expect_refused(tocsin_incident_query_label(&q, "=web", &err), "label==web",
                   "label \"=web\" is not KEY=VALUE");
}

static void since_takes_a_duration_or_rfc3339(void **state)
{
    static const struct {
        const char *text;
        int64_t ms;
    } ok[] = {
        {"2h", NOW_MS - 7200000},
        {"30m", NOW_MS - 1800000},
        {"2026-12-01T08:00:00Z", 1796112000000LL},
        {"2026-12-01t08:00:00z", 1796112000000LL},
        {"2026-12-01T09:30:00+01:30", 1796112000000LL},
        {"2026-12-01T06:00:00-02:00", 1796112000000LL},
        {"2026-12-01T08:00:00.25Z", 1796112000250LL},
        {"30000d", 0},
    };
    static const char *const bad[] = {
        "yesterday", "", "2026-12-01", "2026-12-01T08:00:00", "2026-02-30T08:00:00Z",
        "2026-13-01T08:00:00Z", "2026-12-01T08:00:00+0100", "2026-12-01T08:00:00.Z",
        "2026-12-01T08:00:00Zjunk",
    };
    char msg[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        q.since_ms = -1;
        if (tocsin_incident_query_since(&q, ok[i].text, NOW_MS, &err) != 0)
            fail_msg("since=%s refused: %s", ok[i].text, tocsin_buf_str(&err));
        if (q.since_ms != ok[i].ms)
            fail_msg("since=%s: expected %lld ms, got %lld", ok[i].text,
                     (long long)ok[i].ms, (long long)q.since_ms);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(msg, sizeof(msg), "since \"%s\" is neither a duration (30m, 2h, 7d) nor an "
                 "RFC 3339 time (2026-12-01T08:00:00Z)", bad[i]);
        expect_refused(tocsin_incident_query_since(&q, bad[i], NOW_MS, &err), bad[i], msg);
    }
}

static void limit_is_bounded(void **state)
{
    static const char *const bad[] = {"0", "10001", "-1", "12x", "", " 5", "1e3"};
    char msg[128];
    size_t i;

    (void)state;
    assert_int_equal(tocsin_incident_query_limit(&q, "1", &err), 0);
    assert_int_equal(q.limit, 1);
    assert_int_equal(tocsin_incident_query_limit(&q, "10000", &err), 0);
    assert_int_equal(q.limit, 10000);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(msg, sizeof(msg), "limit \"%s\" is not a whole number from 1 to 10000",
                 bad[i]);
        expect_refused(tocsin_incident_query_limit(&q, bad[i], &err), bad[i], msg);
    }
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(state_words),
        CASE(services_repeat_and_split_on_commas),
        CASE(labels_need_key_and_value),
        CASE(since_takes_a_duration_or_rfc3339),
        CASE(limit_is_bounded),
    };

    return cmocka_run_group_tests_name("incidents", tests, NULL, NULL);
}
