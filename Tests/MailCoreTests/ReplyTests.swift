import Testing
@testable import MailCore

@Suite struct ReplyTests {
    @Test func multiLineWireForm() {
        let reply = Reply(code: 250, enhanced: nil, lines: ["mx.test", "SIZE 10485760", "8BITMIME"])
        #expect(reply.wire == "250-mx.test\r\n250-SIZE 10485760\r\n250 8BITMIME\r\n")
        #expect(Reply(550, "5.1.1", "No").wire == "550 5.1.1 No\r\n")
    }

    @Test func everyLineEndingInATextStartsANewReplyLine() {
        // A policy text echoing client input must not smuggle a raw CRLF onto the wire.
        let reply = Reply(550, "5.7.1", "first\r\n250 2.0.0 fake\nthird\rfourth")
        #expect(reply.lines == ["first", "250 2.0.0 fake", "third", "fourth"])
        #expect(reply.wire == "550-5.7.1 first\r\n550-5.7.1 250 2.0.0 fake\r\n550-5.7.1 third\r\n550 5.7.1 fourth\r\n")
        #expect(Reply(code: 451, enhanced: nil, lines: ["a\r\nb"]).lines == ["a", "b"])
    }
}
