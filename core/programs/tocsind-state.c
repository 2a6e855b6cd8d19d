/*
 * tocsind-state.c - each service's state in the daemon: its view is the
 * one record of it, with the flap ring beside it; the state machine
 * (engine/service.h) works on the two put together. What a restart must
 * not forget is saved in the store on every change and restored at start.
 */
#include <stdlib.h>
#include <string.h>

#include "alerting/saved.h"
#include "programs/tocsind.h"

/* Before its first result a service's view is all zero; the machine then
 * starts from tocsin_svc_init(). O(1). */
void tocsin_daemon_state_get(const struct tocsin_daemon *d, uint32_t svc,
                             struct tocsin_svc_state *st)
{
    const struct tocsin_svc_view *v = &d->views[svc];
    const struct tocsin_daemon_svc *ds = &d->svcs[svc];

    tocsin_svc_init(st);
    if (!v->checked)
        return;
    st->state = v->state;
    st->hard_state = v->hard_state;
    st->is_hard = v->is_hard;
    st->attempt = v->attempt;
    st->checked = 1;
    st->flapping = v->flapping;
    memcpy(st->history, ds->history, sizeof(st->history));
    st->hist_count = ds->hist_count;
    st->hist_next = ds->hist_next;
    st->flap_percent = ds->flap_percent;
    st->problem_since_ms = ds->problem_since_ms;
}

void tocsin_daemon_state_put(struct tocsin_daemon *d, uint32_t svc,
                             const struct tocsin_svc_state *st)
{
    struct tocsin_svc_view *v = &d->views[svc];
    struct tocsin_daemon_svc *ds = &d->svcs[svc];

    v->state = st->state;
    v->hard_state = st->hard_state;
    v->is_hard = st->is_hard;
    v->attempt = st->attempt;
    v->checked = st->checked;
    v->flapping = st->flapping;
    memcpy(ds->history, st->history, sizeof(ds->history));
    ds->hist_count = st->hist_count;
    ds->hist_next = st->hist_next;
    ds->flap_percent = st->flap_percent;
    ds->problem_since_ms = st->problem_since_ms;
}

/* The hashes are kept for a reload, which compares them with the new
 * configuration's, and for restoring records of older tocsinds, which
 * saved them. The flags of states not saved yet are made for the
 * configuration too: should any be set, every service of the new one is
 * (its indices are not the old ones). O(services). */
int tocsin_daemon_hash_services(struct tocsin_daemon *d)
{
    size_t i, n = d->conf->nservices ? d->conf->nservices : 1;
    unsigned char *unsaved = calloc(n, 1);

    free(d->svc_hash);
    d->svc_hash = calloc(n, sizeof(uint64_t));
    if (!d->svc_hash || !unsaved) {
        free(unsaved);
        return -1;
    }
    for (i = 0; i < d->conf->nservices; i++)
        d->svc_hash[i] = tocsin_config_service_hash(&d->conf->services[i]);
    if (d->nunsaved) {
        memset(unsaved, 1, d->conf->nservices);
        d->nunsaved = d->conf->nservices;
    }
    free(d->svc_unsaved);
    d->svc_unsaved = unsaved;
    return 0;
}

/* Write the saved record of `svc`, in the service format of
 * alerting/saved.h, with the hash of what makes the service's check
 * (tocsin_config_service_check_hash), so that a change the state survives
 * keeps it across a restart too. Returns 0 or -1 (logged). */
static int save_one(struct tocsin_daemon *d, uint32_t svc)
{
    struct tocsin_buf blob = TOCSIN_BUF_INIT;
    struct tocsin_saved_service ss;
    int rc = -1;

    memset(&ss, 0, sizeof(ss));
    ss.hash = tocsin_config_service_check_hash(&d->conf->services[svc]);
    tocsin_daemon_state_get(d, svc, &ss.st);
    ss.last_change = d->views[svc].last_change;
    ss.last_check = d->views[svc].last_check;
    ss.output = d->views[svc].output ? d->views[svc].output : "";
    if (tocsin_saved_service_encode(&blob, &ss) == 0)
        rc = tocsin_state_put(d->store, TOCSIN_SAVED_STATE_SERVICE,
                              d->conf->services[svc].inst.name, blob.data, blob.len);
    tocsin_buf_free(&blob);
    return rc;
}

/* Flag `svc`'s state as not saved yet. */
static void mark_unsaved(struct tocsin_daemon *d, uint32_t svc)
{
    if (!d->svc_unsaved[svc]) {
        d->svc_unsaved[svc] = 1;
        d->nunsaved++;
    }
}

/* Called on state changes only, so that a restart neither re-alerts nor
 * forgets a problem (results that change nothing are not written). The
 * record is in the service format of alerting/saved.h. One store write.
 * It never goes ahead of alerting: while alerting keeps hard changes the
 * store has not taken, the state waits too (a restart must find the hard
 * state its incident was judged from). */
void tocsin_daemon_save_service(struct tocsin_daemon *d, uint32_t svc)
{
    if (!d->store)
        return;
    if ((d->alerting && tocsin_alerting_unsaved(d->alerting)) || d->svc_unsaved[svc] ||
        save_one(d, svc) < 0)
        mark_unsaved(d, svc);
}

/* One transaction for every state flagged; a failure tries again 5 s
 * later. O(services). */
void tocsin_daemon_save_unsaved(struct tocsin_daemon *d, int64_t wall_ms)
{
    size_t i;

    if (!d->store || !d->nunsaved || wall_ms < d->save_retry_ms ||
        (d->alerting && tocsin_alerting_unsaved(d->alerting)))
        return;
    if (tocsin_store_begin(d->store) == 0) {
        /* A write that fails makes the commit fail: no result to look at. */
        for (i = 0; i < d->conf->nservices; i++)
            if (d->svc_unsaved[i])
                save_one(d, (uint32_t)i);
        if (tocsin_store_commit(d->store) == 0) {
            memset(d->svc_unsaved, 0, d->conf->nservices);
            d->nunsaved = 0;
            return;
        }
    }
    d->save_retry_ms = wall_ms + 5000;
}

/* One saved record: taken when its service still exists with the same
 * check (the record's hash is its check hash; one saved by an older
 * tocsind holds the hash of the whole definition, which must then be
 * unchanged) and had a result; one that cannot be read is skipped (the
 * decoder has said why). O(1) (the configuration's name index). */
static int restore_service(void *ud, const char *name, const void *blob, size_t len)
{
    struct tocsin_daemon *d = ud;
    struct tocsin_saved_service ss;
    struct tocsin_buf what = TOCSIN_BUF_INIT;
    long svc = tocsin_config_find_service(d->conf, name);
    struct tocsin_svc_view *v;
    int rc;

    if (svc < 0)
        return 0;
    tocsin_buf_printf(&what, "saved state of service '%s'", name);
    rc = tocsin_saved_service_decode(blob, len, tocsin_buf_str(&what), &ss);
    tocsin_buf_free(&what);
    if (rc < 0)
        return 0;
    if ((ss.hash == d->svc_hash[svc] ||
         ss.hash == tocsin_config_service_check_hash(&d->conf->services[svc])) &&
        ss.st.checked) {
        tocsin_daemon_state_put(d, (uint32_t)svc, &ss.st);
        v = &d->views[svc];
        v->last_change = (time_t)ss.last_change;
        v->last_check = (time_t)ss.last_check;
        free(v->output);
        v->output = strdup(ss.output);
    } /* else redefined since: it starts afresh */
    tocsin_saved_service_free(&ss);
    return 0;
}

/* Reads every saved service record: O(records). */
void tocsin_daemon_restore_services(struct tocsin_daemon *d)
{
    if (d->store)
        tocsin_state_each(d->store, TOCSIN_SAVED_STATE_SERVICE, restore_service, d);
}
