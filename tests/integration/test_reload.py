"""A reload (or a restart) that changes a service never loses nor
duplicates its alerts. A change the state survives (labels, thresholds,
timing, notifiers) keeps the service's state and its open incident: the
next result is judged as usual. A change of what is checked (plugin,
command, target) resolves the open incident at the receivers told of it,
saying why, and the service starts afresh. A service removed while its
problem is open is resolved the same way."""
import os
import random
import re
import signal
import time
import unittest
import urllib.error
import urllib.request

from test_pipeline import Pipeline, wait_until
from tocsintest import Daemon, free_port

SVC_FILE = "services.conf"


class Reload(Pipeline):
    def routing(self):
        return (self.notifier("console") + self.notifier("webhook")
                + self.route("all", ["webhook"]))

    def reload(self, services):
        """Write `services` as the services' file and reload; wait until
        the daemon has taken it."""
        before = self.daemon.count(r"configuration reloaded in ")
        self.conf.write(SVC_FILE, services)
        self.ctl_ok("reload")
        self.daemon.wait_for(r"configuration reloaded in ", count=before + 1, timeout=10)

    def kinds(self, service=None):
        return [(a["service"], a["kind"]) for a in self.hook_alerts(self.hook)
                if service is None or a["service"] == service]

    def settle(self, seconds=3):
        """Let a few checks run (interval 1 s) so that what would be sent
        wrongly has had the time to be."""
        time.sleep(seconds)

    def recovers_under(self, problem):
        """api turns OK: its recovery closes the incident of `problem`."""
        self.set_state("api", "ok")
        recoveries = self.wait_hook(service="api", kind="recovery")
        self.assertEqual(recoveries[-1]["incident"], problem["incident"],
                         "expected the recovery to close the incident of the problem told")
        return recoveries[-1]

    def api_checking(self, target):
        """The service api, critical, its command reading `target`'s state."""
        return self.service("api", "critical").replace(f"{self.script} api\"",
                                                      f"{self.script} {target}\"")

    def open_problems(self):
        """The receiver's view: per service, the incidents it was told of
        and not told the end of; and every incident's alerts, in order."""
        open_, by_incident, seen = {}, {}, set()
        for a in self.hook_alerts(self.hook):
            # A reload replaces the notifier workers: a message in flight
            # then is sent again from the outbox, the same alert byte for
            # byte (delivery is at least once). Counted once, as a receiver
            # deduplicating on it would; an alert judged again is not the
            # same (its time differs).
            same = repr(sorted((k, repr(v)) for k, v in a.items() if not k.startswith("_")))
            if same in seen:
                continue
            seen.add(same)
            by_incident.setdefault(a["incident"], []).append(a["kind"])
            if a["kind"] == "problem":
                open_.setdefault(a["service"], set()).add(a["incident"])
            elif a["kind"] == "recovery":
                open_.get(a["service"], set()).discard(a["incident"])
        return {s: i for s, i in open_.items() if i}, by_incident

    # -- a change the state survives ------------------------------------------

    def test_relabelled_service_recovers_under_its_incident(self):
        self.start(self.routing(),
                   {SVC_FILE: self.service("api", "critical", labels={"team": "a"})})
        (problem,) = self.wait_hook(service="api", kind="problem")
        self.reload(self.service("api", "critical", labels={"team": "b"}))
        self.settle()
        recovery = self.recovers_under(problem)
        self.assertEqual(recovery["labels"].get("team"), "b",
                         f"expected the recovery to carry the new labels; got {recovery}")
        self.settle(2)
        self.assertEqual(self.kinds(), [("api", "problem"), ("api", "recovery")],
                         f"expected one problem and one recovery; log:\n{self.tail()}")

    def test_threshold_change_on_a_lasting_problem_tells_nothing_new(self):
        th = ('    threshold "time" {{\n        warning = "~:{w}"\n'
              '        critical = "~:{c}"\n    }}\n')
        d = self.start(self.routing(), {SVC_FILE: self.service(
            "api", "critical", extra=th.format(w="0.3", c="0.5"))})
        (problem,) = self.wait_hook(service="api", kind="problem")
        self.reload(self.service("api", "critical", extra=th.format(w="0.6", c="0.9")))
        self.settle()
        self.assertEqual(self.kinds(), [("api", "problem")],
                         f"expected no second problem for a problem that lasts; "
                         f"log:\n{self.tail()}")
        self.assertEqual(d.count(r"service 'api' on testhost: OK -> CRITICAL"), 1,
                         f"expected the problem judged once; log:\n{self.tail()}")
        self.recovers_under(problem)

    # -- a different check -------------------------------------------------

    def test_changed_command_resolves_the_old_incident(self):
        self.set_state("api-v2", "critical")
        self.start(self.routing(), {SVC_FILE: self.service("api", "critical")})
        (problem,) = self.wait_hook(service="api", kind="problem")
        other = self.api_checking("api-v2")
        self.assertNotEqual(other, self.service("api", "critical"))
        self.reload(other)
        (resolved,) = self.wait_hook(service="api", kind="recovery")
        self.assertEqual(resolved["incident"], problem["incident"],
                         "expected the resolution of the incident told before the reload")
        self.assertIn("redefined", resolved["output"],
                      f"expected the output to say the check was redefined; got {resolved}")
        problems = self.wait_hook(service="api", kind="problem", count=2)
        self.assertNotEqual(problems[1]["incident"], problem["incident"],
                            "expected the new check's problem under a new incident")
        self.settle(2)
        self.assertEqual(self.kinds(), [("api", "problem"), ("api", "recovery"),
                                        ("api", "problem")],
                         f"expected problem, resolution, new problem; log:\n{self.tail()}")
        self.set_state("api-v2", "ok")
        recoveries = self.wait_hook(service="api", kind="recovery", count=2)
        self.assertEqual(recoveries[1]["incident"], problems[1]["incident"])

    def test_removed_service_is_resolved(self):
        self.start(self.routing(), {SVC_FILE: self.service("api", "critical")
                                    + self.service("web", "ok")})
        (problem,) = self.wait_hook(service="api", kind="problem")
        self.reload(self.service("web", "ok"))
        (resolved,) = self.wait_hook(service="api", kind="recovery")
        self.assertEqual(resolved["incident"], problem["incident"])
        self.assertIn("removed", resolved["output"],
                      f"expected the output to say the service was removed; got {resolved}")
        self.settle(2)
        self.assertEqual(self.kinds(), [("api", "problem"), ("api", "recovery")])

    # -- across a restart --------------------------------------------------

    def restart_with(self, services):
        """Kill the daemon (SIGKILL) once the store knows the problems
        told were delivered (else they are told again after the start, at
        least once), write `services`, start it again."""
        self.wait_history("delivered", "")
        self.daemon.proc.kill()
        self.daemon.proc.wait(10)
        self.daemon.stop()
        self.conf.write(SVC_FILE, services)
        self.daemon = Daemon(self.conf.path)
        self.addCleanup(self.daemon.stop)
        self.daemon.wait_for(r"tocsind \S+ started: ", timeout=20)
        return self.daemon

    def test_restart_with_new_labels_keeps_the_incident(self):
        self.start(self.routing(),
                   {SVC_FILE: self.service("api", "critical", labels={"team": "a"})})
        (problem,) = self.wait_hook(service="api", kind="problem")
        self.restart_with(self.service("api", "critical", labels={"team": "b"}))
        self.settle()
        self.assertEqual(self.kinds(), [("api", "problem")],
                         f"expected no second problem after the restart; log:\n{self.tail()}")
        self.recovers_under(problem)

    def test_restart_with_a_changed_command_resolves_the_old_incident(self):
        self.set_state("api-v2", "ok")
        self.start(self.routing(), {SVC_FILE: self.service("api", "critical")})
        (problem,) = self.wait_hook(service="api", kind="problem")
        self.restart_with(self.api_checking("api-v2"))
        (resolved,) = self.wait_hook(service="api", kind="recovery")
        self.assertEqual(resolved["incident"], problem["incident"])
        self.assertIn("redefined", resolved["output"], f"got {resolved}")
        self.settle(2)
        self.assertEqual(self.kinds(), [("api", "problem"), ("api", "recovery")])

    # -- a storm -----------------------------------------------------------

    def test_storm_of_flips_and_relabelling_reloads_settles_clean(self):
        n, rounds = 30, 6
        rng = random.Random(7)
        names = [f"s{i:02d}" for i in range(n)]
        states = {s: rng.choice(("ok", "critical")) for s in names}
        team = {s: "a" for s in names}

        # Flapping would hold problems back and tell them again under the
        # same incident; this storm is about reloads only.
        def services():
            return "".join(self.service(s, states[s], labels={"team": team[s]},
                                        flap_detection="false") for s in names)
        self.start(self.routing(), {SVC_FILE: services()})
        self.daemon.wait_for(r"service 's\d\d' on testhost: (first result|OK -> )", count=n,
                             timeout=20)
        for r in range(rounds):
            for s in rng.sample(names, n // 2):
                states[s] = "ok" if states[s] == "critical" else "critical"
                self.set_state(s, states[s])
            time.sleep(rng.uniform(0.3, 1.5))
            for s in rng.sample(names, n // 3):
                team[s] = f"t{r}"
            self.reload(services())
            time.sleep(rng.uniform(0.3, 1.5))
        for s in names:
            states[s] = "ok"
            self.set_state(s, "ok")

        def settled():
            open_, _ = self.open_problems()
            return not open_ and self.daemon.count(r"configuration reloaded") >= rounds
        try:
            wait_until(settled, 30, "the receiver's view to have no open problem")
        except AssertionError:
            open_, _ = self.open_problems()
            self.fail(f"expected no open problem at the receiver once every service is OK; "
                      f"open: {open_}; log:\n{self.tail(80)}")
        self.settle(2)
        _, by_incident = self.open_problems()
        for incident, kinds in by_incident.items():
            svc = incident.split("/")[1]
            self.assertEqual(kinds, ["problem", "recovery"],
                             f"expected one problem and one recovery for incident "
                             f"{incident}; got {kinds}; {svc}'s alerts: "
                             + repr([(a["kind"], a["incident"], a["_at"])
                                     for a in self.hook_alerts(self.hook)
                                     if a["service"] == svc])
                             + "; log:\n" + "\n".join(
                                 l for l in self.daemon.lines
                                 if f"'{svc}'" in l or "reload" in l))


TOKEN = "reloadT0ken-never-logged"


class HonestReload(Pipeline):
    """A reload keeps the counters, applies the HTTP endpoint's token and
    says what waits for a restart."""

    routing = Reload.routing
    reload = Reload.reload

    def metrics(self, port, token=None):
        """(status, {sample: value}) of /metrics."""
        req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                text = r.read().decode()
                status = r.status
        except urllib.error.HTTPError as e:
            return e.code, {}
        samples = {}
        for line in text.splitlines():
            m = re.match(r"^(\S+) (\S+)$", line)
            if m:
                samples[m.group(1)] = float(m.group(2))
        return status, samples

    def main(self, port, http_extra="", extra=""):
        return (extra + f'http {{\n    listen = "127.0.0.1:{port}"\n{http_extra}}}\n'
                + self.notifier("console") + self.notifier("webhook")
                + self.route("all", ["webhook"]))

    def rewrite_main(self, text):
        """Replace the main file's own part (before what ConfDir appends)."""
        with open(self.conf.path) as f:
            old = f.read()
        keep = old[old.index("\nstate_dir = "):]
        with open(self.conf.path, "w") as f:
            f.write("max_check_spread = 1s\nhost = \"testhost\"\n" + text + keep)

    def test_counters_go_on_across_a_reload(self):
        port = free_port()
        self.start(self.main(port), {SVC_FILE: self.service("api", "critical")})
        self.wait_hook(service="api", kind="problem")
        queued = 'tocsin_notifications_queued_total'
        attempts = 'tocsin_notification_attempts_total{notifier="webhook"}'
        _, before = wait_until(lambda: (lambda m: m[1].get(attempts, 0) >= 1 and m)(
            self.metrics(port)), 10, lambda: "an attempt counted")
        self.conf.write(SVC_FILE, self.service("api", "critical")
                        + self.service("web", "ok"))
        out = self.ctl_ok("reload")
        self.assertEqual(out, "configuration reloaded: 2 services\n",
                         "expected nothing waiting for a restart")
        status, after = self.metrics(port)
        self.assertEqual(status, 200)
        for name in (queued, attempts, "tocsin_checks_total"):
            self.assertGreaterEqual(after.get(name, 0), before[name],
                                    f"expected {name} to keep counting across the reload; "
                                    f"it was {before[name]}, then {after.get(name)}")

    def test_token_added_by_reload_is_applied_and_restarts_needed_are_said(self):
        port = free_port()
        self.start(self.main(port), {SVC_FILE: self.service("api", "ok")})
        status, _ = self.metrics(port)
        self.assertEqual(status, 200, "expected /metrics open without a token")
        self.rewrite_main(self.main(port, f'    bearer_token = "{TOKEN}"\n', "workers = 3\n"))
        out = self.ctl_ok("reload")
        self.assertIn("restart needed: workers = 3 takes effect at a restart", out,
                      f"expected the reply to say what waits for a restart; got {out!r}")
        self.daemon.wait_for(r"warning: reload: restart needed: workers = 3", timeout=5)
        status, _ = self.metrics(port)
        self.assertEqual(status, 401, "expected the token given by the reload to be required")
        status, samples = self.metrics(port, TOKEN)
        self.assertEqual(status, 200, "expected the new token to be taken")
        self.assertIn("tocsin_checks_total", samples)
        self.assertNotIn(TOKEN, self.daemon.log(), "the token must never be logged")

    def test_flap_detection_turned_off_by_reload(self):
        flip = os.path.join(self.dir, "flip")
        script = os.path.join(self.dir, "flap.sh")
        with open(script, "w") as f:
            f.write(f"""if [ -e '{flip}' ]; then rm -f '{flip}'; echo "CRITICAL - down"; exit 2
else : > '{flip}'; echo "OK - up"; exit 0; fi
""")

        def flappy(on):
            return (f'service "flappy" {{\n    check = "nagios"\n'
                    f'    command = "/bin/sh {script}"\n    interval = 300ms\n'
                    f'    max_attempts = 1\n    timeout = 5s\n'
                    f'    flap_detection = {on}\n}}\n')
        d = self.start(self.routing(), {SVC_FILE: flappy("true")})
        d.wait_for(r"service 'flappy' on testhost started flapping", timeout=15)
        self.reload(flappy("false"))
        d.wait_for(r"service 'flappy' on testhost is no longer flapping: flap detection "
                   r"turned off", timeout=5)
        self.assertFalse(d.count(r"stopped flapping \("),
                         f"expected no percentage for flap detection turned off; "
                         f"log:\n{self.tail()}")
        (stop,) = self.wait_hook(service="flappy", kind="flapping-stop")
        self.assertIn("flap detection turned off", stop["reason"])


if __name__ == "__main__":
    unittest.main()
