/*
 * fuzz_proto.c - fuzz harness for the worker wire protocol decoder
 * (engine/proto.c): frames as a worker or the core reads them from its
 * socket, and the alerts of notifier frames.
 *
 * Input: the bytes read from the socket.
 * Invariants: a frame found lies wholly inside the bytes read and moves
 * the reader forward; a malformed length stops the stream; a decoded
 * alert has a state, previous state, kind and severity in range, strings
 * that end inside the frame, and re-encodes to bytes that decode to the
 * same fields and encode to the same bytes again.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/proto.h"
#include "fuzz.h"

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Decode the alerts that follow a notifier frame's fixed part. */
static void check_alerts(const char *payload, size_t len)
{
    struct tocsin_alert_msg m;
    const char *p;
    size_t left, i;
    uint32_t k;

    if (len < sizeof(m))
        return;
    memcpy(&m, payload, sizeof(m));
    p = payload + sizeof(m);
    left = len - sizeof(m);
    for (k = 0; k < m.count && left > 0; k++) {
        struct tocsin_alert a, b;
        struct tocsin_buf enc = TOCSIN_BUF_INIT;
        const char *start = p, *q;
        size_t left2;

        if (tocsin_alert_decode(&p, &left, &a) < 0)
            break;
        FUZZ_CHECK(p > start && p <= payload + len, "decode ran past the frame");
        FUZZ_CHECK(a.state <= TOCSIN_UNKNOWN && a.previous <= TOCSIN_UNKNOWN &&
                   a.kind <= TOCSIN_ALERT_KIND_MAX && a.severity <= TOCSIN_SEVERITY_CRITICAL,
                   "fields out of range");
        FUZZ_CHECK(a.service >= payload && a.reason < payload + len,
                   "strings outside the frame");
        if (tocsin_alert_encode(&enc, &a) == 0) {
            struct tocsin_buf enc2 = TOCSIN_BUF_INIT;

            q = enc.data;
            left2 = enc.len;
            FUZZ_CHECK(tocsin_alert_decode(&q, &left2, &b) == 0 && left2 == 0,
                       "re-encoded alert %u refused", k);
            FUZZ_CHECK(same(a.service, b.service) && same(a.output, b.output) &&
                       same(a.reason, b.reason) && a.nlabels == b.nlabels &&
                       a.since == b.since && a.state == b.state,
                       "re-encoded alert %u differs", k);
            for (i = 0; i < a.nlabels; i++)
                FUZZ_CHECK(same(a.labels[i].key, b.labels[i].key) &&
                           same(a.labels[i].value, b.labels[i].value), "label %zu differs", i);
            if (tocsin_alert_encode(&enc2, &b) == 0)
                FUZZ_CHECK(enc2.len == enc.len && memcmp(enc2.data, enc.data, enc.len) == 0,
                           "alert %u: encoding is not a fixed point", k);
            tocsin_buf_free(&enc2);
            free((void *)b.labels);
        }
        tocsin_buf_free(&enc);
        free((void *)a.labels);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tocsin_buf in = TOCSIN_BUF_INIT;
    size_t off = 0;

    if (tocsin_buf_append(&in, data, size) < 0)
        goto out;
    for (;;) {
        const char *payload = NULL;
        size_t payload_len = 0;
        uint32_t type = 0;
        long n = tocsin_frame_next(&in, off, &type, &payload, &payload_len);

        if (n <= 0)
            break;
        FUZZ_CHECK((size_t)n >= sizeof(struct tocsin_frame_hdr) && off + (size_t)n <= in.len,
                   "frame of %ld bytes at %zu of %zu", n, off, in.len);
        FUZZ_CHECK(payload == in.data + off + sizeof(struct tocsin_frame_hdr) &&
                   payload_len == (size_t)n - sizeof(struct tocsin_frame_hdr),
                   "payload does not match the frame");
        if (type == TOCSIN_MSG_ALERT)
            check_alerts(payload, payload_len);
        else if (type == TOCSIN_MSG_RESULT && payload_len >= sizeof(struct tocsin_result_msg)) {
            const char *s;
            size_t slen, left = payload_len;
            const char *p = payload;

            /* A string field, as a reason or output may be sent. */
            if (tocsin_frame_get_str(&p, &left, &s, &slen) == 0)
                FUZZ_CHECK(s + slen <= payload + payload_len, "string past the frame");
        }
        off += (size_t)n;
    }
out:
    tocsin_buf_free(&in);
    return 0;
}
