// A compact binary record encoding: big-endian fixed-width integers, IEEE doubles as
// their bit pattern, strings as u32 length + UTF-8, optionals as a 0/1 tag byte.
// Every record starts with a version byte so fields can be added later. Decoding
// reads straight from LMDB's memory (zero-copy) and throws `.io` on a truncated value.

struct ByteWriter {
    var bytes: [UInt8] = []

    init(version: UInt8) { bytes.reserveCapacity(64); bytes.append(version) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    mutating func bool(_ v: Bool) { u8(v ? 1 : 0) }
    mutating func string(_ v: String) {
        let utf8 = v.utf8
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    mutating func optionalString(_ v: String?) {
        if let v { u8(1); string(v) } else { u8(0) }
    }
    mutating func strings(_ v: [String]) {
        u32(UInt32(v.count))
        for s in v { string(s) }
    }
}

struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    let version: UInt8

    init(_ bytes: UnsafeRawBufferPointer, record: String) throws(StoreError) {
        guard !bytes.isEmpty else { throw StoreError(.io, "corrupt \(record) record: empty") }
        self.bytes = bytes
        self.version = bytes[0]
        self.offset = 1
    }

    private mutating func take(_ n: Int) throws(StoreError) -> Int {
        guard n >= 0, offset + n <= bytes.count else { throw StoreError(.io, "corrupt record: truncated") }
        defer { offset += n }
        return offset
    }

    mutating func u8() throws(StoreError) -> UInt8 { bytes[try take(1)] }
    mutating func u16() throws(StoreError) -> UInt16 {
        let at = try take(2)
        return UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])
    }
    mutating func u32() throws(StoreError) -> UInt32 { Keys.readBE32(bytes, at: try take(4)) }
    mutating func u64() throws(StoreError) -> UInt64 { Keys.readBE64(bytes, at: try take(8)) }
    mutating func i64() throws(StoreError) -> Int64 { Int64(bitPattern: try u64()) }
    mutating func f64() throws(StoreError) -> Double { Double(bitPattern: try u64()) }
    mutating func bool() throws(StoreError) -> Bool { try u8() != 0 }
    mutating func string() throws(StoreError) -> String {
        let n = Int(try u32())
        let at = try take(n)
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)]), as: UTF8.self)
    }
    mutating func optionalString() throws(StoreError) -> String? {
        try u8() == 0 ? nil : try string()
    }
    mutating func strings() throws(StoreError) -> [String] {
        let n = Int(try u32())
        guard n <= bytes.count else { throw StoreError(.io, "corrupt record: bad count") }
        var result: [String] = []
        result.reserveCapacity(n)
        for _ in 0..<n { result.append(try string()) }
        return result
    }
}
