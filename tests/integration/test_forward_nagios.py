"""The nagios-cmd notifier against a real Nagios 4 started for the tests
(results of every state with performance data and long output, a problem
then its recovery, grouped alerts, name templates, a line cut to fit the
pipe, a Nagios that stopped), and against a FIFO the test reads itself for
the exact line, names Nagios cannot take and a full pipe. Also the other
direction: Nagios running tocsin-check as its active checks."""
import os
import re
import shutil
import stat
import tempfile
import time
import unittest

import srv_nagios
from forwardtest import DELIVERED, FAILED, RETRY, USAGE, notify, result_args, said
from srv_nagios import Nagios, unescape
from tocsintest import PLUGINS, TOCSIN_CHECK, ConfDir, check_config, tocsin_check

PIPE_BUF = 4096
CUT_NOTE = "[truncated to fit the command pipe]"


@unittest.skipUnless(srv_nagios.available(), "nagios4 is not installed")
class NagiosPassiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nagios = Nagios({"web1": ["db", "db-1", "db-2", "tocsin-db", "long", "states",
                                      "flow"]}).start()

    @classmethod
    def tearDownClass(cls):
        cls.nagios.cleanup()

    def send(self, *args):
        return notify("nagios-cmd", "--command_file", self.nagios.command_file, *args)

    def wait_output(self, service, output, host="web1"):
        # status.dat escapes the long output, not the first line.
        return self.nagios.wait_service(
            host, service, lambda s: s.get("plugin_output") == output,
            f"plugin_output {output!r}")

    def test_results_of_every_state_with_perfdata_and_long_output(self):
        cases = [
            ("ok", "0", "DB OK - 12 connections", "conns=12;80;90;0;100 'cache hit'=99.5%;;;0;100"),
            ("warning", "1", "DB WARNING - 85 connections", "conns=85;80;90;0;100"),
            ("critical", "2", "DB CRITICAL - 95 connections; C:\\new is full",
             "conns=95;80;90;0;100 time=0.003s"),
            ("unknown", "3", "DB UNKNOWN - cannot log in", ""),
        ]
        for state, code, output, perf in cases:
            with self.subTest(state=state):
                long_output = f"{state} detail one\nliteral \\n stays\ndetail three"
                rc, out, err = self.send(*result_args("web1", "states", state, output, perf,
                                                      long_output))
                self.assertEqual(rc, DELIVERED, said(rc, out, err))
                # Nagios itself turns ';' in plugin output into ':'.
                s = self.wait_output("states", output.replace(";", ":"))
                self.assertEqual(s["current_state"], code,
                                 f"expected current_state {code}; got {s}")
                self.assertEqual(unescape(s["long_plugin_output"]), long_output,
                                 f"expected the long output line by line; got {s}")
                self.assertEqual(s["performance_data"], perf,
                                 f"expected the performance data unchanged; got {s}")

    def test_problem_then_recovery(self):
        rc, out, err = self.send("--alert-kind", "problem", "--alert-host", "web1",
                                 "--alert-service", "flow", "--alert-state", "critical",
                                 "--alert-output", "FLOW CRITICAL - stalled")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        s = self.wait_output("flow", "FLOW CRITICAL - stalled")
        self.assertEqual(s["current_state"], "2", f"expected CRITICAL; got {s}")
        rc, out, err = self.send("--alert-kind", "recovery", "--alert-host", "web1",
                                 "--alert-service", "flow", "--alert-state", "ok",
                                 "--alert-previous", "critical",
                                 "--alert-output", "FLOW OK - moving")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        s = self.wait_output("flow", "FLOW OK - moving")
        self.assertEqual((s["current_state"], s["last_hard_state"]), ("0", "0"),
                         f"expected OK (hard) after the recovery; got {s}")

    def test_grouped_alerts_each_reach_their_service(self):
        rc, out, err = self.send(*result_args("web1", "db", "warning", "grouped warning"),
                                 "--alert-group", "2")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        for svc in ("db", "db-1", "db-2"):
            s = self.wait_output(svc, "grouped warning")
            self.assertEqual(s["current_state"], "1", f"expected WARNING for {svc}; got {s}")

    def test_host_and_service_name_templates(self):
        rc, out, err = self.send(*result_args("agent-host", "db", "critical", "renamed"),
                                 "--alert-label", "nagios_host=web1",
                                 "--host", "{label:nagios_host}",
                                 "--service", "tocsin-{service}")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        s = self.wait_output("tocsin-db", "renamed")
        self.assertEqual(s["current_state"], "2", f"expected CRITICAL; got {s}")

    def test_a_line_longer_than_pipe_buf_is_cut_and_says_so(self):
        long_output = "\n".join(f"line {i:04d} " + "x" * 60 for i in range(200))
        rc, out, err = self.send(*result_args("web1", "long", "critical", "LONG CRITICAL",
                                              "a=1 b=2", long_output))
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        s = self.wait_output("long", "LONG CRITICAL")
        self.assertEqual(s["performance_data"], "a=1 b=2",
                         f"expected the performance data kept whole; got {s}")
        kept = unescape(s["long_plugin_output"]).split("\n")
        self.assertEqual(kept[-1], CUT_NOTE, f"expected the note as the last line; got {kept[-3:]}")
        self.assertTrue(long_output.startswith("\n".join(kept[:-2])),
                        "expected the long output's beginning kept as it was")
        self.assertLess(len(kept), 200, "expected the long output cut")

    def test_file_that_does_not_exist_fails(self):
        path = os.path.join(self.nagios.dir, "rw", "missing.cmd")
        rc, out, err = notify("nagios-cmd", "--command_file", path,
                              *result_args("web1", "db", "ok", "x"))
        self.assertEqual(rc, FAILED, said(rc, out, err))
        self.assertIn(f"{path} does not exist", out, said(rc, out, err))


@unittest.skipUnless(srv_nagios.available(), "nagios4 is not installed")
class NagiosStoppedTest(unittest.TestCase):
    def test_results_are_retried_while_nagios_is_stopped(self):
        nagios = Nagios({"web1": ["db"]}).start()
        self.addCleanup(nagios.cleanup)
        args = ["--command_file", nagios.command_file,
                *result_args("web1", "db", "critical", "before the stop")]
        rc, out, err = notify("nagios-cmd", *args)
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        nagios.wait_service("web1", "db",
                            lambda s: s.get("plugin_output") == "before the stop",
                            "the result sent before the stop")
        nagios.stop()
        self.assertTrue(stat.S_ISFIFO(os.stat(nagios.command_file).st_mode),
                        "expected Nagios to leave its command FIFO behind")
        t0 = time.monotonic()
        rc, out, err = notify("nagios-cmd", *args)
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn(f"Nagios is not running: nobody reads {nagios.command_file}", out,
                      said(rc, out, err))
        self.assertLess(time.monotonic() - t0, 5, "expected no wait for a reader")


class FifoTest(unittest.TestCase):
    """Against a FIFO the test reads itself."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-nagios-fifo-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.fifo = os.path.join(self.dir, "nagios.cmd")
        os.mkfifo(self.fifo, 0o600)
        # Opened for reading without blocking, as Nagios keeps it open.
        self.reader = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, self.reader)

    def read_lines(self):
        data = b""
        while True:
            try:
                chunk = os.read(self.reader, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def send(self, *args):
        return notify("nagios-cmd", "--command_file", self.fifo, *args)

    def test_exact_line(self):
        rc, out, err = self.send(*result_args("web1", "db", "critical", "DB CRITICAL | down",
                                              "'a b'=1s;2;3 x=5", "l1\nl2 \\ end"),
                                 "--alert-at", "1700000000")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        self.assertEqual(self.read_lines(),
                         b"[1700000000] PROCESS_SERVICE_CHECK_RESULT;web1;db;2;"
                         b"DB CRITICAL / down|'a b'=1s;2;3 x=5\\nl1\\nl2 \\\\ end\n",
                         "expected one line: '|' in the output as '/', the long output "
                         "after a literal \\n, a backslash doubled")

    def test_grouped_alerts_are_one_line_each(self):
        rc, out, err = self.send(*result_args("web1", "db", "ok", "fine"),
                                 "--alert-group", "2", "--alert-at", "1700000001")
        self.assertEqual(rc, DELIVERED, said(rc, out, err))
        lines = self.read_lines().decode().splitlines()
        self.assertEqual(lines, [
            f"[1700000001] PROCESS_SERVICE_CHECK_RESULT;web1;{svc};0;fine"
            for svc in ("db", "db-1", "db-2")], "expected one line per alert")

    def test_long_lines_fit_pipe_buf(self):
        cases = {
            "long output": result_args("web1", "db", "ok", "OK", "a=1", "y" * 9000),
            "first line": result_args("web1", "db", "ok", "\u00e9" * 5000, "a=1"),
            "perfdata": result_args("web1", "db", "ok", "OK",
                                    " ".join(f"m{i}={i};1;2" for i in range(800))),
        }
        for name, args in cases.items():
            with self.subTest(cut=name):
                rc, out, err = self.send(*args)
                self.assertEqual(rc, DELIVERED, said(rc, out, err))
                data = self.read_lines()
                self.assertLessEqual(len(data), PIPE_BUF, f"expected at most {PIPE_BUF} bytes")
                self.assertEqual(data.count(b"\n"), 1, "expected exactly one line")
                text = data.decode("utf-8")  # a cut never splits a character
                self.assertTrue(text.rstrip("\n").endswith(CUT_NOTE),
                                f"expected the note at the end; got ...{text[-80:]!r}")
                if name == "perfdata":
                    perf = text.split("|", 1)[1].split("\\n")[0]
                    self.assertTrue(all(re.fullmatch(r"m\d+=\d+;1;2", item)
                                        for item in perf.split()),
                                    f"expected only whole perfdata items; got ...{perf[-60:]}")

    def test_names_nagios_cannot_take_fail(self):
        cases = [
            (result_args("web;1", "db", "ok", "x"), "host name \"web;1\" holds ';'"),
            (result_args("web1", "d\nb", "ok", "x"),
             "service description \"d?b\" holds a line break"),
            (result_args("web1", "db", "ok", "x") + ["--service", "{label:none}"],
             "service description \"\" is empty"),
        ]
        for args, message in cases:
            with self.subTest(message=message):
                rc, out, err = self.send(*args)
                self.assertEqual(rc, FAILED, said(rc, out, err))
                self.assertIn(message, out, said(rc, out, err))
        self.assertEqual(self.read_lines(), b"", "expected nothing written")

    def test_a_full_pipe_is_retried(self):
        args = result_args("web1", "db", "ok", "OK", "", "z" * 5000)
        outcomes = []
        for _ in range(40):          # 64 KiB of pipe fill up after 16 lines
            rc, out, err = self.send(*args)
            outcomes.append(rc)
            if rc != DELIVERED:
                break
        self.assertEqual(rc, RETRY, said(rc, out, err))
        self.assertIn("is full: Nagios is not keeping up", out, said(rc, out, err))
        self.assertGreater(len(outcomes), 1, "expected some lines to go in first")

    def test_not_a_fifo(self):
        plain = os.path.join(self.dir, "plain")
        with open(plain, "w"):
            pass
        rc, out, err = notify("nagios-cmd", "--command_file", plain,
                              *result_args("web1", "db", "ok", "x"))
        self.assertEqual(rc, USAGE, said(rc, out, err))
        self.assertIn(f"{plain} is not a FIFO", err, said(rc, out, err))
        with open(plain) as f:
            self.assertEqual(f.read(), "", "expected nothing written to a plain file")

    def test_bad_options_are_refused_at_setup(self):
        cases = [
            (["--command_file", "nagios.cmd"], "must be an absolute path"),
            (["--host", "{nope}"], "option 'host': unknown placeholder {nope}"),
            (["--service", ""], "must not be empty"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                rc, out, err = notify("nagios-cmd", *args)
                self.assertEqual(rc, USAGE, said(rc, out, err))
                self.assertIn(message, err, said(rc, out, err))

    def test_tocsind_checks_the_section(self):
        conf = ConfDir(
            'service "ok" {\n    check = "dummy"\n}\n'
            'notifier "nagios" {\n'
            '    plugin = "nagios-cmd"\n'
            f'    command_file = "{self.fifo}"\n'
            '    service = "tocsin-{service}"\n'
            '}\n')
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        self.assertEqual(rc, 0, f"expected a valid configuration; got {rc} {out!r} {err!r}")
        bad = ConfDir(
            'service "ok" {\n    check = "dummy"\n}\n'
            'notifier "nagios" {\n'
            '    plugin = "nagios-cmd"\n'
            f'    command_file = "{self.dir}"\n'
            '}\n')
        self.addCleanup(bad.cleanup)
        rc, out, err = check_config(bad.path)
        self.assertNotEqual(rc, 0, f"expected tocsind -t to fail; got {out!r} {err!r}")
        self.assertIn(f"{bad.path}:5: notifier 'nagios': option 'command_file': "
                      f"{self.dir} is not a FIFO", err, f"got {err!r}")


@unittest.skipUnless(srv_nagios.available(), "nagios4 is not installed")
class NagiosRunsTocsinCheckTest(unittest.TestCase):
    """Nagios runs tocsin-check as its active check commands."""

    def test_nagios_sees_tocsin_checks(self):
        base = f"{TOCSIN_CHECK} -p {PLUGINS}"
        nagios = Nagios({}, [
            ("web1", "dummy", f"{base} dummy --state 2 --output 'replica lag 300 s'"),
            ("web1", "load-ok", f"{base} load --warning 1000 --critical 2000"),
            ("web1", "load-critical", f"{base} load --critical @0:1000"),
            ("web1", "disk-warning", f"{base} disk --path / --warning 0 --critical 100"),
        ]).start()
        self.addCleanup(nagios.cleanup)

        def checked(s):
            return s.get("has_been_checked") == "1"

        s = nagios.wait_service("web1", "dummy", checked, "a first check")
        self.assertEqual((s["current_state"], s["plugin_output"]), ("2", "replica lag 300 s"),
                         f"expected CRITICAL with the dummy's text; got {s}")

        s = nagios.wait_service("web1", "load-ok", checked, "a first check")
        self.assertEqual(s["current_state"], "0", f"expected OK; got {s}")
        self.assertRegex(s["plugin_output"], r"^LOAD OK - total load average: ")
        self.assertRegex(s["performance_data"], r"^load1=[\d.]+;1000;2000;0 load5=")

        s = nagios.wait_service("web1", "load-critical", checked, "a first check")
        self.assertEqual(s["current_state"], "2", f"expected CRITICAL; got {s}")
        self.assertRegex(s["plugin_output"], r"^LOAD CRITICAL - total load average: ")

        s = nagios.wait_service("web1", "disk-warning", checked, "a first check")
        rc, out, err = tocsin_check("disk", "--path", "/", "--warning", "0",
                                    "--critical", "100")
        self.assertEqual(s["current_state"], str(rc),
                         f"expected the state tocsin-check gives here ({rc}); got {s}")
        self.assertEqual(rc, 1, f"expected WARNING from disk with warning 0: {out!r}")
        self.assertEqual(s["plugin_output"].split(" used")[0], out.split(" used")[0],
                         f"expected the output tocsin-check prints; got {s} and {out!r}")
        self.assertIn("'/ inodes'=", s["performance_data"], f"got {s}")


if __name__ == "__main__":
    unittest.main()
