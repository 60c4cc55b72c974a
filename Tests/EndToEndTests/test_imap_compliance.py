"""IMAP compliance through the built server (issue 11 §9, and §8/§1 for IMAP): \\Recent
held by exactly one session, keywords announced before FETCH shows them, NIL refused
as a flag, LIST-EXTENDED errors and \\NonExistent subscriptions, LSUB \\Noselect,
CONDSTORE's first HIGHESTMODSEQ and ESEARCH MODSEQ, mailbox names with every astring
character, address SEARCH, a message expunged elsewhere still readable, input
pipelined behind STARTTLS never executed, and big literals refused before login."""
import imaplib
import re
import socket
import ssl
import time

from conftest import insecure_tls, wait_for


def login(server, user="bob@example.test", password="secret"):
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    client.login(user, password)
    return client


class Raw:
    """A line-level IMAP connection for exact answers and ordering."""

    def __init__(self, server, user="bob@example.test", password="secret"):
        self.sock = socket.create_connection(("127.0.0.1", server.imap_port), timeout=15)
        self.reader = self.sock.makefile("rb")
        assert self.reader.readline().startswith(b"* OK ")
        if user:
            assert self.command(f"l LOGIN {user} {password}")[-1].startswith(b"l OK")

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def command(self, line):
        tag = line.split(" ", 1)[0].encode()
        self.send(line + "\r\n")
        return self.until(tag)

    def until(self, tag):
        lines = []
        while True:
            line = self.reader.readline()
            assert line, f"connection closed, got {lines!r}"
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def close(self):
        self.sock.close()


def untagged(client, name):
    return [item.decode() if isinstance(item, bytes) else item for item in client.untagged_responses.get(name, [])]


def test_recent_belongs_to_exactly_one_session(server):
    server.deliver("bob@example.test", subject="one")
    server.deliver("bob@example.test", subject="two")
    first, second = login(server), login(server)
    first.select("INBOX")
    assert untagged(first, "RECENT") == ["2"]
    second.select("INBOX")
    assert untagged(second, "RECENT") == ["0"]
    assert b"\\Recent" in first.fetch("1", "(FLAGS)")[1][0]
    assert b"\\Recent" not in second.fetch("1", "(FLAGS)")[1][0]
    assert first.search(None, "RECENT")[1] == [b"1 2"]
    assert second.search(None, "OLD")[1] == [b"1 2"]
    # A new message goes to the first session that hears of it, and only to it.
    server.deliver("bob@example.test", subject="three")
    second.noop()
    assert b"\\Recent" in second.fetch("3", "(FLAGS)")[1][0]
    first.noop()
    assert b"\\Recent" not in first.fetch("3", "(FLAGS)")[1][0]
    third = login(server)
    assert third.status("INBOX", "(RECENT MESSAGES)")[1] == [b'"INBOX" (RECENT 0 MESSAGES 3)']
    for client in (first, second, third):
        client.logout()


def test_claimed_recent_stays_claimed_after_a_restart(server):
    server.deliver("bob@example.test", subject="one")
    client = login(server)
    client.select("INBOX")
    assert untagged(client, "RECENT") == ["1"]
    client.logout()
    server.stop()
    server.start()
    server.deliver("bob@example.test", subject="two")
    client = login(server)
    client.select("INBOX")
    assert untagged(client, "RECENT") == ["1"]
    assert client.search(None, "RECENT")[1] == [b"2"]
    client.logout()


def test_examine_does_not_take_recent_and_appends_are_recent(server):
    client = login(server)
    client.create("Fresh")
    client.append("Fresh", None, None, b"Subject: a\r\n\r\nx\r\n")
    client.append("Fresh", None, None, b"Subject: b\r\n\r\ny\r\n")
    assert client.status("Fresh", "(RECENT)")[1] == [b'"Fresh" (RECENT 2)']
    client.select("Fresh", readonly=True)
    assert untagged(client, "RECENT") == ["2"]
    client.select("Fresh")
    assert untagged(client, "RECENT") == ["2"]
    client.select("Fresh")
    assert untagged(client, "RECENT") == ["0"]
    client.logout()


def test_keywords_are_announced_before_a_fetch_shows_them(server):
    server.deliver("bob@example.test", subject="tag me")
    writer, watcher = login(server), Raw(server)
    writer.select("INBOX")
    watcher.command("s SELECT INBOX")
    writer.store("1", "+FLAGS", "($Important)")
    lines = watcher.command("n NOOP")
    flags = next(i for i, line in enumerate(lines) if line.startswith(b"* FLAGS ("))
    permanent = next(i for i, line in enumerate(lines) if b"[PERMANENTFLAGS (" in line)
    fetch = next(i for i, line in enumerate(lines) if b"FETCH" in line)
    assert b"$Important" in lines[flags] and b"$Important" in lines[permanent]
    assert flags < fetch and permanent < fetch and b"$Important" in lines[fetch]
    # NIL is not a flag: BAD, and no keyword named NIL appears.
    assert watcher.command("b STORE 1 +FLAGS (NIL)")[-1].startswith(b"b BAD")
    assert watcher.command("c STORE 1 FLAGS NIL")[-1].startswith(b"c BAD")
    assert b"NIL" not in writer.fetch("1", "(FLAGS)")[1][0]
    watcher.close()
    writer.logout()


def test_list_extended_and_lsub(server):
    raw = Raw(server)
    for name in ["t/a", "t/b/c", "t/gone", "m/x/y"]:
        assert raw.command(f"c CREATE {name}")[-1].startswith(b"c OK")
    for name in ["t/a", "t/b/c", "t/gone", "m/x/y"]:
        assert raw.command(f"s SUBSCRIBE {name}")[-1].startswith(b"s OK")
    assert raw.command("d DELETE t/gone")[-1].startswith(b"d OK")
    assert raw.command('a LIST (IMAPTEST) "" "*"')[-1].startswith(b"a BAD")
    assert raw.command('b LIST (RECURSIVEMATCH) "" "*"')[-1].startswith(b"b BAD")
    assert raw.command('c LIST (RECURSIVEMATCH REMOTE) "" "*"')[-1].startswith(b"c BAD")
    lines = raw.command('e LIST (SUBSCRIBED) "" "t/*"')
    gone = [line for line in lines if b'"t/gone"' in line]
    assert len(gone) == 1 and b"\\NonExistent" in gone[0] and b"\\Subscribed" in gone[0] and b"\\Noselect" not in gone[0]
    lines = raw.command('f LIST (SUBSCRIBED RECURSIVEMATCH) "" "t/%"')
    assert any(b'"t/b" ("CHILDINFO" ("SUBSCRIBED"))' in line for line in lines)
    lines = raw.command('g LSUB "" "m/%"')
    assert lines[0] == b'* LSUB (\\Noselect) "/" "m/x"\r\n' and lines[-1].startswith(b"g OK")
    raw.close()


def test_condstore_first_use_and_esearch_modseq(server):
    for subject in ["a", "b", "c"]:
        server.deliver("bob@example.test", subject=subject)
    raw = Raw(server)
    raw.command("s SELECT INBOX")
    lines = raw.command("f FETCH 1 (MODSEQ)")
    assert lines[0].startswith(b"* OK [HIGHESTMODSEQ ")
    modseqs = {}
    for n in [3, 1, 2]:
        lines = raw.command(f"t{n} STORE {n} +FLAGS (\\Flagged)")
        modseqs[n] = int(re.search(rb"MODSEQ \((\d+)\)", b"".join(lines)).group(1))
    lines = raw.command("m SEARCH RETURN (MIN) 1:3 MODSEQ 1")
    assert lines[0] == f'* ESEARCH (TAG "m") MIN 1 MODSEQ {modseqs[1]}\r\n'.encode()
    lines = raw.command("x SEARCH RETURN (MAX) 1:3 MODSEQ 1")
    assert lines[0] == f'* ESEARCH (TAG "x") MAX 3 MODSEQ {modseqs[3]}\r\n'.encode()
    lines = raw.command("y SEARCH RETURN (ALL) 1:3 MODSEQ 1")
    assert lines[0] == f'* ESEARCH (TAG "y") ALL 1:3 MODSEQ {max(modseqs.values())}\r\n'.encode()
    raw.close()


def test_every_astring_character_in_mailbox_names(server):
    raw = Raw(server)
    for index, character in enumerate("!#$&'+,-.0123456789:;<=>?@^_`|[}~]"):
        name = f"n{index}{character}x"
        assert raw.command(f"c{index} CREATE {name}")[-1].startswith(f"c{index} OK".encode()), character
        assert raw.command(f"s{index} SELECT {name}")[-1].startswith(f"s{index} OK".encode()), character
        lines = raw.command(f'l{index} LIST "" {name}')
        assert lines[-1].startswith(f"l{index} OK".encode()) and len(lines) == 2, character
    assert raw.command("m SELECT Missing")[-1] == b"m NO [NONEXISTENT] No such mailbox\r\n"
    assert raw.command('p LIST "" *&*')[-1].startswith(b"p OK")
    raw.close()


def test_search_from_matches_the_address(server):
    client = login(server)
    client.select("INBOX")
    for header in ["From: <user-from (comment)@ (comment) domain.org>",
                   "From: user-from@domain.org (Real Name)",
                   "From: Someone Else <else@domain.org>"]:
        client.append("INBOX", None, None, f"{header}\r\nSubject: x\r\n\r\nbody\r\n".encode())
    assert client.search(None, "FROM", "user-from@domain.org")[1] == [b"1 2"]
    assert client.search(None, "FROM", '"Real Name"')[1] == [b"2"]
    client.logout()


def test_message_expunged_elsewhere_stays_readable_until_told(server):
    for subject in ["keep", "doomed", "last"]:
        server.deliver("bob@example.test", subject=subject, body=f"{subject} body\r\n")
    viewer, remover = Raw(server), login(server)
    viewer.command("s SELECT INBOX")
    remover.select("INBOX")
    remover.store("2", "+FLAGS", "(\\Deleted)")
    remover.expunge()
    lines = viewer.command("f FETCH 2 (BODY.PEEK[TEXT])")
    assert lines[-1].startswith(b"f OK"), lines
    assert b"doomed body" in b"".join(lines)
    assert b"EXPUNGE" not in b"".join(lines)
    assert viewer.command("n NOOP")[0] == b"* 2 EXPUNGE\r\n"
    viewer.close()
    remover.logout()


def test_input_pipelined_behind_starttls_is_never_executed(server):
    sock = socket.create_connection(("127.0.0.1", server.imap_port), timeout=15)
    reader = sock.makefile("rb")
    assert reader.readline().startswith(b"* OK ")
    # One packet: STARTTLS and, in the clear behind it, a login (the "NO STARTTLS"
    # injection: a man in the middle adds commands the server must not run after TLS).
    sock.sendall(b"a STARTTLS\r\nb LOGIN bob@example.test secret\r\nc SELECT INBOX\r\n")
    assert reader.readline().startswith(b"a OK")
    tls = insecure_tls().wrap_socket(sock, server_hostname="localhost")
    tls_reader = tls.makefile("rb")
    tls.sendall(b"d CAPABILITY\r\ne LOGOUT\r\n")
    lines = []
    while True:
        line = tls_reader.readline()
        if not line:
            break
        lines.append(line)
    tagged = [line.split(b" ")[0] for line in lines if not line.startswith(b"*")]
    assert tagged == [b"d", b"e"], lines
    capability = next(line for line in lines if line.startswith(b"* CAPABILITY"))
    assert b"AUTH=PLAIN" in capability   # still not authenticated
    tls.close()


def test_big_literals_are_refused_before_login(server):
    raw = Raw(server, user=None)
    raw.send("a APPEND INBOX {10000000}\r\n")
    line = raw.reader.readline()
    assert line.startswith(b"a BAD [TOOBIG]"), line
    # The session goes on: LOGIN's small literals still work.
    raw.send("b LOGIN {16}\r\n")
    assert raw.reader.readline().startswith(b"+ ")
    raw.send("bob@example.test secret\r\n")
    assert raw.until(b"b")[-1].startswith(b"b OK")
    raw.close()
    # Non-synchronizing: answered, then the connection is closed without reading on.
    other = Raw(server, user=None)
    other.send(b"a APPEND INBOX {10000000+}\r\n")
    lines = []
    while True:
        line = other.reader.readline()
        if not line:
            break
        lines.append(line)
    assert lines[0].startswith(b"a BAD [TOOBIG]") and lines[-1].startswith(b"* BYE"), lines
    other.close()
