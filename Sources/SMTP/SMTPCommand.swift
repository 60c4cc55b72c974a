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
            // On bytes: Substring.contains(String) goes through Foundation's range(of:),
            // ~1 % of an SMTP profile for one space check per connection.
            // One word without controls (RFC 5321 §4.1.1.1: Domain / address-literal). Names
            // that are not domains are still taken, as real clients send them; the
            // Received field then quotes them in a comment.
            guard !name.isEmpty, !name.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
                throw MailError(501, "5.5.4", "Syntax: \(verb) hostname")
            }
            return verb == "EHLO" ? .ehlo(String(name)) : .helo(String(name))
        case "MAIL":
            let (path, parameters) = try pathAndParameters(argument, prefix: "FROM:", verb: "MAIL FROM:<address>")
            if path.isEmpty { return .mail(reversePath: nil, parameters: parameters) }
            let sender = try address(path, allowUTF8: true, what: "sender")
            if parameters["SMTPUTF8"] == nil, !path.utf8.allSatisfy({ $0 < 0x80 }) {
                throw MailError(553, "5.6.7", "Non-ASCII sender address needs SMTPUTF8")
            }
            return .mail(reversePath: sender, parameters: parameters)
        case "RCPT":
            let (path, parameters) = try pathAndParameters(argument, prefix: "TO:", verb: "RCPT TO:<address>")
            if path.isEmpty { throw MailError(501, "5.1.3", "Empty recipient address") }
            if path.utf8.count == 10, path.lowercased() == "postmaster" {
                return .rcpt(forwardPath: MailAddress(localPart: "postmaster", domain: postmasterDomain),
                             parameters: parameters)
            }
            return .rcpt(forwardPath: try address(path, allowUTF8: true, what: "recipient"), parameters: parameters)
        case "DATA":
            try noArgument(argument, verb)
            return .data
        case "BDAT":
            let parts = argument.split(separator: " ")
            guard (1...2).contains(parts.count), let size = decimal(parts[0]),
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
    /// and upper-cased ESMTP parameter keywords. Scans UTF-8 bytes: every delimiter is
    /// ASCII, so byte positions are valid Substring indices (counting Characters to check
    /// the prefix walked the whole line through grapheme breaking).
    static func pathAndParameters(_ argument: Substring, prefix: String, verb: String) throws(MailError)
        -> (path: String, parameters: [String: String]) {
        let bytes = argument.utf8
        var index = bytes.startIndex
        for expected in prefix.utf8 {
            guard index < bytes.endIndex, asciiUppercased(bytes[index]) == expected else {
                throw MailError(501, "5.5.4", "Syntax: \(verb)")
            }
            index = bytes.index(after: index)
        }
        // Many clients send "MAIL FROM: <a@b>"; accept the stray space as Postfix does.
        while index < bytes.endIndex, bytes[index] == UInt8(ascii: " ") { index = bytes.index(after: index) }
        guard index < bytes.endIndex, bytes[index] == UInt8(ascii: "<") else {
            throw MailError(501, "5.5.4", "Syntax: \(verb) (angle brackets required)")
        }
        let open = index
        guard let close = closingBracket(bytes, after: open) else {
            throw MailError(501, "5.5.4", "Syntax: \(verb) (missing '>')")
        }
        var path = argument[bytes.index(after: open)..<close]
        let tail = argument[bytes.index(after: close)...]
        // RFC 5321 §4.1.2 source route "@a,@b:user@c": ignored, as §C says it may be.
        if path.utf8.first == UInt8(ascii: "@") {
            guard let colon = path.utf8.firstIndex(of: UInt8(ascii: ":")) else {
                throw MailError(501, "5.1.3", "Bad address syntax")
            }
            path = path[path.utf8.index(after: colon)...]
        }
        var parameters: [String: String] = [:]
        if !tail.isEmpty {
            guard tail.utf8.first == UInt8(ascii: " ") else { throw MailError(501, "5.5.4", "Syntax: \(verb)") }
            for item in tail.split(separator: " ") {
                // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
                // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 (RFC 6531 §4.2).
                let pieces = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let keyBytes = pieces[0].utf8
                guard let first = keyBytes.first, isASCIIAlphanumeric(first),
                      keyBytes.allSatisfy({ isASCIIAlphanumeric($0) || $0 == UInt8(ascii: "-") })
                else { throw MailError(501, "5.5.4", "Bad parameter syntax") }
                if pieces.count == 2 {
                    guard !pieces[1].isEmpty,
                          pieces[1].utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "=") })
                    else { throw MailError(501, "5.5.4", "Bad parameter value") }
                }
                let key = pieces[0].uppercased()
                guard parameters[key] == nil else { throw MailError(501, "5.5.4", "Duplicate parameter \(key)") }
                parameters[key] = pieces.count == 2 ? String(pieces[1]) : ""
            }
        }
        return (String(path), parameters)
    }

    static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
    }

    /// A non-negative decimal number written with digits only ("+5", " 5" and "0x5" are
    /// not numbers in SMTP), or nil; nil also past 18 digits.
    static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return Int(text)
    }

    static func asciiUppercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }

    /// Index of the '>' closing the path that opens at `open`, skipping quoted strings
    /// ("a>b"@x) and quoted pairs inside them.
    static func closingBracket(_ bytes: Substring.UTF8View, after open: Substring.Index) -> Substring.Index? {
        var inQuotes = false
        var escaped = false
        var index = bytes.index(after: open)
        while index < bytes.endIndex {
            let byte = bytes[index]
            if escaped { escaped = false }
            else if byte == UInt8(ascii: "\\") && inQuotes { escaped = true }
            else if byte == UInt8(ascii: "\"") { inQuotes.toggle() }
            else if byte == UInt8(ascii: ">") && !inQuotes { return index }
            index = bytes.index(after: index)
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
