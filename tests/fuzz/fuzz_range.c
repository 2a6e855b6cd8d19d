/*
 * fuzz_range.c - fuzz harness for Nagios ranges and thresholds
 * (lib/nagios.c), durations (lib/duration.c, tocsin_duration_format) and
 * state names.
 *
 * Input: text, tried as a range, a threshold pair "WARN,CRIT", a state
 * name and a duration.
 * Invariants: a range that parses writes back to text that parses to a
 * range with the same flags and the same text again (a fixed point); an
 * inside ("@") range alerts exactly where the same range without '@' does
 * not; finite bounds are inside the range; threshold evaluation gives OK,
 * WARNING or CRITICAL only; a duration is never negative nor beyond 100
 * years, and a whole number of seconds written plainly parses to itself.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tocsin-plugin.h"

#define DURATION_LIMIT_MS (100LL * 366 * 86400 * 1000)

/* The values a range is probed at. */
static void probes(const struct tocsin_range *r, double *v, size_t *n)
{
    static const double fixed[] = { -1e300, -1, 0, 0.5, 1, 1e300 };
    size_t i;

    *n = 0;
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        v[(*n)++] = fixed[i];
    if (!r->start_infinite) {
        v[(*n)++] = r->start;
        v[(*n)++] = nextafter(r->start, -INFINITY);
    }
    if (!r->end_infinite) {
        v[(*n)++] = r->end;
        v[(*n)++] = nextafter(r->end, INFINITY);
    }
}

static void check_range(const char *text)
{
    struct tocsin_range r, again, outside;
    struct tocsin_thresholds th;
    char err[256], first[256], second[256];
    double v[10];
    size_t n, i;

    if (tocsin_range_parse(text, &r, err, sizeof(err)) < 0) {
        FUZZ_CHECK(err[0] != '\0', "\"%s\" refused without a reason", text);
        FUZZ_CHECK(!r.set, "\"%s\" refused but set", text);
        return;
    }
    if (!r.set) {
        FUZZ_CHECK(text[0] == '\0', "\"%s\" parsed to an unset range", text);
        return;
    }
    FUZZ_CHECK(r.start_infinite || r.end_infinite || r.start <= r.end,
               "\"%s\": start above end", text);
    FUZZ_CHECK(tocsin_range_format(&r, first, sizeof(first)) < (int)sizeof(first),
               "\"%s\" formats too long", text);
    FUZZ_CHECK(tocsin_range_parse(first, &again, err, sizeof(err)) == 0,
               "\"%s\" written as \"%s\" is refused: %s", text, first, err);
    tocsin_range_format(&again, second, sizeof(second));
    FUZZ_CHECK(strcmp(first, second) == 0, "\"%s\" -> \"%s\" -> \"%s\"", text, first, second);
    FUZZ_CHECK(again.set && again.inside == r.inside &&
               again.start_infinite == r.start_infinite &&
               again.end_infinite == r.end_infinite,
               "\"%s\" -> \"%s\" changed its flags", text, first);

    outside = r;
    outside.inside = 0;
    probes(&r, v, &n);
    for (i = 0; i < n; i++) {
        int a = tocsin_range_alert(&r, v[i]), b = tocsin_range_alert(&outside, v[i]);

        FUZZ_CHECK(a == 0 || a == 1, "alert gave %d", a);
        if (r.inside)
            FUZZ_CHECK(a == !b, "\"%s\" at %g: inside %d, outside %d", text, v[i], a, b);
    }
    if (!r.start_infinite)
        FUZZ_CHECK(tocsin_range_alert(&outside, r.start) == 0, "\"%s\": start alerts", text);
    if (!r.end_infinite)
        FUZZ_CHECK(tocsin_range_alert(&outside, r.end) == 0, "\"%s\": end alerts", text);
    FUZZ_CHECK(tocsin_range_alert(&r, NAN) == 0, "\"%s\": NaN alerts", text);

    th.warning = r;
    th.critical = outside;
    for (i = 0; i < n; i++) {
        enum tocsin_state s = tocsin_thresholds_eval(&th, v[i]);

        FUZZ_CHECK(s == TOCSIN_OK || s == TOCSIN_WARNING || s == TOCSIN_CRITICAL,
                   "thresholds gave state %d", (int)s);
    }
}

static void check_duration(const char *text)
{
    char plain[64], words[64];
    long ms = -7, again = -7;

    if (tocsin_duration_parse(text, &ms) < 0) {
        FUZZ_CHECK(ms == -7, "\"%s\" refused but *ms was written", text);
        return;
    }
    FUZZ_CHECK(ms >= 0 && ms <= DURATION_LIMIT_MS, "\"%s\" gave %ld ms", text, ms);
    snprintf(plain, sizeof(plain), "%ld", ms / 1000);
    FUZZ_CHECK(tocsin_duration_parse(plain, &again) == 0 && again == ms / 1000 * 1000,
               "\"%s\" (%ld s) did not parse back", plain, ms / 1000);
    tocsin_duration_format(ms / 1000, words, sizeof(words));
    FUZZ_CHECK(words[0] >= '0' && words[0] <= '9', "%ld s written as \"%s\"", ms / 1000, words);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    char *comma;
    int st;

    if (!text)
        return 0;
    check_range(text);
    check_duration(text);
    st = tocsin_state_parse(text);
    FUZZ_CHECK(st >= -1 && st <= 3, "state \"%s\" parsed to %d", text, st);
    if (st >= 0)
        FUZZ_CHECK(tocsin_state_parse(tocsin_state_name(st)) == st, "state %d", st);
    comma = strchr(text, ',');
    if (comma) {
        *comma = '\0';
        check_range(text);
        check_range(comma + 1);
    }
    free(text);
    return 0;
}
