// Content-Transfer-Encoding decoders for BINARY (RFC 2045 §6.7 quoted-printable,
// §6.8 base64). Lenient as RFC 2045 asks: characters outside the alphabet are ignored,
// a bad "=XX" escape is kept as written.

public enum TransferDecoding {
    public static func base64(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 3 / 4)
        var bits: UInt32 = 0, count = 0
        for byte in input {
            let value: UInt32
            switch byte {
            case 65...90: value = UInt32(byte - 65)
            case 97...122: value = UInt32(byte - 97 + 26)
            case 48...57: value = UInt32(byte - 48 + 52)
            case 43: value = 62
            case 47: value = 63
            case 61: // "=": padding ends the data
                return out
            default: continue
            }
            bits = bits << 6 | value
            count += 6
            if count >= 8 {
                count -= 8
                out.append(UInt8((bits >> UInt32(count)) & 0xff))
            }
        }
        return out
    }

    public static func quotedPrintable(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var index = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: return byte - 48
            case 65...70: return byte - 55
            case 97...102: return byte - 87
            default: return nil
            }
        }
        while index < input.count {
            let byte = input[index]
            if byte == 61 {
                // Soft line break: "=" then optional whitespace, then CRLF or LF.
                var look = index + 1
                while look < input.count && (input[look] == 32 || input[look] == 9) { look += 1 }
                if look < input.count && input[look] == 13 && look + 1 < input.count && input[look + 1] == 10 {
                    index = look + 2; continue
                }
                if look < input.count && input[look] == 10 { index = look + 1; continue }
                if look == input.count { index = look; continue }
                if index + 2 < input.count, let high = hex(input[index + 1]), let low = hex(input[index + 2]) {
                    out.append(high << 4 | low); index += 3; continue
                }
                out.append(byte); index += 1
                continue
            }
            if byte == 32 || byte == 9 {
                // Trailing whitespace on a line is padding (RFC 2045 §6.7 rule 3).
                var look = index
                while look < input.count && (input[look] == 32 || input[look] == 9) { look += 1 }
                if look == input.count || input[look] == 13 || input[look] == 10 { index = look; continue }
            }
            out.append(byte); index += 1
        }
        return out
    }
}
