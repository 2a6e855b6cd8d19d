"""The mysql check plugin against real MariaDB servers started for the
tests: its output, figures and thresholds, the custom query, TLS, the
failures people meet (wrong password, unknown database, a stopped
server, a port that never answers, something that is not a database),
replication seen from a real replica, the slow query and deadlock rates
and a custom query whose value is a counter across checks in the daemon,
and the same situations through the Monitoring Plugins' check_mysql and
check_mysql_query."""
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import tocsintest

from srv_mariadb import MariaDB
from tocsintest import (ConfDir, DaemonTest, NAGIOS_PLUGINS, check_config, free_port,
                        tocsin_check)
from tocsintest import STATES, show

PASSWORD = "Tocsin-pw-7c1e9a"
SESSIONS = 5
MAX_CONNECTIONS = 20
CHECK_MYSQL = os.path.join(NAGIOS_PLUGINS, "check_mysql")
CHECK_MYSQL_QUERY = os.path.join(NAGIOS_PLUGINS, "check_mysql_query")


def perfdata(out):
    """The perfdata of line 1 as {label: (value, uom, warn, crit)}."""
    items = {}
    for label, fields in tocsintest.perfdata(out).items():
        num = re.match(r"(-?[\d.]+(?:e[-+]?\d+)?)(.*)", fields[0])
        items[label] = (float(num.group(1)), num.group(2), fields[1], fields[2])
    return items


def nagios(*argv):
    """Run a Monitoring Plugins executable; return (exit code, output)."""
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


class Listener:
    """A TCP listener on loopback that either holds every connection
    without a word (answer=None) or sends `answer` and closes."""

    def __init__(self, answer=None):
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.answer is None:
                self.held.append(conn)
            else:
                try:
                    conn.sendall(self.answer)
                    time.sleep(0.1)
                finally:
                    conn.close()

    def close(self):
        # shutdown() wakes the accept() blocked in the thread.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
        for conn in self.held:
            conn.close()


class MySQLCase(unittest.TestCase):
    """Helpers shared by the classes below; `db` is the class's server."""

    db = None

    def check(self, *args, user="monitor", password=PASSWORD, timeout=None, port=None):
        argv = ["mysql", "--host", "127.0.0.1", "--port", str(port or self.db.port)]
        if user:
            argv += ["--user", user]
        if password is not None:
            argv += ["--password", password]
        argv += list(args)
        if timeout:
            argv += ["--timeout", timeout]
        rc, out, err = tocsin_check(*argv)
        self.assertNotIn(PASSWORD, out + err, "the password appeared in the output")
        return rc, out, err

    def expect(self, state, args=(), pattern=None, **kw):
        rc, out, err = self.check(*args, **kw)
        self.assertEqual(rc, STATES.index(state),
                         f"expected {state} for {args}; got {show(rc, out, err)}")
        if pattern:
            self.assertRegex(out.split("\n")[0], pattern,
                             f"unexpected first line for {args}; got {show(rc, out, err)}")
        return out


class Standalone(MySQLCase):
    """One server with TLS, a `monitor` user and an app.sessions table."""

    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB("mariadb", tls=True,
                         extra=[f"--max-connections={MAX_CONNECTIONS}"])
        try:
            cls.db.start()
            cls.db.sql(
                f"CREATE USER monitor@'%' IDENTIFIED BY '{PASSWORD}';"
                "GRANT SELECT, SLAVE MONITOR ON *.* TO monitor@'%';"
                "CREATE DATABASE app;"
                "CREATE TABLE app.sessions (id INT AUTO_INCREMENT PRIMARY KEY, "
                "user VARCHAR(32));"
                "INSERT INTO app.sessions (user) VALUES " +
                ", ".join(f"('u{i}')" for i in range(SESSIONS)) + ";")
        except BaseException:
            cls.db.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.db.stop()

    def test_ok_first_line_perfdata_and_details(self):
        rc, out, err = self.check()
        first = out.split("\n")[0]
        self.assertEqual(rc, 0, f"expected OK; got {show(rc, out, err)}")
        m = re.match(r"MYSQL OK - connected in [\d.]+ s, (\d+)/(\d+) connections "
                     r"\((\d+)%\), (\d+) running, uptime \d+[smhd] \|", first)
        self.assertTrue(m, f"unexpected first line: {first!r}")
        connected, maximum, pct = int(m.group(1)), int(m.group(2)), int(m.group(3))
        self.assertEqual(maximum, MAX_CONNECTIONS,
                         f"expected max_connections {MAX_CONNECTIONS}, got {maximum}")
        self.assertGreaterEqual(connected, 1, f"our own connection counts: {first!r}")
        self.assertEqual(pct, round(100 * connected / maximum), f"in {first!r}")
        perf = perfdata(out)
        self.assertEqual(set(perf), {"connect_time", "connections", "threads_running"},
                         f"unexpected perfdata labels in {first!r}")
        self.assertEqual(perf["connect_time"][1], "s", first)
        self.assertEqual(perf["connections"][1:], ("%", "80", "90"), first)
        self.assertAlmostEqual(perf["connections"][0], 100 * connected / maximum,
                               places=1, msg=first)
        self.assertGreaterEqual(perf["threads_running"][0], 1, first)
        self.assertIn("no rate yet: it starts at the next check", out,
                      f"the first check should say the slow query rate comes later: {out!r}")
        self.assertIn("replication: not a replica", out, out)
        self.assertIn("server 10.", out, f"expected the server version: {out!r}")

    def test_ok_through_the_unix_socket(self):
        rc, out, err = tocsin_check("mysql", "--socket", self.db.socket, "--user",
                                    "monitor", "--password", PASSWORD)
        self.assertEqual(rc, 0, f"expected OK over the socket; got {show(rc, out, err)}")
        self.assertIn(f"at socket {self.db.socket}", out, out)

    def test_password_from_file_and_environment(self):
        with tempfile.NamedTemporaryFile("w", prefix="tocsin-pw-") as f:
            f.write(PASSWORD + "\n")
            f.flush()
            self.expect("OK", ["--password_file", f.name], password=None)
        env = dict(os.environ, TOCSIN_TEST_MYSQL_PW=PASSWORD)
        rc, out, err = tocsin_check("mysql", "--port", str(self.db.port), "--user",
                                    "monitor", "--password_env", "TOCSIN_TEST_MYSQL_PW",
                                    env=env)
        self.assertEqual(rc, 0, f"expected OK with password_env; got {show(rc, out, err)}")

    def test_custom_query_thresholds_as_check_mysql_query(self):
        query = "SELECT COUNT(*) FROM app.sessions"
        cases = [("OK", "10", "20"), ("WARNING", "3", "20"), ("CRITICAL", "3", "4"),
                 ("CRITICAL", "", "4")]
        for state, warning, critical in cases:
            with self.subTest(warning=warning, critical=critical):
                args = ["--query", query, "--query_label", "sessions",
                        "--query_critical", critical]
                if warning:
                    args += ["--query_warning", warning]
                out = self.expect(state, args, rf"^MYSQL {state} - ")
                perf = perfdata(out)
                self.assertEqual(perf.get("sessions"), (SESSIONS, "", warning, critical),
                                 f"expected sessions={SESSIONS} in {out!r}")
                self.assertIn(f"sessions {SESSIONS}", out.split("\n")[0], out)
                nargs = [CHECK_MYSQL_QUERY, "-H", "127.0.0.1", "-P", str(self.db.port),
                         "-u", "monitor", "-p", PASSWORD, "-q", query, "-c", critical]
                if warning:
                    nargs += ["-w", warning]
                rc, text = nagios(*nargs)
                self.assertEqual(rc, STATES.index(state),
                                 f"check_mysql_query disagrees: {rc} {text!r}")

    def test_query_time_perfdata_and_ranges(self):
        out = self.expect("OK", ["--query", "SELECT COUNT(*) FROM app.sessions"])
        took = perfdata(out)["query_time"]
        self.assertEqual(took[1], "s", out)
        self.assertLess(took[0], 5, out)
        self.assertRegex(out, r"\nquery took [\d.]+ s\n", out)
        out = self.expect("WARNING", ["--query", "SELECT SLEEP(0.3)",
                                      "--query_time_warning", "0.2",
                                      "--query_time_critical", "5"],
                          r"^MYSQL WARNING - query took 0\.\d{3} s, ")
        took = perfdata(out)["query_time"]
        self.assertGreaterEqual(took[0], 0.3, out)
        self.assertEqual(took[2:], ("0.2", "5"), out)

    def test_custom_query_failures_as_check_mysql_query(self):
        cases = [
            ("SELEC COUNT(*) FROM app.sessions", "CRITICAL", r"query failed: .*SQL syntax"),
            ("SELECT id FROM app.sessions WHERE id < 0", "WARNING",
             r"query returned no rows"),
            ("SELECT user FROM app.sessions ORDER BY id", "CRITICAL",
             r"query returned a non-numeric value \(u0\)"),
            ("SELECT COUNT(*) FROM app.nosuchtable", "CRITICAL",
             r"query failed: Table 'app.nosuchtable' doesn't exist"),
        ]
        for query, state, pattern in cases:
            with self.subTest(query=query):
                self.expect(state, ["--query", query], rf"^MYSQL {state} - {pattern}")
                rc, text = nagios(CHECK_MYSQL_QUERY, "-H", "127.0.0.1", "-P",
                                  str(self.db.port), "-u", "monitor", "-p", PASSWORD,
                                  "-q", query)
                self.assertEqual(rc, STATES.index(state),
                                 f"check_mysql_query disagrees on {query!r}: {rc} {text!r}")

    def test_connections_thresholds_around_the_real_value(self):
        out = self.expect("OK")
        pct = perfdata(out)["connections"][0]
        below = f"{pct / 2:.2f}"
        self.expect("WARNING", ["--connections_warning", below],
                    r"^MYSQL WARNING - \d+/20 connections")
        self.expect("CRITICAL", ["--connections_critical", below],
                    r"^MYSQL CRITICAL - \d+/20 connections")
        self.expect("OK", ["--connections_warning", "99", "--connections_critical", "100"])

    def test_threads_running_and_connect_time_thresholds(self):
        # Our own SHOW GLOBAL STATUS is running while it is counted.
        self.expect("WARNING", ["--threads_running_warning", "0"],
                    r"^MYSQL WARNING - \d+ running")
        self.expect("CRITICAL", ["--connect_critical", "0"],
                    r"^MYSQL CRITICAL - connected in [\d.]+ s")
        self.expect("OK", ["--connect_warning", "30", "--threads_running_critical", "1000"])

    def test_wrong_password_as_check_mysql(self):
        wrong = "Tocsin-wrong-pw-55d2"
        rc, out, err = self.check(password=wrong)
        self.assertEqual((rc, out.split("\n")[0]),
                         (2, "MYSQL CRITICAL - authentication failed for user monitor"),
                         f"got {show(rc, out, err)}")
        self.assertNotIn(wrong, out + err, "the password appeared in the output")
        rc, text = nagios(CHECK_MYSQL, "-H", "127.0.0.1", "-P", str(self.db.port),
                          "-u", "monitor", "-p", wrong)
        self.assertEqual(rc, 2, f"check_mysql disagrees: {rc} {text!r}")

    def test_ok_as_check_mysql(self):
        self.expect("OK")
        rc, text = nagios(CHECK_MYSQL, "-H", "127.0.0.1", "-P", str(self.db.port),
                          "-u", "monitor", "-p", PASSWORD)
        self.assertEqual(rc, 0, f"check_mysql disagrees: {rc} {text!r}")

    def test_unknown_database(self):
        self.expect("CRITICAL", ["--database", "nosuchdb"],
                    r"^MYSQL CRITICAL - unknown database nosuchdb$")
        self.expect("OK", ["--database", "app", "--query", "SELECT COUNT(*) FROM sessions"],
                    rf", query {SESSIONS}, ")

    def test_refused_as_check_mysql(self):
        port = free_port()
        out = self.expect("CRITICAL", port=port)
        self.assertEqual(out.split("\n")[0],
                         f"MYSQL CRITICAL - connection refused to 127.0.0.1:{port}", out)
        rc, text = nagios(CHECK_MYSQL, "-H", "127.0.0.1", "-P", str(port), "-u", "monitor",
                          "-p", PASSWORD)
        self.assertEqual(rc, 2, f"check_mysql disagrees: {rc} {text!r}")

    def test_timeout_on_a_port_that_never_answers(self):
        silent = Listener()
        self.addCleanup(silent.close)
        t0 = time.monotonic()
        rc, out, err = self.check(port=silent.port, timeout="1s")
        took = time.monotonic() - t0
        self.assertEqual((rc, out.splitlines()[0] if out else ""),
                         (3, "UNKNOWN: plugin mysql timed out after 1 s"),
                         f"got {show(rc, out, err)}")
        self.assertLess(took, 2.5, f"the check took {took:.1f}s with a 1s timeout")

    def test_garbage_answer_as_check_mysql(self):
        garbage = Listener(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        self.addCleanup(garbage.close)
        out = self.expect("CRITICAL", port=garbage.port)
        self.assertRegex(out.split("\n")[0],
                         rf"^MYSQL CRITICAL - no valid answer from 127\.0\.0\.1:{garbage.port} "
                         r"\(is it a MariaDB or MySQL server\?\): Lost connection", out)
        rc, text = nagios(CHECK_MYSQL, "-H", "127.0.0.1", "-P", str(garbage.port))
        self.assertEqual(rc, 2, f"check_mysql disagrees: {rc} {text!r}")

    def test_tls(self):
        out = self.expect("OK", ["--tls", "true", "--ca_file", self.db.ca_file])
        self.assertRegex(out, r"\nTLS: \S+", f"expected the cipher in the details: {out!r}")
        self.expect("CRITICAL", ["--tls", "true"], r"^MYSQL CRITICAL - TLS with 127\.0\.0\.1:")
        out = self.expect("OK", ["--tls", "true", "--tls_verify", "false"])
        self.assertIn("\nTLS: ", out)
        out = self.expect("OK")
        self.assertNotIn("\nTLS: ", out, "TLS is off unless asked for")

    def test_option_errors_are_unknown(self):
        cases = [(["--query_warning", "10"], "need a 'query'"),
                 (["--port", "0"], "option 'port': 0 is not between 1 and 65535"),
                 (["--ca_file", "/etc/hostname"], "only used with tls = true"),
                 (["--connections_warning", "abc"], "connections_warning"),
                 (["--password_file", "/nonexistent/pw"], "/nonexistent/pw"),
                 (["--query_mode", "rate"], "option 'query_mode' needs a 'query'"),
                 (["--query", "SELECT 1", "--query_mode", "sum"],
                  "option 'query_mode': \"sum\" is not one of value, delta, rate"),
                 (["--rate_unit", "day"],
                  "option 'rate_unit': \"day\" is not one of second, minute, hour"),
                 (["--query_time_warning", "1"], "need a 'query' to time")]
        for args, message in cases:
            with self.subTest(args=args):
                rc, out, err = self.check(*args, password=None)
                self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
                self.assertIn(message, out + err, show(rc, out, err))

    def test_configuration_checked_with_file_and_line(self):
        conf = ConfDir("", {"db.conf": (
            'service "db" {\n'
            '    check = "mysql"\n'
            f'    port = {self.db.port}\n'
            '    query_warning = "10"\n'
            '}\n')})
        self.addCleanup(conf.cleanup)
        rc, out, err = check_config(conf.path)
        self.assertNotEqual(rc, 0, f"expected the configuration refused: {out!r} {err!r}")
        self.assertRegex(out + err, r"conf\.d/db\.conf:\d+: .*options 'query_warning' and "
                         r"'query_critical' need a 'query'", out + err)
        conf.write("db.conf", 'service "db" {\n    check = "mysql"\n'
                   f'    port = {self.db.port}\n    password = "{PASSWORD}"\n'
                   '    query = "SELECT 1"\n    query_warning = "10"\n}\n')
        rc, out, err = check_config(conf.path)
        self.assertEqual(rc, 0, f"expected a valid configuration: {out!r} {err!r}")
        self.assertNotIn(PASSWORD, out + err, "the password appeared in tocsind -t's output")
        conf.write("db.conf", 'service "db" {\n    check = "mysql"\n'
                   f'    port = {self.db.port}\n    query = "SELECT 1"\n'
                   '    query_mode = "rate"\n    rate_unit = "day"\n}\n')
        rc, out, err = check_config(conf.path)
        self.assertNotEqual(rc, 0, f"expected rate_unit = day refused: {out!r} {err!r}")
        self.assertRegex(out + err, r"conf\.d/db\.conf:\d+: .*option 'rate_unit': \"day\" "
                         r"is not one of second, minute, hour", out + err)


class ThroughTheDaemon(MySQLCase, DaemonTest):
    """The daemon keeps a service's samples in one worker: rates and
    deltas between its checks, the first of which samples twice,
    first_window apart."""

    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB("mariadb-daemon", extra=["--long-query-time=0"])
        try:
            cls.db.start()
            cls.db.sql(f"CREATE USER monitor@'%' IDENTIFIED BY '{PASSWORD}';"
                       "CREATE DATABASE app;"
                       "CREATE TABLE app.counter (id INT PRIMARY KEY, n BIGINT);"
                       "INSERT INTO app.counter VALUES (1, 1000);"
                       "CREATE TABLE app.locks (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;"
                       "INSERT INTO app.locks VALUES (1, 0), (2, 0);"
                       "GRANT SELECT ON app.* TO monitor@'%';")
        except BaseException:
            cls.db.stop()
            raise

    def service(self, name, *options):
        """A service checked once an hour: tocsinctl check runs it now."""
        return (f'service "{name}" {{\n    check = "mysql"\n    interval = 1h\n'
                f'    max_attempts = 1\n    port = {self.db.port}\n'
                f'    user = "monitor"\n    password = "{PASSWORD}"\n'
                '    first_window = 200ms\n' +
                "".join(f"    {o}\n" for o in options) + "}\n")

    def deadlock(self):
        """Two sessions lock rows 1 and 2 of app.locks in opposite orders;
        InnoDB kills one of them with ER_LOCK_DEADLOCK (1213)."""
        argv = self.db._client_argv()
        script = ("SET innodb_lock_wait_timeout = 20; BEGIN; "
                  "UPDATE app.locks SET v = v + 1 WHERE id = {0}; SELECT SLEEP(0.5); "
                  "UPDATE app.locks SET v = v + 1 WHERE id = {1}; COMMIT;")
        a = subprocess.Popen(argv + ["-e", script.format(1, 2)], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        b = subprocess.Popen(argv + ["-e", script.format(2, 1)], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = a.communicate(timeout=30)[1] + b.communicate(timeout=30)[1]
        self.assertIn("1213", err, f"expected one session to hit a deadlock: {err!r}")

    def test_query_delta_and_rate_of_a_counter_between_checks(self):
        query = 'query = "SELECT n FROM app.counter WHERE id = 1"'
        d = self.start("max_check_spread = 1s\n", {"db.conf": (
            self.service("delta", query, 'query_label = "jobs"', 'query_mode = "delta"',
                         'query_warning = "5"') +
            self.service("rate", query, 'query_label = "jobs"', 'query_mode = "rate"',
                         'rate_unit = "minute"'))})
        for name in ("delta", "rate"):
            # The first check already has a figure: two samples 200 ms apart.
            line = d.wait_for(rf"service '{name}' on \S+: first result OK: ", timeout=20)[0]
            self.assertEqual(perfdata(line.split(": ", 2)[2])["jobs"][0], 0, line)
        self.db.sql("UPDATE app.counter SET n = n + 7 WHERE id = 1")
        state, out = self.check_now("delta")
        self.assertEqual(state, "WARNING", f"7 more jobs against warning 5: {out!r}")
        self.assertRegex(out, r"^MYSQL WARNING - jobs \+7 in [\d.]+ s", out)
        self.assertEqual(perfdata(out)["jobs"][0], 7, out)
        state, out = self.check_now("rate")
        self.assertEqual(state, "OK", out)
        m = re.search(r"query value 1007 \(\+7 in ([\d.]+) s\)", out)
        self.assertTrue(m, f"expected the increase and its interval: {out!r}")
        rate = perfdata(out)["jobs"][0]
        self.assertAlmostEqual(rate, 7 / float(m.group(1)) * 60, delta=rate * 0.01 + 0.01,
                               msg=out)
        self.assertRegex(out, r"jobs [\d.]+/min", out)
        # The counter goes down (a table rebuilt, a restart): it counts from 0.
        self.db.sql("UPDATE app.counter SET n = 2 WHERE id = 1")
        state, out = self.check_now("delta")
        self.assertEqual(state, "OK", out)
        self.assertEqual(perfdata(out)["jobs"][0], 2, out)
        self.assertIn("query value 2 went back since the last check: counted from 0", out)
        self.assertTrue(d.alive(), "tocsind exited:\n" + d.log())

    def test_a_real_deadlock_is_counted(self):
        d = self.start("max_check_spread = 1s\n", {"db.conf": self.service(
            "db", 'deadlocks_warning = "0"', 'rate_unit = "minute"')})
        line = d.wait_for(r"service 'db' on \S+: first result OK: ", timeout=20)[0]
        perf = perfdata(line.split(": ", 2)[2])
        self.assertEqual(perf["deadlocks_rate"][:3], (0, "", "0"), line)
        before = int(self.db.status("Innodb_deadlocks"))
        self.deadlock()
        self.assertEqual(int(self.db.status("Innodb_deadlocks")), before + 1)
        state, out = self.check_now("db")
        self.assertEqual(state, "WARNING", f"one deadlock against warning 0: {out!r}")
        self.assertRegex(out, r"^MYSQL WARNING - [\d.]+ deadlocks/min", out)
        self.assertRegex(out, rf"Innodb_deadlocks {before + 1}; [\d.e+-]+ per min "
                              r"\(\+1 in [\d.]+ s\)", out)
        self.assertGreater(perfdata(out)["deadlocks_rate"][0], 0, out)
        # No deadlock since: back to 0 per minute.
        state, out = self.check_now("db")
        self.assertEqual(state, "OK", out)
        self.assertEqual(perfdata(out)["deadlocks_rate"][0], 0, out)

    @classmethod
    def tearDownClass(cls):
        cls.db.stop()

    def test_slow_query_rate_from_the_first_result_on(self):
        d = self.start("max_check_spread = 1s\n", {"db.conf": (
            'service "db" {\n'
            '    check = "mysql"\n'
            '    interval = 1s\n'
            '    max_attempts = 1\n'
            f'    port = {self.db.port}\n'
            '    user = "monitor"\n'
            f'    password = "{PASSWORD}"\n'
            '    slow_queries_warning = "0.01"\n'
            '}\n')}, level="debug")
        # Each check's own queries are slow with long_query_time = 0, and
        # the first check judges them between its two samples.
        # A first result that is a problem is logged as a hard change.
        line = d.wait_for(r"service 'db' on \S+: OK -> WARNING \(hard, attempt 1/1\): "
                          r"MYSQL WARNING - [\d.]+ slow queries/s", timeout=20)[0]
        self.assertEqual(d.count(r"service 'db' on \S+: first result"), 0,
                         "the first result already has the rate:\n" + d.log())
        rate = perfdata(line.split(": ", 2)[2])["slow_queries_rate"]
        self.assertGreater(rate[0], 0, line)
        self.assertLess(rate[0], 1000, line)
        self.assertEqual(rate[2], "0.01", line)
        self.assertTrue(d.alive(), "tocsind exited:\n" + d.log())
        d.stop()
        self.assertNotIn(PASSWORD, d.log(), "the password appeared in the daemon's log")


class Replication(MySQLCase):
    """A primary and a replica of it with a delay of an hour, fed one
    event stamped 1000 s in the past: the replica stays 1000 s behind."""

    LAG = 1000

    @classmethod
    def setUpClass(cls):
        cls.primary = MariaDB("mariadb-primary", server_id=1, binlog=True)
        cls.db = MariaDB("mariadb-replica", server_id=2)
        try:
            cls.primary.start()
            cls.db.start()
            users = (f"CREATE USER monitor@'%' IDENTIFIED BY '{PASSWORD}';"
                     "GRANT SELECT, SLAVE MONITOR ON *.* TO monitor@'%';"
                     "CREATE USER nopriv@'%' IDENTIFIED BY 'nopriv-pw';")
            cls.db.sql(users)
            # The replica starts after these: they are not replicated.
            cls.primary.sql(users + "CREATE USER repl@'%' IDENTIFIED BY 'repl-pw';"
                            "GRANT REPLICATION SLAVE ON *.* TO repl@'%';")
            log_file, log_pos = cls.primary.sql("SHOW MASTER STATUS").split("\t")[:2]
            cls.db.sql(f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', "
                       f"MASTER_PORT={cls.primary.port}, MASTER_USER='repl', "
                       f"MASTER_PASSWORD='repl-pw', MASTER_LOG_FILE='{log_file}', "
                       f"MASTER_LOG_POS={log_pos}, MASTER_DELAY=3600; START SLAVE;")
            cls.primary.sql(f"SET timestamp = UNIX_TIMESTAMP() - {cls.LAG};"
                            "CREATE DATABASE lagmark;")
            cls.wait_lag()
        except BaseException:
            cls.db.stop()
            cls.primary.stop()
            raise

    @classmethod
    def wait_lag(cls, timeout=30):
        deadline = time.monotonic() + timeout
        lag = None
        while time.monotonic() < deadline:
            rows = cls.db.rows("SHOW SLAVE STATUS")
            lag = rows[0].get("Seconds_Behind_Master") if rows else None
            if lag and lag.isdigit() and int(lag) >= cls.LAG - 5:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the replica did not fall {cls.LAG} s behind: "
                           f"Seconds_Behind_Master {lag!r}\n{cls.db.log()}")

    @classmethod
    def tearDownClass(cls):
        cls.db.stop()
        cls.primary.stop()

    def check_mysql_replica(self, *extra):
        return nagios(CHECK_MYSQL, "-H", "127.0.0.1", "-P", str(self.db.port), "-u",
                      "monitor", "-p", PASSWORD, "-S", *extra)

    def test_lag_against_default_thresholds_as_check_mysql(self):
        out = self.expect("CRITICAL", (), r"^MYSQL CRITICAL - replication lag \d+ s, connected")
        lag = perfdata(out)["replication_lag"]
        self.assertGreaterEqual(lag[0], self.LAG - 5, out)
        self.assertLess(lag[0], self.LAG + 120, out)
        self.assertEqual(lag[1:], ("s", "60", "300"), out)
        rc, text = self.check_mysql_replica("-w", "60", "-c", "300")
        self.assertEqual(rc, 2, f"check_mysql disagrees: {rc} {text!r}")

    def test_lag_thresholds_as_check_mysql(self):
        self.expect("WARNING", ["--replication_lag_warning", "10",
                                "--replication_lag_critical", "5000"],
                    r"^MYSQL WARNING - replication lag \d+ s")
        rc, text = self.check_mysql_replica("-w", "10", "-c", "5000")
        self.assertEqual(rc, 1, f"check_mysql disagrees: {rc} {text!r}")
        self.expect("OK", ["--replication_lag_warning", "4000",
                           "--replication_lag_critical", "5000"])
        rc, text = self.check_mysql_replica("-w", "4000", "-c", "5000")
        self.assertEqual(rc, 0, f"check_mysql disagrees: {rc} {text!r}")

    def test_stopped_replica_threads_as_check_mysql(self):
        self.addCleanup(self.wait_lag)
        self.addCleanup(self.db.sql, "START SLAVE")
        for thread in ("SQL", "IO"):
            with self.subTest(thread=thread):
                self.db.sql(f"STOP SLAVE {thread}_THREAD")
                out = self.expect("CRITICAL", ["--replication_lag_warning", "4000",
                                               "--replication_lag_critical", "5000"],
                                  rf"^MYSQL CRITICAL - replication {thread} thread not "
                                  r"running \(No\), connected")
                self.assertNotIn("replication_lag", perfdata(out), out)
                rc, text = self.check_mysql_replica("-w", "4000", "-c", "5000")
                self.assertEqual(rc, 2, f"check_mysql disagrees: {rc} {text!r}")
                self.db.sql("START SLAVE")

    def test_primary_reports_no_replication_figure(self):
        out = self.expect("OK", port=self.primary.port)
        self.assertNotIn("replication_lag", perfdata(out), out)
        self.assertIn("replication: not a replica", out)

    def test_replication_status_unreadable_is_no_alert(self):
        rc, out, err = tocsin_check("mysql", "--port", str(self.db.port), "--user",
                                    "nopriv", "--password", "nopriv-pw")
        self.assertEqual(rc, 0, f"expected OK; got {show(rc, out, err)}")
        self.assertIn("replication: status not readable by user nopriv", out, out)


class StoppedServer(MySQLCase):
    """A server that answers, then is stopped: refused on TCP, no socket."""

    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB("mariadb-stopped")
        try:
            cls.db.start()
            cls.db.sql(f"CREATE USER monitor@'%' IDENTIFIED BY '{PASSWORD}';")
        except BaseException:
            cls.db.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.db.stop()

    def test_stopped_server_as_check_mysql(self):
        port, sock = self.db.port, self.db.socket
        self.expect("OK")
        self.db.server.stop()
        out = self.expect("CRITICAL", port=port)
        self.assertEqual(out.split("\n")[0],
                         f"MYSQL CRITICAL - connection refused to 127.0.0.1:{port}", out)
        rc, out, err = tocsin_check("mysql", "--socket", sock, "--user", "monitor",
                                    "--password", PASSWORD)
        self.assertEqual((rc, out.split("\n")[0]),
                         (2, f"MYSQL CRITICAL - socket {sock} does not exist "
                             "(is the server running?)"), show(rc, out, err))
        rc, text = nagios(CHECK_MYSQL, "-H", "127.0.0.1", "-P", str(port), "-u", "monitor",
                          "-p", PASSWORD)
        self.assertEqual(rc, 2, f"check_mysql disagrees: {rc} {text!r}")


if __name__ == "__main__":
    unittest.main()
