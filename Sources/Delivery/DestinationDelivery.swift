// Delivering a batch of messages to one destination: try its targets (MX addresses
// or route) in order until every recipient has an answer. I/O-free: the runner
// connects where it is told and reports how each connection ended. Rules: a refused
// TCP connection or a broken session moves the open recipients to the next target;
// unsent messages too; a failed TLS handshake on an opportunistic route retries the
// same host in clear; a recipient that got a reply keeps it. When the targets run
// out, open recipients are deferred with the last connection problem, or with
// "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)" if none connected.
import MailStore

public struct DestinationDelivery: Sendable {
    public enum Action: Sendable, Equatable {
        /// Connect to `target` (with its TLS policy possibly lowered to `.none`), run an
        /// SMTPClientSession for `messages`, then call `sessionEnded` or `connectFailed`.
        case connect(DeliveryTarget, messages: [OutboundMessage])
        case finished([DestinationResult])
    }

    /// The final word for one message of the batch.
    public struct DestinationResult: Sendable, Equatable {
        public var messageID: String
        /// Same order as the message's recipients.
        public var recipients: [RecipientResult]
        /// The host that answered each recipient (nil when no host did).
        public var peers: [String?]
        public var remoteSupportsDSN: [Bool]
    }

    let targets: [DeliveryTarget]
    let messages: [OutboundMessage]
    var index = 0
    var current: DeliveryTarget?
    var results: [String: [RecipientResult?]] = [:]
    var peers: [String: [String?]] = [:]
    var dsn: [String: [Bool]] = [:]
    var lastFailure: ConnectionFailure?
    var lastFailureWasPermanent = false
    var connectedOnce = false
    var clearTextRetried: Set<Int> = []

    public init(targets: [DeliveryTarget], messages: [OutboundMessage]) {
        self.targets = targets
        self.messages = messages
        for message in messages {
            results[message.id] = Array(repeating: nil, count: message.recipients.count)
            peers[message.id] = Array(repeating: nil, count: message.recipients.count)
            dsn[message.id] = Array(repeating: false, count: message.recipients.count)
        }
    }

    public mutating func start() -> Action { nextTarget(retrySame: false) }

    /// The TCP connection (or a TLS-on-connect handshake) could not be made.
    public mutating func connectFailed(_ reason: String) -> Action {
        // A host that could not be reached says nothing final about the recipients.
        lastFailureWasPermanent = false
        return nextTarget(retrySame: false)
    }

    /// The session with the current target is over: its finished messages and, if the
    /// connection broke, the failure and the messages it never started.
    public mutating func sessionEnded(results finished: [MessageResult], failure: ConnectionFailure?) -> Action {
        guard let target = current else { return .finished(finalResults()) }
        connectedOnce = true
        for result in finished {
            guard var slots = results[result.messageID], var hosts = peers[result.messageID],
                  var flags = dsn[result.messageID],
                  let message = messages.first(where: { $0.id == result.messageID }) else { continue }
            for outcome in result.recipients {
                // Recipients broken off by the connection stay open for the next target.
                if result.connectionFailure != nil && outcome.status == .deferred { continue }
                guard let slot = message.recipients.indices.first(where: {
                    message.recipients[$0].address == outcome.address && slots[$0] == nil
                }) else { continue }
                slots[slot] = outcome
                hosts[slot] = target.host
                flags[slot] = result.remoteSupportsDSN
            }
            results[result.messageID] = slots
            peers[result.messageID] = hosts
            dsn[result.messageID] = flags
        }
        guard let failure else { return nextTarget(retrySame: false) }
        lastFailure = failure
        lastFailureWasPermanent = failure.isPermanent
        let retryClear = failure.retryWithoutTLS && target.tls == .opportunistic && !clearTextRetried.contains(index - 1)
        return nextTarget(retrySame: retryClear)
    }

    mutating func nextTarget(retrySame: Bool) -> Action {
        let open = openMessages()
        guard !open.isEmpty else { return .finished(finalResults()) }
        if retrySame, var target = current {
            clearTextRetried.insert(index - 1)
            target.tls = .none
            current = target
            return .connect(target, messages: open)
        }
        guard index < targets.count else {
            current = nil
            return .finished(finalResults())
        }
        current = targets[index]
        index += 1
        return .connect(current!, messages: open)
    }

    /// The messages narrowed to recipients without an answer yet.
    func openMessages() -> [OutboundMessage] {
        messages.compactMap { message in
            let slots = results[message.id]!
            var narrowed = message
            narrowed.recipients = message.recipients.indices.filter { slots[$0] == nil }.map { message.recipients[$0] }
            return narrowed.recipients.isEmpty ? nil : narrowed
        }
    }

    func finalResults() -> [DestinationResult] {
        messages.map { message in
            let slots = results[message.id]!
            let recipients = message.recipients.indices.map { index in
                slots[index] ?? openResult(message.recipients[index].address)
            }
            return DestinationResult(messageID: message.id, recipients: recipients, peers: peers[message.id]!,
                                     remoteSupportsDSN: dsn[message.id]!)
        }
    }

    func openResult(_ address: String) -> RecipientResult {
        guard connectedOnce, let failure = lastFailure else {
            return RecipientResult(address: address, status: .deferred, enhancedStatus: "4.4.1", reply: nil,
                                   text: DeliveryTexts.noConnection)
        }
        return RecipientResult(address: address, status: lastFailureWasPermanent ? .failed : .deferred,
                               enhancedStatus: failure.enhancedStatus, reply: failure.reply, text: failure.text)
    }
}

extension QueueUpdater {
    /// Applies a destination's final results (each recipient with the host that answered it).
    public static func apply(_ result: DestinationDelivery.DestinationResult, to entry: QueueEntry,
                             schedule: RetrySchedule, now: Double) -> QueueUpdate {
        var update = QueueUpdate(entry: entry, failed: [], relayed: [])
        for index in result.recipients.indices {
            let single = MessageResult(messageID: result.messageID, recipients: [result.recipients[index]],
                                       connectionFailure: nil, remoteSupportsDSN: result.remoteSupportsDSN[index])
            let step = apply(single, peer: result.peers[index] ?? "", to: update.entry, schedule: schedule, now: now)
            update.entry = step.entry
            update.failed += step.failed
            update.relayed += step.relayed
        }
        return update
    }
}
