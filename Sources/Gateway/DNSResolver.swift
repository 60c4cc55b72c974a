// The server's one DNS resolver (issue 12): `mailgate.dns` in Lua and the queue runner's
// MX lookups (through Delivery.LookupResolver) share it and its cache. It runs on one
// event loop and never holds a thread while it waits:
// - each try is a UDP query from a fresh connected socket (a random source port from
//   the kernel and a random 16-bit ID, RFC 5452); an answer counts only if it comes from
//   that nameserver and carries our ID and question, anything else is ignored;
// - TC in the answer: the same question again over TCP to the same nameserver;
// - the nameservers are tried in turn for `attempts` rounds within the caller's timeout;
//   one that answered SERVFAIL/REFUSED/garbage or refused the connection is not asked
//   again for that lookup;
// - identical questions in flight share one lookup; answers are cached for their TTL
//   (DNSCache, DNSResponse decide what and how long). The cache alone is behind a lock
//   and read on the caller's thread first, so a cached answer costs no hop to the
//   resolver's loop (and a Lua hook call asking it never suspends).
// The wire format and every decision without I/O live in Delivery (DNSQuery,
// DNSResponse, DNSCache, DNSResolverConfiguration); this file only moves bytes.
import Delivery
import Foundation
import MailCore
import NIOCore
import NIOPosix

public final class DNSResolver: DNSLookupService, @unchecked Sendable {
    // @unchecked: `inFlight` and `nextWaiter` are touched on `eventLoop` only; `cache`
    // under `cacheLock`.
    public let configuration: DNSResolverConfiguration
    public let eventLoop: any EventLoop
    let limits: DNSAnswerLimits
    let servers: [SocketAddress?]
    var cache: DNSCache
    let cacheLock = NSLock()
    var inFlight: [DNSCache.Key: Lookup] = [:]
    var nextWaiter = 0

    /// The largest UDP datagram we read: a server that ignores our EDNS size still fits.
    static let datagramCapacity = 65_536

    public init(configuration: DNSResolverConfiguration, eventLoop: any EventLoop, cacheCapacity: Int = 10_000,
                limits: DNSAnswerLimits = DNSAnswerLimits()) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.limits = limits
        self.cache = DNSCache(capacity: cacheCapacity)
        self.servers = configuration.nameservers.map {
            try? SocketAddress(ipAddress: $0.host == "localhost" ? "127.0.0.1" : $0.host, port: $0.port)
        }
    }

    /// The nameservers of `[delivery] nameserver` when set, else of /etc/resolv.conf
    /// (with its timeout and attempts), else 127.0.0.1:53.
    public static func configuration(nameserver: DNSResolverConfiguration.Nameserver?,
                                     resolvConf path: String = "/etc/resolv.conf") -> DNSResolverConfiguration {
        let system = (try? String(contentsOfFile: path, encoding: .utf8)).map(DNSResolverConfiguration.parseResolvConf)
            ?? DNSResolverConfiguration()
        guard let nameserver else { return system }
        return DNSResolverConfiguration(nameservers: [nameserver], attemptTimeout: system.attemptTimeout,
                                        attempts: system.attempts)
    }

    /// Seconds on a clock that never jumps, for cache expiry.
    static func now() -> Double { Double(NIODeadline.now().uptimeNanoseconds) / 1e9 }

    // MARK: the lookup entry point

    public func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                       _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        guard DNSQuery.wireName(name) != nil else {
            // No DNS name can be spelt like that, so none exists.
            completion(.nxdomain)
            return
        }
        if let cached = cachedResult(DNSCache.Key(name: name, type: type)) {
            completion(cached)
            return
        }
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        eventLoop.execute { [self] in
            start(name, type, deadline: deadline, completion)
        }
    }

    /// Cached entries now (for status and tests).
    public func cachedCount() -> EventLoopFuture<Int> {
        eventLoop.submit { [self] in cacheLock.withLock { self.cache.count } }
    }

    struct Waiter {
        var completion: @Sendable (DNSLookupResult) -> Void
        var deadline: NIODeadline
        var timer: Scheduled<Void>?
    }

    /// One question in flight and everyone waiting for it.
    final class Lookup: @unchecked Sendable {
        // @unchecked: touched on the resolver's event loop only.
        let key: DNSCache.Key
        let name: String
        let type: DNSRecordType
        var waiters: [Int: Waiter] = [:]
        /// Tries made so far (index into the rotation over the nameservers).
        var tries = 0
        /// Nameservers that gave a final failure for this lookup.
        var doneServers: Set<Int> = []
        var failure: DNSFailure?
        /// The current try: its number (stale callbacks compare it), channel and timer.
        var generation = 0
        var server = 0
        var queryID: UInt16 = 0
        var channel: Channel?
        var timer: Scheduled<Void>?
        var finished = false

        init(key: DNSCache.Key, name: String, type: DNSRecordType) {
            self.key = key; self.name = name; self.type = type
        }

        var deadline: NIODeadline { waiters.values.map(\.deadline).max() ?? .now() }

        /// The worst thing that happened, for a lookup that ends without an answer: what a
        /// server said beats silence, and silence beats a refused connection.
        func note(_ new: DNSFailure) {
            let rank: (DNSFailure?) -> Int = {
                switch $0 {
                case nil: 0
                case .unreachable?: 1
                case .timeout?: 2
                default: 3
                }
            }
            if rank(new) >= rank(failure) { failure = new }
        }
    }

    func cachedResult(_ key: DNSCache.Key) -> DNSLookupResult? {
        cacheLock.withLock { cache.get(key, now: Self.now()) }
    }

    func start(_ name: String, _ type: DNSRecordType, deadline: NIODeadline,
               _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        let key = DNSCache.Key(name: name, type: type)
        if let cached = cachedResult(key) {
            completion(cached)
            return
        }
        let lookup: Lookup
        let isNew: Bool
        if let existing = inFlight[key] {
            lookup = existing
            isNew = false
        } else {
            lookup = Lookup(key: key, name: name, type: type)
            inFlight[key] = lookup
            isNew = true
        }
        nextWaiter += 1
        let waiterID = nextWaiter
        let timer = eventLoop.scheduleTask(deadline: deadline) { [self] in
            waiterTimedOut(lookup, waiterID)
        }
        lookup.waiters[waiterID] = Waiter(completion: completion, deadline: deadline, timer: timer)
        if isNew { nextTry(lookup) }
    }

    func waiterTimedOut(_ lookup: Lookup, _ waiterID: Int) {
        guard let waiter = lookup.waiters.removeValue(forKey: waiterID) else { return }
        // A server that failed outright says more than "timeout"; silence is a timeout.
        let failure: DNSFailure = lookup.failure == .unreachable || lookup.failure == nil ? .timeout : lookup.failure!
        waiter.completion(.failure(failure))
        if lookup.waiters.isEmpty { finish(lookup, nil, cacheTTL: 0) }
    }

    func finish(_ lookup: Lookup, _ result: DNSLookupResult?, cacheTTL: UInt32) {
        guard !lookup.finished else { return }
        lookup.finished = true
        lookup.generation += 1
        lookup.timer?.cancel()
        lookup.channel?.close(promise: nil)
        lookup.channel = nil
        if inFlight[lookup.key] === lookup { inFlight[lookup.key] = nil }
        if let result, cacheTTL > 0 {
            cacheLock.withLock { cache.put(lookup.key, result, ttl: cacheTTL, now: Self.now()) }
        }
        let waiters = lookup.waiters.values
        lookup.waiters = [:]
        for waiter in waiters {
            waiter.timer?.cancel()
            if let result { waiter.completion(result) }
        }
    }

    // MARK: tries

    /// Ends the current try and starts the next one, or finishes when none is left.
    func nextTry(_ lookup: Lookup) {
        guard !lookup.finished else { return }
        lookup.generation += 1
        lookup.timer?.cancel()
        lookup.channel?.close(promise: nil)
        lookup.channel = nil
        let count = servers.count
        let total = count * configuration.attempts
        var server: Int?
        while lookup.tries < total {
            let candidate = lookup.tries % count
            lookup.tries += 1
            if !lookup.doneServers.contains(candidate) { server = candidate; break }
        }
        let remaining = lookup.deadline - .now()
        guard let server, remaining > .zero else {
            finish(lookup, .failure(lookup.failure ?? .timeout), cacheTTL: 0)
            return
        }
        guard let address = servers[server],
              let query = DNSQuery.encode(id: 0, name: lookup.name, type: lookup.type) else {
            lookup.doneServers.insert(server)
            lookup.note(.unreachable)
            nextTry(lookup)
            return
        }
        lookup.server = server
        lookup.queryID = UInt16.random(in: 0...UInt16.max)
        var packet = query
        packet[0] = UInt8(lookup.queryID >> 8)
        packet[1] = UInt8(lookup.queryID & 0xFF)
        let bytes = packet

        // Share what is left among the tries still to come, so a lost packet is retried
        // within the caller's timeout; never less than a second (or what is left).
        let triesLeft = Int64(max(1, total - lookup.tries + 1))
        let share = TimeAmount.nanoseconds(remaining.nanoseconds / triesLeft)
        let perTry = min(TimeAmount(configuration.attemptTimeout), max(share, .seconds(1)), remaining)
        armTimer(lookup, after: perTry)

        let generation = lookup.generation
        DatagramBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.datagramCapacity))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        UDPAnswerHandler(resolver: self, lookup: lookup, generation: generation, server: address))
                }
            }
            .connect(to: address)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard lookup.generation == generation, !lookup.finished else {
                        channel.close(promise: nil)
                        return
                    }
                    lookup.channel = channel
                    var buffer = channel.allocator.buffer(capacity: bytes.count)
                    buffer.writeBytes(bytes)
                    channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: buffer)).whenFailure { [self] _ in
                        serverUnreachable(lookup, generation)
                    }
                case .failure:
                    serverUnreachable(lookup, generation)
                }
            }
    }

    func armTimer(_ lookup: Lookup, after amount: TimeAmount) {
        let generation = lookup.generation
        lookup.timer?.cancel()
        lookup.timer = eventLoop.scheduleTask(in: amount) { [self] in
            guard lookup.generation == generation else { return }
            lookup.note(.timeout)
            nextTry(lookup)
        }
    }

    /// The socket failed (ICMP port unreachable as ECONNREFUSED, no route…).
    func serverUnreachable(_ lookup: Lookup, _ generation: Int) {
        guard lookup.generation == generation, !lookup.finished else { return }
        lookup.doneServers.insert(lookup.server)
        lookup.note(.unreachable)
        nextTry(lookup)
    }

    /// Bytes from the nameserver of the current try, over UDP or TCP.
    func received(_ bytes: [UInt8], _ lookup: Lookup, _ generation: Int, overTCP: Bool) {
        guard lookup.generation == generation, !lookup.finished else { return }
        switch DNSResponse.classify(bytes, id: lookup.queryID, name: lookup.name, type: lookup.type,
                                    overTCP: overTCP, limits: limits) {
        case .ignore:
            // Over UDP a stray packet is dropped and we keep listening; over TCP the
            // connection is ours alone, so a wrong answer is the server's fault.
            if overTCP { serverFailed(lookup, .malformed) }
        case .truncated:
            startTCP(lookup)
        case .result(.failure(let failure), _):
            serverFailed(lookup, failure)
        case .result(let result, let cacheTTL):
            finish(lookup, result, cacheTTL: cacheTTL)
        }
    }

    func serverFailed(_ lookup: Lookup, _ failure: DNSFailure) {
        lookup.doneServers.insert(lookup.server)
        lookup.note(failure)
        // too_large is about the answer, not the server: another one would send the same.
        if failure == .tooLarge {
            finish(lookup, .failure(.tooLarge), cacheTTL: 0)
        } else {
            nextTry(lookup)
        }
    }

    /// Same question, same server, same ID, over TCP (RFC 7766), within what is left.
    func startTCP(_ lookup: Lookup) {
        guard let address = servers[lookup.server],
              let query = DNSQuery.encode(id: lookup.queryID, name: lookup.name, type: lookup.type) else { return }
        lookup.generation += 1
        let generation = lookup.generation
        lookup.channel?.close(promise: nil)
        lookup.channel = nil
        let remaining = lookup.deadline - .now()
        armTimer(lookup, after: min(TimeAmount(configuration.attemptTimeout), remaining))
        let bytes = [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query
        ClientBootstrap(group: eventLoop)
            .connectTimeout(max(remaining, .milliseconds(1)))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        TCPAnswerHandler(resolver: self, lookup: lookup, generation: generation))
                }
            }
            .connect(to: address)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard lookup.generation == generation, !lookup.finished else {
                        channel.close(promise: nil)
                        return
                    }
                    lookup.channel = channel
                    var buffer = channel.allocator.buffer(capacity: bytes.count)
                    buffer.writeBytes(bytes)
                    channel.writeAndFlush(buffer, promise: nil)
                case .failure:
                    serverUnreachable(lookup, generation)
                }
            }
    }
}

/// Reads the answers arriving on one try's UDP socket.
final class UDPAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let resolver: DNSResolver
    let lookup: DNSResolver.Lookup
    let generation: Int
    let server: SocketAddress

    init(resolver: DNSResolver, lookup: DNSResolver.Lookup, generation: Int, server: SocketAddress) {
        self.resolver = resolver; self.lookup = lookup; self.generation = generation; self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        // The socket is connected, so the kernel already drops other sources; check anyway.
        guard envelope.remoteAddress == server else { return }
        resolver.received(Array(envelope.data.readableBytesView), lookup, generation, overTCP: false)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        resolver.serverUnreachable(lookup, generation)
    }
}

/// Reads one length-prefixed answer (RFC 1035 §4.2.2) from a TCP connection; the
/// two-byte length bounds it to 64 KiB.
final class TCPAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let resolver: DNSResolver
    let lookup: DNSResolver.Lookup
    let generation: Int
    var buffer: ByteBuffer?

    init(resolver: DNSResolver, lookup: DNSResolver.Lookup, generation: Int) {
        self.resolver = resolver; self.lookup = lookup; self.generation = generation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
        guard let bytes = buffer, let length = bytes.getInteger(at: bytes.readerIndex, as: UInt16.self),
              bytes.readableBytes >= 2 + Int(length),
              let answer = bytes.getBytes(at: bytes.readerIndex + 2, length: Int(length)) else { return }
        buffer = nil
        resolver.received(answer, lookup, generation, overTCP: true)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Closed before a whole answer arrived.
        resolver.serverUnreachable(lookup, generation)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        resolver.serverUnreachable(lookup, generation)
    }
}
