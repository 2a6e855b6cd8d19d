"""Results from outside: POST /api/v1/results (JSON and Nagios
PROCESS_SERVICE_CHECK_RESULT lines) with the bearer token and per-service
api_tokens, tocsinctl submit, a passive service's expect_every turning it
CRITICAL with a notification that reaches an HTTP receiver, every refusal
with its 4xx and no change, configuration errors, and a real Alertmanager
sending its webhook to /api/v1/alertmanager."""
import json
import os
import subprocess
import time
import unittest
import urllib.request

import srv_alertmanager
from httpsink import HttpSink
from test_http_endpoint import fetch
from tocsintest import (BUILDDIR, PLUGIN_PATH, PLUGINS, ConfDir, Daemon, check_config,
                        free_port)

TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")
ADMIN = "admin-Kq2-never-logged"
CRON = "cron-Wx7-never-logged"
AM_TOKEN = "am-Pz4-never-logged"
WEBHOOK = os.path.exists(os.path.join(PLUGINS, "webhook.la"))


def wait_until(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"after {timeout} s still waiting for "
                                 f"{what() if callable(what) else what}")
        time.sleep(0.05)


class InboundDaemon:
    """One tocsind for a test class: passive services, tokens, the HTTP
    endpoint on a free port, alerts to a webhook receiver."""

    def __init__(self, services, extra_http="", sink=None):
        self.port = free_port()
        notify = ""
        if sink is not None:
            notify = (f'notifier "hook" {{\n    plugin = "webhook"\n    url = "{sink.url}/hook"\n'
                      '    timeout = 5s\n    retry_min = 1s\n    retry_max = 2s\n}\n'
                      'route "all" {\n    notifiers = { "hook" }\n}\n')
        main = ('max_check_spread = 1s\nhost = "testhost"\n'
                f'http {{\n    listen = "127.0.0.1:{self.port}"\n'
                f'    bearer_token = "{ADMIN}"\n'
                f'    api_token "cron" {{\n        token = "{CRON}"\n'
                '        services = { "backup*" }\n    }\n'
                f'{extra_http}}}\n' + services + notify)
        self.conf = ConfDir(main)
        self.daemon = Daemon(self.conf.path, workers=1)
        self.daemon.wait_for(r"tocsind \S+ started: ", timeout=10)

    def stop(self):
        self.daemon.stop()
        self.conf.cleanup()

    def post(self, body, token=None, path="/api/v1/results", ctype="application/json"):
        """(status, headers, parsed JSON answer)."""
        headers = {"Content-Type": ctype}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body,
                                     headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read())

    def service(self, name):
        status, _, body = fetch(self.port, f"/api/v1/services/{name}",
                                headers={"Authorization": "Bearer " + ADMIN})
        if status != 200:
            raise AssertionError(f"GET /api/v1/services/{name}: {status} {body!r}")
        return json.loads(body)

    def wait_state(self, name, state, output=None, timeout=10):
        def ok():
            s = self.service(name)
            return (s["state"] == state and (output is None or s["output"] == output)) and s
        return wait_until(ok, timeout, lambda: f"{name} to be {state} ({output!r}); it is "
                          f"{self.service(name)!r}\nlog:\n" + self.daemon.log()[-3000:])

    def ctl(self, *args):
        return subprocess.run([TOCSINCTL, "-c", self.conf.path, "-p", PLUGIN_PATH, *args],
                              capture_output=True, text=True, timeout=30)


SERVICES = """\
service "backup" {
    passive = true
}
service "backup-db" {
    passive = true
}
service "other" {
    passive = true
}
service "web" {
    check = "dummy"
    interval = 1h
    output = "checked"
}
service "mixed" {
    check = "dummy"
    interval = 1h
    state = "ok"
    output = "checked"
    accept_passive = true
    max_attempts = 1
}
service "heartbeat" {
    passive = true
    expect_every = 2s
    retry_interval = 1h
}
"""


@unittest.skipUnless(WEBHOOK, "the webhook plugin was not built (libcurl or jansson missing)")
class Inbound(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = HttpSink()
        cls.d = InboundDaemon(SERVICES, sink=cls.sink)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        log = cls.d.daemon.log()
        cls.sink.stop()
        for secret in (ADMIN, CRON):
            assert secret not in log, f"a token reached the log:\n{log}"

    def assert_refused(self, code, reason, body, token=ADMIN, path="/api/v1/results"):
        status, headers, answer = self.d.post(body, token, path)
        self.assertEqual((status, answer), (code, {"error": reason}),
                         f"POST {path} {body!r}")
        return headers

    def test_results_with_the_right_token_change_the_service(self):
        status, _, answer = self.d.post({"service": "backup", "state": "ok",
                                         "output": "backup done in 42 s",
                                         "perfdata": "time=42s;3600;7200"}, CRON)
        self.assertEqual((status, answer), (202, {"accepted": 1, "services": ["backup"]}))
        s = self.d.wait_state("backup", "ok", "backup done in 42 s")
        self.assertEqual(s["check"], "passive")
        self.assertEqual(s["perfdata"][0]["label"], "time")
        self.assertEqual(s["perfdata"][0]["value"], 42)
        # A list: results are applied in order, so the last one stands.
        status, _, answer = self.d.post([{"service": "backup-db", "state": 2, "output": "x"},
                                         {"service": "backup-db", "state": "warning",
                                          "output": "disk slow"}], CRON)
        self.assertEqual(status, 202, answer)
        s = self.d.wait_state("backup-db", "warning", "disk slow")
        self.assertTrue(s["is_hard"], "a passive service is hard at once by default")

    def test_wrong_missing_and_narrow_tokens_are_refused(self):
        before = self.d.service("other")
        body = {"service": "other", "state": "critical", "output": "should not apply"}
        h = self.assert_refused(401, "a bearer token is required (Authorization: Bearer TOKEN)",
                                body, token=None)
        self.assertEqual(h.get("WWW-Authenticate"), 'Bearer realm="tocsind"')
        h = self.assert_refused(401, "the bearer token is not right", body, token="nope")
        self.assertIn('error="invalid_token"', h.get("WWW-Authenticate"))
        self.assert_refused(403, "api_token 'cron' may not submit results for service 'other'",
                            body, token=CRON)
        # One result outside the token's services refuses the whole list.
        self.assert_refused(403, "api_token 'cron' may not submit results for service 'other'",
                            [{"service": "backup-db", "state": "critical", "output": "no"},
                             body], token=CRON)
        # An api_token submits results and does nothing else.
        status, _, _ = fetch(self.d.port, "/api/v1/services",
                             headers={"Authorization": "Bearer " + CRON})
        self.assertEqual(status, 401)
        time.sleep(0.2)
        self.assertEqual(self.d.service("other"), before)
        self.assertNotEqual(self.d.service("backup-db")["output"], "no")

    def test_bad_input_gets_its_4xx_and_changes_nothing(self):
        self.d.post({"service": "other", "state": "ok", "output": "baseline"}, ADMIN)
        before = self.d.wait_state("other", "ok", "baseline")
        self.assert_refused(404, "no service named 'nosuch'", {"service": "nosuch", "state": 0})
        self.assert_refused(400, "the result: \"state\" is not ok, warning, critical, unknown "
                            "or 0-3", {"service": "other", "state": "bad"})
        self.assert_refused(400, "not valid JSON: string or '}' expected near end of file "
                            "(line 1, column 1)", "{")
        self.assert_refused(409, "service 'web' takes no submitted results (set passive = "
                            "true, or accept_passive = true beside its check)",
                            {"service": "web", "state": "critical"})
        self.assert_refused(413, "the body is larger than 65536 bytes",
                            json.dumps({"service": "other", "state": 2,
                                        "output": "x" * 70000}))
        self.assert_refused(400, "line 1: the return code must be 0, 1, 2 or 3",
                            "PROCESS_SERVICE_CHECK_RESULT;testhost;other;7;x")
        self.assert_refused(404, "no service 'other' on host 'elsewhere' (its host is "
                            "'testhost')", "PROCESS_SERVICE_CHECK_RESULT;elsewhere;other;2;x")
        self.assert_refused(400, "not an Alertmanager webhook payload: no \"alerts\" list",
                            {"service": "other", "state": 2}, path="/api/v1/alertmanager")
        status, headers, _ = fetch(self.d.port, "/api/v1/results",
                                   headers={"Authorization": "Bearer " + ADMIN})
        self.assertEqual((status, headers.get("allow")), (405, "POST"))
        time.sleep(0.2)
        after = self.d.service("other")
        self.assertEqual(after, before)

    def test_nagios_lines(self):
        now = int(time.time())
        body = (f"[{now}] PROCESS_SERVICE_CHECK_RESULT;testhost;backup;1;WARNING: slow; "
                "really\\nsecond line|t=9s\n"
                "PROCESS_SERVICE_CHECK_RESULT;;backup-db;0;OK: fine\n")
        status, _, answer = self.d.post(body, CRON, ctype="text/plain")
        self.assertEqual((status, answer), (202, {"accepted": 2,
                                                  "services": ["backup", "backup-db"]}))
        s = self.d.wait_state("backup", "warning", "WARNING: slow; really")
        self.assertEqual(s["long_output"], "second line")
        self.assertEqual(s["perfdata"][0]["label"], "t")
        self.d.wait_state("backup-db", "ok", "OK: fine")

    def test_tocsinctl_submit(self):
        p = self.d.ctl("submit", "other", "--state", "warning", "-m", "from cron",
                       "--perfdata", "files=12")
        self.assertEqual((p.returncode, p.stdout), (0, "other: WARNING submitted\n"), p.stderr)
        s = self.d.wait_state("other", "warning", "from cron")
        self.assertEqual(s["perfdata"][0]["value"], 12)
        p = self.d.ctl("submit", "web", "--state", "ok")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "tocsinctl: service 'web' takes no submitted results (set "
                         "passive = true, or accept_passive = true beside its check)\n")
        p = self.d.ctl("submit", "other", "--state", "fine")
        self.assertEqual(p.returncode, 2, p.stderr)
        # Bytes that are not UTF-8, as a script may hand over, arrive as U+FFFD.
        p = self.d.ctl("submit", "other", "--state", "critical", "-m",
                       os.fsdecode(b"backup \xff\xfe failed"))
        self.assertEqual((p.returncode, p.stdout), (0, "other: CRITICAL submitted\n"), p.stderr)
        self.d.wait_state("other", "critical", "backup \ufffd\ufffd failed")
        p = self.d.ctl("check", "other")
        self.assertEqual(p.returncode, 1)
        self.assertIn("passive", p.stderr)

    def test_accept_passive_beside_a_check(self):
        self.d.wait_state("mixed", "ok", "checked")
        status, _, answer = self.d.post({"service": "mixed", "state": "critical",
                                         "output": "from outside"}, ADMIN)
        self.assertEqual(status, 202, answer)
        self.d.wait_state("mixed", "critical", "from outside")

    def test_missed_heartbeat_goes_critical_and_is_notified(self):
        status, _, answer = self.d.post({"service": "heartbeat", "state": "ok",
                                         "output": "alive"}, ADMIN)
        self.assertEqual(status, 202, answer)
        sent = time.time()
        self.d.wait_state("heartbeat", "ok", "alive")
        s = self.d.wait_state("heartbeat", "critical", "no heartbeat for 2 s", timeout=6)
        self.assertGreaterEqual(time.time() - sent, 1.9)

        def problem():
            for r in list(self.sink.requests):
                for a in r.json().get("alerts", []):
                    if (a.get("service") == "heartbeat" and a.get("state") == "CRITICAL"
                            and r.at >= sent):
                        return a
            return None
        alert = wait_until(problem, 15, lambda: "a webhook alert of heartbeat CRITICAL; "
                           f"got {self.sink.requests!r}")
        self.assertIn("no heartbeat for 2 s", json.dumps(alert))
        self.assertTrue(s["is_hard"])


class HeartbeatAcrossRestart(unittest.TestCase):
    """The silence of a service with expect_every counts from its last
    result, which the saved state keeps across a restart."""

    def test_restart_keeps_the_count(self):
        d = InboundDaemon('service "nightly" {\n    passive = true\n    expect_every = 4s\n'
                          '    retry_interval = 1h\n}\n')
        self.addCleanup(d.conf.cleanup)
        # Two results: the second changes nothing, yet its time is what counts.
        for output in ("first", "second"):
            status, _, answer = d.post({"service": "nightly", "state": "ok",
                                        "output": output}, ADMIN)
            self.assertEqual(status, 202, answer)
            d.wait_state("nightly", "ok", output)
        sent = time.time()
        status, _, metrics = fetch(d.port, "/metrics",
                                   headers={"Authorization": "Bearer " + ADMIN})
        self.assertIn(b"\ntocsin_results_submitted_total 2\n", metrics)
        d.daemon.stop()
        time.sleep(max(0, sent + 2 - time.time()))
        d.daemon = Daemon(d.conf.path, workers=1)
        self.addCleanup(d.daemon.stop)
        d.daemon.wait_for(r"tocsind \S+ started: ", timeout=10)
        self.assertEqual(d.service("nightly")["output"], "second")
        d.wait_state("nightly", "critical", "no heartbeat for 4 s", timeout=8)
        # Counted from the start instead, it would come 4 s after it (6 s
        # after the result); a saved time to the second may bring it 1 s early.
        took = time.time() - sent
        self.assertTrue(2.9 <= took < 5.5, f"CRITICAL {took:.1f} s after the last result")


class InboundConfig(unittest.TestCase):
    def check(self, text):
        conf = ConfDir(text)
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        return rc, err.replace(conf.path, "tocsin.conf")

    def test_errors_at_their_lines(self):
        cases = [
            ('service "a" {\n    check = "dummy"\n    expect_every = 1h\n}\n',
             "tocsin.conf:3: service 'a': expect_every needs passive = true"),
            ('service "a" {\n    passive = true\n    check = "dummy"\n}\n',
             "tocsin.conf:3: service 'a': passive = true takes no check"),
            ('service "a" {\n    passive = true\n    command = "/bin/true"\n}\n',
             "tocsin.conf:3: service 'a': option 'command' is not an option of a passive "
             "service"),
            ('service "a" {\n    passive = true\n    expect_every = 1h\n'
             '    at = { "09:00" }\n}\n',
             "tocsin.conf:4: service 'a': at does not apply to a passive service"),
            ('timeperiod "office" {\n    weekdays = { "mon-fri" }\n}\n'
             'service "a" {\n    passive = true\n    check_period = "office"\n}\n',
             "tocsin.conf:6: service 'a': check_period does not apply to a passive service"),
            ('http {\n    api_token "x" {\n        services = { "a*" }\n    }\n}\n',
             "http: api_token 'x': no token given (token, token_file or token_env)"),
            ('http {\n    bearer_token = "same-token"\n    api_token "x" {\n'
             '        token = "same-token"\n    }\n}\n',
             "http: api_token 'x': the same token as the bearer token"),
        ]
        for text, want in cases:
            with self.subTest(want=want):
                rc, err = self.check(text)
                self.assertNotEqual(rc, 0, err)
                self.assertIn(want, err)
                self.assertNotIn("same-token", err)
        rc, err = self.check('service "b" {\n    passive = true\n    expect_every = 90m\n'
                             '    labels {\n        team = "ops"\n    }\n}\n')
        self.assertEqual(rc, 0, err)


@unittest.skipUnless(srv_alertmanager.available(), "prometheus-alertmanager is not installed")
class FromAlertmanager(unittest.TestCase):
    """A real Alertmanager sends its webhook to tocsind."""

    def setUp(self):
        self.d = InboundDaemon('service "DiskFull" {\n    passive = true\n}\n'
                               'service "api" {\n    passive = true\n}\n',
                               extra_http=f'    api_token "am" {{\n        token = "{AM_TOKEN}"\n'
                               '        services = { "DiskFull", "api" }\n    }\n')
        self.addCleanup(self.d.stop)
        config = f"""\
route:
  receiver: tocsin
  group_by: [alertname, service]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: tocsin
    webhook_configs:
      - url: http://127.0.0.1:{self.d.port}/api/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {AM_TOKEN}
"""
        self.am = srv_alertmanager.Alertmanager(config=config).start()
        self.addCleanup(self.am.cleanup)

    def test_firing_then_resolved(self):
        self.am.post_alerts([{"labels": {"alertname": "DiskFull", "severity": "warning"},
                              "annotations": {"summary": "disk 91% full"}},
                             {"labels": {"alertname": "HighLatency", "service": "api",
                                         "severity": "critical"},
                              "annotations": {"description": "p99 above 2 s"}}])
        self.d.wait_state("DiskFull", "warning", "disk 91% full", timeout=15)
        self.d.wait_state("api", "critical", "p99 above 2 s", timeout=15)
        ended = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
        self.am.post_alerts([{"labels": {"alertname": "DiskFull", "severity": "warning"},
                              "annotations": {"summary": "disk 91% full"}, "endsAt": ended}])
        self.d.wait_state("DiskFull", "ok", "resolved: disk 91% full", timeout=15)
        self.assertNotIn(AM_TOKEN, self.d.daemon.log())


if __name__ == "__main__":
    unittest.main()
