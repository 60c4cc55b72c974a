"""The admin CLI's answers to operators: listings, clear errors and exit codes."""
import signal
import subprocess

import pytest

from conftest import BIN, Server


def run(*args, input=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, input=input, timeout=60)


def test_domain_and_user_lifecycle(tmp_path):
    data = str(tmp_path / "data")
    assert run("--data-dir", data, "domain", "add", "Example.TEST").returncode == 0
    assert run("--data-dir", data, "domain", "list").stdout.split() == ["example.test"]
    assert run("--data-dir", data, "user", "add", "carol%example.test", "--password-stdin", "--quota", "2GB",
               input="pw\n").returncode == 0
    show = run("--data-dir", data, "user", "show", "carol@example.test").stdout
    assert "quota:    2GB (2147483648 bytes)" in show and "mailbox:  INBOX" in show and "mailbox:  Sent" in show
    listing = run("--data-dir", data, "user", "list", "example.test").stdout
    assert "carol@example.test" in listing and "postmaster@example.test" in listing
    assert run("--data-dir", data, "user", "passwd", "carol@example.test", "--password-stdin", input="new\n").returncode == 0
    assert run("--data-dir", data, "user", "remove", "carol@example.test").returncode == 0
    assert "carol" not in run("--data-dir", data, "user", "list").stdout


def test_errors_are_clear(tmp_path):
    data = str(tmp_path / "data")
    missing = run("--data-dir", str(tmp_path / "nope"), "user", "list")
    assert missing.returncode == 1 and "no data directory" in missing.stderr
    run("--data-dir", data, "domain", "add", "example.test")
    unknown_domain = run("--data-dir", data, "user", "add", "x@other.test", "--password-stdin", input="pw\n")
    assert unknown_domain.returncode == 1 and "other.test" in unknown_domain.stderr
    duplicate = run("--data-dir", data, "domain", "add", "example.test")
    assert duplicate.returncode == 1 and "exists" in duplicate.stderr
    bad_address = run("--data-dir", data, "user", "show", "not-an-address")
    assert bad_address.returncode == 1 and "not a valid address" in bad_address.stderr
    no_account = run("--data-dir", data, "mail", "list", "ghost@example.test")
    assert no_account.returncode == 1 and "no such account" in no_account.stderr
    bad_quota = run("--data-dir", data, "user", "add", "y@example.test", "--password-stdin", "--quota", "lots", input="pw\n")
    assert bad_quota.returncode == 1 and "quota" in bad_quota.stderr
    usage = run("--data-dir", data, "user", "frobnicate")
    assert usage.returncode == 64
    not_running = run("--data-dir", data, "status")
    assert not_running.returncode == 3 and "not running" in not_running.stderr


def test_bad_config_is_refused_with_key_and_reason(tmp_path):
    config = tmp_path / "mailgate.toml"
    config.write_text('[limits]\nmax_recipients = "many"\n')
    result = run("--config", str(config), "serve")
    assert result.returncode == 1 and "limits.max_recipients: expected an integer" in result.stderr
    config.write_text('[listen]\nsmtp = ["nowhere"]\n')
    assert "listen.smtp" in run("--config", str(config), "serve").stderr
    config.write_text('hostnme = "typo"\n')
    assert "hostnme: unknown key" in run("--config", str(config), "serve").stderr
    config.write_text('event_loops = -1\n')
    assert "event_loops: must be at least 0" in run("--config", str(config), "serve").stderr
    config.write_text('[limits\n')
    assert "line 1" in run("--config", str(config), "serve").stderr


def test_policy_check(tmp_path):
    assert run("policy", "check").returncode == 0
    policies = tmp_path / "p"
    policies.mkdir()
    (policies / "broken.lua").write_text("local p = {}\nfunction p.rcpt(\nreturn p\n")
    config = tmp_path / "mailgate.toml"
    config.write_text(f'[policy]\ndirectory = "{policies}"\nchain = ["broken"]\n')
    result = run("--config", str(config), "policy", "check")
    assert result.returncode != 0 and "broken.lua:3" in result.stderr


def test_whitelist_cli_validates(tmp_path):
    data = str(tmp_path / "data")
    run("--data-dir", data, "domain", "add", "example.test")
    not_ip = run("--data-dir", data, "whitelist", "add", "not-an-ip")
    assert (not_ip.returncode, not_ip.stderr) == (1, 'mailgate: "not-an-ip" is not an IP address\n')
    bad_ttl = run("--data-dir", data, "whitelist", "add", "::1", "--ttl", "soon")
    assert (bad_ttl.returncode, bad_ttl.stderr) == (1, 'mailgate: "soon" is not a duration like 1h or 90s\n')
    zero_ttl = run("--data-dir", data, "whitelist", "add", "::1", "--ttl", "0s")
    assert zero_ttl.returncode == 1 and "is not a duration" in zero_ttl.stderr
    assert "::1" not in run("--data-dir", data, "whitelist", "list").stdout
    added = run("--data-dir", data, "whitelist", "add", "2001:DB8::1", "--ttl", "30m", "--user", "bob@example.test")
    assert added.returncode == 0 and added.stdout.startswith("2001:db8::1 whitelisted until ")
    rows = [line.split("\t") for line in run("--data-dir", data, "whitelist", "list").stdout.splitlines()]
    assert [row[:2] for row in rows] == [["2001:db8::1", "bob@example.test"]]
    assert rows[0][2].startswith("expires ") and rows[0][2].endswith(" UTC")
    assert run("--data-dir", data, "whitelist", "remove", "2001:db8::1").stdout == "removed 2001:db8::1\n"
    assert run("--data-dir", data, "whitelist", "list").stdout == ""


def test_every_cli_failure_is_one_plain_sentence(tmp_path):
    """Each failing command prints exactly one line, `mailgate: …`, that names what was
    wrong, and exits 1 — no stack, no Foundation or NIO error text."""
    data = str(tmp_path / "data")
    run("--data-dir", data, "domain", "add", "example.test")
    cases = [
        (["user", "passwd", "ghost@example.test", "--password-stdin"], "pw\n", "no such account: ghost@example.test"),
        (["user", "remove", "ghost@example.test"], None, "no such account: ghost@example.test"),
        (["user", "show", "ghost@example.test"], None, "no such account: ghost@example.test"),
        (["user", "add", "x@example.test", "--password-stdin"], "", "no password on standard input"),
        (["user", "remove", "postmaster@example.test"], None, "remove the domain instead"),
        (["domain", "remove", "nowhere.test"], None, "domain nowhere.test does not exist"),
        (["domain", "add", "not a domain"], None, '"not a domain" is not a valid domain name'),
        (["alias", "add", "sales@other.test", "bob@example.test"], None, "other.test"),
        (["alias", "remove", "nobody@example.test"], None, "no such alias: nobody@example.test"),
        (["alias", "add", "sales@example.test", "not an address"], None, '"not an address" is not a valid address'),
        (["catchall", "set", "other.test", "postmaster@example.test"], None, "other.test"),
        (["catchall", "clear", "example.test"], None, "domain example.test has no catch-all"),
        (["mail", "show", "postmaster@example.test", "7"], None, "no message with uid 7"),
        (["mail", "list", "postmaster@example.test", "--folder", "Nope"], None, "no mailbox Nope"),
        (["queue", "show", "nope"], None, "no queue entry nope"),
        (["queue", "list", "--older-than", "soon"], None, '"soon" is not a duration'),
        (["queue", "list", "--status", "lost"], None, "--status must be"),
        (["whitelist", "remove", "banana"], None, '"banana" is not an IP address'),
        (["reload"], None, f"no running server for data directory {data}"),
    ]
    for args, stdin, expected in cases:
        result = run("--data-dir", data, *args, input=stdin)
        lines = result.stderr.splitlines()
        assert result.returncode == 1, (args, result.returncode, result.stderr)
        assert len(lines) == 1 and lines[0].startswith("mailgate: ") and expected in lines[0], (args, result.stderr)
        for raw in ("Error Domain", "errno", "Fatal error", "StoreError("):
            assert raw not in result.stderr, (args, result.stderr)


def test_a_waiting_command_ends_on_sigterm_and_ctrl_c(tmp_path):
    """Admin commands must stay killable: the signals `serve` reads itself were blocked
    for every command, so a CLI waiting on its input (or a stuck store) ignored SIGTERM."""
    data = str(tmp_path / "data")
    run("--data-dir", data, "domain", "add", "example.test")
    for sig in (signal.SIGTERM, signal.SIGINT):
        waiting = subprocess.Popen([BIN, "--data-dir", data, "user", "add", "x@example.test", "--password-stdin"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # It waits for the password; the signal must end it, not be held back.
            with pytest.raises(subprocess.TimeoutExpired):
                waiting.wait(timeout=0.5)
            waiting.send_signal(sig)
            assert waiting.wait(timeout=10) == -sig
        finally:
            waiting.kill()
            waiting.wait()
    assert "x@example.test" not in run("--data-dir", data, "user", "list").stdout
