"""The icinga2 notifier against a real Icinga 2 started for the tests
(results of every state with performance data and long output, problem
and recovery alerts, grouped alerts, name templates, an unknown service,
a wrong password, a user without permission, an untrusted certificate,
an Icinga that stopped), and against a local HTTPS receiver for the exact
request and for what a real Icinga does not easily answer (503 with
Retry-After, 500, a hang, 400). tocsind -t checks its configuration."""
import base64
import json
import os
import shutil
import ssl
import tempfile
import time
import unittest

import srv_icinga2
from forwardtest import DELIVERED, FAILED, RETRY, USAGE, notify, result_args, said
from httpsink import HttpSink
from srv_icinga2 import Icinga2, make_certs
from tocsintest import ConfDir, check_config, free_port

PASSWORD = "Tocsin-icinga-pw-4c1e"
USERS = {
    "tocsin": (PASSWORD, ["actions/process-check-result", "objects/query/*"]),
    "reader": (PASSWORD, ["objects/query/*"]),
}
HOSTS = {"web1": ["db", "db-1", "db-2", "tocsin-db", "disk", "states"]}


def icinga_args(icinga, user="tocsin", password=PASSWORD, ca=True):
    args = ["--url", icinga.url, "--user", user, "--password", password]
    if ca:
        args += ["--ca_file", icinga.ca]
    return args


@unittest.skipUnless(srv_icinga2.available(), "icinga2 is not installed")
class Icinga2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.icinga = Icinga2(HOSTS, USERS).start()

    @classmethod
    def tearDownClass(cls):
        cls.icinga.cleanup()

    def send(self, *args, **kw):
        rc, out, err = notify("icinga2", *icinga_args(self.icinga), *args, **kw)
        self.assertNotIn(PASSWORD, out + err, "the password must never be shown")
        return rc, out, err

    def last_result(self, service, host="web1"):
        return self.icinga.service(host, service)["last_check_result"]

    def test_results_of_every_state_with_perfdata(self):
        cases = [
            ("ok", 0, "DB OK - 12 connections",
             ["conns=12;80;90;0;100", "'cache hit'=99.5%;;;0;100"]),
            ("warning", 1, "DB WARNING - 85 connections", ["conns=85;80;90;0;100"]),
            ("critical", 2, "DB CRITICAL - 95 connections",
             ["conns=95;80;90;0;100", "time=0.003s"]),
            ("unknown", 3, "DB UNKNOWN - cannot log in", []),
        ]
        # Icinga keeps a result only if it is not older than the last one.
        first = int(time.time()) - 60
        for i, (state, code, output, perf_items) in enumerate(cases):
            with self.subTest(state=state):
                at = first + 10 * i
                long_output = f"first detail of {state}\nsecond detail"
                rc, out, err = self.send(
                    *result_args("web1", "states", state, output, " ".join(perf_items),
                                 long_output),
                    "--alert-at", str(at), "--check_source", "agent-7")
                self.assertEqual(rc, DELIVERED, said(rc, out, err))
                r = self.last_result("states")
                self.assertEqual(r["state"], code,
                                 f"expected Icinga's last result in state {code}; got {r}")
                self.assertEqual(r["output"], output + "\n" + long_output,
                                 f"expected the output then the long output; got {r}")
                self.assertEqual(r.get("performance_data") or [], perf_items,
                                 f"expected one performance data item per entry; got {r}")
                self.assertEqual(r["check_source"], "agent-7",
                                 f"expected check_source agent-7; got {r}")
                self.assertEqual((r["execution_start"], r["execution_end"]), (at, at),
                                 f"expected the check time {at} as execution start/end; got {r}")
                self.assertFalse(r["active"], f"expected a passive result; got {r}")

    def test_check_source_defaults_to_the_local_host_name(self):
        rc, out, err = self.send(*result_args("web1", "disk", "ok", "DISK OK"))
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        r = self.last_result("disk")
        self.assertEqual(r["check_source"], os.uname().nodename,
                         f"expected this host's name as check_source; got {r}")

    def test_problem_then_recovery(self):
        rc, out, err = self.send("--alert-kind", "problem", "--alert-host", "web1",
                                 "--alert-service", "db", "--alert-state", "critical",
                                 "--alert-output", "DB CRITICAL - down",
                                 "--alert-then", "recovery", "--alert-state", "ok",
                                 "--alert-output", "DB OK - up again")
        self.assertEqual(out.splitlines(), ["delivered", "delivered"], said(rc, out, err))
        r = self.last_result("db")
        self.assertEqual((r["state"], r["output"]), (0, "DB OK - up again"),
                         f"expected the recovery to be the last result; got {r}")
        history = self.icinga.service("web1", "db")
        self.assertEqual(history["last_hard_state"], 0,
                         f"expected the service hard OK after the recovery; got {history}")

    def test_grouped_alerts_each_reach_their_service(self):
        rc, out, err = self.send(*result_args("web1", "db", "warning", "grouped warning"),
                                 "--alert-group", "2")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        for svc in ("db", "db-1", "db-2"):
            r = self.last_result(svc)
            self.assertEqual((r["state"], r["output"]), (1, "grouped warning"),
                             f"expected {svc} to get the grouped result; got {r}")

    def test_host_and_service_name_templates(self):
        rc, out, err = self.send(*result_args("agent-host", "db", "critical", "renamed"),
                                 "--alert-label", "icinga_host=web1",
                                 "--host", "{label:icinga_host}",
                                 "--service", "tocsin-{service}")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        r = self.last_result("tocsin-db")
        self.assertEqual((r["state"], r["output"]), (2, "renamed"),
                         f"expected web1!tocsin-db to get the result; got {r}")

    def test_unknown_service_fails(self):
        rc, out, err = self.send(*result_args("web1", "no-such-service", "ok", "x"))
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("service web1!no-such-service does not exist in Icinga 2", out,
                      said(rc, out, err))

    def test_grouped_alert_for_an_unknown_service_fails_the_notification(self):
        rc, out, err = self.send(*result_args("web1", "disk", "ok", "x"), "--alert-group", "1")
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("web1!disk-1 does not exist", out, said(rc, out, err))
        self.assertEqual(self.last_result("disk")["output"], "x",
                         "expected the known service to get its result all the same")

    def test_wrong_password_fails_without_showing_it(self):
        wrong = "Wrong-pw-" + PASSWORD[::-1]
        rc, out, err = notify("icinga2", *icinga_args(self.icinga, password=wrong),
                              *result_args("web1", "db", "ok", "x"))
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("authentication failed for user tocsin", out, said(rc, out, err))
        self.assertNotIn(wrong, out + err, "the password must never be shown")

    def test_user_without_permission_fails(self):
        # Icinga 2 answers 404 No objects found, as for an unknown service.
        rc, out, err = notify("icinga2", *icinga_args(self.icinga, user="reader"),
                              *result_args("web1", "db", "ok", "x"))
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("give ApiUser reader the permission actions/process-check-result",
                      out, said(rc, out, err))

    def test_password_from_file_and_environment(self):
        d = tempfile.mkdtemp(prefix="tocsin-icinga-pw-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "password")
        with open(path, "w") as f:
            f.write(PASSWORD + "\n")
        base = ["--url", self.icinga.url, "--user", "tocsin", "--ca_file", self.icinga.ca]
        rc, out, err = notify("icinga2", *base, "--password_file", path,
                              *result_args("web1", "db", "ok", "from a file"))
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.assertEqual(self.last_result("db")["output"], "from a file")
        env = dict(os.environ, TOCSIN_TEST_ICINGA_PW=PASSWORD)
        rc, out, err = notify("icinga2", *base, "--password_env", "TOCSIN_TEST_ICINGA_PW",
                              *result_args("web1", "db", "ok", "from the environment"),
                              env=env)
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.assertEqual(self.last_result("db")["output"], "from the environment")

    def test_untrusted_certificate_fails_unless_insecure(self):
        args = icinga_args(self.icinga, ca=False)
        rc, out, err = notify("icinga2", *args, *result_args("web1", "db", "ok", "x"))
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("is not trusted", out, said(rc, out, err))
        self.assertIn("set 'ca_file'", out, said(rc, out, err))
        rc, out, err = notify("icinga2", *args, "--insecure", "true",
                              *result_args("web1", "db", "ok", "insecure"))
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.assertEqual(self.last_result("db")["output"], "insecure")

    def test_tocsind_accepts_a_forwarding_section(self):
        d = tempfile.mkdtemp(prefix="tocsin-icinga-conf-")
        self.addCleanup(shutil.rmtree, d, True)
        pw = os.path.join(d, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        conf = ConfDir(
            'notifier "icinga" {\n'
            '    plugin = "icinga2"\n'
            f'    url = "{self.icinga.url}"\n'
            '    user = "tocsin"\n'
            f'    password_file = "{pw}"\n'
            f'    ca_file = "{self.icinga.ca}"\n'
            '    service = "tocsin-{service}"\n'
            '    ttl = 5m\n'
            '}\n'
            'service "ok" {\n    check = "dummy"\n}\n')
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        self.assertEqual(rc, 0, f"expected a valid configuration; got {rc} {out!r} {err!r}")
        self.assertNotIn(PASSWORD, out + err)


@unittest.skipUnless(srv_icinga2.available(), "icinga2 is not installed")
class Icinga2StoppedTest(unittest.TestCase):
    def test_results_are_retried_while_icinga_is_stopped(self):
        icinga = Icinga2({"web1": ["db"]}, {"tocsin": USERS["tocsin"]}).start()
        self.addCleanup(icinga.cleanup)
        args = icinga_args(icinga) + result_args("web1", "db", "critical", "x")
        rc, out, err = notify("icinga2", *args)
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        icinga.stop()
        rc, out, err = notify("icinga2", *args)
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn(f"cannot connect to Icinga 2 at 127.0.0.1:{icinga.port}", out,
                      said(rc, out, err))
        self.assertNotIn(PASSWORD, out + err)


class Icinga2RequestTest(unittest.TestCase):
    """Against a local HTTPS receiver playing the Icinga 2 API."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tocsin-icinga-sink-")
        cls.ca, cert, key = make_certs(cls.dir, "localhost")
        cls.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cls.tls.load_cert_chain(cert, key)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def sink(self):
        ok = json.dumps({"results": [{"code": 200, "status": "Successfully processed"}]})
        s = HttpSink(default_body=ok, tls_context=self.tls,
                     default_headers={"Content-Type": "application/json"})
        self.addCleanup(s.stop)
        return s

    def send(self, sink, *args, url=None, timeout="30s"):
        rc, out, err = notify("icinga2", "--url", url or sink.url, "--user", "tocsin",
                              "--password", PASSWORD, "--ca_file", self.ca,
                              *args, "--timeout", timeout)
        self.assertNotIn(PASSWORD, out + err, "the password must never be shown")
        return rc, out, err

    def test_request_format(self):
        sink = self.sink()
        rc, out, err = self.send(sink, *result_args(
            "web1", "db", "critical", "DB CRITICAL - down", "'a b'=1s;2;3 x=5", "l1\nl2"),
            "--alert-at", "1700000000", "--check_source", "agent-1", "--ttl", "5m")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        req = sink.wait(1)[0]
        self.assertEqual((req.method, req.path), ("POST", "/v1/actions/process-check-result"),
                         f"expected a POST to the action; got {req}")
        self.assertEqual(req.headers.get("accept"), "application/json", req.headers)
        self.assertEqual(req.headers.get("content-type"), "application/json", req.headers)
        auth = "Basic " + base64.b64encode(f"tocsin:{PASSWORD}".encode()).decode()
        self.assertEqual(req.headers.get("authorization"), auth,
                         "expected basic authentication as tocsin")
        self.assertEqual(req.json(), {
            "type": "Service", "service": "web1!db", "exit_status": 2,
            "plugin_output": "DB CRITICAL - down\nl1\nl2",
            "performance_data": ["'a b'=1s;2;3", "x=5"],
            "check_source": "agent-1",
            "execution_start": 1700000000, "execution_end": 1700000000,
            "ttl": 300}, "expected exactly these fields")

    def test_output_that_is_not_utf8_is_made_valid(self):
        sink = self.sink()
        rc, out, err = self.send(sink, "--alert-host", "web1", "--alert-service", "db",
                                 "--alert-kind", "result", "--alert-state", "ok",
                                 b"--alert-output", b"caf\xc3\xa9 ok, caf\xe9 not")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.assertEqual(sink.wait(1)[0].json()["plugin_output"], "caf\u00e9 ok, caf? not",
                         "expected valid UTF-8 kept and a stray byte replaced by '?'")

    def test_url_with_a_path_prefix(self):
        sink = self.sink()
        rc, out, err = self.send(sink, *result_args("web1", "db", "ok", "x"),
                                 url=sink.url + "/icinga/")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.assertEqual(sink.wait(1)[0].path, "/icinga/v1/actions/process-check-result")

    def test_503_with_retry_after_is_retried(self):
        sink = self.sink()
        sink.respond(503, '{"error":503,"status":"Icinga is starting"}',
                     {"Retry-After": "30"})
        rc, out, err = self.send(sink, *result_args("web1", "db", "ok", "x"))
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn("retry after 30 s", out, said(rc, out, err))
        self.assertIn("answered 503: Icinga is starting", out, said(rc, out, err))

    def test_500_is_retried(self):
        sink = self.sink()
        sink.respond(500, '{"results":[{"code":500,"status":"Exception"}]}')
        rc, out, err = self.send(sink, *result_args("web1", "db", "ok", "x"))
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn("answered 500", out, said(rc, out, err))

    def test_a_hanging_icinga_is_retried_at_the_deadline(self):
        sink = self.sink()
        sink.respond(delay=20)
        t0 = time.monotonic()
        rc, out, err = self.send(sink, *result_args("web1", "db", "ok", "x"), timeout="2s")
        took = time.monotonic() - t0
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn("no answer from Icinga 2", out, said(rc, out, err))
        self.assertLess(took, 8, f"expected the deadline (2 s) to end the wait; took {took:.1f}s")

    def test_connection_refused_is_retried(self):
        port = free_port()
        rc, out, err = notify("icinga2", "--url", f"https://127.0.0.1:{port}",
                              "--user", "tocsin", "--password", PASSWORD,
                              *result_args("web1", "db", "ok", "x"))
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn("Connection refused", out, said(rc, out, err))

    def test_400_fails_with_icingas_reason(self):
        sink = self.sink()
        sink.respond(400, '{"error":400,"status":"Invalid request body: bad"}')
        rc, out, err = self.send(sink, *result_args("web1", "db", "ok", "x"))
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("answered 400: Invalid request body: bad", out, said(rc, out, err))

    def test_a_result_icinga_did_not_take_fails(self):
        sink = self.sink()
        sink.respond(200, '{"results":[{"code":400,"status":"Parameter missing"}]}')
        rc, out, err = self.send(sink, *result_args("web1", "db", "ok", "x"))
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("did not take the result for web1!db (400): Parameter missing", out,
                      said(rc, out, err))

    def test_names_icinga_cannot_take_fail(self):
        sink = self.sink()
        rc, out, err = self.send(sink, *result_args("web!1", "db", "ok", "x"))
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("holds '!'", out, said(rc, out, err))
        rc, out, err = self.send(sink, *result_args("web1", "db", "ok", "x"),
                                 "--service", "{label:missing}")
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn("service name is empty", out, said(rc, out, err))
        self.assertEqual(sink.requests, [], "expected nothing sent for names Icinga refuses")


class Icinga2OptionsTest(unittest.TestCase):
    def test_bad_options_are_refused_at_setup(self):
        secret = "Sekrit-in-url-91"
        cases = [
            (["--url", "ftp://icinga:5665", "--user", "u", "--password", "p"],
             "must start with https://"),
            (["--url", f"https://u:{secret}@icinga:5665", "--user", "u", "--password", "p"],
             "must not hold credentials"),
            (["--url", "https://icinga:5665/?x=1", "--user", "u", "--password", "p"],
             "must not have a query"),
            (["--user", "u", "--password", "p", "--service", "{nope}"],
             "option 'service': unknown placeholder {nope}"),
            (["--user", "u", "--password", "p", "--host", ""],
             "must not be empty"),
            (["--password", "p"], "a password is given but no 'user'"),
            (["--user", "u"], "'user' u is given but no password"),
            ([], "give the API user"),
            (["--user", "u", "--password", "p", "--ca_file", "/nonexistent/ca.crt"],
             "option 'ca_file': cannot read /nonexistent/ca.crt"),
            (["--user", "u", "--password_file", "/nonexistent/pw"],
             "password: "),
            (["--user", "u", "--password", "p", "--client_key", "/etc/hostname"],
             "'client_key' needs 'client_cert'"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                rc, out, err = notify("icinga2", *args)
                self.assertEqual(rc, USAGE, said(rc, out, err))
                self.assertIn(message, err, said(rc, out, err))
                self.assertNotIn(secret, out + err, "a secret in the URL must not be shown")

    def test_tocsind_reports_a_bad_section_at_its_line(self):
        conf = ConfDir(
            'service "ok" {\n    check = "dummy"\n}\n'
            'notifier "icinga" {\n'
            '    plugin = "icinga2"\n'
            '    url = "https://icinga.example.org:5665"\n'
            '    user = "tocsin"\n'
            '    password = "Tocsin-pw-in-conf-3"\n'
            '    host = "{hostname}"\n'
            '}\n')
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        self.assertNotEqual(rc, 0, f"expected tocsind -t to fail; got {out!r} {err!r}")
        self.assertIn(f"{conf.path}:5: notifier 'icinga': option 'host': unknown "
                      "placeholder {hostname}", err, f"got {err!r}")
        self.assertNotIn("Tocsin-pw-in-conf-3", out + err)


if __name__ == "__main__":
    unittest.main()
