import Foundation

// RFC 5322 header section parsing: enough to read From/Subject/Date for listings,
// to hand headers to the `data` policy hook, and to prepend trace fields.

public struct HeaderField: Sendable, Equatable {
    public var name: String
    /// Unfolded value with the leading space trimmed.
    public var value: String
    public init(name: String, value: String) { self.name = name; self.value = value }
}

public enum HeaderFields {
    /// Byte offset where the body starts (after the empty line), or the message length.
    public static func headerEnd(_ message: [UInt8]) -> Int {
        var index = 0
        let count = message.count
        // Headers end at the first empty line: CRLF CRLF or a leading CRLF.
        if count >= 2 && message[0] == 13 && message[1] == 10 { return 2 }
        while index + 3 < count {
            if message[index] == 13 && message[index + 1] == 10 && message[index + 2] == 13 && message[index + 3] == 10 {
                return index + 4
            }
            index += 1
        }
        return count
    }

    /// Parses the header section of `message`; stops at `maxFields` fields.
    public static func parse(_ message: [UInt8], maxFields: Int = 1000) -> [HeaderField] {
        let end = headerEnd(message)
        let text = String(decoding: message[0..<end], as: UTF8.self)
        var fields: [HeaderField] = []
        for rawLine in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            let line = rawLine.replacingOccurrences(of: "\n", with: "")
            if line.first == " " || line.first == "\t" {
                if var last = fields.popLast() {
                    last.value += " " + line.trimmingCharacters(in: .whitespaces)
                    fields.append(last)
                }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { continue }
            fields.append(HeaderField(name: name, value: value))
            if fields.count >= maxFields { break }
        }
        return fields
    }

    public static func first(_ name: String, in fields: [HeaderField]) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}
