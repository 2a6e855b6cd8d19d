/*
 * fuzz_fail2ban.c - fuzz harness for the fail2ban log parser of the
 * fail2ban-log plugin. The plugin's parser is file-local, so its source
 * is compiled into this harness.
 *
 * Input: the log's text. Each line goes through the line parser with no
 * time window (every event counts); then the whole text is written to a
 * log file that the plugin checks, as a worker would, with a window of
 * 100 years.
 * Invariants: each non-blank line is counted once; a jail's name is not
 * empty and holds no ']'; events recorded are no more than the lines
 * read; the check's state is 0..3 and its output parses as plugin output.
 */
#include "../../plugins/fail2ban-log.c"

#include <stdint.h>
#include <stdlib.h>

#include "base/check-run.h"
#include "fuzz.h"
#include "lib/nagios.h"

static char log_dir[] = "/tmp/tocsin-fuzz-f2b-XXXXXX";
static char log_path[sizeof(log_dir) + 16];

static void remove_log(void)
{
    unlink(log_path);
    rmdir(log_dir);
}

/* The line parser alone, over every line. */
static void check_lines(const char *text, size_t size)
{
    struct f2b f;
    struct f2b_read rd;
    const char *p = text, *end = text + size;
    uint64_t expect = 0, events = 0;
    size_t i;

    memset(&f, 0, sizeof(f));
    memset(&rd, 0, sizeof(rd));
    f.tail.fd = -1;
    f.count_found = 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p), k = len;

        while (k > 0 && (p[k - 1] == '\r' || p[k - 1] == ' '))
            k--;
        expect += k > 0;
        f2b_line(&f, p, len, INT64_MIN, &rd);
        p += len + 1;
    }
    FUZZ_CHECK(rd.lines == expect, "%llu lines counted, %llu given",
               (unsigned long long)rd.lines, (unsigned long long)expect);
    FUZZ_CHECK(rd.not_understood <= rd.lines, "more lines not understood than read");
    for (i = 0; i < f.njail; i++) {
        FUZZ_CHECK(!strchr(f.jail[i].name, ']'), "jail \"%s\"", f.jail[i].name);
        events += f.jail[i].bans.n + f.jail[i].found.n + f.jail[i].restored.n;
    }
    FUZZ_CHECK(events <= rd.lines, "%llu events from %llu lines",
               (unsigned long long)events, (unsigned long long)rd.lines);
    f.jails = NULL;
    f.njails = 0;
    for (i = 0; i < f.njail; i++) {
        free(f.jail[i].name);
        f2b_times_free(&f.jail[i].bans);
        f2b_times_free(&f.jail[i].found);
        f2b_times_free(&f.jail[i].restored);
    }
    free(f.jail);
}

/* The plugin's check over the text as its log. */
static void check_plugin_run(const uint8_t *data, size_t size)
{
    struct tocsin_check chk;
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    struct tocsin_output out;
    void *instance = NULL;
    char err[256];
    cfg_t *cfg;
    FILE *f;

    if (!log_path[0]) {
        if (!mkdtemp(log_dir))
            return;
        snprintf(log_path, sizeof(log_path), "%s/fail2ban.log", log_dir);
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
    cfg = cfg_init(f2b_options, CFGF_NONE);
    if (!cfg)
        return;
    if (cfg_setstr(cfg, "log", log_path) != CFG_SUCCESS ||
        cfg_setint(cfg, "window", 100L * 365 * 86400 * 1000) != CFG_SUCCESS ||
        cfg_setbool(cfg, "count_found", cfg_true) != CFG_SUCCESS)
        goto out;
    if (f2b_setup(cfg, &instance, err, sizeof(err)) != 0)
        goto out;
    tocsin_check_init(&chk, "fuzz", NULL);
    f2b_check(instance, &chk);
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
    f2b_teardown(instance);
out:
    cfg_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_lines((const char *)data, size);
    check_plugin_run(data, size);
    return 0;
}
