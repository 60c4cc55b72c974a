import XCTest
@testable import MailAuth

final class SPFMacroTests: XCTestCase {
    let v4 = SPFMacroValues(sender: "strong-bad@email.example.com", localPart: "strong-bad", senderDomain: "email.example.com",
                            domain: "email.example.com", client: SPFChecker.text(of: .init("192.0.2.3")!),
                            helo: "mx.example.org", receivingHost: "mx.example.net", timestamp: 1_000_000_000,
                            validatedName: "mx.example.org")

    func expand(_ text: String, explanation: Bool = false, _ values: SPFMacroValues? = nil) throws -> String {
        try SPFMacroString(parsing: Substring(text), explanation: explanation).expand(values ?? v4)
    }

    // RFC 7208 §7.4 examples.
    func testRFCExamples() throws {
        XCTAssertEqual(try expand("%{s}"), "strong-bad@email.example.com")
        XCTAssertEqual(try expand("%{o}"), "email.example.com")
        XCTAssertEqual(try expand("%{d}"), "email.example.com")
        XCTAssertEqual(try expand("%{d4}"), "email.example.com")
        XCTAssertEqual(try expand("%{d3}"), "email.example.com")
        XCTAssertEqual(try expand("%{d2}"), "example.com")
        XCTAssertEqual(try expand("%{d1}"), "com")
        XCTAssertEqual(try expand("%{dr}"), "com.example.email")
        XCTAssertEqual(try expand("%{d2r}"), "example.email")
        XCTAssertEqual(try expand("%{l}"), "strong-bad")
        XCTAssertEqual(try expand("%{l-}"), "strong.bad")
        XCTAssertEqual(try expand("%{lr}"), "strong-bad")
        XCTAssertEqual(try expand("%{lr-}"), "bad.strong")
        XCTAssertEqual(try expand("%{l1r-}"), "strong")
        XCTAssertEqual(try expand("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com")
        XCTAssertEqual(try expand("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com")
        XCTAssertEqual(try expand("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"), "bad.strong.lp.3.2.0.192.in-addr._spf.example.com")
        XCTAssertEqual(try expand("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"), "3.2.0.192.in-addr.strong.lp._spf.example.com")
        XCTAssertEqual(try expand("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net")
        XCTAssertEqual(try expand("%{p2}.trusted-domains.example.net"), "example.org.trusted-domains.example.net")
    }

    func testIPv6AndExplanationOnlyLetters() throws {
        var values = v4
        values.client = SPFChecker.text(of: .init("2001:db8::cb01")!)
        XCTAssertEqual(try expand("%{ir}.%{v}._spf.%{d2}", values),
                       "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com")
        XCTAssertEqual(try expand("%{c} %{r} %{t}", explanation: true, values), "2001:db8::cb01 mx.example.net 1000000000")
        XCTAssertThrowsError(try expand("%{c}"))
        XCTAssertThrowsError(try expand("%{r}.example.com"))
        XCTAssertThrowsError(try expand("%{t}"))
    }

    func testEscapesAndURLEncoding() throws {
        XCTAssertEqual(try expand("%%%_%-"), "% %20")
        XCTAssertEqual(try expand("%{L}"), "strong-bad")
        XCTAssertEqual(try expand("%{S}"), "strong-bad%40email.example.com")
        var values = v4
        values.localPart = "a b/c"
        XCTAssertEqual(try expand("%{L}", values), "a%20b%2Fc")
        XCTAssertEqual(try expand("%{Lr/}", values), "c.a%20b")
    }

    func testInvalidMacrosAreSyntaxErrors() {
        for bad in ["%", "%x", "%{", "%{d", "%{x}", "%{d0}", "%{d2rr}", "%{d!}", "a b"] {
            XCTAssertThrowsError(try expand(bad), bad)
        }
        XCTAssertNoThrow(try expand("a b %{d}", explanation: true))
    }

    func testExpansionIsBounded() throws {
        var values = v4
        values.localPart = String(repeating: "x", count: 3000)
        let text = try expand("%{l}%{l}%{l}%{l}", values)
        XCTAssertEqual(text.utf8.count, SPFMacroString.maxExpansion)
        XCTAssertEqual(try expand("%{d99999999999999999999}"), "email.example.com")
    }

    func testDomainEnd() throws {
        XCTAssertTrue(try SPFMacroString(parsing: "foo.example.com").hasValidDomainEnd)
        XCTAssertTrue(try SPFMacroString(parsing: "foo.example.com.").hasValidDomainEnd)
        XCTAssertTrue(try SPFMacroString(parsing: "%{d}").hasValidDomainEnd)
        XCTAssertTrue(try SPFMacroString(parsing: "%{i}.x-1").hasValidDomainEnd)
        XCTAssertFalse(try SPFMacroString(parsing: "museum").hasValidDomainEnd)
        XCTAssertFalse(try SPFMacroString(parsing: "foo.123").hasValidDomainEnd)
        XCTAssertFalse(try SPFMacroString(parsing: "foo.-bar").hasValidDomainEnd)
    }
}
