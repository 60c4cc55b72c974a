// `Resolver` over libresolv (res_nquery with a private state per call, via CResolv),
// parsing the answers with `DNSMessage`. The nameserver can be overridden (IPv4
// address and port, e.g. dnsmasq on a loopback port in tests). Queries block, so the
// async methods run them through `runBlocking` (inject NIOThreadPool in the server).
import CResolv
import Dispatch

public struct SystemResolver: Resolver {
    public struct Configuration: Sendable, Equatable {
        /// IPv4 address of the nameserver; nil uses /etc/resolv.conf.
        public var nameserver: String?
        public var port: Int
        /// Seconds per try, and tries per nameserver.
        public var timeout: Int
        public var attempts: Int

        public init(nameserver: String? = nil, port: Int = 53, timeout: Int = 5, attempts: Int = 2) {
            self.nameserver = nameserver; self.port = port; self.timeout = timeout; self.attempts = attempts
        }

        /// From `delivery.nameserver` ("127.0.0.1:5353" or "127.0.0.1"); nil when malformed.
        public init?(nameserver text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count) else { return nil }
            let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return nil }
            var port = 53
            if parts.count == 2 {
                guard let value = Int(parts[1]), (1...65535).contains(value) else { return nil }
                port = value
            }
            self.init(nameserver: String(parts[0]), port: port)
        }
    }

    public typealias BlockingRunner = @Sendable (@escaping @Sendable () -> Void) -> Void

    public let configuration: Configuration
    let runBlocking: BlockingRunner

    public init(configuration: Configuration = Configuration(),
                runBlocking: @escaping BlockingRunner = { DispatchQueue.global().async(execute: $0) }) {
        self.configuration = configuration
        self.runBlocking = runBlocking
    }

    static let typeA: Int32 = 1
    static let typeMX: Int32 = 15
    static let typeAAAA: Int32 = 28
    static let answerSize = 65536

    public func mx(_ domain: String) async throws(DNSError) -> [MXRecord] {
        try await offload { () throws(DNSError) in try mxBlocking(domain) }
    }

    public func addresses(_ host: String) async throws(DNSError) -> [String] {
        try await offload { () throws(DNSError) in try addressesBlocking(host) }
    }

    func offload<T: Sendable>(_ work: @escaping @Sendable () throws(DNSError) -> T) async throws(DNSError) -> T {
        let result: Result<T, DNSError> = await withCheckedContinuation { continuation in
            runBlocking {
                continuation.resume(returning: Result { () throws(DNSError) in try work() })
            }
        }
        return try result.get()
    }

    public func mxBlocking(_ domain: String) throws(DNSError) -> [MXRecord] {
        guard let message = try query(domain, type: Self.typeMX) else { return [] }
        return message.answers.compactMap {
            if case .mx(let preference, let exchange) = $0.data { MXRecord(preference: preference, exchange: exchange) } else { nil }
        }
    }

    public func addressesBlocking(_ host: String) throws(DNSError) -> [String] {
        let v4 = Result { () throws(DNSError) in try query(host, type: Self.typeA) }
        if case .failure(.nameNotFound) = v4 { throw .nameNotFound }
        let v6 = Result { () throws(DNSError) in try query(host, type: Self.typeAAAA) }
        var found: [String] = []
        for case .success(let message?) in [v4, v6] {
            for answer in message.answers {
                switch answer.data {
                case .a(let address), .aaaa(let address): found.append(address)
                default: break
                }
            }
        }
        if found.isEmpty {
            if case .failure(let error) = v4 { throw error }
            if case .failure(let error) = v6, error != .nameNotFound { throw error }
        }
        return found
    }

    /// The parsed answer, nil when the name exists without records of `type`.
    public func query(_ name: String, type: Int32) throws(DNSError) -> DNSMessage? {
        guard !name.isEmpty, name.utf8.count <= 253, !name.utf8.contains(0) else {
            throw .permanent("invalid name")
        }
        var answer = [UInt8](repeating: 0, count: Self.answerSize)
        let length = answer.withUnsafeMutableBufferPointer { buffer in
            if let nameserver = configuration.nameserver {
                mailgate_res_query(name, type, nameserver, Int32(configuration.port), Int32(configuration.timeout),
                                   Int32(configuration.attempts), buffer.baseAddress, Int32(buffer.count))
            } else {
                mailgate_res_query(name, type, nil, 0, Int32(configuration.timeout), Int32(configuration.attempts),
                                   buffer.baseAddress, Int32(buffer.count))
            }
        }
        switch length {
        case Int32(MAILGATE_DNS_NXDOMAIN): throw .nameNotFound
        case Int32(MAILGATE_DNS_NODATA): return nil
        case Int32(MAILGATE_DNS_PERMANENT): throw .permanent("the nameserver refused the query")
        case Int32(MAILGATE_DNS_INIT): throw .temporary("resolver initialisation failed")
        case ...0: throw .temporary("no answer from the nameserver")
        default: break
        }
        do {
            return try DNSMessage.parse(Array(answer.prefix(Int(length))))
        } catch {
            throw .temporary("malformed DNS answer: \(error.reason)")
        }
    }
}
