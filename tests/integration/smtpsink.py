"""A local SMTP receiver for notifier tests, on aiosmtpd (Debian
python3-aiosmtpd): records every message with its envelope, whether the
session was encrypted and who logged in, and can refuse senders,
recipients or the data with a scripted reply. Also a test CA with a
certificate for 127.0.0.1, and a server that accepts connections but never
speaks (a hung receiver)."""
import logging
import os
import socket
import ssl
import subprocess
import threading
import time
import warnings

from tocsintest import free_port

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError as e:           # pragma: no cover - a broken test machine
    raise RuntimeError("python3-aiosmtpd is missing: install it "
                       "(contrib/deps --tests)") from e


# aiosmtpd logs every refused handshake with a traceback, and warns about
# AUTH without TLS, which one test asks for on purpose.
logging.getLogger("mail.log").addHandler(logging.NullHandler())
logging.getLogger("mail.log").propagate = False
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


class Message:
    def __init__(self, mail_from, rcpt_tos, content, tls, login):
        self.mail_from = mail_from      # envelope sender
        self.rcpt_tos = rcpt_tos        # envelope recipients
        self.content = content          # bytes, as received, dots unstuffed
        self.tls = tls                  # the session was encrypted
        self.login = login              # user that logged in, or None

    def __repr__(self):
        return "Message(from=%r, to=%r, %d bytes)" % (self.mail_from, self.rcpt_tos,
                                                      len(self.content))


class SmtpSink:
    """Start with SmtpSink(...); stop with stop().

    starttls: an ssl.SSLContext to offer STARTTLS with (require_starttls:
    refuse mail before it); implicit_tls: an SSLContext for an smtps
    listener; users: {login: password} to require AUTH (over TLS unless
    auth_require_tls is False); mail_reply / data_reply: a reply that
    refuses MAIL FROM / the data ("451 4.3.0 try later"); rcpt_replies:
    {address: reply} refusing those recipients."""

    def __init__(self, starttls=None, require_starttls=False, implicit_tls=None,
                 users=None, auth_require_tls=True, mail_reply=None, data_reply=None,
                 rcpt_replies=None):
        self.messages = []
        self.logins = []                # (login, accepted)
        self.mail_reply = mail_reply
        self.data_reply = data_reply
        self.rcpt_replies = dict(rcpt_replies or {})
        self.users = users
        self.cond = threading.Condition()
        self.port = free_port()
        kwargs = {}
        if starttls is not None:
            kwargs.update(tls_context=starttls, require_starttls=require_starttls)
        if users is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=auth_require_tls)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     ssl_context=implicit_tls, ready_timeout=10,
                                     decode_data=False, **kwargs)
        self.controller.start()
        self.url = "%s://127.0.0.1:%d" % ("smtps" if implicit_tls else "smtp", self.port)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode("utf-8", "replace")
        ok = (self.users.get(login) is not None and
              self.users[login].encode() == auth_data.password)
        with self.cond:
            self.logins.append((login, ok))
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    def _add(self, msg):
        with self.cond:
            self.messages.append(msg)
            self.cond.notify_all()

    def wait(self, count, timeout=20):
        """Wait until `count` messages have come; return them all."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("expected %d messages, got %d: %r"
                                         % (count, len(self.messages), self.messages))
                self.cond.wait(left)
            return list(self.messages)

    def stop(self):
        self.controller.stop()


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.sink.mail_reply:
            return self.sink.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        reply = self.sink.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.data_reply:
            return self.sink.data_reply
        login = session.auth_data if session.authenticated else None
        self.sink._add(Message(envelope.mail_from, list(envelope.rcpt_tos),
                               envelope.content, session.ssl is not None, login))
        return "250 OK queued"


class Certs:
    """A test CA and a certificate for 127.0.0.1 and localhost signed by
    it, made with the openssl command in `directory`; `ca`, `cert`, `key`
    are the files. server_context() is an SSLContext serving them."""

    def __init__(self, directory):
        self.dir = directory
        self.ca = os.path.join(directory, "ca.crt")
        self.cert = os.path.join(directory, "server.crt")
        self.key = os.path.join(directory, "server.key")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._run(["openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt",
                   "-days", "30", "-subj", "/CN=Tocsin Test Mail CA",
                   "-addext", "basicConstraints=critical,CA:TRUE",
                   "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        self._run(["openssl", "req", "-new", *ec, "-keyout", "server.key", "-out",
                   "server.csr", "-subj", "/CN=127.0.0.1"])
        with open(os.path.join(directory, "server.ext"), "w") as f:
            f.write("subjectAltName = IP:127.0.0.1, DNS:localhost\n"
                    "extendedKeyUsage = serverAuth\n")
        self._run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt",
                   "-CAkey", "ca.key", "-CAcreateserial", "-days", "30", "-out",
                   "server.crt", "-extfile", "server.ext"])

    def _run(self, argv):
        p = subprocess.run(argv, cwd=self.dir, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (" ".join(argv), p.stdout, p.stderr))

    def server_context(self):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


class Silent:
    """Accepts TCP connections on 127.0.0.1 and never answers: a receiver
    that hangs. stop() closes everything."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def stop(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            c.close()
