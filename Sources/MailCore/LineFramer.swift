// Bounded line framing for the line-oriented protocols (SMTP commands, POP3 commands,
// SASL responses). Bytes in; complete lines (terminator removed) out. A line longer
// than the bound is dropped as it arrives and reported once, when its end is seen, so
// the buffer never grows past the bound and the session answers in step with the
// client. A line ended by a bare LF is reported as such: SMTP refuses it (RFC 5321
// §2.3.8), a lenient protocol may take it as a line. A CR that is not followed by LF
// stays inside the line; the command parsers refuse it with the other controls.

public struct LineFramer: Sendable {
    public enum Line: Equatable, Sendable {
        case line([UInt8])
        /// A line that ended with LF alone (only when `acceptsBareLF` is false).
        case bareLineFeed([UInt8])
        /// A line past `maxLength`, with its first bytes (enough to tell which command it was).
        case tooLong(prefix: [UInt8])
    }

    /// How many leading bytes of an over-long line are kept for `.tooLong`.
    public static let keptPrefix = 8

    /// Longest line accepted, terminator included.
    public let maxLength: Int
    /// Whether a bare LF ends a line like CRLF does.
    public let acceptsBareLF: Bool
    private var discarding = false
    private var discardedPrefix: [UInt8] = []

    public init(maxLength: Int, acceptsBareLF: Bool) {
        precondition(maxLength >= 2, "a line needs room for its terminator")
        self.maxLength = maxLength
        self.acceptsBareLF = acceptsBareLF
    }

    /// Takes the next line out of `buffer[start...]`, advancing `start`. Returns nil when
    /// more bytes are needed.
    public mutating func next(_ buffer: [UInt8], start: inout Int) -> Line? {
        let end = buffer.count
        var index = start
        while index < end {
            if buffer[index] == 10 {
                let lineStart = start
                start = index + 1
                if discarding {
                    discarding = false
                    defer { discardedPrefix = [] }
                    return .tooLong(prefix: discardedPrefix)
                }
                if index + 1 - lineStart > maxLength {
                    return .tooLong(prefix: Array(buffer[lineStart..<min(index, lineStart + Self.keptPrefix)]))
                }
                if index > lineStart && buffer[index - 1] == 13 {
                    return .line(Array(buffer[lineStart..<(index - 1)]))
                }
                let line = Array(buffer[lineStart..<index])
                return acceptsBareLF ? .line(line) : .bareLineFeed(line)
            }
            index += 1
        }
        if end - start > maxLength {
            // Drop what we have; report the line when its end arrives.
            discarding = true
            discardedPrefix = Array(buffer[start..<min(end, start + Self.keptPrefix)])
            start = end
        }
        return nil
    }
}
