// Domains: adding one creates its postmaster@domain account (no password: login disabled)
// with the standard mailboxes; removing one removes its accounts (and their mailboxes,
// messages and blob references), aliases and catch-all in the same transaction.

import Foundation

extension LMDBStore {
    public func addDomain(_ name: String) throws(StoreError) {
        let domain = try Self.normalizeDomain(name)
        try write { txn throws(StoreError) in
            let now = Date().timeIntervalSince1970
            do throws(StoreError) {
                try txn.put(.domains, Array(domain.utf8), DomainRecord(created: now).encoded(), noOverwrite: true)
            } catch where error.kind == .alreadyExists {
                throw StoreError(.alreadyExists, "domain \(domain) already exists")
            }
            let postmaster = "postmaster@\(domain)"
            if try !txn.contains(.accounts, Keys.address(postmaster)) {
                try txn.createAccount(postmaster, AccountRecord(passwordHash: nil, apopSecret: nil,
                                                                quota: Account.defaultQuota, created: now))
            }
        }
    }

    public func removeDomain(_ name: String) throws(StoreError) {
        let domain = try Self.normalizeDomain(name)
        try write { txn throws(StoreError) in
            guard try txn.delete(.domains, Array(domain.utf8)) else {
                throw StoreError(.notFound, "domain \(domain) does not exist")
            }
            let prefix = Keys.domainPrefix(domain)
            for key in try txn.keys(.accounts, prefix: prefix) {
                let address = key.withUnsafeBytes { Keys.addressFromKey($0) }
                try txn.deleteAccount(address)
            }
            for key in try txn.keys(.aliases, prefix: prefix) {
                try txn.delete(.aliases, key)
            }
            try txn.delete(.catchall, Array(domain.utf8))
        }
    }

    public func domains() throws(StoreError) -> [String] {
        try read { txn throws(StoreError) in
            var result: [String] = []
            try txn.scan(.domains) { key, _ in
                result.append(String(decoding: key, as: UTF8.self))
                return true
            }
            return result
        }
    }

    public func domainExists(_ name: String) -> Bool {
        guard let domain = try? Self.normalizeDomain(name) else { return false }
        return (try? read { txn throws(StoreError) in try txn.contains(.domains, Array(domain.utf8)) }) ?? false
    }
}

extension Txn {
    func requireDomain(_ domain: String) throws(StoreError) {
        guard try contains(.domains, Array(domain.utf8)) else {
            throw StoreError(.notFound, "domain \(domain) does not exist (add it first: mailgate domain add \(domain))")
        }
    }
}
