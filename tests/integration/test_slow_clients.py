"""Slow and idle clients never lock anybody out of tocsind's two sockets:
the HTTP endpoint (a per-address limit, a deadline for a whole request,
the oldest client still sending its request closed when the table is
full) and the control socket (an idle deadline, the oldest idle client
dropped for a newcomer when the table is full)."""
import errno
import os
import select
import socket
import subprocess
import threading
import time
import unittest

from tocsintest import BUILDDIR, PLUGIN_PATH, DaemonTest, free_port
from test_http_endpoint import COMMON, dummy, fetch_json, http_section

TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")
SLOW_HEAD = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000


def closed_by_peer(s, wait=0.0):
    """True when the peer has closed `s` (end of stream or reset), after
    waiting up to `wait` s for it; what it sent before is dropped."""
    deadline = time.monotonic() + wait
    while True:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            return False
        try:
            if s.recv(4096) == b"":
                return True
        except ConnectionResetError:
            return True
        except BlockingIOError:
            pass


class SlowClients:
    """`count` connections to 127.0.0.1:`port` from source addresses taken
    in turn from `sources`: every other one idle, the others sending a
    request head one byte every `every` s and never finishing it. A
    connection the server closes is opened again at once, as an attacker
    would; `reconnect=False` leaves it closed. Runs in a thread until
    stop()."""

    def __init__(self, port, count, sources, every=2.0, reconnect=True):
        self.port, self.sources, self.every, self.reconnect = port, sources, every, reconnect
        self.lock = threading.Lock()
        self.socks = {}            # socket -> [source, trickles?, bytes sent, next send]
        self.opened = self.closed = 0
        for i in range(count):
            self.open(sources[i % len(sources)], i % 2 == 1)
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def open(self, source, trickles):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", self.port))
        s.setblocking(False)
        with self.lock:
            self.socks[s] = [source, trickles, 0, time.monotonic() + self.every]
            self.opened += 1

    def alive(self, source=None):
        with self.lock:
            return sum(1 for v in self.socks.values() if source in (None, v[0]))

    def run(self):
        while not self.stopping:
            with self.lock:
                socks = list(self.socks)
            r, _, _ = select.select(socks, [], [], 0.1)
            gone = [s for s in r if closed_by_peer(s)]
            now = time.monotonic()
            for s in socks:
                if s in gone:
                    continue
                with self.lock:
                    st = self.socks[s]
                if st[1] and now >= st[3]:
                    try:
                        s.send(SLOW_HEAD[st[2] % len(SLOW_HEAD):][:1])
                        st[2] += 1
                    except OSError:
                        gone.append(s)
                    st[3] = now + self.every
            for s in gone:
                with self.lock:
                    source, trickles = self.socks.pop(s)[:2]
                    self.closed += 1
                s.close()
                if self.reconnect and not self.stopping:
                    try:
                        self.open(source, trickles)
                    except OSError:
                        pass

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        with self.lock:
            for s in self.socks:
                s.close()
            self.socks.clear()


class HttpSlowClients(DaemonTest):
    def setUp(self):
        self.port = free_port()
        d = self.start(COMMON + http_section(self.port), {"services.conf": dummy("db")})
        d.wait_for(r"http: serving http://127\.0\.0\.1:%d/" % self.port, timeout=15)

    def slow(self, *args, **kw):
        sc = SlowClients(self.port, *args, **kw)
        self.addCleanup(sc.stop)
        return sc

    def health_within(self, limit, what):
        t0 = time.monotonic()
        try:
            status, _, body = fetch_json(self.port, "/health", timeout=limit + 1)
        except OSError as e:
            self.fail(f"{what}: expected /health to answer within {limit} s; got {e!r} "
                      f"after {time.monotonic() - t0:.2f} s")
        took = time.monotonic() - t0
        self.assertEqual(status, 200, f"{what}: expected 200 from /health; got {status} {body}")
        self.assertLess(took, limit, f"{what}: expected /health within {limit} s; it took "
                                     f"{took:.2f} s")

    def test_health_answers_while_64_slow_clients_hold_on(self):
        sources = ["127.0.0.%d" % i for i in range(1, 10)]
        sc = self.slow(64, sources)
        t_end = time.monotonic() + 13    # longer than libmicrohttpd's 10 s idle timeout
        n = 0
        while time.monotonic() < t_end:
            self.health_within(1.0, f"request {n + 1}, {sc.alive()} slow clients connected")
            n += 1
            time.sleep(0.5)
        self.assertGreaterEqual(n, 15)
        self.assertTrue(self.daemon.alive())

    def test_one_address_is_held_to_its_limit_while_another_is_served(self):
        sc = self.slow(12, ["127.0.0.5"], every=0.5, reconnect=False)
        self.health_within(1.0, "from 127.0.0.1 beside 12 slow clients of 127.0.0.5")
        deadline = time.monotonic() + 3
        while sc.alive("127.0.0.5") > 8 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertLessEqual(sc.alive("127.0.0.5"), 8,
                             "expected 127.0.0.5 to keep at most 8 connections; "
                             f"{sc.alive('127.0.0.5')} are still open after 3 s")
        self.daemon.wait_for(r"http: closed a connection from 127\.0\.0\.5: too many "
                             r"connections from its address", timeout=5)

    def test_request_head_trickled_past_the_deadline_is_closed(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            t0 = time.monotonic()
            closed_at = None
            for i in range(len(SLOW_HEAD)):
                if time.monotonic() - t0 > 9:
                    break
                try:
                    s.send(SLOW_HEAD[i:i + 1])
                except OSError:
                    closed_at = time.monotonic() - t0
                    break
                if closed_by_peer(s, 0.3):
                    closed_at = time.monotonic() - t0
                    break
            self.assertIsNotNone(closed_at, "expected a request head trickled a byte every "
                                            "0.3 s to be closed within 9 s")
            self.assertGreater(closed_at, 3, f"closed after {closed_at:.2f} s already")
        self.daemon.wait_for(r"http: closed a connection from 127\.0\.0\.1: no whole request "
                             r"within the deadline", timeout=5)

    def test_request_sent_slowly_within_the_deadline_is_answered(self):
        req = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            for i in range(0, len(req), 4):
                s.send(req[i:i + 4])
                time.sleep(3.0 / (len(req) / 4))
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer[:200])
        self.assertIn(b'"status":"ok"', answer)


class ControlIdleClients(DaemonTest):
    def setUp(self):
        services = ('service "api" {\n    check = "dummy"\n    interval = 1s\n}\n'
                    'service "slow" {\n    check = "hang"\n    interval = 1h\n'
                    '    timeout = 8s\n}\n')
        d = self.start("max_check_spread = 1s\n" + services)
        d.wait_for(r"tocsind \S+ started: ", timeout=10)

    def ctl(self, *args):
        return subprocess.run([TOCSINCTL, "-c", self.conf.path, "-p", PLUGIN_PATH, *args],
                              capture_output=True, text=True, timeout=30)

    def idle(self, n):
        socks = []
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.conf.socket)
            socks.append(s)
            self.addCleanup(s.close)
        return socks

    def status_at_once(self, what):
        t0 = time.monotonic()
        p = self.ctl("status")
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, f"{what}: expected tocsinctl status to succeed; "
                                          f"got exit {p.returncode}, stderr {p.stderr!r}")
        self.assertLess(took, 3, f"{what}: tocsinctl status took {took:.2f} s")

    def test_status_succeeds_beside_64_idle_connections(self):
        socks = self.idle(64)
        time.sleep(0.3)
        self.status_at_once("64 idle connections")
        self.assertTrue(closed_by_peer(socks[0], 2),
                        "expected the oldest idle connection to make room")
        self.daemon.wait_for(r"control socket: closed a client of \S+: the table was full",
                             timeout=5)

    def test_idle_clients_are_closed_after_the_deadline(self):
        socks = self.idle(3)
        socks[1].send(b'{"cmd": "sta')       # half a request is idle too
        t0 = time.monotonic()
        for s in socks:
            self.assertTrue(closed_by_peer(s, 9 - (time.monotonic() - t0)),
                            "expected an idle client to be closed within 9 s")
        took = time.monotonic() - t0
        self.assertGreater(took, 3, f"idle clients closed after {took:.2f} s already")
        data = b""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.connect(self.conf.socket)
        s.settimeout(9)
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        self.assertEqual(data, b'{"ok":false,"error":"no whole request within 5 s"}\n')

    def test_tocsinctl_works_while_idle_connections_keep_arriving(self):
        stop = threading.Event()
        opened = []

        def flood():
            while not stop.is_set() and len(opened) < 200:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(self.conf.socket)
                except OSError:
                    s.close()
                    continue
                opened.append(s)
                time.sleep(0.02)
        t = threading.Thread(target=flood, daemon=True)
        t.start()
        self.addCleanup(lambda: [s.close() for s in opened])
        try:
            n = 0
            while t.is_alive():
                self.status_at_once(f"{len(opened)} idle connections opened so far")
                n += 1
        finally:
            stop.set()
            t.join(10)
        self.assertGreaterEqual(n, 2)
        self.assertEqual(len(opened), 200)
        self.status_at_once("after 200 idle connections")

    def test_a_waiting_check_is_not_dropped(self):
        result = {}

        def check():
            result["p"] = self.ctl("check", "slow")
        t = threading.Thread(target=check)
        t.start()
        time.sleep(0.5)
        self.idle(70)               # more than the table: only idle ones make room
        t.join(20)
        p = result.get("p")
        self.assertIsNotNone(p, "tocsinctl check did not return")
        self.assertEqual(p.returncode, 0, f"expected the check's answer after its timeout; "
                                          f"got exit {p.returncode}, stderr {p.stderr!r}")
        self.assertIn("timed out after 8 s", p.stdout)


if __name__ == "__main__":
    unittest.main()
