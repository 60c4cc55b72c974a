"""The spf, dkim and dmarc plugins in the real server, with DNS from dnsmasq: messages
signed by dkimpy (a DKIM implementation nobody here wrote) pass, forged ones are
refused or quarantined, and the Authentication-Results field the server writes
parses with python3-authres. Incoming fields that claim our authserv-id are dropped."""
import base64
import smtplib
import subprocess

import authres  # python3-authres: missing is an import error (a failure), never a skip
import dkim  # python3-dkim
import pytest

from outbound_support import DNSServer
from plugin_support import DEFAULT_CHAIN
from conftest import BIN, ROOT, insecure_tls



def rsa_key(tmp_path):
    """A fresh 2048-bit RSA key (PEM bytes) and its DKIM record."""
    path = tmp_path / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(path), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return path.read_bytes(), "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def auth_config(dns_port, chain_extra=("spf", "dkim", "dmarc"), settings=""):
    chain = ", ".join(f'"{name}"' for name in list(DEFAULT_CHAIN) + list(chain_extra))
    return (f'[policy]\ndirectory = "{ROOT / "policies"}"\nplugin_directory = "{ROOT / "plugins"}"\n'
            f"chain = [{chain}]\n[policy.spf]\n[policy.dkim]\n[policy.dmarc]\n{settings}\n"
            f'[delivery]\nnameserver = "127.0.0.1:{dns_port}"\n')


@pytest.fixture
def signing_key(tmp_path):
    return rsa_key(tmp_path)


@pytest.fixture
def environment(make_server, signing_key):
    _, record = signing_key
    dns = DNSServer([
        '--txt-record=signer.test,v=spf1 ip4:127.0.0.1 -all',
        f'--txt-record=sel._domainkey.signer.test,{record}',
        '--txt-record=_dmarc.signer.test,v=DMARC1; p=reject',
        '--txt-record=bank.test,v=spf1 ip4:192.0.2.1 -all',
        '--txt-record=_dmarc.bank.test,v=DMARC1; p=reject',
        '--txt-record=forger.test,v=spf1 +all',
        '--txt-record=_dmarc.shop.test,v=DMARC1; p=quarantine',
    ])
    server = make_server(auth_config(dns.port))
    yield server
    dns.stop()


def send(server, sender, message, recipients=("bob@example.test",)):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="mail.signer.test", timeout=30) as client:
        return client.sendmail(sender, list(recipients), message)


def stored(server, address="bob@example.test", folder="INBOX"):
    [entry] = server.messages(address, folder)
    result = subprocess.run([BIN, "--config", str(server.config), "mail", "show", address, entry[0], "--folder", folder],
                            capture_output=True, timeout=60, check=True)
    return result.stdout.decode()  # CRLFs intact


def auth_results(text):
    """The parsed Authentication-Results field of a stored message (there must be one)."""
    fields = [line for line in unfold(text) if line.lower().startswith("authentication-results:")]
    assert len(fields) == 1, fields
    return authres.AuthenticationResultsHeader.parse(fields[0])


def unfold(text):
    header = text.split("\r\n\r\n", 1)[0]
    return header.replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n")


MESSAGE = (b"From: Alice <alice@signer.test>\r\nTo: bob@example.test\r\nSubject: signed\r\n"
           b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@signer.test>\r\n\r\nHello Bob.\r\n")


def test_dkimpy_signed_mail_passes_spf_dkim_and_dmarc(environment, signing_key):
    private, _ = signing_key
    signature = dkim.sign(MESSAGE, b"sel", b"signer.test", private, canonicalize=(b"relaxed", b"simple"))
    send(environment, "alice@signer.test", signature + MESSAGE)
    text = stored(environment)
    parsed = auth_results(text)
    assert parsed.authserv_id == "mx.example.test"
    methods = {result.method: result for result in parsed.results}
    assert methods["spf"].result == "pass"
    assert methods["dkim"].result == "pass"
    assert methods["dmarc"].result == "pass"
    assert "header.d=signer.test" in str(parsed)
    # The field is written once, above our Received line.
    assert text.index("Authentication-Results:") < text.index("Received:")


def test_forged_bank_is_refused_with_the_dmarc_text(environment):
    message = (b"From: Your Bank <security@bank.test>\r\nTo: bob@example.test\r\nSubject: verify\r\n\r\n"
               b"Click here.\r\n")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(environment, "bounce@forger.test", message)
    assert refused.value.smtp_code == 550
    assert refused.value.smtp_error == b"5.7.1 rejected by DMARC policy for bank.test"
    assert environment.messages("bob@example.test") == []


def test_tampered_signature_fails_dkim_and_dmarc_rejects(environment, signing_key):
    private, _ = signing_key
    signature = dkim.sign(MESSAGE, b"sel", b"signer.test", private)
    tampered = signature + MESSAGE.replace(b"Hello Bob.", b"Send money.")
    # SPF passes for signer.test from 127.0.0.1, so DMARC would pass on SPF alignment;
    # an envelope sender of another domain (SPF pass, not aligned) leaves DKIM to decide.
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(environment, "bounce@forger.test", tampered)
    assert (refused.value.smtp_code, refused.value.smtp_error) == (550, b"5.7.1 rejected by DMARC policy for signer.test")
    # The same message untouched passes on its aligned signature.
    send(environment, "bounce@forger.test", signature + MESSAGE)
    methods = {result.method: result.result for result in auth_results(stored(environment)).results}
    assert methods == {"spf": "pass", "dkim": "pass", "arc": "none", "dmarc": "pass"}


def test_quarantine_goes_to_junk(environment):
    message = b"From: Shop <news@shop.test>\r\nTo: bob@example.test\r\nSubject: offer\r\n\r\nBuy.\r\n"
    send(environment, "bounce@forger.test", message)
    assert environment.messages("bob@example.test") == []
    text = stored(environment, folder="Junk")
    assert "X-DMARC: quarantine (p=quarantine) header.from=shop.test" in text
    methods = {result.method: result.result for result in auth_results(text).results}
    assert methods["dmarc"] == "fail"


def test_forged_authentication_results_are_dropped(environment, signing_key):
    private, _ = signing_key
    forged = (b"Authentication-Results: mx.example.test; dkim=pass header.d=bank.test\r\n"
              b"Authentication-Results: upstream.test; spf=pass smtp.mailfrom=x@upstream.test\r\n")
    signature = dkim.sign(MESSAGE, b"sel", b"signer.test", private)
    send(environment, "alice@signer.test", forged + signature + MESSAGE)
    text = stored(environment)
    assert "header.d=bank.test" not in text
    assert "Authentication-Results: upstream.test; spf=pass" in text
    assert auth_results_ours(text).authserv_id == "mx.example.test"


def auth_results_ours(text):
    fields = [line for line in unfold(text)
              if line.lower().startswith("authentication-results: mx.example.test")]
    assert len(fields) == 1, fields
    return authres.AuthenticationResultsHeader.parse(fields[0])


def test_authenticated_users_are_not_judged(environment):
    message = b"From: Bob <bob@example.test>\r\nTo: someone@bank.test\r\nSubject: hi\r\n\r\nhi\r\n"
    with smtplib.SMTP("127.0.0.1", environment.submission_port, timeout=30) as client:
        client.starttls(context=insecure_tls())
        client.ehlo()
        client.login("alice@example.test", "alicepw")
        client.sendmail("alice@example.test", ["bob@example.test"], message)
    text = stored(environment)
    assert "Authentication-Results" not in text
