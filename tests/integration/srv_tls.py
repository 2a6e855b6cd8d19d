"""TLS servers for the ssl-expiry tests, with certificates made by the
openssl command: a test CA and leaves for 127.0.0.1/localhost that are
valid, close to expiry, expired, not yet valid, for another name,
self-signed, or issued by an intermediate CA that has expired.

- Certs: the certificates, in a temporary directory.
- Nginx: one nginx serving one certificate per port (and one plain-HTTP
  port), as the unprivileged user, on loopback.
- Smtp: an aiosmtpd SMTP server offering STARTTLS (run with the system's
  python3, which has python3-aiosmtpd; this file is also its script).
- Dovecot: IMAP and POP3 with STARTTLS, as the unprivileged user.
- Postgres: a PostgreSQL cluster with ssl = on, as the unprivileged user.

Each class has start()/stop(); stop() is safe after a failed start().
"""
import atexit
import datetime
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# Leaf certificates: name -> (start offset, end offset) from now, the
# subjectAltName, and the issuer: the test CA ("ca"), its intermediate CA
# that expired two days ago ("inter"), or None for a self-signed one, valid
# for a year.
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
LOCAL_SAN = "DNS:localhost,IP:127.0.0.1"
LEAVES = {
    "valid": (-DAY, 365 * DAY + HOUR, LOCAL_SAN, "ca"),
    "days20": (-DAY, 20 * DAY + HOUR, LOCAL_SAN, "ca"),
    "days3": (-DAY, 3 * DAY + HOUR, LOCAL_SAN, "ca"),
    "expired": (-60 * DAY, -(3 * DAY + HOUR), LOCAL_SAN, "ca"),
    "future": (10 * DAY + HOUR, 375 * DAY, LOCAL_SAN, "ca"),
    "otherhost": (-DAY, 365 * DAY + HOUR, "DNS:other.example,DNS:www.other.example", "ca"),
    "selfsigned": (None, None, LOCAL_SAN, None),
    "chainexpired": (-30 * DAY, 365 * DAY + HOUR, LOCAL_SAN, "inter"),
}
INTER_DATES = (-60 * DAY, -(2 * DAY + HOUR))


def _run(argv, cwd=None, what=None):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"{what or argv[0]} failed (exit {p.returncode}): "
                           f"{' '.join(argv)}\n{p.stdout}{p.stderr}")
    return p.stdout


def _asn1(when):
    return when.strftime("%Y%m%d%H%M%SZ")


def need(path, package):
    """Fail (not skip) with a clear message when a server binary is missing."""
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is missing: install {package} "
                           f"(contrib/deps --tests)")


class Certs:
    """A CA, an expired intermediate CA ("inter") and the leaves of LEAVES
    in a temporary directory readable by the unprivileged user.
    path(name) -> (cert, key), the cert file holding the chain a server
    sends; ca is the CA file; not_before[name] / not_after[name] are the
    certificates' dates as UTC datetimes."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "certs")
        os.makedirs(os.path.join(self.dir, "newcerts"))
        self.ca = os.path.join(self.dir, "ca.crt")
        self.not_after = {}
        self.not_before = {}

    def path(self, name):
        return (os.path.join(self.dir, f"{name}.crt"),
                os.path.join(self.dir, f"{name}.key"))

    def make(self):
        d = self.dir
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _run(["openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt",
              "-days", "3650", "-subj", "/O=Tocsin tests/CN=Tocsin Test CA",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], cwd=d,
             what="making the test CA")
        with open(os.path.join(d, "index.txt"), "w"):
            pass
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        for issuer in ("ca", "inter"):
            with open(os.path.join(d, f"{issuer}.cnf"), "w") as f:
                f.write(textwrap.dedent(f"""\
                    [ca]
                    default_ca = test
                    [test]
                    dir = {d}
                    database = {d}/index.txt
                    new_certs_dir = {d}/newcerts
                    serial = {d}/serial
                    certificate = {d}/{issuer}.crt
                    private_key = {d}/{issuer}.key
                    default_md = sha256
                    policy = anything
                    unique_subject = no
                    email_in_dn = no
                    [anything]
                    organizationName = optional
                    commonName = supplied
                    """))
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

        def sign(name, subject, ext_text, start, end, issuer):
            csr = os.path.join(d, f"{name}.csr")
            ext = os.path.join(d, f"{name}.ext")
            with open(ext, "w") as f:
                f.write(ext_text)
            _run(["openssl", "req", "-new", *ec, "-keyout", f"{name}.key", "-out", csr,
                  "-subj", subject], cwd=d, what=f"making the {name} request")
            _run(["openssl", "ca", "-batch", "-config", f"{issuer}.cnf", "-notext",
                  "-in", csr, "-out", f"{name}.crt", "-extfile", ext,
                  "-startdate", _asn1(now + start), "-enddate", _asn1(now + end)],
                 cwd=d, what=f"signing the {name} certificate")
            self.not_before[name] = now + start
            self.not_after[name] = now + end

        sign("inter", "/O=Tocsin tests/CN=Tocsin Test Intermediate CA",
             "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n",
             *INTER_DATES, "ca")
        for name, (start, end, san, issuer) in LEAVES.items():
            cert, key = self.path(name)
            cn = san.split(",")[0].split(":", 1)[1]
            if issuer is None:
                _run(["openssl", "req", "-x509", *ec, "-keyout", key, "-out", cert,
                      "-days", "365", "-subj", f"/O=Tocsin tests/CN={cn}",
                      "-addext", f"subjectAltName={san}"], cwd=d,
                     what=f"making the {name} certificate")
                self.not_before[name] = now
                self.not_after[name] = now + 365 * DAY
                continue
            sign(name, f"/O=Tocsin tests/CN={cn}",
                 f"subjectAltName = {san}\nbasicConstraints = CA:FALSE\n"
                 "extendedKeyUsage = serverAuth\n", start, end, issuer)
            if issuer == "inter":
                # The server sends its chain: the leaf, then the intermediate.
                with open(cert, "a") as out, open(os.path.join(d, "inter.crt")) as inter:
                    out.write(inter.read())
        for path in glob.glob(os.path.join(d, "*")):
            os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)


class Nginx:
    """nginx with one TLS server per certificate: ports[name]; and a plain
    HTTP server on http_port."""

    BIN = "/usr/sbin/nginx"

    def __init__(self, certs, tmp):
        from tocsintest import free_port
        self.certs = certs
        self.dir = os.path.join(tmp, "nginx")
        self.ports = {name: free_port() for name in LEAVES}
        self.http_port = free_port()
        self.server = None

    def start(self):
        from tocsintest import Server, chown_tree, wait_port
        need(self.BIN, "nginx-light")
        os.makedirs(os.path.join(self.dir, "logs"))
        servers = []
        for name, port in self.ports.items():
            cert, key = self.certs.path(name)
            servers.append(textwrap.dedent(f"""\
                server {{
                    listen 127.0.0.1:{port} ssl default_server;
                    ssl_certificate {cert};
                    ssl_certificate_key {key};
                    location / {{ return 200 "{name}\\n"; }}
                }}
                """))
        # On the valid certificate's port, a client that sends the server
        # name other.example gets the other.example certificate instead.
        cert, key = self.certs.path("otherhost")
        servers.append(textwrap.dedent(f"""\
            server {{
                listen 127.0.0.1:{self.ports['valid']} ssl;
                server_name other.example;
                ssl_certificate {cert};
                ssl_certificate_key {key};
                location / {{ return 200 "otherhost by name\\n"; }}
            }}
            """))
        servers.append(textwrap.dedent(f"""\
            server {{
                listen 127.0.0.1:{self.http_port};
                location / {{ return 200 "plain\\n"; }}
            }}
            """))
        d = self.dir
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                worker_processes 1;
                error_log {d}/logs/error.log info;
                events {{ worker_connections 64; }}
                http {{
                    access_log {d}/logs/access.log;
                    ssl_protocols TLSv1.2 TLSv1.3;
                    client_body_temp_path {d}/body;
                    proxy_temp_path {d}/proxy;
                    fastcgi_temp_path {d}/fastcgi;
                    uwsgi_temp_path {d}/uwsgi;
                    scgi_temp_path {d}/scgi;
                """))
            for s in servers:
                f.write(textwrap.indent(s, "    "))
            f.write("}\n")
        chown_tree(d)
        self.server = Server([self.BIN, "-e", f"{d}/logs/error.log", "-p", d, "-c", conf,
                              "-g", f"daemon off; pid {d}/nginx.pid;"], cwd=d)
        try:
            for port in [*self.ports.values(), self.http_port]:
                wait_port(port, proc=self.server.proc, timeout=20)
        except RuntimeError as e:
            raise RuntimeError(f"nginx did not start: {e}\n{self.server.output()}"
                               f"{_tail(os.path.join(d, 'logs', 'error.log'))}")

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None


def _tail(path, n=4000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def system_python_with(module):
    """A python3 that can import `module`: ours, else the system's."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and subprocess.run([py, "-c", f"import {module}"],
                                 capture_output=True).returncode == 0:
            return py
    raise RuntimeError(f"no python3 here can import {module}: install "
                       f"python3-{module} (contrib/deps --tests)")


class Smtp:
    """aiosmtpd on 127.0.0.1:port offering STARTTLS with the given leaf."""

    def __init__(self, certs, tmp, leaf):
        from tocsintest import free_port
        self.certs = certs
        self.leaf = leaf
        self.dir = os.path.join(tmp, "smtp")
        self.port = free_port()
        self.server = None

    def start(self):
        from tocsintest import Server, chown_tree, wait_port
        py = system_python_with("aiosmtpd")
        os.makedirs(self.dir)
        chown_tree(self.dir)
        cert, key = self.certs.path(self.leaf)
        self.server = Server([py, os.path.abspath(__file__), "smtp", str(self.port),
                              cert, key], cwd=self.dir)
        try:
            wait_port(self.port, proc=self.server.proc, timeout=20)
        except RuntimeError as e:
            raise RuntimeError(f"aiosmtpd did not start: {e}\n{self.server.output()}")

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None


class Dovecot:
    """Dovecot serving IMAP (imap_port) and POP3 (pop3_port) with STARTTLS
    required, as the unprivileged user, everything under its directory."""

    BIN = "/usr/sbin/dovecot"

    def __init__(self, certs, tmp, leaf):
        from tocsintest import free_port
        self.certs = certs
        self.leaf = leaf
        self.dir = os.path.join(tmp, "dovecot")
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.server = None

    def start(self):
        from tocsintest import Server, chown_tree, unprivileged_user, wait_port
        import pwd
        need(self.BIN, "dovecot-imapd and dovecot-pop3d")
        d = self.dir
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(d, sub))
        user = pwd.getpwuid(unprivileged_user()[0]).pw_name
        cert, key = self.certs.path(self.leaf)
        with open(os.path.join(d, "users"), "w"):
            pass
        conf = os.path.join(d, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                protocols = imap pop3
                listen = 127.0.0.1
                base_dir = {d}/run
                state_dir = {d}/state
                instance_name = tocsin-test-{os.getpid()}
                log_path = {d}/dovecot.log
                default_internal_user = {user}
                default_internal_group = {user if user != "nobody" else "nogroup"}
                default_login_user = {user}
                ssl = required
                ssl_cert = <{cert}
                ssl_key = <{key}
                mail_location = maildir:{d}/mail/%u
                passdb {{
                  driver = passwd-file
                  args = {d}/users
                }}
                userdb {{
                  driver = static
                  args = uid={user} gid={user if user != "nobody" else "nogroup"} home={d}/mail/%u
                }}
                service anvil {{
                  chroot =
                }}
                service imap-login {{
                  chroot =
                  inet_listener imap {{
                    port = {self.imap_port}
                  }}
                  inet_listener imaps {{
                    port = 0
                  }}
                }}
                service pop3-login {{
                  chroot =
                  inet_listener pop3 {{
                    port = {self.pop3_port}
                  }}
                  inet_listener pop3s {{
                    port = 0
                  }}
                }}
                """))
        chown_tree(d)
        self.server = Server([self.BIN, "-F", "-c", conf], cwd=d)
        try:
            wait_port(self.imap_port, proc=self.server.proc, timeout=20)
            wait_port(self.pop3_port, proc=self.server.proc, timeout=20)
        except RuntimeError as e:
            raise RuntimeError(f"dovecot did not start: {e}\n{self.server.output()}"
                               f"{_tail(os.path.join(d, 'dovecot.log'))}")

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None


class Postgres:
    """A PostgreSQL cluster with ssl = on and the given leaf, on
    127.0.0.1:port, its socket in its own directory."""

    BINDIR = "/usr/lib/postgresql/15/bin"

    def __init__(self, certs, tmp, leaf):
        from tocsintest import free_port
        self.certs = certs
        self.leaf = leaf
        self.dir = os.path.join(tmp, "postgres")
        self.port = free_port()
        self.server = None

    def start(self):
        from tocsintest import Server, chown_tree, run_unprivileged, wait_port
        need(os.path.join(self.BINDIR, "postgres"), "postgresql-15")
        d = self.dir
        data = os.path.join(d, "data")
        os.makedirs(d)
        chown_tree(d)
        p = run_unprivileged([os.path.join(self.BINDIR, "initdb"), "-D", data, "-A",
                              "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
                             cwd=d, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"initdb failed: {p.stdout}{p.stderr}")
        cert, key = self.certs.path(self.leaf)
        # The server wants its key private to its own user.
        shutil.copy(cert, os.path.join(data, "server.crt"))
        shutil.copy(key, os.path.join(data, "server.key"))
        os.chmod(os.path.join(data, "server.key"), 0o600)
        with open(os.path.join(data, "postgresql.conf"), "a") as f:
            f.write(textwrap.dedent(f"""\
                listen_addresses = '127.0.0.1'
                port = {self.port}
                unix_socket_directories = '{d}'
                ssl = on
                ssl_cert_file = 'server.crt'
                ssl_key_file = 'server.key'
                fsync = off
                shared_buffers = 16MB
                max_connections = 10
                logging_collector = off
                """))
        chown_tree(d)
        self.server = Server([os.path.join(self.BINDIR, "postgres"), "-D", data], cwd=d)
        try:
            wait_port(self.port, proc=self.server.proc, timeout=60)
        except RuntimeError as e:
            raise RuntimeError(f"postgres did not start: {e}\n{self.server.output()}")

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None


class All:
    """Every server above over one set of certificates."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="tocsin-tls-")
        os.chmod(self.tmp, 0o755)
        self.certs = Certs(self.tmp)
        self.nginx = Nginx(self.certs, self.tmp)
        self.smtp = Smtp(self.certs, self.tmp, "days20")
        self.dovecot = Dovecot(self.certs, self.tmp, "valid")
        self.postgres = Postgres(self.certs, self.tmp, "days3")
        self.servers = [self.nginx, self.smtp, self.dovecot, self.postgres]

    def start(self):
        # Also stopped at exit, should the test run end without its
        # tearDownClass (an interrupted run).
        atexit.register(self.stop)
        try:
            self.certs.make()
            for s in self.servers:
                s.start()
        except BaseException:
            self.stop()
            raise

    def stop(self):
        for s in self.servers:
            try:
                s.stop()
            except Exception:
                pass
        self.servers = []
        shutil.rmtree(self.tmp, ignore_errors=True)


# ----------------------------------------------------------------------
# Run as a script by the system's python3: the SMTP server.
# ----------------------------------------------------------------------

def _serve_smtp(port, cert, key):
    import signal
    import ssl
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, tls_context=ctx,
                            require_starttls=False, ready_timeout=10)
    controller.start()
    print(f"smtp listening on 127.0.0.1:{port}", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    while not stop:
        time.sleep(0.2)
    controller.stop()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "smtp":
        _serve_smtp(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: srv_tls.py smtp PORT CERT KEY")
