// Drives an IMAPSession like the network driver would: answers the connect hook and
// credential checks from closures, runs `.perform` against an InMemoryIMAPStore, and
// collects the wire output per exchange.
@testable import IMAP
import MailCore
import Policy

final class IMAPSessionHarness {
    var session: IMAPSession
    let store: InMemoryIMAPStore
    var output = ""
    var credentials: [(IMAPCredentials, String)] = []
    var watched: IMAPMailboxID??
    var idleEvents: [Bool] = []
    var closed = false
    var tlsStarts = 0
    var chunks = 0
    var authenticate: (IMAPCredentials) -> IMAPAuthOutcome = { credentials in
        if case .plain(_, let user, "secret") = credentials, LoginName.normalize(user) == "alice@example.test" {
            return .success(user: "alice@example.test")
        }
        return .failure
    }

    init(store: InMemoryIMAPStore = InMemoryIMAPStore(), tls: Bool = true, implicitTLS: Bool = false,
         plaintextAuth: Bool = true, limits: Limits = Limits(), greet: Bool = true) {
        self.store = store
        let configuration = IMAPSessionConfiguration(
            hostname: "imap.example.test", limits: limits, tlsAvailable: tls, implicitTLS: implicitTLS,
            plaintextAuthAllowed: plaintextAuth, makeChallenge: { "<1.2@imap.example.test>" },
            clock: { 1_700_000_000 })
        session = IMAPSession(configuration: configuration,
                              session: SessionInfo(id: "i1", protocolName: "imap", listener: "imap", clientIP: "192.0.2.7"))
        if greet { run(session.start()) }
    }

    /// A logged-in harness (INBOX not selected).
    static func loggedIn(store: InMemoryIMAPStore = InMemoryIMAPStore()) -> IMAPSessionHarness {
        let harness = IMAPSessionHarness(store: store)
        _ = harness.send("a0 LOGIN alice@example.test secret")
        return harness
    }

    /// A harness with INBOX selected.
    static func selected(store: InMemoryIMAPStore = InMemoryIMAPStore(), examine: Bool = false) -> IMAPSessionHarness {
        let harness = loggedIn(store: store)
        _ = harness.send("s0 \(examine ? "EXAMINE" : "SELECT") INBOX")
        return harness
    }

    /// Feeds `line` + CRLF and returns what the session wrote in answer.
    @discardableResult
    func send(_ line: String) -> String { feed(Array((line + "\r\n").utf8)) }

    func feed(_ bytes: [UInt8]) -> String {
        let before = output.count
        run(session.receive(bytes))
        return String(output.dropFirst(before))
    }

    /// The watched mailbox changed: returns what was written.
    func changed() -> String {
        let before = output.count
        run(session.mailboxChanged())
        return String(output.dropFirst(before))
    }

    func run(_ actions: [IMAPAction]) {
        var queue = actions
        while !queue.isEmpty {
            let action = queue.removeFirst()
            switch action {
            case .send(let bytes): output += String(decoding: bytes, as: UTF8.self)
            case .runHook: queue += session.hookFinished(HookResult(verdict: .next))
            case .authenticate(let creds, let mechanism):
                credentials.append((creds, mechanism))
                queue += session.authFinished(authenticate(creds))
            case .perform:
                queue += session.perform(store: store, output: { [self] bytes in
                    chunks += 1
                    output += String(decoding: bytes, as: UTF8.self)
                })
            case .watch(let id): watched = .some(id)
            case .idle(let on): idleEvents.append(on)
            case .startTLS:
                tlsStarts += 1
                queue += session.tlsStarted()
            case .close: closed = true
            }
        }
    }
}
