"""The example plugin of docs/plugin-guide.md, built as a third party
would: Tocsin installed into a temporary directory, contrib/example-plugin
built out of tree against the installed tocsin-plugin.pc into another
temporary directory (the source tree is left alone), then loaded by the
installed tocsin-check in its OK, WARNING, CRITICAL and UNKNOWN cases, by
tocsind -t in a service section, and run by the installed daemon. Also
checks that the guide's quotations of file-age.c are still verbatim."""
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from installtree import InstallTree, make
from tocsintest import SRCDIR, perfdata, show

EXAMPLE = os.path.join(SRCDIR, "contrib", "example-plugin")
GUIDE = os.path.join(SRCDIR, "docs", "plugin-guide.md")
HOUR = 3600


def tree_listing(top):
    """Every file under `top`, with its size and modification time."""
    out = {}
    for root, _, files in os.walk(top):
        for name in files:
            st = os.stat(os.path.join(root, name))
            out[os.path.join(root, name)] = (st.st_size, st.st_mtime_ns)
    return out


class ExamplePlugin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tree = InstallTree()
        try:
            cls.out = tempfile.mkdtemp(prefix="tocsin-example-build-")
            cls.files = tempfile.mkdtemp(prefix="tocsin-example-files-")
            before = tree_listing(EXAMPLE)
            cls.build = make("-C", EXAMPLE, "PKG_CONFIG_PATH=" + cls.tree.pkg_config_dir(),
                             "OUT=" + cls.out, cwd=cls.out)
            cls.source_changes = sorted(set(tree_listing(EXAMPLE).items()) ^ set(before.items()))
            cls.plugin = os.path.join(cls.out, "file-age.so")
        except Exception:
            cls.tree.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.tree.cleanup()
        shutil.rmtree(cls.out, ignore_errors=True)
        shutil.rmtree(cls.files, ignore_errors=True)

    def setUp(self):
        self.assertEqual(self.build.returncode, 0,
                         f"building the example failed (exit {self.build.returncode}):\n"
                         f"{self.build.stdout[-3000:]}\n{self.build.stderr[-3000:]}")

    def file(self, name, age_s, size):
        """A file of `size` bytes last modified `age_s` seconds ago."""
        path = os.path.join(self.files, name)
        with open(path, "wb") as f:
            f.write(b"x" * size)
        t = time.time() - age_s
        os.utime(path, (t, t))
        return path

    def check(self, *args):
        """The installed tocsin-check on the example's build directory."""
        p = subprocess.run([self.tree.path("bindir", "tocsin-check"), "-p", self.out,
                            "file-age", *args], capture_output=True, text=True,
                           timeout=60, env=self.tree.env())
        return p.returncode, p.stdout, p.stderr

    # -- the build ---------------------------------------------------------

    def test_built_out_of_tree_and_source_tree_untouched(self):
        self.assertTrue(os.path.isfile(self.plugin), f"expected {self.plugin} after make; "
                        f"the build directory holds {os.listdir(self.out)}")
        self.assertEqual(self.source_changes, [],
                         f"building the example changed its source directory: "
                         f"{self.source_changes}")

    def test_plugin_is_listed_with_its_summary(self):
        p = subprocess.run([self.tree.path("bindir", "tocsin-check"), "-p", self.out, "--list"],
                           capture_output=True, text=True, timeout=60, env=self.tree.env())
        self.assertRegex(p.stdout, r"(?m)^file-age\s+age and size of a file",
                         f"expected tocsin-check --list to list file-age; got {p.stdout!r} "
                         f"{p.stderr!r}")

    def test_make_install_puts_it_in_the_plugin_directory_given(self):
        dest = os.path.join(self.out, "plugins")
        p = make("-C", EXAMPLE, "install", "PKG_CONFIG_PATH=" + self.tree.pkg_config_dir(),
                 "OUT=" + self.out, "PLUGINDIR=" + dest, cwd=self.out)
        self.assertEqual(p.returncode, 0, f"make install failed: {p.stderr[-2000:]}")
        self.assertTrue(os.path.isfile(os.path.join(dest, "file-age.so")),
                        f"expected file-age.so in {dest}; found {os.listdir(dest) if os.path.isdir(dest) else 'nothing'}")

    # -- tocsin-check: every state -------------------------------------------

    def test_ok_exact_output_and_perfdata(self):
        path = self.file("fresh", 2 * HOUR, 2048)
        rc, out, err = self.check("--path", path, "--size-warning", "1024:")
        self.assertEqual(rc, 0, f"expected OK; got {show(rc, out, err)}")
        self.assertRegex(out, r"^FILE-AGE OK - " + re.escape(path) +
                         r" is (2h 0m|1h 59m) old, 2048 bytes \| ",
                         f"unexpected first line: {out!r}")
        perf = perfdata(out)
        self.assertEqual(perf.get("size"), ["2048B", "1024:", "", "0", ""],
                         f"expected size=2048B;1024:;;0; got {perf}")
        age = perf.get("age", [""])
        self.assertRegex(age[0], r"^\d+s$", f"expected age in seconds; got {perf}")
        self.assertAlmostEqual(int(age[0][:-1]), 2 * HOUR, delta=120,
                               msg=f"expected an age of about 7200 s; got {age[0]}")
        self.assertEqual(age[1:4], ["86400", "172800", "0"],
                         f"expected the default age thresholds 1d and 2d; got {age}")

    def test_warning_when_older_than_warning_age(self):
        path = self.file("late", 30 * HOUR, 100)
        rc, out, err = self.check("--path", path, "--warning-age", "26h",
                                  "--critical-age", "50h")
        self.assertEqual(rc, 1, f"expected WARNING for a 30h old file; got {show(rc, out, err)}")
        self.assertTrue(out.startswith("FILE-AGE WARNING - "), f"got {out!r}")
        self.assertEqual(perfdata(out)["age"][1:3], ["93600", "180000"],
                         f"expected thresholds 26h and 50h in seconds; got {out!r}")

    def test_critical_when_older_than_critical_age(self):
        path = self.file("stale", 3 * 24 * HOUR, 100)
        rc, out, err = self.check("--path", path)
        self.assertEqual(rc, 2, f"expected CRITICAL for a 3 day old file with the defaults; "
                         f"got {show(rc, out, err)}")
        self.assertRegex(out, r"^FILE-AGE CRITICAL - .* is 3d 0h old", f"got {out!r}")

    def test_critical_when_empty_and_warning_when_small(self):
        empty = self.file("empty", 60, 0)
        rc, out, err = self.check("--path", empty, "--size-critical", "1:")
        self.assertEqual(rc, 2, f"expected CRITICAL for an empty file; got {show(rc, out, err)}")
        self.assertIn("size 0 bytes is outside the critical range", out,
                      f"expected the long output to say why; got {out!r}")
        small = self.file("small", 60, 10)
        rc, out, err = self.check("--path", small, "--size-warning", "100:",
                                  "--size-critical", "1:")
        self.assertEqual(rc, 1, f"expected WARNING for a 10 byte file; got {show(rc, out, err)}")

    def test_missing_file_state_is_configurable(self):
        path = os.path.join(self.files, "never-written")
        rc, out, err = self.check("--path", path)
        self.assertEqual((rc, out), (2, f"FILE-AGE CRITICAL - {path} does not exist\n"),
                         f"expected CRITICAL for a missing file; got {show(rc, out, err)}")
        rc, out, err = self.check("--path", path, "--missing", "warning")
        self.assertEqual(rc, 1, f"expected WARNING with --missing warning; got {show(rc, out, err)}")

    def test_unknown_for_bad_options(self):
        for args, why in ((["--path", "relative/file"], "not an absolute path"),
                          ([], "option 'path' is required"),
                          (["--path", "/x", "--missing", "sometimes"], "'missing'"),
                          (["--path", "/x", "--warning-age", "3d", "--critical-age", "1d"],
                           "warning_age is longer than critical_age"),
                          (["--path", "/x", "--warning-age", "soon"], "warning_age")):
            with self.subTest(args=args):
                rc, out, err = self.check(*args)
                self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
                self.assertIn(why, out, f"expected the reason to mention {why!r}; got {out!r}")

    # -- tocsind -t and the daemon -----------------------------------------

    def conf(self, service):
        d = tempfile.mkdtemp(prefix="tocsin-example-conf-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "tocsin.conf")
        with open(path, "w") as f:
            f.write(f'state_dir = "{d}/state"\ncontrol_socket = "{d}/tocsind.sock"\n'
                    'notifier "console" {\n    plugin = "console"\n}\n' + service)
        return path

    def plugin_path(self):
        return self.out + ":" + self.tree.path("pkglibdir")

    def tocsind_test(self, conf):
        p = subprocess.run([self.tree.path("sbindir", "tocsind"), "-t", "-c", conf,
                            "-p", self.plugin_path()], capture_output=True, text=True,
                           timeout=120, env=self.tree.env())
        return p.returncode, p.stdout, p.stderr

    def test_tocsind_accepts_a_service_using_it(self):
        path = self.file("backup", HOUR, 4096)
        conf = self.conf('service "db-backup" {\n    check = "file-age"\n'
                         f'    path = "{path}"\n    warning_age = 26h\n'
                         '    critical_age = 50h\n    size_critical = "1024:"\n}\n')
        rc, out, err = self.tocsind_test(conf)
        self.assertEqual(rc, 0, f"expected the configuration to be valid; tocsind -t exited "
                         f"{rc}: {out!r} {err!r}")
        self.assertIn("configuration is valid: 1 services", out, f"got {out!r}")

    def test_tocsind_reports_bad_values_at_their_line(self):
        conf = self.conf('service "db-backup" {\n    check = "file-age"\n'
                         '    path = "/var/backups/db.dump"\n    warning_age = 26x\n}\n')
        rc, out, err = self.tocsind_test(conf)
        self.assertNotEqual(rc, 0, f"expected a bad duration to be refused; got {out!r}")
        self.assertRegex(err, re.escape(conf) + r":9: option 'warning_age': bad duration",
                         f"expected the error at line 9; got {err!r}")
        conf = self.conf('service "db-backup" {\n    check = "file-age"\n'
                         '    path = "/var/backups/db.dump"\n    warning_age = 3d\n'
                         '    critical_age = 1d\n}\n')
        rc, out, err = self.tocsind_test(conf)
        self.assertNotEqual(rc, 0, f"expected setup's refusal to fail the test; got {out!r}")
        self.assertRegex(err, re.escape(conf) + r":\d+: service 'db-backup': warning_age is "
                         "longer than critical_age", f"got {err!r}")

    def test_daemon_runs_it_in_a_worker(self):
        path = self.file("heartbeat", 30 * HOUR, 10)
        conf = self.conf('service "heartbeat" {\n    check = "file-age"\n'
                         f'    path = "{path}"\n    warning_age = 1d\n'
                         '    interval = 1s\n}\n')
        lines, done = [], threading.Event()
        proc = subprocess.Popen([self.tree.path("sbindir", "tocsind"), "-f", "-c", conf,
                                 "-p", self.plugin_path(), "-w", "2"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                errors="replace", env=self.tree.env())

        def read():
            for line in proc.stderr:
                lines.append(line.rstrip("\n"))
                if re.search(r"service 'heartbeat' on \S+: .*FILE-AGE", line):
                    done.set()
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            done.wait(60)
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            reader.join(5)
        log = "\n".join(lines)
        # The first non-OK result is a soft problem, attempt 1.
        self.assertRegex(log, r"service 'heartbeat' on \S+: WARNING \(soft, attempt 1/3\): "
                         r"FILE-AGE WARNING - " + re.escape(path) + " is 1d 6h old,",
                         f"expected the daemon to run file-age and log its WARNING; the log "
                         f"was:\n{log[-3000:]}")

    # -- the guide ---------------------------------------------------------

    def test_guide_quotes_the_example_verbatim(self):
        with open(GUIDE) as f:
            guide = f.read()
        with open(os.path.join(EXAMPLE, "file-age.c")) as f:
            source = f.read()
        quotes = re.findall(r"<!-- quoted from contrib/example-plugin/file-age\.c -->\n"
                            r"```c\n(.*?)```", guide, re.S)
        self.assertGreaterEqual(len(quotes), 5, "expected the guide to quote file-age.c")
        for q in quotes:
            self.assertIn(q, source, "docs/plugin-guide.md quotes code that is not in "
                          f"file-age.c (any more):\n{q}")


if __name__ == "__main__":
    unittest.main()
