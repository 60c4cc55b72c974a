// A `mailgate policy test` transcript: one scenario in a TOML file — the chain and its
// settings, the connection, an in-memory store and canned DNS answers, then steps, each
// a hook call with the verdict expected (or a `wait` that moves the clock). This file is
// the model; PolicyTranscriptParser reads it (every key checked, unknown ones refused
// with file:line); PolicyTranscriptRunner plays it. The format is documented in
// docs/policy-api.md, "Testing policies: mailgate policy test".
import MailCore
import Policy

/// A transcript that cannot be read: "file:line: message".
public struct TranscriptError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file; self.line = line; self.message = message
    }

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

public struct PolicyTranscript: Sendable {
    /// The path as given (used in messages).
    public var file: String
    public var description: String?
    /// The chain to run; nil: `--chain`, else the configured one.
    public var chain: [String]?
    /// `[policy] shadow`: run beside the chain, disagreements only logged; nil: the
    /// configured ones when the chain is the configured one too, else none.
    public var shadow: [String]?
    /// The clock at the start, seconds since the epoch.
    public var now: Double
    /// Overrides of `mailgate.config` (and of the SMTP session's own checks).
    public var hostname: String?
    public var maxMessageSize: Int?
    public var maxRecipients: Int?
    /// `[limits] policy_*` overrides: budget, deadline, DNS lookups per call and their timeout.
    public var instructionBudget: Int?
    public var deadline: Duration?
    public var dnsLookups: Int?
    public var dnsTimeout: Duration?
    /// Absolute paths (resolved against the transcript's directory); nil: configured.
    public var policyDirectory: String?
    public var pluginDirectory: String?
    /// `[policy.NAME]` tables: merged key by key over the configured settings.
    public var settings: [String: [String: PolicyValue]]
    public var connection: Connection
    public var store: StoreFixture
    public var dns: [DNSAnswer]
    /// `[[http]]`: canned answers for `mailgate.http.request`.
    public var http: [HTTPAnswer] = []
    /// `[limits] policy_http_timeout`.
    public var httpTimeout: Duration?
    public var steps: [Step]

    /// 2026-01-01T00:00:00Z: transcripts see the same clock on every run.
    public static let defaultNow: Double = 1_767_225_600

    public struct Connection: Sendable, Equatable {
        public var clientIP = "192.0.2.10"
        public var clientPort = 40000
        public var listener = "smtp"
        public var tls = false
        public var authUser: String?

        public init() {}

        /// "smtp", "pop3" or "imap" for a listener kind.
        public var protocolName: String {
            switch listener {
            case "pop3", "pop3s": "pop3"
            case "imap", "imaps": "imap"
            default: "smtp"
            }
        }

        public static let listeners = ["smtp", "submission", "smtps", "pop3", "pop3s", "imap", "imaps"]
    }

    public struct StoreFixture: Sendable, Equatable {
        public var domains: [String] = []
        public var accounts: [String] = []
        public var aliases: [String: String] = [:]
        public var catchAll: [String: String] = [:]
        /// IP → seconds the entry stays valid (nil: the whole transcript).
        public var whitelist: [String: Double?] = [:]
        /// Key → value, and seconds until it expires (nil: never, in the transcript).
        public var kv: [String: KVSeed] = [:]
        public var counters: [String: Int] = [:]

        public init() {}
    }

    public struct KVSeed: Sendable, Equatable {
        public var value: KeyValue
        public var ttl: Double?
        public init(_ value: KeyValue, ttl: Double? = nil) { self.value = value; self.ttl = ttl }
    }

    public struct DNSAnswer: Sendable, Equatable {
        public var name: String
        public var type: DNSRecordType
        public var result: DNSLookupResult
    }

    public struct HTTPAnswer: Sendable {
        public var url: String
        /// nil: any method.
        public var method: String?
        public var result: Result<PolicyHTTPResponse, PolicyHTTPError>
    }

    public struct Step: Sendable, Equatable {
        public enum Action: Sendable, Equatable {
            case hook(HookStep)
            /// Moves the clock forward by this many seconds.
            case wait(Double, text: String)
        }

        /// 1-based position in the file's steps, and the line of its `[[step]]`.
        public var number: Int
        public var line: Int?
        /// The line of its `expect` (where a mismatch is reported), else `line`.
        public var expectLine: Int?
        public var comment: String?
        public var action: Action
    }

    public struct HookStep: Sendable, Equatable {
        public var hook: Hook
        /// helo: the name.
        public var name: String?
        /// auth: the login as given, the mechanism, whether the credentials were right.
        public var user: String?
        public var mechanism = "PLAIN"
        public var success = true
        /// mail_from: the sender (nil: `<>`); rcpt, deliver: the recipient.
        public var address: MailAddress?
        /// mail_from: the declared SIZE=; data: the size policies see (default: the message's).
        public var size: Int?
        /// data: the message (CRLF line ends); nil: a small default message.
        public var message: [UInt8]?
        /// deliver: whether the recipient is local (default: its domain is in [store] domains).
        public var local: Bool?
        /// connect: a new session; nil fields keep [connection]'s.
        public var clientIP: String?
        public var clientPort: Int?
        public var listener: String?
        public var tls: Bool?
        public var authUser: String?

        public var expect: Expectation
        /// A substring of the reply text.
        public var expectText: String?
        /// Exactly the headers the chain must add, in order ("Name" or "Name: value part").
        public var expectHeaders: [String]?
        /// The policy that must have decided ("" when none may: every policy said next).
        public var expectPolicy: String?
        /// Substrings each of which some log line of this step must contain.
        public var expectLog: [String]?

        public init(hook: Hook, expect: Expectation) {
            self.hook = hook; self.expect = expect
        }
    }

    /// What a step expects: a verdict, with the reply code and enhanced code when given.
    public struct Expectation: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable, CaseIterable {
            case next, accept, reject, `defer`, disconnect, folder, redirect, discard, route
        }

        public var kind: Kind
        public var code: Int?
        public var enhanced: String?
        /// folder, redirect, route: the argument.
        public var argument: String?

        public init(kind: Kind, code: Int? = nil, enhanced: String? = nil, argument: String? = nil) {
            self.kind = kind; self.code = code; self.enhanced = enhanced; self.argument = argument
        }

        public var description: String {
            [kind.rawValue, code.map(String.init), enhanced, argument].compactMap { $0 }.joined(separator: " ")
        }

        /// Parses "next", "reject", "reject 554", "reject 554 5.7.1", "folder Junk",
        /// "redirect a@b.example", "discard", "route smarthost"; nil with the reason.
        public static func parse(_ text: String) -> Result<Expectation, ExpectationSyntaxError> {
            let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = words.first else { return .failure(.init("empty; expected a verdict such as \"next\" or \"reject 554 5.7.1\"")) }
            guard let kind = Kind(rawValue: first.lowercased()) else {
                return .failure(.init("\"\(first)\" is not a verdict (one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))"))
            }
            let rest = Array(words.dropFirst())
            switch kind {
            case .next, .accept, .discard:
                guard rest.isEmpty else { return .failure(.init("\"\(kind.rawValue)\" takes nothing after it")) }
                return .success(Expectation(kind: kind))
            case .folder, .redirect, .route:
                guard !rest.isEmpty else { return .failure(.init("\"\(kind.rawValue)\" needs an argument, e.g. \"\(kind.rawValue) \(kind == .folder ? "Junk" : kind == .route ? "smarthost" : "user@example.com")\"")) }
                let argument = rest.joined(separator: " ")
                if kind == .redirect, (try? MailAddress.parse(argument, allowUTF8: true)) == nil {
                    return .failure(.init("\"\(argument)\" is not an address"))
                }
                return .success(Expectation(kind: kind, argument: argument))
            case .reject, .defer, .disconnect:
                guard rest.count <= 2 else {
                    return .failure(.init("expected \"\(kind.rawValue) [code [enhanced code]]\"; put the reply text in expect_text"))
                }
                var expectation = Expectation(kind: kind)
                if let codeText = rest.first {
                    let range = kind == .reject ? 500...599 : kind == .defer ? 400...499 : 400...599
                    guard codeText.count == 3, let code = Int(codeText), range.contains(code) else {
                        return .failure(.init("\"\(codeText)\" is not a reply code for \(kind.rawValue) (\(range.lowerBound)–\(range.upperBound))"))
                    }
                    expectation.code = code
                }
                if rest.count == 2 {
                    let enhanced = rest[1]
                    let parts = enhanced.split(separator: ".", omittingEmptySubsequences: false)
                    guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }),
                          parts[0] == Substring(String(expectation.code! / 100)) else {
                        return .failure(.init("\"\(enhanced)\" is not an enhanced code matching \(expectation.code!) (like \(expectation.code! / 100).7.1)"))
                    }
                    expectation.enhanced = enhanced
                }
                return .success(expectation)
            }
        }

        /// Whether `result` is what this expects.
        public func matches(_ result: HookResult) -> Bool {
            switch (kind, result.verdict, result.delivery) {
            case (.next, .next, .normal), (.accept, .accept, .normal), (.discard, .accept, .discard):
                return true
            case (.reject, .reject(let reply), _), (.defer, .deferred(let reply), _), (.disconnect, .disconnect(let reply), _):
                return (code == nil || code == reply.code) && (enhanced == nil || enhanced == reply.enhanced)
            case (.folder, .accept, .folder(let name)), (.route, .accept, .route(let name)):
                return name == argument
            case (.redirect, .accept, .redirect(let address)):
                return address.normalized == (try? MailAddress.parse(argument ?? "", allowUTF8: true))?.normalized
            default:
                return false
            }
        }
    }

    public struct ExpectationSyntaxError: Error, Sendable, Equatable {
        public var reason: String
        init(_ reason: String) { self.reason = reason }
    }
}

extension HookResult {
    /// "next", "reject 554 5.7.1 \"text\"", "folder Junk" ...: how `policy test` shows it.
    public var transcriptDescription: String {
        func reply(_ kind: String, _ reply: Reply) -> String {
            let text = reply.lines.joined(separator: " ")
            return "\(kind) \(reply.code)\(reply.enhanced.map { " \($0)" } ?? "") \"\(text)\""
        }
        switch (verdict, delivery) {
        case (.next, _): return "next"
        case (.accept, .normal): return "accept"
        case (.accept, .discard): return "discard"
        case (.accept, .folder(let name)): return "folder \(name)"
        case (.accept, .redirect(let address)): return "redirect \(address.address)"
        case (.accept, .route(let name)): return "route \(name)"
        case (.reject(let r), _): return reply("reject", r)
        case (.deferred(let r), _): return reply("defer", r)
        case (.disconnect(let r), _): return reply("disconnect", r)
        }
    }

    /// The reply text of a refusal, nil otherwise.
    var replyText: String? {
        switch verdict {
        case .reject(let reply), .deferred(let reply), .disconnect(let reply): reply.lines.joined(separator: " ")
        default: nil
        }
    }
}
