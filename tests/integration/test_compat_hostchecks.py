"""The host checks against the Monitoring Plugins that users replace with
them: for the same situation and the same thresholds, `procs` reports the
state check_procs reports (processes started here with a unique argument,
and zombies of a parent that does not reap them), `memory` the state of
check_swap, and `load` the state of check_load."""
import os
import re
import subprocess
import sys
import time
import unittest
import uuid

from tocsintest import NAGIOS_PLUGINS, STATES, show, tocsin_check


def plugin(name):
    return os.path.join(NAGIOS_PLUGINS, name)


def have(name):
    return os.access(plugin(name), os.X_OK)


def nagios_state(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout


class Compat(unittest.TestCase):
    def assert_same(self, nagios_argv, tocsin_args):
        rc_n, out_n = nagios_state(nagios_argv)
        rc_t, out_t, err_t = tocsin_check(*tocsin_args)
        self.assertEqual(rc_t, rc_n,
                         f"{' '.join(nagios_argv)} said {STATES[rc_n]} ({out_n.strip()!r}); "
                         f"tocsin-check {' '.join(tocsin_args)}: {show(rc_t, out_t, err_t)}")
        return rc_n, out_n, out_t


# Thresholds as check_procs takes them (-w, -c), and the same as options.
PROC_RANGES = [("10", "20"), ("2", "10"), ("1", "2"), ("4:", "3:"), ("3:", "1:"),
               ("@3", "@0"), ("@0:2", "@4:"), ("5:10", "1:")]


@unittest.skipUnless(have("check_procs"), "check_procs is not installed")
class ProcsLikeCheckProcs(Compat):
    def spawn(self, n, argv):
        procs = []
        for _ in range(n):
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
            procs.append(p)
            self.addCleanup(p.wait)
            self.addCleanup(p.kill)
        return procs

    def test_sleepers_by_argument_and_command(self):
        tag = "%d.%06d" % (900000 + os.getpid() % 1000, uuid.uuid4().int % 1000000)
        self.spawn(3, ["sleep", tag])
        time.sleep(0.2)
        for w, c in PROC_RANGES:
            with self.subTest(warning=w, critical=c):
                rc, out_n, out_t = self.assert_same(
                    [plugin("check_procs"), "-w", w, "-c", c, "-a", tag],
                    ["procs", "--warning", w, "--critical", c, "--argument", tag])
                self.assertIn("3 processes", out_t)
                self.assert_same(
                    [plugin("check_procs"), "-w", w, "-c", c, "-C", "sleep",
                     "--ereg-argument-array", tag.replace(".", "[.]")],
                    ["procs", "--warning", w, "--critical", c, "--command", "sleep",
                     "--argument_regex", tag.replace(".", "[.]")])
        # The same with a user: ours (root here, or whoever runs the tests).
        user = str(os.getuid())
        self.assert_same([plugin("check_procs"), "-w", "2", "-c", "5", "-a", tag, "-u", user],
                         ["procs", "--warning", "2", "--critical", "5", "--argument", tag,
                          "--user", user])
        # And none: "at least one" is CRITICAL for both.
        self.assert_same([plugin("check_procs"), "-c", "1:", "-a", tag + "x"],
                         ["procs", "--critical", "1:", "--argument", tag + "x"])

    def test_zombies_of_a_parent_that_does_not_reap(self):
        tag = "zombie-parent-%s" % uuid.uuid4().hex[:12]
        code = ("import os, sys, time\n"
                "for _ in range(4):\n"
                "    if os.fork() == 0:\n"
                "        os._exit(0)\n"
                "time.sleep(60)\n")
        parent = subprocess.Popen([sys.executable, "-c", code, tag])
        self.addCleanup(parent.wait)
        self.addCleanup(parent.kill)
        # Wait for the four children to be zombies.
        limit = time.monotonic() + 10
        while time.monotonic() < limit:
            rc, out, _ = tocsin_check("procs", "--state", "Z", "--command_regex", "^python")
            if int(re.search(r"(\d+) process", out).group(1)) >= 4:
                break
            time.sleep(0.1)
        name = os.path.basename(os.path.realpath(sys.executable))[:15]
        for w, c in (("3", "10"), ("10", "20"), ("1", "2"), ("4:", "5:")):
            with self.subTest(warning=w, critical=c):
                self.assert_same(
                    [plugin("check_procs"), "-w", w, "-c", c, "-s", "Z", "-C", name],
                    ["procs", "--warning", w, "--critical", c, "--state", "Z",
                     "--command", name])

    def test_total_far_from_the_thresholds(self):
        # The total moves with whatever else runs; compare where a few
        # processes more or less cannot change the state.
        for w, c in (("100000", "200000"), ("1", "2"), ("1", "100000"), ("5:", "1:")):
            with self.subTest(warning=w, critical=c):
                self.assert_same([plugin("check_procs"), "-w", w, "-c", c],
                                 ["procs", "--warning", w, "--critical", c])


def swap_total_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("SwapTotal:"):
                return int(line.split()[1])
    return 0


@unittest.skipUnless(have("check_swap"), "check_swap is not installed")
class MemoryLikeCheckSwap(Compat):
    def test_no_swap_state(self):
        if swap_total_kb() > 0:
            self.skipTest("this machine has swap")
        for state in ("ok", "warning", "critical"):
            with self.subTest(no_swap=state):
                self.assert_same([plugin("check_swap"), "-w", "20%", "-c", "10%", "-n", state],
                                 ["memory", "--warning", "100", "--critical", "100",
                                  "--swap_warning", "80", "--swap_critical", "90",
                                  "--no_swap", state])

    def test_swap_thresholds(self):
        if swap_total_kb() == 0:
            self.skipTest("this machine has no swap")
        # check_swap -w/-c give the free % below which to alert; memory's
        # swap ranges give the used % above which to alert.
        for free_w, free_c in (("100%", "100%"), ("100%", "0%"), ("0%", "0%")):
            with self.subTest(warning=free_w, critical=free_c):
                used_w = str(100 - int(free_w[:-1]))
                used_c = str(100 - int(free_c[:-1]))
                self.assert_same([plugin("check_swap"), "-w", free_w, "-c", free_c],
                                 ["memory", "--warning", "100", "--critical", "100",
                                  "--swap_warning", used_w, "--swap_critical", used_c])


@unittest.skipUnless(have("check_load"), "check_load is not installed")
class LoadLikeCheckLoad(Compat):
    def test_states_for_the_same_thresholds(self):
        with open("/proc/loadavg") as f:
            l1 = float(f.read().split()[0])
        # Thresholds well away from the load, so that it cannot cross one
        # between the two runs.
        far = "%.2f" % (l1 + 50)
        near0 = "0"
        for w, c in ((far, far), (near0, far), (near0, near0),
                     (f"{far},{far},{far}", f"{far},{far},{far}")):
            with self.subTest(warning=w, critical=c):
                if l1 < 0.3 and near0 in (w, c):
                    continue  # a load of 0.00 does not exceed 0
                self.assert_same([plugin("check_load"), "-w", w, "-c", c],
                                 ["load", "--warning", w, "--critical", c])
        self.assert_same([plugin("check_load"), "-r", "-w", far, "-c", far],
                         ["load", "--per_cpu", "true", "--warning", far, "--critical", far])


if __name__ == "__main__":
    unittest.main()
