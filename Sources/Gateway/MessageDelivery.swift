// Local delivery of an accepted SMTP transaction: the `deliver` hook per recipient,
// alias/catch-all expansion, Return-Path, then one durable store write holding every
// mailbox copy and the queue entry for remote recipients. The reply is only positive
// after that write committed.
import Foundation
import MailCore
import Delivery
import MailStore
import NIOCore
import Policy
import SMTP

struct MessageDelivery: Sendable {
    let context: ServerContext
    static let maxAliasDepth = 8

    struct Plan {
        var local: [LocalDeliveryTarget] = []
        var localAddresses: [String] = []
        /// The DSN parameters (NOTIFY, ORCPT) of the SMTP recipient behind each local copy.
        var localParameters: [[String: String]] = []
        var remote: [QueueRecipient] = []
        /// Recipients the `deliver` step refused, with their reply and DSN parameters.
        var dropped: [(address: String, reply: Reply, parameters: [String: String])] = []
        var seen: Set<String> = []
        /// Our domains whose aliases or catch-alls sent the message on to a remote
        /// address, in order (ARC sealing).
        var forwarders: [String] = []
    }

    /// Plans on the event loop when no policy has a `deliver` hook (planning then only
    /// reads the store, which never waits on the disk, and the thread hop cost more than
    /// the planning); with a `deliver` hook, on the thread pool, since Lua may wait for a VM.
    func deliver(_ transaction: SMTPTransaction, on eventLoop: EventLoop) -> EventLoopFuture<DeliveryOutcome> {
        let context = self.context
        let promise = eventLoop.makePromise(of: DeliveryOutcome.self)
        // DKIM: decided here (cheap), signed in `deliver` below; RSA signing moves the
        // whole step to the thread pool.
        let signing = DKIMSigningJob.prepare(transaction, context: context)
        let runsDeliverHook = context.policy.handles(.deliver)
        // Forwarded mail may be ARC-sealed (RSA): planned on the pool as well.
        let mayForward = signing == nil && ARCSealingJob.mayForward(transaction, context: context)
        guard runsDeliverHook || signing?.wantsThreadPool == true || mayForward else {
            Self.deliver(transaction, context: context, runsDeliverHook: false, signing: signing, promise: promise)
            return promise.futureResult
        }
        context.threadPool.submit { state in
            guard case .active = state else {
                promise.succeed(.failed(Reply(421, "4.3.2", "Service shutting down")))
                return
            }
            Self.deliver(transaction, context: context, runsDeliverHook: runsDeliverHook, signing: signing, promise: promise)
        }
        return promise.futureResult
    }

    /// Plans the delivery, writes it in the next group commit and completes `promise`
    /// once it is durable.
    private static func deliver(_ transaction: SMTPTransaction, context: ServerContext, runsDeliverHook: Bool,
                                signing: DKIMSigningJob?, promise: EventLoopPromise<DeliveryOutcome>) {
        let plan = Self.plan(transaction, context: context, runsDeliverHook: runsDeliverHook)
        for dropped in plan.dropped {
            context.logger.info("recipient dropped by deliver policy",
                                metadata: ["queue_id": "\(transaction.info.queueID)", "rcpt": "\(dropped.address)",
                                           "reply": "\(dropped.reply)"])
        }
        // One answer covers every recipient after DATA. A temporary refusal of any of
        // them refuses the whole message for now: nothing is stored, the client retries
        // all of it later (no recipient lost, none delivered twice).
        if let deferred = plan.dropped.first(where: { $0.reply.isTemporary }) {
            promise.succeed(.failed(deferred.reply))
            return
        }
        if plan.local.isEmpty && plan.remote.isEmpty {
            if let rejected = plan.dropped.first {
                promise.succeed(.failed(rejected.reply))
            } else {
                // Every recipient was discarded on purpose: the sender still gets 250.
                promise.succeed(.accepted(queueID: transaction.info.queueID))
            }
            return
        }
        let now = Date().timeIntervalSince1970
        let returnPath = HeaderText.returnPath(transaction.info.mailFrom?.address ?? "").utf8
        // Signed once for every copy; the signature goes right under our Return-Path, which
        // the queue runner drops when relaying, so it is the first field receivers see.
        var signatureFields = signing?.fields(now: now, logger: context.logger, queueID: transaction.info.queueID) ?? []
        if signing == nil, let sealing = ARCSealingJob.prepare(transaction, forwarders: plan.forwarders, context: context,
                                                              logger: context.logger) {
            signatureFields = sealing.fields(now: now, logger: context.logger, queueID: transaction.info.queueID)
        }
        var message: [UInt8] = []
        message.reserveCapacity(returnPath.count + signatureFields.count + transaction.message.count)
        message.append(contentsOf: returnPath)
        message.append(contentsOf: signatureFields)
        message.append(contentsOf: transaction.message)
        var queueEntry: QueueEntry?
        if !plan.remote.isEmpty {
            queueEntry = QueueEntry(
                id: transaction.info.queueID, sender: transaction.info.mailFrom?.address ?? "",
                recipients: plan.remote, blobID: 0, size: signatureFields.count + transaction.message.count, created: now, held: false,
                envid: transaction.mailParameters["ENVID"], ret: transaction.mailParameters["RET"])
        }
        // One blob for every copy; the queue runner strips the leading Return-Path when relaying.
        let request = DeliveryRequest(message: message, local: plan.local, remote: queueEntry, internalDate: now)
        context.store.deliver(request) { result in
            let outcome = Self.outcome(result, plan: plan, queueID: transaction.info.queueID)
            promise.succeed(outcome)
            guard case .success(let delivered) = result, case .accepted = outcome else { return }
            if delivered.queued { context.wakeQueueRunner() }
            // Accepted for some: the others (refused by a policy, or over quota since
            // RCPT) are told to the sender in a bounce. Not on the writer thread: it
            // stores the bounce and waits.
            let failed = Self.failedRecipients(plan: plan, outcomes: delivered.local, now: now)
            // RFC 3461 §5.2.3: NOTIFY=SUCCESS asks for a "delivered" notice once the
            // message is in the mailbox.
            let succeeded = Self.deliveredRecipients(plan: plan, outcomes: delivered.local, now: now)
            guard !failed.isEmpty || !succeeded.isEmpty,
                  let runner = context.queueRunner.withLockedValue({ $0 }) else { return }
            context.threadPool.submit { _ in
                runner.sendNotices([(.failure, failed), (.success, succeeded)],
                                   sender: transaction.info.mailFrom?.address ?? "",
                                   queueID: transaction.info.queueID, message: Array(transaction.message),
                                   envid: transaction.mailParameters["ENVID"], ret: transaction.mailParameters["RET"],
                                   now: now)
            }
        }
    }

    /// Recipients of an accepted message that did not get it: refused in the `deliver`
    /// step, or refused by their mailbox at delivery (quota reached since RCPT).
    static func failedRecipients(plan: Plan, outcomes: [RecipientOutcome], now: Double) -> [DSNRecipient] {
        var failed = plan.dropped.map { dropped in
            DSNRecipient(address: dropped.address, notify: dropped.parameters["NOTIFY"], orcpt: dropped.parameters["ORCPT"],
                         action: .failed, status: dropped.reply.enhanced ?? "5.0.0",
                         diagnostic: "\(dropped.reply.code) \(dropped.reply.text)", text: dropped.reply.text, lastAttempt: now)
        }
        for (index, outcome) in outcomes.enumerated() where index < plan.localAddresses.count {
            let (status, text): (String, String)
            switch outcome {
            case .stored: continue
            case .overQuota: (status, text) = ("4.2.2", "The recipient's mailbox is full. (#4.2.2)")
            case .messageExceedsQuota: (status, text) = ("5.2.2", "The message is larger than the recipient's mailbox quota. (#5.2.2)")
            case .noSuchAccount: (status, text) = ("5.1.1", Self.noMailbox.text)
            }
            let parameters = plan.localParameters[index]
            failed.append(DSNRecipient(address: plan.localAddresses[index], notify: parameters["NOTIFY"],
                                       orcpt: parameters["ORCPT"], action: .failed, status: status,
                                       text: text, lastAttempt: now))
        }
        return failed
    }

    /// Local copies that were stored for a recipient who asked for NOTIFY=SUCCESS
    /// (DSNBuilder keeps only those that asked).
    static func deliveredRecipients(plan: Plan, outcomes: [RecipientOutcome], now: Double) -> [DSNRecipient] {
        var delivered: [DSNRecipient] = []
        for (index, outcome) in outcomes.enumerated() where index < plan.localAddresses.count {
            guard case .stored = outcome else { continue }
            let parameters = plan.localParameters[index]
            guard let notify = parameters["NOTIFY"], notify.uppercased().contains("SUCCESS") else { continue }
            delivered.append(DSNRecipient(address: plan.localAddresses[index], notify: notify, orcpt: parameters["ORCPT"],
                                          action: .delivered, status: "2.0.0",
                                          text: "Delivered to the mailbox.", lastAttempt: now))
        }
        return delivered
    }

    static let noMailbox = Reply(550, "5.1.1", "Sorry, no mailbox here by that name. (#5.1.1)")

    static func outcome(_ result: Result<DeliveryResult, StoreError>, plan: Plan, queueID: String) -> DeliveryOutcome {
        switch result {
        case .failure(let error):
            if error.kind == .mapFull { return .failed(Reply(452, "4.3.1", "Insufficient system storage")) }
            return .failed(Reply(451, "4.3.0", "Local error in processing, try again later"))
        case .success(let delivered):
            let stored = delivered.local.contains { if case .stored = $0 { true } else { false } }
            if stored || delivered.queued { return .accepted(queueID: queueID) }
            // Nothing landed anywhere: answer for the first recipient's problem.
            switch delivered.local.first {
            case .messageExceedsQuota: return .failed(Reply(552, "5.2.2", "Message is larger than the mailbox quota"))
            case .overQuota: return .failed(Reply(452, "4.2.2", "Mailbox is full, try again later"))
            default: return .failed(Reply(451, "4.3.0", "Mailbox unavailable, try again later"))
            }
        }
    }

    static func plan(_ transaction: SMTPTransaction, context: ServerContext, runsDeliverHook: Bool) -> Plan {
        var plan = Plan()
        for (index, recipient) in transaction.info.recipients.enumerated() {
            let result = runsDeliverHook
                ? context.policy.run(.deliver(transaction.info, recipient: recipient,
                                              local: context.store.domainExists(recipient.domain)))
                : HookResult(verdict: .next)
            let parameters = index < transaction.recipientParameters.count ? transaction.recipientParameters[index] : [:]
            switch result.verdict {
            case .reject(let reply), .deferred(let reply), .disconnect(let reply):
                plan.dropped.append((recipient.address, reply, parameters))
                continue
            case .next, .accept: break
            }
            switch result.delivery {
            case .discard:
                continue
            case .redirect(let target):
                route(target, folder: "INBOX", parameters: parameters, depth: 0, plan: &plan, store: context.store)
            case .folder(let folder):
                route(recipient, folder: folder, parameters: parameters, depth: 0, plan: &plan, store: context.store)
            case .route(let name):
                guard context.configuration.routes[name] != nil else {
                    // A policy naming a route that is not configured is a policy error: temporary.
                    context.logger.error("deliver hook picked an unknown route", metadata: [
                        "route": "\(name)", "rcpt": "\(recipient.address)"])
                    plan.dropped.append((recipient.address, HookResult.policyFailureReply, parameters))
                    continue
                }
                guard plan.seen.insert(recipient.normalized + "\u{0}route\u{0}" + name).inserted else { continue }
                var queued = QueueRecipient(address: recipient.address, notify: parameters["NOTIFY"], orcpt: parameters["ORCPT"])
                queued.route = name
                plan.remote.append(queued)
            case .normal:
                route(recipient, folder: transaction.folder ?? "INBOX", parameters: parameters, depth: 0, plan: &plan,
                      store: context.store)
            }
        }
        return plan
    }

    /// Resolves one address to mailbox copies or queued recipients (aliases, catch-all).
    static func route(_ address: MailAddress, folder: String, parameters: [String: String], depth: Int,
                      plan: inout Plan, store: LMDBStore) {
        let key = address.normalized
        guard plan.seen.insert(key + "\u{0}" + folder).inserted else { return }
        // An account implies a local domain: one read for the common case.
        if store.account(address) != nil {
            plan.local.append(LocalDeliveryTarget(account: key, folder: folder))
            plan.localAddresses.append(key)
            plan.localParameters.append(parameters)
            return
        }
        guard store.domainExists(address.domain) else {
            plan.remote.append(QueueRecipient(address: address.address, state: .pending, attempts: 0, nextAttempt: 0,
                                              lastError: nil, notify: parameters["NOTIFY"], orcpt: parameters["ORCPT"]))
            return
        }
        let remoteBefore = plan.remote.count
        defer {
            if plan.remote.count > remoteBefore, !plan.forwarders.contains(address.domain) {
                plan.forwarders.append(address.domain)
            }
        }
        if let alias = store.alias(key), depth < maxAliasDepth {
            for target in alias.targets {
                guard let parsed = try? MailAddress.parse(target, allowUTF8: true) else { continue }
                route(parsed, folder: "INBOX", parameters: parameters, depth: depth + 1, plan: &plan, store: store)
            }
            return
        }
        if let catchAll = store.catchAll(domain: address.domain), depth < maxAliasDepth,
           let parsed = try? MailAddress.parse(catchAll, allowUTF8: true), parsed.normalized != key {
            route(parsed, folder: folder, parameters: parameters, depth: depth + 1, plan: &plan, store: store)
            return
        }
        plan.dropped.append((address.address, noMailbox, parameters))
    }
}
