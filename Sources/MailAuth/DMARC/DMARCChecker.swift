import Foundation
import MailCore

// RFC 7489 §6.6 evaluation for one RFC5322.From domain: policy discovery (§6.6.3:
// _dmarc.<from>, then _dmarc.<organizational domain>), identifier alignment (§3.1:
// strict = same name, relaxed = same organizational domain) of the SPF-checked domain
// and of each passing DKIM signature's d=, and the policy to apply (p, or sp for a
// subdomain when the record came from the organizational domain) after pct sampling
// (§6.6.4: a message sampled out gets the next weaker policy). Aggregate reports are
// not made here: the outcome carries what a report row needs.

public struct DMARCOutcome: Sendable {
    public var result: DMARCResult
    public var fromDomain: String
    /// Where the record was found (the From domain or its organizational domain).
    public var policyDomain: String?
    public var record: DMARCRecord?
    /// p or sp, as applied (nil without a record).
    public var policy: DMARCPolicy?
    /// What to do after pct sampling (none when pass).
    public var disposition: DMARCPolicy
    public var spfAligned: Bool
    public var dkimAligned: Bool
    /// The message failed but pct sampling took it out of the policy.
    public var sampledOut: Bool
    public var problem: String?
    /// The From domain's organizational domain (§3.2).
    public var organizationalDomain: String = ""

    public init(result: DMARCResult, fromDomain: String, policyDomain: String? = nil, record: DMARCRecord? = nil,
                policy: DMARCPolicy? = nil, disposition: DMARCPolicy = .none, spfAligned: Bool = false,
                dkimAligned: Bool = false, sampledOut: Bool = false, problem: String? = nil) {
        self.result = result; self.fromDomain = fromDomain; self.policyDomain = policyDomain; self.record = record
        self.policy = policy; self.disposition = disposition; self.spfAligned = spfAligned
        self.dkimAligned = dkimAligned; self.sampledOut = sampledOut; self.problem = problem
    }
}

public struct DMARCChecker: Sendable {
    let dns: any DNSLookupService
    let suffixes: PublicSuffixList
    let timeout: Duration
    let random: @Sendable () -> Double

    /// `random` gives a number in 0..<1 for pct sampling (injected so tests decide).
    public init(dns: any DNSLookupService, suffixes: PublicSuffixList, timeout: Duration = .seconds(3),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.dns = dns
        self.suffixes = suffixes
        self.timeout = timeout
        self.random = random
    }

    /// `spf`: the SPF result and the domain SPF checked (MAIL FROM's, or HELO's for
    /// the null sender), nil if SPF was not checked. `dkim`: one entry per signature.
    public func check(fromDomain: String, spf: (result: SPFResult, domain: String)?,
                      dkim: [(result: DKIMResult, domain: String)]) async -> DMARCOutcome {
        let from = Self.normalize(fromDomain)
        var outcome = DMARCOutcome(result: .none, fromDomain: from)
        guard !from.isEmpty, from.utf8.count <= 253,
              from.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 })
        else {
            outcome.problem = "'\(fromDomain)' is not a domain name"
            return outcome
        }
        let organizational = suffixes.organizationalDomain(from)
        outcome.organizationalDomain = organizational

        // §6.6.3 policy discovery.
        var found: (domain: String, record: DMARCRecord)? = nil
        for candidate in organizational == from ? [from] : [from, organizational] {
            switch await discover(at: candidate) {
            case .record(let record): found = (candidate, record)
            case .noRecord(let why): outcome.problem = why; continue
            case .stop(let result, let why):
                outcome.result = result
                outcome.problem = why
                outcome.policyDomain = candidate
                return outcome
            }
            break
        }
        guard let (policyDomain, record) = found else { return outcome }
        outcome.problem = nil
        outcome.policyDomain = policyDomain
        outcome.record = record

        // §3.1 identifier alignment.
        if let spf, spf.result == .pass {
            outcome.spfAligned = aligned(Self.normalize(spf.domain), from, mode: record.aspf)
        }
        outcome.dkimAligned = dkim.contains { $0.result == .pass && aligned(Self.normalize($0.domain), from, mode: record.adkim) }

        // §6.6.2 / §6.6.4 the policy: sp applies to a subdomain of the organizational
        // domain whose record was found there.
        let policy = policyDomain != from ? (record.sp ?? record.p) : record.p
        outcome.policy = policy
        if outcome.spfAligned || outcome.dkimAligned {
            outcome.result = .pass
            outcome.disposition = .none
            return outcome
        }
        outcome.result = .fail
        outcome.disposition = policy
        if policy != .none && record.pct < 100 && !(random() < Double(record.pct) / 100) {
            outcome.sampledOut = true
            outcome.disposition = policy == .reject ? .quarantine : .none
        }
        return outcome
    }

    /// Strict: the same name; relaxed: the same organizational domain.
    func aligned(_ authenticated: String, _ from: String, mode: DMARCAlignmentMode) -> Bool {
        guard !authenticated.isEmpty else { return false }
        if authenticated == from { return true }
        return mode == .relaxed && suffixes.organizationalDomain(authenticated) == suffixes.organizationalDomain(from)
    }

    enum Discovery {
        case record(DMARCRecord)
        /// Go on to the organizational domain.
        case noRecord(String)
        /// Evaluation ends with this result (temperror, permerror, or none for several records).
        case stop(DMARCResult, String)
    }

    /// The DMARC record at _dmarc.<domain>.
    func discover(at domain: String) async -> Discovery {
        let name = "_dmarc." + domain
        switch await dns.texts(name, timeout: timeout) {
        case .failure(.failure(let failure)):
            return .stop(.temperror, "TXT lookup for \(name) failed (\(failure.rawValue))")
        case .failure:
            return .noRecord("no DMARC record at \(name)")
        case .success(let texts):
            let candidates = texts.filter(DMARCRecord.isDMARC)
            if candidates.isEmpty { return .noRecord("no DMARC record at \(name)") }
            guard candidates.count == 1 else {
                return .stop(.none, "\(candidates.count) DMARC records at \(name): DMARC not applied")
            }
            do {
                return .record(try DMARCRecord(parsing: candidates[0]))
            } catch {
                switch error {
                case .malformed: return .stop(.permerror, "\(name): \(error)")
                // §6.6.3 step 6: "as though no DMARC record had been found", and stop.
                case .noPolicy: return .stop(.none, "\(name): \(error)")
                case .notDMARC: return .noRecord("\(name): \(error)")
                }
            }
        }
    }

    /// Lowercased, without a trailing dot; an address ("bounce@example.com", as some
    /// callers pass SPF's identity) gives its domain.
    static func normalize(_ domain: String) -> String {
        var name = domain.lowercased()
        if let at = name.lastIndex(of: "@") { name = String(name[name.index(after: at)...]) }
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }
}
