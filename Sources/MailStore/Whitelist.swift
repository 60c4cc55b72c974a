// The open-SMTP IP whitelist: ip (as given; the caller normalizes) -> expiry and the user
// whose POP3/IMAP login put it there. An expired entry no longer counts even before it
// is purged; adding an ip again replaces its entry.

extension LMDBStore {
    public func whitelistAdd(ip: String, user: String?, expires: Double) throws(StoreError) {
        let key = try Self.whitelistKey(ip)
        let record = WhitelistRecord(expires: expires, user: user)
        try write { txn throws(StoreError) in
            try txn.put(.whitelist, key, record.encoded())
        }
    }

    public func whitelistRemove(ip: String) throws(StoreError) {
        let key = try Self.whitelistKey(ip)
        try write { txn throws(StoreError) in
            guard try txn.delete(.whitelist, key) else {
                throw StoreError(.notFound, "\(ip) is not on the whitelist")
            }
        }
    }

    /// The same, without blocking: `completion` runs on the writer thread after the commit.
    public func whitelistAdd(ip: String, user: String?, expires: Double,
                             completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        let key: [UInt8]
        do throws(StoreError) { key = try Self.whitelistKey(ip) } catch { return completion(.failure(error)) }
        let record = WhitelistRecord(expires: expires, user: user).encoded()
        submit({ txn throws(StoreError) in try txn.put(.whitelist, key, record) }, completion: completion)
    }

    /// Removes `ip` without blocking (absent is not an error here).
    public func whitelistRemove(ip: String, completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        let key: [UInt8]
        do throws(StoreError) { key = try Self.whitelistKey(ip) } catch { return completion(.failure(error)) }
        submit({ txn throws(StoreError) in _ = try txn.delete(.whitelist, key) }, completion: completion)
    }

    public func whitelistContains(ip: String, now: Double) -> Bool {
        guard let key = try? Self.whitelistKey(ip) else { return false }
        let expires = try? read { txn throws(StoreError) in
            try txn.get(.whitelist, key).map { bytes throws(StoreError) in try WhitelistRecord(bytes).expires }
        }
        guard let expires else { return false }
        return expires > now
    }

    /// The unexpired entry for `ip` (the user whose login put it there), or nil.
    public func whitelistEntry(ip: String, now: Double) -> WhitelistEntry? {
        guard let key = try? Self.whitelistKey(ip) else { return nil }
        let record = try? read { txn throws(StoreError) in
            try txn.get(.whitelist, key).map { bytes throws(StoreError) in try WhitelistRecord(bytes) }
        }
        guard let record = record ?? nil, record.expires > now else { return nil }
        return WhitelistEntry(ip: ip, user: record.user, expires: record.expires)
    }

    /// The unexpired entries, in key order.
    public func whitelist(now: Double) throws(StoreError) -> [WhitelistEntry] {
        try read { txn throws(StoreError) in
            var result: [WhitelistEntry] = []
            try txn.scan(.whitelist) { key, value throws(StoreError) in
                let record = try WhitelistRecord(value)
                if record.expires > now {
                    result.append(WhitelistEntry(ip: String(decoding: key, as: UTF8.self), user: record.user,
                                                 expires: record.expires))
                }
                return true
            }
            return result
        }
    }

    /// Deletes expired entries; returns how many.
    public func purgeExpiredWhitelist(now: Double) throws(StoreError) -> Int {
        try write { txn throws(StoreError) in
            var expired: [[UInt8]] = []
            try txn.scan(.whitelist) { key, value throws(StoreError) in
                if try WhitelistRecord(value).expires <= now { expired.append(Array(key)) }
                return true
            }
            for key in expired { try txn.delete(.whitelist, key) }
            return expired.count
        }
    }

    static func whitelistKey(_ ip: String) throws(StoreError) -> [UInt8] {
        let key = Array(ip.utf8)
        guard !key.isEmpty, key.count <= 100, !key.contains(0) else {
            throw StoreError(.invalid, "invalid IP address '\(ip)'")
        }
        return key
    }
}
