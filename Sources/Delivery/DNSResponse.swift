// Turns the bytes a nameserver sent into the outcome of one lookup: whether they answer
// our question at all (RFC 5452 §9.1: ID and question must match, or the packet is
// ignored as a possible spoof), whether to ask again over TCP (TC), and otherwise the
// `DNSLookupResult` with how long it may be cached: positive answers for the smallest
// TTL on the way (CNAMEs included), negative ones per RFC 2308 §5 from the SOA in the
// authority section, failures never. CNAME chains inside the answer are followed.
// Answers are bounded: too many records or too much TXT is `too_large`, not memory.
import MailCore

public struct DNSAnswerLimits: Sendable, Equatable {
    /// Records of the asked type in one answer.
    public var maxRecords = 100
    /// TXT: the bytes of every string of the answer together (SPF needs a few KiB).
    public var maxTextBytes = 16 * 1024
    /// Cache bounds: positive answers at most a day, negative ones at most an hour.
    public var maxPositiveTTL: UInt32 = 86_400
    public var maxNegativeTTL: UInt32 = 3_600
    /// CNAMEs followed inside one answer.
    public var maxChain = 8
    public init() {}
}

public enum DNSResponseVerdict: Sendable, Equatable {
    /// Not an answer to our question (other ID or question, not a response): keep waiting.
    case ignore
    /// The answer was truncated (TC): ask again over TCP.
    case truncated
    /// The outcome, to be cached for `cacheTTL` seconds (0: not cached).
    case result(DNSLookupResult, cacheTTL: UInt32)
}

public enum DNSResponse {
    public static func classify(_ bytes: [UInt8], id: UInt16, name: String, type: DNSRecordType,
                                overTCP: Bool = false, limits: DNSAnswerLimits = DNSAnswerLimits()) -> DNSResponseVerdict {
        // A packet that does not carry our ID is not ours, whatever else it holds.
        guard bytes.count >= 4, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id, bytes[2] & 0x80 != 0 else {
            return .ignore
        }
        let message: DNSMessage
        do {
            message = try DNSMessage.parse(bytes)
        } catch {
            return .result(.failure(error.isTooLarge ? .tooLarge : .malformed), cacheTTL: 0)
        }
        let wanted = presentationName(name)
        if message.questions.count == 1 {
            guard message.questions[0].lowercased() == wanted, message.questionTypes[0] == Int(type.rawValue) else {
                return .ignore
            }
        } else if !(message.questions.isEmpty && [1, 2, 4, 5].contains(message.responseCode)) {
            // Only an error answer may leave the question out (some servers do for FORMERR/REFUSED).
            return .ignore
        }
        if message.truncated && !overTCP { return .truncated }
        switch message.responseCode {
        case 0: break
        case 3: return .result(.nxdomain, cacheTTL: negativeTTL(message, limits))
        case 2: return .result(.failure(.servfail), cacheTTL: 0)
        case 1, 4, 5: return .result(.failure(.refused), cacheTTL: 0)
        default: return .result(.failure(.malformed), cacheTTL: 0)
        }

        // Follow the CNAME chain from the question name (unless CNAME itself was asked).
        var current = wanted
        var ttl = UInt32.max
        var found: [DNSMessage.Record] = []
        for _ in 0...limits.maxChain {
            found = message.answers.filter { $0.name.lowercased() == current && matches($0.data, type) }
            if !found.isEmpty || type == .cname { break }
            guard let alias = message.answers.first(where: {
                if case .cname = $0.data { $0.name.lowercased() == current } else { false }
            }), case .cname(let target) = alias.data else { break }
            ttl = min(ttl, alias.ttl)
            current = target.lowercased()
        }
        guard !found.isEmpty else { return .result(.nodata, cacheTTL: negativeTTL(message, limits)) }
        guard found.count <= limits.maxRecords else { return .result(.failure(.tooLarge), cacheTTL: 0) }

        var records: [DNSRecordData] = []
        var textBytes = 0
        for record in found {
            ttl = min(ttl, record.ttl)
            switch record.data {
            case .a(let address), .aaaa(let address): records.append(.address(address))
            case .mx(let preference, let exchange): records.append(.mx(preference: preference, exchange: exchange.lowercased()))
            case .cname(let target), .ptr(let target), .ns(let target): records.append(.name(target.lowercased()))
            case .soa(let soa): records.append(.name(soa.mname.lowercased()))
            case .txt(let strings):
                let joined = strings.flatMap { $0 }
                textBytes += joined.count
                guard textBytes <= limits.maxTextBytes else { return .result(.failure(.tooLarge), cacheTTL: 0) }
                records.append(.text(String(decoding: joined, as: UTF8.self)))
            case .other: break
            }
        }
        if type == .mx {
            // By preference; the order among equals is kept (DestinationResolver shuffles those).
            records = records.enumerated().sorted {
                guard case .mx(let a, _) = $0.element, case .mx(let b, _) = $1.element else { return $0.offset < $1.offset }
                return (a, $0.offset) < (b, $1.offset)
            }.map(\.element)
        }
        return .result(.records(records, ttl: ttl), cacheTTL: min(ttl, limits.maxPositiveTTL))
    }

    /// RFC 2308 §5: the SOA record's TTL, but no more than its MINIMUM field; without an
    /// SOA the negative answer is not cached.
    static func negativeTTL(_ message: DNSMessage, _ limits: DNSAnswerLimits) -> UInt32 {
        for record in message.authority {
            if case .soa(let soa) = record.data { return min(record.ttl, soa.minimum, limits.maxNegativeTTL) }
        }
        return 0
    }

    static func matches(_ data: DNSMessage.RecordData, _ type: DNSRecordType) -> Bool {
        switch (data, type) {
        case (.a, .a), (.aaaa, .aaaa), (.mx, .mx), (.cname, .cname), (.txt, .txt), (.ptr, .ptr), (.ns, .ns), (.soa, .soa):
            true
        default:
            false
        }
    }

    /// `name` as the parser prints names: lower-case, no trailing dot, odd bytes as \DDD.
    public static func presentationName(_ name: String) -> String {
        var text = Substring(name)
        if text.hasSuffix(".") { text = text.dropLast() }
        return Array(text.utf8).split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            .map { DNSMessage.Reader.label($0) }.joined(separator: ".").lowercased()
    }
}
