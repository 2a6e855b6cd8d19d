"""A throwaway MariaDB server for the tests: its own data directory in a
temporary directory, run as the unprivileged user, listening on a free
loopback port and on a unix socket in that directory. Optionally with
TLS (a CA and a server certificate made with openssl), a binary log (to
be a primary) or as a replica of another MariaDB."""
import os
import shutil
import subprocess
import time

from tocsintest import Server, chown_tree, free_port, run_unprivileged, server_dir

MYSQLD_CANDIDATES = ["mariadbd", "mysqld"]
INSTALL_DB_CANDIDATES = ["mariadb-install-db", "mysql_install_db"]
CLIENT_CANDIDATES = ["mariadb", "mysql"]
SBIN = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]


def _find(names):
    for name in names:
        found = shutil.which(name, path=os.pathsep.join(
            [os.environ.get("PATH", "")] + SBIN))
        if found:
            return found
    return None


def _programs():
    mysqld = _find(MYSQLD_CANDIDATES)
    install = _find(INSTALL_DB_CANDIDATES)
    client = _find(CLIENT_CANDIDATES)
    missing = [what for what, path in (("mariadbd", mysqld),
                                        ("mariadb-install-db", install),
                                        ("mariadb (the client)", client)) if not path]
    if missing:
        raise RuntimeError(
            "MariaDB is needed for these tests but " + ", ".join(missing) +
            " cannot be found: install mariadb-server and mariadb-client "
            "(contrib/deps --tests)")
    return mysqld, install, client


def _openssl(*args, cwd):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {p.stderr}")


def make_certificates(directory):
    """A CA and a server certificate for 127.0.0.1 and localhost signed by
    it, in `directory`: ca.pem, server.pem, server-key.pem."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=Tocsin test CA", "-keyout", "ca-key.pem", "-out", "ca.pem",
             cwd=directory)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server-key.pem", "-out", "server.csr", cwd=directory)
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
             "ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf",
             "-out", "server.pem", cwd=directory)


class MariaDB:
    """start() initialises the data directory and starts the server;
    sql() runs statements as root through the unix socket; stop() ends
    it and removes everything."""

    def __init__(self, name="mariadb", server_id=1, binlog=False, tls=False,
                 extra=()):
        self.name = name
        self.server_id = server_id
        self.binlog = binlog
        self.tls = tls
        self.extra = list(extra)
        self.dir = None
        self.server = None
        self.port = None

    @property
    def socket(self):
        return os.path.join(self.dir, "sock")

    @property
    def ca_file(self):
        return os.path.join(self.dir, "ca.pem")

    def start(self):
        mysqld, install, self.client = _programs()
        self.dir = server_dir(self.name)
        data = os.path.join(self.dir, "data")
        p = run_unprivileged(
            [install, "--no-defaults", f"--datadir={data}", "--user=nobody",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            cwd=self.dir, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"{install} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        argv = [mysqld, "--no-defaults", f"--datadir={data}",
                f"--socket={self.socket}", f"--pid-file={self.dir}/pid",
                f"--log-error={self.dir}/err.log", "--bind-address=127.0.0.1",
                "--skip-name-resolve", "--user=nobody",
                f"--server-id={self.server_id}",
                "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M",
                "--performance-schema=OFF", "--skip-slave-start"]
        if self.binlog:
            argv.append("--log-bin=binlog")
        if self.tls:
            make_certificates(self.dir)
            argv += [f"--ssl-ca={self.dir}/ca.pem", f"--ssl-cert={self.dir}/server.pem",
                     f"--ssl-key={self.dir}/server-key.pem"]
        chown_tree(self.dir)
        argv += self.extra
        for attempt in range(3):
            self.port = free_port()
            self.server = Server(argv + [f"--port={self.port}"], cwd=self.dir,
                                 log_name="server.log")
            if self._wait_ready():
                return self
            self.server.stop()
        raise RuntimeError(f"{mysqld} did not start; its log:\n{self.log()}")

    def _wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.proc.poll() is not None:
                return False
            if os.path.exists(self.socket):
                p = subprocess.run(self._client_argv() + ["-e", "SELECT 1"],
                                   capture_output=True, text=True, timeout=30)
                if p.returncode == 0:
                    return True
            time.sleep(0.05)
        return False

    def log(self):
        try:
            with open(os.path.join(self.dir, "err.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return self.server.output() if self.server else ""

    def _client_argv(self):
        return [self.client, "--no-defaults", f"--socket={self.socket}", "-uroot",
                "--batch", "--skip-column-names"]

    def sql(self, statements):
        """Run statements as root; return their output (tab-separated)."""
        p = subprocess.run(self._client_argv() + ["-e", statements],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"SQL failed on {self.name}: {statements}\n{p.stderr}")
        return p.stdout

    def rows(self, statement):
        """The rows of one statement as dicts keyed by column name."""
        p = subprocess.run([self.client, "--no-defaults", f"--socket={self.socket}",
                            "-uroot", "--batch", "-e", statement],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"SQL failed on {self.name}: {statement}\n{p.stderr}")
        lines = p.stdout.split("\n")
        names = lines[0].split("\t") if lines[0] else []
        return [dict(zip(names, line.split("\t"))) for line in lines[1:] if line]

    def status(self, name):
        """One variable of SHOW GLOBAL STATUS, as a string."""
        out = self.sql(f"SHOW GLOBAL STATUS LIKE '{name}'").split("\t")
        return out[1].strip() if len(out) > 1 else None

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
