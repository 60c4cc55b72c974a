import Testing
@testable import Delivery

@Suite struct PunycodeTests {
    @Test func encodesInternationalLabels() {
        #expect(Punycode.toASCII("bücher.example") == "xn--bcher-kva.example")
        #expect(Punycode.toASCII("München.DE") == "xn--mnchen-3ya.DE")
        #expect(Punycode.toASCII("пример.испытание") == "xn--e1afmkfd.xn--80akhbyknj4f")
        #expect(Punycode.toASCII("例え.テスト") == "xn--r8jz45g.xn--zckzah")
        #expect(Punycode.toASCII("example.net") == "example.net")
    }

    @Test func internationalDomainsAreResolvedByTheirALabels() async throws {
        let dns = FakeResolver(hosts: ["xn--bcher-kva.example": ["192.0.2.8"]])
        let resolver = DestinationResolver(resolver: dns)
        #expect(try await resolver.resolve("bücher.example").map(\.address) == ["192.0.2.8"])
        await #expect(throws: RouteFailure.self) { _ = try await resolver.resolve("bü cher.example") }
    }
}
