// A thin, non-owning view of an MDB_txn: get/put/delete and prefix range scans on the
// named databases. Values handed to callbacks point into LMDB's map and are valid only
// until the transaction ends: decode or copy them before returning.

import CLMDB

struct Txn {
    let raw: OpaquePointer
    let env: LMDBEnvironment
    /// Set by the writer thread: collects the mailboxes this operation changed, reported
    /// to observers after the commit (MailboxChangeObservers.swift). nil for reads.
    var changeLog: MailboxChangeLog? = nil

    /// LMDB's transaction id: for a write transaction (or a child of one) the id its
    /// commit will carry; for a read transaction the id of the snapshot it sees. A
    /// snapshot includes exactly the commits whose id is at most its own.
    var id: UInt { UInt(mdb_txn_id(raw)) }

    /// The value stored under `key`, or nil.
    func get(_ db: DB, _ key: [UInt8]) throws(StoreError) -> UnsafeRawBufferPointer? {
        var value = MDB_val()
        let rc = key.withUnsafeBytes { k -> Int32 in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            return mdb_get(raw, env.dbi(db), &kv, &value)
        }
        if rc == MDB_NOTFOUND { return nil }
        guard rc == 0 else { throw LMDBEnvironment.error(rc, "read from \(db.name)") }
        return UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
    }

    func contains(_ db: DB, _ key: [UInt8]) throws(StoreError) -> Bool {
        try get(db, key) != nil
    }

    /// Stores `value` under `key`; with `noOverwrite`, an existing key throws `.alreadyExists`.
    func put(_ db: DB, _ key: [UInt8], _ value: [UInt8], noOverwrite: Bool = false) throws(StoreError) {
        guard !key.isEmpty, key.count <= 511 else { throw StoreError(.invalid, "key too long or empty for \(db.name)") }
        let flags = noOverwrite ? UInt32(MDB_NOOVERWRITE) : 0
        let rc = key.withUnsafeBytes { k -> Int32 in
            value.withUnsafeBytes { v -> Int32 in
                var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                var vv = MDB_val(mv_size: v.count, mv_data: UnsafeMutableRawPointer(mutating: v.baseAddress))
                return mdb_put(raw, env.dbi(db), &kv, &vv, flags)
            }
        }
        if rc == MDB_KEYEXIST { throw StoreError(.alreadyExists, "key exists in \(db.name)") }
        guard rc == 0 else { throw LMDBEnvironment.error(rc, "write to \(db.name)") }
    }

    /// Deletes `key`; returns false when it was absent.
    @discardableResult
    func delete(_ db: DB, _ key: [UInt8]) throws(StoreError) -> Bool {
        let rc = key.withUnsafeBytes { k -> Int32 in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            return mdb_del(raw, env.dbi(db), &kv, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        guard rc == 0 else { throw LMDBEnvironment.error(rc, "delete from \(db.name)") }
        return true
    }

    /// Calls `body` for each key starting with `prefix` in key order, until it returns false.
    /// `from` (a key starting with `prefix`) starts the scan there instead of at the prefix.
    func scan(_ db: DB, prefix: [UInt8] = [], from: [UInt8]? = nil,
              _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(StoreError) -> Bool)
        throws(StoreError) {
        var cursor: OpaquePointer?
        var rc = mdb_cursor_open(raw, env.dbi(db), &cursor)
        guard rc == 0, let cursor else { throw LMDBEnvironment.error(rc, "open cursor on \(db.name)") }
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        let start = from ?? prefix
        let startStorage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(start.count, 1), alignment: 1)
        defer { startStorage.deallocate() }
        startStorage.copyBytes(from: start)
        if start.isEmpty {
            rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        } else {
            key = MDB_val(mv_size: start.count, mv_data: startStorage.baseAddress)
            rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
        }
        while rc == 0 {
            let k = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
            if !prefix.isEmpty && !(k.count >= prefix.count && k.prefix(prefix.count).elementsEqual(prefix)) { return }
            let v = UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
            guard try body(k, v) else { return }
            rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        guard rc == MDB_NOTFOUND else { throw LMDBEnvironment.error(rc, "scan \(db.name)") }
    }

    /// Every key (copied) with `prefix`.
    func keys(_ db: DB, prefix: [UInt8]) throws(StoreError) -> [[UInt8]] {
        var result: [[UInt8]] = []
        try scan(db, prefix: prefix) { k, _ in
            result.append(Array(k))
            return true
        }
        return result
    }

    /// Next value of the named id sequence in `meta` (first value 1).
    func nextSequence(_ name: String) throws(StoreError) -> UInt64 {
        let key = Array("seq.\(name)".utf8)
        let current = try get(.meta, key).map { Keys.readBE64($0) } ?? 0
        let next = current + 1
        try put(.meta, key, Keys.be64(next))
        return next
    }
}
