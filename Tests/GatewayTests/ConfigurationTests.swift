import Testing
@testable import Gateway
import MailCore
import Policy

@Suite struct ConfigurationTests {
    @Test func defaultsGiveADevelopmentServer() {
        let configuration = GatewayConfiguration.defaults(baseDirectory: "/srv/mg")
        #expect(configuration.dataDirectory == "/srv/mg/mailgate-data")
        #expect(configuration.listeners[.smtp] == [ListenAddress(host: "127.0.0.1", port: 2525)])
        #expect(configuration.policyChain == ["ratelimit", "badmailfrom", "relay", "open_smtp", "limits"])
        #expect(configuration.limits.maxMessageSize == 10_485_760)
    }

    @Test func readsTheDocumentedKeys() throws {
        let text = """
        hostname = "mx.example.test"
        data_dir = "data"
        [listen]
        smtp = ["0.0.0.0:25", "[::1]:25"]
        [tls]
        certificate = "/etc/cert.pem"
        private_key = "/etc/key.pem"
        [limits]
        max_message_size = "20MB"
        max_recipients = 5
        queue_lifetime = "2h"
        [delivery]
        nameserver = "127.0.0.1:5353"
        retry_intervals = ["1m", "10m"]
        [routes."example.net"]
        host = "127.0.0.1:2526"
        tls = "required"
        [policy]
        chain = ["relay"]
        [policy.relay]
        trusted_networks = ["10.0.0.0/8"]
        [policy.open_smtp]
        ttl = "1h"
        """
        let configuration = try GatewayConfiguration.parse(text, baseDirectory: "/etc/mailgate")
        #expect(configuration.hostname == "mx.example.test")
        #expect(configuration.dataDirectory == "/etc/mailgate/data")
        #expect(configuration.listeners[.smtp] == [ListenAddress(host: "0.0.0.0", port: 25), ListenAddress(host: "::1", port: 25)])
        #expect(configuration.limits.maxMessageSize == 20 * 1024 * 1024)
        #expect(configuration.limits.maxRecipients == 5)
        #expect(configuration.limits.queueLifetime == .seconds(7200))
        #expect(configuration.nameserver == ListenAddress(host: "127.0.0.1", port: 5353))
        #expect(configuration.retryIntervals == [.seconds(60), .seconds(600)])
        #expect(configuration.routes["example.net"] == RouteConfiguration(host: "127.0.0.1", port: 2526, tls: .required))
        #expect(configuration.policySettings["relay"] == .table(["trusted_networks": .array([.string("10.0.0.0/8")])]))
        #expect(configuration.policyConfiguration.globals["max_recipients"] == .integer(5))
    }

    @Test func readsTheQueueRunnerKeys() throws {
        let text = """
        [delivery]
        mx_port = 2525
        scan_interval = "2s"
        max_connections = 8
        max_connections_per_destination = 2
        messages_per_connection = 20
        connect_timeout = "3s"
        reply_timeout = "1m"
        delay_warning = "2h"
        [routes."secure.example"]
        host = "smtp.example:465"
        tls = "required"
        ca_file = "ca.pem"
        username = "relay"
        password = "pw"
        """
        let configuration = try GatewayConfiguration.parse(text, baseDirectory: "/etc/mailgate")
        var expected = DeliverySettings()
        expected.mxPort = 2525
        expected.scanInterval = .seconds(2)
        expected.maxConnections = 8
        expected.maxConnectionsPerDestination = 2
        expected.messagesPerConnection = 20
        expected.connectTimeout = .seconds(3)
        expected.replyTimeout = .seconds(60)
        expected.delayWarning = .seconds(7200)
        #expect(configuration.delivery == expected)
        #expect(configuration.routes["secure.example"] == RouteConfiguration(
            host: "smtp.example", port: 465, tls: .required, username: "relay", password: "pw",
            caFile: "/etc/mailgate/ca.pem"))
        #expect(GatewayConfiguration.defaults().delivery == DeliverySettings())
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("[delivery]\nmx_port = 70000", baseDirectory: "/") }
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.parse("[delivery]\nmax_connections = 0", baseDirectory: "/") }
    }

    @Test func refusesBadValuesWithKeyAndReason() {
        func error(_ text: String) -> String {
            do { _ = try GatewayConfiguration.parse(text, baseDirectory: "/"); return "" }
            catch { return error.description }
        }
        #expect(error("[limits]\nmax_recipients = 0") == "limits.max_recipients: must be at least 1")
        #expect(error("[limits]\nqueue_lifetime = \"soon\"") == "limits.queue_lifetime: expected a duration like \"90s\" or \"1h\"")
        #expect(error("[listen]\nsmtp = \"0.0.0.0:25\"") == "listen.smtp: expected a list of strings")
        #expect(error("[listen]\nsmtpp = []").hasPrefix("listen.smtpp: unknown key"))
        #expect(error("[tls]\ncertificate = \"/a.pem\"") == "tls: set both certificate and private_key, or neither")
        #expect(error("[routes.\"x.test\"]\ntls = \"maybe\"\nhost = \"h\"").contains("expected \"opportunistic\""))
        #expect(error("[policy]\nchain = [\"../etc/passwd\"]").hasPrefix("policy.chain:"))
        #expect(error("x = ").hasPrefix("line 1"))
        #expect(error("event_loops = -1") == "event_loops: must be at least 0")
        #expect(error("event_loops = \"many\"") == "event_loops: expected an integer")
    }

    @Test func eventLoopsDefaultToOnePerCoreButOne() throws {
        #expect(GatewayConfiguration.automaticEventLoops(cores: 1) == 1)
        #expect(GatewayConfiguration.automaticEventLoops(cores: 2) == 1)
        #expect(GatewayConfiguration.automaticEventLoops(cores: 8) == 7)
        #expect(GatewayConfiguration.defaults().eventLoops == 0)
        #expect(GatewayConfiguration.defaults().effectiveEventLoops == GatewayConfiguration.automaticEventLoops())
        let configured = try GatewayConfiguration.parse("event_loops = 3", baseDirectory: "/")
        #expect(configured.effectiveEventLoops == 3)
    }
}
