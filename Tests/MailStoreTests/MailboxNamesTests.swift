import Testing
@testable import MailStore

@Suite struct MailboxNamesTests {
    @Test func inboxIsCaseInsensitiveAsNameAndFirstLevel() throws {
        #expect(MailboxNames.canonical("inBox") == "INBOX")
        #expect(MailboxNames.canonical("inbox/Sub") == "INBOX/Sub")
        #expect(MailboxNames.canonical("inboxes") == "inboxes")
        #expect(MailboxNames.canonical("Work/inbox") == "Work/inbox")
        #expect(MailboxNames.canonical("ınbox") == "ınbox")
    }

    @Test func hierarchyIsByteExact() {
        #expect(MailboxNames.isSelfOrDescendant("a/b", of: "a"))
        #expect(MailboxNames.isSelfOrDescendant("a", of: "a"))
        #expect(!MailboxNames.isSelfOrDescendant("ab", of: "a"))
        // "é" precomposed vs decomposed: equal as Swift Strings, different names here.
        #expect(!MailboxNames.isSelfOrDescendant("caf\u{E9}", of: "cafe\u{301}"))
    }

    @Test func validationBoundsNames() {
        expectError(.invalid) { _ = try MailboxNames.validated("a/") }
        expectError(.invalid) { _ = try MailboxNames.validated(String(repeating: "é", count: 101)) }   // 202 bytes
        #expect((try? MailboxNames.validated(String(repeating: "é", count: 100))) != nil)
    }
}
