"""The ratelimit policy and connection limits as a client meets them, counted in the
store so `mailgate counters` shows them."""
import base64
import smtplib
import socket
import time

import pytest


def greeting(server):
    with socket.create_connection(("127.0.0.1", server.smtp_port), timeout=10) as s:
        return s.recv(512).decode()


def auth_plain(client, user, password):
    """One AUTH PLAIN attempt (smtplib.login would try every mechanism in turn)."""
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    return client.docmd("AUTH", "PLAIN " + token)


def test_failed_auth_is_limited_per_ip(make_server):
    server = make_server("[policy.ratelimit]\nauth_failures_per_hour = 2")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.ehlo()
        for _ in range(2):
            assert auth_plain(client, "alice@example.test", "wrong")[0] == 535
        assert auth_plain(client, "alice@example.test", "wrong")[0] == 454
        # Even the right password is refused for this IP now.
        assert auth_plain(client, "alice@example.test", "alicepw") == (454, b"4.7.0 Too many failed logins, try again later")
    # Three failures were counted; the refused right password is not a failure.
    assert "authfail:127.0.0.1\t3" in server.cli("counters").stdout


def test_connection_rate_applies_outside_exempt_networks(make_server):
    server = make_server("[policy.ratelimit]\nconnections_per_minute = 3\nexempt_networks = []")
    for _ in range(3):
        assert greeting(server).startswith("220 ")
    assert greeting(server) == "421 4.7.0 Too many connections, slow down\r\n"


def test_loopback_is_exempt_from_connection_rate_by_default(make_server):
    server = make_server("[policy.ratelimit]\nconnections_per_minute = 2")
    for _ in range(5):
        assert greeting(server).startswith("220 ")


def test_connections_per_ip_cap(make_server):
    server = make_server("[limits]\nmax_connections_per_ip = 2")
    held = [socket.create_connection(("127.0.0.1", server.smtp_port), timeout=10) for _ in range(2)]
    for s in held:
        assert s.recv(512).startswith(b"220 ")
    assert greeting(server) == "421 4.7.0 mx.example.test Too many connections, try again later\r\n"
    for s in held:
        s.close()
