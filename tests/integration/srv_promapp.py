"""An application instrumented with Debian's python3-prometheus-client, on
a free loopback port, whose counters, histogram and gauge change only when
the test says, so that the rate, ratio and quantile the prometheus check
computes between two scrapes are known exactly.

  /metrics        the registry in the text format; after it is served,
                  the batch queued with after_next_scrape() is applied
  /auth/metrics   the same behind basic auth (USER / PASSWORD)
  /broken         text whose line BROKEN_LINE is malformed

The app's metrics:
  app_requests_total{code, route}              counter
  app_request_duration_seconds{route}          histogram, BUCKETS
  app_queue_length{queue}                      gauge

https: App(tls=(cert, key)) serves the same over TLS.
"""
import base64
import http.server
import ssl
import threading

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5)
USER = "scraper"
PASSWORD = "Prom-basic-S3cret"
BROKEN_LINE = 4
BROKEN = ("# HELP ok_total fine\n# TYPE ok_total counter\nok_total 1\n"
          'bad_metric{route="/a} 3\nafter 1\n')


class App:
    def __init__(self, tls=None):
        self.lock = threading.Lock()
        self.pending = None
        self.scrapes = 0
        self.reset()
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, code, body, ctype="text/plain; version=0.0.4", extra=()):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/broken":
                    self._send(200, BROKEN.encode())
                    return
                if self.path == "/auth/metrics":
                    want = "Basic " + base64.b64encode(
                        f"{USER}:{PASSWORD}".encode()).decode()
                    if self.headers.get("Authorization") != want:
                        self._send(401, b"who are you?\n", "text/plain",
                                   [("WWW-Authenticate", 'Basic realm="metrics"')])
                        return
                elif self.path != "/metrics":
                    self._send(404, b"not here\n", "text/plain")
                    return
                with app.lock:
                    body = prometheus_client.generate_latest(app.registry)
                    app.scrapes += 1
                    batch, app.pending = app.pending, None
                self._send(200, body)
                if batch:
                    app.apply(**batch)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls else "http"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/metrics"):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def reset(self):
        """A new registry: what a restarted application would show."""
        with self.lock:
            self.registry = CollectorRegistry()
            self.requests = Counter("app_requests_total", "Requests handled",
                                    ["code", "route"], registry=self.registry)
            self.duration = Histogram("app_request_duration_seconds", "Request time",
                                      ["route"], buckets=BUCKETS, registry=self.registry)
            self.queue = Gauge("app_queue_length", "Jobs waiting", ["queue"],
                               registry=self.registry)

    def apply(self, requests=(), queue=None, reset=False):
        """requests: (code, route, seconds, count) tuples; queue: {name: n}."""
        if reset:
            self.reset()
        with self.lock:
            for code, route, seconds, count in requests:
                self.requests.labels(code=str(code), route=route).inc(count)
                for _ in range(count):
                    self.duration.labels(route=route).observe(seconds)
            for name, n in (queue or {}).items():
                self.queue.labels(queue=name).set(n)

    def after_next_scrape(self, **batch):
        """Apply the batch right after the next /metrics answer is sent:
        between the two scrapes of a first check."""
        with self.lock:
            self.pending = batch

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
