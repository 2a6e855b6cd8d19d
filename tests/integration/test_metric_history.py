"""Metric history: every perfdata value of every service kept by minute
in the store, read back through `tocsinctl metrics --json` and
GET /api/v1/services/NAME/metrics, and kept across a restart (the open
minute is written at SIGTERM)."""
import json
import os
import subprocess
import time
import unittest

from tocsintest import BUILDDIR, PLUGIN_PATH, ConfDir, Daemon, free_port
from test_http_endpoint import fetch

TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")

SERVICES = """\
service "web" {
    check = "dummy"
    interval = 1s
    output = "fine"
    perfdata = "time=0.25s;1;2 size=100B"
}
service "api" {
    passive = true
}
"""


def wait_minute_start(latest=40):
    """Sleep until the current minute has at least 15 s left, so that a
    few values given now fall into one minute; return that minute."""
    while time.time() % 60 > latest:
        time.sleep(0.5)
    return int(time.time()) // 60 * 60


class MetricHistory(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        main = 'host = "h1"\nhttp {\n    listen = "127.0.0.1:%d"\n}\n' % cls.port + SERVICES
        cls.conf = ConfDir(main)
        cls.daemon = Daemon(cls.conf.path, workers=1)
        cls.daemon.wait_for(r"tocsind \S+ started: ", timeout=15)
        cls.minute = wait_minute_start()
        for v in ("1", "2", "6"):
            cls.submit("ok | v=%s;5;10 other=%s" % (v, v))
        # The minute closes at its end and is written at the next flush.
        time.sleep(max(0.0, cls.minute + 60 + 4 - time.time()))

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.conf.cleanup()

    @classmethod
    def ctl(cls, *args):
        return subprocess.run([TOCSINCTL, "-c", cls.conf.path, "-p", PLUGIN_PATH, *args],
                              capture_output=True, text=True, timeout=30)

    @classmethod
    def submit(cls, output):
        p = cls.ctl("submit", "api", "--state", "ok", "-m", output)
        assert p.returncode == 0, f"submit: {p.stdout!r} {p.stderr!r}"

    def metrics_json(self, *args):
        p = self.ctl("metrics", *args, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def point(self, answer, label, t):
        for s in answer["series"]:
            if s["label"] == label:
                for p in s["points"]:
                    if p["t"] == t:
                        return p
                self.fail(f"no point at {t} for {label}: {s['points']}")
        self.fail(f"no series {label} in {answer}")

    def check_api_minute(self, answer):
        self.assertEqual(answer["resolution"], "1m")
        p = self.point(answer, "v", self.minute)
        self.assertEqual((p["min"], p["avg"], p["max"], p["last"], p["count"]),
                         (1.0, 3.0, 6.0, 6.0, 3), p)

    def test_tocsinctl_metrics_json_has_exact_minute(self):
        answer = self.metrics_json("api", "v", "--since", "1h")
        self.check_api_minute(answer)
        self.assertEqual([s["label"] for s in answer["series"]], ["v"])

    def test_every_label_without_a_label_argument(self):
        answer = self.metrics_json("api", "--since", "1h")
        self.assertEqual(sorted(s["label"] for s in answer["series"]), ["other", "v"])

    def test_checked_service_every_second(self):
        answer = self.metrics_json("web", "time", "--since", "1h")
        p = self.point(answer, "time", self.minute)
        self.assertEqual((p["min"], p["avg"], p["max"]), (0.25, 0.25, 0.25), p)
        self.assertGreaterEqual(p["count"], 10, p)  # one a second, from the start

    def test_http_endpoint(self):
        status, _, body = fetch(self.port, "/api/v1/services/api/metrics?since=1h&label=v")
        self.assertEqual(status, 200, body)
        self.check_api_minute(json.loads(body))

    def test_long_range_is_hourly(self):
        status, _, body = fetch(self.port, "/api/v1/services/api/metrics?since=7d")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["resolution"], "1h")

    def test_bad_parameter_is_400(self):
        status, _, body = fetch(self.port, "/api/v1/services/api/metrics?since=soon")
        self.assertEqual(status, 400, body)
        status, _, body = fetch(self.port, "/api/v1/services/api/metrics?colour=red")
        self.assertEqual(status, 400, body)


class Restart(unittest.TestCase):
    """Values of a minute still open at SIGTERM are there after a restart."""

    def test_open_minute_survives_restart(self):
        conf = ConfDir('host = "h1"\n' + SERVICES)
        try:
            daemon = Daemon(conf.path, workers=1)
            daemon.wait_for(r"tocsind \S+ started: ", timeout=15)
            minute = wait_minute_start(latest=45)
            ctl = [TOCSINCTL, "-c", conf.path, "-p", PLUGIN_PATH]
            for v in ("4", "8"):
                p = subprocess.run(ctl + ["submit", "api", "--state", "ok", "-m", "ok | v=" + v],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr)
            time.sleep(1)
            daemon.stop()
            daemon = Daemon(conf.path, workers=1)
            daemon.wait_for(r"tocsind \S+ started: ", timeout=15)
            p = subprocess.run(ctl + ["metrics", "api", "v", "--since", "1h", "--json"],
                               capture_output=True, text=True, timeout=30)
            daemon.stop()
            self.assertEqual(p.returncode, 0, p.stderr)
            points = json.loads(p.stdout)["series"][0]["points"]
            self.assertEqual([(x["t"], x["min"], x["avg"], x["max"], x["count"]) for x in points],
                             [(minute, 4.0, 6.0, 8.0, 2)])
        finally:
            conf.cleanup()


if __name__ == "__main__":
    unittest.main()
