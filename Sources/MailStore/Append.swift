// IMAP APPEND: one message into a named mailbox of an account, durable before return.
// The bytes are stored once as a blob (one reference), the message gets the mailbox's
// next UID at a new modseq, and mailbox and account totals move in the same group-
// committed transaction. The account quota is checked in that transaction too, so
// concurrent appends cannot overshoot it.

import Foundation

extension LMDBStore {
    /// Appends `bytes` to `mailbox` of `account`. `internalDate` nil: now.
    /// Errors: `.notFound` (account or mailbox: IMAP answers `NO [TRYCREATE]` for the
    /// mailbox), `.overQuota` (`NO [OVERQUOTA]`), `.invalid` (empty message, bad flags or
    /// name), `.mapFull`/`.io`.
    public func append(account: String, mailbox: String, bytes: [UInt8], flags: [String] = [],
                       internalDate: Double? = nil) throws(StoreError) -> AppendResult {
        let address = try Self.normalizeAddress(account)
        let name = try MailboxNames.validated(mailbox)
        let flags = try MessageFlags.normalized(flags)
        guard !bytes.isEmpty else { throw StoreError(.invalid, "cannot store an empty message") }
        let date = internalDate ?? Date().timeIntervalSince1970
        return try write(estimatedBytes: bytes.count + 4096) { txn throws(StoreError) in
            try txn.append(account: address, mailbox: name, bytes: bytes, flags: flags, internalDate: date)
        }
    }
}

extension Txn {
    func append(account address: String, mailbox name: String, bytes: [UInt8], flags: [String],
                internalDate: Double) throws(StoreError) -> AppendResult {
        let account = try requireAccount(address)
        guard let mailboxID = try mailboxID(account: address, name: name),
              var mailbox = try mailboxRecord(mailboxID) else {
            throw StoreError(.notFound, "no such mailbox: \(name)")
        }
        let size = Int64(bytes.count)
        guard size <= account.quota - account.usedBytes else {
            throw StoreError(.overQuota, "quota exceeded (\(account.usedBytes) of \(account.quota) bytes used)")
        }
        let blobID = try storeBlob(bytes, references: 1)
        mailbox.highestModSeq += 1
        let message = MessageRecord(blobID: blobID, size: size, internalDate: internalDate,
                                    modSeq: mailbox.highestModSeq, flags: flags)
        let uid = try insertMessage(mailboxID, &mailbox, message)
        try saveMailbox(mailboxID, mailbox)
        try adjustAccountUsage(address, bytes: size, messages: 1)
        return AppendResult(mailboxID: mailboxID, uidValidity: mailbox.uidValidity, uid: uid,
                            modSeq: mailbox.highestModSeq)
    }
}
