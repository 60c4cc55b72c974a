// One account's mailboxes as the IMAP session sees them (`IMAPMailStore`), backed by
// the LMDB store: names, snapshots, flags, copies and expunges go straight to the
// store's IMAP API (docs/dev/imap-api.md, "Store API for IMAP"); store errors become
// the IMAP response codes the session answers with. Called on pool threads only:
// writes wait for their group commit.
import Foundation
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
            let claimed = RecentMarks.shared.cached(store, mailbox.id) ?? 1
            return (mailbox, try store.recentCount(mailboxID: mailbox.id, atLeast: claimed))
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
        try mapped { () throws(StoreError) in try RecentMarks.shared.claim(store, mailbox.rawValue, upTo: claimUpTo) }
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

/// The \Recent marks this process has claimed (see MailStore/RecentClaims.swift), so a
/// claim is decided in memory under a lock — atomic across all of the server's sessions
/// — and written behind: SELECT never waits for a commit. Only the server claims (one
/// per data directory; the CLI never does), so the memory is ahead of the store, never
/// behind it; after a crash a claim not yet written makes its messages recent once more.
/// One entry per mailbox selected since start (a dozen bytes each).
final class RecentMarks: @unchecked Sendable {
    static let shared = RecentMarks()

    private let lock = NSLock()
    /// The store the marks belong to (tests open several in one process).
    private weak var store: LMDBStore?
    private var marks: [UInt64: UInt32] = [:]

    /// The mark known in memory, if any.
    func cached(_ store: LMDBStore, _ mailbox: UInt64) -> UInt32? {
        lock.lock(); defer { lock.unlock() }
        return self.store === store ? marks[mailbox] : nil
    }

    /// The mailbox's mark as it was; with `upTo`, every UID below it is claimed first.
    func claim(_ store: LMDBStore, _ mailbox: UInt64, upTo: UInt32?) throws(StoreError) -> UInt32 {
        // Read the stored mark outside the lock the first time (a store read, ~µs).
        let stored = try cached(store, mailbox) == nil ? store.firstRecentUID(mailboxID: mailbox) : 1
        lock.lock()
        if self.store !== store { self.store = store; marks = [:] }
        let mark = max(marks[mailbox] ?? 1, stored)
        let raised = upTo.map { $0 > mark } ?? false
        if raised, let upTo { marks[mailbox] = upTo } else { marks[mailbox] = mark }
        lock.unlock()
        if raised, let upTo { store.recordRecentClaim(mailboxID: mailbox, upTo: upTo) }
        return mark
    }
}
