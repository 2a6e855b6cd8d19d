/*
 * scheduler.h - when each service runs next: a binary min-heap of due times
 * (microseconds on the monotonic clock) keyed by service id, plus the
 * arithmetic of spreading first runs and keeping each service's phase.
 *
 * Cost: push, pop, update and remove are O(log n); peek is O(1).
 */
#ifndef TOCSIN_SCHEDULER_H
#define TOCSIN_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#define TOCSIN_SCHED_NONE UINT32_MAX

struct tocsin_sched_item {
    int64_t due;    /* when it is due, monotonic microseconds */
    uint32_t id;    /* service id, 0..capacity-1 */
};

struct tocsin_sched {
    struct tocsin_sched_item *heap; /* heap[0] is the earliest */
    size_t count;
    uint32_t *pos;                  /* pos[id]: index in heap, or NONE */
    uint32_t nids;                  /* capacity in ids */
};

/* When `id` is due, or -1 when it is not scheduled. O(1). */
int64_t tocsin_sched_due(const struct tocsin_sched *s, uint32_t id);

/* Room for ids 0..nids-1. Returns 0 or -1 on oom. */
int tocsin_sched_init(struct tocsin_sched *s, uint32_t nids);
void tocsin_sched_free(struct tocsin_sched *s);

/* Schedule `id` at `due`, or move it there if already scheduled. */
void tocsin_sched_set(struct tocsin_sched *s, uint32_t id, int64_t due);

/* Unschedule `id` (no-op if not scheduled). */
void tocsin_sched_remove(struct tocsin_sched *s, uint32_t id);

/* 1 if `id` is scheduled. */
int tocsin_sched_has(const struct tocsin_sched *s, uint32_t id);

/* The earliest item, without removing it. Returns 0, or -1 when empty. */
int tocsin_sched_peek(const struct tocsin_sched *s, struct tocsin_sched_item *out);

/* Remove and return the earliest item. Returns 0, or -1 when empty. */
int tocsin_sched_pop(struct tocsin_sched *s, struct tocsin_sched_item *out);

/* The offset of a service's first run within its interval, derived from
 * its name so that a restart spreads services the same way: a value in
 * [0, interval_us). */
int64_t tocsin_sched_spread(const char *name, int64_t interval_us);

/* The next run after a run that was due at `due`: one interval later,
 * skipping whole intervals that are already past at `now`, so a service
 * keeps its phase and a stall never causes a burst of catch-up runs. */
int64_t tocsin_sched_next(int64_t due, int64_t interval_us, int64_t now);

#endif
