import Testing
@testable import MailStore

@Suite struct ChangeQueriesTests {
    @Test func changesSinceAModSeqAreNewAndFlagChangedMessages() throws {
        try withIMAPStore { store in
            for i in 0..<5 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try store.mailboxID("INBOX")
            let selected = try store.snapshot(mailboxID: inbox)
            #expect(selected.messages.map(\.uid) == [1, 2, 3, 4, 5])
            let mark = selected.mailbox.highestModSeq
            #expect(try store.changes(mailboxID: inbox, sinceModSeq: mark).isEmpty)

            _ = try store.storeFlags(mailboxID: inbox, uids: [4], mode: .add, flags: ["\\Seen"])
            _ = try store.append(account: alice, mailbox: "INBOX", bytes: message("new"))
            _ = try store.storeFlags(mailboxID: inbox, uids: [2], mode: .add, flags: ["\\Deleted"])
            _ = try store.expunge(mailboxID: inbox)
            let changed = try store.changes(mailboxID: inbox, sinceModSeq: mark)
            #expect(changed.map(\.uid) == [4, 6])
            #expect(changed[0].flags == ["\\Seen"])

            let all = try store.mailboxChanges(mailboxID: inbox, sinceModSeq: mark)
            #expect(all.changed == changed)
            #expect(all.vanished == VanishedUIDs(uids: [2], isComplete: true))
            #expect(all.mailbox.uidNext == 7 && all.mailbox.messageCount == 5 && all.mailbox.highestModSeq == mark + 4)
            let none = try store.mailboxChanges(mailboxID: inbox, sinceModSeq: all.mailbox.highestModSeq)
            #expect(none.changed.isEmpty && none.vanished.uids.isEmpty)
            // Since 0: every message (a full resync).
            #expect(try store.changes(mailboxID: inbox, sinceModSeq: 0).map(\.uid) == [1, 3, 4, 5, 6])
            #expect(try store.changes(mailboxID: inbox, sinceModSeq: .max).isEmpty)
        }
    }

    @Test func unknownMailboxesAreNotFound() throws {
        try withIMAPStore { store in
            expectError(.notFound) { _ = try store.snapshot(mailboxID: 31_337) }
            expectError(.notFound) { _ = try store.changes(mailboxID: 31_337, sinceModSeq: 0) }
            expectError(.notFound) { _ = try store.mailboxChanges(mailboxID: 31_337, sinceModSeq: 0) }
        }
    }
}
