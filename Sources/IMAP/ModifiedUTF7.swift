// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3): printable US-ASCII stands for
// itself except "&", written "&-"; other characters are UTF-16 in modified base64
// ("," instead of "/", no padding) between "&" and "-".

public enum ModifiedUTF7 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    public static func encode(_ string: String) -> String {
        var out: [UInt8] = []
        var pending: [UInt16] = []
        func flush() {
            guard !pending.isEmpty else { return }
            out.append(UInt8(ascii: "&"))
            var bytes: [UInt8] = []
            for unit in pending { bytes.append(UInt8(unit >> 8)); bytes.append(UInt8(unit & 0xff)) }
            var index = 0
            while index < bytes.count {
                let b0 = bytes[index], b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
                let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
                let n = bytes.count - index
                out.append(alphabet[Int(b0 >> 2)])
                out.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
                if n > 1 { out.append(alphabet[Int((b1 & 15) << 2 | b2 >> 6)]) }
                if n > 2 { out.append(alphabet[Int(b2 & 63)]) }
                index += 3
            }
            out.append(UInt8(ascii: "-"))
            pending.removeAll()
        }
        for scalar in string.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value <= 0x7e {
                flush()
                out.append(UInt8(scalar.value))
                if scalar == "&" { out.append(UInt8(ascii: "-")) }
            } else {
                pending.append(contentsOf: Array(String(scalar).utf16))
            }
        }
        flush()
        return String(decoding: out, as: UTF8.self)
    }

    /// nil when `bytes` are not valid modified UTF-7 (8-bit bytes, bad base64, an
    /// unpaired surrogate, or an encoded run of printable ASCII, which RFC forbids but
    /// we tolerate).
    public static func decode(_ bytes: [UInt8]) -> String? {
        var result = String.UnicodeScalarView()
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte >= 0x20 && byte <= 0x7e else { return nil }
            if byte != UInt8(ascii: "&") {
                result.append(Unicode.Scalar(byte)); index += 1; continue
            }
            guard let dash = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "-")) else { return nil }
            if dash == index + 1 { result.append("&"); index = dash + 1; continue }
            var bits: UInt32 = 0, count = 0
            var units: [UInt16] = []
            for char in bytes[(index + 1)..<dash] {
                guard let value = alphabet.firstIndex(of: char) else { return nil }
                bits = bits << 6 | UInt32(value); count += 6
                if count >= 16 {
                    count -= 16
                    units.append(UInt16((bits >> UInt32(count)) & 0xffff))
                }
            }
            // Leftover bits must be zero padding of less than 6 bits.
            guard count < 6, bits & ((1 << UInt32(count)) - 1) == 0, !units.isEmpty else { return nil }
            var decoder = UTF16()
            var iterator = units.makeIterator()
            loop: while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar): result.append(scalar)
                case .emptyInput: break loop
                case .error: return nil
                }
            }
            index = dash + 1
        }
        return String(result)
    }

    public static func decode(_ string: String) -> String? { decode(Array(string.utf8)) }
}
