// SearchEvaluator: every RFC 3501 §6.4.4 key (flags, keywords, dates in the server's
// zone, sent dates, sizes, message and UID sets, `$`, OR/NOT/parentheses), MODSEQ,
// OLDER/YOUNGER, and the string keys on decoded, real-world-shaped messages: RFC 2047
// headers, a multipart/alternative with a base64 UTF-8 part, a QP Latin-1 part, an
// attachment and a forwarded message/rfc822.
import Testing
@testable import IMAP

@Suite struct SearchEvaluatorTests {
    /// Plain ASCII; sent 2003; \Seen \Answered; smallest.
    static let plain = """
        From: Bob <bob@example.net>\r
        To: alice@example.test\r
        Subject: Hello\r
        X-Label: =?KOI8-R?Q?=F0=D2=C9?=\r
        Date: Tue, 1 Jul 2003 10:52:37 +0200\r
        \r
        Hi there\r

        """

    /// RFC 2047 in From/To/Subject; multipart/alternative: base64 UTF-8 text, QP HTML.
    static let alternative = """
        From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>\r
        To: "Team" <team@example.org>, =?UTF-8?B?w4lsb2TDrWU=?= <elodie@example.fr>\r
        Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?UTF-8?B?S8O2bG4=?=\r
        Date: Tue, 14 Nov 2023 19:55:00 +0100\r
        MIME-Version: 1.0\r
        Content-Type: multipart/alternative; boundary="alt"\r
        \r
        --alt\r
        Content-Type: text/plain; charset=UTF-8\r
        Content-Transfer-Encoding: base64\r
        \r
        U2Now7ZuZSBHcsO8w59lIHZvbSBCb2RlbnNlZQ0Kzp/OlM6fzqMgdGVzdA0K\r
        --alt\r
        Content-Type: text/html; charset="utf-8"\r
        Content-Transfer-Encoding: quoted-printable\r
        \r
        <p>Sch=C3=B6ne Gr=C3=BC=C3=9Fe</p>=\r
        <p>soft=\r
        break</p>\r
        --alt--\r

        """

    /// Windows-1252 subject; QP Latin-1 text; a PDF attachment (its decoded bytes hold
    /// "attachmentsecret" and "Grüße"); a forwarded message with an ISO-8859-15 subject.
    static let mixed = """
        From: Anna <anna@example.net>\r
        To: bob@example.net\r
        Subject: =?windows-1252?Q?=93Quoted=94_=80uro?=\r
        Date: 15 Oct 2023 08:00:00 -0000\r
        Content-Type: multipart/mixed; boundary=mix\r
        \r
        --mix\r
        Content-Type: text/plain; charset=ISO-8859-1\r
        Content-Transfer-Encoding: quoted-printable\r
        \r
        Caf=E9 cr=E8me br=FBl=E9e\r
        --mix\r
        Content-Type: application/pdf; name=report.pdf\r
        Content-Disposition: attachment; filename=report.pdf\r
        Content-Transfer-Encoding: base64\r
        \r
        JVBERi0xLjQgYXR0YWNobWVudHNlY3JldCBHcsO8w59l\r
        --mix\r
        Content-Type: message/rfc822\r
        \r
        Subject: =?ISO-8859-15?B?pA==?= inner\r
        From: inner@example.com\r
        \r
        nested needle in the forwarded mail\r
        --mix--\r

        """

    /// 8-bit Latin-1 body without transfer encoding; folded subject; no Date; biggest.
    static var latin1: [UInt8] {
        Array("Subject: folded\r\n\tsubject line\r\nCc: Carol <carol@example.com>\r\nBcc: secret@example.com\r\nX-Empty:\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr".utf8)
            + [0xFC, 0xDF] + Array("e aus M".utf8) + [0xFC] + Array("nchen\r\n".utf8)
            + Array(String(repeating: "filler line\r\n", count: 200).utf8)
    }

    static let messages: [[UInt8]] = [Array(plain.utf8), Array(alternative.utf8), Array(mixed.utf8), latin1]

    /// UIDs 3 7 8 12; internal dates 1 Nov 12:00, 14 Nov 20:00, 15 Oct 00:30 and
    /// 14 Nov 23:30 2023 UTC (15 Nov one hour east); modseqs 5 9 2 12.
    static func mailbox() -> SelectedMailbox {
        let flags = [["\\Seen", "\\Answered"], ["\\Flagged", "$Forwarded"], ["\\Deleted", "\\Draft"], []]
        let uids: [UInt32] = [3, 7, 8, 12]
        let dates = [1698840000.0, 1699992000, 1697329800, 1700004600]
        let modSeqs: [UInt64] = [5, 9, 2, 12]
        let records = (0..<4).map { i in
            IMAPMessageRecord(uid: uids[i], flags: flags[i], modSeq: modSeqs[i], size: messages[i].count,
                              internalDate: dates[i], handle: IMAPMessageHandle(mailbox: 1, key: UInt64(i)))
        }
        let snapshot = IMAPMailboxSnapshot(id: IMAPMailboxID(1), uidValidity: 1, uidNext: 13, highestModSeq: 12, messages: records)
        return SelectedMailbox(snapshot, name: "INBOX", readOnly: false)
    }

    final class Loads { var count = 0 }

    /// A non-synchronizing literal holding `text` (its UTF-8 bytes).
    func lit(_ text: String) -> String { "{\(text.utf8.count)+}\r\n" + text }

    /// Sequence numbers matching the search program `program` (as a client writes it).
    func search(_ program: String, zoneMinutes: Int = 0, saved: [UInt32] = [], loads: Loads = Loads()) -> [Int] {
        guard case .search(let command, _)? = try? IMAPParser().parse("a SEARCH " + program).command else {
            Issue.record("does not parse: \(program)"); return []
        }
        let evaluator = SearchEvaluator(mailbox: Self.mailbox(), saved: saved, zoneMinutes: zoneMinutes, now: 1_700_000_000,
                                        load: { record in loads.count += 1; return Self.messages[Int(record.handle.key)] })
        let key = PreparedSearchKey(command.key)
        return (0..<4).filter { evaluator.matches(key, at: $0) }.map { $0 + 1 }
    }

    @Test func flagsAndKeywords() {
        #expect(search("ALL") == [1, 2, 3, 4])
        #expect(search("ANSWERED") == [1])
        #expect(search("UNANSWERED") == [2, 3, 4])
        #expect(search("DELETED") == [3])
        #expect(search("UNDELETED") == [1, 2, 4])
        #expect(search("DRAFT") == [3])
        #expect(search("UNDRAFT") == [1, 2, 4])
        #expect(search("FLAGGED") == [2])
        #expect(search("UNFLAGGED") == [1, 3, 4])
        #expect(search("SEEN") == [1])
        #expect(search("UNSEEN") == [2, 3, 4])
        // \Recent is not kept (RFC 9051): nothing is recent or new, everything is old.
        #expect(search("RECENT") == [])
        #expect(search("NEW") == [])
        #expect(search("OLD") == [1, 2, 3, 4])
        #expect(search("KEYWORD $Forwarded") == [2])
        #expect(search("KEYWORD $forwarded") == [2])
        #expect(search("UNKEYWORD $Forwarded") == [1, 3, 4])
        #expect(search("KEYWORD $Junk") == [])
    }

    @Test func internalDatesInTheServersZone() {
        #expect(search("BEFORE 1-Nov-2023") == [3])
        #expect(search("ON 1-Nov-2023") == [1])
        #expect(search("SINCE 14-Nov-2023") == [2, 4])
        #expect(search("ON 15-Nov-2023") == [])
        // One hour east, 23:30 UTC is already the 15th.
        #expect(search("ON 15-Nov-2023", zoneMinutes: 60) == [4])
        #expect(search("SINCE 15-Nov-2023", zoneMinutes: 60) == [4])
        #expect(search("BEFORE 15-Oct-2023") == [])
        #expect(search("BEFORE 15-Oct-2023", zoneMinutes: -60) == [3])
    }

    @Test func sentDatesFromTheDateHeader() {
        #expect(search("SENTBEFORE 1-Jan-2004") == [1])
        #expect(search("SENTON 1-Jul-2003") == [1])
        #expect(search("SENTON 14-Nov-2023") == [2])
        #expect(search("SENTON 15-Oct-2023") == [3])          // no day name
        #expect(search("SENTSINCE 15-Oct-2023") == [2, 3])
        // No Date: header, so no SENT* key matches message 4 (and NOT does).
        #expect(search("NOT SENTBEFORE 1-Jan-2100") == [4])
        #expect(SearchEvaluator.parseDateHeader("Tue, 1 Jul 03 10:52:37 +0200") == IMAPDate(year: 2003, month: 7, day: 1))
        #expect(SearchEvaluator.parseDateHeader("1 Jul 99 10:52:37") == IMAPDate(year: 1999, month: 7, day: 1))
        #expect(SearchEvaluator.parseDateHeader("Thu, 31 Feb 2024") == nil)
        #expect(SearchEvaluator.parseDateHeader("garbage") == nil)
    }

    @Test func sizes() {
        let sizes = Self.messages.map(\.count)
        #expect(sizes[3] == sizes.max() && sizes[0] == sizes.min())
        #expect(search("LARGER \(sizes[3] - 1)") == [4])
        #expect(search("LARGER \(sizes[3])") == [])
        #expect(search("SMALLER \(sizes[0] + 1)") == [1])
        #expect(search("SMALLER \(sizes[0])") == [])
        #expect(search("LARGER 0 SMALLER 100000") == [1, 2, 3, 4])
    }

    @Test func messageNumberSets() {
        #expect(search("2:3") == [2, 3])
        #expect(search("*") == [4])
        #expect(search("3:*") == [3, 4])
        #expect(search("4:2") == [2, 3, 4])
        #expect(search("1,4") == [1, 4])
        #expect(search("5") == [])
        #expect(search("$", saved: [7, 12]) == [2, 4])
    }

    @Test func uidSets() {
        #expect(search("UID 7:8") == [2, 3])
        #expect(search("UID 8:*") == [3, 4])
        // RFC 3501 §6.4.8: "100:*" is "12:100" when 12 is the largest UID.
        #expect(search("UID 100:*") == [4])
        #expect(search("UID 1:2") == [])
        #expect(search("UID 3,12") == [1, 4])
        #expect(search("UID $", saved: [3]) == [1])
    }

    @Test func orNotAndNesting() {
        #expect(search("OR SEEN FLAGGED") == [1, 2])
        #expect(search("NOT OR SEEN FLAGGED") == [3, 4])
        #expect(search("OR (SEEN ANSWERED) (DELETED DRAFT)") == [1, 3])
        #expect(search("NOT (DELETED DRAFT)") == [1, 2, 4])
        #expect(search("NOT NOT SEEN") == [1])
        #expect(search("OR OR SEEN DELETED FLAGGED") == [1, 2, 3])
        #expect(search("UNSEEN OR 1:2 UID 12") == [2, 4])
        #expect(search("OR SUBJECT hello NOT (OR FROM anna BODY softbreak)") == [1, 4])
    }

    @Test func modSeqOlderYounger() {
        #expect(search("MODSEQ 9") == [2, 4])
        #expect(search("MODSEQ 13") == [])
        // now is 14 Nov 2023 22:13:20 UTC.
        #expect(search("YOUNGER 10000") == [2, 4])
        #expect(search("OLDER 10000") == [1, 3])
        #expect(SearchEvaluator.usesModSeq(.not(.or(.seen, .modSeq(1, entry: nil, entryType: nil)))))
        #expect(!SearchEvaluator.usesModSeq(.and([.seen, .larger(3)])))
    }

    @Test func headerKeysMatchDecodedText() {
        #expect(search("SUBJECT hello") == [1])
        #expect(search("CHARSET UTF-8 SUBJECT \(lit("Grüße"))") == [2])
        #expect(search("CHARSET UTF-8 SUBJECT \(lit("GRÜSSE AUS KÖLN"))") == [])   // no full case folding (ß ≠ SS)
        #expect(search("CHARSET UTF-8 SUBJECT \(lit("GRÜßE AUS KÖLN"))") == [2])
        #expect(search("CHARSET UTF-8 SUBJECT \(lit("“quoted” €uro"))") == [3])   // Windows-1252 Q
        #expect(search("SUBJECT \"folded subject line\"") == [4])               // unfolded, tab as space
        #expect(search("SUBJECT Gr=C3") == [])                                    // not the raw words
        // Address headers: display name (decoded) and address.
        #expect(search("CHARSET UTF-8 FROM \(lit("jörg müller"))") == [2])
        #expect(search("FROM joerg@example.de") == [2])
        #expect(search("FROM bob") == [1])
        #expect(search("CHARSET UTF-8 TO \(lit("ÉLODÍE"))") == [2])
        #expect(search("TO bob@example.net") == [3])
        #expect(search("CC carol") == [4])
        #expect(search("BCC SECRET@example") == [4])
        // An unknown charset is matched as written.
        #expect(search("HEADER X-Label \"=?koi8-r?q?=F0\"") == [1])
    }

    @Test func headerKeyWithEmptyStringMeansTheFieldExists() {
        #expect(search("HEADER X-Empty \"\"") == [4])
        #expect(search("HEADER x-empty \"\"") == [4])
        #expect(search("HEADER X-Missing \"\"") == [])
        #expect(search("HEADER Subject \"\"") == [1, 2, 3, 4])
        #expect(search("HEADER Date \"\"") == [1, 2, 3])
        #expect(search("SUBJECT \"\"") == [1, 2, 3, 4])
        #expect(search("CC \"\"") == [4])
    }

    @Test func bodySearchesDecodedTextParts() {
        // base64 UTF-8 (text/plain) and QP UTF-8 (text/html) of the alternative.
        #expect(search("CHARSET UTF-8 BODY \(lit("schöne grüße"))") == [2])
        #expect(search("CHARSET UTF-8 BODY \(lit("οδος"))") == [2])                  // final sigma folded
        #expect(search("BODY softbreak") == [2])                                  // QP soft line break
        #expect(search("BODY U2Now7Zu") == [])                                    // not the base64 text
        // QP Latin-1 part, and 8-bit Latin-1 without encoding.
        #expect(search("CHARSET UTF-8 BODY \(lit("CAFÉ CRÈME"))") == [3])
        #expect(search("BODY Caf=E9") == [])
        #expect(search("CHARSET UTF-8 BODY \(lit("grüße aus münchen"))") == [4])
        // Grüße is also in the PDF attachment of message 3: attachments are not searched.
        #expect(search("CHARSET UTF-8 BODY \(lit("grüße"))") == [2, 4])
        #expect(search("BODY attachmentsecret") == [])
        #expect(search("TEXT attachmentsecret") == [])
        // The forwarded message: its header and body are body text of the outer one.
        #expect(search("BODY \"nested needle\"") == [3])
        #expect(search("BODY inner@example.com") == [3])
        #expect(search("CHARSET UTF-8 BODY \(lit("€ inner"))") == [3])               // ISO-8859-15 B word
        // BODY does not look at the top-level header.
        #expect(search("BODY Hello") == [])
        #expect(search("BODY \"\"") == [1, 2, 3, 4])
    }

    @Test func textSearchesHeaderAndBody() {
        #expect(search("TEXT Hello") == [1])                                     // header
        #expect(search("TEXT \"hi there\"") == [1])                              // body
        #expect(search("CHARSET UTF-8 TEXT \(lit("kÖln"))") == [2])                 // decoded header
        #expect(search("TEXT \"subject: hello\"") == [1])                        // field name too
        #expect(search("TEXT filler") == [4])
        #expect(search("TEXT \"string not in mailbox\"") == [])
    }

    @Test func contentIsReadOnlyWhenNeededAndOncePerMessage() {
        let loads = Loads()
        #expect(search("OR SEEN (FLAGGED LARGER 1) UID 1:*", loads: loads) == [1, 2])
        #expect(loads.count == 0)
        #expect(search("SUBJECT e BODY e TEXT e FROM e HEADER Date 20 SENTSINCE 1-Jan-2000", loads: loads) == [1, 2, 3])
        #expect(loads.count == 4)
        #expect(SearchEvaluator.needsContent(.or(.seen, .not(.sentOn(IMAPDate(year: 2000, month: 1, day: 1))))))
        #expect(!SearchEvaluator.needsContent(.and([.seen, .uid(.ranges([SequenceRange(1, nil)]))])))
    }

    @Test func goneMessagesMatchNoContentKey() {
        let evaluator = SearchEvaluator(mailbox: Self.mailbox(), saved: [], zoneMinutes: 0, now: 0, load: { _ in nil })
        #expect(!evaluator.matches(.subject(""), at: 0))
        #expect(evaluator.matches(.not(.body("x")), at: 0))
        #expect(evaluator.matches(.seen, at: 0))
    }
}
