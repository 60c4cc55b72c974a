// policies/open_smtp.lua
import Testing
@testable import Policy

private func auth(_ policies: ShippedPolicies, _ protocolName: String, success: Bool, ip: String = "192.0.2.20") -> HookResult {
    policies.engine.run(.auth(session(ip: ip, protocolName: protocolName), user: "alice@example.test", mechanism: "PLAIN", success: success))
}

@Test func successfulPOP3AndIMAPLoginsWhitelistTheIP() throws {
    let policies = try ShippedPolicies(["open_smtp"])
    #expect(auth(policies, "pop3", success: true, ip: "192.0.2.20") == HookResult(verdict: .next))
    #expect(auth(policies, "imap", success: true, ip: "192.0.2.21") == HookResult(verdict: .next))
    let now = policies.host.now()
    #expect(policies.host.whitelist["192.0.2.20"] == .init(user: "alice@example.test", expires: now + 3600))
    #expect(policies.host.whitelist["192.0.2.21"]?.expires == now + 3600)
}

@Test func failedLoginsAndSMTPLoginsDoNotWhitelist() throws {
    let policies = try ShippedPolicies(["open_smtp"])
    #expect(auth(policies, "pop3", success: false) == HookResult(verdict: .next))
    #expect(auth(policies, "imap", success: false) == HookResult(verdict: .next))
    #expect(auth(policies, "smtp", success: true) == HookResult(verdict: .next))
    #expect(policies.host.whitelist.isEmpty)
}

@Test func ttlIsConfigurableAsADuration() throws {
    let policies = try ShippedPolicies(["open_smtp"], settings: ["open_smtp": ["ttl": "30m"]])
    _ = auth(policies, "imap", success: true)
    #expect(policies.host.whitelist["192.0.2.20"]?.expires == policies.host.now() + 1800)
}

@Test func whitelistingOpensTheRelayForSMTP() throws {
    let host = TestPolicyHost()
    let policies = try ShippedPolicies(["open_smtp", "relay"], host: host)
    let remote = address("x@remote.example")
    let smtp = session(ip: "192.0.2.20")
    #expect(policies.engine.run(.rcpt(transaction(smtp), recipient: remote)).verdict != .next)
    _ = auth(policies, "pop3", success: true)
    #expect(policies.engine.run(.rcpt(transaction(smtp), recipient: remote)) == HookResult(verdict: .next))
    host.advance(3601)
    #expect(policies.engine.run(.rcpt(transaction(smtp), recipient: remote)).verdict != .next)
}
