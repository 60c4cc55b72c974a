// One LMDB environment (MDB_NOTLS, named databases) shared by every thread of this
// process, and by other processes (server + CLI) through LMDB's own lock file.
// Contract:
//  - `read` runs a short MDB_RDONLY transaction on the calling thread.
//  - `beginWrite`/`endWrite` bracket the writer thread's transaction (WriterThread.swift).
//  - Every transaction runs under a process-wide pthread rwlock held shared; changing the
//    map size (`grow`, or adopting another process's larger map after MDB_MAP_RESIZED)
//    and `close` take it exclusive, because LMDB requires that no transaction of this
//    process is active then. Never nest a transaction inside another on one thread.

import CLMDB
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The named databases of the store. Their raw values index `LMDBEnvironment.dbis`.
enum DB: Int, CaseIterable {
    case meta, domains, accounts, aliases, catchall, mailboxNames, mailboxes, messages
    case blobs, blobRefs, queue, whitelist, counters
    case modSeqIndex, expunged, subscriptions

    var name: String {
        switch self {
        case .meta: "meta"
        case .domains: "domains"
        case .accounts: "accounts"
        case .aliases: "aliases"
        case .catchall: "catchall"
        case .mailboxNames: "mailbox_names"
        case .mailboxes: "mailboxes"
        case .messages: "messages"
        case .blobs: "blobs"
        case .blobRefs: "blob_refs"
        case .queue: "queue"
        case .whitelist: "whitelist"
        case .counters: "counters"
        case .modSeqIndex: "modseq_index"
        case .expunged: "expunged"
        case .subscriptions: "subscriptions"
        }
    }
}

/// @unchecked Sendable: the MDB_env handle is thread-safe with MDB_NOTLS; `dbis` is written
/// once in `init` before the object is shared; `closed` is only read under the rwlock
/// (shared) and only written under it (exclusive).
final class LMDBEnvironment: @unchecked Sendable {
    let env: OpaquePointer
    private var dbis: [MDB_dbi] = []
    let maxMapSize: Int
    let path: String
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var closed = false

    /// 2: mailbox unseen/deleted counts, modseq index, expunge tombstones, subscriptions
    /// (SchemaMigration.swift upgrades a version 1 store when it is opened).
    static let schemaVersion: UInt32 = 2
    static let pageSize = 4096

    init(directory: String, mapSize: Int, maxMapSize: Int, durable: Bool) throws(StoreError) {
        path = directory
        self.maxMapSize = max(Self.roundUp(maxMapSize), Self.roundUp(mapSize))
        try Self.makeDirectory(directory)

        var envp: OpaquePointer?
        var rc = mdb_env_create(&envp)
        guard rc == 0, let created = envp else { throw Self.error(rc, "cannot create the LMDB environment") }
        env = created
        lock = .allocate(capacity: 1)
        var attr = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attr)
        #if canImport(Glibc)
        // Prefer the (rare) exclusive resize over a stream of readers.
        pthread_rwlockattr_setkind_np(&attr, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        pthread_rwlock_init(lock, &attr)
        pthread_rwlockattr_destroy(&attr)

        do throws(StoreError) {
            rc = mdb_env_set_maxdbs(env, MDB_dbi(DB.allCases.count + 4))
            guard rc == 0 else { throw Self.error(rc, "mdb_env_set_maxdbs") }
            rc = mdb_env_set_maxreaders(env, 512)
            guard rc == 0 else { throw Self.error(rc, "mdb_env_set_maxreaders") }
            rc = mdb_env_set_mapsize(env, Self.roundUp(mapSize))
            guard rc == 0 else { throw Self.error(rc, "mdb_env_set_mapsize") }
            var flags = UInt32(MDB_NOTLS)
            if !durable { flags |= UInt32(MDB_NOSYNC) }
            rc = mdb_env_open(env, directory, flags, 0o600)
            guard rc == 0 else { throw Self.error(rc, "cannot open the mail store in \(directory)") }
            var dead: Int32 = 0
            mdb_reader_check(env, &dead)
            try openDatabases()
        } catch {
            mdb_env_close(env)
            pthread_rwlock_destroy(lock)
            lock.deallocate()
            throw error
        }
    }

    deinit {
        close()
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Creates every named database (and the schema version) in one write transaction.
    private func openDatabases() throws(StoreError) {
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(env, nil, 0, &txn)
        if rc == MDB_MAP_RESIZED {
            mdb_env_set_mapsize(env, 0)
            rc = mdb_txn_begin(env, nil, 0, &txn)
        }
        guard rc == 0, let txn else { throw Self.error(rc, "cannot begin the set-up transaction") }
        var handles: [MDB_dbi] = []
        for db in DB.allCases {
            var dbi: MDB_dbi = 0
            rc = mdb_dbi_open(txn, db.name, UInt32(MDB_CREATE), &dbi)
            guard rc == 0 else {
                mdb_txn_abort(txn)
                throw Self.error(rc, "cannot open database \(db.name)")
            }
            handles.append(dbi)
        }
        dbis = handles
        let t = Txn(raw: txn, env: self)
        do throws(StoreError) {
            if let stored = try t.get(.meta, Array("schema".utf8)) {
                let version = stored.count == 4 ? Keys.readBE32(stored) : 0
                if version == 1 {
                    try t.migrateSchema1To2()
                    try t.put(.meta, Array("schema".utf8), Keys.be32(Self.schemaVersion))
                } else if version != Self.schemaVersion {
                    throw StoreError(.io, "the mail store in \(path) has an unsupported schema version")
                }
            } else {
                try t.put(.meta, Array("schema".utf8), Keys.be32(Self.schemaVersion))
            }
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        rc = mdb_txn_commit(txn)
        guard rc == 0 else { throw Self.error(rc, "cannot commit the set-up transaction") }
    }

    func dbi(_ db: DB) -> MDB_dbi { dbis[db.rawValue] }

    // MARK: transactions

    /// Runs `body` in a read-only transaction on the calling thread.
    func read<T>(_ body: (Txn) throws(StoreError) -> T) throws(StoreError) -> T {
        while true {
            pthread_rwlock_rdlock(lock)
            if closed {
                pthread_rwlock_unlock(lock)
                throw StoreError.closed
            }
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            if rc == MDB_MAP_RESIZED {
                pthread_rwlock_unlock(lock)
                adoptForeignMapSize()
                continue
            }
            guard rc == 0, let txn else {
                pthread_rwlock_unlock(lock)
                throw Self.error(rc, "cannot begin a read transaction")
            }
            defer {
                mdb_txn_abort(txn)
                pthread_rwlock_unlock(lock)
            }
            return try body(Txn(raw: txn, env: self))
        }
    }

    /// Begins the write transaction (writer thread only). On success the rwlock is held
    /// shared until `endWrite()`; the caller must commit or abort the returned handle first.
    func beginWrite() throws(StoreError) -> OpaquePointer {
        while true {
            pthread_rwlock_rdlock(lock)
            if closed {
                pthread_rwlock_unlock(lock)
                throw StoreError.closed
            }
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, 0, &txn)
            if rc == MDB_MAP_RESIZED {
                pthread_rwlock_unlock(lock)
                adoptForeignMapSize()
                continue
            }
            guard rc == 0, let txn else {
                pthread_rwlock_unlock(lock)
                throw Self.error(rc, "cannot begin a write transaction")
            }
            return txn
        }
    }

    func endWrite() { pthread_rwlock_unlock(lock) }

    // MARK: map size

    /// The current map size (0 once closed).
    var mapSize: Int {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return closed ? 0 : rawMapSize
    }

    /// Caller holds the rwlock and the environment is open.
    private var rawMapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Grows the map so that at least `needed` more bytes fit (at least doubling).
    /// Returns false when `maxMapSize` is reached or LMDB refuses. No transaction of this
    /// process may be active on the calling thread.
    func grow(needed: Int) -> Bool {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        if closed { return false }
        let current = rawMapSize
        guard current < maxMapSize else { return false }
        let wanted = max(current * 2, current + needed * 2 + 64 * Self.pageSize)
        let target = min(maxMapSize, Self.roundUp(wanted))
        return mdb_env_set_mapsize(env, target) == 0 && rawMapSize > current
    }

    /// Another process grew the map: adopt its size (mdb_env_set_mapsize(env, 0)).
    func adoptForeignMapSize() {
        pthread_rwlock_wrlock(lock)
        if !closed { mdb_env_set_mapsize(env, 0) }
        pthread_rwlock_unlock(lock)
    }

    // MARK: maintenance

    /// mdb_reader_check: clears reader slots left by dead processes; returns how many.
    func readerCheck() -> Int {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        if closed { return 0 }
        var dead: Int32 = 0
        guard mdb_reader_check(env, &dead) == 0 else { return 0 }
        return Int(dead)
    }

    /// Closes the environment once every transaction of this process has ended. Idempotent.
    func close() {
        pthread_rwlock_wrlock(lock)
        if !closed {
            closed = true
            mdb_env_close(env)
        }
        pthread_rwlock_unlock(lock)
    }

    // MARK: helpers

    static func roundUp(_ size: Int) -> Int {
        let size = min(max(size, 64 * pageSize), 1 << 50)
        return (size + pageSize - 1) / pageSize * pageSize
    }

    private static func makeDirectory(_ directory: String) throws(StoreError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else { throw StoreError(.invalid, "\(directory) exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(.io, "cannot create the data directory \(directory): \(error.localizedDescription)")
        }
    }

    /// Maps an LMDB or errno return code to a StoreError.
    static func error(_ rc: Int32, _ what: String) -> StoreError {
        let text = String(cString: mdb_strerror(rc))
        switch rc {
        case MDB_MAP_FULL, ENOSPC, EDQUOT:
            return StoreError(.mapFull, "\(what): the mail store is full (\(text))", code: rc)
        case EAGAIN, EBUSY, EWOULDBLOCK:
            return StoreError(.locked, "\(what): the mail store is locked (\(text))", code: rc)
        case ENOENT:
            return StoreError(.notFound, "\(what): \(text)", code: rc)
        default:
            return StoreError(.io, "\(what): \(text)", code: rc)
        }
    }
}
