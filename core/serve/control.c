/*
 * control.c - the control socket: its listener, the table of clients
 * (each idle one closed after a deadline, the oldest idle one dropped for
 * a newcomer when the table is full) and the commands. See control.h and
 * docs/internals/control.md.
 */
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "serve/control.h"
#include "serve/incidents.h"
#include "serve/svc-json.h"
#include "base/log.h"
#include "config/timeperiod.h"

#define MAX_CLIENTS 64
#define REQUEST_MAX 65536
#define LISTENER_SLOT 0xffffu
#define CHECK_WAIT_GRACE_US 5000000
#define IDLE_DEADLINE_US 5000000LL /* to send a whole request, or to take some of the answer */

struct client {
    int fd;                        /* -1 when free */
    struct tocsin_buf in, out;
    long waiting_svc;              /* a `check` waiting for this service, or -1 */
    char *author;                  /* who the peer is, for acks and downtimes */
    int64_t since;                 /* monotonic us: accepted, or the answer last took bytes */
};

struct tocsin_control {
    int fd;
    int epfd;
    char *path;
    const struct tocsin_status *status;
    struct tocsin_control_ops ops;
    struct client clients[MAX_CLIENTS];
    uint64_t drops;                /* idle clients closed, for the log */
    struct tocsin_log_limit drop_log; /* one line a minute about them */
};

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static void refuse(int fd, const char *msg);

/* Close `cl` and free its slot; with `msg`, a line sent to the peer first
 * (see refuse()). */
static void client_close(struct tocsin_control *c, struct client *cl, const char *msg)
{
    if (cl->fd < 0)
        return;
    epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
    if (msg)
        refuse(cl->fd, msg);
    else
        close(cl->fd);
    cl->fd = -1;
    cl->waiting_svc = -1;
    tocsin_buf_free(&cl->in);
    tocsin_buf_free(&cl->out);
    free(cl->author);
    cl->author = NULL;
}

/* Write what is pending; close once all is written. */
static void client_flush(struct tocsin_control *c, struct client *cl)
{
    size_t off = 0;

    while (off < cl->out.len) {
        ssize_t n = write(cl->fd, cl->out.data + off, cl->out.len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct epoll_event ev;

            if (off)
                cl->since = tocsin_mono_us();
            tocsin_buf_consume(&cl->out, off);
            memset(&ev, 0, sizeof(ev));
            ev.events = EPOLLOUT;
            ev.data.u64 = TOCSIN_CONTROL_TAG | (uint64_t)(cl - c->clients);
            epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
            return;
        }
        if (n <= 0) {
            client_close(c, cl, NULL);
            return;
        }
        off += (size_t)n;
    }
    tocsin_buf_reset(&cl->out);
    client_close(c, cl, NULL);
}

/* Send `reply` (consumed) and close after it. */
static void reply(struct tocsin_control *c, struct client *cl, json_t *r)
{
    char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;

    json_decref(r);
    if (!text)
        tocsin_buf_puts(&cl->out, "{\"ok\":false,\"error\":\"out of memory\"}");
    else
        tocsin_buf_puts(&cl->out, text);
    tocsin_buf_putc(&cl->out, '\n');
    free(text);
    cl->since = tocsin_mono_us();
    client_flush(c, cl);
}

static void reply_error(struct tocsin_control *c, struct client *cl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply_error(struct tocsin_control *c, struct client *cl, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply(c, cl, json_pack("{s:b, s:o}", "ok", 0, "error", tocsin_json_text(msg)));
}

/* May the peer on `fd` use the socket? Sets *author to its user name. */
static int peer_allowed(int fd, char **author)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct passwd *pw;
    struct group *gr;
    gid_t groups[256];
    int ngroups = 256, i;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return 0;
    pw = getpwuid(cred.uid);
    if (pw)
        *author = strdup(pw->pw_name);
    else if (asprintf(author, "uid %u", (unsigned)cred.uid) < 0)
        *author = NULL;
    if (cred.uid == 0 || cred.uid == geteuid())
        return 1;
    gr = getgrnam("tocsin");
    if (!gr || !pw)
        return 0;
    if (cred.gid == gr->gr_gid)
        return 1;
    if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
        return 0;
    for (i = 0; i < ngroups; i++)
        if (groups[i] == gr->gr_gid)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/* Service `svc` as the control socket tells it. NULL when memory runs out. */
static json_t *service_json(struct tocsin_control *c, uint32_t svc)
{
    return tocsin_svc_json(c->status->conf, &c->status->conf->services[svc], &c->status->views[svc],
                           tocsin_alerting_incident(c->ops.alerting(c->ops.ud), svc),
                           TOCSIN_SVC_JSON_CONTROL, time(NULL));
}

/* The indices of the services `f` selects into *out (malloc'd, freed by
 * the caller). Returns the count, or -1 when memory runs out. O(services). */
static long select_matching(const struct tocsin_status *st, const struct tocsin_svc_filter *f,
                            uint32_t **out)
{
    size_t i, n = 0;

    *out = calloc(st->conf->nservices ? st->conf->nservices : 1, sizeof(**out));
    if (!*out)
        return -1;
    for (i = 0; i < st->conf->nservices; i++)
        if (tocsin_svc_filter_match(f, &st->conf->services[i], &st->views[i]))
            (*out)[n++] = (uint32_t)i;
    return (long)n;
}

/* The services a request names: "service" (one name) or "label" (K=V).
 * Returns the count, or -1 with a reply sent. */
static long select_services(struct tocsin_control *c, struct client *cl, json_t *req,
                            uint32_t **out)
{
    const char *name = json_string_value(json_object_get(req, "service"));
    const char *label = json_string_value(json_object_get(req, "label"));
    struct tocsin_svc_filter f;
    long n = -1;

    memset(&f, 0, sizeof(f));
    *out = NULL;
    if (name) {
        if (tocsin_svc_filter_set_name(&f, name) < 0)
            goto oom;
    } else if (label) {
        if (!strchr(label, '=')) {
            reply_error(c, cl, "label \"%s\" is not KEY=VALUE", label);
            goto out;
        }
        if (tocsin_svc_filter_add_label(&f, label) < 0)
            goto oom;
    } else {
        reply_error(c, cl, "name a service or give a label");
        goto out;
    }
    n = select_matching(c->status, &f, out);
    if (n < 0)
        goto oom;
    if (n == 0) {
        if (name)
            reply_error(c, cl, "no service named '%s'", name);
        else
            reply_error(c, cl, "no service has the label %s", label);
        free(*out);
        *out = NULL;
        n = -1;
    }
    goto out;
oom:
    reply_error(c, cl, "out of memory");
out:
    tocsin_svc_filter_free(&f);
    return n;
}

static void cmd_status(struct tocsin_control *c, struct client *cl, json_t *req)
{
    const struct tocsin_config *conf = c->status->conf;
    const char *state = json_string_value(json_object_get(req, "state"));
    const char *label = json_string_value(json_object_get(req, "label"));
    struct tocsin_svc_filter f;
    json_t *list = json_array();
    int want, bad = !list;
    size_t i;

    memset(&f, 0, sizeof(f));
    if (state) {
        if ((want = tocsin_state_parse(state)) < 0) {
            json_decref(list);
            reply_error(c, cl, "state \"%s\" is not ok, warning, critical or unknown", state);
            return;
        }
        f.states = 1u << want;
    }
    if (label && tocsin_svc_filter_add_label(&f, label) < 0)
        bad = 1;
    for (i = 0; !bad && i < conf->nservices; i++)
        if (tocsin_svc_filter_match(&f, &conf->services[i], &c->status->views[i]))
            tocsin_json_push(list, service_json(c, (uint32_t)i), &bad);
    tocsin_svc_filter_free(&f);
    if (bad) {
        json_decref(list);
        reply_error(c, cl, "out of memory");
        return;
    }
    reply(c, cl, json_pack("{s:b, s:o, s:I, s:I}", "ok", 1, "services", list,
                           "started", (json_int_t)c->status->started,
                           "checks_total", (json_int_t)c->status->checks_total));
}

static void cmd_check(struct tocsin_control *c, struct client *cl, json_t *req)
{
    const char *name = json_string_value(json_object_get(req, "service"));
    long k;

    if (!name || (k = tocsin_config_find_service(c->status->conf, name)) < 0) {
        reply_error(c, cl, "no service named '%s'", name ? name : "");
        return;
    }
    if (c->status->conf->services[k].is_group) {
        reply_error(c, cl, "'%s' is a group: it is judged from its members, not run", name);
        return;
    }
    if (c->status->conf->services[k].passive) {
        reply_error(c, cl, "'%s' is passive: its results are submitted (tocsinctl submit), "
                    "not run", name);
        return;
    }
    cl->waiting_svc = k;
    c->ops.check_now(c->ops.ud, (uint32_t)k);
}

/* A result for a passive service (or one with accept_passive), applied
 * on the daemon's next turn: {"service", "state", "output", "perfdata"}. */
static void cmd_submit(struct tocsin_control *c, struct client *cl, json_t *req)
{
    const char *name = json_string_value(json_object_get(req, "service"));
    const char *state_text = json_string_value(json_object_get(req, "state"));
    const char *output = json_string_value(json_object_get(req, "output"));
    const char *perf = json_string_value(json_object_get(req, "perfdata"));
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    const char *nl;
    long k;
    int state;

    if (!name || (k = tocsin_config_find_service(c->status->conf, name)) < 0) {
        reply_error(c, cl, "no service named '%s'", name ? name : "");
        return;
    }
    if (!c->status->conf->services[k].accept_passive) {
        reply_error(c, cl, "service '%s' takes no submitted results (set passive = true, or "
                    "accept_passive = true beside its check)", name);
        return;
    }
    if (!state_text || (state = tocsin_state_parse(state_text)) < 0) {
        reply_error(c, cl, "state \"%s\" is not ok, warning, critical, unknown or 0-3",
                    state_text ? state_text : "");
        return;
    }
    if (perf && strchr(perf, '\n')) {
        reply_error(c, cl, "perfdata must be one line");
        return;
    }
    if (!output)
        output = "";
    nl = strchr(output, '\n');
    tocsin_buf_append(&out, output, nl ? (size_t)(nl - output) : strlen(output));
    if (perf && *perf) {
        tocsin_buf_putc(&out, '|');
        tocsin_buf_puts(&out, perf);
    }
    if (nl)
        tocsin_buf_puts(&out, nl);
    if (out.oom || !c->ops.submit ||
        c->ops.submit(c->ops.ud, name, state, tocsin_buf_str(&out)) < 0) {
        tocsin_buf_free(&out);
        reply_error(c, cl, c->ops.submit ? "out of memory" : "this daemon takes no results");
        return;
    }
    tocsin_buf_free(&out);
    reply(c, cl, json_pack("{s:b, s:o, s:s}", "ok", 1, "service", tocsin_json_text(name),
                           "state", tocsin_state_name(state)));
}

static void cmd_ack(struct tocsin_control *c, struct client *cl, json_t *req, int remove)
{
    struct tocsin_alerting *al = c->ops.alerting(c->ops.ud);
    const char *text = json_string_value(json_object_get(req, "text"));
    const char *assignee = json_string_value(json_object_get(req, "assign"));
    uint32_t *svcs;
    char err[512];
    long n = select_services(c, cl, req, &svcs), i;
    json_t *done = json_array();

    if (n < 0) {
        json_decref(done);
        return;
    }
    for (i = 0; i < n; i++) {
        int rc = remove ? tocsin_alerting_unack(al, svcs[i], cl->author, err, sizeof(err))
                        : tocsin_alerting_ack(al, svcs[i], cl->author, text, assignee, err,
                                              sizeof(err));

        if (rc < 0 && n == 1) {
            free(svcs);
            json_decref(done);
            reply_error(c, cl, "%s", err);
            return;
        }
        if (rc == 0)
            json_array_append_new(done,
                                  tocsin_json_text(c->status->conf->services[svcs[i]].inst.name));
    }
    free(svcs);
    reply(c, cl, json_pack("{s:b, s:o}", "ok", 1, "services", done));
}

static void cmd_downtime(struct tocsin_control *c, struct client *cl, json_t *req)
{
    struct tocsin_alerting *al = c->ops.alerting(c->ops.ud);
    const char *text = json_string_value(json_object_get(req, "text"));
    json_t *until_j = json_object_get(req, "until");
    int remove = json_is_true(json_object_get(req, "remove"));
    time_t until = 0;
    uint32_t *svcs;
    long n, i;
    json_t *done;

    if (!remove) {
        if (!json_is_integer(until_j) || json_integer_value(until_j) <= time(NULL)) {
            reply_error(c, cl, "a downtime needs an end in the future");
            return;
        }
        until = (time_t)json_integer_value(until_j);
    }
    n = select_services(c, cl, req, &svcs);
    if (n < 0)
        return;
    done = json_array();
    for (i = 0; i < n; i++) {
        tocsin_alerting_downtime(al, svcs[i], until, cl->author, text);
        json_array_append_new(done, tocsin_json_text(c->status->conf->services[svcs[i]].inst.name));
    }
    free(svcs);
    reply(c, cl, json_pack("{s:b, s:o, s:I}", "ok", 1, "services", done,
                           "until", (json_int_t)until));
}

/* Reload; the reply lists, as "notes", what waits for a restart and the
 * warnings about the new configuration, one line each. */
static void cmd_reload(struct tocsin_control *c, struct client *cl)
{
    struct tocsin_buf errors = TOCSIN_BUF_INIT, notes = TOCSIN_BUF_INIT;
    json_t *list;
    const char *p, *nl;

    if (c->ops.reload(c->ops.ud, &errors, &notes) < 0) {
        reply_error(c, cl, "%s", errors.len ? tocsin_buf_str(&errors)
                                            : "the configuration could not be loaded");
        goto out;
    }
    list = json_array();
    for (p = tocsin_buf_str(&notes); list && *p; p = nl ? nl + 1 : p + strlen(p)) {
        nl = strchr(p, '\n');
        json_array_append_new(list, json_stringn(p, nl ? (size_t)(nl - p) : strlen(p)));
    }
    reply(c, cl, json_pack("{s:b, s:I, s:o*}", "ok", 1, "services",
                           (json_int_t)c->status->conf->nservices, "notes", list));
out:
    tocsin_buf_free(&errors);
    tocsin_buf_free(&notes);
}

struct history_ctx {
    json_t *list;
    size_t count;
    int oom;                       /* an event could not be added */
};

/* One history event into the list; stops the listing on oom or after
 * 100000 events. Texts are repaired (tocsin_json_text). */

static int history_one(void *ud, int64_t at_ms, const char *service, const char *kind,
                       const char *text)
{
    struct history_ctx *h = ud;
    json_t *ev = json_object();
    int bad = 0;

    if (h->count >= 100000)
        return 1;
    tocsin_json_set(ev, "at_ms", json_integer((json_int_t)at_ms), &bad);
    tocsin_json_set(ev, "service", tocsin_json_text(service), &bad);
    tocsin_json_set(ev, "kind", tocsin_json_text(kind), &bad);
    tocsin_json_set(ev, "text", tocsin_json_text(text), &bad);
    if (bad) {
        json_decref(ev);
        h->oom = 1;
        return 1;
    }
    tocsin_json_push(h->list, ev, &h->oom);
    h->count++;
    return 0;
}

/*
 * Fill `q` from an incidents request: "state" ("open", "closed", "all"),
 * "service" and "label" (a string or an array of strings each), "since"
 * (a duration or an RFC 3339 time), "limit" (a number). The words mean
 * what they mean in /api/v1/incidents. Returns 0, or -1 with err set.
 */
static int incidents_query(json_t *req, struct tocsin_incident_query *q,
                           struct tocsin_buf *err)
{
    static const char *const lists[] = {"service", "label"};
    json_t *v, *item;
    const char *word;
    size_t i, k;
    char num[32];

    if ((v = json_object_get(req, "state"))) {
        if (!(word = json_string_value(v))) {
            tocsin_buf_puts(err, "\"state\" is not a string");
            return -1;
        }
        if (tocsin_incident_query_state(q, word, err) < 0)
            return -1;
    }
    for (k = 0; k < 2; k++) {
        if (!(v = json_object_get(req, lists[k])))
            continue;
        for (i = 0; i < (json_is_array(v) ? json_array_size(v) : 1); i++) {
            item = json_is_array(v) ? json_array_get(v, i) : v;
            if (!(word = json_string_value(item))) {
                tocsin_buf_printf(err, "\"%s\" is not a string or a list of strings",
                                  lists[k]);
                return -1;
            }
            if ((k == 0 ? tocsin_incident_query_service(q, word, err)
                        : tocsin_incident_query_label(q, word, err)) < 0)
                return -1;
        }
    }
    if ((v = json_object_get(req, "since"))) {
        if (!(word = json_string_value(v))) {
            tocsin_buf_puts(err, "\"since\" is not a string");
            return -1;
        }
        if (tocsin_incident_query_since(q, word, tocsin_wall_ms(), err) < 0)
            return -1;
    }
    if ((v = json_object_get(req, "limit"))) {
        if (!json_is_integer(v)) {
            tocsin_buf_puts(err, "\"limit\" is not a number");
            return -1;
        }
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (tocsin_incident_query_limit(q, num, err) < 0)
            return -1;
    }
    return 0;
}

/* Reply with `answer` (taken over) and "ok": true, or with err's message
 * when it is NULL. */
static void reply_answer(struct tocsin_control *c, struct client *cl, json_t *answer,
                         const struct tocsin_buf *err)
{
    if (!answer || json_object_set_new(answer, "ok", json_true()) < 0) {
        json_decref(answer);
        reply_error(c, cl, "%s", err->oom || !err->len ? "out of memory" : tocsin_buf_str(err));
        return;
    }
    reply(c, cl, answer);
}

/* incidents: the incidents of the store, as /api/v1/incidents tells them. */
static void cmd_incidents(struct tocsin_control *c, struct client *cl, json_t *req)
{
    struct tocsin_incident_query q;
    struct tocsin_buf err = TOCSIN_BUF_INIT;
    json_t *answer;

    memset(&q, 0, sizeof(q));
    if (incidents_query(req, &q, &err) < 0) {
        reply_error(c, cl, "%s", err.oom ? "out of memory" : tocsin_buf_str(&err));
        goto out;
    }
    if (!c->status->store) {
        reply_error(c, cl, "this daemon keeps no incidents (no state_dir)");
        goto out;
    }
    answer = tocsin_incidents_json(c->status->store, c->status->conf, &q, time(NULL), &err);
    reply_answer(c, cl, answer, &err);
out:
    tocsin_incident_query_free(&q);
    tocsin_buf_free(&err);
}

/* metrics: {"service", "label" (optional), "since" (optional, default 1h)}:
 * the metric history of a service, as /api/v1/services/NAME/metrics
 * tells it. */
static void cmd_metrics(struct tocsin_control *c, struct client *cl, json_t *req)
{
    const char *service = json_string_value(json_object_get(req, "service"));
    const char *label = json_string_value(json_object_get(req, "label"));
    const char *since = json_string_value(json_object_get(req, "since"));
    struct tocsin_incident_query q;
    struct tocsin_buf err = TOCSIN_BUF_INIT;
    int64_t now_ms = tocsin_wall_ms();
    json_t *answer;

    memset(&q, 0, sizeof(q));
    if (!service || !*service) {
        reply_error(c, cl, "metrics needs a \"service\"");
        goto out;
    }
    if (tocsin_incident_query_since(&q, since ? since : "1h", now_ms, &err) < 0) {
        reply_error(c, cl, "%s", err.oom ? "out of memory" : tocsin_buf_str(&err));
        goto out;
    }
    if (!c->status->store) {
        reply_error(c, cl, "this daemon keeps no metric history (no state_dir)");
        goto out;
    }
    answer = tocsin_metrics_json(c->status->store, c->status->conf, service, label,
                                 q.since_ms, now_ms, &err);
    reply_answer(c, cl, answer, &err);
out:
    tocsin_incident_query_free(&q);
    tocsin_buf_free(&err);
}

static void cmd_history(struct tocsin_control *c, struct client *cl, json_t *req)
{
    const char *name = json_string_value(json_object_get(req, "service"));
    json_int_t since = json_integer_value(json_object_get(req, "since_ms"));
    struct history_ctx h = {json_array(), 0, 0};

    if (!c->status->store) {
        json_decref(h.list);
        reply_error(c, cl, "this daemon keeps no history");
        return;
    }
    if (name && tocsin_config_find_service(c->status->conf, name) < 0) {
        json_decref(h.list);
        reply_error(c, cl, "no service named '%s'", name);
        return;
    }
    if (tocsin_history_list(c->status->store, name, (int64_t)since, history_one, &h) < 0) {
        json_decref(h.list);
        reply_error(c, cl, "cannot read the history (see the daemon's log)");
        return;
    }
    if (h.oom || !h.list) {
        json_decref(h.list);
        reply_error(c, cl, "out of memory");
        return;
    }
    reply(c, cl, json_pack("{s:b, s:o}", "ok", 1, "events", h.list));
}

/* A whole request line arrived: run it. */
static void handle_request(struct tocsin_control *c, struct client *cl, const char *line)
{
    json_error_t jerr;
    json_t *req = json_loads(line, 0, &jerr);
    const char *cmd = json_string_value(json_object_get(req, "cmd"));

    if (!req || !cmd) {
        reply_error(c, cl, "malformed request: %s", req ? "no \"cmd\"" : jerr.text);
        json_decref(req);
        return;
    }
    if (strcmp(cmd, "status") == 0)
        cmd_status(c, cl, req);
    else if (strcmp(cmd, "check") == 0)
        cmd_check(c, cl, req);
    else if (strcmp(cmd, "ack") == 0)
        cmd_ack(c, cl, req, 0);
    else if (strcmp(cmd, "unack") == 0)
        cmd_ack(c, cl, req, 1);
    else if (strcmp(cmd, "downtime") == 0)
        cmd_downtime(c, cl, req);
    else if (strcmp(cmd, "reload") == 0)
        cmd_reload(c, cl);
    else if (strcmp(cmd, "history") == 0)
        cmd_history(c, cl, req);
    else if (strcmp(cmd, "incidents") == 0)
        cmd_incidents(c, cl, req);
    else if (strcmp(cmd, "metrics") == 0)
        cmd_metrics(c, cl, req);
    else if (strcmp(cmd, "submit") == 0)
        cmd_submit(c, cl, req);
    else
        reply_error(c, cl, "unknown command \"%s\"", cmd);
    json_decref(req);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/*
 * Answer a connection that is not served (a peer without permission, or
 * no slot free) with `msg` and close it. The request the peer has already
 * sent is read and dropped first: closing a Unix socket with unread data
 * resets the connection, and the peer would read ECONNRESET instead of
 * the reason. Never blocks: the socket is non-blocking.
 */
static void refuse(int fd, const char *msg)
{
    char sink[4096];
    ssize_t n = write(fd, msg, strlen(msg));
    int i;

    (void)n;
    shutdown(fd, SHUT_WR);
    for (i = 0; i < 16 && read(fd, sink, sizeof(sink)) > 0; i++)
        ;
    close(fd);
}

/*
 * Close `cl`, an idle client (not waiting for a check), for `why`, telling
 * the peer `msg` if it is still sending its request. The first such
 * closing, then at most one a minute, is logged with the count so far.
 */
static void client_drop(struct tocsin_control *c, struct client *cl, const char *why,
                        const char *msg)
{
    c->drops++;
    tocsin_log_limited(&c->drop_log, TOCSIN_LOG_WARNING, "control socket: closed a client "
                       "of %s: %s (%llu so far; at most one such line a minute)",
                       cl->author ? cl->author : "unknown user", why,
                       (unsigned long long)c->drops);
    client_close(c, cl, cl->out.len ? NULL : msg);
}

/* A free slot; when there is none, the slot of the idle client that has
 * waited longest, closed to make room. NULL when every client waits for a
 * check. O(MAX_CLIENTS). */
static struct client *free_slot(struct tocsin_control *c)
{
    struct client *oldest = NULL;
    int i;

    for (i = 0; i < MAX_CLIENTS; i++) {
        struct client *cl = &c->clients[i];

        if (cl->fd < 0)
            return cl;
        if (cl->waiting_svc < 0 && (!oldest || cl->since < oldest->since))
            oldest = cl;
    }
    if (oldest)
        client_drop(c, oldest, "the table was full, and it was the oldest idle client",
                    "{\"ok\":false,\"error\":\"closed to make room for another client: "
                    "too many connections\"}\n");
    return oldest;
}

/* Accept every waiting peer, and read at once what it has sent: tocsinctl
 * writes its request as soon as it is connected, so most are answered
 * here, before any other newcomer could need their slot. */
static void accept_clients(struct tocsin_control *c)
{
    for (;;) {
        int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct epoll_event ev;
        struct client *cl;
        char *author = NULL;

        if (fd < 0)
            return;
        if (!peer_allowed(fd, &author)) {
            refuse(fd, "{\"ok\":false,\"error\":\"permission denied: root or the "
                       "tocsin group only\"}\n");
            free(author);
            continue;
        }
        cl = free_slot(c);
        if (!cl) {
            refuse(fd, "{\"ok\":false,\"error\":\"too many connections\"}\n");
            free(author);
            continue;
        }
        cl->fd = fd;
        cl->author = author;
        cl->waiting_svc = -1;
        cl->since = tocsin_mono_us();
        tocsin_buf_init(&cl->in);
        tocsin_buf_init(&cl->out);
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.u64 = TOCSIN_CONTROL_TAG | (uint64_t)(cl - c->clients);
        if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            client_close(c, cl, NULL);
        else
            tocsin_control_ready(c, (uint32_t)(cl - c->clients), EPOLLIN);
    }
}

void tocsin_control_ready(struct tocsin_control *c, uint32_t slot, uint32_t events)
{
    struct client *cl;
    char chunk[4096];

    if (slot == LISTENER_SLOT) {
        accept_clients(c);
        return;
    }
    if (slot >= MAX_CLIENTS || c->clients[slot].fd < 0)
        return;
    cl = &c->clients[slot];
    if (events & EPOLLOUT) {
        client_flush(c, cl);
        return;
    }
    for (;;) {
        ssize_t n = read(cl->fd, chunk, sizeof(chunk));
        char *nl;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            client_close(c, cl, NULL);
            return;
        }
        if (cl->waiting_svc >= 0)
            continue; /* one request per connection */
        tocsin_buf_append(&cl->in, chunk, (size_t)n);
        nl = memchr(cl->in.data, '\n', cl->in.len);
        if (nl) {
            *nl = '\0';
            handle_request(c, cl, cl->in.data);
            return;
        }
        if (cl->in.len > REQUEST_MAX) {
            reply_error(c, cl, "request too long");
            return;
        }
    }
}

void tocsin_control_result(struct tocsin_control *c, uint32_t svc)
{
    int i;

    if (!c)
        return;
    for (i = 0; i < MAX_CLIENTS; i++) {
        struct client *cl = &c->clients[i];

        if (cl->fd >= 0 && cl->waiting_svc == (long)svc) {
            const char *full = c->status->views[svc].output;
            json_t *o = service_json(c, svc);
            int bad = !o;

            cl->waiting_svc = -1;
            tocsin_json_set(o, "full_output", tocsin_json_text(full ? full : ""), &bad);
            if (bad) {
                json_decref(o);
                reply_error(c, cl, "out of memory");
            } else {
                reply(c, cl, json_pack("{s:b, s:o}", "ok", 1, "service", o));
            }
        }
    }
}

int64_t tocsin_control_tick(struct tocsin_control *c, int64_t now, int64_t wake)
{
    int i;

    if (!c)
        return wake;
    for (i = 0; i < MAX_CLIENTS; i++) {
        struct client *cl = &c->clients[i];

        if (cl->fd < 0 || cl->waiting_svc >= 0)
            continue;
        if (now - cl->since >= IDLE_DEADLINE_US)
            client_drop(c, cl, cl->out.len ? "it took none of its answer for 5 s"
                                           : "no whole request within 5 s",
                        "{\"ok\":false,\"error\":\"no whole request within 5 s\"}\n");
        else if (cl->since + IDLE_DEADLINE_US < wake)
            wake = cl->since + IDLE_DEADLINE_US;
    }
    return wake;
}

void tocsin_control_reset(struct tocsin_control *c)
{
    int i;

    if (!c)
        return;
    for (i = 0; i < MAX_CLIENTS; i++)
        if (c->clients[i].fd >= 0 && c->clients[i].waiting_svc >= 0) {
            c->clients[i].waiting_svc = -1;
            reply_error(c, &c->clients[i], "the configuration was reloaded; ask again");
        }
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

/* mkdir -p for the socket's directory. */
static void make_parent(const char *path)
{
    char *copy = strdup(path), *p;

    if (!copy)
        return;
    for (p = copy + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(copy, 0755);
            *p = '/';
        }
    free(copy);
}

struct tocsin_control *tocsin_control_open(const char *path, int epfd,
                                           const struct tocsin_status *status,
                                           const struct tocsin_control_ops *ops,
                                           char *err, size_t errlen)
{
    struct tocsin_control *c = calloc(1, sizeof(*c));
    struct sockaddr_un addr;
    struct epoll_event ev;
    struct group *gr;
    struct stat st;
    int i;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->drop_log = (struct tocsin_log_limit)TOCSIN_LOG_LIMIT_INIT(60);
    c->fd = -1;
    c->epfd = epfd;
    c->status = status;
    c->ops = *ops;
    for (i = 0; i < MAX_CLIENTS; i++)
        c->clients[i].fd = -1;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr.sun_path)) {
        snprintf(err, errlen, "control socket %s: the path is too long (%zu bytes at most)",
                 path, sizeof(addr.sun_path) - 1);
        goto fail;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    c->path = strdup(path);
    if (!c->path) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    make_parent(path);
    /* A socket left by a daemon that died is replaced; anything else is
     * not ours to remove. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "control socket %s: exists and is not a socket", path);
            goto fail;
        }
        unlink(path);
    }
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(c->fd, 16) < 0) {
        snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
        goto fail;
    }
    gr = getgrnam("tocsin");
    if (gr && chown(path, (uid_t)-1, gr->gr_gid) < 0)
        tocsin_warn("control socket %s: cannot give it to group tocsin: %s", path,
                    strerror(errno));
    if (chmod(path, 0660) < 0) {
        snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
        goto fail;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = TOCSIN_CONTROL_TAG | LISTENER_SLOT;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
        goto fail;
    }
    return c;
fail:
    if (c->fd >= 0)
        close(c->fd);
    free(c->path);
    free(c);
    return NULL;
}

void tocsin_control_close(struct tocsin_control *c)
{
    int i;

    if (!c)
        return;
    for (i = 0; i < MAX_CLIENTS; i++)
        client_close(c, &c->clients[i], NULL);
    if (c->fd >= 0) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    if (c->path)
        unlink(c->path);
    free(c->path);
    free(c);
}
