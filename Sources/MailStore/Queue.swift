// The outbound queue: entries (JSON, key = queue id) referencing a message blob. Queue
// ids are sortable (creation order) and unique across processes: 11 Crockford base32
// digits of the microsecond clock (strictly increasing within a process) + 4 digits
// derived from the process id and a random salt. Removing an entry releases its blob.

import Foundation

extension LMDBStore {
    /// A fresh queue id, e.g. for logging before `deliver` (pass it in `remote.id`).
    public static func makeQueueID() -> String {
        QueueIDGenerator.shared.next()
    }

    /// Every queue entry, oldest first.
    public func queueEntries() throws(StoreError) -> [QueueEntry] {
        try read { txn throws(StoreError) in
            var result: [QueueEntry] = []
            try txn.scan(.queue) { _, value throws(StoreError) in
                result.append(try QueueCodec.decode(value))
                return true
            }
            return result
        }
    }

    public func queueEntry(_ id: String) -> QueueEntry? {
        guard !id.isEmpty else { return nil }
        return try? read { txn throws(StoreError) in
            try txn.get(.queue, Array(id.utf8)).map { bytes throws(StoreError) in try QueueCodec.decode(bytes) }
        }
    }

    /// Replaces an existing entry (recipient states, attempts, held…); its blob is kept.
    public func updateQueueEntry(_ entry: QueueEntry) throws(StoreError) {
        try write { txn throws(StoreError) in
            let key = Array(entry.id.utf8)
            guard !entry.id.isEmpty, let old = try txn.get(.queue, key) else {
                throw StoreError(.notFound, "no such queue entry: \(entry.id)")
            }
            var updated = entry
            let previous = try QueueCodec.decode(old)
            updated.blobID = previous.blobID
            updated.size = previous.size
            try txn.put(.queue, key, try QueueCodec.encode(updated))
        }
    }

    /// Deletes an entry and releases its message blob.
    public func removeQueueEntry(_ id: String) throws(StoreError) {
        try write { txn throws(StoreError) in
            let key = Array(id.utf8)
            guard !id.isEmpty, let old = try txn.get(.queue, key) else {
                throw StoreError(.notFound, "no such queue entry: \(id)")
            }
            let entry = try QueueCodec.decode(old)
            try txn.delete(.queue, key)
            try txn.releaseBlob(entry.blobID)
        }
    }
}

/// @unchecked Sendable: `last` is guarded by `lock`; `suffix` is immutable.
final class QueueIDGenerator: @unchecked Sendable {
    static let shared = QueueIDGenerator()
    private let lock = NSLock()
    private var last: UInt64 = 0
    private let suffix: String

    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    init() {
        let pid = UInt64(UInt32(bitPattern: getpid()))
        let mixed = (pid &* 0x9E37_79B9) ^ UInt64.random(in: 0..<(1 << 20))
        suffix = Self.base32(mixed & 0xFFFFF, digits: 4)
    }

    func next() -> String {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        lock.lock()
        let value = max(now, last + 1)
        last = value
        lock.unlock()
        return Self.base32(value, digits: 11) + suffix
    }

    static func base32(_ value: UInt64, digits: Int) -> String {
        var chars = [UInt8](repeating: alphabet[0], count: digits)
        var v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            chars[i] = alphabet[Int(v & 31)]
            v >>= 5
        }
        return String(decoding: chars, as: UTF8.self)
    }
}
