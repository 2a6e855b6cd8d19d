"""Workers: a due check goes to a worker that can start it, and no worker
dies unexplained.

Run against the real daemon with the dummy check plugin (its `delay`
option makes a check that hangs for its whole timeout)."""
import os
import re
import signal
import subprocess
import time
import unittest
from datetime import datetime

from tocsintest import PLUGIN_PATH, TOCSIND, ConfDir, DaemonTest

STAMP_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})")


def stamp(line):
    """The log line's time, in seconds since the epoch."""
    return datetime.strptime(STAMP_RE.match(line).group(1),
                             "%Y-%m-%dT%H:%M:%S.%f").timestamp()


class DispatchTest(DaemonTest):
    """A check that hangs until its timeout holds one worker, and nothing
    else: a check due meanwhile runs on a worker that is free."""

    def test_canary_keeps_its_interval_beside_hanging_checks(self):
        # 4 workers. Two checks hang for their whole 10 s timeout, nearly
        # all the time (every 11 s); four short checks of 150 ms each
        # second keep the two other workers busy part of the time; and a
        # canary runs every second. Every first run is due at the start,
        # the hanging ones first, so they take the first two workers.
        # A check due while both free workers are busy must wait for one
        # of them (at most a short check's 150 ms), never on the queue of
        # a worker held by a hanging check.
        services = ""
        for i in range(2):
            services += ('service "hang%d" {\n  check = "dummy"\n  delay = 1h\n'
                         '  timeout = 10s\n  interval = 11s\n  max_attempts = 1\n}\n' % i)
        for i in range(4):
            services += ('service "short%d" {\n  check = "dummy"\n  delay = 150ms\n'
                         '  interval = 1s\n  max_attempts = 1\n}\n' % i)
        services += ('service "canary" {\n  check = "dummy"\n  interval = 1s\n'
                     '  max_attempts = 1\n}\n')
        d = self.start("max_check_spread = 1ms\n", {"checks.conf": services},
                       workers=4, level="debug")
        d.wait_for(r"tocsind \S+ started")
        window = 22
        time.sleep(window)
        d.proc.send_signal(signal.SIGUSR1)
        stats = d.wait_for(r"stats \(SIGUSR1\): ", timeout=5)[0]
        canary = [stamp(l) for l in d.log().splitlines()
                  if re.search(r"debug: service 'canary': OK|service 'canary' on \S+: first", l)]
        gaps = [b - a for a, b in zip(canary, canary[1:])]
        self.assertGreaterEqual(len(canary), window - 3,
                                f"expected the 1 s canary to run about {window} times in "
                                f"{window} s; it ran {len(canary)} times; {stats}")
        # Its runs keep to the second: lateness within 0.5 s of its due
        # time shows as a gap of at most 1.5 s between two results.
        self.assertLess(max(gaps), 1.5,
                        f"expected the canary's results at most 1.5 s apart; gaps were "
                        f"{[round(g, 2) for g in gaps]}; {stats}")
        p99 = int(re.search(r"p99=(-?\d+)", stats).group(1))
        self.assertLess(p99, 500000,
                        f"expected every check to start within 0.5 s of its due time "
                        f"(p99); {stats}")


class SignalsToTheGroupTest(unittest.TestCase):
    """Signals meant for the daemon often reach its whole process group:
    timeout(1) sends its signal to the group, and so does a shell's
    kill -TERM -PGID or killall tocsind. Workers are no target: they end
    with the daemon, and none is counted as a restart."""

    def test_group_signals_kill_no_worker(self):
        conf = ConfDir("max_check_spread = 1ms\n", {"checks.conf": 'service "idle" {\n  check = "dummy"\n'
                                           '  interval = 1m\n}\n'})
        self.addCleanup(conf.cleanup)
        log_path = os.path.join(conf.dir, "tocsind.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([TOCSIND, "-f", "-c", conf.path, "-p", PLUGIN_PATH,
                                     "-w", "2", "-l", "info"], stdout=subprocess.DEVNULL,
                                    stderr=log, start_new_session=True)
        self.addCleanup(lambda: proc.poll() is None and os.killpg(proc.pid, signal.SIGKILL))

        def wait_log(pattern, timeout=10):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with open(log_path) as f:
                    text = f.read()
                if re.search(pattern, text):
                    return text
                time.sleep(0.1)
            self.fail(f"expected a log line matching {pattern!r}; the log was:\n{text}")

        wait_log(r"first result OK")
        # SIGUSR1 asks for the stats line; the whole group gets it.
        os.killpg(proc.pid, signal.SIGUSR1)
        wait_log(r"stats \(SIGUSR1\)")
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGTERM)
        self.assertEqual(proc.wait(20), 0)
        with open(log_path) as f:
            text = f.read()
        stats = re.findall(r"stats \((?:SIGUSR1|exit)\): .*", text)
        self.assertEqual(len(stats), 2, f"expected two stats lines; the log was:\n{text}")
        for line in stats:
            self.assertIn("worker_restarts=0", line,
                          f"expected no worker restarted; the log was:\n{text}")
        self.assertNotRegex(text, r"worker \d+ \(pid \d+\) (died|ended)",
                            "expected no worker to die of a signal sent to the group")


if __name__ == "__main__":
    unittest.main()
