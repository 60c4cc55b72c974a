// policies/limits.lua
import MailCore
import Testing
@testable import Policy

private let tooBig = Reply(552, "5.3.4", "Message size exceeds fixed maximum message size")
private let tooMany = Reply(452, "4.5.3", "Too many recipients")

@Test func declaredAndRealSizeOverTheLimitAreRejected() throws {
    let policies = try ShippedPolicies(["limits"], globals: ["max_message_size": 1000, "max_recipients": 3])
    let engine = policies.engine
    let sender = address("s@remote.example")
    #expect(engine.run(.mailFrom(transaction(size: 1000), sender: sender)) == HookResult(verdict: .next))
    #expect(engine.run(.mailFrom(transaction(size: 1001), sender: sender)).verdict == .reject(tooBig))
    #expect(engine.run(.mailFrom(transaction(size: nil), sender: sender)) == HookResult(verdict: .next))
    #expect(engine.run(.data(transaction(size: 999))) == HookResult(verdict: .next))
    #expect(engine.run(.data(transaction(size: 5000))).verdict == .reject(tooBig))
}

@Test func recipientsBeyondTheMaximumAreDeferred() throws {
    let policies = try ShippedPolicies(["limits"], globals: ["max_recipients": 2])
    let engine = policies.engine
    let next = address("c@example.test")
    #expect(engine.run(.rcpt(transaction(recipients: []), recipient: next)) == HookResult(verdict: .next))
    #expect(engine.run(.rcpt(transaction(recipients: ["a@example.test"]), recipient: next)) == HookResult(verdict: .next))
    #expect(engine.run(.rcpt(transaction(recipients: ["a@example.test", "b@example.test"]), recipient: next)).verdict == .deferred(tooMany))
}

@Test func policyConfigOverridesGlobalsAndDefaultsApply() throws {
    let overridden = try ShippedPolicies(["limits"], settings: ["limits": ["max_message_size": "1KB", "max_recipients": 1]])
    #expect(overridden.engine.run(.data(transaction(size: 1025))).verdict == .reject(tooBig))
    #expect(overridden.engine.run(.rcpt(transaction(recipients: ["a@example.test"]), recipient: address("b@example.test"))).verdict
        == .deferred(tooMany))
    let defaults = try ShippedPolicies(["limits"], globals: [:])
    #expect(defaults.engine.run(.data(transaction(size: 10_485_760))) == HookResult(verdict: .next))
    #expect(defaults.engine.run(.data(transaction(size: 10_485_761))).verdict == .reject(tooBig))
    let hundred = (1...100).map { "u\($0)@example.test" }
    #expect(defaults.engine.run(.rcpt(transaction(recipients: hundred), recipient: address("x@example.test"))).verdict == .deferred(tooMany))
}

@Test func invalidLimitsFailTheLoad() throws {
    #expect(throws: PolicyLoadError.self) { try ShippedPolicies(["limits"], settings: ["limits": ["max_recipients": 0]]) }
    #expect(throws: PolicyLoadError.self) { try ShippedPolicies(["limits"], settings: ["limits": ["max_message_size": "huge"]]) }
}
