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
        // A bare CR never reaches the next hop: it ends its line like a bare LF.
        #expect(block("x\r.\rMAIL FROM:<e@x>\r\n") == "x\r\n..\r\nMAIL FROM:<e@x>\r\n.\r\n")
        #expect(block("Subject: a\rBcc: b\r\n\r\nend\r") == "Subject: a\r\nBcc: b\r\n\r\nend\r\n.\r\n")
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
