"""Nothing lost, nothing told twice: tocsind killed with SIGKILL in the
middle of a storm of 200 problems while the receiver is slow and failing,
then started again on the same state directory, delivers every
notification at least once (each incident exactly once after
deduplication); a clean restart and a reload keep the services' states,
so a problem that lasts is not told again and its recovery closes the
same incident."""
import json
import os
import signal
import time
import unittest

from test_pipeline import Pipeline, wait_until
from tocsintest import Daemon

STORM = 200


class Durability(Pipeline):
    def hook_route(self):
        return (self.notifier("console") + self.notifier("webhook")
                + self.route("all", ["webhook"]))

    def restart(self, sig=signal.SIGTERM):
        """Stop the daemon with `sig` and start another on the same
        configuration and state directory."""
        if sig == signal.SIGKILL:
            self.daemon.proc.kill()
            self.daemon.proc.wait(10)
            self.daemon.stop()
        else:
            rc = self.daemon.stop(sig)
            self.assertEqual(rc, 0, f"expected a clean stop; log:\n{self.tail()}")
        self.daemon = Daemon(self.conf.path)
        self.addCleanup(self.daemon.stop)
        self.daemon.wait_for(r"tocsind \S+ started: ", timeout=20)
        return self.daemon

    def status(self):
        return {s["name"]: s for s in json.loads(self.ctl_ok("status", "--json"))}

    def status_via_socket(self):
        out = self.ctl_ok("-s", self.conf.socket, "status", "--json")
        return {s["name"]: s for s in json.loads(out)}

    def test_kill_during_a_storm_loses_no_notification(self):
        services = "".join(f'service "s{i:03d}" {{\n    check = "dummy"\n'
                           f'    state = "critical"\n    output = "s{i:03d} is down"\n'
                           f'    interval = 30s\n    max_attempts = 1\n}}\n'
                           for i in range(STORM))
        names = {f"s{i:03d}" for i in range(STORM)}
        # A receiver that is unwell at first, then slow.
        self.hook.respond(500, "overloaded", times=2)
        self.hook.answer_delay = 0.3
        d = self.start(self.hook_route() + services)
        d.wait_for(r"service 's\d{3}' on testhost: OK -> CRITICAL \(hard", count=STORM,
                   timeout=30)
        # Two refused, the third being answered: kill the daemon now.
        self.hook.wait(3, timeout=20)
        delivered_before = {e["service"] for e in self.history() if e["kind"] == "delivered"}
        self.assertLess(len(delivered_before), STORM,
                        "expected the kill to come before every notification was delivered")
        d = self.restart(signal.SIGKILL)
        d.wait_for(rf"restored the alerting state of {STORM} services", timeout=5)

        def received():
            got = {a["service"] for a in self.hook_alerts(self.hook) if a["kind"] == "problem"}
            return got >= names and got
        wait_until(received, 60, lambda: (
            f"every service's problem at the receiver; missing "
            f"{sorted(names - {a['service'] for a in self.hook_alerts(self.hook)})[:20]}; "
            f"log:\n{self.tail()}"))

        # What was queued: one problem per service, in the store's history.
        queued = [e["service"] for e in self.history()
                  if e["kind"] == "queued" and e["text"] == "problem CRITICAL to webhook"]
        self.assertEqual(sorted(queued), sorted(names),
                         f"expected one queued problem per service; got {len(queued)} for "
                         f"{len(set(queued))} services")
        # What was received, deduplicated by incident: exactly the open
        # incident of each service, once.
        incidents = {name: s.get("incident") for name, s in self.status().items()}
        alerts = self.hook_alerts(self.hook)
        by_incident = {}
        for a in alerts:
            self.assertEqual(a["kind"], "problem", f"expected only problems; got {a}")
            by_incident.setdefault(a["incident"], set()).add(a["service"])
        self.assertEqual(set(by_incident), set(incidents.values()),
                         "expected the receiver to have every open incident and no other")
        for incident, svcs in by_incident.items():
            self.assertEqual(len(svcs), 1, f"incident {incident} names {svcs}")
        self.assertEqual({next(iter(v)) for v in by_incident.values()}, names)
        duplicates = len(alerts) - len(by_incident)
        self.assertLessEqual(duplicates, STORM, f"expected at most one resend per alert; "
                                                f"{duplicates} duplicates")
        # The states survived the kill: no problem was judged again.
        self.assertEqual(d.count(r"-> CRITICAL \(hard"), 0,
                         f"expected no new hard change after the restart; log:\n{self.tail()}")
        # And the store knows each was delivered.
        wait_until(lambda: {e["service"] for e in self.history() if e["kind"] == "delivered"}
                   >= names, 20, "a delivered event in the history for every service")
        self.assertTrue(d.alive(), f"expected tocsind to be running; log:\n{self.tail()}")

    def test_restart_does_not_tell_a_lasting_problem_again(self):
        d = self.start(self.hook_route() + self.service("api", "critical")
                       + self.service("web", "ok"))
        (problem,) = self.wait_hook(service="api", kind="problem")
        before = self.status()
        d = self.restart()
        d.wait_for(r"restored the alerting state of 1 services", timeout=5)
        restarted = time.time()
        # Both ran again after the restart.
        wait_until(lambda: all((s["last_check"] or 0) >= int(restarted)
                               for s in self.status().values()),
                   10, lambda: f"both services checked after the restart: {self.status()}")
        after = self.status()
        for name in ("api", "web"):
            self.assertEqual((after[name]["state"], after[name]["last_change"]),
                             (before[name]["state"], before[name]["last_change"]),
                             f"expected {name} to keep its state and the time it changed")
        self.assertEqual(after["api"]["incident"], problem["incident"])
        self.set_state("api", "ok")
        (recovery,) = self.wait_hook(service="api", kind="recovery")
        self.assertEqual(recovery["incident"], problem["incident"],
                         "expected the recovery to close the incident opened before the restart")
        kinds = [(a["service"], a["kind"]) for a in self.hook_alerts(self.hook)]
        self.assertEqual(kinds, [("api", "problem"), ("api", "recovery")],
                         f"expected no second problem after the restart; got {kinds}")
        self.assertEqual(d.count(r"OK -> CRITICAL \(hard"), 0,
                         f"expected no hard change after the restart; log:\n{self.tail()}")

    def test_reload_keeps_states(self):
        d = self.start(self.hook_route() + self.service("api", "critical")
                       + self.service("web", "ok"))
        (problem,) = self.wait_hook(service="api", kind="problem")
        d.wait_for(r"service 'web' on testhost: first result OK", timeout=10)
        before = self.status()
        self.conf.write("new.conf", self.service("db", "ok"))
        out = self.ctl_ok("reload")
        self.assertEqual(out, "configuration reloaded: 3 services\n")
        d.wait_for(r"configuration reloaded in [\d.]+ ms: 3 services \(2 kept, 1 new, "
                   r"0 changed, 0 removed\)", timeout=5)
        after = self.status()
        for name in ("api", "web"):
            for field in ("state", "hard_state", "last_change"):
                self.assertEqual(after[name][field], before[name][field],
                                 f"expected {name}'s {field} kept across the reload")
        self.assertEqual(after["api"].get("incident"), problem["incident"])
        # A bad configuration is refused and changes nothing: the daemon
        # says why, with the FILE:LINE of the mistake.
        bad = self.conf.write("bad.conf", 'service "x" {\n    check = "dummy"\n'
                                          '    intervall = 1s\n}\n')
        rc, out, err = self.ctl("reload")
        self.assertEqual(rc, 1, f"expected the daemon to refuse with exit 1; got {rc}, {err!r}")
        self.assertIn(f"{bad}:3: no such option 'intervall'", err,
                      f"expected FILE:LINE of the mistake; got {err!r}")
        # ... and the daemon, asked through its socket, refuses it.
        rc, out, err = self.ctl("-s", self.conf.socket, "reload")
        self.assertEqual(rc, 1, f"expected the daemon to refuse with exit 1; got {rc}, {err!r}")
        self.assertIn(f"{bad}:3: no such option 'intervall'", err,
                      f"expected the daemon's FILE:LINE of the mistake; got {err!r}")
        d.wait_for(r"reload refused, the running configuration stays", timeout=5)
        status = self.status_via_socket()
        self.assertEqual(len(status), 3, f"expected the running configuration; got {status}")
        self.assertEqual(status["api"]["incident"], problem["incident"])
        os.unlink(bad)
        self.set_state("api", "ok")
        (recovery,) = self.wait_hook(service="api", kind="recovery")
        self.assertEqual(recovery["incident"], problem["incident"])
        kinds = [(a["service"], a["kind"]) for a in self.hook_alerts(self.hook)]
        self.assertEqual(kinds, [("api", "problem"), ("api", "recovery")],
                         f"expected no second problem after the reload; got {kinds}")
        self.assertTrue(d.alive(), f"expected tocsind to be running; log:\n{self.tail()}")


if __name__ == "__main__":
    unittest.main()
