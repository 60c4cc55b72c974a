// SMTP replies (RFC 5321 §4.2) with RFC 3463 enhanced status codes, and the typed
// error that carries one, so bad input always becomes a correct protocol answer.

public struct Reply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var enhanced: String?
    public var lines: [String]

    public init(_ code: Int, _ enhanced: String? = nil, _ text: String) {
        self.code = code
        self.enhanced = enhanced
        self.lines = Reply.lines(of: text)
    }

    public init(code: Int, enhanced: String?, lines: [String]) {
        self.code = code
        self.enhanced = enhanced
        self.lines = lines.isEmpty ? [""] : lines.flatMap(Reply.lines(of:))
    }

    /// Splits at CRLF, LF or CR. Works on scalars: in Swift "\r\n" is one Character,
    /// so a Character split on "\n" would leave a CRLF inside a line and let a policy
    /// text (which may echo client input) inject a reply line.
    static func lines(of text: String) -> [String] {
        // Nearly every reply is one line: no scalar-by-scalar rebuild then.
        if !text.utf8.contains(where: { $0 == 13 || $0 == 10 }) { return [text] }
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var afterCR = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n" where afterCR:
                afterCR = false
            case "\r", "\n":
                lines.append(String(current))
                current = String.UnicodeScalarView()
                afterCR = scalar == "\r"
            default:
                current.append(scalar)
                afterCR = false
            }
        }
        lines.append(String(current))
        return lines
    }

    public var isPositive: Bool { code < 400 }
    public var isTemporary: Bool { (400..<500).contains(code) }
    public var isPermanent: Bool { code >= 500 }
    public var text: String { lines.joined(separator: "\n") }

    /// Wire form: every line "ddd-" except the last "ddd ", each CRLF-terminated.
    public var wire: String {
        var out = ""
        for (index, line) in lines.enumerated() {
            out += String(code)
            out += index == lines.count - 1 ? " " : "-"
            if let enhanced { out += enhanced + " " }
            out += line
            out += "\r\n"
        }
        return out
    }

    public var description: String {
        "\(code)" + (enhanced.map { " " + $0 } ?? "") + " " + text
    }
}

/// A failure that has a correct SMTP answer.
public struct MailError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reply: Reply
    public init(_ reply: Reply) { self.reply = reply }
    public init(_ code: Int, _ enhanced: String?, _ text: String) {
        self.reply = Reply(code, enhanced, text)
    }
    public var description: String { reply.description }
}
