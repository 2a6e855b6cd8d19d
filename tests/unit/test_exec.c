/*
 * test_exec.c - running a command with an environment of the caller's
 * choosing (tocsin_exec_env in core/lib/exec.c): the command sees exactly the
 * environment given, the caller's when none is given, and the outcome
 * (exit code, failure to start, deadline) is reported as tocsin_exec()
 * reports it; and what a command leaves running (setsid) is ended by the
 * reaper (core/base/reaper.c) while the children it is told to keep live
 * on. Runs env(1), sh(1), setsid(1) and sleep(1) from the system.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/reaper.h"
#include "tocsin-plugin.h"

#define CAP 65536

/* A deadline `ms` milliseconds from now on CLOCK_MONOTONIC. */
static struct timespec deadline_in(long ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The command sees the given variables and nothing else. */
static void exec_env_gives_exactly_envp(void **state)
{
    char *argv[] = { "/usr/bin/env", NULL };
    char *envp[] = { "TOCSIN_A=1", "B=two words", "C=line1\nline2", NULL };
    struct timespec dl = deadline_in(10000);
    struct tocsin_exec_result res;

    (void)state;
    assert_int_equal(tocsin_exec_env(argv, envp, &dl, CAP, &res), 0);
    assert_true(res.exited);
    assert_int_equal(res.exit_code, 0);
    assert_string_equal(res.out, "TOCSIN_A=1\nB=two words\nC=line1\nline2\n");
    tocsin_exec_free(&res);
}

/* An empty environment is an empty environment, not the caller's. */
static void exec_env_empty_envp_is_empty(void **state)
{
    char *argv[] = { "/usr/bin/env", NULL };
    char *envp[] = { NULL };
    struct timespec dl = deadline_in(10000);
    struct tocsin_exec_result res;

    (void)state;
    assert_int_equal(setenv("TOCSIN_TEST_INHERITED", "yes", 1), 0);
    assert_int_equal(tocsin_exec_env(argv, envp, &dl, CAP, &res), 0);
    assert_true(res.exited);
    assert_string_equal(res.out, "");
    tocsin_exec_free(&res);
    unsetenv("TOCSIN_TEST_INHERITED");
}

/* NULL envp, and plain tocsin_exec(), pass the caller's environment. */
static void exec_env_null_envp_inherits(void **state)
{
    char *argv[] = { "/usr/bin/env", NULL };
    struct timespec dl = deadline_in(10000);
    struct tocsin_exec_result res;

    (void)state;
    assert_int_equal(setenv("TOCSIN_TEST_INHERITED", "yes", 1), 0);
    assert_int_equal(tocsin_exec_env(argv, NULL, &dl, CAP, &res), 0);
    assert_non_null(strstr(res.out, "TOCSIN_TEST_INHERITED=yes\n"));
    tocsin_exec_free(&res);
    assert_int_equal(tocsin_exec(argv, &dl, CAP, &res), 0);
    assert_non_null(strstr(res.out, "TOCSIN_TEST_INHERITED=yes\n"));
    tocsin_exec_free(&res);
    unsetenv("TOCSIN_TEST_INHERITED");
}

/* A bare command name is found in the caller's PATH even when the given
 * environment has none. */
static void exec_env_searches_callers_path(void **state)
{
    char *argv[] = { "env", NULL };
    char *envp[] = { "ONLY=this", NULL };
    struct timespec dl = deadline_in(10000);
    struct tocsin_exec_result res;

    (void)state;
    assert_int_equal(tocsin_exec_env(argv, envp, &dl, CAP, &res), 0);
    assert_true(res.exited);
    assert_string_equal(res.out, "ONLY=this\n");
    tocsin_exec_free(&res);
}

/* Exit code and stderr come back as with tocsin_exec(). */
static void exec_env_reports_exit_code_and_stderr(void **state)
{
    char *argv[] = { "/bin/sh", "-c", "echo \"$WHY\" >&2; exit 75", NULL };
    char *envp[] = { "WHY=queue full", NULL };
    struct timespec dl = deadline_in(10000);
    struct tocsin_exec_result res;

    (void)state;
    assert_int_equal(tocsin_exec_env(argv, envp, &dl, CAP, &res), 0);
    assert_true(res.exited);
    assert_int_equal(res.exit_code, 75);
    assert_string_equal(res.err, "queue full\n");
    tocsin_exec_free(&res);
}

/* A command that does not exist: -1 with ENOENT, empty output. Where
 * posix_spawn is emulated with fork and exec (under valgrind), the failed
 * exec shows as exit status 127 instead, as from a shell. */
static void exec_env_missing_command_fails_with_errno(void **state)
{
    char *argv[] = { "/nonexistent/tocsin-no-such-command", NULL };
    char *envp[] = { "A=1", NULL };
    struct timespec dl = deadline_in(10000);
    struct tocsin_exec_result res;
    int rc;

    (void)state;
    rc = tocsin_exec_env(argv, envp, &dl, CAP, &res);
    if (rc == 0) {
        assert_true(res.exited);
        assert_int_equal(res.exit_code, 127);
    } else {
        assert_int_equal(rc, -1);
        assert_int_equal(res.spawn_errno, ENOENT);
        assert_false(res.exited);
    }
    assert_string_equal(res.out, "");
    tocsin_exec_free(&res);
}

/* The deadline still ends the command. */
static void exec_env_kills_at_deadline(void **state)
{
    char *argv[] = { "sleep", "10", NULL };
    char *envp[] = { NULL };
    struct timespec dl = deadline_in(200);
    struct tocsin_exec_result res;

    (void)state;
    assert_int_equal(tocsin_exec_env(argv, envp, &dl, CAP, &res), 0);
    assert_true(res.timed_out);
    assert_false(res.exited);
    assert_true(res.duration < 5.0);
    tocsin_exec_free(&res);
}

/* tocsin_reaper_keep_fn keeping the one pid `ud` points to. */
static int keep_one(pid_t pid, void *ud)
{
    return pid == *(pid_t *)ud;
}

/* A process that called setsid() outlives its command; as a subreaper we
 * get it back, and the reaper ends it, but not the child we keep. */
static void reaper_ends_what_escaped_and_keeps_the_rest(void **state)
{
    char *argv[] = { "/bin/sh", "-c",
                     "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!", NULL };
    struct timespec dl = deadline_in(5000);
    struct tocsin_exec_result res;
    pid_t escaped, kept;
    int status;

    (void)state;
    assert_int_equal(tocsin_reaper_become(), 0);
    kept = fork();
    assert_true(kept >= 0);
    if (kept == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(tocsin_exec(argv, &dl, CAP, &res), 0);
    escaped = (pid_t)atol(res.out);
    tocsin_exec_free(&res);
    assert_true(escaped > 0);
    assert_int_equal(kill(escaped, 0), 0);

    assert_int_equal(tocsin_reaper_end_children(keep_one, &kept, 200000), 1);
    assert_int_equal(kill(escaped, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(kill(kept, 0), 0);

    kill(kept, SIGKILL);
    assert_int_equal(waitpid(kept, &status, 0), kept);
    assert_int_equal(tocsin_reaper_end_children(NULL, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exec_env_gives_exactly_envp),
        cmocka_unit_test(exec_env_empty_envp_is_empty),
        cmocka_unit_test(exec_env_null_envp_inherits),
        cmocka_unit_test(exec_env_searches_callers_path),
        cmocka_unit_test(exec_env_reports_exit_code_and_stderr),
        cmocka_unit_test(exec_env_missing_command_fails_with_errno),
        cmocka_unit_test(exec_env_kills_at_deadline),
        cmocka_unit_test(reaper_ends_what_escaped_and_keeps_the_rest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
