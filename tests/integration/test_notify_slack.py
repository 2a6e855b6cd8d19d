"""The slack notifier, driven by tocsin-notify against a local HTTP sink
playing Slack's incoming webhook: the JSON posted, colours, grouping,
recovery, escaping, every outcome of Slack's answers, options refused at
setup, and that the webhook URL (a secret) never shows."""
import json
import os
import shutil
import tempfile
import time
import unittest

from httpsink import HttpSink
from tocsintest import ConfDir, check_config, free_port, tocsin_notify

# The secret part of a webhook URL, as Slack issues them.
HOOK_PATH = "/services/T0TOCSIN/B0TOCSIN/sEcReTt0kEn4TocsinTests"
RETRY = 75


def show(rc, out, err):
    return "exit %d, stdout %r, stderr %r" % (rc, out, err)


class SlackTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tocsin-slack-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.sink = HttpSink()
        self.addCleanup(self.sink.stop)
        self.url_file = self.write_url(self.sink.url + HOOK_PATH)

    def write_url(self, url):
        path = os.path.join(self.tmp, "slack-webhook")
        with open(path, "w") as f:
            f.write(url + "\n")
        return path

    def send(self, *extra, alert=None, url_file=None, timeout=None):
        """Run tocsin-notify slack; no output may ever show the webhook."""
        args = ["slack", "--url-file", url_file or self.url_file]
        if timeout:
            args = ["--timeout", timeout] + args
        if alert is None:
            alert = ["--alert-service", "db", "--alert-host", "host1",
                     "--alert-state", "critical", "--alert-output", "connection refused"]
        rc, out, err = tocsin_notify(*args, *alert, *extra)
        for text in (out, err):
            self.assertNotIn("sEcReTt0kEn", text, "the webhook URL leaked: " + show(rc, out, err))
            self.assertNotIn("B0TOCSIN", text, "the webhook URL leaked: " + show(rc, out, err))
        return rc, out, err

    def posted(self, count=1):
        reqs = self.sink.wait(count)
        for r in reqs:
            self.assertEqual(r.method, "POST")
            self.assertEqual(r.path, HOOK_PATH, "the webhook's own path")
            self.assertEqual(r.headers.get("content-type"), "application/json")
        return [r.json() for r in reqs]

    def assert_delivered(self, rc, out, err):
        self.assertEqual(rc, 0, "expected delivery; " + show(rc, out, err))
        self.assertEqual(out.strip(), "delivered")

    # ------------------------------------------------------------------
    # The message
    # ------------------------------------------------------------------

    def test_message_format(self):
        rc, out, err = self.send("--channel", "#ops", "--username", "tocsin",
                                 "--icon-emoji", ":rotating_light:",
                                 "--alert-label", "team=dba", "--alert-label", "component=db",
                                 "--alert-long-output", "pool exhausted\nretrying",
                                 "--alert-link", "https://monitor.example.org/db",
                                 "--alert-problem-since", str(int(time.time()) - 3700))
        self.assert_delivered(rc, out, err)
        (body,) = self.posted()
        self.assertEqual(body["text"], "CRITICAL: db on host1")
        self.assertEqual(body["channel"], "#ops")
        self.assertEqual(body["username"], "tocsin")
        self.assertEqual(body["icon_emoji"], ":rotating_light:")
        (att,) = body["attachments"]
        self.assertEqual(att["color"], "danger", "critical is Slack's danger red")
        self.assertEqual(att["title"], "CRITICAL: db on host1")
        self.assertEqual(att["title_link"], "https://monitor.example.org/db")
        self.assertEqual(att["fallback"], "CRITICAL db on host1: connection refused")
        self.assertEqual(att["text"], "connection refused\npool exhausted\nretrying")
        self.assertEqual(att["footer"], "Tocsin")
        self.assertIsInstance(att["ts"], int)
        self.assertLess(abs(att["ts"] - time.time()), 120)
        fields = {f["title"]: f["value"] for f in att["fields"]}
        self.assertEqual(fields, {
            "Service": "db", "Host": "host1", "State": "OK \u2192 CRITICAL",
            "Severity": "critical", "Duration": "1h 1m",
            "Labels": "team=dba, component=db"}, "the attachment's fields")
        shorts = {f["title"]: f["short"] for f in att["fields"]}
        self.assertTrue(shorts["Service"] and shorts["Host"], "short fields side by side")
        self.assertFalse(shorts["Labels"], "labels get a whole line")

    def test_webhook_defaults_leave_channel_alone(self):
        rc, out, err = self.send()
        self.assert_delivered(rc, out, err)
        (body,) = self.posted()
        for key in ("channel", "username", "icon_emoji"):
            self.assertNotIn(key, body, "unset options must not be sent")
        self.assertNotIn("Labels", [f["title"] for f in body["attachments"][0]["fields"]])

    def test_colours_by_severity(self):
        cases = [("info", "ok", "good"), ("warning", "warning", "warning"),
                 ("error", "unknown", "#d00000"), ("critical", "critical", "danger")]
        for severity, state, _ in cases:
            rc, out, err = self.send("--alert-severity", severity, "--alert-state", state)
            self.assert_delivered(rc, out, err)
        bodies = self.posted(len(cases))
        for (severity, _, colour), body in zip(cases, bodies):
            self.assertEqual(body["attachments"][0]["color"], colour,
                             "colour of severity %s" % severity)

    def test_recovery_is_green(self):
        rc, out, err = self.send("--alert-kind", "recovery", "--alert-state", "ok",
                                 "--alert-previous", "critical", "--alert-output", "OK - fine",
                                 "--alert-severity", "critical")
        self.assert_delivered(rc, out, err)
        (body,) = self.posted()
        att = body["attachments"][0]
        self.assertEqual(body["text"], "RECOVERED: db on host1")
        self.assertEqual(att["color"], "good", "a recovery is green whatever its severity")
        fields = {f["title"]: f["value"] for f in att["fields"]}
        self.assertEqual(fields["State"], "CRITICAL \u2192 OK")
        self.assertIn("Lasted", fields, "a recovery says how long the problem lasted")

    def test_priority_leads_the_default_text(self):
        rc, out, err = self.send("--alert-priority", "P1")
        self.assert_delivered(rc, out, err)
        (body,) = self.posted()
        self.assertEqual(body["text"], "P1 CRITICAL: db on host1")
        att = body["attachments"][0]
        self.assertEqual(att["title"], "P1 CRITICAL: db on host1")
        fields = {f["title"]: f["value"] for f in att["fields"]}
        self.assertEqual(fields.get("Priority"), "P1", f"fields: {fields!r}")

    def test_grouped_alerts_in_one_message(self):
        rc, out, err = self.send("--alert-group", "2")
        self.assert_delivered(rc, out, err)
        (body,) = self.posted()
        time.sleep(0.2)
        self.assertEqual(len(self.sink.requests), 1, "grouped alerts go as one post")
        self.assertEqual(body["text"], "CRITICAL: db on host1 (+2 more)")
        self.assertEqual([a["title"] for a in body["attachments"]],
                         ["CRITICAL: db on host1", "CRITICAL: db-1 on host1",
                          "CRITICAL: db-2 on host1"], "one attachment per alert")

    def test_template_and_escaping(self):
        rc, out, err = self.send(
            "--template", "{severity} {service} [{label:team}] <{link}|details> {output}",
            "--alert-label", "team=a&b", "--alert-link", "https://x.example/?a=1&b=2",
            "--alert-output", "<!channel> alert & <http://evil.example|click>")
        self.assert_delivered(rc, out, err)
        (body,) = self.posted()
        self.assertEqual(body["text"],
                         "critical db [a&amp;b] <https://x.example/?a=1&amp;b=2|details> "
                         "&lt;!channel&gt; alert &amp; &lt;http://evil.example|click&gt;",
                         "text from checks is escaped, the template's own is not")
        att = body["attachments"][0]
        self.assertEqual(att["text"],
                         "&lt;!channel&gt; alert &amp; &lt;http://evil.example|click&gt;")
        self.assertEqual(att["title_link"], "https://x.example/?a=1&b=2",
                         "title_link is a URL, not text: not escaped")

    def test_invalid_utf8_is_replaced(self):
        rc, out, err = self.send(alert=["--alert-service", "db", "--alert-output",
                                        b"bad \xff\xfe bytes \xc3\xa9t\xc3\xa9"])
        self.assert_delivered(rc, out, err)
        (body,) = self.posted()
        self.assertEqual(body["attachments"][0]["text"], "bad ?? bytes \u00e9t\u00e9")

    def test_result_alerts_are_ignored(self):
        rc, out, err = self.send("--alert-kind", "result")
        self.assert_delivered(rc, out, err)
        time.sleep(0.2)
        self.assertEqual(self.sink.requests, [], "results are not posted")

    # ------------------------------------------------------------------
    # Slack's answers
    # ------------------------------------------------------------------

    def test_rate_limited_with_retry_after(self):
        self.sink.respond(429, b"rate_limited", {"Retry-After": "30"})
        rc, out, err = self.send()
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertEqual(out.strip(), "retry after 30 s: slack answered 429: rate_limited")

    def test_server_error_is_retried(self):
        self.sink.respond(500, b"internal_error")
        rc, out, err = self.send()
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertEqual(out.strip(), "retry: slack answered 500: internal_error")

    def test_slack_errors_fail_with_their_string(self):
        for status, text in ((400, "invalid_payload"), (403, "action_prohibited"),
                             (404, "no_service"), (404, "channel_not_found"),
                             (410, "channel_is_archived")):
            self.sink.respond(status, text.encode())
            rc, out, err = self.send()
            self.assertEqual(rc, 1, "%d %s is a failure; %s" % (status, text,
                                                                show(rc, out, err)))
            self.assertEqual(out.strip(), "failed: slack answered %d: %s" % (status, text))

    def test_hanging_slack_is_retried_at_the_deadline(self):
        self.sink.respond(200, delay=10)
        t0 = time.monotonic()
        rc, out, err = self.send(timeout="2s")
        took = time.monotonic() - t0
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertIn("did not answer within", out)
        self.assertLess(took, 5, "the deadline was not honoured (%.1f s)" % took)

    def test_connection_refused_is_retried(self):
        port = free_port()
        rc, out, err = self.send(url_file=self.write_url(
            "http://127.0.0.1:%d%s" % (port, HOOK_PATH)))
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertIn("cannot connect to slack (127.0.0.1:%d)" % port, out)

    # ------------------------------------------------------------------
    # Options
    # ------------------------------------------------------------------

    def refused(self, expect, *args, env=None):
        rc, out, err = tocsin_notify("slack", *args, env=env)
        self.assertEqual(rc, 2, "expected the options to be refused; " + show(rc, out, err))
        self.assertIn(expect, err)
        self.assertNotIn("sEcReTt0kEn", out + err, "the webhook URL leaked")
        return err

    def test_bad_options_are_refused(self):
        self.refused("the webhook URL is required")
        self.refused("the webhook URL must start with https:// or http://",
                     "--url", "ftp://hooks.example.org" + HOOK_PATH)
        self.refused("the webhook URL is not a URL such as https://hooks.slack.com/",
                     "--url", "hooks.slack.com" + HOOK_PATH)
        self.refused("give the secret one way only", "--url-file", self.url_file,
                     "--url", "https://hooks.slack.com" + HOOK_PATH)
        self.refused("webhook URL: cannot read secret file /nonexistent/hook",
                     "--url-file", "/nonexistent/hook")
        self.refused("option 'template': unknown placeholder {sevrity}",
                     "--url-file", self.url_file, "--template", "{sevrity}")
        self.refused("option 'icon_emoji': \"siren\" is not an emoji name",
                     "--url-file", self.url_file, "--icon-emoji", "siren")

    def test_url_from_the_environment(self):
        env = dict(os.environ, SLACK_HOOK=self.sink.url + HOOK_PATH)
        rc, out, err = tocsin_notify("slack", "--url-env", "SLACK_HOOK", env=env)
        self.assertEqual(rc, 0, show(rc, out, err))
        self.assertNotIn("sEcReTt0kEn", out + err)
        self.posted()

    def test_tocsind_checks_the_notifier_section(self):
        good = ('notifier "slack" {\n'
                '    plugin = "slack"\n'
                '    url_file = "%s"\n'
                '    channel = "#ops"\n'
                '}\n' % self.url_file)
        c = ConfDir(good)
        self.addCleanup(c.cleanup)
        rc, out, err = check_config(c.path)
        self.assertEqual(rc, 0, "expected a valid configuration; " + show(rc, out, err))
        self.assertIn("1 notifiers", out)
        self.assertNotIn("sEcReTt0kEn", out + err)

        bad = ('notifier "slack" {\n'
               '    plugin = "slack"\n'
               '    channel = "#ops"\n'
               '    template = "{status} {nope}"\n'
               '}\n')
        c = ConfDir(bad)
        self.addCleanup(c.cleanup)
        rc, out, err = check_config(c.path)
        self.assertNotEqual(rc, 0, show(rc, out, err))
        self.assertIn("%s:2: notifier 'slack': the webhook URL is required" % c.path, err)


if __name__ == "__main__":
    unittest.main()
