"""The ssl-expiry check against real servers on loopback, with certificates
made for the test by the openssl command: nginx serving one certificate
per port (valid, 20 days left, 3 days left, expired, not yet valid, for
another name, self-signed), aiosmtpd, Dovecot and PostgreSQL through their
STARTTLS exchanges; refused, silent and non-TLS peers; option errors; the
same states as check_http -C; and one run through the daemon."""
import datetime
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import srv_tls
from tocsintest import (NAGIOS_PLUGINS, DaemonTest, ConfDir, check_config, free_port,
                        tocsin_check)
from tocsintest import STATES, show

CHECK_HTTP = os.path.join(NAGIOS_PLUGINS, "check_http")


def first_line(out):
    return out.split("\n")[0]


def perf_days(out):
    """The days perfdata item as [value, warn, crit]."""
    m = re.search(r"\| days=(\S+)", first_line(out))
    return m.group(1).split(";") if m else None


def whole_days(when):
    """Whole days from now until `when` (a UTC datetime)."""
    left = when - datetime.datetime.now(datetime.timezone.utc)
    return int(left.total_seconds() // 86400)


class Listener:
    """A TCP listener on loopback that does `what` with each connection:
    'silent' (accept and never answer), 'close' (read what comes for a
    moment, then close), 'reset' (the same, then abort the connection) or
    bytes to send before closing."""

    def __init__(self, what):
        self.what = what
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.done = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.done:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.what == "silent":
                self.conns.append(conn)
                continue
            try:
                if self.what in ("close", "reset"):
                    conn.settimeout(0.3)
                    conn.recv(65536)
                    if self.what == "reset":
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                else:
                    conn.sendall(self.what)
                    time.sleep(0.2)
            except OSError:
                pass
            conn.close()

    def stop(self):
        self.done = True
        self.sock.close()
        for c in self.conns:
            c.close()


class SslExpiry(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = srv_tls.All()
        cls.srv.start()
        cls.certs = cls.srv.certs
        cls.ports = cls.srv.nginx.ports
        cls.listeners = []

    @classmethod
    def tearDownClass(cls):
        for l in cls.listeners:
            l.stop()
        cls.srv.stop()

    @classmethod
    def listener(cls, what):
        l = Listener(what)
        cls.listeners.append(l)
        return l.port

    def run_check(self, port, *args, ca=True, timeout="10s"):
        argv = ["ssl-expiry", "--timeout", timeout, "--host", "127.0.0.1",
                "--port", str(port)]
        if ca:
            argv += ["--ca_file", self.certs.ca]
        return tocsin_check(*argv, *args)

    def expect(self, result, state, pattern):
        rc, out, err = result
        self.assertEqual(rc, STATES.index(state),
                         f"expected {state}; got {show(rc, out, err)}")
        self.assertRegex(first_line(out), pattern,
                         f"expected the first line to match {pattern!r}; "
                         f"got {show(rc, out, err)}")
        return out

    def date(self, name):
        return self.certs.not_after[name].strftime("%Y-%m-%d")

    # -- the states of one certificate ---------------------------------

    def test_valid_certificate_is_ok_with_days_left_as_perfdata(self):
        days = whole_days(self.certs.not_after["valid"])
        out = self.expect(self.run_check(self.ports["valid"]), "OK",
                          rf"^SSL OK - certificate for 127\.0\.0\.1 expires in "
                          rf"{days} days \({self.date('valid')}\) \|")
        perf = perf_days(out)
        self.assertIsNotNone(perf, f"expected a days perfdata item; got {out!r}")
        self.assertEqual(perf[1:3], ["30:", "7:"],
                         f"expected thresholds 30: and 7: by default; got {perf}")
        self.assertAlmostEqual(float(perf[0]), days + 1 / 24, delta=0.02,
                               msg=f"expected about {days}.04 days left; got {perf}")
        for detail in ("subject: O=Tocsin tests, CN=localhost",
                       "names: DNS:localhost, IP:127.0.0.1",
                       "issuer: O=Tocsin tests, CN=Tocsin Test CA",
                       "trust checked against ca_file " + self.certs.ca):
            self.assertIn("\n" + detail + "\n", out,
                          f"expected the long output line {detail!r}; got {out!r}")

    def test_20_days_left_is_warning(self):
        self.expect(self.run_check(self.ports["days20"]), "WARNING",
                    rf"^SSL WARNING - certificate for 127\.0\.0\.1 expires in "
                    rf"20 days \({self.date('days20')}\) \| days=20\.0\d;30:;7:$")

    def test_3_days_left_is_critical(self):
        self.expect(self.run_check(self.ports["days3"]), "CRITICAL",
                    rf"^SSL CRITICAL - certificate for 127\.0\.0\.1 expires in "
                    rf"3 days \({self.date('days3')}\) \| days=3\.0\d;30:;7:$")

    def test_expired_certificate_is_critical(self):
        self.expect(self.run_check(self.ports["expired"]), "CRITICAL",
                    rf"^SSL CRITICAL - certificate for 127\.0\.0\.1 expired 3 days "
                    rf"ago \({self.date('expired')}\) \| days=-3\.0\d;30:;7:$")

    def test_not_yet_valid_certificate_is_critical(self):
        start = self.certs.not_before["future"].strftime("%Y-%m-%d %H:%M:%S UTC")
        self.expect(self.run_check(self.ports["future"]), "CRITICAL",
                    rf"^SSL CRITICAL - certificate for 127\.0\.0\.1 is not valid "
                    rf"before {start} \(in 10 days\) \|")

    def test_certificate_for_another_name_is_critical(self):
        self.expect(self.run_check(self.ports["otherhost"]), "CRITICAL",
                    r"^SSL CRITICAL - certificate is for other\.example, "
                    r"www\.other\.example, not 127\.0\.0\.1 \|")

    def test_verify_hostname_false_accepts_another_name(self):
        self.expect(self.run_check(self.ports["otherhost"], "--verify_hostname", "false"),
                    "OK", r"^SSL OK - certificate for 127\.0\.0\.1 expires in 365 days")

    def test_self_signed_certificate_is_not_trusted(self):
        self.expect(self.run_check(self.ports["selfsigned"]), "CRITICAL",
                    r"^SSL CRITICAL - certificate for 127\.0\.0\.1 is not trusted: "
                    r"self-signed certificate \|")

    def test_expired_intermediate_ca_is_not_trusted(self):
        inter = self.certs.not_after["inter"].strftime("%Y-%m-%d")
        out = self.expect(self.run_check(self.ports["chainexpired"]), "CRITICAL",
                          r"^SSL CRITICAL - certificate for 127\.0\.0\.1 is not trusted: "
                          r"CA certificate O=Tocsin tests, CN=Tocsin Test Intermediate CA "
                          rf"expired 2 days ago \({inter}\) \|")
        self.assertIn("\nchain 1: O=Tocsin tests, CN=Tocsin Test Intermediate CA, valid to ",
                      out, f"expected the chain in long output; got {out!r}")
        self.assertIn("\nchain 2: O=Tocsin tests, CN=Tocsin Test CA, valid to ", out,
                      f"expected the root in long output; got {out!r}")

    def test_verify_false_judges_only_expiry(self):
        self.expect(self.run_check(self.ports["selfsigned"], "--verify", "false"),
                    "OK", r"^SSL OK - certificate for 127\.0\.0\.1 expires in 364 days")
        self.expect(self.run_check(self.ports["otherhost"], "--verify", "false",
                                   ca=False),
                    "OK", r"^SSL OK - certificate for 127\.0\.0\.1 expires in 365 days")
        self.expect(self.run_check(self.ports["expired"], "--verify", "false"),
                    "CRITICAL", r"^SSL CRITICAL - certificate for 127\.0\.0\.1 expired")

    def test_test_ca_is_not_in_the_system_trust_store(self):
        self.expect(self.run_check(self.ports["valid"], ca=False), "CRITICAL",
                    r"^SSL CRITICAL - certificate for 127\.0\.0\.1 is not trusted: "
                    r"unable to get local issuer certificate \|")

    def test_several_problems_are_all_named(self):
        # Trusted by nobody, for another name: both; expiry is fine, so
        # it is not on the first line.
        out = self.expect(self.run_check(self.ports["otherhost"], ca=False), "CRITICAL",
                          r"^SSL CRITICAL - certificate for 127\.0\.0\.1 is not trusted: "
                          r"unable to get local issuer certificate; certificate is for "
                          r"other\.example, www\.other\.example, not 127\.0\.0\.1 \|")
        self.assertIn("\nvalid from ", out, f"expected the dates in long output: {out!r}")

    def test_thresholds_are_configurable(self):
        self.expect(self.run_check(self.ports["valid"], "--warning", "400:"), "WARNING",
                    r"^SSL WARNING - certificate for 127\.0\.0\.1 expires in 365 days.*"
                    r"days=365\.\d+;400:;7:$")
        self.expect(self.run_check(self.ports["days20"], "--warning", "10:",
                                   "--critical", "5:"), "OK",
                    r"^SSL OK - .*days=20\.\d+;10:;5:$")
        self.expect(self.run_check(self.ports["days3"], "--critical", "2:"), "WARNING",
                    r"^SSL WARNING - certificate for 127\.0\.0\.1 expires in 3 days")

    # -- server names --------------------------------------------------

    def test_server_name_is_sent_and_checked(self):
        port = self.ports["valid"]
        # No name sent for an address: nginx's default certificate.
        out = self.expect(self.run_check(port), "OK", r"^SSL OK")
        self.assertIn("no server name sent", out, f"expected no SNI: {out!r}")
        # A name as host: sent, and the default certificate is for it.
        self.expect(tocsin_check("ssl-expiry", "--host", "localhost", "--port", str(port),
                                 "--ca_file", self.certs.ca, "--ip_version", "4"),
                    "OK", r"^SSL OK - certificate for localhost expires in 365 days")
        # sni = other.example: nginx picks that name's certificate, which
        # matches the name.
        self.expect(self.run_check(port, "--sni", "other.example"), "OK",
                    r"^SSL OK - certificate for 127\.0\.0\.1 expires in 365 days")
        # The name checked is the one sent.
        self.expect(self.run_check(self.ports["days20"], "--sni", "other.example"),
                    "CRITICAL", r"^SSL CRITICAL - certificate is for localhost, "
                    r"127\.0\.0\.1, not other\.example;")

    # -- STARTTLS ------------------------------------------------------

    def test_starttls_smtp_with_aiosmtpd(self):
        self.expect(self.run_check(self.srv.smtp.port, "--starttls", "smtp"), "WARNING",
                    rf"^SSL WARNING - certificate for 127\.0\.0\.1 expires in 20 days "
                    rf"\({self.date('days20')}\) \|")

    def test_starttls_imap_with_dovecot(self):
        out = self.expect(self.run_check(self.srv.dovecot.imap_port, "--starttls", "imap"),
                          "OK", r"^SSL OK - certificate for 127\.0\.0\.1 expires in 365 days")
        self.assertIn("STARTTLS (imap)", out, f"expected the STARTTLS detail: {out!r}")

    def test_starttls_pop3_with_dovecot(self):
        self.expect(self.run_check(self.srv.dovecot.pop3_port, "--starttls", "pop3"),
                    "OK", r"^SSL OK - certificate for 127\.0\.0\.1 expires in 365 days")

    def test_ssl_request_to_postgresql(self):
        self.expect(self.run_check(self.srv.postgres.port, "--starttls", "postgres"),
                    "CRITICAL", rf"^SSL CRITICAL - certificate for 127\.0\.0\.1 expires "
                    rf"in 3 days \({self.date('days3')}\) \|")

    def test_starttls_of_another_protocol_is_named(self):
        self.expect(self.run_check(self.srv.dovecot.imap_port, "--starttls", "pop3"),
                    "CRITICAL", r"^SSL CRITICAL - POP3 server at 127\.0\.0\.1:\d+ answered "
                    r"with something that is not POP3: \* OK")
        self.expect(self.run_check(self.srv.smtp.port, "--starttls", "imap"),
                    "CRITICAL", r"^SSL CRITICAL - IMAP server at 127\.0\.0\.1:\d+ answered "
                    r"with something that is not IMAP: 220 ")

    def test_tls_port_without_starttls_speaks_no_tls(self):
        # The SMTP server expects plain text first.
        self.expect(self.run_check(self.srv.smtp.port), "CRITICAL",
                    r"^SSL CRITICAL - 127\.0\.0\.1:\d+ does not speak TLS: it answered "
                    r"the TLS handshake with something else \(")

    # -- peers that fail -----------------------------------------------

    def test_refused_port_is_critical(self):
        port = free_port()
        self.expect(self.run_check(port), "CRITICAL",
                    rf"^SSL CRITICAL - connection refused to 127\.0\.0\.1:{port}$")

    def test_silent_listener_times_out(self):
        port = self.listener("silent")
        for extra in ((), ("--starttls", "smtp"), ("--starttls", "postgres")):
            t0 = time.monotonic()
            rc, out, err = self.run_check(port, *extra, timeout="1s")
            took = time.monotonic() - t0
            self.assertEqual((rc, first_line(out)),
                             (3, "UNKNOWN: plugin ssl-expiry timed out after 1 s"),
                             f"options {extra}: expected the timeout; got "
                             f"{show(rc, out, err)}")
            self.assertLess(took, 2.5, f"options {extra}: expected to return within "
                                       f"~2 s, took {took:.1f} s")

    def test_plain_http_port_does_not_speak_tls(self):
        port = self.srv.nginx.http_port
        self.expect(self.run_check(port), "CRITICAL",
                    rf"^SSL CRITICAL - 127\.0\.0\.1:{port} does not speak TLS: it "
                    r"answered the TLS handshake with something else "
                    r"\(wrong version number\)$")

    def test_garbage_answers(self):
        port = self.listener(b"SSH-2.0-OpenSSH_9.2\r\n")
        self.expect(self.run_check(port), "CRITICAL",
                    rf"^SSL CRITICAL - 127\.0\.0\.1:{port} does not speak TLS")
        self.expect(self.run_check(port, "--starttls", "smtp"), "CRITICAL",
                    rf"^SSL CRITICAL - SMTP server at 127\.0\.0\.1:{port} answered with "
                    r"something that is not SMTP: SSH-2\.0-OpenSSH_9\.2$")
        self.expect(self.run_check(port, "--starttls", "postgres"), "CRITICAL",
                    rf"^SSL CRITICAL - PostgreSQL server at 127\.0\.0\.1:{port} answered "
                    r"the SSL request with something that is not PostgreSQL$")
        port = self.listener(b"\x15\x03\x01\x00\x02\x02\x28")   # a TLS alert
        self.expect(self.run_check(port), "CRITICAL",
                    rf"^SSL CRITICAL - TLS handshake with 127\.0\.0\.1:{port} failed: ")

    def test_peer_that_closes_at_once(self):
        port = self.listener("close")
        self.expect(self.run_check(port), "CRITICAL",
                    rf"^SSL CRITICAL - 127\.0\.0\.1:{port} closed the connection during "
                    r"the TLS handshake")
        self.expect(self.run_check(port, "--starttls", "imap"), "CRITICAL",
                    rf"^SSL CRITICAL - IMAP server at 127\.0\.0\.1:{port} closed the "
                    r"connection before its greeting$")
        port = self.listener("reset")
        self.expect(self.run_check(port), "CRITICAL",
                    rf"^SSL CRITICAL - 127\.0\.0\.1:{port} reset the connection during "
                    r"the TLS handshake$")

    def test_smtp_server_that_refuses_starttls(self):
        port = self.listener(b"220 sink ESMTP\r\n250-sink\r\n250 SIZE 1000\r\n"
                             b"454 4.7.0 TLS not available\r\n")
        self.expect(self.run_check(port, "--starttls", "smtp"), "CRITICAL",
                    rf"^SSL CRITICAL - SMTP server at 127\.0\.0\.1:{port} refused STARTTLS: "
                    r"454 4\.7\.0 TLS not available$")

    # -- UNKNOWN: what cannot be checked -----------------------------------

    def test_unresolvable_host_is_unknown(self):
        rc, out, err = tocsin_check("ssl-expiry", "--host", "no-such-host.invalid")
        self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
        self.assertRegex(out, r"^SSL UNKNOWN - cannot resolve no-such-host\.invalid: ")
        rc, out, err = tocsin_check("ssl-expiry", "--host", "127.0.0.1", "--ip_version", "6")
        self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
        self.assertRegex(out, r"^SSL UNKNOWN - cannot resolve 127\.0\.0\.1 to an IPv6 address")

    def test_option_errors(self):
        missing = os.path.join(self.srv.tmp, "no-such-ca.pem")
        cases = [
            ((), "option 'host' is required"),
            (("--host", "h", "--port", "0"), "option 'port': 0 is not between 1 and 65535"),
            (("--host", "h", "--starttls", "ftp"),
             "option 'starttls': \"ftp\" is not one of none, smtp, imap, pop3, postgres"),
            (("--host", "h", "--ip_version", "5"), "option 'ip_version': \"5\" is not any, 4 or 6"),
            (("--host", "h", "--sni", "10.0.0.1"), "option 'sni': \"10.0.0.1\" is an address"),
            (("--host", "h", "--ca_file", missing),
             f"option 'ca_file': cannot load trusted certificates from {missing}"),
            (("--host", "h", "--warning", "abc"), "warning"),
        ]
        for args, message in cases:
            rc, out, err = tocsin_check("ssl-expiry", *args)
            self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
            self.assertIn(message, out + err,
                          f"expected {message!r}; got {show(rc, out, err)}")

    def test_configuration_errors_name_file_and_line(self):
        cases = [
            # A value the option's parser refuses, while parsing.
            ('service "tls" {\n    check = "ssl-expiry"\n    host = "example.org"\n'
             '    critical = "7:x"\n}\n', r"tls\.conf:4: option 'critical': "),
            # Options setup refuses, at the line naming the check.
            ('service "tls" {\n    check = "ssl-expiry"\n    port = 443\n}\n',
             r"tls\.conf:2: service 'tls': option 'host' is required"),
            ('\nservice "tls" {\n    check = "ssl-expiry"\n    host = "example.org"\n'
             '    starttls = "ftp"\n}\n', r"tls\.conf:3: service 'tls': option 'starttls'"),
        ]
        for text, pattern in cases:
            conf = ConfDir("max_check_spread = 1s\n", {"tls.conf": text})
            self.addCleanup(conf.cleanup)
            rc, out, err = check_config(conf.path)
            self.assertNotEqual(rc, 0, f"expected the configuration refused; got "
                                f"exit 0: {out}{err}")
            self.assertRegex(out + err, pattern,
                             f"expected {pattern!r}; got {out}{err}")

    # -- the same states as the Monitoring Plugins -------------------------

    def test_same_state_as_check_http_certificate_mode(self):
        self.assertTrue(os.access(CHECK_HTTP, os.X_OK),
                        f"{CHECK_HTTP} is missing: install monitoring-plugins-basic")
        for name in ("valid", "days20", "days3", "expired"):
            port = self.ports[name]
            p = subprocess.run([CHECK_HTTP, "--sni", "-C", "30,7", "-H", "127.0.0.1",
                                "-p", str(port)], capture_output=True, text=True,
                               timeout=30)
            # We judge trust too; check_http -C does not.
            rc, out, err = self.run_check(port)
            self.assertEqual(rc, p.returncode,
                             f"{name}: check_http said {p.returncode} "
                             f"({p.stdout.strip()!r}); "
                             f"ssl-expiry said {show(rc, out, err)}")
        port = free_port()
        p = subprocess.run([CHECK_HTTP, "--sni", "-C", "30,7", "-H", "127.0.0.1", "-p",
                            str(port)], capture_output=True, text=True, timeout=30)
        rc, out, err = self.run_check(port)
        self.assertEqual(rc, p.returncode, f"refused port: check_http said "
                         f"{p.returncode} ({p.stdout.strip()!r}); ssl-expiry {show(rc, out, err)}")
        port = self.srv.nginx.http_port
        p = subprocess.run([CHECK_HTTP, "--sni", "-C", "30,7", "-H", "127.0.0.1", "-p",
                            str(port)], capture_output=True, text=True, timeout=30)
        rc, out, err = self.run_check(port)
        self.assertEqual(rc, p.returncode, f"plain HTTP port: check_http said "
                         f"{p.returncode} ({p.stdout.strip()!r}); ssl-expiry {show(rc, out, err)}")


class SslExpiryThroughDaemon(DaemonTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tocsin-tls-daemon-")
        os.chmod(cls.tmp, 0o755)
        cls.certs = srv_tls.Certs(cls.tmp)
        cls.nginx = srv_tls.Nginx(cls.certs, cls.tmp)
        try:
            cls.certs.make()
            cls.nginx.start()
        except BaseException:
            cls.nginx.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        cls.silent = Listener("silent")

    @classmethod
    def tearDownClass(cls):
        cls.silent.stop()
        cls.nginx.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_first_results_logged_with_their_states(self):
        def service(name, port, extra=""):
            return (f'service "{name}" {{\n'
                    f'    check = "ssl-expiry"\n'
                    f'    host = "127.0.0.1"\n'
                    f'    port = {port}\n'
                    f'    ca_file = "{self.certs.ca}"\n'
                    f'    interval = 1s\n'
                    f'    max_attempts = 1\n{extra}'
                    f'}}\n')
        state_dir = tempfile.mkdtemp(prefix="tocsin-tls-state-")
        self.addCleanup(shutil.rmtree, state_dir, True)
        files = {
            "tls-valid.conf": service("tls-valid", self.nginx.ports["valid"]),
            "tls-soon.conf": service("tls-soon", self.nginx.ports["days20"]),
            "tls-silent.conf": service("tls-silent", self.silent.port,
                                       '    timeout = 1s\n'
                                       '    timeout_state = "critical"\n'),
        }
        d = self.start(f'max_check_spread = 1s\nstate_dir = "{state_dir}"\n', files)
        d.wait_for(r"service 'tls-valid' on \S+: first result OK: SSL OK - certificate "
                   r"for 127\.0\.0\.1 expires in 365 days")
        d.wait_for(r"service 'tls-soon' on \S+: (?:first result WARNING|OK -> WARNING "
                   r"\(hard, attempt 1/1\)): SSL WARNING - certificate for 127\.0\.0\.1 "
                   r"expires in 20 days")
        # A timeout takes the service's timeout_state: CRITICAL here.
        d.wait_for(r"service 'tls-silent' on \S+: (?:first result CRITICAL|OK -> CRITICAL "
                   r"\(hard, attempt 1/1\)): CRITICAL - timed out after 1 s")
        self.assertTrue(d.alive(), "tocsind exited:\n" + d.log())
        self.assertEqual(d.stop(), 0, "tocsind did not exit 0 on SIGTERM:\n" + d.log())


if __name__ == "__main__":
    unittest.main()
