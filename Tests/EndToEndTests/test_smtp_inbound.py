"""Inbound SMTP with Python's smtplib and raw sockets: local delivery, the relay rules,
limits and every refusal a sending client sees."""
import concurrent.futures
import os
import pathlib
import smtplib
import socket
import ssl
import time

import pytest

from conftest import wait_for

MESSAGE = b"From: Alice <a@remote.test>\r\nTo: bob@example.test\r\nSubject: Hello Bob\r\n\r\nHi there.\r\n.leading dot\r\n"


def smtp(server, port=None):
    return smtplib.SMTP("127.0.0.1", port or server.smtp_port, local_hostname="client.test", timeout=30)


def raw(server, lines, port=None, read_greeting=True):
    """Sends raw bytes and returns every reply line until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port or server.smtp_port), timeout=10) as s:
        if read_greeting:
            s.recv(4096)
        s.sendall(lines)
        s.settimeout(2)
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    return data.decode(errors="replace")


def test_local_delivery_is_stored_with_trace_headers(server):
    with smtp(server) as client:
        client.ehlo()
        assert client.has_extn("pipelining") and client.has_extn("8bitmime") and client.has_extn("starttls")
        assert client.esmtp_features["size"] == "10485760"
        code, reply = client.docmd("MAIL FROM:<a@remote.test>")
        assert code == 250
        assert client.rcpt("bob@example.test")[0] == 250
        code, reply = client.data(MESSAGE)
        assert code == 250 and b"queued as" in reply
    rows = server.messages("bob@example.test")
    assert len(rows) == 1
    uid, size, date, sender, subject = rows[0]
    assert subject == "Hello Bob" and "a@remote.test" in sender
    raw_message = server.message("bob@example.test", uid)
    assert raw_message.startswith("Return-Path: <a@remote.test>\r\nReceived: from client.test ([127.0.0.1])")
    assert "by mx.example.test (mailgate) with ESMTP id" in raw_message
    assert raw_message.endswith("Hi there.\r\n.leading dot\r\n")


def test_unknown_local_user_gets_the_qmail_text(server):
    with smtp(server) as client:
        client.ehlo()
        client.mail("a@remote.test")
        code, reply = client.rcpt("nobody@example.test")
        assert code == 550
        assert reply == b"5.1.1 Sorry, no mailbox here by that name. (#5.1.1)"


def test_relay_is_refused_without_auth(server):
    with smtp(server) as client:
        client.ehlo()
        client.mail("a@remote.test")
        code, reply = client.rcpt("someone@elsewhere.test")
        assert code == 553
        assert reply == b"5.7.1 Sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)"


@pytest.mark.parametrize("recipient", [
    "someone%elsewhere.test@example.test",
    "@example.test:someone@elsewhere.test",
    "elsewhere.test!someone@example.test",
    '"someone@elsewhere.test"@example.test',
    "someone@[127.0.0.1]",
])
def test_address_tricks_never_open_the_relay(server, recipient):
    with smtp(server) as client:
        client.ehlo()
        client.mail("a@remote.test")
        code, _ = client.docmd(f"RCPT TO:<{recipient}>")
        assert code in (550, 553, 501)
    assert server.cli("queue", "list").stdout.strip() == "queue is empty"


def test_trailing_dot_domain_is_a_syntax_error(server):
    with smtp(server) as client:
        client.ehlo()
        client.mail("a@remote.test")
        code, reply = client.docmd("RCPT TO:<bob@example.test.>")
        assert code == 501 and reply.startswith(b"5.1.2")


def test_authenticated_submission_relays_and_queues(server):
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30) as client:
        client.ehlo()
        code, reply = client.docmd("MAIL FROM:<alice@example.test>")
        assert code == 530 and b"STARTTLS" in reply
        client.starttls(context=ssl._create_unverified_context())
        client.ehlo()
        code, reply = client.docmd("MAIL FROM:<alice@example.test>")
        assert (code, reply) == (530, b"5.7.0 Authentication required")
        client.login("alice@example.test", "alicepw")
        client.sendmail("alice@example.test", ["friend@elsewhere.test"], MESSAGE)
    queue = server.cli("queue", "list").stdout
    # Pending until the queue runner's first attempt, deferred after it (no DNS in tests).
    assert ("friend@elsewhere.test(pending)" in queue or "friend@elsewhere.test(deferred)" in queue) \
        and "<alice@example.test>" in queue


def test_user_percent_domain_login(server):
    with smtp(server) as client:
        client.ehlo()
        client.login("alice%example.test", "alicepw")
        client.mail("alice@example.test")
        assert client.rcpt("friend@elsewhere.test")[0] == 250


def test_wrong_password_is_535(server):
    with smtp(server) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
            client.login("alice@example.test", "wrong")
        assert failure.value.smtp_code == 535


def test_smtps_implicit_tls(server):
    with smtplib.SMTP_SSL("127.0.0.1", server.smtps_port, context=ssl._create_unverified_context(), timeout=30) as client:
        client.ehlo()
        assert not client.has_extn("starttls")
        client.login("alice@example.test", "alicepw")
        client.sendmail("alice@example.test", ["bob@example.test"], MESSAGE)
    raw_message = server.message("bob@example.test", server.messages("bob@example.test")[0][0])
    assert "with ESMTPSA id" in raw_message


def test_whitelisted_ip_may_relay_until_removed(server):
    server.cli("whitelist", "add", "127.0.0.1", "--ttl", "1h", "--user", "bob@example.test")
    assert "127.0.0.1\tbob@example.test" in server.cli("whitelist", "list").stdout
    with smtp(server) as client:
        client.ehlo()
        client.mail("bob@example.test")
        assert client.rcpt("friend@elsewhere.test")[0] == 250
    server.cli("whitelist", "remove", "127.0.0.1")
    with smtp(server) as client:
        client.ehlo()
        client.mail("bob@example.test")
        assert client.rcpt("friend@elsewhere.test")[0] == 553


def test_whitelist_entry_expires(server):
    server.cli("whitelist", "add", "127.0.0.1", "--ttl", "2s")
    with smtp(server) as client:
        client.ehlo()
        client.mail("bob@example.test")
        assert client.rcpt("friend@elsewhere.test")[0] == 250
    def relay_refused():
        with smtp(server) as client:
            client.ehlo()
            client.mail("bob@example.test")
            return client.rcpt("friend@elsewhere.test")[0] == 553

    wait_for(relay_refused, timeout=10, what="the whitelist entry to expire")
    assert server.cli("whitelist", "list").stdout.strip() == ""


def test_declared_size_over_limit(server):
    with smtp(server) as client:
        client.ehlo()
        code, reply = client.docmd("MAIL FROM:<a@remote.test> SIZE=20000000")
        assert (code, reply) == (552, b"5.3.4 Message size exceeds fixed maximum message size")


def test_oversized_data_is_read_then_refused(make_server):
    server = make_server('[limits]\nmax_message_size = "64KB"')
    body = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 200
    with smtp(server) as client:
        client.ehlo()
        client.mail("a@remote.test")
        client.rcpt("bob@example.test")
        code, reply = client.data(body)
        assert (code, reply) == (552, b"5.3.4 Message size exceeds fixed maximum message size")
        assert client.noop()[0] == 250
    assert server.messages("bob@example.test") == []


def test_too_many_recipients(make_server):
    server = make_server("[limits]\nmax_recipients = 2")
    with smtp(server) as client:
        client.ehlo()
        client.mail("a@remote.test")
        assert client.rcpt("bob@example.test")[0] == 250
        assert client.rcpt("alice@example.test")[0] == 250
        assert client.rcpt("postmaster@example.test") == (452, b"4.5.3 Too many recipients")


def test_over_quota_recipient(server):
    server.cli("user", "add", "tiny@example.test", "--password-stdin", "--quota", "2KB", input="pw\n")
    with smtp(server) as client:
        client.ehlo()
        assert client.docmd("MAIL FROM:<a@remote.test> SIZE=5000")[0] == 250
        code, reply = client.rcpt("tiny@example.test")
        assert code == 552 and reply.startswith(b"5.2.2")
        client.rset()
        client.mail("a@remote.test")
        assert client.rcpt("tiny@example.test")[0] == 250
        assert client.data(b"Subject: fits\r\n\r\n" + (b"y" * 98 + b"\r\n") * 12)[0] == 250
        assert client.docmd("MAIL FROM:<a@remote.test> SIZE=1000")[0] == 250
        assert client.rcpt("tiny@example.test") == (452, b"4.2.2 Mailbox <tiny@example.test> is full, try again later")
        client.rset()
        client.mail("a@remote.test")
        assert client.rcpt("tiny@example.test")[0] == 250
        code, reply = client.data(b"Subject: too much\r\n\r\n" + (b"z" * 98 + b"\r\n") * 10)
        assert (code, reply) == (452, b"4.2.2 Mailbox is full, try again later")
    assert len(server.messages("tiny@example.test")) == 1


def test_alias_and_catchall(server):
    server.cli("alias", "add", "sales@example.test", "bob@example.test", "alice@example.test")
    with smtp(server) as client:
        client.sendmail("a@remote.test", ["sales@example.test"], MESSAGE)
    assert len(server.messages("bob@example.test")) == 1
    assert len(server.messages("alice@example.test")) == 1
    with smtp(server) as client:
        client.ehlo()
        client.mail("a@remote.test")
        assert client.rcpt("whoever@example.test")[0] == 550
    server.cli("catchall", "set", "example.test", "bob@example.test")
    with smtp(server) as client:
        client.sendmail("a@remote.test", ["whoever@example.test"], MESSAGE)
    assert len(server.messages("bob@example.test")) == 2


def test_postmaster_exists_for_every_domain(server):
    with smtp(server) as client:
        client.ehlo()
        client.mail("a@remote.test")
        assert client.docmd("RCPT TO:<Postmaster>")[0] == 250
        assert client.rcpt("postmaster@example.test")[0] == 250
    result = server.cli("user", "remove", "postmaster@example.test", check=False)
    assert result.returncode != 0 and "postmaster" in result.stderr


def test_bare_lf_is_refused_and_cannot_smuggle(server):
    out = raw(server, b"EHLO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                      b"Subject: s\r\n\r\nx\n.\nMAIL FROM:<evil@remote.test>\r\n.\r\nQUIT\r\n")
    assert "550 5.6.11" in out
    assert "221 2.0.0" in out
    assert server.messages("bob@example.test") == []


def test_long_command_line_and_garbage(server):
    out = raw(server, b"NOOP " + b"x" * 600 + b"\r\nFOO\r\nHELO\r\nNOOP\r\nQUIT\r\n")
    lines = out.splitlines()
    assert lines[0] == "500 5.5.2 Line too long"
    assert lines[1] == "500 5.5.2 Command unrecognized"
    assert lines[2].startswith("501 5.5.4")
    assert lines[3] == "250 2.0.0 Ok"


def test_pipelined_commands_answered_in_order(server):
    out = raw(server, b"EHLO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\n"
                      b"RCPT TO:<x@elsewhere.test>\r\nDATA\r\nSubject: p\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    codes = [line[:3] for line in out.splitlines() if line[3:4] == " "]
    assert codes == ["250", "250", "250", "553", "354", "250", "221"]


def test_starttls_discards_pipelined_commands(server):
    with socket.create_connection(("127.0.0.1", server.smtp_port), timeout=10) as s:
        s.recv(4096)
        s.sendall(b"EHLO c\r\n")
        s.recv(4096)
        s.sendall(b"STARTTLS\r\nMAIL FROM:<injected@remote.test>\r\n")
        assert s.recv(4096).startswith(b"220 2.0.0")
        tls = ssl._create_unverified_context().wrap_socket(s)
        tls.sendall(b"MAIL FROM:<a@remote.test>\r\n")
        assert tls.recv(4096).startswith(b"503 5.5.1")
        tls.sendall(b"EHLO c\r\n")
        reply = tls.recv(4096)
        assert b"STARTTLS" not in reply and b"AUTH PLAIN LOGIN" in reply


def test_eight_bit_and_bdat(server):
    with smtp(server) as client:
        client.ehlo()
        client.docmd("MAIL FROM:<a@remote.test> BODY=8BITMIME")
        client.rcpt("bob@example.test")
        body = "Subject: grüße\r\n\r\nÄrger über Öl\r\n".encode()
        client.send(b"BDAT %d LAST\r\n" % len(body) + body)
        assert client.getreply()[0] == 250
    raw_message = server.message("bob@example.test", server.messages("bob@example.test")[0][0])
    assert raw_message.endswith("Ärger über Öl\r\n")


def test_idle_client_is_dropped_with_421_but_an_active_one_is_not(make_server):
    server = make_server('[limits]\ncommand_timeout = "2s"')
    idle = socket.create_connection(("127.0.0.1", server.smtp_port), timeout=10)
    idle_reader = idle.makefile("rb")
    assert idle_reader.readline().startswith(b"220 ")
    busy = socket.create_connection(("127.0.0.1", server.smtp_port), timeout=10)
    busy_reader = busy.makefile("rb")
    assert busy_reader.readline().startswith(b"220 ")
    started = time.time()
    # The busy client keeps talking past the timeout; each command restarts its clock.
    for _ in range(6):
        time.sleep(0.5)
        busy.sendall(b"NOOP\r\n")
        assert busy_reader.readline().startswith(b"250 ")
    assert idle_reader.readline() == b"421 4.4.2 mx.example.test Error: timeout exceeded\r\n"
    assert 1.5 < time.time() - started < 4
    assert idle_reader.readline() == b""  # and the connection is closed
    busy.sendall(b"QUIT\r\n")
    assert busy_reader.readline().startswith(b"221 ")


def test_session_deadline_ends_even_an_active_session(make_server):
    # The total session time holds although every command restarts the idle clock.
    server = make_server('[limits]\ncommand_timeout = "10s"\nsession_timeout = "2s"')
    client = socket.create_connection(("127.0.0.1", server.smtp_port), timeout=10)
    reader = client.makefile("rb")
    assert reader.readline().startswith(b"220 ")
    started = time.time()
    replies = []
    while time.time() - started < 5:
        time.sleep(0.25)
        try:
            client.sendall(b"NOOP\r\n")
        except OSError:
            break
        line = reader.readline()
        replies.append(line)
        if not line.startswith(b"250 "):
            break
    assert replies[-1] == b"421 4.4.2 mx.example.test Error: timeout exceeded\r\n"
    assert 1.5 < time.time() - started < 3.5
    assert reader.readline() == b""
    # A fresh connection is served as usual.
    with smtp(server) as fresh:
        assert fresh.noop()[0] == 250


def event_loop_threads(server):
    tasks = pathlib.Path(f"/proc/{server.process.pid}/task")
    return sum(1 for task in tasks.iterdir() if (task / "comm").read_text().startswith("NIO-ELT"))


def test_event_loops_setting_serves_concurrent_clients_and_needs_a_restart(make_server):
    server = make_server("event_loops = 3")
    assert "event_loops=3" in server.log()
    assert event_loop_threads(server) == 3

    def send(index):
        with smtp(server) as client:
            client.sendmail("a@remote.test", ["bob@example.test"], MESSAGE.replace(b"Hello Bob", b"Hello %d" % index))

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(send, range(24)))
    assert len(server.messages("bob@example.test")) == 24
    # A reload keeps the running loops (like the listeners) and goes on serving.
    server.write_config("event_loops = 1")
    server.cli("reload")
    send(99)
    assert event_loop_threads(server) == 3
    assert len(server.messages("bob@example.test")) == 25


def test_event_loops_default_leaves_a_core(make_server):
    server = make_server()
    # One per core but one; "cores" as the process may use them or as the machine has.
    cores = {os.cpu_count(), len(os.sched_getaffinity(0))}
    assert event_loop_threads(server) in {max(1, count - 1) for count in cores}
