// The TOML library behind TOMLKit asserts (and so aborts the process) on some malformed
// files (the fuzzer found two; reproducers in Fuzz/crashes/config). A configuration
// file is therefore parsed once in a child process first: if the child dies, the file
// is refused with a sentence saying so, and a running server that was asked to reload
// keeps running on its old configuration instead of aborting.
import Foundation
import TOMLKit

public enum ConfigurationSyntaxCheck {
    /// The hidden argument the executable answers before anything else (main.swift).
    public static let childArgument = "__check-toml-syntax"

    /// In the child: parse `path`; exit status 0 when the TOML parses, 1 when it does
    /// not (the parent then reports the parser's own error), a signal if it aborts.
    public static func runChild(path: String) -> Int32 {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 1 }
        return (try? TOMLTable(string: text)) == nil ? 1 : 0
    }

    /// Refuses `path` when parsing it would abort the process. Any other problem is left
    /// to the normal parse, which words it.
    public static func check(path: String) throws(ConfigurationError) {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = [childArgument, path]
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        do {
            try child.run()
        } catch {
            return   // cannot check (no /proc): parse in process as before
        }
        child.waitUntilExit()
        if child.terminationReason == .uncaughtSignal {
            throw ConfigurationError(
                key: "", reason: "the TOML parser cannot read this file (it stopped on malformed syntax): "
                    + "check brackets, quotes, keys and dates against examples/mailgate.toml", file: path)
        }
    }
}
