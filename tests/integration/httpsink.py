"""A local HTTP receiver for notifier tests: records every request and
answers from a script of responses (status, headers, body, delay), so a
test can play Slack, PagerDuty, an SMS gateway or a generic webhook, and can
answer 429 with Retry-After, 500, or hang."""
import http.server
import json
import threading
import time
import urllib.parse


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers          # dict, lower-case names
        self.body = body                # bytes
        self.at = time.time()           # when it came (wall clock)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def form(self):
        """The body as application/x-www-form-urlencoded: name -> [values]."""
        return urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True,
                                     strict_parsing=True)

    def __repr__(self):
        return "%s %s %r" % (self.method, self.path, self.body[:200])


class HttpSink:
    """Start with HttpSink(); stop with stop(). `requests` lists what came,
    `respond(...)` queues the next answers (default 200 with `default_body`).
    `port` picks the port (default: any free one), for a receiver that
    comes up where a notifier already tried and found nothing. Setting
    `answer_delay` makes every answer take that many seconds."""

    def __init__(self, default_status=200, default_body=b"ok",
                 default_headers=None, tls_context=None, port=0):
        self.requests = []
        self.script = []
        self.default = (default_status, default_headers or {}, default_body, 0)
        self.answer_delay = 0           # seconds to take over every answer
        self.lock = threading.Condition()
        self.stopping = threading.Event()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path,
                              {k.lower(): v for k, v in self.headers.items()}, body)
                with sink.lock:
                    status, headers, rbody, delay = (sink.script.pop(0) if sink.script
                                                     else sink.default)
                    sink.requests.append(req)
                    sink.lock.notify_all()
                if delay:
                    # A hanging receiver: hold the connection, then drop it.
                    sink.stopping.wait(delay)
                    self.close_connection = True
                    return
                if sink.answer_delay:
                    # A slow receiver: it answers, but takes its time.
                    sink.stopping.wait(sink.answer_delay)
                if isinstance(rbody, str):
                    rbody = rbody.encode()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(rbody)))
                    self.end_headers()
                    self.wfile.write(rbody)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (a timeout, or it was killed).
                    self.close_connection = True

            do_POST = do_GET = do_PUT = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        scheme = "https" if tls_context is not None else "http"
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def respond(self, status=200, body=b"ok", headers=None, delay=0, times=1):
        """Queue `times` answers; delay > 0 holds the request that long
        without answering (a hang)."""
        with self.lock:
            for _ in range(times):
                self.script.append((status, headers or {}, body, delay))

    def wait(self, count, timeout=30):
        """Wait until `count` requests have come; return them all."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("expected %d requests, got %d: %r"
                                         % (count, len(self.requests), self.requests))
                self.lock.wait(left)
            return list(self.requests)

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
