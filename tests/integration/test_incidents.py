"""Incidents and history: /api/v1/incidents, /api/v1/history and
`tocsinctl incidents`, against a real tocsind whose passive services are
made to change state with `tocsinctl submit`; and the `clear` range of a
threshold as tocsind -t judges it."""
import json
import os
import re
import subprocess
import time
import unittest

from tocsintest import (BUILDDIR, PLUGIN_PATH, ConfDir, Daemon, check_config, free_port)
from test_http_endpoint import fetch, fetch_json

TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")
TOKEN = "inc1dent-t0ken"
AUTH = {"Authorization": "Bearer " + TOKEN}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

SERVICES = """\
service "api" {
    passive = true
    labels {
        team = "web"
        tier = "front"
    }
}
service "db" {
    passive = true
    labels {
        team = "dba"
    }
}
service "disk" {
    passive = true
}
"""


class Incidents(unittest.TestCase):
    """One daemon: api was CRITICAL (acknowledged) and recovered, db is
    WARNING then CRITICAL, disk is UNKNOWN."""

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        main = ('host = "h1"\nhttp {\n    listen = "127.0.0.1:%d"\n    bearer_token = "%s"\n}\n'
                % (cls.port, TOKEN)) + SERVICES
        cls.conf = ConfDir(main)
        cls.daemon = Daemon(cls.conf.path, workers=1)
        cls.daemon.wait_for(r"tocsind \S+ started: ", timeout=15)
        cls.t0 = int(time.time())
        for args in (("api", "critical", "api is down"), ("db", "warning", "db is slow")):
            cls.submit(*args)
        cls.daemon.wait_for(r"service 'db' on h1: OK -> WARNING")
        p = cls.ctl("ack", "api", "-m", "on it")
        assert p.returncode == 0, p.stderr
        time.sleep(1.1)      # so that api's incident lasts a second at least
        cls.submit("api", "ok", "api is back")
        cls.daemon.wait_for(r"service 'api' on h1: CRITICAL -> OK")
        cls.submit("db", "critical", "db is stuck")
        cls.daemon.wait_for(r"service 'db' on h1: WARNING -> CRITICAL")
        cls.submit("disk", "unknown", "no figures")
        cls.daemon.wait_for(r"service 'disk' on h1: OK -> UNKNOWN")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.conf.cleanup()

    @classmethod
    def ctl(cls, *args):
        return subprocess.run([TOCSINCTL, "-c", cls.conf.path, "-p", PLUGIN_PATH, *args],
                              capture_output=True, text=True, timeout=30)

    @classmethod
    def submit(cls, name, state, output):
        p = cls.ctl("submit", name, "--state", state, "-m", output)
        assert p.returncode == 0, f"submit {name}: {p.stdout!r} {p.stderr!r}"

    def get(self, path, status=200):
        got, hdrs, body = fetch_json(self.port, path, headers=AUTH)
        self.assertEqual(got, status, f"GET {path}: expected {status}, got {got}: {body!r}")
        self.assertEqual(hdrs.get("cache-control"), "no-store", path)
        self.assertEqual(hdrs.get("content-type"), "application/json", path)
        return body

    def keys(self, path):
        return [i["service"] for i in self.get(path)["incidents"]]

    def test_open_incidents_by_default_with_every_field(self):
        body = self.get("/api/v1/incidents")
        self.assertEqual((body["count"], body["truncated"]), (2, False), body)
        db, disk = body["incidents"]
        self.assertRegex(db["key"], r"^h1/db/\d+$")
        self.assertTrue(RFC3339.match(db["start"]), db)
        start = int(db["key"].rsplit("/", 1)[1])
        self.assertGreaterEqual(start, self.t0 - 1)
        self.assertGreaterEqual(db["duration_seconds"], 0)
        self.assertLessEqual(db["duration_seconds"], int(time.time()) - start + 1)
        expected = {
            "key": db["key"], "service": "db", "host": "h1", "labels": {"team": "dba"},
            "status": "open", "state": "critical", "severity": "critical",
            "start": db["start"], "end": None, "duration_seconds": db["duration_seconds"],
            "acknowledged": None, "notifications": {"sent": 0, "pending": 0, "failed": 0},
            "output": "db is stuck",
        }
        self.assertEqual(db, expected, "the state the incident reached last, its output")
        self.assertEqual((disk["service"], disk["state"], disk["severity"], disk["labels"]),
                         ("disk", "unknown", "error", {}), disk)

    def test_closed_incident_has_end_duration_and_acknowledgement(self):
        body = self.get("/api/v1/incidents?state=closed")
        self.assertEqual(body["count"], 1, body)
        api = body["incidents"][0]
        self.assertEqual((api["service"], api["status"], api["state"], api["output"]),
                         ("api", "closed", "critical", "api is down"), api)
        self.assertTrue(RFC3339.match(api["end"]), api)
        self.assertGreaterEqual(api["duration_seconds"], 1, api)
        self.assertLess(api["duration_seconds"], 30, api)
        ack = api["acknowledged"]
        self.assertEqual((ack["by"], ack["text"]), ("root", "on it"), ack)
        self.assertTrue(RFC3339.match(ack["at"]), ack)

    def test_filters(self):
        self.assertEqual(self.keys("/api/v1/incidents?state=all"), ["api", "db", "disk"])
        self.assertEqual(self.keys("/api/v1/incidents?state=all&service=api,disk"),
                         ["api", "disk"])
        self.assertEqual(self.keys("/api/v1/incidents?state=all&service=db&service=disk"),
                         ["db", "disk"])
        self.assertEqual(self.keys("/api/v1/incidents?state=all&label=team=web"), ["api"])
        self.assertEqual(self.keys("/api/v1/incidents?state=all&label=team=web&label=tier=back"),
                         [])
        self.assertEqual(self.keys("/api/v1/incidents?label=team=web"), [],
                         "api's incident is closed")
        self.assertEqual(self.keys("/api/v1/incidents?state=all&since=1h"), ["api", "db", "disk"])
        self.assertEqual(self.keys("/api/v1/incidents?state=all&since=2000-01-01T00:00:00Z"),
                         ["api", "db", "disk"])
        self.assertEqual(self.keys("/api/v1/incidents?state=closed&since=2099-01-01T00:00:00Z"),
                         [])
        body = self.get("/api/v1/incidents?state=all&limit=2")
        self.assertEqual(([i["service"] for i in body["incidents"]], body["truncated"]),
                         (["db", "disk"], True), "the newest two, and truncated said")

    def test_bad_filters_are_400(self):
        for query, msg in (
                ("state=critical", 'state "critical" is not one of open, closed, all'),
                ("label=team", 'label "team" is not KEY=VALUE'),
                ("since=yesterday", 'since "yesterday" is neither a duration (30m, 2h, 7d) '
                                    'nor an RFC 3339 time (2026-12-01T08:00:00Z)'),
                ("limit=0", 'limit "0" is not a whole number from 1 to 10000'),
                ("limit=10001", 'limit "10001" is not a whole number from 1 to 10000'),
                ("service=", "service is empty; give a service name"),
                ("colour=red", 'unknown parameter "colour"; this path takes state, service, '
                               'label, since, limit')):
            with self.subTest(query=query):
                self.assertEqual(self.get("/api/v1/incidents?" + query, status=400),
                                 {"error": msg})
        self.assertEqual(self.get("/api/v1/history?state=open", status=400),
                         {"error": 'unknown parameter "state"; this path takes service, '
                                   'label, since, limit'})

    def test_token_required(self):
        for path in ("/api/v1/incidents", "/api/v1/history"):
            status, _, body = fetch(self.port, path)
            self.assertEqual(status, 401, f"{path} without a token: {body!r}")
            status, _, _ = fetch(self.port, path, headers={"Authorization": "Bearer nope"})
            self.assertEqual(status, 401, f"{path} with a wrong token")

    def test_history_in_time_order_with_limit(self):
        body = self.get("/api/v1/history?service=api")
        states = [e["text"] for e in body["events"] if e["kind"] == "state"]
        self.assertEqual(states, ["OK -> CRITICAL (hard): api is down",
                                  "CRITICAL -> OK (hard): api is back"], body)
        self.assertIn({"service": "api", "kind": "ack", "text": "acknowledged by root: on it"},
                      [{k: e[k] for k in ("service", "kind", "text")} for e in body["events"]])
        at = [e["at_ms"] for e in body["events"]]
        self.assertEqual(at, sorted(at), "oldest first")
        self.assertTrue(all(RFC3339.match(e["at"]) for e in body["events"]), body)
        self.assertEqual({e["service"] for e in body["events"]}, {"api"})
        everything = self.get("/api/v1/history")["events"]
        last2 = self.get("/api/v1/history?limit=2")
        self.assertEqual((last2["events"], last2["count"], last2["truncated"]),
                         (everything[-2:], 2, True), "the newest two, newest last")
        # The last hard change, and the priority line it writes beside it.
        self.assertEqual([(e["kind"], e["text"]) for e in last2["events"]],
                         [("state", "OK -> UNKNOWN (hard): no figures"),
                          ("priority", "P3: respond within 2h 0m, resolve within 1d 0h")],
                         last2)
        team = self.get("/api/v1/history?label=team=dba")["events"]
        self.assertEqual({e["service"] for e in team}, {"db"}, team)
        self.assertEqual(self.get("/api/v1/history?since=2099-01-01T00:00:00Z")["events"], [])

    def test_tocsinctl_incidents(self):
        p = self.ctl("incidents")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["STATUS", "STATE", "SERVICE", "SINCE", "DURATION",
                                            "ACK"], p.stdout)
        self.assertEqual([l.split()[:3] for l in lines[1:]],
                         [["open", "CRITICAL", "db"], ["open", "UNKNOWN", "disk"]], p.stdout)
        self.assertTrue(all(l.endswith(" -") for l in lines[1:]), p.stdout)
        p = self.ctl("incidents", "--closed")
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 2, p.stdout)
        self.assertEqual(lines[1].split()[:3], ["closed", "CRITICAL", "api"], p.stdout)
        self.assertTrue(lines[1].endswith(" root: on it"), p.stdout)
        self.assertRegex(lines[1], r" \d+s +root: on it$")
        p = self.ctl("incidents", "--all", "--label", "team=dba", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        got = json.loads(p.stdout)
        self.assertEqual([i["service"] for i in got], ["db"], p.stdout)
        self.assertEqual(got, self.get("/api/v1/incidents?state=all&label=team=dba")["incidents"])
        p = self.ctl("incidents", "--all", "--service", "api", "--service", "disk", "--json")
        self.assertEqual([i["service"] for i in json.loads(p.stdout)], ["api", "disk"])
        p = self.ctl("incidents", "--since", "soon")
        self.assertEqual((p.returncode, p.stderr),
                         (1, 'tocsinctl: since "soon" is neither a duration (30m, 2h, 7d) nor '
                             'an RFC 3339 time (2026-12-01T08:00:00Z)\n'))
        p = self.ctl("incidents", "--all", "--closed")
        self.assertEqual((p.returncode, p.stderr),
                         (2, "tocsinctl: incidents: --all and --closed exclude each other\n"))


class ClearRange(unittest.TestCase):
    """tocsind -t on a threshold's clear range."""

    def check(self, clear, warning="80", critical="90"):
        conf = ConfDir('service "disk" {\n    check = "dummy"\n'
                       '    perfdata = "used=50%;;;0;100"\n'
                       '    threshold "used" {\n'
                       f'        warning = "{warning}"\n        critical = "{critical}"\n'
                       f'        clear = "{clear}"\n    }}\n}}\n')
        self.addCleanup(conf.cleanup)
        return conf.path, check_config(conf.path)

    def test_clear_inside_warning_is_valid(self):
        path, (rc, out, err) = self.check("75")
        self.assertEqual(rc, 0, f"expected a valid configuration; got {out!r} {err!r}")

    def test_clear_outside_warning_is_an_error_with_file_and_line(self):
        path, (rc, out, err) = self.check("85")
        self.assertNotEqual(rc, 0, "expected tocsind -t to refuse clear = 85 beside warning 80")
        self.assertRegex(out + err, "(?m)^" + re.escape(path) + r":\d+: service 'disk': "
                         "threshold 'used': clear = \"85\" is not inside the warning range "
                         "\"80\": a value it lets recover would still be a problem$")

    def test_clear_that_is_not_a_range(self):
        path, (rc, out, err) = self.check("eighty")
        self.assertNotEqual(rc, 0)
        self.assertRegex(out + err, "(?m)^" + re.escape(path) +
                         r":\d+: option 'clear': range \"eighty\": \"eighty\" is not a number$")


if __name__ == "__main__":
    unittest.main()
