/*
 * svc-json.c - JSON text for the HTTP API and the control socket, with
 * invalid UTF-8 repaired by libtocsin's tocsin_utf8_clean(). See
 * svc-json.h.
 */
#include <stdlib.h>
#include <string.h>

#include "serve/svc-json.h"
#include "tocsin-plugin.h"

/*
 * Valid text (nearly all of it) costs one validation pass in jansson; only
 * text jansson refuses is copied and repaired. The repaired copy is freed
 * here.
 */
json_t *tocsin_json_textn(const char *s, size_t len)
{
    char *copy, *clean;
    json_t *j;

    if (!s)
        return json_null();
    j = json_stringn(s, len);
    if (j)
        return j;
    copy = strndup(s, len);
    clean = copy ? tocsin_utf8_clean(copy, TOCSIN_UTF8_REPLACEMENT) : NULL;
    j = clean ? json_string(clean) : NULL;
    free(clean);
    free(copy);
    return j;
}

json_t *tocsin_json_text(const char *s)
{
    return s ? tocsin_json_textn(s, strlen(s)) : json_null();
}

void tocsin_json_set(json_t *o, const char *key, json_t *v, int *bad)
{
    if (!v || !o || json_object_set_new(o, key, v) < 0) {
        if (!o)
            json_decref(v);
        *bad = 1;
    }
}

void tocsin_json_push(json_t *a, json_t *v, int *bad)
{
    if (!v || !a || json_array_append_new(a, v) < 0) {
        if (!a)
            json_decref(v);
        *bad = 1;
    }
}
