// DataReader against a byte-at-a-time reference decoder: random messages built from
// the pieces that matter (dots at line starts, bare CR and LF, long lines, the end
// marker), random limits, fed in random chunk sizes. Same message, size, problem and
// end position as the reference, whatever the chunking.
import Testing
import TestSupport
@testable import SMTP

/// The RFC 5321 DATA decoding one byte at a time, written for clarity, not speed.
private struct ReferenceDataReader {
    enum State { case lineStart, middle, carriageReturn, dot, dotCarriageReturn }
    let maxSize: Int
    let maxLineLength: Int
    var message: [UInt8] = []
    var receivedSize = 0
    var problem: DataReader.Problem?
    var state = State.lineStart
    var lineLength = 0

    /// Returns true when `byte` completed CRLF.CRLF.
    mutating func feed(_ byte: UInt8) -> Bool {
        switch state {
        case .lineStart:
            if byte == 0x2E { state = .dot; lineLength = 0 } else { content(byte) }  // RFC 5321 §4.5.3.1.6: the stuffing dot is not counted
        case .dot:
            if byte == 0x0D { state = .dotCarriageReturn } else { content(byte) }
        case .dotCarriageReturn:
            if byte == 0x0A { return true }
            flag(.bareLineEnding); append(0x0D); content(byte)
        case .carriageReturn:
            if byte == 0x0A {
                append(0x0D); append(0x0A)
                if lineLength + 2 > maxLineLength { flag(.lineTooLong) }
                lineLength = 0
                state = .lineStart
            } else {
                flag(.bareLineEnding); append(0x0D); content(byte)
            }
        case .middle:
            content(byte)
        }
        return false
    }

    mutating func content(_ byte: UInt8) {
        switch byte {
        case 0x0D: state = .carriageReturn
        case 0x0A: flag(.bareLineEnding); append(byte); lineLength = 0; state = .middle
        default: append(byte); lineLength += 1; state = .middle
        }
    }

    mutating func append(_ byte: UInt8) {
        receivedSize += 1
        if receivedSize > maxSize { problem = .tooLarge; message = []; return }
        message.append(byte)
    }

    mutating func flag(_ found: DataReader.Problem) { if problem == nil { problem = found } }
}

private let pieces: [[UInt8]] = ["a", "Subject: hi", "x", ".", "..", "\r\n", "\r", "\n", "\r\n.", ".\r\n", "\r\n\r\n",
                                 String(repeating: "y", count: 30), String(repeating: "z", count: 120)].map { Array($0.utf8) }

@Test func matchesTheByteAtATimeDecoderForAnyInputAndChunking() {
    var random = SeededGenerator(seed: 20261127)
    for round in 0..<3000 {
        var input: [UInt8] = []
        for _ in 0..<Int.random(in: 0...40, using: &random) { input += pieces.randomElement(using: &random)! }
        if round % 3 != 0 { input += Array("\r\n.\r\n".utf8) }
        input += Array("NOOP\r\n".utf8)  // what follows the end is not consumed
        let maxLineLength = [8, 32, 1000].randomElement(using: &random)!
        let maxSize = [40, 200, 1 << 20].randomElement(using: &random)!

        var reference = ReferenceDataReader(maxSize: maxSize, maxLineLength: maxLineLength)
        var referenceEnd: Int?
        for (offset, byte) in input.enumerated() where reference.feed(byte) {
            referenceEnd = offset + 1
            break
        }

        var reader = DataReader(maxSize: maxSize, maxLineLength: maxLineLength)
        var buffer: [UInt8] = []
        var consumed = 0
        var fed = 0
        var end: Int?
        while fed < input.count && end == nil {
            let chunk = min(Int.random(in: 1...64, using: &random), input.count - fed)
            buffer += input[fed..<(fed + chunk)]
            fed += chunk
            var start = consumed
            if reader.feed(buffer, start: &start) { end = start }
            #expect(start == (end ?? buffer.count), "a feed consumes everything up to the end marker")
            consumed = start
        }
        #expect(end == referenceEnd, "round \(round): end position")
        #expect(reader.message == reference.message, "round \(round): message")
        #expect(reader.receivedSize == reference.receivedSize, "round \(round): size")
        #expect(reader.problem == reference.problem, "round \(round): problem")
        if reader.message != reference.message || end != referenceEnd { return }
    }
}

@Test func plainLinesAreCopiedWholeAndAStuffedDotIsRemoved() {
    var reader = DataReader(maxSize: 1 << 20, maxLineLength: 1000)
    let input = Array("one\r\ntwo\r\n..dot\r\nthree\r\n.\r\n".utf8)
    var start = 0
    #expect(reader.feed(input, start: &start))
    #expect(start == input.count)
    #expect(reader.message == Array("one\r\ntwo\r\n.dot\r\nthree\r\n".utf8))
    #expect(reader.problem == nil)
}
