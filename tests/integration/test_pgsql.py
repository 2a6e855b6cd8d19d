"""The pgsql check against a real PostgreSQL 15 (and a streaming standby of
it) on loopback: output and figures against what psql reads, thresholds on
connections, cache hit, replication lag and a custom query, the failures a
person must be told about (wrong password, missing database, stopped
server, no answer, not PostgreSQL), the same states as the Monitoring
Plugins' check_pgsql, and through the daemon the deadlock, rollback and
commit rates, the rollback ratio and a custom query whose value is a
counter, between checks.
No configured password may appear in any output or log."""
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from srv_postgres import PostgresServer
from tocsintest import NAGIOS_PLUGINS, DaemonTest, free_port, tocsin_check
from tocsintest import STATES, number, perfdata, show

PASSWORD = "Mon1tor-pw-7f3b9c"
CHECK_PGSQL = os.path.join(NAGIOS_PLUGINS, "check_pgsql")

OK_LINE = re.compile(r"^PGSQL OK - connected to postgres in (\d+\.\d{3}) s, "
                     r"(\d+)/(\d+) connections \((\d+)%\), cache hit (\d+\.\d)%")


def run_check_pgsql(*args):
    """check_pgsql from the Monitoring Plugins: (exit code, output)."""
    if not os.access(CHECK_PGSQL, os.X_OK):
        raise AssertionError(f"{CHECK_PGSQL} is missing: install monitoring-plugins-standard")
    p = subprocess.run([CHECK_PGSQL, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


class Listeners:
    """Two TCP listeners on loopback: one accepts and never answers, the
    other answers anything with an HTTP error."""

    def __init__(self):
        self.silent = socket.socket()
        self.silent.bind(("127.0.0.1", 0))
        self.silent.listen(16)
        self.garbage = socket.socket()
        self.garbage.bind(("127.0.0.1", 0))
        self.garbage.listen(16)
        self.stopping = False
        self.held = []
        threading.Thread(target=self._accept_silent, daemon=True).start()
        threading.Thread(target=self._answer_garbage, daemon=True).start()

    def _accept_silent(self):
        while not self.stopping:
            try:
                conn, _ = self.silent.accept()
            except OSError:
                return
            self.held.append(conn)

    def _answer_garbage(self):
        while not self.stopping:
            try:
                conn, _ = self.garbage.accept()
            except OSError:
                return
            try:
                conn.settimeout(2)
                conn.recv(1024)
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nthis is no database\r\n")
                time.sleep(0.1)
            except OSError:
                pass
            finally:
                conn.close()

    def close(self):
        self.stopping = True
        for s in [self.silent, self.garbage] + self.held:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class Pgsql(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PostgresServer(PASSWORD)
        try:
            cls.pg.start()
            cls.pg.start_standby()
        except BaseException:
            cls.pg.stop()
            raise
        cls.listeners = Listeners()

    @classmethod
    def tearDownClass(cls):
        cls.listeners.close()
        cls.pg.stop()

    # -- helpers -------------------------------------------------------

    def check(self, *args, port=None, want=None, auth=True, timeout=60):
        """Run the check on loopback as monitor; assert the exit code when
        `want` is given and that the password shows nowhere."""
        base = ["pgsql", "--port", str(port or self.pg.port)]
        if auth:
            base += ["--user", "monitor", "--password", PASSWORD]
        rc, out, err = tocsin_check(*base, *args, timeout=timeout)
        what = " ".join(args)
        if want is not None:
            self.assertEqual(rc, want, f"pgsql {what}: expected exit {want} "
                                       f"({STATES[want]}); got {show(rc, out, err)}")
        self.assertNotIn(PASSWORD, out + err, f"pgsql {what}: the password was shown")
        return rc, out, err

    def hold_sessions(self, n):
        """n idle psql sessions, closed at the end of the test."""
        sessions = [self.pg.psql_session() for _ in range(n)]
        for s in sessions:
            s.stdin.write("SELECT 1;\n")
            s.stdin.flush()
            s.stdout.readline()
            self.addCleanup(s.communicate, "\\q\n", 30)
        return sessions

    def client_backends(self):
        return int(self.pg.psql("SELECT count(*) FROM pg_stat_activity "
                                "WHERE backend_type = 'client backend'"))

    # -- a healthy server --------------------------------------------

    def test_ok_output_perfdata_and_connections_as_psql_counts_them(self):
        self.hold_sessions(3)
        # Backends of sessions that just ended may linger a moment.
        for _ in range(20):
            if self.client_backends() == 4:   # the three held and psql
                break
            time.sleep(0.1)
        rc, out, err = self.check(want=0)
        m = OK_LINE.match(out)
        self.assertIsNotNone(m, f"expected 'PGSQL OK - connected to postgres in N s, "
                                f"a/b connections (p%), cache hit h%'; got {out!r}")
        # Three held sessions and the check's own connection, of 20.
        self.assertEqual((m.group(2), m.group(3), m.group(4)), ("4", "20", "20"),
                         f"expected 4/20 connections (20%); got {out!r}")
        perf = perfdata(out)
        self.assertEqual(sorted(perf), ["cache_hit", "connect_time", "connections"],
                         f"expected perfdata connect_time, connections, cache_hit on a "
                         f"first check of a primary; got {out!r}")
        self.assertEqual(perf["connections"], ["20%", "80", "90", "0", "100"],
                         f"expected connections=20%;80;90;0;100; got {perf['connections']}")
        self.assertTrue(perf["connect_time"][0].endswith("s") and
                        perf["connect_time"][1:3] == ["2", "8"],
                        f"expected connect_time in s with thresholds 2 and 8 (check_pgsql's "
                        f"defaults); got {perf['connect_time']}")
        self.assertAlmostEqual(number(perf["connect_time"][0]), float(m.group(1)), delta=0.001)
        self.assertIn("primary", out, f"expected the long output to say primary; got {out!r}")
        self.assertIn("rates start at the next check", out,
                      f"expected the first check to say the rates start next time; got {out!r}")

    def test_cache_hit_matches_pg_stat_database_and_its_thresholds(self):
        sql = ("SELECT 100.0 * sum(blks_hit) / (sum(blks_hit) + sum(blks_read)) "
               "FROM pg_stat_database")
        before = float(self.pg.psql(sql))
        rc, out, err = self.check(want=0)
        after = float(self.pg.psql(sql))
        m = OK_LINE.match(out)
        self.assertIsNotNone(m, f"expected the OK line; got {out!r}")
        shown = float(m.group(5))
        self.assertTrue(min(before, after) - 0.2 <= shown <= max(before, after) + 0.2,
                        f"expected the cache hit between {before:.2f}% and {after:.2f}% as "
                        f"pg_stat_database has it; got {shown}% in {out!r}")
        self.assertEqual(perfdata(out)["cache_hit"][1:], ["", "", "0", "100"],
                         f"expected no cache-hit thresholds by default; got {out!r}")
        # Alert below 100.1 %: always; critical below 0: never.
        rc, out, err = self.check("--cache_hit_warning", "100.1:", "--cache_hit_critical", "0:",
                                  want=1)
        self.assertRegex(out, r"^PGSQL WARNING - .*cache hit \d+\.\d% \(warning\)",
                         "expected the cache hit marked as the warning")
        self.assertEqual(perfdata(out)["cache_hit"][1:3], ["100.1:", "0:"],
                         f"expected the ranges in the perfdata; got {out!r}")
        rc, out, err = self.check("--cache_hit_critical", "@0:100", want=2)
        self.assertRegex(out, r"^PGSQL CRITICAL - .*cache hit \d+\.\d% \(critical\)",
                         "expected the cache hit marked as critical")

    def test_connections_thresholds(self):
        self.hold_sessions(3)          # at least 4 of 20: 20 %
        rc, out, err = self.check("--connections_warning", "15", "--connections_critical", "60",
                                  want=1)
        self.assertRegex(out, r"^PGSQL WARNING - .* \d+/20 connections \(\d+%, warning\)",
                         f"expected the connections marked as the warning; got {out!r}")
        self.assertEqual(perfdata(out)["connections"][1:3], ["15", "60"],
                         f"expected the ranges in the perfdata; got {out!r}")
        rc, out, err = self.check("--connections_critical", "15", want=2)
        self.assertRegex(out, r"^PGSQL CRITICAL - .* connections \(\d+%, critical\)",
                         f"expected the connections marked critical; got {out!r}")

    def test_custom_query_thresholds_and_label(self):
        q = ("--query", "SELECT count(*) FROM items", "--query_label", "items")
        for args, want in ((("--query_warning", "200"), 0),
                           (("--query_warning", "50", "--query_critical", "200"), 1),
                           (("--query_warning", "50", "--query_critical", "90"), 2),
                           (("--query_critical", "@100:100"), 2)):
            with self.subTest(args=args):
                rc, out, err = self.check(*q, *args, want=want)
                self.assertRegex(out, rf"^PGSQL {STATES[want]} - connected .*, items 100",
                                 f"expected the figure 'items 100'; got {out!r}")
                self.assertEqual(perfdata(out)["items"][0], "100",
                                 f"expected perfdata items=100; got {out!r}")
        # A second column is explained in the long output.
        rc, out, err = self.check("--query", "SELECT count(*), 'rows in items' FROM items",
                                  want=0)
        self.assertIn("\nquery: rows in items", out,
                      f"expected the second column in the long output; got {out!r}")

    def test_custom_query_problems(self):
        for sql, want, text in (
                ("SELECT * FROM no_such_table", 2,
                 'query failed: relation "no_such_table" does not exist'),
                ("SELECT 'many'", 2, 'query returned "many", not a number'),
                ("SELECT NULL", 2, "query returned NULL, not a number"),
                ("SELECT 1 WHERE false", 1, "query returned no rows"),
                ("UPDATE items SET v = v WHERE id = 0", 2, "query returned no result")):
            with self.subTest(sql=sql):
                rc, out, err = self.check("--query", sql, want=want)
                self.assertTrue(out.startswith(f"PGSQL {STATES[want]} - {text}"),
                                f"expected 'PGSQL {STATES[want]} - {text}...'; got {out!r}")
                self.assertIn("connected to postgres in", out,
                              f"expected the other figures after the problem; got {out!r}")

    def test_password_from_file_and_environment_and_socket(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(PASSWORD + "\n")
        self.addCleanup(os.unlink, f.name)
        rc, out, err = self.check("--user", "monitor", "--password_file", f.name,
                                  auth=False, want=0)
        env = dict(os.environ, PG_MONITOR_PW=PASSWORD)
        rc, out, err = tocsin_check("pgsql", "--port", str(self.pg.port), "--user", "monitor",
                                    "--password_env", "PG_MONITOR_PW", env=env)
        self.assertEqual(rc, 0, f"expected OK with password_env; got {show(rc, out, err)}")
        # The socket directory trusts: no password needed.
        rc, out, err = self.check("--host", self.pg.dir, "--user", "monitor", auth=False,
                                  want=0)
        self.assertTrue(out.startswith("PGSQL OK - connected to postgres"),
                        f"expected OK over the unix socket; got {out!r}")

    def test_conninfo(self):
        ci = f"host=127.0.0.1 port={self.pg.port} dbname=postgres user=monitor"
        rc, out, err = tocsin_check("pgsql", "--conninfo", f"{ci} password={PASSWORD}")
        self.assertEqual(rc, 0, f"expected OK with conninfo; got {show(rc, out, err)}")
        rc, out, err = tocsin_check("pgsql", "--conninfo", ci, "--password", PASSWORD)
        self.assertEqual(rc, 0, f"expected OK with conninfo and password; got "
                                f"{show(rc, out, err)}")
        rc, out, err = tocsin_check("pgsql", "--conninfo", f"{ci} password={PASSWORD}x")
        self.assertEqual((rc, out.split("\n")[0]),
                         (2, "PGSQL CRITICAL - authentication failed for user monitor"),
                         f"expected CRITICAL authentication failed; got {show(rc, out, err)}")
        self.assertNotIn(PASSWORD, out + err, "the password inside conninfo was shown")
        # Malformed: refused without echoing the string.
        rc, out, err = tocsin_check("pgsql", "--conninfo", f"{ci} password {PASSWORD}")
        self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
        self.assertIn("conninfo", out, f"expected the message to name conninfo; got {out!r}")
        self.assertNotIn(PASSWORD, out + err, "the malformed conninfo was echoed")
        rc, out, err = tocsin_check("pgsql", "--conninfo", ci, "--port", "5433")
        self.assertEqual(rc, 3, f"expected UNKNOWN for conninfo with port; got "
                                f"{show(rc, out, err)}")
        self.assertIn("alternatives", out, f"expected the message to say why; got {out!r}")

    def test_bad_options_are_unknown(self):
        for args, why in ((("--sslmode", "sometimes"), r"sslmode.*disable, prefer, require"),
                          (("--port", "70000"), r"port.*70000"),
                          (("--query_warning", "5"), r"need option 'query'"),
                          (("--connections_warning", "lots"), r"connections_warning"),
                          (("--password", "a", "--password_env", "B"), r"one way"),
                          (("--ca_file", "/nonexistent/ca.pem"), r"ca_file.*/nonexistent")):
            with self.subTest(args=args):
                rc, out, err = tocsin_check("pgsql", *args)
                self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
                self.assertRegex(out, r"^UNKNOWN: .*" + why, "expected the reason")

    # -- failures ------------------------------------------------------

    def test_wrong_password(self):
        wrong = PASSWORD + "-wrong"
        rc, out, err = tocsin_check("pgsql", "--port", str(self.pg.port), "--user", "monitor",
                                    "--password", wrong)
        self.assertEqual((rc, out.split("\n")[0]),
                         (2, "PGSQL CRITICAL - authentication failed for user monitor"),
                         f"expected CRITICAL authentication failed; got {show(rc, out, err)}")
        self.assertNotIn(wrong, out + err, "the wrong password was shown")
        self.assertNotIn(PASSWORD, self.pg.server.output(), "the password reached the server log")
        rc, out, err = self.check("--user", "monitor", auth=False, want=2)
        self.assertIn("none is configured", out, f"expected 'no password' said; got {out!r}")
        rc2, out2 = run_check_pgsql("-H", "127.0.0.1", "-P", str(self.pg.port), "-d", "postgres",
                                    "-l", "monitor", "-p", wrong)
        self.assertEqual(rc2, 2, f"check_pgsql with a wrong password: expected CRITICAL like "
                                 f"ours; got exit {rc2}: {out2!r}")

    def test_tls_required_by_a_server_without_it(self):
        rc, out, err = self.check("--sslmode", "require", want=2)
        self.assertRegex(out, rf"^PGSQL CRITICAL - cannot connect to 127.0.0.1:{self.pg.port}: "
                              r"server does not support SSL",
                         f"expected the missing TLS named; got {out!r}")

    def test_nonexistent_database(self):
        rc, out, err = self.check("--database", "nosuchdb", want=2)
        self.assertEqual(out.split("\n")[0], 'PGSQL CRITICAL - database "nosuchdb" does not exist',
                         f"expected the missing database named; got {out!r}")

    def test_stopped_server_and_closed_port(self):
        closed = free_port()
        rc, out, err = self.check(port=closed, want=2)
        self.assertEqual(out.split("\n")[0],
                         f"PGSQL CRITICAL - connection refused to 127.0.0.1:{closed}",
                         f"expected connection refused; got {out!r}")
        rc2, out2 = run_check_pgsql("-H", "127.0.0.1", "-P", str(closed), "-l", "monitor",
                                    "-p", PASSWORD)
        self.assertEqual(rc2, 2, f"check_pgsql on a closed port: expected CRITICAL; "
                                 f"got {rc2}: {out2!r}")
        # The standby, stopped, then started again for the other tests.
        port = self.pg.standby_port
        self.pg.stop_standby()
        try:
            rc, out, err = self.check(port=port, want=2)
            self.assertEqual(out.split("\n")[0],
                             f"PGSQL CRITICAL - connection refused to 127.0.0.1:{port}",
                             f"expected connection refused from the stopped server; got {out!r}")
        finally:
            self.pg.restart_standby()

    def test_timeout_on_a_silent_listener(self):
        port = self.listeners.silent.getsockname()[1]
        t0 = time.monotonic()
        rc, out, err = tocsin_check("--timeout", "1s", "pgsql", "--port", str(port),
                                    "--user", "monitor", "--password", PASSWORD)
        took = time.monotonic() - t0
        self.assertEqual(rc, 3, f"expected UNKNOWN on timeout; got {show(rc, out, err)}")
        self.assertRegex(out, r"timed out", f"expected the output to say it timed out")
        self.assertLess(took, 2.5, f"expected a return within ~2 s of a 1 s timeout; "
                                   f"took {took:.1f} s")
        self.assertNotIn(PASSWORD, out + err)

    def test_timeout_in_a_query_and_the_server_gives_up_too(self):
        t0 = time.monotonic()
        rc, out, err = self.check("--timeout", "1s", "--query", "SELECT pg_sleep(30)", want=3)
        took = time.monotonic() - t0
        self.assertRegex(out, r"timed out", "expected the output to say it timed out")
        self.assertLess(took, 2.5, f"expected a return within ~2 s; took {took:.1f} s")
        # statement_timeout was set from the time left: the query ends soon.
        sql = ("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' "
               "AND state = 'active'")
        deadline = time.monotonic() + 5
        while self.pg.psql(sql) != "0":
            self.assertLess(time.monotonic(), deadline, "expected the server to stop the "
                            "query at statement_timeout; it still runs after 5 s")
            time.sleep(0.2)

    def test_garbage_answer(self):
        port = self.listeners.garbage.getsockname()[1]
        for tls in ("prefer", "disable"):
            with self.subTest(tls=tls):
                rc, out, err = self.check("--sslmode", tls, port=port, want=2)
                self.assertTrue(out.startswith(f"PGSQL CRITICAL - unexpected answer from "
                                               f"127.0.0.1:{port} (is it a PostgreSQL server?)"),
                                f"expected 'unexpected answer'; got {out!r}")
        rc2, out2 = run_check_pgsql("-H", "127.0.0.1", "-P", str(port), "-l", "monitor",
                                    "-p", PASSWORD)
        self.assertEqual(rc2, 2, f"check_pgsql against garbage: expected CRITICAL; "
                                 f"got {rc2}: {out2!r}")

    # -- replication ----------------------------------------------------

    def test_standby_reports_replication_lag_primary_does_not(self):
        rc, out, err = self.check(port=self.pg.standby_port, want=0)
        self.assertRegex(out, r"^PGSQL OK - connected to postgres in [\d.]+ s, .*, "
                              r"replication lag \d+\.\d s",
                         f"expected the replication lag on the standby; got {out!r}")
        perf = perfdata(out)
        self.assertIn("replication_lag", perf, f"expected replication_lag perfdata; got {out!r}")
        self.assertTrue(perf["replication_lag"][0].endswith("s") and
                        perf["replication_lag"][1:4] == ["60", "300", "0"],
                        f"expected replication_lag in s with 60/300; got {perf['replication_lag']}")
        self.assertGreaterEqual(number(perf["replication_lag"][0]), 0)
        self.assertIn("standby", out, f"expected the long output to say standby; got {out!r}")
        rc, out, err = self.check("--replication_lag_warning", "@0:100000",
                                  port=self.pg.standby_port, want=1)
        self.assertRegex(out, r"replication lag \d+\.\d s \(warning\)",
                         f"expected the lag marked as the warning; got {out!r}")
        rc, out, err = self.check(want=0)
        self.assertNotIn("replication_lag", perfdata(out),
                         f"expected no replication lag on the primary; got {out!r}")
        self.assertNotIn("replication lag", out)

    # -- the Monitoring Plugins ----------------------------------------

    def test_same_states_as_check_pgsql(self):
        base = ["-H", "127.0.0.1", "-P", str(self.pg.port), "-d", "postgres", "-l", "monitor",
                "-p", PASSWORD]
        cases = [
            ((), ()),
            (("-q", "SELECT count(*) FROM items", "-W", "200"),
             ("--query", "SELECT count(*) FROM items", "--query_warning", "200")),
            (("-q", "SELECT count(*) FROM items", "-W", "50"),
             ("--query", "SELECT count(*) FROM items", "--query_warning", "50")),
            (("-q", "SELECT count(*) FROM items", "-W", "50", "-C", "90"),
             ("--query", "SELECT count(*) FROM items", "--query_warning", "50",
              "--query_critical", "90")),
            (("-q", "SELECT count(*) FROM items", "-C", "100:"),
             ("--query", "SELECT count(*) FROM items", "--query_critical", "100:")),
            (("-q", "SELECT * FROM no_such_table"), ("--query", "SELECT * FROM no_such_table")),
            (("-q", "SELECT 1 WHERE false"), ("--query", "SELECT 1 WHERE false")),
            (("-q", "SELECT 'many'"), ("--query", "SELECT 'many'")),
            (("-d", "nosuchdb"), ("--database", "nosuchdb")),
        ]
        for theirs, ours in cases:
            with self.subTest(check_pgsql=" ".join(theirs)):
                rc_theirs, out_theirs = run_check_pgsql(*base, *theirs)
                rc, out, err = self.check(*ours)
                self.assertEqual(rc, rc_theirs,
                                 f"check_pgsql {' '.join(theirs)} gave {rc_theirs} "
                                 f"({out_theirs.strip()!r}); pgsql {' '.join(ours)} gave "
                                 f"{show(rc, out, err)}")


class PgsqlDaemon(DaemonTest):
    """Two checks or more in one worker: the rates of rollbacks and
    deadlocks caused between them, commits and the rollback ratio, and a
    counter read by a custom query."""

    @classmethod
    def setUpClass(cls):
        cls.pg = PostgresServer(PASSWORD)
        try:
            cls.pg.start()
            cls.pg.psql("CREATE TABLE counter (id int PRIMARY KEY, n bigint);"
                        "INSERT INTO counter VALUES (1, 500);"
                        "GRANT SELECT ON counter TO monitor;")
        except BaseException:
            cls.pg.stop()
            raise

    def service(self, name, *options):
        """A service checked once an hour: check_now() runs it now."""
        return (f'service "{name}" {{\n    check = "pgsql"\n    interval = 1h\n'
                f'    max_attempts = 1\n    port = {self.pg.port}\n'
                f'    user = "monitor"\n    password = "{PASSWORD}"\n'
                '    first_window = 200ms\n' +
                "".join(f"    {o}\n" for o in options) + "}\n")

    def rollbacks_counted(self, sql, more):
        """Run `sql` in a session of its own, then wait until
        pg_stat_database counts `more` rollbacks: a backend reports its
        counters as it exits, a moment after psql returns."""
        query = "SELECT sum(xact_rollback) FROM pg_stat_database"
        before = int(self.pg.psql(query))
        self.pg.psql(sql)
        deadline = time.monotonic() + 10
        while int(self.pg.psql(query)) < before + more:
            self.assertLess(time.monotonic(), deadline,
                            f"pg_stat_database never counted {more} more rollbacks")
            time.sleep(0.05)

    def interval_counts(self, out):
        """(seconds, deadlocks, rollbacks, commits) of the long output."""
        m = re.search(r"over the last ([\d.]+) s: (\d+) deadlocks, (\d+) rollbacks, "
                      r"(\d+) commits", out)
        self.assertTrue(m, f"expected the counts over the interval; got {out!r}")
        return float(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))

    def test_commits_and_rollback_ratio_with_min_transactions(self):
        d = self.start("max_check_spread = 1s\n", {"pg.conf": self.service(
            "pg", 'rate_unit = "minute"', 'rollback_ratio_warning = "20"',
            'rollback_ratio_critical = "50"', "min_transactions = 20")})
        d.wait_for(r"service 'pg' on \S+: first result OK: PGSQL OK - .*commits/min.*"
                   r"commits_rate=[\d.]+;;;0", timeout=30)
        # 30 commits and 10 rollbacks, plus the few transactions of the
        # previous check's own session and of the psql that wait for the
        # statistics: a ratio between 10/50 and 10/40.
        self.rollbacks_counted("BEGIN; SELECT 1; COMMIT;" * 30 +
                               "BEGIN; SELECT 1; ROLLBACK;" * 10, 10)
        state, out = self.check_now("pg")
        span, _, rollbacks, commits = self.interval_counts(out)
        self.assertEqual(rollbacks, 10, out)
        self.assertTrue(30 <= commits < 40, f"expected 30 commits and a few: {out!r}")
        perf = perfdata(out)
        ratio = round(100 * rollbacks / (rollbacks + commits), 2)
        self.assertEqual(perf["rollback_ratio"], [f"{ratio:g}%", "20", "50", "0", "100"],
                         out)
        self.assertEqual(state, "WARNING", f"a ratio of {ratio}% against 20: {out!r}")
        self.assertRegex(out, rf"^PGSQL WARNING - .*, rollback ratio {ratio:.1f}% "
                              r"\(warning\)", out)
        self.assertAlmostEqual(number(perf["commits_rate"][0]), commits / span * 60,
                               delta=0.01 * commits / span * 60, msg=out)
        self.assertRegex(out, r", [\d.]+ commits/min", out)
        # One rollback and the previous check's own commits: too few
        # transactions for the ratio to judge, however high it is.
        self.rollbacks_counted("BEGIN; SELECT 1; ROLLBACK;", 1)
        state, out = self.check_now("pg")
        _, _, rollbacks, commits = self.interval_counts(out)
        self.assertEqual(rollbacks, 1, out)
        self.assertLess(rollbacks + commits, 20, out)
        self.assertEqual(state, "OK", f"below min_transactions: {out!r}")
        self.assertRegex(out, r"\nrollback ratio [\d.]+% not judged: \d+ transactions "
                              r"since the last check, min_transactions 20", out)
        self.assertNotIn("rollback ratio", out.split("|")[0], out)
        self.assertNotIn(PASSWORD, d.log(), "the password appeared in the daemon's log")

    def test_query_delta_and_rate_of_a_counter(self):
        query = 'query = "SELECT n FROM counter WHERE id = 1"'
        d = self.start("max_check_spread = 1s\n", {"pg.conf": (
            self.service("delta", query, 'query_label = "events"', 'query_mode = "delta"',
                         'query_critical = "10"') +
            self.service("rate", query, 'query_label = "events"', 'query_mode = "rate"',
                         'rate_unit = "minute"', 'query_time_warning = "5"'))})
        for name in ("delta", "rate"):
            line = d.wait_for(rf"service '{name}' on \S+: first result OK: ", timeout=30)[0]
            self.assertEqual(perfdata(line.split(": ", 2)[2])["events"][0], "0", line)
        self.pg.psql("UPDATE counter SET n = n + 12 WHERE id = 1")
        state, out = self.check_now("delta")
        self.assertEqual(state, "CRITICAL", f"12 more events against critical 10: {out!r}")
        self.assertRegex(out, r"^PGSQL CRITICAL - .*, events \+12 in [\d.]+ s \(critical\)",
                         out)
        self.assertEqual(perfdata(out)["events"][:3], ["12", "", "10"], out)
        state, out = self.check_now("rate")
        self.assertEqual(state, "OK", out)
        m = re.search(r"query value 512 \(\+12 in ([\d.]+) s\)", out)
        self.assertTrue(m, f"expected the increase and its interval: {out!r}")
        perf = perfdata(out)
        rate = number(perf["events"][0])
        self.assertAlmostEqual(rate, 12 / float(m.group(1)) * 60, delta=rate * 0.01, msg=out)
        self.assertTrue(perf["query_time"][0].endswith("s") and perf["query_time"][1] == "5",
                        out)
        self.assertLess(number(perf["query_time"][0]), 5, out)
        # A counter that goes down counts from 0 again.
        self.pg.psql("UPDATE counter SET n = 3 WHERE id = 1")
        state, out = self.check_now("delta")
        self.assertEqual(state, "OK", out)
        self.assertEqual(perfdata(out)["events"][0], "3", out)
        self.assertIn("query value 3 went back since the last check: counted from 0", out)

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def cause_deadlock(self):
        """Two sessions that update rows 1 and 2 in opposite orders."""
        a, b = self.pg.psql_session(), self.pg.psql_session()
        try:
            for s, row in ((a, 1), (b, 2)):
                s.stdin.write(f"BEGIN; UPDATE items SET v = v + 1 WHERE id = {row}; "
                              "SELECT 'locked';\n")
                s.stdin.flush()
                self.assertEqual(s.stdout.readline().strip(), "locked")
            a.stdin.write("UPDATE items SET v = v + 1 WHERE id = 2;\n")
            a.stdin.flush()
            time.sleep(0.3)                  # a now waits for b
            b.stdin.write("UPDATE items SET v = v + 1 WHERE id = 1;\n")
            b.stdin.flush()
        finally:
            _, err_a = a.communicate("ROLLBACK;\n\\q\n", timeout=30)
            _, err_b = b.communicate("ROLLBACK;\n\\q\n", timeout=30)
        self.assertIn("deadlock detected", err_a + err_b,
                      f"expected one session to hit a deadlock; stderr {err_a!r} {err_b!r}")

    def test_rates_of_rollbacks_and_deadlocks_between_checks(self):
        files = {"pg.conf": (
            'service "pg" {\n'
            '    check = "pgsql"\n'
            '    interval = 1s\n'
            f'    port = {self.pg.port}\n'
            '    user = "monitor"\n'
            f'    password = "{PASSWORD}"\n'
            '    rollbacks_warning = "5"\n'
            '    deadlocks_critical = "0"\n'
            '    max_attempts = 1\n'
            '}\n')}
        d = self.start("max_check_spread = 1s\n", files, level="debug")
        # Ranges on the rates: the first check samples twice, first_window
        # apart, and has them already.
        first = d.wait_for(r"service 'pg' on \S+: first result OK: PGSQL OK - connected to "
                           r"postgres in ", timeout=30)
        self.assertIn("rollbacks_rate", first[0],
                      f"expected the rates on the first check; got {first[0]!r}")
        d.wait_for(r"service 'pg'.*PGSQL OK .*deadlocks_rate=0;;0;0 rollbacks_rate=0;5;;0",
                   timeout=30)
        # 30 rolled-back transactions between two checks: about 30/s.
        self.pg.psql("BEGIN; SELECT 1; ROLLBACK;" * 30)
        lines = d.wait_for(r"service 'pg'.*PGSQL WARNING .*rollbacks/s \(warning\)"
                           r".*rollbacks_rate=(?!0;)[\d.]+;5;;0", timeout=30)
        self.assertRegex(lines[0], r"WARNING|OK -> WARNING",
                         f"expected WARNING from the rollback rate; got {lines[0]!r}")
        self.cause_deadlock()
        lines = d.wait_for(r"service 'pg'.*PGSQL CRITICAL .*deadlocks/s \(critical\)"
                           r".*deadlocks_rate=(?!0;)[\d.]+;;0;0", timeout=30)
        self.assertTrue(d.alive(), "tocsind exited:\n" + d.log())
        self.assertNotIn(PASSWORD, d.log(), "the password appeared in the daemon's log")
        d.stop()
        self.assertNotIn(PASSWORD, d.log(), "the password appeared in the daemon's log")


if __name__ == "__main__":
    unittest.main()
