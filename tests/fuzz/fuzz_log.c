/*
 * fuzz_log.c - fuzz harness for the line matcher and parser of the log
 * plugin: the time of a line (ISO 8601, syslog, nginx), the patterns with
 * `by` and `field` groups, and the report. The plugin's functions are
 * file-local, so its source is compiled into this harness.
 *
 * Input: the log's text. Each line goes through the matcher of an
 * instance with three patterns (a count, a ratio, a value per client, a
 * number); then the whole text is written to a log file that a second
 * instance checks, as a worker would.
 * Invariants: each line is counted once; no pattern counts more lines
 * than were read; values of `by` are printable and no longer than
 * LOG_VALUE_MAX; a line's time, when found, is a real date; the check's
 * state is 0..3 and its output parses as plugin output.
 */
#include "../../plugins/log.c"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/check-run.h"
#include "fuzz.h"
#include "lib/nagios.h"

static char log_dir[] = "/tmp/tocsin-fuzz-log-XXXXXX";
static char log_path[sizeof(log_dir) + 16];

static const char *const patterns[] = {
    "requests=^(?<client>\\S+) \\S+ \\S+ \\[[^]]+\\] \"[^\"]*\" (?<status>\\d{3}) "
        "\\d+ .* (?<rt>[-+0-9.eE]+)$",
    "errors=\" 5\\d\\d ",
    "failed=Failed password for (invalid user )?(?<user>\\S+) from (?<client>\\S+)",
};

static void remove_log(void)
{
    unlink(log_path);
    rmdir(log_dir);
}

/* A configured instance reading `path`. */
static struct log *make(const char *path, cfg_t **cfg_out)
{
    void *instance = NULL;
    char err[512];
    cfg_t *cfg = cfg_init(log_options, CFGF_NONE);
    size_t i;

    *cfg_out = cfg;
    if (!cfg)
        return NULL;
    if (cfg_setstr(cfg, "file", path) != CFG_SUCCESS ||
        cfg_setstr(cfg, "ratio", "errors/requests") != CFG_SUCCESS ||
        cfg_setstr(cfg, "by", "client") != CFG_SUCCESS ||
        cfg_setstr(cfg, "field", "rt") != CFG_SUCCESS ||
        cfg_setstr(cfg, "ratio_warning", "5") != CFG_SUCCESS ||
        cfg_setstr(cfg, "p95_warning", "1") != CFG_SUCCESS ||
        cfg_setint(cfg, "window", 100L * 365 * 86400 * 1000) != CFG_SUCCESS)
        return NULL;
    for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
        if (cfg_setnstr(cfg, "pattern", patterns[i], (unsigned)i) != CFG_SUCCESS)
            return NULL;
    if (log_setup(cfg, &instance, err, sizeof(err)) != 0) {
        FUZZ_CHECK(0, "setup refused the harness's options: %s", err);
        return NULL;
    }
    return instance;
}

/* The matcher alone, over every line. */
static void check_lines(const char *text, size_t size)
{
    struct log_read rd;
    struct log *l;
    cfg_t *cfg;
    const char *p = text, *end = text + size;
    uint64_t expect = 0;
    int64_t now = 1800000000000LL;
    size_t i;

    l = make("/nonexistent", &cfg);
    if (!l)
        goto out;
    memset(&rd, 0, sizeof(rd));
    rd.now = now;
    tocsin_window_advance(&l->win, now, log_clear_slot, l);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int64_t at;

        if (log_line_time(l, p, len, now, &at))
            FUZZ_CHECK(at >= 0 && at < 300000000000000LL, "line time %lld ms",
                       (long long)at);
        log_line(l, p, len, now, &rd);
        expect++;
        p += len + 1;
    }
    FUZZ_CHECK(rd.lines == expect, "%llu lines counted, %llu given",
               (unsigned long long)rd.lines, (unsigned long long)expect);
    for (i = 0; i < l->npat; i++)
        FUZZ_CHECK(tocsin_window_sum(l->pat[i].count) <= rd.lines,
                   "pattern %s counted more lines than read", l->pat[i].name);
    for (i = 0; i < l->nval; i++) {
        const char *c;

        FUZZ_CHECK(strlen(l->val[i].name) <= LOG_VALUE_MAX, "value too long");
        for (c = l->val[i].name; *c; c++)
            FUZZ_CHECK(*c >= 0x20 && *c < 0x7f && *c != '\'' && *c != '=',
                       "value \"%s\" is not printable", l->val[i].name);
    }
    log_teardown(l);
out:
    cfg_free(cfg);
}

/* The plugin's check over the text as its log. */
static void check_plugin_run(const uint8_t *data, size_t size)
{
    struct tocsin_check chk;
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    struct tocsin_output out;
    struct log *l;
    cfg_t *cfg;
    FILE *f;

    if (!log_path[0]) {
        if (!mkdtemp(log_dir))
            return;
        snprintf(log_path, sizeof(log_path), "%s/access.log", log_dir);
        atexit(remove_log);
    }
    f = fopen(log_path, "wb");
    if (!f)
        return;
    if (fwrite(data, 1, size, f) != size) {
        fclose(f);
        return;
    }
    if (fclose(f) != 0)
        return;
    l = make(log_path, &cfg);
    if (!l)
        goto out;
    tocsin_check_init(&chk, "fuzz", NULL);
    log_check(l, &chk);
    FUZZ_CHECK(chk.state >= TOCSIN_OK && chk.state <= TOCSIN_UNKNOWN, "state %d",
               (int)chk.state);
    if (tocsin_check_render(&chk, &text) == 0 &&
        tocsin_output_parse(tocsin_buf_str(&text), text.len, &out) == 0) {
        FUZZ_CHECK(out.perf_invalid == 0, "the check wrote %zu bad perfdata items: %s",
                   out.perf_invalid, tocsin_buf_str(&text));
        tocsin_output_free(&out);
    }
    tocsin_buf_free(&text);
    tocsin_check_release(&chk);
    log_teardown(l);
out:
    cfg_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_lines((const char *)data, size);
    check_plugin_run(data, size);
    return 0;
}
