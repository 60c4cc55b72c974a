"""Hostile client input through the real server (issue 11 §1, §2, §6, §8): nothing a
client sends may add a header line, split a reply, survive STARTTLS, or make the server
hold unbounded output for a client that never reads."""
import poplib
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import require_tool, wait_for

NO_LOGIN_DELAY = '[policy.ratelimit]\npop3_login_interval = "0s"\n'


def raw(port, data, read_greeting=True, quiet=1.0):
    """Sends raw bytes and returns every reply until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        if read_greeting:
            s.recv(4096)
        s.sendall(data)
        s.settimeout(quiet)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
    return out.decode(errors="replace")


def headers_of(server, address, uid=1):
    message = server.message(address, uid)
    return message[:message.index("\r\n\r\n") + 2]


CONTROLS = [b"\r", b"\x00", b"\x0b", b"\x1b", b"\x7f"]


@pytest.mark.parametrize("control", CONTROLS)
def test_controls_in_ehlo_never_reach_a_header(server, control):
    out = raw(server.smtp_port, b"EHLO x" + control + b"From:ceo@bank.test" + control + b"Subject:pay\r\n"
              b"HELO ok.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
              b"Subject: real\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    lines = out.split("\r\n")
    assert lines[0].startswith("501 5.5.2"), out
    assert "250 2.0.0 Ok: queued as" in out
    stored = headers_of(server, "bob@example.test")
    assert "ceo@bank.test" not in stored and "Subject:pay" not in stored
    assert stored.count("\r") == stored.count("\r\n"), "no bare CR in what was stored"


def test_quoted_local_part_cannot_inject_return_path(server):
    out = raw(server.smtp_port, b'EHLO c\r\nMAIL FROM:<"\\\rReply-To: attacker@evil.test"@sender.test>\r\n'
              b"QUIT\r\n")
    replies = out.split("\r\n")
    assert replies[-1] == "" and all(len(r) >= 4 and r[:3].isdigit() for r in replies[:-1]), out
    assert any(r.startswith("501 ") for r in replies), out
    assert "attacker" not in out


def test_every_reply_line_is_whole_even_for_odd_input(server):
    # A CR, a NUL, DEL and a lone LF inside commands: each answered with whole reply lines.
    out = raw(server.smtp_port, b"NOOP a\rb\r\nVRFY x\x00y\r\nRCPT TO:<a\x7f@b.test>\r\nNOOP\nQUIT\r\n")
    replies = out.split("\r\n")
    assert replies[-1] == ""
    for line in replies[:-1]:
        assert line[:3].isdigit() and line[3] in " -" and "\r" not in line and "\n" not in line, repr(line)
    assert "500 5.5.2 Syntax error: commands must end with CRLF" in out
    assert replies[-2].startswith("221 ")


def test_received_field_quotes_a_non_domain_helo_and_names_ipv4(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="evil(x", timeout=30) as client:
        client.sendmail("a@remote.test", ["bob@example.test"], b"Subject: q\r\n\r\nhi\r\n")
    stored = headers_of(server, "bob@example.test")
    assert "Received: from [127.0.0.1] (HELO evil\\(x)\r\n\tby mx.example.test (mailgate) with ESMTP id" in stored


def test_smtputf8_mail_is_received_with_utf8smtp(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="client.test", timeout=30) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")
        client.sendmail("j\u00f6rg@remote.test", ["bob@example.test"], "Subject: \u00fc\r\n\r\nhi\r\n".encode(),
                        mail_options=["SMTPUTF8"])
    assert "with UTF8SMTP id" in headers_of(server, "bob@example.test")


def test_non_ascii_sender_without_smtputf8_is_553(server):
    out = raw(server.smtp_port, "EHLO c\r\nMAIL FROM:<j\u00f6rg@remote.test>\r\nQUIT\r\n".encode())
    assert "553 5.6.7" in out


def test_leniencies_are_refused(server):
    out = raw(server.smtp_port, b"EHLO c\r\nMAIL FROM:<a@remote.test> SIZE=+100\r\nMAIL FROM:<a@remote.test> SMTPUTF8=yes\r\n"
              b"MAIL FROM:<a@remote.test> ENVID=bad=x\r\nMAIL FROM:<a@remote.test>\r\n"
              b"RCPT TO:<bob@example.test> ORCPT=bob@example.test\r\nBDAT +5\r\nQUIT\r\n")
    codes = [line[:3] for line in out.split("\r\n") if line[3:4] == " "]
    assert codes == ["250", "501", "501", "501", "250", "501", "501", "221"], out


def test_mail_and_rcpt_lines_may_grow_with_their_extensions(server):
    envid = "e" * 100
    auth = "u" * 400 + "@example.test"
    mail = f"MAIL FROM:<a@remote.test> SIZE=100 BODY=8BITMIME RET=HDRS ENVID={envid} AUTH={auth}"
    rcpt = "RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;" + "o" * 480
    assert len(mail) > 510 and len(rcpt) > 510
    out = raw(server.smtp_port, f"EHLO c\r\n{mail}\r\n{rcpt}\r\nNOOP {'x' * 600}\r\nQUIT\r\n".encode())
    codes = [line[:3] for line in out.split("\r\n") if line[3:4] == " "]
    assert codes == ["250", "250", "250", "500", "221"], out


def test_an_overlong_auth_line_is_556(server):
    out = raw(server.smtp_port, b"EHLO c\r\nAUTH PLAIN " + b"A" * 13000 + b"\r\nQUIT\r\n")
    assert "500 5.5.6" in out


def test_stuffing_dot_is_not_counted_and_bdat_gets_data_checks(server):
    line = "." + "z" * 997   # 998 octets stored; smtplib stuffs a dot: 999 + CRLF on the wire
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail("a@remote.test", ["bob@example.test"], f"Subject: long\r\n\r\n{line}\r\n".encode())
    assert len(server.messages("bob@example.test")) == 1
    for body in [b"Subject: b\r\n\r\nbare\nLF\r\n", b"Subject: b\r\n\r\nbare\rCR\r\n",
                 b"Subject: b\r\n\r\n" + b"y" * 5000 + b"\r\n"]:
        out = raw(server.smtp_port, b"EHLO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\n"
                  + f"BDAT {len(body)} LAST\r\n".encode() + body + b"QUIT\r\n")
        assert "550 5.6.11" in out or "550 5.6.0" in out, out
    assert len(server.messages("bob@example.test")) == 1, "nothing refused was stored"


def test_bdat_message_sizes_are_exact_over_pop3(make_server):
    server = make_server(NO_LOGIN_DELAY)
    body = b"Subject: chunked\r\n\r\nno final line end"
    out = raw(server.smtp_port, b"EHLO c\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\n"
              + f"BDAT {len(body)} LAST\r\n".encode() + body + b"QUIT\r\n")
    assert "250 2.0.0" in out
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    client.user("bob@example.test")
    client.pass_("secret")
    listed = int(client.list(1).split()[2])
    response, lines, octets = client.retr(1)
    client.quit()
    wire = b"".join(line + b"\r\n" for line in lines)
    assert listed == len(wire), (listed, len(wire))


def test_smtp_starttls_forgets_a_login(server):
    with socket.create_connection(("127.0.0.1", server.smtp_port), timeout=10) as s:
        s.recv(4096)
        # "\0bob@example.test\0secret"; plaintext AUTH is allowed from loopback
        s.sendall(b"EHLO c\r\nAUTH PLAIN AGJvYkBleGFtcGxlLnRlc3QAc2VjcmV0\r\n")
        got = b""
        while b"235 " not in got:
            got += s.recv(4096)
        s.sendall(b"STARTTLS\r\n")
        assert s.recv(4096).startswith(b"220 2.0.0")
        tls = ssl._create_unverified_context().wrap_socket(s)
        tls.sendall(b"EHLO c\r\n")
        reply = b""
        while not reply.endswith(b"\r\n") or b"250 " not in reply:
            reply += tls.recv(4096)
        assert b"AUTH PLAIN LOGIN" in reply, "AUTH offered again: the login is gone"
        tls.sendall(b"MAIL FROM:<bob@example.test>\r\nRCPT TO:<friend@elsewhere.test>\r\n")
        answer = b""
        while answer.count(b"\r\n") < 2:
            answer += tls.recv(4096)
        assert answer.split(b"\r\n")[1].startswith(b"553 5.7.1"), answer


def test_pop3_stls_discards_pipelined_commands(make_server):
    server = make_server(NO_LOGIN_DELAY)
    with socket.create_connection(("127.0.0.1", server.pop3_port), timeout=10) as s:
        s.recv(4096)
        s.sendall(b"STLS\r\nUSER bob@example.test\r\nPASS secret\r\n")
        assert s.recv(4096).startswith(b"+OK")
        tls = ssl._create_unverified_context().wrap_socket(s)
        tls.sendall(b"PASS secret\r\n")
        assert tls.recv(4096).startswith(b"-ERR"), "the USER sent before the handshake was forgotten"


def test_pop3_in_use_login_grants_no_open_smtp(make_server):
    server = make_server(NO_LOGIN_DELAY)
    first = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    first.user("bob@example.test")
    first.pass_("secret")
    server.cli("whitelist", "remove", "127.0.0.1", check=False)
    assert "127.0.0.1" not in server.cli("whitelist", "list").stdout
    second = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    second.user("bob@example.test")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
        second.pass_("secret")
    assert "127.0.0.1" not in server.cli("whitelist", "list").stdout, "a failed login opened the relay"
    second.quit()
    first.quit()
    third = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    third.user("bob@example.test")
    third.pass_("secret")
    third.quit()
    assert "127.0.0.1" in server.cli("whitelist", "list").stdout, "a good login still grants open-SMTP"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def flood_without_reading(port, command, total, read_greeting=True):
    """Sends `total` bytes of `command` and never reads a reply; returns how much was
    sent before the server stopped reading (the socket then blocks)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    chunk = command * (65536 // len(command))
    sent = 0
    s.settimeout(2)
    try:
        while sent < total:
            sent += s.send(chunk)
    except (socket.timeout, BlockingIOError):
        pass
    return s, sent


@pytest.mark.parametrize("protocol,command", [
    ("smtp", b"HELP\r\n"), ("pop3", b"CAPA\r\n"), ("imap", b"a CAPABILITY\r\n")])
def test_a_client_that_never_reads_costs_a_bounded_amount(server, protocol, command):
    port = {"smtp": server.smtp_port, "pop3": server.pop3_port, "imap": server.imap_port}[protocol]
    pid = server.process.pid
    # Warm up: one normal session, so lazily built state is not counted.
    raw(port, command + b"\r\n", quiet=0.3)
    before = rss_kib(pid)
    sockets = []
    for _ in range(4):
        s, sent = flood_without_reading(port, command, 8 * 1024 * 1024)
        sockets.append(s)
        assert sent < 8 * 1024 * 1024, "the server kept reading from a client that never reads"
    grown = rss_kib(pid) - before
    # Four such clients: under a few MB in all (the flood itself is 32 MB of commands).
    assert grown < 8 * 1024, f"{protocol}: RSS grew by {grown} KiB"
    # Other clients are still served.
    out = raw(server.smtp_port, b"NOOP\r\nQUIT\r\n", quiet=0.5)
    assert "250 2.0.0 Ok" in out
    for s in sockets:
        s.close()


def test_ehlo_reply_is_one_write(server):
    """Checked on the server's system calls (strace): the whole multi-line EHLO reply
    leaves in one write, as strict one-chunk clients need."""
    require_tool("strace")
    trace = server.dir / "strace.txt"
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-s", "4096", "-e", "trace=write,writev,sendmsg,sendto",
                               "-o", str(trace), "-p", str(server.process.pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: trace.exists() and tracer.poll() is None, what="strace attached")
        time.sleep(0.5)  # strace attaches to every thread after it opens the file
        with socket.create_connection(("127.0.0.1", server.smtp_port), timeout=10) as s:
            s.recv(4096)
            s.sendall(b"EHLO c\r\n")
            reply = b""
            while b"\r\n250 " not in reply:
                reply += s.recv(65536)
            s.sendall(b"QUIT\r\n")
            s.recv(4096)
        wait_for(lambda: "250-mx.example.test" in trace.read_text(errors="replace"), what="the EHLO write in the trace")
    finally:
        tracer.terminate()
        tracer.wait(timeout=10)
    writes = [line for line in trace.read_text(errors="replace").splitlines() if "250-mx.example.test" in line]
    assert len(writes) == 1, writes
    assert "250 AUTH" in writes[0] or "250 " in writes[0].split("250-mx.example.test", 1)[1], writes[0]


def test_notify_success_on_local_delivery_sends_a_delivered_notice(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="client.test", timeout=30) as client:
        client.ehlo()
        client.mail("alice@example.test", ["ENVID=QQ314"])
        assert client.rcpt("bob@example.test", ["NOTIFY=SUCCESS", "ORCPT=rfc822;bob@example.test"])[0] == 250
        assert client.data(b"Subject: tell me\r\n\r\nhi\r\n")[0] == 250
        # NOTIFY=FAILURE only: no notice for a delivery.
        client.sendmail("alice@example.test", ["bob@example.test"], b"Subject: quiet\r\n\r\nhi\r\n",
                        rcpt_options=["NOTIFY=FAILURE"])
    notices = wait_for(lambda: server.messages("alice@example.test"), what="the delivered notice")
    assert len(notices) == 1, notices
    notice = server.message("alice@example.test", notices[0][0])
    assert "Subject: delivery notice" in notice
    assert "Action: delivered" in notice and "Status: 2.0.0" in notice
    assert "Final-Recipient: rfc822; bob@example.test" in notice
    assert "Original-Recipient: rfc822; bob@example.test" in notice
    assert "Original-Envelope-Id: QQ314" in notice
    assert "Return-Path: <>" in notice
    assert len(server.messages("bob@example.test")) == 2
