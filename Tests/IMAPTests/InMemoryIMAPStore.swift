// An in-memory IMAPMailStore for session tests: one account's mailboxes with UIDs,
// flags, modseqs and expunge records, shared by reference so two sessions see each
// other's changes. Not thread-safe (tests drive sessions on one thread).
@testable import IMAP

final class InMemoryIMAPStore: IMAPMailStore {
    final class Mailbox {
        var id: UInt64
        var name: String
        var specialUse: String?
        var subscribed: Bool
        var uidValidity: UInt32
        var uidNext: UInt32 = 1
        /// \Recent: the first UID no session has claimed.
        var firstRecent: UInt32 = 1
        var messages: [IMAPMessageRecord] = []
        var expunged: [(uid: UInt32, modSeq: UInt64)] = []
        init(id: UInt64, name: String, specialUse: String? = nil, subscribed: Bool = true) {
            self.id = id; self.name = name; self.specialUse = specialUse; self.subscribed = subscribed
            self.uidValidity = UInt32(100 + id)
        }
    }

    var mailboxes: [Mailbox] = []
    var blobs: [UInt64: [UInt8]] = [:]
    var modSeq: UInt64 = 1
    var nextID: UInt64 = 1
    var nextBlob: UInt64 = 1
    var quotaLimit: UInt64? = 1_000_000
    var now: Double = 1_700_000_000

    init() { mailboxes.append(makeMailbox("INBOX", nil)) }

    func makeMailbox(_ name: String, _ use: String?) -> Mailbox {
        defer { nextID += 1 }
        return Mailbox(id: nextID, name: name, specialUse: use)
    }

    func mailbox(_ name: String) -> Mailbox? { mailboxes.first { $0.name == name } }
    func mailbox(_ id: IMAPMailboxID) throws(IMAPStoreError) -> Mailbox {
        guard let box = mailboxes.first(where: { $0.id == id.rawValue }) else { throw .noSuchMailbox }
        return box
    }

    /// Test helper: deliver a message as SMTP would.
    @discardableResult
    func deliver(_ text: String, to name: String = "INBOX", flags: [String] = [], date: Double? = nil) -> UInt32 {
        (try? append(to: name, message: Array(text.utf8), flags: flags, internalDate: date))?.uid ?? 0
    }

    /// Subscriptions to names that have no mailbox (they outlive DELETE, as in the LMDB store).
    var orphanSubscriptions: Set<String> = []

    func listMailboxes() throws(IMAPStoreError) -> [IMAPMailboxInfo] {
        mailboxes.map { IMAPMailboxInfo(name: $0.name, specialUse: $0.specialUse, subscribed: $0.subscribed) }
            + orphanSubscriptions.map { IMAPMailboxInfo(name: $0, subscribed: true, exists: false) }
    }

    func createMailbox(_ name: String, specialUse: String?) throws(IMAPStoreError) {
        guard mailbox(name) == nil else { throw .alreadyExists }
        let box = makeMailbox(name, specialUse)
        box.subscribed = orphanSubscriptions.remove(name) != nil
        mailboxes.append(box)
    }

    func deleteMailbox(_ name: String) throws(IMAPStoreError) {
        guard let box = mailbox(name) else { throw .noSuchMailbox }
        if box.subscribed { orphanSubscriptions.insert(name) }
        mailboxes.removeAll { $0.name == name }
    }

    func renameMailbox(_ name: String, to newName: String) throws(IMAPStoreError) {
        guard let box = mailbox(name) else { throw .noSuchMailbox }
        guard mailbox(newName) == nil else { throw .alreadyExists }
        for other in mailboxes where other.name.hasPrefix(name + "/") { other.name = newName + other.name.dropFirst(name.count) }
        box.name = newName
    }

    func setSubscribed(_ name: String, _ subscribed: Bool) throws(IMAPStoreError) {
        guard let box = mailbox(name) else {
            if subscribed { orphanSubscriptions.insert(name) } else { orphanSubscriptions.remove(name) }
            return
        }
        box.subscribed = subscribed
    }

    func openMailbox(_ name: String) throws(IMAPStoreError) -> IMAPMailboxSnapshot {
        guard let box = mailbox(name) else { throw .noSuchMailbox }
        return IMAPMailboxSnapshot(id: IMAPMailboxID(box.id), uidValidity: box.uidValidity, uidNext: box.uidNext,
                                   highestModSeq: modSeq, messages: box.messages)
    }

    func status(_ name: String) throws(IMAPStoreError) -> IMAPMailboxStatus {
        guard let box = mailbox(name) else { throw .noSuchMailbox }
        return IMAPMailboxStatus(messages: box.messages.count,
                                 recent: box.messages.filter { $0.uid >= box.firstRecent }.count,
                                 unseen: box.messages.filter { !$0.flags.contains("\\Seen") }.count,
                                 deleted: box.messages.filter { $0.flags.contains("\\Deleted") }.count,
                                 uidNext: box.uidNext, uidValidity: box.uidValidity,
                                 size: UInt64(box.messages.reduce(0) { $0 + $1.size }), highestModSeq: modSeq)
    }

    var usedBytes: UInt64 { UInt64(mailboxes.flatMap(\.messages).reduce(0) { $0 + $1.size }) }

    func append(to name: String, message: [UInt8], flags: [String], internalDate: Double?) throws(IMAPStoreError) -> IMAPAppendResult {
        guard let box = mailbox(name) else { throw .tryCreate }
        if let quotaLimit, usedBytes + UInt64(message.count) > quotaLimit { throw .overQuota }
        modSeq += 1
        let blob = nextBlob; nextBlob += 1
        blobs[blob] = message
        let uid = box.uidNext; box.uidNext += 1
        box.messages.append(IMAPMessageRecord(uid: uid, flags: flags, modSeq: modSeq, size: message.count,
                                              internalDate: internalDate ?? now, handle: IMAPMessageHandle(mailbox: box.id, key: blob)))
        return IMAPAppendResult(uidValidity: box.uidValidity, uid: uid)
    }

    func copy(_ uids: [UInt32], from mailbox: IMAPMailboxID, to name: String, move: Bool) throws(IMAPStoreError) -> IMAPCopyResult {
        let source = try self.mailbox(mailbox)
        guard let target = self.mailbox(name) else { throw .tryCreate }
        var from: [UInt32] = [], to: [UInt32] = []
        for uid in uids {
            guard let record = source.messages.first(where: { $0.uid == uid }) else { continue }
            modSeq += 1
            let newUID = target.uidNext; target.uidNext += 1
            var copy = record
            copy.uid = newUID; copy.modSeq = modSeq
            target.messages.append(copy)
            from.append(uid); to.append(newUID)
        }
        if move { remove(from, from: source) }
        return IMAPCopyResult(uidValidity: target.uidValidity, sourceUIDs: from, destinationUIDs: to)
    }

    func remove(_ uids: [UInt32], from box: Mailbox) {
        for uid in uids {
            modSeq += 1
            box.messages.removeAll { $0.uid == uid }
            box.expunged.append((uid, modSeq))
        }
    }

    func storeFlags(_ uids: [UInt32], in mailbox: IMAPMailboxID, operation: StoreAction.Operation, flags: [String],
                    unchangedSince: UInt64?) throws(IMAPStoreError) -> IMAPFlagsResult {
        let box = try self.mailbox(mailbox)
        var updated: [IMAPMessageRecord] = [], modified: [UInt32] = []
        for uid in uids {
            guard let index = box.messages.firstIndex(where: { $0.uid == uid }) else { continue }
            var record = box.messages[index]
            if let unchangedSince, record.modSeq > unchangedSince { modified.append(uid); continue }
            var newFlags = record.flags
            switch operation {
            case .replace: newFlags = flags
            case .add: for flag in flags where !newFlags.contains(flag) { newFlags.append(flag) }
            case .remove: newFlags.removeAll { flags.contains($0) }
            }
            guard newFlags != record.flags || unchangedSince != nil else { continue }
            modSeq += 1
            record.flags = newFlags; record.modSeq = modSeq
            box.messages[index] = record
            updated.append(record)
        }
        return IMAPFlagsResult(updated: updated, modified: modified)
    }

    func expunge(_ uids: [UInt32], in mailbox: IMAPMailboxID) throws(IMAPStoreError) -> [UInt32] {
        let box = try self.mailbox(mailbox)
        let removable = uids.filter { uid in box.messages.contains { $0.uid == uid && $0.flags.contains("\\Deleted") } }
        remove(removable, from: box)
        return removable
    }

    func changes(in mailbox: IMAPMailboxID, since: UInt64) throws(IMAPStoreError) -> IMAPMailboxChanges {
        let box = try self.mailbox(mailbox)
        return IMAPMailboxChanges(uidNext: box.uidNext, highestModSeq: modSeq,
                                  changed: box.messages.filter { $0.modSeq > since },
                                  vanished: box.expunged.filter { $0.modSeq > since }.map(\.uid))
    }

    func firstRecentUID(in mailbox: IMAPMailboxID, claimUpTo: UInt32?) throws(IMAPStoreError) -> UInt32 {
        let box = try self.mailbox(mailbox)
        let first = box.firstRecent
        if let claimUpTo { box.firstRecent = max(first, claimUpTo) }
        return first
    }

    func quota() throws(IMAPStoreError) -> IMAPQuota {
        IMAPQuota(usedBytes: usedBytes, limitBytes: quotaLimit, messages: UInt64(mailboxes.flatMap(\.messages).count))
    }

    /// Like the LMDB store, an expunged message's bytes stay readable for a grace period
    /// (here: until the test says the grace is over).
    var expungedBytesReadable = true

    func withMessageBytes<R>(_ handle: IMAPMessageHandle, _ body: (UnsafeRawBufferPointer) -> R) throws(IMAPStoreError) -> R {
        guard let bytes = blobs[handle.key],
              expungedBytesReadable || mailboxes.contains(where: { $0.messages.contains { $0.handle == handle } }) else {
            throw .unavailable("Message is gone")
        }
        return bytes.withUnsafeBytes(body)
    }
}
