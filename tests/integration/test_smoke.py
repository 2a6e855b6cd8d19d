"""The shipped default configuration: valid, and tocsind checks this
machine's load and root filesystem with it."""
import os
import shutil
import tempfile
import unittest

from tocsintest import BUILDDIR, SRCDIR, Daemon, check_config, free_port


class DefaultConfiguration(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-default-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        shutil.copy(os.path.join(BUILDDIR, "tocsin.conf"), self.dir)
        shutil.copytree(os.path.join(SRCDIR, "conf.d"), os.path.join(self.dir, "conf.d"))
        self.path = os.path.join(self.dir, "tocsin.conf")
        # The shipped state_dir and control_socket are the installed ones:
        # this run keeps its own.
        with open(self.path, "a") as f:
            f.write('\nstate_dir = "%s/state"\ncontrol_socket = "%s/tocsind.sock"\n'
                    'http {\n    listen = "127.0.0.1:%d"\n}\n'
                    % (self.dir, self.dir, free_port()))

    def test_default_configuration_is_valid(self):
        rc, out, err = check_config(self.path)
        self.assertEqual(rc, 0, f"tocsind -t failed: {err}")
        self.assertIn("configuration is valid: 2 services, 5 notifiers", out)

    def test_default_configuration_checks_load_and_root_disk(self):
        d = Daemon(self.path, extra=())
        self.addCleanup(d.stop)
        # Whatever this machine's load and disk are: the first result of
        # each service is logged, with the plugin's own output.
        first = r"(first result \w+|\w+ \(soft, attempt 1/3\)|OK -> \w+ \(hard[^)]*\)): "
        d.wait_for(r"service 'load' on \S+: " + first + "LOAD ", timeout=70)
        d.wait_for(r"service 'disk-root' on \S+: " + first + "DISK ", timeout=70)
        self.assertEqual(d.stop(), 0)

    def test_default_routing_table(self):
        """The routes shipped are the table in the README, at 10:00 on a
        Monday (business hours), 20:00 on a Monday and 10:00 on a Sunday."""
        import subprocess
        from tocsintest import PLUGIN_PATH
        want = {
            # A recovery goes where its (critical) problem went, sms aside
            # (send_resolved = false in the shipped file).
            ("ok", "2026-11-23 10:00"): ["email", "slack", "pagerduty"],
            ("ok", "2026-11-23 20:00"): ["email", "slack", "pagerduty"],
            ("warning", "2026-11-23 20:00"): ["email", "slack"],
            ("unknown", "2026-11-22 10:00"): ["email", "slack", "sms"],
            ("critical", "2026-11-23 03:00"): ["email", "slack", "sms", "pagerduty"],
        }
        for (state, at), names in want.items():
            r = subprocess.run([os.path.join(BUILDDIR, "core", "tocsinctl"), "-c", self.path,
                                "-p", PLUGIN_PATH, "route-test", "--service", "load",
                                "--state", state, "--at", at],
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, TZ="UTC"))
            self.assertEqual(r.returncode, 0, r.stderr)
            answer = [l for l in r.stdout.splitlines() if not l.startswith("# ")]
            self.assertEqual(answer, [n + " (disabled)" for n in names],
                             f"{state} at {at}: expected {names}, got {r.stdout!r}")


if __name__ == "__main__":
    unittest.main()
