/*
 * scheduler.c - the due-time heap. See scheduler.h.
 */
#include "engine/scheduler.h"
#include "tocsin-plugin.h"

#include <stdlib.h>
#include <string.h>

int tocsin_sched_init(struct tocsin_sched *s, uint32_t nids)
{
    uint32_t i;

    s->count = 0;
    s->nids = nids;
    s->heap = malloc((nids ? nids : 1) * sizeof(*s->heap));
    s->pos = malloc((nids ? nids : 1) * sizeof(*s->pos));
    if (!s->heap || !s->pos) {
        tocsin_sched_free(s);
        return -1;
    }
    for (i = 0; i < nids; i++)
        s->pos[i] = TOCSIN_SCHED_NONE;
    return 0;
}

void tocsin_sched_free(struct tocsin_sched *s)
{
    free(s->heap);
    free(s->pos);
    s->heap = NULL;
    s->pos = NULL;
    s->count = 0;
    s->nids = 0;
}

/* Earlier due first; equal due times run in id order. */
static int before(const struct tocsin_sched_item *a, const struct tocsin_sched_item *b)
{
    return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void place(struct tocsin_sched *s, size_t i, struct tocsin_sched_item it)
{
    s->heap[i] = it;
    s->pos[it.id] = (uint32_t)i;
}

static void sift_up(struct tocsin_sched *s, size_t i)
{
    struct tocsin_sched_item it = s->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (!before(&it, &s->heap[parent]))
            break;
        place(s, i, s->heap[parent]);
        i = parent;
    }
    place(s, i, it);
}

static void sift_down(struct tocsin_sched *s, size_t i)
{
    struct tocsin_sched_item it = s->heap[i];

    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct tocsin_sched_item *best = &it;

        if (l < s->count && before(&s->heap[l], best)) {
            m = l;
            best = &s->heap[l];
        }
        if (r < s->count && before(&s->heap[r], best))
            m = r;
        if (m == i)
            break;
        place(s, i, s->heap[m]);
        i = m;
    }
    place(s, i, it);
}

void tocsin_sched_set(struct tocsin_sched *s, uint32_t id, int64_t due)
{
    uint32_t p;

    if (id >= s->nids)
        return;
    p = s->pos[id];
    if (p == TOCSIN_SCHED_NONE) {
        p = (uint32_t)s->count++;
        place(s, p, (struct tocsin_sched_item){due, id});
        sift_up(s, p);
        return;
    }
    if (due < s->heap[p].due) {
        s->heap[p].due = due;
        sift_up(s, p);
    } else {
        s->heap[p].due = due;
        sift_down(s, p);
    }
}

void tocsin_sched_remove(struct tocsin_sched *s, uint32_t id)
{
    uint32_t p;
    struct tocsin_sched_item last;

    if (id >= s->nids || (p = s->pos[id]) == TOCSIN_SCHED_NONE)
        return;
    s->pos[id] = TOCSIN_SCHED_NONE;
    last = s->heap[--s->count];
    if (p == s->count)
        return;
    place(s, p, last);
    if (p > 0 && before(&last, &s->heap[(p - 1) / 2]))
        sift_up(s, p);
    else
        sift_down(s, p);
}

int tocsin_sched_has(const struct tocsin_sched *s, uint32_t id)
{
    return id < s->nids && s->pos[id] != TOCSIN_SCHED_NONE;
}

int tocsin_sched_peek(const struct tocsin_sched *s, struct tocsin_sched_item *out)
{
    if (s->count == 0)
        return -1;
    *out = s->heap[0];
    return 0;
}

int tocsin_sched_pop(struct tocsin_sched *s, struct tocsin_sched_item *out)
{
    if (s->count == 0)
        return -1;
    *out = s->heap[0];
    tocsin_sched_remove(s, out->id);
    return 0;
}

/* Where a spread's hash starts: the value it has always had, so that a
 * service keeps its place in its interval from one release to the next. */
#define SPREAD_SEED 1469598103934665603ULL

/* FNV-1a, then a final mix so that similar names land far apart. */
int64_t tocsin_sched_spread(const char *name, int64_t interval_us)
{
    uint64_t h;

    if (interval_us <= 0)
        return 0;
    h = tocsin_fnv1a(SPREAD_SEED, name);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (int64_t)(h % (uint64_t)interval_us);
}

int64_t tocsin_sched_next(int64_t due, int64_t interval_us, int64_t now)
{
    int64_t next = due + interval_us;

    if (interval_us <= 0)
        return now;
    if (next <= now)
        next += ((now - next) / interval_us + 1) * interval_us;
    return next;
}

int64_t tocsin_sched_due(const struct tocsin_sched *s, uint32_t id)
{
    if (id >= s->nids || s->pos[id] == TOCSIN_SCHED_NONE)
        return -1;
    return s->heap[s->pos[id]].due;
}
