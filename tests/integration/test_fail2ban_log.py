"""The fail2ban-log check against fail2ban logs written by the test, with
times relative to now: bans per jail in the window, thresholds, named
jails, found failures, lines it does not understand, a missing log, a log
far larger than max_read; then through the daemon, one worker keeping the
read position: lines appended between checks, a log renamed away by
logrotate and a log truncated in place (copytruncate), with nothing
counted twice. fail2ban has no Monitoring Plugins check to compare with."""
import os
import re
import shutil
import tempfile
import time
import unittest

from tocsintest import ConfDir, Daemon, perfdata, show, tocsin_check

FIRST = re.compile(r"^FAIL2BAN (OK|WARNING|CRITICAL|UNKNOWN) - ")


def stamp(t):
    """A fail2ban time stamp for wall-clock time t, in local time."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f",{int(t * 1000) % 1000:03d}"


def line(age, jail, action="Ban", ip="203.0.113.5", now=None):
    """One fail2ban log line, `age` seconds old."""
    t = (now or time.time()) - age
    module = "fail2ban.filter " if action == "Found" else "fail2ban.actions"
    return f"{stamp(t)} {module}        [1234]: NOTICE  [{jail}] {action} {ip}\n"


class Standalone(unittest.TestCase):
    """One tocsin-check run per case: the whole log is new to it."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-f2b-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write_log(self, text, name="fail2ban.log"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, *args, want_rc=None):
        rc, out, err = tocsin_check("fail2ban-log", *args)
        if want_rc is not None:
            self.assertEqual(rc, want_rc, f"fail2ban-log {' '.join(args)}: expected exit "
                                          f"{want_rc}; got {show(rc, out, err)}")
        return rc, out, err

    def test_ok_counts_bans_inside_the_window_per_jail(self):
        log = self.write_log(
            line(7200, "sshd") + line(3700, "sshd") +          # older than 1h
            line(900, "sshd") + line(600, "sshd", "Unban") +
            line(300, "nginx-http-auth") + line(60, "sshd") +
            line(30, "sshd", "Found") +                         # not counted by default
            f"{stamp(time.time())} fail2ban.server         [1234]: INFO    "
            f"Starting Fail2ban v1.0.2\n" +
            f"{stamp(time.time())} fail2ban.jail           [1234]: INFO    "
            f"Jail 'sshd' started\n")
        rc, out, err = self.check("--log", log, want_rc=0)
        self.assertEqual(out.split(" | ")[0],
                         "FAIL2BAN OK - 3 bans in the last 1h (nginx-http-auth 1, sshd 2)",
                         f"expected 3 bans in the window, per jail; got {out!r}")
        perf = perfdata(out)
        self.assertEqual(perf.get("sshd bans"), ["2", "10", "50", "0", ""],
                         f"expected 'sshd bans'=2;10;50;0; got {out!r}")
        self.assertEqual(perf.get("nginx-http-auth bans"), ["1", "10", "50", "0", ""],
                         f"expected 'nginx-http-auth bans'=1;10;50;0; got {out!r}")
        self.assertNotIn("sshd found", perf, f"expected no found perfdata by default; got {out!r}")
        self.assertNotIn("not understood", out, f"expected every line understood; got {out!r}")

    def test_warning_and_critical_name_the_jails_over_threshold(self):
        text = "".join(line(100 + i, "sshd", ip=f"198.51.100.{i}") for i in range(12))
        text += "".join(line(200 + i, "postfix", ip=f"192.0.2.{i}") for i in range(55))
        text += line(50, "nginx")
        log = self.write_log(text)
        rc, out, err = self.check("--log", log, want_rc=2)
        first = out.split(" | ")[0]
        self.assertEqual(first, "FAIL2BAN CRITICAL - postfix 55 bans (critical); sshd 12 bans "
                                "(warning) in the last 1h; 68 bans in all "
                                "(nginx 1, postfix 55, sshd 12)",
                         f"expected CRITICAL naming postfix then sshd; got {out!r}")
        self.assertIn("WARNING: sshd: 12 bans in the last 1h", out,
                      f"expected a long output line per jail; got {out!r}")
        # Only sshd over the warning threshold: WARNING.
        rc, out, err = self.check("--log", log, "--critical", "60", want_rc=1)
        self.assertTrue(out.startswith("FAIL2BAN WARNING - postfix 55 bans (warning); sshd 12 "
                                       "bans (warning) in the last 1h"),
                        f"expected WARNING naming postfix and sshd; got {out!r}")
        rc, out, err = self.check("--log", log, "--warning", "100", "--critical", "200",
                                  want_rc=0)
        perf = perfdata(out)
        self.assertEqual(perf.get("postfix bans"), ["55", "100", "200", "0", ""],
                         f"expected the configured thresholds in perfdata; got {out!r}")

    def test_named_jails_only(self):
        text = "".join(line(100 + i, "sshd", ip=f"198.51.100.{i}") for i in range(60))
        text += line(50, "nginx") * 11
        log = self.write_log(text)
        rc, out, err = self.check("--log", log, "--jails", "nginx", "--jails", "dovecot",
                                  want_rc=1)
        self.assertEqual(out.split(" | ")[0],
                         "FAIL2BAN WARNING - nginx 11 bans (warning) in the last 1h; "
                         "11 bans in all (dovecot 0, nginx 11)",
                         f"expected only nginx and dovecot (0), sshd left out; got {out!r}")
        perf = perfdata(out)
        self.assertEqual(sorted(perf), ["dovecot bans", "nginx bans", "total bans"],
                         f"expected perfdata for the named jails only; got {out!r}")

    def test_total_thresholds_across_jails(self):
        # 6 + 5 + 4 bans: no jail over 10, 15 in all.
        text = "".join(line(100 + i, "sshd", ip=f"198.51.100.{i}") for i in range(6))
        text += "".join(line(200 + i, "postfix", ip=f"192.0.2.{i}") for i in range(5))
        text += "".join(line(300 + i, "dovecot", ip=f"192.0.2.{i}") for i in range(4))
        log = self.write_log(text)
        rc, out, err = self.check("--log", log, want_rc=0)
        self.assertEqual(perfdata(out).get("total bans"), ["15", "", "", "0", ""],
                         f"expected 'total bans'=15 without thresholds; got {out!r}")
        rc, out, err = self.check("--log", log, "--total_warning", "12",
                                  "--total_critical", "20", want_rc=1)
        self.assertTrue(out.startswith("FAIL2BAN WARNING - 15 bans in all jails (warning) "
                                       "in the last 1h; 15 bans in all"),
                        f"expected WARNING on the total alone; got {out!r}")
        self.assertEqual(perfdata(out).get("total bans"), ["15", "12", "20", "0", ""],
                         f"expected the total's thresholds in perfdata; got {out!r}")
        self.assertIn("WARNING: all jails: 15 bans in the last 1h", out,
                      f"expected a long output line for the total; got {out!r}")
        rc, out, err = self.check("--log", log, "--total_critical", "14", want_rc=2)
        self.assertTrue(out.startswith("FAIL2BAN CRITICAL - 15 bans in all jails (critical)"),
                        f"expected CRITICAL on the total; got {out!r}")

    def test_window_option(self):
        log = self.write_log(line(600, "sshd") + line(240, "sshd") + line(10, "sshd"))
        rc, out, err = self.check("--log", log, "--window", "5m", want_rc=0)
        self.assertTrue(out.startswith("FAIL2BAN OK - 2 bans in the last 5m (sshd 2)"),
                        f"expected the 10-minute-old ban outside a 5m window; got {out!r}")
        rc, out, err = self.check("--log", log, "--window", "1d", want_rc=0)
        self.assertTrue(out.startswith("FAIL2BAN OK - 3 bans in the last 1d (sshd 3)"),
                        f"expected 3 bans in a 1d window; got {out!r}")

    def test_count_found(self):
        text = line(100, "sshd") + "".join(
            line(50 + i, "sshd", "Found", ip=f"198.51.100.{i}") for i in range(7))
        text += line(7200, "sshd", "Found")
        log = self.write_log(text)
        rc, out, err = self.check("--log", log, "--count_found", "true", want_rc=0)
        self.assertEqual(out.split(" | ")[0],
                         "FAIL2BAN OK - 1 ban, 7 found in the last 1h (sshd 1 ban, 7 found)",
                         f"expected 7 found failures counted; got {out!r}")
        perf = perfdata(out)
        self.assertEqual(perf.get("sshd found", [""])[0], "7",
                         f"expected 'sshd found'=7; got {out!r}")
        rc, out, err = self.check("--log", log, "--count_found", "true",
                                  "--found_critical", "5", want_rc=2)
        self.assertTrue(out.startswith("FAIL2BAN CRITICAL - sshd 1 ban, 7 found (critical)"),
                        f"expected CRITICAL on found failures; got {out!r}")

    def test_restored_bans_are_not_counted(self):
        log = self.write_log(line(100, "sshd", "Restore Ban") * 3 + line(10, "sshd"))
        rc, out, err = self.check("--log", log, want_rc=0)
        self.assertTrue(out.startswith("FAIL2BAN OK - 1 ban in the last 1h (sshd 1)"),
                        f"expected restored bans left out; got {out!r}")
        self.assertIn("sshd: 3 bans restored", out, f"expected the restores in long output; "
                                                     f"got {out!r}")

    def test_lines_not_understood_are_counted_not_fatal(self):
        log = self.write_log(
            line(100, "sshd") +
            "Traceback (most recent call last):\n" +
            "  File \"/usr/lib/python3/dist-packages/fail2ban/server.py\", line 1\n" +
            "\x00\x01\xff binary junk\n" +
            "2026-13-45 99:99:99,000 fail2ban.actions [1]: NOTICE [sshd] Ban 1.2.3.4\n" +
            "\n" +
            line(10, "sshd"))
        rc, out, err = self.check("--log", log, want_rc=0)
        self.assertTrue(out.startswith("FAIL2BAN OK - 2 bans in the last 1h (sshd 2)"),
                        f"expected the 2 good bans counted; got {out!r}")
        self.assertRegex(out, r"\n4 lines not understood \(not fail2ban log lines\), the "
                              r"last: \"2026-13-45 99:99:99",
                         f"expected the 4 bad lines counted in long output; got {out!r}")

    def test_missing_log_is_unknown(self):
        path = os.path.join(self.dir, "nope.log")
        rc, out, err = self.check("--log", path, want_rc=3)
        self.assertEqual(out.strip(), f"FAIL2BAN UNKNOWN - cannot open {path}: "
                                      f"No such file or directory",
                         f"expected UNKNOWN with the reason; got {out!r}")
        rc, out, err = self.check("--log", self.dir, want_rc=3)
        self.assertEqual(out.strip(), f"FAIL2BAN UNKNOWN - {self.dir} is not a regular file",
                         f"expected UNKNOWN for a directory; got {out!r}")

    def test_empty_log(self):
        log = self.write_log("")
        rc, out, err = self.check("--log", log, want_rc=0)
        self.assertTrue(out.startswith("FAIL2BAN OK - 0 bans in the last 1h (no jail seen yet)"),
                        f"expected OK with 0 bans; got {out!r}")

    def test_bad_options_are_unknown(self):
        for args, why in ((("--window", "0"), r"window"),
                          (("--max_read", "10"), r"max_read"),
                          (("--warning", "lots"), r"warning"),
                          (("--log", ""), r"log")):
            with self.subTest(args=args):
                rc, out, err = self.check(*args, want_rc=3)
                self.assertRegex(out, r"^UNKNOWN: .*" + why,
                                 f"expected UNKNOWN naming {why}; got {show(rc, out, err)}")

    def test_large_log_is_read_from_its_tail_only(self):
        # 100 MB of bans, all inside the window; max_read 1 MiB: only the
        # last MiB is read, quickly, and the output says so.
        path = os.path.join(self.dir, "big.log")
        now = time.time()
        one = line(1800, "sshd", now=now)
        block = one * ((1 << 20) // len(one) + 1)
        with open(path, "w") as f:
            while f.tell() < 100 * 1000 * 1000:
                f.write(block)
            f.write(line(5, "nginx", now=now))
        t0 = time.monotonic()
        rc, out, err = self.check("--log", path, "--max_read", str(1 << 20),
                                  "--warning", "1000000", "--critical", "2000000", want_rc=0)
        took = time.monotonic() - t0
        m = re.match(r"FAIL2BAN OK - (\d+) bans in the last 1h \(nginx 1, sshd (\d+)\)", out)
        self.assertIsNotNone(m, f"expected OK with nginx and sshd; got {out!r}")
        sshd = int(m.group(2))
        most = (1 << 20) // len(one)
        self.assertTrue(most - 2 <= sshd <= most,
                        f"expected about {most} sshd bans (1 MiB of lines), got {sshd}")
        self.assertIn("older events in the window were not counted", out,
                      f"expected the output to say older events were not counted; got {out!r}")
        self.assertLess(took, 2.0, f"expected the tail read quickly, took {took:.2f}s")


class ThroughDaemon(unittest.TestCase):
    """One daemon, one service per log, checked every second by the same
    worker, which keeps each log's position between checks."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tocsin-f2b-daemon-")
        cls.logs = {name: os.path.join(cls.dir, f"{name}.log")
                    for name in ("grow", "rename", "copytruncate")}
        now = time.time()
        for name, path in cls.logs.items():
            with open(path, "w") as f:
                f.write(line(7200, "sshd", now=now) + line(120, "sshd", now=now) +
                        line(60, "sshd", ip="198.51.100.7", now=now))
        files = {}
        for name, path in cls.logs.items():
            files[f"{name}.conf"] = (f'service "f2b-{name}" {{\n'
                                     f'    check = "fail2ban-log"\n'
                                     f'    log = "{path}"\n'
                                     f'    warning = "5"\n'
                                     f'    interval = 1s\n'
                                     f'    max_attempts = 1\n'
                                     f'}}\n')
        cls.conf = ConfDir(f'max_check_spread = 1s\nstate_dir = "{cls.dir}"\n', files)
        cls.daemon = Daemon(cls.conf.path, level="debug")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.conf.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def results(self, name):
        """Every result logged for service f2b-NAME: [(state, bans)]."""
        rx = re.compile(rf"service 'f2b-{name}'.*: FAIL2BAN (\w+) - .*?(\d+) bans? in")
        out = []
        for l in self.daemon.log().split("\n"):
            m = rx.search(l)
            if m:
                out.append((m.group(1), int(m.group(2))))
        return out

    def wait_bans(self, name, bans, state="OK"):
        """Wait for a result of `bans` bans; then for two more results,
        which must say the same (nothing counted twice)."""
        rx = rf"service 'f2b-{name}'.*: FAIL2BAN {state} - .*\b{bans} bans? in"
        self.daemon.wait_for(rx, timeout=20)
        seen = len(self.results(name))
        self.daemon.wait_for(rf"service 'f2b-{name}'.*: FAIL2BAN ", count=seen + 2, timeout=20)
        got = self.results(name)[-1]
        self.assertEqual(got, (state, bans),
                         f"f2b-{name}: expected to stay at {state} with {bans} bans; the "
                         f"results were {self.results(name)}")

    def append(self, name, text):
        with open(self.logs[name], "a") as f:
            f.write(text)

    def test_appended_lines_are_counted_once(self):
        self.wait_bans("grow", 2)
        self.append("grow", line(1, "sshd", ip="192.0.2.1"))
        self.wait_bans("grow", 3)
        # Half a line, then the rest: counted once it is complete.
        text = line(1, "sshd", ip="192.0.2.2") + line(1, "sshd", ip="192.0.2.3")
        self.append("grow", text[:30])
        time.sleep(1.5)
        self.append("grow", text[30:])
        self.wait_bans("grow", 5)
        self.append("grow", line(1, "sshd", ip="192.0.2.4"))
        self.wait_bans("grow", 6, state="WARNING")

    def test_rename_rotation(self):
        path = self.logs["rename"]
        self.wait_bans("rename", 2)
        # A ban written just before logrotate renames the file, then the
        # new file: the first is read through the descriptor kept open.
        self.append("rename", line(1, "sshd", ip="192.0.2.10"))
        os.rename(path, path + ".1")
        with open(path, "w") as f:
            f.write(line(0, "sshd", ip="192.0.2.11"))
        self.wait_bans("rename", 4)
        self.append("rename", line(0, "nginx", ip="192.0.2.12"))
        self.wait_bans("rename", 5)
        self.assertEqual(self.daemon.count(r"service 'f2b-rename'.*UNKNOWN"), 0,
                         "expected no UNKNOWN result around the rotation:\n" + self.daemon.log())

    def test_copytruncate_rotation(self):
        path = self.logs["copytruncate"]
        self.wait_bans("copytruncate", 2)
        shutil.copyfile(path, path + ".1")
        # Truncated and written again at once: the file may be as long as
        # before when the check sees it; its first bytes tell it apart.
        with open(path, "r+") as f:
            f.truncate(0)
        self.append("copytruncate", line(0, "sshd", ip="192.0.2.20"))
        self.wait_bans("copytruncate", 3)
        self.append("copytruncate", line(0, "sshd", ip="192.0.2.21"))
        self.wait_bans("copytruncate", 4)
