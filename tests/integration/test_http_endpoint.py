"""The HTTP endpoint of tocsind: /health, Prometheus /metrics (checked with
promtool), the JSON API and its filters, the status page and its escaping,
the bearer token, TLS, the health verdict when the scheduler falls behind,
and configuration errors reported by tocsind -t and at start."""
import html.parser
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import shutil
import time
import unittest
import urllib.parse

from tocsintest import ConfDir, Daemon, DaemonTest, check_config, free_port

PROMTOOL = "/usr/bin/promtool"
COMMON = 'max_check_spread = 1s\nhost = "testhost"\n'
HOSTILE = "<script>alert(1)</script> & \"quoted\" 'single'"
TOKEN = "t0ken-Zq9-never-logged"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def http_section(port, extra=""):
    return 'http {\n    listen = "127.0.0.1:%d"\n%s}\n' % (port, extra)


def dummy(name, state="ok", output="fine", perfdata=None, long_output=None, labels=None,
          interval="1s", max_attempts=1, extra="", quoted_output=None):
    """A dummy service; `quoted_output` is written into the file as is."""
    body = f'    check = "dummy"\n    interval = {interval}\n    state = "{state}"\n'
    body += f"    output = {quoted_output or json.dumps(output)}\n"
    body += f"    max_attempts = {max_attempts}\n"
    if perfdata:
        body += f"    perfdata = {json.dumps(perfdata)}\n"
    if long_output:
        body += f"    long_output = {json.dumps(long_output)}\n"
    if labels:
        body += "    labels {\n" + "".join(f'        {k} = "{v}"\n'
                                         for k, v in labels.items()) + "    }\n"
    return f'service "{name}" {{\n{body}{extra}}}\n'


def fetch(port, path, method="GET", headers=None, timeout=10, context=None):
    """(status, headers dict with lower-case names, body bytes)."""
    if context is not None:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        conn.close()


def fetch_json(port, path, **kw):
    status, hdrs, body = fetch(port, path, **kw)
    try:
        return status, hdrs, json.loads(body)
    except ValueError as e:
        raise AssertionError(f"GET {path}: expected JSON, got {body[:300]!r} ({e})")


LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset of (label, value))): float} from exposition text;
    label values unescaped."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m:
            raise AssertionError(f"not a sample line: {line!r}")
        labels = []
        for k, v in LABEL_RE.findall(m.group(2) or ""):
            v = re.sub(r"\\(.)", lambda x: "\n" if x.group(1) == "n" else x.group(1), v)
            labels.append((k, v))
        key = (m.group(1), frozenset(labels))
        if key in samples:
            raise AssertionError(f"duplicate series: {line!r}")
        samples[key] = float(m.group(3))
    return samples


def series(samples, name, **labels):
    """The samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return {k: v for k, v in samples.items() if k[0] == name and want <= k[1]}


def one(samples, name, **labels):
    found = series(samples, name, **labels)
    if len(found) != 1:
        raise AssertionError(f"expected one {name} series with {labels}; found "
                             f"{len(found)}: {sorted(map(str, found))[:10]}")
    return next(iter(found.values()))


class PageChecker(html.parser.HTMLParser):
    """Checks that every element is closed in order and collects what a
    page must not have: scripts, external resources."""
    VOID = {"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "wbr",
            "source", "track", "embed"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.text = [], [], [], []
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


# ----------------------------------------------------------------------
# One daemon, many services, read-only requests
# ----------------------------------------------------------------------

class Endpoint(unittest.TestCase):
    """A daemon with known services, shared by the read-only tests."""

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        services = (
            dummy("web-frontend", "critical", HOSTILE,
                  perfdata="time=12ms;100;200;0 size=3KB 'odd label'=5%;;;0;100 u=U time=99",
                  long_output="detail line", labels={"team": "web", "service": "clash"})
            + dummy("db", "ok", "all fine", perfdata="conn=3;10;20;0;100",
                    labels={"team": "db"})
            + dummy("cache", "warning", "cache is slow", labels={"team": "web"})
            + dummy("odd", "unknown", quoted_output='"bad bytes \\xff\\xfe"',
                    labels={"team": "ops"})
            + 'group "web-group" {\n    member_labels {\n        team = "web"\n    }\n}\n')
        cls.conf = ConfDir(COMMON + http_section(cls.port), {"services.conf": services})
        cls.daemon = Daemon(cls.conf.path)
        try:
            cls.daemon.wait_for(r"http: serving http://127\.0\.0\.1:%d/" % cls.port, timeout=15)
            deadline = time.monotonic() + 20
            while True:
                _, _, body = fetch_json(cls.port, "/api/v1/services")
                pending = [s["name"] for s in body if s["state"] == "pending"]
                if not pending:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"services still pending after 20 s: {pending}; log:\n"
                                         + cls.daemon.log())
                time.sleep(0.2)
        except BaseException:
            cls.daemon.stop()
            cls.conf.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.conf.cleanup()

    def get(self, path, **kw):
        return fetch(self.port, path, **kw)

    def get_json(self, path, **kw):
        return fetch_json(self.port, path, **kw)

    # -- /health ----------------------------------------------------------

    def test_health_is_ok_with_figures(self):
        status, hdrs, body = self.get_json("/health")
        self.assertEqual(status, 200, f"expected 200; got {status} {body}")
        self.assertEqual(hdrs.get("content-type"), "application/json")
        self.assertEqual(body["status"], "ok", body)
        self.assertEqual(body["reasons"], [])
        self.assertEqual(body["services"], 5)
        self.assertGreaterEqual(body["checks_total"], 4, body)
        self.assertEqual(body["workers_up"], body["workers_total"], body)
        self.assertEqual(body["workers_total"], 2, body)
        self.assertGreaterEqual(body["uptime_seconds"], 0, body)
        self.assertLess(body["overdue_seconds"], body["max_lateness_seconds"], body)
        self.assertEqual(body["max_lateness_seconds"], 10.0, body)

    # -- /metrics ---------------------------------------------------------

    @unittest.skipUnless(os.access(PROMTOOL, os.X_OK), "promtool is not installed")
    def test_metrics_pass_promtool(self):
        status, hdrs, body = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                           timeout=60)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, b"", b""),
                         "expected promtool to find nothing wrong; it said:\n"
                         + (p.stdout + p.stderr).decode(errors="replace"))

    def test_metrics_every_family_has_help_and_type(self):
        text = self.get("/metrics")[2].decode()
        names = {k[0] for k in parse_metrics(text)}
        helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
        types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        for name in names:
            family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
            self.assertIn(family, helps, f"no HELP for {name}")
            self.assertIn(family, types, f"no TYPE for {name}")

    def test_metrics_service_states(self):
        m = parse_metrics(self.get("/metrics")[2].decode())
        expect = {"web-frontend": 2, "db": 0, "cache": 1, "odd": 3, "web-group": 2}
        for name, state in expect.items():
            self.assertEqual(one(m, "tocsin_service_state", service=name, host="testhost"),
                             state, f"tocsin_service_state of {name}")
            self.assertEqual(one(m, "tocsin_service_hard_state", service=name), state,
                             f"tocsin_service_hard_state of {name}")
            self.assertEqual(one(m, "tocsin_service_flapping", service=name), 0)
            ts = one(m, "tocsin_service_last_check_timestamp_seconds", service=name)
            self.assertLess(abs(ts - time.time()), 120, f"last check of {name}: {ts}")

    def test_metrics_service_labels_and_clashes(self):
        m = parse_metrics(self.get("/metrics")[2].decode())
        keys = [k for k in series(m, "tocsin_service_state", service="web-frontend")]
        self.assertEqual(len(keys), 1)
        self.assertEqual(dict(keys[0][1]), {"service": "web-frontend", "host": "testhost",
                                             "team": "web", "label_service": "clash"})

    def test_metrics_perfdata_in_base_units(self):
        m = parse_metrics(self.get("/metrics")[2].decode())
        perf = series(m, "tocsin_service_perfdata", service="web-frontend")
        got = {(dict(k[1])["label"], dict(k[1])["uom"]): v for k, v in perf.items()}
        # The first "time" wins over the later one; "U" is left out.
        self.assertEqual(got, {("time", "s"): 0.012, ("size", "B"): 3072.0,
                               ("odd label", "%"): 5.0})
        self.assertEqual(one(m, "tocsin_service_perfdata", service="db", label="conn", uom=""),
                         3.0)
        self.assertEqual(one(m, "tocsin_service_perfdata", service="db", team="db"), 3.0)

    def test_metrics_agent_figures(self):
        m = parse_metrics(self.get("/metrics")[2].decode())
        self.assertEqual(one(m, "tocsin_up"), 1)
        self.assertEqual(one(m, "tocsin_build_info", version="0.1.0"), 1)
        self.assertLess(abs(one(m, "tocsin_start_time_seconds") - time.time()), 600)
        checks = one(m, "tocsin_checks_total")
        self.assertGreaterEqual(checks, 4)
        for h in ("tocsin_check_duration_seconds", "tocsin_check_lateness_seconds"):
            inf = one(m, h + "_bucket", le="+Inf")
            count = one(m, h + "_count")
            self.assertEqual(inf, count, f"{h}: +Inf bucket {inf} != count {count}")
            self.assertGreaterEqual(count, 4, h)
            buckets = sorted((float(dict(k[1])["le"]), v)
                             for k, v in series(m, h + "_bucket").items())
            self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets),
                             f"{h}: buckets are not cumulative: {buckets}")
        self.assertEqual(one(m, "tocsin_check_workers"), 2)
        self.assertEqual(one(m, "tocsin_check_workers_up"), 2)
        self.assertEqual(one(m, "tocsin_worker_restarts_total"), 0)
        self.assertEqual(one(m, "tocsin_outbox_depth"), 0)
        self.assertEqual(one(m, "tocsin_notifications_queued_total"), 0)
        self.assertEqual(one(m, "tocsin_services"), 5)

    def test_metrics_head_has_no_body(self):
        status, hdrs, body = self.get("/metrics", method="HEAD")
        self.assertEqual((status, body), (200, b""))

    # -- JSON API ---------------------------------------------------------

    def test_api_lists_every_service_with_its_fields(self):
        status, hdrs, body = self.get_json("/api/v1/services")
        self.assertEqual(status, 200)
        by_name = {s["name"]: s for s in body}
        self.assertEqual(set(by_name), {"web-frontend", "db", "cache", "odd", "web-group"})
        s = by_name["web-frontend"]
        self.assertEqual(s["host"], "testhost")
        self.assertEqual(s["kind"], "service")
        self.assertEqual(s["check"], "dummy")
        self.assertEqual((s["state"], s["hard_state"], s["is_hard"]), ("critical", "critical", True))
        self.assertEqual((s["attempt"], s["max_attempts"], s["flapping"]), (1, 1, False))
        self.assertRegex(s["last_check"], RFC3339)
        self.assertRegex(s["last_change"], RFC3339)
        self.assertEqual(s["output"], HOSTILE)
        self.assertEqual(s["long_output"], "detail line")
        self.assertEqual(s["labels"], {"team": "web", "service": "clash"})
        self.assertEqual(s["perfdata"][0], {"label": "time", "value": 12.0, "uom": "ms",
                                            "warn": "100", "crit": "200", "min": 0.0,
                                            "max": None})
        self.assertEqual(s["perfdata"][2], {"label": "odd label", "value": 5.0, "uom": "%",
                                            "warn": None, "crit": None, "min": 0.0,
                                            "max": 100.0})
        self.assertEqual(s["perfdata"][3]["value"], None, "a U value is null")
        self.assertEqual(len(s["perfdata"]), 5)
        self.assertIsNone(s["acknowledged"])
        self.assertIsNone(s["downtime"])
        self.assertRegex(s["incident"] or "", r"^testhost/web-frontend/\d+$",
                         "a hard problem has an open incident")
        self.assertIsNone(by_name["db"]["incident"])
        g = by_name["web-group"]
        self.assertEqual((g["kind"], g["state"], g["check"]), ("group", "critical", None))
        self.assertEqual(by_name["odd"]["output"], "bad bytes \ufffd\ufffd",
                         "bytes that are not UTF-8 are replaced")

    def names(self, path):
        status, _, body = self.get_json(path)
        self.assertEqual(status, 200, f"GET {path}: {body}")
        return sorted(s["name"] for s in body)

    def test_api_filters(self):
        self.assertEqual(self.names("/api/v1/services?state=critical"), ["web-frontend", "web-group"])
        self.assertEqual(self.names("/api/v1/services?state=WARNING,unknown"), ["cache", "odd"])
        self.assertEqual(self.names("/api/v1/services?state=pending"), [])
        self.assertEqual(self.names("/api/v1/services?label=team=web"), ["cache", "web-frontend"])
        self.assertEqual(self.names("/api/v1/services?label=team%3Dweb&state=warning"), ["cache"])
        self.assertEqual(self.names("/api/v1/services?label=team=web&label=service=clash"),
                         ["web-frontend"])
        self.assertEqual(self.names("/api/v1/services?label=team=nobody"), [])

    def test_api_bad_filters_are_400(self):
        for path, words in (("/api/v1/services?state=bogus", "is not one of"),
                            ("/api/v1/services?state=", "state is empty"),
                            ("/api/v1/services?label=team", "is not KEY=VALUE"),
                            ("/api/v1/services?label==x", "is not KEY=VALUE"),
                            ("/api/v1/services?" + "&".join(["label=a=b"] * 17), "at most")):
            status, _, body = self.get_json(path)
            self.assertEqual(status, 400, f"GET {path}: expected 400, got {status} {body}")
            self.assertIn(words, body.get("error", ""), f"GET {path}: {body}")

    def test_api_one_service_and_404(self):
        status, _, body = self.get_json("/api/v1/services/db")
        self.assertEqual((status, body["name"], body["state"]), (200, "db", "ok"))
        self.assertEqual(body["perfdata"], [{"label": "conn", "value": 3.0, "uom": "",
                                             "warn": "10", "crit": "20", "min": 0.0,
                                             "max": 100.0}])
        status, _, body = self.get_json("/api/v1/services/web%2Dfrontend")
        self.assertEqual((status, body.get("name")), (200, "web-frontend"),
                         "the name in the path is URL-decoded")
        status, hdrs, body = self.get_json("/api/v1/services/nope")
        self.assertEqual(status, 404)
        self.assertEqual(hdrs.get("content-type"), "application/json")
        self.assertEqual(body, {"error": 'no service named "nope"'})

    # -- the status page --------------------------------------------------

    def test_page_lists_services_by_severity_and_escapes_output(self):
        status, hdrs, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs.get("content-type"), "text/html; charset=utf-8")
        self.assertIn("default-src 'none'", hdrs.get("content-security-policy", ""))
        page = body.decode("utf-8")
        self.assertNotIn("<script", page, "service output must not become markup")
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; "
                      "&#39;single&#39;", page)
        order = [page.find(f'>{n}</a>') for n in ("web-frontend", "web-group", "odd", "cache", "db")]
        self.assertNotIn(-1, order, f"every service is on the page: {order}")
        self.assertEqual(order, sorted(order), "critical, unknown, warning, ok in that order")
        self.assertIn('<meta http-equiv="refresh" content="30">', page)
        for word, n in (("critical", 2), ("unknown", 1), ("warning", 1), ("ok", 1)):
            self.assertIn(f'<li class="{word}">{n} {word}</li>', page)

    def test_page_is_well_formed_html5_without_external_resources(self):
        page = self.get("/")[2].decode("utf-8")
        self.assertTrue(page.startswith("<!DOCTYPE html>\n"), page[:40])
        p = PageChecker()
        p.feed(page)
        p.close()
        self.assertEqual(p.errors, [], "elements closed out of order")
        self.assertEqual(p.stack, [], "elements left open")
        self.assertEqual(p.doctype, "DOCTYPE html")
        tags = [t for t, _ in p.tags]
        self.assertEqual(tags[:3], ["html", "head", "meta"])
        self.assertEqual(p.tags[0][1].get("lang"), "en")
        self.assertIn("title", tags)
        for tag, attrs in p.tags:
            self.assertNotIn(tag, ("script", "link", "img", "iframe"), tag)
            for a in ("src", "href"):
                if a in attrs:
                    self.assertFalse(re.match(r"^(https?:)?//", attrs[a]),
                                     f"external resource {tag} {a}={attrs[a]}")

    # -- everything else --------------------------------------------------

    def test_other_paths_and_methods(self):
        status, hdrs, body = self.get("/nope")
        self.assertEqual(status, 404)
        status, _, body = self.get_json("/api/v2/anything")
        self.assertEqual(status, 404)
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            status, hdrs, body = self.get("/metrics", method=method)
            self.assertEqual(status, 405, f"{method} /metrics")
            self.assertEqual(hdrs.get("allow"), "GET, HEAD")

    def test_bad_requests_never_crash_the_daemon(self):
        status, _, _ = self.get("/" + "a" * 300000)
        self.assertEqual(status, 414, "a URL larger than a connection's memory")
        for path in ("/api/v1/services?%zz=1&&&=&label=%ff=%00", "/api/v1/services/%00",
                     "/api/v1/services/%ff%fe", "/%2e%2e/%2e%2e/etc/passwd",
                     "/api/v1/services?state=" + "ok," * 3000):
            status, _, _ = self.get(path)
            self.assertIn(status, (200, 400, 404, 414), path[:80])
        # Thousands of arguments fill a connection's memory before an error
        # answer fits: libmicrohttpd then drops the connection after its
        # idle timeout. Meanwhile everyone else is served.
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET /?" + b"x=1&" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            t0 = time.monotonic()
            status, _, body = self.get_json("/health")
            self.assertEqual(status, 200, body)
            self.assertLess(time.monotonic() - t0, 2, "other clients wait for nobody")
        # Clients that send garbage, stop halfway, or go away halfway.
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s1, \
                socket.create_connection(("127.0.0.1", self.port), timeout=5) as s2:
            s1.sendall(b"\x00\x01\x02 garbage\r\n\r\n")
            s2.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            status, _, body = self.get_json("/health")
            self.assertEqual(status, 200, body)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        status, _, body = self.get_json("/health")
        self.assertEqual(status, 200, body)
        self.assertTrue(self.daemon.alive())

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            for path in ("/health", "/metrics", "/api/v1/services/db"):
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200, path)
        finally:
            conn.close()


# ----------------------------------------------------------------------
# Token, TLS, health, configuration: a daemon of their own
# ----------------------------------------------------------------------

class EndpointOptions(DaemonTest):
    def serve(self, http_extra="", services=None, main_extra="", **kw):
        self.port = free_port()
        d = self.start(COMMON + main_extra + http_section(self.port, http_extra),
                       {"services.conf": services or dummy("db", "ok", "fine")}, **kw)
        d.wait_for(r"http: serving https?://127\.0\.0\.1:%d/" % self.port, timeout=15)
        return d

    def test_bearer_token(self):
        tokdir = tempfile.mkdtemp(prefix="tocsin-token-")
        self.addCleanup(shutil.rmtree, tokdir, True)
        path = os.path.join(tokdir, "token")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        d = self.serve('    bearer_token_file = "%s"\n' % path)
        for p in ("/metrics", "/", "/api/v1/services", "/api/v1/services/db", "/nope"):
            status, hdrs, body = fetch(self.port, p)
            self.assertEqual(status, 401, f"{p} without a token")
            self.assertTrue(hdrs.get("www-authenticate", "").startswith("Bearer "), hdrs)
            status, hdrs, body = fetch(self.port, p, headers={"Authorization": "Bearer wrong"})
            self.assertEqual(status, 401, f"{p} with a wrong token")
            self.assertIn('error="invalid_token"', hdrs.get("www-authenticate", ""))
            status, _, body = fetch(self.port, p, headers={"Authorization": "Bearer " + TOKEN[:-1]})
            self.assertEqual(status, 401, f"{p} with a prefix of the token")
        good = {"Authorization": "Bearer " + TOKEN}
        for p in ("/metrics", "/", "/api/v1/services"):
            status, _, body = fetch(self.port, p, headers=good)
            self.assertEqual(status, 200, f"{p} with the token: {body[:200]!r}")
        status, _, body = fetch(self.port, "/health")
        self.assertEqual(status, 200, "/health needs no token")
        status, _, _ = fetch(self.port, "/health", headers={"Authorization": "Bearer wrong"})
        self.assertEqual(status, 200, "/health ignores a wrong token")
        status, _, _ = fetch(self.port, "/metrics", headers={"Authorization": "bearer " + TOKEN})
        self.assertEqual(status, 200, "the scheme is case-insensitive")
        self.assertIn("a bearer token is required except for /health", d.log())
        d.stop()
        self.assertNotIn(TOKEN, d.log(), "the token must never be logged")

    def test_tls(self):
        tlsdir = tempfile.mkdtemp(prefix="tocsin-tls-")
        self.addCleanup(shutil.rmtree, tlsdir, True)
        cert, key = os.path.join(tlsdir, "cert.pem"), os.path.join(tlsdir, "key.pem")
        p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        d = self.serve('    tls_cert = "%s"\n    tls_key = "%s"\n' % (cert, key))
        self.assertIn("http: serving https://127.0.0.1:%d/" % self.port, d.log())
        ctx = ssl.create_default_context(cafile=cert)
        status, _, body = fetch_json(self.port, "/health", context=ctx)
        self.assertEqual((status, body["status"]), (200, "ok"))
        status, _, body = fetch(self.port, "/metrics", context=ctx)
        self.assertEqual(status, 200)
        self.assertIn(b"tocsin_up 1", body)
        # Plain HTTP gets no answer from the TLS port.
        with self.assertRaises((http.client.HTTPException, OSError)):
            fetch(self.port, "/health", timeout=5)
        # A client that does not trust the certificate refuses it.
        with self.assertRaises(ssl.SSLError):
            fetch(self.port, "/health", context=ssl.create_default_context())
        status, _, _ = fetch(self.port, "/health", context=ctx)
        self.assertEqual(status, 200, "the daemon still serves after bad clients")

    def test_health_fails_while_the_scheduler_is_behind(self):
        # 600 services every second, two workers that queue 256 jobs each:
        # with both stopped, what does not fit stays due and grows late.
        services = "".join(dummy(f"s{i}", extra="    timeout = 10m\n") for i in range(600))
        d = self.serve('    health_max_lateness = 1s\n', services)
        self.wait_health(200)
        workers = self.children(d.proc.pid)
        self.assertGreaterEqual(len(workers), 2, "expected the check workers as children")
        self.addCleanup(self.signal_all, workers, signal.SIGCONT)
        self.signal_all(workers, signal.SIGSTOP)
        body = self.wait_health(503)
        self.assertEqual(body["status"], "unhealthy")
        self.assertTrue(any("behind" in r for r in body["reasons"]), body)
        self.assertGreater(body["overdue_seconds"], 1.0, body)
        page = fetch(self.port, "/")[2].decode()
        self.assertIn("Unhealthy: the scheduler is", page)
        self.signal_all(workers, signal.SIGCONT)
        body = self.wait_health(200)
        self.assertEqual(body["reasons"], [])

    def wait_health(self, want, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            status, _, body = fetch_json(self.port, "/health")
            if status == want:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"expected /health to answer {want} within {timeout}s; "
                                     f"it answers {status} {body}")
            time.sleep(0.2)

    @staticmethod
    def children(pid):
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == pid:
                    found.append(int(entry))
        return found

    @staticmethod
    def signal_all(pids, sig):
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass

    def test_port_in_use_is_reported_at_start(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            conf = ConfDir(COMMON + http_section(port))
            self.addCleanup(conf.cleanup)
            d = Daemon(conf.path)
            self.addCleanup(d.stop)
            d.wait_for(r"http: cannot listen on 127\.0\.0\.1:%d: Address already in use" % port)
            self.assertNotEqual(d.proc.wait(15), 0, "tocsind exits when it cannot serve")

    def test_disabled_endpoint_listens_nowhere(self):
        port = free_port()
        d = self.start(COMMON + 'http {\n    listen = "127.0.0.1:%d"\n    enabled = false\n}\n'
                       % port, {"a.conf": dummy("db")})
        d.wait_for(r"tocsind \S+ started")
        self.assertNotIn("http: serving", d.log())
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


class EndpointConfiguration(unittest.TestCase):
    def check(self, main):
        conf = ConfDir(main)
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        return conf.path, rc, out, err

    def test_bad_listen_is_reported_with_file_and_line(self):
        for listen, why in (("127.0.0.1", "expected \"ADDRESS:PORT\""),
                            ("localhost:9746", "is not an IPv4 address"),
                            ("127.0.0.1:70000", "is not a port number"),
                            ("::1:9746", "in brackets")):
            path, rc, out, err = self.check('host = "h"\n\nhttp {\n    enabled = true\n'
                                            '    listen = "%s"\n}\n' % listen)
            self.assertNotEqual(rc, 0, f"listen {listen!r}: expected -t to fail; it said {out}")
            self.assertIn(f'{path}:5: http: listen "{listen}": ', err)
            self.assertIn(why, err)
            self.assertEqual(err.count("http: listen"), 1, f"reported once: {err}")

    def test_unreadable_files_and_incomplete_tls(self):
        path, rc, out, err = self.check('http {\n    tls_cert = "/nonexistent/cert.pem"\n'
                                        '    tls_key = "/nonexistent/key.pem"\n}\n')
        self.assertNotEqual(rc, 0)
        self.assertIn(f"{path}:2: http: tls_cert /nonexistent/cert.pem: No such file or "
                      "directory", err)
        with tempfile.NamedTemporaryFile(suffix=".pem") as f:
            path, rc, out, err = self.check('http {\n    listen = "127.0.0.1:9746"\n'
                                            '    tls_cert = "%s"\n}\n' % f.name)
            self.assertNotEqual(rc, 0)
            self.assertIn(f"{path}:3: http: tls_cert and tls_key go together (only tls_cert "
                          "is set)", err)

    def test_token_problems(self):
        path, rc, out, err = self.check('http {\n    bearer_token_env = "TOCSIN_NO_SUCH_VAR"\n}\n')
        self.assertNotEqual(rc, 0)
        self.assertIn(f"{path}:2: http: bearer token: environment variable "
                      "TOCSIN_NO_SUCH_VAR is not set", err)
        path, rc, out, err = self.check('http {\n    bearer_token = "%s"\n'
                                        '    bearer_token_file = "/etc/hostname"\n}\n' % TOKEN)
        self.assertNotEqual(rc, 0)
        self.assertIn("http: bearer token: give the secret one way only", err)
        self.assertNotIn(TOKEN, err + out, "the token must never be printed")
        path, rc, out, err = self.check('http {\n    bearer_token_file = "/nonexistent/tok"\n}\n')
        self.assertNotEqual(rc, 0)
        self.assertIn(f"{path}:2: http: bearer_token_file /nonexistent/tok:", err)

    def test_valid_section_passes(self):
        path, rc, out, err = self.check('http {\n    listen = "[::1]:9746"\n'
                                        '    bearer_token = "%s"\n'
                                        '    health_max_lateness = 30s\n}\n' % TOKEN)
        self.assertEqual(rc, 0, err)
        self.assertNotIn(TOKEN, err + out)

    def test_http_section_belongs_in_the_main_file(self):
        conf = ConfDir("", {"x.conf": 'http {\n    listen = "127.0.0.1:1"\n}\n'})
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        self.assertNotEqual(rc, 0)
        self.assertRegex(err, r"x\.conf:1: http is a global option: put it at the top level "
                              r"of \S*tocsin\.conf")


if __name__ == "__main__":
    unittest.main()
