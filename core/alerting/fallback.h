/*
 * fallback.h - the notification the fallback notifier gets in place of a
 * delivery that ended without being delivered (failed for good, or
 * expired). See docs/internals/alerting.md, "Delivery fallback".
 */
#ifndef TOCSIN_FALLBACK_H
#define TOCSIN_FALLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/*
 * Write to `out` the reason the fallback notifier reads: "delivery to
 * NOTIFIER failed for DURATION (WHY); sent here instead", then "; " and
 * the alert's own reason `before` when it has one. `failing_ms` is how
 * long the delivery was tried (from its queueing to its end); `why` is
 * the last thing the notifier said (NULL or "": left out). Returns 0 or
 * -1 (out of memory).
 */
int tocsin_fallback_reason(struct tocsin_buf *out, const char *notifier, int64_t failing_ms,
                           const char *why, const char *before);

/*
 * Rewrite saved alert `payload` (alerting/saved.h, kind `A`) for the
 * fallback notifier: the same alert, its reason given by
 * tocsin_fallback_reason. `what` names the blob in a decoder's warning.
 * Appends to `out`; returns 0, or -1 when the blob cannot be read or
 * memory ran out (nothing worth sending: the caller logs it).
 * O(size of the alert).
 */
int tocsin_fallback_payload(const void *payload, size_t len, const char *what,
                            const char *notifier, int64_t failing_ms, const char *why,
                            struct tocsin_buf *out);

#endif
