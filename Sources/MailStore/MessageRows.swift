// The one place that adds, changes and removes message rows, so every write path
// (delivery, append, copy, move, flags, expunge, POP3 removal, mailbox deletion) keeps
// the same invariants in the same transaction:
//  - a message's row in `messages` and exactly one row in `modseqIndex` at its modseq;
//  - mailbox messageCount/totalSize/unseenCount/deletedCount match the rows;
//  - a removed message leaves a tombstone (uid at the removal's modseq) in `expunged`,
//    at most StoreLimits.maxTombstonesPerMailbox per mailbox, `vanishedFloor` recording
//    the newest modseq pruned;
//  - every changed mailbox record is saved through `saveMailbox`, which also reports the
//    change to observers.
// Callers bump `highestModSeq` once per operation and pass that modseq in; they save
// the mailbox record and adjust account totals themselves (one put per operation).

extension Txn {
    /// Writes the mailbox record and notes the change for observers.
    func saveMailbox(_ id: UInt64, _ mailbox: MailboxRecord) throws(StoreError) {
        try put(.mailboxes, Keys.id(id), mailbox.encoded())
        noteMailboxChanged(id)
    }

    /// Stores `message` (its modSeq already set) under the mailbox's next UID; returns the UID.
    func insertMessage(_ mailboxID: UInt64, _ mailbox: inout MailboxRecord,
                       _ message: MessageRecord) throws(StoreError) -> UInt32 {
        guard mailbox.uidNext < UInt32.max else {
            throw StoreError(.io, "mailbox \(mailbox.name) of \(mailbox.account) ran out of UIDs")
        }
        let uid = mailbox.uidNext
        try put(.messages, Keys.message(mailboxID, uid), message.encoded(), noOverwrite: true)
        try put(.modSeqIndex, Keys.modSeqRow(mailboxID, message.modSeq, uid), [1])
        mailbox.uidNext += 1
        mailbox.messageCount += 1
        mailbox.totalSize += message.size
        count(message.flags, in: &mailbox, sign: 1)
        return uid
    }

    /// Gives the message `flags` at `modSeq` (both already decided by the caller).
    func updateFlags(_ mailboxID: UInt64, _ mailbox: inout MailboxRecord, uid: UInt32,
                     _ message: inout MessageRecord, flags: [String], modSeq: UInt64) throws(StoreError) {
        try delete(.modSeqIndex, Keys.modSeqRow(mailboxID, message.modSeq, uid))
        count(message.flags, in: &mailbox, sign: -1)
        message.flags = flags
        message.modSeq = modSeq
        count(message.flags, in: &mailbox, sign: 1)
        try put(.messages, Keys.message(mailboxID, uid), message.encoded())
        try put(.modSeqIndex, Keys.modSeqRow(mailboxID, modSeq, uid), [1])
    }

    /// Removes the message row, leaves a tombstone at `expungeModSeq` and releases the blob
    /// (kept readable for a while for sessions not yet told: Blobs.swift).
    func removeMessage(_ mailboxID: UInt64, _ mailbox: inout MailboxRecord, uid: UInt32,
                       _ message: MessageRecord, expungeModSeq: UInt64) throws(StoreError) {
        try delete(.messages, Keys.message(mailboxID, uid))
        try delete(.modSeqIndex, Keys.modSeqRow(mailboxID, message.modSeq, uid))
        try put(.expunged, Keys.modSeqRow(mailboxID, expungeModSeq, uid), [1])
        try releaseBlob(message.blobID, keepReadable: true)
        try sweepExpiredBlobs()
        mailbox.messageCount -= 1
        mailbox.totalSize -= message.size
        mailbox.tombstoneCount += 1
        count(message.flags, in: &mailbox, sign: -1)
    }

    /// Drops the oldest tombstones beyond `limit` (with some slack, so pruning is not paid
    /// on every removal) and raises `vanishedFloor` to the newest modseq dropped.
    func pruneTombstones(_ mailboxID: UInt64, _ mailbox: inout MailboxRecord,
                         limit: Int = StoreLimits.maxTombstonesPerMailbox) throws(StoreError) {
        guard mailbox.tombstoneCount > Int64(limit + limit / 8) else { return }
        var excess = mailbox.tombstoneCount - Int64(limit)
        var doomed: [[UInt8]] = []
        var floor = mailbox.vanishedFloor
        try scan(.expunged, prefix: Keys.id(mailboxID)) { key, _ in
            guard key.count == 20, excess > 0 else { return false }
            doomed.append(Array(key))
            floor = max(floor, Keys.readBE64(key, at: 8))
            excess -= 1
            return true
        }
        for key in doomed { try delete(.expunged, key) }
        mailbox.tombstoneCount -= Int64(doomed.count)
        mailbox.vanishedFloor = floor
    }

    /// Adjusts the account's usage totals (never below zero).
    func adjustAccountUsage(_ address: String, bytes: Int64, messages: Int64) throws(StoreError) {
        guard bytes != 0 || messages != 0, var account = try accountRecord(address) else { return }
        account.usedBytes = max(0, account.usedBytes + bytes)
        account.messageCount = max(0, account.messageCount + messages)
        try put(.accounts, Keys.address(address), account.encoded())
    }

    /// Adds one reference to an existing blob (a copied message shares the bytes).
    func retainBlob(_ id: UInt64) throws(StoreError) {
        let references = try blobReferences(id)
        guard references > 0, references < UInt32.max else {
            throw StoreError(.io, "message blob \(id) is missing or over-referenced")
        }
        try put(.blobRefs, Keys.id(id), Keys.be32(references + 1))
    }

    private func count(_ flags: [String], in mailbox: inout MailboxRecord, sign: Int64) {
        if !MessageFlags.contains(flags, MessageFlags.seen) { mailbox.unseenCount += sign }
        if MessageFlags.contains(flags, MessageFlags.deleted) { mailbox.deletedCount += sign }
    }
}
