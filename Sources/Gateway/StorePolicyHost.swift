// The Lua host API's view of the world, backed by the LMDB store: the same facts the
// protocols read (one way in per fact). Hooks may run on an event loop, so the hot
// calls never wait for a commit: counter increments are written behind (the count
// returned includes increments still on their way to disk). Whitelist changes, rare
// and meant to be durable at once, still wait.
import Foundation
import Logging
import MailCore
import MailStore
import NIOConcurrencyHelpers
import Policy

final class StorePolicyHost: PolicyHost, @unchecked Sendable {
    // @unchecked: LMDBStore and Logger are thread-safe; `inFlight` is lock-protected.
    let store: LMDBStore
    let logger: Logger
    /// Counter increments submitted but not yet committed, by key.
    let inFlight = NIOLockedValueBox<[String: Int]>([:])

    init(store: LMDBStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func isLocalDomain(_ domain: String) -> Bool { store.domainExists(domain.lowercased()) }
    func userExists(_ address: String) -> Bool { store.account(address.lowercased()) != nil }
    func aliasExists(_ address: String) -> Bool { store.alias(address.lowercased()) != nil }
    func hasCatchAll(_ domain: String) -> Bool { store.catchAll(domain: domain.lowercased()) != nil }

    func whitelistContains(_ ip: String) -> Bool {
        store.whitelistContains(ip: Self.normalizeIP(ip), now: now())
    }

    func whitelistAdd(_ ip: String, user: String?, ttlSeconds: Int) {
        do { try store.whitelistAdd(ip: Self.normalizeIP(ip), user: user, expires: now() + Double(ttlSeconds)) }
        catch { logger.error("whitelist add failed", metadata: ["ip": "\(ip)", "error": "\(error)"]) }
    }

    func whitelistRemove(_ ip: String) {
        do { try store.whitelistRemove(ip: Self.normalizeIP(ip)) }
        catch { logger.error("whitelist remove failed", metadata: ["ip": "\(ip)", "error": "\(error)"]) }
    }

    func counterIncrement(_ key: String, amount: Int, windowSeconds: Int) -> Int {
        // Pending first, then the store: a commit landing in between is counted twice
        // for this one answer (conservative for a rate limit), never missed.
        let pending = inFlight.withLockedValue { table -> Int in
            table[key, default: 0] += amount
            return table[key]!
        }
        let stored = store.counterGet(key, window: Double(windowSeconds), now: now())
        store.counterIncrement(key, amount: amount, window: Double(windowSeconds), now: now()) { [inFlight, logger] result in
            inFlight.withLockedValue { table in
                let left = table[key, default: amount] - amount
                table[key] = left == 0 ? nil : left
            }
            if case .failure(let error) = result {
                logger.error("counter update failed", metadata: ["key": "\(key)", "error": "\(error)"])
            }
        }
        return stored + pending
    }

    func counterGet(_ key: String, windowSeconds: Int) -> Int {
        let pending = inFlight.withLockedValue { $0[key, default: 0] }
        return store.counterGet(key, window: Double(windowSeconds), now: now()) + pending
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
