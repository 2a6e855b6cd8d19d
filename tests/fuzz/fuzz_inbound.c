/*
 * fuzz_inbound.c - fuzz harness for the parsers of submitted results
 * (serve/inbound.c): the body of POST /api/v1/results (JSON or Nagios
 * PROCESS_SERVICE_CHECK_RESULT lines) and of POST /api/v1/alertmanager.
 *
 * Input: byte 0 chooses the parser (even: results, odd: Alertmanager),
 * the rest is the body.
 * Invariants: a refusal leaves no result and gives a reason; an accepted
 * body holds 1..TOCSIN_INBOUND_ITEMS_MAX results, each with a service
 * name of 1..200 bytes without control characters, a state 0..3, an
 * output and, if any, a host like a service name; every result, written
 * back as the JSON form, parses again into the same result.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "serve/inbound.h"

/* A name as the parsers promise it. */
static void check_name(const char *what, const char *s)
{
    size_t i, n;

    FUZZ_CHECK(s != NULL, "%s is NULL", what);
    n = strlen(s);
    FUZZ_CHECK(n >= 1 && n <= 200, "%s of %zu bytes", what, n);
    for (i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f,
                   "%s \"%s\" has a control character", what, s);
}

/* Write `it` as the JSON form and parse it again: the same result. */
static void round_trip(const struct tocsin_inbound_item *it)
{
    struct tocsin_inbound again;
    json_t *o = json_object(), *svc = json_string(it->service);
    json_t *out = json_string(it->output), *host = it->host ? json_string(it->host) : NULL;
    char err[512], *text = NULL;

    /* Text that is not UTF-8 (a Nagios line may carry any bytes) has no
     * JSON form: jansson refuses it, and there is nothing to compare. */
    if (!o || !svc || !out || (it->host && !host)) {
        json_decref(o);
        json_decref(svc);
        json_decref(out);
        json_decref(host);
        return;
    }
    json_object_set_new(o, "service", svc);
    json_object_set_new(o, "state", json_integer(it->state));
    json_object_set_new(o, "output", out);
    if (host)
        json_object_set_new(o, "host", host);
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return;
    if (strlen(text) <= TOCSIN_INBOUND_BODY_MAX) {
        FUZZ_CHECK(tocsin_inbound_parse_results(text, strlen(text), &again, err,
                                                sizeof(err)) == 0,
                   "%s was refused: %s", text, err);
        FUZZ_CHECK(again.n == 1, "%s parsed into %zu results", text, again.n);
        FUZZ_CHECK(strcmp(again.items[0].service, it->service) == 0 &&
                   again.items[0].state == it->state &&
                   strcmp(again.items[0].output, it->output) == 0 &&
                   !again.items[0].host == !it->host &&
                   (!it->host || strcmp(again.items[0].host, it->host) == 0),
                   "%s came back as another result", text);
        tocsin_inbound_free(&again);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tocsin_inbound in;
    char err[512];
    size_t i;
    int rc;

    if (size < 1)
        return 0;
    err[0] = '\0';
    rc = (data[0] & 1 ? tocsin_inbound_parse_alertmanager
                      : tocsin_inbound_parse_results)((const char *)data + 1, size - 1, &in,
                                                      err, sizeof(err));
    if (rc < 0) {
        FUZZ_CHECK(in.n == 0 && in.items == NULL, "a refusal left %zu results", in.n);
        FUZZ_CHECK(err[0] != '\0', "a refusal without a reason");
        return 0;
    }
    FUZZ_CHECK(rc == 0, "parse returned %d", rc);
    FUZZ_CHECK(in.n >= 1 && in.n <= TOCSIN_INBOUND_ITEMS_MAX, "%zu results", in.n);
    for (i = 0; i < in.n; i++) {
        const struct tocsin_inbound_item *it = &in.items[i];

        check_name("service", it->service);
        if (it->host)
            check_name("host", it->host);
        FUZZ_CHECK(it->state >= 0 && it->state <= 3, "state %d", it->state);
        FUZZ_CHECK(it->output != NULL, "result %zu has no output", i);
        round_trip(it);
    }
    tocsin_inbound_free(&in);
    return 0;
}
