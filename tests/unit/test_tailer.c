/*
 * test_tailer.c - following a log file across reads (plugins/common/
 * tailer.c): lines appended, a partial last line, rotation by rename with
 * the rest of the old file, copytruncate (shorter, and rewritten to the
 * same size), max_read on a first read, an over-long line; and the
 * sliding window and value histogram (plugins/common/window.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/tailer.h"
#include "common/window.h"

/* The lines a read handed over, joined with '|', cut ones marked '!'. */
struct got {
    char text[4096];
    size_t used;
    unsigned lines;
    size_t longest;
};

static void take(void *ctx, const char *line, size_t len, int cut)
{
    struct got *g = ctx;

    g->lines++;
    if (len > g->longest)
        g->longest = len;
    if (len > 64)
        len = 64;
    tocsin_append(g->text, sizeof(g->text), &g->used, "%s%s%.*s",
                  g->used ? "|" : "", cut ? "!" : "", (int)len, line);
}

struct fixture {
    char dir[64];
    char path[96];
    char old[96];
    struct tocsin_tailer t;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/tocsin-tailer-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/app.log", f->dir);
    snprintf(f->old, sizeof(f->old), "%s/app.log.1", f->dir);
    if (tocsin_tailer_init(&f->t, f->path) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    tocsin_tailer_free(&f->t);
    unlink(f->path);
    unlink(f->old);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void put(const char *path, const char *mode, const char *text)
{
    FILE *fp = fopen(path, mode);

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* Read once with max_read `max`; the lines in g, what happened in rd. */
static void read_once(struct fixture *f, off_t max, struct got *g,
                      struct tocsin_tail_read *rd)
{
    char err[256];

    memset(g, 0, sizeof(*g));
    if (tocsin_tailer_read(&f->t, max, NULL, take, g, rd, err, sizeof(err)) < 0)
        fail_msg("read failed: %s", err);
}

static void appended_lines_are_read_once_and_partial_line_waits(void **state)
{
    struct fixture *f = *state;
    struct tocsin_tail_read rd;
    struct got g;

    put(f->path, "w", "one\ntwo\nthr");
    read_once(f, 1 << 20, &g, &rd);
    assert_string_equal(g.text, "one|two");
    put(f->path, "a", "ee\nfour\n");
    read_once(f, 1 << 20, &g, &rd);
    if (strcmp(g.text, "three|four") != 0)
        fail_msg("expected the partial line completed, then four; got \"%s\"", g.text);
    read_once(f, 1 << 20, &g, &rd);
    assert_int_equal(g.lines, 0);
    assert_int_equal(rd.rotated | rd.truncated, 0);
}

static void rename_rotation_reads_the_rest_of_the_old_file(void **state)
{
    struct fixture *f = *state;
    struct tocsin_tail_read rd;
    struct got g;

    put(f->path, "w", "a1\na2\n");
    read_once(f, 1 << 20, &g, &rd);
    put(f->path, "a", "a3\na4");              /* a4: no newline yet */
    assert_int_equal(rename(f->path, f->old), 0);
    put(f->path, "w", "b1\n");
    read_once(f, 1 << 20, &g, &rd);
    assert_int_equal(rd.rotated, 1);
    if (strcmp(g.text, "a3|a4|b1") != 0)
        fail_msg("expected the old file's rest (with its last line) then the "
                 "new file; got \"%s\"", g.text);
}

static void rotated_file_gone_still_reads_through_the_descriptor(void **state)
{
    struct fixture *f = *state;
    struct tocsin_tail_read rd;
    struct got g;

    put(f->path, "w", "a1\n");
    read_once(f, 1 << 20, &g, &rd);
    put(f->path, "a", "a2\n");
    /* Renamed, then compressed away (removed) before the read. */
    assert_int_equal(rename(f->path, f->old), 0);
    assert_int_equal(unlink(f->old), 0);
    put(f->path, "w", "b1\n");
    read_once(f, 1 << 20, &g, &rd);
    assert_string_equal(g.text, "a2|b1");
}

static void copytruncate_reads_again_from_the_start(void **state)
{
    struct fixture *f = *state;
    struct tocsin_tail_read rd;
    struct got g;

    put(f->path, "w", "first line\nsecond line\n");
    read_once(f, 1 << 20, &g, &rd);
    put(f->path, "w", "new\n");              /* shorter than the offset */
    read_once(f, 1 << 20, &g, &rd);
    assert_int_equal(rd.truncated, 1);
    assert_string_equal(g.text, "new");
    /* Truncated and written past the old offset before the read. */
    put(f->path, "w", "other start\nand more lines\n");
    read_once(f, 1 << 20, &g, &rd);
    assert_int_equal(rd.truncated, 1);
    if (strcmp(g.text, "other start|and more lines") != 0)
        fail_msg("expected the rewritten file from its start; got \"%s\"", g.text);
}

static void first_read_keeps_the_last_max_read_bytes(void **state)
{
    struct fixture *f = *state;
    struct tocsin_tail_read rd;
    struct got g;
    char text[8192];
    size_t used = 0;
    int i;

    text[0] = '\0';
    for (i = 0; i < 1000; i++)
        tocsin_append(text, sizeof(text), &used, "%04d\n", i);
    put(f->path, "w", text);
    read_once(f, 4096, &g, &rd);
    assert_int_equal(rd.started_late, 1);
    /* 4096 bytes from the end of 5000 start inside line 180: it is
     * skipped, the 819 lines after it are read. */
    assert_int_equal(g.lines, 819);
    if (strcmp(g.text + g.used - 4, "0999") != 0)
        fail_msg("expected the newest lines; got \"...%s\"", g.text + g.used - 20);
}

static void huge_line_is_cut_and_the_next_line_read(void **state)
{
    struct fixture *f = *state;
    struct tocsin_tail_read rd;
    struct got g;
    size_t n = 3 * TOCSIN_TAIL_LINE_MAX + 10;
    char *big = malloc(n + 16);

    assert_non_null(big);
    memset(big, 'x', n);
    memcpy(big + n, "\nafter\n", 8);
    put(f->path, "w", big);
    free(big);
    read_once(f, 1 << 26, &g, &rd);
    assert_int_equal(rd.cut_lines, 1);
    assert_int_equal(g.lines, 2);
    assert_int_equal(g.longest, TOCSIN_TAIL_LINE_MAX);
    assert_int_equal(g.text[0], '!');
    assert_string_equal(g.text + g.used - 6, "|after");
}

static void missing_file_is_an_error_with_its_path(void **state)
{
    struct fixture *f = *state;
    struct tocsin_tail_read rd;
    struct got g;
    char err[256];

    memset(&g, 0, sizeof(g));
    assert_int_equal(tocsin_tailer_read(&f->t, 4096, NULL, take, &g, &rd, err,
                                        sizeof(err)), -1);
    if (!strstr(err, "cannot open") || !strstr(err, f->path))
        fail_msg("expected \"cannot open PATH: ...\"; got \"%s\"", err);
}

/* ------------------------------------------------------------------ */

static uint32_t counts[TOCSIN_WINDOW_SLOTS];

static void clear(void *ctx, unsigned slot)
{
    (void)ctx;
    counts[slot] = 0;
}

static void window_counts_expire_slot_by_slot(void **state)
{
    struct tocsin_window w;
    int64_t t0 = 1699999980000LL;       /* on a minute boundary */
    int s, i;

    (void)state;
    memset(counts, 0, sizeof(counts));
    tocsin_window_init(&w, 3600000);     /* 1h: slots of 1 min */
    assert_int_equal(w.slot_ms, 60000);
    tocsin_window_advance(&w, t0, clear, NULL);
    for (i = 0; i < 60; i++) {
        s = tocsin_window_slot(&w, t0 - i * 60000, clear, NULL);
        if (s < 0)
            fail_msg("event %d min old: expected inside the 1h window", i);
        counts[s]++;
    }
    assert_int_equal(tocsin_window_slot(&w, t0 - 60 * 60000, clear, NULL), -1);
    assert_int_equal(tocsin_window_sum(counts), 60);
    /* A future event counts in the newest slot. */
    s = tocsin_window_slot(&w, t0 + 86400000, clear, NULL);
    assert_int_equal(s, tocsin_window_slot(&w, t0, clear, NULL));
    /* Ten minutes on: the ten oldest slots left. */
    tocsin_window_advance(&w, t0 + 10 * 60000, clear, NULL);
    assert_int_equal(tocsin_window_sum(counts), 50);
    /* The window never moves back. */
    tocsin_window_advance(&w, t0, clear, NULL);
    assert_int_equal(tocsin_window_slot(&w, t0 - 55 * 60000, clear, NULL), -1);
    tocsin_window_advance(&w, t0 + 2 * 3600000, clear, NULL);
    assert_int_equal(tocsin_window_sum(counts), 0);
}

static void vhist_mean_and_percentiles_within_bin_width(void **state)
{
    static struct tocsin_vhist h, other;
    double p95, p99, p50;
    int i;

    (void)state;
    tocsin_vhist_clear(&h);
    tocsin_vhist_clear(&other);
    assert_true(tocsin_vhist_quantile(&h, 0.95) == 0);
    for (i = 1; i <= 500; i++)
        tocsin_vhist_add(&h, i / 1000.0);            /* 0.001 .. 0.5 */
    for (i = 501; i <= 1000; i++)
        tocsin_vhist_add(&other, i / 1000.0);        /* 0.501 .. 1.0 */
    tocsin_vhist_merge(&h, &other);
    assert_int_equal(h.n, 1000);
    assert_true(h.sum / h.n > 0.5004 && h.sum / h.n < 0.5006);
    p50 = tocsin_vhist_quantile(&h, 0.5);
    p95 = tocsin_vhist_quantile(&h, 0.95);
    p99 = tocsin_vhist_quantile(&h, 0.99);
    if (p50 < 0.5 * 0.978 || p50 > 0.5 * 1.022)
        fail_msg("p50: expected 0.5 within 2.2%%, got %g", p50);
    if (p95 < 0.95 * 0.978 || p95 > 0.95 * 1.022)
        fail_msg("p95: expected 0.95 within 2.2%%, got %g", p95);
    if (p99 < 0.99 * 0.978 || p99 > 1.0)
        fail_msg("p99: expected 0.99 within 2.2%% and at most the max, got %g", p99);
    assert_true(tocsin_vhist_quantile(&h, 1) <= 1.0);
    /* Zeros are exact. */
    tocsin_vhist_clear(&h);
    for (i = 0; i < 10; i++)
        tocsin_vhist_add(&h, 0);
    assert_true(tocsin_vhist_quantile(&h, 0.99) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(appended_lines_are_read_once_and_partial_line_waits,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(rename_rotation_reads_the_rest_of_the_old_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(rotated_file_gone_still_reads_through_the_descriptor,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(copytruncate_reads_again_from_the_start,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(first_read_keeps_the_last_max_read_bytes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(huge_line_is_cut_and_the_next_line_read,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file_is_an_error_with_its_path,
                                        setup, teardown),
        cmocka_unit_test(window_counts_expire_slot_by_slot),
        cmocka_unit_test(vhist_mean_and_percentiles_within_bin_width),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
