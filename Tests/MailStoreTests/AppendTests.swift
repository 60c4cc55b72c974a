import Foundation
import Testing
@testable import MailStore

@Suite struct AppendTests {
    @Test func appendStoresOnceAndAssignsUIDAndModSeq() throws {
        try withIMAPStore { store in
            let drafts = try #require(store.mailbox(account: alice, name: "Drafts"))
            let bytes = message("draft")
            let first = try store.append(account: alice, mailbox: "Drafts", bytes: bytes,
                                         flags: ["\\draft", "$Label1", "\\SEEN", "$label1"], internalDate: 1_600_000_000)
            #expect(first.mailboxID == drafts.id && first.uidValidity == drafts.uidValidity && first.uid == 1)
            #expect(first.modSeq == drafts.highestModSeq + 1)
            let stored = try #require(store.message(mailboxID: drafts.id, uid: 1))
            #expect(stored.flags == ["\\Draft", "$Label1", "\\Seen"])
            #expect(stored.internalDate == 1_600_000_000 && stored.size == bytes.count && stored.modSeq == first.modSeq)
            #expect(try store.messageBytes(blobID: stored.blobID) == bytes)
            #expect(try store.blobReferences(stored.blobID) == 1)
            let second = try store.append(account: alice, mailbox: "Drafts", bytes: message("two"))
            #expect(second.uid == 2 && second.modSeq == first.modSeq + 1)
            #expect(store.message(mailboxID: drafts.id, uid: 2).map { abs($0.internalDate - Date().timeIntervalSince1970) < 60 } == true)
            #expect(store.account(alice)?.messageCount == 2)
            try store.checkInvariants(drafts.id)
        }
    }

    @Test func appendErrors() throws {
        try withIMAPStore(quota: 1_000) { store in
            expectError(.notFound) { _ = try store.append(account: alice, mailbox: "Nope", bytes: message("x")) }
            expectError(.notFound) { _ = try store.append(account: "ghost@example.test", mailbox: "INBOX", bytes: message("x")) }
            expectError(.invalid) { _ = try store.append(account: alice, mailbox: "INBOX", bytes: []) }
            expectError(.invalid) { _ = try store.append(account: alice, mailbox: "INBOX", bytes: message("x"), flags: ["\\Recent"]) }
            expectError(.invalid) { _ = try store.append(account: alice, mailbox: "INBOX", bytes: message("x"), flags: ["bad flag"]) }
            expectError(.invalid) { _ = try store.append(account: alice, mailbox: "a//b", bytes: message("x")) }
            _ = try store.append(account: alice, mailbox: "INBOX", bytes: message("x", size: 600))
            expectError(.overQuota) { _ = try store.append(account: alice, mailbox: "INBOX", bytes: message("y", size: 600)) }
            expectError(.overQuota) { _ = try store.append(account: alice, mailbox: "INBOX", bytes: message("z", size: 2_000)) }
            #expect(store.account(alice)?.messageCount == 1)
            #expect(try store.blobCount() == 1)
        }
    }
}
