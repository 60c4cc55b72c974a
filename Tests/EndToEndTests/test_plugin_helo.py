"""plugins/helo.lua in the real server: smtplib clients giving HELO names that are
refused at RCPT (the default), at HELO, or accepted."""
import smtplib

import pytest

from conftest import insecure_tls
from plugin_support import plugin_config

MESSAGE = b"From: s@remote.test\r\nSubject: helo\r\n\r\nHello.\r\n"


def rcpt(server, helo, recipient="bob@example.test"):
    """The reply to RCPT TO after EHLO `helo` and MAIL FROM."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname=helo, timeout=30) as client:
        assert client.ehlo()[0] == 250
        assert client.mail("s@remote.test")[0] == 250
        return client.rcpt(recipient)


def test_bad_helo_names_are_refused_at_rcpt(make_server):
    server = make_server(plugin_config("helo"))
    assert rcpt(server, "198.51.100.7") == (
        550, b"5.7.1 Invalid HELO name 198.51.100.7: an address must be written [198.51.100.7]")
    assert rcpt(server, "bad_name.example") == (
        550, b"5.7.1 Invalid HELO name bad?name.example: not a domain or an address literal")
    # Our own name from a client that is not us (loopback is checked too).
    assert rcpt(server, "mx.example.test") == (550, b"5.7.1 Forged HELO name mx.example.test: that is me, not you")
    # localhost from loopback is fine; so is a proper name or an address literal.
    assert rcpt(server, "localhost")[0] == 250
    assert rcpt(server, "mail.remote.test")[0] == 250
    assert rcpt(server, "[127.0.0.1]")[0] == 250
    assert "helo: bare_ip from 127.0.0.1" in server.log()


def test_postmaster_and_authenticated_users_are_exempt(make_server):
    server = make_server(plugin_config("helo"))
    server.cli("alias", "add", "postmaster@example.test", "bob@example.test")
    assert rcpt(server, "198.51.100.7", "postmaster@example.test")[0] == 250
    with smtplib.SMTP("127.0.0.1", server.submission_port, local_hostname="DESKTOP-1234", timeout=30) as client:
        client.starttls(context=insecure_tls())
        client.ehlo()
        client.login("alice@example.test", "alicepw")
        client.sendmail("alice@example.test", ["bob@example.test"], MESSAGE)
    assert len(server.messages("bob@example.test")) == 1


def test_own_addresses_may_use_our_name(make_server):
    server = make_server(plugin_config("helo", 'own_addresses = ["127.0.0.1", "::1"]'))
    assert rcpt(server, "mx.example.test")[0] == 250
    # ... while a literal of our address from elsewhere would be forged (unit-tested);
    # a bare IP is still refused as such.
    assert rcpt(server, "127.0.0.1")[0] == 550


def test_refuse_at_helo(make_server):
    server = make_server(plugin_config("helo", 'refuse_at = "helo"'))
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="198.51.100.7", timeout=30) as client:
        code, text = client.ehlo()
        assert (code, text) == (550, b"5.7.1 Invalid HELO name 198.51.100.7: an address must be written [198.51.100.7]")
        # Without an accepted HELO the session cannot go on...
        assert client.docmd("MAIL", "FROM:<s@remote.test>")[0] == 503
        # ...until the client gives a proper name.
        assert client.docmd("EHLO", "[127.0.0.1]")[0] == 250
        assert client.docmd("MAIL", "FROM:<s@remote.test>")[0] == 250
        assert client.docmd("RCPT", "TO:<bob@example.test>")[0] == 250


def test_tag_adds_a_header(make_server):
    server = make_server(plugin_config("helo", 'action = "tag"'))
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="198.51.100.7", timeout=30) as client:
        client.sendmail("s@remote.test", ["bob@example.test"], MESSAGE)
    [entry] = server.messages("bob@example.test")
    stored = server.message("bob@example.test", entry[0])
    assert "X-HELO-Check: bare_ip: Invalid HELO name 198.51.100.7" in stored


def test_fcrdns_against_a_real_dns_server(make_server):
    """dnsmasq gives 127.0.0.1 a PTR name that resolves back to it, and 127.0.0.3 a PTR
    name that resolves elsewhere; 127.0.0.2 has no PTR at all."""
    from outbound_support import DNSServer
    # --local makes unknown reverse names NXDOMAIN (without it dnsmasq answers REFUSED,
    # a lookup failure that on_error would decide).
    dns = DNSServer(["--local=/in-addr.arpa/", "--ptr-record=1.0.0.127.in-addr.arpa,mail.loop.test",
                     "--host-record=mail.loop.test,127.0.0.1",
                     "--ptr-record=3.0.0.127.in-addr.arpa,liar.loop.test",
                     "--host-record=liar.loop.test,127.0.0.9"])
    try:
        server = make_server(plugin_config("helo", 'checks = ["fcrdns"]',
                                           f'[delivery]\nnameserver = "127.0.0.1:{dns.port}"\n'))

        def rcpt_from(source):
            with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="mail.loop.test", timeout=30,
                              source_address=(source, 0)) as client:
                client.ehlo()
                client.mail("s@remote.test")
                return client.rcpt("bob@example.test")

        assert rcpt_from("127.0.0.1")[0] == 250
        for source in ["127.0.0.2", "127.0.0.3"]:
            assert rcpt_from(source) == (550, f"5.7.1 Client address {source} has no forward-confirmed reverse DNS".encode())
    finally:
        dns.stop()
