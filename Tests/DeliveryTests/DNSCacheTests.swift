import MailCore
import Testing
@testable import Delivery

@Suite struct DNSCacheTests {
    @Test func keepsAnswersUntilTheirTTLWithTheRestOfTheTTL() {
        var cache = DNSCache(capacity: 10)
        let key = DNSCache.Key(name: "Example.TEST.", type: .a)
        cache.put(key, .records([.address("192.0.2.1")], ttl: 60), ttl: 60, now: 1000)
        #expect(cache.get(DNSCache.Key(name: "example.test", type: .a), now: 1010) == .records([.address("192.0.2.1")], ttl: 50))
        #expect(cache.get(DNSCache.Key(name: "example.test", type: .aaaa), now: 1010) == nil)
        #expect(cache.get(key, now: 1060) == nil)
        #expect(cache.count == 0)
        cache.put(key, .nxdomain, ttl: 0, now: 1000)
        #expect(cache.count == 0)
        cache.put(key, .nxdomain, ttl: 5, now: 1000)
        #expect(cache.get(key, now: 1004) == .nxdomain)
    }

    @Test func staysWithinItsCapacityEvictingTheLeastRecentlyUsed() {
        var cache = DNSCache(capacity: 16)
        let hot = DNSCache.Key(name: "hot.test", type: .a)
        cache.put(hot, .nodata, ttl: 600, now: 0)
        for index in 0..<100 {
            _ = cache.get(hot, now: Double(index))
            cache.put(DNSCache.Key(name: "n\(index).test", type: .a), .nodata, ttl: 600, now: Double(index))
            #expect(cache.count <= 16)
        }
        #expect(cache.get(hot, now: 100) == .nodata)
        #expect(cache.get(DNSCache.Key(name: "n0.test", type: .a), now: 100) == nil)
    }
}
