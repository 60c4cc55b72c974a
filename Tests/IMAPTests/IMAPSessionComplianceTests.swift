// Issue 11 §9 (IMAP compliance) and the IMAP part of §8: \Recent across sessions,
// keyword announcements and NIL flags, LIST-EXTENDED/LSUB rules, CONDSTORE's
// HIGHESTMODSEQ and ESEARCH MODSEQ, mailbox names with every astring character,
// address SEARCH, input pipelined behind STARTTLS, and the literal bound before login.
import Testing
import MailCore
@testable import IMAP

@Suite struct IMAPSessionComplianceTests {
    func store(_ count: Int) -> InMemoryIMAPStore {
        let store = InMemoryIMAPStore()
        for n in 1...count { store.deliver("Subject: \(n)\r\n\r\nbody \(n)\r\n", flags: n == 2 ? ["\\Seen"] : []) }
        return store
    }

    // MARK: \Recent (RFC 3501 §2.3.2)

    @Test func recentBelongsToTheFirstReadWriteSession() {
        let store = store(3)
        let examine = IMAPSessionHarness.selected(store: store, examine: true)
        #expect(examine.output.contains("* 3 RECENT\r\n"))
        #expect(examine.send("e FETCH 1 FLAGS") == "* 1 FETCH (FLAGS (\\Recent))\r\ne OK FETCH completed\r\n")
        // EXAMINE did not take them: the first SELECT does, the second sees none.
        let first = IMAPSessionHarness.selected(store: store)
        #expect(first.output.contains("* 3 RECENT\r\n"))
        let second = IMAPSessionHarness.selected(store: store)
        #expect(second.output.contains("* 0 RECENT\r\n"))
        #expect(second.send("a FETCH 1 FLAGS") == "* 1 FETCH (FLAGS ())\r\na OK FETCH completed\r\n")
        #expect(first.send("a SEARCH RECENT") == "* SEARCH 1 2 3\r\na OK SEARCH completed\r\n")
        #expect(first.send("b SEARCH NEW") == "* SEARCH 1 3\r\nb OK SEARCH completed\r\n")
        #expect(first.send("c SEARCH OLD") == "* SEARCH\r\nc OK SEARCH completed\r\n")
        #expect(second.send("b SEARCH OLD") == "* SEARCH 1 2 3\r\nb OK SEARCH completed\r\n")
        // A new message is recent in exactly one of the two sessions: the first to hear of it.
        store.deliver("Subject: 4\r\n\r\nfour\r\n")
        #expect(second.send("c NOOP") == "* 4 EXISTS\r\n* 1 RECENT\r\nc OK NOOP completed\r\n")
        #expect(first.send("d NOOP") == "* 4 EXISTS\r\nd OK NOOP completed\r\n")
        #expect(second.send("d FETCH 4 FLAGS") == "* 4 FETCH (FLAGS (\\Recent))\r\nd OK FETCH completed\r\n")
        #expect(first.send("e FETCH 4 FLAGS") == "* 4 FETCH (FLAGS ())\r\ne OK FETCH completed\r\n")
        // Reselecting never brings \Recent back.
        #expect(first.send("f SELECT INBOX").contains("* 0 RECENT\r\n"))
    }

    @Test func statusCountsUnclaimedMessagesAndStoreCannotSetRecent() {
        let store = store(2)
        let h = IMAPSessionHarness.loggedIn(store: store)
        #expect(h.send("a STATUS INBOX (RECENT MESSAGES)") == "* STATUS \"INBOX\" (RECENT 2 MESSAGES 2)\r\na OK STATUS completed\r\n")
        _ = h.send("b SELECT INBOX")
        #expect(h.send("c STATUS INBOX (RECENT)") == "* STATUS \"INBOX\" (RECENT 0)\r\nc OK STATUS completed\r\n")
        _ = h.send("d STORE 1 FLAGS (\\Recent \\Seen)")
        #expect(store.mailboxes[0].messages[0].flags == ["\\Seen"])
        // Expunged recent messages leave the count.
        _ = h.send("e STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = h.send("f EXPUNGE")
        #expect(h.send("g SEARCH RECENT") == "* SEARCH 1\r\ng OK SEARCH completed\r\n")
    }

    @Test func imap4rev2SessionsNeitherSeeNorClaimRecent() {
        let store = store(2)
        let rev2 = IMAPSessionHarness.loggedIn(store: store)
        _ = rev2.send("a ENABLE IMAP4rev2")
        let select = rev2.send("b SELECT INBOX")
        #expect(!select.contains("RECENT"))
        #expect(rev2.send("c FETCH 1 FLAGS") == "* 1 FETCH (FLAGS ())\r\nc OK FETCH completed\r\n")
        // Still recent for an IMAP4rev1 client.
        #expect(IMAPSessionHarness.selected(store: store).output.contains("* 2 RECENT\r\n"))
    }

    // MARK: keywords (RFC 3501 §7.2.6, §9 flag-list)

    @Test func newKeywordIsAnnouncedBeforeAnyFetchShowsIt() {
        let store = store(2)
        let a = IMAPSessionHarness.selected(store: store)
        let b = IMAPSessionHarness.selected(store: store)
        #expect(b.output.contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"))
        _ = a.send("a STORE 2 +FLAGS ($Important)")
        let update = b.send("b NOOP")
        #expect(update == """
            * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r
            * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] Flags permitted\r
            * 2 FETCH (UID 2 FLAGS (\\Seen $Important))\r
            b OK NOOP completed\r\n
            """)
        // Announced once: the next change to it sends no FLAGS again.
        _ = a.send("c STORE 1 +FLAGS ($important)")
        #expect(!b.send("c NOOP").contains("* FLAGS"))
        // A keyword on a message appended elsewhere is announced before EXISTS.
        _ = a.send("d APPEND INBOX ($Later) {3+}\r\nx\r\n")
        let appended = b.send("d NOOP")
        #expect(appended.hasPrefix("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important $Later)\r\n"))
        #expect(appended.contains("* 3 EXISTS\r\n"))
    }

    @Test func nilIsNotAFlag() {
        let store = store(1)
        let h = IMAPSessionHarness.selected(store: store)
        for command in ["STORE 1 FLAGS (NIL)", "STORE 1 +FLAGS (NIL)", "STORE 1 +FLAGS NIL", "STORE 1 FLAGS (\\Seen nil)"] {
            #expect(h.send("a \(command)").hasPrefix("a BAD"))
        }
        #expect(h.send("b APPEND INBOX (NIL) {1+}\r\nx").hasPrefix("b BAD"))
        #expect(store.mailboxes[0].messages.map(\.flags) == [[]])
        // The empty list is how "no flags" is said.
        #expect(h.send("c STORE 1 FLAGS ()") == "* 1 FETCH (FLAGS (\\Recent))\r\nc OK STORE completed\r\n")
        // A keyword that merely starts with NIL is a keyword.
        #expect(h.send("d STORE 1 +FLAGS.SILENT (NILS)") == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft NILS)\r\n"
                + "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft NILS \\*)] Flags permitted\r\nd OK STORE completed\r\n")
    }

    // MARK: LIST-EXTENDED (RFC 5258) and LSUB (RFC 3501 §6.3.9)

    func listExtStore() -> InMemoryIMAPStore {
        let store = InMemoryIMAPStore()
        for name in ["t/test1", "t/test2", "t/test2/test1", "t/test3", "t/test4/test5", "t/test4/test52", "t/test6",
                     "t/test7/test7", "t/test8/test8", "t/test8/test9"] {
            try? store.createMailbox(name, specialUse: nil)
        }
        for name in ["t/test1", "t/test2/test1", "t/test6", "t/test7/test7", "t/test8/test8", "t/test8/test9"] {
            try? store.setSubscribed(name, true)
        }
        try? store.deleteMailbox("t/test6")
        return store
    }

    @Test func listExtendedErrors() {
        let h = IMAPSessionHarness.loggedIn(store: listExtStore())
        #expect(h.send("a LIST (IMAPTEST) \"\" \"\"") == "a BAD Unknown LIST selection option IMAPTEST\r\n")
        #expect(h.send("b LIST (RECURSIVEMATCH) \"\" \"\"").hasPrefix("b BAD"))
        #expect(h.send("c LIST (RECURSIVEMATCH REMOTE) \"\" %").hasPrefix("c BAD"))
        #expect(h.send("d LIST \"\" \"\" RETURN (IMAPTEST)").hasPrefix("d BAD"))
        #expect(h.send("e LIST (REMOTE) \"\" t").hasSuffix("e OK LIST completed\r\n"))
    }

    @Test func subscribedNamesThatNoLongerExistAreNonExistent() {
        let h = IMAPSessionHarness.loggedIn(store: listExtStore())
        #expect(h.send("a LIST (SUBSCRIBED) \"\" t/*") == """
            * LIST (\\HasNoChildren \\Subscribed) "/" "t/test1"\r
            * LIST (\\HasNoChildren \\Subscribed) "/" "t/test2/test1"\r
            * LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "t/test6"\r
            * LIST (\\HasNoChildren \\Subscribed) "/" "t/test7/test7"\r
            * LIST (\\HasNoChildren \\Subscribed) "/" "t/test8/test8"\r
            * LIST (\\HasNoChildren \\Subscribed) "/" "t/test8/test9"\r
            a OK LIST completed\r\n
            """)
        // Without SUBSCRIBED a gone mailbox is not listed at all.
        #expect(!h.send("b LIST \"\" t/*").contains("t/test6"))
    }

    @Test func childInfoOnlyForChildrenTheListDoesNotShow() {
        let h = IMAPSessionHarness.loggedIn(store: listExtStore())
        #expect(h.send("a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" t/test2% RETURN (CHILDREN)") ==
                "* LIST (\\HasChildren) \"/\" \"t/test2\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\na OK LIST completed\r\n")
        // t/test7/test7 matches the pattern itself: its parent gets no CHILDINFO.
        #expect(h.send("b LIST (SUBSCRIBED RECURSIVEMATCH) \"\" *test7") ==
                "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test7/test7\"\r\nb OK LIST completed\r\n")
        // t/test8/test9 does not match *test8: t/test8 is listed with CHILDINFO.
        let test8 = h.send("c LIST (SUBSCRIBED RECURSIVEMATCH) \"\" *test8")
        #expect(test8.contains("* LIST (\\NonExistent \\HasChildren) \"/\" \"t/test8\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"))
        #expect(test8.contains("\"t/test8/test8\"\r\n"))
        #expect(h.send("d LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (t/test2 t/test2/test1)") ==
                "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test2/test1\"\r\nd OK LIST completed\r\n")
        // A name that does not exist is listed for a wildcard, not for an exact pattern.
        #expect(h.send("e LIST \"\" (t/test7 t/test7/test7)") ==
                "* LIST (\\HasNoChildren) \"/\" \"t/test7/test7\"\r\ne OK LIST completed\r\n")
        #expect(h.send("f LIST \"\" t/%").contains("* LIST (\\Noselect \\HasChildren) \"/\" \"t/test7\"\r\n"))
    }

    @Test func lsubShowsUnsubscribedParentsAsNoselect() {
        let store = InMemoryIMAPStore()
        for name in ["m/test", "m/test2", "m/test3", "m/test2/test", "m/test3/test3"] { try? store.createMailbox(name, specialUse: nil) }
        for name in ["m/test", "m/test2/test", "m/test3/test3"] { try? store.setSubscribed(name, true) }
        let h = IMAPSessionHarness.loggedIn(store: store)
        #expect(h.send("a LSUB \"\" m/%") == """
            * LSUB () "/" "m/test"\r
            * LSUB (\\Noselect) "/" "m/test2"\r
            * LSUB (\\Noselect) "/" "m/test3"\r
            a OK LSUB completed\r\n
            """)
        #expect(h.send("b LSUB \"\" *test") == "* LSUB () \"/\" \"m/test\"\r\n* LSUB () \"/\" \"m/test2/test\"\r\nb OK LSUB completed\r\n")
        // A subscription outlives its mailbox in LSUB too.
        _ = h.send("c DELETE m/test")
        #expect(h.send("d LSUB \"\" m/test") == "* LSUB () \"/\" \"m/test\"\r\nd OK LSUB completed\r\n")
    }

    // MARK: CONDSTORE (RFC 7162 §3.1, §3.1.5)

    @Test func firstCondstoreCommandReportsHighestModSeq() {
        let h = IMAPSessionHarness.selected(store: store(3))
        #expect(h.send("a FETCH 1 MODSEQ") == "* OK [HIGHESTMODSEQ 4] Highest\r\n* 1 FETCH (MODSEQ (2))\r\na OK FETCH completed\r\n")
        #expect(h.send("b FETCH 1 MODSEQ") == "* 1 FETCH (MODSEQ (2))\r\nb OK FETCH completed\r\n")
        let search = IMAPSessionHarness.selected(store: store(1))
        #expect(search.send("a SEARCH MODSEQ 1").hasPrefix("* OK [HIGHESTMODSEQ 2] Highest\r\n"))
    }

    @Test func esearchModSeqIsOfTheMessagesReturned() {
        let h = IMAPSessionHarness.selected(store: store(4))
        // Message modseqs after these: 1 → 6, 3 → 7, 2 → 8 (it had \Seen, so +FLAGS \Flagged), 4 → 9.
        for n in [1, 3, 2, 4] { _ = h.send("s\(n) STORE \(n) +FLAGS (\\Flagged)") }
        #expect(h.send("a SEARCH RETURN (MIN) 1:3 MODSEQ 1") ==
                "* OK [HIGHESTMODSEQ 9] Highest\r\n* ESEARCH (TAG \"a\") MIN 1 MODSEQ 6\r\na OK SEARCH completed\r\n")
        #expect(h.send("b SEARCH RETURN (MAX) 1:3 MODSEQ 1") == "* ESEARCH (TAG \"b\") MAX 3 MODSEQ 7\r\nb OK SEARCH completed\r\n")
        #expect(h.send("c SEARCH RETURN () 1:3 MODSEQ 1") == "* ESEARCH (TAG \"c\") ALL 1:3 MODSEQ 8\r\nc OK SEARCH completed\r\n")
        #expect(h.send("d SEARCH RETURN (MIN MAX) 2:3 MODSEQ 1") == "* ESEARCH (TAG \"d\") MIN 2 MAX 3 MODSEQ 8\r\nd OK SEARCH completed\r\n")
        #expect(h.send("e SEARCH RETURN (MIN MAX) 1,3 MODSEQ 1") == "* ESEARCH (TAG \"e\") MIN 1 MAX 3 MODSEQ 7\r\ne OK SEARCH completed\r\n")
        #expect(h.send("f SEARCH RETURN (COUNT) 1:3 MODSEQ 1") == "* ESEARCH (TAG \"f\") COUNT 3 MODSEQ 8\r\nf OK SEARCH completed\r\n")
        #expect(h.send("g SEARCH RETURN (ALL) 2:3 MODSEQ 9") == "* ESEARCH (TAG \"g\")\r\ng OK SEARCH completed\r\n")
    }

    // MARK: mailbox names (RFC 3501 §9 astring, list-mailbox)

    @Test func everyAstringCharacterWorksInNamesAndPatterns() {
        let h = IMAPSessionHarness.loggedIn()
        let characters = "!#$&'+,-.0123456789:;<=>?@^_`|[}~]"
        for (index, character) in characters.enumerated() {
            let name = "n\(index)\(character)x"
            #expect(h.send("c\(index) CREATE \(name)") == "c\(index) OK CREATE completed\r\n", "\(character)")
            #expect(h.send("s\(index) SELECT \(name)").hasSuffix("s\(index) OK [READ-WRITE] SELECT completed\r\n"), "\(character)")
            let list = h.send("l\(index) LIST \"\" \(name)")
            #expect(list.hasSuffix("l\(index) OK LIST completed\r\n") && list.hasPrefix("* LIST ("), "\(character)")
        }
        // "&" is written back in modified UTF-7 ("&-"); that spelling names the same mailbox.
        #expect(h.send("a LIST \"\" n3&x") == "* LIST (\\HasNoChildren) \"/\" \"n3&-x\"\r\na OK LIST completed\r\n")
        #expect(h.send("b STATUS n3&-x (MESSAGES)") == "* STATUS \"n3&-x\" (MESSAGES 0)\r\nb OK STATUS completed\r\n")
        #expect(h.send("d LIST \"\" *&*").hasSuffix("d OK LIST completed\r\n"))
        #expect(h.send("e LIST \"&\" %") == "e OK LIST completed\r\n")
    }

    @Test func missingMailboxIsNoNotBad() {
        let h = IMAPSessionHarness.loggedIn()
        for name in ["Nope", "\"\"", "a&b", "\"a b\"", "{3}\r\nx]y"] {
            let reply = h.send("a SELECT \(name)")
            #expect(reply.hasSuffix("a NO [NONEXISTENT] No such mailbox\r\n"), "\(name)")
        }
        #expect(h.send("b EXAMINE a]b").hasSuffix("b NO [NONEXISTENT] No such mailbox\r\n"))
    }

    // MARK: SEARCH FROM/TO/CC/BCC (RFC 3501 §6.4.4)

    @Test func addressKeysMatchParsedAddresses() {
        let store = InMemoryIMAPStore()
        for message in [
            "From: user-from@domain.org\r\nTo: user-to@domain.org\r\nCc: user-cc@domain.org\r\nBcc: user-bcc@domain.org\r\n\r\nbody\r\n",
            "From: RealFrom <user-from@domain.org>\r\nTo: RealTo <user-to@domain.org>\r\nCc: RealCc <user-cc@domain.org>\r\nBcc: RealBcc <user-bcc@domain.org>\r\n\r\nbody2\r\n",
            "From: <user-from (comment)@ (comment) domain.org>\r\nTo: <user-to@domain.org>\r\nCc: <user-cc@domain.org>\r\nBcc: <user-bcc@domain.org>\r\n\r\nbody3\r\n",
            "From: user-from@domain.org (RealFrom)\r\nTo: user-to@domain.org (RealTo)\r\nCc: user-cc@domain.org (RealCc)\r\nBcc: user-bcc@domain.org (RealBcc)\r\n\r\nbody4\r\n",
            "From: user-from1@domain.org, user-from2@domain.org\r\nCc: user-cc@domain.org\r\n\r\nbody5\r\n",
            "To: groupname: groupuser1@domain.org, groupuser2@domain.org;,\r\n  groupname2: groupuser3@domain.org;\r\n\r\nbody5\r\n",
            "From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.org>\r\n\r\nbody7\r\n",
        ] { store.deliver(message) }
        let h = IMAPSessionHarness.selected(store: store)
        let expectations: [(String, String)] = [
            ("FROM user-from@domain.org", "1 2 3 4"), ("TO user-to@domain.org", "1 2 3 4"),
            ("CC user-cc@domain.org", "1 2 3 4 5"), ("BCC user-bcc@domain.org", "1 2 3 4"),
            ("FROM realfrom", "2 4"), ("TO realto", "2 4"), ("CC realcc", "2 4"), ("BCC realbcc", "2 4"),
            ("FROM ser-fro", "1 2 3 4 5"), ("BCC ealbc", "2 4"),
            ("FROM user-from1", "5"), ("FROM user-from2", "5"),
            ("TO groupname", "6"), ("TO groupname2", "6"), ("TO groupuser3", "6"), ("TO groupuser4", ""),
            ("FROM \"jürgen <jurgen@\"", "7"), ("FROM comment", "3"),
        ]
        for (key, numbers) in expectations {
            #expect(h.send("a SEARCH CHARSET UTF-8 \(key)") == "* SEARCH\(numbers.isEmpty ? "" : " " + numbers)\r\na OK SEARCH completed\r\n", "\(key)")
        }
    }

    // MARK: expunged elsewhere (RFC 2180 §4.1.1)

    @Test func messageExpungedElsewhereStaysReadableUntilTheExpungeIsSent() {
        let store = store(3)
        let viewer = IMAPSessionHarness.selected(store: store)
        let other = IMAPSessionHarness.selected(store: store)
        _ = other.send("a STORE 2 +FLAGS.SILENT (\\Deleted)")
        _ = other.send("b EXPUNGE")
        // FETCH may not send EXPUNGE: message 2 is still there for this session, whole.
        let fetch = viewer.send("c FETCH 1:3 (FLAGS BODY[TEXT])")
        #expect(fetch.contains("* 2 FETCH (FLAGS (\\Seen \\Recent) BODY[TEXT] {8}\r\nbody 2\r\n)\r\n"))
        #expect(fetch.hasSuffix("c OK FETCH completed\r\n"))
        #expect(viewer.send("d SEARCH BODY \"body 2\"") == "* SEARCH 2\r\nd OK SEARCH completed\r\n")
        #expect(viewer.send("e NOOP") == "* 2 EXPUNGE\r\ne OK NOOP completed\r\n")
        #expect(viewer.send("f FETCH 2 BODY[TEXT]").contains("body 3"))
    }

    @Test func afterTheGraceAGoneMessageIsExpungeIssued() {
        let store = store(2)
        store.expungedBytesReadable = false
        let viewer = IMAPSessionHarness.selected(store: store)
        let other = IMAPSessionHarness.selected(store: store)
        _ = other.send("a STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = other.send("b EXPUNGE")
        #expect(viewer.send("c FETCH 1 BODY.PEEK[]").hasSuffix("c NO [EXPUNGEISSUED] Some messages could not be read\r\n"))
    }

    // MARK: STARTTLS (RFC 3501 §6.2.1, issue 11 §8)

    @Test func inputPipelinedBehindStartTLSIsDiscarded() {
        let h = IMAPSessionHarness()
        let reply = h.feed(Array("a STARTTLS\r\nb LOGIN alice@example.test secret\r\nc CAPABILITY\r\n".utf8))
        #expect(reply == "a OK Begin TLS negotiation now\r\n")
        #expect(h.tlsStarts == 1)
        #expect(h.credentials.isEmpty)
        #expect(h.session.state == .notAuthenticated)
        #expect(h.session.info.tls)
        // After the handshake the session answers what comes through TLS.
        #expect(h.send("d CAPABILITY").hasSuffix("d OK CAPABILITY completed\r\n"))
        #expect(h.send("e LOGIN alice@example.test secret").hasPrefix("e OK"))
    }

    @Test func halfSentCommandBeforeStartTLSIsDiscardedToo() {
        let h = IMAPSessionHarness()
        _ = h.feed(Array("a STARTTLS\r\nb LOGIN {5}\r\n".utf8))
        // The literal's announcement was in the clear: its continuation must not be
        // answered, and its remainder after TLS is a new (bad) command, not a login.
        #expect(!h.output.contains("+ Ready"))
        #expect(h.send("alice@example.test secret").contains("BAD"))
        #expect(h.credentials.isEmpty)
    }

    // MARK: literals before login (issue 11 §1)

    @Test func largeLiteralsAreRefusedBeforeLogin() {
        let h = IMAPSessionHarness()
        // Synchronizing: no "+", a tagged BAD, the client sends nothing more.
        #expect(h.send("a APPEND INBOX {10000000}") == "a BAD [TOOBIG] Literal too big before login (over 8192 bytes)\r\n")
        #expect(!h.closed)
        // LOGIN's own small literals still work.
        #expect(h.feed(Array("b LOGIN {18}\r\n".utf8)) == "+ Ready for literal data\r\n")
        // Non-synchronizing and too big: answered and closed, its bytes never read.
        let other = IMAPSessionHarness()
        let reply = other.feed(Array("a APPEND INBOX {10000000+}\r\n".utf8) + Array(repeating: 0x78, count: 4096))
        #expect(reply == "a BAD [TOOBIG] Literal too big before login (over 8192 bytes)\r\n* BYE Literal too big before login\r\n")
        #expect(other.closed)
        // After login the usual limits apply.
        let user = IMAPSessionHarness.loggedIn()
        #expect(user.feed(Array("a APPEND INBOX {10000}\r\n".utf8)) == "+ Ready for literal data\r\n")
    }
}
