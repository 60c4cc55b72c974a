import Testing
@testable import MailStore

@Suite struct DomainsTests {
    @Test func addDomainCreatesPostmasterWithoutPassword() throws {
        try withStore { store, _ throws in
            try store.addDomain("Example.TEST")
            #expect(try store.domains() == ["example.test"])
            #expect(store.domainExists("EXAMPLE.test"))
            let postmaster = try #require(store.account("postmaster@example.test"))
            #expect(postmaster.passwordHash == nil)
            #expect(postmaster.quota == Account.defaultQuota)
            #expect(try store.mailboxes(account: "postmaster@example.test").map(\.name)
                    == ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"])
        }
    }

    @Test func duplicateAndInvalidDomains() throws {
        try withStore { store, _ throws in
            try store.addDomain("example.test")
            expectError(.alreadyExists) { try store.addDomain("EXAMPLE.test") }
            expectError(.alreadyExists) { try store.addDomain("example.test") }
            for bad in ["", "exa mple.test", "example.test.", "[127.0.0.1]", "-bad.test", "a..b"] {
                expectError(.invalid) { try store.addDomain(bad) }
            }
            expectError(.notFound) { try store.removeDomain("nope.test") }
        }
    }

    @Test func postmasterCannotBeRemovedWhileDomainExists() throws {
        try withStore { store, _ throws in
            try store.addDomain("example.test")
            expectError(.refused) { try store.removeAccount("Postmaster@Example.test") }
            #expect(store.account("postmaster@example.test") != nil)
        }
    }

    @Test func removeDomainRemovesEverythingOfIt() throws {
        try withStore { store, _ throws in
            try store.addDomain("example.test")
            try store.addDomain("other.test")
            try store.addAccount("alice@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
            try store.addAccount("bob@other.test", passwordHash: nil, quota: nil, apopSecret: nil)
            try store.addAlias("info@example.test", targets: ["alice@example.test", "bob@other.test"])
            try store.setCatchAll(domain: "example.test", target: "alice@example.test")
            let result = try deliverSync(store, DeliveryRequest(
                message: message("hi"),
                local: [LocalDeliveryTarget(account: "alice@example.test"), LocalDeliveryTarget(account: "bob@other.test")],
                internalDate: 1000))
            #expect(result.local.count == 2)
            let blob = try #require(try store.messages(mailboxID: store.mailbox(account: "bob@other.test", name: "INBOX")!.id).first).blobID
            #expect(try store.blobReferences(blob) == 2)
            let aliceInbox = try #require(store.mailbox(account: "alice@example.test", name: "INBOX"))

            try store.removeDomain("example.test")
            #expect(!store.domainExists("example.test"))
            #expect(store.account("alice@example.test") == nil)
            #expect(store.account("postmaster@example.test") == nil)
            #expect(store.alias("info@example.test") == nil)
            #expect(store.catchAll(domain: "example.test") == nil)
            #expect(store.mailbox(account: "alice@example.test", name: "INBOX") == nil)
            #expect(throws: StoreError.self) { try store.messages(mailboxID: aliceInbox.id) }
            #expect(try store.blobReferences(blob) == 1)
            #expect(try store.domains() == ["other.test"])
            #expect(try store.accounts(domain: nil).map(\.address) == ["bob@other.test", "postmaster@other.test"])

            // After the domain is gone its postmaster may be re-created with the domain.
            try store.addDomain("example.test")
            #expect(store.account("postmaster@example.test") != nil)
        }
    }
}
