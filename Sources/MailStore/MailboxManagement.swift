// Mailbox management for IMAP: DELETE, RENAME, the standard special-use folders for
// accounts created before they existed, and STATUS/QUOTA reads.
//  - DELETE (RFC 3501 §6.3.4): INBOX is refused; the mailbox's messages go (blobs
//    released, account usage lowered) and so does its name. Children are NOT touched:
//    mailgate keeps no placeholder records, so "a" with a child "a/b" simply stops
//    existing and LIST shows it as a parent without a mailbox (\Noselect /
//    \NonExistent) — exactly the RFC 9051 outcome "messages removed, name becomes
//    \Noselect". Deleting a name that exists only as such a parent is `.notFound`
//    (RFC 3501: deleting a \Noselect name with children is an error).
//  - RENAME (RFC 3501 §6.3.5): the mailbox and every child keep their ids and
//    UIDVALIDITY (sessions that selected them keep working), subscriptions follow. A
//    name existing only as a parent of others can be renamed (its children move). No
//    target name may exist. Renaming INBOX creates the new mailbox, moves every INBOX
//    message into it (new UIDs, ascending, same order), leaves INBOX empty (tombstones
//    recorded) and leaves INBOX's children alone.

extension LMDBStore {
    /// Deletes a mailbox (see above). `.refused` for INBOX, `.notFound`, `.invalid`.
    public func deleteMailbox(account: String, name: String) throws(StoreError) {
        let address = try Self.normalizeAddress(account)
        let name = try MailboxNames.validated(name)
        guard !MailboxNames.isInbox(name) else { throw StoreError(.refused, "INBOX cannot be deleted") }
        try write { txn throws(StoreError) in
            _ = try txn.requireAccount(address)
            guard let id = try txn.mailboxID(account: address, name: name) else {
                throw StoreError(.notFound, "no such mailbox: \(name)")
            }
            let freed = try txn.deleteMailboxContents(id)
            try txn.delete(.mailboxNames, Keys.mailboxName(account: address, name: name))
            try txn.adjustAccountUsage(address, bytes: -freed.bytes, messages: -freed.messages)
        }
    }

    /// Renames a mailbox and its children (see above). `.notFound` (no such name and no
    /// children), `.alreadyExists` (a target name exists, or the target is INBOX),
    /// `.invalid` (bad name, a target name too long/deep, or renaming into itself).
    public func renameMailbox(account: String, from: String, to: String) throws(StoreError) {
        let address = try Self.normalizeAddress(account)
        let source = try MailboxNames.validated(from)
        let target = try MailboxNames.validated(to)
        guard !MailboxNames.isInbox(target) else { throw StoreError(.alreadyExists, "INBOX already exists") }
        guard !MailboxNames.isSelfOrDescendant(target, of: source) else {
            throw StoreError(MailboxNames.same(source, target) ? .alreadyExists : .invalid,
                             "cannot rename \(source) to \(target)")
        }
        try write { txn throws(StoreError) in
            _ = try txn.requireAccount(address)
            if MailboxNames.isInbox(source) {
                try txn.renameInbox(account: address, to: target)
            } else {
                try txn.renameHierarchy(account: address, from: source, to: target)
            }
        }
    }

    /// Gives an account that predates them the standard mailboxes (INBOX, Sent, Drafts,
    /// Trash, Junk, Archive; subscribed). A special use already carried by some mailbox
    /// is not created again; an existing mailbox with the standard name and no special
    /// use receives it. Only reads when nothing is missing (cheap to call at every login).
    /// Returns the names created.
    @discardableResult
    public func ensureDefaultMailboxes(account: String) throws(StoreError) -> [String] {
        let address = try Self.normalizeAddress(account)
        let complete = try read { txn throws(StoreError) in
            _ = try txn.requireAccount(address)
            return try txn.missingStandardMailboxes(account: address).isEmpty
        }
        if complete { return [] }
        return try write { txn throws(StoreError) in
            var created: [String] = []
            for (name, specialUse) in try txn.missingStandardMailboxes(account: address) {
                if let id = try txn.mailboxID(account: address, name: name), var record = try txn.mailboxRecord(id) {
                    record.specialUse = specialUse
                    try txn.saveMailbox(id, record)
                } else {
                    _ = try txn.createMailbox(account: address, name: name, specialUse: specialUse)
                    try txn.setSubscribed(account: address, name: name, true)
                    created.append(name)
                }
            }
            return created
        }
    }

    /// STATUS: the mailbox with its counts (MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN,
    /// DELETED, SIZE, HIGHESTMODSEQ; RECENT is always 0). `.notFound`.
    public func mailboxStatus(account: String, name: String) throws(StoreError) -> MailboxInfo {
        let address = try Self.normalizeAddress(account)
        let name = MailboxNames.canonical(name)
        return try read { txn throws(StoreError) in
            guard let id = try txn.mailboxID(account: address, name: name), let record = try txn.mailboxRecord(id) else {
                throw StoreError(.notFound, "no such mailbox: \(name)")
            }
            return record.info(id: id)
        }
    }

    /// QUOTA / GETQUOTAROOT: the account's usage and limit. `.notFound`.
    public func quota(account: String) throws(StoreError) -> AccountQuota {
        let address = try Self.normalizeAddress(account)
        return try read { txn throws(StoreError) in
            let record = try txn.requireAccount(address)
            return AccountQuota(usedBytes: record.usedBytes, limitBytes: record.quota,
                                messageCount: Int(record.messageCount))
        }
    }
}

extension Txn {
    /// Standard mailboxes still to create (or, when the name exists without a special
    /// use, to mark), in standard order.
    func missingStandardMailboxes(account: String) throws(StoreError) -> [(name: String, specialUse: String?)] {
        var ids: [UInt64] = []
        var uses: Set<String> = []
        try scan(.mailboxNames, prefix: Keys.mailboxNamePrefix(account: account)) { _, value in
            if value.count == 8 { ids.append(Keys.readBE64(value)) }
            return true
        }
        var byName: [String: String?] = [:]
        for id in ids {
            guard let record = try mailboxRecord(id) else { continue }
            byName[record.name] = record.specialUse
            if let use = record.specialUse { uses.insert(use) }
        }
        return Mailboxes.standard.filter { name, use in
            guard let existing = byName[name] else { return use.map { !uses.contains($0) } ?? true }
            guard let use else { return false }
            return existing == nil && !uses.contains(use)
        }
    }

    /// Moves `source` and every "source/…" name to `target`…, keeping ids.
    func renameHierarchy(account: String, from source: String, to target: String) throws(StoreError) {
        var moves: [(old: String, new: String, id: UInt64)] = []
        if let id = try mailboxID(account: account, name: source) { moves.append((source, target, id)) }
        let prefix = Keys.mailboxNamePrefix(account: account)
        try scan(.mailboxNames, prefix: Keys.mailboxName(account: account, name: MailboxNames.childPrefix(source))) { key, value in
            guard value.count == 8 else { return true }
            let old = String(decoding: UnsafeRawBufferPointer(rebasing: key[prefix.count...]), as: UTF8.self)
            let suffix = String(decoding: old.utf8.dropFirst(source.utf8.count), as: UTF8.self)
            moves.append((old, target + suffix, Keys.readBE64(value)))
            return true
        }
        guard !moves.isEmpty else { throw StoreError(.notFound, "no such mailbox: \(source)") }
        for move in moves {
            _ = try MailboxNames.validated(move.new)
            guard try !contains(.mailboxNames, Keys.mailboxName(account: account, name: move.new)) else {
                throw StoreError(.alreadyExists, "mailbox \(move.new) already exists")
            }
        }
        // Two passes: a target name may equal another source name only if that one moves
        // first, which the existence check above already ruled out.
        for move in moves {
            try delete(.mailboxNames, Keys.mailboxName(account: account, name: move.old))
            try put(.mailboxNames, Keys.mailboxName(account: account, name: move.new), Keys.id(move.id))
            guard var record = try mailboxRecord(move.id) else { continue }
            record.name = move.new
            try saveMailbox(move.id, record)
        }
        for name in try subscriptions(account: account) where MailboxNames.isSelfOrDescendant(name, of: source) {
            let suffix = String(decoding: name.utf8.dropFirst(source.utf8.count), as: UTF8.self)
            guard (try? MailboxNames.validated(target + suffix)) != nil else { continue }
            try setSubscribed(account: account, name: name, false)
            try setSubscribed(account: account, name: target + suffix, true)
        }
    }

    /// RENAME INBOX: a new mailbox `target` receives every INBOX message (new UIDs in the
    /// same order), INBOX is left empty with tombstones for the moved UIDs.
    func renameInbox(account: String, to target: String) throws(StoreError) {
        guard try !contains(.mailboxNames, Keys.mailboxName(account: account, name: target)) else {
            throw StoreError(.alreadyExists, "mailbox \(target) already exists")
        }
        guard let inboxID = try mailboxID(account: account, name: MailboxNames.inbox),
              var inbox = try mailboxRecord(inboxID) else {
            throw StoreError(.io, "account \(account) has no INBOX")
        }
        let newID = try createMailbox(account: account, name: target, specialUse: nil)
        guard var destination = try mailboxRecord(newID) else { throw StoreError(.io, "mailbox vanished") }
        var messages: [(uid: UInt32, record: MessageRecord)] = []
        try scan(.messages, prefix: Keys.id(inboxID)) { key, value throws(StoreError) in
            if key.count == 12 { messages.append((Keys.readBE32(key, at: 8), try MessageRecord(value))) }
            return true
        }
        guard !messages.isEmpty else { return }
        destination.highestModSeq += 1
        inbox.highestModSeq += 1
        for (uid, record) in messages {
            var copy = record
            copy.modSeq = destination.highestModSeq
            try retainBlob(record.blobID)
            _ = try insertMessage(newID, &destination, copy)
            try removeMessage(inboxID, &inbox, uid: uid, record, expungeModSeq: inbox.highestModSeq)
        }
        try pruneTombstones(inboxID, &inbox)
        try saveMailbox(newID, destination)
        try saveMailbox(inboxID, inbox)
    }
}
