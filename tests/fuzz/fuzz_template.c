/*
 * fuzz_template.c - fuzz harness for message templates (lib/template.c).
 *
 * Input: the template, then NUL-separated strings for the alert's
 * service, host, output, long output, perfdata, incident, reason and
 * label keys and values; the last bytes of the input choose the state,
 * kind and times.
 * Invariants: rendering never fails; a template without braces renders
 * to itself; a template that tocsin_template_check() accepts and that
 * has no "{{", filled from strings without '{', renders without a '{'; valid UTF-8 in gives valid UTF-8 out.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tocsin-plugin.h"

#define FIELDS 12

static int has_brace(const char *s)
{
    return s && strpbrk(s, "{}") != NULL;
}

static int has_open(const char *s)
{
    return s && strchr(s, '{') != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tocsin_alert alert, grouped;
    struct tocsin_label labels[2];
    const char *field[FIELDS];
    char *copy, *p, *end, *out, err[256];
    size_t i, n = 0;
    int braces = 0, utf8 = 1, checked;
    unsigned char tail = size ? data[size - 1] : 0;

    copy = fuzz_string(data, size);
    if (!copy)
        return 0;
    end = copy + size;
    for (i = 0; i < FIELDS; i++)
        field[i] = "";
    for (p = copy; p <= end && n < FIELDS; p += strlen(p) + 1)
        field[n++] = p;
    for (i = 0; i < FIELDS; i++) {
        braces |= i > 0 && has_open(field[i]);
        utf8 &= tocsin_utf8_valid(field[i]);
    }

    labels[0].key = field[8];
    labels[0].value = field[9];
    labels[1].key = field[10];
    labels[1].value = field[11];
    memset(&alert, 0, sizeof(alert));
    alert.service = field[1];
    alert.host = field[2];
    alert.output = field[3];
    alert.long_output = field[4];
    alert.perfdata = field[5];
    alert.incident = field[6];
    alert.reason = field[7];
    alert.group_key = alert.route = alert.link = "";
    alert.labels = labels;
    alert.nlabels = 2;
    alert.state = (enum tocsin_state)(tail & 3);
    alert.previous = (enum tocsin_state)((tail >> 2) & 3);
    alert.kind = (enum tocsin_alert_kind)((tail >> 4) % 6);
    alert.severity = (enum tocsin_severity)((tail >> 6) & 3);
    alert.attempt = tail;
    alert.max_attempts = 3;
    alert.since = (time_t)1700000000 + tail * 3600;
    alert.problem_since = alert.since - tail;
    alert.at = tail & 1 ? alert.since + 86400 * 3 + 7 : 0;
    grouped = alert;
    grouped.grouped = NULL;
    grouped.ngrouped = 0;
    alert.grouped = &grouped;
    alert.ngrouped = tail & 1;

    checked = tocsin_template_check(field[0], err, sizeof(err));
    FUZZ_CHECK(checked == 0 || err[0], "template refused without a reason");
    out = tocsin_template_render(field[0], &alert);
    FUZZ_CHECK(out != NULL, "rendering failed");
    if (!has_brace(field[0]))
        FUZZ_CHECK(strcmp(out, field[0]) == 0, "\"%s\" rendered as \"%s\"", field[0], out);
    if (checked == 0 && !braces && !strstr(field[0], "{{"))
        FUZZ_CHECK(!has_open(out), "\"%s\" rendered with a '{': \"%s\"", field[0], out);
    if (utf8)
        FUZZ_CHECK(tocsin_utf8_valid(out), "\"%s\" rendered as invalid UTF-8", field[0]);
    free(out);
    free(copy);
    return 0;
}
