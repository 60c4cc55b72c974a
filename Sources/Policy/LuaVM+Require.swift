// The source of `require(name)`: `plugin_directory/lib/name.lua`, read while
// policies load (main chunk or init). The sandbox prelude compiles it into an
// environment of its own and keeps the module per VM, so policies share helpers
// without reaching any other file.
import Foundation

extension LuaVM {
    static let maxLibraryBytes = 1024 * 1024

    /// Pushes the text and chunk name ("@path") of library `name`.
    func readLibrary(_ call: HostArguments) -> Int32 {
        guard loading else {
            return call.fail("only available while policies load (main chunk or init): require helpers at the top of the policy")
        }
        guard let name = call.string(1), PolicySource.isValidName(name) else {
            return call.fail("expected a library name of letters, digits, _ and - (a file plugins/lib/NAME.lua)")
        }
        let directory = configuration.pluginDirectory
        let base = directory.isEmpty ? "lib" : (directory.hasSuffix("/") ? directory : directory + "/") + "lib"
        let path = PolicySource.path(base, name)
        guard let data = FileManager.default.contents(atPath: path) else {
            return call.fail("library \"\(name)\" not found (looked for \(path))")
        }
        guard data.count <= Self.maxLibraryBytes else { return call.fail("\(path) is larger than \(Self.maxLibraryBytes) bytes") }
        call.stack.push(String(decoding: data, as: UTF8.self))
        call.stack.push("@" + path)
        return 2
    }
}
