"""The exec notifier, driven by tocsin-notify, running small shell scripts
written by the test: the TOCSIN_* environment the command gets (and what
it inherits or not), arguments passed without a shell, grouping, every
outcome (exit 0, 75, other, a signal, the deadline, a command that cannot
start), the command's stderr in the reason, bad options refused at setup,
and tocsind -t."""
import os
import re
import subprocess
import tempfile
import time
import unittest

from tocsintest import BUILDDIR, PLUGIN_PATH, ConfDir, check_config

TOCSIN_NOTIFY = os.path.join(BUILDDIR, "core", "tocsin-notify")

# Records its environment and its arguments (NUL-separated) beside $1.
RECORDER = """#!/bin/sh
out="$1"
shift
env -0 > "$out.env"
printf '%s\\0' "$@" > "$out.args"
"""


class ExecTest(unittest.TestCase):
    def setUp(self):
        td = tempfile.TemporaryDirectory(prefix="tocsin-exec-")
        self.addCleanup(td.cleanup)
        self.dir = td.name
        self.record = os.path.join(self.dir, "record")
        self.recorder = self.script("recorder", RECORDER)

    def script(self, name, text, mode=0o755):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def notify(self, *args, command=None, env=None, timeout=60):
        """Run tocsin-notify exec; return (exit code, stdout, stderr)."""
        argv = [TOCSIN_NOTIFY, "-p", PLUGIN_PATH, "exec"]
        if command is not False:
            argv += ["--command", command or f"{self.recorder} {self.record}"]
        argv += ["--alert-host", "app1", *args]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr

    def show(self, rc, out, err):
        return f"exit {rc}, stdout {out!r}, stderr {err!r}"

    def recorded(self):
        """(environment dict, argument list) the recorder saw."""
        with open(self.record + ".env", "rb") as f:
            env = dict(item.decode().split("=", 1) for item in f.read().split(b"\0") if item)
        with open(self.record + ".args", "rb") as f:
            args = [a.decode() for a in f.read().split(b"\0")[:-1]]
        return env, args

    # -- the environment -------------------------------------------------

    def test_the_alert_is_in_the_environment(self):
        now = int(time.time())
        rc, out, err = self.notify(
            "--alert-service", "queue", "--alert-state", "warning",
            "--alert-previous", "ok", "--alert-kind", "repeat",
            "--alert-severity", "warning", "--alert-output", "WARNING - 120 jobs",
            "--alert-long-output", "oldest: 5m\nworkers: 2", "--alert-perfdata", "jobs=120;100;500",
            "--alert-incident", "app1/queue/99", "--alert-group-key", "r1/queue",
            "--alert-since", str(now - 100), "--alert-problem-since", str(now - 3600),
            "--alert-link", "https://wiki.example.org/queue", "--alert-reason",
            "repeat after 1h", "--alert-route", "business-hours",
            "--alert-label", "team=ops", "--alert-label", "data-center.eu=fra1",
            "--template", "{severity}: {service} {output}")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        self.assertEqual(out.strip(), "delivered", self.show(rc, out, err))
        env, _ = self.recorded()
        expected = {
            "TOCSIN_SERVICE": "queue", "TOCSIN_HOST": "app1", "TOCSIN_STATE": "WARNING",
            "TOCSIN_PREVIOUS_STATE": "OK", "TOCSIN_SEVERITY": "warning",
            "TOCSIN_KIND": "repeat", "TOCSIN_OUTPUT": "WARNING - 120 jobs",
            "TOCSIN_LONG_OUTPUT": "oldest: 5m\nworkers: 2",
            "TOCSIN_PERFDATA": "jobs=120;100;500", "TOCSIN_INCIDENT": "app1/queue/99",
            "TOCSIN_GROUP_KEY": "r1/queue", "TOCSIN_SINCE": str(now - 100),
            "TOCSIN_PROBLEM_SINCE": str(now - 3600),
            "TOCSIN_LINK": "https://wiki.example.org/queue",
            "TOCSIN_REASON": "repeat after 1h", "TOCSIN_ROUTE": "business-hours",
            "TOCSIN_COUNT": "1", "TOCSIN_LABEL_TEAM": "ops",
            "TOCSIN_LABEL_DATA_CENTER_EU": "fra1",
            "TOCSIN_MESSAGE": "warning: queue WARNING - 120 jobs",
            "TOCSIN_ALERTS": "WARNING queue on app1: WARNING - 120 jobs",
            "TOCSIN_ATTEMPT": "1", "TOCSIN_MAX_ATTEMPTS": "1", "TOCSIN_FLAPPING": "0",
        }
        for key, value in expected.items():
            self.assertEqual(env.get(key, "<unset>"), value,
                             f"{key}: expected {value!r}; got {env.get(key, '<unset>')!r}")
        duration = int(env["TOCSIN_DURATION"])
        self.assertTrue(3600 <= duration <= 3660,
                        f"expected TOCSIN_DURATION about 3600 s; got {duration}")
        self.assertTrue(abs(int(env["TOCSIN_AT"]) - now) < 60,
                        f"expected TOCSIN_AT about now; got {env['TOCSIN_AT']}")

    def test_environment_is_inherited_without_stale_tocsin_variables(self):
        env = dict(os.environ, EXEC_TEST_INHERITED="kept", TOCSIN_STALE="old",
                   TOCSIN_SERVICE="wrong", TOCSIN_LABEL_OLD="x")
        rc, out, err = self.notify("--alert-service", "right", env=env)
        self.assertEqual(rc, 0, self.show(rc, out, err))
        seen, _ = self.recorded()
        self.assertEqual(seen.get("EXEC_TEST_INHERITED"), "kept",
                         "expected the worker's environment to be passed on")
        self.assertEqual(seen.get("PATH"), os.environ.get("PATH"), "expected PATH passed on")
        self.assertEqual(seen.get("TOCSIN_SERVICE"), "right",
                         "expected the alert's TOCSIN_SERVICE, not the inherited one")
        for stale in ("TOCSIN_STALE", "TOCSIN_LABEL_OLD"):
            self.assertNotIn(stale, seen, f"expected the inherited {stale} to be removed")

    def test_arguments_are_split_without_a_shell(self):
        cmd = f"{self.recorder} {self.record} 'two words' \"$HOME\" ';' '`id`' a\\ b"
        rc, out, err = self.notify(command=cmd)
        self.assertEqual(rc, 0, self.show(rc, out, err))
        _, args = self.recorded()
        self.assertEqual(args, ["two words", "$HOME", ";", "`id`", "a b"],
                         "expected the words literally, nothing expanded")

    def test_grouped_alerts_are_counted_and_listed(self):
        rc, out, err = self.notify("--alert-service", "db", "--alert-group", "2")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        env, _ = self.recorded()
        self.assertEqual(env.get("TOCSIN_COUNT"), "3", f"env: {env!r}")
        self.assertEqual(env.get("TOCSIN_ALERTS", "").split("\n"),
                         ["CRITICAL db on app1: test notification from tocsin-notify",
                          "CRITICAL db-1 on app1: test notification from tocsin-notify",
                          "CRITICAL db-2 on app1: test notification from tocsin-notify"],
                         f"expected one line per alert; env {env!r}")
        self.assertEqual(env.get("TOCSIN_MESSAGE"), env.get("TOCSIN_ALERTS"),
                         "expected the default template to list every alert")

    def test_recovery(self):
        rc, out, err = self.notify("--alert-kind", "recovery", "--alert-state", "ok",
                                   "--alert-previous", "critical")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        env, _ = self.recorded()
        self.assertEqual((env.get("TOCSIN_KIND"), env.get("TOCSIN_STATE"),
                          env.get("TOCSIN_PREVIOUS_STATE"), env.get("TOCSIN_SEVERITY")),
                         ("recovery", "OK", "CRITICAL", "info"), f"env: {env!r}")
        self.assertTrue(env.get("TOCSIN_MESSAGE", "").startswith("RECOVERED "), f"env: {env!r}")

    def test_result_alerts_are_ignored(self):
        rc, out, err = self.notify("--alert-kind", "result")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        self.assertFalse(os.path.exists(self.record + ".env"),
                         "expected the command not to run for a check result")

    # -- outcomes --------------------------------------------------------

    def test_exit_75_asks_for_a_retry(self):
        s = self.script("busy", "#!/bin/sh\necho 'ticket system busy' >&2\nexit 75\n")
        rc, out, err = self.notify(command=s)
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertEqual(out.strip(), f"retry: {s} asked to retry later (exit 75): "
                                      "ticket system busy", self.show(rc, out, err))

    def test_other_exit_status_fails_with_the_first_stderr_line(self):
        s = self.script("refuse", "#!/bin/sh\nprintf '\\n  queue \\033 unknown  \\nmore\\n' >&2\n"
                                  "exit 3\n")
        rc, out, err = self.notify(command=f"{s} --token s3cr3t-arg")
        self.assertEqual(rc, 1, self.show(rc, out, err))
        self.assertEqual(out.strip(), f"failed: {s} exited with status 3: queue   unknown",
                         self.show(rc, out, err))
        self.assertNotIn("s3cr3t-arg", out + err, "expected the arguments not to be shown")

    def test_long_stderr_is_cut(self):
        s = self.script("loud", "#!/bin/sh\nhead -c 5000 /dev/zero | tr '\\0' x >&2\nexit 1\n")
        rc, out, err = self.notify(command=s)
        self.assertEqual(rc, 1, self.show(rc, out, err))
        self.assertTrue(out.rstrip().endswith("x" * 200 + "..."), self.show(rc, out, err))
        self.assertLess(len(out), 600, self.show(rc, out, err))

    def test_a_signal_is_retried(self):
        s = self.script("crash", "#!/bin/sh\nkill -TERM $$\n")
        rc, out, err = self.notify(command=s)
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertIn(f"{s} was killed by signal 15", out, self.show(rc, out, err))

    def test_the_deadline_kills_and_retries(self):
        s = self.script("slow", "#!/bin/sh\nsleep 30\n")
        t0 = time.monotonic()
        rc, out, err = self.notify("--timeout", "1s", command=s)
        took = time.monotonic() - t0
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertIn("did not finish before the deadline", out, self.show(rc, out, err))
        self.assertLess(took, 5, f"expected the command killed after ~1 s; took {took:.1f}s")

    def test_a_command_that_cannot_start_fails_with_errno(self):
        # Executable but not a program: setup accepts it, the spawn fails.
        s = self.script("garbage", "\x7fELF not really\n")
        rc, out, err = self.notify(command=s)
        self.assertEqual(rc, 1, self.show(rc, out, err))
        self.assertEqual(out.strip(), f"failed: cannot run {s}: Exec format error",
                         self.show(rc, out, err))

    # -- options ---------------------------------------------------------

    def test_bad_options_are_refused_at_setup(self):
        noexec = self.script("noexec", "#!/bin/sh\n", mode=0o644)
        cases = [
            ([], False, r"option 'command' is required"),
            ([], f"{self.recorder} 'unclosed", r"option 'command': unterminated single quote"),
            ([], os.path.join(self.dir, "missing"),
             r"option 'command': .*missing cannot be run: No such file or directory"),
            ([], "tocsin-no-such-program-here",
             r"tocsin-no-such-program-here cannot be run: .*\(searched in PATH\)"),
            ([], noexec, r"noexec cannot be run: Permission denied"),
            (["--template", "{service} {sevrity}"], None, r"unknown placeholder \{sevrity\}"),
        ]
        for args, command, pattern in cases:
            with self.subTest(args=args, command=command):
                rc, out, err = self.notify(*args, command=command)
                self.assertEqual(rc, 2, self.show(rc, out, err))
                self.assertRegex(err, pattern, self.show(rc, out, err))
        self.assertFalse(os.path.exists(self.record + ".env"),
                         "expected nothing run after a refused setup")

    def test_a_bare_command_name_is_found_in_path(self):
        env = dict(os.environ, PATH=self.dir + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
        rc, out, err = self.notify(command=f"recorder {self.record}", env=env)
        self.assertEqual(rc, 0, self.show(rc, out, err))
        self.assertTrue(os.path.exists(self.record + ".env"), "expected the command to run")

    def test_tocsind_t_accepts_and_rejects_an_exec_section(self):
        good = ConfDir('notifier "ticket" {\n    plugin = "exec"\n'
                       f'    command = "{self.recorder} {self.record} --queue ops"\n'
                       '    template = "{kind}: {alerts}"\n}\n'
                       'service "ok" {\n    check = "dummy"\n}\n')
        self.addCleanup(good.cleanup)
        rc, out, err = check_config(good.path)
        self.assertEqual(rc, 0, f"expected the section to be accepted: {out!r} {err!r}")
        self.assertIn("1 notifiers", out + err, f"expected one notifier: {out!r} {err!r}")
        self.assertFalse(os.path.exists(self.record + ".env"),
                         "expected tocsind -t not to run the command")
        bad = ConfDir('service "ok" {\n    check = "dummy"\n}\n'
                      'notifier "ticket" {\n    plugin = "exec"\n'
                      f'    command = "{self.dir}/missing --queue ops"\n}}\n')
        self.addCleanup(bad.cleanup)
        rc, out, err = check_config(bad.path)
        self.assertNotEqual(rc, 0, f"expected the section to be refused: {out!r} {err!r}")
        # Reported at the section's plugin line.
        self.assertRegex(err, re.escape(bad.path) + r":5: notifier 'ticket': option "
                         r"'command': .*/missing cannot be run: No such file or directory",
                         f"stderr: {err!r}")


if __name__ == "__main__":
    unittest.main()
