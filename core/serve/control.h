/*
 * control.h - the daemon's control socket, which tocsinctl talks to.
 *
 * A Unix stream socket (mode 0660, group "tocsin" when that group exists;
 * peers are also checked with SO_PEERCRED: root, the daemon's own user and
 * members of the tocsin group only). Each request is one line of JSON,
 * {"cmd": "...", ...}, and gets one line of JSON back, {"ok": true, ...}
 * or {"ok": false, "error": "..."}. At most 64 clients at once; one that
 * is idle (no whole request within 5 s, or none of its answer taken for
 * 5 s) is closed, and when the table is full the oldest idle client makes
 * room for a newcomer. A client waiting for a check is never idle.
 * See docs/internals/control.md.
 */
#ifndef TOCSIN_CONTROL_H
#define TOCSIN_CONTROL_H

#include <stdint.h>

#include "alerting/alerting.h"
#include "lib/buf.h"
#include "serve/status.h"

/* Tag of control fds in epoll_event.data.u64: TOCSIN_CONTROL_TAG | slot. */
#define TOCSIN_CONTROL_TAG (1ULL << 41)

/* What the daemon does for the control socket. */
struct tocsin_control_ops {
    /* Run service `svc` as soon as possible. */
    void (*check_now)(void *ud, uint32_t svc);
    /* Re-read the configuration; on failure append "FILE:LINE: message"
     * lines to `errors` and return -1 (the running configuration stays).
     * On success `notes` gets one line for each change that waits for a
     * restart and each warning about the new configuration. */
    int (*reload)(void *ud, struct tocsin_buf *errors, struct tocsin_buf *notes);
    /* The alerting stage as it is now (it is replaced by a reload). */
    struct tocsin_alerting *(*alerting)(void *ud);
    /* A result submitted for the passive service named `service`, applied
     * on the daemon's next turn. Returns 0, or -1 (out of memory). NULL:
     * submit is refused. */
    int (*submit)(void *ud, const char *service, int state, const char *output);
    void *ud;
};

struct tocsin_control;

/* Listen on `path` (a stale socket file is replaced) and join `epfd`.
 * Returns NULL with the reason in err. */
struct tocsin_control *tocsin_control_open(const char *path, int epfd,
                                           const struct tocsin_status *status,
                                           const struct tocsin_control_ops *ops,
                                           char *err, size_t errlen);

/* An fd of the control socket is ready. */
void tocsin_control_ready(struct tocsin_control *c, uint32_t slot, uint32_t events);

/* Once per turn of the event loop at monotonic time `now` (us): close
 * each idle client whose deadline has passed (one that has not sent its
 * whole request within 5 s of connecting, or has taken none of its answer
 * for 5 s; a client waiting for a check is not idle), then return the
 * sooner of `wake` and the next deadline. NULL returns `wake`.
 * O(clients). */
int64_t tocsin_control_tick(struct tocsin_control *c, int64_t now, int64_t wake);

/* A result of `svc` was applied: answer `check` requests waiting for it. */
void tocsin_control_result(struct tocsin_control *c, uint32_t svc);

/* The configuration was replaced: service indices changed, so waiting
 * `check` requests are answered with an error. */
void tocsin_control_reset(struct tocsin_control *c);

/* Close every connection and remove the socket file. */
void tocsin_control_close(struct tocsin_control *c);

#endif
