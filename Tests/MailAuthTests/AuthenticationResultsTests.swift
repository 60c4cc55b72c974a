import XCTest
@testable import MailAuth

final class AuthenticationResultsTests: XCTestCase {
    func testResinfoQuotesWhatIsNotATokenAndKeepsAddresses() throws {
        XCTAssertEqual(try AuthenticationResults.resinfo(method: "spf", result: "pass",
                                                         properties: [("smtp.mailfrom", "user@example.net")]),
                       "spf=pass smtp.mailfrom=user@example.net")
        XCTAssertEqual(try AuthenticationResults.resinfo(method: "dkim", result: "fail", reason: "body hash did not verify",
                                                         properties: [("header.d", "example.com"), ("header.b", "ab/c+12=")]),
                       "dkim=fail reason=\"body hash did not verify\" header.d=example.com header.b=\"ab/c+12=\"")
        XCTAssertEqual(try AuthenticationResults.resinfo(method: "DMARC", result: "None",
                                                         properties: [("header.from", "a \"b\" c")]),
                       "dmarc=none header.from=\"a \\\"b\\\" c\"")
    }

    func testResinfoRefusesWhatWouldBreakTheField() {
        XCTAssertThrowsError(try AuthenticationResults.resinfo(method: "spf;x", result: "pass"))
        XCTAssertThrowsError(try AuthenticationResults.resinfo(method: "spf", result: "pass fail"))
        XCTAssertThrowsError(try AuthenticationResults.resinfo(method: "spf", result: "pass", properties: [("mailfrom", "x")]))
        XCTAssertThrowsError(try AuthenticationResults.resinfo(method: "spf", result: "pass", reason: "a\r\nInjected: yes"))
    }

    func testFieldFoldsOneResultPerLine() {
        XCTAssertEqual(AuthenticationResults.field(authservID: "mx.example.org", results: ["spf=pass", "dkim=none"]),
                       "Authentication-Results: mx.example.org;\r\n\tspf=pass;\r\n\tdkim=none\r\n")
        XCTAssertEqual(AuthenticationResults.field(authservID: "mx.example.org", results: []),
                       "Authentication-Results: mx.example.org; none\r\n")
    }

    func testReadsTheAuthservIDPastCommentsAndVersions() {
        XCTAssertEqual(AuthenticationResults.authservID(ofValue: Array(" MX.Example.org; spf=pass".utf8)), "mx.example.org")
        XCTAssertEqual(AuthenticationResults.authservID(ofValue: Array(" (forged (nested)) mx.example.org 1; none".utf8)),
                       "mx.example.org")
        XCTAssertEqual(AuthenticationResults.authservID(ofValue: Array("\r\n\tmx.example.org;\r\n\tdkim=pass".utf8)), "mx.example.org")
        XCTAssertNil(AuthenticationResults.authservID(ofValue: Array("   ".utf8)))
    }

    func testRemovesOnlyFieldsClaimingOurID() {
        let message = Array(("Authentication-Results: mx.example.org;\r\n\tspf=pass\r\n"
                             + "Subject: hi\r\n"
                             + "authentication-results: (x) MX.EXAMPLE.ORG; dkim=pass\r\n"
                             + "Authentication-Results: other.example; spf=fail\r\n"
                             + "\r\n"
                             + "Authentication-Results: mx.example.org; body line\r\n").utf8)
        let cleaned = AuthenticationResults.removingFields(claiming: "mx.example.org", from: message)
        XCTAssertEqual(cleaned.map { String(decoding: $0, as: UTF8.self) },
                       "Subject: hi\r\nAuthentication-Results: other.example; spf=fail\r\n\r\n"
                       + "Authentication-Results: mx.example.org; body line\r\n")
        XCTAssertNil(AuthenticationResults.removingFields(claiming: "mx.example.org",
                                                          from: Array("Subject: x\r\n\r\nbody".utf8)))
    }
}
