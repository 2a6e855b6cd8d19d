/*
 * curl-client.c - the libcurl client the HTTP plugins share (see
 * curl-client.h): TLS and authentication options applied to a handle,
 * timeouts from a deadline, one POST and the reading of its failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/curl-client.h"

int tocsin_curl_tls_check(cfg_t *options, int client, char *err, size_t errlen)
{
    if (tocsin_option_readable(options, "ca_file", err, errlen) < 0)
        return -1;
    if (!client)
        return 0;
    if (tocsin_option_readable(options, "client_cert", err, errlen) < 0 ||
        tocsin_option_readable(options, "client_key", err, errlen) < 0)
        return -1;
    if (tocsin_option_str(options, "client_key") &&
        !tocsin_option_str(options, "client_cert")) {
        snprintf(err, errlen, "option 'client_key' needs 'client_cert'");
        return -1;
    }
    return 0;
}

/* Verification is on unless the table has 'insecure' and it is set. The
 * files are given only when configured, so libcurl's defaults stay. */
CURLcode tocsin_curl_tls_apply(CURL *handle, cfg_t *options, int client,
                               int has_insecure)
{
    const char *ca = tocsin_option_str(options, "ca_file");
    const char *cert = client ? tocsin_option_str(options, "client_cert") : NULL;
    const char *key = client ? tocsin_option_str(options, "client_key") : NULL;
    int insecure = has_insecure && cfg_getbool(options, "insecure");
    CURLcode rc = CURLE_OK;

    TOCSIN_CURL_SET(rc, handle, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L);
    TOCSIN_CURL_SET(rc, handle, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L);
    if (ca)
        TOCSIN_CURL_SET(rc, handle, CURLOPT_CAINFO, ca);
    if (cert)
        TOCSIN_CURL_SET(rc, handle, CURLOPT_SSLCERT, cert);
    if (key)
        TOCSIN_CURL_SET(rc, handle, CURLOPT_SSLKEY, key);
    return rc;
}

CURLcode tocsin_curl_basic(CURL *handle, const char *user, const char *password)
{
    CURLcode rc = CURLE_OK;

    TOCSIN_CURL_SET(rc, handle, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    TOCSIN_CURL_SET(rc, handle, CURLOPT_USERNAME, user);
    TOCSIN_CURL_SET(rc, handle, CURLOPT_PASSWORD, password ? password : "");
    return rc;
}

CURLcode tocsin_curl_notifier(CURL *handle, const char *url,
                              struct curl_slist *headers, char *errbuf,
                              const char *agent, struct tocsin_capture *reply)
{
    CURLcode rc = CURLE_OK;

    TOCSIN_CURL_SET(rc, handle, CURLOPT_URL, url);
    TOCSIN_CURL_SET(rc, handle, CURLOPT_HTTPHEADER, headers);
    TOCSIN_CURL_SET(rc, handle, CURLOPT_NOSIGNAL, 1L);
    TOCSIN_CURL_SET(rc, handle, CURLOPT_ERRORBUFFER, errbuf);
    TOCSIN_CURL_SET(rc, handle, CURLOPT_WRITEFUNCTION, tocsin_capture_write);
    TOCSIN_CURL_SET(rc, handle, CURLOPT_WRITEDATA, reply);
    TOCSIN_CURL_SET(rc, handle, CURLOPT_USERAGENT, agent);
    TOCSIN_CURL_SET(rc, handle, CURLOPT_POST, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    TOCSIN_CURL_SET(rc, handle, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    TOCSIN_CURL_SET(rc, handle, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    return rc;
}

long tocsin_curl_timeout(CURL *handle, const struct timespec *deadline)
{
    long left = tocsin_ms_left(deadline);

    if (left < 1)
        return 0;
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, left);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, left);
    return left;
}

/* One transfer on the kept connection; the body stays the caller's. */
CURLcode tocsin_curl_post(CURL *handle, char *errbuf, struct tocsin_capture *reply,
                          const char *body, long *status)
{
    CURLcode rc;

    *status = 0;
    errbuf[0] = '\0';
    tocsin_capture_reset(reply);
    rc = curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                              (curl_off_t)strlen(body));
    if (rc == CURLE_OK)
        rc = curl_easy_perform(handle);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, NULL);
    if (rc == CURLE_OK)
        curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, status);
    return rc;
}

const char *tocsin_curl_why(const char *errbuf, CURLcode rc)
{
    return errbuf[0] ? errbuf : curl_easy_strerror(rc);
}

const char *tocsin_curl_connect_why(CURL *handle, const char *errbuf, CURLcode rc)
{
    long os_errno = 0;

    curl_easy_getinfo(handle, CURLINFO_OS_ERRNO, &os_errno);
    return os_errno ? strerror((int)os_errno) : tocsin_curl_why(errbuf, rc);
}

long tocsin_curl_retry_after(CURL *handle)
{
    curl_off_t after = 0;

    if (curl_easy_getinfo(handle, CURLINFO_RETRY_AFTER, &after) != CURLE_OK || after < 0)
        return 0;
    return (long)after;
}

int tocsin_curl_permanent(CURLcode rc)
{
    return rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
           rc == CURLE_NOT_BUILT_IN || rc == CURLE_BAD_FUNCTION_ARGUMENT;
}

char *tocsin_curl_url_join(CURLU *u, const char *path)
{
    char *base = NULL, *joined = NULL;
    size_t len, plen = strlen(path);

    if (curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &base, 0) != CURLUE_OK)
        goto out;
    len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    if (!(joined = malloc(len + plen + 1)))
        goto out;
    memcpy(joined, base, len);
    memcpy(joined + len, path, plen + 1);
out:
    curl_free(base);
    return joined;
}

CURLUcode tocsin_curl_url_peer(CURLU *u, char **peer)
{
    char *host = NULL, *port = NULL;
    CURLUcode uc;
    size_t len;

    *peer = NULL;
    uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    if (uc == CURLUE_OK) {
        len = strlen(host) + strlen(port) + 2;
        if ((*peer = malloc(len)))
            snprintf(*peer, len, "%s:%s", host, port);
        else
            uc = CURLUE_OUT_OF_MEMORY;
    }
    curl_free(host);
    curl_free(port);
    return uc;
}

int tocsin_curl_open_url(const char *url, const char *what, const char *example,
                         CURLU **parsed, char **peer, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    CURLUcode uc;
    int rc = -1;

    *peer = NULL;
    if (parsed)
        *parsed = NULL;
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        if (example)
            snprintf(err, errlen, "%s is not a URL such as %s", what, example);
        else
#if LIBCURL_VERSION_NUM >= 0x075000
            snprintf(err, errlen, "%s is not a valid URL: %s", what, curl_url_strerror(uc));
#else
            snprintf(err, errlen, "%s is not a valid URL (error %d)", what, (int)uc);
#endif
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0)) {
        snprintf(err, errlen, "%s must start with https:// or http://", what);
        goto out;
    }
    uc = tocsin_curl_url_peer(u, peer);
    if (uc == CURLUE_OUT_OF_MEMORY) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "%s names no host", what);
        goto out;
    }
    rc = 0;
    if (parsed) {
        *parsed = u;
        u = NULL;
    }
out:
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}
