// The public value types of the MailStore API (docs/dev/store-api.md): errors, accounts,
// aliases, mailboxes, messages, whitelist entries, queue entries and delivery requests.
// Plain Sendable values with public initializers; no I/O and no LMDB here.

/// Every store failure: a kind the caller maps to a protocol reply, and a message for humans.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `overQuota`: the account's quota would be exceeded (IMAP `NO [OVERQUOTA]`).
    public enum Kind: Sendable, Equatable { case notFound, alreadyExists, invalid, refused, mapFull, io, locked, overQuota }
    public var kind: Kind
    public var message: String
    /// The LMDB/errno return code behind an `.io`/`.mapFull`/`.locked` error (0 when none).
    var code: Int32 = 0

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    init(_ kind: Kind, _ message: String, code: Int32) {
        self.kind = kind
        self.message = message
        self.code = code
    }

    public var description: String { message }

    public static func == (lhs: StoreError, rhs: StoreError) -> Bool {
        lhs.kind == rhs.kind && lhs.message == rhs.message
    }

    static let closed = StoreError(.io, "the mail store is closed")
}

public struct Account: Sendable, Equatable {
    public var address: String          // "user@domain"
    public var passwordHash: String?    // crypt(3) string; nil = login disabled
    public var apopSecret: String?      // plaintext APOP shared secret, only when enabled
    public var quota: Int64             // bytes
    public var usedBytes: Int64
    public var messageCount: Int
    public var created: Double          // epoch seconds

    public init(address: String, passwordHash: String?, apopSecret: String?, quota: Int64,
                usedBytes: Int64, messageCount: Int, created: Double) {
        self.address = address
        self.passwordHash = passwordHash
        self.apopSecret = apopSecret
        self.quota = quota
        self.usedBytes = usedBytes
        self.messageCount = messageCount
        self.created = created
    }

    /// Quota given to accounts created without one (25 MiB).
    public static let defaultQuota: Int64 = 25 * 1024 * 1024
}

public struct Alias: Sendable, Equatable {
    public var source: String
    public var targets: [String]
    public init(source: String, targets: [String]) {
        self.source = source
        self.targets = targets
    }
}

public struct MailboxInfo: Sendable, Equatable {
    public var id: UInt64
    public var account: String
    public var name: String             // "INBOX", "Sent", ...
    public var uidValidity: UInt32
    public var uidNext: UInt32
    public var highestModSeq: UInt64
    public var messageCount: Int
    public var totalSize: Int64
    public var specialUse: String?      // "\\Sent" ...
    /// Messages without \\Seen (STATUS UNSEEN), kept up to date by every write.
    public var unseenCount: Int
    /// Messages with \\Deleted (STATUS DELETED), kept up to date by every write.
    public var deletedCount: Int

    public init(id: UInt64, account: String, name: String, uidValidity: UInt32, uidNext: UInt32,
                highestModSeq: UInt64, messageCount: Int, totalSize: Int64, specialUse: String?,
                unseenCount: Int = 0, deletedCount: Int = 0) {
        self.id = id
        self.account = account
        self.name = name
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.highestModSeq = highestModSeq
        self.messageCount = messageCount
        self.totalSize = totalSize
        self.specialUse = specialUse
        self.unseenCount = unseenCount
        self.deletedCount = deletedCount
    }
}

public struct MessageInfo: Sendable, Equatable {
    public var mailboxID: UInt64
    public var uid: UInt32
    public var blobID: UInt64
    public var size: Int
    public var internalDate: Double
    public var flags: [String]
    public var modSeq: UInt64

    public init(mailboxID: UInt64, uid: UInt32, blobID: UInt64, size: Int, internalDate: Double,
                flags: [String], modSeq: UInt64) {
        self.mailboxID = mailboxID
        self.uid = uid
        self.blobID = blobID
        self.size = size
        self.internalDate = internalDate
        self.flags = flags
        self.modSeq = modSeq
    }
}

public struct WhitelistEntry: Sendable, Equatable {
    public var ip: String
    public var user: String?
    public var expires: Double
    public init(ip: String, user: String?, expires: Double) {
        self.ip = ip
        self.user = user
        self.expires = expires
    }
}

public struct QueueRecipient: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case pending, deferred, delivered, failed }
    public var address: String
    public var state: State
    public var attempts: Int
    public var nextAttempt: Double
    public var lastError: String?
    public var notify: String?          // DSN NOTIFY as given
    public var orcpt: String?           // DSN ORCPT as given
    /// A NOTIFY=DELAY notice was sent for this recipient (absent in entries written before it existed).
    public var delayNotified: Bool? = nil
    /// The `[routes]` entry a `deliver` policy picked (mailgate.route); nil: the domain's own.
    public var route: String? = nil

    public init(address: String, state: State = .pending, attempts: Int = 0, nextAttempt: Double = 0,
                lastError: String? = nil, notify: String? = nil, orcpt: String? = nil) {
        self.address = address
        self.state = state
        self.attempts = attempts
        self.nextAttempt = nextAttempt
        self.lastError = lastError
        self.notify = notify
        self.orcpt = orcpt
    }
}

public struct QueueEntry: Sendable, Equatable, Codable {
    public var id: String               // "" in a DeliveryRequest: the store assigns one
    public var sender: String           // "" = null sender
    public var recipients: [QueueRecipient]
    public var blobID: UInt64           // filled in by the store
    public var size: Int                // filled in by the store
    public var created: Double          // 0 in a DeliveryRequest: the request's internalDate
    public var held: Bool
    public var envid: String?
    public var ret: String?

    public init(id: String = "", sender: String, recipients: [QueueRecipient], blobID: UInt64 = 0,
                size: Int = 0, created: Double = 0, held: Bool = false, envid: String? = nil,
                ret: String? = nil) {
        self.id = id
        self.sender = sender
        self.recipients = recipients
        self.blobID = blobID
        self.size = size
        self.created = created
        self.held = held
        self.envid = envid
        self.ret = ret
    }
}

/// One recipient's delivery request inside `deliver(_:)`.
public struct LocalDeliveryTarget: Sendable, Equatable {
    public var account: String
    public var folder: String           // "INBOX"; an unknown folder falls back to INBOX
    public init(account: String, folder: String = "INBOX") {
        self.account = account
        self.folder = folder
    }
}

public struct DeliveryRequest: Sendable {
    public var message: [UInt8]              // the full message as stored (trace headers already added)
    public var local: [LocalDeliveryTarget]  // mailbox deliveries (quota enforced per account)
    public var remote: QueueEntry?           // relayed recipients (blobID filled in by the store)
    public var internalDate: Double

    public init(message: [UInt8], local: [LocalDeliveryTarget], remote: QueueEntry? = nil,
                internalDate: Double) {
        self.message = message
        self.local = local
        self.remote = remote
        self.internalDate = internalDate
    }
}

public enum RecipientOutcome: Sendable, Equatable {
    case stored(uid: UInt32)
    case overQuota              // 452 4.2.2
    case messageExceedsQuota    // 552 5.2.2 (message alone larger than the quota)
    case noSuchAccount
}

public struct DeliveryResult: Sendable, Equatable {
    public var local: [RecipientOutcome]     // same order as request.local
    public var queued: Bool
    /// The id of the queue entry written (the request's id, or the one the store assigned).
    public var queueID: String?

    public init(local: [RecipientOutcome], queued: Bool, queueID: String? = nil) {
        self.local = local
        self.queued = queued
        self.queueID = queueID
    }
}
