// Rows and a report shared by the DMARC aggregate report tests.
@testable import MailAuth

enum DMARCReportTestRows {
    static func row(ip: String = "192.0.2.1", disposition: String = "none", dkimAligned: Bool = true,
                    spfAligned: Bool = true, headerFrom: String = "example.com", time: Double = 1_000,
                    p: String = "none", dkim: [DMARCReportRow.DKIMEntry]? = nil,
                    spfResult: String = "pass", reasons: [String] = []) -> DMARCReportRow {
        DMARCReportRow(policyDomain: "example.com", ruaURIs: ["mailto:dmarc@example.com"], p: p,
                       sourceIP: ip, headerFrom: headerFrom, envelopeFrom: "example.com",
                       envelopeTo: "example.net", disposition: disposition, dkimAligned: dkimAligned,
                       spfAligned: spfAligned, reasons: reasons,
                       dkim: dkim ?? [.init(domain: "example.com", selector: "s1", result: dkimAligned ? "pass" : "fail")],
                       spf: .init(domain: "example.com", scope: "mfrom", result: spfResult), time: time)
    }

    static let metadata = DMARCAggregateReport.Metadata(
        orgName: "mx.example.net", email: "dmarc-noreply@mx.example.net", extraContactInfo: "https://example.net/dmarc",
        reportID: "86400.abc123@mx.example.net", begin: 86_400, end: 172_799)
}
