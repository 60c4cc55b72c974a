import Testing
@testable import Delivery

@Suite struct ClientCommandTests {
    @Test func xtextRoundTrips() {
        #expect(XText.encode("a+b=c d\u{E9}") == "a+2Bb+3Dc+20d+C3+A9")
        #expect(XText.decode("a+2Bb+3Dc+20d+C3+A9") == "a+b=c d\u{E9}")
        #expect(XText.decode("bad+2") == nil)
        #expect(XText.decode("bad+ZZ") == nil)
        #expect(XText.decode("a=b") == nil)
        #expect(!XText.isValid("") && !XText.isValid("has space") && XText.isValid("rfc822;x+40y"))
    }

    @Test func commandsUseSendmailSpelling() {
        #expect(ClientCommand.mailFrom("", parameters: []) == "MAIL From:<>")
        #expect(ClientCommand.rcptTo("x@example.net", parameters: ["NOTIFY=NEVER"]) == "RCPT To:<x@example.net> NOTIFY=NEVER")
        #expect(!ClientCommand.isSafePath("a b@c") && !ClientCommand.isSafePath("a>@c") && ClientCommand.isSafePath("j\u{F6}rg@c"))
    }
}
