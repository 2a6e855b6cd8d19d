"""Helpers shared by the tests of the forwarding notifiers (icinga2,
nagios-cmd, alertmanager): running tocsin-notify, and reading what it
said."""
from tocsintest import tocsin_notify

# tocsin-notify's exit codes.
DELIVERED, FAILED, USAGE, RETRY = 0, 1, 2, 75
OUTCOMES = {DELIVERED: "delivered", FAILED: "failed", USAGE: "usage error",
            RETRY: "retry"}


def notify(plugin, *args, timeout=60, env=None):
    """Run tocsin-notify PLUGIN ARGS; return (exit code, stdout, stderr)."""
    return tocsin_notify(plugin, *args, timeout=timeout, env=env)


def said(rc, out, err):
    """How tocsin-notify ended, for assertion messages."""
    return (f"exit {rc} ({OUTCOMES.get(rc, '?')}), stdout {out!r}, "
            f"stderr {err!r}")


def result_args(host, service, state, output, perfdata="", long_output="",
                kind="result"):
    """--alert-* arguments for one check result."""
    args = ["--alert-kind", kind, "--alert-host", host, "--alert-service", service,
            "--alert-state", state, "--alert-output", output]
    if perfdata:
        args += ["--alert-perfdata", perfdata]
    if long_output:
        args += ["--alert-long-output", long_output]
    return args
