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

    /// IMAP-shaped load: 50 sessions, each with its own mailbox of 200 messages, doing
    /// SELECT (snapshot), STORE (+FLAGS), APPEND and EXPUNGE, durable, for a fixed count.
    @Test(.enabled(if: enabled))
    func imapOperations() throws {
        let dir = TempDir()
        let store = try LMDBStore(directory: dir.path, durable: true)
        defer { store.close() }
        try store.addDomain("example.test")
        let sessions = 50
        let body = message("bench", size: 10_000)
        for s in 0..<sessions {
            try store.addAccount("u\(s)@example.test", passwordHash: nil, quota: 1 << 40, apopSecret: nil)
            for _ in 0..<200 { _ = try store.append(account: "u\(s)@example.test", mailbox: "INBOX", bytes: body) }
        }
        let rounds = 40
        let counts = Box<[String: Double]>()
        counts.value = [:]
        let lock = NSLock()
        @Sendable func timed(_ name: String, _ body: () throws -> Void) rethrows {
            let start = Date()
            try body()
            let elapsed = Date().timeIntervalSince(start)
            lock.lock(); counts.value![name, default: 0] += elapsed; lock.unlock()
        }
        let start = Date()
        let group = DispatchGroup()
        for s in 0..<sessions {
            group.enter()
            Thread {
                defer { group.leave() }
                let account = "u\(s)@example.test"
                guard let inbox = store.mailbox(account: account, name: "INBOX")?.id else { return }
                for r in 0..<rounds {
                    try? timed("select") { _ = try store.snapshot(mailboxID: inbox) }
                    try? timed("store") {
                        _ = try store.storeFlags(mailboxID: inbox, uids: [UInt32(r + 1)], mode: .add, flags: ["\\Seen", "\\Deleted"])
                    }
                    try? timed("append") { _ = try store.append(account: account, mailbox: "INBOX", bytes: body) }
                    try? timed("expunge") { _ = try store.expunge(mailboxID: inbox) }
                    try? timed("changes") { _ = try store.mailboxChanges(mailboxID: inbox, sinceModSeq: 1) }
                }
            }.start()
        }
        group.wait()
        let elapsed = Date().timeIntervalSince(start)
        let ops = sessions * rounds
        for (name, busy) in counts.value!.sorted(by: { $0.key < $1.key }) {
            print("bench imap: \(name): \(ops) ops, mean \(String(format: "%.2f", busy / Double(ops) * 1000)) ms")
        }
        print("bench imap: \(ops * 5) ops by \(sessions) sessions in \(String(format: "%.2f", elapsed)) s = \(Int(Double(ops * 5) / elapsed)) ops/s, \(store.writeStatistics.commits) commits")
    }
}
