import XCTest
@testable import MailAuth

/// The checkPublicSuffix cases of the PSL project's tests/test_psl.txt (registrable
/// domain, nil for a public suffix or an invalid name), run against Debian's list.
final class PublicSuffixListTests: XCTestCase {
    static let list: PublicSuffixList? = try? PublicSuffixList.load()

    func check(_ domain: String, _ expected: String?, file: StaticString = #filePath, line: UInt = #line) throws {
        let list = try XCTUnwrap(Self.list, "Debian's publicsuffix package is required: \(PublicSuffixList.defaultPath)")
        XCTAssertEqual(list.registrableDomain(domain), expected, domain, file: file, line: line)
    }

    func testMixedCaseLeadingDotAndUnlistedTLD() throws {
        try check("COM", nil)
        try check("example.COM", "example.com")
        try check("WwW.example.COM", "example.com")
        try check(".com", nil)
        try check(".example", nil)
        try check(".example.com", nil)
        try check(".example.example", nil)
        try check("example", nil)
        try check("example.example", "example.example")
        try check("b.example.example", "example.example")
        try check("a.b.example.example", "example.example")
    }

    func testTLDsWithOneAndTwoLevelRules() throws {
        try check("biz", nil)
        try check("domain.biz", "domain.biz")
        try check("b.domain.biz", "domain.biz")
        try check("a.b.domain.biz", "domain.biz")
        try check("com", nil)
        try check("example.com", "example.com")
        try check("b.example.com", "example.com")
        try check("a.b.example.com", "example.com")
        try check("uk.com", nil)
        try check("example.uk.com", "example.uk.com")
        try check("b.example.uk.com", "example.uk.com")
        try check("a.b.example.uk.com", "example.uk.com")
        try check("test.ac", "test.ac")
    }

    func testWildcardsAndExceptions() throws {
        try check("mm", nil)
        try check("c.mm", nil)
        try check("b.c.mm", "b.c.mm")
        try check("a.b.c.mm", "b.c.mm")
        try check("jp", nil)
        try check("test.jp", "test.jp")
        try check("www.test.jp", "test.jp")
        try check("ac.jp", nil)
        try check("test.ac.jp", "test.ac.jp")
        try check("www.test.ac.jp", "test.ac.jp")
        try check("kyoto.jp", nil)
        try check("test.kyoto.jp", "test.kyoto.jp")
        try check("ide.kyoto.jp", nil)
        try check("b.ide.kyoto.jp", "b.ide.kyoto.jp")
        try check("a.b.ide.kyoto.jp", "b.ide.kyoto.jp")
        try check("c.kobe.jp", nil)
        try check("b.c.kobe.jp", "b.c.kobe.jp")
        try check("a.b.c.kobe.jp", "b.c.kobe.jp")
        try check("city.kobe.jp", "city.kobe.jp")
        try check("www.city.kobe.jp", "city.kobe.jp")
        try check("ck", nil)
        try check("test.ck", nil)
        try check("b.test.ck", "b.test.ck")
        try check("a.b.test.ck", "b.test.ck")
        try check("www.ck", "www.ck")
        try check("www.www.ck", "www.ck")
    }

    func testUSK12() throws {
        try check("us", nil)
        try check("test.us", "test.us")
        try check("www.test.us", "test.us")
        try check("ak.us", nil)
        try check("test.ak.us", "test.ak.us")
        try check("www.test.ak.us", "test.ak.us")
        try check("k12.ak.us", nil)
        try check("test.k12.ak.us", "test.k12.ak.us")
        try check("www.test.k12.ak.us", "test.k12.ak.us")
    }

    func testIDNLabelsInUnicodeAndPunycode() throws {
        try check("食狮.com.cn", "食狮.com.cn")
        try check("食狮.公司.cn", "食狮.公司.cn")
        try check("www.食狮.公司.cn", "食狮.公司.cn")
        try check("shishi.公司.cn", "shishi.公司.cn")
        try check("公司.cn", nil)
        try check("食狮.中国", "食狮.中国")
        try check("www.食狮.中国", "食狮.中国")
        try check("shishi.中国", "shishi.中国")
        try check("中国", nil)
        try check("xn--85x722f.com.cn", "xn--85x722f.com.cn")
        try check("xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn")
        try check("www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn")
        try check("shishi.xn--55qx5d.cn", "shishi.xn--55qx5d.cn")
        try check("xn--55qx5d.cn", nil)
        try check("xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s")
        try check("www.xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s")
        try check("shishi.xn--fiqs8s", "shishi.xn--fiqs8s")
        try check("xn--fiqs8s", nil)
    }

    func testOrganizationalDomainToleratesTrailingDotAndPrivateSection() throws {
        let list = try XCTUnwrap(Self.list)
        XCTAssertEqual(list.organizationalDomain("Mail.Example.CO.UK."), "example.co.uk")
        XCTAssertEqual(list.organizationalDomain("co.uk"), "co.uk")
        XCTAssertEqual(list.organizationalDomain("foo.bar.github.io"), "bar.github.io")   // private section
        XCTAssertGreaterThan(list.ruleCount, 5000)
    }

    func testInlineRulesAndFallback() {
        let list = PublicSuffixList(rules: """
        // ===BEGIN ICANN DOMAINS===
        com
        *.ck
        !www.ck
        公司.cn
        cn
        // ===END ICANN DOMAINS===
        """)
        XCTAssertEqual(list.organizationalDomain("a.b.example.com"), "example.com")
        XCTAssertEqual(list.organizationalDomain("a.b.test.ck"), "b.test.ck")
        XCTAssertEqual(list.organizationalDomain("a.www.ck"), "www.ck")
        XCTAssertEqual(list.organizationalDomain("a.xn--85x722f.xn--55qx5d.cn"), "xn--85x722f.xn--55qx5d.cn")
        XCTAssertEqual(PublicSuffixList.fallback.organizationalDomain("a.b.example.co.uk"), "co.uk")
        XCTAssertNil(list.registrableDomain("a..com"))
    }

    func testLoadingTheFileIsCheapEnoughForReloads() throws {
        let started = ContinuousClock.now
        let list = try PublicSuffixList.load()
        let elapsed = ContinuousClock.now - started
        print("public suffix list: \(list.ruleCount) rules loaded in \(elapsed)")
        XCTAssertLessThan(elapsed, .seconds(5))
    }

    func testMissingFileIsAClearError() {
        XCTAssertThrowsError(try PublicSuffixList.load(path: "/nonexistent/psl.dat")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/psl.dat"))
        }
    }

    func testPunycode() {
        XCTAssertEqual(Punycode.aLabel("公司"), "xn--55qx5d")
        XCTAssertEqual(Punycode.aLabel("中国"), "xn--fiqs8s")
        XCTAssertEqual(Punycode.aLabel("bücher"), "xn--bcher-kva")
        XCTAssertEqual(Punycode.aLabel("example"), "example")
    }
}
