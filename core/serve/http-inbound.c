/*
 * http-inbound.c - POST /api/v1/results and POST /api/v1/alertmanager:
 * results from outside for passive services. The whole request is judged
 * before anything is handed on: a token that may submit for every service
 * named, every service known and taking passive results; then each result
 * goes to the daemon through ops.submit, which applies it on its next
 * turn. A refused request changes nothing. See docs/inbound.md.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "serve/http-internal.h"
#include "serve/inbound.h"
#include "serve/svc-json.h"
#include "base/log.h"
#include "tocsin-plugin.h"

/* Which token the request carries: *admin when the endpoint's bearer
 * token, else the api_token it is (NULL: none matches). Every token is
 * compared, each in time that depends only on the lengths. Returns 0, or
 * -1 when no Authorization: Bearer header was sent. */
static int which_token(const struct tocsin_httpd *h, struct MHD_Connection *c, int *admin,
                       const struct tocsin_http_api_token **tok)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    size_t i;

    *admin = 0;
    *tok = NULL;
    if (!v || strncasecmp(v, "Bearer ", 7) != 0)
        return -1;
    v += 7;
    while (*v == ' ')
        v++;
    if (h->token && tocsin_http_token_equal(v, h->token))
        *admin = 1;
    for (i = 0; i < h->napi_tokens; i++)
        if (tocsin_http_token_equal(v, h->api_tokens[i].token) && !*tok)
            *tok = &h->api_tokens[i];
    return 0;
}

/* Refuse with `code` and {"error": msg}; counted. */
static enum MHD_Result refuse(struct tocsin_httpd *h, struct MHD_Connection *c, unsigned code,
                              const char *msg, const char *hdr, const char *hdr_value)
{
    h->results_refused++;
    return tocsin_http_json_error(c, code, msg, hdr, hdr_value);
}

/* Is item `it` one the request may submit? Sets `why` and the status
 * code when not. O(1) plus the token's patterns. */
static unsigned judge_item(const struct tocsin_httpd *h, const struct tocsin_inbound_item *it,
                           int admin, const struct tocsin_http_api_token *tok, char *why,
                           size_t len)
{
    const struct tocsin_config *conf = h->status->conf;
    long k = tocsin_config_find_service(conf, it->service);
    const struct tocsin_service_conf *s;

    if (!admin && !tocsin_inbound_allowed(tok->services, tok->nservices, it->service)) {
        snprintf(why, len, "api_token '%s' may not submit results for service '%s'",
                 tok->name, it->service);
        return MHD_HTTP_FORBIDDEN;
    }
    if (k < 0) {
        snprintf(why, len, "no service named '%s'", it->service);
        return MHD_HTTP_NOT_FOUND;
    }
    s = &conf->services[k];
    if (it->host && strcmp(it->host, s->host) != 0) {
        snprintf(why, len, "no service '%s' on host '%s' (its host is '%s')", it->service,
                 it->host, s->host);
        return MHD_HTTP_NOT_FOUND;
    }
    if (!s->accept_passive) {
        snprintf(why, len, "service '%s' takes no submitted results (set passive = true, "
                 "or accept_passive = true beside its check)", it->service);
        return MHD_HTTP_CONFLICT;
    }
    return 0;
}

enum MHD_Result tocsin_http_serve_inbound(struct tocsin_httpd *h, struct MHD_Connection *c,
                                          struct tocsin_http_post *post, int alertmanager)
{
    const struct tocsin_http_api_token *tok;
    struct tocsin_inbound in;
    struct tocsin_buf body = TOCSIN_BUF_INIT;
    char why[512];
    json_t *o, *names;
    int admin, bad = 0;
    unsigned code;
    size_t i;

    if (which_token(h, c, &admin, &tok) < 0)
        return refuse(h, c, MHD_HTTP_UNAUTHORIZED,
                      h->token || h->napi_tokens
                          ? "a bearer token is required (Authorization: Bearer TOKEN)"
                          : "a bearer token is required, and none is configured "
                            "(http { api_token \"NAME\" { token_file = ... } })",
                      MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tocsind\"");
    if (!admin && !tok)
        return refuse(h, c, MHD_HTTP_UNAUTHORIZED, "the bearer token is not right",
                      MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                      "Bearer realm=\"tocsind\", error=\"invalid_token\"");
    if (post->too_large) {
        snprintf(why, sizeof(why), "the body is larger than %d bytes",
                 TOCSIN_INBOUND_BODY_MAX);
        return refuse(h, c, 413, why, NULL, NULL);
    }
    if (!h->ops.submit)
        return refuse(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "this server takes no results",
                      NULL, NULL);
    if ((alertmanager ? tocsin_inbound_parse_alertmanager
                      : tocsin_inbound_parse_results)(post->body.data ? post->body.data : "",
                                                      post->body.len, &in, why,
                                                      sizeof(why)) < 0)
        return refuse(h, c, MHD_HTTP_BAD_REQUEST, why, NULL, NULL);
    for (i = 0; i < in.n; i++) {
        code = judge_item(h, &in.items[i], admin, tok, why, sizeof(why));
        if (code) {
            tocsin_inbound_free(&in);
            return refuse(h, c, code, why, NULL, NULL);
        }
    }
    names = json_array();
    bad = !names;
    for (i = 0; i < in.n; i++) {
        if (h->ops.submit(h->ops.ud, in.items[i].service, in.items[i].state,
                          in.items[i].output) < 0) {
            /* Those before were taken: say how far it went. */
            snprintf(why, sizeof(why), "out of memory after %zu of %zu results", i, in.n);
            tocsin_inbound_free(&in);
            json_decref(names);
            return tocsin_http_json_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, why, NULL, NULL);
        }
        h->results_accepted++;
        tocsin_json_push(names, tocsin_json_text(in.items[i].service), &bad);
    }
    tocsin_debug("http: took %zu submitted result%s (%s)", in.n, in.n == 1 ? "" : "s",
                 admin ? "bearer token" : tok->name);
    o = json_object();
    tocsin_json_set(o, "accepted", json_integer((json_int_t)in.n), &bad);
    tocsin_json_set(o, "services", names, &bad);
    tocsin_inbound_free(&in);
    tocsin_http_json_body(o, bad || !o, &body);
    return tocsin_http_respond(c, MHD_HTTP_ACCEPTED, CT_JSON, &body, NULL, NULL);
}
