// Why a chain could not be loaded: compile errors, runtime errors in a script's
// main chunk or `init`, a missing file, a bad return value. Always names the file,
// and the line whenever Lua reported one: "policies/relay.lua:12: unexpected symbol".

public struct PolicyLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int? = nil, message: String) {
        self.file = file; self.line = line; self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }

    /// Splits a Lua message "file:12: text" for `file` into line and text; other
    /// messages are kept whole.
    static func fromLua(file: String, message: String) -> PolicyLoadError {
        let prefix = file + ":"
        if message.hasPrefix(prefix) {
            let rest = message.dropFirst(prefix.count)
            if let colon = rest.firstIndex(of: ":"), let line = Int(rest[..<colon]) {
                let text = rest[rest.index(after: colon)...].drop { $0 == " " }
                return PolicyLoadError(file: file, line: line, message: String(text))
            }
        }
        return PolicyLoadError(file: file, line: nil, message: message)
    }
}
