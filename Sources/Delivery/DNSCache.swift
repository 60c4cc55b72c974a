// The resolver's answer cache: outcomes by (name, type) until their TTL runs out,
// bounded in entries. When full, expired entries go first, then the least recently
// used eighth (a sort per eviction round, so the cost is spread over many inserts).
// Not thread-safe: the resolver touches it from its one event loop only.
import MailCore

public struct DNSCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var name: String
        public var type: DNSRecordType
        /// The name is compared as DNS does: without case and trailing dot.
        public init(name: String, type: DNSRecordType) {
            self.name = DNSResponse.presentationName(name)
            self.type = type
        }
    }

    struct Entry {
        var result: DNSLookupResult
        var expires: Double
        var lastUsed: UInt64
    }

    public let capacity: Int
    var entries: [Key: Entry] = [:]
    var clock: UInt64 = 0

    public init(capacity: Int = 10_000) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public var count: Int { entries.count }

    /// The cached outcome, records with the TTL that is left; nil when absent or expired.
    public mutating func get(_ key: Key, now: Double) -> DNSLookupResult? {
        guard let entry = entries[key] else { return nil }
        guard entry.expires > now else {
            entries[key] = nil
            return nil
        }
        clock += 1
        entries[key]?.lastUsed = clock
        if case .records(let records, _) = entry.result {
            return .records(records, ttl: UInt32(max(0, (entry.expires - now).rounded(.up))))
        }
        return entry.result
    }

    /// Keeps `result` for `ttl` seconds; a ttl of 0 stores nothing.
    public mutating func put(_ key: Key, _ result: DNSLookupResult, ttl: UInt32, now: Double) {
        guard ttl > 0 else { return }
        if entries[key] == nil && entries.count >= capacity { evict(now: now) }
        clock += 1
        entries[key] = Entry(result: result, expires: now + Double(ttl), lastUsed: clock)
    }

    mutating func evict(now: Double) {
        entries = entries.filter { $0.value.expires > now }
        guard entries.count >= capacity else { return }
        let victims = entries.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(max(1, capacity / 8))
        for (key, _) in victims { entries[key] = nil }
    }
}
