// POP3 status lines (RFC 1939 §3) with RFC 2449 response codes ("-ERR [IN-USE] …",
// RFC 3206 AUTH and SYS/TEMP, SYS/PERM), multi-line replies (dot-stuffed, ended by
// "."), SASL continuations ("+ base64", RFC 5034), the typed error that carries a
// reply, and the mapping of a policy verdict's SMTP-style reply to a POP3 one.
import MailCore

public struct POP3Reply: Sendable, Equatable, CustomStringConvertible {
    public enum Status: Sendable, Equatable {
        case ok
        case error
        /// A SASL challenge: "+ " followed by base64 (RFC 5034 §4).
        case continuation
    }

    public var status: Status
    /// RFC 2449 response code without brackets ("AUTH", "SYS/TEMP", "LOGIN-DELAY", …).
    public var code: String?
    public var text: String
    /// The body of a multi-line reply (CAPA, LIST, UIDL), without stuffing; nil for one line.
    public var lines: [String]?

    public init(status: Status, code: String? = nil, text: String, lines: [String]? = nil) {
        self.status = status
        self.code = code
        // A status line is one line whatever the text holds (policy texts may have several).
        // (Scalars, not Characters: "\r\n" is one Character.)
        if text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
            var scalars = String.UnicodeScalarView()
            for scalar in text.unicodeScalars { scalars.append(scalar == "\r" || scalar == "\n" ? " " : scalar) }
            self.text = String(scalars)
        } else {
            self.text = text
        }
        self.lines = lines
    }

    public static func ok(_ text: String = "", lines: [String]? = nil) -> POP3Reply {
        POP3Reply(status: .ok, text: text, lines: lines)
    }

    public static func error(_ text: String, code: String? = nil) -> POP3Reply {
        POP3Reply(status: .error, code: code, text: text)
    }

    public static func continuation(_ base64: String) -> POP3Reply {
        POP3Reply(status: .continuation, text: base64)
    }

    public var isPositive: Bool { status != .error }

    /// Wire form, CRLF-terminated; a multi-line body is dot-stuffed and ends with ".\r\n".
    public var wire: String {
        var out: String
        switch status {
        case .ok: out = "+OK"
        case .error: out = "-ERR"
        case .continuation: out = "+"
        }
        if let code { out += " [\(code)]" }
        if !text.isEmpty || status == .continuation { out += " " + text }
        out += "\r\n"
        if let lines {
            for line in lines {
                if line.hasPrefix(".") { out += "." }
                out += line
                out += "\r\n"
            }
            out += ".\r\n"
        }
        return out
    }

    public var description: String {
        let wire = self.wire
        guard let end = wire.unicodeScalars.firstIndex(of: "\r") else { return wire }
        return String(wire.unicodeScalars[..<end])
    }
}

/// RFC 2449 §8 / RFC 3206 response codes used by mailgate.
public enum POP3ResponseCode {
    public static let auth = "AUTH"
    public static let systemTemporary = "SYS/TEMP"
    public static let systemPermanent = "SYS/PERM"
    public static let inUse = "IN-USE"
    public static let loginDelay = "LOGIN-DELAY"
}

/// Bad peer input or a refused command: the reply says it all.
public struct POP3Error: Error, Sendable, Equatable, CustomStringConvertible {
    public var reply: POP3Reply
    public init(_ reply: POP3Reply) { self.reply = reply }
    public init(_ text: String, code: String? = nil) { self.reply = .error(text, code: code) }
    public var description: String { reply.description }
}

extension POP3Reply {
    /// The `-ERR` for a policy reply (SMTP code + enhanced code + text). A text that
    /// starts with a response code ("[LOGIN-DELAY] Login allowed once per 60 seconds")
    /// keeps it; otherwise a 4xx becomes [SYS/TEMP] and anything else `permanentCode`.
    public static func policyError(_ reply: Reply, permanentCode: String) -> POP3Reply {
        let text = reply.lines.joined(separator: " ")
        if let (code, rest) = leadingResponseCode(text) {
            return .error(rest, code: code)
        }
        return .error(text, code: reply.isTemporary ? POP3ResponseCode.systemTemporary : permanentCode)
    }

    /// Splits "[CODE] text" (RFC 2449 §8: atoms separated by "/") into code and text.
    static func leadingResponseCode(_ text: String) -> (String, String)? {
        guard text.first == "[", let close = text.firstIndex(of: "]") else { return nil }
        let code = text[text.index(after: text.startIndex)..<close]
        guard !code.isEmpty, code.count <= 64, code.first != "/", code.last != "/",
              code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "/") })
        else { return nil }
        let rest = text[text.index(after: close)...].drop { $0 == " " }
        return (code.uppercased(), String(rest))
    }
}
