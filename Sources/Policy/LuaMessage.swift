// Lua error messages as mailgate reports them: always "file:line: message" with
// the policy's full path, even where Lua shortened it.

enum LuaMessage {
    /// Lua shortens long chunk names to "...tail" in positions; give the full path back
    /// so logs and errors always start with "file:line:".
    static func locate(_ message: String, file: String) -> String {
        guard message.hasPrefix("..."), !message.hasPrefix(file) else { return message }
        let body = message.dropFirst(3)
        // The position ends at the first ":<digits>:".
        var index = body.startIndex
        while let colon = body[index...].firstIndex(of: ":") {
            let afterColon = body.index(after: colon)
            let digits = body[afterColon...].prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty, digits.endIndex < body.endIndex, body[digits.endIndex] == ":" {
                let tail = String(body[..<colon])
                if file.hasSuffix(tail) { return file + body[colon...] }
                return message
            }
            index = afterColon
        }
        return message
    }
}
