/*
 * service.c - soft/hard states and flap detection. See service.h.
 */
#include "engine/service.h"

#include <string.h>

void tocsin_svc_init(struct tocsin_svc_state *st)
{
    memset(st, 0, sizeof(*st));
    st->state = TOCSIN_OK;
    st->hard_state = TOCSIN_OK;
    st->is_hard = 1;
    st->attempt = 1;
}

double tocsin_flap_percent(const unsigned char *states, int n)
{
    const double low = 0.75, high = 1.25;
    double changes = 0;
    int x;

    for (x = 1; x < n; x++)
        if (states[x] != states[x - 1])
            changes += (double)(x - 1) * (high - low) / (TOCSIN_FLAP_HISTORY - 2) + low;
    return changes * 100.0 / (TOCSIN_FLAP_HISTORY - 1);
}

/* Record `state` in the ring and recompute flapping. */
static void flap_update(struct tocsin_svc_state *st, enum tocsin_state state,
                        const struct tocsin_flap_conf *flap,
                        struct tocsin_svc_change *ch)
{
    unsigned char ordered[TOCSIN_FLAP_HISTORY];
    int i, start;

    st->history[st->hist_next] = (unsigned char)state;
    st->hist_next = (unsigned char)((st->hist_next + 1) % TOCSIN_FLAP_HISTORY);
    if (st->hist_count < TOCSIN_FLAP_HISTORY)
        st->hist_count++;
    start = st->hist_count < TOCSIN_FLAP_HISTORY ? 0 : st->hist_next;
    for (i = 0; i < st->hist_count; i++)
        ordered[i] = st->history[(start + i) % TOCSIN_FLAP_HISTORY];
    st->flap_percent = tocsin_flap_percent(ordered, st->hist_count);

    if (!flap || !flap->enabled) {
        if (st->flapping)
            ch->flap_stopped = ch->flap_disabled = 1;
        st->flapping = 0;
        return;
    }
    if (!st->flapping && st->flap_percent >= flap->high) {
        st->flapping = 1;
        ch->flap_started = 1;
    } else if (st->flapping && st->flap_percent < flap->low) {
        st->flapping = 0;
        ch->flap_stopped = 1;
    }
}

/* Attempts are counted up to this when hard_after decides, not max_attempts. */
#define ATTEMPT_MAX 1000000

void tocsin_svc_apply_timed(struct tocsin_svc_state *st, enum tocsin_state result,
                            int max_attempts, int64_t hard_after_ms, int64_t now_ms,
                            const struct tocsin_flap_conf *flap,
                            struct tocsin_svc_change *ch)
{
    enum tocsin_state prev = st->state;
    int timed = hard_after_ms > 0;

    memset(ch, 0, sizeof(*ch));
    ch->first = !st->checked;
    ch->state_changed = st->checked && result != prev;
    ch->old_hard = st->hard_state;
    if (max_attempts < 1)
        max_attempts = 1;

    if (result == TOCSIN_OK) {
        if (prev != TOCSIN_OK && st->is_hard) {
            ch->hard_change = 1;        /* hard recovery */
        } else if (prev != TOCSIN_OK) {
            ch->soft_recovery = 1;      /* the problem never became hard */
        }
        st->hard_state = TOCSIN_OK;
        st->is_hard = 1;
        st->attempt = 1;
        st->problem_since_ms = 0;
    } else if (prev == TOCSIN_OK) {
        st->attempt = 1;
        st->problem_since_ms = now_ms;
        if (!timed && max_attempts == 1) {
            st->is_hard = 1;
            ch->hard_change = 1;
            st->hard_state = result;
        } else {
            st->is_hard = 0;
            ch->soft_problem = 1;
        }
    } else if (st->is_hard) {
        /* Already a hard problem: a change between problem states is a
         * hard change at once. */
        if (result != st->hard_state)
            ch->hard_change = 1;
        st->hard_state = result;
        if (st->problem_since_ms <= 0 || st->problem_since_ms > now_ms)
            st->problem_since_ms = now_ms;
    } else {
        int hard;

        if (st->problem_since_ms <= 0 || st->problem_since_ms > now_ms)
            st->problem_since_ms = now_ms;
        if (timed) {
            if (st->attempt < ATTEMPT_MAX)
                st->attempt++;
            hard = now_ms - st->problem_since_ms >= hard_after_ms;
        } else {
            st->attempt++;
            hard = st->attempt >= max_attempts;
            if (hard)
                st->attempt = max_attempts;
        }
        if (hard) {
            st->is_hard = 1;
            ch->hard_change = 1;
            st->hard_state = result;
        } else {
            ch->soft_problem = 1;
        }
    }
    st->state = result;
    st->checked = 1;
    ch->use_retry = result != TOCSIN_OK && !st->is_hard;
    flap_update(st, result, flap, ch);
}

void tocsin_svc_apply(struct tocsin_svc_state *st, enum tocsin_state result,
                      int max_attempts, const struct tocsin_flap_conf *flap,
                      struct tocsin_svc_change *ch)
{
    tocsin_svc_apply_timed(st, result, max_attempts, 0, 0, flap, ch);
}

int64_t tocsin_svc_hard_due_ms(const struct tocsin_svc_state *st, int64_t hard_after_ms)
{
    if (hard_after_ms <= 0 || !st->checked || st->is_hard || st->state == TOCSIN_OK)
        return -1;
    return st->problem_since_ms + hard_after_ms;
}
