// The values that cross the boundary between the SMTP session state machine and its
// driver: configuration in, actions out, and the outcomes the driver reports back.
import MailCore
import Policy

public enum SMTPListenerKind: String, Sendable {
    /// Inbound MX (port 25): anyone may deliver to local domains.
    case mx = "smtp"
    /// Message submission (587, RFC 6409): STARTTLS and AUTH before MAIL.
    case submission
    /// Submission over implicit TLS (465, RFC 8314).
    case smtps
}

public struct SMTPSessionConfiguration: Sendable {
    public var hostname: String
    public var kind: SMTPListenerKind
    public var limits: Limits
    /// A certificate is loaded, so STARTTLS can be offered.
    public var tlsAvailable: Bool
    /// PLAIN/LOGIN allowed without TLS (loopback clients, or configured).
    public var plaintextAuthAllowed: Bool
    /// Domain used for the bare `<postmaster>` recipient.
    public var postmasterDomain: String
    /// Clock in epoch seconds (injected so tests control time).
    public var clock: @Sendable () -> Double
    /// Unique queue ids ("1AB2C3…"), injected for tests.
    public var makeQueueID: @Sendable () -> String
    /// Random challenge for CRAM-MD5 ("<123.456@host>").
    public var makeChallenge: @Sendable () -> String

    public init(hostname: String, kind: SMTPListenerKind, limits: Limits = Limits(), tlsAvailable: Bool,
                plaintextAuthAllowed: Bool, postmasterDomain: String? = nil,
                clock: @escaping @Sendable () -> Double,
                makeQueueID: @escaping @Sendable () -> String,
                makeChallenge: @escaping @Sendable () -> String) {
        self.hostname = hostname; self.kind = kind; self.limits = limits
        self.tlsAvailable = tlsAvailable; self.plaintextAuthAllowed = plaintextAuthAllowed
        self.postmasterDomain = postmasterDomain ?? hostname
        self.clock = clock; self.makeQueueID = makeQueueID; self.makeChallenge = makeChallenge
    }
}

/// SASL credentials gathered by the session for the driver to verify (MailCore's one type).
public typealias AuthCredentials = Credentials

public enum AuthOutcome: Sendable, Equatable {
    /// Verified; `user` is the normalized account address.
    case success(user: String)
    case failure
    /// Refused by policy or a temporary problem: answered with this reply.
    case refused(Reply)
    case disconnect(Reply)
}

/// A complete message ready for delivery.
public struct SMTPTransaction: Sendable {
    public var info: TransactionInfo
    public var mailParameters: [String: String]
    /// ESMTP parameters per accepted recipient, same order as `info.recipients`.
    public var recipientParameters: [[String: String]]
    /// The message as it will be stored: added headers + Received + the client's bytes.
    public var message: [UInt8]
    public var startedAt: Double
    /// The folder local recipients get the message in unless a `deliver` hook picks
    /// one (tx:set_folder in the `data` hook); nil: INBOX.
    public var folder: String? = nil
}

public enum DeliveryOutcome: Sendable, Equatable {
    case accepted(queueID: String)
    case failed(Reply)
}

/// One line per transaction for the log: who, what, and what we answered.
public struct TransactionSummary: Sendable, Equatable {
    public var queueID: String
    public var clientIP: String
    public var authUser: String?
    public var sender: String?
    /// Each recipient with the reply code it got.
    public var recipients: [(address: String, code: Int)]
    public var size: Int?
    public var tls: Bool
    /// The reply that ended the transaction; nil when the client ended it (QUIT, RSET…).
    public var result: Reply?
    /// Set when the transaction ended before DATA's answer: why, in words.
    public var abandoned: String?
    public var durationSeconds: Double

    /// For the log: "250 2.0.0", or "abandoned: client quit after RCPT refusals",
    /// "abandoned: timeout (421 4.4.2)".
    public var resultText: String {
        let reply = result.map { "\($0.code)" + ($0.enhanced.map { " " + $0 } ?? "") }
        guard let abandoned else { return reply ?? "-" }
        return "abandoned: " + abandoned + (reply.map { " (" + $0 + ")" } ?? "")
    }

    public static func == (lhs: TransactionSummary, rhs: TransactionSummary) -> Bool {
        lhs.queueID == rhs.queueID && lhs.result == rhs.result && lhs.abandoned == rhs.abandoned
            && lhs.recipients.map(\.address) == rhs.recipients.map(\.address)
            && lhs.recipients.map(\.code) == rhs.recipients.map(\.code)
    }
}

public enum SMTPAction: Sendable {
    /// Write this reply (the driver coalesces consecutive sends into one write).
    case send(Reply)
    /// Run the policy chain, then call `hookFinished(_:)`.
    case runHook(HookCall)
    /// Verify credentials (and run the `auth` hook), then call `authFinished(_:)`.
    case authenticate(AuthCredentials, mechanism: String)
    /// Run `deliver` hooks and store the message durably, then call `deliveryFinished(_:)`.
    case deliver(SMTPTransaction)
    /// Start TLS on the connection, then call `tlsStarted()`.
    case startTLS
    /// Log a finished transaction.
    case log(TransactionSummary)
    /// Flush what was sent and close the connection.
    case close
}
