// What a transaction carries to its hooks besides the envelope (SMTPSession+Commands):
// one TransactionResults box from MAIL FROM to delivery, a fresh one per transaction,
// and the message bytes for `data` (as received) and `deliver` (as stored).
import Testing
@testable import SMTP
import MailCore
import Policy

@Suite struct SMTPSessionTransactionContextTests {
    @Test func resultsAreOneBoxPerTransactionAndMessageReachesDataAndDelivery() throws {
        var harness = SessionHarness()
        harness.policy = { call in
            if case .mailFrom(let tx, _) = call { tx.results.set("seen", .integer(1)) }
            return HookResult(verdict: .next, addedHeaders: call.hook == .data ? [HeaderField(name: "X-Score", value: "1")] : [])
        }
        harness.start()
        harness.send("EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        harness.send("Subject: one\r\n\r\nbody one\r\n.\r\n")
        harness.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        harness.send("Subject: two\r\n\r\nbody two\r\n.\r\n")
        #expect(harness.delivered.count == 2)

        var results: [TransactionResults] = []
        for call in harness.hooks {
            switch call {
            case .mailFrom(let tx, _), .rcpt(let tx, _):
                results.append(tx.results)
                #expect(tx.message == nil)
            case .data(let tx):
                results.append(tx.results)
                #expect(tx.results.value("seen") == .integer(1))
                let message = try #require(tx.message)
                #expect(String(decoding: message.bytes, as: UTF8.self).hasPrefix("Subject: "))
                #expect(message.count == tx.size)
            default: break
            }
        }
        // mail_from, rcpt and data of each transaction share a box; the two transactions do not.
        #expect(results.count == 6)
        #expect(results[0] === results[1] && results[1] === results[2])
        #expect(results[3] === results[4] && results[4] === results[5])
        #expect(results[0] !== results[3])

        // Delivery sees the stored message (added header + Received + the client's bytes).
        let delivered = harness.delivered[0]
        #expect(delivered.info.results === results[0])
        let stored = try #require(delivered.info.message)
        #expect(stored.bytes == delivered.message)
        #expect(String(decoding: stored.bytes, as: UTF8.self).hasPrefix("X-Score: 1\r\nReceived: "))
    }
}
