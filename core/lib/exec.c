/*
 * exec.c - run an external command bounded in time and output, and split
 * a command line into argv the way a shell would. See tocsin-plugin.h.
 *
 * tocsin_exec() is on the hot path of every `nagios` check, so it spawns
 * with posix_spawnp() (a vfork-style clone: cheap whatever the size of the
 * worker), waits on the child through a pidfd together with its two output
 * pipes in one ppoll(), and never sleeps (only where the kernel offers no
 * pidfd does it fall back to short timed waits). Every descriptor it
 * creates is close-on-exec, so nothing of ours leaks into the command.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1           /* pipe2(), ppoll(), pidfd_open() */
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "tocsin-plugin.h"

/* Bytes read from a pipe per read(2). */
#define EXEC_CHUNK 16384

/* How long output is still collected after the command itself exited,
 * from descendants that inherited its pipes (ms). Whatever the command
 * wrote before exiting is already in the pipes by then. */
#define EXEC_LINGER_MS 50

/* Read rounds spent on what is left in the pipes after a kill. */
#define EXEC_DRAIN_ROUNDS 16

/* Most words tocsin_argv_split() accepts. */
#define ARGV_MAX_WORDS 1024

/* Where to publish the process group of the running command, or NULL. */
static volatile int32_t *published_pgid;

void tocsin_exec_publish_pgid(volatile int32_t *slot)
{
    published_pgid = slot;
}

/* Signals a command starts with at their default disposition, whatever
 * the worker that runs it ignores. */
static const int exec_default_signals[] = {
    SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2
};

/* One output pipe of the command, as the parent reads it. */
struct exec_stream {
    int fd;                  /* read end, -1 once at EOF */
    struct tocsin_buf buf;   /* at most `cap` bytes kept */
    int truncated;           /* bytes beyond `cap` were dropped */
};

/* Nanoseconds on CLOCK_MONOTONIC. */
static int64_t exec_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void exec_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Move a descriptor above 0, 1 and 2, so that the child's dup2() onto the
 * standard descriptors cannot overwrite it. Only needed in a process that
 * runs with a standard descriptor closed. Returns 0, or -1 with errno. */
static int exec_fd_above_stdio(int *fd)
{
    int moved;

    if (*fd > STDERR_FILENO)
        return 0;
    moved = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (moved < 0)
        return -1;
    close(*fd);
    *fd = moved;
    return 0;
}

/* Read once from a stream that poll() reported ready: keep what fits
 * under `cap`, drop the rest. EOF or a read error ends the stream. */
static void exec_read(struct exec_stream *s, size_t cap, char *chunk)
{
    ssize_t n;
    size_t keep;

    n = read(s->fd, chunk, EXEC_CHUNK);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return;
        exec_close(&s->fd);
        return;
    }
    if (n == 0) {
        exec_close(&s->fd);
        return;
    }
    keep = s->buf.len < cap ? cap - s->buf.len : 0;
    if (keep > (size_t)n)
        keep = (size_t)n;
    if (keep)
        tocsin_buf_append(&s->buf, chunk, keep);
    if (keep < (size_t)n)
        s->truncated = 1;
}

/* Take what the command already wrote, without waiting: used once its
 * process group has been killed. Bounded, since a process that escaped
 * the group could keep writing. */
static void exec_drain(struct exec_stream s[2], size_t cap, char *chunk)
{
    struct pollfd pfd[2];
    int round, i, nfds;

    for (round = 0; round < EXEC_DRAIN_ROUNDS; round++) {
        nfds = 0;
        for (i = 0; i < 2; i++) {
            if (s[i].fd >= 0) {
                pfd[nfds].fd = s[i].fd;
                pfd[nfds].events = POLLIN;
                nfds++;
            }
        }
        if (nfds == 0 || poll(pfd, (nfds_t)nfds, 0) <= 0)
            return;
        for (i = 0; i < nfds; i++) {
            struct exec_stream *st = pfd[i].fd == s[0].fd ? &s[0] : &s[1];

            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                exec_read(st, cap, chunk);
        }
    }
}

/* Collect the output of child `pid` until both pipes reach EOF and the
 * child has exited, or until the deadline `end` (ns, CLOCK_MONOTONIC).
 * `pidfd` reports the exit without reaping, so the process group id stays
 * reserved for kill() until waitpid(). Without one (kernel before 5.3,
 * seccomp, valgrind) the exit is found by waitpid(WNOHANG) whenever the
 * pipes wake us and, once both are at EOF, at wake-ups spaced from 20 us
 * up to 50 ms; descendants holding the pipes then keep us until the
 * deadline. Slower, still correct. Once the child has
 * exited, pipes still held open by its descendants are read for
 * EXEC_LINGER_MS at most. On a timeout, or when descendants outstay the
 * linger, the whole group gets SIGKILL. Sets res->timed_out; when the
 * fallback reaped the child, stores its status in *status and sets
 * *reaped. Returns 0, or an errno value. */
static int exec_collect(pid_t pid, int pidfd, struct exec_stream s[2],
                        size_t cap, int64_t end,
                        struct tocsin_exec_result *res,
                        int *status, int *reaped)
{
    char chunk[EXEC_CHUNK];
    struct pollfd pfd[3];
    struct exec_stream *owner[3];
    struct timespec wait;
    int64_t now, limit, left, linger_end = end, backoff = 20000;
    int exited = 0, nfds, n, i, e = 0;
    pid_t w;

    while (s[0].fd >= 0 || s[1].fd >= 0 || !exited) {
        now = exec_now();
        if (!exited && pidfd < 0) {
            w = waitpid(pid, status, WNOHANG);
            if (w == pid) {
                *reaped = 1;
                exited = 1;
                linger_end = now + (int64_t)EXEC_LINGER_MS * 1000000;
                if (linger_end > end)
                    linger_end = end;
                continue;
            }
            if (w < 0 && errno != EINTR) {
                e = errno;
                (void)kill(-pid, SIGKILL);
                break;
            }
        }
        limit = exited ? linger_end : end;
        if (now >= limit) {
            if (!exited)
                res->timed_out = 1;
            /* Failure (EPERM from a command that changed its uids) leaves
             * nothing better to do: the reap that follows waits for it. */
            (void)kill(-pid, SIGKILL);
            exec_drain(s, cap, chunk);
            break;
        }

        left = limit - now;
        if (!exited && pidfd < 0 && s[0].fd < 0 && s[1].fd < 0) {
            if (left > backoff)
                left = backoff;
            if (backoff < 50000000)
                backoff *= 2;
        }
        wait.tv_sec = (time_t)(left / 1000000000);
        wait.tv_nsec = (long)(left % 1000000000);

        nfds = 0;
        for (i = 0; i < 2; i++) {
            if (s[i].fd >= 0) {
                pfd[nfds].fd = s[i].fd;
                pfd[nfds].events = POLLIN;
                owner[nfds++] = &s[i];
            }
        }
        if (!exited && pidfd >= 0) {
            pfd[nfds].fd = pidfd;
            pfd[nfds].events = POLLIN;
            owner[nfds++] = NULL;
        }

        n = ppoll(pfd, (nfds_t)nfds, &wait, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            e = errno;
            (void)kill(-pid, SIGKILL);
            break;
        }
        for (i = 0; i < nfds && n > 0; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n--;
            if (owner[i]) {
                exec_read(owner[i], cap, chunk);
            } else {
                exited = 1;
                linger_end = exec_now() + (int64_t)EXEC_LINGER_MS * 1000000;
                if (linger_end > end)
                    linger_end = end;
            }
        }
    }
    return e;
}

/* Hand a stream's bytes to the result. Returns 0, or -1 on out of memory. */
static int exec_take(struct exec_stream *s, char **text, size_t *len,
                     int *truncated)
{
    *len = s->buf.oom ? 0 : s->buf.len;
    *truncated = s->truncated;
    /* An append, even of nothing, leaves the buffer NUL-terminated. */
    tocsin_buf_append(&s->buf, "", 0);
    *text = tocsin_buf_steal(&s->buf);
    if (!*text) {
        *len = 0;
        return -1;
    }
    return 0;
}

/*
 * Run argv with environment envp and a deadline; see tocsin-plugin.h for
 * the contract of tocsin_exec() and tocsin_exec_env(). On every return
 * res->out and res->err are NUL-terminated strings (empty when the
 * command did not run), or NULL only when memory ran out; release them with
 * tocsin_exec_free(). spawn_errno is set exactly when -1 is returned.
 * The child is reaped with waitpid(pid), never waitpid(-1), so other
 * children of the caller are left alone; the caller must not have
 * SIGCHLD ignored (the kernel would then reap the child itself).
 * Cost: two pipes, one pidfd, a vfork-style spawn and a few ppoll()/read()
 * rounds; allocations are the two output buffers (and glibc's file
 * actions list).
 */
static int exec_run(char *const argv[], char *const envp[],
                    const struct timespec *deadline, size_t cap,
                    struct tocsin_exec_result *res)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t mask, defaults;
    struct exec_stream s[2];
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, pidfd = -1;
    int have_actions = 0, have_attr = 0, status = 0, reaped = 0;
    int e = 0, rc = -1;
    pid_t pid = -1;
    int64_t start, end;
    size_t i;

    memset(res, 0, sizeof(*res));
    for (i = 0; i < 2; i++) {
        s[i].fd = -1;
        s[i].truncated = 0;
        tocsin_buf_init(&s[i].buf);
    }
    start = exec_now();
    end = deadline ? (int64_t)deadline->tv_sec * 1000000000 + deadline->tv_nsec
                   : INT64_MAX;

    if (!argv || !argv[0] || !argv[0][0]) {
        e = EINVAL;
        goto out;
    }
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        e = errno;
        goto out;
    }
    if (exec_fd_above_stdio(&outp[0]) < 0 || exec_fd_above_stdio(&outp[1]) < 0 ||
        exec_fd_above_stdio(&errp[0]) < 0 || exec_fd_above_stdio(&errp[1]) < 0) {
        e = errno;
        goto out;
    }

    if ((e = posix_spawn_file_actions_init(&actions)) != 0)
        goto out;
    have_actions = 1;
    if ((e = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO,
                                              "/dev/null", O_RDONLY, 0)) != 0 ||
        (e = posix_spawn_file_actions_adddup2(&actions, outp[1],
                                              STDOUT_FILENO)) != 0 ||
        (e = posix_spawn_file_actions_adddup2(&actions, errp[1],
                                              STDERR_FILENO)) != 0)
        goto out;

    if ((e = posix_spawnattr_init(&attr)) != 0)
        goto out;
    have_attr = 1;
    sigemptyset(&mask);
    sigemptyset(&defaults);
    for (i = 0; i < sizeof(exec_default_signals) / sizeof(exec_default_signals[0]); i++)
        sigaddset(&defaults, exec_default_signals[i]);
    if ((e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF)) != 0 ||
        (e = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
        (e = posix_spawnattr_setsigmask(&attr, &mask)) != 0 ||
        (e = posix_spawnattr_setsigdefault(&attr, &defaults)) != 0)
        goto out;

    e = posix_spawnp(&pid, argv[0], &actions, &attr, argv, envp);
    if (e != 0) {
        pid = -1;
        goto out;
    }
    if (published_pgid)
        __atomic_store_n(published_pgid, (int32_t)pid, __ATOMIC_RELEASE);
    exec_close(&outp[1]);
    exec_close(&errp[1]);
    s[0].fd = outp[0];
    s[1].fd = errp[0];
    outp[0] = errp[0] = -1;

    /* -1 (old kernel, no descriptor left) selects the slower fallback. */
    pidfd = pidfd_open(pid, 0);

    e = exec_collect(pid, pidfd, s, cap, end, res, &status, &reaped);

    exec_close(&s[0].fd);
    exec_close(&s[1].fd);
    while (!reaped) {
        if (waitpid(pid, &status, 0) == pid) {
            reaped = 1;
        } else if (errno != EINTR) {
            if (!e)
                e = errno;
            break;
        }
    }
    if (published_pgid)
        __atomic_store_n(published_pgid, 0, __ATOMIC_RELEASE);
    if (reaped) {
        if (WIFEXITED(status)) {
            res->exited = 1;
            res->exit_code = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
            res->term_signal = WTERMSIG(status);
        }
    }
    if (!e)
        rc = 0;

out:
    if (have_attr)
        posix_spawnattr_destroy(&attr);
    if (have_actions)
        posix_spawn_file_actions_destroy(&actions);
    exec_close(&pidfd);
    exec_close(&outp[0]);
    exec_close(&outp[1]);
    exec_close(&errp[0]);
    exec_close(&errp[1]);
    exec_close(&s[0].fd);
    exec_close(&s[1].fd);
    if (exec_take(&s[0], &res->out, &res->out_len, &res->out_truncated) < 0 ||
        exec_take(&s[1], &res->err, &res->err_len, &res->err_truncated) < 0) {
        if (!e)
            e = ENOMEM;
        rc = -1;
    }
    tocsin_buf_free(&s[0].buf);
    tocsin_buf_free(&s[1].buf);
    if (rc < 0)
        res->spawn_errno = e;
    res->duration = (double)(exec_now() - start) / 1e9;
    return rc;
}

int tocsin_exec(char *const argv[], const struct timespec *deadline,
                size_t cap, struct tocsin_exec_result *res)
{
    return exec_run(argv, environ, deadline, cap, res);
}

int tocsin_exec_env(char *const argv[], char *const envp[],
                    const struct timespec *deadline, size_t cap,
                    struct tocsin_exec_result *res)
{
    return exec_run(argv, envp ? envp : environ, deadline, cap, res);
}

/* Release the output held by a result; the result may be reused. */
void tocsin_exec_free(struct tocsin_exec_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    res->out = NULL;
    res->err = NULL;
    res->out_len = 0;
    res->err_len = 0;
}

static int argv_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/* Append a copy of `word` (len bytes) to the growing array. Returns 0 or
 * -1 on out of memory. */
static int argv_push(char ***argv, size_t *n, size_t *alloc,
                     const char *word, size_t len)
{
    char **grown, *copy;

    if (*n + 1 >= *alloc) {
        size_t want = *alloc ? *alloc * 2 : 8;

        grown = realloc(*argv, want * sizeof(**argv));
        if (!grown)
            return -1;
        *argv = grown;
        *alloc = want;
    }
    copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, word, len);
    copy[len] = '\0';
    (*argv)[(*n)++] = copy;
    (*argv)[*n] = NULL;
    return 0;
}

/*
 * Split `line` into words like a POSIX shell, without any expansion:
 * blanks separate words; '...' is literal; inside "..." a backslash
 * escapes only " \ $ ` and newline; outside quotes a backslash makes the
 * next character literal (backslash-newline joins lines, a final lone
 * backslash stays). '' and "" give an empty word. Returns a
 * NULL-terminated array whose strings are each malloc'd (a caller may
 * replace one), freed with tocsin_argv_free(); or NULL with a reason in
 * err. O(strlen(line)).
 */
char **tocsin_argv_split(const char *line, char *err, size_t errlen)
{
    char **argv = NULL, *word = NULL;
    const char *p, *why = NULL;
    size_t n = 0, alloc = 0, wlen;

    if (!line)
        line = "";
    word = malloc(strlen(line) + 1);
    if (!word) {
        why = "out of memory";
        goto out;
    }

    p = line;
    for (;;) {
        while (argv_is_blank(*p) || (p[0] == '\\' && p[1] == '\n'))
            p += argv_is_blank(*p) ? 1 : 2;
        if (!*p)
            break;

        wlen = 0;
        while (*p && !argv_is_blank(*p)) {
            if (*p == '\'') {
                for (p++; *p && *p != '\''; p++)
                    word[wlen++] = *p;
                if (!*p) {
                    why = "unterminated single quote";
                    goto out;
                }
                p++;
            } else if (*p == '"') {
                for (p++; *p && *p != '"'; ) {
                    if (p[0] == '\\' && p[1] == '\n') {
                        p += 2;
                    } else if (p[0] == '\\' && p[1] && strchr("\"\\$`", p[1])) {
                        word[wlen++] = p[1];
                        p += 2;
                    } else {
                        word[wlen++] = *p++;
                    }
                }
                if (!*p) {
                    why = "unterminated double quote";
                    goto out;
                }
                p++;
            } else if (*p == '\\') {
                if (p[1] == '\n') {
                    p += 2;
                } else if (p[1]) {
                    word[wlen++] = p[1];
                    p += 2;
                } else {
                    word[wlen++] = *p++;
                }
            } else {
                word[wlen++] = *p++;
            }
        }

        if (n == ARGV_MAX_WORDS) {
            why = "too many words in command line (at most 1024)";
            goto out;
        }
        if (argv_push(&argv, &n, &alloc, word, wlen) < 0) {
            why = "out of memory";
            goto out;
        }
    }
    if (n == 0)
        why = "empty command line";

out:
    free(word);
    if (why) {
        if (err && errlen)
            snprintf(err, errlen, "%s", why);
        tocsin_argv_free(argv);
        return NULL;
    }
    return argv;
}

/* Free an array made by tocsin_argv_split(); NULL is allowed. */
void tocsin_argv_free(char **argv)
{
    char **p;

    if (!argv)
        return;
    for (p = argv; *p; p++)
        free(*p);
    free(argv);
}
