/*
 * httpd.h - the HTTP endpoint of tocsind: /health, Prometheus /metrics,
 * the JSON API under /api/v1/ and a status page at /.
 *
 * It runs in the daemon's single thread on libmicrohttpd in its external
 * epoll mode: the daemon adds one descriptor to its own epoll set, calls
 * tocsin_httpd_run() when that descriptor is ready and tocsin_httpd_tick()
 * once per turn of its loop. Every answer is built at once from the
 * daemon's struct tocsin_status; nothing is shared with another thread.
 *
 * The `http { ... }` section of the configuration is read by
 * config/http-conf.h. See docs/internals/http.md.
 */
#ifndef TOCSIN_HTTPD_H
#define TOCSIN_HTTPD_H

#include <confuse.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/http-conf.h"
#include "lib/buf.h"
#include "serve/status.h"

/* ------------------------------------------------------------------ */
/* The server                                                          */
/* ------------------------------------------------------------------ */

struct tocsin_httpd;

/* What the daemon does for the endpoint: the one way in which a request
 * changes anything (POST /api/v1/results, /api/v1/alertmanager). */
struct tocsin_httpd_ops {
    /* Take a result submitted for the service named `service`, which was
     * found in status->conf and takes passive results: the daemon applies
     * it on its next turn, as it applies a check's result. `output` is
     * Nagios output. Returns 0, or -1 when it cannot be taken (memory). */
    int (*submit)(void *ud, const char *service, int state, const char *output);
    void *ud;
};

/* Start serving `status` as `conf` says: bind the address, load the TLS
 * files, and add the server's epoll descriptor to `epfd` with
 * epoll_event.data.u64 = `tag`. `status` must outlive the server; `conf`
 * need not (what is needed of it is copied), `ops` is copied (NULL:
 * results are refused), and status->conf may be
 * replaced while the server runs: answers being sent for the old one are
 * cut off.
 * Returns the server; NULL with *failed = 0 when the endpoint is disabled
 * (or `conf` is NULL); NULL with *failed = 1 after logging why it could
 * not start (address in use, bad certificate, ...). */
struct tocsin_httpd *tocsin_httpd_start(const struct tocsin_http_conf *conf,
                                        const struct tocsin_status *status,
                                        const struct tocsin_httpd_ops *ops,
                                        int epfd, uint64_t tag, int *failed);

/* The descriptor tagged `tag` is ready: accept, read, answer, write.
 * NULL is fine. */
void tocsin_httpd_run(struct tocsin_httpd *h);

/* Once per turn of the event loop at monotonic time `now` (us): run the
 * server if a timer of its own is due, then return the sooner of `wake`
 * and the next time it needs running. NULL returns `wake`. */
int64_t tocsin_httpd_tick(struct tocsin_httpd *h, int64_t now, int64_t wake);

/* Close every connection and the listening socket, and free. NULL is fine. */
void tocsin_httpd_stop(struct tocsin_httpd *h);

/* Take what a reload may change without a new listener: the bearer token,
 * the api tokens and /health's lateness limit of `conf`. The old tokens
 * are overwritten. Returns 0, or -1 out of memory (the old tokens stay). */
int tocsin_httpd_update(struct tocsin_httpd *h, const struct tocsin_http_conf *conf);

/* ------------------------------------------------------------------ */
/* Pure parts, exported for the unit tests                             */
/* ------------------------------------------------------------------ */

/* Append `s` (len bytes) with every byte sequence that is not valid UTF-8
 * replaced by U+FFFD. */
void tocsin_http_utf8(struct tocsin_buf *b, const char *s, size_t len);

/* Append `s` escaped for HTML text and attribute values (&, <, >, ", '),
 * invalid UTF-8 and control characters other than tab and newline
 * replaced by U+FFFD. */
void tocsin_http_html(struct tocsin_buf *b, const char *s);

/* Append `s` as a Prometheus label value (without the quotes): \, " and
 * newline escaped, invalid UTF-8 replaced. */
void tocsin_http_prom_value(struct tocsin_buf *b, const char *s);

/* Append `s` as a Prometheus label name: characters outside [a-zA-Z0-9_]
 * become '_', a leading digit gets a '_' before it, and a name that would
 * start with the reserved "__" gets "label" before it. "" becomes "_". */
void tocsin_http_prom_name(struct tocsin_buf *b, const char *s);

/* Append a sample value the way Prometheus reads it: shortest text that
 * reads back to the same double; NaN, +Inf, -Inf. */
void tocsin_http_prom_number(struct tocsin_buf *b, double v);

/* Convert a perfdata value to its base unit: s, ms, us -> seconds; B, KB,
 * MB, GB, TB -> bytes (powers of 1024). Returns the converted value and
 * sets *base to the base unit ("s", "B", or the uom unchanged). */
double tocsin_http_base_unit(double value, const char *uom, const char **base);

/* Compare two NUL-terminated strings in time that depends only on their
 * lengths, not on where they differ. 1 when equal. */
int tocsin_http_token_equal(const char *given, const char *want);

/* Append the wall-clock time `t` as RFC 3339 in UTC ("2024-05-01T12:00:00Z"). */
void tocsin_http_rfc3339(struct tocsin_buf *b, time_t t);

#endif
