// policies/ratelimit.lua
import MailCore
import Testing
@testable import Policy

private let slowDown = Reply(421, "4.7.0", "Too many connections, slow down")
private let tooManyFailures = Reply(454, "4.7.0", "Too many failed logins, try again later")
private let messageRate = Reply(451, "4.7.1", "Message rate limit exceeded, try again later")

private func login(_ policies: ShippedPolicies, _ user: String = "alice@example.test", success: Bool,
                   protocolName: String = "smtp", ip: String = "192.0.2.30") -> HookResult {
    policies.engine.run(.auth(session(ip: ip, protocolName: protocolName), user: user, mechanism: "PLAIN", success: success))
}

@Test func connectionsPerMinute() throws {
    let policies = try ShippedPolicies(["ratelimit"], settings: ["ratelimit": ["connections_per_minute": 3]])
    for _ in 0..<3 { #expect(policies.engine.connect("192.0.2.1") == HookResult(verdict: .next)) }
    #expect(policies.engine.connect("192.0.2.1").verdict == .disconnect(slowDown))
    #expect(policies.engine.connect("192.0.2.2") == HookResult(verdict: .next))
    policies.host.advance(61)
    #expect(policies.engine.connect("192.0.2.1") == HookResult(verdict: .next))
}

@Test func exemptNetworksAreNotCounted() throws {
    let defaults = try ShippedPolicies(["ratelimit"], settings: ["ratelimit": ["connections_per_minute": 1]])
    for _ in 0..<5 {
        #expect(defaults.engine.connect("127.0.0.1") == HookResult(verdict: .next))
        #expect(defaults.engine.connect("::1") == HookResult(verdict: .next))
    }
    let custom = try ShippedPolicies(["ratelimit"], settings: ["ratelimit": ["connections_per_minute": 1, "exempt_networks": ["192.0.2.0/24"]]])
    for _ in 0..<5 { #expect(custom.engine.connect("192.0.2.9") == HookResult(verdict: .next)) }
    #expect(custom.engine.connect("127.0.0.1") == HookResult(verdict: .next))
    #expect(custom.engine.connect("127.0.0.1").verdict == .disconnect(slowDown))
}

@Test func failedLoginsPerHour() throws {
    let policies = try ShippedPolicies(["ratelimit"], settings: ["ratelimit": ["auth_failures_per_hour": 3]])
    for _ in 0..<3 { #expect(login(policies, success: false) == HookResult(verdict: .next)) }
    #expect(login(policies, success: false).verdict == .deferred(tooManyFailures))
    // Once over the limit even the right password is refused from that IP.
    #expect(login(policies, success: true).verdict == .deferred(tooManyFailures))
    #expect(login(policies, success: true, ip: "192.0.2.31") == HookResult(verdict: .next))
    // Loopback is not exempt from failed-login counting.
    for _ in 0..<3 { _ = login(policies, success: false, ip: "127.0.0.1") }
    #expect(login(policies, success: false, ip: "127.0.0.1").verdict == .deferred(tooManyFailures))
    policies.host.advance(3601)
    #expect(login(policies, success: true) == HookResult(verdict: .next))
}

@Test func pop3LoginOncePerInterval() throws {
    let policies = try ShippedPolicies(["ratelimit"])
    #expect(login(policies, success: true, protocolName: "pop3") == HookResult(verdict: .next))
    #expect(login(policies, "ALICE%example.test", success: true, protocolName: "pop3", ip: "127.0.0.1").verdict
        == .disconnect(Reply(421, "4.7.0", "[LOGIN-DELAY] Login allowed once per 60 seconds")))
    #expect(login(policies, "bob@example.test", success: true, protocolName: "pop3") == HookResult(verdict: .next))
    #expect(login(policies, success: true, protocolName: "imap") == HookResult(verdict: .next))
    policies.host.advance(61)
    #expect(login(policies, success: true, protocolName: "pop3") == HookResult(verdict: .next))
}

@Test func pop3IntervalIsConfigurable() throws {
    let policies = try ShippedPolicies(["ratelimit"], settings: ["ratelimit": ["pop3_login_interval": "5m"]])
    _ = login(policies, success: true, protocolName: "pop3")
    policies.host.advance(200)
    #expect(login(policies, success: true, protocolName: "pop3").verdict
        == .disconnect(Reply(421, "4.7.0", "[LOGIN-DELAY] Login allowed once per 300 seconds")))
}

@Test func messagesPerHourForAuthenticatedUsers() throws {
    let policies = try ShippedPolicies(["ratelimit"], settings: ["ratelimit": ["messages_per_hour": 2]])
    let sender = address("alice@example.test")
    let authed = session(ip: "192.0.2.40", authUser: "alice@example.test")
    for _ in 0..<2 { #expect(policies.engine.run(.mailFrom(transaction(authed), sender: sender)) == HookResult(verdict: .next)) }
    #expect(policies.engine.run(.mailFrom(transaction(authed), sender: sender)).verdict == .deferred(messageRate))
    // Unauthenticated sessions and exempt networks are not counted.
    for _ in 0..<5 {
        #expect(policies.engine.run(.mailFrom(transaction(session(ip: "192.0.2.40")), sender: sender)) == HookResult(verdict: .next))
        #expect(policies.engine.run(.mailFrom(transaction(session(ip: "127.0.0.1", authUser: "alice@example.test")), sender: sender))
            == HookResult(verdict: .next))
    }
}

@Test func invalidCountsFailTheLoad() throws {
    #expect(throws: PolicyLoadError.self) { try ShippedPolicies(["ratelimit"], settings: ["ratelimit": ["messages_per_hour": "many"]]) }
}
