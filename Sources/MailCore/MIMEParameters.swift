// Structured MIME header values (RFC 2045 §5.1, RFC 2183, RFC 2231): a token or
// type/subtype followed by ";"-separated parameters, with comments skipped and quoted
// strings unquoted. RFC 2231 continuations (name*0, name*1*) are joined; an encoded
// value stays in its extended form as `name*` = "charset'lang'%XX…", as Dovecot sends
// it, so IMAP's BODYSTRUCTURE stays 7-bit and clients decode it as they already do
// (`MIMEParameter.decodedValue` reads it for everyone else: Lua's tx:parts()).
// Shared by IMAP (FETCH, SEARCH) and Policy (the MIME walk).

/// One parameter (`charset=utf-8`); IMAP calls it BodyParameter.
public struct MIMEParameter: Sendable, Equatable, Hashable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
}

public struct MIMEValue: Sendable {
    /// The leading value: "text/plain", "attachment", … (nil when empty or malformed).
    public var value: String?
    public var parameters: [MIMEParameter]
}

public enum MIMEParameters {
    public static let maxParameters = 100

    public static func parse(_ text: String) -> MIMEValue {
        var scanner = Scanner(Array(text.utf8))
        scanner.skipCFWS()
        var value = scanner.token(allowSlash: true)
        if value?.isEmpty == true { value = nil }
        var raw: [(name: String, value: String)] = []
        while raw.count < maxParameters {
            scanner.skipCFWS()
            guard scanner.skip(UInt8(ascii: ";")) else {
                // Junk before the next ";": skip it (lenient, like most parsers).
                guard scanner.skipTo(UInt8(ascii: ";")) else { break }
                continue
            }
            scanner.skipCFWS()
            guard let name = scanner.token(allowSlash: false), !name.isEmpty else { continue }
            scanner.skipCFWS()
            guard scanner.skip(UInt8(ascii: "=")) else { continue }
            scanner.skipCFWS()
            let parameterValue: String
            if scanner.peek == UInt8(ascii: "\"") {
                parameterValue = scanner.quoted()
            } else if let token = scanner.token(allowSlash: true), !token.isEmpty {
                parameterValue = token
            } else {
                parameterValue = scanner.until(UInt8(ascii: ";"))
            }
            raw.append((name, parameterValue))
        }
        return MIMEValue(value: value, parameters: joinContinuations(raw))
    }

    /// RFC 2231 §3–4: name*0, name*1… (each maybe with a trailing "*" for encoded).
    static func joinContinuations(_ raw: [(name: String, value: String)]) -> [MIMEParameter] {
        var result: [MIMEParameter] = []
        var groups: [String: [(index: Int, encoded: Bool, value: String)]] = [:]
        var order: [String] = []
        for (name, value) in raw {
            let parts = name.split(separator: "*", omittingEmptySubsequences: false)
            if parts.count >= 2, let index = Int(parts[1]), parts.count <= 3 {
                let base = String(parts[0])
                let key = base.lowercased()
                if groups[key] == nil { order.append(base); groups[key] = [] }
                groups[key]!.append((index, parts.count == 3, value))
            } else {
                result.append(MIMEParameter(name, value))
            }
        }
        for base in order {
            let pieces = groups[base.lowercased()]!.sorted { $0.index < $1.index }
            let anyEncoded = pieces.contains { $0.encoded }
            if !anyEncoded {
                result.append(MIMEParameter(base, pieces.map(\.value).joined()))
            } else {
                var joined = ""
                for (position, piece) in pieces.enumerated() {
                    if piece.encoded || position == 0 {
                        joined += piece.value
                    } else {
                        joined += percentEncoded(piece.value)
                    }
                }
                if !pieces[0].encoded { joined = "''" + joined }
                result.append(MIMEParameter(base + "*", joined))
            }
        }
        return result
    }

    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte == 0x2e || byte == 0x2d || byte == 0x5f {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    /// A comma-separated list of tokens (Content-Language, RFC 3282).
    public static func list(_ text: String) -> [String] {
        var scanner = Scanner(Array(text.utf8))
        var items: [String] = []
        while items.count < maxParameters {
            scanner.skipCFWS()
            if let token = scanner.token(allowSlash: false), !token.isEmpty { items.append(token) }
            scanner.skipCFWS()
            guard scanner.skip(UInt8(ascii: ",")) || scanner.skipTo(UInt8(ascii: ",")) else { break }
        }
        return items
    }

    struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skip(_ byte: UInt8) -> Bool {
            if peek == byte { index += 1; return true }
            return false
        }

        /// Advances past the next `byte`; false at the end.
        mutating func skipTo(_ byte: UInt8) -> Bool {
            while let current = peek {
                if current == UInt8(ascii: "\"") { _ = quoted(); continue }
                index += 1
                if current == byte { return true }
            }
            return false
        }

        /// Whitespace and (nested) comments.
        mutating func skipCFWS() {
            while let byte = peek {
                if byte == 32 || byte == 9 || byte == 13 || byte == 10 { index += 1; continue }
                if byte == UInt8(ascii: "(") {
                    var depth = 0
                    while let c = peek {
                        index += 1
                        if c == UInt8(ascii: "\\") { index += 1; continue }
                        if c == UInt8(ascii: "(") { depth += 1 }
                        if c == UInt8(ascii: ")") { depth -= 1; if depth == 0 { break } }
                    }
                    continue
                }
                break
            }
        }

        /// RFC 2045 token (with "/" for type/subtype); 8-bit bytes are accepted.
        mutating func token(allowSlash: Bool) -> String? {
            let start = index
            while let byte = peek, byte > 32, byte != 127 {
                switch byte {
                case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"),
                     UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "\\"), UInt8(ascii: "\""),
                     UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "?"), UInt8(ascii: "="):
                    return MIMEHeader.text(bytes[start..<index])
                case UInt8(ascii: "/") where !allowSlash:
                    return MIMEHeader.text(bytes[start..<index])
                default: index += 1
                }
            }
            return index > start ? MIMEHeader.text(bytes[start..<index]) : nil
        }

        mutating func quoted() -> String {
            var out: [UInt8] = []
            index += 1
            while let byte = peek {
                index += 1
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\"), let next = peek { out.append(next); index += 1; continue }
                if byte == 13 || byte == 10 { continue }
                out.append(byte)
            }
            return MIMEHeader.text(out[...])
        }

        /// Up to `stop` (not consumed), trimmed: lenient unquoted values with spaces.
        mutating func until(_ stop: UInt8) -> String {
            let start = index
            while let byte = peek, byte != stop { index += 1 }
            var end = index
            while end > start && (bytes[end - 1] == 32 || bytes[end - 1] == 9) { end -= 1 }
            return MIMEHeader.text(bytes[start..<end])
        }
    }
}
