// A policy script found on disk: the chain name resolved to `directory/name.lua`,
// else `pluginDirectory/name.lua`, and its text, read once per (re)load and then
// compiled into every VM of the new set.
import Foundation

struct PolicySource: Sendable {
    let name: String
    /// The path as configured (used in messages and as the Lua chunk name).
    let file: String
    let text: [UInt8]

    /// Names reserved under `[policy]`, which can never be policy names.
    static let reservedNames: Set<String> = ["shadow", "chain", "directory", "plugin_directory"]

    /// The sources of `names` (default: the chain). Shadow policies may not repeat a
    /// chain policy: a trial version gets a name of its own.
    static func resolve(_ configuration: PolicyConfiguration, names: [String]? = nil) throws(PolicyLoadError) -> [PolicySource] {
        var seen: Set<String> = []
        var sources: [PolicySource] = []
        let isShadow = names != nil
        for name in names ?? configuration.chain {
            if reservedNames.contains(name) {
                throw PolicyLoadError(file: path(configuration.directory, name), message:
                    "\"\(name)\" is reserved under [policy] and cannot be a policy name")
            }
            if isShadow && configuration.chain.contains(name) {
                throw PolicyLoadError(file: path(configuration.directory, name), message:
                    "policy \"\(name)\" is both in the chain and in shadow; give the trial version its own name")
            }
            let primary = path(configuration.directory, name)
            guard isValidName(name) else {
                throw PolicyLoadError(file: primary, message: "invalid policy name \"\(name)\" (use letters, digits, _ and -)")
            }
            guard seen.insert(name).inserted else {
                throw PolicyLoadError(file: primary, message: "policy \"\(name)\" appears twice in the \(isShadow ? "shadow list" : "chain")")
            }
            let fallback = path(configuration.pluginDirectory, name)
            let file = FileManager.default.fileExists(atPath: primary) ? primary
                : FileManager.default.fileExists(atPath: fallback) ? fallback : nil
            guard let file else {
                throw PolicyLoadError(file: primary, message: "policy \"\(name)\" not found (also looked for \(fallback))")
            }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw PolicyLoadError(file: file, message: "cannot read the policy file")
            }
            sources.append(PolicySource(name: name, file: file, text: [UInt8](data)))
        }
        return sources
    }

    static func path(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? "\(name).lua" : (directory.hasSuffix("/") ? directory : directory + "/") + "\(name).lua"
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
    }
}
