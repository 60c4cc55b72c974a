// The DNS questions mail routing asks, behind a protocol so the queue runner can use
// the system resolver, an async one, or a test double.

public struct MXRecord: Sendable, Hashable {
    public var preference: Int
    /// Host name without the trailing dot; "" for the root (null MX, RFC 7505).
    public var exchange: String
    public init(preference: Int, exchange: String) { self.preference = preference; self.exchange = exchange }
}

public enum DNSError: Error, Sendable, Equatable {
    /// The name does not exist (NXDOMAIN).
    case nameNotFound
    /// Try again later: timeout, SERVFAIL, no nameserver.
    case temporary(String)
    /// The question can never be answered (REFUSED, FORMERR, a malformed answer…).
    case permanent(String)
}

public protocol Resolver: Sendable {
    /// MX records of `domain`; [] when the domain exists without MX records.
    func mx(_ domain: String) async throws(DNSError) -> [MXRecord]
    /// IPv4 then IPv6 addresses of `host`; [] when it exists without any.
    func addresses(_ host: String) async throws(DNSError) -> [String]
}
