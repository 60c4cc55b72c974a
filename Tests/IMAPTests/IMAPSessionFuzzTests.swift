// Hostile input against the whole session (framer, parser, commands, store calls):
// thousands of random commands built from IMAP's own tokens, in random chunk sizes,
// must only ever produce answers — never a trap — and leave a session that still
// answers, or one that closed on purpose (too many errors, LOGOUT).
import Testing
import MailCore
import TestSupport
@testable import IMAP

@Suite struct IMAPSessionFuzzTests {
    static let verbs = ["FETCH", "UID FETCH", "STORE", "UID STORE", "SEARCH", "UID SEARCH", "SELECT", "EXAMINE",
                        "LIST", "LSUB", "STATUS", "APPEND", "COPY", "MOVE", "UID MOVE", "EXPUNGE", "UID EXPUNGE",
                        "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "GETQUOTAROOT", "NAMESPACE", "ID", "ENABLE",
                        "CLOSE", "UNSELECT", "NOOP", "CHECK", "AUTHENTICATE", "ESEARCH", "IDLE"]
    static let tokens = ["1", "*", "1:*", "2:1", "$", "(", ")", "[", "]", "<0.10>", "<5>", "BODY[", "BODY[]",
                         "BODY[1.2.MIME]", "BODY.PEEK[HEADER.FIELDS (Subject From)]", "BODY[TEXT]<0.1>",
                         "BINARY[1]", "BINARY.SIZE[2]", "{5}", "{3+}", "~{2}", "{99999999}", "\"x\"", "\"\"",
                         "NIL", "INBOX", "Sent", "a/b/c", "&AOQ-", "CHARSET", "UTF-8", "OR", "NOT", "ALL",
                         "(UNCHANGEDSINCE 1)", "(CHANGEDSINCE 0 VANISHED)", "RETURN", "(MIN MAX COUNT)",
                         "\\Seen", "\\Deleted", "+FLAGS", "-FLAGS.SILENT", "FLAGS", "4294967295", "0",
                         "99999999999999999999", "%", "ENVELOPE", "BODYSTRUCTURE", "RFC822.SIZE", "MODSEQ",
                         "HEADER", "SUBJECT", "SINCE", "1-Jan-2020", "32-Foo-99", "LARGER", "UID", "MESSAGES",
                         "(MESSAGES UNSEEN SIZE HIGHESTMODSEQ)", "(SUBSCRIBED)", "(CONDSTORE)", "PLAIN", "=",
                         "\u{1F600}", "\\", "\"unterminated", "((((((((", "))))"]

    @Test func randomCommandsNeverTrap() {
        var random = SeededGenerator(seed: 0x5EED)
        var answered = 0
        for _ in 0..<300 {
            let store = InMemoryIMAPStore()
            store.deliver("Subject: one\r\nFrom: a@b.test\r\n\r\nfirst\r\n")
            store.deliver("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nA\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nB\r\n--x--\r\n")
            let harness = IMAPSessionHarness.selected(store: store)
            for index in 0..<20 {
                var line = "t\(index) " + Self.verbs[random.next(Self.verbs.count)]
                for _ in 0..<random.next(9) { line += " " + Self.tokens[random.next(Self.tokens.count)] }
                var bytes = Array((line + "\r\n").utf8)
                if random.next(4) == 0 { bytes += (0..<random.next(24)).map { _ in UInt8(random.next(256)) } }
                if random.next(8) == 0 { bytes += Array("DONE\r\n".utf8) }
                // Random chunking, as a network would.
                var offset = 0
                while offset < bytes.count {
                    let length = 1 + random.next(min(64, bytes.count - offset))
                    _ = harness.feed(Array(bytes[offset..<offset + length]))
                    offset += length
                }
                if harness.closed { break }
            }
            if !harness.closed {
                let reply = harness.feed(Array("\r\nDONE\r\nz NOOP\r\n".utf8))
                if reply.contains("z OK") || reply.contains("z BAD") || harness.closed { answered += 1 }
            } else {
                answered += 1
            }
        }
        #expect(answered > 250)   // a few may still wait inside a literal the fuzz opened
    }
}
