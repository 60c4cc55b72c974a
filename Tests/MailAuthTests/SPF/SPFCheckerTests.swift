import XCTest
import MailCore
@testable import MailAuth

final class SPFCheckerTests: XCTestCase {
    func checker(_ dns: FakeDNS, overall: Duration = .seconds(20)) -> SPFChecker {
        SPFChecker(dns: dns, receivingHost: "mx.receiver.test", timeout: .seconds(3), overallLimit: overall, now: { 1_000 })
    }

    func testPassFailAndMatchedMechanism() async {
        let dns = FakeDNS()
        dns.txt("example.test", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all")
        let spf = checker(dns)
        var outcome = await spf.check(ip: "192.0.2.9", helo: "mx.example.test", mailFrom: "a@example.test")
        XCTAssertEqual(outcome.result, .pass)
        XCTAssertEqual(outcome.mechanism, "ip4:192.0.2.0/24")
        XCTAssertEqual(outcome.identity, "mailfrom")
        XCTAssertEqual(outcome.domain, "example.test")
        outcome = await spf.check(ip: "2001:db8::5", helo: "mx.example.test", mailFrom: "a@example.test")
        XCTAssertEqual(outcome.mechanism, "ip6:2001:db8::/32")
        outcome = await spf.check(ip: "198.51.100.1", helo: "mx.example.test", mailFrom: "a@example.test")
        XCTAssertEqual(outcome.result, .fail)
        XCTAssertEqual(outcome.mechanism, "all")
        XCTAssertNil(outcome.explanation)
    }

    func testIPv4MappedClientIsIPv4() async {
        let dns = FakeDNS()
        dns.txt("example.test", "v=spf1 ip4:192.0.2.1 ip6:::ffff:0:0/96 -all")
        let outcome = await checker(dns).check(ip: "::ffff:192.0.2.1", helo: "h.example.test", mailFrom: "a@example.test")
        XCTAssertEqual(outcome.result, .pass)
        XCTAssertEqual(outcome.mechanism, "ip4:192.0.2.1")
        let other = await checker(dns).check(ip: "::ffff:192.0.2.2", helo: "h.example.test", mailFrom: "a@example.test")
        XCTAssertEqual(other.result, .fail)
    }

    func testNullSenderChecksHELOAsPostmaster() async {
        let dns = FakeDNS()
        dns.txt("mx.example.test", "v=spf1 exists:%{l}.%{d} -all")
        dns.a("postmaster.mx.example.test", "127.0.0.2")
        let outcome = await checker(dns).check(ip: "192.0.2.1", helo: "mx.example.test", mailFrom: "")
        XCTAssertEqual(outcome.result, .pass)
        XCTAssertEqual(outcome.identity, "helo")
        XCTAssertEqual(outcome.sender, "postmaster@mx.example.test")
    }

    func testInvalidDomainsGiveNone() async {
        let spf = checker(FakeDNS())
        for (helo, from) in [("A2345678", ""), ("[192.0.2.1]", ""), ("h.test", "a@foo..test"),
                             ("h.test", "a@" + String(repeating: "x", count: 64) + ".test")] {
            let outcome = await spf.check(ip: "192.0.2.1", helo: helo, mailFrom: from)
            XCTAssertEqual(outcome.result, SPFResult.none, "\(helo) \(from)")
        }
    }

    func testExactlyOneRecordElsePermerror() async {
        let dns = FakeDNS()
        dns.txt("two.test", "v=spf1 -all")
        dns.txt("two.test", "v=spf1 +all")
        dns.txt("zero.test", "google-site-verification=x")
        let spf = checker(dns)
        let two = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@two.test")
        XCTAssertEqual(two.result, .permerror)
        let zero = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@zero.test")
        XCTAssertEqual(zero.result, SPFResult.none)
    }

    func testTenDNSTermsThenPermerror() async {
        let dns = FakeDNS()
        dns.txt("ten.test", "v=spf1 " + (1...10).map { "a:h\($0).ten.test" }.joined(separator: " ") + " -all")
        dns.txt("eleven.test", "v=spf1 " + (1...11).map { "a:h\($0).ten.test" }.joined(separator: " ") + " -all")
        for n in 1...11 { dns.a("h\(n).ten.test", "10.0.0.\(n)") }
        let spf = checker(dns)
        let ten = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@ten.test")
        XCTAssertEqual(ten.result, .fail)
        XCTAssertEqual(ten.lookups, 10)
        let eleven = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@eleven.test")
        XCTAssertEqual(eleven.result, .permerror)
        XCTAssertEqual(eleven.lookups, 11)
    }

    func testThirdVoidLookupIsPermerror() async {
        let dns = FakeDNS()
        dns.txt("two.test", "v=spf1 a:n1.two.test a:n2.two.test -all")
        dns.txt("three.test", "v=spf1 a:n1.two.test a:n2.two.test exists:n3.two.test -all")
        let spf = checker(dns)
        let two = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@two.test")
        XCTAssertEqual(two.result, .fail)
        XCTAssertEqual(two.voidLookups, 2)
        let three = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@three.test")
        XCTAssertEqual(three.result, .permerror)
    }

    func testIncludeAndRedirectLoopsEndInPermerror() async {
        let dns = FakeDNS()
        dns.txt("loop1.test", "v=spf1 include:loop2.test -all")
        dns.txt("loop2.test", "v=spf1 include:loop1.test -all")
        dns.txt("self.test", "v=spf1 redirect=self.test")
        let spf = checker(dns)
        let include = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@loop1.test")
        XCTAssertEqual(include.result, .permerror)
        let redirect = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@self.test")
        XCTAssertEqual(redirect.result, .permerror)
        XCTAssertLessThan(dns.questionCount, 30)
    }

    func testIncludeResultsAndRedirect() async {
        let dns = FakeDNS()
        dns.txt("outer.test", "v=spf1 include:inner.test include:nothing.test -all")
        dns.txt("inner.test", "v=spf1 ip4:192.0.2.1 -all")
        dns.txt("redir.test", "v=spf1 redirect=inner.test")
        dns.txt("redirnone.test", "v=spf1 redirect=nothing.test")
        let spf = checker(dns)
        let pass = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@outer.test")
        XCTAssertEqual(pass.result, .pass)
        XCTAssertEqual(pass.mechanism, "include:inner.test")
        let noRecord = await spf.check(ip: "192.0.2.2", helo: "h.test", mailFrom: "a@outer.test")
        XCTAssertEqual(noRecord.result, .permerror)   // include of a domain without SPF
        let redirected = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@redir.test")
        XCTAssertEqual(redirected.result, .pass)
        let redirectedFail = await spf.check(ip: "192.0.2.7", helo: "h.test", mailFrom: "a@redir.test")
        XCTAssertEqual(redirectedFail.result, .fail)
        let redirNone = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@redirnone.test")
        XCTAssertEqual(redirNone.result, .permerror)
    }

    func testMXAndPTRLimits() async {
        let dns = FakeDNS()
        dns.txt("mx11.test", "v=spf1 mx -all")
        for n in 1...11 { dns.mx("mx11.test", n, "m\(n).mx11.test"); dns.a("m\(n).mx11.test", "10.0.1.\(n)") }
        dns.txt("mx2.test", "v=spf1 mx/24 -all")
        dns.mx("mx2.test", 10, "m1.mx2.test")
        dns.mx("mx2.test", 20, "m2.mx2.test")
        dns.a("m1.mx2.test", "10.9.9.9")
        dns.a("m2.mx2.test", "192.0.2.200")
        dns.txt("ptr.test", "v=spf1 ptr -all")
        dns.ptr("1.2.0.192.in-addr.arpa", "other.example")
        dns.ptr("1.2.0.192.in-addr.arpa", "mail.ptr.test")
        dns.a("mail.ptr.test", "192.0.2.1")
        dns.a("other.example", "192.0.2.1")
        let spf = checker(dns)
        let tooMany = await spf.check(ip: "10.0.1.1", helo: "h.test", mailFrom: "a@mx11.test")
        XCTAssertEqual(tooMany.result, .permerror)
        let mx = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@mx2.test")
        XCTAssertEqual(mx.result, .pass)
        let ptr = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@ptr.test")
        XCTAssertEqual(ptr.result, .pass)
        let ptrFail = await spf.check(ip: "192.0.2.2", helo: "h.test", mailFrom: "a@ptr.test")
        XCTAssertEqual(ptrFail.result, .fail)
    }

    func testExplanationOnFailOnlyAndNeverChangesTheResult() async {
        let dns = FakeDNS()
        dns.txt("exp.test", "v=spf1 ip4:192.0.2.1 ?ip4:192.0.2.2 -all exp=why.exp.test")
        dns.txt("why.exp.test", "%{i} is not allowed to send for %{d} (%{c} %{r} %{t})")
        dns.txt("broken.test", "v=spf1 -all exp=why.broken.test")
        dns.txt("why.broken.test", "bad %{x} macro")
        dns.txt("timeout.test", "v=spf1 -all exp=why.timeout.test")
        dns.add("why.timeout.test", .timeout(nil))
        let spf = checker(dns)
        let fail = await spf.check(ip: "192.0.2.9", helo: "h.test", mailFrom: "a@exp.test")
        XCTAssertEqual(fail.result, .fail)
        XCTAssertEqual(fail.explanation, "192.0.2.9 is not allowed to send for exp.test (192.0.2.9 mx.receiver.test 1000)")
        let before = dns.questionCount
        let neutral = await spf.check(ip: "192.0.2.2", helo: "h.test", mailFrom: "a@exp.test")
        XCTAssertEqual(neutral.result, .neutral)
        XCTAssertNil(neutral.explanation)
        XCTAssertEqual(dns.questionCount - before, 1)   // exp= was not fetched
        let broken = await spf.check(ip: "192.0.2.9", helo: "h.test", mailFrom: "a@broken.test")
        XCTAssertEqual(broken.result, .fail)
        XCTAssertNil(broken.explanation)
        let timeout = await spf.check(ip: "192.0.2.9", helo: "h.test", mailFrom: "a@timeout.test")
        XCTAssertEqual(timeout.result, .fail)
    }

    func testDNSFailureIsTemperror() async {
        let dns = FakeDNS()
        dns.txt("tf.test", "v=spf1 a:error.host.test -all")
        let spf = checker(dns)
        let record = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@error.tf.test")
        XCTAssertEqual(record.result, .temperror)
        let mechanism = await spf.check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@tf.test")
        XCTAssertEqual(mechanism.result, .temperror)
    }

    func testOverallTimeLimit() async {
        let dns = FakeDNS()
        dns.delay = .milliseconds(120)
        dns.txt("slow.test", "v=spf1 " + (1...9).map { "a:h\($0).slow.test" }.joined(separator: " ") + " -all")
        for n in 1...9 { dns.a("h\(n).slow.test", "10.0.0.\(n)") }
        let started = ContinuousClock.now
        let outcome = await checker(dns, overall: .milliseconds(400)).check(ip: "192.0.2.1", helo: "h.test", mailFrom: "a@slow.test")
        XCTAssertEqual(outcome.result, .temperror)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(1))
    }
}
