import XCTest
import MailCore
@testable import MailAuth

final class DMARCCheckerTests: XCTestCase {
    let suffixes = PublicSuffixList(rules: "com\nco.uk\nuk\ntest\n")

    func checker(_ dns: FakeDNS, random: Double = 0.5) -> DMARCChecker {
        DMARCChecker(dns: dns, suffixes: suffixes, random: { random })
    }

    func testPassWhenSPFOrDKIMAligned() async {
        let dns = FakeDNS()
        dns.txt("_dmarc.example.com", "v=DMARC1; p=reject")
        let dmarc = checker(dns)
        let spf = await dmarc.check(fromDomain: "example.com", spf: (.pass, "bounce.example.com"), dkim: [])
        XCTAssertEqual(spf.result, .pass)
        XCTAssertTrue(spf.spfAligned)
        XCTAssertFalse(spf.dkimAligned)
        XCTAssertEqual(spf.disposition, .none)
        XCTAssertEqual(spf.policy, .reject)
        XCTAssertEqual(spf.policyDomain, "example.com")
        let dkim = await dmarc.check(fromDomain: "example.com", spf: (.fail, "example.com"),
                                     dkim: [(.fail, "example.com"), (.pass, "mail.example.com")])
        XCTAssertEqual(dkim.result, .pass)
        XCTAssertTrue(dkim.dkimAligned)
        XCTAssertFalse(dkim.spfAligned)
        let address = await dmarc.check(fromDomain: "example.com", spf: (.pass, "bounce@Mail.Example.com"), dkim: [])
        XCTAssertTrue(address.spfAligned)
    }

    func testFailAppliesPolicy() async {
        let dns = FakeDNS()
        dns.txt("_dmarc.example.com", "v=DMARC1; p=quarantine")
        let outcome = await checker(dns).check(fromDomain: "example.com", spf: (.pass, "other.com"), dkim: [(.pass, "other.com")])
        XCTAssertEqual(outcome.result, .fail)
        XCTAssertEqual(outcome.disposition, .quarantine)
        XCTAssertFalse(outcome.sampledOut)
    }

    func testStrictAlignment() async {
        let dns = FakeDNS()
        dns.txt("_dmarc.example.com", "v=DMARC1; p=reject; adkim=s; aspf=s")
        let dmarc = checker(dns)
        let sub = await dmarc.check(fromDomain: "example.com", spf: (.pass, "bounce.example.com"), dkim: [(.pass, "mail.example.com")])
        XCTAssertEqual(sub.result, .fail)
        XCTAssertEqual(sub.disposition, .reject)
        let exact = await dmarc.check(fromDomain: "Example.COM.", spf: (.softfail, "example.com"), dkim: [(.pass, "EXAMPLE.com")])
        XCTAssertEqual(exact.result, .pass)
        XCTAssertTrue(exact.dkimAligned)
    }

    func testRelaxedAlignmentUsesOrganizationalDomains() async {
        let dns = FakeDNS()
        dns.txt("_dmarc.shop.example.co.uk", "v=DMARC1; p=reject")
        let dmarc = checker(dns)
        let aligned = await dmarc.check(fromDomain: "shop.example.co.uk", spf: (.pass, "mail.example.co.uk"), dkim: [])
        XCTAssertTrue(aligned.spfAligned)
        let unrelated = await dmarc.check(fromDomain: "shop.example.co.uk", spf: (.pass, "other.co.uk"), dkim: [])
        XCTAssertFalse(unrelated.spfAligned)
        XCTAssertEqual(unrelated.result, .fail)
    }

    func testOrganizationalFallbackAndSubdomainPolicy() async {
        let dns = FakeDNS()
        dns.txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine")
        let dmarc = checker(dns)
        let sub = await dmarc.check(fromDomain: "news.example.com", spf: nil, dkim: [])
        XCTAssertEqual(sub.policyDomain, "example.com")
        XCTAssertEqual(sub.policy, .quarantine)
        XCTAssertEqual(sub.disposition, .quarantine)
        XCTAssertEqual(sub.organizationalDomain, "example.com")
        let top = await dmarc.check(fromDomain: "example.com", spf: nil, dkim: [])
        XCTAssertEqual(top.policy, .reject)
        // Without sp, p applies to subdomains.
        let dns2 = FakeDNS()
        dns2.txt("_dmarc.example.com", "v=DMARC1; p=reject")
        let noSP = await checker(dns2).check(fromDomain: "a.b.example.com", spf: nil, dkim: [])
        XCTAssertEqual(noSP.policy, .reject)
        // A record at the subdomain itself uses its p, not the org's sp.
        dns.txt("_dmarc.own.example.com", "v=DMARC1; p=none")
        let own = await dmarc.check(fromDomain: "own.example.com", spf: nil, dkim: [])
        XCTAssertEqual(own.policyDomain, "own.example.com")
        XCTAssertEqual(own.policy, DMARCPolicy.none)
    }

    func testNoRecordSeveralRecordsAndNonDMARCText() async {
        let dns = FakeDNS()
        dns.txt("_dmarc.two.com", "v=DMARC1; p=reject")
        dns.txt("_dmarc.two.com", "v=DMARC1; p=none")
        dns.txt("_dmarc.other.com", "some verification string")
        let dmarc = checker(dns)
        let none = await dmarc.check(fromDomain: "nothing.com", spf: nil, dkim: [])
        XCTAssertEqual(none.result, DMARCResult.none)
        XCTAssertNil(none.policyDomain)
        let two = await dmarc.check(fromDomain: "two.com", spf: nil, dkim: [])
        XCTAssertEqual(two.result, DMARCResult.none)
        let other = await dmarc.check(fromDomain: "other.com", spf: nil, dkim: [])
        XCTAssertEqual(other.result, DMARCResult.none)
    }

    func testDNSFailureIsTemperrorAndMalformedIsPermerror() async {
        let dns = FakeDNS()
        dns.add("_dmarc.slow.com", .timeout(nil))
        dns.txt("_dmarc.bad.com", "v=DMARC1; p=reject; p=none")
        dns.add("_dmarc.orgslow.com", .timeout(nil))
        let dmarc = checker(dns)
        let slow = await dmarc.check(fromDomain: "slow.com", spf: (.pass, "slow.com"), dkim: [])
        XCTAssertEqual(slow.result, .temperror)
        let bad = await dmarc.check(fromDomain: "bad.com", spf: nil, dkim: [])
        XCTAssertEqual(bad.result, .permerror)
        let orgSlow = await dmarc.check(fromDomain: "sub.orgslow.com", spf: nil, dkim: [])
        XCTAssertEqual(orgSlow.result, .temperror)
    }

    func testPctSamplingStepsDownOnePolicy() async {
        let dns = FakeDNS()
        dns.txt("_dmarc.r.com", "v=DMARC1; p=reject; pct=30")
        dns.txt("_dmarc.q.com", "v=DMARC1; p=quarantine; pct=30")
        dns.txt("_dmarc.z.com", "v=DMARC1; p=reject; pct=0")
        let inSample = await checker(dns, random: 0.29).check(fromDomain: "r.com", spf: nil, dkim: [])
        XCTAssertEqual(inSample.disposition, .reject)
        XCTAssertFalse(inSample.sampledOut)
        let outR = await checker(dns, random: 0.3).check(fromDomain: "r.com", spf: nil, dkim: [])
        XCTAssertEqual(outR.disposition, .quarantine)
        XCTAssertTrue(outR.sampledOut)
        XCTAssertEqual(outR.policy, .reject)
        let outQ = await checker(dns, random: 0.9).check(fromDomain: "q.com", spf: nil, dkim: [])
        XCTAssertEqual(outQ.disposition, DMARCPolicy.none)
        let zero = await checker(dns, random: 0.0).check(fromDomain: "z.com", spf: nil, dkim: [])
        XCTAssertEqual(zero.disposition, .quarantine)
        XCTAssertTrue(zero.sampledOut)
    }

    func testPolicyImpliedByRuaAndNoPolicyWithoutRua() async {
        let dns = FakeDNS()
        dns.txt("_dmarc.rua.com", "v=DMARC1; rua=mailto:r@rua.com")
        dns.txt("_dmarc.nop.com", "v=DMARC1; adkim=s")
        let dmarc = checker(dns)
        let rua = await dmarc.check(fromDomain: "rua.com", spf: nil, dkim: [])
        XCTAssertEqual(rua.result, .fail)
        XCTAssertEqual(rua.policy, DMARCPolicy.none)
        XCTAssertEqual(rua.disposition, DMARCPolicy.none)
        XCTAssertEqual(rua.record?.rua, ["mailto:r@rua.com"])
        let nop = await dmarc.check(fromDomain: "nop.com", spf: nil, dkim: [])
        XCTAssertEqual(nop.result, DMARCResult.none)
    }
}
