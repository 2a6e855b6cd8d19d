"""A throwaway redis-server for the tests: loopback, a free port, a unix
socket in its own directory, no persistence, a password, run as the
unprivileged user. Optionally a replica of another RedisServer."""
import os
import shutil
import socket
import subprocess
import time

from tocsintest import Server, free_port, server_dir, wait_port

REDIS_SERVER = "redis-server"
REDIS_CLI = "redis-cli"


def _need(program):
    path = shutil.which(program)
    if not path:
        raise AssertionError(
            f"{program} is not installed: the redis tests need the redis-server "
            f"package (contrib/deps --tests installs it)")
    return path


class RespError(Exception):
    """An error reply from the server."""


def _encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RespConnection:
    """A minimal RESP2 client (stdlib only) for setting up test data."""

    def __init__(self, port, password=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        if password is not None:
            self.command("AUTH", password)

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError(f"unexpected RESP line {line!r}")

    def command(self, *args):
        self.sock.sendall(_encode(args))
        return self.reply()

    def pipeline(self, commands):
        """Send many commands at once; return their replies (errors as
        RespError instances, not raised)."""
        self.sock.sendall(b"".join(_encode(c) for c in commands))
        out = []
        for _ in commands:
            try:
                out.append(self.reply())
            except RespError as e:
                out.append(e)
        return out


class RedisServer:
    def __init__(self, password, replica_of=None):
        self.password = password
        self.replica_of = replica_of
        self.port = None
        self.dir = None
        self.server = None

    @property
    def socket_path(self):
        return os.path.join(self.dir, "redis.sock")

    def start(self):
        binary = _need(REDIS_SERVER)
        self.dir = server_dir("redis")
        self.port = free_port()
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--appendonly", "no",
                "--requirepass", self.password, "--daemonize", "no",
                "--unixsocket", self.socket_path, "--unixsocketperm", "777",
                "--logfile", ""]
        if self.replica_of is not None:
            argv += ["--replicaof", "127.0.0.1", str(self.replica_of.port),
                     "--masterauth", self.replica_of.password]
        self.server = Server(argv, cwd=self.dir, log_name="redis.log")
        try:
            wait_port(self.port, timeout=30, proc=self.server.proc)
        except RuntimeError as e:
            out = self.server.output()
            self.stop()
            raise AssertionError(f"redis-server did not start: {e}\n{out}")
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None

    def cleanup(self):
        self.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def running(self):
        return self.server is not None and self.server.proc.poll() is None

    def connect(self):
        return RespConnection(self.port, self.password)

    def command(self, *args):
        c = self.connect()
        try:
            return c.command(*args)
        finally:
            c.close()

    def info(self):
        """INFO as a {key: value} dict of strings."""
        text = self.command("INFO")
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#") and ":" in line:
                k, v = line.split(":", 1)
                out.setdefault(k, v)
        return out

    def wait_info(self, predicate, what, timeout=20):
        """Wait until predicate(INFO) holds; fail saying `what` otherwise."""
        deadline = time.monotonic() + timeout
        info = {}
        while time.monotonic() < deadline:
            info = self.info()
            if predicate(info):
                return info
            time.sleep(0.05)
        raise AssertionError(f"expected {what} within {timeout}s; INFO had "
                             + ", ".join(f"{k}={info.get(k)}" for k in
                                         ("connected_clients", "used_memory", "role",
                                          "master_link_status")))

    def cli(self, *args):
        """Run redis-cli against this server (password from the
        environment, never on its command line); return stdout."""
        env = dict(os.environ, REDISCLI_AUTH=self.password)
        p = subprocess.run([_need(REDIS_CLI), "-h", "127.0.0.1", "-p", str(self.port),
                            *args], capture_output=True, text=True, timeout=30, env=env)
        if p.returncode != 0 or p.stdout.startswith("(error)") or \
                p.stdout.startswith("ERR"):
            raise AssertionError(f"redis-cli {' '.join(args)} failed: "
                                 f"exit {p.returncode}, {p.stdout!r} {p.stderr!r}")
        return p.stdout
