"""POP3 with the clients people run: curl, fetchmail and getmail6, and the open-SMTP
(POP-before-SMTP) relay a POP3 login grants."""
import os
import pathlib
import poplib
import shutil
import smtplib
import subprocess
import tempfile
import time

import pytest

from conftest import require_tool, wait_for

NO_LOGIN_DELAY = "[policy.ratelimit]\npop3_login_interval = 0"


class SourcePOP3(poplib.POP3):
    """poplib from a chosen loopback source address."""

    def __init__(self, host, port, source):
        self.source = source
        super().__init__(host, port, timeout=30)

    def _create_socket(self, timeout):
        import socket
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))


def relay_reply(server, source):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30, source_address=(source, 0)) as client:
        client.ehlo()
        client.mail("bob@example.test")
        return client.rcpt("someone@elsewhere.example")


def test_pop3_login_opens_smtp_relay_for_that_ip_only_until_the_ttl(make_server):
    server = make_server('[policy.open_smtp]\nttl = "3s"')
    assert relay_reply(server, "127.0.0.5")[0] == 553
    client = SourcePOP3("127.0.0.1", server.pop3_port, "127.0.0.5")
    client.user("bob%example.test")
    client.pass_("secret")
    client.quit()
    entries = [line.split("\t") for line in server.cli("whitelist", "list").stdout.splitlines()]
    assert [entry[:2] for entry in entries] == [["127.0.0.5", "bob@example.test"]]
    assert relay_reply(server, "127.0.0.5")[0] == 250
    assert relay_reply(server, "127.0.0.6") == (553, b"5.7.1 Sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)")
    wait_for(lambda: relay_reply(server, "127.0.0.5")[0] == 553, timeout=10, what="the open-SMTP entry to expire")


def test_failed_pop3_login_opens_nothing(server):
    client = SourcePOP3("127.0.0.1", server.pop3_port, "127.0.0.7")
    client.user("bob@example.test")
    with pytest.raises(poplib.error_proto):
        client.pass_("wrong")
    client.quit()
    assert server.cli("whitelist", "list").stdout.strip() == ""
    assert relay_reply(server, "127.0.0.7")[0] == 553


def curl(*args):
    """curl picks CRAM-MD5 when offered, which needs an APOP/CRAM secret: ask for PLAIN."""
    require_tool("curl")
    if not any(str(arg).startswith("AUTH=") for arg in args):
        args = (*args, "--login-options", "AUTH=PLAIN")
    return subprocess.run(["timeout", "30", "curl", "-sS", *args], capture_output=True, timeout=60)


def test_curl_pop3_and_pop3s(make_server):
    server = make_server(NO_LOGIN_DELAY)
    server.deliver("bob@example.test", subject="for curl", body="curl body\r\n")
    listing = curl(f"pop3://127.0.0.1:{server.pop3_port}/", "--user", "bob@example.test:secret")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.decode().split()[0] == "1"
    message = curl(f"pop3s://127.0.0.1:{server.pop3s_port}/1", "-k", "--user", "bob@example.test:secret")
    assert message.returncode == 0, message.stderr
    assert b"Subject: for curl" in message.stdout and b"curl body" in message.stdout
    uidl = curl(f"pop3://127.0.0.1:{server.pop3_port}/", "-X", "UIDL", "--user", "bob@example.test:secret")
    assert uidl.stdout.decode().split()[0] == "1"
    top = curl(f"pop3://127.0.0.1:{server.pop3_port}/", "-X", "TOP 1 0", "--user", "bob@example.test:secret")
    assert b"Subject: for curl" in top.stdout and b"curl body" not in top.stdout
    denied = curl(f"pop3://127.0.0.1:{server.pop3_port}/", "--user", "bob@example.test:wrong")
    assert denied.returncode == 67


def test_curl_apop_and_cram_md5(make_server):
    server = make_server(NO_LOGIN_DELAY)
    server.add_user("carol@example.test", "carolpw", "--apop")
    server.deliver("carol@example.test", subject="secret mail")
    for mechanism in ["AUTH=+APOP", "AUTH=CRAM-MD5"]:
        result = curl(f"pop3://127.0.0.1:{server.pop3_port}/1", "--user", "carol@example.test:carolpw",
                      "--login-options", mechanism)
        assert result.returncode == 0, (mechanism, result.stderr)
        assert b"Subject: secret mail" in result.stdout


def fetchmail(server, tmp_path, options):
    require_tool("fetchmail")
    home = tmp_path / "fetchmail"
    home.mkdir(exist_ok=True)
    mbox = home / "mbox"
    rc = home / "fetchmailrc"
    rc.write_text(f'poll 127.0.0.1 service {server.pop3_port} {options}\n'
                  f'  mda "sh -c \'cat >> {mbox}\'"\n')
    rc.chmod(0o600)
    result = subprocess.run(["timeout", "60", "fetchmail", "-v", "--nodetach", "-f", str(rc),
                             "--idfile", str(home / "ids")],
                            env={**os.environ, "FETCHMAILHOME": str(home)}, capture_output=True, timeout=90)
    return result, (mbox.read_text() if mbox.exists() else "")


def test_fetchmail_over_stls_keep_then_delete(make_server, tmp_path):
    server = make_server(NO_LOGIN_DELAY)
    for n in range(3):
        server.deliver("bob@example.test", subject=f"fetch {n}")
    options = ('protocol pop3 user "bob@example.test" password "secret" '
               'sslproto "tls1.2+" no sslcertck keep')
    result, mbox = fetchmail(server, tmp_path, options)
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    assert b"STLS" in result.stderr + result.stdout
    assert [f"Subject: fetch {n}" in mbox for n in range(3)] == [True] * 3
    assert len(server.messages("bob@example.test")) == 3  # keep
    result, _ = fetchmail(server, tmp_path, options.replace(" keep", " nokeep fetchall"))
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    assert server.messages("bob@example.test") == []


def test_fetchmail_apop(make_server, tmp_path):
    server = make_server(NO_LOGIN_DELAY)
    server.add_user("carol@example.test", "carolpw", "--apop")
    server.deliver("carol@example.test", subject="apop mail")
    result, mbox = fetchmail(server, tmp_path, 'protocol apop user "carol@example.test" password "carolpw" keep')
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    assert "Subject: apop mail" in mbox


def test_getmail6_into_a_maildir(make_server, request):
    require_tool("getmail")
    server = make_server(NO_LOGIN_DELAY)
    server.deliver("bob@example.test", subject="for getmail")
    # getmail6 refuses to run as root; its user must reach the directory (pytest's
    # own temp root is private), so it gets a world-traversable one of its own.
    home = pathlib.Path(tempfile.mkdtemp(prefix="mailgate-getmail-"))
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    maildir = home / "Maildir"
    for sub in ["cur", "new", "tmp"]:
        (maildir / sub).mkdir(parents=True)
    rc = home / "getmailrc"
    rc.write_text("[retriever]\ntype = SimplePOP3Retriever\nserver = 127.0.0.1\n"
                  f"port = {server.pop3_port}\nusername = bob@example.test\npassword = secret\n\n"
                  f"[destination]\ntype = Maildir\npath = {maildir}/\n\n"
                  "[options]\nread_all = true\ndelete = true\n")
    subprocess.run(["chown", "-R", "mail", str(home)], check=True)
    home.chmod(0o755)
    result = subprocess.run(["timeout", "60", "runuser", "-u", "mail", "--", "getmail",
                             "--getmaildir", str(home), "--rcfile", str(rc)], capture_output=True, timeout=90)
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    delivered = list((maildir / "new").iterdir())
    assert len(delivered) == 1
    assert b"Subject: for getmail" in delivered[0].read_bytes()
    assert server.messages("bob@example.test") == []
