// `mailgate whitelist|mail|policy|reload|status`: day-to-day operations (queue: QueueCommands.swift).
import ArgumentParser
import Foundation
import Gateway
import MailCore
import MailStore
import Policy

struct WhitelistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whitelist", abstract: "The open-SMTP relay whitelist.",
                                                    subcommands: [List.self, Add.self, Remove.self])
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List unexpired entries: ip, user, expiry.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try guarded {
                let store = try global.openStore()
                defer { store.close() }
                for entry in try store.whitelist(now: Date().timeIntervalSince1970) {
                    print("\(entry.ip)\t\(entry.user ?? "-")\texpires \(MessageDate.short(entry.expires)) UTC")
                }
            }
        }
    }
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Allow relaying from IP for a while.")
        @OptionGroup var global: GlobalOptions
        @Argument var ip: String
        @Option(help: "How long, e.g. 1h (default), 30m, 7d.") var ttl: String = "1h"
        @Option(help: "Record this user with the entry.") var user: String?
        func run() throws {
            try guarded {
                guard let address = IPAddress(ip) else { throw CLIError("\"\(ip)\" is not an IP address") }
                guard let duration = ConfigValues.duration(ttl), duration > .zero else {
                    throw CLIError("\"\(ttl)\" is not a duration like 1h or 90s")
                }
                let store = try global.openStore(create: true)
                defer { store.close() }
                let expires = Date().timeIntervalSince1970 + duration.seconds
                try store.whitelistAdd(ip: address.description, user: user, expires: expires)
                print("\(address) whitelisted until \(MessageDate.short(expires)) UTC")
            }
        }
    }
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an IP from the whitelist.")
        @OptionGroup var global: GlobalOptions
        @Argument var ip: String
        func run() throws {
            try guarded {
                guard let address = IPAddress(ip) else { throw CLIError("\"\(ip)\" is not an IP address") }
                let store = try global.openStore()
                defer { store.close() }
                try store.whitelistRemove(ip: address.description)
                print("removed \(address)")
            }
        }
    }
}

struct MailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mail", abstract: "Look at stored mail.",
                                                    subcommands: [List.self, Show.self])
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per message: uid, size, date, from, subject.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Option(help: "Mailbox name.") var folder: String = "INBOX"
        func run() throws {
            try guarded {
                let account = try validAddress(address)
                let store = try global.openStore()
                defer { store.close() }
                guard store.account(account) != nil else { throw CLIError("no such account: \(account)") }
                guard let mailbox = store.mailbox(account: account, name: folder) else {
                    throw CLIError("no mailbox \(folder) for \(account)")
                }
                for message in try store.messages(mailboxID: mailbox.id) {
                    let bytes = try store.messageBytes(blobID: message.blobID)
                    let headers = HeaderFields.parse(Array(bytes.prefix(HeaderFields.headerEnd(bytes))))
                    let from = HeaderFields.first("From", in: headers) ?? "-"
                    let subject = HeaderFields.first("Subject", in: headers) ?? "-"
                    print("\(message.uid)\t\(message.size)\t\(MessageDate.short(message.internalDate))\t\(from)\t\(subject)")
                }
            }
        }
    }
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the raw message.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Argument var uid: UInt32
        @Option(help: "Mailbox name.") var folder: String = "INBOX"
        func run() throws {
            try guarded {
                let account = try validAddress(address)
                let store = try global.openStore()
                defer { store.close() }
                guard let mailbox = store.mailbox(account: account, name: folder) else {
                    throw CLIError("no mailbox \(folder) for \(account)")
                }
                guard let message = try store.messages(mailboxID: mailbox.id).first(where: { $0.uid == uid }) else {
                    throw CLIError("no message with uid \(uid) in \(account) \(folder)")
                }
                FileHandle.standardOutput.write(Data(try store.messageBytes(blobID: message.blobID)))
            }
        }
    }
}

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Policy scripts.",
                                                    subcommands: [Check.self, PolicyTestCommand.self])
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compile and load the chain without serving; non-zero on error.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try guarded {
                let configuration = try global.load()
                let host = OfflinePolicyHost()
                do {
                    let engine = try PolicyEngine(configuration: configuration.policyConfiguration, host: host)
                    print("policy chain OK: \(engine.status.policies.joined(separator: ", "))")
                } catch {
                    throw CLIError("policy error: \(error)")
                }
            }
        }
    }
}

/// Answers host calls during `policy check` (no store, no network): nothing exists.
struct OfflinePolicyHost: PolicyHost {
    func isLocalDomain(_ domain: String) -> Bool { false }
    func userExists(_ address: MailAddress) -> Bool { false }
    func aliasExists(_ address: MailAddress) -> Bool { false }
    func hasCatchAll(_ domain: String) -> Bool { false }
    func whitelistContains(_ ip: String) -> Bool { false }
    func whitelistAdd(_ ip: String, user: String?, ttlSeconds: Int) {}
    func whitelistRemove(_ ip: String) {}
    func counterIncrement(_ key: String, amount: Int, windowSeconds: Int) -> Int { amount }
    func counterGet(_ key: String, windowSeconds: Int) -> Int { 0 }
    /// `init` may seed kv: kept in memory, gone when the check ends.
    let keyValues: any PolicyKeyValueStore = MemoryKeyValueStore()
    func now() -> Double { Date().timeIntervalSince1970 }
    func log(_ level: PolicyLogLevel, policy: String, _ message: String) {
        guard level == .warning || level == .error else { return }
        FileHandle.standardError.write(Data("[\(level.rawValue)] \(policy): \(message)\n".utf8))
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ask the running server to reload policies, config and TLS (SIGHUP).")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Seconds to wait for the server to confirm.") var timeout: Double = 10
    func run() throws {
        try guarded {
            let directory = try global.load().dataDirectory
            guard let pid = PidFile.runningServer(dataDirectory: directory) else {
                throw CLIError("no running server for data directory \(directory)")
            }
            let before = ServerStatus.read(dataDirectory: directory)?.reloadCount ?? 0
            guard kill(pid, SIGHUP) == 0 else { throw CLIError("cannot signal pid \(pid): \(String(cString: strerror(errno)))") }
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let status = ServerStatus.read(dataDirectory: directory), status.reloadCount > before {
                    if let error = status.lastReloadError {
                        throw CLIError("reload failed, the server keeps its previous configuration: \(error)")
                    }
                    print("reloaded \(status.configFile ?? "built-in defaults (no mailgate.toml)"): "
                          + "policy generation \(status.policyGeneration) (\(status.policies.joined(separator: ", ")))")
                    if let keys = status.restartNeeded {
                        print("note: \(keys.joined(separator: ", ")) changed; restart the server to apply")
                    }
                    return
                }
                usleep(50_000)
            }
            throw CLIError("the server (pid \(pid)) did not confirm the reload within \(Int(timeout))s")
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the running server's state.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
        try guarded {
            let directory = try global.load().dataDirectory
            guard let pid = PidFile.runningServer(dataDirectory: directory),
                  let status = ServerStatus.read(dataDirectory: directory) else {
                throw CLIError("not running (data directory \(directory))", exitCode: 3)
            }
            print("running:     pid \(pid) since \(MessageDate.short(status.startedAt)) UTC")
            print("hostname:    \(status.hostname)")
            print("config:      \(status.configFile ?? "built-in defaults")")
            if let keys = status.restartNeeded {
                print("restart:     needed to apply \(keys.joined(separator: ", "))")
            }
            for listener in status.listeners { print("listener:    \(listener)") }
            print("connections: \(status.connections)")
            print("policies:    \(status.policies.joined(separator: ", ")) (generation \(status.policyGeneration), loaded \(MessageDate.short(status.policyLoadedAt)) UTC)")
            if let shadow = status.shadowPolicies {
                let counts = status.shadowDisagreements ?? [:]
                let listed = shadow.map { "\($0) \(counts[$0] ?? 0)" } + counts.keys.filter { !shadow.contains($0) }.sorted()
                    .map { "\($0) \(counts[$0] ?? 0)" }
                print("shadow:      \(status.shadowCalls ?? 0) calls compared; disagreements: \(listed.isEmpty ? "none" : listed.joined(separator: ", "))")
            }
            print("tls:         \(status.tlsCertificate ?? "-")\(status.tlsSelfSigned ? " (self-signed)" : "")")
            if let error = status.lastReloadError {
                print("last reload: FAILED at \(MessageDate.short(status.lastReloadAt ?? 0)) UTC: \(error)")
            } else if let at = status.lastReloadAt {
                print("last reload: ok at \(MessageDate.short(at)) UTC")
            }
        }
    }
}

struct CountersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "counters",
                                                    abstract: "Rate counters kept by the policies: key and current count.")
    @OptionGroup var global: GlobalOptions
    func run() throws {
        try guarded {
            let store = try global.openStore()
            defer { store.close() }
            for (key, count) in try store.counters(now: Date().timeIntervalSince1970) where count > 0 {
                print("\(key)\t\(count)")
            }
        }
    }
}
