"""The user documentation against the programs: every option that
tocsind, tocsinctl, tocsin-check and tocsin-notify list in their --help is
in their manual page; every option of every built-in check and notifier
plugin is described by its --help (with defaults in the units the
configuration takes) and is in the table of its page under docs/; every
template placeholder is listed in tocsin.conf(5). Runs no daemon: a few
seconds."""
import os
import re
import subprocess
import unittest

from tocsintest import BUILDDIR, PLUGINS, SRCDIR, TOCSIN_CHECK, TOCSIN_NOTIFY, TOCSIND

TOCSINCTL = os.path.join(BUILDDIR, "core", "tocsinctl")
MAN = os.path.join(BUILDDIR, "docs", "man")
DOCS = os.path.join(SRCDIR, "docs")

# A command-line option in a usage text: -c, --timeout, --alert-service.
OPTION = re.compile(r"(?<![\w$-])(--?[A-Za-z][A-Za-z0-9_-]*)")
# An option line of `PLUGIN --help`: "  --name VALUE   text [default: x]".
HELP_LINE = re.compile(r"^  --(\w+) (\S+)\s+(.*)$")
# What the printer says of an option that has no description.
TYPE_ONLY = {"a duration", "a Nagios range", "an integer", "a number", "true or false", "text"}


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, TOCSIN_PLUGIN_PATH=PLUGINS))
    return p.stdout + p.stderr


def man_text(page):
    """The manual page as plain text: roff escapes for '-' and fonts gone."""
    with open(os.path.join(MAN, page)) as f:
        text = f.read()
    text = text.replace("\\-", "-").replace("\\(aq", "'")
    return re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]", "", text)


def plugins(tool):
    """Names of the built-in plugins that `tool --list` lists."""
    out = run([tool, "-p", PLUGINS, "--list"])
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def table_options(page):
    """The option names of the tables of a docs page: the backquoted names
    in the first cell of each row."""
    names = set()
    with open(page) as f:
        for line in f:
            if line.startswith("| `"):
                first = line.strip().strip("|").split("|")[0]
                names.update(re.findall(r"`(\w+)`", first))
    return names


class ProgramsInManPages(unittest.TestCase):
    def assert_in_man(self, argv, page, ignore=()):
        usage = run(argv)
        # --OPTION, --alert-FIELD: words standing for others.
        options = sorted(o for o in set(OPTION.findall(usage)) - set(ignore)
                         if not re.search(r"[A-Z]{2,}$", o))
        self.assertTrue(options, f"expected {argv} to list options; it printed {usage!r}")
        text = man_text(page)
        missing = [o for o in options
                   if not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", text)]
        self.assertEqual(missing, [], f"{' '.join(argv)} lists {missing}, which {page} "
                                      f"does not document")

    def test_tocsind(self):
        self.assert_in_man([TOCSIND, "-h"], "tocsind.8")

    def test_tocsinctl(self):
        self.assert_in_man([TOCSINCTL, "--bogus"], "tocsinctl.8", ignore=("--bogus",))

    def test_tocsin_check(self):
        self.assert_in_man([TOCSIN_CHECK, "--help"], "tocsin-check.1")

    def test_tocsin_notify(self):
        self.assert_in_man([TOCSIN_NOTIFY, "--help"], "tocsin-notify.1")


class PluginOptions(unittest.TestCase):
    """Each built-in plugin's --help against its page under docs/."""

    def check_plugin(self, tool, name, pages):
        page = next((p for p in pages if os.path.exists(p)), None)
        self.assertIsNotNone(page, f"plugin {name} has no page: expected one of {pages}")
        out = run([tool, "-p", PLUGINS, name, "--help"])
        lines = [HELP_LINE.match(l) for l in out.replace("\n" + " " * 30, " ").splitlines()]
        opts = {m.group(1): (m.group(2), m.group(3)) for m in lines if m}
        self.assertTrue(opts, f"expected {name} --help to list options; it printed {out!r}")
        documented = table_options(page)
        missing = sorted(set(opts) - documented)
        self.assertEqual(missing, [], f"{name} --help lists options that the tables of "
                                      f"{os.path.relpath(page, SRCDIR)} do not: {missing}")
        for opt, (value, text) in opts.items():
            description = re.sub(r"( \(repeatable\))?( \[default: [^]]*\])?$", "", text)
            self.assertNotIn(description, TYPE_ONLY,
                             f"{name} --help gives --{opt} no description: {text!r}")
            self.assertNotRegex(text, r"\[default: \d{4,}ms\]",
                                f"{name} --{opt}: a default in milliseconds, not in the "
                                f"units a user writes: {text!r}")
            self.assertNotRegex(value, r"^(integer|text)$",
                                f"{name} --{opt}: a type, not a value or an example")

    def test_check_plugins(self):
        names = plugins(TOCSIN_CHECK)
        self.assertIn("nagios", names, f"expected the built-in checks; --list gave {names}")
        for name in names:
            with self.subTest(plugin=name):
                self.check_plugin(TOCSIN_CHECK, name, [os.path.join(DOCS, f"check-{name}.md")])

    def test_notifier_plugins(self):
        names = plugins(TOCSIN_NOTIFY)
        self.assertIn("console", names, f"expected the built-in notifiers; --list gave {names}")
        for name in names:
            with self.subTest(plugin=name):
                self.check_plugin(TOCSIN_NOTIFY, name,
                                  [os.path.join(DOCS, f"notify-{name}.md"),
                                   os.path.join(DOCS, f"forward-{name}.md")])

    def test_durations_in_human_units(self):
        out = run([TOCSIN_CHECK, "-p", PLUGINS, "fail2ban-log", "--help"])
        self.assertRegex(out, r"(?m)^  --window 1h\s+\S.*\[default: 1h\]$",
                         f"expected '--window 1h ... [default: 1h]'; got {out!r}")

    def test_nagios_page_covers_its_options(self):
        out = run([TOCSIN_CHECK, "-p", PLUGINS, "nagios", "--help"])
        opts = set(re.findall(r"(?m)^  --(\w+) ", out))
        self.assertTrue({"command", "environment"} <= opts, f"nagios --help: {out!r}")
        self.assertEqual(sorted(opts - table_options(os.path.join(DOCS, "check-nagios.md"))),
                         [], "docs/check-nagios.md misses options of the nagios check")


class TemplatePlaceholders(unittest.TestCase):
    def test_every_placeholder_is_in_tocsin_conf_5(self):
        with open(os.path.join(SRCDIR, "core", "lib", "template.c")) as f:
            src = f.read()
        table = re.search(r"placeholders\[\] = \{(.*?)\};", src, re.S)
        self.assertIsNotNone(table, "expected the placeholder table in core/lib/template.c")
        names = re.findall(r'"(\w+)"', table.group(1))
        self.assertIn("service", names)
        text = man_text("tocsin.conf.5")
        missing = [n for n in names + ["label:"] if "{" + n not in text]
        self.assertEqual(missing, [], f"tocsin.conf(5) does not list the placeholders "
                                      f"{missing}")


if __name__ == "__main__":
    unittest.main()
