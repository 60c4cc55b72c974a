import Testing
@testable import MailStore

@Suite struct AccountsTests {
    @Test func accountCRUD() throws {
        try withStore { store, _ throws in
            expectError(.notFound) {
                try store.addAccount("alice@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
            }
            do {
                try store.addAccount("alice@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
            } catch {
                #expect((error as? StoreError)?.message.contains("domain example.test does not exist") == true)
            }
            try store.addDomain("example.test")
            try store.addAccount("Alice@Example.TEST", passwordHash: "$6$x", quota: 3 << 30, apopSecret: "s3")
            let alice = try #require(store.account("alice@EXAMPLE.test"))
            #expect(alice.address == "alice@example.test")
            #expect(alice.passwordHash == "$6$x")
            #expect(alice.apopSecret == "s3")
            #expect(alice.quota == 3 << 30)
            #expect(alice.usedBytes == 0 && alice.messageCount == 0)
            #expect(alice.created > 1_600_000_000)

            expectError(.alreadyExists) {
                try store.addAccount("alice@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
            }
            for bad in ["alice", "a b@example.test", "\"x@y\"@example.test", "u%v@example.test", "a@[127.0.0.1]"] {
                expectError(.invalid) { try store.addAccount(bad, passwordHash: nil, quota: nil, apopSecret: nil) }
            }

            try store.setPassword("alice@example.test", hash: "$6$y", apopSecret: nil)
            #expect(store.account("alice@example.test")?.passwordHash == "$6$y")
            #expect(store.account("alice@example.test")?.apopSecret == "s3")
            try store.setPassword("alice@example.test", hash: nil, apopSecret: .some(nil))
            #expect(store.account("alice@example.test")?.passwordHash == nil)
            #expect(store.account("alice@example.test")?.apopSecret == nil)
            try store.setQuota("alice@example.test", 1234)
            #expect(store.account("alice@example.test")?.quota == 1234)
            expectError(.notFound) { try store.setQuota("nobody@example.test", 1) }
            expectError(.invalid) { try store.setQuota("alice@example.test", 0) }

            #expect(try store.accounts(domain: "example.test").map(\.address)
                    == ["alice@example.test", "postmaster@example.test"])
            expectError(.notFound) { _ = try store.accounts(domain: "none.test") }

            try store.removeAccount("alice@example.test")
            #expect(store.account("alice@example.test") == nil)
            expectError(.notFound) { try store.removeAccount("alice@example.test") }
        }
    }

    @Test func newAccountsGetStandardMailboxes() throws {
        try withStore { store, _ throws in
            try store.addDomain("example.test")
            try store.addAccount("bob@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
            let boxes = try store.mailboxes(account: "bob@example.test")
            #expect(boxes.map(\.name) == ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"])
            #expect(boxes.map(\.specialUse) == [nil, "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"])
            #expect(boxes.allSatisfy { $0.uidNext == 1 && $0.messageCount == 0 && $0.account == "bob@example.test" })
            #expect(Set(boxes.map(\.id)).count == 6)
            #expect(Set(boxes.map(\.uidValidity)).count == 6)
            #expect(store.mailbox(account: "bob@example.test", name: "inbox")?.name == "INBOX")
            #expect(store.account("bob@example.test")?.quota == Int64(25 * 1024 * 1024))
            let created = try store.createMailbox(account: "bob@example.test", name: "Lists")
            #expect(created.uidValidity > boxes.map(\.uidValidity).max()!)
            #expect(throws: StoreError.self) { try store.createMailbox(account: "bob@example.test", name: "Lists") }
        }
    }

    @Test func quotaAboveTwoGigabytes() throws {
        try withStore { store, _ throws in
            try store.addDomain("example.test")
            try store.addAccount("big@example.test", passwordHash: nil, quota: 5 * 1024 * 1024 * 1024, apopSecret: nil)
            #expect(store.account("big@example.test")?.quota == Int64(5) * 1024 * 1024 * 1024)
        }
    }
}
