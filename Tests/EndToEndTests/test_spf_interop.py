"""SPF interoperability: `mailgate spf check` and pyspf (Debian's python3-spf, the
implementation behind the RFC 7208 test suite) evaluate the same cases against the
same dnsmasq, and must agree on the result (and on the explanation when the record
has exp=). The zone covers every mechanism, include, redirect, macros (%{i} %{ir}
%{d1r} %{l} %{h} %{v} in exists/a), void lookups, the 10-term limit, loops, IPv6,
dual CIDR, PTR, the HELO identity for the null sender, exp= and a DNS failure."""
import json
import subprocess

import pytest

from auth_support import dnsmasq_records, mailgate_check, start_dns, write_config

ADDRESSES = {f"h{n}.spf.test": [f"10.0.0.{n}"] for n in range(1, 12)}
ADDRESSES.update({
    "amx.spf.test": ["192.0.2.40"],
    "mail.amx.spf.test": ["198.51.100.50"],
    "v6.spf.test": ["2001:db8:5::25"],
    "dualhost.spf.test": ["198.51.100.10", "2001:db8:2::10"],
    "host.ptr.spf.test": ["192.0.2.77"],
    "helo.spf.test": ["192.0.2.9"],
    "mta.spf.test": ["192.0.2.33"],
    "192.0.2.7.ok.spf.test": ["127.0.0.2"],
    "7.2.0.192.rev.spf.test": ["127.0.0.2"],
    "alice.m-d1r.users.spf.test": ["127.0.0.2"],
    # %{ir}.%{v} for 2001:db8:6::1
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.0.0.0.8.b.d.0.1.0.0.2.ip6.six.spf.test": ["127.0.0.2"],
    **{f"mx{n}.mx11.spf.test": [f"10.1.0.{n}"] for n in range(1, 12)},
})

TXT = {
    "a.spf.test": "v=spf1 ip4:192.0.2.0/24 -all",
    "inc.spf.test": "v=spf1 include:a.spf.test ~all",
    "red.spf.test": "v=spf1 redirect=a.spf.test",
    "amx.spf.test": "v=spf1 a/30 mx -all",
    "v6.spf.test": "v=spf1 ip6:2001:db8:1::/48 a -all",
    "dual.spf.test": "v=spf1 a:dualhost.spf.test/24//64 -all",
    "ptr.spf.test": "v=spf1 ptr -all",
    "m-i.spf.test": "v=spf1 exists:%{i}.ok.spf.test -all",
    "m-ir.spf.test": "v=spf1 exists:%{ir}.rev.spf.test -all",
    "m-d1r.spf.test": "v=spf1 exists:%{l}.%{d1r}.users.spf.test -all",
    "m-h.spf.test": "v=spf1 a:%{h} -all",
    "m-v6.spf.test": "v=spf1 exists:%{ir}.%{v}.six.spf.test -all",
    "void2.spf.test": "v=spf1 a:nx1.spf.test a:nx2.spf.test ip4:192.0.2.0/24 -all",
    "void3.spf.test": "v=spf1 a:nx1.spf.test a:nx2.spf.test a:nx3.spf.test ip4:192.0.2.0/24 -all",
    "limit10.spf.test": "v=spf1 " + " ".join(f"a:h{n}.spf.test" for n in range(1, 11)) + " -all",
    "limit11.spf.test": "v=spf1 " + " ".join(f"a:h{n}.spf.test" for n in range(1, 12)) + " -all",
    **{f"c{n}.spf.test": f"v=spf1 include:c{n + 1}.spf.test -all" for n in range(1, 12)},
    "c12.spf.test": "v=spf1 +all",
    "loop1.spf.test": "v=spf1 include:loop2.spf.test -all",
    "loop2.spf.test": "v=spf1 include:loop1.spf.test -all",
    "selfredirect.spf.test": "v=spf1 redirect=selfredirect.spf.test",
    "exp.spf.test": "v=spf1 ip4:192.0.2.1 -all exp=why.spf.test",
    "why.spf.test": "%{i} is not one of %{d}'s designated mail servers.",
    "expmacro.spf.test": "v=spf1 -all exp=why2.spf.test",
    "why2.spf.test": "%{s} (%{l} at %{o}) via %{h}: see http://%{d}/spf",
    "redirexp.spf.test": "v=spf1 redirect=exp.spf.test",
    "two.spf.test": ["v=spf1 -all", "v=spf1 +all"],
    "other.spf.test": "google-site-verification=abc",
    "syntax.spf.test": "v=spf1 ip4:192.0.2.300 -all",
    "badmech.spf.test": "v=spf1 foo:bar -all",
    "helo.spf.test": "v=spf1 a -all",
    "mx11.spf.test": "v=spf1 mx -all",
    "neutral.spf.test": "v=spf1 ?all",
    "softfail.spf.test": "v=spf1 ~all",
    "passall.spf.test": "v=spf1 +all",
    "empty.spf.test": "v=spf1",
    "unknownmod.spf.test": "v=spf1 moo.cow=far_out:%{d} ip4:192.0.2.0/24 -all",
    "tempinc.spf.test": "v=spf1 include:x.down.test -all",
}

# Domains whose fail carries an exp= text (pyspf's default text is not compared).
EXPLAINED = {"exp.spf.test", "expmacro.spf.test", "redirexp.spf.test"}

MX = {
    "amx.spf.test": [("mail.amx.spf.test", 10)],
    "mx11.spf.test": [(f"mx{n}.mx11.spf.test", n) for n in range(1, 12)],
}

# (client ip, helo, mail from)
CASES = [
    ("192.0.2.5", "mta.spf.test", "user@a.spf.test"),
    ("198.51.100.1", "mta.spf.test", "user@a.spf.test"),
    ("::ffff:192.0.2.5", "mta.spf.test", "user@a.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@inc.spf.test"),
    ("198.51.100.1", "mta.spf.test", "user@inc.spf.test"),
    ("192.0.2.6", "mta.spf.test", "user@red.spf.test"),
    ("203.0.113.6", "mta.spf.test", "user@red.spf.test"),
    ("192.0.2.41", "mta.spf.test", "user@amx.spf.test"),
    ("192.0.2.44", "mta.spf.test", "user@amx.spf.test"),
    ("198.51.100.50", "mta.spf.test", "user@amx.spf.test"),
    ("2001:db8:1::99", "mta.spf.test", "user@v6.spf.test"),
    ("2001:db8:5::25", "mta.spf.test", "user@v6.spf.test"),
    ("2001:db8:9::1", "mta.spf.test", "user@v6.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@v6.spf.test"),
    ("198.51.100.99", "mta.spf.test", "user@dual.spf.test"),
    ("2001:db8:2::ffff", "mta.spf.test", "user@dual.spf.test"),
    ("2001:db8:3::1", "mta.spf.test", "user@dual.spf.test"),
    ("192.0.2.77", "mta.spf.test", "user@ptr.spf.test"),
    ("192.0.2.78", "mta.spf.test", "user@ptr.spf.test"),
    ("192.0.2.7", "mta.spf.test", "user@m-i.spf.test"),
    ("192.0.2.8", "mta.spf.test", "user@m-i.spf.test"),
    ("192.0.2.7", "mta.spf.test", "user@m-ir.spf.test"),
    ("192.0.2.7", "mta.spf.test", "alice@m-d1r.spf.test"),
    ("192.0.2.7", "mta.spf.test", "bob@m-d1r.spf.test"),
    ("192.0.2.33", "mta.spf.test", "user@m-h.spf.test"),
    ("192.0.2.34", "mta.spf.test", "user@m-h.spf.test"),
    ("2001:db8:6::1", "mta.spf.test", "user@m-v6.spf.test"),
    ("2001:db8:6::2", "mta.spf.test", "user@m-v6.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@void2.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@void3.spf.test"),
    ("10.0.0.10", "mta.spf.test", "user@limit10.spf.test"),
    ("10.0.0.11", "mta.spf.test", "user@limit11.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@c1.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@c3.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@loop1.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@selfredirect.spf.test"),
    ("192.0.2.99", "mta.spf.test", "user@exp.spf.test"),
    ("192.0.2.1", "mta.spf.test", "user@exp.spf.test"),
    ("192.0.2.99", "mta.spf.test", "joe@expmacro.spf.test"),
    ("192.0.2.99", "mta.spf.test", "user@redirexp.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@two.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@other.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@nothing.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@syntax.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@badmech.spf.test"),
    ("192.0.2.9", "helo.spf.test", ""),
    ("192.0.2.10", "helo.spf.test", ""),
    ("192.0.2.10", "helo.spf.test", "user@a.spf.test"),
    ("10.1.0.1", "mta.spf.test", "user@mx11.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@neutral.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@softfail.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@passall.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@empty.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@unknownmod.spf.test"),
    ("192.0.2.5", "mta.spf.test", "user@tempinc.spf.test"),
]

# pyspf under Debian's Python (python3-spf + python3-dnspython), pointed at dnsmasq.
PYSPF = r"""
import json, sys
import dns.resolver, spf
port, cases = json.load(sys.stdin)
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = port
resolver.lifetime = 5
dns.resolver.default_resolver = resolver
out = []
for ip, helo, sender in cases:
    result, explanation = spf.check2(i=ip, s=sender, h=helo, timeout=5, querytime=5)
    out.append([result, explanation])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def zone():
    server = start_dns(dnsmasq_records(txt=TXT, hosts=ADDRESSES, mx=MX,
                                       extra=["--server=/down.test/127.0.0.1#9",
                                              # Unknown reverse names: NXDOMAIN, not REFUSED.
                                              "--local=/2.0.192.in-addr.arpa/"]))
    yield server
    server.stop()


def pyspf_results(port):
    completed = subprocess.run(["/usr/bin/python3", "-c", PYSPF], input=json.dumps([port, CASES]),
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_spf_results_match_pyspf(zone, tmp_path):
    config = write_config(tmp_path, zone.port)
    reference = pyspf_results(zone.port)
    mismatches = []
    for (ip, helo, sender), (expected, explanation) in zip(CASES, reference):
        ours = mailgate_check(config, "spf", "check", ip, helo, sender)
        label = f"{ip} {helo} <{sender}>"
        if ours["result"] != expected:
            mismatches.append(f"{label}: mailgate {ours['result']} ({ours.get('problem', '')}), pyspf {expected} ({explanation})")
        elif expected == "fail" and sender.partition("@")[2] in EXPLAINED:
            if ours.get("explanation") != explanation:
                mismatches.append(f"{label}: explanation mailgate {ours.get('explanation')!r}, pyspf {explanation!r}")
    assert mismatches == [], "\n".join(mismatches)
    # The comparison covered each kind of result.
    assert {r for r, _ in reference} >= {"pass", "fail", "softfail", "neutral", "none", "permerror", "temperror"}


def test_spf_check_reports_mechanism_and_counts(zone, tmp_path):
    config = write_config(tmp_path, zone.port)
    facts = mailgate_check(config, "spf", "check", "192.0.2.5", "mta.spf.test", "user@inc.spf.test")
    assert facts["result"] == "pass"
    assert facts["mechanism"] == "include:a.spf.test"
    assert facts["lookups"] == "1"
    facts = mailgate_check(config, "spf", "check", "192.0.2.9", "helo.spf.test", "")
    assert (facts["result"], facts["identity"], facts["sender"]) == ("pass", "helo", "postmaster@helo.spf.test")
    facts = mailgate_check(config, "spf", "check", "10.0.0.11", "mta.spf.test", "user@limit11.spf.test")
    assert facts["result"] == "permerror" and "10" in facts["problem"]
