#!/usr/bin/env python3
"""Soak test of the alert pipeline under faults: an alert storm while the
daemon is killed with SIGKILL and restarted, reloaded with changed
configurations, and has its workers killed; then what was lost.

    bench/soak.py                     # 3 minutes of storm, then settling
    bench/soak.py --minutes 10 --services 300 --seed 7 --keep

What it runs: tocsind with a throwaway directory (configuration, state
directory with the SQLite store, log), N services (default 200) that are
each an exec check `sh -c 'test ! -e DIR/down/NAME || exit 2'`, OK while
the file is missing and CRITICAL while it exists, every second,
max_attempts = 1, flap detection off; and one route to the `webhook`
notifier aimed at an HTTP receiver in this script on 127.0.0.1, which
records every alert of every request it answers 200 to (a few requests,
--fail-rate, are answered 503 instead and record nothing: the notifier
retries them).

The storm (--minutes): every 0.2 s a few services are flipped (their file
created or removed); every --event seconds (randomly around it) one fault
is injected: SIGKILL to the daemon's process group and a restart over the
same state directory, a reload (SIGHUP) after rewriting the configuration
(changing some services' labels, adding services, or removing services
that are OK), or SIGKILL to one of the daemon's worker processes. Then
every file is removed, and the script waits until every configured
service's last recorded hard state is OK, the outbox holds nothing
pending and nothing new has arrived for a while (at most --settle
seconds), stops the daemon with SIGTERM and compares.

Ground truth: the hard changes the daemon recorded, from the `history`
table of its store (kind "state", "OLD -> NEW (hard)"), every run of the
daemon together, in order per service. From them, per service, the
notifications that must have been delivered: a change to a problem state
opens an incident, if none is open, and must be told as a "problem" alert
with that state; a further problem state while it is open (CRITICAL to
UNKNOWN, when a killed worker's check is judged UNKNOWN) must be told as a
"problem" alert with the new state; a change to OK closes the incident and
must be told as a "recovery". An alert received belongs to an expected
notification when it has the same service, kind and state and its
incident key ("HOST/SERVICE/EPOCH") names a problem start within 1.5 s
of the change that opened the incident.

Lost: an expected notification no alert received belongs to. Excused,
and counted apart as "coalesced", are the problem and recovery of an
incident that recovered before its problem went out (the daemon logs
"recovered before its problem went out, so neither is sent" for the
service between the two changes), and a notification the daemon recorded
as suppressed in its history. Duplicates: alerts received beyond the first
for the same expected notification (allowed: delivery is at least once,
and a SIGKILL between sending and recording the outcome sends again).
Out of order: an expected notification whose first alert arrived before
the first alert of the notification that precedes it for the service.
Unexpected: alerts received that belong to no expected notification.
Open: incidents of which the receiver got a problem and no recovery.
Last recorded state not OK: configured services, OK at the end, whose last
recorded hard change is to a problem state: a recovery the daemon never
recorded (nor sent), which leaves an incident open at the receiver.

Prints the figures and, for each lost notification, the service, the
change and what was missing; the last line is `lost=N duplicates=N
open=N`. The exit status is 1 when lost or open is not 0, 2 when the run
itself failed. See bench/README.md.
"""

import os
import sys

# bench/http.py would shadow the standard library's http package.
sys.path = [p for p in sys.path
            if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import datetime  # noqa: E402
import http.server  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE_RE = re.compile(r"^(OK|WARNING|CRITICAL|UNKNOWN) -> (OK|WARNING|CRITICAL|UNKNOWN) \(hard\)")
LOG_TIME_RE = re.compile(r"^(\S+ [+-]\d{4}) ")
COALESCED_RE = re.compile(r"service '([^']+)': recovered before its problem went out")
PROBLEM_STATES = ("WARNING", "CRITICAL", "UNKNOWN")


class SoakError(Exception):
    """The run could not be carried out; the message says why."""


def log_time(stamp):
    """A daemon log timestamp ("2026-11-22T20:47:27.431 +0000") in seconds."""
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f %z").timestamp()


# ---------------------------------------------------------------------------
# The receiver

class Receiver:
    """An HTTP server on 127.0.0.1 taking the webhook's POSTs. For each
    request it answers 200, it records every alert as (arrival number,
    service, kind, state, incident); a fraction `fail_rate` of requests is
    answered 503 and recorded as nothing."""

    def __init__(self, fail_rate, rng):
        self.lock = threading.Lock()
        self.alerts = []
        self.requests = 0
        self.refused = 0
        self.last_arrival = time.monotonic()
        rcv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with rcv.lock:
                    rcv.requests += 1
                    refuse = rng.random() < fail_rate
                    if refuse:
                        rcv.refused += 1
                    else:
                        try:
                            alerts = json.loads(body)["alerts"]
                        except (ValueError, KeyError, TypeError):
                            alerts = []
                        for a in alerts:
                            rcv.alerts.append((len(rcv.alerts), a.get("service"), a.get("kind"),
                                               a.get("state"), a.get("incident") or ""))
                        rcv.last_arrival = time.monotonic()
                code = 503 if refuse else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no" if refuse else b"ok")

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A daemon killed in the middle of a request resets it.
                if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self):
        with self.lock:
            return list(self.alerts)

    def save(self, path):
        """The record, one JSON array per alert, for a look afterwards."""
        with open(path, "w") as f:
            for a in self.snapshot():
                f.write(json.dumps(a) + "\n")

    def quiet_for(self):
        with self.lock:
            return time.monotonic() - self.last_arrival

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------
# The daemon

class Daemon:
    """tocsind over one directory, started and killed again and again."""

    def __init__(self, args, directory, port, rng):
        self.args = args
        self.rng = rng
        self.dir = directory
        self.down = os.path.join(directory, "down")
        os.mkdir(self.down)
        self.conf = os.path.join(directory, "tocsin.conf")
        self.log_path = os.path.join(directory, "tocsind.log")
        self.db = os.path.join(directory, "state", "tocsin.db")
        self.port = port
        self.pool = ["s%03d" % i for i in range(args.services + args.services // 4)]
        self.active = set(self.pool[:args.services])
        self.labels = {name: "a" for name in self.pool}
        self.proc = None
        self.log = open(self.log_path, "a")
        self.write_conf()

    def write_conf(self):
        with open(self.conf + ".new", "w") as f:
            f.write('host = "soak"\nmax_check_spread = 1s\n')
            f.write('state_dir = "%s/state"\ncontrol_socket = "%s/tocsind.sock"\n'
                    % (self.dir, self.dir))
            f.write('notifier "hook" {\n    plugin = "webhook"\n'
                    '    url = "http://127.0.0.1:%d/hook"\n    timeout = 10s\n'
                    '    retry_min = 1s\n    retry_max = 3s\n}\n' % self.port)
            f.write('route "all" {\n    notifiers = { "hook" }\n}\n')
            for name in sorted(self.active):
                f.write('service "%s" {\n    check = "nagios"\n'
                        "    command = \"/bin/sh -c 'test ! -e %s/%s || exit 2'\"\n"
                        '    interval = 1s\n    retry_interval = 1s\n'
                        '    max_attempts = 1\n    timeout = 10s\n'
                        '    flap_detection = false\n'
                        '    labels {\n        team = "%s"\n    }\n}\n'
                        % (name, self.down, name, self.labels[name]))
        os.replace(self.conf + ".new", self.conf)

    def start(self):
        argv = [self.args.tocsind, "-f", "-c", self.conf, "-p", self.args.plugins,
                "-l", "info"]
        self.log.write("=== soak: starting %s\n" % " ".join(argv))
        self.log.flush()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.db):
            if self.proc.poll() is not None:
                raise SoakError("tocsind exited at start:\n" + self.tail())
            if time.monotonic() > deadline:
                raise SoakError("tocsind made no store within 30 s:\n" + self.tail())
            time.sleep(0.05)

    def tail(self, n=20):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL to the core and everything in its session, as a crash
        and its service manager's clean-up would do."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None

    def workers(self):
        """Pids of the daemon's direct children (its workers)."""
        if not self.alive():
            return []
        out = subprocess.run(["ps", "--ppid", str(self.proc.pid), "-o", "pid="],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def reload(self):
        self.write_conf()
        if self.alive():
            self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self.log.close()

    def flip(self, name, down):
        path = os.path.join(self.down, name)
        if down:
            open(path, "w").close()
        elif os.path.exists(path):
            os.unlink(path)

    def is_down(self, name):
        return os.path.exists(os.path.join(self.down, name))

    # The store, read-only.
    def query(self, sql, params=()):
        try:
            con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=5)
            try:
                return con.execute(sql, params).fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            return None

    def last_hard(self):
        """Each service's last recorded hard state, from the history."""
        rows = self.query("SELECT service, text FROM history WHERE kind = 'state' ORDER BY id")
        if rows is None:
            return None
        last = {}
        for service, text in rows:
            m = STATE_RE.match(text)
            if m:
                last[service] = m.group(2)
        return last

    def pending(self):
        rows = self.query("SELECT count(*) FROM outbox WHERE status = 1")
        return None if rows is None else rows[0][0]


# ---------------------------------------------------------------------------
# The storm

def storm(args, daemon, receiver, rng, counts):
    end = time.monotonic() + args.minutes * 60
    next_event = time.monotonic() + rng.uniform(0.5, 1.5) * args.event
    while time.monotonic() < end:
        for name in rng.sample(sorted(daemon.active), min(args.flips, len(daemon.active))):
            daemon.flip(name, not daemon.is_down(name))
            counts["flips"] += 1
        if not daemon.alive():
            raise SoakError("tocsind died by itself:\n" + daemon.tail())
        if time.monotonic() >= next_event:
            fault(args, daemon, receiver, rng, counts)
            next_event = time.monotonic() + rng.uniform(0.5, 1.5) * args.event
        time.sleep(0.2)


def fault(args, daemon, receiver, rng, counts):
    roll = rng.random()
    if roll < 0.3:
        daemon.kill()
        time.sleep(rng.uniform(0, 2))
        daemon.start()
        counts["daemon kills"] += 1
    elif roll < 0.65:
        reload_changed(daemon, receiver, rng, counts)
    else:
        pids = daemon.workers()
        if pids:
            try:
                os.kill(rng.choice(pids), signal.SIGKILL)
                counts["worker kills"] += 1
            except ProcessLookupError:
                pass


def reload_changed(daemon, receiver, rng, counts):
    """Rewrite the configuration (labels changed, services added, or OK
    services removed) and reload."""
    what = rng.random()
    if what < 0.5:
        for name in rng.sample(sorted(daemon.active), min(10, len(daemon.active))):
            daemon.labels[name] = "b" if daemon.labels[name] == "a" else "a"
        counts["reloads: labels changed"] += 1
    elif what < 0.75:
        absent = [n for n in daemon.pool if n not in daemon.active]
        for name in rng.sample(absent, min(5, len(absent))):
            daemon.flip(name, False)
            daemon.active.add(name)
        counts["reloads: services added"] += 1
    else:
        last = daemon.last_hard() or {}
        open_at_receiver = receiver_open(receiver.snapshot())
        quiet = [n for n in sorted(daemon.active)
                 if not daemon.is_down(n) and last.get(n, "OK") == "OK"
                 and n not in open_at_receiver]
        for name in rng.sample(quiet, min(5, len(quiet))):
            daemon.active.discard(name)
        counts["reloads: services removed"] += 1
    daemon.reload()


def settle(args, daemon, receiver):
    """Every service back to OK; wait until the daemon recorded it, sent
    everything and the receiver heard nothing for a while."""
    for name in daemon.pool:
        daemon.flip(name, False)
    deadline = time.monotonic() + args.settle
    while time.monotonic() < deadline:
        if not daemon.alive():
            raise SoakError("tocsind died while settling:\n" + daemon.tail())
        last = daemon.last_hard()
        pending = daemon.pending()
        if last is None or pending != 0:
            time.sleep(0.5)
            continue
        # Everything OK and told; or nothing pending nor arriving for 30 s
        # while some service's last recorded hard state is still a
        # problem (then it stays one: reported below).
        quiet = receiver.quiet_for()
        if quiet > 30 or (quiet > 5 and all(last.get(n, "OK") == "OK" for n in daemon.active)):
            return True
        time.sleep(0.5)
    return False


# ---------------------------------------------------------------------------
# Comparing

def incident_epoch(key):
    try:
        return int(key.rsplit("/", 1)[1])
    except (IndexError, ValueError):
        return None


def receiver_open(alerts):
    """Services with an incident of which a problem arrived and no
    recovery: {service: [incident keys]}."""
    state = {}
    for _, service, kind, _, incident in alerts:
        if kind == "problem":
            state.setdefault(service, {}).setdefault(incident, "open")
        elif kind == "recovery":
            state.setdefault(service, {})[incident] = "closed"
    return {s: [k for k, v in incs.items() if v == "open"]
            for s, incs in state.items() if any(v == "open" for v in incs.values())}


def expected_notifications(history):
    """From the recorded hard changes, per service, the notifications due:
    [(at_s, old, new, kind, state, epoch)] in order, epoch being when the
    incident they belong to began."""
    due = {}
    open_at = {}
    for at_ms, service, text in history:
        m = STATE_RE.match(text)
        if not m:
            continue
        old, new = m.group(1), m.group(2)
        at = at_ms / 1000.0
        if new in PROBLEM_STATES:
            if service not in open_at:
                open_at[service] = at
            due.setdefault(service, []).append((at, old, new, "problem", new, open_at[service]))
        elif service in open_at:
            due.setdefault(service, []).append((at, old, new, "recovery", "OK", open_at[service]))
            del open_at[service]
    return due


def compare(daemon, receiver):
    history = daemon.query("SELECT at_ms, service, text FROM history "
                           "WHERE kind = 'state' ORDER BY id") or []
    suppressed = daemon.query("SELECT at_ms, service, text FROM history "
                              "WHERE kind = 'suppressed' ORDER BY id") or []
    sent = daemon.query("SELECT count(*) FROM outbox WHERE kind IN (0, 1)") or [[0]]
    alerts = receiver.snapshot()
    coalesced_logs = {}
    with open(daemon.log_path, errors="replace") as f:
        for line in f:
            m = COALESCED_RE.search(line)
            t = LOG_TIME_RE.match(line)
            if m and t:
                coalesced_logs.setdefault(m.group(1), []).append(log_time(t.group(1)))
    suppressed_at = {}
    for at_ms, service, _ in suppressed:
        suppressed_at.setdefault(service, []).append(at_ms / 1000.0)

    by_service = {}
    for seq, service, kind, state, incident in alerts:
        if kind in ("problem", "recovery"):
            by_service.setdefault(service, []).append((seq, kind, state, incident))
    due = expected_notifications(history)
    lost, coalesced, duplicates, out_of_order = [], 0, 0, 0
    used = set()
    for service, items in sorted(due.items()):
        got = by_service.get(service, [])
        matched = []                    # per item: first arrival, or None
        for at, old, new, kind, state, epoch in items:
            hits = [g for g in got if g[1] == kind and g[2] == state
                    and incident_epoch(g[3]) is not None
                    and abs(incident_epoch(g[3]) - epoch) <= 1.5 and g[0] not in used]
            if hits:
                used.add(hits[0][0])
                matched.append(hits[0][0])
            else:
                matched.append(None)
        # Coalesced pairs: a problem and the recovery after it, neither
        # received, with the daemon's word that neither was sent.
        excused = set()
        for i, (at, old, new, kind, state, epoch) in enumerate(items):
            if matched[i] is not None:
                continue
            if any(at - 1 <= t for t in suppressed_at.get(service, [])
                   if t <= at + 5):
                excused.add(i)
                continue
            if kind == "recovery":
                prob = [j for j in range(i) if items[j][5] == epoch and matched[j] is None]
                if prob and any(epoch - 1 <= t <= at + 5
                                for t in coalesced_logs.get(service, [])):
                    excused.add(i)
                    excused.update(prob)
        coalesced += len(excused)
        prev = -1
        for i, (at, old, new, kind, state, epoch) in enumerate(items):
            if matched[i] is None:
                if i not in excused:
                    lost.append((service, at, old, new, kind, state, epoch))
                continue
            if matched[i] < prev:
                out_of_order += 1
            prev = max(prev, matched[i])
    # Alerts left over that repeat one already matched are duplicates; the
    # rest belong to nothing recorded.
    matched_keys = {(a[1], a[2], a[3], a[4]) for a in alerts if a[0] in used}
    unexpected = []
    for a in alerts:
        if a[2] in ("problem", "recovery") and a[0] not in used:
            if (a[1], a[2], a[3], a[4]) in matched_keys:
                duplicates += 1
            else:
                unexpected.append(a)
    open_left = receiver_open(alerts)
    last_change = {}
    for at_ms, service, text in history:
        last_change[service] = (at_ms / 1000.0, text.split(":")[0])
    configured = daemon.active
    not_ok = {s: last_change[s] for s in configured
              if s in last_change and STATE_RE.match(last_change[s][1])
              and STATE_RE.match(last_change[s][1]).group(2) != "OK"}
    return {
        "last_change": last_change, "not_ok": not_ok,
        "history": history, "due": due, "alerts": alerts, "sent": sent[0][0],
        "lost": lost, "coalesced": coalesced, "duplicates": duplicates,
        "out_of_order": out_of_order, "unexpected": unexpected, "open": open_left,
    }


def stamp(t):
    return time.strftime("%H:%M:%S", time.localtime(t)) + ".%03d" % (int(t * 1000) % 1000)


def report(args, counts, result, settled, receiver):
    n_due = sum(len(v) for v in result["due"].values())
    n_open = sum(len(v) for v in result["open"].values())
    print("soak: %.1f min of storm over %d services (seed %d)"
          % (args.minutes, args.services, args.seed))
    for key in sorted(counts):
        print("  %-28s %d" % (key, counts[key]))
    print("  %-28s %d" % ("hard changes recorded", len(result["history"])))
    print("  %-28s %d" % ("notifications due", n_due))
    print("  %-28s %d" % ("notifications queued", result["sent"]))
    print("  %-28s %d (%d requests, %d answered 503)"
          % ("alerts received", len(result["alerts"]), receiver.requests, receiver.refused))
    print("  %-28s %d" % ("coalesced (not sent, by design)", result["coalesced"]))
    print("  %-28s %d" % ("duplicates", result["duplicates"]))
    print("  %-28s %d" % ("out of order", result["out_of_order"]))
    print("  %-28s %d" % ("unexpected", len(result["unexpected"])))
    print("  %-28s %d" % ("lost", len(result["lost"])))
    print("  %-28s %d" % ("open at the receiver", n_open))
    print("  %-28s %d" % ("last recorded state not OK", len(result["not_ok"])))
    if not settled:
        print("  (the daemon had not settled within %d s)" % args.settle)
    for service, at, old, new, kind, state, epoch in result["lost"][:50]:
        print("lost: service %s: hard change %s -> %s at %s: no %s (%s) of the incident "
              "begun at %s was received" % (service, old, new, stamp(at), kind, state,
                                            stamp(epoch)))
    if len(result["lost"]) > 50:
        print("lost: ... and %d more" % (len(result["lost"]) - 50))
    for service, keys in sorted(result["open"].items()):
        at, text = result["last_change"].get(service, (None, "none"))
        for key in keys:
            print("open: service %s: incident %s: a problem was received, no recovery; "
                  "its last recorded hard change: %s at %s"
                  % (service, key, text, stamp(at) if at else "-"))
    for service, (at, text) in sorted(result["not_ok"].items()):
        print("not OK: service %s: OK again at the end, but its last recorded hard change "
              "is %s at %s" % (service, text, stamp(at)))
    for seq, service, kind, state, incident in result["unexpected"][:20]:
        print("unexpected: service %s: %s (%s) of incident %s matches no recorded change"
              % (service, kind, state, incident))
    print("lost=%d duplicates=%d open=%d" % (len(result["lost"]), result["duplicates"], n_open))
    return 1 if result["lost"] or n_open else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=3, help="length of the storm (default 3)")
    p.add_argument("--services", type=int, default=200, help="services at the start (default 200)")
    p.add_argument("--flips", type=int, default=3,
                   help="services flipped every 0.2 s (default 3)")
    p.add_argument("--event", type=float, default=4,
                   help="mean seconds between faults (default 4)")
    p.add_argument("--fail-rate", type=float, default=0.02,
                   help="share of requests the receiver answers 503 (default 0.02)")
    p.add_argument("--settle", type=int, default=180,
                   help="seconds allowed to settle after the storm (default 180)")
    p.add_argument("--seed", type=int, default=int(time.time()) % 100000,
                   help="seed of the random choices (default: from the clock)")
    p.add_argument("--keep", action="store_true", help="keep the directory and print its path")
    p.add_argument("--tocsind", default=os.path.join(ROOT, "core", "tocsind"))
    p.add_argument("--plugins", default=os.path.join(ROOT, "plugins"))
    args = p.parse_args()
    for path, what in ((args.tocsind, "--tocsind"), (args.plugins, "--plugins")):
        if not os.path.exists(path):
            print("soak: %s %s does not exist (build the tree, or run from the build "
                  "directory)" % (what, path), file=sys.stderr)
            return 2
    rng = random.Random(args.seed)
    directory = tempfile.mkdtemp(prefix="tocsin-soak-")
    receiver = Receiver(args.fail_rate, random.Random(args.seed + 1))
    daemon = Daemon(args, directory, receiver.port, rng)
    counts = {"flips": 0, "daemon kills": 0, "worker kills": 0,
              "reloads: labels changed": 0, "reloads: services added": 0,
              "reloads: services removed": 0}
    stop = []

    def on_signal(sig, frame):
        stop.append(sig)
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    rc = 2
    try:
        daemon.start()
        storm(args, daemon, receiver, rng, counts)
        settled = settle(args, daemon, receiver)
        daemon.stop()
        receiver.save(os.path.join(directory, "received.jsonl"))
        rc = report(args, counts, compare(daemon, receiver), settled, receiver)
    except SoakError as e:
        print("soak: %s" % e, file=sys.stderr)
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
    finally:
        if daemon.proc is not None:
            daemon.stop()
        receiver.stop()
        if args.keep:
            print("soak: kept %s" % directory, file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
