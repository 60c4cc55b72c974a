import Testing
@testable import Delivery

@Suite struct RoutesTests {
    @Test func routesParseHostAndPort() {
        #expect(Route(hostAndPort: "127.0.0.1:2526") == Route(host: "127.0.0.1", port: 2526))
        #expect(Route(hostAndPort: "smtp.example.net") == Route(host: "smtp.example.net", port: 25))
        #expect(Route(hostAndPort: "[2001:db8::1]:587", tls: .required) == Route(host: "2001:db8::1", port: 587, tls: .required))
        for bad in ["", "host:", "host:0", "host:99999", "bad host:25", "[::1", "[::1]x", "::1", "2001:db8::1:25"] {
            #expect(Route(hostAndPort: bad) == nil, "\(bad)")
        }
    }

    @Test func routeTableFallsBackToTheWildcard() {
        let table = RouteTable(["Example.NET": Route(host: "a.test"), "*": Route(host: "smarthost.test")])
        #expect(table.route(for: "EXAMPLE.net")?.host == "a.test")
        #expect(table.route(for: "other.org")?.host == "smarthost.test")
        #expect(RouteTable().route(for: "example.net") == nil)
    }

    @Test func domainProblemsAreNamed() {
        #expect(DomainCheck.problem("example.net") == nil)
        #expect(DomainCheck.problem("example.net.") == nil)
        #expect(DomainCheck.problem("_dmarc.example.net") == nil)
        #expect(DomainCheck.problem("example.net ") == "ends with a space")
        #expect(DomainCheck.problem(" example.net") == "starts with a space")
        #expect(DomainCheck.problem(".example.net") == "starts with a dot")
        #expect(DomainCheck.problem("ex@mple.net") == "contains the character \"@\"")
        #expect(DomainCheck.problem(String(repeating: "a.", count: 130) + "net") == "is longer than 253 characters")
    }
}
