// What DMARC aggregate reporting (RFC 7489 §7.2) keeps about one evaluated message:
// the policy as published, the source, the identifiers, the authentication results and
// what we did. `mailgate.dmarc.check` builds one row per transaction when the record
// has `rua=`, and hands it to the host's `DMARCReportRecorder`; the reporter later
// groups a period's rows into records (DMARCReportAggregator) and writes the XML.
// Values are kept as the evaluation said them (results as RFC 7489 Appendix C words).
import Crypto

/// One evaluated message, as the aggregate report needs it.
public struct DMARCReportRow: Sendable, Codable, Equatable {
    /// One DKIM signature's result (Appendix C DKIMAuthResultType).
    public struct DKIMEntry: Sendable, Codable, Equatable, Hashable {
        public var domain: String
        public var selector: String?
        /// none, pass, fail, policy, neutral, temperror, permerror
        public var result: String
        public init(domain: String, selector: String?, result: String) {
            self.domain = domain; self.selector = selector; self.result = result
        }
    }

    /// The SPF result (Appendix C SPFAuthResultType).
    public struct SPFEntry: Sendable, Codable, Equatable, Hashable {
        public var domain: String
        /// "mfrom" or "helo"
        public var scope: String
        /// none, neutral, pass, fail, softfail, temperror, permerror
        public var result: String
        public init(domain: String, scope: String, result: String) {
            self.domain = domain; self.scope = scope; self.result = result
        }
    }

    /// Where the DMARC record was found (the report is per policy domain).
    public var policyDomain: String
    /// The record's rua URIs, as published.
    public var ruaURIs: [String]
    public var adkim: String
    public var aspf: String
    public var p: String
    public var sp: String?
    public var pct: Int
    public var fo: String?
    public var sourceIP: String
    public var headerFrom: String
    public var envelopeFrom: String?
    public var envelopeTo: String?
    /// none, quarantine or reject: what was applied (after pct sampling).
    public var disposition: String
    public var dkimAligned: Bool
    public var spfAligned: Bool
    /// Policy override reasons (Appendix C PolicyOverrideType), e.g. "sampled_out".
    public var reasons: [String]
    public var dkim: [DKIMEntry]
    public var spf: SPFEntry
    /// When the message was evaluated (seconds since the epoch): picks the period.
    public var time: Double

    public init(policyDomain: String, ruaURIs: [String], adkim: String = "r", aspf: String = "r", p: String,
                sp: String? = nil, pct: Int = 100, fo: String? = nil, sourceIP: String, headerFrom: String,
                envelopeFrom: String? = nil, envelopeTo: String? = nil, disposition: String,
                dkimAligned: Bool, spfAligned: Bool, reasons: [String] = [], dkim: [DKIMEntry],
                spf: SPFEntry, time: Double) {
        self.policyDomain = policyDomain; self.ruaURIs = ruaURIs; self.adkim = adkim; self.aspf = aspf
        self.p = p; self.sp = sp; self.pct = pct; self.fo = fo; self.sourceIP = sourceIP
        self.headerFrom = headerFrom; self.envelopeFrom = envelopeFrom; self.envelopeTo = envelopeTo
        self.disposition = disposition; self.dkimAligned = dkimAligned; self.spfAligned = spfAligned
        self.reasons = reasons; self.dkim = dkim; self.spf = spf; self.time = time
    }
}

/// Where `mailgate.dmarc.check` hands its rows (the Gateway's is the store). Must not
/// block: it is called from a policy hook, possibly on an event loop.
public protocol DMARCReportRecorder: Sendable {
    func record(_ row: DMARCReportRow)
}

extension DMARCReportRow {
    /// What makes two rows the same report record: everything but the time and the
    /// published policy (RFC 7489 §7.2: one record per source IP, disposition and
    /// result set). Identical rows of a period are stored once with a count.
    public var groupIdentity: String {
        var parts: [String] = [sourceIP, disposition, dkimAligned ? "pass" : "fail", spfAligned ? "pass" : "fail",
                               reasons.joined(separator: ","), headerFrom, envelopeFrom ?? "", envelopeTo ?? "",
                               spf.domain, spf.scope, spf.result]
        for entry in dkim { parts += [entry.domain, entry.selector ?? "", entry.result] }
        // \u{1F} (unit separator) cannot come from DNS names or result words.
        return parts.joined(separator: "\u{1F}")
    }

    /// 16 bytes naming `groupIdentity` (SHA-256 prefix): the store's group key.
    public var groupKey: [UInt8] {
        Array(SHA256.hash(data: Array(groupIdentity.utf8)).prefix(16))
    }
}
