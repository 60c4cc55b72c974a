// Helpers for the MailStore tests: a fresh store in a temporary directory, removed after.

import Foundation
import Testing
@testable import MailStore

final class TempDir {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("mailstore-test-\(UUID().uuidString)").path
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func withStore<T>(mapSize: Int = 1 << 26, maxMapSize: Int = 1 << 32, durable: Bool = false,
                  _ body: (LMDBStore, TempDir) throws -> T) throws -> T {
    let dir = TempDir()
    let store = try LMDBStore(directory: dir.path, mapSize: mapSize, maxMapSize: maxMapSize, durable: durable)
    defer { store.close() }
    return try body(store, dir)
}

func message(_ body: String, size: Int? = nil) -> [UInt8] {
    var bytes = Array("From: a@b.test\r\nSubject: test\r\n\r\n\(body)\r\n".utf8)
    if let size, size > bytes.count { bytes += [UInt8](repeating: UInt8(ascii: "x"), count: size - bytes.count) }
    return bytes
}

func deliverSync(_ store: LMDBStore, _ request: DeliveryRequest) throws -> DeliveryResult {
    let done = DispatchSemaphore(value: 0)
    let box = Box<Result<DeliveryResult, StoreError>>()
    store.deliver(request) { result in
        box.value = result
        done.signal()
    }
    done.wait()
    return try box.value!.get()
}

final class Box<T>: @unchecked Sendable {
    var value: T?
}

extension LMDBStore {
    /// Number of referenced blobs (test inspection; an expunged message's bytes kept for
    /// their grace period are not counted, see `storedBlobCount`).
    func blobCount() throws -> Int {
        try read { txn throws(StoreError) in
            var n = 0
            try txn.scan(.blobRefs) { _, _ in n += 1; return true }
            return n
        }
    }

    /// Number of blobs whose bytes are stored, referenced or kept after an expunge.
    func storedBlobCount() throws -> Int {
        try read { txn throws(StoreError) in
            var n = 0
            try txn.scan(.blobs) { _, _ in n += 1; return true }
            return n
        }
    }

    func blobReferences(_ id: UInt64) throws -> UInt32 {
        try read { txn throws(StoreError) in try txn.blobReferences(id) }
    }
}

/// Expects `body` to throw a StoreError of `kind`.
func expectError(_ kind: StoreError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected a .\(kind) error, nothing thrown", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

// MARK: IMAP store helpers

/// A store with domain example.test and account alice@example.test (quota as given).
func withIMAPStore<T>(quota: Int64? = nil, _ body: (LMDBStore) throws -> T) throws -> T {
    try withStore { store, _ throws in
        try store.addDomain("example.test")
        try store.addAccount(alice, passwordHash: nil, quota: quota, apopSecret: nil)
        return try body(store)
    }
}

let alice = "alice@example.test"

extension LMDBStore {
    func mailboxID(_ name: String, account: String = alice) throws -> UInt64 {
        try #require(mailbox(account: account, name: name)).id
    }

    /// Checks every invariant MessageRows.swift promises for one mailbox.
    func checkInvariants(_ mailboxID: UInt64, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try read { txn throws(StoreError) in
            guard let mailbox = try txn.mailboxRecord(mailboxID) else {
                Issue.record("mailbox \(mailboxID) missing", sourceLocation: sourceLocation)
                return
            }
            var count: Int64 = 0, size: Int64 = 0, unseen: Int64 = 0, deleted: Int64 = 0
            var rows: Set<[UInt8]> = []
            var maxUID: UInt32 = 0
            try txn.scan(.messages, prefix: Keys.id(mailboxID)) { key, value throws(StoreError) in
                let record = try MessageRecord(value)
                let uid = Keys.readBE32(key, at: 8)
                count += 1
                size += record.size
                if !record.flags.contains("\\Seen") { unseen += 1 }
                if record.flags.contains("\\Deleted") { deleted += 1 }
                #expect(record.modSeq <= mailbox.highestModSeq, sourceLocation: sourceLocation)
                #expect(try txn.blobReferences(record.blobID) > 0, sourceLocation: sourceLocation)
                rows.insert(Keys.modSeqRow(mailboxID, record.modSeq, uid))
                maxUID = max(maxUID, uid)
                return true
            }
            var indexRows: Set<[UInt8]> = []
            try txn.scan(.modSeqIndex, prefix: Keys.id(mailboxID)) { key, _ in
                indexRows.insert(Array(key))
                return true
            }
            var tombstones: Int64 = 0
            try txn.scan(.expunged, prefix: Keys.id(mailboxID)) { key, _ in
                tombstones += 1
                #expect(Keys.readBE64(key, at: 8) <= mailbox.highestModSeq, sourceLocation: sourceLocation)
                #expect(Keys.readBE32(key, at: 16) < mailbox.uidNext, sourceLocation: sourceLocation)
                return true
            }
            #expect(indexRows == rows, "modseq index out of step", sourceLocation: sourceLocation)
            #expect(mailbox.messageCount == count && mailbox.totalSize == size, sourceLocation: sourceLocation)
            #expect(mailbox.unseenCount == unseen && mailbox.deletedCount == deleted, sourceLocation: sourceLocation)
            #expect(mailbox.tombstoneCount == tombstones, sourceLocation: sourceLocation)
            #expect(maxUID < mailbox.uidNext, sourceLocation: sourceLocation)
        }
    }

    /// Test access to the write path (internal helpers run inside one transaction).
    func testWrite<T: Sendable>(_ body: @escaping @Sendable (Txn) throws(StoreError) -> T) throws -> T {
        try write(body)
    }
}

func deliverTo(_ store: LMDBStore, _ body: String = "hello", account: String = alice, folder: String = "INBOX") throws -> UInt32 {
    let result = try deliverSync(store, DeliveryRequest(
        message: message(body), local: [LocalDeliveryTarget(account: account, folder: folder)], internalDate: 1_700_000_000))
    guard case .stored(let uid) = result.local[0] else { throw StoreError(.io, "not stored: \(result)") }
    return uid
}
