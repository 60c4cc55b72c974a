// The kv table (KeyValues.swift): set/get/delete with expiry, incr's rules, the
// purge, long keys, the non-blocking writes, and that entries survive a reopen.
import Dispatch
import MailCore
import Testing
@testable import MailStore

@Suite struct KeyValuesTests {
    @Test func entriesExpireAndArePurged() throws {
        try withStore { store, _ throws in
            try store.kvSet("a", KeyValueEntry(value: .string("x"), expires: 1000))
            try store.kvSet("b", KeyValueEntry(value: .integer(7), expires: 2000))
            try store.kvSet("c", KeyValueEntry(value: .double(0.5), expires: 3000))
            #expect(store.kvGet("a", now: 999)?.value == .string("x"))
            #expect(store.kvGet("a", now: 1000) == nil)
            #expect(store.kvGet("missing", now: 0) == nil)
            #expect(try store.kvEntries(now: 1500).map(\.key) == ["b", "c"])
            #expect(try store.purgeExpiredKeyValues(now: 2500) == 2)
            #expect(try store.kvEntries(now: 0).map(\.key) == ["c"])
            #expect(store.kvGet("c", now: 0)?.value == .double(0.5))
        }
    }

    @Test func incrementRules() throws {
        try withStore { store, _ throws in
            #expect(try store.kvIncrement("n", by: 1, newExpiry: nil, now: 0) == .failure(.ttlRequired))
            #expect(try store.kvIncrement("n", by: 2, newExpiry: 100, now: 0) == .success(KeyValueEntry(value: .integer(2), expires: 100)))
            // An existing key keeps its expiry.
            #expect(try store.kvIncrement("n", by: 3, newExpiry: 500, now: 50) == .success(KeyValueEntry(value: .integer(5), expires: 100)))
            // Expired: starts again at 0 with the new expiry.
            #expect(try store.kvIncrement("n", by: 1, newExpiry: 300, now: 100) == .success(KeyValueEntry(value: .integer(1), expires: 300)))
            try store.kvSet("s", KeyValueEntry(value: .string("x"), expires: 100))
            #expect(try store.kvIncrement("s", by: 1, newExpiry: 100, now: 0) == .failure(.notAnInteger))
            try store.kvSet("m", KeyValueEntry(value: .integer(.max), expires: 100))
            #expect(try store.kvIncrement("m", by: 1, newExpiry: 100, now: 0) == .failure(.overflow))
        }
    }

    @Test func deleteReportsALiveEntry() throws {
        try withStore { store, _ throws in
            try store.kvSet("a", KeyValueEntry(value: .integer(1), expires: 100))
            #expect(try store.kvDelete("a", now: 0))
            #expect(try !store.kvDelete("a", now: 0))
            try store.kvSet("b", KeyValueEntry(value: .integer(1), expires: 100))
            #expect(try !store.kvDelete("b", now: 200))   // expired: gone all the same
            #expect(try store.kvEntries(now: 0).isEmpty)
        }
    }

    @Test func limitsAndLongKeys() throws {
        try withStore { store, _ throws in
            expectError(.invalid) { try store.kvSet("", KeyValueEntry(value: .integer(1), expires: 1)) }
            expectError(.invalid) { try store.kvSet(String(repeating: "k", count: 513), KeyValueEntry(value: .integer(1), expires: 1)) }
            expectError(.invalid) {
                try store.kvSet("k", KeyValueEntry(value: .string(String(repeating: "v", count: 64 * 1024 + 1)), expires: 1))
            }
            // Keys past LMDB's 511-byte limit share a prefix but stay apart.
            let long1 = String(repeating: "p", count: 500) + "1"
            let long2 = String(repeating: "p", count: 500) + "2"
            let longest = String(repeating: "q", count: 512)
            try store.kvSet(long1, KeyValueEntry(value: .integer(1), expires: 100))
            try store.kvSet(long2, KeyValueEntry(value: .integer(2), expires: 100))
            try store.kvSet(longest, KeyValueEntry(value: .string(String(repeating: "v", count: 64 * 1024)), expires: 100))
            #expect(store.kvGet(long1, now: 0)?.value == .integer(1))
            #expect(store.kvGet(long2, now: 0)?.value == .integer(2))
            #expect(store.kvGet(longest, now: 0)?.value.byteCount == 64 * 1024)
            #expect(Set(try store.kvEntries(now: 0).map(\.key)) == [long1, long2, longest])
        }
    }

    @Test func nonBlockingWritesCommitInOrder() throws {
        try withStore { store, _ throws in
            let done = DispatchSemaphore(value: 0)
            store.kvSet("k", KeyValueEntry(value: .integer(1), expires: 100)) { _ in }
            store.kvSet("k", KeyValueEntry(value: .integer(2), expires: 100)) { _ in }
            store.kvDelete("gone", now: 0) { result in
                #expect((try? result.get()) == false)
                done.signal()
            }
            done.wait()
            #expect(store.kvGet("k", now: 0)?.value == .integer(2))
        }
    }

    @Test func survivesReopen() throws {
        let dir = TempDir()
        do {
            let store = try LMDBStore(directory: dir.path, durable: true)
            try store.kvSet("greylist:x", KeyValueEntry(value: .string("seen"), expires: 5000))
            #expect(try store.kvIncrement("hits", by: 3, newExpiry: 5000, now: 0) == .success(KeyValueEntry(value: .integer(3), expires: 5000)))
            store.close()
        }
        let reopened = try LMDBStore(directory: dir.path, durable: true)
        defer { reopened.close() }
        #expect(reopened.kvGet("greylist:x", now: 100)?.value == .string("seen"))
        #expect(reopened.kvGet("hits", now: 100)?.value == .integer(3))
    }
}
