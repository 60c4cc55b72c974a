import Foundation
import Testing
@testable import Gateway
import Logging
import MailStore

@Suite struct StorePolicyHostTests {
    /// Counts seen by hooks are exact while increments are still on their way to disk:
    /// the n-th increment answers n, however the commits interleave with the reads.
    @Test func countsAreExactWhileIncrementsAreWrittenBehind() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mg-host-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LMDBStore(directory: directory, durable: true)
        defer { store.close() }
        let host = StorePolicyHost(store: store, logger: Logger(label: "test"))
        for expected in 1...300 {
            #expect(host.counterIncrement("authfail:127.0.0.1", amount: 1, windowSeconds: 3600) == expected)
            #expect(host.counterGet("authfail:127.0.0.1", windowSeconds: 3600) == expected)
        }
        let threads = 4, perThread = 100
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<perThread { _ = host.counterIncrement("conn:192.0.2.1", amount: 1, windowSeconds: 60) }
        }
        #expect(host.counterGet("conn:192.0.2.1", windowSeconds: 60) == threads * perThread)
    }
}

@Suite struct StorePolicyHostWhitelistTests {
    /// Whitelist changes are written behind, yet seen at once and durable soon after.
    @Test func changesAreSeenAtOnceAndReachTheStore() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mg-wl-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LMDBStore(directory: directory, durable: true)
        defer { store.close() }
        let host = StorePolicyHost(store: store, logger: Logger(label: "test"))
        for round in 0..<50 {
            host.whitelistAdd("192.0.2.\(round % 5)", user: "bob@example.test", ttlSeconds: 3600)
            #expect(host.whitelistContains("192.0.2.\(round % 5)"))
            host.whitelistRemove("192.0.2.\(round % 5)")
            #expect(!host.whitelistContains("192.0.2.\(round % 5)"))
            host.whitelistAdd("192.0.2.\(round % 5)", user: "bob@example.test", ttlSeconds: 3600)
            #expect(host.whitelistContains("192.0.2.\(round % 5)"))
        }
        host.whitelistAdd("2001:db8::1", user: nil, ttlSeconds: 3600)
        let deadline = Date().addingTimeInterval(5)
        while host.pendingWhitelist.withLockedValue({ !$0.isEmpty }) && Date() < deadline { usleep(1000) }
        let now = Date().timeIntervalSince1970
        #expect((0..<5).allSatisfy { store.whitelistContains(ip: "192.0.2.\($0)", now: now) })
        #expect(store.whitelistContains(ip: StorePolicyHost.normalizeIP("2001:db8::1"), now: now))
    }
}
