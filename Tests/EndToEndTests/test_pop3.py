"""POP3 (RFC 1939, 2449, 2595, 5034) as Python's poplib sees it: retrieval, deletion
only after QUIT, stable UIDLs, STLS, POP3S, APOP, locking, LOGIN-DELAY and bad input."""
import poplib
import socket
import time

import pytest

from conftest import insecure_tls, wait_for

NO_LOGIN_DELAY = "[policy.ratelimit]\npop3_login_interval = 0"


def connect(server, user="bob%example.test", password="secret"):
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    client.user(user)
    client.pass_(password)
    return client


def try_connect(server):
    """A logged-in client, or None while the maildrop is still locked ([IN-USE])."""
    try:
        return connect(server)
    except poplib.error_proto:
        return None


def raw_session(server):
    s = socket.create_connection(("127.0.0.1", server.pop3_port), timeout=10)
    reader = s.makefile("rb")
    greeting = reader.readline()
    assert greeting.startswith(b"+OK ")
    return s, reader


def test_greeting_carries_an_apop_timestamp(server):
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    welcome = client.getwelcome().decode()
    assert welcome.startswith("+OK ")
    assert welcome.rstrip().endswith("@mx.example.test>")
    client.quit()


def test_capabilities(server):
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    capabilities = client.capa()
    for name in ["TOP", "UIDL", "USER", "RESP-CODES", "PIPELINING", "STLS", "AUTH-RESP-CODE"]:
        assert name in capabilities, name
    assert capabilities["LOGIN-DELAY"] == ["60"]
    assert set(capabilities["SASL"]) >= {"PLAIN", "LOGIN", "CRAM-MD5"}
    assert "EXPIRE" in capabilities and "IMPLEMENTATION" in capabilities
    client.quit()


def test_retrieve_list_top_uidl_and_delete_after_quit(make_server):
    server = make_server(NO_LOGIN_DELAY)
    sent = [server.deliver("bob@example.test", subject=f"message {n}", body=f"Body {n}.\r\nSecond line.\r\n")
            for n in range(3)]
    client = connect(server)
    count, total = client.stat()
    assert count == 3
    listing = [line.split() for line in client.list()[1]]
    assert [int(number) for number, _ in listing] == [1, 2, 3]
    assert sum(int(size) for _, size in listing) == total
    for number, size in listing:
        _, lines, octets = client.retr(int(number))
        message = b"\r\n".join(lines) + b"\r\n"
        # The size LIST announced is exactly what RETR sends (CRLF line ends, unstuffed).
        assert len(message) == int(size)
        assert message.startswith(b"Return-Path: <sender@remote.test>\r\n")
        assert message.endswith(sent[int(number) - 1].split("\r\n\r\n", 1)[1].encode())
    headers = client.top(2, 0)[1]
    assert b"Subject: message 1" in headers and b"Body 1." not in headers
    one_line = client.top(2, 1)[1]
    assert one_line[-1] == b"Body 1." and b"Second line." not in one_line
    uidls = dict(line.decode().split() for line in client.uidl()[1])
    assert len(set(uidls.values())) == 3
    assert client.dele(1).startswith(b"+OK")
    with pytest.raises(poplib.error_proto, match="already deleted"):
        client.retr(1)
    assert client.stat()[0] == 2
    # Not yet deleted: another look at the store still shows three messages.
    assert len(server.messages("bob@example.test")) == 3
    assert client.quit().startswith(b"+OK")
    assert len(server.messages("bob@example.test")) == 2

    client = connect(server)
    assert client.stat()[0] == 2
    again = dict(line.decode().split() for line in client.uidl()[1])
    # Same messages keep their UIDLs; numbering starts at 1 again.
    assert sorted(again.values()) == sorted([uidls["2"], uidls["3"]])
    client.quit()


def test_uidls_survive_a_restart_and_are_never_reused(make_server):
    server = make_server(NO_LOGIN_DELAY)
    server.deliver("bob@example.test", subject="one")
    server.deliver("bob@example.test", subject="two")
    client = connect(server)
    before = [line.decode().split()[1] for line in client.uidl()[1]]
    client.dele(2)
    client.quit()
    server.stop()
    server.start()
    server.deliver("bob@example.test", subject="three")
    client = connect(server)
    after = [line.decode().split()[1] for line in client.uidl()[1]]
    client.quit()
    assert after[0] == before[0]
    assert after[1] not in before


def test_rset_undeletes(make_server):
    server = make_server(NO_LOGIN_DELAY)
    server.deliver("bob@example.test")
    client = connect(server)
    client.dele(1)
    assert client.stat()[0] == 0
    client.rset()
    assert client.stat()[0] == 1
    client.quit()
    assert len(server.messages("bob@example.test")) == 1


def test_dropped_connection_after_dele_loses_nothing(make_server):
    server = make_server(NO_LOGIN_DELAY)
    server.deliver("bob@example.test", subject="keep me")
    client = connect(server)
    client.dele(1)
    client.file.close()  # no QUIT: the UPDATE state is never reached
    client.sock.close()
    # The lock is released with the connection: once a new login gets the maildrop, the
    # dropped session has ended, and its DELE must not have been applied.
    client = wait_for(lambda: try_connect(server), what="the maildrop lock to be released")
    assert len(server.messages("bob@example.test")) == 1
    assert client.stat()[0] == 1
    client.quit()


def test_lines_starting_with_a_dot_are_byte_stuffed(server):
    body = ".hidden\r\n..double\r\n.\r\nend\r\n"
    server.deliver("bob@example.test", body=body)
    client = connect(server)
    lines = client.retr(1)[1]  # poplib removes the stuffing again
    assert lines[-4:] == [b".hidden", b"..double", b".", b"end"]
    client.quit()


def test_wrong_password_and_unknown_user_get_auth_response_code(server):
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    client.user("bob@example.test")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        client.pass_("wrong")
    client.user("nobody@example.test")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        client.pass_("secret")
    client.quit()


def test_stls_then_login(server):
    server.deliver("bob@example.test")
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    client.stls(insecure_tls())
    assert "STLS" not in client.capa()
    client.user("bob@example.test")
    client.pass_("secret")
    assert client.stat()[0] == 1
    client.quit()


def test_commands_pipelined_after_stls_are_discarded(server):
    s, reader = raw_session(server)
    s.sendall(b"STLS\r\nUSER bob@example.test\r\n")
    assert reader.readline().startswith(b"+OK")
    tls = insecure_tls().wrap_socket(s, server_hostname="mx.example.test")
    tls_reader = tls.makefile("rb")
    # The USER sent before the handshake was dropped, so PASS has no user to go with.
    tls.sendall(b"PASS secret\r\n")
    assert tls_reader.readline().startswith(b"-ERR")
    tls.close()


def test_pop3s(server):
    server.deliver("bob@example.test")
    client = poplib.POP3_SSL("127.0.0.1", server.pop3s_port, timeout=30, context=insecure_tls())
    assert "STLS" not in client.capa()
    client.user("bob@example.test")
    client.pass_("secret")
    assert client.stat()[0] == 1
    client.quit()


def test_apop(make_server):
    server = make_server(NO_LOGIN_DELAY)
    server.add_user("carol@example.test", "carolpw", "--apop")
    server.deliver("carol@example.test")
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    assert client.apop("carol%example.test", "carolpw").startswith(b"+OK")
    assert client.stat()[0] == 1
    client.quit()
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        client.apop("carol@example.test", "wrong")
    client.quit()
    # An account without a stored APOP secret cannot use APOP at all.
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        client.apop("bob@example.test", "secret")
    client.quit()


def test_second_session_on_a_mailbox_gets_in_use(make_server):
    server = make_server(NO_LOGIN_DELAY)
    first = connect(server)
    second = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    second.user("bob@example.test")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
        second.pass_("secret")
    first.quit()
    third = connect(server)
    third.quit()


def test_second_login_within_a_minute_gets_login_delay(server):
    connect(server).quit()
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    client.user("bob@example.test")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[LOGIN-DELAY\]"):
        client.pass_("secret")
    # The server closes the connection after LOGIN-DELAY, as the service documents.
    assert client.sock.recv(1) == b""
    # Another account is not affected.
    connect(server, "alice@example.test", "alicepw").quit()


def test_bad_input_gets_errors_and_the_session_goes_on(server):
    s, reader = raw_session(server)
    s.sendall(b"FROB\r\n")
    assert reader.readline().startswith(b"-ERR")
    s.sendall(b"STAT\r\n")  # not before login
    assert reader.readline().startswith(b"-ERR")
    s.sendall(b"USER " + b"x" * 5000 + b"\r\n")
    assert reader.readline().startswith(b"-ERR")
    s.sendall(b"USER bob@example.test\r\nPASS secret\r\nSTAT\r\nRETR 7\r\nDELE x\r\nQUIT\r\n")
    replies = [reader.readline() for _ in range(6)]
    assert [r[:3] for r in replies] == [b"+OK", b"+OK", b"+OK", b"-ER", b"-ER", b"+OK"]
    assert replies[2] == b"+OK 0 0\r\n"
    s.close()


def test_a_large_message_streams_intact(make_server):
    server = make_server(NO_LOGIN_DELAY)
    line = "x" * 70 + "\r\n"
    body = line * (8 * 1024 * 1024 // len(line))  # ~8 MB, under the 10 MB default
    server.deliver("bob@example.test", subject="big", body=body)
    client = connect(server)
    size = int(client.list(1).split()[2])
    _, lines, octets = client.retr(1)
    message = b"\r\n".join(lines) + b"\r\n"
    assert len(message) == size
    assert message.endswith(body.encode())
    assert client.noop().startswith(b"+OK")  # the session goes on after the transfer
    client.quit()


def test_failed_logins_are_limited_per_ip(make_server):
    server = make_server("[policy.ratelimit]\nauth_failures_per_hour = 2\npop3_login_interval = 0")
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    for _ in range(2):
        client.user("bob@example.test")
        with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
            client.pass_("wrong")
    # Past the limit: the failure, and then even the right password, are refused for now.
    for password in ["wrong", "secret"]:
        client.user("bob@example.test")
        with pytest.raises(poplib.error_proto, match=r"-ERR \[SYS/TEMP\] Too many failed logins"):
            client.pass_(password)


def test_connect_and_disconnect_hooks_run_for_pop3(make_server, tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "watch.lua").write_text(
        "local watch = {}\n"
        "function watch.connect(session)\n"
        "  if session.protocol == 'pop3' and session.client_ip == '127.0.0.9' then\n"
        "    return mailgate.reject(554, '5.7.1', 'Not from there')\n"
        "  end\n"
        "  return mailgate.next\n"
        "end\n"
        "function watch.disconnect(session)\n"
        "  mailgate.counters.incr('gone:' .. session.protocol, 3600)\n"
        "  return mailgate.next\n"
        "end\n"
        "return watch\n")
    server = make_server(f'[policy]\ndirectory = "{policies}"\nchain = ["watch"]')
    refused = socket.create_connection(("127.0.0.1", server.pop3_port), timeout=10, source_address=("127.0.0.9", 0))
    assert refused.makefile("rb").readline() == b"-ERR [SYS/PERM] Not from there\r\n"
    refused.close()
    client = poplib.POP3("127.0.0.1", server.pop3_port, timeout=30)
    client.quit()
    wait_for(lambda: "gone:pop3\t2" in server.cli("counters").stdout, timeout=5, what="the disconnect hook's counter")


def test_pipelined_retrieval_of_large_messages(make_server):
    server = make_server(NO_LOGIN_DELAY)
    line = "y" * 70 + "\r\n"
    bodies = [line * (n * 40000) for n in (1, 2)]  # ~2.8 MB and ~5.7 MB
    for n, body in enumerate(bodies):
        server.deliver("bob@example.test", subject=f"big {n}", body=body)
    s, reader = raw_session(server)
    s.sendall(b"USER bob@example.test\r\nPASS secret\r\nRETR 1\r\nRETR 2\r\nQUIT\r\n")
    assert reader.readline().startswith(b"+OK")
    assert reader.readline().startswith(b"+OK")
    for body in bodies:
        assert reader.readline().startswith(b"+OK")
        content = bytearray()
        while (line_bytes := reader.readline()) != b".\r\n":
            content += line_bytes
        assert content.endswith(body.encode())
    assert reader.readline().startswith(b"+OK")
    s.close()
