/*
 * test_route.c - choosing notifiers for an alert (core/alerting/route.c).
 *
 * The configuration is built by hand: three services with labels, five
 * notifiers (one disabled), and for each case the routes it needs. The
 * one time period, "business-hours" in Europe/Berlin, is compiled from
 * configuration text with the timeperiod API. Every case runs with TZ=UTC,
 * so that a period evaluated in the host's zone instead of its own would
 * show. The last case reads a configuration file, for the severities a
 * service gets when it says nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/registry.h"
#include "alerting/route.h"
#include "config/timeperiod.h"

/* ------------------------------------------------------------------ */
/* The configuration under test                                        */
/* ------------------------------------------------------------------ */

enum { DB_MAIN, WEB_FRONT, CACHE_EU, NSERVICES };
enum { EMAIL, SLACK, SMS, PAGERDUTY, CONSOLE, NNOTIFIERS };

#define MAX_ROUTES 8
#define MAX_LIST 8

static char *notifier_names[NNOTIFIERS] = {
    "email", "slack", "sms", "pagerduty", "console"
};

static struct tocsin_label db_labels[] = {
    { "component", "database" }, { "team", "dba" }
};
static struct tocsin_label web_labels[] = {
    { "component", "web" }, { "team", "web" }
};

static struct tocsin_config conf;
static struct tocsin_service_conf services[NSERVICES];
static struct tocsin_notifier_conf notifiers[NNOTIFIERS];
static struct tocsin_route_conf routes[MAX_ROUTES];
static uint32_t route_during[MAX_ROUTES][MAX_LIST];
static uint32_t route_outside[MAX_ROUTES][MAX_LIST];
static struct tocsin_timeperiod periods[1];
static struct tocsin_route_choice choice;

/* The map a service gets from configuration when it sets none. */
static void default_severities(struct tocsin_service_conf *s)
{
    s->severity[TOCSIN_OK] = TOCSIN_SEVERITY_INFO;
    s->severity[TOCSIN_WARNING] = TOCSIN_SEVERITY_WARNING;
    s->severity[TOCSIN_CRITICAL] = TOCSIN_SEVERITY_CRITICAL;
    s->severity[TOCSIN_UNKNOWN] = TOCSIN_SEVERITY_ERROR;
}

static void add_service(int i, char *name, struct tocsin_label *labels, size_t nlabels)
{
    struct tocsin_service_conf *s = &services[i];

    memset(s, 0, sizeof(*s));
    s->inst.name = name;
    s->labels = labels;
    s->nlabels = nlabels;
    s->downtime_period_index = -1;
    default_severities(s);
}

/* Compile "business-hours" (Europe/Berlin, Monday to Friday, 09:00 to
 * 17:00) into periods[0] and link it. */
static void compile_business_hours(void)
{
    static const char text[] =
        "timeperiod \"business-hours\" {\n"
        "    timezone = \"Europe/Berlin\"\n"
        "    weekdays = { \"mon-fri\" }\n"
        "    times = { \"09:00-17:00\" }\n"
        "}\n";
    cfg_opt_t opts[] = {
        CFG_SEC("timeperiod", tocsin_timeperiod_opts, CFGF_TITLE | CFGF_MULTI),
        CFG_END()
    };
    struct tocsin_buf errors = TOCSIN_BUF_INIT;
    cfg_t *cfg = cfg_init(opts, CFGF_NONE);

    assert_non_null(cfg);
    if (cfg_parse_buf(cfg, text) != CFG_SUCCESS)
        fail_msg("the business-hours period text was refused by libconfuse");
    if (tocsin_timeperiod_compile(cfg_getnsec(cfg, "timeperiod", 0), "test.conf", 1,
                                  &periods[0], &errors) < 0 ||
        tocsin_timeperiods_link(periods, 1, &errors) < 0)
        fail_msg("compiling business-hours: expected success, got \"%s\"",
                 tocsin_buf_str(&errors));
    tocsin_buf_free(&errors);
    cfg_free(cfg);
}

static int setup(void **state)
{
    int i;

    (void)state;
    if (setenv("TZ", "UTC", 1) < 0)
        return -1;
    tzset();
    memset(&conf, 0, sizeof(conf));
    memset(routes, 0, sizeof(routes));
    memset(&choice, 0, sizeof(choice));
    add_service(DB_MAIN, "db-main", db_labels, 2);
    add_service(WEB_FRONT, "web-front", web_labels, 2);
    add_service(CACHE_EU, "cache-eu", NULL, 0);
    for (i = 0; i < NNOTIFIERS; i++) {
        memset(&notifiers[i], 0, sizeof(notifiers[i]));
        notifiers[i].inst.name = notifier_names[i];
        notifiers[i].enabled = i != PAGERDUTY;
    }
    compile_business_hours();
    conf.services = services;
    conf.nservices = NSERVICES;
    conf.notifiers = notifiers;
    conf.nnotifiers = NNOTIFIERS;
    conf.routes = routes;
    conf.periods = periods;
    conf.nperiods = 1;
    conf.fallback_notifier = CONSOLE;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tocsin_route_choice_free(&choice);
    tocsin_timeperiod_free(&periods[0]);
    return 0;
}

/* Index of notifier `name`; fails the test for an unknown one. */
static uint32_t notifier_index(const char *name, size_t len)
{
    uint32_t i;

    for (i = 0; i < NNOTIFIERS; i++)
        if (strlen(notifier_names[i]) == len && strncmp(notifier_names[i], name, len) == 0)
            return i;
    fail_msg("the test names an unknown notifier \"%.*s\"", (int)len, name);
    return 0;
}

/* Fill `out` from a comma-separated list of notifier names ("" for none);
 * returns how many. */
static size_t parse_list(const char *names, uint32_t *out)
{
    size_t n = 0;

    while (*names) {
        size_t len = strcspn(names, ",");

        assert_true(n < MAX_LIST);
        out[n++] = notifier_index(names, len);
        names += len;
        if (*names == ',')
            names++;
    }
    return n;
}

/* Append a route that sends to `during` (inside its period, or always
 * without one) and `outside`; it matches everything until the caller
 * narrows it. */
static struct tocsin_route_conf *add_route(char *name, const char *during,
                                           const char *outside)
{
    size_t i = conf.nroutes;
    struct tocsin_route_conf *r = &routes[i];

    assert_true(i < MAX_ROUTES);
    memset(r, 0, sizeof(*r));
    r->name = name;
    r->period_index = -1;
    r->during = route_during[i];
    r->nduring = parse_list(during, route_during[i]);
    r->outside = route_outside[i];
    r->noutside = parse_list(outside, route_outside[i]);
    conf.nroutes++;
    return r;
}

/* Put route `r` under business-hours. */
static void use_business_hours(struct tocsin_route_conf *r)
{
    r->period = "business-hours";
    r->period_index = 0;
}

/* The instant of a wall clock with its zone ("2026-03-04 10:00 Europe/Berlin"). */
static time_t instant(const char *local)
{
    char err[256];
    time_t t = 0;

    if (tocsin_local_time_parse(local, NULL, &t, err, sizeof(err)) < 0)
        fail_msg("local time \"%s\" refused: %s", local, err);
    return t;
}

/* "email,slack" for the current choice, with each notifier's route when
 * `with_routes` ("email@0,slack@1"). */
static void describe(char *buf, size_t len, int with_routes)
{
    size_t i, used = 0;

    buf[0] = '\0';
    for (i = 0; i < choice.count; i++) {
        const char *name = choice.notifiers[i] < NNOTIFIERS
                           ? notifier_names[choice.notifiers[i]] : "?";

        if (with_routes)
            tocsin_append(buf, len, &used, "%s%s@%u", i ? "," : "", name,
                          (unsigned)choice.route_of[i]);
        else
            tocsin_append(buf, len, &used, "%s%s", i ? "," : "", name);
    }
}

/*
 * Route an alert of `severity` about service `svc` at `t` and compare
 * the first route and the chosen notifiers ("email,slack", in order; with
 * "@N" after each name, the route that chose it is compared too).
 */
static void expect_choice(int svc, enum tocsin_severity severity, time_t t,
                          long first_route, const char *expected, const char *what)
{
    char got[256];

    tocsin_route_choice_free(&choice);
    if (tocsin_route_select(&conf, (uint32_t)svc, severity, t, &choice) != 0)
        fail_msg("%s: tocsin_route_select failed", what);
    describe(got, sizeof(got), strchr(expected, '@') != NULL);
    if (choice.first_route != first_route || strcmp(got, expected) != 0)
        fail_msg("%s: expected first route %ld and notifiers \"%s\", got first route "
                 "%ld and notifiers \"%s\"", what, first_route, expected,
                 choice.first_route, got);
}

/* A weekday in business hours, and times outside them. */
#define WEDNESDAY_10_BERLIN "2026-03-04 10:00 Europe/Berlin"
#define WEDNESDAY_20_BERLIN "2026-03-04 20:00 Europe/Berlin"
#define SATURDAY_10_BERLIN "2026-03-07 10:00 Europe/Berlin"

/* ------------------------------------------------------------------ */
/* Matching and order                                                  */
/* ------------------------------------------------------------------ */

static void route_first_match_wins(void **state)
{
    struct tocsin_route_conf *dba;
    static struct tocsin_label database[] = { { "component", "database" } };

    (void)state;
    dba = add_route("dba", "email", "");
    dba->match = database;
    dba->nmatch = 1;
    add_route("everything", "slack", "");
    add_route("never-reached", "sms", "");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, 0, 0, "email@0",
                  "db-main matches the first route");
    expect_choice(WEB_FRONT, TOCSIN_SEVERITY_CRITICAL, 0, 1, "slack@1",
                  "web-front skips the dba route and stops at the next");
}

static void route_continue_unions_in_order(void **state)
{
    (void)state;
    add_route("a", "email,slack", "")->cont = 1;
    add_route("b", "slack,sms,email", "")->cont = 1;
    add_route("c", "pagerduty,sms", "");
    add_route("after-stop", "console", "");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_ERROR, 0, 0,
                  "email@0,slack@0,sms@1,pagerduty@2",
                  "continue unions the routes until one does not continue");
}

static void route_continue_skips_routes_that_do_not_match(void **state)
{
    static struct tocsin_label web[] = { { "component", "web" } };
    struct tocsin_route_conf *r;

    (void)state;
    add_route("all", "console", "")->cont = 1;
    r = add_route("web-only", "sms", "");
    r->match = web;
    r->nmatch = 1;
    add_route("rest", "email", "");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_WARNING, 0, 0, "console@0,email@2",
                  "a continuing route, a mismatch, then the last route");
    expect_choice(WEB_FRONT, TOCSIN_SEVERITY_WARNING, 0, 0, "console@0,sms@1",
                  "a continuing route, then a match that stops");
}

static void route_a_notifier_named_twice_is_chosen_once(void **state)
{
    (void)state;
    add_route("twice", "sms,email,sms", "");
    expect_choice(CACHE_EU, TOCSIN_SEVERITY_INFO, 0, 0, "sms,email",
                  "a route naming sms twice");
}

static void route_label_mismatch(void **state)
{
    static struct tocsin_label dba_database[] = {
        { "component", "database" }, { "team", "dba" }
    };
    static struct tocsin_label web_database[] = {
        { "component", "database" }, { "team", "web" }
    };
    struct tocsin_route_conf *r;

    (void)state;
    r = add_route("wrong-team", "sms", "");
    r->match = web_database;
    r->nmatch = 2;
    r->cont = 1;
    r = add_route("dba", "email", "");
    r->match = dba_database;
    r->nmatch = 2;
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, 0, 1, "email@1",
                  "every label of a route must be equal");
    expect_choice(WEB_FRONT, TOCSIN_SEVERITY_CRITICAL, 0, -1, "",
                  "a label with another value");
    expect_choice(CACHE_EU, TOCSIN_SEVERITY_CRITICAL, 0, -1, "",
                  "a service without the label");
}

static void route_label_values_are_exact(void **state)
{
    static struct tocsin_label prefix[] = { { "component", "data" } };
    static struct tocsin_label upper[] = { { "component", "Database" } };
    struct tocsin_route_conf *r;

    (void)state;
    r = add_route("prefix", "sms", "");
    r->match = prefix;
    r->nmatch = 1;
    r = add_route("upper", "pagerduty", "");
    r->match = upper;
    r->nmatch = 1;
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, 0, -1, "",
                  "\"data\" and \"Database\" do not equal \"database\"");
}

static void route_service_glob(void **state)
{
    static char *globs[] = { "web-*", "cache-??" };
    struct tocsin_route_conf *r;

    (void)state;
    r = add_route("front", "slack", "");
    r->services = globs;
    r->nservices = 2;
    expect_choice(WEB_FRONT, TOCSIN_SEVERITY_WARNING, 0, 0, "slack",
                  "web-front against web-*");
    expect_choice(CACHE_EU, TOCSIN_SEVERITY_WARNING, 0, 0, "slack",
                  "cache-eu against cache-??");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_WARNING, 0, -1, "",
                  "db-main against neither pattern");
    assert_int_equal(tocsin_route_matches(r, &services[WEB_FRONT], TOCSIN_SEVERITY_INFO), 1);
    assert_int_equal(tocsin_route_matches(r, &services[DB_MAIN], TOCSIN_SEVERITY_INFO), 0);
}

static void route_service_glob_and_labels_both_needed(void **state)
{
    static char *globs[] = { "db-*" };
    static struct tocsin_label web[] = { { "team", "web" } };
    struct tocsin_route_conf *r;

    (void)state;
    r = add_route("both", "sms", "");
    r->services = globs;
    r->nservices = 1;
    r->match = web;
    r->nmatch = 1;
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, 0, -1, "",
                  "db-main fits the name but not the label");
    expect_choice(WEB_FRONT, TOCSIN_SEVERITY_CRITICAL, 0, -1, "",
                  "web-front fits the label but not the name");
}

static void route_severity_filter(void **state)
{
    struct tocsin_route_conf *r;

    (void)state;
    r = add_route("urgent", "sms,pagerduty", "");
    r->severities = 1u << TOCSIN_SEVERITY_CRITICAL | 1u << TOCSIN_SEVERITY_WARNING;
    add_route("rest", "email", "");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, 0, 0, "sms,pagerduty",
                  "critical is among the route's severities");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_WARNING, 0, 0, "sms,pagerduty",
                  "warning is among the route's severities");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_ERROR, 0, 1, "email",
                  "error is not");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_INFO, 0, 1, "email", "info is not");
}

static void route_without_severities_takes_every_severity(void **state)
{
    int sev;

    (void)state;
    add_route("any", "email", "");
    for (sev = TOCSIN_SEVERITY_INFO; sev <= TOCSIN_SEVERITY_CRITICAL; sev++)
        expect_choice(CACHE_EU, (enum tocsin_severity)sev, 0, 0, "email",
                      tocsin_severity_name(sev));
}

static void route_no_match(void **state)
{
    static char *globs[] = { "nothing-*" };

    (void)state;
    add_route("none", "email", "")->services = globs;
    routes[0].nservices = 1;
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, 0, -1, "",
                  "no route matches");
    conf.nroutes = 0;
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, 0, -1, "", "no routes at all");
}

/* Routing is configuration: a disabled notifier is still chosen, and
 * alerting hands what it would have sent to the fallback notifier. */
static void route_disabled_notifier_is_still_chosen(void **state)
{
    (void)state;
    add_route("page", "pagerduty,email", "");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, 0, 0, "pagerduty,email",
                  "pagerduty is disabled");
}

static void route_without_notifiers(void **state)
{
    (void)state;
    conf.nnotifiers = 0;
    add_route("empty", "", "");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, 0, 0, "",
                  "a route with no notifiers in a configuration without any");
}

/* ------------------------------------------------------------------ */
/* Time periods                                                        */
/* ------------------------------------------------------------------ */

static void route_period_inside_and_outside(void **state)
{
    struct tocsin_route_conf *r;

    (void)state;
    r = add_route("office", "email,slack,sms", "email");
    use_business_hours(r);
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_ERROR, instant(WEDNESDAY_10_BERLIN), 0,
                  "email,slack,sms", "Wednesday 10:00 in Berlin");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_ERROR, instant(WEDNESDAY_20_BERLIN), 0,
                  "email", "Wednesday 20:00 in Berlin");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_ERROR, instant(SATURDAY_10_BERLIN), 0,
                  "email", "Saturday 10:00 in Berlin");
    assert_int_equal(tocsin_route_inside(&conf, r, instant(WEDNESDAY_10_BERLIN)), 1);
    assert_int_equal(tocsin_route_inside(&conf, r, instant(SATURDAY_10_BERLIN)), 0);
}

/* The period is judged in Berlin time, not in the process's zone (UTC). */
static void route_period_uses_its_own_zone(void **state)
{
    struct tocsin_route_conf *r;

    (void)state;
    r = add_route("office", "slack", "sms");
    use_business_hours(r);
    expect_choice(WEB_FRONT, TOCSIN_SEVERITY_WARNING, instant("2026-03-04 08:30 UTC"), 0,
                  "slack", "08:30 UTC is 09:30 in Berlin (inside)");
    expect_choice(WEB_FRONT, TOCSIN_SEVERITY_WARNING, instant("2026-03-04 16:30 UTC"), 0,
                  "sms", "16:30 UTC is 17:30 in Berlin (outside)");
    expect_choice(WEB_FRONT, TOCSIN_SEVERITY_WARNING, instant("2026-03-04 08:59 Europe/Berlin"),
                  0, "sms", "a minute before the period begins");
    expect_choice(WEB_FRONT, TOCSIN_SEVERITY_WARNING, instant("2026-03-04 16:59 Europe/Berlin"),
                  0, "slack", "the last minute of the period");
    expect_choice(WEB_FRONT, TOCSIN_SEVERITY_WARNING, instant("2026-03-04 17:00 Europe/Berlin"),
                  0, "sms", "the period ends at 17:00");
}

/* A route with nothing for outside its period still takes the alert:
 * outside the period nobody is told, and later routes are not tried. */
static void route_without_outside_notifiers(void **state)
{
    struct tocsin_route_conf *r;

    (void)state;
    r = add_route("office-only", "email", "");
    use_business_hours(r);
    add_route("later", "slack", "");
    expect_choice(CACHE_EU, TOCSIN_SEVERITY_INFO, instant(WEDNESDAY_10_BERLIN), 0, "email",
                  "inside the period");
    expect_choice(CACHE_EU, TOCSIN_SEVERITY_INFO, instant(WEDNESDAY_20_BERLIN), 0, "",
                  "outside the period");
}

static void route_continue_across_periods(void **state)
{
    struct tocsin_route_conf *r;

    (void)state;
    r = add_route("office", "email,slack", "sms");
    use_business_hours(r);
    r->cont = 1;
    add_route("always", "sms,console", "");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, instant(WEDNESDAY_10_BERLIN), 0,
                  "email@0,slack@0,sms@1,console@1", "inside the first route's period");
    expect_choice(DB_MAIN, TOCSIN_SEVERITY_CRITICAL, instant(SATURDAY_10_BERLIN), 0,
                  "sms@0,console@1", "outside it");
}

/* ------------------------------------------------------------------ */
/* Severities                                                          */
/* ------------------------------------------------------------------ */

static void expect_severity(const struct tocsin_service_conf *s, int st,
                            enum tocsin_severity expected)
{
    enum tocsin_severity got = tocsin_route_severity(s, (enum tocsin_state)st);

    if (got != expected)
        fail_msg("service %s, state %d: expected severity %s, got %s", s->inst.name, st,
                 tocsin_severity_name(expected), tocsin_severity_name(got));
}

static void route_severity_map(void **state)
{
    struct tocsin_service_conf *s = &services[DB_MAIN];

    (void)state;
    expect_severity(s, TOCSIN_OK, TOCSIN_SEVERITY_INFO);
    expect_severity(s, TOCSIN_WARNING, TOCSIN_SEVERITY_WARNING);
    expect_severity(s, TOCSIN_CRITICAL, TOCSIN_SEVERITY_CRITICAL);
    expect_severity(s, TOCSIN_UNKNOWN, TOCSIN_SEVERITY_ERROR);
    s->severity[TOCSIN_CRITICAL] = TOCSIN_SEVERITY_ERROR;
    s->severity[TOCSIN_UNKNOWN] = TOCSIN_SEVERITY_INFO;
    expect_severity(s, TOCSIN_CRITICAL, TOCSIN_SEVERITY_ERROR);
    expect_severity(s, TOCSIN_UNKNOWN, TOCSIN_SEVERITY_INFO);
    expect_severity(s, TOCSIN_WARNING, TOCSIN_SEVERITY_WARNING);
    /* A state out of range is taken as UNKNOWN. */
    expect_severity(s, 4, TOCSIN_SEVERITY_INFO);
    expect_severity(s, -1, TOCSIN_SEVERITY_INFO);
}

/* An overridden map changes which route an alert takes. */
static void route_severity_override_changes_the_route(void **state)
{
    struct tocsin_route_conf *r;
    enum tocsin_severity sev;

    (void)state;
    r = add_route("critical", "pagerduty", "");
    r->severities = 1u << TOCSIN_SEVERITY_CRITICAL;
    add_route("rest", "email", "");
    services[WEB_FRONT].severity[TOCSIN_CRITICAL] = TOCSIN_SEVERITY_ERROR;
    sev = tocsin_route_severity(&services[DB_MAIN], TOCSIN_CRITICAL);
    expect_choice(DB_MAIN, sev, 0, 0, "pagerduty", "db-main CRITICAL (default map)");
    sev = tocsin_route_severity(&services[WEB_FRONT], TOCSIN_CRITICAL);
    expect_choice(WEB_FRONT, sev, 0, 1, "email", "web-front CRITICAL mapped to error");
}

/* A check plugin with no options, so that a configuration can name it. */
static cfg_opt_t fake_opts[] = { CFG_END() };
static const struct tocsin_plugin fake_check = {
    .abi = TOCSIN_PLUGIN_ABI,
    .size = sizeof(struct tocsin_plugin),
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "fake",
    .version = "1",
    .summary = "a check for configuration tests",
    .options = fake_opts,
};

/* The severities configuration gives a service that sets none, and those
 * of one that overrides two. */
static void route_severity_defaults_from_configuration(void **state)
{
    static const char text[] =
        "include_dir = \"conf.d\"\n"
        "service \"plain\" {\n"
        "    check = \"fake\"\n"
        "}\n"
        "service \"mapped\" {\n"
        "    check = \"fake\"\n"
        "    severity {\n"
        "        critical = \"error\"\n"
        "        warning = \"info\"\n"
        "    }\n"
        "}\n";
    struct tocsin_plugin_entry entry = {
        .name = "fake", .path = "fake.la", .handle = NULL, .desc = &fake_check,
    };
    struct tocsin_registry reg = { &entry, 1 };
    struct tocsin_buf errors = TOCSIN_BUF_INIT;
    struct tocsin_config *loaded;
    char dir[] = "/tmp/tocsin-route-XXXXXX", path[256], confd[256];
    const struct tocsin_service_conf *plain, *mapped;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/tocsin.conf", dir);
    snprintf(confd, sizeof(confd), "%s/conf.d", dir);
    assert_int_equal(mkdir(confd, 0700), 0);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    loaded = tocsin_config_load(path, &reg, &errors);
    unlink(path);
    rmdir(confd);
    rmdir(dir);
    if (!loaded)
        fail_msg("expected the configuration to load, got \"%s\"", tocsin_buf_str(&errors));
    tocsin_buf_free(&errors);
    assert_int_equal(loaded->nservices, 2);
    plain = &loaded->services[tocsin_config_find_service(loaded, "plain")];
    mapped = &loaded->services[tocsin_config_find_service(loaded, "mapped")];
    expect_severity(plain, TOCSIN_OK, TOCSIN_SEVERITY_INFO);
    expect_severity(plain, TOCSIN_WARNING, TOCSIN_SEVERITY_WARNING);
    expect_severity(plain, TOCSIN_CRITICAL, TOCSIN_SEVERITY_CRITICAL);
    expect_severity(plain, TOCSIN_UNKNOWN, TOCSIN_SEVERITY_ERROR);
    expect_severity(mapped, TOCSIN_OK, TOCSIN_SEVERITY_INFO);
    expect_severity(mapped, TOCSIN_WARNING, TOCSIN_SEVERITY_INFO);
    expect_severity(mapped, TOCSIN_CRITICAL, TOCSIN_SEVERITY_ERROR);
    expect_severity(mapped, TOCSIN_UNKNOWN, TOCSIN_SEVERITY_ERROR);
    tocsin_config_free(loaded);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(route_first_match_wins),
        CASE(route_continue_unions_in_order),
        CASE(route_continue_skips_routes_that_do_not_match),
        CASE(route_a_notifier_named_twice_is_chosen_once),
        CASE(route_label_mismatch),
        CASE(route_label_values_are_exact),
        CASE(route_service_glob),
        CASE(route_service_glob_and_labels_both_needed),
        CASE(route_severity_filter),
        CASE(route_without_severities_takes_every_severity),
        CASE(route_no_match),
        CASE(route_disabled_notifier_is_still_chosen),
        CASE(route_without_notifiers),
        CASE(route_period_inside_and_outside),
        CASE(route_period_uses_its_own_zone),
        CASE(route_without_outside_notifiers),
        CASE(route_continue_across_periods),
        CASE(route_severity_map),
        CASE(route_severity_override_changes_the_route),
        CASE(route_severity_defaults_from_configuration),
    };

    return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
