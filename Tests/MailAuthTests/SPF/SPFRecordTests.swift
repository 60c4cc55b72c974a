import XCTest
@testable import MailAuth

final class SPFRecordTests: XCTestCase {
    func testParsesEveryMechanismWithQualifiersAndDualCIDR() throws {
        let record = try SPFRecord(parsing: "v=spf1 +all -include:_spf.example.com ~a ?a:mail.example.com/24//64 mx/28 mx:%{d}//96 ptr ptr:example.org ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{ir}.bl.example.net")
        XCTAssertEqual(record.directives.map(\.qualifier), [.pass, .fail, .softfail, .neutral, .pass, .pass, .pass, .pass, .pass, .pass, .pass])
        XCTAssertEqual(record.directives[3].mechanism, .a(try SPFMacroString(parsing: "mail.example.com"), v4Prefix: 24, v6Prefix: 64))
        XCTAssertEqual(record.directives[4].mechanism, .mx(nil, v4Prefix: 28, v6Prefix: 128))
        XCTAssertEqual(record.directives[5].mechanism, .mx(try SPFMacroString(parsing: "%{d}"), v4Prefix: 32, v6Prefix: 96))
        XCTAssertEqual(record.directives[8].mechanism, .ip4([192, 0, 2, 0], prefix: 24))
        XCTAssertEqual(record.directives[3].text, "a:mail.example.com/24//64")
        guard case .ip6(let bytes, 32) = record.directives[9].mechanism else { return XCTFail() }
        XCTAssertEqual(Array(bytes.prefix(4)), [0x20, 0x01, 0x0d, 0xb8])
    }

    func testModifiersRedirectExpAndUnknown() throws {
        let record = try SPFRecord(parsing: "v=spf1 mx redirect=_spf.example.com exp=explain._spf.%{d} moo.cow-far_out=man:dog/cat")
        XCTAssertEqual(record.redirect?.text, "_spf.example.com")
        XCTAssertEqual(record.explanation?.text, "explain._spf.%{d}")
        XCTAssertEqual(record.otherModifiers.map(\.name), ["moo.cow-far_out"])
        XCTAssertThrowsError(try SPFRecord(parsing: "v=spf1 redirect=a.example.com redirect=b.example.com"))
        XCTAssertThrowsError(try SPFRecord(parsing: "v=spf1 exp=a.example.com exp=b.example.com"))
        XCTAssertThrowsError(try SPFRecord(parsing: "v=spf1 redirect="))
        XCTAssertThrowsError(try SPFRecord(parsing: "v=spf1 foo=%{x}"))   // unknown modifiers are macro-checked
    }

    func testSyntaxErrorsAreRefused() {
        for bad in ["v=spf1 a:museum", "v=spf1 a:foo.1", "v=spf1 ip4:1.2.3.4/33", "v=spf1 ip4:1.2.03.4",
                    "v=spf1 ip6:::1/129", "v=spf1 ip4:1.2.3.4//32", "v=spf1 all:foo", "v=spf1 include",
                    "v=spf1 exists", "v=spf1 foo:bar", "v=spf1 a/33", "v=spf1 a//129", "v=spf1 a:",
                    "v=spf1 -all\t", "v=spf1 a:ex\u{e9}mple.com", "v=spf1 ptr/24", "v=spf1 mx/024",
                    "v=spf1 a:%{q}.example.com", "v=spf1 a:%{c}.example.com", "v=spf1 exists:%{i0}.example.com"] {
            XCTAssertThrowsError(try SPFRecord(parsing: bad), bad)
        }
    }

    func testRecordSelection() {
        XCTAssertTrue(SPFRecord.isSPF("v=spf1"))
        XCTAssertTrue(SPFRecord.isSPF("V=SPF1 -all"))
        XCTAssertFalse(SPFRecord.isSPF("v=spf10 -all"))
        XCTAssertFalse(SPFRecord.isSPF("v=spf1-all"))
        XCTAssertFalse(SPFRecord.isSPF("spf2.0/pra -all"))
    }

    func testTermsSeparatedBySeveralSpacesAndTrailingSpace() throws {
        XCTAssertEqual(try SPFRecord(parsing: "v=spf1  a   -all ").directives.count, 2)
    }
}
