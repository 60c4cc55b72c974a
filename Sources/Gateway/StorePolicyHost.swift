// The Lua host API's view of the world, backed by the LMDB store: the same facts the
// protocols read (one way in per fact). Hooks may run on an event loop, so the hot
// calls never wait for a commit: counter increments are written behind, and a count
// is the store snapshot plus exactly the increments that snapshot does not hold yet
// (told apart by LMDB transaction id, so none is counted twice or missed). Whitelist
// changes are written behind too, answered from memory until they commit.
import Foundation
import Logging
import MailAuth
import MailCore
import MailStore
import NIOConcurrencyHelpers
import Policy

final class StorePolicyHost: PolicyHost, @unchecked Sendable {
    // @unchecked: LMDBStore and Logger are thread-safe; `pendingCounters` is lock-protected.
    let store: LMDBStore
    let logger: Logger
    /// Counter increments submitted and not yet completed, by key.
    let pendingCounters = NIOLockedValueBox(PendingCounters())
    /// Whitelist changes submitted and not yet committed, by IP: expiry (0 = removed).
    let pendingWhitelist = NIOLockedValueBox<[String: (expires: Double, token: UInt64)]>([:])

    /// `mailgate.kv`: the LMDB `kv` table, written behind (StoreKeyValues.swift).
    let keyValues: any PolicyKeyValueStore
    /// The server's resolver behind `mailgate.dns` (nil in tests that need none).
    let dns: (any DNSLookupService)?
    /// The client behind `mailgate.http` (HTTPClient.swift; nil in tests that need none).
    let http: (any PolicyHTTPClient)?
    /// Rows for DMARC aggregate reports (`mailgate.dmarc.check`), into the store.
    let dmarcReportStore: StoreDMARCReports
    var dmarcReports: (any DMARCReportRecorder)? { dmarcReportStore }

    init(store: LMDBStore, logger: Logger, dns: (any DNSLookupService)? = nil, http: (any PolicyHTTPClient)? = nil,
         dmarc: DMARCReportSettings = DMARCReportSettings()) {
        self.store = store
        self.logger = logger
        self.dmarcReportStore = StoreDMARCReports(store: store, logger: logger, settings: dmarc)
        self.keyValues = StoreKeyValues(store: store, logger: logger)
        self.dns = dns
        self.http = http
    }

    func isLocalDomain(_ domain: String) -> Bool { store.domainExists(domain) }
    func userExists(_ address: MailAddress) -> Bool { store.accountExists(address) }
    func aliasExists(_ address: MailAddress) -> Bool { store.alias(address.normalized) != nil }
    func hasCatchAll(_ domain: String) -> Bool { store.catchAll(domain: domain) != nil }

    func whitelistContains(_ ip: String) -> Bool {
        let key = Self.normalizeIP(ip)
        // The newest change not yet committed decides; otherwise the store.
        if let pending = pendingWhitelist.withLockedValue({ $0[key] }) { return pending.expires > now() }
        return store.whitelistContains(ip: key, now: now())
    }

    // Written behind like counters: a hook may run on an event loop, and waiting there for
    // an fsync would stall every connection of that loop. Until the commit the change is
    // answered from `pendingWhitelist`; a crash before it loses only that login's relay
    // window (the user logs in again).
    func whitelistAdd(_ ip: String, user: String?, ttlSeconds: Int) {
        let key = Self.normalizeIP(ip)
        let expires = now() + Double(ttlSeconds)
        let token = notePendingWhitelist(key, expires: expires)
        store.whitelistAdd(ip: key, user: user, expires: expires) { [self] result in
            finishPendingWhitelist(key, token: token, result, action: "add")
        }
    }

    func whitelistRemove(_ ip: String) {
        let key = Self.normalizeIP(ip)
        let token = notePendingWhitelist(key, expires: 0)
        store.whitelistRemove(ip: key) { [self] result in
            finishPendingWhitelist(key, token: token, result, action: "remove")
        }
    }

    private func notePendingWhitelist(_ key: String, expires: Double) -> UInt64 {
        pendingWhitelist.withLockedValue { table in
            let token = (table[key]?.token ?? 0) &+ 1
            table[key] = (expires, token)
            return token
        }
    }

    private func finishPendingWhitelist(_ key: String, token: UInt64, _ result: Result<Void, StoreError>, action: String) {
        // Only the newest change's commit clears the entry: an older one landing later
        // must not hide a newer change still on its way.
        pendingWhitelist.withLockedValue { table in
            if table[key]?.token == token { table[key] = nil }
        }
        if case .failure(let error) = result {
            logger.error("whitelist \(action) failed", metadata: ["ip": "\(key)", "error": "\(error)"])
        }
    }

    func counterIncrement(_ key: String, amount: Int, windowSeconds: Int) -> Int {
        let window = Double(windowSeconds)
        let (token, count) = pendingCounters.withLockedValue { pending -> (UInt64, Int) in
            let token = pending.add(key: key, amount: amount)
            return (token, visibleCount(key, window: window, pending: &pending))
        }
        store.counterIncrement(key, amount: amount, window: window, now: now(), committing: { [pendingCounters] id in
            pendingCounters.withLockedValue { $0.assign(token, key: key, transactionID: id) }
        }, completion: { [pendingCounters, logger] result in
            pendingCounters.withLockedValue { $0.remove(token, key: key) }
            if case .failure(let error) = result {
                logger.error("counter update failed", metadata: ["key": "\(key)", "error": "\(error)"])
            }
        })
        return count
    }

    func counterGet(_ key: String, windowSeconds: Int) -> Int {
        pendingCounters.withLockedValue { visibleCount(key, window: Double(windowSeconds), pending: &$0) }
    }

    /// The stored count plus the increments its snapshot does not include yet. Called with
    /// the lock held, so a completion cannot drop an increment between the snapshot and
    /// the sum (the read is a short LMDB snapshot, never waiting on the writer).
    private func visibleCount(_ key: String, window: Double, pending: inout PendingCounters) -> Int {
        let snapshot = store.counterSnapshot(key, window: window, now: now())
        return snapshot.count + pending.amountNotIn(snapshot: snapshot.transactionID, key: key)
    }

    func now() -> Double { Date().timeIntervalSince1970 }

    func log(_ level: PolicyLogLevel, policy: String, _ message: String) {
        let swiftLevel: Logger.Level = switch level {
        case .debug: .debug
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
        logger.log(level: swiftLevel, "\(message)", metadata: ["policy": "\(policy)"])
    }

    /// One spelling per address so "::ffff:1.2.3.4" and "1.2.3.4" are the same client.
    static func normalizeIP(_ ip: String) -> String {
        IPAddress(ip)?.description ?? ip
    }
}

/// Counter increments on their way to the store. Each carries the id of the write
/// transaction that will commit it once the writer has taken it up.
struct PendingCounters {
    private struct Increment {
        let token: UInt64
        let amount: Int
        var transactionID: UInt?
    }

    private var byKey: [String: [Increment]] = [:]
    private var nextToken: UInt64 = 0

    mutating func add(key: String, amount: Int) -> UInt64 {
        nextToken &+= 1
        byKey[key, default: []].append(Increment(token: nextToken, amount: amount, transactionID: nil))
        return nextToken
    }

    mutating func assign(_ token: UInt64, key: String, transactionID: UInt) {
        guard let index = byKey[key]?.firstIndex(where: { $0.token == token }) else { return }
        byKey[key]![index].transactionID = transactionID
    }

    mutating func remove(_ token: UInt64, key: String) {
        byKey[key]?.removeAll { $0.token == token }
        if byKey[key]?.isEmpty == true { byKey[key] = nil }
    }

    /// The increments a snapshot with id `snapshot` does not contain.
    func amountNotIn(snapshot: UInt, key: String) -> Int {
        byKey[key]?.reduce(0) { sum, increment in
            if let id = increment.transactionID, id <= snapshot { return sum }
            return sum + increment.amount
        } ?? 0
    }
}
