import MailCore
import XCTest
@testable import MailAuth

/// Canned TXT answers by name; anything else is NXDOMAIN.
struct CannedTXT: DNSLookupService {
    var answers: [String: DNSLookupResult]
    func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        completion(type == .txt ? answers[name] ?? .nxdomain : .nxdomain)
    }
}

final class DMARCReportAuthorizationTests: XCTestCase {
    let checker = DMARCReportAuthorization(dns: CannedTXT(answers: [
        "example.com._report._dmarc.reports.example.net": .records([.text("v=DMARC1")], ttl: 60),
        "example.com._report._dmarc.semi.example.org": .records([.text("v = DMARC1 ; rua=mailto:x@y.example")], ttl: 60),
        "example.com._report._dmarc.wrong.example.org": .records([.text("v=DMARC10"), .text("hello")], ttl: 60),
        "example.com._report._dmarc.down.example.org": .failure(.servfail),
    ]))

    func testSameOrganizationNeedsNoRecord() async throws {
        let outcome = await checker.check(policyDomain: "example.com", destination: try DMARCReportURI(parsing: "mailto:d@reports.Example.COM"))
        XCTAssertEqual(outcome, .sameOrganization)
        let sub = await checker.check(policyDomain: "mail.example.com.", destination: try DMARCReportURI(parsing: "mailto:d@example.com"))
        XCTAssertEqual(sub, .sameOrganization)
    }

    func testExternalDestinationsNeedTheirConsentRecord() async throws {
        func outcome(_ uri: String) async throws -> DMARCReportAuthorization.Outcome {
            await checker.check(policyDomain: "example.com", destination: try DMARCReportURI(parsing: uri))
        }
        let authorized = try await outcome("mailto:d@reports.example.net")
        XCTAssertEqual(authorized, .authorized)
        let spaced = try await outcome("mailto:d@semi.example.org")
        XCTAssertEqual(spaced, .authorized)
        let wrong = try await outcome("mailto:d@wrong.example.org")
        XCTAssertEqual(wrong, .notAuthorized)
        let missing = try await outcome("mailto:d@elsewhere.example.org")
        XCTAssertEqual(missing, .notAuthorized)
        let down = try await outcome("mailto:d@down.example.org")
        XCTAssertEqual(down, .temporaryFailure)
    }

    func testOrganizationalDomainFallback() {
        XCTAssertEqual(DMARCReportAuthorization.lastTwoLabels("A.B.Example.com."), "example.com")
        XCTAssertEqual(DMARCReportAuthorization.lastTwoLabels("com"), "com")
        XCTAssertEqual(DMARCReportAuthorization.authorizationName(policyDomain: "Example.com.", destinationHost: "r.example.net"),
                       "example.com._report._dmarc.r.example.net")
    }
}
