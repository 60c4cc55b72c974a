import Testing
@testable import MailStore

@Suite struct ExpungeTests {
    @Test func expungeRemovesOnlyDeletedAndRecordsTombstones() throws {
        try withIMAPStore { store in
            for i in 0..<5 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try store.mailboxID("INBOX")
            _ = try store.storeFlags(mailboxID: inbox, uids: [2, 3, 5], mode: .add, flags: ["\\Deleted"])
            let mark = try #require(store.mailbox(id: inbox)).highestModSeq
            #expect(try store.expunge(mailboxID: inbox, uids: [1, 2, 3]) == [2, 3])   // 1 not \Deleted
            let first = try #require(store.mailbox(id: inbox)).highestModSeq
            #expect(first == mark + 1)
            #expect(try store.expunge(mailboxID: inbox) == [5])
            #expect(try store.messages(mailboxID: inbox).map(\.uid) == [1, 4])
            #expect(try store.expunge(mailboxID: inbox).isEmpty)                      // nothing \Deleted: read only
            #expect(store.mailbox(id: inbox)?.highestModSeq == first + 1)
            #expect(try store.vanished(mailboxID: inbox, sinceModSeq: mark).uids == [2, 3, 5])
            #expect(try store.vanished(mailboxID: inbox, sinceModSeq: first).uids == [5])
            #expect(try store.vanished(mailboxID: inbox, sinceModSeq: first + 1).uids == [])
            #expect(try store.vanished(mailboxID: inbox, sinceModSeq: .max).uids == [])
            #expect(store.account(alice)?.messageCount == 2)
            #expect(try store.blobCount() == 2)
            try store.checkInvariants(inbox)
            expectError(.notFound) { _ = try store.expunge(mailboxID: 777_777) }
            expectError(.notFound) { _ = try store.vanished(mailboxID: 777_777, sinceModSeq: 0) }
        }
    }

    @Test func pop3RemovalLeavesTombstonesToo() throws {
        try withIMAPStore { store in
            for i in 0..<3 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try #require(store.mailbox(account: alice, name: "INBOX"))
            #expect(try store.removeMessages(mailboxID: inbox.id, uids: [1, 3, 3, 9]) == 2)
            let vanished = try store.vanished(mailboxID: inbox.id, sinceModSeq: inbox.highestModSeq)
            #expect(vanished == VanishedUIDs(uids: [1, 3], isComplete: true))
            try store.checkInvariants(inbox.id)
        }
    }
}
