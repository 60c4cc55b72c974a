// Message flags as stored: system flags in their canonical spelling ("\Seen"), matched
// case-insensitively on the way in (RFC 3501 §2.3.2); keywords kept as first given but
// compared case-insensitively (ASCII) so "$Label1" and "$label1" are one flag. \Recent
// is not storable (IMAP4rev2 dropped it), nor are unknown backslash flags. Counts and
// lengths are bounded so a hostile STORE/APPEND cannot grow a record without limit.

enum MessageFlags {
    static let seen = "\\Seen"
    static let deleted = "\\Deleted"
    static let system = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]

    /// At most this many flags on one message, each at most `maxLength` bytes.
    static let maxCount = 64
    static let maxLength = 128

    /// Validates `flags` and returns them canonical and without duplicates (first spelling wins).
    static func normalized(_ flags: [String]) throws(StoreError) -> [String] {
        guard flags.count <= maxCount * 4 else { throw StoreError(.invalid, "too many flags") }
        var result: [String] = []
        for flag in flags {
            let canonical = try canonical(flag)
            if !result.contains(where: { same($0, canonical) }) { result.append(canonical) }
        }
        guard result.count <= maxCount else { throw StoreError(.invalid, "too many flags (at most \(maxCount))") }
        return result
    }

    static func canonical(_ flag: String) throws(StoreError) -> String {
        let utf8 = flag.utf8
        guard !utf8.isEmpty, utf8.count <= maxLength else {
            throw StoreError(.invalid, "invalid flag (empty or longer than \(maxLength) bytes)")
        }
        if utf8.first == UInt8(ascii: "\\") {
            guard let known = system.first(where: { same($0, flag) }) else {
                throw StoreError(.invalid, "flag \(flag) cannot be stored")
            }
            return known
        }
        // A keyword is an IMAP atom: no specials, no controls, no spaces, ASCII only.
        for byte in utf8 {
            guard byte > 0x20, byte < 0x7f, !"(){%*\"\\]".utf8.contains(byte) else {
                throw StoreError(.invalid, "invalid keyword '\(flag)'")
            }
        }
        return flag
    }

    /// Flag equality: ASCII case-insensitive.
    static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { lower($0) == lower($1) }
    }

    static func contains(_ flags: [String], _ flag: String) -> Bool {
        flags.contains { same($0, flag) }
    }

    /// `current` changed by `mode` with already normalized `flags`.
    static func apply(_ mode: FlagStoreMode, _ flags: [String], to current: [String]) -> [String] {
        switch mode {
        case .replace:
            return flags
        case .add:
            var result = current
            for flag in flags where !contains(result, flag) { result.append(flag) }
            return result
        case .remove:
            return current.filter { !contains(flags, $0) }
        }
    }

    /// Same set of flags, order ignored.
    static func equalSets(_ a: [String], _ b: [String]) -> Bool {
        a.count == b.count && a.allSatisfy { contains(b, $0) }
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 65 && byte <= 90 ? byte + 32 : byte
    }
}
