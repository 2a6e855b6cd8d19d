"""tocsind -t on real configuration files: a valid configuration passes,
and every problem is reported as FILE:LINE: message, with the file and
line where it is, a message that says what is wrong, and a non-zero exit."""
import os
import re
import unittest

from tocsintest import ConfDir, check_config

DUMMY = 'service "ok" {\n    check = "dummy"\n}\n'


class ConfigTest(unittest.TestCase):
    def conf(self, main="", files=None):
        c = ConfDir(main, files)
        self.addCleanup(c.cleanup)
        return c

    def check(self, conf):
        """Run tocsind -t; return (exit code, stderr without plugin
        loading warnings, full output for messages)."""
        rc, out, err = check_config(conf.path)
        errors = "\n".join(l for l in err.splitlines() if not l.startswith("warning: "))
        return rc, errors, f"exit code {rc}\nstdout:\n{out}\nstderr:\n{err}"

    def assert_invalid(self, conf, file, line, message):
        """Expect a non-zero exit and a line `file:line: ...` whose message
        matches the regular expression `message`. Returns all error lines."""
        rc, errors, everything = self.check(conf)
        self.assertNotEqual(rc, 0, f"expected tocsind -t to fail; it said:\n{everything}")
        prefix = f"{file}:{line}: "
        lines = [l for l in errors.splitlines() if l.startswith(prefix)]
        self.assertTrue(lines, f"expected an error at {prefix!r}; got:\n{everything}")
        self.assertTrue(any(re.search(message, l[len(prefix):]) for l in lines),
                        f"expected the error at {prefix!r} to match {message!r}; "
                        f"got:\n{everything}")
        return errors.splitlines()

    # -- valid ---------------------------------------------------------

    def test_valid_configuration_passes(self):
        c = self.conf(
            "# the main file\n"
            "max_check_spread = 10s\n"
            "worker_memory_limit = 512\n"
            'notifier "console" {\n    plugin = "console"\n    target = "stderr"\n}\n'
            'service "main-dummy" {\n    check = "dummy"\n    interval = 30s\n'
            '    labels {\n        team = "ops"\n    }\n}\n',
            {"10-load.conf": 'service "load" {\n    check = "load"\n'
                             '    warning = "3.0"\n    critical = "5.0"\n}\n',
             "20-nagios.conf": 'service "true" {\n    check = "nagios"\n'
                               '    command = "/bin/true"\n    timeout = 2s\n'
                               '    timeout_state = "critical"\n}\n'})
        rc, errors, everything = self.check(c)
        self.assertEqual(rc, 0, f"expected a valid configuration; got:\n{everything}")
        self.assertEqual(errors, "", f"expected no error lines; got:\n{everything}")
        self.assertIn(f"{c.path}: configuration is valid: 3 services, 1 notifiers",
                      everything, "expected the summary line with 3 services and 1 notifier")

    # -- options ---------------------------------------------------------
    def test_store_sync(self):
        for value in ("normal", "full", "FULL"):
            c = self.conf(f'store_sync = "{value}"\n' + DUMMY)
            rc, errors, everything = self.check(c)
            self.assertEqual(rc, 0, f"expected store_sync = {value} to be valid; "
                                    f"got:\n{everything}")
        c = self.conf('# durability\nstore_sync = "sometimes"\n' + DUMMY)
        self.assert_invalid(c, c.path, 2, r'store_sync "sometimes" is not one of normal, full')


    def test_unknown_option_in_main_file(self):
        c = self.conf("max_check_spread = 10s\nbogus_option = 3\n" + DUMMY)
        self.assert_invalid(c, c.path, 2, r"no such option 'bogus_option'")

    def test_unknown_option_in_confd_file(self):
        c = self.conf("", {"web.conf": 'service "web" {\n    check = "dummy"\n'
                                       '    interval = 30s\n    frobnicate = "yes"\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "web.conf"), 4,
                            r"no such option 'frobnicate'")

    def test_option_of_wrong_type(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    max_attempts = "three"\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 3,
                            r"invalid integer value for option 'max_attempts'")

    def test_option_of_another_plugin(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    state = "ok"\n    command = "/bin/true"\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 4,
                            r"option 'command' is not an option of check plugin 'dummy'")

    def test_bad_duration(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    interval = 5x\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 3,
                            r"option 'interval': bad duration \"5x\"")

    def test_hard_after_and_max_attempts_exclude_each_other(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    max_attempts = 4\n    hard_after = 5m\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 4,
                            r"service 'a': hard_after and max_attempts \(line 3\) exclude "
                            r"each other")

    def test_hard_after_must_be_positive(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    hard_after = 0s\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 3,
                            r"hard_after must be greater than zero")

    def test_hard_after_alone_is_valid(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    hard_after = 5m\n}\n'})
        rc, errors, everything = self.check(c)
        self.assertEqual((rc, errors), (0, ""), everything)

    def test_at_and_interval_exclude_each_other(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    interval = 5m\n    at = { "09:00" }\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 4,
                            r"service 'a': at and interval \(line 3\) exclude each other")

    def test_at_bad_time_timezone_and_period(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    at = { "09:00", "25:00" }\n'
                                     '    timezone = "Mars/Olympus"\n'
                                     '    check_period = "nowhere"\n}\n'})
        f = os.path.join(c.confd, "a.conf")
        self.assert_invalid(c, f, 3, r"at: \"25:00\" is not a time of day")
        self.assert_invalid(c, f, 4, r"service 'a': timezone: .*Mars/Olympus")

    def test_check_period_must_exist(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    at = { "09:00" }\n'
                                     '    check_period = "nowhere"\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 2,
                            r"service 'a': check_period: no time period named 'nowhere'")

    def test_at_with_zone_and_period_is_valid(self):
        c = self.conf("", {"a.conf": 'timeperiod "work" {\n    weekdays = { "mon-fri" }\n}\n'
                                     'service "a" {\n    check = "dummy"\n'
                                     '    at = { "09:00", "13:00", "17:00" }\n'
                                     '    timezone = "Europe/Paris"\n'
                                     '    check_period = "work"\n}\n'})
        rc, errors, everything = self.check(c)
        self.assertEqual((rc, errors), (0, ""), everything)

    def test_bad_range(self):
        c = self.conf("", {"load.conf": 'service "load" {\n    check = "load"\n'
                                        '    warning = "10"\n    critical = "20:10"\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "load.conf"), 4,
                            r"option 'critical': .*20:10.*start 20 is greater than end 10")

    # -- names -----------------------------------------------------------

    def test_duplicate_service_in_one_file(self):
        c = self.conf("", {"a.conf": 'service "twice" {\n    check = "dummy"\n}\n\n'
                                     'service "twice" {\n    check = "dummy"\n}\n'})
        f = os.path.join(c.confd, "a.conf")
        self.assert_invalid(c, f, 6, rf"duplicate service 'twice' \(first defined at "
                                     rf"{re.escape(f)}:2\)")

    def test_duplicate_service_across_files_blames_the_later_file(self):
        # Written in reverse order: the files are read sorted by name, not
        # in the order the directory lists them.
        c = self.conf("", {"20-b.conf": "# second\n\nservice \"db\" {\n    check = \"dummy\"\n}\n",
                           "10-a.conf": "service \"db\" {\n    check = \"dummy\"\n}\n"})
        a = os.path.join(c.confd, "10-a.conf")
        b = os.path.join(c.confd, "20-b.conf")
        lines = self.assert_invalid(
            c, b, 4, rf"duplicate service 'db' \(first defined at {re.escape(a)}:2\)")
        self.assertFalse([l for l in lines if l.startswith(a + ":")],
                         "expected no error blamed on 10-a.conf, which is read first; "
                         "got:\n" + "\n".join(lines))

    # -- plugins ---------------------------------------------------------

    def test_unknown_check_plugin_lists_available_ones(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    interval = 1m\n'
                                     '    check = "nosuch"\n}\n'})
        lines = self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 3,
                                    r"unknown check plugin 'nosuch' \(available: .*\)")
        listed = re.search(r"\(available: (.*)\)", lines[0]).group(1).split(", ")
        for name in ("dummy", "load", "disk", "nagios"):
            self.assertIn(name, listed, f"expected {name} among the available plugins; "
                                        f"got: {lines[0]}")
        self.assertNotIn("console", listed,
                         f"expected no notifier among the check plugins; got: {lines[0]}")

    def test_unknown_notifier_plugin(self):
        c = self.conf('notifier "pager" {\n    plugin = "carrier-pigeon"\n}\n' + DUMMY)
        lines = self.assert_invalid(c, c.path, 2, r"unknown notifier plugin 'carrier-pigeon' "
                                                  r"\(available: .*console.*\)")
        self.assertNotRegex(lines[0], r"\bdummy\b",
                            "expected only notifier plugins to be listed")

    def test_plugin_built_for_another_abi_is_refused(self):
        c = self.conf("", {"abi.conf": '\nservice "old" {\n    check = "badabi"\n}\n'})
        lines = self.assert_invalid(c, os.path.join(c.confd, "abi.conf"), 3,
                                    r"check plugin 'badabi' cannot be used")
        line = lines[0]
        self.assertRegex(line, r"/badabi\.(la|so)\b",
                         "expected the message to name the plugin's file")
        self.assertRegex(line, r"\bABI 99\b", "expected the plugin's ABI version (99)")
        self.assertRegex(line, r"\bABI 2\b", "expected Tocsin's own ABI version (2)")

    def test_nagios_service_without_command_is_refused_by_the_plugin(self):
        c = self.conf("", {"n.conf": '# no command\nservice "nocmd" {\n'
                                     '    check = "nagios"\n    timeout = 5s\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "n.conf"), 3,
                            r"service 'nocmd': option 'command' is required")

    def test_dummy_with_bad_state_is_refused_by_the_plugin(self):
        c = self.conf(DUMMY, {"d.conf": 'service "bogus" {\n    check = "dummy"\n'
                                        '    state = "bogus"\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "d.conf"), 2,
                            r"service 'bogus': state \"bogus\" is not one of ok, "
                            r"warning, critical, unknown")

    def test_nagios_command_that_cannot_run_is_refused(self):
        c = self.conf(DUMMY)
        missing = os.path.join(c.dir, "gone", "check_gone")
        c.write("n.conf",
                'service "missing" {\n    check = "nagios"\n'
                f'    command = "{missing} -w 1"\n}}\n'
                'service "bare" {\n    check = "nagios"\n'
                '    command = "check_tocsin_not_installed -H x"\n}\n'
                'service "dir" {\n    check = "nagios"\n'
                f'    command = "{c.dir}"\n}}\n')
        n = os.path.join(c.confd, "n.conf")
        self.assert_invalid(c, n, 2, rf"service 'missing': option 'command': "
                                     rf"{re.escape(missing)}: No such file or directory")
        self.assert_invalid(c, n, 6, r"service 'bare': option 'command': "
                                     r"check_tocsin_not_installed not found in PATH, "
                                     r"/usr/lib/nagios/plugins or /usr/lib/monitoring-plugins")
        self.assert_invalid(c, n, 10, rf"service 'dir': option 'command': "
                                      rf"{re.escape(c.dir)} is a directory")

    def test_nagios_command_not_executable_is_refused(self):
        c = self.conf(DUMMY)
        noexec = os.path.join(c.dir, "check_noexec")
        with open(noexec, "w") as f:
            f.write("#!/bin/sh\necho OK\n")
        os.chmod(noexec, 0o644)
        c.write("n.conf", 'service "noexec" {\n    check = "nagios"\n'
                          f'    command = "{noexec} -w 1"\n}}\n')
        self.assert_invalid(c, os.path.join(c.confd, "n.conf"), 2,
                            rf"service 'noexec': option 'command': {re.escape(noexec)} "
                            r"is not executable: Permission denied")

    # -- global options in the wrong place -------------------------------

    def test_global_option_inside_a_service(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    log_level = "debug"\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 3,
                            r"^log_level is a global option: put it at the top level of "
                            + re.escape(c.path) + "$")

    def test_global_option_inside_a_service_of_the_main_file(self):
        c = self.conf('service "a" {\n    check = "dummy"\n    workers = 4\n}\n')
        self.assert_invalid(c, c.path, 3, r"^workers is a global option: put it at the top "
                                          r"level of " + re.escape(c.path) + "$")

    def test_global_option_in_a_confd_file(self):
        c = self.conf("", {"a.conf": DUMMY.replace('"ok"', '"a"') + 'max_check_spread = 5s\n'})
        self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 4,
                            r"^max_check_spread is a global option: put it at the top level")

    def test_unquoted_duration_with_a_blank_says_to_quote_it(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    interval = 5 minutes\n}\n'})
        self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 3,
                            r"no such option 'minutes': a duration with a blank needs quotes")

    def test_unknown_option_that_is_no_global_one_keeps_libconfuse_message(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    loglevel = "debug"\n}\n'})
        lines = self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 3,
                                    r"^no such option 'loglevel'")
        self.assertFalse([l for l in lines if "global option" in l],
                         "expected no global-option hint for a name that is none: "
                         + "\n".join(lines))

    # -- references --------------------------------------------------------

    def test_dependency_of_the_first_service_on_an_unknown_one(self):
        # Service #0: its unresolved parent must not read as a cycle.
        c = self.conf("", {"a.conf": 'service "first" {\n    check = "dummy"\n\n'
                                     '    depends = { "ghost" }\n}\n'
                                     'service "second" {\n    check = "dummy"\n'
                                     '    depends = { "first" }\n}\n'})
        lines = self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 4,
                                    r"^service 'first': depends on unknown service 'ghost'")
        self.assertFalse([l for l in lines if "cycle" in l],
                         "expected no dependency cycle reported: " + "\n".join(lines))
        self.assertEqual(len(lines), 1, "expected exactly one error: " + "\n".join(lines))

    def test_dependency_on_itself(self):
        c = self.conf("", {"a.conf": 'service "self" {\n    check = "dummy"\n'
                                     '    depends = { "self" }\n}\n'})
        lines = self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 3,
                                    r"^service 'self': depends on itself$")
        self.assertFalse([l for l in lines if "cycle" in l], "\n".join(lines))

    def test_dependency_cycle_names_a_service_of_the_cycle(self):
        # "entry" leads into the cycle b -> c -> b but is not part of it.
        c = self.conf("", {"a.conf": 'service "entry" {\n    check = "dummy"\n'
                                     '    depends = { "b" }\n}\n'
                                     'service "b" {\n    check = "dummy"\n'
                                     '    depends = { "c" }\n}\n'
                                     'service "c" {\n    check = "dummy"\n'
                                     '    depends = { "b" }\n}\n'})
        lines = self.assert_invalid(c, os.path.join(c.confd, "a.conf"), 7,
                                    r"^'b' is part of a dependency cycle$")
        self.assertFalse([l for l in lines if "'entry'" in l], "\n".join(lines))

    def test_reference_errors_point_at_the_option(self):
        c = self.conf("", {"a.conf": 'service "svc" {\n    check = "dummy"\n'
                                     '    labels {\n        team = "ops"\n    }\n'
                                     '    downtime_period = "nope"\n}\n'
                                     'group "g" {\n    max_attempts = 1\n\n'
                                     '    members = { "svc", "nobody" }\n}\n'})
        a = os.path.join(c.confd, "a.conf")
        self.assert_invalid(c, a, 6, r"^service 'svc': downtime_period: no time period "
                                     r"named 'nope'$")
        self.assert_invalid(c, a, 11, r"^group 'g': member 'nobody' does not exist$")

    # -- durations a Nagios user writes ------------------------------------

    def test_duration_words_are_accepted(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    interval = 5min\n    retry_interval = "30 sec"\n'
                                     '    timeout = "2 seconds"\n}\n'
                                     'service "b" {\n    check = "dummy"\n'
                                     '    interval = "1 hour 30 minutes"\n'
                                     '    retry_interval = "5 mins"\n}\n'})
        rc, errors, everything = self.check(c)
        self.assertEqual(rc, 0, f"expected a valid configuration; got:\n{everything}")
        self.assertEqual(errors, "", f"expected no error or warning; got:\n{everything}")

    def test_unitless_interval_is_warned_about(self):
        c = self.conf("", {"a.conf": 'service "a" {\n    check = "dummy"\n'
                                     '    interval = 5\n    retry_interval = 1\n'
                                     '    timeout = 30\n}\n'
                                     'route "r" {\n    notifiers = { "console" }\n'
                                     '    repeat_interval = 30\n}\n'
                                     'notifier "console" {\n    plugin = "console"\n}\n'})
        a = os.path.join(c.confd, "a.conf")
        rc, errors, everything = self.check(c)
        self.assertEqual(rc, 0, f"expected a warning, not an error; got:\n{everything}")
        self.assertIn(f"{a}:3: warning: interval = 5 is read as 5 seconds (Nagios reads it "
                      f"as 5 minutes); write 5s or 5min", errors.splitlines(), everything)
        self.assertIn(f"{a}:9: warning: repeat_interval = 30 is read as 30 seconds (Nagios "
                      f"reads it as 30 minutes); write 30s or 30min", errors.splitlines(),
                      everything)
        # 1 means the same in both; a timeout is in seconds in Nagios too.
        self.assertEqual(len(errors.splitlines()), 2,
                         f"expected only the two warnings; got:\n{everything}")

    # -- files -----------------------------------------------------------

    def test_missing_include_directory(self):
        c = self.conf("log_level = \"info\"\ninclude_dir = \"nope\"\n" + DUMMY)
        self.assert_invalid(c, c.path, 2,
                            rf"include directory {re.escape(os.path.join(c.dir, 'nope'))}: "
                            r"No such file or directory")

    def test_directory_named_conf_is_reported(self):
        c = self.conf(DUMMY)
        os.mkdir(os.path.join(c.confd, "x.conf"))
        self.assert_invalid(c, os.path.join(c.confd, "x.conf"), 1,
                            r"cannot read: is a directory")

    def test_dangling_symlink_is_reported(self):
        c = self.conf(DUMMY)
        os.symlink(os.path.join(c.dir, "gone.conf"), os.path.join(c.confd, "x.conf"))
        self.assert_invalid(c, os.path.join(c.confd, "x.conf"), 1,
                            r"cannot read: No such file or directory")

    def test_files_not_ending_in_conf_are_ignored(self):
        junk = "this is { not a configuration\n"
        c = self.conf(DUMMY, {"README": junk, "notes.txt": junk, "web.conf.bak": junk,
                              "web.conf~": junk, ".hidden.conf": junk,
                              "web.conf": 'service "web" {\n    check = "dummy"\n}\n'})
        rc, errors, everything = self.check(c)
        self.assertEqual(rc, 0, f"expected only web.conf to be read; got:\n{everything}")
        self.assertIn("configuration is valid: 2 services, 0 notifiers", everything,
                      "expected the service of tocsin.conf and of web.conf, nothing else")

    def test_comments_do_not_shift_line_numbers(self):
        c = self.conf("", {"c.conf": "# a comment\n"
                                     "// another comment\n"
                                     "/* a block\n   comment */ /* and one more */\n"
                                     "service \"c\" {   # trailing\n"
                                     "    check = \"dummy\"   // trailing\n"
                                     "    output = \"not # a comment // here\"\n"
                                     "    # state = \"bogus\"\n"
                                     "    nope = 1\n"
                                     "}\n"})
        self.assert_invalid(c, os.path.join(c.confd, "c.conf"), 9, r"no such option 'nope'")

    def test_file_ending_inside_a_section_is_refused(self):
        c = self.conf("", {"t.conf": 'service "a" {\n    check = "dummy"\n}\n'
                                     'service "b" {\n    check = "dummy"\n'})
        self.assert_invalid(c, os.path.join(c.confd, "t.conf"), 4,
                            r'^section "b" opened here is never closed$')

    def test_each_section_left_open_is_named(self):
        c = self.conf("", {"t.conf": 'service "c" {\n    check = "dummy"\n'
                                     '    labels {\n        team = "ops"\n'})
        t = os.path.join(c.confd, "t.conf")
        self.assert_invalid(c, t, 1, r'^section "c" opened here is never closed$')
        self.assert_invalid(c, t, 3, r'^section "labels" opened here is never closed$')

    def test_braces_in_strings_and_comments_are_not_sections(self):
        c = self.conf("", {"s.conf": 'service "s" {\n    check = "dummy"\n'
                                     '    output = "{ not a section"  # {\n'
                                     "    /* { */\n}\n"})
        rc, errors, everything = self.check(c)
        self.assertEqual(rc, 0, f"expected a valid configuration; got:\n{everything}")

    def test_several_errors_are_all_reported(self):
        c = self.conf("bogus_option = 1\n",
                      {"10-a.conf": 'service "a" {\n    check = "dummy"\n'
                                    '    interval = 5x\n}\n',
                       "20-b.conf": 'service "b" {\n    check = "nosuch"\n}\n'
                                    'service "c" {\n    check = "dummy"\n'
                                    '    command = "/bin/true"\n}\n',
                       "30-c.conf": 'service "ok" {\n    check = "dummy"\n}\n'
                                    'service "ok" {\n    check = "dummy"\n}\n'})
        a = os.path.join(c.confd, "10-a.conf")
        b = os.path.join(c.confd, "20-b.conf")
        cc = os.path.join(c.confd, "30-c.conf")
        rc, errors, everything = self.check(c)
        self.assertNotEqual(rc, 0, f"expected a failure; got:\n{everything}")
        for where, message in ((f"{c.path}:1: ", "no such option 'bogus_option'"),
                               (f"{a}:3: ", "bad duration \"5x\""),
                               (f"{b}:2: ", "unknown check plugin 'nosuch'"),
                               (f"{b}:6: ", "option 'command' is not an option"),
                               (f"{cc}:5: ", "duplicate service 'ok'")):
            self.assertTrue(any(l.startswith(where) and message in l
                                for l in errors.splitlines()),
                            f"expected {where}{message}...; got:\n{everything}")
        self.assertEqual(len(errors.splitlines()), 5,
                         f"expected exactly 5 error lines; got:\n{everything}")


    # -- routes that can never match -------------------------------------

    def test_route_shadowed_by_an_earlier_catch_all_is_a_warning(self):
        c = self.conf(
            'notifier "console" {\n    plugin = "console"\n}\n' + DUMMY,
            {"10-all.conf": 'route "everything" {\n    notifiers = { "console" }\n}\n',
             "20-critical.conf": 'route "critical" {\n    severity = { "critical" }\n'
                                 '    notifiers = { "console" }\n}\n'
                                 'route "dba" {\n    labels {\n        team = "dba"\n    }\n'
                                 '    notifiers = { "console" }\n}\n'})
        rc, out, err = check_config(c.path)
        self.assertEqual(rc, 0, f"expected a dead route not to fail the check; got exit {rc}, "
                                f"stderr {err!r}")
        first = os.path.join(c.confd, "10-all.conf")
        later = os.path.join(c.confd, "20-critical.conf")
        self.assertIn(f"warning: {later}:2: route 'critical' can never match: route "
                      f"'everything' before it ({first}:2) takes every alert without "
                      f"continue = true\n", err, f"expected the warning with both places; "
                                                  f"got {err!r}")
        self.assertRegex(err, re.escape(f"warning: {later}:") + r"\d+: route 'dba' can never "
                         r"match", f"expected the labels route to be reported too; got {err!r}")

    def test_routes_that_each_take_their_own_alerts_are_not_warned_of(self):
        c = self.conf(
            'notifier "console" {\n    plugin = "console"\n}\n' + DUMMY
            + 'route "critical" {\n    severity = { "critical" }\n'
              '    notifiers = { "console" }\n}\n'
              'route "rest" {\n    notifiers = { "console" }\n}\n'
              'route "dead" {\n    severity = { "critical", "info" }\n'
              '    notifiers = { "console" }\n}\n')
        rc, out, err = check_config(c.path)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("route 'rest' can never match", err,
                         f"expected a catch-all after a narrower route to be fine; got {err!r}")
        self.assertIn("route 'dead' can never match: route 'rest' before it", err,
                      f"expected the route after the catch-all to be reported; got {err!r}")


if __name__ == "__main__":
    unittest.main()
