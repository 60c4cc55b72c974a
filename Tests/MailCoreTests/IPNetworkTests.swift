import Testing
@testable import MailCore

@Suite struct IPNetworkTests {
    @Test func v4Matching() throws {
        let network = try #require(IPNetwork("10.1.0.0/16"))
        #expect(network.contains(IPAddress("10.1.200.3")!))
        #expect(!network.contains(IPAddress("10.2.0.1")!))
        #expect(IPNetwork("127.0.0.0/8")!.contains(IPAddress("127.0.0.2")!))
    }

    @Test func v6MatchingAndFormatting() throws {
        #expect(IPNetwork("::1/128")!.contains(IPAddress("::1")!))
        #expect(IPNetwork("2001:db8::/32")!.contains(IPAddress("2001:db8:1::5")!))
        #expect(IPAddress("2001:0db8:0:0:0:0:0:1")!.description == "2001:db8::1")
        #expect(IPAddress("::ffff:192.0.2.7")!.description == "192.0.2.7")
        #expect(IPAddress("1:2:3") == nil)
        #expect(IPNetwork("10.0.0.0/33") == nil)
    }
}
