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
    /// `message` without the header fields named `name` (case-insensitively); nil when
    /// there are none. Only the header block is read; folded lines go with their field.
    public static func removingFields(named name: String, from message: [UInt8]) -> [UInt8]? {
        let wanted = name.lowercased()
        return removingFields(from: message) { fieldName, _ in fieldName == wanted }
    }

    /// `message` without the header fields for which `shouldRemove(lowercased name,
    /// value bytes after the colon, folding included)` is true; nil when there are none,
    /// so the common case copies nothing.
    public static func removingFields(from message: [UInt8],
                                      where shouldRemove: (String, ArraySlice<UInt8>) -> Bool) -> [UInt8]? {
        var drop: [Range<Int>] = []
        var start = 0
        let count = message.count
        while start < count, message[start] != 13, message[start] != 10 {
            var end = start
            while end < count {
                if message[end] == 10 {
                    let next = end + 1
                    if next < count, message[next] == 32 || message[next] == 9 { end = next; continue }
                    end = next
                    break
                }
                end += 1
            }
            if let colon = message[start..<end].firstIndex(of: UInt8(ascii: ":")) {
                let name = String(decoding: message[start..<colon], as: UTF8.self).lowercased()
                if shouldRemove(name, message[(colon + 1)..<end]) { drop.append(start..<end) }
            }
            start = end
        }
        guard !drop.isEmpty else { return nil }
        var kept: [UInt8] = []
        kept.reserveCapacity(count)
        var from = 0
        for range in drop {
            kept.append(contentsOf: message[from..<range.lowerBound])
            from = range.upperBound
        }
        kept.append(contentsOf: message[from...])
        return kept
    }

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

    /// Parses the header section of `message`; stops at `maxFields` fields. Works on
    /// bytes (it runs for every accepted message): lines end at CRLF, a line starting
    /// with SP or HT continues the previous field, stray CR/LF bytes are dropped.
    public static func parse(_ message: [UInt8], maxFields: Int = 1000) -> [HeaderField] {
        let end = headerEnd(message)
        var fields: [HeaderField] = []
        message.withUnsafeBufferPointer { bytes in
            var lineStart = 0
            while lineStart < end && fields.count < maxFields {
                var lineEnd = lineStart
                while lineEnd < end && !(bytes[lineEnd] == 13 && lineEnd + 1 < end && bytes[lineEnd + 1] == 10) {
                    lineEnd += 1
                }
                defer { lineStart = lineEnd + 2 }
                guard lineEnd > lineStart else { continue }
                let first = bytes[lineStart]
                if first == 32 || first == 9 {
                    if var last = fields.popLast() {
                        last.value += " " + trimmedString(bytes, lineStart, lineEnd)
                        fields.append(last)
                    }
                    continue
                }
                var colon = lineStart
                while colon < lineEnd && bytes[colon] != 58 { colon += 1 }
                guard colon < lineEnd else { continue }
                let name = trimmedString(bytes, lineStart, colon)
                guard !name.isEmpty else { continue }
                fields.append(HeaderField(name: name, value: trimmedString(bytes, colon + 1, lineEnd)))
            }
        }
        return fields
    }

    /// `bytes[start..<end]` as a String without leading/trailing SP/HT or any CR/LF.
    static func trimmedString(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        var low = start, high = end
        while low < high && (bytes[low] == 32 || bytes[low] == 9) { low += 1 }
        while high > low && (bytes[high - 1] == 32 || bytes[high - 1] == 9) { high -= 1 }
        let slice = UnsafeBufferPointer(rebasing: bytes[low..<high])
        if !slice.contains(where: { $0 == 10 || $0 == 13 }) {
            return String(decoding: slice, as: UTF8.self)
        }
        return String(decoding: slice.filter { $0 != 10 && $0 != 13 }, as: UTF8.self)
    }

    public static func first(_ name: String, in fields: [HeaderField]) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}
