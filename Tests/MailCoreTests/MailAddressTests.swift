import Testing
@testable import MailCore

@Suite struct MailAddressTests {
    @Test func parsesPlainAddress() throws {
        let address = try MailAddress.parse("John.Doe@Example.COM")
        #expect(address.localPart == "John.Doe")
        #expect(address.domain == "example.com")
        #expect(address.normalized == "john.doe@example.com")
    }

    @Test func quotedLocalPartKeepsRoutingCharacters() throws {
        let address = try MailAddress.parse("\"user@evil.com\"@local.test")
        #expect(address.localPart == "user@evil.com")
        #expect(address.domain == "local.test")
        #expect(address.hasRoutingCharacters)
        #expect(address.address == "\"user@evil.com\"@local.test")
    }

    @Test func addressIsWellFormedOnTheWire() throws {
        #expect(try MailAddress.parse("John.Doe+tag@Example.COM").address == "John.Doe+tag@example.com")
        #expect(try MailAddress.parse("\"a b\"@x.test").address == "\"a b\"@x.test")
        #expect(try MailAddress.parse("\"plain\"@x.test").address == "plain@x.test")
        #expect(try MailAddress.parse("\"q\\\"uote\"@x.test").address == "\"q\\\"uote\"@x.test")
        #expect(try MailAddress.parse("\"a..b\"@x.test").address == "\"a..b\"@x.test")
        #expect(try MailAddress.parse("jörg@x.test", allowUTF8: true).address == "jörg@x.test")
        #expect(try MailAddress.parse("\"a b\"@x.test").normalized == "a b@x.test")
    }

    @Test func wireFormAndLookupKeyAreKeptForEveryShape() throws {
        let cases: [(String, Bool, String, String)] = [
            ("bob@example.test", false, "bob@example.test", "bob@example.test"),
            ("Bob@Example.TEST", false, "Bob@example.test", "bob@example.test"),
            ("\"A b\"@x.test", false, "\"A b\"@x.test", "a b@x.test"),
            ("Jörg@X.test", true, "Jörg@x.test", "jörg@x.test"),
            ("a@[192.0.2.1]", false, "a@[192.0.2.1]", "a@[192.0.2.1]"),
        ]
        for (text, utf8, wire, key) in cases {
            let address = try MailAddress.parse(text, allowUTF8: utf8)
            #expect(address.address == wire, "\(text)")
            #expect(address.normalized == key, "\(text)")
            #expect(address.description == wire)
        }
        let built = MailAddress(localPart: "Mixed.Case", domain: "EXAMPLE.test")
        #expect(built.domain == "example.test" && built.address == "Mixed.Case@example.test"
                && built.normalized == "mixed.case@example.test")
        #expect(try MailAddress.parse("Bob@example.test") == MailAddress.parse("Bob@EXAMPLE.test"))
        #expect(try MailAddress.parse("Bob@example.test") != MailAddress.parse("bob@example.test"))
    }

    @Test func percentHackStaysLocal() throws {
        let address = try MailAddress.parse("user%evil.com@local.test")
        #expect(address.domain == "local.test")
        #expect(address.localPart == "user%evil.com")
    }

    @Test func refusesTrailingDotAndEmptyLabels() {
        #expect(throws: MailAddress.ParseError.badDomain) { try MailAddress.parse("a@example.com.") }
        #expect(throws: MailAddress.ParseError.badDomain) { try MailAddress.parse("a@example..com") }
        #expect(throws: MailAddress.ParseError.missingAt) { try MailAddress.parse("nobody") }
    }

    @Test func domainLiteral() throws {
        let address = try MailAddress.parse("a@[192.0.2.1]")
        #expect(address.isDomainLiteral)
        #expect(throws: MailAddress.ParseError.badDomain) { try MailAddress.parse("a@[999.1.1.1]") }
    }

    @Test func loginForms() {
        #expect(LoginName.normalize("webmaster%midominio.com") == "webmaster@midominio.com")
        #expect(LoginName.normalize("Bob@Example.com") == "bob@example.com")
        #expect(LoginName.normalize("bob") == nil)
    }

    @Test func addressLiteralsHoldOnlyAnAddress() throws {
        #expect(try MailAddress.parse("a@[192.0.2.1]").domain == "[192.0.2.1]")
        #expect(try MailAddress.parse("a@[IPv6:2001:db8::1]").domain == "[ipv6:2001:db8::1]")
        for bad in ["a@[1.2.3.4%\r\nX-Injected: yes]", "a@[1.2.3.4%((]", "a@[IPv6:fe80::1%eth0]", "a@[1.2.3.4\u{0}]"] {
            #expect(throws: MailAddress.ParseError.badDomain) { try MailAddress.parse(bad) }
        }
        #expect(!MailAddress.isDomainOrAddressLiteral("[1.2.3.4%((]"))
    }
}
