// Throughput measurement, skipped unless MAILSTORE_BENCH=1 (prints deliveries/s).
import Foundation
import Testing
@testable import MailStore

@Suite(.serialized) struct BenchmarkTests {
    static var enabled: Bool { ProcessInfo.processInfo.environment["MAILSTORE_BENCH"] == "1" }

    /// `sessions` threads each deliver `perSession` 10 KB messages one after another,
    /// waiting for the durable commit each time (like SMTP sessions waiting for the 250).
    @Test(.enabled(if: enabled), arguments: [1, 20, 100])
    func durableDeliveries(sessions: Int) throws {
        let dir = TempDir()
        let store = try LMDBStore(directory: dir.path, durable: true)
        defer { store.close() }
        try store.addDomain("example.test")
        for u in 0..<10 { try store.addAccount("u\(u)@example.test", passwordHash: nil, quota: 1 << 40, apopSecret: nil) }
        let perSession = max(20, 4000 / sessions)
        let body = message("bench", size: 10_000)
        let start = Date()
        let group = DispatchGroup()
        for s in 0..<sessions {
            group.enter()
            Thread {
                for i in 0..<perSession {
                    let r = try? deliverSync(store, DeliveryRequest(
                        message: body, local: [LocalDeliveryTarget(account: "u\((s + i) % 10)@example.test")],
                        internalDate: 0))
                    precondition(r?.local.count == 1)
                }
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = Date().timeIntervalSince(start)
        let total = sessions * perSession
        print("bench: \(sessions) sessions, \(total) durable 10KB deliveries in \(String(format: "%.2f", elapsed)) s = \(Int(Double(total) / elapsed))/s, \(store.writeStatistics.commits) commits")
    }
}
