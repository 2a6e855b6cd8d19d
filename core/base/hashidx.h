/*
 * hashidx.h - a hash index from names to the positions of the entries
 * that carry them: open addressing with linear probing over slots that
 * hold a position and the name's hash. The index stores no names; it asks
 * its owner for the name at a position, so the entries may live in an
 * array that grows (and moves) while the index is in use.
 *
 * Use:
 *     struct tocsin_hashidx ix;
 *     tocsin_hashidx_init(&ix, name_at, conf);   // name_at(conf, i)
 *     if (tocsin_hashidx_add(&ix, "db-main", 0) < 0) ...out of memory...
 *     long i = tocsin_hashidx_find(&ix, "db-main");  // 0, or -1
 *     tocsin_hashidx_free(&ix);
 *
 * Entries are only ever added; there is no removal. A name added twice is
 * kept twice and find returns the position added first.
 */
#ifndef TOCSIN_HASHIDX_H
#define TOCSIN_HASHIDX_H

#include <stddef.h>
#include <stdint.h>

/* The name of the entry at position `pos`, as the owner `ud` holds it.
 * Called on every find (to confirm a candidate) but never on growth. */
typedef const char *(*tocsin_hashidx_name_fn)(const void *ud, uint32_t pos);

struct tocsin_hashidx_slot {
    uint32_t pos1;                 /* position + 1; 0 marks a free slot */
    uint32_t hash;                 /* low bits of the name's FNV-1a hash */
};

struct tocsin_hashidx {
    struct tocsin_hashidx_slot *slots; /* cap entries, at most half used */
    size_t cap;                    /* 0 or a power of two */
    size_t count;                  /* positions added */
    tocsin_hashidx_name_fn name_at;
    const void *ud;                /* passed to name_at */
};

/* An empty index over the entries `name_at(ud, pos)` names. Allocates
 * nothing. */
void tocsin_hashidx_init(struct tocsin_hashidx *ix, tocsin_hashidx_name_fn name_at,
                         const void *ud);

/* Index position `pos` under `name` (the name name_at gives for pos).
 * Returns 0, or -1 when memory runs out (the index is unchanged).
 * O(1) amortised: the slots double when half are used. */
int tocsin_hashidx_add(struct tocsin_hashidx *ix, const char *name, uint32_t pos);

/* The position of the entry named `name`, or -1. O(1) on average. */
long tocsin_hashidx_find(const struct tocsin_hashidx *ix, const char *name);

/* Release the slots; the index is empty again and may be reused. */
void tocsin_hashidx_free(struct tocsin_hashidx *ix);

#endif
