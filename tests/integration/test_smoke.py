"""The shipped default configuration: valid, and tocsind checks this
machine's load and root filesystem with it."""
import os
import shutil
import tempfile
import unittest

from tocsintest import BUILDDIR, SRCDIR, Daemon, check_config


class DefaultConfiguration(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-default-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        shutil.copy(os.path.join(BUILDDIR, "tocsin.conf"), self.dir)
        shutil.copytree(os.path.join(SRCDIR, "conf.d"), os.path.join(self.dir, "conf.d"))
        self.path = os.path.join(self.dir, "tocsin.conf")

    def test_default_configuration_is_valid(self):
        rc, out, err = check_config(self.path)
        self.assertEqual(rc, 0, f"tocsind -t failed: {err}")
        self.assertIn("configuration is valid: 2 services, 5 notifiers", out)

    def test_default_configuration_checks_load_and_root_disk(self):
        d = Daemon(self.path, extra=())
        self.addCleanup(d.stop)
        # Whatever this machine's load and disk are: the first result of
        # each service is logged, with the plugin's own output.
        first = r"(first result \w+|\w+ \(soft, attempt 1/3\)|OK -> \w+ \(hard[^)]*\)): "
        d.wait_for(r"service 'load' on \S+: " + first + "LOAD ", timeout=70)
        d.wait_for(r"service 'disk-root' on \S+: " + first + "DISK ", timeout=70)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
