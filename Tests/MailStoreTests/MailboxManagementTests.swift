import Testing
@testable import MailStore

@Suite struct MailboxManagementTests {
    @Test func newAccountsGetSubscribedSpecialUseFolders() throws {
        try withIMAPStore { store in
            let boxes = try store.mailboxes(account: alice)
            #expect(boxes.map(\.name) == ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"])
            #expect(boxes.map(\.specialUse) == [nil, "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"])
            #expect(Set(try store.subscriptions(account: alice)) == Set(boxes.map(\.name)))
            #expect(try store.ensureDefaultMailboxes(account: alice).isEmpty)
        }
    }

    @Test func ensureDefaultMailboxesFillsGapsIdempotently() throws {
        try withIMAPStore { store in
            try store.deleteMailbox(account: alice, name: "Junk")
            try store.deleteMailbox(account: alice, name: "Archive")
            try store.createMailbox(account: alice, name: "Archive")          // exists without special use
            try store.deleteMailbox(account: alice, name: "Trash")
            try store.createMailbox(account: alice, name: "Deleted Items", specialUse: "\\trash")
            let before = store.writeStatistics.operations
            #expect(try store.ensureDefaultMailboxes(account: alice) == ["Junk"])
            #expect(store.mailbox(account: alice, name: "Archive")?.specialUse == "\\Archive")
            #expect(store.mailbox(account: alice, name: "Trash") == nil)       // \Trash already taken
            #expect(store.mailbox(account: alice, name: "Deleted Items")?.specialUse == "\\Trash")
            #expect(try store.ensureDefaultMailboxes(account: alice).isEmpty)
            #expect(store.writeStatistics.operations == before + 1)           // the second call only read
            expectError(.notFound) { try store.ensureDefaultMailboxes(account: "ghost@example.test") }
        }
    }

    @Test func createValidatesNamesAndMakesNoParents() throws {
        try withIMAPStore { store in
            let deep = try store.createMailbox(account: alice, name: "a/b/c")
            #expect(deep.name == "a/b/c" && deep.uidNext == 1 && deep.highestModSeq >= 1)
            #expect(store.mailbox(account: alice, name: "a") == nil && store.mailbox(account: alice, name: "a/b") == nil)
            #expect(try store.createMailbox(account: alice, name: "Lists/").name == "Lists")
            #expect(try store.createMailbox(account: alice, name: "Ünïcödé 📬").name == "Ünïcödé 📬")
            #expect(try store.createMailbox(account: alice, name: "inbox/Child").name == "INBOX/Child")
            expectError(.alreadyExists) { try store.createMailbox(account: alice, name: "inbox") }
            expectError(.alreadyExists) { try store.createMailbox(account: alice, name: "a/b/c") }
            #expect(try store.createMailbox(account: alice, name: "A/b/c").name == "A/b/c")   // case-sensitive
            for bad in ["", "/", "a//b", "/a", "a\u{0}b", "a\r\nb", "a*", "50%", "a\u{7f}",
                        String(repeating: "x", count: 201), Array(repeating: "x", count: 33).joined(separator: "/")] {
                expectError(.invalid) { try store.createMailbox(account: alice, name: bad) }
            }
            expectError(.invalid) { try store.createMailbox(account: alice, name: "x", specialUse: "\\All") }
            expectError(.notFound) { try store.createMailbox(account: "ghost@example.test", name: "x") }
            expectError(.invalid) { try store.createMailbox(account: "not an address", name: "x") }
            // The dotless i upper-cases to I in Unicode: not INBOX.
            #expect(try store.createMailbox(account: alice, name: "ınbox").name == "ınbox")
        }
    }

    @Test func deleteRemovesMessagesReleasesBlobsAndKeepsChildren() throws {
        try withIMAPStore { store in
            let folder = try store.createMailbox(account: alice, name: "Work")
            try store.createMailbox(account: alice, name: "Work/2024")
            _ = try store.append(account: alice, mailbox: "Work", bytes: message("one"))
            let kept = try store.append(account: alice, mailbox: "Work/2024", bytes: message("two"))
            #expect(store.account(alice)?.messageCount == 2)
            try store.deleteMailbox(account: alice, name: "Work")
            #expect(store.mailbox(account: alice, name: "Work") == nil)
            #expect(store.mailbox(id: folder.id) == nil)
            #expect(store.mailbox(account: alice, name: "Work/2024")?.messageCount == 1)
            #expect(store.account(alice)?.messageCount == 1)
            #expect(store.account(alice)?.usedBytes == Int64(message("two").count))
            #expect(try store.blobCount() == 1)
            #expect(try store.messages(mailboxID: kept.mailboxID).count == 1)
            expectError(.notFound) { try store.snapshot(mailboxID: folder.id) }
            // "Work" now exists only as a parent: deleting it again is an error.
            expectError(.notFound) { try store.deleteMailbox(account: alice, name: "Work") }
            expectError(.refused) { try store.deleteMailbox(account: alice, name: "inbox") }
            expectError(.invalid) { try store.deleteMailbox(account: alice, name: "a//b") }
            // A new mailbox with the old name gets a new UIDVALIDITY.
            let again = try store.createMailbox(account: alice, name: "Work")
            #expect(again.uidValidity > folder.uidValidity && again.id != folder.id)
        }
    }

    @Test func renameMovesChildrenKeepsIdsAndSubscriptions() throws {
        try withIMAPStore { store in
            let a = try store.createMailbox(account: alice, name: "a")
            let ab = try store.createMailbox(account: alice, name: "a/b")
            let abc = try store.createMailbox(account: alice, name: "a/b/c")
            let other = try store.createMailbox(account: alice, name: "ab")     // not a child of "a"
            try store.subscribe(account: alice, name: "a/b")
            _ = try store.append(account: alice, mailbox: "a/b", bytes: message("x"))
            try store.renameMailbox(account: alice, from: "a", to: "z/y")
            #expect(store.mailbox(account: alice, name: "z/y")?.id == a.id)
            #expect(store.mailbox(account: alice, name: "z/y/b")?.id == ab.id)
            #expect(store.mailbox(account: alice, name: "z/y/b/c")?.id == abc.id)
            #expect(store.mailbox(account: alice, name: "z/y/b")?.uidValidity == ab.uidValidity)
            #expect(store.mailbox(id: ab.id)?.name == "z/y/b" && store.mailbox(id: ab.id)?.messageCount == 1)
            #expect(store.mailbox(account: alice, name: "ab")?.id == other.id)
            #expect(store.mailbox(account: alice, name: "a") == nil && store.mailbox(account: alice, name: "a/b") == nil)
            let subscribed = try store.subscriptions(account: alice)
            #expect(subscribed.contains("z/y/b") && !subscribed.contains("a/b"))
            // A parent that exists only through its children can be renamed too.
            try store.renameMailbox(account: alice, from: "z", to: "q")
            #expect(store.mailbox(id: abc.id)?.name == "q/y/b/c")
            try store.checkInvariants(ab.id)
        }
    }

    @Test func renameErrors() throws {
        try withIMAPStore { store in
            try store.createMailbox(account: alice, name: "a")
            try store.createMailbox(account: alice, name: "a/b")
            try store.createMailbox(account: alice, name: "x")
            try store.createMailbox(account: alice, name: "y/b")
            expectError(.alreadyExists) { try store.renameMailbox(account: alice, from: "a", to: "x") }
            // "y" exists only as a parent: renaming "y" onto "a" would make "a/b" collide.
            expectError(.alreadyExists) { try store.renameMailbox(account: alice, from: "y", to: "a") }
            expectError(.alreadyExists) { try store.renameMailbox(account: alice, from: "x", to: "inbox") }
            expectError(.alreadyExists) { try store.renameMailbox(account: alice, from: "x", to: "x") }
            expectError(.invalid) { try store.renameMailbox(account: alice, from: "a", to: "a/b/c") }
            expectError(.notFound) { try store.renameMailbox(account: alice, from: "nope", to: "n") }
            expectError(.invalid) { try store.renameMailbox(account: alice, from: "x", to: "") }
            // A child whose new name would be too long stops the whole rename.
            let long = String(repeating: "l", count: 190)
            try store.createMailbox(account: alice, name: "s/" + long)
            expectError(.invalid) { try store.renameMailbox(account: alice, from: "s", to: "longer-name") }
            #expect(store.mailbox(account: alice, name: "s/" + long) != nil)
        }
    }

    @Test func renameInboxMovesMessagesAndLeavesItEmpty() throws {
        try withIMAPStore { store in
            for i in 0..<3 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try #require(store.mailbox(account: alice, name: "INBOX"))
            try store.createMailbox(account: alice, name: "INBOX/Sub")
            _ = try store.storeFlags(mailboxID: inbox.id, uids: [2], mode: .add, flags: ["\\Seen"])
            try store.renameMailbox(account: alice, from: "INBOX", to: "Old Mail")
            let moved = try #require(store.mailbox(account: alice, name: "Old Mail"))
            #expect(moved.id != inbox.id && moved.messageCount == 3 && moved.unseenCount == 2)
            let messages = try store.messages(mailboxID: moved.id)
            #expect(messages.map(\.uid) == [1, 2, 3] && messages[1].flags == ["\\Seen"])
            #expect(String(decoding: try store.messageBytes(blobID: messages[2].blobID), as: UTF8.self).contains("m2"))
            let after = try #require(store.mailbox(id: inbox.id))
            #expect(after.messageCount == 0 && after.uidNext == inbox.uidNext && after.uidValidity == inbox.uidValidity)
            #expect(try store.vanished(mailboxID: inbox.id, sinceModSeq: 0).uids == [1, 2, 3])
            #expect(store.mailbox(account: alice, name: "INBOX/Sub") != nil)
            #expect(store.account(alice)?.messageCount == 3)
            #expect(try store.blobCount() == 3)
            try store.checkInvariants(inbox.id)
            try store.checkInvariants(moved.id)
            expectError(.alreadyExists) { try store.renameMailbox(account: alice, from: "INBOX", to: "Sent") }
        }
    }

    @Test func statusAndQuota() throws {
        try withIMAPStore(quota: 10_000) { store in
            _ = try deliverTo(store, "a")
            let second = try store.append(account: alice, mailbox: "INBOX", bytes: message("b"), flags: ["\\Seen", "\\Deleted"])
            let status = try store.mailboxStatus(account: alice, name: "inbox")
            #expect(status.messageCount == 2 && status.unseenCount == 1 && status.deletedCount == 1)
            #expect(status.uidNext == 3 && status.highestModSeq == second.modSeq && status.uidValidity == second.uidValidity)
            #expect(status.totalSize == Int64(message("a").count + message("b").count))
            expectError(.notFound) { try store.mailboxStatus(account: alice, name: "Nope") }
            let quota = try store.quota(account: alice)
            #expect(quota == AccountQuota(usedBytes: status.totalSize, limitBytes: 10_000, messageCount: 2))
            expectError(.notFound) { try store.quota(account: "ghost@example.test") }
        }
    }

    @Test func removingAnAccountRemovesItsSubscriptionsAndIndexes() throws {
        try withIMAPStore { store in
            try store.addAccount("bob@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
            _ = try deliverTo(store, "x")
            try store.subscribe(account: alice, name: "Gone")
            try store.removeAccount(alice)
            let leftovers = try store.read { txn throws(StoreError) in
                var n = 0
                for db in [DB.modSeqIndex, .messages, .expunged] { try txn.scan(db) { _, _ in n += 1; return true } }
                try txn.scan(.subscriptions, prefix: Keys.mailboxNamePrefix(account: alice)) { _, _ in n += 1; return true }
                return n
            }
            #expect(leftovers == 0)
            #expect(try store.subscriptions(account: "bob@example.test").count == 6)
        }
    }
}
