import MailCore
import Testing
@testable import Delivery

/// Canned answers by "name TYPE"; anything else is NXDOMAIN.
struct CannedLookups: DNSLookupService {
    var answers: [String: DNSLookupResult]
    func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        completion(answers["\(name) \(type.name)"] ?? .nxdomain)
    }
}

@Suite struct LookupResolverTests {
    let resolver = LookupResolver(service: CannedLookups(answers: [
        "example.test MX": .records([.mx(preference: 10, exchange: "mx.example.test")], ttl: 60),
        "mx.example.test A": .records([.address("192.0.2.1")], ttl: 60),
        "mx.example.test AAAA": .records([.address("2001:db8::1")], ttl: 60),
        "v4only.test A": .records([.address("192.0.2.2")], ttl: 60),
        "v4only.test AAAA": .failure(.servfail),
        "nomx.test MX": .nodata,
        "broken.test MX": .failure(.servfail),
        "refused.test MX": .failure(.refused),
        "down.test A": .failure(.timeout),
        "down.test AAAA": .nodata,
    ]))

    @Test func mapsOutcomesToRoutingErrors() async throws {
        #expect(try await resolver.mx("example.test") == [MXRecord(preference: 10, exchange: "mx.example.test")])
        #expect(try await resolver.mx("nomx.test") == [])
        await #expect(throws: DNSError.nameNotFound) { _ = try await resolver.mx("nowhere.test") }
        await #expect(throws: DNSError.temporary("DNS lookup failed: servfail")) { _ = try await resolver.mx("broken.test") }
        await #expect(throws: DNSError.permanent("the nameserver refused the query")) { _ = try await resolver.mx("refused.test") }
    }

    @Test func addressesAskBothFamilies() async throws {
        #expect(try await resolver.addresses("mx.example.test") == ["192.0.2.1", "2001:db8::1"])
        #expect(try await resolver.addresses("v4only.test") == ["192.0.2.2"])
        await #expect(throws: DNSError.nameNotFound) { _ = try await resolver.addresses("nowhere.test") }
        await #expect(throws: DNSError.temporary("DNS lookup failed: timeout")) { _ = try await resolver.addresses("down.test") }
    }

    @Test func routesThroughTheLookupService() async throws {
        let destinations = DestinationResolver(resolver: resolver, mxPort: 2525)
        let targets = try await destinations.resolve("example.test")
        #expect(targets.map(\.address) == ["192.0.2.1", "2001:db8::1"])
        #expect(targets.allSatisfy { $0.host == "mx.example.test" && $0.port == 2525 })
    }
}
