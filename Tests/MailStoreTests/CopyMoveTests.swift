import Testing
@testable import MailStore

@Suite struct CopyMoveTests {
    @Test func copySharesBlobsKeepsFlagsAndCountsQuota() throws {
        try withIMAPStore { store in
            for i in 0..<3 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try store.mailboxID("INBOX")
            let archive = try #require(store.mailbox(account: alice, name: "Archive"))
            _ = try store.storeFlags(mailboxID: inbox, uids: [3], mode: .add, flags: ["\\Flagged", "\\Seen"])
            let result = try store.copyMessages(from: inbox, uids: [3, 1, 99, 1], to: archive.id)
            #expect(result == CopyResult(uidValidity: archive.uidValidity, sourceUIDs: [1, 3], destinationUIDs: [1, 2]))
            let copies = try store.messages(mailboxID: archive.id)
            let originals = try store.messages(mailboxID: inbox)
            #expect(copies.map(\.blobID) == [originals[0].blobID, originals[2].blobID])
            #expect(copies[1].flags == ["\\Flagged", "\\Seen"] && copies[0].internalDate == originals[0].internalDate)
            #expect(copies.allSatisfy { $0.modSeq == archive.highestModSeq + 1 })
            #expect(try store.blobReferences(originals[0].blobID) == 2)
            #expect(store.account(alice)?.messageCount == 5)
            #expect(try store.blobCount() == 3)
            #expect(store.mailbox(id: archive.id)?.unseenCount == 1)
            try store.checkInvariants(archive.id)
            // Nothing to copy: empty result, no change.
            #expect(try store.copyMessages(from: inbox, uids: [42], to: archive.id).sourceUIDs.isEmpty)
        }
    }

    @Test func copyOverQuotaFailsWhole() throws {
        try withIMAPStore(quota: 1_000) { store in
            let inbox = try store.mailboxID("INBOX")
            _ = try store.append(account: alice, mailbox: "INBOX", bytes: message("a", size: 400))
            _ = try store.append(account: alice, mailbox: "INBOX", bytes: message("b", size: 400))
            let trash = try store.mailboxID("Trash")
            expectError(.overQuota) { _ = try store.copyMessages(from: inbox, uids: [1, 2], to: trash) }
            #expect(try store.messages(mailboxID: trash).isEmpty)
            // MOVE needs no room.
            let moved = try store.moveMessages(from: inbox, uids: [1, 2], to: trash)
            #expect(moved.destinationUIDs == [1, 2])
            #expect(store.account(alice)?.usedBytes == 800 && store.account(alice)?.messageCount == 2)
        }
    }

    @Test func moveRemovesSourcesWithTombstones() throws {
        try withIMAPStore { store in
            for i in 0..<4 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try #require(store.mailbox(account: alice, name: "INBOX"))
            let junk = try store.mailboxID("Junk")
            let result = try store.moveMessages(from: inbox.id, uids: [2, 4], to: junk)
            #expect(result.sourceUIDs == [2, 4] && result.destinationUIDs == [1, 2])
            #expect(try store.messages(mailboxID: inbox.id).map(\.uid) == [1, 3])
            let vanished = try store.vanished(mailboxID: inbox.id, sinceModSeq: inbox.highestModSeq)
            #expect(vanished == VanishedUIDs(uids: [2, 4], isComplete: true))
            #expect(store.account(alice)?.messageCount == 4)
            #expect(try store.blobCount() == 4)
            let blob = try #require(store.messages(mailboxID: junk).first).blobID
            #expect(try store.blobReferences(blob) == 1)
            try store.checkInvariants(inbox.id)
            try store.checkInvariants(junk)
        }
    }

    @Test func moveWithinOneMailboxRenumbers() throws {
        try withIMAPStore { store in
            for i in 0..<2 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try store.mailboxID("INBOX")
            let result = try store.moveMessages(from: inbox, uids: [1], to: inbox)
            #expect(result.destinationUIDs == [3])
            #expect(try store.messages(mailboxID: inbox).map(\.uid) == [2, 3])
            try store.checkInvariants(inbox)
        }
    }

    @Test func copyErrors() throws {
        try withIMAPStore { store in
            try store.addAccount("bob@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
            _ = try deliverTo(store, "x")
            let inbox = try store.mailboxID("INBOX")
            let bobs = try store.mailboxID("INBOX", account: "bob@example.test")
            expectError(.invalid) { _ = try store.copyMessages(from: inbox, uids: [1], to: bobs) }
            expectError(.notFound) { _ = try store.copyMessages(from: inbox, uids: [1], to: 999_999) }
            expectError(.notFound) { _ = try store.moveMessages(from: 999_999, uids: [1], to: inbox) }
            let huge = [UInt32](repeating: 1, count: StoreLimits.maxUIDsPerCall + 1)
            expectError(.invalid) { _ = try store.copyMessages(from: inbox, uids: huge, to: inbox) }
        }
    }
}
