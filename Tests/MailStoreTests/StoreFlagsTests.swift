import Foundation
import Testing
@testable import MailStore

@Suite struct StoreFlagsTests {
    @Test func modesBumpModSeqOnlyOnChange() throws {
        try withIMAPStore { store in
            for i in 0..<3 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try #require(store.mailbox(account: alice, name: "INBOX"))
            let added = try store.storeFlags(mailboxID: inbox.id, uids: [1, 2, 7], mode: .add, flags: ["\\seen", "Work"])
            let modSeq = inbox.highestModSeq + 1
            #expect(added.changed.map(\.uid) == [1, 2] && added.changed.allSatisfy { $0.modSeq == modSeq })
            #expect(added.changed[0].flags == ["\\Seen", "Work"] && added.failedUnchangedSince.isEmpty)
            #expect(store.mailbox(id: inbox.id)?.highestModSeq == modSeq)
            #expect(store.mailbox(id: inbox.id)?.unseenCount == 1)

            // No-op: same flags again (keywords compare case-insensitively) → no bump.
            let noop = try store.storeFlags(mailboxID: inbox.id, uids: [1, 2], mode: .add, flags: ["\\Seen", "work"])
            #expect(noop.changed.isEmpty && store.mailbox(id: inbox.id)?.highestModSeq == modSeq)

            let removed = try store.storeFlags(mailboxID: inbox.id, uids: [1], mode: .remove, flags: ["WORK"])
            #expect(removed.changed.first?.flags == ["\\Seen"] && removed.changed.first?.modSeq == modSeq + 1)
            let replaced = try store.storeFlags(mailboxID: inbox.id, uids: [2, 3], mode: .replace, flags: ["\\Deleted"])
            #expect(replaced.changed.map(\.flags) == [["\\Deleted"], ["\\Deleted"]])
            let after = try #require(store.mailbox(id: inbox.id))
            #expect(after.unseenCount == 2 && after.deletedCount == 2 && after.highestModSeq == modSeq + 2)
            try store.checkInvariants(inbox.id)
        }
    }

    @Test func unchangedSinceReportsModifiedMessages() throws {
        try withIMAPStore { store in
            for i in 0..<3 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try store.mailboxID("INBOX")
            let before = try store.messages(mailboxID: inbox)
            let seen = try store.storeFlags(mailboxID: inbox, uids: [2], mode: .add, flags: ["\\Seen"])
            let since = before.map(\.modSeq).max()!
            let result = try store.storeFlags(mailboxID: inbox, uids: [1, 2, 3], mode: .add, flags: ["\\Flagged"],
                                              unchangedSince: since)
            #expect(result.failedUnchangedSince == [2])
            #expect(result.changed.map(\.uid) == [1, 3])
            #expect(store.message(mailboxID: inbox, uid: 2)?.modSeq == seen.changed[0].modSeq)
            // UNCHANGEDSINCE 0 can never succeed (every modseq is ≥ 1).
            #expect(try store.storeFlags(mailboxID: inbox, uids: [1], mode: .add, flags: ["x"], unchangedSince: 0)
                .failedUnchangedSince == [1])
        }
    }

    @Test func badFlagsAndBoundsAreTypedErrors() throws {
        try withIMAPStore { store in
            _ = try deliverTo(store)
            let inbox = try store.mailboxID("INBOX")
            for bad in ["\\Recent", "\\Bogus", "", "a b", "(x)", "q\"", String(repeating: "k", count: 129), "é"] {
                expectError(.invalid) { _ = try store.storeFlags(mailboxID: inbox, uids: [1], mode: .add, flags: [bad]) }
            }
            let many = (0..<64).map { "k\($0)" }
            _ = try store.storeFlags(mailboxID: inbox, uids: [1], mode: .replace, flags: many)
            expectError(.invalid) { _ = try store.storeFlags(mailboxID: inbox, uids: [1], mode: .add, flags: ["one-more"]) }
            expectError(.invalid) { _ = try store.storeFlags(mailboxID: inbox, uids: [1], mode: .add, flags: many + ["x"]) }
            expectError(.notFound) { _ = try store.storeFlags(mailboxID: 424_242, uids: [1], mode: .add, flags: ["x"]) }
            let huge = [UInt32](repeating: 1, count: StoreLimits.maxUIDsPerCall + 1)
            expectError(.invalid) { _ = try store.storeFlags(mailboxID: inbox, uids: huge, mode: .add, flags: ["x"]) }
            try store.checkInvariants(inbox)
        }
    }

    @Test func concurrentWritersShareCommitsAndKeepInvariants() throws {
        try withStore(durable: true) { store, _ throws in
            try store.addDomain("example.test")
            try store.addAccount(alice, passwordHash: nil, quota: 1 << 30, apopSecret: nil)
            let inbox = try store.mailboxID("INBOX")
            for i in 0..<50 { _ = try deliverTo(store, "seed \(i)") }
            let before = store.writeStatistics
            let group = DispatchGroup()
            let errors = Box<[String]>()
            errors.value = []
            let lock = NSLock()
            for worker in 0..<16 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        for round in 0..<10 {
                            let uid = UInt32((worker * 10 + round) % 50 + 1)
                            _ = try store.storeFlags(mailboxID: inbox, uids: [uid], mode: round % 2 == 0 ? .add : .remove,
                                                     flags: ["\\Seen", "\\Deleted"])
                            _ = try store.append(account: alice, mailbox: "INBOX", bytes: message("w\(worker) r\(round)"))
                            if round % 3 == 0 { _ = try store.expunge(mailboxID: inbox) }
                        }
                    } catch {
                        lock.lock(); errors.value!.append("\(error)"); lock.unlock()
                    }
                }.start()
            }
            group.wait()
            #expect(errors.value == [])
            let after = store.writeStatistics
            #expect(after.commits - before.commits < after.operations - before.operations)
            try store.checkInvariants(inbox)
            let snapshot = try store.snapshot(mailboxID: inbox)
            #expect(snapshot.mailbox.uidNext == 50 + 16 * 10 + 1)
            #expect(store.account(alice)?.messageCount == snapshot.messages.count)
        }
    }
}
