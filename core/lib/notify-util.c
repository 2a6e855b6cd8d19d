/*
 * notify-util.c - what notifiers that talk to a receiver share: the
 * meaning of an HTTP status, the time left before a deadline, UTF-8 that
 * JSON can carry, a receiver's answer kept and quoted on one line with
 * secrets redacted, stable hashes and timestamps, and the loop of the
 * forwarders that send each alert of a message on its own. None of it
 * needs libcurl or jansson: plugins hand the results to their own
 * libraries. See tocsin-plugin.h and docs/internals/notify-util.md.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tocsin-plugin.h"

/* What a capture allocates at least, so that an answer arriving in
 * small pieces does not cost one realloc() each. */
#define CAPTURE_MIN_CAP 4096

/* What tocsin_redact() writes in place of a secret. */
#define REDACTED "[redacted]"

/* The 64-bit FNV prime. */
#define FNV1A_PRIME 0x100000001b3ULL

/* The reason tocsin_notify_each() keeps of each alert. */
#define EACH_WHY_MAX 512

enum tocsin_delivery tocsin_http_outcome(long status)
{
    if (status >= 200 && status < 300)
        return TOCSIN_DELIVERED;
    if (status == 408 || status == 429 || status >= 500)
        return TOCSIN_RETRY;
    return TOCSIN_FAILED;
}

long tocsin_ms_left(const struct timespec *deadline)
{
    struct timespec now;
    long long ms;

    if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
        return 0;
    ms = ((long long)deadline->tv_sec - now.tv_sec) * 1000 +
         (deadline->tv_nsec - now.tv_nsec) / 1000000;
    if (ms <= 0)
        return 0;
    return ms > LONG_MAX ? LONG_MAX : (long)ms;
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */
/* ------------------------------------------------------------------ */

/* Decode the code point of the sequence the lead byte announces, then
 * refuse what the standard forbids: a form longer than the code point
 * needs, a UTF-16 surrogate, anything past U+10FFFF. O(1). */
size_t tocsin_utf8_len(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len, i;
    uint32_t cp;

    if (n == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates, and past the last code point. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int tocsin_utf8_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0, k;

    while (n) {
        if (!(k = tocsin_utf8_len(s, n)))
            return 0;
        s += k;
        n -= k;
    }
    return 1;
}

/* One pass over s into a buffer sized for the worst case, every byte bad:
 * strlen(s) times the replacement's length. The caller frees it. */
char *tocsin_utf8_clean(const char *s, const char *replacement)
{
    const char *repl = replacement ? replacement : TOCSIN_UTF8_REPLACEMENT;
    size_t n, rlen = strlen(repl), i = 0, used = 0, len;
    char *clean;

    if (!s)
        s = "";
    n = strlen(s);
    /* Each bad byte grows to rlen bytes at most. */
    if (rlen > 1 && n > (SIZE_MAX - 1) / rlen)
        return NULL;
    clean = malloc(n * (rlen > 1 ? rlen : 1) + 1);
    if (!clean)
        return NULL;
    while (i < n) {
        len = tocsin_utf8_len(s + i, n - i);
        if (len) {
            memcpy(clean + used, s + i, len);
            used += len;
            i += len;
        } else {
            memcpy(clean + used, repl, rlen);
            used += rlen;
            i++;
        }
    }
    clean[used] = '\0';
    return clean;
}

size_t tocsin_utf8_cut(char *s, size_t max)
{
    size_t len = strlen(s), used;

    if (max <= 3 || len <= max)
        return len;
    /* Back off to the start of a character, leaving room for "...". */
    used = max - 3;
    while (used > 0 && ((unsigned char)s[used] & 0xc0) == 0x80)
        used--;
    memcpy(s + used, "...", 4);
    return used + 3;
}

/* ------------------------------------------------------------------ */
/* A receiver's answer                                                 */
/* ------------------------------------------------------------------ */

const char *tocsin_show(const char *s, size_t n, size_t max, unsigned flags,
                        char *out, size_t outlen)
{
    size_t used = 0, i;

    if (!outlen)
        return out;
    out[0] = '\0';
    for (i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];

        tocsin_append(out, outlen, &used, "%c", c < 0x20 || c == 0x7f ? ' ' : (char)c);
    }
    if (flags & TOCSIN_SHOW_TRIM)
        while (used > 0 && out[used - 1] == ' ')
            out[--used] = '\0';
    if (i < n)
        tocsin_append(out, outlen, &used, "...");
    return out;
}

/* Each hit is overwritten in place: the rest of the text moves by the
 * difference in length, and is cut where it would pass the buffer's last
 * byte. The search goes on after the mark, so a secret that occurs in
 * "[redacted]" cannot make it loop. */
void tocsin_redact(char *text, size_t size, const char *secret)
{
    static const char mark[] = REDACTED;
    size_t slen = secret ? strlen(secret) : 0;
    char *hit, *from = text;

    if (!slen || !text || !size)
        return;
    while ((hit = strstr(from, secret))) {
        size_t tail = strlen(hit + slen);
        size_t room = size - (size_t)(hit - text) - 1;
        size_t mlen = sizeof(mark) - 1 < room ? sizeof(mark) - 1 : room;

        if (tail > room - mlen)
            tail = room - mlen;
        memmove(hit + mlen, hit + slen, tail);
        memcpy(hit, mark, mlen);
        hit[mlen + tail] = '\0';
        from = hit + mlen;
    }
}

/* Grows data by realloc() to at least CAPTURE_MIN_CAP bytes and never
 * past max + 1, so a short answer costs one allocation per instance (the
 * memory is kept between requests) and a long one no more than max. */
size_t tocsin_capture_write(char *ptr, size_t size, size_t nmemb, void *capture)
{
    struct tocsin_capture *c = capture;
    size_t bytes = size * nmemb;
    size_t take = c->len < c->max ? c->max - c->len : 0;

    if (take > bytes)
        take = bytes;
    if (!take)
        return bytes;
    if (c->len + take + 1 > c->cap) {
        size_t want = c->len + take + 1;
        char *grown;

        if (want < CAPTURE_MIN_CAP)
            want = CAPTURE_MIN_CAP;
        if (want > c->max + 1)
            want = c->max + 1;
        grown = realloc(c->data, want);
        if (!grown)
            return bytes;       /* the explanation loses its detail, no more */
        c->data = grown;
        c->cap = want;
    }
    memcpy(c->data + c->len, ptr, take);
    c->len += take;
    c->data[c->len] = '\0';
    return bytes;
}

void tocsin_capture_reset(struct tocsin_capture *capture)
{
    capture->len = 0;
    if (capture->data)
        capture->data[0] = '\0';
}

void tocsin_capture_free(struct tocsin_capture *capture)
{
    free(capture->data);
    capture->data = NULL;
    capture->len = 0;
    capture->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Keys and times                                                      */
/* ------------------------------------------------------------------ */

uint64_t tocsin_fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= FNV1A_PRIME;
    }
    return h;
}

const char *tocsin_time_rfc3339(time_t t, char *out, size_t outlen)
{
    struct tm tm;

    if (!gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, outlen, "1970-01-01T00:00:00Z");
    return out;
}

/* ------------------------------------------------------------------ */
/* One alert at a time                                                 */
/* ------------------------------------------------------------------ */

/* One deliver() call per alert, in order; a failure does not stop the
 * others (a forwarded result that is refused says nothing about the next
 * one). The grouped alerts are copied one at a time to give them the
 * message's deadline and retry slot. */
enum tocsin_delivery tocsin_notify_each(const struct tocsin_alert *alert,
                                        tocsin_deliver_fn deliver, void *ctx,
                                        char *err, size_t errlen)
{
    enum tocsin_delivery outcome = TOCSIN_DELIVERED, one;
    char why[EACH_WHY_MAX];
    size_t i, failures = 0;

    if (errlen)
        err[0] = '\0';
    for (i = 0; i <= alert->ngrouped; i++) {
        const struct tocsin_alert *a = alert;
        struct tocsin_alert copy;

        if (i > 0) {
            /* Grouped alerts share the deadline and the Retry-After slot
             * of the notification they travel in. */
            copy = alert->grouped[i - 1];
            copy.deadline = alert->deadline;
            copy.retry_after = alert->retry_after;
            a = &copy;
        }
        why[0] = '\0';
        one = deliver(ctx, a, why, sizeof(why));
        if (one == TOCSIN_DELIVERED)
            continue;
        if (failures++ == 0)
            snprintf(err, errlen, "%s", why);
        if (one == TOCSIN_RETRY || outcome == TOCSIN_DELIVERED)
            outcome = one;
    }
    if (failures > 1 && errlen) {
        size_t used = strlen(err);

        tocsin_append(err, errlen, &used, " (and %zu more of %zu results)",
                      failures - 1, alert->ngrouped + 1);
    }
    return outcome;
}
