// What Lua's `mailgate.*` host API reaches outside the VM. The Gateway implements it
// over the store, so protocols and Lua read the same facts (one way in per fact).
import MailAuth
import MailCore

public enum PolicyLogLevel: String, Sendable { case debug, info, warning, error }

public protocol PolicyHost: Sendable {
    func isLocalDomain(_ domain: String) -> Bool
    /// True when `address` is an account (compared case-insensitively).
    func userExists(_ address: MailAddress) -> Bool
    /// True when `address` is an alias/forward source.
    func aliasExists(_ address: MailAddress) -> Bool
    /// True when `domain` has a catch-all mailbox.
    func hasCatchAll(_ domain: String) -> Bool

    /// True when `ip` has an unexpired open-SMTP whitelist entry.
    func whitelistContains(_ ip: String) -> Bool
    func whitelistAdd(_ ip: String, user: String?, ttlSeconds: Int)
    func whitelistRemove(_ ip: String)

    /// Adds `amount` to the sliding-window counter `key` and returns the count within
    /// the last `windowSeconds` (including this increment).
    func counterIncrement(_ key: String, amount: Int, windowSeconds: Int) -> Int
    /// The count within the last `windowSeconds` without changing it.
    func counterGet(_ key: String, windowSeconds: Int) -> Int

    /// The store behind `mailgate.kv` (shared by every VM; the Gateway's is the LMDB
    /// `kv` table, tests use `MemoryKeyValueStore`).
    var keyValues: any PolicyKeyValueStore { get }

    /// Seconds since the epoch (injected so tests control time).
    func now() -> Double

    func log(_ level: PolicyLogLevel, policy: String, _ message: String)

    /// The resolver behind `mailgate.dns`; nil when there is none (every lookup then
    /// fails with "unreachable").
    var dns: (any DNSLookupService)? { get }

    /// Where `mailgate.dmarc.check` records what it evaluated for the DMARC aggregate
    /// reports (domains that publish rua=); nil records nothing.
    var dmarcReports: (any DMARCReportRecorder)? { get }
    /// The client behind `mailgate.http.request`; nil when there is none (every request
    /// then fails with "unreachable").
    var http: (any PolicyHTTPClient)? { get }
}

extension PolicyHost {
    public var dns: (any DNSLookupService)? { nil }
    public var dmarcReports: (any DMARCReportRecorder)? { nil }
    public var http: (any PolicyHTTPClient)? { nil }
}

// `mailgate.kv` at the host's clock: what the Lua bindings call.
extension PolicyHost {
    public func kvGet(_ key: String) -> KeyValue? { keyValues.get(key, now: now()) }
    public func kvSet(_ key: String, _ value: KeyValue, ttlSeconds: Double) {
        keyValues.set(key, value, expires: now() + ttlSeconds)
    }
    public func kvIncrement(_ key: String, by amount: Int, ttlSeconds: Double?) -> Result<Int, KeyValueIncrementError> {
        let now = now()
        return keyValues.increment(key, by: amount, newExpiry: ttlSeconds.map { now + $0 }, now: now)
    }
    public func kvDelete(_ key: String) -> Bool { keyValues.delete(key, now: now()) }
}
