"""The prometheus check against real exporters on loopback: an application
written with python3-prometheus-client whose counters and histogram move
only when the test says (so rates, ratios and quantiles between the two
scrapes of a check are known exactly), Debian's prometheus-node-exporter,
and tocsind's own /metrics; plus broken text, an unreachable endpoint,
basic auth and HTTPS with the suite's test CA."""
import os
import re
import subprocess
import tempfile
import time
import unittest

import srv_promapp
import srv_tls
from srv_promapp import App
from tocsintest import (STATES, ConfDir, Daemon, free_port, perfdata, show,
                        tocsin_check, wait_port)

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"


class PromTest(unittest.TestCase):
    app = None

    @classmethod
    def setUpClass(cls):
        cls.app = App()

    @classmethod
    def tearDownClass(cls):
        if cls.app:
            cls.app.stop()

    def setUp(self):
        self.app.apply(reset=True)

    def check(self, *exprs, url=None, args=(), state=None, pattern=None):
        argv = ["prometheus", "--url", url or self.app.url(), "--timeout", "20s"]
        for e in exprs:
            argv += ["--expression", e]
        rc, out, err = tocsin_check(*argv, *args)
        got = STATES[rc] if 0 <= rc < 4 else rc
        if state is not None:
            self.assertEqual(got, state, f"expected {state} for {exprs}; got "
                                         f"{show(rc, out, err)}")
        if pattern is not None:
            self.assertRegex(out.split("\n")[0], pattern,
                             f"line 1 for {exprs}; got {show(rc, out, err)}")
        return out, perfdata(out)

    def value(self, perf, label):
        self.assertIn(label, perf, f"perfdata {perf}")
        v = perf[label][0]
        return "U" if v.startswith("U") else float(re.match(r"-?[\d.e+-]+", v).group(0))


class Expressions(PromTest):
    def test_selector_sums_with_each_matcher(self):
        self.app.apply(requests=[(200, "/a", 0.05, 7), (500, "/a", 0.05, 2),
                                 (503, "/b", 0.05, 3), (404, "/b", 0.05, 5)],
                       queue={"mail": 12, "jobs": 30})
        out, perf = self.check(
            "all: app_requests_total",
            "eq: app_requests_total{route=\"/a\"}",
            "ne: app_requests_total{code!=\"200\"}",
            "re: app_requests_total{code=~'5..'}",
            "nre: app_requests_total{code!~\"5..|404\"}",
            "queue: app_queue_length warning 100 critical 500",
            state="OK", pattern=r"^PROMETHEUS OK - all 17, eq 9, ne 10, re 5, nre 7, "
                                r"queue 42 \|")
        self.assertEqual(perf["queue"][1:3], ["100", "500"], out)

    def test_gauge_thresholds_and_no_match(self):
        self.app.apply(queue={"mail": 150})
        self.check("queue: app_queue_length warning 100 critical 500",
                   state="WARNING", pattern=r"queue 150 \(warning 100\)")
        self.check("queue: app_queue_length{queue=\"nope\"}", state="UNKNOWN",
                   pattern=r"queue: no series match")

    def test_rate_between_the_two_scrapes(self):
        self.app.apply(requests=[(200, "/a", 0.05, 1000)])
        self.app.after_next_scrape(requests=[(200, "/a", 0.05, 40), (500, "/b", 0.05, 2)])
        out, perf = self.check("rps: rate(app_requests_total)", state="OK")
        m = re.search(r"rps: ([\d.]+) per second \(\+(\d+) in ([\d.]+) s\)", out)
        self.assertTrue(m, out)
        self.assertEqual(m.group(2), "42", f"the increase between the scrapes: {out}")
        dt = float(m.group(3))
        self.assertTrue(0.9 <= dt <= 5, f"first_window is 1 s: {out}")
        self.assertAlmostEqual(self.value(perf, "rps"), 42 / dt, delta=0.01 * 42 / dt)

    def test_counter_reset_counts_from_zero(self):
        self.app.apply(requests=[(200, "/a", 0.05, 500)])
        self.app.after_next_scrape(reset=True, requests=[(200, "/a", 0.05, 7)])
        out, _ = self.check("rps: rate(app_requests_total)", state="OK")
        self.assertRegex(out, r"\(\+7 in ", f"a restarted app's 7 requests: {out}")

    def test_ratio_by_route_with_min_volume(self):
        self.app.after_next_scrape(requests=[
            (200, "/a", 0.05, 188), (500, "/a", 0.05, 12),      # 6 % of 200
            (200, "/b", 0.05, 2), (503, "/b", 0.05, 1),         # 1 of 3: not judged
            (200, "/c", 0.05, 99), (502, "/c", 0.05, 1)])       # 1 %
        out, perf = self.check(
            "errors: rate(app_requests_total{code=~\"5..\"}) / rate(app_requests_total) "
            "by route min_volume 20 warning 2 critical 5",
            state="CRITICAL",
            pattern=r"^PROMETHEUS CRITICAL - worst errors\[/a\] 6% \(critical 5\) of 3 series")
        self.assertEqual(self.value(perf, "errors[/a]"), 6.0)
        self.assertEqual(self.value(perf, "errors[/b]"), "U", out)
        self.assertEqual(self.value(perf, "errors[/c]"), 1.0)
        self.assertEqual(perf["errors[/a]"][0], "6%", out)
        self.assertIn("errors[/b]: not judged, below min_volume (volume 3, "
                      "min_volume 20)", out)
        self.assertIn("errors[/a]: 6% (12 of 200 in", out)

    def test_ratio_below_min_volume_is_ok(self):
        self.app.after_next_scrape(requests=[(200, "/a", 0.05, 2), (500, "/a", 0.05, 1)])
        out, perf = self.check(
            "errors: rate(app_requests_total{code=~'5..'}) / rate(app_requests_total) "
            "min_volume 20 warning 1 critical 5", state="OK",
            pattern=r"errors not judged: below min_volume \(volume 3, min_volume 20\)")
        self.assertEqual(self.value(perf, "errors"), "U")

    def test_quantiles_match_histogram_quantile(self):
        # /a: 60 at 50 ms, 30 at 300 ms, 10 at 700 ms. /b: 10 at 2 s.
        self.app.after_next_scrape(requests=[(200, "/a", 0.05, 60), (200, "/a", 0.3, 30),
                                             (200, "/a", 0.7, 10), (200, "/b", 2.0, 10)])
        out, perf = self.check(
            "p50: quantile(0.5, app_request_duration_seconds{route=\"/a\"})",
            "p95: p95(app_request_duration_seconds{route=\"/a\"}) scale 1000 unit ms",
            "p99: histogram_quantile(0.99, rate(app_request_duration_seconds_bucket)) "
            "by route warning 0.5 critical 3",
            state="WARNING")
        # Rank 50 of 100 in (0, 0.1] holding 60: 0.1 * 50/60.
        self.assertAlmostEqual(self.value(perf, "p50"), 0.1 * 50 / 60, places=9)
        # Rank 95 in (0.5, 1] holding 90..100: 0.5 + 0.5 * 5/10 = 750 ms.
        self.assertAlmostEqual(self.value(perf, "p95"), 750, places=6)
        self.assertEqual(perf["p95"][0][-2:], "ms", out)
        # /a: rank 99 -> 0.5 + 0.5 * 9/10; /b: rank 9.9 in (1, 2.5] -> 1 + 1.5 * 0.99.
        self.assertAlmostEqual(self.value(perf, "p99[/a]"), 0.95, places=9)
        self.assertAlmostEqual(self.value(perf, "p99[/b]"), 1 + 1.5 * 0.99, places=9)
        self.assertRegex(out.split("\n")[0], r"worst p99\[/b\] 2\.485 s \(warning 0\.5\) "
                                             r"of 2 series")


class Endpoints(PromTest):
    def test_malformed_text_is_unknown_with_line(self):
        self.check("x: ok_total", url=self.app.url("/broken"), state="UNKNOWN",
                   pattern=r"^PROMETHEUS UNKNOWN - malformed metrics from "
                           r"127\.0\.0\.1:\d+ at line %d: " % srv_promapp.BROKEN_LINE)

    def test_unreachable_endpoint_is_critical(self):
        port = free_port()
        self.check("x: up", url=f"http://127.0.0.1:{port}/metrics", state="CRITICAL",
                   pattern=r"cannot connect to 127\.0\.0\.1:%d: Connection refused" % port)

    def test_http_error_is_critical(self):
        self.check("x: up", url=self.app.url("/nothing"), state="CRITICAL",
                   pattern=r"answered HTTP 404")

    def test_bad_expression_is_refused(self):
        rc, out, err = tocsin_check("prometheus", "--url", self.app.url(),
                                    "--expression", "x: rate(a")
        self.assertEqual(rc, 3, show(rc, out, err))
        self.assertIn("expected ')'", out + err)

    def test_basic_auth(self):
        self.app.apply(queue={"mail": 3})
        url = self.app.url("/auth/metrics")
        self.check("q: app_queue_length", url=url, state="CRITICAL",
                   pattern=r"answered HTTP 401 \(authentication failed\)")
        out, _ = self.check("q: app_queue_length", url=url, state="OK",
                            args=["--user", srv_promapp.USER,
                                  "--password", srv_promapp.PASSWORD])
        self.assertNotIn(srv_promapp.PASSWORD, out)

    def test_https_with_the_test_ca(self):
        tmp = tempfile.mkdtemp(prefix="tocsin-prom-tls-")
        certs = srv_tls.Certs(tmp)
        certs.make()
        app = App(tls=certs.path("valid"))
        self.addCleanup(app.stop)
        app.apply(queue={"mail": 5})
        self.check("q: app_queue_length", url=app.url(), state="CRITICAL",
                   pattern=r"scraping 127\.0\.0\.1:\d+ failed")
        self.check("q: app_queue_length", url=app.url(), args=["--ca_file", certs.ca],
                   state="OK", pattern=r"q 5 \|")


class RealExporters(unittest.TestCase):
    def test_node_exporter(self):
        self.assertTrue(os.path.exists(NODE_EXPORTER),
                        f"{NODE_EXPORTER} is missing: install prometheus-node-exporter "
                        "(contrib/deps --tests)")
        port = free_port()
        proc = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                                 "--collector.disable-defaults", "--collector.cpu",
                                 "--collector.loadavg", "--collector.meminfo",
                                 "--collector.filesystem", "--collector.netdev"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.terminate)
        wait_port(port, proc=proc)
        ncpu = os.cpu_count()
        rc, out, err = tocsin_check(
            "prometheus", "--url", f"http://127.0.0.1:{port}/metrics",
            "--expression", "build: node_exporter_build_info critical 1:1",
            "--expression", "idle: rate(node_cpu_seconds_total{mode=\"idle\"}) by cpu",
            "--expression", "busy: rate(node_cpu_seconds_total{mode!=\"idle\"}) "
                            f"critical {ncpu * 2}",
            "--expression", "mem: node_memory_MemAvailable_bytes critical 1:",
            "--expression", "scrapes: rate(promhttp_metric_handler_requests_total"
                            "{code=\"200\"}) critical 0.1:")
        self.assertEqual(rc, 0, show(rc, out, err))
        perf = perfdata(out)
        self.assertEqual(perf["build"][0], "1", out)
        # Our own two scrapes, first_window apart.
        self.assertTrue(0.3 <= float(perf["scrapes"][0]) <= 2, out)
        idle = [k for k in perf if k.startswith("idle[")]
        self.assertEqual(len(idle), ncpu, f"one idle rate per CPU: {out}")
        for k in idle:
            self.assertTrue(0 <= float(perf[k][0]) <= 1.5, f"{k}: {out}")
        self.assertRegex(out, r"\d{3,} samples from 127\.0\.0\.1:%d" % port)

    def test_tocsind_own_metrics(self):
        port = free_port()
        self_check = (
            'service "self" {\n  check = "prometheus"\n  interval = 1s\n'
            '  max_attempts = 1\n'
            f'  url = "http://127.0.0.1:{port}/metrics"\n'
            '  expression = {\n'
            '    "up: tocsin_up critical 1:1",\n'
            '    "checks: rate(tocsin_checks_total) critical 0.01:",\n'
            '    "p99: p99(tocsin_check_duration_seconds) critical 5"\n  }\n}\n')
        conf = ConfDir('max_check_spread = 1s\nhost = "h"\n'
                       f'http {{\n  listen = "127.0.0.1:{port}"\n}}\n',
                       {"self.conf": self_check,
                        "dummy.conf": 'service "d" {\n  check = "dummy"\n'
                                      '  interval = 1s\n}\n'})
        self.addCleanup(conf.cleanup)
        d = Daemon(conf.path)
        self.addCleanup(d.stop)
        wait_port(port)
        import urllib.request
        deadline = time.monotonic() + 30
        text = ""
        while time.monotonic() < deadline:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                          timeout=5).read().decode()
            if re.search(r'tocsin_service_perfdata\{[^}]*service="self"[^}]*'
                         r'label="checks"', text) and \
               re.search(r'tocsin_checks_total \d*[3-9]', text):
                break
            time.sleep(0.5)
        m = re.search(r'tocsin_service_state\{[^}]*service="self"[^}]*\} (\d+)', text)
        self.assertTrue(m, f"no state of 'self' in\n{text[:3000]}\n{d.log()[-2000:]}")
        self.assertEqual(m.group(1), "0", f"'self' is not OK:\n{d.log()[-3000:]}")
        m = re.search(r'tocsin_service_perfdata\{[^}]*service="self"[^}]*label="up"'
                      r'[^}]*\} (\S+)', text)
        self.assertTrue(m and float(m.group(1)) == 1, text[:3000])


if __name__ == "__main__":
    unittest.main()
