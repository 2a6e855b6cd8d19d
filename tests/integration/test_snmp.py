"""The snmp check against a real snmpd on loopback (srv_snmpd.py): objects
by number and by MIB name, thresholds on a gauge the test sets (compared
with check_snmp), per-OID thresholds, strings, a missing object, v3 with
the right and wrong passwords, a wrong community, nobody listening, an
answer that is garbage, bad options; then through the daemon, one worker
keeping counters between checks: rates, and counters that wrap. No
community or password ever shows in any output or log."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from srv_snmpd import BASE, SnmpServer, free_udp_port
from tocsintest import NAGIOS_PLUGINS, STATES, ConfDir, Daemon, perfdata, show, tocsin_check

CHECK_SNMP = os.path.join(NAGIOS_PLUGINS, "check_snmp")
GAUGE = BASE + ".1.0"
CLOCK = BASE + ".2.0"
COUNTER32 = BASE + ".3.0"
COUNTER64 = BASE + ".4.0"
STRING = BASE + ".5.0"
INTEGER = BASE + ".6.0"
NUMBER_TEXT = BASE + ".7.0"
SYSDESCR = ".1.3.6.1.2.1.1.1.0"
SYSUPTIME = ".1.3.6.1.2.1.1.3.0"


class UdpResponder:
    """A UDP socket on loopback that answers every datagram with `reply`
    (bytes, or a function of the request), in a thread."""

    def __init__(self, reply):
        self.reply = reply
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.requests += 1
            answer = self.reply(data) if callable(self.reply) else self.reply
            self.sock.sendto(answer, peer)

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


class Snmp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = SnmpServer()
        try:
            cls.srv.start()
        except Exception:
            cls.srv.stop()
            raise
        cls.secrets = (cls.srv.community, cls.srv.auth_password, cls.srv.priv_password)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.srv.set("gauge", 42)

    def check(self, *args, want_rc=None, timeout="10s", community=True, env=None):
        base = ["--port", str(self.srv.port)]
        if community:
            base += ["--community", self.srv.community]
        rc, out, err = tocsin_check("--timeout", timeout, "snmp", *base, *args, env=env)
        for secret in self.secrets:
            self.assertNotIn(secret, out + err, f"a secret appeared in the output: "
                                                f"{show(rc, out, err)}")
        if want_rc is not None:
            self.assertEqual(rc, want_rc, f"snmp {' '.join(args)}: expected exit {want_rc}; "
                                          f"got {show(rc, out, err)}")
        return rc, out, err

    def check_snmp(self, *args, community=None):
        if not os.access(CHECK_SNMP, os.X_OK):
            self.fail(f"{CHECK_SNMP} is missing: install monitoring-plugins (contrib/deps)")
        p = subprocess.run([CHECK_SNMP, "-H", "127.0.0.1", "-p", str(self.srv.port), "-P", "2c",
                            "-C", community or self.srv.community, *args],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout

    # -- reading objects ------------------------------------------------

    def test_sysuptime_and_sysdescr_by_number(self):
        rc, out, err = self.check("--oid", SYSUPTIME, "--oid", SYSDESCR, "--label", "uptime",
                                  "--label", "descr", want_rc=0)
        m = re.match(r'SNMP OK - uptime (\d+), descr "Tocsin test agent" \| uptime=(\d+)\n', out)
        self.assertIsNotNone(m, f"expected 'SNMP OK - uptime N, descr \"Tocsin test agent\"' "
                                f"with perfdata for the uptime only; got {out!r}")
        agent = int(self.srv.get(SYSUPTIME))
        self.assertLessEqual(abs(int(m.group(1)) - agent), 500,
                             f"expected an uptime near snmpget's {agent}; got {out!r}")
        self.assertIn("OK: uptime = ", out, f"expected long output per object; got {out!r}")

    def test_by_mib_name(self):
        rc, out, err = self.check("--mib_dirs", self.srv.mib_dir,
                                  "--oid", "SNMPv2-MIB::sysUpTime.0", "--oid", "sysDescr.0",
                                  "--oid", "TOCSIN-TEST-MIB::tocsinTestGauge.0", want_rc=0)
        self.assertRegex(out, r'^SNMP OK - sysUpTime\.0 \d+, sysDescr\.0 "Tocsin test agent", '
                              r'tocsinTestGauge\.0 42 \| ',
                         f"expected the three objects named after their MIB names; got {out!r}")
        perf = perfdata(out)
        self.assertEqual(perf.get("tocsinTestGauge.0", [""])[0], "42",
                         f"expected perfdata tocsinTestGauge.0=42; got {out!r}")

    def test_unknown_mib_name_is_unknown(self):
        rc, out, err = self.check("--mib_dirs", self.srv.mib_dir,
                                  "--oid", "NO-SUCH-MIB::nothing.0", want_rc=3)
        self.assertRegex(out, r'^UNKNOWN: .*"NO-SUCH-MIB::nothing\.0" is unknown to the MIBs',
                         f"expected UNKNOWN naming the OID; got {out!r}")

    def test_types(self):
        self.srv.set("counter64", 2 ** 64 - 5)
        rc, out, err = self.check("--oid", COUNTER64, "--oid", INTEGER, "--oid", NUMBER_TEXT,
                                  "--oid", STRING, "--label", "c64", "--label", "int",
                                  "--label", "load", "--label", "text", want_rc=0)
        first = out.split(" | ")[0]
        self.assertEqual(first, f'SNMP OK - c64 {2 ** 64 - 5}, int -7, load 0.15, '
                                f'text "tocsin test string"',
                         f"expected the exact values of each type; got {out!r}")
        perf = perfdata(out)
        self.assertTrue(perf.get("c64", [""])[0].endswith("c"),
                        f"expected a counter's perfdata in unit c; got {out!r}")
        self.assertEqual(perf.get("int", [""])[0], "-7", f"expected int=-7; got {out!r}")
        self.assertEqual(perf.get("load", [""])[0], "0.15", f"expected load=0.15; got {out!r}")
        self.assertNotIn("text", perf, f"expected no perfdata for a string; got {out!r}")

    # -- thresholds, compared with check_snmp --------------------------

    def test_thresholds_on_gauge_match_check_snmp(self):
        for w, c, want in (("50", "80", 0), ("40", "80", 1), ("10", "20", 2), ("@40:45", "", 1),
                           ("", "@42:42", 2), ("50:", "", 1)):
            with self.subTest(warning=w, critical=c):
                args = ["--oid", GAUGE, "--label", "gauge"]
                if w:
                    args += ["--warning", w]
                if c:
                    args += ["--critical", c]
                rc, out, err = self.check(*args, want_rc=want)
                mark = {0: "", 1: " (warning)", 2: " (critical)"}[want]
                self.assertTrue(out.startswith(f"SNMP {STATES[want]} - gauge 42{mark} | "),
                                f"expected SNMP {STATES[want]} - gauge 42{mark}; got {out!r}")
                self.assertEqual(perfdata(out).get("gauge"), ["42", w, c, "", ""],
                                 f"expected gauge=42;{w};{c}; got {out!r}")
                nargs = ["-o", GAUGE]
                if w:
                    nargs += ["-w", w]
                if c:
                    nargs += ["-c", c]
                nrc, nout = self.check_snmp(*nargs)
                self.assertEqual(rc, nrc, f"check_snmp -w {w!r} -c {c!r} said {nout!r} "
                                          f"(exit {nrc}); we said {out!r} (exit {rc})")

    def test_gauge_change_is_seen(self):
        self.srv.set("gauge", 95)
        rc, out, err = self.check("--oid", GAUGE, "--warning", "80", "--critical", "90",
                                  want_rc=2)
        self.assertIn(" 95 (critical)", out, f"expected the new value 95; got {out!r}")

    def test_per_oid_thresholds(self):
        self.srv.set("counter32", 500)
        rc, out, err = self.check("--oid", GAUGE, "--oid", COUNTER32, "--label", "gauge",
                                  "--label", "c32", "--oid_warning", "40",
                                  "--oid_warning", "", "--oid_critical", "",
                                  "--oid_critical", "100", want_rc=2)
        self.assertTrue(out.startswith("SNMP CRITICAL - gauge 42 (warning), c32 500 (critical)"),
                        f"expected each OID against its own range; got {out!r}")
        perf = perfdata(out)
        self.assertEqual(perf.get("gauge", [])[:3], ["42", "40", ""],
                         f"expected gauge=42;40; got {out!r}")
        self.assertEqual(perf.get("c32", [])[:3], ["500c", "", "100"],
                         f"expected c32=500c;;100; got {out!r}")

    def test_number_sent_as_text_matches_check_snmp(self):
        rc, out, err = self.check("--oid", NUMBER_TEXT, "--warning", "0.1", want_rc=1)
        nrc, nout = self.check_snmp("-o", NUMBER_TEXT, "-w", "0.1")
        self.assertEqual(rc, nrc, f"check_snmp said {nout!r}; we said {out!r}")

    def test_threshold_on_string_is_unknown(self):
        rc, out, err = self.check("--oid", STRING, "--label", "text", "--critical", "10",
                                  want_rc=3)
        self.assertTrue(out.startswith('SNMP UNKNOWN - text "tocsin test string"'),
                        f"expected UNKNOWN showing the string; got {out!r}")
        self.assertIn("is not a number (OCTET STRING): thresholds apply to numbers only", out,
                      f"expected the reason in long output; got {out!r}")

    def test_missing_object_is_unknown_naming_it(self):
        missing = BASE + ".99.0"
        rc, out, err = self.check("--oid", GAUGE, "--oid", missing, want_rc=3)
        self.assertTrue(out.startswith(f"SNMP UNKNOWN - {GAUGE} 42, {missing}: no such instance"),
                        f"expected UNKNOWN naming {missing}; got {out!r}")
        rc, out, err = self.check("--oid", ".1.3.6.1.2.1.1.99.0", want_rc=3)
        self.assertIn(".1.3.6.1.2.1.1.99.0: no such", out, f"expected no such object/instance; "
                                                          f"got {out!r}")

    # -- failures -------------------------------------------------------

    def test_wrong_community_is_critical_no_response(self):
        t0 = time.monotonic()
        rc, out, err = self.check("--oid", GAUGE, "--community", "not-the-community",
                                  community=False, timeout="2s", want_rc=2)
        took = time.monotonic() - t0
        self.assertRegex(out, rf"^SNMP CRITICAL - no response from 127\.0\.0\.1:{self.srv.port} "
                              rf"\(SNMP v2c\) after \d+(\.\d)? s\n",
                         f"expected CRITICAL no response; got {out!r}")
        self.assertLess(took, 2.8, f"expected an answer within the 2s timeout, took {took:.1f}s")
        # check_snmp (monitoring-plugins 2.3) says UNKNOWN ("External
        # command error: Timeout"): an agent that does not answer is a
        # problem with the agent, CRITICAL, as check_tcp says for a port.
        nrc, nout = self.check_snmp("-o", GAUGE, "-t", "2", "-e", "0",
                                     community="not-the-community")
        self.assertIn(nrc, (2, 3), f"check_snmp with a wrong community: {nout!r} (exit {nrc})")
        self.assertRegex(nout, r"Timeout|No Response", f"check_snmp: {nout!r}")

    def test_nobody_listening_is_critical_within_timeout(self):
        port = free_udp_port()
        t0 = time.monotonic()
        rc, out, err = tocsin_check("--timeout", "2s", "snmp", "--port", str(port),
                                    "--oid", GAUGE)
        took = time.monotonic() - t0
        self.assertEqual(rc, 2, f"expected CRITICAL; got {show(rc, out, err)}")
        self.assertRegex(out, rf"^SNMP CRITICAL - no response from 127\.0\.0\.1:{port} "
                              rf"\(SNMP v2c\) after ", f"expected no response; got {out!r}")
        self.assertLess(took, 2.8, f"expected an answer within the 2s timeout, took {took:.1f}s")

    def test_garbage_answer_is_critical_not_a_crash(self):
        replies = (b"\x00garbage\xff" * 10,
                   # A BER SEQUENCE whose length runs past the datagram.
                   b"\x30\x82\xff\xff\x02\x01\x01\x04\x06public\xa2\x00",
                   # A well-formed v2c response to another request id.
                   bytes.fromhex("302902010104067075626c6963a21c0204deadbeef020100020100"
                                 "300e300c06082b060102010103000500"))
        for reply in replies:
            with self.subTest(reply=reply[:12]):
                r = UdpResponder(reply)
                try:
                    rc, out, err = tocsin_check("--timeout", "2s", "snmp", "--port", str(r.port),
                                                "--oid", SYSUPTIME)
                finally:
                    r.stop()
                self.assertIn(rc, (2, 3), f"expected CRITICAL or UNKNOWN; got {show(rc, out, err)}")
                self.assertRegex(out, r"^SNMP (CRITICAL|UNKNOWN) - ", f"got {out!r}")
                self.assertGreater(r.requests, 0, "expected the responder to get the request")

    # -- SNMPv3 ---------------------------------------------------------

    def v3(self, *args, want_rc=None, env=None, timeout="10s"):
        return self.check("--version", "3", "--user", self.srv.user, *args, want_rc=want_rc,
                          community=False, env=env, timeout=timeout)

    def test_v3_ok(self):
        rc, out, err = self.v3("--auth_password", self.srv.auth_password,
                               "--priv_password", self.srv.priv_password,
                               "--oid", GAUGE, "--label", "gauge", want_rc=0)
        self.assertTrue(out.startswith("SNMP OK - gauge 42 | gauge=42"),
                        f"expected SNMP OK over v3; got {out!r}")

    def test_v3_secrets_from_file_and_environment(self):
        d = tempfile.mkdtemp(prefix="tocsin-snmp-secret-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "auth")
        with open(path, "w") as f:
            f.write(self.srv.auth_password + "\n")
        env = dict(os.environ, TOCSIN_TEST_SNMP_PRIV=self.srv.priv_password)
        rc, out, err = self.v3("--auth_password_file", path,
                               "--priv_password_env", "TOCSIN_TEST_SNMP_PRIV",
                               "--security_level", "authPriv", "--auth_protocol", "SHA",
                               "--priv_protocol", "AES", "--oid", GAUGE, want_rc=0, env=env)
        self.assertTrue(out.startswith("SNMP OK - "), f"expected SNMP OK; got {out!r}")

    def test_v3_wrong_auth_password_is_critical(self):
        rc, out, err = self.v3("--auth_password", "wrong-" + self.srv.auth_password,
                               "--priv_password", self.srv.priv_password,
                               "--oid", GAUGE, want_rc=2)
        self.assertEqual(out.split("\n")[0],
                         f"SNMP CRITICAL - authentication failed for user {self.srv.user}",
                         f"expected CRITICAL authentication failed; got {out!r}")

    def test_v3_unknown_user_and_wrong_priv_password(self):
        rc, out, err = self.check("--version", "3", "--user", "nosuchuser",
                                  "--auth_password", self.srv.auth_password,
                                  "--priv_password", self.srv.priv_password,
                                  "--oid", GAUGE, community=False, want_rc=2)
        self.assertTrue(out.startswith("SNMP CRITICAL - unknown user nosuchuser at "),
                        f"expected CRITICAL unknown user; got {out!r}")
        rc, out, err = self.v3("--auth_password", self.srv.auth_password,
                               "--priv_password", "wrong-" + self.srv.priv_password,
                               "--oid", GAUGE, timeout="2s", want_rc=2)
        self.assertTrue(out.startswith("SNMP CRITICAL - no response from "),
                        f"expected CRITICAL: the agent drops what it cannot decrypt; got {out!r}")
        self.assertIn("priv_password", out, f"expected a hint at priv_password; got {out!r}")

    # -- options --------------------------------------------------------

    def test_bad_options_are_unknown(self):
        cases = ((("--oid", GAUGE, "--version", "4"), r"version.*\"4\""),
                 ((), r"'oid' is needed"),
                 (("--oid", GAUGE, "--label", "a", "--label", "b"), r"'label' has 2 entries"),
                 (("--oid", GAUGE, "--rate", "maybe"), r"'rate'.*maybe"),
                 (("--oid", GAUGE, "--oid_warning", "x:y"), r"oid_warning"),
                 (("--oid", GAUGE, "--port", "70000"), r"port"),
                 (("--oid", GAUGE, "--version", "3"), r"'user' is needed"),
                 (("--oid", GAUGE, "--version", "3", "--user", "u", "--auth_password", "short"),
                  r"at least 8 characters"),
                 (("--oid", GAUGE, "--version", "3", "--user", "u", "--auth_password",
                   "longenough", "--auth_protocol", "ROT13"), r"auth_protocol.*ROT13"),
                 (("--oid", GAUGE, "--version", "3", "--user", "u",
                   "--security_level", "authPriv", "--auth_password", "longenough"),
                  r"priv_password"),
                 (("--oid", "1.3.6.x"), r"1\.3\.6\.x"))
        for args, why in cases:
            with self.subTest(args=args):
                rc, out, err = self.check(*args, want_rc=3)
                self.assertRegex(out, r"^UNKNOWN: .*" + why,
                                 f"expected UNKNOWN matching {why!r}; got {show(rc, out, err)}")

    # -- through the daemon: rates and wrapping counters ----------------

    def test_rates_and_counter_wrap_through_the_daemon(self):
        self.srv.set("counter32", 2 ** 32 - 300)
        self.srv.set("counter64", 2 ** 64 - 600)
        state_dir = tempfile.mkdtemp(prefix="tocsin-snmp-state-")
        self.addCleanup(shutil.rmtree, state_dir, True)
        service = (f'service "snmp-rates" {{\n'
                   f'    check = "snmp"\n'
                   f'    port = {self.srv.port}\n'
                   f'    community = "{self.srv.community}"\n'
                   f'    oid = {{"{CLOCK}", "{COUNTER32}", "{COUNTER64}", "{GAUGE}"}}\n'
                   f'    label = {{"clock", "c32", "c64", "gauge"}}\n'
                   f'    rate = {{"yes", "yes", "yes", "no"}}\n'
                   f'    oid_critical = {{"500:2000"}}\n'
                   f'    interval = 1s\n'
                   f'    max_attempts = 1\n'
                   f'}}\n')
        conf = ConfDir(f'max_check_spread = 1s\nstate_dir = "{state_dir}"\n',
                       {"snmp.conf": service})
        self.addCleanup(conf.cleanup)
        d = Daemon(conf.path, level="debug")
        self.addCleanup(d.stop)
        first = d.wait_for(r"service 'snmp-rates'.*SNMP \w+ - ", timeout=20)[0]
        self.assertRegex(first, r"SNMP OK - clock \d+ \(rate from the next check\), "
                                r"c32 \d+ \(rate from the next check\), c64 \d+ \(rate from "
                                r"the next check\), gauge 42 \| gauge=42$",
                         "expected the first check to say rates start at the next one")
        rx = (r"service 'snmp-rates'.*SNMP OK - clock ([\d.]+)/s, c32 ([\d.]+)/s, "
              r"c64 ([\d.]+)/s, gauge 42 \| ")
        d.wait_for(rx, timeout=20)
        # Both counters wrap: c32 by 300 + 200, c64 by 600 + 400.
        self.srv.set("counter32", 200)
        self.srv.set("counter64", 400)
        d.wait_for(r"service 'snmp-rates'.*c32 (?!0/s)[\d.]+/s", timeout=20)
        d.wait_for(r"service 'snmp-rates'.*c64 (?!0/s)[\d.]+/s", timeout=20)
        seen = d.count(rx)
        d.wait_for(rx, timeout=20, count=seen + 1)
        rates = [tuple(float(x) for x in m.groups())
                 for m in (re.search(rx, l) for l in d.log().split("\n")) if m]
        for clock, c32, c64 in rates:
            self.assertTrue(700 <= clock <= 1300,
                            f"expected the millisecond clock to run at ~1000/s; got {clock} in "
                            f"{rates}")
        c32s = [r[1] for r in rates if r[1] > 0]
        c64s = [r[2] for r in rates if r[2] > 0]
        # 500 counts over the ~1 s between two checks (never 4e9: a wrap,
        # not a negative delta).
        self.assertTrue(c32s and all(150 <= x <= 1500 for x in c32s),
                        f"expected c32's wrap of 500 counts as one rate of ~500/s; got {rates}")
        self.assertTrue(c64s and all(300 <= x <= 3000 for x in c64s),
                        f"expected c64's wrap of 1000 counts as one rate of ~1000/s; got {rates}")
        self.assertTrue(d.alive(), "tocsind exited:\n" + d.log())
        d.stop()
        for secret in self.secrets:
            self.assertNotIn(secret, d.log(), "a secret appeared in the daemon's log")
