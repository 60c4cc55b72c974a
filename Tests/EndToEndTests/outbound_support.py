"""Destination MTAs and DNS for the outbound (queue runner) tests: aiosmtpd receivers on
loopback addresses 127.0.0.N sharing one port (mailgate's `delivery.mx_port`), and dnsmasq
on a loopback port serving their MX/A records. Run with /usr/bin/python3 (Debian's
python3-aiosmtpd)."""
import email
import email.policy
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import free_port, require_tool

# Destination hosts: name -> loopback address.
HOSTS = {
    "mx-plain.test": "127.0.0.2",
    "mx-tls.test": "127.0.0.3",
    "mx-flaky.test": "127.0.0.4",
    "mx-reject.test": "127.0.0.5",
    "mx-down.test": "127.0.0.6",
    "mx-badtls.test": "127.0.0.7",
    "mx-auth.test": "127.0.0.8",
}

DNS_RECORDS = [
    "--mx-host=plain.test,mx-plain.test,10",
    "--mx-host=tls.test,mx-tls.test,10",
    "--mx-host=flaky.test,mx-flaky.test,10",
    "--mx-host=reject.test,mx-reject.test,10",
    "--mx-host=down.test,mx-down.test,10",
    "--mx-host=badtls.test,mx-badtls.test,10",
    # The first MX is down: the second one gets the mail.
    "--mx-host=backup.test,mx-down.test,10", "--mx-host=backup.test,mx-plain.test,20",
    "--dns-rr=nullmx.test,15,000000",
    # No MX: the domain's own address is the implicit MX.
    "--host-record=implicit.test,127.0.0.2",
    "--host-record=ready.test,127.0.0.99",
] + [f"--host-record={name},{address}" for name, address in HOSTS.items()]


def wait_for(predicate, timeout=30, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_free_everywhere(port):
    for address in ["127.0.0.1", *HOSTS.values()]:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((address, port))
            except OSError:
                return False
    return True


def shared_port():
    for _ in range(50):
        port = free_port()
        if port_free_everywhere(port):
            return port
    raise AssertionError("no port free on every test address")


class DNSServer:
    def __init__(self, records=DNS_RECORDS):
        binary = "/usr/sbin/dnsmasq" if os.path.exists("/usr/sbin/dnsmasq") else require_tool("dnsmasq")
        self.port = free_port()
        args = [binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--listen-address=127.0.0.1", "--bind-interfaces", f"--port={self.port}", "--pid-file=",
                "--local=/test/", *records]
        if os.getuid() == 0:
            args.append("--user=root")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(self.ready, timeout=10, what="dnsmasq")

    def ready(self):
        if self.process.poll() is not None:
            raise AssertionError(f"dnsmasq exited: {self.process.stderr.read().decode(errors='replace')}")
        # A bare A query for ready.test over UDP.
        query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x05ready\x04test\x00\x00\x01\x00\x01")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            try:
                s.sendto(query, ("127.0.0.1", self.port))
                return len(s.recv(512)) > 12
            except OSError:
                return False

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


class Handler:
    def __init__(self, receiver):
        self.receiver = receiver

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        receiver = self.receiver
        with receiver.lock:
            receiver.rcpts.append(address)
        if receiver.mode == "reject":
            return "550 5.1.1 MAILBOX NOT FOUND"
        with receiver.lock:
            if receiver.mode == "flaky" and receiver.failures < receiver.fail_times:
                receiver.failures += 1
                return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        if self.receiver.data_delay:
            with self.receiver.lock:
                self.receiver.started += 1
            await asyncio.sleep(self.receiver.data_delay)
        with self.receiver.lock:
            self.receiver.messages.append({
                "sender": envelope.mail_from, "recipients": list(envelope.rcpt_tos),
                "data": envelope.original_content or envelope.content, "tls": session.ssl is not None,
                "connection": id(session), "authenticated": bool(getattr(session, "authenticated", False)),
            })
        return "250 2.0.0 Message accepted"


def broken_tls_controller():
    """A Controller whose sessions offer STARTTLS, answer 220 and then send garbage
    instead of a TLS handshake."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    class BrokenTLS(SMTP):
        async def smtp_STARTTLS(self, arg):
            await self.push("220 2.0.0 Ready to start TLS")
            self.transport.write(b"this is not a TLS server hello\r\n" * 8)
            self.transport.close()

    class BrokenTLSController(Controller):
        def factory(self):
            return BrokenTLS(self.handler, **self.SMTP_kwargs)

    return BrokenTLSController


class Receiver:
    """An aiosmtpd destination MTA. mode: accept, reject (550 at RCPT), flaky (451 for the
    first `fail_times` RCPTs, then 250), broken-tls (STARTTLS offered, handshake fails).
    `tls` = (certfile, keyfile) offers STARTTLS."""

    def __init__(self, address, port, mode="accept", tls=None, fail_times=0, data_delay=0, auth=None):
        from aiosmtpd.controller import Controller
        import ssl
        if mode == "broken-tls":
            Controller = broken_tls_controller()
        self.address, self.port, self.mode, self.fail_times = address, port, mode, fail_times
        self.failures = 0
        self.data_delay = data_delay
        self.started = 0
        self.messages = []
        self.rcpts = []
        self.lock = threading.Lock()
        kwargs = {}
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            kwargs = {"tls_context": context, "require_starttls": False}
        if auth:
            from aiosmtpd.smtp import AuthResult

            def authenticator(server, session, envelope, mechanism, data):
                ok = (mechanism in ("PLAIN", "LOGIN") and data.login.decode() == auth[0]
                      and data.password.decode() == auth[1])
                with self.lock:
                    self.logins.append((mechanism, data.login.decode(), ok))
                return AuthResult(success=ok, handled=False)

            kwargs.update(authenticator=authenticator, auth_require_tls=True)
        self.logins = []
        self.controller = Controller(Handler(self), hostname=address, port=port, decode_data=False,
                                     server_hostname=f"{mode}.receiver.test", **kwargs)
        self.controller.start()

    def stop(self):
        self.controller.stop()

    def count(self):
        with self.lock:
            return len(self.messages)


def make_certificate(directory, name):
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}"],
                   check=True, capture_output=True)
    return cert, key


def submit(server, sender, recipients, subject="outbound", body="Hello from the queue tests.\r\n", extra="",
           rcpt_options=()):
    import smtplib
    message = (f"From: {sender or 'mailer@remote.test'}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n"
               f"Message-ID: <{time.time_ns()}@example.test>\r\n{extra}\r\n{body}")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail(sender, recipients, message.encode(), rcpt_options=list(rcpt_options))
    return message


def queue_ids(server):
    out = server.cli("queue", "list").stdout
    return [line.split("\t")[0] for line in out.splitlines() if "\t" in line]


def parse_dsn(raw):
    """(message, human text, per-recipient delivery-status fields) via Python's email package."""
    message = email.message_from_string(raw, policy=email.policy.default)
    assert message.get_content_type() == "multipart/report", message.get_content_type()
    assert message.get_param("report-type") == "delivery-status"
    parts = list(message.iter_parts())
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    groups = parts[1].get_payload()
    assert len(groups) >= 2, "per-message and per-recipient fields"
    return message, parts[0].get_content(), groups[1:], parts


def outbound_config(dns_port, mx_port, lifetime="1h", intervals='["1s"]', extra=""):
    return (f'[limits]\nqueue_lifetime = "{lifetime}"\n'
            f'[delivery]\nnameserver = "127.0.0.1:{dns_port}"\nmx_port = {mx_port}\n'
            f'retry_intervals = {intervals}\nscan_interval = "1s"\nconnect_timeout = "5s"\nreply_timeout = "20s"\n'
            f'{extra}\n'
            f'[policy.relay]\ntrusted_networks = ["127.0.0.0/8"]\n')


@pytest.fixture
def outbound(tmp_path, make_server):
    """DNS + receivers + a factory for servers configured to use them."""
    require_tool("openssl")
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        pytest.fail("python3-aiosmtpd is not installed (make test-deps installs it; run pytest with /usr/bin/python3)")

    class Environment:
        pass

    env = Environment()
    env.dns = DNSServer()
    env.port = shared_port()
    env.cert, env.key = make_certificate(tmp_path, "mx-tls.test")
    env.receivers = {}

    def receiver(name, **kwargs):
        instance = Receiver(HOSTS[name], env.port, **kwargs)
        env.receivers[name] = instance
        return instance

    env.receiver = receiver
    env.plain = receiver("mx-plain.test")
    env.tls = receiver("mx-tls.test", tls=(str(env.cert), str(env.key)))
    env.flaky = receiver("mx-flaky.test", mode="flaky", fail_times=2)
    env.reject = receiver("mx-reject.test", mode="reject")

    def server(lifetime="1h", intervals='["1s"]', extra="", start=True):
        instance = make_server(outbound_config(env.dns.port, env.port, lifetime, intervals, extra), start=start)
        return instance

    env.server = server
    yield env
    for instance in env.receivers.values():
        try:
            instance.stop()
        except Exception:
            pass
    env.dns.stop()
