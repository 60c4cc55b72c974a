// Sliding-window rate counters (connections per IP per minute, messages per user per
// hour, …), shared by every process through the store. Each key keeps up to ~60 buckets
// of granularity max(1 s, window/60) and the window it was last written with; the count
// is the sum of the buckets inside the window ending now (accurate to one bucket), so
// windows from 60 s to a day cost the same. Old buckets are pruned on every write;
// `purgeCounters` deletes keys whose window has passed.

import Foundation

struct CounterRecord {
    var window: Double
    var granularity: Double
    var buckets: [(index: Int64, count: Int64)]

    static let bucketsPerWindow = 60.0

    init(window: Double) {
        self.window = window
        self.granularity = Self.granularity(for: window)
        self.buckets = []
    }

    static func granularity(for window: Double) -> Double {
        max(1, window / bucketsPerWindow)
    }

    init(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var r = try ByteReader(bytes, record: "counter")
        window = try r.f64()
        granularity = try r.f64()
        let n = Int(try r.u32())
        guard n <= bytes.count / 16 else { throw StoreError(.io, "corrupt counter record") }
        buckets = []
        buckets.reserveCapacity(n)
        for _ in 0..<n { buckets.append((try r.i64(), try r.i64())) }
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.f64(window)
        w.f64(granularity)
        w.u32(UInt32(buckets.count))
        for bucket in buckets {
            w.i64(bucket.index)
            w.i64(bucket.count)
        }
        return w.bytes
    }

    /// Int64(value) that never traps (NaN -> 0, clamped to ±1e15).
    static func clampedInt(_ value: Double) -> Int64 {
        guard !value.isNaN else { return 0 }
        return Int64(min(max(value, -1e15), 1e15))
    }

    static func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    /// Never traps: non-finite or absurd times map to a clamped index.
    private func bucketIndex(_ time: Double) -> Int64 {
        Self.clampedInt((time / granularity).rounded(.down))
    }

    /// Sum of the buckets inside (now - window, now].
    func count(window: Double, now: Double) -> Int64 {
        let current = bucketIndex(now)
        let span = Self.clampedInt((window / granularity).rounded(.up))
        return buckets.reduce(0) { sum, bucket in
            bucket.index > current - span && bucket.index <= current ? Self.saturatingAdd(sum, bucket.count) : sum
        }
    }

    /// Adopts `window` (re-bucketing if the granularity changes), prunes, adds `amount`.
    mutating func add(_ amount: Int64, window newWindow: Double, now: Double) {
        let newGranularity = Self.granularity(for: newWindow)
        if newGranularity != granularity {
            var merged: [Int64: Int64] = [:]
            for bucket in buckets {
                let start = Double(bucket.index) * granularity
                let index = Self.clampedInt((start / newGranularity).rounded(.down))
                merged[index] = Self.saturatingAdd(merged[index] ?? 0, bucket.count)
            }
            buckets = merged.map { ($0.key, $0.value) }.sorted { $0.index < $1.index }
            granularity = newGranularity
        }
        window = newWindow
        let current = bucketIndex(now)
        let span = Self.clampedInt((window / granularity).rounded(.up))
        buckets.removeAll { $0.index <= current - span }
        if let last = buckets.indices.last, buckets[last].index == current {
            buckets[last].count = Self.saturatingAdd(buckets[last].count, amount)
        } else if let position = buckets.firstIndex(where: { $0.index > current }) {
            buckets.insert((current, amount), at: position)   // clock went backwards
        } else {
            buckets.append((current, amount))
        }
    }
}

extension LMDBStore {
    /// Adds `amount` at `now` and returns the count within `window` seconds (durable).
    @discardableResult
    public func counterIncrement(_ key: String, amount: Int, window: Double, now: Double) throws(StoreError) -> Int {
        let keyBytes = try Self.counterKey(key)
        try Self.checkWindow(window, now: now)
        return try write { txn throws(StoreError) in
            try txn.incrementCounter(keyBytes, amount: amount, window: window, now: now)
        }
    }

    /// The same, without blocking: `completion` runs on the writer thread after the commit.
    /// `committing` runs on the writer thread before it, with the id of the transaction
    /// that will carry the increment (compare with `counterSnapshot`'s id to tell whether
    /// a snapshot already includes it).
    public func counterIncrement(_ key: String, amount: Int, window: Double, now: Double,
                                 committing: (@Sendable (_ transactionID: UInt) -> Void)? = nil,
                                 completion: @escaping @Sendable (Result<Int, StoreError>) -> Void) {
        let keyBytes: [UInt8]
        do throws(StoreError) {
            keyBytes = try Self.counterKey(key)
            try Self.checkWindow(window, now: now)
        } catch {
            completion(.failure(error))
            return
        }
        submit({ txn throws(StoreError) in
            committing?(txn.id)
            return try txn.incrementCounter(keyBytes, amount: amount, window: window, now: now)
        }, completion: completion)
    }

    /// The count within `window` seconds ending at `now`, and the id of the snapshot it
    /// was read from (every commit with an id at most this one is included).
    public func counterSnapshot(_ key: String, window: Double, now: Double) -> (count: Int, transactionID: UInt) {
        guard let keyBytes = try? Self.counterKey(key), (try? Self.checkWindow(window, now: now)) != nil else { return (0, 0) }
        let snapshot = try? read { txn throws(StoreError) -> (Int64, UInt) in
            let count = try txn.get(.counters, keyBytes).map { bytes throws(StoreError) in
                try CounterRecord(bytes).count(window: window, now: now)
            }
            return (count ?? 0, txn.id)
        }
        guard let snapshot else { return (0, 0) }
        return (Int(snapshot.0), snapshot.1)
    }

    /// The count within `window` seconds ending at `now` (0 for an unknown key).
    public func counterGet(_ key: String, window: Double, now: Double) -> Int {
        guard let keyBytes = try? Self.counterKey(key), (try? Self.checkWindow(window, now: now)) != nil else { return 0 }
        let count = try? read { txn throws(StoreError) in
            try txn.get(.counters, keyBytes).map { bytes throws(StoreError) in
                try CounterRecord(bytes).count(window: window, now: now)
            }
        }
        guard let count else { return 0 }
        return Int(count)
    }

    /// Every key with a non-zero count, using the window each key was last written with.
    public func counters(now: Double) throws(StoreError) -> [(key: String, count: Int)] {
        try read { txn throws(StoreError) in
            var result: [(key: String, count: Int)] = []
            try txn.scan(.counters) { key, value throws(StoreError) in
                let record = try CounterRecord(value)
                let count = record.count(window: record.window, now: now)
                if count != 0 { result.append((String(decoding: key, as: UTF8.self), Int(count))) }
                return true
            }
            return result
        }
    }

    /// Deletes keys whose count within their window is zero; returns how many.
    @discardableResult
    public func purgeCounters(now: Double) throws(StoreError) -> Int {
        try write { txn throws(StoreError) in
            var idle: [[UInt8]] = []
            try txn.scan(.counters) { key, value throws(StoreError) in
                let record = try CounterRecord(value)
                if record.count(window: record.window, now: now) == 0 { idle.append(Array(key)) }
                return true
            }
            for key in idle { try txn.delete(.counters, key) }
            return idle.count
        }
    }

    static func counterKey(_ key: String) throws(StoreError) -> [UInt8] {
        let bytes = Array(key.utf8)
        guard !bytes.isEmpty, bytes.count <= 400 else {
            throw StoreError(.invalid, "counter key must be 1 to 400 bytes")
        }
        return bytes
    }

    static func checkWindow(_ window: Double, now: Double) throws(StoreError) {
        guard window.isFinite, window > 0, window <= 366 * 86400 else {
            throw StoreError(.invalid, "counter window must be between 0 and a year (seconds)")
        }
        guard now.isFinite, abs(now) < 1e12 else { throw StoreError(.invalid, "invalid time \(now)") }
    }
}

extension Txn {
    func incrementCounter(_ key: [UInt8], amount: Int, window: Double, now: Double) throws(StoreError) -> Int {
        var record = try get(.counters, key).map { bytes throws(StoreError) in try CounterRecord(bytes) }
            ?? CounterRecord(window: window)
        record.add(Int64(amount), window: window, now: now)
        try put(.counters, key, record.encoded())
        return Int(record.count(window: window, now: now))
    }
}
