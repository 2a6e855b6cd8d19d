/*
 * reaper.c - end the children a job leaves behind. See reaper.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1           /* dirfd() */
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/reaper.h"

/* Rounds of killing: each ends what the previous one re-parented here. */
#define REAPER_ROUNDS 8

/* Longest wait for a child sent SIGKILL (one in uninterruptible sleep is
 * given up on and left for the caller's next reap). */
#define REAPER_KILL_WAIT_US 1000000

/* Pause between looks at children that have not exited yet. */
#define REAPER_POLL_US 2000

/* Children of this process, as a growing array. */
struct child_list {
    pid_t *pid;
    size_t n, cap;
};

int tocsin_reaper_become(void)
{
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* Add `pid` unless `keep` keeps it. Returns 0, or -1 out of memory. */
static int child_add(struct child_list *l, pid_t pid, tocsin_reaper_keep_fn keep, void *ud)
{
    pid_t *grown;

    if (pid <= 0 || (keep && keep(pid, ud)))
        return 0;
    if (l->n == l->cap) {
        size_t want = l->cap ? l->cap * 2 : 16;

        grown = realloc(l->pid, want * sizeof(*l->pid));
        if (!grown)
            return -1;
        l->pid = grown;
        l->cap = want;
    }
    l->pid[l->n++] = pid;
    return 0;
}

/* Append the pids listed in `fd` (a /proc .../children file, numbers
 * separated by spaces) to `l`. Returns 0, or -1 when it cannot be read. */
static int read_children(int fd, struct child_list *l, tocsin_reaper_keep_fn keep, void *ud)
{
    char buf[4096];
    long pid = 0;
    int digits = 0;
    ssize_t n, i;

    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        for (i = 0; i < n; i++) {
            if (buf[i] >= '0' && buf[i] <= '9') {
                pid = pid * 10 + (buf[i] - '0');
                digits = 1;
            } else if (digits) {
                if (child_add(l, (pid_t)pid, keep, ud) < 0)
                    return -1;
                pid = 0;
                digits = 0;
            }
        }
    }
    if (digits && child_add(l, (pid_t)pid, keep, ud) < 0)
        return -1;
    return 0;
}

/*
 * Fill `l` with the children of this process that `keep` does not keep:
 * each thread's /proc/self/task/TID/children (a child belongs to the
 * thread that forked it, an orphan to whichever the kernel picked).
 * Returns 0, or -1 when /proc cannot tell (not mounted, a kernel without
 * CONFIG_PROC_CHILDREN) or memory ran out.
 */
static int list_children(struct child_list *l, tocsin_reaper_keep_fn keep, void *ud)
{
    struct dirent *e;
    char path[64];
    DIR *tasks;
    int fd, rc = 0;

    l->n = 0;
    tasks = opendir("/proc/self/task");
    if (!tasks)
        return -1;
    while (rc == 0 && (e = readdir(tasks))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/children", e->d_name) >= sizeof(path))
            continue;
        fd = openat(dirfd(tasks), path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            /* A thread that ended since readdir() has no children left. */
            if (errno != ENOENT)
                rc = -1;
            continue;
        }
        rc = read_children(fd, l, keep, ud);
        close(fd);
    }
    closedir(tasks);
    return rc;
}

/* Whether this process has any child at all (living or a zombie). */
static int has_children(void)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    return !(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD);
}

/* Send `sig` to each listed child and to the process group it leads (a
 * group led by a child of ours is one its commands made; ESRCH when it
 * leads none). */
static void signal_children(const struct child_list *l, int sig)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        (void)kill(-l->pid[i], sig);
        (void)kill(l->pid[i], sig);
    }
}

/* Reap the listed children until `until` (CLOCK_MONOTONIC us); each
 * reaped one is removed from the list. Returns how many were reaped. */
static int reap_children(struct child_list *l, int64_t until)
{
    int reaped = 0;
    size_t i;
    pid_t r;

    for (;;) {
        for (i = 0; i < l->n; ) {
            r = waitpid(l->pid[i], NULL, WNOHANG);
            if (r == l->pid[i] || (r < 0 && errno == ECHILD)) {
                reaped += r > 0;
                l->pid[i] = l->pid[--l->n];
            } else {
                i++;
            }
        }
        if (l->n == 0 || tocsin_mono_us() >= until)
            return reaped;
        usleep(REAPER_POLL_US);
    }
}

int tocsin_reaper_end_children(tocsin_reaper_keep_fn keep, void *ud, int64_t grace_us)
{
    struct child_list l = { NULL, 0, 0 };
    int round, ended = 0, sig;

    if (!has_children())
        return 0;
    for (round = 0; round < REAPER_ROUNDS; round++) {
        if (list_children(&l, keep, ud) < 0 || l.n == 0)
            break;
        sig = round == 0 && grace_us > 0 ? SIGTERM : SIGKILL;
        signal_children(&l, sig);
        ended += reap_children(&l, tocsin_mono_us() +
                               (sig == SIGTERM ? grace_us : REAPER_KILL_WAIT_US));
        if (l.n && sig == SIGTERM) {
            signal_children(&l, SIGKILL);
            ended += reap_children(&l, tocsin_mono_us() + REAPER_KILL_WAIT_US);
        }
    }
    free(l.pid);
    return ended;
}
