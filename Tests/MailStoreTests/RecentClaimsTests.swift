// \Recent claims (RecentClaims.swift): the mark starts at 1, a claim moves it up once and
// never down, concurrent claimers split the messages without overlap, and the count for
// STATUS is of unclaimed messages.
import Foundation
import Testing
@testable import MailStore

@Suite struct RecentClaimsTests {
    @Test func claimsMoveTheMarkOnceAndCount() throws {
        try withIMAPStore { store in
            for i in 0..<4 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try store.mailboxID("INBOX")
            #expect(try store.firstRecentUID(mailboxID: inbox) == 1)
            #expect(try store.recentCount(mailboxID: inbox) == 4)
            #expect(try store.claimRecent(mailboxID: inbox, upTo: 3) == 1)      // UIDs 1, 2 are the caller's
            #expect(try store.recentCount(mailboxID: inbox) == 2)
            #expect(try store.claimRecent(mailboxID: inbox, upTo: 2) == 3)      // never moves down
            #expect(try store.firstRecentUID(mailboxID: inbox) == 3)
            #expect(try store.claimRecent(mailboxID: inbox, upTo: 5) == 3)
            #expect(try store.recentCount(mailboxID: inbox) == 0)
            _ = try deliverTo(store, "m5")
            #expect(try store.recentCount(mailboxID: inbox) == 1)
            expectError(.notFound) { _ = try store.claimRecent(mailboxID: 777_777, upTo: 9) }
            expectError(.notFound) { _ = try store.recentCount(mailboxID: 777_777) }
        }
    }

    @Test func claimsWrittenBehindLandAndCountsHonourAKnownMark() throws {
        try withIMAPStore { store in
            for i in 0..<3 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try store.mailboxID("INBOX")
            #expect(try store.recentCount(mailboxID: inbox, atLeast: 3) == 1)
            store.recordRecentClaim(mailboxID: inbox, upTo: 3)
            store.recordRecentClaim(mailboxID: inbox, upTo: 2)          // never lowers it
            store.recordRecentClaim(mailboxID: 777_777, upTo: 2)        // ignored
            // The writer takes operations in order: once this delivery is durable, so are they.
            _ = try deliverTo(store, "m3")
            #expect(try store.firstRecentUID(mailboxID: inbox) == 3)
            #expect(try store.recentCount(mailboxID: inbox) == 2)
        }
    }

    @Test func concurrentClaimsNeverOverlap() throws {
        try withIMAPStore { store in
            for i in 0..<20 { _ = try deliverTo(store, "m\(i)") }
            let inbox = try store.mailboxID("INBOX")
            let claims = Claims()
            DispatchQueue.concurrentPerform(iterations: 8) { n in
                let upTo = UInt32(3 + n * 2)
                if let first = try? store.claimRecent(mailboxID: inbox, upTo: upTo), first < upTo {
                    claims.add(Array(first..<upTo))
                }
            }
            let all = claims.uids
            #expect(all.count == Set(all).count)
            #expect(Set(all) == Set(1...16))
        }
    }

    final class Claims: @unchecked Sendable {
        private let lock = NSLock()
        private var claimed: [UInt32] = []
        func add(_ uids: [UInt32]) { lock.lock(); claimed += uids; lock.unlock() }
        var uids: [UInt32] { lock.lock(); defer { lock.unlock() }; return claimed }
    }
}
