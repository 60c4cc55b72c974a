// The values that cross the boundary between the POP3 session state machine and its
// driver: configuration in, actions out, and the outcomes the driver reports back.
//
// Driver contract (one action at a time; while one is outstanding the session only
// buffers input, so pipelined commands are answered strictly in order):
//   .send(reply)              write `reply.wire`; coalesce the sends of one read into one write
//   .runHook(call)            run the policy chain (only `connect` comes from here),
//                             then `hookFinished(_:)`
//   .authenticate(creds, m)   verify against the store, run the `auth` hook (protocol
//                             "pop3", mechanism `m`, success = the check's result),
//                             then `authFinished(_:)`; `POP3AuthOutcome(verdict:verifiedUser:)`
//                             maps the hook's verdict
//   .openMaildrop(user)       take the per-mailbox POP3 lock and snapshot the INBOX, then
//                             `maildropOpened(_:)`; the lock is held until the connection
//                             ends (after `.close` or a drop), never longer
//   .sendMessage(transfer)    write `transfer.statusLine.wire`, then the message through a
//                             `POP3MessageEncoder(bodyLines: transfer.bodyLines)` (it ends
//                             with ".\r\n"), then `messageSent(_:)`
//   .commitDeletions(ids)     remove these messages in one durable transaction, then
//                             `deletionsCommitted(success:)`
//   .startTLS                 put TLS in front of the connection, then `tlsStarted()`
//                             before feeding any further bytes
//   .close                    flush what was sent and close
// Also: `timedOut()` (idle timer), `shutdown()` (SIGTERM), `connectionClosed()` (peer
// gone: nothing is deleted; release the lock). The `disconnect` hook is the driver's
// to run when the connection ends, as for SMTP. Stop reading while `isWaiting` (more
// than 1 MiB of unread input while waiting closes the session). Build the SessionInfo
// with protocolName "pop3" and listener "pop3" or "pop3s" (with `implicitTLS`).
import MailCore
import Policy

public struct POP3SessionConfiguration: Sendable {
    public var hostname: String
    public var limits: Limits
    /// A certificate is loaded, so STLS can be offered.
    public var tlsAvailable: Bool
    /// The listener is POP3S (995): the session starts with TLS active.
    public var implicitTLS: Bool
    /// USER/PASS and AUTH PLAIN/LOGIN allowed without TLS (loopback, or configured).
    public var plaintextAuthAllowed: Bool
    /// Seconds advertised as `LOGIN-DELAY` in CAPA (RFC 2449 §6.8); nil: not advertised.
    public var loginDelay: Int?
    /// The `EXPIRE` capability argument: "NEVER" or a number of days.
    public var expire: String
    /// The APOP timestamp for this connection, "<pid.clock@hostname>" (RFC 1939 §7);
    /// must be unique per connection. See `POP3SessionConfiguration.apopTimestamp`.
    public var makeTimestamp: @Sendable () -> String
    /// Random CRAM-MD5 challenge ("<123.456@host>").
    public var makeChallenge: @Sendable () -> String

    public init(hostname: String, limits: Limits = Limits(), tlsAvailable: Bool, implicitTLS: Bool = false,
                plaintextAuthAllowed: Bool, loginDelay: Int? = nil, expire: String = "NEVER",
                makeTimestamp: @escaping @Sendable () -> String,
                makeChallenge: @escaping @Sendable () -> String) {
        self.hostname = hostname; self.limits = limits
        self.tlsAvailable = tlsAvailable; self.implicitTLS = implicitTLS
        self.plaintextAuthAllowed = plaintextAuthAllowed
        self.loginDelay = loginDelay; self.expire = expire
        self.makeTimestamp = makeTimestamp; self.makeChallenge = makeChallenge
    }

    /// Formats a greeting timestamp: unique as long as (pid, sequence) is.
    public static func apopTimestamp(pid: Int32, sequence: UInt64, clock: Double, hostname: String) -> String {
        "<\(pid).\(sequence).\(Int64(clock))@\(hostname)>"
    }
}

/// SASL, USER/PASS and APOP credentials for the driver to verify (MailCore's one type).
public typealias POP3Credentials = Credentials

public enum POP3AuthOutcome: Sendable, Equatable {
    /// Verified and allowed; `user` is the normalized account address.
    case success(user: String)
    /// Bad credentials: `-ERR [AUTH] Authentication failed`, the client may try again.
    case failure
    /// The mailbox is held by another POP3 session: `-ERR [IN-USE] …`.
    case inUse
    /// A policy reject/defer: `-ERR` with the reply's response code, or [SYS/TEMP] for
    /// a 4xx and [AUTH] otherwise. A [LOGIN-DELAY] refusal also closes the connection.
    case refused(Reply)
    /// A policy disconnect: the same `-ERR`, then close.
    case disconnect(Reply)
    /// The check itself failed (store error, policy failure): `-ERR [SYS/TEMP] text`.
    case temporary(String)

    /// The outcome for a credential check (`verifiedUser` nil: bad credentials) and the
    /// verdict of the `auth` hook. A policy can refuse a good login, never admit a bad one.
    public init(verdict: Verdict, verifiedUser: String?) {
        switch verdict {
        case .reject(let reply), .deferred(let reply): self = .refused(reply)
        case .disconnect(let reply): self = .disconnect(reply)
        case .next, .accept: self = verifiedUser.map { .success(user: $0) } ?? .failure
        }
    }
}

/// Identifies a stored message for the driver (opaque to the session).
public struct POP3MessageID: Sendable, Hashable, CustomStringConvertible {
    public var mailboxID: UInt64
    public var uid: UInt32
    public init(mailboxID: UInt64, uid: UInt32) { self.mailboxID = mailboxID; self.uid = uid }
    public var description: String { "\(mailboxID)/\(uid)" }
}

/// One message of the maildrop snapshot taken at login.
public struct POP3Message: Sendable, Equatable {
    public var id: POP3MessageID
    /// The UIDL (RFC 1939 §7: 1–70 characters 0x21–0x7E), stable across sessions.
    public var uid: String
    /// Octets as sent: the size after CRLF normalisation, without byte-stuffing or the
    /// terminating "." line (`POP3MessageEncoder.normalizedSize(of:)`). For a message
    /// stored with CRLF line ends that ends in CRLF this is its stored size.
    public var size: Int

    public init(id: POP3MessageID, uid: String, size: Int) {
        self.id = id; self.uid = uid; self.size = size
    }
}

public enum POP3MaildropOutcome: Sendable, Equatable {
    /// Locked and read: the messages in maildrop order (message 1 first).
    case opened([POP3Message])
    /// Another session holds the lock: `-ERR [IN-USE] …`, back to AUTHORIZATION.
    case inUse
    /// Could not be opened: `-ERR [SYS/TEMP] text`, back to AUTHORIZATION.
    case failed(String)
}

/// A RETR (`bodyLines` nil) or TOP (`bodyLines` = n) for the driver to stream.
public struct POP3Transfer: Sendable, Equatable {
    public var number: Int
    public var message: POP3Message
    public var bodyLines: Int?
    /// The "+OK" line to write before the content, once the content is known to exist.
    public var statusLine: POP3Reply

    public init(number: Int, message: POP3Message, bodyLines: Int?, statusLine: POP3Reply) {
        self.number = number; self.message = message; self.bodyLines = bodyLines; self.statusLine = statusLine
    }
}

public enum POP3TransferOutcome: Sendable, Equatable {
    /// Status line, content and terminator have been written (or queued in order).
    case sent
    /// Nothing was written, the message is gone: the session answers `-ERR`.
    case unavailable
    /// Writing failed part-way: the session closes the connection.
    case failed
}

public enum POP3Action: Sendable, Equatable {
    /// Write this reply (the driver coalesces consecutive sends into one write).
    case send(POP3Reply)
    /// Run the policy chain, then call `hookFinished(_:)`.
    case runHook(HookCall)
    /// Verify credentials and run the `auth` hook, then call `authFinished(_:)`.
    /// `mechanism`: "USER", "APOP", "PLAIN", "LOGIN" or "CRAM-MD5".
    case authenticate(POP3Credentials, mechanism: String)
    /// Lock and snapshot the account's maildrop, then call `maildropOpened(_:)`.
    case openMaildrop(user: String)
    /// Stream a message, then call `messageSent(_:)`.
    case sendMessage(POP3Transfer)
    /// Delete these messages durably (UPDATE state), then call `deletionsCommitted(success:)`.
    case commitDeletions([POP3MessageID])
    /// Start TLS on the connection, then call `tlsStarted()`.
    case startTLS
    /// Flush what was sent and close the connection.
    case close
}

/// The RFC 1939 session states (UPDATE lasts from QUIT until the deletions are committed).
public enum POP3State: Sendable, Equatable {
    case authorization
    case transaction
    case update
}
