import Testing
@testable import IMAP

@Suite struct IMAPEncoderTests {
    func wire(_ response: IMAPResponse, utf8: Bool = false) -> String {
        String(decoding: IMAPEncoder(utf8Accept: utf8).encode(response), as: UTF8.self)
    }

    @Test func statusResponses() {
        #expect(wire(.tagged(tag: "a1", status: .ok, code: nil, text: "LOGIN completed")) == "a1 OK LOGIN completed\r\n")
        #expect(wire(.tagged(tag: "a2", status: .ok, code: .readWrite, text: "SELECT completed")) == "a2 OK [READ-WRITE] SELECT completed\r\n")
        #expect(wire(.untagged(status: .ok, code: .uidValidity(3857529045), text: "UIDs valid")) == "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n")
        #expect(wire(.untagged(status: .ok, code: .uidNext(4392), text: "Predicted next UID")) == "* OK [UIDNEXT 4392] Predicted next UID\r\n")
        #expect(wire(.untagged(status: .ok, code: .permanentFlags(["\\Deleted", "\\Seen", "\\*"]), text: "Limited"))
                == "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n")
        #expect(wire(.untagged(status: .ok, code: .highestModSeq(715194045007), text: "Highest")) == "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n")
        #expect(wire(.tagged(tag: "A003", status: .ok, code: .appendUID(uidValidity: 38505, uids: .compact([3955])), text: "APPEND completed"))
                == "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n")
        #expect(wire(.tagged(tag: "A004", status: .ok, code: .copyUID(uidValidity: 38505, source: .compact([304, 319, 320]), destination: .compact([3956, 3957, 3958])), text: "Done"))
                == "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n")
        #expect(wire(.tagged(tag: "c", status: .no, code: .alreadyExists, text: "Mailbox already exists")) == "c NO [ALREADYEXISTS] Mailbox already exists\r\n")
        #expect(wire(.tagged(tag: "c", status: .no, code: .nonExistent, text: "No such mailbox")) == "c NO [NONEXISTENT] No such mailbox\r\n")
        #expect(wire(.untagged(status: .ok, code: .capability(["IMAP4rev1", "IMAP4rev2", "LITERAL+"]), text: "ready")) == "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+] ready\r\n")
        #expect(wire(.untagged(status: .bye, code: nil, text: "Logging out")) == "* BYE Logging out\r\n")
        #expect(wire(.untagged(status: .preauth, code: nil, text: "hi")) == "* PREAUTH hi\r\n")
        #expect(wire(.tagged(tag: "s", status: .no, code: .badCharset(["UTF-8", "US-ASCII"]), text: "x")) == "s NO [BADCHARSET (UTF-8 US-ASCII)] x\r\n")
        #expect(wire(.tagged(tag: "s", status: .ok, code: .modified(.compact([7, 9])), text: "x")) == "s OK [MODIFIED 7,9] x\r\n")
        #expect(wire(.tagged(tag: "s", status: .no, code: .other("X-THING", "a]b"), text: "x")) == "s NO [X-THING a)b] x\r\n")
        // Text can never break the framing or fake a response code.
        #expect(wire(.tagged(tag: "t", status: .no, code: nil, text: "bad\r\n* OK evil")) == "t NO bad  * OK evil\r\n")
        #expect(wire(.tagged(tag: "t", status: .no, code: nil, text: "[ALERT] not a code")) == "t NO  [ALERT] not a code\r\n")
        #expect(wire(.continuation("Ready for literal")) == "+ Ready for literal\r\n")
        #expect(wire(.continuation("")) == "+ \r\n")
    }

    @Test func untaggedData() {
        #expect(wire(.data(.capability(["IMAP4rev1", "IDLE"]))) == "* CAPABILITY IMAP4rev1 IDLE\r\n")
        #expect(wire(.data(.enabled(["CONDSTORE"]))) == "* ENABLED CONDSTORE\r\n")
        #expect(wire(.data(.enabled([]))) == "* ENABLED\r\n")
        #expect(wire(.data(.flags(["\\Answered", "\\Flagged", "$Junk"]))) == "* FLAGS (\\Answered \\Flagged $Junk)\r\n")
        #expect(wire(.data(.exists(172))) == "* 172 EXISTS\r\n")
        #expect(wire(.data(.recent(1))) == "* 1 RECENT\r\n")
        #expect(wire(.data(.expunge(44))) == "* 44 EXPUNGE\r\n")
        #expect(wire(.data(.vanished(earlier: true, .compact([41, 43, 44, 45])))) == "* VANISHED (EARLIER) 41,43:45\r\n")
        #expect(wire(.data(.vanished(earlier: false, .compact([405])))) == "* VANISHED 405\r\n")
        #expect(wire(.data(.search([2, 3, 6], modSeq: nil))) == "* SEARCH 2 3 6\r\n")
        #expect(wire(.data(.search([], modSeq: nil))) == "* SEARCH\r\n")
        #expect(wire(.data(.search([2, 5], modSeq: 917162500))) == "* SEARCH 2 5 (MODSEQ 917162500)\r\n")
        #expect(wire(.data(.esearch(ESearchResponse(tag: "A282", uid: false, min: 2, count: 3)))) == "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n")
        #expect(wire(.data(.esearch(ESearchResponse(tag: "A", uid: true, min: 1, max: 9, all: .compact([1, 2, 9]), count: 3, modSeq: 5))))
                == "* ESEARCH (TAG \"A\") UID MIN 1 MAX 9 ALL 1:2,9 COUNT 3 MODSEQ 5\r\n")
        #expect(wire(.data(.esearch(ESearchResponse(tag: "A", uid: false)))) == "* ESEARCH (TAG \"A\")\r\n")
        #expect(wire(.data(.status("blurdybloop", [StatusValue(.messages, 231), StatusValue(.uidNext, 44292)]))) == "* STATUS \"blurdybloop\" (MESSAGES 231 UIDNEXT 44292)\r\n")
        #expect(wire(.data(.namespace(personal: [NamespaceEntry(prefix: "", delimiter: "/")], other: [], shared: []))) == "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n")
        #expect(wire(.data(.id([IDField("name", "mailgate"), IDField("version", nil)]))) == "* ID (\"name\" \"mailgate\" \"version\" NIL)\r\n")
        #expect(wire(.data(.id(nil))) == "* ID NIL\r\n")
        #expect(wire(.data(.quota(root: "", [QuotaResource(name: "STORAGE", usage: 10, limit: 512)])))
                == "* QUOTA \"\" (STORAGE 10 512)\r\n")
        #expect(wire(.data(.quotaRoot(mailbox: "INBOX", roots: [""]))) == "* QUOTAROOT \"INBOX\" \"\"\r\n")
    }

    @Test func listEntries() {
        #expect(wire(.data(.list(ListEntry(attributes: ["\\HasNoChildren", "\\Sent"], delimiter: "/", name: "Sent")))) == "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n")
        #expect(wire(.data(.list(ListEntry(attributes: ["\\Noselect"], delimiter: nil, name: "")))) == "* LIST (\\Noselect) NIL \"\"\r\n")
        #expect(wire(.data(.lsub(ListEntry(attributes: [], delimiter: ".", name: "#news.comp.mail.misc")))) == "* LSUB () \".\" \"#news.comp.mail.misc\"\r\n")
        #expect(wire(.data(.list(ListEntry(attributes: [], delimiter: "/", name: "Foo", childInfo: ["SUBSCRIBED"]))))
                == "* LIST () \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n")
        // Non-ASCII names: modified UTF-7, or raw UTF-8 once UTF8=ACCEPT is enabled.
        #expect(wire(.data(.list(ListEntry(attributes: [], delimiter: "/", name: "Entwürfe")))) == "* LIST () \"/\" \"Entw&APw-rfe\"\r\n")
        #expect(wire(.data(.list(ListEntry(attributes: [], delimiter: "/", name: "Entwürfe"))), utf8: true) == "* LIST () \"/\" \"Entwürfe\"\r\n")
        #expect(wire(.data(.list(ListEntry(attributes: [], delimiter: "/", name: "a\"b\\c")))) == "* LIST () \"/\" \"a\\\"b\\\\c\"\r\n")
        #expect(wire(.data(.status("Tom & Jerry", [StatusValue(.size, 1)]))) == "* STATUS \"Tom &- Jerry\" (SIZE 1)\r\n")
    }

    @Test func fetchResponses() {
        #expect(wire(.data(.fetch(12, [.flags(["\\Seen"]), .uid(4827313), .rfc822Size(44827), .modSeq(12121231000)])))
                == "* 12 FETCH (FLAGS (\\Seen) UID 4827313 RFC822.SIZE 44827 MODSEQ (12121231000))\r\n")
        #expect(wire(.data(.fetch(1, [.internalDate(760_686_745)]))) == "* 1 FETCH (INTERNALDATE \" 8-Feb-1994 05:52:25 +0000\")\r\n")
        #expect(wire(.data(.fetch(1, [.bodySection(.whole, origin: nil, data: Array("Hi\r\n".utf8))]))) == "* 1 FETCH (BODY[] {4}\r\nHi\r\n)\r\n")
        #expect(wire(.data(.fetch(1, [.bodySection(SectionSpec(part: [1, 2], text: .mime), origin: 0, data: Array("ab".utf8))])))
                == "* 1 FETCH (BODY[1.2.MIME]<0> {2}\r\nab)\r\n")
        #expect(wire(.data(.fetch(1, [.bodySection(SectionSpec(text: .headerFields(["FROM", "TO"])), origin: nil, data: [])])))
                == "* 1 FETCH (BODY[HEADER.FIELDS (FROM TO)] {0}\r\n)\r\n")
        #expect(wire(.data(.fetch(1, [.bodySection(SectionSpec(part: [2], text: .headerFieldsNot(["X Odd", "Q\"x"])), origin: nil, data: [])])))
                == "* 1 FETCH (BODY[2.HEADER.FIELDS.NOT (\"X Odd\" \"Q\\\"x\")] {0}\r\n)\r\n")
        #expect(wire(.data(.fetch(1, [.bodySection(SectionSpec(part: [9]), origin: nil, data: nil)]))) == "* 1 FETCH (BODY[9] NIL)\r\n")
        #expect(wire(.data(.fetch(1, [.binary(part: [1], origin: nil, data: [1, 0, 2])]))) == "* 1 FETCH (BINARY[1] ~{3}\r\n\u{1}\u{0}\u{2})\r\n")
        #expect(wire(.data(.fetch(1, [.binary(part: [1], origin: nil, data: [65])]))) == "* 1 FETCH (BINARY[1] {1}\r\nA)\r\n")
        #expect(wire(.data(.fetch(1, [.binarySize(part: [1, 2], size: 77)]))) == "* 1 FETCH (BINARY.SIZE[1.2] 77)\r\n")
        #expect(wire(.data(.fetch(1, [.rfc822Header(Array("A: b\r\n\r\n".utf8)), .rfc822Text(nil)])))
                == "* 1 FETCH (RFC822.HEADER {8}\r\nA: b\r\n\r\n RFC822.TEXT NIL)\r\n")
    }

    @Test func stringsChooseQuotedOrLiteral() {
        func string(_ bytes: [UInt8], utf8: Bool = false) -> String {
            var out: [UInt8] = []
            IMAPEncoder(utf8Accept: utf8).string(bytes, &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(string(Array("plain".utf8)) == "\"plain\"")
        #expect(string([]) == "\"\"")
        #expect(string(Array("say \"hi\" \\o/".utf8)) == "\"say \\\"hi\\\" \\\\o/\"")
        #expect(string(Array("two\r\nlines".utf8)) == "{10}\r\ntwo\r\nlines")
        #expect(string(Array("café".utf8)) == "{5}\r\ncafé")
        #expect(string(Array("café".utf8), utf8: true) == "\"café\"")
        var raw: [UInt8] = []
        IMAPEncoder(utf8Accept: true).string([0x63, 0xe9], &raw)   // not UTF-8: a literal even with UTF8=ACCEPT
        #expect(raw == Array("{2}\r\n".utf8) + [0x63, 0xe9])
        #expect(string(Array(repeating: 65, count: 2000)).hasPrefix("{2000}\r\nAAA"))
    }

    @Test func envelope() {
        let envelope = Envelope(
            date: "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)", subject: "IMAP4rev1 WG mtg summary and minutes",
            from: [EnvelopeAddress(name: "Terry Gray", adl: nil, mailbox: "gray", host: "cac.washington.edu")],
            sender: [EnvelopeAddress(name: "Terry Gray", adl: nil, mailbox: "gray", host: "cac.washington.edu")],
            replyTo: [EnvelopeAddress(name: "Terry Gray", adl: nil, mailbox: "gray", host: "cac.washington.edu")],
            to: [EnvelopeAddress(name: nil, adl: nil, mailbox: "imap", host: "cac.washington.edu")],
            cc: [EnvelopeAddress(name: nil, adl: nil, mailbox: "minutes", host: "CNRI.Reston.VA.US"),
                 EnvelopeAddress(name: "John Klensin", adl: nil, mailbox: "KLENSIN", host: "MIT.EDU")],
            messageID: "<B27397-0100000@cac.washington.edu>")
        // RFC 3501 §8 example.
        #expect(wire(.data(.fetch(12, [.envelope(envelope)]))) == "* 12 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\"))\r\n")
    }

    @Test func bodyStructure() {
        let text = BodyStructure.single(SinglePartBody(type: "TEXT", subtype: "PLAIN", parameters: [BodyParameter("CHARSET", "US-ASCII")],
                                                      encoding: "7BIT", size: 3028, kind: .text(lines: 92)))
        // RFC 3501 §7.4.2 example (non-extensible BODY).
        #expect(wire(.data(.fetch(1, [.body(text)]))) == "* 1 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n")
        #expect(wire(.data(.fetch(1, [.bodyStructure(text)]))) == "* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92 NIL NIL NIL NIL))\r\n")
        let attachment = BodyStructure.single(SinglePartBody(
            type: "application", subtype: "pdf", parameters: [BodyParameter("name", "a b.pdf")], id: "<id1>", description: "Report",
            encoding: "base64", size: 100, kind: .basic,
            extension_: BodyExtension(disposition: BodyDisposition(type: "attachment", parameters: [BodyParameter("filename", "a b.pdf")]),
                                      language: ["en", "fr"], location: "http://x/")))
        let multi = BodyStructure.multipart(MultipartBody(parts: [text, attachment], subtype: "mixed",
                                                          parameters: [BodyParameter("boundary", "b1")],
                                                          extension_: BodyExtension(language: ["de"])))
        #expect(wire(.data(.fetch(2, [.bodyStructure(multi)]))) == "* 2 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"a b.pdf\") \"<id1>\" \"Report\" \"base64\" 100 NIL (\"attachment\" (\"filename\" \"a b.pdf\")) (\"en\" \"fr\") \"http://x/\") \"mixed\" (\"boundary\" \"b1\") NIL (\"de\") NIL))\r\n")
        #expect(wire(.data(.fetch(2, [.body(multi)]))) == "* 2 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)(\"application\" \"pdf\" (\"name\" \"a b.pdf\") \"<id1>\" \"Report\" \"base64\" 100) \"mixed\"))\r\n")
        let inner = Envelope(subject: "inner")
        let message = BodyStructure.single(SinglePartBody(type: "message", subtype: "rfc822", size: 500,
                                                         kind: .message(envelope: inner, body: text, lines: 20)))
        #expect(wire(.data(.fetch(3, [.body(message)]))) == "* 3 FETCH (BODY (\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 500 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92) 20))\r\n")
    }
}
