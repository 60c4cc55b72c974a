// MailboxPattern: `*` and `%` (RFC 3501 §6.3.8), the reference joined to the pattern,
// INBOX in any case, hierarchy levels, and no blow-up on many wildcards.
import Testing
@testable import IMAP

@Suite struct MailboxPatternTests {
    static let names = ["INBOX", "INBOX/Receipts", "INBOX/Receipts/2024", "Archive", "Archive/2023", "Archive/2024",
                        "Archive/2024/Q1", "Sent", "Drafts", "Trash", "Inboxes", "Grüße/Köln"]

    func list(_ pattern: String) -> [String] { list("", pattern) }

    func list(_ reference: String, _ pattern: String) -> [String] {
        let matcher = MailboxPattern(reference: reference, pattern: pattern)
        return Self.names.filter(matcher.matches)
    }

    @Test func starMatchesEverythingBelow() {
        #expect(list("*") == Self.names)
        #expect(list("Archive*") == ["Archive", "Archive/2023", "Archive/2024", "Archive/2024/Q1"])
        #expect(list("Archive/*") == ["Archive/2023", "Archive/2024", "Archive/2024/Q1"])
        #expect(list("*/2024") == ["INBOX/Receipts/2024", "Archive/2024"])
        #expect(list("*2*4*") == ["INBOX/Receipts/2024", "Archive/2024", "Archive/2024/Q1"])
        #expect(list("*s") == ["INBOX/Receipts", "Drafts", "Inboxes"])
    }

    @Test func percentStopsAtTheDelimiter() {
        #expect(list("%") == ["INBOX", "Archive", "Sent", "Drafts", "Trash", "Inboxes"])
        #expect(list("Archive/%") == ["Archive/2023", "Archive/2024"])
        #expect(list("%/%") == ["INBOX/Receipts", "Archive/2023", "Archive/2024", "Grüße/Köln"])
        #expect(list("%/2024") == ["Archive/2024"])
        #expect(list("A%e") == ["Archive"])
        #expect(list("%%") == list("%"))
        #expect(list("%*") == list("*"))
    }

    @Test func exactNamesAndNoMatch() {
        #expect(list("Sent") == ["Sent"])
        #expect(list("sent") == [])                      // only INBOX is case-insensitive
        #expect(list("Nope") == [])
        #expect(list("Archive/2024/") == [])
        #expect(list("Grüße/%") == ["Grüße/Köln"])
        #expect(list("") == [])                          // LIST "" "" is answered separately
    }

    @Test func inboxInAnyCase() {
        #expect(list("inbox") == ["INBOX"])
        #expect(list("InBoX") == ["INBOX"])
        #expect(list("inbox/%") == ["INBOX/Receipts"])
        #expect(list("inbox/receipts") == [])            // only the INBOX component folds
        #expect(list("in*") == ["INBOX", "INBOX/Receipts", "INBOX/Receipts/2024"])   // "Inboxes" is not INBOX
        #expect(list("In*") == ["INBOX", "INBOX/Receipts", "INBOX/Receipts/2024", "Inboxes"])
        #expect(list("inbox*") == ["INBOX", "INBOX/Receipts", "INBOX/Receipts/2024"])
        #expect(list("INBOXES") == [])                   // "Inboxes" is not INBOX
    }

    @Test func referenceIsPrefixed() {
        #expect(list("Archive/", "%") == ["Archive/2023", "Archive/2024"])
        #expect(list("Archive/", "*") == ["Archive/2023", "Archive/2024", "Archive/2024/Q1"])
        #expect(list("Archive", "/2023") == ["Archive/2023"])
        #expect(list("inbox/", "%") == ["INBOX/Receipts"])
        #expect(list("Nope/", "*") == [])
    }

    @Test func manyWildcardsStayCheap() {
        // Backtracking would try ~C(400, 20) ways to place these stars.
        let pattern = String(repeating: "*a", count: 20) + "b"
        let name = String(repeating: "a", count: 400)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(!MailboxPattern(reference: "", pattern: pattern).matches(name))
            #expect(MailboxPattern(reference: "", pattern: pattern).matches(name + "b"))
        }
        #expect(elapsed < .seconds(2))
    }

    @Test func wildcardsAreReported() {
        #expect(!MailboxPattern(reference: "", pattern: "a/b").hasWildcard)
        #expect(MailboxPattern(reference: "a/", pattern: "*").hasWildcard && !MailboxPattern(reference: "a/", pattern: "*").hasPercent)
        #expect(MailboxPattern(reference: "", pattern: "a/%").hasPercent)
    }
}
