/*
 * check.c - the result a check plugin builds (struct tocsin_check), and
 * how the outcome of an external Nagios plugin becomes such a result.
 * See check.h and tocsin-plugin.h.
 */
#include "lib/check.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/nagios.h"

/* What Nagios shows for a plugin that printed nothing. */
#define NO_OUTPUT "(No output returned from plugin)"

const char *tocsin_check_service(const struct tocsin_check *chk)
{
    return chk->service ? chk->service : "";
}

struct timespec tocsin_check_deadline(const struct tocsin_check *chk)
{
    return chk->deadline;
}

double tocsin_check_remaining(const struct tocsin_check *chk)
{
    struct timespec now;
    double left;

    if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
        return 0;
    left = (double)(chk->deadline.tv_sec - now.tv_sec) +
           (double)(chk->deadline.tv_nsec - now.tv_nsec) / 1e9;
    return left > 0 ? left : 0;
}

static enum tocsin_state valid_state(enum tocsin_state s)
{
    if (s < TOCSIN_OK || s > TOCSIN_UNKNOWN)
        return TOCSIN_UNKNOWN;
    return s;
}

/*
 * Append `n` bytes of plugin-supplied text to `b`, made safe for the
 * output format: '|' would start perfdata, so it becomes '/'; '\r' and
 * NUL bytes are dropped.
 */
static void put_text(struct tocsin_buf *b, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\0')
            continue;
        tocsin_buf_putc(b, s[i] == '|' ? '/' : s[i]);
    }
}

/* Append `n` bytes as long-output lines, ending with '\n'. */
static void put_long(struct tocsin_check *chk, const char *s, size_t n)
{
    put_text(&chk->long_output, s, n);
    if (!chk->long_output.len ||
        chk->long_output.data[chk->long_output.len - 1] != '\n')
        tocsin_buf_putc(&chk->long_output, '\n');
}

/* The first line goes to the message; anything after the first newline
 * is appended to the long output. */
void tocsin_check_set(struct tocsin_check *chk, enum tocsin_state state,
                      const char *fmt, ...)
{
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    const char *nl;
    va_list ap;

    chk->state = valid_state(state);
    chk->raw = 0;
    tocsin_buf_reset(&chk->message);
    if (!fmt)
        return;
    va_start(ap, fmt);
    tocsin_buf_vprintf(&text, fmt, ap);
    va_end(ap);
    if (text.oom) {
        chk->message.oom = 1;
        goto out;
    }

    nl = text.len ? memchr(text.data, '\n', text.len) : NULL;
    if (!nl) {
        put_text(&chk->message, text.data, text.len);
        goto out;
    }
    put_text(&chk->message, text.data, (size_t)(nl - text.data));
    nl++;
    if (nl < text.data + text.len)
        put_long(chk, nl, (size_t)(text.data + text.len - nl));
out:
    tocsin_buf_free(&text);
}

void tocsin_check_raise(struct tocsin_check *chk, enum tocsin_state state)
{
    chk->state = tocsin_state_worst(chk->state, valid_state(state));
}

enum tocsin_state tocsin_check_state(const struct tocsin_check *chk)
{
    return chk->state;
}

void tocsin_check_long(struct tocsin_check *chk, const char *fmt, ...)
{
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    va_list ap;

    if (!fmt)
        return;
    va_start(ap, fmt);
    tocsin_buf_vprintf(&text, fmt, ap);
    va_end(ap);
    if (text.oom)
        chk->long_output.oom = 1;
    else
        put_long(chk, tocsin_buf_str(&text), text.len);
    tocsin_buf_free(&text);
}

/*
 * Format one perfdata item and append it to chk->perf. A NaN or infinite
 * value is written "U"; an invalid unit of measure is dropped rather than
 * emitted, since a consumer would reject the whole item.
 */
void tocsin_check_perf(struct tocsin_check *chk, const char *label,
                       double value, const char *uom,
                       const struct tocsin_thresholds *th,
                       double min, double max, unsigned flags)
{
    char warn[128] = "", crit[128] = "";
    struct tocsin_perf p;

    memset(&p, 0, sizeof(p));
    /* tocsin_perf_format() only reads the label. */
    p.label = (char *)(label ? label : "");
    if (isfinite(value))
        p.value = value;
    else
        p.value_unknown = 1;
    if (uom && strlen(uom) < sizeof(p.uom) && tocsin_uom_valid(uom))
        memcpy(p.uom, uom, strlen(uom) + 1);
    if (th) {
        tocsin_range_format(&th->warning, warn, sizeof(warn));
        tocsin_range_format(&th->critical, crit, sizeof(crit));
    }
    p.warn = warn[0] ? warn : NULL;
    p.crit = crit[0] ? crit : NULL;
    if ((flags & TOCSIN_PERF_MIN) && isfinite(min)) {
        p.min = min;
        p.has_min = 1;
    }
    if ((flags & TOCSIN_PERF_MAX) && isfinite(max)) {
        p.max = max;
        p.has_max = 1;
    }
    if (chk->perf.len)
        tocsin_buf_putc(&chk->perf, ' ');
    tocsin_perf_format(&p, &chk->perf);
}

/* The output is kept up to its first NUL byte, if it has one. */
void tocsin_check_set_raw(struct tocsin_check *chk, enum tocsin_state state,
                          const char *output, size_t len)
{
    const char *nul;

    chk->state = valid_state(state);
    chk->raw = 1;
    tocsin_buf_reset(&chk->rawtext);
    if (!output)
        return;
    nul = memchr(output, '\0', len);
    if (nul)
        len = (size_t)(nul - output);
    tocsin_buf_append(&chk->rawtext, output, len);
}

/* Length of `s` (n bytes) without the line breaks at its very end. */
static size_t strip_newlines(const char *s, size_t n)
{
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return n;
}

/* ------------------------------------------------------------------ */
/* External plugins                                                    */
/* ------------------------------------------------------------------ */

/* `n` bytes of `s`, cut at a NUL byte, as an int for "%.*s". */
static int text_len(const char *s, size_t n)
{
    const char *nul;

    if (!s)
        return 0;
    nul = memchr(s, '\0', n);
    if (nul)
        n = (size_t)(nul - s);
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* The first non-empty line of `s` (n bytes), without trailing blanks:
 * sets *line and returns its length (0 when there is none). */
static size_t first_line(const char *s, size_t n, const char **line)
{
    const char *end = s + n, *nl;
    size_t len;

    *line = s;
    while (s < end) {
        nl = memchr(s, '\n', (size_t)(end - s));
        len = (size_t)((nl ? nl : end) - s);
        while (len && (s[len - 1] == '\r' || s[len - 1] == ' ' ||
                       s[len - 1] == '\t'))
            len--;
        if (len) {
            *line = s;
            return len;
        }
        if (!nl)
            break;
        s = nl + 1;
    }
    return 0;
}

/*
 * Nagios semantics for a finished plugin (see tocsin-plugin.h). Exit
 * codes 0..3 pass stdout through byte for byte; stderr stands in only
 * when stdout is empty. An exit code out of bounds keeps the output but
 * says so on the first line, before any perfdata.
 */
void tocsin_check_set_exec(struct tocsin_check *chk,
                           const struct tocsin_exec_result *res,
                           const char *what)
{
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    const char *out, *err_line, *bar, *nl;
    size_t out_len, err_n, head;
    char signame[32];
    enum tocsin_state state;

    if (!what || !*what)
        what = "plugin";
    if (!res) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "UNKNOWN: cannot run %s", what);
        return;
    }
    out = res->out ? res->out : "";
    out_len = (size_t)text_len(out, res->out ? res->out_len : 0);
    out_len = strip_newlines(out, out_len);

    if (res->spawn_errno) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "UNKNOWN: cannot run %s: %s",
                         what, strerror(res->spawn_errno));
        return;
    }
    if (res->timed_out || !res->exited) {
        if (res->timed_out) {
            chk->timed_out = 1;
            tocsin_check_set(chk, TOCSIN_UNKNOWN, "UNKNOWN: %s timed out",
                             what);
        } else {
            tocsin_check_set(chk, TOCSIN_UNKNOWN,
                             "UNKNOWN: %s killed by signal %s", what,
                             tocsin_signal_name(res->term_signal, signame,
                                                sizeof(signame)));
        }
        if (out_len)
            tocsin_check_long(chk, "%.*s", (int)out_len, out);
        if (res->out_truncated)
            tocsin_check_long(chk, "(output truncated at %zu bytes)",
                              res->out_len);
        return;
    }

    if (out_len) {
        tocsin_buf_append(&text, out, out_len);
    } else {
        err_n = first_line(res->err ? res->err : "",
                           (size_t)text_len(res->err, res->err_len),
                           &err_line);
        if (err_n)
            tocsin_buf_append(&text, err_line, err_n);
        else
            tocsin_buf_puts(&text, NO_OUTPUT);
    }

    state = (enum tocsin_state)res->exit_code;
    if (res->exit_code < TOCSIN_OK || res->exit_code > TOCSIN_UNKNOWN) {
        /* Put the note at the end of the first line's text, before its
         * perfdata, so that it is not read as a perfdata item. */
        state = TOCSIN_UNKNOWN;
        nl = memchr(tocsin_buf_str(&text), '\n', text.len);
        head = nl ? (size_t)(nl - text.data) : text.len;
        bar = memchr(tocsin_buf_str(&text), '|', head);
        if (bar)
            head = (size_t)(bar - text.data);
        while (head && (text.data[head - 1] == ' ' ||
                        text.data[head - 1] == '\t' ||
                        text.data[head - 1] == '\r'))
            head--;
        tocsin_check_set_raw(chk, state, text.data, head);
        tocsin_buf_printf(&chk->rawtext,
                          " (plugin exited with code %d, out of bounds)",
                          res->exit_code);
        tocsin_buf_append(&chk->rawtext, text.data + head, text.len - head);
    } else {
        tocsin_check_set_raw(chk, state, text.data, text.len);
    }
    if (res->out_truncated)
        tocsin_buf_printf(&chk->rawtext, "\n(output truncated at %zu bytes)",
                          res->out_len);
    if (text.oom)
        chk->rawtext.oom = 1;
    tocsin_buf_free(&text);
}

void tocsin_check_timed_out(struct tocsin_check *chk)
{
    chk->timed_out = 1;
    if (chk->state == TOCSIN_OK)
        chk->state = TOCSIN_UNKNOWN;
}

void tocsin_append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!len || *used + 1 >= len)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    *used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}
