/*
 * test_httpd.c - the pure parts of the HTTP endpoint (core/serve/http-*.c):
 * listen addresses, UTF-8 repair, HTML and Prometheus escaping, sample
 * numbers, units, the token comparison and RFC 3339 times.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "serve/httpd.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

typedef void (*put_fn)(struct tocsin_buf *b, const char *s);

/* Run `fn` on `in` and compare with `want`, naming the case on failure. */
static void expect_put(const char *what, put_fn fn, const char *in, const char *want)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;

    fn(&b, in);
    if (strcmp(tocsin_buf_str(&b), want) != 0)
        fail_msg("%s of \"%s\": expected \"%s\", got \"%s\"", what, in, want,
                 tocsin_buf_str(&b));
    tocsin_buf_free(&b);
}

static void put_utf8(struct tocsin_buf *b, const char *s)
{
    tocsin_http_utf8(b, s, strlen(s));
}

static void put_number(double v, const char *want)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;

    tocsin_http_prom_number(&b, v);
    if (strcmp(tocsin_buf_str(&b), want) != 0)
        fail_msg("sample %.17g: expected \"%s\", got \"%s\"", v, want, tocsin_buf_str(&b));
    tocsin_buf_free(&b);
}

static void expect_listen(const char *text, int family, const char *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char err[160] = "", got[INET6_ADDRSTRLEN];

    if (tocsin_http_parse_listen(text, &ss, &len, err, sizeof(err)) != 0)
        fail_msg("listen \"%s\": expected %s port %d, got the error \"%s\"", text, addr,
                 port, err);
    if (ss.ss_family != family)
        fail_msg("listen \"%s\": expected family %d, got %d", text, family, ss.ss_family);
    if (family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

        inet_ntop(AF_INET, &a->sin_addr, got, sizeof(got));
        assert_int_equal(ntohs(a->sin_port), port);
        assert_int_equal(len, sizeof(*a));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

        inet_ntop(AF_INET6, &a->sin6_addr, got, sizeof(got));
        assert_int_equal(ntohs(a->sin6_port), port);
        assert_int_equal(len, sizeof(*a));
    }
    if (strcmp(got, addr) != 0)
        fail_msg("listen \"%s\": expected address %s, got %s", text, addr, got);
}

static void expect_listen_refused(const char *text, const char *reason)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char err[160] = "";

    if (tocsin_http_parse_listen(text, &ss, &len, err, sizeof(err)) != -1)
        fail_msg("listen \"%s\": expected an error, got none", text);
    if (!strstr(err, reason))
        fail_msg("listen \"%s\": expected an error with \"%s\", got \"%s\"", text, reason,
                 err);
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */
/* ------------------------------------------------------------------ */

static void test_listen_ipv4_and_ipv6(void **state)
{
    (void)state;
    expect_listen("127.0.0.1:9746", AF_INET, "127.0.0.1", 9746);
    expect_listen("0.0.0.0:1", AF_INET, "0.0.0.0", 1);
    expect_listen("[::1]:9746", AF_INET6, "::1", 9746);
    expect_listen("[::]:65535", AF_INET6, "::", 65535);
}

static void test_listen_refuses_bad_text(void **state)
{
    (void)state;
    expect_listen_refused("127.0.0.1", "ADDRESS:PORT");
    expect_listen_refused("", "ADDRESS:PORT");
    expect_listen_refused("localhost:9746", "not an IPv4 address");
    expect_listen_refused("127.0.0.1:0", "not a port number");
    expect_listen_refused("127.0.0.1:65536", "not a port number");
    expect_listen_refused("127.0.0.1:-1", "not a port number");
    expect_listen_refused("127.0.0.1:80x", "not a port number");
    expect_listen_refused("127.0.0.1:", "not a port number");
    expect_listen_refused("::1:9746", "brackets");
    expect_listen_refused("[::1]9746", "[IPV6-ADDRESS]:PORT");
    expect_listen_refused("[::1:9746", "[IPV6-ADDRESS]:PORT");
    expect_listen_refused("[127.0.0.1]:9746", "not an IPv6 address");
    expect_listen_refused("[zz]:9746", "not an IPv6 address");
    expect_listen_refused("300.1.1.1:80", "not an IPv4 address");
}

static void test_utf8_repair(void **state)
{
    (void)state;
    expect_put("utf8", put_utf8, "plain", "plain");
    expect_put("utf8", put_utf8, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x94", /* é € bell */
               "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x94");
    expect_put("utf8", put_utf8, "a\xff" "b", "a\xef\xbf\xbd" "b");
    expect_put("utf8", put_utf8, "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");       /* overlong */
    expect_put("utf8", put_utf8, "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    expect_put("utf8", put_utf8, "\xf4\x90\x80\x80x",                          /* > U+10FFFF */
               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx");
    expect_put("utf8", put_utf8, "cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd"); /* truncated */
}

static void test_html_escapes_markup_and_controls(void **state)
{
    (void)state;
    expect_put("html", tocsin_http_html, "<script>alert(1)</script>",
               "&lt;script&gt;alert(1)&lt;/script&gt;");
    expect_put("html", tocsin_http_html, "a & \"b\" 'c'", "a &amp; &quot;b&quot; &#39;c&#39;");
    expect_put("html", tocsin_http_html, "tab\tnl\nbell\x07", "tab\tnl\nbell\xef\xbf\xbd");
    expect_put("html", tocsin_http_html, "bad\xfe", "bad\xef\xbf\xbd");
    expect_put("html", tocsin_http_html, "", "");
}

static void test_prom_label_value(void **state)
{
    (void)state;
    expect_put("label value", tocsin_http_prom_value, "plain", "plain");
    expect_put("label value", tocsin_http_prom_value, "a\"b\\c\nd", "a\\\"b\\\\c\\nd");
    expect_put("label value", tocsin_http_prom_value, "x\x80", "x\xef\xbf\xbd");
}

static void test_prom_label_name(void **state)
{
    (void)state;
    expect_put("label name", tocsin_http_prom_name, "team", "team");
    expect_put("label name", tocsin_http_prom_name, "odd-key.x", "odd_key_x");
    expect_put("label name", tocsin_http_prom_name, "9lives", "_9lives");
    expect_put("label name", tocsin_http_prom_name, "__name__", "label__name__");
    expect_put("label name", tocsin_http_prom_name, "", "_");
    expect_put("label name", tocsin_http_prom_name, "\xc3\xa9t\xc3\xa9", "__t__");
}

static void test_prom_numbers(void **state)
{
    (void)state;
    put_number(0, "0");
    put_number(3, "3");
    put_number(-42, "-42");
    put_number(1795380517, "1795380517");
    put_number(0.012, "0.012");
    put_number(0.1, "0.1");
    put_number(2.5e-7, "2.5e-07");
    put_number(1e300, "1e+300");
    put_number(0.1 + 0.2, "0.30000000000000004");
    put_number(NAN, "NaN");
    put_number(INFINITY, "+Inf");
    put_number(-INFINITY, "-Inf");
    {
        /* Every text reads back to the same double. */
        static const double v[] = {1.0 / 3, 2.0 / 3, 123.456, 1e-9, 6.02214076e23};
        size_t i;

        for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
            struct tocsin_buf b = TOCSIN_BUF_INIT;

            tocsin_http_prom_number(&b, v[i]);
            if (strtod(tocsin_buf_str(&b), NULL) != v[i])
                fail_msg("sample %.17g: \"%s\" reads back as %.17g", v[i],
                         tocsin_buf_str(&b), strtod(tocsin_buf_str(&b), NULL));
            tocsin_buf_free(&b);
        }
    }
}

static void test_base_units(void **state)
{
    static const struct {
        double value;
        const char *uom;
        double want;
        const char *base;
    } cases[] = {
        {12, "ms", 0.012, "s"}, {1500, "us", 0.0015, "s"}, {2, "s", 2, "s"},
        {3, "KB", 3072, "B"}, {2, "MB", 2097152, "B"}, {1, "GB", 1073741824.0, "B"},
        {1, "TB", 1099511627776.0, "B"}, {7, "B", 7, "B"}, {91, "%", 91, "%"},
        {5, "c", 5, "c"}, {4, "", 4, ""},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *base = NULL;
        double got = tocsin_http_base_unit(cases[i].value, cases[i].uom, &base);

        if (fabs(got - cases[i].want) > 1e-12 * fabs(cases[i].want) ||
            strcmp(base, cases[i].base) != 0)
            fail_msg("%g%s: expected %.17g %s, got %.17g %s", cases[i].value, cases[i].uom,
                     cases[i].want, cases[i].base, got, base);
    }
}

static void test_token_comparison(void **state)
{
    (void)state;
    assert_true(tocsin_http_token_equal("s3cret", "s3cret"));
    assert_false(tocsin_http_token_equal("s3cre", "s3cret"));
    assert_false(tocsin_http_token_equal("s3cretX", "s3cret"));
    assert_false(tocsin_http_token_equal("S3cret", "s3cret"));
    assert_false(tocsin_http_token_equal("", "s3cret"));
    assert_true(tocsin_http_token_equal("", ""));
}

static void test_rfc3339(void **state)
{
    struct tocsin_buf b = TOCSIN_BUF_INIT;

    (void)state;
    tocsin_http_rfc3339(&b, 0);
    assert_string_equal(tocsin_buf_str(&b), "1970-01-01T00:00:00Z");
    tocsin_buf_reset(&b);
    tocsin_http_rfc3339(&b, 1714564800);
    assert_string_equal(tocsin_buf_str(&b), "2024-05-01T12:00:00Z");
    tocsin_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_ipv4_and_ipv6),
        cmocka_unit_test(test_listen_refuses_bad_text),
        cmocka_unit_test(test_utf8_repair),
        cmocka_unit_test(test_html_escapes_markup_and_controls),
        cmocka_unit_test(test_prom_label_value),
        cmocka_unit_test(test_prom_label_name),
        cmocka_unit_test(test_prom_numbers),
        cmocka_unit_test(test_base_units),
        cmocka_unit_test(test_token_comparison),
        cmocka_unit_test(test_rfc3339),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
