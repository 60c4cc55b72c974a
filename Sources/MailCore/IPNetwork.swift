import Foundation

// IPv4/IPv6 addresses and CIDR networks, parsed without the resolver, for
// trusted_networks, exempt_networks, the whitelist and mailgate.net in Lua.

public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]
    public var isV4: Bool { bytes.count == 4 }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// The address of a socket peer, from its raw bytes (network order); an IPv4-mapped
    /// IPv6 address is the IPv4 address, as when parsed from text.
    public init?(socketBytes bytes: [UInt8]) {
        if bytes.count == 16 && bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            self.init(bytes: Array(bytes[12..<16]))
        } else {
            self.init(bytes: bytes)
        }
    }

    public init?(_ text: String) {
        var text = Substring(text)
        if text.hasPrefix("[") && text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
        if let v4 = IPAddress.parseV4(text) {
            bytes = v4
        } else if let v6 = IPAddress.parseV6(text) {
            // IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address: one identity per client.
            if v6[0..<10].allSatisfy({ $0 == 0 }) && v6[10] == 0xff && v6[11] == 0xff {
                bytes = Array(v6[12..<16])
            } else {
                bytes = v6
            }
        } else {
            return nil
        }
    }

    /// Dotted quad: four decimal parts of 1–3 digits, each at most 255 (bytes, no
    /// Character walk: a policy asks about the client's address several times a message).
    static func parseV4(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(4)
        var value = 0
        var digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, out.count < 3 else { return nil }
                out.append(UInt8(value))
                value = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits += 1
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                guard digits <= 3, value <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, out.count == 3 else { return nil }
        out.append(UInt8(value))
        return out
    }

    static func parseV6(_ text: Substring) -> [UInt8]? {
        guard text.contains(":") else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        var embeddedV4: [UInt8]? = nil
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, allowV4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowV4 && index == pieces.count - 1 && piece.contains(".") {
                    guard let v4 = parseV4(piece) else { return nil }
                    embeddedV4 = v4
                    result.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    result.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                    continue
                }
                guard !piece.isEmpty, piece.count <= 4, let value = UInt16(piece, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        if halves.count == 2 {
            sawGap = true
            guard let h = groups(halves[0], allowV4: false), let t = groups(halves[1], allowV4: true) else { return nil }
            head = h; tail = t
        } else {
            guard let h = groups(halves[0], allowV4: true) else { return nil }
            head = h
        }
        _ = embeddedV4
        let total = head.count + tail.count
        if sawGap ? total > 7 : total != 8 { return nil }
        let all = head + Array(repeating: 0, count: 8 - total) + tail
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    public var description: String {
        if isV4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [UInt16] = []
        for index in stride(from: 0, to: 16, by: 2) { groups.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])) }
        // RFC 5952: compress the longest run (>= 2) of zero groups.
        var bestStart = -1, bestLength = 0, index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - index > bestLength && end - index >= 2 { bestStart = index; bestLength = end - index }
                index = end
            } else { index += 1 }
        }
        func hex(_ slice: ArraySlice<UInt16>) -> String { slice.map { String($0, radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(groups[...]) }
        return hex(groups[..<bestStart]) + "::" + hex(groups[(bestStart + bestLength)...])
    }
}

extension IPAddress {
    /// The name DNS lists this address under: "10.2.0.192" plus `zone` (a DNSBL) for
    /// IPv4, 32 reversed nibbles for IPv6; without a zone, in-addr.arpa / ip6.arpa.
    public func reverseName(zone: String? = nil) -> String {
        var labels: [String] = []
        labels.reserveCapacity(isV4 ? 5 : 33)
        if isV4 {
            for byte in bytes.reversed() { labels.append(String(byte)) }
        } else {
            for byte in bytes.reversed() {
                labels.append(String(byte & 0x0F, radix: 16))
                labels.append(String(byte >> 4, radix: 16))
            }
        }
        var suffix = zone ?? (isV4 ? "in-addr.arpa" : "ip6.arpa")
        if suffix.hasSuffix(".") { suffix.removeLast() }
        if !suffix.isEmpty { labels.append(suffix) }
        return labels.joined(separator: ".")
    }
}

public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// "10.0.0.0/8", "::1/128", or a bare address (a host network).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let address = IPAddress(String(first)) else { return nil }
        let maxPrefix = address.isV4 ? 32 : 128
        var length = maxPrefix
        if parts.count == 2 {
            guard let value = Int(parts[1]), value >= 0, value <= maxPrefix else { return nil }
            // An IPv4-mapped prefix ("::ffff:10.0.0.0/104") became IPv4: shift it.
            if address.isV4 && text.contains(":") { length = max(0, value - 96) } else { length = value }
        }
        self.address = address
        self.prefixLength = length
    }

    public func contains(_ ip: IPAddress) -> Bool {
        guard ip.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for index in 0..<ip.bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xff : ~(0xff >> UInt8(bits))
            if ip.bytes[index] & mask != address.bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }

    public static func anyContains(_ networks: [IPNetwork], _ ip: IPAddress) -> Bool {
        networks.contains { $0.contains(ip) }
    }
}
