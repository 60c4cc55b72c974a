// POP3 command grammar (RFC 1939, 2449 CAPA, 2595 STLS, 5034 AUTH): one command
// line (terminator removed) in, one typed command or a typed error carrying its
// "-ERR" reply out. Keywords are case-insensitive. No I/O, no state: which command
// is allowed in which state is the session's business.

public enum POP3Command: Sendable, Equatable {
    case user(String)
    /// The password is everything after "PASS " (passwords may contain spaces).
    case pass(String)
    /// `digest` is lower-cased hex, 32 digits.
    case apop(user: String, digest: String)
    /// `mechanism` nil: plain "AUTH", which lists the mechanisms (RFC 1734 style).
    /// `initialResponse` is base64 or "=" (empty), RFC 5034 §4.
    case auth(mechanism: String?, initialResponse: String?)
    case capa
    case stls
    case stat
    case list(Int?)
    case retr(Int)
    case dele(Int)
    case noop
    case rset
    case top(Int, lines: Int)
    case uidl(Int?)
    case quit
}

public enum POP3CommandParser {
    /// Parses one command line. Message numbers are 1-based; a number too large for
    /// `Int` becomes `Int.max` (the session answers "no such message").
    public static func parse(_ line: Substring) throws(POP3Error) -> POP3Command {
        let verbEnd = line.firstIndex(of: " ") ?? line.endIndex
        let verb = line[..<verbEnd].uppercased()
        let rest = verbEnd < line.endIndex ? line[line.index(after: verbEnd)...] : line[line.endIndex...]
        let arguments = rest.split(separator: " ", omittingEmptySubsequences: true)
        switch verb {
        case "USER":
            guard arguments.count == 1 else { throw POP3Error("Syntax: USER name") }
            return .user(String(arguments[0]))
        case "PASS":
            // RFC 1939 §7: the password may contain spaces; take the rest of the line as sent.
            guard !rest.isEmpty else { throw POP3Error("Syntax: PASS password") }
            return .pass(String(rest))
        case "APOP":
            guard arguments.count == 2 else { throw POP3Error("Syntax: APOP name digest") }
            let digest = arguments[1].lowercased()
            guard digest.utf8.count == 32, digest.utf8.allSatisfy(isHexDigit) else {
                throw POP3Error("Syntax: APOP name digest (digest is 32 hex digits)")
            }
            return .apop(user: String(arguments[0]), digest: digest)
        case "AUTH":
            guard arguments.count <= 2 else { throw POP3Error("Syntax: AUTH mechanism [initial-response]") }
            return .auth(mechanism: arguments.first.map { $0.uppercased() },
                         initialResponse: arguments.count == 2 ? String(arguments[1]) : nil)
        case "CAPA": try noArguments(arguments, verb); return .capa
        case "STLS": try noArguments(arguments, verb); return .stls
        case "STAT": try noArguments(arguments, verb); return .stat
        case "NOOP": try noArguments(arguments, verb); return .noop
        case "RSET": try noArguments(arguments, verb); return .rset
        case "QUIT": try noArguments(arguments, verb); return .quit
        case "LIST", "UIDL":
            guard arguments.count <= 1 else { throw POP3Error("Syntax: \(verb) [message]") }
            var number: Int?
            if let first = arguments.first { number = try Self.number(first, verb: verb) }
            return verb == "LIST" ? .list(number) : .uidl(number)
        case "RETR", "DELE":
            guard arguments.count == 1 else { throw POP3Error("Syntax: \(verb) message") }
            let number = try number(arguments[0], verb: verb)
            return verb == "RETR" ? .retr(number) : .dele(number)
        case "TOP":
            guard arguments.count == 2 else { throw POP3Error("Syntax: TOP message lines") }
            return .top(try number(arguments[0], verb: verb), lines: try number(arguments[1], verb: verb))
        default:
            throw POP3Error("Unknown command")
        }
    }

    static func noArguments(_ arguments: [Substring], _ verb: String) throws(POP3Error) {
        guard arguments.isEmpty else { throw POP3Error("Syntax: \(verb) takes no arguments") }
    }

    /// A non-negative decimal number; overflow saturates at `Int.max`.
    static func number(_ text: Substring, verb: String) throws(POP3Error) -> Int {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw POP3Error("Syntax: \(verb) needs a number, got \"\(text.prefix(20))\"")
        }
        return Int(text) ?? Int.max
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte)
    }
}
