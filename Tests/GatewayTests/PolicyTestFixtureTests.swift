// The in-memory host: facts from a transcript's [store], the clock, counters, kv
// expiry, and canned DNS (anything not set is nxdomain; answers arrive asynchronously).
import Foundation
import Testing
@testable import Gateway
import MailCore
import Policy

@Suite struct PolicyTestFixtureTests {
    func fixture(_ text: String) throws -> PolicyTestFixture {
        PolicyTestFixture(transcript: try PolicyTranscriptParser.parse(text + "\n[[step]]\nhook = \"connect\"\nexpect = \"next\"",
                                                                      file: "t.toml", baseDirectory: "/tmp"))
    }

    @Test func storeFacts() throws {
        let host = try fixture("""
        now = 1000
        [store]
        domains = ["Example.com"]
        accounts = ["Alice@example.com"]
        aliases = { "postmaster@example.com" = "alice@example.com" }
        catchall = { "catchall.example" = "alice@example.com" }
        whitelist = { "192.0.2.7" = "1m", "::ffff:192.0.2.8" = true }
        counters = { "k" = 3 }
        """)
        #expect(host.now() == 1000)
        #expect(host.isLocalDomain("EXAMPLE.COM") && !host.isLocalDomain("example.org"))
        #expect(host.userExists(try MailAddress.parse("alice@example.com")))
        #expect(!host.userExists(try MailAddress.parse("bob@example.com")))
        #expect(host.aliasExists(try MailAddress.parse("Postmaster@example.com")))
        #expect(host.hasCatchAll("catchall.example") && !host.hasCatchAll("example.com"))
        #expect(host.whitelistContains("192.0.2.7") && host.whitelistContains("192.0.2.8"))
        #expect(host.counterGet("k", windowSeconds: 60) == 3)
        #expect(host.counterIncrement("k", amount: 2, windowSeconds: 60) == 5)
        host.advance(61)
        #expect(!host.whitelistContains("192.0.2.7") && host.whitelistContains("::ffff:192.0.2.8"))
        #expect(host.counterGet("k", windowSeconds: 60) == 0)
        #expect(host.counterGet("k", windowSeconds: 3600) == 5)
        host.whitelistAdd("192.0.2.9", user: "alice@example.com", ttlSeconds: 10)
        #expect(host.whitelistEntry("192.0.2.9")?.user == "alice@example.com")
    }

    @Test func kvSeedsExpireOnTheFixtureClock() throws {
        let host = try fixture("""
        now = 100
        [store]
        kv = { "a" = "x", "n" = 2, "t" = { value = 1, ttl = "10s" } }
        """)
        #expect(host.kvGet("a") == .string("x"))
        #expect(host.kvIncrement("n", by: 3, ttlSeconds: nil) == .success(5))
        #expect(host.kvGet("t") == .integer(1))
        host.advance(10)
        #expect(host.kvGet("t") == nil)
        #expect(host.kvGet("a") == .string("x") && host.kvDelete("a") && !host.kvDelete("a"))
        host.kvSet("s", .string("y"), ttlSeconds: 5)
        host.advance(5)
        #expect(host.kvGet("s") == nil)
    }

    @Test func cannedDNSAnswers() async throws {
        let host = try fixture("""
        [[dns]]
        name = "10.2.0.192.bl.example.test"
        type = "A"
        answer = ["127.0.0.2"]
        [[dns]]
        name = "slow.example"
        type = "TXT"
        error = "timeout"
        """)
        let dns = try #require(host.dns)
        func ask(_ name: String, _ type: DNSRecordType) async -> DNSLookupResult {
            await withCheckedContinuation { continuation in
                dns.lookup(name, type, timeout: .seconds(1)) { continuation.resume(returning: $0) }
            }
        }
        #expect(await ask("10.2.0.192.BL.example.test.", .a) == .records([.address("127.0.0.2")], ttl: 300))
        #expect(await ask("10.2.0.192.bl.example.test", .txt) == .nxdomain)
        #expect(await ask("slow.example", .txt) == .failure(.timeout))
        #expect(host.memoryDNS.takeQueries().count == 3)
    }
}
