#!/usr/bin/python3
"""How fast the log check reads a large nginx access log.

Writes an nginx access log of --size bytes (1 GiB by default) in /tmp, in
the combined format with $request_time, every line time-stamped now (so
every line is inside the check's window), with a mix of clients, paths and
statuses (about 3 % 5xx). Then times, on that same file:

- Tocsin: `tocsin-check log` with two patterns (requests, with a client
  and a request-time group, and 5xx errors), reading the whole file
  (max_read larger than the file);
- `grep -cE` with the 5xx pattern (one pattern: grep counts one);
- `check_log` from the Monitoring Plugins, with the 5xx pattern and an
  empty "old" copy, so that the whole file is new to it (it diffs the log
  against the copy, greps the difference, then copies the log).

Each runs in its own process; wall time, CPU time (user + system, with its
children) and peak resident memory come from GNU time (package time). Prints lines/s, wall,
CPU and max RSS for each. It measures; it never passes or fails.

    bench/log.py [--builddir build] [--size 1073741824] [--keep]
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK_LOG = "/usr/lib/nagios/plugins/check_log"
TIME = "/usr/bin/time"

REQUESTS = (r'requests=^(?<client>\S+) \S+ \S+ \[[^]]+\] "[^"]*" (?<status>\d{3}) \d+ '
            r'"[^"]*" "[^"]*" (?<rt>[0-9.]+)$')
ERRORS = r'errors=" 5[0-9][0-9] '
GREP_ERRORS = r'" 5[0-9][0-9] '


def write_log(path, size):
    """An access log of at least `size` bytes; returns its line count."""
    rnd = random.Random(1)
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
    paths = ["/", "/index.html", "/api/v1/items", "/api/v1/items/42", "/static/app.js",
             "/login", "/search?q=tocsin", "/health"]
    agents = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/7.88.1", "Go-http-client/1.1"]
    lines = []
    for _ in range(20000):
        r = rnd.random()
        status = 500 + rnd.randrange(4) if r < 0.03 else 404 if r < 0.08 else 200
        lines.append(f"10.{rnd.randrange(4)}.{rnd.randrange(256)}.{rnd.randrange(256)} - - "
                     f"[{stamp}] \"GET {rnd.choice(paths)} HTTP/1.1\" {status} "
                     f"{rnd.randrange(100, 20000)} \"-\" \"{rnd.choice(agents)}\" "
                     f"{rnd.expovariate(20):.3f}\n")
    block = "".join(lines).encode()
    n = 0
    with open(path, "wb") as f:
        while f.tell() < size:
            f.write(block)
            n += len(lines)
    return n


def run(argv, workdir):
    """Run argv under GNU time (so that the peak memory is the tool's own,
    not that of this Python process it would be forked from); return
    (exit code, output, wall s, cpu s, max RSS KiB)."""
    stats = os.path.join(workdir, "time.out")
    p = subprocess.run([TIME, "-f", "%e %U %S %M", "-o", stats, *argv],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with open(stats) as f:
        wall, user, system, rss = f.read().split()[-4:]
    return (p.returncode, p.stdout[:1 << 16].decode(errors="replace"), float(wall),
            float(user) + float(system), int(rss))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--size", type=int, default=1 << 30)
    ap.add_argument("--keep", action="store_true", help="keep the generated log")
    args = ap.parse_args()

    check = os.path.join(args.builddir, "core", "tocsin-check")
    plugins = os.path.join(args.builddir, "plugins", ".libs")
    if not os.access(TIME, os.X_OK):
        sys.exit(f"{TIME} is missing: install the time package")
    if not os.access(check, os.X_OK):
        sys.exit(f"{check} is missing: build the tree first")
    d = tempfile.mkdtemp(prefix="tocsin-bench-log-", dir="/tmp")
    log = os.path.join(d, "access.log")
    try:
        t0 = time.monotonic()
        nlines = write_log(log, args.size)
        size = os.path.getsize(log)
        print(f"log: {size} bytes, {nlines} lines, written in {time.monotonic() - t0:.1f} s")
        # Read once so that every tool starts from the page cache.
        subprocess.run(["cat", log], stdout=subprocess.DEVNULL, check=True)

        rows = []
        rc, out, wall, cpu, rss = run(
            [check, "-p", plugins, "log", "--file", log, "--pattern", REQUESTS,
             "--pattern", ERRORS, "--max_read", str(size + 1), "--window", "1d"], d)
        rows.append(("tocsin-check log (2 patterns)", wall, cpu, rss, out.split(" | ")[0]))

        rc, out, wall, cpu, rss = run(["grep", "-cE", GREP_ERRORS, log], d)
        rows.append(("grep -cE (1 pattern)", wall, cpu, rss, out.strip()))

        if os.access(CHECK_LOG, os.X_OK):
            old = os.path.join(d, "access.log.old")
            open(old, "w").close()
            rc, out, wall, cpu, rss = run([CHECK_LOG, "-F", log, "-O", old, "-q", GREP_ERRORS,
                                           "-e"], d)
            rows.append(("check_log (1 pattern)", wall, cpu, rss, out.strip()[:100]))
        else:
            print(f"{CHECK_LOG} is missing (monitoring-plugins-standard): skipped")

        print(f"{'tool':32} {'lines/s':>12} {'wall s':>8} {'cpu s':>8} {'max RSS':>10}  output")
        for name, wall, cpu, rss, out in rows:
            print(f"{name:32} {nlines / wall:12.0f} {wall:8.2f} {cpu:8.2f} "
                  f"{rss / 1024:8.1f}MB  {out[:110]}")
    finally:
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print(f"kept {d}")


if __name__ == "__main__":
    main()
