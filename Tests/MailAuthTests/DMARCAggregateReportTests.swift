import XCTest
@testable import MailAuth

final class DMARCAggregateReportTests: XCTestCase {
    typealias T = DMARCReportTestRows

    func testGroupsBySourceDispositionAndResults() throws {
        let rows: [(row: DMARCReportRow, count: Int)] = [
            (T.row(ip: "192.0.2.1", time: 10), 1),
            (T.row(ip: "192.0.2.1", time: 20), 2),             // same group: counts add
            (T.row(ip: "192.0.2.1", dkimAligned: false, time: 30), 1),   // other results
            (T.row(ip: "198.51.100.7", disposition: "reject", dkimAligned: false, spfAligned: false, time: 40,
                   p: "reject", spfResult: "fail"), 5),
            (T.row(ip: "192.0.2.9", time: 50), 0),             // nothing to report
        ]
        let report = try XCTUnwrap(DMARCReportAggregator.report(rows: rows, metadata: T.metadata))
        XCTAssertEqual(report.records.map(\.sourceIP), ["198.51.100.7", "192.0.2.1", "192.0.2.1"])
        XCTAssertEqual(report.records.map(\.count), [5, 3, 1])
        XCTAssertEqual(report.records[0].disposition, "reject")
        XCTAssertEqual(report.records[0].dkim, "fail")
        XCTAssertEqual(report.records[2].dkim, "fail")
        XCTAssertEqual(report.messageCount, 9)
        // The newest row's policy is the one published.
        XCTAssertEqual(report.policy.p, "reject")
        XCTAssertEqual(report.policy.sp, "reject")
        XCTAssertEqual(report.policy.fo, "0")
        XCTAssertNil(DMARCReportAggregator.report(rows: [], metadata: T.metadata))
    }

    func testCountsSaturate() throws {
        let report = try XCTUnwrap(DMARCReportAggregator.report(rows: [(T.row(), Int.max), (T.row(), 5)], metadata: T.metadata))
        XCTAssertEqual(report.records.map(\.count), [Int.max])
    }
}
