/*
 * test_template.c - message templates (core/lib/template.c): placeholders,
 * grouped alerts, labels, escapes and the setup-time check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tocsin-plugin.h"

static const struct tocsin_label test_labels[] = {
    { "team", "dba" },
    { "component", "db" },
};

/* A critical problem of db on host1 with two labels. */
static struct tocsin_alert sample(void)
{
    struct tocsin_alert a;

    memset(&a, 0, sizeof(a));
    a.service = "db";
    a.host = "host1";
    a.state = TOCSIN_CRITICAL;
    a.previous = TOCSIN_OK;
    a.output = "connection refused";
    a.long_output = "";
    a.perfdata = "";
    a.kind = TOCSIN_ALERT_PROBLEM;
    a.severity = TOCSIN_SEVERITY_CRITICAL;
    a.labels = test_labels;
    a.nlabels = 2;
    a.incident = "host1/db/1700000000";
    a.problem_since = 1700000000;
    a.since = 1700000000;
    a.at = 1700003900;
    return a;
}

static void expect_render(const char *tmpl, const struct tocsin_alert *a,
                          const char *expected)
{
    char *got = tocsin_template_render(tmpl, a);

    if (!got)
        fail_msg("template \"%s\": expected \"%s\", got NULL", tmpl, expected);
    if (strcmp(got, expected) != 0) {
        char copy[1024];

        snprintf(copy, sizeof(copy), "%s", got);
        free(got);
        fail_msg("template \"%s\": expected \"%s\", got \"%s\"", tmpl, expected,
                 copy);
    }
    free(got);
}

static void template_fields(void **state)
{
    struct tocsin_alert a = sample();

    (void)state;
    expect_render("{state} {service} on {host}: {output}", &a,
                  "CRITICAL db on host1: connection refused");
    expect_render("{severity}/{kind}/{previous}", &a, "critical/problem/OK");
    expect_render("{duration}", &a, "1h 5m");
    expect_render("{count}", &a, "1");
}

static void template_status_problem_is_the_state(void **state)
{
    struct tocsin_alert a = sample();

    (void)state;
    expect_render("{status}", &a, "CRITICAL");
    a.kind = TOCSIN_ALERT_REPEAT;
    a.state = TOCSIN_WARNING;
    expect_render("{status}", &a, "WARNING");
}

static void template_status_recovery_and_ack(void **state)
{
    struct tocsin_alert a = sample();

    (void)state;
    a.kind = TOCSIN_ALERT_RECOVERY;
    a.state = TOCSIN_OK;
    expect_render("[{status}] {service}", &a, "[RECOVERED] db");
    a.kind = TOCSIN_ALERT_ACKNOWLEDGED;
    a.state = TOCSIN_CRITICAL;
    expect_render("{status}", &a, "ACKNOWLEDGED");
}

static void template_labels_all_and_one(void **state)
{
    struct tocsin_alert a = sample();

    (void)state;
    expect_render("{labels}", &a, "team=dba, component=db");
    expect_render("{label:component}|{label:missing}|", &a, "db||");
    a.nlabels = 0;
    expect_render("<{labels}>", &a, "<>");
}

static void template_grouped_alerts_listed(void **state)
{
    struct tocsin_alert a = sample(), g[2];

    (void)state;
    g[0] = sample();
    g[0].service = "web";
    g[0].state = TOCSIN_WARNING;
    g[0].output = "slow";
    g[1] = sample();
    g[1].service = "cache";
    g[1].kind = TOCSIN_ALERT_RECOVERY;
    g[1].state = TOCSIN_OK;
    g[1].output = "fine";
    a.grouped = g;
    a.ngrouped = 2;
    expect_render("{count}:\n{alerts}", &a,
                  "3:\nCRITICAL db on host1: connection refused\n"
                  "WARNING web on host1: slow\n"
                  "RECOVERED cache on host1: fine");
}

static void template_braces_and_unknown_kept(void **state)
{
    struct tocsin_alert a = sample();

    (void)state;
    expect_render("{{literal}} {service}", &a, "{literal} db");
    expect_render("{nosuch} {host}", &a, "{nosuch} host1");
}

static void template_check_accepts_every_placeholder(void **state)
{
    char err[128] = "";

    (void)state;
    if (tocsin_template_check("{service}{host}{state}{status}{labels}"
                              "{label:x}{alerts}{count}{duration}{{x}}",
                              err, sizeof(err)) != 0)
        fail_msg("expected the template to be accepted, got \"%s\"", err);
}

static void template_check_names_the_unknown_placeholder(void **state)
{
    char err[128] = "";

    (void)state;
    assert_int_equal(tocsin_template_check("{service} {stat}", err, sizeof(err)), -1);
    if (!strstr(err, "{stat}"))
        fail_msg("expected the error to name {stat}, got \"%s\"", err);
    assert_int_equal(tocsin_template_check("{service", err, sizeof(err)), -1);
    if (!strstr(err, "unclosed"))
        fail_msg("expected \"unclosed\" in the error, got \"%s\"", err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(template_fields),
        cmocka_unit_test(template_status_problem_is_the_state),
        cmocka_unit_test(template_status_recovery_and_ack),
        cmocka_unit_test(template_labels_all_and_one),
        cmocka_unit_test(template_grouped_alerts_listed),
        cmocka_unit_test(template_braces_and_unknown_kept),
        cmocka_unit_test(template_check_accepts_every_placeholder),
        cmocka_unit_test(template_check_names_the_unknown_placeholder),
    };

    return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
