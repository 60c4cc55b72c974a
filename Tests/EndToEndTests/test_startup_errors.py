"""Start-up and store failures seen by an operator: every way the store or the server can
fail to open ends within seconds in ONE plain sentence on stderr that names the path,
key or port and what to do, with exit status 1 — never a crash (exit 134, "double free"),
a hang, a raw library error (NSCocoaErrorDomain, errno: 98) or a stale pid file.

Some failures need another user or a file system of their own: as root these tests run
the binary as `nobody` (setpriv) and mount small tmpfs file systems; as another user they
run the binary as that user. What cannot be arranged is skipped on a developer machine
and fails under CI (the CI variable set), like a missing test tool."""
import contextlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

from conftest import BIN, ROOT, Server, free_port, wait_for

IS_ROOT = os.geteuid() == 0
IN_CI = os.environ.get("CI", "") not in ("", "0", "false", "False")
NOBODY = 65534


def cannot_arrange(reason):
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def run(args, as_user=False, timeout=30, cwd=None):
    """Runs mailgate; as_user: as an unprivileged user (nobody when we are root)."""
    command = [BIN, *args]
    if as_user and IS_ROOT:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *command]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mailgate {' '.join(args)} hung for {timeout}s")


def assert_one_sentence(result, *expected):
    """Exit 1 and one line on stderr, naming what is expected; no raw library text."""
    assert result.returncode == 1, f"exit {result.returncode}: {result.stderr}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # `serve` may have logged progress before failing; the failure is the last line.
    message = lines[-1] if lines else ""
    assert message.startswith("mailgate: "), result.stderr
    for text in expected:
        assert text in message, f"{text!r} not in {message!r}"
    for raw in ("Error Domain", "errno:", "NSCocoa", "IOError", "double free", "Fatal error", "(descriptor:"):
        assert raw not in result.stderr, result.stderr
    return message


@pytest.fixture
def public_dir():
    """A directory every user may enter (pytest's tmp_path is root-only)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="mg-startup-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["umount", "-l", *[str(p) for p in path.rglob("*") if os.path.ismount(p)]],
                   capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


def make_store(directory):
    result = run(["--data-dir", str(directory), "domain", "add", "example.test"])
    assert result.returncode == 0, result.stderr


def serve_config(directory, data, **listen):
    """A config with every listener on a free loopback port unless given."""
    lines = [f'data_dir = "{data}"', 'hostname = "mx.example.test"', "[listen]"]
    for kind in ("smtp", "submission", "smtps", "pop3", "pop3s", "imap", "imaps"):
        lines.append(f'{kind} = ["{listen.get(kind, f"127.0.0.1:{free_port()}")}"]')
    lines += ["[policy]", f'directory = "{ROOT / "policies"}"']
    config = pathlib.Path(directory) / "mailgate.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def check_store_failure(data, *expected, as_user=False, public=None):
    """The CLI and `serve` both end in one sentence for the same store failure."""
    listing = run(["--data-dir", str(data), "domain", "list"], as_user=as_user)
    message = assert_one_sentence(listing, str(data), *expected)
    config_dir = public or data.parent
    config = serve_config(config_dir, data)
    serve = run(["--config", str(config), "serve"], as_user=as_user)
    assert_one_sentence(serve, "cannot start", str(data))
    assert not (data / "mailgate.pid").exists(), "a failed start left a pid file"
    return message


# MARK: the store


def test_no_permission_to_read_the_data_directory(public_dir):
    data = public_dir / "data"
    make_store(data)
    data.chmod(0o700)
    if not IS_ROOT and os.access(data, os.R_OK):
        cannot_arrange("needs root (to run as nobody) to make the data directory unreadable")
    message = check_store_failure(data, "permission denied", as_user=True, public=public_dir)
    assert "run mailgate as the user that owns" in message


def test_data_directory_behind_a_closed_parent_is_a_permission_problem(public_dir):
    """Not "no data directory": the directory exists, this user may not look into its parent."""
    private = public_dir / "private"
    private.mkdir()
    data = private / "data"
    make_store(data)
    private.chmod(0o700)
    if not IS_ROOT and os.access(private, os.X_OK):
        private.chmod(0o000)
    result = run(["--data-dir", str(data), "user", "list"], as_user=True)
    private.chmod(0o755)
    assert_one_sentence(result, str(data), "permission denied", "run mailgate as the user that owns")


def test_read_only_empty_directory(public_dir):
    data = public_dir / "readonly"
    data.mkdir()
    if IS_ROOT:
        os.chown(data, NOBODY, NOBODY)
    data.chmod(0o555)
    check_store_failure(data, "permission denied", as_user=True, public=public_dir)


def test_read_only_file_system(public_dir):
    if not IS_ROOT:
        cannot_arrange("needs root to mount a read-only file system")
    data = public_dir / "ro"
    data.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(data)], capture_output=True)
    if mounted.returncode != 0:
        cannot_arrange(f"cannot mount tmpfs: {mounted.stderr}")
    try:
        message = check_store_failure(data, "read-only")
        assert "choose a writable data_dir" in message
    finally:
        subprocess.run(["umount", str(data)], capture_output=True)


def test_missing_directory_whose_parent_cannot_be_created(public_dir):
    blocker = public_dir / "file"
    blocker.write_text("not a directory\n")
    data = blocker / "data"
    created = run(["--data-dir", str(data), "domain", "add", "example.test"])
    assert_one_sentence(created, "cannot create the data directory", str(data))
    config = serve_config(public_dir, data)
    assert_one_sentence(run(["--config", str(config), "serve"]), "cannot create the data directory", str(data))
    # A parent the user may not write (the NSCocoaErrorDomain Code=513 case).
    locked = public_dir / "locked"
    locked.mkdir(mode=0o755)
    if not IS_ROOT and os.access(locked, os.W_OK):
        locked.chmod(0o555)
    nested = locked / "sub" / "data"
    message = assert_one_sentence(run(["--data-dir", str(nested), "domain", "add", "example.test"], as_user=True),
                                  "cannot create the data directory", str(nested), "permission denied")
    assert "run mailgate as the user" in message
    config = serve_config(public_dir, nested)
    assert_one_sentence(run(["--config", str(config), "serve"], as_user=True), "cannot create the data directory")


def test_full_disk(public_dir):
    if not IS_ROOT:
        cannot_arrange("needs root to mount a small file system")
    disk = public_dir / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        cannot_arrange(f"cannot mount tmpfs: {mounted.stderr}")
    try:
        data = disk / "data"
        data.mkdir()
        # A disk with no block free: LMDB used to die of SIGBUS writing its lock file.
        fill(disk / "filler")
        message = check_store_failure(data, "no space left on device", public=public_dir)
        assert "free some space" in message
        # A few blocks free: room for the lock file, not for the store's first pages.
        os.truncate(disk / "filler", os.path.getsize(disk / "filler") - 40 * 1024)
        message = check_store_failure(data, "no space left on device", public=public_dir)
        assert "free some space" in message
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def fill(path):
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(descriptor, b"\0" * 1024)
    finally:
        os.close(descriptor)


@pytest.mark.parametrize("content", [b"not a mail store\n", os.urandom(65536)], ids=["text", "random"])
def test_foreign_or_corrupt_data_file(tmp_path, content):
    data = tmp_path / "data"
    data.mkdir()
    (data / "data.mdb").write_bytes(content)
    message = check_store_failure(data, "data.mdb is not an LMDB mail store")
    assert "restore it from a backup" in message


def test_damaged_store(tmp_path):
    data = tmp_path / "data"
    make_store(data)
    with open(data / "data.mdb", "r+b") as file:
        file.write(b"\xa5" * 8192)  # both meta pages
    check_store_failure(data, "data.mdb", "backup")


# MARK: the server's own files and ports


def start_failure(config, *expected, as_user=False):
    result = run(["--config", str(config), "serve"], as_user=as_user)
    return assert_one_sentence(result, "cannot start", *expected)


def test_busy_port_names_address_and_leaves_no_pid_file(tmp_path):
    data = tmp_path / "data"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = serve_config(tmp_path, data, pop3=f"127.0.0.1:{port}")
        message = start_failure(config, "listen.pop3", f"127.0.0.1:{port} is already in use",
                                "choose another port")
        assert "bind(" not in message
    assert not (data / "mailgate.pid").exists(), "a failed start left a stale pid file"
    status = run(["--config", str(config), "status"])
    assert status.returncode == 3 and "not running" in status.stderr
    # With the port free the same configuration starts.
    server = subprocess.Popen([BIN, "--config", str(config), "serve"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: run(["--config", str(config), "status"]).returncode == 0, what="the server to start")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_address_not_on_this_machine(tmp_path):
    config = serve_config(tmp_path, tmp_path / "data", imap="192.0.2.1:2143")
    start_failure(config, "listen.imap", "192.0.2.1 is not an address of this machine")


def test_privileged_port_as_an_ordinary_user(public_dir):
    data = public_dir / "data"
    data.mkdir()
    if IS_ROOT:
        os.chown(data, NOBODY, NOBODY)
    config = serve_config(public_dir, data, smtp="127.0.0.1:25")
    start_failure(config, "listen.smtp", "127.0.0.1:25", "CAP_NET_BIND_SERVICE", as_user=True)
    assert not (data / "mailgate.pid").exists()


def test_another_server_on_the_same_data_directory(make_server):
    server = make_server()
    message = start_failure(server.config, "another mailgate server", f"pid {server.process.pid}",
                            str(server.data))
    assert "stop it" in message
    assert (server.data / "mailgate.pid").exists(), "the running server's pid file was removed"


def tls_config(directory, data, certificate, key):
    config = serve_config(directory, data)
    config.write_text(config.read_text().replace(
        "[listen]", f'[tls]\ncertificate = "{certificate}"\nprivate_key = "{key}"\n[listen]'))
    return config


def make_certificate(directory, name):
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-subj", "/CN=mx.example.test", "-days", "2", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_tls_file_problems_are_named(tmp_path, public_dir):
    data = tmp_path / "data"
    cert, key = make_certificate(tmp_path, "a")
    _, other_key = make_certificate(tmp_path, "b")
    missing = tmp_path / "missing.pem"
    start_failure(tls_config(tmp_path, data, missing, key), "tls.certificate", f"{missing} does not exist")
    start_failure(tls_config(tmp_path, data, cert, missing), "tls.private_key", f"{missing} does not exist")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello\n")
    start_failure(tls_config(tmp_path, data, garbage, key), "tls.certificate", f"{garbage} is not a PEM certificate")
    start_failure(tls_config(tmp_path, data, cert, garbage), "tls.private_key", f"{garbage} is not")
    start_failure(tls_config(tmp_path, data, cert, other_key), "tls.private_key", "does not match the certificate")
    assert not (data / "mailgate.pid").exists()
    # A key the server's user may not read.
    public_data = public_dir / "data"
    public_data.mkdir()
    if IS_ROOT:
        os.chown(public_data, NOBODY, NOBODY)
    secret = public_dir / "secret-key.pem"
    shutil.copy(key, secret)
    secret.chmod(0o600)
    public_cert = public_dir / "cert.pem"
    shutil.copy(cert, public_cert)
    public_cert.chmod(0o644)
    if not IS_ROOT and os.access(secret, os.R_OK):
        secret.chmod(0o000)
    start_failure(tls_config(public_dir, public_data, public_cert, secret), "tls.private_key",
                  f"cannot read {secret} (permission denied)", as_user=True)


def test_configuration_file_problems(tmp_path):
    missing = tmp_path / "nope.toml"
    for args in (["serve"], ["domain", "list"], ["status"]):
        assert_one_sentence(run(["--config", str(missing), *args]), str(missing), "does not exist")
    config = tmp_path / "mailgate.toml"
    config.write_text("[limits\n")
    assert_one_sentence(run(["--config", str(config), "domain", "list"]), str(config), "line 1")
    config.write_text('[limits]\nmax_message_size = "huge"\n')
    assert_one_sentence(run(["--config", str(config), "serve"]), "limits.max_message_size")


# MARK: what a running server says


def test_status_prints_listeners_plainly(server):
    status = server.cli("status").stdout
    assert f"listener:    smtp 127.0.0.1:{server.smtp_port}\n" in status
    assert f"listener:    imaps 127.0.0.1:{server.imaps_port}\n" in status
    assert "[IPv4]" not in status


def test_first_start_says_it_made_a_self_signed_certificate(make_server):
    server = make_server()
    certificate = server.data / "tls-cert.pem"
    log = server.log()
    assert f"generated a self-signed TLS certificate {certificate}" in log
    assert "set [tls] certificate and private_key" in log
    server.stop()
    server.start()
    assert f"using the self-signed TLS certificate {certificate}" in server.log()


def test_reload_finds_a_configuration_created_after_a_start_on_defaults(tmp_path):
    """The README's way: `mailgate serve` in a directory without mailgate.toml, then a
    mailgate.toml written and `mailgate reload` run from the same directory."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 2525)) == 0:
            cannot_arrange("a server already listens on the default port 127.0.0.1:2525")
    (tmp_path / "policies").symlink_to(ROOT / "policies")
    log = open(tmp_path / "server.log", "wb")
    process = subprocess.Popen([BIN, "serve"], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: run(["status"], cwd=tmp_path).returncode == 0 or process.poll() is not None,
                 what="the server on built-in defaults")
        assert process.poll() is None, (tmp_path / "server.log").read_text()
        assert "config:      built-in defaults" in run(["status"], cwd=tmp_path).stdout
        assert run(["domain", "add", "example.test"], cwd=tmp_path).returncode == 0
        (tmp_path / "mailgate.toml").write_text('[limits]\nmax_recipients = 2\n[listen]\nsmtp = ["127.0.0.1:2600"]\n')
        reloaded = run(["reload"], cwd=tmp_path)
        assert reloaded.returncode == 0, reloaded.stderr
        assert f"reloaded {tmp_path / 'mailgate.toml'}" in reloaded.stdout
        assert "note: listen changed; restart the server to apply" in reloaded.stdout
        status = run(["status"], cwd=tmp_path).stdout
        assert f"config:      {tmp_path / 'mailgate.toml'}" in status
        assert "restart:     needed to apply listen" in status
        # The new limit applies on the running listener.
        import smtplib
        with smtplib.SMTP("127.0.0.1", 2525, timeout=30) as client:
            client.ehlo()
            client.mail("a@remote.test")
            assert client.rcpt("postmaster@example.test")[0] == 250
            assert client.rcpt("postmaster@example.test")[0] == 250
            assert client.rcpt("postmaster@example.test")[0] == 452
        # The file removed again: the next reload goes back to the defaults, and says so.
        (tmp_path / "mailgate.toml").unlink()
        reloaded = run(["reload"], cwd=tmp_path)
        assert "reloaded built-in defaults" in reloaded.stdout
        assert "config:      built-in defaults" in run(["status"], cwd=tmp_path).stdout
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


# The TOML library behind TOMLKit aborts on some malformed files (fuzzer reproducers in
# Fuzz/crashes/config): mailgate parses a file in a child process first, so such a file
# is one clear error and a reload leaves the running server as it was.
ABORTING_TOML = ["[\\x]\n", "[limits]\nm= [1, 2.5, true, 7379-05-02T.27:3:00Z] }\n"]


@pytest.mark.parametrize("text", ABORTING_TOML)
def test_a_toml_file_that_would_abort_the_parser_is_one_clear_error(tmp_path, text):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    result = subprocess.run([BIN, "--config", str(bad), "domain", "list"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1 and "the TOML parser cannot read this file" in result.stderr
    assert str(bad) in result.stderr


@pytest.mark.parametrize("text", ABORTING_TOML)
def test_reloading_a_file_that_would_abort_the_parser_keeps_the_server(make_server, text):
    server = make_server()
    good = server.config.read_text()
    server.config.write_text(text)
    result = server.cli("reload", check=False)
    assert result.returncode != 0 and "the TOML parser cannot read this file" in result.stderr
    assert server.process.poll() is None, "the server is still running"
    server.config.write_text(good)
    server.deliver("bob@example.test", subject="after a bad reload")
    assert len(server.messages("bob@example.test")) == 1
