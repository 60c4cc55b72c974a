// The policy key-value store's values (`mailgate.kv`): what a key holds, when it
// expires, the bounds every implementation enforces, and the one increment rule the
// LMDB table and the in-memory store share. An entry whose expiry has passed is
// absent for every reader even before a sweep deletes it.

public enum KeyValue: Sendable, Equatable {
    case string(String)
    /// Lua integers stay integers (and `incr` only works on them).
    case integer(Int)
    case double(Double)

    /// Bytes the value takes (what `KeyValueLimits.maxValueBytes` bounds).
    public var byteCount: Int {
        switch self {
        case .string(let text): text.utf8.count
        case .integer, .double: 8
        }
    }
}

public struct KeyValueEntry: Sendable, Equatable {
    public var value: KeyValue
    /// Seconds since the epoch: from then on the entry is gone.
    public var expires: Double

    public init(value: KeyValue, expires: Double) {
        self.value = value; self.expires = expires
    }

    public func isLive(at now: Double) -> Bool { expires > now }
}

public enum KeyValueLimits {
    /// Keys are 1 to 512 bytes (UTF-8).
    public static let maxKeyBytes = 512
    /// A string value is at most 64 KiB.
    public static let maxValueBytes = 64 * 1024
    /// A TTL is more than 0 and at most 366 days.
    public static let maxTTLSeconds = 366.0 * 86400

    public static func isValidKey(_ key: String) -> Bool {
        let count = key.utf8.count
        return count >= 1 && count <= maxKeyBytes
    }
}

/// Why `incr` cannot add to a key (a Lua error at the calling line).
public enum KeyValueIncrementError: Error, Sendable, Equatable {
    /// The key holds a string or a non-integral number.
    case notAnInteger
    /// The sum does not fit in a 64-bit integer.
    case overflow
    /// The key is missing or expired and no TTL was given for it.
    case ttlRequired
}

extension KeyValueEntry {
    /// `existing` (nil or expired: a new key starting at 0 that expires at `newExpiry`)
    /// plus `amount`. An existing key keeps its expiry; `newExpiry` only applies to a
    /// new one, and is required then.
    public static func incremented(_ existing: KeyValueEntry?, by amount: Int, newExpiry: Double?,
                                   now: Double) -> Result<KeyValueEntry, KeyValueIncrementError> {
        if let existing, existing.isLive(at: now) {
            guard case .integer(let current) = existing.value else { return .failure(.notAnInteger) }
            let (sum, overflow) = current.addingReportingOverflow(amount)
            guard !overflow else { return .failure(.overflow) }
            return .success(KeyValueEntry(value: .integer(sum), expires: existing.expires))
        }
        guard let newExpiry else { return .failure(.ttlRequired) }
        return .success(KeyValueEntry(value: .integer(amount), expires: newExpiry))
    }
}
