// What FETCH can ask for (RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ) and the
// section specifiers shared by BODY[...] requests and responses. The macros ALL, FAST
// and FULL are expanded by the parser.

public enum SectionText: Sendable, Equatable, Hashable {
    case header
    /// Field names as sent (compare case-insensitively).
    case headerFields([String])
    case headerFieldsNot([String])
    case text
    /// Only after a part number (RFC 3501: "n.MIME").
    case mime
}

/// A `section` (RFC 3501 §6.4.5): part numbers (1-based, empty = the whole message)
/// and an optional text specifier.
public struct SectionSpec: Sendable, Equatable, Hashable {
    public var part: [Int]
    public var text: SectionText?
    public init(part: [Int] = [], text: SectionText? = nil) { self.part = part; self.text = text }
    public static let whole = SectionSpec()

    /// Wire form without brackets: "", "1.2", "HEADER", "1.HEADER.FIELDS (FROM TO)".
    public var wire: String {
        var pieces = part.map(String.init)
        switch text {
        case nil: break
        case .header: pieces.append("HEADER")
        case .text: pieces.append("TEXT")
        case .mime: pieces.append("MIME")
        case .headerFields(let names): pieces.append("HEADER.FIELDS (" + names.map(Self.astring).joined(separator: " ") + ")")
        case .headerFieldsNot(let names): pieces.append("HEADER.FIELDS.NOT (" + names.map(Self.astring).joined(separator: " ") + ")")
        }
        return pieces.joined(separator: ".")
    }

    /// A field name echoed as the client could have sent it: an atom, else quoted.
    static func astring(_ name: String) -> String {
        let bytes = Array(name.utf8)
        if !bytes.isEmpty && bytes.allSatisfy(IMAPGrammar.isAStringChar) { return name }
        var out = "\""
        for char in name.unicodeScalars where char != "\r" && char != "\n" {
            if char == "\"" || char == "\\" { out += "\\" }
            out.unicodeScalars.append(char)
        }
        return out + "\""
    }
}

/// `<offset.length>` of a partial fetch.
public struct Partial: Sendable, Equatable, Hashable {
    public var offset: Int
    public var length: Int
    public init(offset: Int, length: Int) { self.offset = offset; self.length = length }
}

public enum FetchAttribute: Sendable, Equatable, Hashable {
    case envelope
    case flags
    case internalDate
    /// RFC822 (= BODY[], sets \Seen), RFC822.HEADER (= BODY.PEEK[HEADER]), RFC822.TEXT (= BODY[TEXT]).
    case rfc822
    case rfc822Header
    case rfc822Size
    case rfc822Text
    case uid
    case bodyStructure
    /// BODY without a section: the non-extensible BODYSTRUCTURE.
    case body
    /// BODY[section]<partial> / BODY.PEEK[...]: only the non-peek form sets \Seen.
    case bodySection(SectionSpec, partial: Partial?, peek: Bool)
    /// BINARY[part]<partial> / BINARY.PEEK (RFC 3516): content-transfer-decoded.
    case binary(part: [Int], partial: Partial?, peek: Bool)
    case binarySize(part: [Int])
    /// MODSEQ (RFC 7162).
    case modSeq
    // SAVEDATE, EMAILID, PREVIEW… are not implemented: the parser refuses them.

    /// ALL, FAST, FULL (RFC 3501 §6.4.5).
    public static let all: [FetchAttribute] = [.flags, .internalDate, .rfc822Size, .envelope]
    public static let fast: [FetchAttribute] = [.flags, .internalDate, .rfc822Size]
    public static let full: [FetchAttribute] = [.flags, .internalDate, .rfc822Size, .envelope, .body]

    /// Whether fetching this sets \Seen (RFC 3501 §6.4.5).
    public var setsSeen: Bool {
        switch self {
        case .rfc822, .rfc822Text: return true
        case .bodySection(_, _, let peek), .binary(_, _, let peek): return !peek
        default: return false
        }
    }
}

/// FETCH modifiers (RFC 7162 §3.1.4, RFC 7162 §3.2.6).
public struct FetchModifiers: Sendable, Equatable, Hashable {
    public var changedSince: UInt64?
    public var vanished: Bool
    public init(changedSince: UInt64? = nil, vanished: Bool = false) { self.changedSince = changedSince; self.vanished = vanished }
}
