// Per-transaction results (`tx:set_result(name, value)` / `tx:result(name)`): what one
// policy found out (a score, a DNSBL hit, a verdict reason) for later hooks and other
// policies of the same transaction. The SMTP session creates one box per transaction
// and every TransactionInfo of that transaction carries the same box, so results are
// shared by all policies and VMs and readable from `mail_from` to `data` and `deliver`.
// Values are plain PolicyValues (strings, numbers, booleans, tables of those), bounded
// per value and per transaction so a loop cannot grow the session without limit.
import Foundation

public final class TransactionResults: @unchecked Sendable {
    // @unchecked: `values` and `totalBytes` are only touched with `lock` held.
    private let lock = NSLock()
    private var values: [String: (value: PolicyValue, bytes: Int)] = [:]
    private var totalBytes = 0
    /// What shadow policies (`[policy] shadow`) set: seen by shadow policies over the
    /// live results, never by the live chain (a shadow must not steer live decisions).
    /// A nil value is a removal.
    private var shadowValues: [String: (value: PolicyValue?, bytes: Int)] = [:]
    private var shadowBytes = 0

    /// A value serialized (strings, keys, 8 bytes per scalar) is at most 16 KiB.
    public static let maxValueBytes = 16 * 1024
    /// Tables nest at most 4 levels.
    public static let maxDepth = 4
    /// Names are 1 to 128 bytes.
    public static let maxNameBytes = 128
    /// All results of one transaction together: at most 256 KiB.
    public static let maxTotalBytes = 256 * 1024

    public init() {}

    /// The value under `name`; for a shadow policy, what shadows set first.
    public func value(_ name: String, shadow: Bool = false) -> PolicyValue? {
        lock.lock()
        defer { lock.unlock() }
        if shadow, let overlay = shadowValues[name] { return overlay.value }
        return values[name]?.value
    }

    /// Stores `value` under `name` (nil removes it), for the live chain or, with
    /// `shadow`, for shadow policies only; false when that side's results would pass
    /// `maxTotalBytes`.
    @discardableResult
    public func set(_ name: String, _ value: PolicyValue?, shadow: Bool = false) -> Bool {
        let bytes = value.map { Self.serializedSize($0) + name.utf8.count } ?? 0
        lock.lock()
        defer { lock.unlock() }
        if shadow {
            let previous = shadowValues[name]?.bytes ?? 0
            guard shadowBytes - previous + bytes <= Self.maxTotalBytes else { return false }
            shadowBytes += bytes - previous
            shadowValues[name] = (value, bytes)
            return true
        }
        let previous = values[name]?.bytes ?? 0
        guard totalBytes - previous + bytes <= Self.maxTotalBytes else { return false }
        totalBytes += bytes - previous
        values[name] = value.map { ($0, bytes) }
        return true
    }

    /// Every live result (for logs and tests).
    public var all: [String: PolicyValue] {
        lock.lock()
        defer { lock.unlock() }
        return values.mapValues(\.value)
    }

    /// The size `maxValueBytes` bounds: strings and keys by their bytes, scalars 8.
    public static func serializedSize(_ value: PolicyValue) -> Int {
        switch value {
        case .string(let text): text.utf8.count
        case .integer, .double, .bool: 8
        case .array(let elements): elements.reduce(8) { $0 + serializedSize($1) }
        case .table(let fields): fields.reduce(8) { $0 + $1.key.utf8.count + serializedSize($1.value) }
        }
    }
}

extension TransactionResults: Equatable {
    /// The same box, or boxes holding the same results: TransactionInfo stays a value
    /// that compares by content (a fresh box equals another fresh one).
    public static func == (lhs: TransactionResults, rhs: TransactionResults) -> Bool {
        lhs === rhs || lhs.all == rhs.all
    }
}
