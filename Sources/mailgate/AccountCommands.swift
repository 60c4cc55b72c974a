// `mailgate domain|user|alias|catchall …`: account administration, safe to run while
// the server is running (LMDB serves several processes).
import ArgumentParser
import Foundation
import MailCore
import MailStore

struct DomainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "domain", abstract: "Manage local domains.",
                                                    subcommands: [Add.self, Remove.self, List.self])
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a local domain (creates its postmaster mailbox).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Domain name, e.g. example.com") var domain: String
        func run() throws {
            try guarded {
                let name = try validDomain(domain)
                let store = try global.openStore(create: true)
                defer { store.close() }
                try store.addDomain(name)
                print("added domain \(name) (with postmaster@\(name))")
            }
        }
    }
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a domain with all its accounts, aliases and mail.")
        @OptionGroup var global: GlobalOptions
        @Argument var domain: String
        func run() throws {
            try guarded {
                let store = try global.openStore()
                defer { store.close() }
                try store.removeDomain(domain.lowercased())
                print("removed domain \(domain.lowercased())")
            }
        }
    }
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List local domains.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try guarded {
                let store = try global.openStore()
                defer { store.close() }
                for domain in try store.domains() { print(domain) }
            }
        }
    }
}

func validDomain(_ text: String) throws -> String {
    guard let address = try? MailAddress.parse("postmaster@\(text)"), !address.isDomainLiteral else {
        throw CLIError("\"\(text)\" is not a valid domain name")
    }
    return address.domain
}

func validAddress(_ text: String) throws -> String {
    guard let normalized = LoginName.normalize(text) else {
        throw CLIError("\"\(text)\" is not a valid address (expected user@domain)")
    }
    return normalized
}

/// Reads a password from stdin (`--password-stdin`) or prompts twice on a terminal.
func readPassword(fromStdin: Bool) throws -> String {
    if fromStdin {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw CLIError("no password on standard input")
        }
        return line
    }
    guard isatty(STDIN_FILENO) != 0 else {
        throw CLIError("standard input is not a terminal: use --password-stdin")
    }
    guard let first = getpass("Password: ").map({ String(cString: $0) }), !first.isEmpty else {
        throw CLIError("empty password")
    }
    guard let second = getpass("Repeat password: ").map({ String(cString: $0) }), second == first else {
        throw CLIError("passwords do not match")
    }
    return first
}

func parseQuota(_ text: String?) throws -> Int64? {
    guard let text else { return nil }
    guard let bytes = ConfigValues.size(text), bytes > 0 else {
        throw CLIError("\"\(text)\" is not a quota (e.g. 25MB, 2GB or a number of bytes)")
    }
    return bytes
}

func formatSize(_ bytes: Int64) -> String {
    if bytes >= 1 << 30 && bytes % (1 << 30) == 0 { return "\(bytes >> 30)GB" }
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20)MB" }
    if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10)KB" }
    return "\(bytes)"
}

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage mail accounts.",
                                                    subcommands: [Add.self, Remove.self, List.self, Passwd.self, Show.self])
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an account (user@domain or user%domain).")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false
        @Option(help: "Mailbox quota, e.g. 25MB (default) or 2GB.") var quota: String?
        @Flag(help: "Also keep a shared secret for APOP and CRAM-MD5 (stored in the clear; see docs/operations.md).")
        var apop = false
        func run() throws {
            try guarded {
                let account = try validAddress(address)
                let quotaBytes = try parseQuota(quota)
                let password = try readPassword(fromStdin: passwordStdin)
                let store = try global.openStore(create: true)
                defer { store.close() }
                try store.addAccount(account, passwordHash: PasswordHash.make(password), quota: quotaBytes,
                                     apopSecret: apop ? password : nil)
                print("added \(account)")
            }
        }
    }
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an account and its mail.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        func run() throws {
            try guarded {
                let account = try validAddress(address)
                let store = try global.openStore()
                defer { store.close() }
                try store.removeAccount(account)
                print("removed \(account)")
            }
        }
    }
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts: address, used/quota, messages.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Only this domain.") var domain: String?
        func run() throws {
            try guarded {
                let store = try global.openStore()
                defer { store.close() }
                for account in try store.accounts(domain: domain?.lowercased()) {
                    let login = account.passwordHash == nil ? " (login disabled)" : ""
                    print("\(account.address)\t\(account.usedBytes)/\(formatSize(account.quota))\t\(account.messageCount) messages\(login)")
                }
            }
        }
    }
    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set an account's password (and quota).")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Flag(name: .customLong("password-stdin")) var passwordStdin = false
        @Option(help: "Also change the quota.") var quota: String?
        @Flag(help: "Keep a shared secret for APOP/CRAM-MD5.") var apop = false
        @Flag(name: .customLong("no-apop"), help: "Drop the APOP/CRAM-MD5 shared secret.") var noApop = false
        func run() throws {
            try guarded {
                let account = try validAddress(address)
                let quotaBytes = try parseQuota(quota)
                let password = try readPassword(fromStdin: passwordStdin)
                let store = try global.openStore()
                defer { store.close() }
                guard let existing = store.account(account) else { throw CLIError("no such account: \(account)") }
                let secret: String?? = apop ? .some(password) : (noApop ? .some(nil) : (existing.apopSecret != nil ? .some(password) : .none))
                try store.setPassword(account, hash: PasswordHash.make(password), apopSecret: secret)
                if let quotaBytes { try store.setQuota(account, quotaBytes) }
                print("password changed for \(account)")
            }
        }
    }
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an account with its mailboxes.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        func run() throws {
            try guarded {
                let account = try validAddress(address)
                let store = try global.openStore()
                defer { store.close() }
                guard let info = store.account(account) else { throw CLIError("no such account: \(account)") }
                print("address:  \(info.address)")
                print("login:    \(info.passwordHash == nil ? "disabled (no password)" : "enabled")")
                print("apop:     \(info.apopSecret == nil ? "off" : "on")")
                print("quota:    \(formatSize(info.quota)) (\(info.quota) bytes)")
                print("used:     \(info.usedBytes) bytes in \(info.messageCount) messages")
                print("created:  \(MessageDate.short(info.created)) UTC")
                for mailbox in try store.mailboxes(account: account) {
                    print("mailbox:  \(mailbox.name)\t\(mailbox.messageCount) messages\t\(mailbox.totalSize) bytes\tuidvalidity \(mailbox.uidValidity)\tuidnext \(mailbox.uidNext)")
                }
            }
        }
    }
}

struct AliasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "alias", abstract: "Manage aliases and forwards.",
                                                    subcommands: [Add.self, Remove.self, List.self])
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an alias: mail to SOURCE goes to every TARGET.")
        @OptionGroup var global: GlobalOptions
        @Argument var source: String
        @Argument(help: "Local or remote addresses.") var targets: [String]
        func run() throws {
            try guarded {
                let from = try validAddress(source)
                guard !targets.isEmpty else { throw CLIError("give at least one target address") }
                let to = try targets.map { target in
                    guard let parsed = try? MailAddress.parse(target, allowUTF8: true) else {
                        throw CLIError("\"\(target)\" is not a valid address")
                    }
                    return parsed.address
                }
                let store = try global.openStore()
                defer { store.close() }
                try store.addAlias(from, targets: to)
                print("\(from) -> \(to.joined(separator: ", "))")
            }
        }
    }
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an alias.")
        @OptionGroup var global: GlobalOptions
        @Argument var source: String
        func run() throws {
            try guarded {
                let from = try validAddress(source)
                let store = try global.openStore()
                defer { store.close() }
                try store.removeAlias(from)
                print("removed alias \(from)")
            }
        }
    }
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List aliases.")
        @OptionGroup var global: GlobalOptions
        @Argument var domain: String?
        func run() throws {
            try guarded {
                let store = try global.openStore()
                defer { store.close() }
                for alias in try store.aliases(domain: domain?.lowercased()) {
                    print("\(alias.source) -> \(alias.targets.joined(separator: ", "))")
                }
            }
        }
    }
}

struct CatchallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "catchall", abstract: "Per-domain catch-all mailbox.",
                                                    subcommands: [Set.self, Clear.self])
    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver mail for unknown users of DOMAIN to ADDRESS.")
        @OptionGroup var global: GlobalOptions
        @Argument var domain: String
        @Argument var address: String
        func run() throws {
            try guarded {
                let name = try validDomain(domain)
                let target = try validAddress(address)
                let store = try global.openStore()
                defer { store.close() }
                try store.setCatchAll(domain: name, target: target)
                print("catch-all for \(name) -> \(target)")
            }
        }
    }
    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a domain's catch-all.")
        @OptionGroup var global: GlobalOptions
        @Argument var domain: String
        func run() throws {
            try guarded {
                let name = try validDomain(domain)
                let store = try global.openStore()
                defer { store.close() }
                try store.clearCatchAll(domain: name)
                print("catch-all for \(name) cleared")
            }
        }
    }
}
