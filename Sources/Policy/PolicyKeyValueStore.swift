// What `mailgate.kv` reaches: a key-value store with expiry, shared by every VM.
// The Gateway backs it with the LMDB `kv` table (StoreKeyValues); `MemoryKeyValueStore`
// is the in-memory double for unit tests and `mailgate policy test`. Times are passed
// in (the host's `now()`), so a test clock drives expiry. Arguments are already
// checked by the caller (KeyValueLimits); implementations do not re-validate.
import Foundation
import MailCore

public protocol PolicyKeyValueStore: Sendable {
    /// The live value of `key`; nil when absent or expired at `now`.
    func get(_ key: String, now: Double) -> KeyValue?
    /// Stores `value` until `expires` (replacing any value and expiry).
    func set(_ key: String, _ value: KeyValue, expires: Double)
    /// Adds `amount` to the integer at `key` and returns the sum. A missing or expired
    /// key starts at 0 and expires at `newExpiry` (required then); an existing one
    /// keeps its expiry.
    func increment(_ key: String, by amount: Int, newExpiry: Double?, now: Double) -> Result<Int, KeyValueIncrementError>
    /// Removes `key`; true when it held a live value at `now`.
    func delete(_ key: String, now: Double) -> Bool
}

/// The in-memory store: one dictionary under a lock. Expired entries are dropped when
/// touched and by `sweep(now:)`.
public final class MemoryKeyValueStore: PolicyKeyValueStore, @unchecked Sendable {
    // @unchecked: `entries` is only touched with `lock` held.
    private let lock = NSLock()
    private var entries: [String: KeyValueEntry]

    public init(_ entries: [String: KeyValueEntry] = [:]) {
        self.entries = entries
    }

    private func locked<T>(_ body: (inout [String: KeyValueEntry]) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&entries)
    }

    public func get(_ key: String, now: Double) -> KeyValue? {
        locked { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.isLive(at: now) else { entries[key] = nil; return nil }
            return entry.value
        }
    }

    public func set(_ key: String, _ value: KeyValue, expires: Double) {
        locked { $0[key] = KeyValueEntry(value: value, expires: expires) }
    }

    public func increment(_ key: String, by amount: Int, newExpiry: Double?, now: Double) -> Result<Int, KeyValueIncrementError> {
        locked { entries in
            KeyValueEntry.incremented(entries[key], by: amount, newExpiry: newExpiry, now: now).map { entry in
                entries[key] = entry
                guard case .integer(let sum) = entry.value else { preconditionFailure("incr makes integers") }
                return sum
            }
        }
    }

    public func delete(_ key: String, now: Double) -> Bool {
        locked { entries in
            guard let removed = entries.removeValue(forKey: key) else { return false }
            return removed.isLive(at: now)
        }
    }

    /// Every entry, expired ones included (tests and fixtures look at them).
    public var snapshot: [String: KeyValueEntry] { locked { $0 } }

    /// Drops entries expired at `now`; returns how many.
    @discardableResult
    public func sweep(now: Double) -> Int {
        locked { entries in
            let before = entries.count
            entries = entries.filter { $0.value.isLive(at: now) }
            return before - entries.count
        }
    }
}
