"""The Grafana dashboard of contrib/grafana: importable as it is (the shape
Grafana's import reads: a uid, a title, the Prometheus data source as the
input DS_PROMETHEUS, panels with unique ids and targets with an expr), every
expression valid PromQL (promtool), and every metric it names served by the
real daemon's /metrics, of the type its use needs (rate() of a counter,
histogram_quantile() of a histogram's buckets)."""
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import urllib.request

from tocsintest import SRCDIR, DaemonTest, free_port

DASHBOARD = os.path.join(SRCDIR, "contrib", "grafana", "tocsin-dashboard.json")
PROMTOOL = "/usr/bin/promtool"
NAME = re.compile(r"\btocsin_[a-zA-Z0-9_:]*")
FAMILY = re.compile(r"^# TYPE (\S+) (\S+)$")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? \S+$")


def load():
    with open(DASHBOARD) as f:
        return json.load(f)


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def expressions(dash):
    """(panel title, expr) of every target of every panel."""
    for p in all_panels(dash["panels"]):
        for t in p.get("targets", []):
            yield p["title"], t["expr"]


def promql(expr):
    """`expr` as Prometheus reads it once Grafana has put in its variables."""
    return expr.replace("$__rate_interval", "1m").replace("$instance", ".*")


class DashboardShape(unittest.TestCase):
    def test_importable_shape(self):
        dash = load()
        self.assertRegex(dash.get("uid", ""), r"^[a-zA-Z0-9_-]{1,40}$")
        self.assertTrue(dash.get("title"), "expected a title")
        self.assertGreaterEqual(dash.get("schemaVersion", 0), 36)
        self.assertIsNone(dash.get("id"), "an exported dashboard has no id of its own")
        inputs = [i for i in dash.get("__inputs", []) if i.get("name") == "DS_PROMETHEUS"]
        self.assertEqual(len(inputs), 1, "expected the data source as input DS_PROMETHEUS")
        self.assertEqual((inputs[0]["type"], inputs[0]["pluginId"]), ("datasource", "prometheus"))
        ids = [p["id"] for p in all_panels(dash["panels"])]
        self.assertEqual(len(ids), len(set(ids)), f"expected unique panel ids: {ids}")
        self.assertTrue(all(isinstance(i, int) and i > 0 for i in ids))
        graphs = [p for p in all_panels(dash["panels"]) if p["type"] != "row"]
        self.assertGreaterEqual(len(graphs), 10)
        for p in graphs:
            where = f"panel {p['id']} {p.get('title')!r}"
            self.assertTrue(p.get("title"), f"{where}: no title")
            self.assertEqual(p.get("datasource"), {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                             f"{where}: expected the input data source")
            grid = p.get("gridPos", {})
            self.assertTrue(all(k in grid for k in "hwxy") and grid["x"] + grid["w"] <= 24,
                            f"{where}: bad gridPos {grid}")
            self.assertTrue(p.get("targets"), f"{where}: no targets")
            refs = [t["refId"] for t in p["targets"]]
            self.assertEqual(len(refs), len(set(refs)), f"{where}: refIds repeat: {refs}")
            for t in p["targets"]:
                self.assertTrue(t.get("expr", "").strip(), f"{where}: a target without expr")
                self.assertEqual(t.get("datasource"), p["datasource"], where)
        # Nothing of the machine it was made on: no data source uid of its own.
        self.assertNotRegex(json.dumps(dash), r'"uid": "(?!\$\{DS_PROMETHEUS\}|tocsin-agent|-- Grafana --)')

    @unittest.skipUnless(os.access(PROMTOOL, os.X_OK), "promtool is not installed")
    def test_expressions_are_promql(self):
        rules = [{"record": f"tocsin_dashboard:expr{i}", "expr": promql(e)}
                 for i, (_, e) in enumerate(expressions(load()))]
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        self.addCleanup(os.unlink, f.name)
        p = subprocess.run([PROMTOOL, "check", "rules", f.name], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, f"promtool found bad PromQL:\n{p.stdout}{p.stderr}")
        self.assertIn(f"{len(rules)} rules found", p.stdout)


class DashboardMetrics(DaemonTest):
    def scrape(self, port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            return r.read().decode()

    def test_every_metric_is_served(self):
        port = free_port()
        self.start('max_check_spread = 1s\n'
                   f'http {{\n    listen = "127.0.0.1:{port}"\n}}\n',
                   {"s.conf": 'service "web" {\n    check = "dummy"\n    interval = 1s\n'
                              '    state = "warning"\n    max_attempts = 1\n}\n'
                              'notifier "console" {\n    plugin = "console"\n}\n'
                              'route "all" {\n    notifiers = { "console" }\n}\n'})
        self.daemon.wait_for(r"service 'web' on .*-> WARNING \(hard")
        deadline = time.monotonic() + 10
        while True:
            text = self.scrape(port)
            if "tocsin_service_state{" in text or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        types, samples = {}, set()
        for line in text.splitlines():
            m = FAMILY.match(line)
            if m:
                types[m.group(1)] = m.group(2)
            m = SAMPLE.match(line)
            if m and not line.startswith("#"):
                samples.add(m.group(1))

        def family_of(name):
            for suffix in ("_bucket", "_sum", "_count"):
                base = name[:-len(suffix)]
                if name.endswith(suffix) and types.get(base) == "histogram":
                    return base
            return name

        used = set()
        for title, expr in expressions(load()):
            for m in NAME.finditer(expr):
                name = m.group(0)
                used.add(name)
                self.assertIn(name, samples, f"panel {title!r}: {name} is not served by "
                              f"/metrics; it serves {sorted(samples)}")
                kind = types.get(family_of(name))
                before = expr[:m.start()].rstrip()
                if re.search(r"\b(rate|increase|irate)\($", before):
                    self.assertIn(kind, ("counter", "histogram"),
                                  f"panel {title!r}: rate() of {name}, a {kind}")
                    if kind == "histogram":
                        self.assertRegex(name, r"_(bucket|sum|count)$")
                else:
                    self.assertEqual(kind, "gauge",
                                     f"panel {title!r}: {name} ({kind}) used without rate()")
                if name.endswith("_bucket"):
                    self.assertIn("histogram_quantile(", expr)
        # The dashboard shows what matters of the agent.
        for name in ("tocsin_checks_total", "tocsin_service_state", "tocsin_service_hard_state",
                     "tocsin_notifications_queued_total", "tocsin_notification_failures_total",
                     "tocsin_notifications_fallback_total",
                     "tocsin_outbox_depth", "tocsin_worker_restarts_total",
                     "tocsin_check_duration_seconds_bucket"):
            self.assertIn(name, used, f"expected a panel on {name}")


if __name__ == "__main__":
    unittest.main()
