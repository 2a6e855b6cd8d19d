"""Priorities, their targets and assignment end to end: tocsind with the
webhook notifier against a local HTTP receiver, checks whose state a
file controls, and targets of seconds.

Covered: the priority in the webhook JSON (the default one of a critical
problem in production and outside it, and one a priority_rule gives), a
missed response target escalating, a missed resolution target told again
after an acknowledgement with how long the incident is open and who took
it, both counted in the history and in tocsinctl status; tocsinctl ack
--assign, the assignee carried by later notifications; and tocsind -t
reporting a bad priority section or rule at its file and line."""
import json
import re
import unittest

from test_http_endpoint import fetch, http_section
from test_pipeline import BUILT, Pipeline
from tocsintest import ConfDir, check_config, free_port

# Short targets: acknowledged within 3 s, resolved within 6 s.
SHORT = ('priority "P1" {\n    respond_within = 3s\n    resolve_within = 6s\n}\n'
         'priority "P2" {\n    respond_within = 3s\n    resolve_within = 6s\n}\n'
         'priority "P3" {\n}\n')


@unittest.skipUnless(BUILT, "a notifier plugin was not built (libcurl or jansson missing)")
class Targets(Pipeline):
    def hook_everything(self, extra=""):
        return (self.notifier("console") + self.notifier("webhook")
                + self.route("all", ["webhook"]) + extra)

    def status(self, name):
        (svc,) = [s for s in json.loads(self.ctl_ok("status", "--json")) if s["name"] == name]
        return svc

    def test_priority_in_the_webhook_json_and_resolution_target_after_ack(self):
        self.start(self.hook_everything(SHORT)
                   + self.service("web-api", "critical", labels={"tier": "production"})
                   + self.service("batch", "ok"))
        (problem,) = self.wait_hook(service="web-api", kind="problem")
        self.assertEqual((problem["priority"], problem["priority_rank"]), ("P1", 1),
                         f"expected a critical problem in production to be P1; got {problem}")
        body = self.hook.requests[0].json()
        self.assertEqual(body["priority"], "P1", f"expected the message's priority; got {body}")

        self.set_state("batch", "critical")
        (other,) = self.wait_hook(service="batch", kind="problem")
        self.assertEqual(other["priority"], "P2",
                         f"expected a critical problem outside production to be P2; got {other}")

        self.ctl_ok("ack", "web-api", "-m", "on it", "--assign", "bob")
        (ack,) = self.wait_hook(service="web-api", kind="acknowledged")
        self.assertEqual((ack["priority"], ack["assignee"]), ("P1", "bob"),
                         f"expected the ack to carry P1 and its assignee; got {ack}")
        self.assertRegex(ack["reason"], r"^acknowledged by \S+, assigned to bob: on it$",
                         f"got {ack}")

        (again,) = self.wait_hook(service="web-api", kind="repeat", timeout=20)
        self.assertRegex(again["reason"],
                         r"^P1 web-api open for \d+ s, acknowledged by \S+ at \d\d:\d\d, "
                         r"assigned to bob$",
                         f"expected the resolution target's reminder; got {again}")
        self.assertEqual(again["assignee"], "bob", f"got {again}")
        self.assertGreaterEqual(again["_at"] - problem["_at"], 4.0,
                                f"expected it about 6 s after the problem; it came "
                                f"{again['_at'] - problem['_at']:.2f} s after")
        self.assertEqual([a for a in self.hook_alerts(self.hook)
                          if a["service"] == "web-api" and a["kind"] == "escalation"], [],
                         "acknowledged within 3 s: the response target was met")
        (breach,) = self.wait_hook(service="batch", kind="escalation", timeout=10)
        self.assertRegex(breach["reason"], r"^P2 batch response target missed: not "
                                           r"acknowledged within 3s$",
                         f"expected the unacknowledged P2 to escalate; got {breach}")

        self.wait_history("breach", r"^P1 web-api open for \d+ s, acknowledged by .* "
                                    r"\(breaches: response 0, resolution 1\)$", "web-api")
        self.wait_history("breach", r"^P2 batch response target missed: .* "
                                    r"\(breaches: response 1, resolution 0\)$", "batch")
        svc = self.status("web-api")
        self.assertEqual(svc.get("priority"), "P1", f"expected the status to say P1; got {svc}")
        self.assertGreaterEqual(svc["breaches"]["resolution"], 1, f"got {svc}")
        self.assertEqual(svc["breaches"]["response"], 0, f"got {svc}")
        self.assertEqual(svc["acknowledged"].get("assignee"), "bob", f"got {svc}")
        out = self.ctl_ok("status")
        self.assertRegex(out, r"(?m)^CRITICAL\s+web-api .*\[P1, resolution target missed\] "
                              r"\[ack: bob\]",
                         f"expected the priority and the assignee among the flags; got {out!r}")
        self.ctl_ok("ack", "web-api", "--assign", "carol")
        self.wait_history("ack", r"^assigned to carol by ", "web-api")

        self.set_state("web-api", "ok")
        (rec,) = self.wait_hook(service="web-api", kind="recovery")
        self.assertEqual((rec["priority"], rec["assignee"]), ("P1", "carol"),
                         f"expected the recovery to carry P1 and the new assignee; got {rec}")
        self.wait_history("priority", r"^P1 incident \S+ closed after \d+ s: response target "
                                      r"met, resolution target missed \d+ times?$", "web-api")

    def test_a_priority_rule_chooses_the_priority(self):
        rule = ('priority_rule {\n    labels {\n        team = "dba"\n    }\n'
                '    priority = "P3"\n}\n')
        port = free_port()
        self.start(http_section(port) + self.hook_everything(SHORT + rule)
                   + self.service("db", "critical", labels={"team": "dba", "tier": "production"})
                   + self.service("web", "ok"))
        (problem,) = self.wait_hook(service="db", kind="problem")
        self.assertEqual((problem["priority"], problem["priority_rank"]), ("P3", 3),
                         f"expected the rule's P3 over the default P1; got {problem}")
        status, _, body = fetch(port, "/api/v1/services")
        self.assertEqual(status, 200, f"got {status} {body!r}")
        by_name = {s["name"]: s for s in json.loads(body)}
        self.assertEqual((by_name["db"]["priority"], by_name["db"]["breaches"]),
                         ("P3", {"response": 0, "resolution": 0}),
                         f"expected the API to show the open incident's priority; got "
                         f"{by_name['db']}")
        self.assertEqual((by_name["web"]["priority"], by_name["web"]["breaches"]), (None, None),
                         f"expected no priority without an incident; got {by_name['web']}")


class CheckConfig(unittest.TestCase):
    def check(self, text):
        conf = ConfDir(text)
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        return conf.path, rc, out + err

    def test_bad_priority_sections_and_rules_are_reported_at_their_line(self):
        path, rc, out = self.check(
            'priority "P1" {\n'
            '    respond_within = 2h\n'
            '    resolve_within = 1h\n'
            '}\n'
            'priority_rule {\n'
            '    severity = { "urgent" }\n'
            '    priority = "P1"\n'
            '}\n'
            'priority_rule {\n'
            '    priority = "P9"\n'
            '}\n'
            'service "x" {\n'
            '    check = "load"\n'
            '    priority = "P7"\n'
            '}\n')
        self.assertNotEqual(rc, 0, f"expected tocsind -t to fail; got {out!r}")
        for line, what in ((3, r"priority 'P1': resolve_within must be longer than "
                               r"respond_within"),
                           (6, r'priority_rule: severity "urgent" is not one of'),
                           (10, r"priority_rule: no priority named 'P9'"),
                           (14, r"service 'x': no priority named 'P7'")):
            self.assertRegex(out, rf"(?m)^{re.escape(path)}:{line}: {what}",
                             f"expected {what!r} at line {line}; got {out!r}")

    def test_good_priorities_are_accepted(self):
        path, rc, out = self.check(SHORT + 'priority_rule {\n    severity = { "warning" }\n'
                                           '    priority = "P3"\n}\n')
        self.assertEqual(rc, 0, f"expected the configuration to be valid; got {out!r}")


if __name__ == "__main__":
    unittest.main()
