import Testing
@testable import MailCore

@Suite struct LineFramerTests {
    func lines(_ chunks: [String], maxLength: Int = 16, acceptsBareLF: Bool = true) -> [LineFramer.Line] {
        var framer = LineFramer(maxLength: maxLength, acceptsBareLF: acceptsBareLF)
        var buffer: [UInt8] = []
        var start = 0
        var result: [LineFramer.Line] = []
        for chunk in chunks {
            buffer.append(contentsOf: Array(chunk.utf8))
            while let line = framer.next(buffer, start: &start) { result.append(line) }
            #expect(buffer.count - start <= maxLength, "never keeps more than one bounded line")
        }
        return result
    }

    @Test func crlfAndBareLF() {
        #expect(lines(["STAT\r\nNOOP\nQUIT\r\n"]) == [.line(Array("STAT".utf8)), .line(Array("NOOP".utf8)), .line(Array("QUIT".utf8))])
        #expect(lines(["\r\n"]) == [.line([])])
    }

    @Test func bareLFReportedWhenNotAccepted() {
        #expect(lines(["NOOP\nQUIT\r\n\n"], acceptsBareLF: false)
                == [.bareLineFeed(Array("NOOP".utf8)), .line(Array("QUIT".utf8)), .bareLineFeed([])])
    }

    @Test func bareCRStaysInsideTheLine() {
        #expect(lines(["EHLO a\rb\r\n"], acceptsBareLF: false) == [.line(Array("EHLO a\rb".utf8))])
        #expect(lines(["A\r\r\n"]) == [.line(Array("A\r".utf8))])
    }

    @Test func splitAcrossReads() {
        #expect(lines(["ST", "AT\r", "\nNO", "OP\r\n"]) == [.line(Array("STAT".utf8)), .line(Array("NOOP".utf8))])
        #expect(lines(["ST", "AT\r", "\n"], acceptsBareLF: false) == [.line(Array("STAT".utf8))])
    }

    @Test func longLineIsReportedOnceAndReadingContinues() {
        let long = String(repeating: "x", count: 100)
        #expect(lines([long, long, "\r\nSTAT\r\n"]) == [.tooLong(prefix: Array("xxxxxxxx".utf8)), .line(Array("STAT".utf8))])
        #expect(lines([String(repeating: "y", count: 15) + "\r\nOK\r\n"]) == [.tooLong(prefix: Array("yyyyyyyy".utf8)), .line(Array("OK".utf8))])
        #expect(lines(["AUTH PLAIN " + long + "\r\n"]) == [.tooLong(prefix: Array("AUTH PLA".utf8))])
        #expect(lines([String(repeating: "y", count: 14) + "\r\n"]) == [.line(Array(String(repeating: "y", count: 14).utf8))])
        #expect(lines([long + "\n"], acceptsBareLF: false) == [.tooLong(prefix: Array("xxxxxxxx".utf8))])
    }
}
