// The message bytes as they go on the wire after DATA (RFC 5321 §4.5.2): lines ending
// in CRLF (a bare LF or a bare CR becomes CRLF, as POP3's RETR writes them: the next
// hop never gets a bare CR to read its own way), a leading "." doubled, the whole terminated by
// CRLF "." CRLF. Also what the envelope needs to know about the content: 8-bit
// bytes (BODY=8BITMIME) and the stored Return-Path line the queue runner drops.

public enum MessageEncoding {
    /// `content` dot-stuffed and terminated with ".\r\n".
    public static func dataBlock(_ content: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(content.count + content.count / 64 + 5)
        var atLineStart = true
        var previous: UInt8 = 0
        for byte in content {
            if previous == 13 && byte != 10 {
                out.append(10)   // the CR before was bare: end its line
                atLineStart = true
            }
            if atLineStart && byte == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            if byte == 10 && previous != 13 { out.append(13) }
            out.append(byte)
            atLineStart = byte == 10
            previous = byte
        }
        if previous == 13 { out.append(10); atLineStart = true }
        if !out.isEmpty && !atLineStart {
            out.append(13); out.append(10)
        }
        out.append(contentsOf: [UInt8(ascii: "."), 13, 10])
        return out
    }

    /// True when any byte is outside 7-bit ASCII (needs BODY=8BITMIME).
    public static func hasEightBit(_ content: [UInt8]) -> Bool {
        content.contains { $0 >= 0x80 }
    }

    /// The stored blob starts with "Return-Path: <…>\r\n" (added at local delivery);
    /// the receiving MTA adds its own, so relaying drops ours.
    public static func strippingReturnPath(_ stored: [UInt8]) -> [UInt8] {
        let prefix = Array("return-path:".utf8)
        guard stored.count > prefix.count,
              zip(stored.prefix(prefix.count), prefix).allSatisfy({ ($0 | 0x20) == $1 || $0 == $1 }),
              let newline = stored.firstIndex(of: 10) else { return stored }
        // A folded Return-Path is not something we write; only drop the one line.
        return Array(stored[(newline + 1)...])
    }
}
