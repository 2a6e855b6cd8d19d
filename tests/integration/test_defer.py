"""A route's defer with the real daemon: a problem that comes while the
period is closed reaches the receiver when the period opens, not before,
and exactly once; tocsinctl route-test says until when it would wait."""
import os
import subprocess
import time
import unittest

from httpsink import HttpSink
from tocsintest import BUILDDIR, PLUGIN_PATH, PLUGINS, ConfDir, DaemonTest

BUILT = os.path.exists(os.path.join(PLUGINS, "webhook.la"))
TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")


def opening():
    """The next local minute at least 20 s away, as (epoch, "HH:MM"), or
    None too near midnight for a period of one day to hold it."""
    now = time.time()
    t = (int(now) // 60 + 1) * 60
    if t - now < 20:
        t += 60
    lt = time.localtime(t)
    if lt.tm_hour == 23 and lt.tm_min >= 50:
        return None
    return t, time.strftime("%H:%M", lt)


def period(hhmm):
    return ('timeperiod "soon" {\n'
            f'    times = {{ "{hhmm}-23:59" }}\n'
            '}\n')


@unittest.skipUnless(BUILT, "the webhook plugin was not built (libcurl or jansson missing)")
class DeferTest(DaemonTest):
    def history(self):
        p = subprocess.run([TOCSINCTL, "-c", self.conf.path, "-p", PLUGIN_PATH,
                            "history", "web"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_problem_waits_for_the_period_and_goes_out_once(self):
        when = opening()
        if not when:
            self.skipTest("too near midnight for a period that opens within the day")
        at, hhmm = when
        sink = HttpSink()
        self.addCleanup(sink.stop)
        self.start('max_check_spread = 1s\n',
                   {"s.conf": period(hhmm) +
                    'service "web" {\n    check = "dummy"\n    interval = 1s\n'
                    '    state = "critical"\n    max_attempts = 1\n}\n'
                    'notifier "hook" {\n    plugin = "webhook"\n'
                    f'    url = "{sink.url}/hook"\n}}\n'
                    'route "all" {\n    notifiers = { "hook" }\n    defer = "soon"\n}\n'})
        self.daemon.wait_for(r"service 'web' on \S+: OK -> CRITICAL", timeout=10)
        history = self.history()
        self.assertRegex(history, r"deferred until \S+ " + hhmm + " ",
                         "expected the history to say until when the problem waits")
        while time.time() < at - 2:
            self.assertEqual(len(sink.requests), 0,
                             "expected nothing before the period opens; the log was:\n"
                             + self.daemon.log())
            time.sleep(0.5)
        sink.wait(1, timeout=20)
        self.assertGreaterEqual(time.time(), at - 1,
                                "expected the problem when the period opens, not before")
        body = sink.requests[0].json()
        self.assertEqual(body["alerts"][0]["service"], "web", f"got {body}")
        time.sleep(3)
        self.assertNotRegex(self.history(), r"dropped",
                            "expected the deferred problem sent, not dropped")
        self.assertEqual(len(sink.requests), 1,
                         f"expected the deferred problem exactly once; got "
                         f"{[r.json() for r in sink.requests]}")


class RouteTest(unittest.TestCase):
    def test_route_test_says_until_when(self):
        conf = ConfDir(period("10:00") +
                       'service "web" {\n    check = "dummy"\n}\n'
                       'notifier "hook" {\n    plugin = "console"\n}\n'
                       'route "all" {\n    notifiers = { "hook" }\n    defer = "soon"\n}\n')
        self.addCleanup(conf.cleanup)
        p = subprocess.run([TOCSINCTL, "-c", conf.path, "-p", PLUGIN_PATH, "route-test",
                            "--service", "web", "--state", "critical",
                            "--at", "2026-12-07 08:30 UTC"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertIn("hook", lines, f"expected the notifier, one name a line: {p.stdout!r}")
        self.assertTrue([l for l in lines if l.startswith("# ") and "defer" in l
                         and "2026-12-07 10:00" in l],
                        f"expected a comment line saying it waits until 10:00: {p.stdout!r}")


if __name__ == "__main__":
    unittest.main()
