// plugins/greylist.lua through the real engine, with the in-memory kv store on the
// test host's clock.
import MailCore
import Testing
@testable import Policy

private func greylistSession(_ ip: String, authUser: String? = nil) -> SessionInfo {
    SessionInfo(id: "s1", protocolName: "smtp", listener: "smtp", clientIP: ip, clientPort: 40000,
                heloName: "mail.example.org", authUser: authUser, tls: false)
}

private func rcpt(_ plugin: ShippedPolicies, _ ip: String, from: String? = "sender@example.org",
                  to: String = "bob@example.test", authUser: String? = nil) -> Verdict {
    plugin.engine.run(.rcpt(transaction(greylistSession(ip, authUser: authUser), from: from),
                            recipient: address(to))).verdict
}

private func greylisted(_ seconds: Int) -> Verdict {
    .deferred(Reply(451, "4.7.1", "Greylisted, please try again in \(seconds) seconds"))
}

@Test func greylistDefersThenPassesAfterTheDelay() throws {
    let plugin = try ShippedPolicies(["greylist"])
    #expect(rcpt(plugin, "192.0.2.10") == greylisted(300))
    plugin.host.advance(60)
    #expect(rcpt(plugin, "192.0.2.10") == greylisted(240))
    // Another recipient is another triplet.
    #expect(rcpt(plugin, "192.0.2.10", to: "alice@example.test") == greylisted(300))
    plugin.host.advance(240)
    // A retry from another address of the same /24 passes.
    #expect(rcpt(plugin, "192.0.2.77") == .next)
    #expect(plugin.host.errors().isEmpty)
    #expect(plugin.host.logs.contains { $0.message == "greylist: passed 192.0.2.0/24|sender@example.org|bob@example.test after 300 seconds" })
}

@Test func greylistAutoWhitelistsTheNetwork() throws {
    let plugin = try ShippedPolicies(["greylist"], settings: ["greylist": ["delay": "1m", "auto_whitelist": "2d"]])
    #expect(rcpt(plugin, "192.0.2.10") == greylisted(60))
    plugin.host.advance(61)
    #expect(rcpt(plugin, "192.0.2.10") == .next)
    // Any triplet from the /24 passes now, for auto_whitelist (refreshed by use once a day).
    #expect(rcpt(plugin, "192.0.2.11", from: "x@example.net", to: "carol@example.test") == .next)
    #expect(rcpt(plugin, "198.51.100.1", from: "x@example.net", to: "carol@example.test") == greylisted(60))
    plugin.host.advance(86_400 + 1)
    #expect(rcpt(plugin, "192.0.2.12", from: "y@example.net") == .next)  // refreshes
    plugin.host.advance(86_400 + 10)
    #expect(rcpt(plugin, "192.0.2.13", from: "z@example.net") == .next)  // still within 2 d of the refresh
    plugin.host.advance(2 * 86_400 + 1)
    #expect(rcpt(plugin, "192.0.2.14", from: "w@example.net") == greylisted(60))
}

@Test func greylistWithoutAutoWhitelistRemembersPassedTriplets() throws {
    let plugin = try ShippedPolicies(["greylist"], settings: ["greylist": ["delay": 10, "auto_whitelist": 0,
                                                                           "passed_lifetime": "1d"]])
    #expect(rcpt(plugin, "192.0.2.10") == greylisted(10))
    plugin.host.advance(10)
    #expect(rcpt(plugin, "192.0.2.10") == .next)
    #expect(rcpt(plugin, "192.0.2.10", to: "alice@example.test") == greylisted(10))
    plugin.host.advance(3600)
    #expect(rcpt(plugin, "192.0.2.10") == .next)
    plugin.host.advance(86_400)
    #expect(rcpt(plugin, "192.0.2.10") == greylisted(10))
}

@Test func greylistUnretriedEntriesExpire() throws {
    let plugin = try ShippedPolicies(["greylist"])
    #expect(rcpt(plugin, "192.0.2.10") == greylisted(300))
    plugin.host.advance(4 * 3600 + 1)
    #expect(rcpt(plugin, "192.0.2.10") == greylisted(300))
    plugin.host.advance(300)
    #expect(rcpt(plugin, "192.0.2.10") == .next)
}

@Test func greylistTripletParts() throws {
    let plugin = try ShippedPolicies(["greylist"], settings: ["greylist": ["delay": "1m"]])
    // IPv6 by /64; the null sender; case-insensitive addresses.
    #expect(rcpt(plugin, "2001:db8:1:2::25", from: nil) == greylisted(60))
    plugin.host.advance(60)
    #expect(rcpt(plugin, "2001:db8:1:2:ffff::1", from: nil, to: "BOB@example.test") == .next)
    #expect(rcpt(plugin, "2001:db8:1:3::25", from: nil) == greylisted(60))
    #expect(rcpt(plugin, "198.51.100.5", from: "Sender@Example.ORG") == greylisted(60))
    plugin.host.advance(60)
    #expect(rcpt(plugin, "198.51.100.5", from: "sender@example.org") == .next)
    let keys = plugin.host.memoryKeyValues.snapshot.keys.sorted()
    #expect(keys.contains("greylist:t:2001:db8:1:2::/64|<>|bob@example.test"))
    #expect(keys.contains("greylist:awl:198.51.100.0/24"))
}

@Test func greylistExemptions() throws {
    let plugin = try ShippedPolicies(["greylist"], settings: ["greylist": ["exempt_networks": ["10.0.0.0/8"]]])
    #expect(rcpt(plugin, "192.0.2.10", authUser: "alice@example.test") == .next)
    plugin.host.addWhitelist("192.0.2.11")
    #expect(rcpt(plugin, "192.0.2.11") == .next)
    #expect(rcpt(plugin, "10.9.8.7") == .next)
    // Loopback is greylisted like anyone else by default.
    #expect(rcpt(plugin, "127.0.0.1") == greylisted(300))
    #expect(plugin.host.memoryKeyValues.snapshot.count == 1)
}

@Test func greylistLongAddressesFitTheKeyLimit() throws {
    let plugin = try ShippedPolicies(["greylist"])
    let long = String(repeating: "a", count: 64) + "@" + String(repeating: "b.", count: 120) + "example"
    #expect(rcpt(plugin, "192.0.2.10", from: long, to: long) == greylisted(300))
    #expect(plugin.host.errors().isEmpty)
}

@Test func greylistBadSettingsFailTheLoad() throws {
    for settings: PolicyValue in [["delay": "soon"], ["delay": "1h", "window": "5m"], ["window": "400d"],
                                  ["exempt_networks": ["nope"]], ["passed_lifetime": 0]] {
        #expect(throws: PolicyLoadError.self, "\(settings)") { try ShippedPolicies(["greylist"], settings: ["greylist": settings]) }
    }
}
