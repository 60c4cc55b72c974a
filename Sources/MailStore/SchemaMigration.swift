// Upgrades a store written by an older mailgate when it is opened (inside the set-up
// transaction, so it happens once, atomically, before any other access):
//  1 → 2: mailbox records gain unseen/deleted counts and tombstone bookkeeping, every
//         message gets its row in the modseq index, and every existing mailbox is
//         subscribed (accounts were created with all standard mailboxes "subscribed"
//         in spirit; IMAP clients that show only subscribed folders would hide them).
// Cost: one pass over the message records.

extension Txn {
    func migrateSchema1To2() throws(StoreError) {
        var ids: [UInt64] = []
        try scan(.mailboxes) { key, _ in
            if key.count == 8 { ids.append(Keys.readBE64(key)) }
            return true
        }
        for id in ids {
            guard var mailbox = try mailboxRecord(id) else { continue }
            mailbox.unseenCount = 0
            mailbox.deletedCount = 0
            var rows: [(uid: UInt32, modSeq: UInt64)] = []
            try scan(.messages, prefix: Keys.id(id)) { key, value throws(StoreError) in
                guard key.count == 12 else { return true }
                let record = try MessageRecord(value)
                if !MessageFlags.contains(record.flags, MessageFlags.seen) { mailbox.unseenCount += 1 }
                if MessageFlags.contains(record.flags, MessageFlags.deleted) { mailbox.deletedCount += 1 }
                rows.append((Keys.readBE32(key, at: 8), record.modSeq))
                return true
            }
            for row in rows { try put(.modSeqIndex, Keys.modSeqRow(id, row.modSeq, row.uid), [1]) }
            try put(.mailboxes, Keys.id(id), mailbox.encoded())
            try setSubscribed(account: mailbox.account, name: mailbox.name, true)
        }
    }
}
