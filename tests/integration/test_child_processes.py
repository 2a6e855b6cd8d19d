"""What a check command inherits and what it leaves behind: secrets given
as `*_env` never reach a check (its output goes to tocsinctl, /api and
every receiver), a nagios check gets an explicit environment (PATH, LANG,
its service's `environment`), and processes a check starts that escape its
process group (setsid) end with the check, at a stop, and under
tocsin-check."""
import os
import signal
import subprocess
import tempfile
import shutil
import time
import unittest

from httpsink import HttpSink
from tocsintest import BUILDDIR, PLUGIN_PATH, DaemonTest, tocsin_check

TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")
COMMON = 'max_check_spread = 1s\nhost = "testhost"\n'
SECRET = "sEcReTt0kEn4TocsinChildEnv"
HOOK_PATH = "/services/T0TOCSIN/B0TOCSIN/" + SECRET
VARIABLE = "TOCSIN_TEST_SLACK_URL"


def marked(marker):
    """Pids of the living `/bin/sleep MARKER` processes (not the shell
    that starts them, whose command line holds the marker too)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if cmdline.startswith(f"/bin/sleep {marker}") and state != "Z":
            found.append(int(entry))
    return found


def unique_marker():
    """A `sleep` argument no other process has: 1000.PIDNNNNN."""
    return f"1000.{os.getpid()}{int(time.monotonic() * 1000) % 100000:05d}"


class ChildTest(DaemonTest):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-child-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start(self, main="", env=None, **kw):
        d = super().start(COMMON + main, env=env, **kw)
        d.wait_for(r"tocsind \S+ started: ", timeout=10)
        return d

    def ctl(self, *args):
        p = subprocess.run([TOCSINCTL, "-c", self.conf.path, "-p", PLUGIN_PATH, *args],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode in (0, 1, 2, 3), True, f"tocsinctl {args}: {p!r}")
        return p.stdout + p.stderr

    def tail(self, n=40):
        return "\n".join(self.daemon.lines[-n:])

    def assert_gone(self, marker, when):
        """Within 2 s, no `sleep MARKER` is left."""
        deadline = time.monotonic() + 2
        while marked(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(marked(marker), [],
                         f"expected 'sleep {marker}' to end {when}; log:\n{self.tail()}")

    def kill_marked(self, marker):
        for pid in marked(marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # -- the environment of a check -------------------------------------

    def test_secret_from_the_environment_never_reaches_a_check(self):
        sink = HttpSink()
        self.addCleanup(sink.stop)
        state = os.path.join(self.dir, "state")
        with open(state, "w") as f:
            f.write("2\n")
        env = dict(os.environ)
        env[VARIABLE] = sink.url + HOOK_PATH
        d = self.start(
            'notifier "slack" {\n    plugin = "slack"\n'
            f'    url_env = "{VARIABLE}"\n    timeout = 5s\n'
            '    retry_min = 1s\n    retry_max = 2s\n}\n'
            'route "all" {\n    notifiers = { "slack" }\n}\n'
            'service "envdump" {\n    check = "nagios"\n    interval = 1s\n'
            '    max_attempts = 1\n'
            f'    command = "/bin/sh -c \'echo dump; /usr/bin/env; read s < {state}; '
            'exit $s\'"\n}\n', env=env)
        (problem,) = sink.wait(1)
        self.assertEqual(problem.path, HOOK_PATH, "expected the post at the secret URL")
        out = self.ctl("check", "envdump")
        self.assertIn("PATH=", out, f"expected the check's environment; got {out!r}")
        for text, what in ((out, "tocsinctl check"), (problem.body.decode(), "the alert"),
                           (d.log(), "the log")):
            self.assertNotIn(SECRET, text, f"the secret reached {what}: {text!r}")
            self.assertNotIn(VARIABLE, text, f"the secret's variable reached {what}: {text!r}")

        # A reload reads the configuration again: the notifier still
        # reaches the secret URL, and the check still does not see it.
        d.proc.send_signal(signal.SIGHUP)
        d.wait_for(r"configuration reloaded", timeout=10)
        with open(state + ".new", "w") as f:
            f.write("0\n")
        os.rename(state + ".new", state)
        reqs = sink.wait(2)
        self.assertEqual(reqs[1].path, HOOK_PATH,
                         f"expected the recovery at the secret URL after the reload; "
                         f"log:\n{self.tail()}")
        out = self.ctl("check", "envdump")
        self.assertNotIn(SECRET, out, f"the secret reached the check after the reload: {out!r}")

    def test_check_gets_path_lang_and_its_service_environment_only(self):
        env = dict(os.environ, TOCSIN_TEST_NOT_PASSED="daemon-only", LANG="fr_FR.UTF-8")
        self.start('service "envdump" {\n    check = "nagios"\n    interval = 1h\n'
                   '    command = "/usr/bin/env"\n'
                   '    environment = { "APP_MODE=testing", "LANG=C.UTF-8" }\n'
                   '    environment_env = { "APP_TOKEN=TOCSIN_TEST_TOKEN" }\n}\n',
                   env=dict(env, TOCSIN_TEST_TOKEN="t0ken"))
        out = self.ctl("check", "envdump")
        # tocsinctl check puts the state before the first line.
        self.assertTrue(out.startswith("OK: "), f"expected an OK result; got {out!r}")
        names = {line.split("=", 1)[0]: line.split("=", 1)[1]
                 for line in out[4:].splitlines() if "=" in line}
        self.assertEqual(names.get("PATH"), os.environ.get("PATH"),
                         f"expected the daemon's PATH; got {out!r}")
        self.assertEqual(names.get("APP_MODE"), "testing", f"got {out!r}")
        self.assertEqual(names.get("APP_TOKEN"), "t0ken", f"got {out!r}")
        self.assertEqual(names.get("LANG"), "C.UTF-8",
                         f"expected the service's LANG to override C; got {out!r}")
        self.assertNotIn("TOCSIN_TEST_NOT_PASSED", names,
                         f"expected nothing else from the daemon's environment; got {out!r}")
        self.assertNotIn("TOCSIN_TEST_TOKEN", names, f"got {out!r}")

    # -- processes that escape ------------------------------------------

    def escaping_command(self, marker, then="echo OK"):
        return (f'"/bin/sh -c \'setsid /bin/sleep {marker} </dev/null >/dev/null 2>&1 & '
                f'{then}\'"')

    def test_process_that_escapes_with_setsid_ends_with_its_check(self):
        marker = unique_marker()
        self.addCleanup(self.kill_marked, marker)
        d = self.start('service "escape" {\n    check = "nagios"\n    interval = 1s\n'
                       f'    command = {self.escaping_command(marker)}\n}}\n')
        d.wait_for(r"service 'escape'", timeout=10)
        time.sleep(3.5)
        left = marked(marker)
        # A check may be running at this very moment, with its own sleep.
        self.assertLessEqual(len(left), 1,
                             f"expected each check's escaped 'sleep {marker}' to end with "
                             f"the check; {len(left)} still run: {left}; log:\n{self.tail()}")
        self.assertEqual(d.stop(), 0)
        self.assert_gone(marker, "after the stop")

    def test_escaped_process_of_a_running_check_ends_at_the_stop(self):
        marker = unique_marker()
        self.addCleanup(self.kill_marked, marker)
        d = self.start('service "escape" {\n    check = "nagios"\n    interval = 1h\n'
                       '    timeout = 30s\n'
                       f'    command = {self.escaping_command(marker, "sleep 25")}\n}}\n')
        deadline = time.monotonic() + 5
        while not marked(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(marked(marker), f"expected 'sleep {marker}' to run; log:\n{self.tail()}")
        self.assertEqual(d.stop(), 0)
        self.assert_gone(marker, "with tocsind")

    def test_escaped_process_of_a_timed_out_check_ends(self):
        marker = unique_marker()
        self.addCleanup(self.kill_marked, marker)
        d = self.start('service "escape" {\n    check = "nagios"\n    interval = 1h\n'
                       '    timeout = 1s\n    max_attempts = 1\n'
                       f'    command = {self.escaping_command(marker, "sleep 25")}\n}}\n')
        d.wait_for(r"service 'escape' on testhost: OK -> UNKNOWN \(hard", timeout=10)
        self.assert_gone(marker, "with its timed-out check")

    def test_tocsin_check_leaves_nothing_behind(self):
        marker = unique_marker()
        self.addCleanup(self.kill_marked, marker)
        rc, out, err = tocsin_check(
            "nagios", "--command",
            f"/bin/sh -c 'setsid /bin/sleep {marker} </dev/null >/dev/null 2>&1 & echo OK'")
        self.assertEqual((rc, out), (0, "OK\n"), f"stderr {err!r}")
        self.assertEqual(marked(marker), [],
                         f"expected 'sleep {marker}' to end with tocsin-check")


if __name__ == "__main__":
    unittest.main()
