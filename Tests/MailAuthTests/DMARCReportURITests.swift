import XCTest
@testable import MailAuth

final class DMARCReportURITests: XCTestCase {
    func testParsesMailtoWithAndWithoutSizeLimit() throws {
        XCTAssertEqual(try DMARCReportURI(parsing: "mailto:dmarc@example.com"),
                       DMARCReportURI(address: "dmarc@example.com"))
        XCTAssertEqual(try DMARCReportURI(parsing: " mailto:d@example.com!10m ").maxBytes, 10 << 20)
        XCTAssertEqual(try DMARCReportURI(parsing: "mailto:d@example.com!50k").maxBytes, 50 << 10)
        XCTAssertEqual(try DMARCReportURI(parsing: "mailto:d@example.com!1g").maxBytes, 1 << 30)
        XCTAssertEqual(try DMARCReportURI(parsing: "mailto:d@example.com!2t").maxBytes, 2 << 40)
        XCTAssertEqual(try DMARCReportURI(parsing: "MAILTO:d@example.com!900").maxBytes, 900)
        XCTAssertEqual(try DMARCReportURI(parsing: "mailto:d%2Br@example.com?subject=x").address, "d+r@example.com")
        XCTAssertEqual(try DMARCReportURI(parsing: "mailto:d@Sub.Example.COM").domain, "sub.example.com")
    }

    func testRefusesOtherSchemesAndBadInput() {
        XCTAssertThrowsError(try DMARCReportURI(parsing: "https://example.com/report")) {
            XCTAssertEqual($0 as? DMARCReportURI.ParseError, .unsupportedScheme("https"))
        }
        XCTAssertThrowsError(try DMARCReportURI(parsing: ""))
        XCTAssertThrowsError(try DMARCReportURI(parsing: "mailto:"))
        XCTAssertThrowsError(try DMARCReportURI(parsing: "mailto:nobody"))
        XCTAssertThrowsError(try DMARCReportURI(parsing: "mailto:a@b@example.com"))
        XCTAssertThrowsError(try DMARCReportURI(parsing: "mailto:a@example.com!"))
        XCTAssertThrowsError(try DMARCReportURI(parsing: "mailto:a@example.com!10x"))
        XCTAssertThrowsError(try DMARCReportURI(parsing: "mailto:a@example.com!k"))
        XCTAssertThrowsError(try DMARCReportURI(parsing: "mailto:a%0d%0aBcc:@example.com"))
        XCTAssertThrowsError(try DMARCReportURI(parsing: "mailto:a%zz@example.com"))
        XCTAssertThrowsError(try DMARCReportURI(parsing: "mailto:" + String(repeating: "a", count: 600) + "@example.com")) {
            XCTAssertEqual($0 as? DMARCReportURI.ParseError, .tooLong)
        }
        // Huge sizes saturate instead of overflowing.
        XCTAssertEqual(try DMARCReportURI(parsing: "mailto:a@example.com!999999999999999t").maxBytes, UInt64.max)
        XCTAssertThrowsError(try DMARCReportURI(parsing: "mailto:a@example.com!9999999999999999"))
    }

    func testListKeepsSupportedDistinctDestinationsUpToTheCap() {
        let list = DMARCReportURI.parseList("mailto:a@example.com, https://x.example/, mailto:A@example.com!1m,mailto:b@example.org,,"
                                            + "mailto:c@example.org,mailto:d@example.org,mailto:e@example.org")
        XCTAssertEqual(list.map(\.address), ["a@example.com", "b@example.org", "c@example.org", "d@example.org"])
        XCTAssertEqual(DMARCReportURI.parseList(String(repeating: "mailto:a@example.com,", count: 400)), [])
    }
}
