"""DMARC interoperability: `mailgate dmarc check` against two implementations nobody
here wrote, on DMARC records served by dnsmasq.
- Record discovery and the parsed policy (where the record was found; p, sp, adkim,
  aspf) are compared with checkdmarc (PyPI, run from the .build-py venv).
- The DMARC result and the policy that applies (p, or sp for a subdomain whose record
  is the organizational domain's) are compared with authheaders' dmarc_per_from, driven
  offline: its `dnsfunc` hook reads the same dnsmasq. authheaders ignores pct, so pct
  sampling is checked against RFC 7489 §6.6.4's expected values instead.
Known disagreements are asserted as such, each with the RFC 7489 reading mailgate follows:
- checkdmarc 6 follows DMARCbis (RFC 9989): it walks up the DNS tree, so a record at
  an intermediate name is found there (RFC 7489 §6.6.3 only looks at the From domain
  and its organizational domain), and it no longer reports pct.
- authheaders 0.16 applies sp to mail from the organizational domain itself (§6.3: sp
  is for subdomains), and its get_domain_part() only reads [a-z0-9.] domains (so the
  zone has no hyphenated names)."""
import json
import subprocess

import pytest

from auth_support import dnsmasq_records, mailgate_check, start_dns, write_config
from conftest import python_tool

TXT = {
    "_dmarc.d1dm.com": "v=DMARC1; p=reject; adkim=s; aspf=s; pct=50; rua=mailto:dmarc@d1dm.com",
    "_dmarc.orgdm.com": "v=DMARC1; p=quarantine; sp=reject",
    "_dmarc.own.orgdm.com": "v=DMARC1; p=none",
    "_dmarc.nospdm.com": "v=DMARC1; p=reject",
    "_dmarc.pctdm.com": "v=DMARC1; p=quarantine; pct=0",
    "_dmarc.pct20dm.com": "v=DMARC1; p=reject; pct=20",
    "_dmarc.relaxeddm.com": "v=DMARC1; p=reject",
    "_dmarc.strictdm.com": "v=DMARC1; p=reject; adkim=s; aspf=s",
    "_dmarc.ruaonlydm.com": "v=DMARC1; rua=mailto:dmarc@ruaonlydm.com",
    "_dmarc.b.deepdm.com": "v=DMARC1; p=reject",
    "_dmarc.multidm.com": ["v=DMARC1; p=reject", "v=DMARC1; p=none"],
}
# Report addresses need an MX for checkdmarc's report-URI checks.
MX = {"d1dm.com": [("mx.d1dm.com", 10)], "ruaonlydm.com": [("mx.ruaonlydm.com", 10)]}
HOSTS = {"mx.d1dm.com": ["127.0.0.2"], "mx.ruaonlydm.com": ["127.0.0.2"],
         **{name: ["127.0.0.3"] for name in ["d1dm.com", "orgdm.com", "sub.orgdm.com", "own.orgdm.com", "nospdm.com",
                                              "a.nospdm.com", "relaxeddm.com", "strictdm.com", "nonedm.com",
                                              "pctdm.com", "ruaonlydm.com", "a.b.deepdm.com", "multidm.com"]}}

# From domains whose record discovery is compared with checkdmarc.
DISCOVERY = ["d1dm.com", "orgdm.com", "sub.orgdm.com", "own.orgdm.com", "a.nospdm.com", "pctdm.com", "relaxeddm.com",
             "strictdm.com", "ruaonlydm.com", "nonedm.com"]

# (from domain, spf (result, domain) or None, dkim (result, d=) or None)
ALIGNMENT = [
    ("d1dm.com", ("pass", "bounce.d1dm.com"), None),
    ("d1dm.com", ("pass", "d1dm.com"), None),
    ("d1dm.com", None, ("pass", "d1dm.com")),
    ("d1dm.com", None, ("pass", "mail.d1dm.com")),
    ("relaxeddm.com", ("pass", "bounce.relaxeddm.com"), None),
    ("relaxeddm.com", ("softfail", "relaxeddm.com"), ("fail", "relaxeddm.com")),
    ("relaxeddm.com", ("pass", "otherdm.com"), ("pass", "otherdm.com")),
    ("relaxeddm.com", None, ("pass", "mail.relaxeddm.com")),
    ("strictdm.com", ("pass", "strictdm.com"), ("pass", "mail.strictdm.com")),
    ("strictdm.com", ("pass", "mail.strictdm.com"), ("pass", "mail.strictdm.com")),
    ("sub.orgdm.com", None, ("pass", "orgdm.com")),
    ("sub.orgdm.com", ("pass", "otherdm.com"), None),
    ("orgdm.com", None, None),
    ("own.orgdm.com", None, None),
    ("a.nospdm.com", ("pass", "nospdm.com"), None),
    ("a.nospdm.com", ("fail", "nospdm.com"), None),
    ("nonedm.com", ("pass", "nonedm.com"), None),
]

# From domains with both p and sp where authheaders (0.16) applies sp although the
# domain is the organizational domain itself.
SP_FOR_ORG_ITSELF = {"orgdm.com"}

CHECKDMARC = r"""
import json, sys
import dns.resolver
from checkdmarc.dmarc import query_dmarc_record, parse_dmarc_record
port, domains = json.load(sys.stdin)
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = port
out = {}
for domain in domains:
    try:
        found = query_dmarc_record(domain, resolver=resolver, timeout=5)
        parsed = parse_dmarc_record(found["record"], found["location"], resolver=resolver, timeout=5)
        tags = {name: str(tag["value"]) for name, tag in parsed["tags"].items()}
        out[domain] = {"location": found["location"], "tags": tags}
    except Exception as error:
        out[domain] = {"error": type(error).__name__, "message": str(error)}
print(json.dumps(out))
"""

AUTHHEADERS = r"""
import json, sys
import dns.resolver
from authheaders import dmarc_per_from
from authres import SPFAuthenticationResult, DKIMAuthenticationResult
port, cases = json.load(sys.stdin)
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = port
def dnsfunc(name, *args, **kwargs):
    try:
        answer = resolver.resolve(name, "TXT")
    except Exception:
        return None
    texts = [b"".join(r.strings).decode() for r in answer]
    return texts[0] if texts else None
out = []
for domain, spf, dkim in cases:
    spf_result = SPFAuthenticationResult(result=spf[0], smtp_mailfrom="bounce@" + spf[1]) if spf else None
    dkim_result = DKIMAuthenticationResult(result=dkim[0], header_d=dkim[1]) if dkim else None
    result, comment, _, policy = dmarc_per_from(domain, spf_result=spf_result, dkim_result=dkim_result, dnsfunc=dnsfunc)
    out.append([result, policy])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def zone():
    # Names under "com": authheaders' public suffix library does not apply the PSL's
    # implicit "*" rule to a TLD it does not list (it makes "test" the organizational
    # domain of every *.test name), so the zone uses a listed TLD. dnsmasq has no
    # upstream: nothing leaves the machine, and --local makes unknown names NXDOMAIN.
    server = start_dns(dnsmasq_records(txt=TXT, hosts=HOSTS, mx=MX, extra=["--local=/com/"]))
    yield server
    server.stop()


def run_python(script, payload):
    completed = subprocess.run([python_tool("python"), "-c", script], input=json.dumps(payload),
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def dmarc(config, domain, spf=None, dkim=None, sample=None):
    args = ["dmarc", "check", domain]
    if spf:
        args += ["--spf", f"{spf[0]}:{spf[1]}"]
    if dkim:
        args += ["--dkim", f"{dkim[0]}:{dkim[1]}"]
    if sample is not None:
        args += ["--sample", str(sample)]
    return mailgate_check(config, *args)


def test_discovery_and_parsed_policy_match_checkdmarc(zone, tmp_path):
    config = write_config(tmp_path, zone.port)
    reference = run_python(CHECKDMARC, [zone.port, DISCOVERY])
    mismatches = []
    for domain in DISCOVERY:
        ours = dmarc(config, domain)
        theirs = reference[domain]
        if "error" in theirs:
            if ours["result"] != "none" or ours["policy_domain"] != "-":
                mismatches.append(f"{domain}: checkdmarc {theirs['error']}, mailgate found {ours['policy_domain']}")
            continue
        if ours["policy_domain"] != theirs["location"]:
            mismatches.append(f"{domain}: location mailgate {ours['policy_domain']}, checkdmarc {theirs['location']}")
            continue
        tags = theirs["tags"]
        expected = {"p": tags["p"], "sp": tags.get("sp", tags["p"]),
                    "adkim": tags.get("adkim", "r"), "aspf": tags.get("aspf", "r")}
        got = {"p": ours["p"], "sp": ours["sp"] if ours["sp"] != "-" else ours["p"],
               "adkim": ours["adkim"], "aspf": ours["aspf"]}
        if "pct" in tags:   # checkdmarc 6 follows RFC 9989, which dropped pct
            expected["pct"], got["pct"] = str(tags["pct"]), ours["pct"]
        if got != expected:
            mismatches.append(f"{domain}: mailgate {got}, checkdmarc {expected}")
    assert mismatches == [], "\n".join(mismatches)
    assert sum("error" not in r for r in reference.values()) >= 8


def test_several_records_mean_no_policy_in_both(zone, tmp_path):
    config = write_config(tmp_path, zone.port)
    reference = run_python(CHECKDMARC, [zone.port, ["multidm.com"]])
    assert reference["multidm.com"].get("error") == "MultipleDMARCRecords", reference
    ours = dmarc(config, "multidm.com", spf=("pass", "multidm.com"))
    assert (ours["result"], ours["policy_domain"]) == ("none", "multidm.com")


def test_tree_walk_difference_is_rfc7489_vs_dmarcbis(zone, tmp_path):
    config = write_config(tmp_path, zone.port)
    reference = run_python(CHECKDMARC, [zone.port, ["a.b.deepdm.com"]])
    assert reference["a.b.deepdm.com"].get("location") == "b.deepdm.com", reference   # RFC 9989 tree walk
    ours = dmarc(config, "a.b.deepdm.com")
    assert (ours["result"], ours["policy_domain"]) == ("none", "-")                # RFC 7489 §6.6.3


def test_results_and_applied_policy_match_authheaders(zone, tmp_path):
    config = write_config(tmp_path, zone.port)
    reference = run_python(AUTHHEADERS, [zone.port, ALIGNMENT])
    mismatches = []
    for (domain, spf, dkim), (result, policy) in zip(ALIGNMENT, reference):
        ours = dmarc(config, domain, spf, dkim, sample=0.0)
        expected_policy = policy if result != "none" else "-"
        if domain in SP_FOR_ORG_ITSELF:
            # authheaders applies sp to mail from the organizational domain itself;
            # RFC 7489 §6.3 gives sp to subdomains only, so p applies there.
            assert policy == "reject" and ours["policy"] == "quarantine", (policy, ours)
            expected_policy = ours["policy"]
        if (ours["result"], ours["policy"]) != (result, expected_policy):
            mismatches.append(f"{domain} spf={spf} dkim={dkim}: mailgate {ours['result']}/{ours['policy']}, "
                              f"authheaders {result}/{expected_policy}")
    assert mismatches == [], "\n".join(mismatches)
    assert {r for r, _ in reference} == {"pass", "fail", "none"}


def test_pct_sampling_and_disposition_follow_rfc7489(zone, tmp_path):
    config = write_config(tmp_path, zone.port)
    # pct=0: every failing message is sampled out; quarantine steps down to none.
    ours = dmarc(config, "pctdm.com", sample=0.0)
    assert (ours["result"], ours["policy"], ours["disposition"], ours["sampled_out"]) == ("fail", "quarantine", "none", "true")
    # pct=20, reject: a draw under 0.2 applies reject, one above gets quarantine.
    ours = dmarc(config, "pct20dm.com", sample=0.1)
    assert (ours["disposition"], ours["sampled_out"]) == ("reject", "false")
    ours = dmarc(config, "pct20dm.com", sample=0.5)
    assert (ours["disposition"], ours["sampled_out"]) == ("quarantine", "true")
    # pass: disposition none whatever the policy.
    ours = dmarc(config, "relaxeddm.com", spf=("pass", "relaxeddm.com"))
    assert (ours["result"], ours["disposition"]) == ("pass", "none")
    # rua without p: p=none (RFC 7489 §6.6.3 step 6).
    ours = dmarc(config, "ruaonlydm.com")
    assert (ours["result"], ours["p"], ours["disposition"], ours["rua"]) == ("fail", "none", "none", "mailto:dmarc@ruaonlydm.com")
