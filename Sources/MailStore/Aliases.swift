// Aliases/forwards (source address -> one or more local or remote targets, key
// "domain\0user") and the per-domain catch-all (domain -> target). Sources must be in
// an existing domain; every address is validated and lower-cased.

extension LMDBStore {
    public func addAlias(_ source: String, targets: [String]) throws(StoreError) {
        let source = try Self.normalizeAddress(source)
        var normalized: [String] = []
        for target in targets {
            let address = try Self.normalizeAddress(target)
            guard address != source else { throw StoreError(.invalid, "alias \(source) cannot point to itself") }
            if !normalized.contains(address) { normalized.append(address) }
        }
        guard !normalized.isEmpty else { throw StoreError(.invalid, "alias \(source) needs at least one target") }
        let record = AliasRecord(targets: normalized)
        try write { txn throws(StoreError) in
            try txn.requireDomain(Self.domain(of: source))
            do throws(StoreError) {
                try txn.put(.aliases, Keys.address(source), record.encoded(), noOverwrite: true)
            } catch where error.kind == .alreadyExists {
                throw StoreError(.alreadyExists, "alias \(source) already exists")
            }
        }
    }

    public func removeAlias(_ source: String) throws(StoreError) {
        let source = try Self.normalizeAddress(source)
        try write { txn throws(StoreError) in
            guard try txn.delete(.aliases, Keys.address(source)) else {
                throw StoreError(.notFound, "no such alias: \(source)")
            }
        }
    }

    public func alias(_ source: String) -> Alias? {
        guard let source = try? Self.normalizeAddress(source) else { return nil }
        return try? read { txn throws(StoreError) in
            try txn.get(.aliases, Keys.address(source)).map { bytes throws(StoreError) in
                Alias(source: source, targets: try AliasRecord(bytes).targets)
            }
        }
    }

    /// All aliases, or those of `domain` (`.notFound` when that domain does not exist).
    public func aliases(domain: String?) throws(StoreError) -> [Alias] {
        let domain = try domain.map { name throws(StoreError) in try Self.normalizeDomain(name) }
        return try read { txn throws(StoreError) in
            if let domain { try txn.requireDomain(domain) }
            var result: [Alias] = []
            try txn.scan(.aliases, prefix: domain.map(Keys.domainPrefix) ?? []) { key, value throws(StoreError) in
                result.append(Alias(source: Keys.addressFromKey(key), targets: try AliasRecord(value).targets))
                return true
            }
            return result
        }
    }

    /// Sets (replacing) the catch-all target of `domain`.
    public func setCatchAll(domain: String, target: String) throws(StoreError) {
        let domain = try Self.normalizeDomain(domain)
        let target = try Self.normalizeAddress(target)
        try write { txn throws(StoreError) in
            try txn.requireDomain(domain)
            try txn.put(.catchall, Array(domain.utf8), Array(target.utf8))
        }
    }

    public func clearCatchAll(domain: String) throws(StoreError) {
        let domain = try Self.normalizeDomain(domain)
        try write { txn throws(StoreError) in
            guard try txn.delete(.catchall, Array(domain.utf8)) else {
                throw StoreError(.notFound, "domain \(domain) has no catch-all")
            }
        }
    }

    public func catchAll(domain: String) -> String? {
        guard let domain = try? Self.normalizeDomain(domain) else { return nil }
        return try? read { txn throws(StoreError) in
            try txn.get(.catchall, Array(domain.utf8)).map { String(decoding: $0, as: UTF8.self) }
        }
    }
}
