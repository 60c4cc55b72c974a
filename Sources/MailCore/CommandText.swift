// What a client's command text may hold. Control characters (C0, DEL) never belong
// in a command, a login name or anything the server writes back: refusing them at the
// door is what keeps a bare CR out of header lines, replies and logs.

public enum CommandText {
    /// True when `bytes` hold a C0 control other than HT, or DEL.
    @inlinable
    public static func hasControlCharacters<Bytes: Sequence>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        bytes.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
    }

    /// True when `bytes` hold any C0 control (HT included) or DEL: for names (logins,
    /// authorization ids), where even a tab has no business.
    @inlinable
    public static func hasAnyControl<Bytes: Sequence>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        bytes.contains { $0 < 0x20 || $0 == 0x7F }
    }

    /// `text` for echoing into a reply or a log: controls (and a backslash) are written
    /// as `\xNN`, so the echo stays one line and reads the same as what was sent.
    public static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\\" {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
