"""plugins/rspamd.lua in the real server against a real rspamd (Debian's), started by
the test with a private config: one normal worker on a free loopback port, no
controller or proxy, no modules (filters = ""), so no Redis and no DNS are needed,
and rspamd's test patterns on (GTUBE rejects; its add-header and rewrite-subject
variants give those actions). Messages go in over SMTP (smtplib). "rspamd stopped" is
a URL where nothing listens: the plugin's on_error then decides."""
import os
import pathlib
import re
import signal
import smtplib
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import free_port, require_tool
from plugin_support import plugin_config

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
GTUBE_ADD_HEADER = "Y" + GTUBE[1:]
GTUBE_REWRITE_SUBJECT = "Z" + GTUBE[1:]

RSPAMD_CONFIG = """\
options {{
  pidfile = "{dir}/rspamd.pid";
  filters = "";
  enable_test_patterns = true;
  dns {{ nameserver = ["127.0.0.1:9"]; timeout = 1s; retransmits = 1; }}
}}
logging {{ type = "file"; filename = "{dir}/rspamd.log"; level = "info"; }}
actions {{ reject = 15; add_header = 6; greylist = 4; }}
worker "normal" {{ bind_socket = "127.0.0.1:{port}"; count = 1; }}
"""


class Rspamd:
    """rspamd in the foreground (-f), all state under `directory`. As root (CI) it needs
    -u root -g root and -i (insecure), or it refuses to run its workers privileged."""

    def __init__(self, directory: pathlib.Path):
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = directory / "rspamd.conf"
        config.write_text(RSPAMD_CONFIG.format(dir=directory, port=self.port))
        self.output = open(directory / "rspamd.out", "ab")
        as_root = ["-i", "-u", "root", "-g", "root"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [require_tool("rspamd"), "-f", *as_root, "-c", str(config),
             f"--var=DBDIR={directory}", f"--var=RUNDIR={directory}", f"--var=LOGDIR={directory}"],
            stdout=self.output, stderr=subprocess.STDOUT)
        # Loading the language models and compiling the TLD list takes seconds (a minute
        # on a loaded machine): wait for a scan to answer.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"rspamd exited ({self.process.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(urllib.request.Request(
                        f"{self.url}/checkv2", data=b"Subject: ping\r\n\r\nping\r\n", method="POST"), timeout=5) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        pytest.fail(f"rspamd did not answer within 240 s:\n{self.log()}")

    def log(self):
        texts = []
        for name in ("rspamd.out", "rspamd.log"):
            path = self.dir / name
            if path.exists():
                texts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(texts)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory):
    instance = Rspamd(tmp_path_factory.mktemp("rspamd"))
    yield instance
    instance.stop()


def rspamd_server(make_server, url, settings=""):
    # A scan may take a while on a loaded machine: the policy's deadline bounds the
    # HTTP timeout, so both are raised above the 5 s default.
    return make_server(plugin_config("rspamd", f'url = "{url}"\ndeadline = "30s"\n{settings}',
                                     '[limits]\npolicy_http_timeout = "25s"\n'))


def send(server, body, subject="hello", recipients=("bob@example.test",)):
    message = (f"From: sender@remote.test\r\nTo: bob@example.test\r\nSubject: {subject}\r\n"
               f"Message-ID: <{time.time_ns()}@remote.test>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\n{body}\r\n")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="mail.remote.test", timeout=60) as client:
        client.sendmail("sender@remote.test", list(recipients), message.encode())


def stored(server, folder="INBOX"):
    """The raw messages of bob's `folder`."""
    entries = server.messages("bob@example.test", folder)
    return [server.cli("mail", "show", "bob@example.test", entry[0], "--folder", folder).stdout for entry in entries]


def header_block(message):
    """The header fields (the CLI's text output may have turned CRLF into LF)."""
    return re.split(r"\r?\n\r?\n", message, maxsplit=1)[0]


def test_gtube_is_rejected(make_server, rspamd):
    server = rspamd_server(make_server, rspamd.url)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(server, GTUBE)
    assert refused.value.smtp_code == 550, refused.value
    assert b"5.7.1 Gtube pattern" in refused.value.smtp_error
    assert server.messages("bob@example.test") == []


def test_clean_message_passes_with_spam_headers(make_server, rspamd):
    server = rspamd_server(make_server, rspamd.url)
    send(server, "Hello Bob, lunch at noon tomorrow?", recipients=("bob@example.test", "alice@example.test"))
    [message] = stored(server)
    headers = header_block(message)
    assert "X-Spam-Action: no action" in headers, headers
    assert "X-Spam-Score: " in headers
    assert "X-Spam-Status: No, score=" in headers
    assert "X-Spamd-Result: default: False [" in headers
    assert "X-Spam: Yes" not in headers
    # rspamd saw the envelope (IP, From, one Rcpt header per recipient): its task log says so.
    log = rspamd.log()
    assert "ip: 127.0.0.1" in log and "from: <sender@remote.test>" in log, log
    assert "rcpts: <bob@example.test,alice@example.test>" in log, log


def test_add_header_tags_and_files_into_junk(make_server, rspamd):
    server = rspamd_server(make_server, rspamd.url, 'spam_folder = "Junk"')
    send(server, GTUBE_ADD_HEADER)
    assert server.messages("bob@example.test") == []
    [message] = stored(server, "Junk")
    headers = header_block(message)
    assert "X-Spam-Action: add header" in headers
    assert "X-Spam-Status: Yes, score=6.00 required=15.00" in headers
    assert "X-Spam: Yes" in headers


def test_rewrite_subject_replaces_the_subject(make_server, rspamd):
    server = rspamd_server(make_server, rspamd.url)
    send(server, GTUBE_REWRITE_SUBJECT, subject="offer")
    [message] = stored(server)
    headers = header_block(message)
    assert "X-Spam-Action: rewrite subject" in headers
    assert "X-Spam: Yes" in headers
    subjects = [line for line in headers.splitlines() if line.lower().startswith("subject:")]
    # rspamd's default rewrite is "*** SPAM *** %s": one Subject field, rewritten.
    assert len(subjects) == 1, subjects
    assert "SPAM" in subjects[0] and "offer" in subjects[0], subjects


def test_rspamd_down_defers_by_default(make_server):
    server = rspamd_server(make_server, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(server, "Hello")
    assert deferred.value.smtp_code == 451, deferred.value
    assert server.messages("bob@example.test") == []
    assert "refused" in server.log()


def test_rspamd_down_with_on_error_next_accepts(make_server):
    server = rspamd_server(make_server, f"http://127.0.0.1:{free_port()}", 'on_error = "next"')
    send(server, "Hello")
    [message] = stored(server)
    assert "X-Spam-" not in header_block(message)


def test_rspamd_stopped_after_scanning(make_server, tmp_path):
    """The same server, first with rspamd up, then with that rspamd stopped."""
    own = Rspamd(tmp_path / "own")
    try:
        server = rspamd_server(make_server, own.url)
        send(server, "first")
        assert len(server.messages("bob@example.test")) == 1
    finally:
        own.stop()
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(server, "second")
    assert deferred.value.smtp_code == 451
    assert len(server.messages("bob@example.test")) == 1
