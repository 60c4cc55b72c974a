// \Recent for IMAP (RFC 3501 §2.3.2), Dovecot's way: per mailbox the first UID that no
// session has claimed yet, in `meta` under "imap.recent." + mailbox id (8 BE) → UID
// (4 BE). No row means 1: every message is recent until a session selects the mailbox
// read-write. A claim moves the mark up inside one write transaction, so of several
// sessions (or processes) claiming at once exactly one gets each message; a claim with
// nothing to take answers from a read and joins no commit. Only IMAP uses this file.
// A deleted mailbox leaves its row behind (12 bytes; ids are never reused).
// The server keeps the marks it claimed in memory as well (Gateway/StoreIMAPMailbox.swift)
// and writes them behind with `recordRecentClaim`, so SELECT never waits for a commit.

extension LMDBStore {
    /// The mailbox's first UID not claimed as \Recent by any session. `.notFound`.
    public func firstRecentUID(mailboxID: UInt64) throws(StoreError) -> UInt32 {
        try read { txn throws(StoreError) in
            guard try txn.mailboxRecord(mailboxID) != nil else { throw StoreError(.notFound, "no such mailbox: \(mailboxID)") }
            return try txn.firstRecentUID(mailboxID)
        }
    }

    /// Claims every UID below `upTo` for the caller: the mark moves up to `upTo` (never
    /// down) and its previous value is returned; the caller's recent messages are those
    /// from there up to `upTo`. Durable before return when it moved. `.notFound`.
    public func claimRecent(mailboxID: UInt64, upTo: UInt32) throws(StoreError) -> UInt32 {
        let current = try firstRecentUID(mailboxID: mailboxID)
        guard current < upTo else { return current }
        return try write { txn throws(StoreError) in
            guard try txn.mailboxRecord(mailboxID) != nil else { throw StoreError(.notFound, "no such mailbox: \(mailboxID)") }
            let mark = try txn.firstRecentUID(mailboxID)
            if mark < upTo { try txn.put(.meta, Txn.recentKey(mailboxID), Keys.be32(upTo)) }
            return mark
        }
    }

    /// Raises the stored mark to `upTo` (never lowers it) without waiting for the commit:
    /// for a caller that already holds the claim in memory and only needs it to outlive
    /// a restart. A failure (mailbox gone, store closing) is ignored: \Recent is advisory.
    public func recordRecentClaim(mailboxID: UInt64, upTo: UInt32) {
        submit({ txn throws(StoreError) -> Bool in
            guard try txn.mailboxRecord(mailboxID) != nil, try txn.firstRecentUID(mailboxID) < upTo else { return false }
            try txn.put(.meta, Txn.recentKey(mailboxID), Keys.be32(upTo))
            return true
        }, completion: { _ in })
    }

    /// How many messages no session has claimed (STATUS RECENT): those at or above the
    /// mark (or `atLeast`, a mark the caller knows is claimed but may not be written yet).
    /// Costs a count of those messages' keys, never a pass over older ones.
    public func recentCount(mailboxID: UInt64, atLeast claimed: UInt32 = 1) throws(StoreError) -> Int {
        try read { txn throws(StoreError) in
            guard let mailbox = try txn.mailboxRecord(mailboxID) else { throw StoreError(.notFound, "no such mailbox: \(mailboxID)") }
            let mark = max(claimed, try txn.firstRecentUID(mailboxID))
            if mark <= 1 { return Int(max(0, mailbox.messageCount)) }
            if mark >= mailbox.uidNext { return 0 }
            var count = 0
            try txn.scan(.messages, prefix: Keys.id(mailboxID), from: Keys.message(mailboxID, mark)) { key, _ in
                if key.count == 12 { count += 1 }
                return true
            }
            return count
        }
    }
}

extension Txn {
    static func recentKey(_ mailboxID: UInt64) -> [UInt8] { Array("imap.recent.".utf8) + Keys.id(mailboxID) }

    func firstRecentUID(_ mailboxID: UInt64) throws(StoreError) -> UInt32 {
        guard let value = try get(.meta, Self.recentKey(mailboxID)), value.count == 4 else { return 1 }
        return Keys.readBE32(value)
    }
}
