"""plugins/greylist.lua in the real server: a real smtplib client is deferred, retries
after the (test-sized) delay and is accepted; the state is in the store, so it survives
a restart."""
import signal
import smtplib
import time

import pytest

from plugin_support import plugin_config

MESSAGE = b"From: s@remote.test\r\nSubject: greylist\r\n\r\nHello.\r\n"


def send(server, sender="s@remote.test", recipient="bob@example.test"):
    """Sends one message; returns None when accepted, else the recipient's refusal."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="mail.remote.test", timeout=30) as client:
        try:
            client.sendmail(sender, [recipient], MESSAGE)
        except smtplib.SMTPRecipientsRefused as error:
            return error.recipients[recipient]
    return None


def test_deferred_then_accepted_after_the_delay(make_server):
    server = make_server(plugin_config("greylist", 'delay = "2s"'))
    code, text = send(server)
    assert code == 451 and text.startswith(b"4.7.1 Greylisted, please try again in ")
    # An immediate retry is still too early.
    assert send(server)[0] == 451
    time.sleep(2.2)
    assert send(server) is None
    assert len(server.messages("bob@example.test")) == 1
    # The /24 is auto-whitelisted now: a new triplet passes at once.
    assert send(server, "other@remote.test", "alice@example.test") is None
    assert "greylist: passed 127.0.0.0/24|s@remote.test|bob@example.test" in server.log()


def test_triplets_survive_a_restart(make_server):
    server = make_server(plugin_config("greylist", 'delay = "2s"'))
    assert send(server)[0] == 451
    assert server.stop() == 0
    server.start()
    time.sleep(2.2)
    # The first attempt was remembered across the restart: the retry passes.
    assert send(server) is None
    assert server.stop() == 0
    server.start()
    # And the auto-whitelist too.
    assert send(server, "other@remote.test", "alice@example.test") is None


def test_authenticated_and_exempt_clients_are_not_greylisted(make_server):
    server = make_server(plugin_config("greylist", 'exempt_networks = ["127.0.0.0/8"]'))
    assert send(server) is None
    other = make_server(plugin_config("greylist"))
    with smtplib.SMTP("127.0.0.1", other.smtp_port, timeout=30) as client:
        client.ehlo()
        client.login("alice@example.test", "alicepw")
        client.sendmail("alice@example.test", ["bob@example.test"], MESSAGE)
    assert len(other.messages("bob@example.test")) == 1
