"""The pagerduty notifier, driven by tocsin-notify, against a local HTTP
receiver that speaks the PagerDuty Events API v2 (202 with
{"status":"success","message":"Event processed","dedup_key":...}, 400 with
"message" and "errors", 429 with Retry-After, 500, a hang): the exact
event for each kind of alert, the dedup key of an incident, grouping, every
outcome, bad options refused at setup, tocsind -t, and that the routing
key never appears in any output."""
import datetime
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

from httpsink import HttpSink
from tocsintest import BUILDDIR, PLUGIN_PATH, PLUGINS, ConfDir, check_config, free_port

TOCSIN_NOTIFY = os.path.join(BUILDDIR, "core", "tocsin-notify")
KEY = "R0ut1ngK3yF0rT3st1ngAbCdEf012345"       # 32 letters and digits
assert len(KEY) == 32
ACCEPTED = {"status": "success", "message": "Event processed"}
BUILT = os.path.exists(os.path.join(PLUGINS, "pagerduty.la"))


def accepted(dedup_key="x"):
    """The body PagerDuty answers a good event with."""
    return json.dumps(dict(ACCEPTED, dedup_key=dedup_key))


@unittest.skipUnless(BUILT, "the pagerduty plugin was not built (libcurl or jansson missing)")
class PagerDutyTest(unittest.TestCase):
    def setUp(self):
        self.sink = HttpSink(default_status=202, default_body=accepted(),
                             default_headers={"Content-Type": "application/json"})
        self.addCleanup(self.sink.stop)
        self.url = self.sink.url + "/v2/enqueue"

    def notify(self, *args, key=KEY, url=None, env=None, timeout=60):
        """Run tocsin-notify pagerduty; return (exit code, stdout, stderr).
        Fails the test when the routing key shows up in either output."""
        argv = [TOCSIN_NOTIFY, "-p", PLUGIN_PATH, "pagerduty"]
        if key is not None:
            argv += ["--routing_key", key]
        argv += ["--url", url or self.url, "--alert-host", "db1", *args]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        for name, text in (("stdout", p.stdout), ("stderr", p.stderr)):
            self.assertNotIn(KEY, text, f"the routing key leaked into {name}: {text!r}")
        return p.returncode, p.stdout, p.stderr

    def tempdir(self):
        """A directory removed after the test."""
        td = tempfile.TemporaryDirectory(prefix="tocsin-pd-")
        self.addCleanup(td.cleanup)
        return td.name

    def show(self, rc, out, err):
        return f"exit {rc}, stdout {out!r}, stderr {err!r}, requests {self.sink.requests!r}"

    def events(self, count):
        """The JSON bodies of the first `count` requests, after checking
        that each is a POST of JSON to /v2/enqueue."""
        reqs = self.sink.wait(count)
        for r in reqs:
            self.assertEqual(r.method, "POST", f"expected a POST; got {r!r}")
            self.assertEqual(r.path, "/v2/enqueue", f"expected the enqueue path; got {r!r}")
            self.assertEqual(r.headers.get("content-type"), "application/json",
                             f"expected Content-Type application/json; got {r.headers!r}")
        return [r.json() for r in reqs]

    # -- the event -------------------------------------------------------

    def test_trigger_carries_every_field(self):
        since = int(time.time()) - 600
        rc, out, err = self.notify(
            "--alert-service", "postgres", "--alert-state", "critical",
            "--alert-previous", "warning", "--alert-output", "CRITICAL - 3 deadlocks",
            "--alert-long-output", "db app: 2\ndb jobs: 1", "--alert-perfdata",
            "deadlocks=3;1;2", "--alert-label", "component=database",
            "--alert-label", "team=dba", "--alert-label", "env=prod",
            "--alert-link", "https://wiki.example.org/postgres",
            "--alert-reason", "escalation after 30m", "--alert-since", str(since),
            "--alert-incident", "db1/postgres/1700000000", "--class", "{label:env} db",
            "--template", "[{severity}] {service} on {host}: {output}")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        self.assertEqual(out.strip(), "delivered", self.show(rc, out, err))
        ev = self.events(1)[0]
        self.assertEqual(set(ev), {"routing_key", "event_action", "dedup_key", "client",
                                   "payload", "links"}, f"unexpected top-level fields: {ev!r}")
        self.assertEqual(ev["routing_key"], KEY, "expected the configured routing key")
        self.assertEqual(ev["event_action"], "trigger", f"expected a trigger; got {ev!r}")
        self.assertEqual(ev["dedup_key"], "db1/postgres/1700000000",
                         f"expected the incident as dedup_key; got {ev!r}")
        self.assertEqual(ev["client"], "Tocsin", f"expected client Tocsin; got {ev!r}")
        self.assertEqual(ev["links"], [{"href": "https://wiki.example.org/postgres",
                                        "text": "postgres"}], f"links: {ev!r}")
        p = ev["payload"]
        self.assertEqual(p["summary"], "[critical] postgres on db1: CRITICAL - 3 deadlocks",
                         f"expected the rendered template as summary; got {p!r}")
        self.assertEqual(p["source"], "db1", f"expected the host as source; got {p!r}")
        self.assertEqual(p["severity"], "critical", f"severity: {p!r}")
        stamp = datetime.datetime.fromtimestamp(since, datetime.timezone.utc)
        self.assertEqual(p["timestamp"], stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         f"expected the state's start in ISO 8601 UTC; got {p!r}")
        self.assertEqual(p["component"], "database", f"expected label component; got {p!r}")
        self.assertEqual(p["group"], "dba", f"expected label team as group; got {p!r}")
        self.assertEqual(p["class"], "prod db", f"expected the class template; got {p!r}")
        d = p["custom_details"]
        self.assertEqual(d["output"], "CRITICAL - 3 deadlocks", f"details: {d!r}")
        self.assertEqual(d["long_output"], "db app: 2\ndb jobs: 1", f"details: {d!r}")
        self.assertEqual(d["perfdata"], "deadlocks=3;1;2", f"details: {d!r}")
        self.assertEqual(d["state"], "CRITICAL", f"details: {d!r}")
        self.assertEqual(d["previous"], "WARNING", f"details: {d!r}")
        self.assertEqual(d["reason"], "escalation after 30m", f"details: {d!r}")
        self.assertEqual(d["labels"], {"component": "database", "team": "dba", "env": "prod"},
                         f"details: {d!r}")
        self.assertEqual(d["service"], "postgres", f"details: {d!r}")

    def test_defaults_component_is_service_no_group_no_class_no_links(self):
        rc, out, err = self.notify("--alert-service", "web", "--alert-state", "warning",
                                   "--alert-output", "slow")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        ev = self.events(1)[0]
        p = ev["payload"]
        self.assertEqual(p["summary"], "WARNING web on db1: slow",
                         f"expected the default summary; got {p!r}")
        self.assertEqual(p["component"], "web", f"expected the service as component; got {p!r}")
        for absent in ("group", "class"):
            self.assertNotIn(absent, p, f"expected no {absent} without labels; got {p!r}")
        self.assertNotIn("links", ev, f"expected no links without a link; got {ev!r}")
        self.assertEqual(p["severity"], "warning", f"severity: {p!r}")

    def test_severity_maps_one_to_one(self):
        for sev in ("info", "warning", "error", "critical"):
            with self.subTest(severity=sev):
                before = len(self.sink.requests)
                rc, out, err = self.notify("--alert-severity", sev)
                self.assertEqual(rc, 0, self.show(rc, out, err))
                ev = self.events(before + 1)[-1]
                self.assertEqual(ev["payload"]["severity"], sev,
                                 f"expected severity {sev}; got {ev['payload']!r}")

    def test_severity_is_the_more_urgent_of_severity_and_priority(self):
        for sev, prio, want in (("info", "P1", "critical"), ("info", "P2", "error"),
                                ("warning", "P2", "error"), ("info", "P3", "warning"),
                                ("info", "P4", "info"), ("critical", "P2", "critical"),
                                ("error", "P4", "error")):
            with self.subTest(severity=sev, priority=prio):
                before = len(self.sink.requests)
                rc, out, err = self.notify("--alert-severity", sev,
                                           "--alert-priority", prio)
                self.assertEqual(rc, 0, self.show(rc, out, err))
                ev = self.events(before + 1)[-1]
                self.assertEqual(ev["payload"]["severity"], want,
                                 f"expected {sev} with {prio} as {want}; got {ev['payload']!r}")
                self.assertEqual(ev["payload"]["custom_details"].get("priority"), prio,
                                 f"expected custom_details.priority; got {ev['payload']!r}")

    def test_source_override(self):
        rc, out, err = self.notify("--source", "cluster-a")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        self.assertEqual(self.events(1)[0]["payload"]["source"], "cluster-a",
                         "expected the source option to replace the host")

    def test_actions_and_dedup_key_of_an_incident(self):
        since = str(int(time.time()) - 3600)
        common = ["--alert-service", "api", "--alert-problem-since", since]
        kinds = [("problem", "trigger"), ("repeat", "trigger"), ("escalation", "trigger"),
                 ("acknowledged", "acknowledge"), ("recovery", "resolve")]
        for kind, _ in kinds:
            extra = ["--alert-state", "ok"] if kind == "recovery" else []
            rc, out, err = self.notify(*common, "--alert-kind", kind, *extra)
            self.assertEqual(rc, 0, self.show(rc, out, err))
        events = self.events(len(kinds))
        for (kind, action), ev in zip(kinds, events):
            self.assertEqual(ev["event_action"], action,
                             f"expected {kind} to {action}; got {ev!r}")
        keys = {ev["dedup_key"] for ev in events}
        self.assertEqual(len(keys), 1, f"expected one dedup_key for the incident; got {keys}")
        for ev in events[3:]:
            self.assertEqual(set(ev), {"routing_key", "event_action", "dedup_key", "client"},
                             f"expected acknowledge/resolve without payload; got {ev!r}")
        # A new problem of the same service is a new incident.
        rc, out, err = self.notify("--alert-service", "api", "--alert-problem-since",
                                   str(int(since) + 7200))
        self.assertEqual(rc, 0, self.show(rc, out, err))
        new = self.events(len(kinds) + 1)[-1]["dedup_key"]
        self.assertNotIn(new, keys, "expected a new incident to get a new dedup_key")

    def test_long_incident_gets_a_stable_hashed_key(self):
        long1 = "host/" + "x" * 300 + "/1"
        long2 = "host/" + "x" * 300 + "/2"
        for inc in (long1, long1, long2):
            rc, out, err = self.notify("--alert-incident", inc)
            self.assertEqual(rc, 0, self.show(rc, out, err))
        k1, k1again, k2 = [ev["dedup_key"] for ev in self.events(3)]
        self.assertLessEqual(len(k1), 255, f"expected at most 255 characters; got {len(k1)}")
        self.assertEqual(k1, k1again, "expected the same key for the same incident")
        self.assertNotEqual(k1, k2, "expected different keys for different incidents "
                                    "sharing a long prefix")
        self.assertTrue(k1.startswith("host/xxx"), f"expected a readable prefix; got {k1!r}")

    def test_summary_is_cut_to_1024_characters(self):
        rc, out, err = self.notify("--alert-output", "é" * 3000)
        self.assertEqual(rc, 0, self.show(rc, out, err))
        summary = self.events(1)[0]["payload"]["summary"]
        self.assertLessEqual(len(summary), 1024, f"expected at most 1024 characters; "
                                                 f"got {len(summary)}")
        self.assertTrue(summary.endswith("..."), f"expected a cut summary to end in "
                                                 f"'...'; got {summary[-20:]!r}")

    def test_result_alerts_are_ignored(self):
        rc, out, err = self.notify("--alert-kind", "result")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        time.sleep(0.2)
        self.assertEqual(self.sink.requests, [], "expected no event for a check result")

    # -- grouping --------------------------------------------------------

    def test_grouped_alerts_are_one_event_each(self):
        rc, out, err = self.notify("--alert-service", "db", "--alert-group", "2")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        events = self.events(3)
        services = [ev["payload"]["custom_details"]["service"] for ev in events]
        self.assertEqual(services, ["db", "db-1", "db-2"], f"events: {events!r}")
        keys = {ev["dedup_key"] for ev in events}
        self.assertEqual(len(keys), 3, f"expected a dedup_key per alert; got {keys}")
        time.sleep(0.2)
        self.assertEqual(len(self.sink.requests), 3, "expected exactly three events")

    def test_group_with_one_refused_event_fails_after_sending_all(self):
        self.sink.respond(202, accepted())
        self.sink.respond(400, json.dumps({"status": "invalid event",
                                           "message": "Event object is invalid",
                                           "errors": ["'payload.summary' is missing"]}))
        self.sink.respond(202, accepted())
        rc, out, err = self.notify("--alert-service", "db", "--alert-group", "2")
        self.assertEqual(rc, 1, self.show(rc, out, err))
        self.assertIn("event 2 of 3 (db-1): pagerduty answered 400", out, self.show(rc, out, err))
        self.assertEqual(len(self.events(3)), 3, "expected the third event still sent")

    def test_group_stops_at_a_retry(self):
        self.sink.respond(202, accepted())
        self.sink.respond(429, "{}", headers={"Retry-After": "12"})
        rc, out, err = self.notify("--alert-service", "db", "--alert-group", "2")
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertIn("retry after 12 s", out, self.show(rc, out, err))
        time.sleep(0.3)
        self.assertEqual(len(self.sink.requests), 2, "expected no event after the throttled one")

    # -- outcomes --------------------------------------------------------

    def test_400_fails_with_pagerdutys_explanation(self):
        self.sink.respond(400, json.dumps({
            "status": "invalid event", "message": "Event object is invalid",
            "errors": ["Length of 'routing_key' is incorrect (should be 32 characters)"]}))
        rc, out, err = self.notify()
        self.assertEqual(rc, 1, self.show(rc, out, err))
        self.assertEqual(out.strip(), "failed: pagerduty answered 400: Event object is "
                         "invalid: Length of 'routing_key' is incorrect (should be 32 "
                         "characters)", self.show(rc, out, err))

    def test_a_receiver_echoing_the_key_does_not_leak_it(self):
        self.sink.respond(400, json.dumps({"status": "invalid event",
                                           "message": "unknown routing key " + KEY}))
        rc, out, err = self.notify()       # notify() asserts the key is absent
        self.assertEqual(rc, 1, self.show(rc, out, err))
        self.assertIn("unknown routing key [redacted]", out, self.show(rc, out, err))

    def test_other_4xx_fail(self):
        for status in (401, 403, 404, 413):
            with self.subTest(status=status):
                self.sink.respond(status, "no")
                rc, out, err = self.notify()
                self.assertEqual(rc, 1, self.show(rc, out, err))
                self.assertIn(f"pagerduty answered {status}", out, self.show(rc, out, err))

    def test_429_retries_with_retry_after(self):
        self.sink.respond(429, json.dumps({"status": "throttle event",
                                           "message": "Requests for this service are "
                                                      "arriving too quickly."}),
                          headers={"Retry-After": "30"})
        rc, out, err = self.notify()
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertTrue(out.startswith("retry after 30 s: pagerduty answered 429"),
                        self.show(rc, out, err))

    def test_5xx_and_408_retry(self):
        for status in (500, 502, 503, 408):
            with self.subTest(status=status):
                self.sink.respond(status, "busy")
                rc, out, err = self.notify()
                self.assertEqual(rc, 75, self.show(rc, out, err))
                self.assertIn(f"pagerduty answered {status}", out, self.show(rc, out, err))

    def test_a_hanging_receiver_is_retried_at_the_deadline(self):
        self.sink.respond(delay=20)
        t0 = time.monotonic()
        rc, out, err = self.notify("--timeout", "1s")
        took = time.monotonic() - t0
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertIn("timed out", out.lower(), self.show(rc, out, err))
        self.assertLess(took, 5, f"expected the deadline to end the request after ~1 s; "
                                 f"took {took:.1f}s")

    def test_connection_refused_is_retried(self):
        port = free_port()
        rc, out, err = self.notify(url=f"http://127.0.0.1:{port}/v2/enqueue")
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertIn(f"cannot deliver to 127.0.0.1:{port}", out, self.show(rc, out, err))

    # -- options ---------------------------------------------------------

    def test_routing_key_from_file_and_environment(self):
        d = self.tempdir()
        path = os.path.join(d, "key")
        with open(path, "w") as f:
            f.write(KEY + "\n")
        rc, out, err = self.notify("--routing_key_file", path, key=None)
        self.assertEqual(rc, 0, self.show(rc, out, err))
        env = dict(os.environ, PD_TEST_KEY=KEY)
        rc, out, err = self.notify("--routing_key_env", "PD_TEST_KEY", key=None, env=env)
        self.assertEqual(rc, 0, self.show(rc, out, err))
        keys = [ev["routing_key"] for ev in self.events(2)]
        self.assertEqual(keys, [KEY, KEY], "expected the key read from the file and the variable")

    def test_bad_options_are_refused_at_setup(self):
        short = KEY[:20]
        cases = [
            ([], None, r"a routing key is required"),
            ([], short, r"the routing key has 20 characters; .* has 32"),
            ([], KEY[:31] + "-", r"character other than a letter or a digit"),
            (["--routing_key_env", "TOCSIN_TEST_UNSET_VAR"], None,
             r"routing key: .*TOCSIN_TEST_UNSET_VAR"),
            (["--url", "ftp://events.example.org/v2/enqueue"], KEY,
             r"option 'url' must start with https://"),
            (["--template", "{state} {bogus}"], KEY, r"option 'template': unknown placeholder \{bogus\}"),
            (["--template", ""], KEY, r"option 'template' is empty"),
            (["--class", "{nope"], KEY, r"option 'class': unclosed"),
        ]
        for args, key, pattern in cases:
            with self.subTest(args=args, key=key is not None):
                rc, out, err = self.notify(*args, key=key)
                self.assertEqual(rc, 2, self.show(rc, out, err))
                self.assertRegex(err, pattern, self.show(rc, out, err))
                if key:
                    self.assertNotIn(key, out + err, "expected the bad key not to be shown")
        self.assertEqual(self.sink.requests, [], "expected no event from a refused setup")

    def test_tocsind_t_accepts_and_rejects_a_pagerduty_section(self):
        d = self.tempdir()
        with open(os.path.join(d, "key"), "w") as f:
            f.write(KEY + "\n")
        good = ConfDir('notifier "pd" {\n    plugin = "pagerduty"\n'
                       f'    routing_key_file = "{d}/key"\n'
                       '    class = "{label:class}"\n}\n'
                       'service "ok" {\n    check = "dummy"\n}\n')
        self.addCleanup(good.cleanup)
        rc, out, err = check_config(good.path)
        self.assertEqual(rc, 0, f"expected the section to be accepted: {out!r} {err!r}")
        self.assertIn("1 notifiers", out + err, f"expected one notifier: {out!r} {err!r}")
        bad = ConfDir('service "ok" {\n    check = "dummy"\n}\n'
                      'notifier "pd" {\n    plugin = "pagerduty"\n'
                      f'    routing_key = "{KEY}"\n'
                      '    template = "{service} {nonsense}"\n}\n')
        self.addCleanup(bad.cleanup)
        rc, out, err = check_config(bad.path)
        self.assertNotEqual(rc, 0, f"expected the section to be refused: {out!r} {err!r}")
        # Reported at the section's plugin line.
        self.assertRegex(err, re.escape(bad.path) + r":5: notifier 'pd': option 'template': "
                         r"unknown placeholder \{nonsense\}", f"stderr: {err!r}")
        self.assertNotIn(KEY, out + err, "expected the key not to be shown by tocsind -t")


if __name__ == "__main__":
    unittest.main()
