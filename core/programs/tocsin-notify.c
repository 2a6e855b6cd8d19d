/*
 * tocsin-notify.c - send one alert through a notifier plugin, without a
 * daemon: to try a notifier's settings, or to script a notification.
 *
 *   tocsin-notify PLUGIN [--OPTION VALUE ...] [--alert-FIELD VALUE ...]
 *                        [--alert-then KIND [--alert-FIELD VALUE ...]] ...
 *
 * Each --alert-then sends one more alert through the same instance, after
 * the one before it: the same fields but for its kind and those given
 * after it, with `previous` set to the state before. That is how a
 * stateful notifier (one that remembers what it sent) is tried over a
 * sequence: a problem, then its recovery.
 *
 * With --attempts N, a notification the notifier asks to retry is sent
 * again through the same instance, a second apart, as the daemon's outbox
 * would later: to see how a notifier copes with its own retries.
 *
 * Exit status (of the last alert): 0 delivered, 75 the notifier asked to
 * retry later, 1 it failed, 2 usage or configuration error.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "config/cliopts.h"
#include "base/clock.h"
#include "config/registry.h"

#define EXIT_RETRY 75
#define EXIT_USAGE 2
#define MAX_LABELS 64
#define MAX_GROUPED 64
#define MAX_ALERTS 16
#define MAX_ATTEMPTS 100

/* One alert to send, and what was given for it. */
struct alert_stage {
    struct tocsin_alert alert;
    long group;                 /* grouped copies to add (--alert-group N) */
    int severity_set;           /* --alert-severity given */
    int at_set;                 /* --alert-at given */
    int incident_given;         /* the incident key is the user's */
};

struct alert_args {
    struct alert_stage stages[MAX_ALERTS]; /* the first, then each --alert-then */
    int nstages;
    struct tocsin_label labels[MAX_LABELS]; /* shared: a stage has the first
                                               alert.nlabels entries */
    size_t nlabels;             /* entries of labels[] in use */
    long timeout_ms;
    int attempts;               /* --attempts N */
};

static void usage(FILE *to)
{
    fprintf(to,
            "Usage: tocsin-notify [-p PLUGIN_PATH] [--timeout DURATION] PLUGIN [--OPTION VALUE ...]\n"
            "                     [--alert-FIELD VALUE ...]\n"
            "       tocsin-notify --list\n"
            "       tocsin-notify PLUGIN --help\n"
            "Sends one alert through a notifier plugin. Exit status: 0 delivered,\n"
            "75 retry later, 1 failed, 2 usage error.\n"
            "Alert fields (defaults in brackets):\n"
            "  --alert-service NAME [test]      --alert-host NAME [this host]\n"
            "  --alert-state STATE [critical]   --alert-previous STATE [ok]\n"
            "  --alert-kind KIND [problem]      problem recovery repeat escalation\n"
            "                                   acknowledged result\n"
            "  --alert-severity SEV [from the state] info warning error critical\n"
            "  --alert-output TEXT              --alert-long-output TEXT\n"
            "  --alert-perfdata TEXT            --alert-label KEY=VALUE (repeatable)\n"
            "  --alert-incident KEY             --alert-link URL\n"
            "  --alert-group-key KEY            --alert-route NAME\n"
            "  --alert-reason TEXT              --alert-since EPOCH\n"
            "  --alert-priority NAME (P<N> has rank N, another name rank 1)\n"
            "  --alert-assignee NAME\n"
            "  --alert-problem-since EPOCH      --alert-group N (N more alerts in\n"
            "                                   the same message)\n"
            "  --alert-at EPOCH [now]           --alert-hard yes|no [yes]\n"
            "  --alert-then KIND                then send another alert of KIND through\n"
            "                                   the same instance; the --alert-FIELD\n"
            "                                   options after it change that one\n"
            "  -p PATH             plugin directories (default $TOCSIN_PLUGIN_PATH or %s)\n"
            "  --timeout DURATION  the notifier's deadline (default 30s)\n"
            "  --attempts N        send again, a second apart, while the notifier asks\n"
            "                      to retry, N times at most (default 1)\n",
            TOCSIN_PLUGIN_DIR);
}

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
    va_list ap;

    fputs("tocsin-notify: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

static int parse_epoch(const char *value, time_t *out, struct tocsin_buf *err,
                       const char *name)
{
    char *end;
    long long v = strtoll(value, &end, 10);

    if (!*value || *end || v < 0) {
        tocsin_buf_printf(err, "--%s: \"%s\" is not a Unix time", name, value);
        return -1;
    }
    *out = (time_t)v;
    return 1;
}

static int parse_state(const char *value, enum tocsin_state *out,
                       struct tocsin_buf *err, const char *name)
{
    int s = tocsin_state_parse(value);

    if (s < 0) {
        tocsin_buf_printf(err, "--%s: \"%s\" is not ok, warning, critical or unknown",
                          name, value);
        return -1;
    }
    *out = (enum tocsin_state)s;
    return 1;
}

static int parse_kind(const char *value, enum tocsin_alert_kind *out,
                      struct tocsin_buf *err, const char *name)
{
    int k;

    for (k = 0; k <= TOCSIN_ALERT_RESULT; k++)
        if (strcmp(value, tocsin_alert_kind_name(k)) == 0)
            break;
    if (k > TOCSIN_ALERT_RESULT) {
        tocsin_buf_printf(err, "--%s: \"%s\" is not problem, recovery, repeat, "
                          "escalation, acknowledged or result", name, value);
        return -1;
    }
    *out = (enum tocsin_alert_kind)k;
    return 1;
}

/* The --alert-* fields and --timeout, given among the plugin's options.
 * They fill the last stage; --alert-then starts a new one. */
static int alert_option(void *ud, const char *name, const char *value,
                        struct tocsin_buf *err)
{
    struct alert_args *aa = ud;
    struct alert_stage *st = &aa->stages[aa->nstages - 1];
    struct tocsin_alert *a = &st->alert;
    const char *f;

    if (strcmp(name, "timeout") == 0) {
        if (tocsin_duration_parse(value, &aa->timeout_ms) < 0 || aa->timeout_ms <= 0) {
            tocsin_buf_printf(err, "--timeout: \"%s\" is not a duration", value);
            return -1;
        }
        return 1;
    }
    if (strncmp(name, "alert_", 6) != 0)
        return 0;
    f = name + 6;
    if (strcmp(f, "service") == 0)
        a->service = value;
    else if (strcmp(f, "host") == 0)
        a->host = value;
    else if (strcmp(f, "state") == 0)
        return parse_state(value, &a->state, err, name);
    else if (strcmp(f, "previous") == 0)
        return parse_state(value, &a->previous, err, name);
    else if (strcmp(f, "kind") == 0)
        return parse_kind(value, &a->kind, err, name);
    else if (strcmp(f, "then") == 0) {
        struct alert_stage *next;

        if (aa->nstages >= MAX_ALERTS) {
            tocsin_buf_printf(err, "--alert-then: at most %d alerts", MAX_ALERTS);
            return -1;
        }
        next = &aa->stages[aa->nstages];
        *next = *st;
        next->severity_set = 0;
        next->at_set = 0;
        next->alert.at = 0;
        next->alert.previous = st->alert.state;
        if (parse_kind(value, &next->alert.kind, err, name) < 0)
            return -1;
        aa->nstages++;
    } else if (strcmp(f, "hard") == 0) {
        if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
            a->hard = 1;
        else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
            a->hard = 0;
        else {
            tocsin_buf_printf(err, "--alert-hard: \"%s\" is not yes or no", value);
            return -1;
        }
    } else if (strcmp(f, "at") == 0) {
        st->at_set = 1;
        return parse_epoch(value, &a->at, err, name);
    } else if (strcmp(f, "severity") == 0) {
        int s = tocsin_severity_parse(value);

        if (s < 0) {
            tocsin_buf_printf(err, "--alert-severity: \"%s\" is not info, warning, error "
                              "or critical", value);
            return -1;
        }
        a->severity = (enum tocsin_severity)s;
        st->severity_set = 1;
    } else if (strcmp(f, "output") == 0)
        a->output = value;
    else if (strcmp(f, "long_output") == 0)
        a->long_output = value;
    else if (strcmp(f, "perfdata") == 0)
        a->perfdata = value;
    else if (strcmp(f, "incident") == 0)
        a->incident = value;
    else if (strcmp(f, "link") == 0)
        a->link = value;
    else if (strcmp(f, "group_key") == 0)
        a->group_key = value;
    else if (strcmp(f, "route") == 0)
        a->route = value;
    else if (strcmp(f, "reason") == 0)
        a->reason = value;
    else if (strcmp(f, "priority") == 0) {
        /* The rank of "P<N>" is N, as the built-in priorities are; any
         * other name is taken as the most urgent. */
        const char *d = value[0] == 'P' || value[0] == 'p' ? value + 1 : "";
        char *end;
        long rank = strtol(d, &end, 10);

        a->priority = value;
        a->priority_rank = !*value ? 0 : *d && !*end && rank > 0 && rank < 100 ? (int)rank : 1;
    } else if (strcmp(f, "assignee") == 0)
        a->assignee = value;
    else if (strcmp(f, "since") == 0)
        return parse_epoch(value, &a->since, err, name);
    else if (strcmp(f, "problem_since") == 0)
        return parse_epoch(value, &a->problem_since, err, name);
    else if (strcmp(f, "group") == 0) {
        char *end;

        st->group = strtol(value, &end, 10);
        if (!*value || *end || st->group < 0 || st->group > MAX_GROUPED) {
            tocsin_buf_printf(err, "--alert-group: \"%s\" is not a number from 0 to %d",
                              value, MAX_GROUPED);
            return -1;
        }
    } else if (strcmp(f, "label") == 0) {
        const char *eq = strchr(value, '=');

        if (!eq || eq == value) {
            tocsin_buf_printf(err, "--alert-label: \"%s\" is not KEY=VALUE", value);
            return -1;
        }
        /* Every stage's labels start at labels[0]; the stage being
         * filled is the last, so it holds the most. */
        if (a->nlabels >= MAX_LABELS) {
            tocsin_buf_printf(err, "--alert-label: at most %d labels", MAX_LABELS);
            return -1;
        }
        aa->labels[a->nlabels].key = strndup(value, (size_t)(eq - value));
        aa->labels[a->nlabels].value = eq + 1;
        if (!aa->labels[a->nlabels].key) {
            tocsin_buf_puts(err, "out of memory");
            return -1;
        }
        a->nlabels++;
        aa->nlabels = a->nlabels;
    } else
        return 0;
    return 1;
}

/* The severity a state has by default (a recovery is info). */
static enum tocsin_severity default_severity(const struct tocsin_alert *a)
{
    if (a->kind == TOCSIN_ALERT_RECOVERY || a->state == TOCSIN_OK)
        return TOCSIN_SEVERITY_INFO;
    if (a->state == TOCSIN_WARNING)
        return TOCSIN_SEVERITY_WARNING;
    if (a->state == TOCSIN_CRITICAL)
        return TOCSIN_SEVERITY_CRITICAL;
    return TOCSIN_SEVERITY_ERROR;
}

/* Fill in what was not given for a stage: its time, severity and
 * incident; a stage after --alert-then keeps the incident and the start
 * of the problem of the one before it. `incident` holds the text of a
 * made-up incident key for as long as the stages are sent. */
static void complete_stage(struct alert_stage *st, const struct alert_stage *before,
                           struct tocsin_buf *incident)
{
    struct tocsin_alert *a = &st->alert;

    if (!st->at_set)
        a->at = time(NULL);
    st->incident_given = a->incident != NULL;
    if (before) {
        if (!a->problem_since)
            a->problem_since = before->alert.problem_since;
        if (!a->incident) {
            a->incident = before->alert.incident;
            st->incident_given = before->incident_given;
        }
    }
    if (!a->since)
        a->since = a->at;
    if (!a->problem_since)
        a->problem_since = a->since;
    if (!st->severity_set)
        a->severity = default_severity(a);
    if (!a->incident) {
        tocsin_buf_printf(incident, "%s/%s/%lld", a->host, a->service,
                          (long long)a->problem_since);
        a->incident = tocsin_buf_str(incident);
    }
}

/* Send one stage's alert, with its grouped copies, through the instance
 * (again, a second apart, while the notifier asks to retry and attempts
 * remain) and print the outcome on one line. Returns the exit status for
 * it. */
static int send_stage(const struct tocsin_plugin *p, void *inst,
                      struct alert_stage *st, long timeout_ms, int attempts)
{
    struct tocsin_alert grouped[MAX_GROUPED];
    struct tocsin_buf incidents[MAX_GROUPED];
    char names[MAX_GROUPED][64], reason[1024] = "";
    struct tocsin_alert *a = &st->alert;
    enum tocsin_delivery outcome;
    long k, retry_after = 0;
    int attempt, rc;

    for (k = 0; k < st->group; k++) {
        grouped[k] = *a;
        snprintf(names[k], sizeof(names[k]), "%s-%ld", a->service, k + 1);
        grouped[k].service = names[k];
        /* Another service, so another incident. */
        tocsin_buf_init(&incidents[k]);
        if (st->incident_given)
            tocsin_buf_printf(&incidents[k], "%s-%ld", a->incident, k + 1);
        else
            tocsin_buf_printf(&incidents[k], "%s/%s/%lld", a->host, names[k],
                              (long long)a->problem_since);
        grouped[k].incident = tocsin_buf_str(&incidents[k]);
    }
    a->grouped = st->group ? grouped : NULL;
    a->ngrouped = (size_t)st->group;
    a->retry_after = &retry_after;
    for (attempt = 1;; attempt++) {
        retry_after = 0;
        reason[0] = '\0';
        a->deadline = tocsin_us_to_timespec(tocsin_mono_us() + timeout_ms * 1000);
        /* The notifier gets the deadline; the alarm is the backstop. */
        alarm((unsigned)((timeout_ms + 999) / 1000 + 1));
        outcome = p->notify ? p->notify(inst, a, reason, sizeof(reason)) : TOCSIN_FAILED;
        alarm(0);
        reason[sizeof(reason) - 1] = '\0';
        if (outcome != TOCSIN_RETRY || attempt >= attempts)
            break;
        printf("attempt %d: retry: %s\n", attempt, *reason ? reason : "no reason given");
        fflush(stdout);
        sleep(1);
    }
    a->grouped = NULL;
    a->ngrouped = 0;
    switch (outcome) {
    case TOCSIN_DELIVERED:
        printf("delivered\n");
        rc = 0;
        break;
    case TOCSIN_RETRY:
        if (retry_after > 0)
            printf("retry after %ld s: %s\n", retry_after, *reason ? reason : "no reason given");
        else
            printf("retry: %s\n", *reason ? reason : "no reason given");
        rc = EXIT_RETRY;
        break;
    default:
        printf("failed: %s\n", *reason ? reason : "no reason given");
        rc = 1;
        break;
    }
    for (k = 0; k < st->group; k++)
        tocsin_buf_free(&incidents[k]);
    return rc;
}

int main(int argc, char **argv)
{
    static struct alert_args aa;
    struct tocsin_registry reg;
    struct tocsin_buf warnings = TOCSIN_BUF_INIT, err = TOCSIN_BUF_INIT;
    struct tocsin_buf incident = TOCSIN_BUF_INIT;
    const struct tocsin_plugin *p;
    const char *path = NULL;
    char hostname[256] = "localhost", reason[1024] = "";
    struct tocsin_alert *first = &aa.stages[0].alert;
    void *inst = NULL;
    cfg_t *cfg;
    int i, rc, list = 0;
    size_t k;

    aa.timeout_ms = 30000;
    aa.attempts = 1;
    aa.nstages = 1;
    first->state = TOCSIN_CRITICAL;
    first->previous = TOCSIN_OK;
    first->kind = TOCSIN_ALERT_PROBLEM;
    first->hard = 1;
    first->attempt = 1;
    first->max_attempts = 1;
    first->service = "test";
    first->output = "test notification from tocsin-notify";
    first->long_output = first->perfdata = first->link = "";
    first->group_key = first->route = first->reason = first->priority = first->assignee = "";
    first->labels = aa.labels;
    if (gethostname(hostname, sizeof(hostname) - 1) < 0)
        snprintf(hostname, sizeof(hostname), "localhost");
    first->host = hostname;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (tocsin_duration_parse(argv[++i], &aa.timeout_ms) < 0 || aa.timeout_ms <= 0)
                die(EXIT_USAGE, "--timeout: \"%s\" is not a duration (e.g. 10s, 1m)", argv[i]);
        } else if (strcmp(argv[i], "--attempts") == 0 && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);

            if (!*argv[i] || *end || n < 1 || n > MAX_ATTEMPTS)
                die(EXIT_USAGE, "--attempts: \"%s\" is not a number from 1 to %d", argv[i],
                    MAX_ATTEMPTS);
            aa.attempts = (int)n;
        } else if (strcmp(argv[i], "--list") == 0) {
            list = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("tocsin-notify %s (plugin ABI %d)\n", PACKAGE_VERSION, TOCSIN_PLUGIN_ABI);
            return 0;
        } else {
            usage(stderr);
            die(EXIT_USAGE, "unknown option %s", argv[i]);
        }
    }
    if (tocsin_registry_init(&reg) < 0)
        die(EXIT_USAGE, "cannot initialise the plugin loader");
    if (!path)
        path = tocsin_registry_default_path();
    tocsin_registry_load_path(&reg, path, &warnings);
    if (list) {
        size_t n;

        for (n = 0; n < reg.count; n++)
            if (reg.entries[n].desc && reg.entries[n].desc->kind == TOCSIN_PLUGIN_NOTIFIER)
                printf("%-14s %s\n", reg.entries[n].name,
                       reg.entries[n].desc->summary ? reg.entries[n].desc->summary : "");
        return 0;
    }
    if (i >= argc) {
        usage(stderr);
        die(EXIT_USAGE, "no plugin named");
    }
    p = tocsin_cli_plugin(&reg, path, argv[i], TOCSIN_PLUGIN_NOTIFIER, &err);
    if (!p)
        die(EXIT_USAGE, "%s", tocsin_buf_str(&err));
    cfg = cfg_init(p->options, CFGF_NONE);
    if (!cfg)
        die(EXIT_USAGE, "out of memory");
    cfg->filename = strdup("command line");
    rc = tocsin_cli_options(cfg, p, argc, argv, i + 1, alert_option, &aa, &err);
    if (rc < 0)
        die(EXIT_USAGE, "%s", tocsin_buf_str(&err));
    if (rc > 0) {
        tocsin_cli_print_options(p);
        cfg_free(cfg);
        return 0;
    }

    /* setup() is bounded by the same time as one notification. */
    alarm((unsigned)((aa.timeout_ms + 999) / 1000 + 1));
    if (p->setup && p->setup(cfg, &inst, reason, sizeof(reason)) != 0) {
        reason[sizeof(reason) - 1] = '\0';
        die(EXIT_USAGE, "%s", *reason ? reason : "the plugin refused its options");
    }
    alarm(0);
    for (i = 0; i < aa.nstages; i++) {
        complete_stage(&aa.stages[i], i ? &aa.stages[i - 1] : NULL, &incident);
        rc = send_stage(p, inst, &aa.stages[i], aa.timeout_ms, aa.attempts);
        fflush(stdout);
    }
    if (p->teardown)
        p->teardown(inst);
    for (k = 0; k < aa.nlabels; k++)
        free((char *)aa.labels[k].key);
    cfg_free(cfg);
    tocsin_buf_free(&incident);
    tocsin_buf_free(&err);
    tocsin_buf_free(&warnings);
    tocsin_registry_free(&reg);
    return rc;
}
