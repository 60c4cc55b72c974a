import Foundation
import Testing
@testable import MailStore

@Suite struct MailboxChangeObserversTests {
    @Test func everyWritePathNotifiesAfterCommit() throws {
        try withIMAPStore { store in
            let seen = Box<[[UInt64]]>()
            seen.value = []
            let lock = NSLock()
            let observation = store.observeMailboxChanges { ids in
                lock.lock(); seen.value!.append(ids); lock.unlock()
            }
            func take() -> [[UInt64]] {
                // Notifications are delivered after the writer finished the op: wait briefly.
                for _ in 0..<100 {
                    lock.lock(); let v = seen.value!; lock.unlock()
                    if !v.isEmpty { break }
                    Thread.sleep(forTimeInterval: 0.005)
                }
                lock.lock(); defer { seen.value = []; lock.unlock() }
                return seen.value!
            }
            let inbox = try store.mailboxID("INBOX")
            let trash = try store.mailboxID("Trash")
            _ = try deliverTo(store)
            #expect(take() == [[inbox]])
            _ = try store.append(account: alice, mailbox: "Trash", bytes: message("x"))
            #expect(take() == [[trash]])
            _ = try store.storeFlags(mailboxID: inbox, uids: [1], mode: .add, flags: ["\\Deleted"])
            #expect(take() == [[inbox]])
            _ = try store.copyMessages(from: inbox, uids: [1], to: trash)
            #expect(take() == [[trash]])                       // the source does not change
            _ = try store.moveMessages(from: trash, uids: [1], to: inbox)
            #expect(take() == [[inbox, trash].sorted()])
            _ = try store.expunge(mailboxID: inbox)
            #expect(take() == [[inbox]])
            let work = try store.createMailbox(account: alice, name: "Work")   // nobody can have it selected yet
            #expect(take() == [])
            try store.renameMailbox(account: alice, from: "Work", to: "Play")
            #expect(take() == [[work.id]])
            try store.deleteMailbox(account: alice, name: "Play")
            #expect(take() == [[work.id]])
            // A failed write and a no-op change report nothing.
            expectError(.overQuota) { _ = try store.append(account: alice, mailbox: "INBOX", bytes: message("q", size: 30 << 20)) }
            _ = try store.storeFlags(mailboxID: inbox, uids: [999], mode: .add, flags: ["\\Seen"])
            Thread.sleep(forTimeInterval: 0.05)
            #expect(take() == [])
            observation.cancel()
            _ = try deliverTo(store)
            Thread.sleep(forTimeInterval: 0.05)
            #expect(take() == [])
        }
    }
}
