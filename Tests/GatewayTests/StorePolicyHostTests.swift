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
