// The asynchronous DNS lookup every part of the server shares: Lua's `mailgate.dns`,
// the outbound MX resolution and (later) SPF/DKIM/DMARC. The outcome tells a name
// that does not exist, a name without records of the type, and the ways a lookup
// can fail apart, because SPF's temperror and DNSBL logic need the difference.

/// The record types a lookup may ask for.
public enum DNSRecordType: UInt16, Sendable, Hashable, CaseIterable {
    case a = 1
    case ns = 2
    case cname = 5
    case soa = 6
    case ptr = 12
    case mx = 15
    case txt = 16
    case aaaa = 28

    /// "A", "AAAA", "MX" … as operators and Lua write them.
    public var name: String {
        switch self {
        case .a: "A"
        case .ns: "NS"
        case .cname: "CNAME"
        case .soa: "SOA"
        case .ptr: "PTR"
        case .mx: "MX"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        }
    }

    public init?(name: String) {
        guard let type = Self.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = type
    }
}

/// One record of an answer, in the form callers use.
public enum DNSRecordData: Sendable, Hashable {
    /// A or AAAA: the address as text ("192.0.2.1", "2001:db8::1").
    case address(String)
    /// MX: the exchange without the trailing dot ("" for a null MX, RFC 7505).
    case mx(preference: Int, exchange: String)
    /// TXT: the record's character-strings concatenated (RFC 7208 §3.3).
    case text(String)
    /// PTR, CNAME, NS: the target name without the trailing dot.
    case name(String)
}

/// Why a lookup gave no answer. Each is a failure of the lookup, not a fact about
/// the name: callers treat them as temporary.
public enum DNSFailure: String, Sendable, Hashable {
    /// The server answered SERVFAIL.
    case servfail
    /// The server refused the question (REFUSED, NOTIMP).
    case refused
    /// No answer in time from any nameserver.
    case timeout
    /// The answer could not be parsed, or did not match the question.
    case malformed
    /// The answer is larger than the bound the caller set.
    case tooLarge = "too_large"
    /// No nameserver could be reached (no route, connection refused, none configured).
    case unreachable
}

/// The outcome of one lookup.
public enum DNSLookupResult: Sendable, Hashable {
    /// Records of the type asked for (never empty), valid for `ttl` seconds.
    case records([DNSRecordData], ttl: UInt32)
    /// The name does not exist (NXDOMAIN).
    case nxdomain
    /// The name exists but has no records of the type (NOERROR, empty answer).
    case nodata
    case failure(DNSFailure)

    /// The word Lua sees as the error value: "nxdomain", "nodata" or the failure.
    public var errorName: String? {
        switch self {
        case .records: nil
        case .nxdomain: "nxdomain"
        case .nodata: "nodata"
        case .failure(let failure): failure.rawValue
        }
    }
}

/// Something that answers DNS questions without blocking the caller: `completion`
/// is called exactly once, on any thread, within `timeout` (plus scheduling).
public protocol DNSLookupService: Sendable {
    func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                _ completion: @escaping @Sendable (DNSLookupResult) -> Void)
}
