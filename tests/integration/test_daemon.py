"""tocsind -f running real services on short intervals: soft and hard
states, recovery, console notifications, flap detection, timeouts, the
isolation of crashing, hanging and memory-eating plugins, the spreading of
first runs, and a clean stop."""
import datetime
import os
import re
import signal
import subprocess
import tempfile
import shutil
import time
import unittest

from tocsintest import SANITIZED, ConfDir, Daemon, DaemonTest, free_port

# Every service of these tests first runs within a second of the start.
COMMON = 'max_check_spread = 1s\nhost = "testhost"\n'
CONSOLE = 'notifier "console" {\n    plugin = "console"\n    target = "stderr"\n}\n'
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) ")
# A line written by the console notifier: local time, then the alert.
CONSOLE_LINE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} (?:\[[a-z ]+\] )?"


def stamp(line):
    """The time a daemon log line was written, in seconds."""
    m = STAMP.match(line)
    if not m:
        raise AssertionError(f"expected a timestamped log line; got {line!r}")
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def service(name, check, interval="1s", labels=None, **options):
    """A service section; option values are written as given."""
    body = "".join(f"    {k} = {v}\n" for k, v in options.items())
    if labels:
        body += "    labels {\n" + "".join(f'        {k} = "{v}"\n'
                                         for k, v in labels.items()) + "    }\n"
    return f'service "{name}" {{\n    check = "{check}"\n    interval = {interval}\n{body}}}\n'


def process_start(pid):
    """The start time of process `pid` from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    if fields[0] == "Z":
        return None
    return fields[19]


def children(pid):
    """{child pid: start time} of every living child of `pid`, from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry)] = fields[19]
    return found


def pgrep(text):
    """Pids of processes whose command line contains `text`."""
    p = subprocess.run(["pgrep", "-f", text], capture_output=True, text=True)
    return [int(x) for x in p.stdout.split()]


class DaemonBehaviour(DaemonTest):
    def start(self, main="", files=None, **kw):
        d = super().start(COMMON + main, files, **kw)
        self.started = stamp(d.wait_for(r"tocsind \S+ started: ", timeout=10)[0])
        return d

    def tail(self, n=40):
        return "\n".join(self.daemon.lines[-n:])

    def scratch(self):
        """A private directory for state files and scripts."""
        path = tempfile.mkdtemp(prefix="tocsin-daemon-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    def state_script(self, path, state):
        """A Nagios plugin script whose state is read from a file the test
        rewrites; returns the command for the service."""
        self.state_file = os.path.join(path, "state")
        self.set_state(state)
        script = os.path.join(path, "state.sh")
        with open(script, "w") as f:
            f.write(f"""read s < '{self.state_file}'
case "$s" in
ok) echo "OK - service up"; exit 0 ;;
critical) echo "CRITICAL - service down"; exit 2 ;;
*) echo "UNKNOWN - state '$s'"; exit 3 ;;
esac
""")
        return f'"/bin/sh {script}"'

    def set_state(self, state):
        tmp = self.state_file + ".new"
        with open(tmp, "w") as f:
            f.write(state + "\n")
        os.rename(tmp, self.state_file)

    def stop_cleanly(self):
        rc = self.daemon.stop()
        self.assertEqual(rc, 0, f"expected tocsind to exit 0 on SIGTERM; it exited {rc}; "
                                f"log:\n{self.tail()}")

    # -- soft and hard states ---------------------------------------------

    def test_problem_becomes_hard_after_max_attempts_at_retry_interval(self):
        # interval 10s, retry 1s: the attempts come a second apart.
        d = self.start(service("db", "dummy", "10s", state='"critical"',
                               output='"db is down"', retry_interval="1s",
                               max_attempts=3))
        hard = d.wait_for(r"service 'db' on testhost: OK -> CRITICAL "
                          r"\(hard, attempt 3/3\): db is down$", timeout=8)
        soft = [l for l in d.lines if "service 'db' on testhost: CRITICAL (soft" in l]
        self.assertEqual(
            [re.search(r"attempt \d/\d", l).group(0) for l in soft],
            ["attempt 1/3", "attempt 2/3"],
            f"expected two soft attempts (1/3, 2/3) before the hard state; "
            f"log:\n{self.tail()}")
        times = [stamp(l) for l in soft + hard]
        gaps = [b - a for a, b in zip(times, times[1:])]
        for gap in gaps:
            self.assertTrue(0.7 <= gap <= 2.5,
                            f"expected attempts about 1 s apart (retry_interval), not "
                            f"10 s (interval); the gaps were {gaps}; log:\n{self.tail()}")
        self.assertEqual(d.count(r"service 'db'.*\(hard"), 1,
                         f"expected one hard change; log:\n{self.tail()}")

    def test_hard_after_a_duration_whatever_the_attempts(self):
        # Retries every 0.3 s, hard after 1.5 s: more attempts than the
        # default max_attempts (3) go by soft, and the hard change comes
        # with the first result 1.5 s after the first problem.
        d = self.start(service("deploy", "dummy", "10s", state='"critical"',
                               output='"rolling"', retry_interval="300ms",
                               hard_after="1500ms"))
        hard = d.wait_for(r"service 'deploy' on testhost: OK -> CRITICAL \(hard, attempt \d+, "
                          r"[\d.]+ s of hard_after 1.5 s\): rolling$", timeout=8)
        soft = [l for l in d.lines if "service 'deploy' on testhost: CRITICAL (soft" in l]
        self.assertGreaterEqual(len(soft), 4, f"expected soft attempts past 3; log:\n{self.tail()}")
        self.assertRegex(soft[0], r"\(soft, attempt 1, 0.0 s of hard_after 1.5 s\)")
        waited = stamp(hard[0]) - stamp(soft[0])
        self.assertTrue(1.4 <= waited <= 3.0,
                        f"expected the hard change about 1.5 s after the first problem, "
                        f"it came after {waited:.2f} s; log:\n{self.tail()}")
        self.assertEqual(d.count(r"service 'deploy'.*\(hard"), 1, self.tail())

    def test_hard_after_is_not_delayed_by_a_long_retry_interval(self):
        # retry_interval 1 h: the check after the first problem still comes
        # when hard_after (1 s) is up, not an hour later.
        d = self.start(service("slowretry", "dummy", "1h", state='"warning"',
                               output='"slow"', retry_interval="1h", hard_after="1s"))
        d.wait_for(r"service 'slowretry' on testhost: WARNING \(soft, attempt 1,", timeout=5)
        d.wait_for(r"service 'slowretry' on testhost: OK -> WARNING \(hard, attempt 2, ",
                   timeout=5)

    def test_hard_after_counts_across_a_restart(self):
        # The start of a soft problem is saved: after a restart the time
        # already spent counts towards hard_after.
        conf = service("keep", "dummy", "10s", state='"critical"', output='"down"',
                       retry_interval="300ms", hard_after="4s")
        d = self.start(conf)
        d.wait_for(r"service 'keep' on testhost: CRITICAL \(soft, attempt 1, ", timeout=5)
        d.wait_for(r"service 'keep' on testhost: CRITICAL \(soft, attempt [4-9], ", timeout=5)
        self.assertEqual(d.stop(), 0)
        again = Daemon(self.conf.path)
        self.addCleanup(again.stop)
        line = again.wait_for(r"service 'keep' on testhost: CRITICAL \(soft, attempt", timeout=5)
        spent = float(re.search(r"attempt \d+, ([\d.]+) s of hard_after 4 s", line[0]).group(1))
        self.assertGreaterEqual(spent, 0.8, f"expected the time before the restart to count; "
                                f"log:\n{again.log()}")
        again.wait_for(r"service 'keep' on testhost: OK -> CRITICAL \(hard, attempt \d+, "
                       r"[4-9]\.\d s of hard_after 4 s\)", timeout=8)

    def test_at_runs_at_the_next_listed_local_time(self):
        # Times far from now (the next whole hours in Paris, 2 and 3 hours
        # on): the service waits for them, the one with an interval runs.
        from zoneinfo import ZoneInfo
        paris = ZoneInfo("Europe/Paris")
        now = datetime.datetime.now(paris)
        times = [(now + datetime.timedelta(hours=h)).strftime("%H:00") for h in (2, 3)]
        at = "{ " + ", ".join(f'"{t}"' for t in times) + " }"
        d = self.start(service("report", "dummy", None, at=at, timezone='"Europe/Paris"')
                       .replace("    interval = None\n", "")
                       + service("often", "dummy", "1s"))
        line = d.wait_for(r"service 'report': next run at (\S+) \(at, Europe/Paris\)")[0]
        when = re.search(r"next run at (\S+) ", line).group(1)
        got = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        # The earlier of the two local times still to come.
        want = None
        for t in times:
            h, m = map(int, t.split(":"))
            for day in (0, 1):
                c = (now + datetime.timedelta(days=day)).replace(hour=h, minute=m, second=0,
                                                                 microsecond=0)
                c = c.astimezone(datetime.timezone.utc)
                if c > now and (want is None or c < want):
                    want = c
        self.assertEqual(got, want, f"expected the next run at {want}; log:\n{self.tail()}")
        d.wait_for(r"service 'often' on testhost: first result OK", timeout=5)
        self.assertEqual(d.count(r"service 'report' on testhost"), 0,
                         f"expected no run before its time; log:\n{self.tail()}")

    def test_check_period_skips_runs_outside_it(self):
        d = self.start('timeperiod "never" {\n    dates = { "2001-01-01" }\n}\n'
                       'timeperiod "always" {\n}\n'
                       + service("night", "dummy", "300ms", check_period='"never"')
                       + service("day", "dummy", "300ms", check_period='"always"'),
                       level="debug")
        d.wait_for(r"service 'day' on testhost: first result OK", timeout=5)
        d.wait_for(r"service 'night': outside check_period 'never', run skipped",
                   count=3, timeout=5)
        self.assertEqual(d.count(r"service 'night' on testhost"), 0, self.tail())

    def test_max_attempts_one_is_hard_at_once(self):
        d = self.start(service("web", "dummy", state='"warning"', output='"slow"',
                               max_attempts=1))
        d.wait_for(r"service 'web' on testhost: OK -> WARNING "
                   r"\(hard, attempt 1/1\): slow$", timeout=5)
        self.assertEqual(d.count(r"service 'web'.*\(soft"), 0,
                         f"expected no soft state with max_attempts = 1; log:\n{self.tail()}")

    def test_recovery_is_a_hard_change_back_to_ok(self):
        command = self.state_script(self.scratch(), "critical")
        d = self.start(service("api", "nagios", command=command, retry_interval="1s",
                               max_attempts=2, timeout="5s"))
        d.wait_for(r"service 'api' on testhost: CRITICAL \(soft, attempt 1/2\): "
                   r"CRITICAL - service down$", timeout=5)
        d.wait_for(r"service 'api' on testhost: OK -> CRITICAL \(hard, attempt 2/2\): "
                   r"CRITICAL - service down$", timeout=5)
        self.set_state("ok")
        d.wait_for(r"service 'api' on testhost: CRITICAL -> OK \(hard, attempt 1/2\): "
                   r"OK - service up$", timeout=5)
        self.assertEqual(d.count(r"service 'api'.*\(hard"), 2,
                         f"expected exactly two hard changes; log:\n{self.tail()}")
        self.stop_cleanly()

    def test_console_notifier_prints_one_line_per_hard_change(self):
        command = self.state_script(self.scratch(), "critical")
        d = self.start(CONSOLE + service(
            "api", "nagios", command=command, retry_interval="1s", max_attempts=2,
            timeout="5s", labels={"team": "ops", "tier": "1"}))
        problem = (CONSOLE_LINE + r"api on testhost: OK -> CRITICAL \(hard, attempt 2/2\): "
                   r"CRITICAL - service down \{team=ops, tier=1\}$")
        recovery = (CONSOLE_LINE + r"api on testhost: CRITICAL -> OK \(hard, attempt 1/2\): "
                    r"OK - service up \{team=ops, tier=1\}$")
        d.wait_for(problem, timeout=6)
        self.set_state("ok")
        d.wait_for(recovery, timeout=5)
        # Two more OK results: no change, so no more lines.
        time.sleep(2.2)
        lines = [l for l in d.lines if re.search(CONSOLE_LINE + "api on ", l)]
        self.assertEqual(len(lines), 2,
                         f"expected exactly two console lines (problem, recovery); "
                         f"log:\n{self.tail()}")
        self.assertRegex(lines[0], problem, "expected the problem first")
        self.assertRegex(lines[1], recovery, "expected the recovery second")

    def test_alert_names_the_host_the_check_is_about(self):
        # http's `host` is the machine it connects to: the alert names the
        # agent's host, unless display_host says otherwise; for a plugin
        # without a host option of its own, `host` is the service's host.
        port = free_port()
        d = self.start(CONSOLE
                       + service("web", "http", "10s", host='"127.0.0.1"', port=port,
                                 max_attempts=1)
                       + service("web-db1", "http", "10s", host='"127.0.0.1"', port=port,
                                 display_host='"db1.example.org"', max_attempts=1)
                       + service("remote", "dummy", "10s", host='"web3.example.org"',
                                 state='"critical"', output='"down"', max_attempts=1))
        for name, host in (("web", "testhost"), ("web-db1", "db1.example.org"),
                           ("remote", "web3.example.org")):
            d.wait_for(CONSOLE_LINE + rf"{name} on {re.escape(host)}: OK -> CRITICAL "
                       r"\(hard, attempt 1/1\): ", timeout=6)
        self.assertRegex(d.log(), r"connection refused to 127\.0\.0\.1:%d" % port,
                         "expected the http check to keep 127.0.0.1 as its target")
        self.assertFalse([l for l in d.lines if re.search(CONSOLE_LINE + r"\S+ on 127\.", l)],
                         f"expected no alert naming the target as its host; "
                         f"log:\n{self.tail()}")

    def test_flapping_service_is_detected_and_told_once(self):
        path = self.scratch()
        flip = os.path.join(path, "flip")
        script = os.path.join(path, "flap.sh")
        with open(script, "w") as f:
            # Each run reports the opposite of the one before.
            f.write(f"""if [ -e '{flip}' ]; then rm -f '{flip}'; echo "CRITICAL - down"; exit 2
else : > '{flip}'; echo "OK - up"; exit 0; fi
""")
        d = self.start(CONSOLE + service("flappy", "nagios", "500ms",
                                         command=f'"/bin/sh {script}"', max_attempts=1,
                                         timeout="5s", flap_detection="true"))
        d.wait_for(r"service 'flappy' on testhost started flapping", timeout=12)
        d.wait_for(CONSOLE_LINE + r"\[warning flapping-start\] flappy on testhost: ", timeout=5)
        held = (r"service 'flappy': (\w+ not sent: the service is flapping|"
                r"\w+ not sent again: the service is flapping)")
        d.wait_for(held, count=3, timeout=5)
        log = list(d.lines)
        # From the second held-back change on, every notification queued
        # before has long been written.
        start = [i for i, l in enumerate(log) if re.search(held, l)][1]
        hard = [l for l in log if re.search(r"service 'flappy' on testhost: \S+ -> \S+ \(hard", l)]
        # Held back: changes while flapping that receivers know of, and the
        # recoveries of problems nobody was told of.
        quiet = [l for l in log if re.search(held + r"|service 'flappy': recovered; nobody", l)]
        sent = [l for l in log if re.search(CONSOLE_LINE + r"(\[\w+\] )?flappy on testhost: ", l)
                and "flapping-start" not in l]
        late = [l for l in log[start + 1:] if re.search(CONSOLE_LINE + r"\S.*flappy on ", l)]
        self.assertTrue(sent, f"expected notifications before the flapping began; "
                              f"log:\n{self.tail()}")
        self.assertEqual(len(sent), len(hard) - len(quiet),
                         f"expected a console line for each hard change made before the "
                         f"flapping and none after: {len(hard)} hard changes, {len(quiet)} "
                         f"held back, {len(sent)} console lines; log:\n{self.tail(60)}")
        self.assertEqual(late, [], f"expected no console line once flapping; "
                                   f"log:\n{self.tail(60)}")

    def test_flap_detection_is_off_by_default(self):
        path = self.scratch()
        flip = os.path.join(path, "flip")
        script = os.path.join(path, "flap.sh")
        with open(script, "w") as f:
            f.write(f"""if [ -e '{flip}' ]; then rm -f '{flip}'; echo "CRITICAL - down"; exit 2
else : > '{flip}'; echo "OK - up"; exit 0; fi
""")
        d = self.start(CONSOLE + service("flappy", "nagios", "200ms",
                                         command=f'"/bin/sh {script}"', max_attempts=1,
                                         timeout="5s"))
        # 12 alternating results: far past flap_high, were it on.
        d.wait_for(r"service 'flappy' on testhost: \S+ -> \S+ \(hard", count=12, timeout=10)
        d.wait_for(CONSOLE_LINE + r"(\[\w+\] )?flappy on testhost: ", count=10, timeout=5)
        self.assertFalse(d.count(r"started flapping"),
                         f"expected no flap detection unless turned on; log:\n{self.tail(40)}")

    # -- timeouts -----------------------------------------------------------

    def test_timeout_gives_unknown(self):
        d = self.start(service("slow", "dummy", "10s", delay="5s", timeout="1s",
                               max_attempts=1))
        d.wait_for(r"service 'slow' on testhost: OK -> UNKNOWN \(hard, attempt 1/1\): "
                   r"UNKNOWN - timed out after 1 s(: .+)?$", timeout=5)
        self.assertTrue(d.alive(), f"expected tocsind to keep running; log:\n{self.tail()}")

    def test_timeout_state_critical(self):
        d = self.start(service("slow", "dummy", "10s", delay="5s", timeout="1s",
                               timeout_state='"critical"', max_attempts=1))
        d.wait_for(r"service 'slow' on testhost: OK -> CRITICAL \(hard, attempt 1/1\): "
                   r"CRITICAL - timed out after 1 s(: .+)?$", timeout=5)

    def test_timed_out_command_is_killed(self):
        marker = f"30.{os.getpid()}{int(time.monotonic() * 1000) % 100000}"
        self.addCleanup(lambda: [os.kill(p, signal.SIGKILL) for p in pgrep("sleep " + marker)])
        d = self.start(service("sleepy", "nagios", "10s", command=f'"/bin/sleep {marker}"',
                               timeout="1s", max_attempts=1))
        deadline = time.monotonic() + 3
        while not pgrep("sleep " + marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(pgrep("sleep " + marker),
                        f"expected the command 'sleep {marker}' to be running; "
                        f"log:\n{self.tail()}")
        d.wait_for(r"service 'sleepy' on testhost: OK -> UNKNOWN \(hard, attempt 1/1\): "
                   r"UNKNOWN - timed out after 1 s(: .+)?$", timeout=5)
        deadline = time.monotonic() + 2
        while pgrep("sleep " + marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(pgrep("sleep " + marker), [],
                         f"expected 'sleep {marker}' to be gone after the timeout; "
                         f"log:\n{self.tail()}")

    # -- isolation ----------------------------------------------------------

    WINDOW = 6.0

    def isolation(self, plugin, expected, main="", interval="1s", timeout="1s"):
        """Run service 'broken' on `plugin` next to a healthy one that runs
        every second; the broken one must give `expected` (a regular
        expression) at least twice while the healthy one keeps its
        schedule, the daemon lives on and replaces its workers."""
        d = self.start(main + service("broken", plugin, interval, timeout=timeout,
                                      max_attempts=1)
                       + service("heartbeat", "dummy", output='"alive"'), level="debug")
        d.wait_for(rf"warning: service 'broken': {expected}$", count=2,
                   timeout=self.WINDOW + 5)
        left = self.started + 1 + self.WINDOW - time.time()
        if left > 0:
            time.sleep(left)
        self.assertTrue(d.alive(), f"expected tocsind to survive plugin {plugin}; "
                                   f"log:\n{self.tail()}")
        d.wait_for(r"service 'broken' on testhost: OK -> UNKNOWN \(hard, attempt 1/1\): "
                   + expected + "$", timeout=1)

        beats = [stamp(l) for l in d.lines
                 if re.search(r"service 'heartbeat'( on testhost)?: (first result )?OK: alive$", l)]
        lo, hi = self.started + 1, self.started + 1 + self.WINDOW
        inside = [t for t in beats if lo <= t <= hi]
        self.assertGreaterEqual(
            len(inside), int(0.7 * self.WINDOW + 0.999),
            f"expected the healthy service to run about once a second ({self.WINDOW:.0f} "
            f"times in {self.WINDOW:.0f} s) while plugin {plugin} failed; it ran "
            f"{len(inside)} times; log:\n{self.tail(80)}")

        d.proc.send_signal(signal.SIGUSR1)
        stats = d.wait_for(r"stats \(SIGUSR1\): ", timeout=5)[0]
        restarts = int(re.search(r"worker_restarts=(\d+)", stats).group(1))
        self.assertGreater(restarts, 0, f"expected replaced workers; got: {stats}")
        self.stop_cleanly()

    def test_crashing_plugin_costs_one_result(self):
        self.isolation("crash", r"plugin crash crashed: SIGSEGV")

    def test_aborting_plugin_costs_one_result(self):
        self.isolation("abort", r"plugin abort crashed: SIGABRT")

    def test_hanging_plugin_is_killed_at_its_timeout(self):
        self.isolation("hang", r"UNKNOWN - timed out after 1 s")
        self.assertIn("overran a deadline in plugin hang; killing it", self.daemon.log(),
                      f"expected the worker to be killed for the hang; log:\n{self.tail()}")

    @unittest.skipIf(SANITIZED, "the workers' address-space limit cannot apply "
                                "under AddressSanitizer")
    def test_memory_eating_plugin_is_stopped_by_the_limit(self):
        # A timeout long enough that the memory limit, not the clock, stops it.
        self.isolation("hog", r"plugin hog (crashed: SIG[A-Z]+|ended its worker with "
                              r"exit code \d+)", main="worker_memory_limit = 256\n",
                       interval="2s", timeout="5s")

    # -- scheduling ---------------------------------------------------------

    def test_first_runs_are_spread_over_max_check_spread(self):
        services = "".join(service(f"spread-{i:02d}", "dummy", "10s") for i in range(50))
        d = self.start("max_check_spread = 10s\n" + services, workers=2)
        first = d.wait_for(r"service 'spread-\d\d' on testhost: first result OK",
                           count=50, timeout=13)
        offsets = sorted(stamp(l) - self.started for l in first)
        summary = ", ".join(f"{o:.1f}" for o in offsets)
        self.assertLessEqual(sum(1 for o in offsets if o < 1), 15,
                             f"expected the first runs spread over 10 s, not bunched in "
                             f"the first second; offsets (s): {summary}")
        self.assertGreaterEqual(offsets[-1] - offsets[0], 6,
                                f"expected the first runs to span most of the 10 s "
                                f"window; offsets (s): {summary}")
        self.assertLessEqual(offsets[-1], 11,
                             f"expected every first run within max_check_spread (10 s); "
                             f"offsets (s): {summary}")
        busy = {int(o) for o in offsets}
        self.assertGreaterEqual(len(busy), 7,
                                f"expected first runs in most seconds of the window; "
                                f"offsets (s): {summary}")

    # -- stopping -----------------------------------------------------------

    def test_sigterm_stops_cleanly_without_leftover_workers(self):
        d = self.start(CONSOLE + service("a", "dummy") + service("b", "dummy",
                                                                 state='"warning"'))
        d.wait_for(r"service 'a' on testhost: first result OK", timeout=5)
        d.wait_for(r"service 'b' on testhost: WARNING \(soft", timeout=5)
        workers = children(d.proc.pid)
        self.assertGreaterEqual(len(workers), 3,
                                f"expected 2 check workers and a notifier worker as "
                                f"children of tocsind; found pids {sorted(workers)}")
        self.stop_cleanly()
        d.wait_for(r"received SIGTERM, stopping", timeout=1)
        d.wait_for(r"stopped after \d+ checks", timeout=1)
        left = [pid for pid, start in workers.items() if process_start(pid) == start]
        self.assertEqual(left, [], f"expected every worker to be gone after the stop; "
                                   f"still running: {left}; log:\n{self.tail()}")

    def test_sigterm_ends_a_running_check_command(self):
        """A check command still running when tocsind stops ends with it."""
        marker = f"31.{os.getpid()}{int(time.monotonic() * 1000) % 100000}"
        self.addCleanup(lambda: [os.kill(p, signal.SIGKILL) for p in pgrep("sleep " + marker)])
        d = self.start(service("sleepy", "nagios", "30s", command=f'"/bin/sleep {marker}"',
                               timeout="20s"))
        deadline = time.monotonic() + 3
        while not pgrep("sleep " + marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(pgrep("sleep " + marker),
                        f"expected 'sleep {marker}' to be running; log:\n{self.tail()}")
        self.stop_cleanly()
        deadline = time.monotonic() + 2
        while pgrep("sleep " + marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(pgrep("sleep " + marker), [],
                         f"expected 'sleep {marker}' to end with tocsind; "
                         f"log:\n{self.tail()}")

    def test_bad_configuration_stops_the_foreground_daemon(self):
        conf = ConfDir(COMMON, {"web.conf": 'service "web" {\n    check = "dummy"\n'
                                            '    intervall = 1s\n}\n'})
        self.addCleanup(conf.cleanup)
        d = Daemon(conf.path)
        self.addCleanup(d.stop)
        try:
            rc = d.proc.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        d.reader.join(5)
        where = os.path.join(conf.confd, "web.conf") + ":3: "
        self.assertNotIn(rc, (0, None), f"expected tocsind -f to exit non-zero; it gave "
                                        f"{rc}; log:\n{d.log()}")
        self.assertTrue(any(l.startswith(where) and "no such option 'intervall'" in l
                            for l in d.lines),
                        f"expected {where}no such option 'intervall' on stderr; "
                        f"got:\n{d.log()}")
        self.assertEqual(d.count(r"started: "), 0,
                         f"expected no service to start; log:\n{d.log()}")


if __name__ == "__main__":
    unittest.main()
