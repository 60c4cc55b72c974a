"""plugins/dnsbl.lua in the real server against a real DNS server: dnsmasq serves a
test zone the RFC 5782 way (127.0.0.2 listed, 127.0.0.1 never) and is mailgate's
`[delivery] nameserver`. Clients connect from 127.0.0.1 (not listed) and from
127.0.0.2 (listed): Linux routes all of 127.0.0.0/8 to the loopback interface."""
import smtplib
import socket

import pytest

from outbound_support import DNSServer
from plugin_support import plugin_config

MESSAGE = b"From: s@remote.test\r\nSubject: dnsbl\r\n\r\nHello.\r\n"

ZONE_RECORDS = [
    "--address=/2.0.0.127.bl.test/127.0.0.2",
    # A second zone answering a code outside 127.0.0.2-127.0.0.11.
    "--address=/2.0.0.127.wide.test/127.0.0.20",
    # A zone whose server never answers: dnsmasq forwards it to a dead port.
    "--server=/down.test/127.0.0.1#9",
]


@pytest.fixture
def dns():
    server = DNSServer(ZONE_RECORDS)
    yield server
    server.stop()


def dnsbl_server(make_server, dns, settings):
    return make_server(plugin_config("dnsbl", settings, f'[delivery]\nnameserver = "127.0.0.1:{dns.port}"\n'))


def rcpt_from(server, source, recipient="bob@example.test"):
    """RCPT's reply for a client connecting from loopback address `source`."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="mail.remote.test", timeout=30,
                      source_address=(source, 0)) as client:
        assert client.ehlo()[0] == 250
        assert client.mail("s@remote.test")[0] == 250
        return client.rcpt(recipient)


def greeting_from(server, source, port=None):
    with socket.create_connection(("127.0.0.1", port or server.smtp_port), timeout=30,
                                  source_address=(source, 0)) as s:
        return s.recv(512)


def test_listed_client_is_refused_in_the_greeting_by_default(make_server, dns):
    server = dnsbl_server(make_server, dns, 'zones = ["bl.test"]')
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30, source_address=("127.0.0.2", 0))
    assert (refused.value.smtp_code, refused.value.smtp_error) == (
        554, b"5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test")
    assert greeting_from(server, "127.0.0.1").startswith(b"220 ")
    # Only the MX listener is checked: a listed user on submission is not refused.
    assert greeting_from(server, "127.0.0.2", server.submission_port).startswith(b"220 ")
    assert "dnsbl: 127.0.0.2 listed by bl.test" in server.log()


def test_listed_client_is_refused_at_rcpt(make_server, dns):
    server = dnsbl_server(make_server, dns, 'zones = ["bl.test"]\nrefuse_at = "rcpt"')
    assert rcpt_from(server, "127.0.0.2") == (554, b"5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test")
    # 127.0.0.1 is never listed (NXDOMAIN): mail goes through.
    assert rcpt_from(server, "127.0.0.1")[0] == 250
    assert "dnsbl: 127.0.0.2 listed by bl.test" in server.log()


def test_postmaster_gets_through(make_server, dns):
    server = dnsbl_server(make_server, dns, 'zones = ["bl.test"]\nrefuse_at = "rcpt"')
    server.cli("alias", "add", "postmaster@example.test", "bob@example.test")
    assert rcpt_from(server, "127.0.0.2", "postmaster@example.test")[0] == 250


def test_codes_weights_and_threshold(make_server, dns):
    # wide.test answers 127.0.0.20, outside its codes: only bl.test counts (1 < 2).
    server = dnsbl_server(make_server, dns, 'threshold = 2\nrefuse_at = "rcpt"\nzones = ["bl.test", '
                          '{ zone = "wide.test", codes = ["127.0.0.2-127.0.0.11"] }]')
    assert rcpt_from(server, "127.0.0.2")[0] == 250
    # Without the codes filter both zones count: 2 reaches the threshold.
    other = dnsbl_server(make_server, dns, 'threshold = 2\nrefuse_at = "rcpt"\nzones = ["bl.test", "wide.test"]')
    assert rcpt_from(other, "127.0.0.2") == (
        554, b"5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test, wide.test")


def test_refuse_at_connect(make_server, dns):
    server = dnsbl_server(make_server, dns, 'zones = ["bl.test"]\nrefuse_at = "connect"')
    with socket.create_connection(("127.0.0.1", server.smtp_port), timeout=30, source_address=("127.0.0.2", 0)) as s:
        assert s.recv(512) == b"554 5.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test\r\n"
        # RFC 5321 §3.1: the session stays for QUIT, refusing everything else.
        s.sendall(b"EHLO mail.remote.test\r\n")
        assert s.recv(512).startswith(b"503 5.5.1 ")
        s.sendall(b"QUIT\r\n")
        assert s.recv(512).startswith(b"221 ")
    with socket.create_connection(("127.0.0.1", server.smtp_port), timeout=30) as s:
        assert s.recv(512).startswith(b"220 ")


def test_tag_adds_a_header(make_server, dns):
    server = dnsbl_server(make_server, dns, 'zones = ["bl.test"]\naction = "tag"')
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30, source_address=("127.0.0.2", 0)) as client:
        client.sendmail("s@remote.test", ["bob@example.test"], MESSAGE)
    [entry] = server.messages("bob@example.test")
    assert "X-DNSBL: 127.0.0.2 listed by bl.test (score 1)" in server.message("bob@example.test", entry[0])


def test_a_zone_that_does_not_answer_follows_on_error(make_server, dns):
    # on_error = "defer" (the default): 451 4.3.0, the client retries later.
    server = dnsbl_server(make_server, dns, 'zones = ["down.test"]\nrefuse_at = "rcpt"')
    assert rcpt_from(server, "127.0.0.1") == (451, b"4.3.0 Temporary policy failure, please try again later")
    assert "lookup failed for 127.0.0.1 (down.test:" in server.log()
    # on_error = "next": the mail goes on.
    lenient = dnsbl_server(make_server, dns, 'zones = ["down.test"]\nrefuse_at = "rcpt"\non_error = "next"')
    assert rcpt_from(lenient, "127.0.0.1")[0] == 250
