import Testing
@testable import IMAP

/// Commands as real clients send them (taken from Thunderbird, mbsync, neomutt,
/// Apple Mail/iOS, K-9, Outlook, Python imaplib and curl transcripts): each must parse
/// whole and byte by byte, to the expected command name.
@Suite struct IMAPClientCommandsTests {
    static let transcripts: [(String, String)] = [
        // Thunderbird
        ("1 capability", "CAPABILITY"),
        ("2 authenticate PLAIN", "AUTHENTICATE"),
        ("3 ID (\"name\" \"Thunderbird\" \"version\" \"115.3.1\")", "ID"),
        ("4 list (SUBSCRIBED) \"\" \"*\" RETURN (SPECIAL-USE)", "LIST"),
        ("5 select \"INBOX\" (CONDSTORE)", "SELECT"),
        ("6 UID fetch 1:* (FLAGS) (CHANGEDSINCE 5)", "UID FETCH"),
        ("7 UID fetch 1 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])", "UID FETCH"),
        ("8 UID fetch 3 (UID RFC822.SIZE BODY.PEEK[]<0.10240>)", "UID FETCH"),
        ("9 UID store 3 +Flags (\\Seen)", "UID STORE"),
        ("10 UID move 3 \"Trash\"", "UID MOVE"),
        ("11 getquotaroot \"INBOX\"", "GETQUOTAROOT"),
        ("12 IDLE", "IDLE"),
        // mbsync
        ("6 UID FETCH 1:1000000000 (UID FLAGS)", "UID FETCH"),
        ("7 APPEND \"INBOX\" (\\Seen) {12+}\r\nSubject: x\r\n", "APPEND"),
        ("8 UID STORE 5 +FLAGS.SILENT \\Deleted", "UID STORE"),
        ("9 UID EXPUNGE 5", "UID EXPUNGE"),
        ("10 LIST \"\" \"*\"", "LIST"),
        ("11 CREATE \"Archive/2024\"", "CREATE"),
        ("12 UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (X-TUID)])", "UID FETCH"),
        // neomutt
        ("a0003 UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM SENDER SUBJECT TO CC MESSAGE-ID REFERENCES CONTENT-TYPE CONTENT-DESCRIPTION IN-REPLY-TO REPLY-TO LINES LIST-POST LIST-SUBSCRIBE LIST-UNSUBSCRIBE X-LABEL X-ORIGINAL-TO)])", "UID FETCH"),
        ("a0004 UID COPY 4 \"Sent\"", "UID COPY"),
        ("a0005 ENABLE QRESYNC", "ENABLE"),
        ("a0006 STATUS \"INBOX\" (MESSAGES UNSEEN RECENT UIDNEXT UIDVALIDITY)", "STATUS"),
        // Apple Mail / iOS
        ("1.1 ID (\"name\" \"iPhone Mail\" \"version\" \"20B101\" \"os\" \"iOS\" \"os-version\" \"16.1.2 (20B101)\")", "ID"),
        ("2 SELECT INBOX (QRESYNC (1697234233 1234 1:500))", "SELECT"),
        ("3 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1234 VANISHED)", "UID FETCH"),
        ("4 UID SEARCH 1:* NOT DELETED", "UID SEARCH"),
        ("5 NAMESPACE", "NAMESPACE"),
        // K-9 / Outlook
        ("8 UID SEARCH 1:* NOT DELETED SINCE 1-Jan-2020", "UID SEARCH"),
        ("9 UID FETCH 5 (UID INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (date subject from content-type to cc reply-to message-id references in-reply-to X-K9mail-Identity)])", "UID FETCH"),
        ("10 UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER] INTERNALDATE)", "UID FETCH"),
        ("11 UID SEARCH RETURN (ALL) UNSEEN", "UID SEARCH"),
        // Python imaplib
        ("HBKC1 LOGIN user@example.com \"secret pass\"", "LOGIN"),
        ("HBKC2 SELECT INBOX", "SELECT"),
        ("HBKC3 SEARCH ALL", "SEARCH"),
        ("HBKC4 FETCH 1 (RFC822)", "FETCH"),
        ("HBKC5 STORE 1 +FLAGS \\Deleted", "STORE"),
        ("HBKC6 APPEND INBOX () \"26-Nov-2026 10:00:00 +0000\" {5}\r\nhello", "APPEND"),
        ("HBKC7 EXPUNGE", "EXPUNGE"),
        ("HBKC8 CLOSE", "CLOSE"),
        // curl
        ("A001 CAPABILITY", "CAPABILITY"),
        ("A002 AUTHENTICATE PLAIN AHVzZXIAc2VjcmV0", "AUTHENTICATE"),
        ("A003 EXAMINE INBOX", "EXAMINE"),
        ("A004 FETCH 1 BODY[]", "FETCH"),
        ("A005 UID FETCH 1 BODY[1.2]<0.100>", "UID FETCH"),
        ("A006 LOGOUT", "LOGOUT"),
    ]

    @Test func realClientCommandsParse() throws {
        for (line, name) in Self.transcripts {
            let parsed = try Fixtures.parse(line)
            #expect(parsed.command.name == name, "\(line)")
        }
    }

    @Test func synchronizingAppendAsClientsSendIt() {
        // The client sends the command line, waits for "+", then sends the literal.
        var framer = IMAPCommandFramer()
        framer.feed(Array("A1 APPEND Drafts (\\Draft) {12}\r\n".utf8))
        #expect(framer.next() == .continuationNeeded)
        #expect(framer.next() == nil)
        framer.feed(Array("Subject: a\r\n\r\n".utf8))
        guard case .command(let frame) = framer.next() else { Issue.record("no command"); return }
        #expect((try? IMAPParser().parse(frame).command) == .append(MailboxName("Drafts"), [AppendMessage(flags: ["\\Draft"], data: Array("Subject: a\r\n".utf8))]))
    }
}
