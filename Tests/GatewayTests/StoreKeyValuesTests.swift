// mailgate.kv over LMDB (StoreKeyValues.swift): writes are answered at once while they
// are written behind, incr is exact under concurrent callers, and the table ends as
// the readers saw it.
import Foundation
import Testing
@testable import Gateway
import Logging
import MailCore
import MailStore

@Suite struct StoreKeyValuesTests {
    @Test func writesAreSeenAtOnceAndReachTheStore() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mg-kv-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LMDBStore(directory: directory, durable: true)
        defer { store.close() }
        let kv = StoreKeyValues(store: store, logger: Logger(label: "test"))
        let now = 1_800_000_000.0
        for round in 0..<50 {
            kv.set("k\(round % 5)", .string("v\(round)"), expires: now + 60)
            #expect(kv.get("k\(round % 5)", now: now) == .string("v\(round)"))
            #expect(kv.delete("k\(round % 5)", now: now))
            #expect(kv.get("k\(round % 5)", now: now) == nil)
            kv.set("k\(round % 5)", .integer(round), expires: now + 60)
        }
        #expect(kv.increment("n", by: 1, newExpiry: nil, now: now) == .failure(.ttlRequired))
        let threads = 4, perThread = 100
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<perThread { _ = kv.increment("n", by: 1, newExpiry: now + 60, now: now) }
        }
        #expect(kv.get("n", now: now) == .integer(threads * perThread))
        #expect(kv.get("n", now: now + 60) == nil)   // expired for readers before any purge

        let deadline = Date().addingTimeInterval(5)
        while kv.hasPendingWrites && Date() < deadline { usleep(1000) }
        #expect(!kv.hasPendingWrites)
        #expect(store.kvGet("n", now: now)?.value == .integer(threads * perThread))
        #expect((0..<5).map { store.kvGet("k\($0)", now: now)?.value } == [45, 46, 47, 48, 49].map { Optional(KeyValue.integer($0)) })
    }
}
