"""tocsinctl's errors and exit codes: 3 when the daemon is not running or
its socket may not be used (as another user than the daemon's), 1 when
the daemon refuses (an unknown service), 2 for bad usage; each with a
message that says what is wrong."""
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from tocsintest import (BUILDDIR, PLUGIN_PATH, ConfDir, DaemonTest, run_unprivileged,
                        unprivileged_user)

TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")
EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3
SERVICE = 'service "api" {\n    check = "dummy"\n    interval = 1s\n}\n'


def show(p):
    return f"exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr!r}"


class WithoutDaemon(unittest.TestCase):
    def setUp(self):
        self.conf = ConfDir(SERVICE)
        self.addCleanup(self.conf.cleanup)

    def ctl(self, *args):
        return subprocess.run([TOCSINCTL, "-c", self.conf.path, "-p", PLUGIN_PATH, *args],
                              capture_output=True, text=True, timeout=30)

    def test_daemon_not_running(self):
        for args in (("status",), ("check", "api"), ("ack", "api"), ("reload",),
                     ("history",), ("downtime", "api", "--for", "1h")):
            with self.subTest(args=args):
                p = self.ctl(*args)
                self.assertEqual(p.returncode, EXIT_UNREACHABLE,
                                 f"expected exit 3 without a daemon; got {show(p)}")
                self.assertEqual(p.stderr, f"tocsinctl: tocsind is not running (nothing "
                                           f"listens on {self.conf.socket})\n",
                                 f"expected a message naming the socket; got {show(p)}")
                self.assertEqual(p.stdout, "")

    def test_stale_socket_left_by_a_dead_daemon(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.conf.socket)
        s.close()   # the file stays, nothing listens
        p = self.ctl("status")
        self.assertEqual(p.returncode, EXIT_UNREACHABLE, f"expected exit 3; got {show(p)}")
        self.assertIn("tocsind is not running", p.stderr, show(p))

    def test_refusal_is_read_even_when_the_request_is_not(self):
        # A daemon that will not serve the peer answers and closes without
        # reading the request: tocsinctl must still show why.
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(self.conf.socket)
        srv.listen(4)
        self.addCleanup(srv.close)

        def refuse():
            for _ in range(3):
                conn, _ = srv.accept()
                conn.sendall(b'{"ok":false,"error":"permission denied: root or the '
                             b'tocsin group only"}\n')
                conn.close()
        t = threading.Thread(target=refuse, daemon=True)
        t.start()
        for _ in range(3):
            p = self.ctl("status")
            self.assertEqual((p.returncode, p.stderr),
                             (EXIT_UNREACHABLE, "tocsinctl: permission denied: root or the "
                                                "tocsin group only\n"),
                             f"expected exit 3 with the daemon's reason; got {show(p)}")

    def test_bad_usage(self):
        cases = [
            ((), "Usage: tocsinctl"),
            (("frobnicate",), 'unknown command "frobnicate"'),
            (("-x", "status"), "Usage: tocsinctl"),
            (("status", "extra"), 'status: unexpected argument "extra"'),
            (("check",), "usage: tocsinctl check NAME"),
            (("ack",), "ack: name one service, or give --label KEY=VALUE"),
            (("ack", "api", "--for", "1h"), "ack: --for, --until and --remove are for downtime"),
            (("downtime", "api"), "downtime: give --for DURATION or --until"),
            (("downtime", "api", "--for", "soon"), 'downtime: --for "soon" is not a duration'),
            (("downtime", "api", "--until", "2001-01-01 10:00"), "is in the past"),
            (("history", "--since", "yesterday"), 'history: --since "yesterday" is not a '
                                                  'duration'),
            (("reload", "now"), "usage: tocsinctl reload"),
            (("route-test", "--service", "api"), "usage: tocsinctl route-test"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                p = self.ctl(*args)
                self.assertEqual(p.returncode, EXIT_USAGE,
                                 f"expected exit 2 for tocsinctl {' '.join(args)}; got {show(p)}")
                self.assertIn(message, p.stderr, f"expected {message!r} on stderr; got {show(p)}")

    def test_help_and_version(self):
        p = self.ctl("-h")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("route-test --service NAME", p.stdout, show(p))
        p = self.ctl("-V")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertRegex(p.stdout, r"^tocsinctl \S+\n$")


class WithDaemon(DaemonTest):
    def setUp(self):
        d = self.start("max_check_spread = 1s\n" + SERVICE)
        d.wait_for(r"tocsind \S+ started: ", timeout=10)

    def ctl(self, *args, **kw):
        return subprocess.run([TOCSINCTL, "-c", self.conf.path, "-p", PLUGIN_PATH, *args],
                              capture_output=True, text=True, timeout=30, **kw)

    def test_unknown_service_is_refused(self):
        cases = [
            (("check", "nosuch"), "no service named 'nosuch'"),
            (("ack", "nosuch"), "no service named 'nosuch'"),
            (("unack", "nosuch"), "no service named 'nosuch'"),
            (("downtime", "nosuch", "--for", "1h"), "no service named 'nosuch'"),
            (("downtime", "--remove", "nosuch"), "no service named 'nosuch'"),
            (("history", "nosuch"), "no service named 'nosuch'"),
            (("ack", "--label", "team=nobody"), "no service has the label team=nobody"),
            (("status", "--state", "purple"), 'state "purple" is not ok, warning, critical '
                                              'or unknown'),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                p = self.ctl(*args)
                self.assertEqual(p.returncode, EXIT_FAILED,
                                 f"expected exit 1 for tocsinctl {' '.join(args)}; got {show(p)}")
                self.assertEqual(p.stderr, f"tocsinctl: {message}\n", show(p))

    def test_ack_without_a_problem_is_refused(self):
        self.daemon.wait_for(r"service 'api' on testhost|service 'api' on \S+: first result",
                             timeout=10)
        p = self.ctl("ack", "api")
        self.assertEqual(p.returncode, EXIT_FAILED, f"expected exit 1; got {show(p)}")
        self.assertEqual(p.stderr, "tocsinctl: service 'api' has no problem to acknowledge\n",
                         show(p))

    def test_status_works_for_root(self):
        p = self.ctl("status")
        self.assertEqual(p.returncode, 0, f"expected root to be let in; got {show(p)}")
        self.assertRegex(p.stdout, r"(?m)^STATE +SERVICE +HOST +SINCE +OUTPUT$", show(p))

    @unittest.skipUnless(os.geteuid() == 0, "needs root to run tocsinctl as another user")
    def test_another_user_gets_permission_denied(self):
        # The socket's directory open to all, as /run/tocsin is: the
        # socket itself (0660, root's group) keeps others out.
        os.chmod(self.conf.dir, 0o755)
        uid, _ = unprivileged_user()
        argv = [TOCSINCTL, "-s", self.conf.socket, "status"]
        p = run_unprivileged(argv, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, EXIT_UNREACHABLE,
                         f"expected exit 3 for uid {uid} against root's socket; got {show(p)}")
        self.assertIn("permission", p.stderr, f"expected the message to say permission; "
                                              f"got {show(p)}")
        self.assertIn(self.conf.socket, p.stderr, "expected the message to name the socket")
        # A socket anyone may connect to: the daemon itself refuses the peer.
        os.chmod(self.conf.socket, 0o666)
        p = run_unprivileged(argv, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, EXIT_UNREACHABLE,
                         f"expected exit 3 when the daemon refuses uid {uid}; got {show(p)}")
        self.assertEqual(p.stderr, "tocsinctl: permission denied: root or the tocsin group "
                                   "only\n", show(p))
        self.assertTrue(self.daemon.alive(), "the daemon lives on")


class InvalidUtf8Output(DaemonTest):
    """A check whose output is not UTF-8: the control socket repairs it
    (each bad byte becomes U+FFFD) instead of dropping the service or
    answering "out of memory"."""

    def setUp(self):
        fd, script = tempfile.mkstemp(prefix="tocsin-garbled-", suffix=".sh")
        self.addCleanup(os.unlink, script)
        with os.fdopen(fd, "w") as f:
            f.write("#!/bin/sh\nprintf '\\377\\376 bad'\nexit 2\n")
        os.chmod(script, 0o755)
        d = self.start("max_check_spread = 1s\n" + SERVICE +
                       f'service "garbled" {{\n    check = "nagios"\n    command = "{script}"\n'
                       f'    interval = 1s\n    max_attempts = 1\n}}\n')
        d.wait_for(r"tocsind \S+ started: ", timeout=10)
        d.wait_for(r"service 'garbled' on \S+", timeout=10)

    def ctl(self, *args):
        return subprocess.run([TOCSINCTL, "-c", self.conf.path, "-p", PLUGIN_PATH, *args],
                              capture_output=True, timeout=30)

    def test_status_check_and_history_show_the_service(self):
        p = self.ctl("status")
        self.assertEqual(p.returncode, 0, f"expected status to succeed; got {p!r}")
        self.assertRegex(p.stdout, rb"(?m)^CRITICAL +garbled +\S+ +\S+ +\xef\xbf\xbd\xef\xbf\xbd bad",
                         f"expected garbled listed with its output repaired; got {p.stdout!r}")
        p = self.ctl("check", "garbled")
        self.assertEqual((p.returncode, p.stdout),
                         (0, b"CRITICAL: \xef\xbf\xbd\xef\xbf\xbd bad\n"),
                         f"expected the check's repaired output; got {p!r}")
        deadline = time.monotonic() + 20
        while True:
            p = self.ctl("history", "garbled")
            self.assertEqual(p.returncode, 0, f"expected history to succeed; got {p!r}")
            if re.search(rb"(?m)^\S+ \S+  garbled ", p.stdout):
                break
            self.assertLess(time.monotonic(), deadline,
                            f"expected history events of garbled; got {p.stdout!r}")
            time.sleep(0.2)


if __name__ == "__main__":
    unittest.main()
