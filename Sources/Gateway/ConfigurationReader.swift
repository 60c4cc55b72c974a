// Turns a parsed TOML table into a GatewayConfiguration, checking every key's type and
// range and refusing unknown keys (a typo must not silently fall back to a default).
import Foundation
import MailCore
import Policy
import TOMLKit

struct ConfigurationReader {
    let baseDirectory: String

    func fail(_ key: String, _ reason: String) -> ConfigurationError {
        ConfigurationError(key: key, reason: reason)
    }

    mutating func read(_ table: TOMLTable) throws(ConfigurationError) -> GatewayConfiguration {
        var configuration = GatewayConfiguration.defaults(baseDirectory: baseDirectory)
        try checkKeys(table, allowed: ["hostname", "data_dir", "log_level", "event_loops", "listen", "tls", "limits", "delivery",
                                       "routes", "policy", "dkim", "dmarc"], section: "")
        if let value = table["hostname"] { configuration.hostname = try string(value, "hostname") }
        if let value = table["data_dir"] { configuration.dataDirectory = path(try string(value, "data_dir")) }
        if let value = table["log_level"] {
            let level = try string(value, "log_level")
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
                throw fail("log_level", "expected one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = level
        }
        if let value = table["event_loops"] {
            configuration.eventLoops = try int(value, "event_loops", min: 0)
        }
        if let listen = table["listen"] {
            let section = try self.table(listen, "listen")
            try checkKeys(section, allowed: ListenerKind.allCases.map(\.rawValue), section: "listen")
            for kind in ListenerKind.allCases {
                guard let value = section[kind.rawValue] else { continue }
                let key = "listen.\(kind.rawValue)"
                configuration.listeners[kind] = try strings(value, key).map { (text) throws(ConfigurationError) in
                    guard let address = ListenAddress.parse(text) else {
                        throw fail(key, "\"\(text)\" is not an \"address:port\" (e.g. \"0.0.0.0:25\")")
                    }
                    return address
                }
            }
        }
        if let tls = table["tls"] {
            let section = try self.table(tls, "tls")
            try checkKeys(section, allowed: ["certificate", "private_key", "allow_plaintext_auth"], section: "tls")
            if let value = section["certificate"] { configuration.certificatePath = path(try string(value, "tls.certificate")) }
            if let value = section["private_key"] { configuration.privateKeyPath = path(try string(value, "tls.private_key")) }
            if let value = section["allow_plaintext_auth"] {
                configuration.allowPlaintextAuth = try bool(value, "tls.allow_plaintext_auth")
            }
            if (configuration.certificatePath == nil) != (configuration.privateKeyPath == nil) {
                throw fail("tls", "set both certificate and private_key, or neither")
            }
        }
        if let limits = table["limits"] {
            try readLimits(try self.table(limits, "limits"), into: &configuration.limits)
            if let value = try self.table(limits, "limits")["policy_deadline"] {
                configuration.policyDeadline = try duration(value, "limits.policy_deadline")
                if configuration.policyDeadline <= .zero { throw fail("limits.policy_deadline", "must be a positive duration") }
            }
            let section = try self.table(limits, "limits")
            if let value = section["policy_dns_lookups"] {
                configuration.policyDNSLookups = try int(value, "limits.policy_dns_lookups", min: 0)
            }
            if let value = section["policy_dns_timeout"] {
                configuration.policyDNSTimeout = try duration(value, "limits.policy_dns_timeout")
                if configuration.policyDNSTimeout <= .zero { throw fail("limits.policy_dns_timeout", "must be a positive duration") }
            }
            if let value = section["policy_http_timeout"] {
                configuration.policyHTTPTimeout = try duration(value, "limits.policy_http_timeout")
                if configuration.policyHTTPTimeout <= .zero { throw fail("limits.policy_http_timeout", "must be a positive duration") }
            }
        }
        if let delivery = table["delivery"] {
            let section = try self.table(delivery, "delivery")
            try checkKeys(section, allowed: ["nameserver", "retry_intervals", "mx_port", "scan_interval", "max_connections",
                                             "max_connections_per_destination", "messages_per_connection",
                                             "connect_timeout", "reply_timeout", "delay_warning"], section: "delivery")
            var settings = configuration.delivery
            if let value = section["mx_port"] {
                settings.mxPort = try int(value, "delivery.mx_port", min: 1)
                if settings.mxPort > 65535 { throw fail("delivery.mx_port", "must be at most 65535") }
            }
            if let value = section["scan_interval"] { settings.scanInterval = try duration(value, "delivery.scan_interval") }
            if let value = section["max_connections"] {
                settings.maxConnections = try int(value, "delivery.max_connections", min: 1)
            }
            if let value = section["max_connections_per_destination"] {
                settings.maxConnectionsPerDestination = try int(value, "delivery.max_connections_per_destination", min: 1)
            }
            if let value = section["messages_per_connection"] {
                settings.messagesPerConnection = try int(value, "delivery.messages_per_connection", min: 1)
            }
            if let value = section["connect_timeout"] { settings.connectTimeout = try duration(value, "delivery.connect_timeout") }
            if let value = section["reply_timeout"] { settings.replyTimeout = try duration(value, "delivery.reply_timeout") }
            if let value = section["delay_warning"] { settings.delayWarning = try duration(value, "delivery.delay_warning") }
            configuration.delivery = settings
            if let value = section["nameserver"] {
                let text = try string(value, "delivery.nameserver")
                guard let address = ListenAddress.parse(text.contains(":") ? text : text + ":53") else {
                    throw fail("delivery.nameserver", "\"\(text)\" is not an \"address[:port]\"")
                }
                configuration.nameserver = address
            }
            if let value = section["retry_intervals"] {
                configuration.retryIntervals = try strings(value, "delivery.retry_intervals").map { (text) throws(ConfigurationError) in
                    guard let duration = ConfigValues.duration(text), duration > .zero else {
                        throw fail("delivery.retry_intervals", "\"\(text)\" is not a duration like \"5m\"")
                    }
                    return duration
                }
                if configuration.retryIntervals.isEmpty { throw fail("delivery.retry_intervals", "must not be empty") }
            }
        }
        if let routes = table["routes"] {
            let section = try self.table(routes, "routes")
            for domain in section.keys {
                configuration.routes[domain.lowercased()] = try readRoute(try self.table(section[domain]!, "routes.\(domain)"),
                                                                          key: "routes.\"\(domain)\"")
            }
        }
        if let policy = table["policy"] { try readPolicy(try self.table(policy, "policy"), into: &configuration) }
        if let dkim = table["dkim"] {
            let section = try self.table(dkim, "dkim")
            try checkKeys(section, allowed: ["sign_networks"], section: "dkim")
            if let value = section["sign_networks"] {
                configuration.dkimSignNetworks = try strings(value, "dkim.sign_networks").map { (text) throws(ConfigurationError) in
                    guard let network = IPNetwork(text) else {
                        throw fail("dkim.sign_networks", "\"\(text)\" is not a CIDR network like \"192.0.2.0/24\"")
                    }
                    return network
                }
            }
        }
        if let dmarc = table["dmarc"] { configuration.dmarc = try readDMARC(try self.table(dmarc, "dmarc")) }
        return configuration
    }

    func readDMARC(_ section: TOMLTable) throws(ConfigurationError) -> DMARCReportSettings {
        try checkKeys(section, allowed: ["reports", "report_sender", "org_name", "contact", "interval", "retention"],
                      section: "dmarc")
        var settings = DMARCReportSettings()
        if let value = section["reports"] { settings.reports = try bool(value, "dmarc.reports") }
        if let value = section["report_sender"] {
            let text = try string(value, "dmarc.report_sender")
            guard let address = try? MailAddress.parse(text), !address.isDomainLiteral, !address.hasRoutingCharacters else {
                throw fail("dmarc.report_sender", "\"\(text)\" is not a user@domain address")
            }
            settings.reportSender = address.address
        }
        if let value = section["org_name"] { settings.orgName = try string(value, "dmarc.org_name") }
        if let value = section["contact"] { settings.contact = try string(value, "dmarc.contact") }
        if let value = section["interval"] {
            settings.interval = try duration(value, "dmarc.interval")
            guard settings.interval >= .seconds(1), settings.interval <= .seconds(7 * 86_400) else {
                throw fail("dmarc.interval", "must be between 1s and 7d (RFC 7489 asks for daily reports)")
            }
        }
        if let value = section["retention"] {
            settings.retention = try duration(value, "dmarc.retention")
            guard settings.retention >= settings.interval else {
                throw fail("dmarc.retention", "must be at least dmarc.interval")
            }
        }
        return settings
    }

    func readLimits(_ section: TOMLTable, into limits: inout Limits) throws(ConfigurationError) {
        try checkKeys(section, allowed: ["max_message_size", "max_recipients", "queue_lifetime", "max_connections",
                                         "max_connections_per_ip", "command_timeout", "data_timeout", "session_timeout",
                                         "max_errors", "default_quota", "policy_instruction_budget",
                                         "policy_memory_limit", "policy_vms", "policy_deadline", "shutdown_grace",
                                         "policy_dns_lookups", "policy_dns_timeout", "policy_http_timeout",
                                         "policy_body_size"], section: "limits")
        if let value = section["max_message_size"] { limits.maxMessageSize = Int(try size(value, "limits.max_message_size")) }
        if let value = section["max_recipients"] { limits.maxRecipients = try int(value, "limits.max_recipients", min: 1) }
        if let value = section["queue_lifetime"] { limits.queueLifetime = try duration(value, "limits.queue_lifetime") }
        if let value = section["max_connections"] { limits.maxConnections = try int(value, "limits.max_connections", min: 1) }
        if let value = section["max_connections_per_ip"] {
            limits.maxConnectionsPerIP = try int(value, "limits.max_connections_per_ip", min: 1)
        }
        if let value = section["command_timeout"] { limits.commandTimeout = try duration(value, "limits.command_timeout") }
        if let value = section["data_timeout"] { limits.dataTimeout = try duration(value, "limits.data_timeout") }
        if let value = section["session_timeout"] { limits.sessionTimeout = try duration(value, "limits.session_timeout") }
        if let value = section["max_errors"] { limits.maxErrors = try int(value, "limits.max_errors", min: 1) }
        if let value = section["default_quota"] { limits.defaultQuota = try size(value, "limits.default_quota") }
        if let value = section["policy_instruction_budget"] {
            limits.policyInstructionBudget = try int(value, "limits.policy_instruction_budget", min: 1000)
        }
        if let value = section["policy_memory_limit"] {
            limits.policyMemoryLimit = Int(try size(value, "limits.policy_memory_limit"))
            if limits.policyMemoryLimit < 1024 * 1024 { throw fail("limits.policy_memory_limit", "must be at least 1MB") }
        }
        if let value = section["policy_vms"] { limits.policyVMs = try int(value, "limits.policy_vms", min: 1) }
        if let value = section["policy_body_size"] {
            limits.policyBodySize = Int(try size(value, "limits.policy_body_size"))
            if limits.policyBodySize < 1024 { throw fail("limits.policy_body_size", "must be at least 1KB") }
        }
        if let value = section["shutdown_grace"] { limits.shutdownGrace = try duration(value, "limits.shutdown_grace") }
    }

    func readRoute(_ section: TOMLTable, key: String) throws(ConfigurationError) -> RouteConfiguration {
        try checkKeys(section, allowed: ["host", "tls", "username", "password", "ca_file"], section: key)
        guard let hostValue = section["host"] else { throw fail("\(key).host", "is required") }
        let hostText = try string(hostValue, "\(key).host")
        var host = hostText
        var port = 25
        if let colon = hostText.lastIndex(of: ":"), let parsed = Int(hostText[hostText.index(after: colon)...]) {
            host = String(hostText[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            port = parsed
        }
        var tls = RouteConfiguration.TLSMode.opportunistic
        if let value = section["tls"] {
            let text = try string(value, "\(key).tls")
            guard let mode = RouteConfiguration.TLSMode(rawValue: text) else {
                throw fail("\(key).tls", "expected \"opportunistic\", \"required\" or \"none\"")
            }
            tls = mode
        }
        return RouteConfiguration(host: host, port: port, tls: tls,
                                  username: try section["username"].map { (v) throws(ConfigurationError) in try string(v, "\(key).username") },
                                  password: try section["password"].map { (v) throws(ConfigurationError) in try string(v, "\(key).password") },
                                  caFile: try section["ca_file"].map { (v) throws(ConfigurationError) in path(try string(v, "\(key).ca_file")) })
    }

    func readPolicy(_ section: TOMLTable, into configuration: inout GatewayConfiguration) throws(ConfigurationError) {
        for key in section.keys {
            let value = section[key]!
            switch key {
            case "directory": configuration.policyDirectory = path(try string(value, "policy.directory"))
            case "plugin_directory": configuration.pluginDirectory = path(try string(value, "policy.plugin_directory"))
            case "chain":
                configuration.policyChain = try strings(value, "policy.chain")
                for name in configuration.policyChain where !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                    throw fail("policy.chain", "\"\(name)\" is not a policy name (letters, digits, _ and -)")
                }
            case "shadow":
                configuration.policyShadow = try strings(value, "policy.shadow")
                for name in configuration.policyShadow where !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                    throw fail("policy.shadow", "\"\(name)\" is not a policy name (letters, digits, _ and -)")
                }
            default:
                guard value.table != nil else { throw fail("policy.\(key)", "expected a table of settings for policy \"\(key)\"") }
                configuration.policySettings[key] = PolicyValue(toml: value)
            }
        }
    }

    // MARK: typed accessors

    func path(_ text: String) -> String { GatewayConfiguration.resolve(text, base: baseDirectory) }

    func checkKeys(_ table: TOMLTable, allowed: [String], section: String) throws(ConfigurationError) {
        for key in table.keys where !allowed.contains(key) {
            let full = section.isEmpty ? key : "\(section).\(key)"
            throw fail(full, "unknown key (known: \(allowed.joined(separator: ", ")))")
        }
    }

    func table(_ value: TOMLValueConvertible, _ key: String) throws(ConfigurationError) -> TOMLTable {
        guard let table = value.table else { throw fail(key, "expected a table") }
        return table
    }

    func string(_ value: TOMLValueConvertible, _ key: String) throws(ConfigurationError) -> String {
        guard let text = value.string else { throw fail(key, "expected a string") }
        return text
    }

    func strings(_ value: TOMLValueConvertible, _ key: String) throws(ConfigurationError) -> [String] {
        guard let array = value.array else { throw fail(key, "expected a list of strings") }
        var result: [String] = []
        for item in array {
            guard let text = item.string else { throw fail(key, "expected a list of strings") }
            result.append(text)
        }
        return result
    }

    func bool(_ value: TOMLValueConvertible, _ key: String) throws(ConfigurationError) -> Bool {
        guard let flag = value.bool else { throw fail(key, "expected true or false") }
        return flag
    }

    func int(_ value: TOMLValueConvertible, _ key: String, min: Int) throws(ConfigurationError) -> Int {
        guard let number = value.int else { throw fail(key, "expected an integer") }
        guard number >= min else { throw fail(key, "must be at least \(min)") }
        return number
    }

    func size(_ value: TOMLValueConvertible, _ key: String) throws(ConfigurationError) -> Int64 {
        if let number = value.int, number > 0 { return Int64(number) }
        if let text = value.string, let bytes = ConfigValues.size(text), bytes > 0 { return bytes }
        throw fail(key, "expected a size like \"10MB\" or a number of bytes")
    }

    func duration(_ value: TOMLValueConvertible, _ key: String) throws(ConfigurationError) -> Duration {
        if let number = value.int, number > 0 { return .seconds(number) }
        if let text = value.string, let parsed = ConfigValues.duration(text), parsed > .zero { return parsed }
        throw fail(key, "expected a duration like \"90s\" or \"1h\"")
    }
}

extension PolicyValue {
    /// A TOML value as a policy sees it in `config` (mailgate.toml's [policy.NAME] and
    /// transcripts' settings alike).
    init(toml value: TOMLValueConvertible) {
        switch value.type {
        case .bool: self = .bool(value.bool ?? false)
        case .int: self = .integer(value.int ?? 0)
        case .double: self = .double(value.double ?? 0)
        case .string: self = .string(value.string ?? "")
        case .array: self = .array((value.array ?? TOMLArray()).map { PolicyValue(toml: $0) })
        case .table:
            let table = value.table ?? TOMLTable()
            var result: [String: PolicyValue] = [:]
            for key in table.keys { result[key] = PolicyValue(toml: table[key]!) }
            self = .table(result)
        default: self = .string(value.tomlValue.debugDescription)
        }
    }
}
