// IMAP EXPUNGE / UID EXPUNGE / CLOSE and the QRESYNC expunge history. Expunge removes
// only messages flagged \Deleted at the moment of the transaction (another session may
// have cleared the flag since the client looked), at one new modseq, leaving a
// tombstone (uid, modseq) per message (MessageRows.swift). `vanished` reads those
// tombstones; when older ones were pruned it says so instead of answering wrongly.

extension LMDBStore {
    /// Removes the messages of `uids` (nil: the whole mailbox) that carry \Deleted;
    /// returns the UIDs removed, ascending. Durable before return. Errors: `.notFound`,
    /// `.invalid` (too many UIDs), `.io`/`.mapFull`.
    public func expunge(mailboxID: UInt64, uids: [UInt32]? = nil) throws(StoreError) -> [UInt32] {
        if let uids { try Self.checkUIDCount(uids) }
        let uids = uids.map { Set($0).sorted() }
        // Nothing flagged \Deleted: answer from a read, without joining a group commit.
        let mailbox = try read { txn throws(StoreError) in try txn.mailboxRecord(mailboxID) }
        guard let mailbox else { throw StoreError(.notFound, "no such mailbox: \(mailboxID)") }
        if mailbox.deletedCount == 0 { return [] }
        return try write { txn throws(StoreError) in
            let candidates: [UInt32]
            if let uids { candidates = uids } else { candidates = try txn.uids(mailboxID) }
            return try txn.removeMessages(mailboxID, uids: candidates, onlyDeleted: true)
        }
    }

    /// UIDs expunged from the mailbox with a modseq above `sinceModSeq`, ascending.
    /// `.notFound` for an unknown mailbox.
    public func vanished(mailboxID: UInt64, sinceModSeq: UInt64) throws(StoreError) -> VanishedUIDs {
        try read { txn throws(StoreError) in
            guard let mailbox = try txn.mailboxRecord(mailboxID) else {
                throw StoreError(.notFound, "no such mailbox: \(mailboxID)")
            }
            return try txn.vanished(mailboxID, mailbox, since: sinceModSeq)
        }
    }
}

extension Txn {
    /// Every UID of the mailbox, ascending.
    func uids(_ mailboxID: UInt64) throws(StoreError) -> [UInt32] {
        var result: [UInt32] = []
        try scan(.messages, prefix: Keys.id(mailboxID)) { key, _ in
            if key.count == 12 { result.append(Keys.readBE32(key, at: 8)) }
            return true
        }
        return result
    }

    func vanished(_ mailboxID: UInt64, _ mailbox: MailboxRecord, since: UInt64) throws(StoreError) -> VanishedUIDs {
        var uids: [UInt32] = []
        if since < UInt64.max {
            try scan(.expunged, prefix: Keys.id(mailboxID), from: Keys.id(mailboxID) + Keys.be64(since + 1)) { key, _ in
                if key.count == 20 { uids.append(Keys.readBE32(key, at: 16)) }
                return true
            }
        }
        uids.sort()
        return VanishedUIDs(uids: uids, isComplete: since >= mailbox.vanishedFloor)
    }
}
