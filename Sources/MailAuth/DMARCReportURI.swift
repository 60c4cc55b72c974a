// One destination of a DMARC record's `rua=` list (RFC 7489 §6.4):
//   dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]
// Only `mailto:` is supported (the one scheme RFC 7489 §6.2 requires); other schemes
// are reported as unsupported and skipped. The size suffix is the largest report the
// domain accepts (k/m/g/t are powers of 2^10). Bounded: at most `maxURIs` destinations
// from a list of at most `maxListLength` bytes; absurd sizes saturate.
import MailCore

/// A parsed `mailto:` report destination.
public struct DMARCReportURI: Sendable, Equatable, Hashable {
    public enum ParseError: Error, Sendable, Equatable {
        case empty
        case tooLong
        case unsupportedScheme(String)
        case badAddress
        case badSize
    }

    /// The address reports go to (percent-decoding applied, no "?headers").
    public var address: String
    /// Largest report (the gzip attachment, before base64) the destination accepts.
    public var maxBytes: UInt64?

    public static let maxURILength = 512
    public static let maxListLength = 4096
    /// RFC 7489 §6.2 lets receivers cap destinations at two or more.
    public static let maxURIs = 4

    public init(address: String, maxBytes: UInt64? = nil) {
        self.address = address
        self.maxBytes = maxBytes
    }

    /// The domain of `address` (lower-cased): where §7.1 verification looks.
    public var domain: String {
        guard let at = address.lastIndex(of: "@") else { return "" }
        return address[address.index(after: at)...].lowercased()
    }

    public init(parsing text: String) throws(ParseError) {
        let trimmed = String(text.trimmingSpacesAndTabs)
        guard !trimmed.isEmpty else { throw .empty }
        guard trimmed.utf8.count <= Self.maxURILength else { throw .tooLong }
        var uri = Substring(trimmed)
        var size: UInt64?
        if let bang = uri.lastIndex(of: "!") {
            size = try Self.size(uri[uri.index(after: bang)...])
            uri = uri[..<bang]
        }
        guard let colon = uri.firstIndex(of: ":") else { throw .unsupportedScheme("") }
        let scheme = uri[..<colon].lowercased()
        guard scheme == "mailto" else { throw .unsupportedScheme(scheme) }
        var rest = uri[uri.index(after: colon)...]
        if let question = rest.firstIndex(of: "?") { rest = rest[..<question] }
        guard let address = Self.percentDecoded(rest), Self.isPlainAddress(address) else { throw .badAddress }
        self.address = address
        self.maxBytes = size
    }

    /// The supported destinations of a `rua=` value, in order, without duplicates, at
    /// most `maxURIs`; unsupported or malformed entries are skipped (RFC 7489 §6.4:
    /// a receiver ignores URIs it cannot use).
    public static func parseList(_ value: String) -> [DMARCReportURI] {
        guard value.utf8.count <= maxListLength else { return [] }
        var result: [DMARCReportURI] = []
        for part in value.split(separator: ",", omittingEmptySubsequences: true) {
            guard let uri = try? DMARCReportURI(parsing: String(part)) else { continue }
            if !result.contains(where: { $0.address.lowercased() == uri.address.lowercased() }) { result.append(uri) }
            if result.count == maxURIs { break }
        }
        return result
    }

    static func size(_ text: Substring) throws(ParseError) -> UInt64 {
        var digits = text
        var shift: UInt64 = 0
        if let last = digits.last, !last.isNumber {
            switch last {
            case "k", "K": shift = 10
            case "m", "M": shift = 20
            case "g", "G": shift = 30
            case "t", "T": shift = 40
            default: throw .badSize
            }
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.count <= 15, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let number = UInt64(digits) else { throw .badSize }
        // 15 digits << 40 may overflow: saturate (no limit worth the name).
        let (value, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? UInt64.max : value
    }

    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard iterator.count >= 2, let high = hex(iterator.removeFirst()), let low = hex(iterator.removeFirst())
                else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// local@domain with printable, header- and envelope-safe characters only.
    static func isPlainAddress(_ address: String) -> Bool {
        guard let at = address.lastIndex(of: "@"), at != address.startIndex,
              address.index(after: at) != address.endIndex else { return false }
        let domain = address[address.index(after: at)...]
        guard domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains("..") else { return false }
        return address.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">")
            && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "\"") }
            && address.filter({ $0 == "@" }).count == 1
    }
}
