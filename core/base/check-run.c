/*
 * check-run.c - the host's side of a check: prepare a struct tocsin_check
 * for a plugin, render what the plugin built into Nagios output, release
 * it. Daemon code, not in libtocsin.so: plugins only fill a check in
 * (lib/check.c). See check-run.h.
 */
#include "base/check-run.h"

#include <string.h>

#include "tocsin-plugin.h"

/* Without a deadline from the caller, a check gets one day: far enough
 * to never matter, near enough that plugins can turn the remaining time
 * into an int of milliseconds. */
#define DEFAULT_BUDGET_S 86400

void tocsin_check_init(struct tocsin_check *chk, const char *service,
                       const struct timespec *deadline)
{
    memset(chk, 0, sizeof(*chk));
    chk->service = service ? service : "";
    if (deadline) {
        chk->deadline = *deadline;
    } else {
        clock_gettime(CLOCK_MONOTONIC, &chk->deadline);
        chk->deadline.tv_sec += DEFAULT_BUDGET_S;
    }
    chk->state = TOCSIN_UNKNOWN;
    tocsin_buf_init(&chk->message);
    tocsin_buf_init(&chk->long_output);
    tocsin_buf_init(&chk->perf);
    tocsin_buf_init(&chk->rawtext);
}

void tocsin_check_release(struct tocsin_check *chk)
{
    tocsin_buf_free(&chk->message);
    tocsin_buf_free(&chk->long_output);
    tocsin_buf_free(&chk->perf);
    tocsin_buf_free(&chk->rawtext);
}

/* Length of `s` (n bytes) without the line breaks at its very end. */
static size_t without_final_newlines(const char *s, size_t n)
{
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return n;
}

/* Raw text passes through as given, less its final line breaks; perfdata
 * and long output added by other calls are then not part of it. */
int tocsin_check_render(const struct tocsin_check *chk, struct tocsin_buf *out)
{
    size_t n;

    if (chk->raw) {
        n = without_final_newlines(tocsin_buf_str(&chk->rawtext),
                                   chk->rawtext.len);
        if (n)
            tocsin_buf_append(out, chk->rawtext.data, n);
        else
            tocsin_buf_printf(out, "%s: no output from plugin",
                              tocsin_state_name(chk->state));
        return out->oom || chk->rawtext.oom ? -1 : 0;
    }

    if (chk->message.len)
        tocsin_buf_append(out, chk->message.data, chk->message.len);
    else
        tocsin_buf_printf(out, "%s: no output from plugin",
                          tocsin_state_name(chk->state));
    if (chk->perf.len) {
        tocsin_buf_puts(out, " | ");
        tocsin_buf_append(out, chk->perf.data, chk->perf.len);
    }
    n = without_final_newlines(tocsin_buf_str(&chk->long_output),
                               chk->long_output.len);
    if (n) {
        tocsin_buf_putc(out, '\n');
        tocsin_buf_append(out, chk->long_output.data, n);
    }
    return out->oom || chk->message.oom || chk->long_output.oom ||
           chk->perf.oom ? -1 : 0;
}
