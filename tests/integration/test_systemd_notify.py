"""tocsind speaks the service manager's notification protocol: READY=1
once its configuration is loaded and its workers are up, WATCHDOG=1 from
its event loop every half of WATCHDOG_USEC, RELOADING=1 (with
MONOTONIC_USEC) then READY=1 around a reload, STOPPING=1 on SIGTERM, and
STATUS= lines; the variables do not reach the checks it runs."""
import os
import signal
import socket
import shutil
import tempfile
import time
import unittest

from tocsintest import ConfDir, Daemon

SERVICES = '''service "env" {
    check = "dummy"
    interval = 1s
}
'''


class Receiver:
    """A unix datagram socket standing for the service manager; each
    datagram is kept as a dict of its NAME=VALUE lines."""

    def __init__(self, abstract=False):
        self.dir = tempfile.mkdtemp(prefix="tocsin-notify-")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "tocsin-test-%d-%d" % (os.getpid(), id(self))
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.address = os.path.join(self.dir, "notify")
            self.sock.bind(self.address)
        self.messages = []

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _receive(self, timeout):
        """Keep the next datagram, if one comes within `timeout` s."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return
        m = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
        m["_t"] = time.monotonic()
        self.messages.append(m)

    def drain(self, seconds):
        """Keep what comes during `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._receive(deadline - time.monotonic())

    def wait_for(self, key, value=None, timeout=10, count=1):
        """Wait until `count` messages hold `key` (with `value`); return
        the count-th one."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages
                     if key in m and (value is None or m[key] == value)]
            if len(found) >= count:
                return found[count - 1]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"expected {count} message(s) with {key}={value}; "
                                     f"received {self.messages}")
            self._receive(left)

    def times(self, key):
        return [m["_t"] for m in self.messages if key in m]


class SystemdNotify(unittest.TestCase):
    def start(self, receiver, **env_extra):
        self.conf = ConfDir('max_check_spread = 1s\n', {"services.conf": SERVICES})
        self.addCleanup(self.conf.cleanup)
        env = dict(os.environ, NOTIFY_SOCKET=receiver.address, **env_extra)
        self.daemon = Daemon(self.conf.path, env=env, level="debug")
        self.addCleanup(self.daemon.stop)

    def receiver(self, **kw):
        r = Receiver(**kw)
        self.addCleanup(r.close)
        return r

    def test_ready_watchdog_reload_stopping(self):
        r = self.receiver()
        self.start(r, WATCHDOG_USEC="1000000")
        ready = r.wait_for("READY", "1")
        self.assertIn("STATUS", ready, "expected a STATUS= line with READY=1")
        self.assertRegex(ready["STATUS"], r"^running: 1 services, 0 notifiers")
        # The workers are up when READY=1 comes: the service's first run
        # comes within max_check_spread (1 s).
        self.daemon.wait_for(r"service 'env' on .*: first result OK", timeout=5)

        # Pings every 0.5 s (half of 1 s): about 4 in 2 s, each about 0.5 s
        # after the one before, never the whole watchdog time. (What came
        # before is read first, so that the times are those of arrival.)
        r.drain(0.1)
        mark = len(r.messages)
        r.drain(2.0)
        pings = [m["_t"] for m in r.messages[mark:] if m.get("WATCHDOG") == "1"]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        self.assertTrue(3 <= len(pings) <= 5 and all(0.3 < g < 1.0 for g in gaps),
                        f"expected pings about 0.5 s apart; they came at {pings} "
                        f"(gaps {gaps})")
        self.daemon.proc.send_signal(signal.SIGHUP)
        reloading = r.wait_for("RELOADING", "1")
        self.assertRegex(reloading.get("MONOTONIC_USEC", ""), r"^[1-9]\d*$",
                         f"expected MONOTONIC_USEC with RELOADING=1: {reloading}")
        again = r.wait_for("READY", "1", count=2)
        self.assertIn("reloaded", again.get("STATUS", ""))
        self.assertLess(self.messages_index(r, reloading), self.messages_index(r, again))
        # Still pinged after the reload.
        n = len(r.times("WATCHDOG"))
        r.wait_for("WATCHDOG", "1", count=n + 2, timeout=3)

        self.daemon.proc.send_signal(signal.SIGTERM)
        stopping = r.wait_for("STOPPING", "1")
        self.assertIn("SIGTERM", stopping.get("STATUS", ""))
        self.assertEqual(self.daemon.stop(), 0)

    @staticmethod
    def messages_index(r, m):
        return next(i for i, x in enumerate(r.messages) if x is m)

    def test_abstract_socket_and_refused_reload(self):
        r = self.receiver(abstract=True)
        self.start(r)
        r.wait_for("READY", "1")
        # A configuration with an error is refused: the daemon runs on, and
        # says so after RELOADING=1.
        self.conf.write("broken.conf", 'service "x" {\n    check = "dummy"\n    nonsense = 1\n}\n')
        self.daemon.proc.send_signal(signal.SIGHUP)
        r.wait_for("RELOADING", "1")
        again = r.wait_for("READY", "1", count=2)
        self.assertIn("refused", again.get("STATUS", ""))
        # No WATCHDOG_USEC: no pings.
        r.drain(0.3)
        self.assertEqual(r.times("WATCHDOG"), [])
        self.daemon.proc.send_signal(signal.SIGTERM)
        r.wait_for("STOPPING", "1")

    def test_watchdog_for_another_pid_is_not_pinged(self):
        r = self.receiver()
        self.start(r, WATCHDOG_USEC="100000", WATCHDOG_PID="1")
        r.wait_for("READY", "1")
        r.drain(0.4)
        self.assertEqual(r.times("WATCHDOG"), [],
                         "expected no WATCHDOG=1 when WATCHDOG_PID names another process")

    def test_bad_notify_socket_is_logged_and_ignored(self):
        conf = ConfDir('max_check_spread = 1s\n', {"services.conf": SERVICES})
        self.addCleanup(conf.cleanup)
        d = Daemon(conf.path, env=dict(os.environ, NOTIFY_SOCKET="relative/path"))
        self.addCleanup(d.stop)
        d.wait_for(r"NOTIFY_SOCKET=\"relative/path\" is not an absolute path")
        d.wait_for(r"first result OK", timeout=5)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
