// IMAP COPY and MOVE (RFC 6851) between two mailboxes of one account, each in ONE
// transaction, durable before return. Copies share the source's blobs (one more
// reference each), keep flags and internal date, get new UIDs in ascending source-UID
// order at one new destination modseq, and count against the quota (checked in the
// same transaction). MOVE then removes the sources like EXPUNGE (tombstones, a new
// source modseq) and leaves the account usage unchanged, so it needs no quota room.
// UIDs that do not exist are skipped; source and destination may be the same mailbox.

extension LMDBStore {
    /// COPY. Errors: `.notFound` (a mailbox), `.invalid` (different accounts, too many
    /// UIDs), `.overQuota`, `.io`/`.mapFull`.
    public func copyMessages(from sourceID: UInt64, uids: [UInt32], to destinationID: UInt64) throws(StoreError) -> CopyResult {
        try Self.checkUIDCount(uids)
        let uids = Set(uids).sorted()
        return try write { txn throws(StoreError) in
            try txn.copyMessages(from: sourceID, uids: uids, to: destinationID, move: false)
        }
    }

    /// MOVE. Errors as for `copyMessages`, without `.overQuota`.
    public func moveMessages(from sourceID: UInt64, uids: [UInt32], to destinationID: UInt64) throws(StoreError) -> CopyResult {
        try Self.checkUIDCount(uids)
        let uids = Set(uids).sorted()
        return try write { txn throws(StoreError) in
            try txn.copyMessages(from: sourceID, uids: uids, to: destinationID, move: true)
        }
    }
}

extension Txn {
    /// `uids` ascending and distinct.
    func copyMessages(from sourceID: UInt64, uids: [UInt32], to destinationID: UInt64,
                      move: Bool) throws(StoreError) -> CopyResult {
        guard let source = try mailboxRecord(sourceID) else {
            throw StoreError(.notFound, "no such mailbox: \(sourceID)")
        }
        guard var destination = try mailboxRecord(destinationID) else {
            throw StoreError(.notFound, "no such mailbox: \(destinationID)")
        }
        guard source.account == destination.account else {
            throw StoreError(.invalid, "cannot copy between mailboxes of different accounts")
        }
        var found: [(uid: UInt32, record: MessageRecord)] = []
        var bytes: Int64 = 0
        for uid in uids {
            guard let value = try get(.messages, Keys.message(sourceID, uid)) else { continue }
            let record = try MessageRecord(value)
            found.append((uid, record))
            bytes += record.size
        }
        guard !found.isEmpty else {
            return CopyResult(uidValidity: destination.uidValidity, sourceUIDs: [], destinationUIDs: [])
        }
        if !move {
            let account = try requireAccount(source.account)
            guard bytes <= account.quota - account.usedBytes else {
                throw StoreError(.overQuota, "quota exceeded (\(account.usedBytes) of \(account.quota) bytes used)")
            }
        }
        destination.highestModSeq += 1
        var destinationUIDs: [UInt32] = []
        destinationUIDs.reserveCapacity(found.count)
        for (_, record) in found {
            var copy = record
            copy.modSeq = destination.highestModSeq
            try retainBlob(record.blobID)
            destinationUIDs.append(try insertMessage(destinationID, &destination, copy))
        }
        try saveMailbox(destinationID, destination)
        try adjustAccountUsage(source.account, bytes: bytes, messages: Int64(found.count))
        let sourceUIDs = found.map(\.uid)
        if move {
            // Re-reads the source record, so source == destination works; takes the usage back.
            _ = try removeMessages(sourceID, uids: sourceUIDs, onlyDeleted: false)
        }
        return CopyResult(uidValidity: destination.uidValidity, sourceUIDs: sourceUIDs, destinationUIDs: destinationUIDs)
    }
}
