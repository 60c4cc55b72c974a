// plugins/helo.lua's FCrDNS check through the real engine, with canned DNS answers.
import MailCore
import Testing
@testable import Policy

private func fcrdns(_ dns: TestResolver, _ settings: [String: PolicyValue] = [:]) throws -> ShippedPolicies {
    var settings = settings
    settings["checks"] = ["fcrdns"]
    return try ShippedPolicies(["helo"], host: hostWith(dns), settings: ["helo": .table(settings)])
}

private func rcpt(_ plugin: ShippedPolicies, _ ip: String) -> Verdict {
    let session = SessionInfo(id: "s1", protocolName: "smtp", listener: "smtp", clientIP: ip, clientPort: 40000,
                              heloName: "mail.example.org", authUser: nil, tls: false)
    return plugin.engine.run(.rcpt(transaction(session), recipient: address("bob@example.test"))).verdict
}

private func noFCrDNS(_ ip: String) -> Verdict {
    .reject(Reply(550, "5.7.1", "Client address \(ip) has no forward-confirmed reverse DNS"))
}

private func names(_ names: String...) -> DNSLookupResult { .records(names.map { .name($0) }, ttl: 300) }
private func addresses(_ list: String...) -> DNSLookupResult { .records(list.map { .address($0) }, ttl: 300) }

@Test func heloFCrDNS() throws {
    let dns = TestResolver()
    dns.answer("7.100.51.198.in-addr.arpa", .ptr, names("mail.example.org"))
    dns.answer("mail.example.org", .a, addresses("198.51.100.99", "198.51.100.7"))
    dns.answer("8.100.51.198.in-addr.arpa", .ptr, names("mail.example.org"))
    dns.answer("9.100.51.198.in-addr.arpa", .ptr, names("gone.example.org", "mail.example.org"))
    dns.answer("gone.example.org", .a, .nodata)
    dns.answer("5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", .ptr, names("mail6.example.org"))
    dns.answer("mail6.example.org", .aaaa, addresses("2001:db8::25"))
    let plugin = try fcrdns(dns)
    #expect(rcpt(plugin, "198.51.100.7") == .next)
    #expect(rcpt(plugin, "198.51.100.8") == noFCrDNS("198.51.100.8"))   // resolves elsewhere
    #expect(rcpt(plugin, "198.51.100.9") == noFCrDNS("198.51.100.9"))   // second name is not for it either
    #expect(rcpt(plugin, "198.51.100.10") == noFCrDNS("198.51.100.10")) // no PTR
    #expect(rcpt(plugin, "2001:db8::25") == .next)
    #expect(plugin.host.errors().isEmpty)
}

@Test func heloFCrDNSFailuresFollowOnError() throws {
    let dns = TestResolver()
    dns.answer("10.100.51.198.in-addr.arpa", .ptr, .failure(.timeout))
    dns.answer("11.100.51.198.in-addr.arpa", .ptr, names("flaky.example.org"))
    dns.answer("flaky.example.org", .a, .failure(.servfail))
    let deferring = try fcrdns(dns)
    #expect(rcpt(deferring, "198.51.100.10") == .deferred(HookResult.policyFailureReply))
    #expect(rcpt(deferring, "198.51.100.11") == .deferred(HookResult.policyFailureReply))
    #expect(deferring.host.errors().contains { $0.contains("PTR lookup for 198.51.100.10 failed: timeout") })
    let lenient = try fcrdns(dns, ["on_error": "next"])
    #expect(rcpt(lenient, "198.51.100.10") == .next)
}
