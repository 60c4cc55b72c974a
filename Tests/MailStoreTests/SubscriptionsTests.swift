import Testing
@testable import MailStore

@Suite struct SubscriptionsTests {
    @Test func subscriptionsAreIndependentOfExistence() throws {
        try withIMAPStore { store in
            try store.subscribe(account: alice, name: "Not/Yet")
            try store.subscribe(account: alice, name: "Not/Yet")              // idempotent
            #expect(try store.subscriptions(account: alice).contains("Not/Yet"))
            try store.createMailbox(account: alice, name: "Temp")
            try store.subscribe(account: alice, name: "Temp")
            try store.deleteMailbox(account: alice, name: "Temp")
            #expect(try store.subscriptions(account: alice).contains("Temp"))   // outlives the mailbox
            #expect(try store.unsubscribe(account: alice, name: "Temp"))
            #expect(try !store.unsubscribe(account: alice, name: "Temp"))
            try store.subscribe(account: alice, name: "inbox")
            #expect(try store.subscriptions(account: alice).filter { $0 == "INBOX" }.count == 1)
            expectError(.invalid) { try store.subscribe(account: alice, name: "a//b") }
            expectError(.notFound) { try store.subscribe(account: "ghost@example.test", name: "x") }
            expectError(.notFound) { _ = try store.subscriptions(account: "ghost@example.test") }
        }
    }
}
