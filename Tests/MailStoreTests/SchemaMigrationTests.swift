import Testing
@testable import MailStore

@Suite struct SchemaMigrationTests {
    @Test func aVersion1StoreIsUpgradedOnOpen() throws {
        let dir = TempDir()
        var store = try LMDBStore(directory: dir.path, durable: false)
        try store.addDomain("example.test")
        try store.addAccount(alice, passwordHash: nil, quota: nil, apopSecret: nil)
        for i in 0..<3 { _ = try deliverTo(store, "m\(i)") }
        let inbox = try store.mailboxID("INBOX")
        _ = try store.storeFlags(mailboxID: inbox, uids: [1], mode: .add, flags: ["\\Seen", "\\Deleted"])
        // Turn it back into what mailgate wrote before schema 2.
        try store.testWrite { txn throws(StoreError) in
            var ids: [UInt64] = []
            try txn.scan(.mailboxes) { key, _ in ids.append(Keys.readBE64(key)); return true }
            for id in ids {
                let r = try txn.mailboxRecord(id)!
                var w = ByteWriter(version: 1)
                w.string(r.account); w.string(r.name); w.u32(r.uidValidity); w.u32(r.uidNext)
                w.u64(r.highestModSeq); w.i64(r.messageCount); w.i64(r.totalSize); w.optionalString(r.specialUse)
                try txn.put(.mailboxes, Keys.id(id), w.bytes)
            }
            for db in [DB.modSeqIndex, .subscriptions] {
                for key in try txn.keys(db, prefix: []) { try txn.delete(db, key) }
            }
            try txn.put(.meta, Array("schema".utf8), Keys.be32(1))
        }
        store.close()

        store = try LMDBStore(directory: dir.path, durable: false)
        defer { store.close() }
        try store.checkInvariants(inbox)
        let status = try store.mailboxStatus(account: alice, name: "INBOX")
        #expect(status.unseenCount == 2 && status.deletedCount == 1 && status.messageCount == 3)
        #expect(try store.changes(mailboxID: inbox, sinceModSeq: 0).map(\.uid) == [1, 2, 3])
        #expect(try store.subscriptions(account: alice).count == 6)
        #expect(try store.expunge(mailboxID: inbox) == [1])
        let version = try store.read { txn throws(StoreError) in try txn.get(.meta, Array("schema".utf8)).map { Keys.readBE32($0) } }
        #expect(version == 2)
    }
}
