// The selected state: SELECT/EXAMINE, FETCH, STORE, EXPUNGE, CLOSE/UNSELECT, COPY/MOVE,
// SEARCH/ESEARCH, updates from other sessions, CONDSTORE/QRESYNC.
import Testing
import MailCore
@testable import IMAP

@Suite struct IMAPSessionSelectedTests {
    static let plain = "From: Bob <bob@example.net>\r\nSubject: Hello\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\r\n\r\nHi there\r\n"

    func threeMessages() -> InMemoryIMAPStore {
        let store = InMemoryIMAPStore()
        store.deliver(Self.plain)
        store.deliver("Subject: two\r\n\r\nsecond body\r\n", flags: ["\\Seen"])
        store.deliver("Subject: three\r\n\r\nthird\r\n", flags: ["\\Deleted"])
        return store
    }

    @Test func selectAnswersPerRFC() {
        let h = IMAPSessionHarness.loggedIn(store: threeMessages())
        #expect(h.send("a SELECT INBOX") == """
            * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r
            * 3 EXISTS\r
            * 3 RECENT\r
            * OK [UNSEEN 1] First unseen\r
            * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r
            * OK [UIDVALIDITY 101] UIDs valid\r
            * OK [UIDNEXT 4] Predicted next UID\r
            * OK [HIGHESTMODSEQ 4] Highest\r
            a OK [READ-WRITE] SELECT completed\r\n
            """)
        #expect(h.watched == .some(IMAPMailboxID(1)))
        #expect(h.send("b EXAMINE INBOX").hasSuffix("b OK [READ-ONLY] EXAMINE completed\r\n"))
        #expect(h.output.contains("* OK [CLOSED] Previous mailbox closed\r\n"))
        #expect(h.send("c SELECT Nope") == "* OK [CLOSED] Previous mailbox closed\r\nc NO [NONEXISTENT] No such mailbox\r\n")
        #expect(h.session.state == .authenticated)
    }

    @Test func fetchAttributesAndSections() {
        let h = IMAPSessionHarness.selected(store: threeMessages())
        #expect(h.send("a FETCH 1 (UID FLAGS RFC822.SIZE INTERNALDATE)") ==
                "* 1 FETCH (UID 1 FLAGS (\\Recent) RFC822.SIZE \(Self.plain.utf8.count) INTERNALDATE \"14-Nov-2023 22:13:20 +0000\")\r\na OK FETCH completed\r\n")
        #expect(h.send("b FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]") ==
                "* 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {16}\r\nSubject: two\r\n\r\n)\r\nb OK FETCH completed\r\n")
        #expect(h.send("c FETCH 1 BODY.PEEK[TEXT]<0.2>") == "* 1 FETCH (BODY[TEXT]<0> {2}\r\nHi)\r\nc OK FETCH completed\r\n")
        #expect(h.send("d FETCH 1 (ENVELOPE)").contains("ENVELOPE (\"Tue, 1 Jul 2003 10:52:37 +0200\" \"Hello\" ((\"Bob\" NIL \"bob\" \"example.net\"))"))
        #expect(h.send("e FETCH 1 BODYSTRUCTURE").contains("BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1"))
        #expect(h.send("f UID FETCH 2:* FLAGS") == "* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))\r\n* 3 FETCH (UID 3 FLAGS (\\Deleted \\Recent))\r\nf OK UID FETCH completed\r\n")
        #expect(h.send("g FETCH 1 BODY.PEEK[9]") == "* 1 FETCH (BODY[9] {0}\r\n)\r\ng OK FETCH completed\r\n")
    }

    @Test func nonPeekBodySetsSeenAndSendsFlags() {
        let store = threeMessages()
        let h = IMAPSessionHarness.selected(store: store)
        let reply = h.send("a FETCH 1 BODY[TEXT]")
        #expect(reply == "* 1 FETCH (BODY[TEXT] {10}\r\nHi there\r\n FLAGS (\\Seen \\Recent))\r\na OK FETCH completed\r\n")
        #expect(store.mailboxes[0].messages[0].flags == ["\\Seen"])
        // EXAMINE never sets \Seen.
        let e = IMAPSessionHarness.selected(store: threeMessages(), examine: true)
        #expect(!e.send("a FETCH 1 BODY[TEXT]").contains("FLAGS"))
    }

    @Test func largeFetchIsStreamedInChunks() {
        let store = InMemoryIMAPStore()
        store.quotaLimit = nil
        let big = "Subject: big\r\n\r\n" + String(repeating: "0123456789abcdef\r\n", count: 4000)
        for _ in 0..<5 { store.deliver(big) }
        let h = IMAPSessionHarness.selected(store: store)
        let reply = h.send("a FETCH 1:* BODY.PEEK[]")
        #expect(h.chunks >= 2)
        #expect(reply.hasSuffix("a OK FETCH completed\r\n"))
        #expect(reply.components(separatedBy: "* ").count == 6)
    }

    @Test func storeFlagsVariants() {
        let store = threeMessages()
        let h = IMAPSessionHarness.selected(store: store)
        #expect(h.send("a STORE 1 +FLAGS (\\Flagged $Work)") == """
            * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r
            * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted\r
            * 1 FETCH (FLAGS (\\Flagged $Work \\Recent))\r
            a OK STORE completed\r\n
            """)
        #expect(h.send("b STORE 1 -FLAGS.SILENT ($Work)") == "b OK STORE completed\r\n")
        #expect(h.send("c UID STORE 2 FLAGS (\\Answered)") == "* 2 FETCH (UID 2 FLAGS (\\Answered \\Recent))\r\nc OK UID STORE completed\r\n")
        #expect(store.mailboxes[0].messages[0].flags == ["\\Flagged"])
        #expect(h.send("d STORE 9 +FLAGS (\\Seen)") == "d BAD Invalid message sequence number\r\n")
        let e = IMAPSessionHarness.selected(store: store, examine: true)
        #expect(e.send("a STORE 1 +FLAGS (\\Seen)") == "a NO [READ-ONLY] Mailbox is read-only\r\n")
    }

    @Test func conditionalStore() {
        let store = threeMessages()
        let h = IMAPSessionHarness.selected(store: store)
        #expect(h.send("a STORE 1,2 (UNCHANGEDSINCE 2) +FLAGS (\\Flagged)") ==
                "* OK [HIGHESTMODSEQ 4] Highest\r\n* 1 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (5))\r\na OK [MODIFIED 2] Conditional STORE failed\r\n")
        #expect(h.send("b FETCH 1 (MODSEQ)") == "* 1 FETCH (MODSEQ (5))\r\nb OK FETCH completed\r\n")
        #expect(h.send("c FETCH 1:* (FLAGS) (CHANGEDSINCE 4)") == "* 1 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (5))\r\nc OK FETCH completed\r\n")
    }

    @Test func expungeCloseUnselect() {
        let store = threeMessages()
        let h = IMAPSessionHarness.selected(store: store)
        #expect(h.send("a EXPUNGE") == "* 3 EXPUNGE\r\na OK EXPUNGE completed\r\n")
        _ = h.send("b STORE 1 +FLAGS.SILENT (\\Deleted)")
        #expect(h.send("c UID EXPUNGE 2") == "c OK UID EXPUNGE completed\r\n")
        #expect(h.send("d UID EXPUNGE 1") == "* 1 EXPUNGE\r\nd OK UID EXPUNGE completed\r\n")
        _ = h.send("e STORE 1 +FLAGS.SILENT (\\Deleted)")
        #expect(h.send("f UNSELECT") == "f OK UNSELECT completed\r\n")
        #expect(store.mailboxes[0].messages.count == 1)
        _ = h.send("g SELECT INBOX")
        #expect(h.send("h CLOSE") == "h OK CLOSE completed\r\n")
        #expect(store.mailboxes[0].messages.isEmpty)
        #expect(h.session.state == .authenticated)
    }

    @Test func copyAndMoveWithCopyUID() {
        let store = threeMessages()
        let h = IMAPSessionHarness.selected(store: store)
        _ = h.send("a CREATE Archive")
        #expect(h.send("b COPY 1:2 Archive") == "b OK [COPYUID 102 1:2 1:2] COPY completed\r\n")
        #expect(h.send("c COPY 1 Nope") == "c NO [TRYCREATE] No such mailbox\r\n")
        #expect(h.send("d UID MOVE 3 Archive") == "* OK [COPYUID 102 3 3] Moved UIDs\r\n* 3 EXPUNGE\r\nd OK UID MOVE completed\r\n")
        #expect(store.mailbox("Archive")!.messages.count == 3)
    }

    @Test func searchKeys() {
        let h = IMAPSessionHarness.selected(store: threeMessages())
        #expect(h.send("a SEARCH UNSEEN") == "* SEARCH 1 3\r\na OK SEARCH completed\r\n")
        #expect(h.send("b UID SEARCH SUBJECT hello") == "* SEARCH 1\r\nb OK UID SEARCH completed\r\n")
        #expect(h.send("c SEARCH OR DELETED SEEN") == "* SEARCH 2 3\r\nc OK SEARCH completed\r\n")
        #expect(h.send("d SEARCH NOT FROM bob BODY body") == "* SEARCH 2\r\nd OK SEARCH completed\r\n")
        #expect(h.send("e SEARCH SENTON 1-Jul-2003") == "* SEARCH 1\r\ne OK SEARCH completed\r\n")
        #expect(h.send("f SEARCH SINCE 1-Jan-2024") == "* SEARCH\r\nf OK SEARCH completed\r\n")
        #expect(h.send("g SEARCH LARGER 30 2:*") == "* SEARCH\r\ng OK SEARCH completed\r\n")
        #expect(h.send("h SEARCH HEADER Date 2003") == "* SEARCH 1\r\nh OK SEARCH completed\r\n")
        #expect(h.send("i SEARCH CHARSET KOI8-R ALL") == "i NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n")
        #expect(h.send("j SEARCH TEXT THIRD") == "* SEARCH 3\r\nj OK SEARCH completed\r\n")
    }

    @Test func searchDecodesEncodedWordsAndCharsets() {
        let store = threeMessages()
        store.deliver("Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nU2Now7ZuZQ==\r\n")
        let h = IMAPSessionHarness.selected(store: store)
        #expect(h.send("a SEARCH CHARSET UTF-8 SUBJECT {7+}\r\nGrüße") == "* SEARCH 4\r\na OK SEARCH completed\r\n")
        #expect(h.send("b UID SEARCH CHARSET utf-8 BODY {7+}\r\nSCHÖNE") == "* SEARCH 4\r\nb OK UID SEARCH completed\r\n")
        #expect(h.send("c SEARCH RETURN (COUNT) CHARSET ISO-8859-1 BODY x") == "c NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n")
        #expect(h.send("d SEARCH CHARSET US-ASCII SUBJECT gr") == "* SEARCH 4\r\nd OK SEARCH completed\r\n")
    }

    @Test func esearchAndSave() {
        let h = IMAPSessionHarness.selected(store: threeMessages())
        #expect(h.send("a UID SEARCH RETURN (MIN MAX COUNT ALL) ALL") ==
                "* ESEARCH (TAG \"a\") UID MIN 1 MAX 3 ALL 1:3 COUNT 3\r\na OK UID SEARCH completed\r\n")
        #expect(h.send("b SEARCH RETURN (SAVE) UNSEEN") == "b OK SEARCH completed\r\n")
        #expect(h.send("c FETCH $ (UID)") == "* 1 FETCH (UID 1)\r\n* 3 FETCH (UID 3)\r\nc OK FETCH completed\r\n")
        #expect(h.send("d SEARCH RETURN () FLAGGED") == "* ESEARCH (TAG \"d\")\r\nd OK SEARCH completed\r\n")
    }

    @Test func updatesFromAnotherSession() {
        let store = threeMessages()
        let a = IMAPSessionHarness.selected(store: store)
        let b = IMAPSessionHarness.selected(store: store)
        _ = b.send("x STORE 2 +FLAGS (\\Flagged)")
        _ = b.send("y EXPUNGE")
        store.deliver("Subject: four\r\n\r\n4\r\n")
        // FETCH may not announce the expunge; the numbers stay put.
        #expect(a.send("a FETCH 3 (UID)") == "* 2 FETCH (UID 2 FLAGS (\\Seen \\Flagged \\Recent))\r\n* 4 EXISTS\r\n* 4 RECENT\r\n* 3 FETCH (UID 3)\r\na OK FETCH completed\r\n")
        #expect(a.send("b NOOP") == "* 3 EXPUNGE\r\nb OK NOOP completed\r\n")
        #expect(a.send("c FETCH 3 (UID)") == "* 3 FETCH (UID 4)\r\nc OK FETCH completed\r\n")
    }

    @Test func qresyncSelectAndVanished() {
        let store = threeMessages()
        let h = IMAPSessionHarness.loggedIn(store: store)
        #expect(h.send("a SELECT INBOX (QRESYNC (101 1))") == "a BAD QRESYNC is not enabled\r\n")
        _ = h.send("b ENABLE QRESYNC")
        let other = IMAPSessionHarness.selected(store: store)
        _ = other.send("x EXPUNGE")
        let reply = h.send("c SELECT INBOX (QRESYNC (101 4 1:3))")
        #expect(reply.contains("* VANISHED (EARLIER) 3\r\n"))
        _ = other.send("y STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = other.send("z EXPUNGE")
        #expect(h.send("d NOOP") == "* VANISHED 1\r\nd OK NOOP completed\r\n")
    }
}
