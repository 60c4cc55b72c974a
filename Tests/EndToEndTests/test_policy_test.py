"""`mailgate policy test`: the built binary plays transcripts offline (no server, no
store) and its exit status tells a passing run (0), a mismatch (1) and a transcript it
cannot read (2); every example transcript passes."""
import pathlib
import subprocess

from conftest import BIN, ROOT


def run(*args, cwd=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


RELAY = """
description = "relay check"
chain = ["relay"]
[policy]
directory = "{policies}"
[store]
domains = ["example.com"]
accounts = ["alice@example.com"]
[[step]]
hook = "mail_from"
address = "bob@example.org"
expect = "next"
[[step]]
hook = "rcpt"
address = "alice@example.com"
expect = "next"
[[step]]
hook = "rcpt"
address = "someone@elsewhere.example"
expect = "{verdict}"
"""


def write(tmp_path, name, verdict):
    path = tmp_path / name
    path.write_text(RELAY.format(policies=ROOT / "policies", verdict=verdict))
    return path


def test_a_passing_transcript_exits_0(tmp_path):
    path = write(tmp_path, "pass.toml", "reject 553 5.7.1")
    result = run("policy", "test", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "by relay" in result.stdout
    assert "1 transcript: 1 passed" in result.stdout
    assert not (tmp_path / "mailgate-data").exists()  # the store is never opened


def test_a_mismatch_exits_1_and_names_the_line(tmp_path):
    passing = write(tmp_path, "pass.toml", "reject 553")
    failing = write(tmp_path, "fail.toml", "next")
    result = run("policy", "test", str(passing), str(failing), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{failing}:20: expected next, got reject 553 5.7.1" in result.stdout
    assert "2 transcripts: 1 passed, 1 failed" in result.stdout


def test_an_unknown_key_exits_2_with_file_and_line(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('[[step]]\nhook = "connect"\nexpcet = "next"\n')
    result = run("policy", "test", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{path}:3: step[1].expcet: unknown key" in result.stdout


def test_malformed_toml_is_refused_not_a_crash(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[step]\nhook = "connect"\n')
    result = run("policy", "test", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert str(path) in result.stdout


def test_chain_option_and_configured_directories(tmp_path):
    # No chain in the transcript: --chain picks it; policies come from ./policies.
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "no.lua").write_text(
        'return { connect = function() return mailgate.reject(554, "5.7.1", "closed") end }\n')
    path = tmp_path / "t.toml"
    path.write_text('[[step]]\nhook = "connect"\nexpect = "reject 554 5.7.1"\nexpect_policy = "no"\n')
    assert run("policy", "test", "--chain", "no", str(path), cwd=tmp_path).returncode == 0
    # The configured chain (the default one) has no "no" policy: connect passes, so the step fails.
    assert run("policy", "test", str(path), cwd=ROOT).returncode == 1


def test_the_example_transcripts_pass():
    files = sorted(str(p) for p in (ROOT / "examples" / "transcripts").glob("*.toml"))
    assert files
    result = run("policy", "test", *files, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_toml_that_aborts_the_parser_is_refused(tmp_path):
    # A fuzzer reproducer on which toml++ asserts: parsed in a child first, so the
    # command reports it instead of dying with it.
    crash = ROOT / "Fuzz" / "crashes" / "config" / "toml-parse-time-assert"
    path = tmp_path / "crash.toml"
    path.write_bytes(crash.read_bytes())
    result = run("policy", "test", str(path), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the TOML parser cannot read this file" in result.stdout
