import Testing
@testable import Delivery

@Suite struct MessageEncodingTests {
    func block(_ text: String) -> String {
        String(decoding: MessageEncoding.dataBlock(Array(text.utf8)), as: UTF8.self)
    }

    @Test func dotStuffsEveryLineStartingWithADot() {
        #expect(block(".first\r\nmid.dle\r\n.\r\n..two\r\n") == "..first\r\nmid.dle\r\n..\r\n...two\r\n.\r\n")
    }

    @Test func terminatesAndNormalisesLineEnds() {
        #expect(block("a\nb\r\nc") == "a\r\nb\r\nc\r\n.\r\n")
        #expect(block("") == ".\r\n")
        #expect(block("x\r\n") == "x\r\n.\r\n")
        // A smuggling attempt in the content cannot end DATA early.
        #expect(block("x\n.\nMAIL FROM:<e@x>\r\n") == "x\r\n..\r\nMAIL FROM:<e@x>\r\n.\r\n")
    }

    @Test func detectsEightBitContent() {
        #expect(!MessageEncoding.hasEightBit(Array("plain\r\n".utf8)))
        #expect(MessageEncoding.hasEightBit(Array("caf\u{E9}\r\n".utf8)))
    }

    @Test func dropsOnlyOurReturnPathLine() {
        let stored = Array("Return-Path: <a@b.test>\r\nReceived: x\r\n\r\nbody\r\n".utf8)
        #expect(MessageEncoding.strippingReturnPath(stored) == Array("Received: x\r\n\r\nbody\r\n".utf8))
        let other = Array("Received: x\r\nReturn-Path: <a@b>\r\n\r\n".utf8)
        #expect(MessageEncoding.strippingReturnPath(other) == other)
    }
}

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

@Suite struct ServerCapabilitiesTests {
    @Test func readsTheExtensionsOfAnEHLOReply() {
        let reply = ServerReply(code: 250, lines: ["mx.example.net Hello", "PIPELINING", "SIZE 52428800", "8BITMIME",
                                                   "smtputf8", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "CHUNKING",
                                                   "AUTH PLAIN login", "AUTH=CRAM-MD5", "X-UNKNOWN foo"])
        let caps = ServerCapabilities(ehlo: reply)
        #expect(caps.pipelining && caps.eightBitMIME && caps.smtpUTF8 && caps.dsn && caps.startTLS && caps.chunking)
        #expect(caps.enhancedStatusCodes && caps.size == 52_428_800)
        #expect(caps.authMechanisms == ["PLAIN", "LOGIN", "CRAM-MD5"])
    }

    @Test func greetingLineIsNotAnExtensionAndSizeMayBeBare() {
        let caps = ServerCapabilities(ehlo: ServerReply(code: 250, lines: ["PIPELINING", "SIZE"]))
        #expect(!caps.pipelining && caps.size == 0)
        #expect(ServerCapabilities(ehlo: ServerReply(code: 250, lines: ["mx", "SIZE -5"])).size == 0)
    }
}
