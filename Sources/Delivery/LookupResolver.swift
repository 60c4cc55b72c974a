// Mail routing's `Resolver` on top of the shared asynchronous `DNSLookupService`, so the
// queue runner and Lua's `mailgate.dns` use one resolver and one cache and no thread
// waits for DNS. NXDOMAIN is `nameNotFound`, NODATA an empty list, REFUSED `permanent`
// (DestinationResolver still retries it: it says more about our nameserver), every other
// failure `temporary`.
import MailCore

public struct LookupResolver: Resolver {
    public let service: any DNSLookupService
    /// Per lookup: the service tries its nameservers within this.
    public let timeout: Duration

    public init(service: any DNSLookupService, timeout: Duration = .seconds(10)) {
        self.service = service
        self.timeout = timeout
    }

    public func mx(_ domain: String) async throws(DNSError) -> [MXRecord] {
        try Self.records(await lookup(domain, .mx)).compactMap {
            if case .mx(let preference, let exchange) = $0 { MXRecord(preference: preference, exchange: exchange) } else { nil }
        }
    }

    /// A then AAAA, asked at the same time. NXDOMAIN for A means the host does not exist;
    /// a failure counts only when no address at all was found.
    public func addresses(_ host: String) async throws(DNSError) -> [String] {
        async let v6Result = lookup(host, .aaaa)
        let v4 = await lookup(host, .a)
        let v6 = await v6Result
        if case .nxdomain = v4 { throw .nameNotFound }
        var found: [String] = []
        for case .records(let records, _) in [v4, v6] {
            for case .address(let address) in records { found.append(address) }
        }
        if found.isEmpty {
            _ = try Self.records(v4)
            if case .failure = v6 { _ = try Self.records(v6) }
        }
        return found
    }

    func lookup(_ name: String, _ type: DNSRecordType) async -> DNSLookupResult {
        await withCheckedContinuation { continuation in
            service.lookup(name, type, timeout: timeout) { continuation.resume(returning: $0) }
        }
    }

    static func records(_ result: DNSLookupResult) throws(DNSError) -> [DNSRecordData] {
        switch result {
        case .records(let records, _): return records
        case .nodata: return []
        case .nxdomain: throw .nameNotFound
        case .failure(.refused): throw .permanent("the nameserver refused the query")
        case .failure(let failure): throw .temporary("DNS lookup failed: \(failure.rawValue)")
        }
    }
}
