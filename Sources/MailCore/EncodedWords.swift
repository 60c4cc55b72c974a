// RFC 2047 encoded-words in header values, decoded for SEARCH: `=?charset?B|Q?text?=`
// (RFC 2231 §5 `charset*language` accepted). Whitespace between two encoded-words is
// dropped (RFC 2047 §6.2), and adjacent words in the same charset are joined before
// charset conversion, because encoders split multi-byte characters across words.
// Lenient, as real mail needs: words are found anywhere in the value (also inside
// quoted strings and addresses), and a word in an unknown charset or with a broken
// encoding is kept as written. Linear in the value's length.

import Foundation

public enum EncodedWords {
    /// `text` as a header value: itself when it is printable ASCII, else RFC 2047
    /// UTF-8 B encoded-words of at most 75 bytes each, split between characters (never
    /// inside one), separated by spaces.
    public static func encode(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        func flush() {
            guard !chunk.isEmpty else { return }
            words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
            chunk = []
        }
        for character in text {
            // Control characters would be written as spaces by HeaderText anyway.
            let bytes = character.isNewline ? [UInt8(ascii: " ")] : Array(String(character).utf8)
            if chunk.count + bytes.count > 45 { flush() }
            chunk.append(contentsOf: bytes.prefix(45))
        }
        flush()
        return words.joined(separator: " ")
    }

    /// Longest encoded text looked at: RFC 2047 allows 75 bytes per word, but some
    /// encoders write a whole subject into one word.
    static let maxWordLength = 4096

    public static func decode(_ value: String) -> String {
        let bytes = Array(value.utf8)
        guard bytes.count >= 8, hasMarker(bytes) else { return value }
        var out = ""
        // Decoded bytes of adjacent words in one charset, converted when the run ends.
        var run: (charset: Charset, bytes: [UInt8])?
        func flushRun() {
            if let pending = run { out += pending.charset.decode(pending.bytes) }
            run = nil
        }
        var literalStart = 0
        var index = 0
        while index + 1 < bytes.count {
            guard bytes[index] == UInt8(ascii: "="), bytes[index + 1] == UInt8(ascii: "?") else { index += 1; continue }
            switch word(bytes, at: index) {
            case .decoded(let charset, let data, let end):
                // Whitespace between two encoded-words is not part of the text.
                let between = bytes[literalStart..<index]
                let continuesRun = run != nil && between.allSatisfy { $0 == 32 || $0 == 9 }
                if !continuesRun {
                    flushRun()
                    out += String(decoding: between, as: UTF8.self)
                }
                if continuesRun && run!.charset == charset {
                    run!.bytes += data
                } else {
                    flushRun()
                    run = (charset, data)
                }
                index = end; literalStart = end
            case .undecodable(let end):
                // Kept as written: it becomes part of the literal text.
                flushRun()
                out += String(decoding: bytes[literalStart..<end], as: UTF8.self)
                index = end; literalStart = end
            case .notAWord(let resume):
                index = resume
            }
        }
        flushRun()
        out += String(decoding: bytes[literalStart...], as: UTF8.self)
        return out
    }

    static func hasMarker(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "="), bytes[index + 1] == UInt8(ascii: "?") { return true }
            index += 1
        }
        return false
    }

    enum Word {
        case decoded(Charset, [UInt8], end: Int)
        /// A well-formed word we cannot decode (unknown charset or encoding).
        case undecodable(end: Int)
        /// Not an encoded-word; scanning resumes at `resume` (past any stretch that
        /// cannot hold an end marker, so malformed input is not rescanned).
        case notAWord(resume: Int)
    }

    /// The encoded-word starting with "=?" at `start`.
    static func word(_ bytes: [UInt8], at start: Int) -> Word {
        var index = start + 2
        let charsetStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "?"), index - charsetStart < 64, isTokenByte(bytes[index]) {
            index += 1
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "?"), index > charsetStart,
              index + 2 < bytes.count, bytes[index + 2] == UInt8(ascii: "?") else { return .notAWord(resume: start + 1) }
        var charsetName = String(decoding: bytes[charsetStart..<index], as: UTF8.self)
        if let star = charsetName.firstIndex(of: "*") { charsetName = String(charsetName[..<star]) }   // RFC 2231 language
        let encoding = bytes[index + 1] | 0x20
        let textStart = index + 3
        var end = textStart
        // The encoded text holds no whitespace; it ends at the first "?=".
        while end + 1 < bytes.count, end - textStart < maxWordLength {
            if bytes[end] == UInt8(ascii: "?") && bytes[end + 1] == UInt8(ascii: "=") { break }
            if bytes[end] == 32 || bytes[end] == 9 { return .notAWord(resume: end) }
            end += 1
        }
        guard end + 1 < bytes.count, bytes[end] == UInt8(ascii: "?"), bytes[end + 1] == UInt8(ascii: "=") else {
            // No "?=" before whitespace or the end: no "=?" in between can end either.
            return .notAWord(resume: max(start + 1, end))
        }
        let text = bytes[textStart..<end]
        guard let charset = Charset(named: charsetName) else { return .undecodable(end: end + 2) }
        switch encoding {
        case UInt8(ascii: "b"): return .decoded(charset, TransferDecoding.base64(Array(text)), end: end + 2)
        case UInt8(ascii: "q"): return .decoded(charset, qDecode(text), end: end + 2)
        default: return .undecodable(end: end + 2)
        }
    }

    /// The "Q" encoding (RFC 2047 §4.2): quoted-printable where "_" is a space.
    static func qDecode(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "_") {
                out.append(32)
            } else if byte == UInt8(ascii: "="), index + 2 < text.endIndex,
                      let high = hexValue(text[index + 1]), let low = hexValue(text[index + 2]) {
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return out
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: return byte - 48
        case 65...70: return byte - 55
        case 97...102: return byte - 87
        default: return nil
        }
    }

    /// Bytes allowed in a charset name (RFC 2047 token, plus "*" for a language).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        guard byte > 32, byte < 127 else { return false }
        return !"()<>@,;:\"/[]?=".utf8.contains(byte)
    }
}
