"""tocsind forwarding every check result through the three forwarding
notifiers at once, to a real Nagios 4, Icinga 2 and Alertmanager started
for the test: each engine shows the states and outputs of the daemon's
checks, and a service that recovers is resolved in Alertmanager."""
import os
import signal
import tempfile
import time
import unittest

import srv_alertmanager
import srv_icinga2
import srv_nagios
from srv_alertmanager import Alertmanager
from srv_icinga2 import Icinga2
from srv_nagios import Nagios
from tocsintest import DaemonTest

PASSWORD = "Tocsin-fwd-daemon-pw-2a7c"


@unittest.skipUnless(srv_nagios.available() and srv_icinga2.available() and
                     srv_alertmanager.available(),
                     "nagios4, icinga2 and prometheus-alertmanager are needed")
class ForwardingDaemonTest(DaemonTest):
    def setUp(self):
        self.nagios = Nagios({"web1": ["db", "web"]}).start()
        self.addCleanup(self.nagios.cleanup)
        self.icinga = Icinga2({"web1": ["db", "web"]},
                              {"tocsin": (PASSWORD, ["actions/process-check-result",
                                                     "objects/query/*"])}).start()
        self.addCleanup(self.icinga.cleanup)
        self.am = Alertmanager().start()
        self.addCleanup(self.am.cleanup)

    def wait(self, what, probe, timeout=30):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = probe()
                if last:
                    return last
            except (OSError, AssertionError, KeyError) as e:
                last = e
            time.sleep(0.2)
        self.fail(f"expected {what} within {timeout}s; last saw {last!r}\n"
                  f"daemon log:\n{self.daemon.log()[-3000:]}")

    def test_every_result_reaches_each_engine(self):
        fd, flag = tempfile.mkstemp(prefix="tocsin-fwd-pw-")
        with os.fdopen(fd, "w") as f:
            f.write(PASSWORD + "\n")
        self.addCleanup(os.unlink, flag)
        self.start(
            'host = "web1"\n'
            'notifier "nagios" {\n    plugin = "nagios-cmd"\n'
            f'    command_file = "{self.nagios.command_file}"\n}}\n'
            'notifier "icinga" {\n    plugin = "icinga2"\n'
            f'    url = "{self.icinga.url}"\n    user = "tocsin"\n'
            f'    password_file = "{flag}"\n    ca_file = "{self.icinga.ca}"\n}}\n'
            'notifier "alertmanager" {\n    plugin = "alertmanager"\n'
            f'    url = "{self.am.url}"\n}}\n'
            'service "db" {\n    check = "dummy"\n    state = "critical"\n'
            '    output = "DB CRITICAL - replica stopped"\n    interval = 1s\n'
            '    max_attempts = 1\n}\n'
            'service "web" {\n    check = "dummy"\n    state = "ok"\n'
            '    output = "WEB OK - 200 in 3 ms"\n    interval = 1s\n}\n')

        s = self.wait("Nagios to show db CRITICAL", lambda: self.nagios.services().get(
            ("web1", "db")) if self.nagios.services().get(("web1", "db"), {}).get(
            "plugin_output") == "DB CRITICAL - replica stopped" else None)
        self.assertEqual(s["current_state"], "2", f"got {s}")
        s = self.wait("Nagios to show web OK", lambda: self.nagios.services().get(
            ("web1", "web")) if self.nagios.services().get(("web1", "web"), {}).get(
            "plugin_output") == "WEB OK - 200 in 3 ms" else None)
        self.assertEqual(s["current_state"], "0", f"got {s}")

        r = self.wait("Icinga to show db CRITICAL", lambda: (
            lambda r: r if r and r["output"] == "DB CRITICAL - replica stopped" else None)(
            self.icinga.service("web1", "db")["last_check_result"]))
        self.assertEqual(r["state"], 2, f"got {r}")
        r = self.wait("Icinga to show web OK", lambda: (
            lambda r: r if r and r["output"] == "WEB OK - 200 in 3 ms" else None)(
            self.icinga.service("web1", "web")["last_check_result"]))
        self.assertEqual(r["state"], 0, f"got {r}")

        alerts = self.wait("Alertmanager to list db firing",
                           lambda: self.am.alerts(service="db"))
        self.assertEqual(len(alerts), 1, f"got {alerts}")
        self.assertEqual((alerts[0]["labels"]["instance"], alerts[0]["labels"]["state"],
                          alerts[0]["annotations"]["summary"]),
                         ("web1", "critical", "DB CRITICAL - replica stopped"))
        self.assertEqual(self.am.alerts(service="web"), [],
                         "expected no alert for a service that is OK")
        self.assertNotIn(PASSWORD, self.daemon.log())

        # db recovers (a reload with its dummy OK): its alert is resolved.
        before = self.am.received()["resolved"]
        with open(self.conf.path) as f:
            text = f.read()
        with open(self.conf.path, "w") as f:
            f.write(text.replace('state = "critical"', 'state = "ok"')
                        .replace("DB CRITICAL - replica stopped", "DB OK - replica running"))
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.wait("Alertmanager to have the db alert resolved",
                  lambda: self.am.received()["resolved"] > before and
                  not self.am.alerts(service="db"))
        s = self.wait("Nagios to show db OK", lambda: self.nagios.services().get(
            ("web1", "db")) if self.nagios.services().get(("web1", "db"), {}).get(
            "plugin_output") == "DB OK - replica running" else None)
        self.assertEqual(s["current_state"], "0", f"got {s}")


if __name__ == "__main__":
    unittest.main()
