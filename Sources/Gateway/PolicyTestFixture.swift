// An in-memory PolicyHost for `mailgate policy test` and unit tests: domains, accounts,
// aliases, catch-alls, the open-SMTP whitelist, sliding-window counters and kv
// (MemoryKeyValueStore), all on an injectable clock (`advance` moves it; nothing reads the wall
// clock), plus canned DNS answers (MemoryDNS) and canned HTTP answers (MemoryHTTP). The
// real store is never opened. Policy
// log lines are kept in order so the runner can print them under the step that made them.
import Foundation
import MailCore
import Policy

public final class PolicyTestFixture: PolicyHost, @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `lock`.
    public struct LogLine: Sendable, Equatable {
        public var level: PolicyLogLevel
        public var policy: String
        public var message: String
    }

    private let lock = NSLock()
    private var clock: Double
    private var domains: Set<String> = []
    private var accounts: Set<String> = []
    private var aliases: [String: String] = [:]
    private var catchAll: [String: String] = [:]
    private var whitelist: [String: (user: String?, expires: Double)] = [:]
    private var counters: [String: [(time: Double, amount: Int)]] = [:]
    private var logs: [LogLine] = []
    public let memoryDNS: MemoryDNS
    public let memoryHTTP: MemoryHTTP
    /// `mailgate.kv`: the Policy module's in-memory store, on this fixture's clock.
    public let memoryKeyValues: MemoryKeyValueStore
    public var keyValues: any PolicyKeyValueStore { memoryKeyValues }

    public init(now: Double = PolicyTranscript.defaultNow, keyValues: [String: KeyValueEntry] = [:]) {
        clock = now
        memoryDNS = MemoryDNS()
        memoryHTTP = MemoryHTTP()
        memoryKeyValues = MemoryKeyValueStore(keyValues)
    }

    /// A fixture holding a transcript's [store] and [[dns]].
    public convenience init(transcript: PolicyTranscript) {
        self.init(now: transcript.now, keyValues: transcript.store.kv.mapValues { seed in
            KeyValueEntry(value: seed.value, expires: seed.ttl.map { transcript.now + $0 } ?? .infinity)
        })
        let store = transcript.store
        domains = Set(store.domains.map { $0.lowercased() })
        accounts = Set(store.accounts)
        aliases = store.aliases
        catchAll = store.catchAll
        for (ip, ttl) in store.whitelist {
            whitelist[ip] = (nil, ttl.map { transcript.now + $0 } ?? .infinity)
        }
        for (key, count) in store.counters where count > 0 { counters[key] = [(transcript.now, count)] }
        for answer in transcript.dns { memoryDNS.set(answer.name, answer.type, answer.result) }
        for answer in transcript.http { memoryHTTP.set(answer.url, method: answer.method, answer.result) }
    }

    private func locked<T>(_ body: () -> T) -> T { lock.lock(); defer { lock.unlock() }; return body() }

    // MARK: set-up and inspection (tests, the runner)

    public func addDomain(_ domain: String) { locked { _ = domains.insert(domain.lowercased()) } }
    public func addAccount(_ address: MailAddress) { locked { _ = accounts.insert(address.normalized) } }
    public func addAlias(_ address: MailAddress, target: String) { locked { aliases[address.normalized] = target } }
    public func setCatchAll(_ domain: String, target: String) { locked { catchAll[domain.lowercased()] = target } }

    /// Moves the clock forward (a transcript's `wait`).
    public func advance(_ seconds: Double) { locked { clock += seconds } }

    /// Log lines since the last call, oldest first.
    public func takeLogs() -> [LogLine] {
        locked {
            defer { logs = [] }
            return logs
        }
    }

    /// The whitelist entry of `ip` if it has not expired: (user, expiry).
    public func whitelistEntry(_ ip: String) -> (user: String?, expires: Double)? {
        locked {
            guard let entry = whitelist[Self.normalizeIP(ip)], entry.expires > clock else { return nil }
            return entry
        }
    }

    // MARK: PolicyHost

    public func isLocalDomain(_ domain: String) -> Bool { locked { domains.contains(domain.lowercased()) } }
    public func userExists(_ address: MailAddress) -> Bool { locked { accounts.contains(address.normalized) } }
    public func aliasExists(_ address: MailAddress) -> Bool { locked { aliases[address.normalized] != nil } }
    public func hasCatchAll(_ domain: String) -> Bool { locked { catchAll[domain.lowercased()] != nil } }

    public func whitelistContains(_ ip: String) -> Bool { whitelistEntry(ip) != nil }
    public func whitelistAdd(_ ip: String, user: String?, ttlSeconds: Int) {
        locked { whitelist[Self.normalizeIP(ip)] = (user, clock + Double(ttlSeconds)) }
    }
    public func whitelistRemove(_ ip: String) { locked { _ = whitelist.removeValue(forKey: Self.normalizeIP(ip)) } }

    public func counterIncrement(_ key: String, amount: Int, windowSeconds: Int) -> Int {
        locked {
            counters[key, default: []].append((clock, amount))
            return count(key, windowSeconds)
        }
    }
    public func counterGet(_ key: String, windowSeconds: Int) -> Int { locked { count(key, windowSeconds) } }

    /// The sum of increments within the window ending now (the store counts in buckets
    /// of window/60; exact here, so transcripts do not depend on bucket edges).
    private func count(_ key: String, _ window: Int) -> Int {
        let start = clock - Double(window)
        return (counters[key] ?? []).reduce(0) { $1.time > start ? $0 + $1.amount : $0 }
    }

    public func now() -> Double { locked { clock } }

    public func log(_ level: PolicyLogLevel, policy: String, _ message: String) {
        locked { logs.append(LogLine(level: level, policy: policy, message: message)) }
    }

    public var dns: (any DNSLookupService)? { memoryDNS }
    public var http: (any PolicyHTTPClient)? { memoryHTTP }

    // MARK: helpers

    static func normalizeIP(_ ip: String) -> String { IPAddress(ip)?.description ?? ip }

    /// DNS names compare lower-cased, without a trailing dot.
    public static func dnsKey(_ name: String) -> String {
        var name = name.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        return name
    }
}

/// Canned DNS answers: every question not set answers `.nxdomain`. Answers arrive on
/// another thread, as a real resolver's do, so a caller that suspends for the answer is
/// exercised the way it is in the server. Questions asked are kept in order.
public final class MemoryDNS: DNSLookupService, @unchecked Sendable {
    // @unchecked: `answers` and `asked` are guarded by `lock`.
    private let lock = NSLock()
    private var answers: [String: DNSLookupResult] = [:]
    private var asked: [(name: String, type: DNSRecordType, result: DNSLookupResult)] = []

    public init() {}

    public func set(_ name: String, _ type: DNSRecordType, _ result: DNSLookupResult) {
        lock.lock(); defer { lock.unlock() }
        answers["\(type.name) \(PolicyTestFixture.dnsKey(name))"] = result
    }

    /// The questions asked since the last call, with what they were answered.
    public func takeQueries() -> [(name: String, type: DNSRecordType, result: DNSLookupResult)] {
        lock.lock(); defer { lock.unlock() }
        defer { asked = [] }
        return asked
    }

    public func answer(_ name: String, _ type: DNSRecordType) -> DNSLookupResult {
        lock.lock(); defer { lock.unlock() }
        let result = answers["\(type.name) \(PolicyTestFixture.dnsKey(name))"] ?? .nxdomain
        asked.append((name, type, result))
        return result
    }

    /// Answers come on a serial queue of their own (like a resolver's event loop), never
    /// on a global queue that blocked callers could starve.
    static let answers = DispatchQueue(label: "mailgate.policy-test.dns")

    public func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                       _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        let result = answer(name, type)
        MemoryDNS.answers.async { completion(result) }
    }
}

/// Canned HTTP answers by URL (and method, when one is given): a request without one
/// fails with "refused", as if nothing listened. Answers arrive on another thread, as
/// HTTPClient's do. Requests are kept in order, with their headers and body size.
public final class MemoryHTTP: PolicyHTTPClient, @unchecked Sendable {
    // @unchecked: `answers` and `asked` are guarded by `lock`.
    public struct Asked: Sendable {
        public var request: PolicyHTTPRequest
        public var timeout: Duration
        public var result: Result<PolicyHTTPResponse, PolicyHTTPError>
    }

    private let lock = NSLock()
    private var answers: [String: Result<PolicyHTTPResponse, PolicyHTTPError>] = [:]
    private var asked: [Asked] = []

    public init() {}

    /// `method` nil: any method.
    public func set(_ url: String, method: String? = nil, _ result: Result<PolicyHTTPResponse, PolicyHTTPError>) {
        lock.lock(); defer { lock.unlock() }
        answers[Self.key(url, method)] = result
    }

    /// The requests since the last call, with what they were answered.
    public func takeRequests() -> [Asked] {
        lock.lock(); defer { lock.unlock() }
        defer { asked = [] }
        return asked
    }

    static func key(_ url: String, _ method: String?) -> String {
        "\(method?.uppercased() ?? "*") \(PolicyHTTPURL(url)?.description ?? url)"
    }

    static let answers = DispatchQueue(label: "mailgate.policy-test.http")

    public func send(_ request: PolicyHTTPRequest, timeout: Duration,
                     completion: @escaping @Sendable (Result<PolicyHTTPResponse, PolicyHTTPError>) -> Void) {
        lock.lock()
        var result = answers[Self.key(request.url.description, request.method)]
            ?? answers[Self.key(request.url.description, nil)] ?? .failure(.refused)
        if case .success(let response) = result {
            let size = response.body.count + response.headers.reduce(64) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
            if size > request.maxResponseBytes { result = .failure(.tooLarge) }
        }
        asked.append(Asked(request: request, timeout: timeout, result: result))
        lock.unlock()
        let answer = result
        MemoryHTTP.answers.async { completion(answer) }
    }
}
