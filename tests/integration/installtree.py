"""Installing the build into a throwaway directory with `make install
DESTDIR=...`, and finding what went where: the installation directories
are read from the build's Makefile, so the tests follow whatever prefix
and directories configure was given."""
import os
import re
import shutil
import subprocess
import tempfile

from tocsintest import BUILDDIR

# The build's own make (the Makefile passes $(MAKE) to the tests).
MAKE = os.environ.get("TOCSIN_MAKE") or "make"

# Make variables that name installation directories.
DIRS = ("prefix", "bindir", "sbindir", "libdir", "pkglibdir", "includedir",
        "pkgincludedir", "pkgconfigdir", "sysconfdir", "localstatedir",
        "runstatedir", "mandir", "docdir", "systemdsystemunitdir",
        "sysusersdir", "tmpfilesdir")

_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*?)[ \t]*$")
_REF = re.compile(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]")


def make_env():
    """The environment for a make of our own: without what the make that
    runs the tests passes down (job server, DESTDIR, overrides)."""
    env = dict(os.environ)
    for name in ("MAKEFLAGS", "MFLAGS", "GNUMAKEFLAGS", "MAKELEVEL",
                 "MAKEOVERRIDES", "DESTDIR"):
        env.pop(name, None)
    return env


def make(*args, cwd=BUILDDIR, timeout=900, env=None):
    """Run the build's make in `cwd`; return the CompletedProcess."""
    return subprocess.run([MAKE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env or make_env())


def build_dirs(makefile=None):
    """The installation directories of the build, {name: absolute path},
    with the Makefile's variable references expanded as make would."""
    makefile = makefile or os.path.join(BUILDDIR, "Makefile")
    values = {}
    with open(makefile) as f:
        for line in f:
            m = _ASSIGN.match(line.rstrip("\n"))
            if m and m.group(1) not in values:
                values[m.group(1)] = m.group(2)

    def expand(text, depth=0):
        if depth > 20:
            raise ValueError(f"{makefile}: variables refer to each other in a loop")
        return _REF.sub(lambda m: expand(values.get(m.group(1), ""), depth + 1), text)

    return {name: expand(values.get(name, "")) for name in DIRS}


class InstallTree:
    """`make install DESTDIR=<temporary directory>` of the build."""

    def __init__(self, prefix="tocsin-install-"):
        self.root = tempfile.mkdtemp(prefix=prefix)
        self.dirs = build_dirs()
        self.last = None
        self.install()

    def install(self):
        """(Re)install; fails with make's output when make fails."""
        self.last = make("install", "DESTDIR=" + self.root)
        if self.last.returncode != 0:
            raise AssertionError(
                f"make install DESTDIR={self.root} failed with exit "
                f"{self.last.returncode}:\n{self.last.stdout[-3000:]}\n{self.last.stderr[-3000:]}")
        return self.last

    def path(self, dirname, *parts):
        """Where installation directory `dirname` (a make variable) and
        `parts` below it are in the tree."""
        d = self.dirs[dirname]
        if not d.startswith("/"):
            raise AssertionError(f"installation directory {dirname} is {d!r}, "
                                 "not an absolute path")
        return os.path.join(self.root + d, *parts)

    def env(self):
        """An environment in which the installed programs find the
        installed libtocsin (their run path names the real libdir)."""
        env = dict(os.environ)
        lib = self.path("libdir")
        env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"]
                                        if env.get("LD_LIBRARY_PATH") else "")
        env.pop("TOCSIN_PLUGIN_PATH", None)
        return env

    def pkg_config_dir(self):
        """A directory with a copy of the installed tocsin-plugin.pc whose
        absolute directories point into the tree, for PKG_CONFIG_PATH.
        Only our own file is relocated: the libraries it requires
        (libconfuse) are the system's."""
        src = self.path("pkgconfigdir", "tocsin-plugin.pc")
        out = os.path.join(self.root, ".pkgconfig")
        os.makedirs(out, exist_ok=True)
        lines = []
        with open(src) as f:
            for line in f:
                m = re.match(r"^(prefix|exec_prefix|libdir|includedir|plugindir)=(/.*)$",
                             line.rstrip("\n"))
                lines.append(f"{m.group(1)}={self.root}{m.group(2)}\n" if m else line)
        with open(os.path.join(out, "tocsin-plugin.pc"), "w") as f:
            f.writelines(lines)
        return out

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)
