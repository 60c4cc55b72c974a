// IMAP STORE with CONDSTORE (RFC 7162): changes the flags of many messages of one
// mailbox in one group-committed transaction, durable before return. All messages
// changed by one call get the same new modseq (the mailbox HIGHESTMODSEQ + 1, which
// becomes the new HIGHESTMODSEQ); a call that changes nothing does not bump it. With
// UNCHANGEDSINCE, a message whose modseq is above it is left alone and reported.

extension LMDBStore {
    /// Changes the flags of `uids` (missing UIDs are skipped). Errors: `.notFound` (the
    /// mailbox), `.invalid` (a flag that cannot be stored — \Recent, unknown \X, not an
    /// atom, too long — too many flags on a message, too many UIDs), `.io`/`.mapFull`.
    public func storeFlags(mailboxID: UInt64, uids: [UInt32], mode: FlagStoreMode, flags: [String],
                           unchangedSince: UInt64? = nil) throws(StoreError) -> FlagUpdateResult {
        try Self.checkUIDCount(uids)
        let flags = try MessageFlags.normalized(flags)
        let uids = Set(uids).sorted()
        return try write { txn throws(StoreError) in
            try txn.storeFlags(mailboxID, uids: uids, mode: mode, flags: flags, unchangedSince: unchangedSince)
        }
    }
}

extension Txn {
    /// `uids` ascending and distinct, `flags` normalized.
    func storeFlags(_ mailboxID: UInt64, uids: [UInt32], mode: FlagStoreMode, flags: [String],
                    unchangedSince: UInt64?) throws(StoreError) -> FlagUpdateResult {
        guard var mailbox = try mailboxRecord(mailboxID) else {
            throw StoreError(.notFound, "no such mailbox: \(mailboxID)")
        }
        let modSeq = mailbox.highestModSeq + 1
        var changed: [MessageInfo] = []
        var failed: [UInt32] = []
        for uid in uids {
            guard let value = try get(.messages, Keys.message(mailboxID, uid)) else { continue }
            var record = try MessageRecord(value)
            if let unchangedSince, record.modSeq > unchangedSince {
                failed.append(uid)
                continue
            }
            let newFlags = MessageFlags.apply(mode, flags, to: record.flags)
            if MessageFlags.equalSets(newFlags, record.flags) { continue }
            guard newFlags.count <= MessageFlags.maxCount else {
                throw StoreError(.invalid, "too many flags on message \(uid) (at most \(MessageFlags.maxCount))")
            }
            try updateFlags(mailboxID, &mailbox, uid: uid, &record, flags: newFlags, modSeq: modSeq)
            changed.append(record.info(mailboxID: mailboxID, uid: uid))
        }
        if !changed.isEmpty {
            mailbox.highestModSeq = modSeq
            try saveMailbox(mailboxID, mailbox)
        }
        return FlagUpdateResult(changed: changed, failedUnchangedSince: failed)
    }
}
