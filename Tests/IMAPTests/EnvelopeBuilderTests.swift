import Testing
@testable import IMAP

@Suite struct EnvelopeBuilderTests {
    func parse(_ text: String) -> [EnvelopeAddress] { AddressListParser.parse(text) }
    func address(_ name: String?, _ mailbox: String?, _ host: String?, adl: String? = nil) -> EnvelopeAddress {
        EnvelopeAddress(name: name, adl: adl, mailbox: mailbox, host: host)
    }

    @Test func addressShapes() {
        #expect(parse("alice@example.org") == [address(nil, "alice", "example.org")])
        #expect(parse("Alice Example <alice@example.org>") == [address("Alice Example", "alice", "example.org")])
        #expect(parse("\"Doe, John\" <john@x.test>, jane@x.test (Jane Doe)")
                == [address("Doe, John", "john", "x.test"), address("Jane Doe", "jane", "x.test")])
        #expect(parse("<@relay1.test,@relay2.test:user@host.test>") == [address(nil, "user", "host.test", adl: "@relay1.test,@relay2.test")])
        #expect(parse("\"john doe\"@example.com") == [address(nil, "\"john doe\"", "example.com")])
        #expect(parse("user@[192.0.2.1]") == [address(nil, "user", "[192.0.2.1]")])
        #expect(parse("A. B. Smith <abs@x.test>") == [address("A. B. Smith", "abs", "x.test")])
        #expect(parse("=?utf-8?q?J=C3=B6rg?= <j@x.test>") == [address("=?utf-8?q?J=C3=B6rg?=", "j", "x.test")])
        #expect(parse("team: a@x.test, b@x.test;, c@x.test")
                == [.groupStart("team"), address(nil, "a", "x.test"), address(nil, "b", "x.test"), .groupEnd, address(nil, "c", "x.test")])
        #expect(parse("empty:;") == [.groupStart("empty"), .groupEnd])
        #expect(parse("unterminated: a@x.test") == [.groupStart("unterminated"), address(nil, "a", "x.test"), .groupEnd])
    }

    @Test func junk() {
        #expect(parse("") == [])
        #expect(parse("just-a-name") == [address(nil, "just-a-name", "MISSING_DOMAIN")])
        #expect(parse("Name <>") == [address("Name", "MISSING_MAILBOX", "MISSING_DOMAIN")])
        #expect(parse(",,,") == [])
        #expect(parse("<a@b") == [address(nil, "a", "b")])
        // Never traps on arbitrary input.
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab@<>,;:.\"()[]\\ ")
        for _ in 0..<2000 {
            _ = parse(String((0..<Int.random(in: 0..<30, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
    }

    @Test func headerDefaults() {
        let message = MessageStructure(MIMECorpus.bytes("From: a@x.test\nSender: s@x.test\nSubject: hi\n\nbody\n"))
        let envelope = message.envelope
        #expect(envelope.sender == [address(nil, "s", "x.test")])
        #expect(envelope.replyTo == [address(nil, "a", "x.test")])
        #expect(envelope.to == [] && envelope.messageID == nil && envelope.date == nil)
        // 8-bit bytes that are not UTF-8 read as ISO-8859-1.
        let latin1 = MessageStructure(Array("Subject: caf".utf8) + [0xe9] + Array("\r\n\r\n".utf8))
        #expect(latin1.envelope.subject == "café")
    }
}
