// One account's mailboxes as the IMAP session sees them (`IMAPMailStore`), backed by
// the LMDB store: names, snapshots, flags, copies and expunges go straight to the
// store's IMAP API (docs/dev/imap-api.md, "Store API for IMAP"); store errors become
// the IMAP response codes the session answers with. Called on pool threads only:
// writes wait for their group commit.
import IMAP
import MailCore
import MailStore

struct StoreIMAPMailbox: IMAPMailStore {
    let account: String
    let store: LMDBStore
    let maxMessageSize: Int

    func listMailboxes() throws(IMAPStoreError) -> [IMAPMailboxInfo] {
        let (mailboxes, subscribed) = try mapped { () throws(StoreError) in
            (try store.mailboxes(account: account), Set(try store.subscriptions(account: account)))
        }
        var infos = mailboxes.map { IMAPMailboxInfo(name: $0.name, specialUse: $0.specialUse, subscribed: subscribed.contains($0.name)) }
        // Subscriptions outlive their mailboxes (RFC 3501 §6.3.6): LSUB and LIST (SUBSCRIBED) show them.
        let existing = Set(mailboxes.map(\.name))
        for name in subscribed where !existing.contains(name) {
            infos.append(IMAPMailboxInfo(name: name, subscribed: true, exists: false))
        }
        return infos
    }

    func createMailbox(_ name: String, specialUse: String?) throws(IMAPStoreError) {
        _ = try mapped { () throws(StoreError) in try store.createMailbox(account: account, name: name, specialUse: specialUse) }
    }

    func deleteMailbox(_ name: String) throws(IMAPStoreError) {
        try mapped { () throws(StoreError) in try store.deleteMailbox(account: account, name: name) }
    }

    func renameMailbox(_ name: String, to newName: String) throws(IMAPStoreError) {
        try mapped { () throws(StoreError) in try store.renameMailbox(account: account, from: name, to: newName) }
    }

    func setSubscribed(_ name: String, _ subscribed: Bool) throws(IMAPStoreError) {
        try mapped { () throws(StoreError) in
            if subscribed { try store.subscribe(account: account, name: name) }
            else { _ = try store.unsubscribe(account: account, name: name) }
        }
    }

    func openMailbox(_ name: String) throws(IMAPStoreError) -> IMAPMailboxSnapshot {
        let id = try mailboxID(name, missing: .noSuchMailbox)
        let snapshot = try mapped { () throws(StoreError) in try store.snapshot(mailboxID: id) }
        let mailbox = snapshot.mailbox
        return IMAPMailboxSnapshot(id: IMAPMailboxID(id), uidValidity: mailbox.uidValidity, uidNext: mailbox.uidNext,
                                   highestModSeq: max(1, mailbox.highestModSeq),
                                   messages: snapshot.messages.map(Self.record))
    }

    func status(_ name: String) throws(IMAPStoreError) -> IMAPMailboxStatus {
        let (mailbox, recent) = try mapped { () throws(StoreError) in
            let mailbox = try store.mailboxStatus(account: account, name: name)
            return (mailbox, try store.recentCount(mailboxID: mailbox.id))
        }
        return IMAPMailboxStatus(messages: mailbox.messageCount, recent: recent,
                                 unseen: mailbox.unseenCount, deleted: mailbox.deletedCount,
                                 uidNext: mailbox.uidNext, uidValidity: mailbox.uidValidity,
                                 size: UInt64(max(0, mailbox.totalSize)), highestModSeq: max(1, mailbox.highestModSeq))
    }

    func append(to name: String, message: [UInt8], flags: [String], internalDate: Double?) throws(IMAPStoreError) -> IMAPAppendResult {
        guard message.count <= maxMessageSize else { throw .tooBig }
        do {
            let result = try store.append(account: account, mailbox: name, bytes: message, flags: flags, internalDate: internalDate)
            return IMAPAppendResult(uidValidity: result.uidValidity, uid: result.uid)
        } catch {
            throw error.kind == .notFound ? .tryCreate : Self.imapError(error)
        }
    }

    func copy(_ uids: [UInt32], from mailbox: IMAPMailboxID, to name: String, move: Bool) throws(IMAPStoreError) -> IMAPCopyResult {
        let destination = try mailboxID(name, missing: .tryCreate)
        let result = try mapped { () throws(StoreError) in
            move ? try store.moveMessages(from: mailbox.rawValue, uids: uids, to: destination)
                 : try store.copyMessages(from: mailbox.rawValue, uids: uids, to: destination)
        }
        return IMAPCopyResult(uidValidity: result.uidValidity, sourceUIDs: result.sourceUIDs,
                              destinationUIDs: result.destinationUIDs)
    }

    func storeFlags(_ uids: [UInt32], in mailbox: IMAPMailboxID, operation: StoreAction.Operation,
                    flags: [String], unchangedSince: UInt64?) throws(IMAPStoreError) -> IMAPFlagsResult {
        let mode: FlagStoreMode = switch operation {
        case .replace: .replace
        case .add: .add
        case .remove: .remove
        }
        let result = try mapped { () throws(StoreError) in
            try store.storeFlags(mailboxID: mailbox.rawValue, uids: uids, mode: mode, flags: flags, unchangedSince: unchangedSince)
        }
        return IMAPFlagsResult(updated: result.changed.map(Self.record), modified: result.failedUnchangedSince)
    }

    func expunge(_ uids: [UInt32], in mailbox: IMAPMailboxID) throws(IMAPStoreError) -> [UInt32] {
        try mapped { () throws(StoreError) in try store.expunge(mailboxID: mailbox.rawValue, uids: uids) }
    }

    func changes(in mailbox: IMAPMailboxID, since modSeq: UInt64) throws(IMAPStoreError) -> IMAPMailboxChanges {
        let changes = try mapped { () throws(StoreError) in
            try store.mailboxChanges(mailboxID: mailbox.rawValue, sinceModSeq: modSeq)
        }
        return IMAPMailboxChanges(uidNext: changes.mailbox.uidNext, highestModSeq: max(1, changes.mailbox.highestModSeq),
                                  changed: changes.changed.map(Self.record), vanished: changes.vanished.uids)
    }

    func firstRecentUID(in mailbox: IMAPMailboxID, claimUpTo: UInt32?) throws(IMAPStoreError) -> UInt32 {
        try mapped { () throws(StoreError) in
            if let claimUpTo { return try store.claimRecent(mailboxID: mailbox.rawValue, upTo: claimUpTo) }
            return try store.firstRecentUID(mailboxID: mailbox.rawValue)
        }
    }

    func quota() throws(IMAPStoreError) -> IMAPQuota {
        let quota = try mapped { () throws(StoreError) in try store.quota(account: account) }
        return IMAPQuota(usedBytes: UInt64(max(0, quota.usedBytes)),
                         limitBytes: quota.limitBytes > 0 ? UInt64(quota.limitBytes) : nil,
                         messages: UInt64(max(0, quota.messageCount)))
    }

    func withMessageBytes<R>(_ handle: IMAPMessageHandle, _ body: (UnsafeRawBufferPointer) -> R) throws(IMAPStoreError) -> R {
        do { return try store.withMessageBytes(blobID: handle.key, body) }
        catch { throw error.kind == .notFound ? .unavailable("The message is gone") : Self.imapError(error) }
    }

    // MARK: mapping

    private func mailboxID(_ name: String, missing: IMAPStoreError) throws(IMAPStoreError) -> UInt64 {
        guard let mailbox = store.mailbox(account: account, name: name) else { throw missing }
        return mailbox.id
    }

    static func record(_ message: MessageInfo) -> IMAPMessageRecord {
        IMAPMessageRecord(uid: message.uid, flags: message.flags, modSeq: message.modSeq, size: message.size,
                          internalDate: message.internalDate,
                          handle: IMAPMessageHandle(mailbox: message.mailboxID, key: message.blobID))
    }

    static func imapError(_ error: StoreError) -> IMAPStoreError {
        switch error.kind {
        case .notFound: .noSuchMailbox
        case .alreadyExists: .alreadyExists
        case .overQuota: .overQuota
        case .invalid, .refused: IMAPStoreError(.cannot, error.message)
        case .mapFull: IMAPStoreError(.limit, "Insufficient storage, try again later")
        case .io, .locked: .unavailable("Local error, try again later")
        }
    }

    private func mapped<T>(_ body: () throws(StoreError) -> T) throws(IMAPStoreError) -> T {
        do { return try body() } catch { throw Self.imapError(error) }
    }
}
