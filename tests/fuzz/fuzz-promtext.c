/*
 * fuzz-promtext.c - libFuzzer harness of the Prometheus exposition-format
 * parser (plugins/common/promtext.c) and of the collection of series for
 * a few expressions on what it reads: any input must end in a sample
 * walk, a malformed-line error with a line number, or out of memory,
 * never in a crash or a leak. Corpus: tests/fuzz/corpus/promtext/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tocsin-plugin.h"
#include "common/promexpr.h"
#include "common/promtext.h"

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

    tocsin_promtext_parse((const char *)data, size, count_sample, &n, &err);
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
