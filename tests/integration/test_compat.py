"""Compatibility with the Monitoring Plugins: Tocsin's `nagios` check runs
Debian's plugins (check_dummy, check_load, check_disk, check_procs,
check_users, check_swap, check_tcp) and must report the same state and the
same output as the plugin run on its own, through tocsin-check and through
the daemon; and it must turn commands that misbehave (missing, silent, out
of range, crashing, flooding, hanging) into a clear UNKNOWN."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from tocsintest import (NAGIOS_PLUGINS, PLUGIN_PATH, TOCSIN_CHECK,
                        DaemonTest)

STATES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]


def plugin(name):
    return os.path.join(NAGIOS_PLUGINS, name)


def have_plugins(*names):
    return all(os.access(plugin(n), os.X_OK) for n in names)


def run_plugin(argv, timeout=30):
    """Run a Monitoring Plugins executable directly: (rc, stdout bytes)."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    return p.returncode, p.stdout


def run_wrapped(command, *before, timeout=60):
    """Run `command` through tocsin-check nagios: (rc, stdout bytes, stderr)."""
    p = subprocess.run([TOCSIN_CHECK, "-p", PLUGIN_PATH, *before, "nagios",
                        "--command", command],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


PERF_ITEM = re.compile(r"\s*('(?:[^']|'')*'|[^'=\s][^=\s]*)=(\S*)")


def parse_output(text):
    """Split Nagios plugin output into (first-line text, long-output lines,
    perfdata items). Perfdata follows the first '|' of line 1 and the first
    '|' found in the later lines, and runs to the end of the output."""
    lines = text.rstrip("\n").split("\n")
    first, _, perf = lines[0].partition("|")
    perf_text = [perf]
    long_lines = []
    in_perf = False
    for line in lines[1:]:
        if in_perf:
            perf_text.append(line)
            continue
        head, bar, tail = line.partition("|")
        long_lines.append(head.rstrip() if bar else line)
        if bar:
            in_perf = True
            perf_text.append(tail)
    items = []
    for chunk in perf_text:
        pos = 0
        while chunk[pos:].strip():
            m = PERF_ITEM.match(chunk, pos)
            if not m:
                raise AssertionError(f"unparseable perfdata {chunk[pos:]!r} in {text!r}")
            label = m.group(1)
            if label.startswith("'"):
                label = label[1:-1].replace("''", "'")
            fields = (m.group(2).split(";") + [""] * 5)[:5]
            value = re.match(r"[-+]?[\d.,]*(?:[eE][-+]?\d+)?", fields[0]).group(0)
            items.append((label, fields[0][len(value):], *fields[1:]))
            pos = m.end()
    return first.strip(), long_lines, items


def mask(text):
    """The text with every number replaced by '#', for output whose figures
    change from one run to the next."""
    return re.sub(r"\d+(?:[.,]\d+)*", "#", text)


class CompatBase(unittest.TestCase):
    def assert_same_exact(self, argv, command):
        """Run the plugin on its own and through tocsin-check; both must
        exit alike and print the same bytes."""
        want_rc, want_out = run_plugin(argv)
        rc, out, err = run_wrapped(command)
        self.assertEqual(rc, want_rc,
                         f"{command}: the plugin exits {want_rc} ({want_out!r}), "
                         f"tocsin-check nagios exited {rc} ({out!r}, stderr {err!r})")
        self.assertEqual(out, want_out,
                         f"{command}: expected the plugin's own output {want_out!r}, "
                         f"tocsin-check nagios printed {out!r}")
        return rc, out

    def assert_same_shape(self, argv, command, want_state=None):
        """For plugins whose figures change between runs: same exit code,
        same first line and long output with the numbers masked, same
        perfdata labels with the same unit, warn, crit, min and max."""
        want_rc, want_raw = run_plugin(argv)
        rc, raw, err = run_wrapped(command)
        want_out = want_raw.decode(errors="replace")
        out = raw.decode(errors="replace")
        what = f"{command}: plugin printed {want_out!r}, tocsin-check nagios printed {out!r}"
        if want_state is not None:
            self.assertEqual(want_rc, want_state,
                             f"the chosen thresholds should give {STATES[want_state]}; {what}")
        self.assertEqual(rc, want_rc,
                         f"expected exit code {want_rc} as the plugin's, got {rc} "
                         f"(stderr {err!r}); {what}")
        w_first, w_long, w_perf = parse_output(want_out)
        first, long_lines, perf = parse_output(out)
        self.assertEqual(mask(first), mask(w_first),
                         f"first line differs (numbers masked); {what}")
        self.assertEqual([mask(l) for l in long_lines], [mask(l) for l in w_long],
                         f"long output differs (numbers masked); {what}")
        self.assertEqual(perf, w_perf,
                         f"perfdata labels/unit/warn/crit/min/max differ; {what}")
        return rc, out


@unittest.skipUnless(have_plugins("check_dummy"), "check_dummy is not installed")
class DummyThroughTocsinCheck(CompatBase):
    def test_check_dummy_each_state_byte_for_byte(self):
        for code in range(4):
            with self.subTest(state=code):
                rc, out = self.assert_same_exact(
                    [plugin("check_dummy"), str(code), f"compat text {code}"],
                    f"check_dummy {code} 'compat text {code}'")
                self.assertEqual(rc, code)
                self.assertTrue(out.startswith(STATES[code].encode()),
                                f"expected check_dummy's output to start with "
                                f"{STATES[code]}, got {out!r}")

    def test_check_dummy_without_text(self):
        self.assert_same_exact([plugin("check_dummy"), "2"], "check_dummy 2")

    def test_check_dummy_out_of_range_state_is_unknown_with_reason(self):
        # check_dummy refuses state 4 itself: UNKNOWN with its own reason,
        # which Tocsin passes through unchanged.
        rc, out = self.assert_same_exact([plugin("check_dummy"), "4", "x"],
                                         "check_dummy 4 x")
        self.assertEqual(rc, 3, f"expected exit code 3 for state 4, got {rc}")
        self.assertRegex(out.decode(), r"^UNKNOWN: .*\b4\b.*not .*supported",
                         "expected the output to say that state 4 is not supported")

    def test_check_dummy_usage_error(self):
        # No arguments: the plugin's multi-line usage text, exit 3.
        self.assert_same_exact([plugin("check_dummy")], "check_dummy")


@unittest.skipUnless(have_plugins("check_load", "check_disk", "check_procs",
                                  "check_users", "check_swap"),
                     "Debian's monitoring-plugins are not installed")
class SystemPluginsThroughTocsinCheck(CompatBase):
    def test_check_load_ok(self):
        self.assert_same_shape([plugin("check_load"), "-w", "1000", "-c", "2000"],
                               "check_load -w 1000 -c 2000", want_state=0)

    def test_check_load_three_thresholds_critical(self):
        self.assert_same_shape(
            [plugin("check_load"), "-w", "0,0,0", "-c", "0,0,0"],
            "check_load -w 0,0,0 -c 0,0,0",
            want_state=2 if open("/proc/loadavg").read().split()[0] != "0.00" else None)

    def test_check_load_per_cpu(self):
        self.assert_same_shape([plugin("check_load"), "-r", "-w", "1000", "-c", "2000"],
                               "check_load -r -w 1000 -c 2000", want_state=0)

    def test_check_disk_root_ok(self):
        # Alert only when less than 0% is free: never.
        self.assert_same_shape([plugin("check_disk"), "-w", "0%", "-c", "0%", "-p", "/"],
                               "check_disk -w 0% -c 0% -p /", want_state=0)

    def test_check_disk_root_critical(self):
        # Alert when less than 100% is free: always.
        self.assert_same_shape([plugin("check_disk"), "-w", "100%", "-c", "100%", "-p", "/"],
                               "check_disk -w 100% -c 100% -p /", want_state=2)

    def test_check_procs_ok(self):
        self.assert_same_shape([plugin("check_procs"), "-w", "100000", "-c", "200000"],
                               "check_procs -w 100000 -c 200000", want_state=0)

    def test_check_procs_critical(self):
        self.assert_same_shape([plugin("check_procs"), "-w", "1", "-c", "2"],
                               "check_procs -w 1 -c 2", want_state=2)

    def test_check_procs_without_thresholds(self):
        self.assert_same_shape([plugin("check_procs")], "check_procs", want_state=0)

    def test_check_users(self):
        self.assert_same_exact([plugin("check_users"), "-w", "100", "-c", "200"],
                               "check_users -w 100 -c 200")

    def test_check_swap(self):
        # Without swap the plugin itself decides (CRITICAL with 0 MB):
        # whatever it says, Tocsin must say the same.
        self.assert_same_shape([plugin("check_swap"), "-w", "10%", "-c", "5%"],
                               "check_swap -w 10% -c 5%")

    def test_check_swap_usage_error(self):
        self.assert_same_exact([plugin("check_swap")], "check_swap")


@unittest.skipUnless(have_plugins("check_tcp"), "check_tcp is not installed")
class TcpThroughTocsinCheck(CompatBase):
    def setUp(self):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(self.server.close)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        self.addCleanup(self._stop)
        # Bound but not listening: connecting is refused, and the port
        # stays ours so that nothing else can take it meanwhile.
        self.closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(self.closed.close)
        self.closed.bind(("127.0.0.1", 0))
        self.closed_port = self.closed.getsockname()[1]

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            conn.close()

    def _stop(self):
        self.stopping = True
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self.thread.join(5)

    def test_check_tcp_open_port_ok(self):
        self.assert_same_shape(
            [plugin("check_tcp"), "-H", "127.0.0.1", "-p", str(self.port)],
            f"check_tcp -H 127.0.0.1 -p {self.port}", want_state=0)

    def test_check_tcp_closed_port_critical(self):
        self.assert_same_shape(
            [plugin("check_tcp"), "-H", "127.0.0.1", "-p", str(self.closed_port)],
            f"check_tcp -H 127.0.0.1 -p {self.closed_port}", want_state=2)


@unittest.skipUnless(have_plugins("check_dummy"), "check_dummy is not installed")
class DummyThroughDaemon(DaemonTest):
    def test_daemon_reports_check_dummy_states_as_the_plugin_does(self):
        files = {}
        expected = {}
        for code in range(4):
            text = f"daemon compat {code}"
            files[f"dummy{code}.conf"] = (
                f'service "compat-dummy{code}" {{\n'
                f'    check = "nagios"\n'
                f'    command = "check_dummy {code} \'{text}\'"\n'
                f'    interval = 1s\n'
                f'    max_attempts = 1\n'
                f'}}\n')
            rc, out = run_plugin([plugin("check_dummy"), str(code), text])
            self.assertEqual(rc, code, f"check_dummy {code} exited {rc}: {out!r}")
            expected[code] = out.decode().split("\n")[0]
        state_dir = tempfile.mkdtemp(prefix="tocsin-compat-state-")
        self.addCleanup(shutil.rmtree, state_dir, True)
        d = self.start(f'max_check_spread = 1s\nstate_dir = "{state_dir}"\n', files)
        for code in range(4):
            state = STATES[code]
            # A first result that is a problem is a hard change from the
            # initial OK (max_attempts 1), as in Nagios; an OK one is just
            # the first result.
            how = (r"first result OK" if code == 0 else
                   rf"(?:first result {state}|OK -> {state} \(hard, attempt 1/1\))")
            lines = d.wait_for(rf"service 'compat-dummy{code}' on \S+: {how}: "
                               + re.escape(expected[code]) + "$", timeout=30)
            self.assertEqual(len(lines), 1, f"expected one such line, got {lines}")
        self.assertTrue(d.alive(), "tocsind exited:\n" + d.log())
        self.assertEqual(d.stop(), 0, "tocsind did not exit 0 on SIGTERM:\n" + d.log())


def pid_gone(pid):
    """True once `pid` no longer runs (absent, or a zombie awaiting its reaper)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


class MisbehavingCommands(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tocsin-compat-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def script(self, name, body):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)
        return path

    def wrapped(self, command, *before, timeout=60):
        rc, out, err = run_wrapped(command, *before, timeout=timeout)
        return rc, out.decode(errors="replace"), err

    def test_missing_command_is_unknown_naming_it(self):
        rc, out, err = self.wrapped("check_tocsin_no_such_plugin -w 1")
        self.assertEqual(rc, 3, f"expected UNKNOWN (3) for a missing command, got {rc}: {out!r}")
        self.assertRegex(out, r"^UNKNOWN\b.*check_tocsin_no_such_plugin",
                         "expected UNKNOWN naming the missing command")
        self.assertRegex(out, r"not found|No such file",
                         "expected the reason (not found) in the message")

    def test_missing_absolute_command_is_unknown_naming_it(self):
        path = os.path.join(self.dir, "no", "check_missing")
        rc, out, err = self.wrapped(path)
        self.assertEqual(rc, 3, f"expected UNKNOWN (3), got {rc}: {out!r}")
        self.assertIn(path, out, f"expected the message to name {path}: {out!r}")
        self.assertIn("No such file or directory", out, f"expected the reason: {out!r}")

    def test_command_not_executable_is_unknown(self):
        path = os.path.join(self.dir, "not-executable")
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(path, 0o644)
        rc, out, err = self.wrapped(path)
        self.assertEqual(rc, 3, f"expected UNKNOWN (3), got {rc}: {out!r}")
        self.assertIn(path, out, f"expected the message to name {path}: {out!r}")
        self.assertIn("Permission denied", out, f"expected the reason: {out!r}")

    def test_no_output_keeps_state_with_nagios_message(self):
        for code in (0, 2):
            with self.subTest(code=code):
                rc, out, err = self.wrapped(self.script(f"silent{code}", f"exit {code}\n"))
                self.assertEqual(rc, code, f"expected exit code {code}, got {rc}: {out!r}")
                self.assertEqual(out, "(No output returned from plugin)\n",
                                 "expected Nagios's message for a silent plugin")

    def test_exit_code_out_of_range_is_unknown_saying_the_code(self):
        rc, out, err = self.wrapped(self.script(
            "exit7", "echo 'SERVICE FINE | a=1;2;3'\nexit 7\n"))
        self.assertEqual(rc, 3, f"expected UNKNOWN (3) for exit code 7, got {rc}: {out!r}")
        first, long_lines, perf = parse_output(out)
        self.assertIn("SERVICE FINE", first, f"expected the plugin's text kept: {out!r}")
        self.assertRegex(first, r"\b7\b", f"expected the first line to give the code 7: {out!r}")
        self.assertEqual(perf, [("a", "", "2", "3", "", "")],
                         f"expected the perfdata kept apart from the note: {out!r}")

    def test_killed_by_signal_is_unknown_naming_it(self):
        rc, out, err = self.wrapped(self.script(
            "segv", "echo 'partial output'\nkill -SEGV $$\n"))
        self.assertEqual(rc, 3, f"expected UNKNOWN (3) for a crash, got {rc}: {out!r}")
        self.assertRegex(out.split("\n")[0], r"^UNKNOWN\b.*SIGSEGV",
                         f"expected UNKNOWN naming SIGSEGV on the first line: {out!r}")

    def test_huge_output_is_truncated_without_hanging(self):
        path = self.script("flood", "head -c 102400 /dev/zero | tr '\\0' x\necho\n"
                                    "head -c 102400 /dev/zero | tr '\\0' y >&2\nexit 1\n")
        t0 = time.monotonic()
        rc, out, err = self.wrapped(path, timeout=30)
        took = time.monotonic() - t0
        self.assertLess(took, 10, f"expected a prompt return, took {took:.1f}s")
        self.assertEqual(rc, 1, f"expected the plugin's WARNING (1), got {rc}: {out[-200:]!r}")
        self.assertTrue(out.startswith("xxxx"), f"expected the output kept, got {out[:80]!r}")
        self.assertLess(len(out), 102400, f"expected the 100 KB output truncated, got {len(out)} bytes")
        self.assertIn("truncated", out[-200:], f"expected a note that the output was truncated: "
                                               f"{out[-200:]!r}")

    def test_quoted_arguments_are_split_like_a_shell(self):
        if not have_plugins("check_dummy"):
            self.skipTest("check_dummy is not installed")
        env = dict(os.environ, PATH=NAGIOS_PLUGINS + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
        for command in ('check_dummy 1 "two words"',
                        "check_dummy 2 'single quoted'\"+double \\\"q\\\"\"\\ escaped",
                        "check_dummy   3   '' ignored"):
            with self.subTest(command=command):
                shell = subprocess.run(["/bin/sh", "-c", command], capture_output=True, env=env)
                rc, out, err = run_wrapped(command)
                self.assertEqual((rc, out), (shell.returncode, shell.stdout),
                                 f"{command}: expected what sh runs ({shell.returncode}, "
                                 f"{shell.stdout!r}), got ({rc}, {out!r})")
        rc, out, err = run_wrapped('check_dummy 1 "two words')
        self.assertEqual(rc, 3, f"expected UNKNOWN (3) for an unterminated quote, got {rc}: {out!r}")
        self.assertIn(b"quote", out, f"expected the reason (unterminated quote): {out!r}")

    def test_timeout_kills_the_command_and_its_children(self):
        pidfile = os.path.join(self.dir, "sleeper.pids")
        path = self.script("sleeper", f"echo $$ > {pidfile}\nsleep 30 &\n"
                                      f"echo $! >> {pidfile}\necho started\nwait\n")
        t0 = time.monotonic()
        rc, out, err = self.wrapped(path, "--timeout", "1s", timeout=30)
        took = time.monotonic() - t0
        self.assertEqual(rc, 3, f"expected UNKNOWN (3) on timeout, got {rc}: {out!r}")
        self.assertRegex(out, r"^UNKNOWN\b.*timed out", f"expected 'timed out': {out!r}")
        self.assertLess(took, 2.5, f"expected a return within ~2s of a 1s timeout, took {took:.1f}s")
        with open(pidfile) as f:
            pids = [int(p) for p in f.read().split()]
        self.assertEqual(len(pids), 2, f"expected the script and its sleep to have started: {pids}")
        deadline = time.monotonic() + 3
        while not all(pid_gone(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [p for p in pids if not pid_gone(p)]
        for p in left:
            os.kill(p, 9)
        self.assertEqual(left, [], f"expected the command and its child killed, still running: {left}")

    def test_multiline_output_with_later_perfdata_passes_unchanged(self):
        text = ("DISK OK - all fine | '/'=12MB;80;90;0;100\n"
                "/var 40% used\n"
                "/home 10% used | '/var'=40MB;80;90;0;100\n"
                "'/home'=10MB;80;90;0;100 x=1c\n")
        path = self.script("multiline", "cat <<'EOF'\n" + text + "EOF\nexit 1\n")
        rc, out, err = self.wrapped(path)
        self.assertEqual(rc, 1, f"expected the plugin's exit code 1, got {rc}: {out!r}")
        self.assertEqual(out, text, "expected the output passed through unchanged")


if __name__ == "__main__":
    unittest.main()
