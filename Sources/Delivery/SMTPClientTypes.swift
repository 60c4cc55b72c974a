// The values that cross the boundary between the SMTP client state machine and its
// driver: configuration and messages in, actions and per-recipient results out.
import MailStore

/// How a route treats STARTTLS (`tls = "…"` in `[routes]`).
public enum TLSPolicy: String, Sendable, Equatable, CaseIterable {
    /// Never send STARTTLS.
    case none
    /// STARTTLS when the server offers it; if the handshake fails, the runner may retry in clear.
    case opportunistic
    /// STARTTLS must be offered and succeed (the driver verifies the certificate).
    case required
}

public struct SMTPCredentials: Sendable, Equatable {
    public var user: String
    public var password: String
    public init(user: String, password: String) { self.user = user; self.password = password }
}

public struct SMTPClientConfiguration: Sendable {
    /// Our name in EHLO/HELO.
    public var heloName: String
    /// The host we talk to, for texts: an MX name ("mx.example.net") or an address.
    public var peerName: String
    public var tls: TLSPolicy
    /// The connection is already encrypted (implicit TLS, port 465): no STARTTLS.
    public var tlsActive: Bool
    /// AUTH to a smarthost (PLAIN preferred, then LOGIN).
    public var credentials: SMTPCredentials?
    /// Refuse to send credentials over a connection without TLS.
    public var authRequiresTLS: Bool
    public var maxReplyLineLength: Int
    public var maxReplyLines: Int

    public init(heloName: String, peerName: String, tls: TLSPolicy = .opportunistic, tlsActive: Bool = false,
                credentials: SMTPCredentials? = nil, authRequiresTLS: Bool = true,
                maxReplyLineLength: Int = 4096, maxReplyLines: Int = 200) {
        self.heloName = heloName; self.peerName = peerName; self.tls = tls; self.tlsActive = tlsActive
        self.credentials = credentials; self.authRequiresTLS = authRequiresTLS
        self.maxReplyLineLength = maxReplyLineLength; self.maxReplyLines = maxReplyLines
    }
}

public struct OutboundRecipient: Sendable, Equatable {
    public var address: String
    /// RFC 3461 NOTIFY and ORCPT as given to us (ORCPT still xtext-encoded).
    public var notify: String?
    public var orcpt: String?
    public init(address: String, notify: String? = nil, orcpt: String? = nil) {
        self.address = address; self.notify = notify; self.orcpt = orcpt
    }
}

/// One message to hand to the client: envelope, DSN parameters and the bytes to send.
public struct OutboundMessage: Sendable, Equatable {
    /// The queue id; results and `unsent` lists refer to it.
    public var id: String
    /// Envelope sender on the wire; "" is the null sender.
    public var sender: String
    public var recipients: [OutboundRecipient]
    public var envid: String?
    public var ret: String?
    /// The message without our stored Return-Path line.
    public var content: [UInt8]

    public init(id: String, sender: String, recipients: [OutboundRecipient], envid: String? = nil,
                ret: String? = nil, content: [UInt8]) {
        self.id = id; self.sender = sender; self.recipients = recipients
        self.envid = envid; self.ret = ret; self.content = content
    }

    /// From a queue entry and its stored blob: only `recipients` (addresses) are sent,
    /// the Return-Path line is dropped, and a double bounce goes out with the null sender.
    public init(entry: QueueEntry, storedMessage: [UInt8], recipients: [String]) {
        let wanted = Set(recipients)
        self.init(
            id: entry.id,
            sender: entry.sender == Bounce.doubleBounceSender ? "" : entry.sender,
            recipients: entry.recipients.filter { wanted.contains($0.address) }
                .map { OutboundRecipient(address: $0.address, notify: $0.notify, orcpt: $0.orcpt) },
            envid: entry.envid, ret: entry.ret,
            content: MessageEncoding.strippingReturnPath(storedMessage))
    }

    var needsSMTPUTF8: Bool {
        !sender.allSatisfy(\.isASCII) || recipients.contains { !$0.address.allSatisfy(\.isASCII) }
    }
}

public enum RecipientStatus: String, Sendable, Equatable {
    case delivered, deferred, failed
}

/// What happened to one recipient, with the texts the queue and the bounce show.
public struct RecipientResult: Sendable, Equatable {
    public var address: String
    public var status: RecipientStatus
    /// RFC 3463 status for the DSN ("2.0.0", "5.1.1", "4.4.2").
    public var enhancedStatus: String
    /// The server's reply to this recipient's step, when there was one.
    public var reply: ServerReply?
    /// qmail-style text with the transcript, e.g. "mx.example.net. does not like recipient.
    /// Remote host said: ... while talking to mx.example.net.: >>> RCPT To:<x@example.net> <<< 550 …".
    public var text: String

    public init(address: String, status: RecipientStatus, enhancedStatus: String, reply: ServerReply?, text: String) {
        self.address = address; self.status = status; self.enhancedStatus = enhancedStatus
        self.reply = reply; self.text = text
    }
}

public struct MessageResult: Sendable, Equatable {
    public var messageID: String
    /// Same order as the message's recipients.
    public var recipients: [RecipientResult]
    /// Set when the connection broke during this message: its deferred recipients may
    /// be tried at the next MX at once.
    public var connectionFailure: ConnectionFailure?
    /// The server offered DSN, so NOTIFY went on with the message: a NOTIFY=SUCCESS
    /// recipient gets its notice from there, else from us as "relayed".
    public var remoteSupportsDSN: Bool
}

/// The connection became unusable (before or during a message).
public struct ConnectionFailure: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case greeting, hello, tlsNotOffered, tlsFailed, authentication, protocolError
        case connectionLost, timedOut, serviceClosing
    }
    public var kind: Kind
    /// qmail-style text for the queue and the bounce.
    public var text: String
    public var enhancedStatus: String
    public var reply: ServerReply?
    /// Only a temporary failure for the recipients; a permanent one (5xx greeting at the
    /// last MX) is for the runner to decide.
    public var isPermanent: Bool
    /// The TLS handshake failed and the route allows trying again without STARTTLS.
    public var retryWithoutTLS: Bool
}

public enum SMTPClientAction: Sendable, Equatable {
    /// Write these bytes (pipelined commands come as one write).
    case send([UInt8])
    /// Start the TLS handshake now, then call `tlsStarted()` or `tlsFailed(_:)`.
    case startTLS
    /// A message is done: every recipient has a result.
    case messageFinished(MessageResult)
    /// Nothing to do: hand over another message with `enqueue(_:)` or call `quit()`.
    case idle
    /// The connection is unusable; `unsent` messages were never started and can go to the next host.
    case connectionFailed(ConnectionFailure, unsent: [String])
    /// Close the connection.
    case close
}
