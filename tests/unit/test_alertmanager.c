/*
 * test_alertmanager.c - what the alertmanager notifier posts for each kind
 * of alert and what it remembers (plugins/alertmanager.c, included here
 * for its static functions), without a network: label names, UTF-8, the
 * alerts seen, and the decision table of firing, resolving and skipping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugins/alertmanager.c"

/* An instance with the default templates and no libcurl handle. */
static int instance_setup(void **state)
{
    struct alertmanager *am = calloc(1, sizeof(*am));

    if (!am)
        return -1;
    am->alertname_tmpl = strdup("{service}");
    am->summary_tmpl = strdup("{output}");
    am->description_tmpl = strdup("{long_output}");
    am->ends_after = 3600;
    if (!am->alertname_tmpl || !am->summary_tmpl || !am->description_tmpl)
        return -1;
    *state = am;
    return 0;
}

static int instance_teardown(void **state)
{
    am_teardown(*state);
    return 0;
}

static struct tocsin_alert alert(enum tocsin_alert_kind kind, enum tocsin_state state,
                                 enum tocsin_state previous, int hard)
{
    struct tocsin_alert a;

    memset(&a, 0, sizeof(a));
    a.kind = kind;
    a.state = state;
    a.previous = previous;
    a.hard = hard;
    a.severity = am_state_severity(state);
    a.host = "web1";
    a.service = "db";
    a.output = "out";
    a.long_output = "";
    a.at = 1700000900;
    a.problem_since = 1700000000;
    return a;
}

/* What one alert becomes, as am_notify() would apply it once delivered:
 * "state:firing" or "state:resolved" per posted alert, comma-separated,
 * into out. */
static const char *post(struct alertmanager *am, const struct tocsin_alert *a,
                        char *out, size_t outlen)
{
    struct am_change changes[1];
    size_t nchanges = 0, i, used = 0;
    json_t *array = json_array(), *item;

    assert_non_null(array);
    assert_int_equal(am_add(am, a, array, changes, &nchanges), 0);
    out[0] = '\0';
    json_array_foreach(array, i, item) {
        const char *state = json_string_value(json_object_get(json_object_get(item, "labels"),
                                                              "state"));
        json_t *ends = json_object_get(item, "endsAt");
        int resolved = ends && strcmp(json_string_value(ends), "2023-11-14T22:28:20Z") == 0;

        tocsin_append(out, outlen, &used, "%s%s:%s", i ? "," : "", state,
                      resolved ? "resolved" : "firing");
    }
    for (i = 0; i < nchanges; i++) {
        assert_int_equal(am_seen_set(am, changes[i].key, changes[i].action == AM_FIRE,
                                     changes[i].state, changes[i].severity), 0);
        free(changes[i].key);
    }
    json_decref(array);
    return out;
}

static void expect_post(struct alertmanager *am, const struct tocsin_alert *a,
                        const char *expected, const char *what)
{
    char got[256];

    post(am, a, got, sizeof(got));
    if (strcmp(got, expected) != 0)
        fail_msg("%s: expected \"%s\", got \"%s\"", what, expected, got);
}

/* ------------------------------------------------------------------ */
/* Decisions                                                           */
/* ------------------------------------------------------------------ */

static void results_fire_then_resolve(void **state)
{
    struct alertmanager *am = *state;
    struct tocsin_alert ok = alert(TOCSIN_ALERT_RESULT, TOCSIN_OK, TOCSIN_OK, 1);
    struct tocsin_alert crit = alert(TOCSIN_ALERT_RESULT, TOCSIN_CRITICAL, TOCSIN_OK, 1);

    expect_post(am, &ok, "warning:resolved,critical:resolved,unknown:resolved",
                "the first OK result of an alert not seen: a sweep");
    expect_post(am, &ok, "", "the next OK result");
    expect_post(am, &crit, "critical:firing", "a hard CRITICAL result");
    assert_int_equal(am->nseen, 1);
    assert_true(am->seen[0].firing);
    expect_post(am, &crit, "critical:firing", "the next CRITICAL result re-sends it");
    expect_post(am, &ok, "critical:resolved", "the OK result after it");
    assert_int_equal(am->nseen, 1);
    assert_false(am->seen[0].firing);
    expect_post(am, &ok, "", "a second OK result");
}

static void soft_results(void **state)
{
    struct alertmanager *am = *state;
    struct tocsin_alert soft = alert(TOCSIN_ALERT_RESULT, TOCSIN_WARNING, TOCSIN_OK, 0);
    struct tocsin_alert hard = alert(TOCSIN_ALERT_RESULT, TOCSIN_WARNING, TOCSIN_OK, 1);

    expect_post(am, &soft, "", "a soft WARNING of a service not firing");
    expect_post(am, &hard, "warning:firing", "a hard WARNING");
    expect_post(am, &soft, "warning:firing", "a soft WARNING while firing");
}

static void a_state_change_resolves_the_old_labels(void **state)
{
    struct alertmanager *am = *state;
    struct tocsin_alert warn = alert(TOCSIN_ALERT_RESULT, TOCSIN_WARNING, TOCSIN_OK, 1);
    struct tocsin_alert crit = alert(TOCSIN_ALERT_RESULT, TOCSIN_CRITICAL, TOCSIN_WARNING, 1);
    struct tocsin_alert ok = alert(TOCSIN_ALERT_RESULT, TOCSIN_OK, TOCSIN_CRITICAL, 1);

    expect_post(am, &warn, "warning:firing", "WARNING");
    expect_post(am, &crit, "warning:resolved,critical:firing", "WARNING to CRITICAL");
    expect_post(am, &ok, "critical:resolved", "CRITICAL to OK");
}

static void problem_and_recovery_alerts(void **state)
{
    struct alertmanager *am = *state;
    struct tocsin_alert problem = alert(TOCSIN_ALERT_PROBLEM, TOCSIN_CRITICAL, TOCSIN_OK, 1);
    struct tocsin_alert ack = alert(TOCSIN_ALERT_ACKNOWLEDGED, TOCSIN_CRITICAL, TOCSIN_OK, 1);
    struct tocsin_alert recovery = alert(TOCSIN_ALERT_RECOVERY, TOCSIN_OK, TOCSIN_CRITICAL, 1);

    expect_post(am, &problem, "critical:firing", "a problem");
    expect_post(am, &ack, "critical:firing", "its acknowledgement");
    expect_post(am, &recovery, "critical:resolved", "its recovery");
    assert_false(am->seen[0].firing);
    expect_post(am, &recovery, "", "the same recovery again");
}

static void a_recovery_not_seen_firing_uses_the_previous_state(void **state)
{
    struct alertmanager *am = *state;
    struct tocsin_alert recovery = alert(TOCSIN_ALERT_RECOVERY, TOCSIN_OK, TOCSIN_WARNING, 1);
    struct tocsin_alert from_ok = alert(TOCSIN_ALERT_RECOVERY, TOCSIN_OK, TOCSIN_OK, 1);

    expect_post(am, &recovery, "warning:resolved", "a recovery from WARNING");
    expect_post(am, &from_ok, "", "a recovery from OK");
}

static void the_seen_set_stays_sorted(void **state)
{
    struct alertmanager *am = *state;
    const char *keys[] = { "m", "c", "x", "a", "q", "b" };
    size_t i;
    int found;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_int_equal(am_seen_set(am, keys[i], 1, TOCSIN_WARNING,
                                     TOCSIN_SEVERITY_WARNING), 0);
    assert_int_equal(am_seen_set(am, "c", 1, TOCSIN_CRITICAL, TOCSIN_SEVERITY_CRITICAL), 0);
    assert_int_equal(am_seen_set(am, "x", 0, TOCSIN_OK, TOCSIN_SEVERITY_INFO), 0);
    assert_int_equal(am->nseen, 6);
    for (i = 1; i < am->nseen; i++)
        if (strcmp(am->seen[i - 1].key, am->seen[i].key) >= 0)
            fail_msg("expected the keys in order; %s before %s", am->seen[i - 1].key,
                     am->seen[i].key);
    i = am_seen_find(am, "c", &found);
    assert_true(found);
    assert_int_equal(am->seen[i].state, TOCSIN_CRITICAL);
    i = am_seen_find(am, "x", &found);
    assert_true(found);
    assert_false(am->seen[i].firing);
    assert_int_equal(am->seen[i].state, TOCSIN_WARNING);   /* as it last fired */
    am_seen_find(am, "nothing", &found);
    assert_false(found);
}

/* ------------------------------------------------------------------ */
/* The alert's content                                                 */
/* ------------------------------------------------------------------ */

static void alert_content(void **state)
{
    struct alertmanager *am = *state;
    struct tocsin_label labels[] = {
        { "team", "dba" }, { "rack-id", "r7" }, { "9lives", "x" }, { "severity", "low" },
    };
    struct tocsin_alert a = alert(TOCSIN_ALERT_PROBLEM, TOCSIN_UNKNOWN, TOCSIN_OK, 1);
    char *text;
    json_t *j;

    a.labels = labels;
    a.nlabels = sizeof(labels) / sizeof(labels[0]);
    a.output = "caf\xc3\xa9 \xff";
    a.long_output = "detail";
    a.link = "https://tocsin.example.org/db";
    a.reason = "escalation after 30m";
    j = am_alert(am, &a, "db", a.state, a.severity, a.problem_since, 1700003600);
    assert_non_null(j);
    text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text,
        "{\"annotations\":{\"description\":\"detail\",\"reason\":\"escalation after 30m\","
        "\"summary\":\"caf\xc3\xa9 ?\"},\"endsAt\":\"2023-11-14T23:13:20Z\","
        "\"generatorURL\":\"https://tocsin.example.org/db\","
        "\"labels\":{\"_9lives\":\"x\",\"alertname\":\"db\",\"instance\":\"web1\","
        "\"rack_id\":\"r7\",\"service\":\"db\",\"severity\":\"error\",\"state\":\"unknown\","
        "\"team\":\"dba\"},\"startsAt\":\"2023-11-14T22:13:20Z\"}");
    free(text);
    json_decref(j);
}

static void links_that_are_not_urls_are_left_out(void **state)
{
    (void)state;
    assert_true(am_valid_link("http://x.example/a?b=c"));
    assert_false(am_valid_link(""));
    assert_false(am_valid_link("not a link"));
    assert_false(am_valid_link("/relative/path"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(results_fire_then_resolve, instance_setup,
                                        instance_teardown),
        cmocka_unit_test_setup_teardown(soft_results, instance_setup, instance_teardown),
        cmocka_unit_test_setup_teardown(a_state_change_resolves_the_old_labels,
                                        instance_setup, instance_teardown),
        cmocka_unit_test_setup_teardown(problem_and_recovery_alerts, instance_setup,
                                        instance_teardown),
        cmocka_unit_test_setup_teardown(a_recovery_not_seen_firing_uses_the_previous_state,
                                        instance_setup, instance_teardown),
        cmocka_unit_test_setup_teardown(the_seen_set_stays_sorted, instance_setup,
                                        instance_teardown),
        cmocka_unit_test_setup_teardown(alert_content, instance_setup, instance_teardown),
        cmocka_unit_test(links_that_are_not_urls_are_left_out),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
