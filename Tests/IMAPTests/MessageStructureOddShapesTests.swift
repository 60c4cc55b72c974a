import Testing
@testable import IMAP

/// Malformed and unusual MIME shapes, compared with Dovecot 2.3.19's BODYSTRUCTURE for
/// the same bytes (LF here, CRLF when tested). Where we differ on purpose, the expected
/// value is ours and the comment says what Dovecot sends.
@Suite struct MessageStructureOddShapesTests {
    static let cases: [(name: String, message: String, dovecot: String)] = [
        ("noheaderpart",
         "Content-Type: multipart/mixed; boundary=b\n\n--b\nHello without header\n--b\nContent-Type: TEXT/PLAIN; CHARSET=ISO-8859-1\n\nsecond\n--b--\n",
         "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"ISO-8859-1\") NIL NIL \"7bit\" 6 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)"),
        ("prefixboundary",
         "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/alternative; boundary=b2\n\n--b2\nContent-Type: text/plain\n\ninner\n--b2--\n--b\nContent-Type: text/plain\n\nouter\n--b--\n",
         "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"b2\") NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)"),
        ("trailingjunk",
         "Content-Type: multipart/mixed; Boundary=\"x\"\n\n--x   \nContent-Type: text/plain\n\none\n--xjunk\nstill one\n--x--garbage\n",
         "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" (\"Boundary\" \"x\") NIL NIL NIL)"),
        ("b64rfc822",
         "Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogaGkKCmJvZHkK\n--q--\n",
         "((\"message\" \"rfc822\" NIL NIL NIL \"base64\" 26 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) 1 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"q\") NIL NIL NIL)"),
        ("noblank",
         "Subject: no blank line\nFrom: a@b.c\nHello world",
         "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"),
        ("paramcase",
         "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\nContent-Disposition: ATTACHMENT; FILENAME=\"x.txt\"; creation-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"\nContent-ID:   <id@x>  \nContent-Transfer-Encoding: Quoted-Printable\n\nx\n",
         "(\"text\" \"plain\" (\"charset\" \"utf-8\" \"format\" \"flowed\" \"delsp\" \"yes\") \"<id@x>  \" NIL \"Quoted-Printable\" 3 1 NIL (\"ATTACHMENT\" (\"FILENAME\" \"x.txt\" \"creation-date\" \"Wed, 12 Feb 1997 16:29:51 -0500\")) NIL NIL)"),
        ("emptyparts",
         "Content-Type: multipart/mixed; boundary=e\n\n--e\n--e\n\n--e--\n",
         "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"e\") NIL NIL NIL)"),
        ("global",
         "Content-Type: message/global\n\nSubject: inner\n\nbody\n",
         "(\"message\" \"global\" NIL NIL NIL \"7bit\" 24 NIL NIL NIL NIL)"),
    ]

    @Test func oddShapes() {
        for (name, message, dovecot) in Self.cases {
            let structure = MessageStructure(MIMECorpus.bytes(message))
            var expected = dovecot
            switch name {
            case "trailingjunk":
                // Dovecot matches boundaries by prefix ("--xjunk" starts a part). We follow
                // RFC 2046 §5.1.1 (only padding may follow the boundary) but accept a close
                // delimiter followed by junk.
                expected = "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 23 2 NIL NIL NIL NIL) \"mixed\" (\"Boundary\" \"x\") NIL NIL NIL)"
            case "b64rfc822":
                // Dovecot counts the CRLF before the delimiter into this (broken) part: 26 and 1.
                expected = expected.replacingFirst("\"base64\" 26", "\"base64\" 24").replacingFirst("NIL NIL NIL NIL) 1 NIL", "NIL NIL NIL NIL) 0 NIL")
            case "paramcase":
                // Dovecot keeps the trailing spaces of Content-ID; we trim field values.
                expected = expected.replacingFirst("\"<id@x>  \"", "\"<id@x>\"")
            case "global":
                // RFC 9051 §9 (media-message) and RFC 6532 §3.7: message/global is an
                // encapsulated message like message/rfc822; Dovecot 2.3 shows it as basic.
                expected = "(\"message\" \"global\" NIL NIL NIL \"7bit\" 24 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)"
            default: break
            }
            #expect(MessageStructureCorpusTests.encode(.bodyStructure(structure.bodyStructure)) == expected, "\(name)")
        }
    }

    @Test func sectionsOfOddShapes() {
        func message(_ name: String) -> MessageStructure {
            MessageStructure(MIMECorpus.bytes(Self.cases.first { $0.name == name }!.message))
        }
        // A part whose first line has no colon: it is read as (broken) header, as Dovecot does.
        #expect(message("noheaderpart").section(SectionSpec(part: [1])) == [])
        // Dovecot returns the line as is; we always end a header section with its empty line.
        #expect(message("noheaderpart").section(SectionSpec(part: [1], text: .mime)) == Array("Hello without header\r\n\r\n".utf8))
        // No empty line: all header, no body (we end the header section with CRLF CRLF).
        #expect(message("noblank").section(SectionSpec(text: .text)) == [])
        #expect(message("noblank").section(SectionSpec(text: .header)) == Array("Subject: no blank line\r\nFrom: a@b.c\r\nHello world\r\n\r\n".utf8))
    }
}
