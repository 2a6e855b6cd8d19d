"""Routing without a daemon, through `tocsinctl route-test`: the default
routing table as shipped (a copy of the built tocsin.conf with test
services) inside and outside business hours, on a weekend and on a
holiday; periods across both daylight-saving changes of Berlin and New
York, in the host's zone and in a period's own zone; the hour that does
not exist; unknown services and states; routing on labels with continue;
and a service's own severity for a state."""
import os
import subprocess
import unittest

from tocsintest import BUILDDIR, PLUGIN_PATH, ConfDir

TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")
DEFAULT_CONF = os.path.join(BUILDDIR, "tocsin.conf")

# What the shipped table gives for each state (the severity it maps to):
# inside business hours, and outside them. Every notifier but console is
# disabled in the shipped file, hence the suffix.
D = " (disabled)"
TABLE = {
    # state: (business hours, after hours)
    # A recovery goes where its problem (critical, unless --problem says
    # otherwise) went, except to sms, which has send_resolved = false.
    "ok": (["email" + D, "slack" + D, "pagerduty" + D],
           ["email" + D, "slack" + D, "pagerduty" + D]),
    "warning": (["email" + D, "slack" + D], ["email" + D, "slack" + D]),
    "unknown": (["email" + D, "slack" + D, "sms" + D],
                ["email" + D, "slack" + D, "sms" + D]),
    "critical": (["email" + D, "slack" + D, "sms" + D, "pagerduty" + D],
                 ["email" + D, "slack" + D, "sms" + D, "pagerduty" + D]),
}
# An alert of severity info (the shipped "info" route), as "batch" makes
# its warnings.
INFO = (["email" + D, "slack" + D], ["email" + D])
INSIDE, OUTSIDE = 0, 1

# Routes tried before the shipped ones (inserted ahead of them).
EXTRA_ROUTES = '''
route "dba" {
    labels {
        component = "database"
    }
    notifiers = { "dba" }
    continue = true
}

route "paging-only" {
    labels {
        component = "pager"
    }
    notifiers = { "pagerduty" }
}

route "daily" {
    services = { "dst-*" }
    period = "daily"
    notifiers = { "slack" }
    outside_notifiers = { "email" }
}

route "new-york" {
    services = { "ny-*" }
    period = "new-york-day"
    notifiers = { "slack" }
    outside_notifiers = { "email" }
}

'''

# Periods, notifiers and services appended after the shipped file.
EXTRA = '''
timeperiod "holidays" {
    dates = { "2026-12-24..2026-12-26", "2027-01-01" }
}

# Every day, weekends included: the DST transitions fall on Sundays.
timeperiod "daily" {
    times = { "09:00-17:00" }
}

timeperiod "new-york-day" {
    timezone = "America/New_York"
    times = { "09:00-17:00" }
}

notifier "dba" {
    plugin = "email"
    url = "smtp://127.0.0.1:2525"
    from = "tocsin@localhost"
    to = { "dba@localhost" }
}

service "web" {
    check = "dummy"
}

service "postgres" {
    check = "dummy"
    labels {
        component = "database"
        team = "dba"
    }
}

service "pager" {
    check = "dummy"
    labels {
        component = "pager"
    }
}

service "batch" {
    check = "dummy"
    severity {
        critical = "error"
        warning = "info"
    }
}

service "dst-web" {
    check = "dummy"
}

service "ny-web" {
    check = "dummy"
}
'''


def shipped_with_tests():
    """The built tocsin.conf, business hours excluding the holidays, the
    extra routes ahead of the shipped ones, test services after."""
    with open(DEFAULT_CONF) as f:
        text = f.read()
    times = 'times = { "09:00-17:00" }'
    assert times in text, f"expected {times!r} in the business-hours period of {DEFAULT_CONF}"
    text = text.replace(times, times + '\n    exclude = { "holidays" }', 1)
    first = text.index('route "')
    return text[:first] + EXTRA_ROUTES + text[first:] + EXTRA


class RouteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.conf = ConfDir(shipped_with_tests())

    @classmethod
    def tearDownClass(cls):
        cls.conf.cleanup()

    def route(self, service, state, at, tz="Europe/Berlin", conf=None, problem=None):
        """Run route-test; return (exit code, stdout, stderr)."""
        env = dict(os.environ, TZ=tz)
        more = ["--problem", problem] if problem else []
        p = subprocess.run([TOCSINCTL, "-c", conf or self.conf.path, "-p", PLUGIN_PATH,
                            "route-test", "--service", service, "--state", state, "--at", at]
                           + more,
                           capture_output=True, text=True, timeout=30, env=env)
        return p.returncode, p.stdout, p.stderr

    @staticmethod
    def notifiers(out):
        """route-test's answer without its "# " lines of explanation."""
        return "".join(l + "\n" for l in out.splitlines() if not l.startswith("# "))

    def expect(self, service, state, at, notifiers, tz="Europe/Berlin"):
        rc, out, err = self.route(service, state, at, tz)
        out = self.notifiers(out)
        want = "".join(n + "\n" for n in notifiers)
        self.assertEqual((rc, out), (0, want),
                         f"route-test --service {service} --state {state} --at {at!r} "
                         f"(TZ={tz}): expected exit 0 and {want!r}; got exit {rc}, "
                         f"stdout {out!r}, stderr {err!r}")

    def expect_table(self, at, column, tz="Europe/Berlin"):
        for state, cols in TABLE.items():
            with self.subTest(state=state, at=at, tz=tz):
                self.expect("web", state, at, cols[column], tz)

    # -- the shipped table ----------------------------------------------------

    def test_shipped_configuration_is_valid(self):
        rc, out, err = self.route("web", "ok", "2026-11-23 10:00")
        self.assertEqual(rc, 0, f"expected the shipped configuration with test services to "
                                f"load; got exit {rc}, stderr {err!r}")

    def test_table_inside_business_hours(self):
        # Monday 2026-11-23, in the middle of the day and at both edges.
        for at in ("2026-11-23 10:00", "2026-11-23 09:00", "2026-11-23 16:59"):
            self.expect_table(at, INSIDE)

    def test_table_after_hours(self):
        for at in ("2026-11-23 08:59", "2026-11-23 17:00", "2026-11-23 23:30",
                   "2026-11-24 03:00"):
            self.expect_table(at, OUTSIDE)

    def test_table_on_a_weekend(self):
        # Saturday and Sunday at 10:00 are after hours.
        for at in ("2026-11-21 10:00", "2026-11-22 10:00"):
            self.expect_table(at, OUTSIDE)
        # Friday 16:59 is still inside, Monday 09:00 again.
        self.expect_table("2026-11-20 16:59", INSIDE)
        self.expect_table("2026-11-23 09:00", INSIDE)

    def test_table_on_a_holiday(self):
        # Christmas 2026 is Thursday and Friday; New Year's Day a Friday.
        for at in ("2026-12-24 10:00", "2026-12-25 10:00", "2027-01-01 11:00"):
            self.expect_table(at, OUTSIDE)
        # The working days around them are not holidays.
        self.expect_table("2026-12-23 10:00", INSIDE)
        self.expect_table("2026-12-28 10:00", INSIDE)

    def test_table_in_new_york(self):
        # The shipped business hours are in the host's zone: TZ decides.
        self.expect_table("2026-11-23 09:00", INSIDE, tz="America/New_York")
        self.expect_table("2026-11-23 08:59", OUTSIDE, tz="America/New_York")

    # -- daylight saving time ------------------------------------------------

    def test_daily_period_across_dst_in_the_hosts_zone(self):
        inside, outside = ["slack" + D], ["email" + D]
        days = {"Europe/Berlin": ("2026-03-29", "2026-10-25"),
                "America/New_York": ("2026-03-08", "2026-11-01")}
        for tz, transitions in days.items():
            for day in transitions:
                for clock, want in (("08:59", outside), ("09:00", inside), ("12:00", inside),
                                    ("16:59", inside), ("17:00", outside), ("23:59", outside),
                                    ("00:30", outside)):
                    with self.subTest(tz=tz, day=day, clock=clock):
                        self.expect("dst-web", "critical", f"{day} {clock}", want, tz)

    def test_business_hours_on_the_mondays_after_dst(self):
        # The first working day after each change: 09:00 local is inside.
        for tz, days in (("Europe/Berlin", ("2026-03-30", "2026-10-26")),
                         ("America/New_York", ("2026-03-09", "2026-11-02"))):
            for day in days:
                with self.subTest(tz=tz, day=day):
                    self.expect("web", "ok", f"{day} 08:59", TABLE["ok"][OUTSIDE], tz)
                    self.expect("web", "ok", f"{day} 09:00", TABLE["ok"][INSIDE], tz)
                    self.expect("web", "ok", f"{day} 16:59", TABLE["ok"][INSIDE], tz)
                    self.expect("web", "ok", f"{day} 17:00", TABLE["ok"][OUTSIDE], tz)

    def test_period_in_its_own_zone_seen_from_berlin(self):
        inside, outside = ["slack" + D], ["email" + D]
        cases = [
            # Both zones on winter time: New York is 6 hours behind.
            ("2026-02-16 14:59", outside), ("2026-02-16 15:00", inside),
            ("2026-02-16 22:59", inside), ("2026-02-16 23:00", outside),
            # New York on summer time since 2026-03-08, Berlin not yet:
            # 5 hours behind for three weeks.
            ("2026-03-09 13:59", outside), ("2026-03-09 14:00", inside),
            ("2026-03-09 21:59", inside), ("2026-03-09 22:00", outside),
            # Both on summer time: 6 hours again.
            ("2026-03-30 14:59", outside), ("2026-03-30 15:00", inside),
            # Berlin back on winter time since 2026-10-25, New York not
            # until 2026-11-01: 5 hours for a week.
            ("2026-10-26 13:59", outside), ("2026-10-26 14:00", inside),
            ("2026-10-26 21:59", inside), ("2026-10-26 22:00", outside),
            # Both on winter time.
            ("2026-11-02 14:59", outside), ("2026-11-02 15:00", inside),
        ]
        for at, want in cases:
            with self.subTest(at=at):
                self.expect("ny-web", "critical", at, want, "Europe/Berlin")

    def test_period_in_its_own_zone_with_the_zone_in_the_time(self):
        inside, outside = ["slack" + D], ["email" + D]
        for day in ("2026-03-08", "2026-11-01"):
            for clock, want in (("08:59", outside), ("09:00", inside), ("16:59", inside),
                                ("17:00", outside)):
                with self.subTest(day=day, clock=clock):
                    self.expect("ny-web", "critical", f"{day} {clock} America/New_York",
                                want, "Europe/Berlin")

    def test_repeated_hour_in_autumn_is_accepted(self):
        # 02:30 happens twice on these days; both are outside 09:00-17:00.
        self.expect("dst-web", "critical", "2026-10-25 02:30", ["email" + D], "Europe/Berlin")
        self.expect("dst-web", "critical", "2026-11-01 01:30", ["email" + D],
                    "America/New_York")

    def test_skipped_hour_in_spring_is_refused(self):
        for tz, at in (("Europe/Berlin", "2026-03-29 02:30"),
                       ("America/New_York", "2026-03-08 02:30"),
                       ("Europe/Berlin", "2026-03-08 02:30 America/New_York")):
            with self.subTest(tz=tz, at=at):
                rc, out, err = self.route("web", "critical", at, tz)
                self.assertNotEqual(rc, 0, f"expected --at {at!r} (TZ={tz}) to be refused; "
                                           f"got exit 0, stdout {out!r}")
                self.assertEqual(out, "", f"expected no notifiers for a time that does not "
                                          f"exist; got {out!r}")
                self.assertIn("does not exist", err,
                              f"expected a message that {at!r} does not exist; got {err!r}")
                self.assertIn("clocks jump from 02:00 to 03:00", err,
                              f"expected the message to say how the clocks jump; got {err!r}")

    # -- bad requests ----------------------------------------------------------

    def test_unknown_service(self):
        rc, out, err = self.route("no-such-service", "critical", "2026-11-23 10:00")
        self.assertNotEqual(rc, 0, f"expected an unknown service to fail; got exit 0, "
                                   f"stdout {out!r}")
        self.assertEqual(out, "", f"expected no notifiers; got {out!r}")
        self.assertIn("no service or group named 'no-such-service'", err,
                      f"expected the message to name the service; got {err!r}")

    def test_unknown_state(self):
        rc, out, err = self.route("web", "broken", "2026-11-23 10:00")
        self.assertNotEqual(rc, 0, f"expected state 'broken' to be refused; got exit 0, "
                                   f"stdout {out!r}")
        self.assertEqual(out, "", f"expected no notifiers; got {out!r}")
        self.assertIn('"broken" is not one of ok, warning, critical, unknown', err,
                      f"expected the message to list the states; got {err!r}")

    def test_time_that_is_not_a_time(self):
        for at in ("tomorrow", "2026-02-30 10:00", "2026-11-23 25:00"):
            with self.subTest(at=at):
                rc, out, err = self.route("web", "critical", at)
                self.assertNotEqual(rc, 0, f"expected --at {at!r} to be refused; got exit 0, "
                                           f"stdout {out!r}")
                self.assertIn("--at:", err, f"expected the message to name --at; got {err!r}")

    # -- labels, continue, severities -------------------------------------------

    def test_labels_route_to_the_dba_and_continue(self):
        # component = "database": the dba route, then the shipped table.
        self.expect("postgres", "critical", "2026-11-23 10:00",
                    ["dba"] + TABLE["critical"][INSIDE])
        self.expect("postgres", "ok", "2026-11-23 20:00", ["dba"] + TABLE["ok"][OUTSIDE])
        # Without the label, no dba.
        self.expect("web", "critical", "2026-11-23 10:00", TABLE["critical"][INSIDE])

    def test_labels_route_without_continue_stops_there(self):
        self.expect("pager", "warning", "2026-11-23 10:00", ["pagerduty" + D])
        self.expect("pager", "critical", "2026-11-23 20:00", ["pagerduty" + D])

    def test_severity_override(self):
        # critical is an error for "batch": no pagerduty.
        self.expect("batch", "critical", "2026-11-23 10:00", TABLE["unknown"][INSIDE])
        # warning is info for it: after hours only email.
        self.expect("batch", "warning", "2026-11-23 20:00", INFO[OUTSIDE])
        self.expect("batch", "warning", "2026-11-23 10:00", INFO[INSIDE])
        # unknown keeps its default severity (error).
        self.expect("batch", "unknown", "2026-11-23 10:00", TABLE["unknown"][INSIDE])

    def test_no_route_goes_to_the_fallback(self):
        # A configuration whose only route takes critical alerts: a warning
        # goes to the fallback notifier, and stderr says why.
        c = ConfDir('notifier "console" {\n    plugin = "console"\n}\n'
                    'notifier "hook" {\n    plugin = "webhook"\n'
                    '    url = "http://127.0.0.1:9/"\n}\n'
                    'route "critical" {\n    severity = { "critical" }\n'
                    '    notifiers = { "hook" }\n}\n'
                    'service "web" {\n    check = "dummy"\n}\n')
        self.addCleanup(c.cleanup)
        rc, out, err = self.route("web", "warning", "2026-11-23 10:00", conf=c.path)
        self.assertEqual((rc, self.notifiers(out)), (0, "console\n"),
                         f"expected exit 0 and the fallback notifier; got exit {rc}, "
                         f"stdout {out!r}, stderr {err!r}")
        self.assertIn("no route takes a warning alert of 'web'", err,
                      f"expected stderr to say no route matched; got {err!r}")
        rc, out, err = self.route("web", "critical", "2026-11-23 10:00", conf=c.path)
        self.assertEqual((rc, self.notifiers(out)), (0, "hook\n"),
                         f"expected the critical route's notifier; got exit {rc}, "
                         f"stdout {out!r}, stderr {err!r}")

    # -- recoveries, the route that won, escalations ---------------------------

    def test_recovery_goes_where_its_problem_went_but_send_resolved(self):
        rc, out, err = self.route("web", "ok", "2026-11-23 03:00")
        self.assertEqual(rc, 0, f"expected exit 0; got {rc}, stderr {err!r}")
        self.assertEqual(self.notifiers(out), "".join(n + "\n" for n in TABLE["ok"][OUTSIDE]),
                         f"expected the critical problem's notifiers but sms; got {out!r}")
        with open(self.conf.path) as f:
            text = f.read()
        # A section's line is that of its first option, as in every message.
        line = text.count("\n", 0, text.index('route "critical"')) + 2
        self.assertIn(f'# route "critical" ({self.conf.path}:{line}) won\n', out,
                      f"expected the route that won with its FILE:LINE; got {out!r}")
        self.assertIn("# the recovery of a CRITICAL problem (severity critical)", out,
                      f"expected the answer to say which problem recovers; got {out!r}")
        self.assertIn("# no recovery to sms (send_resolved = false)\n", out,
                      f"expected sms to be named as not told of the recovery; got {out!r}")
        # --problem warning: the warning route's notifiers.
        rc, out, err = self.route("web", "ok", "2026-11-23 03:00", problem="warning")
        self.assertEqual(self.notifiers(out), "".join(n + "\n" for n in TABLE["warning"][OUTSIDE]),
                         f"expected the recovery of a warning to go where it went; got {out!r}")

    def test_problem_goes_with_state_ok_only(self):
        rc, out, err = self.route("web", "critical", "2026-11-23 03:00", problem="warning")
        self.assertEqual((rc, out), (2, ""), f"expected a usage error; got exit {rc}, {out!r}")
        self.assertIn("--problem", err, f"expected the message to name --problem; got {err!r}")

    def test_escalation_steps_with_their_times(self):
        c = ConfDir('notifier "console" {\n    plugin = "console"\n}\n'
                    'notifier "boss" {\n    plugin = "console"\n}\n'
                    'notifier "pager" {\n    plugin = "console"\n    send_resolved = false\n}\n'
                    'route "ops" {\n    notifiers = { "console" }\n'
                    '    repeat_interval = 4h\n'
                    '    escalation {\n        after = 30m\n        notifiers = { "boss" }\n    }\n'
                    '    escalation {\n        after = 2h\n        notifiers = { "pager" }\n    }\n'
                    '}\n'
                    'service "web" {\n    check = "dummy"\n}\n')
        self.addCleanup(c.cleanup)
        rc, out, err = self.route("web", "critical", "2026-11-23 23:10", tz="UTC", conf=c.path)
        self.assertEqual(rc, 0, f"expected exit 0; got {rc}, stderr {err!r}")
        self.assertEqual(out, "console\n"
                              f'# route "ops" ({c.path}:12) won\n'
                              "# repeated every 4h 0m while unacknowledged\n"
                              "# escalation after 30m 0s, at 2026-11-23 23:40 UTC if "
                              "unacknowledged: boss\n"
                              "# escalation after 2h 0m, at 2026-11-24 01:10 UTC if "
                              "unacknowledged: pager\n"
                              "# priority P2: acknowledged within 30m 0s (by 2026-11-23 23:40 "
                              "UTC), resolved within 4h 0m (by 2026-11-24 03:10 UTC)\n",
                         f"expected the notifiers, the route, the repeat, both steps "
                         f"with their times and the priority's targets; got {out!r}")


if __name__ == "__main__":
    unittest.main()
