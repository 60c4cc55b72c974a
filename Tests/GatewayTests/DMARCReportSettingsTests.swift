import Testing
@testable import Gateway

@Suite struct DMARCReportSettingsTests {
    @Test func defaultsAndTheDocumentedKeys() throws {
        let defaults = try GatewayConfiguration.parse("hostname = \"mx.example.test\"", baseDirectory: "/")
        #expect(defaults.dmarc.reports)
        #expect(defaults.dmarc.interval == .seconds(86_400))
        #expect(defaults.dmarc.sender(hostname: defaults.hostname) == "dmarc-noreply@mx.example.test")
        #expect(defaults.dmarc.organization(hostname: defaults.hostname) == "mx.example.test")
        #expect(defaults.dmarc.contact == nil)
        let text = """
        [dmarc]
        reports = false
        report_sender = "Reports@Example.test"
        org_name = "Example Mail"
        contact = "https://example.test/dmarc"
        interval = "5s"
        retention = "1h"
        """
        let configuration = try GatewayConfiguration.parse(text, baseDirectory: "/")
        #expect(!configuration.dmarc.reports)
        #expect(configuration.dmarc.sender(hostname: "x") == "Reports@example.test")
        #expect(configuration.dmarc.organization(hostname: "x") == "Example Mail")
        #expect(configuration.dmarc.contact == "https://example.test/dmarc")
        #expect(configuration.dmarc.interval == .seconds(5))
        #expect(configuration.dmarc.retention == .seconds(3600))
    }

    @Test func refusesBadValues() {
        for text in ["[dmarc]\ninterval = \"0s\"", "[dmarc]\ninterval = \"30d\"", "[dmarc]\nreport_sender = \"nobody\"",
                     "[dmarc]\ninterval = \"1h\"\nretention = \"1m\"", "[dmarc]\nreport = true", "[dmarc]\nreports = \"yes\""] {
            #expect(throws: ConfigurationError.self, "\(text)") { try GatewayConfiguration.parse(text, baseDirectory: "/") }
        }
    }
}
