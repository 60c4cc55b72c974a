// `mailgate.kv` over the LMDB `kv` table. Hooks may run on an event loop, so writes
// never wait for a commit (like counters and the whitelist, StorePolicyHost.swift):
// each write is submitted to the store's writer and, until it commits, answered from
// `pending`. Writes are computed and submitted with the lock held, so they reach the
// single writer in the order readers saw them and the table ends as `pending` said
// (`incr` is read-modify-write on the newest value, pending or stored). A crash
// before a commit loses only the writes of the last group commit window.
import Foundation
import Logging
import MailCore
import MailStore
import Policy

final class StoreKeyValues: PolicyKeyValueStore, @unchecked Sendable {
    // @unchecked: LMDBStore and Logger are thread-safe; `pending` is only touched with
    // `lock` held. Recursive: a submit refused at once (store closed) completes on the
    // calling thread, inside the lock.
    let store: LMDBStore
    let logger: Logger
    private let lock = NSRecursiveLock()
    /// Writes submitted and not yet committed, by key: the entry (nil: deleted).
    private var pending: [String: (entry: KeyValueEntry?, token: UInt64)] = [:]
    private var nextToken: UInt64 = 0

    init(store: LMDBStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// The newest entry for `key`: a pending write's, else the stored one (any expiry).
    private func newest(_ key: String) -> KeyValueEntry? {
        if let write = pending[key] { return write.entry }
        return store.kvGet(key, now: -Double.greatestFiniteMagnitude)
    }

    func get(_ key: String, now: Double) -> KeyValue? {
        locked {
            guard let entry = newest(key), entry.isLive(at: now) else { return nil }
            return entry.value
        }
    }

    func set(_ key: String, _ value: KeyValue, expires: Double) {
        locked { write(key, KeyValueEntry(value: value, expires: expires)) }
    }

    func increment(_ key: String, by amount: Int, newExpiry: Double?, now: Double) -> Result<Int, KeyValueIncrementError> {
        locked {
            KeyValueEntry.incremented(newest(key), by: amount, newExpiry: newExpiry, now: now).map { entry in
                write(key, entry)
                guard case .integer(let sum) = entry.value else { preconditionFailure("incr makes integers") }
                return sum
            }
        }
    }

    func delete(_ key: String, now: Double) -> Bool {
        locked {
            guard let entry = newest(key) else { return false }
            write(key, nil)
            return entry.isLive(at: now)
        }
    }

    /// True while some write has not committed yet (tests wait for it).
    var hasPendingWrites: Bool { locked { !pending.isEmpty } }

    /// Notes and submits one write; called with the lock held.
    private func write(_ key: String, _ entry: KeyValueEntry?) {
        nextToken &+= 1
        let token = nextToken
        pending[key] = (entry, token)
        let finish: @Sendable (Result<Void, StoreError>) -> Void = { [self] result in
            // Only the newest write's commit clears the entry: an older one landing
            // first must not hide a newer one still on its way.
            locked { if pending[key]?.token == token { pending[key] = nil } }
            if case .failure(let error) = result {
                logger.error("kv write failed", metadata: ["key": "\(key)", "error": "\(error)"])
            }
        }
        if let entry {
            store.kvSet(key, entry, completion: finish)
        } else {
            store.kvDelete(key, now: 0) { result in finish(result.map { _ in () }) }
        }
    }
}
