// policies/relay.lua
import MailCore
import Testing
@testable import Policy

private let noMailbox = Reply(550, "5.1.1", "Sorry, no mailbox here by that name. (#5.1.1)")
private let noRelay = Reply(553, "5.7.1", "Sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)")

private func relay(settings: [String: PolicyValue] = [:]) throws -> ShippedPolicies {
    try ShippedPolicies(["relay"], host: TestPolicyHost(localDomains: ["example.test", "catchall.test"],
                                                        users: ["alice@example.test", "user%evil.test@example.test"],
                                                        aliases: ["info@example.test"], catchAll: ["catchall.test"]),
                        settings: settings)
}

private func rcpt(_ policies: ShippedPolicies, _ recipient: String, session: SessionInfo = session()) -> HookResult {
    policies.engine.run(.rcpt(transaction(session), recipient: try! MailAddress.parse(recipient)))
}

@Test func localRecipients() throws {
    let policies = try relay()
    #expect(rcpt(policies, "alice@example.test") == HookResult(verdict: .next))
    #expect(rcpt(policies, "ALICE@Example.Test") == HookResult(verdict: .next))
    #expect(rcpt(policies, "info@example.test") == HookResult(verdict: .next))
    #expect(rcpt(policies, "anyone@catchall.test") == HookResult(verdict: .next))
    #expect(rcpt(policies, "bob@example.test").verdict == .reject(noMailbox))
    #expect(policies.host.errors().isEmpty)
}

@Test func relayingIsDeniedToStrangers() throws {
    let policies = try relay()
    #expect(rcpt(policies, "someone@remote.example").verdict == .reject(noRelay))
}

@Test func relayingIsAllowedForAuthWhitelistAndTrustedNetworks() throws {
    let policies = try relay(settings: ["relay": ["trusted_networks": ["10.0.0.0/8", "2001:db8::/32"]]])
    #expect(rcpt(policies, "someone@remote.example", session: session(authUser: "alice@example.test")) == HookResult(verdict: .next))
    #expect(rcpt(policies, "someone@remote.example", session: session(ip: "10.9.8.7")) == HookResult(verdict: .next))
    #expect(rcpt(policies, "someone@remote.example", session: session(ip: "2001:db8::5")) == HookResult(verdict: .next))
    policies.host.addWhitelist("192.0.2.50", ttl: 60)
    #expect(rcpt(policies, "someone@remote.example", session: session(ip: "192.0.2.50")) == HookResult(verdict: .next))
    policies.host.advance(61)
    #expect(rcpt(policies, "someone@remote.example", session: session(ip: "192.0.2.50")).verdict == .reject(noRelay))
    // Still no mailbox for unknown local users, even when relaying is allowed.
    #expect(rcpt(policies, "bob@example.test", session: session(authUser: "alice@example.test")).verdict == .reject(noMailbox))
}

@Test(arguments: ["user%remote.example@example.test", "remote.example!user@example.test", "\"user@remote.example\"@example.test",
                  "\"user%remote.example\"@example.test"])
func addressTricksForALocalDomainAreUnknownUsers(recipient: String) throws {
    #expect(rcpt(try relay(), recipient).verdict == .reject(noMailbox))
}

@Test func anExistingAccountWithARoutingCharacterIsStillDelivered() throws {
    #expect(rcpt(try relay(), "user%evil.test@example.test") == HookResult(verdict: .next))
}

@Test func domainLiteralsAreNeverLocal() throws {
    let policies = try relay()
    #expect(rcpt(policies, "postmaster@[192.0.2.1]").verdict == .reject(noRelay))
    #expect(rcpt(policies, "alice@[127.0.0.1]").verdict == .reject(noRelay))
    #expect(rcpt(policies, "alice@[127.0.0.1]", session: session(authUser: "alice@example.test")) == HookResult(verdict: .next))
}

@Test func relayOnLocalDomainRecipientsNeverDependsOnTrust() throws {
    let policies = try relay(settings: ["relay": ["trusted_networks": ["0.0.0.0/0"]]])
    #expect(rcpt(policies, "nobody@example.test", session: session(ip: "192.0.2.1")).verdict == .reject(noMailbox))
    #expect(rcpt(policies, "x@remote.example", session: session(ip: "192.0.2.1")) == HookResult(verdict: .next))
}
