import Testing
import TestSupport
@testable import Delivery

/// Builds DNS responses byte by byte for the parser tests.
struct PacketBuilder {
    var bytes: [UInt8] = []
    mutating func u16(_ value: Int) { bytes += [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    mutating func u32(_ value: Int) { u16(value >> 16); u16(value & 0xFFFF) }
    mutating func name(_ name: String) {
        for label in name.split(separator: ".") { bytes.append(UInt8(label.utf8.count)); bytes += Array(label.utf8) }
        bytes.append(0)
    }
    mutating func pointer(_ offset: Int) { bytes += [UInt8(0xC0 | offset >> 8), UInt8(offset & 0xFF)] }
    mutating func header(answers: Int, questions: Int = 1, flags: Int = 0x8180) {
        u16(0x1234); u16(flags); u16(questions); u16(answers); u16(0); u16(0)
    }
    /// Record header for the name at `pointer`, then `rdata` (with its length).
    mutating func record(at pointer: Int, type: Int, rdata: [UInt8]) {
        self.pointer(pointer); u16(type); u16(1); u32(3600); u16(rdata.count); bytes += rdata
    }
}

@Suite struct DNSMessageTests {
    /// "example.net MX": 10 mx1.example.net (compressed), 20 mx2.example.net, one A record.
    func mxResponse() -> [UInt8] {
        var p = PacketBuilder()
        p.header(answers: 3)
        p.name("example.net")            // question name at offset 12
        p.u16(15); p.u16(1)
        // MX 10 mx1.<pointer to example.net>
        p.pointer(12); p.u16(15); p.u16(1); p.u32(300)
        p.u16(2 + 4 + 2); p.u16(10); p.bytes += [3] + Array("mx1".utf8); p.pointer(12)
        p.pointer(12); p.u16(15); p.u16(1); p.u32(300)
        p.u16(2 + 17); p.u16(20); p.name("mx2.example.net")
        p.record(at: 12, type: 1, rdata: [192, 0, 2, 7])
        return p.bytes
    }

    @Test func parsesMXRecordsWithCompression() throws {
        let message = try DNSMessage.parse(mxResponse())
        #expect(message.id == 0x1234 && message.isResponse && !message.truncated && message.responseCode == 0)
        #expect(message.questions == ["example.net"])
        #expect(message.answers.map(\.data) == [.mx(preference: 10, exchange: "mx1.example.net"),
                                                .mx(preference: 20, exchange: "mx2.example.net"),
                                                .a("192.0.2.7")])
        #expect(message.answers[0].name == "example.net" && message.answers[0].ttl == 300)
    }

    @Test func parsesAAAAandCNAMEandNullMX() throws {
        var p = PacketBuilder()
        p.header(answers: 3)
        p.name("x.test"); p.u16(28); p.u16(1)
        p.record(at: 12, type: 28, rdata: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])
        p.record(at: 12, type: 5, rdata: [1, UInt8(ascii: "y"), 0xC0, 14])
        p.record(at: 12, type: 15, rdata: [0, 0, 0])
        let message = try DNSMessage.parse(p.bytes)
        #expect(message.answers.map(\.data) == [.aaaa("2001:db8::1"), .cname("y.test"), .mx(preference: 0, exchange: "")])
    }

    @Test func parsesTXTPTRNSAndSOAInTheAuthority() throws {
        var p = PacketBuilder()
        p.u16(0x1234); p.u16(0x8183); p.u16(1); p.u16(3); p.u16(1); p.u16(0)
        p.name("x.test"); p.u16(16); p.u16(1)
        p.record(at: 12, type: 16, rdata: [3] + Array("abc".utf8) + [0] + [2, 0xFF, 0x41])
        p.record(at: 12, type: 12, rdata: [4] + Array("host".utf8) + [0xC0, 14])
        p.record(at: 12, type: 2, rdata: [2] + Array("ns".utf8) + [0xC0, 14])
        p.record(at: 14, type: 6, rdata: [2] + Array("ns".utf8) + [0xC0, 14] + [1, UInt8(ascii: "h"), 0xC0, 14]
                 + [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 1, 44])
        let message = try DNSMessage.parse(p.bytes)
        #expect(message.responseCode == 3 && message.questionTypes == [16])
        #expect(message.answers.map(\.data) == [.txt([Array("abc".utf8), [], [0xFF, 0x41]]), .ptr("host.test"), .ns("ns.test")])
        #expect(message.authority.map(\.data) == [.soa(.init(mname: "ns.test", rname: "h.test", serial: 1, refresh: 2,
                                                                retry: 3, expire: 4, minimum: 300))])
        #expect(message.authority[0].name == "test")

        var bad = PacketBuilder()
        bad.header(answers: 1)
        bad.name("x.test"); bad.u16(16); bad.u16(1)
        bad.record(at: 12, type: 16, rdata: [5] + Array("abc".utf8))
        #expect(throws: DNSParseError("TXT string overruns its record")) { _ = try DNSMessage.parse(bad.bytes) }
        var shortSOA = PacketBuilder()
        shortSOA.header(answers: 1)
        shortSOA.name("x.test"); shortSOA.u16(6); shortSOA.u16(1)
        shortSOA.record(at: 12, type: 6, rdata: [0, 0, 0, 0, 0, 1])
        #expect(throws: DNSParseError.self) { _ = try DNSMessage.parse(shortSOA.bytes + [UInt8](repeating: 0, count: 20)) }
    }

    @Test func formatsIPv6Addresses() {
        #expect(DNSMessage.ipv6([UInt8](repeating: 0, count: 15) + [1]) == "::1")
        #expect(DNSMessage.ipv6([UInt8](repeating: 0, count: 16)) == "::")
        #expect(DNSMessage.ipv6([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) == "2001:db8:1::")
        #expect(DNSMessage.ipv6([0x20, 0x01, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]) == "2001:0:1::1:0:1")
    }

    @Test func oddLabelBytesAreEscaped() throws {
        var p = PacketBuilder()
        p.header(answers: 0)
        p.bytes += [4] + Array("a b.".utf8) + [4] + Array("test".utf8) + [0]
        p.u16(15); p.u16(1)
        #expect(try DNSMessage.parse(p.bytes).questions == ["a\\032b\\046.test"])
    }

    @Test func pointerLoopsAreRefused() {
        for target in [12, 13, 40] {   // to itself, forwards into itself, past the end
            var p = PacketBuilder()
            p.header(answers: 0)
            p.pointer(target)
            p.u16(15); p.u16(1)
            #expect(throws: DNSParseError.self, "pointer to \(target)") { _ = try DNSMessage.parse(p.bytes) }
        }
        // Two names pointing at each other.
        var p = PacketBuilder()
        p.header(answers: 1)
        p.pointer(30)      // offset 12 → 30 (forward)
        p.u16(15); p.u16(1)
        p.bytes += [UInt8](repeating: 0, count: 30 - p.bytes.count)
        p.pointer(12)
        #expect(throws: DNSParseError.self) { _ = try DNSMessage.parse(p.bytes) }
    }

    @Test func truncatedPacketsAreErrorsNotCrashes() {
        let full = mxResponse()
        for length in 0..<full.count {
            #expect(throws: DNSParseError.self, "length \(length)") { _ = try DNSMessage.parse(Array(full.prefix(length))) }
        }
    }

    @Test func overlongNamesAndBadRecordLengthsAreRefused() {
        var long = PacketBuilder()
        long.header(answers: 0)
        for _ in 0..<5 { long.bytes += [63] + [UInt8](repeating: UInt8(ascii: "a"), count: 63) }
        long.bytes.append(0); long.u16(1); long.u16(1)
        #expect(throws: DNSParseError("name too long")) { _ = try DNSMessage.parse(long.bytes) }

        var badA = PacketBuilder()
        badA.header(answers: 1)
        badA.name("x.test"); badA.u16(1); badA.u16(1)
        badA.record(at: 12, type: 1, rdata: [1, 2, 3])
        #expect(throws: DNSParseError("bad A record length")) { _ = try DNSMessage.parse(badA.bytes) }

        var overrun = PacketBuilder()
        overrun.header(answers: 1)
        overrun.name("x.test"); overrun.u16(15); overrun.u16(1)
        // MX whose name runs past its declared length (but not past the packet).
        overrun.record(at: 12, type: 15, rdata: [0, 1, 3] + Array("abc".utf8) + [0])
        overrun.bytes[overrun.bytes.count - 8] = 4   // shorten RDLENGTH
        #expect(throws: DNSParseError.self) { _ = try DNSMessage.parse(overrun.bytes + [0, 0, 0, 0]) }

        var reserved = PacketBuilder()
        reserved.header(answers: 0)
        reserved.bytes += [0x40, 0]
        #expect(throws: DNSParseError("unsupported label type")) { _ = try DNSMessage.parse(reserved.bytes) }

        var huge = PacketBuilder()
        huge.header(answers: 60000)
        #expect(throws: DNSParseError("too many records")) { _ = try DNSMessage.parse(huge.bytes) }
    }

    @Test func randomBytesNeverCrash() {
        var generator = SeededGenerator(seed: 42)
        let base = mxResponse()
        for _ in 0..<5000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? DNSMessage.parse(bytes)
            let noise = (0..<Int.random(in: 0...80, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? DNSMessage.parse(noise)
        }
    }
}
