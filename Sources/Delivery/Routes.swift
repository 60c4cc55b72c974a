// Static routes (`[routes."example.net"]` in mailgate.toml): mail for a domain goes to
// a fixed host (a smarthost) instead of its MX, with its own TLS policy and optional
// AUTH. "*" routes every domain without its own entry. Model only: the Gateway reads
// the configuration into a `RouteTable`.

public struct Route: Sendable, Equatable {
    /// Host name or IP address (no MX lookup: the name's own A/AAAA records are used).
    public var host: String
    public var port: Int
    public var tls: TLSPolicy
    public var credentials: SMTPCredentials?

    public init(host: String, port: Int = 25, tls: TLSPolicy = .opportunistic, credentials: SMTPCredentials? = nil) {
        self.host = host; self.port = port; self.tls = tls; self.credentials = credentials
    }

    /// From "host", "host:port", "192.0.2.1:2526" or "[2001:db8::1]:25"; nil when malformed.
    public init?(hostAndPort text: String, tls: TLSPolicy = .opportunistic, credentials: SMTPCredentials? = nil) {
        var host = Substring(text)
        var port = 25
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.first == ":", let value = Int(rest.dropFirst()) else { return nil }
                port = value
            }
        } else if host.filter({ $0 == ":" }).count > 1 {
            return nil   // an IPv6 address needs brackets: "[2001:db8::1]:25"
        } else if let colon = host.lastIndex(of: ":") {
            guard let value = Int(host[host.index(after: colon)...]) else { return nil }
            port = value
            host = host[..<colon]
        }
        guard !host.isEmpty, (1...65535).contains(port), DomainCheck.problem(String(host)) == nil
                || IPLiteral.isAddress(String(host)) else { return nil }
        self.init(host: String(host), port: port, tls: tls, credentials: credentials)
    }
}

public struct RouteTable: Sendable, Equatable {
    public var routes: [String: Route]

    public init(_ routes: [String: Route] = [:]) {
        self.routes = Dictionary(routes.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    /// The route for `domain`: its own entry, else "*", else nil (deliver by MX).
    public func route(for domain: String) -> Route? {
        routes[domain.lowercased()] ?? routes["*"]
    }
}

enum IPLiteral {
    static func isIPv4(_ text: String) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }
    }

    static func isIPv6(_ text: String) -> Bool {
        text.contains(":") && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } && text.count <= 45
    }

    static func isAddress(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }
}

/// Why a domain can never be found in DNS, said so a user understands (a stray
/// trailing space is the classic case).
public enum DomainCheck {
    public static func problem(_ domain: String) -> String? {
        if domain.isEmpty { return "is empty" }
        if domain.last == " " || domain.last == "\t" { return "ends with a space" }
        if domain.first == " " || domain.first == "\t" { return "starts with a space" }
        if domain.contains(" ") || domain.contains("\t") { return "contains a space" }
        if let bad = domain.unicodeScalars.first(where: { $0.value < 32 || $0.value == 127 }) {
            return "contains the control character \\x\(String(bad.value, radix: 16))"
        }
        if domain.utf8.count > 253 { return "is longer than 253 characters" }
        if domain.hasPrefix(".") { return "starts with a dot" }
        if domain.contains("..") { return "has two dots in a row" }
        let labels = domain.hasSuffix(".") ? domain.dropLast().split(separator: ".") : domain.split(separator: ".")
        for label in labels {
            if label.utf8.count > 63 { return "has a part longer than 63 characters" }
            if let bad = label.first(where: { !($0.isASCII && ($0.isLetter || $0.isNumber)) && $0 != "-" && $0 != "_" }) {
                return "contains the character \"\(bad)\""
            }
            if label.hasPrefix("-") || label.hasSuffix("-") { return "has a part that starts or ends with \"-\"" }
        }
        return nil
    }
}
