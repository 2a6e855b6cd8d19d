/*
 * sdnotify.h - the service manager's notification protocol (systemd's
 * sd_notify): datagrams of NAME=VALUE lines sent to the unix socket named
 * by $NOTIFY_SOCKET, for readiness (READY=1), reloads (RELOADING=1),
 * shutdown (STOPPING=1), a human-readable STATUS= and the watchdog
 * (WATCHDOG=1, due every $WATCHDOG_USEC).
 *
 * Without $NOTIFY_SOCKET every call is a no-op. Sending never blocks: a
 * datagram the manager cannot take now is dropped (the next one says the
 * same or more).
 */
#ifndef TOCSIN_SDNOTIFY_H
#define TOCSIN_SDNOTIFY_H

#include <stdint.h>

struct tocsin_sdnotify {
    int fd;                     /* datagram socket, -1 when not notifying */
    unsigned char addr[112];    /* the peer, a struct sockaddr_un */
    unsigned addrlen;           /* its length (abstract names are exact) */
    int64_t watchdog_us;        /* $WATCHDOG_USEC for this process, or 0 */
    int64_t next_ping;          /* monotonic us: the next WATCHDOG=1 is due */
};

/*
 * Read $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID, then remove them
 * from the environment so that no check or notifier inherits them. An
 * address that is not an absolute path or an abstract name ('@' first)
 * is logged and ignored; the watchdog applies only when $WATCHDOG_PID is
 * unset or this process's pid. Returns 1 when notifying, 0 when not.
 */
int tocsin_sdnotify_open(struct tocsin_sdnotify *n);
void tocsin_sdnotify_close(struct tocsin_sdnotify *n);

/* Send `text` (NAME=VALUE lines) as one datagram. Returns 0, or -1 when
 * not notifying or the send failed (logged once per failure kind). */
int tocsin_sdnotify_send(struct tocsin_sdnotify *n, const char *text);

/* Send STATUS=`fmt...` (one line: newlines become spaces), with `extra`
 * lines (or NULL) before it. */
int tocsin_sdnotify_status(struct tocsin_sdnotify *n, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* RELOADING=1 with MONOTONIC_USEC= (the monotonic clock now), as the
 * manager wants it before a reload. */
int tocsin_sdnotify_reloading(struct tocsin_sdnotify *n);

/* Send WATCHDOG=1 when a ping is due at `now` (half of $WATCHDOG_USEC
 * after the last one); return the earlier of `wake` and when the next one
 * is due. O(1). */
int64_t tocsin_sdnotify_tick(struct tocsin_sdnotify *n, int64_t now, int64_t wake);

#endif
