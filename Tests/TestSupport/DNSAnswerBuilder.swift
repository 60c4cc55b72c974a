// Builds DNS answers byte by byte for the resolver tests (Delivery's classifier and the
// fake nameserver in GatewayTests): a reply echoes the query's ID and question, then
// the records given. Records without an owner name point at the question (offset 12).

public enum DNSAnswerBuilder {
    public struct Record {
        public var name: String?
        public var type: Int
        public var ttl: UInt32
        public var rdata: [UInt8]
        public init(name: String? = nil, type: Int, ttl: UInt32 = 300, rdata: [UInt8]) {
            self.name = name; self.type = type; self.ttl = ttl; self.rdata = rdata
        }

        public static func a(_ text: String, name: String? = nil, ttl: UInt32 = 300) -> Record {
            Record(name: name, type: 1, ttl: ttl, rdata: text.split(separator: ".").map { UInt8($0)! })
        }
        public static func aaaaLoopback(name: String? = nil, ttl: UInt32 = 300) -> Record {
            Record(name: name, type: 28, ttl: ttl, rdata: [UInt8](repeating: 0, count: 15) + [1])
        }
        public static func mx(_ preference: Int, _ exchange: String, name: String? = nil, ttl: UInt32 = 300) -> Record {
            Record(name: name, type: 15, ttl: ttl, rdata: [UInt8(preference >> 8), UInt8(preference & 0xFF)] + wire(exchange))
        }
        public static func txt(_ strings: [String], name: String? = nil, ttl: UInt32 = 300) -> Record {
            Record(name: name, type: 16, ttl: ttl, rdata: strings.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) })
        }
        public static func ptr(_ target: String, name: String? = nil, ttl: UInt32 = 300) -> Record {
            Record(name: name, type: 12, ttl: ttl, rdata: wire(target))
        }
        public static func ns(_ target: String, name: String? = nil, ttl: UInt32 = 300) -> Record {
            Record(name: name, type: 2, ttl: ttl, rdata: wire(target))
        }
        public static func cname(_ target: String, name: String? = nil, ttl: UInt32 = 300) -> Record {
            Record(name: name, type: 5, ttl: ttl, rdata: wire(target))
        }
        /// An SOA as found in the authority section of a negative answer.
        public static func soa(ttl: UInt32, minimum: UInt32, name: String = "test") -> Record {
            var rdata = wire("ns.test") + wire("hostmaster.test")
            for value in [1, 3600, 600, 86400, minimum] { rdata += u32(UInt32(value)) }
            return Record(name: name, type: 6, ttl: ttl, rdata: rdata)
        }
    }

    public static func wire(_ name: String) -> [UInt8] {
        name.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    static func u32(_ value: UInt32) -> [UInt8] { u16(Int(value >> 16)) + u16(Int(value & 0xFFFF)) }

    /// The ID of a query.
    public static func id(of query: [UInt8]) -> UInt16 { UInt16(query[0]) << 8 | UInt16(query[1]) }

    /// The question name of a query ("example.test"), for fake servers that dispatch on it.
    public static func questionName(of query: [UInt8]) -> String {
        var labels: [String] = []
        var position = 12
        while position < query.count, query[position] != 0 {
            let length = Int(query[position])
            labels.append(String(decoding: query[(position + 1)..<min(query.count, position + 1 + length)], as: UTF8.self))
            position += 1 + length
        }
        return labels.joined(separator: ".")
    }

    /// The question type of a query (1 = A, 15 = MX …).
    public static func questionType(of query: [UInt8]) -> Int {
        var position = 12
        while position < query.count, query[position] != 0 { position += 1 + Int(query[position]) }
        guard position + 2 < query.count else { return 0 }
        return Int(query[position + 1]) << 8 | Int(query[position + 2])
    }

    /// A response to `query`: its ID (or `id`) and question, then the records.
    public static func reply(to query: [UInt8], rcode: Int = 0, truncated: Bool = false, id: UInt16? = nil,
                             answers: [Record] = [], authority: [Record] = []) -> [UInt8] {
        var end = 12
        while end < query.count, query[end] != 0 { end += 1 + Int(query[end]) }
        end += 5
        let question = Array(query[12..<min(end, query.count)])
        let flags = 0x8180 | (truncated ? 0x0200 : 0) | rcode
        var bytes = u16(Int(id ?? Self.id(of: query))) + u16(flags) + u16(1) + u16(answers.count) + u16(authority.count)
            + u16(0)
        bytes += question
        for record in answers + authority {
            bytes += record.name.map(wire) ?? [0xC0, 12]
            bytes += u16(record.type) + u16(1) + u32(record.ttl) + u16(record.rdata.count) + record.rdata
        }
        return bytes
    }
}
