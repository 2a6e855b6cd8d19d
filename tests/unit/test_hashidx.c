/*
 * test_hashidx.c - the name -> position hash index (core/base/hashidx.c):
 * finding what was added, missing names, growth past the first table,
 * entries that move while indexed, and a name added twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/hashidx.h"

#define MANY 5000

struct names {
    char (*at)[16];                /* the owner's array; may move */
};

static const char *name_at(const void *ud, uint32_t i)
{
    return ((const struct names *)ud)->at[i];
}

static void empty_index_finds_nothing(void **state)
{
    struct names n = { NULL };
    struct tocsin_hashidx ix;

    (void)state;
    tocsin_hashidx_init(&ix, name_at, &n);
    assert_int_equal(tocsin_hashidx_find(&ix, "db-main"), -1);
    tocsin_hashidx_free(&ix);
}

static void finds_every_name_added_after_growth(void **state)
{
    struct names n;
    struct tocsin_hashidx ix;
    char probe[16];
    uint32_t i;

    (void)state;
    n.at = calloc(MANY, sizeof(*n.at));
    assert_non_null(n.at);
    tocsin_hashidx_init(&ix, name_at, &n);
    for (i = 0; i < MANY; i++) {
        snprintf(n.at[i], sizeof(n.at[i]), "svc-%u", i);
        assert_int_equal(tocsin_hashidx_add(&ix, n.at[i], i), 0);
    }
    assert_true(ix.cap >= 2 * MANY);
    for (i = 0; i < MANY; i++) {
        snprintf(probe, sizeof(probe), "svc-%u", i);
        assert_int_equal(tocsin_hashidx_find(&ix, probe), (long)i);
    }
    assert_int_equal(tocsin_hashidx_find(&ix, "svc-5000"), -1);
    assert_int_equal(tocsin_hashidx_find(&ix, ""), -1);
    tocsin_hashidx_free(&ix);
    assert_int_equal(tocsin_hashidx_find(&ix, "svc-1"), -1);
    free(n.at);
}

static void entries_may_move_while_indexed(void **state)
{
    struct names n;
    struct tocsin_hashidx ix;
    uint32_t i;

    (void)state;
    n.at = calloc(2, sizeof(*n.at));
    assert_non_null(n.at);
    tocsin_hashidx_init(&ix, name_at, &n);
    for (i = 0; i < 200; i++) {
        char (*p)[16] = realloc(n.at, (i + 1) * sizeof(*n.at));

        assert_non_null(p);
        n.at = p;
        snprintf(n.at[i], sizeof(n.at[i]), "n%u", i);
        assert_int_equal(tocsin_hashidx_add(&ix, n.at[i], i), 0);
    }
    assert_int_equal(tocsin_hashidx_find(&ix, "n0"), 0);
    assert_int_equal(tocsin_hashidx_find(&ix, "n199"), 199);
    tocsin_hashidx_free(&ix);
    free(n.at);
}

static void a_name_added_twice_finds_the_first(void **state)
{
    char at[3][16] = { "web", "db", "web" };
    struct names n = { at };
    struct tocsin_hashidx ix;

    (void)state;
    tocsin_hashidx_init(&ix, name_at, &n);
    assert_int_equal(tocsin_hashidx_add(&ix, "web", 0), 0);
    assert_int_equal(tocsin_hashidx_add(&ix, "db", 1), 0);
    assert_int_equal(tocsin_hashidx_add(&ix, "web", 2), 0);
    assert_int_equal(tocsin_hashidx_find(&ix, "web"), 0);
    assert_int_equal(tocsin_hashidx_find(&ix, "db"), 1);
    tocsin_hashidx_free(&ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_index_finds_nothing),
        cmocka_unit_test(finds_every_name_added_after_growth),
        cmocka_unit_test(entries_may_move_while_indexed),
        cmocka_unit_test(a_name_added_twice_finds_the_first),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
