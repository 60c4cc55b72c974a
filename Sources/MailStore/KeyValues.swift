// The policy key-value table (`mailgate.kv`, named database `kv`): key -> value and
// expiry, shared by every VM and process and kept across reloads and restarts. An
// expired entry is absent for every reader; `purgeExpiredKeyValues` (run by the
// server's periodic purge) deletes it, and the next write to the key replaces it.
// LMDB keys are at most 511 bytes and policy keys up to 512: a key longer than
// `maxDirectKey` is stored under its first bytes plus a 64-bit hash of the whole, and
// every record keeps its full key, so a lookup never answers for another key.

import Foundation
import MailCore

struct KeyValueRecord {
    var key: String
    var entry: KeyValueEntry

    init(key: String, entry: KeyValueEntry) {
        self.key = key; self.entry = entry
    }

    init(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var r = try ByteReader(bytes, record: "kv")
        key = try r.string()
        let expires = try r.f64()
        let value: KeyValue
        switch try r.u8() {
        case 0: value = .string(try r.string())
        case 1: value = .integer(Int(try r.i64()))
        case 2: value = .double(try r.f64())
        default: throw StoreError(.io, "corrupt kv record: unknown value type")
        }
        entry = KeyValueEntry(value: value, expires: expires)
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.string(key)
        w.f64(entry.expires)
        switch entry.value {
        case .string(let text): w.u8(0); w.string(text)
        case .integer(let number): w.u8(1); w.i64(Int64(number))
        case .double(let number): w.u8(2); w.f64(number)
        }
        return w.bytes
    }
}

extension LMDBStore {
    /// The live entry for `key` at `now`; nil when absent or expired.
    public func kvGet(_ key: String, now: Double) -> KeyValueEntry? {
        guard let storageKey = try? Self.kvKey(key) else { return nil }
        let entry = try? read { txn throws(StoreError) in try txn.kvEntry(storageKey, key: key) }
        guard let entry = entry ?? nil, entry.isLive(at: now) else { return nil }
        return entry
    }

    public func kvSet(_ key: String, _ entry: KeyValueEntry) throws(StoreError) {
        let storageKey = try Self.kvKey(key)
        let record = try Self.kvRecord(key, entry)
        try write { txn throws(StoreError) in try txn.put(.kv, storageKey, record) }
    }

    /// The same, without blocking: `completion` runs on the writer thread after the commit.
    public func kvSet(_ key: String, _ entry: KeyValueEntry,
                      completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        let storageKey: [UInt8], record: [UInt8]
        do throws(StoreError) {
            storageKey = try Self.kvKey(key)
            record = try Self.kvRecord(key, entry)
        } catch { return completion(.failure(error)) }
        submit({ txn throws(StoreError) in try txn.put(.kv, storageKey, record) }, completion: completion)
    }

    /// Removes `key`; true when it held a live value at `now`.
    @discardableResult
    public func kvDelete(_ key: String, now: Double) throws(StoreError) -> Bool {
        let storageKey = try Self.kvKey(key)
        return try write { txn throws(StoreError) in try txn.kvDelete(storageKey, key: key, now: now) }
    }

    /// The same, without blocking.
    public func kvDelete(_ key: String, now: Double, completion: @escaping @Sendable (Result<Bool, StoreError>) -> Void) {
        let storageKey: [UInt8]
        do throws(StoreError) { storageKey = try Self.kvKey(key) } catch { return completion(.failure(error)) }
        submit({ txn throws(StoreError) in try txn.kvDelete(storageKey, key: key, now: now) }, completion: completion)
    }

    /// Adds `amount` to the integer at `key` in one write transaction (see
    /// `KeyValueEntry.incremented`); the new entry, or why it could not be done.
    public func kvIncrement(_ key: String, by amount: Int, newExpiry: Double?,
                            now: Double) throws(StoreError) -> Result<KeyValueEntry, KeyValueIncrementError> {
        let storageKey = try Self.kvKey(key)
        return try write { txn throws(StoreError) in
            let result = KeyValueEntry.incremented(try txn.kvEntry(storageKey, key: key), by: amount,
                                                   newExpiry: newExpiry, now: now)
            if case .success(let entry) = result {
                try txn.put(.kv, storageKey, KeyValueRecord(key: key, entry: entry).encoded())
            }
            return result
        }
    }

    /// The live entries at `now`, in storage order.
    public func kvEntries(now: Double) throws(StoreError) -> [(key: String, entry: KeyValueEntry)] {
        try read { txn throws(StoreError) in
            var result: [(key: String, entry: KeyValueEntry)] = []
            try txn.scan(.kv) { _, value throws(StoreError) in
                let record = try KeyValueRecord(value)
                if record.entry.isLive(at: now) { result.append((record.key, record.entry)) }
                return true
            }
            return result
        }
    }

    /// Deletes entries expired at `now`; returns how many.
    @discardableResult
    public func purgeExpiredKeyValues(now: Double) throws(StoreError) -> Int {
        try write { txn throws(StoreError) in
            var expired: [[UInt8]] = []
            try txn.scan(.kv) { key, value throws(StoreError) in
                if try !KeyValueRecord(value).entry.isLive(at: now) { expired.append(Array(key)) }
                return true
            }
            for key in expired { try txn.delete(.kv, key) }
            return expired.count
        }
    }

    /// Keys up to this many bytes are stored as they are.
    static let maxDirectKey = 480

    static func kvKey(_ key: String) throws(StoreError) -> [UInt8] {
        guard KeyValueLimits.isValidKey(key) else {
            throw StoreError(.invalid, "kv key must be 1 to \(KeyValueLimits.maxKeyBytes) bytes")
        }
        let bytes = Array(key.utf8)
        guard bytes.count > maxDirectKey else { return bytes }
        // FNV-1a over the whole key: only told apart from another long key with the
        // same first 448 bytes; the record's full key settles any collision.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Array(bytes.prefix(448)) + [0] + Keys.be64(hash)
    }

    static func kvRecord(_ key: String, _ entry: KeyValueEntry) throws(StoreError) -> [UInt8] {
        guard entry.value.byteCount <= KeyValueLimits.maxValueBytes else {
            throw StoreError(.invalid, "kv value must be at most \(KeyValueLimits.maxValueBytes) bytes")
        }
        guard entry.expires.isFinite else { throw StoreError(.invalid, "invalid kv expiry \(entry.expires)") }
        return KeyValueRecord(key: key, entry: entry).encoded()
    }
}

extension Txn {
    /// The entry stored for `key` (expired or not); nil when absent or when the slot
    /// holds another (long, colliding) key.
    func kvEntry(_ storageKey: [UInt8], key: String) throws(StoreError) -> KeyValueEntry? {
        guard let bytes = try get(.kv, storageKey) else { return nil }
        let record = try KeyValueRecord(bytes)
        return record.key == key ? record.entry : nil
    }

    func kvDelete(_ storageKey: [UInt8], key: String, now: Double) throws(StoreError) -> Bool {
        guard let entry = try kvEntry(storageKey, key: key) else { return false }
        try delete(.kv, storageKey)
        return entry.isLive(at: now)
    }
}
