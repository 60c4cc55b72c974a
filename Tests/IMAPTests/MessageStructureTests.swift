import Testing
import MailCore
@testable import IMAP

/// BODY[section]<partial> and BINARY extraction; expected bytes are what Dovecot
/// 2.3.19 returned for the same fixtures (nil where Dovecot sends an empty string
/// for a part that does not exist).
@Suite struct MessageStructureTests {
    func structure(_ name: String) -> MessageStructure { MessageStructure(MIMECorpus.bytes(MIMECorpus.all[name]!)) }
    func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
    func section(_ name: String, _ part: [Int], _ text: SectionText? = nil, _ partial: Partial? = nil) -> String? {
        self.text(structure(name).section(SectionSpec(part: part, text: text), partial: partial))
    }

    @Test func nestedMessageSections() {
        #expect(section("rfc822", [1]) == "Forwarding this.\r\n")
        #expect(section("rfc822", [1], .mime) == "Content-Type: text/plain\r\n\r\n")
        #expect(section("rfc822", [2], .header) == "From: Judy <judy@example.com>\r\nTo: Heidi <heidi@example.com>\r\nSubject: Lunch\r\nDate: Wed, 2 Mar 2022 11:00:00 +0000\r\nMessage-ID: <lunch@example.com>\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n")
        #expect(section("rfc822", [2], .text) == "--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLunch at noon?\r\n--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Lunch at noon?</p>\r\n--inner--\r\n")
        #expect(section("rfc822", [2, 1]) == "Lunch at noon?")
        #expect(section("rfc822", [2, 2], .mime) == "Content-Type: text/html; charset=utf-8\r\n\r\n")
        #expect(section("rfc822", [2], .mime) == "Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n")
        #expect(section("rfc822", [2])?.hasPrefix("From: Judy") == true)
        #expect(section("rfc822", [2])?.utf8.count == 359)
        #expect(section("rfc822", [3]) == nil)          // Dovecot: ""
        #expect(section("rfc822", [1], .text) == nil)   // not a message/rfc822 part; Dovecot: ""
    }

    @Test func headerFields() {
        #expect(section("mixed", [], .headerFields(["subject", "CC"])) == "Cc: team: frank@example.com, grace@example.com;\r\nSubject: Report attached\r\n\r\n")
        #expect(section("mixed", [], .headerFieldsNot(["from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "mime-version", "content-type"]))
                == "Content-Language: en\r\n\r\n")
        #expect(section("plain", [], .headerFields(["X-NONE"])) == "\r\n")
        // Folded fields come back folded, as stored.
        #expect(section("plain", [], .headerFields(["Subject"])) == "Subject: Plain text\r\n folded subject\r\n\r\n")
        #expect(section("plain", [], .headerFields(["received"]))?.contains("\r\n\tby mail.example.com") == true)
    }

    @Test func singlePartMessages() {
        #expect(section("notype", [1]) == "Just text\r\nwithout a final newline")
        #expect(section("notype", [], .text) == "Just text\r\nwithout a final newline")
        #expect(section("notype", [1], .mime) == "From: rupert@example.com\r\nTo: undisclosed-recipients:;\r\nSubject: No content type\r\n\r\n")
        #expect(section("notype", [2]) == nil)
        #expect(section("plain", [1, 1]) == nil)        // Dovecot: ""
        #expect(section("plain", [])?.utf8.count == MIMECorpus.bytes(MIMECorpus.plain).count)
        #expect(section("plain", [], .header)?.hasSuffix("Message-ID: <plain-1@example.org>\r\n\r\n") == true)
    }

    @Test func digestDefaultsToMessages() {
        #expect(section("digest", [1], .header) == "From: a@example.com\r\nSubject: one\r\n\r\n")
        #expect(section("digest", [1, 1]) == "First.")
        #expect(section("digest", [1, 1], .mime) == "From: a@example.com\r\nSubject: one\r\n\r\n")
        #expect(section("digest", [2], .mime) == "Content-Type: text/plain\r\n\r\n")
    }

    @Test func partials() {
        #expect(section("mixed", [3], nil, Partial(offset: 2, length: 5)) == "BORw0")
        #expect(section("mixed", [1], nil, Partial(offset: 100, length: 5)) == "")
        #expect(section("mixed", [1], nil, Partial(offset: 4, length: 1000)) == "the report.")
        #expect(MessageStructure.apply(Partial(offset: 0, length: 3), to: [1, 2]) == [1, 2])
    }

    @Test func binary() {
        let mixed = structure("mixed")
        #expect(mixed.binary(part: [2]) == .data(Array("%PDF-1.4\n%".utf8) + [0xc7, 0xec, 0x8f, 0xa2, 0x0a]))
        #expect(mixed.binary(part: [3]) == .data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
        #expect(mixed.binary(part: [3], partial: Partial(offset: 1, length: 3)) == .data(Array("PNG".utf8)))
        #expect(mixed.binary(part: [9]) == .noSuchPart)
        #expect(structure("alternative").binary(part: [1]) == .data(Array("Spécial offer: 10% off today only.\r\n".utf8)))
        #expect(structure("rfc822").binary(part: [2, 1]) == .data(Array("Lunch at noon?".utf8)))
        #expect(structure("rfc822").binary(part: []) == .data(MIMECorpus.bytes(MIMECorpus.rfc822)))
        let odd = MessageStructure(MIMECorpus.bytes("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n"))
        #expect(odd.binary(part: [1]) == .unknownEncoding)
    }

    @Test func bareLineFeedsAndOddShapes() {
        let lf = MessageStructure(Array("Subject: lf\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\none\n--x\nContent-Type: text/html\n\n<b>two</b>\n--x--\n".utf8))
        #expect(String(decoding: IMAPEncoder().encode(.data(.fetch(1, [.body(lf.bodyStructure)]))), as: UTF8.self)
                == "* 1 FETCH (BODY ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0) \"mixed\"))\r\n")
        #expect(lf.section(SectionSpec(part: [2])) == Array("<b>two</b>".utf8))
        // Header only, no body at all.
        let headerOnly = MessageStructure(Array("Subject: x".utf8))
        #expect(headerOnly.section(SectionSpec(text: .header)) == Array("Subject: x\r\n\r\n".utf8))
        #expect(headerOnly.section(SectionSpec(text: .text)) == [])
        // Empty message.
        let empty = MessageStructure([])
        #expect(empty.section(SectionSpec(text: .header)) == [13, 10])
        #expect(empty.bodyStructure == .single(SinglePartBody(type: "text", subtype: "plain", parameters: [BodyParameter("charset", "us-ascii")], size: 0, kind: .text(lines: 0))))
    }

    @Test func depthAndPartCountAreBounded() {
        // 200 nested multiparts: parsed up to the nesting limit, the rest is opaque.
        var message = "Content-Type: text/plain\n\ncore\n"
        for level in 0..<200 {
            message = "Content-Type: multipart/mixed; boundary=\"b\(level)\"\n\n--b\(level)\n\(message)--b\(level)--\n"
        }
        var limits = Limits()
        limits.maxIMAPNesting = 10
        let deep = MessageStructure(MIMECorpus.bytes(message), limits: limits)
        var depth = 0
        var node = deep.bodyStructure
        while case .multipart(let multi) = node { depth += 1; node = multi.parts[0] }
        #expect(depth == 10)
        guard case .single(let leaf) = node else { Issue.record("expected a leaf"); return }
        #expect(leaf.type == "application" && leaf.subtype == "octet-stream")

        var many = "Content-Type: multipart/mixed; boundary=m\n\n"
        for i in 0..<500 { many += "--m\n\npart \(i)\n" }
        many += "--m--\n"
        limits.maxIMAPItems = 50
        guard case .multipart(let wide) = MessageStructure(MIMECorpus.bytes(many), limits: limits).bodyStructure else {
            Issue.record("expected a multipart"); return
        }
        #expect(wide.parts.count == 49)
    }

    /// Random MIME-ish bytes never trap the parser, the builders or the extractors.
    @Test func garbageNeverTraps() {
        let pieces = ["Content-Type: multipart/mixed; boundary=a\r\n", "Content-Type: message/rfc822\r\n",
                      "Content-Type: multipart/digest; boundary=\"b\"\r\n", "--a\r\n", "--a--\r\n", "--b\r\n", "--b--",
                      "\r\n", "\n", "\r", " folded\r\n", "From: x <y@z>, (c) \"q\" <@r:s@t>;\r\n", "Subject: s\r\n",
                      "Content-Transfer-Encoding: base64\r\n", "Content-Transfer-Encoding: quoted-printable\r\n",
                      "Content-Disposition: a; filename*0*=x''%41; filename*1=b\r\n", "=4", "QUJD", "body text", ":", "\u{0}"]
        var generator = SystemRandomNumberGenerator()
        let specs: [SectionText?] = [nil, .header, .text, .mime, .headerFields(["From"]), .headerFieldsNot(["Subject"])]
        for _ in 0..<400 {
            let bytes = Array((0..<Int.random(in: 0...40, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined().utf8)
            let message = MessageStructure(bytes)
            _ = IMAPEncoder().encode(.data(.fetch(1, [.bodyStructure(message.bodyStructure), .body(message.bodyStructure), .envelope(message.envelope)])))
            for part in [[], [1], [2], [1, 1], [1, 2], [2, 1, 1], [3, 1]] {
                for text in specs where !(part.isEmpty && text == .mime) {
                    _ = message.section(SectionSpec(part: part, text: text), partial: Partial(offset: 1, length: 3))
                }
                _ = message.binary(part: part)
            }
        }
    }
}
