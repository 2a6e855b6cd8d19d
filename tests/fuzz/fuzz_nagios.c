/*
 * fuzz_nagios.c - fuzz harness for Nagios plugin output and performance
 * data (lib/perfdata.c) and for what a check makes of a plugin's output
 * and exit code (lib/check.c, tocsin_check_set_exec).
 *
 * Input: byte 0 is the exit code (as a signed byte; -128 stands for death
 * by a signal), the rest is the plugin's stdout.
 * Invariants: the state is always 0..3; the first line has no newline
 * and no '|'; the long output does not end in a newline; every perfdata
 * item written in canonical form parses back to one item whose canonical
 * form is the same text (a fixed point), with the same label, unit and
 * flags.
 */
#include <stdlib.h>
#include <string.h>

#include "base/check-run.h"
#include "fuzz.h"
#include "lib/check.h"
#include "lib/nagios.h"

/* Check the parsed output's shape and each item's round trip. */
static void check_output(const struct tocsin_output *out)
{
    struct tocsin_buf first = TOCSIN_BUF_INIT, second = TOCSIN_BUF_INIT;
    struct tocsin_output again;
    size_t i, n;

    FUZZ_CHECK(out->first_line && out->long_output, "NULL text after success");
    FUZZ_CHECK(!strchr(out->first_line, '\n') && !strchr(out->first_line, '|'),
               "first line \"%s\"", out->first_line);
    n = strlen(out->long_output);
    FUZZ_CHECK(n == 0 || out->long_output[n - 1] != '\n', "long output ends in a newline");
    for (i = 0; i < out->nperf; i++) {
        const struct tocsin_perf *p = &out->perf[i];

        FUZZ_CHECK(p->label && p->label[0], "item %zu has no label", i);
        FUZZ_CHECK(tocsin_uom_valid(p->uom), "item %zu has unit \"%s\"", i, p->uom);
        tocsin_buf_reset(&first);
        if (tocsin_perf_format(p, &first) < 0)
            goto out;
        memset(&again, 0, sizeof(again));
        if (tocsin_perf_parse(tocsin_buf_str(&first), &again) < 0)
            goto out;
        FUZZ_CHECK(again.nperf == 1 && again.perf_invalid == 0,
                   "\"%s\" parsed back to %zu items, %zu invalid",
                   tocsin_buf_str(&first), again.nperf, again.perf_invalid);
        tocsin_buf_reset(&second);
        if (tocsin_perf_format(&again.perf[0], &second) < 0) {
            tocsin_output_free(&again);
            goto out;
        }
        FUZZ_CHECK(strcmp(tocsin_buf_str(&first), tocsin_buf_str(&second)) == 0,
                   "\"%s\" came back as \"%s\"", tocsin_buf_str(&first),
                   tocsin_buf_str(&second));
        FUZZ_CHECK(strcmp(again.perf[0].uom, p->uom) == 0 &&
                   again.perf[0].value_unknown == p->value_unknown &&
                   again.perf[0].has_min == p->has_min &&
                   again.perf[0].has_max == p->has_max &&
                   !again.perf[0].warn == !p->warn && !again.perf[0].crit == !p->crit,
                   "the fields of \"%s\" changed", tocsin_buf_str(&first));
        tocsin_output_free(&again);
    }
out:
    tocsin_buf_free(&first);
    tocsin_buf_free(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tocsin_exec_result res;
    struct tocsin_check chk;
    struct tocsin_output out;
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    char *stdout_text;
    int code;

    if (size == 0)
        return 0;
    code = (signed char)data[0];
    stdout_text = fuzz_string(data + 1, size - 1);
    if (!stdout_text)
        return 0;

    /* The plugin's output as it came. */
    if (tocsin_output_parse(stdout_text, size - 1, &out) == 0) {
        check_output(&out);
        tocsin_output_free(&out);
    }

    /* What a check makes of it, and the output it hands on. */
    memset(&res, 0, sizeof(res));
    res.exited = code != -128;
    res.exit_code = code;
    res.term_signal = 9;
    res.out = stdout_text;
    res.out_len = size - 1;
    tocsin_check_init(&chk, "fuzz", NULL);
    tocsin_check_set_exec(&chk, &res, "fuzz");
    FUZZ_CHECK(chk.state >= TOCSIN_OK && chk.state <= TOCSIN_UNKNOWN, "state %d", (int)chk.state);
    FUZZ_CHECK(code == -128 || code < 0 || code > 3 || (int)chk.state == code,
               "exit code %d gave state %d", code, (int)chk.state);
    if (tocsin_check_render(&chk, &text) == 0 &&
        tocsin_output_parse(tocsin_buf_str(&text), text.len, &out) == 0) {
        check_output(&out);
        tocsin_output_free(&out);
    }
    tocsin_buf_free(&text);
    tocsin_check_release(&chk);
    free(stdout_text);
    return 0;
}
