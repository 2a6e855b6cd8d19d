/*
 * threshold.h - thresholds a service sets on its plugin's performance
 * data, so that any figure a plugin reports (a Nagios plugin's too) can
 * raise the service's state.
 */
#ifndef TOCSIN_THRESHOLD_H
#define TOCSIN_THRESHOLD_H

#include <stddef.h>

#include "lib/buf.h"
#include "config/config.h"

/*
 * Hold the output `text` (len bytes, Nagios format) of a check of `s`
 * against the service's thresholds. The result's state becomes the worst
 * of the plugin's own (*state) and the thresholds'; a label a threshold
 * names that is missing from the perfdata, or whose value is "U", makes it
 * UNKNOWN. When something was judged, the output is rewritten into `out`
 * with the reason added to the first line ("... (time=3.2s outside
 * critical range ~:3)", figures written in full as perfdata writes them)
 * and 1 is returned; 0 means the output stands as it is (no thresholds,
 * or the figures are all within them). O(thresholds x perfdata).
 */
int tocsin_thresholds_apply(const struct tocsin_service_conf *s, enum tocsin_state *state,
                            const char *text, size_t len, struct tocsin_buf *out);

#endif
