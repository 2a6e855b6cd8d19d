#!/usr/bin/env python3
"""Reload time and memory of tocsind at 1,000, 20,000 and 100,000 services.

For each size: write N `dummy` services (interval 60 s) into a throwaway
configuration, start `tocsind -f`, wait until every service has run once,
read the resident memory (RSS of the core, PSS of the core and all its
workers), then time `tocsinctl reload` twice: once with nothing changed and
once with 1 % of the services changed and 1 % added. The time is the
daemon's own figure ("configuration reloaded in X ms") and the wall time
tocsinctl waited. These are measurements: nothing here passes or fails.

    bench/reload.py [--sizes 1000,20000,100000] [--build DIR]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELOADED_RE = re.compile(r"configuration reloaded in ([\d.]+) ms: (\d+) services \((\d+) kept")


def pss_kb(pid):
    """Proportional set size of one process, in KiB (0 if unreadable)."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid):
    out = []
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            out = [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def write_conf(path, n, changed=0, added=0):
    with open(path, "w") as f:
        f.write('log_level = "info"\nmax_check_spread = 5s\n')
        f.write('state_dir = "%s/state"\ncontrol_socket = "%s/ctl.sock"\n'
                % (os.path.dirname(path), os.path.dirname(path)))
        f.write('notifier "console" { plugin = "console" }\n')
        for i in range(n + added):
            state = 1 if i < changed else 0
            f.write('service "svc-%06d" { check = "dummy" interval = 60s state = %d }\n'
                    % (i, state))


def wait_for(log, pattern, timeout):
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern)
    while time.monotonic() < deadline:
        with open(log) as f:
            m = None
            for line in f:
                m = rx.search(line) or m
            if m:
                return m
        time.sleep(0.05)
    raise RuntimeError("no log line matching %r within %ss" % (pattern, timeout))


def reload(build, conf, log, plugins, seen):
    t0 = time.monotonic()
    sock = os.path.join(os.path.dirname(conf), "ctl.sock")
    r = subprocess.run([os.path.join(build, "core", "tocsinctl"), "-s", sock, "reload"],
                       capture_output=True, text=True, timeout=300)
    wall = (time.monotonic() - t0) * 1000
    if r.returncode != 0:
        raise RuntimeError("reload failed: " + r.stderr)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(log) as f:
            found = RELOADED_RE.findall(f.read())
        if len(found) > seen:
            ms, total, kept = found[-1]
            return float(ms), wall, int(total), int(kept)
        time.sleep(0.05)
    raise RuntimeError("the daemon did not log the reload")


def run(build, n):
    tmp = tempfile.mkdtemp(prefix="tocsin-reload-")
    conf = os.path.join(tmp, "tocsin.conf")
    log = os.path.join(tmp, "tocsind.log")
    plugins = os.path.join(build, "plugins", ".libs")
    write_conf(conf, n)
    with open(log, "w") as out:
        proc = subprocess.Popen([os.path.join(build, "core", "tocsind"), "-f", "-c", conf,
                                 "-p", plugins, "-w", "4"], stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        wait_for(log, r"started: %d services" % n, 120)
        time.sleep(6)  # every service has run once (max_check_spread 5s)
        core_rss = rss_kb(proc.pid)
        pss = pss_kb(proc.pid) + sum(pss_kb(c) for c in children(proc.pid))
        same_ms, same_wall, _, kept1 = reload(build, conf, log, plugins, 0)
        write_conf(conf, n, changed=n // 100, added=n // 100)
        chg_ms, chg_wall, total, kept2 = reload(build, conf, log, plugins, 1)
        print("%7d services: core RSS %6.1f MiB, PSS (core + workers) %6.1f MiB; "
              "reload unchanged %7.1f ms (tocsinctl %7.1f ms, %d kept); "
              "1%% changed + 1%% added %7.1f ms (tocsinctl %7.1f ms, %d kept of %d)"
              % (n, core_rss / 1024, pss / 1024, same_ms, same_wall, kept1, chg_ms,
                 chg_wall, kept2, total), flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,20000,100000")
    ap.add_argument("--build", default=os.environ.get("TOCSIN_BUILDDIR", ROOT))
    args = ap.parse_args()
    for n in [int(x) for x in args.sizes.split(",")]:
        run(args.build, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
