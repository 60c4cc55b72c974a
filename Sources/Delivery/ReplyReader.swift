// Client side of RFC 5321 §4.2: bytes from the server in, complete (possibly
// multi-line) replies out. Bounded: a line longer than `maxLineLength`, a reply with
// more than `maxLines` lines, or a line that is not "ddd[ -]text" is a protocol error,
// so a hostile server can neither grow our memory nor confuse the dialogue.

/// One reply as the server sent it: the code and each line's text (after "ddd-"/"ddd ").
/// An enhanced status code stays in the text: transcripts quote the server verbatim.
public struct ServerReply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
    }

    public var isPositive: Bool { code < 400 }
    public var isTemporary: Bool { (400..<500).contains(code) }
    public var isPermanent: Bool { code >= 500 }

    /// RFC 3463 code from the first line ("5.1.1"), or the class default ("5.0.0").
    public var enhancedStatus: String {
        if let first = lines.first, let status = EnhancedStatus.prefix(of: first),
           status.first == Character(String(code / 100)) {
            return status
        }
        return "\(code / 100).0.0"
    }

    /// One line: "550 MAILBOX NOT FOUND", multi-line replies joined with spaces.
    public var singleLine: String {
        let text = lines.map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }.joined(separator: " ")
        return text.isEmpty ? "\(code)" : "\(code) \(text)"
    }

    public var description: String { singleLine }
}

enum EnhancedStatus {
    /// "5.1.1" when `text` starts with class.subject.detail followed by a space or end.
    static func prefix(of text: String) -> String? {
        let candidate = text.prefix { $0 != " " }
        let parts = candidate.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let first = parts[0].first, "245".contains(first), parts[0].count == 1,
              parts[1].count >= 1, parts[1].count <= 3, parts[2].count >= 1, parts[2].count <= 3,
              parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigitChar) })
        else { return nil }
        return String(candidate)
    }
}

extension Character {
    var isASCIIDigitChar: Bool { isASCII && isNumber }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var view = Substring(self)
        while view.first == set { view.removeFirst() }
        while view.last == set { view.removeLast() }
        return String(view)
    }
}

public struct ReplyReader: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        case lineTooLong
        case tooManyLines
        case malformed(String)
    }

    /// RFC 5321 allows 512 octets per reply line; servers exceed it in practice.
    public var maxLineLength = 4096
    public var maxLines = 200

    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var partial: [String] = []
    private var partialCode: Int?

    public init(maxLineLength: Int = 4096, maxLines: Int = 200) {
        self.maxLineLength = maxLineLength
        self.maxLines = maxLines
    }

    /// True when bytes of an unfinished reply are held.
    public var hasPartialInput: Bool { readIndex < buffer.count || !partial.isEmpty }

    public mutating func feed(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete reply, nil when more bytes are needed.
    public mutating func next() throws(Failure) -> ServerReply? {
        while true {
            guard let newline = buffer[readIndex...].firstIndex(of: 10) else {
                if buffer.count - readIndex > maxLineLength { throw .lineTooLong }
                compact()
                return nil
            }
            var end = newline
            if end > readIndex && buffer[end - 1] == 13 { end -= 1 }
            let line = buffer[readIndex..<end]
            readIndex = newline + 1
            if newline + 1 - (line.startIndex) > maxLineLength + 2 { throw .lineTooLong }
            if let reply = try take(line) {
                compact()
                return reply
            }
        }
    }

    private mutating func take(_ line: ArraySlice<UInt8>) throws(Failure) -> ServerReply? {
        guard line.count >= 3, line.prefix(3).allSatisfy({ $0 >= 48 && $0 <= 57 }),
              (50...53).contains(line[line.startIndex]) else {
            throw .malformed(Self.printable(line))
        }
        let code = Int(line[line.startIndex] - 48) * 100 + Int(line[line.startIndex + 1] - 48) * 10
            + Int(line[line.startIndex + 2] - 48)
        var separator: UInt8 = 32
        var text = ""
        if line.count > 3 {
            separator = line[line.startIndex + 3]
            guard separator == 32 || separator == 45 else { throw .malformed(Self.printable(line)) }
            text = Self.printable(line.dropFirst(4))
        }
        if let partialCode, partialCode != code { throw .malformed(Self.printable(line)) }
        partial.append(text)
        if partial.count > maxLines { throw .tooManyLines }
        if separator == 45 {
            partialCode = code
            return nil
        }
        let reply = ServerReply(code: code, lines: partial)
        partial = []
        partialCode = nil
        return reply
    }

    private mutating func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > 16 * 1024 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }

    /// Reply text as printable text: UTF-8 kept, control characters and invalid bytes as "?".
    static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        return String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            (scalar.value < 32 || scalar.value == 127 || scalar == "\u{FFFD}") ? "?" : scalar
        }))
    }
}
