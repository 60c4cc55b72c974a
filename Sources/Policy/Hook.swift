// The policy hooks, their inputs and their outcomes: the contract between the
// protocol sessions and the Lua chain. Names are stable once shipped.
import MailCore

public enum Hook: String, CaseIterable, Sendable {
    case connect, helo, auth
    case mailFrom = "mail_from"
    case rcpt, data, deliver, disconnect
}

/// What a policy decided. `.next` means "no opinion": the chain goes on.
public enum Verdict: Sendable, Equatable {
    case next
    case accept
    case reject(Reply)
    case deferred(Reply)
    case disconnect(Reply)

    public var isFinal: Bool { self != .next }
}

/// The session as Lua sees it (`session.*`).
public struct SessionInfo: Sendable, Equatable {
    public var id: String
    /// "smtp", "pop3" or "imap".
    public var protocolName: String
    /// Listener kind: "smtp", "submission", "smtps", "pop3", "pop3s", "imap", "imaps".
    public var listener: String
    public var clientIP: String
    public var clientPort: Int
    public var heloName: String?
    public var authUser: String?
    public var tls: Bool

    public init(id: String, protocolName: String, listener: String, clientIP: String, clientPort: Int = 0,
                heloName: String? = nil, authUser: String? = nil, tls: Bool = false) {
        self.id = id; self.protocolName = protocolName; self.listener = listener
        self.clientIP = clientIP; self.clientPort = clientPort
        self.heloName = heloName; self.authUser = authUser; self.tls = tls
    }
}

/// The mail transaction as Lua sees it (`tx.*`).
public struct TransactionInfo: Sendable, Equatable {
    public var session: SessionInfo
    public var queueID: String
    /// nil for the null reverse path `<>`.
    public var mailFrom: MailAddress?
    public var recipients: [MailAddress]
    /// Declared SIZE= before DATA, the real size after.
    public var size: Int?
    /// Header fields, known in `data` and `deliver`.
    public var headers: [HeaderField]

    public init(session: SessionInfo, queueID: String, mailFrom: MailAddress? = nil,
                recipients: [MailAddress] = [], size: Int? = nil, headers: [HeaderField] = []) {
        self.session = session; self.queueID = queueID; self.mailFrom = mailFrom
        self.recipients = recipients; self.size = size; self.headers = headers
    }
}

/// One hook invocation with its arguments.
public enum HookCall: Sendable, Equatable {
    case connect(SessionInfo)
    case helo(SessionInfo, name: String)
    /// Called after the credential check with its outcome; `user` is the login as given.
    case auth(SessionInfo, user: String, mechanism: String, success: Bool)
    case mailFrom(TransactionInfo, sender: MailAddress?)
    case rcpt(TransactionInfo, recipient: MailAddress)
    case data(TransactionInfo)
    /// Per recipient at delivery; `local` is true when the recipient's domain is ours.
    case deliver(TransactionInfo, recipient: MailAddress, local: Bool)
    case disconnect(SessionInfo)

    public var hook: Hook {
        switch self {
        case .connect: .connect
        case .helo: .helo
        case .auth: .auth
        case .mailFrom: .mailFrom
        case .rcpt: .rcpt
        case .data: .data
        case .deliver: .deliver
        case .disconnect: .disconnect
        }
    }
}

/// What the `deliver` hook may ask for besides a verdict.
public enum DeliveryAction: Sendable, Equatable {
    /// Deliver as usual.
    case normal
    /// Deliver to another address instead (local or relayed).
    case redirect(MailAddress)
    /// Drop silently (the sender still got 250).
    case discard
    /// Deliver into this folder of the recipient's mailbox instead of INBOX.
    case folder(String)
}

public struct HookResult: Sendable, Equatable {
    public var verdict: Verdict
    /// Header fields the `data` hook asked to add (prepended in order).
    public var addedHeaders: [HeaderField]
    public var delivery: DeliveryAction

    public init(verdict: Verdict, addedHeaders: [HeaderField] = [], delivery: DeliveryAction = .normal) {
        self.verdict = verdict; self.addedHeaders = addedHeaders; self.delivery = delivery
    }

    /// The answer for a policy that failed (Lua error, budget overrun, bad return):
    /// temporary, so nothing is ever accepted or lost by accident.
    public static let policyFailure = HookResult(
        verdict: .deferred(Reply(451, "4.3.0", "Temporary policy failure, please try again later")))
}
