import Testing
@testable import MailStore

@Suite struct DKIMKeysTests {
    @Test func keysPerDomainAndSelector() throws {
        try withStore { store, _ throws in
            let generation = store.dkimKeysGeneration()
            let first = DKIMKeyEntry(domain: "Example.TEST", selector: "mg202612", algorithm: "rsa-sha256",
                                     privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n", created: 10)
            try store.dkimKeyAdd(first)
            try store.dkimKeyAdd(DKIMKeyEntry(domain: "example.test", selector: "ed", algorithm: "ed25519-sha256",
                                              privateKeyPEM: "pem", created: 20))
            try store.dkimKeyAdd(DKIMKeyEntry(domain: "other.test", selector: "a", algorithm: "rsa-sha256",
                                              privateKeyPEM: "pem2", created: 30))
            #expect(store.dkimKeysGeneration() == generation + 3)
            let keys = try store.dkimKeys(domain: "EXAMPLE.test")
            #expect(keys.map(\.selector) == ["ed", "mg202612"])
            #expect(keys[1].domain == "example.test")
            #expect(keys[1].privateKeyPEM == first.privateKeyPEM)
            #expect(keys[1].created == 10)
            #expect(try store.dkimKeys().count == 3)
            expectError(.alreadyExists) { try store.dkimKeyAdd(first) }
            expectError(.invalid) {
                try store.dkimKeyAdd(DKIMKeyEntry(domain: "example.test", selector: "bad selector", algorithm: "x",
                                                  privateKeyPEM: "", created: 0))
            }
            expectError(.invalid) { _ = try store.dkimKeys(domain: "not a domain") }

            try store.dkimKeyRemove(domain: "example.test", selector: "ED")
            expectError(.notFound) { try store.dkimKeyRemove(domain: "example.test", selector: "ed") }
            #expect(try store.dkimKeysRemoveAll(domain: "example.test") == 1)
            #expect(try store.dkimKeysRemoveAll(domain: "example.test") == 0)
            #expect(try store.dkimKeys().map(\.domain) == ["other.test"])
            #expect(store.dkimKeysGeneration() == generation + 5)
        }
    }

    @Test func whitelistEntryNamesTheUser() throws {
        try withStore { store, _ throws in
            try store.whitelistAdd(ip: "192.0.2.1", user: "alice@example.test", expires: 1000)
            try store.whitelistAdd(ip: "192.0.2.2", user: nil, expires: 1000)
            #expect(store.whitelistEntry(ip: "192.0.2.1", now: 10)?.user == "alice@example.test")
            #expect(store.whitelistEntry(ip: "192.0.2.2", now: 10)?.user == nil)
            #expect(store.whitelistEntry(ip: "192.0.2.2", now: 10) != nil)
            #expect(store.whitelistEntry(ip: "192.0.2.1", now: 1000) == nil)
            #expect(store.whitelistEntry(ip: "192.0.2.9", now: 10) == nil)
        }
    }
}
