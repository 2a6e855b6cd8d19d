"""The redis check against real redis-server instances on loopback: its
output, perfdata and thresholds (clients, memory % of maxmemory, latency,
role), authentication with the default user and an ACL user, a replica
whose master goes away, the hit ratio and rejected connections between
two checks of the daemon, and servers that refuse, hang or answer
garbage, compared with check_tcp where it can tell the same thing."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from srv_redis import RedisServer
from tocsintest import DaemonTest, NAGIOS_PLUGINS, free_port, tocsin_check
from tocsintest import STATES, number, perfdata, show

PASSWORD = "Tocsin-redis-pw-7f3a"
CHECK_TCP = os.path.join(NAGIOS_PLUGINS, "check_tcp")


def check_tcp(port, send="PING\\r\\n"):
    """check_tcp against a Redis port, as one would watch Redis with the
    Monitoring Plugins; returns (exit code, output)."""
    if not os.access(CHECK_TCP, os.X_OK):
        raise AssertionError(f"{CHECK_TCP} is missing: install monitoring-plugins-basic")
    p = subprocess.run([CHECK_TCP, "-H", "127.0.0.1", "-p", str(port), "-t", "5",
                        "-E", "-s", send, "-e", "+PONG"],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout


class FakeServer:
    """A TCP listener on loopback that answers every chunk it receives
    with `answer` (bytes, or a function of the chunk returning bytes), or
    never answers when `answer` is None."""

    def __init__(self, answer):
        self.answer = answer
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _serve(self, conn):
        conn.settimeout(0.2)
        while not self.done.is_set():
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            if self.answer is not None:
                answer = self.answer(data) if callable(self.answer) else self.answer
                try:
                    conn.sendall(answer)
                except OSError:
                    return

    def _run(self):
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def close(self):
        self.done.set()
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


class RedisCase(unittest.TestCase):
    server = None

    def redis(self, *args, password=PASSWORD, port=None, timeout=None):
        """tocsin-check redis against the class's server."""
        argv = []
        if timeout:
            argv += ["--timeout", timeout]
        argv += ["redis", "--port", str(port or self.server.port)]
        if password is not None:
            argv += ["--password", password]
        rc, out, err = tocsin_check(*argv, *args)
        self.assertNotIn(PASSWORD, out + err, "the password appeared in the output")
        return rc, out, err

    def expect(self, state, args, pattern, **kw):
        rc, out, err = self.redis(*args, **kw)
        self.assertEqual(rc, STATES.index(state),
                         f"redis {' '.join(args)}: expected {state}; got {show(rc, out, err)}")
        self.assertRegex(out.split("\n")[0], pattern,
                         f"redis {' '.join(args)}: unexpected first line")
        return out


class Standalone(RedisCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RedisServer(PASSWORD)
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_ok_output_perfdata_and_long_output(self):
        out = self.expect("OK", (), r"^REDIS OK - PONG in \d+\.\d+ ms, \d+ clients?, "
                          r"memory [\d.]+ (B|KB|MB) \(no maxmemory set\), role master \| ")
        perf = perfdata(out)
        for label, uom in (("latency", "s"), ("clients", ""), ("used_memory", "B"),
                           ("hit_ratio", "%"), ("rejected_connections", "c")):
            self.assertIn(label, perf, f"expected perfdata {label}; got {out!r}")
            self.assertRegex(perf[label][0], rf"^(-?[\d.]+|U){re.escape(uom)}$",
                             f"expected {label} in {uom or 'no unit'}; got {perf[label]}")
        self.assertNotIn("memory", perf, "no memory % without maxmemory; got " + out)
        self.assertEqual(perf["hit_ratio"][0], "U%",
                         "a single run cannot measure a hit ratio; got " + out)
        self.assertLess(number(perf["latency"][0]), 1.0, "PING took over a second: " + out)
        info = self.server.info()
        self.assertEqual(perf["clients"][4], info["maxclients"],
                         f"expected max = maxclients {info['maxclients']}; got {perf['clients']}")
        used = int(info["used_memory"])
        self.assertLess(abs(number(perf["used_memory"][0]) - used), used * 0.2,
                        f"expected used_memory near {used}; got {perf['used_memory']}")
        self.assertIn("replication: master with 0 connected replicas", out)
        self.assertIn("start at the next check", out,
                      "expected the long output to say the hit ratio starts later")

    def test_unix_socket(self):
        rc, out, err = tocsin_check("redis", "--socket", self.server.socket_path,
                                    "--password", PASSWORD)
        self.assertEqual(rc, 0, f"expected OK over the unix socket; got {show(rc, out, err)}")
        self.assertTrue(out.startswith("REDIS OK - PONG in "), out)
        rc, out, err = tocsin_check("redis", "--socket", self.server.socket_path + ".none",
                                    "--password", PASSWORD)
        self.assertEqual(rc, 2, f"expected CRITICAL for a missing socket; got {show(rc, out, err)}")
        self.assertRegex(out, r"^REDIS CRITICAL - cannot connect to \S+\.none: No such file")

    def test_password_from_file_and_environment(self):
        d = tempfile.mkdtemp(prefix="tocsin-redis-secret-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "secret")
        with open(path, "w") as f:
            f.write(PASSWORD + "\n")
        rc, out, err = tocsin_check("redis", "--port", str(self.server.port),
                                    "--password_file", path)
        self.assertEqual(rc, 0, f"expected OK with password_file; got {show(rc, out, err)}")
        env = dict(os.environ, TOCSIN_TEST_REDIS_PW=PASSWORD)
        rc, out, err = tocsin_check("redis", "--port", str(self.server.port),
                                    "--password_env", "TOCSIN_TEST_REDIS_PW", env=env)
        self.assertEqual(rc, 0, f"expected OK with password_env; got {show(rc, out, err)}")
        self.assertNotIn(PASSWORD, out + err)

    def test_clients_thresholds(self):
        socks = []
        try:
            for _ in range(12):
                socks.append(socket.create_connection(("127.0.0.1", self.server.port)))
            self.server.wait_info(lambda i: int(i["connected_clients"]) >= 13,
                                  "the 12 test connections counted")
            out = self.expect("WARNING", ("--clients_warning", "10", "--clients_critical", "100"),
                              r"^REDIS WARNING - PONG in [\d.]+ ms, 1\d clients \(WARNING\), ")
            self.assertEqual(perfdata(out)["clients"][1:3], ["10", "100"], out)
            self.expect("CRITICAL", ("--clients_warning", "5", "--clients_critical", "10"),
                        r"^REDIS CRITICAL - PONG in [\d.]+ ms, 1\d clients \(CRITICAL\), ")
            self.expect("OK", ("--clients_warning", "100"), r"^REDIS OK - ")
        finally:
            for s in socks:
                s.close()

    def test_memory_percent_of_maxmemory(self):
        c = self.server.connect()
        try:
            value = "x" * 10000
            c.pipeline([("SET", f"fill:{i}", value) for i in range(400)])
            try:
                for target, state in ((85, "WARNING"), (95, "CRITICAL"), (25, "OK")):
                    used = int(c.command("INFO", "memory").split("used_memory:")[1].split()[0])
                    maxmemory = int(used * 100 / target)
                    c.command("CONFIG", "SET", "maxmemory", str(maxmemory))
                    mark = "" if state == "OK" else rf" \({state}\)"
                    out = self.expect(state, (), rf"^REDIS {state} - .*, memory [\d.]+ MB of "
                                      rf"[\d.]+ MB \((?:{target - 2}|{target - 1}|{target}|"
                                      rf"{target + 1}|{target + 2})%\){mark}, ")
                    perf = perfdata(out)
                    self.assertLess(abs(number(perf["memory"][0]) - target), 3,
                                    f"expected memory near {target}%; got {perf['memory']}")
                    self.assertEqual(perf["memory"][1:5], ["80", "90", "0", "100"], out)
                    self.assertEqual(perf["used_memory"][4], str(maxmemory), out)
            finally:
                c.command("CONFIG", "SET", "maxmemory", "0")
                c.command("FLUSHALL")
        finally:
            c.close()
        self.expect("OK", ("--memory_warning", "1", "--memory_critical", "2"),
                    r"\(no maxmemory set\)")

    def test_latency_thresholds(self):
        out = self.expect("CRITICAL", ("--latency_warning", "10", "--latency_critical",
                                       "0.000000001"),
                          r"^REDIS CRITICAL - PONG in [\d.]+ (ms|s) \(CRITICAL\), ")
        self.assertEqual(perfdata(out)["latency"][1:4], ["10", "0.000000001", "0"], out)
        self.expect("WARNING", ("--latency_warning", "@0:10"),
                    r"^REDIS WARNING - PONG in [\d.]+ ms \(WARNING\), ")
        self.expect("OK", ("--latency_warning", "5", "--latency_critical", "10"), r"^REDIS OK")

    def test_expected_role(self):
        self.expect("OK", ("--role", "master"), r"role master$|role master \|")
        self.expect("CRITICAL", ("--role", "slave"),
                    r"^REDIS CRITICAL - .*, role master, expected slave \(CRITICAL\)")

    def test_wrong_password_is_critical_without_the_password(self):
        rc, out, err = tocsin_check("redis", "--port", str(self.server.port),
                                    "--password", "not-" + PASSWORD)
        self.assertEqual(rc, 2, f"expected CRITICAL; got {show(rc, out, err)}")
        self.assertRegex(out, r"^REDIS CRITICAL - authentication failed for user default")
        self.assertNotIn(PASSWORD, out + err, "the password appeared in the output")

    def test_no_password_when_one_is_required(self):
        self.expect("CRITICAL", (), r"^REDIS CRITICAL - authentication failed for user "
                    r"default: 127\.0\.0\.1:\d+ requires a password and none is configured$",
                    password=None)

    def test_acl_user(self):
        user_pw = "monitor-" + PASSWORD
        self.server.cli("ACL", "SETUSER", "monitor", "on", ">" + user_pw, "~*", "+@all")
        rc, out, err = tocsin_check("redis", "--port", str(self.server.port),
                                    "--user", "monitor", "--password", user_pw)
        self.assertEqual(rc, 0, f"expected OK as user monitor; got {show(rc, out, err)}")
        rc, out, err = tocsin_check("redis", "--port", str(self.server.port),
                                    "--user", "monitor", "--password", "wrong")
        self.assertEqual(rc, 2, f"expected CRITICAL; got {show(rc, out, err)}")
        self.assertRegex(out, r"^REDIS CRITICAL - authentication failed for user monitor")
        # +ping +info is all the check needs, as docs/check-redis.md says.
        self.server.cli("ACL", "SETUSER", "minimal", "on", ">" + user_pw, "+ping", "+info")
        rc, out, err = tocsin_check("redis", "--port", str(self.server.port),
                                    "--user", "minimal", "--password", user_pw)
        self.assertEqual(rc, 0, f"expected OK as user minimal; got {show(rc, out, err)}")
        # A user that may not run INFO cannot be measured: UNKNOWN.
        self.server.cli("ACL", "SETUSER", "pinger", "on", ">" + user_pw, "+ping")
        rc, out, err = tocsin_check("redis", "--port", str(self.server.port),
                                    "--user", "pinger", "--password", user_pw)
        self.assertEqual(rc, 3, f"expected UNKNOWN without +info; got {show(rc, out, err)}")
        self.assertRegex(out, r"^REDIS UNKNOWN - user pinger may not run INFO: NOPERM")
        self.assertNotIn(user_pw, out + err, "the password appeared in the output")

    def test_bad_options_are_unknown(self):
        for args, why in ((("--role", "primary"), r"role.*primary.*master, slave, any"),
                          (("--port", "0"), r"port.*0 is not between 1 and 65535"),
                          (("--user", "monitor"), r"user.*needs a password"),
                          (("--password_env", "TOCSIN_NO_SUCH_VARIABLE"),
                           r"TOCSIN_NO_SUCH_VARIABLE is not set"),
                          (("--clients_warning", "lots"), r"clients_warning")):
            with self.subTest(args=args):
                rc, out, err = tocsin_check("redis", *args)
                self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
                self.assertRegex(out, why)

    def test_key_lengths_by_type(self):
        c = self.server.cli
        c("DEL", "q:list", "q:zset", "q:set", "q:stream", "q:hash", "q:count", "q:text")
        c("RPUSH", "q:list", *[f"job{i}" for i in range(120)])
        c("ZADD", "q:zset", "1", "a", "2", "b", "3", "c")
        c("SADD", "q:set", "x", "y")
        for i in range(7):
            c("XADD", "q:stream", "*", "n", str(i))
        c("HSET", "q:hash", "f1", "1", "f2", "2", "f3", "3", "f4", "4")
        c("SET", "q:count", "42")
        c("SET", "q:text", "not a number")
        keys = ["--key", "q:list warning=100 critical=500", "--key", "q:zset",
                "--key", "q:set", "--key", "q:stream label=events critical=5",
                "--key", "q:hash", "--key", "q:count warning=40",
                "--key", "q:absent critical=1:"]
        out = self.expect("CRITICAL", keys,
                          r"^REDIS CRITICAL - PONG .*, q:list 120 \(WARNING\), "
                          r"q:stream 7 \(CRITICAL\), q:count 42 \(WARNING\), "
                          r"q:absent 0 \(CRITICAL\), 3 other keys within ranges")
        perf = perfdata(out)
        self.assertEqual(perf["q:list"][:3], ["120", "100", "500"])
        self.assertEqual(perf["q:zset"][0], "3")
        self.assertEqual(perf["q:set"][0], "2")
        self.assertEqual(perf["events"][:3], ["7", "", "5"])
        self.assertEqual(perf["q:hash"][0], "4")
        self.assertEqual(perf["q:count"][0], "42")
        self.assertEqual(perf["q:absent"][0], "0")
        self.assertIn("key q:list: list of 120 elements (LLEN)", out)
        self.assertIn("key q:stream: stream of 7 elements (XLEN)", out)
        self.assertIn("key q:absent: absent, counted as 0", out)
        # A string that is not a number cannot be judged.
        self.expect("UNKNOWN", ("--key", "q:text"),
                    r"^REDIS UNKNOWN - .*, key q:text is a string that is not a "
                    r"number \(UNKNOWN\)")
        # Few keys: each stands on the first line, OK or not.
        self.expect("OK", ("--key", "q:set", "--key", "q:zset warning=10"),
                    r"^REDIS OK - .*, q:set 2, q:zset 3 \|")

    def test_key_lengths_with_the_documented_acl(self):
        user_pw = "queues-" + PASSWORD
        self.server.cli("RPUSH", "acl:q", "1", "2")
        self.server.cli("ACL", "SETUSER", "queues", "on", ">" + user_pw, "+ping", "+info",
                        "+select", "+type", "+llen", "+zcard", "+scard", "+xlen", "+hlen",
                        "+get", "~acl:*")
        rc, out, err = tocsin_check("redis", "--port", str(self.server.port),
                                    "--user", "queues", "--password", user_pw,
                                    "--key", "acl:q warning=1")
        self.assertEqual(rc, 1, f"expected WARNING; got {show(rc, out, err)}")
        self.assertRegex(out, r"^REDIS WARNING - .*, acl:q 2 \(WARNING\)")
        # A key outside the user's patterns: the server's NOPERM, UNKNOWN.
        rc, out, err = tocsin_check("redis", "--port", str(self.server.port),
                                    "--user", "queues", "--password", user_pw,
                                    "--key", "other:q")
        self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
        self.assertRegex(out, r"^REDIS UNKNOWN - user queues may not run TYPE: NOPERM")

    def test_key_in_another_database(self):
        conn = self.server.connect()
        try:
            conn.command("SELECT", "3")
            conn.command("DEL", "jobs")
            conn.command("RPUSH", "jobs", "a", "b", "c", "d", "e")
        finally:
            conn.close()
        self.expect("WARNING", ("--db", "3", "--key", "jobs warning=4"),
                    r"^REDIS WARNING - .*, jobs 5 \(WARNING\)")
        self.expect("OK", ("--key", "jobs warning=4"), r"^REDIS OK - .*, jobs 0 \|")
        self.expect("CRITICAL", ("--db", "100000", "--key", "jobs"),
                    r"^REDIS CRITICAL - SELECT answered with an error: ERR DB index "
                    r"is out of range")

    def test_key_rules_refused(self):
        for args, why in ((("--key", "q warn=1"), r"option 'key': .*unknown setting \"warn\""),
                          (("--key", "q warning=x"), r"option 'key': "),
                          (("--key", "q 100"), r"is not NAME=VALUE"),
                          (("--key", "memory"), r"label \"memory\" is the check's own"),
                          (("--key", "a label=x", "--key", "b label=x"),
                           r"already used by key \"a\""),
                          (("--key", "'open"), r"never closed"),
                          (("--db", "-1"), r"option 'db'")):
            with self.subTest(args=args):
                rc, out, err = tocsin_check("redis", *args)
                self.assertEqual(rc, 3, f"expected UNKNOWN; got {show(rc, out, err)}")
                self.assertRegex(out, why)

    def test_reachable_same_state_as_check_tcp(self):
        rc_tcp, out_tcp = check_tcp(self.server.port, f"AUTH {PASSWORD}\\r\\nPING\\r\\n")
        rc, out, err = self.redis()
        self.assertEqual((rc, rc_tcp), (0, 0),
                         f"expected OK from both; check_tcp said {out_tcp!r}, we said {out!r}")
        self.assertNotIn(PASSWORD, out_tcp)


class Replication(RedisCase):
    @classmethod
    def setUpClass(cls):
        cls.master = RedisServer(PASSWORD)
        cls.replica = None
        try:
            cls.master.start()
            cls.replica = RedisServer(PASSWORD, replica_of=cls.master).start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.server = cls.replica

    @classmethod
    def tearDownClass(cls):
        if cls.replica:
            cls.replica.cleanup()
        cls.master.cleanup()

    def test_link_up_then_master_stopped(self):
        self.replica.wait_info(lambda i: i.get("master_link_status") == "up",
                               "the replica's link to its master up")
        out = self.expect("OK", ("--role", "slave"), r"^REDIS OK - .*, role slave \| ")
        self.assertIn(f"replication: replica of 127.0.0.1:{self.master.port}, link up", out)
        self.expect("CRITICAL", ("--role", "master"),
                    r", role slave, expected master \(CRITICAL\)")
        out = self.expect("OK", ("--role", "master"), r"^REDIS OK - .*, role master \| ",
                          port=self.master.port)
        self.assertIn("replication: master with 1 connected replica\n", out)
        self.assertRegex(out, r"\nreplica 0: ip=127\.0\.0\.1,port=\d+,state=online")

        self.master.stop()
        self.replica.wait_info(lambda i: i.get("master_link_status") == "down",
                               "the replica to see its master gone")
        out = self.expect("CRITICAL", ("--role", "slave"),
                          rf"^REDIS CRITICAL - .*, role slave, link to master "
                          rf"127\.0\.0\.1:{self.master.port} down for \d+ s \(CRITICAL\)")
        self.assertRegex(out, r"\nreplication: replica of .*, link down, down for \d+ s")


class Misbehaving(RedisCase):
    def fake(self, answer):
        f = FakeServer(answer)
        self.addCleanup(f.close)
        return f

    def test_stopped_server_same_state_as_check_tcp(self):
        port = free_port()
        out = self.expect("CRITICAL", (), rf"^REDIS CRITICAL - connection refused to "
                          rf"127\.0\.0\.1:{port}$", port=port)
        rc_tcp, out_tcp = check_tcp(port)
        self.assertEqual(rc_tcp, 2, f"expected check_tcp CRITICAL too; got {rc_tcp} {out_tcp!r}")

    def test_timeout_is_unknown_within_the_timeout(self):
        f = self.fake(None)
        t0 = time.monotonic()
        rc, out, err = self.redis(port=f.port, timeout="1s")
        took = time.monotonic() - t0
        self.assertEqual(rc, 3, f"expected UNKNOWN for a silent server; got {show(rc, out, err)}")
        self.assertRegex(out, r"timed out", "expected the output to say it timed out")
        self.assertLess(took, 2.5, f"expected a return within ~2 s of a 1 s timeout, "
                                   f"took {took:.1f}s")

    def test_garbage_is_malformed_answer(self):
        f = self.fake(b"HTTP/1.0 400 Bad Request\r\n\r\n")
        self.expect("CRITICAL", (), rf"^REDIS CRITICAL - malformed answer from "
                    rf"127\.0\.0\.1:{f.port} to AUTH: Protocol error", port=f.port)
        self.expect("CRITICAL", (), rf"^REDIS CRITICAL - malformed answer from "
                    rf"127\.0\.0\.1:{f.port} to PING: Protocol error", port=f.port,
                    password=None)
        # check_tcp only sees that +PONG did not come: WARNING.
        rc_tcp, out_tcp = check_tcp(f.port)
        self.assertEqual(rc_tcp, 1, f"expected check_tcp WARNING; got {rc_tcp} {out_tcp!r}")

    def test_info_that_is_not_a_bulk_string_is_malformed(self):
        f = self.fake(b"+PONG\r\n")
        self.expect("CRITICAL", (), rf"^REDIS CRITICAL - malformed answer from "
                    rf"127\.0\.0\.1:{f.port} to INFO: a status instead of a bulk string$",
                    port=f.port, password=None)

    def test_ping_answered_with_something_else_is_malformed(self):
        f = self.fake(b"$11\r\nhello:world\r\n")
        self.expect("CRITICAL", (), r"^REDIS CRITICAL - malformed answer from \S+ to "
                    r"PING: \"hello:world\" instead of PONG$", port=f.port, password=None)

    def test_info_without_the_figures_is_malformed(self):
        f = self.fake(lambda data: b"+PONG\r\n" if b"PING" in data
                      else b"$11\r\nhello:world\r\n")
        self.expect("CRITICAL", (), r"^REDIS CRITICAL - malformed answer from \S+ to "
                    r"INFO: no role field$", port=f.port, password=None)

    def test_loading_dataset(self):
        f = self.fake(b"-LOADING Redis is loading the dataset in memory\r\n")
        self.expect("CRITICAL", (), r"^REDIS CRITICAL - Redis is loading the dataset in "
                    r"memory$", port=f.port, password=None)


class ThroughDaemon(DaemonTest):
    """Two checks or more in one worker: the hit ratio and the rejected
    connections between them, logged with their perfdata."""

    @classmethod
    def setUpClass(cls):
        cls.server = RedisServer(PASSWORD)
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_hit_ratio_and_rejected_connections_between_checks(self):
        state_dir = tempfile.mkdtemp(prefix="tocsin-redis-state-")
        self.addCleanup(shutil.rmtree, state_dir, True)
        conf = (f'service "redis-cache" {{\n'
                f'    check = "redis"\n'
                f'    interval = 1s\n'
                f'    max_attempts = 1\n'
                f'    port = {self.server.port}\n'
                f'    password = "{PASSWORD}"\n'
                f'    hit_ratio_warning = "90:"\n'
                f'    hit_ratio_critical = "50:"\n'
                f'}}\n')
        d = self.start(f'max_check_spread = 1s\nstate_dir = "{state_dir}"\n',
                       {"redis.conf": conf}, level="debug")
        svc = r"service 'redis-cache'"
        d.wait_for(rf"{svc} on \S+: first result OK: REDIS OK - PONG in .*"
                   r"hit_ratio=U%;90:;50:;0;100", timeout=20)

        c = self.server.connect()
        try:
            c.command("SET", "present", "1")
            c.pipeline([("GET", "present")] * 20)
            d.wait_for(rf"{svc}: OK: REDIS OK - .*, hit ratio 100%, .*"
                       r"hit_ratio=100%;90:;50:;0;100", timeout=20)
            c.pipeline([("GET", f"absent:{i}") for i in range(20)])
            d.wait_for(rf"{svc} on \S+: OK -> CRITICAL \(hard, attempt 1/1\): REDIS "
                       r"CRITICAL - .*, hit ratio \d+% \(CRITICAL\), .*hit_ratio=[\d.]+%;90:;50:",
                       timeout=20)

            # Connections over maxclients are rejected: WARNING by default
            # at the next check, then OK again once none are.
            clients = int(self.server.info()["connected_clients"])
            c.command("CONFIG", "SET", "maxclients", str(clients + 1))
            extra = []
            try:
                for _ in range(4):
                    extra.append(socket.create_connection(("127.0.0.1", self.server.port)))
                deadline = time.monotonic() + 10
                while True:
                    stats = c.command("INFO", "stats")
                    rejected = int(stats.split("rejected_connections:")[1].split()[0])
                    if rejected >= 3:
                        break
                    self.assertLess(time.monotonic(), deadline,
                                    f"expected 3 connections rejected over maxclients; "
                                    f"rejected_connections is {rejected}")
                    time.sleep(0.05)
            finally:
                for s in extra:
                    s.close()
                c.command("CONFIG", "SET", "maxclients", "10000")
            d.wait_for(rf"{svc}.*REDIS WARNING - .*, \d+ connections? rejected since "
                       r"the last check \(WARNING\)", timeout=20)
        finally:
            c.close()
        self.assertTrue(d.alive(), "tocsind exited:\n" + d.log())
        self.assertEqual(d.stop(), 0, "tocsind did not exit 0 on SIGTERM:\n" + d.log())
        self.assertNotIn(PASSWORD, d.log(), "the password appeared in the daemon's log")


if __name__ == "__main__":
    unittest.main()
