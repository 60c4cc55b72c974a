// Encodes one DNS question (RFC 1035 §4.1) with an EDNS0 OPT record (RFC 6891) that
// advertises the UDP answer size we accept, and checks names before they are sent.
// Pure bytes in, bytes out: the NIO transport in Gateway sends what this builds.
import MailCore

public enum DNSQuery {
    /// The UDP payload size we advertise: 1232 keeps answers below the IPv6 minimum MTU
    /// so they are not fragmented (DNS flag day 2020); larger answers come back with TC
    /// set and are fetched over TCP.
    public static let ednsBufferSize = 1232

    /// The wire form of `name` ("example.com", a trailing dot allowed), or nil when it
    /// cannot be a DNS name: empty, an empty label, a label over 63 octets, or over 253
    /// octets in all (255 on the wire).
    public static func wireName(_ name: String) -> [UInt8]? {
        var text = Array(name.utf8)
        if text.last == UInt8(ascii: ".") { text.removeLast() }
        guard !text.isEmpty, text.count <= 253 else { return nil }
        var wire: [UInt8] = []
        wire.reserveCapacity(text.count + 2)
        for label in text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard (1...63).contains(label.count) else { return nil }
            wire.append(UInt8(label.count))
            wire += label
        }
        wire.append(0)
        return wire
    }

    /// A standard query with recursion desired, or nil for a name `wireName` refuses.
    public static func encode(id: UInt16, name: String, type: DNSRecordType) -> [UInt8]? {
        guard let wire = wireName(name) else { return nil }
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF),
                              0x01, 0x00,   // RD
                              0, 1,         // one question
                              0, 0, 0, 0,   // no answers, no authority
                              0, 1]         // one additional: OPT
        bytes += wire
        bytes += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1]   // class IN
        // OPT: root owner, type 41, class = UDP size, TTL = extended rcode/flags 0, no options.
        bytes += [0, 0, 41, UInt8(ednsBufferSize >> 8), UInt8(ednsBufferSize & 0xFF), 0, 0, 0, 0, 0, 0]
        return bytes
    }
}
