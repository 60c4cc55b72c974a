// Messages are stored with CRLF line ends only. SMTP refuses anything else at the door
// (DATA and BDAT); what arrives by other ways (IMAP APPEND) is normalised once, when
// stored, so every reader agrees on the size (POP3 LIST and RETR, IMAP RFC822.SIZE and
// BODY[]) and no bare CR is left for a reader to take as a line end of its own.

public enum LineEndings {
    /// `message` with every bare LF and bare CR written as CRLF; the same array when it
    /// has none (the common case costs one scan).
    public static func normalized(_ message: [UInt8]) -> [UInt8] {
        guard needsNormalizing(message) else { return message }
        var out: [UInt8] = []
        out.reserveCapacity(message.count + message.count / 32)
        var index = 0
        let count = message.count
        while index < count {
            let byte = message[index]
            if byte == 13 {
                out.append(13); out.append(10)
                index += index + 1 < count && message[index + 1] == 10 ? 2 : 1
            } else if byte == 10 {
                out.append(13); out.append(10)
                index += 1
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    /// Whether `message` holds a CR not followed by LF or a LF not preceded by CR.
    public static func needsNormalizing(_ message: [UInt8]) -> Bool {
        var previous: UInt8 = 0
        for byte in message {
            if previous == 13 && byte != 10 { return true }
            if byte == 10 && previous != 13 { return true }
            previous = byte
        }
        return previous == 13
    }
}
