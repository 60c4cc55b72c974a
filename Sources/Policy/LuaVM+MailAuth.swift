// Mail authentication for Lua: tx:add_auth_result, and (with the engines of MailAuth)
// mailgate.spf.check, mailgate.dkim.verify and mailgate.dmarc.check. The engines are
// native and wait on DNS without holding the VM (LuaVM+Waiting.swift); what to do with
// their results stays in the plugins.
import CLua
import Foundation
import CLuaShim
import MailAuth
import MailCore

extension LuaVM {
    /// tx:add_auth_result(method, result, properties, reason) in the data hook: one
    /// resinfo of the Authentication-Results field the server writes
    /// (HookResult.authenticationResults). Shadow policies add nothing.
    func addAuthResult(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let serial = stack.integer(at: 1), serial == callSerial, activeTransaction != nil else {
            return call.fail("only available during the hook call that received this transaction")
        }
        guard activeHook == .data else { return call.fail("only available in the data hook") }
        guard let method = call.string(2), let result = call.string(3) else {
            return call.fail("expected a method and a result, such as (\"spf\", \"pass\")")
        }
        var reason: String?
        if !stack.isNil(at: 4) {
            guard let given = call.string(4) else { return call.fail("expected the reason as a string") }
            reason = given
        }
        var properties: [(name: String, value: String)] = []
        var index: Int32 = 5
        while index <= stack.top {
            guard let name = stack.string(at: index), let value = stack.string(at: index + 1),
                  value.utf8.count <= 512 else {
                return call.fail("properties must be names such as \"smtp.mailfrom\" with string values of at most 512 bytes")
            }
            properties.append((name, value))
            index += 2
        }
        guard properties.count <= 16 else { return call.fail("more than 16 properties in one result") }
        let text: String
        do {
            text = try AuthenticationResults.resinfo(method: method, result: result, reason: reason, properties: properties)
        } catch {
            return call.fail("\(error)")
        }
        guard nextPolicy < liveCount else { return 0 }
        guard authResults.count < AuthenticationResults.maxResults else {
            return call.fail("more than \(AuthenticationResults.maxResults) results for one message")
        }
        authResults.append(text)
        return 0
    }
}

// MARK: - mailgate.spf, mailgate.dkim, mailgate.dmarc

extension LuaVM {
    /// The message of the transaction the call's tx argument (#1) belongs to, in the
    /// data and deliver hooks; nil after pushing the error otherwise.
    private func receivedMessage(_ call: HostArguments) -> MessageContent? {
        guard let serial = call.stack.integer(at: 1), serial == callSerial, let (transaction, _) = activeTransaction else {
            _ = call.fail("only available during the hook call that received this transaction")
            return nil
        }
        guard activeHook == .data || activeHook == .deliver, let message = transaction.message else {
            _ = call.fail("only available in the data and deliver hooks")
            return nil
        }
        return message
    }

    /// Refuses a check where the call cannot wait; nil when it may go on.
    private func authWaitRefusal(_ call: HostArguments) -> Int32? {
        guard !loading, canWait else {
            return call.fail(loading ? "not available while policies load (main chunk or init)"
                : "cannot wait here: call it from a hook function or a coroutine, not from a metamethod, iterator or comparator run by C code")
        }
        guard hostWaits < configuration.maxHostWaits else {
            return call.fail("more than \(configuration.maxHostWaits) DNS lookups in one hook call")
        }
        hostWaits += 1
        return nil
    }

    /// The server's name: SPF's %{r} and nothing else here.
    private var receivingHost: String {
        if case .string(let name)? = configuration.globals["hostname"] { return name }
        return "localhost"
    }

    /// mailgate.spf.check(ip, helo, mail_from) → {result=, identity=, domain=, sender=,
    /// mechanism=, explanation=, problem=, lookups=}. DNS trouble is a result
    /// ("temperror"), never an error.
    func spfCheck(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let ipText = call.string(1), let ip = IPAddress(ipText) else {
            return call.fail("expected the client's IP address as argument #1")
        }
        guard let helo = call.string(2), helo.utf8.count <= 255 else {
            return call.fail("expected the HELO name (a string of at most 255 bytes, \"\" when none) as argument #2")
        }
        guard let mailFrom = call.string(3), mailFrom.utf8.count <= 512 else {
            return call.fail("expected the envelope sender (an address, \"\" for <>) as argument #3")
        }
        if let refusal = authWaitRefusal(call) { return refusal }
        guard let resolver = host.dns else {
            let outcome = SPFOutcome(result: .temperror, identity: mailFrom.isEmpty ? "helo" : "mailfrom",
                                     domain: "", sender: mailFrom, problem: "no DNS resolver", lookups: 0)
            return pushPolicyValue(Self.policyValue(outcome), stack)
        }
        let timeout = lookupTimeout()
        let host = self.host
        let checker = SPFChecker(dns: resolver, receivingHost: receivingHost, timeout: timeout,
                                 overallLimit: callTimeLeft(), now: { host.now() })
        let wait = HostWait()
        let address = ip.description
        Task(executorPreference: authExecutor) {
            let outcome = await checker.check(ip: address, helo: helo, mailFrom: mailFrom)
            wait.complete { vm, stack in vm.pushPolicyValue(Self.policyValue(outcome), stack) }
        }
        return waitFor(wait, stack)
    }

    /// mailgate.dkim.verify(tx) → a list with one table per DKIM-Signature (at most 8):
    /// {result=, domain=, selector=, identity=, algorithm=, b=, bits=, problem=, testing=}.
    /// Verified once per message; later calls get the same list without waiting.
    func dkimVerify(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let message = receivedMessage(call) else { return -1 }
        if let known = message.verifiedSignatures {
            return pushPolicyValue(.array(known.map(Self.policyValue)), stack)
        }
        if !message.authMessage.headerFields.contains(where: { $0.lowercasedName == "dkim-signature" }) {
            message.keepVerifiedSignatures([])
            return pushPolicyValue(.array([]), stack)
        }
        if let refusal = authWaitRefusal(call) { return refusal }
        guard let resolver = host.dns else {
            return pushPolicyValue(.array([]), stack)
        }
        let host = self.host
        let verifier = DKIMVerifier(dns: resolver, timeout: lookupTimeout(), now: { host.now() })
        let wait = HostWait()
        Task(executorPreference: authExecutor) {
            let outcomes = await verifier.verify(message.authMessage)
            // Lookup failures are not kept: another hook may get an answer.
            if !outcomes.contains(where: { $0.result == .temperror }) { message.keepVerifiedSignatures(outcomes) }
            wait.complete { vm, stack in vm.pushPolicyValue(.array(outcomes.map(Self.policyValue)), stack) }
        }
        return waitFor(wait, stack)
    }

    /// mailgate.arc.verify(tx) → {result=, instances=, seal_domains=, problem=}: the ARC
    /// chain's validation (RFC 8617 §5.2); `result` is "none", "pass" or "fail".
    func arcVerify(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let message = receivedMessage(call) else { return -1 }
        if !message.authMessage.headerFields.contains(where: { $0.lowercasedName.hasPrefix("arc-") }) {
            return pushPolicyValue(Self.policyValue(ARCOutcome(result: .none)), stack)
        }
        if let refusal = authWaitRefusal(call) { return refusal }
        guard let resolver = host.dns else {
            return pushPolicyValue(Self.policyValue(ARCOutcome(result: .fail, problem: "no DNS resolver")), stack)
        }
        let host = self.host
        let verifier = ARCVerifier(dns: resolver, timeout: lookupTimeout(), now: { host.now() })
        let wait = HostWait()
        Task(executorPreference: authExecutor) {
            let outcome = await verifier.verify(message.authMessage)
            wait.complete { vm, stack in vm.pushPolicyValue(Self.policyValue(outcome), stack) }
        }
        return waitFor(wait, stack)
    }

    /// mailgate.dmarc.check(tx, spf, dkim) (the prelude flattens the tables):
    /// host.dmarc_check(serial, spf_result, spf_domain, spf_identity, [result, domain,
    /// selector]…) → {result=, from_domain=, policy_domain=, policy=, disposition=,
    /// spf_aligned=, dkim_aligned=, sampled_out=, problem=, p=, sp=, pct=, adkim=, aspf=}.
    func dmarcCheck(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let message = receivedMessage(call), let (transaction, mailFrom) = activeTransaction else { return -1 }
        var spf: (result: SPFResult, domain: String, identity: String)?
        if let text = call.string(2) {
            guard let result = SPFResult(rawValue: text) else {
                return call.fail("spf.result must be an SPF result (pass, fail, softfail, neutral, none, temperror, permerror)")
            }
            spf = (result, call.string(3) ?? "", call.string(4) ?? "mailfrom")
        }
        var signatures: [(result: DKIMResult, domain: String, selector: String?)] = []
        var index: Int32 = 5
        while index <= stack.top, signatures.count < 32 {
            guard let text = stack.string(at: index), let result = DKIMResult(rawValue: text) else {
                return call.fail("dkim[\(signatures.count + 1)].result must be a DKIM result (pass, fail, neutral, policy, temperror, permerror, none)")
            }
            let selector = stack.string(at: index + 2) ?? ""
            signatures.append((result, stack.string(at: index + 1) ?? "", selector.isEmpty ? nil : selector))
            index += 3
        }
        let fromDomains = Set(message.authMessage.fromDomains)
        guard fromDomains.count == 1, let fromDomain = fromDomains.first else {
            // RFC 7489 §6.6.1: no single author domain, no DMARC evaluation.
            var outcome = DMARCOutcome(result: fromDomains.isEmpty ? .none : .permerror, fromDomain: "")
            outcome.problem = fromDomains.isEmpty ? "no From domain" : "several From domains"
            return pushPolicyValue(Self.policyValue(outcome), stack)
        }
        if let refusal = authWaitRefusal(call) { return refusal }
        guard let resolver = host.dns else {
            var outcome = DMARCOutcome(result: .temperror, fromDomain: fromDomain)
            outcome.problem = "no DNS resolver"
            return pushPolicyValue(Self.policyValue(outcome), stack)
        }
        let checker = DMARCChecker(dns: resolver, suffixes: PublicSuffixes.current, timeout: lookupTimeout())
        let recorder = host.dmarcReports
        let clientIP = transaction.session.clientIP
        let envelopeTo = transaction.recipients.first?.domain
        let now = host.now()
        let wait = HostWait()
        Task(executorPreference: authExecutor) {
            let outcome = await checker.check(fromDomain: fromDomain, spf: spf.map { ($0.result, $0.domain) },
                                              dkim: signatures.map { ($0.result, $0.domain) })
            if let recorder, let row = Self.reportRow(outcome, spf: spf, signatures: signatures, clientIP: clientIP,
                                                      envelopeFrom: mailFrom?.domain, envelopeTo: envelopeTo, now: now),
               message.claimReportRecord() {
                recorder.record(row)
            }
            wait.complete { vm, stack in vm.pushPolicyValue(Self.policyValue(outcome), stack) }
        }
        return waitFor(wait, stack)
    }

    /// The time the call has left (the SPF evaluation's overall limit), or 20 s
    /// (RFC 7208 §4.6.4) when the call has no deadline.
    private func callTimeLeft() -> Duration {
        let left = mg_call_time_left_ms(current)
        guard left >= 0 else { return .seconds(20) }
        return .milliseconds(max(left * 9 / 10, 1))
    }

    func pushPolicyValue(_ value: PolicyValue, _ stack: LuaStack) -> Int32 {
        let bytes = TransactionResults.serializedSize(value) * 2 + 64
        guard reserveHostMemory(bytes) else {
            stack.push("the result would exceed the memory limit of \(configuration.memoryLimit) bytes")
            return -1
        }
        stack.push(value)
        return 1
    }

    // MARK: Lua shapes

    static func policyValue(_ outcome: SPFOutcome) -> PolicyValue {
        var table: [String: PolicyValue] = [
            "result": .string(outcome.result.rawValue), "identity": .string(outcome.identity),
            "domain": .string(outcome.domain), "sender": .string(outcome.sender), "lookups": .integer(outcome.lookups),
        ]
        if let mechanism = outcome.mechanism { table["mechanism"] = .string(mechanism) }
        if let explanation = outcome.explanation { table["explanation"] = .string(explanation) }
        if let problem = outcome.problem { table["problem"] = .string(problem) }
        return .table(table)
    }

    static func policyValue(_ outcome: DKIMOutcome) -> PolicyValue {
        var table: [String: PolicyValue] = ["result": .string(outcome.result.rawValue), "testing": .bool(outcome.testing)]
        if let domain = outcome.domain { table["domain"] = .string(domain) }
        if let selector = outcome.selector { table["selector"] = .string(selector) }
        if let identity = outcome.identity { table["identity"] = .string(identity) }
        if let algorithm = outcome.algorithm { table["algorithm"] = .string(algorithm) }
        if let head = outcome.signatureHead { table["b"] = .string(head) }
        if let bits = outcome.keyBits { table["bits"] = .integer(bits) }
        if let problem = outcome.problem { table["problem"] = .string(problem) }
        if let unsigned = outcome.unsignedBodyBytes, unsigned > 0 { table["unsigned_body_bytes"] = .integer(unsigned) }
        return .table(table)
    }

    static func policyValue(_ outcome: ARCOutcome) -> PolicyValue {
        var table: [String: PolicyValue] = [
            "result": .string(outcome.result.rawValue), "instances": .integer(outcome.instances),
            "seal_domains": .array(outcome.sealDomains.map { .string($0) }),
        ]
        if let problem = outcome.problem { table["problem"] = .string(problem) }
        return .table(table)
    }

    static func policyValue(_ outcome: DMARCOutcome) -> PolicyValue {
        var table: [String: PolicyValue] = [
            "result": .string(outcome.result.rawValue), "from_domain": .string(outcome.fromDomain),
            "disposition": .string(outcome.disposition.rawValue), "spf_aligned": .bool(outcome.spfAligned),
            "dkim_aligned": .bool(outcome.dkimAligned), "sampled_out": .bool(outcome.sampledOut),
        ]
        if let domain = outcome.policyDomain { table["policy_domain"] = .string(domain) }
        if let policy = outcome.policy { table["policy"] = .string(policy.rawValue) }
        if let problem = outcome.problem { table["problem"] = .string(problem) }
        if let record = outcome.record {
            table["p"] = .string(record.p.rawValue)
            if let sp = record.sp { table["sp"] = .string(sp.rawValue) }
            table["pct"] = .integer(record.pct)
            table["adkim"] = .string(record.adkim.rawValue)
            table["aspf"] = .string(record.aspf.rawValue)
            if !record.rua.isEmpty { table["rua"] = .array(record.rua.map { .string($0) }) }
        }
        return .table(table)
    }

    /// The aggregate-report row of one evaluation; nil when the domain asked for no
    /// reports (no rua=) or there was no record.
    static func reportRow(_ outcome: DMARCOutcome, spf: (result: SPFResult, domain: String, identity: String)?,
                          signatures: [(result: DKIMResult, domain: String, selector: String?)], clientIP: String,
                          envelopeFrom: String?, envelopeTo: String?, now: Double) -> DMARCReportRow? {
        guard let record = outcome.record, let policyDomain = outcome.policyDomain, !record.rua.isEmpty,
              outcome.result == .pass || outcome.result == .fail else { return nil }
        var reasons: [String] = []
        if outcome.sampledOut { reasons.append("sampled_out") }
        let spfEntry = DMARCReportRow.SPFEntry(domain: spf?.domain ?? "", scope: spf?.identity == "helo" ? "helo" : "mfrom",
                                               result: spf?.result.rawValue ?? "none")
        return DMARCReportRow(policyDomain: policyDomain, ruaURIs: record.rua, adkim: record.adkim.rawValue,
                              aspf: record.aspf.rawValue, p: record.p.rawValue, sp: record.sp?.rawValue, pct: record.pct,
                              fo: record.fo, sourceIP: clientIP, headerFrom: outcome.fromDomain, envelopeFrom: envelopeFrom,
                              envelopeTo: envelopeTo, disposition: outcome.disposition.rawValue,
                              dkimAligned: outcome.dkimAligned, spfAligned: outcome.spfAligned, reasons: reasons,
                              dkim: signatures.map { DMARCReportRow.DKIMEntry(domain: $0.domain, selector: $0.selector,
                                                                                result: $0.result.rawValue) },
                              spf: spfEntry, time: now)
    }
}

/// The public-suffix list DMARC finds organizational domains with: Debian's, read on
/// first use and again by `reload()` (the server calls it on SIGHUP). Without the
/// file, the last two labels (logged once by the server at start).
public enum PublicSuffixes {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var loaded: PublicSuffixList?

    public static var current: PublicSuffixList {
        lock.lock()
        defer { lock.unlock() }
        if let loaded { return loaded }
        let list = (try? PublicSuffixList.load()) ?? .fallback
        loaded = list
        return list
    }

    /// Reads the list again; the error says why it could not (the old list stays).
    @discardableResult
    public static func reload(path: String = PublicSuffixList.defaultPath) -> Error? {
        do {
            let list = try PublicSuffixList.load(path: path)
            lock.lock()
            loaded = list
            lock.unlock()
            return nil
        } catch {
            return error
        }
    }
}
