// Authentication-Results (RFC 8601): the one field the server writes with what its
// policies found (spf=, dkim=, dmarc=, arc=), and the reading of an incoming field's
// authserv-id, so fields that claim to come from this server can be dropped before
// anyone trusts them (§5). The field itself goes through MailCore's HeaderText.
import MailCore

public enum AuthenticationResults {
    public static let fieldName = "Authentication-Results"
    /// Results one message may carry: far above spf + dmarc + arc + a few signatures.
    public static let maxResults = 32

    public enum ResultError: Error, Equatable, Sendable, CustomStringConvertible {
        case badMethod(String)
        case badResult(String)
        case badProperty(String)
        case badReason

        public var description: String {
            switch self {
            case .badMethod(let method): "method \"\(method)\" is not a token such as spf, dkim, dmarc or arc"
            case .badResult(let result): "result \"\(result)\" is not a token such as pass, fail or none"
            case .badProperty(let name): "property \"\(name)\" is not ptype.name (such as smtp.mailfrom or header.d)"
            case .badReason: "reason must be printable text of at most 200 bytes"
            }
        }
    }

    /// One resinfo: `method=result [reason="…"] ptype.property=value …` with the
    /// properties in the order given. Values that are not RFC 2045 tokens (or
    /// local@domain) are written as quoted-strings.
    public static func resinfo(method: String, result: String, reason: String? = nil,
                               properties: [(name: String, value: String)] = []) throws(ResultError) -> String {
        guard isKeyword(method, allowing: "-_/.") else { throw .badMethod(method) }
        guard isKeyword(result, allowing: "-_") else { throw .badResult(result) }
        var text = method.lowercased() + "=" + result.lowercased()
        if let reason {
            guard reason.utf8.count <= 200, !reason.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw .badReason
            }
            text += " reason=" + quoted(reason)
        }
        for property in properties {
            let parts = property.name.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, isKeyword(String(parts[0]), allowing: "-_"),
                  isKeyword(String(parts[1]), allowing: "-_") else { throw .badProperty(property.name) }
            text += " " + property.name.lowercased() + "=" + pvalue(property.value)
        }
        return text
    }

    /// The whole field, folded one resinfo per line: "Authentication-Results: id;" CRLF
    /// TAB "spf=pass …;" … CRLF. `results` empty gives "id; none" (RFC 8601 §2.2).
    public static func field(authservID: String, results: [String]) -> String {
        guard !results.isEmpty else { return HeaderText.line(fieldName, authservID + "; none") }
        let lines = results.prefix(maxResults).enumerated().map { offset, result in
            offset == min(results.count, maxResults) - 1 ? result : result + ";"
        }
        return HeaderText.line(fieldName, authservID + ";", continuations: lines)
    }

    /// The authserv-id of an Authentication-Results value (the text after "name:"),
    /// lowercased, comments and a version skipped; nil when there is none.
    public static func authservID(ofValue value: some Collection<UInt8>) -> String? {
        var bytes = Array(value)
        bytes = withoutComments(bytes)
        var index = 0
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        var end = index
        while end < bytes.count, !isSpace(bytes[end]), bytes[end] != UInt8(ascii: ";") { end += 1 }
        guard end > index else { return nil }
        var id = String(decoding: bytes[index..<end], as: UTF8.self).lowercased()
        if id.hasPrefix("\""), id.hasSuffix("\""), id.count >= 2 { id = String(id.dropFirst().dropLast()) }
        return id.isEmpty ? nil : id
    }

    /// `message` without the header fields named Authentication-Results whose
    /// authserv-id is `id` (case-insensitively); nil when there are none, so
    /// the common case copies nothing. Only the header block is read.
    public static func removingFields(claiming id: String, from message: [UInt8]) -> [UInt8]? {
        let wanted = id.lowercased()
        let name = fieldName.lowercased()
        return HeaderFields.removingFields(from: message) { fieldName, value in
            fieldName == name && authservID(ofValue: value) == wanted
        }
    }

    // MARK: - Pieces

    static func isKeyword(_ text: String, allowing extra: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 64 else { return false }
        let extra = Set(extra.utf8)
        return text.utf8.allSatisfy { isAlphaNumeric($0) || extra.contains($0) }
    }

    /// RFC 8601 pvalue: a token, local@domain, or a quoted-string.
    static func pvalue(_ value: String) -> String {
        let bytes = Array(value.utf8)
        if !bytes.isEmpty, bytes.allSatisfy(isTokenByte) { return value }
        if let at = bytes.lastIndex(of: UInt8(ascii: "@")),
           bytes[..<at].allSatisfy({ isTokenByte($0) }),
           at + 1 < bytes.count, bytes[(at + 1)...].allSatisfy({ isAlphaNumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) {
            return value
        }
        return quoted(value)
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in HeaderText.value(text, allowUTF8: true).unicodeScalars {
            if scalar == "\"" || scalar == "\\" { out.append("\\") }
            out.unicodeScalars.append(scalar)
        }
        return out + "\""
    }

    /// RFC 2045 token: printable ASCII but SP and tspecials ()<>@,;:\"/[]?=
    static func isTokenByte(_ byte: UInt8) -> Bool {
        guard byte > 0x20, byte < 0x7F else { return false }
        return !"()<>@,;:\\\"/[]?=".utf8.contains(byte)
    }

    static func isAlphaNumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 || byte == 10 }

    /// The bytes with RFC 5322 comments (nested, with quoted-pairs) replaced by a space.
    static func withoutComments(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(UInt8(ascii: "(")) else { return bytes }
        var out: [UInt8] = []
        var depth = 0
        var escaped = false
        var inQuotes = false
        for byte in bytes {
            if escaped { escaped = false; if depth == 0 { out.append(byte) }; continue }
            if byte == UInt8(ascii: "\\") { escaped = true; if depth == 0 { out.append(byte) }; continue }
            if depth == 0, byte == UInt8(ascii: "\"") { inQuotes.toggle() }
            if !inQuotes, byte == UInt8(ascii: "(") { depth += 1; if depth > 50 { break }; continue }
            if !inQuotes, byte == UInt8(ascii: ")"), depth > 0 {
                depth -= 1
                if depth == 0 { out.append(32) }
                continue
            }
            if depth == 0 { out.append(byte) }
        }
        return out
    }
}
