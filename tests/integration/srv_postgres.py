"""A throwaway PostgreSQL 15 for the tests: initdb into a temporary
directory, postgres on a free loopback port and a unix socket in that
directory, both run as the unprivileged user. Host connections need a
password (scram-sha-256); the socket trusts, so the suite administers the
server with psql over it. Optionally a streaming standby made with
pg_basebackup -R."""
import os
import shutil
import signal
import subprocess
import time

from tocsintest import (Server, chown_tree, free_port, run_unprivileged, server_dir,
                        wait_port)

PG_BIN = "/usr/lib/postgresql/15/bin"


def pg_tool(name):
    """Path of a PostgreSQL 15 program; fails clearly when it is missing."""
    path = os.path.join(PG_BIN, name)
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is missing: install postgresql-15 (contrib/deps)")
    return path


class PostgresServer:
    """start() makes and starts the server; stop() ends it and removes
    everything. `superuser_password` is set for 'postgres'; `monitor` is a
    plain login role (no monitoring rights) with `monitor_password`."""

    def __init__(self, monitor_password, superuser_password="pg-superuser-secret"):
        self.monitor_password = monitor_password
        self.superuser_password = superuser_password
        self.dir = None
        self.port = None
        self.server = None
        self.standby = None
        self.standby_port = None

    # -- lifecycle ---------------------------------------------------

    def start(self):
        initdb = pg_tool("initdb")
        self.postgres = pg_tool("postgres")
        self.dir = server_dir("pgsql")
        data = os.path.join(self.dir, "data")
        pwfile = os.path.join(self.dir, "pwfile")
        with open(pwfile, "w") as f:
            f.write(self.superuser_password + "\n")
        chown_tree(self.dir)
        os.chmod(pwfile, 0o600)
        p = run_unprivileged([initdb, "-D", data, "-U", "postgres", "--auth-local=trust",
                              "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
                              "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                             capture_output=True, text=True, timeout=120, cwd=self.dir)
        os.unlink(pwfile)
        if p.returncode != 0:
            raise AssertionError(f"initdb failed (exit {p.returncode}): {p.stderr}")
        self.port = free_port()
        self.server = self._postgres(data, self.port, "primary.log")
        self.wait_ready(self.port, self.server)
        self.psql(f"CREATE ROLE monitor LOGIN PASSWORD '{self.monitor_password}';"
                  "CREATE TABLE items (id int PRIMARY KEY, v int);"
                  "INSERT INTO items SELECT g, 0 FROM generate_series(1, 100) g;"
                  "GRANT SELECT, UPDATE ON items TO monitor;")
        return self

    def _postgres(self, data, port, log):
        # Quick to start and stop, quick to detect deadlocks; nothing durable.
        # No autovacuum worker comes and goes while connections are counted.
        return Server([self.postgres, "-D", data, "-p", str(port), "-k", self.dir,
                       "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                       "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                       "-c", "deadlock_timeout=100ms", "-c", "max_connections=20",
                       "-c", "autovacuum=off",
                       "-c", "shared_buffers=16MB", "-c", "logging_collector=off"],
                      cwd=self.dir, log_name=log)

    def wait_ready(self, port, server, timeout=60):
        """Wait until the server accepts queries over its socket."""
        wait_port(port, timeout=timeout, proc=server.proc)
        deadline = time.monotonic() + timeout
        while True:
            p = subprocess.run([pg_tool("pg_isready"), "-q", "-h", self.dir, "-p", str(port)],
                               capture_output=True, timeout=30)
            if p.returncode == 0:
                return
            if time.monotonic() > deadline or server.proc.poll() is not None:
                raise AssertionError(f"PostgreSQL on port {port} not ready; its log:\n"
                                     + server.output())
            time.sleep(0.1)

    def start_standby(self):
        """A streaming standby of this server on another port."""
        data = os.path.join(self.dir, "standby")
        p = run_unprivileged([pg_tool("pg_basebackup"), "-h", self.dir, "-p", str(self.port),
                              "-U", "postgres", "-D", data, "-R", "-X", "stream",
                              "-c", "fast", "--no-sync"],
                             capture_output=True, text=True, timeout=120, cwd=self.dir)
        if p.returncode != 0:
            raise AssertionError(f"pg_basebackup failed (exit {p.returncode}): {p.stderr}")
        self.standby_port = free_port()
        self.standby = self._postgres(data, self.standby_port, "standby.log")
        self.wait_ready(self.standby_port, self.standby)
        return self.standby_port

    def stop(self):
        for srv in (self.standby, self.server):
            if srv is not None:
                self._shutdown(srv)
        self.standby = self.server = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    @staticmethod
    def _shutdown(srv):
        """Fast shutdown (SIGINT: sessions are ended, not waited for), then
        the Server helper's own stop for whatever remains."""
        if srv.proc.poll() is None:
            try:
                os.kill(srv.proc.pid, signal.SIGINT)
                srv.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        srv.stop()

    def stop_standby(self):
        """Stop the standby, keeping its data for restart_standby()."""
        if self.standby is not None:
            self._shutdown(self.standby)
            self.standby = None

    def restart_standby(self):
        if self.standby is None:
            self.standby = self._postgres(os.path.join(self.dir, "standby"),
                                          self.standby_port, "standby.log")
            self.wait_ready(self.standby_port, self.standby)

    # -- administration ----------------------------------------------

    def psql(self, sql, port=None, db="postgres", check=True):
        """Run SQL as postgres over the socket; return stdout."""
        p = subprocess.run([pg_tool("psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                            "-h", self.dir, "-p", str(port or self.port), "-U", "postgres",
                            "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"psql {sql!r} failed (exit {p.returncode}): {p.stderr}")
        return p.stdout.strip()

    def psql_session(self, db="postgres"):
        """An interactive psql reading from a pipe, for multi-session tests."""
        return subprocess.Popen([pg_tool("psql"), "-X", "-q", "-At", "-h", self.dir, "-p",
                                 str(self.port), "-U", "postgres", "-d", db],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
