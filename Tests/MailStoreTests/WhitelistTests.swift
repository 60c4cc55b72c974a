import Testing
@testable import MailStore

@Suite struct WhitelistTests {
    @Test func entriesExpire() throws {
        try withStore { store, _ throws in
            try store.whitelistAdd(ip: "192.0.2.1", user: "alice@example.test", expires: 1000)
            try store.whitelistAdd(ip: "2001:db8::1", user: nil, expires: 2000)
            #expect(store.whitelistContains(ip: "192.0.2.1", now: 999))
            #expect(!store.whitelistContains(ip: "192.0.2.1", now: 1000))
            #expect(!store.whitelistContains(ip: "192.0.2.9", now: 0))
            #expect(try store.whitelist(now: 500) == [
                WhitelistEntry(ip: "192.0.2.1", user: "alice@example.test", expires: 1000),
                WhitelistEntry(ip: "2001:db8::1", user: nil, expires: 2000),
            ])
            #expect(try store.whitelist(now: 1500).map(\.ip) == ["2001:db8::1"])

            // Re-adding extends.
            try store.whitelistAdd(ip: "192.0.2.1", user: "bob@example.test", expires: 3000)
            #expect(store.whitelistContains(ip: "192.0.2.1", now: 2500))

            #expect(try store.purgeExpiredWhitelist(now: 2500) == 1)
            #expect(try store.whitelist(now: 0).map(\.ip) == ["192.0.2.1"])
            try store.whitelistRemove(ip: "192.0.2.1")
            #expect(!store.whitelistContains(ip: "192.0.2.1", now: 0))
            expectError(.notFound) { try store.whitelistRemove(ip: "192.0.2.1") }
            expectError(.invalid) { try store.whitelistAdd(ip: "", user: nil, expires: 1) }
        }
    }
}
