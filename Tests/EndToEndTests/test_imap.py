"""IMAP (RFC 3501/9051 and extensions) as Python's imaplib sees it against the built
binary: login forms, folders, FETCH/STORE/SEARCH/COPY/MOVE/EXPUNGE, APPEND, STARTTLS
and IMAPS, sessions seeing each other (IDLE woken by an SMTP delivery), open-SMTP
after an IMAP login, policy hooks, and bad input answered with BAD."""
import imaplib
import re
import socket
import time

import pytest

from conftest import insecure_tls, wait_for

from test_pop3_clients import relay_reply


def login(server, user="bob@example.test", password="secret"):
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    client.login(user, password)
    return client


def raw(server, source="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", server.imap_port), timeout=10, source_address=(source, 0))
    reader = s.makefile("rb")
    assert reader.readline().startswith(b"* OK ")
    return s, reader


def until_tagged(reader, tag):
    lines = []
    while True:
        line = reader.readline()
        assert line, "connection closed"
        lines.append(line)
        if line.startswith(tag + b" "):
            return lines


def test_greeting_capabilities_and_login_forms(server):
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    assert "IMAP4REV1" in client.capabilities and "STARTTLS" in client.capabilities
    # Loopback: plaintext login is allowed, so LOGINDISABLED is not advertised.
    assert "LOGINDISABLED" not in client.capabilities
    typ, data = client.login("bob%example.test", "secret")
    assert typ == "OK"
    typ, data = client.capability()
    caps = data[0].decode().split()
    for name in ["IDLE", "UIDPLUS", "MOVE", "SPECIAL-USE", "CONDSTORE", "QUOTA", "NAMESPACE", "ESEARCH",
                 "LIST-STATUS", "UNSELECT", "ENABLE", "ID", "CHILDREN", "LITERAL+", "SASL-IR"]:
        assert name in caps, name
    assert "APPENDLIMIT=10485760" in caps
    client.logout()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30).login("bob@example.test", "wrong")


def test_authenticate_plain_and_cram_md5(server):
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    assert client.authenticate("PLAIN", lambda _: b"\0alice@example.test\0alicepw")[0] == "OK"
    client.logout()
    server.cli("user", "passwd", "bob@example.test", "--password-stdin", "--apop", input="topsecret\n")
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    assert client.login_cram_md5("bob@example.test", "topsecret")[0] == "OK"
    client.logout()


def test_new_accounts_have_the_special_use_folders(server):
    client = login(server)
    typ, listing = client.list()
    names = {line.decode().rsplit(" ", 1)[1].strip('"'): line.decode() for line in listing}
    assert set(names) >= {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}
    assert "\\Sent" in names["Sent"] and "\\Trash" in names["Trash"] and "\\Junk" in names["Junk"]
    typ, data = client.xatom("LIST", '"" "*" RETURN (SPECIAL-USE STATUS (MESSAGES))')
    assert typ == "OK"
    client.logout()


def test_fetch_store_search_copy_move_expunge(server):
    server.deliver("bob@example.test", subject="first", body="alpha body\r\n")
    server.deliver("bob@example.test", subject="second", body="beta body\r\n")
    client = login(server)
    typ, data = client.select("INBOX")
    assert typ == "OK" and data == [b"2"]
    typ, data = client.fetch("1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    bodies = [part[1] for part in data if isinstance(part, tuple)]
    assert b"Subject: first" in bodies[0] and b"Subject: second" in bodies[1]
    # PEEK leaves \Seen alone; BODY[] sets it (RFC 3501 §6.4.5).
    assert b"\\Seen" not in client.fetch("1", "(FLAGS)")[1][0]
    body = client.fetch("1", "(BODY[TEXT])")[1][0][1]
    assert body.startswith(b"alpha body")
    assert b"\\Seen" in client.fetch("1", "(FLAGS)")[1][0]
    assert client.search(None, "UNSEEN")[1] == [b"2"]
    assert client.search(None, 'SUBJECT "second"')[1] == [b"2"]
    assert client.search(None, 'BODY "alpha"')[1] == [b"1"]
    assert client.uid("SEARCH", None, "ALL")[1] == [b"1 2"]
    client.store("2", "+FLAGS", "(\\Flagged $Important)")
    assert client.search(None, "FLAGGED KEYWORD $Important")[1] == [b"2"]
    typ, data = client.copy("1", "Archive")
    assert typ == "OK" and b"COPYUID" in data[0]
    typ, data = client.uid("MOVE", "2", "Trash")
    assert typ == "OK"
    assert client.select("INBOX")[1] == [b"1"]
    client.store("1", "+FLAGS", "(\\Deleted)")
    assert client.expunge()[1] == [b"1"]
    assert client.select("INBOX")[1] == [b"0"]
    assert client.select("Archive")[1] == [b"1"]
    assert client.select("Trash")[1] == [b"1"]
    assert b"\\Flagged" in client.fetch("1", "(FLAGS)")[1][0]
    client.logout()
    # The store agrees: nothing left in INBOX, one message each in Archive and Trash.
    assert server.messages("bob@example.test") == []
    assert len(server.messages("bob@example.test", folder="Archive")) == 1


def test_append_and_folder_management(server):
    client = login(server)
    assert client.create("Projects/2026")[0] == "OK"
    message = b"From: bob@example.test\r\nSubject: draft\r\n\r\nA draft.\r\n"
    typ, data = client.append("Projects/2026", "(\\Draft)", imaplib.Time2Internaldate(time.time()), message)
    assert typ == "OK" and b"APPENDUID" in data[0]
    typ, data = client.status("Projects/2026", "(MESSAGES UNSEEN UIDNEXT)")
    assert b"MESSAGES 1" in data[0] and b"UIDNEXT 2" in data[0]
    typ, listing = client.list('""', "Projects*")
    assert any(b"\\HasChildren" in line and b'"Projects"' in line for line in listing)
    assert client.rename("Projects/2026", "Projects/Done")[0] == "OK"
    client.select("Projects/Done")
    assert client.fetch("1", "(BODY.PEEK[])")[1][0][1] == message
    typ, data = client.append("Nowhere", None, None, message)
    assert typ == "NO" and data[0].startswith(b"[TRYCREATE]")
    client.close()
    assert client.delete("Projects/Done")[0] == "OK"
    assert client.delete("INBOX")[0] == "NO"
    client.logout()


def test_append_over_the_size_limit_is_refused(make_server):
    server = make_server("[limits]\nmax_message_size = 2000")
    s, reader = raw(server)
    s.sendall(b"a LOGIN bob@example.test secret\r\n")
    until_tagged(reader, b"a")
    s.sendall(b"b APPEND INBOX {5000}\r\n")
    answer = reader.readline()
    assert answer.startswith(b"b NO [TOOBIG]"), answer
    s.sendall(b"c NOOP\r\n")
    assert until_tagged(reader, b"c")[-1].startswith(b"c OK")
    s.close()


def test_idle_is_woken_by_an_smtp_delivery(server):
    client = login(server)
    client.select("INBOX")
    tag = client._new_tag()
    client.send(tag + b" IDLE\r\n")
    assert client.readline().startswith(b"+")
    started = time.time()
    server.deliver("bob@example.test", subject="wake up")
    client.sock.settimeout(5)
    line = client.readline()
    assert re.match(rb"\* 1 EXISTS", line), line
    assert time.time() - started < 3
    client.send(b"DONE\r\n")
    while not (line := client.readline()).startswith(tag):
        pass
    assert b"OK" in line
    client.logout()


def test_sessions_see_each_others_changes(server):
    server.deliver("bob@example.test", subject="one")
    server.deliver("bob@example.test", subject="two")
    first, second = login(server), login(server)
    first.select("INBOX")
    second.select("INBOX")
    first.store("1", "+FLAGS", "(\\Seen)")
    second.noop()
    assert any(b"\\Seen" in line for line in second.untagged_responses.get("FETCH", [])), second.untagged_responses
    first.store("2", "+FLAGS", "(\\Deleted)")
    first.expunge()
    second.noop()
    assert second.untagged_responses.get("EXPUNGE") == [b"2"]
    server.deliver("bob@example.test", subject="three")
    second.noop()
    assert second.untagged_responses.get("EXISTS")[-1] == b"2"
    first.logout()
    second.logout()


def test_starttls_and_imaps(server):
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    client.starttls(ssl_context=insecure_tls())
    assert "STARTTLS" not in client.capabilities
    assert client.login("bob@example.test", "secret")[0] == "OK"
    client.logout()
    client = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=insecure_tls(), timeout=30)
    assert "STARTTLS" not in client.capabilities
    assert client.login("alice@example.test", "alicepw")[0] == "OK"
    client.logout()


def test_imap_login_opens_smtp_relay_for_that_ip(make_server):
    server = make_server('[policy.open_smtp]\nttl = "3s"')
    assert relay_reply(server, "127.0.0.12")[0] == 553
    s, reader = raw(server, source="127.0.0.12")
    s.sendall(b"a LOGIN bob%example.test secret\r\n")
    assert until_tagged(reader, b"a")[-1].startswith(b"a OK")
    s.close()
    assert relay_reply(server, "127.0.0.12")[0] == 250
    assert relay_reply(server, "127.0.0.13")[0] == 553
    assert "127.0.0.12" in server.cli("whitelist", "list").stdout
    wait_for(lambda: relay_reply(server, "127.0.0.12")[0] == 553, timeout=10, what="the open-SMTP entry to expire")


def test_failed_logins_are_limited_per_ip(make_server):
    server = make_server("[policy.ratelimit]\nauth_failures_per_hour = 2")
    s, reader = raw(server)
    for tag in [b"a", b"b"]:
        s.sendall(tag + b" LOGIN bob@example.test wrong\r\n")
        assert b"AUTHENTICATIONFAILED" in until_tagged(reader, tag)[-1]
    # Past the limit: the failure, and then even the right password, are refused for now.
    for tag, password in [(b"c", b"wrong"), (b"d", b"secret")]:
        s.sendall(tag + b" LOGIN bob@example.test " + password + b"\r\n")
        answer = until_tagged(reader, tag)[-1]
        assert answer.startswith(tag + b" NO [UNAVAILABLE]") and b"Too many failed logins" in answer, answer
    s.close()


def test_connect_and_disconnect_hooks_run_for_imap(make_server, tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "watch.lua").write_text(
        "local watch = {}\n"
        "function watch.connect(session)\n"
        "  if session.protocol == 'imap' and session.client_ip == '127.0.0.9' then\n"
        "    return mailgate.reject(554, '5.7.1', 'Not from there')\n"
        "  end\n"
        "  return mailgate.next\n"
        "end\n"
        "function watch.disconnect(session)\n"
        "  mailgate.log.info('imap bye ' .. session.protocol .. ' ' .. tostring(session.user))\n"
        "  return mailgate.next\n"
        "end\n"
        "return watch\n")
    server = make_server(f'[policy]\ndirectory = "{policies}"\nchain = ["watch"]\n')
    refused = socket.create_connection(("127.0.0.1", server.imap_port), timeout=10, source_address=("127.0.0.9", 0))
    assert refused.makefile("rb").readline() == b"* BYE Not from there\r\n"
    refused.close()
    login(server).logout()
    wait_for(lambda: "imap bye imap" in server.log(), timeout=5, what="the disconnect hook's log line")


def test_bad_input_gets_bad_and_the_session_goes_on(server):
    s, reader = raw(server)
    s.sendall(b"a FROB\r\n")
    assert until_tagged(reader, b"a")[-1].startswith(b"a BAD")
    s.sendall(b"b SELECT INBOX\r\n")
    assert until_tagged(reader, b"b")[-1].startswith(b"b BAD")   # not logged in
    s.sendall(b"c LOGIN bob@example.test secret\r\n")
    assert until_tagged(reader, b"c")[-1].startswith(b"c OK")
    s.sendall(b"d FETCH 1 (FLAGS)\r\n")
    assert until_tagged(reader, b"d")[-1].startswith(b"d BAD")   # nothing selected
    s.sendall(b"e SELECT INBOX\r\n")
    until_tagged(reader, b"e")
    s.sendall(b"f FETCH 1:* (FLAGS\r\n")
    assert until_tagged(reader, b"f")[-1].startswith(b"f BAD")
    s.sendall(b"g " + b"x" * 100_000 + b"\r\n")
    assert until_tagged(reader, b"g")[-1].startswith(b"g BAD")
    s.sendall(b"h NOOP\r\n")
    assert until_tagged(reader, b"h")[-1].startswith(b"h OK")
    s.close()
    # Still serving.
    login(server).logout()


def test_commands_pipelined_behind_a_long_fetch_are_answered(server):
    client = login(server)
    body = b"From: bob@example.test\r\nSubject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 200
    for _ in range(30):
        client.append("INBOX", None, None, body)
    client.logout()
    s, reader = raw(server)
    s.sendall(b"a LOGIN bob@example.test secret\r\nb SELECT INBOX\r\n")
    until_tagged(reader, b"b")
    # The FETCH answer (6 MB) is far more than the socket buffers: the server is still
    # writing it when the next commands arrive in separate packets.
    s.sendall(b"c FETCH 1:* BODY.PEEK[]\r\n")
    time.sleep(0.3)
    s.sendall(b"d NOOP\r\n")
    time.sleep(0.1)
    s.sendall(b"e UID SEARCH ALL\r\n")
    lines = until_tagged(reader, b"c")
    assert lines[-1].startswith(b"c OK")
    assert until_tagged(reader, b"d")[-1].startswith(b"d OK")
    answer = until_tagged(reader, b"e")
    assert answer[-1].startswith(b"e OK") and answer[0].startswith(b"* SEARCH 1 2 3")
    s.close()
