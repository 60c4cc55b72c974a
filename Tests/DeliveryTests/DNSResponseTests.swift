import MailCore
import Testing
import TestSupport
@testable import Delivery

@Suite struct DNSResponseTests {
    typealias R = DNSAnswerBuilder.Record
    let id: UInt16 = 0x4242

    func query(_ name: String, _ type: DNSRecordType) -> [UInt8] { DNSQuery.encode(id: id, name: name, type: type)! }

    func classify(_ name: String, _ type: DNSRecordType, rcode: Int = 0, truncated: Bool = false,
                  answers: [R] = [], authority: [R] = [], limits: DNSAnswerLimits = DNSAnswerLimits()) -> DNSResponseVerdict {
        let reply = DNSAnswerBuilder.reply(to: query(name, type), rcode: rcode, truncated: truncated,
                                           answers: answers, authority: authority)
        return DNSResponse.classify(reply, id: id, name: name, type: type, limits: limits)
    }

    @Test func recordsOfEachType() {
        #expect(classify("a.test", .a, answers: [.a("192.0.2.1", ttl: 60), .a("192.0.2.2", ttl: 30)])
                == .result(.records([.address("192.0.2.1"), .address("192.0.2.2")], ttl: 30), cacheTTL: 30))
        #expect(classify("a.test", .aaaa, answers: [.aaaaLoopback()]) == .result(.records([.address("::1")], ttl: 300), cacheTTL: 300))
        #expect(classify("a.test", .mx, answers: [.mx(20, "MX2.a.test"), .mx(10, "mx1.a.test"), .mx(20, "mx3.a.test")])
                == .result(.records([.mx(preference: 10, exchange: "mx1.a.test"), .mx(preference: 20, exchange: "mx2.a.test"),
                                     .mx(preference: 20, exchange: "mx3.a.test")], ttl: 300), cacheTTL: 300))
        #expect(classify("a.test", .txt, answers: [.txt(["v=spf1 ", "-all"]), .txt(["second"])])
                == .result(.records([.text("v=spf1 -all"), .text("second")], ttl: 300), cacheTTL: 300))
        #expect(classify("1.2.0.192.in-addr.arpa", .ptr, answers: [.ptr("Host.Example.test")])
                == .result(.records([.name("host.example.test")], ttl: 300), cacheTTL: 300))
        #expect(classify("a.test", .ns, answers: [.ns("ns1.a.test")]) == .result(.records([.name("ns1.a.test")], ttl: 300), cacheTTL: 300))
    }

    @Test func positiveTTLIsCappedAtADay() {
        #expect(classify("a.test", .a, answers: [.a("192.0.2.1", ttl: 1_000_000)])
                == .result(.records([.address("192.0.2.1")], ttl: 1_000_000), cacheTTL: 86_400))
    }

    @Test func followsCNAMEChains() {
        let answers: [R] = [.cname("b.test", ttl: 100), .cname("c.test", name: "b.test", ttl: 50),
                            .a("192.0.2.9", name: "c.test", ttl: 200), .a("192.0.2.8", name: "other.test")]
        #expect(classify("a.test", .a, answers: answers) == .result(.records([.address("192.0.2.9")], ttl: 50), cacheTTL: 50))
        // A chain that ends without the type is NODATA; asking for the CNAME itself is not followed.
        #expect(classify("a.test", .mx, answers: answers) == .result(.nodata, cacheTTL: 0))
        #expect(classify("a.test", .cname, answers: answers) == .result(.records([.name("b.test")], ttl: 100), cacheTTL: 100))
        // A loop ends after the bound.
        #expect(classify("a.test", .a, answers: [.cname("b.test"), .cname("a.test", name: "b.test")]) == .result(.nodata, cacheTTL: 0))
    }

    @Test func negativeAnswersAreCachedPerRFC2308() {
        #expect(classify("x.test", .a, rcode: 3, authority: [.soa(ttl: 900, minimum: 300)]) == .result(.nxdomain, cacheTTL: 300))
        #expect(classify("x.test", .a, rcode: 3, authority: [.soa(ttl: 60, minimum: 300)]) == .result(.nxdomain, cacheTTL: 60))
        #expect(classify("x.test", .a, rcode: 3, authority: [.soa(ttl: 86400, minimum: 86400)]) == .result(.nxdomain, cacheTTL: 3600))
        #expect(classify("x.test", .a, rcode: 3) == .result(.nxdomain, cacheTTL: 0))
        #expect(classify("x.test", .mx, authority: [.soa(ttl: 120, minimum: 600)]) == .result(.nodata, cacheTTL: 120))
    }

    @Test func failuresAreNeverCached() {
        #expect(classify("x.test", .a, rcode: 2) == .result(.failure(.servfail), cacheTTL: 0))
        #expect(classify("x.test", .a, rcode: 5) == .result(.failure(.refused), cacheTTL: 0))
        #expect(classify("x.test", .a, rcode: 4) == .result(.failure(.refused), cacheTTL: 0))
        #expect(classify("x.test", .a, rcode: 9) == .result(.failure(.malformed), cacheTTL: 0))
    }

    @Test func truncatedAnswersGoToTCPButNotTwice() {
        #expect(classify("x.test", .txt, truncated: true) == .truncated)
        let reply = DNSAnswerBuilder.reply(to: query("x.test", .txt), truncated: true, answers: [.txt(["partial"])])
        #expect(DNSResponse.classify(reply, id: id, name: "x.test", type: .txt, overTCP: true)
                == .result(.records([.text("partial")], ttl: 300), cacheTTL: 300))
    }

    @Test func answersToOtherQuestionsAreIgnored() {
        let reply = DNSAnswerBuilder.reply(to: query("x.test", .a), answers: [.a("192.0.2.1")])
        #expect(DNSResponse.classify(reply, id: id &+ 1, name: "x.test", type: .a) == .ignore)
        #expect(DNSResponse.classify(reply, id: id, name: "y.test", type: .a) == .ignore)
        #expect(DNSResponse.classify(reply, id: id, name: "x.test", type: .aaaa) == .ignore)
        #expect(DNSResponse.classify(reply, id: id, name: "X.Test.", type: .a) != .ignore)
        var notResponse = reply
        notResponse[2] &= 0x7F
        #expect(DNSResponse.classify(notResponse, id: id, name: "x.test", type: .a) == .ignore)
        #expect(DNSResponse.classify([0x42], id: id, name: "x.test", type: .a) == .ignore)
    }

    @Test func garbageWithOurIDIsMalformed() {
        #expect(DNSResponse.classify([0x42, 0x42, 0x81, 0x80, 0, 1, 0, 9, 0xFF], id: id, name: "x.test", type: .a)
                == .result(.failure(.malformed), cacheTTL: 0))
    }

    @Test func oversizedAnswersAreTooLarge() {
        var limits = DNSAnswerLimits()
        limits.maxRecords = 3
        let many: [R] = (1...4).map { .a("192.0.2.\($0)") }
        #expect(classify("x.test", .a, answers: many, limits: limits) == .result(.failure(.tooLarge), cacheTTL: 0))
        let bigText: [R] = (0..<70).map { _ in .txt([String(repeating: "x", count: 250)]) }
        #expect(classify("x.test", .txt, answers: bigText) == .result(.failure(.tooLarge), cacheTTL: 0))
        // More records than the parser reads at all.
        var header = DNSAnswerBuilder.reply(to: query("x.test", .a))
        header[6] = 0xFF
        #expect(DNSResponse.classify(header, id: id, name: "x.test", type: .a) == .result(.failure(.tooLarge), cacheTTL: 0))
    }
}
