"""The alert pipeline end to end: tocsind with the real notifier plugins
against real local receivers (an HTTP sink playing Slack, PagerDuty, a
Twilio-style SMS gateway and a webhook receiver; an SMTP sink for email),
checks whose state a file controls, short intervals and retries.

Covered: what each receiver gets for a problem and its recovery, repeats,
escalation and acknowledgement, downtimes, dependencies, flapping,
grouping, receivers that fail, throttle, refuse connections or hang,
thresholds on performance data, groups of services, and disabled
notifiers."""
import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from httpsink import HttpSink
from smtpsink import SmtpSink
from tocsintest import BUILDDIR, PLUGIN_PATH, PLUGINS, DaemonTest, free_port

TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")
HOST = "testhost"
COMMON = f'max_check_spread = 1s\nhost = "{HOST}"\n'
# Secrets of the receivers: none may ever show in the daemon's log.
PD_KEY = "R0ut1ngK3yF0rP1p3l1n3T3stsAbCd01"
SLACK_PATH = "/services/T0TOCSIN/B0PIPE/pipelineWebhookSecret"
SMS_SID = "AC00112233445566778899aabbccddeeff"
SMS_TOKEN = "pipelineSmsT0ken"
SMS_FROM, SMS_TO = "+15550000000", "+15550000001"
HOOK_PATH = "/hooks/pipelineHookSecret"
SECRETS = (PD_KEY, "pipelineWebhookSecret", SMS_TOKEN, "pipelineHookSecret")
PD_ACCEPTED = json.dumps({"status": "success", "message": "Event processed",
                          "dedup_key": "x"})
TWILIO_CREATED = json.dumps({"sid": "SM0123", "status": "queued"})
INCIDENT = re.compile(rf"^{HOST}/(?P<svc>[^/]+)/(?P<epoch>\d+)$")
BUILT = all(os.path.exists(os.path.join(PLUGINS, p + ".la"))
            for p in ("slack", "pagerduty", "sms", "webhook", "email"))

# A Nagios plugin whose state (and response time) a file names: the file
# $DIR/NAME holds "STATE [SECONDS]".
STATE_SCRIPT = r"""d=$(dirname "$0")
read s t < "$d/$1" || s=unknown
t=${t:-0.1}
case "$s" in
ok) echo "OK - $1 is fine|time=${t}s;;;0"; exit 0 ;;
warning) echo "WARNING - $1 is slow|time=${t}s;;;0"; exit 1 ;;
critical) echo "CRITICAL - $1 is down|time=${t}s;;;0"; exit 2 ;;
*) echo "UNKNOWN - $1 is in state '$s'"; exit 3 ;;
esac
"""


def log_time(line):
    """When the daemon wrote a log line ("2026-11-22T20:47:27.431 +0000 ..."),
    in seconds since the epoch."""
    stamp = " ".join(line.split(" ", 2)[:2])
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f %z").timestamp()


def wait_until(fn, timeout, what):
    """Poll fn until it returns something true; return that. Fails with
    `what` (a string, or a function giving one) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"after {timeout} s still waiting for "
                                 f"{what() if callable(what) else what}")
        time.sleep(0.05)


@unittest.skipUnless(BUILT, "a notifier plugin was not built (libcurl or jansson missing)")
class Pipeline(DaemonTest):
    """Receivers, state files and a daemon; see start()."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-pipe-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.script = os.path.join(self.dir, "state.sh")
        with open(self.script, "w") as f:
            f.write(STATE_SCRIPT)
        self.slack = self.sink()
        self.pd = self.sink(202, PD_ACCEPTED, {"Content-Type": "application/json"})
        self.sms = self.sink(201, TWILIO_CREATED, {"Content-Type": "application/json"})
        self.hook = self.sink()
        self.mail = None

    def sink(self, status=200, body="ok", headers=None, port=0):
        s = HttpSink(default_status=status, default_body=body, default_headers=headers,
                     port=port)
        self.addCleanup(s.stop)
        return s

    def smtp(self):
        if self.mail is None:
            self.mail = SmtpSink()
            self.addCleanup(self.mail.stop)
        return self.mail

    # -- configuration ------------------------------------------------------

    def notifier(self, name, plugin=None, enabled=True, **opts):
        """A notifier section aimed at this test's receiver for `plugin`
        (default: the name), with short retries; `opts` override."""
        plugin = plugin or name
        base = {
            "slack": {"url": f'"{self.slack.url}{SLACK_PATH}"'},
            "pagerduty": {"routing_key": f'"{PD_KEY}"', "url": f'"{self.pd.url}/v2/enqueue"'},
            "sms": {"base_url": f'"{self.sms.url}"', "account_sid": f'"{SMS_SID}"',
                    "auth_token": f'"{SMS_TOKEN}"', "from": f'"{SMS_FROM}"',
                    "to": f'{{ "{SMS_TO}" }}'},
            "webhook": {"url": f'"{self.hook.url}{HOOK_PATH}"'},
            "email": {"url": f'"{self.smtp().url}"' if plugin == "email" else "",
                      "from": '"tocsin@localhost"', "to": '{ "ops@localhost" }'},
            "console": {},
        }[plugin]
        options = dict(base, timeout="5s", retry_min="1s", retry_max="2s")
        options.update(opts)
        body = "".join(f"    {k} = {v}\n" for k, v in options.items())
        return (f'notifier "{name}" {{\n    plugin = "{plugin}"\n'
                f'    enabled = {"true" if enabled else "false"}\n{body}}}\n')

    def service(self, name, state="ok", seconds=None, labels=None, extra="", **opts):
        """A nagios service reading its state from a file of this test;
        `extra` is added as is (threshold sections)."""
        self.set_state(name, state, seconds)
        options = dict(interval="1s", retry_interval="1s", max_attempts=1, timeout="5s")
        options.update(opts)
        body = "".join(f"    {k} = {v}\n" for k, v in options.items())
        if labels:
            body += "    labels {\n" + "".join(f'        {k} = "{v}"\n'
                                             for k, v in labels.items()) + "    }\n"
        return (f'service "{name}" {{\n    check = "nagios"\n'
                f'    command = "/bin/sh {self.script} {name}"\n{body}{extra}}}\n')

    def set_state(self, name, state, seconds=None):
        path = os.path.join(self.dir, name)
        with open(path + ".new", "w") as f:
            f.write(state + (f" {seconds}" if seconds is not None else "") + "\n")
        os.rename(path + ".new", path)

    @staticmethod
    def route(name, notifiers, extra="", **opts):
        """A route section; `extra` is added as is (escalation sections)."""
        body = "".join(f"    {k} = {v}\n" for k, v in opts.items())
        names = ", ".join(f'"{n}"' for n in notifiers)
        return f'route "{name}" {{\n    notifiers = {{ {names} }}\n{body}{extra}}}\n'

    def start(self, main="", files=None, **kw):
        d = super().start(COMMON + main, files, **kw)
        self.addCleanup(self.assert_no_secrets)
        d.wait_for(r"tocsind \S+ started: ", timeout=10)
        return d

    def assert_no_secrets(self):
        log = self.daemon.log()
        for s in SECRETS:
            self.assertNotIn(s, log, "a receiver's secret showed in the daemon's log")

    def tail(self, n=50):
        return "\n".join(self.daemon.lines[-n:])

    # -- tocsinctl ----------------------------------------------------------

    def ctl(self, *args):
        p = subprocess.run([TOCSINCTL, "-c", self.conf.path, "-p", PLUGIN_PATH, *args],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def ctl_ok(self, *args):
        rc, out, err = self.ctl(*args)
        self.assertEqual(rc, 0, f"expected tocsinctl {' '.join(args)} to succeed; got exit "
                                f"{rc}, stdout {out!r}, stderr {err!r}")
        return out

    def history(self, service=None):
        out = self.ctl_ok("history", "--json", *([service] if service else []))
        for secret in SECRETS:
            self.assertNotIn(secret, out, "a receiver's secret showed in the history")
        return json.loads(out)

    def wait_history(self, kind, text, service=None, count=1, timeout=20):
        """Wait until `count` history events of `kind` whose text matches
        the regular expression `text`; return them."""
        rx = re.compile(text)
        got = []

        def found():
            got[:] = [e for e in self.history(service)
                      if e["kind"] == kind and rx.search(e["text"])]
            return len(got) >= count and got
        return wait_until(found, timeout, lambda: (
            f"{count} history event(s) {kind!r} matching {text!r}; the history was:\n"
            + "\n".join(f"{e['service']} {e['kind']} {e['text']}"
                        for e in self.history(service))))

    # -- what the receivers got -----------------------------------------------

    @staticmethod
    def hook_alerts(sink):
        """Every alert a webhook receiver got, in order, with the time its
        request came as '_at' and the message's group key as '_group'."""
        out = []
        for r in list(sink.requests):
            body = r.json()
            for a in body["alerts"]:
                out.append(dict(a, _at=r.at, _group=body["group_key"]))
        return out

    def wait_hook(self, count=1, timeout=20, **match):
        """Wait until the webhook got `count` alerts whose fields equal
        `match`; return them."""
        def found():
            got = [a for a in self.hook_alerts(self.hook)
                   if all(a.get(k) == v for k, v in match.items())]
            return len(got) >= count and got
        return wait_until(found, timeout, lambda: (
            f"{count} webhook alert(s) with {match}; it got: "
            + repr([(a["service"], a["kind"], a["state"]) for a in self.hook_alerts(self.hook)])
            + "\nlog:\n" + self.tail()))


class Delivery(Pipeline):
    """A problem and its recovery, in every receiver's format."""

    def everyone(self):
        return (self.notifier("console") + self.notifier("email") + self.notifier("slack")
                + self.notifier("pagerduty") + self.notifier("sms") + self.notifier("webhook")
                + self.route("critical", ["email", "slack", "sms", "pagerduty", "webhook"],
                             severity='{ "critical" }')
                + self.route("warning", ["email", "slack"], severity='{ "warning" }')
                + self.route("info", ["email", "slack"], severity='{ "info" }'))

    def test_problem_reaches_every_receiver_in_its_format(self):
        d = self.start(self.everyone() + self.service(
            "api", "critical", labels={"team": "web", "component": "api"},
            link='"https://wiki.example.org/api"'))
        hard = d.wait_for(r"service 'api' on testhost: OK -> CRITICAL \(hard", timeout=10)

        (pd,) = self.pd.wait(1)
        self.assertEqual(pd.path, "/v2/enqueue", "PagerDuty events go to the configured URL")
        event = pd.json()
        self.assertEqual(event["event_action"], "trigger", f"expected a trigger; got {event}")
        self.assertEqual(event["routing_key"], PD_KEY, f"expected the routing key; got {event}")
        key = event["dedup_key"]
        self.assertRegex(key, INCIDENT, f"expected dedup_key HOST/SERVICE/EPOCH; got {key!r}")
        self.assertEqual(INCIDENT.match(key)["svc"], "api")
        self.assertLessEqual(abs(int(INCIDENT.match(key)["epoch"]) - time.time()), 60,
                             f"expected the incident's epoch to be now; got {key!r}")
        self.assertEqual(event["payload"]["summary"], "CRITICAL api on testhost: CRITICAL - "
                         "api is down", f"expected the default summary; got {event}")
        # A critical problem outside production is P2; PagerDuty still gets
        # it as critical, the more urgent of its severity and its priority.
        self.assertEqual(event["payload"]["severity"], "critical")
        self.assertEqual(event["payload"]["custom_details"]["priority"], "P2",
                         f"expected the priority in the custom details; got {event}")
        self.assertEqual(event["payload"]["source"], HOST)
        self.assertEqual(event["payload"]["component"], "api")
        self.assertEqual(event["payload"]["group"], "web", "the label team gives the group")
        details = event["payload"]["custom_details"]
        self.assertEqual((details["kind"], details["state"], details["previous"],
                          details["route"], details["perfdata"]),
                         ("problem", "CRITICAL", "OK", "critical", "time=0.1s;;;0"),
                         f"expected the problem's details; got {details}")
        self.assertEqual(event["links"], [{"href": "https://wiki.example.org/api",
                                           "text": "api"}])

        (slack,) = self.slack.wait(1)
        self.assertEqual((slack.method, slack.path, slack.headers.get("content-type")),
                         ("POST", SLACK_PATH, "application/json"))
        msg = slack.json()
        self.assertEqual(msg["text"], "P2 CRITICAL: api on testhost", f"got {msg}")
        (att,) = msg["attachments"]
        self.assertEqual(att["color"], "danger", f"expected the critical colour; got {att}")
        self.assertEqual(att["title_link"], "https://wiki.example.org/api")
        self.assertEqual(att["text"], "CRITICAL - api is down")
        fields = {f["title"]: f["value"] for f in att["fields"]}
        self.assertEqual({k: fields.get(k) for k in ("Service", "Host", "State", "Severity")},
                         {"Service": "api", "Host": HOST, "State": "OK \u2192 CRITICAL",
                          "Severity": "critical"}, f"expected the fields; got {fields}")
        self.assertIn("team=web", fields.get("Labels", ""), f"expected the labels; got {fields}")

        (sms,) = self.sms.wait(1)
        self.assertEqual(sms.path, f"/2010-04-01/Accounts/{SMS_SID}/Messages.json")
        self.assertEqual(sms.headers.get("content-type"), "application/x-www-form-urlencoded")
        self.assertEqual(sms.headers.get("authorization"), "Basic " + base64.b64encode(
            f"{SMS_SID}:{SMS_TOKEN}".encode()).decode(), "HTTP basic auth with SID and token")
        self.assertEqual(sms.form(), {"To": [SMS_TO], "From": [SMS_FROM],
                                      "Body": ["CRITICAL api@testhost: CRITICAL - api is down"]},
                         "expected Twilio's form fields")

        (hook,) = self.hook.wait(1)
        self.assertEqual(hook.path, HOOK_PATH)
        body = hook.json()
        self.assertEqual((body["status"], body["kind"], body["severity"], body["count"]),
                         ("firing", "problem", "critical", 1), f"got {body}")
        (alert,) = body["alerts"]
        self.assertEqual((alert["service"], alert["host"], alert["state"], alert["previous"],
                          alert["incident"], alert["output"]),
                         ("api", HOST, "CRITICAL", "OK", key, "CRITICAL - api is down"),
                         f"expected the webhook alert to carry the same incident; got {alert}")

        (mail,) = self.mail.wait(1)
        self.assertEqual((mail.mail_from, mail.rcpt_tos), ("tocsin@localhost", ["ops@localhost"]))
        text = mail.content.decode()
        self.assertIn("\r\nSubject: [Tocsin] CRITICAL: api on testhost\r\n", text)
        self.assertIn(f"\r\nX-Tocsin-Incident: {key}\r\n", text,
                      "expected the mail to name the same incident as PagerDuty")
        self.assertIn("\r\nX-Tocsin-Kind: problem\r\n", text)

        for name in ("email", "slack", "sms", "pagerduty", "webhook"):
            self.wait_history("delivered", rf"^to {name}, attempt 1, incident {re.escape(key)}$",
                              "api")
        self.assertTrue(hard, "the hard change was logged")

    def test_recovery_resolves_with_the_same_key_and_reaches_everyone_told(self):
        d = self.start(self.everyone() + self.service("api", "critical")
                       + self.service("web", "warning"))
        self.pd.wait(1)
        self.slack.wait(2)
        self.sms.wait(1)
        self.hook.wait(1)
        self.smtp().wait(2)
        trigger = self.pd.requests[0].json()
        self.assertEqual(trigger["event_action"], "trigger")
        # web was a warning: told to email and slack only. Its recovery
        # goes back to them, not to PagerDuty.
        self.set_state("web", "ok")
        d.wait_for(r"service 'web' on testhost: WARNING -> OK \(hard", timeout=10)
        self.slack.wait(3)
        self.smtp().wait(3)
        self.set_state("api", "ok")
        d.wait_for(r"service 'api' on testhost: CRITICAL -> OK \(hard", timeout=10)

        pd = self.pd.wait(2)
        self.assertEqual(len(pd), 2, f"expected PagerDuty to get the trigger and the resolve of "
                                     f"api only, not web's recovery; got {pd}")
        resolve = pd[1].json()
        self.assertEqual(resolve, {"routing_key": PD_KEY, "event_action": "resolve",
                                   "dedup_key": trigger["dedup_key"], "client": "Tocsin"},
                         f"expected a resolve with the trigger's dedup_key "
                         f"{trigger['dedup_key']!r}; got {resolve}")
        # The info route names email and slack only; sms and the webhook
        # get the recovery because they were told of the problem.
        sms = self.sms.wait(2)
        self.assertEqual(sms[1].form()["Body"], ["RECOVERED api@testhost: OK - api is fine"],
                         f"expected the recovery text; got {sms[1].form()}")
        hook = self.hook.wait(2)
        body = hook[1].json()
        self.assertEqual((body["status"], body["kind"], body["alerts"][0]["incident"],
                          body["alerts"][0]["previous"], body["alerts"][0]["state"]),
                         ("resolved", "recovery", trigger["dedup_key"], "CRITICAL", "OK"),
                         f"expected the webhook's recovery of the same incident; got {body}")
        slack = [r.json()["text"] for r in self.slack.wait(4)]
        self.assertEqual(sorted(slack), sorted(["P2 CRITICAL: api on testhost",
                                                "P3 WARNING: web on testhost",
                                                "P3 RECOVERED: web on testhost",
                                                "P2 RECOVERED: api on testhost"]),
                         f"expected slack to get both problems and both recoveries; got {slack}")
        subjects = sorted(re.search(r"\r\nSubject: ([^\r]*)", m.content.decode()).group(1)
                          for m in self.mail.wait(4))
        self.assertEqual(subjects, sorted(["[Tocsin] CRITICAL: api on testhost",
                                           "[Tocsin] WARNING: web on testhost",
                                           "[Tocsin] RECOVERED: web on testhost",
                                           "[Tocsin] RECOVERED: api on testhost"]))
        time.sleep(0.5)
        self.assertEqual(len(self.pd.requests), 2, f"expected no more PagerDuty events; got "
                                                   f"{self.pd.requests}")
        self.assertEqual(len(self.sms.requests), 2, f"expected no more texts; got "
                                                    f"{self.sms.requests}")


class Persistence(Pipeline):
    """Repeats while a problem lasts, escalation, acknowledgement."""

    def hook_route(self, extra="", notifiers=("webhook",), **opts):
        return (self.notifier("console") + self.notifier("webhook") + self.notifier("sms")
                + self.notifier("pagerduty")
                + self.route("critical", notifiers, extra, severity='{ "critical" }', **opts))

    def pd_events(self, service):
        return [r.json() for r in list(self.pd.requests)
                if r.json().get("dedup_key", "").startswith(f"{HOST}/{service}/")]

    def texts(self):
        return [r.form()["Body"][0] for r in list(self.sms.requests)]

    def test_escalation_steps_stopped_by_acknowledgement(self):
        esc = ('    escalation {\n        after = 2s\n        notifiers = { "sms" }\n    }\n'
               '    escalation {\n        after = 4s\n        notifiers = { "pagerduty" }\n'
               '    }\n')
        d = self.start(self.hook_route(esc) + self.service("api", "critical")
                       + self.service("witness", "ok"))
        (problem,) = self.wait_hook(service="api", kind="problem")
        # The witness fails later than api and is never acknowledged: its
        # steps come after api's would have.
        self.set_state("witness", "critical")
        self.wait_hook(service="witness", kind="problem")
        # (Escalations due in the same second share a text.)
        wait_until(lambda: any("CRITICAL api@testhost: CRITICAL - api is down" in t
                               for t in self.texts()),
                   10, lambda: f"api's first escalation by sms; texts {self.texts()}")
        self.ctl_ok("ack", "api", "-m", "mine")
        wait_until(lambda: [t for t in self.texts() if t.startswith("ACKNOWLEDGED api@")],
                   10, lambda: f"the acknowledgement texted to the escalation's number too; "
                               f"texts {self.texts()}")
        wait_until(lambda: self.pd_events("witness"), 15,
                   lambda: f"the witness's second escalation at PagerDuty; log:\n{self.tail()}")
        # Its message is through: anything for api in it came too.
        self.wait_history("delivered", r"^to pagerduty, ", "witness")
        (event,) = self.pd_events("witness")
        self.assertEqual((event["event_action"], event["payload"]["custom_details"]["kind"],
                          event["payload"]["custom_details"]["reason"]),
                         ("trigger", "escalation", "unacknowledged after 4s"),
                         f"expected the second step as an escalation; got {event}")
        self.assertEqual(self.pd_events("api"), [], "expected the acknowledgement to stop "
                                                    "api's second step")
        d.wait_for(r"service 'api': escalating: unacknowledged after 2s$", timeout=1)
        self.assertEqual(d.count(r"service 'api': escalating: unacknowledged after 4s"), 0,
                         f"expected no second step for api; log:\n{self.tail()}")
        # The recovery goes to everyone told: the webhook and the number
        # texted by the escalation, not PagerDuty.
        self.set_state("api", "ok")
        (recovery,) = self.wait_hook(service="api", kind="recovery")
        self.assertEqual(recovery["incident"], problem["incident"])
        wait_until(lambda: any("RECOVERED api@testhost: OK - api is fine" in t
                               for t in self.texts()), 10,
                   lambda: f"the recovery texted; texts {self.texts()}")
        self.assertEqual(self.pd_events("api"), [], "PagerDuty was never told of api")

    def test_repeat_interval_resends_while_the_problem_lasts(self):
        d = self.start(self.hook_route(repeat_interval="2s") + self.service("api", "critical")
                       + self.service("witness", "critical"))
        (problem,) = self.wait_hook(service="api", kind="problem")
        repeats = self.wait_hook(2, service="api", kind="repeat", timeout=15)[:2]
        for r in repeats:
            self.assertEqual(r["incident"], problem["incident"],
                             f"expected repeats of the same incident; got {r}")
            self.assertEqual(r["state"], "CRITICAL")
        times = [problem["_at"]] + [r["_at"] for r in repeats]
        gaps = [round(b - a, 2) for a, b in zip(times, times[1:])]
        for g in gaps:
            self.assertTrue(1.0 <= g <= 4.0, f"expected a repeat about every 2 s "
                                             f"(repeat_interval); the gaps were {gaps}")
        self.set_state("api", "ok")
        (recovery,) = self.wait_hook(service="api", kind="recovery")
        # The witness keeps repeating: once it has repeated twice since the
        # recovery, api would have repeated too if it still did.
        wait_until(lambda: len([a for a in self.hook_alerts(self.hook)
                                if a["service"] == "witness" and a["kind"] == "repeat"
                                and a["_at"] > recovery["_at"]]) >= 2,
                   15, "two repeats of the witness after api's recovery")
        late = [a for a in self.hook_alerts(self.hook)
                if a["service"] == "api" and a["_at"] > recovery["_at"]]
        self.assertEqual(late, [], f"expected no repeat of api after its recovery; got {late}")
        self.assertTrue(d.alive(), f"expected tocsind to be running; log:\n{self.tail()}")

    def test_escalation_after_a_while_unless_acknowledged(self):
        esc = '    escalation {\n        after = 2s\n        notifiers = { "sms" }\n    }\n'
        d = self.start(self.hook_route(esc) + self.service("acked", "critical")
                       + self.service("ignored", "ok"))
        self.wait_hook(service="acked", kind="problem")
        out = self.ctl_ok("ack", "acked", "-m", "looking into it")
        self.assertEqual(out, "acked: acknowledged\n", f"expected tocsinctl to confirm; got {out!r}")
        (ack,) = self.wait_hook(service="acked", kind="acknowledged")
        self.assertEqual(ack["reason"], "acknowledged by root: looking into it",
                         f"expected who acknowledged and why; got {ack}")
        self.set_state("ignored", "critical")
        (problem,) = self.wait_hook(service="ignored", kind="problem")
        (sms,) = self.sms.wait(1, timeout=15)
        self.assertEqual(sms.form()["Body"], ["CRITICAL ignored@testhost: CRITICAL - ignored is down"],
                         f"expected the escalation of the unacknowledged problem; got {sms.form()}")
        self.assertGreaterEqual(sms.at - problem["_at"], 1.0,
                                f"expected the escalation about 2 s after the problem; it came "
                                f"{sms.at - problem['_at']:.2f} s after")
        d.wait_for(r"service 'ignored': escalating: unacknowledged after 2s$", timeout=1)
        self.wait_history("queued", r"^escalation CRITICAL to sms$", "ignored")
        # The acknowledged problem started first: its escalation would have
        # come before this one.
        self.assertEqual(len(self.sms.requests), 1, f"expected no escalation of the "
                                                    f"acknowledged problem; got {self.sms.requests}")
        self.assertEqual([e for e in self.history("acked") if "escalation" in e["text"]], [],
                         "expected no escalation in the acknowledged service's history")
        self.assertEqual(d.count(r"service 'acked': escalating"), 0,
                         f"expected no escalation of 'acked'; log:\n{self.tail()}")

    def test_acknowledgement_stops_repeats_and_unack_resumes_them(self):
        d = self.start(self.hook_route(notifiers=("webhook", "pagerduty"), repeat_interval="2s")
                       + self.service("api", "critical") + self.service("witness", "critical"))
        self.wait_hook(service="api", kind="problem")
        self.wait_hook(service="witness", kind="problem")
        self.ctl_ok("ack", "api", "-m", "on it")
        rc, out, err = self.ctl("ack", "api")
        self.assertEqual(rc, 1, f"expected a second ack to be refused with exit 1; got exit "
                                f"{rc}, stdout {out!r}, stderr {err!r}")
        self.assertIn("already acknowledged by root", err)
        (status,) = [s for s in json.loads(self.ctl_ok("status", "--json"))
                     if s["name"] == "api"]
        self.assertEqual(status["acknowledged"], {"by": "root", "text": "on it"},
                         f"expected status to show the acknowledgement; got {status}")
        (ack,) = self.wait_hook(service="api", kind="acknowledged")
        # Anything queued before the acknowledgement came before it.
        wait_until(lambda: len([a for a in self.hook_alerts(self.hook)
                                if a["service"] == "witness" and a["kind"] == "repeat"
                                and a["_at"] > ack["_at"]]) >= 2,
                   15, lambda: "two repeats of the witness after the acknowledgement; log:\n"
                   + self.tail())
        late = [a for a in self.hook_alerts(self.hook)
                if a["service"] == "api" and a["_at"] > ack["_at"]]
        self.assertEqual(late, [], f"expected no repeat of an acknowledged problem; got {late}")
        d.wait_for(r"service 'api': acknowledged by root: on it$", timeout=1)
        # PagerDuty is told to acknowledge the same incident.
        acks = wait_until(lambda: [e for e in self.pd_events("api")
                                   if e["event_action"] == "acknowledge"],
                          10, lambda: f"an acknowledge event; got {self.pd_events('api')}")
        self.assertEqual(acks[0], {"routing_key": PD_KEY, "event_action": "acknowledge",
                                   "dedup_key": ack["incident"], "client": "Tocsin"},
                         f"expected PagerDuty's acknowledge of {ack['incident']}; got {acks}")

        unacked = time.time()
        self.assertEqual(self.ctl_ok("unack", "api"), "api: acknowledgement withdrawn\n")
        wait_until(lambda: [a for a in self.hook_alerts(self.hook)
                            if a["service"] == "api" and a["kind"] == "repeat"
                            and a["_at"] > unacked],
                   10, "a repeat of api after the acknowledgement was withdrawn")
        self.wait_history("ack", r"^acknowledged by root: on it$", "api")
        self.wait_history("ack", r"^acknowledgement withdrawn by root$", "api")
        rc, out, err = self.ctl("unack", "api")
        self.assertEqual(rc, 1, f"expected unack without an acknowledgement to fail with "
                                f"exit 1; got {rc}, {out!r}, {err!r}")
        self.assertIn("has no acknowledged problem", err)


class Suppression(Pipeline):
    """Downtimes, dependencies and flapping keep problems quiet."""

    def hook_route(self, **opts):
        return (self.notifier("console") + self.notifier("webhook")
                + self.route("all", ["webhook"], **opts))

    def test_downtime_for_suppresses_and_the_problem_is_told_when_it_ends(self):
        d = self.start(self.hook_route() + self.service("api", "ok"))
        d.wait_for(r"service 'api' on testhost: first result OK", timeout=10)
        out = self.ctl_ok("downtime", "api", "--for", "4s", "-m", "maintenance")
        ends = time.time() + 4
        self.assertRegex(out, r"^api: in downtime until \d{4}-\d\d-\d\d \d\d:\d\d \S+\n$",
                         "expected tocsinctl to confirm the downtime")
        (status,) = [s for s in json.loads(self.ctl_ok("status", "--json"))
                     if s["name"] == "api"]
        self.assertEqual((status["downtime"]["by"], status["downtime"]["text"]),
                         ("root", "maintenance"), f"expected status to show it; got {status}")
        self.set_state("api", "critical")
        d.wait_for(r"service 'api': problem not sent: the service is in downtime$", timeout=10)
        self.wait_history("suppressed", r"^problem CRITICAL not sent: the service is in "
                                        r"downtime$", "api")
        (problem,) = self.wait_hook(service="api", kind="problem", timeout=15)
        # (The daemon's end is in whole seconds, taken before ours.)
        self.assertGreaterEqual(problem["_at"], ends - 1.5,
                                f"expected no notification before the downtime ended "
                                f"({ends - problem['_at']:.1f} s too early)")
        self.assertEqual(problem["reason"], "no longer suppressed",
                         f"expected the reason to say why it comes late; got {problem}")
        d.wait_for(r"service 'api': downtime ended$", timeout=1)
        self.assertEqual(len(self.hook_alerts(self.hook)), 1,
                         f"expected one notification; got {self.hook_alerts(self.hook)}")

    def test_downtime_removed_early_releases_the_problem(self):
        d = self.start(self.hook_route() + self.service("api", "ok"))
        d.wait_for(r"service 'api' on testhost: first result OK", timeout=10)
        self.ctl_ok("downtime", "api", "--for", "1h")
        self.set_state("api", "critical")
        d.wait_for(r"service 'api': problem not sent: the service is in downtime$", timeout=10)
        self.assertEqual(self.hook.requests, [], "expected nothing sent during the downtime")
        self.assertEqual(self.ctl_ok("downtime", "--remove", "api"), "api: downtime removed\n")
        (problem,) = self.wait_hook(service="api", kind="problem", timeout=5)
        self.wait_history("downtime", r"^downtime removed by root$", "api")

    def test_downtime_period_suppresses(self):
        d = self.start('timeperiod "always" {\n}\n'
                       + self.hook_route(repeat_interval="1s")
                       + self.service("batch", "critical", downtime_period='"always"')
                       + self.service("api", "critical"))
        events = self.wait_history("suppressed", r"^problem CRITICAL not sent: the service is "
                                                 r"in its scheduled downtime 'always'$", "batch")
        # api is told and repeated; once it repeated after batch's problem
        # was held back, anything sent for batch would have come before.
        held = events[0]["at_ms"] / 1000
        wait_until(lambda: [a for a in self.hook_alerts(self.hook) if a["service"] == "api"
                            and a["kind"] == "repeat" and a["_at"] > held + 0.5],
                   10, "a repeat of api after batch's problem was held back")
        sent = [a for a in self.hook_alerts(self.hook) if a["service"] == "batch"]
        self.assertEqual(sent, [], f"expected nothing for a service in its scheduled downtime; "
                                   f"got {sent}")
        d.wait_for(r"service 'batch': problem not sent: the service is in its scheduled "
                   r"downtime 'always'$", timeout=1)

    def test_dependency_suppresses_the_child_while_the_parent_is_critical(self):
        d = self.start(self.hook_route() + self.service("db", "critical")
                       + self.service("app", "ok", depends='{ "db" }'))
        self.wait_hook(service="db", kind="problem")
        self.set_state("app", "critical")
        why = "it depends on 'db', which is CRITICAL"
        d.wait_for(rf"service 'app': problem not sent: {why}$", timeout=10)
        self.wait_history("suppressed", rf"^problem CRITICAL not sent: {why}$", "app")
        out = self.ctl_ok("history", "app")
        self.assertRegex(out, rf"(?m)^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d  app +suppressed +"
                              rf"problem CRITICAL not sent: {re.escape(why)}$",
                         "expected tocsinctl history to show why app was not told")
        # The parent recovers: the child's problem, still there, is told
        # now, after the parent's recovery.
        self.set_state("db", "ok")
        (recovery,) = self.wait_hook(service="db", kind="recovery")
        (problem,) = self.wait_hook(service="app", kind="problem")
        self.assertEqual(problem["reason"], "no longer suppressed")
        self.assertGreaterEqual(problem["_at"], recovery["_at"],
                                "expected the child's problem only after the parent recovered")
        self.assertEqual([a["kind"] for a in self.hook_alerts(self.hook)
                          if a["service"] == "app"], ["problem"],
                         "expected exactly one notification of app")

    def test_flapping_is_told_and_what_receivers_know_is_held_back(self):
        flip = os.path.join(self.dir, "flip")
        script = os.path.join(self.dir, "flap.sh")
        with open(script, "w") as f:
            # Each run reports the opposite of the one before.
            f.write(f"""if [ -e '{flip}' ]; then rm -f '{flip}'; echo "CRITICAL - down"; exit 2
else : > '{flip}'; echo "OK - up"; exit 0; fi
""")
        d = self.start(self.hook_route() + f'service "flappy" {{\n    check = "nagios"\n'
                       f'    command = "/bin/sh {script}"\n    interval = 500ms\n'
                       f'    max_attempts = 1\n    timeout = 5s\n'
                       f'    flap_detection = true\n}}\n')
        d.wait_for(r"service 'flappy' on testhost started flapping", timeout=15)
        (start,) = self.wait_hook(service="flappy", kind="flapping-start")
        self.assertIn("started flapping", start["reason"],
                      f"expected the flapping-start to say why; got {start}")
        quiet = r"service 'flappy': (\w+ not sent: the service is flapping|\w+ not sent again)"
        seen = d.count(quiet)
        d.wait_for(quiet, count=seen + 3, timeout=8)
        kinds = [a["kind"] for a in self.hook_alerts(self.hook) if a["service"] == "flappy"]
        after = kinds[kinds.index("flapping-start") + 1:]
        self.assertEqual(after, [], f"expected nothing after the flapping-start while the "
                                    f"service flaps between states told; got {kinds}")
        (status,) = json.loads(self.ctl_ok("status", "--json"))
        self.assertTrue(status["flapping"], f"expected status to show flapping; got {status}")


class Grouping(Pipeline):
    def test_problems_within_group_wait_make_one_message(self):
        d = self.start(self.notifier("console") + self.notifier("slack")
                       + self.route("critical", ["slack"], severity='{ "critical" }',
                                    group_wait="3s")
                       + "".join(self.service(f"web{i}", "ok") for i in (1, 2, 3)))
        for i in (1, 2, 3):
            d.wait_for(rf"service 'web{i}' on testhost: first result OK", timeout=10)
        for i in (1, 2, 3):
            self.set_state(f"web{i}", "critical")
        for i in (1, 2, 3):
            d.wait_for(rf"service 'web{i}' on testhost: OK -> CRITICAL \(hard", timeout=10)

        def told():
            names = [f["value"] for r in self.slack.requests
                     for a in r.json()["attachments"] for f in a["fields"]
                     if f["title"] == "Service"]
            return len(names) >= 3 and names
        names = wait_until(told, 15, lambda: f"all three services at slack; it got "
                                             f"{self.slack.requests}")
        msgs = [r.json() for r in self.slack.requests]
        self.assertEqual(len(msgs), 1, f"expected the three problems in ONE slack message; "
                                       f"got {len(msgs)}: {[m['text'] for m in msgs]}")
        self.assertEqual(sorted(names), ["web1", "web2", "web3"],
                         f"expected one attachment per service; got {names}")
        self.assertRegex(msgs[0]["text"], r"^P2 CRITICAL: web\d on testhost \(\+2 more\)$",
                         "expected the text to count the others")


class FailingReceivers(Pipeline):
    """Receivers that fail, throttle, are down or hang."""

    def hook_route(self, **opts):
        return (self.notifier("console") + self.notifier("webhook", **opts)
                + self.route("all", ["webhook"]))

    def test_server_errors_are_retried_until_delivered(self):
        self.hook.respond(500, "database is locked", times=2)
        d = self.start(self.hook_route() + self.service("api", "critical"))
        reqs = self.hook.wait(3, timeout=20)
        gaps = [round(b.at - a.at, 2) for a, b in zip(reqs, reqs[1:])]
        for g in gaps:
            self.assertGreaterEqual(g, 0.9, f"expected at least retry_min (1 s) between "
                                            f"attempts; the gaps were {gaps}")
        self.assertEqual(len({r.body for r in reqs}), 1,
                         "expected the same notification sent again")
        retries = self.wait_history("retry", r"^to webhook, attempt [12], incident \S+: "
                                             r"webhook at 127\.0\.0\.1:\d+ answered 500: "
                                             r"database is locked$", "api", count=2)
        self.assertEqual(len(retries), 2, f"expected two retries in the history; got {retries}")
        self.wait_history("delivered", r"^to webhook, attempt 3, incident ", "api")
        time.sleep(1.5)
        self.assertEqual(len(self.hook.requests), 3, "expected nothing sent after delivery")
        # The log tells each failed attempt (warning: notifier, service,
        # kind, state, next try, reason) and the delivery (info).
        failed = d.wait_for(r"warning: notifier 'webhook': problem CRITICAL of service 'api' "
                            r"not delivered \(attempt [12]\), next try in [12]s: webhook at "
                            r"127\.0\.0\.1:\d+ answered 500: database is locked$",
                            count=2, timeout=1)
        self.assertIn("(attempt 1), next try in 1s", failed[0],
                      f"expected the first retry after retry_min (1s); the log said {failed}")
        self.assertIn("(attempt 2), next try in 2s", failed[1],
                      f"expected the second retry after retry_max (2s); the log said {failed}")
        d.wait_for(r"info: notifier 'webhook': sent problem CRITICAL of service 'api' "
                   r"\(attempt 3\)$", timeout=5)
        self.assertNotIn(HOOK_PATH, d.log(), "the webhook URL's secret path reached the log")

    def test_acknowledgement_waits_for_the_problem_being_retried(self):
        # The receiver refuses the problem twice; the problem is
        # acknowledged meanwhile. The acknowledgement must come after the
        # problem, never before it (PagerDuty would otherwise get
        # acknowledge before trigger).
        self.hook.respond(500, "busy", times=2)
        d = self.start(self.hook_route() + self.service("api", "critical"))
        self.hook.wait(1, timeout=20)
        self.ctl_ok("ack", "api", "-m", "on it")
        def acked():
            got = [a["kind"] for a in self.hook_alerts(self.hook) if a["service"] == "api"]
            return "acknowledged" in got and got
        kinds = wait_until(acked, 30, lambda: f"the acknowledgement; the receiver got "
                                              f"{[a['kind'] for a in self.hook_alerts(self.hook)]}")
        # Two refused attempts of the problem, the accepted one, then the
        # acknowledgement.
        self.assertEqual(kinds, ["problem", "problem", "problem", "acknowledged"],
                         f"expected the problem delivered before its acknowledgement; the "
                         f"receiver got {kinds}")
        d.wait_for(r"notifier 'webhook': problem CRITICAL of service 'api' not delivered",
                   count=2, timeout=1)

    def test_receiver_that_is_down_gets_it_once_it_listens(self):
        port = free_port()
        self.hook.stop()
        d = self.start(self.notifier("console")
                       + self.notifier("webhook", url=f'"http://127.0.0.1:{port}{HOOK_PATH}"')
                       + self.route("all", ["webhook"]) + self.service("api", "critical"))
        self.wait_history("retry", r"^to webhook, attempt 1, incident \S+: .*127\.0\.0\.1:"
                                   rf"{port}", "api")
        self.hook = self.sink(port=port)
        (req,) = self.hook.wait(1, timeout=15)
        self.assertEqual(req.json()["alerts"][0]["service"], "api")
        (ev,) = self.wait_history("delivered", r"^to webhook, attempt \d+, incident ", "api")
        attempt = int(re.search(r"attempt (\d+)", ev["text"]).group(1))
        self.assertGreaterEqual(attempt, 2, f"expected delivery after a failed attempt; "
                                            f"got {ev}")

    def test_rate_limit_retry_after_is_honoured(self):
        self.hook.respond(429, "slow down", headers={"Retry-After": "3"})
        self.start(self.hook_route() + self.service("api", "critical"))
        first, second = self.hook.wait(2, timeout=20)
        # retry_min is 1 s and retry_max 2 s: only Retry-After explains 3 s.
        self.assertGreaterEqual(second.at - first.at, 2.9,
                                f"expected the retry no sooner than Retry-After (3 s); it came "
                                f"after {second.at - first.at:.2f} s")
        self.wait_history("retry", r"^to webhook, attempt 1, .*answered 429", "api")
        self.wait_history("delivered", r"^to webhook, attempt 2, ", "api")

    def test_hanging_receiver_times_out_without_delaying_others(self):
        self.slack.respond(delay=30)
        d = self.start(self.notifier("console") + self.notifier("webhook")
                       + self.notifier("slack", timeout="4s")
                       + self.route("all", ["slack", "webhook"])
                       + self.service("api", "critical") + self.service("db", "ok"))
        (hung,) = self.slack.wait(1, timeout=10)
        self.wait_hook(service="api", kind="problem")
        # A second problem while slack still hangs: the webhook has it at once.
        self.set_state("db", "critical")
        line = d.wait_for(r"service 'db' on testhost: OK -> CRITICAL \(hard", timeout=10)[0]
        judged = log_time(line)
        (db,) = self.wait_hook(service="db", kind="problem", timeout=5)
        self.assertLess(db["_at"] - judged, 1.5,
                        f"expected the webhook to get db's problem at once; it came "
                        f"{db['_at'] - judged:.2f} s after the hard change; log:\n{self.tail()}")
        self.assertEqual(len(self.slack.requests), 1,
                         f"expected slack still stuck in its first attempt when the webhook "
                         f"got db's problem; got {self.slack.requests}")
        # Slack gets both in the end, after its attempt timed out.
        def both():
            names = {a["fields"][0]["value"] for r in self.slack.requests[1:]
                     for a in r.json()["attachments"]}
            return names >= {"api", "db"}
        wait_until(both, 20, lambda: f"api and db at slack after the hang; it got "
                                     f"{self.slack.requests}")
        self.assertGreaterEqual(self.slack.requests[1].at - hung.at, 3.9,
                                "expected the retry only after the timeout (4 s)")
        (retry,) = self.wait_history("retry", r"^to slack, attempt 1, ", "api")
        self.assertRegex(retry["text"], r"did not answer within 4(\.0)? s$",
                         f"expected the reason to say the attempt timed out; got {retry}")
        self.wait_history("delivered", r"^to slack, attempt 2, ", "api")


class Ordering(Pipeline):
    """What a receiver hears last is the truth: a problem still waiting
    (for its group, or for a retry) when its incident ends is not sent
    after the recovery; a receiver that heard nothing of the problem
    hears nothing of the recovery."""

    def test_problem_retried_after_its_recovery_goes_before_it(self):
        self.pd.respond(500, "try later")
        d = self.start(self.notifier("console")
                       + self.notifier("pagerduty", retry_min="5s", retry_max="5s")
                       + self.route("all", ["pagerduty"]) + self.service("api", "critical"))
        (first,) = self.pd.wait(1)
        self.assertEqual(first.json()["event_action"], "trigger")
        self.set_state("api", "ok")
        d.wait_for(r"service 'api' on testhost: CRITICAL -> OK \(hard", timeout=10)
        # The trigger's first attempt was refused but went out, so the
        # resolve is queued: the trigger's retry still goes, and the
        # resolve waits for it.
        self.pd.wait(3, timeout=30)
        actions = [r.json()["event_action"] for r in self.pd.requests]
        self.assertEqual(actions, ["trigger", "trigger", "resolve"],
                         f"expected the refused trigger, its retry, then the resolve; "
                         f"got {actions}")
        keys = {r.json()["dedup_key"] for r in self.pd.requests}
        self.assertEqual(len(keys), 1, f"one incident; got {keys}")

    def test_incident_over_within_group_wait_sends_no_late_problem(self):
        d = self.start(self.notifier("console") + self.notifier("webhook")
                       + self.route("all", ["webhook"], group_wait="3s")
                       + self.service("api", "ok") + self.service("witness", "ok"))
        d.wait_for(r"service 'api' on testhost: first result OK", timeout=10)
        self.set_state("api", "critical")
        d.wait_for(r"service 'api' on testhost: OK -> CRITICAL \(hard", timeout=10)
        self.set_state("api", "ok")
        d.wait_for(r"service 'api' on testhost: CRITICAL -> OK \(hard", timeout=10)
        # A later problem of another service, in a group of its own: once
        # it is told, api's group has long been released.
        self.wait_history("failed", r"not sent: the incident ended", "api", timeout=10)
        self.set_state("witness", "critical")
        self.wait_hook(service="witness", kind="problem", timeout=15)
        kinds = [a["kind"] for a in self.hook_alerts(self.hook) if a["service"] == "api"]
        self.assertEqual(kinds, [], f"expected neither problem nor recovery of a problem "
                                    f"over before its group went out; got {kinds}")
        d.wait_for(r"service 'api': recovered before its problem went out, so neither is "
                   r"sent$", timeout=1)


class Judging(Pipeline):
    """States made by thresholds and groups, and what disabled notifiers'
    alerts become."""

    def hook_route(self):
        return (self.notifier("console") + self.notifier("webhook")
                + self.route("all", ["webhook"]))

    def test_threshold_on_perfdata_label(self):
        th = ('    threshold "time" {\n        warning = "~:0.3"\n'
              '        critical = "~:0.5"\n    }\n')
        d = self.start(self.hook_route() + self.service("api", "ok", 0.2, extra=th))
        d.wait_for(r"service 'api' on testhost: first result OK", timeout=10)
        self.set_state("api", "ok", 0.8)
        (crit,) = self.wait_hook(service="api", kind="problem")
        self.assertEqual((crit["state"], crit["previous"]), ("CRITICAL", "OK"),
                         f"expected time=0.8s > 0.5 to be CRITICAL although the plugin said "
                         f"OK; got {crit}")
        self.assertIn("time=0.8s", crit["perfdata"], f"got {crit}")
        self.set_state("api", "ok", 0.4)
        (warn,) = self.wait_hook(service="api", state="WARNING")
        self.assertEqual(warn["previous"], "CRITICAL", f"got {warn}")
        self.set_state("api", "ok", 0.1)
        (rec,) = self.wait_hook(service="api", kind="recovery")
        self.assertEqual(rec["incident"], crit["incident"], "one incident from problem to "
                                                            "recovery")

    def test_group_worst_of_and_counts(self):
        members = '{ "w1", "w2", "w3" }'
        d = self.start(self.notifier("console") + self.notifier("webhook")
                       + self.route("groups", ["webhook"], services='{ "cluster", "quorum" }')
                       + self.route("members", ["console"])
                       + "".join(self.service(f"w{i}", "ok") for i in (1, 2, 3))
                       + f'group "cluster" {{\n    members = {members}\n}}\n'
                       + f'group "quorum" {{\n    members = {members}\n'
                       + '    critical_at = "2"\n    warning_at = "1"\n}\n')
        for i in (1, 2, 3):
            d.wait_for(rf"service 'w{i}' on testhost: first result OK", timeout=10)
        self.set_state("w1", "critical")
        (cluster,) = self.wait_hook(service="cluster", kind="problem")
        self.assertEqual(cluster["state"], "CRITICAL", f"worst of the members; got {cluster}")
        self.assertEqual(cluster["output"], "1 of 3 members not OK: w1 CRITICAL: CRITICAL - "
                                            "w1 is down", f"got {cluster}")
        (quorum,) = self.wait_hook(service="quorum", kind="problem")
        self.assertEqual(quorum["state"], "WARNING", f"1 of 3 is warning_at; got {quorum}")
        self.set_state("w2", "critical")
        (quorum,) = self.wait_hook(service="quorum", state="CRITICAL")
        self.assertEqual(quorum["previous"], "WARNING")
        self.assertRegex(quorum["output"], r"^2 of 3 members not OK: w[12] CRITICAL: "
                                           r"CRITICAL - w[12] is down; w[12] CRITICAL: ",
                         f"expected both failing members named; got {quorum}")
        self.assertIn("critical=2;;;0;3", quorum["perfdata"], f"got {quorum}")
        for i in (1, 2):
            self.set_state(f"w{i}", "ok")
        self.wait_hook(service="quorum", kind="recovery")
        self.wait_hook(service="cluster", kind="recovery")
        self.assertEqual([a["kind"] for a in self.hook_alerts(self.hook)
                          if a["service"] == "cluster"], ["problem", "recovery"],
                         "expected the cluster's one problem and its recovery only")

    def test_disabled_notifier_goes_to_the_console(self):
        d = self.start(self.notifier("console") + self.notifier("slack", enabled=False)
                       + self.route("all", ["slack"]) + self.service("api", "critical"))
        d.wait_for(r"\[critical\] api on testhost: OK -> CRITICAL \(hard, attempt 1/1\): "
                   r"CRITICAL - api is down \(for disabled notifiers: slack\)$", timeout=10)
        self.wait_history("delivered", r"^to console, attempt 1, ", "api")
        self.assertEqual(self.slack.requests, [], "a disabled notifier sends nothing")


if __name__ == "__main__":
    unittest.main()
