// Mailboxes and messages (IMAP-ready). A mailbox has a global id, a UIDVALIDITY unique
// per mailbox (creation time, forced strictly increasing), UIDNEXT starting at 1 and
// never reused (removal does not lower it), a HIGHESTMODSEQ bumped by every change, and
// message/size/unseen/deleted totals. Messages are keyed mailboxID(8 BE) + uid(4 BE).
// Names follow MailboxNames.swift. Row-level invariants (modseq index, tombstones,
// counts) live in MessageRows.swift; management (rename, delete, subscriptions) in
// MailboxManagement.swift and Subscriptions.swift.

import Foundation

enum Mailboxes {
    /// Created with every account, in this order.
    static let standard: [(name: String, specialUse: String?)] = [
        ("INBOX", nil), ("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
        ("Junk", "\\Junk"), ("Archive", "\\Archive"),
    ]

    /// INBOX is case-insensitive (RFC 3501 §5.1); other names are kept as given.
    static func canonicalName(_ name: String) -> String {
        MailboxNames.canonical(name)
    }

    /// The special-use attributes a mailbox may carry (RFC 6154, without the virtual
    /// \All and \Flagged, which mailgate cannot provide).
    static let specialUses = ["\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"]

    static func validatedSpecialUse(_ use: String?) throws(StoreError) -> String? {
        guard let use else { return nil }
        guard let known = specialUses.first(where: { MessageFlags.same($0, use) }) else {
            throw StoreError(.invalid, "unsupported special-use attribute \(use)")
        }
        return known
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

    /// Creates a mailbox for `account` (IMAP CREATE). One trailing "/" is ignored (RFC 3501
    /// §6.3.3); no parents are created. `.alreadyExists` if the name is taken, `.invalid`
    /// for a bad name or special-use attribute, `.refused` past maxMailboxesPerAccount.
    @discardableResult
    public func createMailbox(account: String, name: String, specialUse: String? = nil) throws(StoreError) -> MailboxInfo {
        let address = try Self.normalizeAddress(account)
        let trimmed = name.utf8.count > 1 && name.utf8.last == UInt8(ascii: "/") ? String(name.dropLast()) : name
        let name = try MailboxNames.validated(trimmed)
        let specialUse = try Mailboxes.validatedSpecialUse(specialUse)
        return try write { txn throws(StoreError) in
            _ = try txn.requireAccount(address)
            guard try txn.mailboxCount(account: address) < StoreLimits.maxMailboxesPerAccount else {
                throw StoreError(.refused, "too many mailboxes (at most \(StoreLimits.maxMailboxesPerAccount))")
            }
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

    /// Removes messages (POP3 DELE+QUIT, IMAP EXPUNGE regardless of \\Deleted); returns
    /// how many existed. Their UIDs are never reused; each leaves a tombstone for QRESYNC.
    @discardableResult
    public func removeMessages(mailboxID: UInt64, uids: [UInt32]) throws(StoreError) -> Int {
        try Self.checkUIDCount(uids)
        return try write { txn throws(StoreError) in
            try txn.removeMessages(mailboxID, uids: Set(uids).sorted(), onlyDeleted: false).count
        }
    }

    /// Replaces a message's flags; returns its modification sequence (unchanged when the
    /// flags were already these). `.invalid` for flags that cannot be stored.
    @discardableResult
    public func setFlags(mailboxID: UInt64, uid: UInt32, flags: [String]) throws(StoreError) -> UInt64 {
        let flags = try MessageFlags.normalized(flags)
        return try write { txn throws(StoreError) in
            guard var mailbox = try txn.mailboxRecord(mailboxID) else {
                throw StoreError(.notFound, "no such mailbox: \(mailboxID)")
            }
            guard let value = try txn.get(.messages, Keys.message(mailboxID, uid)) else {
                throw StoreError(.notFound, "no message with UID \(uid) in mailbox \(mailboxID)")
            }
            var record = try MessageRecord(value)
            if MessageFlags.equalSets(record.flags, flags) { return record.modSeq }
            mailbox.highestModSeq += 1
            try txn.updateFlags(mailboxID, &mailbox, uid: uid, &record, flags: flags, modSeq: mailbox.highestModSeq)
            try txn.saveMailbox(mailboxID, mailbox)
            return record.modSeq
        }
    }

    static func checkUIDCount(_ uids: [UInt32]) throws(StoreError) {
        guard uids.count <= StoreLimits.maxUIDsPerCall else {
            throw StoreError(.invalid, "too many UIDs in one call (at most \(StoreLimits.maxUIDsPerCall))")
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

    func mailboxCount(account: String) throws(StoreError) -> Int {
        var count = 0
        try scan(.mailboxNames, prefix: Keys.mailboxNamePrefix(account: account)) { _, _ in
            count += 1
            return true
        }
        return count
    }

    /// Removes `uids` (ascending, distinct) that exist — with `onlyDeleted`, only those
    /// flagged \\Deleted — at one new modseq; updates mailbox and account totals, prunes
    /// tombstones. Returns the UIDs removed.
    func removeMessages(_ mailboxID: UInt64, uids: [UInt32], onlyDeleted: Bool) throws(StoreError) -> [UInt32] {
        guard var mailbox = try mailboxRecord(mailboxID) else {
            throw StoreError(.notFound, "no such mailbox: \(mailboxID)")
        }
        var removed: [UInt32] = []
        var bytes: Int64 = 0
        let modSeq = mailbox.highestModSeq + 1
        for uid in uids {
            guard let value = try get(.messages, Keys.message(mailboxID, uid)) else { continue }
            let record = try MessageRecord(value)
            if onlyDeleted && !MessageFlags.contains(record.flags, MessageFlags.deleted) { continue }
            try removeMessage(mailboxID, &mailbox, uid: uid, record, expungeModSeq: modSeq)
            removed.append(uid)
            bytes += record.size
        }
        guard !removed.isEmpty else { return [] }
        mailbox.highestModSeq = modSeq
        try pruneTombstones(mailboxID, &mailbox)
        try saveMailbox(mailboxID, mailbox)
        try adjustAccountUsage(mailbox.account, bytes: -bytes, messages: -Int64(removed.count))
        return removed
    }

    /// Deletes a mailbox record, its messages (releasing their blobs), its modseq index
    /// and tombstones. Returns the bytes and messages freed (the caller adjusts the
    /// account, unless it is deleting the account). The name row is the caller's.
    @discardableResult
    func deleteMailboxContents(_ id: UInt64) throws(StoreError) -> (bytes: Int64, messages: Int64) {
        var blobs: [UInt64] = []
        var bytes: Int64 = 0
        let keys = try keys(.messages, prefix: Keys.id(id))
        for key in keys {
            if let value = try get(.messages, key) {
                let record = try MessageRecord(value)
                blobs.append(record.blobID)
                bytes += record.size
            }
            try delete(.messages, key)
        }
        for blob in blobs { try releaseBlob(blob) }
        for key in try self.keys(.modSeqIndex, prefix: Keys.id(id)) { try delete(.modSeqIndex, key) }
        for key in try self.keys(.expunged, prefix: Keys.id(id)) { try delete(.expunged, key) }
        try delete(.mailboxes, Keys.id(id))
        noteMailboxChanged(id)
        return (bytes, Int64(keys.count))
    }
}
