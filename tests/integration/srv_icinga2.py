"""A throwaway Icinga 2 for the forwarding tests: its own configuration,
data, cache, log and run directories under a temporary directory, run as
the unprivileged user, the REST API on a free port of 127.0.0.1 with a
certificate from a test CA made with openssl, an ApiUser with a password,
and passive services (no active checks) whose results the tests read back
through the API."""
import base64
import grp
import json
import os
import pwd
import shutil
import ssl
import subprocess
import textwrap
import time
import urllib.error
import urllib.request

from tocsintest import Server, chown_tree, free_port, server_dir, unprivileged_user
from tocsintest import wait_port

ICINGA2 = "/usr/sbin/icinga2"
NODE = "tocsin-icinga"


def available():
    return os.access(ICINGA2, os.X_OK)


def _run(argv, cwd, what):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"{what} failed (exit {p.returncode}): {' '.join(argv)}\n"
                             f"{p.stdout}{p.stderr}")


def make_certs(d, name=NODE):
    """A test CA and a certificate for `name`, localhost and 127.0.0.1,
    signed by it, in directory d: returns (ca.crt, name.crt, name.key)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run(["openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt",
          "-days", "30", "-subj", "/CN=Tocsin Test Icinga CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d, "making the test CA")
    _run(["openssl", "req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
          "-subj", f"/CN={name}"], d, "making the node's request")
    with open(os.path.join(d, "node.ext"), "w") as f:
        f.write(f"subjectAltName=DNS:{name},DNS:localhost,IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth,clientAuth\n")
    _run(["openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt",
          "-CAkey", "ca.key", "-CAcreateserial", "-days", "30", "-out", f"{name}.crt",
          "-extfile", "node.ext"], d, "signing the node's certificate")
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    return (os.path.join(d, "ca.crt"), os.path.join(d, f"{name}.crt"),
            os.path.join(d, f"{name}.key"))


class Icinga2:
    """start() runs Icinga 2 with `hosts`: {host: [service, ...]}, every
    service passive. `users`: {name: (password, [permissions])}."""

    def __init__(self, hosts, users):
        self.hosts = hosts
        self.users = users
        self.dir = None
        self.port = None
        self.server = None
        self.ca = None

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def _config(self):
        objects = []
        for name, (password, perms) in self.users.items():
            objects.append(f'object ApiUser {json.dumps(name)} {{\n'
                           f'  password = {json.dumps(password)}\n'
                           f'  permissions = {json.dumps(perms)}\n}}\n')
        for host, services in self.hosts.items():
            objects.append(f'object Host {json.dumps(host)} {{\n'
                           f'  check_command = "dummy"\n'
                           f'  enable_active_checks = false\n}}\n')
            for svc in services:
                objects.append(f'object Service {json.dumps(svc)} {{\n'
                               f'  host_name = {json.dumps(host)}\n'
                               f'  check_command = "dummy"\n'
                               f'  enable_active_checks = false\n'
                               f'  max_check_attempts = 1\n}}\n')
        return textwrap.dedent(f"""\
            include <itl>
            object Endpoint NodeName {{ }}
            object Zone ZoneName {{ endpoints = [ NodeName ] }}
            object ApiListener "api" {{
              bind_host = "127.0.0.1"
              bind_port = {self.port}
              accept_config = false
              accept_commands = false
            }}
            """) + "".join(objects)

    def start(self):
        if not available():
            raise AssertionError(f"{ICINGA2} is missing: install icinga2 "
                                 f"(contrib/deps --tests)")
        self.dir = server_dir("icinga2")
        d = self.dir
        for sub in ("etc", "data/certs", "log", "cache", "spool", "run/icinga2", "pki"):
            os.makedirs(os.path.join(d, sub))
        self.ca, cert, key = make_certs(os.path.join(d, "pki"))
        for src, dst in ((self.ca, "ca.crt"), (cert, f"{NODE}.crt"), (key, f"{NODE}.key")):
            shutil.copy(src, os.path.join(d, "data", "certs", dst))
        self.port = free_port()
        with open(os.path.join(d, "etc", "icinga2.conf"), "w") as f:
            f.write(self._config())
        chown_tree(d)
        defines = {
            "NodeName": NODE, "ZoneName": NODE,
            "ConfigDir": f"{d}/etc", "DataDir": f"{d}/data", "LogDir": f"{d}/log",
            "CacheDir": f"{d}/cache", "SpoolDir": f"{d}/spool",
            "InitRunDir": f"{d}/run", "PidPath": f"{d}/run/icinga2.pid",
            "VarsPath": f"{d}/cache/icinga2.vars",
            "ObjectsPath": f"{d}/cache/icinga2.debug",
            "StatePath": f"{d}/data/icinga2.state",
            "ModAttrPath": f"{d}/data/modified-attributes.conf",
        }
        uid, gid = unprivileged_user()
        defines["RunAsUser"] = pwd.getpwuid(uid).pw_name
        defines["RunAsGroup"] = grp.getgrgid(gid).gr_name
        argv = [ICINGA2, "daemon", "-c", f"{d}/etc/icinga2.conf"]
        for k, v in defines.items():
            argv += ["-D", f"{k}={v}"]
        self.server = Server(argv, cwd=d, log_name="icinga2.out")
        try:
            wait_port(self.port, timeout=60, proc=self.server.proc)
            self._wait_ready()
        except (RuntimeError, AssertionError) as e:
            out = self.server.output()
            self.stop()
            raise AssertionError(f"icinga2 did not start: {e}\n{out}")
        return self

    def _wait_ready(self, timeout=60):
        """The port opens before the objects are active: wait until the
        API knows the first service."""
        host = next(iter(self.hosts))
        svc = self.hosts[host][0]
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                self.service(host, svc)
                return
            except (OSError, urllib.error.URLError, AssertionError) as e:
                last = e
                time.sleep(0.2)
        raise AssertionError(f"the API did not list {host}!{svc} within {timeout}s: {last}")

    def request(self, path, user, method="GET", body=None):
        """(status, parsed JSON answer) of an API request as `user`."""
        password = self.users[user][0]
        ctx = ssl.create_default_context(cafile=self.ca)
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body else None)
        req.add_header("Accept", "application/json")
        req.add_header("Authorization", "Basic " + base64.b64encode(
            f"{user}:{password}".encode()).decode())
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                return r.status, json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode() or "null")

    def service(self, host, service, user=None):
        """The attributes of service HOST!SERVICE (last_check_result...)."""
        user = user or next(iter(self.users))
        status, answer = self.request(
            "/v1/objects/services/" + urllib.request.quote(f"{host}!{service}", safe=""),
            user)
        if status != 200:
            raise AssertionError(f"GET service {host}!{service}: {status} {answer}")
        return answer["results"][0]["attrs"]

    def stop(self):
        if self.server is not None:
            self.server.stop(timeout=30)
            self.server = None

    def cleanup(self):
        self.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def output(self):
        return self.server.output() if self.server else ""
