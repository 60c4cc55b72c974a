import Testing
@testable import MailStore

@Suite struct QueueTests {
    @Test func queueOnlyDeliveryKeepsBlobUntilRemoved() throws {
        try withStore { store, _ throws in
            let given = LMDBStore.makeQueueID()
            let remote = QueueEntry(id: given, sender: "", recipients: [QueueRecipient(address: "x@remote.test")])
            let result = try deliverSync(store, DeliveryRequest(message: message("bounce"), local: [], remote: remote,
                                                                internalDate: 42))
            #expect(result == DeliveryResult(local: [], queued: true, queueID: given))
            var entry = try #require(store.queueEntry(given))
            #expect(entry.sender == "" && entry.created == 42 && !entry.held)
            #expect(try store.blobReferences(entry.blobID) == 1)

            // The same id again is refused.
            #expect(throws: StoreError.self) {
                _ = try deliverSync(store, DeliveryRequest(message: message("again"), local: [], remote: remote,
                                                           internalDate: 43))
            }

            entry.held = true
            entry.recipients[0].state = .deferred
            entry.recipients[0].attempts = 1
            entry.recipients[0].lastError = "451 try later"
            entry.blobID = 999
            try store.updateQueueEntry(entry)
            let updated = try #require(store.queueEntry(given))
            #expect(updated.held && updated.recipients[0].state == .deferred && updated.blobID != 999)

            try store.removeQueueEntry(given)
            #expect(store.queueEntry(given) == nil)
            #expect(try store.blobCount() == 0)
            expectError(.notFound) { try store.removeQueueEntry(given) }
        }
    }

    @Test func queueIDsAreSortableAndUnique() {
        var ids: [String] = []
        for _ in 0..<1000 { ids.append(LMDBStore.makeQueueID()) }
        #expect(Set(ids).count == ids.count)
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { $0.count == 15 })
    }

    @Test func queueEntriesListInCreationOrder() throws {
        try withStore { store, _ throws in
            var ids: [String] = []
            for i in 0..<5 {
                let r = try deliverSync(store, DeliveryRequest(
                    message: message("q\(i)"), local: [],
                    remote: QueueEntry(sender: "a@b.test", recipients: [QueueRecipient(address: "r\(i)@x.test")]),
                    internalDate: Double(i)))
                ids.append(try #require(r.queueID))
            }
            #expect(try store.queueEntries().map(\.id) == ids)
            #expect(try store.queueEntries().map(\.recipients[0].address) == (0..<5).map { "r\($0)@x.test" })
        }
    }
}
