import Testing
@testable import MailCore

@Suite struct HeaderTextTests {
    @Test func controlsNeverEndAHeaderLine() {
        #expect(HeaderText.line("X-Test", "a\rFrom: ceo@bank.test\nb\u{0}c") == "X-Test: a From: ceo@bank.test b c\r\n")
        #expect(HeaderText.line("Bad\r\nName", "v") == "Bad--Name: v\r\n")
        #expect(HeaderText.line("Received", "from a", continuations: ["by b\r\nX: y"]) == "Received: from a\r\n\tby b  X: y\r\n")
        #expect(HeaderText.value("caf\u{E9}") == "caf?")
        #expect(HeaderText.value("caf\u{E9}", allowUTF8: true) == "caf\u{E9}")
        #expect(HeaderText.value(String(repeating: "x", count: 2000)).utf8.count == HeaderText.maxValueLength + 3)
        #expect(HeaderText.returnPath("a@b.test") == "Return-Path: <a@b.test>\r\n")
        #expect(HeaderText.returnPath("") == "Return-Path: <>\r\n")
    }

    @Test func commentTextCannotCloseTheComment() {
        #expect(HeaderText.commentText("x) by evil (y\\") == "x\\) by evil \\(y\\\\")
    }
}
