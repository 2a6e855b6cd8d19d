/*
 * hashidx.c - the name -> position hash index. See hashidx.h.
 */
#include <stdlib.h>
#include <string.h>

#include "base/hashidx.h"
#include "tocsin-plugin.h"

static uint32_t name_hash(const char *name)
{
    return (uint32_t)tocsin_fnv1a(TOCSIN_FNV1A_INIT, name);
}

void tocsin_hashidx_init(struct tocsin_hashidx *ix, tocsin_hashidx_name_fn name_at,
                         const void *ud)
{
    memset(ix, 0, sizeof(*ix));
    ix->name_at = name_at;
    ix->ud = ud;
}

/* Put `s` into the first free slot of its probe sequence. */
static void place(struct tocsin_hashidx_slot *slots, size_t cap, struct tocsin_hashidx_slot s)
{
    size_t i;

    for (i = s.hash & (cap - 1); slots[i].pos1; i = (i + 1) & (cap - 1))
        ;
    slots[i] = s;
}

/*
 * Double the slots (64 at first), moving every entry by its stored hash:
 * the owner's names are not read. Returns 0 or -1 on oom. O(cap).
 */
static int grow(struct tocsin_hashidx *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 64, i;
    struct tocsin_hashidx_slot *slots = calloc(cap, sizeof(*slots));

    if (!slots)
        return -1;
    for (i = 0; i < ix->cap; i++)
        if (ix->slots[i].pos1)
            place(slots, cap, ix->slots[i]);
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    return 0;
}

int tocsin_hashidx_add(struct tocsin_hashidx *ix, const char *name, uint32_t pos)
{
    struct tocsin_hashidx_slot s;

    if ((ix->count + 1) * 2 > ix->cap && grow(ix) < 0)
        return -1;
    s.pos1 = pos + 1;
    s.hash = name_hash(name);
    place(ix->slots, ix->cap, s);
    ix->count++;
    return 0;
}

long tocsin_hashidx_find(const struct tocsin_hashidx *ix, const char *name)
{
    uint32_t h;
    size_t i;

    if (!ix->cap)
        return -1;
    h = name_hash(name);
    for (i = h & (ix->cap - 1); ix->slots[i].pos1; i = (i + 1) & (ix->cap - 1))
        if (ix->slots[i].hash == h &&
            strcmp(ix->name_at(ix->ud, ix->slots[i].pos1 - 1), name) == 0)
            return (long)ix->slots[i].pos1 - 1;
    return -1;
}

void tocsin_hashidx_free(struct tocsin_hashidx *ix)
{
    free(ix->slots);
    ix->slots = NULL;
    ix->cap = 0;
    ix->count = 0;
}
