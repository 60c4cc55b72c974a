import Testing
@testable import MailStore

@Suite struct MessageAccessTests {
    @Test func withMessageBytesSeesTheStoredBytesInPlace() throws {
        try withIMAPStore(quota: 1 << 24) { store in
            let bytes = message("big", size: 1 << 20)
            let appended = try store.append(account: alice, mailbox: "INBOX", bytes: bytes)
            let blob = try #require(store.message(mailboxID: appended.mailboxID, uid: appended.uid)).blobID
            let (count, equal) = try store.withMessageBytes(blobID: blob) { raw in (raw.count, raw.elementsEqual(bytes)) }
            #expect(count == bytes.count && equal)
            expectError(.notFound) { _ = try store.withMessageBytes(blobID: 987_654) { $0.count } }
        }
    }
}
