"""The admin CLI's answers to operators: listings, clear errors and exit codes."""
import subprocess

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
    assert run("--data-dir", data, "whitelist", "add", "not-an-ip").returncode == 1
    assert run("--data-dir", data, "whitelist", "add", "::1", "--ttl", "soon").returncode == 1
    assert run("--data-dir", data, "whitelist", "add", "2001:db8::1", "--ttl", "30m").returncode == 0
    assert "2001:db8::1" in run("--data-dir", data, "whitelist", "list").stdout
