#!/usr/bin/env python3
"""CPU per check of the host checks, in process, against the Monitoring
Plugins they replace, run through the `nagios` plugin.

Each figure comes from bench/hostcheck-bench, which loads one plugin as
tocsin-check does and calls its check in a loop: user + system CPU time of
the process and of the commands it reaped (getrusage), per check, after one
check of warm-up. The pairs:

    memory                     check_swap -w 20% -c 10%
    cpu                        check_load -w 15,10,5 -c 30,25,20
    procs (every process)      check_procs -w 200 -c 300
    procs --command sshd       check_procs -C sshd -c 1:

It measures; nothing here passes or fails.

    bench/hostchecks.py [--count N] [--build DIR]
"""

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAGIOS = "/usr/lib/nagios/plugins"
LINE_RE = re.compile(r"cpu_us_per_check=([\d.]+) wall_us_per_check=([\d.]+) state=(\d)")

PAIRS = [
    ("memory", ["memory"], f"{NAGIOS}/check_swap -w 20% -c 10%"),
    # cpu is stateful: 20 ms between checks lets clock ticks pass, as the
    # interval between two checks of a service does.
    ("cpu", ["-i", "20", "cpu"], f"{NAGIOS}/check_load -w 15,10,5 -c 30,25,20"),
    ("procs", ["procs"], f"{NAGIOS}/check_procs -w 200 -c 300"),
    ("procs --command sshd", ["procs", "--command", "sshd", "--critical", "1:"],
     f"{NAGIOS}/check_procs -C sshd -c 1:"),
]


def run(bench, plugins, count, args):
    """(cpu µs per check, wall µs per check, state) of one series."""
    p = subprocess.run([bench, "-p", plugins, "-n", str(count), *args],
                       capture_output=True, text=True, timeout=1800)
    m = LINE_RE.search(p.stdout)
    if p.returncode != 0 or not m:
        sys.exit(f"hostcheck-bench {' '.join(args)} failed: {p.stdout}{p.stderr}")
    return float(m.group(1)), float(m.group(2)), int(m.group(3))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=200, help="checks per series")
    ap.add_argument("--build", default=ROOT, help="build directory (default: the tree)")
    opts = ap.parse_args()
    bench = os.path.join(opts.build, "bench", "hostcheck-bench")
    plugins = os.path.join(opts.build, "plugins")
    if not os.access(bench, os.X_OK):
        sys.exit(f"{bench} is not built: run make first")
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    nprocs = sum(1 for d in os.listdir("/proc") if d.isdigit())
    print(f"{opts.count} checks per series; load {load}, {nprocs} processes")
    print(f"{'tocsin check':<22} {'CPU/check':>10} {'wall':>10}   "
          f"{'through nagios':<42} {'CPU/check':>10} {'wall':>10} {'ratio':>7}")
    for name, args, command in PAIRS:
        ours = run(bench, plugins, opts.count, args)
        theirs = run(bench, plugins, max(20, opts.count // 4),
                     ["nagios", "--command", command])
        ratio = theirs[0] / ours[0] if ours[0] > 0 else float("inf")
        print(f"{name:<22} {ours[0]:>8.0f}us {ours[1]:>8.0f}us   "
              f"{command.replace(NAGIOS + '/', ''):<42} {theirs[0]:>8.0f}us "
              f"{theirs[1]:>8.0f}us {ratio:>6.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
