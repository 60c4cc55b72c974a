"""DMARC aggregate reports (RFC 7489 §7.2) end to end: rows in the store, the server's
periodic reporter and `mailgate dmarc report [--send]`, the §7.1 external destination
check against dnsmasq, the size limit, and the reports as they arrive at an aiosmtpd
destination MTA: gzipped XML that validates against the RFC 7489 Appendix C schema
(xmllint) and parses with parsedmarc.

Rows are what `mailgate.dmarc.check` records through `PolicyHost.dmarcReports`
(covered by GatewayTests/DMARCReporterTests); here they are written into the store's
`dmarc_reports` table before the server starts, with liblmdb through ctypes, in the
layout Sources/MailStore/Keys.swift documents."""
import ctypes
import ctypes.util
import email
import email.policy
import gzip
import ipaddress
import json
import pathlib
import struct
import subprocess
import time

import pytest

from conftest import ROOT, python_tool, require_tool
from outbound_support import DNS_RECORDS, HOSTS, DNSServer, Receiver, shared_port, wait_for

SCHEMA = ROOT / "Tests" / "MailAuthTests" / "Fixtures" / "rfc7489-aggregate-report.xsd"


class MDBVal(ctypes.Structure):
    _fields_ = [("mv_size", ctypes.c_size_t), ("mv_data", ctypes.c_void_p)]


def write_rows(data_dir, rows):
    """rows: [(period, domain, group byte, count, row dict)] into `dmarc_reports`."""
    lib = ctypes.CDLL(ctypes.util.find_library("lmdb") or "liblmdb.so.0")
    env, txn, dbi = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint()
    assert lib.mdb_env_create(ctypes.byref(env)) == 0
    assert lib.mdb_env_set_maxdbs(env, 64) == 0
    assert lib.mdb_env_open(env, str(data_dir).encode(), 0x200000, 0o600) == 0   # MDB_NOTLS
    assert lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)) == 0
    assert lib.mdb_dbi_open(txn, b"dmarc_reports", 0x40000, ctypes.byref(dbi)) == 0   # MDB_CREATE
    buffers = []

    def put(key, value):
        k, v = ctypes.create_string_buffer(key, len(key)), ctypes.create_string_buffer(value, len(value))
        buffers.extend([k, v])
        kv = MDBVal(len(key), ctypes.cast(k, ctypes.c_void_p))
        vv = MDBVal(len(value), ctypes.cast(v, ctypes.c_void_p))
        assert lib.mdb_put(txn, dbi, ctypes.byref(kv), ctypes.byref(vv), 0) == 0

    domains, summaries = {}, {}
    for period, domain, group, count, row in rows:
        prefix = struct.pack(">Q", period) + domain.encode() + b"\0"
        put(prefix + bytes([group]) * 16, struct.pack(">Q", count) + json.dumps(row).encode())
        groups, messages = summaries.get((period, domain), (0, 0))
        summaries[(period, domain)] = (groups + 1, messages + count)
        domains.setdefault(period, set()).add(domain)
    for (period, domain), (groups, messages) in summaries.items():
        put(struct.pack(">Q", period) + domain.encode() + b"\0", b"\x01" + struct.pack(">IQQ", groups, messages, 0))
    for period, names in domains.items():
        put(struct.pack(">Q", period), struct.pack(">I", len(names)))
    assert lib.mdb_txn_commit(txn) == 0
    lib.mdb_env_close(env)


def row(domain, rua, ip="192.0.2.1", disposition="none", aligned=True, when=None):
    return {
        "policyDomain": domain, "ruaURIs": rua, "adkim": "r", "aspf": "r", "p": "reject", "pct": 100,
        "sourceIP": ip, "headerFrom": domain, "envelopeFrom": domain, "envelopeTo": "example.test",
        "disposition": disposition, "dkimAligned": aligned, "spfAligned": aligned, "reasons": [],
        "dkim": [{"domain": domain, "selector": "s1", "result": "pass" if aligned else "fail"}],
        "spf": {"domain": domain, "scope": "mfrom", "result": "pass" if aligned else "fail"},
        "time": when if when is not None else time.time() - 7200,
    }


@pytest.fixture
def reports_env(tmp_path, make_server):
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        pytest.fail("python3-aiosmtpd is not installed (make test-deps installs it; run pytest with /usr/bin/python3)")
    require_tool("xmllint")

    class Environment:
        pass

    env = Environment()
    # plain.test's MX is mx-plain.test (127.0.0.2). authorized.test's reports may go
    # there (its §7.1 record exists); unauthorized.test's may not.
    env.dns = DNSServer(DNS_RECORDS + ["--txt-record=authorized.test._report._dmarc.plain.test,v=DMARC1"])
    env.port = shared_port()
    env.receiver = Receiver(HOSTS["mx-plain.test"], env.port)

    def server(interval, rows, start=True):
        instance = make_server(
            f'[delivery]\nnameserver = "127.0.0.1:{env.dns.port}"\nmx_port = {env.port}\nscan_interval = "1s"\n'
            f'retry_intervals = ["1s"]\n'
            f'[dmarc]\ninterval = "{interval}"\norg_name = "Example Receiver"\ncontact = "https://example.test/dmarc"\n',
            start=False)
        write_rows(instance.data, rows)
        return instance.start() if start else instance

    env.server = server
    yield env
    env.receiver.stop()
    env.dns.stop()


def attachment(message_bytes):
    message = email.message_from_bytes(message_bytes, policy=email.policy.default)
    parts = [part for part in message.iter_attachments()]
    assert len(parts) == 1, [part.get_content_type() for part in parts]
    assert parts[0].get_content_type() == "application/gzip"
    return message, parts[0].get_filename(), gzip.decompress(parts[0].get_content())


def validate(tmp_path, xml):
    path = tmp_path / "report.xml"
    path.write_bytes(xml)
    result = subprocess.run(["xmllint", "--noout", "--schema", str(SCHEMA), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def parsedmarc_report(tmp_path, raw):
    """The report as parsedmarc reads the email (its Python API, offline)."""
    path = tmp_path / "report.eml"
    path.write_bytes(raw)
    script = ("import json, sys, parsedmarc\n"
              "r = parsedmarc.parse_report_file(sys.argv[1], offline=True)\n"
              "print(json.dumps(r, default=str))\n")
    result = subprocess.run([python_tool("python"), "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["report_type"] == "aggregate", parsed
    return parsed["report"]


def test_server_sends_finished_periods_to_authorized_destinations(reports_env, tmp_path):
    period = int(time.time()) // 2 * 2 - 3600
    rows = [
        (period, "plain.test", 1, 3, row("plain.test", ["mailto:dmarc@plain.test"], when=period)),
        (period, "plain.test", 2, 1, row("plain.test", ["mailto:dmarc@plain.test"], ip="2001:db8::25",
                                          disposition="reject", aligned=False, when=period + 1)),
        (period, "authorized.test", 1, 2, row("authorized.test", ["mailto:agg@plain.test"], when=period)),
        (period, "unauthorized.test", 1, 4, row("unauthorized.test", ["mailto:agg@plain.test"], when=period)),
        # Same organization, but the report is over the destination's 1k limit.
        (period, "sub.plain.test", 1, 1, row("sub.plain.test", ["mailto:small@plain.test!1k"], when=period)),
    ]
    server = reports_env.server("2s", rows)
    receiver = reports_env.receiver
    wait_for(lambda: receiver.count() >= 2, what="two reports at the destination")
    wait_for(lambda: "dmarc report not sent" in server.log() and server.log().count("dmarc report queued") == 2,
             what="the reporter's log lines")
    time.sleep(1.5)
    assert receiver.count() == 2
    by_domain = {}
    for delivered in receiver.messages:
        message, filename, xml = attachment(delivered["data"])
        by_domain[message["Subject"].split()[2]] = (delivered, message, filename, xml)
    assert sorted(by_domain) == ["authorized.test", "plain.test"]

    delivered, message, filename, xml = by_domain["plain.test"]
    assert delivered["sender"] == "dmarc-noreply@mx.example.test"
    assert delivered["recipients"] == ["dmarc@plain.test"]
    assert message["From"].addresses[0].addr_spec == "dmarc-noreply@mx.example.test"
    assert message["To"].addresses[0].addr_spec == "dmarc@plain.test"
    assert " ".join(message["Subject"].split()).startswith("Report Domain: plain.test Submitter: mx.example.test Report-ID: <")
    assert message["MIME-Version"] == "1.0" and message["Date"] and message["Message-ID"]
    assert filename.endswith(".xml.gz")
    receiver_name, domain, begin, end, unique = filename[: -len(".xml.gz")].split("!")
    assert (receiver_name, domain) == ("mx.example.test", "plain.test")
    assert (int(begin), int(end)) == (period, period + 1) and unique.isalnum()
    validate(tmp_path, xml)
    report = parsedmarc_report(tmp_path, delivered["data"])
    assert report["report_metadata"]["org_name"] == "Example Receiver"
    assert report["report_metadata"]["org_email"] == "dmarc-noreply@mx.example.test"
    assert report["policy_published"]["domain"] == "plain.test"
    records = sorted(report["records"], key=lambda r: r["count"], reverse=True)
    assert [(ipaddress.ip_address(r["source"]["ip_address"]), r["count"]) for r in records] == [
        (ipaddress.ip_address("192.0.2.1"), 3), (ipaddress.ip_address("2001:db8::25"), 1)]
    assert records[1]["policy_evaluated"]["disposition"] == "reject"
    assert records[1]["policy_evaluated"]["dkim"] == "fail"

    delivered, message, filename, xml = by_domain["authorized.test"]
    assert delivered["recipients"] == ["agg@plain.test"]
    validate(tmp_path, xml)
    assert parsedmarc_report(tmp_path, delivered["data"])["records"][0]["count"] == 2

    log = server.log()
    assert "unauthorized.test" in log and "no RFC 7489 §7.1 authorization record" in log
    assert "over the destination's limit of 1024" in log
    # Reported (or refused) rows are gone.
    assert "no pending DMARC reports" in server.cli("dmarc", "report").stdout


def test_cli_lists_and_sends_the_current_period(reports_env, tmp_path):
    now = int(time.time())
    period = now // 86400 * 86400
    rows = [
        (period, "plain.test", 1, 5, row("plain.test", ["mailto:dmarc@plain.test"], when=now - 1)),
        (period, "unauthorized.test", 1, 1, row("unauthorized.test", ["mailto:agg@plain.test"], when=now - 1)),
    ]
    server = reports_env.server("24h", rows)
    listing = server.cli("dmarc", "report").stdout
    assert "plain.test\t1 rows\t5 messages" in listing, listing
    assert "unauthorized.test\t1 rows\t1 messages" in listing, listing
    # The server's reporter waits for the day to end; the CLI sends now.
    time.sleep(2)
    assert reports_env.receiver.count() == 0
    sent = server.cli("dmarc", "report", "--send").stdout
    assert "dmarc@plain.test: queued" in sent, sent
    assert "agg@plain.test: not sent: no RFC 7489 §7.1 authorization record" in sent, sent
    wait_for(lambda: reports_env.receiver.count() == 1, what="the report at the destination")
    _, filename, xml = attachment(reports_env.receiver.messages[0]["data"])
    assert filename.startswith(f"mx.example.test!plain.test!{period}!")
    validate(tmp_path, xml)
    assert parsedmarc_report(tmp_path, reports_env.receiver.messages[0]["data"])["records"][0]["count"] == 5
    assert "no pending DMARC reports" in server.cli("dmarc", "report").stdout


def test_mail_checked_by_the_dmarc_plugin_is_reported(make_server, tmp_path):
    """The whole path: SMTP → spf/dkim/dmarc plugins → mailgate.dmarc.check records a
    row (the record has rua=) → `mailgate dmarc report --send` → the queue → the rua
    destination's MTA. plain.test's own report goes to its MX; forged.test asks for
    reports at plain.test, which consents (§7.1 record), and rejects the forgery."""
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        pytest.fail("python3-aiosmtpd is not installed (make test-deps installs it; run pytest with /usr/bin/python3)")
    require_tool("xmllint")
    dns = DNSServer(DNS_RECORDS + [
        "--txt-record=plain.test,v=spf1 ip4:127.0.0.1 -all",
        "--txt-record=_dmarc.plain.test,v=DMARC1; p=none; rua=mailto:dmarc@plain.test",
        "--txt-record=forged.test,v=spf1 ip4:192.0.2.1 -all",
        "--txt-record=_dmarc.forged.test,v=DMARC1; p=reject; rua=mailto:agg@plain.test!10m",
        "--txt-record=forged.test._report._dmarc.plain.test,v=DMARC1",
    ])
    port = shared_port()
    receiver = Receiver(HOSTS["mx-plain.test"], port)
    try:
        chain = ", ".join(f'"{name}"' for name in ["ratelimit", "badmailfrom", "relay", "open_smtp", "limits",
                                                    "spf", "dkim", "dmarc"])
        server = make_server(
            f'[policy]\ndirectory = "{ROOT / "policies"}"\nplugin_directory = "{ROOT / "plugins"}"\n'
            f"chain = [{chain}]\n[policy.spf]\n[policy.dkim]\n[policy.dmarc]\n"
            f'[delivery]\nnameserver = "127.0.0.1:{dns.port}"\nmx_port = {port}\nscan_interval = "1s"\n'
            f'[dmarc]\ninterval = "24h"\n')
        import smtplib
        with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="mail.plain.test", timeout=30) as client:
            for n in range(2):
                client.sendmail("alice@plain.test", ["bob@example.test"],
                                f"From: alice@plain.test\r\nTo: bob@example.test\r\nSubject: {n}\r\n\r\nHi.\r\n".encode())
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("bounce@elsewhere.test", ["bob@example.test"],
                                b"From: boss@forged.test\r\nTo: bob@example.test\r\nSubject: pay\r\n\r\nNow.\r\n")
            assert refused.value.smtp_code == 550
        listing = wait_for(lambda: (lambda out: "forged.test" in out and "plain.test\t1 rows\t2 messages" in out and out)(
            server.cli("dmarc", "report").stdout), what="the recorded rows")
        assert "forged.test\t1 rows\t1 messages" in listing, listing
        sent = server.cli("dmarc", "report", "--send").stdout
        assert "dmarc@plain.test: queued" in sent and "agg@plain.test: queued" in sent, sent
        wait_for(lambda: receiver.count() == 2, what="both reports at plain.test's MX")
        reports = {}
        for delivered in receiver.messages:
            _, filename, xml = attachment(delivered["data"])
            validate(tmp_path, xml)
            report = parsedmarc_report(tmp_path, delivered["data"])
            reports[report["policy_published"]["domain"]] = (delivered["recipients"], report)
        recipients, plain = reports["plain.test"]
        assert recipients == ["dmarc@plain.test"]
        [record] = plain["records"]
        assert (record["source"]["ip_address"], record["count"]) == ("127.0.0.1", 2)
        assert record["policy_evaluated"]["disposition"] == "none"
        assert record["policy_evaluated"]["spf"] == "pass"
        assert record["identifiers"]["header_from"] == "plain.test"
        recipients, forged = reports["forged.test"]
        assert recipients == ["agg@plain.test"]
        [record] = forged["records"]
        assert record["policy_evaluated"]["disposition"] == "reject"
        assert (record["policy_evaluated"]["spf"], record["policy_evaluated"]["dkim"]) == ("fail", "fail")
        assert forged["policy_published"]["p"] == "reject"
    finally:
        receiver.stop()
        dns.stop()
