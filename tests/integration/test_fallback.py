"""Delivery fallback with the real daemon: a webhook receiver that answers
503 until the notification expires, the console notifier as
fallback_notifier; the fallback gets it once with the reason, the webhook
gets no more attempts after the expiry, and /metrics counts it."""
import os
import re
import time
import unittest
import urllib.request

from httpsink import HttpSink
from tocsintest import PLUGINS, DaemonTest, free_port

BUILT = os.path.exists(os.path.join(PLUGINS, "webhook.la"))


@unittest.skipUnless(BUILT, "the webhook plugin was not built (libcurl or jansson missing)")
class FallbackTest(DaemonTest):
    def test_expired_delivery_goes_to_the_fallback_once(self):
        sink = HttpSink(default_status=503, default_body=b"busy")
        self.addCleanup(sink.stop)
        port = free_port()
        self.start('max_check_spread = 1s\nfallback_notifier = "console"\n'
                   f'http {{\n    listen = "127.0.0.1:{port}"\n}}\n',
                   {"s.conf": 'service "web" {\n    check = "dummy"\n    interval = 1s\n'
                              '    state = "critical"\n    max_attempts = 1\n}\n'
                              'notifier "hook" {\n    plugin = "webhook"\n'
                              f'    url = "{sink.url}/hook"\n'
                              '    retry_min = 1s\n    retry_max = 1s\n    expire = 4s\n}\n'
                              'notifier "console" {\n    plugin = "console"\n}\n'
                              'route "all" {\n    notifiers = { "hook" }\n}\n'})
        line = self.daemon.wait_for(r"delivery to hook failed for \d+s \(.*503.*\); "
                                    r"sent here instead", timeout=30)[0]
        self.assertIn("web", line, f"expected the fallback line to name the service: {line!r}")
        tries = len(sink.requests)
        self.assertGreaterEqual(tries, 2, f"expected the webhook to be retried before the "
                                          f"expiry; it got {tries} request(s)")
        time.sleep(3)
        self.assertEqual(self.daemon.count(r"sent here instead"), 1,
                         "expected exactly one fallback; the log was:\n" + self.daemon.log())
        self.assertEqual(len(sink.requests), tries,
                         "expected no attempt to the webhook after the expiry")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
        m = re.search(r'^tocsin_notifications_fallback_total\{notifier="hook"\} (\d+)$', text,
                      re.M)
        self.assertIsNotNone(m, "expected tocsin_notifications_fallback_total for hook in "
                                "/metrics")
        self.assertEqual(m.group(1), "1", "expected one fallback counted for hook")
        m = re.search(r'^tocsin_notifications_fallback_total\{notifier="console"\} (\d+)$',
                      text, re.M)
        self.assertEqual(m.group(1) if m else None, "0",
                         "expected no fallback counted for the fallback itself")


if __name__ == "__main__":
    unittest.main()
