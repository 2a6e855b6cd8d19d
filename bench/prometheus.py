#!/usr/bin/python3
"""How fast the prometheus check reads an exporter's whole output.

Starts Debian's prometheus-node-exporter on a free loopback port with its
default collectors, saves one scrape, then times on that same text:

- Tocsin: bench/promtext-bench (built by `make`), which parses the text
  and collects the series of ten expressions, as one check does, in a
  loop;
- python3-prometheus-client: text_string_to_metric_families() over the
  text, every sample consumed, in a loop (parsing only, no evaluation).

Each side runs in its own process, so that its peak resident memory is its
own, and is timed in CPU time (a loaded machine stretches wall-clock time
but not that). Prints the time per pass and the peak memory of both, and the ratio.
It measures; it never passes or fails.

    bench/prometheus.py [--builddir build-h] [--passes 200] [--text FILE]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# bench/http.py would shadow the standard library's http package.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import urllib.request  # noqa: E402
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"

EXPRESSIONS = [
    "cpu: rate(node_cpu_seconds_total{mode!=\"idle\"}) by cpu warning 0.9",
    "idle: rate(node_cpu_seconds_total{mode=\"idle\"})",
    "load: node_load1 warning 4 critical 8",
    "mem: node_memory_MemAvailable_bytes critical 100000000:",
    "fs: node_filesystem_avail_bytes{fstype!~\"tmpfs|overlay\"} by mountpoint",
    "rx: rate(node_network_receive_bytes_total{device!=\"lo\"}) by device",
    "errs: rate(node_network_receive_errs_total) / rate(node_network_receive_packets_total)",
    "gc: p99(go_gc_duration_seconds)",
    "scrape: rate(promhttp_metric_handler_requests_total{code=~\"2..\"})",
    "any: {__name__=~\"node_.*_bytes\"}",
]

PY_SIDE = r"""
import sys, time
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
n = int(sys.argv[2])
t0 = time.process_time()
for _ in range(n):
    count = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            count += 1
t1 = time.process_time()
peak = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(count, (t1 - t0) / n * 1e6, peak)
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape_node_exporter(path):
    port = free_port()
    proc = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                              timeout=10).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait()
    with open(path, "wb") as f:
        f.write(text)
    return len(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=os.environ.get("TOCSIN_BUILDDIR",
                                                         os.path.join(HERE, "..", "build-h")))
    ap.add_argument("--passes", type=int, default=200)
    ap.add_argument("--text", help="a saved scrape instead of node_exporter's")
    a = ap.parse_args()
    driver = os.path.join(a.builddir, "bench", "promtext-bench")
    if not os.access(driver, os.X_OK):
        sys.exit(f"{driver} is missing: run make in {a.builddir}")
    # The program itself rather than libtool's wrapper script, whose shell
    # would count in the peak memory.
    env = dict(os.environ)
    real = os.path.join(a.builddir, "bench", ".libs", "promtext-bench")
    if os.access(real, os.X_OK):
        driver = real
        env["LD_LIBRARY_PATH"] = os.path.join(a.builddir, "core", ".libs")
    with tempfile.TemporaryDirectory(prefix="tocsin-prom-bench-") as tmp:
        path = a.text or os.path.join(tmp, "node.txt")
        size = os.path.getsize(path) if a.text else scrape_node_exporter(path)
        lines = sum(1 for _ in open(path, "rb"))
        out = subprocess.run([driver, path, str(a.passes), *EXPRESSIONS],
                             capture_output=True, text=True, check=True,
                             env=env).stdout.split()
        fields = dict(zip(out[0::2], out[1::2]))
        t_us, t_rss = float(fields["us_per_pass"]), int(fields["maxrss_kb"])
        py = subprocess.run(["/usr/bin/python3", "-c", PY_SIDE, path,
                             str(max(1, a.passes // 10))],
                            capture_output=True, text=True, check=True).stdout.split()
        p_samples, p_us, p_rss = int(py[0]), float(py[1]), int(py[2])
    print(f"text: {size} bytes, {lines} lines, {fields['samples']} samples "
          f"(prometheus_client: {p_samples})")
    print(f"tocsin promtext + 10 expressions: {t_us:10.1f} us CPU per pass, "
          f"peak RSS (VmHWM) {t_rss} KiB, {fields['series']} series kept")
    print(f"prometheus_client parser:         {p_us:10.1f} us CPU per pass, "
          f"peak RSS (VmHWM) {p_rss} KiB")
    print(f"ratio: tocsin is {p_us / t_us:.1f}x faster")


if __name__ == "__main__":
    main()
