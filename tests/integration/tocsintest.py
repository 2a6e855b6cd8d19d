"""Helpers for integration tests: where the built programs are, throwaway
configurations, and a running tocsind whose log can be waited on."""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

SRCDIR = os.environ.get("TOCSIN_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("TOCSIN_BUILDDIR") or SRCDIR
TOCSIND = os.path.join(BUILDDIR, "core", "tocsind")
TOCSIN_CHECK = os.path.join(BUILDDIR, "core", "tocsin-check")
TOCSIN_NOTIFY = os.path.join(BUILDDIR, "core", "tocsin-notify")
TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")
PLUGINS = os.path.join(BUILDDIR, "plugins")
TEST_PLUGINS = os.path.join(BUILDDIR, "tests", "plugins")
PLUGIN_PATH = PLUGINS + ":" + TEST_PLUGINS
NAGIOS_PLUGINS = "/usr/lib/nagios/plugins"
# Under AddressSanitizer the address-space limit of workers cannot apply.
SANITIZED = os.environ.get("TOCSIN_SANITIZED") == "1"


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_LOW = _ephemeral_low()
_handed_out = set()
_port_rng = random.Random(os.getpid() ^ time.monotonic_ns())


def free_port():
    """A loopback port free now, for a server to listen on soon.

    Not one the kernel would give out itself (bind to port 0): between
    this answer and the server's bind, any client connecting anywhere on
    the machine may take such a port as its own source port, and the
    server then fails with "Address already in use". Ports below the
    ephemeral range are only taken by servers that choose them. A port
    is never handed out twice by one test run, so that a test asking for
    two before starting anything gets two."""
    high = _EPHEMERAL_LOW - 1
    low = max(1024, high - 20000)
    for _ in range(1000):
        port = _port_rng.randint(low, high)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ConfDir:
    """A temporary directory holding tocsin.conf and conf.d/."""

    def __init__(self, main="", files=None, confd=True):
        self.dir = tempfile.mkdtemp(prefix="tocsin-test-")
        self.path = os.path.join(self.dir, "tocsin.conf")
        self.confd = os.path.join(self.dir, "conf.d")
        self.state_dir = os.path.join(self.dir, "state")
        self.socket = os.path.join(self.dir, "tocsind.sock")
        if confd:
            os.mkdir(self.confd)
        # Each test's daemon keeps its state and control socket to itself.
        # (appended, so that line numbers in the test's text stay right)
        if "state_dir" not in main:
            main += '\nstate_dir = "%s"\n' % self.state_dir
        if "control_socket" not in main:
            main += '\ncontrol_socket = "%s"\n' % self.socket
        # The HTTP endpoint is on by default, on one fixed port; a test
        # that wants it configures its own (with free_port()).
        if not re.search(r"^\s*http\s*\{", main, re.M):
            main += "\nhttp {\n    enabled = false\n}\n"
        with open(self.path, "w") as f:
            f.write(main)
        for name, text in (files or {}).items():
            self.write(name, text)

    def write(self, name, text):
        path = os.path.join(self.confd, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def check_config(path, extra=()):
    """Run tocsind -t; return (exit code, stdout, stderr)."""
    p = subprocess.run([TOCSIND, "-t", "-c", path, "-p", PLUGIN_PATH, *extra],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def tocsin_check(*args, timeout=60, env=None):
    """Run tocsin-check; return (exit code, stdout, stderr)."""
    p = subprocess.run([TOCSIN_CHECK, "-p", PLUGIN_PATH, *args],
                       capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def tocsin_notify(*args, timeout=60, env=None):
    """Run tocsin-notify; return (exit code, stdout, stderr)."""
    p = subprocess.run([TOCSIN_NOTIFY, "-p", PLUGIN_PATH, *args],
                       capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


class Daemon:
    """tocsind -f running on a configuration; its stderr is collected."""

    def __init__(self, conf_path, workers=2, level="info", extra=(), env=None):
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            [TOCSIND, "-f", "-c", conf_path, "-p", PLUGIN_PATH, "-w", str(workers),
             "-l", level, *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            errors="replace", env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_for(self, pattern, timeout=30, count=1):
        """Wait until `count` log lines match the regular expression;
        return the matching lines. Fails the test with the log otherwise."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [l for l in self.lines if rx.search(l)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError(
                        f"expected {count} log line(s) matching {pattern!r} within "
                        f"{timeout}s; the log was:\n" + "\n".join(self.lines[-60:]))
                self.cond.wait(min(left, 0.2))

    def count(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return sum(1 for l in self.lines if rx.search(l))

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        self.proc.stderr.close()
        return self.proc.returncode


class DaemonTest(unittest.TestCase):
    """Base class: self.start(main_text, files) runs a daemon that is
    stopped and cleaned up after the test."""

    def start(self, main="", files=None, **kw):
        self.conf = ConfDir(main, files)
        self.addCleanup(self.conf.cleanup)
        self.daemon = Daemon(self.conf.path, **kw)
        self.addCleanup(self.daemon.stop)
        return self.daemon

    def check_now(self, name):
        """`tocsinctl check NAME` against the running daemon: the check runs
        now, in the worker that keeps its state. Returns (STATE, output)."""
        p = subprocess.run([TOCSINCTL, "-c", self.conf.path, "-p", PLUGIN_PATH,
                            "check", name], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, f"tocsinctl check {name} failed: "
                         f"{p.stdout!r} {p.stderr!r}")
        state, _, output = p.stdout.partition(": ")
        return state, output


# ----------------------------------------------------------------------
# Servers the tests start themselves: on loopback, on free ports, with
# throwaway data directories, as an unprivileged user.
# ----------------------------------------------------------------------

import pwd


def unprivileged_user():
    """(uid, gid) to run test servers as: 'nobody' when we are root,
    ourselves otherwise."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid


def server_dir(prefix):
    """A temporary directory owned by the unprivileged user."""
    d = tempfile.mkdtemp(prefix=f"tocsin-{prefix}-")
    uid, gid = unprivileged_user()
    os.chown(d, uid, gid)
    os.chmod(d, 0o755)
    return d


def chown_tree(path):
    uid, gid = unprivileged_user()
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in files:
            os.chown(os.path.join(root, name), uid, gid)


def _drop():
    uid, gid = unprivileged_user()
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    os.setsid()


def wait_port(port, host="127.0.0.1", timeout=30, proc=None):
    """Wait until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} "
                               f"before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout}s")


class Server:
    """A server process run as the unprivileged user; output goes to
    `log` in its directory. stop() ends the whole process group."""

    def __init__(self, argv, cwd, env=None, log_name="server.log", unprivileged=True):
        self.log_path = os.path.join(cwd, log_name)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, preexec_fn=_drop if unprivileged else os.setsid)

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def run_unprivileged(argv, **kw):
    """subprocess.run as the unprivileged user (for initdb and the like)."""
    return subprocess.run(argv, preexec_fn=_drop, **kw)


# ----------------------------------------------------------------------
# Reading what a check printed
# ----------------------------------------------------------------------

STATES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]


def show(rc, out, err):
    """How a check ended, for assertion messages."""
    return f"exit {rc} ({STATES[rc] if 0 <= rc < 4 else '?'}), stdout {out!r}, stderr {err!r}"


def perfdata(out):
    """The performance data of the first line of `out` as
    {label: [value+uom, warn, crit, min, max]}, quoted labels unquoted."""
    _, _, perf = out.split("\n")[0].partition("|")
    items = {}
    for m in re.finditer(r"('(?:[^']|'')*'|[^'=\s][^=\s]*)=(\S*)", perf):
        label = m.group(1)
        if label.startswith("'"):
            label = label[1:-1].replace("''", "'")
        items[label] = (m.group(2).split(";") + [""] * 5)[:5]
    return items


def number(text):
    """The number at the start of a perfdata value ("12.5ms" -> 12.5)."""
    return float(re.match(r"-?[\d.]+", text).group(0))
