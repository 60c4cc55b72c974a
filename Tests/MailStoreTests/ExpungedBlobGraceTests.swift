// An expunged message's bytes stay readable by blob id for StoreLimits.expungedBlobGrace
// (RFC 2180 §4.1.1: a session not yet sent the EXPUNGE may still FETCH it), no longer
// count as referenced, and go once the grace period is over.
import Foundation
import Testing
@testable import MailStore

@Suite struct ExpungedBlobGraceTests {
    @Test func expungedBytesStayReadableUntilTheGraceEnds() throws {
        try withIMAPStore { store in
            for i in 0..<3 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try store.mailboxID("INBOX")
            let doomed = try #require(try store.messages(mailboxID: inbox).first)
            _ = try store.storeFlags(mailboxID: inbox, uids: [doomed.uid], mode: .add, flags: ["\\Deleted"])
            #expect(try store.expunge(mailboxID: inbox) == [doomed.uid])
            #expect(try store.blobCount() == 2)
            #expect(try store.storedBlobCount() == 3)
            #expect(String(decoding: try store.messageBytes(blobID: doomed.blobID), as: UTF8.self).contains("m0"))
            // A sweep before the deadline leaves it; one after it deletes the bytes.
            let early = try store.write { txn throws(StoreError) in try txn.sweepExpiredBlobs() }
            #expect(early == 0)
            let late = try store.write { txn throws(StoreError) in
                try txn.sweepExpiredBlobs(now: Date().timeIntervalSince1970 + StoreLimits.expungedBlobGrace + 60)
            }
            #expect(late == 1)
            #expect(try store.storedBlobCount() == 2)
            expectError(.notFound) { _ = try store.messageBytes(blobID: doomed.blobID) }
            try store.checkInvariants(inbox)
        }
    }

    @Test func sharedBytesAreKeptByTheirOtherReference() throws {
        try withIMAPStore { store in
            _ = try deliverTo(store, "shared")
            let inbox = try store.mailboxID("INBOX")
            let archive = try store.createMailbox(account: alice, name: "Archive2").id
            let original = try #require(try store.messages(mailboxID: inbox).first)
            _ = try store.copyMessages(from: inbox, uids: [original.uid], to: archive)
            _ = try store.storeFlags(mailboxID: inbox, uids: [original.uid], mode: .add, flags: ["\\Deleted"])
            _ = try store.expunge(mailboxID: inbox)
            #expect(try store.blobReferences(original.blobID) == 1)
            let swept = try store.write { txn throws(StoreError) in try txn.sweepExpiredBlobs(now: Date().timeIntervalSince1970 + 1e9) }
            #expect(swept == 0)
            #expect(try store.storedBlobCount() == 1)
        }
    }
}
