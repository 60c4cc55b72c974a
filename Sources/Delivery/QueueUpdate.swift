// How one delivery attempt changes a queue entry: per recipient state, attempts,
// next attempt (RetrySchedule) and last error for `queue show`, plus the notices it
// calls for. Pure: the queue runner applies the result with updateQueueEntry, queues
// the notices (DSNBuilder) and removes the entry once `isFinished`.
import MailStore

public struct QueueUpdate: Sendable, Equatable {
    public var entry: QueueEntry
    /// Recipients that failed for good in this attempt (or outlived the lifetime): a failure notice.
    public var failed: [DSNRecipient]
    /// Recipients delivered with NOTIFY=SUCCESS to a host that does not do DSN: a "relayed" notice.
    public var relayed: [DSNRecipient]

    /// Every recipient is delivered or failed: the entry can go once its notices are queued.
    public var isFinished: Bool {
        entry.recipients.allSatisfy { $0.state == .delivered || $0.state == .failed }
    }

    /// Earliest next attempt over the deferred recipients, nil when none is left.
    public var nextAttempt: Double? {
        entry.recipients.filter { $0.state == .deferred || $0.state == .pending }.map(\.nextAttempt).min()
    }
}

public enum QueueUpdater {
    /// Applies the SMTP client's results (`peer` is the host that gave them).
    public static func apply(_ result: MessageResult, peer: String, to entry: QueueEntry, schedule: RetrySchedule,
                             now: Double) -> QueueUpdate {
        var update = QueueUpdate(entry: entry, failed: [], relayed: [])
        for outcome in result.recipients {
            guard let index = update.entry.recipients.firstIndex(where: {
                $0.address == outcome.address && $0.state != .delivered && $0.state != .failed
            }) else { continue }
            var recipient = update.entry.recipients[index]
            recipient.attempts += 1
            switch outcome.status {
            case .delivered:
                recipient.state = .delivered
                recipient.lastError = outcome.text
                if Notify(recipient.notify).success && !result.remoteSupportsDSN {
                    update.relayed.append(DSNRecipient(result: outcome, notify: recipient.notify, orcpt: recipient.orcpt,
                                                       peer: peer, at: now, relayed: true))
                }
            case .failed:
                recipient.state = .failed
                recipient.lastError = outcome.text
                update.failed.append(DSNRecipient(result: outcome, notify: recipient.notify, orcpt: recipient.orcpt,
                                                  peer: peer, at: now))
            case .deferred:
                defer_(&recipient, text: outcome.text, status: outcome.enhancedStatus,
                       remoteMTA: outcome.reply == nil ? nil : peer, diagnostic: outcome.reply?.singleLine,
                       created: entry.created, schedule: schedule, now: now, failed: &update.failed)
            }
            update.entry.recipients[index] = recipient
        }
        return update
    }

    /// Applies one outcome to `recipients` (addresses) that got no reply of their own:
    /// a DNS failure, no MX reachable (`DeliveryTexts.noConnection`), or a connection
    /// failure at the last MX. Permanent failures fail them now; temporary ones defer.
    public static func apply(failureText text: String, status: String, permanent: Bool, remoteMTA: String? = nil,
                             to recipients: [String], in entry: QueueEntry, schedule: RetrySchedule,
                             now: Double) -> QueueUpdate {
        var update = QueueUpdate(entry: entry, failed: [], relayed: [])
        let wanted = Set(recipients)
        for index in update.entry.recipients.indices {
            var recipient = update.entry.recipients[index]
            guard wanted.contains(recipient.address), recipient.state != .delivered, recipient.state != .failed else {
                continue
            }
            recipient.attempts += 1
            if permanent {
                recipient.state = .failed
                recipient.lastError = text
                update.failed.append(DSNRecipient(address: recipient.address, notify: recipient.notify,
                                                  orcpt: recipient.orcpt, action: .failed, status: status,
                                                  remoteMTA: remoteMTA, text: text, lastAttempt: now))
            } else {
                defer_(&recipient, text: text, status: status, remoteMTA: remoteMTA, diagnostic: nil,
                       created: entry.created, schedule: schedule, now: now, failed: &update.failed)
            }
            update.entry.recipients[index] = recipient
        }
        return update
    }

    /// Recipients due for an attempt now (pending, or deferred and due), in queue order.
    public static func due(_ entry: QueueEntry, now: Double) -> [String] {
        guard !entry.held else { return [] }
        return entry.recipients.filter {
            ($0.state == .pending || $0.state == .deferred) && $0.nextAttempt <= now
        }.map(\.address)
    }

    static func defer_(_ recipient: inout QueueRecipient, text: String, status: String, remoteMTA: String?,
                       diagnostic: String?, created: Double, schedule: RetrySchedule, now: Double,
                       failed: inout [DSNRecipient]) {
        switch schedule.afterTemporaryFailure(created: created, attempts: recipient.attempts, now: now) {
        case .retry(let at):
            recipient.state = .deferred
            recipient.nextAttempt = at
            recipient.lastError = text
        case .bounce:
            let expired = DeliveryTexts.expired(lastError: text)
            recipient.state = .failed
            recipient.lastError = expired
            failed.append(DSNRecipient(address: recipient.address, notify: recipient.notify, orcpt: recipient.orcpt,
                                       action: .failed, status: status, remoteMTA: remoteMTA, diagnostic: diagnostic,
                                       text: expired, lastAttempt: now))
        }
    }
}
