/*
 * check-run.h - the host's side of a check: what the program that runs a
 * check plugin (a worker of tocsind, tocsin-check) does with a struct
 * tocsin_check before and after the plugin's check(). The plugin's side
 * is in tocsin-plugin.h, the struct in lib/check.h.
 */
#ifndef TOCSIN_CHECK_RUN_H
#define TOCSIN_CHECK_RUN_H

#include <time.h>

#include "lib/buf.h"
#include "lib/check.h"

/* Prepare `chk` for one run: state UNKNOWN, no output yet. Without a
 * deadline (NULL) the check gets one day. `service` is borrowed. */
void tocsin_check_init(struct tocsin_check *chk, const char *service,
                       const struct timespec *deadline);

/* Append the complete Nagios output to `out`: message, " | " perfdata,
 * then "\n" and the long output. A plugin that set no message yields
 * "<STATE>: no output from plugin". Returns 0 or -1 on oom. */
int tocsin_check_render(const struct tocsin_check *chk, struct tocsin_buf *out);

/* Free the buffers. */
void tocsin_check_release(struct tocsin_check *chk);

#endif
