import Testing
@testable import MailStore

@Suite struct MessageRowsTests {
    @Test func tombstonesArePrunedAndTheFloorRemembered() throws {
        try withIMAPStore { store in
            for i in 0..<30 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try store.mailboxID("INBOX")
            // Remove one message per transaction, pruning to 10 (slack 1 → prune above 11).
            var modSeqs: [UInt64] = []
            for uid in UInt32(1)...20 {
                modSeqs.append(try store.testWrite { txn throws(StoreError) in
                    guard var mailbox = try txn.mailboxRecord(inbox),
                          let value = try txn.get(.messages, Keys.message(inbox, uid)) else { throw StoreError(.io, "gone") }
                    let record = try MessageRecord(value)
                    mailbox.highestModSeq += 1
                    try txn.removeMessage(inbox, &mailbox, uid: uid, record, expungeModSeq: mailbox.highestModSeq)
                    try txn.pruneTombstones(inbox, &mailbox, limit: 10)
                    try txn.saveMailbox(inbox, mailbox)
                    return mailbox.highestModSeq
                })
            }
            try store.checkInvariants(inbox)
            let record = try #require(try store.read { txn throws(StoreError) in try txn.mailboxRecord(inbox) })
            #expect(record.tombstoneCount >= 10 && record.tombstoneCount <= 11)
            let floor = record.vanishedFloor
            #expect(floor > 0 && floor < modSeqs.last!)
            let complete = try store.vanished(mailboxID: inbox, sinceModSeq: floor)
            #expect(complete.isComplete && complete.uids.count == Int(record.tombstoneCount))
            let partial = try store.vanished(mailboxID: inbox, sinceModSeq: 0)
            #expect(!partial.isComplete && partial.uids == complete.uids)
            // The index still answers changes for the survivors.
            #expect(try store.messages(mailboxID: inbox).map(\.uid) == Array(21...30))
        }
    }

    @Test func deliveryKeepsTheIndexInStep() throws {
        try withIMAPStore { store in
            for i in 0..<5 { _ = try deliverTo(store, "m\(i)") }
            _ = try deliverTo(store, "spam", folder: "Junk")
            try store.checkInvariants(try store.mailboxID("INBOX"))
            try store.checkInvariants(try store.mailboxID("Junk"))
            #expect(store.mailbox(account: alice, name: "INBOX")?.unseenCount == 5)
        }
    }
}
