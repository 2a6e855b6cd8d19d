"""A throwaway Prometheus Alertmanager for the forwarding tests: a minimal
configuration (one receiver that sends nothing), its storage in a
temporary directory, clustering off, listening on a free port of
127.0.0.1, run as the unprivileged user; optionally behind basic
authentication (a web configuration with a bcrypt hash made by
htpasswd)."""
import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

from tocsintest import Server, chown_tree, free_port, server_dir, wait_port

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
HTPASSWD = shutil.which("htpasswd") or "/usr/bin/htpasswd"

CONFIG = """\
route:
  receiver: "null"
  group_wait: 1h
receivers:
  - name: "null"
"""


def available():
    return os.access(ALERTMANAGER, os.X_OK)


def can_hash():
    return os.access(HTPASSWD, os.X_OK)


class Alertmanager:
    """start() runs Alertmanager; with `auth` = (user, password) its API
    wants basic authentication; `config` replaces the configuration (one
    receiver that sends nothing)."""

    def __init__(self, auth=None, config=None):
        self.auth = auth
        self.config = config or CONFIG
        self.dir = None
        self.port = None
        self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _web_config(self):
        user, password = self.auth
        p = subprocess.run([HTPASSWD, "-nbB", "-C", "5", user, password],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise AssertionError(f"htpasswd failed: {p.stderr}")
        digest = p.stdout.strip().split(":", 1)[1]
        return f"basic_auth_users:\n  {user}: '{digest}'\n"

    def start(self):
        if not available():
            raise AssertionError(f"{ALERTMANAGER} is missing: install "
                                 f"prometheus-alertmanager (contrib/deps --tests)")
        self.dir = server_dir("alertmanager")
        os.makedirs(os.path.join(self.dir, "data"))
        config = os.path.join(self.dir, "alertmanager.yml")
        with open(config, "w") as f:
            f.write(self.config)
        self.port = free_port()
        argv = [ALERTMANAGER, f"--config.file={config}",
                f"--storage.path={self.dir}/data",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=", "--log.level=warn"]
        if self.auth:
            web = os.path.join(self.dir, "web.yml")
            with open(web, "w") as f:
                f.write(self._web_config())
            argv.append(f"--web.config.file={web}")
        chown_tree(self.dir)
        self.server = Server(argv, cwd=self.dir, log_name="alertmanager.log")
        try:
            wait_port(self.port, timeout=30, proc=self.server.proc)
            self._wait_ready()
        except (RuntimeError, AssertionError) as e:
            out = self.server.output()
            self.stop()
            raise AssertionError(f"alertmanager did not start: {e}\n{out}")
        return self

    def _wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                self.request("/-/ready")
                return
            except (OSError, urllib.error.URLError) as e:
                last = e
                time.sleep(0.1)
        raise AssertionError(f"not ready within {timeout}s: {last}")

    def request(self, path):
        req = urllib.request.Request(self.url + path)
        if self.auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(
                ":".join(self.auth).encode()).decode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read().decode()

    def post_alerts(self, alerts):
        """Raise (or, with endsAt in the past, resolve) `alerts` through
        Alertmanager's own API, as Prometheus does."""
        req = urllib.request.Request(self.url + "/api/v2/alerts",
                                     data=json.dumps(alerts).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        if self.auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(
                ":".join(self.auth).encode()).decode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status

    def alerts(self, **labels):
        """The alerts Alertmanager lists (active, silenced, inhibited,
        unprocessed; not resolved), those whose labels include `labels`."""
        found = json.loads(self.request("/api/v2/alerts"))
        return [a for a in found
                if all(a["labels"].get(k) == v for k, v in labels.items())]

    def received(self):
        """{"firing": N, "resolved": N}: alerts received so far, from
        Alertmanager's own counter (resolved alerts are not listed)."""
        counts = {"firing": 0, "resolved": 0}
        for line in self.request("/metrics").splitlines():
            if line.startswith("alertmanager_alerts_received_total{"):
                labels, _, value = line.rpartition(" ")
                for status in counts:
                    if f'status="{status}"' in labels:
                        counts[status] += int(float(value))
        return counts

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None

    def cleanup(self):
        self.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
