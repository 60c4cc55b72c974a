import Foundation
import XCTest
@testable import MailAuth

final class DMARCReportXMLTests: XCTestCase {
    typealias T = DMARCReportTestRows

    static var schemaPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/rfc7489-aggregate-report.xsd").path
    }

    /// xmllint's verdict on `xml` against the RFC 7489 schema (libxml2-utils).
    func validate(_ xml: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dmarc-\(UUID().uuidString).xml").path
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        process.arguments = ["--noout", "--schema", Self.schemaPath, path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, output, file: file, line: line)
    }

    func testReportValidatesAgainstTheSchema() throws {
        let rows: [(row: DMARCReportRow, count: Int)] = [
            (T.row(), 3),
            (T.row(ip: "2001:db8::7", disposition: "quarantine", dkimAligned: false, spfAligned: false, p: "quarantine",
                   dkim: [], spfResult: "softfail", reasons: ["sampled_out", "something-new"]), 1),
            (T.row(ip: "192.0.2.2", dkim: [.init(domain: "a.example", selector: nil, result: "pass"),
                                           .init(domain: "b.example", selector: "x", result: "weird")],
                   spfResult: "unknown"), 2),
        ]
        var report = try XCTUnwrap(DMARCReportAggregator.report(rows: rows, metadata: T.metadata))
        report.records[0].envelopeFrom = nil
        let xml = DMARCReportXML.document(report)
        try validate(xml)
        XCTAssertTrue(xml.contains("<source_ip>2001:db8:0:0:0:0:0:7</source_ip>"), xml)
        XCTAssertTrue(xml.contains("<type>other</type>"))
        XCTAssertTrue(xml.contains("<result>neutral</result>"))
        XCTAssertTrue(xml.contains("<extra_contact_info>https://example.net/dmarc</extra_contact_info>"))
        XCTAssertTrue(xml.contains("<begin>86400</begin>"))
    }

    func testEveryTextIsEscaped() throws {
        var row = T.row(headerFrom: "evil<b>&\"'.example\u{01}\u{FFFE}")
        row.policyDomain = "x</domain><p>reject</p>"
        var metadata = T.metadata
        metadata.orgName = "A & B <org>"
        let report = try XCTUnwrap(DMARCReportAggregator.report(rows: [(row, 1)], metadata: metadata))
        let xml = DMARCReportXML.document(report)
        try validate(xml)
        XCTAssertTrue(xml.contains("<header_from>evil&lt;b&gt;&amp;&quot;&apos;.example</header_from>"), xml)
        XCTAssertTrue(xml.contains("<org_name>A &amp; B &lt;org&gt;</org_name>"))
        XCTAssertTrue(xml.contains("<domain>x&lt;/domain&gt;&lt;p&gt;reject&lt;/p&gt;</domain>"))
        XCTAssertEqual(DMARCReportXML.escaped(String(repeating: "&", count: 1000)).utf8.count, 1020)
    }
}
