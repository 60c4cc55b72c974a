import Foundation
import Logging
import MailAuth
import MailCore
import MailStore
import Testing
@testable import Gateway

/// TXT answers by name; everything else NXDOMAIN.
struct ReportAuthorizationRecords: DNSLookupService {
    var texts: [String: String]
    func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        if type == .txt, let text = texts[name] { completion(.records([.text(text)], ttl: 60)) } else { completion(.nxdomain) }
    }
}

@Suite struct DMARCReporterTests {
    static func row(_ ip: String, rua: [String], time: Double, domain: String = "example.com") -> DMARCReportRow {
        DMARCReportRow(policyDomain: domain, ruaURIs: rua, p: "reject", sourceIP: ip, headerFrom: domain,
                       envelopeFrom: domain, disposition: "reject", dkimAligned: false, spfAligned: false,
                       dkim: [], spf: .init(domain: domain, scope: "mfrom", result: "fail"), time: time)
    }

    func withHost(_ body: (LMDBStore, StorePolicyHost, GatewayConfiguration) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mg-dmarc-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LMDBStore(directory: directory, durable: false)
        defer { store.close() }
        var configuration = GatewayConfiguration.defaults()
        configuration.hostname = "mx.example.net"
        let host = StorePolicyHost(store: store, logger: Logger(label: "test"), dmarc: configuration.dmarc)
        try await body(store, host, configuration)
    }

    /// Waits for the written-behind rows.
    func waitForRows(_ store: LMDBStore, messages: UInt64) async throws {
        for _ in 0..<200 {
            if try store.dmarcReportDomains().reduce(0, { $0 + $1.messages }) >= messages { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("rows never arrived")
    }

    @Test func recordsThroughThePolicyHostAndQueuesOneReportPerDestination() async throws {
        try await withHost { store, host, configuration in
            let day = 1_700_000_000.0 - 1_700_000_000.0.truncatingRemainder(dividingBy: 86_400)
            let recorder = try #require(host.dmarcReports)
            let rua = ["mailto:dmarc@example.com", "mailto:agg@reports.example.org!100m", "mailto:nope@other.example!10m",
                       "mailto:small@example.com!1k"]
            for i in 0..<5 { recorder.record(Self.row("192.0.2.\(i % 2)", rua: rua, time: day + Double(i))) }
            recorder.record(Self.row("not an ip", rua: rua, time: day))                    // not kept
            recorder.record(Self.row("192.0.2.9", rua: ["https://x.example/"], time: day))  // no usable rua
            try await waitForRows(store, messages: 5)
            let dns = ReportAuthorizationRecords(texts: ["example.com._report._dmarc.reports.example.org": "v=DMARC1"])
            let reporter = DMARCReporter(store: store, dns: dns, configuration: configuration, logger: Logger(label: "test"))
            // Nothing before the period ends.
            #expect(await reporter.run(now: day + 100).isEmpty)
            let outcomes = await reporter.run(now: day + 86_400 + 5)
            let outcome = try #require(outcomes.first)
            #expect(outcomes.count == 1)
            #expect(outcome.records == 2 && outcome.summary.messages == 5)
            #expect(outcome.destinations.map(\.address) == ["dmarc@example.com", "agg@reports.example.org",
                                                            "nope@other.example", "small@example.com"])
            guard case .queued(let id?, _) = outcome.destinations[0].outcome else {
                Issue.record("\(outcome.destinations[0].outcome)"); return
            }
            guard case .queued = outcome.destinations[1].outcome else { Issue.record("\(outcome.destinations[1])"); return }
            #expect(outcome.destinations[2].outcome == .notAuthorized)
            guard case .tooLarge = outcome.destinations[3].outcome else { Issue.record("\(outcome.destinations[3])"); return }
            // Reported rows are gone.
            #expect(try store.dmarcReportDomains().isEmpty)
            // The queued message carries the gzipped XML.
            let entry = try #require(store.queueEntry(id))
            #expect(entry.sender == "dmarc-noreply@mx.example.net")
            #expect(entry.recipients.map(\.address) == ["dmarc@example.com"])
            let text = String(decoding: try store.messageBytes(blobID: entry.blobID), as: UTF8.self)
            #expect(text.contains("Subject: Report Domain: example.com\r\n\tSubmitter: mx.example.net\r\n"))
            let name = "mx.example.net!example.com!\(Int(day))!\(Int(day) + 86_399)!"
            #expect(text.contains("filename=\"\(name)"))
            let start = try #require(text.range(of: ".xml.gz\"\r\n\r\n")).upperBound
            let end = try #require(text.range(of: "\r\n--", range: start..<text.endIndex)).lowerBound
            let data = try #require(Data(base64Encoded: text[start..<end].replacingOccurrences(of: "\r\n", with: "")))
            let xml = String(decoding: try #require(Gzip.decompress(Array(data))), as: UTF8.self)
            #expect(xml.contains("<source_ip>192.0.2.0</source_ip>\n      <count>3</count>"))
            #expect(xml.contains("<source_ip>192.0.2.1</source_ip>\n      <count>2</count>"))
            #expect(xml.contains("<email>dmarc-noreply@mx.example.net</email>"))
        }
    }

    @Test func temporaryFailuresKeepTheRowsForTheNextRun() async throws {
        struct Down: DNSLookupService {
            func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                        _ completion: @escaping @Sendable (DNSLookupResult) -> Void) { completion(.failure(.servfail)) }
        }
        try await withHost { store, host, configuration in
            host.dmarcReports?.record(Self.row("192.0.2.1", rua: ["mailto:a@third.example"], time: 10))
            try await waitForRows(store, messages: 1)
            let reporter = DMARCReporter(store: store, dns: Down(), configuration: configuration, logger: Logger(label: "test"))
            let outcomes = await reporter.run(now: 86_400 * 2)
            #expect(outcomes.first?.destinations.first?.outcome == .temporaryFailure)
            #expect(try store.dmarcReportDomains().count == 1)
        }
    }

    @Test func periodsAlignToTheInterval() {
        #expect(StoreDMARCReports.period(containing: 1_700_000_123.5, interval: .seconds(86_400)) == 1_699_920_000)
        #expect(StoreDMARCReports.period(containing: 17, interval: .seconds(5)) == 15)
        #expect(StoreDMARCReports.period(containing: -5, interval: .seconds(5)) == 0)
    }
}

@Suite struct DMARCReporterOrganizationalDomainTests {
    /// §7.1 compares organizational domains from the public suffix list (publicsuffix).
    @Test func usesThePublicSuffixList() {
        #expect(DMARCReporter.defaultOrganizationalDomain("reports.example.co.uk") == "example.co.uk")
        #expect(DMARCReporter.defaultOrganizationalDomain("mail.example.com") == "example.com")
        #expect(DMARCReporter.defaultOrganizationalDomain("plain.test") == "plain.test")
    }
}
