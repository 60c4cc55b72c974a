// plugins/dnsbl.lua through the real engine, with canned DNS answers.
import MailCore
import Testing
@testable import Policy

/// The plugin refusing at `rcpt` unless the settings say otherwise (most tests here are
/// about the lookup logic, which is the same at both hooks); nil keeps the default.
private func dnsbl(_ settings: [String: PolicyValue], _ dns: TestResolver, refuseAt: String? = "rcpt") throws -> ShippedPolicies {
    var settings = settings
    if settings["refuse_at"] == nil, let refuseAt { settings["refuse_at"] = .string(refuseAt) }
    return try ShippedPolicies(["dnsbl"], host: hostWith(dns), settings: ["dnsbl": .table(settings)])
}

@Test func dnsblRefusesAtTheGreetingByDefaultOnTheMXListenerOnly() throws {
    let dns = TestResolver()
    dns.listed("2.0.0.127.bl.test", "127.0.0.2")
    let plugin = try dnsbl(["zones": ["bl.test"]], dns, refuseAt: nil)
    func connect(_ ip: String, listener: String = "smtp", protocolName: String = "smtp") -> Verdict {
        plugin.engine.run(.connect(SessionInfo(id: "s1", protocolName: protocolName, listener: listener,
                                               clientIP: ip))).verdict
    }
    #expect(connect("127.0.0.2") == blocked("127.0.0.2", "bl.test"))
    #expect(connect("192.0.2.10") == .next)
    #expect(connect("127.0.0.2", listener: "submission") == .next)
    #expect(connect("127.0.0.2", listener: "pop3", protocolName: "pop3") == .next)
    // rcpt is not checked again in this mode.
    #expect(rcpt(plugin, "127.0.0.2") == .next)
    let everywhere = try dnsbl(["zones": ["bl.test"], "listeners": ["smtp", "submission"]], dns, refuseAt: nil)
    #expect(everywhere.engine.run(.connect(SessionInfo(id: "s2", protocolName: "smtp", listener: "submission",
                                                       clientIP: "127.0.0.2"))).verdict == blocked("127.0.0.2", "bl.test"))
}

private func smtpSession(_ ip: String, authUser: String? = nil, protocolName: String = "smtp") -> SessionInfo {
    SessionInfo(id: "s1", protocolName: protocolName, listener: "smtp", clientIP: ip, clientPort: 40000,
                heloName: "mail.example.org", authUser: authUser, tls: false)
}

private func rcpt(_ plugin: ShippedPolicies, _ tx: TransactionInfo, _ to: String = "bob@example.test") -> Verdict {
    plugin.engine.run(.rcpt(tx, recipient: address(to))).verdict
}

private func rcpt(_ plugin: ShippedPolicies, _ ip: String, _ to: String = "bob@example.test", authUser: String? = nil) -> Verdict {
    rcpt(plugin, transaction(smtpSession(ip, authUser: authUser)), to)
}

private func blocked(_ ip: String, _ zones: String) -> Verdict {
    .reject(Reply(554, "5.7.1", "Service unavailable; client [\(ip)] blocked using \(zones)"))
}

@Test func dnsblListedClientIsRefusedAtRcpt() throws {
    let dns = TestResolver()
    dns.listed("2.0.0.127.bl.test", "127.0.0.2")
    dns.listed("1.0.0.127.bl.test", "127.0.0.1")  // a broken zone: 127.0.0.1 never counts
    let plugin = try dnsbl(["zones": ["bl.test"]], dns)
    #expect(rcpt(plugin, "127.0.0.2") == blocked("127.0.0.2", "bl.test"))
    #expect(rcpt(plugin, "127.0.0.1") == .next)
    #expect(rcpt(plugin, "192.0.2.10") == .next)  // NXDOMAIN
    // postmaster@ and abuse@ get through; authenticated and open-SMTP clients too.
    #expect(rcpt(plugin, "127.0.0.2", "postmaster@example.test") == .next)
    #expect(rcpt(plugin, "127.0.0.2", "Abuse@example.test") == .next)
    #expect(rcpt(plugin, "127.0.0.2", authUser: "alice@example.test") == .next)
    plugin.host.addWhitelist("127.0.0.2")
    #expect(rcpt(plugin, "127.0.0.2") == .next)
    #expect(plugin.host.errors().isEmpty)
    #expect(plugin.host.logs.contains { $0.message == "dnsbl: 127.0.0.2 listed by bl.test (score 1)" })
}

@Test func dnsblAsksOncePerTransaction() throws {
    let dns = TestResolver()
    dns.listed("2.0.0.127.bl.test", "127.0.0.2")
    let plugin = try dnsbl(["zones": ["bl.test", "other.test"]], dns)
    let tx = transaction(smtpSession("127.0.0.2"))
    #expect(rcpt(plugin, tx, "a@example.test") == blocked("127.0.0.2", "bl.test"))
    #expect(rcpt(plugin, tx, "b@example.test") == blocked("127.0.0.2", "bl.test"))
    #expect(dns.questions.map { "\($0.name) \($0.type.name)" } == ["2.0.0.127.bl.test A", "2.0.0.127.other.test A"])
}

@Test func dnsblIPv6UsesNibbles() throws {
    let dns = TestResolver()
    dns.listed("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test", "127.0.0.4")
    let plugin = try dnsbl(["zones": ["bl.test"]], dns)
    #expect(rcpt(plugin, "2001:db8::1") == blocked("2001:db8::1", "bl.test"))
    #expect(rcpt(plugin, "2001:db8::2") == .next)
}

@Test func dnsblCodesWeightsAndThreshold() throws {
    let dns = TestResolver()
    dns.listed("7.100.51.198.one.test", "127.0.0.2")
    dns.listed("7.100.51.198.half.test", "127.0.0.3")
    dns.listed("7.100.51.198.ranged.test", "127.0.0.20")
    dns.listed("8.100.51.198.one.test", "127.0.0.2")
    dns.listed("8.100.51.198.ranged.test", "127.0.0.11")
    dns.listed("9.100.51.198.one.test", "127.255.255.254")  // Spamhaus' "public resolver" error
    dns.listed("9.100.51.198.ranged.test", "10.0.0.1")      // a hijacking resolver
    let plugin = try dnsbl([
        "threshold": 2,
        "zones": ["one.test", ["zone": "half.test", "weight": 0.5],
                  ["zone": "ranged.test", "codes": ["127.0.0.2-127.0.0.11", "127.0.1.0/24"]]],
    ], dns)
    #expect(rcpt(plugin, "198.51.100.7") == .next)  // 1 + 0.5; ranged's 127.0.0.20 does not count
    #expect(rcpt(plugin, "198.51.100.8") == blocked("198.51.100.8", "one.test, ranged.test"))
    #expect(rcpt(plugin, "198.51.100.9") == .next)

    let single = try dnsbl(["zones": [["zone": "ranged.test", "codes": "127.0.0.11"]]], dns)
    #expect(rcpt(single, "198.51.100.8") == blocked("198.51.100.8", "ranged.test"))
    #expect(rcpt(single, "198.51.100.7") == .next)
}

@Test func dnsblLookupFailuresRaiseWhenTheyMatter() throws {
    let dns = TestResolver()
    dns.answer("10.2.0.192.bl.test", .a, .failure(.timeout))
    dns.answer("10.2.0.192.down.test", .a, .failure(.servfail))
    dns.listed("11.2.0.192.bl.test", "127.0.0.2")
    dns.answer("11.2.0.192.down.test", .a, .failure(.timeout))
    let plugin = try dnsbl(["zones": ["bl.test", "down.test"]], dns)
    // on_error's default: a failure is 451 4.3.0, logged as an error.
    #expect(rcpt(plugin, "192.0.2.10") == .deferred(HookResult.policyFailureReply))
    #expect(plugin.host.errors().contains { $0.contains("lookup failed for 192.0.2.10 (bl.test: timeout, down.test: servfail)") })
    // The zones that answered already reach the threshold: refused whatever down.test says.
    #expect(rcpt(plugin, "192.0.2.11") == blocked("192.0.2.11", "bl.test"))
    // A failed zone that cannot reach the threshold is only a warning.
    let weighted = try dnsbl(["zones": ["bl.test", ["zone": "down.test", "weight": 0.5]], "threshold": 1], dns)
    dns.answer("12.2.0.192.down.test", .a, .failure(.refused))
    #expect(rcpt(weighted, "192.0.2.12") == .next)
    #expect(weighted.host.logs.contains { $0.level == .warning && $0.message.contains("down.test: refused") })
}

@Test func dnsblOnErrorNextLetsMailThrough() throws {
    let dns = TestResolver()
    dns.answer("10.2.0.192.bl.test", .a, .failure(.timeout))
    let plugin = try dnsbl(["zones": ["bl.test"], "on_error": "next"], dns)
    #expect(rcpt(plugin, "192.0.2.10") == .next)
}

@Test func dnsblActions() throws {
    let dns = TestResolver()
    dns.listed("2.0.0.127.bl.test", "127.0.0.2")
    let deferring = try dnsbl(["zones": ["bl.test"], "action": "defer", "message": "{ip} is on {zones}"], dns)
    #expect(rcpt(deferring, "127.0.0.2") == .deferred(Reply(451, "4.7.1", "127.0.0.2 is on bl.test")))
    let closing = try dnsbl(["zones": ["bl.test"], "action": "disconnect"], dns)
    #expect(rcpt(closing, "127.0.0.2") == .disconnect(Reply(554, "5.7.1", "Service unavailable; client [127.0.0.2] blocked using bl.test")))

    let atConnect = try dnsbl(["zones": ["bl.test"], "refuse_at": "connect"], dns)
    #expect(atConnect.engine.run(.connect(smtpSession("127.0.0.2"))).verdict == blocked("127.0.0.2", "bl.test"))
    #expect(atConnect.engine.run(.connect(smtpSession("127.0.0.2", protocolName: "pop3"))).verdict == .next)
    #expect(rcpt(atConnect, "127.0.0.2") == .next)

    let tagging = try dnsbl(["zones": ["bl.test"], "action": "tag"], dns)
    let tx = transaction(smtpSession("127.0.0.2"))
    #expect(rcpt(tagging, tx) == .next)
    let result = tagging.engine.run(.data(tx))
    #expect(result.verdict == .next)
    #expect(result.addedHeaders == [HeaderField(name: "X-DNSBL", value: "127.0.0.2 listed by bl.test (score 1)")])
    #expect(tagging.engine.run(.data(transaction(smtpSession("192.0.2.1")))).addedHeaders.isEmpty)
}

@Test func dnsblExemptNetworksAreNotLookedUp() throws {
    let dns = TestResolver()
    dns.listed("2.0.0.127.bl.test", "127.0.0.2")
    let plugin = try dnsbl(["zones": ["bl.test"], "exempt_networks": ["127.0.0.0/8"]], dns)
    #expect(rcpt(plugin, "127.0.0.2") == .next)
    #expect(dns.questionCount == 0)
}

@Test func dnsblBadSettingsFailTheLoad() throws {
    let dns = TestResolver()
    for settings: [String: PolicyValue] in [
        [:], ["zones": []], ["zones": ["bl.test"], "action": "drop"], ["zones": ["bl.test"], "refuse_at": "data"],
        ["zones": [["zone": "x.test", "codes": ["127.0.0.5-127.0.0.2"]]]], ["zones": [["zone": "x.test", "codes": ["many"]]]],
        ["zones": ["not a zone"]], ["zones": [["zone": "x.test", "weight": "heavy"]]],
        ["zones": ["bl.test"], "exempt_networks": ["nope"]],
    ] {
        #expect(throws: PolicyLoadError.self, "\(settings)") { try dnsbl(settings, dns) }
    }
}

extension TestResolver {
    /// `name` answers A records `addresses`, as a listing zone does.
    func listed(_ name: String, _ addresses: String...) {
        answer(name, .a, .records(addresses.map { .address($0) }, ttl: 300))
    }
}

/// A test host whose mailgate.dns answers from `resolver`.
func hostWith(_ resolver: TestResolver) -> TestPolicyHost {
    let host = TestPolicyHost()
    host.resolver = resolver
    return host
}
