import Foundation
import MailCore

// RFC 7208 check_host() (§4, §5) for one identity: MAIL FROM, or HELO when MAIL FROM
// is the null sender (§2.4, the sender becomes postmaster@helo). All DNS goes through
// the shared DNSLookupService; an answer without records (NXDOMAIN, NODATA) is a
// "void lookup", a failed lookup is a temperror. Bounded three ways: 10 DNS-querying
// terms, 2 void lookups (§4.6.4), and a wall-clock cap over the whole evaluation, so a
// loop of include/redirect ends in permerror and a slow server in temperror.

public enum SPFResult: String, Sendable {
    case pass, fail, softfail, neutral, none, temperror, permerror
}

public struct SPFOutcome: Sendable {
    public var result: SPFResult
    /// "mailfrom" or "helo": which identity was checked.
    public var identity: String
    /// The domain checked.
    public var domain: String
    /// The <sender> used (postmaster@helo when MAIL FROM is <>).
    public var sender: String
    /// The term that decided ("ip4:192.0.2.0/24", "include:_spf.example.com"), or
    /// "default" when none matched; nil for none/temperror/permerror.
    public var mechanism: String?
    /// fail only: the expanded exp= text, or nil.
    public var explanation: String?
    /// permerror/temperror (and some none) reason in words.
    public var problem: String?
    /// DNS-querying terms used.
    public var lookups: Int
    /// Void lookups met.
    public var voidLookups: Int = 0

    public init(result: SPFResult, identity: String, domain: String, sender: String, mechanism: String? = nil,
                explanation: String? = nil, problem: String? = nil, lookups: Int = 0, voidLookups: Int = 0) {
        self.result = result; self.identity = identity; self.domain = domain; self.sender = sender
        self.mechanism = mechanism; self.explanation = explanation; self.problem = problem
        self.lookups = lookups; self.voidLookups = voidLookups
    }
}

public struct SPFChecker: Sendable {
    /// RFC 7208 §4.6.4 limits.
    public static let maxDNSTerms = 10
    public static let maxVoidLookups = 2
    public static let maxMXNames = 10
    public static let maxPTRNames = 10

    let dns: any DNSLookupService
    let receivingHost: String
    let timeout: Duration
    let overallLimit: Duration
    let now: @Sendable () -> Double

    /// `timeout` bounds each lookup; `overallLimit` the whole evaluation (RFC 7208
    /// §4.6.4 suggests at least 20 seconds). `receivingHost` is %{r} in explanations.
    public init(dns: any DNSLookupService, receivingHost: String, timeout: Duration = .seconds(3),
                overallLimit: Duration = .seconds(20),
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.dns = dns
        self.receivingHost = receivingHost.isEmpty ? "unknown" : receivingHost
        self.timeout = timeout
        self.overallLimit = overallLimit
        self.now = now
    }

    /// mailFrom: the reverse-path address without <> ("" for the null sender).
    public func check(ip: String, helo: String, mailFrom: String) async -> SPFOutcome {
        let heloDomain = Self.trimDot(helo)
        let identity = mailFrom.isEmpty ? "helo" : "mailfrom"
        var localPart = "postmaster"
        var domain = heloDomain
        if !mailFrom.isEmpty {
            if let at = mailFrom.lastIndex(of: "@") {
                if at != mailFrom.startIndex { localPart = String(mailFrom[..<at]) }
                domain = Self.trimDot(String(mailFrom[mailFrom.index(after: at)...]))
            } else {
                domain = Self.trimDot(mailFrom)
            }
        }
        let sender = localPart + "@" + domain
        var outcome = SPFOutcome(result: .none, identity: identity, domain: domain, sender: sender)
        guard let client = IPAddress(ip) else {
            outcome.problem = "invalid client address '\(ip)'"
            return outcome
        }
        // §4.3: a malformed domain (or a HELO that is not a FQDN) gives none, not an error.
        guard Self.isValidDomain(domain, initial: true) else {
            outcome.problem = "'\(domain)' is not a valid domain name"
            return outcome
        }
        let evaluation = SPFEvaluation(checker: self, client: client, values: SPFMacroValues(
            sender: sender, localPart: localPart, senderDomain: domain, domain: domain,
            client: Self.text(of: client, written: ip), helo: heloDomain, receivingHost: receivingHost,
            timestamp: Int(now())))
        do throws(SPFAbort) {
            let verdict = try await evaluation.checkHost(domain, depth: 0, explain: true)
            outcome.result = verdict.result
            outcome.mechanism = verdict.mechanism
            outcome.explanation = verdict.explanation
            outcome.problem = verdict.problem
        } catch {
            switch error {
            case .permerror(let problem): outcome.result = .permerror; outcome.problem = problem
            case .temperror(let problem): outcome.result = .temperror; outcome.problem = problem
            }
        }
        outcome.lookups = evaluation.lookups
        outcome.voidLookups = evaluation.voidLookups
        return outcome
    }

    static func trimDot(_ name: String) -> String {
        name.hasSuffix(".") ? String(name.dropLast()) : name
    }

    /// A name DNS can be asked about: ASCII, labels of 1–63 bytes, at most 253 bytes.
    /// `initial` (§4.3) also wants a FQDN: two labels at least, and not a literal.
    /// After macro expansion any bytes may stand in a label (the RFC 7208 suite queries
    /// "macro%percent  space%20url-space.example.com"): only the lengths are checked.
    static func isValidDomain(_ name: String, initial: Bool = false) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        if initial && !name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 }) else { return false }
        if initial {
            guard labels.count >= 2, !name.hasPrefix("["), let last = labels.last,
                  !last.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        }
        return true
    }

    /// `written`: the address as the caller wrote it. %{i}'s IPv6 nibbles follow its
    /// case (the RFC leaves it open; the RFC 7208 suite expects "CAFE:BABE::1" to give
    /// "…E.B.A.B.E.F.A.C"); DNS does not care.
    static func text(of address: IPAddress, written: String = "") -> IPAddressText {
        if address.isV4 {
            let dotted = address.description
            return IPAddressText(isV4: true, dotted: dotted, readable: dotted)
        }
        let uppercase = written.contains(where: { ("A"..."F").contains($0) }) && !written.contains(where: { ("a"..."f").contains($0) })
        var nibbles: [String] = []
        for byte in address.bytes {
            nibbles.append(String(byte >> 4, radix: 16, uppercase: uppercase))
            nibbles.append(String(byte & 0xF, radix: 16, uppercase: uppercase))
        }
        return IPAddressText(isV4: false, dotted: nibbles.joined(separator: "."), readable: address.description)
    }
}

/// Ends an evaluation early (§4.6.4, §5.2, §2.6).
enum SPFAbort: Error {
    case permerror(String)
    case temperror(String)
}

/// One record's verdict.
struct SPFVerdict {
    var result: SPFResult
    var mechanism: String?
    var explanation: String?
    var problem: String?
}

/// The state of one check_host() run and its recursions: the counters the limits
/// apply to, the deadline, and the %{p} names once looked up. Used by one task only.
final class SPFEvaluation {
    let checker: SPFChecker
    let client: IPAddress
    let values: SPFMacroValues
    let deadline: ContinuousClock.Instant
    private(set) var lookups = 0
    private(set) var voidLookups = 0
    private var validatedNames: [String]?

    /// Recursion is bounded by the term limit already; this is a second fence.
    static let maxDepth = 24

    init(checker: SPFChecker, client: IPAddress, values: SPFMacroValues) {
        self.checker = checker
        self.client = client
        self.values = values
        self.deadline = ContinuousClock.now.advanced(by: checker.overallLimit)
    }

    /// check_host() for `domain`. `explain`: fetch exp= on fail (not for include
    /// targets, whose explanation is never used, §5.2).
    func checkHost(_ domain: String, depth: Int, explain: Bool) async throws(SPFAbort) -> SPFVerdict {
        guard depth <= Self.maxDepth else { throw .permerror("include/redirect nested too deeply") }
        let record: SPFRecord
        switch try await findRecord(domain) {
        case .none(let why): return SPFVerdict(result: .none, problem: why)
        case .found(let found): record = found
        }
        var values = self.values
        values.domain = domain
        for directive in record.directives {
            if directive.mechanism.queriesDNS { try countTerm() }
            if try await matches(directive.mechanism, domain: domain, values: &values, depth: depth) {
                let result = directive.qualifier.result
                var explanation: String? = nil
                if result == .fail, explain, let exp = record.explanation {
                    explanation = await explanationText(exp, values: &values)
                }
                return SPFVerdict(result: result, mechanism: directive.text, explanation: explanation)
            }
        }
        if let redirect = record.redirect {
            try countTerm()
            let target = try await expandDomain(redirect, values: &values)
            var verdict = try await checkHost(target, depth: depth + 1, explain: explain)
            if verdict.result == .none {
                throw .permerror("redirect=\(target): no SPF record" + (verdict.problem.map { " (\($0))" } ?? ""))
            }
            if verdict.mechanism == nil && verdict.result == .neutral { verdict.mechanism = "default" }
            return verdict
        }
        return SPFVerdict(result: .neutral, mechanism: "default")
    }

    enum RecordLookup { case none(String), found(SPFRecord) }

    /// §4.4, §4.5: exactly one "v=spf1" TXT record, else none (zero) or permerror (several).
    func findRecord(_ domain: String) async throws(SPFAbort) -> RecordLookup {
        switch try await texts(domain) {
        case .failure(let why):
            return .none("no SPF record at \(domain) (\(why))")
        case .success(let texts):
            let records = texts.filter(SPFRecord.isSPF)
            if records.isEmpty { return .none("no SPF record at \(domain)") }
            guard records.count == 1 else { throw .permerror("\(records.count) SPF records at \(domain)") }
            do { return .found(try SPFRecord(parsing: records[0])) } catch {
                throw .permerror("syntax error in the SPF record of \(domain): \(error)")
            }
        }
    }

    func countTerm() throws(SPFAbort) {
        lookups += 1
        if lookups > SPFChecker.maxDNSTerms {
            throw .permerror("more than \(SPFChecker.maxDNSTerms) DNS-querying terms")
        }
    }

    func countVoid() throws(SPFAbort) {
        voidLookups += 1
        if voidLookups > SPFChecker.maxVoidLookups {
            throw .permerror("more than \(SPFChecker.maxVoidLookups) void lookups")
        }
    }

    // MARK: mechanisms (§5)

    func matches(_ mechanism: SPFMechanism, domain: String, values: inout SPFMacroValues, depth: Int) async throws(SPFAbort) -> Bool {
        switch mechanism {
        case .all:
            return true
        case .ip4(let network, let prefix):
            return client.isV4 && SPFAddressParsing.matches(client.bytes, network, prefix: prefix)
        case .ip6(let network, let prefix):
            return !client.isV4 && SPFAddressParsing.matches(client.bytes, network, prefix: prefix)
        case .a(let spec, let v4Prefix, let v6Prefix):
            let target = try await target(spec, domain: domain, values: &values)
            return try await addressesMatch(of: target, prefix: client.isV4 ? v4Prefix : v6Prefix)
        case .mx(let spec, let v4Prefix, let v6Prefix):
            let target = try await target(spec, domain: domain, values: &values)
            let exchanges: [String]
            switch await lookup(target, .mx) {
            case .records(let records, _):
                let sorted = records.compactMap { record -> (Int, String)? in
                    if case .mx(let preference, let exchange) = record { (preference, exchange) } else { nil }
                }.sorted { $0.0 < $1.0 }
                guard sorted.count <= SPFChecker.maxMXNames else {
                    throw .permerror("mx:\(target) has more than \(SPFChecker.maxMXNames) MX records")
                }
                exchanges = sorted.map(\.1).filter { !$0.isEmpty }
            case .nxdomain, .nodata:
                try countVoid()
                return false
            case .failure(let failure):
                throw .temperror("MX lookup for \(target) failed (\(failure.rawValue))")
            }
            for exchange in exchanges {
                if try await addressesMatch(of: exchange, prefix: client.isV4 ? v4Prefix : v6Prefix) { return true }
            }
            return false
        case .ptr(let spec):
            let target = try await target(spec, domain: domain, values: &values).lowercased()
            let names = try await validatedClientNames(countingVoids: true)
            return names.contains { $0 == target || $0.hasSuffix("." + target) }
        case .exists(let spec):
            let target = try await expandDomain(spec, values: &values)
            switch await lookup(target, .a) {
            case .records: return true
            case .nxdomain, .nodata: try countVoid(); return false
            case .failure(let failure): throw .temperror("exists:\(target) lookup failed (\(failure.rawValue))")
            }
        case .include(let spec):
            let target = try await expandDomain(spec, values: &values)
            let verdict = try await checkHost(target, depth: depth + 1, explain: false)
            switch verdict.result {
            case .pass: return true
            case .fail, .softfail, .neutral: return false
            case .none: throw .permerror("include:\(target): no SPF record")
            case .temperror: throw .temperror(verdict.problem ?? "include:\(target): temperror")
            case .permerror: throw .permerror(verdict.problem ?? "include:\(target): permerror")
            }
        }
    }

    /// The mechanism's domain: its domain-spec expanded, or the current domain.
    func target(_ spec: SPFMacroString?, domain: String, values: inout SPFMacroValues) async throws(SPFAbort) -> String {
        guard let spec else { return domain }
        return try await expandDomain(spec, values: &values)
    }

    /// A domain-spec expanded, its trailing dot dropped and (§7.3) cut from the left
    /// to 253 bytes; a result DNS cannot be asked about is a permerror.
    func expandDomain(_ spec: SPFMacroString, values: inout SPFMacroValues) async throws(SPFAbort) -> String {
        if spec.usesValidatedName { values.validatedName = await validatedName(for: values.domain) }
        var name = SPFChecker.trimDot(spec.expand(values))
        while name.utf8.count > 253, let dot = name.firstIndex(of: ".") {
            name = String(name[name.index(after: dot)...])
        }
        guard SPFChecker.isValidDomain(name) else { throw .permerror("'\(spec.text)' expands to an invalid name '\(name.prefix(80))'") }
        return name
    }

    /// Whether an A (IPv4 client) or AAAA (IPv6 client) record of `name` is within
    /// `prefix` bits of the client.
    func addressesMatch(of name: String, prefix: Int) async throws(SPFAbort) -> Bool {
        switch await lookup(name, client.isV4 ? .a : .aaaa) {
        case .records(let records, _):
            return records.contains { record in
                guard case .address(let text) = record, let address = IPAddress(text) else { return false }
                return SPFAddressParsing.matches(address.bytes, client.bytes, prefix: prefix)
            }
        case .nxdomain, .nodata:
            try countVoid()
            return false
        case .failure(let failure):
            throw .temperror("address lookup for \(name) failed (\(failure.rawValue))")
        }
    }

    /// §5.5: the client's PTR names (at most 10) whose own addresses include the client.
    /// Lookup failures only skip names.
    func validatedClientNames(countingVoids: Bool) async throws(SPFAbort) -> [String] {
        if let validatedNames { return validatedNames }
        var names: [String] = []
        switch await lookup(client.reverseName(), .ptr) {
        case .records(let records, _):
            names = records.compactMap { if case .name(let name) = $0 { SPFChecker.trimDot(name).lowercased() } else { nil } }
        case .nxdomain, .nodata:
            if countingVoids { try countVoid() }
        case .failure:
            break
        }
        var validated: [String] = []
        for name in names.prefix(SPFChecker.maxPTRNames) where SPFChecker.isValidDomain(name) {
            if case .records(let records, _) = await lookup(name, client.isV4 ? .a : .aaaa),
               records.contains(where: { if case .address(let text) = $0 { IPAddress(text) == client } else { false } }) {
                validated.append(name)
            }
        }
        validatedNames = validated
        return validated
    }

    /// %{p} (§7.3): the validated name equal to `domain`, else one under it, else any,
    /// else "unknown". Its lookups count toward no limit and fail into "unknown".
    func validatedName(for domain: String) async -> String {
        let names = (try? await validatedClientNames(countingVoids: false)) ?? []
        let domain = domain.lowercased()
        if names.contains(domain) { return domain }
        return names.first(where: { $0.hasSuffix("." + domain) }) ?? names.first ?? "unknown"
    }

    /// §6.2: the explanation for a fail. Any problem (no or several TXT records, a
    /// lookup failure, a syntax error, non-ASCII text) means no explanation, never a
    /// different result.
    func explanationText(_ spec: SPFMacroString, values: inout SPFMacroValues) async -> String? {
        guard let name = try? await expandDomain(spec, values: &values),
              case .success(let texts) = try? await texts(name), texts.count == 1,
              texts[0].utf8.allSatisfy({ $0 < 0x80 }),
              let explain = try? SPFMacroString(parsing: Substring(texts[0]), explanation: true) else { return nil }
        if explain.usesValidatedName { values.validatedName = await validatedName(for: values.domain) }
        return explain.expand(values)
    }

    // MARK: DNS

    /// One lookup within the per-lookup timeout and what is left of the overall limit.
    func lookup(_ name: String, _ type: DNSRecordType) async -> DNSLookupResult {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { return .failure(.timeout) }
        return await checker.dns.lookup(name, type, timeout: min(checker.timeout, left))
    }

    func texts(_ name: String) async throws(SPFAbort) -> Result<[String], DNSLookupOutcomeWithoutRecords> {
        switch await lookup(name, .txt) {
        case .records(let records, _):
            return .success(records.compactMap { if case .text(let text) = $0 { text } else { nil } })
        case .nxdomain: return .failure(.nxdomain)
        case .nodata: return .failure(.nodata)
        case .failure(let failure): throw .temperror("TXT lookup for \(name) failed (\(failure.rawValue))")
        }
    }
}
