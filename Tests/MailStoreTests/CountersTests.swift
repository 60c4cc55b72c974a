import Foundation
import Testing
@testable import MailStore

@Suite struct CountersTests {
    @Test func slidingMinuteWindow() throws {
        try withStore { store, _ throws in
            let t0 = 1_700_000_000.0
            #expect(try store.counterIncrement("conn:192.0.2.1", amount: 1, window: 60, now: t0) == 1)
            #expect(try store.counterIncrement("conn:192.0.2.1", amount: 2, window: 60, now: t0 + 10) == 3)
            #expect(try store.counterIncrement("conn:192.0.2.1", amount: 1, window: 60, now: t0 + 59) == 4)
            #expect(store.counterGet("conn:192.0.2.1", window: 60, now: t0 + 59) == 4)
            #expect(store.counterGet("conn:192.0.2.1", window: 60, now: t0 + 60) == 3)   // t0 slid out
            #expect(store.counterGet("conn:192.0.2.1", window: 60, now: t0 + 70) == 1)
            #expect(store.counterGet("conn:192.0.2.1", window: 60, now: t0 + 200) == 0)
            #expect(try store.counterIncrement("conn:192.0.2.1", amount: 1, window: 60, now: t0 + 200) == 1)
            #expect(store.counterGet("unknown", window: 60, now: t0) == 0)
        }
    }

    @Test func dayWindowUsesCoarseBuckets() throws {
        try withStore { store, _ throws in
            let day = 86400.0
            let t0 = 1_700_000_000.0
            for hour in 0..<48 {
                try store.counterIncrement("msgs:alice", amount: 1, window: day, now: t0 + Double(hour) * 3600)
            }
            // Accurate to one bucket (a day / 60 = 24 min).
            let count = store.counterGet("msgs:alice", window: day, now: t0 + 47 * 3600)
            #expect((24...25).contains(count))
            let record = try store.read { txn throws(StoreError) in
                try CounterRecord(txn.get(.counters, Array("msgs:alice".utf8))!)
            }
            #expect(record.buckets.count <= 61)
            #expect(record.window == day)
        }
    }

    @Test func countersListUsesEachKeysWindow() throws {
        try withStore { store, _ throws in
            let t0 = 1_000_000.0
            try store.counterIncrement("a", amount: 5, window: 60, now: t0)
            try store.counterIncrement("b", amount: 2, window: 3600, now: t0)
            let now = t0 + 120
            let listed = try store.counters(now: now)
            #expect(listed.map(\.key) == ["b"])
            #expect(listed.map(\.count) == [2])
            #expect(try store.purgeCounters(now: now) == 1)
            #expect(try store.counters(now: t0).map(\.key) == ["b"])
            expectError(.invalid) { try store.counterIncrement("", amount: 1, window: 60, now: t0) }
            expectError(.invalid) { try store.counterIncrement("x", amount: 1, window: 0, now: t0) }
        }
    }

    @Test func nonBlockingIncrement() async throws {
        let dir = TempDir()
        let store = try LMDBStore(directory: dir.path, durable: false)
        defer { store.close() }
        let value = await withCheckedContinuation { (c: CheckedContinuation<Result<Int, StoreError>, Never>) in
            store.counterIncrement("k", amount: 3, window: 60, now: 100) { c.resume(returning: $0) }
        }
        #expect(try value.get() == 3)
    }

    /// The id handed to `committing` tells whether a snapshot holds the increment: a
    /// snapshot read before the commit has a smaller id, one read after has at least it.
    @Test func snapshotIdsOrderIncrements() async throws {
        let dir = TempDir()
        let store = try LMDBStore(directory: dir.path, durable: false)
        defer { store.close() }
        let before = store.counterSnapshot("k", window: 60, now: 100)
        let committedIn = LockedBox<UInt?>(nil)
        _ = await withCheckedContinuation { (c: CheckedContinuation<Result<Int, StoreError>, Never>) in
            store.counterIncrement("k", amount: 2, window: 60, now: 100, committing: { committedIn.value = $0 }) {
                c.resume(returning: $0)
            }
        }
        let after = store.counterSnapshot("k", window: 60, now: 100)
        let id = try #require(committedIn.value)
        #expect(before.count == 0 && before.transactionID < id)
        #expect(after.count == 2 && after.transactionID >= id)
    }
}

final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

@Suite struct CounterRecordTests {
    @Test func hostileInputsNeverTrap() throws {
        var record = CounterRecord(window: 60)
        record.add(.max, window: 60, now: 100)
        record.add(.max, window: 60, now: 100)
        #expect(record.count(window: 60, now: 100) == .max)
        record.add(1, window: 3600, now: 100)        // re-bucketing
        #expect(record.count(window: .nan, now: .nan) >= 0)
        #expect(record.count(window: 60, now: .infinity) == 0)
        try withStore { store, _ throws in
            expectError(.invalid) { try store.counterIncrement("k", amount: 1, window: 60, now: .nan) }
            #expect(store.counterGet("k", window: 60, now: .infinity) == 0)
            #expect(try store.counters(now: .nan).isEmpty)
        }
    }
}
