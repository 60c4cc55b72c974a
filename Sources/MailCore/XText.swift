// RFC 3461 §4 xtext, the encoding of the DSN parameters ENVID and ORCPT (and of
// RFC 4954's AUTH=): "+" and two upper-case hex digits for "+", "=" and anything
// outside "!".."~". The SMTP server checks client values with it; the SMTP client
// encodes with it; DSNs decode with it.

public enum XText {
    public static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte >= 33 && byte <= 126 && byte != UInt8(ascii: "+") && byte != UInt8(ascii: "=") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "+" + hexDigit(byte >> 4) + hexDigit(byte & 0x0F)
            }
        }
        return out
    }

    private static func hexDigit(_ value: UInt8) -> String {
        String(Unicode.Scalar(value < 10 ? 48 + value : 55 + value))
    }

    /// Decoded text, nil when `text` is not valid xtext (hexchars must be upper case)
    /// or does not decode to UTF-8.
    public static func decode(_ text: String) -> String? {
        guard let bytes = decodedBytes(text) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    static func decodedBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=") else { return nil }
            if byte == UInt8(ascii: "+") {
                guard let high = iterator.next().flatMap(upperHexValue),
                      let low = iterator.next().flatMap(upperHexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return bytes
    }

    private static func upperHexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        default: nil
        }
    }

    /// Valid as an ESMTP parameter value as stored (already xtext).
    public static func isValid(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 500 && decode(text) != nil
    }

    /// Valid xtext of at most `maxLength` characters that decodes to text without
    /// control characters (a value that ends up in a DSN field).
    public static func isValidParameter(_ text: String, maxLength: Int) -> Bool {
        guard !text.isEmpty, text.utf8.count <= maxLength, let bytes = decodedBytes(text),
              !CommandText.hasControlCharacters(bytes) else { return false }
        return String(validating: bytes, as: UTF8.self) != nil
    }
}
