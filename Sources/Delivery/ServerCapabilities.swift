// What a server offers in its EHLO reply (RFC 5321 §4.1.1.1): one keyword per line
// after the greeting line, with parameters. Unknown keywords are ignored; a HELO
// (or failed EHLO) session has none.

public struct ServerCapabilities: Sendable, Equatable {
    public var pipelining = false
    public var startTLS = false
    /// SIZE limit in bytes; 0 when advertised without a limit, nil when not advertised.
    public var size: Int?
    public var eightBitMIME = false
    public var smtpUTF8 = false
    public var dsn = false
    public var enhancedStatusCodes = false
    public var chunking = false
    /// SASL mechanisms, upper-cased.
    public var authMechanisms: Set<String> = []

    public init() {}

    /// Reads the extension lines of a 250 EHLO reply (the first line is the greeting).
    public init(ehlo reply: ServerReply) {
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let keyword = words.first?.uppercased() else { continue }
            let parameters = words.dropFirst().map { $0.uppercased() }
            switch keyword {
            case "PIPELINING": pipelining = true
            case "STARTTLS": startTLS = true
            case "SIZE": size = parameters.first.flatMap { Int($0) }.map { max(0, $0) } ?? 0
            case "8BITMIME": eightBitMIME = true
            case "SMTPUTF8": smtpUTF8 = true
            case "DSN": dsn = true
            case "ENHANCEDSTATUSCODES": enhancedStatusCodes = true
            case "CHUNKING": chunking = true
            case "AUTH": authMechanisms.formUnion(parameters)
            default:
                // Old servers advertise "AUTH=LOGIN PLAIN".
                if keyword.hasPrefix("AUTH=") {
                    authMechanisms.insert(String(keyword.dropFirst(5)))
                    authMechanisms.formUnion(parameters)
                }
            }
        }
    }
}
