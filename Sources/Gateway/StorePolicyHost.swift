// The Lua host API's view of the world, backed by the LMDB store: the same facts the
// protocols read (one way in per fact). Called from policy threads; may block.
import Foundation
import Logging
import MailCore
import MailStore
import Policy

final class StorePolicyHost: PolicyHost, @unchecked Sendable {
    // @unchecked: LMDBStore and Logger are thread-safe; nothing here is mutated after init.
    let store: LMDBStore
    let logger: Logger

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
        do { return try store.counterIncrement(key, amount: amount, window: Double(windowSeconds), now: now()) }
        catch {
            logger.error("counter update failed", metadata: ["key": "\(key)", "error": "\(error)"])
            return store.counterGet(key, window: Double(windowSeconds), now: now())
        }
    }

    func counterGet(_ key: String, windowSeconds: Int) -> Int {
        store.counterGet(key, window: Double(windowSeconds), now: now())
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
