// One DMARC aggregate report (RFC 7489 §7.2, Appendix C) as values: who reports, the
// period, the policy published and the records. `DMARCReportAggregator` makes it from a
// period's rows of one policy domain: rows with the same source IP, disposition,
// results and identifiers become one record with a count. Pure, deterministic order
// (largest count first, then source IP), so the same rows give the same XML.

public struct DMARCAggregateReport: Sendable, Equatable {
    public struct Metadata: Sendable, Equatable {
        public var orgName: String
        public var email: String
        public var extraContactInfo: String?
        public var reportID: String
        /// The period, seconds since the epoch (UTC): [begin, end].
        public var begin: Int64
        public var end: Int64
        public init(orgName: String, email: String, extraContactInfo: String? = nil, reportID: String,
                    begin: Int64, end: Int64) {
            self.orgName = orgName; self.email = email; self.extraContactInfo = extraContactInfo
            self.reportID = reportID; self.begin = begin; self.end = end
        }
    }

    public struct PolicyPublished: Sendable, Equatable {
        public var domain: String
        public var adkim: String
        public var aspf: String
        public var p: String
        public var sp: String
        public var pct: Int
        public var fo: String
    }

    public struct Record: Sendable, Equatable {
        public var sourceIP: String
        public var count: Int
        public var disposition: String
        public var dkim: String          // DMARC-aligned DKIM: pass / fail
        public var spf: String           // DMARC-aligned SPF: pass / fail
        public var reasons: [String]
        public var headerFrom: String
        public var envelopeFrom: String?
        public var envelopeTo: String?
        public var dkimResults: [DMARCReportRow.DKIMEntry]
        public var spfResult: DMARCReportRow.SPFEntry
    }

    public var metadata: Metadata
    public var policy: PolicyPublished
    public var records: [Record]

    /// Messages the report covers.
    public var messageCount: Int { records.reduce(0) { $0 + $1.count } }
}

public enum DMARCReportAggregator {
    /// The report for `rows` (each with how many identical messages it stands for), all
    /// of one policy domain and period; nil when there are none. The policy published is
    /// the newest row's (a record changed during the period is reported as it was last).
    public static func report(rows: [(row: DMARCReportRow, count: Int)], metadata: DMARCAggregateReport.Metadata)
        -> DMARCAggregateReport? {
        guard let newest = rows.filter({ $0.count > 0 }).max(by: { $0.row.time < $1.row.time })?.row else { return nil }
        var order: [String] = []
        var records: [String: DMARCAggregateReport.Record] = [:]
        for (row, count) in rows where count > 0 {
            let key = row.groupIdentity
            if records[key] != nil {
                records[key]!.count = saturatingAdd(records[key]!.count, count)
                continue
            }
            order.append(key)
            records[key] = DMARCAggregateReport.Record(
                sourceIP: row.sourceIP, count: count, disposition: row.disposition,
                dkim: row.dkimAligned ? "pass" : "fail", spf: row.spfAligned ? "pass" : "fail",
                reasons: row.reasons, headerFrom: row.headerFrom, envelopeFrom: row.envelopeFrom,
                envelopeTo: row.envelopeTo, dkimResults: row.dkim, spfResult: row.spf)
        }
        let sorted = order.compactMap { records[$0] }.sorted {
            $0.count != $1.count ? $0.count > $1.count : $0.sourceIP < $1.sourceIP
        }
        let policy = DMARCAggregateReport.PolicyPublished(
            domain: newest.policyDomain, adkim: newest.adkim, aspf: newest.aspf, p: newest.p,
            sp: newest.sp ?? newest.p, pct: newest.pct, fo: newest.fo ?? "0")
        return DMARCAggregateReport(metadata: metadata, policy: policy, records: sorted)
    }

    static func saturatingAdd(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }
}
