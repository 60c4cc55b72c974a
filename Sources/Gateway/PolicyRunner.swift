// Runs policy hooks and adds the server's own recipient checks that no policy may
// skip (mailbox quota), so answers come back as HookResults. A hook starts in place
// on the event loop when a VM is idle (two thread hops cost more than a typical hook)
// with a time slice (`PolicyConfiguration.eventLoopSlice`, 2 ms): a call still running
// after it suspends itself at its next instruction and goes on off the loop, its VM
// reserved, so a policy burning its budget never holds the loop longer than that. A
// call waiting for DNS holds no VM and no thread; a call finding every VM busy queues
// for the next free one. A hook no policy defines costs nothing.
import Foundation
import MailCore
import MailStore
import NIOCore
import NIOPosix
import Policy

/// The call `runInPlace` left pending, handed to the `runOnPool` its caller makes
/// next on the same thread (every caller follows a nil from `runInPlace` with
/// `runOnPool` for the same call): the handlers keep their two-step shape, and the
/// hot path (a call finished in place) allocates nothing for it.
private final class PendingCallSlot: @unchecked Sendable {
    var call: PendingHookCall?
}

private let pendingCallSlot = ThreadSpecificVariable<PendingCallSlot>()

struct PolicyRunner: Sendable {
    let context: ServerContext

    func run(_ call: HookCall, on eventLoop: EventLoop) -> EventLoopFuture<HookResult> {
        if let result = runInPlace(call) { return eventLoop.makeSucceededFuture(result) }
        return runOnPool(call, on: eventLoop)
    }

    /// The result when it needs no waiting: no policy defines the hook (the engine
    /// answers `.next` without a VM, and the quota check only reads the store), or a
    /// VM was idle and the call finished within its slice. Nil otherwise: the call goes
    /// on elsewhere (after its slice, while it waits for DNS, or queued for a VM) and
    /// `runOnPool` gives its future.
    func runInPlace(_ call: HookCall) -> HookResult? {
        switch context.policy.start(call) {
        case .finished(let result):
            return Self.withServerChecks(call, result, context: context)
        case .pending(let pending):
            let slot = pendingCallSlot.currentValue ?? PendingCallSlot()
            slot.call = pending
            pendingCallSlot.currentValue = slot
            return nil
        }
    }

    /// The future of the call `runInPlace` just left pending (or of `call` started now).
    func runOnPool(_ call: HookCall, on eventLoop: EventLoop) -> EventLoopFuture<HookResult> {
        let context = self.context
        let pending = pendingCallSlot.currentValue?.call
        pendingCallSlot.currentValue?.call = nil
        let promise = eventLoop.makePromise(of: HookResult.self)
        let complete: @Sendable (HookResult) -> Void = { result in
            // The quota check reads the store: not on the thread that finished Lua work
            // for other sessions, but it never waits on the disk either.
            promise.succeed(Self.withServerChecks(call, result, context: context))
        }
        if let pending {
            pending.whenFinished(complete)
        } else {
            switch context.policy.start(call) {
            case .finished(let result): complete(result)
            case .pending(let started): started.whenFinished(complete)
            }
        }
        return promise.futureResult
    }

    /// The checks no policy may skip, applied after the chain allowed the step.
    static func withServerChecks(_ call: HookCall, _ result: HookResult, context: ServerContext) -> HookResult {
        if case .rcpt(let transaction, let recipient) = call, result.verdict == .next || result.verdict == .accept {
            if let refusal = RecipientQuota.check(recipient, declaredSize: transaction.size, store: context.store) {
                return HookResult(verdict: refusal)
            }
        }
        return result
    }

    /// Fire-and-forget hooks (disconnect): errors are logged by the engine.
    func notify(_ call: HookCall, on eventLoop: EventLoop) {
        if runInPlace(call) == nil { _ = runOnPool(call, on: eventLoop) }
    }
}

enum RecipientQuota {
    /// 452 4.2.2 when the mailbox is full, 552 5.2.2 when the message alone exceeds the quota.
    static func check(_ recipient: MailAddress, declaredSize: Int?, store: LMDBStore) -> Verdict? {
        // An account implies a local domain: one read for the common case.
        var target = store.account(recipient)
        if target == nil, store.domainExists(recipient.domain), let catchAll = store.catchAll(domain: recipient.domain) {
            target = store.account(catchAll)
        }
        guard let account = target else { return nil }
        let size = Int64(declaredSize ?? 0)
        if size > account.quota {
            return .reject(Reply(552, "5.2.2", "Message is larger than the mailbox quota of <\(recipient.address)>"))
        }
        if account.usedBytes >= account.quota || account.usedBytes + size > account.quota {
            return .deferred(Reply(452, "4.2.2", "Mailbox <\(recipient.address)> is full, try again later"))
        }
        return nil
    }
}
