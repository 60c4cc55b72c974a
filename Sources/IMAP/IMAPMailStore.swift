// The mailbox store as the IMAP session needs it: one account's mailboxes, their
// messages (UID, flags, modification sequence, size, internal date, a handle to the
// bytes) and the changes other sessions made. Shaped for IMAP, not for a backend: the
// Gateway adapts MailStore to it. Every method is synchronous — the driver runs the
// session's store work on a thread pool, one command at a time per connection — and
// every write is durable when the method returns (DESIGN.md: an OK after
// APPEND/STORE/EXPUNGE only after the commit). Failures throw `IMAPStoreError`, which
// carries the response code the session answers with.

/// Identifies an open mailbox for later calls (opaque to the session; stable while the
/// mailbox exists, so a rename by another session does not break a selection).
public struct IMAPMailboxID: Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}

/// Where a message's bytes are (opaque to the session: mailbox/uid, a blob key, …).
public struct IMAPMessageHandle: Sendable, Hashable {
    public var mailbox: UInt64
    public var key: UInt64
    public init(mailbox: UInt64, key: UInt64) { self.mailbox = mailbox; self.key = key }
}

/// One mailbox of LIST. Names are Unicode with "/" as the hierarchy delimiter; "INBOX"
/// is spelled so. Children are worked out by the session from the names.
public struct IMAPMailboxInfo: Sendable, Equatable {
    public var name: String
    /// RFC 6154 attribute ("\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"), if any.
    public var specialUse: String?
    public var subscribed: Bool
    /// false: only a subscription to a name with no mailbox (RFC 3501 §6.3.6 lets
    /// subscriptions outlive their mailbox; LIST (SUBSCRIBED) shows them \NonExistent).
    public var exists: Bool
    public init(name: String, specialUse: String? = nil, subscribed: Bool = false, exists: Bool = true) {
        self.name = name; self.specialUse = specialUse; self.subscribed = subscribed; self.exists = exists
    }
}

/// One message as the session tracks it.
public struct IMAPMessageRecord: Sendable, Equatable {
    public var uid: UInt32
    /// As stored: system flags with their backslash ("\\Seen"), keywords as given. Never "\\Recent".
    public var flags: [String]
    public var modSeq: UInt64
    /// RFC822.SIZE: the stored bytes' count.
    public var size: Int
    /// INTERNALDATE, seconds since the epoch.
    public var internalDate: Double
    public var handle: IMAPMessageHandle
    public init(uid: UInt32, flags: [String], modSeq: UInt64, size: Int, internalDate: Double, handle: IMAPMessageHandle) {
        self.uid = uid; self.flags = flags; self.modSeq = modSeq; self.size = size
        self.internalDate = internalDate; self.handle = handle
    }
}

/// A mailbox opened by SELECT/EXAMINE: its messages in ascending UID order.
public struct IMAPMailboxSnapshot: Sendable, Equatable {
    public var id: IMAPMailboxID
    public var uidValidity: UInt32
    public var uidNext: UInt32
    /// The highest modification sequence of the mailbox (≥ 1, RFC 7162 §3.1.2.1).
    public var highestModSeq: UInt64
    public var messages: [IMAPMessageRecord]
    public init(id: IMAPMailboxID, uidValidity: UInt32, uidNext: UInt32, highestModSeq: UInt64, messages: [IMAPMessageRecord]) {
        self.id = id; self.uidValidity = uidValidity; self.uidNext = uidNext
        self.highestModSeq = highestModSeq; self.messages = messages
    }
}

/// STATUS counts.
public struct IMAPMailboxStatus: Sendable, Equatable {
    public var messages: Int
    /// Messages no session has claimed as \Recent yet (UID at or above the mailbox's
    /// first-recent UID, see `IMAPMailStore.firstRecentUID`).
    public var recent: Int
    public var unseen: Int
    public var deleted: Int
    public var uidNext: UInt32
    public var uidValidity: UInt32
    /// Sum of the messages' sizes (STATUS=SIZE, RFC 8438).
    public var size: UInt64
    public var highestModSeq: UInt64
    public init(messages: Int, recent: Int = 0, unseen: Int, deleted: Int, uidNext: UInt32, uidValidity: UInt32, size: UInt64,
                highestModSeq: UInt64) {
        self.messages = messages; self.recent = recent; self.unseen = unseen; self.deleted = deleted; self.uidNext = uidNext
        self.uidValidity = uidValidity; self.size = size; self.highestModSeq = highestModSeq
    }
}

/// What changed in a mailbox after a modification sequence.
public struct IMAPMailboxChanges: Sendable, Equatable {
    public var uidNext: UInt32
    public var highestModSeq: UInt64
    /// Messages added or whose flags changed with a modseq above `since`, ascending UID.
    public var changed: [IMAPMessageRecord]
    /// UIDs expunged with a modseq above `since` (the store keeps expunge records for
    /// this; QRESYNC needs them too), any order.
    public var vanished: [UInt32]
    public init(uidNext: UInt32, highestModSeq: UInt64, changed: [IMAPMessageRecord], vanished: [UInt32]) {
        self.uidNext = uidNext; self.highestModSeq = highestModSeq; self.changed = changed; self.vanished = vanished
    }
}

public struct IMAPAppendResult: Sendable, Equatable {
    public var uidValidity: UInt32
    public var uid: UInt32
    public init(uidValidity: UInt32, uid: UInt32) { self.uidValidity = uidValidity; self.uid = uid }
}

/// COPY/MOVE: the destination's UIDVALIDITY and the UIDs given, source → destination.
public struct IMAPCopyResult: Sendable, Equatable {
    public var uidValidity: UInt32
    public var sourceUIDs: [UInt32]
    public var destinationUIDs: [UInt32]
    public init(uidValidity: UInt32, sourceUIDs: [UInt32], destinationUIDs: [UInt32]) {
        self.uidValidity = uidValidity; self.sourceUIDs = sourceUIDs; self.destinationUIDs = destinationUIDs
    }
}

/// STORE: the messages whose flags now differ (new flags and modseq), and those left
/// alone because their modseq was above UNCHANGEDSINCE (RFC 7162 §3.1.3).
public struct IMAPFlagsResult: Sendable, Equatable {
    public var updated: [IMAPMessageRecord]
    public var modified: [UInt32]
    public init(updated: [IMAPMessageRecord], modified: [UInt32] = []) { self.updated = updated; self.modified = modified }
}

/// The account's quota (RFC 9208): bytes used and allowed; nil limit = unlimited.
public struct IMAPQuota: Sendable, Equatable {
    public var usedBytes: UInt64
    public var limitBytes: UInt64?
    public var messages: UInt64
    public init(usedBytes: UInt64, limitBytes: UInt64?, messages: UInt64) {
        self.usedBytes = usedBytes; self.limitBytes = limitBytes; self.messages = messages
    }
}

/// A store refusal or failure with the answer it needs: `NO [code] text`.
public struct IMAPStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: IMAPResponseCode?
    public var text: String
    public init(_ code: IMAPResponseCode?, _ text: String) { self.code = code; self.text = text }

    public static let noSuchMailbox = IMAPStoreError(.nonExistent, "No such mailbox")
    /// APPEND/COPY/MOVE to a mailbox that does not exist (RFC 3501 §6.3.11).
    public static let tryCreate = IMAPStoreError(.tryCreate, "No such mailbox")
    public static let alreadyExists = IMAPStoreError(.alreadyExists, "Mailbox already exists")
    public static let overQuota = IMAPStoreError(.overQuota, "Quota exceeded")
    public static let tooBig = IMAPStoreError(.tooBig, "Message too big")
    public static func unavailable(_ text: String) -> IMAPStoreError { IMAPStoreError(.unavailable, text) }

    public var description: String { "NO" + (code.map { " [\($0)]" } ?? "") + " " + text }
}

/// One account's mailboxes. Mailbox names are Unicode, "/"-delimited, "INBOX" for the
/// inbox (the session normalises its case); the INBOX always exists.
public protocol IMAPMailStore {
    /// Every mailbox of the account, and every subscribed name that has no mailbox
    /// (`exists` false), in any order.
    func listMailboxes() throws(IMAPStoreError) -> [IMAPMailboxInfo]
    /// `.alreadyExists`; a missing parent is created implicitly or refused, the store's choice.
    func createMailbox(_ name: String, specialUse: String?) throws(IMAPStoreError)
    /// Removes the mailbox and its messages (`.noSuchMailbox`; INBOX is refused by the session).
    func deleteMailbox(_ name: String) throws(IMAPStoreError)
    /// Renames the mailbox and its children (RFC 3501 §6.3.5; renaming INBOX moves its
    /// messages to the new mailbox and leaves INBOX empty).
    func renameMailbox(_ name: String, to newName: String) throws(IMAPStoreError)
    /// SUBSCRIBE/UNSUBSCRIBE (subscribing to a name that does not exist may be refused).
    func setSubscribed(_ name: String, _ subscribed: Bool) throws(IMAPStoreError)
    /// SELECT/EXAMINE: the mailbox's current state.
    func openMailbox(_ name: String) throws(IMAPStoreError) -> IMAPMailboxSnapshot
    func status(_ name: String) throws(IMAPStoreError) -> IMAPMailboxStatus
    /// Stores a message durably (`.tryCreate`, `.overQuota`, `.tooBig`). `internalDate`
    /// nil: now. Flags as given (keywords may be new).
    func append(to name: String, message: [UInt8], flags: [String], internalDate: Double?) throws(IMAPStoreError) -> IMAPAppendResult
    /// COPY (and MOVE when `move`: the source messages are expunged in the same
    /// transaction). UIDs that no longer exist are skipped. `.tryCreate`, `.overQuota`.
    func copy(_ uids: [UInt32], from mailbox: IMAPMailboxID, to name: String, move: Bool) throws(IMAPStoreError) -> IMAPCopyResult
    /// Changes the flags of `uids` (missing UIDs are skipped); each changed message gets a
    /// new modseq. With `unchangedSince`, a message whose modseq is above it is not changed
    /// and is reported in `modified`.
    func storeFlags(_ uids: [UInt32], in mailbox: IMAPMailboxID, operation: StoreAction.Operation,
                    flags: [String], unchangedSince: UInt64?) throws(IMAPStoreError) -> IMAPFlagsResult
    /// Expunges those of `uids` that carry \Deleted now; returns the UIDs removed.
    func expunge(_ uids: [UInt32], in mailbox: IMAPMailboxID) throws(IMAPStoreError) -> [UInt32]
    /// What changed after `modSeq` (`.noSuchMailbox` if the mailbox was deleted).
    func changes(in mailbox: IMAPMailboxID, since modSeq: UInt64) throws(IMAPStoreError) -> IMAPMailboxChanges
    /// \Recent (RFC 3501 §2.3.2): the mailbox's first UID that no session has claimed
    /// (1 for a mailbox never selected read-write). With `claimUpTo`, the caller claims
    /// every UID below it in one atomic step: the mark moves up to `claimUpTo` (never
    /// down) and the mark as it was is returned, so the messages from there up to
    /// `claimUpTo` are recent for this caller and for no other session.
    func firstRecentUID(in mailbox: IMAPMailboxID, claimUpTo: UInt32?) throws(IMAPStoreError) -> UInt32
    func quota() throws(IMAPStoreError) -> IMAPQuota
    /// Runs `body` over the message's stored bytes (zero-copy where the backend can);
    /// `.unavailable` (or nil result) if the message is gone.
    func withMessageBytes<R>(_ handle: IMAPMessageHandle, _ body: (UnsafeRawBufferPointer) -> R) throws(IMAPStoreError) -> R
}
