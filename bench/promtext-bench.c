/*
 * promtext-bench.c - the prometheus check's parser and expressions in a
 * loop, for bench/prometheus.py: reads a scraped text, then parses it and
 * collects the series of the given expressions N times, and prints the
 * mean CPU time per pass (CPU, not wall-clock, time: a loaded machine
 * does not change it much) and the peak resident memory.
 *
 *   promtext-bench FILE N "NAME: EXPRESSION" ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tocsin-plugin.h"
#include "common/promexpr.h"

/* The whole of `path` in a buffer the caller frees; NULL on failure. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL, *grown;
    size_t cap = 0, n;

    *len = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (*len + 65536 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            if (!(grown = realloc(buf, cap))) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
        }
        n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    return buf;
}

/* The peak resident memory of this program in KiB (VmHWM: unlike
 * ru_maxrss it does not carry the parent's peak across exec), or -1. */
static long peak_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    struct tocsin_promexpr exprs[64];
    struct tocsin_promexpr_scrape scrape;
    struct tocsin_promtext_error perr;
    struct timespec t0, t1;
    size_t len, nexprs = 0, i;
    long n, k;
    char err[256], *text;
    int rc = 1;

    if (argc < 3 || argc - 3 > 64) {
        fprintf(stderr, "usage: promtext-bench FILE N [\"NAME: EXPRESSION\" ...]\n");
        return 2;
    }
    memset(&scrape, 0, sizeof(scrape));
    if (!(text = slurp(argv[1], &len))) {
        fprintf(stderr, "promtext-bench: cannot read %s\n", argv[1]);
        return 1;
    }
    n = strtol(argv[2], NULL, 10);
    for (i = 0; i < (size_t)(argc - 3); i++) {
        if (tocsin_promexpr_parse(argv[3 + i], &exprs[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "promtext-bench: %s: %s\n", argv[3 + i], err);
            goto out;
        }
        nexprs++;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (k = 0; k < n; k++) {
        tocsin_promexpr_scrape_reset(&scrape);
        if (tocsin_promexpr_collect(exprs, nexprs, text, len, &scrape, &perr) != 0) {
            fprintf(stderr, "promtext-bench: line %lu: %s\n", perr.line, perr.reason);
            goto out;
        }
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    printf("passes %ld samples %lu series %zu us_per_pass %.1f maxrss_kb %ld\n", n,
           scrape.samples, scrape.n,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
            (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / (double)(n > 0 ? n : 1),
           peak_kib());
    rc = 0;
out:
    for (i = 0; i < nexprs; i++)
        tocsin_promexpr_free(&exprs[i]);
    tocsin_promexpr_scrape_free(&scrape);
    free(text);
    return rc;
}
