// SearchableText: which parts count as text (text/* leaves, forwarded messages' header
// and text; not attachments, MIME part headers or the top header for BODY), decoding,
// and the per-message budget.
import Testing
@testable import IMAP

@Suite struct SearchableTextTests {
    func text(_ message: String) -> SearchableText { SearchableText(MessageStructure(Array(message.utf8))) }
    func strings(_ chunks: [[UInt8]]) -> [String] { chunks.map { String(decoding: $0, as: UTF8.self) } }

    @Test func plainMessage() {
        let t = text("Subject: =?UTF-8?Q?Caf=C3=A9?=\r\nX-Folded: a\r\n\tb\r\n\r\nBody TEXT\r\n")
        #expect(t.headerFields.map(\.name) == ["Subject", "X-Folded"])
        #expect(strings(t.headerFields.map(\.value)) == ["café", "a b"])
        #expect(String(decoding: t.headerText, as: UTF8.self) == "subject: café\nx-folded: a b\n")
        #expect(strings(t.bodyTexts) == ["body text\r\n"])
    }

    @Test func onlyTextPartsAndForwardedMessages() {
        let t = text("""
            Content-Type: multipart/mixed; boundary=b\r
            \r
            preamble\r
            --b\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: base64\r
            \r
            SMOkbGxv\r
            --b\r
            Content-Type: image/png\r
            Content-Transfer-Encoding: base64\r
            \r
            aGlkZGVu\r
            --b\r
            Content-Type: message/rfc822\r
            \r
            Subject: Inner\r
            Content-Type: text/plain; charset=iso-8859-1\r
            Content-Transfer-Encoding: quoted-printable\r
            \r
            na=EFve\r
            --b--\r
            epilogue\r

            """)
        #expect(strings(t.bodyTexts) == ["hällo", "subject: inner\ncontent-type: text/plain; charset=iso-8859-1\ncontent-transfer-encoding: quoted-printable\n", "naïve"])
        #expect(!t.body(contains: SearchNeedle("hidden")))
        #expect(!t.body(contains: SearchNeedle("preamble")))
        #expect(!t.body(contains: SearchNeedle("image/png")))
        #expect(t.header("content-type", contains: SearchNeedle("MIXED")))
        #expect(!t.header("Subject", contains: SearchNeedle("")))       // only the top header's fields
    }

    @Test func unknownCharsetAndEncodingReadAsWritten() {
        let t = text("Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nraw =41 bytes\r\n")
        #expect(strings(t.bodyTexts) == ["raw =41 bytes\r\n"])
    }

    @Test func budgetBoundsTheDecodedBody() {
        // 8-bit Latin-1 doubles in UTF-8: the decoded text is cut at the stored size.
        let body = [UInt8](repeating: 0xE9, count: 10_000)
        let message = Array("Content-Type: text/plain; charset=iso-8859-1\r\n\r\n".utf8) + body + Array("needle".utf8)
        let t = SearchableText(MessageStructure(message))
        #expect(t.bodyTexts.reduce(0) { $0 + $1.count } <= message.count)
        #expect(t.budget == 0)
        #expect(!t.body(contains: SearchNeedle("needle")))
        #expect(t.body(contains: SearchNeedle("ééé")))
        // Headers are not charged: a header key still works once the body used it all.
        #expect(t.header("content-type", contains: SearchNeedle("latin")) == false)
        #expect(t.header("content-type", contains: SearchNeedle("8859")))
    }

    @Test func addressesAreWrittenCanonically() {
        func canonical(_ raw: String) -> String { String(decoding: SearchableText.canonicalAddresses(raw), as: UTF8.self) }
        #expect(canonical("<user (c)@ (c) domain.org>") == "user@domain.org")
        #expect(canonical("user@domain.org (Real Name)") == "real name <user@domain.org>")
        #expect(canonical("=?utf-8?q?J=C3=BCrgen?= <j@x.org>, b@y.org") == "jürgen <j@x.org>\nb@y.org")
        #expect(canonical("team: a@x.org;") == "team:\na@x.org")
    }
}
