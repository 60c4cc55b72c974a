"""End-to-end harness: starts the built `mailgate` binary on free loopback ports with a
temporary data directory, and drives it only through its CLI and real mail clients."""
import os
import json
import pathlib
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("MAILGATE_BIN", str(ROOT / ".build" / "debug" / "mailgate"))


_handed_out_ports = set()


def free_port():
    """A port free now and never handed out before in this run: the kernel may offer a
    port again as soon as the probe socket closes, and one server takes several."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out_ports:
            _handed_out_ports.add(port)
            return port


def insecure_tls():
    """A client TLS context that accepts the server's self-signed certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def wait_for(condition, timeout=10.0, interval=0.02, what="the condition"):
    """Polls `condition()` until it returns something truthy and returns that; fails the
    test after `timeout` seconds. Use it instead of sleeping for a guessed time: it waits
    no longer than needed, and says what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def require_tool(name):
    """A missing client is a failure, never a skip: CI installs every client."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (make test-deps installs it)")
    return path


def python_tool(name):
    """A checker from the PyPI virtualenv (scripts/install-python-tools, run by
    `make test-deps`): `python_tool("python")` runs scripts that import authheaders,
    checkdmarc or parsedmarc; `python_tool("parsedmarc")` is its command line."""
    path = ROOT / ".build-py" / "bin" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/install-python-tools (make test-deps does)")
    return str(path)


class Server:
    def __init__(self, directory: pathlib.Path, extra_config: str = "", policy_dir=None):
        self.dir = directory
        self.data = directory / "data"
        self.smtp_port = free_port()
        self.submission_port = free_port()
        self.smtps_port = free_port()
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.policy_dir = pathlib.Path(policy_dir) if policy_dir else ROOT / "policies"
        self.config = directory / "mailgate.toml"
        self.log_path = directory / "server.log"
        self.extra_config = extra_config
        self.process = None
        self.write_config()

    def write_config(self, extra=None):
        if extra is not None:
            self.extra_config = extra
        self.config.write_text(
            f'hostname = "mx.example.test"\n'
            f'data_dir = "{self.data}"\n'
            f'log_level = "debug"\n'
            f"{self.extra_config}\n"
            # Relayed mail must never reach real DNS from a test: unless a test sets up its
            # own [delivery] (see outbound_support.py), lookups go to a dead loopback port,
            # so relayed mail stays queued (pending, then deferred).
            + ("" if "[delivery]" in self.extra_config else '[delivery]\nnameserver = "127.0.0.1:9"\n')
            + f"[listen]\n"
            f'smtp = ["127.0.0.1:{self.smtp_port}"]\n'
            f'submission = ["127.0.0.1:{self.submission_port}"]\n'
            f'smtps = ["127.0.0.1:{self.smtps_port}"]\n'
            f'pop3 = ["127.0.0.1:{self.pop3_port}"]\n'
            f'pop3s = ["127.0.0.1:{self.pop3s_port}"]\n'
            f'imap = ["127.0.0.1:{self.imap_port}"]\n'
            f'imaps = ["127.0.0.1:{self.imaps_port}"]\n'
            + ("" if "[policy]" in self.extra_config else f'[policy]\ndirectory = "{self.policy_dir}"\n')
        )

    def cli(self, *args, input=None, check=True):
        result = subprocess.run([BIN, "--config", str(self.config), *args], input=input,
                                capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"mailgate {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def add_user(self, address, password="secret", *extra):
        self.cli("user", "add", address, "--password-stdin", *extra, input=password + "\n")

    def start(self):
        self.log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen([BIN, "--config", str(self.config), "serve"],
                                        stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log()}")
            # Every listener is bound once the status file names this process (it is
            # written after the last bind); a probe of one port alone raced the others.
            if self.status_pid() == self.process.pid:
                return self
            time.sleep(0.05)
        raise AssertionError(f"server did not start:\n{self.log()}")

    def status_pid(self):
        try:
            return json.loads((self.data / "mailgate.status").read_text()).get("pid")
        except (OSError, ValueError):
            return None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.log_file.close()

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def messages(self, address, folder="INBOX"):
        out = self.cli("mail", "list", address, "--folder", folder).stdout
        return [line.split("\t") for line in out.splitlines() if line.strip()]

    def deliver(self, recipient, subject="hello", body="Hello.\r\n", sender="sender@remote.test"):
        """Delivers one message over SMTP and returns it as sent."""
        message = (f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
                   f"Message-ID: <{subject.replace(' ', '.')}.{time.time_ns()}@remote.test>\r\n\r\n{body}")
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as client:
            client.sendmail(sender, [recipient], message.encode())
        return message

    def message(self, address, uid):
        """The raw stored message, CRLFs intact."""
        result = subprocess.run([BIN, "--config", str(self.config), "mail", "show", address, str(uid)],
                                capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.decode()


@pytest.fixture
def server(tmp_path):
    instance = Server(tmp_path)
    instance.cli("domain", "add", "example.test")
    instance.add_user("bob@example.test")
    instance.add_user("alice@example.test", "alicepw")
    instance.start()
    yield instance
    instance.stop(signal.SIGKILL)


@pytest.fixture
def make_server(tmp_path):
    """For tests that need their own config or policy directory."""
    created = []

    def factory(extra_config="", policy_dir=None, start=True):
        directory = tmp_path / f"s{len(created)}"
        directory.mkdir()
        instance = Server(directory, extra_config, policy_dir)
        instance.cli("domain", "add", "example.test")
        instance.add_user("bob@example.test")
        instance.add_user("alice@example.test", "alicepw")
        created.append(instance)
        return instance.start() if start else instance

    yield factory
    for instance in created:
        instance.stop(signal.SIGKILL)
