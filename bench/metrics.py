#!/usr/bin/env python3
"""Benchmark of the HTTP endpoint: what serving /metrics (and the JSON API
and status page) costs the daemon with many services.

A configuration of N dummy services (default 20,000; each with labels and
three perfdata items, states mixed) is written, `tocsind -f` is started
with its HTTP endpoint on a free loopback port, and once every service has
a result, each path is requested R times, one request after another, on a
new connection each. For each path it prints the response size, the wall
time of a request as the client sees it (median, 90th percentile, max),
the CPU the daemon's core process spent per request (utime+stime from
/proc/PID/stat over all R requests, divided by R; the checks running
meanwhile are included: idle_ms/s is that rate without requests), and
stall_ms: the longest a /health request, asked every 10 ms on another
connection meanwhile, had to wait. Requests are answered inside the
daemon's event loop, so stall_ms is also about how long the scheduler
waited behind an answer.

    bench/metrics.py                            # 20,000 services, 20 requests per path
    bench/metrics.py --services 5000,20000 --requests 50
    bench/metrics.py --paths /metrics

Nothing here passes or fails: it prints measurements.
"""

import os
import sys

# bench/http.py would shadow the standard library's http package.
sys.path = [p for p in sys.path
            if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVING_RE = re.compile(r"http: serving http://")
STATES = ["ok"] * 7 + ["warning", "critical", "unknown"]


class BenchError(Exception):
    """A run could not be measured; the message says why."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(directory, services, interval, spread, port):
    path = os.path.join(directory, "tocsin.conf")
    os.mkdir(os.path.join(directory, "conf.d"))
    with open(path, "w") as f:
        f.write("# Written by bench/metrics.py: %d dummy services.\n" % services)
        f.write('state_dir = "%s/state"\ncontrol_socket = "%s/tocsind.sock"\n'
                % (directory, directory))
        f.write('max_check_spread = %s\nlog_level = "info"\nhost = "bench"\n\n' % spread)
        f.write('http {\n    listen = "127.0.0.1:%d"\n}\n\n' % port)
        for i in range(services):
            f.write('service "svc-%05d" {\n    check = "dummy"\n    interval = %s\n'
                    '    max_attempts = 1\n    state = "%s"\n'
                    '    output = "service %d answers in 12 ms"\n'
                    '    perfdata = "time=12ms;100;200;0 size=%dKB;;;0 load=0.%d;1;2"\n'
                    '    labels {\n        team = "team%d"\n        tier = "%s"\n    }\n}\n'
                    % (i, interval, STATES[i % len(STATES)], i, i % 977, i % 10, i % 40,
                       "web" if i % 3 else "db"))
    return path


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime + stime


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def get(port, path, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise BenchError("GET %s answered %d: %r" % (path, r.status, body[:200]))
        return body
    finally:
        conn.close()


class Daemon:
    """tocsind -f with its log in a file; always stopped."""

    def __init__(self, args, conf, directory):
        self.cmd = [args.tocsind, "-f", "-c", conf, "-p", args.plugins, "-l", "info"]
        if args.workers:
            self.cmd += ["-w", str(args.workers)]
        self.log_path = os.path.join(directory, "tocsind.log")
        self.log = open(self.log_path, "w+")
        self.proc = None

    def tail(self, lines=20):
        with open(self.log_path, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])

    def start(self, timeout=120.0):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, errors="replace") as f:
                if SERVING_RE.search(f.read()):
                    return
            if self.proc.poll() is not None:
                raise BenchError("tocsind exited with %d before serving:\n%s"
                                 % (self.proc.returncode, self.tail()))
            time.sleep(0.1)
        raise BenchError("tocsind did not serve within %.0f s:\n%s" % (timeout, self.tail()))

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        self.proc = None


def wait_all_checked(port, services, timeout):
    """Wait until every service has had a result (checks_total >= N)."""
    deadline = time.monotonic() + timeout
    while True:
        health = json.loads(get(port, "/health"))
        if health["checks_total"] >= services:
            return
        if time.monotonic() > deadline:
            raise BenchError("only %d of %d services checked after %.0f s"
                             % (health["checks_total"], services, timeout))
        time.sleep(0.5)


class Prober(threading.Thread):
    """Asks /health every 10 ms on a connection of its own, and keeps the
    longest wait: how long the event loop was held up by other answers."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.worst = port, threading.Event(), 0.0

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while not self.stop.is_set():
            t0 = time.perf_counter()
            conn.request("GET", "/health")
            conn.getresponse().read()
            self.worst = max(self.worst, (time.perf_counter() - t0) * 1000.0)
            time.sleep(0.01)
        conn.close()


def measure_path(port, pid, path, requests):
    for _ in range(2):                       # warm-up
        get(port, path)
    walls, size = [], 0
    prober = Prober(port)
    prober.start()
    cpu0 = cpu_ticks(pid)
    for _ in range(requests):
        t0 = time.perf_counter()
        body = get(port, path)
        walls.append((time.perf_counter() - t0) * 1000.0)
        size = len(body)
    cpu = (cpu_ticks(pid) - cpu0) / CLK_TCK
    prober.stop.set()
    prober.join()
    walls.sort()
    return {
        "stall_ms": prober.worst,
        "path": path, "requests": requests, "bytes": size,
        "median_ms": statistics.median(walls),
        "p90_ms": walls[min(len(walls) - 1, int(len(walls) * 0.9))],
        "max_ms": walls[-1],
        "cpu_ms": cpu * 1000.0 / requests,
    }


def idle_cpu_ms(pid, seconds):
    """CPU ms per second the core spends without requests (checks only)."""
    cpu0 = cpu_ticks(pid)
    time.sleep(seconds)
    return (cpu_ticks(pid) - cpu0) * 1000.0 / CLK_TCK / seconds


def run(args, services):
    directory = tempfile.mkdtemp(prefix="tocsin-bench-metrics-")
    daemon = None
    try:
        port = free_port()
        conf = write_config(directory, services, args.interval, args.spread, port)
        daemon = Daemon(args, conf, directory)
        print("# %d services: %s" % (services, " ".join(daemon.cmd)), file=sys.stderr,
              flush=True)
        t0 = time.monotonic()
        daemon.start()
        wait_all_checked(port, services, timeout=args.wait)
        print("# every service checked %.1f s after the start" % (time.monotonic() - t0),
              file=sys.stderr, flush=True)
        pid = daemon.proc.pid
        rows = []
        idle = idle_cpu_ms(pid, args.idle) if args.idle > 0 else None
        for path in args.paths:
            row = measure_path(port, pid, path, args.requests)
            row["services"] = services
            row["idle_cpu_ms_per_s"] = idle
            row["rss_mib"] = rss_mib(pid)
            rows.append(row)
        return rows
    finally:
        if daemon:
            daemon.stop()
        shutil.rmtree(directory, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", default="20000",
                    help="service counts, comma-separated (default 20000)")
    ap.add_argument("--requests", type=int, default=20,
                    help="requests per path (default 20)")
    ap.add_argument("--paths", default="/metrics,/api/v1/services,/",
                    help="paths to request, comma-separated (default /metrics,"
                         "/api/v1/services,/)")
    ap.add_argument("--interval", default="60s", help="every service's interval (default 60s)")
    ap.add_argument("--spread", default="10s",
                    help="max_check_spread: all services have run once within it (default 10s)")
    ap.add_argument("--idle", type=float, default=5.0,
                    help="seconds to measure the core's CPU without requests first "
                         "(default 5; 0 to skip)")
    ap.add_argument("--wait", type=float, default=180.0,
                    help="seconds to wait for every service's first result (default 180)")
    ap.add_argument("--workers", type=int, default=0, help="tocsind -w (default: its own)")
    ap.add_argument("--tocsind", default=os.path.join(ROOT, "core", "tocsind"))
    ap.add_argument("--plugins", default=os.path.join(ROOT, "plugins"))
    args = ap.parse_args()
    args.paths = [p for p in args.paths.split(",") if p]
    counts = [int(x) for x in args.services.split(",") if x]

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    print("%-18s %8s %6s %12s %10s %8s %8s %10s %9s %10s %8s" % (
        "path", "services", "reqs", "bytes", "median_ms", "p90_ms", "max_ms", "cpu_ms/req",
        "stall_ms", "idle_ms/s", "rss_MiB"))
    try:
        for n in counts:
            for r in run(args, n):
                print("%-18s %8d %6d %12d %10.1f %8.1f %8.1f %10.1f %9.1f %10s %8.1f" % (
                    r["path"], r["services"], r["requests"], r["bytes"], r["median_ms"],
                    r["p90_ms"], r["max_ms"], r["cpu_ms"], r["stall_ms"],
                    "-" if r["idle_cpu_ms_per_s"] is None else "%.1f" % r["idle_cpu_ms_per_s"],
                    r["rss_mib"]), flush=True)
    except BenchError as e:
        print("bench/metrics.py: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
