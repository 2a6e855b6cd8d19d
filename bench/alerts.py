#!/usr/bin/env python3
"""Benchmark of the alert pipeline: from a hard state change in tocsind to
the request that tells it arriving at a webhook receiver.

The daemon runs N services, each an exec check `test ! -e DIR/down/NAME`
(OK while the file is missing, WARNING once it exists), and one route that
sends everything to the `webhook` notifier, aimed at an HTTP receiver in
this process. The benchmark flips services by creating and removing those
files and measures:

  (a) latency: for each state change, the time from the daemon's log line
      of the hard change (written by the core just before it hands the
      change to alerting) to the arrival of the receiver's request that
      carries it; p50, p90, p99 and max. First with changes arriving at a
      moderate rate, one at a time; then inside the storm.
  (b) throughput: every service flipped at once: hard changes per second
      the checks produce, alerts per second the receiver gets, and the
      outbox depth (pending notifications, read from the daemon's SQLite
      store, read-only) over time.
  (c) backlog: every service flipped back at once while the receiver
      holds the request in flight unanswered until every recovery is
      judged, so that the whole storm waits in the outbox; then how fast
      it drains into the receiver.

See bench/README.md. These are measurements: nothing here passes or fails.
"""

import os
import sys

# bench/http.py (the http check's benchmark) would shadow the standard
# library's http package: leave this directory out of the search path.
sys.path = [p for p in sys.path
            if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import datetime  # noqa: E402
import http.server  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HARD_RE = re.compile(r"^(\S+ [+-]\d{4}) \S+: info: service '(s\d+)' on bench: "
                     r"(OK|WARNING) -> (OK|WARNING) \(hard")
FIRST_RE = re.compile(r"service 's\d+' on bench: first result ")


class BenchError(Exception):
    """The run could not be measured; the message says why."""


def parse_duration_s(text):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError("bad duration %r (use e.g. 500ms, 2s)" % text)
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2) or "s"]


def log_time(stamp):
    """A daemon log timestamp ("2026-11-22T20:47:27.431 +0000") in seconds."""
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f %z").timestamp()


def percentile(values, pct):
    """The pct-th percentile (nearest rank) of values; None when empty."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(pct / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def ms(x):
    return "-" if x is None else "%.1f" % (x * 1000)


# ---------------------------------------------------------------------------
# The receiver

class Receiver:
    """An HTTP server on 127.0.0.1 taking the webhook's POSTs. Records, for
    each alert, (arrival time, service, kind); answers 200, after
    `answer_delay` seconds when set."""

    def __init__(self, answer_delay=0.0):
        self.lock = threading.Lock()
        self.alerts = []            # (at, service, kind)
        self.requests = 0
        self.gate = threading.Event()   # cleared: requests wait unanswered
        self.gate.set()
        rcv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The answer in one segment, at once: unbuffered writes with
            # Nagle's algorithm would hold its body back until the client's
            # delayed ACK (40 ms), and the notifier waits for the answer.
            disable_nagle_algorithm = True
            wbufsize = 65536

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                at = time.time()
                try:
                    alerts = json.loads(body)["alerts"]
                except (ValueError, KeyError):
                    alerts = []
                with rcv.lock:
                    rcv.requests += 1
                    rcv.alerts.extend((at, a.get("service"), a.get("kind")) for a in alerts)
                rcv.gate.wait(60)
                if answer_delay:
                    time.sleep(answer_delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self):
        with self.lock:
            return list(self.alerts), self.requests

    def stop(self):
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------
# The daemon

class Daemon:
    def __init__(self, args, directory, port):
        self.dir = directory
        self.down = os.path.join(directory, "down")
        os.mkdir(self.down)
        self.conf = os.path.join(directory, "tocsin.conf")
        self.log_path = os.path.join(directory, "tocsind.log")
        self.db = os.path.join(directory, "state", "tocsin.db")
        self.names = ["s%04d" % i for i in range(args.services)]
        with open(self.conf, "w") as f:
            f.write('host = "bench"\nmax_check_spread = %dms\n' % (args.interval * 1000))
            f.write('state_dir = "%s/state"\ncontrol_socket = "%s/tocsind.sock"\n'
                    % (directory, directory))
            f.write('notifier "hook" {\n    plugin = "webhook"\n'
                    '    url = "http://127.0.0.1:%d/hook"\n    timeout = 60s\n'
                    '    retry_min = 1s\n    retry_max = 5s\n}\n' % port)
            f.write('route "all" {\n    notifiers = { "hook" }\n}\n')
            for name in self.names:
                f.write('service "%s" {\n    check = "nagios"\n'
                        '    command = "/usr/bin/test ! -e %s/%s"\n'
                        '    interval = %dms\n    retry_interval = %dms\n'
                        '    max_attempts = 1\n    timeout = 10s\n'
                        '    flap_detection = false\n}\n'
                        % (name, self.down, name, args.interval * 1000, args.interval * 1000))
        argv = [args.tocsind, "-f", "-c", self.conf, "-p", args.plugins, "-l", "info"]
        if args.workers:
            argv += ["-w", str(args.workers)]
        self.argv = argv
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.log, start_new_session=True)
        self.offset = 0
        self.partial = ""
        self.hard = {}              # (service, new state) -> [log times]
        self.first = 0

    def poll_log(self):
        """Read what the daemon logged since the last call."""
        with open(self.log_path) as f:
            f.seek(self.offset)
            chunk = f.read()
            self.offset = f.tell()
        text = self.partial + chunk
        lines = text.split("\n")
        self.partial = lines.pop()
        for line in lines:
            m = HARD_RE.match(line)
            if m:
                self.hard.setdefault((m.group(2), m.group(4)), []).append(log_time(m.group(1)))
            elif FIRST_RE.search(line):
                self.first += 1

    def tail(self, n=20):
        with open(self.log_path) as f:
            return "".join(f.readlines()[-n:])

    def alive(self):
        return self.proc.poll() is None

    def depth(self):
        """Pending notifications in the outbox (None before the store exists)."""
        try:
            con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=1)
            try:
                return con.execute("SELECT count(*) FROM outbox WHERE status = 1").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return None

    def flip(self, name, down):
        path = os.path.join(self.down, name)
        if down:
            open(path, "w").close()
        else:
            os.unlink(path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------------------
# Measuring

def wait(cond, timeout, daemon, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if not daemon.alive():
            raise BenchError("tocsind exited while waiting for %s:\n%s" % (what, daemon.tail()))
        if time.monotonic() > deadline:
            raise BenchError("timed out after %.0f s waiting for %s; log tail:\n%s"
                             % (timeout, what, daemon.tail()))
        time.sleep(0.05)
        daemon.poll_log()


def latencies(daemon, receiver, names, state, kind):
    """Seconds from each service's latest hard change to `state` to the
    first arrival of an alert of `kind` for it after that change."""
    alerts, _ = receiver.snapshot()
    arrivals = {}
    for at, svc, k in alerts:
        if k == kind:
            arrivals.setdefault(svc, []).append(at)
    out = []
    for name in names:
        t = daemon.hard.get((name, state), [None])[-1]
        if t is None:
            continue
        after = [a for a in arrivals.get(name, []) if a >= t - 0.002]
        if after:
            out.append(min(after) - t)
    return out


def received(receiver, names, kind, since):
    alerts, _ = receiver.snapshot()
    got = {svc for at, svc, k in alerts if k == kind and at >= since}
    return len(got & set(names))


def phase_latency(args, daemon, receiver):
    """Flip args.latency_count services down one at a time at
    args.latency_rate per second, then back up; return the latencies of
    problems and recoveries."""
    names = daemon.names[:args.latency_count]
    gap = 1.0 / args.latency_rate
    t0 = time.time()
    for name in names:
        daemon.flip(name, True)
        time.sleep(gap)
    wait(lambda: received(receiver, names, "problem", t0) == len(names),
         args.interval + 60, daemon, "the problems of the latency phase")
    t1 = time.time()
    for name in names:
        daemon.flip(name, False)
        time.sleep(gap)
    wait(lambda: received(receiver, names, "recovery", t1) == len(names),
         args.interval + 60, daemon, "the recoveries of the latency phase")
    daemon.poll_log()
    return (latencies(daemon, receiver, names, "WARNING", "problem"),
            latencies(daemon, receiver, names, "OK", "recovery"))


def phase_storm(args, daemon, receiver, down, hold):
    """Flip every service at once (down: to WARNING, else back to OK) and
    sample hard changes, alerts received and outbox depth every 100 ms
    until every change is told. With `hold`, the receiver keeps each
    request unanswered until every change is judged (so the outbox fills
    behind the one request in flight), then answers: the time from then
    to the last arrival is how fast the backlog drains."""
    names = daemon.names
    state, kind = ("WARNING", "problem") if down else ("OK", "recovery")
    _, requests_before = receiver.snapshot()
    daemon.poll_log()
    if hold:
        receiver.gate.clear()
    t0 = time.time()
    flipped, released = [], []

    def flip_all():
        for name in names:
            daemon.flip(name, down)
        flipped.append(time.time() - t0)
    flipper = threading.Thread(target=flip_all)
    flipper.start()
    samples = []
    limit = args.interval + 120
    deadline = time.monotonic() + limit
    try:
        while True:
            daemon.poll_log()
            hard = sum(1 for n in names
                       if any(t >= t0 for t in daemon.hard.get((n, state), [])))
            got = received(receiver, names, kind, t0)
            samples.append((time.time() - t0, hard, got, daemon.depth()))
            if hold and not released and hard == len(names):
                released.append((time.time(), got))
                receiver.gate.set()
            if got == len(names):
                break
            if not daemon.alive():
                raise BenchError("tocsind exited during the storm:\n" + daemon.tail())
            if time.monotonic() > deadline:
                raise BenchError("the storm was not told within %.0f s (%d of %d); log tail:\n%s"
                                 % (limit, got, len(names), daemon.tail()))
            time.sleep(0.1)
    finally:
        receiver.gate.set()
        flipper.join()
    daemon.poll_log()
    alerts, requests_after = receiver.snapshot()
    hard_times = [t for n in names for t in daemon.hard.get((n, state), []) if t >= t0]
    arrive = [at for at, svc, k in alerts if k == kind and at >= t0]
    out = {
        "kind": kind,
        "flipped_s": flipped[0],
        "first_hard": min(hard_times) - t0, "last_hard": max(hard_times) - t0,
        "first_arrival": min(arrive) - t0, "last_arrival": max(arrive) - t0,
        "requests": requests_after - requests_before,
        "samples": samples,
    }
    if hold:
        at, before = released[0]
        out["released"] = at - t0
        out["drained"] = len(names) - before
    else:
        out["latency"] = latencies(daemon, receiver, names, state, kind)
    return out


def report_storm(title, n, storm):
    hard_span = storm["last_hard"] - storm["first_hard"]
    told_span = storm["last_arrival"] - storm["first_hard"]
    print("\n%s: %d services flipped at once (files changed in %.2f s)"
          % (title, n, storm["flipped_s"]))
    print("  hard changes      %7.2f s .. %7.2f s after the flip: %8.1f /s"
          % (storm["first_hard"], storm["last_hard"], n / hard_span if hard_span else 0))
    print("  %-17s %7.2f s .. %7.2f s after the flip: %8.1f /s "
          "(first hard change to last arrival)"
          % ({"problem": "problems", "recovery": "recoveries"}[storm["kind"]] + " told",
             storm["first_arrival"], storm["last_arrival"],
             n / told_span if told_span else 0))
    print("  last arrival %.3f s after the last hard change; %d requests, %.1f alerts each"
          % (storm["last_arrival"] - storm["last_hard"], storm["requests"],
             n / storm["requests"] if storm["requests"] else 0))
    if "latency" in storm:
        report_latency("  latency in the storm", storm["latency"])
    if "released" in storm:
        drain = storm["last_arrival"] - storm["released"]
        print("  receiver held until every change was judged, released at %.2f s: "
              "%d alerts drained in %.3f s: %.1f /s"
              % (storm["released"], storm["drained"], drain,
                 storm["drained"] / drain if drain > 0 else 0))
    depths = [x[3] for x in storm["samples"] if x[3] is not None]
    print("  outbox depth: max %s, mean %.1f over %d samples"
          % (max(depths) if depths else "-", sum(depths) / len(depths) if depths else 0,
             len(depths)))
    print("\n  %7s %8s %8s %8s" % ("t_s", "hard", "told", "depth"))
    step, next_t = 0.5, 0.0
    for t, hard, got, depth in storm["samples"]:
        if t >= next_t or got == n:
            print("  %7.2f %8d %8d %8s" % (t, hard, got, "-" if depth is None else depth))
            next_t = t + step


def report_latency(title, values):
    print("%-28s n=%-5d p50=%6s ms  p90=%6s ms  p99=%6s ms  max=%6s ms"
          % (title, len(values), ms(percentile(values, 50)), ms(percentile(values, 90)),
             ms(percentile(values, 99)), ms(max(values) if values else None)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=1000,
                    help="services, all flipped at once in the storm (default 1000)")
    ap.add_argument("--interval", type=parse_duration_s, default=2.0,
                    help="check interval of every service (default 2s)")
    ap.add_argument("--latency-count", type=int, default=200,
                    help="services flipped one by one for the latency phase (default 200)")
    ap.add_argument("--latency-rate", type=float, default=20.0,
                    help="flips per second in the latency phase (default 20)")
    ap.add_argument("--answer-delay", type=parse_duration_s, default=0.0,
                    help="time the receiver takes over each answer (default 0)")
    ap.add_argument("--workers", type=int, default=0, help="tocsind -w (default: its own)")
    ap.add_argument("--tocsind", default=os.path.join(ROOT, "core", "tocsind"))
    ap.add_argument("--plugins", default=os.path.join(ROOT, "plugins"))
    ap.add_argument("--keep", action="store_true", help="keep the directory (log, store)")
    args = ap.parse_args()
    args.latency_count = min(args.latency_count, args.services)

    directory = tempfile.mkdtemp(prefix="tocsin-bench-alerts-")
    receiver = Receiver(args.answer_delay)
    daemon = None
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        daemon = Daemon(args, directory, receiver.port)
        print("# %s" % " ".join(daemon.argv), file=sys.stderr)
        wait(lambda: daemon.first >= args.services, args.interval + 120, daemon,
             "the first result of every service")
        print("services %d, check interval %gs, receiver answer delay %gs"
              % (args.services, args.interval, args.answer_delay))

        problems, recoveries = phase_latency(args, daemon, receiver)
        print("\n(a) latency, hard change (daemon log) -> request at the receiver, "
              "%d flips at %g/s" % (args.latency_count, args.latency_rate))
        report_latency("  problems", problems)
        report_latency("  recoveries", recoveries)
        report_latency("  all", problems + recoveries)

        n = args.services
        report_storm("(b) storm of problems", n, phase_storm(args, daemon, receiver, True, False))
        report_storm("(c) storm of recoveries, backlog", n,
                     phase_storm(args, daemon, receiver, False, True))
        return 0
    except BenchError as e:
        print("bench/alerts.py: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench/alerts.py: interrupted", file=sys.stderr)
        return 130
    finally:
        if daemon:
            daemon.stop()
        receiver.stop()
        if args.keep:
            print("# kept %s" % directory, file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
