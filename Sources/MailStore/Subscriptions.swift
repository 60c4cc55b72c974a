// IMAP subscriptions (SUBSCRIBE / UNSUBSCRIBE / LSUB / LIST (SUBSCRIBED)): a set of
// names per account, independent of which mailboxes exist (RFC 3501 §6.3.6: a
// subscription outlives its mailbox). New accounts are subscribed to their standard
// mailboxes; a rename moves the subscriptions of the renamed names along (as Dovecot
// does, so clients do not lose folders); a delete keeps them (RFC 9051 §6.3.9).

extension LMDBStore {
    /// Subscribes `account` to `name` (which need not exist). Idempotent. `.invalid` for a
    /// bad name, `.notFound` for an unknown account, `.refused` past
    /// StoreLimits.maxMailboxesPerAccount subscriptions.
    public func subscribe(account: String, name: String) throws(StoreError) {
        let address = try Self.normalizeAddress(account)
        let name = try MailboxNames.validated(name)
        try write { txn throws(StoreError) in
            _ = try txn.requireAccount(address)
            let key = Keys.mailboxName(account: address, name: name)
            guard try !txn.contains(.subscriptions, key) else { return }
            var count = 0
            try txn.scan(.subscriptions, prefix: Keys.mailboxNamePrefix(account: address)) { _, _ in
                count += 1
                return true
            }
            guard count < StoreLimits.maxMailboxesPerAccount else {
                throw StoreError(.refused, "too many subscriptions (at most \(StoreLimits.maxMailboxesPerAccount))")
            }
            try txn.put(.subscriptions, key, [1])
        }
    }

    /// Removes the subscription; returns whether there was one.
    @discardableResult
    public func unsubscribe(account: String, name: String) throws(StoreError) -> Bool {
        let address = try Self.normalizeAddress(account)
        let name = MailboxNames.canonical(name)
        guard !name.isEmpty, name.utf8.count <= StoreLimits.maxMailboxNameBytes else { return false }
        return try write { txn throws(StoreError) in
            _ = try txn.requireAccount(address)
            return try txn.delete(.subscriptions, Keys.mailboxName(account: address, name: name))
        }
    }

    /// The subscribed names, in byte order.
    public func subscriptions(account: String) throws(StoreError) -> [String] {
        let address = try Self.normalizeAddress(account)
        return try read { txn throws(StoreError) in
            _ = try txn.requireAccount(address)
            return try txn.subscriptions(account: address)
        }
    }
}

extension Txn {
    func setSubscribed(account: String, name: String, _ subscribed: Bool) throws(StoreError) {
        let key = Keys.mailboxName(account: account, name: name)
        if subscribed { try put(.subscriptions, key, [1]) } else { try delete(.subscriptions, key) }
    }

    func subscriptions(account: String) throws(StoreError) -> [String] {
        let prefix = Keys.mailboxNamePrefix(account: account)
        var names: [String] = []
        try scan(.subscriptions, prefix: prefix) { key, _ in
            names.append(String(decoding: UnsafeRawBufferPointer(rebasing: key[prefix.count...]), as: UTF8.self))
            return true
        }
        return names
    }

    func deleteSubscriptions(account: String) throws(StoreError) {
        for key in try keys(.subscriptions, prefix: Keys.mailboxNamePrefix(account: account)) {
            try delete(.subscriptions, key)
        }
    }
}
