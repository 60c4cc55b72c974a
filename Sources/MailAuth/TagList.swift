// RFC 6376 §3.2 tag=value lists, the syntax of DKIM-Signature, DKIM key records,
// ARC-Seal, ARC-Message-Signature and (RFC 7489 §6.4) DMARC records. One parser for
// all of them: bounded, and strict where the RFC is (a repeated tag is an error).

public struct TagList: Sendable, Equatable {
    /// Tags in the order written; names are case-sensitive (RFC 6376 §3.2).
    public private(set) var tags: [(name: String, value: String)]

    /// Why a tag list was refused.
    public enum ParseError: Error, Equatable, Sendable {
        case tooLong
        case tooManyTags
        case malformedTag(String)
        case duplicateTag(String)
    }

    /// The most bytes and tags accepted: far above any real record or signature.
    public static let maxLength = 64 * 1024
    public static let maxTags = 64

    public init(tags: [(name: String, value: String)]) { self.tags = tags }

    /// Parses `text`. Whitespace (SP, HT, CRLF folding) around names and values is
    /// dropped; inside a value it is kept as written (callers strip it where the RFC
    /// says it is ignored, e.g. `b=` and `p=`). An empty list element (a trailing
    /// ";") is allowed.
    public init(parsing text: String) throws(ParseError) {
        guard text.utf8.count <= Self.maxLength else { throw .tooLong }
        // On the UTF-8 bytes: every signature and key record of every message comes
        // through here. Separators and whitespace are ASCII, so byte offsets are safe
        // cut points.
        var tags: [(name: String, value: String)] = []
        let bytes = Array(text.utf8)
        var elementStart = 0
        while elementStart <= bytes.count {
            var elementEnd = elementStart
            while elementEnd < bytes.count, bytes[elementEnd] != UInt8(ascii: ";") { elementEnd += 1 }
            let element = Self.trimmed(bytes, elementStart..<elementEnd)
            elementStart = elementEnd + 1
            if element.isEmpty { continue }
            guard let equals = bytes[element].firstIndex(of: UInt8(ascii: "=")) else {
                throw .malformedTag(Self.preview(bytes, element))
            }
            let nameRange = Self.trimmed(bytes, element.lowerBound..<equals)
            let valueRange = Self.trimmed(bytes, (equals + 1)..<element.upperBound)
            guard Self.isTagName(bytes[nameRange]) else { throw .malformedTag(Self.preview(bytes, element)) }
            let name = String(decoding: bytes[nameRange], as: UTF8.self)
            guard !tags.contains(where: { $0.name == name }) else { throw .duplicateTag(name) }
            guard tags.count < Self.maxTags else { throw .tooManyTags }
            tags.append((name, String(decoding: bytes[valueRange], as: UTF8.self)))
        }
        self.tags = tags
    }

    private static func preview(_ bytes: [UInt8], _ range: Range<Int>) -> String {
        String(String(decoding: bytes[range], as: UTF8.self).prefix(40))
    }

    private static func isFWSByte(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 || byte == 10 }

    private static func trimmed(_ bytes: [UInt8], _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, isFWSByte(bytes[lower]) { lower += 1 }
        while upper > lower, isFWSByte(bytes[upper - 1]) { upper -= 1 }
        return lower..<upper
    }

    /// ALPHA *ALNUMPUNC (ALNUMPUNC = ALPHA / DIGIT / "_").
    private static func isTagName(_ name: ArraySlice<UInt8>) -> Bool {
        guard let first = name.first, isLetter(first) else { return false }
        return name.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) }

    /// The value of tag `name`, if present.
    public subscript(name: String) -> String? {
        tags.first(where: { $0.name == name })?.value
    }

    public static func == (lhs: TagList, rhs: TagList) -> Bool {
        lhs.tags.count == rhs.tags.count && zip(lhs.tags, rhs.tags).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// `value` without any whitespace (folding included): for base64 data such as
    /// `b=`, `bh=` and `p=` (RFC 6376 §3.5, "whitespace is ignored").
    public static func removingWhitespace(_ value: String) -> String {
        let bytes = value.utf8
        guard bytes.contains(where: { $0 == 32 || $0 == 9 || $0 == 13 || $0 == 10 }) else { return value }
        return String(decoding: bytes.filter { !($0 == 32 || $0 == 9 || $0 == 13 || $0 == 10) }, as: UTF8.self)
    }

}

extension Unicode.Scalar {
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
