// The stored records and their encodings. Everything read on a hot path (accounts,
// mailboxes, messages, whitelist, counters) uses the compact binary codec in Codec.swift;
// queue entries (rare, nested, evolving) are JSON via Foundation's JSONEncoder.
// Record layouts (after the version byte, v1):
//   Domain:    f64 created
//   Account:   opt passwordHash, opt apopSecret, i64 quota, i64 usedBytes, i64 messageCount, f64 created
//   Alias:     strings targets
//   Mailbox:   str account, str name, u32 uidValidity, u32 uidNext, u64 highestModSeq,
//              i64 messageCount, i64 totalSize, opt specialUse,
//              v2: i64 unseenCount, i64 deletedCount, i64 tombstoneCount, u64 vanishedFloor
//   Message:   u64 blobID, i64 size, f64 internalDate, u64 modSeq, strings flags
//   Whitelist: f64 expires, opt user
//   Counter:   f64 window, f64 granularity, u32 n, n × (i64 bucket, i64 count)

import Foundation

struct DomainRecord {
    var created: Double

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.f64(created)
        return w.bytes
    }

    init(created: Double) { self.created = created }

    init(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var r = try ByteReader(bytes, record: "domain")
        created = try r.f64()
    }
}

struct AccountRecord {
    var passwordHash: String?
    var apopSecret: String?
    var quota: Int64
    var usedBytes: Int64
    var messageCount: Int64
    var created: Double

    init(passwordHash: String?, apopSecret: String?, quota: Int64, created: Double) {
        self.passwordHash = passwordHash
        self.apopSecret = apopSecret
        self.quota = quota
        self.usedBytes = 0
        self.messageCount = 0
        self.created = created
    }

    init(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var r = try ByteReader(bytes, record: "account")
        passwordHash = try r.optionalString()
        apopSecret = try r.optionalString()
        quota = try r.i64()
        usedBytes = try r.i64()
        messageCount = try r.i64()
        created = try r.f64()
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.optionalString(passwordHash)
        w.optionalString(apopSecret)
        w.i64(quota)
        w.i64(usedBytes)
        w.i64(messageCount)
        w.f64(created)
        return w.bytes
    }

    func account(address: String) -> Account {
        Account(address: address, passwordHash: passwordHash, apopSecret: apopSecret, quota: quota,
                usedBytes: usedBytes, messageCount: Int(messageCount), created: created)
    }
}

struct AliasRecord {
    var targets: [String]

    init(targets: [String]) { self.targets = targets }

    init(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var r = try ByteReader(bytes, record: "alias")
        targets = try r.strings()
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.strings(targets)
        return w.bytes
    }
}

struct MailboxRecord {
    var account: String
    var name: String
    var uidValidity: UInt32
    var uidNext: UInt32
    var highestModSeq: UInt64
    var messageCount: Int64
    var totalSize: Int64
    var specialUse: String?
    /// Messages without \\Seen / with \\Deleted (STATUS UNSEEN / DELETED without a scan).
    var unseenCount: Int64 = 0
    var deletedCount: Int64 = 0
    /// Rows of this mailbox in `expunged` (bounded by ExpungeHistory.limit).
    var tombstoneCount: Int64 = 0
    /// The highest modseq of a pruned tombstone: `vanished(since:)` is complete exactly
    /// when since >= vanishedFloor.
    var vanishedFloor: UInt64 = 0

    init(account: String, name: String, uidValidity: UInt32, specialUse: String?) {
        self.account = account
        self.name = name
        self.uidValidity = uidValidity
        self.uidNext = 1
        self.highestModSeq = 1
        self.messageCount = 0
        self.totalSize = 0
        self.specialUse = specialUse
    }

    init(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var r = try ByteReader(bytes, record: "mailbox")
        account = try r.string()
        name = try r.string()
        uidValidity = try r.u32()
        uidNext = try r.u32()
        highestModSeq = try r.u64()
        messageCount = try r.i64()
        totalSize = try r.i64()
        specialUse = try r.optionalString()
        if r.version >= 2 {
            unseenCount = try r.i64()
            deletedCount = try r.i64()
            tombstoneCount = try r.i64()
            vanishedFloor = try r.u64()
        } else {
            // Version 1 had no counts; the schema migration recomputes them.
            unseenCount = messageCount
        }
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 2)
        w.string(account)
        w.string(name)
        w.u32(uidValidity)
        w.u32(uidNext)
        w.u64(highestModSeq)
        w.i64(messageCount)
        w.i64(totalSize)
        w.optionalString(specialUse)
        w.i64(unseenCount)
        w.i64(deletedCount)
        w.i64(tombstoneCount)
        w.u64(vanishedFloor)
        return w.bytes
    }

    func info(id: UInt64) -> MailboxInfo {
        MailboxInfo(id: id, account: account, name: name, uidValidity: uidValidity, uidNext: uidNext,
                    highestModSeq: highestModSeq, messageCount: Int(messageCount), totalSize: totalSize,
                    specialUse: specialUse, unseenCount: Int(unseenCount), deletedCount: Int(deletedCount))
    }
}

struct MessageRecord {
    var blobID: UInt64
    var size: Int64
    var internalDate: Double
    var modSeq: UInt64
    var flags: [String]

    init(blobID: UInt64, size: Int64, internalDate: Double, modSeq: UInt64, flags: [String]) {
        self.blobID = blobID
        self.size = size
        self.internalDate = internalDate
        self.modSeq = modSeq
        self.flags = flags
    }

    init(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var r = try ByteReader(bytes, record: "message")
        blobID = try r.u64()
        size = try r.i64()
        internalDate = try r.f64()
        modSeq = try r.u64()
        flags = try r.strings()
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.u64(blobID)
        w.i64(size)
        w.f64(internalDate)
        w.u64(modSeq)
        w.strings(flags)
        return w.bytes
    }

    func info(mailboxID: UInt64, uid: UInt32) -> MessageInfo {
        MessageInfo(mailboxID: mailboxID, uid: uid, blobID: blobID, size: Int(size),
                    internalDate: internalDate, flags: flags, modSeq: modSeq)
    }
}

struct WhitelistRecord {
    var expires: Double
    var user: String?

    init(expires: Double, user: String?) {
        self.expires = expires
        self.user = user
    }

    init(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var r = try ByteReader(bytes, record: "whitelist")
        expires = try r.f64()
        user = try r.optionalString()
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(version: 1)
        w.f64(expires)
        w.optionalString(user)
        return w.bytes
    }
}

/// Queue entries are JSON: read by the queue runner and the CLI, not per SMTP command.
enum QueueCodec {
    static func encode(_ entry: QueueEntry) throws(StoreError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(entry))
        } catch {
            throw StoreError(.invalid, "cannot encode queue entry \(entry.id): \(error)")
        }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(StoreError) -> QueueEntry {
        do {
            return try JSONDecoder().decode(QueueEntry.self, from: Data(bytes))
        } catch {
            throw StoreError(.io, "corrupt queue entry: \(error)")
        }
    }
}
