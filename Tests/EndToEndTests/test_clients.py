"""Other real clients: swaks (plain, STARTTLS, AUTH PLAIN/LOGIN, pipelining) and curl."""
import subprocess

from conftest import require_tool


def swaks(server, *args, port=None):
    require_tool("swaks")
    return subprocess.run(["timeout", "60", "swaks", "-s", "127.0.0.1", "-p", str(port or server.smtp_port), *args],
                          capture_output=True, text=True)


def test_swaks_plain_delivery(server):
    result = swaks(server, "-f", "a@remote.test", "-t", "bob@example.test", "--header", "Subject: via swaks")
    assert result.returncode == 0, result.stdout
    assert "<-  250 2.0.0 Ok: queued as" in result.stdout
    assert server.messages("bob@example.test")[0][4] == "via swaks"


def test_swaks_pipelining(server):
    result = swaks(server, "--pipeline", "-f", "a@remote.test", "-t", "bob@example.test,alice@example.test")
    assert result.returncode == 0, result.stdout
    assert len(server.messages("bob@example.test")) == 1 and len(server.messages("alice@example.test")) == 1


def test_swaks_starttls_auth_plain_and_login_relay(server):
    for mechanism in ("PLAIN", "LOGIN"):
        result = swaks(server, "-tls", "--auth", mechanism, "--auth-user", "alice@example.test",
                       "--auth-password", "alicepw", "-f", "alice@example.test", "-t", "friend@elsewhere.test",
                       port=server.submission_port)
        assert result.returncode == 0, result.stdout
        assert "=== TLS started with cipher" in result.stdout
        assert "<~  235 2.7.0 Authentication successful" in result.stdout
    assert server.cli("queue", "list").stdout.count("friend@elsewhere.test") == 2


def test_swaks_refused_auth(server):
    result = swaks(server, "-tls", "--auth", "PLAIN", "--auth-user", "alice@example.test",
                   "--auth-password", "nope", "-f", "alice@example.test", "-t", "friend@elsewhere.test",
                   port=server.submission_port)
    assert result.returncode == 28
    assert "535 5.7.8" in result.stdout


def test_curl_submission_with_required_tls(server, tmp_path):
    require_tool("curl")
    message = tmp_path / "msg.eml"
    message.write_bytes(b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: via curl\r\n\r\nhello\r\n")
    result = subprocess.run(["timeout", "60", "curl", "-sS", "--url", f"smtp://127.0.0.1:{server.submission_port}",
                             "--ssl-reqd", "-k", "--user", "alice@example.test:alicepw",
                             "--login-options", "AUTH=PLAIN", "--mail-from", "alice@example.test",
                             "--mail-rcpt", "bob@example.test", "-T", str(message)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert server.messages("bob@example.test")[0][4] == "via curl"
