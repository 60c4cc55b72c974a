import Testing
@testable import Delivery

@Suite struct ClientCommandTests {
    @Test func commandsUseSendmailSpelling() {
        #expect(ClientCommand.mailFrom("", parameters: []) == "MAIL From:<>")
        #expect(ClientCommand.rcptTo("x@example.net", parameters: ["NOTIFY=NEVER"]) == "RCPT To:<x@example.net> NOTIFY=NEVER")
        #expect(!ClientCommand.isSafePath("a b@c") && !ClientCommand.isSafePath("a>@c") && ClientCommand.isSafePath("j\u{F6}rg@c"))
    }
}
