"""A throwaway Nagios 4 for the forwarding tests: a minimal nagios.cfg and
object file in a temporary directory, run as the unprivileged user, with
its external command FIFO, status.dat (rewritten every second) and
check result spool there; passive services for results sent in, and
active services whose command lines the tests give (tocsin-check)."""
import os
import shutil
import textwrap
import time

from tocsintest import Server, chown_tree, server_dir

NAGIOS = "/usr/sbin/nagios4"

TIMEPERIOD = """\
define timeperiod {
    timeperiod_name always
    alias           always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
define command {
    command_name passive
    command_line /bin/true
}
define contact {
    contact_name                  nobody
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      always
    service_notification_period   always
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    passive
    service_notification_commands passive
}
"""


def available():
    return os.access(NAGIOS, os.X_OK)


def unescape(value):
    """long_plugin_output from status.dat as text: "\\n" is a line break,
    "\\\\" a backslash (plugin_output is written as it is)."""
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value) and value[i + 1] in "n\\":
            out.append("\n" if value[i + 1] == "n" else "\\")
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


class Nagios:
    """start() runs Nagios with `passive`: {host: [service, ...]} and
    `active`: [(host, service, command_line), ...], checked every 2 s."""

    def __init__(self, passive, active=()):
        self.passive = passive
        self.active = list(active)
        self.dir = None
        self.server = None

    @property
    def command_file(self):
        return os.path.join(self.dir, "rw", "nagios.cmd")

    @property
    def status_file(self):
        return os.path.join(self.dir, "status.dat")

    def _main_config(self):
        d = self.dir
        return textwrap.dedent(f"""\
            log_file={d}/nagios.log
            cfg_file={d}/objects.cfg
            object_cache_file={d}/objects.cache
            precached_object_file={d}/objects.precache
            status_file={self.status_file}
            status_update_interval=1
            check_external_commands=1
            command_file={self.command_file}
            query_socket={d}/rw/nagios.qh
            lock_file={d}/nagios.lock
            temp_file={d}/nagios.tmp
            temp_path={d}/tmp
            check_result_path={d}/spool
            check_result_reaper_frequency=1
            retain_state_information=0
            state_retention_file={d}/retention.dat
            interval_length=1
            max_service_check_spread=1
            max_host_check_spread=1
            service_inter_check_delay_method=n
            host_inter_check_delay_method=n
            use_syslog=0
            log_passive_checks=1
            log_external_commands=1
            enable_notifications=0
            enable_flap_detection=0
            check_for_updates=0
            illegal_macro_output_chars=`~$&|'"<>
            """)

    def _objects(self):
        out = [TIMEPERIOD]
        hosts = set(self.passive) | {h for h, _, _ in self.active}
        for host in sorted(hosts):
            out.append(textwrap.dedent(f"""\
                define host {{
                    host_name             {host}
                    address               127.0.0.1
                    check_command         passive
                    active_checks_enabled 0
                    max_check_attempts    1
                    check_period          always
                    notification_period   always
                    notification_interval 0
                    contacts              nobody
                }}
                """))
        common = ("    max_check_attempts    1\n    check_period          always\n"
                  "    notification_period   always\n    notification_interval 0\n"
                  "    contacts              nobody\n")
        for host, services in self.passive.items():
            for svc in services:
                out.append(f"define service {{\n    host_name {host}\n"
                           f"    service_description {svc}\n"
                           f"    check_command passive\n    active_checks_enabled 0\n"
                           f"    passive_checks_enabled 1\n    check_interval 3600\n"
                           f"    retry_interval 3600\n{common}}}\n")
        for i, (host, svc, command_line) in enumerate(self.active):
            out.append(f"define command {{\n    command_name active{i}\n"
                       f"    command_line {command_line}\n}}\n")
            out.append(f"define service {{\n    host_name {host}\n"
                       f"    service_description {svc}\n"
                       f"    check_command active{i}\n    check_interval 2\n"
                       f"    retry_interval 2\n{common}}}\n")
        return "".join(out)

    def start(self):
        if not available():
            raise AssertionError(f"{NAGIOS} is missing: install nagios4 "
                                 f"(contrib/deps --tests)")
        self.dir = server_dir("nagios")
        for sub in ("rw", "tmp", "spool"):
            os.makedirs(os.path.join(self.dir, sub))
        with open(os.path.join(self.dir, "nagios.cfg"), "w") as f:
            f.write(self._main_config())
        with open(os.path.join(self.dir, "objects.cfg"), "w") as f:
            f.write(self._objects())
        chown_tree(self.dir)
        self.server = Server([NAGIOS, os.path.join(self.dir, "nagios.cfg")],
                             cwd=self.dir, log_name="nagios.out")
        deadline = time.monotonic() + 30
        while not (os.path.exists(self.command_file) and os.path.exists(self.status_file)):
            if self.server.proc.poll() is not None or time.monotonic() > deadline:
                out = self.server.output()
                self.stop()
                raise AssertionError(f"nagios4 did not start:\n{out}")
            time.sleep(0.1)
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None

    def cleanup(self):
        self.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def log(self):
        try:
            with open(os.path.join(self.dir, "nagios.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def services(self):
        """{(host, service): {field: raw value}} from status.dat."""
        with open(self.status_file, errors="replace") as f:
            text = f.read()
        out, block = {}, None
        for line in text.splitlines():
            line = line.strip()
            if line.endswith("{"):
                block = {} if line.startswith("servicestatus") else None
            elif line == "}":
                if block is not None:
                    out[(block.get("host_name"), block.get("service_description"))] = block
                block = None
            elif block is not None and "=" in line:
                k, _, v = line.partition("=")
                block[k] = v
        return out

    def wait_service(self, host, service, predicate, what, timeout=20):
        """Wait until status.dat shows the service with predicate(fields)
        true; return the fields. Fails with what was seen otherwise."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            try:
                seen = self.services().get((host, service))
            except OSError:
                seen = None
            if seen is not None and predicate(seen):
                return seen
            time.sleep(0.2)
        fields = {k: seen.get(k) for k in ("current_state", "plugin_output",
                                           "long_plugin_output", "performance_data",
                                           "has_been_checked")} if seen else None
        raise AssertionError(f"expected {what} for {host};{service} in status.dat within "
                             f"{timeout}s; it had {fields}\nnagios.log:\n{self.log()}")
