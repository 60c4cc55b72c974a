// Reads for IMAP sessions: SELECT's snapshot and the change queries a session runs
// between commands and in IDLE. Changes come from the (mailbox, modseq, uid) index, so
// asking "what changed since X" costs the number of changed messages, not the mailbox
// size. Every query runs in one read transaction, so its parts agree with each other.

extension LMDBStore {
    /// SELECT/EXAMINE: the mailbox and all its messages (ascending UID). `.notFound`.
    public func snapshot(mailboxID: UInt64) throws(StoreError) -> MailboxSnapshot {
        try read { txn throws(StoreError) in
            guard let mailbox = try txn.mailboxRecord(mailboxID) else {
                throw StoreError(.notFound, "no such mailbox: \(mailboxID)")
            }
            var messages: [MessageInfo] = []
            messages.reserveCapacity(Int(max(0, mailbox.messageCount)))
            try txn.scan(.messages, prefix: Keys.id(mailboxID)) { key, value throws(StoreError) in
                guard key.count == 12 else { return true }
                messages.append(try MessageRecord(value).info(mailboxID: mailboxID, uid: Keys.readBE32(key, at: 8)))
                return true
            }
            return MailboxSnapshot(mailbox: mailbox.info(id: mailboxID), messages: messages)
        }
    }

    /// Messages whose modseq is above `sinceModSeq` (new, or flags changed), ascending UID.
    /// `.notFound`.
    public func changes(mailboxID: UInt64, sinceModSeq: UInt64) throws(StoreError) -> [MessageInfo] {
        try read { txn throws(StoreError) in
            guard try txn.mailboxRecord(mailboxID) != nil else {
                throw StoreError(.notFound, "no such mailbox: \(mailboxID)")
            }
            return try txn.changedMessages(mailboxID, since: sinceModSeq)
        }
    }

    /// The mailbox now, its changed messages and its expunged UIDs after `sinceModSeq`,
    /// from one snapshot: what a session needs to send EXISTS/FETCH/EXPUNGE or VANISHED.
    /// `.notFound` once the mailbox is gone (deleted; a rename keeps the id).
    public func mailboxChanges(mailboxID: UInt64, sinceModSeq: UInt64) throws(StoreError) -> MailboxChanges {
        try read { txn throws(StoreError) in
            guard let mailbox = try txn.mailboxRecord(mailboxID) else {
                throw StoreError(.notFound, "no such mailbox: \(mailboxID)")
            }
            if mailbox.highestModSeq <= sinceModSeq {
                return MailboxChanges(mailbox: mailbox.info(id: mailboxID), changed: [],
                                      vanished: VanishedUIDs(uids: [], isComplete: true))
            }
            return MailboxChanges(mailbox: mailbox.info(id: mailboxID),
                                  changed: try txn.changedMessages(mailboxID, since: sinceModSeq),
                                  vanished: try txn.vanished(mailboxID, mailbox, since: sinceModSeq))
        }
    }
}

extension Txn {
    func changedMessages(_ mailboxID: UInt64, since: UInt64) throws(StoreError) -> [MessageInfo] {
        guard since < UInt64.max else { return [] }
        var uids: [UInt32] = []
        try scan(.modSeqIndex, prefix: Keys.id(mailboxID), from: Keys.id(mailboxID) + Keys.be64(since + 1)) { key, _ in
            if key.count == 20 { uids.append(Keys.readBE32(key, at: 16)) }
            return true
        }
        uids.sort()
        var result: [MessageInfo] = []
        result.reserveCapacity(uids.count)
        for uid in uids {
            guard let value = try get(.messages, Keys.message(mailboxID, uid)) else { continue }
            result.append(try MessageRecord(value).info(mailboxID: mailboxID, uid: uid))
        }
        return result
    }
}
