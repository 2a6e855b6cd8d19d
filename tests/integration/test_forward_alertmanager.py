"""The alertmanager notifier against a real Prometheus Alertmanager started
for the tests (a firing alert's labels, annotations and times, its
recovery, check results that fire and resolve through one instance, a
state that changes while firing, grouped alerts, basic authentication),
and against a local HTTP receiver for the exact request, results that
send nothing, a bearer token, and what a real Alertmanager does not easily
answer (429 with Retry-After, 500, a hang, 400). tocsind -t checks its
configuration."""
import calendar
import time
import unittest

import srv_alertmanager
from forwardtest import DELIVERED, FAILED, RETRY, USAGE, notify, result_args, said
from httpsink import HttpSink
from srv_alertmanager import Alertmanager
from tocsintest import ConfDir, check_config, free_port

PASSWORD = "Tocsin-am-pw-5d2b"
TOKEN = "Tocsin-am-token-8e0f"


def epoch(rfc3339):
    """Seconds since the epoch of Alertmanager's "2026-11-22T14:03:00.000Z"."""
    return calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@unittest.skipUnless(srv_alertmanager.available(), "prometheus-alertmanager is not installed")
class AlertmanagerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.am = Alertmanager().start()

    @classmethod
    def tearDownClass(cls):
        cls.am.cleanup()

    def send(self, *args):
        return notify("alertmanager", "--url", self.am.url, *args)

    def wait_alerts(self, count, what, timeout=10, **labels):
        deadline = time.monotonic() + timeout
        found = []
        while time.monotonic() < deadline:
            found = self.am.alerts(**labels)
            if len(found) == count:
                return found
            time.sleep(0.1)
        self.fail(f"expected {count} alert(s) with {labels} ({what}); Alertmanager "
                  f"lists {found}")

    def test_firing_alert(self):
        since = int(time.time()) - 600
        rc, out, err = self.send("--alert-kind", "problem", "--alert-host", "web1",
                                 "--alert-service", "mysql", "--alert-state", "critical",
                                 "--alert-output", "MYSQL CRITICAL - 500 connections",
                                 "--alert-long-output", "max_connections is 500",
                                 "--alert-label", "team=dba", "--alert-label", "rack-id=r7",
                                 "--alert-problem-since", str(since),
                                 "--alert-link", "https://tocsin.example.org/mysql")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        a, = self.wait_alerts(1, "the firing alert", service="mysql")
        self.assertEqual(a["labels"], {
            "alertname": "mysql", "instance": "web1", "service": "mysql",
            "severity": "critical", "state": "critical", "team": "dba", "rack_id": "r7"},
            "expected Tocsin's labels, the service's with names made valid")
        self.assertEqual(a["annotations"], {"summary": "MYSQL CRITICAL - 500 connections",
                                            "description": "max_connections is 500"})
        self.assertEqual(a["status"]["state"], "active", f"got {a}")
        self.assertEqual(epoch(a["startsAt"]), since, f"expected startsAt {since}; got {a}")
        ends = epoch(a["endsAt"]) - time.time()
        self.assertTrue(3500 < ends < 3700, f"expected endsAt an hour ahead; got {a}")
        self.assertEqual(a["generatorURL"], "https://tocsin.example.org/mysql")

    def test_recovery_resolves_the_alert(self):
        args = ["--alert-host", "web1", "--alert-service", "redis"]
        rc, out, err = self.send(*args, "--alert-kind", "problem", "--alert-state", "warning")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.wait_alerts(1, "the firing alert", service="redis")
        # Another process: the recovery names the state the service left.
        rc, out, err = self.send(*args, "--alert-kind", "recovery", "--alert-state", "ok",
                                 "--alert-previous", "warning")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.wait_alerts(0, "the alert resolved", service="redis")

    def test_results_fire_and_resolve_through_one_instance(self):
        before = self.am.received()
        rc, out, err = self.send(*result_args("web1", "pgsql", "critical", "PGSQL CRITICAL"),
                                 "--alert-then", "result", "--alert-state", "critical",
                                 "--alert-then", "result", "--alert-state", "ok",
                                 "--alert-output", "PGSQL OK")
        self.assertEqual(out.splitlines(), ["delivered"] * 3, said(rc, out, err))
        after = self.am.received()
        self.assertEqual((after["firing"] - before["firing"],
                          after["resolved"] - before["resolved"]), (2, 1),
                         "expected the alert fired with each problem result, then "
                         "resolved by the OK result")
        self.wait_alerts(0, "the alert resolved by the OK result", service="pgsql")

    def test_a_state_change_while_firing_replaces_the_alert(self):
        rc, out, err = self.send(*result_args("web1", "disk", "warning", "DISK WARNING"),
                                 "--alert-then", "result", "--alert-state", "critical",
                                 "--alert-output", "DISK CRITICAL")
        self.assertEqual(out.splitlines(), ["delivered"] * 2, said(rc, out, err))
        a, = self.wait_alerts(1, "only the critical alert", service="disk")
        self.assertEqual((a["labels"]["state"], a["labels"]["severity"]),
                         ("critical", "critical"), f"got {a}")
        self.assertEqual(a["annotations"]["summary"], "DISK CRITICAL")

    def test_grouped_alerts(self):
        rc, out, err = self.send("--alert-host", "web2", "--alert-service", "http",
                                 "--alert-state", "critical", "--alert-group", "2")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        found = self.wait_alerts(3, "the alert and the two grouped with it", instance="web2")
        self.assertEqual(sorted(a["labels"]["service"] for a in found),
                         ["http", "http-1", "http-2"])

    def test_templates(self):
        rc, out, err = self.send("--alert-host", "web3", "--alert-service", "ntp",
                                 "--alert-state", "warning", "--alert-output", "offset 2 s",
                                 "--alertname", "Tocsin_{service}",
                                 "--summary", "{service} on {host}: {output}",
                                 "--description", "")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        a, = self.wait_alerts(1, "the alert", instance="web3")
        self.assertEqual(a["labels"]["alertname"], "Tocsin_ntp")
        self.assertEqual(a["annotations"], {"summary": "ntp on web3: offset 2 s"})


@unittest.skipUnless(srv_alertmanager.available(), "prometheus-alertmanager is not installed")
@unittest.skipUnless(srv_alertmanager.can_hash(), "htpasswd (apache2-utils) is not installed")
class AlertmanagerAuthTest(unittest.TestCase):
    def test_basic_authentication(self):
        am = Alertmanager(auth=("tocsin", PASSWORD)).start()
        self.addCleanup(am.cleanup)
        rc, out, err = notify("alertmanager", "--url", am.url, "--user", "tocsin",
                              "--password", PASSWORD, "--alert-service", "auth")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.assertEqual(len(am.alerts(service="auth")), 1, "expected the alert listed")
        wrong = "Wrong-" + PASSWORD
        rc, out, err = notify("alertmanager", "--url", am.url, "--user", "tocsin",
                              "--password", wrong, "--alert-service", "auth")
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("answered 401: authentication failed for user tocsin", out,
                      said(rc, out, err))
        self.assertNotIn(wrong, out + err, "the password must never be shown")
        rc, out, err = notify("alertmanager", "--url", am.url, "--alert-service", "auth")
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("it wants credentials", out, said(rc, out, err))


class AlertmanagerRequestTest(unittest.TestCase):
    """Against a local HTTP receiver playing the Alertmanager API."""

    def sink(self):
        s = HttpSink(default_body=b"")
        self.addCleanup(s.stop)
        return s

    def send(self, sink, *args, timeout="30s"):
        return notify("alertmanager", "--url", sink.url, *args, "--timeout", timeout)

    def test_request_format(self):
        sink = self.sink()
        rc, out, err = self.send(sink, "--alert-kind", "escalation", "--alert-host", "web1",
                                 "--alert-service", "db", "--alert-state", "unknown",
                                 "--alert-output", "DB UNKNOWN", "--alert-label", "team=dba",
                                 "--alert-label", "severity=low",
                                 "--alert-problem-since", "1700000000",
                                 "--alert-reason", "escalation after 30m",
                                 "--alert-link", "not a link", "--ends_after", "10m")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        req = sink.wait(1)[0]
        self.assertEqual((req.method, req.path), ("POST", "/api/v2/alerts"), f"got {req}")
        self.assertEqual(req.headers.get("content-type"), "application/json", req.headers)
        self.assertNotIn("authorization", req.headers)
        body = req.json()
        self.assertEqual(len(body), 1, f"expected one alert; got {body}")
        ends = epoch(body[0].pop("endsAt"))
        self.assertTrue(abs(ends - (time.time() + 600)) < 30,
                        f"expected endsAt ten minutes ahead; got {rfc3339(ends)}")
        self.assertEqual(body[0], {
            "labels": {"alertname": "db", "instance": "web1", "service": "db",
                       "severity": "error", "state": "unknown", "team": "dba"},
            "annotations": {"summary": "DB UNKNOWN", "reason": "escalation after 30m"},
            "startsAt": "2023-11-14T22:13:20Z"},
            "expected Tocsin's severity over the service's label, and no generatorURL "
            "for a link that is not a URL")

    def test_without_ends_after_endsat_is_left_to_alertmanager(self):
        sink = self.sink()
        rc, out, err = self.send(sink, "--alert-service", "db", "--ends_after", "0")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.assertNotIn("endsAt", sink.wait(1)[0].json()[0])

    def test_resolved_alert(self):
        sink = self.sink()
        rc, out, err = self.send(sink, "--alert-kind", "recovery", "--alert-host", "web1",
                                 "--alert-service", "db", "--alert-state", "ok",
                                 "--alert-previous", "warning",
                                 "--alert-problem-since", "1700000000",
                                 "--alert-at", "1700000900")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        a = sink.wait(1)[0].json()[0]
        self.assertEqual((a["startsAt"], a["endsAt"]),
                         ("2023-11-14T22:13:20Z", "2023-11-14T22:28:20Z"),
                         "expected endsAt at the recovery")
        self.assertEqual((a["labels"]["state"], a["labels"]["severity"]),
                         ("warning", "warning"),
                         "expected the labels the alert fired with")

    def test_results_that_send_nothing(self):
        sink = self.sink()
        cases = {
            "a soft problem": result_args("web1", "db", "critical", "maybe") +
            ["--alert-hard", "no"],
            "a recovery from OK": ["--alert-kind", "recovery", "--alert-state", "ok",
                                   "--alert-previous", "ok"],
        }
        for what, args in cases.items():
            with self.subTest(what):
                rc, out, err = self.send(sink, *args)
                self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.assertEqual(sink.requests, [], "expected nothing posted")

    def test_the_first_ok_result_resolves_every_problem_state(self):
        # A new worker does not know what an earlier one left firing.
        sink = self.sink()
        rc, out, err = self.send(sink, *result_args("web1", "db", "ok", "fine"),
                                 "--alert-at", "1700000900",
                                 "--alert-then", "result", "--alert-at", "1700000960")
        self.assertEqual(out.splitlines(), ["delivered"] * 2, said(rc, out, err))
        time.sleep(0.3)
        self.assertEqual(len(sink.requests), 1,
                         f"expected one request, for the first OK result only; got "
                         f"{sink.requests}")
        sent = [(a["labels"]["state"], a["labels"]["severity"], a["endsAt"])
                for a in sink.requests[0].json()]
        self.assertEqual(sent, [("warning", "warning", "2023-11-14T22:28:20Z"),
                                ("critical", "critical", "2023-11-14T22:28:20Z"),
                                ("unknown", "error", "2023-11-14T22:28:20Z")],
                         "expected the alert resolved in each problem state")

    def test_an_instance_remembers_what_it_fired(self):
        sink = self.sink()
        rc, out, err = self.send(sink, *result_args("web1", "db", "warning", "slow"),
                                 "--alert-then", "result", "--alert-hard", "no",
                                 "--alert-state", "critical", "--alert-output", "slower",
                                 "--alert-then", "result", "--alert-state", "ok",
                                 "--alert-output", "fast")
        self.assertEqual(out.splitlines(), ["delivered"] * 3, said(rc, out, err))
        posts = [r.json() for r in sink.wait(3)]
        shown = [[(a["labels"]["state"], "endsAt" in a and epoch(a["endsAt"]) <= time.time())
                  for a in p] for p in posts]
        self.assertEqual(shown, [
            [("warning", False)],                       # fires
            [("warning", True), ("critical", False)],   # soft, but it fires already
            [("critical", True)],                       # resolved
        ], f"got {posts}")

    def test_grouped_alerts_in_one_post(self):
        sink = self.sink()
        rc, out, err = self.send(sink, "--alert-service", "db", "--alert-group", "2")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        time.sleep(0.3)
        self.assertEqual(len(sink.requests), 1, f"expected one request; got {sink.requests}")
        self.assertEqual([a["labels"]["service"] for a in sink.requests[0].json()],
                         ["db", "db-1", "db-2"])

    def test_bearer_token(self):
        sink = self.sink()
        rc, out, err = self.send(sink, "--token", TOKEN)
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.assertEqual(sink.wait(1)[0].headers.get("authorization"), f"Bearer {TOKEN}")
        sink.respond(403, "forbidden")
        rc, out, err = self.send(sink, "--token", TOKEN)
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("the token was refused", out, said(rc, out, err))
        self.assertNotIn(TOKEN, out + err, "the token must never be shown")

    def test_429_with_retry_after_is_retried(self):
        sink = self.sink()
        sink.respond(429, "slow down", {"Retry-After": "42"})
        rc, out, err = self.send(sink)
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn("retry after 42 s", out, said(rc, out, err))

    def test_500_is_retried(self):
        sink = self.sink()
        sink.respond(500, '{"code":500,"message":"storage full"}')
        rc, out, err = self.send(sink)
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn("answered 500: storage full", out, said(rc, out, err))

    def test_a_hanging_alertmanager_is_retried_at_the_deadline(self):
        sink = self.sink()
        sink.respond(delay=20)
        t0 = time.monotonic()
        rc, out, err = self.send(sink, timeout="2s")
        took = time.monotonic() - t0
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn("no answer from Alertmanager", out, said(rc, out, err))
        self.assertLess(took, 8, f"expected the deadline (2 s) to end the wait; took {took:.1f}s")

    def test_connection_refused_is_retried(self):
        rc, out, err = notify("alertmanager", "--url", f"http://127.0.0.1:{free_port()}")
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn("Connection refused", out, said(rc, out, err))

    def test_400_fails_with_alertmanagers_message(self):
        sink = self.sink()
        sink.respond(400, '"start time must be before end time"')
        rc, out, err = self.send(sink)
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("answered 400: start time must be before end time", out,
                      said(rc, out, err))

    def test_404_says_to_check_the_url(self):
        sink = self.sink()
        sink.respond(404, "404 page not found")
        rc, out, err = self.send(sink)
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("no Alertmanager API v2 at", out, said(rc, out, err))


class AlertmanagerOptionsTest(unittest.TestCase):
    def test_bad_options_are_refused_at_setup(self):
        cases = [
            (["--url", "ftp://am:9093"], "must start with https:// or http://"),
            (["--url", f"http://u:{PASSWORD}@am:9093"], "must not hold credentials"),
            (["--user", "u", "--password", "p", "--token", "t"], "not both"),
            (["--password", "p"], "a password is given but no 'user'"),
            (["--alertname", ""], "option 'alertname' must not be empty"),
            (["--summary", "{oops"], "option 'summary': "),
            (["--description", "{nope}"], "unknown placeholder {nope}"),
            (["--token_file", "/nonexistent/token"], "token: "),
            (["--ca_file", "/nonexistent/ca.crt"], "option 'ca_file': cannot read"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                rc, out, err = notify("alertmanager", *args)
                self.assertEqual(rc, USAGE, said(rc, out, err))
                self.assertIn(message, err, said(rc, out, err))
                self.assertNotIn(PASSWORD, out + err)

    def test_tocsind_checks_the_section(self):
        good = ConfDir(
            'service "ok" {\n    check = "dummy"\n}\n'
            'notifier "am" {\n'
            '    plugin = "alertmanager"\n'
            '    url = "http://127.0.0.1:9093"\n'
            '    alertname = "Tocsin{service}"\n'
            '    ends_after = 30m\n'
            '}\n')
        self.addCleanup(good.cleanup)
        rc, out, err = check_config(good.path)
        self.assertEqual(rc, 0, f"expected a valid configuration; got {rc} {out!r} {err!r}")
        bad = ConfDir(
            'service "ok" {\n    check = "dummy"\n}\n'
            'notifier "am" {\n'
            '    plugin = "alertmanager"\n'
            '    user = "tocsin"\n'
            f'    password = "{PASSWORD}"\n'
            f'    token = "{TOKEN}"\n'
            '}\n')
        self.addCleanup(bad.cleanup)
        rc, out, err = check_config(bad.path)
        self.assertNotEqual(rc, 0, f"expected tocsind -t to fail; got {out!r} {err!r}")
        self.assertIn(f"{bad.path}:5: notifier 'am': give either 'user'", err, f"got {err!r}")
        self.assertNotIn(PASSWORD, out + err)
        self.assertNotIn(TOKEN, out + err)


if __name__ == "__main__":
    unittest.main()
