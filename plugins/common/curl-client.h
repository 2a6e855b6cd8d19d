/*
 * curl-client.h - the libcurl client the HTTP plugins share: the option
 * table fragments for TLS and basic authentication, the handle's common
 * setup, timeouts from a deadline, one POST with its answer, and the
 * reading of a failure. Built into a convenience library linked into each
 * plugin that uses libcurl, never into libtocsin (which stays free of
 * libcurl). Plugins include it as "common/curl-client.h".
 */
#ifndef TOCSIN_CURL_CLIENT_H
#define TOCSIN_CURL_CLIENT_H

#include <curl/curl.h>
#include <time.h>

#include "tocsin-plugin.h"

/* TLS options, spliced into a plugin's cfg_opt_t table: the CA bundle,
 * a client certificate and its key, and turning verification off. A
 * plugin that has only some of them splices those. */
#define TOCSIN_CURL_OPT_CA_FILE CFG_STR("ca_file", "", CFGF_NONE)
#define TOCSIN_CURL_OPTS_CLIENT_CERT \
    CFG_STR("client_cert", "", CFGF_NONE), \
    CFG_STR("client_key", "", CFGF_NONE)
#define TOCSIN_CURL_OPT_INSECURE CFG_BOOL("insecure", cfg_false, CFGF_NONE)
#define TOCSIN_CURL_OPTS_TLS \
    TOCSIN_CURL_OPT_CA_FILE, \
    TOCSIN_CURL_OPTS_CLIENT_CERT, \
    TOCSIN_CURL_OPT_INSECURE

/* A secret given inline, in a file or in the environment: options NAME,
 * NAME_file and NAME_env, as tocsin_option_secret() reads them. */
#define TOCSIN_CURL_OPTS_SECRET(name) \
    CFG_STR(name, "", CFGF_NONE), \
    CFG_STR(name "_file", "", CFGF_NONE), \
    CFG_STR(name "_env", "", CFGF_NONE)

/* Basic authentication: 'user' and the password's three forms. */
#define TOCSIN_CURL_OPTS_BASIC \
    CFG_STR("user", "", CFGF_NONE), \
    TOCSIN_CURL_OPTS_SECRET("password")

/* A bearer token's three forms. */
#define TOCSIN_CURL_OPTS_BEARER TOCSIN_CURL_OPTS_SECRET("token")

/* Setting options in a row, stopping at the first refusal: `rc` is a
 * CURLcode variable of the caller, CURLE_OK to begin with. */
#define TOCSIN_CURL_SET(rc, handle, opt, val) \
    do { if ((rc) == CURLE_OK) (rc) = curl_easy_setopt(handle, opt, val); } while (0)

/* The TLS options make sense: every file named can be read, and a client
 * key comes with its certificate. With `client` 0 the table has only
 * ca_file of them. Returns 0, or -1 with tocsin_option_readable()'s reason
 * or "option 'client_key' needs 'client_cert'" in err. Costs one
 * access(2) per file. */
int tocsin_curl_tls_check(cfg_t *options, int client, char *err, size_t errlen);

/* Give `handle` the TLS options: verification of the peer and its name
 * unless 'insecure', and ca_file, client_cert and client_key when set.
 * With `client` 0 the table has only ca_file and insecure; with
 * `has_insecure` 0 it has no 'insecure' (verification is always on).
 * Returns the first refusal, or CURLE_OK. */
CURLcode tocsin_curl_tls_apply(CURL *handle, cfg_t *options, int client,
                               int has_insecure);

/* Basic authentication as `user` with `password` (NULL counts as "");
 * libcurl keeps its own copies. Returns the first refusal, or CURLE_OK. */
CURLcode tocsin_curl_basic(CURL *handle, const char *user, const char *password);

/* What every request of a notifier's handle shares: POST to `url` (libcurl
 * keeps a copy) with the header list `headers` (the caller's, kept for the
 * handle's life), no signals, the error text in `errbuf` (CURL_ERROR_SIZE
 * bytes, also kept by the caller), the User-Agent `agent`, http and https
 * only, and the answer's start kept in `reply`. Returns the first refusal,
 * or CURLE_OK. */
CURLcode tocsin_curl_notifier(CURL *handle, const char *url,
                              struct curl_slist *headers, char *errbuf,
                              const char *agent, struct tocsin_capture *reply);

/* Bound the next transfer by `deadline` (CLOCK_MONOTONIC): the time left,
 * in milliseconds, becomes both the total and the connect timeout. Returns
 * that time; 0 when the deadline has passed, and then nothing is set. */
long tocsin_curl_timeout(CURL *handle, const struct timespec *deadline);

/* POST `body` (NUL-terminated, not copied) on `handle` and wait for the
 * answer, whose status goes to *status (0 without one). `errbuf` (the
 * handle's error buffer) and `reply` are emptied first. The body is taken
 * off the handle again before returning. Returns libcurl's verdict. */
CURLcode tocsin_curl_post(CURL *handle, char *errbuf, struct tocsin_capture *reply,
                          const char *body, long *status);

/* The explanation of failure `rc`: libcurl's own words from `errbuf`, else
 * the generic text of the code. Neither holds the URL's path or query, a
 * password or a token. */
const char *tocsin_curl_why(const char *errbuf, CURLcode rc);

/* The same for a failure to connect: the system's reason (connection
 * refused, ...) when libcurl has one, else tocsin_curl_why(). */
const char *tocsin_curl_connect_why(CURL *handle, const char *errbuf, CURLcode rc);

/* Seconds of the last answer's Retry-After, or 0 without one. */
long tocsin_curl_retry_after(CURL *handle);

/* 1 when failure `rc` cannot get better by trying again (a scheme or a
 * feature libcurl lacks, a malformed URL), else 0. */
int tocsin_curl_permanent(CURLcode rc);

/* Parse `url`, which the user gave as `what` ("option 'url'", "the
 * webhook URL"), and check that it is http:// or https:// (in any case)
 * with a host. Its "host:port" goes in *peer, for the caller to free;
 * with `parsed` non-NULL, the parsed URL too, for the caller to free with
 * curl_url_cleanup(). Returns 0, or -1 with "WHAT is not a URL such as
 * EXAMPLE" (the reason libcurl gives when `example` is NULL), "WHAT must
 * start with https:// or http://", "WHAT names no host" or "out of
 * memory" in err. err never quotes the URL, which may hold a secret. */
int tocsin_curl_open_url(const char *url, const char *what, const char *example,
                         CURLU **parsed, char **peer, char *err, size_t errlen);

/* "host:port" of the URL in `u` (the scheme's port when none is given),
 * into *peer for the caller to free. Returns CURLUE_OK, CURLUE_OUT_OF_MEMORY,
 * or the error of a URL without a host. */
CURLUcode tocsin_curl_url_peer(CURLU *u, char **peer);

/* The URL in `u` without its fragment and trailing slashes, followed by
 * `path` ("/api/v2/alerts"): an API's endpoint from its base URL. A string
 * the caller frees, or NULL when out of memory. */
char *tocsin_curl_url_join(CURLU *u, const char *path);

#endif
