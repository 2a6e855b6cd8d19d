"""`make install DESTDIR=...` of the build: the layout (programs, plugins,
header, pkg-config file, configuration and its examples, the systemd
unit, sysusers.d and tmpfiles.d files, manual pages with this build's
paths, the user documentation), installed programs
that run from the tree, a second install that keeps an administrator's
changes, an uninstall that removes what it installed and nothing else,
and the unit checked by systemd-analyze where it exists."""
import glob
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

from installtree import InstallTree, make
from tocsintest import BUILDDIR, SRCDIR

MAN_PAGES = {"man8": ["tocsind.8", "tocsinctl.8"],
             "man1": ["tocsin-check.1", "tocsin-notify.1"],
             "man5": ["tocsin.conf.5"],
             "man3": ["tocsin-plugin.3"]}


def built_plugins():
    """Names of the plugins this build made (plugins/NAME.la)."""
    return sorted(os.path.basename(p)[:-3]
                  for p in glob.glob(os.path.join(BUILDDIR, "plugins", "*.la")))


def shipped_confd():
    """The conf.d files of the source tree."""
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(SRCDIR, "conf.d", "*"))
                  if p.endswith(".conf") or p.endswith(".conf.example"))


class Layout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tree = InstallTree()

    @classmethod
    def tearDownClass(cls):
        cls.tree.cleanup()

    def assertExecutable(self, path):
        self.assertTrue(os.path.isfile(path), f"expected {path} to be installed; it is not")
        self.assertTrue(os.access(path, os.X_OK), f"expected {path} to be executable; "
                        f"its mode is {stat.filemode(os.stat(path).st_mode)}")

    def test_programs(self):
        self.assertExecutable(self.tree.path("sbindir", "tocsind"))
        self.assertExecutable(self.tree.path("bindir", "tocsin-check"))
        self.assertExecutable(self.tree.path("bindir", "tocsin-notify"))
        if os.path.exists(os.path.join(BUILDDIR, "core", "tocsinctl")):
            places = [self.tree.path("bindir", "tocsinctl"), self.tree.path("sbindir", "tocsinctl")]
            self.assertTrue(any(os.access(p, os.X_OK) for p in places),
                            f"tocsinctl was built, so expected it in one of {places}")

    def test_installed_programs_run_from_the_tree(self):
        env = self.tree.env()
        p = subprocess.run([self.tree.path("sbindir", "tocsind"), "-V"], capture_output=True,
                           text=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 0, f"tocsind -V: exit {p.returncode}, {p.stderr!r}")
        self.assertRegex(p.stdout, r"^tocsind \S+ \(plugin ABI \d+\)",
                         "expected tocsind -V to print its version and ABI")

    def test_plugins(self):
        names = built_plugins()
        self.assertIn("dummy", names, f"expected the build to have made plugins; found {names}")
        for name in names:
            path = self.tree.path("pkglibdir", name + ".so")
            self.assertTrue(os.path.isfile(path), f"expected plugin {name} at {path}; "
                            f"the plugin directory holds "
                            f"{sorted(os.listdir(self.tree.path('pkglibdir')))}")

    def test_installed_check_plugins_load_from_the_plugin_directory(self):
        p = subprocess.run([self.tree.path("bindir", "tocsin-check"), "-p",
                            self.tree.path("pkglibdir"), "--list"],
                           capture_output=True, text=True, timeout=60, env=self.tree.env())
        listed = {line.split()[0] for line in p.stdout.splitlines() if line.strip()}
        for name in ("dummy", "load", "disk", "nagios"):
            self.assertIn(name, listed, f"expected tocsin-check --list to list {name} from "
                          f"the installed plugin directory; it printed {p.stdout!r} "
                          f"(stderr {p.stderr!r})")

    def test_library_header_and_pkg_config_file(self):
        lib = self.tree.path("libdir", "libtocsin.so.0")
        self.assertTrue(os.path.exists(lib), f"expected the shared library {lib}")
        header = self.tree.path("pkgincludedir", "tocsin-plugin.h")
        self.assertTrue(os.path.isfile(header), f"expected the plugin header at {header}")
        with open(header) as a, open(os.path.join(SRCDIR, "core", "tocsin-plugin.h")) as b:
            self.assertEqual(a.read(), b.read(), "the installed header differs from core/tocsin-plugin.h")
        self.assertEqual(self.tree.path("pkgincludedir"), self.tree.path("includedir", "tocsin"),
                         "expected the header in $includedir/tocsin, which the .pc file names")
        pc = self.tree.path("pkgconfigdir", "tocsin-plugin.pc")
        self.assertTrue(os.path.isfile(pc), f"expected the pkg-config file at {pc}")
        with open(pc) as f:
            text = f.read()
        self.assertNotRegex(text, r"@\w+@", f"unsubstituted variables left in {pc}:\n{text}")
        self.assertIn(f"prefix={self.tree.dirs['prefix']}\n", text,
                      f"expected prefix={self.tree.dirs['prefix']} in {pc}:\n{text}")
        self.assertRegex(text, r"(?m)^plugindir=", f"expected a plugindir variable in {pc}")

    @unittest.skipUnless(shutil.which("pkg-config"), "pkg-config is not installed")
    def test_pkg_config_gives_the_trees_flags(self):
        env = dict(os.environ, PKG_CONFIG_PATH=self.tree.pkg_config_dir())
        p = subprocess.run(["pkg-config", "--cflags", "--libs", "tocsin-plugin"],
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 0, f"pkg-config failed: {p.stderr!r}")
        self.assertIn("-I" + self.tree.path("pkgincludedir"), p.stdout.split(),
                      f"expected the header directory in the flags; got {p.stdout!r}")
        self.assertIn("-ltocsin", p.stdout.split(), f"expected -ltocsin; got {p.stdout!r}")
        self.assertIn("-lconfuse", p.stdout.split(), f"expected -lconfuse (Requires); got {p.stdout!r}")
        p = subprocess.run(["pkg-config", "--variable=plugindir", "tocsin-plugin"],
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(p.stdout.strip(), self.tree.path("pkglibdir"),
                         "expected plugindir to be the installed plugin directory")

    def test_configuration_and_examples(self):
        conf = self.tree.path("sysconfdir", "tocsin", "tocsin.conf")
        self.assertTrue(os.path.isfile(conf), f"expected the main configuration at {conf}")
        confd = self.tree.path("sysconfdir", "tocsin", "conf.d")
        want = shipped_confd()
        self.assertIn("load.conf", want, "expected the source tree to ship conf.d/load.conf")
        have = sorted(os.listdir(confd)) if os.path.isdir(confd) else []
        self.assertEqual(have, want, f"expected conf.d to hold {want}; it holds {have}")

    def test_installed_configuration_is_valid(self):
        conf = self.tree.path("sysconfdir", "tocsin", "tocsin.conf")
        p = subprocess.run([self.tree.path("sbindir", "tocsind"), "-t", "-c", conf,
                            "-p", self.tree.path("pkglibdir")],
                           capture_output=True, text=True, timeout=120, env=self.tree.env())
        self.assertEqual(p.returncode, 0, f"expected the installed configuration to be valid; "
                         f"tocsind -t exited {p.returncode}: {p.stdout!r} {p.stderr!r}")
        self.assertRegex(p.stdout, r"configuration is valid: [1-9]\d* services",
                         "expected the shipped conf.d services to be counted")

    def test_man_pages(self):
        for section, pages in MAN_PAGES.items():
            for page in pages:
                path = self.tree.path("mandir", section, page)
                self.assertTrue(os.path.isfile(path), f"expected manual page {path}")

    @unittest.skipUnless(shutil.which("groff"), "groff is not installed")
    def test_man_pages_render_without_warnings(self):
        for section, pages in MAN_PAGES.items():
            for page in pages:
                path = self.tree.path("mandir", section, page)
                p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual((p.returncode, p.stderr), (0, ""),
                                 f"groff -man -ww on {page}: exit {p.returncode}, "
                                 f"warnings {p.stderr!r}")

    def test_man_pages_show_this_builds_paths(self):
        placeholder = re.compile(r"@\w+@|\b(SYSCONFDIR|LOCALSTATEDIR|RUNSTATEDIR|LIBDIR|"
                                 r"INCLUDEDIR|PREFIX|DOCDIR)\b")
        docdir = self.tree.dirs["docdir"]
        for section, pages in MAN_PAGES.items():
            for page in pages:
                with open(self.tree.path("mandir", section, page)) as f:
                    text = f.read()
                left = sorted({m.group(0) for m in placeholder.finditer(text)})
                self.assertEqual(left, [], f"expected {page} to show real paths; it still "
                                 f"has the placeholders {left}")
                self.assertNotRegex(text, r"\bdocs/", f"expected {page} to point to the "
                                    f"installed documentation in {docdir}, not to the "
                                    "source tree's docs/")
                # Every documentation file a page names is installed.
                for name in re.findall(re.escape(docdir) + r"/([\w\\.-]+\.md)", text):
                    name = name.replace("\\-", "-")
                    self.assertTrue(os.path.isfile(self.tree.path("docdir", name)),
                                    f"{page} names {docdir}/{name}, which is not installed")
        with open(self.tree.path("mandir", "man8", "tocsind.8")) as f:
            text = f.read()
        for path in (self.tree.dirs["sysconfdir"] + "/tocsin/tocsin.conf",
                     self.tree.dirs["localstatedir"] + "/lib/tocsin/tocsin.db",
                     self.tree.dirs["runstatedir"] + "/tocsin/tocsind.sock",
                     self.tree.dirs["pkglibdir"], docdir):
            self.assertIn(path, text, f"expected tocsind(8) to name {path}, this build's path")

    def test_user_documentation(self):
        pages = sorted(os.path.basename(p)
                       for p in glob.glob(os.path.join(SRCDIR, "docs", "*.md")))
        self.assertIn("check-nagios.md", pages, "expected docs/*.md in the source tree")
        installed = sorted(os.listdir(self.tree.path("docdir")))
        missing = [p for p in pages if p not in installed]
        self.assertEqual(missing, [], f"expected every docs/*.md in "
                         f"{self.tree.dirs['docdir']}; missing {missing}")
        self.assertIn("README.md", installed)
        internals = sorted(os.path.basename(p) for p in
                           glob.glob(os.path.join(SRCDIR, "docs", "internals", "*.md")))
        self.assertFalse(os.path.exists(self.tree.path("docdir", "internals")),
                         "docs/internals/ describes how Tocsin is built: not to be installed")
        self.assertEqual([p for p in internals if p in installed and p not in pages], [],
                         "notes of docs/internals/ were installed as user documentation")

    def systemd_file(self, dirname, name):
        if not self.tree.dirs[dirname]:
            self.skipTest(f"configured with --with-{dirname}=no")
        path = self.tree.path(dirname, name)
        self.assertTrue(os.path.isfile(path), f"expected {path}")
        with open(path) as f:
            text = f.read()
        self.assertNotRegex(text, r"@\w+@", f"unsubstituted variables left in {path}:\n{text}")
        return path, text

    def test_systemd_unit(self):
        path, text = self.systemd_file("systemdsystemunitdir", "tocsind.service")
        sbin = self.tree.dirs["sbindir"]
        conf = os.path.join(self.tree.dirs["sysconfdir"], "tocsin", "tocsin.conf")
        for line in (f"ExecStart={sbin}/tocsind -f -c {conf}", "Type=notify",
                     "NotifyAccess=main", "WatchdogSec=30s",
                     "User=tocsin", "Group=tocsin", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "CapabilityBoundingSet=",
                     "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure"):
            self.assertTrue(line in text.splitlines(), f"expected the line {line!r} in {path}")
        state = os.path.join(self.tree.dirs["localstatedir"], "lib", "tocsin")
        self.assertRegex(text, r"(?m)^ReadWritePaths=.*" + re.escape(state),
                         f"expected the state directory {state} to be writable")

    def test_sysusers_and_tmpfiles(self):
        _, users = self.systemd_file("sysusersdir", "tocsin.conf")
        self.assertRegex(users, r"(?m)^u\s+tocsin\s", "expected a 'u tocsin' line")
        _, dirs = self.systemd_file("tmpfilesdir", "tocsin.conf")
        state = os.path.join(self.tree.dirs["localstatedir"], "lib", "tocsin")
        self.assertRegex(dirs, r"(?m)^d\s+" + re.escape(state) + r"\s+0750\s+tocsin\s+tocsin",
                         f"expected {state} owned by tocsin, mode 0750:\n{dirs}")

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_systemd_analyze_verify(self):
        # The unit names the real sbindir; point it into the tree so that
        # verify finds the program, as it would after a real install.
        path, text = self.systemd_file("systemdsystemunitdir", "tocsind.service")
        sbin = self.tree.dirs["sbindir"]
        d = tempfile.mkdtemp(prefix="tocsin-unit-")
        self.addCleanup(shutil.rmtree, d, True)
        unit = os.path.join(d, "tocsind.service")
        with open(unit, "w") as f:
            f.write(text.replace(f"={sbin}/", f"={self.tree.root}{sbin}/"))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", unit],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""),
                         f"systemd-analyze verify: exit {p.returncode}: "
                         f"{p.stdout + p.stderr}")
        p = subprocess.run(["systemd-analyze", "security", "--offline=yes", unit],
                           capture_output=True, text=True, timeout=120)
        m = re.search(r"Overall exposure level for \S+: ([\d.]+)", p.stdout)
        if p.returncode != 0 and not m:
            self.skipTest(f"systemd-analyze security --offline is not available: {p.stderr[:200]}")
        self.assertIsNotNone(m, f"no exposure level in {p.stdout[-500:]!r}")
        self.assertLessEqual(float(m.group(1)), 2.5,
                             f"expected the sandbox to keep the exposure level at 2.5 or "
                             f"below; systemd-analyze security says {m.group(1)}")

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("systemd-sysusers")
                         and shutil.which("systemd-tmpfiles"),
                         "needs root, systemd-sysusers and systemd-tmpfiles")
    def test_sysusers_and_tmpfiles_apply_to_an_empty_root(self):
        users, _ = self.systemd_file("sysusersdir", "tocsin.conf")
        dirs, _ = self.systemd_file("tmpfilesdir", "tocsin.conf")
        root = tempfile.mkdtemp(prefix="tocsin-root-")
        self.addCleanup(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, "etc"))
        p = subprocess.run(["systemd-sysusers", "--root=" + root, users],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, f"systemd-sysusers: {p.stderr}")
        with open(os.path.join(root, "etc", "passwd")) as f:
            entry = [l.split(":") for l in f if l.startswith("tocsin:")]
        self.assertEqual(len(entry), 1, "expected systemd-sysusers to create user tocsin")
        uid, gid = int(entry[0][2]), int(entry[0][3])
        p = subprocess.run(["systemd-tmpfiles", "--root=" + root, "--create", dirs],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, f"systemd-tmpfiles: {p.stderr}")
        for d, mode, owner in (
                (os.path.join(self.tree.dirs["localstatedir"], "lib", "tocsin"), 0o750, (uid, gid)),
                (os.path.join(self.tree.dirs["runstatedir"], "tocsin"), 0o755, (uid, gid)),
                (os.path.join(self.tree.dirs["sysconfdir"], "tocsin", "secrets"), 0o750, (0, gid))):
            st = os.stat(root + d)
            self.assertEqual((stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)), (mode, owner),
                             f"{d}: expected mode {mode:o} and owner {owner}; got "
                             f"{stat.S_IMODE(st.st_mode):o} and {(st.st_uid, st.st_gid)}")


class Reinstall(unittest.TestCase):
    """What an administrator changed survives a second install and an
    uninstall; what was installed unchanged goes with the uninstall."""

    def setUp(self):
        self.tree = InstallTree()
        self.addCleanup(self.tree.cleanup)

    def test_second_install_keeps_a_modified_configuration(self):
        conf = self.tree.path("sysconfdir", "tocsin", "tocsin.conf")
        load = self.tree.path("sysconfdir", "tocsin", "conf.d", "load.conf")
        with open(conf, "a") as f:
            f.write("\n# changed by the administrator\nlog_level = \"debug\"\n")
        with open(load, "a") as f:
            f.write("# tuned here\n")
        with open(conf) as f:
            before = f.read()
        out = self.tree.install().stdout
        with open(conf) as f:
            after = f.read()
        self.assertEqual(after, before, "a second make install overwrote the modified "
                         f"tocsin.conf; its content is now:\n{after}")
        with open(load) as f:
            self.assertIn("# tuned here", f.read(), "a second make install overwrote the "
                          "modified conf.d/load.conf")
        self.assertIn("keeping existing", out, "expected make install to say that it "
                      f"keeps the existing files; it printed:\n{out[-2000:]}")

    def test_uninstall_removes_what_it_installed_and_keeps_changes(self):
        conf = self.tree.path("sysconfdir", "tocsin", "tocsin.conf")
        with open(conf, "a") as f:
            f.write("\n# changed by the administrator\n")
        p = make("uninstall", "DESTDIR=" + self.tree.root)
        self.assertEqual(p.returncode, 0, f"make uninstall failed: {p.stderr[-2000:]}")
        gone = [self.tree.path("sbindir", "tocsind"), self.tree.path("bindir", "tocsin-check"),
                self.tree.path("pkglibdir", "dummy.so"),
                self.tree.path("pkgincludedir", "tocsin-plugin.h"),
                self.tree.path("mandir", "man8", "tocsind.8"),
                self.tree.path("docdir", "check-nagios.md"),
                self.tree.path("sysconfdir", "tocsin", "conf.d", "load.conf")]
        if self.tree.dirs["systemdsystemunitdir"]:
            gone.append(self.tree.path("systemdsystemunitdir", "tocsind.service"))
        left = [p for p in gone if os.path.exists(p)]
        self.assertEqual(left, [], f"make uninstall left installed files behind: {left}")
        self.assertTrue(os.path.isfile(conf), "make uninstall removed a tocsin.conf that "
                        "the administrator had changed")


if __name__ == "__main__":
    unittest.main()
