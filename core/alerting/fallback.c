/*
 * fallback.c - the notification the fallback notifier gets in place of a
 * delivery that ended undelivered. See fallback.h.
 */
#include <string.h>

#include "alerting/fallback.h"
#include "alerting/saved.h"
#include "tocsin-plugin.h"

int tocsin_fallback_reason(struct tocsin_buf *out, const char *notifier, int64_t failing_ms,
                           const char *why, const char *before)
{
    char took[64];

    tocsin_duration_format(failing_ms > 0 ? (long long)((failing_ms + 500) / 1000) : 0, took,
                           sizeof(took));
    if (tocsin_buf_printf(out, "delivery to %s failed for %s", notifier, took) < 0)
        return -1;
    if (why && *why && tocsin_buf_printf(out, " (%s)", why) < 0)
        return -1;
    if (tocsin_buf_puts(out, "; sent here instead") < 0)
        return -1;
    if (before && *before && tocsin_buf_printf(out, "; %s", before) < 0)
        return -1;
    return 0;
}

int tocsin_fallback_payload(const void *payload, size_t len, const char *what,
                            const char *notifier, int64_t failing_ms, const char *why,
                            struct tocsin_buf *out)
{
    struct tocsin_saved_alert sa;
    struct tocsin_buf reason = TOCSIN_BUF_INIT;
    int rc = -1;

    memset(&sa, 0, sizeof(sa));
    if (tocsin_saved_alert_decode(payload, len, what, &sa) < 0)
        goto out;
    if (tocsin_fallback_reason(&reason, notifier, failing_ms, why, sa.alert.reason) < 0)
        goto out;
    sa.alert.reason = tocsin_buf_str(&reason);
    rc = tocsin_saved_alert_encode(out, &sa.alert, 0);
out:
    tocsin_saved_alert_free(&sa);
    tocsin_buf_free(&reason);
    return rc;
}
