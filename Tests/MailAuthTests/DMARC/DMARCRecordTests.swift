import XCTest
@testable import MailAuth

final class DMARCRecordTests: XCTestCase {
    func testParsesEveryTag() throws {
        let record = try DMARCRecord(parsing: "v=DMARC1; p=Reject; sp=quarantine; adkim=s; aspf=r; pct=25; rua=mailto:a@example.com!10m, mailto:b@example.net; ruf=mailto:f@example.com; fo=1:d; rf=afrf; ri=3600; future=ignored")
        XCTAssertEqual(record.p, .reject)
        XCTAssertEqual(record.sp, .quarantine)
        XCTAssertEqual(record.adkim, .strict)
        XCTAssertEqual(record.aspf, .relaxed)
        XCTAssertEqual(record.pct, 25)
        XCTAssertEqual(record.rua, ["mailto:a@example.com!10m", "mailto:b@example.net"])
        XCTAssertEqual(record.ruf, ["mailto:f@example.com"])
        XCTAssertEqual(record.fo, "1:d")
        XCTAssertEqual(record.ri, 3600)
        XCTAssertEqual(record.ignoredTags, [])
    }

    func testDefaults() throws {
        let record = try DMARCRecord(parsing: "v=DMARC1; p=none")
        XCTAssertEqual(record.p, .none)
        XCTAssertNil(record.sp)
        XCTAssertEqual(record.adkim, .relaxed)
        XCTAssertEqual(record.aspf, .relaxed)
        XCTAssertEqual(record.pct, 100)
        XCTAssertEqual(record.fo, "0")
        XCTAssertEqual(record.rf, "afrf")
        XCTAssertEqual(record.ri, 86400)
    }

    func testVersionMustComeFirstAndExactly() {
        XCTAssertThrowsError(try DMARCRecord(parsing: "p=reject; v=DMARC1")) { XCTAssertEqual($0 as? DMARCRecord.ParseError, .notDMARC) }
        XCTAssertThrowsError(try DMARCRecord(parsing: "v=dmarc1; p=reject")) { XCTAssertEqual($0 as? DMARCRecord.ParseError, .notDMARC) }
        XCTAssertThrowsError(try DMARCRecord(parsing: "v=DMARC10; p=reject"))
        XCTAssertNoThrow(try DMARCRecord(parsing: "v = DMARC1 ; p = reject"))
    }

    func testMissingOrInvalidPolicyWithRuaIsNoneElseNoRecord() throws {
        let implied = try DMARCRecord(parsing: "v=DMARC1; rua=mailto:r@example.com")
        XCTAssertEqual(implied.p, .none)
        XCTAssertTrue(implied.policyImplied)
        let invalidSP = try DMARCRecord(parsing: "v=DMARC1; p=reject; sp=bogus; rua=mailto:r@example.com")
        XCTAssertEqual(invalidSP.p, .none)
        XCTAssertNil(invalidSP.sp)
        XCTAssertThrowsError(try DMARCRecord(parsing: "v=DMARC1; p=bogus")) { XCTAssertEqual($0 as? DMARCRecord.ParseError, .noPolicy) }
        XCTAssertThrowsError(try DMARCRecord(parsing: "v=DMARC1; rua=not a uri")) { XCTAssertEqual($0 as? DMARCRecord.ParseError, .noPolicy) }
        XCTAssertThrowsError(try DMARCRecord(parsing: "v=DMARC1; p=reject; sp=bogus"))
    }

    func testInvalidOptionalValuesFallBackToDefaults() throws {
        let record = try DMARCRecord(parsing: "v=DMARC1; p=quarantine; pct=101; adkim=x; aspf=strict; ri=soon; fo=9")
        XCTAssertEqual(record.pct, 100)
        XCTAssertEqual(record.adkim, .relaxed)
        XCTAssertEqual(record.aspf, .relaxed)
        XCTAssertEqual(record.ri, 86400)
        XCTAssertEqual(record.fo, "0")
        XCTAssertEqual(Set(record.ignoredTags), ["pct", "adkim", "aspf", "ri", "fo"])
        XCTAssertEqual(try DMARCRecord(parsing: "v=DMARC1; p=reject; pct=0").pct, 0)
    }

    func testMalformedTagListIsAnError() {
        XCTAssertThrowsError(try DMARCRecord(parsing: "v=DMARC1; p=reject; p=none")) { error in
            guard case .malformed = error as? DMARCRecord.ParseError else { return XCTFail("\(error)") }
        }
    }
}
