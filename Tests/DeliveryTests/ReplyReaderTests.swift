import Testing
@testable import Delivery

@Suite struct ReplyReaderTests {
    @Test func readsSingleAndMultiLineReplies() throws {
        var reader = ReplyReader()
        reader.feed(Array("220 mx.example.net ESMTP\r\n250-mx.example.net\r\n250-PIPELINING\r\n250 SIZE 1000\r\n".utf8))
        #expect(try reader.next() == ServerReply(code: 220, lines: ["mx.example.net ESMTP"]))
        #expect(try reader.next() == ServerReply(code: 250, lines: ["mx.example.net", "PIPELINING", "SIZE 1000"]))
        #expect(try reader.next() == nil)
    }

    @Test func waitsForTheLastLineAcrossReads() throws {
        var reader = ReplyReader()
        reader.feed(Array("250-first\r\n25".utf8))
        #expect(try reader.next() == nil)
        reader.feed(Array("0 last\n".utf8))
        #expect(try reader.next() == ServerReply(code: 250, lines: ["first", "last"]))
        #expect(!reader.hasPartialInput)
    }

    @Test func bareCodeAndControlCharacters() throws {
        var reader = ReplyReader()
        reader.feed(Array("354\r\n550 bad\u{7}text\r\n".utf8))
        #expect(try reader.next() == ServerReply(code: 354, lines: [""]))
        #expect(try reader.next()?.lines == ["bad?text"])
    }

    @Test func enhancedStatusComesFromTheTextOrTheClass() {
        #expect(ServerReply(code: 550, lines: ["5.1.1 <x@example.net>: no such user"]).enhancedStatus == "5.1.1")
        #expect(ServerReply(code: 550, lines: ["MAILBOX NOT FOUND"]).enhancedStatus == "5.0.0")
        #expect(ServerReply(code: 451, lines: ["5.1.1 inconsistent"]).enhancedStatus == "4.0.0")
        #expect(ServerReply(code: 250, lines: ["2.0.0 Ok: queued as X"]).enhancedStatus == "2.0.0")
        #expect(ServerReply(code: 550, lines: ["5.1.1x"]).enhancedStatus == "5.0.0")
    }

    @Test func singleLineJoinsMultiLineText() {
        #expect(ServerReply(code: 550, lines: ["first", " second "]).singleLine == "550 first second")
        #expect(ServerReply(code: 354, lines: [""]).singleLine == "354")
    }

    @Test func malformedLinesAreErrors() {
        for bad in ["hello\r\n", "25\r\n", "2500 x\r\n", "650 x\r\n", "250-a\r\n251 b\r\n", "250_x\r\n"] {
            var reader = ReplyReader()
            reader.feed(Array(bad.utf8))
            #expect(throws: ReplyReader.Failure.self, "\(bad)") { _ = try reader.next() }
        }
    }

    @Test func boundsLineLengthAndLineCount() {
        var reader = ReplyReader(maxLineLength: 100, maxLines: 5)
        reader.feed([UInt8](repeating: UInt8(ascii: "2"), count: 200))
        #expect(throws: ReplyReader.Failure.lineTooLong) { _ = try reader.next() }

        var long = ReplyReader(maxLineLength: 100, maxLines: 5)
        long.feed(Array(("250 " + String(repeating: "x", count: 150) + "\r\n").utf8))
        #expect(throws: ReplyReader.Failure.lineTooLong) { _ = try long.next() }

        var many = ReplyReader(maxLineLength: 100, maxLines: 5)
        many.feed(Array(String(repeating: "250-x\r\n", count: 10).utf8))
        #expect(throws: ReplyReader.Failure.tooManyLines) { _ = try many.next() }
    }
}
