/*
 * group.c - rolling members up into a group's state. See group.h.
 */
#include <string.h>

#include "engine/group.h"

/* Does `have` reach the count `c` among `total` members? A count is
 * reached by at least one member, so "0" and "0%" mean "any". */
static int reaches(const struct tocsin_count *c, size_t have, size_t total)
{
    if (c->n < 0 || have == 0)
        return 0;
    if (c->percent)
        return total && (double)have * 100.0 >= c->n * (double)total;
    return (double)have >= c->n;
}

/* The length of the first line of `o` (up to '|' or a newline, trailing
 * blanks dropped), at most `max` bytes and never ending inside a UTF-8
 * sequence. */
static size_t summary_len(const char *o, size_t max)
{
    size_t n = strcspn(o, "|\n");

    while (n && o[n - 1] == ' ')
        n--;
    if (n <= max)
        return n;
    n = max;
    /* Back off over continuation bytes to the start of the sequence cut. */
    while (n && ((unsigned char)o[n] & 0xC0) == 0x80)
        n--;
    return n;
}

enum tocsin_state tocsin_group_eval(const struct tocsin_config *conf, uint32_t g,
                                    const struct tocsin_svc_view *views,
                                    struct tocsin_buf *out)
{
    const struct tocsin_service_conf *gs = &conf->services[g];
    size_t counts[4] = {0, 0, 0, 0}, i, bad;
    enum tocsin_state st = TOCSIN_OK;
    struct tocsin_buf list = TOCSIN_BUF_INIT;

    for (i = 0; i < gs->nmembers; i++) {
        const struct tocsin_svc_view *v = &views[gs->members[i]];
        enum tocsin_state ms = v->checked ? v->hard_state : TOCSIN_OK;
        const char *o = v->output ? v->output : "";
        size_t n;

        /* A state out of range counts as UNKNOWN, as in tocsin_state_worst,
         * and never indexes past counts[]. */
        if ((unsigned)ms > TOCSIN_UNKNOWN)
            ms = TOCSIN_UNKNOWN;
        counts[ms]++;
        if (ms == TOCSIN_OK)
            continue;
        n = summary_len(o, 200);
        tocsin_buf_printf(&list, "%s%s %s%s%.*s", list.len ? "; " : "",
                          conf->services[gs->members[i]].inst.name, tocsin_state_name(ms),
                          n ? ": " : "", (int)n, o);
        if (gs->group_mode == TOCSIN_GROUP_WORST)
            st = tocsin_state_worst(st, ms);
    }
    bad = gs->nmembers - counts[TOCSIN_OK];
    if (gs->group_mode == TOCSIN_GROUP_COUNT) {
        if (reaches(&gs->critical_at, counts[TOCSIN_CRITICAL], gs->nmembers))
            st = TOCSIN_CRITICAL;
        else if (reaches(&gs->warning_at, bad, gs->nmembers))
            st = TOCSIN_WARNING;
    }
    if (!bad)
        tocsin_buf_printf(out, "all %zu members OK", gs->nmembers);
    else
        tocsin_buf_printf(out, "%zu of %zu members not OK: %s", bad, gs->nmembers,
                          tocsin_buf_str(&list));
    tocsin_buf_printf(out, " | ok=%zu;;;0;%zu warning=%zu;;;0;%zu critical=%zu;;;0;%zu "
                      "unknown=%zu;;;0;%zu", counts[0], gs->nmembers, counts[1], gs->nmembers,
                      counts[2], gs->nmembers, counts[3], gs->nmembers);
    tocsin_buf_free(&list);
    return st;
}
