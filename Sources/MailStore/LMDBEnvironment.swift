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
    case kv
    case dkimKeys
    case dmarcReports

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
        case .kv: "kv"
        case .dkimKeys: "dkim_keys"
        case .dmarcReports: "dmarc_reports"
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

        // Every stored property is set: from here on a throw runs `deinit`, which closes
        // the environment and frees the lock. Cleaning up here as well closed the
        // environment twice (heap corruption: "double free", or a hang in a freed lock).
        rc = mdb_env_set_maxdbs(env, MDB_dbi(DB.allCases.count + 4))
        guard rc == 0 else { throw Self.openError(rc, directory: directory) }
        rc = mdb_env_set_maxreaders(env, 512)
        guard rc == 0 else { throw Self.openError(rc, directory: directory) }
        rc = mdb_env_set_mapsize(env, Self.roundUp(mapSize))
        guard rc == 0 else { throw Self.openError(rc, directory: directory) }
        var flags = UInt32(MDB_NOTLS)
        if !durable { flags |= UInt32(MDB_NOSYNC) }
        rc = Self.allocateLockFile(directory)
        guard rc == 0 else { throw Self.openError(rc, directory: directory) }
        rc = mdb_env_open(env, directory, flags, 0o600)
        guard rc == 0 else { throw Self.openError(rc, directory: directory) }
        var dead: Int32 = 0
        mdb_reader_check(env, &dead)
        do throws(StoreError) { try openDatabases() }
        catch { throw Self.openError(error.code, directory: directory, fallback: error) }
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
                    throw StoreError(.invalid, "the mail store in \(path) has schema version \(version), which this "
                                     + "mailgate does not know: run the mailgate version that wrote it")
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

    /// LMDB sizes a new lock file with ftruncate and writes it through a shared mapping: on
    /// a full disk the first write to a page the file system cannot back kills the process
    /// with SIGBUS. So a new lock file is created here first with its blocks allocated
    /// (posix_fallocate), which fails with ENOSPC instead. Only a lock file that does not
    /// exist yet is touched (O_EXCL): closing a descriptor of a lock file that an
    /// environment of this process has open would drop LMDB's fcntl locks on it.
    /// Size: LMDB's header (128 bytes) and 512 reader slots of 64 bytes, as mdb_env_open
    /// makes it for `mdb_env_set_maxreaders(512)`; a larger file would only mean more slots.
    static func allocateLockFile(_ directory: String) -> Int32 {
        let path = directory + "/lock.mdb"
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return 0 }   // exists, or cannot be made: LMDB says why
        let rc = posix_fallocate(descriptor, 0, 128 + 512 * 64)
        Glibc.close(descriptor)
        guard rc == ENOSPC || rc == EDQUOT || rc == EFBIG else { return 0 }
        unlink(path)
        return rc
    }

    /// Creates `directory` (and missing parents) with mode 0700 unless it exists. The error
    /// names the component that could not be made and why, in plain words.
    static func makeDirectory(_ directory: String) throws(StoreError) {
        var info = stat()
        if stat(directory, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw StoreError(.invalid, "the data directory \(directory) is not a directory: "
                                 + "remove or rename it, or choose another data_dir (or --data-dir)")
            }
            return
        }
        var path = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/", omittingEmptySubsequences: true) {
            path += "/" + component
            if mkdir(path, 0o700) == 0 { continue }
            let code = errno
            if code == EEXIST, stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { continue }
            let reason = code == EEXIST ? "\(path) is not a directory" : "\(path): \(Self.plain(code))"
            throw StoreError(.io, "cannot create the data directory \(directory) (\(reason)): "
                             + Self.advice(code, directory: directory), code: code)
        }
    }

    /// One sentence for a failure to open the store: which path, what went wrong, what to do.
    static func openError(_ rc: Int32, directory: String, fallback: StoreError? = nil) -> StoreError {
        let data = directory + "/data.mdb"
        switch rc {
        case MDB_INVALID, MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_BAD_DBI, MDB_INCOMPATIBLE, MDB_VERSION_MISMATCH:
            let what = rc == MDB_VERSION_MISMATCH ? "was written by an incompatible LMDB version"
                : rc == MDB_INVALID ? "is not an LMDB mail store (a foreign or damaged file)" : "is damaged"
            return StoreError(.io, "\(data) \(what): move the data directory aside and restore it from a backup, "
                              + "or point data_dir (or --data-dir) at another directory", code: rc)
        case MDB_MAP_FULL:
            return StoreError(.mapFull, "the mail store in \(directory) is full (its map size is reached): "
                              + "free space in the store or move it to a larger disk", code: rc)
        case 0 where fallback != nil:
            return fallback!
        default:
            if let fallback, fallback.kind == .invalid { return fallback }
            return StoreError(rc == EAGAIN || rc == EBUSY ? .locked : rc == ENOSPC || rc == EDQUOT ? .mapFull : .io,
                              "cannot open the mail store in \(directory) (\(Self.plain(rc))): "
                              + Self.advice(rc, directory: directory), code: rc)
        }
    }

    /// What an operator can do about an errno met on the data directory.
    static func advice(_ code: Int32, directory: String) -> String {
        switch code {
        case EACCES, EPERM:
            "run mailgate as the user that owns \(directory), or give that user read and write access to it"
        case EROFS:
            "the file system is mounted read-only; choose a writable data_dir (or --data-dir)"
        case ENOSPC, EDQUOT, EFBIG:
            "the disk is full; free some space and try again"
        case ENOMEM:
            "not enough memory or address space to map the store; raise `ulimit -v` or free memory"
        case EAGAIN, EBUSY:
            "another process holds the store's lock; stop it or wait and try again"
        case ENOTDIR, EISDIR, ENOENT:
            "check that \(directory) is a directory holding only mailgate's files, or choose another data_dir"
        default:
            "check \(directory) and the disk it is on, or choose another data_dir (or --data-dir)"
        }
    }

    /// strerror for errno values, mdb_strerror for LMDB's own codes, in lower case.
    static func plain(_ code: Int32) -> String {
        let text = String(cString: code < 0 ? mdb_strerror(code) : strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
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
