"""A full disk under state_dir: tocsind's state directory is a small tmpfs,
filled to the last page while services change state several times, then
grown again. While it is full /health answers 503 with the store's reason,
/metrics counts the failed commits, the log says so a few times only (not
once per commit) and the daemon neither exits nor spins; once there is room
every hard change reaches the receiver, in order, each once, /health is 200
again and no outbox row is left in flight.

Needs root (mount); skipped otherwise, or when a tmpfs cannot be mounted."""
import errno
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import time
import unittest

from test_pipeline import Pipeline, wait_until
from test_http_endpoint import fetch
from tocsintest import free_port

SERVICES = ("api", "db", "web")
# Lines that tell of the failure; the rate limit keeps them few.
FAILURE_LINE = re.compile(r"disk is full|cannot save|cannot queue|rolled back|cannot commit")


class FullDisk(Pipeline):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        self.mnt = tempfile.mkdtemp(prefix="tocsin-full-")
        self.addCleanup(os.rmdir, self.mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs",
                            self.mnt], capture_output=True, text=True)
        if p.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs: {p.stderr.strip()}")
        self.addCleanup(self.unmount)

    def unmount(self):
        # The daemon lets go of its files first.
        if getattr(self, "daemon", None):
            self.daemon.stop()
        if subprocess.run(["umount", self.mnt]).returncode != 0:
            subprocess.run(["umount", "-l", self.mnt])

    def fill(self):
        """Write zeros until the tmpfs has no page left."""
        with open(os.path.join(self.mnt, "filler"), "wb", buffering=0) as f:
            for size in (1 << 16, 4096, 512):
                chunk = b"\0" * size
                while True:
                    try:
                        f.write(chunk)
                    except OSError as e:
                        self.assertEqual(e.errno, errno.ENOSPC, f"filling: {e}")
                        break

    def get(self, path):
        status, _, body = fetch(self.port, path)
        return status, body.decode()

    def metric(self, name):
        _, text = self.get("/metrics")
        m = re.search(rf"^{name} (\S+)$", text, re.M)
        self.assertIsNotNone(m, f"expected {name} in /metrics; got:\n{text[:2000]}")
        return float(m.group(1))

    def flip_all(self, state, transition, count):
        for name in SERVICES:
            self.set_state(name, state)
        self.daemon.wait_for(rf"service '({'|'.join(SERVICES)})' on testhost: {transition} "
                             rf"\(hard", count=count, timeout=20)

    def test_full_disk_then_room_again_tells_every_change_in_order(self):
        self.port = free_port()
        main = (f'state_dir = "{self.mnt}"\n'
                f'http {{\n    listen = "127.0.0.1:{self.port}"\n}}\n'
                + self.notifier("console") + self.notifier("webhook")
                + self.route("all", ["webhook"])
                + "".join(self.service(name, "ok") for name in SERVICES))
        d = self.start(main)
        d.wait_for(r"first result OK", count=len(SERVICES), timeout=20)
        status, body = self.get("/health")
        self.assertEqual(status, 200, f"expected a healthy daemon at first; got {body}")

        self.fill()
        before = len(d.lines)
        started = time.monotonic()
        self.flip_all("critical", r"OK -> CRITICAL", len(SERVICES))
        self.flip_all("ok", r"CRITICAL -> OK", len(SERVICES))
        self.flip_all("critical", r"OK -> CRITICAL", 2 * len(SERVICES))

        status, body = self.get("/health")
        self.assertEqual(status, 503, f"expected /health to fail while the disk is full; "
                                      f"got {status} {body}")
        reasons = json.loads(body)["reasons"]
        self.assertTrue(any(r.startswith("store: cannot commit since ") and
                            "database or disk is full" in r for r in reasons),
                        f"expected the store's reason in /health; got {reasons}")
        self.assertGreater(self.metric("tocsin_store_commit_failures_total"), 0)
        self.assertEqual(self.metric("tocsin_store_failing"), 1)
        self.assertEqual(self.metric("tocsin_alerting_unsaved"), 3 * len(SERVICES),
                         "expected every hard change kept until the store takes it")
        self.assertEqual(self.hook.requests, [],
                         "expected nothing sent before the store has saved it")
        time.sleep(3)  # a little longer full: the daemon must neither spin nor log more
        self.assertTrue(d.alive(), f"expected tocsind to live on; log:\n{self.tail()}")
        full_for = time.monotonic() - started
        failure_lines = [l for l in d.lines[before:] if FAILURE_LINE.search(l)]
        self.assertLessEqual(len(failure_lines), 12,
                             f"expected a few rate-limited lines in {full_for:.0f} s, got "
                             f"{len(failure_lines)}:\n" + "\n".join(failure_lines[:40]))

        subprocess.run(["mount", "-o", "remount,size=64m", self.mnt], check=True)

        def told():
            got = {name: [(a["kind"], a["incident"]) for a in self.hook_alerts(self.hook)
                          if a["service"] == name] for name in SERVICES}
            return all(len(v) >= 3 for v in got.values()) and got
        got = wait_until(told, 60, lambda: (
            f"3 alerts per service at the receiver; it got "
            f"{[(a['service'], a['kind']) for a in self.hook_alerts(self.hook)]}; "
            f"log:\n{self.tail()}"))
        wait_until(lambda: self.get("/health")[0] == 200, 30,
                   lambda: f"/health 200 again; it says {self.get('/health')}")
        wait_until(lambda: self.metric("tocsin_outbox_depth") == 0, 30,
                   "every notification delivered")
        time.sleep(2)  # anything sent twice would come by now
        got = told()
        for name in SERVICES:
            kinds = [k for k, _ in got[name]]
            self.assertEqual(kinds, ["problem", "recovery", "problem"],
                             f"expected {name}'s changes told in order, once each; got {kinds}")
            (p1, i1), (_, i2), (_, i3) = got[name]
            self.assertEqual(i1, i2, f"expected {name}'s recovery to close its first incident")
            self.assertNotEqual(i1, i3, f"expected {name}'s second problem to open a new one")
        self.assertEqual(self.metric("tocsin_store_failing"), 0)
        self.assertEqual(self.metric("tocsin_alerting_unsaved"), 0)
        self.assertEqual(d.count(r"commits succeed again after \d+ failures? over"), 1,
                         f"expected one line saying the store works again; log:\n{self.tail()}")
        self.assertTrue(d.alive(), f"expected tocsind to be running; log:\n{self.tail()}")

        # What the store says once the daemon has stopped: nothing in flight
        # or pending, and the services' states saved as they are.
        self.assertEqual(d.stop(), 0, f"expected a clean stop; log:\n{self.tail()}")
        db = sqlite3.connect(f"file:{os.path.join(self.mnt, 'tocsin.db')}?mode=ro", uri=True)
        try:
            claimed, pending = db.execute(
                "SELECT sum(claimed), sum(status = 1) FROM outbox").fetchone()
        finally:
            db.close()
        self.assertEqual((claimed, pending), (0, 0),
                         "expected no outbox row left in flight or pending")


if __name__ == "__main__":
    unittest.main()
