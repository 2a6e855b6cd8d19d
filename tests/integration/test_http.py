"""The http check against a real nginx (plain HTTP and HTTPS with a CA
made for the test), plus small servers made here for what nginx cannot do:
a slow answer, an echo of the request, garbage, silence and an empty
reply. Compared with the Monitoring Plugins' check_http (and check_curl
when it runs) on the same endpoints."""
import http.server
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import srv_nginx
from tocsintest import (ConfDir, Daemon, NAGIOS_PLUGINS, check_config, free_port,
                        tocsin_check)
from tocsintest import STATES, perfdata, show

MAX_BODY = 1024 * 1024


def seconds(value):
    return float(value.rstrip("s"))


# ----------------------------------------------------------------------
# Servers made in the test
# ----------------------------------------------------------------------

# What /json/NAME answers: (status, body).
JSON_BODIES = {
    "healthy": (200, '{"status": "ok", "db": "up", "queue": {"depth": 42},'
                     ' "checks": [{"name": "cache", "hit_pct": 93.5}]}'),
    "db-down": (200, '{"status": "ok", "db": "down", "queue": {"depth": 42}}'),
    "backlog": (200, '{"status": "ok", "db": "up", "queue": {"depth": 612}}'),
    "degraded": (503, '{"status": "degraded", "db": "down"}'),
    "html": (200, "<html><body>It works</body></html>"),
    "html-503": (503, "<html><body>Service Unavailable</body></html>"),
    "not-utf8": (200, b'{"status": "\xff\xfe"}'),
    "string-depth": (200, '{"queue": {"depth": "12"}, "db": null}'),
}

class _Handler(http.server.BaseHTTPRequestHandler):
    """/slow?ms=N answers after N ms; /echo answers with the method, the
    body and the X-Tocsin header it got; /json/NAME answers JSON_BODIES[NAME]
    with its status; as a proxy (a request for a whole URL) it answers
    "proxied" and the URL."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, code, text, ctype="text/plain"):
        data = text.encode() if isinstance(text, str) else text
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        if self.path.startswith("http://"):
            self._answer(200, f"proxied {self.command} {self.path}\n")
        elif self.path.startswith("/slow"):
            ms = int(self.path.partition("ms=")[2] or "300")
            time.sleep(ms / 1000)
            self._answer(200, "slow but fine\n")
        elif self.path.startswith("/json/") and self.path[6:] in JSON_BODIES:
            code, body = JSON_BODIES[self.path[6:]]
            self._answer(code, body, "application/json")
        elif self.path == "/echo":
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode(errors="replace") if n else ""
            self._answer(200, f"{self.command} body={body} "
                              f"x-tocsin={self.headers.get('X-Tocsin', '-')}\n")
        else:
            self._answer(404, "not here\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class HelperServer:
    """A threaded Python HTTP server on a free loopback port."""

    def start(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class RawListener:
    """A TCP listener that, per connection, sends `reply` and closes
    (garbage, or nothing for an empty reply), or with reply None accepts
    and never answers."""

    def __init__(self, reply):
        self.reply = reply
        self.held = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.reply is None:
                self.held.append(conn)
                continue
            try:
                conn.settimeout(2)
                conn.recv(4096)
                conn.sendall(self.reply)
            except OSError:
                pass
            conn.close()

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.sock.close()
        for c in self.held:
            c.close()


class HttpTest(unittest.TestCase):
    """Starts nginx and the helper servers once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.nginx = srv_nginx.Nginx()
        cls.helper = None
        cls.garbage = cls.silent = cls.empty = None
        try:
            cls.nginx.start()
            cls.helper = HelperServer().start()
            cls.garbage = RawListener(b"\x00\x17\xffSSH-2.0-nothing like HTTP\r\n\r\n")
            cls.silent = RawListener(None)
            cls.empty = RawListener(b"")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in (cls.helper, cls.garbage, cls.silent, cls.empty):
            if s:
                s.stop()
        cls.nginx.stop()

    def http(self, *args, **kw):
        return tocsin_check("http", *args, **kw)

    def config_refused(self, name, text, pattern):
        """tocsind -t on a conf.d holding `name` with `text` fails with a
        message matching pattern. Returns what it said."""
        conf = ConfDir("", {name: text})
        try:
            rc, out, err = check_config(conf.path)
        finally:
            conf.cleanup()
        self.assertNotEqual(rc, 0, f"expected tocsind -t to fail; got {rc} {out!r} {err!r}")
        self.assertRegex(out + err, pattern)
        return out + err

    def expect(self, args, state, pattern, **kw):
        """Run the check; assert its state and that line 1 matches pattern.
        Returns (out, perfdata)."""
        rc, out, err = self.http(*args, **kw)
        first = out.split("\n")[0]
        self.assertEqual(STATES[rc] if 0 <= rc < 4 else rc, state,
                         f"expected {state} matching {pattern!r} for {args}; got "
                         f"{show(rc, out, err)}")
        self.assertRegex(first, pattern, f"expected line 1 to match {pattern!r} for "
                         f"{args}; got {show(rc, out, err)}")
        return out, perfdata(out)


class Answers(HttpTest):
    def test_ok_output_and_perfdata(self):
        out, perf = self.expect(["--url", self.nginx.url("/")], "OK",
                                r"^HTTP OK - 200 OK - %d bytes in \d+\.\d{3} s \|"
                                % len(srv_nginx.BODY))
        self.assertEqual(sorted(perf), ["size", "status", "time"], f"perfdata of {out!r}")
        self.assertEqual(perf["time"][1:4], ["3", "5", "0"],
                         f"expected time thresholds 3;5 and min 0; got {perf['time']}")
        self.assertLess(seconds(perf["time"][0]), 3, f"response time in {out!r}")
        self.assertEqual(perf["size"][0], f"{len(srv_nginx.BODY)}B", f"size in {out!r}")
        self.assertEqual(perf["status"][0], "200", f"status in {out!r}")
        self.assertIn(f"GET http://127.0.0.1:{self.nginx.http_port}/: 200 OK", out)

    def test_host_port_path_pieces(self):
        self.expect(["--host", "127.0.0.1", "--port", str(self.nginx.http_port),
                     "--path", "/health"], "OK", r"^HTTP OK - 200 OK - 15 bytes")

    def test_health_keyword_substring_and_regex(self):
        self.expect(["--url", self.nginx.url("/health"),
                     "--body_contains", '"status":"ok"'], "OK", r"^HTTP OK - 200 OK")
        self.expect(["--url", self.nginx.url("/health"),
                     "--body_regex", r'"status" *: *"(ok|fine)"'], "OK", r"^HTTP OK")

    def test_body_mismatch_is_critical(self):
        self.expect(["--url", self.nginx.url("/health"), "--body_contains", "\"status\":\"down\""],
                    "CRITICAL",
                    r'^HTTP CRITICAL - body does not contain "\\"status\\":\\"down\\"" '
                    r'- 200 OK - 15 bytes in')
        self.expect(["--url", self.nginx.url("/"), "--body_regex", "^goodbye"],
                    "CRITICAL", r"^HTTP CRITICAL - body does not match /\^goodbye/ - 200 OK")

    def test_status_mismatch_is_critical(self):
        self.expect(["--url", self.nginx.url("/error")], "CRITICAL",
                    r"^HTTP CRITICAL - status 500 Internal Server Error "
                    r"\(expected 2xx, 3xx\) - \d+ bytes in")
        self.expect(["--url", self.nginx.url("/nowhere")], "CRITICAL",
                    r"^HTTP CRITICAL - status 404 Not Found \(expected 2xx, 3xx\)")
        self.expect(["--url", self.nginx.url("/error"), "--expect_status", "500"],
                    "OK", r"^HTTP OK - 500 Internal Server Error")
        self.expect(["--url", self.nginx.url("/redirect"), "--expect_status",
                     "200,204"], "CRITICAL",
                    r"^HTTP CRITICAL - status 302 Moved Temporarily \(expected 200, 204\)")
        self.expect(["--url", self.nginx.url("/redirect"), "--expect_status",
                     "200,300-399"], "OK", r"^HTTP OK - 302")

    def test_redirect_not_followed(self):
        out, perf = self.expect(["--url", self.nginx.url("/redirect")], "OK",
                                r"^HTTP OK - 302 Moved Temporarily")
        self.assertIn(f"redirect to {self.nginx.url('/target')} not followed", out)
        self.assertEqual(perf["status"][0], "302", out)

    def test_redirect_followed(self):
        out, perf = self.expect(["--url", self.nginx.url("/redirect"),
                                 "--follow_redirects", "true", "--expect_status", "200",
                                 "--body_contains", srv_nginx.TARGET_BODY.strip()],
                                "OK", r"^HTTP OK - 200 OK - %d bytes"
                                % len(srv_nginx.TARGET_BODY))
        self.assertIn(f"followed 1 redirect to {self.nginx.url('/target')}", out)
        self.expect(["--url", self.nginx.url("/redirect"), "--follow_redirects", "true",
                     "--max_redirects", "0"], "CRITICAL",
                    r"^HTTP CRITICAL - more redirects than max_redirects")

    def test_head_and_methods_with_body_and_headers(self):
        self.expect(["--url", self.nginx.url("/"), "--method", "HEAD"], "OK",
                    r"^HTTP OK - 200 OK - 0 bytes")
        self.expect(["--url", self.helper.url("/echo"), "--method", "PUT",
                     "--body", "ping", "--header", "X-Tocsin: yes",
                     "--body_contains", "PUT body=ping x-tocsin=yes"], "OK",
                    r"^HTTP OK - 200 OK")
        self.expect(["--url", self.helper.url("/echo"), "--method", "POST",
                     "--body_contains", "POST body= x-tocsin=-"], "OK", r"^HTTP OK")

    def test_proxy_only_when_configured(self):
        self.expect(["--url", "http://tocsin.invalid/page", "--proxy",
                     f"127.0.0.1:{self.helper.port}",
                     "--body_contains", "proxied GET http://tocsin.invalid/page"],
                    "OK", r"^HTTP OK - 200 OK")
        env = dict(os.environ, http_proxy=self.helper.url("/"),
                   HTTP_PROXY=self.helper.url("/"), ALL_PROXY=self.helper.url("/"))
        self.expect(["--url", self.nginx.url("/"), "--body_contains", "hello"], "OK",
                    r"^HTTP OK - 200 OK - %d bytes" % len(srv_nginx.BODY), env=env)
        port = free_port()
        self.expect(["--url", "http://tocsin.invalid/", "--proxy", f"127.0.0.1:{port}"],
                    "CRITICAL", r"^HTTP CRITICAL - connection refused to tocsin\.invalid:80 "
                    r"through proxy 127\.0\.0\.1:%d$" % port)

    def test_response_time_warning_then_critical(self):
        url = self.helper.url("/slow?ms=300")
        out, perf = self.expect(["--url", url, "--warning", "0.1", "--critical", "5"],
                                "WARNING", r"^HTTP WARNING - 200 OK - \d+ bytes in "
                                r"0\.[3-9]\d\d s, time over warning 0\.1 s")
        self.assertGreaterEqual(seconds(perf["time"][0]), 0.3, out)
        self.assertEqual(perf["time"][1:3], ["0.1", "5"], out)
        self.expect(["--url", url, "--warning", "0.05", "--critical", "0.1"],
                    "CRITICAL", r"^HTTP CRITICAL - 200 OK - .* time over critical 0\.1 s")

    def test_size_thresholds(self):
        n = len(srv_nginx.BODY)
        out, perf = self.expect(["--url", self.nginx.url("/"), "--size_warning", "10"],
                                "WARNING", r"^HTTP WARNING - .*, size over warning 10 B")
        self.assertEqual(perf["size"][:4], [f"{n}B", "10", "", "0"], out)
        self.expect(["--url", self.nginx.url("/"), "--size_critical", "10:"],
                    "OK", r"^HTTP OK")
        self.expect(["--url", self.nginx.url("/"), "--size_critical", "100:"],
                    "CRITICAL", r"^HTTP CRITICAL - .*size under critical 100 B")

    def test_large_body_read_up_to_max_body(self):
        out, perf = self.expect(["--url", self.nginx.url("/large")], "OK",
                                r"^HTTP OK - 200 OK - %d\+ bytes in" % MAX_BODY)
        self.assertEqual(perf["size"][0], f"{MAX_BODY}B", out)
        self.assertIn("body longer than max_body", out)
        out, perf = self.expect(["--url", self.nginx.url("/large"), "--max_body", "4096",
                                 "--body_regex", "^x+$"], "OK", r"^HTTP OK - 200 OK - 4096\+")
        self.assertEqual(perf["size"][0], "4096B", out)
        self.expect(["--url", self.nginx.url("/large"),
                     "--max_body", str(srv_nginx.LARGE_SIZE)], "OK",
                    r"^HTTP OK - 200 OK - %d bytes" % srv_nginx.LARGE_SIZE)


class Tls(HttpTest):
    def test_with_the_ca_ok(self):
        out, _ = self.expect(["--url", self.nginx.url("/health", tls=True), "--ca_file",
                              self.nginx.ca_file, "--body_contains", '"status":"ok"'],
                             "OK", r"^HTTP OK - 200 OK")
        self.assertRegex(out, r"TLS \d+\.\d{3} s", out)
        self.expect(["--url", f"https://localhost:{self.nginx.https_port}/",
                     "--ca_file", self.nginx.ca_file, "--ip_version", "4"], "OK",
                    r"^HTTP OK - 200 OK")

    def test_without_the_ca_critical_and_says_why(self):
        self.expect(["--url", self.nginx.url("/", tls=True)], "CRITICAL",
                    r"^HTTP CRITICAL - TLS certificate of 127\.0\.0\.1:%d not accepted: "
                    r".*(unable to get local issuer certificate|self.signed)"
                    % self.nginx.https_port)

    def test_insecure_skips_verification(self):
        self.expect(["--url", self.nginx.url("/", tls=True), "--insecure", "true"],
                    "OK", r"^HTTP OK - 200 OK")

    def test_tls_to_a_plain_port(self):
        self.expect(["--url", f"https://127.0.0.1:{self.nginx.http_port}/",
                     "--ca_file", self.nginx.ca_file], "CRITICAL",
                    r"^HTTP CRITICAL - TLS handshake with 127\.0\.0\.1:%d failed: "
                    % self.nginx.http_port)


class Auth(HttpTest):
    def test_right_password(self):
        self.expect(["--url", self.nginx.url("/private/"), "--user", srv_nginx.USER,
                     "--password", srv_nginx.PASSWORD,
                     "--body_contains", srv_nginx.PRIVATE_BODY.strip()],
                    "OK", r"^HTTP OK - 200 OK")

    def test_password_from_env_and_file(self):
        env = dict(os.environ, TOCSIN_TEST_HTTP_PW=srv_nginx.PASSWORD)
        self.expect(["--url", self.nginx.url("/private/"), "--user", srv_nginx.USER,
                     "--password_env", "TOCSIN_TEST_HTTP_PW"], "OK", r"^HTTP OK",
                    env=env)
        with tempfile.NamedTemporaryFile("w", suffix=".pw") as f:
            f.write(srv_nginx.PASSWORD + "\n")
            f.flush()
            self.expect(["--url", self.nginx.url("/private/"), "--user", srv_nginx.USER,
                         "--password_file", f.name], "OK", r"^HTTP OK")

    def test_wrong_password_critical_without_the_password(self):
        secret = "Wrong-Pa55word-xyz"
        rc, out, err = self.http("--url", self.nginx.url("/private/"), "--user",
                                 srv_nginx.USER, "--password", secret)
        self.assertEqual(rc, 2, f"expected CRITICAL; got {show(rc, out, err)}")
        self.assertRegex(out, r"^HTTP CRITICAL - status 401 Unauthorized \(expected "
                         r"2xx, 3xx\): authentication failed for user monitor")
        self.assertNotIn(secret, out + err, "the password appeared in the output")
        self.assertNotIn(srv_nginx.PASSWORD, out + err)

    def test_password_in_the_url_not_shown(self):
        secret = "UrlPa55-not-shown"
        url = (f"http://{srv_nginx.USER}:{secret}@127.0.0.1:{self.nginx.http_port}"
               f"/private/?token={secret}")
        rc, out, err = self.http("--url", url)
        self.assertEqual(rc, 2, f"expected CRITICAL (401); got {show(rc, out, err)}")
        self.assertNotIn(secret, out + err, "a secret of the URL appeared in the output")

    def test_no_credentials(self):
        self.expect(["--url", self.nginx.url("/private/")], "CRITICAL",
                    r"^HTTP CRITICAL - status 401 Unauthorized \(expected 2xx, 3xx\) - ")


class Failures(HttpTest):
    def test_connection_refused(self):
        port = free_port()
        self.expect(["--url", f"http://127.0.0.1:{port}/"], "CRITICAL",
                    r"^HTTP CRITICAL - connection refused to 127\.0\.0\.1:%d$" % port)

    def test_timeout_returns_on_time(self):
        t0 = time.monotonic()
        rc, out, err = self.http("--timeout", "1s", "--url", self.silent.url("/"))
        took = time.monotonic() - t0
        self.assertLess(took, 2.0, f"expected the check back within 2 s; took {took:.2f} s")
        self.assertEqual(rc, 3, f"expected UNKNOWN (tocsin-check's timeout state); got "
                         f"{show(rc, out, err)}")
        self.assertIn("timed out after 1 s", out, show(rc, out, err))

    def test_garbage_answer(self):
        self.expect(["--url", self.garbage.url("/")], "CRITICAL",
                    r"^HTTP CRITICAL - invalid HTTP answer from 127\.0\.0\.1:%d: \S"
                    % self.garbage.port)

    def test_empty_reply(self):
        self.expect(["--url", self.empty.url("/")], "CRITICAL",
                    r"^HTTP CRITICAL - 127\.0\.0\.1:%d closed the connection without "
                    r"an answer" % self.empty.port)

    def test_cannot_resolve(self):
        self.expect(["--url", "http://no-such-host.invalid/"], "CRITICAL",
                    r"^HTTP CRITICAL - cannot resolve the host of no-such-host\.invalid:80")


class Options(HttpTest):
    """Bad options are UNKNOWN with a reason, and tocsind -t names their line."""

    CASES = [
        (["--body_regex", "(unclosed"], r"option 'body_regex': \"\(unclosed\" is not a "
                                        r"valid extended regular expression"),
        (["--expect_status", "2000"], r"option 'expect_status'"),
        (["--expect_status", "300-200"], r"option 'expect_status'"),
        (["--method", "GET /x"], r"option 'method'"),
        (["--ip_version", "5"], r"option 'ip_version'"),
        (["--ca_file", "/nonexistent/ca.pem"], r"option 'ca_file': cannot read "
                                               r"/nonexistent/ca.pem"),
        (["--client_key", "/etc/hostname"], r"'client_key' needs 'client_cert'"),
        (["--header", "Authorization Bearer pw-only"],
         r"option 'header': entry 1 of 1 is not of the form"),
        (["--method", "HEAD", "--body_contains", "x"], r"method HEAD"),
        (["--password", "pw-only"], r"a password is given but no 'user'"),
        (["--max_body", "0"], r"option 'max_body'"),
        (["--port", "8080"], r"either 'url' or 'host'"),
    ]

    def test_bad_options_unknown(self):
        for extra, pattern in self.CASES:
            with self.subTest(extra=extra):
                rc, out, err = self.http("--url", self.nginx.url("/"), *extra)
                self.assertEqual(rc, 3, f"expected UNKNOWN for {extra}; got "
                                 f"{show(rc, out, err)}")
                self.assertRegex(out, pattern)
                self.assertNotIn("pw-only", out + err)

    def test_no_url(self):
        rc, out, err = self.http()
        self.assertEqual(rc, 3, show(rc, out, err))
        self.assertIn("option 'url' (or 'host') is required", out)

    def test_not_http(self):
        rc, out, err = self.http("--url", "ftp://127.0.0.1/")
        self.assertEqual(rc, 3, show(rc, out, err))
        self.assertIn("must start with https:// or http://", out)

    def test_config_check_names_the_line(self):
        said = self.config_refused("web.conf", (
            'service "web" {\n'
            '    check = "http"\n'
            '    url = "http://127.0.0.1:1/"\n'
            '    body_regex = "[unclosed"\n'
            '    password = "cfg-secret-77"\n'
            '}\n'), r"web\.conf:\d+: .*body_regex")
        self.assertNotIn("cfg-secret-77", said)


class Json(HttpTest):
    """json_expect and json_value on health endpoints that answer JSON."""

    HEALTH = ["--json_expect", "/status == ok", "--json_expect", '/db != "down"']
    QUEUE = ["--json_value", "/queue/depth warning=100 critical=500"]

    def url(self, name):
        return ["--url", self.helper.url(f"/json/{name}")]

    def test_healthy_ok_with_perfdata(self):
        out, perf = self.expect(self.url("healthy") + self.HEALTH + self.QUEUE + [
            "--json_value", "/checks/0/hit_pct warning=80: critical=50: unit=% "
                            "label=cache_hit"], "OK", r"^HTTP OK - 200 OK - \d+ bytes")
        self.assertEqual(perf["queue.depth"][:3], ["42", "100", "500"])
        self.assertEqual(perf["cache_hit"][:3], ["93.5%", "80:", "50:"])
        self.assertIn("time", perf)

    def test_db_down_is_critical(self):
        self.expect(self.url("db-down") + self.HEALTH, "CRITICAL",
                    r'^HTTP CRITICAL - /db is "down" \(expected not "down"\) - 200 OK')

    def test_value_beyond_ranges(self):
        self.expect(self.url("backlog") + self.QUEUE, "CRITICAL",
                    r"^HTTP CRITICAL - 200 OK - .*queue\.depth over critical 500")
        self.expect(self.url("backlog") + ["--json_value",
                                           "/queue/depth warning=600 critical=1000"],
                    "WARNING", r"queue\.depth over warning 600")
        self.expect(self.url("healthy") + ["--json_value",
                                           "/checks/0/hit_pct warning=95: critical=50:"],
                    "WARNING", r"checks\.0\.hit_pct under warning 95")

    def test_error_status_with_json_says_both(self):
        self.expect(self.url("degraded") + self.HEALTH, "CRITICAL",
                    r'^HTTP CRITICAL - status 503 Service Unavailable \(expected 2xx, 3xx\); '
                    r'/status is "degraded" \(expected "ok"\); /db is "down"')

    def test_not_json(self):
        self.expect(self.url("html") + self.HEALTH, "CRITICAL",
                    r"^HTTP CRITICAL - body is not JSON \(line 1 column 1: .+\) - 200 OK")
        self.expect(self.url("not-utf8") + self.HEALTH, "CRITICAL",
                    r"^HTTP CRITICAL - body is not JSON \(.*\) - 200 OK")
        # An error page is expected with an error status: not JSON is not news.
        out, _ = self.expect(self.url("html-503") + self.HEALTH, "CRITICAL",
                             r"^HTTP CRITICAL - status 503 Service Unavailable")
        self.assertNotIn("not JSON", out)

    def test_cut_by_max_body_is_said(self):
        self.expect(self.url("healthy") + self.HEALTH + ["--max_body", "20"], "CRITICAL",
                    r"body is not JSON \(.*\), cut at max_body")

    def test_not_a_number_is_unknown(self):
        out, perf = self.expect(self.url("string-depth") + self.QUEUE + [
            "--json_value", "/db", "--json_value", "/queue/missing"], "UNKNOWN",
            r"^HTTP UNKNOWN - no number at /db \(null\); no number at /queue/missing "
            r"\(missing\) - 200 OK")
        self.assertEqual(perf["queue.depth"][:3], ["12", "100", "500"])
        self.assertNotIn("db", perf)

    def test_bad_rules_refused(self):
        for extra, pattern in [
                (["--json_expect", "/status = ok"], r"option 'json_expect': .*== or !="),
                (["--json_expect", "status == ok"], r"is not a JSON pointer"),
                (["--json_value", "/n warn=3"], r"option 'json_value': .*unknown setting"),
                (["--json_value", "/n warning=x"], r"option 'json_value'"),
                (["--json_value", "/time"], r"is the check's own"),
                (["--json_value", "/a", "--json_value", "/a critical=1"],
                 r"already used by \"/a\""),
                (["--method", "HEAD", "--json_expect", "/a == 1"], r"method HEAD")]:
            with self.subTest(extra=extra):
                rc, out, err = self.http(*self.url("healthy"), *extra)
                self.assertEqual(rc, 3, show(rc, out, err))
                self.assertRegex(out, pattern)

    def test_config_check_names_the_line(self):
        self.config_refused("api.conf", (
            'service "api" {\n'
            '    check = "http"\n'
            '    url = "http://127.0.0.1:1/health"\n'
            '    json_expect = { "/db != \\"down\\"", "/status = ok" }\n'
            '}\n'), r"api\.conf:\d+: .*json_expect.*/status = ok")


class CompareWithMonitoringPlugins(HttpTest):
    """Same situation, same state as check_http (and check_curl when it runs)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plugins = []
        for name in ("check_http", "check_curl"):
            path = os.path.join(NAGIOS_PLUGINS, name)
            if not os.access(path, os.X_OK):
                continue
            p = subprocess.run([path, "--version"], capture_output=True, timeout=30)
            if p.returncode in (126, 127):   # cannot run here (a missing library)
                continue
            cls.plugins.append(path)

    def compare(self, port, path, nagios_extra, tocsin_extra):
        rc, out, err = self.http("--url", f"http://127.0.0.1:{port}{path}", *tocsin_extra)
        if not self.plugins:
            self.fail(f"no runnable check_http in {NAGIOS_PLUGINS}: install "
                      "monitoring-plugins-standard")
        for plugin in self.plugins:
            p = subprocess.run([plugin, "-H", "127.0.0.1", "-p", str(port), "-u", path,
                                "-t", "5", *nagios_extra],
                               capture_output=True, text=True, errors="replace",
                               timeout=30)
            self.assertEqual(rc, p.returncode,
                             f"{os.path.basename(plugin)} said {STATES[p.returncode]} "
                             f"({p.stdout.strip()!r}); http said {show(rc, out, err)}")
        return rc

    def test_ok(self):
        self.assertEqual(self.compare(self.nginx.http_port, "/", [], []), 0)

    def test_500(self):
        self.assertEqual(self.compare(self.nginx.http_port, "/error", [], []), 2)

    def test_string_mismatch(self):
        self.assertEqual(self.compare(self.nginx.http_port, "/", ["-s", "absent"],
                                      ["--body_contains", "absent"]), 2)

    def test_string_match(self):
        self.assertEqual(self.compare(self.nginx.http_port, "/health",
                                      ["-s", '"status":"ok"'],
                                      ["--body_contains", '"status":"ok"']), 0)

    def test_refused(self):
        self.assertEqual(self.compare(free_port(), "/", [], []), 2)

    def test_redirect_not_followed(self):
        self.assertEqual(self.compare(self.nginx.http_port, "/redirect", [], []), 0)

    def test_regex_per_line(self):
        self.assertEqual(self.compare(self.nginx.http_port, "/", ["-r", "^hello"],
                                      ["--body_regex", "^hello"]), 0)
        self.assertEqual(self.compare(self.nginx.http_port, "/", ["-r", "^nginx"],
                                      ["--body_regex", "^nginx"]), 2)

    def test_garbage(self):
        self.assertEqual(self.compare(self.garbage.port, "/", [], []), 2)

    def test_empty_reply(self):
        self.assertEqual(self.compare(self.empty.port, "/", [], []), 2)


class InTheDaemon(HttpTest):
    def test_first_results_and_no_password_in_the_log(self):
        secret = "Daemon-Wrong-Pw-42"
        conf = ConfDir("max_check_spread = 1s\n", {"web.conf": (
            f'service "web-health" {{\n'
            f'    check = "http"\n'
            f'    interval = 1s\n'
            f'    url = "{self.nginx.url("/health", tls=True)}"\n'
            f'    ca_file = "{self.nginx.ca_file}"\n'
            f'    body_contains = "\\"status\\":\\"ok\\""\n'
            f'}}\n'
            f'service "web-private" {{\n'
            f'    check = "http"\n'
            f'    interval = 1s\n'
            f'    url = "{self.nginx.url("/private/")}"\n'
            f'    user = "{srv_nginx.USER}"\n'
            f'    password = "{secret}"\n'
            f'}}\n'
            f'service "web-silent" {{\n'
            f'    check = "http"\n'
            f'    interval = 1s\n'
            f'    timeout = 1s\n'
            f'    timeout_state = "critical"\n'
            f'    url = "{self.silent.url("/")}"\n'
            f'}}\n')})
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        self.assertEqual(rc, 0, f"expected a valid configuration; got {rc} {out!r} {err!r}")
        d = Daemon(conf.path)
        try:
            d.wait_for(r"service 'web-health' on .*: first result OK: HTTP OK - 200 OK - "
                       r"15 bytes in", timeout=15)
            # A first result other than OK is logged as a soft state.
            d.wait_for(r"service 'web-private' on .*: CRITICAL \(soft, attempt 1/3\): "
                       r"HTTP CRITICAL - status 401 Unauthorized .*authentication failed "
                       r"for user monitor", timeout=15)
            d.wait_for(r"service 'web-silent' on .*: CRITICAL \(soft, attempt 1/3\): "
                       r"CRITICAL - timed out after 1 s", timeout=15)
        finally:
            d.stop()
        self.assertNotIn(secret, d.log() + out + err, "the password appeared in the log")

    def test_hung_endpoint_text_agrees_with_its_state(self):
        # An endpoint that accepts and never answers: the result takes the
        # service's timeout_state and its text starts with that state,
        # without the plugin's own "HTTP CRITICAL" under an UNKNOWN.
        conf = ConfDir("max_check_spread = 1s\n", {"hung.conf": (
            f'service "hung-paging" {{\n    check = "http"\n    interval = 10s\n'
            f'    timeout = 1s\n    max_attempts = 1\n    timeout_state = "critical"\n'
            f'    url = "{self.silent.url("/")}"\n}}\n'
            f'service "hung-default" {{\n    check = "http"\n    interval = 10s\n'
            f'    timeout = 1s\n    max_attempts = 1\n'
            f'    url = "{self.silent.url("/")}"\n}}\n')})
        self.addCleanup(conf.cleanup)
        d = Daemon(conf.path)
        peer = re.escape(f"127.0.0.1:{self.silent.port}")
        try:
            for name, state in (("hung-paging", "CRITICAL"), ("hung-default", "UNKNOWN")):
                d.wait_for(rf"service '{name}' on \S+: (?:first result {state}|OK -> {state} "
                           rf"\(hard, attempt 1/1\)): {state} - timed out after [\d.]+ s "
                           rf"waiting for an answer from {peer}$", timeout=10)
        finally:
            d.stop()
        mixed = [l for l in d.lines if "hung-" in l and "HTTP CRITICAL" in l]
        self.assertEqual(mixed, [], "expected no timed-out result to carry the plugin's own "
                                    "state word; log:\n" + d.log())


if __name__ == "__main__":
    unittest.main()
