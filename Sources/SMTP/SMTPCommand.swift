// RFC 5321 command grammar: one command line (CRLF already removed) in, one typed
// command or a typed syntax error (carrying its reply) out. No I/O, no state.
import MailCore

public enum SMTPCommand: Sendable, Equatable {
    case helo(String)
    case ehlo(String)
    /// `reversePath` nil is the null sender `<>`.
    case mail(reversePath: MailAddress?, parameters: [String: String])
    case rcpt(forwardPath: MailAddress, parameters: [String: String])
    case data
    case bdat(size: Int, last: Bool)
    case rset
    case noop
    case quit
    case vrfy(String)
    case expn(String)
    case help(String?)
    case starttls
    case auth(mechanism: String, initialResponse: String?)
}

public enum SMTPCommandParser {
    /// Parses a command line. `postmasterDomain` completes the bare `<postmaster>` recipient.
    public static func parse(_ line: Substring, postmasterDomain: String) throws(MailError) -> SMTPCommand {
        let verbEnd = line.firstIndex(of: " ") ?? line.endIndex
        let verb = line[..<verbEnd].uppercased()
        let argument = line[verbEnd...].drop { $0 == " " }
        switch verb {
        case "HELO", "EHLO":
            let name = argument.trimmingTrailingSpaces()
            guard !name.isEmpty, !name.contains(" ") else {
                throw MailError(501, "5.5.4", "Syntax: \(verb) hostname")
            }
            return verb == "EHLO" ? .ehlo(String(name)) : .helo(String(name))
        case "MAIL":
            let (path, parameters) = try pathAndParameters(argument, prefix: "FROM:", verb: "MAIL FROM:<address>")
            let utf8 = parameters["SMTPUTF8"] != nil
            if path.isEmpty { return .mail(reversePath: nil, parameters: parameters) }
            return .mail(reversePath: try address(path, allowUTF8: utf8, what: "sender"), parameters: parameters)
        case "RCPT":
            let (path, parameters) = try pathAndParameters(argument, prefix: "TO:", verb: "RCPT TO:<address>")
            if path.isEmpty { throw MailError(501, "5.1.3", "Empty recipient address") }
            if path.lowercased() == "postmaster" {
                return .rcpt(forwardPath: MailAddress(localPart: "postmaster", domain: postmasterDomain),
                             parameters: parameters)
            }
            return .rcpt(forwardPath: try address(path, allowUTF8: true, what: "recipient"), parameters: parameters)
        case "DATA":
            try noArgument(argument, verb)
            return .data
        case "BDAT":
            let parts = argument.split(separator: " ")
            guard (1...2).contains(parts.count), let size = Int(parts[0]), size >= 0,
                  parts.count == 1 || parts[1].uppercased() == "LAST"
            else { throw MailError(501, "5.5.4", "Syntax: BDAT chunk-size [LAST]") }
            return .bdat(size: size, last: parts.count == 2)
        case "RSET":
            try noArgument(argument, verb)
            return .rset
        case "NOOP":
            return .noop
        case "QUIT":
            try noArgument(argument, verb)
            return .quit
        case "VRFY":
            guard !argument.isEmpty else { throw MailError(501, "5.5.4", "Syntax: VRFY address") }
            return .vrfy(String(argument))
        case "EXPN":
            guard !argument.isEmpty else { throw MailError(501, "5.5.4", "Syntax: EXPN list") }
            return .expn(String(argument))
        case "HELP":
            return .help(argument.isEmpty ? nil : String(argument))
        case "STARTTLS":
            try noArgument(argument, verb)
            return .starttls
        case "AUTH":
            let parts = argument.split(separator: " ", omittingEmptySubsequences: true)
            guard (1...2).contains(parts.count) else { throw MailError(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]") }
            return .auth(mechanism: parts[0].uppercased(), initialResponse: parts.count == 2 ? String(parts[1]) : nil)
        default:
            throw MailError(500, "5.5.2", "Command unrecognized")
        }
    }

    static func noArgument(_ argument: Substring, _ verb: String) throws(MailError) {
        guard argument.trimmingTrailingSpaces().isEmpty else { throw MailError(501, "5.5.4", "Syntax: \(verb) takes no arguments") }
    }

    /// Splits "FROM:<path> KEY=VALUE ..." into the path (without brackets and source route)
    /// and upper-cased ESMTP parameter keywords.
    static func pathAndParameters(_ argument: Substring, prefix: String, verb: String) throws(MailError)
        -> (path: String, parameters: [String: String]) {
        guard argument.count >= prefix.count, argument.prefix(prefix.count).uppercased() == prefix else {
            throw MailError(501, "5.5.4", "Syntax: \(verb)")
        }
        // Many clients send "MAIL FROM: <a@b>"; accept the stray space as Postfix does.
        let rest = argument.dropFirst(prefix.count).drop { $0 == " " }
        guard rest.first == "<" else { throw MailError(501, "5.5.4", "Syntax: \(verb) (angle brackets required)") }
        guard let close = closingBracket(rest) else { throw MailError(501, "5.5.4", "Syntax: \(verb) (missing '>')") }
        var path = rest[rest.index(after: rest.startIndex)..<close]
        let tail = rest[rest.index(after: close)...]
        // RFC 5321 §4.1.2 source route "@a,@b:user@c": ignored, as §C says it may be.
        if path.first == "@" {
            guard let colon = path.firstIndex(of: ":") else { throw MailError(501, "5.1.3", "Bad address syntax") }
            path = path[path.index(after: colon)...]
        }
        var parameters: [String: String] = [:]
        if !tail.isEmpty {
            guard tail.first == " " else { throw MailError(501, "5.5.4", "Syntax: \(verb)") }
            for item in tail.split(separator: " ") {
                let pieces = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = pieces[0].uppercased()
                guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                    throw MailError(501, "5.5.4", "Bad parameter syntax")
                }
                guard parameters[key] == nil else { throw MailError(501, "5.5.4", "Duplicate parameter \(key)") }
                parameters[key] = pieces.count == 2 ? String(pieces[1]) : ""
            }
        }
        return (String(path), parameters)
    }

    /// Index of the '>' closing the path, skipping quoted strings ("a>b"@x).
    static func closingBracket(_ text: Substring) -> Substring.Index? {
        var inQuotes = false
        var escaped = false
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let char = text[index]
            if escaped { escaped = false }
            else if char == "\\" && inQuotes { escaped = true }
            else if char == "\"" { inQuotes.toggle() }
            else if char == ">" && !inQuotes { return index }
            index = text.index(after: index)
        }
        return nil
    }

    static func address(_ path: String, allowUTF8: Bool, what: String) throws(MailError) -> MailAddress {
        do {
            return try MailAddress.parse(path, allowUTF8: allowUTF8)
        } catch {
            switch error {
            case .tooLong: throw MailError(501, "5.1.3", "Bad \(what) address syntax (too long)")
            case .badDomain: throw MailError(501, "5.1.2", "Bad \(what) address syntax (domain)")
            default: throw MailError(501, "5.1.3", "Bad \(what) address syntax")
            }
        }
    }
}

extension Substring {
    func trimmingTrailingSpaces() -> Substring {
        var text = self
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
