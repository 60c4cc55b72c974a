"""ARC (RFC 8617) in the real server: mail an alias of ours forwards to a remote address
leaves sealed with the forwarding domain's key, and the seal verifies with dkimpy's
ARC implementation (python3-dkim, which nobody here wrote); a chain dkimpy sealed before
us is verified by the dkim plugin and continued. Run with /usr/bin/python3."""
import smtplib

from conftest import ROOT, wait_for
from outbound_support import outbound  # noqa: F401  (fixture)
from plugin_support import DEFAULT_CHAIN
from test_dkim import dkim_module, keygen

CHAIN = ", ".join(f'"{name}"' for name in list(DEFAULT_CHAIN) + ["dkim"])


def forwarding_server(outbound):
    server = outbound.server(extra=f'[policy]\ndirectory = "{ROOT / "policies"}"\n'
                                   f'plugin_directory = "{ROOT / "plugins"}"\nchain = [{CHAIN}]\n[policy.dkim]\n',
                             start=False)
    selector, record = keygen(server, "example.test", "--selector", "fwd")
    server.cli("alias", "add", "fwd@example.test", "friend@plain.test")
    server.start()
    return server, {f"{selector}._domainkey.example.test.": record}


def dns_answers(records):
    def lookup(name, timeout=5):
        return records.get(name.decode() if isinstance(name, bytes) else name, "").encode() or None
    return lookup


def relayed(outbound, count=1):
    wait_for(lambda: outbound.plain.count() >= count, timeout=60, what="the forwarded message")
    with outbound.plain.lock:
        return outbound.plain.messages[count - 1]


def message_bytes(entry):
    """The message as the receiver got it (bytes, CRLF)."""
    data = entry["data"] if isinstance(entry, dict) else getattr(entry, "content", entry)
    data = data if isinstance(data, bytes) else data.encode()
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_forwarded_mail_is_sealed_and_verifies_with_dkimpy(outbound):
    dkim = dkim_module()
    server, records = forwarding_server(outbound)
    message = (b"From: Someone <someone@remote.test>\r\nTo: fwd@example.test\r\nSubject: forwarded\r\n"
               b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <arc1@remote.test>\r\n\r\nHello.\r\n")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="mail.remote.test", timeout=30) as client:
        client.sendmail("someone@remote.test", ["fwd@example.test"], message)
    sealed = message_bytes(relayed(outbound))
    assert sealed.startswith(b"ARC-Seal: i=1; cv=none;"), sealed[:200]
    assert b"ARC-Authentication-Results: i=1; mx.example.test;" in sealed
    result, _, reason = dkim.arc_verify(sealed, dnsfunc=dns_answers(records))
    assert result == dkim.CV_Pass, reason


def test_a_verified_chain_is_continued(outbound, tmp_path):
    """remote.test's forwarder sealed i=1 (dkimpy's arc_sign); our dkim plugin verifies the
    chain (arc=pass) and our seal says cv=pass at i=2, which dkimpy accepts."""
    dkim = dkim_module()
    import base64
    import subprocess
    key = tmp_path / "upstream.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    upstream_record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    # The upstream key must be visible to mailgate's resolver: dnsmasq of the outbound
    # fixture does not have it, so a second dnsmasq serves it and everything else
    # the outbound one serves (the MX of plain.test).
    from outbound_support import DNSServer, DNS_RECORDS
    dns = DNSServer(DNS_RECORDS + [f"--txt-record=up._domainkey.remote.test,{upstream_record}"])
    try:
        outbound.dns.stop()
        outbound.dns = dns
        server, records = forwarding_server(outbound)
        records["up._domainkey.remote.test."] = upstream_record
        # arc_sign takes the forwarder's own Authentication-Results as its AAR.
        original = (b"Authentication-Results: lists.remote.test; spf=pass smtp.mailfrom=remote.test\r\n"
                    b"From: Someone <someone@remote.test>\r\nTo: list@remote.test\r\nSubject: chained\r\n"
                    b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <arc2@remote.test>\r\n\r\nHello.\r\n")
        upstream = b"".join(dkim.arc_sign(original, b"up", b"remote.test", key.read_bytes(), b"lists.remote.test"))
        with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="lists.remote.test", timeout=30) as client:
            client.sendmail("list@remote.test", ["fwd@example.test"], upstream + original)
        sealed = message_bytes(relayed(outbound))
        assert sealed.startswith(b"ARC-Seal: i=2; cv=pass;"), sealed[:300]
        result, _, reason = dkim.arc_verify(sealed, dnsfunc=dns_answers(records))
        assert result == dkim.CV_Pass, reason
    finally:
        dns.stop()
