/*
 * test_labels.c - label matching (core/base/labels.c): every wanted label
 * present with its value, a missing key, another value, an empty
 * selector, a key given by length, and a "K=V" filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/labels.h"

static const struct tocsin_label have[] = {
    { "component", "database" }, { "team", "dba" }
};

static void all_wanted_labels_present_match(void **state)
{
    const struct tocsin_label want[] = { { "team", "dba" }, { "component", "database" } };

    (void)state;
    assert_int_equal(tocsin_labels_match(have, 2, want, 2), 1);
    assert_int_equal(tocsin_labels_match(have, 2, want, 1), 1);
}

static void a_missing_key_or_another_value_does_not_match(void **state)
{
    const struct tocsin_label other_value[] = { { "team", "web" } };
    const struct tocsin_label missing[] = { { "team", "dba" }, { "site", "paris" } };

    (void)state;
    assert_int_equal(tocsin_labels_match(have, 2, other_value, 1), 0);
    assert_int_equal(tocsin_labels_match(have, 2, missing, 2), 0);
    assert_int_equal(tocsin_labels_match(NULL, 0, missing, 1), 0);
}

static void an_empty_selector_matches_anything(void **state)
{
    (void)state;
    assert_int_equal(tocsin_labels_match(have, 2, NULL, 0), 1);
    assert_int_equal(tocsin_labels_match(NULL, 0, NULL, 0), 1);
}

static void a_key_given_by_length(void **state)
{
    const char *filter = "team=dba";

    (void)state;
    assert_int_equal(tocsin_labels_has(have, 2, filter, 4, "dba"), 1);
    assert_int_equal(tocsin_labels_has(have, 2, filter, 3, "dba"), 0); /* "tea" */
    assert_int_equal(tocsin_labels_has(have, 2, "component", 9, "web"), 0);
}

static void a_key_value_filter(void **state)
{
    (void)state;
    assert_int_equal(tocsin_labels_has_kv(have, 2, "team=dba"), 1);
    assert_int_equal(tocsin_labels_has_kv(have, 2, "component=database"), 1);
    assert_int_equal(tocsin_labels_has_kv(have, 2, "team=db"), 0);
    assert_int_equal(tocsin_labels_has_kv(have, 2, "tea=dba"), 0);
    assert_int_equal(tocsin_labels_has_kv(have, 2, "team"), 0);
    assert_int_equal(tocsin_labels_has_kv(have, 2, "=dba"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_wanted_labels_present_match),
        cmocka_unit_test(a_missing_key_or_another_value_does_not_match),
        cmocka_unit_test(an_empty_selector_matches_anything),
        cmocka_unit_test(a_key_given_by_length),
        cmocka_unit_test(a_key_value_filter),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
