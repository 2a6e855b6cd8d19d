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
 * or the figures are all within them). `held`, when not NULL, has one
 * entry per threshold: the state it judged its figure at the check before
 * (0, OK, at first), read for the thresholds with a `clear` range
 * (tocsin_threshold_hold) and updated. O(thresholds x perfdata).
 */
int tocsin_thresholds_apply(const struct tocsin_service_conf *s, enum tocsin_state *state,
                            const char *text, size_t len, struct tocsin_buf *out,
                            unsigned char *held);

/*
 * Hysteresis: the state of a figure judged `judged` by its ranges, that
 * was `previous` at the check before. A figure that was WARNING or
 * CRITICAL and is judged better keeps `previous` while it is outside its
 * `clear` range; otherwise `judged` stands. An unset clear changes
 * nothing. O(1).
 */
enum tocsin_state tocsin_threshold_hold(const struct tocsin_range *clear, double value,
                                        enum tocsin_state judged, enum tocsin_state previous);

#endif
