/*
 * fuzz_saved.c - fuzz harness for the saved blob formats the store keeps
 * (alerting/saved.c): outbox alerts ('A'), alerting state ('I') and check
 * state ('S'), the current version and the upgrade of version 0.
 *
 * Input: byte 0 chooses the reader: 'A', 'I' or 'S' decode the rest as a
 * blob of that kind; 'a', 'i' or 's' upgrade the rest as a version 0 blob
 * of that kind; any other byte tries every reader on the rest.
 * Invariants: a blob that decodes re-encodes to a blob that decodes, and
 * re-encoding that gives the same bytes (a fixed point); decoded states,
 * kinds and flags are in range; an upgraded blob decodes with the
 * current reader; a refused blob leaves nothing to free.
 */
#include <string.h>

#include "alerting/saved.h"
#include "base/log.h"
#include "fuzz.h"

/* Decode `blob` as `kind`, then check the re-encoding's fixed point.
 * Returns the decoder's result. */
static int check_blob(enum tocsin_saved_kind kind, const void *blob, size_t len)
{
    struct tocsin_buf e1 = TOCSIN_BUF_INIT, e2 = TOCSIN_BUF_INIT;
    int rc = -1, pass;

    for (pass = 0; pass < 2; pass++) {
        struct tocsin_buf *out = pass ? &e2 : &e1;
        const void *in = pass ? e1.data : blob;
        size_t in_len = pass ? e1.len : len;
        int enc = -1;

        if (kind == TOCSIN_SAVED_ALERT) {
            struct tocsin_saved_alert sa;

            rc = tocsin_saved_alert_decode(in, in_len, "fuzz", &sa);
            if (rc == 0) {
                FUZZ_CHECK(sa.alert.state <= TOCSIN_UNKNOWN &&
                           sa.alert.previous <= TOCSIN_UNKNOWN &&
                           sa.alert.kind <= TOCSIN_ALERT_KIND_MAX &&
                           sa.alert.severity <= TOCSIN_SEVERITY_CRITICAL &&
                           (sa.alert.hard == 0 || sa.alert.hard == 1),
                           "alert fields out of range");
                FUZZ_CHECK(sa.alert.nlabels == 0 || sa.alert.labels, "labels missing");
                enc = tocsin_saved_alert_encode(out, &sa.alert, sa.deferred_until);
                tocsin_saved_alert_free(&sa);
            }
        } else if (kind == TOCSIN_SAVED_INCIDENT) {
            struct tocsin_saved_incident inc;

            rc = tocsin_saved_incident_decode(in, in_len, "fuzz", &inc);
            if (rc == 0) {
                FUZZ_CHECK(inc.state >= 0 && inc.state <= TOCSIN_UNKNOWN &&
                           (inc.pending == 0 || inc.pending == 1) &&
                           (inc.acked == 0 || inc.acked == 1) && inc.key,
                           "incident fields out of range");
                FUZZ_CHECK(inc.ntold == 0 || inc.told, "told missing");
                enc = tocsin_saved_incident_encode(out, &inc);
                tocsin_saved_incident_free(&inc);
            }
        } else {
            struct tocsin_saved_service s;

            rc = tocsin_saved_service_decode(in, in_len, "fuzz", &s);
            if (rc == 0) {
                FUZZ_CHECK(s.st.state <= TOCSIN_UNKNOWN && s.st.hard_state <= TOCSIN_UNKNOWN &&
                           s.st.hist_count <= TOCSIN_FLAP_HISTORY &&
                           s.st.hist_next < TOCSIN_FLAP_HISTORY && s.output,
                           "service fields out of range");
                enc = tocsin_saved_service_encode(out, &s);
                tocsin_saved_service_free(&s);
            }
        }
        if (pass == 0 && rc != 0)
            goto out;
        FUZZ_CHECK(pass == 0 || rc == 0, "kind '%c': a re-encoded blob is refused", (int)kind);
        if (enc < 0)
            goto out;
    }
    FUZZ_CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0,
               "kind '%c': re-encoding is not a fixed point", (int)kind);
    rc = 0;
out:
    tocsin_buf_free(&e1);
    tocsin_buf_free(&e2);
    return rc;
}

static void check_upgrade(enum tocsin_saved_kind kind, const void *blob, size_t len)
{
    struct tocsin_buf out = TOCSIN_BUF_INIT;
    int rc = tocsin_saved_upgrade(kind, blob, len, "fuzz", &out);

    FUZZ_CHECK(rc == 0 || out.len == 0, "kind '%c': refused upgrade wrote %zu bytes",
               (int)kind, out.len);
    if (rc == 0)
        FUZZ_CHECK(check_blob(kind, out.data, out.len) == 0,
                   "kind '%c': an upgraded blob is refused", (int)kind);
    tocsin_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum tocsin_saved_kind kinds[] = {
        TOCSIN_SAVED_ALERT, TOCSIN_SAVED_INCIDENT, TOCSIN_SAVED_SERVICE
    };
    size_t i;

    tocsin_log_set_level(-1); /* refused blobs are warned about: keep quiet */
    if (size == 0)
        return 0;
    for (i = 0; i < 3; i++) {
        if (data[0] == (uint8_t)kinds[i])
            check_blob(kinds[i], data + 1, size - 1);
        else if (data[0] == (uint8_t)(kinds[i] | 0x20))
            check_upgrade(kinds[i], data + 1, size - 1);
        else if (data[0] < 'A' || data[0] > 's') {
            check_blob(kinds[i], data + 1, size - 1);
            check_upgrade(kinds[i], data + 1, size - 1);
        }
    }
    return 0;
}
