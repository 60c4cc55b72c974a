import MailCore
import Testing
@testable import Delivery

@Suite struct DNSQueryTests {
    @Test func encodesAQuestionWithEDNS() throws {
        let bytes = try #require(DNSQuery.encode(id: 0xBEEF, name: "Example.COM.", type: .mx))
        #expect(Array(bytes[0..<12]) == [0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1])
        let question: [UInt8] = [7] + Array("Example".utf8) + [3] + Array("COM".utf8) + [0, 0, 15, 0, 1]
        #expect(Array(bytes[12..<(12 + question.count)]) == question)
        // OPT: root name, type 41, UDP size 1232.
        #expect(Array(bytes[(12 + question.count)...]) == [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0])
    }

    @Test func refusesNamesDNSCannotCarry() {
        for bad in ["", ".", "a..b", ".a", String(repeating: "a", count: 64) + ".test",
                    (0..<64).map { _ in "abc" }.joined(separator: ".")] {
            #expect(DNSQuery.wireName(bad) == nil, "\(bad)")
        }
        #expect(DNSQuery.wireName(String(repeating: "a", count: 63) + ".test") != nil)
        let longest = (0..<63).map { _ in "abc" }.joined(separator: ".") + ".a"   // 253 octets
        #expect(longest.utf8.count == 253 && DNSQuery.wireName(longest)?.count == 255)
    }

    @Test func buildsReverseNames() {
        #expect(IPAddress("192.0.2.10")?.reverseName() == "10.2.0.192.in-addr.arpa")
        #expect(IPAddress("192.0.2.10")?.reverseName(zone: "zen.example.") == "10.2.0.192.zen.example")
        #expect(IPAddress("2001:db8::1")?.reverseName()
                == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
        #expect(IPAddress("not an ip")?.reverseName() == nil)
    }
}
