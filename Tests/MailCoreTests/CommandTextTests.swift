import Testing
@testable import MailCore

@Suite struct CommandTextTests {
    @Test func controls() {
        #expect(CommandText.hasControlCharacters(Array("a\rb".utf8)))
        #expect(CommandText.hasControlCharacters(Array("a\u{7F}".utf8)))
        #expect(!CommandText.hasControlCharacters(Array("a\tb \u{E9}".utf8)))
        #expect(CommandText.escaped("a\r\nb\\") == "a\\x0D\\x0Ab\\x5C")
        #expect(CommandText.escaped("plain") == "plain")
    }
}
