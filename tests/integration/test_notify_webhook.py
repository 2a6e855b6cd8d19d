"""The webhook notifier, driven by tocsin-notify, against a local HTTP
receiver: the exact JSON body and headers, grouping into one POST with
common labels, recovery, templates, every outcome (2xx, 408/429/5xx with
Retry-After, other 4xx, a redirect, a hang, a refused connection), bad
options refused at setup, tocsind -t, and that the URL, the bearer token and
header values never appear in any output."""
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
PATH = "/hooks/T0KEN1N-PATH/b7f3a9"      # the secret part of the URL
TOKEN = "bearer-s3cret-7c1d"
HEADER_SECRET = "api-key-55e2b0"
BUILT = os.path.exists(os.path.join(PLUGINS, "webhook.la"))
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


@unittest.skipUnless(BUILT, "the webhook plugin was not built (libcurl or jansson missing)")
class WebhookTest(unittest.TestCase):
    def setUp(self):
        self.sink = HttpSink(default_status=200, default_body=b"ok")
        self.addCleanup(self.sink.stop)
        self.url = self.sink.url + PATH

    def notify(self, *args, url=None, env=None, timeout=60):
        """Run tocsin-notify webhook; return (exit code, stdout, stderr as
        bytes decoded). Fails the test when a secret shows up."""
        argv = [TOCSIN_NOTIFY, "-p", PLUGIN_PATH, "webhook"]
        if url is not False:
            argv += ["--url", url or self.url]
        argv += ["--alert-host", "web1", *args]
        p = subprocess.run(argv, capture_output=True, timeout=timeout, env=env)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        for secret in (PATH, TOKEN, HEADER_SECRET, self.url):
            for name, text in (("stdout", out), ("stderr", err)):
                self.assertNotIn(secret, text, f"a secret ({secret!r}) leaked into {name}: "
                                               f"{text!r}")
        return p.returncode, out, err

    def show(self, rc, out, err):
        return f"exit {rc}, stdout {out!r}, stderr {err!r}, requests {self.sink.requests!r}"

    def posted(self, count=1):
        """The requests received, after checking each is a POST of JSON to
        the configured path."""
        reqs = self.sink.wait(count)
        for r in reqs:
            self.assertEqual(r.method, "POST", f"expected a POST; got {r!r}")
            self.assertEqual(r.path, PATH, f"expected the URL's path; got {r!r}")
        return reqs

    def tempdir(self):
        td = tempfile.TemporaryDirectory(prefix="tocsin-webhook-")
        self.addCleanup(td.cleanup)
        return td.name

    # -- the body --------------------------------------------------------

    def test_body_and_headers(self):
        since = int(time.time()) - 300
        problem_since = since - 600
        rc, out, err = self.notify(
            "--bearer_token", TOKEN, "--headers", f"X-Api-Key: {HEADER_SECRET}",
            "--alert-service", "nginx", "--alert-state", "critical",
            "--alert-previous", "warning", "--alert-output", "CRITICAL - 502",
            "--alert-long-output", "upstream down", "--alert-perfdata", "time=0.5s;3;5",
            "--alert-label", "team=web", "--alert-label", "env=prod",
            "--alert-incident", "web1/nginx/42", "--alert-group-key", "route-a/nginx",
            "--alert-link", "https://wiki.example.org/nginx", "--alert-reason", "repeat",
            "--alert-since", str(since), "--alert-problem-since", str(problem_since),
            "--alert-kind", "escalation", "--alert-severity", "error",
            "--alert-priority", "P2", "--alert-assignee", "bob")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        self.assertEqual(out.strip(), "delivered", self.show(rc, out, err))
        req = self.posted(1)[0]
        self.assertEqual(req.headers.get("content-type"), "application/json",
                         f"headers: {req.headers!r}")
        self.assertEqual(req.headers.get("authorization"), "Bearer " + TOKEN,
                         f"expected the bearer token; headers: {req.headers!r}")
        self.assertEqual(req.headers.get("x-api-key"), HEADER_SECRET,
                         f"expected the configured header; headers: {req.headers!r}")
        body = req.json()
        self.assertEqual(set(body), {"version", "group_key", "status", "kind", "severity",
                                     "priority", "priority_rank", "assignee", "count",
                                     "message",
                                     "common_labels", "alerts"},
                         f"top-level fields: {body!r}")
        self.assertEqual((body["priority"], body["priority_rank"]), ("P2", 2),
                         f"body: {body!r}")
        self.assertEqual(body["version"], "1", f"body: {body!r}")
        self.assertEqual(body["group_key"], "route-a/nginx", f"body: {body!r}")
        self.assertEqual(body["status"], "firing", f"body: {body!r}")
        self.assertEqual(body["kind"], "escalation", f"body: {body!r}")
        self.assertEqual(body["severity"], "error", f"body: {body!r}")
        self.assertEqual(body["count"], 1, f"body: {body!r}")
        self.assertEqual(body["message"], "CRITICAL nginx on web1: CRITICAL - 502",
                         f"expected the default template ({{alerts}}); body: {body!r}")
        self.assertEqual(body["common_labels"], {"team": "web", "env": "prod"}, f"body: {body!r}")
        self.assertEqual(len(body["alerts"]), 1, f"body: {body!r}")
        a = body["alerts"][0]
        expected = {
            "status": "firing", "service": "nginx", "host": "web1", "state": "CRITICAL",
            "previous": "WARNING", "severity": "error", "kind": "escalation",
            "output": "CRITICAL - 502", "long_output": "upstream down",
            "perfdata": "time=0.5s;3;5", "labels": {"team": "web", "env": "prod"},
            "startsAt": utc(problem_since), "endsAt": None,
            "incident": "web1/nginx/42", "link": "https://wiki.example.org/nginx",
            "reason": "repeat", "priority": "P2", "priority_rank": 2, "assignee": "bob",
            "attempt": 1, "max_attempts": 1, "flapping": False,
        }
        for key, value in expected.items():
            self.assertEqual(a.get(key, "<missing>"), value,
                             f"alert field {key}: expected {value!r}; alert {a!r}")
        self.assertRegex(a["at"], RFC3339, f"expected 'at' in RFC 3339; alert {a!r}")

    def test_group_key_defaults_to_the_incident(self):
        rc, out, err = self.notify("--alert-incident", "web1/x/7")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        self.assertEqual(self.posted(1)[0].json()["group_key"], "web1/x/7",
                         "expected the incident as group_key without a group key")

    def test_recovery_is_resolved_with_an_end(self):
        since = int(time.time()) - 10
        rc, out, err = self.notify("--alert-kind", "recovery", "--alert-state", "ok",
                                   "--alert-previous", "critical", "--alert-since", str(since),
                                   "--alert-problem-since", str(since - 3600))
        self.assertEqual(rc, 0, self.show(rc, out, err))
        body = self.posted(1)[0].json()
        self.assertEqual(body["status"], "resolved", f"body: {body!r}")
        a = body["alerts"][0]
        self.assertEqual((a["status"], a["kind"], a["state"], a["severity"]),
                         ("resolved", "recovery", "OK", "info"), f"alert: {a!r}")
        self.assertEqual(a["startsAt"], utc(since - 3600), f"alert: {a!r}")
        self.assertEqual(a["endsAt"], utc(since), f"expected the recovery time as endsAt: {a!r}")
        self.assertTrue(body["message"].startswith("RECOVERED "), f"body: {body!r}")

    def test_grouped_alerts_travel_in_one_post(self):
        rc, out, err = self.notify("--alert-service", "db", "--alert-group", "2",
                                   "--alert-label", "team=dba")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        time.sleep(0.2)
        reqs = self.posted(1)
        self.assertEqual(len(reqs), 1, f"expected one POST for the group; got {reqs!r}")
        body = reqs[0].json()
        self.assertEqual(body["count"], 3, f"body: {body!r}")
        self.assertEqual([a["service"] for a in body["alerts"]], ["db", "db-1", "db-2"],
                         f"body: {body!r}")
        self.assertEqual(len({a["incident"] for a in body["alerts"]}), 3,
                         f"expected an incident per alert: {body!r}")
        self.assertEqual(body["common_labels"], {"team": "dba"}, f"body: {body!r}")
        self.assertEqual(body["message"].count("\n"), 2,
                         f"expected one message line per alert: {body['message']!r}")

    def test_template_renders_the_message(self):
        rc, out, err = self.notify("--template", "{count} alert(s), {label:team}: {service}",
                                   "--alert-service", "mail", "--alert-label", "team=ops")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        self.assertEqual(self.posted(1)[0].json()["message"], "1 alert(s), ops: mail")

    def test_invalid_utf8_output_still_makes_valid_json(self):
        rc, out, err = self.notify("--alert-output", b"caf\xe9 down")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        body = self.posted(1)[0].json()     # raises if the JSON is invalid
        self.assertEqual(body["alerts"][0]["output"], "caf\ufffd down",
                         f"expected the bad byte replaced by U+FFFD: {body!r}")

    def test_result_alerts_are_ignored(self):
        rc, out, err = self.notify("--alert-kind", "result")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        time.sleep(0.2)
        self.assertEqual(self.sink.requests, [], "expected no POST for a check result")

    # -- outcomes --------------------------------------------------------

    def test_2xx_delivered(self):
        for status in (200, 201, 202, 204):
            with self.subTest(status=status):
                self.sink.respond(status, b"" if status == 204 else b"ok")
                rc, out, err = self.notify()
                self.assertEqual(rc, 0, self.show(rc, out, err))

    def test_408_429_5xx_retry(self):
        for status in (408, 429, 500, 502, 503):
            with self.subTest(status=status):
                self.sink.respond(status, b"try later")
                rc, out, err = self.notify()
                self.assertEqual(rc, 75, self.show(rc, out, err))
                self.assertIn(f"answered {status}: try later", out, self.show(rc, out, err))

    def test_retry_after_is_passed_back(self):
        self.sink.respond(429, b"slow down", headers={"Retry-After": "45"})
        rc, out, err = self.notify()
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertTrue(out.startswith("retry after 45 s: "), self.show(rc, out, err))
        self.sink.respond(503, b"", headers={"Retry-After": "7"})
        rc, out, err = self.notify()
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertTrue(out.startswith("retry after 7 s: "), self.show(rc, out, err))

    def test_other_4xx_fail(self):
        for status in (400, 401, 403, 404, 410, 422):
            with self.subTest(status=status):
                self.sink.respond(status, b"rejected")
                rc, out, err = self.notify()
                self.assertEqual(rc, 1, self.show(rc, out, err))
                self.assertIn(f"webhook at 127.0.0.1:{self.sink.port} answered {status}: "
                              f"rejected", out, self.show(rc, out, err))

    def test_a_receiver_echoing_secrets_does_not_leak_them(self):
        self.sink.respond(404, f"no hook at {PATH} for token {TOKEN} key {HEADER_SECRET}")
        rc, out, err = self.notify("--bearer_token", TOKEN,
                                   "--headers", f"X-Api-Key: {HEADER_SECRET}")
        self.assertEqual(rc, 1, self.show(rc, out, err))
        self.assertIn("no hook at [redacted] for token [redacted] key [redacted]", out,
                      self.show(rc, out, err))

    def test_redirect_fails(self):
        self.sink.respond(301, b"", headers={"Location": "http://127.0.0.1:1/elsewhere"})
        rc, out, err = self.notify()
        self.assertEqual(rc, 1, self.show(rc, out, err))
        self.assertIn("redirects are not followed", out, self.show(rc, out, err))

    def test_a_hanging_receiver_is_retried_at_the_deadline(self):
        self.sink.respond(delay=20)
        t0 = time.monotonic()
        rc, out, err = self.notify("--timeout", "1s")
        took = time.monotonic() - t0
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertIn("timed out", out.lower(), self.show(rc, out, err))
        self.assertLess(took, 5, f"expected the deadline to end the POST after ~1 s; "
                                 f"took {took:.1f}s")

    def test_connection_refused_is_retried(self):
        port = free_port()
        rc, out, err = self.notify(url=f"http://127.0.0.1:{port}{PATH}")
        self.assertEqual(rc, 75, self.show(rc, out, err))
        self.assertIn(f"cannot deliver to 127.0.0.1:{port}", out, self.show(rc, out, err))

    # -- options ---------------------------------------------------------

    def test_url_and_token_from_file_and_environment(self):
        d = self.tempdir()
        with open(os.path.join(d, "url"), "w") as f:
            f.write(self.url + "\n")
        env = dict(os.environ, WEBHOOK_TEST_TOKEN=TOKEN)
        rc, out, err = self.notify("--url_file", os.path.join(d, "url"),
                                   "--bearer_token_env", "WEBHOOK_TEST_TOKEN",
                                   url=False, env=env)
        self.assertEqual(rc, 0, self.show(rc, out, err))
        req = self.posted(1)[0]
        self.assertEqual(req.headers.get("authorization"), "Bearer " + TOKEN,
                         f"headers: {req.headers!r}")

    def test_a_content_type_header_replaces_the_default(self):
        rc, out, err = self.notify("--headers", "Content-Type: application/vnd.hook+json")
        self.assertEqual(rc, 0, self.show(rc, out, err))
        req = self.posted(1)[0]
        self.assertEqual(req.headers.get("content-type"), "application/vnd.hook+json",
                         f"headers: {req.headers!r}")

    def test_bad_options_are_refused_at_setup(self):
        cases = [
            ([], False, r"a url is required: set url, url_file or url_env"),
            ([], "ftp://127.0.0.1" + PATH, r"the url must start with https:// or http://"),
            ([], "hooks.example.org" + PATH, r"the url is not a URL such as"),
            (["--url_env", "TOCSIN_TEST_UNSET_VAR"], False, r"url: .*TOCSIN_TEST_UNSET_VAR"),
            (["--headers", f"X-Api-Key {HEADER_SECRET}"], None,
             r"option 'headers': entry 1 of 1 is not of the form \"Name: value\""),
            (["--headers", "Content-Length: 3"], None, r"Content-Length is set by the notifier"),
            (["--headers", "X-Empty:"], None, r"X-Empty\) has no value"),
            (["--bearer_token", TOKEN, "--headers", "Authorization: Basic eDp5eXl5"], None,
             r"either a bearer token or an Authorization header"),
            (["--template", "{service} {what}"], None, r"unknown placeholder \{what\}"),
            (["--ca_file", "/nonexistent/ca.pem"], None, r"option 'ca_file': cannot read"),
        ]
        for args, url, pattern in cases:
            with self.subTest(args=args, url=url):
                rc, out, err = self.notify(*args, url=url)
                self.assertEqual(rc, 2, self.show(rc, out, err))
                self.assertRegex(err, pattern, self.show(rc, out, err))
        self.assertEqual(self.sink.requests, [], "expected no POST from a refused setup")

    def test_tocsind_t_accepts_and_rejects_a_webhook_section(self):
        d = self.tempdir()
        with open(os.path.join(d, "url"), "w") as f:
            f.write(self.url + "\n")
        good = ConfDir('notifier "hook" {\n    plugin = "webhook"\n'
                       f'    url_file = "{d}/url"\n'
                       '    headers = { "X-Team: ops", "X-Env: prod" }\n}\n'
                       'service "ok" {\n    check = "dummy"\n}\n')
        self.addCleanup(good.cleanup)
        rc, out, err = check_config(good.path)
        self.assertEqual(rc, 0, f"expected the section to be accepted: {out!r} {err!r}")
        self.assertIn("1 notifiers", out + err, f"expected one notifier: {out!r} {err!r}")
        bad = ConfDir('notifier "hook" {\n    plugin = "webhook"\n'
                      f'    url = "ftp://127.0.0.1{PATH}"\n}}\n'
                      'service "ok" {\n    check = "dummy"\n}\n')
        self.addCleanup(bad.cleanup)
        rc, out, err = check_config(bad.path)
        self.assertNotEqual(rc, 0, f"expected the section to be refused: {out!r} {err!r}")
        # Reported at the section's plugin line.
        self.assertRegex(err, re.escape(bad.path) + r":2: notifier 'hook': the url must "
                         r"start with https:// or http://", f"stderr: {err!r}")
        self.assertNotIn(PATH, out + err, "expected the URL not to be shown by tocsind -t")


if __name__ == "__main__":
    unittest.main()
