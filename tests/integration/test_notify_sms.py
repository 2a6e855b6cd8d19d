"""The sms notifier, driven by tocsin-notify against a local HTTP sink
playing Twilio's Messages API: the request (path, basic auth, form
fields), one request per number, the cut to max_length at a character
boundary, grouping, recovery, the gateway's answers, partial deliveries and
their retries, options refused at setup, and that the auth token never
shows."""
import base64
import json
import os
import shutil
import tempfile
import time
import unittest
import urllib.parse

from httpsink import HttpSink
from tocsintest import ConfDir, check_config, free_port, tocsin_notify

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "t0k3n-0f-the-Tocsin-tests-d0-not-leak"
FROM = "+15017122661"
TO = ["+15558675310", "+15558675311"]
PATH = "/2010-04-01/Accounts/%s/Messages.json" % SID
RETRY = 75


def show(rc, out, err):
    return "exit %d, stdout %r, stderr %r" % (rc, out, err)


def created(to, body="x"):
    """Twilio's answer to a message it accepted."""
    return json.dumps({"sid": "SM0123", "to": to, "from": FROM, "body": body,
                       "status": "queued"}).encode()


def twilio_error(code, message, status):
    return json.dumps({"code": code, "message": message, "status": status,
                       "more_info": "https://www.twilio.com/docs/errors/%d" % code}).encode()


class SmsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tocsin-sms-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.sink = HttpSink(default_status=201, default_body=created(TO[0]),
                             default_headers={"Content-Type": "application/json"})
        self.addCleanup(self.sink.stop)
        self.token_file = os.path.join(self.tmp, "twilio-token")
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")

    def send(self, *extra, to=TO, alert=None, base_url=None, pre=()):
        """Run tocsin-notify sms; no output may ever show the token."""
        args = [*pre, "sms", "--base-url", base_url or self.sink.url, "--account-sid", SID,
                "--auth-token-file", self.token_file, "--from", FROM]
        for t in to:
            args += ["--to", t]
        if alert is None:
            alert = ["--alert-service", "db", "--alert-host", "host1",
                     "--alert-state", "critical", "--alert-output", "connection refused"]
        rc, out, err = tocsin_notify(*args, *alert, *extra)
        self.assertNotIn(TOKEN, out + err, "the auth token leaked: " + show(rc, out, err))
        return rc, out, err

    def forms(self, count):
        """The requests' forms, each field's single value, checked for the
        request line, headers and strict UTF-8."""
        out = []
        for r in self.sink.wait(count):
            self.assertEqual(r.method, "POST")
            self.assertEqual(r.path, PATH, "Twilio's Messages.json path")
            self.assertEqual(r.headers.get("content-type"),
                             "application/x-www-form-urlencoded")
            self.assertEqual(r.headers.get("authorization"),
                             "Basic " + base64.b64encode(("%s:%s" % (SID, TOKEN)).encode())
                             .decode(), "HTTP basic auth with account SID and token")
            form = urllib.parse.parse_qs(r.body.decode("ascii"), keep_blank_values=True,
                                         strict_parsing=True, encoding="utf-8",
                                         errors="strict")
            self.assertEqual(sorted(form), ["Body", "From", "To"], "the form's fields")
            for k, v in form.items():
                self.assertEqual(len(v), 1, "field %s given %d times" % (k, len(v)))
            out.append({k: v[0] for k, v in form.items()})
        return out

    def assert_delivered(self, rc, out, err):
        self.assertEqual(rc, 0, "expected delivery; " + show(rc, out, err))
        self.assertEqual(out.strip(), "delivered")

    # ------------------------------------------------------------------
    # The requests
    # ------------------------------------------------------------------

    def test_one_request_per_number(self):
        rc, out, err = self.send()
        self.assert_delivered(rc, out, err)
        forms = self.forms(2)
        self.assertEqual([f["To"] for f in forms], TO, "one message per number, in order")
        for f in forms:
            self.assertEqual(f["From"], FROM)
            self.assertEqual(f["Body"], "CRITICAL db@host1: connection refused")

    def test_recovery_text(self):
        rc, out, err = self.send("--alert-kind", "recovery", "--alert-state", "ok",
                                 "--alert-previous", "critical", "--alert-output", "OK - fine",
                                 to=TO[:1])
        self.assert_delivered(rc, out, err)
        (f,) = self.forms(1)
        self.assertEqual(f["Body"], "RECOVERED db@host1: OK - fine")

    def test_template(self):
        rc, out, err = self.send("--template", "{severity}: {service} [{label:team}] {count}",
                                 "--alert-label", "team=dba", to=TO[:1])
        self.assert_delivered(rc, out, err)
        (f,) = self.forms(1)
        self.assertEqual(f["Body"], "critical: db [dba] 1")

    def test_grouped_alerts_in_one_text_with_a_count(self):
        rc, out, err = self.send("--alert-group", "2", "--max-length", "1600", to=TO[:1])
        self.assert_delivered(rc, out, err)
        (f,) = self.forms(1)
        time.sleep(0.2)
        self.assertEqual(len(self.sink.requests), 1, "one text for the whole group")
        self.assertEqual(f["Body"], "3 alerts: CRITICAL db@host1: connection refused; "
                         "CRITICAL db-1@host1: connection refused; "
                         "CRITICAL db-2@host1: connection refused")

    def test_cut_at_max_length_between_characters(self):
        output = "Température élevée 🔥 " * 20
        for max_length in (40, 41, 42, 43, 160):
            self.sink.requests.clear()
            rc, out, err = self.send("--max-length", str(max_length), to=TO[:1], alert=[
                "--alert-service", "db", "--alert-host", "host1", "--alert-output", output])
            self.assert_delivered(rc, out, err)
            (f,) = self.forms(1)
            full = "CRITICAL db@host1: " + output.rstrip()
            body = f["Body"]
            self.assertLessEqual(len(body), max_length,
                                 "max_length %d: %d characters" % (max_length, len(body)))
            self.assertTrue(body.endswith("..."), "a cut text ends in '...': %r" % body)
            self.assertTrue(full.startswith(body[:-3]),
                            "max_length %d: %r is not the start of the text" % (max_length,
                                                                             body))
            self.assertGreaterEqual(len(body), max_length - 2,
                                    "cut too short: only a space may go before '...'")

    def test_short_text_is_not_cut(self):
        rc, out, err = self.send("--max-length", "37", to=TO[:1])
        self.assert_delivered(rc, out, err)
        (f,) = self.forms(1)
        self.assertEqual(f["Body"], "CRITICAL db@host1: connection refused",
                         "37 characters fit in max_length 37")

    def test_result_alerts_are_ignored(self):
        rc, out, err = self.send("--alert-kind", "result")
        self.assert_delivered(rc, out, err)
        time.sleep(0.2)
        self.assertEqual(self.sink.requests, [])

    # ------------------------------------------------------------------
    # The gateway's answers
    # ------------------------------------------------------------------

    def test_rate_limited_with_retry_after(self):
        self.sink.respond(429, twilio_error(20429, "Too Many Requests", 429),
                          {"Retry-After": "20"}, times=2)
        rc, out, err = self.send()
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertEqual(out.strip(), "retry after 20 s: the gateway answered 429 for "
                         "+15558675311: Too Many Requests (code 20429)")

    def test_server_error_is_retried(self):
        self.sink.respond(503, b"Service Unavailable", times=2)
        rc, out, err = self.send()
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertIn("the gateway answered 503", out)

    def test_invalid_number_fails_with_twilio_message(self):
        msg = "The 'To' number +15558675310 is not a valid phone number."
        self.sink.respond(400, twilio_error(21211, msg, 400))
        rc, out, err = self.send(to=TO[:1])
        self.assertEqual(rc, 1, show(rc, out, err))
        self.assertEqual(out.strip(), "failed: the gateway answered 400 for +15558675310: "
                         "%s (code 21211)" % msg)

    def test_wrong_credentials_fail_without_the_token(self):
        self.sink.respond(401, twilio_error(20003, "Authenticate", 401))
        rc, out, err = self.send(to=TO[:1])
        self.assertEqual(rc, 1, show(rc, out, err))
        self.assertIn("refused the credentials of account %s" % SID, out)
        self.assertIn("Authenticate (code 20003)", out)

    def test_partial_delivery_is_retried_for_the_rest_only(self):
        self.sink.respond(201, created(TO[0]))
        self.sink.respond(500, b"oops")
        rc, out, err = self.send(pre=["--attempts", "3"])
        self.assertEqual(rc, 0, "the second attempt reaches the second number; " +
                         show(rc, out, err))
        self.assertEqual(out.splitlines(), [
            "attempt 1: retry: 1 of 2 numbers got it; the gateway answered 500 for "
            "+15558675311: oops", "delivered"])
        forms = self.forms(3)
        self.assertEqual([f["To"] for f in forms], [TO[0], TO[1], TO[1]],
                         "the retry must not text the number that already got it")

    def test_partial_refusal_fails_after_the_others_got_it(self):
        self.sink.respond(400, twilio_error(21610, "Attempt to send to unsubscribed "
                                            "recipient", 400))
        rc, out, err = self.send(pre=["--attempts", "3"])
        self.assertEqual(rc, 1, show(rc, out, err))
        self.assertEqual(out.strip(), "failed: 1 of 2 numbers got it; the gateway answered "
                         "400 for +15558675310: Attempt to send to unsubscribed recipient "
                         "(code 21610)")
        self.assertEqual([f["To"] for f in self.forms(2)], TO, "each number tried once")

    def test_hanging_gateway_is_retried_at_the_deadline(self):
        self.sink.respond(201, delay=10)
        t0 = time.monotonic()
        rc, out, err = self.send(to=TO[:1], pre=["--timeout", "2s"])
        took = time.monotonic() - t0
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertIn("did not answer within", out)
        self.assertLess(took, 5, "the deadline was not honoured (%.1f s)" % took)

    def test_connection_refused_is_retried(self):
        port = free_port()
        rc, out, err = self.send(base_url="http://127.0.0.1:%d" % port)
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertIn("cannot connect to the gateway 127.0.0.1:%d" % port, out)

    # ------------------------------------------------------------------
    # Options
    # ------------------------------------------------------------------

    def refused(self, expect, *args):
        rc, out, err = tocsin_notify("sms", *args)
        self.assertEqual(rc, 2, "expected the options to be refused; " + show(rc, out, err))
        self.assertIn(expect, err)
        self.assertNotIn(TOKEN, out + err, "the auth token leaked")

    def test_bad_options_are_refused(self):
        ok = ["--account-sid", SID, "--auth-token", TOKEN, "--from", FROM]
        self.refused("option 'account_sid' is required", "--auth-token", TOKEN,
                     "--from", FROM, "--to", TO[0])
        self.refused("the auth token is required", "--account-sid", SID, "--from", FROM,
                     "--to", TO[0])
        self.refused("option 'to' is required", *ok)
        self.refused("option 'to': \"5558675310\" is not a number in E.164", *ok,
                     "--to", "5558675310")
        self.refused("option 'from' is required", "--account-sid", SID,
                     "--auth-token", TOKEN, "--to", TO[0])
        self.refused("option 'from': \"not a sender!\" is neither", "--account-sid", SID,
                     "--auth-token", TOKEN, "--from", "not a sender!", "--to", TO[0])
        self.refused("option 'max_length': 5 is not between 20 and 1600", *ok,
                     "--to", TO[0], "--max-length", "5")
        self.refused("option 'template': unknown placeholder {nope}", *ok, "--to", TO[0],
                     "--template", "{nope}")
        self.refused("option 'base_url' must start with https:// or http://", *ok,
                     "--to", TO[0], "--base-url", "ftp://gw.example")
        self.refused("option 'account_sid': \"AC/../x\" is not an account ID",
                     "--account-sid", "AC/../x", "--auth-token", TOKEN, "--from", FROM,
                     "--to", TO[0])

    def test_alphanumeric_sender(self):
        rc, out, err = tocsin_notify("sms", "--base-url", self.sink.url, "--account-sid", SID,
                                     "--auth-token-file", self.token_file, "--from", "Tocsin",
                                     "--to", TO[0])
        self.assert_delivered(rc, out, err)
        self.assertEqual(self.forms(1)[0]["From"], "Tocsin")

    def test_tocsind_checks_the_notifier_section(self):
        good = ('notifier "sms" {\n'
                '    plugin = "sms"\n'
                '    account_sid = "%s"\n'
                '    auth_token_file = "%s"\n'
                '    from = "%s"\n'
                '    to = { "%s", "%s" }\n'
                '    max_length = 320\n'
                '}\n' % (SID, self.token_file, FROM, TO[0], TO[1]))
        c = ConfDir(good)
        self.addCleanup(c.cleanup)
        rc, out, err = check_config(c.path)
        self.assertEqual(rc, 0, "expected a valid configuration; " + show(rc, out, err))
        self.assertIn("1 notifiers", out)

        bad = ('\n\nnotifier "sms" {\n'
               '    plugin = "sms"\n'
               '    account_sid = "%s"\n'
               '    auth_token = "%s"\n'
               '    from = "%s"\n'
               '    to = { "0800 123" }\n'
               '}\n' % (SID, TOKEN, FROM))
        c = ConfDir(bad)
        self.addCleanup(c.cleanup)
        rc, out, err = check_config(c.path)
        self.assertNotEqual(rc, 0, show(rc, out, err))
        self.assertIn("%s:4: notifier 'sms': option 'to': \"0800 123\" is not a number"
                      % c.path, err)
        self.assertNotIn(TOKEN, out + err)


if __name__ == "__main__":
    unittest.main()
