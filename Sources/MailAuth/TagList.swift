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
        var tags: [(name: String, value: String)] = []
        var seen: Set<String> = []
        for element in text.split(separator: ";", omittingEmptySubsequences: false) {
            let trimmed = Self.trimFWS(Substring(element))
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else { throw .malformedTag(String(trimmed.prefix(40))) }
            let name = Self.trimFWS(trimmed[..<equals])
            let value = Self.trimFWS(trimmed[trimmed.index(after: equals)...])
            guard Self.isTagName(name) else { throw .malformedTag(String(trimmed.prefix(40))) }
            guard seen.insert(String(name)).inserted else { throw .duplicateTag(String(name)) }
            guard tags.count < Self.maxTags else { throw .tooManyTags }
            tags.append((String(name), String(value)))
        }
        self.tags = tags
    }

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
        String(String.UnicodeScalarView(value.unicodeScalars.filter { !isFWS($0) }))
    }

    /// ALPHA *ALNUMPUNC (ALNUMPUNC = ALPHA / DIGIT / "_").
    static func isTagName(_ name: Substring) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetter else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "_" }
    }

    static func isFWS(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\n"
    }

    static func trimFWS(_ text: Substring) -> Substring {
        var text = text
        while let first = text.unicodeScalars.first, isFWS(first) { text = text.dropFirst() }
        while let last = text.unicodeScalars.last, isFWS(last) { text = text.dropLast() }
        return text
    }
}

extension Unicode.Scalar {
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
