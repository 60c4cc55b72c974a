"""DKIM interop: mailgate's signatures checked by implementations nobody here wrote
(dkimpy as a library and its `dkimverify` command, OpenDKIM's milter in test mode), and
messages signed by dkimpy checked by `mailgate dkim verify` with the keys served by
dnsmasq. Run with /usr/bin/python3 (Debian's python3-dkim, python3-aiosmtpd)."""
import base64
import os
import random
import re
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import BIN, insecure_tls, require_tool, wait_for
from outbound_support import outbound  # noqa: F401  (fixture)

TXT_LINE = re.compile(r'^(\S+)\._domainkey\.(\S+)\. IN TXT (.+)$')


def dkim_module():
    try:
        import dkim
    except ImportError:
        pytest.fail("python3-dkim is not installed (make test-deps installs it; run pytest with /usr/bin/python3)")
    return dkim


def keygen(server, domain, *args):
    """Runs `mailgate dkim keygen` and returns (selector, record) from the TXT line."""
    result = server.cli("dkim", "keygen", domain, *args)
    line = result.stdout.strip().splitlines()[-1]
    match = TXT_LINE.match(line)
    assert match, line
    strings = re.findall(r'"([^"]*)"', match.group(3))
    assert all(len(s) <= 255 for s in strings), strings
    return match.group(1), "".join(strings)


class KeyDNS:
    """dnsmasq on a loopback address, port 53, answering TXT for DKIM keys: port 53 so
    that `dkimverify` (which reads /etc/resolv.conf) can be pointed at it from a private
    mount namespace; mailgate uses it as `[delivery] nameserver`."""

    def __init__(self, records):
        binary = "/usr/sbin/dnsmasq" if os.path.exists("/usr/sbin/dnsmasq") else require_tool("dnsmasq")
        for _ in range(50):
            self.address = f"127.{random.randint(100, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind((self.address, 53))
                except OSError:
                    continue
            break
        args = [binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                f"--listen-address={self.address}", "--bind-interfaces", "--port=53", "--pid-file=",
                "--local=/test/"]
        for name, record in records.items():
            # dnsmasq splits strings at commas (quotes would be served literally).
            parts = [record[i:i + 255] for i in range(0, len(record), 255)]
            args.append(f"--txt-record={name},{','.join(parts)}")
        if os.getuid() == 0:
            args.append("--user=root")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(self.ready, timeout=10, what="dnsmasq for DKIM keys")

    def ready(self):
        if self.process.poll() is not None:
            raise AssertionError(f"dnsmasq exited: {self.process.stderr.read().decode(errors='replace')}")
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ready\x04test\x00\x00\x01\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            try:
                s.sendto(query, (self.address, 53))
                return len(s.recv(512)) > 12
            except OSError:
                return False

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def run_with_resolver(self, tmp_path, command, stdin):
        """Runs `command` with /etc/resolv.conf pointing at this server (private mount namespace)."""
        require_tool("unshare")
        resolv = tmp_path / "resolv.conf"
        resolv.write_text(f"nameserver {self.address}\n")
        script = f"mount --bind {resolv} /etc/resolv.conf && exec " + " ".join(command)
        return subprocess.run(["unshare", "--mount", "sh", "-c", script], input=stdin, capture_output=True, timeout=60)


def opendkim_verify(tmp_path, message, records):
    """OpenDKIM's verifier (the milter's test mode, `opendkim -t`) with the keys given by
    TestPublicKeys; returns the dkim= results of its Authentication-Results, in order."""
    binary = "/usr/sbin/opendkim" if os.path.exists("/usr/sbin/opendkim") else require_tool("opendkim")
    keys = tmp_path / "opendkim-keys.txt"
    keys.write_text("".join(f"{name} {record}\n" for name, record in records.items()))
    conf = tmp_path / "opendkim.conf"
    conf.write_text(f"Mode v\nTestPublicKeys {keys}\nSyslog no\nAlwaysAddARHeader yes\n")
    path = tmp_path / "opendkim-message.eml"
    path.write_bytes(message)
    result = subprocess.run([binary, "-x", str(conf), "-t", str(path), "-vv"], capture_output=True, timeout=60)
    output = (result.stdout + result.stderr).decode(errors="replace")
    return re.findall(r"dkim=(\w+)", output), output


def submit_authenticated(server, sender, recipients, subject, body="Hello from a signed message.\r\n", extra="",
                         from_header=None):
    message = (f"From: {from_header or f'Bob <{sender}>'}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n"
               f"Date: Mon, 07 Dec 2026 17:00:00 +0000\r\nMessage-ID: <{time.time_ns()}@example.test>\r\n"
               f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}\r\n{body}")
    with smtplib.SMTP("127.0.0.1", server.submission_port, timeout=30) as client:
        client.starttls(context=insecure_tls())
        client.login(sender, "secret")
        client.sendmail(sender, recipients, message.encode())
    return message


def test_signed_mail_verifies_with_dkimpy_dkimverify_and_opendkim(outbound, tmp_path):
    dkim = dkim_module()
    server = outbound.server()
    rsa_selector, rsa_record = keygen(server, "example.test")
    ed_selector, ed_record = keygen(server, "example.test", "--algorithm", "ed25519", "--selector", "ed1")
    assert rsa_record.startswith("v=DKIM1; k=rsa; p=") and ed_record.startswith("v=DKIM1; k=ed25519; p=")
    assert len(base64.b64decode(ed_record.split("p=")[1])) == 32
    assert re.fullmatch(r"mg\d{6}", rsa_selector)
    records = {f"{rsa_selector}._domainkey.example.test": rsa_record, f"ed1._domainkey.example.test": ed_record}

    submit_authenticated(server, "bob@example.test", ["amy@plain.test"], "signed twice",
                         body="Line one.  Two spaces.\r\n\r\n\r\n", extra="List-Id: <team.example.test>\r\n")
    wait_for(lambda: outbound.plain.count() == 1, timeout=30, what="the relayed message")
    data = outbound.plain.messages[0]["data"]
    assert not data.startswith(b"Return-Path"), data[:100]
    headers = data.split(b"\r\n\r\n", 1)[0]
    assert headers.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test;"), headers[:200]
    assert headers.count(b"DKIM-Signature:") == 2
    assert b"a=ed25519-sha256" in headers

    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip("."), "").encode() or None

    def dkimpy_accepts(message, index):
        try:
            return dkim.DKIM(message).verify(idx=index, dnsfunc=dnsfunc)
        except dkim.DKIMException:
            return False

    for index in (0, 1):
        assert dkimpy_accepts(data, index), f"dkimpy refused signature {index}"
    tampered = data.replace(b"Line one.", b"Line 1.")
    assert not dkimpy_accepts(tampered, 0) and not dkimpy_accepts(tampered, 1)

    dns = KeyDNS(records)
    try:
        require_tool("dkimverify")
        for index in ("0", "1"):
            result = dns.run_with_resolver(tmp_path, ["dkimverify", "--index", index], data)
            assert result.returncode == 0 and b"signature ok" in result.stdout, result
        result = dns.run_with_resolver(tmp_path, ["dkimverify"], tampered)
        assert result.returncode != 0
        # And mailgate's own verifier through the same DNS.
        server.write_config(server.extra_config.replace(f'nameserver = "127.0.0.1:{outbound.dns.port}"',
                                                        f'nameserver = "{dns.address}:53"'))
        path = tmp_path / "signed.eml"
        path.write_bytes(data)
        result = server.cli("dkim", "verify", str(path))
        lines = result.stdout.strip().splitlines()
        assert [line.split()[0] for line in lines] == ["pass", "pass"], result.stdout
        assert "a=rsa-sha256 bits=2048" in lines[0] and "a=ed25519-sha256 bits=256" in lines[1]
    finally:
        dns.stop()

    results, output = opendkim_verify(tmp_path, data, records)
    assert results == ["pass", "pass"], output
    results, output = opendkim_verify(tmp_path, tampered, records)
    assert results and all(r == "fail" for r in results), output


def test_local_copy_is_signed_once_and_outsiders_are_not_signed(outbound, tmp_path):
    dkim = dkim_module()
    server = outbound.server()
    selector, record = keygen(server, "example.test", "--algorithm", "ed25519")

    def dnsfunc(name, timeout=5):
        return record.encode() if name.decode().rstrip(".") == f"{selector}._domainkey.example.test" else None

    # Authenticated, to a local user and a remote one: one signature, the same everywhere.
    submit_authenticated(server, "bob@example.test", ["alice@example.test", "amy@plain.test"], "local and remote")
    wait_for(lambda: outbound.plain.count() == 1, what="the relayed copy")
    remote = outbound.plain.messages[0]["data"]
    local = server.message("alice@example.test", 1).encode()
    assert local.count(b"DKIM-Signature:") == 1 and remote.count(b"DKIM-Signature:") == 1
    assert dkim.verify(remote, dnsfunc=dnsfunc)
    assert dkim.verify(local.split(b"\r\n", 1)[1], dnsfunc=dnsfunc)   # without our Return-Path

    # An outsider (port 25, no AUTH; relaying allowed here by trusted_networks) is not signed.
    message = (f"From: Someone <someone@example.test>\r\nTo: amy@plain.test\r\nSubject: unsigned\r\n"
               f"Message-ID: <{time.time_ns()}@x.test>\r\n\r\nHi.\r\n")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail("someone@example.test", ["amy@plain.test"], message.encode())
    wait_for(lambda: outbound.plain.count() == 2, what="the unsigned relayed message")
    assert b"DKIM-Signature" not in outbound.plain.messages[1]["data"]

    # Two From domains: not signed. A From domain without a key: not signed.
    submit_authenticated(server, "bob@example.test", ["amy@plain.test"], "two froms",
                         extra="From: other@elsewhere.test\r\n")
    submit_authenticated(server, "bob@example.test", ["amy@plain.test"], "no key", from_header="carol@nokey.test")
    # Another customer's domain, even with a key: bob may not sign as customer.test.
    keygen(server, "customer.test", "--algorithm", "ed25519")
    submit_authenticated(server, "bob@example.test", ["amy@plain.test"], "not bob's domain",
                         from_header="ceo@customer.test")
    wait_for(lambda: outbound.plain.count() == 5, what="three more relayed messages")
    for index in (2, 3, 4):
        assert b"DKIM-Signature" not in outbound.plain.messages[index]["data"], index
    assert "not DKIM-signed: the From domain is not the login's" in server.log()


def test_sign_networks_signs_unauthenticated_clients(outbound):
    dkim = dkim_module()
    server = outbound.server(extra='[dkim]\nsign_networks = ["127.0.0.0/8"]\n')
    selector, record = keygen(server, "example.test")
    message = (f"From: app@example.test\r\nTo: amy@plain.test\r\nSubject: from a trusted app\r\n"
               f"Message-ID: <{time.time_ns()}@example.test>\r\n\r\nHi.\r\n")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail("app@example.test", ["amy@plain.test"], message.encode())
    wait_for(lambda: outbound.plain.count() == 1, what="the relayed message")
    data = outbound.plain.messages[0]["data"]
    assert dkim.verify(data, dnsfunc=lambda name, timeout=5: record.encode())

    # Removing the key stops signing at once (the server notices the store change).
    server.cli("dkim", "remove", "example.test")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail("app@example.test", ["amy@plain.test"], message.encode())
    wait_for(lambda: outbound.plain.count() == 2, what="the second message")
    assert b"DKIM-Signature" not in outbound.plain.messages[1]["data"]


def test_dkim_cli_manages_keys(server):
    first = server.cli("dkim", "keygen", "example.test", "--selector", "one")
    assert first.stdout.startswith('one._domainkey.example.test. IN TXT "v=DKIM1; k=rsa; p=')
    server.cli("dkim", "keygen", "example.test", "--selector", "two", "--algorithm", "ed25519")
    other = server.cli("dkim", "keygen", "customer.test", "--selector", "c1", "--bits", "3072")
    assert "not a local domain" in other.stderr
    again = server.cli("dkim", "keygen", "example.test", "--selector", "one", check=False)
    assert again.returncode == 1 and "already has a DKIM key" in again.stderr
    bad = server.cli("dkim", "keygen", "example.test", "--algorithm", "dsa", check=False)
    assert bad.returncode == 1 and "unknown algorithm" in bad.stderr

    listing = server.cli("dkim", "list").stdout.splitlines()
    assert [line.split()[:4] for line in listing] == [
        ["customer.test", "c1", "rsa-sha256", "3072"],
        ["example.test", "one", "rsa-sha256", "2048"],
        ["example.test", "two", "ed25519-sha256", "256"],
    ]
    shown = server.cli("dkim", "show", "example.test").stdout
    assert "PRIVATE" not in shown and "BEGIN" not in shown
    assert 'two._domainkey.example.test. IN TXT "v=DKIM1; k=ed25519; p=' in shown
    for line in shown.splitlines():
        if " IN TXT " in line:
            assert all(len(s) <= 255 for s in re.findall(r'"([^"]*)"', line))

    server.cli("dkim", "remove", "example.test", "--selector", "one")
    gone = server.cli("dkim", "remove", "example.test", "--selector", "one", check=False)
    assert gone.returncode == 1
    assert "removed 1 DKIM key" in server.cli("dkim", "remove", "example.test").stdout
    none = server.cli("dkim", "show", "example.test", check=False)
    assert none.returncode == 1 and "no DKIM key" in none.stderr
    # Nothing secret in the server log either.
    assert "PRIVATE KEY" not in server.log()


def test_mailgate_verifies_dkimpy_signatures(make_server, tmp_path):
    """Messages signed by dkimpy (every canonicalization, l=, folded headers, several
    signatures) verify with `mailgate dkim verify`; tampered ones fail."""
    dkim = dkim_module()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    rsa_public = base64.b64encode(rsa_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ed_private = base64.b64encode(ed_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                       serialization.NoEncryption()))
    ed_public = base64.b64encode(ed_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                                  serialization.PublicFormat.Raw)).decode()
    records = {"rsa._domainkey.signer.test": f"v=DKIM1; k=rsa; p={rsa_public}",
               "ed._domainkey.signer.test": f"v=DKIM1; k=ed25519; p={ed_public}"}
    dns = KeyDNS(records)
    try:
        server = make_server(f'[delivery]\nnameserver = "{dns.address}:53"\n', start=False)
        message = (b"From: Joe <joe@signer.test>\r\nTo: amy@example.test\r\n"
                   b"Subject: a folded\r\n  subject\twith  tabs\r\n"
                   b"Date: Mon, 07 Dec 2026 17:00:00 +0000\r\n\r\n"
                   b"Body  with  spaces \r\n\r\nand trailing lines\r\n\r\n\r\n")

        def verify(data):
            path = tmp_path / "in.eml"
            path.write_bytes(data)
            result = server.cli("dkim", "verify", str(path), check=False)
            return result.returncode, [line.split()[0] for line in result.stdout.strip().splitlines()], result.stdout

        for header in (b"simple", b"relaxed"):
            for body in (b"simple", b"relaxed"):
                for selector, key, algorithm in ((b"rsa", rsa_pem, b"rsa-sha256"), (b"ed", ed_private, b"ed25519-sha256")):
                    signature = dkim.sign(message, selector, b"signer.test", key, canonicalize=(header, body),
                                          signature_algorithm=algorithm)
                    code, results, out = verify(signature + message)
                    assert (code, results) == (0, ["pass"]), (header, body, selector, out)
                    tampered = (signature + message).replace(b"and trailing", b"and tampered")
                    code, results, out = verify(tampered)
                    assert (code, results) == (1, ["fail"]), (header, body, selector, out)
                    if header == b"relaxed":
                        refolded = (signature + message).replace(b"Subject: a folded\r\n  subject",
                                                                 b"Subject: a   folded\r\n\tsubject")
                        assert verify(refolded)[:2] == (0, ["pass"]), (header, body, selector)

        # l=: appended text still passes (and is reported); several signatures, one line each.
        with_length = dkim.sign(message, b"rsa", b"signer.test", rsa_pem, length=True)
        code, results, out = verify(with_length + message + b"appended footer\r\n")
        assert (code, results) == (0, ["pass"]) and "unsigned_body_bytes=" in out, out
        second = dkim.sign(with_length + message, b"ed", b"signer.test", ed_private,
                           signature_algorithm=b"ed25519-sha256", canonicalize=(b"relaxed", b"relaxed"))
        code, results, out = verify(second + with_length + message)
        assert (code, results) == (0, ["pass", "pass"]), out
        # A signature whose key is not published: permerror, exit 1.
        missing = dkim.sign(message, b"nokey", b"signer.test", rsa_pem)
        code, results, out = verify(missing + message)
        assert (code, results) == (1, ["permerror"]) and "no key" in out, out
        # No signature at all.
        code, results, out = verify(message)
        assert code == 1 and results == ["none"], out
    finally:
        dns.stop()
