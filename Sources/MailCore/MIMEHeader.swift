// Header sections of a stored message or MIME part, over bytes (RFC 5322 §2.2,
// RFC 2045): each field with its raw byte range (for HEADER.FIELDS, which returns
// fields exactly as stored) and its unfolded value. Lines end in CRLF or a bare LF;
// a line starting with SP/HT continues the field before it; lines without a colon
// are skipped. Bounded: at most `maxFields` fields are indexed.

public struct MIMEHeaderField: Sendable {
    /// The whole field: name, value, continuation lines and the final line terminator.
    public var range: Range<Int>
    public var name: String
    public var valueRange: Range<Int>
}

public struct MIMEHeader: Sendable {
    public var fields: [MIMEHeaderField]
    /// From the first header byte up to and including the empty line (if any).
    public var range: Range<Int>
    /// Where the body starts.
    public var bodyStart: Int

    public static let maxFields = 1000

    /// Scans the header section that starts at `start` and ends at the first empty line
    /// (or `end`).
    public init(_ bytes: [UInt8], start: Int, end: Int) {
        var fields: [MIMEHeaderField] = []
        var index = start
        var bodyStart = end
        while index < end {
            // The line [index, lineEnd) and the next line's start.
            var lineEnd = index
            while lineEnd < end && bytes[lineEnd] != 10 { lineEnd += 1 }
            let next = lineEnd < end ? lineEnd + 1 : end
            var contentEnd = lineEnd
            if contentEnd > index && bytes[contentEnd - 1] == 13 { contentEnd -= 1 }
            if contentEnd == index {
                bodyStart = next
                break
            }
            let first = bytes[index]
            if first == 32 || first == 9 {
                if !fields.isEmpty {
                    fields[fields.count - 1].range = fields[fields.count - 1].range.lowerBound..<next
                    fields[fields.count - 1].valueRange = fields[fields.count - 1].valueRange.lowerBound..<contentEnd
                }
            } else if let colon = bytes[index..<contentEnd].firstIndex(of: 58), fields.count < Self.maxFields {
                var nameEnd = colon
                while nameEnd > index && (bytes[nameEnd - 1] == 32 || bytes[nameEnd - 1] == 9) { nameEnd -= 1 }
                if nameEnd > index {
                    fields.append(MIMEHeaderField(range: index..<next, name: String(decoding: bytes[index..<nameEnd], as: UTF8.self),
                                                  valueRange: (colon + 1)..<contentEnd))
                }
            }
            index = next
            if index >= end { bodyStart = end }
        }
        self.fields = fields
        self.range = start..<bodyStart
        self.bodyStart = bodyStart
    }

    /// The first field named `name` (case-insensitive), unfolded and trimmed.
    public func value(_ name: String, in bytes: [UInt8]) -> String? {
        guard let field = fields.first(where: { $0.name.caseInsensitiveEquals(name) }) else { return nil }
        return Self.unfolded(bytes, field.valueRange)
    }

    /// The field's value with CR/LF removed and surrounding whitespace trimmed; 8-bit
    /// bytes that are not UTF-8 are read as ISO-8859-1.
    public static func unfolded(_ bytes: [UInt8], _ range: Range<Int>) -> String {
        var value = bytes[range].filter { $0 != 13 && $0 != 10 }
        while let last = value.last, last == 32 || last == 9 { value.removeLast() }
        var start = 0
        while start < value.count && (value[start] == 32 || value[start] == 9) { start += 1 }
        return text(value[start...])
    }

    public static func text(_ bytes: ArraySlice<UInt8>) -> String {
        if let string = String(validating: bytes, as: UTF8.self) { return string }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}

extension String {
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return zip(utf8, other.utf8).allSatisfy { a, b in
            a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= 0x61 && (a | 0x20) <= 0x7a)
        }
    }
}
