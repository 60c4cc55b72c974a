// mailgate.toml: every key optional, defaults give a working development instance.
// A bad file is refused with the key and the reason (at start and on reload).
// Relative paths are resolved against the config file's directory, or the working
// directory when running on built-in defaults.
import Foundation
import MailCore
import Policy
import TOMLKit

public enum ListenerKind: String, CaseIterable, Sendable {
    case smtp, submission, smtps, pop3, pop3s, imap, imaps

    public var implicitTLS: Bool { self == .smtps || self == .pop3s || self == .imaps }
    public var isPOP3: Bool { self == .pop3 || self == .pop3s }
    public var isIMAP: Bool { self == .imap || self == .imaps }
    /// The protocol the hooks see as `session.protocol`.
    public var protocolName: String { isPOP3 ? "pop3" : isIMAP ? "imap" : "smtp" }
}

public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// "127.0.0.1:25", "[::1]:25", "0.0.0.0:25", ":25" (all IPv4 addresses).
    public static func parse(_ text: String) -> ListenAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        guard IPAddress(host) != nil || host == "localhost" else { return nil }
        return ListenAddress(host: host, port: port)
    }
}

public struct RouteConfiguration: Sendable, Equatable {
    public enum TLSMode: String, Sendable { case opportunistic, required, none }
    public var host: String
    public var port: Int
    public var tls: TLSMode
    public var username: String?
    public var password: String?
    /// PEM trust roots for verifying this route's certificate (`tls = "required"`);
    /// nil = the system trust store.
    public var caFile: String?
}

/// The queue runner's knobs (`[delivery]`).
public struct DeliverySettings: Sendable, Equatable {
    /// TCP port for MX deliveries (25; tests point MX records at receivers on a loopback port).
    public var mxPort = 25
    /// How often the queue is re-read even when nothing woke the runner (CLI changes, due retries).
    public var scanInterval: Duration = .seconds(5)
    /// Outbound connections at once, overall and per destination domain.
    public var maxConnections = 50
    public var maxConnectionsPerDestination = 4
    /// Messages handed to one connection before it says QUIT.
    public var messagesPerConnection = 100
    public var connectTimeout: Duration = .seconds(30)
    /// Upper bound on the RFC 5321 reply timeouts (5 min per command, 10 min after DATA).
    public var replyTimeout: Duration = .seconds(600)
    /// A NOTIFY=DELAY recipient still queued after this gets one delay notice.
    public var delayWarning: Duration = .seconds(4 * 3600)
    public init() {}
}

/// DMARC aggregate reports (`[dmarc]`, RFC 7489 §7.2; docs/operations.md).
public struct DMARCReportSettings: Sendable, Equatable {
    /// Record evaluated messages and send the reports (default on).
    public var reports = true
    /// From: of the reports; nil = "dmarc-noreply@<hostname>".
    public var reportSender: String?
    /// `org_name` in the reports; nil = the hostname.
    public var orgName: String?
    /// `extra_contact_info` in the reports (optional).
    public var contact: String?
    /// The report period: a day, aligned to UTC midnight (shorter ones align to multiples
    /// of themselves since the epoch).
    public var interval: Duration = .seconds(86_400)
    /// Rows of periods older than this are removed even if never reported.
    public var retention: Duration = .seconds(7 * 86_400)
    public init() {}

    public func sender(hostname: String) -> String { reportSender ?? "dmarc-noreply@\(hostname)" }
    public func organization(hostname: String) -> String { orgName ?? hostname }
}

public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var key: String
    public var reason: String
    public var file: String?
    public var description: String {
        (file.map { "\($0): " } ?? "") + (key.isEmpty ? reason : "\(key): \(reason)")
    }
}

public struct GatewayConfiguration: Sendable {
    public var hostname: String
    public var dataDirectory: String
    public var listeners: [ListenerKind: [ListenAddress]]
    public var certificatePath: String?
    public var privateKeyPath: String?
    /// PLAIN/LOGIN/USER without TLS from non-loopback clients (default false).
    public var allowPlaintextAuth: Bool
    public var limits: Limits
    public var nameserver: ListenAddress?
    public var retryIntervals: [Duration]
    public var routes: [String: RouteConfiguration]
    public var delivery = DeliverySettings()
    /// `[dkim] sign_networks`: clients whose mail is DKIM-signed besides authenticated and
    /// open-SMTP ones (default none).
    public var dkimSignNetworks: [IPNetwork] = []
    public var dmarc = DMARCReportSettings()
    public var policyDirectory: String
    public var pluginDirectory: String
    public var policyChain: [String]
    public var policySettings: [String: PolicyValue]
    /// `[policy] shadow`: policies run after the chain whose verdicts are only compared.
    public var policyShadow: [String] = []
    /// `[limits] policy_dns_lookups`: DNS lookups one policy's hook call may make.
    public var policyDNSLookups = 20
    /// `[limits] policy_dns_timeout`: the longest one DNS lookup of a policy may take.
    public var policyDNSTimeout: Duration = .seconds(3)
    /// `[limits] policy_http_timeout`: the longest one `mailgate.http.request` may take.
    public var policyHTTPTimeout: Duration = .seconds(10)
    public var logLevel: String
    /// Network threads (SwiftNIO event loops); 0 picks `automaticEventLoops`.
    public var eventLoops = 0
    /// `[limits] policy_deadline`: wall time of one policy's hook call (451 4.3.0 past it).
    public var policyDeadline: Duration = .seconds(5)
    /// The file this came from (nil = built-in defaults).
    public var sourceFile: String?

    /// One event loop per core but one, at least one: the store's writer thread and the
    /// blocking pool (policy hooks, password checks) keep a core, and fewer loops wake each
    /// other less. On 2 cores one loop took ~20 % less CPU per SMTP message than two
    /// (docs/performance.md, "Event loops").
    public static func automaticEventLoops(cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        max(1, cores - 1)
    }

    /// The number of event loops this configuration asks for.
    public var effectiveEventLoops: Int {
        eventLoops > 0 ? eventLoops : Self.automaticEventLoops()
    }

    public static let defaultChain = ["ratelimit", "badmailfrom", "relay", "open_smtp", "limits"]

    public static func defaults(baseDirectory: String = FileManager.default.currentDirectoryPath) -> GatewayConfiguration {
        GatewayConfiguration(
            hostname: defaultHostname(),
            dataDirectory: resolve("mailgate-data", base: baseDirectory),
            listeners: [
                .smtp: [ListenAddress(host: "127.0.0.1", port: 2525)],
                .submission: [ListenAddress(host: "127.0.0.1", port: 2587)],
                .smtps: [ListenAddress(host: "127.0.0.1", port: 2465)],
                .pop3: [ListenAddress(host: "127.0.0.1", port: 2110)],
                .pop3s: [ListenAddress(host: "127.0.0.1", port: 2995)],
                .imap: [ListenAddress(host: "127.0.0.1", port: 2143)],
                .imaps: [ListenAddress(host: "127.0.0.1", port: 2993)],
            ],
            certificatePath: nil, privateKeyPath: nil, allowPlaintextAuth: false,
            limits: Limits(), nameserver: nil,
            retryIntervals: [.seconds(60), .seconds(300), .seconds(900), .seconds(1800), .seconds(3600)],
            routes: [:],
            policyDirectory: resolve("policies", base: baseDirectory),
            pluginDirectory: resolve("plugins", base: baseDirectory),
            policyChain: defaultChain, policySettings: [:], logLevel: "info", sourceFile: nil)
    }

    /// The POP3 login interval the `ratelimit` policy enforces, advertised as CAPA
    /// LOGIN-DELAY (RFC 2449 §6.8); nil when the policy is off or the interval is 0.
    public var pop3LoginDelay: Int? {
        guard policyChain.contains("ratelimit") else { return nil }
        var seconds = 60
        if case .table(let settings)? = policySettings["ratelimit"], let value = settings["pop3_login_interval"] {
            switch value {
            case .integer(let number): seconds = number
            case .double(let number): seconds = Int(number)
            case .string(let text): seconds = ConfigValues.duration(text).map { Int($0.components.seconds) } ?? 60
            default: break
            }
        }
        return seconds > 0 ? seconds : nil
    }

    static func defaultHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    static func resolve(_ path: String, base: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
    }

    /// Loads `path`; a missing file is an error (the caller decides whether to look).
    public static func load(path: String) throws(ConfigurationError) -> GatewayConfiguration {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) }
        catch { throw ConfigurationError(key: "", reason: unreadableFileReason(path), file: path) }
        let base = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        do {
            var configuration = try parse(text, baseDirectory: base)
            configuration.sourceFile = path
            return configuration
        } catch {
            var located = error
            located.file = path
            throw located
        }
    }

    /// Why a configuration file cannot be read, in words (not Foundation's error domain).
    static func unreadableFileReason(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        let code = descriptor < 0 ? errno : 0
        if descriptor >= 0 { close(descriptor) }
        var info = stat()
        if code == 0, stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            return "this is a directory: give the path of the configuration file"
        }
        switch code {
        case ENOENT: return "the file does not exist: create it (examples/mailgate.toml shows every key) or give another --config"
        case EACCES, EPERM: return "cannot read the file (permission denied): let the user running mailgate read it"
        case 0: return "the file is not UTF-8 text: save it as UTF-8"
        default: return "cannot read the file (\(String(cString: strerror(code)))): check it"
        }
    }

    public static func parse(_ text: String, baseDirectory: String) throws(ConfigurationError) -> GatewayConfiguration {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) }
        catch let error as TOMLParseError {
            throw ConfigurationError(key: "", reason: "line \(error.source.begin.line): \(error.description)")
        } catch {
            throw ConfigurationError(key: "", reason: "\(error)")
        }
        var reader = ConfigurationReader(baseDirectory: baseDirectory)
        return try reader.read(table)
    }
}

extension RouteConfiguration {
    public init(host: String, port: Int, tls: TLSMode) {
        self.init(host: host, port: port, tls: tls, username: nil, password: nil, caFile: nil)
    }
}
