// The values that cross the boundary between the IMAP session state machine and its
// driver: configuration in, actions out, and the outcomes the driver reports back.
//
// Driver contract (one action at a time; while one is outstanding the session only
// buffers input, so pipelined commands are answered strictly in order):
//   .send(bytes)              write them; coalesce the sends of one read into one write
//   .runHook(call)            run the policy chain (only `connect` comes from here), then
//                             `hookFinished(_:)`
//   .authenticate(creds, m)   verify against the store, run the `auth` hook (protocol
//                             "imap", mechanism `m`, success = the check's result), then
//                             `authFinished(_:)`; `IMAPAuthOutcome(verdict:verifiedUser:)`
//                             maps the hook's verdict
//   .perform                  on a pool thread (blocking is fine there), call
//                             `perform(store:output:)` with the `IMAPMailStore` of
//                             `info.authUser`; it writes large responses (FETCH) through
//                             `output` in chunks as it goes — write each chunk before
//                             returning from `output`, or queue it in order, blocking on
//                             back-pressure — and returns the next actions. Nothing else
//                             may touch the session meanwhile (queue events for after).
//   .watch(mailbox)           notify `mailboxChanged()` when another session, a delivery
//                             or the CLI changes this mailbox (nil: stop watching)
//   .idle(true/false)         IDLE began/ended: use `idleTimeout` while in it
//   .startTLS                 put TLS in front of the connection, then `tlsStarted()`
//                             before feeding any further bytes
//   .close                    flush what was sent and close
// Also: `timedOut()` (no input for `idleTimeout`), `shutdown()` (SIGTERM),
// `connectionClosed()` (peer gone). The `disconnect` hook is the driver's to run when the
// connection ends. Stop reading while `isWaiting`. Build the SessionInfo with
// protocolName "imap" and listener "imap" or "imaps" (with `implicitTLS`).
import MailCore
import Policy
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct IMAPSessionConfiguration: Sendable {
    public var hostname: String
    public var limits: Limits
    /// A certificate is loaded, so STARTTLS can be offered.
    public var tlsAvailable: Bool
    /// The listener is IMAPS (993): the session starts with TLS active.
    public var implicitTLS: Bool
    /// LOGIN and AUTHENTICATE PLAIN/LOGIN allowed without TLS (loopback, or configured);
    /// otherwise LOGINDISABLED is advertised until STARTTLS (RFC 3501 §6.2.3).
    public var plaintextAuthAllowed: Bool
    /// Random CRAM-MD5 challenge ("<123.456@host>").
    public var makeChallenge: @Sendable () -> String
    /// The zone SEARCH dates (BEFORE/ON/SINCE) are judged in, minutes east of UTC.
    public var zoneMinutes: Int
    /// Autologout while authenticated and not idling (RFC 3501 §5.4: at least 30 min).
    public var authenticatedTimeout: Duration
    /// Before login (shorter: nothing to lose).
    public var unauthenticatedTimeout: Duration
    /// While in IDLE (RFC 2177: clients re-issue IDLE every 29 minutes; allow more).
    public var idleCommandTimeout: Duration
    /// The server's ID fields (RFC 2971).
    public var serverID: [IDField]
    /// Seconds since the epoch (SEARCH OLDER/YOUNGER); injected so tests control time.
    public var clock: @Sendable () -> Double

    public init(hostname: String, limits: Limits = Limits(), tlsAvailable: Bool, implicitTLS: Bool = false,
                plaintextAuthAllowed: Bool, makeChallenge: @escaping @Sendable () -> String,
                zoneMinutes: Int = 0, authenticatedTimeout: Duration = .seconds(30 * 60),
                unauthenticatedTimeout: Duration = .seconds(60), idleCommandTimeout: Duration = .seconds(60 * 60),
                serverID: [IDField] = [IDField("name", "mailgate")],
                clock: @escaping @Sendable () -> Double = { Double(time(nil)) }) {
        self.hostname = hostname; self.limits = limits
        self.tlsAvailable = tlsAvailable; self.implicitTLS = implicitTLS
        self.plaintextAuthAllowed = plaintextAuthAllowed; self.makeChallenge = makeChallenge
        self.zoneMinutes = zoneMinutes; self.authenticatedTimeout = authenticatedTimeout
        self.unauthenticatedTimeout = unauthenticatedTimeout; self.idleCommandTimeout = idleCommandTimeout
        self.serverID = serverID; self.clock = clock
    }
}

/// Credentials gathered by the session for the driver to verify (MailCore's one type).
public typealias IMAPCredentials = Credentials

public enum IMAPAuthOutcome: Sendable, Equatable {
    /// Verified and allowed; `user` is the normalized account address.
    case success(user: String)
    /// Bad credentials: `NO [AUTHENTICATIONFAILED]`, the client may try again.
    case failure
    /// A policy reject/defer: `NO [UNAVAILABLE]` for a 4xx, `NO [AUTHENTICATIONFAILED]`
    /// otherwise, with the policy's text.
    case refused(Reply)
    /// A policy disconnect: the same NO, then `* BYE` and close.
    case disconnect(Reply)
    /// The check itself failed (store error, policy failure): `NO [UNAVAILABLE] text`.
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

public enum IMAPAction: Sendable, Equatable {
    /// Write these bytes (the driver coalesces consecutive sends into one write).
    case send([UInt8])
    /// Run the policy chain, then call `hookFinished(_:)`.
    case runHook(HookCall)
    /// Verify credentials and run the `auth` hook, then call `authFinished(_:)`.
    /// `mechanism`: "LOGIN" (the command or the SASL mechanism), "PLAIN" or "CRAM-MD5".
    case authenticate(IMAPCredentials, mechanism: String)
    /// Call `perform(store:output:)` on a pool thread.
    case perform
    /// Notify `mailboxChanged()` for this mailbox from now on (nil: none).
    case watch(IMAPMailboxID?)
    /// IDLE started (true) or ended (false): switch the idle timer.
    case idle(Bool)
    /// Start TLS on the connection, then call `tlsStarted()`.
    case startTLS
    /// Flush what was sent and close the connection.
    case close
}

/// The RFC 3501 §3 states.
public enum IMAPState: Sendable, Equatable {
    case notAuthenticated
    case authenticated
    case selected
    case logout
}

/// Receives a command's responses in chunks during `perform(store:output:)`.
public typealias IMAPOutput = (_ bytes: [UInt8]) -> Void
