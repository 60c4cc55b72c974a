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
    /// Number of stored blobs (test inspection).
    func blobCount() throws -> Int {
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
