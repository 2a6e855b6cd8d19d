"""A real net-snmp agent (snmpd) for the snmp check's tests: on a free UDP
port of 127.0.0.1, run as the unprivileged user, with its configuration,
persistent state and MIB files in a throwaway directory.

It answers v2c for a random community and v3 for a user with SHA and AES
and random passwords. Objects under .1.3.6.1.4.1.8072.9999 (net-snmp's
playpen) come from a `pass_persist` script whose values the test controls:

  .1.0  Gauge32    the content of the file 'gauge'
  .2.0  Counter32  a clock: milliseconds since the epoch, modulo 2^32
  .3.0  Counter32  the content of the file 'counter32'
  .4.0  Counter64  the content of the file 'counter64'
  .5.0  STRING     "tocsin test string"
  .6.0  INTEGER    the content of the file 'integer'
  .7.0  STRING     "0.15" (a number sent as text, as UCD-SNMP-MIB laLoad)

Debian ships no IETF MIB files, so the directory also holds two small
modules the check can load with mib_dirs: the system group of SNMPv2-MIB
(sysDescr, sysUpTime) and TOCSIN-TEST-MIB, which names the objects above.
"""
import os
import secrets
import shutil
import socket
import subprocess
import time

from tocsintest import Server, chown_tree, server_dir

SNMPD = "/usr/sbin/snmpd"
SNMPGET = "/usr/bin/snmpget"
BASE = ".1.3.6.1.4.1.8072.9999"

VALUE_SH = r"""#!/bin/sh
# pass_persist script: snmpd writes PING, or get/getnext/set and an OID.
# (A plain pass script's output would be cached by snmpd for 30 s.)
dir=$(dirname "$0")
base=.1.3.6.1.4.1.8072.9999
answer() {
    case "$1" in
      $base.1.0) echo "$1"; echo gauge; cat "$dir/gauge" ;;
      $base.2.0) echo "$1"; echo counter; echo $(( $(date +%s%N) / 1000000 % 4294967296 )) ;;
      $base.3.0) echo "$1"; echo counter; cat "$dir/counter32" ;;
      $base.4.0) echo "$1"; echo counter64; cat "$dir/counter64" ;;
      $base.5.0) echo "$1"; echo string; echo "tocsin test string" ;;
      $base.6.0) echo "$1"; echo integer; cat "$dir/integer" ;;
      $base.7.0) echo "$1"; echo string; echo "0.15" ;;
      *) echo NONE ;;
    esac
}
while read -r cmd; do
    case "$cmd" in
      PING) echo PONG ;;
      get) read -r oid; answer "$oid" ;;
      getnext) read -r oid; echo NONE ;;
      set) read -r oid; read -r value; echo not-writable ;;
      *) exit 0 ;;
    esac
done
"""

SNMPV2_MIB = """SNMPv2-MIB DEFINITIONS ::= BEGIN

-- The system group of SNMPv2-MIB (RFC 3418), without imports.

org            OBJECT IDENTIFIER ::= { iso 3 }
dod            OBJECT IDENTIFIER ::= { org 6 }
internet       OBJECT IDENTIFIER ::= { dod 1 }
mgmt           OBJECT IDENTIFIER ::= { internet 2 }
mib-2          OBJECT IDENTIFIER ::= { mgmt 1 }
system         OBJECT IDENTIFIER ::= { mib-2 1 }

sysDescr OBJECT-TYPE
    SYNTAX      OCTET STRING (SIZE (0..255))
    MAX-ACCESS  read-only
    STATUS      current
    DESCRIPTION "A textual description of the entity."
    ::= { system 1 }

sysUpTime OBJECT-TYPE
    SYNTAX      TimeTicks
    MAX-ACCESS  read-only
    STATUS      current
    DESCRIPTION "Time since the agent was last re-initialized."
    ::= { system 3 }

END
"""

TEST_MIB = """TOCSIN-TEST-MIB DEFINITIONS ::= BEGIN

-- Names for the objects the test agent's pass script serves.

org              OBJECT IDENTIFIER ::= { iso 3 }
dod              OBJECT IDENTIFIER ::= { org 6 }
internet         OBJECT IDENTIFIER ::= { dod 1 }
private          OBJECT IDENTIFIER ::= { internet 4 }
enterprises      OBJECT IDENTIFIER ::= { private 1 }
netSnmp          OBJECT IDENTIFIER ::= { enterprises 8072 }
tocsinTest       OBJECT IDENTIFIER ::= { netSnmp 9999 }

tocsinTestGauge OBJECT-TYPE
    SYNTAX      Gauge32
    MAX-ACCESS  read-only
    STATUS      current
    DESCRIPTION "A gauge the test sets."
    ::= { tocsinTest 1 }

tocsinTestClock OBJECT-TYPE
    SYNTAX      Counter32
    MAX-ACCESS  read-only
    STATUS      current
    DESCRIPTION "Milliseconds since the epoch, modulo 2^32."
    ::= { tocsinTest 2 }

END
"""


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SnmpServer:
    """snmpd on 127.0.0.1:port. start() waits until it answers."""

    def __init__(self):
        self.dir = None
        self.server = None
        self.port = free_udp_port()
        self.community = "c" + secrets.token_hex(8)
        self.user = "tocsinv3"
        self.auth_password = "a" + secrets.token_hex(8)
        self.priv_password = "p" + secrets.token_hex(8)
        self.mib_dir = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text, mode=0o644):
        with open(self.path(name), "w") as f:
            f.write(text)
        os.chmod(self.path(name), mode)

    def set(self, name, value):
        """Set the value the pass script serves from file `name`."""
        tmp = self.path(name + ".tmp")
        with open(tmp, "w") as f:
            f.write(f"{value}\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.path(name))

    def start(self):
        for prog in (SNMPD, SNMPGET):
            if not os.access(prog, os.X_OK):
                raise RuntimeError(f"{prog} is missing: install the snmpd and snmp "
                                   f"packages (contrib/deps)")
        self.dir = server_dir("snmpd")
        os.mkdir(self.path("persist"))
        self.mib_dir = self.path("mibs")
        os.mkdir(self.mib_dir)
        self.write("mibs/SNMPv2-MIB.txt", SNMPV2_MIB)
        self.write("mibs/TOCSIN-TEST-MIB.txt", TEST_MIB)
        self.write("value.sh", VALUE_SH, 0o755)
        self.set("gauge", 42)
        self.set("counter32", 1000)
        self.set("counter64", 1000)
        self.set("integer", -7)
        self.write("snmpd.conf",
                   f"rocommunity {self.community} 127.0.0.1\n"
                   f"createUser {self.user} SHA \"{self.auth_password}\" "
                   f"AES \"{self.priv_password}\"\n"
                   f"rouser {self.user} priv\n"
                   f"pass_persist {BASE} /bin/sh {self.path('value.sh')}\n"
                   f"sysDescr Tocsin test agent\n"
                   f"sysLocation loopback\n", 0o600)
        chown_tree(self.dir)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
               "SNMP_PERSISTENT_DIR": self.path("persist"),
               "MIBS": ""}
        # -I -smux: no SMUX listener (port 199 needs root).
        self.server = Server([SNMPD, "-f", "-Lo", "-C", "-c", self.path("snmpd.conf"),
                              "-p", self.path("snmpd.pid"), "-I", "-smux",
                              f"udp:127.0.0.1:{self.port}"],
                             cwd=self.dir, env=env, log_name="snmpd.log")
        deadline = time.monotonic() + 20
        while True:
            if self.server.proc.poll() is not None:
                raise RuntimeError(f"snmpd exited with code {self.server.proc.returncode}:\n"
                                   + self.server.output())
            if self.get(".1.3.6.1.2.1.1.3.0") is not None:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("snmpd does not answer after 20 s:\n" + self.server.output())
            time.sleep(0.2)

    def get(self, oid):
        """The value snmpget reads (v2c), as text; None without an answer."""
        p = subprocess.run([SNMPGET, "-v2c", "-c", self.community, "-t", "0.5", "-r", "0",
                            "-Oqvt", "-m", "", f"127.0.0.1:{self.port}", oid],
                           capture_output=True, text=True, timeout=10)
        return p.stdout.strip() if p.returncode == 0 else None

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def output(self):
        return self.server.output() if self.server else ""
