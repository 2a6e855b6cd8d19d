#!/usr/bin/env python3
"""Benchmark of the http check: checks per CPU-second of the in-process
`http` plugin against the Monitoring Plugins' check_http run through the
`nagios` plugin, on the same local nginx, in the real daemon.

For each mode and service count, a configuration of N services checking
http://127.0.0.1:PORT/ every INTERVAL is written, `tocsind -f` is started
and warmed up, then a window is opened with SIGUSR1 (the daemon logs its
stats and resets its counters) and closed with a second SIGUSR1 after
WINDOW seconds. Checks and rate come from the daemon's stats line for the
window; CPU-seconds are those of tocsind and its workers over the window,
each counted with what it reaped (utime+stime+cutime+cstime from
/proc/PID/stat): check_http processes are reaped by the workers, so they
land in the workers' cutime+cstime. nginx's own CPU is not counted.

    bench/http.py                          # 50 and 200 services, 100ms
    bench/http.py --services 50,200,500 --window 20

See bench/http.md for how to read the figures. Nothing here passes or
fails: it prints measurements.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import srv_nginx  # noqa: E402  (the test suite's nginx fixture)

CLK_TCK = os.sysconf("SC_CLK_TCK")
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"

STATS_RE = re.compile(
    r"stats \(SIGUSR1\): checks=(?P<checks>\d+) seconds=(?P<seconds>[\d.]+) "
    r"rate=(?P<rate>[\d.]+)/s lateness_us p50=(?P<p50>-?\d+) p99=(?P<p99>-?\d+) "
    r"max=(?P<max>-?\d+)")
STARTED_RE = re.compile(r"tocsind \S+ started: (\d+) services")
PROBLEM_RE = re.compile(r"service '[^']*' on \S+: .*(WARNING|CRITICAL|UNKNOWN)")


class BenchError(Exception):
    """A run could not be measured; the message says why."""


def parse_ms(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("bad duration %r (use e.g. 100ms, 1s)" % text)
    return int(float(m.group(1)) * (1 if m.group(2) == "ms" else 1000))


def parse_counts(text):
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not N or N,M,..." % text)
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("counts must be positive")
    return counts


# ---------------------------------------------------------------------------
# CPU of the daemon and its workers, from /proc

def proc_stat(pid):
    """(ppid, own CPU s, reaped children's CPU s), or None when gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()   # fields[0] is the state
    own = (int(fields[11]) + int(fields[12])) / CLK_TCK
    kids = (int(fields[13]) + int(fields[14])) / CLK_TCK
    return int(fields[1]), own, kids


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def workers_of(core):
    """The core's forked workers: its children that carry its name (a
    plugin process it reaps as a subreaper has its own name)."""
    name = comm(core)
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st and st[0] == core and comm(int(entry)) == name:
                found.append(int(entry))
    return found


def cpu_sample(core):
    """{pid: own + reaped CPU seconds} for the core and its workers."""
    sample = {}
    for pid in [core] + workers_of(core):
        st = proc_stat(pid)
        if st:
            sample[pid] = st[1] + st[2]
    return sample


def cpu_delta(before, after):
    """CPU seconds spent between two samples. A worker that appears only
    in `after` counts from zero; one that died moved into the core's
    cutime, which the core's own figure then holds."""
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


# ---------------------------------------------------------------------------
# One run of the daemon

def write_config(directory, mode, services, interval_ms, port):
    os.mkdir(os.path.join(directory, "conf.d"))
    url = "http://127.0.0.1:%d/" % port
    if mode == "nagios":
        body = ('    check = "nagios"\n    command = "%s -H 127.0.0.1 -p %d -u /"\n'
                % (CHECK_HTTP, port))
    else:
        body = '    check = "http"\n    url = "%s"\n' % url
        if mode == "http-keepalive":
            body += "    keepalive = true\n"
    path = os.path.join(directory, "tocsin.conf")
    with open(path, "w") as f:
        f.write("# Written by bench/http.py: %d %s services every %dms.\n"
                % (services, mode, interval_ms))
        f.write("max_check_spread = %dms\n\n" % interval_ms)
        # No HTTP endpoint: the default port may be taken by another daemon.
        f.write("http {\n    enabled = false\n}\n\n")
        for i in range(services):
            f.write('service "web%d" {\n%s    interval = %dms\n    max_attempts = 1\n}\n'
                    % (i, body, interval_ms))
    return path


class Daemon:
    """tocsind -f with its log in a file; always stopped."""

    def __init__(self, args, conf, directory):
        self.cmd = [args.tocsind, "-f", "-c", conf, "-p", args.plugins,
                    "-w", str(args.workers), "-l", "info"]
        self.log_path = os.path.join(directory, "tocsind.log")
        self.log = open(self.log_path, "w+")
        self.proc = None

    def read_log(self, start=0):
        with open(self.log_path, errors="replace") as f:
            f.seek(start)
            return f.read()

    def tail(self, lines=20):
        return "\n".join(self.read_log().splitlines()[-lines:])

    def start(self, timeout=60.0):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if STARTED_RE.search(self.read_log()):
                return
            if self.proc.poll() is not None:
                raise BenchError("tocsind exited with %d before starting:\n%s"
                                 % (self.proc.returncode, self.tail()))
            time.sleep(0.05)
        raise BenchError("tocsind did not start within %.0f s:\n%s" % (timeout, self.tail()))

    def stats_after(self, offset, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = STATS_RE.search(self.read_log(offset))
            if m:
                return m
            time.sleep(0.02)
        raise BenchError("no stats line after SIGUSR1:\n%s" % self.tail())

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        self.proc = None


def measure(args, mode, services, port):
    """Run one configuration and return its figures as a dict."""
    directory = tempfile.mkdtemp(prefix="tocsin-bench-http-")
    daemon = None
    try:
        conf = write_config(directory, mode, services, args.interval, port)
        daemon = Daemon(args, conf, directory)
        print("# %s, %d services every %dms: %s" % (mode, services, args.interval,
                                                    " ".join(daemon.cmd)),
              file=sys.stderr, flush=True)
        daemon.start()
        core = daemon.proc.pid
        time.sleep(args.warmup)

        offset = len(daemon.read_log())
        cpu0 = cpu_sample(core)
        os.kill(core, signal.SIGUSR1)          # opens the window
        daemon.stats_after(offset)
        offset = len(daemon.read_log())
        time.sleep(args.window)
        cpu1 = cpu_sample(core)
        os.kill(core, signal.SIGUSR1)          # closes it
        stats = daemon.stats_after(offset)
        problems = len(PROBLEM_RE.findall(daemon.read_log()))
        cpu = cpu_delta(cpu0, cpu1)
        checks = int(stats.group("checks"))
        return {
            "mode": mode, "services": services,
            "asked": services * 1000.0 / args.interval,
            "checks": checks, "seconds": float(stats.group("seconds")),
            "rate": float(stats.group("rate")), "cpu": cpu,
            "per_cpu": checks / cpu if cpu > 0 else float("inf"),
            "p50": int(stats.group("p50")) / 1000.0,
            "p99": int(stats.group("p99")) / 1000.0,
            "problems": problems,
        }
    finally:
        if daemon:
            daemon.stop()
        shutil.rmtree(directory, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=parse_counts, default=[50, 200],
                    help="service counts, comma-separated (default 50,200)")
    ap.add_argument("--interval", type=parse_ms, default=100,
                    help="check interval of every service (default 100ms)")
    ap.add_argument("--window", type=float, default=10.0,
                    help="seconds measured per run (default 10)")
    ap.add_argument("--warmup", type=float, default=2.0,
                    help="seconds before the window opens (default 2)")
    ap.add_argument("--workers", type=int, default=4, help="tocsind -w (default 4)")
    ap.add_argument("--modes", default="http,nagios",
                    help="http, http-keepalive, nagios (default http,nagios)")
    ap.add_argument("--tocsind", default=os.path.join(ROOT, "core", "tocsind"))
    ap.add_argument("--plugins", default=os.path.join(ROOT, "plugins"))
    ap.add_argument("--port", type=int,
                    help="use the HTTP server on this loopback port instead of "
                         "starting nginx")
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in ("http", "http-keepalive", "nagios"):
            ap.error("unknown mode %r" % m)
    if "nagios" in modes and not os.access(CHECK_HTTP, os.X_OK):
        ap.error("%s is missing (monitoring-plugins-standard)" % CHECK_HTTP)
    for path in (args.tocsind, os.path.join(args.plugins, ".libs", "http.so")):
        if not os.path.exists(path):
            ap.error("%s is missing: build it first (see bench/http.md)" % path)

    nginx = None
    rows = []
    try:
        if args.port:
            port = args.port
        else:
            nginx = srv_nginx.Nginx().start()
            port = nginx.http_port
        for services in args.services:
            for mode in modes:
                rows.append(measure(args, mode, services, port))
    except BenchError as e:
        print("bench/http.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        if nginx:
            nginx.stop()

    print("%-15s %8s %8s %8s %8s %8s %10s %9s %9s %8s"
          % ("mode", "services", "asked/s", "checks", "rate/s", "cpu_s",
             "checks/cpu", "late_p50", "late_p99", "problems"))
    for r in rows:
        print("%-15s %8d %8.0f %8d %8.1f %8.2f %10.0f %7.1fms %7.1fms %8d"
              % (r["mode"], r["services"], r["asked"], r["checks"], r["rate"],
                 r["cpu"], r["per_cpu"], r["p50"], r["p99"], r["problems"]))
    for services in args.services:
        by = {r["mode"]: r for r in rows if r["services"] == services}
        base = by.get("nagios")
        for mode in ("http", "http-keepalive"):
            if mode in by and base and base["per_cpu"] > 0:
                print("ratio %s/nagios at %d services: %.1fx checks per CPU-second"
                      % (mode, services, by[mode]["per_cpu"] / base["per_cpu"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
