import Testing
import MailStore
@testable import Delivery

@Suite struct DestinationDeliveryTests {
    let mx1 = DeliveryTarget(host: "mx1.example.net", address: "192.0.2.1", preference: 10)
    let mx2 = DeliveryTarget(host: "mx2.example.net", address: "192.0.2.2", preference: 20)

    func delivered(_ address: String) -> RecipientResult {
        RecipientResult(address: address, status: .delivered, enhancedStatus: "2.0.0",
                        reply: ServerReply(code: 250, lines: ["ok"]), text: "accepted")
    }

    func connectTarget(_ action: DestinationDelivery.Action) -> (DeliveryTarget, [OutboundMessage])? {
        if case .connect(let target, let messages) = action { return (target, messages) }
        return nil
    }

    func finished(_ action: DestinationDelivery.Action) -> [DestinationDelivery.DestinationResult]? {
        if case .finished(let results) = action { return results }
        return nil
    }

    @Test func unreachableFirstMXMovesOnToTheNext() throws {
        var delivery = DestinationDelivery(targets: [mx1, mx2], messages: [message("Q1")])
        #expect(try #require(connectTarget(delivery.start())).0 == mx1)
        let (target, messages) = try #require(connectTarget(delivery.connectFailed("Connection refused")))
        #expect(target == mx2 && messages.map(\.id) == ["Q1"])
        let results = try #require(finished(delivery.sessionEnded(results: [
            MessageResult(messageID: "Q1", recipients: [delivered("bob@example.net")], connectionFailure: nil,
                          remoteSupportsDSN: true)], failure: nil)))
        #expect(results[0].recipients.map(\.status) == [.delivered] && results[0].peers == ["mx2.example.net"])
        #expect(results[0].remoteSupportsDSN == [true])
    }

    @Test func noReachableHostDefersWithTheClassicText() throws {
        var delivery = DestinationDelivery(targets: [mx1, mx2], messages: [message("Q1"), message("Q2")])
        _ = delivery.start()
        _ = delivery.connectFailed("timeout")
        let results = try #require(finished(delivery.connectFailed("timeout")))
        #expect(results.count == 2)
        #expect(results.allSatisfy { $0.recipients[0].status == .deferred && $0.recipients[0].enhancedStatus == "4.4.1" })
        #expect(results[0].recipients[0].text == "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)")
        #expect(results[0].peers == [nil])
        // With no targets at all, the same.
        var empty = DestinationDelivery(targets: [], messages: [message("Q3")])
        #expect(finished(empty.start())?.first?.recipients.first?.text == DeliveryTexts.noConnection)
    }

    @Test func brokenSessionHandsOnlyOpenRecipientsAndUnsentMessagesToTheNextMX() throws {
        var delivery = DestinationDelivery(targets: [mx1, mx2],
                                           messages: [message("Q1", to: ["a@example.net", "b@example.net"]), message("Q2")])
        _ = delivery.start()
        // mx1: a@ refused, then the connection dies during DATA; Q2 never started.
        var client = ClientHarness(peer: "mx1.example.net")
        client.connect(extensions: ["PIPELINING"])
        client.enqueue(message("Q1", to: ["a@example.net", "b@example.net"]))
        client.enqueue(message("Q2"))
        client.server("250 ok\r\n550 no such user\r\n250 ok\r\n354 go\r\n")
        client.run(client.session.connectionClosed())
        let (failure, unsent) = try #require(client.failures.first)
        #expect(unsent == ["Q2"])
        let (target, messages) = try #require(connectTarget(delivery.sessionEnded(results: client.results, failure: failure)))
        #expect(target == mx2)
        #expect(messages.map(\.id) == ["Q1", "Q2"])
        #expect(messages[0].recipients.map(\.address) == ["b@example.net"])
        let results = try #require(finished(delivery.sessionEnded(results: [
            MessageResult(messageID: "Q1", recipients: [delivered("b@example.net")], connectionFailure: nil, remoteSupportsDSN: false),
            MessageResult(messageID: "Q2", recipients: [delivered("bob@example.net")], connectionFailure: nil, remoteSupportsDSN: false),
        ], failure: nil)))
        #expect(results[0].recipients.map(\.status) == [.failed, .delivered])
        #expect(results[0].peers == ["mx1.example.net", "mx2.example.net"])
        #expect(results[0].recipients[0].text.contains("while talking to mx1.example.net.: >>> RCPT To:<a@example.net> <<< 550 no such user"))
        #expect(results[1].recipients.map(\.status) == [.delivered])
    }

    @Test func lastConnectionProblemIsKeptWhenAllMXFail() throws {
        var delivery = DestinationDelivery(targets: [mx1], messages: [message("Q1")])
        _ = delivery.start()
        let died = ConnectionFailure(kind: .connectionLost, text: "Connected to mx1.example.net. but connection died. (#4.4.2)",
                                     enhancedStatus: "4.4.2", reply: nil, isPermanent: false, retryWithoutTLS: false)
        let results = try #require(finished(delivery.sessionEnded(results: [], failure: died)))
        #expect(results[0].recipients[0].status == .deferred && results[0].recipients[0].text == died.text)
    }

    @Test func permanentGreetingFailureOnlyCountsAtTheLastMX() throws {
        let refused = ConnectionFailure(kind: .greeting, text: "Connected to mx1.example.net. but greeting failed.",
                                        enhancedStatus: "5.7.1", reply: ServerReply(code: 554, lines: ["no"]),
                                        isPermanent: true, retryWithoutTLS: false)
        var delivery = DestinationDelivery(targets: [mx1, mx2], messages: [message("Q1")])
        _ = delivery.start()
        #expect(try #require(connectTarget(delivery.sessionEnded(results: [], failure: refused))).0 == mx2)
        let results = try #require(finished(delivery.sessionEnded(results: [], failure: refused)))
        #expect(results[0].recipients[0].status == .failed && results[0].recipients[0].enhancedStatus == "5.7.1")

        // Refused by mx1, mx2 unreachable: nothing final is known, so defer.
        var unsure = DestinationDelivery(targets: [mx1, mx2], messages: [message("Q1")])
        _ = unsure.start()
        _ = unsure.sessionEnded(results: [], failure: refused)
        #expect(try #require(finished(unsure.connectFailed("refused")))[0].recipients[0].status == .deferred)
    }

    @Test func failedTLSHandshakeRetriesTheSameHostInClearOnlyWhenAllowed() throws {
        let tlsFailure = ConnectionFailure(kind: .tlsFailed, text: "TLS not available: connect failed: bad record mac",
                                           enhancedStatus: "4.7.0", reply: nil, isPermanent: false, retryWithoutTLS: true)
        var delivery = DestinationDelivery(targets: [mx1, mx2], messages: [message("Q1")])
        _ = delivery.start()
        let (again, _) = try #require(connectTarget(delivery.sessionEnded(results: [], failure: tlsFailure)))
        #expect(again.host == "mx1.example.net" && again.tls == .none)
        // A second failure on the same host goes on to the next one, with its own policy.
        let (next, _) = try #require(connectTarget(delivery.sessionEnded(results: [], failure: tlsFailure)))
        #expect(next == mx2)

        var required = mx1
        required.tls = .required
        var strict = DestinationDelivery(targets: [required], messages: [message("Q1")])
        _ = strict.start()
        var noRetry = tlsFailure
        noRetry.retryWithoutTLS = false
        let results = try #require(finished(strict.sessionEnded(results: [], failure: noRetry)))
        #expect(results[0].recipients[0].text == "TLS not available: connect failed: bad record mac")
    }

    @Test func destinationResultsUpdateTheQueueEntry() throws {
        let entry = QueueEntry(id: "Q1", sender: "alice@example.test",
                               recipients: [QueueRecipient(address: "a@example.net"),
                                            QueueRecipient(address: "b@example.net", notify: "SUCCESS")],
                               created: 1_800_000_000)
        var delivery = DestinationDelivery(targets: [mx1, mx2], messages: [message("Q1", to: ["a@example.net", "b@example.net"])])
        _ = delivery.start()
        _ = delivery.connectFailed("refused")
        let refused = RecipientResult(address: "a@example.net", status: .failed, enhancedStatus: "5.1.1",
                                      reply: ServerReply(code: 550, lines: ["5.1.1 unknown"]), text: "refused")
        let results = try #require(finished(delivery.sessionEnded(results: [
            MessageResult(messageID: "Q1", recipients: [refused, delivered("b@example.net")], connectionFailure: nil,
                          remoteSupportsDSN: false)], failure: nil)))
        let update = QueueUpdater.apply(results[0], to: entry, schedule: RetrySchedule(), now: 1_800_000_100)
        #expect(update.entry.recipients.map(\.state) == [.failed, .delivered] && update.isFinished)
        #expect(update.failed.map(\.remoteMTA) == ["mx2.example.net"] && update.failed[0].status == "5.1.1")
        #expect(update.relayed.map(\.address) == ["b@example.net"])
    }
}
