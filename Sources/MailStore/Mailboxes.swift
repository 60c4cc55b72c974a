// Mailboxes and messages (IMAP-ready). A mailbox has a global id, a UIDVALIDITY unique
// per mailbox (creation time, forced strictly increasing), UIDNEXT starting at 1 and
// never reused (removal does not lower it), a HIGHESTMODSEQ bumped by every change, and
// message/size totals. Messages are keyed mailboxID(8 BE) + uid(4 BE). Mailbox names are
// case-sensitive except INBOX. Removing messages releases their blob references and
// updates the mailbox and account totals in the same transaction.

import Foundation

enum Mailboxes {
    /// Created with every account, in this order.
    static let standard: [(name: String, specialUse: String?)] = [
        ("INBOX", nil), ("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
        ("Junk", "\\Junk"), ("Archive", "\\Archive"),
    ]

    /// INBOX is case-insensitive (RFC 3501 §5.1); other names are kept as given.
    static func canonicalName(_ name: String) -> String {
        name.uppercased() == "INBOX" ? "INBOX" : name
    }
}

extension LMDBStore {
    /// The account's mailboxes in creation order (INBOX first).
    public func mailboxes(account: String) throws(StoreError) -> [MailboxInfo] {
        let address = try Self.normalizeAddress(account)
        return try read { txn throws(StoreError) in
            _ = try txn.requireAccount(address)
            var ids: [UInt64] = []
            try txn.scan(.mailboxNames, prefix: Keys.mailboxNamePrefix(account: address)) { _, value in
                if value.count == 8 { ids.append(Keys.readBE64(value)) }
                return true
            }
            var result: [MailboxInfo] = []
            for id in ids.sorted() {
                if let record = try txn.mailboxRecord(id) { result.append(record.info(id: id)) }
            }
            return result
        }
    }

    public func mailbox(account: String, name: String) -> MailboxInfo? {
        guard let address = try? Self.normalizeAddress(account) else { return nil }
        return try? read { txn throws(StoreError) in
            guard let id = try txn.mailboxID(account: address, name: name) else { return nil }
            return try txn.mailboxRecord(id)?.info(id: id)
        }
    }

    public func mailbox(id: UInt64) -> MailboxInfo? {
        try? read { txn throws(StoreError) in try txn.mailboxRecord(id)?.info(id: id) }
    }

    /// Creates a mailbox for `account` (IMAP CREATE); `.alreadyExists` if the name is taken.
    @discardableResult
    public func createMailbox(account: String, name: String, specialUse: String? = nil) throws(StoreError) -> MailboxInfo {
        let address = try Self.normalizeAddress(account)
        let name = Mailboxes.canonicalName(name)
        guard !name.isEmpty, name.utf8.count <= 200, !name.utf8.contains(0) else {
            throw StoreError(.invalid, "invalid mailbox name '\(name)'")
        }
        return try write { txn throws(StoreError) in
            _ = try txn.requireAccount(address)
            let id = try txn.createMailbox(account: address, name: name, specialUse: specialUse)
            guard let record = try txn.mailboxRecord(id) else { throw StoreError(.io, "mailbox vanished") }
            return record.info(id: id)
        }
    }

    /// The messages of a mailbox in UID order.
    public func messages(mailboxID: UInt64) throws(StoreError) -> [MessageInfo] {
        try read { txn throws(StoreError) in
            guard try txn.mailboxRecord(mailboxID) != nil else {
                throw StoreError(.notFound, "no such mailbox: \(mailboxID)")
            }
            var result: [MessageInfo] = []
            try txn.scan(.messages, prefix: Keys.id(mailboxID)) { key, value throws(StoreError) in
                guard key.count == 12 else { return true }
                result.append(try MessageRecord(value).info(mailboxID: mailboxID, uid: Keys.readBE32(key, at: 8)))
                return true
            }
            return result
        }
    }

    public func message(mailboxID: UInt64, uid: UInt32) -> MessageInfo? {
        try? read { txn throws(StoreError) in
            try txn.get(.messages, Keys.message(mailboxID, uid)).map { bytes throws(StoreError) in
                try MessageRecord(bytes).info(mailboxID: mailboxID, uid: uid)
            }
        }
    }

    /// The raw bytes of a stored message (copied out of the map).
    public func messageBytes(blobID: UInt64) throws(StoreError) -> [UInt8] {
        try read { txn throws(StoreError) in
            guard let bytes = try txn.get(.blobs, Keys.id(blobID)) else {
                throw StoreError(.notFound, "no such message blob: \(blobID)")
            }
            return Array(bytes)
        }
    }

    /// Removes messages (POP3 DELE+QUIT, IMAP EXPUNGE); returns how many existed. Their UIDs
    /// are never reused.
    @discardableResult
    public func removeMessages(mailboxID: UInt64, uids: [UInt32]) throws(StoreError) -> Int {
        try write { txn throws(StoreError) in
            guard var mailbox = try txn.mailboxRecord(mailboxID) else {
                throw StoreError(.notFound, "no such mailbox: \(mailboxID)")
            }
            var removed: Int64 = 0
            var bytes: Int64 = 0
            for uid in Set(uids) {
                let key = Keys.message(mailboxID, uid)
                guard let value = try txn.get(.messages, key) else { continue }
                let record = try MessageRecord(value)
                try txn.delete(.messages, key)
                try txn.releaseBlob(record.blobID)
                removed += 1
                bytes += record.size
            }
            guard removed > 0 else { return 0 }
            mailbox.messageCount -= removed
            mailbox.totalSize -= bytes
            mailbox.highestModSeq += 1
            try txn.put(.mailboxes, Keys.id(mailboxID), mailbox.encoded())
            if var account = try txn.accountRecord(mailbox.account) {
                account.messageCount = max(0, account.messageCount - removed)
                account.usedBytes = max(0, account.usedBytes - bytes)
                try txn.put(.accounts, Keys.address(mailbox.account), account.encoded())
            }
            return Int(removed)
        }
    }

    /// Replaces a message's flags; returns its new modification sequence.
    @discardableResult
    public func setFlags(mailboxID: UInt64, uid: UInt32, flags: [String]) throws(StoreError) -> UInt64 {
        try write { txn throws(StoreError) in
            guard var mailbox = try txn.mailboxRecord(mailboxID) else {
                throw StoreError(.notFound, "no such mailbox: \(mailboxID)")
            }
            let key = Keys.message(mailboxID, uid)
            guard let value = try txn.get(.messages, key) else {
                throw StoreError(.notFound, "no message with UID \(uid) in mailbox \(mailboxID)")
            }
            var record = try MessageRecord(value)
            mailbox.highestModSeq += 1
            record.flags = flags
            record.modSeq = mailbox.highestModSeq
            try txn.put(.messages, key, record.encoded())
            try txn.put(.mailboxes, Keys.id(mailboxID), mailbox.encoded())
            return record.modSeq
        }
    }
}

extension Txn {
    func mailboxRecord(_ id: UInt64) throws(StoreError) -> MailboxRecord? {
        try get(.mailboxes, Keys.id(id)).map { bytes throws(StoreError) in try MailboxRecord(bytes) }
    }

    func mailboxID(account: String, name: String) throws(StoreError) -> UInt64? {
        guard let bytes = try get(.mailboxNames, Keys.mailboxName(account: account, name: Mailboxes.canonicalName(name))),
              bytes.count == 8 else { return nil }
        return Keys.readBE64(bytes)
    }

    /// Creates a mailbox with a fresh id and a UIDVALIDITY unique to it.
    func createMailbox(account: String, name: String, specialUse: String?) throws(StoreError) -> UInt64 {
        let nameKey = Keys.mailboxName(account: account, name: name)
        guard try !contains(.mailboxNames, nameKey) else {
            throw StoreError(.alreadyExists, "mailbox \(name) already exists for \(account)")
        }
        let id = try nextSequence("mailbox")
        let uidValidity = try nextUIDValidity()
        let record = MailboxRecord(account: account, name: name, uidValidity: uidValidity, specialUse: specialUse)
        try put(.mailboxes, Keys.id(id), record.encoded())
        try put(.mailboxNames, nameKey, Keys.id(id))
        return id
    }

    /// Current time as UInt32, but always greater than the last one handed out.
    private func nextUIDValidity() throws(StoreError) -> UInt32 {
        let key = Array("uidvalidity.last".utf8)
        let last = try get(.meta, key).map { Keys.readBE32($0) } ?? 0
        let now = UInt32(clamping: Int64(Date().timeIntervalSince1970))
        let next = max(now, last &+ 1)
        try put(.meta, key, Keys.be32(next))
        return next
    }

    /// Deletes a mailbox record and all its messages, releasing their blobs.
    func deleteMailboxContents(_ id: UInt64) throws(StoreError) {
        var blobs: [UInt64] = []
        let keys = try keys(.messages, prefix: Keys.id(id))
        for key in keys {
            if let value = try get(.messages, key) { blobs.append(try MessageRecord(value).blobID) }
            try delete(.messages, key)
        }
        for blob in blobs { try releaseBlob(blob) }
        try delete(.mailboxes, Keys.id(id))
    }
}
