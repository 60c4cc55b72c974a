import Foundation
import Testing
@testable import MailStore

@Suite struct LMDBStoreTests {
    @Test func createsDataDirectoryPrivately() throws {
        let dir = TempDir()
        let nested = dir.path + "/a/b"
        let store = try LMDBStore(directory: nested, durable: false)
        store.close()
        store.close()   // idempotent
        let attributes = try FileManager.default.attributesOfItem(atPath: nested)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        #expect(FileManager.default.fileExists(atPath: nested + "/data.mdb"))
        expectError(.io) { try store.addDomain("example.test") }
        #expect(store.account("postmaster@example.test") == nil)
        try? FileManager.default.removeItem(atPath: dir.path)
    }

    @Test func twoInstancesSeeEachOthersWrites() throws {
        let dir = TempDir()
        let server = try LMDBStore(directory: dir.path, mapSize: 1 << 20, durable: false)
        let cli = try LMDBStore(directory: dir.path, mapSize: 1 << 20, durable: false)
        defer { server.close(); cli.close() }
        try cli.addDomain("example.test")
        try cli.addAccount("alice@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
        #expect(server.account("alice@example.test") != nil)
        let r = try deliverSync(server, DeliveryRequest(
            message: message("hello"), local: [LocalDeliveryTarget(account: "alice@example.test")], internalDate: 1))
        #expect(r.local == [.stored(uid: 1)])
        #expect(cli.account("alice@example.test")?.messageCount == 1)
        try server.whitelistAdd(ip: "192.0.2.7", user: nil, expires: 100)
        #expect(cli.whitelistContains(ip: "192.0.2.7", now: 50))
        // Growth in one instance (big message) is adopted by the other (MDB_MAP_RESIZED).
        let big = message("big", size: 3 << 20)
        let r2 = try deliverSync(cli, DeliveryRequest(
            message: big, local: [LocalDeliveryTarget(account: "alice@example.test")], internalDate: 2))
        #expect(r2.local == [.stored(uid: 2)])
        #expect(server.mailbox(account: "alice@example.test", name: "INBOX")?.messageCount == 2)
        try server.addAccount("bob@example.test", passwordHash: nil, quota: nil, apopSecret: nil)
        #expect(cli.account("bob@example.test") != nil)
        let blob = try #require(try server.messages(mailboxID: server.mailbox(account: "alice@example.test", name: "INBOX")!.id).last).blobID
        #expect(try server.messageBytes(blobID: blob) == big)
    }

    @Test func groupCommitConcurrentDeliveriesSurviveReopen() throws {
        let dir = TempDir()
        var store = try LMDBStore(directory: dir.path, durable: true)
        try store.addDomain("example.test")
        let users = (0..<8).map { "user\($0)@example.test" }
        for user in users { try store.addAccount(user, passwordHash: nil, quota: nil, apopSecret: nil) }

        let total = 200
        let threads = 20
        let group = DispatchGroup()
        let failures = Box<Int>()
        failures.value = 0
        let lock = NSLock()
        let shared = store
        let before = store.writeStatistics
        let start = Date()
        for t in 0..<threads {
            for _ in 0..<(total / threads) { group.enter() }
            Thread {
                for k in 0..<(total / threads) {
                    let i = t * (total / threads) + k
                    let request = DeliveryRequest(message: message("message \(i)"),
                                                  local: [LocalDeliveryTarget(account: users[i % users.count])],
                                                  internalDate: Double(i))
                    shared.deliver(request) { result in
                        if case .success(let r) = result, case .stored = r.local[0] {} else {
                            lock.lock(); failures.value! += 1; lock.unlock()
                        }
                        group.leave()
                    }
                }
            }.start()
        }
        group.wait()
        let elapsed = Date().timeIntervalSince(start)
        let after = store.writeStatistics
        let commits = after.commits - before.commits
        print("group commit: \(total) durable deliveries in \(String(format: "%.3f", elapsed)) s, \(commits) commits")
        #expect(failures.value == 0)
        #expect(after.operations - before.operations == total)
        #expect(commits < total)
        store.close()

        store = try LMDBStore(directory: dir.path, durable: true)
        defer { store.close() }
        var count = 0
        var bodies = Set<String>()
        for user in users {
            let inbox = try #require(store.mailbox(account: user, name: "INBOX"))
            let messages = try store.messages(mailboxID: inbox.id)
            #expect(messages.map(\.uid) == Array(1...UInt32(messages.count)))
            count += messages.count
            for m in messages { bodies.insert(String(decoding: try store.messageBytes(blobID: m.blobID), as: UTF8.self)) }
        }
        #expect(count == total)
        #expect(bodies.count == total)
    }

    @Test func mapGrowsOnDemand() throws {
        try withStore(mapSize: 256 * 1024, maxMapSize: 1 << 30) { store, _ throws in
            try store.addDomain("example.test")
            try store.addAccount("alice@example.test", passwordHash: nil, quota: 1 << 30, apopSecret: nil)
            let before = store.mapSize
            for i in 0..<20 {
                let r = try deliverSync(store, DeliveryRequest(
                    message: message("m\(i)", size: 100_000),
                    local: [LocalDeliveryTarget(account: "alice@example.test")], internalDate: Double(i)))
                #expect(r.local == [.stored(uid: UInt32(i + 1))])
            }
            #expect(store.mapSize > before)
            #expect(store.account("alice@example.test")?.messageCount == 20)
        }
    }

    @Test func mapFullFailsCleanlyAndReadsKeepWorking() throws {
        try withStore(mapSize: 256 * 1024, maxMapSize: 256 * 1024) { store, _ throws in
            try store.addDomain("example.test")
            try store.addAccount("alice@example.test", passwordHash: nil, quota: 1 << 30, apopSecret: nil)
            let small = try deliverSync(store, DeliveryRequest(
                message: message("small"), local: [LocalDeliveryTarget(account: "alice@example.test")], internalDate: 1))
            #expect(small.local == [.stored(uid: 1)])
            expectError(.mapFull) {
                _ = try deliverSync(store, DeliveryRequest(
                    message: message("huge", size: 1 << 20),
                    local: [LocalDeliveryTarget(account: "alice@example.test")], internalDate: 2))
            }
            // Many in one batch: the small ones still succeed when retried alone.
            let results = Box<[Result<DeliveryResult, StoreError>]>()
            results.value = []
            let lock = NSLock()
            let group = DispatchGroup()
            for i in 0..<6 {
                group.enter()
                let size = i % 2 == 0 ? 1 << 20 : 100
                store.deliver(DeliveryRequest(message: message("b\(i)", size: size),
                                              local: [LocalDeliveryTarget(account: "alice@example.test")],
                                              internalDate: 3)) { result in
                    lock.lock(); results.value!.append(result); lock.unlock()
                    group.leave()
                }
            }
            group.wait()
            let failures = results.value!.filter { if case .failure(let e) = $0 { return e.kind == .mapFull } else { return false } }
            #expect(failures.count == 3)
            #expect(results.value!.count == 6)
            let account = try #require(store.account("alice@example.test"))
            #expect(account.messageCount == 4)
            #expect(try store.domains() == ["example.test"])
            let inbox = try #require(store.mailbox(account: "alice@example.test", name: "INBOX"))
            #expect(try store.messages(mailboxID: inbox.id).count == 4)
            try store.whitelistAdd(ip: "192.0.2.1", user: nil, expires: 10)   // small writes still work
            #expect(store.readerCheck() == 0)
        }
    }
}

/// A real second process (lmdb-utils' mdb_dump / mdb_load) on the environment a store has open.
/// Skipped on a developer machine without lmdb-utils; under CI (the CI variable set) it
/// runs and fails on the missing tools, since CI installs them (make test-deps).
@Suite struct MultiProcessTests {
    static let tools = FileManager.default.isExecutableFile(atPath: "/usr/bin/mdb_dump")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/mdb_load")
    static var inCI: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"] else { return false }
        return !value.isEmpty && value != "0" && value.lowercased() != "false"
    }

    func run(_ tool: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        let inPipe = Pipe()
        if input != nil { process.standardInput = inPipe }
        try process.run()
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try inPipe.fileHandleForWriting.close()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: tools || inCI)) func otherProcessesSeeCommitsAndWriteToo() throws {
        try #require(Self.tools, "mdb_dump and mdb_load are not installed (make test-deps installs lmdb-utils)")
        try withStore { store, dir throws in
            try store.addDomain("example.test")
            let dump = try run("/usr/bin/mdb_dump", ["-p", "-s", "domains", dir.path])
            #expect(dump.status == 0)
            #expect(dump.output.contains("example.test"))

            let load = try run("/usr/bin/mdb_load", ["-T", "-s", "catchall", dir.path],
                               input: "example.test\npostmaster@example.test\n")
            #expect(load.status == 0, "\(load.output)")
            #expect(store.catchAll(domain: "example.test") == "postmaster@example.test")
            try store.clearCatchAll(domain: "example.test")
            #expect(store.catchAll(domain: "example.test") == nil)
        }
    }
}

/// Every way opening the store can fail ends in one StoreError sentence that names the
/// path and says what to do, and leaves nothing open: the environment and its lock are
/// released exactly once (they were released twice: "double free or corruption", or a
/// hang in a freed lock). Permission and read-only cases need another user and run in
/// the end-to-end tests (Tests/EndToEndTests/test_startup_errors.py).
@Suite struct StoreOpenFailureTests {
    /// Descriptors of this process open on a file under `directory` (other tests run in
    /// parallel, so a process-wide count would not do).
    static func openDescriptors(under directory: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0) }
            .filter { $0.hasPrefix(directory) }
    }

    /// Opens `directory` `times` times; every attempt must fail with one sentence that
    /// contains `expected` and the path, and no descriptor may stay open.
    func expectOpenFails(_ directory: String, containing expected: String, mapSize: Int = 1 << 20,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        for _ in 0..<20 {
            do {
                let store = try LMDBStore(directory: directory, mapSize: mapSize, durable: false)
                store.close()
                Issue.record("opening \(directory) succeeded", sourceLocation: sourceLocation)
                return
            } catch {
                #expect(error.message.contains(expected), "\(error.message)", sourceLocation: sourceLocation)
                #expect(error.message.contains(directory), "\(error.message)", sourceLocation: sourceLocation)
                #expect(!error.message.contains("\n") && error.message.contains(": "), "\(error.message)",
                        sourceLocation: sourceLocation)
                #expect(!error.message.contains("Error Domain"), "\(error.message)", sourceLocation: sourceLocation)
            }
        }
        // The descriptors LMDB opened (data.mdb, lock.mdb) were closed on every failure.
        #expect(Self.openDescriptors(under: directory) == [], sourceLocation: sourceLocation)
    }

    @Test func aForeignDataFileIsNamedWithWhatToDo() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        try Data("this is a text file, not a mail store\n".utf8).write(to: URL(fileURLWithPath: dir.path + "/data.mdb"))
        expectOpenFails(dir.path, containing: "data.mdb is not an LMDB mail store")
    }

    @Test func randomBytesAreNotAStore() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<(64 * 1024)).map { _ in UInt8.random(in: 0...255, using: &random) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir.path + "/data.mdb"))
        expectOpenFails(dir.path, containing: "restore it from a backup")
    }

    @Test func aStoreWithADamagedMetaPageIsRefused() throws {
        let dir = TempDir()
        let store = try LMDBStore(directory: dir.path, mapSize: 1 << 20, durable: true)
        try store.addDomain("example.test")
        store.close()
        // Both meta pages (pages 0 and 1) overwritten: LMDB finds no valid meta.
        let handle = try #require(FileHandle(forUpdatingAtPath: dir.path + "/data.mdb"))
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 2 * LMDBEnvironment.pageSize))
        try handle.close()
        expectOpenFails(dir.path, containing: "data.mdb")
    }

    @Test func aDataDirectoryThatIsAFileOrUnderAFile() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let file = dir.path + "/plain-file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        expectOpenFails(file, containing: "is not a directory")
        // A missing directory whose parent cannot be created (a file is in the way).
        expectOpenFails(file + "/data", containing: "cannot create the data directory")
    }

    @Test func dataFileThatIsADirectory() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.path + "/data.mdb", withIntermediateDirectories: true)
        expectOpenFails(dir.path, containing: "cannot open the mail store in \(dir.path)")
    }

    @Test func aMapLargerThanTheAddressSpace() throws {
        // 1 PiB cannot be mapped on any 64-bit machine we run on (47-bit user space).
        let dir = TempDir()
        expectOpenFails(dir.path, containing: "cannot open the mail store", mapSize: 1 << 50)
    }

    @Test func anUnknownSchemaVersionSaysWhichMailgateToRun() throws {
        let dir = TempDir()
        let store = try LMDBStore(directory: dir.path, mapSize: 1 << 20, durable: true)
        try store.write { txn throws(StoreError) in try txn.put(.meta, Array("schema".utf8), Keys.be32(99)) }
        store.close()
        expectOpenFails(dir.path, containing: "schema version 99")
    }
}
