import Testing
@testable import Gateway
import MailCore

@Suite struct DKIMConfigurationTests {
    @Test func signNetworksDefaultToNoneAndAreRead() throws {
        #expect(GatewayConfiguration.defaults(baseDirectory: "/srv").dkimSignNetworks.isEmpty)
        let configuration = try GatewayConfiguration.parse("""
        [dkim]
        sign_networks = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]
        """, baseDirectory: "/srv")
        #expect(configuration.dkimSignNetworks.count == 3)
        #expect(configuration.dkimSignNetworks.first?.description == "10.0.0.0/8")
        #expect(configuration.dkimSignNetworks.last?.prefixLength == 32)
    }

    @Test func badSignNetworksAreRefusedByName() {
        for text in ["[dkim]\nsign_networks = [\"10.0.0.0/33\"]", "[dkim]\nsign_networks = \"10.0.0.0/8\"",
                     "[dkim]\nsign = []"] {
            #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse(text, baseDirectory: "/srv") }
            do { _ = try GatewayConfiguration.parse(text, baseDirectory: "/srv") } catch {
                #expect("\(error)".contains("dkim"))
            }
        }
    }
}
