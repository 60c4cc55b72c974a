import Foundation

// An RFC 7208 SPF record ("v=spf1 …", §4.5, §12 ABNF) parsed in full before it is
// evaluated: any syntax error anywhere is the permerror of §4.6, so evaluation never
// meets a term it cannot read. Terms are separated by SP only; the record must be
// 7-bit ASCII. Domain-specs and modifiers keep their macro-strings unexpanded.

/// Why a record (or a macro-string in it) was refused: always a permerror.
public enum SPFSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    case notSPF
    case nonASCII
    case invalidCharacter(String)
    case invalidMacro(String)
    case unknownMechanism(String)
    case invalidTerm(String)
    case invalidDomainSpec(String)
    case invalidAddress(String)
    case invalidPrefixLength(String)
    case duplicateModifier(String)

    public var description: String {
        switch self {
        case .notSPF: "not an SPF record"
        case .nonASCII: "the record is not 7-bit ASCII"
        case .invalidCharacter(let t): "invalid character in '\(t)'"
        case .invalidMacro(let t): "invalid macro in '\(t)'"
        case .unknownMechanism(let t): "unknown mechanism '\(t)'"
        case .invalidTerm(let t): "invalid term '\(t)'"
        case .invalidDomainSpec(let t): "invalid domain-spec in '\(t)'"
        case .invalidAddress(let t): "invalid address in '\(t)'"
        case .invalidPrefixLength(let t): "invalid CIDR length in '\(t)'"
        case .duplicateModifier(let t): "modifier '\(t)' appears more than once"
        }
    }
}

/// + - ~ ? (§4.6.2), and the result a match gives.
enum SPFQualifier: Sendable, Equatable {
    case pass, fail, softfail, neutral

    var result: SPFResult {
        switch self {
        case .pass: .pass
        case .fail: .fail
        case .softfail: .softfail
        case .neutral: .neutral
        }
    }
}

enum SPFMechanism: Sendable, Equatable {
    case all
    case include(SPFMacroString)
    case a(SPFMacroString?, v4Prefix: Int, v6Prefix: Int)
    case mx(SPFMacroString?, v4Prefix: Int, v6Prefix: Int)
    case ptr(SPFMacroString?)
    case ip4([UInt8], prefix: Int)
    case ip6([UInt8], prefix: Int)
    case exists(SPFMacroString)

    /// Whether evaluating it counts toward the limit of 10 DNS-querying terms (§4.6.4).
    var queriesDNS: Bool {
        switch self {
        case .include, .a, .mx, .ptr, .exists: true
        case .all, .ip4, .ip6: false
        }
    }
}

struct SPFDirective: Sendable, Equatable {
    var qualifier: SPFQualifier
    var mechanism: SPFMechanism
    /// The term as written, without its qualifier ("ip4:192.0.2.0/24").
    var text: String
}

struct SPFRecord: Sendable, Equatable {
    var directives: [SPFDirective] = []
    var redirect: SPFMacroString?
    var explanation: SPFMacroString?
    /// Unknown modifiers (§6): checked for syntax, otherwise ignored.
    var otherModifiers: [(name: String, value: SPFMacroString)] = []

    static func == (lhs: SPFRecord, rhs: SPFRecord) -> Bool {
        lhs.directives == rhs.directives && lhs.redirect == rhs.redirect && lhs.explanation == rhs.explanation
            && lhs.otherModifiers.map(\.name) == rhs.otherModifiers.map(\.name)
    }

    /// The most terms a record may have: a TXT record that reaches it is hostile.
    static let maxTerms = 512

    /// Whether a TXT string is an SPF record: "v=spf1" alone or followed by SP (§4.5),
    /// the version compared without regard to case.
    static func isSPF(_ text: String) -> Bool {
        let bytes = Array(text.utf8.prefix(7))
        guard bytes.count >= 6, String(decoding: bytes[0..<6], as: UTF8.self).lowercased() == "v=spf1" else { return false }
        return bytes.count == 6 || bytes[6] == 0x20
    }

    init(parsing text: String) throws(SPFSyntaxError) {
        guard Self.isSPF(text) else { throw .notSPF }
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { throw .nonASCII }
        let terms = text.utf8.split(separator: 0x20).dropFirst()
        guard terms.count <= Self.maxTerms else { throw .invalidTerm("more than \(Self.maxTerms) terms") }
        for termBytes in terms {
            let term = Substring(String(decoding: termBytes, as: UTF8.self))
            guard termBytes.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else { throw .invalidCharacter(String(term)) }
            if let (name, value) = Self.modifier(term) {
                try addModifier(name: name, value: value, term: term)
            } else {
                directives.append(try Self.directive(term))
            }
        }
    }

    /// name "=" value when the term starts with a modifier name (ALPHA *( ALPHA / DIGIT
    /// / "-" / "_" / "." )) followed by "=".
    private static func modifier(_ term: Substring) -> (String, Substring)? {
        guard let equals = term.firstIndex(of: "=") else { return nil }
        let name = term[..<equals]
        guard let first = name.unicodeScalars.first, first.isASCIILetter,
              name.unicodeScalars.allSatisfy({ $0.isASCIILetter || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) })
        else { return nil }
        return (name.lowercased(), term[term.index(after: equals)...])
    }

    private mutating func addModifier(name: String, value: Substring, term: Substring) throws(SPFSyntaxError) {
        switch name {
        case "redirect", "exp":
            let spec = try Self.domainSpec(value, term: term)
            if name == "redirect" {
                guard redirect == nil else { throw .duplicateModifier(name) }
                redirect = spec
            } else {
                guard explanation == nil else { throw .duplicateModifier(name) }
                explanation = spec
            }
        default:
            otherModifiers.append((name, try SPFMacroString(parsing: value)))
        }
    }

    static func domainSpec(_ text: Substring, term: Substring) throws(SPFSyntaxError) -> SPFMacroString {
        guard !text.isEmpty else { throw .invalidDomainSpec(String(term)) }
        let spec = try SPFMacroString(parsing: text)
        guard spec.hasValidDomainEnd else { throw .invalidDomainSpec(String(term)) }
        return spec
    }

    private static func directive(_ term: Substring) throws(SPFSyntaxError) -> SPFDirective {
        var rest = term
        var qualifier = SPFQualifier.pass
        switch rest.first {
        case "+": qualifier = .pass; rest = rest.dropFirst()
        case "-": qualifier = .fail; rest = rest.dropFirst()
        case "~": qualifier = .softfail; rest = rest.dropFirst()
        case "?": qualifier = .neutral; rest = rest.dropFirst()
        default: break
        }
        let text = String(rest)
        let nameEnd = rest.firstIndex(where: { $0 == ":" || $0 == "/" }) ?? rest.endIndex
        let name = rest[..<nameEnd].lowercased()
        let tail = rest[nameEnd...]
        // The argument after ":" (nil when there is none), and what follows the name otherwise.
        let argument: Substring? = tail.first == ":" ? tail.dropFirst() : nil
        let mechanism: SPFMechanism
        switch name {
        case "all":
            guard tail.isEmpty else { throw .invalidTerm(String(term)) }
            mechanism = .all
        case "include", "exists":
            guard let argument else { throw .invalidTerm(String(term)) }
            let spec = try domainSpec(argument, term: term)
            mechanism = name == "include" ? .include(spec) : .exists(spec)
        case "ptr":
            if let argument {
                mechanism = .ptr(try domainSpec(argument, term: term))
            } else {
                guard tail.isEmpty else { throw .invalidTerm(String(term)) }
                mechanism = .ptr(nil)
            }
        case "a", "mx":
            var body = argument ?? tail
            let v6 = try trailingPrefix(&body, marker: "//", maximum: 128, term: term)
            let v4 = try trailingPrefix(&body, marker: "/", maximum: 32, term: term)
            var spec: SPFMacroString? = nil
            if argument != nil {
                spec = try domainSpec(body, term: term)
            } else if !body.isEmpty {
                throw .invalidTerm(String(term))
            }
            mechanism = name == "a" ? .a(spec, v4Prefix: v4 ?? 32, v6Prefix: v6 ?? 128)
                                    : .mx(spec, v4Prefix: v4 ?? 32, v6Prefix: v6 ?? 128)
        case "ip4", "ip6":
            guard var body = argument else { throw .invalidTerm(String(term)) }
            let isV4 = name == "ip4"
            let prefix = try trailingPrefix(&body, marker: "/", maximum: isV4 ? 32 : 128, term: term)
            guard let bytes = isV4 ? SPFAddressParsing.v4(body) : SPFAddressParsing.v6(body) else {
                throw .invalidAddress(String(term))
            }
            mechanism = isV4 ? .ip4(bytes, prefix: prefix ?? 32) : .ip6(bytes, prefix: prefix ?? 128)
        default:
            throw .unknownMechanism(String(term))
        }
        return SPFDirective(qualifier: qualifier, mechanism: mechanism, text: text)
    }

    /// Removes a trailing `marker` + ("0" / %x31-39 *DIGIT) from `body` and returns the
    /// number; a number over `maximum` is a syntax error.
    private static func trailingPrefix(_ body: inout Substring, marker: String, maximum: Int, term: Substring) throws(SPFSyntaxError) -> Int? {
        let digits = body.reversed().prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty else { return nil }
        let numberStart = body.index(body.endIndex, offsetBy: -digits.count)
        let number = body[numberStart...]
        let before = body[..<numberStart]
        guard before.hasSuffix(marker) else { return nil }
        // "//" is the IPv6 marker: a single "/" must not be the end of a "//".
        if marker == "/" && before.hasSuffix("//") { return nil }
        guard number == "0" || number.first != "0", number.count <= 3, let value = Int(number), value <= maximum else {
            throw .invalidPrefixLength(String(term))
        }
        body = before.dropLast(marker.count)
        return value
    }
}

/// Strict address syntax for ip4/ip6 terms.
enum SPFAddressParsing {
    /// Dotted quad without leading zeros (RFC 7208 §12 ip4-network).
    static func v4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part == "0" || part.first != "0", let value = Int(part), value <= 255 else { return nil }
            bytes.append(UInt8(value))
        }
        return bytes
    }

    /// An IPv6 address as 16 bytes (IPv4-mapped forms stay IPv6 here: an ip6 term
    /// never matches an IPv4 client, §5.6).
    static func v6(_ text: Substring) -> [UInt8]? {
        guard text.contains(":") else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, last: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if last && index == pieces.count - 1 && piece.contains(".") {
                    guard let v4 = v4(piece) else { return nil }
                    out += v4
                    continue
                }
                guard !piece.isEmpty, piece.count <= 4, let value = UInt16(piece, radix: 16) else { return nil }
                out += [UInt8(value >> 8), UInt8(value & 0xff)]
            }
            return out
        }
        if halves.count == 2 {
            guard let head = groups(halves[0], last: false), let tail = groups(halves[1], last: true),
                  head.count + tail.count <= 14 else { return nil }
            return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
        }
        guard let all = groups(halves[0], last: true), all.count == 16 else { return nil }
        return all
    }

    /// Whether the first `prefix` bits of `a` and `b` agree (same family assumed).
    static func matches(_ a: [UInt8], _ b: [UInt8], prefix: Int) -> Bool {
        guard a.count == b.count else { return false }
        var remaining = prefix
        for index in 0..<a.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xff : ~(0xff >> UInt8(bits))
            if a[index] & mask != b[index] & mask { return false }
            remaining -= bits
        }
        return true
    }
}
