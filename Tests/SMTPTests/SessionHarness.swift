// Drives an SMTPSession like the network driver would, answering hooks, auth and
// delivery from closures, and collecting the wire output.
@testable import SMTP
import MailCore
import Policy

struct SessionHarness {
    var session: SMTPSession
    var output = ""
    var delivered: [SMTPTransaction] = []
    var logs: [TransactionSummary] = []
    var hooks: [HookCall] = []
    var closed = false
    var tlsStarts = 0
    var policy: (HookCall) -> HookResult = { _ in HookResult(verdict: .next) }
    var authenticate: (AuthCredentials) -> AuthOutcome = { credentials in
        if case .plain(_, "alice@example.test", "secret") = credentials { return .success(user: "alice@example.test") }
        return .failure
    }
    var deliver: (SMTPTransaction) -> DeliveryOutcome = { .accepted(queueID: $0.info.queueID) }

    init(kind: SMTPListenerKind = .mx, tls: Bool = true, plaintextAuth: Bool = true, limits: Limits = Limits()) {
        let configuration = SMTPSessionConfiguration(
            hostname: "mx.example.test", kind: kind, limits: limits, tlsAvailable: tls,
            plaintextAuthAllowed: plaintextAuth, clock: { 1_800_000_000 },
            makeQueueID: { "Q1" }, makeChallenge: { "<1.2@mx.example.test>" })
        session = SMTPSession(configuration: configuration,
                              session: SessionInfo(id: "s1", protocolName: "smtp", listener: kind.rawValue,
                                                   clientIP: "192.0.2.1"))
    }

    mutating func start() { run(session.start()) }

    mutating func send(_ text: String) { run(session.receive(Array(text.utf8))) }

    mutating func sendBytewise(_ text: String) {
        for byte in text.utf8 { run(session.receive([byte])) }
    }

    /// Returns and clears the output so far.
    mutating func take() -> String {
        defer { output = "" }
        return output
    }

    mutating func run(_ actions: [SMTPAction]) {
        var queue = actions
        while !queue.isEmpty {
            let action = queue.removeFirst()
            switch action {
            case .send(let reply): output += reply.wire
            case .runHook(let call):
                hooks.append(call)
                queue += session.hookFinished(policy(call))
            case .authenticate(let credentials, _):
                queue += session.authFinished(authenticate(credentials))
            case .deliver(let transaction):
                delivered.append(transaction)
                queue += session.deliveryFinished(deliver(transaction))
            case .startTLS:
                tlsStarts += 1
                queue += session.tlsStarted()
            case .log(let summary): logs.append(summary)
            case .close: closed = true
            }
        }
    }
}
