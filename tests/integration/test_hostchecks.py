"""The host check plugins (memory, cpu, procs, uptime, net, diskio) through
tocsin-check: against the real /proc, and against fixture files under a
moved root (TOCSIN_PROC_ROOT, TOCSIN_SYS_ROOT) for exact figures, cgroup
v2 limits, counters that go back, and files that are missing or cut
short; and all six as services of a running daemon."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from tocsintest import (PLUGIN_PATH, SRCDIR, TOCSIN_CHECK, ConfDir, DaemonTest,
                        check_config, number, perfdata, show, tocsin_check)


class Root:
    """A throwaway directory standing for / with proc/ and sys/ below it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-hostroot-")
        self.env = dict(os.environ,
                        TOCSIN_PROC_ROOT=os.path.join(self.dir, "proc"),
                        TOCSIN_SYS_ROOT=os.path.join(self.dir, "sys"))

    def put(self, rel, text):
        path = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)
        return path

    def check(self, plugin, *args, during=()):
        """Run tocsin-check; with `during` ((rel, text), ...), rewrite those
        files once the plugin sleeps in its first sample window, so that the
        counters move between its two readings."""
        if not during:
            return tocsin_check(plugin, *args, env=self.env)
        p = subprocess.Popen([TOCSIN_CHECK, "-p", PLUGIN_PATH, plugin, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=self.env)
        try:
            limit = time.monotonic() + 30
            while not sleeping(p.pid):
                if p.poll() is not None or time.monotonic() > limit:
                    raise AssertionError(f"{plugin} never slept in a sample window")
                time.sleep(0.01)
            for rel, text in during:
                self.put(rel, text)
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        return p.returncode, out, err

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def sleeping(pid):
    """True while process `pid` sleeps in nanosleep (its sample window)."""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            if "nanosleep" in f.read():
                return True
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split()[0] in ("230", "35")  # x86_64 (clock_)nanosleep
    except (OSError, IndexError):
        return False


class RootTest(unittest.TestCase):
    def setUp(self):
        self.root = Root()
        self.addCleanup(self.root.cleanup)

    def expect(self, want_rc, pattern, plugin, *args, during=()):
        rc, out, err = self.root.check(plugin, *args, during=during)
        self.assertEqual(rc, want_rc, f"{plugin} {' '.join(args)}: expected exit "
                         f"{want_rc}; got {show(rc, out, err)}")
        self.assertRegex(out, pattern, f"{plugin} {' '.join(args)}: unexpected output")
        return out


MEMINFO = ("MemTotal:        8000000 kB\nMemFree:          500000 kB\n"
           "MemAvailable:    2000000 kB\nSwapTotal:       1000000 kB\n"
           "SwapFree:         250000 kB\n")


class Memory(RootTest):
    def test_real_proc_meminfo(self):
        with open("/proc/meminfo") as f:
            info = {l.split(":")[0]: int(l.split()[1]) for l in f}
        rc, out, err = tocsin_check("memory", "--warning", "100", "--critical", "100")
        self.assertEqual(rc, 0, show(rc, out, err))
        pct = number(perfdata(out)["used_pct"][0])
        expect = (info["MemTotal"] - info["MemAvailable"]) * 100 / info["MemTotal"]
        self.assertAlmostEqual(pct, expect, delta=2,
                               msg=f"used % {pct} far from /proc/meminfo's {expect:.1f}")
        self.assertEqual(number(perfdata(out)["used"][4]), info["MemTotal"] * 1024,
                         "the max of 'used' is MemTotal in bytes")

    def test_fixture_figures_and_thresholds(self):
        self.root.put("proc/meminfo", MEMINFO)
        out = self.expect(0, r"^MEMORY OK - 75\.0% used \(5\.7 GiB of 7\.6 GiB\), "
                          r"swap 75\.0% used \|", "memory")
        perf = perfdata(out)
        self.assertEqual(perf["used_pct"][:3], ["75%", "80", "90"])
        self.assertEqual(perf["used"][0], "%dB" % (6000000 * 1024))
        self.assertEqual(perf["available"][0], "%dB" % (2000000 * 1024))
        self.assertEqual(perf["swap_used"][0], "%dB" % (750000 * 1024))
        self.expect(1, r"^MEMORY WARNING - 75\.0% used", "memory", "--warning", "70")
        self.expect(2, r"^MEMORY CRITICAL - ", "memory", "--critical", "74.9")
        # Swap is judged only when asked.
        self.expect(1, r"^MEMORY WARNING - .*swap 75\.0% used", "memory",
                    "--swap_warning", "70")
        self.expect(2, r"^MEMORY CRITICAL", "memory", "--swap_critical", "50")

    def test_truncated_meminfo_is_unknown(self):
        self.root.put("proc/meminfo", MEMINFO[:40])
        self.expect(3, r"^MEMORY UNKNOWN - no MemAvailable in /proc/meminfo$", "memory")

    def test_missing_meminfo_is_unknown(self):
        self.expect(3, r"^MEMORY UNKNOWN - cannot open .*/proc/meminfo: No such file",
                    "memory")

    def test_cgroup_v2_limit_is_judged(self):
        self.root.put("proc/meminfo", MEMINFO)
        self.root.put("proc/self/cgroup", "0::/app.slice/web\n")
        group = "sys/fs/cgroup/app.slice/web/"
        self.root.put(group + "memory.max", "%d\n" % (1 << 30))
        self.root.put(group + "memory.current", "%d\n" % (1000 << 20))
        self.root.put(group + "memory.stat", "anon 1\ninactive_file %d\n" % (100 << 20))
        # (1000 - 100) MiB of 1024 MiB: 87.9 %.
        out = self.expect(1, r"^MEMORY WARNING - 87\.9% used \(900\.0 MiB of 1\.0 GiB "
                          r"cgroup limit of /app\.slice/web\)", "memory")
        self.assertIn("cgroup_limit", perfdata(out))
        # cgroup = false judges the host.
        self.expect(0, r"^MEMORY OK - 75\.0% used", "memory", "--cgroup", "false")
        # No limit ("max"): the host.
        self.root.put(group + "memory.max", "max\n")
        self.expect(0, r"^MEMORY OK - 75\.0% used \(5\.7 GiB of 7\.6 GiB\)", "memory")
        # A limit that is not a number: UNKNOWN, not the host's figures.
        self.root.put(group + "memory.max", "garbage\n")
        self.expect(3, r"^MEMORY UNKNOWN - cannot parse .*memory\.max", "memory")

    def test_bad_option_is_refused(self):
        rc, out, err = tocsin_check("memory", "--warning", "abc")
        self.assertEqual(rc, 3, show(rc, out, err))
        self.assertIn("warning", out)


def stat_text(user, system, idle, iowait, steal=0, cpus=1):
    line = f"{user} 0 {system} {idle} {iowait} 0 0 {steal} 0 0"
    text = f"cpu  {line}\n"
    for i in range(cpus):
        text += f"cpu{i} {line}\n"
    return text + "intr 1\nctxt 1\n"


class Cpu(RootTest):
    def test_real_proc_stat(self):
        rc, out, err = tocsin_check("cpu", "--warning", "101", "--critical", "101",
                                    "--per_cpu", "true")
        self.assertEqual(rc, 0, show(rc, out, err))
        self.assertRegex(out, r"^CPU OK - [\d.]+% busy \(user [\d.]+%, system [\d.]+%, "
                         r"iowait [\d.]+%, steal [\d.]+%\) over 1\.\d s \|")
        perf = perfdata(out)
        for label in ("busy", "user", "system", "iowait", "steal"):
            self.assertTrue(0 <= number(perf[label][0]) <= 100, f"{label}: {perf[label]}")
        ncpu = os.cpu_count()
        for i in range(ncpu):
            self.assertIn(f"cpu{i}_busy", perf, f"expected per-CPU perfdata: {out!r}")
        rc, out, err = tocsin_check("cpu", "--critical", "@0:100")
        self.assertEqual(rc, 2, show(rc, out, err))

    def test_first_check_samples_its_own_window(self):
        # 1000 ticks pass during the window: 600 user, 200 system, 100
        # iowait, 100 idle; busy is all but idle and iowait.
        later = (("proc/stat", stat_text(1600, 1200, 1100, 1100)),)
        self.root.put("proc/stat", stat_text(1000, 1000, 1000, 1000))
        out = self.expect(1, r"^CPU WARNING - 80\.0% busy \(user 60\.0%, system 20\.0%, "
                          r"iowait 10\.0%, steal 0\.0%\) over [\d.]+ s \|", "cpu",
                          "--sample_window", "1s", during=later)
        self.assertEqual(perfdata(out)["busy"][:3], ["80%", "70", "90"])
        # A mode's own range.
        self.root.put("proc/stat", stat_text(1000, 1000, 1000, 1000))
        self.expect(2, r"^CPU CRITICAL", "cpu", "--warning", "100", "--critical", "100",
                    "--iowait_critical", "5", during=later)

    def test_counters_going_back_are_unknown_not_negative(self):
        self.root.put("proc/stat", stat_text(5000, 5000, 5000, 5000))
        self.expect(3, r"^CPU UNKNOWN - the counters went back during the sample window",
                    "cpu", "--sample_window", "1s",
                    during=(("proc/stat", stat_text(10, 10, 10, 10)),))

    def test_truncated_and_missing_stat(self):
        self.root.put("proc/stat", "cpu  1 2\n")
        self.expect(3, r"^CPU UNKNOWN - cannot parse .*/proc/stat: fewer than 4 numbers",
                    "cpu")
        os.unlink(os.path.join(self.root.dir, "proc/stat"))
        self.expect(3, r"^CPU UNKNOWN - cannot open .*/proc/stat", "cpu")

    def test_unknown_mode_is_refused(self):
        rc, out, err = tocsin_check("cpu", "--modes", "bogus")
        self.assertEqual(rc, 3, show(rc, out, err))
        self.assertIn("unknown mode \"bogus\"", out)

    def test_cgroup_quota_is_judged(self):
        self.root.put("proc/stat", stat_text(1000, 1000, 1000, 1000))
        self.root.put("proc/self/cgroup", "0::/box\n")
        self.root.put("sys/fs/cgroup/box/cpu.max", "50000 100000\n")
        self.root.put("sys/fs/cgroup/box/cpu.stat",
                      "usage_usec 1000000\nuser_usec 800000\nsystem_usec 200000\n")
        # 0.45 s of CPU in about 1 s, with half a CPU allowed: about 90 %.
        later = (("sys/fs/cgroup/box/cpu.stat",
                  "usage_usec 1450000\nuser_usec 1200000\nsystem_usec 250000\n"),
                 ("proc/stat", stat_text(1100, 1100, 1100, 1100)))
        rc, out, err = self.root.check("cpu", "--sample_window", "1s",
                                       "--warning", "50", "--critical", "95", during=later)
        self.assertEqual(rc, 1, show(rc, out, err))
        m = re.match(r"^CPU WARNING - ([\d.]+)% of the cgroup limit of 0\.50 CPUs \(/box\) "
                     r"busy \(user ([\d.]+)%", out)
        self.assertIsNotNone(m, f"unexpected output {out!r}")
        self.assertTrue(80 <= float(m.group(1)) <= 91, out)
        self.assertIn("cgroup_busy", perfdata(out))


class Procs(RootTest):
    def test_real_proc_total(self):
        before = sum(1 for d in os.listdir("/proc") if d.isdigit())
        rc, out, err = tocsin_check("procs", "--warning", "100000", "--critical", "100000")
        after = sum(1 for d in os.listdir("/proc") if d.isdigit())
        self.assertEqual(rc, 0, show(rc, out, err))
        n = int(re.match(r"^PROCS OK: (\d+) processes \|", out).group(1))
        # Builds running beside the test start and end processes meanwhile.
        slack = max(20, max(before, after) // 5)
        self.assertTrue(min(before, after) - slack <= n <= max(before, after) + slack,
                        f"{n} processes counted, /proc had {before} then {after}")
        # The defaults without a filter: 200 and 300.
        rc, out, err = tocsin_check("procs")
        self.assertIn("procs=%d;200;300;0" % int(re.search(r"procs=(\d+)", out).group(1)),
                      out)

    def test_fixture_filters(self):
        def proc(pid, name, state, uid_args):
            self.root.put(f"proc/{pid}/stat", f"{pid} ({name}) {state} 1 1 1 0 -1\n")
            self.root.put(f"proc/{pid}/comm", name + "\n")
            self.root.put(f"proc/{pid}/cmdline", "\0".join(uid_args) + "\0")
        proc(1, "init", "S", ["/sbin/init"])
        proc(10, "nginx", "S", ["nginx:", "master", "process"])
        proc(11, "nginx", "S", ["nginx:", "worker", "process"])
        proc(12, "my proc) x", "R", ["weird"])
        proc(13, "defunct", "Z", [])
        self.expect(0, r"^PROCS OK: 5 processes \| procs=5;200;300;0$", "procs")
        self.expect(0, r"^PROCS OK: 2 processes with command name 'nginx' \| "
                    r"procs=2;;1:;0$", "procs", "--command", "nginx", "--critical", "1:")
        self.expect(2, r"^PROCS CRITICAL: 0 processes with command name 'apache2'",
                    "procs", "--command", "apache2", "--critical", "1:")
        self.expect(1, r"^PROCS WARNING: 1 process with command name 'nginx', "
                    r"regex args 'worker' ", "procs", "--command", "nginx",
                    "--argument_regex", "worker", "--warning", "2:")
        self.expect(0, r"^PROCS OK: 1 process with command name matching '\\\)' ",
                    "procs", "--command_regex", r"\)")
        self.expect(1, r"^PROCS WARNING: 1 process with status Z ", "procs",
                    "--state", "Z", "--warning", "0")
        # A process without a command line shows as [NAME], as ps shows it.
        self.expect(0, r"^PROCS OK: 1 process with args '\[defunct\]'", "procs",
                    "--argument", "[defunct]")

    def test_bad_stat_is_unknown(self):
        self.root.put("proc/7/stat", "garbage without parens\n")
        self.expect(3, r"^PROCS UNKNOWN - cannot parse .*/proc/7/stat", "procs",
                    "--state", "Z")

    def test_missing_proc_is_unknown(self):
        self.expect(3, r"^PROCS UNKNOWN - cannot open .*/proc/", "procs")

    def test_bad_options_are_refused(self):
        for args, what in ((["--argument_regex", "("], "bad regular expression"),
                           (["--user", "no-such-user-here"], "no user"),
                           (["--critical", "x"], "critical")):
            rc, out, err = tocsin_check("procs", *args)
            self.assertEqual(rc, 3, show(rc, out, err))
            self.assertIn(what, out)


class Uptime(RootTest):
    def test_real_proc_uptime(self):
        with open("/proc/uptime") as f:
            up = float(f.read().split()[0])
        rc, out, err = tocsin_check("uptime", "--warning", "0:")
        self.assertEqual(rc, 0, show(rc, out, err))
        self.assertAlmostEqual(number(perfdata(out)["uptime"][0]), up, delta=5)

    def test_fixture_recent_reboot_warns(self):
        self.root.put("proc/uptime", "300.25 100.00\n")
        out = self.expect(1, r"^UPTIME WARNING - up 5m 0s \(300 s\), rebooted recently \|",
                          "uptime")
        self.assertEqual(perfdata(out)["uptime"][:2], ["300s", "600:"])
        self.root.put("proc/uptime", "12345.67 23456.78\n")
        self.expect(0, r"^UPTIME OK - up 3h 25m \(12345 s\)", "uptime")
        self.expect(2, r"^UPTIME CRITICAL", "uptime", "--critical", "@10000:")

    def test_bad_uptime_is_unknown(self):
        self.root.put("proc/uptime", "soon\n")
        self.expect(3, r"^UPTIME UNKNOWN - cannot parse .*/proc/uptime: \"soon", "uptime")
        os.unlink(os.path.join(self.root.dir, "proc/uptime"))
        self.expect(3, r"^UPTIME UNKNOWN - cannot open", "uptime")


NETDEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: {lo} 10 0 0 0 0 0 0 {lo} 10 0 0 0 0 0 0
  eth0: {rx} {rxp} {err} {drop} 0 0 0 0 {tx} {txp} 0 0 0 0 0 0
"""


class Net(RootTest):
    def test_real_proc_net_dev(self):
        rc, out, err = tocsin_check("net", "--sample_window", "200ms")
        self.assertEqual(rc, 0, show(rc, out, err))
        self.assertRegex(out, r"^NET OK - ")
        self.assertNotIn("lo_rx_bytes_per_s", perfdata(out), "lo is excluded by default")

    def test_fixture_rates(self):
        self.root.put("proc/net/dev", NETDEV.format(lo=5, rx=1000, rxp=10, err=0,
                                                    drop=0, tx=2000, txp=20))
        later = (("proc/net/dev", NETDEV.format(
            lo=9, rx=1000 + 1000000, rxp=1010, err=5, drop=0, tx=2000, txp=20)),)
        rc, out, err = self.root.check("net", "--sample_window", "1s",
                                       "--errors_warning", "1", during=later)
        self.assertEqual(rc, 1, show(rc, out, err))
        self.assertRegex(out, r"^NET WARNING - eth0 \(alert\): rx \d+ B/s, tx 0 B/s")
        perf = perfdata(out)
        self.assertNotIn("lo_rx_bytes_per_s", perf)
        rx = number(perf["eth0_rx_bytes_per_s"][0])
        self.assertTrue(800000 <= rx <= 1000000, f"about 1 MB/s expected: {out!r}")
        self.assertTrue(number(perf["eth0_rx_errors_per_s"][0]) > 0)

    def test_counter_reset_and_no_match(self):
        self.root.put("proc/net/dev", NETDEV.format(lo=5, rx=10**9, rxp=10, err=0,
                                                    drop=0, tx=10**9, txp=20))
        later = (("proc/net/dev", NETDEV.format(lo=5, rx=10, rxp=1, err=0, drop=0,
                                                tx=10, txp=1)),)
        self.expect(3, r"^NET UNKNOWN - the counters went back", "net",
                    "--sample_window", "1s", during=later)
        self.expect(3, r"^NET UNKNOWN - no interface in .*net/dev matches", "net",
                    "--interface", "wlan*")

    def test_truncated_net_dev(self):
        self.root.put("proc/net/dev", NETDEV.format(lo=5, rx=1, rxp=1, err=0, drop=0,
                                                    tx=1, txp=1)[:-20])
        self.expect(3, r"^NET UNKNOWN - cannot parse /proc/net/dev line", "net")


DISKSTATS = """   7       0 loop0 10 0 20 1 0 0 0 0 0 1 1 0 0 0 0
   8       0 sda {r} 10 {rs} 500 {w} 20 {ws} 900 0 {ms} 1400 0 0 0 0
   8       1 sda1 900 10 180000 450 1900 20 380000 850 0 1100 1300 0 0 0 0
"""


class Diskio(RootTest):
    def test_real_proc_diskstats(self):
        rc, out, err = tocsin_check("diskio", "--sample_window", "200ms")
        if rc == 3 and "no device" in out:
            self.skipTest("no whole disk in /proc/diskstats here")
        self.assertEqual(rc, 0, show(rc, out, err))
        for label in perfdata(out):
            self.assertFalse(label.startswith(("loop", "ram")), f"{label} not skipped")

    def test_fixture_rates_util_and_skipped_devices(self):
        self.root.put("sys/block/sda/size", "100\n")
        self.root.put("proc/diskstats", DISKSTATS.format(r=1000, rs=0, w=0, ws=0, ms=0))
        # In about 1 s: 100 reads of 2048 sectors (1 MiB/s), busy 500 ms.
        later = (("proc/diskstats", DISKSTATS.format(r=1100, rs=2048, w=0, ws=0, ms=500)),)
        rc, out, err = self.root.check("diskio", "--sample_window", "1s",
                                       "--util_warning", "30", during=later)
        self.assertEqual(rc, 1, show(rc, out, err))
        perf = perfdata(out)
        self.assertEqual(sorted(k for k in perf if k.endswith("_util")), ["sda_util"],
                         f"loop0 and the partition sda1 are skipped: {out!r}")
        self.assertTrue(40 <= number(perf["sda_util"][0]) <= 50, out)
        self.assertTrue(850000 <= number(perf["sda_read_bytes_per_s"][0]) <= 1048576, out)
        # partitions = true keeps sda1 too.
        rc, out, err = self.root.check("diskio", "--partitions", "true",
                                       "--sample_window", "100ms")
        self.assertIn("sda1_util", perfdata(out), show(rc, out, err))

    def test_bad_diskstats(self):
        self.root.put("proc/diskstats", "   8       0 sda 1 2\n")
        self.expect(3, r"^DISKIO UNKNOWN - cannot parse /proc/diskstats line", "diskio")
        os.unlink(os.path.join(self.root.dir, "proc/diskstats"))
        self.expect(3, r"^DISKIO UNKNOWN - cannot open .*/proc/diskstats", "diskio")


class Examples(unittest.TestCase):
    def test_conf_examples_are_valid(self):
        files = {}
        for name in ("cpu", "memory", "procs", "uptime", "net", "diskio"):
            with open(os.path.join(SRCDIR, "conf.d", f"{name}.conf.example")) as f:
                files[f"{name}.conf"] = f.read()
        conf = ConfDir("", files)
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        self.assertEqual(rc, 0, f"tocsind -t refused the examples: {out!r} {err!r}")
        self.assertIn("configuration is valid: 8 services", out + err)


class ThroughDaemon(DaemonTest):
    def test_each_plugin_reports_in_the_daemon(self):
        files = {
            "hc.conf": "\n".join(
                f'service "hc-{name}" {{\n    check = "{name}"\n    interval = 1s\n'
                f'    max_attempts = 1\n{extra}}}\n'
                for name, extra in (
                    ("memory", '    warning = "100"\n    critical = "100"\n'),
                    ("cpu", '    warning = "101"\n    critical = "101"\n'
                            '    sample_window = 200ms\n'),
                    ("procs", '    command = "tocsind"\n    critical = "1:"\n'),
                    ("uptime", '    warning = "0:"\n'),
                    ("net", '    sample_window = 200ms\n'),
                    ("diskio", '    sample_window = 200ms\n    exclude_device = {}\n'
                               '    partitions = true\n'))),
        }
        d = self.start("max_check_spread = 1s\n", files)
        for name, text in (("memory", r"MEMORY OK - [\d.]+% used"),
                           ("cpu", r"CPU OK - [\d.]+% busy"),
                           ("procs", r"PROCS OK: \d+ process(es)? with command name "
                                     r"'tocsind'"),
                           ("uptime", r"UPTIME OK - up "),
                           ("net", r"NET OK - "),
                           ("diskio", r"DISKIO OK - ")):
            d.wait_for(rf"service 'hc-{name}' on \S+: first result OK: {text}", timeout=30)
        # cpu is stateful: its later results measure since the previous check.
        self.assertTrue(d.alive(), "tocsind exited:\n" + d.log())


if __name__ == "__main__":
    unittest.main()
