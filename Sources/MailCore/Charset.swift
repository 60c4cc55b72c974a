// The charsets SEARCH decodes message text from (RFC 2047 encoded-words, RFC 2045
// text/* parts): UTF-8, US-ASCII, ISO-8859-1, ISO-8859-15 and Windows-1252, looked up
// by their IANA names and common aliases, case-insensitively. `Charset(named:)` is nil
// for any other charset; callers then fall back to `lenient` (the text as written).
// Decoding never fails: bytes that do not fit become U+FFFD or their Latin-1 reading.

public enum Charset: Sendable, Equatable {
    case utf8
    /// Declared US-ASCII (the MIME default); 8-bit bytes in it are read leniently.
    case usASCII
    /// ISO-8859-1, read as Windows-1252 (WHATWG does the same): real mail labelled
    /// Latin-1 often holds Windows' quotes and €, and C1 controls never occur in text.
    case latin1
    case latin9
    case windows1252

    public init?(named name: String) {
        switch name.lowercased() {
        case "utf-8", "utf8": self = .utf8
        case "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us": self = .usASCII
        case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "iso-ir-100", "cp819": self = .latin1
        case "iso-8859-15", "iso8859-15", "iso_8859-15", "latin9", "latin-9", "l9": self = .latin9
        case "windows-1252", "cp1252", "x-cp1252": self = .windows1252
        default: return nil
        }
    }

    public func decode(_ bytes: some Collection<UInt8>) -> String {
        switch self {
        case .utf8: return String(decoding: bytes, as: UTF8.self)
        case .usASCII: return Self.lenient(bytes)
        case .latin1, .windows1252: return Self.singleByte(bytes, Self.windows1252High)
        case .latin9: return Self.singleByte(bytes, Self.latin9High)
        }
    }

    /// Text whose charset is unknown or wrongly declared: UTF-8 when it is valid UTF-8
    /// (the common case today), otherwise Windows-1252 (the common 8-bit case).
    public static func lenient(_ bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return singleByte(bytes, windows1252High)
    }

    static func singleByte(_ bytes: some Collection<UInt8>, _ high: (UInt8) -> Unicode.Scalar) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(byte < 0x80 ? Unicode.Scalar(byte) : high(byte)) }
        return String(scalars)
    }

    /// Windows-1252: 0x80–0x9F are typographic characters; the five unassigned bytes
    /// keep their Latin-1 (C1) meaning; 0xA0–0xFF are Latin-1.
    static func windows1252High(_ byte: UInt8) -> Unicode.Scalar {
        guard byte >= 0x80 && byte <= 0x9F else { return Unicode.Scalar(byte) }
        let value = windows1252C1[Int(byte - 0x80)]
        return Unicode.Scalar(value == 0 ? UInt32(byte) : value)!
    }

    static let windows1252C1: [UInt32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
        0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ]

    /// ISO-8859-15 is Latin-1 with eight positions changed (€, Š, š, Ž, ž, Œ, œ, Ÿ).
    static func latin9High(_ byte: UInt8) -> Unicode.Scalar {
        switch byte {
        case 0xA4: return "\u{20AC}"
        case 0xA6: return "\u{0160}"
        case 0xA8: return "\u{0161}"
        case 0xB4: return "\u{017D}"
        case 0xB8: return "\u{017E}"
        case 0xBC: return "\u{0152}"
        case 0xBD: return "\u{0153}"
        case 0xBE: return "\u{0178}"
        default: return Unicode.Scalar(byte)
        }
    }
}
