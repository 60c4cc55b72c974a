// Bounded line framing for the SMTP command phase. Bytes in; complete lines out.
// A line longer than the bound is consumed up to its end and reported once, so an
// attacker cannot grow our buffer and the session can answer 500 5.5.2 in step.

public struct LineFramer: Sendable {
    public enum Line: Equatable, Sendable {
        case line([UInt8])
        case tooLong
    }

    public let maxLength: Int
    private var discarding = false

    public init(maxLength: Int) { self.maxLength = maxLength }

    /// Takes the next line out of `buffer[start...]`, advancing `start`. Returns nil when
    /// more bytes are needed. Accepts CRLF and, for commands, a bare LF terminator.
    public mutating func next(_ buffer: [UInt8], start: inout Int) -> Line? {
        let end = buffer.count
        var index = start
        while index < end {
            if buffer[index] == 10 {
                let lineStart = start
                start = index + 1
                if discarding { discarding = false; return .tooLong }
                var lineEnd = index
                if lineEnd > lineStart && buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
                if index + 1 - lineStart > maxLength { return .tooLong }
                return .line(Array(buffer[lineStart..<lineEnd]))
            }
            index += 1
        }
        if end - start > maxLength {
            // Drop what we have; remember to report the line when its end arrives.
            discarding = true
            start = end
        }
        return nil
    }
}
