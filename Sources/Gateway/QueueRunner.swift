// The outbound queue runner: re-reads the queue (every `delivery.scan_interval`, when
// the next retry is due, and at once when SMTP queues something), groups the due
// recipients by destination (their domain, or the domain through a route a `deliver`
// policy picked), and runs delivery jobs under a global and a per-destination
// connection cap. A job resolves the domain (the shared DNSResolver: no thread waits
// for DNS), walks the targets with DestinationDelivery, sends several messages over each
// connection (SMTPClientDriver), and hands the results to apply queues (serial per
// entry) that re-read each entry, apply them (QueueUpdater), queue or deliver the
// notices (DSNBuilder), and write the entry back or remove it. The store is the only state:
// a crash (kill -9) at any point leaves the recipients pending/deferred, so the worst
// case is one duplicate delivery. Held entries are skipped; `queue retry` and `queue
// hold` from the CLI are seen at the next scan because every scan reads the store.
import Delivery
import Foundation
import Logging
import MailCore
import MailStore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Policy

final class QueueRunner: Sendable {
    let context: ServerContext
    let group: EventLoopGroup
    let state = NIOLockedValueBox(State())
    let scanQueue = DispatchQueue(label: "mailgate.queue.scan")
    /// Result application: serial per entry (an entry id always maps to the same queue), so
    /// read-modify-write of an entry is not raced by another job; several queues so the
    /// store writes of different entries join one group commit.
    static let applyShards = 8
    let applyQueues = (0..<QueueRunner.applyShards).map { DispatchQueue(label: "mailgate.queue.apply.\($0)") }

    struct State {
        var stopping = false
        /// Set when the grace period ran out: late results are dropped (the store stays as it was).
        var abandoned = false
        var scanning = false
        var rescan = false
        var timerGeneration = 0
        /// "queue id \0 domain" pairs being delivered.
        var inFlight: Set<String> = []
        var perDomain: [String: Int] = [:]
        var active = 0
    }

    struct Item: Sendable {
        var entry: QueueEntry
        var recipients: [String]
    }

    /// Where a group of recipients goes: their domain, through the route a `deliver`
    /// policy picked for them or (nil) the domain's own route or MX.
    struct Destination: Hashable, Comparable, Sendable, CustomStringConvertible {
        var domain: String
        var route: String?

        /// The key of the in-flight and per-destination bookkeeping.
        var description: String { route.map { "\(domain) via \($0)" } ?? domain }
        static func < (a: Destination, b: Destination) -> Bool { a.description < b.description }
    }

    init(context: ServerContext, group: EventLoopGroup) {
        self.context = context
        self.group = group
    }

    func start() {
        wake()
    }

    /// Re-read the queue now (new mail, a finished job).
    func wake() {
        let start = state.withLockedValue { state -> Bool in
            if state.stopping { return false }
            if state.scanning { state.rescan = true; return false }
            state.scanning = true
            return true
        }
        if start { scanQueue.async { self.scan() } }
    }

    /// No new deliveries from now on (the first step of a graceful shutdown).
    func stopStarting() {
        state.withLockedValue { $0.stopping = true; $0.timerGeneration += 1 }
    }

    /// Stops starting deliveries; waits up to `grace` for the running ones to finish and
    /// be written. Whatever is still running after that stays queued as it was.
    func stop(grace: Duration) {
        state.withLockedValue { $0.stopping = true; $0.timerGeneration += 1 }
        let deadline = Date().addingTimeInterval(grace.seconds)
        while Date() < deadline && state.withLockedValue({ $0.active }) > 0 {
            usleep(20_000)
        }
        let left = state.withLockedValue { state -> Int in
            state.abandoned = true
            return state.active
        }
        if left > 0 {
            context.logger.notice("queue runner stopping with deliveries in flight; they stay queued",
                                  metadata: ["connections": "\(left)"])
        }
        scanQueue.sync {}
        for queue in applyQueues { queue.sync {} }
    }

    /// Message bytes one connection holds at most (a single larger message still goes alone).
    static let batchBytes = 32 * 1024 * 1024
    /// Back-to-back scans (a busy inbound side wakes the runner per message) are spaced by this.
    static let minimumScanGap = 0.05

    static func domain(of address: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return "" }
        return address[address.index(after: at)...].lowercased()
    }

    // MARK: scanning

    func scan() {
        let configuration = context.configuration
        let settings = configuration.delivery
        let now = Date().timeIntervalSince1970
        var nextWake = now + settings.scanInterval.seconds
        var work: [Destination: [Item]] = [:]
        var order: [Destination] = []
        do {
            for entry in try context.store.queueEntries() where !entry.held {
                var due: [Destination: [String]] = [:]
                for recipient in entry.recipients where recipient.state == .pending || recipient.state == .deferred {
                    if recipient.nextAttempt <= now {
                        let destination = Destination(domain: Self.domain(of: recipient.address), route: recipient.route)
                        due[destination, default: []].append(recipient.address)
                    } else {
                        nextWake = min(nextWake, recipient.nextAttempt)
                    }
                }
                for (destination, addresses) in due.sorted(by: { $0.key < $1.key }) {
                    if work[destination] == nil { order.append(destination) }
                    work[destination, default: []].append(Item(entry: entry, recipients: addresses))
                }
            }
        } catch {
            context.logger.error("cannot read the queue", metadata: ["error": "\(error)"])
        }

        var jobs: [(Destination, [Item])] = []
        state.withLockedValue { state in
            guard !state.stopping else { return }
            for destination in order {
                let domain = destination.description
                let items = work[destination]!.filter { !state.inFlight.contains($0.entry.id + "\u{0}" + domain) }
                guard !items.isEmpty else { continue }
                let free = min(settings.maxConnectionsPerDestination - state.perDomain[domain, default: 0],
                               settings.maxConnections - state.active)
                guard free > 0 else { continue }
                // Spread over up to `free` connections, at least 10 messages each before opening another.
                let connections = min(free, max(1, (items.count + 9) / 10))
                let perConnection = min(settings.messagesPerConnection, (items.count + connections - 1) / connections)
                var rest = items[...]
                for _ in 0..<connections where !rest.isEmpty {
                    // At most `perConnection` messages and about `batchBytes` of content held at once.
                    var batch: [Item] = []
                    var bytes = 0
                    while let next = rest.first, batch.count < perConnection,
                          batch.isEmpty || bytes + next.entry.size <= Self.batchBytes {
                        batch.append(next)
                        bytes += next.entry.size
                        rest = rest.dropFirst()
                    }
                    for item in batch { state.inFlight.insert(item.entry.id + "\u{0}" + domain) }
                    state.perDomain[domain, default: 0] += 1
                    state.active += 1
                    jobs.append((destination, batch))
                }
            }
        }
        for (destination, batch) in jobs {
            Task { await self.run(destination, items: batch) }
        }

        let again = state.withLockedValue { state -> Bool in
            state.scanning = false
            if state.rescan && !state.stopping {
                state.rescan = false
                state.scanning = true
                return true
            }
            return false
        }
        if again {
            scanQueue.asyncAfter(deadline: .now() + Self.minimumScanGap) { self.scan() }
        } else {
            schedule(at: nextWake)
        }
    }

    func schedule(at time: Double) {
        let generation = state.withLockedValue { state -> Int in
            state.timerGeneration += 1
            return state.timerGeneration
        }
        let delay = max(0.05, time - Date().timeIntervalSince1970)
        scanQueue.asyncAfter(deadline: .now() + delay) { [self] in
            if state.withLockedValue({ $0.timerGeneration == generation && !$0.stopping }) { wake() }
        }
    }

    // MARK: one destination

    func run(_ destination: Destination, items: [Item]) async {
        let configuration = context.configuration
        let domain = destination.domain
        let key = destination.description
        defer {
            state.withLockedValue { state in
                for item in items { state.inFlight.remove(item.entry.id + "\u{0}" + key) }
                if let count = state.perDomain[key], count > 1 { state.perDomain[key] = count - 1 } else {
                    state.perDomain[key] = nil
                }
                state.active -= 1
            }
            wake()
        }
        var messages: [OutboundMessage] = []
        var loadedItems: [Item] = []
        for item in items {
            guard let bytes = try? context.store.messageBytes(blobID: item.entry.blobID) else {
                context.logger.error("queued message has no content", metadata: ["queue_id": "\(item.entry.id)"])
                continue
            }
            messages.append(OutboundMessage(entry: item.entry, storedMessage: bytes, recipients: item.recipients))
            loadedItems.append(item)
        }
        guard !messages.isEmpty else { return }
        let loaded = loadedItems

        let resolver = makeResolver(configuration, pickedRoute: destination.route)
        let targets: [DeliveryTarget]
        do {
            targets = try await resolver.resolve(domain)
        } catch {
            for item in loaded {
                context.logger.info(error.isPermanent ? "delivery failed" : "delivery deferred",
                                    metadata: ["queue_id": "\(item.entry.id)", "domain": "\(domain)",
                                               "rcpt": "\(item.recipients.joined(separator: ","))", "reason": "\(error.text)"])
            }
            var details: Details = [:]
            for item in loaded {
                for address in item.recipients { details[item.entry.id, default: [:]][address] = (error.enhancedStatus, nil) }
            }
            await apply(ids: loaded.map(\.entry.id), details: details) { now, schedule in
                loaded.map { item in
                    { (fresh: QueueEntry) in
                        QueueUpdater.apply(failureText: error.text, status: error.enhancedStatus,
                                           permanent: error.isPermanent, to: item.recipients, in: fresh,
                                           schedule: schedule, now: now)
                    }
                }
            }
            return
        }

        let settings = configuration.delivery
        let driver = SMTPClientDriver(heloName: configuration.hostname,
                                      connectTimeout: .nanoseconds(Int64(settings.connectTimeout.seconds * 1e9)),
                                      caFile: nil,
                                      replyTimeoutCap: .nanoseconds(Int64(settings.replyTimeout.seconds * 1e9)))
        let route = destination.route.flatMap { configuration.routes[$0] } ?? configuration.routes[domain] ?? configuration.routes["*"]
        var delivery = DestinationDelivery(targets: targets, messages: messages)
        var action = delivery.start()
        while case .connect(let target, let batch) = action {
            let outcome = await driver.deliver(batch, to: target, group: group, caFile: route?.caFile)
            if let reason = outcome.connectFailure {
                context.logger.info("cannot connect", metadata: ["domain": "\(domain)", "host": "\(target.host)",
                                                                "address": "\(target.address):\(target.port)",
                                                                "reason": "\(reason)"])
                action = delivery.connectFailed(reason)
                continue
            }
            if let failure = outcome.failure {
                if failure.kind == .tlsFailed {
                    context.logger.notice("\(failure.text)", metadata: ["host": "\(target.host)",
                                                                        "retry_in_clear": "\(failure.retryWithoutTLS)"])
                } else {
                    context.logger.info("connection ended", metadata: ["host": "\(target.host)", "reason": "\(failure.text)"])
                }
            }
            action = delivery.sessionEnded(results: outcome.results, failure: outcome.failure)
        }
        guard case .finished(let results) = action else { return }
        for result in results {
            for (index, recipient) in result.recipients.enumerated() {
                context.logger.info(recipient.status == .delivered ? "delivered" :
                                        recipient.status == .failed ? "delivery failed" : "delivery deferred",
                                    metadata: ["queue_id": "\(result.messageID)", "rcpt": "\(recipient.address)",
                                               "host": "\(result.peers[index] ?? "-")", "status": "\(recipient.enhancedStatus)",
                                               "reason": "\(recipient.text)"])
            }
        }
        let byID = Dictionary(results.map { ($0.messageID, $0) }, uniquingKeysWith: { first, _ in first })
        var details: Details = [:]
        for result in results {
            for (index, recipient) in result.recipients.enumerated() {
                details[result.messageID, default: [:]][recipient.address] = (recipient.enhancedStatus, result.peers[index])
            }
        }
        await apply(ids: loaded.map(\.entry.id), details: details) { now, schedule in
            loaded.map { item in
                { (fresh: QueueEntry) in
                    guard let result = byID[item.entry.id] else {
                        // Unchanged.
                        return QueueUpdater.apply(failureText: "", status: "", permanent: false, to: [], in: fresh,
                                                  schedule: schedule, now: now)
                    }
                    return QueueUpdater.apply(result, to: fresh, schedule: schedule, now: now)
                }
            }
        }
    }

    /// With `pickedRoute`, every domain resolves to that `[routes]` entry (a `deliver`
    /// policy's mailgate.route); the runner only asks it for the picked recipients' domain.
    func makeResolver(_ configuration: GatewayConfiguration, pickedRoute: String? = nil) -> DestinationResolver {
        var routes: [String: Route] = [:]
        for (domain, route) in configuration.routes {
            let credentials = route.username.map { SMTPCredentials(user: $0, password: route.password ?? "") }
            routes[domain] = Route(host: route.host, port: route.port, tls: TLSPolicy(rawValue: route.tls.rawValue) ?? .opportunistic,
                                   credentials: credentials)
        }
        if let pickedRoute, let route = routes[pickedRoute] { routes = ["*": route] }
        return DestinationResolver(resolver: LookupResolver(service: context.dns), routes: RouteTable(routes), mxPort: configuration.delivery.mxPort,
                                   mxTLS: .opportunistic)
    }

    // MARK: applying results

    typealias Step = @Sendable (QueueEntry) -> QueueUpdate

    /// On the apply queue: per entry, re-read it (the CLI may have changed or deleted it),
    /// apply the step, queue the notices, then write the entry back or remove it.
    /// Per queue id, per recipient: the status and the host that answered, for the policy events.
    typealias Details = [String: [String: (status: String, host: String?)]]

    func apply(ids: [String], details: Details = [:],
               _ makeSteps: @escaping @Sendable (Double, RetrySchedule) -> [Step]) async {
        let configuration = context.configuration
        let now = Date().timeIntervalSince1970
        let schedule = RetrySchedule(intervals: configuration.retryIntervals,
                                     lifetime: configuration.limits.queueLifetime,
                                     delayWarning: configuration.delivery.delayWarning)
        var shards: [Int: [(String, Step)]] = [:]
        for (id, step) in zip(ids, makeSteps(now, schedule)) { shards[Self.shard(id), default: []].append((id, step)) }
        let work = shards
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for (shard, steps) in work {
                group.enter()
                applyQueues[shard].async { [self] in
                    defer { group.leave() }
                    for (id, step) in steps {
                        guard !state.withLockedValue({ $0.abandoned }) else { return }
                        applyOne(id: id, step: step, details: details[id] ?? [:], now: now, schedule: schedule,
                                 configuration: configuration)
                    }
                }
            }
            group.notify(queue: .global()) { continuation.resume() }
        }
    }

    /// An entry always lands on the same apply queue (FNV-1a of its id).
    static func shard(_ id: String) -> Int {
        Int(id.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 } % UInt32(applyShards))
    }

    func applyOne(id: String, step: Step, details: [String: (status: String, host: String?)], now: Double,
                  schedule: RetrySchedule, configuration: GatewayConfiguration) {
        guard let fresh = context.store.queueEntry(id) else { return }
        var update = step(fresh)
        reportEvents(before: fresh, after: update.entry, details: details)
        let delayed = Self.takeDelayNotices(&update, schedule: schedule, now: now, details: details)
        sendNotices(update, delayed: delayed, original: fresh, now: now, configuration: configuration,
                    retryUntil: schedule.expiry(created: fresh.created))
        do {
            if update.isFinished {
                try context.store.removeQueueEntry(id)
                context.logger.info("queue entry done", metadata: ["queue_id": "\(id)"])
            } else {
                try context.store.updateQueueEntry(update.entry)
            }
        } catch {
            context.logger.error("cannot update queue entry", metadata: ["queue_id": "\(id)", "error": "\(error)"])
        }
    }

    static func address(_ text: String) -> MailAddress? {
        text.isEmpty || text == Bounce.doubleBounceSender ? nil : try? MailAddress.parse(text, allowUTF8: true)
    }

    /// The `delivered` and `deferred` policy events for recipients this attempt changed.
    func reportEvents(before: QueueEntry, after: QueueEntry, details: [String: (status: String, host: String?)]) {
        guard context.policy.handles(.delivered) || context.policy.handles(.deferred) else { return }
        let sender = Self.address(before.sender)
        for recipient in after.recipients {
            guard let old = before.recipients.first(where: { $0.address == recipient.address }),
                  recipient.attempts > old.attempts, let address = Self.address(recipient.address) else { continue }
            let detail = details[recipient.address]
            let event = QueueEventInfo(queueID: after.id, sender: sender, recipient: address, host: detail?.host,
                                       status: detail?.status ?? (recipient.state == .delivered ? "2.0.0" : "4.0.0"),
                                       text: recipient.lastError ?? "", attempts: recipient.attempts,
                                       nextAttempt: recipient.state == .deferred ? recipient.nextAttempt : nil)
            switch recipient.state {
            case .delivered: _ = context.policy.run(.delivered(event))
            case .deferred: _ = context.policy.run(.deferred(event))
            default: break
            }
        }
    }

    /// Deferred NOTIFY=DELAY recipients queued longer than `delivery.delay_warning` and not
    /// told yet: marked as told in the entry (written with it), returned for the notice.
    static func takeDelayNotices(_ update: inout QueueUpdate, schedule: RetrySchedule, now: Double,
                                 details: [String: (status: String, host: String?)]) -> [DSNRecipient] {
        var delayed: [DSNRecipient] = []
        for index in update.entry.recipients.indices {
            let recipient = update.entry.recipients[index]
            guard recipient.state == .deferred,
                  schedule.delayNoticeDue(created: update.entry.created, now: now, notify: recipient.notify,
                                          alreadySent: recipient.delayNotified == true) else { continue }
            update.entry.recipients[index].delayNotified = true
            let detail = details[recipient.address]
            delayed.append(DSNRecipient(address: recipient.address, notify: recipient.notify, orcpt: recipient.orcpt,
                                        action: .delayed, status: detail?.status ?? "4.0.0", remoteMTA: detail?.host,
                                        text: recipient.lastError ?? "", lastAttempt: now))
        }
        return delayed
    }

    func sendNotices(_ update: QueueUpdate, delayed: [DSNRecipient], original: QueueEntry, now: Double,
                     configuration: GatewayConfiguration, retryUntil: Double) {
        guard !update.failed.isEmpty || !update.relayed.isEmpty || !delayed.isEmpty else { return }
        guard let message = try? context.store.messageBytes(blobID: original.blobID) else { return }
        let kinds = [(DSNBuilder.Kind.failure, update.failed), (.success, update.relayed), (.delay, delayed)]
        sendNotices(kinds, entry: update.entry, original: original, message: message, now: now,
                    configuration: configuration, retryUntil: retryUntil)
    }

    /// A failure notice for recipients a `deliver` policy rejected (5xx) after the
    /// message was accepted for the others: the sender got 250, so a bounce tells them.
    /// Blocks on the store: call it from the thread pool.
    /// Notices about a message accepted over SMTP and finished at once (local delivery):
    /// failures of recipients refused after DATA, and "delivered" notices (NOTIFY=SUCCESS).
    func sendNotices(_ kinds: [(DSNBuilder.Kind, [DSNRecipient])], sender: String, queueID: String, message: [UInt8],
                     envid: String?, ret: String?, now: Double) {
        let entry = QueueEntry(id: queueID, sender: sender, recipients: [], blobID: 0, size: message.count,
                               created: now, held: false, envid: envid, ret: ret)
        sendNotices(kinds, entry: entry, original: entry, message: message, now: now,
                    configuration: context.configuration, retryUntil: now)
    }

    func sendNotices(_ kinds: [(DSNBuilder.Kind, [DSNRecipient])], entry: QueueEntry, original: QueueEntry,
                     message: [UInt8], now: Double, configuration: GatewayConfiguration, retryUntil: Double) {
        let postmasterDomain = GatewayServer.cachedPostmasterDomain(context)
        let builder = DSNBuilder(hostname: configuration.hostname, postmaster: "postmaster@\(postmasterDomain)")
        for (kind, recipients) in kinds where !recipients.isEmpty {
            let id = context.makeQueueID()
            guard var notice = builder.build(kind, entry: entry, message: message, recipients: recipients,
                                             now: now, messageID: id,
                                             willRetryUntil: kind == .delay ? retryUntil : nil) else {
                if kind == .failure {
                    context.logger.notice("no bounce sent (null sender of a double bounce, or NOTIFY)",
                                          metadata: ["queue_id": "\(original.id)"])
                }
                continue
            }
            if context.policy.handles(.bounce), let to = Self.address(notice.recipient) {
                let info = NoticeInfo(
                    queueID: original.id, kind: kind == .failure ? "failure" : kind == .delay ? "delay" : "success",
                    sender: Self.address(original.sender), to: to,
                    doubleBounce: notice.sender == Bounce.doubleBounceSender,
                    recipients: recipients.compactMap { recipient in
                        Self.address(recipient.address).map {
                            QueueEventInfo(queueID: original.id, sender: Self.address(original.sender), recipient: $0,
                                           host: recipient.remoteMTA, status: recipient.status, text: recipient.text,
                                           attempts: entry.recipients.first { $0.address == recipient.address }?.attempts ?? 0)
                        }
                    })
                // Only an explicit discard suppresses a notice: a failing policy must not lose bounces.
                switch context.policy.run(.bounce(info)).delivery {
                case .discard:
                    context.logger.notice("notice suppressed by the bounce policy",
                                          metadata: ["queue_id": "\(original.id)", "rcpt": "\(notice.recipient)"])
                    continue
                case .redirect(let target):
                    context.logger.info("notice redirected by the bounce policy",
                                        metadata: ["queue_id": "\(original.id)", "from": "\(notice.recipient)",
                                                   "to": "\(target.address)"])
                    notice.recipient = target.address
                default:
                    break
                }
            }
            queueNotice(notice, id: id, about: original.id, now: now)
        }
    }

    /// Delivers a notice like any accepted message: local mailboxes (aliases followed) or the queue.
    func queueNotice(_ notice: BounceMessage, id: String, about original: String, now: Double) {
        guard let address = try? MailAddress.parse(notice.recipient, allowUTF8: true) else {
            context.logger.error("notice recipient is not an address", metadata: ["rcpt": "\(notice.recipient)"])
            return
        }
        var plan = MessageDelivery.Plan()
        MessageDelivery.route(address, folder: "INBOX", parameters: [:], depth: 0, plan: &plan, store: context.store)
        for (dropped, reply, _) in plan.dropped {
            context.logger.notice("notice dropped", metadata: ["queue_id": "\(original)", "rcpt": "\(dropped)",
                                                               "reason": "\(reply)"])
        }
        guard !plan.local.isEmpty || !plan.remote.isEmpty else { return }
        let wireSender = notice.sender == Bounce.doubleBounceSender ? "" : notice.sender
        var bytes = Array(HeaderText.returnPath(wireSender).utf8)
        bytes.append(contentsOf: notice.content)
        let remote = plan.remote.isEmpty ? nil
            : QueueEntry(id: id, sender: notice.sender, recipients: plan.remote, created: now)
        let request = DeliveryRequest(message: bytes, local: plan.local, remote: remote, internalDate: now)
        let done = DispatchSemaphore(value: 0)
        let logger = context.logger
        context.store.deliver(request) { result in
            switch result {
            case .success:
                logger.info("notice queued", metadata: ["queue_id": "\(id)", "about": "\(original)",
                                                        "rcpt": "\(notice.recipient)"])
            case .failure(let error):
                logger.error("cannot store notice", metadata: ["about": "\(original)", "error": "\(error)"])
            }
            done.signal()
        }
        done.wait()
        if remote != nil { wake() }
    }
}
