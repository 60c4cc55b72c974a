import Foundation
import XCTest
@testable import MailAuth

final class DMARCReportMessageTests: XCTestCase {
    typealias T = DMARCReportTestRows

    func testMessageFollowsRFC7489Section7_2_1_1() throws {
        let report = try XCTUnwrap(DMARCReportAggregator.report(rows: [(T.row(), 2)], metadata: T.metadata))
        let xml = Array(DMARCReportXML.document(report).utf8)
        let gz = try Gzip.compress(xml)
        let message = DMARCReportMessage.build(report: report, gzippedXML: gz, from: "dmarc-noreply@mx.example.net",
                                               to: "rua@example.com", submitter: "mx.example.net", uniqueID: "abc123",
                                               messageID: "dmarc.abc123@mx.example.net", now: 200_000)
        let text = String(decoding: message.bytes, as: UTF8.self)
        XCTAssertEqual(message.filename, "mx.example.net!example.com!86400!172799!abc123.xml.gz")
        XCTAssertTrue(text.hasPrefix("From: <dmarc-noreply@mx.example.net>\r\nTo: <rua@example.com>\r\n"
                                     + "Subject: Report Domain: example.com\r\n\tSubmitter: mx.example.net\r\n"
                                     + "\tReport-ID: <86400.abc123@mx.example.net>\r\nDate: "), text)
        XCTAssertTrue(text.contains("Message-ID: <dmarc.abc123@mx.example.net>\r\nMIME-Version: 1.0\r\n"))
        XCTAssertTrue(text.contains("Content-Type: application/gzip; name=\"\(message.filename)\"\r\n"))
        XCTAssertTrue(text.contains("Content-Disposition: attachment; filename=\"\(message.filename)\"\r\n"))
        XCTAssertFalse(text.contains("\n\n"))
        // The attachment decodes back to the XML.
        let start = try XCTUnwrap(text.range(of: "filename=\"\(message.filename)\"\r\n\r\n")).upperBound
        let end = try XCTUnwrap(text.range(of: "--=_dmarc", range: start..<text.endIndex)).lowerBound
        let base64 = text[start..<end].replacingOccurrences(of: "\r\n", with: "")
        XCTAssertEqual(Gzip.decompress(Array(try XCTUnwrap(Data(base64Encoded: base64)))), xml)
        XCTAssertTrue(text[start..<end].split(separator: "\r\n").allSatisfy { $0.count <= 76 })
    }

    func testHeadersCannotBeInjected() throws {
        var row = T.row()
        row.policyDomain = "example.com\r\nBcc: victim@example.org"
        let report = try XCTUnwrap(DMARCReportAggregator.report(rows: [(row, 1)], metadata: T.metadata))
        let message = DMARCReportMessage.build(report: report, gzippedXML: [1, 2, 3], from: "a@b.example",
                                               to: "c@d.example\r\nX: y", submitter: "mx/../x", uniqueID: "a/b!c",
                                               messageID: "m@x", now: 0)
        let text = String(decoding: message.bytes, as: UTF8.self)
        XCTAssertFalse(text.contains("\r\nBcc:"))
        XCTAssertFalse(text.contains("\r\nX: y"))
        XCTAssertEqual(message.filename, "mx..x!example.combccvictimexample.org!86400!172799!abc.xml.gz")
    }
}
