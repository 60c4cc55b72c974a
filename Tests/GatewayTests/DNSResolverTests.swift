@testable import Delivery
import Foundation
import MailCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import TestSupport
@testable import Gateway

@Suite(.serialized) struct DNSResolverTests {
    typealias R = DNSAnswerBuilder.Record

    func resolver(_ servers: [FakeNameserver], port: Int? = nil, attemptTimeout: Duration = .seconds(1),
                  attempts: Int = 2, group: any EventLoopGroup) -> DNSResolver {
        var nameservers = servers.map { DNSResolverConfiguration.Nameserver(host: "127.0.0.1", port: $0.port) }
        if let port { nameservers.append(.init(host: "127.0.0.1", port: port)) }
        return DNSResolver(configuration: DNSResolverConfiguration(nameservers: nameservers, attemptTimeout: attemptTimeout,
                                                                   attempts: attempts),
                           eventLoop: group.next())
    }

    func lookup(_ resolver: DNSResolver, _ name: String, _ type: DNSRecordType,
                timeout: Duration = .seconds(3)) async -> DNSLookupResult {
        await withCheckedContinuation { continuation in
            resolver.lookup(name, type, timeout: timeout) { continuation.resume(returning: $0) }
        }
    }

    /// The zone most tests use.
    static let zone: FakeNameserver.Answer = { query, _ in
        let name = DNSAnswerBuilder.questionName(of: query).lowercased()
        let soa = R.soa(ttl: 600, minimum: 300)
        switch name {
        case "a.test": return .send(DNSAnswerBuilder.reply(to: query, answers: [.a("192.0.2.1")]))
        case "mx.test": return .send(DNSAnswerBuilder.reply(to: query, answers: [.mx(20, "b.test"), .mx(10, "a.test")]))
        case "empty.test": return .send(DNSAnswerBuilder.reply(to: query, authority: [soa]))
        case "servfail.test": return .send(DNSAnswerBuilder.reply(to: query, rcode: 2))
        case "refused.test": return .send(DNSAnswerBuilder.reply(to: query, rcode: 5))
        case "garbage.test": return .send(Array(query[0..<2]) + [0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 5, 0x61])
        case "silent.test": return .silence
        case "nosoa.test": return .send(DNSAnswerBuilder.reply(to: query, rcode: 3))
        default: return .send(DNSAnswerBuilder.reply(to: query, rcode: 3, authority: [soa]))
        }
    }

    @Test func eachOutcome() async throws {
        let server = try await FakeNameserver(Self.zone)
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup.singleton
        let dns = resolver([server], attemptTimeout: .milliseconds(300), group: group)
        #expect(await lookup(dns, "a.test", .a) == .records([.address("192.0.2.1")], ttl: 300))
        #expect(await lookup(dns, "MX.test.", .mx) == .records([.mx(preference: 10, exchange: "a.test"),
                                                                .mx(preference: 20, exchange: "b.test")], ttl: 300))
        #expect(await lookup(dns, "nowhere.test", .a) == .nxdomain)
        #expect(await lookup(dns, "empty.test", .txt) == .nodata)
        #expect(await lookup(dns, "servfail.test", .a) == .failure(.servfail))
        #expect(await lookup(dns, "refused.test", .a) == .failure(.refused))
        #expect(await lookup(dns, "garbage.test", .a) == .failure(.malformed))
        #expect(await lookup(dns, "silent.test", .a, timeout: .seconds(1)) == .failure(.timeout))
        #expect(await lookup(dns, "a..test", .a) == .nxdomain)
        // A failing server is asked once per lookup, not once per round.
        #expect(server.queries.filter { DNSAnswerBuilder.questionName(of: $0.bytes) == "servfail.test" }.count == 1)
        // Every query came from its own ID (random, so equal IDs are possible but rare).
        #expect(Set(server.queries.map { DNSAnswerBuilder.id(of: $0.bytes) }).count >= server.queries.count - 2)
    }

    @Test func unreachableNameserver() async throws {
        // A UDP port nobody listens on: ICMP port unreachable comes back as ECONNREFUSED.
        let group = MultiThreadedEventLoopGroup.singleton
        let dns = resolver([], port: 9, group: group)
        let started = ContinuousClock.now
        #expect(await lookup(dns, "a.test", .a) == .failure(.unreachable))
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test func slowAnswerIsATimeoutWithinTheCallersTimeout() async throws {
        let server = try await FakeNameserver { query, _ in
            var reply = FakeNameserver.Reply.send(DNSAnswerBuilder.reply(to: query, answers: [.a("192.0.2.1")]))
            reply.delay = .seconds(3)
            return reply
        }
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup.singleton
        let dns = resolver([server], group: group)
        let started = ContinuousClock.now
        #expect(await lookup(dns, "a.test", .a, timeout: .milliseconds(400)) == .failure(.timeout))
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(350) && elapsed < .seconds(2))
    }

    @Test func answersWithAnotherIDAreIgnored() async throws {
        let server = try await FakeNameserver { query, _ in
            let id = DNSAnswerBuilder.id(of: query)
            return .send(DNSAnswerBuilder.reply(to: query, id: id &+ 1, answers: [.a("203.0.113.66")]),
                         DNSAnswerBuilder.reply(to: query, answers: [.a("192.0.2.1")]))
        }
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup.singleton
        let dns = resolver([server], group: group)
        #expect(await lookup(dns, "a.test", .a) == .records([.address("192.0.2.1")], ttl: 300))
    }

    @Test func truncatedAnswerIsFetchedOverTCPAndHugeTXTIsTooLarge() async throws {
        let server = try await FakeNameserver { query, overTCP in
            guard overTCP else { return .send(DNSAnswerBuilder.reply(to: query, truncated: true)) }
            let strings = DNSAnswerBuilder.questionName(of: query) == "huge.test" ? 70 : 6
            let records: [R] = (0..<strings).map { _ in .txt([String(repeating: "x", count: 250)]) }
            return .send(DNSAnswerBuilder.reply(to: query, answers: records))
        }
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup.singleton
        let dns = resolver([server], group: group)
        let big = await lookup(dns, "big.test", .txt)
        guard case .records(let records, _) = big else {
            Issue.record("got \(big)")
            return
        }
        #expect(records.count == 6)
        #expect(server.queries.map(\.overTCP) == [false, true])
        #expect(await lookup(dns, "huge.test", .txt) == .failure(.tooLarge))
    }

    @Test func answersAreCachedPositiveAndNegative() async throws {
        let server = try await FakeNameserver(Self.zone)
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup.singleton
        let dns = resolver([server], group: group)
        #expect(await lookup(dns, "a.test", .a) == .records([.address("192.0.2.1")], ttl: 300))
        #expect(await lookup(dns, "A.TEST", .a) == .records([.address("192.0.2.1")], ttl: 300))
        #expect(server.queries.count == 1)
        #expect(await lookup(dns, "nowhere.test", .a) == .nxdomain)
        #expect(await lookup(dns, "nowhere.test", .a) == .nxdomain)
        #expect(server.queries.count == 2)
        // Without an SOA a negative answer is not cached; failures never are.
        #expect(await lookup(dns, "nosoa.test", .a) == .nxdomain)
        #expect(await lookup(dns, "nosoa.test", .a) == .nxdomain)
        #expect(await lookup(dns, "servfail.test", .a) == .failure(.servfail))
        #expect(await lookup(dns, "servfail.test", .a) == .failure(.servfail))
        #expect(server.queries.count == 6)
        #expect(try await dns.cachedCount().get() == 2)
    }

    @Test func identicalQuestionsInFlightShareOneQuery() async throws {
        let server = try await FakeNameserver { query, _ in
            var reply = FakeNameserver.Reply.send(DNSAnswerBuilder.reply(to: query, answers: [.a("192.0.2.1")]))
            reply.delay = .milliseconds(200)
            return reply
        }
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup.singleton
        let dns = resolver([server], group: group)
        let results = await withTaskGroup(of: DNSLookupResult.self) { tasks in
            for _ in 0..<5 { tasks.addTask { await lookup(dns, "a.test", .a) } }
            tasks.addTask { await lookup(dns, "b.test", .a) }
            return await tasks.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 6 && results.allSatisfy { $0 == .records([.address("192.0.2.1")], ttl: 300) })
        #expect(server.queries.count == 2)
    }

    @Test func silentNameserverIsSkippedForTheNext() async throws {
        let silent = try await FakeNameserver { _, _ in .silence }
        defer { silent.stop() }
        let server = try await FakeNameserver(Self.zone)
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup.singleton
        let dns = resolver([silent, server], attemptTimeout: .milliseconds(300), group: group)
        #expect(await lookup(dns, "a.test", .a) == .records([.address("192.0.2.1")], ttl: 300))
        #expect(silent.queries.count == 1 && server.queries.count == 1)
    }

    @Test func lostPacketIsRetriedWithinTheTimeout() async throws {
        let count = NIOLockedValueBox(0)
        let server = try await FakeNameserver { query, _ in
            let first = count.withLockedValue { $0 += 1; return $0 == 1 }
            return first ? .silence : .send(DNSAnswerBuilder.reply(to: query, answers: [.a("192.0.2.1")]))
        }
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup.singleton
        let dns = resolver([server], attemptTimeout: .seconds(5), attempts: 2, group: group)
        #expect(await lookup(dns, "a.test", .a, timeout: .seconds(3)) == .records([.address("192.0.2.1")], ttl: 300))
        #expect(server.queries.count == 2)
    }

    @Test func configurationPrefersTheConfiguredNameserver() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("resolv-\(getpid()).conf").path
        try "nameserver 10.1.1.1\noptions timeout:2 attempts:3\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(DNSResolver.configuration(nameserver: nil, resolvConf: path)
                == DNSResolverConfiguration(nameservers: [.init(host: "10.1.1.1")], attemptTimeout: .seconds(2), attempts: 3))
        #expect(DNSResolver.configuration(nameserver: .init(host: "127.0.0.1", port: 5353), resolvConf: path).nameservers
                == [.init(host: "127.0.0.1", port: 5353)])
        #expect(DNSResolver.configuration(nameserver: nil, resolvConf: "/nonexistent").nameservers == [.init(host: "127.0.0.1")])
    }
}
