"""A throwaway nginx on loopback for the http check's tests: plain HTTP
and HTTPS on free ports, with a CA and a server certificate for
127.0.0.1/localhost made here with the openssl command, run as the
unprivileged user with every path inside its own directory.

Endpoints (on both ports):
  /            200, body BODY
  /health      200, {"status":"ok"} as application/json
  /error       500
  /redirect    302 to /target
  /target      200, body TARGET_BODY
  /large       200, LARGE_SIZE bytes
  /private/    basic auth (USER / PASSWORD), 200 with PRIVATE_BODY
  /slow        200, SLOW_SIZE bytes sent at SLOW_RATE bytes/s

With Nginx(access_log=True), nginx writes its access log (ACCESS_FORMAT,
the combined format and $request_time) to access_log_path; reopen()
renames it to access_log_path + ".1" and has nginx reopen its log, as
logrotate does.
"""
import os
import shutil
import signal
import subprocess
import time

from tocsintest import Server, chown_tree, free_port, server_dir, wait_port

NGINX = "/usr/sbin/nginx"
OPENSSL = "openssl"

BODY = "hello from tocsin's nginx\n"
HEALTH = '{"status":"ok"}'
TARGET_BODY = "you were redirected here\n"
PRIVATE_BODY = "members only\n"
LARGE_SIZE = 2 * 1024 * 1024 + 17
USER = "monitor"
PASSWORD = "Nginx-basic-S3cret"
# nginx sends a second's worth at once, then the rest at the rate: about
# half a second per /slow request.
SLOW_SIZE = 48 * 1024
SLOW_RATE = 32 * 1024
ACCESS_FORMAT = ('$remote_addr - $remote_user [$time_local] "$request" $status '
                 '$body_bytes_sent "$http_referer" "$http_user_agent" $request_time')

CONF = """\
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    {access_log}
    client_body_temp_path {d}/tmp/client_body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    default_type text/plain;
    keepalive_timeout 30s;

    server {{
        listen 127.0.0.1:{http};
        listen 127.0.0.1:{https} ssl;
        server_name localhost;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        root {d}/www;

        location = / {{ return 200 "{body}"; }}
        location = /health {{
            default_type application/json;
            return 200 '{health}';
        }}
        location = /error {{ return 500; }}
        location = /redirect {{ return 302 /target; }}
        location = /target {{ return 200 "{target}"; }}
        location = /large {{ try_files /large.bin =404; }}
        location = /slow {{ limit_rate {slow_rate}; try_files /slow.bin =404; }}
        location /private/ {{
            auth_basic "tocsin tests";
            auth_basic_user_file {d}/htpasswd;
        }}
    }}
}}
"""


class NginxError(RuntimeError):
    pass


def _openssl(d, *args):
    p = subprocess.run([OPENSSL, *args], cwd=d, capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise NginxError(f"openssl {' '.join(args)} failed: {p.stderr.strip()}")


def make_certificates(d):
    """ca.pem (a CA) and server.pem/server.key (127.0.0.1 and localhost,
    signed by the CA) in directory d."""
    _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.pem", "-days", "2", "-subj", "/CN=Tocsin test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
             "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(d, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey",
             "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2",
             "-extfile", "server.ext")


class Nginx:
    """start() runs nginx; http_port, https_port, ca_file and url() are
    then usable; stop() ends it and removes its directory."""

    def __init__(self, access_log=False):
        self.access_log = access_log
        self.dir = None
        self.server = None
        self.http_port = None
        self.https_port = None

    @property
    def ca_file(self):
        return os.path.join(self.dir, "ca.pem")

    def url(self, path="/", tls=False):
        if tls:
            return f"https://127.0.0.1:{self.https_port}{path}"
        return f"http://127.0.0.1:{self.http_port}{path}"

    @property
    def access_log_path(self):
        return os.path.join(self.dir, "access.log")

    def reopen(self, timeout=10):
        """Rename the access log to access_log_path + ".1" and have nginx
        reopen it (SIGUSR1); return once the new file exists."""
        os.rename(self.access_log_path, self.access_log_path + ".1")
        os.kill(self.server.proc.pid, signal.SIGUSR1)
        end = time.monotonic() + timeout
        while not os.path.exists(self.access_log_path):
            if time.monotonic() > end:
                raise NginxError("nginx did not reopen its access log")
            time.sleep(0.02)

    def start(self):
        if not os.access(NGINX, os.X_OK):
            raise NginxError(f"{NGINX} is missing: install nginx-light "
                             "(contrib/deps --tests)")
        if not shutil.which(OPENSSL):
            raise NginxError("the openssl command is missing: install openssl")
        self.dir = server_dir("nginx")
        d = self.dir
        for sub in ("tmp", "www", "www/private"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        make_certificates(d)
        with open(os.path.join(d, "www", "large.bin"), "wb") as f:
            f.write(b"x" * LARGE_SIZE)
        with open(os.path.join(d, "www", "slow.bin"), "wb") as f:
            f.write(b"s" * SLOW_SIZE)
        with open(os.path.join(d, "www", "private", "index.html"), "w") as f:
            f.write(PRIVATE_BODY)
        with open(os.path.join(d, "htpasswd"), "w") as f:
            f.write(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        self.http_port = free_port()
        self.https_port = free_port()
        while self.https_port == self.http_port:
            self.https_port = free_port()
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            if self.access_log:
                access = (f"log_format tocsin '{ACCESS_FORMAT}';\n"
                          f"    access_log {d}/access.log tocsin;")
            else:
                access = "access_log off;"
            f.write(CONF.format(d=d, http=self.http_port, https=self.https_port,
                                access_log=access, slow_rate=SLOW_RATE,
                                body=BODY.replace("\n", "\\n"), health=HEALTH,
                                target=TARGET_BODY.replace("\n", "\\n")))
        chown_tree(d)
        self.server = Server(
            [NGINX, "-p", d, "-e", f"{d}/error.log", "-c", f"{d}/nginx.conf", "-g",
             f"daemon off; pid {d}/nginx.pid; error_log {d}/error.log;"], cwd=d)
        try:
            wait_port(self.http_port, proc=self.server.proc)
            wait_port(self.https_port, proc=self.server.proc)
        except RuntimeError as e:
            log = self.server.output() + self.error_log()
            self.stop()
            raise NginxError(f"nginx did not start: {e}\n{log}")
        return self

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
