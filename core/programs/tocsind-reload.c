/*
 * tocsind-reload.c - a new configuration while the daemon runs (SIGHUP,
 * tocsinctl reload): read and check it, map each service of the old one
 * to the new, say what takes effect only at a restart, and start the
 * workers and alerting again on the new one. A configuration with an
 * error changes nothing.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "config/http-conf.h"
#include "programs/tocsind.h"

/* The per-service arrays of the configuration being taken. */
struct reload_map {
    struct tocsin_daemon_svc *svcs;
    struct tocsin_svc_view *views;
    struct tocsin_sched sched;
    unsigned char *resave;      /* per service: changed, its state kept */
    size_t kept, added, changed, removed;
};

/* What the alert resolving an incident says of why. */
#define WHY_REDEFINED "the service's check was redefined by a reload; it starts afresh"
#define WHY_REMOVED "the service was removed from the configuration by a reload"

/*
 * Read `d->conf_path` again and check it as a start would, plus what may
 * not change while running (state_dir). Returns the configuration, or
 * NULL with the problems appended to `errors`.
 */
static struct tocsin_config *load_new(struct tocsin_daemon *d, struct tocsin_buf *errors)
{
    size_t before = errors->len;
    struct tocsin_buf doubts = TOCSIN_BUF_INIT;
    struct tocsin_config *conf = tocsin_config_load_warn(d->conf_path, &d->reg, errors, &doubts);

    /* What is valid but doubtful is logged as at a start. */
    tocsin_daemon_log_lines(TOCSIN_LOG_WARNING, tocsin_buf_str(&doubts));
    tocsin_buf_free(&doubts);
    if (conf)
        tocsin_daemon_take_secrets(conf);
    if (conf && tocsin_validate_setups(conf, errors) < 0)
        tocsin_buf_printf(errors, "%s:1: cannot check plugin options: %s\n", d->conf_path,
                          strerror(errno));
    if (conf && strcmp(conf->state_dir, d->conf->state_dir) != 0)
        tocsin_buf_printf(errors, "%s:1: state_dir cannot change while tocsind runs "
                          "(restart it to move from %s to %s)\n", d->conf_path,
                          d->conf->state_dir, conf->state_dir);
    if (conf && errors->len != before) {
        tocsin_config_free(conf);
        conf = NULL;
    }
    return conf;
}

static void note(struct tocsin_buf *notes, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Log a note of the reload as a warning and add it to `notes` as a line. */
static void note(struct tocsin_buf *notes, const char *fmt, ...)
{
    struct tocsin_buf line = TOCSIN_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    tocsin_buf_vprintf(&line, fmt, ap);
    va_end(ap);
    tocsin_warn("reload: %s", tocsin_buf_str(&line));
    tocsin_buf_printf(notes, "%s\n", tocsin_buf_str(&line));
    tocsin_buf_free(&line);
}

/* Say which settings of `next` the running daemon keeps from `prev` until
 * it is restarted, and warn about routes that can never match. */
static void note_restart_only(const struct tocsin_daemon *d, const struct tocsin_config *prev,
                              const struct tocsin_config *next, struct tocsin_buf *notes)
{
    struct tocsin_buf warnings = TOCSIN_BUF_INIT;
    const char *p, *nl;
    char what[64];

    if (next->store_sync_full != prev->store_sync_full)
        tocsin_warn("reload: store_sync changes to %s only at a restart",
                    next->store_sync_full ? "full" : "normal");
    if (strcmp(next->control_socket, prev->control_socket) != 0)
        note(notes, "restart needed: control_socket changes from %s to %s only at a restart",
             prev->control_socket, next->control_socket);
    if (tocsin_http_conf_restart_needed(prev->http, next->http, what, sizeof(what)))
        note(notes, "restart needed: http %s changes take effect at a restart", what);
    if (next->workers != prev->workers)
        note(notes, "restart needed: workers = %d takes effect at a restart (%d check "
             "workers run until then)", next->workers, d->nworkers);
    if (next->log_level != prev->log_level)
        note(notes, "restart needed: log_level changes only at a restart");
    tocsin_config_route_warnings(next, &warnings);
    for (p = tocsin_buf_str(&warnings); *p; p = nl ? nl + 1 : p + strlen(p)) {
        nl = strchr(p, '\n');
        note(notes, "warning: %.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
    }
    tocsin_buf_free(&warnings);
}

/*
 * Map every service of the new configuration (d->conf, with its hashes in
 * d->svc_hash) to the old one (`old`, `old_hash`): one found by name with
 * the same definition, or with a definition that differs only in what its
 * state survives (the same check hash: labels, thresholds, timing...),
 * takes the old state and due time (one that was running is due at once);
 * any other starts afresh. The old views' outputs move to the new views.
 * O(services): the name index is a hash.
 */
static void map_services(struct tocsin_daemon *d, const struct tocsin_config *old,
                         const uint64_t *old_hash, struct reload_map *m, int64_t now)
{
    const struct tocsin_config *conf = d->conf;
    size_t i;

    for (i = 0; i < conf->nservices; i++) {
        long o = tocsin_config_find_service(old, conf->services[i].inst.name);

        int same = o >= 0 && old_hash[o] == d->svc_hash[i];

        if (same || (o >= 0 && tocsin_config_service_check_hash(&old->services[o]) ==
                               tocsin_config_service_check_hash(&conf->services[i]))) {
            int64_t due = tocsin_sched_due(&d->sched, (uint32_t)o);

            m->svcs[i] = d->svcs[o];
            m->views[i] = d->views[o];
            d->views[o].output = NULL;
            m->svcs[i].seq = 0;
            if (!conf->services[i].is_group)
                tocsin_sched_set(&m->sched, (uint32_t)i, due >= 0 ? due : now);
            /* A change to or from fixed times: scheduled as after a start. */
            if (!same && !conf->services[i].is_group &&
                (conf->services[i].nat || old->services[o].nat) && due >= 0) {
                tocsin_sched_remove(&m->sched, (uint32_t)i);
            }
            if (same) {
                m->kept++;
                continue;
            }
            tocsin_debug("reload: service '%s' redefined; its state and incident are kept",
                         conf->services[i].inst.name);
            m->resave[i] = 1;
            m->changed++;
            continue;
        }
        if (o >= 0) {
            tocsin_info("reload: the check of service '%s' is redefined; it starts afresh",
                        conf->services[i].inst.name);
            m->changed++;
        } else {
            m->added++;
        }
    }
    m->removed = old->nservices - m->kept - m->changed;
}

/* Resolve the open incidents of the services of the running configuration
 * that `next` no longer has, while the old configuration still names
 * their hosts and labels and the notifier workers still run. O(services). */
static void resolve_removed(struct tocsin_daemon *d, const struct tocsin_config *next)
{
    time_t now = time(NULL);
    size_t o;

    for (o = 0; o < d->conf->nservices; o++)
        if (tocsin_config_find_service(next, d->conf->services[o].inst.name) < 0)
            tocsin_alerting_resolve(d->alerting, (uint32_t)o, WHY_REMOVED, now);
}

/*
 * Resolve the open incident of every service whose state starts afresh
 * (its view has no result), giving `why`: the problem it tells of was
 * judged by a check that is no longer the service's, and the new check
 * opens its own incident if it finds one. After the alerting state is
 * restored, at a start and after a reload. O(services).
 */
void tocsin_daemon_resolve_redefined(struct tocsin_daemon *d, const char *why)
{
    time_t now = time(NULL);
    size_t i;

    for (i = 0; i < d->conf->nservices; i++)
        if (!d->views[i].checked)
            tocsin_alerting_resolve(d->alerting, (uint32_t)i, why, now);
}

/* Log the reasons of a refused reload, the lines appended to `errors`
 * from `from` on. */
static void log_refusal(const struct tocsin_buf *errors, size_t from)
{
    tocsin_error("reload refused, the running configuration stays:");
    tocsin_daemon_log_lines(TOCSIN_LOG_ERROR, tocsin_buf_str(errors) + from);
}

/*
 * Services whose definition did not change, or changed in what their
 * state survives (the same check hash), keep their state and schedule
 * (one that was running is run again at once); removed ones are dropped
 * and their open incidents resolved; new ones and those whose check
 * changed start afresh, spread like at a start, the open incidents of
 * the latter resolved. The workers are replaced, since they hold the
 * configuration they were forked with; alerting state comes back from the
 * store. Should the workers not start again, the daemon stops.
 */
static int reload_conf(struct tocsin_daemon *d, struct tocsin_buf *errors,
                       struct tocsin_buf *notes)
{
    struct tocsin_pool_events ev;
    struct tocsin_alerting_hooks hooks;
    struct tocsin_config *old = d->conf, *conf;
    struct reload_map m;
    size_t before = errors->len, i;
    int64_t t0 = tocsin_mono_us(), now;
    uint64_t *old_hash = d->svc_hash;
    uint64_t restarts = d->pool.restarts;
    struct tocsin_alerting_stats carried;
    int carry = 0;

    memset(&m, 0, sizeof(m));
    memset(&carried, 0, sizeof(carried));
    tocsin_daemon_pool_events(d, &ev);
    tocsin_daemon_alerting_hooks(d, &hooks);
    conf = load_new(d, errors);
    if (!conf)
        goto refuse;
    m.svcs = calloc(conf->nservices ? conf->nservices : 1, sizeof(*m.svcs));
    m.views = calloc(conf->nservices ? conf->nservices : 1, sizeof(*m.views));
    m.resave = calloc(conf->nservices ? conf->nservices : 1, 1);
    if (!m.svcs || !m.views || !m.resave || tocsin_sched_init(&m.sched, (uint32_t)conf->nservices) < 0) {
        tocsin_buf_printf(errors, "%s:1: out of memory\n", d->conf_path);
        goto refuse;
    }
    note_restart_only(d, old, conf, notes);
    /* The counters go on from where they are, by notifier name. */
    carried.attempts = calloc(conf->nnotifiers ? conf->nnotifiers : 1, sizeof(uint64_t));
    carried.failures = calloc(conf->nnotifiers ? conf->nnotifiers : 1, sizeof(uint64_t));
    carried.fallbacks = calloc(conf->nnotifiers ? conf->nnotifiers : 1, sizeof(uint64_t));
    if (d->alerting && carried.attempts && carried.failures && carried.fallbacks) {
        const struct tocsin_alerting_stats *was = tocsin_alerting_stats(d->alerting);

        carried.queued = was->queued;
        carried.suppressed = was->suppressed;
        carried.forwarded = was->forwarded;
        carried.forward_dropped = was->forward_dropped;
        for (i = 0; i < conf->nnotifiers; i++) {
            long o = tocsin_config_find_notifier(old, conf->notifiers[i].inst.name);

            if (o >= 0) {
                carried.attempts[i] = was->attempts[o];
                carried.failures[i] = was->failures[o];
                carried.fallbacks[i] = was->fallbacks[o];
            }
        }
        carry = 1;
    }

    /* From here on the new configuration is taken. */
    resolve_removed(d, conf);
    tocsin_pool_stop(&d->pool);
    tocsin_alerting_free(d->alerting);
    d->alerting = NULL;
    if (d->store)
        tocsin_outbox_release(d->store);
    d->conf = conf;
    d->svc_hash = NULL;
    if (d->mhist) {
        struct tocsin_mhist_conf mc;

        tocsin_daemon_mhist_conf(conf, &mc);
        tocsin_mhist_set_retention(d->mhist, mc.detail_s, mc.keep_s);
    }
    if (tocsin_daemon_hash_services(d) < 0) {
        d->conf = old;
        d->svc_hash = old_hash;
        tocsin_config_free(conf);
        conf = NULL;
        tocsin_buf_printf(errors, "%s:1: out of memory\n", d->conf_path);
        carry = 0; /* indexed by the new configuration's notifiers */
        goto restart_old;
    }
    now = tocsin_mono_us();
    map_services(d, old, old_hash, &m, now);
    for (i = 0; i < old->nservices; i++)
        free(d->views[i].output);
    free(d->svcs);
    free(d->views);
    tocsin_sched_free(&d->sched);
    d->svcs = m.svcs;
    d->views = m.views;
    d->sched = m.sched;
    m.svcs = NULL;
    m.views = NULL;
    memset(&m.sched, 0, sizeof(m.sched));
    for (i = 0; i < conf->nservices; i++) {
        /* New, started afresh, or changed to or from fixed times. */
        if (!tocsin_sched_has(&d->sched, (uint32_t)i))
            tocsin_daemon_schedule_first(d, i, now);
        if (m.resave[i] && d->views[i].checked)
            tocsin_daemon_save_service(d, (uint32_t)i); /* under its new definition */
    }
    free(old_hash);
    old_hash = NULL;
    tocsin_config_free(old);
    old = NULL;
restart_old:
    d->alerting = tocsin_alerting_new(d->conf, d->store, d->views, &hooks);
    if (d->alerting) {
        if (carry)
            tocsin_alerting_stats_carry(d->alerting, &carried);
        tocsin_alerting_restore(d->alerting);
        tocsin_daemon_resolve_redefined(d, WHY_REDEFINED);
    }
    d->status.conf = d->conf;
    d->status.views = d->views;
    d->status.alerting = d->alerting;
    tocsin_control_reset(d->control);
    if (!d->alerting || tocsin_pool_start(&d->pool, d->conf, d->nworkers, d->epfd, &ev) < 0) {
        tocsin_error("reload: cannot start the workers again; stopping");
        tocsin_sdnotify_status(&d->sdnotify, "STOPPING=1",
                               "stopping: the workers could not start again after a reload");
        d->stopping = 1;
    }
    d->pool.restarts = restarts;
    if (d->httpd && tocsin_httpd_update(d->httpd, d->conf->http) < 0)
        note(notes, "restart needed: out of memory applying the http token");
    free(carried.attempts);
    free(carried.failures);
    free(carried.fallbacks);
    free(m.svcs);
    free(m.views);
    free(m.resave);
    tocsin_sched_free(&m.sched);
    malloc_trim(0);
    if (old)
        return -1;
    tocsin_info("configuration reloaded in %.1f ms: %zu services (%zu kept, %zu new, %zu "
                "changed, %zu removed), %zu notifiers", (double)(tocsin_mono_us() - t0) / 1000,
                conf->nservices, m.kept, m.added, m.changed, m.removed, conf->nnotifiers);
    return 0;
refuse:
    free(carried.attempts);
    free(carried.failures);
    free(carried.fallbacks);
    tocsin_config_free(conf);
    free(m.svcs);
    free(m.views);
    free(m.resave);
    tocsin_sched_free(&m.sched);
    log_refusal(errors, before);
    return -1;
}

/* The service manager is told of the reload (RELOADING=1 before, READY=1
 * after, whether the new configuration was taken or refused, since the
 * daemon runs on either way) and of its outcome in STATUS=. */
int tocsin_daemon_reload(void *ud, struct tocsin_buf *errors, struct tocsin_buf *notes)
{
    struct tocsin_daemon *d = ud;
    int rc;

    tocsin_sdnotify_reloading(&d->sdnotify);
    rc = reload_conf(d, errors, notes);
    if (d->stopping)
        return rc;
    if (rc == 0)
        tocsin_sdnotify_status(&d->sdnotify, "READY=1",
                               "running: %zu services, %zu notifiers (reloaded)",
                               d->conf->nservices, d->conf->nnotifiers);
    else
        tocsin_sdnotify_status(&d->sdnotify, "READY=1",
                               "running: %zu services, %zu notifiers (the last reload "
                               "was refused: its configuration has errors)",
                               d->conf->nservices, d->conf->nnotifiers);
    return rc;
}
