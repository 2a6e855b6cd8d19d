/*
 * fuzz_promtext.c - fuzz harness of the Prometheus exposition-format
 * parser (plugins/common/promtext.c) and of the collection of series for
 * a few expressions on what it reads: any input must end in a sample
 * walk, a malformed-line error with a line number, or out of memory,
 * never in a crash or a leak. Corpus: tests/fuzz/corpus/promtext/.
 * Invariants: a malformed input names a line within the input and a
 * reason; a whole read leaves no error.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tocsin-plugin.h"
#include "common/promexpr.h"
#include "common/promtext.h"
#include "fuzz.h"

static int count_sample(void *ud, const struct tocsin_promtext_sample *s)
{
    size_t i, *n = ud;

    for (i = 0; i < s->nlabels; i++)
        *n += s->labels[i].name_len + s->labels[i].value_len;
    (*n)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const texts[] = {
        "rate: rate(http_requests_total{code=~\"5..\"}) by code",
        "errors: rate(a_total{code=~'5..'}) / rate(a_total) by route min_volume 1",
        "p99: quantile(0.99, h_seconds{job!=\"x\"}) by route",
        "g: {__name__=~\"node_.*\",mode!~\"idle\"}",
    };
    struct tocsin_promexpr exprs[4];
    struct tocsin_promexpr_scrape scrape;
    struct tocsin_promtext_error err;
    size_t n = 0, i, nexprs = 0;
    char why[256];
    size_t lines = 1;
    int rc;

    for (i = 0; i < size; i++)
        lines += data[i] == '\n';
    memset(&err, 0, sizeof(err));
    rc = tocsin_promtext_parse((const char *)data, size, count_sample, &n, &err);
    FUZZ_CHECK(rc == 0 || rc == -1 || rc == -2, "parse returned %d", rc);
    if (rc == -1)
        FUZZ_CHECK(err.line >= 1 && err.line <= lines && err.reason[0],
                   "malformed at line %lu of %zu: '%s'", err.line, lines, err.reason);
    memset(&scrape, 0, sizeof(scrape));
    for (i = 0; i < 4; i++)
        if (tocsin_promexpr_parse(texts[i], &exprs[nexprs], why, sizeof(why)) == 0)
            nexprs++;
    if (tocsin_promexpr_collect(exprs, nexprs, (const char *)data, size, &scrape,
                                &err) == 0) {
        for (i = 0; i < nexprs; i++) {
            struct tocsin_promexpr_result *r;
            size_t nr, matched;

            if (tocsin_promexpr_eval(&exprs[i], (unsigned)i, &scrape, &scrape, &r,
                                     &nr, &matched) == 0)
                tocsin_promexpr_results_free(r, nr);
        }
    }
    tocsin_promexpr_scrape_free(&scrape);
    for (i = 0; i < nexprs; i++)
        tocsin_promexpr_free(&exprs[i]);
    return 0;
}
