import Testing
@testable import MailStore

@Suite struct DeliveryTests {
    func setUp(_ store: LMDBStore) throws {
        try store.addDomain("example.test")
        for user in ["alice", "bob", "carol"] {
            try store.addAccount("\(user)@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
        }
    }

    @Test func severalRecipientsShareOneBlob() throws {
        try withStore { store, _ throws in
            try setUp(store)
            let bytes = message("shared")
            let result = try deliverSync(store, DeliveryRequest(message: bytes, local: [
                LocalDeliveryTarget(account: "alice@example.test"),
                LocalDeliveryTarget(account: "BOB@example.test"),
                LocalDeliveryTarget(account: "carol@example.test", folder: "Junk"),
            ], internalDate: 1_700_000_000))
            #expect(result.local == [.stored(uid: 1), .stored(uid: 1), .stored(uid: 1)])
            #expect(!result.queued && result.queueID == nil)
            #expect(try store.blobCount() == 1)

            let inbox = try #require(store.mailbox(account: "alice@example.test", name: "INBOX"))
            #expect(inbox.uidNext == 2 && inbox.messageCount == 1 && inbox.totalSize == Int64(bytes.count))
            #expect(inbox.highestModSeq > 1)
            let msgs = try store.messages(mailboxID: inbox.id)
            #expect(msgs.count == 1)
            let msg = try #require(msgs.first)
            #expect(msg.uid == 1 && msg.size == bytes.count && msg.flags.isEmpty && msg.internalDate == 1_700_000_000)
            #expect(msg.modSeq == inbox.highestModSeq)
            #expect(try store.messageBytes(blobID: msg.blobID) == bytes)
            #expect(try store.blobReferences(msg.blobID) == 3)

            let junk = try #require(store.mailbox(account: "carol@example.test", name: "Junk"))
            #expect(try store.messages(mailboxID: junk.id).first?.blobID == msg.blobID)
            #expect(store.account("bob@example.test")?.usedBytes == Int64(bytes.count))
            #expect(store.account("bob@example.test")?.messageCount == 1)

            // Removing one copy keeps the blob; removing all deletes it.
            try store.removeMessages(mailboxID: inbox.id, uids: [1])
            #expect(try store.blobReferences(msg.blobID) == 2)
            #expect(store.account("alice@example.test")?.usedBytes == 0)
            try store.removeAccount("bob@example.test")
            try store.removeMessages(mailboxID: junk.id, uids: [1])
            #expect(try store.blobCount() == 0)
        }
    }

    @Test func unknownFolderFallsBackToInbox() throws {
        try withStore { store, _ throws in
            try setUp(store)
            let result = try deliverSync(store, DeliveryRequest(
                message: message("x"), local: [LocalDeliveryTarget(account: "alice@example.test", folder: "Nope")],
                internalDate: 1))
            #expect(result.local == [.stored(uid: 1)])
            #expect(store.mailbox(account: "alice@example.test", name: "INBOX")?.messageCount == 1)
        }
    }

    @Test func quotaOutcomesPerRecipient() throws {
        try withStore { store, _ throws in
            try setUp(store)
            try store.setQuota("alice@example.test", 1000)
            try store.setQuota("bob@example.test", 100)
            let first = try deliverSync(store, DeliveryRequest(message: message("a", size: 600), local: [
                LocalDeliveryTarget(account: "alice@example.test"),
                LocalDeliveryTarget(account: "bob@example.test"),
                LocalDeliveryTarget(account: "nobody@example.test"),
                LocalDeliveryTarget(account: "not an address"),
                LocalDeliveryTarget(account: "carol@example.test"),
            ], internalDate: 1))
            #expect(first.local == [.stored(uid: 1), .messageExceedsQuota, .noSuchAccount, .noSuchAccount, .stored(uid: 1)])
            let second = try deliverSync(store, DeliveryRequest(message: message("b", size: 600), local: [
                LocalDeliveryTarget(account: "alice@example.test"),
            ], internalDate: 2))
            #expect(second.local == [.overQuota])
            #expect(store.account("alice@example.test")?.messageCount == 1)
            #expect(try store.blobCount() == 1)

            // Nothing stored, nothing queued: no blob is left behind.
            let none = try deliverSync(store, DeliveryRequest(message: message("c", size: 600), local: [
                LocalDeliveryTarget(account: "bob@example.test"),
                LocalDeliveryTarget(account: "ghost@example.test"),
            ], internalDate: 3))
            #expect(none.local == [.messageExceedsQuota, .noSuchAccount])
            #expect(try store.blobCount() == 1)
        }
    }

    @Test func uidsAreMonotonicAndNeverReused() throws {
        try withStore { store, _ throws in
            try setUp(store)
            var uids: [UInt32] = []
            for i in 0..<5 {
                let r = try deliverSync(store, DeliveryRequest(
                    message: message("m\(i)"), local: [LocalDeliveryTarget(account: "alice@example.test")],
                    internalDate: Double(i)))
                if case .stored(let uid) = r.local[0] { uids.append(uid) }
            }
            #expect(uids == [1, 2, 3, 4, 5])
            let inbox = try #require(store.mailbox(account: "alice@example.test", name: "INBOX"))
            #expect(try store.removeMessages(mailboxID: inbox.id, uids: [4, 5, 99]) == 2)
            let r = try deliverSync(store, DeliveryRequest(
                message: message("after"), local: [LocalDeliveryTarget(account: "alice@example.test")], internalDate: 9))
            #expect(r.local == [.stored(uid: 6)])
            #expect(try store.messages(mailboxID: inbox.id).map(\.uid) == [1, 2, 3, 6])
            let after = try #require(store.mailbox(account: "alice@example.test", name: "INBOX"))
            #expect(after.uidNext == 7 && after.messageCount == 4 && after.uidValidity == inbox.uidValidity)
            #expect(after.highestModSeq > inbox.highestModSeq)
            let modseq = try store.setFlags(mailboxID: inbox.id, uid: 1, flags: ["\\Seen"])
            #expect(modseq > after.highestModSeq)
            #expect(store.message(mailboxID: inbox.id, uid: 1)?.flags == ["\\Seen"])
        }
    }

    @Test func asyncDeliverAndQueuedRemote() async throws {
        let dir = TempDir()
        let store = try LMDBStore(directory: dir.path, durable: false)
        defer { store.close() }
        try store.addDomain("example.test")
        try store.addAccount("alice@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
        let bytes = message("relay me")
        let remote = QueueEntry(sender: "alice@example.test", recipients: [
            QueueRecipient(address: "x@remote.test", notify: "SUCCESS,FAILURE", orcpt: "rfc822;x@remote.test"),
            QueueRecipient(address: "y@remote.test"),
        ], envid: "ENV1", ret: "HDRS")
        let result = try await store.deliver(DeliveryRequest(
            message: bytes, local: [LocalDeliveryTarget(account: "alice@example.test")], remote: remote,
            internalDate: 1_700_000_000))
        #expect(result.queued)
        let id = try #require(result.queueID)
        let entry = try #require(store.queueEntry(id))
        #expect(entry.id == id && entry.sender == "alice@example.test" && entry.recipients == remote.recipients)
        #expect(entry.size == bytes.count && entry.created == 1_700_000_000 && entry.envid == "ENV1" && entry.ret == "HDRS")
        #expect(try store.messageBytes(blobID: entry.blobID) == bytes)
        #expect(try store.blobReferences(entry.blobID) == 2)
        #expect(try store.queueEntries().map(\.id) == [id])
    }
}
