"""The built-in check plugins run standalone through tocsin-check, as
Nagios would run them: dummy's states, output and option errors; load's
output, perfdata, thresholds and per-CPU mode against /proc/loadavg; disk's
used % against df, its thresholds, its errors, the filesystems it skips,
and a small tmpfs filled past the critical threshold."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from tocsintest import STATES, perfdata, show, tocsin_check


# Filesystem types the disk check leaves out unless told otherwise.
PSEUDO_TYPES = {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2",
                "pstore", "bpf", "tracefs", "debugfs", "securityfs", "configfs",
                "fusectl", "mqueue", "hugetlbfs", "autofs", "binfmt_misc", "squashfs",
                "nsfs", "efivarfs", "rpc_pipefs", "ramfs", "selinuxfs", "nfsd"}


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def df_used_pct(path):
    """Used % of the filesystem holding `path`, as df shows it."""
    p = subprocess.run(["df", "--output=pcent", path], capture_output=True, text=True,
                       timeout=30)
    if p.returncode != 0:
        raise AssertionError(f"df {path} failed: {p.stderr}")
    return int(p.stdout.split("\n")[1].strip().rstrip("%"))


def mounts():
    """[(mount point, type)] from /proc/self/mounts."""
    out = []
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3:
                out.append((fields[1].replace("\\040", " "), fields[2]))
    return out


class Dummy(unittest.TestCase):
    def test_each_state_exact_output_and_exit_code(self):
        for code, state in enumerate(["ok", "warning", "critical", "unknown"]):
            with self.subTest(state=state):
                rc, out, err = tocsin_check("dummy", "--state", state,
                                            "--output", f"dummy text for {state}")
                self.assertEqual((rc, out), (code, f"dummy text for {state}\n"),
                                 f"expected exit {code} and the text; got {show(rc, out, err)}")

    def test_defaults(self):
        rc, out, err = tocsin_check("dummy")
        self.assertEqual((rc, out), (0, "dummy check\n"),
                         f"expected OK with 'dummy check'; got {show(rc, out, err)}")

    def test_state_names_are_case_insensitive_and_option_equals_form(self):
        rc, out, err = tocsin_check("dummy", "--state=CRITICAL", "--output=disk on fire")
        self.assertEqual((rc, out), (2, "disk on fire\n"),
                         f"expected CRITICAL with the text; got {show(rc, out, err)}")

    def test_invalid_state_is_unknown_with_reason(self):
        rc, out, err = tocsin_check("dummy", "--state", "sideways")
        self.assertEqual(rc, 3, f"expected exit 3; got {show(rc, out, err)}")
        self.assertRegex(out, r"^UNKNOWN: .*\"sideways\".*ok, warning, critical, unknown",
                         "expected UNKNOWN naming the bad state and the valid ones")

    def test_unknown_option_is_unknown_naming_it(self):
        rc, out, err = tocsin_check("dummy", "--colour", "red")
        self.assertEqual(rc, 3, f"expected exit 3; got {show(rc, out, err)}")
        self.assertRegex(out, r"^UNKNOWN: .*--colour", "expected UNKNOWN naming --colour")

    def test_option_without_value_is_unknown(self):
        rc, out, err = tocsin_check("dummy", "--state")
        self.assertEqual(rc, 3, f"expected exit 3; got {show(rc, out, err)}")
        self.assertRegex(out, r"^UNKNOWN: .*--state.*value",
                         "expected UNKNOWN saying --state needs a value")

    def test_help_lists_options(self):
        rc, out, err = tocsin_check("dummy", "--help")
        # Exit 3 on --help, as the Monitoring Plugins do.
        self.assertEqual(rc, 3, f"expected exit 3; got {show(rc, out, err)}")
        for opt in ("--state", "--output", "--delay"):
            self.assertIn(opt, out, f"expected {opt} in the help; got {out!r}")

    def test_delay_cut_by_timeout_is_unknown(self):
        t0 = time.monotonic()
        rc, out, err = tocsin_check("--timeout", "1s", "dummy", "--delay", "30s")
        took = time.monotonic() - t0
        self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
        self.assertRegex(out, r"^UNKNOWN\b|timeout|timed out",
                         "expected the output to say the timeout cut the check")
        self.assertLess(took, 2.5, f"expected a return within ~2s of a 1s timeout, took {took:.1f}s")


class Load(unittest.TestCase):
    FORMAT = (r"^LOAD (OK|WARNING|CRITICAL) - total load average: "
              r"(\d+\.\d\d), (\d+\.\d\d), (\d+\.\d\d) \| (.*)$")

    def run_load(self, *args, want_rc=None):
        before = loadavg()
        rc, out, err = tocsin_check("load", *args)
        after = loadavg()
        if want_rc is not None:
            self.assertEqual(rc, want_rc, f"load {' '.join(args)}: expected exit {want_rc}; "
                                          f"got {show(rc, out, err)}")
        return rc, out, err, before, after

    def assert_near(self, shown, before, after, what):
        for i, name in enumerate(("1", "5", "15")):
            lo = min(before[i], after[i]) - 0.02
            hi = max(before[i], after[i]) + 0.02
            self.assertTrue(lo <= shown[i] <= hi,
                            f"{what}: expected the {name}-minute load between {lo:.2f} and "
                            f"{hi:.2f} (/proc/loadavg {before} then {after}), got {shown[i]}")

    def test_output_and_perfdata_match_proc_loadavg(self):
        rc, out, err, before, after = self.run_load("--warning", "1000", "--critical", "2000",
                                                    want_rc=0)
        m = re.match(self.FORMAT, out.rstrip("\n"))
        self.assertIsNotNone(m, f"expected 'LOAD OK - total load average: a, b, c | perfdata', "
                                f"got {out!r}")
        self.assertEqual(m.group(1), "OK")
        self.assert_near([float(m.group(i)) for i in (2, 3, 4)], before, after, "first line")
        perf = perfdata(out)
        self.assertEqual(sorted(perf), ["load1", "load15", "load5"],
                         f"expected perfdata load1, load5, load15; got {out!r}")
        for label in ("load1", "load5", "load15"):
            self.assertEqual(perf[label][1:4], ["1000", "2000", "0"],
                             f"expected {label} with warn 1000, crit 2000, min 0; got {perf[label]}")
        self.assert_near([float(perf[l][0]) for l in ("load1", "load5", "load15")],
                         before, after, "perfdata")

    def test_three_ranges_apply_to_their_own_average(self):
        rc, out, err, _, _ = self.run_load("--warning", "1000,1001,1002",
                                           "--critical", "2000,2001,2002", want_rc=0)
        perf = perfdata(out)
        for label, w, c in (("load1", "1000", "2000"), ("load5", "1001", "2001"),
                            ("load15", "1002", "2002")):
            self.assertEqual(perf.get(label, [""] * 5)[1:3], [w, c],
                             f"expected {label} warn {w} crit {c}; got {out!r}")
        # Only the 15-minute range can alert: WARNING from it alone.
        rc, out, err, _, _ = self.run_load("--warning", "1000,1000,@0:100000",
                                           "--critical", "2000", want_rc=1)
        self.assertTrue(out.startswith("LOAD WARNING - "), f"expected LOAD WARNING; got {out!r}")

    def test_range_that_always_alerts_is_critical(self):
        # '@0:100000' alerts when the load is inside 0..100000: always,
        # even at 0.00.
        rc, out, err, before, after = self.run_load("--critical", "@0:100000", want_rc=2)
        m = re.match(self.FORMAT, out.rstrip("\n"))
        self.assertIsNotNone(m, f"expected the load output format; got {out!r}")
        self.assertEqual(m.group(1), "CRITICAL", f"expected LOAD CRITICAL; got {out!r}")
        self.assert_near([float(m.group(i)) for i in (2, 3, 4)], before, after, "first line")

    def test_warning_range(self):
        rc, out, err, _, _ = self.run_load("--warning", "@0:100000", "--critical", "100000",
                                           want_rc=1)
        self.assertTrue(out.startswith("LOAD WARNING - total load average: "),
                        f"expected LOAD WARNING; got {out!r}")

    def test_per_cpu_names_the_cpu_count(self):
        ncpu = os.sysconf("SC_NPROCESSORS_ONLN")
        rc, out, err, before, after = self.run_load("--per_cpu", "true", "--warning", "1000",
                                                    "--critical", "2000", want_rc=0)
        m = re.match(r"^LOAD OK - load average per CPU \((\d+) CPUs?\): "
                     r"(\d+\.\d\d), (\d+\.\d\d), (\d+\.\d\d) \| ", out)
        self.assertIsNotNone(m, f"expected 'LOAD OK - load average per CPU (N CPUs): a, b, c'; "
                                f"got {out!r}")
        self.assertEqual(int(m.group(1)), ncpu, f"expected {ncpu} CPUs; got {out!r}")
        self.assert_near([float(m.group(i)) for i in (2, 3, 4)],
                         [x / ncpu for x in before], [x / ncpu for x in after], "per CPU")

    def test_bad_thresholds_are_unknown(self):
        for args, why in ((("--warning", "1,2"), r"three"),
                          (("--critical", "lots"), r"critical")):
            with self.subTest(args=args):
                rc, out, err = tocsin_check("load", *args)
                self.assertEqual(rc, 3, f"expected exit 3; got {show(rc, out, err)}")
                self.assertRegex(out, r"^UNKNOWN: .*" + why,
                                 f"expected UNKNOWN explaining the bad range")

    def test_help_lists_options(self):
        rc, out, err = tocsin_check("load", "--help")
        for opt in ("--warning", "--critical", "--per_cpu"):
            self.assertIn(opt, out, f"expected {opt} in the help; got {out!r}")


class Disk(unittest.TestCase):
    FORMAT = (r"^DISK (OK|WARNING|CRITICAL|UNKNOWN) - (\S+) (\d+)% used "
              r"\(([\d.]+ \w+) of ([\d.]+ \w+)\), ([\d.]+ \w+) free")

    def disk(self, *args, want_rc=None):
        rc, out, err = tocsin_check("disk", *args)
        if want_rc is not None:
            self.assertEqual(rc, want_rc, f"disk {' '.join(args)}: expected exit {want_rc}; "
                                          f"got {show(rc, out, err)}")
        return rc, out, err

    def assert_used_like_df(self, out, path):
        m = re.match(self.FORMAT, out)
        self.assertIsNotNone(m, f"expected 'DISK STATE - {path} N% used (X of Y), Z free'; "
                                f"got {out!r}")
        self.assertEqual(m.group(2), path, f"expected the output to name {path}; got {out!r}")
        want = df_used_pct(path)
        self.assertLessEqual(abs(int(m.group(3)) - want), 1,
                             f"expected used % within 1 point of df's {want}%; got {out!r}")
        return m

    def test_root_ok_like_df(self):
        # '100' alerts only above 100% used: never.
        rc, out, err = self.disk("--path", "/", "--warning", "100", "--critical", "100",
                                 want_rc=0)
        m = self.assert_used_like_df(out, "/")
        self.assertEqual(m.group(1), "OK")
        perf = perfdata(out)
        self.assertIn("/", perf, f"expected perfdata for '/'; got {out!r}")
        value, warn, crit, low, high = perf["/"]
        self.assertTrue(value.endswith("MB") and low == "0" and high and warn == crit == high,
                        f"expected '/'=usedMB;total;total;0;total for 100% thresholds; "
                        f"got {perf['/']}")

    def test_root_critical_with_range_that_always_alerts(self):
        rc, out, err = self.disk("--path", "/", "--critical", "@0:100", want_rc=2)
        m = self.assert_used_like_df(out, "/")
        self.assertEqual(m.group(1), "CRITICAL", f"expected DISK CRITICAL; got {out!r}")

    def test_root_warning(self):
        rc, out, err = self.disk("--path", "/", "--warning", "@0:100", "--critical", "100",
                                 want_rc=1)
        self.assertTrue(out.startswith("DISK WARNING - / "), f"expected DISK WARNING; got {out!r}")

    def test_nonexistent_path_is_unknown_with_reason(self):
        path = "/nonexistent/tocsin-test-path"
        rc, out, err = self.disk("--path", path, want_rc=3)
        self.assertRegex(out, r"^DISK UNKNOWN - .*" + re.escape(path) +
                         r".*No such file or directory",
                         "expected UNKNOWN naming the path and the reason")

    def test_bad_threshold_is_unknown(self):
        rc, out, err = self.disk("--path", "/", "--warning", "eighty", want_rc=3)
        self.assertRegex(out, r"^UNKNOWN: .*warning", "expected UNKNOWN naming the option")

    def test_all_filesystems_skips_pseudo_filesystems(self):
        rc, out, err = self.disk("--warning", "100", "--critical", "100", want_rc=0)
        self.assertIn("/", perfdata(out), f"expected '/' among the filesystems; got {out!r}")
        self.assertNotIn("/proc", out, f"expected /proc left out; got {out!r}")
        self.assert_only_real_filesystems(out)

    def assert_only_real_filesystems(self, out):
        types = {}
        for point, fstype in mounts():
            types.setdefault(point, set()).add(fstype)
        for label in perfdata(out):
            if label.endswith(" inodes"):
                continue
            self.assertIn(label, types, f"expected {label!r} to be a mount point; got {out!r}")
            self.assertFalse(types[label] <= PSEUDO_TYPES,
                             f"expected {label} ({types[label]}) left out as a pseudo "
                             f"filesystem; got {out!r}")


class DiskOnTmpfs(unittest.TestCase):
    """A small tmpfs of our own, filled past 90%."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        self.mnt = tempfile.mkdtemp(prefix="tocsin-disk-")
        self.addCleanup(shutil.rmtree, self.mnt, True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tocsin-test", self.mnt],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs: {p.stderr.strip()}")
        self.addCleanup(self.unmount)
        with open(os.path.join(self.mnt, "fill"), "wb") as f:
            f.write(b"\xa5" * (7 * 1024 * 1024 + 768 * 1024))   # 7.75 of 8 MiB

    def unmount(self):
        if subprocess.run(["umount", self.mnt], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", self.mnt], capture_output=True)

    def test_full_tmpfs_is_critical_like_df(self):
        rc, out, err = tocsin_check("disk", "--path", self.mnt)
        self.assertEqual(rc, 2, f"expected CRITICAL (2) at 97% used with the default 90; "
                                f"got {show(rc, out, err)}")
        m = re.match(Disk.FORMAT, out)
        self.assertIsNotNone(m, f"expected the disk output format; got {out!r}")
        self.assertEqual((m.group(1), m.group(2)), ("CRITICAL", self.mnt),
                         f"expected DISK CRITICAL naming {self.mnt}; got {out!r}")
        want = df_used_pct(self.mnt)
        self.assertLessEqual(abs(int(m.group(3)) - want), 1,
                             f"expected used % within 1 point of df's {want}%; got {out!r}")
        self.assertEqual(m.group(5), "8.0 MiB", f"expected a total of 8.0 MiB; got {out!r}")
        value, warn, crit, low, high = perfdata(out)[self.mnt]
        self.assertEqual([value, warn, crit, low, high], ["7MB", "6", "7", "0", "8"],
                         f"expected {self.mnt}=7MB;6;7;0;8; got {out!r}")

    def test_full_tmpfs_is_warning_below_a_higher_critical(self):
        rc, out, err = tocsin_check("disk", "--path", self.mnt, "--critical", "99")
        self.assertEqual(rc, 1, f"expected WARNING (1); got {show(rc, out, err)}")
        self.assertTrue(out.startswith(f"DISK WARNING - {self.mnt} "),
                        f"expected DISK WARNING naming {self.mnt}; got {out!r}")

    def test_all_filesystems_leaves_tmpfs_out(self):
        rc, out, err = tocsin_check("disk", "--warning", "100", "--critical", "100")
        self.assertEqual(rc, 0, f"expected OK with the tmpfs left out; got {show(rc, out, err)}")
        self.assertNotIn(self.mnt, out, f"expected the tmpfs {self.mnt} left out; got {out!r}")
        # Without tmpfs among the excluded types, it is checked and alerts.
        rc, out, err = tocsin_check("disk", "--exclude_type", "proc",
                                    "--exclude_path", "/proc*", "--exclude_path", "/sys*",
                                    "--exclude_path", "/dev*")
        self.assertIn(self.mnt, out, f"expected {self.mnt} checked once tmpfs is not "
                                     f"excluded; got {out!r}")
        self.assertEqual(rc, 2, f"expected CRITICAL from the full tmpfs; got {show(rc, out, err)}")


if __name__ == "__main__":
    unittest.main()
