// Reads a transcript's TOML into a PolicyTranscript. Every key is known and typed:
// an unknown key, a wrong type, a bad verdict or address is refused with file:line
// (found by TranscriptLineLocator, since TOMLKit gives no positions), so a typo never
// turns a test into one that checks nothing. Paths are relative to the transcript.
import Foundation
import MailCore
import Policy
import TOMLKit

public enum PolicyTranscriptParser {
    /// Reads `path`. The TOML parser is first tried in a child process (it can abort on
    /// some malformed input, see ConfigurationSyntaxCheck) unless `checkSyntax` is false
    /// (unit tests, whose process cannot answer the child's argument).
    public static func load(path: String, checkSyntax: Bool = true) throws(TranscriptError) -> PolicyTranscript {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) }
        catch { throw TranscriptError(file: path, line: nil, message: "cannot read the transcript (missing, unreadable or not UTF-8)") }
        if checkSyntax {
            do { try ConfigurationSyntaxCheck.check(path: path) }
            catch { throw TranscriptError(file: path, line: nil, message: "the TOML parser cannot read this file (it stopped on malformed syntax): check brackets, quotes and keys") }
        }
        let base = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        return try parse(text, file: path, baseDirectory: base)
    }

    /// Parses transcript `text`; `file` names it in errors, `baseDirectory` anchors its paths.
    public static func parse(_ text: String, file: String, baseDirectory: String) throws(TranscriptError) -> PolicyTranscript {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) }
        catch let error as TOMLParseError {
            throw TranscriptError(file: file, line: error.source.begin.line, message: error.description)
        } catch {
            throw TranscriptError(file: file, line: nil, message: "\(error)")
        }
        var reader = Reader(file: file, base: baseDirectory, locator: TranscriptLineLocator(text: text))
        return try reader.read(table)
    }

    struct Reader {
        let file: String
        let base: String
        let locator: TranscriptLineLocator

        func fail(_ path: [String], _ message: String) -> TranscriptError {
            let shown = path.map { $0.hasPrefix("#") ? "[\(Int($0.dropFirst())! + 1)]" : $0 }
                .reduce("") { $0.isEmpty || $1.hasPrefix("[") ? $0 + $1 : $0 + "." + $1 }
            return TranscriptError(file: file, line: locator.line(of: path),
                                   message: shown.isEmpty ? message : "\(shown): \(message)")
        }

        mutating func read(_ table: TOMLTable) throws(TranscriptError) -> PolicyTranscript {
            try checkKeys(table, [], ["description", "chain", "now", "hostname", "limits", "policy", "connection", "store",
                                      "dns", "http", "step"])
            var transcript = PolicyTranscript(
                file: file, description: nil, chain: nil, shadow: nil, now: PolicyTranscript.defaultNow, hostname: nil,
                maxMessageSize: nil, maxRecipients: nil, policyDirectory: nil, pluginDirectory: nil, settings: [:],
                connection: .init(), store: .init(), dns: [], steps: [])
            if let value = table["description"] { transcript.description = try string(value, ["description"]) }
            if let value = table["chain"] { transcript.chain = try chain(value, ["chain"]) }
            if let value = table["now"] {
                if let number = value.int { transcript.now = Double(number) }
                else if let number = value.double, number.isFinite { transcript.now = number }
                else { throw fail(["now"], "expected seconds since the epoch (a number)") }
                guard transcript.now >= 0 else { throw fail(["now"], "must not be negative") }
            }
            if let value = table["hostname"] { transcript.hostname = try string(value, ["hostname"]) }
            if let value = table["limits"] {
                let section = try self.table(value, ["limits"])
                try checkKeys(section, ["limits"], ["max_message_size", "max_recipients", "policy_instruction_budget",
                                                    "policy_deadline", "policy_dns_lookups", "policy_dns_timeout",
                                                    "policy_http_timeout"])
                if let value = section["max_message_size"] {
                    if let number = value.int, number > 0 { transcript.maxMessageSize = number }
                    else if let text = value.string, let bytes = ConfigValues.size(text), bytes > 0 { transcript.maxMessageSize = Int(bytes) }
                    else { throw fail(["limits", "max_message_size"], "expected a size like \"10MB\" or a number of bytes") }
                }
                if let value = section["max_recipients"] {
                    transcript.maxRecipients = try int(value, ["limits", "max_recipients"], min: 1)
                }
                if let value = section["policy_instruction_budget"] {
                    transcript.instructionBudget = try int(value, ["limits", "policy_instruction_budget"], min: 1000)
                }
                if let value = section["policy_dns_lookups"] {
                    transcript.dnsLookups = try int(value, ["limits", "policy_dns_lookups"], min: 0)
                }
                for key in ["policy_deadline", "policy_dns_timeout", "policy_http_timeout"] {
                    guard let value = section[key] else { continue }
                    guard let seconds = try seconds(value, ["limits", key]), seconds > 0 else {
                        throw fail(["limits", key], "must be a positive duration")
                    }
                    let duration = Duration.milliseconds(Int64((seconds * 1000).rounded()))
                    switch key {
                    case "policy_deadline": transcript.deadline = duration
                    case "policy_dns_timeout": transcript.dnsTimeout = duration
                    default: transcript.httpTimeout = duration
                    }
                }
            }
            if let value = table["policy"] { try readPolicy(try self.table(value, ["policy"]), into: &transcript) }
            if let value = table["connection"] { transcript.connection = try readConnection(try self.table(value, ["connection"])) }
            if let value = table["store"] { transcript.store = try readStore(try self.table(value, ["store"])) }
            if let value = table["dns"] {
                for (index, item) in try tables(value, ["dns"]).enumerated() {
                    transcript.dns.append(try readDNS(item, ["dns", "#\(index)"]))
                }
            }
            if let value = table["http"] {
                for (index, item) in try tables(value, ["http"]).enumerated() {
                    transcript.http.append(try readHTTP(item, ["http", "#\(index)"]))
                }
            }
            guard let steps = table["step"] else { throw fail([], "no [[step]]: a transcript needs at least one step") }
            for (index, item) in try tables(steps, ["step"]).enumerated() {
                transcript.steps.append(try readStep(item, number: index + 1))
            }
            guard !transcript.steps.isEmpty else { throw fail(["step"], "no steps") }
            return transcript
        }

        func readPolicy(_ section: TOMLTable, into transcript: inout PolicyTranscript) throws(TranscriptError) {
            for key in section.keys.sorted() {
                let value = section[key]!
                let path = ["policy", key]
                switch key {
                case "directory": transcript.policyDirectory = resolve(try string(value, path))
                case "plugin_directory": transcript.pluginDirectory = resolve(try string(value, path))
                case "chain":
                    guard transcript.chain == nil else { throw fail(path, "the chain is given twice (top-level chain and [policy] chain)") }
                    transcript.chain = try chain(value, path)
                case "shadow":
                    transcript.shadow = try chain(value, path)
                default:
                    guard let settings = value.table else {
                        throw fail(path, "expected a table of settings for policy \"\(key)\" ([policy.\(key)])")
                    }
                    var result: [String: PolicyValue] = [:]
                    for name in settings.keys { result[name] = PolicyValue(toml: settings[name]!) }
                    transcript.settings[key] = result
                }
            }
        }

        func readConnection(_ section: TOMLTable) throws(TranscriptError) -> PolicyTranscript.Connection {
            try checkKeys(section, ["connection"], ["client_ip", "client_port", "listener", "tls", "auth_user"])
            var connection = PolicyTranscript.Connection()
            if let value = section["client_ip"] { connection.clientIP = try ip(value, ["connection", "client_ip"]) }
            if let value = section["client_port"] { connection.clientPort = try port(value, ["connection", "client_port"]) }
            if let value = section["listener"] {
                connection.listener = try listener(value, ["connection", "listener"])
                connection.tls = ["smtps", "pop3s", "imaps"].contains(connection.listener)
            }
            if let value = section["tls"] { connection.tls = try bool(value, ["connection", "tls"]) }
            if let value = section["auth_user"] {
                let user = try string(value, ["connection", "auth_user"])
                connection.authUser = user.isEmpty ? nil : user
            }
            return connection
        }

        func readStore(_ section: TOMLTable) throws(TranscriptError) -> PolicyTranscript.StoreFixture {
            try checkKeys(section, ["store"], ["domains", "accounts", "aliases", "catchall", "whitelist", "kv", "counters"])
            var store = PolicyTranscript.StoreFixture()
            if let value = section["domains"] { store.domains = try strings(value, ["store", "domains"]).map { $0.lowercased() } }
            if let value = section["accounts"] {
                store.accounts = try strings(value, ["store", "accounts"]).map { (text) throws(TranscriptError) in
                    try address(text, ["store", "accounts"]).normalized
                }
            }
            if let value = section["aliases"] {
                let aliases = try self.table(value, ["store", "aliases"])
                for key in aliases.keys {
                    let path = ["store", "aliases", key]
                    let source = try address(key, path).normalized
                    store.aliases[source] = try string(aliases[key]!, path)
                }
            }
            if let value = section["catchall"] {
                let catchAll = try self.table(value, ["store", "catchall"])
                for key in catchAll.keys { store.catchAll[key.lowercased()] = try string(catchAll[key]!, ["store", "catchall", key]) }
            }
            if let value = section["whitelist"] {
                let path = ["store", "whitelist"]
                if let entries = value.table {
                    for key in entries.keys {
                        let address = try ip(key, path + [key])
                        let ttl = try seconds(entries[key]!, path + [key])
                        store.whitelist[address] = .some(ttl)
                    }
                } else {
                    for text in try strings(value, path, what: "a list of IPs or a table { \"ip\" = \"1h\" }") {
                        let address = try ip(text, path)
                        store.whitelist[address] = .some(nil)
                    }
                }
            }
            if let value = section["kv"] {
                let entries = try self.table(value, ["store", "kv"])
                for key in entries.keys {
                    let path = ["store", "kv", key]
                    guard KeyValueLimits.isValidKey(key) else { throw fail(path, "a kv key is 1 to 512 bytes") }
                    var item = entries[key]!
                    var ttl: Double?
                    if let table = item.table {
                        try checkKeys(table, path, ["value", "ttl"])
                        guard let value = table["value"] else { throw fail(path, "needs value = ...") }
                        if let ttlValue = table["ttl"] {
                            ttl = try seconds(ttlValue, path + ["ttl"])
                            guard (ttl ?? 1) > 0 else { throw fail(path + ["ttl"], "must be more than 0") }
                        }
                        item = value
                    }
                    let value: KeyValue
                    if let text = item.string { value = .string(text) }
                    else if let number = item.int { value = .integer(number) }
                    else if let number = item.double, number.isFinite { value = .double(number) }
                    else { throw fail(path, "expected a string, a number or { value = ..., ttl = \"1h\" }") }
                    store.kv[key] = PolicyTranscript.KVSeed(value, ttl: ttl)
                }
            }
            if let value = section["counters"] {
                let entries = try self.table(value, ["store", "counters"])
                for key in entries.keys { store.counters[key] = try int(entries[key]!, ["store", "counters", key], min: 0) }
            }
            return store
        }

        func readDNS(_ section: TOMLTable, _ path: [String]) throws(TranscriptError) -> PolicyTranscript.DNSAnswer {
            try checkKeys(section, path, ["name", "type", "answer", "error", "ttl"])
            guard let nameValue = section["name"] else { throw fail(path, "needs name") }
            let name = try string(nameValue, path + ["name"])
            guard let typeValue = section["type"] else { throw fail(path, "needs type (A, AAAA, MX, TXT, PTR)") }
            let typeName = try string(typeValue, path + ["type"])
            guard let type = DNSRecordType(name: typeName) else {
                throw fail(path + ["type"], "\"\(typeName)\" is not a record type (A, AAAA, MX, TXT, PTR, CNAME, NS)")
            }
            var ttl: UInt32 = 300
            if let value = section["ttl"] { ttl = UInt32(clamping: try int(value, path + ["ttl"], min: 0)) }
            let result: DNSLookupResult
            switch (section["answer"], section["error"]) {
            case (let answer?, nil):
                let texts = try strings(answer, path + ["answer"])
                guard !texts.isEmpty else { throw fail(path + ["answer"], "an empty answer is error = \"nodata\"") }
                var records: [DNSRecordData] = []
                for text in texts { records.append(try record(text, type: type, path + ["answer"])) }
                result = .records(records, ttl: ttl)
            case (nil, let error?):
                let word = try string(error, path + ["error"])
                switch word {
                case "nxdomain": result = .nxdomain
                case "nodata": result = .nodata
                default:
                    guard let failure = DNSFailure(rawValue: word) else {
                        throw fail(path + ["error"], "\"\(word)\" is not a DNS error (nxdomain, nodata, servfail, refused, timeout, malformed, too_large, unreachable)")
                    }
                    result = .failure(failure)
                }
            default:
                throw fail(path, "give either answer = [...] or error = \"...\"")
            }
            return .init(name: PolicyTestFixture.dnsKey(name), type: type, result: result)
        }

        /// `[[http]]`: url, optional method, then status (+ body, headers) or error.
        func readHTTP(_ section: TOMLTable, _ path: [String]) throws(TranscriptError) -> PolicyTranscript.HTTPAnswer {
            try checkKeys(section, path, ["url", "method", "status", "body", "headers", "error"])
            guard let urlValue = section["url"] else { throw fail(path, "needs url") }
            let url = try string(urlValue, path + ["url"])
            guard PolicyHTTPURL(url) != nil else { throw fail(path + ["url"], "\"\(url)\" is not an http:// or https:// URL") }
            let method = try section["method"].map { (value) throws(TranscriptError) in try string(value, path + ["method"]).uppercased() }
            let result: Result<PolicyHTTPResponse, PolicyHTTPError>
            switch (section["status"], section["error"]) {
            case (let statusValue?, nil):
                let status = try int(statusValue, path + ["status"], min: 100)
                guard status <= 599 else { throw fail(path + ["status"], "expected an HTTP status from 100 to 599") }
                var response = PolicyHTTPResponse(status: status)
                if let value = section["body"] { response.body = Array(try string(value, path + ["body"]).utf8) }
                if let value = section["headers"] {
                    let headers = try table(value, path + ["headers"])
                    for name in headers.keys.sorted() {
                        response.headers.append(HeaderField(name: name, value: try string(headers[name]!, path + ["headers", name])))
                    }
                }
                result = .success(response)
            case (nil, let errorValue?):
                guard section["body"] == nil, section["headers"] == nil else {
                    throw fail(path, "an error answer has no body or headers")
                }
                let word = try string(errorValue, path + ["error"])
                guard let error = PolicyHTTPError(rawValue: word) else {
                    throw fail(path + ["error"], "\"\(word)\" is not an HTTP error (\(PolicyHTTPError.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                result = .failure(error)
            default:
                throw fail(path, "give either status = 200 (with body, headers) or error = \"timeout\"")
            }
            return .init(url: url, method: method, result: result)
        }

        func record(_ text: String, type: DNSRecordType, _ path: [String]) throws(TranscriptError) -> DNSRecordData {
            switch type {
            case .a, .aaaa:
                guard let address = IPAddress(text), (type == .a) != text.contains(":") else {
                    throw fail(path, "\"\(text)\" is not an \(type.name) address")
                }
                return .address(address.description)
            case .mx:
                let parts = text.split(separator: " ", omittingEmptySubsequences: true)
                guard parts.count == 2, let preference = Int(parts[0]), (0...65535).contains(preference) else {
                    throw fail(path, "\"\(text)\" is not an MX answer like \"10 mx.example.com\"")
                }
                return .mx(preference: preference, exchange: PolicyTestFixture.dnsKey(String(parts[1])))
            case .txt:
                return .text(text)
            case .ptr, .cname, .ns, .soa:
                return .name(PolicyTestFixture.dnsKey(text))
            }
        }

        static let commonStepKeys = ["hook", "expect", "expect_text", "expect_headers", "expect_policy", "expect_log", "comment"]
        static let stepKeys: [Hook: [String]] = [
            .connect: ["client_ip", "client_port", "listener", "tls", "auth_user"],
            .helo: ["name"],
            .auth: ["user", "mechanism", "success"],
            .mailFrom: ["address", "size"],
            .rcpt: ["address"],
            .data: ["message", "text", "size"],
            .deliver: ["address", "local"],
            .disconnect: [],
        ]

        func readStep(_ section: TOMLTable, number: Int) throws(TranscriptError) -> PolicyTranscript.Step {
            let path = ["step", "#\(number - 1)"]
            let line = locator.line(of: path)
            let comment = try section["comment"].map { (value) throws(TranscriptError) in try string(value, path + ["comment"]) }
            if let wait = section["wait"] {
                try checkKeys(section, path, ["wait", "comment"], hint: "a wait step has only wait (and comment)")
                guard let seconds = try seconds(wait, path + ["wait"]) else { throw fail(path + ["wait"], "expected a duration") }
                return .init(number: number, line: line, expectLine: line, comment: comment,
                             action: .wait(seconds, text: wait.string ?? "\(Int(seconds))s"))
            }
            guard let hookValue = section["hook"] else { throw fail(path, "needs hook = \"...\" (or wait = \"5m\")") }
            let hookName = try string(hookValue, path + ["hook"])
            guard let hook = Hook(rawValue: hookName), let keys = Self.stepKeys[hook] else {
                let known = Self.stepKeys.keys.map(\.rawValue).sorted().joined(separator: ", ")
                throw fail(path + ["hook"], "\"\(hookName)\" is not a hook transcripts can run (\(known))")
            }
            try checkKeys(section, path, Self.commonStepKeys + keys, hint: "for hook \"\(hookName)\"")
            guard let expectValue = section["expect"] else {
                throw fail(path, "needs expect = \"...\" (next, accept, reject 554 5.7.1, ...)")
            }
            let expectText = try string(expectValue, path + ["expect"])
            let expectation: PolicyTranscript.Expectation
            switch PolicyTranscript.Expectation.parse(expectText) {
            case .success(let parsed): expectation = parsed
            case .failure(let error): throw fail(path + ["expect"], error.reason)
            }
            let deliverOnly: Set<PolicyTranscript.Expectation.Kind> = [.folder, .redirect, .discard, .route]
            if deliverOnly.contains(expectation.kind), hook != .deliver {
                throw fail(path + ["expect"], "\"\(expectation.kind.rawValue)\" is a deliver verdict")
            }
            var step = PolicyTranscript.HookStep(hook: hook, expect: expectation)
            if let value = section["expect_text"] { step.expectText = try string(value, path + ["expect_text"]) }
            if let value = section["expect_headers"] {
                step.expectHeaders = try strings(value, path + ["expect_headers"])
                guard hook == .data else { throw fail(path + ["expect_headers"], "only the data hook adds headers") }
            }
            if let value = section["expect_policy"] { step.expectPolicy = try string(value, path + ["expect_policy"]) }
            if let value = section["expect_log"] { step.expectLog = try strings(value, path + ["expect_log"]) }

            switch hook {
            case .connect:
                if let value = section["client_ip"] { step.clientIP = try ip(value, path + ["client_ip"]) }
                if let value = section["client_port"] { step.clientPort = try port(value, path + ["client_port"]) }
                if let value = section["listener"] { step.listener = try listener(value, path + ["listener"]) }
                if let value = section["tls"] { step.tls = try bool(value, path + ["tls"]) }
                if let value = section["auth_user"] { step.authUser = try string(value, path + ["auth_user"]) }
            case .helo:
                guard let value = section["name"] else { throw fail(path, "a helo step needs name = \"...\"") }
                step.name = try string(value, path + ["name"])
            case .auth:
                guard let value = section["user"] else { throw fail(path, "an auth step needs user = \"...\"") }
                step.user = try string(value, path + ["user"])
                if let value = section["mechanism"] { step.mechanism = try string(value, path + ["mechanism"]).uppercased() }
                if let value = section["success"] { step.success = try bool(value, path + ["success"]) }
            case .mailFrom:
                guard let value = section["address"] else { throw fail(path, "a mail_from step needs address = \"...\" (\"\" for <>)") }
                let text = try string(value, path + ["address"])
                if !text.isEmpty && text != "<>" { step.address = try address(text, path + ["address"]) }
                if let value = section["size"] { step.size = try int(value, path + ["size"], min: 0) }
            case .rcpt, .deliver:
                guard let value = section["address"] else { throw fail(path, "a \(hookName) step needs address = \"...\"") }
                step.address = try address(try string(value, path + ["address"]), path + ["address"])
                if let value = section["local"] { step.local = try bool(value, path + ["local"]) }
            case .data:
                switch (section["message"], section["text"]) {
                case (let file?, nil):
                    let relative = try string(file, path + ["message"])
                    let full = resolve(relative)
                    guard let data = FileManager.default.contents(atPath: full) else {
                        throw fail(path + ["message"], "cannot read \(full)")
                    }
                    step.message = Self.crlf([UInt8](data))
                case (nil, let text?):
                    step.message = Self.crlf(Array(try string(text, path + ["text"]).utf8))
                case (nil, nil):
                    break
                default:
                    throw fail(path, "give message = \"file\" or text = \"...\", not both")
                }
                if let value = section["size"] { step.size = try int(value, path + ["size"], min: 0) }
            default:
                break
            }
            return .init(number: number, line: line, expectLine: locator.line(of: path + ["expect"]) ?? line,
                         comment: comment, action: .hook(step))
        }

        /// Bare LF (and lone CR) become CRLF, as a message arrives over SMTP.
        static func crlf(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + bytes.count / 32)
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 13 {
                    out += [13, 10]
                    if index + 1 < bytes.count, bytes[index + 1] == 10 { index += 1 }
                } else if byte == 10 {
                    out += [13, 10]
                } else {
                    out.append(byte)
                }
                index += 1
            }
            return out
        }

        // MARK: typed accessors

        func resolve(_ text: String) -> String { GatewayConfiguration.resolve(text, base: base) }

        func checkKeys(_ table: TOMLTable, _ path: [String], _ allowed: [String], hint: String? = nil) throws(TranscriptError) {
            for key in table.keys.sorted() where !allowed.contains(key) {
                throw fail(path + [key], "unknown key\(hint.map { " \($0)" } ?? "") (known: \(allowed.joined(separator: ", ")))")
            }
        }

        func table(_ value: TOMLValueConvertible, _ path: [String]) throws(TranscriptError) -> TOMLTable {
            guard let table = value.table else { throw fail(path, "expected a table") }
            return table
        }

        func tables(_ value: TOMLValueConvertible, _ path: [String]) throws(TranscriptError) -> [TOMLTable] {
            guard let array = value.array else { throw fail(path, "expected an array of tables ([[\(path.last ?? "")]])") }
            var result: [TOMLTable] = []
            for (index, item) in array.enumerated() {
                guard let table = item.table else { throw fail(path + ["#\(index)"], "expected a table") }
                result.append(table)
            }
            return result
        }

        func string(_ value: TOMLValueConvertible, _ path: [String]) throws(TranscriptError) -> String {
            guard let text = value.string else { throw fail(path, "expected a string") }
            return text
        }

        func strings(_ value: TOMLValueConvertible, _ path: [String], what: String = "a list of strings") throws(TranscriptError) -> [String] {
            guard let array = value.array else { throw fail(path, "expected \(what)") }
            var result: [String] = []
            for item in array {
                guard let text = item.string else { throw fail(path, "expected \(what)") }
                result.append(text)
            }
            return result
        }

        func chain(_ value: TOMLValueConvertible, _ path: [String]) throws(TranscriptError) -> [String] {
            let names = try strings(value, path)
            for name in names where name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                throw fail(path, "\"\(name)\" is not a policy name (letters, digits, _ and -)")
            }
            return names
        }

        func bool(_ value: TOMLValueConvertible, _ path: [String]) throws(TranscriptError) -> Bool {
            guard let flag = value.bool else { throw fail(path, "expected true or false") }
            return flag
        }

        func int(_ value: TOMLValueConvertible, _ path: [String], min: Int) throws(TranscriptError) -> Int {
            guard let number = value.int else { throw fail(path, "expected an integer") }
            guard number >= min else { throw fail(path, "must be at least \(min)") }
            return number
        }

        func port(_ value: TOMLValueConvertible, _ path: [String]) throws(TranscriptError) -> Int {
            let number = try int(value, path, min: 0)
            guard number <= 65535 else { throw fail(path, "must be at most 65535") }
            return number
        }

        /// A duration ("5m", "90s") or a number of seconds; nil for `true` (no expiry).
        func seconds(_ value: TOMLValueConvertible, _ path: [String]) throws(TranscriptError) -> Double? {
            if let number = value.int, number >= 0 { return Double(number) }
            if let number = value.double, number.isFinite, number >= 0 { return number }
            if let text = value.string, let duration = ConfigValues.duration(text) { return duration.seconds }
            if value.bool == true { return nil }
            throw fail(path, "expected a duration like \"90s\" or \"5m\", or a number of seconds")
        }

        func ip(_ value: TOMLValueConvertible, _ path: [String]) throws(TranscriptError) -> String {
            try ip(try string(value, path), path)
        }

        func ip(_ text: String, _ path: [String]) throws(TranscriptError) -> String {
            guard let address = IPAddress(text) else { throw fail(path, "\"\(text)\" is not an IP address") }
            return address.description
        }

        func listener(_ value: TOMLValueConvertible, _ path: [String]) throws(TranscriptError) -> String {
            let name = try string(value, path)
            guard PolicyTranscript.Connection.listeners.contains(name) else {
                throw fail(path, "\"\(name)\" is not a listener (\(PolicyTranscript.Connection.listeners.joined(separator: ", ")))")
            }
            return name
        }

        func address(_ text: String, _ path: [String]) throws(TranscriptError) -> MailAddress {
            do { return try MailAddress.parse(text, allowUTF8: true) }
            catch { throw fail(path, "\"\(text)\" is not an address (local@domain, no angle brackets)") }
        }
    }
}
