// DKIM signing keys: per domain, one or more selectors, each with its algorithm
// ("rsa-sha256" / "ed25519-sha256", as MailAuth names them), the private key PEM and
// when it was made. The store does not parse keys (MailStore knows no crypto); it
// keeps them and bumps a generation number on every change, so a server can cache
// parsed keys and notice a CLI's change with one cheap read. Private keys are secrets:
// nothing here logs or prints them.
import MailCore

public struct DKIMKeyEntry: Sendable, Equatable {
    public var domain: String
    public var selector: String
    public var algorithm: String
    public var privateKeyPEM: String
    public var created: Double

    public init(domain: String, selector: String, algorithm: String, privateKeyPEM: String, created: Double) {
        self.domain = domain
        self.selector = selector
        self.algorithm = algorithm
        self.privateKeyPEM = privateKeyPEM
        self.created = created
    }
}

struct DKIMKeyRow {
    var algorithm: String
    var privateKeyPEM: String
    var created: Double

    init(algorithm: String, privateKeyPEM: String, created: Double) {
        self.algorithm = algorithm
        self.privateKeyPEM = privateKeyPEM
        self.created = created
    }

    init(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var r = try ByteReader(bytes, record: "dkim key")
        algorithm = try r.string()
        privateKeyPEM = try r.string()
        created = try r.f64()
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.string(algorithm)
        w.string(privateKeyPEM)
        w.f64(created)
        return w.bytes
    }
}

extension LMDBStore {
    static let dkimGenerationKey = Array("dkim_generation".utf8)

    /// Adds a key; refuses a selector the domain already has (remove it first).
    public func dkimKeyAdd(_ entry: DKIMKeyEntry) throws(StoreError) {
        let domain = try Self.normalizeDomain(entry.domain)
        let key = try Self.dkimKey(domain: domain, selector: entry.selector)
        let row = DKIMKeyRow(algorithm: entry.algorithm, privateKeyPEM: entry.privateKeyPEM, created: entry.created).encoded()
        try write { txn throws(StoreError) in
            if try txn.get(.dkimKeys, key) != nil {
                throw StoreError(.alreadyExists, "\(domain) already has a DKIM key with selector \(entry.selector.lowercased())")
            }
            try txn.put(.dkimKeys, key, row)
            try Self.bumpDKIMGeneration(txn)
        }
    }

    /// Removes one selector's key.
    public func dkimKeyRemove(domain: String, selector: String) throws(StoreError) {
        let domain = try Self.normalizeDomain(domain)
        let key = try Self.dkimKey(domain: domain, selector: selector)
        try write { txn throws(StoreError) in
            guard try txn.delete(.dkimKeys, key) else {
                throw StoreError(.notFound, "\(domain) has no DKIM key with selector \(selector.lowercased())")
            }
            try Self.bumpDKIMGeneration(txn)
        }
    }

    /// Removes every key of `domain`; returns how many.
    @discardableResult
    public func dkimKeysRemoveAll(domain: String) throws(StoreError) -> Int {
        let domain = try Self.normalizeDomain(domain)
        let prefix = Keys.domainPrefix(domain)
        return try write { txn throws(StoreError) in
            var keys: [[UInt8]] = []
            try txn.scan(.dkimKeys, prefix: prefix) { key, _ in keys.append(Array(key)); return true }
            for key in keys { try txn.delete(.dkimKeys, key) }
            if !keys.isEmpty { try Self.bumpDKIMGeneration(txn) }
            return keys.count
        }
    }

    /// The keys of `domain` (all domains when nil), by domain then selector.
    public func dkimKeys(domain: String? = nil) throws(StoreError) -> [DKIMKeyEntry] {
        let prefix: [UInt8]
        if let domain { prefix = Keys.domainPrefix(try Self.normalizeDomain(domain)) } else { prefix = [] }
        return try read { txn throws(StoreError) in
            var result: [DKIMKeyEntry] = []
            try txn.scan(.dkimKeys, prefix: prefix) { key, value throws(StoreError) in
                guard let separator = key.firstIndex(of: Keys.separator) else { return true }
                let row = try DKIMKeyRow(value)
                result.append(DKIMKeyEntry(domain: String(decoding: key[..<separator], as: UTF8.self),
                                           selector: String(decoding: key[(separator + 1)...], as: UTF8.self),
                                           algorithm: row.algorithm, privateKeyPEM: row.privateKeyPEM, created: row.created))
                return true
            }
            return result
        }
    }

    /// Changes with every key added or removed (by any process on this store).
    public func dkimKeysGeneration() -> UInt64 {
        (try? read { txn throws(StoreError) in
            try txn.get(.meta, Self.dkimGenerationKey).map { $0.count == 8 ? Keys.readBE64($0) : 0 } ?? 0
        }) ?? 0
    }

    static func bumpDKIMGeneration(_ txn: Txn) throws(StoreError) {
        let current = try txn.get(.meta, dkimGenerationKey).map { $0.count == 8 ? Keys.readBE64($0) : 0 } ?? 0
        try txn.put(.meta, dkimGenerationKey, Keys.be64(current &+ 1))
    }

    /// "domain\0selector"; a selector is DNS labels (letters, digits, "-", "_", dots).
    static func dkimKey(domain: String, selector: String) throws(StoreError) -> [UInt8] {
        let selector = selector.lowercased()
        let labels = selector.split(separator: ".", omittingEmptySubsequences: false)
        guard !selector.isEmpty, selector.utf8.count <= 63 * 2,
              labels.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63
                  && $0.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 || $0 == 95 } }) else {
            throw StoreError(.invalid, "invalid DKIM selector '\(selector)' (letters, digits, '-' and '_' labels)")
        }
        return Keys.domainPrefix(domain) + Array(selector.utf8)
    }
}
