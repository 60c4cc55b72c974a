// plugins/helo.lua through the real engine (the name checks; FCrDNS, which needs
// mailgate.dns, is in HeloPluginDNSTests).
import MailCore
import Testing
@testable import Policy

private func heloSession(_ ip: String, _ name: String?, authUser: String? = nil) -> SessionInfo {
    SessionInfo(id: "s1", protocolName: "smtp", listener: authUser == nil ? "smtp" : "submission", clientIP: ip,
                clientPort: 40000, heloName: name, authUser: authUser, tls: false)
}

/// The verdict for RCPT TO:<rcpt> in a session that said HELO `name` from `ip`.
private func rcpt(_ plugin: ShippedPolicies, _ ip: String, _ name: String?, _ rcpt: String = "bob@example.test",
                  authUser: String? = nil) -> Verdict {
    plugin.engine.run(.rcpt(transaction(heloSession(ip, name, authUser: authUser)), recipient: address(rcpt))).verdict
}

private func refusedText(_ verdict: Verdict) -> String? {
    if case .reject(let reply) = verdict, reply.code == 550, reply.enhanced == "5.7.1" { return reply.text }
    return nil
}

@Test func heloGoodNamesPass() throws {
    let plugin = try ShippedPolicies(["helo"])
    for name in ["mail.example.org", "mail.example.org.", "a.b", "[198.51.100.7]", "[IPv6:2001:db8::1]",
                 "xn--bcher-kva.example"] {
        #expect(rcpt(plugin, "198.51.100.7", name) == .next, "\(name)")
    }
    #expect(plugin.host.errors().isEmpty)
}

@Test func heloInvalidNamesAreRefusedAtRcpt() throws {
    let plugin = try ShippedPolicies(["helo"])
    for name in ["bad_name.example", "-x.example", "a..b", "DESKTOP-1234", "[999.1.1.1]", "[IPv6:198.51.100.7]",
                 "[mail.example.org]", String(repeating: "a", count: 64) + ".example"] {
        let text = refusedText(rcpt(plugin, "198.51.100.7", name))
        #expect(text?.hasPrefix("Invalid HELO name ") == true, "\(name): \(String(describing: text))")
        #expect(text?.hasSuffix("not a domain or an address literal") == true, "\(name)")
    }
    // The name is quoted with anything unusual replaced.
    #expect(refusedText(rcpt(plugin, "198.51.100.7", "bad_name.example"))
        == "Invalid HELO name bad?name.example: not a domain or an address literal")
}

@Test func heloBareIPIsRefused() throws {
    let plugin = try ShippedPolicies(["helo"])
    #expect(refusedText(rcpt(plugin, "198.51.100.7", "198.51.100.7"))
        == "Invalid HELO name 198.51.100.7: an address must be written [198.51.100.7]")
    #expect(refusedText(rcpt(plugin, "198.51.100.7", "2001:db8::1"))
        == "Invalid HELO name 2001:db8::1: an address must be written [2001:db8::1]")
}

@Test func heloForgedNameOrAddressIsRefused() throws {
    let plugin = try ShippedPolicies(["helo"], settings: ["helo": [
        "own_names": ["mail.example.test"], "own_addresses": ["192.0.2.25", "2001:db8::25"],
    ]])
    let forged = "that is me, not you"
    for name in ["mx.example.test", "MX.Example.TEST", "mx.example.test.", "mail.example.test", "[192.0.2.25]",
                 "[IPv6:2001:db8::25]"] {
        #expect(refusedText(rcpt(plugin, "198.51.100.7", name))?.hasSuffix(forged) == true, "\(name)")
    }
    // A bare IP is refused as such first.
    #expect(refusedText(rcpt(plugin, "198.51.100.7", "192.0.2.25"))?.contains("must be written") == true)
    // The server itself (a client at one of our addresses) may use our name.
    #expect(rcpt(plugin, "192.0.2.25", "mx.example.test") == .next)
    // Loopback is checked like anyone else unless it is listed in own_addresses.
    #expect(refusedText(rcpt(plugin, "127.0.0.1", "mx.example.test"))?.hasSuffix(forged) == true)
}

@Test func heloLocalhostOnlyFromLoopback() throws {
    let plugin = try ShippedPolicies(["helo"])
    for name in ["localhost", "LOCALHOST", "localhost.localdomain", "[127.0.0.1]", "[IPv6:::1]"] {
        #expect(refusedText(rcpt(plugin, "198.51.100.7", name))?.hasSuffix("you are not on my loopback") == true, "\(name)")
        #expect(rcpt(plugin, "127.0.0.1", name) == .next, "\(name) from 127.0.0.1")
        #expect(rcpt(plugin, "::1", name) == .next, "\(name) from ::1")
    }
}

@Test func heloExemptions() throws {
    let plugin = try ShippedPolicies(["helo"], settings: ["helo": ["exempt_networks": ["203.0.113.0/24"]]])
    // Authenticated sessions, open-SMTP clients, exempt networks and postmaster@/abuse@.
    #expect(rcpt(plugin, "198.51.100.7", "DESKTOP-1234", authUser: "alice@example.test") == .next)
    plugin.host.addWhitelist("198.51.100.8")
    #expect(rcpt(plugin, "198.51.100.8", "DESKTOP-1234") == .next)
    #expect(rcpt(plugin, "203.0.113.9", "DESKTOP-1234") == .next)
    #expect(rcpt(plugin, "198.51.100.7", "DESKTOP-1234", "postmaster@example.test") == .next)
    #expect(rcpt(plugin, "198.51.100.7", "DESKTOP-1234", "Abuse@example.test") == .next)
    #expect(refusedText(rcpt(plugin, "198.51.100.7", "DESKTOP-1234")) != nil)
    // No HELO at all (cannot happen in SMTP, which asks for one first): nothing to judge.
    #expect(rcpt(plugin, "198.51.100.7", nil) == .next)
}

@Test func heloSettings() throws {
    let lenient = try ShippedPolicies(["helo"], settings: ["helo": ["allow_dotless": true, "checks": ["invalid", "forged"]]])
    #expect(rcpt(lenient, "198.51.100.7", "DESKTOP-1234") == .next)
    #expect(rcpt(lenient, "198.51.100.7", "198.51.100.7") == .next)  // bare_ip is off
    #expect(refusedText(rcpt(lenient, "198.51.100.7", "mx.example.test")) != nil)

    let deferring = try ShippedPolicies(["helo"], settings: ["helo": ["action": "defer"]])
    #expect(rcpt(deferring, "198.51.100.7", "1.2.3.4")
        == .deferred(Reply(450, "4.7.1", "Invalid HELO name 1.2.3.4: an address must be written [1.2.3.4]")))
}

@Test func heloRefusedAtHeloHook() throws {
    let plugin = try ShippedPolicies(["helo"], settings: ["helo": ["refuse_at": "helo"]])
    let stranger = heloSession("198.51.100.7", nil)
    #expect(plugin.engine.run(.helo(stranger, name: "localhost")).verdict
        == .reject(Reply(550, "5.7.1", "Forged HELO name localhost: you are not on my loopback")))
    #expect(plugin.engine.run(.helo(stranger, name: "mail.example.org")).verdict == .next)
    // Nothing is checked at RCPT then.
    #expect(rcpt(plugin, "198.51.100.7", "localhost") == .next)
}

@Test func heloTagAddsAHeader() throws {
    let plugin = try ShippedPolicies(["helo"], settings: ["helo": ["action": "tag"]])
    #expect(rcpt(plugin, "198.51.100.7", "1.2.3.4") == .next)
    let result = plugin.engine.run(.data(transaction(heloSession("198.51.100.7", "1.2.3.4"))))
    #expect(result.verdict == .next)
    #expect(result.addedHeaders == [HeaderField(name: "X-HELO-Check",
                                                value: "bare_ip: Invalid HELO name 1.2.3.4: an address must be written [1.2.3.4]")])
    #expect(plugin.engine.run(.data(transaction(heloSession("198.51.100.7", "mail.example.org")))).addedHeaders.isEmpty)
}

@Test func heloBadSettingsFailTheLoad() throws {
    for settings: PolicyValue in [["checks": ["spf"]], ["action": "drop"], ["refuse_at": "data"],
                                  ["own_addresses": ["mx"]], ["exempt_networks": ["300.0.0.0/8"]]] {
        #expect(throws: PolicyLoadError.self, "\(settings)") { try ShippedPolicies(["helo"], settings: ["helo": settings]) }
    }
}
