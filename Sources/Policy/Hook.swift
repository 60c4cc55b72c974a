// The policy hooks, their inputs and their outcomes: the contract between the
// protocol sessions and the Lua chain. Names are stable once shipped.
import MailCore

public enum Hook: String, CaseIterable, Sendable {
    case connect, helo, auth
    case mailFrom = "mail_from"
    case rcpt, data, deliver, disconnect
    /// The queue runner: a delivery notice is about to be sent; a delivery succeeded; an attempt was deferred.
    case bounce, delivered, deferred
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
    /// `tx:set_result` / `tx:result`: one box per transaction, shared by every copy of
    /// this value (compared by content).
    public var results: TransactionResults
    /// The message, in `data` and `deliver` (tx:body(), tx:parts()); nil before DATA.
    public var message: MessageContent?

    public init(session: SessionInfo, queueID: String, mailFrom: MailAddress? = nil,
                recipients: [MailAddress] = [], size: Int? = nil, headers: [HeaderField] = [],
                results: TransactionResults = TransactionResults(), message: MessageContent? = nil) {
        self.session = session; self.queueID = queueID; self.mailFrom = mailFrom
        self.recipients = recipients; self.size = size; self.headers = headers
        self.results = results; self.message = message
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
    /// A notice (bounce, double bounce, relayed notice) is about to be queued: `mailgate.discard`
    /// suppresses it, `mailgate.redirect(address)` sends it elsewhere; anything else sends it.
    case bounce(NoticeInfo)
    /// Events after a delivery attempt (the verdict is ignored).
    case delivered(QueueEventInfo)
    case deferred(QueueEventInfo)

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
        case .bounce: .bounce
        case .delivered: .delivered
        case .deferred: .deferred
        }
    }
}

/// One recipient's outcome in the queue, as the queue hooks see it (`event.*`).
public struct QueueEventInfo: Sendable, Equatable {
    public var queueID: String
    /// The envelope sender; nil for the null sender.
    public var sender: MailAddress?
    public var recipient: MailAddress
    /// The host that answered, when one did.
    public var host: String?
    /// RFC 3463 status ("2.0.0", "4.4.1", "5.1.1").
    public var status: String
    /// The text kept for `queue show` and bounces (the remote dialogue).
    public var text: String
    /// Attempts so far, this one included.
    public var attempts: Int
    /// When the next attempt is due (deferred only), seconds since the epoch.
    public var nextAttempt: Double?

    public init(queueID: String, sender: MailAddress?, recipient: MailAddress, host: String?, status: String,
                text: String, attempts: Int, nextAttempt: Double? = nil) {
        self.queueID = queueID; self.sender = sender; self.recipient = recipient; self.host = host
        self.status = status; self.text = text; self.attempts = attempts; self.nextAttempt = nextAttempt
    }
}

/// A delivery notice about to be sent, as the `bounce` hook sees it (`notice.*`).
public struct NoticeInfo: Sendable, Equatable {
    /// The queue entry the notice is about.
    public var queueID: String
    /// "failure" (a bounce or double bounce) or "success" (a relayed notice).
    public var kind: String
    /// The original message's envelope sender; nil for the null sender.
    public var sender: MailAddress?
    /// Who gets the notice (the sender, or the postmaster for a double bounce).
    public var to: MailAddress
    /// True for a double bounce (a failed bounce sent to the postmaster).
    public var doubleBounce: Bool
    /// The recipients it reports.
    public var recipients: [QueueEventInfo]

    public init(queueID: String, kind: String, sender: MailAddress?, to: MailAddress, doubleBounce: Bool,
                recipients: [QueueEventInfo]) {
        self.queueID = queueID; self.kind = kind; self.sender = sender; self.to = to
        self.doubleBounce = doubleBounce; self.recipients = recipients
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
    /// Relay through this named route of `[routes]` in mailgate.toml (local recipients
    /// too), instead of the domain's own route or its MX.
    case route(String)
}

public struct HookResult: Sendable, Equatable {
    public var verdict: Verdict
    /// Header fields the `data` hook asked to add (prepended in order).
    public var addedHeaders: [HeaderField]
    /// RFC 8601 resinfo texts (`spf=pass smtp.mailfrom=…`) that `data` hooks added with
    /// tx:add_auth_result, in order: the server writes them as one
    /// Authentication-Results field under its own authserv-id.
    public var authenticationResults: [String] = []
    /// The Subject a `data` hook asked for (tx:set_subject): it replaces the message's
    /// Subject field(s). nil: unchanged.
    public var newSubject: String?
    /// The folder a `data` hook chose for local recipients (tx:set_folder); nil: INBOX.
    public var folder: String?
    public var delivery: DeliveryAction
    /// The policy whose verdict (or failure) ended the chain; nil when none did.
    /// Not part of equality: results compare by what they do.
    public var decidedBy: String?

    public static func == (lhs: HookResult, rhs: HookResult) -> Bool {
        lhs.verdict == rhs.verdict && lhs.addedHeaders == rhs.addedHeaders && lhs.delivery == rhs.delivery
            && lhs.authenticationResults == rhs.authenticationResults && lhs.newSubject == rhs.newSubject
            && lhs.folder == rhs.folder
    }

    public init(verdict: Verdict, addedHeaders: [HeaderField] = [], delivery: DeliveryAction = .normal) {
        self.verdict = verdict; self.addedHeaders = addedHeaders; self.delivery = delivery
    }

    /// What the `data` hook adds to the message, as the following hooks and transcripts
    /// see it: the Authentication-Results field (unfolded) first, then addedHeaders.
    public func fieldsAdded(authservID: String) -> [HeaderField] {
        var fields: [HeaderField] = []
        if !authenticationResults.isEmpty {
            fields.append(HeaderField(name: "Authentication-Results",
                                      value: authservID + "; " + authenticationResults.joined(separator: "; ")))
        }
        if let newSubject { fields.append(HeaderField(name: "Subject", value: newSubject)) }
        return fields + addedHeaders
    }

    /// The answer for a policy that failed (Lua error, budget overrun, bad return):
    /// temporary, so nothing is ever accepted or lost by accident.
    public static let policyFailure = HookResult(verdict: .deferred(policyFailureReply))
    public static let policyFailureReply = Reply(451, "4.3.0", "Temporary policy failure, please try again later")
}
