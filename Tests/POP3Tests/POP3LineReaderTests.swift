import Testing
@testable import POP3

@Suite struct POP3LineReaderTests {
    func lines(_ chunks: [String], maxLength: Int = 16) -> [POP3LineReader.Line] {
        var reader = POP3LineReader(maxLength: maxLength)
        var buffer: [UInt8] = []
        var start = 0
        var result: [POP3LineReader.Line] = []
        for chunk in chunks {
            buffer.append(contentsOf: Array(chunk.utf8))
            while let line = reader.next(buffer, start: &start) { result.append(line) }
            #expect(buffer.count - start <= maxLength, "never keeps more than one bounded line")
        }
        return result
    }

    @Test func crlfAndBareLF() {
        #expect(lines(["STAT\r\nNOOP\nQUIT\r\n"]) == [.line(Array("STAT".utf8)), .line(Array("NOOP".utf8)), .line(Array("QUIT".utf8))])
        #expect(lines(["\r\n"]) == [.line([])])
    }

    @Test func splitAcrossReads() {
        #expect(lines(["ST", "AT\r", "\nNO", "OP\r\n"]) == [.line(Array("STAT".utf8)), .line(Array("NOOP".utf8))])
    }

    @Test func longLineIsReportedOnceAndReadingContinues() {
        let long = String(repeating: "x", count: 100)
        #expect(lines([long, long, "\r\nSTAT\r\n"]) == [.tooLong, .line(Array("STAT".utf8))])
        #expect(lines([String(repeating: "y", count: 15) + "\r\nOK\r\n"]) == [.tooLong, .line(Array("OK".utf8))])
        #expect(lines([String(repeating: "y", count: 14) + "\r\n"]) == [.line(Array(String(repeating: "y", count: 14).utf8))])
    }
}
