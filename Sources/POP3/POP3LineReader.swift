// Bounded line framing for POP3 commands and SASL responses. Bytes in; complete
// lines (terminator removed) out. A line longer than the bound is dropped as it
// arrives and reported once when its end is seen, so the buffer never grows past the
// bound and the session answers "-ERR Line too long" in step with the client.
// (The same contract as SMTP's LineFramer; protocol modules do not import each other.)

public struct POP3LineReader: Sendable {
    public enum Line: Equatable, Sendable {
        case line([UInt8])
        case tooLong
    }

    /// Longest line accepted, terminator included.
    public let maxLength: Int
    private var discarding = false

    public init(maxLength: Int) {
        precondition(maxLength >= 2, "a line needs room for its terminator")
        self.maxLength = maxLength
    }

    /// Takes the next line out of `buffer[start...]`, advancing `start`. Returns nil when
    /// more bytes are needed. Accepts CRLF and a bare LF as terminator.
    public mutating func next(_ buffer: [UInt8], start: inout Int) -> Line? {
        let end = buffer.count
        var index = start
        while index < end {
            if buffer[index] == 10 {
                let lineStart = start
                start = index + 1
                if discarding { discarding = false; return .tooLong }
                if index + 1 - lineStart > maxLength { return .tooLong }
                var lineEnd = index
                if lineEnd > lineStart && buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
                return .line(Array(buffer[lineStart..<lineEnd]))
            }
            index += 1
        }
        if end - start > maxLength {
            // Drop what we have; report the line when its end arrives.
            discarding = true
            start = end
        }
        return nil
    }
}
