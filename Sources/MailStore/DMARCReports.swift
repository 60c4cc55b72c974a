// The rows DMARC aggregate reports are made from (RFC 7489 §7.2), by period and policy
// domain, so "everything of domain D in period P" is one range scan and a finished
// period is removed by ranges. Rows are opaque bytes here (the Gateway encodes
// MailAuth's DMARCReportRow); identical rows share a group key and are stored once
// with a count, so a busy sender costs one row, not one per message.
// Bounded: at most `maxDomains` policy domains per period and `maxGroups` groups per
// domain and period (further distinct rows are counted as dropped, never stored), rows
// of at most `maxRowBytes`; periods are removed once reported, or by `purgeDMARCReports`
// after the retention the caller picks. A reporter takes a domain's rows of a period
// (read and delete in one transaction), so two reporters never send the same report.

/// One policy domain's share of one period.
public struct DMARCReportDomainSummary: Sendable, Equatable {
    public var period: UInt64
    public var domain: String
    /// Distinct groups stored.
    public var groups: Int
    /// Messages recorded (stored groups' counts summed).
    public var messages: UInt64
    /// Messages not stored because the domain's group cap was reached.
    public var dropped: UInt64

    public init(period: UInt64, domain: String, groups: Int, messages: UInt64, dropped: UInt64) {
        self.period = period; self.domain = domain; self.groups = groups; self.messages = messages; self.dropped = dropped
    }

    init(period: UInt64, domain: String, _ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var r = try ByteReader(bytes, record: "dmarc summary")
        self.init(period: period, domain: domain, groups: Int(try r.u32()), messages: try r.u64(), dropped: try r.u64())
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.u32(UInt32(clamping: groups))
        w.u64(messages)
        w.u64(dropped)
        return w.bytes
    }
}

/// One stored group: how many messages it stands for, and the row (newest seen).
public struct DMARCReportGroup: Sendable, Equatable {
    /// The 16-byte group key.
    public var key: [UInt8]
    public var count: UInt64
    public var row: [UInt8]

    public init(key: [UInt8], count: UInt64, row: [UInt8]) {
        self.key = key; self.count = count; self.row = row
    }
}

extension LMDBStore {
    public static let dmarcMaxDomains = 10_000
    public static let dmarcMaxGroups = 10_000
    public static let dmarcMaxRowBytes = 4096
    public static let dmarcGroupKeyBytes = 16

    /// Adds one message to `group` of `domain` in `period` (creating it with `row`, or
    /// counting it and keeping the newer `row`). Never blocks: `completion` runs on the
    /// writer thread after the commit with true when stored, false when a cap dropped it.
    public func recordDMARCReportRow(period: UInt64, domain: String, group: [UInt8], row: [UInt8],
                                     maxGroups: Int = LMDBStore.dmarcMaxGroups, maxDomains: Int = LMDBStore.dmarcMaxDomains,
                                     completion: @escaping @Sendable (Result<Bool, StoreError>) -> Void) {
        let keys: (period: [UInt8], domain: [UInt8], group: [UInt8])
        do throws(StoreError) {
            keys = try Self.dmarcKeys(period: period, domain: domain, group: group)
            guard row.count <= Self.dmarcMaxRowBytes else { throw StoreError(.invalid, "DMARC report row too large") }
        } catch {
            return completion(.failure(error))
        }
        submit(estimatedBytes: row.count + 64, { txn throws(StoreError) -> Bool in
            try txn.addDMARCReportGroup(keys, period: period, domain: domain.lowercased(), count: 1, row: row,
                                        maxGroups: maxGroups, maxDomains: maxDomains)
        }, completion: completion)
    }

    /// Every (period, domain) with rows, periods before `before` (seconds; nil: all).
    public func dmarcReportDomains(before: UInt64? = nil) throws(StoreError) -> [DMARCReportDomainSummary] {
        try read { txn throws(StoreError) in
            var result: [DMARCReportDomainSummary] = []
            try txn.scan(.dmarcReports) { key, value throws(StoreError) in
                guard key.count > 8 else { return true }
                let period = Keys.readBE64(key)
                if let before, period >= before { return false }
                guard Self.dmarcKeyKind(key) == .summary else { return true }
                let domain = String(decoding: UnsafeRawBufferPointer(rebasing: key[8..<(key.count - 1)]), as: UTF8.self)
                result.append(try DMARCReportDomainSummary(period: period, domain: domain, value))
                return true
            }
            return result
        }
    }

    /// The groups of `domain` in `period`, in key order.
    public func dmarcReportGroups(period: UInt64, domain: String) throws(StoreError) -> [DMARCReportGroup] {
        let prefix = try Self.dmarcKeys(period: period, domain: domain, group: nil).domain
        return try read { txn throws(StoreError) in
            var result: [DMARCReportGroup] = []
            try txn.scan(.dmarcReports, prefix: prefix) { key, value throws(StoreError) in
                guard key.count == prefix.count + Self.dmarcGroupKeyBytes, value.count >= 8 else { return true }
                result.append(DMARCReportGroup(key: Array(key[prefix.count...]), count: Keys.readBE64(value),
                                               row: Array(value[8...])))
                return true
            }
            return result
        }
    }

    /// Reads and removes `domain`'s rows of `period` in one write transaction, so of
    /// several reporters at once (the server's task, `mailgate dmarc report --send`)
    /// only one gets them: a report is never sent twice.
    public func takeDMARCReports(period: UInt64, domain: String) throws(StoreError) -> [DMARCReportGroup] {
        let keys = try Self.dmarcKeys(period: period, domain: domain, group: nil)
        return try write { txn throws(StoreError) in
            var groups: [DMARCReportGroup] = []
            try txn.scan(.dmarcReports, prefix: keys.domain) { key, value in
                if key.count == keys.domain.count + Self.dmarcGroupKeyBytes, value.count >= 8 {
                    groups.append(DMARCReportGroup(key: Array(key[keys.domain.count...]), count: Keys.readBE64(value),
                                                   row: Array(value[8...])))
                }
                return true
            }
            try txn.removeDMARCReportDomain(keys)
            return groups
        }
    }

    /// Puts back rows taken for a report that could not go out now (merged with rows
    /// recorded since, within the caps).
    public func restoreDMARCReports(period: UInt64, domain: String, groups: [DMARCReportGroup]) throws(StoreError) {
        let name = domain.lowercased()
        var keyed: [(keys: (period: [UInt8], domain: [UInt8], group: [UInt8]), group: DMARCReportGroup)] = []
        for group in groups { keyed.append((try Self.dmarcKeys(period: period, domain: name, group: group.key), group)) }
        let all = keyed
        try write { txn throws(StoreError) in
            for (keys, group) in all {
                _ = try txn.addDMARCReportGroup(keys, period: period, domain: name, count: group.count, row: group.row,
                                                maxGroups: Self.dmarcMaxGroups, maxDomains: Self.dmarcMaxDomains)
            }
        }
    }

    /// Removes `domain`'s rows of `period`.
    public func removeDMARCReports(period: UInt64, domain: String) throws(StoreError) {
        let keys = try Self.dmarcKeys(period: period, domain: domain, group: nil)
        try write { txn throws(StoreError) in try txn.removeDMARCReportDomain(keys) }
    }

    /// Removes every period that began before `before` (retention); returns the domains removed.
    @discardableResult
    public func purgeDMARCReports(before: UInt64) throws(StoreError) -> Int {
        try write { txn throws(StoreError) in
            var doomed: [[UInt8]] = []
            var domains = 0
            try txn.scan(.dmarcReports) { key, _ in
                guard key.count >= 8, Keys.readBE64(key) < before else { return false }
                if Self.dmarcKeyKind(key) == .summary { domains += 1 }
                doomed.append(Array(key))
                return true
            }
            for key in doomed { _ = try txn.delete(.dmarcReports, key) }
            return domains
        }
    }

    enum DMARCKeyKind { case summary, group }

    /// What a key longer than a period key is: the domain ends at the first NUL after
    /// the period (domains hold none); a summary ends there, a group has 16 bytes more.
    static func dmarcKeyKind(_ key: UnsafeRawBufferPointer) -> DMARCKeyKind? {
        guard key.count > 8, let end = key[8...].firstIndex(of: Keys.separator) else { return nil }
        if end == key.count - 1 { return .summary }
        return end == key.count - 1 - dmarcGroupKeyBytes ? .group : nil
    }

    static func dmarcKeys(period: UInt64, domain: String, group: [UInt8]?) throws(StoreError)
        -> (period: [UInt8], domain: [UInt8], group: [UInt8]) {
        let name = Array(domain.lowercased().utf8)
        guard !name.isEmpty, name.count <= 255, !name.contains(Keys.separator) else {
            throw StoreError(.invalid, "invalid DMARC policy domain '\(domain)'")
        }
        if let group, group.count != dmarcGroupKeyBytes {
            throw StoreError(.invalid, "DMARC group key must be \(dmarcGroupKeyBytes) bytes")
        }
        let periodKey = Keys.be64(period)
        let domainKey = periodKey + name + [Keys.separator]
        return (periodKey, domainKey, domainKey + (group ?? []))
    }
}

extension Txn {
    /// Adds `count` messages to a group (creating it, and the domain's summary, within
    /// the caps); false when a cap dropped them.
    func addDMARCReportGroup(_ keys: (period: [UInt8], domain: [UInt8], group: [UInt8]), period: UInt64, domain: String,
                             count: UInt64, row: [UInt8], maxGroups: Int, maxDomains: Int) throws(StoreError) -> Bool {
        var summary = try get(.dmarcReports, keys.domain).map { bytes throws(StoreError) in
            try DMARCReportDomainSummary(period: period, domain: domain, bytes)
        }
        if summary == nil {
            let domains = try get(.dmarcReports, keys.period).map { Int(Keys.readBE32($0)) } ?? 0
            guard domains < maxDomains else { return false }
            try put(.dmarcReports, keys.period, Keys.be32(UInt32(domains + 1)))
            summary = DMARCReportDomainSummary(period: period, domain: domain, groups: 0, messages: 0, dropped: 0)
        }
        guard var summary else { return false }
        var total = count
        if let existing = try get(.dmarcReports, keys.group), existing.count >= 8 {
            total = Keys.readBE64(existing) &+ count
        } else if summary.groups >= maxGroups {
            summary.dropped &+= count
            try put(.dmarcReports, keys.domain, summary.encoded())
            return false
        } else {
            summary.groups += 1
        }
        summary.messages &+= count
        try put(.dmarcReports, keys.group, Keys.be64(total) + row)
        try put(.dmarcReports, keys.domain, summary.encoded())
        return true
    }

    /// Deletes a domain's summary and groups of one period, and counts the domain out.
    func removeDMARCReportDomain(_ keys: (period: [UInt8], domain: [UInt8], group: [UInt8])) throws(StoreError) {
        let rows = try self.keys(.dmarcReports, prefix: keys.domain)
        for key in rows { _ = try delete(.dmarcReports, key) }
        guard !rows.isEmpty else { return }
        let domains = try get(.dmarcReports, keys.period).map { Int(Keys.readBE32($0)) } ?? 0
        if domains <= 1 {
            _ = try delete(.dmarcReports, keys.period)
        } else {
            try put(.dmarcReports, keys.period, Keys.be32(UInt32(domains - 1)))
        }
    }
}
