// A bounded, defensive reader for DNS responses (RFC 1035 §4): header, questions,
// answer and authority records, with the record types mail routing and the policy
// API need (A, AAAA, MX, CNAME, TXT, PTR, NS, SOA); the additional section is not read.
// Every read is bounds-checked; compression pointers must point strictly backwards
// (so they cannot loop) and are limited in number; names are limited to 255 octets.
// Bytes from the network never crash us: anything malformed is a `DNSParseError`.

public struct DNSParseError: Error, Sendable, Equatable {
    public var reason: String
    init(_ reason: String) { self.reason = reason }

    static let tooManyRecords = DNSParseError("too many records")
    /// The message is well-formed so far but holds more records than we read: the
    /// resolver answers `too_large` rather than `malformed`.
    public var isTooLarge: Bool { self == Self.tooManyRecords }
}

public struct DNSMessage: Sendable, Equatable {
    public enum RecordData: Sendable, Equatable {
        case mx(preference: Int, exchange: String)
        case a(String)
        case aaaa(String)
        case cname(String)
        /// The character-strings of one TXT record, each as bytes (they need not be UTF-8).
        case txt([[UInt8]])
        case ptr(String)
        case ns(String)
        case soa(SOA)
        case other(type: Int)
    }

    /// Start of authority (RFC 1035 §3.3.13); `minimum` bounds negative caching (RFC 2308).
    public struct SOA: Sendable, Equatable {
        public var mname: String
        public var rname: String
        public var serial: UInt32
        public var refresh: UInt32
        public var retry: UInt32
        public var expire: UInt32
        public var minimum: UInt32
    }

    public struct Record: Sendable, Equatable {
        public var name: String
        public var ttl: UInt32
        public var data: RecordData
    }

    public var id: UInt16
    public var isResponse: Bool
    public var truncated: Bool
    public var responseCode: Int
    public var questions: [String]
    /// The QTYPE of each question, in the order of `questions`.
    public var questionTypes: [Int] = []
    public var answers: [Record]
    /// The authority section (an SOA here bounds negative caching, RFC 2308 §5).
    public var authority: [Record] = []

    static let maxRecords = 512
    static let maxPointers = 32

    public static func parse(_ bytes: [UInt8]) throws(DNSParseError) -> DNSMessage {
        var reader = Reader(bytes: bytes)
        let id = try reader.u16()
        let flags = try reader.u16()
        let qdcount = Int(try reader.u16())
        let ancount = Int(try reader.u16())
        let nscount = Int(try reader.u16())
        _ = try reader.u16()   // additional: not read
        guard qdcount <= 16 else { throw DNSParseError("too many questions") }
        guard ancount <= maxRecords, nscount <= maxRecords else { throw DNSParseError.tooManyRecords }
        var message = DNSMessage(id: id, isResponse: flags & 0x8000 != 0, truncated: flags & 0x0200 != 0,
                                 responseCode: Int(flags & 0x000F), questions: [], answers: [])
        for _ in 0..<qdcount {
            message.questions.append(try reader.name())
            message.questionTypes.append(Int(try reader.u16()))
            try reader.skip(2)   // class
        }
        for _ in 0..<ancount {
            if let record = try reader.record() { message.answers.append(record) }
        }
        for _ in 0..<nscount {
            if let record = try reader.record() { message.authority.append(record) }
        }
        return message
    }

    /// RFC 5952 text form: lower-case, longest run of zero groups as "::".
    static func ipv6(_ bytes: [UInt8]) -> String {
        let groups = stride(from: 0, to: 16, by: 2).map { Int(bytes[$0]) << 8 | Int(bytes[$0 + 1]) }
        var bestStart = -1, bestLength = 0, start = -1
        for (index, group) in groups.enumerated() {
            if group == 0 {
                if start < 0 { start = index }
                if index - start + 1 > bestLength { bestStart = start; bestLength = index - start + 1 }
            } else {
                start = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var parts: [String] = []
        var index = 0
        var text = ""
        while index < 8 {
            if index == bestStart {
                text += (parts.isEmpty ? "" : parts.joined(separator: ":")) + "::"
                parts = []
                index += bestLength
                continue
            }
            parts.append(String(groups[index], radix: 16))
            index += 1
        }
        return text + parts.joined(separator: ":")
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        /// One resource record; nil when its class is not IN (it is skipped).
        mutating func record() throws(DNSParseError) -> Record? {
            let name = try name()
            let type = Int(try u16())
            let recordClass = try u16()
            let ttl = try u32()
            let length = Int(try u16())
            let end = offset + length
            guard end <= bytes.count else { throw DNSParseError("record data past the end") }
            let data: RecordData
            switch type {
            case 15:
                guard length >= 3 else { throw DNSParseError("short MX record") }
                let preference = Int(try u16())
                data = .mx(preference: preference, exchange: try self.name())
            case 1:
                guard length == 4 else { throw DNSParseError("bad A record length") }
                data = .a(bytes[offset..<end].map(String.init).joined(separator: "."))
            case 28:
                guard length == 16 else { throw DNSParseError("bad AAAA record length") }
                data = .aaaa(DNSMessage.ipv6(Array(bytes[offset..<end])))
            case 5:
                data = .cname(try self.name())
            case 12:
                data = .ptr(try self.name())
            case 2:
                data = .ns(try self.name())
            case 16:
                // One or more <character-string>s, each a length octet and that many bytes.
                var strings: [[UInt8]] = []
                var position = offset
                guard length >= 1 else { throw DNSParseError("empty TXT record") }
                while position < end {
                    let count = Int(bytes[position])
                    guard position + 1 + count <= end else { throw DNSParseError("TXT string overruns its record") }
                    strings.append(Array(bytes[(position + 1)..<(position + 1 + count)]))
                    position += 1 + count
                }
                offset = end
                data = .txt(strings)
            case 6:
                let mname = try self.name()
                let rname = try self.name()
                data = .soa(SOA(mname: mname, rname: rname, serial: try u32(), refresh: try u32(), retry: try u32(),
                                expire: try u32(), minimum: try u32()))
            default:
                data = .other(type: type)
            }
            guard offset <= end else { throw DNSParseError("record data overruns its length") }
            offset = end
            return recordClass == 1 ? Record(name: name, ttl: ttl, data: data) : nil
        }

        mutating func u16() throws(DNSParseError) -> UInt16 {
            guard offset + 2 <= bytes.count else { throw DNSParseError("truncated message") }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }

        mutating func u32() throws(DNSParseError) -> UInt32 {
            UInt32(try u16()) << 16 | UInt32(try u16())
        }

        mutating func skip(_ count: Int) throws(DNSParseError) {
            guard offset + count <= bytes.count else { throw DNSParseError("truncated message") }
            offset += count
        }

        /// A domain name in presentation form without the trailing dot ("" is the root).
        /// Label bytes outside letters, digits, "-" and "_" are written as "\DDD".
        mutating func name() throws(DNSParseError) -> String {
            var labels: [String] = []
            var position = offset
            var wireLength = 0
            var pointers = 0
            var resumeAt: Int?
            while true {
                guard position < bytes.count else { throw DNSParseError("truncated name") }
                let length = Int(bytes[position])
                switch length & 0xC0 {
                case 0xC0:
                    guard position + 1 < bytes.count else { throw DNSParseError("truncated pointer") }
                    let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                    // Strictly backwards, and few: no loop can be built from pointers.
                    pointers += 1
                    guard target < position, pointers <= DNSMessage.maxPointers else {
                        throw DNSParseError("bad compression pointer")
                    }
                    if resumeAt == nil { resumeAt = position + 2 }
                    position = target
                case 0x00:
                    if length == 0 {
                        offset = resumeAt ?? position + 1
                        return labels.joined(separator: ".")
                    }
                    guard position + 1 + length <= bytes.count else { throw DNSParseError("truncated label") }
                    wireLength += length + 1
                    guard wireLength <= 255 else { throw DNSParseError("name too long") }
                    labels.append(Self.label(bytes[(position + 1)...(position + length)]))
                    position += length + 1
                default:
                    throw DNSParseError("unsupported label type")
                }
            }
        }

        static func label(_ bytes: ArraySlice<UInt8>) -> String {
            var text = ""
            for byte in bytes {
                let char = Character(Unicode.Scalar(byte))
                if (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                    || byte == 45 || byte == 95 {
                    text.append(char)
                } else {
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            return text
        }
    }
}
