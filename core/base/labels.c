/*
 * labels.c - label matching, shared by groups, routes and filters. See
 * labels.h.
 */
#include <string.h>

#include "base/labels.h"

int tocsin_labels_has(const struct tocsin_label *have, size_t nhave,
                      const char *key, size_t keylen, const char *value)
{
    size_t i;

    for (i = 0; i < nhave; i++)
        if (strlen(have[i].key) == keylen && memcmp(have[i].key, key, keylen) == 0)
            return strcmp(have[i].value, value) == 0;
    return 0;
}

int tocsin_labels_has_kv(const struct tocsin_label *have, size_t nhave, const char *kv)
{
    const char *eq = strchr(kv, '=');

    return eq ? tocsin_labels_has(have, nhave, kv, (size_t)(eq - kv), eq + 1) : 0;
}

int tocsin_labels_match(const struct tocsin_label *have, size_t nhave,
                        const struct tocsin_label *want, size_t nwant)
{
    size_t i;

    for (i = 0; i < nwant; i++)
        if (!tocsin_labels_has(have, nhave, want[i].key, strlen(want[i].key), want[i].value))
            return 0;
    return 1;
}
