"""The email notifier, driven by tocsin-notify against aiosmtpd on
loopback: the message and its headers as Python's email package reads
them, STARTTLS and smtps with a test CA, AUTH, several recipients, grouped
alerts, recovery threading, refusals (451 retry, 550 failed), a refused
connection and a server that never answers. And tocsind -t on notifier
sections using the plugin."""
import email
import email.policy
import email.utils
import os
import re
import shutil
import tempfile
import time
import unittest

from smtpsink import Certs, Silent, SmtpSink
from tocsintest import ConfDir, check_config, free_port, tocsin_notify

FROM = "Tocsin <tocsin@example.org>"
TO = ["ops@example.org", "Jane Doe <jane@example.org>"]
PASSWORD = "s3cret-Pa55word"
RETRY = 75


def show(rc, out, err):
    return "exit %d, stdout %r, stderr %r" % (rc, out, err)


class EmailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tocsin-email-")
        cls.certs = Certs(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def sink(self, **kw):
        s = SmtpSink(**kw)
        self.addCleanup(s.stop)
        return s

    def send(self, url, *extra, to=TO, frm=FROM, alert=None, env=None, timeout=None):
        """Run tocsin-notify email; no output may ever show the password."""
        args = ["email", "--url", url, "--from", frm]
        for t in to:
            args += ["--to", t]
        if alert is None:
            alert = ["--alert-service", "db", "--alert-host", "host1",
                     "--alert-state", "critical", "--alert-output", "connection refused"]
        if timeout:
            args = ["--timeout", timeout] + args
        rc, out, err = tocsin_notify(*args, *alert, *extra, env=env)
        self.assertNotIn(PASSWORD, out + err, "the password leaked: " + show(rc, out, err))
        return rc, out, err

    def parse(self, msg):
        return email.message_from_bytes(msg.content, policy=email.policy.default)

    def body(self, msg):
        """The decoded body with Python's line ends."""
        return msg.get_content().replace("\r\n", "\n")

    def assert_delivered(self, rc, out, err):
        self.assertEqual(rc, 0, "expected delivery; " + show(rc, out, err))
        self.assertEqual(out.strip(), "delivered", "expected 'delivered'; " + show(rc, out, err))

    # ------------------------------------------------------------------
    # The message
    # ------------------------------------------------------------------

    def test_plain_mail_headers_and_envelope(self):
        s = self.sink()
        rc, out, err = self.send(s.url, "--alert-label", "team=dba",
                                 "--alert-label", "component=database")
        self.assert_delivered(rc, out, err)
        (m,) = s.wait(1)
        self.assertEqual(m.mail_from, "tocsin@example.org", "envelope sender")
        self.assertEqual(sorted(m.rcpt_tos), ["jane@example.org", "ops@example.org"],
                         "envelope recipients: every address of 'to'")
        self.assertFalse(m.tls, "a loopback smtp:// URL defaults to no STARTTLS")
        msg = self.parse(m)
        self.assertEqual(str(msg["Subject"]), "[Tocsin] CRITICAL: db on host1")
        self.assertEqual(msg["From"].addresses[0].addr_spec, "tocsin@example.org")
        self.assertEqual(msg["From"].addresses[0].display_name, "Tocsin")
        self.assertEqual([a.addr_spec for a in msg["To"].addresses],
                         ["ops@example.org", "jane@example.org"], "To header")
        self.assertEqual(msg["To"].addresses[1].display_name, "Jane Doe")
        date = msg["Date"].datetime
        self.assertIsNotNone(date.tzinfo, "Date must carry a zone")
        self.assertLess(abs(date.timestamp() - time.time()), 120,
                        "Date %s is not now" % msg["Date"])
        self.assertRegex(str(msg["Message-ID"]), r"^<[^<>@\s]+@[^<>@\s]+>$")
        self.assertEqual(msg["MIME-Version"], "1.0")
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        self.assertEqual(msg["Content-Transfer-Encoding"], "7bit")
        self.assertEqual(msg["Auto-Submitted"], "auto-generated")
        self.assertEqual(msg["X-Tocsin-Severity"], "critical")
        self.assertEqual(msg["X-Tocsin-Kind"], "problem")
        self.assertEqual(msg["X-Tocsin-Service"], "db")
        self.assertEqual(msg["X-Tocsin-Labels"], "team=dba, component=database")
        body = self.body(msg)
        self.assertIn("CRITICAL: db on host1\n", body)
        self.assertIn("\nconnection refused\n", body, "the plugin output in the body")
        self.assertIn("Labels:    team=dba, component=database", body)
        self.assertIn("State:     CRITICAL (was OK), severity critical", body)
        for line in m.content.split(b"\r\n"):
            self.assertLessEqual(len(line), 998, "a line longer than SMTP allows")
        self.assertNotIn(b"\n", m.content.replace(b"\r\n", b""), "bare LF in the message")

    def test_non_ascii_subject_and_long_lines(self):
        s = self.sink()
        output = "Température élevée — 95 °C dans la salle « B »"
        long_output = "x" * 1500 + "\n" + "naïve ünïcödé " * 20
        rc, out, err = self.send(s.url, alert=[
            "--alert-service", "température", "--alert-host", "hôte-1",
            "--alert-state", "warning", "--alert-output", output,
            "--alert-long-output", long_output])
        self.assert_delivered(rc, out, err)
        (m,) = s.wait(1)
        raw_head = m.content.split(b"\r\n\r\n")[0]
        self.assertIn(b"Subject: =?UTF-8?Q?", raw_head,
                      "a non-ASCII subject goes as RFC 2047 encoded-words")
        for line in raw_head.split(b"\r\n"):
            self.assertTrue(all(b < 0x80 for b in line), "8-bit header line %r" % line)
        msg = self.parse(m)
        self.assertEqual(str(msg["Subject"]), "[Tocsin] WARNING: température on hôte-1")
        self.assertEqual(msg["Content-Transfer-Encoding"], "quoted-printable")
        for line in m.content.split(b"\r\n"):
            self.assertLessEqual(len(line), 998)
        body = self.body(msg)
        self.assertIn(output, body, "the output decodes back unchanged")
        self.assertIn("x" * 1500 + "\n", body, "a 1500-character line decodes back whole")
        self.assertIn("naïve ünïcödé " * 20, body)

    def test_dot_lines_are_stuffed(self):
        s = self.sink()
        rc, out, err = self.send(s.url, "--alert-long-output",
                                 "first\n.\n.hidden\n..two\nlast")
        self.assert_delivered(rc, out, err)
        (m,) = s.wait(1)
        body = self.body(self.parse(m))
        self.assertIn("\nfirst\n.\n.hidden\n..two\nlast\n", body,
                      "lines starting with a dot must arrive unchanged")
        self.assertIn("Incident:", body, "the message must not end at a lone '.'")

    def test_templates_and_labels(self):
        s = self.sink()
        rc, out, err = self.send(
            s.url, "--subject", "{severity}/{service}/{label:team}",
            "--template", "Out: {output}\nAll: {labels}\nWhy: {reason}",
            "--alert-label", "team=web", "--alert-reason", "escalation after 30m",
            "--alert-kind", "escalation")
        self.assert_delivered(rc, out, err)
        (m,) = s.wait(1)
        msg = self.parse(m)
        self.assertEqual(str(msg["Subject"]), "critical/db/web")
        self.assertEqual(self.body(msg),
                         "Out: connection refused\nAll: team=web\nWhy: escalation after 30m\n")

    def test_grouped_alerts_in_one_mail(self):
        s = self.sink()
        rc, out, err = self.send(s.url, "--alert-group", "2")
        self.assert_delivered(rc, out, err)
        msgs = s.wait(1)
        time.sleep(0.3)
        self.assertEqual(len(s.messages), 1, "grouped alerts must go as one mail")
        msg = self.parse(msgs[0])
        self.assertEqual(str(msg["Subject"]), "[Tocsin] CRITICAL: db on host1 (+2 more)")
        self.assertEqual(msg["X-Tocsin-Count"], "3")
        body = self.body(msg)
        self.assertTrue(body.startswith("3 alerts:\nCRITICAL db on host1: connection refused\n"
                                        "CRITICAL db-1 on host1: connection refused\n"
                                        "CRITICAL db-2 on host1: connection refused\n"),
                        "summary first; got %r" % body[:300])
        for name in ("db", "db-1", "db-2"):
            self.assertIn("CRITICAL: %s on host1\n" % name, body,
                          "details of %s in the body" % name)

    def test_recovery_threads_under_its_problem(self):
        s = self.sink()
        rc, out, err = self.send(s.url, "--alert-incident", "host1/db/1700000000")
        self.assert_delivered(rc, out, err)
        rc, out, err = self.send(s.url, "--alert-incident", "host1/db/1700000000",
                                 "--alert-kind", "repeat")
        self.assert_delivered(rc, out, err)
        rc, out, err = self.send(s.url, "--alert-incident", "host1/db/1700000000",
                                 "--alert-kind", "recovery", "--alert-state", "ok",
                                 "--alert-previous", "critical", "--alert-output", "OK - fine")
        self.assert_delivered(rc, out, err)
        rc, out, err = self.send(s.url, "--alert-incident", "host1/db/1700009999")
        self.assert_delivered(rc, out, err)
        problem, repeat, recovery, other = [self.parse(m) for m in s.wait(4)]
        root = str(problem["Message-ID"])
        self.assertIsNone(problem["In-Reply-To"], "the opening mail replies to nothing")
        self.assertEqual(str(problem["References"]), root)
        for name, follow in (("repeat", repeat), ("recovery", recovery)):
            self.assertEqual(str(follow["In-Reply-To"]), root,
                             "the %s must reply to the problem's Message-ID" % name)
            self.assertIn(root, str(follow["References"]))
            self.assertNotEqual(str(follow["Message-ID"]), root,
                                "the %s needs its own Message-ID" % name)
        self.assertNotEqual(str(repeat["Message-ID"]), str(recovery["Message-ID"]))
        self.assertEqual(str(recovery["Subject"]), "[Tocsin] RECOVERED: db on host1")
        self.assertNotEqual(str(other["Message-ID"]), root,
                            "another incident starts another thread")

    def test_result_alerts_are_ignored(self):
        s = self.sink()
        rc, out, err = self.send(s.url, "--alert-kind", "result")
        self.assert_delivered(rc, out, err)
        time.sleep(0.3)
        self.assertEqual(s.messages, [], "results are not mailed")

    # ------------------------------------------------------------------
    # TLS and AUTH
    # ------------------------------------------------------------------

    def test_starttls_with_ca_file(self):
        s = self.sink(starttls=self.certs.server_context(), require_starttls=True)
        rc, out, err = self.send(s.url, "--starttls", "required", "--ca-file", self.certs.ca)
        self.assert_delivered(rc, out, err)
        (m,) = s.wait(1)
        self.assertTrue(m.tls, "the mail must have gone after STARTTLS")

    def test_starttls_unknown_ca_fails(self):
        s = self.sink(starttls=self.certs.server_context(), require_starttls=True)
        rc, out, err = self.send(s.url, "--starttls", "required")
        self.assertEqual(rc, 1, "an untrusted certificate is a failure; " + show(rc, out, err))
        self.assertIn("TLS certificate of 127.0.0.1:%d not accepted" % s.port, out)
        rc, out, err = self.send(s.url, "--starttls", "required", "--insecure", "true")
        self.assert_delivered(rc, out, err)

    def test_starttls_required_but_not_offered(self):
        s = self.sink()
        rc, out, err = self.send(s.url, "--starttls", "required")
        self.assertEqual(rc, 1, show(rc, out, err))
        self.assertIn("does not offer STARTTLS", out)
        self.assertEqual(s.messages, [])

    def test_smtps(self):
        s = self.sink(implicit_tls=self.certs.server_context())
        rc, out, err = self.send(s.url, "--ca-file", self.certs.ca)
        self.assert_delivered(rc, out, err)
        (m,) = s.wait(1)
        self.assertEqual(self.parse(m)["X-Tocsin-Host"], "host1")

    def test_auth_over_starttls(self):
        s = self.sink(starttls=self.certs.server_context(), require_starttls=True,
                      users={"alice": PASSWORD})
        pwfile = os.path.join(self.tmp, "smtp-password")
        with open(pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        rc, out, err = self.send(s.url, "--starttls", "required", "--ca-file", self.certs.ca,
                                 "--user", "alice", "--password-file", pwfile)
        self.assert_delivered(rc, out, err)
        (m,) = s.wait(1)
        self.assertEqual(m.login, "alice", "the mail must come from the logged-in user")
        self.assertTrue(m.tls)

    def test_auth_wrong_password_fails_without_the_password(self):
        s = self.sink(starttls=self.certs.server_context(), require_starttls=True,
                      users={"alice": "the-right-one"})
        env = dict(os.environ, SMTP_PW=PASSWORD)
        rc, out, err = self.send(s.url, "--starttls", "required", "--ca-file", self.certs.ca,
                                 "--user", "alice", "--password-env", "SMTP_PW", env=env)
        self.assertEqual(rc, 1, "a refused login is a failure; " + show(rc, out, err))
        self.assertIn("refused the login of user 'alice'", out)
        self.assertIn("535", out, "the server's reply code")
        for text in (out, err):
            self.assertNotIn(PASSWORD, text, "the password leaked")
        self.assertEqual(s.logins, [("alice", False)])
        self.assertEqual(s.messages, [])

    def test_auth_needs_login(self):
        s = self.sink(users={"alice": PASSWORD}, auth_require_tls=False)
        rc, out, err = self.send(s.url)
        self.assertEqual(rc, 1, "530 authentication required is a failure; " +
                         show(rc, out, err))
        self.assertIn("530", out)

    # ------------------------------------------------------------------
    # Outcomes
    # ------------------------------------------------------------------

    def test_451_is_retried(self):
        s = self.sink(data_reply="451 4.3.0 Try again later")
        rc, out, err = self.send(s.url)
        self.assertEqual(rc, RETRY, "a 4xx reply asks for a retry; " + show(rc, out, err))
        self.assertIn("451 4.3.0 Try again later", out)

    def test_550_recipient_fails(self):
        s = self.sink(rcpt_replies={"jane@example.org": "550 5.1.1 No such user"})
        rc, out, err = self.send(s.url)
        self.assertEqual(rc, 1, "a 5xx reply is a failure; " + show(rc, out, err))
        self.assertIn("550 5.1.1 No such user", out)
        self.assertIn("RCPT TO:<jane@example.org>", out, "the refused recipient is named")
        self.assertEqual(s.messages, [], "nothing is sent unless every recipient is accepted")

    def test_mail_from_refused_temporarily(self):
        s = self.sink(mail_reply="421 4.7.0 Too busy")
        rc, out, err = self.send(s.url)
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertIn("421 4.7.0 Too busy", out)

    def test_connection_refused_is_retried(self):
        port = free_port()
        rc, out, err = self.send("smtp://127.0.0.1:%d" % port)
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertIn("cannot connect to 127.0.0.1:%d" % port, out)

    def test_silent_server_is_retried_at_the_deadline(self):
        silent = Silent()
        self.addCleanup(silent.stop)
        t0 = time.monotonic()
        rc, out, err = self.send("smtp://127.0.0.1:%d" % silent.port, timeout="2s")
        took = time.monotonic() - t0
        self.assertEqual(rc, RETRY, show(rc, out, err))
        self.assertIn("timed out", out)
        self.assertLess(took, 5, "the deadline was not honoured (%.1f s)" % took)

    # ------------------------------------------------------------------
    # Options refused at setup
    # ------------------------------------------------------------------

    def refused(self, expect, *args, env=None):
        rc, out, err = tocsin_notify("email", *args, env=env)
        self.assertEqual(rc, 2, "expected the options to be refused; " + show(rc, out, err))
        self.assertIn(expect, err)
        return out, err

    def test_bad_options_are_refused(self):
        url = "smtp://127.0.0.1:2525"
        self.refused("option 'to' is required", "--url", url, "--from", FROM)
        self.refused("option 'from' is required", "--url", url, "--to", TO[0])
        self.refused("option 'from': \"not an address\" is not an address",
                     "--url", url, "--from", "not an address", "--to", TO[0])
        self.refused("option 'to': \"ops@\" is not an address",
                     "--url", url, "--from", FROM, "--to", "ops@")
        self.refused("option 'url' must be an SMTP URL", "--url", "http://127.0.0.1",
                     "--from", FROM, "--to", TO[0])
        self.refused("option 'starttls': \"maybe\" is not one of", "--url", url,
                     "--starttls", "maybe", "--from", FROM, "--to", TO[0])
        self.refused("smtps:// always uses TLS", "--url", "smtps://127.0.0.1",
                     "--starttls", "off", "--from", FROM, "--to", TO[0])
        self.refused("option 'subject': unknown placeholder {nosuch}", "--url", url,
                     "--subject", "{nosuch}", "--from", FROM, "--to", TO[0])
        self.refused("option 'template': unclosed", "--url", url,
                     "--template", "{output", "--from", FROM, "--to", TO[0])
        self.refused("option 'user' needs a password", "--url", url, "--user", "alice",
                     "--from", FROM, "--to", TO[0])
        self.refused("option 'ca_file': cannot read /nonexistent/ca.pem", "--url", url,
                     "--ca-file", "/nonexistent/ca.pem", "--from", FROM, "--to", TO[0])

    def test_secrets_never_echoed_at_setup(self):
        out, err = self.refused("must not hold a user or password",
                                "--url", "smtp://alice:%s@mail.example.org" % PASSWORD,
                                "--from", FROM, "--to", TO[0])
        self.assertNotIn(PASSWORD, out + err)
        out, err = self.refused("the password would cross the network unencrypted",
                                "--url", "smtp://mail.example.org", "--starttls", "off",
                                "--user", "alice", "--password", PASSWORD,
                                "--from", FROM, "--to", TO[0])
        self.assertNotIn(PASSWORD, out + err)

    # ------------------------------------------------------------------
    # tocsind -t
    # ------------------------------------------------------------------

    def test_tocsind_checks_the_notifier_section(self):
        good = ('notifier "mail" {\n'
                '    plugin = "email"\n'
                '    url = "smtp://mail.example.org:587"\n'
                '    user = "tocsin"\n'
                '    password_env = "TOCSIN_TEST_SMTP_PASSWORD"\n'
                '    from = "Tocsin <tocsin@example.org>"\n'
                '    to = { "ops@example.org", "Jane <jane@example.org>" }\n'
                '}\n')
        c = ConfDir(good)
        self.addCleanup(c.cleanup)
        os.environ["TOCSIN_TEST_SMTP_PASSWORD"] = PASSWORD
        self.addCleanup(os.environ.pop, "TOCSIN_TEST_SMTP_PASSWORD", None)
        rc, out, err = check_config(c.path)
        self.assertEqual(rc, 0, "expected a valid configuration; " + show(rc, out, err))
        self.assertIn("0 services, 1 notifiers", out)

        bad = ('# mail\n'
               'notifier "mail" {\n'
               '    plugin = "email"\n'
               '    url = "smtp://mail.example.org:587"\n'
               '    from = "Tocsin <tocsin@example.org>"\n'
               '}\n')
        c = ConfDir(bad)
        self.addCleanup(c.cleanup)
        rc, out, err = check_config(c.path)
        self.assertNotEqual(rc, 0, "a section without 'to' must be refused; " +
                            show(rc, out, err))
        self.assertRegex(err, re.escape(c.path) + r":3: notifier 'mail': option 'to' is required")


if __name__ == "__main__":
    unittest.main()
