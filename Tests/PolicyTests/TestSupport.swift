// Test doubles and helpers: an in-memory PolicyHost, temp policy directories,
// and builders for sessions and transactions.
import Foundation
import MailAuth
import MailCore
@testable import Policy

final class TestPolicyHost: PolicyHost, @unchecked Sendable {
    struct LogLine: Equatable { var level: PolicyLogLevel; var policy: String; var message: String }
    struct WhitelistEntry: Equatable { var user: String?; var expires: Double }

    private let lock = NSLock()
    private var _localDomains: Set<String> = []
    private var _users: Set<String> = []
    private var _aliases: Set<String> = []
    private var _catchAll: Set<String> = []
    private var _whitelist: [String: WhitelistEntry] = [:]
    private var _counters: [String: [(time: Double, amount: Int)]] = [:]
    private var _logs: [LogLine] = []
    private var _now: Double = 1_800_000_000

    init(localDomains: Set<String> = ["example.test"], users: Set<String> = [], aliases: Set<String> = [],
         catchAll: Set<String> = []) {
        _localDomains = localDomains; _users = users; _aliases = aliases; _catchAll = catchAll
    }

    private func locked<T>(_ body: () -> T) -> T { lock.lock(); defer { lock.unlock() }; return body() }

    var logs: [LogLine] { locked { _logs } }
    var whitelist: [String: WhitelistEntry] { locked { _whitelist } }
    func advance(_ seconds: Double) { locked { _now += seconds } }
    func addWhitelist(_ ip: String, ttl: Double = 3600) { locked { _whitelist[ip] = WhitelistEntry(user: nil, expires: _now + ttl) } }
    func errors() -> [String] { logs.filter { $0.level == .error }.map(\.message) }

    func isLocalDomain(_ domain: String) -> Bool { locked { _localDomains.contains(domain) } }
    func userExists(_ address: MailAddress) -> Bool { locked { _users.contains(address.normalized) } }
    func aliasExists(_ address: MailAddress) -> Bool { locked { _aliases.contains(address.normalized) } }
    func hasCatchAll(_ domain: String) -> Bool { locked { _catchAll.contains(domain) } }

    func whitelistContains(_ ip: String) -> Bool {
        locked { (_whitelist[ip]?.expires ?? 0) > _now }
    }
    func whitelistAdd(_ ip: String, user: String?, ttlSeconds: Int) {
        locked { _whitelist[ip] = WhitelistEntry(user: user, expires: _now + Double(ttlSeconds)) }
    }
    func whitelistRemove(_ ip: String) { locked { _ = _whitelist.removeValue(forKey: ip) } }

    func counterIncrement(_ key: String, amount: Int, windowSeconds: Int) -> Int {
        locked {
            _counters[key, default: []].append((_now, amount))
            return count(key, windowSeconds)
        }
    }
    func counterGet(_ key: String, windowSeconds: Int) -> Int { locked { count(key, windowSeconds) } }
    private func count(_ key: String, _ window: Int) -> Int {
        (_counters[key] ?? []).filter { $0.time > _now - Double(window) }.reduce(0) { $0 + $1.amount }
    }

    /// The resolver behind mailgate.dns (nil: lookups answer "unreachable").
    nonisolated(unsafe) var resolver: (any DNSLookupService)?
    var dns: (any DNSLookupService)? { resolver }
    /// Where mailgate.dmarc.check records report rows (nil: nowhere).
    nonisolated(unsafe) var reportRecorder: (any DMARCReportRecorder)?
    var dmarcReports: (any DMARCReportRecorder)? { reportRecorder }
    /// The client behind mailgate.http (nil: requests answer "unreachable").
    nonisolated(unsafe) var httpClient: (any PolicyHTTPClient)?
    var http: (any PolicyHTTPClient)? { httpClient }
    /// `mailgate.kv`: the Policy module's in-memory store, on this host's clock.
    let keyValues: any PolicyKeyValueStore = MemoryKeyValueStore()
    var memoryKeyValues: MemoryKeyValueStore { keyValues as! MemoryKeyValueStore }

    func now() -> Double { locked { _now } }
    func log(_ level: PolicyLogLevel, policy: String, _ message: String) {
        locked { _logs.append(LogLine(level: level, policy: policy, message: message)) }
    }
}

/// Canned DNS answers. A question without one answers nxdomain. With `holding`, every
/// completion waits until `release()` (or `delay` passes), on another thread.
final class TestResolver: DNSLookupService, @unchecked Sendable {
    /// A serial queue: global queues starve once blocked test threads take their width.
    static let answers = DispatchQueue(label: "test.resolver")
    private let lock = NSLock()
    private var answers: [String: DNSLookupResult] = [:]
    private var held: [@Sendable () -> Void] = []
    private(set) var questions: [(name: String, type: DNSRecordType, timeout: Duration)] = []
    var holding = false
    var delay: Duration?

    func answer(_ name: String, _ type: DNSRecordType, _ result: DNSLookupResult) {
        lock.lock(); answers["\(name.lowercased()) \(type.name)"] = result; lock.unlock()
    }

    func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        lock.lock()
        questions.append((name, type, timeout))
        let result = answers["\(name.lowercased()) \(type.name)"] ?? .nxdomain
        let hold = holding
        let delay = self.delay
        if hold { held.append { completion(result) } }
        lock.unlock()
        if hold { return }
        if let delay {
            Self.answers.asyncAfter(deadline: .now() + .milliseconds(Int(delay.seconds * 1000))) { completion(result) }
        } else {
            completion(result)
        }
    }

    /// Answers every held lookup, on another thread.
    func release() {
        lock.lock()
        let waiting = held
        held = []
        lock.unlock()
        for completion in waiting { Self.answers.async(execute: completion) }
    }

    var heldCount: Int { lock.lock(); defer { lock.unlock() }; return held.count }
    var questionCount: Int { lock.lock(); defer { lock.unlock() }; return questions.count }
}

/// A temp directory with policy files; removed on deinit.
final class PolicyDirectory {
    let url: URL
    var path: String { url.path }
    var plugins: String { url.appendingPathComponent("plugins").path }

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("mailgate-policy-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url.appendingPathComponent("plugins"), withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ name: String, _ text: String) {
        try! text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    func configuration(_ chain: [String], settings: [String: PolicyValue] = [:], globals: [String: PolicyValue] = [:],
                       budget: Int = 100_000, memory: Int = 4 * 1024 * 1024, vms: Int = 2) -> PolicyConfiguration {
        PolicyConfiguration(directory: path, pluginDirectory: plugins, chain: chain, settings: settings, globals: globals,
                            instructionBudget: budget, memoryLimit: memory, vmCount: vms)
    }

    /// Writes one policy `name` and builds an engine with just it.
    func engine(_ text: String, name: String = "p", host: TestPolicyHost = TestPolicyHost(), budget: Int = 100_000,
                memory: Int = 4 * 1024 * 1024, settings: [String: PolicyValue] = [:],
                globals: [String: PolicyValue] = [:]) throws -> PolicyEngine {
        write("\(name).lua", text)
        return try PolicyEngine(configuration: configuration([name], settings: settings, globals: globals,
                                                              budget: budget, memory: memory), host: host)
    }
}

/// The repository's default policies (`policies/`).
let shippedPolicyDirectory: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("policies").path

/// The repository's shipped plugins (`plugins/`).
let shippedPluginDirectory: String = URL(fileURLWithPath: shippedPolicyDirectory)
    .deletingLastPathComponent().appendingPathComponent("plugins").path

func session(ip: String = "192.0.2.10", protocolName: String = "smtp", authUser: String? = nil,
             listener: String = "smtp") -> SessionInfo {
    SessionInfo(id: "s1", protocolName: protocolName, listener: listener, clientIP: ip, clientPort: 40000,
                heloName: "client.example", authUser: authUser, tls: false)
}

func address(_ text: String) -> MailAddress { try! MailAddress.parse(text) }

func transaction(_ session: SessionInfo = session(), from: String? = "sender@remote.example", recipients: [String] = [],
                 size: Int? = nil, headers: [HeaderField] = []) -> TransactionInfo {
    TransactionInfo(session: session, queueID: "Q1", mailFrom: from.map(address), recipients: recipients.map(address),
                    size: size, headers: headers)
}

extension HookResult {
    var reply: Reply? {
        switch verdict {
        case .reject(let reply), .deferred(let reply), .disconnect(let reply): reply
        default: nil
        }
    }
}

extension PolicyEngine {
    /// Runs a `connect` hook for a quick verdict check.
    func connect(_ ip: String = "192.0.2.10") -> HookResult { run(.connect(session(ip: ip))) }
}
