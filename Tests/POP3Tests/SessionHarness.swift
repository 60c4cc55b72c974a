// Drives a POP3Session like the network driver would: answers hooks, auth, maildrop,
// transfers and commits from closures, streams messages through POP3MessageEncoder,
// and collects the wire output.
@testable import POP3
import MailCore
import Policy

struct SessionHarness {
    var session: POP3Session
    var output = ""
    var hooks: [HookCall] = []
    var credentials: [(POP3Credentials, String)] = []
    var openedFor: [String] = []
    var commits: [[POP3MessageID]] = []
    var transfers: [POP3Transfer] = []
    var closed = false
    var tlsStarts = 0
    var policy: (HookCall) -> HookResult = { _ in HookResult(verdict: .next) }
    var authenticate: (POP3Credentials) -> POP3AuthOutcome = { credentials in
        if case .plain(_, let user, "secret") = credentials,
           let normalized = LoginName.normalize(user), normalized == "alice@example.test" {
            return .success(user: normalized)
        }
        if case .apop("alice@example.test", _, "0123456789abcdef0123456789abcdef") = credentials {
            return .success(user: "alice@example.test")
        }
        return .failure
    }
    var maildrop: (String) -> POP3MaildropOutcome
    /// Message content by uid; a missing uid is "unavailable".
    var contents: [UInt32: [UInt8]]
    var commitSucceeds = true

    init(tls: Bool = true, implicitTLS: Bool = false, plaintextAuth: Bool = true, loginDelay: Int? = 60,
         limits: Limits = Limits()) {
        let configuration = POP3SessionConfiguration(
            hostname: "pop.example.test", limits: limits, tlsAvailable: tls, implicitTLS: implicitTLS,
            plaintextAuthAllowed: plaintextAuth, loginDelay: loginDelay,
            makeTimestamp: { "<4242.1800000000@pop.example.test>" },
            makeChallenge: { "<1.2@pop.example.test>" })
        session = POP3Session(configuration: configuration,
                              session: SessionInfo(id: "p1", protocolName: "pop3", listener: implicitTLS ? "pop3s" : "pop3",
                                                   clientIP: "192.0.2.7"))
        let messages: [(UInt32, String)] = [
            (11, "Subject: one\r\n\r\nfirst body\r\n"),
            (12, "Subject: two\r\nX: y\r\n\r\nline 1\r\n.dotted\r\nline 3\r\n"),
            (13, "Subject: three\n\nbare LF body"),
        ]
        var contents: [UInt32: [UInt8]] = [:]
        var snapshot: [POP3Message] = []
        for (uid, text) in messages {
            let bytes = Array(text.utf8)
            contents[uid] = bytes
            snapshot.append(POP3Message(id: POP3MessageID(mailboxID: 7, uid: uid), uid: "1700000000.\(uid)",
                                        size: POP3MessageEncoder.normalizedSize(of: bytes)))
        }
        self.contents = contents
        self.maildrop = { _ in .opened(snapshot) }
    }

    mutating func start() { run(session.start()) }

    mutating func send(_ text: String) { run(session.receive(Array(text.utf8))) }

    mutating func sendBytewise(_ text: String) {
        for byte in text.utf8 { run(session.receive([byte])) }
    }

    /// Starts, drops the greeting, logs in as alice with USER/PASS.
    mutating func login() {
        start()
        send("USER alice@example.test\r\nPASS secret\r\n")
        _ = take()
    }

    /// Returns and clears the output so far.
    mutating func take() -> String {
        defer { output = "" }
        return output
    }

    mutating func run(_ actions: [POP3Action]) {
        var queue = actions
        while !queue.isEmpty {
            let action = queue.removeFirst()
            switch action {
            case .send(let reply):
                output += reply.wire
            case .runHook(let call):
                hooks.append(call)
                queue += session.hookFinished(policy(call))
            case .authenticate(let given, let mechanism):
                credentials.append((given, mechanism))
                queue += session.authFinished(authenticate(given))
            case .openMaildrop(let user):
                openedFor.append(user)
                queue += session.maildropOpened(maildrop(user))
            case .sendMessage(let transfer):
                transfers.append(transfer)
                guard let content = contents[transfer.message.id.uid] else {
                    queue += session.messageSent(.unavailable)
                    continue
                }
                output += transfer.statusLine.wire
                var encoder = POP3MessageEncoder(bodyLines: transfer.bodyLines)
                var bytes: [UInt8] = []
                encoder.encode(content, into: &bytes)
                encoder.finish(into: &bytes)
                output += String(decoding: bytes, as: UTF8.self)
                queue += session.messageSent(.sent)
            case .commitDeletions(let ids):
                commits.append(ids)
                queue += session.deletionsCommitted(success: commitSucceeds)
            case .startTLS:
                tlsStarts += 1
                queue += session.tlsStarted()
            case .close:
                closed = true
            }
        }
    }
}
