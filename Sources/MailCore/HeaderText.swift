// The one way the server writes a header line of its own (Received, Return-Path,
// policy-added fields, bounce and DSN fields): every value goes through here, so a
// control character that came from a client, a policy or a remote server can never
// end the line early and start a header of its own.

public enum HeaderText {
    /// Longest value written, in bytes, before "..." (RFC 5322 caps a line at 998).
    public static let maxValueLength = 900

    /// `Name: value` CRLF. `continuations` are further lines of the same field, each
    /// written after CRLF TAB (folding, RFC 5322 §2.2.3).
    public static func line(_ name: String, _ value: String, continuations: [String] = [],
                            allowUTF8: Bool = false) -> String {
        var out = fieldName(name) + ": " + self.value(value, allowUTF8: allowUTF8)
        for continuation in continuations {
            out += "\r\n\t" + self.value(continuation, allowUTF8: allowUTF8)
        }
        return out + "\r\n"
    }

    /// One header-safe piece of text: control characters become spaces, non-ASCII "?"
    /// unless `allowUTF8` (RFC 6532 headers), capped at `maxValueLength` bytes.
    public static func value(_ text: String, allowUTF8: Bool = false) -> String {
        if text.utf8.count <= maxValueLength,
           !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || (!allowUTF8 && $0 >= 0x80) }) {
            return text
        }
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F { out.append(" ") }
            else if scalar.value > 0x7F && !allowUTF8 { out.append("?") }
            else { out.unicodeScalars.append(scalar) }
            if out.utf8.count >= maxValueLength { out += "..."; break }
        }
        return out
    }

    /// `text` with every control character turned into a space (for body text the
    /// server writes, such as a bounce's explanation; no length cap).
    public static func withoutControls(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            out.append(scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar)
        }
        return String(out)
    }

    /// Text for inside a comment "( … )": also escapes "(", ")" and "\" (RFC 5322 §3.2.2
    /// quoted-pair), so the text cannot close the comment and swallow what follows.
    public static func commentText(_ text: String) -> String {
        var out = ""
        for character in value(text).unicodeScalars {
            if character == "(" || character == ")" || character == "\\" { out.append("\\") }
            out.unicodeScalars.append(character)
        }
        return out
    }

    /// A field name: printable ASCII but ":" (RFC 5322 §3.6.8); anything else becomes "-".
    public static func fieldName(_ name: String) -> String {
        guard name.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: ":") }) || name.isEmpty else {
            return name
        }
        let cleaned = String(decoding: name.utf8.map { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: ":") ? UInt8(ascii: "-") : $0 },
                             as: UTF8.self)
        return cleaned.isEmpty ? "X-Empty" : cleaned
    }

    /// "Return-Path: <sender>" CRLF (RFC 5321 §4.4); the null sender is "<>".
    public static func returnPath(_ sender: String) -> String {
        line("Return-Path", "<" + sender + ">", allowUTF8: true)
    }
}
