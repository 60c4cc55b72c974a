import Testing
import MailCore
@testable import IMAP

@Suite struct IMAPParserTests {
    func cmd(_ line: String) throws(IMAPError) -> IMAPCommand { try Fixtures.command(line) }
    func set(_ ranges: SequenceRange...) -> SequenceSet { .ranges(ranges) }

    @Test func simpleCommands() throws {
        #expect(try Fixtures.parse("a1 CAPABILITY") == TaggedCommand(tag: "a1", command: .capability))
        #expect(try cmd("x noop") == .noop)
        #expect(try cmd("x LOGOUT") == .logout)
        #expect(try cmd("x StartTLS") == .starttls)
        #expect(try cmd("x NAMESPACE") == .namespace)
        #expect(try cmd("x IDLE") == .idle)
        #expect(try cmd("x CHECK") == .check)
        #expect(try cmd("x CLOSE") == .close)
        #expect(try cmd("x UNSELECT") == .unselect)
        #expect(try cmd("x EXPUNGE") == .expunge)
        #expect(try cmd("x UID EXPUNGE 3:5,9") == .uidExpunge(set(.init(3, 5), .init(9))))
    }

    @Test func loginAndAuthenticate() throws {
        #expect(try cmd("a LOGIN fred secret") == .login(user: "fred", password: "secret"))
        #expect(try cmd("a LOGIN \"fred%example.com\" \"pa ss\\\"w\\\\\"") == .login(user: "fred%example.com", password: "pa ss\"w\\"))
        #expect(try cmd("a LOGIN {4+}\r\nfred {6}\r\nsec re") == .login(user: "fred", password: "sec re"))
        #expect(try cmd("a LOGIN fred \"pässwörd\"") == .login(user: "fred", password: "pässwörd"))
        #expect(try cmd("a LOGIN webmaster%midominio.com pa*ss") == .login(user: "webmaster%midominio.com", password: "pa*ss"))
        #expect(try cmd("a AUTHENTICATE plain") == .authenticate(mechanism: "PLAIN", initialResponse: nil))
        #expect(try cmd("a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0") == .authenticate(mechanism: "PLAIN", initialResponse: "AGZyZWQAc2VjcmV0"))
        #expect(try cmd("a AUTHENTICATE PLAIN =") == .authenticate(mechanism: "PLAIN", initialResponse: "="))
        #expect(try cmd("a AUTHENTICATE CRAM-MD5") == .authenticate(mechanism: "CRAM-MD5", initialResponse: nil))
    }

    @Test func idAndEnable() throws {
        #expect(try cmd("a ID NIL") == .id(nil))
        #expect(try cmd("a ID (\"name\" \"Thunderbird\" \"version\" NIL)") == .id([IDField("name", "Thunderbird"), IDField("version", nil)]))
        #expect(try cmd("a ID ()") == .id([]))
        #expect(try cmd("a ENABLE CONDSTORE utf8=accept") == .enable(["CONDSTORE", "UTF8=ACCEPT"]))
    }

    @Test func mailboxes() throws {
        #expect(try cmd("a SELECT inbox") == .select(.inbox, SelectParameters()))
        #expect(try cmd("a SELECT \"InBoX\"") == .select(.inbox, SelectParameters()))
        #expect(try cmd("a EXAMINE \"Sent Items\"") == .examine(MailboxName("Sent Items"), SelectParameters()))
        #expect(try cmd("a SELECT INBOX (CONDSTORE)") == .select(.inbox, SelectParameters(condStore: true)))
        #expect(try cmd("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))")
                == .select(.inbox, SelectParameters(qresync: QResyncParameters(uidValidity: 67890007, modSeq: 20050715194045000,
                                                                                  knownUIDs: set(.init(41), .init(43, 211), .init(214, 541))))))
        #expect(try cmd("a SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211 (1:10 41:50)))")
                == .select(.inbox, SelectParameters(qresync: QResyncParameters(uidValidity: 67890007, modSeq: 90060115194045000,
                                                                                  knownUIDs: set(.init(41, 211)),
                                                                                  matchSequences: set(.init(1, 10)), matchUIDs: set(.init(41, 50))))))
        #expect(try cmd("a CREATE Drafts") == .create(MailboxName("Drafts"), specialUse: []))
        #expect(try cmd("a CREATE MySent (USE (\\Sent))") == .create(MailboxName("MySent"), specialUse: ["\\Sent"]))
        #expect(try cmd("a DELETE foo/bar") == .delete(MailboxName("foo/bar")))
        #expect(try cmd("a RENAME old new") == .rename(from: MailboxName("old"), to: MailboxName("new")))
        #expect(try cmd("a SUBSCRIBE &AMk-t&AOk-") == .subscribe(MailboxName("&AMk-t&AOk-")))
        #expect(try cmd("a UNSUBSCRIBE \"x\"") == .unsubscribe(MailboxName("x")))
        #expect(try cmd("a SELECT \"Entw&APw-rfe\"") == .select(MailboxName("Entw&APw-rfe"), SelectParameters()))
        #expect(MailboxName("Entw&APw-rfe").decoded(utf8Accept: false) == "Entwürfe")
        #expect(try cmd("a SELECT \"Entwürfe\"") == .select(MailboxName("Entwürfe"), SelectParameters()))
        #expect(MailboxName("Entwürfe").decoded(utf8Accept: true) == "Entwürfe")
        #expect(MailboxName("Entwürfe").decoded(utf8Accept: false) == nil)
        #expect(try cmd("a GETQUOTAROOT INBOX") == .getQuotaRoot(.inbox))
        #expect(try cmd("a GETQUOTA \"\"") == .getQuota(""))
    }

    @Test func list() throws {
        #expect(try cmd("a LIST \"\" *") == .list(ListCommand(reference: MailboxName(""), patterns: [Array("*".utf8)])))
        #expect(try cmd("a LIST \"\" %/%") == .list(ListCommand(reference: MailboxName(""), patterns: [Array("%/%".utf8)])))
        #expect(try cmd("a LSUB \"#news.\" \"comp.mail.*\"") == .lsub(reference: MailboxName("#news."), pattern: Array("comp.mail.*".utf8)))
        #expect(try cmd("a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Sent*\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN SIZE))")
                == .list(ListCommand(selectionOptions: ["SUBSCRIBED", "RECURSIVEMATCH"], reference: MailboxName(""),
                                     patterns: [Array("INBOX".utf8), Array("Sent*".utf8)],
                                     returnOptions: [.children, .status([.messages, .unseen, .size])], extended: true)))
        #expect(try cmd("a LIST \"\" \"*\" RETURN (SPECIAL-USE SUBSCRIBED)")
                == .list(ListCommand(reference: MailboxName(""), patterns: [Array("*".utf8)],
                                     returnOptions: [.specialUse, .subscribed], extended: true)))
        #expect(try cmd("a LIST () \"\" %") == .list(ListCommand(reference: MailboxName(""), patterns: [Array("%".utf8)], extended: true)))
        #expect(try cmd("a LIST \"\" foo]bar") == .list(ListCommand(reference: MailboxName(""), patterns: [Array("foo]bar".utf8)])))
    }

    @Test func status() throws {
        #expect(try cmd("a STATUS blurdybloop (UIDNEXT MESSAGES)") == .status(MailboxName("blurdybloop"), [.uidNext, .messages]))
        #expect(try cmd("a STATUS INBOX (messages recent uidnext uidvalidity unseen deleted size highestmodseq appendlimit)")
                == .status(.inbox, StatusItem.allCases))
    }

    @Test func append() throws {
        let message = "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nSubject: hi\r\n\r\nHello\r\n"
        let n = message.utf8.count
        #expect(try cmd("A003 APPEND saved-messages (\\Seen) {\(n)}\r\n\(message)")
                == .append(MailboxName("saved-messages"), [AppendMessage(flags: ["\\Seen"], data: Array(message.utf8))]))
        let date = IMAPDateTime(date: IMAPDate(year: 1994, month: 2, day: 7), hour: 21, minute: 52, second: 25, zoneMinutes: -480)
        #expect(try cmd("A003 APPEND INBOX \" 7-Feb-1994 21:52:25 -0800\" {\(n)+}\r\n\(message)")
                == .append(.inbox, [AppendMessage(internalDate: date, data: Array(message.utf8))]))
        #expect(try cmd("A003 APPEND INBOX () \"07-Feb-1994 21:52:25 -0800\" {2}\r\nab (\\Draft $Junk) {1}\r\nc")
                == .append(.inbox, [AppendMessage(internalDate: date, data: Array("ab".utf8)),
                                    AppendMessage(flags: ["\\Draft", "$Junk"], data: Array("c".utf8))]))
        #expect(try cmd("A APPEND INBOX ~{3}\r\na\u{0}b") == .append(.inbox, [AppendMessage(data: [97, 0, 98], binary: true)]))
        #expect(try cmd("A APPEND INBOX UTF8 (~{2}\r\nhi)") == .append(.inbox, [AppendMessage(data: Array("hi".utf8), binary: true)]))
        #expect(throws: IMAPError(tag: "A", "APPEND needs a message")) { try cmd("A APPEND INBOX") }
        #expect(throws: IMAPError(tag: "A", "NUL in a literal (use literal8)")) { try cmd("A APPEND INBOX {3}\r\na\u{0}b") }
    }

    @Test func fetch() throws {
        #expect(try cmd("a FETCH 1:* ALL") == .fetch(set(.init(1, nil)), FetchAttribute.all, FetchModifiers(), uid: false))
        #expect(try cmd("a FETCH 2 fast") == .fetch(set(.init(2)), FetchAttribute.fast, FetchModifiers(), uid: false))
        #expect(try cmd("a FETCH * FULL") == .fetch(set(.init(nil)), FetchAttribute.full, FetchModifiers(), uid: false))
        #expect(try cmd("a FETCH $ UID") == .fetch(.lastResult, [.uid], FetchModifiers(), uid: false))
        #expect(try cmd("a UID FETCH 1:4,7,*:9 (FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE BODY UID MODSEQ)")
                == .fetch(set(.init(1, 4), .init(7), .init(nil, 9)),
                          [.flags, .rfc822Size, .internalDate, .envelope, .bodyStructure, .body, .uid, .modSeq], FetchModifiers(), uid: true))
        #expect(try cmd("a FETCH 1 (RFC822 RFC822.HEADER RFC822.TEXT)") == .fetch(set(.init(1)), [.rfc822, .rfc822Header, .rfc822Text], FetchModifiers(), uid: false))
        #expect(try cmd("a FETCH 1 (BODY[] BODY.PEEK[HEADER] body[text]<0.2048> BODY[1.2.MIME] BODY[3] BODY[2.HEADER.FIELDS.NOT (Received)])")
                == .fetch(set(.init(1)), [
                    .bodySection(.whole, partial: nil, peek: false),
                    .bodySection(SectionSpec(text: .header), partial: nil, peek: true),
                    .bodySection(SectionSpec(text: .text), partial: Partial(offset: 0, length: 2048), peek: false),
                    .bodySection(SectionSpec(part: [1, 2], text: .mime), partial: nil, peek: false),
                    .bodySection(SectionSpec(part: [3]), partial: nil, peek: false),
                    .bodySection(SectionSpec(part: [2], text: .headerFieldsNot(["Received"])), partial: nil, peek: false),
                ], FetchModifiers(), uid: false))
        #expect(try cmd("a UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID \"X-Spam\")])")
                == .fetch(set(.init(1, nil)), [.uid, .bodySection(SectionSpec(text: .headerFields(["From", "To", "Cc", "Subject", "Date", "Message-ID", "X-Spam"])), partial: nil, peek: true)], FetchModifiers(), uid: true))
        #expect(try cmd("a FETCH 1 (BINARY[1] BINARY.PEEK[1.2]<10.20> BINARY.SIZE[1] BINARY[])")
                == .fetch(set(.init(1)), [.binary(part: [1], partial: nil, peek: false),
                                          .binary(part: [1, 2], partial: Partial(offset: 10, length: 20), peek: true),
                                          .binarySize(part: [1]), .binary(part: [], partial: nil, peek: false)], FetchModifiers(), uid: false))
        #expect(try cmd("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)")
                == .fetch(set(.init(1, nil)), [.flags], FetchModifiers(changedSince: 12345, vanished: true), uid: true))
        #expect(try cmd("a FETCH 1:* FLAGS (CHANGEDSINCE 7)") == .fetch(set(.init(1, nil)), [.flags], FetchModifiers(changedSince: 7), uid: false))
        #expect(FetchAttribute.bodySection(.whole, partial: nil, peek: false).setsSeen)
        #expect(!FetchAttribute.bodySection(.whole, partial: nil, peek: true).setsSeen)
    }

    @Test func fetchErrors() {
        #expect(throws: IMAPError(tag: "a", "Unknown FETCH attribute BODY.FOO")) { try cmd("a FETCH 1 BODY.FOO") }
        #expect(throws: IMAPError(tag: "a", "BODY.PEEK needs a section")) { try cmd("a FETCH 1 BODY.PEEK") }
        #expect(throws: IMAPError(tag: "a", "MIME needs a part number")) { try cmd("a FETCH 1 BODY[MIME]") }
        #expect(throws: IMAPError(tag: "a", "Expected a non-zero number")) { try cmd("a FETCH 0 FLAGS") }
        #expect(throws: IMAPError(tag: "a", "VANISHED needs UID FETCH with CHANGEDSINCE")) { try cmd("a FETCH 1 FLAGS (VANISHED)") }
        #expect(throws: IMAPError(tag: "a", "Expected \")\" at end of command")) { try cmd("a FETCH 1 (FLAGS") }
    }

    @Test func store() throws {
        #expect(try cmd("a STORE 2:4 +FLAGS (\\Deleted)") == .store(set(.init(2, 4)), StoreModifiers(), StoreAction(.add, flags: ["\\Deleted"]), uid: false))
        #expect(try cmd("a UID STORE 1 -FLAGS.SILENT \\Seen $Junk") == .store(set(.init(1)), StoreModifiers(), StoreAction(.remove, silent: true, flags: ["\\Seen", "$Junk"]), uid: true))
        #expect(try cmd("a STORE 1 FLAGS ()") == .store(set(.init(1)), StoreModifiers(), StoreAction(.replace, flags: []), uid: false))
        #expect(try cmd("a STORE 1:* (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)")
                == .store(set(.init(1, nil)), StoreModifiers(unchangedSince: 320162338), StoreAction(.add, silent: true, flags: ["\\Deleted"]), uid: false))
        #expect(throws: IMAPError(tag: "a", "Expected FLAGS or FLAGS.SILENT near \"LABELS (x)\"")) { try cmd("a STORE 1 +LABELS (x)") }
    }

    @Test func copyMove() throws {
        #expect(try cmd("a COPY 2:4 MEETING") == .copy(set(.init(2, 4)), MailboxName("MEETING"), uid: false))
        #expect(try cmd("a UID MOVE 42:69 \"Trash\"") == .move(set(.init(42, 69)), MailboxName("Trash"), uid: true))
        #expect(try cmd("a MOVE $ Archive") == .move(.lastResult, MailboxName("Archive"), uid: false))
        #expect(try cmd("a UID COPY 1 Sent") == .copy(set(.init(1)), MailboxName("Sent"), uid: true))
    }

    @Test func search() throws {
        func search(_ text: String) throws(IMAPError) -> SearchCommand {
            guard case .search(let s, _) = try cmd("a SEARCH " + text) else { preconditionFailure() }
            return s
        }
        #expect(try search("ALL") == SearchCommand(key: .all))
        #expect(try search("FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"")
                == SearchCommand(key: .and([.flagged, .since(IMAPDate(year: 1994, month: 2, day: 1)), .not(.from("Smith"))])))
        #expect(try search("TEXT \"string not in mailbox\"") == SearchCommand(key: .text("string not in mailbox")))
        #expect(try search("CHARSET UTF-8 SUBJECT {7}\r\nGrüße") == SearchCommand(charset: "UTF-8", key: .subject("Grüße")))
        #expect(try search("OR (SEEN FLAGGED) NOT OR 1:3 UID 5:*")
                == SearchCommand(key: .or(.and([.seen, .flagged]), .not(.or(.sequence(set(.init(1, 3))), .uid(set(.init(5, nil))))))))
        #expect(try search("RETURN (MIN MAX COUNT) UNSEEN") == SearchCommand(returnOptions: [.min, .max, .count], key: .unseen))
        #expect(try search("RETURN () ALL") == SearchCommand(returnOptions: [], key: .all))
        #expect(try search("RETURN (SAVE) DELETED") == SearchCommand(returnOptions: [.save], key: .deleted))
        #expect(try search("MODSEQ 620162338") == SearchCommand(key: .modSeq(620162338, entry: nil, entryType: nil)))
        #expect(try search("MODSEQ \"/flags/\\\\draft\" all 620162338")
                == SearchCommand(key: .modSeq(620162338, entry: "/flags/\\draft", entryType: "all")))
        #expect(try search("HEADER Message-ID \"<x@y>\" LARGER 1000 SMALLER 5000 KEYWORD $Forwarded UNKEYWORD $Junk")
                == SearchCommand(key: .and([.header("Message-ID", "<x@y>"), .larger(1000), .smaller(5000), .keyword("$Forwarded"), .unkeyword("$Junk")])))
        #expect(try search("ANSWERED DELETED DRAFT NEW OLD RECENT SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN")
                == SearchCommand(key: .and([.answered, .deleted, .draft, .new, .old, .recent, .seen, .unanswered, .undeleted, .undraft, .unflagged, .unseen])))
        #expect(try search("BCC a CC b TO c BODY d BEFORE \"1-Jan-2020\" ON 29-Feb-2024 SENTBEFORE 1-Jan-2000 SENTON 2-Jan-2000 SENTSINCE 3-Jan-2000")
                == SearchCommand(key: .and([.bcc("a"), .cc("b"), .to("c"), .body("d"), .before(IMAPDate(year: 2020, month: 1, day: 1)),
                                            .on(IMAPDate(year: 2024, month: 2, day: 29)), .sentBefore(IMAPDate(year: 2000, month: 1, day: 1)),
                                            .sentOn(IMAPDate(year: 2000, month: 1, day: 2)), .sentSince(IMAPDate(year: 2000, month: 1, day: 3))])))
        #expect(try search("OLDER 3600 YOUNGER 60") == SearchCommand(key: .and([.older(3600), .younger(60)])))
        #expect(try search("$") == SearchCommand(key: .sequence(.lastResult)))
        guard case .search(_, let uid) = try cmd("a UID SEARCH ALL") else { preconditionFailure() }
        #expect(uid)
    }

    @Test func searchErrors() {
        #expect(throws: IMAPError(tag: "a", "Invalid date")) { try cmd("a SEARCH ON 30-Feb-2024") }
        #expect(throws: IMAPError(tag: "a", "Bad month \"FOO\"")) { try cmd("a SEARCH ON 1-Foo-2024") }
        #expect(throws: IMAPError(tag: "a", "Unknown search key FOO")) { try cmd("a SEARCH FOO") }
        #expect(throws: IMAPError(tag: "a", "Expected a space at end of command")) { try cmd("a SEARCH OR SEEN") }
        let deep = "a SEARCH " + String(repeating: "NOT ", count: 40) + "SEEN"
        #expect(throws: IMAPError(tag: "a", "Too deeply nested (over 32 levels)")) { try cmd(deep) }
        let parens = "a SEARCH " + String(repeating: "(", count: 1000) + "SEEN" + String(repeating: ")", count: 1000)
        #expect(throws: IMAPError(tag: "a", "Too deeply nested (over 32 levels)")) { try cmd(parens) }
    }

    @Test func itemLimits() {
        var limits = Limits()
        limits.maxIMAPItems = 3
        let parser = IMAPParser(limits: limits)
        #expect(throws: IMAPError(tag: "a", "Too many items (over 3)")) { try parser.parse("a FETCH 1,2,3,4 FLAGS") }
        #expect(throws: IMAPError(tag: "a", "Too many items (over 3)")) { try parser.parse("a STORE 1 +FLAGS (a b c d)") }
        #expect(throws: IMAPError(tag: "a", "Too many items (over 3)")) { try parser.parse("a FETCH 1 (UID FLAGS UID FLAGS)") }
        #expect((try? parser.parse("a FETCH 1,2,3 FLAGS")) != nil)
    }

    @Test func syntaxErrorsCarryTheTag() {
        #expect(throws: IMAPError(tag: nil, "Missing or invalid tag")) { try cmd("") }
        #expect(throws: IMAPError(tag: nil, "Missing or invalid tag")) { try cmd("+tag NOOP") }
        #expect(throws: IMAPError(tag: "a1", "Missing command")) { try cmd("a1") }
        #expect(throws: IMAPError(tag: "a1", "Unknown command FROB")) { try cmd("a1 FROB") }
        #expect(throws: IMAPError(tag: "a1", "Unexpected text after the command near \" now\"")) { try cmd("a1 NOOP now") }
        #expect(throws: IMAPError(tag: "a1", "Unterminated quoted string")) { try cmd("a1 LOGIN \"fred") }
        #expect(throws: IMAPError(tag: "a1", "Bad escape in quoted string")) { try cmd("a1 LOGIN \"fr\\ed\" x") }
        #expect(throws: IMAPError(tag: "a1", "Expected a space at end of command")) { try cmd("a1 LOGIN fred") }
        #expect(throws: IMAPError(tag: "a1", "Number too large")) { try cmd("a1 FETCH 99999999999 FLAGS") }
        #expect(throws: IMAPError(tag: "a1", "Unknown UID command NOOP")) { try cmd("a1 UID NOOP") }
        #expect(throws: IMAPError(tag: "a1", "Unknown status item BOGUS")) { try cmd("a1 STATUS INBOX (BOGUS)") }
        // A literal the parser is given directly that is shorter than announced.
        #expect(throws: IMAPError(tag: "a1", "Literal shorter than announced")) { try IMAPParser().parse("a1 LOGIN {10}\r\nab x") }
        #expect(IMAPError(tag: "a1", "Unknown command FROB").description == "a1 BAD Unknown command FROB\r\n")
        #expect(IMAPError(tag: nil, "Missing or invalid tag").description == "* BAD Missing or invalid tag\r\n")
    }

    /// Arbitrary byte strings never trap the parser.
    @Test func garbageNeverTraps() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("a1 FETCH SEARCH LIST APPEND UID ()[]<>{}+~\"\\*$%:,.0123456789\r\nNOT OR BODY.PEEK HEADER.FIELDS".utf8) + [0, 0xff]
        for _ in 0..<3000 {
            let length = Int.random(in: 0..<60, using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            _ = try? IMAPParser().parse(IMAPCommandFrame(bytes))
            _ = try? IMAPParser().parse(IMAPCommandFrame(Array("a SEARCH ".utf8) + bytes))
            _ = try? IMAPParser().parse(IMAPCommandFrame(Array("a UID FETCH 1 ".utf8) + bytes))
            _ = Fixtures.frame(bytes, chunk: 3)
        }
    }
}
