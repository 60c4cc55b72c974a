// `mailgate spf check IP HELO SENDER` and `mailgate dmarc check DOMAIN`: the SPF and
// DMARC engines run from the command line, with the resolver the server uses
// ([delivery] nameserver, else /etc/resolv.conf). For operators checking a domain's
// records and for interoperability tests against other implementations. Output is
// one "key: value" line per fact, result first; exit status 0 whatever the result.
import ArgumentParser
import Dispatch
import Foundation
import Gateway
import MailAuth
import MailCore
import NIOPosix

struct SPFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spf", abstract: "Evaluate SPF (RFC 7208).",
                                                    subcommands: [Check.self])
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "check_host() for a client: MAIL FROM's domain, or HELO's when SENDER is \"\" (the null sender).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The client's IP address.") var ip: String
        @Argument(help: "The HELO/EHLO name.") var helo: String
        @Argument(help: "The MAIL FROM address without <> (\"\" for the null sender).") var sender: String
        @Option(help: "Receiving host name for %{r} (default: the configured hostname).") var receiver: String?
        @Option(help: "Time for one DNS lookup, e.g. 3s.") var timeout: String = "3s"

        func run() throws {
            try guarded {
                let configuration = try global.load()
                guard let perLookup = ConfigValues.duration(timeout), perLookup > .zero else {
                    throw CLIError("\"\(timeout)\" is not a duration like 3s")
                }
                let outcome = try withResolver(configuration) { dns in
                    let checker = SPFChecker(dns: dns, receivingHost: receiver ?? configuration.hostname, timeout: perLookup)
                    return await checker.check(ip: ip, helo: helo, mailFrom: sender)
                }
                print("result: \(outcome.result.rawValue)")
                print("identity: \(outcome.identity)")
                print("domain: \(outcome.domain)")
                print("sender: \(outcome.sender)")
                if let mechanism = outcome.mechanism { print("mechanism: \(mechanism)") }
                if let explanation = outcome.explanation { print("explanation: \(explanation)") }
                if let problem = outcome.problem { print("problem: \(problem)") }
                print("lookups: \(outcome.lookups)")
                print("void_lookups: \(outcome.voidLookups)")
            }
        }
    }
}

struct DMARCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dmarc", abstract: "Evaluate DMARC (RFC 7489).",
                                                    subcommands: [Check.self, DMARCReportCommand.self])
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Policy discovery and alignment for an RFC5322.From domain, given SPF and DKIM results.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The RFC5322.From domain.") var domain: String
        @Option(help: "SPF result and the domain SPF checked, RESULT:DOMAIN (e.g. pass:bounce.example.com).")
        var spf: String?
        @Option(help: "A DKIM signature's result and d=, RESULT:DOMAIN; repeat for several signatures.")
        var dkim: [String] = []
        @Option(help: "Public suffix list (default: \(PublicSuffixList.defaultPath)).") var psl: String?
        @Option(help: "Number in [0,1) used for pct sampling (default: random).") var sample: Double?
        @Option(help: "Time for one DNS lookup, e.g. 3s.") var timeout: String = "3s"

        func run() throws {
            try guarded {
                let configuration = try global.load()
                guard let perLookup = ConfigValues.duration(timeout), perLookup > .zero else {
                    throw CLIError("\"\(timeout)\" is not a duration like 3s")
                }
                var spfInput: (result: SPFResult, domain: String)? = nil
                if let spf {
                    let (word, name) = try split(spf, "--spf")
                    guard let result = SPFResult(rawValue: word) else { throw CLIError("--spf: unknown SPF result \"\(word)\"") }
                    spfInput = (result, name)
                }
                var dkimInput: [(result: DKIMResult, domain: String)] = []
                for entry in dkim {
                    let (word, name) = try split(entry, "--dkim")
                    guard let result = DKIMResult(rawValue: word) else { throw CLIError("--dkim: unknown DKIM result \"\(word)\"") }
                    dkimInput.append((result, name))
                }
                let suffixes: PublicSuffixList
                do { suffixes = try PublicSuffixList.load(path: psl ?? PublicSuffixList.defaultPath) } catch {
                    FileHandle.standardError.write(Data("mailgate: \(error); using the last two labels\n".utf8))
                    suffixes = .fallback
                }
                let fixedSample = sample
                let spfArgument = spfInput
                let dkimArgument = dkimInput
                let outcome = try withResolver(configuration) { dns in
                    let checker = DMARCChecker(dns: dns, suffixes: suffixes, timeout: perLookup,
                                               random: { fixedSample ?? Double.random(in: 0..<1) })
                    return await checker.check(fromDomain: domain, spf: spfArgument, dkim: dkimArgument)
                }
                print("result: \(outcome.result.rawValue)")
                print("from_domain: \(outcome.fromDomain)")
                print("organizational_domain: \(outcome.organizationalDomain)")
                print("policy_domain: \(outcome.policyDomain ?? "-")")
                if let record = outcome.record {
                    print("p: \(record.p.rawValue)")
                    print("sp: \(record.sp?.rawValue ?? "-")")
                    print("pct: \(record.pct)")
                    print("adkim: \(record.adkim.rawValue)")
                    print("aspf: \(record.aspf.rawValue)")
                    print("rua: \(record.rua.joined(separator: ","))")
                }
                print("policy: \(outcome.policy?.rawValue ?? "-")")
                print("disposition: \(outcome.disposition.rawValue)")
                print("spf_aligned: \(outcome.spfAligned)")
                print("dkim_aligned: \(outcome.dkimAligned)")
                print("sampled_out: \(outcome.sampledOut)")
                if let problem = outcome.problem { print("problem: \(problem)") }
            }
        }

        func split(_ text: String, _ option: String) throws -> (String, String) {
            guard let colon = text.firstIndex(of: ":") else { throw CLIError("\(option) wants RESULT:DOMAIN, not \"\(text)\"") }
            return (text[..<colon].lowercased(), String(text[text.index(after: colon)...]))
        }
    }
}

/// Runs `body` with the server's kind of resolver on a private event loop, waiting
/// for it (the CLI's commands are synchronous).
private func withResolver<T: Sendable>(_ configuration: GatewayConfiguration,
                                       _ body: @escaping @Sendable (DNSResolver) async -> T) throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    let dnsConfiguration = DNSResolver.configuration(nameserver: configuration.nameserver.map {
        .init(host: $0.host, port: $0.port)
    })
    let resolver = DNSResolver(configuration: dnsConfiguration, eventLoop: group.next())
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await body(resolver)
        done.signal()
    }
    done.wait()
    guard let value = box.value else { throw CLIError("the check did not finish") }
    return value
}

private final class ResultBox<T>: @unchecked Sendable {
    // Written once by the task before it signals; read after the wait.
    var value: T?
}
