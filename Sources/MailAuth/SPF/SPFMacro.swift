// RFC 7208 §7 macro strings, as in domain-specs, unknown modifiers and explanation
// texts. Parsed once with the record (a syntax error is the record's permerror) and
// expanded per check with that check's values. Expansion is bounded: a DIGIT
// transformer is clamped to 128 parts and the output to `maxExpansion` bytes.

/// A parsed macro-string (or explain-string when spaces are allowed).
struct SPFMacroString: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case literal(String)
        /// `letter` lowercased; `urlEscape` when written in upper case (§7.3).
        case macro(letter: UInt8, urlEscape: Bool, keep: Int?, reverse: Bool, delimiters: [UInt8])
    }

    var parts: [Part]
    /// The text as written.
    var text: String

    /// The most bytes one expansion may produce: far above a 253-byte domain name or
    /// any sane explanation; beyond it the expansion is cut.
    static let maxExpansion = 4096
    /// Most parts a DIGIT transformer keeps (127 labels is the most a name can have).
    static let maxKeep = 128

    /// Parses `text`. `explanation`: an explain-string (§6.2: SP allowed, and the
    /// c, r and t macros, which are refused anywhere else).
    init(parsing text: Substring, explanation: Bool = false) throws(SPFSyntaxError) {
        self.text = String(text)
        var parts: [Part] = []
        var literal: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        func flush() {
            if !literal.isEmpty { parts.append(.literal(String(decoding: literal, as: UTF8.self))); literal.removeAll() }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte != UInt8(ascii: "%") {
                let visible = byte >= 0x21 && byte <= 0x7E
                guard visible || (explanation && byte == 0x20) else { throw .invalidCharacter(String(text)) }
                literal.append(byte)
                index += 1
                continue
            }
            guard index + 1 < bytes.count else { throw .invalidMacro(String(text)) }
            switch bytes[index + 1] {
            case UInt8(ascii: "%"): literal.append(UInt8(ascii: "%")); index += 2
            case UInt8(ascii: "_"): literal.append(0x20); index += 2
            case UInt8(ascii: "-"): literal.append(contentsOf: Array("%20".utf8)); index += 2
            case UInt8(ascii: "{"):
                guard let close = bytes[(index + 2)...].firstIndex(of: UInt8(ascii: "}")) else {
                    throw .invalidMacro(String(text))
                }
                flush()
                parts.append(try Self.parseMacro(bytes[(index + 2)..<close], explanation: explanation, text: text))
                index = close + 1
            default:
                throw .invalidMacro(String(text))
            }
        }
        flush()
        self.parts = parts
    }

    /// letter *DIGIT ["r"] *delimiter, between "%{" and "}".
    private static func parseMacro(_ body: ArraySlice<UInt8>, explanation: Bool, text: Substring) throws(SPFSyntaxError) -> Part {
        guard let first = body.first else { throw .invalidMacro(String(text)) }
        let letter = first | 0x20
        let letters: [UInt8] = Array("slodiphv".utf8) + (explanation ? Array("crt".utf8) : [])
        guard (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A), letters.contains(letter) else {
            throw .invalidMacro(String(text))
        }
        var rest = body.dropFirst()
        var keep: Int? = nil
        while let digit = rest.first, digit >= 0x30 && digit <= 0x39 {
            keep = min((keep ?? 0) * 10 + Int(digit - 0x30), 10_000)
            rest = rest.dropFirst()
        }
        if keep == 0 { throw .invalidMacro(String(text)) }   // §7.3: the DIGIT transformer is nonzero
        var reverse = false
        if let r = rest.first, r | 0x20 == UInt8(ascii: "r") { reverse = true; rest = rest.dropFirst() }
        let allowedDelimiters = Array(".-+,/_=".utf8)
        guard rest.allSatisfy({ allowedDelimiters.contains($0) }) else { throw .invalidMacro(String(text)) }
        return .macro(letter: letter, urlEscape: first < 0x61, keep: keep.map { min($0, maxKeep) },
                      reverse: reverse, delimiters: Array(rest))
    }

    /// Whether expanding needs the validated domain name of the client (%{p}), which
    /// costs DNS lookups.
    var usesValidatedName: Bool {
        parts.contains { if case .macro(let letter, _, _, _, _) = $0 { letter == UInt8(ascii: "p") } else { false } }
    }

    /// Ends with a macro-expand, or with "." toplabel ["."] (§7.1 domain-end).
    var hasValidDomainEnd: Bool {
        guard let last = parts.last else { return false }
        guard case .literal(var tail) = last else { return true }
        // A literal that came from "%%", "%_" or "%-" is a macro-expand in the ABNF,
        // but it cannot end a domain name usefully: treat it as literal text.
        if tail.hasSuffix(".") { tail.removeLast() }
        guard let dot = tail.lastIndex(of: ".") else { return false }
        return Self.isTopLabel(tail[tail.index(after: dot)...])
    }

    /// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
    static func isTopLabel(_ label: Substring) -> Bool {
        let bytes = Array(label.utf8)
        guard !bytes.isEmpty else { return false }
        func isAlnum(_ b: UInt8) -> Bool { isAlpha(b) || (b >= 0x30 && b <= 0x39) }
        func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
        if bytes.allSatisfy(isAlnum) { return bytes.contains(where: isAlpha) }
        guard bytes.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") }) else { return false }
        return isAlnum(bytes.first!) && isAlnum(bytes.last!)
    }

    /// The expansion with `values`; `p` must be set when `usesValidatedName`.
    func expand(_ values: SPFMacroValues) -> String {
        var out: [UInt8] = []
        for part in parts {
            if out.count >= Self.maxExpansion { break }
            switch part {
            case .literal(let text):
                out.append(contentsOf: text.utf8)
            case .macro(let letter, let urlEscape, let keep, let reverse, let delimiters):
                var value = Array(values.value(of: letter).utf8)
                if keep != nil || reverse || !delimiters.isEmpty {
                    value = Self.transform(value, keep: keep, reverse: reverse,
                                           delimiters: delimiters.isEmpty ? [UInt8(ascii: ".")] : delimiters)
                }
                out.append(contentsOf: urlEscape ? Self.urlEscaped(value) : value)
            }
        }
        if out.count > Self.maxExpansion { out.removeSubrange(Self.maxExpansion...) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Splits on any delimiter, reverses if asked, keeps the rightmost `keep` parts,
    /// joins with "." (§7.3).
    static func transform(_ value: [UInt8], keep: Int?, reverse: Bool, delimiters: [UInt8]) -> [UInt8] {
        var pieces = value.split(omittingEmptySubsequences: false, whereSeparator: { delimiters.contains($0) })
        if reverse { pieces.reverse() }
        if let keep, pieces.count > keep { pieces.removeFirst(pieces.count - keep) }
        return Array(pieces.joined(separator: [UInt8(ascii: ".")]))
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters.
    static func urlEscaped(_ value: [UInt8]) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in value {
            let b = byte | 0x20
            let unreserved = (b >= 0x61 && b <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
            if unreserved { out.append(byte) } else { out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]] }
        }
        return out
    }
}

/// What the macro letters stand for in one check (§7.2).
struct SPFMacroValues: Sendable {
    var sender: String
    var localPart: String
    var senderDomain: String
    var domain: String
    var client: IPAddressText
    var helo: String
    var receivingHost: String
    var timestamp: Int
    /// %{p}: the validated domain name of the client, or "unknown".
    var validatedName: String = "unknown"

    func value(of letter: UInt8) -> String {
        switch letter {
        case UInt8(ascii: "s"): sender
        case UInt8(ascii: "l"): localPart
        case UInt8(ascii: "o"): senderDomain
        case UInt8(ascii: "d"): domain
        case UInt8(ascii: "i"): client.dotted
        case UInt8(ascii: "p"): validatedName
        case UInt8(ascii: "v"): client.isV4 ? "in-addr" : "ip6"
        case UInt8(ascii: "h"): helo
        case UInt8(ascii: "c"): client.readable
        case UInt8(ascii: "r"): receivingHost
        case UInt8(ascii: "t"): String(timestamp)
        default: ""
        }
    }
}

/// The client address in the two text forms the macros use.
struct IPAddressText: Sendable {
    var isV4: Bool
    /// %{i}: dotted quad, or 32 dot-separated nibbles for IPv6.
    var dotted: String
    /// %{c}: dotted quad or the RFC 5952 IPv6 form.
    var readable: String
}
