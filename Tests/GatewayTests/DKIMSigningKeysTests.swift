import Foundation
import Testing
@testable import Gateway
import Logging
import MailAuth
import MailStore

@Suite struct DKIMSigningKeysTests {
    /// The newest key of each algorithm signs; RSA first; a store change is seen at once.
    @Test func newestKeyPerAlgorithmAndCacheFollowsTheStore() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mg-dkim-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LMDBStore(directory: directory, durable: false)
        defer { store.close() }
        let keys = DKIMSigningKeys(store: store, logger: Logger(label: "test"))
        #expect(keys.signers(for: "example.test").isEmpty)

        func add(_ selector: String, _ algorithm: DKIMAlgorithm, created: Double) throws {
            let pair = try DKIMKeyPair.generate(algorithm)
            try store.dkimKeyAdd(DKIMKeyEntry(domain: "example.test", selector: selector, algorithm: algorithm.rawValue,
                                              privateKeyPEM: pair.privateKeyPEM, created: created))
        }
        try add("old", .ed25519SHA256, created: 10)
        #expect(keys.signers(for: "example.test").map(\.selector) == ["old"])   // the cached "none" was dropped
        try add("new", .ed25519SHA256, created: 20)
        try add("rsa", .rsaSHA256, created: 5)
        #expect(keys.signers(for: "example.test").map(\.selector) == ["rsa", "new"])
        #expect(keys.signers(for: "EXAMPLE.test".lowercased()).map(\.key.algorithm) == [.rsaSHA256, .ed25519SHA256])

        try store.dkimKeysRemoveAll(domain: "example.test")
        #expect(keys.signers(for: "example.test").isEmpty)

        // A key the store cannot parse is skipped, not fatal.
        try store.dkimKeyAdd(DKIMKeyEntry(domain: "broken.test", selector: "x", algorithm: "rsa-sha256",
                                          privateKeyPEM: "not a key", created: 1))
        #expect(keys.signers(for: "broken.test").isEmpty)
    }
}
