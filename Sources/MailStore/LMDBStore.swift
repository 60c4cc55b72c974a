// LMDBStore: the mail store on one LMDB environment (see LMDBEnvironment.swift), safe for
// several threads and several processes at once. This file holds its life cycle and the
// two ways in: `read` (a short read transaction on the caller's thread) and `write` /
// `submit` (an op for the group-committing writer thread). Feature files (Domains,
// Accounts, Aliases, Mailboxes, Delivery, Queue, Whitelist, Counters) extend it.
// Synchronous writes block their caller until the commit: never call them from a
// `deliver` completion handler (those run on the writer thread; that is a precondition).

import Foundation
import MailCore

public final class LMDBStore: Sendable {
    let env: LMDBEnvironment
    let writer: WriterThread
    public let directory: String

    /// Opens (creating) the environment in `directory`. Safe for several processes at once.
    public init(directory: String, mapSize: Int = 1 << 30, maxMapSize: Int = 1 << 40,
                durable: Bool = true) throws(StoreError) {
        self.directory = directory
        env = try LMDBEnvironment(directory: directory, mapSize: mapSize, maxMapSize: maxMapSize, durable: durable)
        writer = WriterThread(env: env)
        writer.start()
    }

    deinit {
        close()
    }

    /// Creates the data directory (mode 0700, with missing parents) unless it exists; the
    /// error is one sentence naming the directory and what to do.
    public static func prepareDirectory(_ directory: String) throws(StoreError) {
        try LMDBEnvironment.makeDirectory(directory)
    }

    /// The advice sentence for an errno met on the data directory (permission, read-only,
    /// full disk…), for callers writing their own files there (pid file, status, TLS).
    public static func advice(errno code: Int32, directory: String) -> String {
        LMDBEnvironment.advice(code, directory: directory)
    }

    /// strerror in lower case ("permission denied"), as the store's own sentences say it.
    public static func errorText(_ code: Int32) -> String {
        LMDBEnvironment.plain(code)
    }

    /// Completes the writes already submitted, then closes the environment. Idempotent.
    public func close() {
        writer.stop()
        env.close()
    }

    /// mdb_reader_check: stale reader slots (from killed processes) cleared.
    public func readerCheck() -> Int {
        env.readerCheck()
    }

    /// Write transactions committed by this instance and the operations they carried
    /// (operations / commits = the group-commit factor). For metrics.
    public var writeStatistics: (commits: Int, operations: Int) { writer.statistics }

    /// The current LMDB map size in bytes (grows on demand up to `maxMapSize`).
    public var mapSize: Int { env.mapSize }

    // MARK: ways in

    func read<T>(_ body: (Txn) throws(StoreError) -> T) throws(StoreError) -> T {
        try env.read(body)
    }

    /// Runs `body` on the writer thread in the next group commit; returns after the commit.
    func write<T: Sendable>(estimatedBytes: Int = 0,
                            _ body: @escaping @Sendable (Txn) throws(StoreError) -> T) throws(StoreError) -> T {
        precondition(!writer.isWriterThread, "synchronous MailStore write from the writer thread (a completion handler)")
        let slot = ResultSlot<T>()
        let done = DispatchSemaphore(value: 0)
        let op = WriteOp(estimatedBytes: estimatedBytes, run: { txn throws(StoreError) in
            slot.value = try body(txn)
        }, finish: { error in
            slot.error = error
            done.signal()
        })
        guard writer.submit(op) else { throw StoreError.closed }
        done.wait()
        if let error = slot.error { throw error }
        guard let value = slot.value else { throw StoreError(.io, "write finished without a result") }
        return value
    }

    /// Runs `body` on the writer thread in the next group commit; `completion` runs on the
    /// writer thread after the commit. Never blocks the caller.
    func submit<T: Sendable>(estimatedBytes: Int = 0,
                             _ body: @escaping @Sendable (Txn) throws(StoreError) -> T,
                             completion: @escaping @Sendable (Result<T, StoreError>) -> Void) {
        let slot = ResultSlot<T>()
        let op = WriteOp(estimatedBytes: estimatedBytes, run: { txn throws(StoreError) in
            slot.value = try body(txn)
        }, finish: { error in
            if let error {
                completion(.failure(error))
            } else if let value = slot.value {
                completion(.success(value))
            } else {
                completion(.failure(StoreError(.io, "write finished without a result")))
            }
        })
        if !writer.submit(op) { completion(.failure(StoreError.closed)) }
    }

    // MARK: validation

    /// Validates and lower-cases a domain name (no address literals).
    static func normalizeDomain(_ name: String) throws(StoreError) -> String {
        guard let domain = MailAddress.normalizedDomain(name.trimmingSpacesAndTabs) else {
            throw StoreError(.invalid, "invalid domain name '\(name)'")
        }
        return domain
    }

    /// Validates and lower-cases a mailbox address ("user@domain"): no quoted local parts,
    /// no routing characters, no address literals.
    static func normalizeAddress(_ address: String) throws(StoreError) -> String {
        guard let parsed = try? MailAddress.parse(address.trimmingSpacesAndTabs) else {
            throw StoreError(.invalid, "invalid address '\(address)' (expected user@domain)")
        }
        guard !parsed.isDomainLiteral, !parsed.hasRoutingCharacters else {
            throw StoreError(.invalid, "address '\(address)' must be a plain user@domain")
        }
        return parsed.normalized
    }

    static func domain(of address: String) -> String {
        String(Keys.split(address).domain)
    }
}

/// A result handed from the writer thread to the submitter.
/// @unchecked Sendable: written only by the writer thread before `finish`, read by the
/// submitter after the semaphore/completion that `finish` triggers (happens-before).
final class ResultSlot<T>: @unchecked Sendable {
    var value: T?
    var error: StoreError?
}
