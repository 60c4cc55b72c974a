// `mailgate policy test FILE… [--chain a,b]`: plays transcripts (docs/policy-api.md,
// "Testing policies") through the real engine over an in-memory store and canned DNS.
// Exit 0 when every step matched, 1 when a step did not (or could not run), 2 when a
// transcript or the policies could not be loaded. The store is never opened.
import ArgumentParser
import Foundation
import Gateway
import Policy

struct PolicyTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run policy transcripts (TOML) offline; exit 0 when every expected verdict matched.",
        discussion: "A transcript's chain and [policy] settings override mailgate.toml (optional: without it, "
            + "policies/ and plugins/ of the current directory). Exit 1: a step did not match; 2: a transcript "
            + "or the policies could not be loaded.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Transcript files.") var files: [String]
    @Option(help: "Policy chain, comma-separated, for transcripts that name none (default: the configured chain).")
    var chain: String?
    @Flag(name: .shortAndLong, help: "Also print every policy log line, added header and DNS question.")
    var verbose = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one transcript file") }
        if let chain, chainNames(chain).isEmpty { throw ValidationError("--chain needs at least one policy name") }
    }

    func chainNames(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() throws {
        var code: Int32 = 0
        try guarded {
            let base = try global.load().policyConfiguration
            var passed = 0, failed = 0, broken = 0
            for file in files {
                let transcript: PolicyTranscript
                do { transcript = try PolicyTranscriptParser.load(path: file) }
                catch {
                    print("ERROR \(error)")
                    broken += 1
                    continue
                }
                let runner = PolicyTranscriptRunner(transcript: transcript, base: base,
                                                    chainOverride: chain.map(chainNames), verbose: verbose)
                switch runner.run(output: { print($0) }) {
                case .passed: passed += 1
                case .failed: failed += 1
                case .broken: broken += 1
                }
            }
            let total = passed + failed + broken
            var summary = "\(total) transcript\(total == 1 ? "" : "s"): \(passed) passed"
            if failed > 0 { summary += ", \(failed) failed" }
            if broken > 0 { summary += ", \(broken) could not run" }
            print(summary)
            code = broken > 0 ? 2 : failed > 0 ? 1 : 0
        }
        if code != 0 { throw ExitCode(code) }
    }
}
