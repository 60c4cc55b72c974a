import Testing
@testable import Delivery

@Suite struct DNSResolverConfigurationTests {
    @Test func readsNameserversAndOptions() {
        let text = """
            # generated
            search example.test
            nameserver 10.0.0.1
            nameserver fe80::1%eth0
            nameserver not-an-address
            ; comment
            nameserver 10.0.0.2
            nameserver 10.0.0.3
            options ndots:2 timeout:3 attempts:4 rotate
            """
        let configuration = DNSResolverConfiguration.parseResolvConf(text)
        #expect(configuration.nameservers == [.init(host: "10.0.0.1"), .init(host: "fe80::1"), .init(host: "10.0.0.2")])
        #expect(configuration.attemptTimeout == .seconds(3) && configuration.attempts == 4)
        #expect(configuration.nameservers[1].description == "[fe80::1]:53")
    }

    @Test func fallsBackToLocalhostAndBoundsOptions() {
        let configuration = DNSResolverConfiguration.parseResolvConf("options timeout:0 attempts:99\n")
        #expect(configuration.nameservers == [DNSResolverConfiguration.fallback])
        #expect(configuration.attemptTimeout == .seconds(1) && configuration.attempts == 5)
        #expect(DNSResolverConfiguration.parseResolvConf("").attempts == 2)
    }
}
