// `mailgate dkim keygen|list|show|remove|verify`: DKIM signing keys in the store, and a
// verifier for one message. Safe while the server runs: it notices key changes on the
// next message it signs.
//
// Keys may be made for any domain, local or not: mail with that From domain is signed
// whenever it comes from an authenticated user, an open-SMTP client or `[dkim]
// sign_networks` (a customer relaying through us with its own domain is normal). A
// domain that is not local gets a note, not a refusal. Private keys never leave the
// store through this CLI: `show` prints the public record only.
import ArgumentParser
import Foundation
import Gateway
import MailAuth
import MailStore

struct DKIMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dkim", abstract: "Manage DKIM signing keys and verify DKIM signatures.",
        subcommands: [Keygen.self, List.self, Show.self, Remove.self, Verify.self])

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a signing key for a domain and print the DNS TXT record to publish.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The From domain to sign for, e.g. example.com") var domain: String
        @Option(help: "Selector (default: mg + year and month, e.g. mg202612).") var selector: String?
        @Option(help: "rsa (rsa-sha256, the default) or ed25519 (ed25519-sha256).") var algorithm: String = "rsa"
        @Option(help: "RSA key size in bits, 1024 to 4096.") var bits: Int = 2048
        func run() throws {
            try guarded {
                let name = try validDomain(domain)
                let algorithm: DKIMAlgorithm
                switch self.algorithm.lowercased() {
                case "rsa", "rsa-sha256": algorithm = .rsaSHA256
                case "ed25519", "ed25519-sha256": algorithm = .ed25519SHA256
                default: throw CLIError("unknown algorithm \"\(self.algorithm)\" (rsa or ed25519)")
                }
                guard algorithm == .ed25519SHA256 || (2048...4096).contains(bits) || bits == 1024 else {
                    throw CLIError("RSA keys are 2048 to 4096 bits (1024 only for old receivers)")
                }
                let selector = (self.selector ?? Self.defaultSelector()).lowercased()
                let store = try global.openStore(create: true)
                defer { store.close() }
                if try store.dkimKeys(domain: name).contains(where: { $0.selector == selector }) {
                    throw CLIError("\(name) already has a DKIM key with selector \(selector): choose another --selector, or `mailgate dkim remove \(name) --selector \(selector)` first")
                }
                let key: DKIMKeyPair
                do { key = try DKIMKeyPair.generate(algorithm, rsaBits: bits) }
                catch { throw CLIError("cannot make the key: \(error)") }
                try store.dkimKeyAdd(DKIMKeyEntry(domain: name, selector: selector, algorithm: algorithm.rawValue,
                                                  privateKeyPEM: key.privateKeyPEM, created: Date().timeIntervalSince1970))
                print(txtRecordLine(domain: name, selector: selector, record: key.dnsRecord))
                let local = store.domainExists(name) ? "" : " (\(name) is not a local domain: its mail is signed when it comes from an authenticated user, an open-SMTP client or [dkim] sign_networks)"
                note("added \(algorithm.rawValue) key \(selector) for \(name) (\(key.bits) bits); publish the record above: mail from \(name) is signed from now on\(local)")
            }
        }

        static func defaultSelector(now: Date = Date()) -> String {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let parts = calendar.dateComponents([.year, .month], from: now)
            return String(format: "mg%04d%02d", parts.year ?? 0, parts.month ?? 0)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List DKIM keys: domain, selector, algorithm, bits, created, in use.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try guarded {
                let store = try global.openStore()
                defer { store.close() }
                let keys = try store.dkimKeys()
                let signing = signingSelectors(keys)
                for entry in keys {
                    let bits = (try? DKIMKeyPair(algorithm: DKIMAlgorithm(rawValue: entry.algorithm) ?? .rsaSHA256,
                                                 privateKeyPEM: entry.privateKeyPEM))?.bits
                    let state = signing.contains(entry.domain + "\u{0}" + entry.selector) ? "signing" : "idle"
                    print("\(entry.domain) \(entry.selector) \(entry.algorithm) \(bits.map(String.init) ?? "unreadable") \(isoDate(entry.created)) \(state)")
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a domain's DKIM TXT records (public keys only).")
        @OptionGroup var global: GlobalOptions
        @Argument var domain: String
        func run() throws {
            try guarded {
                let name = try validDomain(domain)
                let store = try global.openStore()
                defer { store.close() }
                let keys = try store.dkimKeys(domain: name)
                guard !keys.isEmpty else { throw CLIError("\(name) has no DKIM key (make one with `mailgate dkim keygen \(name)`)") }
                let signing = signingSelectors(keys)
                for entry in keys {
                    guard let algorithm = DKIMAlgorithm(rawValue: entry.algorithm),
                          let key = try? DKIMKeyPair(algorithm: algorithm, privateKeyPEM: entry.privateKeyPEM) else {
                        print("; \(entry.selector): the stored key cannot be read")
                        continue
                    }
                    let state = signing.contains(entry.domain + "\u{0}" + entry.selector) ? "signing" : "not signing (a newer key of this algorithm signs)"
                    print("; \(entry.selector): \(entry.algorithm), \(key.bits) bits, created \(isoDate(entry.created)), \(state)")
                    print(txtRecordLine(domain: name, selector: entry.selector, record: key.dnsRecord))
                }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a domain's DKIM key (one selector, or all of them).")
        @OptionGroup var global: GlobalOptions
        @Argument var domain: String
        @Option(help: "Only this selector (default: every key of the domain).") var selector: String?
        func run() throws {
            try guarded {
                let name = try validDomain(domain)
                let store = try global.openStore()
                defer { store.close() }
                if let selector {
                    try store.dkimKeyRemove(domain: name, selector: selector)
                    print("removed DKIM key \(selector.lowercased()) of \(name)")
                } else {
                    let count = try store.dkimKeysRemoveAll(domain: name)
                    guard count > 0 else { throw CLIError("\(name) has no DKIM key") }
                    print("removed \(count) DKIM key\(count == 1 ? "" : "s") of \(name): its mail is no longer signed")
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a message's DKIM signatures (one line each); exit 0 when all pass.",
            discussion: "Keys are looked up through [delivery] nameserver, else the system resolver.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The message file (default: standard input).") var file: String?
        func run() throws {
            try guarded {
                let configuration = try global.load()
                let bytes: [UInt8]
                if let file {
                    guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
                    bytes = [UInt8](data)
                } else {
                    bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
                }
                let outcomes = DKIMVerifyTool.verify(bytes, configuration: configuration)
                if outcomes.isEmpty {
                    print("none (no DKIM-Signature)")
                    throw ExitCode(1)
                }
                for outcome in outcomes {
                    var line = "\(outcome.result.rawValue) d=\(outcome.domain ?? "?") s=\(outcome.selector ?? "?") a=\(outcome.algorithm ?? "?")"
                    if let bits = outcome.keyBits { line += " bits=\(bits)" }
                    if let head = outcome.signatureHead { line += " b=\(head)" }
                    if outcome.testing { line += " testing" }
                    if let unsigned = outcome.unsignedBodyBytes, unsigned > 0 { line += " unsigned_body_bytes=\(unsigned)" }
                    if let problem = outcome.problem { line += " (\(problem))" }
                    print(line)
                }
                if !outcomes.allSatisfy({ $0.result == .pass }) { throw ExitCode(1) }
            }
        }
    }
}

/// "SEL._domainkey.DOMAIN. IN TXT "…" "…"", the record cut into 255-byte strings.
func txtRecordLine(domain: String, selector: String, record: String) -> String {
    var strings: [String] = []
    var rest = Substring(record)
    while !rest.isEmpty {
        strings.append("\"" + rest.prefix(255) + "\"")
        rest = rest.dropFirst(255)
    }
    return "\(selector)._domainkey.\(domain). IN TXT \(strings.joined(separator: " "))"
}

/// "domain\0selector" of the keys that sign: the newest of each algorithm per domain.
func signingSelectors(_ keys: [DKIMKeyEntry]) -> Set<String> {
    var newest: [String: DKIMKeyEntry] = [:]
    for entry in keys {
        let slot = entry.domain + "\u{0}" + entry.algorithm
        if let current = newest[slot], current.created >= entry.created { continue }
        newest[slot] = entry
    }
    return Set(newest.values.map { $0.domain + "\u{0}" + $0.selector })
}

func isoDate(_ time: Double) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: time))
}

func note(_ text: String) {
    FileHandle.standardError.write(Data("mailgate: \(text)\n".utf8))
}
