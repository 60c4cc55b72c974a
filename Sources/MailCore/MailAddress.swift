// RFC 5321 mailbox addresses as mailgate routes them. Parsing is strict on purpose:
// relay tricks (percent hack, bang paths, source routes, quoted local parts, IP
// literals, trailing dots) either fail to parse or keep their whole local part, so
// they can never make a foreign domain look local or a local one look foreign.

public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    /// Local part exactly as given (case preserved; quoted forms unquoted).
    public let localPart: String
    /// Domain, lower-cased; an address literal keeps its brackets: "[192.0.2.1]".
    public let domain: String
    /// The address as written on the wire: a local part that is not a dot-atom is quoted
    /// again (`"a b"@example.com`), so Return-Path, Received and relayed envelopes stay
    /// well-formed. Kept, like `normalized`: both are read many times per message.
    public let address: String
    /// Key for lookups: mailbox names are case-insensitive in mailgate.
    public let normalized: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        let domain = Self.foldsCase(domain) ? domain.lowercased() : domain
        self.domain = domain
        let wire = Self.wireLocalPart(localPart)
        self.address = Self.joined(wire, domain)
        let folds = Self.foldsCase(localPart)
        // A lower-case dot-atom reads the same both ways: one string, not two.
        self.normalized = !folds && wire.utf8.count == localPart.utf8.count
            ? address : Self.joined(folds ? localPart.lowercased() : localPart, domain)
    }

    private static func joined(_ local: String, _ domain: String) -> String {
        var text = ""
        text.reserveCapacity(local.utf8.count + 1 + domain.utf8.count)
        text += local
        text += "@"
        text += domain
        return text
    }

    /// Whether lower-casing could change `text` (an ASCII capital or any non-ASCII byte).
    static func foldsCase(_ text: String) -> Bool {
        text.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") || $0 >= 0x80 }
    }

    public static func == (lhs: MailAddress, rhs: MailAddress) -> Bool {
        lhs.localPart == rhs.localPart && lhs.domain == rhs.domain
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(localPart)
        hasher.combine(domain)
    }

    static func wireLocalPart(_ local: String) -> String {
        if isDotAtom(local) { return local }
        var quoted = "\""
        for character in local {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    /// RFC 5321 Dot-string (non-ASCII allowed, as SMTPUTF8 does).
    static func isDotAtom(_ text: String) -> Bool {
        var previousWasDot = true   // a leading dot is not allowed
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                if previousWasDot { return false }
                previousWasDot = true
                continue
            }
            previousWasDot = false
            if byte >= 0x80 || isAText(byte) { continue }
            return false
        }
        return !previousWasDot
    }

    static func isAText(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
        }
    }
    public var description: String { address }
    public var isDomainLiteral: Bool { domain.utf8.first == UInt8(ascii: "[") }
    /// True when the local part was quoted or holds characters used by relay tricks.
    public var hasRoutingCharacters: Bool {
        localPart.utf8.contains {
            $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "!") || $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: "\"")
        }
    }

    public enum ParseError: Error, Equatable, Sendable {
        case empty, missingAt, badLocalPart, badDomain, tooLong
    }

    static let maxLocalPart = 64
    static let maxDomain = 255

    /// Parses "local@domain" (no angle brackets). `allowUTF8` admits non-ASCII (SMTPUTF8).
    public static func parse(_ text: Substring, allowUTF8: Bool = false) throws(ParseError) -> MailAddress {
        if text.isEmpty { throw .empty }
        let localPart: String
        let rest: Substring
        if text.utf8.first == UInt8(ascii: "\"") {
            // quoted-string (RFC 5321 §4.1.2), on bytes: qtextSMTP is printable ASCII but
            // '"' and '\\' (plus UTF-8 with SMTPUTF8), and a quoted-pair escapes only a
            // printable ASCII character, never CR, LF or another control.
            let bytes = text.utf8
            var value: [UInt8] = []
            var index = bytes.index(after: bytes.startIndex)
            var closed = false
            while index < bytes.endIndex {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\") {
                    index = bytes.index(after: index)
                    guard index < bytes.endIndex, (32...126).contains(bytes[index]) else { throw .badLocalPart }
                    value.append(bytes[index])
                } else if byte == UInt8(ascii: "\"") {
                    closed = true
                    index = bytes.index(after: index)
                    break
                } else {
                    guard byte >= 0x80 ? allowUTF8 : (32...126).contains(byte) else { throw .badLocalPart }
                    value.append(byte)
                }
                index = bytes.index(after: index)
            }
            guard closed, let decoded = String(validating: value, as: UTF8.self) else { throw .badLocalPart }
            guard index < bytes.endIndex, bytes[index] == UInt8(ascii: "@") else { throw .missingAt }
            localPart = decoded
            rest = text[bytes.index(after: index)...]
        } else {
            // Bytes, not Characters: '@' is ASCII, so its UTF-8 index splits the text.
            guard let at = text.utf8.lastIndex(of: UInt8(ascii: "@")) else { throw .missingAt }
            let local = text[..<at]
            guard isDotAtom(local, allowUTF8: allowUTF8) else { throw .badLocalPart }
            localPart = String(local)
            rest = text[text.utf8.index(after: at)...]
        }
        if localPart.isEmpty { throw .badLocalPart }
        if localPart.utf8.count > maxLocalPart { throw .tooLong }
        let domain = try parseDomain(rest, allowUTF8: allowUTF8)
        return MailAddress(localPart: localPart, domain: domain)
    }

    public static func parse(_ text: String, allowUTF8: Bool = false) throws(ParseError) -> MailAddress {
        try parse(Substring(text), allowUTF8: allowUTF8)
    }

    static func isAtext(_ char: Character, allowUTF8: Bool) -> Bool {
        guard let ascii = char.asciiValue else { return allowUTF8 }
        return isAtextByte(ascii)
    }

    /// RFC 5322 atext for one ASCII byte (checked on bytes: Character properties cost a
    /// Unicode table lookup each, and addresses are parsed several times per message).
    @inline(__always)
    public static func isAtextByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"),
             UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
             UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func isDotAtom(_ text: Substring, allowUTF8: Bool) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last, first != UInt8(ascii: "."), last != UInt8(ascii: ".")
        else { return false }
        var previousDot = false
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                if previousDot { return false }
                previousDot = true
                continue
            }
            previousDot = false
            if byte >= 0x80 {
                if !allowUTF8 { return false }
            } else if !isAtextByte(byte) {
                return false
            }
        }
        return true
    }

    static func parseDomain(_ text: Substring, allowUTF8: Bool) throws(ParseError) -> String {
        if text.isEmpty || text.utf8.count > maxDomain { throw .badDomain }
        if text.first == "[" {
            guard text.last == "]" else { throw .badDomain }
            let inner = text.dropFirst().dropLast()
            // Only what an address is written with: IPAddress also takes an interface
            // zone ("%eth0"), which has no place in mail and could carry any byte.
            guard inner.utf8.allSatisfy({ byte in
                (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") || "IPVipv".utf8.contains(byte)
            }) else { throw .badDomain }
            if inner.lowercased().hasPrefix("ipv6:") {
                guard IPAddress(String(inner.dropFirst(5))) != nil else { throw .badDomain }
            } else {
                guard let ip = IPAddress(String(inner)), ip.isV4 else { throw .badDomain }
            }
            return String(text).lowercased()
        }
        // A trailing dot ("example.com.") is refused rather than silently stripped:
        // it is a classic way to make a local domain compare unequal. One pass over the
        // bytes (this runs several times per message): labels of 1–63 letters, digits
        // and inner hyphens.
        var labelLength = 0
        var previous: UInt8 = UInt8(ascii: ".")
        var needsFolding = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "."):
                guard labelLength > 0, previous != UInt8(ascii: "-") else { throw .badDomain }
                labelLength = 0
            case UInt8(ascii: "-"):
                guard labelLength > 0 else { throw .badDomain }
                labelLength += 1
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                labelLength += 1
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                needsFolding = true
                labelLength += 1
            case 0x80...:
                if !allowUTF8 { throw .badDomain }
                needsFolding = true  // let lowercased() fold non-ASCII letters too
                labelLength += 1
            default:
                throw .badDomain
            }
            guard labelLength <= 63 else { throw .badDomain }
            previous = byte
        }
        guard labelLength > 0, previous != UInt8(ascii: "-") else { throw .badDomain }
        return needsFolding ? String(text).lowercased() : String(text)
    }
}

extension MailAddress {
    /// Whether `text` is a domain name or an address literal (RFC 5321 §4.1.2 `Domain /
    /// address-literal`, as HELO/EHLO take), ASCII only.
    public static func isDomainOrAddressLiteral(_ text: String) -> Bool {
        (try? parseDomain(Substring(text), allowUTF8: false)) != nil
    }

    /// The lower-cased domain when `text` is a valid DNS domain name (no address literal).
    public static func normalizedDomain(_ text: Substring) -> String? {
        guard text.first != "[", let domain = try? parseDomain(text, allowUTF8: false) else { return nil }
        return domain
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs. Cheap (bytes, no Foundation
    /// CharacterSet), for the hot paths that normalise addresses and domains.
    public var trimmingSpacesAndTabs: Substring {
        let text = Substring(self)
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { $0 != 32 && $0 != 9 }),
              let last = utf8.lastIndex(where: { $0 != 32 && $0 != 9 }) else {
            return Substring()
        }
        return text[first...last]
    }
}
