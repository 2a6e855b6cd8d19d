/*
 * sdnotify.c - the service manager's notification protocol. See sdnotify.h.
 */
#include "base/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "lib/buf.h"

_Static_assert(sizeof(struct sockaddr_un) <= sizeof(((struct tocsin_sdnotify *)0)->addr),
               "struct tocsin_sdnotify holds a struct sockaddr_un");

/* $WATCHDOG_USEC for this process: 0 when unset, invalid, or meant for
 * another pid. */
static int64_t watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    long long v;

    if (!usec || !*usec)
        return 0;
    if (pid && *pid) {
        long long p;

        errno = 0;
        p = strtoll(pid, &end, 10);
        if (errno || *end || p != (long long)getpid())
            return 0;
    }
    errno = 0;
    v = strtoll(usec, &end, 10);
    if (errno || *end || v <= 0) {
        tocsin_warn("WATCHDOG_USEC=\"%.32s\" is not a number of microseconds; "
                    "no watchdog pings", usec);
        return 0;
    }
    return v;
}

int tocsin_sdnotify_open(struct tocsin_sdnotify *n)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun;
    size_t len;
    int64_t wd = watchdog_usec();

    memset(n, 0, sizeof(*n));
    n->fd = -1;
    if (!path || !*path)
        goto out;
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sun.sun_path)) {
        tocsin_warn("NOTIFY_SOCKET=\"%.*s\" is not an absolute path or an abstract name "
                    "of at most %zu bytes; the service manager is not notified",
                    (int)(len > 64 ? 64 : len), path, sizeof(sun.sun_path) - 1);
        goto out;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, len);
    if (path[0] == '@')
        sun.sun_path[0] = '\0';
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (n->fd < 0) {
        tocsin_warn("cannot notify the service manager: socket: %s", strerror(errno));
        goto out;
    }
    memcpy(n->addr, &sun, sizeof(sun));
    /* An abstract name is exactly its bytes; a path ends at its NUL. */
    n->addrlen = (unsigned)(offsetof(struct sockaddr_un, sun_path) + len +
                            (path[0] == '@' ? 0 : 1));
    n->watchdog_us = wd;
    n->next_ping = tocsin_mono_us();
out:
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return n->fd >= 0;
}

void tocsin_sdnotify_close(struct tocsin_sdnotify *n)
{
    if (n->fd >= 0)
        close(n->fd);
    n->fd = -1;
}

int tocsin_sdnotify_send(struct tocsin_sdnotify *n, const char *text)
{
    static int last_errno;
    ssize_t sent;

    if (n->fd < 0)
        return -1;
    sent = sendto(n->fd, text, strlen(text), MSG_NOSIGNAL,
                  (const struct sockaddr *)n->addr, (socklen_t)n->addrlen);
    if (sent < 0) {
        int err = errno;

        if (err != last_errno)
            tocsin_warn("cannot notify the service manager: %s", strerror(err));
        last_errno = err;
        return -1;
    }
    last_errno = 0;
    return 0;
}

int tocsin_sdnotify_status(struct tocsin_sdnotify *n, const char *extra, const char *fmt, ...)
{
    struct tocsin_buf msg = TOCSIN_BUF_INIT, status = TOCSIN_BUF_INIT;
    va_list ap;
    size_t i;
    int rc;

    if (n->fd < 0)
        return -1;
    va_start(ap, fmt);
    tocsin_buf_vprintf(&status, fmt, ap);
    va_end(ap);
    for (i = 0; i < status.len; i++)
        if (status.data[i] == '\n' || status.data[i] == '\r')
            status.data[i] = ' ';
    if (extra && *extra) {
        tocsin_buf_puts(&msg, extra);
        if (extra[strlen(extra) - 1] != '\n')
            tocsin_buf_puts(&msg, "\n");
    }
    tocsin_buf_puts(&msg, "STATUS=");
    tocsin_buf_puts(&msg, tocsin_buf_str(&status));
    rc = tocsin_sdnotify_send(n, tocsin_buf_str(&msg));
    tocsin_buf_free(&msg);
    tocsin_buf_free(&status);
    return rc;
}

int tocsin_sdnotify_reloading(struct tocsin_sdnotify *n)
{
    char text[64];

    snprintf(text, sizeof(text), "RELOADING=1\nMONOTONIC_USEC=%lld",
             (long long)tocsin_mono_us());
    return tocsin_sdnotify_send(n, text);
}

int64_t tocsin_sdnotify_tick(struct tocsin_sdnotify *n, int64_t now, int64_t wake)
{
    if (n->fd < 0 || n->watchdog_us <= 0)
        return wake;
    if (now >= n->next_ping) {
        tocsin_sdnotify_send(n, "WATCHDOG=1");
        n->next_ping = now + n->watchdog_us / 2;
    }
    return n->next_ping < wake ? n->next_ping : wake;
}
