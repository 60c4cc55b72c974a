// The public value types of the store API the IMAP server uses (docs/dev/imap-api.md,
// "Store API for IMAP"): flag modes and results, append/copy results, snapshots, change
// sets, quota, and the bounds every IMAP-facing call enforces. Plain Sendable values.

/// How `storeFlags` combines the given flags with a message's current ones (STORE FLAGS,
/// +FLAGS, -FLAGS).
public enum FlagStoreMode: Sendable, Equatable {
    case replace, add, remove
}

/// The outcome of `storeFlags`.
public struct FlagUpdateResult: Sendable, Equatable {
    /// Messages whose flags changed, with their new flags and modseq, ascending UID.
    public var changed: [MessageInfo]
    /// UIDs left alone because their modseq was above UNCHANGEDSINCE (RFC 7162 MODIFIED).
    public var failedUnchangedSince: [UInt32]

    public init(changed: [MessageInfo], failedUnchangedSince: [UInt32]) {
        self.changed = changed
        self.failedUnchangedSince = failedUnchangedSince
    }
}

/// APPEND: where the message went (APPENDUID needs uidValidity + uid).
public struct AppendResult: Sendable, Equatable {
    public var mailboxID: UInt64
    public var uidValidity: UInt32
    public var uid: UInt32
    public var modSeq: UInt64

    public init(mailboxID: UInt64, uidValidity: UInt32, uid: UInt32, modSeq: UInt64) {
        self.mailboxID = mailboxID
        self.uidValidity = uidValidity
        self.uid = uid
        self.modSeq = modSeq
    }
}

/// COPY/MOVE: the destination's UIDVALIDITY and the UIDs copied, pairwise source →
/// destination in ascending source order (COPYUID). UIDs that did not exist are absent.
public struct CopyResult: Sendable, Equatable {
    public var uidValidity: UInt32
    public var sourceUIDs: [UInt32]
    public var destinationUIDs: [UInt32]

    public init(uidValidity: UInt32, sourceUIDs: [UInt32], destinationUIDs: [UInt32]) {
        self.uidValidity = uidValidity
        self.sourceUIDs = sourceUIDs
        self.destinationUIDs = destinationUIDs
    }
}

/// SELECT/EXAMINE: the mailbox and its messages (ascending UID) from one read snapshot.
public struct MailboxSnapshot: Sendable, Equatable {
    public var mailbox: MailboxInfo
    public var messages: [MessageInfo]

    public init(mailbox: MailboxInfo, messages: [MessageInfo]) {
        self.mailbox = mailbox
        self.messages = messages
    }
}

/// UIDs expunged after a modseq. `isComplete` is false when tombstones that old were
/// pruned: the caller must then treat every UID it knows but no longer sees as vanished
/// (RFC 7162 §3.2.5.2 allows exactly that).
public struct VanishedUIDs: Sendable, Equatable {
    public var uids: [UInt32]
    public var isComplete: Bool

    public init(uids: [UInt32], isComplete: Bool) {
        self.uids = uids
        self.isComplete = isComplete
    }
}

/// Everything a session watching a mailbox needs after a modseq, from one read snapshot.
public struct MailboxChanges: Sendable, Equatable {
    /// The mailbox now (UIDNEXT, HIGHESTMODSEQ, counts).
    public var mailbox: MailboxInfo
    /// Messages added or whose flags changed with a modseq above `since`, ascending UID.
    public var changed: [MessageInfo]
    /// Messages expunged with a modseq above `since`.
    public var vanished: VanishedUIDs

    public init(mailbox: MailboxInfo, changed: [MessageInfo], vanished: VanishedUIDs) {
        self.mailbox = mailbox
        self.changed = changed
        self.vanished = vanished
    }
}

/// The account's storage quota (RFC 9208 STORAGE is in KiB: divide by 1024, round up).
public struct AccountQuota: Sendable, Equatable {
    public var usedBytes: Int64
    public var limitBytes: Int64
    public var messageCount: Int

    public init(usedBytes: Int64, limitBytes: Int64, messageCount: Int) {
        self.usedBytes = usedBytes
        self.limitBytes = limitBytes
        self.messageCount = messageCount
    }
}

/// The bounds the IMAP-facing store calls enforce (exceeding one is `.invalid`).
public enum StoreLimits {
    /// UIDs in one storeFlags/copy/move/expunge/removeMessages call.
    public static let maxUIDsPerCall = 1_000_000
    /// Mailboxes one account may have.
    public static let maxMailboxesPerAccount = 5_000
    /// Bytes of a mailbox name (UTF-8), and levels of hierarchy in it.
    public static let maxMailboxNameBytes = 200
    public static let maxHierarchyDepth = 32
    /// Expunge tombstones kept per mailbox for QRESYNC (older ones are pruned).
    public static let maxTombstonesPerMailbox = 10_000
    /// Seconds an expunged message's bytes stay readable (by blob id) after its last
    /// reference went, so a session not yet sent the EXPUNGE can still FETCH it (RFC 2180
    /// §4.1.1). Longer than IMAP's 30-minute autologout: a session that sends nothing is
    /// gone before its messages are; one that sends any command but FETCH, STORE or
    /// SEARCH is told of the expunge at once.
    public static let expungedBlobGrace: Double = 35 * 60
    /// Flags on one message, and bytes of one flag.
    public static let maxFlagsPerMessage = MessageFlags.maxCount
    public static let maxFlagBytes = MessageFlags.maxLength
}
