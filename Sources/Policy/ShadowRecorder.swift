// Shadow policies (`[policy] shadow`) answer the same hook calls as the live chain,
// after it, and their verdicts are never applied. This compares each shadow answer
// (its first final verdict, or `next`) with the live one, logs every disagreement
// once with the word "shadow", and counts them per shadow policy for `status`. It
// belongs to the engine, so counts survive reloads.
import Foundation

final class ShadowRecorder: @unchecked Sendable {
    private let host: any PolicyHost
    private let lock = NSLock()
    private var disagreements: [String: Int] = [:]
    private var compared = 0
    private var inFlight = 0

    init(host: any PolicyHost) { self.host = host }

    func started() {
        lock.lock()
        inFlight += 1
        lock.unlock()
    }

    /// Compares the shadow answer with the live one `pending` carries.
    func compare(_ call: HookCall, shadowResult: HookResult, pending: PendingHookCall?) {
        lock.lock()
        inFlight -= 1
        compared += 1
        lock.unlock()
        guard let live = pending?.liveResult, Self.answer(live.verdict) != Self.answer(shadowResult.verdict) else { return }
        let policy = shadowResult.decidedBy ?? "shadow"
        lock.lock()
        disagreements[policy, default: 0] += 1
        lock.unlock()
        host.log(.warning, policy: policy,
                 "shadow disagreement: hook=\(call.hook.rawValue) \(Self.identity(of: call)) live=\(Self.describe(live.verdict)) shadow=\(Self.describe(shadowResult.verdict)) shadow_policy=\(policy)")
    }

    /// A shadow call that failed is logged by the VM and compared with nothing.
    func failed() {
        lock.lock()
        inFlight -= 1
        lock.unlock()
    }

    var counts: (disagreements: [String: Int], compared: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (disagreements, compared)
    }

    /// Whether shadow calls are still running (tests wait for them).
    var busy: Bool {
        lock.lock()
        defer { lock.unlock() }
        return inFlight > 0
    }

    /// Kind and code: what a disagreement is about.
    static func answer(_ verdict: Verdict) -> String {
        switch verdict {
        case .next: "next"
        case .accept: "accept"
        case .reject(let reply): "reject \(reply.code)"
        case .deferred(let reply): "defer \(reply.code)"
        case .disconnect(let reply): "disconnect \(reply.code)"
        }
    }

    static func describe(_ verdict: Verdict) -> String {
        switch verdict {
        case .next, .accept: answer(verdict)
        case .reject(let reply), .deferred(let reply), .disconnect(let reply):
            "\"\(answer(verdict)) \(reply.enhanced ?? "")\""
        }
    }

    static func identity(of call: HookCall) -> String {
        switch call {
        case .connect(let session), .disconnect(let session), .helo(let session, _), .auth(let session, _, _, _):
            "session=\(session.id)"
        case .mailFrom(let transaction, _), .rcpt(let transaction, _), .data(let transaction),
             .deliver(let transaction, _, _):
            "session=\(transaction.session.id) queue_id=\(transaction.queueID)"
        case .bounce(let notice): "queue_id=\(notice.queueID)"
        case .delivered(let event), .deferred(let event): "queue_id=\(event.queueID)"
        }
    }
}
