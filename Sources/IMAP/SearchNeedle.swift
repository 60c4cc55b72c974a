// A SEARCH string prepared once for matching (RFC 9051 §6.4.4: substring, case-
// insensitive): both the needle and the text searched are folded the same way, to
// the Unicode lowercase mapping in UTF-8 (ASCII folding plus "Ü"/"ü", "Σ"/"σ"/"ς", …),
// and matched with Knuth–Morris–Pratt, so a search costs time linear in the text
// whatever the needle looks like. Not done: full case folding ("ß" ≠ "SS") and
// Unicode normalisation (a decomposed "ü" does not match a precomposed one).

struct SearchNeedle: Sendable {
    /// The folded needle.
    let bytes: [UInt8]
    /// KMP failure function: `fallback[i]` is the length of the longest proper border
    /// of `bytes[0...i]`.
    private let fallback: [Int]

    init(_ text: String) {
        let folded = Self.fold(text)
        bytes = folded
        var table = [Int](repeating: 0, count: folded.count)
        var border = 0
        for index in folded.indices.dropFirst() {
            while border > 0 && folded[index] != folded[border] { border = table[border - 1] }
            if folded[index] == folded[border] { border += 1 }
            table[index] = border
        }
        fallback = table
    }

    var isEmpty: Bool { bytes.isEmpty }

    /// Whether the needle occurs in `text`, which must already be folded with `fold`.
    func occurs(in text: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return true }
        return text.withUnsafeBufferPointer { text in
            bytes.withUnsafeBufferPointer { needle in
                fallback.withUnsafeBufferPointer { fallback in
                    var matched = 0
                    for byte in text {
                        while matched > 0 && byte != needle[matched] { matched = fallback[matched - 1] }
                        if byte == needle[matched] {
                            matched += 1
                            if matched == needle.count { return true }
                        }
                    }
                    return false
                }
            }
        }
    }

    /// Case-folded UTF-8 of `text`. Final sigma is made σ, as simple case folding
    /// does, so "ΟΔΟΣ" finds "οδος" wherever the word ends.
    static func fold(_ text: String) -> [UInt8] {
        // ASCII-only text (most headers and many bodies) needs no Unicode tables.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
        }
        var out = Array(text.lowercased().utf8)
        // ς is CF 82 in UTF-8, σ is CF 83; 0xCF never appears as a continuation byte.
        var index = 0
        while index + 1 < out.count {
            if out[index] == 0xCF && out[index + 1] == 0x82 { out[index + 1] = 0x83 }
            index += 1
        }
        return out
    }
}
