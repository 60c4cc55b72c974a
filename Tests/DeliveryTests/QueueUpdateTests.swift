import Testing
import MailStore
@testable import Delivery

@Suite struct QueueUpdateTests {
    let created = 1_800_000_000.0
    let schedule = RetrySchedule(intervals: [.seconds(600)], lifetime: .seconds(3600))

    func entry(_ recipients: [QueueRecipient]) -> QueueEntry {
        QueueEntry(id: "Q1", sender: "alice@example.test", recipients: recipients, created: created)
    }

    /// Runs the client against a server that accepts a@, refuses b@ (550) and defers c@ (451).
    func mixedResult(dsn: Bool = false) -> MessageResult {
        var client = ClientHarness()
        client.connect(extensions: dsn ? ["PIPELINING", "DSN"] : ["PIPELINING"])
        client.enqueue(message(to: ["a@example.net", "b@example.net", "c@example.net"]))
        client.server("250 ok\r\n250 ok\r\n550 MAILBOX NOT FOUND\r\n451 4.3.0 later\r\n354 go\r\n")
        client.server("250 ok: queued\r\n")
        return client.results[0]
    }

    @Test func eachRecipientTakesItsOwnOutcome() throws {
        let queued = entry([QueueRecipient(address: "a@example.net", notify: "SUCCESS"),
                            QueueRecipient(address: "b@example.net", orcpt: "rfc822;b@example.net"),
                            QueueRecipient(address: "c@example.net")])
        let update = QueueUpdater.apply(mixedResult(), peer: "mx.example.net", to: queued, schedule: schedule,
                                        now: created + 60)
        let states = update.entry.recipients.map(\.state)
        #expect(states == [.delivered, .failed, .deferred])
        #expect(update.entry.recipients.map(\.attempts) == [1, 1, 1])
        #expect(update.entry.recipients[2].nextAttempt == created + 660)
        #expect(update.entry.recipients[2].lastError?.hasSuffix("<<< 451 4.3.0 later") == true)
        #expect(update.entry.recipients[1].lastError?.contains(
            "while talking to mx.example.net.: >>> RCPT To:<b@example.net> <<< 550 MAILBOX NOT FOUND") == true)
        #expect(update.failed.map(\.address) == ["b@example.net"])
        #expect(update.failed[0].orcpt == "rfc822;b@example.net" && update.failed[0].remoteMTA == "mx.example.net")
        #expect(update.failed[0].diagnostic == "550 MAILBOX NOT FOUND")
        // a@ asked for a success notice and the remote host does not do DSN: we send "relayed".
        #expect(update.relayed.map(\.address) == ["a@example.net"] && update.relayed[0].action == .relayed)
        #expect(!update.isFinished && update.nextAttempt == created + 660)

        let withDSN = QueueUpdater.apply(mixedResult(dsn: true), peer: "mx.example.net", to: queued, schedule: schedule,
                                         now: created + 60)
        #expect(withDSN.relayed.isEmpty)
    }

    @Test func noConnectionUntilTheLifetimeEndsBouncesWithTheClassicText() throws {
        var queued = entry([QueueRecipient(address: "x@example.net")])
        var now = created
        var attempts = 0
        while true {
            let update = QueueUpdater.apply(failureText: DeliveryTexts.noConnection, status: "4.4.1", permanent: false,
                                            to: ["x@example.net"], in: queued, schedule: schedule, now: now)
            queued = update.entry
            attempts += 1
            if update.isFinished {
                #expect(update.failed.count == 1)
                #expect(queued.recipients[0].lastError == "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) "
                        + "I'm not going to try again; this message has been in the queue too long.")
                let bounce = try #require(DSNBuilder(hostname: "relay.example.test").build(
                    .failure, entry: queued, message: Array("Subject: s\r\n\r\nx\r\n".utf8), recipients: update.failed,
                    now: now, messageID: "B1"))
                let text = String(decoding: bounce.content, as: UTF8.self)
                #expect(text.contains("<x@example.net>:\r\nSorry, I wasn't able to establish an SMTP connection. (#4.4.1) "
                                      + "I'm not going to try again; this message has been in the queue too long.\r\n"))
                #expect(text.contains("Status: 4.4.1\r\n"))
                break
            }
            let next = try #require(update.nextAttempt)
            #expect(next > now && next <= created + 3600)
            #expect(QueueUpdater.due(queued, now: next) == ["x@example.net"])
            #expect(QueueUpdater.due(queued, now: next - 1).isEmpty)
            now = next
        }
        // 10-minute gaps in a 1-hour lifetime: tries at 0, 10, …, 50 min and the last one at 60.
        #expect(attempts == 7 && now == created + 3600)
    }

    @Test func permanentRoutingFailuresFailAtOnce() {
        let queued = entry([QueueRecipient(address: "x@nowhere.test"), QueueRecipient(address: "y@example.net")])
        let update = QueueUpdater.apply(failureText: DeliveryTexts.noSuchHost("nowhere.test"), status: "5.1.2",
                                        permanent: true, to: ["x@nowhere.test"], in: queued, schedule: schedule,
                                        now: created)
        #expect(update.entry.recipients.map(\.state) == [.failed, .pending])
        #expect(update.failed.map(\.text) == ["Sorry, I couldn't find any host named nowhere.test. (#5.1.2)"])
        #expect(update.failed[0].status == "5.1.2" && !update.isFinished)
    }

    @Test func finishedRecipientsAreLeftAlone() {
        let queued = entry([QueueRecipient(address: "a@example.net", state: .delivered, attempts: 1),
                            QueueRecipient(address: "b@example.net", state: .failed, attempts: 1)])
        let update = QueueUpdater.apply(failureText: "x", status: "4.0.0", permanent: false,
                                        to: ["a@example.net", "b@example.net"], in: queued, schedule: schedule, now: created)
        #expect(update.entry == queued && update.failed.isEmpty && update.isFinished && update.nextAttempt == nil)
    }

    @Test func heldEntriesAreNeverDue() {
        var queued = entry([QueueRecipient(address: "a@example.net")])
        #expect(QueueUpdater.due(queued, now: created) == ["a@example.net"])
        queued.held = true
        #expect(QueueUpdater.due(queued, now: created).isEmpty)
    }
}
