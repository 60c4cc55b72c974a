// What every connection of a running server shares: store, policy engine, TLS
// context, configuration, the blocking-work thread pool, the DNS resolver, connection
// accounting.
// Reloadable parts sit behind locks and are swapped whole.
import Foundation
import Logging
import MailCore
import MailStore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Policy

public final class ServerContext: Sendable {
    public let store: LMDBStore
    public let policy: PolicyEngine
    public let threadPool: NIOThreadPool
    /// The one DNS resolver (and cache) of the server: Lua's `mailgate.dns` and the queue
    /// runner's MX lookups. Built at start from `[delivery] nameserver` or resolv.conf.
    public let dns: DNSResolver
    public let logger: Logger
    let state: NIOLockedValueBox<State>
    let connections = NIOLockedValueBox(ConnectionTable())
    let sequence = ManagedAtomicCounter()
    let maildropLocks = MaildropLocks()
    /// IMAP sessions waiting to hear about changes of their selected mailbox.
    let mailboxWatchers = MailboxWatchers()
    /// The bare `<postmaster>` domain and when it was computed (domains change rarely;
    /// reading them for every connection showed up in profiles).
    let postmasterCache = NIOLockedValueBox<(domain: String, at: Double)?>(nil)
    /// Set once the queue runner exists: woken when SMTP queued something, and the one
    /// that writes delivery notices.
    let queueRunner = NIOLockedValueBox<QueueRunner?>(nil)
    /// DKIM signing keys, parsed once and cached (DKIMSigning.swift).
    let dkimKeys: DKIMSigningKeys

    /// One log line per credential check, alike in every protocol: "<protocol> login"
    /// (info) with the account, or "<protocol> login refused" (notice) with the login as
    /// given. Secrets are never logged.
    func logLogin(_ protocolName: String, client: String, login: String, account: String?, mechanism: String) {
        if let account {
            logger.info("\(protocolName) login", metadata: ["client": "\(client)", "user": "\(account)",
                                                         "mechanism": "\(mechanism)"])
        } else {
            logger.notice("\(protocolName) login refused", metadata: ["client": "\(client)", "user": "\(login)",
                                                                   "mechanism": "\(mechanism)"])
        }
    }

    func wakeQueueRunner() {
        queueRunner.withLockedValue { $0 }?.wake()
    }

    struct State {
        var configuration: GatewayConfiguration
        var tls: TLSSetup.Material?
    }

    init(configuration: GatewayConfiguration, store: LMDBStore, policy: PolicyEngine, tls: TLSSetup.Material?,
         threadPool: NIOThreadPool, dns: DNSResolver, logger: Logger) {
        self.store = store
        self.dns = dns
        self.policy = policy
        self.threadPool = threadPool
        self.logger = logger
        self.dkimKeys = DKIMSigningKeys(store: store, logger: logger)
        self.state = NIOLockedValueBox(State(configuration: configuration, tls: tls))
    }

    public var configuration: GatewayConfiguration { state.withLockedValue { $0.configuration } }
    public var tls: TLSSetup.Material? { state.withLockedValue { $0.tls } }

    func update(configuration: GatewayConfiguration, tls: TLSSetup.Material?) {
        state.withLockedValue { $0 = State(configuration: configuration, tls: tls) }
    }

    /// Runs blocking work (Lua, crypt, store writes that wait) off the event loop.
    func offload<T: Sendable>(on eventLoop: EventLoop, _ body: @escaping @Sendable () throws -> T) -> EventLoopFuture<T> {
        threadPool.runIfActive(eventLoop: eventLoop, body)
    }

    /// "1AB…": time-ordered, unique within this process and across restarts.
    func makeQueueID() -> String {
        let micros = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        let count = sequence.next() & 0xFFFF
        // Four upper-case hex digits by hand: String(format:) was 2.4 % of an SMTP profile.
        let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
        let suffix = String(decoding: [digits[Int(count >> 12)], digits[Int((count >> 8) & 0xF)],
                                       digits[Int((count >> 4) & 0xF)], digits[Int(count & 0xF)]], as: UTF8.self)
        return String(micros, radix: 36, uppercase: true) + suffix
    }
}

/// A lock-protected counter (kept tiny so the hot path takes one uncontended lock).
final class ManagedAtomicCounter: Sendable {
    private let value = NIOLockedValueBox<UInt64>(0)
    func next() -> UInt64 { value.withLockedValue { $0 += 1; return $0 } }
}

/// Open connections overall and per client IP, for the connection limits.
struct ConnectionTable {
    var total = 0
    var perIP: [String: Int] = [:]
    var channels: [ObjectIdentifier: Channel] = [:]

    mutating func admit(ip: String, channel: Channel, limits: Limits) -> Bool {
        guard total < limits.maxConnections, perIP[ip, default: 0] < limits.maxConnectionsPerIP else { return false }
        total += 1
        perIP[ip, default: 0] += 1
        channels[ObjectIdentifier(channel)] = channel
        return true
    }

    mutating func release(ip: String, channel: Channel) {
        guard channels.removeValue(forKey: ObjectIdentifier(channel)) != nil else { return }
        total -= 1
        if let count = perIP[ip], count > 1 { perIP[ip] = count - 1 } else { perIP[ip] = nil }
    }
}
