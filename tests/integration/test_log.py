"""The log check against a real nginx driven with real HTTP requests, so
that the access log is nginx's own: counts per pattern, the 5xx ratio and
its min_volume guard, the top clients (requests from several loopback
addresses), the mean and percentiles of $request_time; then through the
daemon, one worker keeping the read position while nginx writes and its
log is renamed and reopened (SIGUSR1), and truncated in place. Also
sshd/PAM-style auth log lines with by = the client address, and the
UNKNOWN results for bad input; and sshd's failed logins read from real
journal files (systemd-journal-remote) with unit and identifier filters
and the cursor. The expected figures are computed here
from the log nginx wrote."""
import http.client
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from srv_nginx import Nginx
from tocsintest import (PLUGIN_PATH, SRCDIR, TOCSIN_CHECK, ConfDir, Daemon, check_config,
                        perfdata, show, tocsin_check)

LINE = re.compile(r'^(\S+) \S+ \S+ \[[^\]]+\] "[^"]*" (\d{3}) \d+ "[^"]*" "[^"]*" ([0-9.]+)$')

REQUESTS = (r'requests=^(?<client>\S+) \S+ \S+ \[[^]]+\] "[^"]*" (?<status>\d{3}) \d+ '
            r'"[^"]*" "[^"]*" (?<rt>[0-9.]+)$')
ERRORS = r'errors=^\S+ \S+ \S+ \[[^]]+\] "[^"]*" 5\d\d '


def get(nginx, path, source="127.0.0.1", count=1):
    """`count` GET requests for `path` from loopback address `source`, on
    one connection; the bodies are read to their end."""
    conn = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10,
                                      source_address=(source, 0))
    try:
        for _ in range(count):
            conn.request("GET", path)
            conn.getresponse().read()
    finally:
        conn.close()


def parse(path):
    """(client, status, request_time) of every line nginx wrote."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if m:
                out.append((m.group(1), int(m.group(2)), float(m.group(3))))
    return out


def quantile(values, q):
    """The q-quantile as the check defines it: the value of rank ceil(q*n)."""
    s = sorted(values)
    return s[max(1, math.ceil(q * len(s))) - 1]


def conf_string(text):
    """`text` as a double-quoted libconfuse string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wait_lines(path, n, timeout=10):
    """Wait until the log at `path` holds at least n lines."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path) and len(parse(path)) >= n:
            return
        time.sleep(0.02)
    raise AssertionError(f"expected {n} lines in {path}; got {len(parse(path))}")


class NginxAccessLog(unittest.TestCase):
    """One nginx; tocsin-check reads its whole access log each time."""

    @classmethod
    def setUpClass(cls):
        cls.nginx = Nginx(access_log=True).start()
        n = cls.nginx
        get(n, "/", count=40)
        get(n, "/error", source="127.0.0.2", count=6)
        get(n, "/missing", source="127.0.0.3", count=5)
        get(n, "/health", source="127.0.0.3", count=3)
        threads = [threading.Thread(target=get, args=(n, "/slow", "127.0.0.4"))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_lines(n.access_log_path, 58)
        cls.lines = parse(n.access_log_path)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()

    def check(self, *args, want_rc=None):
        rc, out, err = tocsin_check("log", "--file", self.nginx.access_log_path,
                                    "--pattern", REQUESTS, "--pattern", ERRORS, *args)
        if want_rc is not None:
            self.assertEqual(rc, want_rc, f"log {' '.join(args)}: expected exit "
                                          f"{want_rc}; got {show(rc, out, err)}")
        return rc, out, err

    def test_counts_and_ratio_of_5xx(self):
        total = len(self.lines)
        errors = sum(1 for _, status, _ in self.lines if status >= 500)
        self.assertEqual((total, errors), (58, 6), f"nginx wrote {self.lines}")
        pct = 100.0 * errors / total
        rc, out, err = self.check("--ratio", "errors/requests", "--ratio_warning", "5",
                                  "--ratio_critical", "20", want_rc=1)
        first = out.split(" | ")[0]
        self.assertEqual(first, f"LOG WARNING - requests {total}, errors {errors} in the "
                                f"last 1h; errors/requests {pct:.2f}% (warning)",
                         f"expected the counts and the 5xx ratio; got {out!r}")
        perf = perfdata(out)
        self.assertEqual(perf.get("requests"), [str(total), "", "", "0", ""],
                         f"expected requests={total}; got {out!r}")
        self.assertEqual(perf.get("errors/requests")[1:], ["5", "20", "0", "100"],
                         f"expected the ratio's thresholds; got {out!r}")
        self.assertAlmostEqual(float(perf["errors/requests"][0].rstrip("%")), pct, places=3)
        self.assertRegex(out, r"\nlast errors line: 127\.0\.0\.2 - - \[.*\] \"GET /error "
                              r"HTTP/1\.1\" 500 ", f"expected the last 5xx line; got {out!r}")

    def test_count_thresholds_on_a_named_pattern(self):
        rc, out, err = self.check("--count", "errors", "--warning", "3", "--critical",
                                  "5", want_rc=2)
        self.assertIn("errors 6 (critical) in the last 1h", out,
                      f"expected errors over critical; got {out!r}")
        self.assertEqual(perfdata(out).get("errors"), ["6", "3", "5", "0", ""],
                         f"expected the thresholds on errors; got {out!r}")
        self.check("--count", "errors", "--warning", "10", want_rc=0)

    def test_min_volume_guard(self):
        rc, out, err = self.check("--ratio", "errors/requests", "--ratio_critical", "1",
                                  "--min_volume", "1000", want_rc=0)
        self.assertIn(f"errors/requests not judged ({len(self.lines)} requests, fewer "
                      "than min_volume 1000)", out,
                      f"expected the ratio not judged under min_volume; got {out!r}")
        self.assertNotIn("errors/requests", perfdata(out),
                         f"expected no ratio perfdata when not judged; got {out!r}")
        self.check("--ratio", "errors/requests", "--ratio_critical", "1",
                   "--min_volume", "50", want_rc=2)

    def test_top_clients(self):
        counts = {}
        for client, _, _ in self.lines:
            counts[client] = counts.get(client, 0) + 1
        rc, out, err = self.check("--by", "client", "--top", "2", "--by_warning", "30",
                                  want_rc=1)
        self.assertIn(f"top client 127.0.0.1 ({counts['127.0.0.1']}) (warning)", out,
                      f"expected the busiest client on the first line; got {out!r}")
        self.assertIn(f"WARNING: top 2 client of {len(counts)}: 127.0.0.1 "
                      f"{counts['127.0.0.1']} (warning), 127.0.0.3 {counts['127.0.0.3']}", out,
                      f"expected the top 2 clients in long output; got {out!r}")
        perf = perfdata(out)
        self.assertEqual(perf.get("client values"), [str(len(counts)), "", "", "0", ""],
                         f"expected {len(counts)} distinct clients; got {out!r}")

    def test_request_time_mean_and_percentiles(self):
        times = [rt for _, _, rt in self.lines]
        mean, p95, p99 = sum(times) / len(times), quantile(times, 0.95), quantile(times, 0.99)
        self.assertGreater(max(times), 0.1, f"expected the /slow requests to take time: {times}")
        rc, out, err = self.check("--field", "rt", "--field_unit", "s",
                                  "--p95_warning", str(p95 / 2), want_rc=1)
        perf = perfdata(out)
        for name, want in (("mean", mean), ("p95", p95), ("p99", p99)):
            got = float(perf[f"rt {name}"][0].rstrip("s"))
            self.assertTrue(abs(got - want) <= max(0.023 * want, 0.0015),
                            f"rt {name}: expected {want:.4f} s (from nginx's log) within "
                            f"2.2%; got {got} in {out!r}")
        self.assertIn("(warning)", out.split(" | ")[0],
                      f"expected p95 over p95_warning; got {out!r}")


def syslog_stamp(t):
    return time.strftime("%b %e %H:%M:%S", time.localtime(t))


def iso_stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".123456+00:00"


class AuthLog(unittest.TestCase):
    """sshd/PAM lines as rsyslog writes them (both time formats)."""

    PATTERN = (r"failed=Failed password for (invalid user )?(?<user>\S+) from "
               r"(?<ip>[0-9a-f.:]+) port \d+")

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-log-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "auth.log")

    def write(self, data):
        with open(self.path, "wb") as f:
            f.write(data)

    def test_failed_logins_by_client_address(self):
        now = time.time()
        lines = []
        for i in range(7):
            lines.append(f"{syslog_stamp(now - 60 - i)} web1 sshd[811]: Failed password "
                         f"for invalid user x{i} from 1.2.3.4 port 22 ssh2")
        for i in range(3):
            lines.append(f"{iso_stamp(now - 30 - i)} web1 sshd[812]: Failed password for "
                         f"root from 203.0.113.9 port 4{i}022 ssh2")
        lines.append(f"{iso_stamp(now - 10)} web1 sshd[813]: pam_unix(sshd:auth): "
                     "authentication failure; logname= uid=0 rhost=1.2.3.4")
        # Two hours old: outside the window.
        lines.append(f"{iso_stamp(now - 7200)} web1 sshd[700]: Failed password for "
                     "root from 192.0.2.1 port 22 ssh2")
        data = "\n".join(lines).encode() + b"\n"
        # Invalid UTF-8 in a user name, and a line far longer than a buffer.
        data += (f"{iso_stamp(now - 5)} web1 sshd[814]: Failed password for invalid user "
                 ).encode() + b"\xff\xfe\xc3 from 1.2.3.4 port 22 ssh2\n"
        data += b"junk " * 40000 + b"\n"
        self.write(data)
        rc, out, err = tocsin_check("log", "--file", self.path, "--pattern", self.PATTERN,
                                    "--by", "ip", "--by_warning", "5", "--by_critical", "10",
                                    "--warning", "20")
        self.assertEqual(rc, 1, f"expected WARNING (1.2.3.4: 8 failures); got {show(rc, out, err)}")
        self.assertTrue(out.startswith("LOG WARNING - failed 11 in the last 1h; top ip 1.2.3.4 "
                                       "(8) (warning)"),
                        f"expected 11 failed logins, 8 from 1.2.3.4; got {out!r}")
        self.assertIn("top 2 ip of 2: 1.2.3.4 8 (warning), 203.0.113.9 3", out,
                      f"expected both addresses in long output; got {out!r}")
        self.assertIn("1 line older than the window was not counted", out,
                      f"expected the 2-hour-old line left out; got {out!r}")
        self.assertIn("1 line longer than 65536 bytes: matched on its start only", out,
                      f"expected the over-long line reported; got {out!r}")
        self.assertEqual(perfdata(out).get("ip max"), ["8", "5", "10", "0", ""],
                         f"expected 'ip max'=8;5;10;0; got {out!r}")

    def test_bad_regex_is_unknown_with_its_offset(self):
        self.write(b"x\n")
        rc, out, err = tocsin_check("log", "--file", self.path, "--pattern", "bad=a(b[c")
        self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
        self.assertRegex(out + err, r"option 'pattern': entry 1 \(bad\): .* at offset \d+",
                         f"expected the PCRE2 message with its offset; got {show(rc, out, err)}")

    def test_missing_file_and_bad_options_are_unknown(self):
        rc, out, err = tocsin_check("log", "--file", self.path, "--pattern", "x")
        self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
        self.assertIn(f"LOG UNKNOWN - cannot open {self.path}: No such file", out)
        self.write(b"x\n")
        for args, why in ((["--ratio", "a/b"], "no pattern is named 'a'"),
                          (["--by", "nope"], "no pattern has a group named 'nope'"),
                          (["--p95_warning", "1"], "need option 'field'")):
            rc, out, err = tocsin_check("log", "--file", self.path, "--pattern", "x", *args)
            self.assertEqual(rc, 3, f"{args}: expected UNKNOWN; got {show(rc, out, err)}")
            self.assertIn(why, out + err, f"{args}: expected {why!r}; got {show(rc, out, err)}")


JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT_ID = "5c0ffee0d15ea5e5b0a710ad0c0ffee0"


class Journal(unittest.TestCase):
    """Real journal files, written without journald: entries in the journal
    export format are fed to systemd-journal-remote, which writes (and on a
    second run appends to) DIR/remote.journal. sshd's failed logins as a
    stock Debian 12 has them, in the journal only, next to other units'."""

    PATTERN = (r"failed=Failed password for (invalid user )?(?<user>\S+) from "
               r"(?<ip>[0-9a-f.:]+) port \d+")

    def setUp(self):
        if not os.access(JOURNAL_REMOTE, os.X_OK):
            self.fail(f"{JOURNAL_REMOTE} is missing: install systemd-journal-remote "
                      "(contrib/deps --tests)")
        self.dir = tempfile.mkdtemp(prefix="tocsin-log-journal-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.boot = time.time() - 86400

    def append(self, entries):
        """Append (time, unit, identifier, message) entries to the journal."""
        text = ""
        for when, unit, ident, message in entries:
            text += (f"__REALTIME_TIMESTAMP={int(when * 1e6)}\n"
                     f"__MONOTONIC_TIMESTAMP={int((when - self.boot) * 1e6)}\n"
                     f"_BOOT_ID={BOOT_ID}\n_HOSTNAME=web1\n_TRANSPORT=syslog\n"
                     f"_SYSTEMD_UNIT={unit}\nSYSLOG_IDENTIFIER={ident}\n"
                     f"MESSAGE={message}\n\n")
        p = subprocess.run([JOURNAL_REMOTE, f"--output={self.dir}/remote.journal", "-"],
                           input=text.encode(), capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, f"systemd-journal-remote failed: {p.stderr!r}")

    @staticmethod
    def failed(when, user, ip, port):
        return (when, "ssh.service", "sshd",
                f"Failed password for invalid user {user} from {ip} port {port} ssh2")

    def entries(self, now):
        """9 failed logins of sshd in the last hour (5 from 1.2.3.4, 3 from
        198.51.100.7, 1 from 203.0.113.9), one 2 hours old, and the same
        message from other units and identifiers."""
        out = [self.failed(now - 3000 + 60 * i, f"x{i}", "1.2.3.4", 40000 + i)
               for i in range(5)]
        out += [self.failed(now - 1200 + 10 * i, "admin", "198.51.100.7", 50000 + i)
                for i in range(3)]
        out.append(self.failed(now - 30, "oracle", "203.0.113.9", 60000))
        out.append(self.failed(now - 7200, "old", "192.0.2.1", 1022))
        out.append((now - 600, "cron.service", "CRON",
                    "Failed password for invalid user cron from 10.9.9.9 port 1 ssh2"))
        out.append((now - 500, "ssh.service", "sshd-helper",
                    "Failed password for invalid user helper from 10.8.8.8 port 2 ssh2"))
        out.append((now - 400, "ssh.service", "sshd",
                    "Accepted publickey for deploy from 10.0.0.2 port 3 ssh2"))
        return sorted(out)

    def check(self, *args):
        return tocsin_check("log", "--journal_directory", self.dir, "--pattern", self.PATTERN,
                            "--by", "ip", "--top", "2", *args)

    def test_failed_logins_per_hour_by_client_with_unit_and_identifier(self):
        self.append(self.entries(time.time()))
        rc, out, err = self.check("--journal_unit", "ssh", "--journal_identifier", "sshd",
                                  "--warning", "5")
        self.assertEqual(rc, 1, f"expected WARNING (9 failures > 5); got {show(rc, out, err)}")
        self.assertTrue(out.startswith("LOG WARNING - failed 9 (warning) in the last 1h; "
                                       "top ip 1.2.3.4 (5)"),
                        f"expected 9 failed logins, 5 from 1.2.3.4; got {out!r}")
        self.assertIn("OK: top 2 ip of 3: 1.2.3.4 5, 198.51.100.7 3", out,
                      f"expected the top 2 of 3 addresses; got {out!r}")
        self.assertIn("last failed line: Failed password for invalid user oracle from "
                      "203.0.113.9 port 60000 ssh2", out, f"expected the newest line; got {out!r}")
        # Entries of the window only (the 2-hour-old one is not read), of the
        # unit and identifier both: 9 failures and the accepted login.
        self.assertIn("read 10 journal entries", out, f"expected 10 entries read; got {out!r}")
        self.assertEqual(perfdata(out).get("ip values"), ["3", "", "", "0", ""],
                         f"expected 3 addresses; got {out!r}")

        # Each filter alone lets in what the other keeps out.
        for args, first in ((("--journal_unit", "ssh.service"), "failed 10 in the last 1h"),
                            (("--journal_identifier", "sshd"), "failed 9 in the last 1h"),
                            (("--journal_identifier", "CRON"),
                             "failed 1 in the last 1h; top ip 10.9.9.9 (1)"),
                            (("--journal_unit", "nginx"), "failed 0 in the last 1h")):
            rc, out, err = self.check(*args)
            self.assertTrue(out.startswith(f"LOG OK - {first}"),
                            f"{args}: expected {first!r}; got {show(rc, out, err)}")

    def test_cursor_counts_only_what_was_appended(self):
        now = time.time()
        self.append(self.entries(now - 60))
        state = tempfile.mkdtemp(prefix="tocsin-log-journal-state-")
        self.addCleanup(shutil.rmtree, state, True)
        conf = ConfDir(f'max_check_spread = 1s\nstate_dir = "{state}"\n',
                       {"ssh.conf": f'service "ssh-failed" {{\n'
                                    f'    check = "log"\n'
                                    f'    journal_directory = "{self.dir}"\n'
                                    f'    journal_unit = "ssh"\n'
                                    f'    journal_identifier = "sshd"\n'
                                    f'    pattern = {{{conf_string(self.PATTERN)}}}\n'
                                    f'    by = "ip"\n'
                                    f'    interval = 1s\n'
                                    f'    max_attempts = 1\n'
                                    f'}}\n'})
        self.addCleanup(conf.cleanup)
        daemon = Daemon(conf.path, level="debug")
        self.addCleanup(daemon.stop)
        rx = re.compile(r"service 'ssh-failed'.*: LOG (\w+) - failed (\d+) in")

        def results():
            return [(m.group(1), int(m.group(2)))
                    for m in map(rx.search, daemon.log().split("\n")) if m]

        def settle(count, top):
            daemon.wait_for(rf"service 'ssh-failed'.*: LOG OK - failed {count} in the last "
                            rf"1h; top ip {re.escape(top)}", timeout=20)
            seen = len(results())
            daemon.wait_for(r"service 'ssh-failed'.*: LOG ", count=seen + 2, timeout=20)
            self.assertEqual(results()[-1], ("OK", count),
                             f"expected to stay at {count}; the results were {results()}")

        settle(9, "1.2.3.4 (5)")
        self.append([self.failed(time.time() - 1, "x", "198.51.100.7", 61000 + i)
                     for i in range(4)] +
                    [(time.time(), "cron.service", "CRON",
                      "Failed password for invalid user c from 10.9.9.9 port 1 ssh2")])
        settle(13, "198.51.100.7 (7)")
        self.assertEqual(daemon.count(r"service 'ssh-failed'.*UNKNOWN"), 0,
                         "expected no UNKNOWN result:\n" + daemon.log())

    def test_missing_empty_and_unreadable_directories_are_unknown(self):
        missing = os.path.join(self.dir, "nope")
        rc, out, err = tocsin_check("log", "--journal_directory", missing, "--pattern", "x")
        self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
        self.assertIn(f"LOG UNKNOWN - cannot open the journal in {missing}: No such file", out)
        rc, out, err = tocsin_check("log", "--journal_directory", self.dir, "--pattern", "x")
        self.assertEqual(rc, 3, f"empty directory: expected UNKNOWN; got {show(rc, out, err)}")
        self.assertIn(f"LOG UNKNOWN - no journal file could be read in {self.dir}", out)
        self.append(self.entries(time.time()))
        os.chmod(os.path.join(self.dir, "remote.journal"), 0)
        os.chmod(self.dir, 0o755)
        argv = [TOCSIN_CHECK, "-p", PLUGIN_PATH, "log", "--journal_directory", self.dir,
                "--pattern", "x"]
        if os.geteuid() == 0:
            argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 3, f"unreadable file: expected UNKNOWN; got "
                                          f"{show(p.returncode, p.stdout, p.stderr)}")
        self.assertIn(f"LOG UNKNOWN - no journal file could be read in {self.dir} (none "
                      "there, or none readable by this user)", p.stdout)


class Configuration(unittest.TestCase):
    def test_example_is_valid_and_a_bad_regex_has_file_and_line(self):
        with open(os.path.join(SRCDIR, "conf.d", "log.conf.example")) as f:
            example = f.read()
        conf = ConfDir("", {"log.conf": example})
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        self.assertEqual(rc, 0, f"tocsind -t refused log.conf.example: {out!r} {err!r}")
        bad = ConfDir("", {"bad.conf": 'service "b" {\n    check = "log"\n'
                                       '    file = "/var/log/x.log"\n'
                                       '    pattern = {"ok=a", "broken=a(b"}\n}\n'})
        self.addCleanup(bad.cleanup)
        rc, out, err = check_config(bad.path)
        self.assertNotEqual(rc, 0, "expected tocsind -t to refuse a bad regex")
        self.assertRegex(out + err, r"bad\.conf:\d+: service 'b': option 'pattern': entry 2 "
                                    r"\(broken\): missing closing parenthesis at offset 3",
                         f"expected FILE:LINE and the PCRE2 message; got {out!r} {err!r}")


class ThroughDaemon(unittest.TestCase):
    """The daemon checks nginx's access log every second in one worker,
    while requests arrive and the log is rotated."""

    @classmethod
    def setUpClass(cls):
        cls.nginx = Nginx(access_log=True).start()
        cls.dir = tempfile.mkdtemp(prefix="tocsin-log-daemon-")
        pattern = ", ".join(conf_string(p) for p in (REQUESTS, ERRORS))
        conf = (f'service "nginx-log" {{\n'
                f'    check = "log"\n'
                f'    file = "{cls.nginx.access_log_path}"\n'
                f'    pattern = {{{pattern}}}\n'
                f'    interval = 1s\n'
                f'    max_attempts = 1\n'
                f'}}\n')
        cls.conf = ConfDir(f'max_check_spread = 1s\nstate_dir = "{cls.dir}"\n',
                           {"log.conf": conf})
        cls.daemon = Daemon(cls.conf.path, level="debug")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.conf.cleanup()
        cls.nginx.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def results(self):
        rx = re.compile(r"service 'nginx-log'.*: LOG (\w+) - requests (\d+), errors (\d+)")
        return [(m.group(1), int(m.group(2)), int(m.group(3)))
                for m in map(rx.search, self.daemon.log().split("\n")) if m]

    def wait_counts(self, requests, errors):
        """Wait for a result with these counts, then two more that must
        say the same (nothing counted twice)."""
        self.daemon.wait_for(rf"service 'nginx-log'.*: LOG OK - requests {requests}, "
                             rf"errors {errors} in", timeout=20)
        seen = len(self.results())
        self.daemon.wait_for(r"service 'nginx-log'.*: LOG ", count=seen + 2, timeout=20)
        self.assertEqual(self.results()[-1], ("OK", requests, errors),
                         f"expected to stay at {requests} requests, {errors} errors; "
                         f"the results were {self.results()}")

    def test_rotation_while_nginx_writes(self):
        n = self.nginx
        get(n, "/", count=20)
        get(n, "/error", count=2)
        self.wait_counts(22, 2)
        # Requests go on while logrotate renames the log and nginx reopens it.
        writer = threading.Thread(target=get, args=(n, "/", "127.0.0.1", 300))
        writer.start()
        time.sleep(0.05)
        n.reopen()
        writer.join()
        get(n, "/error", count=3)
        wait_lines(n.access_log_path, 3)
        # A worker logs a request after answering it: the last lines may
        # come a moment after the client has its answer.
        deadline = time.monotonic() + 10
        while True:
            total = len(parse(n.access_log_path + ".1")) + len(parse(n.access_log_path))
            if total >= 325 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(total, 325, "nginx wrote fewer lines than requests")
        self.wait_counts(325, 5)
        # copytruncate between bursts: the truncated file is read from its start.
        shutil.copyfile(n.access_log_path, n.access_log_path + ".2")
        with open(n.access_log_path, "r+") as f:
            f.truncate(0)
        get(n, "/error", count=4)
        self.wait_counts(329, 9)
        self.assertEqual(self.daemon.count(r"service 'nginx-log'.*UNKNOWN"), 0,
                         "expected no UNKNOWN result around the rotations:\n" + self.daemon.log())


if __name__ == "__main__":
    unittest.main()
