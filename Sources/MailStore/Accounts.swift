// Accounts: one record per "user@domain" (key "domain\0user"), created with the standard
// mailboxes (Mailboxes.swift), all subscribed. The postmaster of an existing domain cannot be removed.
// Quota defaults to Account.defaultQuota (25 MiB); usedBytes/messageCount are kept up
// to date by delivery and message removal in the same transaction.

import Foundation
import MailCore

extension LMDBStore {
    public func addAccount(_ address: String, passwordHash: String?, quota: Int64?,
                           apopSecret: String?) throws(StoreError) {
        let address = try Self.normalizeAddress(address)
        let quota = quota ?? Account.defaultQuota
        guard quota > 0 else { throw StoreError(.invalid, "quota must be positive") }
        try write { txn throws(StoreError) in
            try txn.requireDomain(Self.domain(of: address))
            try txn.createAccount(address, AccountRecord(passwordHash: passwordHash, apopSecret: apopSecret,
                                                         quota: quota, created: Date().timeIntervalSince1970))
        }
    }

    public func removeAccount(_ address: String) throws(StoreError) {
        let address = try Self.normalizeAddress(address)
        let (local, domain) = Keys.split(address)
        try write { txn throws(StoreError) in
            if local == "postmaster", try txn.contains(.domains, Array(domain.utf8)) {
                throw StoreError(.refused, "\(address) is required while the domain \(domain) exists (remove the domain instead)")
            }
            guard try txn.contains(.accounts, Keys.address(address)) else {
                throw StoreError(.notFound, "no such account: \(address)")
            }
            try txn.deleteAccount(address)
        }
    }

    public func account(_ address: String) -> Account? {
        guard let address = try? Self.normalizeAddress(address) else { return nil }
        return try? read { txn throws(StoreError) in
            try txn.accountRecord(address)?.account(address: address)
        }
    }

    /// The account of an address already parsed (the hot paths hold one: no second
    /// parse). A quoted local part or routing characters never name an account.
    public func account(_ address: MailAddress) -> Account? {
        guard !address.isDomainLiteral, !address.hasRoutingCharacters else { return nil }
        let key = address.normalized
        return try? read { txn throws(StoreError) in
            try txn.accountRecord(key)?.account(address: key)
        }
    }

    /// Whether `address` is an account, without decoding its record.
    public func accountExists(_ address: MailAddress) -> Bool {
        guard !address.isDomainLiteral, !address.hasRoutingCharacters else { return false }
        let key = Keys.address(address.normalized)
        return (try? read { txn throws(StoreError) in try txn.contains(.accounts, key) }) ?? false
    }

    /// All accounts, or those of `domain` (`.notFound` when that domain does not exist).
    public func accounts(domain: String?) throws(StoreError) -> [Account] {
        let domain = try domain.map { name throws(StoreError) in try Self.normalizeDomain(name) }
        return try read { txn throws(StoreError) in
            if let domain { try txn.requireDomain(domain) }
            var result: [Account] = []
            try txn.scan(.accounts, prefix: domain.map(Keys.domainPrefix) ?? []) { key, value throws(StoreError) in
                result.append(try AccountRecord(value).account(address: Keys.addressFromKey(key)))
                return true
            }
            return result
        }
    }

    /// Sets (or with nil clears, disabling login) the password hash. `apopSecret`: nil leaves
    /// it unchanged, `.some(nil)` clears it, `.some(secret)` sets it.
    public func setPassword(_ address: String, hash: String?, apopSecret: String??) throws(StoreError) {
        let address = try Self.normalizeAddress(address)
        try write { txn throws(StoreError) in
            var record = try txn.requireAccount(address)
            record.passwordHash = hash
            if let apopSecret { record.apopSecret = apopSecret }
            try txn.put(.accounts, Keys.address(address), record.encoded())
        }
    }

    public func setQuota(_ address: String, _ quota: Int64) throws(StoreError) {
        let address = try Self.normalizeAddress(address)
        guard quota > 0 else { throw StoreError(.invalid, "quota must be positive") }
        try write { txn throws(StoreError) in
            var record = try txn.requireAccount(address)
            record.quota = quota
            try txn.put(.accounts, Keys.address(address), record.encoded())
        }
    }
}

extension Txn {
    func accountRecord(_ address: String) throws(StoreError) -> AccountRecord? {
        try get(.accounts, Keys.address(address)).map { bytes throws(StoreError) in try AccountRecord(bytes) }
    }

    func requireAccount(_ address: String) throws(StoreError) -> AccountRecord {
        guard let record = try accountRecord(address) else {
            throw StoreError(.notFound, "no such account: \(address)")
        }
        return record
    }

    /// Creates the account and its standard mailboxes; `.alreadyExists` if present.
    func createAccount(_ address: String, _ record: AccountRecord) throws(StoreError) {
        do throws(StoreError) {
            try put(.accounts, Keys.address(address), record.encoded(), noOverwrite: true)
        } catch where error.kind == .alreadyExists {
            throw StoreError(.alreadyExists, "account \(address) already exists")
        }
        for (name, specialUse) in Mailboxes.standard {
            _ = try createMailbox(account: address, name: name, specialUse: specialUse)
            try setSubscribed(account: address, name: name, true)
        }
    }

    /// Deletes the account, its mailboxes and messages (releasing their blobs), and its
    /// subscriptions.
    func deleteAccount(_ address: String) throws(StoreError) {
        try deleteSubscriptions(account: address)
        for key in try keys(.mailboxNames, prefix: Keys.mailboxNamePrefix(account: address)) {
            if let idBytes = try get(.mailboxNames, key), idBytes.count == 8 {
                try deleteMailboxContents(Keys.readBE64(idBytes))
            }
            try delete(.mailboxNames, key)
        }
        try delete(.accounts, Keys.address(address))
    }
}
