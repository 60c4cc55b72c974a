// The whole default chain, loaded from policies/ as shipped.
import MailCore
import Testing
@testable import Policy

@Test func defaultChainLoadsAndDecides() throws {
    let host = TestPolicyHost(localDomains: ["example.test"], users: ["alice@example.test"])
    let policies = try ShippedPolicies(PolicyConfiguration.defaultChain, host: host)
    let engine = policies.engine
    #expect(engine.status.policies == ["ratelimit", "badmailfrom", "relay", "open_smtp", "limits"])
    #expect(engine.connect() == HookResult(verdict: .next))
    #expect(engine.run(.mailFrom(transaction(size: 20_000_000), sender: address("s@remote.example"))).reply?.code == 552)
    #expect(engine.run(.rcpt(transaction(), recipient: address("alice@example.test"))) == HookResult(verdict: .next))
    #expect(engine.run(.rcpt(transaction(), recipient: address("bob@example.test"))).reply?.code == 550)
    #expect(engine.run(.rcpt(transaction(), recipient: address("x@remote.example"))).reply?.code == 553)
    let full = (1...100).map { "u\($0)@example.test" }
    #expect(engine.run(.rcpt(transaction(recipients: full), recipient: address("alice@example.test"))).reply?.code == 452)
    #expect(host.errors().isEmpty)
}
