/*
 * http-text.c - text as the HTTP endpoint sends it: invalid UTF-8 repaired
 * (tocsin_utf8_len() of libtocsin says what is valid), HTML escaping for
 * the status page, Prometheus label values, label names and sample
 * numbers, and RFC 3339 times. Pure functions, declared in httpd.h for the
 * unit tests.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/httpd.h"
#include "tocsin-plugin.h"

enum text_mode {
    TEXT_UTF8,   /* repair only */
    TEXT_HTML,   /* escape for HTML; control characters replaced */
    TEXT_PROM    /* escape as a Prometheus label value */
};

/*
 * Append `len` bytes of `s` in `mode`. Runs of bytes that need nothing are
 * copied in one go. O(len).
 */
static void put_text(struct tocsin_buf *b, const char *s, size_t len, enum text_mode mode)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;

    while (p < end) {
        unsigned char c = *p;
        const char *esc = NULL;
        size_t n = 1;

        if (c >= 0x80) {
            n = tocsin_utf8_len((const char *)p, (size_t)(end - p));
            if (n) {
                p += n;
                continue;
            }
            esc = TOCSIN_UTF8_REPLACEMENT;
        } else if (mode == TEXT_HTML) {
            switch (c) {
            case '&': esc = "&amp;"; break;
            case '<': esc = "&lt;"; break;
            case '>': esc = "&gt;"; break;
            case '"': esc = "&quot;"; break;
            case '\'': esc = "&#39;"; break;
            case '\t': case '\n': break;
            default:
                if (c < 0x20 || c == 0x7f)
                    esc = TOCSIN_UTF8_REPLACEMENT;
            }
        } else if (mode == TEXT_PROM) {
            switch (c) {
            case '\\': esc = "\\\\"; break;
            case '"': esc = "\\\""; break;
            case '\n': esc = "\\n"; break;
            default: break;
            }
        }
        if (!esc) {
            p++;
            continue;
        }
        tocsin_buf_append(b, run, (size_t)(p - run));
        tocsin_buf_puts(b, esc);
        p += n ? n : 1;
        run = p;
    }
    tocsin_buf_append(b, run, (size_t)(p - run));
}

void tocsin_http_utf8(struct tocsin_buf *b, const char *s, size_t len)
{
    put_text(b, s, len, TEXT_UTF8);
}

void tocsin_http_html(struct tocsin_buf *b, const char *s)
{
    put_text(b, s, strlen(s), TEXT_HTML);
}

void tocsin_http_prom_value(struct tocsin_buf *b, const char *s)
{
    put_text(b, s, strlen(s), TEXT_PROM);
}

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

void tocsin_http_prom_name(struct tocsin_buf *b, const char *s)
{
    if (!*s) {
        tocsin_buf_putc(b, '_');
        return;
    }
    if (s[0] == '_' && s[1] == '_')
        tocsin_buf_puts(b, "label");
    else if (s[0] >= '0' && s[0] <= '9')
        tocsin_buf_putc(b, '_');
    for (; *s; s++)
        tocsin_buf_putc(b, name_char(*s, 0) ? *s : '_');
}

/* Append a whole number without printf (most samples are one). */
static void put_int(struct tocsin_buf *b, int64_t v)
{
    char text[24], *p = text + sizeof(text);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    tocsin_buf_append(b, p, (size_t)(text + sizeof(text) - p));
}

void tocsin_http_prom_number(struct tocsin_buf *b, double v)
{
    char text[40];

    if (isnan(v)) {
        tocsin_buf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        tocsin_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        put_int(b, (int64_t)v);
        return;
    }
    snprintf(text, sizeof(text), "%.15g", v);
    if (strtod(text, NULL) != v)
        snprintf(text, sizeof(text), "%.17g", v);
    tocsin_buf_puts(b, text);
}

void tocsin_http_rfc3339(struct tocsin_buf *b, time_t t)
{
    char text[32];

    tocsin_buf_puts(b, tocsin_time_rfc3339(t, text, sizeof(text)));
}
